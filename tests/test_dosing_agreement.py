"""The dosing assistant and the dose-check rules never disagree (issue 17, item 2).

Over a grid of weights x TPMT/NUDT15 phenotypes x allopurinol/febuxostat, for both
thiopurines, every dose the assistant suggests is given to the rules as a dose history:
they raise nothing above "info" on it.  A dose just above the assistant's limit (1 mg
more) makes them fire at "caution" or above.  Both read ``knowledge/data/dosing.toml``.

Hand-derived anchors (written before the code, from the sources):

* azathioprine, 70 kg, TPMT/NUDT15 normal: target 2-2.5 mg/kg/day = 140-175 mg; the
  rules accept up to 175 mg (label maximum 2.5 mg/kg/day);
* TPMT intermediate, 70 kg: CPIC 30-80% of 2 mg/kg/day = 42-112 mg; limit 112 mg
  (the old assistant allowed 140 mg while the rule fired above 112);
* allopurinol, normal, 70 kg: a quarter to a third of 140 mg = 35-46.7 mg, capped at a
  quarter (Medsafe 1998: 25% of the recommended dose; above it the rules give a caution,
  above a third, the top of the US label's range, an urgent flag): 35-35 mg; limit 35 mg
  (an older assistant allowed 36% of 140 = 50 mg while the rule fired above 33%);
* TPMT and NUDT15 unknown, 70 kg: no full dose; cautious start 1 mg/kg/day = 70 mg,
  suggestion 50 mg (the 25 mg step at or below it).

Audit 17 (F1): TPMT unknown is "test first" whatever NUDT15 says (Imuran label: TPMT
testing finds the patients at risk at conventional doses; CPIC April 2020: a TPMT
indeterminate phenotype calls for TPMT activity; a TPMT deficiency is the commoner risk in
European ancestry).  NUDT15 unknown with TPMT normal keeps the full dose with "monitor
closely for toxicity" (CPIC April 2020, NUDT15 indeterminate):

* azathioprine, TPMT unknown, NUDT15 normal, 70 kg: start 1 mg/kg = 70 mg -> 50 mg
  (the audit reproduced 150 mg); 86 kg: 86 mg -> 75 mg (was 200 mg);
* TPMT unknown, NUDT15 intermediate, 70 kg: CPIC 30-80% of 140 = 42-112 mg, capped at the
  start 70 mg -> 42-70 mg -> 50 mg;
* mercaptopurine, TPMT unknown, NUDT15 normal, 70 kg: start 0.75 mg/kg = 52.5 mg -> 50 mg;
* TPMT normal, NUDT15 unknown, 70 kg: full target 140-175 mg -> 150 mg, "monitor closely".

Audit 17 (F2): allopurinol added to a thiopurine the patient already takes.  Medsafe
(1998): 25% of the recommended dose; US Imuran label: a third or a quarter of the usual
dose; the usual dose is the dose the patient takes (the rule's reference: the dose before
allopurinol).  The assistant takes the lower of a quarter-to-a-third of that dose and of
the standard-based range, capped at a quarter of the reference (the rules' silent limit),
so it never suggests an increase:

* 86 kg, 100 mg: 100/4-100/3 = 25-33.3 mg (standard-based 43-57.3) -> 25-33.3, capped at
  25 -> 25 mg (the audit reproduced 50 mg, which the rule flags "urgent" at 50%); limit 25;
* 115 kg, 150 mg: 37.5-50 (standard-based 57.5-76.7), capped at 37.5: no 25 mg step in
  37.5-37.5 -> rounded down to 25 mg; limit 37.5;
* 115 kg, 50 mg: 12.5-16.7, capped at 12.5: below one 25 mg tablet a day -> no dose (the
  audit reproduced 75 mg, an increase);
* 86 kg, 200 mg: 50-66.7 against the standard-based 43-57.3 -> 43-57.3, capped at 50 ->
  43-50 -> 50 mg; the rules accept up to 50 mg (a quarter of 200);
* 70 kg, TPMT intermediate, 100 mg: standard-based 10.5-37.3, a third of 100 = 33.3 ->
  10.5-33.3, capped at 25 -> 25 mg;
* 70 kg, TPMT unknown, 100 mg: 25-33.3 (below the cautious start 70), capped at 25 -> 25 mg.
"""

from __future__ import annotations

import itertools

import pandas as pd
import pytest

from dashboard import dosing
from dashboard.rules.data import severity_rank
from tests.rules.builders import dose, lab, patient, run

WEIGHTS = (38.0, 52.5, 70.0, 86.0, 115.0)
PHENOTYPES = ("normal", "intermediate", "possible intermediate", "poor", "unknown")
CO_MEDS = ("", "allopurinol", "febuxostat")
START = "2024-01-01"
AS_OF = "2024-06-30"


def _cells() -> list[tuple[str, float, str, str, str]]:
    return list(itertools.product(dosing.THIOPURINES, WEIGHTS, PHENOTYPES, PHENOTYPES, CO_MEDS))


def _assistant(drug: str, weight: float, tpmt: str, nudt15: str, co: str) -> dosing.DoseResult:
    return dosing.thiopurine_dose(
        drug, weight, tpmt, nudt15, allopurinol=co == "allopurinol", febuxostat=co == "febuxostat"
    )


def _review(amounts: dict[str, tuple[tuple, float]]) -> pd.DataFrame:
    """One review over every grid cell: one patient per cell, the thiopurine from START at
    ``amount`` mg/day, the co-medication started a year before."""
    patients, doses = [], []
    for pid, ((drug, weight, tpmt, nudt15, co), amount) in amounts.items():
        patients.append(patient(pid, weight=weight, tpmt=tpmt, nudt15=nudt15))
        doses.append(dose(pid, drug, START, amount=amount))
        if co:
            doses.append(dose(pid, co, "2023-01-01", amount=100))
    return run([], doses, patients, as_of=AS_OF).dose_checks_df()


def _worst(df: pd.DataFrame) -> dict[str, int]:
    if df.empty:
        return {}
    open_rows = df[df["status"] == "open"]
    return open_rows.groupby("patient_id")["severity"].agg(lambda s: max(severity_rank(x) for x in s)).to_dict()


def test_anchor_cases_by_hand():
    normal = dosing.azathioprine_dose(70, "normal", "normal")
    assert normal.adjusted_range == pytest.approx((140.0, 175.0)) and normal.limit_mg == pytest.approx(175.0)
    im = dosing.azathioprine_dose(70, "intermediate", "normal")
    assert im.adjusted_range == pytest.approx((42.0, 112.0)) and im.limit_mg == pytest.approx(112.0)
    allo = dosing.azathioprine_dose(70, "normal", "normal", allopurinol=True)
    assert allo.adjusted_range == pytest.approx((35.0, 35.0)) and allo.limit_mg == pytest.approx(35.0)
    unknown = dosing.azathioprine_dose(70, "unknown", "unknown")
    assert unknown.test_first and unknown.suggested_dose == 50.0 and unknown.limit_mg == pytest.approx(70.0)


@pytest.mark.parametrize(
    ("drug", "weight", "nudt15", "limit", "suggested"),
    [
        ("azathioprine", 70.0, "normal", 70.0, 50.0),
        ("azathioprine", 86.0, "normal", 86.0, 75.0),
        ("azathioprine", 70.0, "intermediate", 70.0, 50.0),
        ("azathioprine", 70.0, "unknown", 70.0, 50.0),
        ("mercaptopurine", 70.0, "normal", 52.5, 50.0),
    ],
)
def test_tpmt_unknown_is_test_first_whatever_nudt15_says(drug, weight, nudt15, limit, suggested):
    r = dosing.thiopurine_dose(drug, weight, "unknown", nudt15)
    assert r.test_first
    assert r.limit_mg == pytest.approx(limit)
    assert r.adjusted_range[1] == pytest.approx(limit)
    assert r.suggested_dose == suggested
    assert "TPMT" in " ".join(w.message for w in r.warnings if w.severity == "high")


def test_nudt15_unknown_with_tpmt_normal_keeps_the_full_dose_and_says_monitor_closely():
    r = dosing.azathioprine_dose(70, "normal", "unknown")
    assert not r.test_first
    assert r.adjusted_range == pytest.approx((140.0, 175.0)) and r.suggested_dose == 150.0
    assert r.limit_mg == pytest.approx(175.0)
    closely = [w for w in r.warnings if "monitor closely" in w.message]
    assert closely and closely[0].severity == "caution" and "cpic2024" in closely[0].refs


def test_tpmt_unknown_alone_makes_the_rule_fire():
    """60 kg, TPMT unknown, NUDT15 normal: the cautious start is 60 mg; 100 mg (1.67 mg/kg)
    is above it -> caution; 50 mg only says the genotype is not recorded (info)."""
    pts = [patient("U1", weight=60, tpmt="unknown", nudt15="normal"), patient("U2", weight=60, nudt15="normal")]
    doses = [dose("U1", "azathioprine", START, amount=100), dose("U2", "azathioprine", START, amount=50)]
    df = run([], doses, pts, as_of=AS_OF).dose_checks_df().set_index("patient_id")
    assert df.loc["U1", "rule"] == "dose.thiopurine_unknown_above_start" and df.loc["U1", "severity"] == "caution"
    assert df.loc["U2", "rule"] == "dose.thiopurine_genotype_unknown" and df.loc["U2", "severity"] == "info"


@pytest.mark.parametrize(
    ("weight", "tpmt", "before", "low", "high", "suggested", "limit"),
    [
        (86.0, "normal", 100.0, 25.0, 25.0, 25.0, 25.0),
        (115.0, "normal", 150.0, 37.5, 37.5, 25.0, 37.5),
        (115.0, "normal", 50.0, 12.5, 12.5, None, 12.5),
        (86.0, "normal", 200.0, 43.0, 50.0, 50.0, 50.0),
        (70.0, "intermediate", 100.0, 10.5, 25.0, 25.0, 25.0),
        (70.0, "unknown", 100.0, 25.0, 25.0, 25.0, 25.0),
    ],
)
def test_allopurinol_added_caps_at_a_quarter_of_the_current_dose(weight, tpmt, before, low, high, suggested, limit):
    r = dosing.azathioprine_dose(weight, tpmt, "normal", allopurinol=True, current_mg=before)
    assert r.adjusted_range == pytest.approx((low, high))
    assert r.suggested_dose == suggested
    assert r.limit_mg == pytest.approx(limit)
    assert r.suggested_dose is None or r.suggested_dose <= before / 4 + 1e-9  # never above a quarter
    assert any(f"{before:g} mg/day" in line for line in r.reasoning)


ADDED = "2024-04-01"  # allopurinol added to the thiopurine the patient takes since START
BEFORE = (50.0, 100.0, 150.0, 200.0)
ADDED_PHENOTYPES = ("normal", "intermediate", "unknown")


def _added_cells() -> list[tuple]:
    return list(itertools.product(dosing.THIOPURINES, WEIGHTS, ADDED_PHENOTYPES, ADDED_PHENOTYPES, BEFORE))


def _review_added(amounts: dict[str, tuple[tuple, float]]) -> pd.DataFrame:
    """One patient per cell: the thiopurine at ``before`` mg/day from START, then at
    ``amount`` from ADDED, the day allopurinol starts."""
    patients, doses = [], []
    for pid, ((drug, weight, tpmt, nudt15, before), amount) in amounts.items():
        patients.append(patient(pid, weight=weight, tpmt=tpmt, nudt15=nudt15))
        doses.append(dose(pid, drug, START, ADDED, amount=before))
        doses.append(dose(pid, drug, ADDED, amount=amount))
        doses.append(dose(pid, "allopurinol", ADDED, amount=100))
    return run([], doses, patients, as_of=AS_OF).dose_checks_df()


def _added(cell: tuple) -> dosing.DoseResult:
    drug, weight, tpmt, nudt15, before = cell
    return dosing.thiopurine_dose(drug, weight, tpmt, nudt15, allopurinol=True, current_mg=before)


def test_allopurinol_added_to_a_thiopurine_rules_accept_every_suggestion_and_it_is_never_an_increase():
    amounts = {}
    for i, cell in enumerate(_added_cells()):
        r = _added(cell)
        if r.suggested_dose is not None:
            assert r.suggested_dose <= cell[-1] / 4 + 1e-9, cell
            amounts[f"B{i:04d}"] = (cell, r.suggested_dose)
    assert len(amounts) > 150
    worst = _worst(_review_added(amounts))
    too_severe = {amounts[p][0]: s for p, s in worst.items() if s > severity_rank("info")}
    assert too_severe == {}


def test_allopurinol_added_to_a_thiopurine_rules_fire_just_above_the_limit():
    amounts = {}
    for i, cell in enumerate(_added_cells()):
        r = _added(cell)
        assert r.limit_mg is not None and r.adjusted_range[1] <= r.limit_mg + 1e-9
        amounts[f"L{i:04d}"] = (cell, round(r.limit_mg + 1.0, 3))
    worst = _worst(_review_added(amounts))
    silent = [amounts[p][0] for p in amounts if worst.get(p, 0) < severity_rank("caution")]
    assert silent == []


def test_rules_accept_every_suggestion_of_the_assistant():
    cells = _cells()
    amounts = {}
    for i, cell in enumerate(cells):
        r = _assistant(*cell)
        if r.suggested_dose is not None:
            amounts[f"S{i:04d}"] = (cell, r.suggested_dose)
    assert len(amounts) > 200  # most cells have a suggestion
    worst = _worst(_review(amounts))
    too_severe = {amounts[p][0]: s for p, s in worst.items() if s > severity_rank("info")}
    assert too_severe == {}


def test_rules_fire_just_above_the_assistants_limit():
    cells = _cells()
    amounts = {}
    for i, cell in enumerate(cells):
        r = _assistant(*cell)
        if r.avoid:
            amounts[f"A{i:04d}"] = (cell, 25.0)  # poor metaboliser or febuxostat: any dose fires
        else:
            assert r.limit_mg is not None and r.adjusted_range[1] <= r.limit_mg + 1e-9
            amounts[f"A{i:04d}"] = (cell, round(r.limit_mg + 1.0, 3))
    worst = _worst(_review(amounts))
    silent = [amounts[p][0] for p in amounts if worst.get(p, 0) < severity_rank("caution")]
    assert silent == []


@pytest.mark.parametrize("weight", WEIGHTS)
def test_hydroxychloroquine_suggestion_and_limit_agree_with_the_rule(weight):
    r = dosing.hydroxychloroquine_dose(weight)
    amounts = {"H1": r.suggested_dose, "H2": r.adjusted_range[1] + 1.0}
    doses = [dose(pid, "hydroxychloroquine", START, amount=mg) for pid, mg in amounts.items()]
    pts = [patient(pid, weight=weight) for pid in amounts]
    df = run([], doses, pts, as_of=AS_OF).dose_checks_df()
    assert set(df["patient_id"]) == {"H2"}


def test_every_suggestion_is_shown_in_three_units_with_a_titration_plan():
    r = dosing.azathioprine_dose(70, "normal", "normal")
    assert r.suggested_dose == 150.0
    assert r.per_kg(150.0) == pytest.approx(150 / 70)
    assert r.pct_standard(150.0) == pytest.approx(150 / 140 * 100)
    # label: start about 1 mg/kg (70 mg -> 50 mg in 25 mg steps), first step after 6 weeks,
    # then +0.5 mg/kg/day (35 mg -> 25 mg step) every 4 weeks up to the suggestion
    plan = [(s.week, s.mg_per_day) for s in r.titration]
    assert plan == [(0, 50.0), (6, 75.0), (10, 100.0), (14, 125.0), (18, 150.0)]
    mp = dosing.mercaptopurine_dose(70, "normal", "normal")
    assert mp.titration and mp.titration[0].mg_per_day <= 0.75 * 70
    assert max(s.mg_per_day for s in mp.titration) == mp.suggested_dose


# Audit 18 (finding 1): methotrexate with eGFR below 30.  UK SmPC (emc 511) section 4.3:
# contraindicated at creatinine clearance below 30 mL/min for doses below 100 mg/m2.  By
# hand, 15 mg/week: eGFR 29 -> the page says "contraindicated" (its top grade, "high")
# and the rule fires "urgent"; eGFR 30 -> neither says it; eGFR 45 -> the page's
# "below 60" caution only, and no renal dose check.
@pytest.mark.parametrize(("egfr", "contraindicated"), [(29.0, True), (29.9, True), (30.0, False), (45.0, False)])
def test_methotrexate_renal_contraindication_page_and_rule_agree(egfr, contraindicated):
    page = dosing.methotrexate_check(15.0, egfr=egfr)
    said = [w for w in page.warnings if "contraindicated" in w.message]
    assert bool(said) is contraindicated
    if said:
        assert said[0].severity == "high" and "4.3" in said[0].message and "mtx_uk_smpc" in said[0].refs
    labs = [lab("M1", "2024-06-01", "egfr", egfr)]
    doses = [dose("M1", "methotrexate", START, amount=15, frequency="weekly")]
    df = run(labs, doses, [patient("M1", weight=70)], as_of=AS_OF).dose_checks_df()
    fired = df[df["rule"] == "dose.mtx_renal_contraindicated"]
    assert (len(fired) == 1) is contraindicated
    if contraindicated:
        row = fired.iloc[0]
        assert row["severity"] == "urgent" and "contraindicated" in row["message"] and "4.3" in row["message"]
        assert row["threshold"] == pytest.approx(30.0)


# Audit 3 (2026-12-04): mycophenolate.  KDIGO 2024 lupus nephritis induction: mycophenolate
# mofetil 2-3 g/day; the dose check dose.mmf_above_max fires above 3000 mg/day, and
# dose.mpa_above_max above 3000 x 0.72 = 2160 mg/day of mycophenolic acid.  By hand: MMF
# 1000 mg twice daily (2000) and 1500 twice daily (3000) pass, 1750 twice daily (3500) and
# 2000 twice daily (4000) fire; MPA 720 twice daily (1440) and 1080 twice daily (2160) pass,
# 1440 twice daily (2880) fires.  Every dose the rules flag, the page's check of the current
# dose (induction, the page's default phase) flags with the check's own severity, "caution"
# (probe 12 F8: it said "high" before, where the rules said "caution").
@pytest.mark.parametrize(
    ("drug", "form", "twice_daily", "fires"),
    [
        ("mycophenolate mofetil", "MMF", 1000.0, False),
        ("mycophenolate mofetil", "MMF", 1500.0, False),
        ("mycophenolate mofetil", "MMF", 1750.0, True),
        ("mycophenolate mofetil", "MMF", 2000.0, True),
        ("mycophenolic acid", "MPA", 720.0, False),
        ("mycophenolic acid", "MPA", 1080.0, False),
        ("mycophenolic acid", "MPA", 1440.0, True),
    ],
)
def test_mycophenolate_page_warns_about_every_dose_the_rules_flag(drug, form, twice_daily, fires):
    df = run(
        [], [dose("M1", drug, START, amount=twice_daily, frequency="BID")], [patient("M1", weight=70)], as_of=AS_OF
    )
    checks = df.dose_checks_df()
    flagged = checks[checks["rule"].isin(["dose.mmf_above_max", "dose.mpa_above_max"])]
    assert (len(flagged) == 1) is fires
    page = dosing.current_dose_check(dosing.mycophenolate_dose("induction", form), 2 * twice_daily)
    assert page is not None and (page.severity == "caution") is fires
