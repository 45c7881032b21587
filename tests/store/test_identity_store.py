"""The patient's name in the workspace: a version-1 workspace gains the column, an import
fills it, and a later import with another name for the MRN is an identity conflict."""

from __future__ import annotations

import duckdb
import pytest

from dashboard.ingest import Source
from dashboard.store import Workspace, schema
from dashboard.store.panel import open_panel, report_from_dict

PATIENTS = b"patient_id,first name,last name,date of birth\n001,Jane,Doe,1980-03-12\n"


def test_a_version_1_workspace_gains_the_name_column(ws, monkeypatch):
    monkeypatch.setattr("dashboard.store.migrations.MIGRATIONS", schema.MIGRATIONS[:1])
    monkeypatch.setattr("dashboard.store.migrations.latest_version", lambda: 1)
    monkeypatch.setattr("dashboard.store.workspace.latest_version", lambda: 1)
    ws.create()  # what an older dashboard wrote
    con = duckdb.connect(str(ws.db_path), read_only=True)
    assert "name" not in [r[0] for r in con.execute("DESCRIBE patients").fetchall()]
    con.close()
    monkeypatch.undo()
    again = Workspace(ws.path)
    again.import_sources([Source("patients.csv", PATIENTS)], by="t")
    assert again.info()["schema_version"] == schema.latest_version()
    p = open_panel(again).patients.set_index("patient_id")
    assert p.loc["001", "name"] == "DOE, Jane"


def test_another_name_for_a_stored_mrn_is_reported_and_not_written(ws):
    ws.import_sources([Source("patients.csv", PATIENTS)], by="t")
    other = b"patient_id,first name,last name\n001,John,Doe\n"
    out = ws.import_sources([Source("patients2.csv", other)], by="t")
    [c] = out.report.identity_conflicts
    assert (c.patient_id, c.field) == ("001", "name")
    assert [v for v, _, _ in c.values] == ["DOE, Jane", "DOE, John"]
    assert open_panel(ws).patients.set_index("patient_id").loc["001", "name"] == "DOE, Jane"
    # the conflict is kept in the import log with the report
    logged = report_from_dict(ws.imports()[0]["report"])
    assert [x.patient_id for x in logged.identity_conflicts] == ["001"]


LAB_HEAD = "MRN,Collection Date,Component,Result,Units\n"


@pytest.mark.parametrize(
    ("first", "second", "words"),
    [
        (
            ("labs.csv", LAB_HEAD + "0012,2024-04-15 09:00,Neutrophils,1.2,10^9/L\n"),
            (
                "doses.csv",
                "patient,drug,dose,unit,frequency,start,end\n12,azathioprine,150,mg,daily,2024-01-01,2024-12-31\n",
            ),
            "differ only by leading zeros",
        ),
        (
            ("p1.csv", 'MRN,Patient Name,DOB\n5001,"DOE, Jane",1980-03-12\n'),
            ("p2.csv", "MRN,Patient Name,DOB\nMRN5001,Jane Doe,1980-03-12\n"),
            "have the same name and date of birth",
        ),
    ],
    ids=["leading-zeros", "same-person"],
)
def test_an_id_that_differs_from_a_kept_patient_only_by_its_form_is_named(ws, first, second, words):
    """Probe 6 F5.  The nightly import holds 0012 (or 5001, DOE Jane born 12-Mar-1980); a
    later import brings 12 (or MRN5001, Jane Doe born 12-Mar-1980).  In one import both
    pairs were named; imported one after the other they were not, and the doses under 12
    never met the neutrophils of 0012.  The later import names the pair, the kept id as
    "the workspace"; both ids stay apart (merging is the clinician's decision)."""
    ws.import_sources([Source(first[0], first[1].encode())], by="t")
    result = ws.import_sources([Source(second[0], second[1].encode())], by="t")
    assert ws.info()["patients"] == 2
    warnings = [w.message for f in result.report.files for w in f.warnings]
    named = [w for w in warnings if words in w]
    assert len(named) == 1 and "(the workspace)" in named[0], warnings


def test_an_id_already_kept_under_the_same_form_is_not_named(ws):
    """The same id in both imports is one patient: nothing to say."""
    ws.import_sources([Source("a.csv", (LAB_HEAD + "0012,2024-04-15 09:00,WBC,4.2,10^9/L\n").encode())], by="t")
    result = ws.import_sources(
        [Source("b.csv", (LAB_HEAD + "0012,2024-05-15 09:00,WBC,4.4,10^9/L\n").encode())], by="t"
    )
    warnings = [w.message for f in result.report.files for w in f.warnings]
    assert not any("leading zeros" in w or "look alike" in w or "same name" in w for w in warnings)
