"""The bad-input corpus: every file imports without a crash, every row is accounted
for, and the outcome is the one stated in manifest.toml."""

import functools
import json
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import numpy as np
import pytest

from tests.bad_inputs import make_corpus
from tests.support import ROOT, TODAY, assert_balanced, import_bytes

HERE = Path(__file__).resolve().parent
MANIFEST = tomllib.loads((HERE / "manifest.toml").read_text())["files"]
FILES = sorted(p.name for p in (HERE / "files").iterdir())
#: Bombs and huge files: written by make_corpus.large_cases() when the tests run.
GENERATED = sorted(n for n, e in MANIFEST.items() if e.get("generated"))


@functools.cache
def _large() -> dict[str, bytes]:
    return make_corpus.large_cases()


def corpus_bytes(name: str) -> bytes:
    return _large()[name] if name in GENERATED else (HERE / "files" / name).read_bytes()


def write_generated(folder: Path) -> list[Path]:
    """The generated files of the corpus, written into ``folder``."""
    out = []
    for name in GENERATED:
        (folder / name).write_bytes(_large()[name])
        out.append(folder / name)
    return out


def test_corpus_is_complete_and_reproducible():
    assert len(FILES) >= 40
    assert set(FILES) | set(GENERATED) == set(MANIFEST), "every file has an expected outcome and vice versa"
    assert not set(FILES) & set(GENERATED), "a generated file is never committed"
    assert set(GENERATED) == set(_large())
    generated = make_corpus.cases()
    for name in FILES:
        assert (HERE / "files" / name).read_bytes() == generated[name], f"{name}: run make_corpus.py"


def _texts(f) -> str:
    parts = [f.error, f.encoding, f.decimal, *[p.message for p in f.problems], *[w.message for w in f.warnings]]
    return " | ".join(parts)


@pytest.mark.parametrize("name", FILES + GENERATED)
def test_outcome(name):
    expected = MANIFEST[name]
    result = import_bytes(corpus_bytes(name), name, today=TODAY)
    assert_balanced(result)
    files = result.report.files
    rows = sum(f.rows_read for f in files)
    accepted = sum(f.rows_accepted for f in files)
    rejected = sum(f.rows_rejected for f in files)
    duplicates = sum(f.duplicates for f in files)
    status = expected["status"]
    if status == "ok":
        assert not any(f.error for f in files), [f.error for f in files]
    elif status == "error":
        assert all(f.error for f in files) or accepted == 0
    else:
        assert any(f.needs == status.removeprefix("needs_") for f in files)
    assert rows == expected["rows"]
    for key, got in (("accepted", accepted), ("rejected", rejected), ("duplicates", duplicates)):
        if key in expected:
            assert got == expected[key], (key, got, [p.message for f in files for p in f.problems])
    for key, got in (
        ("labs", result.labs.num_rows),
        ("doses", result.doses.num_rows),
        ("patients", result.patients.num_rows),
    ):
        if key in expected:
            assert got == expected[key], key
    if "says" in expected:
        assert expected["says"] in " ".join(_texts(f) for f in files)
    for f in files:
        for p in f.problems:
            assert p.message and len(p.message) < 400
        for text in [f.error, *[p.message for p in f.problems], *[w.message for w in f.warnings]]:
            assert not PYTHON_WORDS.search(text or ""), f"{name}: not a clinician's words: {text}"


#: Words that betray a programmer's message (an exception leaking into the report).
PYTHON_WORDS = re.compile(
    r"Traceback|NoneType|KeyError|IndexError|TypeError|AttributeError|object has no attribute|\bnan\b"
)


def test_the_cli_never_prints_a_traceback(tmp_path):
    big = write_generated(tmp_path)
    proc = subprocess.run(
        [sys.executable, "-m", "dashboard", "import", "--dayfirst", *[str(HERE / "files" / n) for n in FILES], *map(str, big)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    )
    assert proc.returncode in (0, 2)
    assert "Traceback" not in proc.stderr + proc.stdout
    assert "utf8_plain.csv" in proc.stdout


@pytest.mark.slow
def test_a_million_rows_of_one_patient(tmp_path):
    n = 1_000_000
    days = np.arange(n) // 4
    stamps = (
        np.datetime64("2000-01-01T08:00") + days.astype("timedelta64[D]") // 40 + (days % 1440).astype("timedelta64[m]")
    )
    names = np.array(["WBC", "Neutrophils", "Platelets", "Hb"])[np.arange(n) % 4]
    vals = np.array(["5.1", "3.2", "250", "131"])[np.arange(n) % 4]
    units = np.array(["10^9/L", "10^9/L", "10^9/L", "g/L"])[np.arange(n) % 4]
    text = "patient_id,collected_at,test,value,unit\n" + "".join(
        f"ONE,{str(s).replace('T', ' ')},{a},{v},{u}\n" for s, a, v, u in zip(stamps, names, vals, units, strict=True)
    )
    result = import_bytes(text.encode(), "one_patient.csv", today=TODAY)
    assert_balanced(result)
    f = result.report.files[0]
    assert f.rows_read == n
    assert f.rows_accepted + f.duplicates == n
    assert result.patients.num_rows == 1


def test_the_whole_corpus_in_the_app():
    """All the bad files uploaded at once on the Home page: no exception, every file in
    the import report, its rows accounted for."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=180)
    at.run()
    at.file_uploader(key="upload_files").set_value([(n, corpus_bytes(n), "application/octet-stream") for n in FILES + GENERATED])
    at.run()
    assert not at.exception
    summary = at.dataframe[0].value
    assert set(FILES + GENERATED) <= {str(f).split(" [")[0].split(" (")[0] for f in summary["File"]}
    assert (summary["Rows read"] == summary["Accepted"] + summary["Rejected"] + summary["Duplicates"]).all()


#: The attacks of issue 16 that once aborted a whole import, and a good file beside them.
HOSTILE = [
    "header_value_value_value2.csv",
    "fhir_resource_type_not_a_string.json",
    "fhir_top_level_resource_type_list.json",
    "fhir_ndjson_one_line_nested_5000_deep.ndjson",
    "xlsx_dimension_bomb.xlsx",
    "xlsx_far_corner_cell.xlsx",
    "xlsx_rows_and_cells_without_positions.xlsx",
    "bidi_and_invisible_ids.csv",
    "doses_ambiguous_amounts.csv",
    "nul_bytes_slow_path.csv",
]


def _hostile_upload(tmp_path: Path) -> list[Path]:
    paths = [HERE / "files" / "utf8_plain.csv", *[HERE / "files" / n for n in HOSTILE]]
    return paths + write_generated(tmp_path)


def test_one_bad_file_never_sinks_the_others_in_the_cli(tmp_path):
    """Every hostile file ends as its own rejection; the good file is imported; exit 0."""
    paths = _hostile_upload(tmp_path)
    proc = subprocess.run(
        [sys.executable, "-m", "dashboard", "import", "--json", *map(str, paths)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout
    report = json.loads(proc.stdout)
    by_file: dict[str, list[dict]] = {}
    for f in report["files"]:
        by_file.setdefault(f["path"], []).append(f)
        assert f["rows_read"] == f["rows_accepted"] + f["rows_rejected"] + f["duplicates"], f["path"]
        assert not PYTHON_WORDS.search(f["error"] or ""), f["error"]
    assert {p.name for p in paths} == set(by_file)
    assert by_file["utf8_plain.csv"][0]["rows_accepted"] == 3
    for name in GENERATED:
        expected = MANIFEST[name]
        got = by_file[name]
        assert sum(f["rows_read"] for f in got) == expected["rows"], name
        if expected["status"] == "error":
            assert all(f["error"] for f in got) and expected["says"] in " ".join(f["error"] for f in got), name


def test_one_bad_file_never_sinks_the_others_in_the_workspace(tmp_path):
    """``workspace import`` stores what was accepted and says what was not."""
    paths = _hostile_upload(tmp_path)
    env = {**os.environ, "DASHBOARD_WORKSPACE": str(tmp_path / "ws")}
    proc = subprocess.run(
        [sys.executable, "-m", "dashboard", "workspace", "import", *map(str, paths)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=600,
        env=env,
    )
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout
    info = subprocess.run(
        [sys.executable, "-m", "dashboard", "workspace", "info", "--json"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
        env=env,
    )
    assert info.returncode == 0, info.stderr
    held = json.loads(info.stdout)
    assert held["labs"] >= 3 + 40000  # the good file and the 40,000 contained results
