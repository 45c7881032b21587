"""Patient identity (pure): the name and date-of-birth layout of the NHS core identifiers
standard (ISB 1077 / DSCN 04/2009), the two-identifier label, and what counts as a conflict.

Expected values are written from the standard: family name in capitals before the given
name ("SMITH, John"), date of birth DD-Mmm-YYYY ("12-Mar-1980").
"""

import datetime as dt
import math

import numpy as np
import pandas as pd
import pytest

from dashboard.identity import (
    IdentityConflict,
    age_years,
    birth_text,
    differs,
    patient_label,
    person_name,
    same_name,
    whole_years,
)


def test_a_name_from_parts_puts_the_family_name_first_in_capitals():
    assert person_name(family="Doe", given="Jane") == "DOE, Jane"
    assert person_name(family="  van der  Berg ", given="Anna Maria") == "VAN DER BERG, Anna Maria"
    assert person_name(family="Doe") == "DOE"
    assert person_name(given="Jane") == "Jane"


def test_a_full_name_is_kept_as_written():
    assert person_name("Jane  Doe ") == "Jane Doe"
    assert person_name("DOE, JANE") == "DOE, JANE"
    assert person_name("") == ""


@pytest.mark.parametrize(
    "birth",
    [dt.datetime(1980, 3, 12), dt.date(1980, 3, 12), pd.Timestamp("1980-03-12"), np.datetime64("1980-03-12")],
)
def test_a_date_of_birth_reads_the_same_in_every_country(birth):
    assert birth_text(birth) == "12-Mar-1980"  # not 12/03/1980, which a US reader takes for 3 December


@pytest.mark.parametrize("missing", [None, pd.NaT, float("nan"), np.datetime64("NaT")])
def test_an_unknown_date_of_birth_is_empty_text(missing):
    assert birth_text(missing) == ""
    assert age_years(missing, dt.date(2026, 1, 1)) is None


def test_age_counts_whole_years_to_the_day():
    assert age_years(dt.date(1980, 3, 12), dt.date(2026, 3, 11)) == 45
    assert age_years(dt.date(1980, 3, 12), dt.date(2026, 3, 12)) == 46


def test_a_leap_day_birthday_counts_from_the_first_of_march_in_other_years():
    born = dt.date(1980, 2, 29)
    assert whole_years(born, dt.date(2025, 2, 28)) == 44
    assert whole_years(born, dt.date(2025, 3, 1)) == 45
    assert whole_years(born, dt.date(2024, 2, 29)) == 44
    assert age_years(pd.Timestamp("1980-02-29 08:30"), dt.date(2025, 3, 1)) == 45


def test_the_label_gives_two_identifiers_beside_the_mrn():
    assert patient_label("10023456", "DOE, Jane", dt.date(1980, 3, 12)) == "DOE, Jane · 12-Mar-1980 · MRN 10023456"
    assert patient_label("10023456", "", dt.date(1980, 3, 12)) == "12-Mar-1980 · MRN 10023456"
    assert patient_label("10023456", "DOE, Jane", None, 54.0) == "DOE, Jane · age 54 · MRN 10023456"
    assert patient_label("10023456") == "MRN 10023456"
    assert patient_label("10023456", age=math.nan) == "MRN 10023456"


def test_the_same_name_written_differently_is_not_a_conflict():
    assert same_name("DOE, Jane", "Jane Doe")
    assert same_name("DOE, JANE", "Doe,  Jane")
    assert same_name("MÜLLER, Jürgen", "Jurgen Muller")
    assert not same_name("DOE, Jane", "DOE, John")
    assert not differs("name", "DOE, Jane", "jane doe")
    assert differs("name", "DOE, Jane", "DOE, Janet")
    assert not differs("name", "DOE, Jane", "")  # a blank never conflicts


def test_two_dates_of_birth_conflict_whatever_their_type():
    assert not differs("birth_date", dt.datetime(1980, 3, 12), pd.Timestamp("1980-03-12"))
    assert differs("birth_date", dt.datetime(1980, 3, 12), pd.Timestamp("1980-12-03"))
    assert not differs("birth_date", dt.datetime(1980, 3, 12), pd.NaT)


def test_a_conflict_says_which_files_disagree_and_survives_json():
    c = IdentityConflict("10023456", "name", [("DOE, Jane", "patients.csv", 2), ("DOE, John", "labs.csv", 7)])
    assert "patient 10023456 has two names" in c.message
    assert "'DOE, Jane' in patients.csv row 2" in c.message and "'DOE, John' in labs.csv row 7" in c.message
    again = IdentityConflict.from_dict(c.to_dict())
    assert again == c
