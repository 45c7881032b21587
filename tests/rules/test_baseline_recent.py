"""The pre-treatment baseline rests on the most recent draws before the start (probe 11
F1, F5, F6; hazards H210-H213).

Every expected value below is worked out by hand from the source each rule cites:

- CTCAE v5.0 compares with the patient's baseline, "the value before treatment": the
  trial convention is the last assessment before the first dose (``ctcae.toml``), so
  one result, the last before the start.
- SPS/BSR 2017: creatinine more than 30% above baseline (the pre-treatment check), one
  result, the last before the start (``rules.toml`` bsr.creatinine_rise).
- The local fall rule: the median of the last 3 draws before the start (``min_results``).
- The ciclosporin label as restated in ``knowledge/data/drugs/ciclosporin.toml``:
  "reduce by 25-50% if creatinine rises 30% or more above the pre-treatment level": the
  level before ciclosporin, whatever was started before it; 30% itself counts.
- The voclosporin label (``voclosporin.toml``, read through renalandurologynews.com and
  lupkynispro.com): eGFR < 60 and reduced by >= 30% from baseline: discontinue; by > 20%
  and < 30%: reduce by 7.9 mg twice daily.  The baseline eGFR is the one established
  before voclosporin.

No look-back limit: none of these sources gives one, so the flag says the date of the
draws instead.
"""

from __future__ import annotations

import pandas as pd

from tests.rules.builders import dose, lab, run, series

MTX = {"amount": 15, "frequency": "weekly"}
AZA = {"amount": 100}


def _rule(rv, rule: str) -> pd.DataFrame:
    f = rv.flags_df()
    return f[f["rule"] == rule].reset_index(drop=True)


# --------------------------------------------------------------------------- F1 the last draws


def test_old_low_counts_do_not_hide_a_fall_from_the_recent_level():
    # WBC 3.0 four times in 2015 (a flare), then 8.0 three times in late 2023.  Median of all
    # seven = 3.0; the median of the last 3 before azathioprine (2024-01-01) = 8.0.  WBC 5.0 on
    # the drug is (8 - 5) / 8 = 37.5% below it: more than 30%, the fall rule fires (caution:
    # 5.0 is within the default WBC range).
    old = [(f"2015-0{m}-01", 3.0) for m in (1, 2, 3, 4)]
    recent = [("2023-10-01", 8.0), ("2023-11-01", 8.0), ("2023-12-01", 8.0)]
    rv = run(series("P", "wbc", [*old, *recent, ("2024-03-01", 5.0)]), [dose("P", "azathioprine", "2024-01-01", **AZA)])
    f = _rule(rv, "trend.baseline_fall")
    assert f["collected_at"].tolist() == [pd.Timestamp("2024-03-01")]
    assert f["baseline"].tolist() == [8.0]
    words = "median of the last 3 results before Azathioprine started on 2024-01-01, drawn 2023-10-01 to 2023-12-01"
    assert words in f["baseline_basis"].iloc[0] and words in f["message"].iloc[0]
    assert "37.5% below the patient's baseline 8" in f["message"].iloc[0]


def test_old_high_counts_do_not_make_a_normal_count_a_fall():
    # WBC 12.0 three times in 2015 (an infection), 6.0 three times in late 2023: median of all
    # six = 9.0, of the last three = 6.0.  WBC 5.5 on the drug: (6 - 5.5) / 6 = 8.3%, no fall.
    old = [(f"2015-0{m}-01", 12.0) for m in (1, 2, 3)]
    recent = [("2023-10-01", 6.0), ("2023-11-01", 6.0), ("2023-12-01", 6.0)]
    rv = run(series("P", "wbc", [*old, *recent, ("2024-03-01", 5.5)]), [dose("P", "azathioprine", "2024-01-01", **AZA)])
    assert _rule(rv, "trend.baseline_fall").empty


def test_the_creatinine_rise_is_measured_from_the_last_result_before_the_drug_and_says_its_date():
    # 55 (2010), 56 (2011), 85 (2023-12-01) before methotrexate (2024-01-01).  The last is 85;
    # 80 on the drug is below it: no rise.  112 is (112 - 85) / 85 = 31.76% above it: fires.
    labs = series("P", "creatinine", [("2010-03-01", 55), ("2011-03-01", 56), ("2023-12-01", 85)])
    labs += series("P", "creatinine", [("2024-06-01", 80), ("2024-09-01", 112)])
    rise = _rule(run(labs, [dose("P", "methotrexate", "2024-01-01", **MTX)]), "bsr.creatinine_rise")
    assert rise["collected_at"].tolist() == [pd.Timestamp("2024-09-01")]
    assert rise["baseline"].tolist() == [85.0]
    words = "the last result before Methotrexate started on 2024-01-01, drawn 2023-12-01"
    assert words in rise["message"].iloc[0] and words in rise["baseline_basis"].iloc[0]
    assert "31.76% above 85" in rise["message"].iloc[0]


def test_a_ctcae_alt_grade_uses_the_last_alt_before_the_drug():
    # ALT 30 (2023-12-01) was the last before azathioprine: normal (ULN 40), so ULN grades.
    # An earlier 90 (2023-06-01) does not count.  130 > 3 x 40 = 120 and <= 5 x 40: grade 2.
    pre = [lab("P", d, "alt", v, ref_high=40) for d, v in (("2023-06-01", 90), ("2023-12-01", 30))]
    rv = run([*pre, lab("P", "2024-03-01", "alt", 130, ref_high=40)], [dose("P", "azathioprine", "2024-01-01", **AZA)])
    f = _rule(rv, "ctcae.alt")
    on = f[f["collected_at"] == pd.Timestamp("2024-03-01")]
    assert on["ctcae_grade"].tolist() == [2]
    assert on["baseline_basis"].tolist() == [""]  # graded on the ULN, not on a baseline


# --------------------------------------------------------------------------- F5 censored baselines


def test_a_fall_from_a_lower_bound_baseline_is_at_least_the_fall_from_the_bound():
    # ">10" three times: the baseline is only known to be above 10.  6.5 is then more than
    # (10 - 6.5) / 10 = 35% below it: more than 30% in any case, so the rule fires, and says
    # "at least" and the bound ">10", never "the baseline 10".
    pre = [lab("P", d, "neutrophils", 10, comparator=">") for d in ("2023-10-01", "2023-11-01", "2023-12-01")]
    rv = run([*pre, lab("P", "2024-05-01", "neutrophils", 6.5)], [dose("P", "azathioprine", "2024-01-01", **AZA)])
    f = _rule(rv, "trend.baseline_fall")
    assert len(f) == 1
    msg = f["message"].iloc[0]
    assert "at least 35% below the patient's baseline >10" in msg
    assert "only a bound" in f["baseline_basis"].iloc[0]


def test_a_fall_from_an_upper_bound_baseline_is_not_claimed():
    # "<3.0" three times before the drug: the baseline could be 1.6, so WBC 1.5 is not known to
    # be more than 30% below it: no fall flag.  CTCAE still grades 1.5 < 2.0: grade 3.
    pre = [lab("P", d, "wbc", 3.0, comparator="<") for d in ("2023-10-01", "2023-11-01", "2023-12-01")]
    rv = run([*pre, lab("P", "2024-05-01", "wbc", 1.5)], [dose("P", "azathioprine", "2024-01-01", **AZA)])
    assert _rule(rv, "trend.baseline_fall").empty
    g = _rule(rv, "ctcae.wbc")
    assert g[g["collected_at"] == pd.Timestamp("2024-05-01")]["ctcae_grade"].tolist() == [3]


def test_a_censored_result_that_cannot_move_the_median_leaves_it_a_value():
    # 5.0, 6.0 and ">10": whatever the censored value (>= 10), the median of three is 6.0.
    # 4.0 is (6 - 4) / 6 = 33.3% below it: fires, on the value 6, with no "at least".
    pre = [lab("P", "2023-10-01", "neutrophils", 5.0), lab("P", "2023-11-01", "neutrophils", 6.0)]
    pre += [lab("P", "2023-12-01", "neutrophils", 10, comparator=">")]
    rv = run([*pre, lab("P", "2024-05-01", "neutrophils", 4.0)], [dose("P", "azathioprine", "2024-01-01", **AZA)])
    f = _rule(rv, "trend.baseline_fall")
    assert f["baseline"].tolist() == [6.0]
    assert "33.3% below the patient's baseline 6 " in f["message"].iloc[0]
    assert "at least" not in f["message"].iloc[0] and "bound" not in f["baseline_basis"].iloc[0]


def test_a_creatinine_rise_above_an_upper_bound_baseline_is_at_least_the_rise_above_the_bound():
    # "<40" before methotrexate: the level was at most 40, so 55 is at least (55 - 40) / 40 =
    # 37.5% above it: more than 30% in any case: fires, saying "at least" and "<40".
    labs = [lab("P", "2023-12-01", "creatinine", 40, comparator="<"), lab("P", "2024-03-01", "creatinine", 55)]
    rise = _rule(run(labs, [dose("P", "methotrexate", "2024-01-01", **MTX)]), "bsr.creatinine_rise")
    assert len(rise) == 1
    assert "at least 37.5% above <40" in rise["message"].iloc[0]
    assert "only a bound" in rise["baseline_basis"].iloc[0]


# --------------------------------------------------------------------------- F6 the drug's own start


def test_ciclosporin_is_judged_on_the_creatinine_before_ciclosporin_30_percent_inclusive():
    # methotrexate 2020 (creatinine 100 before it); on methotrexate 100 again on 2023-12-15;
    # ciclosporin added 2024-01-01.  130 on 2024-03-01 is exactly 30% above 100: the label's
    # "30% or more" fires; SPS's "more than 30%" (bsr.creatinine_rise) does not.
    labs = series("P", "creatinine", [("2019-12-01", 100), ("2023-12-15", 100), ("2024-03-01", 130)])
    doses = [dose("P", "methotrexate", "2020-01-01", **MTX), dose("P", "ciclosporin", "2024-01-01", amount=200)]
    rv = run(labs, doses, as_of="2024-03-10")
    cic = _rule(rv, "label.ciclosporin_creatinine_rise")
    assert cic["collected_at"].tolist() == [pd.Timestamp("2024-03-01")]
    assert cic["baseline"].tolist() == [100.0]
    assert "the last result before Ciclosporin started on 2024-01-01, drawn 2023-12-15" in cic["message"].iloc[0]
    assert "25-50%" in cic["message"].iloc[0]
    assert _rule(rv, "bsr.creatinine_rise").empty
    # 129 is 29% above 100: below the label's 30%
    labs[-1] = lab("P", "2024-03-01", "creatinine", 129)
    assert _rule(run(labs, doses, as_of="2024-03-10"), "label.ciclosporin_creatinine_rise").empty


def test_the_ciclosporin_rule_uses_the_level_before_its_latest_start_and_only_while_it_is_taken():
    # ciclosporin 2020-01-01 to 2021-01-01 (creatinine 60 before it), restarted 2024-01-01
    # (80 on 2023-12-01).  105 on 2024-03-01 is (105 - 80) / 80 = 31.25% above the level before
    # the restart: fires, on 80.  After ciclosporin stops (2024-06-01), 140 on 2024-08-01 is not
    # judged by the ciclosporin label (there is no dose to reduce).
    labs = series("P", "creatinine", [("2019-12-01", 60), ("2023-12-01", 80), ("2024-03-01", 105)])
    labs += series("P", "creatinine", [("2024-08-01", 140)])
    doses = [
        dose("P", "ciclosporin", "2020-01-01", "2021-01-01", amount=200),
        dose("P", "ciclosporin", "2024-01-01", "2024-06-01", amount=200),
    ]
    cic = _rule(run(labs, doses), "label.ciclosporin_creatinine_rise")
    assert cic["collected_at"].tolist() == [pd.Timestamp("2024-03-01")]
    assert cic["baseline"].tolist() == [80.0]
    assert "31.25% above 80" in cic["message"].iloc[0]


def test_no_ciclosporin_rule_without_a_creatinine_before_ciclosporin():
    # ciclosporin from 2024-01-01, the first creatinine on it: no pre-treatment level, so the
    # label rule is silent (the BSR rule's fallback speaks for the 12-month rise instead).
    labs = series("P", "creatinine", [("2024-02-01", 60), ("2024-03-01", 90)])
    rv = run(labs, [dose("P", "ciclosporin", "2024-01-01", amount=200)], as_of="2024-03-10")
    assert _rule(rv, "label.ciclosporin_creatinine_rise").empty
    assert len(_rule(rv, "bsr.creatinine_rise")) == 1  # 50% above the lowest of the previous 365 days


# --------------------------------------------------------------------------- F7 the voclosporin label


VOC = {"amount": 23.7, "frequency": "BID"}


def _voc(points, *, start="2024-01-01", end=None):
    rv = run(series("P", "egfr", points), [dose("P", "voclosporin", start, end, **VOC)], as_of="2024-12-31")
    return _rule(rv, "label.voclosporin_egfr_fall"), _rule(rv, "label.voclosporin_egfr_fall_band")


def test_voclosporin_egfr_bands_from_the_baseline_before_voclosporin():
    # baseline 70 (the last eGFR before voclosporin; the older 95 does not count).
    # 56: (70 - 56) / 70 = 20.0%, not more than 20%: nothing.
    # 55: 21.4%, > 20% and < 30%, and 55 < 60: reduce by 7.9 mg twice daily.
    # 49: exactly 30.0%, ">= 30%", and 49 < 60: discontinue (and not the band: not < 30%).
    stop, band = _voc(
        [("2023-06-01", 95), ("2023-12-01", 70), ("2024-02-01", 56), ("2024-03-01", 55), ("2024-04-01", 49)]
    )
    assert band["collected_at"].tolist() == [pd.Timestamp("2024-03-01")]
    assert band["severity"].tolist() == ["caution"]
    assert "reduce voclosporin by 7.9 mg twice daily" in band["message"].iloc[0]
    assert stop["collected_at"].tolist() == [pd.Timestamp("2024-04-01")]
    assert stop["severity"].tolist() == ["action"]
    assert stop["baseline"].tolist() == [70.0]
    assert "discontinue voclosporin" in stop["message"].iloc[0]
    assert "the last result before Voclosporin started on 2024-01-01, drawn 2023-12-01" in stop["message"].iloc[0]


def test_voclosporin_egfr_fall_needs_egfr_below_60_and_voclosporin_in_force():
    # baseline 100: 62 is 38% below it but not < 60: no label rule (the label adjusts only
    # below 60).  After voclosporin stops (2024-03-01), 50 is not judged by its label.
    stop, band = _voc([("2023-12-01", 100), ("2024-02-01", 62), ("2024-05-01", 50)], end="2024-03-01")
    assert stop.empty and band.empty


def test_a_lower_bound_egfr_baseline_proves_a_30_percent_fall():
    # baseline ">90": the level was at least 90; 58 is then at least 35.6% below it: discontinue,
    # said as a bound.
    from tests.rules.builders import lab

    labs = [lab("P", "2023-12-01", "egfr", 90, comparator=">"), lab("P", "2024-02-15", "egfr", 58)]
    rv = run(labs, [dose("P", "voclosporin", "2024-01-01", **VOC)], as_of="2024-03-01")
    stop = _rule(rv, "label.voclosporin_egfr_fall")
    assert len(stop) == 1
    assert "at least 35.6% below >90" in stop["message"].iloc[0]
