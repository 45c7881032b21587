"""AppTest of the Dosing page: manual use without a panel, and prefill from a selected patient."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
from streamlit.testing.v1 import AppTest

from dashboard import model, ui
from dashboard.dataset import Dataset

ROOT = Path(__file__).resolve().parents[2]


def _app(session: dict | None = None) -> AppTest:
    at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=60)
    for key, value in (session or {}).items():
        at.session_state[key] = value
    at.run()
    at.switch_page("pages/dosing.py").run()
    assert not at.exception
    return at


def _texts(elements) -> str:
    return "\n".join(e.value for e in elements)


def _with_doses(ds: Dataset, doses: pd.DataFrame) -> Dataset:
    """``ds`` with its dose rows replaced by ``doses`` (conformed to the canonical table)."""
    return Dataset(
        labs=ds.labs,
        doses=model.to_pandas("doses", model.from_pandas("doses", doses)),
        patients=ds.patients,
        label="test panel",
    )


def test_manual_azathioprine_issue_case():
    at = _app()
    assert "No panel loaded" in _texts(at.caption)
    assert "Enter the body weight" in _texts(at.info)
    at.number_input(key="aza_weight_manual").set_value(70.0)
    at.selectbox(key="aza_tpmt_manual").set_value("intermediate")
    at.selectbox(key="aza_nudt15_manual").set_value("normal")
    at.checkbox(key="aza_allo_manual").check()
    at.run()
    assert not at.exception
    assert at.metric[0].value == "25 mg/day"
    errors = _texts(at.error)
    assert "a quarter of the usual azathioprine dose" in errors and "No guideline gives a combined rule" in errors
    assert "Febuxostat is contraindicated" in _texts(at.info)
    assert "weekly in the first month" in _texts(at.warning)  # issue 17: label monitoring after a reduced start
    # audit 18 (F3): one dose (25 mg, no step), dated by the rules' BSR 2025 schedule: every
    # 14 days to day 42, monthly for 3 months (72, 102, 132), then every 84 days (probe 7
    # F8: no fourth monthly test on day 162); allopurinol is ticked, so the blood counts of
    # its combination (Medsafe: weekly to day 91, then monthly) are dated too, as the review
    # asks for them (tests/test_dosing.py::test_monitoring_plan_with_allopurinol_adds_the_weekly_blood_counts)
    schedule = next(d.value for d in at.dataframe if "Why then" in d.value.columns)
    full = [0, 14, 28, 42, 72, 102, 132, 216, 300, 384]
    assert schedule["Day"].tolist() == sorted({*full, *range(7, 92, 7), *range(121, 421, 30)})


def test_the_blood_tests_follow_the_titration_and_the_active_profile():
    """Audit 18 (F3): 70 kg, TPMT and NUDT15 normal: steps at weeks 6, 10, 14 and 18 (days 42,
    70, 98, 126); every step starts the fortnightly tests again; 6 weeks after the last one
    (day 168) the dose is stable, then monthly for 3 months (198, 228, 258), then the
    maintenance interval of 84 days (342).  BSR 2017 via NICE CKS / SPS: "every 2 weeks until
    the dose is stable for 6 weeks, then monthly for 3 months".  (Probe 7 F4: this pinned 252,
    336, 420, maintenance straight after the titration.)"""
    for profile, tests in (
        (None, "full blood count, creatinine/eGFR, ALT/AST, albumin"),
        ("BSR 2017 / NICE", "full blood count"),
    ):
        at = _app({ui.state.PROFILE: profile} if profile else None)
        at.number_input(key="aza_weight_manual").set_value(70.0)
        at.selectbox(key="aza_tpmt_manual").set_value("normal")
        at.selectbox(key="aza_nudt15_manual").set_value("normal")
        at.run()
        assert not at.exception
        plan = next(d.value for d in at.dataframe if "Why then" in d.value.columns)
        assert plan["Day"].tolist() == [0, 14, 28, 42, 56, 70, 84, 98, 112, 126, 140, 154, 168, 198, 228, 258, 342]
        assert plan["Dose (mg/day)"].tolist()[3:6] == [75, 75, 100]
        assert (plan["Tests"].iloc[1:] == tests).all()
        assert "every dose increase starts the fortnightly tests again" in _texts(at.caption)


def test_poor_metabolizer_and_methotrexate_daily_error():
    at = _app()
    at.number_input(key="aza_weight_manual").set_value(60.0)
    at.selectbox(key="aza_tpmt_manual").set_value("poor")
    at.selectbox(key="mtx_freq_manual").set_value("daily")
    at.run()
    errors = _texts(at.error)
    assert "Avoid: no dose is suggested." in errors
    assert "non-thiopurine" in errors
    assert "ONCE A WEEK" in errors


def test_methotrexate_every_n_days_asks_for_the_days_and_judges_the_weekly_total():
    """ "every N days" states no N: the page asks for the days between doses, never assumes
    them; 15 mg every 3 days is 15 x 7 / 3 = 35 mg a week, above the usual 25 mg a week."""
    at = _app()
    at.selectbox(key="mtx_freq_manual").set_value("every N days")
    at.run()
    assert not at.exception
    assert at.number_input(key="mtx_every_manual").value is None
    assert "the weekly total cannot be worked out" in _texts(at.markdown)
    at.number_input(key="mtx_every_manual").set_value(3)
    at.run()
    assert not at.exception
    assert "15 mg every 3 days = 35 mg/week." in _texts(at.markdown)
    assert "ONCE A WEEK" in _texts(at.error)  # more often than weekly: the dosing error
    at.number_input(key="mtx_every_manual").set_value(7)  # every 7 days is once weekly
    at.run()
    assert not at.exception
    assert "ONCE A WEEK" not in _texts(at.error)
    assert "15 mg/week" in _texts(at.caption)


def test_metabolite_tab():
    at = _app()
    at.number_input(key="met_tgn").set_value(150.0)
    at.number_input(key="met_mmp").set_value(8000.0)
    at.run()
    assert "Hypermethylator" in _texts(at.warning)


def _panel() -> Dataset:
    patients = pd.DataFrame(
        {
            "patient_id": ["P1"],
            "sex": ["F"],
            "weight_kg": [70.0],
            "tpmt": ["intermediate"],
            "nudt15": ["normal"],
            "diagnosis": ["SLE"],
        }
    )
    doses = pd.DataFrame(
        {
            "patient_id": ["P1", "P1", "P1"],
            "drug": ["azathioprine", "allopurinol", "methotrexate"],
            "start": pd.to_datetime(["2025-01-01", "2025-02-01", "2025-03-01"]),
            "dose": [100.0, 100.0, 10.0],
            "dose_unit": ["mg", "mg", "mg"],
            "frequency": ["daily", "daily", "weekly"],
            "mg_per_day": [100.0, 100.0, 10 / 7],
            "mg_per_week": [float("nan"), float("nan"), 10.0],
        }
    )
    labs = pd.DataFrame(
        {
            "patient_id": ["P1", "P1"],
            "collected_at": pd.to_datetime(["2025-04-01 08:00", "2025-09-01 08:00"]),
            "analyte": ["egfr", "egfr"],
            "value": [55.0, 90.0],
            "unit": ["mL/min/1.73m2"] * 2,
        }
    )
    return Dataset(
        labs=model.to_pandas("labs", model.from_pandas("labs", labs)),
        doses=model.to_pandas("doses", model.from_pandas("doses", doses)),
        patients=model.to_pandas("patients", model.from_pandas("patients", patients)),
        label="test panel",
    )


def test_prefill_from_the_selected_patient():
    at = _app({ui.DATASET: _panel(), ui.PATIENT: "P1", ui.AS_OF: dt.date(2025, 6, 1)})
    assert at.selectbox(key="dosing_patient").value == "P1"
    assert at.number_input(key="aza_weight_P1").value == 70.0
    assert at.selectbox(key="aza_tpmt_P1").value == "intermediate"
    assert at.selectbox(key="aza_nudt15_P1").value == "normal"
    assert at.checkbox(key="aza_allo_P1").value is True
    assert at.number_input(key="aza_egfr_P1").value == 55.0  # the September result is after the as-of date
    assert at.number_input(key="mtx_dose_P1").value == 10.0
    assert at.number_input(key="hcq_weight_P1").value == 70.0
    assert at.metric[0].value == "25 mg/day"
    assert "eGFR 55" in _texts(at.warning)
    # audit 17 F2: allopurinol started a month after azathioprine 100 mg: a quarter to a third
    # of 100 mg (below the 37.3 mg of the genotype-adjusted standard dose), capped at a quarter,
    # 25 mg (Medsafe; above it the rules give a caution): 10.5-25 mg
    assert at.number_input(key="aza_before_aza_P1").value == 100.0
    assert "Current dose 100 mg/day is above the calculated range (10.5-25 mg/day)." in _texts(at.error)
    current = next(d.value for d in at.dataframe if "Since" in d.value.columns)
    assert sorted(current["Drug"]) == ["Allopurinol", "Azathioprine", "Methotrexate"]


def test_tpmt_unknown_start_is_never_a_full_dose():
    """Issue 17: 70 kg, TPMT and NUDT15 unknown: test first; label start about 1 mg/kg/day
    -> 50 mg/day (25 mg steps), 0.71 mg/kg/day, 36% of the standard 140 mg."""
    at = _app()
    at.number_input(key="aza_weight_manual").set_value(70.0)
    at.run()
    assert "Test TPMT and NUDT15 first" in _texts(at.error)
    assert at.metric[0].label.startswith("Cautious start") and at.metric[0].value == "50 mg/day"
    assert "0.71 mg/kg/day = 36% of the standard dose" in _texts(at.caption)


def test_tpmt_unknown_with_nudt15_normal_is_test_first():
    """Audit 17 F1: 70 kg, TPMT unknown, NUDT15 normal: no full dose (the audit saw 150 mg);
    cautious start 1 mg/kg/day = 70 mg -> 50 mg/day."""
    at = _app()
    at.number_input(key="aza_weight_manual").set_value(70.0)
    at.selectbox(key="aza_nudt15_manual").set_value("normal")
    at.run()
    assert "Test TPMT first" in _texts(at.error)
    assert at.metric[0].label.startswith("Cautious start") and at.metric[0].value == "50 mg/day"


def test_allopurinol_added_to_azathioprine_100_mg():
    """Audit 17 F2: 86 kg on azathioprine 100 mg, allopurinol ticked: a quarter to a third
    of 100 mg = 25-33.3 mg, capped at a quarter (Medsafe; above it the rules give a
    caution) -> 25 mg/day; the current 100 mg is above it."""
    at = _app()
    at.number_input(key="aza_weight_manual").set_value(86.0)
    at.selectbox(key="aza_tpmt_manual").set_value("normal")
    at.selectbox(key="aza_nudt15_manual").set_value("normal")
    at.checkbox(key="aza_allo_manual").check()
    at.run()
    at.number_input(key="aza_before_aza_manual").set_value(100.0)
    at.run()
    assert not at.exception
    assert at.metric[0].value == "25 mg/day"
    assert "Calculated dose 25 mg/day" in _texts(at.caption)
    assert "never raises the dose" in _texts(at.markdown)


def test_mercaptopurine_titration_plan():
    at = _app()
    at.radio(key="thio_drug_manual").set_value("mercaptopurine")
    at.number_input(key="aza_weight_manual").set_value(70.0)
    at.selectbox(key="aza_tpmt_manual").set_value("normal")
    at.selectbox(key="aza_nudt15_manual").set_value("normal")
    at.run()
    assert not at.exception
    # CPIC 1.5 mg/kg/day x 70 = 105 mg; target 1-1.5 mg/kg/day = 70-105 mg -> 75 mg
    assert at.metric[0].value == "75 mg/day"
    plan = next(d.value for d in at.dataframe if "From week" in d.value.columns)
    assert plan["mg/day"].tolist() == [50.0, 75.0]


def test_cyclophosphamide_cumulative_dose_tab_and_patient_page():
    """The sample patient SLE-015 had Euro-Lupus: 6 pulses of 500 mg = 3 g; by hand the
    default 6 x 500 mg is 3 g, and 12 x 1000 mg (12 g) is above the 10 g threshold."""
    at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=120)
    at.run()
    at.button(key="load_sample").click().run()
    at.session_state["selected_patient"] = "SLE-015"
    at.switch_page("pages/dosing.py").run()
    assert not at.exception
    values = [m.value for m in at.metric]
    assert "3 g" in values  # the patient's cumulative dose and the default by-hand sum
    at.number_input(key="cyc_pulses").set_value(12).run()
    at.number_input(key="cyc_mg_pulse").set_value(1000.0).run()
    assert any("Above 10 g" in w.value for w in at.warning)
    at.switch_page("pages/patient.py").run()
    assert not at.exception
    assert any(m.value == "3 g" for m in at.metric)


def test_key_points_on_the_dosing_tabs():
    at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=120)
    at.run()
    at.switch_page("pages/dosing.py").run()
    assert not at.exception
    infos = " ".join(i.value for i in at.info)
    assert "prodrug" in infos and "6-mercaptopurine" in infos  # thiopurine tab
    assert "withhold methotrexate for up to two weeks" in infos  # methotrexate tab, BSR 2025
    assert "FIB-4" in infos
    frames = [d.value for d in at.dataframe if "Verdict" in d.value.columns]
    assert frames and "avoid where possible" in set(frames[0]["Verdict"])


def test_the_patients_own_interaction_is_shown_in_full():
    """P1 takes methotrexate 15 mg weekly and trimethoprim now: the interaction table's cell
    cuts the advice off, so the page also says it in full (Medsafe: avoid where possible,
    "action"), naming the drug in the dose list."""
    ds = _panel()
    doses = pd.DataFrame(
        {
            "patient_id": ["P1", "P1"],
            "drug": ["methotrexate", "trimethoprim"],
            "start": pd.to_datetime(["2025-01-01", "2025-05-20"]),
            "dose": [15.0, 200.0],
            "dose_unit": ["mg", "mg"],
            "frequency": ["weekly", "BID"],
            "mg_per_day": [15 / 7, 400.0],
            "mg_per_week": [15.0, float("nan")],
        }
    )
    ds = _with_doses(ds, doses)
    at = _app({ui.DATASET: ds, ui.PATIENT: "P1", ui.AS_OF: dt.date(2025, 6, 1)})
    warnings = _texts(at.warning)
    assert "Methotrexate with Trimethoprim now: avoid where possible** (action)" in warnings
    assert "bone marrow" in warnings.lower() or "marrow" in warnings.lower()
    frames = [d.value for d in at.dataframe if "Verdict" in d.value.columns]
    assert frames and list(frames[0]["In the dose list now"]) == ["Trimethoprim"]


def test_every_interaction_is_readable_in_full():
    """The interactions table cuts its advice off; an expander writes every one out."""
    from streamlit.testing.v1 import AppTest

    from tests.support import ROOT

    at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=60)
    at.run()
    at.switch_page("pages/dosing.py").run()
    assert not at.exception
    [box] = [e for e in at.expander if e.label == "Every interaction in full"]
    text = " ".join(m.value for m in box.markdown).replace("\\", "")
    assert "**Methotrexate with trimethoprim or co-trimoxazole: avoid where possible** (action)." in text


def test_the_titration_plans_blood_tests_are_written_out_in_full():
    """The plan's "Blood tests" column cut its text off ("...twice a month in months 2 an"):
    the caption below the plan writes each distinct text once, in full."""
    at = _app()
    at.number_input(key="aza_weight_manual").set_value(64.4)
    at.run()
    assert not at.exception
    plan = next(d.value for d in at.dataframe if "Blood tests" in d.value.columns)
    [caption] = [c.value for c in at.caption if c.value.startswith("Blood tests: ")]
    assert "weekly in the first month, twice a month in months 2 and 3" in caption  # the label's schedule
    for text in set(plan["Blood tests"]):
        assert text.replace("(", "").replace(")", "") in caption.replace("\\", "").replace("(", "").replace(")", "")


def _on_mycophenolate(drug: str, twice_daily: float) -> Dataset:
    ds = _panel()
    doses = pd.DataFrame(
        {
            "patient_id": ["P1"],
            "drug": [drug],
            "start": pd.to_datetime(["2025-01-01"]),
            "dose": [twice_daily],
            "dose_unit": ["mg"],
            "frequency": ["BID"],
            "mg_per_day": [2 * twice_daily],
            "mg_per_week": [float("nan")],
        }
    )
    return _with_doses(ds, doses)


def test_the_patients_mycophenolate_dose_is_checked_like_the_rules_do():
    """Audit 3: the rules flag mycophenolate mofetil above 3000 mg/day (dose.mmf_above_max,
    the top of KDIGO's 2-3 g/day induction range) and mycophenolic acid above 3000 x 0.72 =
    2160 mg/day.  A patient on MMF 2000 mg twice daily (4000 mg/day) or on MPA 1440 mg
    twice daily (2880 mg/day): the Dosing page, prefilled, says the current dose is above
    the range (induction: 2000-3000 mg/day of MMF, 1440-2160 mg/day of MPA)."""
    at = _app(
        {
            ui.DATASET: _on_mycophenolate("mycophenolate mofetil", 2000.0),
            ui.PATIENT: "P1",
            ui.AS_OF: dt.date(2025, 6, 1),
        }
    )
    assert at.radio(key="mmf_form_P1").value == "MMF"
    # probe 12 F8: a caution (st.warning), the severity of dose.mmf_above_max, not an error
    assert "Current dose 4000 mg/day is above the calculated range (2000-3000 mg/day)." in _texts(at.warning)
    assert "dose.mmf_above_max above 3000 mg/day: caution" in _texts(at.warning)
    at = _app(
        {ui.DATASET: _on_mycophenolate("mycophenolic acid", 1440.0), ui.PATIENT: "P1", ui.AS_OF: dt.date(2025, 6, 1)}
    )
    assert at.radio(key="mmf_form_P1").value == "MPA"
    assert "Current dose 2880 mg/day is above the calculated range (1440-2160 mg/day)." in _texts(at.warning)


def test_the_methotrexate_and_cyclophosphamide_tabs_say_the_pregnancy_instruction():
    """Probe 9 F6: the mycophenolate tab warned about pregnancy, the methotrexate and
    cyclophosphamide tabs said nothing, though the Compare page grades both to stop before
    conception.  Each tab now shows the same fact the Compare page shows (one home)."""
    from dashboard import knowledge

    at = _app()
    warnings = _texts(at.warning)
    for entry in ("methotrexate", "cyclophosphamide (NIH)"):
        plan = str(knowledge.drugs()[entry].fact("pregnancy_plan").value)
        assert f"**Pregnancy**: {plan}" in warnings, entry


# --------------------------------------------------------------------------- dosing21: hostile inputs


def _one_patient(weight: float, mtx_dose: float, mtx_freq: str, egfr: float = 80.0, cmp: str = "") -> Dataset:
    patients = pd.DataFrame(
        {"patient_id": ["P1"], "sex": ["F"], "weight_kg": [weight], "tpmt": ["normal"], "nudt15": ["normal"]}
    )
    per_day = {"daily": 1.0, "weekly": 1 / 7}[mtx_freq]
    doses = pd.DataFrame(
        {
            "patient_id": ["P1"],
            "drug": ["methotrexate"],
            "start": pd.to_datetime(["2025-01-01"]),
            "dose": [mtx_dose],
            "dose_unit": ["mg"],
            "frequency": [mtx_freq],
            "mg_per_day": [mtx_dose * per_day],
            "mg_per_week": [mtx_dose * per_day * 7],
        }
    )
    labs = pd.DataFrame(
        {
            "patient_id": ["P1"],
            "collected_at": pd.to_datetime(["2025-04-01 08:00"]),
            "analyte": ["egfr"],
            "value": [egfr],
            "unit": ["mL/min/1.73m2"],
            "comparator": [cmp],
        }
    )
    return Dataset(
        labs=model.to_pandas("labs", model.from_pandas("labs", labs)),
        doses=model.to_pandas("doses", model.from_pandas("doses", doses)),
        patients=model.to_pandas("patients", model.from_pandas("patients", patients)),
        label="test panel",
    )


def _for(data: Dataset) -> AppTest:
    return _app({ui.DATASET: data, ui.PATIENT: "P1", ui.AS_OF: dt.date(2025, 6, 1)})


def test_methotrexate_10_mg_daily_is_prefilled_as_10_mg_daily_and_checked_as_70_a_week():
    """dosing21 (H385, H386): the record says 10 mg daily; the page showed 15 mg (its own
    default: 70 is above the field's 50) beside "daily" and "15 mg once weekly".  By hand:
    10 mg x 7 = 70 mg/week, above the 30 mg/week ceiling (dose.mtx_above_max, "action")."""
    at = _for(_one_patient(70.0, 10.0, "daily"))
    assert at.number_input(key="mtx_dose_P1").value == 10.0
    assert at.selectbox(key="mtx_freq_P1").value == "daily"
    assert ("Dose checked", "70 mg/week") in [(m.label, m.value) for m in at.metric]
    errors = _texts(at.error)
    assert "70 mg/week is above the 30 mg/week ceiling" in errors and "ONCE A WEEK" in errors


def test_methotrexate_60_mg_weekly_is_never_replaced_by_a_default():
    """dosing21 (H386): 60 mg/week was above the field's 50 mg, and the page put 15 mg in its place."""
    at = _for(_one_patient(70.0, 60.0, "weekly"))
    assert at.number_input(key="mtx_dose_P1").value == 60.0
    assert "60 mg/week is above the 30 mg/week ceiling" in _texts(at.error)


def test_a_censored_egfr_is_said_and_not_prefilled_as_a_number():
    """dosing21 (H387): "<30" was prefilled as 30, and methotrexate got the caution of the
    band below 60 while the dose check dose.mtx_renal_contraindicated reads "<30" as below 30."""
    at = _for(_one_patient(70.0, 15.0, "weekly", egfr=30.0, cmp="<"))
    assert at.number_input(key="aza_egfr_P1").value is None
    assert "latest eGFR <30 (01 Apr 2025)" in _texts(at.caption)
    assert "The eGFR was drawn " in _texts(at.caption)  # its age beside it (days before the as-of date)
    assert "censored" in _texts(at.warning)
    # H401: the limits are placed against "<30" as the dose checks place it: methotrexate's
    # band below 30 ("high"), never "No eGFR entered"; the eGFR said as standing in for the
    # SmPC's creatinine clearance (H415)
    shown = _texts(at.error) + _texts(at.warning) + _texts(at.info)
    assert "HIGH**: eGFR <30 (the SmPC states creatinine clearance; eGFR used): below 30" in shown
    assert "No eGFR entered" not in shown


def test_a_childs_weight_is_said_not_silently_dropped():
    """dosing21 (H388): 15 kg is under the page's 20 kg: the field stayed empty with only
    "Enter the body weight"."""
    at = _for(_one_patient(15.0, 5.0, "weekly"))
    assert at.number_input(key="aza_weight_P1").value is None
    infos = _texts(at.info) + _texts(at.warning)
    assert "The recorded weight, 15 kg, is outside the weights this page calculates for (20-250 kg)" in infos
    assert "Enter the body weight to calculate a dose." not in _texts(at.info)


def test_a_current_azathioprine_dose_in_mg_per_kg_is_compared_on_the_page():
    """dosing21 (H389): azathioprine 3 mg/kg daily at 60 kg.  The rules compare 3 mg/kg/day
    with 2.5 (dose.aza_above_2_5, caution); the page ignored the row.  By hand: 3 x 60 =
    180 mg/day against the range 2-2.5 mg/kg x 60 = 120-150 mg/day: above it, caution."""
    data = _one_patient(60.0, 15.0, "weekly")
    doses = pd.DataFrame(
        {
            "patient_id": ["P1"],
            "drug": ["azathioprine"],
            "start": pd.to_datetime(["2025-01-01"]),
            "dose": [3.0],
            "dose_unit": ["mg/kg"],
            "frequency": ["daily"],
            "mg_per_day": [float("nan")],
            "mg_per_week": [float("nan")],
        }
    )
    at = _for(_with_doses(data, doses))
    assert "3 mg/kg/day x 60 kg = 180 mg/day" in _texts(at.caption)
    assert "Current dose 180 mg/day is above the calculated range (120-150 mg/day)" in _texts(at.warning)
    # allopurinol about to be added: the dose it reduces is per kg, not a daily amount in mg;
    # the field stays empty and the page says why the standard dose is used (H403)
    at.checkbox(key="aza_allo_P1").check()
    at.run()
    assert not at.exception
    assert at.number_input(key="aza_before_aza_P1").value is None
    assert "3 mg/kg/day" in _texts(at.info) and "is not a daily amount in mg" in _texts(at.info)


def test_an_as_of_date_before_the_cyclophosphamide_started_is_said():
    """dosing21 (H391): the first pulse is on 1 Jul 2025, the as-of date 1 Jun 2025: the page
    said "no cyclophosphamide in the dose history"."""
    data = _one_patient(60.0, 15.0, "weekly")
    doses = pd.DataFrame(
        {
            "patient_id": ["P1"],
            "drug": ["cyclophosphamide"],
            "start": pd.to_datetime(["2025-07-01"]),
            "dose": [500.0],
            "dose_unit": ["mg"],
            "frequency": ["single"],
            "route": ["iv"],
        }
    )
    at = _for(_with_doses(data, doses))
    captions = _texts(at.caption)
    assert "its first dose in the history is on 01 Jul 2025, after it" in captions
    assert "no cyclophosphamide in the dose history" not in captions


def test_a_methotrexate_row_in_mg_per_kg_leaves_the_amount_empty_and_says_why():
    """dosing21 (H386): a row of 0.3 mg/kg weekly has no mg amount: the field stays empty
    with the row's own words, and nothing is checked (it used to show the default 15 mg)."""
    data = _one_patient(60.0, 15.0, "weekly")
    doses = data.doses.copy()
    doses["dose"], doses["dose_unit"] = 0.3, "mg/kg"
    doses["mg_per_day"], doses["mg_per_week"] = float("nan"), float("nan")
    at = _for(Dataset(labs=data.labs, doses=doses, patients=data.patients, label="test panel"))
    assert at.number_input(key="mtx_dose_P1").value is None
    info = _texts(at.info).replace("\\.", ".")  # the row's words are markdown-escaped
    assert "states no amount the page can use (0.3 mg/kg weekly)" in info
    assert "Dose checked" not in [m.label for m in at.metric]
