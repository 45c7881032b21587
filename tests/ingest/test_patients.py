"""Patients: sex, phenotypes, weights and the patients table across files."""

import pytest

from dashboard.ingest.patients import parse_phenotype, parse_sex


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
