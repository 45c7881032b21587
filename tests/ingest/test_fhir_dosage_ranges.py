"""FHIR dosages that state more than one dose or frequency: never one of them picked.

A dose is a number the source states once: two doseAndRate entries with different
doses (a "calculated" 125 mg and an "ordered" 100 mg) are rejected like a doseRange;
a frequency range (timing.repeat.frequencyMax "1-2 times a day", periodMax "every 1-2
weeks") leaves the frequency unknown, with a note, instead of reading its lower bound.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

from dashboard.ingest import ImportResult
from tests.support import fhir_medication_request, import_bundle

TODAY = dt.date(2026, 11, 25)
UCUM = "http://unitsofmeasure.org"
PATIENT = {"resourceType": "Patient", "id": "p1", "gender": "female", "birthDate": "1980-02-03"}


def mg(v: float) -> dict[str, Any]:
    return {"value": v, "unit": "mg", "system": UCUM, "code": "mg"}


def order(drug: str, dosage: dict[str, Any]) -> dict[str, Any]:
    return fhir_medication_request(dosage, drug, id="r1", authoredOn="2026-09-01")


def load(*resources: dict[str, Any]) -> ImportResult:
    return import_bundle(*resources, today=TODAY)


DAILY = {"repeat": {"frequency": 1, "period": 1, "periodUnit": "d"}}


def test_two_different_doses_in_dose_and_rate_are_rejected_naming_both() -> None:
    dosage = {
        "doseAndRate": [
            {"type": {"text": "calculated"}, "doseQuantity": mg(125)},
            {"type": {"text": "ordered"}, "doseQuantity": mg(100)},
        ],
        "timing": DAILY,
    }
    result = load(PATIENT, order("azathioprine", dosage))
    assert result.doses.num_rows == 0
    f = result.report.files[0]
    assert f.rows_rejected == 1
    message = f.problems[0].message
    assert "125" in message and "100" in message


def test_dose_and_rate_entries_that_agree_are_that_dose() -> None:
    dosage = {"doseAndRate": [{"doseQuantity": mg(100)}, {"doseQuantity": mg(100)}], "timing": DAILY}
    doses = load(PATIENT, order("azathioprine", dosage)).doses.to_pylist()
    assert [(d["dose"], d["frequency"], d["mg_per_day"]) for d in doses] == [(100.0, "daily", 100.0)]


def test_a_frequency_range_leaves_the_frequency_unknown() -> None:
    # "50 mg 1-2 times a day": 50 or 100 mg/day; neither is read
    timing = {"repeat": {"frequency": 1, "frequencyMax": 2, "period": 1, "periodUnit": "d"}}
    result = load(PATIENT, order("azathioprine", {"doseAndRate": [{"doseQuantity": mg(50)}], "timing": timing}))
    (dose,) = result.doses.to_pylist()
    assert dose["dose"] == 50.0 and dose["frequency"] == "unknown" and math.isnan(dose["mg_per_day"] or math.nan)
    assert any("frequencyMax" in w.message for w in result.report.files[0].warnings)


def test_a_period_range_leaves_the_frequency_unknown() -> None:
    # methotrexate 20 mg "every 1-2 weeks": 20 or 10 mg/week; neither is read
    timing = {"repeat": {"frequency": 1, "period": 1, "periodMax": 2, "periodUnit": "wk"}}
    result = load(PATIENT, order("methotrexate", {"doseAndRate": [{"doseQuantity": mg(20)}], "timing": timing}))
    (dose,) = result.doses.to_pylist()
    assert dose["frequency"] == "unknown"
    assert any("periodMax" in w.message for w in result.report.files[0].warnings)


def test_a_range_whose_bounds_agree_is_that_frequency() -> None:
    timing = {"repeat": {"frequency": 1, "frequencyMax": 1, "period": 1, "periodMax": 1, "periodUnit": "wk"}}
    result = load(PATIENT, order("methotrexate", {"doseAndRate": [{"doseQuantity": mg(20)}], "timing": timing}))
    (dose,) = result.doses.to_pylist()
    assert dose["frequency"] == "weekly" and dose["mg_per_week"] == 20.0


def test_one_number_written_two_ways_is_one_dose_and_one_frequency() -> None:
    timing = {"repeat": {"frequency": 1, "frequencyMax": 1.0, "period": 1, "periodUnit": "d"}}
    dosage = {"doseAndRate": [{"doseQuantity": mg(100)}, {"doseQuantity": mg(100.0)}], "timing": timing}
    doses = load(PATIENT, order("azathioprine", dosage)).doses.to_pylist()
    assert [(d["dose"], d["frequency"]) for d in doses] == [(100.0, "daily")]


def test_a_morning_and_an_evening_dose_are_not_read_as_the_first_alone() -> None:
    # tacrolimus 2 mg in the morning and 1 mg in the evening (3 mg/day): reading the first
    # instruction alone gave 2 mg/day; the daily dose is not one stated amount: rejected
    morning = {"text": "2 mg in the morning", "doseAndRate": [{"doseQuantity": mg(2)}], "timing": DAILY}
    evening = {"text": "1 mg in the evening", "doseAndRate": [{"doseQuantity": mg(1)}], "timing": DAILY}
    request = dict(order("tacrolimus", morning), dosageInstruction=[morning, evening])
    result = load(PATIENT, request)
    assert result.doses.num_rows == 0
    [problem] = result.report.files[0].problems
    assert "2 different dosage instructions" in problem.message and "not one stated amount" in problem.message


def test_the_same_dosage_instruction_twice_is_one_dose() -> None:
    daily = {"doseAndRate": [{"doseQuantity": mg(100)}], "timing": DAILY}
    request = dict(order("azathioprine", daily), dosageInstruction=[daily, dict(daily)])
    doses = load(PATIENT, request).doses.to_pylist()
    assert [(d["dose"], d["mg_per_day"]) for d in doses] == [(100.0, 100.0)]
