"""Probe 43: does the Patient page's timeline (blood counts against dose changes) tell the truth?

The rules under test: "the app never hides the raw value behind a derived one" and "nothing
is hidden silently".  Each figure is built with the pure figure function the page draws
(``timeline_figure``, through ``tests.support.timeline_dict``) on hand-made CSV cases, and
asserted on ``fig.to_dict()``.  Each finding is a strict expected failure until it is
fixed (``/work/coord/probe43.md``); the passing tests at the end pin what already works.
The expected values are worked out by hand from the cases, never copied from the code.
"""

from __future__ import annotations

import datetime as dt
import re

import pytest

from dashboard.dataset import Dataset
from dashboard.dose_entry import DoseEntry, to_row
from dashboard.figures.timeline import TimelineOptions, timeline_figure
from dashboard.ingest import ImportOptions, Source, import_sources
from dashboard.rules import get_profile, review_dataset
from tests.rules.builders import frame
from tests.support import DOSES_HEAD, LABS_HEAD, assert_balanced, timeline_dict

AS_OF = dt.date(2026, 6, 1)
#: the import's "today": later than the as-of date, so that a result after it is accepted
TODAY = dt.date(2026, 11, 25)


def _figure(
    labs: str,
    doses: str = "",
    *,
    patients: str = "patient_id,sex,date_of_birth\nP1,F,1970-01-01\n",
    labs_head: str = LABS_HEAD,
    as_of: dt.date = AS_OF,
    today: dt.date = TODAY,
    **options,
) -> dict:
    """The Patient page's timeline of P1 (``fig.to_dict()``) for a case written as CSV rows."""
    sources = [Source("labs.csv", (labs_head + labs).encode())]
    if doses:
        sources.append(Source("doses.csv", (DOSES_HEAD + doses).encode()))
    sources.append(Source("patients.csv", patients.encode()))
    result = import_sources(sources, ImportOptions(today=today))
    assert_balanced(result)
    ds = Dataset.from_import(result, "t")
    return timeline_dict(ds, review_dataset(ds, None, as_of), as_of, **options)


def _row_of(d: dict, title: str) -> str:
    """The y axis ("y3") of the panel whose title starts with ``title``."""
    titles = [a["text"] for a in d["layout"]["annotations"] if a.get("yref") == "paper" and a.get("x") == 0.5]
    k = next(i for i, t in enumerate(titles, start=1) if t.startswith(title))
    return "y" if k == 1 else f"y{k}"


def _markers(d: dict, yaxis: str) -> list[tuple]:
    """(x, y, hover, symbol) of every result marker of a panel."""
    return [
        (x, y, h, t["marker"]["symbol"])
        for t in d["data"]
        if t.get("mode") == "markers" and t.get("yaxis") == yaxis
        for x, y, h in zip(t["x"], t["y"], t["customdata"], strict=True)
    ]


def _lane(d: dict, name: str) -> list[tuple]:
    """(x, y, hover) of the points of a drug's step lines (solid and dashed), in order."""
    return [
        (x, y, h)
        for t in d["data"]
        if t.get("yaxis") == "y" and t.get("mode") == "lines" and str(t.get("name", "")).startswith(name)
        for x, y, h in zip(t["x"], t["y"], t["customdata"], strict=True)
        if x is not None
    ]


def _height_on(d: dict, name: str, day: str) -> float:
    """The lane height of ``name`` on ``day``: the level of the step of its line that covers it."""
    when = dt.datetime.fromisoformat(day)
    for t in d["data"]:
        if t.get("yaxis") != "y" or t.get("mode") != "lines" or not str(t.get("name", "")).startswith(name):
            continue
        xs, ys = t["x"], t["y"]
        for i in range(len(xs) - 1):
            if None not in (xs[i], xs[i + 1]) and ys[i] == ys[i + 1] and xs[i] <= when < xs[i + 1]:
                return ys[i]
    raise AssertionError(f"no {name} step on {day}")


def _texts(d: dict) -> list[str]:
    return [a["text"] for a in d["layout"]["annotations"]]


# --------------------------------------------------------------------------- F1


def test_f1_weekly_then_daily_methotrexate_is_not_drawn_as_a_reduction():
    # 15 mg once weekly, then 10 mg daily (the known fatal error): 70 mg in a week.  The lane
    # may label each step in its own unit, but its height must not make 70 mg/week look lower
    # than 15 mg/week (nor may the two be drawn on one scale without saying so).
    labs = "".join(f"P1,2026-{m:02d}-03 09:00,Neutrophils,3.0,10^9/L\n" for m in range(1, 6))
    doses = "P1,methotrexate,15,mg,weekly,oral,2025-12-01,2026-02-01\nP1,methotrexate,10,mg,daily,oral,2026-02-01,\n"
    d = _figure(labs, doses)
    weekly, daily = _height_on(d, "Methotrexate", "2026-01-15"), _height_on(d, "Methotrexate", "2026-02-15")
    assert daily > weekly  # F1: today 0.55 < 0.75 (10/15 of the lane)


# --------------------------------------------------------------------------- F2


def test_f2_a_period_that_leaves_out_a_flagged_result_says_so():
    # Neutrophils 0.4 on 3 Dec 2025 (CTCAE grade 4, open: no result since), azathioprine
    # throughout.  As of 1 Jun 2026 the period "3 months" starts 2 Mar 2026.  The page keeps
    # the period across patients (one key), so it is not always the clinician's choice for
    # this patient.  The chart must say that a flagged result lies before the period.
    labs = "P1,2025-12-03 09:00,Neutrophils,0.4,10^9/L\nP1,2026-05-20 09:00,WBC,5.0,10^9/L\n"
    d = _figure(labs, "P1,azathioprine,100,mg,daily,oral,2025-06-01,\n", window="3 months")
    start = d["layout"]["xaxis"]["range"][0]
    hidden = [m for m in _markers(d, _row_of(d, "Neutrophils")) if m[0] < start]
    assert len(hidden) == 1 and "grade <b>4</b>" in hidden[0][2]  # the case: the grade 4 point is off the chart
    said = [t for t in _texts(d) if re.search(r"before|outside|not shown|earlier", t, re.I)]
    assert said  # F2: no annotation mentions it


# --------------------------------------------------------------------------- F3


def test_f3_an_empty_period_says_so():
    # Results only in January 2025; as of 1 Jun 2026 the period "3 months" holds none.
    labs = "P1,2025-01-03 09:00,Neutrophils,3.0,10^9/L\nP1,2025-01-03 09:00,WBC,5.0,10^9/L\n"
    d = _figure(labs, "P1,azathioprine,100,mg,daily,oral,2025-06-01,\n", window="3 months")
    start = d["layout"]["xaxis"]["range"][0]
    assert all(m[0] < start for row in ("y2", "y3") for m in _markers(d, row))  # the case: nothing in the period
    assert any(re.search(r"no (blood )?results?", t, re.I) for t in _texts(d))  # F3


# --------------------------------------------------------------------------- F4


def test_f4_the_period_all_shows_every_dose():
    # Six IV cyclophosphamide pulses Jan-Mar 2025, azathioprine Apr-Oct 2025, the first
    # result in the file on 3 Jan 2026.  "All" must show them (or say what lies before it).
    doses = (
        "P1,cyclophosphamide,500,mg,every 2 weeks,iv,2025-01-01,2025-03-15\n"
        "P1,azathioprine,100,mg,daily,oral,2025-04-01,2025-10-01\n"
    )
    d = _figure("P1,2026-01-03 09:00,Neutrophils,3.0,10^9/L\n", doses)
    start = d["layout"]["xaxis"]["range"][0]
    said = any(re.search(r"before|outside|not shown|earlier", t, re.I) for t in _texts(d))
    assert start <= dt.datetime(2025, 1, 1) or said  # F4: the range starts 4 Dec 2025


# --------------------------------------------------------------------------- F5


def test_f5_bsr_limit_lines_are_not_presented_as_applying_to_a_drug_they_do_not_cover():
    # Cyclophosphamide 750 mg IV monthly only.  The review's BSR flags say "none of the drugs
    # in force is one this guideline's limits are written for ... shown as a guide, at most
    # caution".  The chart's line and its label must not present the limit as in force.
    labs = "P1,2026-03-03 09:00,Neutrophils,1.4,10^9/L\nP1,2026-03-03 09:00,WBC,3.2,10^9/L\n"
    d = _figure(labs, "P1,cyclophosphamide,750,mg,monthly,iv,2026-01-10,2026-06-20\n")
    bsr_lines = [s for s in d["layout"]["shapes"] if str(s.get("name", "")).startswith("bsr.")]
    labels = [t for t in _texts(d) if t.startswith(("<", ">"))]
    assert not bsr_lines or all(
        re.search(r"\bguide\b|not for|does not apply|not written for", t, re.I) for t in labels
    )  # F5


# --------------------------------------------------------------------------- F6


@pytest.mark.parametrize("system", ["SI", "US"])
def test_f6_the_lab_range_is_shown_as_the_lab_wrote_it(system):
    labs = "P1,2026-03-03 09:00,Hb,6.0,mmol/L,7.5-10.0\n"
    d = _figure(labs, labs_head="patient_id,collected_at,analyte,value,unit,range\n", system=system)
    [(_, _, hover, _)] = _markers(d, _row_of(d, "Hb"))
    [line] = [ln for ln in hover.split("<br>") if ln.startswith("lab range")]
    assert not re.search(r"\d\.\d{3}", line)  # F6: no more digits than the lab gave
    assert "7.5" in line and "mmol/L" in line  # F6: the range as reported, with its unit


# --------------------------------------------------------------------------- F7


def test_f7_a_tablet_count_is_shown_as_stated_beside_the_mg_worked_out():
    d = _figure(
        "P1,2026-03-03 09:00,WBC,5.9,10^9/L\n", "P1,methotrexate 2.5 mg tablets,6,tablets,weekly,oral,2026-01-01,\n"
    )
    hovers = [h for _, _, h in _lane(d, "Methotrexate")]
    assert hovers and all("15 mg/week" in h for h in hovers)  # the case: the mg worked out
    assert all("6 tablets" in h for h in hovers)  # F7


# --------------------------------------------------------------------------- F8


def test_f8_two_pulses_on_one_day_are_both_readable():
    doses = (
        "P1,cyclophosphamide,500,mg,once,iv,2026-01-10,2026-01-10\n"
        "P1,cyclophosphamide,250,mg,once,iv,2026-01-10,2026-01-10\n"
    )
    d = _figure("P1,2026-01-03 09:00,WBC,5.9,10^9/L\nP1,2026-03-03 09:00,WBC,5.9,10^9/L\n", doses)
    [pulses] = [t for t in d["data"] if t.get("name") == "Cyclophosphamide (pulses)"]
    points = list(zip(pulses["x"], pulses["y"], strict=True))
    apart = len(set(points)) == len(points)
    together = any("500" in h and "250" in h for h in pulses["customdata"])
    assert apart or together  # F8: two pulses at one point, each hover names one amount


# --------------------------------------------------------------------------- F9


def test_f9_a_mg_per_kg_dose_with_a_known_weight_is_not_drawn_below_a_smaller_dose():
    doses = "P1,azathioprine,2,mg/kg,daily,oral,2025-12-01,2026-03-01\nP1,azathioprine,100,mg,daily,oral,2026-03-15,\n"
    d = _figure(
        "P1,2026-01-03 09:00,Neutrophils,3.0,10^9/L\n",
        doses,
        patients="patient_id,sex,date_of_birth,weight_kg\nP1,F,1970-01-01,60\n",
    )
    assert _height_on(d, "Azathioprine", "2026-01-15") > _height_on(d, "Azathioprine", "2026-04-01")  # F9


# --------------------------------------------------------------------------- F10


def test_f10_the_hover_of_a_result_after_the_as_of_date_says_so():
    labs = "P1,2026-05-05 09:00,Neutrophils,3.0,10^9/L\nP1,2026-07-05 09:00,Neutrophils,0.3,10^9/L\n"
    d = _figure(labs, "P1,azathioprine,100,mg,daily,oral,2025-12-01,\n")
    [(_, _, hover, symbol)] = [m for m in _markers(d, "y2") if m[0] > dt.datetime(2026, 6, 1)]
    assert symbol == "circle-open-dot"  # the case: drawn apart as a grey ring
    assert re.search(r"as-of|as of|not reviewed", hover, re.I)  # F10
    assert re.search(r"grade\D{0,12}4", hover)  # F10: its grade (CTCAE < 0.5: grade 4)


# --------------------------------------------------------------------------- F11


def test_f11_a_grade_on_the_reported_unit_names_its_threshold_in_the_hover():
    d = _figure("P1,2026-03-03 09:00,Hb,4.9,mmol/L\n", "P1,methotrexate,15,mg,weekly,oral,2025-12-01,\n")
    [(_, _, hover, _)] = _markers(d, _row_of(d, "Hb"))
    assert "grade <b>2</b>" in hover and "79" in hover  # the case
    assert "6.2" in hover  # F11: the threshold the grade rests on (mmol/L, as reported)


# --------------------------------------------------------------------------- what works


def test_every_result_is_drawn_with_its_raw_value_and_grade():
    # censored low and high, far off scale, two values at one draw, after the as-of date,
    # no reference range, Hb in mmol/L
    labs = (
        "P1,2026-01-05 09:00,Neutrophils,<0.5,10^9/L\n"
        "P1,2026-01-05 09:00,Platelets,>400,10^9/L\n"
        "P1,2026-02-05 09:00,WBC,250,10^9/L\n"
        "P1,2026-03-05 09:00,Neutrophils,1.2,10^9/L\n"
        "P1,2026-03-05 09:00,Neutrophils,0.8,10^9/L\n"
        "P1,2026-04-05 09:00,Hb,7.5,mmol/L\n"
        "P1,2026-07-05 09:00,Neutrophils,0.3,10^9/L\n"
    )
    d = _figure(labs, "P1,azathioprine,100,mg,daily,oral,2025-12-01,\n")
    neut = _markers(d, _row_of(d, "Neutrophils"))
    assert sorted(m[1] for m in neut) == [0.3, 0.5, 0.8, 1.2]
    by_y = {m[1]: m for m in neut}
    assert by_y[0.5][3] == "x-open" and "&lt;0.5" in by_y[0.5][2]  # CTCAE grade 4 (< 0.5), open marker
    assert by_y[0.8][3] == "triangle-down" and by_y[1.2][3] == "diamond"  # grade 3 and grade 2
    [plt] = _markers(d, _row_of(d, "Platelets"))
    assert plt[1] == 400 and plt[3] == "circle-open" and "&gt;400" in plt[2]
    [wbc] = _markers(d, _row_of(d, "WBC"))
    assert wbc[1] == 250
    [hb] = _markers(d, _row_of(d, "Hb"))
    assert "as reported: 7.5 mmol/L" in hb[2]


def test_a_long_history_draws_every_result_and_every_dose_change():
    start = dt.date(2016, 1, 4)
    labs = "".join(f"P1,{start + dt.timedelta(days=12 * i)} 09:00,Neutrophils,3.0,10^9/L\n" for i in range(300))
    rows = []
    for k in range(40):
        s, e = dt.date(2016, 2, 1) + dt.timedelta(days=90 * k), dt.date(2016, 2, 1) + dt.timedelta(days=90 * (k + 1))
        rows.append(f"P1,azathioprine,{(50, 75, 100, 125, 150)[k % 5]},mg,daily,oral,{s},{e if k < 39 else ''}\n")
    d = _figure(labs, "".join(rows), as_of=dt.date(2026, 1, 1), today=dt.date(2026, 1, 1))
    assert len(_markers(d, "y2")) == 300
    assert len(_lane(d, "Azathioprine")) == 80  # every step, start and end
    assert sum(s.get("name") == "dose change" for s in d["layout"]["shapes"]) == 40


def test_several_drugs_pulses_and_a_restart_are_each_drawn():
    doses = (
        "P1,methotrexate,15,mg,weekly,oral,2025-12-01,2026-01-15\n"
        "P1,methotrexate,15,mg,weekly,oral,2026-02-15,\n"
        "P1,rituximab,1000,mg,once,iv,2026-01-05,2026-01-05\n"
        "P1,rituximab,1000,mg,once,iv,2026-01-19,2026-01-19\n"
        "P1,cyclophosphamide,500,mg/m2,monthly,iv,2026-01-10,2026-04-20\n"
    )
    d = _figure("P1,2026-03-03 09:00,WBC,5.9,10^9/L\n", doses)
    [rtx] = [t for t in d["data"] if t.get("name") == "Rituximab (pulses)"]
    assert len(rtx["x"]) == 2
    [cyc] = [t for t in d["data"] if t.get("name") == "Cyclophosphamide (pulses)"]
    assert len(cyc["x"]) == 4 and all("500 mg/m2" in h for h in cyc["customdata"])  # 10 Jan, Feb, Mar, Apr
    [mtx] = [t for t in d["data"] if t.get("name") == "Methotrexate"]
    assert None in mtx["x"]  # the stop leaves a gap before the restart


def test_a_dose_entered_in_the_app_says_so_and_keeps_its_unit():
    rows = [to_row(DoseEntry("P1", "azathioprine", 2, dt.date(2026, 2, 1), "mg/kg", "daily", "oral"))]
    result = import_sources(
        [Source("labs.csv", (LABS_HEAD + "P1,2026-03-03 09:00,WBC,5.9,10^9/L\n").encode())],
        ImportOptions(today=TODAY),
    )
    ds = Dataset.from_import(result, "t")
    one = ds.for_patient("P1")
    rv = review_dataset(ds, None, AS_OF)
    fig = timeline_figure(
        one.labs,
        frame("doses", rows),
        rv.flags_df().iloc[:0],
        rv.intervals_df().iloc[:0],
        get_profile(None),
        None,
        TimelineOptions(as_of=AS_OF),
    ).to_dict()
    hovers = [h for _, _, h in _lane(fig, "Azathioprine")]
    assert hovers and all("2 mg/kg" in h and "entered in the app" in h for h in hovers)


def test_limit_lines_and_bands_follow_the_unit_system():
    labs = "P1,2026-03-03 09:00,Albumin,28,g/L\n"
    for system, level in (("SI", 30.0), ("US", 3.0)):
        d = _figure(labs, "P1,methotrexate,15,mg,weekly,oral,2025-12-01,\n", system=system, analytes=("albumin",))
        [line] = [s for s in d["layout"]["shapes"] if s.get("name") == "bsr.albumin_low"]
        assert line["y0"] == pytest.approx(level)
