"""The Dosing page's monitoring table and the rules' schedule never disagree (audit 18, finding 3).

The page lays the blood tests of a plan (its start, every dose increase of the titration,
then maintenance) out with the rules' own schedule code and data (``schedule.toml``,
the active profile).  Here the plan's doses and a full monitoring check on exactly the
page's dates are given to the review (:func:`dashboard.rules.review.review`): on no day of
the plan is a schedule row overdue, and the day before each of the page's dates the
rules' next due date is that date.

Hand-derived (from the intervals ``schedule.toml`` states, before the code was written):
azathioprine, 70 kg, TPMT and NUDT15 normal: the titration plan is 50 mg from week 0, 75
from week 6 (day 42), 100 from week 10 (day 70), 125 from week 14 (day 98) and 150 mg from
week 18 (day 126).  The BSR 2025 schedule of azathioprine (``bsr2025_standard``, BSR 2017
as restated by NICE CKS / SPS): every 2 weeks until the dose has been stable for 6 weeks,
then monthly for 3 months, then every 84 days; every step of the titration comes before the
course reaches its 12-weekly phase, so the phases count from the last step (day 126); a
test on the day of a step counts as after it.

* day 0 start, no test yet: due start + 14 -> day 14;
* test 14 (< 42) -> 28; test 28 -> 42;
* day 42: increase to 75 and a test the same day: fortnightly again -> 56;
* test 56 (14 days after the increase) -> 70: increase to 100, test -> 84 -> 98;
* day 98: increase to 125, test -> 112 -> 126; day 126: increase to 150, test -> 140;
* test 140 (14 d after) -> 154; test 154 (28 d after) -> 168;
* test 168: the dose has been stable for 42 days: monthly for 3 months -> 198 -> 228 -> 258
  (= 126 + 42 + 90, the end of the 3 months);
* test 258: every 84 days -> 342 (426 is past week 60, the end of the table).

(Probe 7 F4: this was 168 -> 252 -> 336 -> 420, maintenance straight after the titration,
because the monthly phase was counted from the course start; no source skips it.)

With a start on Monday 6 January 2025 (Feb 2025: 28 days): 20 Jan, 3 Feb, 17 Feb, 3 Mar,
17 Mar, 31 Mar, 14 Apr, 28 Apr, 12 May, 26 May, 9 Jun, 23 Jun, 23 Jul, 22 Aug, 21 Sep and
14 Dec 2025.

The same dose without any increase (BSR 2017 via NICE CKS / SPS: every 2 weeks until the
dose has been stable for 6 weeks, then monthly for 3 months, then at least every 12 weeks):
14, 28, 42 (fortnightly while before day 42), then three monthly tests from the test at day
42: 72, 102, 132 (= 42 + 3 x 30, the end of the 3 months), then every 84 days: 216, 300,
384.  (Probe 7 F8: this was 72, 102, 132, 162, 246, ..., a fourth monthly test on day 162
because the monthly phase ran "before day 133"; no source asks for it.)

The old table (monthly from week 6 in 28-day months, 12-weekly from week 30, whatever the
plan) put the test after the week-6 step at week 10 (day 70); the rules want it at day 56.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from dashboard import dosing
from dashboard.rules import schedule
from tests.rules.builders import dose, full_check, patient, run

START = dt.date(2025, 1, 6)
AS_OF = dt.date(2025, 6, 1)  # the shared review date of the shifted copies below


def _steps(*pairs: tuple[int, float]) -> tuple[dosing.TitrationStep, ...]:
    return tuple(dosing.TitrationStep(w, mg, mg / 70, mg / 140 * 100, "") for w, mg in pairs)


def _plans() -> dict[str, tuple[str, tuple[dosing.TitrationStep, ...]]]:
    aza = dosing.azathioprine_dose(70, "normal", "normal")
    mp = dosing.mercaptopurine_dose(70, "normal", "normal")
    unknown = dosing.azathioprine_dose(70, "unknown", "normal")  # test first: one cautious dose
    low = dosing.azathioprine_dose(52.5, "intermediate", "normal")
    return {
        "aza_titration": ("azathioprine", aza.titration),
        "mp_titration": ("mercaptopurine", mp.titration),
        "aza_fixed_test_first": ("azathioprine", unknown.titration),
        "aza_intermediate": ("azathioprine", low.titration),
        # steps that fall between the fortnightly tests (not a plan the page makes: the
        # untested-increase rule of the schedule decides the date)
        "aza_odd_steps": ("azathioprine", _steps((0, 50.0), (5, 75.0), (11, 100.0), (30, 125.0))),
    }


def _check(pid: str, day: dt.date) -> list[dict]:
    """A full monitoring check (full blood count, creatinine/eGFR, ALT/AST, albumin) at 09:00."""
    return full_check(pid, f"{day.isoformat()}T09:00")


def _doses(pid: str, drug: str, start: dt.date, steps) -> list[dict]:
    days = [start + dt.timedelta(weeks=s.week) for s in steps]
    return [
        dose(pid, drug, d.isoformat(), nxt.isoformat() if nxt else None, amount=s.mg_per_day)
        for s, d, nxt in zip(steps, days, [*days[1:], None], strict=True)
    ]


def _page_dates(drug: str, start: dt.date, steps, profile: str = "BSR 2025") -> list[dt.date]:
    plan = dosing.monitoring_plan(drug, start, steps, profile=profile)
    return [v.date for v in plan.visits if v.day > 0]


def test_hand_derived_dates_of_the_azathioprine_titration():
    aza = dosing.azathioprine_dose(70, "normal", "normal")
    assert [(s.week, s.mg_per_day) for s in aza.titration] == [(0, 50), (6, 75), (10, 100), (14, 125), (18, 150)]
    plan = dosing.monitoring_plan("azathioprine", START, aza.titration)
    days = [v.day for v in plan.visits]
    assert days == [0, 14, 28, 42, 56, 70, 84, 98, 112, 126, 140, 154, 168, 198, 228, 258, 342]
    expected = [
        "2025-01-20", "2025-02-03", "2025-02-17", "2025-03-03", "2025-03-17", "2025-03-31", "2025-04-14",
        "2025-04-28", "2025-05-12", "2025-05-26", "2025-06-09", "2025-06-23", "2025-07-23", "2025-08-22",
        "2025-09-21", "2025-12-14",
    ]  # fmt: skip
    assert [v.date.isoformat() for v in plan.visits[1:]] == expected
    assert plan.visits[0].date == START and "before" in plan.visits[0].why
    doses = [v.dose_mg for v in plan.visits]
    assert doses[:6] == [50, 50, 50, 75, 75, 100] and doses[-1] == 150
    assert "step to 75 mg/day" in plan.visits[4].why  # day 56: the check after the week-6 step
    assert "step to 150 mg/day" in plan.visits[12].why  # day 168: stable for 6 weeks after it
    assert "every 30 days until day 258" in plan.visits[13].why  # day 198: monthly, counted from day 126
    assert "every 84 days" in plan.visits[16].why
    assert all(v.source for v in plan.visits)
    assert plan.source.startswith("BSR 2025")
    assert "full blood count" in plan.visits[1].tests and "albumin" in plan.visits[1].tests


def test_hand_derived_dates_of_a_fixed_dose():
    plan = dosing.monitoring_plan("azathioprine", START, _steps((0, 100.0)))
    assert [v.day for v in plan.visits] == [0, 14, 28, 42, 72, 102, 132, 216, 300, 384]
    assert "every 30 days" in plan.visits[5].why and "every 84 days" in plan.visits[-1].why


def test_the_plan_follows_the_profile_of_the_rules():
    """BSR 2017 / NICE: the same intervals, but its schedule's own set (the full blood count decides)."""
    aza = dosing.azathioprine_dose(70, "normal", "normal")
    plan = dosing.monitoring_plan("azathioprine", START, aza.titration, profile="BSR 2017")
    assert [v.day for v in plan.visits][:4] == [0, 14, 28, 42]
    assert plan.visits[1].tests == "full blood count"
    assert plan.source == "BSR 2017 / NICE CKS [bsr2017] [nhs_lanarkshire] [sps_mmf]"


@pytest.mark.parametrize("name", list(_plans()))
@pytest.mark.parametrize(("profile", "schedule_profile"), [(None, "BSR 2025"), ("BSR 2017 / NICE", "BSR 2017")])
def test_tests_on_the_pages_dates_are_never_overdue(name, profile, schedule_profile):
    """One review holds a copy of the plan per day of the plan (the copy k started k days
    before the review date), each tested on exactly the page's dates up to the review date:
    that is the plan reviewed on every day from its start to week 60.  Then, the day before,
    the copies with a test planned on the review date: the rules' next due date is the page's."""
    drug, steps = _plans()[name]
    assert steps
    horizon = 60 * 7
    labs, doses, patients, planned_today = [], [], [], set()
    for k in range(horizon + 1):
        pid = f"K{k:03d}"
        start = AS_OF - dt.timedelta(days=k)
        dates = _page_dates(drug, start, steps, schedule_profile)
        labs += [row for d in dates if d <= AS_OF for row in _check(pid, d)]
        doses += _doses(pid, drug, start, steps)
        patients.append(patient(pid, weight=70, tpmt="normal", nudt15="normal"))
        if AS_OF in dates:
            planned_today.add(pid)
    sched = run(labs, doses, patients, as_of=AS_OF.isoformat(), profile=profile).schedule_df()
    blood = sched[sched["drug"] == drug]
    assert len(blood) == horizon + 1
    overdue = blood[blood["overdue"]]
    assert overdue.empty, overdue[["patient_id", "message"]].to_string()

    # the day before each of the page's dates: the rules' next due date is that date
    # (on a step's own day the review counts the new dose untested and gives it 14 days;
    # the page keeps the test planned that day, the check before the step)
    eve = AS_OF - dt.timedelta(days=1)
    labs_before = [row for row in labs if row["collected_at"].date() <= eve]
    sched = run(labs_before, doses, patients, as_of=eve.isoformat(), profile=profile).schedule_df()
    due = sched[sched["patient_id"].isin(planned_today) & (sched["drug"] == drug)]
    assert len(due) == len(planned_today) > 0
    due_day = due["next_due"].dt.normalize()
    assert (due_day == pd.Timestamp(AS_OF)).all(), due[["patient_id", "message"]].to_string()
    assert not due["overdue"].any()


@pytest.mark.parametrize("as_of", ["2025-02-28", "2025-03-10", "2025-04-24", "2025-05-22", "2025-06-10", "2025-07-30"])
def test_the_audit_case_reviewed_along_the_plan(as_of):
    """Audit 18's case (70 kg, TPMT/NUDT15 normal, azathioprine 50 -> 150 mg) with labs on
    the page's dates, reviewed on a few dates along the plan: never overdue."""
    steps = dosing.azathioprine_dose(70, "normal", "normal").titration
    day = dt.date.fromisoformat(as_of)
    labs = [row for d in _page_dates("azathioprine", START, steps) if d <= day for row in _check("A1", d)]
    doses = _doses("A1", "azathioprine", START, steps)
    row = run(labs, doses, [patient("A1", weight=70, tpmt="normal", nudt15="normal")], as_of=as_of).schedule_df()
    assert len(row) == 1 and not row["overdue"].iloc[0], row["message"].iloc[0]


def test_the_old_stable_dose_table_would_have_been_overdue():
    """The check of this test: the weeks of the old table (0, 2, 4, 6, 10, 14, 18, 30) with
    the titration are flagged, so the agreement above is not vacuous."""
    steps = dosing.azathioprine_dose(70, "normal", "normal").titration
    old = [START + dt.timedelta(weeks=w) for w in (0, 2, 4, 6, 10, 14, 18, 30)]
    labs = [row for d in old if d <= dt.date(2025, 3, 10) for row in _check("A1", d)]
    doses = _doses("A1", "azathioprine", START, steps)
    row = run(labs, doses, [patient("A1", weight=70)], as_of="2025-03-10").schedule_df()
    # the old table's next test was week 10 (17 Mar); the rules: 14 days after the week-6 step
    assert row["overdue"].iloc[0] and row["next_due"].iloc[0].normalize() == pd.Timestamp("2025-03-03")


def test_the_dosing_plan_keeps_three_monthly_tests_after_a_titration():
    """Probe 7 F4, the plan: methotrexate stepped up on days 28, 56 and 84 (10 -> 15 -> 20 ->
    25 mg/week), tested on each due day: fortnightly to day 126 (stable for 6 weeks), then
    monthly on days 156, 186, 216 (BSR 2017 via NICE CKS / SPS: monthly for 3 months), then
    every 84 days: 300, 384."""
    spec = schedule.spec_for("bsr2025_standard")
    days = [t.day for t in schedule.planned_tests(spec, [28, 56, 84], 400)]
    assert days == [14, 28, 42, 56, 70, 84, 98, 112, 126, 156, 186, 216, 300, 384]
