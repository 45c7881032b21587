"""Dose frequencies as prescribers and systems write them."""

import math

import pytest

from dashboard.ingest.frequency import disagreeing, parse_frequency
from dashboard.ingest.sig import read_sig, unreadable_frequency
from tests.support import import_text


@pytest.mark.parametrize(
    ("text", "canonical", "per_day"),
    [
        ("daily", "daily", 1),
        ("OD", "daily", 1),
        ("once daily", "daily", 1),
        ("1 /d", "daily", 1),
        ("BID", "BID", 2),
        ("bd", "BID", 2),
        ("twice daily", "BID", 2),
        ("q12h", "BID", 2),
        ("TDS", "TID", 3),
        ("QID", "QID", 4),
        ("weekly", "weekly", 1 / 7),
        ("once weekly", "weekly", 1 / 7),
        ("qWeek", "weekly", 1 / 7),
        ("1x/week", "weekly", 1 / 7),
        ("every 2 weeks", "every 2 weeks", 1 / 14),
        ("q2w", "every 2 weeks", 1 / 14),
        ("fortnightly", "every 2 weeks", 1 / 14),
        ("every 4 weeks", "every 4 weeks", 1 / 28),
        ("q4w", "every 4 weeks", 1 / 28),
        ("every 14 days", "every 2 weeks", 1 / 14),
        ("monthly", "monthly", 12 / 365.25),
        # the UK's "N-weekly" is every N weeks (probe26 F5, H432)
        ("4-weekly", "every 4 weeks", 1 / 28),
        ("3 weekly", "every 3 weeks", 1 / 21),
        ("12-weekly", "every 12 weeks", 1 / 84),
        ("every 4/52", "every 4 weeks", 1 / 28),  # British shorthand with "every" said
        ("q4/52", "every 4 weeks", 1 / 28),
        ("toutes les 4 semaines", "every 4 weeks", 1 / 28),
        ("cada 4 semanas", "every 4 weeks", 1 / 28),
        ("ogni 4 settimane", "every 4 weeks", 1 / 28),
        ("single", "single", math.nan),
        ("stat", "single", math.nan),
        ("prn", "unknown", math.nan),
        ("taper as directed", "unknown", math.nan),
    ],
)
def test_frequencies(text, canonical, per_day):
    f = parse_frequency(text)
    assert f is not None and f.canonical == canonical
    assert (math.isnan(per_day) and math.isnan(f.per_day)) or f.per_day == pytest.approx(per_day)


@pytest.mark.parametrize(
    "text", ["biweekly", "sometimes", "3x", "6-monthly", "3 monthly", "twice monthly", "4/52", "6/12", "every 6/12"]
)
def test_unreadable_frequencies(text):
    assert parse_frequency(text) is None


@pytest.mark.parametrize(
    ("text", "frequency"),
    [
        ("1000 mg IV 4-weekly", "every 4 weeks"),
        ("500 mg IV 6-monthly", ""),  # every 6 months: no schedule held, never "monthly"
        ("100 mg twice monthly", ""),
        ("500 mg every 6 months", ""),
        ("15 mg weekly", "weekly"),
        ("2.5mg x 6 weekly", "weekly"),  # six tablets weekly, never "every 6 weeks" (H438)
    ],
)
def test_a_sig_never_reads_the_weekly_or_monthly_inside_another_schedule(text, frequency):
    """probe26 F5 (H432): "4-weekly" is not "weekly" (four times the dose), "6-monthly" not
    "monthly" (six infusions for one)."""
    assert read_sig(text).frequency == frequency


@pytest.mark.parametrize(
    ("one", "other", "expected"),
    [
        ("weekly", "daily", ("weekly", "daily")),  # the dose text's frequency and the column disagree
        ("once a week", "weekly", None),  # the same schedule written two ways
        ("q2w", "every 2 weeks", None),
        ("as directed", "daily", None),  # no schedule contradicts nothing
        ("", "daily", None),  # one side silent
        ("BID", "TID", ("BID", "TID")),
        ("biweekly", "weekly", None),  # unreadable ("biweekly" means two things): not a clash
    ],
)
def test_two_frequency_texts_disagree_only_when_both_name_a_different_schedule(one, other, expected):
    assert disagreeing(one, other) == expected


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("4/52", "British shorthand for 4 weeks: every 4 weeks, or for 4 weeks, is not guessed"),
        ("6/12", "British shorthand for 6 months"),
        ("every 6/12", "every 6 months, a schedule in months other than monthly"),
        ("1-2 weekly", "a range of intervals"),
        ("sometimes", ""),
    ],
)
def test_a_frequency_not_read_says_why_where_it_can(text, said):
    """probe27 (doubtful 1): "4/52" was rejected only as "not understood"."""
    why = unreadable_frequency(text)
    assert (said in why) if said else why == ""


def test_the_rejected_row_carries_the_reason():
    r = import_text(
        "patient_id,drug,dose,dose_unit,frequency,route,start,end\nP1,rituximab,1000,mg,4/52,iv,2026-01-01,\n",
        name="doses.csv",
    )
    messages = [p.message for f in r.report.files for p in f.problems]
    assert any("frequency not understood ('4/52'): '4/52' is the British shorthand for 4 weeks" in m for m in messages)
