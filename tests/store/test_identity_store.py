"""The patient's name in the workspace: a version-1 workspace gains the column, an import
fills it, and a later import with another name for the MRN is an identity conflict."""

from __future__ import annotations

import duckdb

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
