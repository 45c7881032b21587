"""A dose is a number the source states once, unambiguously (issue 16, item 1).

Expected values are written from the rule, by hand: a range, a sign, an exponent or a
separator that could mean two things rejects the row with the reason; "1,000 mg" in a
file of decimal points is exactly one thousand, and the report says how it was read.
"""

from __future__ import annotations

import math

import pytest

from dashboard.ingest.amounts import (
    COMMA,
    POINT,
    UNKNOWN,
    file_decimal,
    parse_amount,
    read_amount,
    read_number,
    strength_in_text,
    text_problem,
)
from dashboard.ingest.sig import read_sig
from tests.support import assert_balanced, import_text


@pytest.mark.parametrize(
    ("text", "decimal", "value"),
    [
        ("100", UNKNOWN, 100.0),
        ("2.5", POINT, 2.5),
        ("2.5", UNKNOWN, 2.5),
        ("2,5", COMMA, 2.5),
        ("2,5", UNKNOWN, 2.5),  # a comma before one digit is never a thousands separator
        (".5", POINT, 0.5),
        ("1/2", UNKNOWN, 0.5),
        ("1 1/2", UNKNOWN, 1.5),
        ("1,000", POINT, 1000.0),
        ("1,000", UNKNOWN, 1000.0),
        ("1,000.5", POINT, 1000.5),
        ("1.000,5", COMMA, 1000.5),
        ("1.000", POINT, 1.0),  # a file of decimal points: one, written with three decimals
    ],
)
def test_numbers_stated_once_are_read_exactly(text, decimal, value):
    got = read_number(text, decimal)
    assert got.value == value and not got.problem


@pytest.mark.parametrize(
    ("text", "decimal", "words"),
    [
        ("50-150", UNKNOWN, "a range of doses"),
        ("7.5\u201310", POINT, "a range of doses"),
        ("0.5-1", POINT, "a range of doses"),
        ("1 to 2", UNKNOWN, "a range of doses"),
        ("-100", UNKNOWN, "a signed amount"),
        ("\u22125", UNKNOWN, "a signed amount"),
        ("+50", UNKNOWN, "a signed amount"),
        ("1.5e2", UNKNOWN, "exponent"),
        ("1e3", UNKNOWN, "exponent"),
        ("2,5", POINT, "contradicts the file's (decimal points)"),
        ("12.5", COMMA, "contradicts the file's (decimal commas)"),
        ("1,000", COMMA, "could be a decimal or a thousands separator"),
        ("1.000", COMMA, "could be a decimal or a thousands separator"),
        ("1.000", UNKNOWN, "could be a decimal or a thousands separator"),
        ("1 000", UNKNOWN, "not understood"),
    ],
)
def test_numbers_that_could_mean_two_things_are_refused(text, decimal, words):
    got = read_number(text, decimal)
    assert got.value is None and words in got.problem


def test_the_files_decimal_separator_is_what_most_of_its_doses_use():
    assert file_decimal(["12.5", "7.5", "2,5", "100"], ",") == POINT
    assert file_decimal(["12,5", "1,000", "1.000", "2.5", "100"], ";") == COMMA  # a tie: the semicolon convention
    assert file_decimal(["100", "1,000"], ",") == UNKNOWN  # "1,000" is no evidence either way
    assert file_decimal(["100"], ";") == COMMA


@pytest.mark.parametrize(
    ("text", "unit", "amount"),
    [
        ("100 mg", "", (100.0, "mg")),
        ("1 g", "", (1000.0, "mg")),
        ("500 mcg", "", (0.5, "mg")),
        ("0.75 g/m2", "", (750.0, "mg/m2")),
        ("2.5", "mg", (2.5, "mg")),
        ("2 tablets", "", (2.0, "tablet")),
        ("1,000 mg", "", (1000.0, "mg")),
    ],
)
def test_amounts_with_units(text, unit, amount):
    got = read_amount(text, unit)
    assert (got.value, got.unit) == amount and not got.problem


def test_an_amount_is_never_read_from_part_of_its_text():
    for text in ("50-150", "1e3", "-100", "100 (mg)", "2 x 50"):
        got = read_amount(text, "mg")
        assert got.problem and math.isnan(got.value), text


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("Take 50-100 mg by mouth daily.", "a range of doses ('50-100 mg')"),
        ("Take 1-2 tablets by mouth daily.", "a range of doses ('1-2 tablets')"),
        ("take one to two tablets at night", "a range of doses ('1 to 2 tablets')"),
        ("Take -10 mg by mouth daily.", "a signed amount ('-10 mg')"),
        ("Take 1.5e2 mg by mouth daily.", "exponent form ('1.5e2 mg')"),
    ],
)
def test_instructions_naming_a_range_a_sign_or_an_exponent_are_refused(text, words):
    sig = read_sig(text, 50)
    assert sig.amount == "" and words in sig.problem


def test_instructions_with_a_thousands_separator_and_a_frequency():
    # the old reader took the 500 mg tablet strength: 1,000 mg was never read
    sig = read_sig("Take 1,000 mg by mouth 2 times daily.", 500)
    assert (sig.amount, sig.frequency, sig.problem) == ("1000 mg", "BID", "")
    assert "'1,000' read as 1000" in sig.note


def test_a_stated_total_is_used_only_when_tablets_times_strength_agree():
    assert read_sig("Take 2 tablets (100 mg total) by mouth daily.", 50).amount == "100 mg"
    disagree = read_sig("Take 2 tablets (100 mg total) by mouth daily.", 25)  # 2 x 25 = 50, not 100
    assert disagree.amount == "" and disagree.conflicting
    assert read_sig("Take 2 tablets (100 mg total) by mouth daily.", None).amount == "100 mg"  # nothing to disagree


def test_text_problems_leave_other_numbers_alone():
    assert text_problem("Take 1 tablet every 4-6 hours as needed") == ""  # hours are not a dose
    assert text_problem("Take 2 tablets (100 mg total) by mouth daily.") == ""


DOSES = """patient_id,drug,dose,unit,frequency,start,end
P1,Mycophenolate mofetil,"1,000",mg,BID,2024-01-01,
P2,Azathioprine,50-150,mg,daily,2024-01-01,
P3,Methotrexate,12.5,mg,weekly,2024-01-01,
P4,Azathioprine,"2,5",mg,daily,2024-01-01,
P5,Azathioprine,-100,mg,daily,2024-01-01,
"""


def test_a_dose_file_reads_stated_doses_and_rejects_the_rest_with_reasons():
    result = import_text(DOSES, "doses.csv")
    assert_balanced(result)
    f = result.report.files[0]
    assert (f.rows_read, f.rows_accepted, f.rows_rejected) == (5, 2, 3)
    doses = result.doses_df().set_index("patient_id")
    assert doses.loc["P1", "dose"] == 1000 and doses.loc["P1", "mg_per_day"] == 2000
    assert doses.loc["P3", "mg_per_week"] == 12.5
    reasons = {p.row: p.message for p in f.problems}
    assert "a range of doses ('50-150')" in reasons[3]
    assert "contradicts the file's (decimal points)" in reasons[5]
    assert "a signed amount ('-100')" in reasons[6]
    assert any("'1,000' read as 1000" in w.message and w.row == 2 for w in f.warnings)


def test_a_tpmt_intermediate_patient_on_a_range_gets_no_dose_at_all():
    """The issue's case: azathioprine "50-150" was read as 50 mg, which the dose check
    called within range for a TPMT-intermediate 50 kg patient.  Now no dose is read, and
    the report says why."""
    result = import_text("patient,drug,dose,unit,frequency,start\nP1,Azathioprine,50-150,mg,daily,2024-01-01\n")
    assert result.doses.num_rows == 0
    assert "a range of doses" in result.report.files[0].problems[0].message


# --------------------------------------------------------------------------- dose amounts with a unit


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
    "text",
    [
        "Aza 2mg/kg",
        "Cyclophosphamide 15mg/kg IV pulse",
        "Cyclophosphamide 750mg/m2",
        "HCQ 200mg/day",
        "Methotrexate 5 mg/5 mL oral solution",
        "Methotrexate 25 mg per mL",
    ],
)
def test_an_amount_per_something_is_not_a_tablet_strength(text):
    # a dose per kg, per m2 or per day, or a concentration: never one tablet of N mg
    assert strength_in_text(text) is None
