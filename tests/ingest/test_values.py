"""Value texts -> number, comparator, flag; decimal separators."""

import math

import pyarrow as pa
import pytest

from dashboard.ingest.values import UNDECIDED, detect_decimal, parse_one, parse_range, parse_values
from tests.support import assert_balanced, import_text


@pytest.mark.parametrize(
    ("text", "value", "comparator", "flag"),
    [
        ("4.1", 4.1, "", ""),
        ("<0.1", 0.1, "<", ""),
        ("< 0.1", 0.1, "<", ""),
        ("<=0.5", 0.5, "<=", ""),  # inclusive: 0.5 itself is possible (probe 8 F9)
        ("≤ 0.5", 0.5, "<=", ""),
        (">=200", 200.0, ">=", ""),
        ("≥200", 200.0, ">=", ""),
        (">1000", 1000.0, ">", ""),
        ("4.1 L", 4.1, "", "L"),
        ("H 450", 450.0, "", "H"),
        ("450 H", 450.0, "", "H"),
        ("0.4 LL", 0.4, "", "LL"),
        ("450*", 450.0, "", "*"),
        ("450 (H)", 450.0, "", "H"),
        (".5", 0.5, "", ""),
        ("1e3", 1000.0, "", ""),
    ],
)
def test_parse_one(text, value, comparator, flag):
    v, c, f, trailing, reason, _ = parse_one(text)
    assert reason == ""
    assert v == pytest.approx(value)
    assert (c, f, trailing) == (comparator, flag, "")


@pytest.mark.parametrize("text", ["pending", "see note", "Cancelled", "not done", "---", "___", "QNS", "haemolysed"])
def test_words_are_no_result(text):
    v, *_, reason, _ = parse_one(text)
    assert math.isnan(v)
    assert "no numeric result" in reason


def test_empty_is_rejected_with_reason():
    v, *_, reason, _ = parse_one("")
    assert math.isnan(v) and "empty" in reason


def test_decimal_comma_in_dot_file_is_a_problem_not_a_guess():
    v, *_, reason, _ = parse_one("1,5", ".")
    assert math.isnan(v)
    assert "decimal comma" in reason


def test_thousands_separator_in_dot_file():
    v, *_, reason, used = parse_one("150,000", ".")
    assert v == 150000 and reason == "" and used


def test_decimal_comma_file():
    assert parse_one("1,5", ",")[0] == 1.5
    assert parse_one("<0,1", ",")[:2] == (0.1, "<")
    v, *_, reason, _ = parse_one("1.5", ",")
    assert math.isnan(v) and "decimal point" in reason


def test_unit_after_number_is_kept_as_trailing_text():
    v, _c, _f, trailing, reason, _ = parse_one("6.5 x10^9/L")
    assert v == 6.5 and trailing == "x10^9/L" and reason == ""


def test_detect_decimal():
    assert detect_decimal(pa.array(["4,5", "3,2", "10"]))[0] == ","
    assert detect_decimal(pa.array(["4.5", "3.2", "10"]))[0] == "."
    assert detect_decimal(pa.array(["4.5", "3.2", "1,5"]))[0] == "."


def test_parse_values_vectorised_matches_one_by_one():
    texts = ["1.5", "<0.1", "H 450", "pending", "", "2", "1,5", "0.4 LL"]
    pv = parse_values(pa.array(texts), ".")
    for i, t in enumerate(texts):
        v, c, f, _tr, r, _ = parse_one(t)
        assert (math.isnan(v) and math.isnan(pv.value[i])) or v == pv.value[i]
        assert pv.comparator[i].as_py() == c
        assert pv.flag[i].as_py() == f
        assert pv.reason[i].as_py() == r


def test_non_finite_numbers_are_rejected():
    pv = parse_values(pa.array(["nan", "inf", "5"]), ".")
    assert pv.reason[0].as_py() and pv.reason[1].as_py()
    assert pv.value[2] == 5


@pytest.mark.parametrize(
    ("text", "low", "high"),
    [
        ("4.0-11.0", 4.0, 11.0),
        ("4.0 - 11.0", 4.0, 11.0),
        ("(4.0-11.0)", 4.0, 11.0),
        ("4,0-11,0", 4.0, 11.0),
        ("3.5 to 5.0", 3.5, 5.0),
        ("150–400", 150.0, 400.0),
        ("<40", math.nan, 40.0),
        (">60", 60.0, math.nan),
        ("", math.nan, math.nan),
        ("see lab", math.nan, math.nan),
    ],
)
def test_parse_range(text, low, high):
    lo, hi = parse_range(text, "," if "," in text else ".")
    assert (math.isnan(lo) and math.isnan(low)) or lo == low
    assert (math.isnan(hi) and math.isnan(high)) or hi == high


@pytest.mark.parametrize(
    ("text", "value", "trailing"),
    [
        ("4.5 10^9/L", 4.5, "10^9/L"),  # a unit written "10^9/L" after the number: not 4.510
        ("150 10^9/L", 150.0, "10^9/L"),  # not 15010
        ("5 000", 5000.0, ""),  # a space between groups of three digits is a thousands separator
        ("1 234 567", 1234567.0, ""),
        ("1'234", 1234.0, ""),  # Swiss thousands
        ("1 234 10^9/L", 1234.0, "10^9/L"),
        ("12 5", 12.0, "5"),  # not 125: the "5" is left as text after the number (then rejected)
    ],
)
def test_a_space_inside_a_number_only_separates_groups_of_three_digits(text, value, trailing):
    v, _c, _f, after, reason, thousands = parse_one(text)
    assert reason == "" and v == value and after == trailing
    assert thousands == (v >= 1000)  # a separator that was read is counted for the report


# --------------------------------------------------------------------------- probe 5 F10, F11


def test_a_tie_of_decimal_separators_is_not_decided_by_guess():
    # "4,5" says decimal comma, "1.234" says decimal point or a thousands dot: one each.
    # In a semicolon-delimited file "1.234" may be 1234; it must not be graded as 1.234.
    text = (
        "Patient;Datum;Test;Wert;Einheit\n4711;01.03.2024;Thrombozyten;1.234;G/l\n4711;15.03.2024;Leukozyten;4,5;G/l\n"
    )
    result = import_text(text)
    assert_balanced(result)
    assert 1.234 not in result.labs_df()["value"].tolist()


def test_a_tie_rejects_both_sides_with_the_reason_and_keeps_whole_numbers():
    text = (
        "Patient;Datum;Test;Wert;Einheit\n"
        "4711;01.03.2024;Thrombozyten;1.234;G/l\n"
        "4711;15.03.2024;Leukozyten;4,5;G/l\n"
        "4711;15.03.2024;Thrombozyten;150;G/l\n"
    )
    result = import_text(text)
    assert_balanced(result)
    f = result.report.files[0]
    assert f.decimal == "undecided"
    assert result.labs_df()["value"].tolist() == [150.0]
    assert {p.row for p in f.problems} == {2, 3}
    assert all("as many values with a decimal comma as with a decimal point" in p.message for p in f.problems)
    assert any("(1 each)" in w.message for w in f.warnings)


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (["4,5", "1.5"], (UNDECIDED, 1, 1)),  # one each: a tie decides nothing
        (["1.000,5", "2.5"], (UNDECIDED, 1, 1)),  # "1.000,5" is a decimal comma, not a point
        (["1.000,5", "2,5", "2.5"], (",", 1, 2)),
        (["1,234.5", "2,5"], (UNDECIDED, 1, 1)),  # "1,234.5" is a decimal point
        (["4.5", "3.2", "1,5"], (".", 2, 1)),
    ],
)
def test_decimal_evidence_counts_each_value_once_for_the_separator_it_shows(values, expected):
    assert detect_decimal(pa.array(values)) == expected


def test_points_grouping_thousands_before_a_decimal_comma_read_in_a_comma_file():
    # 1.000,5 in a decimal-comma file is one thousand and a half
    assert parse_one("1.000,5", ",")[0] == 1000.5
    assert parse_one("1.000,5", ".")[4] != ""  # in a decimal-point file: mixed, not guessed


def test_a_german_count_with_a_thousands_point_names_the_point_not_the_unit():
    # probe 5 F11: "4.500 /µl" is 4,500 /µl = 4.5 x10^9/L written with a thousands point; read
    # with a decimal point it is 4.5 /µl (0.0045 x10^9/L), implausible: the cause is the point.
    text = (
        "Patient;Datum;Test;Wert;Einheit\n"
        "4711;01.03.2024;Leukozyten;4.500;/µl\n"
        "4711;01.03.2024;Thrombozyten;234.000;/µl\n"
        "4711;01.03.2024;Hämoglobin;12,5;g/dl\n"
    )
    result = import_text(text)
    assert_balanced(result)
    messages = {p.row: p.message for p in result.report.files[0].problems}
    assert "the point in '4.500' is likely a thousands separator (4500 /µl = 4.5 10^9/L)" in messages[2]
    assert "the point in '234.000' is likely a thousands separator (234000 /µl = 234 10^9/L)" in messages[3]
    assert "check the unit" not in messages[2] + messages[3]


@pytest.mark.parametrize(
    ("text", "male", "female", "unit"),
    [
        ("10-50 (M) 10-35 (F)", (10.0, 50.0), (10.0, 35.0), ""),
        ("M: 130-170 F: 120-150", (130.0, 170.0), (120.0, 150.0), ""),
        ("Male: 130-170; Female: 120-150", (130.0, 170.0), (120.0, 150.0), ""),
        ("F 44-80, M 62-106 umol/L", (62.0, 106.0), (44.0, 80.0), "umol/L"),
        ("10-50 U/L (M) 10-35 U/L (F)", (10.0, 50.0), (10.0, 35.0), "U/L"),
    ],
)
def test_a_range_per_sex_is_read_per_sex(text, male, female, unit):
    from dashboard.ingest.values import parse_sex_ranges

    sr = parse_sex_ranges(text)
    assert sr is not None and sr.readable
    assert (sr.male, sr.female, sr.unit) == (male, female, unit)


@pytest.mark.parametrize(
    "text",
    [
        "Adult 10-50 Child 5-20",  # two ranges, no sex: which applies is not known
        "M: 10-50 M: 10-35",  # one sex twice
        "10-50 (M) 10-35 (F) 5-10",  # a third range
        "10-50 U/L (M) 0.2-0.6 ukat/L (F)",  # two units
    ],
)
def test_several_ranges_that_are_not_one_per_sex_are_not_read(text):
    from dashboard.ingest.values import parse_sex_ranges

    sr = parse_sex_ranges(text)
    assert sr is not None and not sr.readable


@pytest.mark.parametrize("text", ["10-50", "4.0-11.0 x10^9/L", "150,000-400,000 /uL", "<35", ""])
def test_one_range_is_not_a_range_per_sex(text):
    from dashboard.ingest.values import parse_sex_ranges

    assert parse_sex_ranges(text) is None


@pytest.mark.parametrize(
    ("text", "male", "female", "unit"),
    [
        ("<35 (M) <30 (F)", (math.nan, 35.0), (math.nan, 30.0), ""),
        (">130 (M) >115 (F)", (130.0, math.nan), (115.0, math.nan), ""),
        ("M: up to 50 F: up to 35 U/L", (math.nan, 50.0), (math.nan, 35.0), "U/L"),
        ("Male <= 1.2, Female <= 1.0 mg/dL", (math.nan, 1.2), (math.nan, 1.0), "mg/dL"),
    ],
)
def test_a_one_sided_range_per_sex_is_read_per_sex(text, male, female, unit):
    # audit 5 S3: a one-sided limit per sex is never the first limit for everyone (H130)
    from dashboard.ingest.values import parse_sex_ranges

    sr = parse_sex_ranges(text)
    assert sr is not None and sr.readable
    assert sr.unit == unit
    for got, want in ((sr.male, male), (sr.female, female)):
        assert [math.isnan(x) for x in got] == [math.isnan(x) for x in want]
        assert [x for x in got if not math.isnan(x)] == [x for x in want if not math.isnan(x)]


@pytest.mark.parametrize("text", ["35 (M) 30 (F)", "0-35 U/L (M)"])
def test_a_sex_word_beside_several_numbers_in_no_known_shape_is_not_read(text):
    from dashboard.ingest.values import parse_range_unit, parse_sex_ranges

    sr = parse_sex_ranges(text)
    assert sr is not None and not sr.readable
    assert parse_range_unit("4.0-11.0 x10^9/L")[:2] == (4.0, 11.0)
