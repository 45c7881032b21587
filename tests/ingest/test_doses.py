"""Doses and patients: frequencies, amounts, change logs, phenotypes."""

import math

import pandas as pd
import pytest

from dashboard.ingest.doses import parse_amount, parse_frequency, parse_phenotype, parse_sex, strength_in_text


@pytest.mark.parametrize(
    ("text", "canonical", "per_day"),
    [
        ("daily", "daily", 1),
        ("OD", "daily", 1),
        ("once daily", "daily", 1),
        ("1 /d", "daily", 1),
        ("BID", "BID", 2),
        ("bd", "BID", 2),
        ("twice daily", "BID", 2),
        ("q12h", "BID", 2),
        ("TDS", "TID", 3),
        ("QID", "QID", 4),
        ("weekly", "weekly", 1 / 7),
        ("once weekly", "weekly", 1 / 7),
        ("qWeek", "weekly", 1 / 7),
        ("1x/week", "weekly", 1 / 7),
        ("every 2 weeks", "every 2 weeks", 1 / 14),
        ("q2w", "every 2 weeks", 1 / 14),
        ("fortnightly", "every 2 weeks", 1 / 14),
        ("every 4 weeks", "every 4 weeks", 1 / 28),
        ("q4w", "every 4 weeks", 1 / 28),
        ("every 14 days", "every 2 weeks", 1 / 14),
        ("monthly", "monthly", 12 / 365.25),
        ("single", "single", math.nan),
        ("stat", "single", math.nan),
        ("prn", "unknown", math.nan),
        ("taper as directed", "unknown", math.nan),
    ],
)
def test_frequencies(text, canonical, per_day):
    f = parse_frequency(text)
    assert f is not None and f.canonical == canonical
    assert (math.isnan(per_day) and math.isnan(f.per_day)) or f.per_day == pytest.approx(per_day)


@pytest.mark.parametrize("text", ["biweekly", "sometimes", "3x"])
def test_unreadable_frequencies(text):
    assert parse_frequency(text) is None


@pytest.mark.parametrize(
    ("text", "unit", "expected"),
    [
        ("100 mg", "", (100.0, "mg")),
        ("100", "mg", (100.0, "mg")),
        ("1 g", "", (1000.0, "mg")),
        ("1.5g", "", (1500.0, "mg")),
        ("500 mcg", "", (0.5, "mg")),
        ("0.75 g/m2", "", (750.0, "mg/m2")),
        ("10 mg/kg", "", (10.0, "mg/kg")),
        ("2", "tablet", (2.0, "tablet")),
        ("7,5 mg", "", (7.5, "mg")),
    ],
)
def test_amounts(text, unit, expected):
    assert parse_amount(text, unit) == expected


def test_strength_in_product_text():
    assert strength_in_text("Methotrexate 2.5 MG Oral Tablet") == (2.5, "mg")
    assert strength_in_text("Prednisone 20 MG Oral Tablet") == (20.0, "mg")
    assert strength_in_text("Insulin 100 UNT/ML") is None


@pytest.mark.parametrize(
    ("text", "pheno"),
    [
        ("Normal", "normal"),
        ("normal metaboliser", "normal"),
        ("*1/*1", "normal"),
        ("Intermediate metabolizer", "intermediate"),
        ("IM", "intermediate"),
        ("*1/*3A", "intermediate"),
        ("heterozygous", "intermediate"),
        ("possible intermediate", "possible intermediate"),
        ("Poor", "poor"),
        ("*3A/*3C", "poor"),
        ("deficient", "poor"),
        ("not tested", "unknown"),
        ("", "unknown"),
    ],
)
def test_phenotypes(text, pheno):
    assert parse_phenotype(text) == pheno


def test_sexes():
    assert parse_sex("Female") == "F" and parse_sex("w") == "F" and parse_sex("M") == "M" and parse_sex("") == ""
    assert parse_sex("banana") is None


DOSES = """patient_id,drug,dose,dose_unit,frequency,route,start,end
p1,Imuran,50,mg,daily,PO,2024-01-01,2024-02-01
p1,azathioprine,100,mg,daily,oral,2024-02-01,
p2,Methotrexate,15,mg,weekly,SC,2024-03-01,
p2,CellCept,1,g,BID,,2024-03-01,2024-06-01
p3,Cytoxan,500,mg,every 2 weeks,IV,2024-01-10,2024-03-20
p3,Heparin,5000,units,BID,SC,2024-01-10,
p3,Prednisone,20,mg,daily,,2024-05-01,2024-04-01
"""


def test_dose_intervals(imp):
    r = imp(DOSES, "doses.csv")
    f = r.report.files[0]
    assert f.kind == "doses"
    assert (f.rows_read, f.rows_accepted, f.rows_rejected) == (7, 5, 2)
    d = r.doses_df().set_index(["patient_id", "drug", "start"])
    aza = d.loc[("p1", "azathioprine", pd.Timestamp("2024-02-01"))]
    assert aza["mg_per_day"] == 100 and pd.isna(aza["end"]) and aza["route"] == "oral"
    mtx = d.loc[("p2", "methotrexate", pd.Timestamp("2024-03-01"))]
    assert mtx["frequency"] == "weekly" and mtx["mg_per_week"] == 15 and mtx["mg_per_day"] == pytest.approx(15 / 7)
    mmf = d.loc[("p2", "mycophenolate mofetil", pd.Timestamp("2024-03-01"))]
    assert mmf["dose"] == 1000 and mmf["mg_per_day"] == 2000
    cyc = d.loc[("p3", "cyclophosphamide", pd.Timestamp("2024-01-10"))]
    assert cyc["frequency"] == "every 2 weeks" and cyc["route"] == "iv" and cyc["mg_per_week"] == 250
    reasons = {p.row: p.message for p in f.problems}
    assert "not one of the tracked drugs" in reasons[7]
    assert "before it starts" in reasons[8]


def test_dose_change_log_without_end_column(imp):
    text = "patient,date,medication,dose\np1,2024-01-01,AZA,50 mg daily\np1,2024-02-01,AZA,100 mg daily\np1,2024-04-01,AZA,stop\np1,2024-01-01,HCQ,200 mg BID\n"
    r = imp(text, "log.csv")
    f = r.report.files[0]
    assert f.rows_accepted == 4
    d = r.doses_df()
    aza = d[d["drug"] == "azathioprine"].sort_values("start")
    assert list(aza["mg_per_day"]) == [50, 100]
    assert list(aza["end"].dt.strftime("%Y-%m-%d")) == ["2024-02-01", "2024-04-01"]
    hcq = d[d["drug"] == "hydroxychloroquine"].iloc[0]
    assert hcq["mg_per_day"] == 400 and pd.isna(hcq["end"])
    assert any("until the next change" in w.message for w in f.warnings)


def test_daily_dose_header_and_missing_frequency(imp):
    r = imp("patient,drug,Dose (mg/day),start,end\np1,Prograf,4,2024-01-01,\n")
    d = r.doses_df().iloc[0]
    assert d["drug"] == "tacrolimus" and d["frequency"] == "daily" and d["mg_per_day"] == 4
    r = imp("patient,drug,dose,start,end\np1,Prograf,4 mg,2024-01-01,\n")
    d = r.doses_df().iloc[0]
    assert d["frequency"] == "unknown" and math.isnan(d["mg_per_day"])
    assert any("no frequency" in w.message for w in r.report.files[0].warnings)


def test_tablets_times_strength(imp):
    r = imp("patient,drug,dose,dose unit,frequency,start\np1,Prednisone 5 mg tablet,2,tablet,daily,2024-01-01\n")
    assert r.doses_df().iloc[0]["mg_per_day"] == 10


PATIENTS = """patient_id,sex,date of birth,Weight (lb),TPMT,NUDT15,diagnosis
p1,Female,1990-04-02,154,Intermediate metaboliser,normal,SLE with lupus nephritis
p2,M,1975-11-30,200,*1/*1,,RA
p3,zzz,1960-01-01,150,,,SLE
"""


def test_patients(imp):
    r = imp(PATIENTS, "patients.csv")
    f = r.report.files[0]
    assert f.kind == "patients" and f.rows_accepted == 3
    p = r.patients_df().set_index("patient_id")
    assert p.loc["p1", "sex"] == "F" and p.loc["p1", "tpmt"] == "intermediate" and p.loc["p1", "nudt15"] == "normal"
    assert p.loc["p1", "weight_kg"] == pytest.approx(69.85, abs=0.01)
    assert p.loc["p2", "tpmt"] == "normal" and p.loc["p2", "nudt15"] == "unknown"
    assert p.loc["p3", "sex"] == ""
    assert any("sex 'zzz'" in w.message for w in f.warnings)


def test_patients_merge_across_files_and_include_lab_only_patients():
    from dashboard.ingest import ImportOptions, Source, import_sources
    from tests.support import TODAY, assert_balanced

    pat = "patient_id,sex,weight_kg\np1,F,60\n"
    pat2 = "patient_id,sex,weight_kg\np1,F,60\np1,F,62\n"
    labs = "id,date,test,value,unit\np1,2024-01-02,WBC,4,10^9/L\np9,2024-01-02,WBC,5,10^9/L\n"
    r = import_sources(
        [Source("a.csv", pat.encode()), Source("b.csv", pat2.encode()), Source("labs.csv", labs.encode())],
        ImportOptions(today=TODAY),
    )
    assert_balanced(r)
    p = r.patients_df().set_index("patient_id")
    assert set(p.index) == {"p1", "p9"}
    assert p.loc["p1", "weight_kg"] == 62
    b = r.report.files[1]
    assert b.duplicates == 1 and any("different details" in w.message for w in b.warnings)
