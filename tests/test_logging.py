"""The log holds no patient data (docs/logging.md): counts, formats, sizes and timings;
never a value, a name, a date of birth, a file name or a patient id.

Two checks: every logger call in ``dashboard/`` is read (ast) for arguments that name
patient data or carry an exception's text; and a command-line review, an import that
fails inside a reader, and the app's cached import run at DEBUG over a panel of
recognisable data, with the log they write searched for any of it.
"""

from __future__ import annotations

import ast
import logging

import pytest
from streamlit.testing.v1 import AppTest

from dashboard.cli import main
from dashboard.ingest import ImportOptions, Source, import_sources
from dashboard.ingest import pipeline as pipeline_mod
from dashboard.log_config import ENV_VAR
from tests.support import ROOT, TODAY

LEVELS = {"debug", "info", "warning", "error", "exception", "critical"}

#: Names that hold patient data, or a file's name (clinics name files after patients).
PATIENT_DATA = {
    "patient_id",
    "pid",
    "mrn",
    "name",
    "names",
    "family",
    "given",
    "birth_date",
    "dob",
    "value",
    "values",
    "source_value",
    "dose",
    "display_name",
    "file_name",
    "filename",
    "path",
    "paths",
    "label",
    "note",
    "message",
}
#: An exception's text can quote the data (``KeyError: 'RA-001'``): only its type may be logged.
EXCEPTION_NAMES = {"exc", "err", "error", "e"}


def _logger_calls() -> list[tuple[str, ast.Call]]:
    calls = []
    for path in sorted((ROOT / "dashboard").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in LEVELS
                and isinstance(node.func.value, ast.Name)
                and node.func.value.id.lower() in {"log", "logger"}
            ):
                calls.append((f"{path.relative_to(ROOT)}:{node.lineno}", node))
    return calls


def _smells(node: ast.AST) -> list[str]:
    """What in a logger argument names patient data or an exception's text."""
    found: list[str] = []

    def visit(n: ast.AST) -> None:
        if isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id == "type":
            return  # type(exc).__name__: the kind of failure, never its text
        if isinstance(n, ast.Name) and (n.id in PATIENT_DATA or n.id in EXCEPTION_NAMES):
            found.append(n.id)
        elif isinstance(n, ast.Attribute) and n.attr in PATIENT_DATA:
            found.append(f".{n.attr}")
        elif isinstance(n, ast.Subscript) and isinstance(n.slice, ast.Constant) and n.slice.value in PATIENT_DATA:
            found.append(f"[{n.slice.value!r}]")
        for child in ast.iter_child_nodes(n):
            visit(child)

    visit(node)
    return found


def test_logger_calls_are_found():
    """The scan below sees the package's logger calls (it is not vacuous)."""
    assert len(_logger_calls()) >= 10


def test_logger_calls_pass_no_patient_data():
    bad = []
    for where, call in _logger_calls():
        fmt = call.args[0] if call.args else None
        if not (isinstance(fmt, ast.Constant) and isinstance(fmt.value, str)):
            bad.append(f"{where}: the message is not a literal %-format (an f-string or built text)")
        for arg in [*call.args[1:], *(k.value for k in call.keywords)]:
            smells = _smells(arg)
            if smells:
                bad.append(f"{where}: {', '.join(smells)} in {ast.unparse(arg)}")
    assert not bad, "logger calls that may write patient data:\n" + "\n".join(bad)


def test_the_scan_catches_what_it_is_for():
    def smells(expr: str) -> list[str]:
        return _smells(ast.parse(expr, mode="eval").body)

    assert smells("f.display_name") == [".display_name"]
    assert smells("row['patient_id']") == ["['patient_id']"]
    assert smells("str(exc)") == ["exc"]
    assert smells("type(exc).__name__") == []
    assert smells("len(result.labs)") == []


# --------------------------------------------------------------------------- a run at DEBUG

PATIENT = "MRN-8675309"
OTHER = "MRN-4417021"
FILE = "okonkwo_adaeze_bloods.csv"
LABS = (
    "patient_id,collected_at,test,value,unit\n"
    f"{PATIENT},2026-09-01,WBC,2.345,10^9/L\n"
    f"{PATIENT},2026-09-01,Neutrophils,1.234,10^9/L\n"
    f"{PATIENT},2026-10-01,WBC,2.123,10^9/L\n"
    f"{PATIENT},2026-10-01,Platelets,87.5,10^9/L\n"
)
PATIENTS = f'patient_id,name,birth_date,sex\n{PATIENT},"OKONKWO, Adaeze",1961-07-29,F\n'
DOSES = f"patient_id,drug,dose,dose_unit,frequency,route,start\n{PATIENT},azathioprine,137.5,mg,daily,oral,2026-06-01\n"
#: Anything of which in the log would be patient data.
SECRETS = (
    PATIENT,
    OTHER,
    "8675309",
    "4417021",
    "okonkwo",
    "adaeze",
    "1961",
    "29-Jul",
    "2.345",
    "1.234",
    "2.123",
    "87.5",
    "137.5",
    "bloods",
)


@pytest.fixture
def debug_log(monkeypatch):
    """Every record the ``dashboard`` loggers write at DEBUG (formatted), as a list."""
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    monkeypatch.setenv(ENV_VAR, "DEBUG")
    logger = logging.getLogger("dashboard")
    handler = Keep(logging.DEBUG)
    logger.addHandler(handler)
    old = logger.level
    logger.setLevel(logging.DEBUG)
    try:
        yield records
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old)


def _leaks(records: list[logging.LogRecord]) -> list[str]:
    return [r.getMessage() for r in records if any(s.lower() in r.getMessage().lower() for s in SECRETS)]


def test_a_review_at_debug_logs_counts_and_timings_only(tmp_path, debug_log, capsys):
    for name, text in ((FILE, LABS), ("patients.csv", PATIENTS), ("doses.csv", DOSES)):
        (tmp_path / name).write_text(text)
    code = main(["review", "--as-of", "2026-10-15", *(str(tmp_path / n) for n in (FILE, "patients.csv", "doses.csv"))])
    assert code == 0
    assert PATIENT in capsys.readouterr().out  # the review itself names the patient; the log must not
    messages = [r.getMessage() for r in debug_log]
    assert any(m.startswith("imported 3 file(s)") for m in messages), messages
    assert any(m.startswith("review finished in") for m in messages), messages
    assert not _leaks(debug_log)


def test_a_reader_failure_logs_its_kind_not_its_text(monkeypatch, debug_log):
    def failing(name, data):
        raise KeyError(f"{PATIENT} in {FILE}")  # an exception whose text quotes the data

    monkeypatch.setattr(pipeline_mod, "read_delimited", failing)
    result = import_sources([Source(FILE, LABS.replace(PATIENT, OTHER).encode())], ImportOptions(today=TODAY))
    assert result.report.files[0].error
    messages = [r.getMessage() for r in debug_log]
    assert any("could not be read: KeyError at" in m for m in messages), messages
    assert not _leaks(debug_log)


def _cached_import_script() -> None:
    import streamlit as st

    from dashboard.ui.caching import import_files

    st.session_state["accepted"] = import_files(st.session_state["files"], None, ()).labs.num_rows


def test_the_apps_cached_import_logs_no_patient_data(debug_log):
    at = AppTest.from_function(_cached_import_script, default_timeout=60)
    at.session_state["files"] = ((FILE, LABS.encode()), ("patients.csv", PATIENTS.encode()))
    at.run()
    assert not at.exception
    assert at.session_state["accepted"] == 4
    messages = [r.getMessage() for r in debug_log]
    assert any(m.startswith("imported 2 file(s)") for m in messages), messages
    assert not _leaks(debug_log)
