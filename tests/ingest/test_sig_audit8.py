"""Instructions read as the dose they state, or rejected with the reason (audit8 A1-A4).

Every expectation is worked out by hand from the instruction text and the strength of one
tablet: 2 tablets of 50 mg in the morning and 2 at night are 4 x 50 = 200 mg a day, given
as 100 mg twice a day; 8 tablets of 2.5 mg are 20 mg; never the code's output copied.
"""

from __future__ import annotations

import datetime as dt

import pytest

from dashboard.ingest.sig import read_sig
from tests.support import csv_import

AS_OF = dt.date(2026, 12, 5)


def _import(drug: str, instructions: str):
    """(stored rows as dicts, reasons of the rows rejected) of one row whose dose is given
    only in its instructions (the frequency column)."""
    r = csv_import("", f'P1,{drug},,,"{instructions}",oral,2026-01-01,\n', as_of=AS_OF)
    df = r.doses.to_pandas()
    rows = df.to_dict("records") if len(df) else []
    return rows, [p.message for f in r.report.files for p in f.problems]


# ------------------------------------------------------------------ A1 doses at times of day


@pytest.mark.parametrize(
    ("text", "strength", "amount", "frequency"),
    [
        # the same count at two times of day: that count twice a day
        ("take 2 in the morning and 2 at night", 50.0, "2 tablet", "BID"),
        ("take 1 in the morning and 1 at night", 50.0, "1 tablet", "BID"),
        ("2 mane 2 nocte", 50.0, "2 tablet", "BID"),
        ("take 2 tablets in the morning and 2 tablets at night", None, "2 tablet", "BID"),
        # one amount, then a list of times: once at each
        ("take 2 at night and in the morning", 50.0, "2 tablet", "BID"),
        ("take 1 in the morning, at lunchtime and at night", 50.0, "1 tablet", "TID"),
        ("1 tablet mane, 1 tablet midday, 1 tablet nocte", None, "1 tablet", "TID"),
        # the same mass at two times, in two units: 1 g is 1000 mg
        ("100 mg in the morning and 100 mg at night", None, "100 mg", "BID"),
        ("1 g in the morning and 1000 mg at night", None, "1000 mg", "BID"),
        # a choice of times is once a day, at either
        ("take 1 in the morning or at night", 50.0, "1 tablet", "daily"),
    ],
)
def test_the_same_dose_at_several_times_of_day_is_that_dose_so_many_times_a_day(text, strength, amount, frequency):
    sig = read_sig(text, strength)
    assert (sig.amount, sig.frequency, sig.conflicting) == (amount, frequency, False)


@pytest.mark.parametrize(
    ("text", "said"),
    [
        # different counts: two doses, one row holds one
        ("take 2 in the morning and 1 at night", "'2', '1'"),
        # different masses at two times: two doses
        ("10 mg in the morning and 5 mg at night", "do not agree"),
        # a dose in the morning and a word of the night: which is given when?
        ("take 1 each morning, do not take at night", "2 times of day"),
        # two times a day and once a week: which?
        ("take 1 in the morning and 1 at night on mondays", "another schedule"),
        # "once daily" beside two times of day
        ("take 1 once daily (morning and night)", "another schedule"),
    ],
)
def test_doses_at_times_of_day_that_one_row_cannot_hold_are_rejected_with_the_reason(text, said):
    sig = read_sig(text, 50.0)
    assert sig.amount == "" and sig.conflicting
    rows, problems = _import("azathioprine 50 mg tablets", text)
    assert rows == [] and len(problems) == 1 and said in problems[0], problems


def test_two_tablets_morning_and_night_are_200_mg_a_day():
    """4 x 50 mg = 200 mg a day, as 100 mg twice a day (was 100 mg once a day)."""
    rows, problems = _import("azathioprine 50 mg tablets", "take 2 in the morning and 2 at night")
    assert [(r["dose"], r["frequency"], r["mg_per_day"]) for r in rows] == [(100.0, "BID", 200.0)], problems


def test_one_time_of_day_is_still_once_a_day():
    """'every morning' and '30 minutes before breakfast' name one time of day: daily."""
    sig = read_sig("Take 150 mg by mouth every morning.")
    assert (sig.amount, sig.frequency) == ("150 mg", "daily")
    assert read_sig("Take 150 mg 30 minutes before breakfast daily").frequency == "daily"


# ------------------------------------------------------------------ A2 a bare number: tablets or mg?


@pytest.mark.parametrize(
    ("text", "strength", "said"),
    [
        # 5 tablets of 5 mg (25 mg), or 5 mg (one tablet)? the count equals the strength
        ("take 5 daily", 5.0, "5 tablets (25 mg), or 5 mg (1 tablet)"),
        # 10 tablets of 5 mg (50 mg), or 10 mg (two tablets)? both are doses of prednisolone
        ("take 10 daily", 5.0, "10 tablets (50 mg), or 10 mg (2 tablets)"),
        # 3 tablets of 2.5 mg (7.5 mg)... or 7.5 tablets (18.75 mg)? 7.5 mg is three tablets
        ("take 7.5 once weekly", 2.5, "7.5 tablets (18.75 mg), or 7.5 mg (3 tablets)"),
        # the strength written in the text, as before: 5 tablets of 5 mg, or 5 mg?
        ("5 mg tablets, take 5 daily", None, "5 tablets (25 mg), or 5 mg (1 tablet)"),
    ],
)
def test_a_bare_number_that_is_also_a_whole_number_of_tablets_in_mg_is_not_guessed(text, strength, said):
    sig = read_sig(text, strength)
    assert sig.amount == "" and sig.conflicting and said in sig.why, sig


@pytest.mark.parametrize(
    ("text", "strength"),
    [
        ("take 400 twice daily", 200.0),  # 400 tablets of 200 mg = 80 g: 400 mg meant?
        ("Take 25 on Mondays", 2.5),  # 25 tablets of 2.5 mg = 62.5 mg: 25 mg meant?
        ("50 mg tablets, take 400 daily", None),  # the strength in the text, the same bound
        ("take 21 daily", 1.0),  # one above the bound of 20 (dosing.toml [bare_tablet_count]), even of a 1 mg tablet
    ],
)
def test_a_bare_count_above_a_plausible_number_of_tablets_is_rejected(text, strength):
    sig = read_sig(text, strength)
    assert sig.amount == "" and "no plausible number of tablets" in sig.problem and "more than 20" in sig.problem


@pytest.mark.parametrize(
    ("text", "strength", "amount"),
    [
        ("take 6 once weekly", 2.5, "6 tablet"),  # 6 mg is 2.4 tablets: 6 tablets (15 mg)
        ("take 2 daily", 5.0, "2 tablet"),  # 2 mg is 0.4 of a tablet: 2 tablets (10 mg)
        ("take 5 daily", 1.0, "5 tablet"),  # 5 tablets of 1 mg are 5 mg: the readings agree
        ("take 20 daily", 1.0, "20 tablet"),  # at the bound: still a count
    ],
)
def test_a_bare_count_that_can_only_be_tablets_is_read(text, strength, amount):
    assert read_sig(text, strength).amount == amount


def test_a_bare_number_beside_the_products_strength_is_rejected_on_import():
    """Prednisolone 5 mg tablets, 'take 5 daily': rejected with the question, not 25 mg/day."""
    rows, problems = _import("prednisolone 5mg tablets", "take 5 daily")
    assert rows == [] and len(problems) == 1 and "5 tablets (25 mg), or 5 mg" in problems[0], problems


def test_the_bound_is_read_from_the_data_file():
    from dashboard.ingest.sig import max_bare_tablet_count

    assert max_bare_tablet_count() == 20.0


# ------------------------------------------------------------------ A3 a count and the amount it makes


@pytest.mark.parametrize(
    ("text", "strength", "amount"),
    [
        ("take 8 once a week (20mg)", 2.5, "20 mg"),  # 8 x 2.5 = 20: the amount said twice
        ("2.5mg tabs: take 8 once a week (20mg)", None, "20 mg"),  # the strength in the text
        ("take 5 daily (25 mg)", 5.0, "25 mg"),  # 5 x 5 = 25: the stated amount settles tablets or mg
        ("100 mg, take 2 daily", 50.0, "100 mg"),  # 2 x 50 = 100
    ],
)
def test_a_count_that_makes_the_amount_stated_is_that_amount(text, strength, amount):
    sig = read_sig(text, strength)
    assert (sig.amount, sig.conflicting) == (amount, False)


@pytest.mark.parametrize(
    ("text", "strength", "said"),
    [
        # 8 x 2.5 = 20, not 25: which is true?
        ("take 8 once a week (25mg)", 2.5, "8 tablets of 2.5 mg are 20 mg, not the 25 mg stated"),
        # tablets of 2.5 mg in the text, 10 mg in the product: which?
        ("2.5mg tabs: take 8 once a week (20mg)", 10.0, "product's tablet is 10 mg"),
        # no strength known: 8 tablets of 20 mg, or 20 mg 8 times?
        ("take 8 once a week (20mg)", None, "8 tablets of 20 mg, or 20 mg 8 times"),
    ],
)
def test_a_count_that_does_not_make_the_amount_stated_is_rejected_with_the_reason(text, strength, said):
    sig = read_sig(text, strength)
    assert sig.amount == "" and sig.conflicting and said in sig.why, sig


def test_eight_methotrexate_tablets_stated_as_20_mg_are_20_mg_a_week_on_import():
    rows, problems = _import("methotrexate 2.5 mg tablets", "take 8 once a week (20mg)")
    assert [(r["dose"], r["mg_per_week"]) for r in rows] == [(20.0, 20.0)], problems


# ------------------------------------------------------------------ A4 an approximate amount per kg beside the dose


@pytest.mark.parametrize(
    ("text", "amount", "remark"),
    [
        ("100 mg daily (~2 mg/kg)", "100 mg", "'~2 mg/kg'"),
        ("150 mg od (approx 2.5 mg/kg)", "150 mg", "'approx 2.5 mg/kg'"),
        ("150 mg od (approx. 2.5 mg/kg/day)", "150 mg", "'approx. 2.5 mg/kg/day'"),
        ("50 mg tablets, take 2 daily (about 1.7 mg/kg)", "100 mg", "'about 1.7 mg/kg'"),  # 2 x 50 = 100
    ],
)
def test_an_approximate_amount_per_kg_beside_the_dose_is_a_remark(text, amount, remark):
    sig = read_sig(text)
    assert (sig.amount, sig.frequency, sig.problem, sig.conflicting) == (amount, "daily", "", False)
    assert f"{remark} read as a remark on the dose" in sig.note


@pytest.mark.parametrize(
    ("text", "said"),
    [
        # the approximate amount per kg is the only amount: an approximate dose, quoted whole
        ("~2 mg/kg daily", "'~2 mg/kg' is an approximate amount"),
        ("take approx 2 mg/kg/day", "'approx 2 mg/kg/day' is an approximate amount"),
        # the dose itself approximate: rejected, whatever the remark beside it
        ("~100 mg daily (~2 mg/kg)", "'~100 mg' is an approximate amount"),
    ],
)
def test_an_approximate_amount_per_kg_that_is_the_dose_is_rejected_and_quoted_whole(text, said):
    sig = read_sig(text)
    assert sig.amount == "" and said in sig.problem, sig


def test_a_stated_amount_per_kg_beside_the_dose_is_still_not_guessed():
    """'100 mg daily (2 mg/kg)': no approximation written, two doses named (H497): rejected."""
    sig = read_sig("100 mg daily (2 mg/kg)")
    assert sig.amount == "" and sig.conflicting and "'2 mg/kg' beside '100 mg'" in sig.why


def test_azathioprine_with_a_per_kg_remark_is_100_mg_a_day_on_import():
    rows, problems = _import("azathioprine", "100 mg daily (~2 mg/kg)")
    assert [(r["dose"], r["mg_per_day"]) for r in rows] == [(100.0, 100.0)], problems
