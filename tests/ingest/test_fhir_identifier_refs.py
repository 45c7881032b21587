"""A subject given by a business identifier (an MRN) rather than a Patient reference.

FHIR logical ids and MRNs are different namespaces: the Observation of the patient whose
MRN is "1" must never be filed under the Patient whose logical id happens to be "1"
(a wrong-patient result).  Expected ids below are read off the resources by hand.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from dashboard.ingest import ImportResult
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
