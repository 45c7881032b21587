"""Probe 11 (H200, H201): a flag judged on a baseline names that baseline's drug, start
and dates; a restart of treatment after a time without any monitored drug ends an
episode, as the first start does (H93).

Expected values by hand: SPS (creatinine more than 30% above baseline: repeat in 1 week),
CTCAE v5.0 "Creatinine increased" (grade 2 > 1.5 x baseline, grade 3 > 3 x baseline) and
"ALT increased" on an abnormal baseline (grade 2 > 3 x baseline).
"""

from __future__ import annotations

import pandas as pd

from tests.rules.builders import dose, full_check, lab, run, series

MTX = {"amount": 15, "frequency": "weekly"}


def _check(pid: str, when: str, creatinine: float) -> list[dict]:
    """A whole monitoring check with the given creatinine."""
    rows = [r for r in full_check(pid, when) if r["analyte"] != "creatinine"]
    return [*rows, lab(pid, when, "creatinine", creatinine)]


def _rule(rv, rule: str) -> pd.DataFrame:
    f = rv.flags_df()
    return f[f["rule"] == rule].reset_index(drop=True)


def test_a_restart_after_a_drug_free_time_ends_the_episode_and_asks_the_repeat():
    # methotrexate 2015-02-01 to 2016-01-01, restarted 2024-01-01.  Baseline 60 (2015-01-01).
    # 2020-01-01, off the drug: 90 (50% above).  2024-01-10, on the restarted drug: 95 (58%
    # above): the first result of the on-treatment episode, so SPS's repeat in 1 week is due
    # 2024-01-17 and, as of 2024-01-20, 3 days overdue.
    doses = [
        dose("P", "methotrexate", "2015-02-01", "2016-01-01", **MTX),
        dose("P", "methotrexate", "2024-01-01", **MTX),
    ]
    labs = _check("P", "2015-01-01", 60) + _check("P", "2020-01-01", 90) + _check("P", "2024-01-10", 95)
    rv = run(labs, doses, as_of="2024-01-20")
    rise = _rule(rv, "bsr.creatinine_rise")
    on = rise[rise["collected_at"] == pd.Timestamp("2024-01-10")].iloc[0]
    assert on["episode_start"] == pd.Timestamp("2024-01-10") and on["episode_results"] == 1
    assert "open since" not in on["message"]
    row = rv.schedule_df().iloc[0]
    assert row["next_due"] == pd.Timestamp("2024-01-17") and bool(row["overdue"])
    assert "repeat" in row["message"]


def test_a_dose_change_or_a_second_drug_does_not_end_an_episode():
    # baseline 60 (2023-12-01); methotrexate from 2024-01-01, its dose raised on 2024-03-01 (the
    # rows meet), ciclosporin added on 2024-03-10 while methotrexate continues: 85 (41.7%) on
    # 2024-02-15 and 86 (43.3%) on 2024-03-15 are one episode of 2 results.
    doses = [
        dose("P", "methotrexate", "2024-01-01", "2024-02-29", **MTX),
        dose("P", "methotrexate", "2024-03-01", amount=20, frequency="weekly"),
        dose("P", "ciclosporin", "2024-03-10", amount=150),
    ]
    labs = series("P", "creatinine", [("2023-12-01", 60), ("2024-02-15", 85), ("2024-03-15", 86)])
    rise = _rule(run(labs, doses, as_of="2024-03-20"), "bsr.creatinine_rise")
    assert rise["episode_start"].tolist() == [pd.Timestamp("2024-02-15")] * 2
    assert rise["episode_results"].tolist() == [1, 2]


def test_the_creatinine_rise_names_the_drug_and_the_dates_of_its_baseline():
    # no look-back limit (no source gives one): the last creatinine before methotrexate
    # (2024-01-01) was 56, in 2011; 80 is (80 - 56) / 56 = 42.86% above it.  The flag says
    # how old the baseline is.  (The older 55 of 2010 no longer counts: H210.)
    labs = series("P", "creatinine", [("2010-03-01", 55), ("2011-03-01", 56), ("2024-06-01", 80)])
    rise = _rule(run(labs, [dose("P", "methotrexate", "2024-01-01", **MTX)]), "bsr.creatinine_rise")
    assert rise["baseline"].tolist() == [56.0]
    words = "the last result before Methotrexate started on 2024-01-01, drawn 2011-03-01"
    assert words in rise["message"].iloc[0] and words in rise["baseline_basis"].iloc[0]
    assert "42.86% above 56" in rise["message"].iloc[0]


def test_a_ctcae_grade_on_the_baseline_names_it_in_the_flag_and_its_columns():
    # creatinine, no lab ULN: baseline 60 (2019-12-01, before methotrexate 2020-01-01); 100 on it
    # > 1.5 x 60 = 90 and <= 3 x 60 = 180: grade 2, on the baseline.
    labs = series("P", "creatinine", [("2019-12-01", 60), ("2024-06-01", 100)])
    g = _rule(run(labs, [dose("P", "methotrexate", "2020-01-01", **MTX)]), "ctcae.creatinine").iloc[0]
    assert g["ctcae_grade"] == 2 and g["baseline"] == 60.0
    words = "the last result before Methotrexate started on 2020-01-01, drawn 2019-12-01"
    assert g["baseline_basis"] == words and words in g["message"]
    # ALT on an abnormal baseline: the last before azathioprine, 70 > ULN 40 (CTCAE: the last
    # assessment before the first dose, H210); 211 > 3 x 70 = 210: grade 2
    pre = [lab("Q", d, "alt", v, ref_high=40) for d, v in (("2024-01-05", 60), ("2024-01-12", 80), ("2024-01-19", 70))]
    rv = run(
        [*pre, lab("Q", "2024-03-15", "alt", 211, ref_high=40)], [dose("Q", "azathioprine", "2024-02-01", amount=100)]
    )
    a = _rule(rv, "ctcae.alt")
    on = a[a["collected_at"] == pd.Timestamp("2024-03-15")].iloc[0]
    assert on["ctcae_grade"] == 2 and on["baseline"] == 70.0
    assert on["baseline_basis"] == "the last result before Azathioprine started on 2024-02-01, drawn 2024-01-19"
    # a pre-treatment result graded on the ULN names no baseline
    assert a[a["collected_at"] < pd.Timestamp("2024-02-01")]["baseline_basis"].eq("").all()
