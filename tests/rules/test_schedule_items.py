"""Drug-specific monitoring items (issue 17): blood pressure for leflunomide and the
calcineurin inhibitors, and sulfasalazine's schedule.

Expected dates counted by hand from the sources:

* leflunomide (SPS leflunomide monitoring): BP every 2 weeks until the dose has been
  stable for 6 weeks, then monthly for 3 months, then every 2-3 months (84 days here);
* ciclosporin (SPS ciclosporin monitoring): BP every 2 weeks until stable for 6 weeks,
  then monthly for 3 months, then every 1-3 months (monthly here, as its blood tests);
* voclosporin (Lupkynis label): BP every 2 weeks for the first month, then as
  clinically indicated (no routine interval after day 28);
* sulfasalazine (SPS; BSR 2017 via NHS protocols): every 2 weeks until stable for 6
  weeks, monthly for 3 months, at least every 12 weeks for the first 12 months, then no
  routine blood monitoring (BSR 2017 profile); BSR 2025 profile: the csDMARD schedule.

A blood-pressure item is graded "info" when overdue: it is listed on the Patient page but
never makes the patient overdue on the panel (exports rarely carry blood pressure).
"""

from __future__ import annotations

import pandas as pd

from dashboard.rules import engine
from tests.rules.builders import dose, lab, run


def rows(labs, doses, as_of, profile=None) -> pd.DataFrame:
    return run(labs, doses, as_of=as_of, profile=profile).schedule_df()


def bp(pid, when, sys=128.0, dia=82.0):
    return [lab(pid, when, "bp_systolic", sys), lab(pid, when, "bp_diastolic", dia)]


LEF = [dose("P1", "leflunomide", "2024-01-01", amount=20)]


def test_leflunomide_blood_pressure_without_any_reading_is_due_from_the_first_fortnight():
    df = rows([], LEF, "2024-12-31")
    item = df[df["schedule"] == "bp_leflunomide"].iloc[0]
    assert item["tests_due"] == "blood pressure"
    assert item["next_due"] == pd.Timestamp("2024-01-15")  # start + 14 days
    assert item["overdue"] and item["days_overdue"] == 351  # 15 Jan -> 31 Dec 2024
    assert item["severity"] == "info"
    assert "SPS" in item["source"]
    # the blood tests keep their own row
    assert (df["schedule"] == "bsr2025_standard").sum() == 1


def test_leflunomide_blood_pressure_after_the_initial_phases_is_every_84_days():
    df = rows(bp("P1", "2024-11-01"), LEF, "2024-12-31")
    item = df[df["schedule"] == "bp_leflunomide"].iloc[0]
    assert item["last_test"] == pd.Timestamp("2024-11-01")
    assert item["interval_days"] == 84
    assert item["next_due"] == pd.Timestamp("2025-01-24") and not item["overdue"]  # 1 Nov + 84


def test_ciclosporin_blood_pressure_fortnightly_at_first():
    csa = [dose("P1", "ciclosporin", "2024-06-01", amount=100, frequency="BID")]
    df = rows(bp("P1", "2024-06-14") + bp("P1", "2024-06-28"), csa, "2024-07-05")
    item = df[df["schedule"] == "bp_ciclosporin"].iloc[0]
    assert item["interval_days"] == 14
    assert item["next_due"] == pd.Timestamp("2024-07-12") and not item["overdue"]


def test_tacrolimus_has_a_blood_pressure_item():
    tac = [dose("P1", "tacrolimus", "2024-06-01", amount=2, frequency="BID")]
    assert "bp_tacrolimus" in set(rows([], tac, "2024-06-10")["schedule"])


def test_voclosporin_blood_pressure_every_two_weeks_in_the_first_month_then_as_indicated():
    voc = [dose("P1", "voclosporin", "2024-12-01", amount=23.7, frequency="BID")]
    early = rows([], voc, "2024-12-10")
    item = early[early["schedule"] == "bp_voclosporin"].iloc[0]
    assert item["next_due"] == pd.Timestamp("2024-12-15") and not item["overdue"]
    late = rows(bp("P1", "2024-12-14"), voc, "2025-01-10")
    item = late[late["schedule"] == "bp_voclosporin"].iloc[0]
    assert pd.isna(item["next_due"]) and not item["overdue"]
    assert "clinically indicated" in item["message"]


def test_a_blood_pressure_item_never_makes_the_patient_overdue_on_the_panel():
    check = (("wbc", 6.0), ("egfr", 80.0), ("alt", 20.0), ("albumin", 40.0))  # the whole check (audit 17 F22)
    rv = run([lab("P1", "2024-12-20", w, v) for w, v in check], LEF)
    sched = rv.schedule_df()
    assert sched.loc[sched["schedule"] == "bp_leflunomide", "overdue"].item()
    summary = rv.summary_df()
    assert not summary["overdue"].item()


def test_the_2017_profile_has_no_blood_pressure_items():
    old = engine.builtin_profiles()["BSR 2017 / NICE"]
    df = rows([], LEF, "2024-12-31", profile=old)
    assert list(df["schedule"]) == ["standard"]


SSZ = [dose("P1", "sulfasalazine", "2023-01-01", amount=1000, frequency="BID")]


def test_sulfasalazine_needs_no_routine_blood_tests_after_12_months_under_bsr_2017():
    old = engine.builtin_profiles()["BSR 2017 / NICE"]
    df = rows([lab("P1", "2023-12-20", "wbc", 6.0)], SSZ, "2024-06-30", profile=old)
    row = df.iloc[0]
    assert row["schedule"] == "sulfasalazine"
    assert pd.isna(row["next_due"]) and not row["overdue"]
    assert "after 12 months" in row["message"]


def test_sulfasalazine_in_its_first_year_follows_the_phases():
    old = engine.builtin_profiles()["BSR 2017 / NICE"]
    # started 1 Jan 2023, FBC on 1 Jun 2023 (day 151 >= 133): every 84 days -> 24 Aug 2023
    row = rows([lab("P1", "2023-06-01", "wbc", 6.0)], SSZ, "2023-07-01", profile=old).iloc[0]
    assert row["interval_days"] == 84 and row["next_due"] == pd.Timestamp("2023-08-24")


def test_sulfasalazine_under_bsr_2025_follows_the_csdmard_schedule():
    row = rows([], SSZ, "2024-06-30").iloc[0]
    assert row["schedule"] == "bsr2025_standard"
