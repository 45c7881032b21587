"""What a FHIR medication order means beyond its dose (probe 10, F4-F7; H185-H190).

The same fact has the same outcome whatever the format: a FHIR order's status is judged
as a table's status column is.  Expected values are worked out by hand from FHIR R4
(Dosage.asNeeded[x], SimpleQuantity, Timing.repeat, the MedicationRequest intent and
status and MedicationStatement status value sets).
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import pytest

from dashboard.ingest import ImportResult
from tests.support import fhir_medication_request, import_bundle, import_text

TODAY = dt.date(2026, 3, 10)
WEEKLY = {"repeat": {"frequency": 1, "period": 1, "periodUnit": "wk"}}
DAILY = {"repeat": {"frequency": 1, "period": 1, "periodUnit": "d"}}


def _request(dosage: dict[str, Any], drug: str = "Methotrexate 2.5 MG Oral Tablet", **extra: Any) -> dict[str, Any]:
    return fhir_medication_request(dosage, drug, **extra)


def _import(resource: dict[str, Any]) -> ImportResult:
    return import_bundle({"resourceType": "Patient", "id": "p1"}, resource, today=TODAY)


def _mtx(**extra: Any) -> ImportResult:
    dosage = {"timing": WEEKLY, "doseAndRate": [{"doseQuantity": {"value": 15, "unit": "mg"}}]}
    return _import(_request(dosage, **extra))


def _problems(result: ImportResult) -> list[str]:
    return [p.message for p in result.report.files[0].problems]


def _notes(result: ImportResult) -> list[str]:
    return [p.message for p in result.report.files[0].warnings]


def _table(status: str, end: str = "") -> ImportResult:
    text = f"patient_id,drug,dose,unit,frequency,start_date,end_date,status\nP1,methotrexate,15,mg,weekly,2026-01-05,{end},{status}\n"
    return import_text(text, name="doses.csv", today=TODAY)


# F4: as needed -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    "as_needed",
    [{"asNeededCodeableConcept": {"text": "flare"}}, {"asNeeded": True, "asNeededFor": [{"text": "flare"}]}],
    ids=["R4 asNeededCodeableConcept", "R5 asNeededFor"],
)
def test_a_dose_taken_as_needed_for_a_reason_has_no_regular_frequency(as_needed: dict) -> None:
    # prednisolone 15 mg, daily timing, "as needed for flare": no daily dose, as a table's
    # "daily PRN" is none (frequency unknown, no mg/day)
    dosage = {**as_needed, "timing": DAILY, "doseAndRate": [{"doseQuantity": {"value": 15, "unit": "mg"}}]}
    dose = _import(_request(dosage, drug="Prednisolone 5 MG Oral Tablet")).doses_df().iloc[0]
    assert (dose["drug"], dose["dose"], dose["frequency"]) == ("prednisolone", 15.0, "unknown")
    assert math.isnan(dose["mg_per_day"])
    table = import_text(
        "patient_id,drug,dose,unit,frequency,start_date\nP1,prednisolone,15,mg,daily PRN,2026-01-05\n",
        name="doses.csv",
        today=TODAY,
    ).doses_df()
    assert table["frequency"].tolist() == ["unknown"]


# F5: a unit text and a UCUM code ------------------------------------------------------------
@pytest.mark.parametrize(("unit", "code"), [("mg", "g"), ("mg", "mg/kg"), ("g", "mL")])
def test_a_unit_text_and_a_ucum_code_that_disagree_are_rejected(unit: str, code: str) -> None:
    q = {"value": 1, "unit": unit, "system": "http://unitsofmeasure.org", "code": code}
    dosage = {
        "timing": {"repeat": {"frequency": 2, "period": 1, "periodUnit": "d"}},
        "doseAndRate": [{"doseQuantity": q}],
    }
    r = _import(_request(dosage, drug="Mycophenolate mofetil"))
    assert r.doses_df().empty
    (problem,) = _problems(r)
    assert f"unit text '{unit}' and its UCUM code '{code}' name different units" in problem


def test_a_unit_text_and_a_ucum_code_that_agree_are_read() -> None:
    # "milligram" and "mg" are one unit: 15 mg a week is 15/7 mg a day
    q = {"value": 15, "unit": "milligram", "system": "http://unitsofmeasure.org", "code": "mg"}
    dose = _import(_request({"timing": WEEKLY, "doseAndRate": [{"doseQuantity": q}]})).doses_df().iloc[0]
    assert (dose["dose"], dose["frequency"]) == (15.0, "weekly")
    assert dose["mg_per_day"] == pytest.approx(15 / 7)
    # "tablet" beside "{tbl}" (neither a mass): 2 tablets of 2.5 mg = 5 mg
    q = {"value": 2, "unit": "tablet", "system": "http://unitsofmeasure.org", "code": "{tbl}"}
    dose = _import(_request({"timing": WEEKLY, "doseAndRate": [{"doseQuantity": q}]})).doses_df().iloc[0]
    assert dose["dose"] == 5.0


# F6: status and intent ----------------------------------------------------------------------
def test_an_intended_statement_is_rejected_in_fhir_and_in_a_table() -> None:
    statement = {
        "resourceType": "MedicationStatement",
        "id": "s1",
        "status": "intended",
        "subject": {"reference": "Patient/p1"},
        "medicationCodeableConcept": {"text": "Methotrexate 2.5 MG Oral Tablet"},
        "effectiveDateTime": "2026-01-05",
        "dosage": [{"timing": WEEKLY, "doseAndRate": [{"doseQuantity": {"value": 15, "unit": "mg"}}]}],
    }
    r = _import(statement)
    assert r.doses_df().empty
    assert any("intended for the future" in m for m in _problems(r))
    t = _table("Intended")
    assert t.doses_df().empty
    assert any("intended for the future" in m for m in _problems(t))


@pytest.mark.parametrize(("status", "word"), [("stopped", "stopped"), ("on-hold", "on hold"), ("ended", "ended")])
def test_a_stopped_or_held_order_without_an_end_is_rejected_as_a_table_row_is(status: str, word: str) -> None:
    r = _mtx(status=status)
    assert r.doses_df().empty
    (problem,) = _problems(r)
    assert f"held or stopped ('{word}') but not when it was given" in problem
    t = _table({"on-hold": "On Hold"}.get(status, status.title()))
    assert t.doses_df().empty
    (same,) = _problems(t)
    assert f"held or stopped ('{word}') but not when it was given" in same


def test_a_stopped_order_with_its_end_is_history() -> None:
    dosage = {
        "timing": {"repeat": {**WEEKLY["repeat"], "boundsPeriod": {"start": "2026-01-05", "end": "2026-02-02"}}},
        "doseAndRate": [{"doseQuantity": {"value": 15, "unit": "mg"}}],
    }
    dose = _import(_request(dosage, status="stopped")).doses_df().iloc[0]
    assert (str(dose["start"].date()), str(dose["end"].date()), dose["dose"]) == ("2026-01-05", "2026-02-02", 15.0)


def test_an_option_of_a_request_group_is_rejected_and_a_plan_is_kept_and_said() -> None:
    r = _mtx(intent="option")
    assert r.doses_df().empty
    assert any("one option of a request group" in m for m in _problems(r))
    r = _mtx(intent="plan")
    assert r.doses_df()["dose"].tolist() == [15.0]
    assert any("intent is 'plan'" in m for m in _notes(r))


def test_an_unknown_status_is_kept_and_said_in_fhir_and_in_a_table() -> None:
    for r in (_mtx(status="unknown"), _table("Unknown")):
        assert r.doses_df()["dose"].tolist() == [15.0]
        assert any("order status 'unknown'" in m.lower() for m in _notes(r)), _notes(r)


# F7: a comparator, a count that is no positiveInt ---------------------------------------------
def test_a_dose_with_a_comparator_is_rejected() -> None:
    q = {"value": 20, "comparator": "<=", "unit": "mg"}
    r = _import(_request({"timing": WEEKLY, "doseAndRate": [{"doseQuantity": q}]}))
    assert r.doses_df().empty
    (problem,) = _problems(r)
    assert "comparator ('<= 20 mg')" in problem


@pytest.mark.parametrize(
    ("repeat", "said"),
    [
        ({"frequency": 0, "period": 1, "periodUnit": "wk"}, "frequency 0"),
        ({"frequency": 1.5, "period": 1, "periodUnit": "d"}, "frequency 1.5"),
        ({"frequency": 1, "period": 0, "periodUnit": "wk"}, "period 0"),
        ({"count": 0, "frequency": 1, "period": 1, "periodUnit": "wk"}, "count 0"),
    ],
)
def test_a_timing_that_names_no_schedule_is_rejected_never_read_as_once(repeat: dict, said: str) -> None:
    r = _import(
        _request({"timing": {"repeat": repeat}, "doseAndRate": [{"doseQuantity": {"value": 15, "unit": "mg"}}]})
    )
    assert r.doses_df().empty
    (problem,) = _problems(r)
    assert said in problem and "never as once" in problem
