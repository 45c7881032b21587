"""A drug whose start is recorded for after the review date (a planned start or switch).

probe39 F8.  BSR (2017, as restated by SPS and NICE CKS; kept by the BSR 2025 profile): a
new csDMARD is tested every 2 weeks from its start until the dose has been stable for 6
weeks, so its first tests are due 14 days after the start.  A dose recorded from a later
date is not being taken on the review date: no dose check, no dose context, not among the
doses now; the schedule names the start and the first tests, and the patient's next test
due is never later than them.  A course whose recorded end comes before its next test
gives no date after that end as the patient's next test; it says the end instead.

Dates counted by hand (as of 10 Mar 2026; a whole check on 1 Feb and 1 Mar 2026):

* azathioprine 100 mg/day since 1 Jan 2025, in maintenance: every 84 days, 1 Mar + 84 d
  = 24 May 2026 (March 31 d: 31 Mar is day 30, 30 Apr day 60, 24 May day 84);
* mycophenolate mofetil (or methotrexate) from 1 Apr 2026: first tests 1 Apr + 14 d =
  15 Apr 2026;
* IV cyclophosphamide, first pulse 1 Apr 2026: the nadir count days 8-14 after it, 9 to
  15 Apr 2026;
* azathioprine from 1 Apr 2026 with allopurinol in force since 2025 (Medsafe: the blood
  count weekly for the first 3 months of the combination): the full blood count 1 Apr + 7 d
  = 8 Apr; creatinine/eGFR, ALT/AST and albumin keep the drug's own 14 days, 15 Apr.
"""

from __future__ import annotations

import pandas as pd

from tests.rules.builders import dose, full_check, lab, run

CHECKS = [*full_check("P1", "2026-02-01"), *full_check("P1", "2026-03-01")]
AZA_TO_APRIL = dose("P1", "azathioprine", "2025-01-01", "2026-04-01", amount=100)
MMF_FROM_APRIL = dose("P1", "mycophenolate mofetil", "2026-04-01", amount=1000, frequency="BID")


def _rows(rv) -> pd.DataFrame:
    return rv.schedule_df().set_index("drug")


def _summary(rv) -> pd.Series:
    return rv.summary_df().set_index("patient_id").loc["P1"]


def test_a_recorded_switch_names_the_new_drugs_start_and_its_first_tests():
    rv = run(CHECKS, [AZA_TO_APRIL, MMF_FROM_APRIL], as_of="2026-03-10")
    mmf = _rows(rv).loc["mycophenolate mofetil"]
    assert (
        mmf["message"] == "Mycophenolate mofetil: starts 2026-04-01 (as recorded): first blood tests due by 2026-04-15"
    )
    assert mmf["course_start"] == pd.Timestamp("2026-04-01")
    assert mmf["next_due"] == mmf["due_by"] == pd.Timestamp("2026-04-15")
    assert mmf["interval_days"] == 14 and not mmf["overdue"] and mmf["severity"] == ""
    assert pd.isna(mmf["last_test"])
    assert mmf["tests_due"] == "full blood count; creatinine/eGFR; ALT/AST; albumin"
    s = _summary(rv)
    assert s["next_test_due"] == pd.Timestamp("2026-04-15") and not s["overdue"]


def test_the_old_drug_says_its_end_beside_a_date_after_it():
    # the 12-weekly test from 1 Mar (24 May) is kept: a recorded end may be one order's end;
    # the row says the end beside it, and the new drug's first tests (15 Apr) lead
    rv = run(CHECKS, [AZA_TO_APRIL, MMF_FROM_APRIL], as_of="2026-03-10")
    aza = _rows(rv).loc["azathioprine"]
    assert aza["next_due"] == pd.Timestamp("2026-05-24") and not aza["overdue"]
    assert aza["message"].endswith(
        "due 2026-05-24 — ends 2026-04-01 (as recorded): that test is owed only if it is continued"
    )
    assert _summary(rv)["next_test_due"] == pd.Timestamp("2026-04-15")


def test_a_planned_dose_is_not_in_force_on_the_review_date():
    rv = run(CHECKS, [AZA_TO_APRIL, MMF_FROM_APRIL], as_of="2026-03-10")
    s = _summary(rv)
    assert "Mycophenolate" not in s["current_doses"] and "mycophenolate" not in s["recorded_drugs"]
    checks = rv.dose_checks_df()
    assert not (checks["drug"] == "mycophenolate mofetil").any()


def test_a_planned_start_is_never_overdue_before_it_and_agrees_with_the_review_after_it():
    # the day before the start: still only planned, not overdue
    mmf = _rows(run(CHECKS, [AZA_TO_APRIL, MMF_FROM_APRIL], as_of="2026-03-31")).loc["mycophenolate mofetil"]
    assert mmf["next_due"] == pd.Timestamp("2026-04-15") and not mmf["overdue"]
    # 20 Apr, no test since the start: the row in force gives the same date, 5 days late
    mmf = _rows(run(CHECKS, [AZA_TO_APRIL, MMF_FROM_APRIL], as_of="2026-04-20")).loc["mycophenolate mofetil"]
    assert mmf["next_due"] == pd.Timestamp("2026-04-15") and mmf["overdue"] and mmf["days_overdue"] == 5


def test_a_start_recorded_only_for_the_future_gives_a_schedule_row():
    mtx = [dose("P1", "methotrexate", "2026-04-01", amount=15, frequency="weekly")]
    rv = run(CHECKS, mtx, as_of="2026-03-10")
    row = _rows(rv).loc["methotrexate"]
    assert row["message"] == "Methotrexate: starts 2026-04-01 (as recorded): first blood tests due by 2026-04-15"
    s = _summary(rv)
    assert s["next_test_due"] == pd.Timestamp("2026-04-15")
    assert s["current_doses"] == ""


def test_a_drug_recorded_to_end_before_its_next_test_keeps_the_date_and_says_the_end():
    # nothing proves a stop (an order's end may be renewed): the patient's next test is
    # never dropped on a recorded end, it is said beside it
    rv = run(CHECKS, [AZA_TO_APRIL], as_of="2026-03-10")
    aza = _rows(rv).loc["azathioprine"]
    assert "ends 2026-04-01 (as recorded)" in aza["message"]
    s = _summary(rv)
    assert s["next_test_due"] == pd.Timestamp("2026-05-24") and not s["overdue"]


def test_a_test_due_before_the_recorded_end_keeps_its_date():
    aza = dose("P1", "azathioprine", "2025-01-01", "2026-06-01", amount=100)  # ends after 24 May
    row = _rows(run(CHECKS, [aza], as_of="2026-03-10")).loc["azathioprine"]
    assert row["next_due"] == pd.Timestamp("2026-05-24")
    assert "ends" not in row["message"]


def test_a_planned_change_of_a_drug_being_taken_is_no_start_and_no_end():
    doses = [AZA_TO_APRIL, dose("P1", "azathioprine", "2026-04-01", amount=150)]
    sched = run(CHECKS, doses, as_of="2026-03-10").schedule_df()
    assert len(sched) == 1
    row = sched.iloc[0]
    assert "starts" not in row["message"] and "ends" not in row["message"]
    assert pd.notna(row["next_due"])


def test_a_planned_first_pulse_asks_for_its_nadir_count():
    cyc = [dose("P1", "cyclophosphamide", "2026-04-01", amount=500, frequency="every 2 weeks", route="iv")]
    row = _rows(run(CHECKS, cyc, as_of="2026-03-10")).loc["cyclophosphamide"]
    assert row["next_due"] == pd.Timestamp("2026-04-09") and row["due_by"] == pd.Timestamp("2026-04-15")
    assert row["interval_basis"] == "pulse" and not row["overdue"]
    assert row["message"].startswith("Cyclophosphamide: starts 2026-04-01 (as recorded): nadir blood count")


def test_a_planned_thiopurine_beside_allopurinol_is_tested_weekly_for_the_blood_count():
    doses = [
        dose("P1", "allopurinol", "2025-01-01", amount=100),
        dose("P1", "azathioprine", "2026-04-01", amount=25),
    ]
    row = _rows(run(CHECKS, doses, as_of="2026-03-10")).loc["azathioprine"]
    assert row["next_due"] == pd.Timestamp("2026-04-08")
    assert row["interval_days"] == 7 and row["interval_basis"] == "combination"
    due = {g["tests"]: pd.Timestamp(g["due"]) for g in row["due_groups"]}
    assert due["full blood count"] == pd.Timestamp("2026-04-08")
    assert due["creatinine/eGFR"] == due["ALT/AST"] == due["albumin"] == pd.Timestamp("2026-04-15")
    assert "allopurinol" in row["message"] and "Medsafe" in row["source"]


def test_a_repeat_owed_is_kept_on_a_row_that_ends_before_its_routine_test():
    # eGFR 59 on 1 Mar: the renal test repeated a week later, 8 Mar; by 10 Mar 2 days late
    labs = [*full_check("P1", "2026-02-01"), *full_check("P1", "2026-03-01", renal="egfr")]
    labs = [r for r in labs if r["analyte"] != "egfr"] + [lab("P1", "2026-03-01", "egfr", 59.0)]
    rv = run(labs, [AZA_TO_APRIL, MMF_FROM_APRIL], as_of="2026-03-10")
    aza = _rows(rv).loc["azathioprine"]
    assert aza["next_due"] == pd.Timestamp("2026-03-08") and aza["overdue"] and aza["days_overdue"] == 2
    # the repeat is owed before the recorded end: the row says the repeat (the routine
    # test's "ends 2026-04-01" words belong to the 24 May date, which it no longer shows)
    assert "repeat" in aza["message"] and "2026-03-08" in aza["message"]
    mmf = _rows(rv).loc["mycophenolate mofetil"]
    assert mmf["interval_basis"] == "schedule" and mmf["next_due"] == pd.Timestamp("2026-04-15")
    s = _summary(rv)
    assert s["overdue"] and s["next_test_due"] == pd.Timestamp("2026-03-08")


def test_a_repeat_owed_is_kept_on_a_schedule_that_asks_for_no_more_routine_tests():
    # sulfasalazine under BSR 2017: no routine tests after 12 months on a stable dose; eGFR
    # 59 on 1 Mar 2024 still asks for the renal repeat a week later, 8 Mar 2024
    ssz = [dose("P1", "sulfasalazine", "2023-01-01", amount=1000, frequency="BID")]
    labs = [r for r in full_check("P1", "2024-03-01", renal="egfr") if r["analyte"] != "egfr"]
    labs.append(lab("P1", "2024-03-01", "egfr", 59.0))
    rv = run(labs, ssz, as_of="2024-03-05", profile="BSR 2017 / NICE")
    row = _rows(rv).loc["sulfasalazine"]
    assert row["next_due"] == pd.Timestamp("2024-03-08") and row["interval_basis"] == "repeat"
    assert "no routine blood tests after 12 months" in row["message"]


def test_a_recorded_dose_increase_brings_the_next_test_forward_and_is_said():
    """audit10 A1: azathioprine 100 mg daily to 1 Apr, 150 mg daily from 1 Apr, reviewed on
    10 Mar: the increase is not in force (the dose is 100 mg), but BSR asks for tests every
    2 weeks after a dose increase, so the next test is 1 Apr + 14 d = 15 Apr (not the
    12-weekly 24 May), and the row says the increase."""
    aza_150 = dose("P1", "azathioprine", "2026-04-01", amount=150)
    rv = run(CHECKS, [AZA_TO_APRIL, aza_150], as_of="2026-03-10")
    aza = _rows(rv).loc["azathioprine"]
    assert aza["next_due"] == pd.Timestamp("2026-04-15") and not aza["overdue"]
    assert aza["message"].endswith(
        "— dose increase recorded from 2026-04-01 (100 to 150 mg/day): blood tests due by 2026-04-15"
    )
    assert "ends 2026-04-01" not in aza["message"]  # the course goes on: no end to say
    assert _summary(rv)["next_test_due"] == pd.Timestamp("2026-04-15")
