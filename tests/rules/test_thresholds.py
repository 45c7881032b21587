"""Guideline action limits: strict inequalities exactly as written, in every unit."""

from __future__ import annotations

import pytest

from dashboard.rules.engine import make_user_profile
from dashboard.rules.review import review
from tests.rules.builders import baseline, dose, imported, lab, run


def fired(review, rule: str) -> list[float]:
    f = review.flags_df()
    return f.loc[f["rule"] == rule, "value"].tolist()


def rules_on(csv_rows: str, profile=None) -> set[str]:
    """Rules that fired on one result imported from CSV text (Arrow path, like the CLI)."""
    from dashboard.rules.engine import builtin_profiles

    result = imported("patient_id,collected_at,analyte,value,unit\n" + csv_rows)
    assert result.labs.num_rows == 1, result.report.to_text()
    rv = review(result.labs, result.doses, result.patients, None, builtin_profiles().get(profile))
    return set(rv.flags.column("rule").to_pylist())


# (rule, analyte in the file, unit, value that does not fire, value that fires)
LIMITS = [
    ("bsr.wbc_low", "WBC", "10^9/L", "3.5", "3.49"),
    ("bsr.wbc_low", "WBC", "K/uL", "3.5", "3.49"),
    ("bsr.wbc_low", "WBC", "/uL", "3500", "3490"),
    ("bsr.neutrophils_low", "Neutrophils", "10^9/L", "1.6", "1.59"),
    ("bsr.neutrophils_low", "Neutrophils", "cells/uL", "1600", "1590"),
    ("bsr.platelets_low", "Platelets", "10^9/L", "140", "139"),
    ("bsr.platelets_low", "Platelets", "/uL", "140000", "139000"),
    ("bsr.eosinophils_high", "Eosinophils", "10^9/L", "0.5", "0.51"),
    ("bsr.eosinophils_high", "Eosinophils", "/uL", "500", "510"),
    ("bsr.mcv_high", "MCV", "fL", "105", "105.1"),
    ("bsr.alt_high", "ALT", "U/L", "100", "101"),
    ("bsr.alt_high", "ALT", "ukat/L", "1.65", "1.7"),
    ("bsr.ast_high", "AST", "IU/L", "100", "100.5"),
    ("bsr.albumin_low", "Albumin", "g/L", "30", "29.9"),
    ("bsr.albumin_low", "Albumin", "g/dL", "3.0", "2.99"),
    ("bsr.egfr_low", "eGFR", "mL/min/1.73m2", "60", "59"),
]


@pytest.mark.parametrize(("rule", "name", "unit", "quiet", "loud"), LIMITS)
def test_limit_is_strict(rule, name, unit, quiet, loud):
    assert rule not in rules_on(f"P1,2024-01-01,{name},{quiet},{unit}\n")
    assert rule in rules_on(f"P1,2024-01-01,{name},{loud},{unit}\n")


@pytest.mark.parametrize(("unit", "quiet", "loud"), [("10^9/L", "0.5", "0.49"), ("/mm3", "500", "490")])
def test_the_local_lymphocyte_limit_is_strict_in_the_2017_profile_only(unit, quiet, loud):
    """Audit 17 F9: the local limit stays in the BSR 2017 profile (its audits reproduce) and
    is left out of the default, where CTCAE grade 3 (< 0.5) flags the same result."""
    old = "BSR 2017 / NICE"
    assert "local.lymphocytes_low" not in rules_on(f"P1,2024-01-01,Lymphocytes,{quiet},{unit}\n", old)
    assert "local.lymphocytes_low" in rules_on(f"P1,2024-01-01,Lymphocytes,{loud},{unit}\n", old)
    assert rules_on(f"P1,2024-01-01,Lymphocytes,{loud},{unit}\n") == {"ctcae.lymphocytes"}
    rv = run([lab("P1", "2024-01-01", "lymphocytes", 0.49)])
    grade = rv.flags_df().set_index("rule").loc["ctcae.lymphocytes"]
    assert (grade["ctcae_grade"], grade["severity"]) == (3, "action")


def test_censored_value_below_a_low_limit_fires():
    assert "bsr.neutrophils_low" in rules_on("P1,2024-01-01,Neutrophils,<1.6,10^9/L\n")
    assert "bsr.alt_high" in rules_on("P1,2024-01-01,ALT,>100,U/L\n")
    assert "bsr.alt_high" not in rules_on("P1,2024-01-01,ALT,<100,U/L\n")


def test_flag_carries_threshold_source_and_message():
    aza = [dose("P1", "azathioprine", "2024-01-01", amount=100)]  # a BSR action is for a patient on a DMARD
    rv = run([lab("P1", "2024-06-01", "wbc", 3.2)], aza, profile="BSR 2017 / NICE")
    f = rv.flags_df().set_index("rule").loc["bsr.wbc_low"]
    assert f["threshold"] == 3.5
    assert f["source"] == "BSR 2017 [bsr2017] as restated by SPS [sps_ssz]"
    assert f["severity"] == "action"
    assert f["message"] == "WBC 3.2 ×10⁹/L < 3.5: withhold and discuss with the specialist team"
    assert f["ctcae_grade"] == 1  # the same result's CTCAE grade travels with the flag


def test_bsr_2025_flag_says_what_could_not_be_confirmed():
    """Issue 17: under BSR 2025 (the default) the limit is the 2017 value, the source says so,
    and the flag's "withhold" names BSR 2017, the guideline that says it (independent audit:
    the only confirmed action must not be dropped)."""
    f = run([lab("P1", "2024-06-01", "wbc", 3.2)]).flags_df().set_index("rule").loc["bsr.wbc_low"]
    assert f["threshold"] == 3.5 and f["severity"] == "action"
    assert f["source"].startswith("BSR 2025") and "not confirmed" in f["source"]
    assert f["message"].startswith("WBC 3.2 ×10⁹/L < 3.5: withhold and discuss with the specialist team")
    assert "the BSR 2017 action" in f["message"] and "BSR 2025 action could not be read" in f["message"]


def test_mcv_advice_names_b12_folate_tsh():
    rv = run([lab("P1", "2024-06-01", "mcv", 108)])
    msg = rv.flags_df().set_index("rule").loc["bsr.mcv_high", "message"]
    assert "B12, folate and TSH" in msg


@pytest.mark.parametrize("profile", [None, "BSR 2017 / NICE"])
def test_egfr_below_60_says_repeat_and_the_creatinine_criterion(profile):
    """SPS (BSR 2017 as restated): 'calculated GFR less than 60 ml/min/1.73m2 (repeat in 1
    week, if still more than 30% from baseline, withhold and discuss)'.  The 30% is the
    creatinine rise of the line before it, not a 30% fall of the eGFR.  eGFR 59 fires (strict
    < 60), 60 does not; the flag asks for a repeat first, at "caution", and names creatinine."""
    from dashboard.rules.engine import builtin_profiles

    prof = builtin_profiles().get(profile) if profile else None
    rv = run([lab("P1", "2024-06-01", "egfr", 60.0), lab("P1", "2024-07-01", "egfr", 59.0)], profile=prof)
    hits = rv.flags_df().query("rule == 'bsr.egfr_low'")
    assert hits["value"].tolist() == [59.0] and hits["threshold"].iloc[0] == 60.0
    assert hits["severity"].iloc[0] == "caution"
    msg = hits["message"].iloc[0]
    assert "repeat in 1 week; if creatinine is still more than 30% above baseline, withhold and discuss" in msg
    assert "below baseline" not in msg


def test_creatinine_rise_over_12_months():
    labs = [
        lab("P1", "2023-01-10", "creatinine", 70),  # more than a year before the last result
        lab("P1", "2023-06-01", "creatinine", 80),
        lab("P1", "2023-12-01", "creatinine", 90),
        lab("P1", "2024-03-01", "creatinine", 104),  # 30% above 80: not more than 30%
        lab("P1", "2024-05-01", "creatinine", 104.1),  # above 80 x 1.3
    ]
    rv = run(labs)
    f = rv.flags_df()
    hits = f[f["rule"] == "bsr.creatinine_rise"]
    assert hits["value"].tolist() == [104.1]
    assert hits["threshold"].iloc[0] == pytest.approx(104.0)
    assert hits["baseline"].iloc[0] == 80
    assert "30.12% above 80" in hits["message"].iloc[0]


def test_creatinine_rise_is_judged_against_the_pre_treatment_baseline():
    """Audit 17 F7 (SPS: 'more than 30% above baseline ... repeat in 1 week'): azathioprine
    from 2024-01-01, creatinine 60 before it (2023-01-10).  79 on 2024-09-01 is 31.67%
    above the baseline 60 (limit 78): it fires, though only 12.9% above the lowest result of
    the previous year (70, on treatment), which the old reference used."""
    labs = [
        lab("P1", "2023-01-10", "creatinine", 60),
        lab("P1", "2024-01-15", "creatinine", 70),
        lab("P1", "2024-06-01", "creatinine", 72),
        lab("P1", "2024-09-01", "creatinine", 79),
    ]
    rv = run(labs, [dose("P1", "azathioprine", "2024-01-01", amount=100)])
    hits = rv.flags_df().query("rule == 'bsr.creatinine_rise'")
    assert hits["value"].tolist() == [79.0]  # 70 and 72 are 16.7% and 20% above 60
    assert hits["baseline"].iloc[0] == 60 and hits["threshold"].iloc[0] == pytest.approx(78.0)
    msg = hits["message"].iloc[0]
    assert "31.67% above 60, the pre-treatment baseline" in msg
    assert "repeat in 1 week; if still more than 30% above baseline, withhold and discuss" in msg


def test_creatinine_rise_without_a_baseline_names_the_fallback():
    labs = [lab("P1", "2024-01-10", "creatinine", 80), lab("P1", "2024-05-01", "creatinine", 105)]
    msg = run(labs).flags_df().query("rule == 'bsr.creatinine_rise'")["message"].iloc[0]
    assert "31.25% above 80, the lowest of the previous 365 days (no pre-treatment baseline" in msg


def test_creatinine_rise_uses_the_clinician_baseline():
    labs = [lab("P1", "2024-01-10", "creatinine", 70), lab("P1", "2024-05-01", "creatinine", 79)]
    rv = run(labs, baselines=[baseline("P1", "creatinine", 60.0)])
    hits = rv.flags_df().query("rule == 'bsr.creatinine_rise'")
    assert hits["value"].tolist() == [79.0]  # 70 is 16.7% above 60, 79 is 31.67%
    assert "the clinician-set baseline" in hits["message"].iloc[-1]


def test_creatinine_rise_needs_an_earlier_result_in_the_window():
    rv = run([lab("P1", "2022-01-01", "creatinine", 60), lab("P1", "2024-01-01", "creatinine", 150)])
    assert fired(rv, "bsr.creatinine_rise") == []


def test_user_profile_threshold_is_used_and_cited():
    profile = make_user_profile("local", "BSR 2017 / NICE", {"bsr.neutrophils_low": {"threshold": 2.0}})
    rv = run([lab("P1", "2024-06-01", "neutrophils", 1.8)], profile=profile)
    f = rv.flags_df().set_index("rule").loc["bsr.neutrophils_low"]
    assert f["threshold"] == 2.0
    assert f["source"].startswith("User profile 'local'")
    assert f["message"].startswith("Neutrophils 1.8 ×10⁹/L < 2:")


def test_ctcae_only_profile_has_no_guideline_flags():
    rv = run([lab("P1", "2024-06-01", "wbc", 3.2), lab("P1", "2024-06-01", "alt", 130)], profile="CTCAE only")
    f = rv.flags_df()
    assert set(f["kind"]) == {"ctcae"}
    assert set(f["rule"]) == {"ctcae.wbc", "ctcae.alt"}


def test_a_censored_result_that_cannot_be_placed_against_the_limit_says_so():
    # "<2.0": the true count lies anywhere below 2.0, so whether it is below 1.6 cannot be
    # told; ">0.5" likewise.  Neither is read as beyond the limit, nor as within it: a
    # caution that names the bound and asks for the exact value.
    for text, shown in (("<2.0", "<2 "), (">0.5", ">0.5 ")):
        rv = run([lab("P1", "2024-06-01", "neutrophils", float(text[1:]), comparator=text[0])])
        f = rv.flags_df()
        f = f[f["rule"] == "bsr.neutrophils_low"]
        assert len(f) == 1, text
        assert f.iloc[0]["severity"] == "caution"
        assert "is unknown" in f.iloc[0]["message"] and f"Neutrophils {shown}" in f.iloc[0]["message"]
    # censored beyond the limit, or on the safe side of it: decided as before
    assert "bsr.neutrophils_low" in rules_on("P1,2024-01-01,Neutrophils,<1.5,10^9/L\n")
    assert "bsr.neutrophils_low" not in rules_on("P1,2024-01-01,Neutrophils,>2.0,10^9/L\n")
    assert "bsr.alt_high" not in rules_on("P1,2024-01-01,ALT,<40,U/L\n")
    rv = run([lab("P1", "2024-06-01", "alt", 200.0, comparator="<")])  # ALT "<200" against > 100
    f = rv.flags_df()
    assert f.loc[f["rule"] == "bsr.alt_high", "severity"].tolist() == ["caution"]


def test_a_value_censored_above_is_never_below_a_cut():
    # ">0.5" neutrophils: the true count is above 0.5, so it is not CTCAE grade 3 or 4
    rv = run([lab("P1", "2024-06-01", "neutrophils", 0.5, comparator=">")])
    assert rv.flags_df().query("kind == 'ctcae'").empty


def test_a_guideline_action_on_a_patient_with_no_monitored_drug_says_so():
    # BSR limits are for patients taking a DMARD: with none recorded at the result, the
    # flag keeps its severity and words but says no monitored drug is recorded then
    # (a glucocorticoid alone is not a monitored drug; one of two drugs in force is enough)
    labs = [lab(p, "2024-06-01", "neutrophils", 1.2) for p in ("P1", "P2", "P3", "P4")]
    doses = [
        dose("P2", "azathioprine", "2024-01-01", amount=100),
        dose("P3", "prednisolone", "2024-01-01", amount=10),
        dose("P4", "prednisolone", "2024-01-01", amount=10),
        dose("P4", "methotrexate", "2024-02-01", amount=15, frequency="weekly"),
    ]
    rv = run(labs, doses)
    f = rv.flags_df().set_index("patient_id")
    f = f[f["rule"] == "bsr.neutrophils_low"]
    for pid, said in (("P1", True), ("P2", False), ("P3", True), ("P4", False)):
        assert ("no monitored drug is recorded" in f.loc[pid, "message"]) is said, pid
        assert f.loc[pid, "severity"] == "action"


def test_a_less_or_equal_result_on_the_limit_cannot_be_said_to_fire_a_strict_limit():
    # BSR neutrophils "< 1.6" is strict: "<=1.6" may be 1.6 itself, which does not fire,
    # or lower, which does.  It is neither fired nor cleared: the caution for a bound that
    # cannot be placed ("<2.0" against < 1.6).  "<=1.5" is below 1.6 whatever its value.
    # ALT "> 100" likewise: ">=100" may be 100 (no), ">=101" is above 100 (yes).
    for text in ("<=1.6", "≤1.6"):
        result = imported(f"patient_id,collected_at,analyte,value,unit\nP1,2024-01-01,Neutrophils,{text},10^9/L\n")
        f = review(result.labs, result.doses, result.patients, None, None).flags_df()
        f = f[f["rule"] == "bsr.neutrophils_low"]
        assert f["severity"].tolist() == ["caution"], text
        assert "Neutrophils <=1.6 " in f.iloc[0]["message"] and "is unknown" in f.iloc[0]["message"]
    assert "bsr.neutrophils_low" in rules_on("P1,2024-01-01,Neutrophils,<=1.5,10^9/L\n")
    assert "bsr.neutrophils_low" not in rules_on("P1,2024-01-01,Neutrophils,>=1.6,10^9/L\n")
    rv = run([lab("P1", "2024-06-01", "alt", 100.0, comparator=">=")])
    f = rv.flags_df()
    assert f.loc[f["rule"] == "bsr.alt_high", "severity"].tolist() == ["caution"]
    assert "bsr.alt_high" in rules_on("P1,2024-01-01,ALT,>=101,U/L\n")


def test_a_nadir_count_after_a_single_pulse_is_not_said_to_have_no_monitored_drug():
    # IV cyclophosphamide 750 mg, one infusion on 2024-05-18 recorded with its end that day
    # (or ended the day after): not in force on 2024-06-01, but given 14 days before, within
    # the 42 days the dose context follows a pulse ("14 d after the last pulse").  The
    # neutrophils 1.2 < 1.6 of that nadir count must not say "no monitored drug is recorded".
    # Prednisolone alone (a glucocorticoid, not a monitored drug) still says it.
    labs = [lab(p, "2024-06-01", "neutrophils", 1.2) for p in ("P1", "P2", "P3")]
    doses = [
        dose("P1", "cyclophosphamide", "2024-05-18", "2024-05-18", amount=750, frequency="monthly", route="IV"),
        dose("P2", "cyclophosphamide", "2024-05-18", "2024-05-19", amount=750, frequency="monthly", route="IV"),
        dose("P3", "methylprednisolone", "2024-05-18", "2024-05-19", amount=500, frequency="daily", route="IV"),
    ]
    f = run(labs, doses, as_of="2024-06-02").flags_df().set_index("patient_id")
    f = f[f["rule"] == "bsr.neutrophils_low"]
    assert "no monitored drug is recorded" not in f.loc["P1", "message"]
    assert "no monitored drug is recorded" not in f.loc["P2", "message"]
    assert "no monitored drug is recorded" in f.loc["P3", "message"]


def test_creatinine_rise_says_why_a_pre_treatment_draw_gave_no_baseline():
    """H411's wording.  Before azathioprine (2024-03-01) one draw holds creatinine 60 and
    80: the level before treatment is anywhere between them, so there is no single
    baseline (there is one draw, so "no pre-treatment baseline" would be untrue).  The
    rule's fallback is the lowest result of the previous 365 days: 60, 80 and 70 give 60.
    At 2024-06-01, 100 is (100 - 60) / 60 = 66.67% above 60: more than 30%, so it fires,
    and its words say why the draw before treatment was not used."""
    labs = [
        lab("P1", "2024-02-01 09:00", "creatinine", 60),
        lab("P1", "2024-02-01 09:00", "creatinine", 80),
        lab("P1", "2024-04-01", "creatinine", 70),
        lab("P1", "2024-06-01", "creatinine", 100),
    ]
    rv = run(labs, [dose("P1", "azathioprine", "2024-03-01", amount=100)])
    hits = rv.flags_df().query("rule == 'bsr.creatinine_rise'")
    msg = hits.loc[hits["value"] == 100, "message"].iloc[0]
    assert "the lowest of the previous 365 days (the draws before treatment give no single level" in msg
    assert "no pre-treatment baseline" not in msg


def test_creatinine_rise_says_a_lower_bound_baseline_cannot_prove_a_rise():
    """Before azathioprine the lab reported creatinine '>150' (at least 150): a rise above
    it is never proven (H408), so the rule falls back on the lowest result of the previous
    365 days, never on the bound itself: 150 on 2024-04-01.  At 2024-06-01, 200 is
    (200 - 150) / 150 = 33.33% above it, more than 30%: it fires, and its words say the
    baseline is only a lower bound, not that there is none."""
    labs = [
        lab("P1", "2024-02-01", "creatinine", 150, comparator=">"),
        lab("P1", "2024-04-01", "creatinine", 150),
        lab("P1", "2024-06-01", "creatinine", 200),
    ]
    rv = run(labs, [dose("P1", "azathioprine", "2024-03-01", amount=100)])
    hits = rv.flags_df().query("rule == 'bsr.creatinine_rise'")
    msg = hits.loc[hits["value"] == 200, "message"].iloc[0]
    assert (
        "33.33% above 150, the lowest of the previous 365 days (the pre-treatment baseline is only a lower bound" in msg
    )
