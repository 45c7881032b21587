"""The review's output tables are declared in data/tables.toml (issue 19: facts as data)."""

from __future__ import annotations

import pyarrow as pa
import pytest

from dashboard.rules import tables
from dashboard.rules.flags import FLAG_FIELDS, RESULT_FIELDS
from dashboard.rules.summary import SUMMARY_FIELDS

TABLES = ("result", "flags", "after_as_of", "schedule", "dose_checks", "summary", "intervals")


@pytest.mark.parametrize("name", TABLES)
def test_every_column_has_a_known_type_and_a_meaning(name):
    cols = tables.columns(name)
    assert cols
    for col_name, typ, meaning in cols:
        assert col_name.isidentifier()
        assert typ in tables.TYPES.values()
        assert meaning.strip() and meaning == meaning.strip()
    assert tables.schema(name).names == [c[0] for c in cols]


def test_a_spliced_table_comes_first_and_whole():
    # flags and after_as_of begin with the columns that say which result a row is about
    assert FLAG_FIELDS[: len(RESULT_FIELDS)] == RESULT_FIELDS
    after = tables.columns("after_as_of")
    assert after[: len(RESULT_FIELDS)] == RESULT_FIELDS
    assert [c[0] for c in after[len(RESULT_FIELDS) :]] == ["lab_row"]
    assert RESULT_FIELDS[0] == ("patient_id", pa.string(), "Patient identifier.")
    assert RESULT_FIELDS[1][:2] == ("collected_at", pa.timestamp("s"))


def test_one_summary_column_per_ctcae_analyte_in_model_order():
    # ctcae.toml grades WBC, neutrophils, lymphocytes, platelets, haemoglobin, ALT, AST and
    # creatinine; model.ANALYTES orders them wbc, neutrophils, lymphocytes, hemoglobin,
    # platelets, alt, ast, creatinine
    expected = ["wbc", "neutrophils", "lymphocytes", "hemoglobin", "platelets", "alt", "ast", "creatinine"]
    assert list(tables.ctcae_analytes()) == expected
    graded = [c for c in SUMMARY_FIELDS if c[0].startswith("ctcae_")]
    assert [c[0] for c in graded] == [f"ctcae_{a}" for a in expected]
    assert all(c[1] == pa.int8() for c in graded)
    assert graded[0][2] == "CTCAE grade of the latest WBC result (null if none)."
    names = [c[0] for c in SUMMARY_FIELDS]
    assert names.index("ctcae_wbc") == names.index("max_ctcae_grade") + 1


def test_a_column_listed_twice_is_refused(monkeypatch):
    doc = {"t": {"columns": [["a", "string", "A."], ["a", "int64", "A again."]]}}
    monkeypatch.setattr(tables, "load", lambda name: doc)
    tables.columns.cache_clear()
    try:
        with pytest.raises(ValueError, match="listed twice"):
            tables.columns("t")
    finally:
        tables.columns.cache_clear()


def test_an_unknown_type_is_refused(monkeypatch):
    doc = {"t": {"columns": [["a", "decimal", "A."]]}}
    monkeypatch.setattr(tables, "load", lambda name: doc)
    tables.columns.cache_clear()
    try:
        with pytest.raises(KeyError):
            tables.columns("t")
    finally:
        tables.columns.cache_clear()
