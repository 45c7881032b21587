"""Fixes of probe30 F2, F3, F4, F8 and F9: a dose per kg or per m2 never passes the mg/day
and mg/week checks unsaid, a weight's unit column is read, the weight used is named with
its date, a maximum the Compare page states is a dose check's, one regimen typed once.

Expected values are worked out by hand from the sources the data files cite (KDIGO 3 g
MMF a day, 3E 30 mg methotrexate a week, Arava 20 mg leflunomide a day, CellCept 2 g a
day below eGFR 25, Lupkynis 15.8 + 7.9 mg with a moderate CYP3A4 inhibitor) and 1 lb =
0.45359237 kg; none is copied from the code's output.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from dashboard import knowledge, model
from dashboard.ingest import ImportOptions, Source, import_sources
from dashboard.rules.review import review

ROOT = Path(__file__).resolve().parents[1]
AS_OF = dt.date(2026, 12, 5)
DOSES_HEAD = "patient_id,drug,dose,dose_unit,frequency,route,start,end\n"
PATIENT_60 = "patient_id,sex,birth_date,weight_kg,tpmt,nudt15\nP1,F,1980-01-01,60,normal,normal\n"


def _labs(egfr: float = 70) -> str:
    return f"patient_id,collected_at,analyte,value,unit\nP1,2026-11-01 09:00,eGFR,{egfr:g},mL/min/1.73m2\n"


def _run(doses: str, patients: str = PATIENT_60, egfr: float = 70):
    sources = [Source("labs.csv", _labs(egfr).encode()), Source("doses.csv", (DOSES_HEAD + doses).encode())]
    if patients:
        sources.append(Source("patients.csv", patients.encode()))
    r = import_sources(sources, ImportOptions(today=AS_OF))
    rv = review(r.labs, r.doses, r.patients, None, None, AS_OF)
    return r, rv.dose_checks_df()


# ----------------------------------------------------------------------------------------
# F9: the voclosporin moderate-CYP3A4 regimen lives in interactions.toml only


def test_the_voclosporin_regimen_on_compare_is_the_one_the_dose_check_reads():
    regimen = knowledge.interactions()["voclosporin_moderate_cyp3a4"].regimen
    assert regimen == "15.8 mg in the morning and 7.9 mg in the evening"  # Lupkynis label
    lines = knowledge.drugs()["voclosporin"].facts["interactions"].value
    assert any(regimen in line and "Moderate CYP3A4" in line for line in lines)
    text = (ROOT / "dashboard/knowledge/data/drugs/voclosporin.toml").read_text(encoding="utf-8")
    assert "15.8 mg in the morning" not in text and "15.8 mg am" not in text


def test_the_voclosporin_advice_states_the_regimen_and_its_daily_total():
    # 15.8 + 7.9 = 23.7 mg a day
    advice = knowledge.interactions()["voclosporin_moderate_cyp3a4"].advice
    assert "15.8 mg in the morning and 7.9 mg in the evening (23.7 mg a day)" in advice
    assert "{" not in advice


def test_an_unknown_interaction_placeholder_is_an_error():
    with pytest.raises(KeyError):
        knowledge.dosing_text("{interactions.no_such_interaction.regimen}")


# ----------------------------------------------------------------------------------------
# F8: every maximum Compare states is a dose check's; a drug with none says so


def test_leflunomide_40_mg_a_day_is_above_the_label_maximum():
    # Arava label 2.1: at most 20 mg once daily; 40 mg daily, ongoing, is twice that
    _, checks = _run("P1,leflunomide,40,mg,daily,oral,2026-01-01,\n")
    row = checks[checks["rule"] == "dose.lef_above_max"]
    assert len(row) == 1
    assert row["value"].iloc[0] == 40.0 and row["threshold"].iloc[0] == 20.0
    assert row["status"].iloc[0] == "open"


def test_leflunomide_20_mg_a_day_is_not_flagged():
    _, checks = _run("P1,leflunomide,20,mg,daily,oral,2026-01-01,\n")
    assert not (checks["rule"] == "dose.lef_above_max").any()


def test_the_leflunomide_loading_dose_for_three_days_is_not_flagged():
    # label: 100 mg once daily for 3 days, then 20 mg once daily
    doses = "P1,leflunomide,100,mg,daily,oral,2026-01-01,2026-01-03\nP1,leflunomide,20,mg,daily,oral,2026-01-04,\n"
    _, checks = _run(doses)
    assert not (checks["rule"] == "dose.lef_above_max").any()


def test_100_mg_of_leflunomide_for_a_month_is_not_a_loading_dose():
    _, checks = _run("P1,leflunomide,100,mg,daily,oral,2026-01-01,2026-02-01\n")
    row = checks[checks["rule"] == "dose.lef_above_max"]
    assert len(row) == 1 and row["value"].iloc[0] == 100.0


def test_the_leflunomide_maximum_on_compare_is_the_dose_checks():
    from dashboard.rules import dose_checks

    check = next(c for c in dose_checks.checks() if c["id"] == "dose.lef_above_max")
    fact = str(knowledge.drugs()["leflunomide"].facts["usual_dose"].value)
    assert check["threshold"] == 20.0 and f"at most {check['threshold']:g} mg a day" in fact
    raw = (ROOT / "dashboard/knowledge/data/drugs/leflunomide.toml").read_text(encoding="utf-8")
    assert "at most 20 mg" not in raw  # the number is filled in from dosing.toml


@pytest.mark.parametrize(
    ("drug", "dose", "freq", "route"),
    [
        ("voclosporin", "47.4", "BID", "oral"),  # twice the label's 23.7 mg BID
        ("sulfasalazine", "6000", "daily", "oral"),  # Compare: build up to 2 g a day
        ("tacrolimus", "20", "daily", "oral"),  # Compare: about 2-4 mg a day
        ("cyclophosphamide", "180", "daily", "oral"),  # 3 mg/kg/day at 60 kg; Compare: 1-1.5
    ],
)
def test_a_drug_without_a_dose_check_says_so(drug: str, dose: str, freq: str, route: str):
    _, checks = _run(f"P1,{drug},{dose},mg,{freq},{route},2026-01-01,\n")
    row = checks[(checks["drug"] == drug) & (checks["rule"] == "dose.no_amount_check")]
    assert len(row) == 1 and row["severity"].iloc[0] == "info"
    assert "no dose check for this drug" in row["message"].iloc[0]


def test_an_iv_cyclophosphamide_pulse_gets_no_no_dose_check_row():
    # 500 mg IV every 2 weeks is the Euro-Lupus pulse: its cumulative dose is checked
    _, checks = _run("P1,cyclophosphamide,500,mg,every 2 weeks,IV,2026-01-01,2026-03-15\n")
    assert not (checks["rule"] == "dose.no_amount_check").any()


# ----------------------------------------------------------------------------------------
# F3: a weight's unit in its own column is read with the weight, or the weight is rejected


def _patients(header: str, row: str):
    text = f"patient_id,sex,{header},tpmt\nP1,F,{row},normal\n"
    r = import_sources([Source("patients.csv", text.encode())], ImportOptions(today=AS_OF))
    return model.to_pandas("patients", r.patients), r.report.files[0]


@pytest.mark.parametrize(
    ("header", "row", "kg"),
    [
        ("weight,weight_unit", "154,lb", 69.85),  # 154 x 0.45359237 = 69.853 -> 69.85
        ("weight,weight_unit", "11,st", 69.85),  # 11 st = 154 lb
        ("Weight,Weight Unit", "70,KG", 70.0),
        ("weight,weight unit", "150,lbs", 68.04),  # 150 x 0.45359237 = 68.039
    ],
)
def test_a_weight_unit_column_is_read_with_the_weight(header: str, row: str, kg: float):
    pats, rep = _patients(header, row)
    assert pats["weight_kg"].tolist() == [kg]
    assert not rep.problems


@pytest.mark.parametrize(
    ("header", "row", "why"),
    [
        ("weight,weight_unit", "70,", "is empty on this row"),
        ("weight,weight_unit", "70,furlongs", "'furlongs'"),
        ("weight,weight_unit", "70 kg,lb", "contradicts"),
        ("weight (lbs),weight unit", "154,kg", "header says lb"),
    ],
)
def test_a_weight_unit_column_that_cannot_be_read_leaves_the_weight_unknown(header: str, row: str, why: str):
    # never read as kg by default; the patient's other details stand (audit8 A6: the row was
    # rejected, and its TPMT with it)
    pats, rep = _patients(header, row)
    assert len(pats) == 1 and pats["weight_kg"].isna().all()
    assert not rep.problems
    assert len([w for w in rep.warnings if why in w.message]) == 1


def test_a_weight_unit_column_in_lb_makes_the_mg_per_kg_check_fire():
    # azathioprine 200 mg/day at 69.85 kg = 2.863 mg/kg/day: above the label's 2.5, not CPIC's 3
    patients = "patient_id,sex,birth_date,weight,weight_unit,tpmt,nudt15\nP1,F,1980-01-01,154,lb,normal,normal\n"
    _, checks = _run("P1,azathioprine,200,mg,daily,oral,2026-01-01,\n", patients=patients)
    row = checks[checks["rule"] == "dose.aza_above_2_5"]
    assert len(row) == 1 and row["value"].iloc[0] == pytest.approx(200 / 69.85)
    assert not (checks["rule"] == "dose.aza_above_3").any()


# ----------------------------------------------------------------------------------------
# F2: a dose per kg is turned into mg at the known weight; per m2 (no BSA) is said


def _patients_with(weight: str = "60", date: str = "2026-10-01") -> str:
    return (
        f"patient_id,sex,birth_date,weight_kg,weight_date,tpmt,nudt15\nP1,F,1980-01-01,{weight},{date},normal,normal\n"
    )


NO_WEIGHT = "patient_id,sex,birth_date,tpmt,nudt15\nP1,F,1980-01-01,normal,normal\n"


def _rule(checks, rule: str):
    return checks[checks["rule"] == rule]


def test_mycophenolate_30_mg_per_kg_bid_at_60_kg_is_3600_mg_a_day():
    # 30 mg/kg x 2 a day x 60 kg = 3600 mg/day > 3000 (KDIGO induction top)
    _, checks = _run("P1,mycophenolate mofetil,30,mg/kg,BID,oral,2026-01-01,\n", patients=_patients_with())
    row = _rule(checks, "dose.mmf_above_max")
    assert len(row) == 1 and row["value"].iloc[0] == pytest.approx(3600.0)
    assert "60 kg of 2026-10-01" in row["message"].iloc[0]


def test_mycophenolate_25_mg_per_kg_bid_at_60_kg_is_not_above_3_g():
    # 25 x 2 x 60 = 3000 mg/day: at the limit, not above it
    _, checks = _run("P1,mycophenolate mofetil,25,mg/kg,BID,oral,2026-01-01,\n", patients=_patients_with())
    assert checks.empty


def test_methotrexate_0_6_mg_per_kg_weekly_at_60_kg_is_36_mg_a_week():
    # 0.6 mg/kg x 60 kg = 36 mg once a week > 30 (3E)
    _, checks = _run("P1,methotrexate,0.6,mg/kg,weekly,oral,2026-01-01,\n", patients=_patients_with())
    row = _rule(checks, "dose.mtx_above_max")
    assert len(row) == 1 and row["value"].iloc[0] == pytest.approx(36.0)
    assert row["value_unit"].iloc[0] == "mg/week"


def test_methotrexate_0_4_mg_per_kg_weekly_at_60_kg_is_within_the_range():
    # 0.4 x 60 = 24 mg/week: within 3E's 20-30
    _, checks = _run("P1,methotrexate,0.4,mg/kg,weekly,oral,2026-01-01,\n", patients=_patients_with())
    assert checks.empty


def test_a_dose_per_kg_without_a_weight_is_said_not_checkable_against_the_daily_ceiling():
    _, checks = _run("P1,mycophenolate mofetil,30,mg/kg,BID,oral,2026-01-01,\n", patients=NO_WEIGHT)
    row = _rule(checks, "dose.not_checkable")
    assert len(row) == 1
    assert "weight is unknown" in row["message"].iloc[0] and "3000 mg/day" in row["message"].iloc[0]


def test_mercaptopurine_per_m2_is_said_not_checkable():
    _, checks = _run("P1,mercaptopurine,100,mg/m2,daily,oral,2026-01-01,\n", patients=_patients_with())
    row = _rule(checks, "dose.not_checkable")
    assert len(row) == 1 and "body surface area" in row["message"].iloc[0]
    assert row["drug"].iloc[0] == "mercaptopurine"


def test_mycophenolate_per_kg_at_a_low_egfr_is_held_against_the_renal_2_g():
    # 20 mg/kg x 2 x 60 kg = 2400 mg/day: below 3000, above the 2000 allowed below eGFR 25
    _, checks = _run("P1,mycophenolate mofetil,20,mg/kg,BID,oral,2026-01-01,\n", patients=_patients_with(), egfr=20)
    assert _rule(checks, "dose.mmf_renal_above_2g").shape[0] == 1
    assert _rule(checks, "dose.mmf_above_max").empty


def test_mycophenolate_per_m2_at_a_low_egfr_is_said_not_checkable():
    _, checks = _run("P1,mycophenolate mofetil,600,mg/m2,BID,oral,2026-01-01,\n", patients=_patients_with(), egfr=20)
    renal = _rule(checks, "dose.not_checkable")
    renal = renal[renal["message"].str.contains("eGFR 20")]
    assert len(renal) == 1 and "2000 mg/day cannot be told" in renal["message"].iloc[0]


def test_mycophenolate_per_m2_at_a_normal_egfr_has_no_renal_row():
    _, checks = _run("P1,mycophenolate mofetil,600,mg/m2,BID,oral,2026-01-01,\n", patients=_patients_with(), egfr=70)
    assert checks["rule"].tolist() == ["dose.not_checkable"]  # the 3 g/day ceiling only
    assert "eGFR" not in checks["message"].iloc[0]


# ----------------------------------------------------------------------------------------
# F4: the weight a mg/kg finding rests on is named with its date; an old one is said


def test_an_old_weight_is_named_with_its_date_and_said_to_be_old():
    # 250 mg / 80 kg = 3.125 mg/kg/day > 3; weighed 2012-03-01, 5392 days before 2026-12-05
    _, checks = _run("P1,azathioprine,250,mg,daily,oral,2026-01-01,\n", patients=_patients_with("80", "2012-03-01"))
    msg = _rule(checks, "dose.aza_above_3")["message"].iloc[0]
    assert "80 kg of 2012-03-01" in msg and "5392 days before 2026-12-05" in msg and "old weight" in msg


def test_a_recent_weight_is_named_and_not_called_old():
    # 200 mg / 60 kg = 3.33 mg/kg/day > 3; weighed 65 days before the review
    _, checks = _run("P1,azathioprine,200,mg,daily,oral,2026-01-01,\n", patients=_patients_with("60", "2026-10-01"))
    msg = _rule(checks, "dose.aza_above_3")["message"].iloc[0]
    assert "60 kg of 2026-10-01" in msg and "old weight" not in msg


def test_a_weight_without_a_date_is_said_to_have_none():
    _, checks = _run("P1,azathioprine,200,mg,daily,oral,2026-01-01,\n")
    msg = _rule(checks, "dose.aza_above_3")["message"].iloc[0]
    assert "60 kg (no date recorded" in msg


def test_a_dose_per_kg_checked_per_kg_needs_no_weight_and_names_none():
    # 1.75 mg/kg BID = 3.5 mg/kg/day: the weight plays no part, so none is named
    _, checks = _run("P1,azathioprine,1.75,mg/kg,BID,oral,2026-01-01,\n", patients=_patients_with("80", "2012-03-01"))
    msg = _rule(checks, "dose.aza_above_3")["message"].iloc[0]
    assert "weight" not in msg


def test_the_old_weight_limit_is_a_project_choice_in_the_data_file():
    from dashboard.rules import dose_checks

    days, basis = dose_checks.old_weight_days()
    assert days == 365 and "project choice" in basis
    assert dose_checks.weight_words(80, dt.date(2025, 12, 5), AS_OF) == "the weight 80 kg of 2025-12-05"  # 365 days
    assert "old weight" in dose_checks.weight_words(80, dt.date(2025, 12, 4), AS_OF)  # 366 days


def _context(weight: str, date: str):
    from dashboard import dosing

    r = import_sources([Source("patients.csv", _patients_with(weight, date).encode())], ImportOptions(today=AS_OF))
    pats = model.to_pandas("patients", r.patients)
    return dosing.patient_context(pats, model.empty_frame("doses"), model.empty_frame("labs"), "P1", AS_OF)


def test_the_dosing_page_names_the_weight_with_its_date():
    ctx = _context("60", "2026-10-01")
    assert ctx.weight_date == dt.date(2026, 10, 1)
    assert ctx.weight_words == "60 kg of 2026-10-01"


def test_the_dosing_page_says_an_old_weight_is_old():
    # 2012-03-01 is 5392 days before 2026-12-05, more than the 365 days of dose_checks.toml
    words = _context("80", "2012-03-01").weight_words
    assert words.startswith("80 kg of 2012-03-01 (5392 days before 2026-12-05: an old weight")


def test_the_dosing_page_prefill_caption_names_the_weights_date():
    from streamlit.testing.v1 import AppTest

    from dashboard import ui
    from dashboard.dataset import Dataset

    r = import_sources(
        [Source("patients.csv", _patients_with("80", "2012-03-01").encode())], ImportOptions(today=AS_OF)
    )
    ds = Dataset(
        labs=model.empty_frame("labs"),
        doses=model.empty_frame("doses"),
        patients=model.to_pandas("patients", r.patients),
        label="test panel",
    )
    at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=60)
    for key, value in {ui.DATASET: ds, ui.PATIENT: "P1", ui.AS_OF: AS_OF}.items():
        at.session_state[key] = value
    at.run()
    at.switch_page("pages/dosing.py").run()
    assert not at.exception
    caption = next(c.value for c in at.caption if c.value.startswith("Prefilled for the selected patient"))
    assert "weight 80 kg of 2012-03-01 (5392 days before 2026-12-05: an old weight" in caption


def test_no_drug_file_types_a_maximum_a_dose_check_holds():
    """A maximum written in a drug file's usual dose ("at most 20", "maximum 4") is filled in
    from dosing.toml, the file the dose checks read. Prednisone's ACR 2024 ceiling (lupus
    nephritis only) is held by no check: left, said in the report."""
    import re

    typed = re.compile(r"(at most|maximum|max\.?) \d")
    found = []
    for path in sorted((ROOT / "dashboard/knowledge/data/drugs").glob("*.toml")):
        if path.stem == "prednisone":
            continue
        for line in path.read_text(encoding="utf-8").splitlines():
            if typed.search(line):
                found.append(f"{path.name}: {line[:80]}")
    assert found == []


def test_a_no_dose_check_row_does_not_raise_the_patients_urgency():
    """H511: "no dose check for this drug" (dose.no_amount_check) says what the tool does not
    hold; a sulfasalazine patient (no amount check holds it) with a full check 5 days ago and
    nothing else open has no urgency on the Panel (it was "info", headed by that row), and the
    row stays in the dose checks for the Patient page."""
    import datetime as dt

    from tests.support import csv_review

    labs = "".join(
        f"T1,2026-11-20,{a},{v},{u}\n"
        for a, v, u in (
            ("WBC", 6, "10^9/L"),
            ("Neutrophils", 4, "10^9/L"),
            ("Platelets", 250, "10^9/L"),
            ("Creatinine", 70, "umol/L"),
            ("eGFR", 90, "mL/min/1.73m2"),
            ("ALT", 20, "U/L"),
            ("Albumin", 40, "g/L"),
        )
    )
    _, rv = csv_review(labs, "T1,sulfasalazine,1000,mg,BID,oral,2026-01-01,\n", as_of=dt.date(2026, 11, 25))
    checks = rv.dose_checks_df()
    assert "dose.no_amount_check" in set(checks["rule"])
    s = rv.summary_df().set_index("patient_id").loc["T1"]
    assert (s["urgency"], s["headline"]) == ("", "")
