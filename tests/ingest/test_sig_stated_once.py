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
from tests.support import csv_import

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
