"""Dosing calculators: CPIC TPMT/NUDT15 cases, allopurinol, metabolites, MMF/MPA, MTX, HCQ and
the patient helpers (current doses as of a date, latest eGFR)."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from dashboard import dosing, model


def _severities(result: dosing.DoseResult) -> list[str]:
    return [w.severity for w in result.warnings]


def _messages(result: dosing.DoseResult) -> str:
    return "\n".join(w.message for w in result.warnings)


# --------------------------------------------------------------------------- azathioprine (CPIC)


@pytest.mark.parametrize(
    ("tpmt", "nudt15", "low", "high", "suggested"),
    [
        # normal metabolizer: 2-2.5 mg/kg x 70 kg
        ("normal", "normal", 140.0, 175.0, 150.0),
        # one intermediate (either gene): 30-80% of the standard 2 mg/kg/day (issue 17:
        # the same base as the dose check, was 30-80% of the 2-2.5 target)
        ("intermediate", "normal", 42.0, 112.0, 75.0),
        ("normal", "intermediate", 42.0, 112.0, 75.0),
        ("possible intermediate", "normal", 42.0, 112.0, 75.0),
        # both intermediate (CPIC 2024 update): 20-50% of the standard dose
        ("intermediate", "intermediate", 28.0, 70.0, 50.0),
    ],
)
def test_azathioprine_cpic_adjustments(tpmt, nudt15, low, high, suggested):
    r = dosing.azathioprine_dose(70, tpmt, nudt15)
    assert r.normal_range == pytest.approx((140.0, 175.0))
    assert r.adjusted_range == pytest.approx((low, high))
    assert r.suggested_dose == suggested
    assert r.suggested_dose % 25 == 0
    assert not r.avoid


@pytest.mark.parametrize(("tpmt", "nudt15"), [("poor", "normal"), ("normal", "poor"), ("poor", "intermediate")])
def test_azathioprine_poor_metabolizer_is_avoided(tpmt, nudt15):
    r = dosing.azathioprine_dose(70, tpmt, nudt15)
    assert r.avoid and r.suggested_dose is None and r.adjusted_range is None
    assert "contraindicated" in _severities(r)
    assert "non-thiopurine" in _messages(r)
    assert "cpic2018" in r.refs


def test_issue_case_70kg_tpmt_intermediate_on_allopurinol():
    """GitHub issue 7 'done when': the CPIC-consistent dose with its warnings."""
    r = dosing.azathioprine_dose(70, "intermediate", "normal", allopurinol=True)
    # standard 140 mg -> x 0.3-0.8 (CPIC IM) -> x 1/4-1/3 (allopurinol) = 10.5-37.3 mg,
    # capped at a quarter of the genotype-adjusted standard, 140 x 0.8 / 4 = 28 mg (Medsafe's
    # 25%: above it the caution dose.aza_allopurinol_quarter fires)
    assert r.adjusted_range == pytest.approx((10.5, 28.0))
    assert r.suggested_dose == 25.0
    assert [a.name for a in r.adjustments] == ["TPMT intermediate metaboliser", "allopurinol"]
    assert r.adjustments[0].factor == (0.3, 0.8) and r.adjustments[1].factor == pytest.approx((0.25, 1 / 3))
    text = "\n".join(r.reasoning)
    assert "140-175 mg/day" in text and "42-112 mg/day" in text and "10.5-37.3 mg/day" in text
    assert "multiply" in text and "7.5-26.7%" in text
    assert "Capped at 28 mg/day" in text and "a quarter of the standard dose" in text
    messages = _messages(r)
    assert "a quarter of the usual azathioprine dose" in messages and "up to a third" in messages
    assert "Febuxostat is contraindicated" in messages
    assert "weekly in the first month" in messages
    assert r.max_severity == "high"
    assert {"cpic2018", "fda_imuran", "ddinter_aza_allo", "fda_uloric"} <= set(r.refs)


def test_febuxostat_is_contraindicated():
    r = dosing.azathioprine_dose(70, "normal", "normal", febuxostat=True)
    assert r.max_severity == "contraindicated"
    assert "Febuxostat is contraindicated" in _messages(r)
    assert r.avoid and r.suggested_dose is None  # issue 17: no dose suggested with febuxostat


def test_unknown_phenotype_asks_for_a_test():
    """Issue 17: no full dose while TPMT and NUDT15 are unknown; label start about 1 mg/kg/day
    (70 kg -> 70 mg), suggested as the 25 mg step at or below it (50 mg)."""
    r = dosing.azathioprine_dose(70, "unknown", "")
    assert r.test_first
    assert r.adjusted_range == pytest.approx((70.0, 70.0))
    assert r.suggested_dose == 50.0
    assert "TPMT and NUDT15 status unknown" in _messages(r)
    assert r.max_severity == "high"
    half = dosing.azathioprine_dose(70, "intermediate", "unknown")
    assert "NUDT15 status unknown" in _messages(half) and "20-50%" in _messages(half)


def test_tpmt_unknown_current_dose_is_judged_against_the_cautious_start():
    """70 kg, TPMT unknown, NUDT15 normal: the cautious start is at most 1 mg/kg/day = 70 mg
    (label), suggested 50 mg.  A patient already on 50 mg is within it, never "below the
    calculated range" (which would read as a prompt to go up to 70 before the test result);
    one on 100 mg is above it."""
    r = dosing.azathioprine_dose(70, "unknown", "normal")
    assert r.test_first and r.limit_mg == pytest.approx(70.0)
    within = dosing.current_dose_check(r, 50)
    assert within.severity == "info" and "below" not in within.message
    assert "within the cautious start (at most 70 mg/day while TPMT is unknown)" in within.message
    above = dosing.current_dose_check(r, 100)
    # probe 12 F8: graded as the dose check that fires at the same boundary,
    # dose.thiopurine_unknown_above_start (caution), not a grade of the page's own
    assert above.severity == "caution" and "dose.thiopurine_unknown_above_start" in above.message
    assert "above the cautious start (at most 70 mg/day while TPMT is unknown)" in above.message


def test_low_egfr_and_high_target_warn():
    r = dosing.azathioprine_dose(70, "normal", "normal", egfr=45, target_mg_per_kg=(2.5, 3.0))
    msgs = _messages(r)
    assert "eGFR 45" in msgs
    assert "above the usual 2.5 mg/kg/day" in msgs
    # issue 17: capped at the limit the dose check accepts (2.5 mg/kg/day x 70 kg)
    assert r.adjusted_range == pytest.approx((175.0, 175.0))
    assert r.suggested_dose == 175.0


def test_invalid_inputs_are_refused():
    with pytest.raises(ValueError, match="weight"):
        dosing.azathioprine_dose(0, "normal", "normal")
    with pytest.raises(ValueError, match="maximum of 3"):
        dosing.azathioprine_dose(70, "normal", "normal", target_mg_per_kg=(2.0, 3.5))


def test_range_below_one_tablet_gives_no_dose():
    r = dosing.azathioprine_dose(40, "intermediate", "intermediate", allopurinol=True)
    # standard 80 mg x 0.2-0.5 x 1/4-1/3 = 4.0-13.3 mg, capped at 80 x 0.5 / 4 = 10 mg
    assert r.adjusted_range == pytest.approx((4.0, 10.0))
    assert r.suggested_dose is None
    assert "below one 25 mg step a day" in _messages(r)


@pytest.mark.parametrize(
    ("low", "high", "expected"),
    [(140, 175, 150), (42, 140, 100), (10.5, 46.2, 25), (27, 45, 25), (4, 16.5, None), (50, 50, 50), (60, 74, 50)],
)
def test_round_to_step(low, high, expected):
    assert dosing.round_to_step(low, high, 25)[0] == expected


def test_current_dose_against_the_calculated_range():
    r = dosing.azathioprine_dose(70, "intermediate", "normal", allopurinol=True)
    above = dosing.current_dose_check(r, 100)
    assert above.severity == "high" and "above the calculated range (10.5-28 mg/day)" in above.message
    assert {"cpic2018", "ddinter_aza_allo"} <= set(above.refs)
    assert dosing.current_dose_check(r, 25).message.endswith("within the calculated range.")
    assert "below" in dosing.current_dose_check(r, 5).message
    assert dosing.current_dose_check(r, None) is None
    poor = dosing.azathioprine_dose(70, "poor", "normal")
    assert dosing.current_dose_check(poor, 50).severity == "contraindicated"


def test_with_allopurinol_a_dose_below_the_range_is_no_prompt_to_increase():
    """Audit 17 F2: 86 kg on 200 mg before allopurinol, now 25 mg: the range is 43-50 mg
    (a quarter to a third of the standard 172 mg, capped at a quarter of 200); 25 mg lies below
    it, but with allopurinol on board that is never a reason to go up."""
    r = dosing.azathioprine_dose(86, "normal", "normal", allopurinol=True, current_mg=200)
    check = dosing.current_dose_check(r, 25)
    assert check.severity == "info"
    assert "is below the calculated range" not in check.message
    assert "not a reason to increase" in check.message
    plain = dosing.azathioprine_dose(86, "normal", "normal")
    assert "below the calculated range" in dosing.current_dose_check(plain, 25).message


def test_monitoring_plan_after_a_start_at_a_stable_dose():
    """Audit 18 (F3): the plan comes from the rules' schedule (BSR 2025 profile), no longer
    from a 28-day-month table of its own.  BSR 2017 as restated by NICE CKS / SPS: every 2
    weeks until the dose has been stable for 6 weeks, then monthly for 3 months, then at
    least every 12 weeks.  By hand, from Monday 5 Jan 2026: days 14, 28, 42 (16 Feb); then
    three monthly tests 72, 102, 132 (42 + 3 x 30); then every 84 days: 216 (9 Aug), 300,
    384 (468 is past the 60-week horizon).  Probe 7 F8: this test pinned a fourth monthly
    test on day 162, which no source asks for."""
    start = dt.date(2026, 1, 5)
    steps = (dosing.TitrationStep(0, 100.0, 100 / 70, 100 / 140 * 100, ""),)
    plan = dosing.monitoring_plan("azathioprine", start, steps)
    assert [v.day for v in plan.visits] == [0, 14, 28, 42, 72, 102, 132, 216, 300, 384]
    assert plan.visits[0].date == start and "before the first dose" in plan.visits[0].why
    assert plan.visits[3].date == dt.date(2026, 2, 16) and plan.visits[7].date == dt.date(2026, 8, 9)
    assert "every 14 days" in plan.visits[1].why and "every 30 days" in plan.visits[4].why
    assert "every 84 days" in plan.visits[-1].why
    assert [v.day for v in dosing.monitoring_plan("azathioprine", start, steps, horizon_weeks=12).visits] == [
        0,
        14,
        28,
        42,
        72,
    ]
    frame = dosing.monitoring_frame(plan)
    assert list(frame.columns) == ["Date", "Week", "Day", "Dose (mg/day)", "Why then", "Tests", "Source"]
    assert len(frame) == 10 and frame["Dose (mg/day)"].eq(100.0).all()


def test_monitoring_plan_needs_a_phase_schedule():
    steps = (dosing.TitrationStep(0, 200.0, 200 / 70, 0, ""),)
    with pytest.raises(ValueError, match="no blood-test schedule"):
        dosing.monitoring_plan("hydroxychloroquine", dt.date(2026, 1, 5), steps)
    with pytest.raises(ValueError, match="at least the starting dose"):
        dosing.monitoring_plan("azathioprine", dt.date(2026, 1, 5), ())


# --------------------------------------------------------------------------- metabolites


@pytest.mark.parametrize(
    ("tgn", "mmp", "pattern"),
    [
        (0, 0, "non-adherent"),
        (150, 1000, "under-dosed"),
        (300, 2000, "therapeutic"),
        (300, 8000, "supratherapeutic-mmp"),
        (150, 8000, "shunter"),
        (200, 2400, "shunter"),  # ratio 12 > 11 (BSG) although MMP < 5700
        (500, 1000, "toxic"),
        (600, 9000, "toxic"),
        (235, 5700, "therapeutic"),  # band edges are inclusive
        (450, 5700, "therapeutic"),
    ],
)
def test_metabolite_interpretation(tgn, mmp, pattern):
    r = dosing.interpret_metabolites(tgn, mmp)
    assert r.pattern.id == pattern
    assert "bsg2019" in r.refs


def test_metabolite_notes():
    ratio_only = dosing.interpret_metabolites(200, 2400)
    assert ratio_only.ratio == pytest.approx(12.0)
    assert any("classic" in n for n in ratio_only.notes)
    assert "hepatotoxicity" in " ".join(dosing.interpret_metabolites(600, 9000).notes)
    assert dosing.interpret_metabolites(0, 0).ratio is None
    with pytest.raises(ValueError):
        dosing.interpret_metabolites(-1, 0)


# --------------------------------------------------------------------------- mycophenolate


def test_mmf_mpa_equivalence():
    assert dosing.mmf_to_mpa(1000) == pytest.approx(720)
    assert dosing.mpa_to_mmf(dosing.mmf_to_mpa(1500)) == pytest.approx(1500)


@pytest.mark.parametrize(
    ("phase", "form", "low", "high", "schedule"),
    [
        ("induction", "MMF", 2000, 3000, "1000 mg twice daily"),
        ("maintenance", "MMF", 1500, 2000, "750 mg twice daily"),
        ("induction", "MPA", 1440, 2160, "720 mg twice daily"),
        ("maintenance", "MPA", 1080, 1440, "540 mg twice daily"),
    ],
)
def test_mycophenolate_ranges(phase, form, low, high, schedule):
    r = dosing.mycophenolate_dose(phase, form)
    assert r.adjusted_range == pytest.approx((low, high))
    assert r.schedule == schedule
    # the pregnancy instruction (EULAR 2016: stop at least 6 weeks before conception), the
    # Compare page's own fact (H230)
    assert "6 weeks before conception" in _messages(r)


def test_mycophenolate_warnings():
    assert "Proton pump" in _messages(dosing.mycophenolate_dose("induction", "MMF", ppi=True))
    assert "Proton pump" not in _messages(dosing.mycophenolate_dose("induction", "MPA", ppi=True))
    renal = [w for w in dosing.mycophenolate_dose("maintenance", "MMF", egfr=20).warnings if "eGFR 20" in w.message]
    assert renal and renal[0].status == "secondary source" and "1 g twice daily" in renal[0].message
    with pytest.raises(ValueError):
        dosing.mycophenolate_dose("bridging")


# --------------------------------------------------------------------------- methotrexate


def test_methotrexate_daily_is_a_dosing_error():
    r = dosing.methotrexate_check(10, "daily")
    assert r.max_severity == "contraindicated"
    assert "ONCE A WEEK" in _messages(r)


def test_methotrexate_weekly_usual_dose():
    r = dosing.methotrexate_check(15, "weekly")
    assert r.unit == "mg/week" and r.normal_range == (7.5, 25.0)
    assert r.max_severity == "info"
    assert "folic acid" in _messages(r) and "5 mg" in r.schedule


@pytest.mark.parametrize(("dose", "severity"), [(27.5, "caution"), (35, "high"), (5, "info")])
def test_methotrexate_dose_bounds(dose, severity):
    r = dosing.methotrexate_check(dose)
    assert severity in _severities(r)


@pytest.mark.parametrize(("egfr", "severity"), [(25, "high"), (50, "caution")])
def test_methotrexate_renal(egfr, severity):
    r = dosing.methotrexate_check(15, egfr=egfr)
    renal = [w for w in r.warnings if w.message.startswith(f"eGFR {egfr}")]
    assert len(renal) == 1 and renal[0].severity == severity
    assert not [w for w in dosing.methotrexate_check(15, egfr=90).warnings if w.message.startswith("eGFR")]


def test_methotrexate_trimethoprim_and_rounding():
    r = dosing.methotrexate_check(16, trimethoprim=True)
    # issue 17: Medsafe Prescriber Update 43(1): avoid where possible, else warn and check the FBC (not "contraindicated")
    assert "trimethoprim" in _messages(r).lower() and r.max_severity == "high"
    assert "check the full blood count" in _messages(r)
    assert r.suggested_dose == 15.0
    assert "medsafe_mtx_tmp" in r.refs


# --------------------------------------------------------------------------- hydroxychloroquine


@pytest.mark.parametrize(
    ("weight", "weekly", "label"),
    [
        (70, 2400, "400 mg on 5 days and 200 mg on 2 days of the week"),
        (50, 1600, "400 mg on 1 day and 200 mg on 6 days of the week"),
        (100, 2800, "400 mg every day"),
        (30, 1000, "200 mg on 5 days of the week (none on the others)"),
    ],
)
def test_hcq_highest_schedule_within_5_mg_per_kg(weight, weekly, label):
    r = dosing.hydroxychloroquine_dose(weight)
    assert r.schedule == label
    assert r.suggested_dose == pytest.approx(round(weekly / 7, 1))
    assert r.suggested_dose <= 5 * weight
    assert "real (actual) body weight" in _messages(r)


def test_hcq_schedule_frame_and_egfr():
    frame = dosing.hcq_schedule_frame(70)
    within = frame[frame["Within 5 mg/kg/day"] == "yes"]
    assert (within["mg/kg/day"] <= 5).all()
    assert (frame.loc[frame["Within 5 mg/kg/day"] != "yes", "mg/kg/day"] > 5).all()
    assert "retinopathy" in _messages(dosing.hydroxychloroquine_dose(70, egfr=50))


# --------------------------------------------------------------------------- patient helpers


def _doses() -> pd.DataFrame:
    rows = pd.DataFrame(
        {
            "patient_id": ["P1", "P1", "P1", "P1", "P2"],
            "drug": ["azathioprine", "azathioprine", "allopurinol", "methotrexate", "azathioprine"],
            "start": pd.to_datetime(["2025-01-01", "2025-06-01", "2025-03-01", "2025-07-01", "2025-01-01"]),
            "end": pd.to_datetime(["2025-06-01", None, "2025-04-01", None, None]),
            "dose": [50.0, 100.0, 100.0, 15.0, 150.0],
            "dose_unit": ["mg"] * 5,
            "frequency": ["daily", "daily", "daily", "weekly", "daily"],
            "mg_per_day": [50.0, 100.0, 100.0, 15 / 7, 150.0],
            "mg_per_week": [float("nan")] * 3 + [15.0, float("nan")],
        }
    )
    return model.to_pandas("doses", model.from_pandas("doses", rows))


def _labs() -> pd.DataFrame:
    rows = pd.DataFrame(
        {
            "patient_id": ["P1", "P1", "P1", "P1"],
            "collected_at": pd.to_datetime(
                ["2025-01-10 08:00", "2025-05-20 09:30", "2025-08-01 08:00", "2025-05-21 08:00"]
            ),
            "analyte": ["egfr", "egfr", "egfr", "creatinine"],
            "value": [80.0, 55.0, 40.0, 120.0],
            "unit": ["mL/min/1.73m2"] * 3 + ["umol/L"],
        }
    )
    return model.to_pandas("labs", model.from_pandas("labs", rows))


def _patients() -> pd.DataFrame:
    rows = pd.DataFrame(
        {
            "patient_id": ["P1", "P2"],
            "sex": ["F", "M"],
            "weight_kg": [70.0, float("nan")],
            "tpmt": ["intermediate", ""],
            "nudt15": ["normal", "unknown"],
        }
    )
    return model.to_pandas("patients", model.from_pandas("patients", rows))


def test_current_doses_as_of_a_date():
    doses = _doses()
    on_day = dosing.current_doses(doses, "P1", dt.date(2025, 3, 15))
    assert sorted(zip(on_day["drug"], on_day["dose"], strict=True)) == [("allopurinol", 100.0), ("azathioprine", 50.0)]
    # The end date is the day the dose changed: on 1 June only the new 100 mg row is current.
    changed = dosing.current_doses(doses, "P1", dt.date(2025, 6, 1))
    assert changed["dose"].tolist() == [100.0]
    assert dosing.current_doses(doses, "P1", dt.date(2024, 12, 31)).empty
    assert dosing.current_doses(doses, "P9", dt.date(2025, 6, 1)).empty


def test_latest_lab_on_or_before_the_date():
    labs = _labs()
    assert dosing.latest_lab(labs, "P1", "egfr", dt.date(2025, 5, 20)).value == 55.0  # same day counts
    assert dosing.latest_lab(labs, "P1", "egfr", dt.date(2025, 5, 19)).value == 80.0
    assert dosing.latest_lab(labs, "P1", "egfr", dt.date(2026, 1, 1)).value == 40.0
    assert dosing.latest_lab(labs, "P1", "egfr", dt.date(2024, 1, 1)) is None
    assert dosing.latest_lab(labs, "P2", "egfr", dt.date(2026, 1, 1)) is None


def test_patient_context_prefill():
    ctx = dosing.patient_context(_patients(), _doses(), _labs(), "P1", dt.date(2025, 7, 15))
    assert ctx.weight_kg == 70.0 and ctx.tpmt == "intermediate" and ctx.nudt15 == "normal"
    assert ctx.egfr.value == 55.0
    assert ctx.on("azathioprine") and ctx.on("methotrexate") and not ctx.on("allopurinol")
    assert ctx.mg_per_day("azathioprine") == 100.0
    assert ctx.mg_per_week("methotrexate") == 15.0
    assert ctx.mg_per_week("azathioprine") == 700.0
    assert ctx.mg_per_day("hydroxychloroquine") is None
    assert list(dosing.current_doses_frame(ctx)["Drug"]) == ["Azathioprine", "Methotrexate"]
    other = dosing.patient_context(_patients(), _doses(), _labs(), "P2", dt.date(2025, 7, 15))
    assert other.weight_kg is None and other.tpmt == "unknown" and other.egfr is None
    nobody = dosing.patient_context(_patients(), _doses(), _labs(), "P9", dt.date(2025, 7, 15))
    assert nobody.current.empty and nobody.weight_kg is None


def test_within():
    assert dosing.within(70.0, 20, 250) == 70.0
    assert dosing.within(300.0, 20, 250) is None
    assert dosing.within(float("nan"), 0, 1) is None
    assert dosing.within(None, 0, 1) is None


def test_warnings_and_references_frames():
    r = dosing.azathioprine_dose(70, "intermediate", "normal", allopurinol=True)
    frame = dosing.warnings_frame(r)
    assert frame["Severity"].iloc[0] == "HIGH" and frame["Severity"].iloc[-1] == "INFO"
    assert frame["Sources"].str.startswith("[").all()
    refs = dosing.references_frame(r.refs)
    assert len(refs) == len(r.refs) and refs["Citation"].str.len().min() > 40


# --------------------------------------------------------------------------- cyclophosphamide (issue 17)


def test_cumulative_cyclophosphamide_for_the_dosing_and_patient_pages():
    """1 g IV monthly from 10 Jan 2023 to 9 Jan 2024: 12 pulses = 12 g; the woman went
    above 10 g at the 11th pulse (10 Nov 2023); 36 g not reached."""
    import datetime as dt

    from tests.rules.builders import dose, frame, patient

    doses = frame(
        "doses",
        [dose("P1", "cyclophosphamide", "2023-01-10", "2024-01-09", amount=1000, frequency="monthly", route="iv")],
    )
    patients = frame("patients", [patient("P1", sex="F")])
    c = dosing.cumulative_cyclophosphamide(doses, patients, "P1", dt.date(2024, 12, 31))
    assert c.total_g == 12.0 and c.pulses == 12 and c.complete
    t = c.thresholds.set_index("Threshold (g)")
    assert t.loc[10.0, "Above since"] == "2023-11-10"
    assert t.loc[36.0, "Above since"] == ""
    assert "Euro-Lupus" in c.context
    assert dosing.cumulative_cyclophosphamide(doses, patients, "nobody", dt.date(2024, 12, 31)) is None


def test_cumulative_dose_by_hand():
    assert dosing.cumulative_total_g(pulses=6, mg_per_pulse=500) == 3.0  # Euro-Lupus
    assert dosing.cumulative_total_g(oral_mg_per_day=100, oral_days=366) == 36.6


def test_mycophenolate_mofetil_range_is_capped_at_1_g_twice_daily_below_egfr_25():
    # the label: avoid more than 1 g twice daily (2000 mg/day) when GFR < 25; the induction
    # range is 2000-3000 mg/day, so below 25 it is 2000-2000; mycophenolic acid is not capped
    low = dosing.mycophenolate_dose("induction", "MMF", egfr=20)
    assert low.adjusted_range == (2000.0, 2000.0) and low.normal_range == (2000.0, 3000.0)
    assert dosing.mycophenolate_dose("induction", "MMF", egfr=30).adjusted_range == (2000.0, 3000.0)
    mpa = dosing.mycophenolate_dose("induction", "MPA", egfr=20)
    assert mpa.adjusted_range == mpa.normal_range


@pytest.mark.parametrize(
    ("frequency", "worst"),
    [
        ("weekly", "info"),
        ("daily", "contraindicated"),  # the daily-dosing error
        ("every 2 days", "contraindicated"),
        ("every 2 weeks", "info"),  # less often than weekly: checked, not the daily error
        ("every 10 days", "info"),
    ],
)
def test_methotrexate_frequency_warnings_follow_the_rules_check(frequency, worst):
    # the review flags dose.mtx_not_weekly ("urgent") only more often than weekly
    result = dosing.methotrexate_check(15.0, frequency)
    weekly = [w for w in result.warnings if "ONCE A WEEK" in w.message]
    assert [w.severity for w in weekly] == [worst]
    if frequency in ("every 2 weeks", "every 10 days"):
        assert "less often than the usual once weekly" in weekly[0].message


def test_the_cautious_start_with_allopurinol_says_why_it_is_lower():
    """60 kg, TPMT unknown, 150 mg before allopurinol: the cautious start is 1 mg/kg = 60 mg,
    and with allopurinol at most a quarter of 150 = 37.5 mg: the lower, 37.5 mg, holds, and
    the message says both reasons (not only "while TPMT is unknown")."""
    r = dosing.azathioprine_dose(60, "unknown", "unknown", allopurinol=True, current_mg=150)
    above = dosing.current_dose_check(r, 50)
    # probe 12 F8: 50 mg is above a quarter of 150 (dose.aza_allopurinol_quarter, caution) but
    # not above a third (50: dose.aza_allopurinol, urgent, does not fire) -> caution, as the rules
    assert above.severity == "caution" and "dose.aza_allopurinol_quarter" in above.message
    assert "at most 37.5 mg/day while TPMT is unknown, and with allopurinol never more than a quarter" in above.message


def test_monitoring_plan_with_allopurinol_adds_the_weekly_blood_counts():
    """schedule.toml [combinations.thiopurine_allopurinol] (Medsafe): with allopurinol from
    the start, the blood count is weekly until the combination has been stable for 91 days,
    then monthly (30 days) while both are taken; the other tests keep the drug's schedule.
    By hand, from 5 Jan 2026 at a stable dose (the full checks as in the test above: 0, 14,
    28, 42, 72, 102, 132, 216, 300, 384): blood counts on days 7, 14, ..., 84, 91 (the
    last test before day 91 was day 84: weekly; on day 91 the combination is 91 days old:
    monthly from then), 121, 151, ..., 391 (421 is past the 60-week horizon).  A full
    check that day covers the blood count (14, 28, 42)."""
    start = dt.date(2026, 1, 5)
    steps = (dosing.TitrationStep(0, 25.0, 25 / 70, 25.0, ""),)
    plan = dosing.monitoring_plan("azathioprine", start, steps, with_drugs=("allopurinol",))
    full = [0, 14, 28, 42, 72, 102, 132, 216, 300, 384]
    counts = [*range(7, 92, 7), *range(121, 421, 30)]
    assert [v.day for v in plan.visits] == sorted(set(full) | set(counts))
    added = [v for v in plan.visits if v.day not in full]
    assert all(v.tests == "full blood count" for v in added), {v.tests for v in added}
    assert all("allopurinol" in v.why and "Medsafe" in v.source for v in added)
    # without allopurinol the plan is the drug's own
    assert [v.day for v in dosing.monitoring_plan("azathioprine", start, steps).visits] == full
