"""A thiopurine with allopurinol: the full blood count weekly for the first 3 months of the
combination, then monthly, as long as both are taken (probe30, "Left").

Source: Medsafe, "Azathioprine-allopurinol interaction: danger!", Prescriber Update 17:16-17,
December 1998 (references.toml medsafe_aza_allo): "if co-administration is necessary, the
dose of azathioprine should be reduced to 25% of the recommended dose and the patient's
blood count should be checked weekly for the first 3 months of treatment and monthly
thereafter".  Weekly = 7 days; 3 months = 91 days (13 weeks, as the other 3-month phases
of schedule.toml); monthly = the schedules' 30 days.  The 3 months count from the later of
the start of the combination (the later course start) and the last dose increase of either
drug (the combination mechanism of schedule.toml); the monthly tests go on while both are
taken.  A regulator's interaction rule, not a BSR schedule: the same under both monitoring
profiles.  Mercaptopurine: the same interaction (xanthine oxidase breaks down
6-mercaptopurine itself), the same rule.

Hand-derived dates (azathioprine 100 mg/day from 2024-01-01, reduced to 25 mg/day when
allopurinol 100 mg/day starts on 2024-06-01; June 30 days, July and August 31):

* full check 2024-06-01, the day allopurinol starts: day 0 of the combination, weekly:
  due 2024-06-08 (alone, 152 days into the course, the 12-weekly phase: 2024-08-24);
  on 2024-06-10 overdue by 2 days ("caution"); on 2024-06-30 by 22 days, more than
  max(7, 14) days: "action";
* full check 2024-08-30, day 90 of the combination (< 91): still weekly: due 2024-09-06;
* full check 2024-08-31, day 91: the 3 months are over, monthly: due 2024-09-30;
* full check 2025-06-01, a year in: still monthly: due 2025-07-01 (without allopurinol:
  every 84 days, 2025-08-24; with a clinician-set interval of 182 days still 2025-07-01);
* last full check 2024-05-15, before allopurinol: the first weekly test is a week into
  the combination, 2024-06-08 (not 2024-05-22, before the combination began); on
  2024-06-20 overdue by 12 days, "caution";
* allopurinol raised to 200 mg on 2024-10-01, full check 2024-09-20 (day 111: monthly,
  2024-10-20): the increase restarts the 3 months, a week after it: 2024-10-08 (the
  azathioprine's own schedule, not increased, would ask on 2024-12-13);
* allopurinol stopped on 2024-09-01, full check 2024-09-20: azathioprine alone, every 84
  days: 2024-12-13;
* mercaptopurine 50 mg/day from 2024-01-01 with allopurinol from 2024-06-01, full check
  2024-06-01: due 2024-06-08.
"""

from __future__ import annotations

import re

import pandas as pd
import pytest

from dashboard import knowledge
from dashboard.rules import schedule
from tests.rules.builders import dose, full_check, interval, run

BSR_2017 = "BSR 2017 / NICE"
PROFILES = [None, BSR_2017]


def aza(start="2024-01-01", end=None, amount=100.0):
    return dose("A1", "azathioprine", start, end, amount=amount)


def allo(start="2024-06-01", end=None, amount=100.0):
    return dose("A1", "allopurinol", start, end, amount=amount)


def reduced_at_allopurinol() -> list[dict]:
    return [aza(end="2024-06-01"), aza("2024-06-01", amount=25.0), allo()]


def row(labs, doses, as_of, profile=None, drug="azathioprine", intervals=()) -> pd.Series:
    df = run(labs, doses, as_of=as_of, profile=profile, intervals=list(intervals)).schedule_df()
    return df[~df["schedule"].str.startswith("bp_")].set_index("drug").loc[drug]


@pytest.mark.parametrize("profile", PROFILES)
def test_allopurinol_started_makes_the_next_blood_count_due_a_week_later(profile):
    r = row(full_check("A1", "2024-06-01"), reduced_at_allopurinol(), "2024-06-05", profile)
    assert r["next_due"] == pd.Timestamp("2024-06-08")
    assert r["interval_days"] == 7 and r["interval_basis"] == "combination"
    assert not r["overdue"]
    assert "allopurinol" in r["message"] and "weekly" in r["message"]
    assert "Medsafe" in r["source"]


@pytest.mark.parametrize("profile", PROFILES)
def test_without_allopurinol_the_same_patient_is_12_weekly(profile):
    r = row(full_check("A1", "2024-06-01"), [aza()], "2024-06-05", profile)
    assert r["next_due"] == pd.Timestamp("2024-08-24") and r["interval_days"] == 84
    assert "Medsafe" not in r["source"]


@pytest.mark.parametrize(("as_of", "late", "severity"), [("2024-06-10", 2, "caution"), ("2024-06-30", 22, "action")])
def test_the_weekly_test_missed_is_overdue(as_of, late, severity):
    r = row(full_check("A1", "2024-06-01"), reduced_at_allopurinol(), as_of)
    assert r["overdue"] and r["days_overdue"] == late and r["severity"] == severity
    assert "OVERDUE" in r["message"]


@pytest.mark.parametrize("profile", PROFILES)
@pytest.mark.parametrize(("check", "due", "every"), [("2024-08-30", "2024-09-06", 7), ("2024-08-31", "2024-09-30", 30)])
def test_weekly_for_3_months_then_monthly(profile, check, due, every):
    r = row(full_check("A1", check), reduced_at_allopurinol(), "2024-09-01", profile)
    assert r["next_due"] == pd.Timestamp(due)
    assert r["interval_days"] == every and r["interval_basis"] == "combination"


@pytest.mark.parametrize("profile", PROFILES)
def test_monthly_for_as_long_as_both_are_taken(profile):
    r = row(full_check("A1", "2025-06-01"), reduced_at_allopurinol(), "2025-06-05", profile)
    assert r["next_due"] == pd.Timestamp("2025-07-01") and r["interval_days"] == 30
    assert r["interval_basis"] == "combination"


def test_a_clinician_set_interval_does_not_lengthen_it():
    iv = [interval("A1", 182, "2025-05-01")]
    r = row(full_check("A1", "2025-06-01"), reduced_at_allopurinol(), "2025-06-05", intervals=iv)
    assert r["next_due"] == pd.Timestamp("2025-07-01") and r["interval_basis"] == "combination"
    alone = row(full_check("A1", "2025-06-01"), [aza()], "2025-06-05", intervals=iv)
    assert alone["interval_days"] == 182  # the interval is the patient's without allopurinol


def test_a_check_before_allopurinol_makes_the_first_weekly_test_a_week_into_the_combination():
    r = row(full_check("A1", "2024-05-15"), reduced_at_allopurinol(), "2024-06-20")
    assert r["next_due"] == pd.Timestamp("2024-06-08")
    assert r["overdue"] and r["days_overdue"] == 12 and r["severity"] == "caution"
    assert r["interval_basis"] == "combination"


def test_an_allopurinol_increase_restarts_the_weekly_tests():
    doses = [
        aza(end="2024-06-01"),
        aza("2024-06-01", amount=25.0),
        allo(end="2024-10-01"),
        allo("2024-10-01", None, 200.0),
    ]
    r = row(full_check("A1", "2024-09-20"), doses, "2024-10-03")
    assert r["next_due"] == pd.Timestamp("2024-10-08")
    assert r["interval_days"] == 7 and r["interval_basis"] == "combination"
    before = row(full_check("A1", "2024-09-20"), doses, "2024-09-25")
    assert before["next_due"] == pd.Timestamp("2024-10-20") and before["interval_days"] == 30


def test_allopurinol_stopped_ends_the_combination():
    doses = [aza(end="2024-06-01"), aza("2024-06-01", amount=25.0), allo(end="2024-09-01")]
    r = row(full_check("A1", "2024-09-20"), doses, "2024-09-25")
    assert r["next_due"] == pd.Timestamp("2024-12-13") and r["interval_days"] == 84
    assert r["interval_basis"] == "schedule"


@pytest.mark.parametrize("profile", PROFILES)
def test_mercaptopurine_with_allopurinol_is_weekly_too(profile):
    doses = [dose("A1", "mercaptopurine", "2024-01-01", amount=50.0), allo()]
    r = row(full_check("A1", "2024-06-01"), doses, "2024-06-05", profile, drug="mercaptopurine")
    assert r["next_due"] == pd.Timestamp("2024-06-08") and r["interval_basis"] == "combination"


# ---------------------------------------------------------------- the page and the schedule

WORDS = {7: "weekly", 30: "monthly"}
MONTHS = {91: "3 months"}


def _thiopurine_allopurinol(profile: str = "BSR 2025") -> dict:
    """The one combination of a thiopurine with allopurinol under ``profile``."""
    [combo] = [
        c
        for c in schedule.combinations(profile).values()
        if "allopurinol" in c["drugs"] and ["azathioprine", "mercaptopurine"] in c["drugs"]
    ]
    return combo


@pytest.mark.parametrize("profile", ["BSR 2025", "BSR 2017"])
def test_the_schedules_numbers_are_medsafes(profile):
    combo = _thiopurine_allopurinol(profile)
    steps = [(p.get("until_stable_days"), p["every_days"]) for p in combo["phases"]]
    assert steps == [(91, 7), (None, 30)]  # weekly for the first 3 months, then monthly (for good)
    assert "medsafe.govt.nz/profs/puarticles/azathioprine.htm" in combo["citation"]
    assert "checked weekly for the first 3 months of treatment and monthly" in combo["citation"]


def _said(phases: list[dict]) -> str:
    first, then = phases
    return f"{WORDS[first['every_days']]} for the first {MONTHS[first['until_stable_days']]}, then {WORDS[then['every_days']]}"


def test_the_dosing_page_says_what_the_schedule_enforces():
    """The allopurinol message of each thiopurine and the Medsafe reference say the
    schedule's two steps in words, the same numbers."""
    words = _said(_thiopurine_allopurinol()["phases"])
    assert words == "weekly for the first 3 months, then monthly"
    rules = knowledge.dosing_rules()
    for drug in ("azathioprine", "mercaptopurine"):
        message = rules[drug]["allopurinol"]["message"]
        assert f"FBC {words}" in message, drug
        assert "the review" in message, drug  # the page says the review checks it
    assert words in knowledge.raw("references.toml")["refs"]["medsafe_aza_allo"]["note"]


def test_the_label_schedule_is_said_as_the_labels_and_the_review_schedule_named():
    """[azathioprine.close_monitoring] and the titration's blood text give the label's
    schedule as the label's, and say the review checks the monitoring profile's (BSR)
    schedule instead, with its source."""
    rules = knowledge.dosing_rules()["azathioprine"]
    for text in (rules["close_monitoring"]["message"], rules["titration"]["blood"]):
        assert "weekly in the first month, twice a month in months 2 and 3" in text
        assert re.search(r"\blabel\b", text)
        assert "review checks" in text and "BSR" in text
    assert "bsr2017" in rules["close_monitoring"]["refs"] or "sps_monitoring" in rules["close_monitoring"]["refs"]


def test_an_azathioprine_increase_during_the_combination_is_said_as_the_combinations():
    """Azathioprine raised from 25 to 50 mg on 2024-10-01 with a full check that day: its
    own schedule asks fortnightly (2024-10-15), the combination weekly from the increase
    (2024-10-08); the row names the combination that set the date, not the fortnightly
    schedule."""
    doses = [aza(end="2024-06-01"), aza("2024-06-01", "2024-10-01", 25.0), aza("2024-10-01", amount=50.0), allo()]
    r = row(full_check("A1", "2024-10-01"), doses, "2024-10-03")
    assert r["next_due"] == pd.Timestamp("2024-10-08") and r["interval_days"] == 7
    assert r["interval_basis"] == "combination" and "Medsafe" in r["source"]
    assert "allopurinol" in r["message"]


def test_only_the_blood_count_is_weekly_with_allopurinol():
    """Medsafe asks for the blood count weekly: azathioprine from 2024-01-01 (12-weekly
    maintenance by day 152), allopurinol from 2024-06-01, a full check on 2024-06-01.  On
    2024-06-20, with nothing since, the FBC (due 2024-06-08) is 12 days late; creatinine/eGFR,
    ALT/AST and albumin keep the drug's own 84 days (due 2024-08-24) and are not asked for."""
    from tests.rules.builders import dose, lab, run

    doses = [
        dose("P1", "azathioprine", "2024-01-01", amount=100),
        dose("P1", "allopurinol", "2024-06-01", amount=100),
    ]
    labs = [lab("P1", "2024-06-01", a, v) for a, v in (("wbc", 6.0), ("egfr", 80.0), ("alt", 20.0), ("albumin", 40.0))]
    df = run(labs, doses, as_of="2024-06-20").schedule_df()
    row = df[~df["schedule"].str.startswith("bp_")].iloc[0]
    assert row["tests_due"] == "full blood count"
    assert str(row["next_due"].date()) == "2024-06-08" and int(row["days_overdue"]) == 12
