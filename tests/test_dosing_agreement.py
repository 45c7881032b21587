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
* allopurinol, normal, 70 kg: a quarter to a third of 140 mg = 35-46.7 mg; limit 46.7 mg
  (the old assistant allowed 36% of 140 = 50 mg while the rule fired above 33%);
* TPMT and NUDT15 unknown, 70 kg: no full dose; cautious start 1 mg/kg/day = 70 mg,
  suggestion 50 mg (the 25 mg step at or below it).
"""

from __future__ import annotations

import itertools

import pandas as pd
import pytest

from dashboard import dosing
from dashboard.rules.data import severity_rank
from tests.rules.builders import dose, patient, run

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
    assert allo.adjusted_range == pytest.approx((35.0, 140 / 3)) and allo.limit_mg == pytest.approx(140 / 3)
    unknown = dosing.azathioprine_dose(70, "unknown", "unknown")
    assert unknown.test_first and unknown.suggested_dose == 50.0 and unknown.limit_mg == pytest.approx(70.0)


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
