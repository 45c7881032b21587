"""Monitoring schedule: next test due and overdue, evaluated on a given date."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from dashboard.rules import schedule
from tests.rules.builders import dose, full_check, lab, run

FBC = "wbc"
#: These tests pin the BSR 2017 schedule (kept so that old audits reproduce); the
#: BSR 2025 profile (the default) has its own tests in test_schedule_bsr2025.py.
BSR_2017 = "BSR 2017 / NICE"


def sched(labs, doses, as_of: str) -> pd.DataFrame:
    return run(labs, doses, as_of=as_of, profile=BSR_2017).schedule_df()


def check_at(pid: str, when: str) -> list[dict]:
    """A full monitoring check (issue 15: the check is FBC, creatinine/eGFR and ALT/AST)."""
    return [lab(pid, when, FBC, 6.0), lab(pid, when, "creatinine", 70.0), lab(pid, when, "alt", 20.0)]


def draws_on(*days: str) -> list[dict]:
    return [row for d in days for row in check_at("P1", d)]


def one(df: pd.DataFrame) -> pd.Series:
    assert len(df) == 1, df
    return df.iloc[0]


def test_new_drug_without_a_test_is_due_after_two_weeks():
    aza = [dose("P1", "azathioprine", "2024-01-01", amount=100)]
    row = one(sched([], aza, "2024-01-10"))
    assert row["next_due"] == pd.Timestamp("2024-01-15")
    assert not row["overdue"]
    row = one(sched([], aza, "2024-01-20"))
    assert row["overdue"] and row["days_overdue"] == 5
    assert row["severity"] == "caution"
    # issue 15 item 6: the message names the tests that are due
    assert (
        row["message"] == "Azathioprine: full blood count (every 14 days at present) OVERDUE by 5 days (due 2024-01-15)"
    )
    assert row["tests_due"] == "full blood count"
    assert row["source"] == "BSR 2017 / NICE CKS [bsr2017] [nhs_lanarkshire] [sps_mmf]"


@pytest.mark.parametrize(
    ("last_test", "interval", "due"),
    [
        ("2024-02-05", 14, "2024-02-19"),  # day 35: fortnightly for the first 6 weeks
        ("2024-02-12", 30, "2024-03-13"),  # day 42: monthly for 3 months
        ("2024-05-11", 30, "2024-06-10"),  # day 131
        # day 132 = 42 + 3 x 30: the third monthly test ends "monthly for 3 months"
        # (was 30 days, a fourth monthly test, before probe 7 F8)
        ("2024-05-12", 84, "2024-08-04"),
        ("2024-05-13", 84, "2024-08-05"),  # day 133: every 12 weeks
    ],
)
def test_standard_phases(last_test, interval, due):
    row = one(
        sched(
            draws_on(last_test), [dose("P1", "methotrexate", "2024-01-01", amount=15, frequency="weekly")], "2024-05-20"
        )
    )
    assert row["interval_days"] == interval
    assert row["next_due"] == pd.Timestamp(due)


def test_dose_increase_restarts_fortnightly_then_back_to_the_previous_schedule():
    doses = [
        dose("P1", "azathioprine", "2023-01-01", "2024-01-01", amount=50),
        dose("P1", "azathioprine", "2024-01-01", amount=100),
    ]
    # increase after the last test: the next test comes forward to 2 weeks after it
    row = one(sched(draws_on("2023-12-15"), doses, "2024-01-05"))
    assert row["next_due"] == pd.Timestamp("2024-01-15")
    assert row["last_increase"] == pd.Timestamp("2024-01-01")
    # a test 9 days after the increase: fortnightly
    row = one(sched(draws_on("2023-12-15", "2024-01-10"), doses, "2024-01-12"))
    assert (row["interval_days"], row["next_due"]) == (14, pd.Timestamp("2024-01-24"))
    # stable for 6 weeks: back to every 12 weeks (the course is older than 4.5 months)
    row = one(sched(draws_on("2024-02-12"), doses, "2024-02-20"))
    assert (row["interval_days"], row["next_due"]) == (84, pd.Timestamp("2024-05-06"))


def test_a_decrease_does_not_restart_the_schedule():
    doses = [
        dose("P1", "azathioprine", "2023-01-01", "2024-01-01", amount=100),
        dose("P1", "azathioprine", "2024-01-01", amount=50),
    ]
    row = one(sched(draws_on("2023-12-15"), doses, "2024-01-05"))
    assert row["next_due"] == pd.Timestamp("2024-03-08")
    assert pd.isna(row["last_increase"])


def test_ciclosporin_fortnightly_for_three_months_then_monthly():
    csa = [dose("P1", "ciclosporin", "2024-01-01", amount=100, frequency="BID")]
    assert one(sched(draws_on("2024-03-25"), csa, "2024-03-26"))["interval_days"] == 14  # day 84
    assert one(sched(draws_on("2024-04-05"), csa, "2024-04-06"))["interval_days"] == 30  # day 95
    assert one(sched(draws_on("2025-04-05"), csa, "2025-04-06"))["interval_days"] == 30


def test_ciclosporin_after_an_increase_is_fortnightly_until_stable_for_three_months():
    """Audit 17 (F12), NHS Lanarkshire: every 2 weeks until the dose has been stable for 3
    months.  Started 2023-01-01, increased 2024-03-01: a check on day 84 after the increase
    (2024-05-24) is still fortnightly (was monthly from day 42); on day 91 (2024-05-31),
    monthly."""
    csa = [
        dose("P1", "ciclosporin", "2023-01-01", "2024-03-01", amount=100, frequency="BID"),
        dose("P1", "ciclosporin", "2024-03-01", amount=125, frequency="BID"),
    ]
    assert one(sched(draws_on("2024-05-24"), csa, "2024-05-25"))["interval_days"] == 14
    assert one(sched(draws_on("2024-05-31"), csa, "2024-06-01"))["interval_days"] == 30


def test_tacrolimus_stays_monthly():
    tac = [dose("P1", "tacrolimus", "2023-01-01", amount=2, frequency="BID")]
    assert one(sched(draws_on("2024-06-01"), tac, "2024-06-02"))["interval_days"] == 30


@pytest.mark.parametrize("drug", ["hydroxychloroquine", "prednisolone", "belimumab", "allopurinol"])
def test_drugs_without_a_blood_schedule(drug):
    assert sched([], [dose("P1", drug, "2024-01-01", amount=200)], "2024-06-01").empty


def test_a_stopped_drug_has_no_schedule():
    assert sched([], [dose("P1", "azathioprine", "2023-01-01", "2024-01-01", amount=100)], "2024-06-01").empty


def test_restart_after_a_gap_is_a_new_course():
    doses = [
        dose("P1", "azathioprine", "2022-01-01", "2023-01-01", amount=100),
        dose("P1", "azathioprine", "2024-01-01", amount=100),
    ]
    row = one(sched(draws_on("2024-01-10"), doses, "2024-01-12"))
    assert row["course_start"] == pd.Timestamp("2024-01-01")
    assert row["interval_days"] == 14


def test_cyclophosphamide_nadir_window():
    cyc = [dose("P1", "cyclophosphamide", "2024-01-01", amount=750, frequency="monthly", route="iv")]
    row = one(sched([], cyc, "2024-01-05"))
    assert row["schedule"] == "cyclophosphamide_pulse"
    assert row["next_due"] == pd.Timestamp("2024-01-09")  # day 8 after the pulse
    assert not row["overdue"]
    assert not one(sched([], cyc, "2024-01-15"))["overdue"]  # the window runs to day 14
    late = one(sched([], cyc, "2024-01-20"))
    assert late["overdue"] and late["days_overdue"] == 5
    assert "nadir blood count" in late["message"]
    done = one(sched(draws_on("2024-01-12"), cyc, "2024-01-20"))
    assert not done["overdue"]
    assert done["next_due"] == pd.Timestamp("2024-02-01")  # before the next pulse
    assert "before the next pulse" in done["message"]


def test_fortnightly_pulses_follow_the_latest_pulse():
    cyc = [
        dose("P1", "cyclophosphamide", "2024-01-01", "2024-03-12", amount=500, frequency="every 2 weeks", route="iv")
    ]
    row = one(sched(draws_on("2024-01-10"), cyc, "2024-01-17"))
    assert row["next_due"] == pd.Timestamp("2024-01-23")  # day 8 after the pulse of 15 January


def test_summary_takes_the_earliest_due_date_and_any_overdue():
    doses = [
        dose("P1", "methotrexate", "2023-01-01", amount=15, frequency="weekly"),
        dose("P1", "tacrolimus", "2023-01-01", amount=2, frequency="BID"),
    ]
    rv = run(draws_on("2024-05-01"), doses, as_of="2024-06-05", profile=BSR_2017)
    s = rv.summary_df().iloc[0]
    assert s["next_test_due"] == pd.Timestamp("2024-05-31")  # tacrolimus monthly
    assert bool(s["overdue"]) and s["days_overdue"] == 5
    assert rv.as_of == dt.date(2024, 6, 5)


def test_a_single_pulse_is_followed_for_four_weeks_only():
    cyc = [dose("P1", "cyclophosphamide", "2024-01-01", amount=750, frequency="single", route="iv")]
    assert one(sched([], cyc, "2024-01-20"))["overdue"]  # nadir check missed
    assert sched([], cyc, "2024-01-29").empty


def test_lateness_counts_calendar_days_whatever_the_time_of_the_last_draw():
    aza = [dose("P1", "azathioprine", "2020-01-01", amount=100)]
    row = one(sched(check_at("P1", "2024-04-21 08:21"), aza, "2024-11-16"))
    assert row["next_due"] == pd.Timestamp("2024-07-14 08:21")
    assert row["days_overdue"] == (dt.date(2024, 11, 16) - dt.date(2024, 7, 14)).days == 125
    assert not one(sched(check_at("P1", "2024-04-21 08:21"), aza, "2024-07-14"))["overdue"]


def test_a_draw_on_the_review_day_counts():
    aza = [dose("P1", "azathioprine", "2020-01-01", amount=100)]
    labs = check_at("P1", "2024-04-21 08:00") + check_at("P1", "2024-11-16 14:30")
    row = one(sched(labs, aza, "2024-11-16"))
    assert row["last_test"] == pd.Timestamp("2024-11-16 14:30")
    assert not row["overdue"]


def test_the_message_says_when_a_dose_increase_brought_the_test_forward():
    # audit 18 finding 9: the interval "at present" is not what made it due
    doses = [
        dose("P1", "azathioprine", "2023-01-01", "2024-01-01", amount=50),
        dose("P1", "azathioprine", "2024-01-01", amount=100),
    ]
    row = one(sched(draws_on("2023-12-15"), doses, "2024-01-20"))  # due 2024-01-01 + 14 days
    assert row["message"] == (
        "Azathioprine: full blood count (14 days after the dose increase of 2024-01-01) OVERDUE by 5 days (due 2024-01-15)"
    )


def test_the_message_of_a_course_never_tested_says_so_rather_than_a_first_phase_interval():
    # started 2023-01-01, never tested: due 2023-01-15, 370 days late on 2024-01-20
    aza = [dose("P1", "azathioprine", "2023-01-01", amount=100)]
    row = one(sched([], aza, "2024-01-20"))
    assert row["days_overdue"] == 370
    assert row["message"].startswith(
        "Azathioprine: full blood count (none recorded since the course began on 2023-01-01) OVERDUE by 370 days"
    )


def test_a_schedule_that_names_a_test_the_dashboard_does_not_track_says_so():
    """Probe 7 F6: the ciclosporin and tacrolimus rows promised "BP and glucose", but glucose
    is no analyte here and is never said to be due: each description that names glucose (or
    trough levels) says it is not tracked, so a clinician does not take it as watched."""
    from dashboard.rules.data import schedule_file

    for name, spec in schedule_file()["schedules"].items():
        text = spec.get("description", "")
        if "glucose" in text or "trough" in text:
            assert "not tracked here" in text, name


def test_monthly_for_three_months_is_three_monthly_tests():
    """Probe 7 F8.  BSR 2017 via NICE CKS: every 2 weeks until stable for 6 weeks (days 14,
    28, 42), then monthly for 3 months (72, 102, 132: three monthly intervals after day 42,
    the last one ending at day 132 = 42 + 90), then at least every 12 weeks (216, 300, 384)."""
    spec = schedule.spec_for("bsr2025_standard")
    days = [t.day for t in schedule.planned_tests(spec, [], 400)]
    assert days == [14, 28, 42, 72, 102, 132, 216, 300, 384]


def test_no_overdue_between_the_third_monthly_test_and_twelve_weeks_later():
    """Probe 7 F8, the review: methotrexate from 1 Jan 2024, full checks on days 14, 28, 42,
    72, 102 and 132 (12 May).  The next is 12 weeks later, 4 Aug 2024 (day 216): on 1 Jul
    (day 182, when a fourth monthly test on day 162 would be 20 days late) nothing is overdue."""
    mtx = [dose("P1", "methotrexate", "2024-01-01", amount=15, frequency="weekly")]
    days = [pd.Timestamp("2024-01-01") + pd.Timedelta(days=k) for k in (14, 28, 42, 72, 102, 132)]
    row = one(sched(draws_on(*[d.date().isoformat() for d in days]), mtx, "2024-07-01"))
    assert (row["interval_days"], row["next_due"]) == (84, pd.Timestamp("2024-08-04"))
    assert not row["overdue"]


def blood_rows(labs, doses, as_of: str) -> pd.DataFrame:
    """The blood-test rows of the schedule under the default profile (BSR 2025)."""
    df = run(labs, doses, as_of=as_of).schedule_df()
    return df[~df["schedule"].str.startswith("bp_")]


def full_checks(*days: str) -> list[dict]:
    return [row for d in days for row in full_check("P1", d)]


EURO_LUPUS = [
    dose("P1", "cyclophosphamide", "2024-01-01", "2024-03-12", amount=500, frequency="every 2 weeks", route="iv")
]


def test_the_nadir_count_after_the_last_pulse_of_a_course_is_still_due():
    """Probe 7 F1.  Euro-Lupus: 500 mg IV every 2 weeks x 6 (Houssiau 2002), pulses on 1, 15,
    29 Jan, 12, 26 Feb and 11 Mar 2024; the row ends on 12 Mar, the day after the last pulse
    (as the sample panel's Euro-Lupus story writes it).  The schedule's own rule (schedule.toml
    [schedules.cyclophosphamide_pulse]: FBC at the nadir, days 8-14 after each pulse) makes a
    count due 19-25 Mar 2024 (11 Mar + 8 and + 14 days).  Every earlier nadir was checked."""
    labs = full_checks("2024-01-11", "2024-01-25", "2024-02-08", "2024-02-22", "2024-03-07")
    rows = blood_rows(labs, EURO_LUPUS, "2024-03-20")
    assert len(rows) == 1
    row = rows.iloc[0]
    assert row["next_due"] == pd.Timestamp("2024-03-19")
    assert row["due_by"] == pd.Timestamp("2024-03-25")
    # and, with no count by 28 Mar, it is overdue (3 days after the window closed)
    late = blood_rows(labs, EURO_LUPUS, "2024-03-28").iloc[0]
    assert late["overdue"] and late["days_overdue"] == 3


def test_after_the_last_nadir_count_the_course_is_said_over_then_leaves_the_schedule():
    """Probe 7 F1: with the last nadir count taken (21 Mar, day 10 after the 11 Mar pulse)
    nothing is due and the row says no further pulse is recorded (never 'before the next pulse
    due -'); 28 days after the last pulse (8 Apr) the course has left the schedule."""
    labs = full_checks("2024-01-11", "2024-01-25", "2024-02-08", "2024-02-22", "2024-03-07", "2024-03-21")
    row = one(blood_rows(labs, EURO_LUPUS, "2024-03-28"))
    assert not row["overdue"] and pd.isna(row["next_due"])
    assert row["message"] == (
        "Cyclophosphamide: nadir blood count after the last pulse (2024-03-11) done; no further pulse recorded"
    )
    assert blood_rows(labs, EURO_LUPUS, "2024-04-08").empty


def test_a_single_pulse_with_an_end_date_is_followed_as_one_without():
    """Probe 7 F1: a single pulse recorded with an end the next day (1-2 Jan 2024) is followed
    like one without: its nadir count (9-15 Jan) is overdue on 20 Jan (5 days)."""
    cyc = [dose("P1", "cyclophosphamide", "2024-01-01", "2024-01-02", amount=750, frequency="single", route="iv")]
    row = one(blood_rows([], cyc, "2024-01-20"))
    assert row["overdue"] and row["days_overdue"] == 5


NIH = [dose("P1", "cyclophosphamide", "2024-01-01", "2024-06-02", amount=1000, frequency="monthly", route="iv")]


def test_a_pulse_without_a_count_before_it_is_not_passed_over():
    """Probe 7 F2.  NIH regimen: monthly IV pulses on the 1st from 1 Jan 2024; the only count
    is the nadir count of 11 Jan.  The dashboard itself says on 31 Jan 'blood count before the
    next pulse due 2024-02-01' (the knowledge entries: 'FBC before each pulse'; PMC7771069 Box
    6: before each infusion).  On 1 Feb, the pulse day, that count is still due that day; by 3
    Feb, with none taken, it was missed (2 days late), whatever the next nadir window says."""
    labs = full_checks("2024-01-11")
    before = one(blood_rows(labs, NIH, "2024-01-31"))
    assert before["next_due"] == pd.Timestamp("2024-02-01") and "before the next pulse" in before["message"]
    on_the_day = one(blood_rows(labs, NIH, "2024-02-01"))
    assert on_the_day["next_due"] == pd.Timestamp("2024-02-01") and not on_the_day["overdue"]
    after = one(blood_rows(labs, NIH, "2024-02-03"))
    assert after["overdue"] and after["days_overdue"] == 2
    # the message names the pulse and the days no count was taken (after the 1 Jan pulse's
    # nadir window, days 8-14, closed on 15 Jan)
    assert after["message"] == (
        "Cyclophosphamide: blood count before the pulse of 2024-02-01 (none recorded from 2024-01-16 to the "
        "pulse day) OVERDUE by 2 days (due 2024-02-01)"
    )
    # a count taken since (5 Feb) ends the report: the nadir window of the 1 Feb pulse follows
    row = one(blood_rows(labs + full_checks("2024-02-05"), NIH, "2024-02-06"))
    assert not row["overdue"] and row["next_due"] == pd.Timestamp("2024-02-09")


def test_a_count_before_the_pulse_is_what_the_pulse_asks_for():
    """Probe 7 F2: the NIH pulses with a count on 30 Jan (after the 1 Jan pulse's nadir window
    and before the 1 Feb pulse): nothing missed; on 3 Feb the nadir window of the 1 Feb pulse
    (9-15 Feb) is next, not overdue.  A count on the pulse day itself counts too."""
    for pre in ("2024-01-30", "2024-02-01"):
        row = one(blood_rows(full_checks("2024-01-11", pre), NIH, "2024-02-03"))
        assert not row["overdue"] and row["next_due"] == pd.Timestamp("2024-02-09"), pre


def test_fortnightly_pulses_take_the_nadir_count_as_the_count_before_the_next_pulse():
    """Euro-Lupus, pulses every 2 weeks: the nadir window (days 8-14) of a pulse ends on the
    next pulse day, so a count in it (25 Jan for the 15 Jan pulse) is the count before the 29
    Jan pulse.  Without one (only the 11 Jan count), the 29 Jan pulse is reported on 30 Jan."""
    row = one(blood_rows(full_checks("2024-01-11", "2024-01-25"), EURO_LUPUS, "2024-01-30"))
    assert not row["overdue"] and row["next_due"] == pd.Timestamp("2024-02-06")
    row = one(blood_rows(full_checks("2024-01-11"), EURO_LUPUS, "2024-01-30"))
    assert row["overdue"] and row["next_due"] == pd.Timestamp("2024-01-29")
    assert "before the pulse of 2024-01-29 (none recorded from 2024-01-23" in row["message"]
