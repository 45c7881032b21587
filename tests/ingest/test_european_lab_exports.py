"""Lab exports of European and US hospital systems as they are really written (probe
vocab20): count units in German and French spellings, a reference range in % beside an
absolute count, reference ranges that cannot be read, French month names with their
accents, and arrows as abnormal flags.  Every expectation is worked out by hand."""

from __future__ import annotations

import datetime as dt
import math

import pytest

from dashboard.dataset import Dataset
from dashboard.rules.review import review_dataset
from tests.support import assert_balanced, import_text

HEAD = "MRN,Sex,Date,Test,Result,Units,Reference Range\n"


def _labs(result) -> list[dict]:
    return result.labs.to_pylist()


def _warnings(result) -> str:
    return " | ".join(w.message for f in result.report.files for w in f.warnings)


def _problems(result) -> str:
    return " | ".join(p.message for f in result.report.files for p in f.problems)


# --------------------------------------------------------------- H365 % range beside a count


@pytest.mark.parametrize(
    ("test", "value", "range_text"),
    [
        ("Lymphocytes", "1.2", "20-45 %"),
        ("Neutrophils", "3.5", "40-75 %"),
        ("Neutrophils", "3.5", "0.40-0.75 fraction"),
    ],
)
def test_a_percentage_range_beside_an_absolute_count_is_not_the_counts_range(test, value, range_text):
    """ "20-45 %" is the range of the lymphocyte percentage; read as 20-45 x10^9/L it made
    1.2 x10^9/L "below the lab's LLN" and a CTCAE grade 1.  The count has no range of its
    own: none is used (the default limits apply) and the report says so."""
    result = import_text(f'{HEAD}1,F,2026-03-02,{test},{value},10^9/L,"{range_text}"\n1,F,2026-03-02,WBC,5.0,10^9/L,\n')
    assert_balanced(result)
    row = next(r for r in _labs(result) if r["analyte"] == test.lower())
    assert row["value"] == float(value)
    assert math.isnan(row["ref_low"]) and math.isnan(row["ref_high"])
    assert range_text in _warnings(result)


def test_a_percentage_range_beside_a_count_gives_no_grade_on_it():
    """Hand-derived: lymphocytes 1.2 against the default LLN 1.0 (reference_ranges.toml) is
    not below it, so no CTCAE v5.0 grade ("<LLN - 0.8" needs a value below the LLN);
    neutrophils 3.5 against 2.0 likewise.  Before the fix both were grade 1 on LLNs of
    20 and 40 x10^9/L."""
    text = (
        f'{HEAD}1,F,2026-03-02,Lymphocytes,1.2,10^9/L,"20-45 %"\n'
        '1,F,2026-03-02,Neutrophils,3.5,10^9/L,"40-75 %"\n1,F,2026-03-02,WBC,5.0,10^9/L,4.0-11.0\n'
    )
    review = review_dataset(Dataset.from_import(import_text(text), "t"), as_of=dt.date(2026, 3, 10))
    flags = review.flags_df()
    assert flags[flags["analyte"].isin(["lymphocytes", "neutrophils"])].empty


def test_a_percentage_range_beside_a_percentage_is_still_not_used_as_a_count_range():
    """A differential in % is made a count from the WBC; its range in % was never a count's
    range and stays unused (as before): neutrophils 50 % of 5.0 = 2.5 x10^9/L."""
    result = import_text(f'{HEAD}1,F,2026-03-02,Neutrophils,50,%,"40-75 %"\n1,F,2026-03-02,WBC,5.0,10^9/L,\n')
    row = next(r for r in _labs(result) if r["analyte"] == "neutrophils")
    assert row["value"] == 2.5
    assert math.isnan(row["ref_low"])


def test_a_range_naming_a_unit_of_another_test_is_not_read_in_the_results_unit():
    """ "4.0-11.0 mmol/l" beside a WBC: mmol/L is no unit of a count, so which unit the
    range is in cannot be told; it is not used (never guessed to be the result's unit)."""
    result = import_text(f'{HEAD}1,F,2026-03-02,WBC,5.0,10^9/L,"4.0-11.0 mmol/l"\n')
    row = _labs(result)[0]
    assert row["value"] == 5.0 and math.isnan(row["ref_low"]) and math.isnan(row["ref_high"])
    assert "4.0-11.0 mmol/l" in _warnings(result)


def test_a_range_with_a_flag_or_its_own_unit_is_still_read():
    """What is not a unit after the numbers ("*", "H") leaves the range in the result's
    unit, and a range in another unit of the test is converted: 0.5-1.1 mg/dL creatinine
    = 44.2-97.24 umol/L (x 88.4)."""
    result = import_text(
        f'{HEAD}1,F,2026-03-02,WBC,5.0,10^9/L,"4.0-11.0*"\n1,F,2026-03-02,Creatinine,80,umol/L,"0.5-1.1 mg/dl"\n'
    )
    rows = {r["analyte"]: r for r in _labs(result)}
    assert (rows["wbc"]["ref_low"], rows["wbc"]["ref_high"]) == (4.0, 11.0)
    assert rows["creatinine"]["ref_low"] == pytest.approx(44.2)
    assert rows["creatinine"]["ref_high"] == pytest.approx(97.24)


# --------------------------------------------------------------- H366 German/French count units


@pytest.mark.parametrize("unit", ["Tsd/µl", "Tsd./µl", "tsd/ul", "Giga/L", "giga/l", "Mrd/l", "Mrd./L"])
def test_german_and_french_spellings_of_a_count_unit_are_read(unit):
    """Tsd/µl (Tausend pro µl) = 10^3/µL = 10^9/L; Giga/L = 10^9/L; Mrd/l (Milliarden pro
    Liter) = 10^9/L: factor 1.  Leukozyten 5.0 in any of them is 5.0 x10^9/L."""
    result = import_text(f"{HEAD}1,F,2026-03-02,WBC,5.0,{unit},\n")
    assert_balanced(result)
    (row,) = _labs(result)
    assert row["value"] == 5.0 and row["source_unit"] == unit


def test_tsd_is_not_a_unit_of_haemoglobin():
    """A count's spelling beside Hb is no Hb unit: rejected with the reason, never read."""
    result = import_text(f"{HEAD}1,F,2026-03-02,Hemoglobin,13.0,Tsd/µl,\n")
    assert not _labs(result)
    assert "Tsd/µl" in _problems(result)


# --------------------------------------------------------------- H367 French month names


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("4 déc. 2026", dt.datetime(2026, 12, 4)),
        ("4 févr. 2026", dt.datetime(2026, 2, 4)),
        ("4 août 2026", dt.datetime(2026, 8, 4)),
        ("4 décembre 2026 09:00", dt.datetime(2026, 12, 4, 9, 0)),
    ],
)
def test_french_month_names_with_their_accents_are_read(text, expected):
    result = import_text(f"MRN,Date,Test,Result,Units\n1,{text},WBC,5.0,10^9/L\n", today=dt.date(2026, 12, 5))
    (row,) = _labs(result)
    assert row["collected_at"] == expected


def test_a_month_name_not_known_is_said_as_such():
    """Not "there is no month 0": the word itself is named."""
    result = import_text("MRN,Date,Test,Result,Units\n1,4 xyzt 2026,WBC,5.0,10^9/L\n")
    assert not _labs(result)
    assert "xyzt" in _problems(result)
    assert "month 0" not in _problems(result)


# --------------------------------------------------------------- H368 range not read


@pytest.mark.parametrize("range_text", ["[4.0;11.0]", "4.0;11.0", "4.0 \u2212 11.0", "4.0 \u2012 11.0"])
def test_an_interval_with_a_semicolon_or_a_typographic_dash_is_read(range_text):
    """ISO 31-11 interval notation [a;b], as continental European systems print it, and a
    range written with a minus sign or a figure dash (word processors' dashes)."""
    result = import_text(f'{HEAD}1,F,2026-03-02,WBC,5.0,10^9/L,"{range_text}"\n')
    (row,) = _labs(result)
    assert (row["ref_low"], row["ref_high"]) == (4.0, 11.0)


@pytest.mark.parametrize("range_text", ["4.0 11.0", "ab 150", "4.0 ~ 11.0"])
def test_a_reference_range_that_cannot_be_read_is_said(range_text):
    """The result is imported on the default limits and the report names the range text
    it could not read (before: dropped without a word)."""
    result = import_text(f'{HEAD}1,F,2026-03-02,WBC,5.0,10^9/L,"{range_text}"\n')
    (row,) = _labs(result)
    assert row["value"] == 5.0 and math.isnan(row["ref_low"]) and math.isnan(row["ref_high"])
    assert range_text in _warnings(result)


def test_a_range_text_without_numbers_is_no_range_and_not_warned_about():
    """ "normal" or "-" holds no limit to lose: nothing is said."""
    result = import_text(f"{HEAD}1,F,2026-03-02,WBC,5.0,10^9/L,normal\n1,F,2026-03-03,WBC,5.0,10^9/L,-\n")
    assert len(_labs(result)) == 2
    assert "reference range" not in _warnings(result)


# --------------------------------------------------------------- H369 arrows


@pytest.mark.parametrize(("text", "value", "flag"), [("↓1.2", 1.2, "L"), ("↑12.1", 12.1, "H"), ("1.2 ↓", 1.2, "L")])
def test_an_arrow_beside_the_value_is_its_flag(text, value, flag):
    """The arrow is the lab's flag; the number is the result, kept as written."""
    result = import_text(f'{HEAD}1,F,2026-03-02,WBC,"{text}",10^9/L,\n')
    (row,) = _labs(result)
    assert (row["value"], row["source_flag"], row["source_value"]) == (value, flag, text)


# --------------------------------------------------------------- H370 German and French sex words


@pytest.mark.parametrize(
    ("range_text", "sex", "expected"),
    [
        ("m: 13.5-17.5 w: 12.0-16.0", "M", (135.0, 175.0)),
        ("m: 13.5-17.5 w: 12.0-16.0", "F", (120.0, 160.0)),
        ("Männer 13.5-17.5 Frauen 12.0-16.0", "M", (135.0, 175.0)),
        ("Frauen: 12.0-16.0; Männer: 13.5-17.5", "F", (120.0, 160.0)),
        ("hommes 13.5-17.5 femmes 12.0-16.0", "F", (120.0, 160.0)),
    ],
)
def test_a_range_per_sex_in_german_or_french_words_is_read_for_the_patients_sex(range_text, sex, expected):
    """German labs write m/w (männlich/weiblich), Männer/Frauen; French hommes/femmes.
    Hb in g/dL x 10 = g/L: a man's 13.5-17.5 g/dL is 135-175 g/L, a woman's 12.0-16.0
    is 120-160 g/L."""
    result = import_text(f'{HEAD}1,{sex},2026-03-02,Hemoglobin,12.5,g/dl,"{range_text}"\n')
    (row,) = _labs(result)
    assert (row["ref_low"], row["ref_high"]) == expected


def test_a_womans_range_marked_w_is_not_a_mans_range():
    """ "12.0-16.0 (w)" is the range for women (weiblich).  Read for a man, his Hb 12.5 g/dL
    (125 g/L) was within it; on the male default LLN of 130 g/L (reference_ranges.toml) it
    is below, CTCAE v5.0 grade 1.  The range is not used for anyone, with a warning."""
    result = import_text(f'{HEAD}1,M,2026-03-02,Hemoglobin,12.5,g/dl,"12.0-16.0 (w)"\n')
    (row,) = _labs(result)
    assert math.isnan(row["ref_low"]) and math.isnan(row["ref_high"])
    assert "12.0-16.0 (w)" in _warnings(result)
    review = review_dataset(Dataset.from_import(result, "t"), as_of=dt.date(2026, 3, 10))
    flags = review.flags_df()
    hb = flags[flags["analyte"] == "hemoglobin"]
    assert list(hb["rule"]) == ["ctcae.hemoglobin"]
    assert list(hb["ctcae_grade"]) == [1]


def test_a_high_flag_letter_is_not_read_as_a_french_sex_word():
    """ "H" in "H: 13.5-17.5 F: 12.0-16.0" may be Homme or a High flag: not read per sex."""
    result = import_text(f'{HEAD}1,F,2026-03-02,Hemoglobin,12.5,g/dl,"H: 13.5-17.5 F: 12.0-16.0"\n')
    (row,) = _labs(result)
    assert math.isnan(row["ref_low"])


# --------------------------------------------------------------- H377 a range that starts below 0


@pytest.mark.parametrize("range_text", ["-4.0-11.0", "-4.0 - 11.0", "(-4.0)-11.0"])
def test_a_range_with_a_limit_below_zero_is_not_read_and_is_said(range_text):
    """A WBC cannot be below 0: "-4.0-11.0" is either 4.0-11.0 with a stray dash or a
    typing error, and which minus is meant is not guessed.  The range is not used (the
    WBC 5.0 gets no lab limits, so NaN), and the report names the text and says why."""
    result = import_text(f'{HEAD}1,F,2026-03-02,WBC,5.0,10^9/L,"{range_text}"\n')
    (row,) = _labs(result)
    assert row["value"] == 5.0 and math.isnan(row["ref_low"]) and math.isnan(row["ref_high"])
    said = _warnings(result)
    assert range_text in said and "below 0" in said
