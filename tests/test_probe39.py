"""Probe 39: the doses in force when the dose record is messy the way prescribing records are.

Each test is a finding, written as the behaviour the safety rules and the sources ask for,
and marked as a strict expected failure until it is fixed (``/work/coord/probe39.md``).
The expectations are worked out by hand from the cases, never copied from the code.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from dashboard import dosing, model
from dashboard.ingest import ImportOptions, Source, import_sources
from dashboard.views import current_doses_table
from tests.support import LABS_HEAD, assert_balanced, csv_import, csv_review

#: one full monitoring check (FBC, creatinine/eGFR, ALT, albumin), all normal
_NORMAL = (
    ("wbc", 6, "10^9/L"),
    ("neutrophils", 4, "10^9/L"),
    ("lymphocytes", 1.5, "10^9/L"),
    ("platelets", 250, "10^9/L"),
    ("hb", 130, "g/L"),
    ("alt", 20, "U/L"),
    ("creatinine", 70, "umol/L"),
    ("egfr", 90, "mL/min/1.73m2"),
    ("albumin", 40, "g/L"),
)


def _checks(pid: str, *days: str) -> str:
    return "".join(f"{pid},{day},{a},{v},{u}\n" for day in days for a, v, u in _NORMAL)


def _doses_of(result, pid: str = "P1") -> pd.DataFrame:
    d = result.doses.to_pandas()
    return d[d["patient_id"] == pid].reset_index(drop=True)


def _warnings(result, path: str) -> list[str]:
    return [w.message for f in result.report.files if f.path == path for w in f.warnings]


# --------------------------------------------------------------------------- F1


def test_f1_single_pulses_in_a_change_log_are_three_pulses():
    # Euro-Lupus: 500 mg IV every 2 weeks, recorded as an infusion list (one row per pulse,
    # no end dates: read as a change log). Three pulses were given: 1.5 g in all, and the
    # nadir count after the last one (days 8-14: 6-12 Feb) is due.
    doses = (
        "P1,cyclophosphamide,500,mg,once,iv,2026-01-01,\n"
        "P1,cyclophosphamide,500,mg,once,iv,2026-01-15,\n"
        "P1,cyclophosphamide,500,mg,once,iv,2026-01-29,\n"
    )
    as_of = dt.date(2026, 2, 20)
    r, rv = csv_review(_checks("P1", "2025-12-28", "2026-01-09", "2026-01-23"), doses, "P1,F,1980-01-01\n", as_of=as_of)
    assert_balanced(r)
    d = _doses_of(r)
    cum = dosing.cumulative_cyclophosphamide(r.doses.to_pandas(), r.patients.to_pandas(), "P1", as_of)
    assert cum is not None and cum.pulses == 3 and cum.total_g == pytest.approx(1.5)
    assert sorted(d["start"].dt.date) == [dt.date(2026, 1, 1), dt.date(2026, 1, 15), dt.date(2026, 1, 29)]
    # the nadir count after the 29 Jan pulse (6-12 Feb) was not taken (the last count is of 23 Jan)
    sched = rv.schedule_df()
    assert bool(sched[(sched["patient_id"] == "P1") & (sched["drug"] == "cyclophosphamide")]["overdue"].any())


# --------------------------------------------------------------------------- F2


def test_f2_a_single_pulse_is_not_in_force_months_later():
    # A single administration is given on its day (the dose checks close such a row the
    # next day). A count 8 months after the last pulse was not taken on cyclophosphamide.
    doses = (
        "P1,cyclophosphamide,500,mg,once,iv,2026-01-01,\n"
        "P1,cyclophosphamide,500,mg,once,iv,2026-01-15,\n"
        "P1,cyclophosphamide,500,mg,once,iv,2026-01-29,\n"
        "P2,azathioprine,50,mg,daily,oral,2025-01-01,2025-02-01\n"  # a file with end dates
    )
    labs = _checks("P1", "2025-12-28") + "P1,2026-10-01,neutrophils,0.9,10^9/L\nP1,2026-10-01,wbc,2.5,10^9/L\n"
    as_of = dt.date(2026, 10, 5)
    r, rv = csv_review(labs, doses, as_of=as_of)
    summary = rv.summary_df().set_index("patient_id")
    assert "Cyclophosphamide" not in summary.loc["P1", "current_doses"]
    flags = rv.flags_df()
    assert not flags[flags["patient_id"] == "P1"]["dose_context"].str.contains("overlapping records").any()
    shown = current_doses_table(_doses_of(r), float("nan"), as_of)  # the Patient page's "Doses now"
    assert shown.empty


# --------------------------------------------------------------------------- F3


def test_f3_a_change_log_in_two_files_is_one_change_log():
    head = "patient_id,drug,dose,dose_unit,frequency,route,start\n"
    labs = LABS_HEAD + _checks("P1", "2026-02-01", "2026-03-01")
    as_of = dt.date(2026, 3, 10)
    r = import_sources(
        [
            Source("labs.csv", labs.encode()),
            Source("jan.csv", (head + "P1,azathioprine,100,mg,daily,oral,2025-01-01\n").encode()),
            Source("feb.csv", (head + "P1,azathioprine,150,mg,daily,oral,2026-02-01\n").encode()),
        ],
        ImportOptions(today=as_of),
    )
    assert_balanced(r)
    live = model.doses_in_force(_doses_of(r), as_of)
    # the change to 150 mg on 1 Feb ends the 100 mg (data-model.md: "each dose lasts until
    # the next row of the same patient and drug"), or else the overlap is asked about
    asked = any("overlap" in w or "together" in w for w in _warnings(r, "feb.csv") + _warnings(r, "jan.csv"))
    assert list(live["dose"]) == [150.0] or asked


# --------------------------------------------------------------------------- F4


def test_f4_a_duplicated_repeat_prescription_is_asked_about():
    doses = (
        "P1,methotrexate,20,mg,weekly,oral,2025-06-01,\n"
        "P1,methotrexate,20,mg,weekly,oral,2026-02-01,\n"  # the repeat, re-entered as a new row
        "P2,methotrexate,15,mg,weekly,oral,2025-06-01,2025-07-01\n"
    )
    r = csv_import(_checks("P1", "2026-01-05"), doses, as_of=dt.date(2026, 2, 20))
    f = next(f for f in r.report.files if f.path == "doses.csv")
    # the same words the import gives two different doses that overlap, on the later row
    assert any(w.row == 3 and "overlap" in w.message for w in f.warnings), [w.message for w in f.warnings]


# --------------------------------------------------------------------------- F5


def test_f5_a_stop_in_a_blank_end_column_change_log_ends_the_drug():
    doses = "P1,azathioprine,100,mg,daily,oral,2025-01-01,\nP1,azathioprine,,,stopped,,2026-01-01,\n"
    as_of = dt.date(2026, 3, 10)
    r = csv_import(_checks("P1", "2026-03-01"), doses, as_of=as_of)
    assert_balanced(r)
    assert model.doses_in_force(_doses_of(r), as_of).empty


# --------------------------------------------------------------------------- F6


def test_f6_a_patients_doses_do_not_depend_on_another_patients_rows():
    p1 = "P1,azathioprine,100,mg,daily,oral,2025-01-01,\nP1,azathioprine,150,mg,daily,oral,2026-02-01,\n"
    other = "P2,azathioprine,50,mg,daily,oral,2025-01-01,2025-02-01\n"
    as_of = dt.date(2026, 3, 10)
    alone = csv_import(_checks("P1", "2026-03-01"), p1, as_of=as_of)
    beside = csv_import(_checks("P1", "2026-03-01"), p1 + other, as_of=as_of)
    live_alone = model.doses_in_force(_doses_of(alone), as_of)
    live_beside = model.doses_in_force(_doses_of(beside), as_of)
    assert sorted(live_alone["dose"]) == sorted(live_beside["dose"])


# --------------------------------------------------------------------------- F7


def test_f7_two_products_of_one_drug_in_force_together_are_said():
    doses = (
        "P1,CellCept,1000,mg,twice daily,oral,2025-01-01,\n"
        "P1,Myfortic,720,mg,twice daily,oral,2026-02-01,\n"
        "P2,azathioprine,50,mg,daily,oral,2025-01-01,2025-02-01\n"
    )
    r, rv = csv_review(_checks("P1", "2026-02-01", "2026-03-01"), doses, as_of=dt.date(2026, 3, 10))
    said = _warnings(r, "doses.csv")
    checks = rv.dose_checks_df()
    said += checks[(checks["patient_id"] == "P1") & (checks["status"] == "open")]["message"].tolist()
    assert any("mofetil" in s.lower() and "mycophenolic acid" in s.lower() for s in said), said


# --------------------------------------------------------------------------- F8


def test_f8_a_recorded_switch_brings_the_next_test_forward():
    doses = (
        "P1,azathioprine,100,mg,daily,oral,2025-01-01,2026-04-01\n"
        "P1,mycophenolate mofetil,1000,mg,twice daily,oral,2026-04-01,\n"
    )
    _r, rv = csv_review(_checks("P1", "2026-02-01", "2026-03-01"), doses, as_of=dt.date(2026, 3, 10))
    due = rv.summary_df().set_index("patient_id").loc["P1", "next_test_due"]
    # BSR: every 2 weeks from the start of a new csDMARD: the first test by 15 Apr
    assert pd.Timestamp(due) <= pd.Timestamp("2026-04-15")


# --------------------------------------------------------------------------- what works


def test_switch_with_overlap_follows_the_new_drug_and_records_the_old():
    doses = (
        "P1,azathioprine,100,mg,daily,oral,2025-01-01,2026-02-08\n"
        "P1,mycophenolate mofetil,1000,mg,twice daily,oral,2026-02-01,\n"
    )
    _r, rv = csv_review(_checks("P1", "2025-12-20", "2026-02-01"), doses, as_of=dt.date(2026, 2, 10))
    s = rv.summary_df().set_index("patient_id").loc["P1"]
    assert "Mycophenolate mofetil" in s["current_doses"] and "Azathioprine" in s["recent_doses"]
    sched = rv.schedule_df()
    row = sched[(sched["patient_id"] == "P1") & (sched["drug"] == "mycophenolate mofetil")].iloc[0]
    assert row["next_due"] == pd.Timestamp("2026-02-15")  # fortnightly from the new start


def test_titration_in_the_first_months_counts_from_the_stable_dose():
    # 10 -> 15 -> 20 -> 25 mg/week every 4 weeks: stable for 6 weeks on 7 May, then monthly
    doses = (
        "P1,methotrexate,10,mg,weekly,oral,2025-01-01,2025-01-29\n"
        "P1,methotrexate,15,mg,weekly,oral,2025-01-29,2025-02-26\n"
        "P1,methotrexate,20,mg,weekly,oral,2025-02-26,2025-03-26\n"
        "P1,methotrexate,25,mg,weekly,oral,2025-03-26,\n"
    )
    days = ("2024-12-20", "2025-01-15", "2025-01-29", "2025-02-12", "2025-02-26", "2025-03-12", "2025-03-26")
    days += ("2025-04-09", "2025-04-23", "2025-05-07")
    _r, rv = csv_review(_checks("P1", *days), doses, as_of=dt.date(2025, 5, 8))
    row = rv.schedule_df().iloc[0]
    assert row["interval_days"] == 30 and row["next_due"] == pd.Timestamp("2025-06-06")


def test_end_before_start_is_rejected_with_the_reason():
    r = csv_import(
        _checks("P1", "2026-03-01"),
        "P1,azathioprine,100,mg,daily,oral,2025-06-01,2025-01-01\n",
        as_of=dt.date(2026, 3, 10),
    )
    f = next(f for f in r.report.files if f.path == "doses.csv")
    assert f.rows_rejected == 1 and "before it starts" in f.problems[0].message
