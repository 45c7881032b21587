"""The renal repeat test: "repeat in 1 week" is a due date, not only words on a flag.

Source (BSR 2017 as restated by SPS, sps.nhs.uk/monitorings/methotrexate-monitoring and
mercaptopurine/mycophenolate monitoring; NHS Dumfries & Galloway protocol): "creatinine
increase greater than 30% above baseline over 12 months and/or calculated GFR less than
60 ml/min/1.73m2: repeat in 1 week; if still more than 30% from baseline, withhold and
discuss".  So after the first such result the next creatinine/eGFR is due 7 days after
it, whatever the routine interval; once the repeat is done the routine schedule resumes
(a confirmed result is the "withhold and discuss" step, not another repeat).

Dates counted by hand.  Methotrexate since 1 Jan 2023 (maintenance: every 12 weeks); a
whole check on 1 Mar 2024 with an eGFR of 59: routine due 24 May 2024 (1 Mar + 84 d),
repeat due 8 Mar 2024 (1 Mar + 7 d).
"""

from __future__ import annotations

import pandas as pd

from tests.rules.builders import dose, lab, run

MTX = [dose("P1", "methotrexate", "2023-01-01", amount=15, frequency="weekly")]


def check_at(when: str, egfr: float = 80.0, creatinine: float = 70.0) -> list[dict]:
    return [
        lab("P1", when, "wbc", 6.0),
        lab("P1", when, "neutrophils", 4.0),
        lab("P1", when, "platelets", 250.0),
        lab("P1", when, "egfr", egfr),
        lab("P1", when, "creatinine", creatinine, ref_low=45.0, ref_high=90.0),
        lab("P1", when, "alt", 20.0),
        lab("P1", when, "albumin", 40.0),
    ]


def row_of(labs, as_of, doses=MTX, **kw) -> pd.Series:
    df = run(labs, doses, as_of=as_of, **kw).schedule_df()
    df = df[~df["schedule"].str.startswith("bp_")]
    assert len(df) == 1, df
    return df.iloc[0]


def test_egfr_below_60_brings_the_renal_test_forward_to_one_week():
    row = row_of(check_at("2024-03-01", egfr=59.0), "2024-03-05")
    assert row["next_due"] == pd.Timestamp("2024-03-08")
    assert not row["overdue"]
    assert row["tests_due"] == "creatinine/eGFR"
    assert row["interval_basis"] == "repeat"
    assert "repeat" in row["message"] and "2024-03-08" in row["message"]


def test_the_summary_shows_the_repeat_as_the_next_test():
    s = run(check_at("2024-03-01", egfr=59.0), MTX, as_of="2024-03-05").summary_df().set_index("patient_id")
    assert s.loc["P1", "next_test_due"] == pd.Timestamp("2024-03-08")


def test_a_repeat_not_done_is_overdue():
    row = row_of(check_at("2024-03-01", egfr=59.0), "2024-03-12")  # 12 Mar is 4 days after 8 Mar
    assert row["overdue"] and row["days_overdue"] == 4
    assert row["severity"] == "caution"


def test_egfr_of_exactly_60_keeps_the_routine_interval():
    row = row_of(check_at("2024-03-01", egfr=60.0), "2024-03-05")  # "less than 60"
    assert row["next_due"] == pd.Timestamp("2024-05-24")
    assert row["interval_basis"] == "schedule"


def test_once_repeated_the_routine_schedule_resumes_even_if_still_low():
    """Repeat on 7 Mar, eGFR still 58: the guideline's next step is withhold and discuss
    (the open flag), not a third renal test a week later; the check of 1 Mar is the
    oldest part of the check, so the routine due date stays 24 May."""
    labs = [*check_at("2024-03-01", egfr=59.0), lab("P1", "2024-03-07", "egfr", 58.0)]
    row = row_of(labs, "2024-03-20")
    assert row["next_due"] == pd.Timestamp("2024-05-24")
    assert not row["overdue"]


def test_a_creatinine_rise_over_30_percent_above_baseline_also_asks_for_the_repeat():
    """Pre-treatment creatinine 70 (Dec 2022, before the start on 1 Jan 2023); 92 on
    1 Mar 2024 is 31.4% above it (> 30%): repeat due 8 Mar.  91 (30.0%) is not."""
    pre = [lab("P1", "2022-12-15", "creatinine", 70.0, ref_low=45.0, ref_high=90.0)]
    assert row_of(pre + check_at("2024-03-01", creatinine=92.0), "2024-03-05")["next_due"] == pd.Timestamp("2024-03-08")
    assert row_of(pre + check_at("2024-03-01", creatinine=91.0), "2024-03-05")["next_due"] == pd.Timestamp("2024-05-24")


def test_the_ctcae_only_profile_has_no_renal_rule_and_no_repeat():
    row = row_of(check_at("2024-03-01", egfr=59.0), "2024-03-05", profile="CTCAE only")
    assert row["next_due"] == pd.Timestamp("2024-05-24")
