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
    # 1000 mg once on 1 Jan: in force that day, so it ended on 2 Jan (as a once row recorded
    # with its end the next day reads, H482); a count on 30 Mar is 87 days after 2 Jan
    # (30 + 28 + 29), inside rituximab's six-month "recently ended" window.
    doses = "P1,rituximab,1000,mg,once,iv,2026-01-01,\n" + _OTHER
    labs = "P1,2026-03-30,neutrophils,0.8,10^9/L\nP1,2026-03-30,wbc,2.0,10^9/L\n"
    r, rv = csv_review(labs, doses, as_of=dt.date(2026, 4, 1))
    assert_balanced(r)
    s = rv.summary_df().set_index("patient_id").loc["P1"]
    assert s["current_doses"] == ""
    assert "Rituximab 1000 mg" in s["recent_doses"] and s["recent_doses"].endswith("ended 2026-01-02")
    flags = rv.flags_df()
    context = flags[(flags["patient_id"] == "P1") & (flags["analyte"] == "neutrophils")]["dose_context"].iloc[0]
    assert context.startswith("no dose in force (Rituximab 1000 mg") and "ended 2026-01-02, 87 d before" in context
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


# --------------------------------------------------------------------------- F3: one change log in two files

_CHANGES = "patient_id,drug,dose,dose_unit,frequency,route,start\n"
_INTERVALS = "patient_id,drug,dose,dose_unit,frequency,route,start,end\n"


def _import(*files: tuple[str, str], as_of: dt.date = dt.date(2026, 3, 10)):
    from dashboard.ingest import ImportOptions, Source, import_sources

    sources = [Source("labs.csv", (LABS_HEAD + "P1,2026-03-01,wbc,6,10^9/L\n").encode())]
    sources += [Source(name, text.encode()) for name, text in files]
    r = import_sources(sources, ImportOptions(today=as_of))
    assert_balanced(r)
    return r


def test_two_change_logs_of_one_drug_end_the_earlier_dose_at_the_later_start():
    # jan: 100 mg from 1 Jan 2025; feb: 150 mg from 1 Feb 2026; neither file has an end
    # column: the 100 mg ends on 1 Feb 2026, and on 10 Mar only 150 mg is in force
    r = _import(
        ("jan.csv", _CHANGES + "P1,azathioprine,100,mg,daily,oral,2025-01-01\n"),
        ("feb.csv", _CHANGES + "P1,azathioprine,150,mg,daily,oral,2026-02-01\n"),
    )
    d = _doses_of(r).sort_values("start")
    assert [str(e)[:10] for e in d["end"]] == ["2026-02-01", "NaT"]
    assert list(model.doses_in_force(d, dt.date(2026, 3, 10))["dose"]) == [150.0]
    notes = [m for row, m in _warnings(r, "feb.csv") if row == 2]
    assert any("jan.csv row 2" in m and "ends on 2026-02-01" in m for m in notes), notes


def test_an_open_dose_of_a_dated_file_beside_a_later_change_log_is_kept_and_said():
    # jan gives the drug's rows dates (50 mg to 1 Jan 2025, 100 mg from then, open): an
    # interval file for this drug, so February's 150 mg is not taken to end it: both are
    # read as taken together (250 mg/day), and feb.csv's row says so naming jan.csv row 3
    r = _import(
        (
            "jan.csv",
            _INTERVALS
            + "P1,azathioprine,50,mg,daily,oral,2024-06-01,2025-01-01\nP1,azathioprine,100,mg,daily,oral,2025-01-01,\n",
        ),
        ("feb.csv", _CHANGES + "P1,azathioprine,150,mg,daily,oral,2026-02-01\n"),
    )
    assert sorted(model.doses_in_force(_doses_of(r), dt.date(2026, 3, 10))["dose"]) == [100.0, 150.0]
    notes = [m for row, m in _warnings(r, "feb.csv") if row == 2]
    assert any("overlap" in m and "jan.csv row 3" in m and "taken together" in m for m in notes), notes


def test_the_workspace_says_a_stored_open_dose_when_a_later_file_starts_the_drug_again(tmp_path, monkeypatch):
    from dashboard.ingest import Source
    from dashboard.store import Workspace
    from tests.store.helpers import Clock

    monkeypatch.setenv("DASHBOARD_WORKSPACE", str(tmp_path / "ws"))
    ws = Workspace(tmp_path / "ws", timeout=20, clock=Clock())
    ws.import_sources(
        [Source("jan.csv", (_CHANGES + "P1,azathioprine,100,mg,daily,oral,2025-01-01\n").encode())], by="t"
    )
    out = ws.import_sources(
        [Source("feb.csv", (_CHANGES + "P1,azathioprine,150,mg,daily,oral,2026-02-01\n").encode())], by="t"
    )
    [f] = [f for f in out.report.files if f.path == "feb.csv"]
    notes = [w.message for w in f.warnings if w.row == 2]
    assert any("overlap" in m and "stored 100 mg daily from 2025-01-01" in m for m in notes), notes


# --------------------------------------------------------------------------- F4: a repeat entered twice


def test_a_repeat_prescription_entered_twice_is_one_dose_and_no_increase():
    # 20 mg weekly from 1 Jun 2025, and again from 1 Feb 2026, both open, in a file with
    # end dates: one dose of 20 mg/week, said on row 3 naming row 2; no "dose increase"
    doses = (
        "P1,methotrexate,20,mg,weekly,oral,2025-06-01,\n"
        "P1,methotrexate,20,mg,weekly,oral,2026-02-01,\n"
        "P2,methotrexate,15,mg,weekly,oral,2025-06-01,2025-07-01\n"
    )
    r, rv = csv_review("P1,2026-01-05,wbc,6,10^9/L\n", doses, as_of=dt.date(2026, 2, 20))
    assert_balanced(r)
    live = model.doses_in_force(_doses_of(r), dt.date(2026, 2, 20))
    assert list(live["mg_per_week"]) == [20.0]
    assert any(row == 3 and "row 2" in m and "one dose" in m for row, m in _warnings(r)), _warnings(r)
    sched = rv.schedule_df()
    row = sched[sched["patient_id"] == "P1"].iloc[0]
    assert row["course_start"] == pd.Timestamp("2025-06-01") and pd.isna(row["last_increase"])
    assert "increase" not in row["message"]


def test_a_repeat_entered_twice_beside_dated_rows_of_the_drug_is_one_dose():
    # the drug's rows give dates (15 mg to 1 Jun 2025): intervals; the two open 20 mg rows
    # are still one dose, said on row 4 naming row 3
    doses = (
        "P1,methotrexate,15,mg,weekly,oral,2025-01-01,2025-06-01\n"
        "P1,methotrexate,20,mg,weekly,oral,2025-06-01,\n"
        "P1,methotrexate,20,mg,weekly,oral,2026-02-01,\n"
    )
    r = csv_import("P1,2026-01-05,wbc,6,10^9/L\n", doses, as_of=dt.date(2026, 2, 20))
    assert_balanced(r)
    assert list(model.doses_in_force(_doses_of(r), dt.date(2026, 2, 20))["mg_per_week"]) == [20.0]
    assert any(row == 4 and "row 3" in m and "overlap" in m for row, m in _warnings(r)), _warnings(r)


# --------------------------------------------------------------------------- F5, F6


def test_a_held_row_in_a_blank_end_column_ends_the_dose_before_it():
    doses = "P1,azathioprine,100,mg,daily,oral,2025-01-01,\nP1,azathioprine,100,mg,daily (held),oral,2026-01-01,\n"
    r = csv_import("P1,2026-03-01,wbc,6,10^9/L\n", doses, as_of=dt.date(2026, 3, 10))
    assert_balanced(r)
    d = _doses_of(r)
    assert [str(e)[:10] for e in d["end"]] == ["2026-01-01"]
    assert model.doses_in_force(d, dt.date(2026, 3, 10)).empty


def test_a_stop_that_ends_no_dose_of_the_file_is_still_rejected_with_the_reason():
    r = csv_import(
        "P1,2026-03-01,wbc,6,10^9/L\n", "P1,azathioprine,,,stopped,,2026-01-01,\n", as_of=dt.date(2026, 3, 10)
    )
    assert_balanced(r)
    f = next(f for f in r.report.files if f.path == "doses.csv")
    assert f.rows_rejected == 1 and "held or stopped ('stopped')" in f.problems[0].message


def test_the_change_log_reading_of_a_patients_undated_rows_is_said_on_the_row():
    doses = (
        "P1,azathioprine,100,mg,daily,oral,2025-01-01,\n"
        "P1,azathioprine,150,mg,daily,oral,2026-02-01,\n"
        "P2,azathioprine,50,mg,daily,oral,2025-01-01,2025-02-01\n"
    )
    r = csv_import("P1,2026-03-01,wbc,6,10^9/L\n", doses, as_of=dt.date(2026, 3, 10))
    assert list(model.doses_in_force(_doses_of(r), dt.date(2026, 3, 10))["dose"]) == [150.0]
    notes = [m for row, m in _warnings(r) if row == 3]
    assert any("read as a change log" in m and "ending row 2" in m for m in notes), notes


# --------------------------------------------------------------------------- F7: two products of one drug


def test_azathioprine_and_mercaptopurine_in_force_together_are_said_at_action_level():
    doses = (
        "P1,Imuran,100,mg,daily,oral,2025-01-01,\n"
        "P1,mercaptopurine,50,mg,daily,oral,2026-02-01,\n"
        "P2,azathioprine,50,mg,daily,oral,2025-01-01,2025-02-01\n"
    )
    _r, rv = csv_review("P1,2026-03-01,wbc,6,10^9/L\n", doses, as_of=dt.date(2026, 3, 10))
    c = rv.dose_checks_df()
    [row] = c[(c["patient_id"] == "P1") & (c["rule"] == "dose.thiopurine_duplicate")].to_dict("records")
    assert (row["severity"], row["status"], row["start"]) == ("action", "open", pd.Timestamp("2026-02-01"))
    assert "Azathioprine with Mercaptopurine" in row["message"] and row["source"]


def test_a_cellcept_to_myfortic_switch_on_one_day_is_not_said_as_both():
    doses = (
        "P1,CellCept,1000,mg,twice daily,oral,2025-01-01,2026-02-01\nP1,Myfortic,720,mg,twice daily,oral,2026-02-01,\n"
    )
    _r, rv = csv_review("P1,2026-03-01,wbc,6,10^9/L\n", doses, as_of=dt.date(2026, 3, 10))
    c = rv.dose_checks_df()
    assert not (c["rule"] == "dose.mmf_mpa_together").any()
