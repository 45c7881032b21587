"""Fixes of probe 39 (``tests/test_probe39.py``): the doses in force on messy dose records.

Expected values are worked out by hand from the cases (dates counted on the calendar),
never copied from the code.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from dashboard import dosing, model
from dashboard.dose_entry import DoseEntry, validate
from dashboard.figures.timeline import _HoverContext
from dashboard.views import current_doses_table
from tests.support import LABS_HEAD, assert_balanced, csv_import, csv_review

_OTHER = "P2,azathioprine,50,mg,daily,oral,2025-01-01,2025-02-01\n"  # gives the file an end column in use


def _doses_of(result, pid: str = "P1") -> pd.DataFrame:
    d = result.doses.to_pandas()
    return d[d["patient_id"] == pid].reset_index(drop=True)


def _warnings(result, path: str = "doses.csv") -> list[tuple[int, str]]:
    return [(w.row, w.message) for f in result.report.files if f.path == path for w in f.warnings]


# --------------------------------------------------------------------------- F1/F2: single administrations


def test_a_single_administration_is_in_force_on_its_start_day_only():
    start = pd.Timestamp("2026-01-15 10:30")
    # no end: in force until the next midnight
    assert model.in_force_until(start, None, "single") == pd.Timestamp("2026-01-16")
    assert model.in_force(start, None, pd.Timestamp("2026-01-15 18:00"), "single")
    assert not model.in_force(start, None, pd.Timestamp("2026-01-16"), "single")
    # a later end is cut to the day; other frequencies keep their end (ongoing stays ongoing)
    assert model.in_force_until(start, pd.Timestamp("2026-03-01"), "single") == pd.Timestamp("2026-01-16")
    assert model.in_force_until(start, None, "every 2 weeks") is None
    assert model.in_force(start, None, pd.Timestamp("2027-01-01"), "daily")


def test_rituximab_once_is_given_on_its_day_and_then_recorded_for_its_window():
    # 1000 mg once on 1 Jan; a count on 30 Mar is 88 days later (31 + 28 + 29), inside
    # rituximab's six-month "recently ended" window, and no dose is in force then.
    doses = "P1,rituximab,1000,mg,once,iv,2026-01-01,\n" + _OTHER
    labs = "P1,2026-03-30,neutrophils,0.8,10^9/L\nP1,2026-03-30,wbc,2.0,10^9/L\n"
    r, rv = csv_review(labs, doses, as_of=dt.date(2026, 4, 1))
    assert_balanced(r)
    s = rv.summary_df().set_index("patient_id").loc["P1"]
    assert s["current_doses"] == ""
    assert "Rituximab 1000 mg" in s["recent_doses"] and "given 2026-01-01" in s["recent_doses"]
    flags = rv.flags_df()
    context = flags[(flags["patient_id"] == "P1") & (flags["analyte"] == "neutrophils")]["dose_context"].iloc[0]
    assert context.startswith("no dose in force (Rituximab 1000 mg") and "given 2026-01-01, 88 d before" in context
    assert current_doses_table(_doses_of(r), float("nan"), dt.date(2026, 4, 1)).empty
    # on its own day it is the dose in force
    assert len(current_doses_table(_doses_of(r), float("nan"), dt.date(2026, 1, 1))) == 1


def test_the_hover_and_the_dose_total_read_a_pulse_on_its_day_only():
    doses = "P1,cyclophosphamide,500,mg,once,iv,2026-01-01,\n" + _OTHER
    r = csv_import("P1,2026-01-01,wbc,6,10^9/L\n", doses, as_of=dt.date(2026, 3, 1))
    mine = _doses_of(r)
    hover = _HoverContext.build(pd.DataFrame(), mine, float("nan"), "SI")
    assert "Cyclophosphamide" in hover.doses_at(pd.Timestamp("2026-01-01 12:00"))
    assert hover.doses_at(pd.Timestamp("2026-02-01")) == "no dose in force"
    assert dosing.dose_total(mine, "cyclophosphamide", pd.Timestamp("2026-02-01")) is None
    assert dosing.dose_total(mine, "cyclophosphamide", pd.Timestamp("2026-01-01 12:00")) is not None


def test_entering_the_next_pulse_is_not_an_overlap_with_the_last_one():
    existing = pd.DataFrame(
        {
            "patient_id": ["P1", "P1"],
            "drug": ["cyclophosphamide", "azathioprine"],
            "dose": [500.0, 100.0],
            "dose_unit": ["mg", "mg"],
            "frequency": ["single", "daily"],
            "start": pd.to_datetime(["2026-01-01", "2025-01-01"]),
            "end": pd.to_datetime([None, None]),
        }
    )
    pulse = DoseEntry("P1", "cyclophosphamide", 500.0, dt.date(2026, 1, 15), frequency="single", route="iv")
    assert not [w for w in validate(pulse, existing).warnings if "overlaps" in w]
    # an open daily dose of the drug is still an overlap
    more = DoseEntry("P1", "azathioprine", 150.0, dt.date(2026, 1, 15), frequency="daily", route="oral")
    assert [w for w in validate(more, existing).warnings if "overlaps" in w]


def test_pulses_in_a_change_log_keep_their_own_days_beside_a_daily_course():
    # a change log (no end column): oral cyclophosphamide to 1 Jan ends at the first pulse's
    # start; the two pulses are each one administration and neither is ended by the next
    head = "patient_id,drug,dose,dose_unit,frequency,route,start\n"
    from dashboard.ingest import ImportOptions, Source, import_sources

    rows = (
        "P1,cyclophosphamide,100,mg,daily,oral,2025-10-01\n"
        "P1,cyclophosphamide,500,mg,once,iv,2026-01-01\n"
        "P1,cyclophosphamide,500,mg,once,iv,2026-01-15\n"
    )
    r = import_sources(
        [
            Source("labs.csv", (LABS_HEAD + "P1,2026-01-01,wbc,6,10^9/L\n").encode()),
            Source("d.csv", (head + rows).encode()),
        ],
        ImportOptions(today=dt.date(2026, 2, 1)),
    )
    assert_balanced(r)
    d = _doses_of(r).sort_values("start")
    assert list(d["end"].dt.date.where(d["end"].notna(), None)) == [dt.date(2026, 1, 1), None, None]
    assert not any("repeat issue" in w.message for f in r.report.files for w in f.warnings)
    assert model.doses_in_force(d, dt.date(2026, 1, 20)).empty


@pytest.mark.parametrize("day", ["2026-01-01", "2026-01-15"])
def test_each_pulse_is_in_force_on_its_own_day(day):
    doses = "P1,cyclophosphamide,500,mg,once,iv,2026-01-01,\nP1,cyclophosphamide,500,mg,once,iv,2026-01-15,\n"
    r = csv_import("P1,2026-01-01,wbc,6,10^9/L\n", doses, as_of=dt.date(2026, 2, 1))
    live = model.doses_in_force(_doses_of(r), pd.Timestamp(day))
    assert list(live["start"]) == [pd.Timestamp(day)]
