"""The columns of the review's output tables, read once from ``data/tables.toml``.

Each table (flags, results after the as-of date, schedule, dose checks, summary,
intervals) is a tuple of ``(name, Arrow type, meaning)`` in column order: the rules build
their tables in that order and the documentation of the columns is checked against it.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import pyarrow as pa

from dashboard import model
from dashboard.rules.data import ctcae_file, load

#: A column: its name, Arrow type and meaning.
Column = tuple[str, pa.DataType, str]

TYPES: dict[str, pa.DataType] = {
    "string": pa.string(),
    "float64": pa.float64(),
    "int64": pa.int64(),
    "int8": pa.int8(),
    "bool": pa.bool_(),
    "timestamp": pa.timestamp("s"),
    # a schedule row's test groups, each with its own dates (schedule.due_groups)
    "due_groups": pa.list_(
        pa.struct(
            [
                ("tests", pa.string()),
                ("last", pa.timestamp("s")),
                ("due", pa.timestamp("s")),
                ("days_overdue", pa.int64()),
            ]
        )
    ),
}


def ctcae_analytes() -> tuple[str, ...]:
    """The analytes with a CTCAE term, in model order (one summary column each)."""
    terms = ctcae_file()["terms"]  # the file itself: this module needs no grading code
    return tuple(a for a in model.ANALYTES if a in terms)


@cache
def columns(table: str) -> tuple[Column, ...]:
    """The columns of one output table (``flags``, ``after_as_of``, ``schedule``,
    ``dose_checks``, ``summary``, ``intervals``, or ``result``: the columns that say
    which result a row is about)."""
    out: list[Column] = []
    for item in load("tables.toml")[table]["columns"]:
        out.extend(_expand(item))
    names = [c[0] for c in out]
    if len(set(names)) != len(names):
        raise ValueError(f"tables.toml: a column of {table!r} is listed twice")
    return tuple(out)


def _expand(item: Any) -> list[Column]:
    if isinstance(item, str) and item.startswith("@"):
        return list(columns(item[1:]))
    if isinstance(item, dict):
        name, typ, meaning = item["each_ctcae_analyte"]
        return [
            (name.format(analyte=a), TYPES[typ], meaning.format(label=model.analyte_label(a))) for a in ctcae_analytes()
        ]
    name, typ, meaning = item
    return [(name, TYPES[typ], meaning)]


def schema(table: str) -> pa.Schema:
    """The Arrow schema of one output table."""
    return pa.schema([pa.field(name, typ) for name, typ, _ in columns(table)])
