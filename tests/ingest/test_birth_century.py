"""A date of birth with a two-digit year is given no century silently (H470).

By hand, on 2026-11-25 (tests.support.TODAY), the oldest age accepted being 120
(patients.MAX_AGE_YEARS): "13/06/25" is 1925-06-13 (aged 101) or 2025-06-13 (aged 1), both
possible: left unknown.  "13/06/75": 2075 is after today, so 1975.  "13/06/05": 1905 gives
121, so 2005.  "13/06/06": 1906 gives 120 and 2006 gives 20, both possible.  "01/12/26"
day-first: 2026-12-01 is after today, so 1926 (aged 99)."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from tests.support import assert_balanced, import_text


def _patient(dob: str, **options):
    result = import_text(f"patient_id,sex,date_of_birth\nP1,F,{dob}\n", "patients.csv", **options)
    assert_balanced(result)
    df = result.patients_df()
    assert list(df["patient_id"]) == ["P1"]  # the patient is always kept
    warnings = [w.message for f in result.report.files for w in f.warnings]
    return df["birth_date"].iloc[0], warnings


@pytest.mark.parametrize(("dob", "readings"), [("13/06/25", "1925-06-13 (aged 101) or 2025-06-13 (aged 1)"),
                                               ("13-Jun-25", "1925-06-13 (aged 101) or 2025-06-13 (aged 1)"),
                                               ("13/06/06", "1906-06-13 (aged 120) or 2006-06-13 (aged 20)")])  # fmt: skip
def test_a_two_digit_year_both_centuries_allow_leaves_the_birth_date_unknown(dob, readings):
    born, warnings = _patient(dob)
    assert pd.isna(born)
    (said,) = [w for w in warnings if "two-digit year" in w]
    assert f"'{dob}' has a two-digit year: it is {readings}; the century is not guessed" in said


@pytest.mark.parametrize(
    ("dob", "expected", "options"),
    [
        ("13/06/75", dt.datetime(1975, 6, 13), {}),
        ("13/06/05", dt.datetime(2005, 6, 13), {}),
        ("01/12/26", dt.datetime(1926, 12, 1), {"date_order": "dayfirst"}),
    ],
)
def test_a_two_digit_year_only_one_century_allows_is_read_so_and_said(dob, expected, options):
    born, warnings = _patient(dob, **options)
    assert born == expected
    assert any(
        "two-digit years, each read in the one century" in w and f"as {expected:%Y-%m-%d}" in w for w in warnings
    )


@pytest.mark.parametrize("dob", ["13/06/1925", "1925-06-13"])
def test_a_four_digit_year_is_read_without_a_word(dob):
    born, warnings = _patient(dob)
    assert born == dt.datetime(1925, 6, 13)
    assert not any("two-digit" in w for w in warnings)


def test_a_lab_file_repeating_a_two_digit_birth_year_says_it_once():
    result = import_text(
        "MRN,DOB,Collection Date,Test,Result,Units\n001,13/06/25,13/03/2026,WBC,5.0,10^9/L\n"
        "001,13/06/25,14/03/2026,WBC,4.0,10^9/L\n"
    )
    assert_balanced(result)
    assert pd.isna(result.patients_df().set_index("patient_id").loc["001", "birth_date"])
    warnings = [w.message for f in result.report.files for w in f.warnings]
    assert sum("'13/06/25' has a two-digit year" in w for w in warnings) == 1
    assert not any("not understood" in w for w in warnings)
    assert len(result.labs_df()) == 2  # the results stand; only the birth date is unknown


def test_the_rows_own_age_settles_a_two_digit_birth_year():
    """audit8 A7: "13/06/10" on 2026-12-01 is 1910-06-13 (aged 116) or 2010-06-13 (aged 16):
    both possible, so without more it is left unknown; an age column saying 16 settles it
    as 2010 (a child: the child's limits apply), one saying 116 as 1910."""
    import datetime as dt

    from dashboard.ingest import ImportOptions, Source, import_sources

    text = "patient_id,sex,date_of_birth,age\nP1,F,13/06/10,16\nP2,M,13/06/10,116\nP3,F,13/06/10,\n"
    r = import_sources([Source("patients.csv", text.encode())], ImportOptions(today=dt.date(2026, 12, 1)))
    born = r.patients_df().set_index("patient_id")["birth_date"]
    assert str(born["P1"].date()) == "2010-06-13"
    assert str(born["P2"].date()) == "1910-06-13"
    assert born.isna()["P3"]
