"""Reproducible installs (issue 16, item 8): the ranges live in requirements*.in, the
locks (requirements*.txt) pin every package, transitive ones included, with hashes, and
the README's and CI's commands install from the locks."""

from __future__ import annotations

import re

from tests.support import ROOT

PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+) \\\n((?:    --hash=sha256:[0-9a-f]{64}(?: \\)?\n)+)", re.M)


def _names(text: str) -> set[str]:
    out = set()
    for line in text.splitlines():
        line = line.split("#")[0].strip()
        if line and not line.startswith("-"):
            out.add(re.split(r"[\[<>=!~ ;]", line, maxsplit=1)[0].lower().replace("_", "-"))
    return out


def _pins(text: str) -> dict[str, str]:
    return {m.group(1).lower().replace("_", "-"): m.group(2) for m in PIN.finditer(text)}


def test_every_requirement_is_pinned_with_hashes():
    for lock in ("requirements.txt", "requirements-dev.txt"):
        text = (ROOT / lock).read_text()
        entries = [line for line in text.splitlines() if line and not line.startswith((" ", "#"))]
        pins = _pins(text)
        assert len(pins) == len(entries), f"{lock}: an entry without an exact version or a hash"
        assert "LOCK FILE" in text.splitlines()[0]


def test_the_locks_satisfy_the_ranges_and_agree():
    runtime = _pins((ROOT / "requirements.txt").read_text())
    dev = _pins((ROOT / "requirements-dev.txt").read_text())
    assert _names((ROOT / "requirements.in").read_text()) <= set(runtime)
    assert _names((ROOT / "requirements-dev.in").read_text()) <= set(dev)
    assert {n: v for n, v in dev.items() if n in runtime} == runtime  # the same versions in both
    for name in ("authlib", "python-calamine", "mypy"):
        assert name in dev


def test_ci_and_the_readme_install_from_the_locks():
    test_sh = (ROOT / "scripts" / "test.sh").read_text()
    assert "--require-hashes -r requirements-dev.txt" in test_sh
    readme = (ROOT / "README.md").read_text()
    assert "pip install --require-hashes -r requirements.txt" in readme
