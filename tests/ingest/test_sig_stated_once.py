"""A dose is the number the source states, once, or the row is rejected with its reason
(probe30 F1, F5, F6, F7; probe28 F6).

Every expectation is worked out by hand from the instruction text: the number of tablets
times the strength of one tablet ("6 x 2.5 mg = 15 mg"), a ceiling or an approximation
that is not a dose, two schedules named together, and a course given on named days that
its frequency and its dates hold exactly.
"""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest

from dashboard.ingest import ImportOptions, Source, import_sources
from dashboard.ingest.sig import Sig, read_sig
from tests.support import csv_import, csv_review

AS_OF = dt.date(2026, 12, 5)


def _row(*cells: str) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerow(cells)
    return out.getvalue()


def _import(doses: str):
    """(stored rows as dicts, reasons of the rows rejected, warnings) of one doses CSV."""
    r = csv_import("", doses, as_of=AS_OF)
    df = r.doses.to_pandas()
    rows = df.to_dict("records") if len(df) else []
    files = r.report.files
    return rows, [p.message for f in files for p in f.problems], [w.message for f in files for w in f.warnings]


def _dose(drug: str, dose: str, unit: str = "", freq: str = "", start: str = "2026-01-01", end: str = ""):
    return _import(_row("P1", drug, dose, unit, freq, "oral", start, end))


# ------------------------------------------------------------------ F1 a tablet count with no unit


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # the count before the tablet strength: 6 x 2.5 mg = 15 mg
        ("Take 6 2.5mg tablets once a week", Sig("15 mg", "weekly")),
        ("Take SIX 2.5mg tablets ONCE a WEEK", Sig("15 mg", "weekly")),
        ("Take 14 2.5mg tablets once a week", Sig("35 mg", "weekly")),  # 14 x 2.5 = 35
        ("Take two 500 mg tablets twice a day", Sig("1000 mg", "BID")),  # 2 x 500 = 1000 each time
        ("Take 1 50 mg tablet daily", Sig("50 mg", "daily")),  # one tablet: its strength
        ("Take 1/2 50mg tablet daily", Sig("25 mg", "daily")),  # half of 50 = 25
        # the count after the verb, the strength named before it
        ("2.5 mg tablets, take 6 once weekly", Sig("15 mg", "weekly")),
        ("50 mg tablets, take 4 daily", Sig("200 mg", "daily")),  # 4 x 50 = 200
        ("50 mg tablets: take 2 twice a day", Sig("100 mg", "BID")),  # 2 x 50 = 100 each time
        ("2.5 mg tablets, take 1 weekly", Sig("2.5 mg", "weekly")),  # one tablet weekly either way
        # a total that the count and strength make (14 x 2.5 = 35)
        ("Take 14 2.5mg tablets (35 mg total) once a week", Sig("35 mg", "weekly")),
    ],
)
def test_a_bare_tablet_count_times_the_strength_is_the_dose(text, expected):
    assert read_sig(text) == expected


def test_a_bare_count_of_a_tablet_whose_strength_the_drug_names():
    """'Take 6 once weekly' of a 2.5 mg tablet: 6 tablets; the import makes 6 x 2.5 = 15."""
    assert read_sig("Take 6 once weekly", 2.5) == Sig("6 tablet", "weekly")
    rows, problems, _ = _dose("methotrexate 2.5 mg tablets", "", "", "Take 6 once weekly")
    assert [(r["dose"], r["mg_per_week"]) for r in rows] == [(15.0, 15.0)], problems


@pytest.mark.parametrize(
    ("text", "strength", "why"),
    [
        # six tablets once a week, or one tablet every 6 weeks (British "6-weekly")?
        ("2.5mg tablets take 6 weekly", None, "every 6 weeks"),
        ("Take 2 weekly", 2.5, "every 2 weeks"),
        # a range of counts: which one?
        ("50 mg tablets, take 1 to 2 daily", None, "range"),
        # two different counts in one row (morning and night)
        ("50 mg tablets, take 2 in the morning and 1 at night", None, "2"),
        # a count beside an amount that is not a tablet's strength: 2 of 100 mg, or 100 mg twice?
        ("100 mg, take 2 daily", None, "100 mg"),
        # 14 x 2.5 = 35, not the 30 stated: which is true?
        ("Take 14 2.5mg tablets (30 mg total) once a week", None, "not the 30 mg stated"),
        # a count beside a strength other than the product's (2.5 mg tablets of a 10 mg product?)
        ("2.5 mg tablets, take 6 once weekly", 10.0, "2.5"),
    ],
)
def test_a_bare_count_that_could_mean_two_things_is_rejected_with_its_reason(text, strength, why):
    sig = read_sig(text, strength)
    assert sig.amount == ""
    reason = sig.problem or sig.why or sig.unheld
    assert (sig.problem or sig.conflicting) and why in reason, sig


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # the numbers of a schedule or of a time are not counts of tablets
        ("Take 1 capsule (0.5 mg total) every 12 (twelve) hours", Sig("0.5 mg", "BID")),
        ("Take 150 mg 30 minutes before breakfast daily", Sig("150 mg", "daily")),
        ("1000 mg every 2 weeks", Sig("1000 mg", "every 2 weeks")),
        ("Take 400 mg 3 times a day", Sig("400 mg", "TID")),
        ("Take 2 tablets by mouth daily", Sig("2 tablet", "daily")),
        ("Take 100mg once daily (2 x 50mg tablets)", Sig("100 mg", "daily")),
        ("Take 2 daily", Sig("", "daily")),  # no strength known: no amount read, none guessed
    ],
)
def test_numbers_that_are_not_tablet_counts_read_as_before(text, expected):
    assert read_sig(text) == expected


@pytest.mark.parametrize(("dose", "freq"), [("2.5", "take 6 once weekly"), ("15", "take 6 once weekly")])
def test_a_bare_count_in_the_frequency_beside_a_dose_is_rejected(dose, freq):
    """A dose column of 2.5 (or 15) mg beside "take 6 once weekly": 6 tablets of 2.5 mg, or
    6 doses of 15 mg? The dose per administration is not guessed from the two."""
    rows, problems, _ = _dose("methotrexate", dose, "mg", freq)
    assert rows == [] and len(problems) == 1 and "'6'" in problems[0], problems


def test_a_bare_count_before_a_weekday_is_a_count():
    """'2.5mg tablets: 6 on Mondays' = 6 x 2.5 = 15 mg once a week."""
    assert read_sig("2.5mg tablets: 6 on Mondays") == Sig("15 mg", "weekly")


def test_a_methotrexate_count_above_the_ceiling_is_checked():
    """14 x 2.5 mg = 35 mg once a week: above the 30 mg/week ceiling (dose.mtx_above_max)."""
    _, rv = csv_review(
        "P1,2026-11-01,eGFR,70,mL/min/1.73m2\n",
        _row("P1", "methotrexate", "", "", "Take 14 2.5mg tablets once a week", "oral", "2026-01-01", ""),
        as_of=AS_OF,
    )
    assert "dose.mtx_above_max" in set(rv.dose_checks_df()["rule"])


# ------------------------------------------------------------------ F5 a decimal comma in one cell


def _semicolon(*rows: str) -> tuple[list[dict], list[str]]:
    """(stored rows, reasons of the rows rejected) of a semicolon-separated doses file."""
    head = "patient_id;drug;dose;frequency;route;start\n"
    res = import_sources([Source("doses.csv", (head + "".join(rows)).encode())], ImportOptions(today=AS_OF))
    df = res.doses.to_pandas()
    return (df.to_dict("records") if len(df) else []), [p.message for f in res.report.files for p in f.problems]


def test_decimal_commas_with_the_unit_in_the_cell():
    """'7,5 mg' weekly = 7.5 mg/week; '12,5 mg' daily = 12.5 mg/day; '1,5 g' bd = 1500 mg."""
    rows, problems = _semicolon(
        "P1;methotrexate;7,5 mg;weekly;oral;2026-01-01\n",
        "P2;prednisolone;12,5 mg;daily;oral;2026-01-01\n",
        "P3;mycophenolate mofetil;1,5 g;bd;oral;2026-01-01\n",
    )
    assert not problems
    assert sorted((r["patient_id"], r["dose"]) for r in rows) == [("P1", 7.5), ("P2", 12.5), ("P3", 1500.0)]


def test_a_decimal_point_in_a_decimal_comma_file_is_rejected_quoting_what_was_written():
    """Two doses write decimal commas, one a point: the point contradicts the file, and the
    reason quotes '7.5' as written."""
    rows, problems = _semicolon(
        "P1;methotrexate;7,5 mg;weekly;oral;2026-01-01\n",
        "P2;methotrexate;12,5 mg;weekly;oral;2026-01-01\n",
        "P3;methotrexate;7.5 mg;weekly;oral;2026-01-01\n",
    )
    assert sorted(r["patient_id"] for r in rows) == ["P1", "P2"]
    assert len(problems) == 1 and "'7.5'" in problems[0], problems


# ------------------------------------------------------------------ F6 a ceiling or an approximation


@pytest.mark.parametrize(
    ("dose", "unit", "why"),
    [
        ("up to 150 mg", "", "ceiling"),
        ("upto 150mg", "", "ceiling"),
        ("Max 150 mg", "", "ceiling"),
        ("maximum 150 mg", "", "ceiling"),
        ("150 mg max", "", "ceiling"),
        ("150mg maximum", "", "ceiling"),
        ("not more than 150 mg", "", "ceiling"),
        ("<150 mg", "", "ceiling"),
        ("at least 100 mg", "", "floor"),
        ("~100 mg", "", "approximate"),
        ("approx 100 mg", "", "approximate"),
        ("about 100 mg", "", "approximate"),
        ("100 mg?", "", "doubt"),
        # the unit in its own column
        ("up to 150", "mg", "ceiling"),
        ("~100", "mg", "approximate"),
        ("100?", "mg", "doubt"),
        ("150 max", "mg", "ceiling"),
    ],
)
def test_a_ceiling_an_approximation_or_a_doubt_is_not_a_dose(dose, unit, why):
    rows, problems, _ = _dose("azathioprine", dose, unit, "daily")
    assert rows == []
    assert len(problems) == 1 and why in problems[0], problems


def test_a_ceiling_in_the_instructions_column_is_not_a_dose():
    rows, problems, _ = _dose("azathioprine", "", "", "Take up to 3 50 mg tablets daily")
    assert rows == [] and any("ceiling" in p for p in problems), problems


@pytest.mark.parametrize(
    ("text", "frequency", "mg_day"),
    [
        # 200 mg twice a day is 400 mg a day: the ceiling restates the dose (a restatement, not a plan)
        ("200 mg bd, max 400 mg/day", "BID", 400.0),
        ("200mg twice daily (maximum 400mg per day)", "BID", 400.0),
        # 25 mg once a week is 25 mg a week
        ("Take 25 mg once weekly, not to exceed 25 mg a week", "weekly", 25.0 / 7),
    ],
)
def test_a_ceiling_that_restates_the_dose_beside_it_keeps_the_row(text, frequency, mg_day):
    drug = "methotrexate" if "weekly" in text else "hydroxychloroquine"
    rows, problems, warnings = _dose(drug, "", "", text)
    assert [(r["frequency"], r["mg_per_day"]) for r in rows] == [(frequency, pytest.approx(mg_day))], problems
    assert any("restates the dose" in w for w in warnings), warnings


@pytest.mark.parametrize(
    ("text", "why"),
    [
        # 100 mg twice a day is 200 mg a day, below 400: the dose may be raised, so not one number
        ("100 mg bd, max 400 mg/day", "may be raised"),
        ("Take 15 mg once weekly (maximum 25 mg per week)", "may be raised"),
        # 300 mg twice a day is 600 mg a day, above its own 400 mg ceiling: contradictory
        ("300 mg twice daily (max 400 mg/day)", "more than the row's own"),
    ],
)
def test_a_ceiling_beside_another_dose_is_rejected_with_the_reason(text, why):
    drug = "methotrexate" if "weekly" in text else "hydroxychloroquine"
    rows, problems, _ = _dose(drug, "", "", text)
    assert rows == []
    assert len(problems) == 1 and why in problems[0], problems


@pytest.mark.parametrize(("dose", "mg"), [("150 mg", 150.0), ("150", 150.0), ("Take 150 mg every morning", 150.0)])
def test_a_plain_amount_is_still_the_dose(dose, mg):
    rows, problems, _ = _dose("azathioprine", dose, "mg" if dose == "150" else "", "daily")
    assert [r["mg_per_day"] for r in rows] == [mg], problems


# ------------------------------------------------------------------ F7 two schedules named together


@pytest.mark.parametrize(
    "text",
    ["200mg od/bd alternate days", "200 mg od/bd", "200 mg OD or BD", "1 tablet bd/tds", "200mg daily/twice daily"],
)
def test_two_schedules_named_together_are_rejected_with_the_reason(text):
    rows, problems, _ = _dose("hydroxychloroquine", "", "", text)
    assert rows == []
    assert len(problems) == 1 and "two schedules" in problems[0], problems


@pytest.mark.parametrize(
    ("text", "frequency", "mg_day"),
    [
        ("200mg alternate days", "every 2 days", 100.0),  # 200 / 2
        ("200 mg every other day", "every 2 days", 100.0),
        ("200 mg bd", "BID", 400.0),
        ("200mg od", "daily", 200.0),
    ],
)
def test_one_schedule_is_still_read(text, frequency, mg_day):
    rows, problems, _ = _dose("hydroxychloroquine", "", "", text)
    assert [(r["frequency"], r["mg_per_day"]) for r in rows] == [(frequency, mg_day)], problems


# ------------------------------------------------------------------ probe28 F6 named days of a course


def test_named_days_that_the_frequency_and_dates_hold_are_kept_with_a_note():
    """Days 1, 15 and 29 every 2 weeks from 2026-01-01: 01-01, 01-15, 01-29; ended 01-30,
    after the last and before the next (02-12): 1000 mg every 2 weeks, said."""
    rows, problems, warnings = _dose("rituximab", "1 g on days 1, 15 and 29", "", "every 2 weeks", end="2026-01-30")
    assert [(r["dose"], r["frequency"]) for r in rows] == [(1000.0, "every 2 weeks")], problems
    assert any("days 1, 15 and 29" in w and "every 2 weeks" in w for w in warnings), warnings


@pytest.mark.parametrize("end", ["2026-01-16", "2026-01-29"])
def test_the_end_may_fall_anywhere_after_the_last_named_day_until_the_next_interval(end):
    """Days 1 and 15 every 2 weeks: doses 01-01 and 01-15; the next would be 01-29. An end on
    01-29 is the day the row stops (not in force on it), so 01-29 is not a dose."""
    rows, problems, _ = _dose("rituximab", "1 g on day 1 and day 15", "", "every 2 weeks", end=end)
    assert [(r["dose"], r["frequency"]) for r in rows] == [(1000.0, "every 2 weeks")], problems


@pytest.mark.parametrize(
    ("dose", "freq", "end"),
    [
        ("1 g on days 1 and 15", "every 2 weeks", ""),  # no end: the row would go on
        ("1 g on days 1 and 15", "", "2026-01-16"),  # no frequency
        ("1 g on days 1 and 15", "every 2 weeks", "2026-01-15"),  # ends on day 15: its dose not in force
        ("1 g on days 1 and 15", "every 2 weeks", "2026-01-30"),  # holds a third dose on 01-29
        ("1 g on days 1 and 15", "weekly", "2026-01-16"),  # weekly would give 01-08 too
        ("1 g on days 1 and 14", "every 2 weeks", "2026-01-16"),  # 13 days apart, not 14
        ("1 g on days 2 and 16", "every 2 weeks", "2026-01-17"),  # day 1 is the start: day 2 is not
        ("1 g on days 1 and 15", "monthly", "2026-01-16"),  # no fixed interval
        ("1 g weeks 0, 2 and 4", "every 2 weeks", "2026-01-30"),  # a loading phase, not named days
    ],
)
def test_named_days_the_row_does_not_hold_are_still_rejected(dose, freq, end):
    rows, problems, _ = _dose("rituximab", dose, "", freq, end=end)
    assert rows == [] and len(problems) == 1, (rows, problems)
