"""The contracts documented in dashboard/rules/__init__.py match the tables."""

from __future__ import annotations

import re

import dashboard.rules as rules
from dashboard.rules.dose_checks import DOSE_CHECK_FIELDS
from dashboard.rules.flags import FLAG_FIELDS
from dashboard.rules.output import JSON_FLAG_FIELDS
from dashboard.rules.schedule import SCHEDULE_FIELDS
from dashboard.rules.summary import CTCAE_ANALYTES, INTERVAL_FIELDS, SUMMARY_FIELDS
from tests.rules.builders import dose, lab, run


def section(title: str) -> str:
    doc = rules.__doc__
    start = doc.index(title)
    nxt = re.search(r"\n\n[A-Z][^\n]+\n-{5,}", doc[start + len(title) :])
    return doc[start : start + len(title) + (nxt.start() if nxt else len(doc))]


def documented_rows(text: str) -> list[str]:
    return [m.group(1) for m in re.finditer(r"^([a-z_<>]+)\s{2,}", text, re.MULTILINE)]


def test_flag_columns_are_documented_in_order():
    assert documented_rows(section("Flags table")) == [f[0] for f in FLAG_FIELDS]


def test_summary_columns_are_documented():
    names = [f[0] for f in SUMMARY_FIELDS]
    grades = [f"ctcae_{a}" for a in CTCAE_ANALYTES]
    expected = [n for n in names if n not in grades]
    expected.insert(expected.index("open_ctcae"), "ctcae_<analyte>")
    assert documented_rows(section("Summary table")) == expected


def test_other_tables_are_documented():
    for title, fields in (
        ("Schedule table", SCHEDULE_FIELDS),
        ("Dose-check table", DOSE_CHECK_FIELDS),
        ("Intervals", INTERVAL_FIELDS),
    ):
        text = section(title)
        for name, _, _ in fields:
            assert re.search(rf"\b{name}\b", text), (title, name)


def test_tables_have_the_documented_columns():
    rv = run([lab("P1", "2024-05-01", "wbc", 2.5)], [dose("P1", "azathioprine", "2024-01-01", amount=100)])
    assert rv.flags.column_names == [f[0] for f in FLAG_FIELDS]
    assert rv.summary.column_names == [f[0] for f in SUMMARY_FIELDS]
    assert rv.schedule.column_names == [f[0] for f in SCHEDULE_FIELDS]
    assert rv.dose_checks.column_names == [f[0] for f in DOSE_CHECK_FIELDS]
    assert set(JSON_FLAG_FIELDS) <= set(rv.flags.column_names)
