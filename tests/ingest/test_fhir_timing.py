"""FHIR ``timing.repeat`` with days of the week and times of the day (probe 8 F7).

N days a week (``dayOfWeek``) is N administrations a week: one day is weekly, every day
is the daily count, and anything between is a schedule the model cannot hold, rejected
with the reason the same words get in a dose table ("weekly on Mon and Thu").
``timeOfDay`` and ``when`` count the times of a day; a count they contradict is never
picked.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import pytest

from dashboard.ingest import ImportResult
from tests.support import assert_balanced, import_bundle, import_text

TODAY = dt.date(2026, 3, 10)
MTX = "Methotrexate 2.5 MG Oral Tablet"
AZA = "Azathioprine 50 MG Oral Tablet"
#: what a methotrexate schedule given more than once a week is rejected with, in a table
#: and in FHIR alike (dashboard/ingest/doses.py)
MTX_OFTEN = "methotrexate more often than once weekly: check the prescription now; "
UNHELD = "frequency not understood as a schedule the dashboard holds: "


def _request(drug: str, mg: float, repeat: dict[str, Any], pid: str = "p3") -> dict[str, Any]:
    return {
        "resourceType": "MedicationRequest",
        "id": "m1",
        "status": "active",
        "intent": "order",
        "subject": {"reference": f"Patient/{pid}"},
        "medicationCodeableConcept": {"text": drug},
        "authoredOn": "2026-01-05",
        "dosageInstruction": [
            {"timing": {"repeat": repeat}, "doseAndRate": [{"doseQuantity": {"value": mg, "unit": "mg"}}]}
        ],
    }


def _load(drug: str, mg: float, repeat: dict[str, Any]) -> ImportResult:
    return import_bundle({"resourceType": "Patient", "id": "p3"}, _request(drug, mg, repeat), today=TODAY)


def _messages(result: ImportResult) -> list[str]:
    return [p.message for p in result.report.files[0].problems]


def test_fhir_day_of_week_is_not_read_as_daily():
    # frequency 1 per 1 d, restricted by dayOfWeek to Monday and Thursday: 2 doses a
    # week, 7.5 mg each = 15 mg/week; never 7.5 mg daily (52.5 mg/week).
    req = _request(MTX, 7.5, {"frequency": 1, "period": 1, "periodUnit": "d", "dayOfWeek": ["mon", "thu"]})
    r = import_bundle({"resourceType": "Patient", "id": "p3"}, req)
    d = r.doses_df()
    assert list(d["frequency"]) != ["daily"]


@pytest.mark.parametrize(
    ("repeat", "times"),
    [
        ({"frequency": 1, "period": 1, "periodUnit": "d", "dayOfWeek": ["mon", "thu"]}, "2 times a week"),
        ({"dayOfWeek": ["thu", "mon"]}, "2 times a week"),  # the days alone: once on each
        ({"frequency": 2, "period": 1, "periodUnit": "wk", "dayOfWeek": ["mon", "thu"]}, "2 times a week"),
        ({"frequency": 2, "period": 1, "periodUnit": "d", "dayOfWeek": ["mon"]}, "2 times a week"),  # twice on Mon
        ({"dayOfWeek": ["mon", "wed", "fri"], "timeOfDay": ["08:00"]}, "3 times a week"),
    ],
)
def test_methotrexate_on_several_days_a_week_is_rejected_as_the_table_path_rejects_it(repeat, times):
    # 7.5 mg on two (three) days a week is 15 (22.5) mg a week: more often than once
    # weekly, a schedule the model cannot hold; never 7.5 mg daily or 7.5 mg weekly.
    result = _load(MTX, 7.5, repeat)
    assert result.doses_df().empty
    (message,) = _messages(result)
    assert message.startswith(MTX_OFTEN + UNHELD) and times in message


def test_a_fhir_order_and_a_table_row_on_mon_and_thu_are_refused_alike():
    fhir = _load(MTX, 7.5, {"frequency": 1, "period": 1, "periodUnit": "d", "dayOfWeek": ["mon", "thu"]})
    table = import_text(
        "patient,drug,dose,unit,frequency,start\np3,methotrexate,7.5,mg,weekly on Mon and Thu,2026-01-05\n",
        "doses.csv",
        today=TODAY,
    )
    assert_balanced(table)
    for result in (fhir, table):
        f = result.report.files[0]
        assert result.doses_df().empty and f.rows_rejected == 1
        assert f.problems[0].message.startswith(MTX_OFTEN + UNHELD)


@pytest.mark.parametrize(
    "repeat",
    [
        {"dayOfWeek": ["mon"]},
        {"frequency": 1, "period": 1, "periodUnit": "wk", "dayOfWeek": ["mon"]},
        {"frequency": 1, "period": 1, "periodUnit": "d", "dayOfWeek": ["mon"], "timeOfDay": ["08:00"]},
    ],
)
def test_one_day_a_week_is_weekly(repeat):
    # 7.5 mg every Monday: 7.5 mg/week = 7.5 / 7 mg/day
    dose = _load(MTX, 7.5, repeat).doses_df().iloc[0]
    assert (dose.frequency, dose.dose) == ("weekly", 7.5)
    assert dose.mg_per_day == pytest.approx(7.5 / 7)


def test_every_day_of_the_week_is_daily():
    days = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
    dose = _load(AZA, 50, {"frequency": 1, "period": 1, "periodUnit": "d", "dayOfWeek": days}).doses_df().iloc[0]
    assert (dose.frequency, dose.mg_per_day) == ("daily", 50.0)


def test_five_days_a_week_of_azathioprine_is_not_daily():
    # 50 mg Mon-Fri is 250 mg/week (35.7 mg/day), neither 50 mg/day nor 50 mg/week
    days = ["mon", "tue", "wed", "thu", "fri"]
    result = _load(AZA, 50, {"frequency": 1, "period": 1, "periodUnit": "d", "dayOfWeek": days})
    assert result.doses_df().empty
    (message,) = _messages(result)
    assert message.startswith(UNHELD) and "5 times a week" in message


@pytest.mark.parametrize(
    ("repeat", "said"),
    [
        ({"frequency": 1, "period": 2, "periodUnit": "wk", "dayOfWeek": ["mon"]}, "beside a period of 2 wk"),
        ({"frequency": 1, "period": 1, "periodUnit": "wk", "dayOfWeek": ["mon", "thu"]}, "names 2 days"),
        ({"frequency": 1, "period": 1, "periodUnit": "d", "dayOfWeek": ["monday"]}, "that are none (monday)"),
    ],
)
def test_days_of_the_week_that_disagree_with_the_period_leave_the_frequency_unknown(repeat, said):
    # every other Monday, or once a week on Monday and Thursday: which is meant is not guessed
    result = _load(MTX, 7.5, repeat)
    dose = result.doses_df().iloc[0]
    assert dose.frequency == "unknown" and math.isnan(dose.mg_per_day)
    assert any(said in w.message and "left unknown" in w.message for w in result.report.files[0].warnings)


@pytest.mark.parametrize(
    "repeat",
    [
        {"period": 1, "periodUnit": "d", "timeOfDay": ["08:00", "20:00"]},
        {"frequency": 2, "period": 1, "periodUnit": "d", "timeOfDay": ["08:00", "20:00"]},
        {"frequency": 2, "period": 1, "periodUnit": "d", "when": ["MORN", "EVE"]},
        {"period": 1, "periodUnit": "d", "when": ["MORN", "EVE"]},
    ],
)
def test_times_of_the_day_count_the_doses_of_a_day(repeat):
    # 50 mg at 08:00 and 20:00 (morning and evening) is twice daily: 100 mg/day
    dose = _load(AZA, 50, repeat).doses_df().iloc[0]
    assert (dose.frequency, dose.mg_per_day) == ("BID", 100.0)


def test_a_count_a_day_that_the_times_of_the_day_contradict_is_not_picked():
    # once a day, at 08:00 and at 20:00: 50 or 100 mg/day cannot be told
    result = _load(AZA, 50, {"frequency": 1, "period": 1, "periodUnit": "d", "timeOfDay": ["08:00", "20:00"]})
    dose = result.doses_df().iloc[0]
    assert dose.frequency == "unknown" and math.isnan(dose.mg_per_day)
    assert any("names 2 times of the day" in w.message for w in result.report.files[0].warnings)


def test_with_meals_does_not_change_the_count():
    # frequency 1 a day, with a meal: once daily
    dose = _load(AZA, 50, {"frequency": 1, "period": 1, "periodUnit": "d", "when": ["C"]}).doses_df().iloc[0]
    assert (dose.frequency, dose.mg_per_day) == ("daily", 50.0)


@pytest.mark.parametrize(
    ("text", "repeat"),
    [
        ("7.5 mg twice weekly", {"frequency": 1, "period": 1, "periodUnit": "wk"}),  # the text's "weekly" is not all
        ("7.5 mg twice weekly", None),
        ("Take 3 tablets weekly on Mon and Thu", None),
        ("7.5 mg every Monday and Thursday", None),
    ],
)
def test_a_dosage_text_given_more_often_than_weekly_is_rejected_as_in_a_table(text, repeat):
    # 7.5 mg twice a week is 15 mg/week: never read as 7.5 mg weekly
    req = _request(MTX, 7.5, repeat or {})
    req["dosageInstruction"][0]["text"] = text
    if repeat is None:
        del req["dosageInstruction"][0]["timing"]
    result = import_bundle({"resourceType": "Patient", "id": "p3"}, req, today=TODAY)
    assert result.doses_df().empty
    (message,) = _messages(result)
    assert message.startswith(MTX_OFTEN + UNHELD)
