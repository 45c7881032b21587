"""FHIR results whose patient is contained in them, values beside a dataAbsentReason, the
times and subjects a result cannot be placed by, and ranges for some sexes (probe fhir19).

Each expectation is derived by hand from FHIR R4, CTCAE v5.0 and the project's rules
(reference_ranges.toml: Hb default LLN 115 g/L for a woman or an unknown sex, none before
the 18th birthday, H181).
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import pandas as pd

from dashboard.rules.review import review
from tests.ingest.test_fhir_observation_exports import PATIENT, observation, problems, quantity
from tests.support import import_bundle

GENDER = "http://hl7.org/fhir/administrative-gender"


def contained(mrn: str, **details: Any) -> dict[str, Any]:
    return {"resourceType": "Patient", "id": "pat", "identifier": [{"system": "urn:mrn", "value": mrn}], **details}


def held_by(mrn: str, *args: Any, **details: Any) -> dict[str, Any]:
    """An Observation whose subject is a Patient contained in it (MRN ``mrn``)."""
    kw = {k: details.pop(k) for k in list(details) if k in ("id", "referenceRange", "effectiveDateTime")}
    return observation(*args, contained=[contained(mrn, **details)], subject={"reference": "#pat"}, **kw)


def applies(*sexes: str) -> list[dict[str, Any]]:
    return [{"coding": [{"system": GENDER, "code": s}]} for s in sexes]


def hb_range(lo: float, hi: float, *sexes: str) -> dict[str, Any]:
    return {"low": quantity(lo, "g/L"), "high": quantity(hi, "g/L"), "appliesTo": applies(*sexes)}


# ---------------------------------------------------------------- 1. a contained Patient's details


def test_a_contained_girl_is_not_graded_on_the_adult_default_lower_limit() -> None:
    # A girl born 2016-05-10, Hb 105 g/L on 2026-10-01 (aged 10), no range of the lab's:
    # H181 gives a child no default LLN, so no CTCAE grade 1 (Hb < LLN); 105 is not below
    # the grade 2 cut-off 100 g/L.  Read without her birth date, the adult default 115
    # would make it a grade 1 anaemia.
    result = import_bundle(
        held_by("K1", "718-7", quantity(105, "g/L"), gender="female", birthDate="2016-05-10"),
    )
    (pat,) = result.patients_df().to_dict("records")
    assert (pat["patient_id"], pat["sex"], pat["birth_date"].date()) == ("K1", "F", dt.date(2016, 5, 10))
    flags = review(result.labs, result.doses, result.patients, as_of=dt.date(2026, 10, 2)).flags.to_pandas()
    hb = flags[(flags["analyte"] == "hemoglobin") & flags["rule"].str.startswith("ctcae")]
    assert hb.empty, hb["message"].tolist()


def test_a_contained_woman_gets_her_own_sexs_range() -> None:
    # male 130-175, female 120-155 g/L: her Hb 125 is within her range 120-155
    rr = [hb_range(130, 175, "male"), hb_range(120, 155, "female")]
    (row,) = (
        import_bundle(held_by("W1", "718-7", quantity(125, "g/L"), referenceRange=rr, gender="female"))
        .labs_df()
        .to_dict("records")
    )
    assert (row["patient_id"], row["ref_low"], row["ref_high"]) == ("W1", 120, 155)


def test_one_contained_patient_in_two_results_is_one_patient_and_every_row_counted() -> None:
    a = held_by("W1", "718-7", quantity(125, "g/L"), gender="female", birthDate="1970-01-01")
    b = held_by("W1", id="o2", effectiveDateTime="2026-10-02", gender="female", birthDate="1970-01-01")
    result = import_bundle(a, b)  # balanced: the patient rides on its results' rows
    (f,) = result.report.files
    assert (f.rows_read, f.rows_accepted) == (2, 2)
    (pat,) = result.patients_df().to_dict("records")
    assert (pat["patient_id"], pat["sex"]) == ("W1", "F")


def test_a_contained_patient_is_merged_with_the_files_patient_by_the_same_rule() -> None:
    # The file's Patient p1 carries MRN A1 (born 1970-01-01); the contained A1 says born
    # 1971-01-01: a date of birth is never replaced, the conflict is reported, and neither
    # date is used (H553: the rules never depend on which came first; the outputs name both).
    patient = PATIENT | {"identifier": [{"system": "urn:mrn", "value": "A1"}]}
    result = import_bundle(patient, held_by("A1", gender="female", birthDate="1971-01-01"))
    (pat,) = result.patients_df().to_dict("records")
    assert pat["patient_id"] == "p1" and pd.isna(pat["birth_date"])
    assert [c.field for c in result.report.identity_conflicts] == ["birth_date"]


# ---------------------------------------------------------------- 2. a value and a dataAbsentReason


def test_a_value_beside_a_data_absent_reason_is_rejected_naming_both() -> None:
    # FHIR R4 obs-6: dataAbsentReason SHALL only be present if value[x] is not
    result = import_bundle(PATIENT, observation(dataAbsentReason={"text": "Clotted"}))
    assert result.labs_df().empty
    (why,) = problems(result)
    assert "dataAbsentReason" in why and "Clotted" in why and "1.5" in why


def test_a_component_value_beside_a_data_absent_reason_is_rejected() -> None:
    comp = {
        "code": {"coding": [{"system": "http://loinc.org", "code": "751-8"}]},
        "valueQuantity": quantity(0.4),
        "dataAbsentReason": {"text": "Haemolysed"},
    }
    panel = observation("57021-8", value=None, component=[comp])
    del panel["valueQuantity"]
    result = import_bundle(PATIENT, panel)
    assert result.labs_df().empty
    assert any("dataAbsentReason" in w and "Haemolysed" in w for w in problems(result))


# ---------------------------------------------------------------- 3. terse reasons


def test_an_effective_period_with_only_an_end_says_so() -> None:
    obs = observation(effectiveDateTime=None, effectivePeriod={"end": "2026-10-01T10:00:00Z"})
    (why,) = problems(import_bundle(PATIENT, obs))
    assert "effectivePeriod" in why and "end" in why and "2026-10-01" in why


def test_an_effective_timing_says_so() -> None:
    obs = observation(effectiveDateTime=None, effectiveTiming={"event": ["2026-10-01"]})
    (why,) = problems(import_bundle(PATIENT, obs))
    assert "effectiveTiming" in why


def test_a_year_and_month_is_no_draw_date() -> None:
    (why,) = problems(import_bundle(PATIENT, observation(effectiveDateTime="2024-03")))
    assert why == "the date gives only the year and month (2024-03): a draw needs a day"


def test_a_group_subject_says_it_is_a_group() -> None:
    group = {"resourceType": "Group", "id": "g1", "type": "person", "actual": True}
    result = import_bundle(group, observation(subject={"reference": "Group/g1"}))
    subject = [p.message for f in result.report.files for p in f.problems if p.column == "subject"]
    (why,) = subject
    assert "Group/g1" in why and "not one patient" in why


# ---------------------------------------------------------------- 4. ranges for some sexes


def test_a_range_for_women_and_others_is_not_a_mans() -> None:
    # 120-155 g/L for female and for other: a man's Hb 125 is not below "his" lower limit
    rr = [hb_range(120, 155, "female"), hb_range(120, 155, "other")]
    man = PATIENT | {"gender": "male"}
    (row,) = (
        import_bundle(man, observation("718-7", quantity(125, "g/L"), referenceRange=rr)).labs_df().to_dict("records")
    )
    assert math.isnan(row["ref_low"]) and math.isnan(row["ref_high"])


def test_a_range_for_women_and_others_is_a_womans() -> None:
    rr = [hb_range(120, 155, "female", "other")]
    (row,) = (
        import_bundle(PATIENT, observation("718-7", quantity(125, "g/L"), referenceRange=rr))
        .labs_df()
        .to_dict("records")
    )
    assert (row["ref_low"], row["ref_high"]) == (120, 155)


# ---------------------------------------------------------------- 4. ranges for an age (H375)

YEARS = {"system": "http://unitsofmeasure.org", "code": "a", "unit": "years"}
ADULT_AGES = [
    {
        "low": quantity(120, "g/L"),
        "high": quantity(155, "g/L"),
        "age": {"low": {"value": 18, **YEARS}, "high": {"value": 65, **YEARS}},
    },
    {"low": quantity(120, "g/L"), "high": quantity(155, "g/L"), "age": {"low": {"value": 66, **YEARS}}},
]


def test_adult_age_ranges_that_agree_are_not_a_childs_range() -> None:
    # A girl born 2016-05-10, Hb 105 g/L on 2026-10-01: aged 10, which neither 18-65 y nor
    # >= 66 y covers, so the lab gives no range of hers.  H181: no adult default LLN either,
    # so no CTCAE grade 1 (Hb < LLN); 105 is above the grade 2 cut-off 100 g/L.  Read on
    # 120-155 it would be "Hb < LLN 120", a false grade 1 anaemia.
    result = import_bundle(
        held_by("K1", "718-7", quantity(105, "g/L"), referenceRange=ADULT_AGES, gender="female", birthDate="2016-05-10")
    )
    (row,) = result.labs_df().to_dict("records")
    assert math.isnan(row["ref_low"]) and math.isnan(row["ref_high"])
    flags = review(result.labs, result.doses, result.patients, as_of=dt.date(2026, 10, 2)).flags.to_pandas()
    hb = flags[(flags["analyte"] == "hemoglobin") & flags["rule"].str.startswith("ctcae")]
    assert hb.empty, hb["message"].tolist()


def test_an_age_range_that_covers_the_patient_is_her_range() -> None:
    # A woman born 1970-01-01 is 56 on 2026-10-01: 18-65 y covers her, so 120-155 g/L is hers.
    result = import_bundle(PATIENT, observation("718-7", quantity(125, "g/L"), referenceRange=ADULT_AGES))
    (row,) = result.labs_df().to_dict("records")
    assert (row["ref_low"], row["ref_high"]) == (120, 155)


def test_an_age_range_is_not_used_when_the_age_is_unknown_and_that_is_said() -> None:
    # No birth date: whether 18-65 y covers the patient is not known, so no range is used.
    no_birth = {k: v for k, v in PATIENT.items() if k != "birthDate"}
    result = import_bundle(no_birth, observation("718-7", quantity(125, "g/L"), referenceRange=ADULT_AGES))
    (row,) = result.labs_df().to_dict("records")
    assert math.isnan(row["ref_low"]) and math.isnan(row["ref_high"])
    notes = [w.message for f in result.report.files for w in f.warnings if "age" in w.message]
    assert len(notes) == 1 and "birth date" in notes[0], notes


# ---------------------------------------------------------------- 5. a contained Patient's other ids (H376)


def test_a_contained_patients_other_identifier_is_kept_as_a_top_level_patients_is() -> None:
    # The contained Patient's MRN K1 files the result; its NHS number 9434765919 is the id
    # of the dose sheet's patient: one person under two ids, named as H150 names them.
    from dashboard.identity import alias_matches

    mrn = {"type": {"coding": [{"code": "MR"}]}, "system": "urn:mrn", "value": "K1"}
    nhs = {"system": "https://fhir.nhs.uk/Id/nhs-number", "value": "9434765919"}
    obs = observation(
        "718-7",
        quantity(125, "g/L"),
        contained=[{"resourceType": "Patient", "id": "pat", "identifier": [mrn, nhs]}],
        subject={"reference": "#pat"},
    )
    result = import_bundle(obs)
    assert [(pid, value) for pid, _kind, value, _f in result.aliases] == [("K1", "9434765919")]
    assert [m[0] for m in alias_matches(result.aliases, ["K1", "9434765919"])] == ["K1"]
