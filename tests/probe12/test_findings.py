"""Probe 12 (pharmacist review of the Dosing and Compare pages and the dose checks).

Each expectation is derived by hand from the source named in its docstring or comment,
never from the code's output.  Defects still open are strict xfails; the last section
pins a fix (H230).
"""

from __future__ import annotations

import tomllib

import pandas as pd
import pytest

from dashboard import dosing, knowledge
from dashboard.rules.data import severity_rank
from tests.rules.builders import dose, patient, run
from tests.support import ROOT


def _open_checks(rv, pid: str) -> pd.DataFrame:
    df = rv.dose_checks_df()
    return df[(df["patient_id"] == pid) & (df["status"] == "open")]


# --------------------------------------------------------------------------- F1 split doses


def test_two_overlapping_rows_of_one_drug_are_checked_on_their_total():
    # Imuran US label (RA): maximum 2.5 mg/kg/day.  100 + 75 = 175 mg/day / 60 kg = 2.92 > 2.5
    # (each row alone: 1.67 and 1.25 mg/kg/day, both under it).
    doses = [
        dose("S", "azathioprine", "2024-01-01", amount=100),
        dose("S", "azathioprine", "2024-01-01", "2024-12-31", amount=75),
    ]
    rv = run([], doses, [patient("S", weight=60, tpmt="normal", nudt15="normal")], as_of="2024-06-30")
    rules = set(_open_checks(rv, "S")["rule"])
    assert "dose.aza_above_2_5" in rules


def test_voclosporin_morning_and_evening_rows_are_checked_together_with_a_moderate_inhibitor():
    # Lupkynis label: with a moderate CYP3A4 inhibitor reduce to 15.8 mg am + 7.9 mg pm = 23.7 mg/day.
    # 23.7 (am row) + 23.7 (pm row) = 47.4 mg/day > 23.7.
    doses = [
        dose("V", "voclosporin", "2024-01-01", amount=23.7),
        dose("V", "voclosporin", "2024-01-01", "2024-12-31", amount=23.7),
        dose("V", "diltiazem", "2024-02-01", amount=180),
    ]
    rv = run([], doses, [patient("V", weight=60)], as_of="2024-06-30")
    assert "dose.voclosporin_moderate_cyp3a4" in set(_open_checks(rv, "V")["rule"])


# --------------------------------------------------------------------------- F2 HCQ above 400 mg/day


def test_the_hcq_page_does_not_call_a_dose_above_its_own_daily_ceiling_within_range():
    # dosing.toml: tablet 200 mg, at most 2 tablets a day = 400 mg/day (the UK SmPC: 'either
    # 200mg or 400mg per day').  5 mg/kg x 120 kg = 600, so the weight limit alone allows 600.
    result = dosing.hydroxychloroquine_dose(120.0)
    assert result.suggested_dose == 400.0  # the page's own ceiling (unchanged)
    check = dosing.current_dose_check(result, 600.0)
    assert check is not None and check.severity != "info"


def test_hcq_above_400_mg_a_day_is_checked():
    rv = run(
        [],
        [dose("H", "hydroxychloroquine", "2024-01-01", amount=200, frequency="TID")],
        [patient("H", weight=120)],
        as_of="2024-06-30",
    )
    found = _open_checks(rv, "H")
    assert not found.empty and max(severity_rank(s) for s in found["severity"]) >= severity_rank("caution")


# --------------------------------------------------------------------------- F3 HCQ weight basis


def test_the_hcq_page_names_the_labels_ideal_body_weight_limit_beside_the_guidelines_real_weight():
    # Plaquenil SmPC 4.2 (Sanofi): 'should not exceed 6.5mg/kg/day (calculated from ideal body
    # weight and not actual body weight) and will be either 200mg or 400mg per day'.
    # AAO 2016 / EULAR 2023: <= 5 mg/kg real body weight.  Both bases should be said.
    result = dosing.hydroxychloroquine_dose(80.0)
    text = " ".join(w.message for w in result.warnings).lower()
    assert "ideal body weight" in text and ("smpc" in text or "label" in text)


# --------------------------------------------------------------------------- F4 primary sources


def test_leflunomide_dose_cites_a_primary_source():
    """F4 (H260): the leflunomide dose cites the Arava label, not only a patient leaflet.
    The label's section 2.1 was read only as reproduced (drugs.com), so the fact is a
    secondary source, never "confirmed".  Arava US label 2.1: 20 mg once daily, at most
    20 mg/day, 10 mg if 20 mg is not tolerated, a 100 mg x 3 days loading dose only at low
    risk (none with methotrexate or other immunosuppressants)."""
    refs = knowledge.references()
    fact = knowledge.drugs()["leflunomide"].fact("usual_dose")
    assert any(refs[r].kind in ("label", "guideline", "trial") for r in fact.refs)
    assert "fda_arava" in fact.refs and fact.status == "secondary source"
    assert refs["fda_arava"].access != "full text" and "drugs.com/dosage/arava.html" in refs["fda_arava"].note
    for words in ("20 mg once daily", "at most 20 mg a day", "10 mg once daily", "100 mg once daily for 3 days"):
        assert words in fact.value
    assert "methotrexate" in fact.value


# --------------------------------------------------------------------------- H230 (fixed)


def test_the_mycophenolate_pregnancy_warning_is_the_compare_pages_own_fact():
    """H230: the Dosing page's mycophenolate pregnancy warning and the Compare page's key
    instruction are one fact (drugs/mycophenolate_mofetil.toml pregnancy_plan), not two
    texts that can drift apart.  EULAR 2016: stop at least 6 weeks before conception."""
    plan = knowledge.drugs()["mycophenolate mofetil"].fact("pregnancy_plan")
    assert "6 weeks" in plan.value
    for form in ("MMF", "MPA"):
        result = dosing.mycophenolate_dose("induction", form)
        shown = [w for w in result.warnings if plan.value in w.message]
        assert len(shown) == 1 and shown[0].severity == "high"
        assert set(plan.refs) <= set(shown[0].refs) and set(plan.refs) <= set(result.refs)
    with open(ROOT / "dashboard/knowledge/data/dosing.toml", "rb") as f:
        assert "pregnancy" not in tomllib.load(f)["mycophenolate"]


# --------------------------------------------------------------------------- F5 allopurinol: page vs rules


def test_the_dosing_page_accepts_what_its_own_limit_and_the_rules_accept_with_allopurinol():
    # 100 kg, TPMT and NUDT15 normal, azathioprine 300 mg/day (3 mg/kg/day, the top of CPIC's
    # 2-3) before allopurinol, 75 mg/day with it: 75/300 = 25% (Medsafe 1998: 25% of the dose;
    # US label: a third to a quarter).  The rules accept it; the page states the limit 75 mg/day.
    doses = [
        dose("A", "azathioprine", "2023-01-01", "2024-01-01", amount=300),
        dose("A", "azathioprine", "2024-01-01", amount=75),
        dose("A", "allopurinol", "2024-01-01", amount=300),
    ]
    rv = run([], doses, [patient("A", weight=100, tpmt="normal", nudt15="normal")], as_of="2024-06-30")
    assert _open_checks(rv, "A").empty
    result = dosing.azathioprine_dose(100, "normal", "normal", allopurinol=True, current_mg=300)
    assert result.limit_mg == pytest.approx(75.0)
    check = dosing.current_dose_check(result, 75.0)
    assert check is not None and check.severity == "info"


# --------------------------------------------------------------------------- H231 (fixed)


@pytest.mark.parametrize("drug", ["azathioprine", "mercaptopurine"])
def test_the_thiopurine_renal_caution_names_bsr_2017_and_is_never_confirmed(drug):
    """H231: the eGFR < 60 action (repeat in a week, withhold if creatinine stays > 30% above
    baseline) is BSR 2017's, read through SPS; the rules apply it under BSR 2025 as
    'unconfirmed' (rules.toml bsr.egfr_low), so the Dosing page must not call it the current
    BSR threshold with the status 'confirmed'."""
    result = dosing.thiopurine_dose(drug, 70.0, "normal", "normal", egfr=59.0)
    renal = [w for w in result.warnings if w.message.startswith("eGFR 59")]
    assert len(renal) == 1
    assert "BSR 2017" in renal[0].message and renal[0].status != "confirmed"
    assert not any(
        w.message.startswith("eGFR") for w in dosing.thiopurine_dose(drug, 70.0, "normal", "normal", egfr=60.0).warnings
    )


# --------------------------------------------------------------------------- fix12b: F2, F3, F5-F8 fixed
# Expected values by hand, written before the code:
#   UK SmPC 4.2 (Plaquenil, Quinoric): 'either 200mg or 400mg per day'  -> ceiling 400 mg/day.
#   Guidelines: at most 5 mg/kg/day real weight -> 80 kg x 5 = 400, 79.9 x 5 = 399.5, 120 x 5 = 600.
#   120 kg: 400 mg/day passes both (400 not above 400; 3.33 mg/kg); 600 mg/day is above 400
#   (and 600/120 = 5.0 is not above 5: only the 400 check fires).  79.9 kg, 400 mg/day: 5.006
#   mg/kg/day -> the 5 mg/kg check only.  60 kg, 300 mg/day = 5.0 -> nothing.


@pytest.mark.parametrize(
    ("weight", "amount", "frequency", "expected"),
    [
        (120.0, 400.0, "daily", set()),
        (120.0, 200.0, "TID", {"dose.hcq_above_400"}),
        (79.9, 200.0, "BID", {"dose.hcq_above_5"}),
        (80.0, 200.0, "BID", set()),
        (60.0, 300.0, "daily", set()),
        (60.0, 200.0, "TID", {"dose.hcq_above_5", "dose.hcq_above_400"}),
    ],
)
def test_hcq_400_mg_ceiling_and_5_mg_per_kg_at_their_boundaries(weight, amount, frequency, expected):
    rv = run(
        [],
        [dose("H", "hydroxychloroquine", "2024-01-01", amount=amount, frequency=frequency)],
        [patient("H", weight=weight)],
        as_of="2024-06-30",
    )
    found = _open_checks(rv, "H")
    assert set(found["rule"]) == expected
    assert set(found["severity"]) <= {"caution"}


@pytest.mark.parametrize(
    ("weight", "top", "current", "severity"),
    [
        (120.0, 400.0, 400.0, "info"),  # at the SmPC ceiling: within
        (120.0, 400.0, 600.0, "caution"),  # dose.hcq_above_400 (caution): the same word
        (80.0, 400.0, 400.0, "info"),
        (79.9, 399.5, 400.0, "caution"),  # dose.hcq_above_5 (caution), never "high" (F8)
        (60.0, 300.0, 300.0, "info"),
    ],
)
def test_the_hcq_page_range_is_the_lower_of_5_mg_per_kg_and_400_mg(weight, top, current, severity):
    result = dosing.hydroxychloroquine_dose(weight)
    assert result.adjusted_range == pytest.approx((0.0, top))
    check = dosing.current_dose_check(result, current)
    assert check is not None and check.severity == severity


def test_the_hcq_weight_basis_cites_the_smpc_and_the_guidelines():
    """F3: the page says which weight each source uses, with both sources, and computes no
    ideal body weight (the SmPC gives no formula)."""
    result = dosing.hydroxychloroquine_dose(110.0)
    basis = [w for w in result.warnings if "ideal body weight" in w.message]
    assert len(basis) == 1
    assert "6.5" in basis[0].message and "real" in basis[0].message.lower()
    assert {"hcq_uk_smpc", "eular2023", "aao2016"} <= set(basis[0].refs)
    assert not any("ideal" in line.lower() for line in result.reasoning)
    # 110 kg: 5 x 110 = 550 -> capped at 400 mg/day, 2 x 200 mg every day
    assert result.suggested_dose == 400.0


@pytest.mark.parametrize(
    ("before", "after", "severity"),
    [
        # 100 kg, normal: before 300 mg; a quarter = 75 (accepted by both), a third = 100
        (300.0, 75.0, "info"),
        (300.0, 100.0, "caution"),  # above a quarter: dose.aza_allopurinol_quarter, caution
        (300.0, 125.0, "high"),  # above a third: dose.aza_allopurinol, urgent -> the page's "high"
    ],
)
def test_with_allopurinol_the_page_grades_as_the_rules_do(before, after, severity):
    doses = [
        dose("A", "azathioprine", "2023-01-01", "2024-01-01", amount=before),
        dose("A", "azathioprine", "2024-01-01", amount=after),
        dose("A", "allopurinol", "2024-01-01", amount=300),
    ]
    rv = run([], doses, [patient("A", weight=100, tpmt="normal", nudt15="normal")], as_of="2024-06-30")
    found = _open_checks(rv, "A")
    rules = "info" if found.empty else dosing.CheckLimit(0, "", max(found["severity"], key=severity_rank)).page_severity
    result = dosing.azathioprine_dose(100, "normal", "normal", allopurinol=True, current_mg=before)
    assert result.adjusted_range[1] == pytest.approx(75.0) == result.limit_mg
    check = dosing.current_dose_check(result, after)
    assert check.severity == severity == rules


@pytest.mark.parametrize(
    ("form", "current", "severity"),
    [("MMF", 3000.0, "info"), ("MMF", 3001.0, "caution"), ("MPA", 2160.0, "info"), ("MPA", 2161.0, "caution")],
)
def test_mycophenolate_above_the_induction_top_is_caution_as_the_dose_check_says(form, current, severity):
    """F8: dose.mmf_above_max / dose.mpa_above_max are 'caution' above 3000 / 2160 mg/day."""
    check = dosing.current_dose_check(dosing.mycophenolate_dose("induction", form), current)
    assert check.severity == severity
    if severity == "caution":
        assert "caution" in check.message and "above_max" in check.message


def test_methotrexate_above_30_names_the_dose_checks_word():
    """F8: 32.5 mg/week fires dose.mtx_above_max ('action'); the page's grade for it is
    'high' and it says the check's own word."""
    result = dosing.methotrexate_check(32.5)
    above = [w for w in result.warnings if "ceiling" in w.message]
    assert len(above) == 1 and above[0].severity == "high"
    assert "dose.mtx_above_max: action" in above[0].message


def test_mycophenolic_acid_shows_the_myfortic_limitation_and_no_mofetil_cap_as_its_own():
    """F6: the Myfortic label: 'should not be used interchangeably' with mofetil (cited);
    with eGFR 20 the MPA range stays 1440-2160 (x 0.72 of 2-3 g) and the 1 g twice daily
    figure is named as the mofetil label's, not applied to MPA."""
    mpa = dosing.mycophenolate_dose("induction", "MPA", egfr=20.0)
    text = " ".join(w.message for w in mpa.warnings)
    assert "should not be used interchangeably" in text
    assert any("fda_myfortic" in w.refs for w in mpa.warnings)
    assert mpa.adjusted_range == pytest.approx((1440.0, 2160.0))
    renal = [w for w in mpa.warnings if w.message.startswith("eGFR 20")]
    assert len(renal) == 1 and "not applied to mycophenolic acid" in renal[0].message
    assert "limits the dose to 1 g twice daily" not in renal[0].message
    mmf = dosing.mycophenolate_dose("induction", "MMF", egfr=20.0)
    assert mmf.adjusted_range == pytest.approx((2000.0, 2000.0))
    assert "should not be used interchangeably" in " ".join(w.message for w in mmf.warnings)


def test_compare_says_which_tacrolimus_brands_are_once_daily():
    """F7: Advagraf and Envarsus are prolonged-release, once daily (Advagraf leaflet);
    Prograf twice daily; MHRA: prescribe by brand."""
    fact = knowledge.drugs()["tacrolimus"].fact("usual_dose")
    assert "once a day" in fact.value and "Advagraf" in fact.value and "Envarsus" in fact.value
    assert "2-4 mg/day in two doses" not in fact.value
    assert {"advagraf_pil", "mhra_tacrolimus_brand"} <= set(fact.refs)


def test_facts_resting_only_on_eular_2016_say_it_is_superseded_and_tacrolimus_mg_per_kg_stays_unconfirmed():
    """F4 (H263): a pregnancy or breastfeeding fact citing only EULAR 2016 says that the
    2024 update supersedes it and was not read for that drug; the tacrolimus mg/kg range,
    is never more than 'unconfirmed' while it rests on a transplant label."""
    drugs = knowledge.drugs()
    seen = 0
    for entry in drugs.values():
        for key in ("pregnancy_plan", "pregnancy", "lactation"):
            fact = entry.facts.get(key)
            if fact is not None and fact.refs == ("eular2016preg",):
                assert "superseded" in fact.note, (entry.id, key)
                seen += 1
    # facts6 moved the sulfasalazine, leflunomide, mycophenolate, tacrolimus, ciclosporin and
    # cyclophosphamide rows to BSR 2022 Table 1; facts7 moved the last ones (prednisone,
    # mercaptopurine, methotrexate's breastfeeding fact): none rests on EULAR 2016 alone now
    assert seen == 0
    tac = drugs["tacrolimus"].fact("dose_mg_per_kg")
    # cited to the transplant label it could only be 'unconfirmed'; since probe35 F12 (H523) it
    # rests on the lupus nephritis trial whose abstract states it, and the label is not cited
    assert "fda_prograf" not in tac.refs and tac.refs == ("mok2016tac",)
    assert tac.status != "unconfirmed" or "transplant" in tac.note
