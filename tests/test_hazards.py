"""docs/hazards.md stays true: every hazard names its cause, mitigation and tests, and
every test and module it names exists."""

from __future__ import annotations

import re

from tests.support import ROOT

HAZARDS = (ROOT / "docs" / "hazards.md").read_text(encoding="utf-8")
TEST_ID = re.compile(r"`(tests/[\w/]+\.py)::(test_\w+)`")
MODULE = re.compile(r"`((?:dashboard|benchmarks)/[\w/.-]+|streamlit_app\.py|\.streamlit/config\.toml)`")


def sections() -> dict[str, str]:
    parts = re.split(r"^## (H\d+ .+)$", HAZARDS, flags=re.M)
    return dict(zip(parts[1::2], parts[2::2], strict=True))


def test_every_hazard_has_a_cause_a_mitigation_and_tests():
    found = sections()
    assert len(found) >= 12
    for title, body in found.items():
        for row in ("| Cause |", "| Mitigation |", "| Tests |"):
            assert row in body, f"{title}: no {row.strip('| ')} row"
        tests_row = next(line for line in body.splitlines() if line.startswith("| Tests |"))
        assert TEST_ID.search(tests_row), f"{title}: names no test"


def test_every_named_test_exists():
    missing = []
    for path, name in set(TEST_ID.findall(HAZARDS)):
        file = ROOT / path
        if not file.exists() or not re.search(rf"^def {name}\(", file.read_text(encoding="utf-8"), flags=re.M):
            missing.append(f"{path}::{name}")
    assert not missing, missing


def test_every_named_module_exists():
    missing = [m for m in set(MODULE.findall(HAZARDS)) if not (ROOT / m).exists()]
    assert not missing, missing


def test_corpus_files_named_exist():
    named = set(re.findall(r"`([\w.-]+\.(?:csv|xlsx|json|ndjson|txt))`", HAZARDS))
    corpus = {p.name for p in (ROOT / "tests" / "bad_inputs" / "files").iterdir()}
    assert named and named <= corpus, named - corpus
