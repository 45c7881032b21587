"""Doses: intervals, change logs, repeat issues, tablets and instructions in dose files."""

import math

import pandas as pd
import pytest

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


@pytest.mark.parametrize(
    ("dose", "said"),
    [
        # one amount and a multiplier (probe 15 F9): two tablets of 500 mg, or 500 mg twice?
        ("2 x 500 mg", "'2 x 500 mg' multiplies an amount by a number"),
        ("2.5mg x 6", "'2.5mg x 6' multiplies an amount by a number: so many tablets of that strength, or that"),
        ("2.5mg x 6 tabs (15mg)", "do not agree"),
        ("500 mg in the morning and 1 g at night", "do not agree"),
        ("500mg/250mg", "names two amounts with a '/' between them"),
    ],
)
def test_dose_column_with_disagreeing_amounts_is_rejected(imp, dose, said):
    r = imp(f'patient,drug,dose,frequency,start\np1,Mycophenolate mofetil,"{dose}",BID,2024-01-01\n')
    f = r.report.files[0]
    assert r.doses.num_rows == 0 and said in f.problems[0].message


AMBIGUOUS_NAMES = """patient_id,drug,dose,dose_unit,frequency,start
p1,Mycophenolate,720,mg,BID,2024-01-01
p2,MPA,500,mg,daily,2024-01-01
p3,Pred Forte 1% eye drops,1,drop,QID,2024-01-01
p4,Mycophenolate mofetil,1000,mg,BID,2024-01-01
p5,Mycophenolate sodium,720,mg,BID,2024-01-01
p6,Mycophenolate (Myfortic),360,mg,BID,2024-01-01
p7,Mycophenolate mofetil / mycophenolic acid,500,mg,BID,2024-01-01
"""


def test_a_drug_name_that_could_mean_two_things_is_rejected_with_the_reason(imp):
    # Never guess a drug: bare "mycophenolate" is mofetil (CellCept) or the sodium salt
    # (Myfortic, 720 mg ~ 1 g of mofetil); "MPA" is also medroxyprogesterone acetate;
    # Pred Forte is prednisolone eye drops, not a systemic glucocorticoid dose.
    r = imp(AMBIGUOUS_NAMES, "doses.csv")
    f = r.report.files[0]
    assert (f.rows_read, f.rows_accepted, f.rows_rejected) == (7, 3, 4)
    reasons = {p.row: p.message for p in f.problems}
    assert "mofetil" in reasons[2] and "sodium" in reasons[2]
    assert "medroxyprogesterone" in reasons[3]
    assert "eye drops" in reasons[4]
    assert "more than one tracked drug" in reasons[8]
    drugs = dict(zip(r.doses_df()["patient_id"], r.doses_df()["drug"], strict=True))
    assert drugs == {"p4": "mycophenolate mofetil", "p5": "mycophenolic acid", "p6": "mycophenolic acid"}


UNIT_CLASH = """patient_id,drug,dose,dose_unit,frequency,start
p1,Tacrolimus,1 mg,mcg,BD,2024-01-01
p2,Methotrexate,15 mg,g,weekly,2024-01-01
p3,Azathioprine,2 mg/kg,mg,daily,2024-01-01
p4,Methotrexate,15 mg,mg,weekly,2024-01-01
p5,Tacrolimus,1000 mcg,mcg,BD,2024-01-01
p6,CellCept,1 g,G,BD,2024-01-01
p7,Tacrolimus,500 micrograms,mcg,BD,2024-01-01
"""


def test_a_dose_whose_unit_contradicts_the_unit_column_is_rejected(imp):
    # "1 mg" with a unit column saying mcg: 1 mg or 1 mcg (a 1000-fold difference)?
    r = imp(UNIT_CLASH, "doses.csv")
    f = r.report.files[0]
    assert (f.rows_read, f.rows_accepted, f.rows_rejected) == (7, 4, 3)
    reasons = {p.row: p.message for p in f.problems}
    assert set(reasons) == {2, 3, 4}
    assert "'mcg'" in reasons[2] and "1 mg" in reasons[2]
    assert "'g'" in reasons[3]
    assert "'mg'" in reasons[4] and "mg/kg" in reasons[4]
    d = r.doses_df().set_index("patient_id")
    assert d.loc["p4", "dose"] == 15 and d.loc["p4", "dose_unit"] == "mg"
    assert d.loc["p5", "dose"] == 1 and d.loc["p5", "dose_unit"] == "mg"  # 1000 mcg = 1 mg
    assert d.loc["p6", "dose"] == 1000  # 1 g = 1000 mg
    assert d.loc["p7", "dose"] == 0.5  # 500 micrograms = 0.5 mg


FREQ_CLASH = """patient_id,drug,dose,dose_unit,frequency,start
p1,Methotrexate,15 mg weekly,,daily,2024-01-01
p2,Methotrexate,15 mg once weekly,,weekly,2024-01-01
p3,Azathioprine,50 mg twice daily,,BD,2024-01-01
p4,Azathioprine,50 mg daily,,BD,2024-01-01
"""


def test_a_dose_text_whose_frequency_contradicts_the_frequency_column_is_rejected(imp):
    # methotrexate "15 mg weekly" with a frequency column saying daily: 15 or 105 mg a week
    r = imp(FREQ_CLASH, "doses.csv")
    f = r.report.files[0]
    assert (f.rows_read, f.rows_accepted, f.rows_rejected) == (4, 2, 2)
    reasons = {p.row: p.message for p in f.problems}
    assert set(reasons) == {2, 5}
    assert "weekly" in reasons[2] and "daily" in reasons[2]
    d = r.doses_df().set_index("patient_id")
    assert d.loc["p2", "mg_per_week"] == 15
    assert d.loc["p3", "mg_per_day"] == 100


def test_an_amount_per_day_or_per_week_is_read_with_its_period(imp):
    # "15 mg/week" states the week's total: weekly, 15 mg/week; "150 mg/day": daily, 150 mg/day
    text = (
        "patient_id,drug,dose,frequency,start\n"
        "P1,Methotrexate,15 mg/week,,2024-01-01\n"
        "P2,Azathioprine,150 mg/day,,2024-01-01\n"
        "P3,Methotrexate,15 mg per week,,2024-01-01\n"
        "P4,Methotrexate,15 mg/week,daily,2024-01-01\n"
    )
    r = imp(text, "doses.csv")
    f = r.report.files[0]
    assert (f.rows_read, f.rows_accepted, f.rows_rejected) == (4, 3, 1)
    d = r.doses_df().set_index("patient_id")
    assert d.loc["P1", "frequency"] == "weekly" and d.loc["P1", "mg_per_week"] == 15
    assert d.loc["P1", "mg_per_day"] == pytest.approx(15 / 7)
    assert d.loc["P2", "frequency"] == "daily" and d.loc["P2", "mg_per_day"] == 150
    assert d.loc["P3", "frequency"] == "weekly" and d.loc["P3", "mg_per_week"] == 15
    # the text says per week, the column says daily: neither is picked
    reason = {p.row: p.message for p in f.problems}[5]
    assert "weekly" in reason and "daily" in reason
