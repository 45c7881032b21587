"""Dates and values that cannot be real (issue 16, item 7), derived by hand from the rule:
years before 1900 or more than a year after today are refused with the reason (a dose
ending that far ahead is read as ongoing), birth dates must give an age of 0 to 120,
a count that cannot be 0 is not 0, NUL bytes reject their row on every path, and a file
of thousands of columns or an enormous line says so."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pytest

from dashboard.ingest.dates import DAYFIRST, parse_dates
from dashboard.ingest.patients import birth_date_problem
from tests.support import TODAY, assert_balanced, import_bytes, import_text

HEAD = "patient_id,collected_at,test,value,unit\n"


@pytest.mark.parametrize(
    ("text", "year"),
    [("0001-01-01", 1), ("0000-01-01", 0), ("0099-12-31", 99)],
)
def test_a_four_digit_year_is_never_read_as_two_digits(text, year):
    """0001-01-01 was read as 2001-01-01 (its year taken for a two-digit one)."""
    p = parse_dates(pa.array([text]), DAYFIRST, TODAY)
    assert p.values.to_pylist() == [None]
    assert f"year {year} is before 1900" in p.reason.to_pylist()[0]
    assert p.two_digit_years == 0


def test_two_digit_years_are_still_read_and_counted():
    p = parse_dates(pa.array(["13/03/24", "01/01/99"]), DAYFIRST, TODAY)
    assert p.values.to_pylist() == [dt.datetime(2024, 3, 13), dt.datetime(1999, 1, 1)]
    assert p.two_digit_years == 2


def test_results_of_impossible_years_are_rejected_with_the_reason():
    text = HEAD + "P1,0001-01-01,WBC,4.5,10^9/L\nP1,1899-12-31,WBC,4.7,10^9/L\nP1,1900-01-01,WBC,4.8,10^9/L\n"
    result = import_text(text)
    assert_balanced(result)
    f = result.report.files[0]
    assert (f.rows_accepted, f.rows_rejected) == (1, 2)
    assert {p.row: "before 1900" in p.message for p in f.problems} == {2: True, 3: True}


def test_dose_dates_a_year_ahead_are_refused_and_a_far_end_is_ongoing():
    text = (
        "patient_id,drug,dose,unit,frequency,start,end\n"
        "P1,Azathioprine,100,mg,daily,2027-11-26,\n"  # a year and a day after TODAY (2026-11-25)
        "P2,Azathioprine,100,mg,daily,2027-11-25,\n"  # exactly a year: a planned start
        "P3,Azathioprine,100,mg,daily,2024-01-01,9999-12-31\n"  # "ongoing" as many systems write it
        "P4,Azathioprine,100,mg,daily,1850-01-01,\n"
    )
    result = import_text(text, "doses.csv")
    assert_balanced(result)
    f = result.report.files[0]
    assert (f.rows_accepted, f.rows_rejected) == (2, 2)
    doses = result.doses_df().set_index("patient_id")
    assert set(doses.index) == {"P2", "P3"}
    assert doses.loc["P3", "end"] is None or str(doses.loc["P3", "end"]) in ("NaT", "None")
    assert any(w.row == 4 and "read as ongoing" in w.message for w in f.warnings)
    reasons = {p.row: p.message for p in f.problems}
    assert "more than a year after today" in reasons[2] and "before 1900" in reasons[5]


@pytest.mark.parametrize(
    ("birth", "problem"),
    [
        (dt.datetime(1980, 5, 1), ""),
        (dt.datetime(1906, 11, 25), ""),  # 120 today (TODAY is 2026-11-25)
        (dt.datetime(1906, 11, 24), ""),  # 120 and a day: still 120 full years
        (dt.datetime(1905, 11, 25), "an age of 121 years"),
        (dt.datetime(2026, 11, 26), "after today"),
        (None, ""),
    ],
)
def test_birth_dates_give_an_age_of_0_to_120(birth, problem):
    got = birth_date_problem(birth, TODAY)
    assert (problem in got) if problem else got == ""


def test_patients_with_implausible_birth_dates_are_rejected():
    text = "patient_id,sex,dob\nP1,F,1980-05-01\nP2,F,2030-01-01\nP3,M,1900-06-01\nP4,M,2026-12-01\n"
    result = import_text(text, "patients.csv")
    assert_balanced(result)
    f = result.report.files[0]
    assert (f.rows_accepted, f.rows_rejected) == (1, 3)
    assert all("birth date" in p.message for p in f.problems)


@pytest.mark.parametrize(
    ("analyte", "unit", "accepted"),
    [
        ("WBC", "10^9/L", False),
        ("Hb", "g/L", False),
        ("Platelets", "10^9/L", False),
        ("Creatinine", "umol/L", False),
        ("Neutrophils", "10^9/L", True),  # agranulocytosis: an absolute count of 0 is real
        ("Lymphocytes", "10^9/L", True),
        ("Eosinophils", "10^9/L", True),
    ],
)
def test_a_count_of_0_only_where_it_can_be_0(analyte, unit, accepted):
    result = import_text(HEAD + f"P1,2024-03-05,{analyte},0,{unit}\n")
    assert_balanced(result)
    f = result.report.files[0]
    assert f.rows_accepted == int(accepted)
    if not accepted:
        assert "cannot be 0" in f.problems[0].message


def test_a_tiny_wbc_is_rejected_like_a_wbc_of_0():
    result = import_text(HEAD + "P1,2024-03-05,WBC,1e-5,10^9/L\nP1,2024-03-06,WBC,0,10^9/L\n")
    assert result.report.files[0].rows_rejected == 2


@pytest.mark.parametrize("path", ["fast", "slow", "windows-1252"])
def test_a_nul_byte_rejects_its_row_on_every_path(path):
    rows = "P1,2024-03-05,WBC,4.5,10^9/L,ok\nP1,2024-03-06,WBC,4.6,10^9/L,see\x00note\n"
    text = "patient_id,collected_at,test,value,unit,comment\n" + rows
    if path == "slow":
        text += "\nP1,2024-03-07,WBC,4.7,10^9/L,\n"  # a blank line sends the file down the slow path
    data = text.encode("cp1252" if path == "windows-1252" else "utf-8")
    if path == "windows-1252":
        data = data.replace(b"ok", b"\xe9t\xe9")  # not UTF-8
    result = import_bytes(data, "labs.csv", today=TODAY)
    assert_balanced(result)
    f = result.report.files[0]
    assert [p.row for p in f.problems] == [3]
    assert "NUL byte" in f.problems[0].message
    assert "\x00" not in "".join(result.labs.column("source_value").to_pylist())


def test_thousands_of_columns_are_refused_with_their_number():
    header = ",".join(f"c{i}" for i in range(6000))
    result = import_text(header + "\n" + ",".join("1" for _ in range(6000)) + "\n")
    assert "6,000 columns; the limit is 5,000" in result.report.files[0].error


def test_an_enormous_first_line_says_so(tmp_path):
    from dashboard.ingest import ImportOptions, import_paths

    big = tmp_path / "big.csv"
    big.write_bytes(b"x" * (17 * 1024 * 1024))
    good = tmp_path / "good.csv"
    good.write_text(HEAD + "P1,2024-03-05,WBC,4.5,10^9/L\n")
    result = import_paths([big, good], ImportOptions(today=TODAY))
    files = {f.path: f for f in result.report.files}
    assert "more than 16 MB without a line break" in files["big.csv"].error
    assert files["good.csv"].rows_accepted == 1


# --------------------------------------------------------------------------- a differential above its white count

DIFF_HEAD = "MRN,Collection Date,Component,Result,Units\n"


def test_a_unitless_differential_above_the_white_count_of_its_draw_is_rejected():
    """Probe 5 F7: WBC 2.0 x10^9/L and "Neutrophils 45" with no unit.  45 x10^9/L would be
    more white cells of one kind than there are white cells at all, so the magnitude does
    not settle the unit (as 45 % it is 0.9 x10^9/L, CTCAE grade 3): rejected with the
    reason, never read as 45 x10^9/L.  Lymphocytes 12 beside a WBC of 5.0 likewise."""
    text = DIFF_HEAD + (
        "Z1,2024-03-01 09:00,WBC,2.0,10^9/L\n"
        "Z1,2024-03-01 09:00,Neutrophils,45,\n"
        "Z2,2024-03-01 09:00,Lymphs,12,\n"
        "Z2,2024-03-01 09:00,WBC,5.0,10^9/L\n"
    )
    result = import_text(text)
    assert_balanced(result)
    labs = result.labs_df()
    assert sorted(labs["analyte"]) == ["wbc", "wbc"]
    f = result.report.files[0]
    messages = {p.row: p.message for p in f.problems}
    assert "more than the white count of this draw (2 x10^9/L)" in messages[3]
    assert "add the unit" in messages[3]
    assert "more than the white count of this draw (5 x10^9/L)" in messages[4]
    # no "read as 10^9/L from the magnitude" note for results that were not read
    assert not any("from the magnitude" in w.message for w in f.warnings)


def test_a_unitless_differential_within_its_white_count_is_still_read_from_its_magnitude():
    """An absolute neutrophil count (the name says so: "ANC") of 3.1 with no unit beside a
    WBC of 5.0 at the same draw, and 0.4 at a draw with no white count: read as 10^9/L from
    the magnitude (reported), as before.  (A bare "Neutrophils 3.1" could be 3.1 %: H129.)"""
    text = DIFF_HEAD + (
        "Z1,2024-03-08 09:00,WBC,5.0,10^9/L\nZ1,2024-03-08 09:00,ANC,3.1,\nZ1,2024-03-09 09:00,ANC,0.4,\n"
    )
    result = import_text(text)
    assert_balanced(result)
    labs = result.labs_df()
    assert sorted(labs.loc[labs["analyte"] == "neutrophils", "value"]) == [0.4, 3.1]


def test_a_differential_is_compared_with_the_white_count_of_its_own_draw_only():
    """A WBC of 2.0 a week earlier, or of another patient at the same time, says nothing
    about this draw: an absolute neutrophil count 4.5 (no unit) is read as 10^9/L."""
    text = DIFF_HEAD + (
        "Z1,2024-03-01 09:00,WBC,2.0,10^9/L\nZ2,2024-03-08 09:00,WBC,2.0,10^9/L\n"
        "Z1,2024-03-08 09:00,Neutrophils Absolute,4.5,\n"
    )
    result = import_text(text)
    assert_balanced(result)
    assert 4.5 in result.labs_df()["value"].tolist()


# --------------------------------------------------------------------------- H129 (probe 8 F1)

# A differential with no unit: 92 + 5 + 1 + 2 (monocytes) = 100, a percentage differential
# beside a WBC of 6.0 x10^9/L.  As percentages: neutrophils 92 % of 6.0 = 5.52 x10^9/L (no
# CTCAE grade), lymphocytes 5 % of 6.0 = 0.30 x10^9/L (CTCAE v5.0 "Lymphocyte count
# decreased" grade 3: <0.5 - 0.2 x10^9/L).  Which unit the lab meant is not written, so
# neither 0.092 x10^9/L (92 /uL, grade 4) nor 5.0 x10^9/L (no grade) may be read.
UNITLESS_DIFF = """MRN,Collection Date,Test,Result,Units
12012,2026-03-02,WBC,6.0,x10^9/L
12012,2026-03-02,Neutrophils,92,
12012,2026-03-02,Lymphocytes,5,
12012,2026-03-02,Eosinophils,1,
"""


def _grades(result, analyte: str) -> list[int]:
    from dashboard.rules import review

    rv = review(result.labs, result.doses, result.patients, None, None, dt.date(2026, 3, 10))
    f = rv.flags_df()
    f = f[f["rule"] == f"ctcae.{analyte}"]
    return sorted(int(g) for g in f["ctcae_grade"].dropna())


def test_unitless_neutrophil_percentage_is_not_read_as_cells_per_microlitre():
    r = import_text(UNITLESS_DIFF)
    assert_balanced(r)
    assert _grades(r, "neutrophils") == []  # 5.52 x10^9/L or rejected: never grade 4


def test_unitless_lymphocyte_percentage_is_not_read_as_a_normal_count():
    r = import_text(UNITLESS_DIFF)
    df = r.labs_df()
    lymph = df[df["analyte"] == "lymphocytes"]["value"].tolist()
    # either the lymphocytes are rejected as a unit that cannot be told, or read as 0.3
    assert lymph in ([], [pytest.approx(0.3)])


def test_a_unitless_differential_that_could_be_a_percentage_is_rejected_with_the_reason():
    """Each of the three could be % or a count (92: /uL or %; 5 and 1: 10^9/L or %), so each
    is rejected saying so, and no "read from the magnitude" note is given for them; the WBC,
    whose unit is written, is read."""
    r = import_text(UNITLESS_DIFF)
    assert_balanced(r)
    assert r.labs_df()["analyte"].tolist() == ["wbc"]
    f = r.report.files[0]
    reasons = {p.row: p.message for p in f.problems}
    assert sorted(reasons) == [3, 4, 5]
    assert all("could be % or a count: add the unit" in m for m in reasons.values())
    assert not any("from the magnitude" in w.message for w in f.warnings)


@pytest.mark.parametrize("name", ["Neutrophils, Absolute", "ANC", "NEUT#", "Neutrophil count", "Abs Neutrophils"])
def test_a_unitless_differential_whose_name_says_count_is_read_from_its_magnitude(name):
    """The name says the absolute count, so a % is out: 0.8 with no unit fits 10^9/L only
    (0.0008 is below any neutrophil count), read as 0.8 x10^9/L and said: CTCAE v5.0
    neutrophil count decreased grade 3 (<1.0 - 0.5)."""
    r = import_text(f'MRN,Collection Date,Test,Result,Units\n12012,2026-03-02,"{name}",0.8,\n')
    assert_balanced(r)
    assert r.labs_df()["value"].tolist() == [0.8]
    assert any("read as 10^9/L from the magnitude" in w.message for w in r.report.files[0].warnings)
    assert _grades(r, "neutrophils") == [3]


def test_a_unitless_differential_follows_the_count_unit_the_file_gives_it_elsewhere():
    """The file's other lymphocyte results are all in 10^9/L, so a lymphocyte 0.4 with no
    unit is read in 10^9/L (said); in a file whose lymphocytes come in % and in 10^9/L the
    same 0.4 could be either, and is rejected."""
    one_unit = DIFF_HEAD + "Z1,2024-03-01 09:00,Lymphocytes,1.2,10^9/L\nZ1,2024-03-08 09:00,Lymphocytes,0.4,\n"
    r = import_text(one_unit)
    assert_balanced(r)
    assert sorted(r.labs_df()["value"]) == [0.4, 1.2]
    assert any("the unit of the other results in this file" in w.message for w in r.report.files[0].warnings)

    two_units = DIFF_HEAD + (
        "Z1,2024-03-01 09:00,WBC,4.0,10^9/L\n"
        "Z1,2024-03-01 09:00,Lymphocytes,30,%\n"
        "Z1,2024-03-01 09:00,Lymphocytes,1.2,10^9/L\n"
        "Z1,2024-03-08 09:00,Lymphocytes,0.4,\n"
    )
    r = import_text(two_units)
    assert_balanced(r)
    assert 0.4 not in r.labs_df()["value"].tolist()
    assert any("could be % or a count" in p.message for p in r.report.files[0].problems)


def test_a_unitless_differential_above_100_is_still_read_as_a_count():
    """4200 cannot be a percentage: with no unit it fits cells/uL only (4.2 x10^9/L), as before."""
    r = import_text(DIFF_HEAD + "Z1,2024-03-01 09:00,Neutrophils,4200,\n")
    assert_balanced(r)
    assert r.labs_df()["value"].tolist() == [4.2]
