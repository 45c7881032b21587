"""Patient ids that display as another id (issue 16, item 4; hazard H21).

The attack: ``\\u202e100-AR`` (a right-to-left override, then "100-AR") is shown as
"RA-001" beside the real RA-001, with a neutrophil count of 0.3 that is not hers.
"""

from __future__ import annotations

import pytest

from dashboard.ingest.identity import clean_id, describe, id_problem, lookalike_groups, skeleton
from tests.support import assert_balanced, import_text

HEAD = "patient_id,collected_at,test,value,unit\n"


@pytest.mark.parametrize(
    ("pid", "words"),
    [
        ("\u202e100-AR", "RIGHT-TO-LEFT OVERRIDE (U+202E)"),
        ("RA-001\u200f", "RIGHT-TO-LEFT MARK (U+200F)"),
        ("\u2066RA-001\u2069", "LEFT-TO-RIGHT ISOLATE (U+2066)"),
        ("RA-\u200b001", "ZERO WIDTH SPACE (U+200B)"),
        ("RA-0\u200d01", "ZERO WIDTH JOINER (U+200D)"),
        ("RA\u00ad-001", "SOFT HYPHEN (U+00AD)"),
        ("RA-\u2060001", "WORD JOINER (U+2060)"),
        ("RA\ufeff-001", "ZERO WIDTH NO-BREAK SPACE (U+FEFF)"),
        ("RA\x1b001", "ESCAPE (U+001B)"),
        ("RA\x00001", "NUL (U+0000)"),
        ("RA\u00a0001", "NO-BREAK SPACE (U+00A0)"),
        ("RA\u3164001", "HANGUL FILLER (U+3164)"),
        ("RA-001\ufe0f", "VARIATION SELECTOR-16 (U+FE0F)"),
    ],
)
def test_ids_with_characters_that_hide_or_disguise_are_rejected_naming_them(pid, words):
    problem = id_problem(pid)
    assert words in problem and "patient id" in problem


@pytest.mark.parametrize("pid", ["RA-001", "0012", "Müller-1", "RA 001", "李-7", "P1"])
def test_ordinary_ids_pass(pid):
    assert id_problem(pid) == ""


def test_spaces_around_an_id_are_removed_and_said():
    assert clean_id("RA-003\u00a0") == (
        "RA-003",
        "",
        "spaces such as a non-breaking space around patient id 'RA-003' removed",
    )
    assert clean_id("\u2009RA-003") == ("RA-003", "", clean_id("RA-003\u00a0")[2])
    assert clean_id("RA-003") == ("RA-003", "", "")


def test_lookalike_ids_are_grouped():
    ids = ["RA-001", "R\u0410-001", "ra-001", "RA\u2013001", "RA-002", "\uff32\uff21-001", "RA-0001"]
    assert lookalike_groups(ids) == [sorted(["RA-001", "R\u0410-001", "ra-001", "RA\u2013001", "\uff32\uff21-001"])]
    assert skeleton("RA-0001") != skeleton("RA-001")  # leading zeros are H7's business
    assert describe("R\u0410-001") == "R\u0410-001 (\u0410 is CYRILLIC CAPITAL LETTER A)"


def test_the_attack_the_bidi_id_is_rejected_and_the_real_patient_kept():
    text = HEAD + "RA-001,2024-03-05,Neutrophils,1.9,10^9/L\n\u202e100-AR,2024-03-05,Neutrophils,0.3,10^9/L\n"
    result = import_text(text)
    assert_balanced(result)
    f = result.report.files[0]
    assert (f.rows_accepted, f.rows_rejected) == (1, 1)
    assert result.labs.column("patient_id").to_pylist() == ["RA-001"]
    assert result.labs.column("value").to_pylist() == [1.9]
    assert "right-to-left" in f.problems[0].message and f.problems[0].row == 3


def test_lookalike_ids_across_files_are_named_together():
    labs = HEAD + "RA-001,2024-03-05,WBC,4.5,10^9/L\n"
    doses = "patient_id,drug,dose,unit,frequency,start\nR\u0410-001,Azathioprine,100,mg,daily,2024-01-01\n"
    from dashboard.ingest import ImportOptions, Source, import_sources
    from tests.support import TODAY

    result = import_sources(
        [Source("labs.csv", labs.encode()), Source("doses.csv", doses.encode())], ImportOptions(today=TODAY)
    )
    assert_balanced(result)
    notes = [w.message for f in result.report.files for w in f.warnings if "look alike" in w.message]
    assert len(notes) == 1
    assert "RA-001 in labs.csv" in notes[0] and "CYRILLIC CAPITAL LETTER A) in doses.csv" in notes[0]


def test_dose_and_patient_rows_are_judged_the_same_way():
    doses = (
        "patient_id,drug,dose,unit,frequency,start\n"
        "\u202e100-AR,Azathioprine,100,mg,daily,2024-01-01\n"
        "RA-002\u00a0,Azathioprine,100,mg,daily,2024-01-01\n"
    )
    result = import_text(doses, "doses.csv")
    assert_balanced(result)
    f = result.report.files[0]
    assert (f.rows_accepted, f.rows_rejected) == (1, 1)
    assert result.doses.column("patient_id").to_pylist() == ["RA-002"]
    assert any("non-breaking space" in w.message for w in f.warnings)
    patients = "patient_id,sex,dob\nRA-\u200b003,F,1980-01-01\nRA-004,F,1980-01-01\n"
    result = import_text(patients, "patients.csv")
    f = result.report.files[0]
    assert (f.rows_accepted, f.rows_rejected) == (1, 1) and "ZERO WIDTH SPACE" in f.problems[0].message


def test_the_sample_panel_raises_no_identity_notes():
    from dashboard.ingest import ImportOptions, Source, import_sources
    from dashboard.sample import default_files
    from tests.support import ROOT

    files = default_files(ROOT / "sample_data")
    result = import_sources([Source(p.name, p.read_bytes()) for p in files], ImportOptions())
    texts = [w.message for f in result.report.files for w in f.warnings]
    assert not [t for t in texts if "look alike" in t or "alphabets" in t or "non-breaking" in t]


def test_ids_that_differ_only_by_spaces_or_dashes_are_named_together():
    # an NHS number is written 943 476 5919, 943-476-5919 or 9434765919 by different
    # systems: the same patient's results would sit under three patients without a word
    nhs = ["943 476 5919", "9434765919", "943-476-5919", "943 476 5918"]
    assert lookalike_groups(nhs) == [sorted(nhs[:3])]
    assert lookalike_groups(["RA 001", "RA001", "RA-002"]) == [["RA 001", "RA001"]]


def test_a_whole_number_id_written_as_a_decimal_by_a_spreadsheet_is_named_with_it():
    # Excel writes the number 12345 as "12345.0" when a column of ids was typed as numbers
    assert lookalike_groups(["12345.0", "12345", "12346"]) == [["12345", "12345.0"]]
    assert lookalike_groups(["7.00", "7"]) == [["7", "7.00"]]
    assert lookalike_groups(["12345.5", "12345"]) == []  # not a whole number: another id
    assert lookalike_groups(["RA.0", "RA"]) == []  # only numbers get a decimal part from a spreadsheet


def test_nhs_numbers_written_with_spaces_are_named_in_the_report():
    text = HEAD + "943 476 5919,2024-03-05,WBC,4.5,10^9/L\n9434765919,2024-03-06,WBC,4.6,10^9/L\n"
    result = import_text(text)
    assert_balanced(result)
    notes = [w.message for w in result.report.files[0].warnings if "look alike" in w.message]
    assert len(notes) == 1 and "943 476 5919" in notes[0] and "9434765919" in notes[0]
    assert "spaces" in notes[0]
    assert sorted(set(result.labs.column("patient_id").to_pylist())) == ["943 476 5919", "9434765919"]  # kept apart


def test_a_patient_id_longer_than_any_id_system_writes_is_rejected():
    # a cell of pasted text (or a corrupted export) in the id column is not a patient;
    # the longest ids the readers meet are FHIR ids (64 characters at most) and UUIDs (36)
    fhir_longest = "A" * 64
    text = HEAD + f"{fhir_longest},2024-03-05,WBC,4.5,10^9/L\n" + "P" + "x" * 5000 + ",2024-03-05,WBC,4.6,10^9/L\n"
    result = import_text(text)
    assert_balanced(result)
    f = result.report.files[0]
    assert (f.rows_accepted, f.rows_rejected) == (1, 1)
    assert result.labs.column("patient_id").to_pylist() == [fhir_longest]
    assert f.problems[0].row == 3 and "5001 characters" in f.problems[0].message
    doses = "patient_id,drug,dose,unit,frequency,start\n" + "D" * 300 + ",Azathioprine,100,mg,daily,2024-01-01\n"
    r = import_text(doses, "doses.csv")
    assert_balanced(r)
    assert r.report.files[0].rows_rejected == 1 and "300 characters" in r.report.files[0].problems[0].message


@pytest.mark.parametrize("pid", ["#REF!", "#N/A", "#VALUE!", "#DIV/0!", "#NAME?", "#NULL!", "#NUM!", " #REF! "])
def test_a_spreadsheet_error_value_is_not_a_patient_id(pid):
    # a lookup that failed in the export (=VLOOKUP(...) -> #N/A) names no patient: two
    # such rows of different patients would otherwise be one patient "#N/A"
    problem = id_problem(pid.strip())
    assert "spreadsheet error" in problem and "patient id" in problem


def test_rows_whose_patient_id_is_a_spreadsheet_error_are_rejected_in_labs_doses_and_patients():
    labs = "MRN,Date,Test,Result,Units\n#REF!,2026-10-01,Platelets,130,10^9/L\n10001,2026-10-01,Platelets,131,10^9/L\n"
    result = import_text(labs, "labs.csv")
    assert_balanced(result)
    assert result.labs.column("patient_id").to_pylist() == ["10001"]
    assert "spreadsheet error" in result.report.files[0].problems[0].message
    doses = "patient_id,drug,dose,unit,frequency,start\n#N/A,Azathioprine,100,mg,daily,2024-01-01\n"
    result = import_text(doses, "doses.csv")
    assert result.report.files[0].rows_rejected == 1 and result.doses.num_rows == 0
    patients = "patient_id,sex,dob\n#N/A,F,1980-01-01\n"
    result = import_text(patients, "patients.csv")
    assert result.report.files[0].rows_rejected == 1


def test_a_spreadsheet_boolean_is_not_a_patient_id_in_a_workbook_or_a_text_file():
    """Probe 15 F10: a TRUE cell in the MRN column of a workbook is read "TRUE"; like a
    spreadsheet error it names no patient (two such rows would be one patient "TRUE").
    The row of 12001 beside it is read; a dose row of "FALSE" is rejected the same way.
    An id that only contains the letters ("TRUE1", "true") is an id like any other."""
    import datetime as dt
    import io

    import openpyxl

    from tests.support import import_bytes

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["MRN", "Collected", "Test", "Result", "Units"])
    ws.append([True, dt.date(2026, 3, 2), "WBC", 3.1, "10^9/L"])
    ws.append(["12001", dt.date(2026, 3, 2), "WBC", 3.2, "10^9/L"])
    buf = io.BytesIO()
    wb.save(buf)
    result = import_bytes(buf.getvalue(), "labs.xlsx")
    assert_balanced(result)
    assert result.labs.column("patient_id").to_pylist() == ["12001"]
    (p,) = result.report.files[0].problems
    assert p.row == 2 and p.message.startswith("the patient id is the spreadsheet value TRUE (a yes/no cell)")
    doses = "patient_id,drug,dose,unit,frequency,start\nFALSE,Azathioprine,100,mg,daily,2024-01-01\n"
    result = import_text(doses, "doses.csv")
    assert result.report.files[0].rows_rejected == 1 and result.doses.num_rows == 0
    assert id_problem("TRUE1") == "" and id_problem("true") == ""


def test_a_patient_id_in_scientific_notation_is_rejected():
    # probe 5 F9. 9434765919 and 9434765870 both display as 9.43477E+09 in Excel: the digits
    # that tell the two patients apart are gone, so the id cannot be trusted to name one patient.
    text = (
        "MRN,Collection Date,Component,Result,Units\n"
        "9.43477E+09,2024-03-01,Neutrophils,0.9,10^9/L\n"
        "9434765919,2024-03-02,Neutrophils,1.9,10^9/L\n"
    )
    result = import_text(text)
    assert_balanced(result)
    assert "9.43477E+09" not in set(result.labs_df()["patient_id"])


@pytest.mark.parametrize(
    ("pid", "could_be"),
    [
        # 9.43477 x 10^9 = 9,434,770,000 shown to 6 significant digits: the id lies within
        # half a unit of the last digit shown, +-5,000
        ("9.43477E+09", "from 9434765000 to 9434774999"),
        ("1.23457E+11", "from 123456500000 to 123457499999"),
        ("1.23E+05", "from 122500 to 123499"),
        ("9,43477E+09", "from 9434765000 to 9434774999"),  # a decimal-comma spreadsheet
        ("1E+11", "from 50000000000 to 149999999999"),
    ],
)
def test_an_id_in_exponent_form_is_rejected_saying_the_digits_were_lost(pid, could_be):
    problem = id_problem(pid)
    assert "exponent form" in problem and "dropped its last digits" in problem
    assert could_be in problem and "export the id column as text" in problem


@pytest.mark.parametrize("pid", ["3E4", "12E45", "RA-1E+05", "E+05", "1.0", "9434765919"])
def test_ids_with_an_e_that_no_spreadsheet_wrote_as_an_exponent_pass(pid):
    assert id_problem(pid) == ""


def test_rows_whose_patient_id_is_in_exponent_form_are_rejected_in_labs_doses_and_patients():
    labs = (
        "MRN,Date,Test,Result,Units\n1.23E+05,2026-10-01,Platelets,130,10^9/L\n123000,2026-10-01,Platelets,131,10^9/L\n"
    )
    result = import_text(labs, "labs.csv")
    assert_balanced(result)
    assert result.labs.column("patient_id").to_pylist() == ["123000"]
    assert "exponent form" in result.report.files[0].problems[0].message
    doses = "patient_id,drug,dose,unit,frequency,start\n1.23457E+11,Azathioprine,100,mg,daily,2024-01-01\n"
    result = import_text(doses, "doses.csv")
    assert_balanced(result)
    assert result.report.files[0].rows_rejected == 1 and result.doses.num_rows == 0
    assert "exponent form" in result.report.files[0].problems[0].message
    patients = "patient_id,sex,dob\n9.43477E+09,F,1980-01-01\n"
    result = import_text(patients, "patients.csv")
    assert_balanced(result)
    assert result.report.files[0].rows_rejected == 1
    assert "exponent form" in result.report.files[0].problems[0].message


# --------------------------------------------------------------------------- H140: names that display as another


@pytest.mark.parametrize(
    ("family", "words"),
    [
        ("\u202eHTIMS", "RIGHT-TO-LEFT OVERRIDE (U+202E)"),  # displays as "nhoJ ,SMITH"
        ("SMITH\u200b", "ZERO WIDTH SPACE (U+200B)"),  # reads "SMITH, John"
        ("SMI\u00adTH", "SOFT HYPHEN (U+00AD)"),
        ("SMITH\x1b", "ESCAPE (U+001B)"),
    ],
)
def test_a_name_that_hides_or_disguises_is_left_out_with_the_character_named(family, words):
    patients = f"patient_id,family_name,given_name,sex,birth_date\nR1,{family},John,M,1970-01-01\n"
    result = import_text(patients, "patients.csv")
    assert_balanced(result)
    f = result.report.files[0]
    assert (f.rows_accepted, f.rows_rejected) == (1, 0)  # the patient is kept under the id
    assert result.patients.column("name").to_pylist() == [""]  # never shown as if normal
    [note] = [w for w in f.warnings if "name" in w.message]
    assert words in note.message and "<U+" in note.value and family not in note.value


@pytest.mark.parametrize("name", ["DOE, Anna", "ÑÚÑEZ, Zoë", "山田, 太郎", "O'BRIEN, Seán", "AL-SAYED, Omar"])
def test_ordinary_names_of_any_alphabet_are_kept(name):
    family, given = name.split(", ")
    patients = f"patient_id,family_name,given_name,sex,birth_date\nR1,{family},{given},M,1970-01-01\n"
    result = import_text(patients, "patients.csv")
    assert result.patients.column("name").to_pylist() == [name]
    assert not [w for w in result.report.files[0].warnings if "name" in w.message]


def test_a_name_with_a_non_breaking_space_is_one_ordinary_space():
    """A spreadsheet's non-breaking space in a name is a space (squashed), not a disguise."""
    result = import_text("patient_id,patient name,sex,birth_date\nR1,Jane\u00a0Doe,F,1970-01-01\n", "patients.csv")
    assert result.patients.column("name").to_pylist() == ["Jane Doe"]
