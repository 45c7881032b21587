"""The workspace keeps what a dose's start is (schema 11, ``doses.start_basis``; H540):
a FHIR statement dated only by ``dateAsserted`` stays "recorded" after the workspace is
saved and loaded again, so no pre-treatment baseline comes back from its date; a
workspace of version 9 migrates, its stored doses reading "" (the day the dose started,
as every source before gave)."""

from __future__ import annotations

import json

from dashboard.ingest import Source
from dashboard.store import schema
from dashboard.store.panel import open_panel
from tests.support import assert_balanced

STATEMENT = {
    "resourceType": "MedicationStatement",
    "id": "s",
    "status": "active",
    "medicationCodeableConcept": {"text": "Azathioprine 50 mg tablet"},
    "subject": {"reference": "Patient/p1"},
    "dateAsserted": "2024-03-01",
    "dosage": [{"text": "100 mg daily"}],
}
PATIENT = {"resourceType": "Patient", "id": "p1", "gender": "female", "birthDate": "1970-01-01"}
DOSES_CSV = "MRN,Drug,Dose,Frequency,Start Date\n2001,azathioprine,100 mg,daily,2024-01-01\n"


def _bundle(*resources: dict) -> bytes:
    doc = {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": r} for r in resources]}
    return json.dumps(doc).encode()


def test_a_recorded_only_start_survives_the_workspace(ws):
    out = ws.import_sources([Source("meds.json", _bundle(PATIENT, STATEMENT))], by="t")
    assert_balanced(out)
    assert ws.load().doses.column("start_basis").to_pylist() == ["recorded"]
    assert list(open_panel(ws).doses["start_basis"]) == ["recorded"]


def test_a_version_9_workspace_gains_the_start_basis_column(ws, monkeypatch):
    monkeypatch.setattr("dashboard.store.migrations.MIGRATIONS", schema.MIGRATIONS[:9])
    monkeypatch.setattr("dashboard.store.migrations.latest_version", lambda: 9)
    monkeypatch.setattr("dashboard.store.workspace.latest_version", lambda: 9)
    assert_balanced(ws.import_sources([Source("doses.csv", DOSES_CSV.encode())], by="t"))
    monkeypatch.undo()
    assert_balanced(ws.import_sources([Source("meds.json", _bundle(PATIENT, STATEMENT))], by="t"))
    assert ws.info()["schema_version"] == schema.latest_version() == 13  # H625: import_readers; H643: lab_unread
    doses = ws.load().doses
    got = sorted(zip(doses.column("patient_id").to_pylist(), doses.column("start_basis").to_pylist(), strict=True))
    assert got == [("2001", ""), ("p1", "recorded")]
