"""Doses in force together (H240-H243): overlapping rows of one drug are checked on their total.

Every expected value is worked by hand in the docstring from the limit the data names
(knowledge/data/dosing.toml), never read from the code's output.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from dashboard import dosing
from dashboard.rules.data import DAY, NEVER
from dashboard.rules.dose_totals import KINDS, in_force_together, schedule_kind
from tests.rules.builders import dose, frame, patient, run


def _checks(rv, pid: str, rule: str) -> pd.DataFrame:
    df = rv.dose_checks_df()
    return df[(df["patient_id"] == pid) & (df["rule"] == rule)]


def _normal(pid: str, weight: float) -> dict:
    return patient(pid, weight=weight, tpmt="normal", nudt15="normal")


def test_azathioprine_mane_and_nocte_rows_are_judged_on_their_total():
    """Imuran label (RA) maximum 2.5 mg/kg/day.  100 mg + 75 mg = 175 mg/day; 175 / 60 kg
    = 2.9167 mg/kg/day > 2.5 (and not above 3, so the caution check, not the action one).
    Each row alone is 1.67 and 1.25 mg/kg/day.  The message names the two rows."""
    doses = [
        dose("S", "azathioprine", "2024-01-01", amount=100),
        dose("S", "azathioprine", "2024-01-01", "2024-12-31", amount=75),
    ]
    rv = run([], doses, [_normal("S", 60)], as_of="2024-06-30")
    hit = _checks(rv, "S", "dose.aza_above_2_5")
    open_ = hit[hit["status"] == "open"]
    assert len(open_) == 1
    assert open_["value"].iloc[0] == pytest.approx(175 / 60)
    assert "total of 2 rows in force (100 + 75 mg/day)" in open_["message"].iloc[0]
    assert "2.92 mg/kg/day > 2.5" in open_["message"].iloc[0]
    assert _checks(rv, "S", "dose.aza_above_3").empty


def test_a_total_exactly_at_the_maximum_is_not_flagged():
    """100 + 50 = 150 mg/day / 60 kg = 2.5 mg/kg/day: not strictly above 2.5."""
    doses = [
        dose("S", "azathioprine", "2024-01-01", amount=100),
        dose("S", "azathioprine", "2024-01-01", amount=50),
    ]
    rv = run([], doses, [_normal("S", 60)], as_of="2024-06-30")
    df = rv.dose_checks_df()
    assert df[df["rule"].str.startswith("dose.aza_above")].empty


def test_the_total_applies_only_on_the_days_the_rows_overlap():
    """100 mg from 1 Jan (ongoing) and 75 mg from 1 Mar to 1 Apr, 60 kg: 175 mg/day =
    2.92 mg/kg/day only from 1 Mar to 1 Apr (end exclusive); 100 mg alone (1.67) before
    and after.  One flag, closed on 30 Jun."""
    doses = [
        dose("S", "azathioprine", "2024-01-01", amount=100),
        dose("S", "azathioprine", "2024-03-01", "2024-04-01", amount=75),
    ]
    rv = run([], doses, [_normal("S", 60)], as_of="2024-06-30")
    hit = _checks(rv, "S", "dose.aza_above_2_5")
    assert len(hit) == 1
    assert hit["start"].iloc[0] == pd.Timestamp("2024-03-01")
    assert hit["end"].iloc[0] == pd.Timestamp("2024-04-01")
    assert hit["status"].iloc[0] == "closed"


def test_hydroxychloroquine_mane_and_nocte_rows():
    """RCOphth/AAO: at most 5 mg/kg/day real weight.  200 + 200 = 400 mg/day / 70 kg =
    5.71 mg/kg/day > 5 (each row alone 2.86)."""
    doses = [
        dose("H", "hydroxychloroquine", "2024-01-01", amount=200),
        dose("H", "hydroxychloroquine", "2024-01-01", amount=200, frequency="daily", route="oral"),
    ]
    # two identical rows are a duplicate at import; here they reach the rules as entered
    rv = run([], doses, [patient("H", weight=70)], as_of="2024-06-30")
    hit = _checks(rv, "H", "dose.hcq_above_5")
    assert len(hit) == 1 and hit["value"].iloc[0] == pytest.approx(400 / 70)


def test_two_weekly_methotrexate_rows_add_up_in_mg_per_week():
    """3E: escalate to 20-30 mg/week; the project's weekly maximum is 30 (dosing.toml
    absolute_max_weekly_mg).  15 oral + 10 SC = 25 mg/week: within.  20 oral + 15 SC =
    35 mg/week > 30: flagged, value 35 mg/week."""
    within = [
        dose("M", "methotrexate", "2024-01-01", amount=15, frequency="weekly"),
        dose("M", "methotrexate", "2024-01-01", amount=10, frequency="weekly", route="subcutaneous"),
    ]
    rv = run([], within, [patient("M", weight=70)], as_of="2024-06-30")
    assert _checks(rv, "M", "dose.mtx_above_max").empty
    above = [
        dose("M", "methotrexate", "2024-01-01", amount=20, frequency="weekly"),
        dose("M", "methotrexate", "2024-01-01", amount=15, frequency="weekly", route="subcutaneous"),
    ]
    rv = run([], above, [patient("M", weight=70)], as_of="2024-06-30")
    hit = _checks(rv, "M", "dose.mtx_above_max")
    assert len(hit) == 1 and hit["value"].iloc[0] == pytest.approx(35.0) and hit["value_unit"].iloc[0] == "mg/week"
    assert "total of 2 rows in force (20 + 15 mg/week)" in hit["message"].iloc[0]


def test_a_daily_methotrexate_row_is_not_added_to_a_weekly_one():
    """20 mg weekly + 2.5 mg daily: mg/week of the weekly row is 20 (not above 30); the
    daily row is not turned into 17.5 mg/week and added (it is the not-weekly error)."""
    doses = [
        dose("M", "methotrexate", "2024-01-01", amount=20, frequency="weekly"),
        dose("M", "methotrexate", "2024-01-01", amount=2.5, frequency="daily"),
    ]
    rv = run([], doses, [patient("M", weight=70)], as_of="2024-06-30")
    assert _checks(rv, "M", "dose.mtx_above_max").empty
    assert len(_checks(rv, "M", "dose.mtx_not_weekly")) == 1


def test_an_unknown_amount_makes_the_total_unknown_and_it_is_said():
    """100 mg/day + 50 mg/m2 daily (no body surface area): the total cannot be known; the
    known part 100/60 = 1.67 is not above 2.5, so it is said as not checkable."""
    doses = [
        dose("S", "azathioprine", "2024-01-01", amount=100),
        dose("S", "azathioprine", "2024-01-01", amount=50, unit="mg/m2"),
    ]
    rv = run([], doses, [_normal("S", 60)], as_of="2024-06-30")
    df = rv.dose_checks_df()
    said = df[(df["rule"] == "dose.not_checkable") & df["message"].str.contains("total of 2 rows in force")]
    assert not said.empty
    assert "unknown (50 mg/m2)" in said["message"].iloc[0]


def test_a_known_part_above_the_limit_is_flagged_as_at_least():
    """200 mg/day + 50 mg/m2: at least 200/60 = 3.33 mg/kg/day > 3 (the action check)."""
    doses = [
        dose("S", "azathioprine", "2024-01-01", amount=200),
        dose("S", "azathioprine", "2024-01-01", amount=50, unit="mg/m2"),
    ]
    rv = run([], doses, [_normal("S", 60)], as_of="2024-06-30")
    hit = _checks(rv, "S", "dose.aza_above_3")
    assert len(hit) == 1 and "at least 3.33 mg/kg/day" in hit["message"].iloc[0]


def test_allopurinol_reduction_is_judged_against_the_total_before_it():
    """Before allopurinol: 100 + 100 mg/day = 200 mg/day (both rows end on 1 Mar).  With
    it: 50 mg/day = 25% of 200: not above a quarter (Medsafe) nor a third (label), so no
    xo_inhibitor flag.  Against one 100 mg row it would read 50% (urgent)."""
    doses = [
        dose("A", "azathioprine", "2024-01-01", "2024-03-01", amount=100),
        dose("A", "azathioprine", "2024-01-01", "2024-03-01", amount=100, route="po"),
        dose("A", "azathioprine", "2024-03-01", amount=50),
        dose("A", "allopurinol", "2024-03-01", amount=300),
    ]
    rv = run([], doses, [_normal("A", 80)], as_of="2024-06-30")
    df = rv.dose_checks_df()
    assert df[df["rule"].isin(["dose.aza_allopurinol", "dose.aza_allopurinol_quarter"])].empty


def test_kinds_pulses_stand_alone():
    """IV cyclophosphamide is a pulse, oral daily is daily: never one total."""
    assert schedule_kind("cyclophosphamide", "monthly", "iv") == "pulse"
    assert schedule_kind("cyclophosphamide", "daily", "oral") == "daily"
    assert schedule_kind("methotrexate", "unknown", "oral") == "weekly"
    p, dr = np.zeros(3, np.int64), np.zeros(3, np.int64)
    kind = np.array([KINDS.index("pulse"), KINDS.index("daily"), KINDS.index("pulse")], np.int8)
    start = np.array([0, 0, 0], np.int64) * DAY
    end = np.array([DAY, 30 * DAY, DAY], np.int64)
    tg = in_force_together(p, dr, kind, start, end)
    assert sorted(tg.n.tolist()) == [1, 1, 1]


def test_intervals_cut_where_the_set_of_rows_changes():
    """Rows [0, NEVER) 100 and [10, 20) 75 days: three intervals, 100 / 175 / 100."""
    z = np.zeros(2, np.int64)
    tg = in_force_together(z, z, z.astype(np.int8), np.array([0, 10 * DAY]), np.array([NEVER, 20 * DAY]))
    assert tg.start.tolist() == [0, 10 * DAY, 20 * DAY]
    assert tg.end.tolist() == [10 * DAY, 20 * DAY, NEVER]
    total, known = tg.total(np.array([100.0, 75.0]))
    assert total.tolist() == [100.0, 175.0, 100.0] and known.all()
    assert tg.row.tolist() == [0, 1, 0]


def test_the_dosing_page_prefills_the_total():
    """The Dosing page's current azathioprine is 100 + 75 = 175 mg/day, and the weekly
    methotrexate 15 + 10 = 25 mg/week."""
    doses = frame(
        "doses",
        [
            dose("S", "azathioprine", "2024-01-01", amount=100),
            dose("S", "azathioprine", "2024-01-01", "2024-12-31", amount=75),
            dose("S", "methotrexate", "2024-01-01", amount=15, frequency="weekly"),
            dose("S", "methotrexate", "2024-01-01", amount=10, frequency="weekly", route="subcutaneous"),
        ],
    )
    patients, labs = frame("patients", [_normal("S", 60)]), frame("labs", [])
    ctx = dosing.patient_context(patients, doses, labs, "S", dt.date(2024, 6, 30))
    assert ctx.mg_per_day("azathioprine") == pytest.approx(175.0)
    assert ctx.mg_per_week("methotrexate") == pytest.approx(25.0)
    total = ctx.total("azathioprine")
    assert total is not None and total.n == 2 and total.parts == "100 + 75 mg/day"


def test_rows_that_began_on_different_days_say_how_to_tell_a_split_dose_from_a_change():
    """A change from 100 to 125 mg whose first row was not ended: 100 + 125 = 225 mg/day /
    60 kg = 3.75 mg/kg/day > 3 (the record says both are taken).  The rows began on
    different days, so the message says that if one replaced the other the earlier row
    should be ended; a dose split on one day (the test above) says nothing of the kind."""
    doses = [
        dose("S", "azathioprine", "2024-01-01", amount=100),
        dose("S", "azathioprine", "2024-03-01", amount=125),
    ]
    rv = run([], doses, [_normal("S", 60)], as_of="2024-06-30")
    hit = _checks(rv, "S", "dose.aza_above_3")
    assert len(hit) == 1 and hit["value"].iloc[0] == pytest.approx(225 / 60)
    assert "(100 + 125 mg/day; they began on different days: if one replaced the other" in hit["message"].iloc[0]
    split = run(
        [],
        [dose("S", "azathioprine", "2024-01-01", amount=100), dose("S", "azathioprine", "2024-01-01", amount=75)],
        [_normal("S", 60)],
        as_of="2024-06-30",
    )
    assert "began on different days" not in " ".join(_checks(split, "S", "dose.aza_above_2_5")["message"])
