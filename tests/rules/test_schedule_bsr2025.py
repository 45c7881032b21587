"""Monitoring schedule under the BSR 2025 profile (the default), and what counts as a test.

Expected dates are counted by hand from the schedule: initial phases as in 2017 (every
2 weeks until stable for 6 weeks, monthly for 3 months, then every 12 weeks), then the
patient's risk-adapted interval (BSR 2025: risk factors reviewed at least yearly, the
monitoring frequency adjusted to the risk; up to 6-monthly for a stable patient without
risk factors), bounded to 28-182 days.
"""

from __future__ import annotations

import pandas as pd

from tests.rules.builders import dose, full_check, interval, lab, run

MTX = [dose("P1", "methotrexate", "2023-01-01", amount=15, frequency="weekly")]


def check_at(when: str) -> list[dict]:
    """A whole BSR check: audit 17 (F22) adds albumin to the set the BSR 2025 profile asks for."""
    return [
        lab("P1", when, "wbc", 6.0),
        lab("P1", when, "egfr", 80.0),
        lab("P1", when, "ast", 20.0),
        lab("P1", when, "albumin", 40.0),
    ]


def one(labs, doses, as_of, **kw) -> pd.Series:
    """The blood-test row (issue 17 adds blood-pressure items as rows of their own)."""
    df = run(labs, doses, as_of=as_of, **kw).schedule_df()
    df = df[~df["schedule"].str.startswith("bp_")]
    assert len(df) == 1, df
    return df.iloc[0]


def test_default_profile_uses_the_bsr_2025_schedule():
    row = one(check_at("2024-03-01"), MTX, "2024-03-10")
    assert row["schedule"] == "bsr2025_standard"
    assert row["interval_days"] == 84 and row["interval_basis"] == "schedule"
    assert row["next_due"] == pd.Timestamp("2024-05-24")  # 1 March + 84 days
    assert row["source"].startswith("BSR 2025")


def test_a_lone_alt_is_not_the_full_blood_count():
    """Issue 15 item 6: azathioprine started 1 Jan, only an ALT on 12 Jan: the check is
    not done, so the first fortnightly check (15 Jan) is 5 days overdue on 20 Jan, and the
    review names the full blood count, creatinine/eGFR and albumin as due (albumin: audit 17
    F22)."""
    aza = [dose("P1", "azathioprine", "2024-01-01", amount=50)]
    row = one([lab("P1", "2024-01-12", "alt", 30.0)], aza, "2024-01-20")
    assert row["overdue"] and row["days_overdue"] == 5
    assert pd.isna(row["last_test"])
    assert row["tests_due"] == "full blood count; creatinine/eGFR; albumin"
    assert "full blood count; creatinine/eGFR; albumin (every 14 days" in row["message"]


def test_the_check_is_as_old_as_its_oldest_part():
    aza = [dose("P1", "azathioprine", "2024-01-01", amount=50)]
    labs = [*check_at("2024-01-12"), lab("P1", "2024-01-26", "wbc", 6.0), lab("P1", "2024-01-26", "egfr", 81.0)]
    row = one(labs, aza, "2024-01-30")
    assert row["last_test"] == pd.Timestamp("2024-01-12")  # ALT/AST (and albumin) last drawn then
    assert row["next_due"] == pd.Timestamp("2024-01-26") and row["overdue"]
    assert row["tests_due"] == "ALT/AST; albumin"


def test_the_patients_risk_adapted_interval_replaces_the_12_weeks():
    row = one(check_at("2024-03-01"), MTX, "2024-03-10", intervals=[interval("P1", 182, "2024-01-10")])
    assert row["interval_days"] == 182 and row["interval_basis"] == "patient"
    assert row["next_due"] == pd.Timestamp("2024-08-30")  # 1 March + 182 days
    assert "risk-adapted interval" in row["message"]


def test_the_interval_is_bounded_and_not_used_in_the_initial_phases():
    assert (
        one(check_at("2024-03-01"), MTX, "2024-03-10", intervals=[interval("P1", 365, "2024-01-10")])["interval_days"]
        == 182
    )
    new = [dose("P1", "methotrexate", "2024-01-01", amount=15, frequency="weekly")]
    row = one(check_at("2024-02-05"), new, "2024-02-10", intervals=[interval("P1", 182, "2024-01-02")])
    assert row["interval_days"] == 14 and row["interval_basis"] == "schedule"  # day 35: still fortnightly


def test_a_dose_increase_overrides_the_patients_interval():
    doses = [
        dose("P1", "methotrexate", "2023-01-01", "2024-03-01", amount=15, frequency="weekly"),
        dose("P1", "methotrexate", "2024-03-01", amount=20, frequency="weekly"),
    ]
    row = one(check_at("2024-03-05"), doses, "2024-03-10", intervals=[interval("P1", 182, "2024-01-10")])
    assert row["interval_days"] == 14 and row["next_due"] == pd.Timestamp("2024-03-19")


def test_cleared_later_and_future_settings():
    later = [interval("P1", 182, "2024-01-10"), interval("P1", 0, "2024-02-01")]
    assert one(check_at("2024-03-01"), MTX, "2024-03-10", intervals=later)["interval_days"] == 84
    future = [interval("P1", 182, "2024-04-01")]  # set after the review date: not in force on it
    assert one(check_at("2024-03-01"), MTX, "2024-03-10", intervals=future)["interval_days"] == 84


def test_an_interval_set_over_a_year_ago_asks_for_the_risk_review():
    row = one(check_at("2024-03-01"), MTX, "2024-03-10", intervals=[interval("P1", 182, "2023-02-01")])
    assert "risk factors due for their yearly review" in row["message"]


def test_the_bsr_2017_profile_ignores_the_patients_interval():
    row = one(
        check_at("2024-03-01"),
        MTX,
        "2024-03-10",
        intervals=[interval("P1", 182, "2024-01-10")],
        profile="BSR 2017 / NICE",
    )
    assert row["schedule"] == "standard" and row["interval_days"] == 84


def test_voclosporin_follows_its_label_under_bsr_2025():
    """Lupkynis label as revised in April 2024 (its sponsor's announcement, facts9): eGFR
    every 2 weeks for the first month, every 4 weeks through the first year, and quarterly
    thereafter.  Started 1 Jan 2024: an eGFR on 1 March 2024 (day 60) is due 4 weeks
    later, 29 March; one on 1 March 2025 (day 425, after the first year) is due a quarter
    (91 days) later, 31 May 2025 (audit 17 had kept 28 days while only the older copies
    of the label had been read)."""
    voc = [dose("P1", "voclosporin", "2024-01-01", amount=23.7, frequency="BID")]
    row = one([lab("P1", "2024-03-01", "egfr", 70.0)], voc, "2024-03-10")
    assert row["schedule"] == "voclosporin"
    assert row["interval_days"] == 28 and row["next_due"] == pd.Timestamp("2024-03-29")
    late = one([lab("P1", "2025-03-01", "egfr", 70.0)], voc, "2025-03-10")
    assert late["interval_days"] == 91 and late["next_due"] == pd.Timestamp("2025-05-31")
    # on 1 June 2025 that eGFR is a day overdue (grace 0 days); on 31 May it is due, not late
    assert bool(one([lab("P1", "2025-03-01", "egfr", 70.0)], voc, "2025-06-01")["overdue"])
    assert not bool(one([lab("P1", "2025-03-01", "egfr", 70.0)], voc, "2025-05-31")["overdue"])


def test_mercaptopurine_and_oral_cyclophosphamide_get_no_risk_adapted_interval():
    """Audit 17 (F3): BSR 2025 covers neither mercaptopurine nor cyclophosphamide, so neither
    gets the risk-adapted interval.  Mercaptopurine keeps the 2017 schedule, with the whole BSR
    check: 84 days after the check of 1 Mar 2024 -> 24 May.  Oral cyclophosphamide (probe 7
    F3; this test pinned the BSR 2017 schedule for it, which BSR 2017 does not cover) follows
    the French PNDS, Box 6: monthly after the first 3 months -> 31 Mar."""
    intervals = [interval("P1", 182, "2024-01-10")]
    doses = [dose("P1", "mercaptopurine", "2023-01-01", amount=50)]
    row = one(check_at("2024-03-01"), doses, "2024-03-10", intervals=intervals)
    assert (
        row["schedule"] == "standard" and row["source"] == "BSR 2017 / NICE CKS [bsr2017] [nhs_lanarkshire] [sps_mmf]"
    )
    assert row["interval_days"] == 84 and row["interval_basis"] == "schedule"
    assert row["next_due"] == pd.Timestamp("2024-05-24")
    doses = [dose("P1", "cyclophosphamide", "2023-01-01", amount=50)]
    row = one(check_at("2024-03-01"), doses, "2024-03-10", intervals=intervals)
    assert row["schedule"] == "cyclophosphamide_oral" and "BSR" not in row["source"]
    assert row["interval_days"] == 30 and row["interval_basis"] == "schedule"
    assert row["next_due"] == pd.Timestamp("2024-03-31")


def test_the_default_check_includes_albumin_and_the_2017_profile_says_what_it_counts():
    """Audit 17 (F22): the BSR set is FBC, creatinine/eGFR, ALT/AST and albumin.  Under BSR
    2025 a check without albumin is not done; the BSR 2017 profile still counts the blood
    count alone (old audits reproduce) and its description says so."""
    no_albumin = [row for row in check_at("2024-03-01") if row["analyte"] != "albumin"]
    row = one(no_albumin, MTX, "2024-03-10")
    assert pd.isna(row["last_test"]) and row["tests_due"] == "albumin"
    old = one(no_albumin, MTX, "2024-03-10", profile="BSR 2017 / NICE")
    assert old["last_test"] == pd.Timestamp("2024-03-01") and old["tests_due"] == "full blood count"
    assert "the guideline's visit also includes creatinine/eGFR, ALT/AST and albumin" in old["description"]
    tac = [dose("P1", "tacrolimus", "2023-01-01", amount=2, frequency="BID")]
    assert one(no_albumin, tac, "2024-03-10")["tests_due"] == "albumin"  # the default check everywhere


def test_sulfasalazine_under_bsr_2025_says_its_continued_tests_are_a_project_choice():
    """Audit 18 finding 5: BSR 2017 stops routine tests after 12 months on sulfasalazine;
    the default profile keeps testing (BSR 2025's rule for it was not read) and says so."""
    ssz = [dose("P1", "sulfasalazine", "2023-01-01", amount=1000, frequency="BID")]
    row = one(check_at("2024-03-01"), ssz, "2024-03-10")
    assert row["schedule"] == "bsr2025_standard" and row["next_due"] == pd.Timestamp("2024-05-24")
    assert row["source"].startswith("BSR 2025") and "project choice" in row["source"]
    assert "12 months" in row["source"]
    # the same patient under BSR 2017: no routine test after 12 months, no note
    old = run(check_at("2024-03-01"), ssz, as_of="2024-03-10", profile="BSR 2017 / NICE").schedule_df()
    old = old[~old["schedule"].str.startswith("bp_")].iloc[0]
    assert "project choice" not in old["source"] and pd.isna(old["next_due"])
    # methotrexate under BSR 2025 carries no such note
    assert "project choice" not in one(check_at("2024-03-01"), MTX, "2024-03-10")["source"]


MTX_TITRATION = [
    dose("P1", "methotrexate", "2024-01-01", "2024-01-29", amount=10, frequency="weekly"),
    dose("P1", "methotrexate", "2024-01-29", "2024-02-26", amount=15, frequency="weekly"),
    dose("P1", "methotrexate", "2024-02-26", "2024-03-25", amount=20, frequency="weekly"),
    dose("P1", "methotrexate", "2024-03-25", amount=25, frequency="weekly"),
]


def _day(k: int) -> str:
    return (pd.Timestamp("2024-01-01") + pd.Timedelta(days=k)).date().isoformat()


def test_the_monthly_phase_follows_the_stable_dose_after_a_titration():
    """Probe 7 F4.  BSR 2017 as restated by NICE CKS (medicinesafety.co.uk/2020/03/methotrexate-
    monitoring-mitigating.html) and SPS (leflunomide page, 'after started or dose changed'):
    every 2 weeks until the dose is stable for 6 weeks, then monthly for 3 months, then at least
    every 12 weeks.  Methotrexate 10 mg/week from day 0 (1 Jan 2024), 15 from day 28, 20 from
    day 56, 25 from day 84 (25 Mar).  Stable 6 weeks on day 126 (6 May); monthly tests then on
    days 156, 186 and 216; 12-weekly from there.  With the check of day 156 (5 Jun) done, the
    next is due 30 days later, 5 Jul (day 186), not 28 Aug."""
    days = [14, 28, 42, 56, 70, 84, 98, 112, 126, 156]
    labs = [row for k in days for row in full_check("P1", _day(k))]
    row = one(labs, MTX_TITRATION, "2024-06-06")
    assert row["interval_days"] == 30
    assert row["next_due"] == pd.Timestamp("2024-07-05")
    # the third monthly test (day 216, 3 Aug) ends the monthly phase: 84 days later, day 300
    labs += [row for k in (186, 216) for row in full_check("P1", _day(k))]
    row = one(labs, MTX_TITRATION, "2024-08-04")
    assert (row["interval_days"], row["next_due"]) == (84, pd.Timestamp(_day(300)))


def test_an_increase_in_maintenance_does_not_start_the_monthly_phase_again():
    """NICE CKS: after a dose increase in maintenance, every 2 weeks until stable for 6 weeks,
    'then revert to the previous schedule'.  Methotrexate 15 mg/week from 1 Jan 2024, tested
    on days 14, 28, 42, 72, 102, 132 (12-weekly from there), increased to 20 mg on day 150
    (30 May 2024) and tested on days 164, 178 and 192: the test of day 192 (42 days after
    the increase) is followed 84 days later (day 276), not by monthly tests."""
    doses = [
        dose("P1", "methotrexate", "2024-01-01", _day(150), amount=15, frequency="weekly"),
        dose("P1", "methotrexate", _day(150), amount=20, frequency="weekly"),
    ]
    labs = [row for k in (14, 28, 42, 72, 102, 132, 164, 178) for row in full_check("P1", _day(k))]
    assert one(labs, doses, _day(180))["interval_days"] == 14  # 28 days after the increase
    labs += full_check("P1", _day(192))
    row = one(labs, doses, _day(193))
    assert (row["interval_days"], row["next_due"]) == (84, pd.Timestamp(_day(276)))


def test_daily_oral_cyclophosphamide_is_monitored_at_least_monthly():
    """Probe 7 F3.  French PNDS for ANCA vasculitis (Terrier et al., Orphanet J Rare Dis 2020,
    Box 6, pmc.ncbi.nlm.nih.gov/articles/PMC7771069): blood count, creatinine and urine for
    blood 'every 2 weeks for the first 3 months, then monthly if the oral treatment is
    continued'.  150 mg/day from 1 Jan 2024, checks every 14 days up to day 140 (20 May): on
    day 141 the next check is due within a month, i.e. an interval of at most 30 days (not 84)."""
    oral = [dose("P1", "cyclophosphamide", "2024-01-01", amount=150, frequency="daily", route="oral")]
    labs = [row for k in range(14, 141, 14) for row in full_check("P1", _day(k))]
    row = one(labs, oral, "2024-05-21")
    assert row["interval_days"] <= 30


def test_oral_cyclophosphamide_is_fortnightly_for_three_months_then_monthly_with_its_source():
    """Probe 7 F3, by hand from the PNDS (every 2 weeks for the first 3 months = 13 weeks, day
    91; then monthly, 30 days, with no 12-weekly phase).  150 mg/day from 1 Jan 2024: a check
    on day 84 (25 Mar) is followed 14 days later (8 Apr); one on day 98 (8 Apr) 30 days later
    (8 May); one on day 400 still 30 days later.  The check is the blood count and
    creatinine/eGFR (no albumin, no ALT); the row cites the PNDS, not BSR 2017."""
    oral = [dose("P1", "cyclophosphamide", "2024-01-01", amount=150, frequency="daily", route="oral")]
    fbc_renal = [lab("P1", _day(84), "wbc", 6.0), lab("P1", _day(84), "creatinine", 70.0)]
    row = one(fbc_renal, oral, _day(85))
    assert (row["interval_days"], row["next_due"]) == (14, pd.Timestamp("2024-04-08"))
    assert row["tests_due"] == "full blood count; creatinine/eGFR"
    assert row["source"].startswith("French PNDS for ANCA vasculitis") and "BSR" not in row["source"]
    assert "urine" in row["description"] and "not tracked" in row["description"]
    row = one([lab("P1", _day(98), a, v) for a, v in (("wbc", 6.0), ("egfr", 80.0))], oral, _day(99))
    assert (row["interval_days"], row["next_due"]) == (30, pd.Timestamp("2024-05-08"))
    row = one([lab("P1", _day(400), a, v) for a, v in (("wbc", 6.0), ("egfr", 80.0))], oral, _day(401))
    assert row["interval_days"] == 30
    # the same under the BSR 2017 profile: that guideline does not cover cyclophosphamide
    old = one(fbc_renal, oral, _day(85), profile="BSR 2017 / NICE")
    assert old["schedule"] == "cyclophosphamide_oral" and old["interval_days"] == 14
