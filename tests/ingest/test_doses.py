"""Doses and patients: frequencies, amounts, change logs, phenotypes."""

import math

import pandas as pd
import pytest

from dashboard.ingest.doses import (
    Sig,
    parse_amount,
    parse_frequency,
    parse_phenotype,
    parse_sex,
    read_sig,
    strength_in_text,
)


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


def test_repeat_issues_of_an_unchanged_dose_are_not_dose_changes(imp):
    # a GP system lists every re-prescription; only the real change (100 -> 150) is a change
    text = (
        "patient,date,drug,dosage\n"
        "p1,2024-01-01,Azathioprine 50mg tablets,TWO tablets daily\n"
        "p1,2024-01-29,Azathioprine 50mg tablets,TWO tablets daily\n"
        "p1,2024-02-26,Azathioprine 50mg tablets,TWO tablets daily\n"
        "p1,2024-03-25,Azathioprine 50mg tablets,THREE tablets daily\n"
    )
    r = imp(text, "issues.csv")
    f = r.report.files[0]
    assert (f.rows_read, f.rows_accepted) == (4, 4)  # every issue accounted for
    d = r.doses_df().sort_values("start")
    assert list(d["mg_per_day"]) == [100, 150]
    assert [str(x)[:10] for x in d["start"]] == ["2024-01-01", "2024-03-25"]
    assert str(d["end"].iloc[0])[:10] == "2024-03-25" and pd.isna(d["end"].iloc[1])
    assert any("2 repeat issue(s) of an unchanged dose joined" in w.message for w in f.warnings)


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


@pytest.mark.parametrize(
    ("text", "strength", "expected"),
    [
        ("Take 2 tablets (100 mg total) by mouth daily.", 50, Sig("100 mg", "daily")),
        ("Take 1000 mg by mouth 2 (two) times daily.", None, Sig("1000 mg", "BID")),
        ("TAKE 1 TABLET BY MOUTH TWICE DAILY", None, Sig("1 tablet", "BID")),
        ("Take ONE tablet TWICE a day", None, Sig("1 tablet", "BID")),
        ("Take 1 capsule (0.5 mg total) every 12 (twelve) hours", None, Sig("0.5 mg", "BID")),
        ("Inject 0.6 mL (15 mg total) under the skin once a week on Fridays", None, Sig("15 mg", "weekly")),
        ("Take 3 tablets every Monday", None, Sig("3 tablet", "weekly")),
        ("Take 1/2 tablet by mouth every other day", None, Sig("0.5 tablet", "every 2 days")),
        ("1 g bd", None, Sig("1000 mg", "BID")),
        ("Take 150 mg by mouth every morning.", None, Sig("150 mg", "daily")),
        ("1 tablet (50 mg) daily", 50, Sig("50 mg", "daily")),  # count and mass agree
        # amounts that disagree are never resolved by picking one
        ("2.5mg x 6 tabs weekly (15mg)", 2.5, Sig("", "weekly", conflicting=True)),
        ("500mg in the morning and 1g at night", None, Sig("", "daily", conflicting=True)),
        ("Take 2 tablets in the morning and 1 tablet at night", None, Sig("", "daily", conflicting=True)),
        ("1 tablet (50 mg) daily", None, Sig("", "daily", conflicting=True)),  # strength unknown
        ("2 x 500 mg bd", None, Sig("", "BID", conflicting=True)),
        # a schedule the model has no word for is not read as weekly
        ("Take 2 tablets by mouth twice weekly", None, Sig("2 tablet", "")),
        ("Take 40 mg daily then taper as directed", None, Sig("40 mg", "prn")),
    ],
)
def test_prescription_instructions(text, strength, expected):
    assert read_sig(text, strength) == expected


EHR_MEDICATIONS = """MRN,Medication,Sig,Start Date,End Date,Status
00012345,azathioprine (IMURAN) 50 MG tablet,Take 2 tablets (100 mg total) by mouth daily.,01/15/2026,,Active
00012345,methotrexate 2.5 MG tablet,Take 6 tablets (15 mg total) by mouth once a week. Take on Mondays.,02/01/2025,01/10/2026,Discontinued
00012345,mycophenolate (CELLCEPT) 500 MG tablet,Take 1000 mg by mouth 2 (two) times daily.,03/01/2026,,Active
00012345,hydroxychloroquine (PLAQUENIL) 200 MG tablet,TAKE 1 TABLET BY MOUTH TWICE DAILY,03/13/2026,,Active
00012345,methotrexate 2.5 MG tablet,2.5mg x 6 tabs weekly (15mg),01/10/2026,,Active
00012345,azathioprine 50 MG tablet,Take 2 tablets by mouth twice weekly,03/13/2026,,Active
"""


def test_ehr_medication_list_with_instructions_only(imp):
    r = imp(EHR_MEDICATIONS, "medications.csv")
    f = r.report.files[0]
    assert (f.rows_read, f.rows_accepted, f.rows_rejected) == (6, 4, 2)
    d = r.doses_df().set_index("drug")
    assert d.loc["azathioprine", "mg_per_day"] == 100 and d.loc["azathioprine", "route"] == "oral"
    assert d.loc["methotrexate", "mg_per_week"] == 15 and d.loc["methotrexate", "frequency"] == "weekly"
    assert d.loc["mycophenolate mofetil", "mg_per_day"] == 2000
    assert d.loc["hydroxychloroquine", "mg_per_day"] == 400  # 1 tablet of 200 mg, twice a day
    reasons = {p.row: p.message for p in f.problems}
    assert "amounts that do not agree" in reasons[6]
    assert "frequency not understood" in reasons[7]
    assert any("free-text instructions" in w.message for w in f.warnings)


@pytest.mark.parametrize(
    ("dose", "frequency", "mg_per_day"),
    [
        ("2 tablets", "daily", 100),  # tablets times the 50 mg strength, never "2 mg"
        ("Take 2 tablets (100 mg total) by mouth daily", "", 100),
        ("1 tab", "BID", 100),
        ("100 mg daily", "", 100),
        ("150", "daily", 150),
        ("1,5 g", "daily", 1500),
    ],
)
def test_dose_column_amounts_and_instructions(imp, dose, frequency, mg_per_day):
    r = imp(f'patient,drug,dose,frequency,start\np1,Azathioprine 50 mg tablet,"{dose}",{frequency},2024-01-01\n')
    assert r.doses_df().iloc[0]["mg_per_day"] == mg_per_day


@pytest.mark.parametrize("dose", ["2 x 500 mg", "2.5mg x 6 tabs (15mg)", "500 mg in the morning and 1 g at night"])
def test_dose_column_with_disagreeing_amounts_is_rejected(imp, dose):
    r = imp(f'patient,drug,dose,frequency,start\np1,Mycophenolate,"{dose}",BID,2024-01-01\n')
    f = r.report.files[0]
    assert r.doses.num_rows == 0 and "do not agree" in f.problems[0].message


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
