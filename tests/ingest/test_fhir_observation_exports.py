"""FHIR Observations (lab results) as real servers export them (probe fhir18).

Each expectation is derived by hand from FHIR R4 and the project's rules: every resource
accepted or rejected with a readable reason; a unit, an analyte, a patient or a version
never guessed; the status respected; nothing counted twice.
"""

from __future__ import annotations

import json
from typing import Any

from tests.support import assert_balanced, import_bundle, import_bytes

LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
PATIENT = {"resourceType": "Patient", "id": "p1", "gender": "female", "birthDate": "1970-01-01"}


def quantity(value: float, unit: str = "10*9/L", code: str | None = None) -> dict[str, Any]:
    return {"value": value, "unit": unit, "system": UCUM, "code": unit if code is None else code}


def observation(loinc: str = "751-8", value: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    res: dict[str, Any] = {
        "resourceType": "Observation",
        "id": "o1",
        "status": "final",
        "code": {"coding": [{"system": LOINC, "code": loinc}]},
        "subject": {"reference": "Patient/p1"},
        "effectiveDateTime": "2026-10-01T09:30:00+01:00",
        "valueQuantity": quantity(1.5) if value is None else value,
    }
    res.update(extra)
    return {k: v for k, v in res.items() if v is not None}


def problems(result) -> list[str]:
    return [p.message for f in result.report.files for p in f.problems]


def warnings(result) -> list[str]:
    return [p.message for f in result.report.files for p in f.warnings]


# ---------------------------------------------------------------- unit text against UCUM code


def test_a_unit_text_and_a_ucum_code_of_different_factors_reject_the_result() -> None:
    # Hb 12.5 "g/dL" (125 g/L: normal) with the UCUM code g/L (12.5 g/L: a grade 4 anaemia
    # figure): one of them is wrong, and which is not known: the result is not read.
    result = import_bundle(PATIENT, observation("718-7", quantity(12.5, "g/dL", "g/L")))
    assert result.labs_df().empty
    (why,) = problems(result)
    assert "g/dL" in why and "g/L" in why


def test_a_neutrophil_count_whose_text_and_code_disagree_is_not_read() -> None:
    # 1.5 "10^9/L" beside the code /uL: 1.5 x10^9/L or 1.5 cells per microlitre (0.0015 x10^9/L)
    result = import_bundle(PATIENT, observation(value=quantity(1.5, "10^9/L", "/uL")))
    assert result.labs_df().empty
    (why,) = problems(result)
    assert "10^9/L" in why and "/uL" in why


def test_a_unit_text_and_a_code_of_the_same_unit_are_read() -> None:
    # "x10^9/L" and 10*9/L, "cells/uL" and /uL, "10^3/uL" and 10*9/L: one factor each
    result = import_bundle(
        PATIENT,
        observation(value=quantity(1.5, "x10^9/L", "10*9/L")),
        observation(id="o2", value=quantity(1600, "cells/uL", "/uL"), effectiveDateTime="2026-10-02"),
        observation(id="o3", value=quantity(1.7, "10^3/uL", "10*9/L"), effectiveDateTime="2026-10-03"),
    )
    assert sorted(result.labs_df()["value"]) == [1.5, 1.6, 1.7]


# ---------------------------------------------------------------- code against name


def test_a_loinc_code_and_a_name_of_another_analyte_reject_the_result() -> None:
    # LOINC 777-3 is platelets; the lab's text says neutrophils: 1.5 x10^9/L read as
    # platelets would be a grade 4 thrombocytopenia made of a neutrophil count.
    code = {"coding": [{"system": LOINC, "code": "777-3"}], "text": "Neutrophils"}
    result = import_bundle(PATIENT, observation(code=code))
    assert result.labs_df().empty
    (why,) = problems(result)
    assert "777-3" in why and "Neutrophils" in why


def test_two_loinc_codings_of_different_analytes_reject_the_result() -> None:
    code = {"coding": [{"system": LOINC, "code": "751-8"}, {"system": LOINC, "code": "777-3"}]}
    result = import_bundle(PATIENT, observation(code=code))
    assert result.labs_df().empty
    (why,) = problems(result)
    assert "751-8" in why and "777-3" in why


def test_a_local_code_beside_the_loinc_one_is_read_by_the_loinc_code() -> None:
    code = {
        "coding": [
            {"system": "http://acme.example/lab", "code": "NEUT", "display": "Neut abs"},
            {"system": LOINC, "code": "751-8", "display": "Neutrophils [#/volume] in Blood by Automated count"},
        ]
    }
    (row,) = import_bundle(PATIENT, observation(code=code)).labs_df().to_dict("records")
    assert (row["analyte"], row["value"]) == ("neutrophils", 1.5)


def test_an_absolute_count_code_with_a_percent_unit_is_not_made_a_count() -> None:
    # LOINC 751-8 is Neutrophils [#/volume]; "1.5 %" with a WBC of 5.0 would be made
    # 0.075 x10^9/L, a grade 4 neutropenia the lab never reported.
    wbc = observation("6690-2", quantity(5.0), id="w1")
    result = import_bundle(PATIENT, observation(value=quantity(1.5, "%")), wbc)
    labs = result.labs_df()
    assert list(labs["analyte"]) == ["wbc"]
    (why,) = problems(result)
    assert "751-8" in why and "%" in why


# ---------------------------------------------------------------- status


def test_a_preliminary_observation_is_imported_and_said() -> None:
    result = import_bundle(PATIENT, observation(status="preliminary"))
    assert len(result.labs_df()) == 1
    assert any("preliminary" in w for w in warnings(result))


def test_an_observation_of_unknown_status_is_imported_and_said() -> None:
    result = import_bundle(PATIENT, observation(status="unknown"))
    assert len(result.labs_df()) == 1
    assert any("'unknown'" in w and "check their status" in w for w in warnings(result))


# ---------------------------------------------------------------- reference ranges


def test_a_range_for_men_only_is_not_a_womans_range() -> None:
    # Hb 125 g/L of a woman, with the lab's single range 130-175 g/L given for men
    # (appliesTo male): her result is not below her lower limit, and no range applies.
    male = {"coding": [{"system": "http://hl7.org/fhir/administrative-gender", "code": "male"}]}
    rr = [{"low": quantity(130, "g/L"), "high": quantity(175, "g/L"), "appliesTo": [male]}]
    (row,) = (
        import_bundle(PATIENT, observation("718-7", quantity(125, "g/L"), referenceRange=rr))
        .labs_df()
        .to_dict("records")
    )
    assert row["value"] == 125
    assert row["ref_low"] != row["ref_low"] and row["ref_high"] != row["ref_high"]  # NaN: none used


def test_a_range_for_children_is_not_an_adults_range() -> None:
    rr = [
        {"low": quantity(110, "g/L"), "high": quantity(140, "g/L"), "age": {"low": {"value": 1}, "high": {"value": 12}}}
    ]
    (row,) = (
        import_bundle(PATIENT, observation("718-7", quantity(125, "g/L"), referenceRange=rr))
        .labs_df()
        .to_dict("records")
    )
    assert row["ref_low"] != row["ref_low"]


def test_one_range_per_sex_is_read_for_the_patients_sex() -> None:
    # male 130-175, female 120-155 g/L: the woman's range is 120-155
    gender = "http://hl7.org/fhir/administrative-gender"
    rr = [
        {
            "low": quantity(130, "g/L"),
            "high": quantity(175, "g/L"),
            "appliesTo": [{"coding": [{"system": gender, "code": "male"}]}],
        },
        {
            "low": quantity(120, "g/L"),
            "high": quantity(155, "g/L"),
            "appliesTo": [{"coding": [{"system": gender, "code": "female"}]}],
        },
    ]
    (row,) = (
        import_bundle(PATIENT, observation("718-7", quantity(125, "g/L"), referenceRange=rr))
        .labs_df()
        .to_dict("records")
    )
    assert (row["ref_low"], row["ref_high"]) == (120, 155)


# ---------------------------------------------------------------- subject


def contained_patient(mrn: str) -> dict[str, Any]:
    return {"resourceType": "Patient", "id": "pat", "identifier": [{"system": "urn:mrn", "value": mrn}]}


def test_contained_patients_are_filed_under_their_identifiers_not_their_local_id() -> None:
    # Two Observations each with a contained Patient "#pat": A1 and B2 are two people.
    a = observation(contained=[contained_patient("A1")], subject={"reference": "#pat"})
    b = observation(id="o2", value=quantity(0.3), contained=[contained_patient("B2")], subject={"reference": "#pat"})
    labs = import_bundle(a, b).labs_df()
    assert sorted(zip(labs["patient_id"], labs["value"], strict=True)) == [("A1", 1.5), ("B2", 0.3)]


def test_a_contained_patient_carrying_the_mrn_of_a_patient_of_the_file_is_that_patient() -> None:
    patient = PATIENT | {"identifier": [{"system": "urn:mrn", "value": "A1"}]}
    labs = import_bundle(
        patient, observation(contained=[contained_patient("A1")], subject={"reference": "#pat"})
    ).labs_df()
    assert list(labs["patient_id"]) == ["p1"]


def test_a_contained_patient_without_an_identifier_is_rejected() -> None:
    anonymous = {"resourceType": "Patient", "id": "pat", "gender": "male"}
    result = import_bundle(observation(contained=[anonymous], subject={"reference": "#pat"}))
    assert result.labs_df().empty
    (why,) = problems(result)
    assert "contained" in why


# ---------------------------------------------------------------- versions


def test_the_latest_version_of_an_observation_replaces_the_earlier() -> None:
    # versionId 1 said 1.5, versionId 2 (the lab's correction, listed first) says 0.4:
    # only 0.4 is graded; version 1 is rejected naming version 2.
    v2 = observation(value=quantity(0.4), meta={"versionId": "2"})
    v1 = observation(meta={"versionId": "1"})
    result = import_bundle(PATIENT, v2, v1)
    assert list(result.labs_df()["value"]) == [0.4]
    (why,) = problems(result)
    assert "version" in why and "Observation/o1" in why


def test_a_later_version_entered_in_error_withdraws_the_earlier() -> None:
    v1 = observation(meta={"versionId": "1"})
    v2 = observation(status="entered-in-error", meta={"versionId": "2"})
    result = import_bundle(PATIENT, v1, v2)
    assert result.labs_df().empty
    assert len(problems(result)) == 2


def test_versions_ordered_by_last_updated() -> None:
    older = observation(meta={"lastUpdated": "2026-10-01T10:00:00Z"})
    newer = observation(value=quantity(0.4), meta={"lastUpdated": "2026-10-02T10:00:00Z"})
    assert list(import_bundle(PATIENT, newer, older).labs_df()["value"]) == [0.4]


# ---------------------------------------------------------------- searchset Bundles


def searchset(*entries: dict[str, Any], **bundle: Any) -> bytes:
    return json.dumps({"resourceType": "Bundle", "type": "searchset", "entry": list(entries), **bundle}).encode()


def test_an_operation_outcome_of_a_search_is_said_with_its_words() -> None:
    oo = {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": "warning", "code": "incomplete", "diagnostics": "Results truncated at 500"}],
    }
    result = import_bytes(
        searchset(
            {"resource": observation(), "search": {"mode": "match"}},
            {"resource": PATIENT, "search": {"mode": "include"}},
            {"resource": oo, "search": {"mode": "outcome"}},
        ),
        "s.json",
    )
    assert_balanced(result)
    assert len(result.labs_df()) == 1
    assert any("Results truncated at 500" in w for w in warnings(result))
    assert any("Results truncated at 500" in p for p in problems(result))


def test_one_page_of_a_search_says_the_rest_is_not_in_the_file() -> None:
    result = import_bytes(
        searchset(
            {"resource": observation(), "search": {"mode": "match"}},
            total=3,
            link=[{"relation": "next", "url": "https://fhir.example/Observation?page=2"}],
        ),
        "s.json",
    )
    assert_balanced(result)
    assert any("next" in w and "page" in w for w in warnings(result))
