"""A subject given by a business identifier (an MRN) rather than a Patient reference.

FHIR logical ids and MRNs are different namespaces: the Observation of the patient whose
MRN is "1" must never be filed under the Patient whose logical id happens to be "1"
(a wrong-patient result).  Expected ids below are read off the resources by hand.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from dashboard.ingest import ImportOptions, ImportResult, Source, import_sources
from tests.support import import_bundle

TODAY = dt.date(2026, 11, 25)
MRN = "urn:example:mrn"

ALICE = {"resourceType": "Patient", "id": "1", "identifier": [{"system": MRN, "value": "555"}], "gender": "female"}
BOB = {"resourceType": "Patient", "id": "2", "identifier": [{"system": MRN, "value": "1"}], "gender": "male"}


def neutrophils(rid: str, subject: dict[str, Any]) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "id": rid,
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "751-8"}]},
        "subject": subject,
        "effectiveDateTime": "2026-10-01",
        "valueQuantity": {"value": 0.4, "unit": "10*3/uL"},
    }


def load(*resources: dict[str, Any]) -> ImportResult:
    return import_bundle(*resources, today=TODAY)


def test_identifier_subject_is_the_patient_carrying_that_identifier() -> None:
    # Bob (logical id "2") has MRN 1; Alice's logical id is "1": the result is Bob's
    result = load(ALICE, BOB, neutrophils("o1", {"identifier": {"system": MRN, "value": "1"}}))
    assert result.labs_df()["patient_id"].tolist() == ["2"]


def test_conditional_reference_by_identifier_is_the_patient_carrying_it() -> None:
    result = load(ALICE, BOB, neutrophils("o1", {"reference": f"Patient?identifier={MRN}|1"}))
    assert result.labs_df()["patient_id"].tolist() == ["2"]


def test_identifier_that_only_collides_with_a_logical_id_is_rejected() -> None:
    # no Patient in the file carries other-system|1, yet "1" is Alice's logical id:
    # filing it under Alice would be a guess
    result = load(ALICE, BOB, neutrophils("o1", {"identifier": {"system": "urn:other", "value": "1"}}))
    assert result.labs_df().empty
    f = result.report.files[0]
    assert f.rows_rejected == 1
    assert any("identifier" in p.message for p in f.problems)


def test_identifier_without_patients_in_the_file_is_kept_as_written() -> None:
    result = load(neutrophils("o1", {"identifier": {"system": MRN, "value": "777"}}))
    assert result.labs_df()["patient_id"].tolist() == ["777"]


# --------------------------------------------------------------------------- an MRN that is another file's patient id

#: A bulk export's Patient: its logical id is the server's, its MRN is the hospital's.
CAROL = {
    "resourceType": "Patient",
    "id": "f3c9a1",
    "identifier": [
        {
            "type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "MR"}]},
            "system": MRN,
            "value": "0012345",
        }
    ],
    "gender": "female",
}
#: The clinic's dose sheet, keyed by the MRN.
DOSES = "MRN,Drug,Dose,Unit,Frequency,Start\n0012345,methotrexate,15,mg,weekly,2026-01-05\n"


def _ndjson(*resources: dict[str, Any]) -> bytes:
    return "\n".join(json.dumps(r) for r in resources).encode() + b"\n"


def _import(*files: tuple[str, bytes]) -> ImportResult:
    return import_sources([Source(name, data) for name, data in files], ImportOptions(today=TODAY))


def test_a_patients_mrn_that_is_another_files_patient_id_is_named_and_kept_apart() -> None:
    """The FHIR export files Carol's neutrophils under her server id f3c9a1; the dose sheet
    files her methotrexate under her MRN 0012345.  Filing either under the other would be a
    guess (an MRN can be reused by another system), so they stay two patients, and the
    clinician is told that f3c9a1 carries MRN 0012345, which is the other file's id: else
    the methotrexate never meets the neutropenia and no dose check fires."""
    result = _import(
        ("Patient.ndjson", _ndjson(CAROL)),
        ("Observation.ndjson", _ndjson(neutrophils("o1", {"reference": "Patient/f3c9a1"}))),
        ("doses.csv", DOSES.encode()),
    )
    assert sorted(result.patients_df()["patient_id"]) == ["0012345", "f3c9a1"]
    assert result.labs_df()["patient_id"].tolist() == ["f3c9a1"]
    assert result.doses_df()["patient_id"].tolist() == ["0012345"]
    notes = [w.message for f in result.report.files for w in f.warnings if "0012345" in w.message]
    assert len(notes) == 1, notes
    assert "f3c9a1" in notes[0] and "MR" in notes[0] and "doses.csv" in notes[0]
    assert "kept apart" in notes[0]


def test_an_identifier_equal_to_the_patients_own_id_is_not_named() -> None:
    same = {**CAROL, "id": "0012345"}
    result = _import(("Patient.ndjson", _ndjson(same)), ("doses.csv", DOSES.encode()))
    assert result.patients_df()["patient_id"].tolist() == ["0012345"]
    assert not [w for f in result.report.files for w in f.warnings if "identifier" in w.message]


def test_a_stored_patient_whose_id_is_a_new_fhir_patients_mrn_is_named(tmp_path) -> None:
    """The same split across imports: the dose sheet went into the workspace last week."""
    from dashboard.store import Workspace

    ws = Workspace(tmp_path / "ws", timeout=20, clock=lambda: dt.datetime(2026, 11, 20, 9))
    ws.import_sources([Source("doses.csv", DOSES.encode())], by="t")
    result = ws.import_sources([Source("Patient.ndjson", _ndjson(CAROL))], by="t")
    notes = [w.message for f in result.report.files for w in f.warnings if "0012345" in w.message]
    assert len(notes) == 1, notes
    assert "f3c9a1" in notes[0] and "the workspace" in notes[0]


def test_a_fhir_patient_kept_in_the_workspace_is_named_when_a_later_sheet_uses_its_mrn(tmp_path) -> None:
    """The other order: the FHIR export went into the workspace first; the dose sheet
    tonight files the methotrexate under the MRN the kept Patient carries.  The kept
    identifier is stored (schema 8), so the sheet's import names it, and the panel the
    pages read has it."""
    from dashboard.store import Workspace
    from dashboard.store.panel import open_panel

    ws = Workspace(tmp_path / "ws", timeout=20, clock=lambda: dt.datetime(2026, 11, 20, 9))
    ws.import_sources([Source("Patient.ndjson", _ndjson(CAROL))], by="t")
    result = ws.import_sources([Source("doses.csv", DOSES.encode())], by="t")
    notes = [w.message for f in result.report.files for w in f.warnings if "0012345" in w.message]
    assert len(notes) == 1, notes
    assert "f3c9a1" in notes[0] and "the workspace" in notes[0] and "doses.csv" in notes[0]
    assert open_panel(ws).dataset().aliases == [("f3c9a1", "MR", "0012345", "Patient.ndjson")]
    # the same file again adds no second identifier row
    ws.import_sources([Source("Patient2.ndjson", _ndjson(CAROL))], by="t")
    assert len(open_panel(ws).dataset().aliases) == 1
