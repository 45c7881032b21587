"""Fix of probe 45: the Dosing and Compare pages read what the review checks.

Expectations are worked by hand from the data files' sources (BSR 2017 eGFR < 60, Mok
2016's 0.06-0.1 mg/kg/day, PNDS Box 6's neutrophils < 1.5, the 3E 30 mg/week ceiling),
never copied from the functions' output.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd

from dashboard import dosing, knowledge, model
from dashboard.rules import get_profile

NAN = float("nan")


# --------------------------------------------------------------------------- F5 two products


def test_the_pair_check_is_found_only_while_both_products_are_in_force():
    """Azathioprine with mercaptopurine is dose.thiopurine_duplicate (action); either one
    alone, or azathioprine with allopurinol (another drug), is no pair."""
    pair = dosing.two_products_check(dosing.THIOPURINES, ["azathioprine", "mercaptopurine"])
    assert pair is not None and pair["id"] == "dose.thiopurine_duplicate" and pair["severity"] == "action"
    assert dosing.two_products_check(dosing.THIOPURINES, ["azathioprine", "allopurinol"]) is None
    assert dosing.two_products_check(dosing.THIOPURINES, ["mercaptopurine"]) is None
    mmf = dosing.two_products_check(dosing.MYCOPHENOLATES, ["mycophenolic acid", "mycophenolate mofetil"])
    assert mmf is not None and mmf["id"] == "dose.mmf_mpa_together"
    # a thiopurine and a mycophenolate are two drugs, not two products of one
    assert dosing.two_products_check(dosing.THIOPURINES, ["azathioprine", "mycophenolate mofetil"]) is None


def test_a_dose_above_the_range_of_one_product_is_the_pair_check_too():
    """70 kg, TPMT and NUDT15 normal: azathioprine's range is 2-2.5 mg/kg/day = 140-175
    mg/day.  200 mg/day with mercaptopurine in force is not judged against it: the verdict is
    the pair's check at its severity (action -> the page's "high"), never "above"/"below"."""
    result = dosing.thiopurine_dose("azathioprine", 70, "normal", "normal", egfr=80)
    pair = dosing.two_products_check(dosing.THIOPURINES, ["azathioprine", "mercaptopurine"])
    for mg in (100.0, 160.0, 200.0):
        verdict = dosing.current_dose_check(result, mg, pair)
        assert verdict is not None and verdict.severity == "high"
        assert "dose.thiopurine_duplicate" in verdict.message and "mercaptopurine" in verdict.message
        assert "below the calculated range" not in verdict.message and "within" not in verdict.message
    # without the pair, 100 mg/day is below 140 mg/day, as before
    alone = dosing.current_dose_check(result, 100.0)
    assert alone is not None and "below the calculated range" in alone.message


# --------------------------------------------------------------------------- F6 planned start, recorded end


def _ctx() -> dosing.PatientContext:
    doses = pd.DataFrame(
        {
            "patient_id": ["P1", "P1"],
            "drug": ["mycophenolate mofetil", "azathioprine"],
            "start": pd.to_datetime(["2025-06-01", "2026-04-01"]),
            "end": pd.to_datetime(["2026-04-01", None]),
            "dose": [1000.0, 100.0],
            "dose_unit": ["mg", "mg"],
            "frequency": ["BID", "daily"],
            "mg_per_day": [2000.0, 100.0],
            "mg_per_week": [NAN, NAN],
        }
    )
    doses = model.to_pandas("doses", model.from_pandas("doses", doses))
    return dosing.patient_context(
        model.empty_frame("patients"), doses, model.empty_frame("labs"), "P1", dt.date(2026, 3, 10)
    )


def test_a_planned_start_is_the_drugs_recorded_start_only_while_it_is_not_taken():
    ctx = _ctx()
    assert ctx.planned_start("azathioprine") == dt.date(2026, 4, 1)
    assert ctx.planned_start("mycophenolate mofetil") is None  # taken now
    assert ctx.planned_start("mercaptopurine") is None  # never recorded


def test_the_current_doses_table_says_the_recorded_end():
    frame = dosing.current_doses_frame(_ctx())
    assert list(frame["Drug"]) == ["Mycophenolate mofetil"]
    assert list(frame["Ends (as recorded)"]) == [dt.date(2026, 4, 1)]


# --------------------------------------------------------------------------- F8 renal limit by profile


def _renal_warnings(profile: str, egfr: float) -> list[dosing.DoseWarning]:
    result = dosing.thiopurine_dose("azathioprine", 70, "normal", "normal", egfr=egfr, profile=profile)
    return [w for w in result.warnings if "eGFR" in w.message or "bsr.egfr_low" in w.message]


def test_the_thiopurine_egfr_limit_is_the_profiles_rule_with_its_source():
    """BSR 2025 and BSR 2017 / NICE both apply bsr.egfr_low (eGFR < 60, BSR 2017 via SPS):
    eGFR 55 is a caution citing the flag's own references, never the SPS azathioprine
    page that holds no eGFR limit; eGFR 60 is not below 60 (strict)."""
    for profile in ("BSR 2025", "BSR 2017 / NICE"):
        [w] = _renal_warnings(profile, 55.0)
        assert w.severity == "caution" and "eGFR 55" in w.message and "bsr.egfr_low" in w.message
        assert {"bsr2017", "sps_ssz"} <= set(w.refs) and "sps_monitoring" not in w.refs
        assert "withhold" in w.message
        assert not _renal_warnings(profile, 60.0)


def test_ctcae_only_places_no_guideline_egfr_limit_and_says_so():
    [w] = _renal_warnings("CTCAE only", 55.0)
    assert w.severity == "info" and "withhold" not in w.message and "applies no guideline eGFR limit" in w.message


def test_the_egfr_limit_of_60_is_kept_once():
    """dosing.toml names the rule; the number is rules.toml's alone."""
    for drug in dosing.THIOPURINES:
        block = knowledge.dosing_rules()[drug]["renal"]
        assert "egfr_below" not in block and block["rule"] == "bsr.egfr_low"
    assert get_profile("BSR 2025").rule("bsr.egfr_low").threshold == 60.0


# --------------------------------------------------------------------------- F4, F7, F3: Compare cells


def test_the_tacrolimus_usual_dose_gives_one_range_typed_once():
    """Mok 2016: 0.06-0.1 mg/kg/day; no mg/day range beside it (2-4 mg/day never equalled it)."""
    drug = knowledge.drugs()["tacrolimus"]
    text = str(drug.fact("usual_dose").value)
    assert "0.06-0.1 mg/kg/day" in text and "mg/day (" not in text and "2-4 mg" not in text
    assert list(drug.fact("dose_mg_per_kg").value) == [0.06, 0.1]
    assert knowledge.dosing_rules()["tacrolimus"]["induction_mg_per_kg"] == [0.06, 0.1]


def test_the_count_before_a_pulse_is_the_dose_checks_limit_and_action():
    """PNDS Box 6: neutrophils < 1.5 x10^9/L on the scheduled date: reduce by 25% or postpone."""
    words = dosing.pulse_count_check()
    assert words.severity == "high" and "below 1.5" in words.message and "reduce the pulse by 25%" in words.message
    assert "dose.cyc_pulse_neutrophils_low" in words.message and words.refs == ("terrier2020pnds",)
    for entry in ("cyclophosphamide (Euro-Lupus)", "cyclophosphamide (NIH)"):
        cell = str(knowledge.drugs()[entry].fact("monitoring_schedule").value)
        assert "neutrophils below 1.5 x10^9/L: reduce the pulse by 25%" in cell


def test_the_cd20_immunoglobulin_cells_cite_the_dose_checks_source_and_say_what_is_not_checked():
    for entry in ("rituximab", "obinutuzumab"):
        fact = knowledge.drugs()[entry].fact("monitoring_schedule")
        assert "bsr2019_biologics" in fact.refs
        assert "dose.anti_cd20_igg_before_cycle" in str(fact.value) and "Not checked by the review" in str(fact.value)
    assert "IgG result in the 90 days" in str(knowledge.drugs()["rituximab"].fact("monitoring_schedule").value)


# --------------------------------------------------------------------------- F9


def test_methotrexate_at_30_mg_a_week_is_a_caution_without_a_check():
    """3E: usual up to 25, escalation to 30: 30 mg/week is not above the ceiling (the check
    fires above 30), so the caution says no check fires; 32.5 is above it."""
    [at30] = [w for w in dosing.methotrexate_check(30, "weekly", egfr=80.0).warnings if w.severity == "caution"]
    assert "No dose check fires below 30 mg/week (dose.mtx_above_max)" in at30.message
    above = [w for w in dosing.methotrexate_check(32.5, "weekly", egfr=80.0).warnings if "ceiling" in w.message]
    assert above and "No dose check fires" not in above[0].message
