"""Each test group due on its own date, and dose increases judged on the total in force
(probe 14 F1-F5, H290-H292).

Dates counted by hand from the schedule the project cites (BSR 2017 via NICE CKS / SPS,
kept by the BSR 2025 profile): every 2 weeks until the dose has been stable for 6 weeks,
monthly for 3 months, then every 12 weeks (84 days); after a dose increase every 2 weeks
until stable for 6 weeks.  A course that began on 2022-01-01 is in maintenance in 2023
and 2024: a group's next test is its last result + 84 days.  A group never recorded since
the course began was due 14 days after the start.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from dashboard.rules.output import patients_json, review_text
from dashboard.views import schedule_table
from tests.rules.builders import dose, full_check, lab, run

MTX = [dose("P1", "methotrexate", "2022-01-01", amount=15, frequency="weekly")]


def _blood(rv) -> pd.Series:
    df = rv.schedule_df()
    df = df[~df["schedule"].str.startswith("bp_")]
    assert len(df) == 1, df
    return df.iloc[0]


def _no_albumin(when: str) -> list[dict]:
    return [r for r in full_check("P1", when) if r["analyte"] != "albumin"]


# --------------------------------------------------------------------------- F1, F2


def test_a_year_old_fbc_and_a_never_recorded_albumin_are_both_named_with_their_own_lateness():
    # FBC, creatinine and ALT on 2023-06-01: due 2023-08-24 (June 1 + 29 + 31 + 24 days),
    # 282 days overdue on 2024-06-01 (Aug 24 -> Jun 1, through the leap day).  Albumin never:
    # due 2022-01-15, 868 days overdue (730 + 138).  The row keeps its contract: the
    # earliest due date and the worst lateness.
    rv = run(_no_albumin("2023-06-01"), MTX, as_of="2024-06-01")
    row = _blood(rv)
    assert row["tests_due"] == "full blood count; creatinine/eGFR; ALT/AST; albumin"
    assert row["next_due"] == pd.Timestamp("2022-01-15")
    assert bool(row["overdue"]) and row["days_overdue"] == 868
    assert pd.isna(row["last_test"])  # no complete check in the course
    msg = row["message"]
    assert "full blood count; creatinine/eGFR; ALT/AST (every 84 days at present) OVERDUE by 282 days" in msg
    assert "(due 2023-08-24, last 2023-06-01)" in msg
    assert "albumin (none recorded since the course began on 2022-01-01) OVERDUE by 868 days (due 2022-01-15)" in msg
    groups = {g["tests"]: g for g in row["due_groups"]}
    assert list(groups) == ["full blood count", "creatinine/eGFR", "ALT/AST", "albumin"]
    assert groups["full blood count"]["due"] == pd.Timestamp("2023-08-24")
    assert groups["full blood count"]["last"] == pd.Timestamp("2023-06-01")
    assert groups["full blood count"]["days_overdue"] == 282
    assert groups["albumin"]["last"] is None and groups["albumin"]["days_overdue"] == 868


def test_a_patient_tested_yesterday_owes_only_the_never_recorded_group():
    # A2 of the probe: the same tests on 2024-05-31 (due 2024-08-23): only the albumin is due.
    row = _blood(run(_no_albumin("2024-05-31"), MTX, as_of="2024-06-01"))
    assert row["tests_due"] == "albumin"
    assert "full blood count" not in row["message"]
    assert [g["tests"] for g in row["due_groups"]] == ["albumin"]


def test_when_nothing_is_due_yet_the_groups_due_first_are_named():
    # ALT, creatinine and albumin on 2024-02-01 (due 2024-04-25: Feb 1 + 29 + 31 + 24),
    # FBC on 2024-03-01 (due 2024-05-24).  On 2024-03-05 nothing is due: the row names the
    # groups due first, with their date, and not the FBC.
    labs = [r for r in full_check("P1", "2024-02-01") if r["analyte"] not in ("wbc", "neutrophils", "platelets")]
    labs += [lab("P1", "2024-03-01", a, v) for a, v in (("wbc", 6.0), ("neutrophils", 4.0), ("platelets", 250.0))]
    row = _blood(run(labs, MTX, as_of="2024-03-05"))
    assert row["tests_due"] == "creatinine/eGFR; ALT/AST; albumin"
    assert row["next_due"] == pd.Timestamp("2024-04-25") and not bool(row["overdue"])
    assert row["message"] == "Methotrexate: creatinine/eGFR; ALT/AST; albumin (every 84 days at present) due 2024-04-25"


def test_two_overdue_groups_each_say_their_own_lateness_in_every_output():
    # Probe 14 F2: ALT on 2023-09-01 (due 2023-11-24, 102 days late on 2024-03-05);
    # creatinine and albumin on 2023-12-01 (due 2024-02-23, 11 days late); FBC on 2024-03-01
    # (due 2024-05-24, not due).  Row: due 2023-11-24, 102 days overdue.
    labs = [
        lab("P1", "2023-09-01", "alt", 20.0),
        lab("P1", "2023-12-01", "creatinine", 70.0),
        lab("P1", "2023-12-01", "albumin", 40.0),
        lab("P1", "2024-03-01", "wbc", 6.0),
        lab("P1", "2024-03-01", "neutrophils", 4.0),
        lab("P1", "2024-03-01", "platelets", 250.0),
    ]
    rv = run(labs, MTX, as_of="2024-03-05")
    row = _blood(rv)
    assert row["next_due"] == pd.Timestamp("2023-11-24") and row["days_overdue"] == 102
    assert row["tests_due"] == "creatinine/eGFR; ALT/AST; albumin"
    late = "creatinine/eGFR; albumin (every 84 days at present) OVERDUE by 11 days (due 2024-02-23, last 2023-12-01)"
    oldest = "ALT/AST (every 84 days at present) OVERDUE by 102 days (due 2023-11-24, last 2023-09-01)"
    assert late in row["message"] and oldest in row["message"]
    # the summary (Panel, CLI table, panel CSV) keeps the earliest date and the worst lateness
    s = rv.summary_df().set_index("patient_id")
    assert s.loc["P1", "next_test_due"] == pd.Timestamp("2023-11-24") and s.loc["P1", "days_overdue"] == 102
    # the JSON: the flat fields as before, each group with its own dates
    sched = patients_json(rv)[0]["schedule"]
    blood = next(x for x in sched if not x["schedule"].startswith("bp_"))
    assert blood["next_due"] == "2023-11-24T00:00:00" and blood["days_overdue"] == 102
    assert blood["due_groups"] == [
        {"tests": "creatinine/eGFR", "last": "2023-12-01T00:00:00", "due": "2024-02-23T00:00:00", "days_overdue": 11},
        {"tests": "ALT/AST", "last": "2023-09-01T00:00:00", "due": "2023-11-24T00:00:00", "days_overdue": 102},
        {"tests": "albumin", "last": "2023-12-01T00:00:00", "due": "2024-02-23T00:00:00", "days_overdue": 11},
    ]
    # the text review and the Patient page's table say both
    text = review_text(rv)
    assert late in text and oldest in text
    what = schedule_table(rv.schedule_df())
    blood_row = what[what["Drug"] == "Methotrexate"].iloc[0]
    assert late in blood_row["What is due"] and oldest in blood_row["What is due"]
    assert not blood_row["What is due"].startswith("Methotrexate")


def test_a_repeat_due_after_the_routine_tests_is_named_once_due():
    # Routine: whole check on 2024-01-01 (due 2024-03-25: Jan 1 + 31 + 29 + 24).  A
    # creatinine/eGFR alone on 2024-03-20 with an eGFR of 59: "repeat in 1 week", due
    # 2024-03-27.  On 2024-03-30 the routine groups are 5 days late and the repeat 3 days:
    # both are named; the row keeps the earliest date and the worst lateness.
    labs = [*full_check("P1", "2024-01-01"), lab("P1", "2024-03-20", "egfr", 59.0)]
    row = _blood(run(labs, MTX, as_of="2024-03-30"))
    assert row["next_due"] == pd.Timestamp("2024-03-25") and row["days_overdue"] == 5
    assert "full blood count; ALT/AST; albumin (every 84 days at present) OVERDUE by 5 days" in row["message"]
    assert "creatinine/eGFR repeat (" in row["message"] and "OVERDUE by 3 days (due 2024-03-27)" in row["message"]
    assert row["tests_due"] == "full blood count; ALT/AST; albumin; creatinine/eGFR"
    assert [g["tests"] for g in row["due_groups"]][-1] == "creatinine/eGFR"


# --------------------------------------------------------------------------- F3-F5


def test_a_second_weekly_row_that_raises_the_weekly_total_is_an_increase():
    # Methotrexate 15 mg oral weekly since 2022 and 10 mg subcutaneous weekly from
    # 2024-03-01 (both weekly: added up, 25 mg/week).  Whole check on 2024-02-01.  The
    # total rose on 2024-03-01: a test is due 14 days later, 2024-03-15, 5 days late on 03-20.
    doses = [*MTX, dose("P1", "methotrexate", "2024-03-01", amount=10, frequency="weekly", route="subcutaneous")]
    row = _blood(run(full_check("P1", "2024-02-01"), doses, as_of="2024-03-20"))
    assert row["last_increase"] == pd.Timestamp("2024-03-01")
    assert row["next_due"] == pd.Timestamp("2024-03-15") and row["days_overdue"] == 5


def test_the_same_total_split_into_two_rows_is_no_increase():
    # Azathioprine 100 mg daily to 2024-03-01, then 60 mg morning + 40 mg evening: still
    # 100 mg/day.  No increase: after the check of 2024-02-01 the next is due 2024-04-25.
    doses = [
        dose("P1", "azathioprine", "2022-01-01", "2024-03-01", amount=100),
        dose("P1", "azathioprine", "2024-03-01", amount=60),
        dose("P1", "azathioprine", "2024-03-01", amount=40),
    ]
    row = _blood(run(full_check("P1", "2024-02-01"), doses, as_of="2024-03-20"))
    assert pd.isna(row["last_increase"])
    assert row["next_due"] == pd.Timestamp("2024-04-25") and not bool(row["overdue"])


def test_a_restart_after_a_real_gap_is_still_a_new_course_whatever_the_rows_inside():
    # 100 mg 2022-01-01 to 2024-06-01 with a 25 mg top-up inside it (02-01 to 03-01), then
    # nothing until 2024-06-10: more than a day after the latest end (06-01), a new course.
    # Tests before it do not count: due 2024-06-24 (06-10 + 14), not overdue on 06-20.
    doses = [
        dose("P1", "azathioprine", "2022-01-01", "2024-06-01", amount=100),
        dose("P1", "azathioprine", "2024-02-01", "2024-03-01", amount=25),
        dose("P1", "azathioprine", "2024-06-10", amount=100),
    ]
    row = _blood(run(full_check("P1", "2024-05-01"), doses, as_of="2024-06-20"))
    assert row["course_start"] == pd.Timestamp("2024-06-10")
    assert pd.isna(row["last_test"])
    assert row["next_due"] == pd.Timestamp("2024-06-24") and not bool(row["overdue"])


def test_a_product_strength_is_never_read_as_the_amount_a_dose_increase_is_judged_on():
    # Azathioprine "25 mg tablets, take tablets daily" (a product strength: the amount per
    # dose is not stated, mg/day unknown) since 2022, then 50 mg daily prescribed from
    # 2024-03-01.  Whether 50 mg/day is more than before cannot be told: the old reading of
    # the strength as 25 mg/day called it an increase (due 2024-03-15, 5 days late on
    # 03-20).  Unknown is neither a rise nor a fall: after the whole check of 2024-02-01
    # the next is due 2024-04-25 (Feb 1 + 28 + 31 + 25 = 84 days).
    strength = dose("P1", "azathioprine", "2022-01-01", "2024-03-01", amount=25)
    strength.update(mg_per_day=float("nan"), mg_per_week=float("nan"), dose_basis="strength_only")
    doses = [strength, dose("P1", "azathioprine", "2024-03-01", amount=50)]
    row = _blood(run(full_check("P1", "2024-02-01"), doses, as_of="2024-03-20"))
    assert pd.isna(row["last_increase"])
    assert row["next_due"] == pd.Timestamp("2024-04-25") and not bool(row["overdue"])


def test_one_infusion_recorded_with_its_end_on_its_start_day_asks_for_its_nadir_count():
    # IV cyclophosphamide 750 mg "monthly", start 2024-03-01 and end 2024-03-01: one infusion,
    # on 1 March.  The nadir count is due days 8-14 after it, 2024-03-09 to 2024-03-15:
    # 5 days overdue on 2024-03-20.  Before, a pulse course ending on its start day laid no
    # pulse, and the schedule asked for nothing.
    doses = [dose("P1", "cyclophosphamide", "2024-03-01", "2024-03-01", amount=750, frequency="monthly", route="IV")]
    df = run(full_check("P1", "2024-02-20"), doses, as_of="2024-03-20").schedule_df()
    row = df[df["schedule"] == "cyclophosphamide_pulse"].iloc[0]
    assert row["next_due"] == pd.Timestamp("2024-03-09") and bool(row["overdue"]) and row["days_overdue"] == 5
    assert "nadir blood count" in row["message"]


def test_the_chart_and_the_rules_lay_one_pulse_for_a_course_of_one_day():
    from dashboard.rules.schedule import pulse_times

    day = 86_400
    start = 19_783 * day  # 2024-03-01
    which, t = pulse_times(
        np.array([start, start]),
        np.array([start, start + 50 * day]),
        np.array(["monthly", "every 4 weeks"], object),
        np.array([float("nan"), 1 / 28]),
    )
    # the one-day row once on its start; the other (to day 50) on its start and 28 days later
    assert list(zip(which.tolist(), (t // day).tolist(), strict=True)) == [(0, 19_783), (1, 19_783), (1, 19_811)]
