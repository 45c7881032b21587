"""Prescription instructions: the amount and frequency they state plainly, never a guess."""

import pytest

from dashboard.ingest.sig import Sig, read_sig


@pytest.mark.parametrize(
    ("text", "strength", "expected"),
    [
        ("Take 2 tablets (100 mg total) by mouth daily.", 50, Sig("100 mg", "daily")),
        ("Take 1000 mg by mouth 2 (two) times daily.", None, Sig("1000 mg", "BID")),
        ("TAKE 1 TABLET BY MOUTH TWICE DAILY", None, Sig("1 tablet", "BID")),
        ("Take ONE tablet TWICE a day", None, Sig("1 tablet", "BID")),
        ("Take 1 capsule (0.5 mg total) every 12 (twelve) hours", None, Sig("0.5 mg", "BID")),
        ("Inject 0.6 mL (15 mg total) under the skin once a week on Fridays", None, Sig("15 mg", "weekly")),
        ("Take 3 tablets every Monday", None, Sig("3 tablet", "weekly")),
        ("Take 1/2 tablet by mouth every other day", None, Sig("0.5 tablet", "every 2 days")),
        ("1 g bd", None, Sig("1000 mg", "BID")),
        ("Take 150 mg by mouth every morning.", None, Sig("150 mg", "daily")),
        ("1 tablet (50 mg) daily", 50, Sig("50 mg", "daily")),  # count and mass agree
        # amounts that disagree are never resolved by picking one
        ("2.5mg x 6 tabs weekly (15mg)", 2.5, Sig("", "weekly", conflicting=True)),
        ("500mg in the morning and 1g at night", None, Sig("", "daily", conflicting=True)),
        ("Take 2 tablets in the morning and 1 tablet at night", None, Sig("", "daily", conflicting=True)),
        ("1 tablet (50 mg) daily", None, Sig("", "daily", conflicting=True)),  # strength unknown
        ("2 x 500 mg bd", None, Sig("", "BID", conflicting=True)),
        # a schedule the model has no word for is not read as weekly
        ("Take 2 tablets by mouth twice weekly", None, Sig("2 tablet", "")),
        ("Take 40 mg daily then taper as directed", None, Sig("40 mg", "prn")),
    ],
)
def test_prescription_instructions(text, strength, expected):
    assert read_sig(text, strength) == expected


@pytest.mark.parametrize(
    "text",
    [
        "25mg/ml 0.6ml weekly",  # a concentration: 0.6 ml of 25 mg/ml is 15 mg, not 25
        "25 mg/mL, inject 0.6 mL weekly",
        "500mg/250mg bd",  # two amounts run together (morning/evening?): neither is picked
    ],
)
def test_an_amount_per_volume_or_a_slashed_pair_is_not_a_dose(text):
    sig = read_sig(text)
    assert sig.amount == ""
    assert sig.problem or sig.conflicting


def test_a_concentration_says_why():
    assert "concentration" in read_sig("25mg/ml 0.6ml weekly").problem


def test_a_concentration_next_to_the_stated_dose_keeps_the_dose():
    # the strength of the syringe and the dose in mg: the dose is stated, so it is read
    assert read_sig("methotrexate 25 mg/ml: inject 15 mg once weekly") == Sig("15 mg", "weekly")


@pytest.mark.parametrize("text", ["50mg tablet x2 daily", "50 mg tabs x 2 daily", "2 tablets x 50mg daily"])
def test_tablets_times_a_count_is_never_read_as_one_tablet(text):
    # "50 mg tablet x2" is 100 mg per dose if the x means two tablets, or a pack size;
    # reading it as 50 mg (the first amount) would halve the dose
    sig = read_sig(text)
    assert sig.amount == "" and sig.conflicting


@pytest.mark.parametrize(
    ("text", "more_often_than_weekly"),
    [
        ("3x weekly", True),
        ("Take 10 mg by mouth 3 times a week", True),
        ("2 days a week", True),
        ("5 days per week", True),
        ("weekly on Mon and Thu", True),
        ("every Monday and Thursday", True),
        ("daily except Sunday", True),
        ("daily Mon-Fri", True),
        ("daily for 5 days", False),  # a course with an end: not ongoing
    ],
)
def test_a_schedule_the_model_cannot_hold_is_never_read_as_its_nearest(text, more_often_than_weekly):
    sig = read_sig(text)
    assert sig.unheld and sig.often == more_often_than_weekly
    if more_often_than_weekly:
        assert sig.frequency == ""  # never "weekly" or "daily"


@pytest.mark.parametrize(
    ("text", "frequency"),
    [
        ("Take 3 tablets every Monday", "weekly"),
        ("once a week on Fridays", "weekly"),
        ("every 2 weeks", "every 2 weeks"),
        ("1 x weekly", "weekly"),
        ("15 mg per week", "weekly"),
        ("7 days a week", "daily"),
    ],
)
def test_once_weekly_and_every_day_schedules_are_still_read(text, frequency):
    sig = read_sig(text)
    assert (sig.unheld, sig.frequency) == ("", frequency)
