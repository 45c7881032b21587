"""Validation of doses entered in the app."""

import datetime as dt
import math

import pandas as pd
import pytest

from dashboard.dose_entry import (
    FREQUENCY_CHOICES,
    DoseEntry,
    canonical_frequency,
    changed_entry,
    to_row,
    validate,
    validate_change,
)
from dashboard.ingest.frequency import parse_frequency

D = dt.date(2024, 5, 1)


def entry(**kw) -> DoseEntry:
    base = {"patient_id": "001", "drug": "azathioprine", "dose": 100.0, "start": D, "frequency": "daily"}
    return DoseEntry(**{**base, **kw})


def test_a_good_entry_passes_and_becomes_a_canonical_row():
    v = validate(entry(route="oral"))
    assert v.ok and not v.warnings
    row = to_row(entry(route="oral", note="WBC low"))
    assert (row["dose_basis"], row["source_file"], row["source_row"]) == ("entered", "entered", 0)
    assert row["mg_per_day"] == 100.0 and math.isnan(row["mg_per_week"])
    assert row["start"] == dt.datetime(2024, 5, 1) and row["end"] is None and "WBC low" in row["source_text"]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"drug": "paracetamol"}, "not one of the tracked drugs"),
        ({"dose": 0.0}, "must be positive"),
        ({"dose": -10.0}, "must be positive"),
        ({"dose": float("nan")}, "as a number"),
        ({"dose_unit": "tablets"}, "unit must be one of"),
        ({"frequency": "when needed"}, "frequency not understood"),
        ({"frequency": "prn"}, "frequency not understood"),
        ({"route": "rectal"}, "route must be one of"),
        ({"start": None}, "start date"),
        ({"end": dt.date(2024, 4, 1)}, "before the start date"),
        ({"patient_id": " "}, "choose a patient"),
    ],
)
def test_errors_block_the_entry(changes, message):
    v = validate(entry(**changes))
    assert not v.ok and any(message in e for e in v.errors)


@pytest.mark.parametrize("freq", ["daily", "BID", "once daily", "od"])
def test_a_weekly_drug_entered_daily_is_flagged(freq):
    v = validate(entry(drug="methotrexate", dose=15.0, frequency=freq))
    assert v.ok and "once a week" in v.warnings[0]


def test_weekly_methotrexate_has_a_weekly_amount():
    row = to_row(entry(drug="methotrexate", dose=15.0, frequency="once weekly"))
    assert row["frequency"] == "weekly" and row["mg_per_week"] == 15.0 and round(row["mg_per_day"], 4) == 2.1429
    assert canonical_frequency("q2w") == "every 2 weeks"


def test_an_overlap_with_the_same_drug_is_flagged():
    existing = pd.DataFrame(
        {
            "dose_id": [7],
            "patient_id": ["001"],
            "drug": ["azathioprine"],
            "dose": [150.0],
            "dose_unit": ["mg"],
            "frequency": ["daily"],
            "start": [pd.Timestamp("2024-01-01")],
            "end": [pd.NaT],
        }
    )
    assert "use Change" in validate(entry(), existing).warnings[0]
    assert not validate(entry(), existing, ignore_dose_id=7).warnings
    assert not validate(entry(drug="mycophenolate mofetil", frequency="BID"), existing).warnings


def test_change_and_stop_dates_are_checked():
    current = pd.Series(
        {
            "patient_id": "001",
            "drug": "azathioprine",
            "dose_unit": "mg",
            "route": "oral",
            "frequency": "daily",
            "start": pd.Timestamp("2024-01-01"),
            "end": pd.Timestamp("2024-06-30"),
        }
    )
    assert validate_change(current, dt.date(2024, 3, 1), "change") == []
    assert "before the dose started" in validate_change(current, dt.date(2023, 1, 1), "stop")[0]
    assert "already ended" in validate_change(current, dt.date(2024, 7, 1), "stop")[0]
    assert "on the day the dose started" in validate_change(current, dt.date(2024, 1, 1), "change")[0]
    new = changed_entry(current, dt.date(2024, 3, 1), 100.0, "")
    assert (new.start, new.end, new.frequency, new.route) == (
        dt.date(2024, 3, 1),
        dt.date(2024, 6, 30),
        "daily",
        "oral",
    )


def test_the_editor_offers_the_models_frequencies_and_the_importer_reads_each_as_itself():
    # written by hand: the model's schedules, "every N weeks" at 2 and 4, no "every N days" or "unknown"
    assert FREQUENCY_CHOICES == (
        "daily",
        "BID",
        "TID",
        "QID",
        "weekly",
        "every 2 weeks",
        "every 4 weeks",
        "monthly",
        "single",
    )
    for choice in FREQUENCY_CHOICES:
        parsed = parse_frequency(choice)
        assert parsed is not None and parsed.canonical == choice, choice
