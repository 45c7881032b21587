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
def test_a_weight_unit_column_that_cannot_be_read_rejects_the_weight(header: str, row: str, why: str):
    pats, rep = _patients(header, row)
    assert pats.empty  # never read as kg by default
    assert len(rep.problems) == 1 and why in rep.problems[0].message


def test_a_weight_unit_column_in_lb_makes_the_mg_per_kg_check_fire():
    # azathioprine 200 mg/day at 69.85 kg = 2.863 mg/kg/day: above the label's 2.5, not CPIC's 3
    patients = "patient_id,sex,birth_date,weight,weight_unit,tpmt,nudt15\nP1,F,1980-01-01,154,lb,normal,normal\n"
    _, checks = _run("P1,azathioprine,200,mg,daily,oral,2026-01-01,\n", patients=patients)
    row = checks[checks["rule"] == "dose.aza_above_2_5"]
    assert len(row) == 1 and row["value"].iloc[0] == pytest.approx(200 / 69.85)
    assert not (checks["rule"] == "dose.aza_above_3").any()
