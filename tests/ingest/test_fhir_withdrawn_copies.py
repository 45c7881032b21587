"""A copy of an Observation the lab also sent marked entered-in-error is not graded (H469).

By hand: the same resource (one ``Observation/id``) as "final" and as "entered-in-error",
with no versionId or lastUpdated to order them, in one Bundle or in two NDJSON files of
one import (a bulk export and its ``_since`` export).  The withdrawal wins: the final copy
is rejected naming where the withdrawal is.  Where the versions say the final copy is the
later one (versionId 2 after 1), it is the lab's latest word and is read (H350)."""

from __future__ import annotations

import json

from dashboard.ingest import ImportOptions, Source, import_sources
from tests.support import TODAY, assert_balanced, import_bundle

PATIENT = {"resourceType": "Patient", "id": "p1", "birthDate": "1970-01-01", "gender": "female"}


def _neutrophils(status: str = "final", version: str = "", oid: str = "n1") -> dict:
    res = {
        "resourceType": "Observation",
        "id": oid,
        "status": status,
        "subject": {"reference": "Patient/p1"},
        "code": {"coding": [{"system": "http://loinc.org", "code": "751-8"}]},
        "effectiveDateTime": "2026-03-02T09:00:00Z",
        "valueQuantity": {"value": 0.4, "unit": "10*9/L", "system": "http://unitsofmeasure.org", "code": "10*9/L"},
    }
    if version:
        res["meta"] = {"versionId": version}
    return res


def _ndjson(*files: list[dict]):
    sources = [
        Source(f"Observation_{i}.ndjson", "".join(json.dumps(r) + "\n" for r in rows).encode())
        for i, rows in enumerate(files, 1)
    ]
    result = import_sources(sources, ImportOptions(today=TODAY))
    assert_balanced(result)
    return result


def test_a_final_and_a_withdrawn_copy_in_one_bundle_are_not_graded():
    result = import_bundle(PATIENT, _neutrophils(), _neutrophils("entered-in-error"))
    assert result.labs.num_rows == 0
    f = result.report.files[0]
    assert (f.rows_read, f.rows_accepted, f.rows_rejected) == (3, 1, 2)
    by_row = {p.row: p.message for p in f.problems}
    assert by_row[2].startswith("the same Observation/n1 is marked entered-in-error (withdrawn by the lab) in row 3,")
    assert by_row[3] == "result status 'entered-in-error': the result was withdrawn or not done, so it is not imported"
    assert any("ask the lab whether those results stand" in w.message for w in f.warnings)


def test_a_withdrawal_in_a_later_ndjson_file_reaches_the_earlier_one():
    result = _ndjson([PATIENT, _neutrophils()], [_neutrophils("entered-in-error")])
    assert result.labs.num_rows == 0
    first = result.report.files[0]
    assert first.path == "Observation_1.ndjson"
    assert "in row 1 of Observation_2.ndjson" in first.problems[0].message


def test_a_withdrawal_in_an_earlier_ndjson_file_reaches_the_later_one():
    result = _ndjson([_neutrophils("entered-in-error")], [PATIENT, _neutrophils()])
    assert result.labs.num_rows == 0
    assert any("in row 1 of Observation_1.ndjson" in p.message for f in result.report.files for p in f.problems)


def test_a_final_version_after_the_withdrawn_one_is_read():
    # versionId 2 (final) after versionId 1 (entered-in-error): the lab's latest word is the result
    result = import_bundle(PATIENT, _neutrophils("entered-in-error", "1"), _neutrophils("final", "2"))
    assert list(result.labs_df()["value"]) == [0.4]
    result = _ndjson([PATIENT, _neutrophils("final", "2")], [_neutrophils("entered-in-error", "1")])
    assert list(result.labs_df()["value"]) == [0.4]


def test_a_final_version_before_the_withdrawn_one_in_another_file_is_not_read():
    result = _ndjson([PATIENT, _neutrophils("final", "1")], [_neutrophils("entered-in-error", "2")])
    assert result.labs.num_rows == 0


def test_a_withdrawal_of_another_observation_changes_nothing():
    result = _ndjson([PATIENT, _neutrophils()], [_neutrophils("entered-in-error", oid="n2")])
    assert list(result.labs_df()["value"]) == [0.4]
    assert not result.report.files[0].problems


def test_two_unversioned_final_copies_stay_one_result():
    result = import_bundle(PATIENT, _neutrophils(), _neutrophils())
    assert list(result.labs_df()["value"]) == [0.4]
