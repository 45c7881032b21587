"""The dose lanes of the timeline (probe 14 F6-F9): rows in force together drawn at their
total, a product strength never drawn as a daily dose, and pulses on the dates the review
lays them on, up to the as-of date.

Expected values are worked by hand from the dose rows as written: the sum of the rows in
force on each day (the import reads overlapping rows of one drug as taken together), the
calendar (a monthly pulse on the same day of each month, the month's last day when it is
shorter) and day counts (26 weeks = 182 days).
"""

from __future__ import annotations

import datetime as dt

import pandas as pd

from dashboard.dataset import Dataset
from dashboard.ingest import ImportOptions, Source, import_sources
from dashboard.rules import review_dataset
from tests.support import timeline_dict

LABS = (
    "patient,date,test,value,unit,range\nP1,2024-01-02,WBC,6.0,10^9/L,4.0-11.0\nP1,2024-05-02,WBC,6.0,10^9/L,4.0-11.0\n"
)
HEADER = "patient,drug,dose,unit,frequency,route,start,end\n"


def _review(doses: str, as_of: dt.date):
    result = import_sources(
        [
            Source("labs.csv", LABS.encode()),
            Source("doses.csv", doses.encode()),
            Source("patients.csv", b"patient,sex,weight_kg\nP1,F,60\n"),
        ],
        ImportOptions(today=dt.date(2026, 1, 1)),
    )
    ds = Dataset.from_import(result, "t")
    return ds, review_dataset(ds, None, as_of)


def _figure(doses: str, as_of: dt.date) -> dict:
    ds, rv = _review(doses, as_of)
    return timeline_dict(ds, rv, as_of)


def _lane(d: dict) -> list[dict]:
    return [t for t in d["data"] if t.get("xaxis", "x") == "x" and t.get("yaxis", "y") == "y"]


def _named(d: dict, name: str) -> dict:
    [trace] = [t for t in _lane(d) if t.get("name") == name]
    return trace


def _labels(d: dict) -> dict[str, str]:
    """label text -> the day it is written at."""
    return {
        str(text): str(pd.Timestamp(x).date())
        for t in _lane(d)
        if t.get("mode") == "text"
        for x, text in zip(t["x"], t["text"], strict=True)
    }


def _path(trace: dict) -> list[tuple[str, float] | None]:
    """The points of a step line as (day, height), None at a break."""
    return [
        None if x is None else (str(pd.Timestamp(x).date()), round(float(y), 6))
        for x, y in zip(trace["x"], trace["y"], strict=True)
    ]


def _days(trace: dict) -> list[str]:
    return [str(pd.Timestamp(x).date()) for x in trace["x"]]


AS_OF = dt.date(2024, 6, 1)


# --------------------------------------------------------------------------- F6 totals


def test_the_total_steps_up_when_a_second_row_starts_and_down_when_the_first_ends():
    # 100 mg daily 1 Jan - 1 Apr, 50 mg daily 1 Mar - 31 Dec: 100 mg/day in January and
    # February, 150 mg/day in March, 50 mg/day from 1 April.  One step line at three
    # heights, never a line at 50 from 1 March.
    doses = HEADER + (
        "P1,azathioprine,100,mg,daily,oral,2024-01-01,2024-04-01\nP1,azathioprine,50,mg,daily,oral,2024-03-01,2024-12-31\n"
    )
    d = _figure(doses, AS_OF)
    path = _path(_named(d, "Azathioprine"))
    assert [p[0] if p else None for p in path] == [
        "2024-01-01",
        "2024-03-01",
        "2024-03-01",
        "2024-04-01",
        "2024-04-01",
        "2024-12-31",
    ]
    h100, h150, h50 = path[0][1], path[2][1], path[4][1]
    assert h150 > h100 > h50  # up on 1 March, down on 1 April
    assert path[1][1] == h100 and path[3][1] == h150 and path[5][1] == h50
    labels = _labels(d)
    assert labels == {"100 mg/d": "2024-01-01", "150 mg/d": "2024-03-01", "50 mg/d": "2024-04-01"}


def test_the_hover_of_a_total_says_it_in_the_reviews_words_and_names_the_rows():
    doses = HEADER + (
        "P1,azathioprine,100,mg,daily,oral,2024-01-01,2024-12-31\nP1,azathioprine,50,mg,daily,oral,2024-03-01,2024-12-31\n"
    )
    hover = _named(_figure(doses, AS_OF), "Azathioprine")["customdata"][-1]
    # 150 mg/day for 60 kg: 2.50 mg/kg/day, as the review writes it
    assert "Azathioprine 150 mg/day in all (2.50 mg/kg/day)" in hover
    assert "2 rows in force together (100 + 50 mg/day)" in hover
    assert "from 01 Mar 2024 to 31 Dec 2024" in hover


def test_a_total_with_a_row_of_unknown_amount_is_labelled_at_least_and_drawn_dashed():
    # 100 mg daily all year and, from 1 March, a row with no amount: from 1 March the
    # patient takes 100 mg/day plus an amount nobody stated.  The label may say only
    # "at least 100 mg/d"; no other figure is written.
    doses = HEADER + (
        "P1,azathioprine,100,mg,daily,oral,2024-01-01,2024-12-31\nP1,azathioprine,,mg,daily,oral,2024-03-01,2024-12-31\n"
    )
    d = _figure(doses, AS_OF)
    assert _labels(d) == {"100 mg/d": "2024-01-01", "at least 100 mg/d": "2024-03-01"}
    solid = _named(d, "Azathioprine")
    assert _days(solid) == ["2024-01-01", "2024-03-01"]
    dashed = _named(d, "Azathioprine (amount not known in full)")
    assert dashed["line"]["dash"] == "dash"
    assert _days(dashed) == ["2024-03-01", "2024-12-31"]
    assert "Azathioprine at least 100 mg/day in all: the amount of a row is not stated" in dashed["customdata"][0]


def test_weekly_rows_in_force_together_add_up_per_week():
    # methotrexate 10 mg weekly oral, plus 5 mg weekly s/c 1 Feb - 1 Apr: 15 mg/week then
    doses = HEADER + (
        "P1,methotrexate,10,mg,weekly,oral,2024-01-01,\nP1,methotrexate,5,mg,weekly,sc,2024-02-01,2024-04-01\n"
    )
    d = _figure(doses, AS_OF)
    written = [
        (str(text), str(pd.Timestamp(x).date()))
        for t in _lane(d)
        if t.get("mode") == "text"
        for x, text in zip(t["x"], t["text"], strict=True)
    ]
    assert written == [("10 mg/wk", "2024-01-01"), ("15 mg/wk", "2024-02-01"), ("10 mg/wk", "2024-04-01")]


def test_rows_on_different_schedules_are_never_added():
    # a daily row and a weekly row of one drug are on different schedules: the rules never
    # add them (dose_totals.schedule_kind), and neither does the lane: 2.5 mg/d and
    # 15 mg/wk, no 17.5 of any unit
    doses = HEADER + (
        "P1,methotrexate,15,mg,weekly,oral,2024-01-01,\nP1,methotrexate,2.5,mg,daily,oral,2024-03-01,2024-04-01\n"
    )
    labels = set(_labels(_figure(doses, AS_OF)))
    assert {"15 mg/wk", "2.5 mg/d"} <= labels
    assert not any(label.startswith("17.5") for label in labels)


# --------------------------------------------------------------------------- F7 strength


def test_a_strength_only_row_says_the_amount_is_not_stated_and_lies_on_the_lane_floor():
    doses = "patient,medication,sig,start,end\nP1,azathioprine 50 mg tablet,take tablets daily,2024-01-01,\n"
    d = _figure(doses, AS_OF)
    assert list(_labels(d)) == ["amount not stated (50 mg tablets, daily)"]
    assert not [t for t in _lane(d) if t.get("name") == "Azathioprine"]  # no solid line at a dose height
    dashed = _named(d, "Azathioprine (amount not known in full)")
    assert set(dashed["y"]) == {0.15}  # the floor of the lane, where "?" lies: no height of an amount
    assert "product strength only" in dashed["customdata"][0]


# --------------------------------------------------------------------------- F8/F9 pulses


def test_a_monthly_course_from_the_31st_pulses_on_each_months_last_day_when_shorter():
    # 31 Jan, then 29 Feb (2024 is a leap year), 31 Mar, 30 Apr, 31 May; the course ends
    # 20 June, before 30 June
    doses = HEADER + "P1,cyclophosphamide,750,mg,monthly,IV,2024-01-31,2024-06-20\n"
    d = _figure(doses, dt.date(2024, 7, 1))
    assert _days(_named(d, "Cyclophosphamide (pulses)")) == [
        "2024-01-31",
        "2024-02-29",
        "2024-03-31",
        "2024-04-30",
        "2024-05-31",
    ]


def test_the_charts_pulse_is_the_one_the_reviews_nadir_window_counts_from():
    # monthly from 15 Jan: the May pulse is on 15 May, and the review asks for a count in
    # days 8-14 after it: 23 to 29 May.  The chart draws 15 May (it drew 14 May).
    doses = HEADER + "P1,cyclophosphamide,750,mg,monthly,IV,2024-01-15,2024-06-20\n"
    as_of = dt.date(2024, 5, 20)
    _, rv = _review(doses, as_of)
    sched = rv.schedule_df()
    row = sched[sched["drug"] == "cyclophosphamide"].iloc[0]
    assert "2024-05-23" in row["message"] and "2024-05-29" in row["message"]
    d = _figure(doses, as_of)
    assert _days(_named(d, "Cyclophosphamide (pulses)"))[-1] == "2024-05-15"


def test_an_ongoing_pulse_row_draws_every_pulse_to_the_as_of_date_and_the_next_as_planned():
    # rituximab every 26 weeks (182 days) from 10 Jan 2022, as of 1 Jun 2024: given on
    # 2022-01-10, 2022-07-11, 2023-01-09, 2023-07-10, 2024-01-08; the next, 2024-07-08,
    # lies after the as-of date: an open "planned" triangle, never a filled one
    doses = HEADER + "P1,rituximab,1000,mg,every 26 weeks,IV,2022-01-10,\n"
    d = _figure(doses, AS_OF)
    given = _named(d, "Rituximab (pulses)")
    assert _days(given) == ["2022-01-10", "2022-07-11", "2023-01-09", "2023-07-10", "2024-01-08"]
    planned = _named(d, "Rituximab (planned pulses)")
    assert _days(planned) == ["2024-07-08"]
    assert given["marker"]["symbol"] == "triangle-up" and planned["marker"]["symbol"] == "triangle-up-open"
    assert all("planned: after the as-of date" in h for h in planned["customdata"])


def test_no_pulse_after_the_as_of_date_is_drawn_as_given():
    # cyclophosphamide monthly from 15 Sep 2023, ongoing, as of 1 Jun 2024: given up to
    # 15 May 2024 (nine pulses); 15 June is planned.  A pulse on the as-of date is given.
    doses = HEADER + "P1,cyclophosphamide,750,mg,monthly,IV,2023-09-15,\n"
    d = _figure(doses, AS_OF)
    given = _days(_named(d, "Cyclophosphamide (pulses)"))
    assert given[0] == "2023-09-15" and given[-1] == "2024-05-15" and len(given) == 9
    assert _days(_named(d, "Cyclophosphamide (planned pulses)"))[0] == "2024-06-15"
    on_the_day = _days(_named(_figure(doses, dt.date(2024, 5, 15)), "Cyclophosphamide (pulses)"))
    assert on_the_day[-1] == "2024-05-15"


def test_a_lane_with_daily_and_pulsed_rows_draws_the_pulses_as_markers_not_as_a_daily_amount():
    # oral cyclophosphamide 100 mg daily Jan-Feb, then 750 mg IV monthly from 15 March:
    # the step line shows 100 mg/d only; the IV course is three pulses (15 Mar, 15 Apr,
    # 15 May), never a daily amount (750 mg a month is no "24.6 mg/d")
    doses = HEADER + (
        "P1,cyclophosphamide,100,mg,daily,oral,2024-01-01,2024-03-01\n"
        "P1,cyclophosphamide,750,mg,monthly,IV,2024-03-15,2024-05-20\n"
    )
    d = _figure(doses, AS_OF)
    assert list(_labels(d)) == ["100 mg/d"]
    assert _days(_named(d, "Cyclophosphamide")) == ["2024-01-01", "2024-03-01"]
    assert _days(_named(d, "Cyclophosphamide (pulses)")) == ["2024-03-15", "2024-04-15", "2024-05-15"]
