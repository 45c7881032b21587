"""Probe 14: who is due or overdue for blood tests, and the counts-against-dose-changes chart.

Every expectation is derived by hand from the schedule the project cites (BSR 2017 via NICE
CKS / SPS, kept by the BSR 2025 profile: FBC, U&E and LFT every 2 weeks until the dose has
been stable for 6 weeks, monthly for 3 months, then every 12 weeks; after a dose increase
every 2 weeks until stable for 6 weeks, then back to the previous schedule) and from the
dose rows as written, never from the output under test.  Each finding is a strict xfail
that fails on its own assertion today (checked with ``--runxfail``).
"""

from __future__ import annotations

import datetime as dt

import pandas as pd

from dashboard.dataset import Dataset
from dashboard.ingest import ImportOptions, Source, import_sources
from dashboard.rules import review_dataset
from tests.rules.builders import dose, full_check, lab, run
from tests.support import timeline_dict


def _row(labs, doses, as_of: str) -> pd.Series:
    df = run(labs, doses, as_of=as_of).schedule_df()
    blood = df[~df["schedule"].str.startswith("bp_")]
    assert len(blood) == 1, blood
    return blood.iloc[0]


def _without_albumin(pid: str, when: str) -> list[dict]:
    return [r for r in full_check(pid, when) if r["analyte"] != "albumin"]


# --------------------------------------------------------------------------- schedule


def test_a_full_blood_count_a_year_old_is_named_when_albumin_was_never_recorded():
    # Methotrexate since 2022-01-01 (maintenance: every 12 weeks).  FBC, creatinine and ALT
    # on 2023-06-01, albumin never.  As of 2024-06-01 the FBC was due 2023-06-01 + 84 days =
    # 2023-08-24 and is long overdue: the row must ask for it.  Today it names albumin alone,
    # exactly as it does for a patient whose FBC was taken the day before.
    doses = [dose("P1", "methotrexate", "2022-01-01", amount=15, frequency="weekly")]
    row = _row(_without_albumin("P1", "2023-06-01"), doses, "2024-06-01")
    assert "full blood count" in row["tests_due"]


def test_every_overdue_test_group_is_named_not_only_the_oldest():
    # Methotrexate since 2022 (every 84 days).  ALT last on 2023-09-01 (due 2023-11-24),
    # creatinine and albumin last on 2023-12-01 (due 2024-02-23), FBC on 2024-03-01 (due
    # 2024-05-24).  As of 2024-03-05 both ALT/AST and creatinine/eGFR + albumin are overdue;
    # the row names ALT/AST only, and once the ALT is done the renal tests show up overdue.
    doses = [dose("P1", "methotrexate", "2022-01-01", amount=15, frequency="weekly")]
    labs = [
        lab("P1", "2023-09-01", "alt", 20.0),
        lab("P1", "2023-12-01", "creatinine", 70.0),
        lab("P1", "2023-12-01", "albumin", 40.0),
        lab("P1", "2024-03-01", "wbc", 6.0),
        lab("P1", "2024-03-01", "neutrophils", 4.0),
        lab("P1", "2024-03-01", "platelets", 250.0),
    ]
    row = _row(labs, doses, "2024-03-05")
    assert "ALT/AST" in row["tests_due"]
    assert "creatinine/eGFR" in row["tests_due"]


def test_a_second_row_taken_together_that_raises_the_total_is_a_dose_increase():
    # Azathioprine 100 mg daily since 2022 and, from 2024-03-01, 50 mg daily more (both in
    # force: the dose checks add them, "150 mg/day in all").  Last check 2024-02-01.  The
    # total rose on 2024-03-01: a test is due 2 weeks later, 2024-03-15, overdue by 5 days
    # on 2024-03-20 (today: due 2024-04-25, not overdue).
    doses = [
        dose("P1", "azathioprine", "2022-01-01", amount=100),
        dose("P1", "azathioprine", "2024-03-01", amount=50),
    ]
    row = _row(full_check("P1", "2024-02-01"), doses, "2024-03-20")
    assert row["next_due"] == pd.Timestamp("2024-03-15")
    assert bool(row["overdue"]) and row["days_overdue"] == 5


def test_a_decrease_of_the_total_is_no_increase_whatever_the_row_order():
    # Azathioprine 25 mg (morning, ongoing) + 75 mg (evening, to 2024-03-01) = 100 mg/day;
    # from 2024-03-01 the evening dose is 50 mg: 75 mg/day, a decrease.  Last check
    # 2024-02-01 in maintenance: next due 2024-04-25 (+84 days), no dose increase.  With the
    # evening row listed first the review says "dose increase of 2024-03-01", due 03-15.
    morning = dose("P1", "azathioprine", "2022-01-01", amount=25)
    evening = dose("P1", "azathioprine", "2022-01-01", "2024-03-01", amount=75)
    new_evening = dose("P1", "azathioprine", "2024-03-01", amount=50)
    for order in ([morning, evening, new_evening], [evening, morning, new_evening]):
        row = _row(full_check("P1", "2024-02-01"), order, "2024-03-20")
        assert pd.isna(row["last_increase"]), order
        assert row["next_due"] == pd.Timestamp("2024-04-25"), order


def test_a_short_extra_row_does_not_split_a_continuous_course():
    # Azathioprine 100 mg daily 2022-01-01 to 2024-06-01, then 100 mg daily on: taken every
    # day since 2022.  An extra 25 mg from 2024-02-01 to 2024-03-01 (a top-up: an increase of
    # the total on 02-01).  Checks 2023-10-01, 2024-02-15, 2024-05-01.  On 2024-05-01 the
    # dose has been stable since 03-01 for over 6 weeks: next due 2024-05-01 + 84 =
    # 2024-07-24, not overdue on 2024-06-20.  Today: "none recorded since the course began
    # on 2024-06-01", overdue since 06-15.
    doses = [
        dose("P1", "azathioprine", "2022-01-01", "2024-06-01", amount=100),
        dose("P1", "azathioprine", "2024-02-01", "2024-03-01", amount=25),
        dose("P1", "azathioprine", "2024-06-01", amount=100),
    ]
    labs = full_check("P1", "2023-10-01") + full_check("P1", "2024-02-15") + full_check("P1", "2024-05-01")
    row = _row(labs, doses, "2024-06-20")
    assert row["course_start"] == pd.Timestamp("2022-01-01")
    assert not bool(row["overdue"])


# --------------------------------------------------------------------------- the chart


def _figure(labs: str, doses: str, as_of: dt.date) -> dict:
    result = import_sources(
        [
            Source("labs.csv", labs.encode()),
            Source("doses.csv", doses.encode()),
            Source("patients.csv", b"patient,sex,weight_kg\nP1,F,60\n"),
        ],
        ImportOptions(today=dt.date(2026, 1, 1)),
    )
    ds = Dataset.from_import(result, "t")
    return timeline_dict(ds, review_dataset(ds, None, as_of), as_of)


def _lane_traces(d: dict) -> list[dict]:
    """The traces of the dose lanes (the first panel, axes x/y)."""
    return [t for t in d["data"] if t.get("xaxis", "x") == "x" and t.get("yaxis", "y") == "y"]


def _lane_labels(d: dict) -> list[str]:
    return [str(s) for t in _lane_traces(d) if t.get("mode") == "text" for s in t.get("text") or []]


def _pulse_days(d: dict, drug_label: str) -> list[str]:
    traces = [t for t in _lane_traces(d) if t.get("name") == f"{drug_label} (pulses)"]
    assert len(traces) == 1, [t.get("name") for t in _lane_traces(d)]
    return [str(pd.Timestamp(x).date()) for x in traces[0]["x"]]


LABS = (
    "patient,date,test,value,unit,range\nP1,2024-01-02,WBC,6.0,10^9/L,4.0-11.0\nP1,2024-05-02,WBC,6.0,10^9/L,4.0-11.0\n"
)
DOSE_HEADER = "patient,drug,dose,unit,frequency,route,start,end\n"


def test_the_lane_shows_the_total_of_two_rows_taken_together():
    # Azathioprine 100 mg daily and, from 2024-03-01, 50 mg daily more, both to 2024-12-31
    # (imported as taken together: "both are read as taken together").  From 1 March the
    # patient takes 150 mg/day (the review says "Azathioprine 150 mg/day in all"); the lane
    # must say 150 mg/d, not step down to a line labelled 50 mg/d.
    doses = DOSE_HEADER + (
        "P1,azathioprine,100,mg,daily,oral,2024-01-01,2024-12-31\nP1,azathioprine,50,mg,daily,oral,2024-03-01,2024-12-31\n"
    )
    labels = _lane_labels(_figure(LABS, doses, dt.date(2024, 6, 1)))
    assert any(label.startswith("150 mg") for label in labels), labels


def test_a_strength_only_row_is_not_labelled_as_a_daily_amount():
    # "azathioprine 50 mg tablet" with "take tablets daily": the strength of a tablet, the
    # amount per dose not stated (dose_basis strength_only, mg/day unknown).  The lane's label
    # must not read "50 mg (daily)", a daily dose the source never gave.
    doses = "patient,medication,sig,start,end\nP1,azathioprine 50 mg tablet,take tablets daily,2024-01-01,\n"
    labels = _lane_labels(_figure(LABS, doses, dt.date(2024, 6, 1)))
    assert labels, "the lane has a label"
    assert not any(label.startswith("50 mg") for label in labels), labels


def test_monthly_pulses_are_drawn_on_the_same_day_of_each_month():
    # IV cyclophosphamide 750 mg monthly from 2024-01-15 to 2024-06-20: pulses on the 15th
    # (the day the rules lay them on too: nadir windows counted from the 15th).
    doses = DOSE_HEADER + "P1,cyclophosphamide,750,mg,monthly,IV,2024-01-15,2024-06-20\n"
    days = _pulse_days(_figure(LABS, doses, dt.date(2024, 7, 1)), "Cyclophosphamide")
    assert days == ["2024-01-15", "2024-02-15", "2024-03-15", "2024-04-15", "2024-05-15", "2024-06-15"]


def test_an_ongoing_pulse_row_is_drawn_up_to_the_as_of_date():
    # Rituximab 1000 mg every 26 weeks (182 days) from 2022-01-10, ongoing.  As of 2024-06-01
    # the row states infusions on 2022-01-10, 2022-07-11, 2023-01-09, 2023-07-10 and
    # 2024-01-08; the chart stops after 2023-01-09.
    doses = DOSE_HEADER + "P1,rituximab,1000,mg,every 26 weeks,IV,2022-01-10,\n"
    days = _pulse_days(_figure(LABS, doses, dt.date(2024, 6, 1)), "Rituximab")
    assert {"2023-07-10", "2024-01-08"} <= set(days), days
