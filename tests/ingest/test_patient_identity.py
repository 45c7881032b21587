"""Identity travels from every export that has it into the patients table, and one MRN
with two names or dates of birth is reported as an identity conflict (never picked)."""

from pathlib import Path

import pandas as pd

from dashboard.ingest import ImportOptions, Source, import_paths, import_sources
from tests.support import TODAY, assert_balanced

EPIC_LABS = b"""MRN,Patient Name,DOB,Sex,Collection Date,Component,Result,Units,Reference Range
10023456,"DOE, JANE",12/03/1980,F,25/11/2024,WBC,3.1,K/uL,4.0-11.0
10023456,"DOE, JANE",12/03/1980,F,25/11/2024,PLT,140,K/uL,150-400
20000001,"SMITH, JOHN",01/02/1975,M,25/11/2024,WBC,5.0,K/uL,4.0-11.0
"""


def imp(*files: tuple[str, bytes]):
    result = import_sources([Source(n, d) for n, d in files], ImportOptions(today=TODAY))
    assert_balanced(result)
    return result


def patients(result) -> pd.DataFrame:
    return result.patients_df().set_index("patient_id")


def test_an_epic_lab_export_carries_name_dob_and_sex():
    result = imp(("labs.csv", EPIC_LABS))
    rep = result.report.files[0]
    assert (rep.rows_read, rep.rows_accepted) == (3, 3)  # the identity columns add no rows
    assert rep.mapping["name"] == "Patient Name" and rep.mapping["birth_date"] == "DOB"
    p = patients(result)
    # 25/11/2024 settles day-first for the file, so 12/03/1980 is 12 March
    assert p.loc["10023456", "name"] == "DOE, JANE"
    assert p.loc["10023456", "birth_date"] == pd.Timestamp("1980-03-12")
    assert p.loc["10023456", "sex"] == "F"
    assert p.loc["20000001", "birth_date"] == pd.Timestamp("1975-02-01")
    assert not result.report.identity_conflicts


def test_a_patients_file_with_first_and_last_names():
    result = imp(("patients.csv", b"MRN,First Name,Last Name,Date of birth\n10023456,Jane,Doe,1980-03-12\n"))
    assert patients(result).loc["10023456", "name"] == "DOE, Jane"


def test_a_patients_file_with_a_full_name_column():
    result = imp(("patients.csv", b"patient_id,patient name,sex\n10023456,Jane Doe,F\n"))
    assert patients(result).loc["10023456", "name"] == "Jane Doe"


def test_the_test_name_column_of_a_lab_file_is_never_the_patient_name():
    result = imp(("labs.csv", b"MRN,Date,Name,Value,Unit\n1,2024-11-25,WBC,3.1,10^9/L\n"))
    assert result.labs_df()["analyte"].tolist() == ["wbc"]
    assert patients(result).loc["1", "name"] == ""


def test_the_same_patient_named_the_same_way_in_two_files_is_no_conflict():
    pats = b"patient_id,first name,last name,date of birth\n10023456,Jane,Doe,1980-03-12\n"
    result = imp(("labs.csv", EPIC_LABS), ("patients.csv", pats))
    assert not result.report.identity_conflicts
    assert patients(result).loc["10023456", "name"] == "DOE, Jane"  # the patients file's, in NHS layout


def test_one_mrn_with_two_names_across_files_is_an_identity_conflict():
    pats = b"patient_id,first name,last name,date of birth\n20000001,Joan,Smith,1975-02-01\n"
    result = imp(("labs.csv", EPIC_LABS), ("patients.csv", pats))
    [c] = result.report.identity_conflicts
    assert (c.patient_id, c.field) == ("20000001", "name")
    assert {v for v, _, _ in c.values} == {"SMITH, Joan", "SMITH, JOHN"}
    assert {f for _, f, _ in c.values} == {"labs.csv", "patients.csv"}
    lab_file = next(f for f in result.report.files if f.path == "labs.csv")
    assert any(w.message.startswith("identity conflict: patient 20000001 has two names") for w in lab_file.warnings)
    assert "IDENTITY CONFLICT: patient 20000001 has two names" in result.report.to_text()
    assert result.report.to_dict()["identity_conflicts"][0]["patient_id"] == "20000001"
    assert patients(result).loc["20000001", "name"] == "SMITH, Joan"  # the first kept, never blended


def test_one_mrn_with_two_dates_of_birth_in_one_file_is_an_identity_conflict():
    labs = EPIC_LABS + b'10023456,"DOE, JANE",21/03/1980,F,26/11/2024,WBC,3.3,K/uL,4.0-11.0\n'
    result = imp(("labs.csv", labs))
    [c] = result.report.identity_conflicts
    assert (c.patient_id, c.field) == ("10023456", "birth_date")
    assert [v for v, _, _ in c.values] == ["1980-03-12", "1980-03-21"]
    assert [r for _, _, r in c.values] == [2, 5]


def test_two_patient_files_disagreeing_on_a_date_of_birth():
    a = b"patient_id,patient name,dob\nP1,x,1980-03-12\n"
    b = b"patient_id,patient name,dob\nP1,x,1980-12-03\n"
    result = imp(("a.csv", a), ("b.csv", b))
    [c] = result.report.identity_conflicts
    assert c.field == "birth_date" and [v for v, _, _ in c.values] == ["1980-03-12", "1980-12-03"]


def test_synthea_patients_carry_first_and_last_names(fixtures: Path):
    result = import_paths([fixtures / "synthea" / "patients.csv"], ImportOptions(today=TODAY))
    p = patients(result)
    assert p.loc["593aaa05-d864-1df7-5b96-155fbdb19f28", "name"] == "VELA532, Jorge Luis88"
    assert (p["name"] != "").all()


def test_a_fhir_patient_gives_its_official_name(fixtures: Path):
    result = import_paths(
        [fixtures / "synthea" / "Victoria535_Rubio813_subset_bundle.json"], ImportOptions(today=TODAY)
    )
    p = patients(result).loc["4815fd50-0b7b-8169-4b1f-96ba08a299cc"]
    assert p["name"] == "RUBIO813, Victoria535"  # the official name, not the maiden one
    assert p["birth_date"] == pd.Timestamp("1973-07-10") and p["sex"] == "F"


def test_a_fhir_patient_name_in_text_only():
    bundle = b"""{"resourceType": "Patient", "id": "p1", "name": [{"text": "Jane Doe"}], "birthDate": "1980-03-12"}"""
    result = imp(("p.json", bundle))
    assert patients(result).loc["p1", "name"] == "Jane Doe"


def test_mimic_patients_carry_dob_and_sex_but_no_name(fixtures: Path):
    result = import_paths([fixtures / "mimic3" / "PATIENTS_immunosuppressed.csv"], ImportOptions(today=TODAY))
    p = patients(result)
    # 10094's DOB is written in full; 10017's "9/21/75" has a two-digit year, which a
    # MIMIC date's shift leaves unknown (H182)
    assert p.loc["10094", "sex"] == "M" and p.loc["10094", "birth_date"] == pd.Timestamp("1880-02-29")
    assert p.loc["10017", "sex"] == "F" and pd.isna(p.loc["10017", "birth_date"])
    assert (p["name"] == "").all()  # MIMIC is de-identified: no names to carry


def test_the_sample_panel_names_every_patient_alike_in_every_format(root: Path):
    """The synthetic sample gives each patient a made-up name in its CSV, workbook and FHIR
    bundle, written three ways ("EVANS" + "Hannah", "Hannah Evans", family "Evans"): one
    name each, never an identity conflict."""
    files = [root / "sample_data" / n for n in ("patients.csv", "clinic_workbook.xlsx", "fhir_bundle.json")]
    result = import_paths(files, ImportOptions(today=TODAY))
    assert not result.report.identity_conflicts
    p = patients(result)
    assert (p["name"] != "").all() and p["name"].str.match(r"^[A-Z]+, [A-Z][a-z]+$").all()
