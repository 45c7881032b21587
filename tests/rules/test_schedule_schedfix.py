"""The probe32 findings fixed (branch schedfix): what completes a full blood count, a weekly
drug's next row a week later, daily oral cyclophosphamide after IV pulses, the interval that
set the due date, "1 day".

Every expected date is counted by hand from the schedules ``schedule.toml`` cites (BSR 2017
via NICE CKS: every 2 weeks until the dose has been stable for 6 weeks, monthly (30 days)
for 3 months, then every 12 weeks (84 days); PNDS Box 6 for daily oral cyclophosphamide:
every 2 weeks for the first 3 months, then monthly), written before the code was run.
"""

from __future__ import annotations

import pandas as pd

from dashboard.views import schedule_table
from tests.rules.builders import blood_row, dose, full_check, lab, run

MTX_2022 = [dose("P1", "methotrexate", "2022-01-01", amount=15, frequency="weekly")]


_blood = blood_row


def _ts(day: str) -> pd.Timestamp:
    return pd.Timestamp(day)


def _others(pid: str, when: str) -> list[dict]:
    """The rest of a monitoring check (creatinine, ALT, albumin): no count."""
    return [r for r in full_check(pid, when) if r["analyte"] in ("creatinine", "alt", "albumin")]


# --------------------------------------------------------------------------- F1


def test_a_neutrophil_count_alone_is_not_a_full_blood_count():
    """Full check 2024-01-10 (next due 2024-04-03); on 2024-04-01 a neutrophil count and the
    rest of the check, no WBC, no platelets.  The FBC is still due 2024-04-03: 2 days late on
    2024-04-05, and the other groups are done (due 2024-04-01 + 84 = 2024-06-24)."""
    labs = [*full_check("P1", "2024-01-10"), lab("P1", "2024-04-01", "neutrophils", 4.0), *_others("P1", "2024-04-01")]
    row = _blood(run(labs, MTX_2022, as_of="2024-04-05"))
    assert row["tests_due"] == "full blood count"
    assert row["next_due"] == _ts("2024-04-03") and row["days_overdue"] == 2
    assert row["last_test"] == _ts("2024-01-10")  # the last complete check


def test_a_white_count_marks_a_full_blood_count_whatever_else_the_export_carries():
    """A WBC on 2024-04-01 (the export carries no platelets or differential that day) with
    the rest of the check: a WBC is only ever reported in a full blood count, so the check of
    2024-04-01 is complete: next due 2024-04-01 + 84 = 2024-06-24, nothing late on 04-05."""
    labs = [*full_check("P1", "2024-01-10"), lab("P1", "2024-04-01", "wbc", 6.0), *_others("P1", "2024-04-01")]
    row = _blood(run(labs, MTX_2022, as_of="2024-04-05"))
    assert row["last_test"] == _ts("2024-04-01")
    assert row["next_due"] == _ts("2024-06-24") and not bool(row["overdue"])


def test_platelets_and_neutrophils_without_a_white_count_are_not_a_full_blood_count():
    labs = [
        *full_check("P1", "2024-01-10"),
        lab("P1", "2024-04-01", "platelets", 250.0),
        lab("P1", "2024-04-01", "neutrophils", 4.0),
        *_others("P1", "2024-04-01"),
    ]
    row = _blood(run(labs, MTX_2022, as_of="2024-04-05"))
    assert row["tests_due"] == "full blood count" and row["days_overdue"] == 2  # due 2024-04-03


def test_a_platelet_count_alone_does_not_answer_the_nadir_count_after_a_pulse():
    """IV cyclophosphamide monthly from 2024-01-15: nadir window 01-23 to 01-29.  A platelet
    count alone on 01-25 is not the blood count: 1 day late on 01-30."""
    doses = [
        dose("P1", "cyclophosphamide", "2024-01-15", "2024-06-20", amount=750, frequency="monthly", route="intravenous")
    ]
    row = _blood(run([lab("P1", "2024-01-25", "platelets", 200.0)], doses, as_of="2024-01-30"))
    assert row["due_by"] == _ts("2024-01-29") and row["days_overdue"] == 1


# --------------------------------------------------------------------------- F2

ORAL_TO_FEB = dose("P1", "methotrexate", "2022-01-01", "2024-02-01", amount=15, frequency="weekly")


def test_a_weekly_row_starting_one_week_after_the_last_one_ended_is_the_same_course():
    """Oral to 2024-02-01, subcutaneous from 2024-02-08 (7 days: the weekly interval), no
    result at all: one course from 2022-01-01, its first fortnightly test due 2022-01-15, and
    the row says none was recorded since the course began on 2022-01-01."""
    doses = [ORAL_TO_FEB, dose("P1", "methotrexate", "2024-02-08", amount=15, frequency="weekly", route="subcutaneous")]
    row = _blood(run([], doses, as_of="2024-04-05"))
    assert row["course_start"] == _ts("2022-01-01") and row["next_due"] == _ts("2022-01-15")
    assert "none recorded since the course began on 2022-01-01" in row["message"]
    assert pd.isna(row["last_increase"])


def test_a_weekly_row_starting_more_than_a_week_after_the_last_one_ended_is_a_new_course():
    """Subcutaneous from 2024-02-09: 8 days after the oral row ended, more than the weekly
    interval.  A new course from 2024-02-09; the check of 2024-01-10 is before it, so the
    first fortnightly test is due 2024-02-23: 42 days late on 2024-04-05 (6 in February, 31
    in March, 5 in April), more than its interval (action)."""
    doses = [ORAL_TO_FEB, dose("P1", "methotrexate", "2024-02-09", amount=15, frequency="weekly", route="subcutaneous")]
    row = _blood(run(full_check("P1", "2024-01-10"), doses, as_of="2024-04-05"))
    assert row["course_start"] == _ts("2024-02-09")
    assert row["next_due"] == _ts("2024-02-23") and row["days_overdue"] == 42
    assert row["severity"] == "action"


def test_a_higher_dose_a_week_after_the_last_row_is_an_increase_of_the_same_course():
    """Oral 15 mg to 2024-02-01, subcutaneous 20 mg from 2024-02-08: the same course, raised
    on 2024-02-08 after two stable years: fortnightly, due 2024-02-08 + 14 = 2024-02-22 (not
    late on 2024-02-20); the 12-weekly test from 2024-01-10 (04-03) is later."""
    doses = [ORAL_TO_FEB, dose("P1", "methotrexate", "2024-02-08", amount=20, frequency="weekly", route="subcutaneous")]
    row = _blood(run(full_check("P1", "2024-01-10"), doses, as_of="2024-02-20"))
    assert row["course_start"] == _ts("2022-01-01") and row["last_increase"] == _ts("2024-02-08")
    assert row["next_due"] == _ts("2024-02-22") and not bool(row["overdue"])


def test_the_initial_phases_count_from_the_first_row_across_a_weekly_gap():
    """A new start 2024-01-01 by mouth to 2024-01-25, subcutaneous from 2024-02-01 (7 days
    later), same dose.  Fortnightly tests on 01-15 and 01-29, then one on 2024-02-12: day 42
    of the course that began on 01-01, so monthly: due 2024-02-12 + 30 = 2024-03-13.  (Were
    02-01 a new course, 02-12 would be its day 11 and the next test due 02-26.)"""
    doses = [
        dose("P1", "methotrexate", "2024-01-01", "2024-01-25", amount=15, frequency="weekly"),
        dose("P1", "methotrexate", "2024-02-01", amount=15, frequency="weekly", route="subcutaneous"),
    ]
    labs = [r for d in ("2024-01-15", "2024-01-29", "2024-02-12") for r in full_check("P1", d)]
    row = _blood(run(labs, doses, as_of="2024-02-13"))
    assert row["course_start"] == _ts("2024-01-01")
    assert (row["interval_days"], row["next_due"]) == (30, _ts("2024-03-13"))


def test_a_daily_drug_two_days_after_its_last_row_is_still_a_new_course():
    """Azathioprine daily to 2024-02-01, again from 2024-02-03: 2 days later, more than its
    daily interval, so a new course (as before): due 2024-02-03 + 14 = 2024-02-17."""
    doses = [
        dose("P1", "azathioprine", "2022-01-01", "2024-02-01", amount=100),
        dose("P1", "azathioprine", "2024-02-03", amount=100),
    ]
    row = _blood(run(full_check("P1", "2024-01-10"), doses, as_of="2024-02-10"))
    assert row["course_start"] == _ts("2024-02-03") and row["next_due"] == _ts("2024-02-17")


def test_a_flag_episode_runs_on_across_a_weekly_route_switch_a_week_later():
    """Neutrophils 1.4 on 2024-01-25 and 1.3 on 2024-02-15 (both below the BSR 1.6), the
    methotrexate moved to injection a week after the oral row ended: no restart of treatment
    between them, so one episode from 2024-01-25 of 2 consecutive results."""
    doses = [ORAL_TO_FEB, dose("P1", "methotrexate", "2024-02-08", amount=15, frequency="weekly", route="subcutaneous")]
    labs = [lab("P1", "2024-01-25", "neutrophils", 1.4), lab("P1", "2024-02-15", "neutrophils", 1.3)]
    f = run(labs, doses, as_of="2024-02-20").flags_df()
    f = f[f["rule"] == "bsr.neutrophils_low"].sort_values("collected_at")
    assert (f["episode_start"] == _ts("2024-01-25")).all()
    assert f["episode_results"].tolist() == [1, 2]


# --------------------------------------------------------------------------- F3

IV_THEN_ORAL = [
    dose("P1", "cyclophosphamide", "2024-01-15", "2024-06-20", amount=750, frequency="monthly", route="intravenous"),
    dose("P1", "cyclophosphamide", "2024-06-20", amount=100, frequency="daily", route="oral"),
]


def _count_and_creatinine(when: str) -> list[dict]:
    return [lab("P1", when, "wbc", 5.0), lab("P1", when, "platelets", 200.0), lab("P1", when, "creatinine", 70.0)]


def test_daily_oral_cyclophosphamide_after_pulses_counts_its_course_from_its_own_start():
    """No test since the oral start (the last count was on 2024-06-10, before it): the first
    fortnightly one is due 2024-06-20 + 14 = 2024-07-04, 6 days late on 2024-07-10."""
    row = _blood(run(_count_and_creatinine("2024-06-10"), IV_THEN_ORAL, as_of="2024-07-10"), "cyclophosphamide_oral")
    assert row["course_start"] == _ts("2024-06-20")
    assert row["next_due"] == _ts("2024-07-04") and row["days_overdue"] == 6


def test_daily_oral_cyclophosphamide_is_monthly_from_day_91_of_its_own_course():
    """Day 91 of the oral course is 2024-09-19 (10 days of June, 31 of July, 31 of August,
    19 of September).  A test on 09-18 (day 90): fortnightly, due 10-02; on 09-19: monthly,
    due 10-19."""
    day_90 = _blood(run(_count_and_creatinine("2024-09-18"), IV_THEN_ORAL, as_of="2024-09-20"), "cyclophosphamide_oral")
    assert (day_90["interval_days"], day_90["next_due"]) == (14, _ts("2024-10-02"))
    day_91 = _blood(run(_count_and_creatinine("2024-09-19"), IV_THEN_ORAL, as_of="2024-09-20"), "cyclophosphamide_oral")
    assert (day_91["interval_days"], day_91["next_due"]) == (30, _ts("2024-10-19"))


def test_the_pulse_course_keeps_its_own_start_beside_the_oral_one():
    rv = run(_count_and_creatinine("2024-06-20"), IV_THEN_ORAL, as_of="2024-06-25")
    assert _blood(rv, "cyclophosphamide_pulse")["course_start"] == _ts("2024-01-15")
    assert _blood(rv, "cyclophosphamide_oral")["course_start"] == _ts("2024-06-20")


# --------------------------------------------------------------------------- F4

RAISED_FEB = [
    dose("P1", "methotrexate", "2022-01-01", "2024-02-01", amount=15, frequency="weekly"),
    dose("P1", "methotrexate", "2024-02-01", amount=20, frequency="weekly"),
]


def test_an_untested_increase_sets_the_interval_beside_its_due_date():
    """Raised 2024-02-01 after two stable years, check on 2024-01-10: due 2024-02-01 + 14 =
    2024-02-15 (earlier than 01-10 + 84 = 04-03), so the interval that set it is 14 days."""
    rv = run(full_check("P1", "2024-01-10"), RAISED_FEB, as_of="2024-02-10")
    row = _blood(rv)
    assert (row["interval_days"], row["next_due"]) == (14, _ts("2024-02-15"))
    table = schedule_table(rv.schedule_df()).iloc[0]
    assert (table["Every (days)"], table["Next due"]) == (14, "2024-02-15")


def test_an_increase_in_the_monthly_phase_shows_the_fortnight_that_set_the_date():
    """Start 2024-01-01, tests on 01-15, 01-29 and 02-12 (day 42: monthly, due 03-13), raised
    on 2024-02-20 and not tested since: due 02-20 + 14 = 2024-03-05, every 14 days."""
    doses = [
        dose("P1", "methotrexate", "2024-01-01", "2024-02-20", amount=15, frequency="weekly"),
        dose("P1", "methotrexate", "2024-02-20", amount=20, frequency="weekly"),
    ]
    labs = [r for d in ("2024-01-15", "2024-01-29", "2024-02-12") for r in full_check("P1", d)]
    table = schedule_table(run(labs, doses, as_of="2024-02-25").schedule_df()).iloc[0]
    assert (table["Every (days)"], table["Next due"]) == (14, "2024-03-05")


def test_an_increase_whose_fortnight_ends_after_the_routine_test_keeps_the_routine_interval():
    """Check on 2024-01-10 (due 04-03), raised on 2024-03-25: 03-25 + 14 = 04-08 is later, so
    the routine test of 04-03 comes first, 84 days after the check."""
    doses = [
        dose("P1", "methotrexate", "2022-01-01", "2024-03-25", amount=15, frequency="weekly"),
        dose("P1", "methotrexate", "2024-03-25", amount=20, frequency="weekly"),
    ]
    row = _blood(run(full_check("P1", "2024-01-10"), doses, as_of="2024-03-30"))
    assert (row["interval_days"], row["next_due"]) == (84, _ts("2024-04-03"))


def test_an_untested_increase_missed_by_more_than_its_fortnight_is_long_overdue():
    """Due 2024-02-15 (14 days after the increase), not tested: on 2024-03-01 it is 15 days
    late, more than the 14 days that set it: the long-overdue severity (action)."""
    row = _blood(run(full_check("P1", "2024-01-10"), RAISED_FEB, as_of="2024-03-01"))
    assert row["days_overdue"] == 15 and row["severity"] == "action"
    on_the_fortnight = _blood(run(full_check("P1", "2024-01-10"), RAISED_FEB, as_of="2024-02-29"))
    assert on_the_fortnight["days_overdue"] == 14 and on_the_fortnight["severity"] == "caution"


def test_a_repeat_test_shows_its_own_interval():
    """eGFR 59 on 2024-03-01 (below 60: repeat in 1 week): due 2024-03-08, every 7 days."""
    labs = [*full_check("P1", "2024-03-01", renal="egfr")]
    labs = [r if r["analyte"] != "egfr" else lab("P1", "2024-03-01", "egfr", 59.0) for r in labs]
    rv = run(labs, MTX_2022, as_of="2024-03-05")
    table = schedule_table(rv.schedule_df()).iloc[0]
    assert (table["Every (days)"], table["Next due"]) == (7, "2024-03-08")


# --------------------------------------------------------------------------- "1 day"


def test_one_day_late_is_said_in_the_singular():
    """Check on 2024-01-10, due 04-03 (84 days): 1 day late on 2024-04-04."""
    row = _blood(run(full_check("P1", "2024-01-10"), MTX_2022, as_of="2024-04-04"))
    assert "OVERDUE by 1 day (due 2024-04-03)" in row["message"]
    assert "1 days" not in row["message"]
    two = _blood(run(full_check("P1", "2024-01-10"), MTX_2022, as_of="2024-04-05"))
    assert "OVERDUE by 2 days (due 2024-04-03)" in two["message"]


def test_a_nadir_count_one_day_late_is_said_in_the_singular():
    doses = [
        dose("P1", "cyclophosphamide", "2024-01-15", "2024-06-20", amount=750, frequency="monthly", route="intravenous")
    ]
    row = _blood(run([], doses, as_of="2024-01-30"))  # window 01-23 to 01-29
    assert "OVERDUE by 1 day (due 2024-01-23 to 2024-01-29)" in row["message"]


def test_a_repeat_one_day_late_is_said_in_the_singular():
    labs = [*full_check("P1", "2024-03-01", renal="egfr")]
    labs = [r if r["analyte"] != "egfr" else lab("P1", "2024-03-01", "egfr", 59.0) for r in labs]
    row = _blood(run(labs, MTX_2022, as_of="2024-03-09"))  # due 2024-03-08
    assert "OVERDUE by 1 day (due 2024-03-08)" in row["message"] and "1 days" not in row["message"]
