"""What a format reader shares with the import: the user's choices, the import's context,
what a table turned into, and the date-order decision.

The format readers (``fhir``, ``mimic``, ``smart``, ``synthea``) and the generic column
mapping (``pipeline``) all build on this module; the import (``pipeline``) calls the
readers listed in :mod:`dashboard.ingest.readers`.  Nothing here imports a reader, so
the readers never import the import.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from dashboard.ingest import dates as dates_mod
from dashboard.ingest.labs import LabCandidates
from dashboard.ingest.report import FileReport
from dashboard.ingest.tabular import RawTable


@dataclass(frozen=True)
class ImportOptions:
    """Choices the user made.

    date_order  "dayfirst" or "monthfirst" for files whose dates cannot settle it
    mapping     source column -> field name, analyte id or "ignore" (``--map``)
    today       the date future results are checked against (default: today)
    """

    date_order: str | None = None
    mapping: dict[str, str] = field(default_factory=dict)
    today: dt.date | None = None

    @property
    def as_of(self) -> dt.date:
        return self.today or dt.date.today()


class NeedsChoice(Exception):
    """A file cannot be imported until the user chooses (date order or mapping)."""

    def __init__(self, needs: str, message: str) -> None:
        super().__init__(message)
        self.needs = needs
        self.message = message


class FormatError(Exception):
    """A recognised format with content that cannot be used (message for the user)."""


#: ctx.extra key: the resources the other FHIR files of an import mark entered-in-error
#: (``Type/id`` -> :class:`dashboard.ingest.fhir.document.Withdrawal` list), set by the
#: import before each file is read (H469).
WITHDRAWN_ELSEWHERE = "fhir_withdrawn_elsewhere"


@dataclass
class Context:
    """State shared by the files of one import (e.g. a MIMIC lab dictionary)."""

    options: ImportOptions
    lab_items: dict[str, tuple[str, str]] = field(default_factory=dict)  # itemid -> (label, loinc)
    diagnoses: dict[str, list[str]] = field(default_factory=dict)  # patient -> conditions
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class Parsed:
    """What one table turned into (before combining across files)."""

    report: FileReport
    labs: LabCandidates | None = None
    doses: pa.Table | None = None
    dose_accepted: int = 0
    patients: pa.Table | None = None
    patient_accepted: int = 0
    priority: int = 1  # dictionaries first
    #: who the patients of a lab file are, when it says (name, date of birth, sex on its
    #: rows): one dict per distinct identity, merged into the patients without counting rows
    identities: list[dict[str, Any]] = field(default_factory=list)
    #: other identifiers the file gives its patients (a FHIR Patient's MRN beside its
    #: logical id): (patient id, what the identifier is, its value); named when another
    #: file uses the value as a patient id, never used to merge
    aliases: list[tuple[str, str, str]] = field(default_factory=list)
    #: (patient id, row) of the patient rows that ride on a row of another kind (a FHIR
    #: Patient contained in a result, H355): the result settles the row, so a patient row
    #: that adds nothing is no duplicate row
    patient_riders: set[tuple[str, int]] = field(default_factory=set)


#: A format reader: returns a Parsed for the tables it recognises, else None.
Reader = Callable[[RawTable, FileReport, Context], "Parsed | None"]


def decide_dates(rep: FileReport, arrays: list[pa.Array], ctx: Context) -> dates_mod.OrderDecision:
    """Decide the file's date order or raise NeedsChoice with a message for the user."""
    arrays = [a for a in arrays if a is not None and len(a)]
    try:
        decision = dates_mod.decide_order(arrays, ctx.options.date_order)
    except dates_mod.DateOrderNeeded as need:
        rep.date_order = "ambiguous"
        raise NeedsChoice(
            "date_order",
            f"dates such as {need.example} could be day-first or month-first and nothing in the file settles it; "
            "choose the date order (--dayfirst or --monthfirst)",
        ) from None
    except dates_mod.DateOrderConflict as conflict:
        rep.date_order = "conflicting"
        raise NeedsChoice(
            "date_order",
            f"the file mixes day-first dates ({conflict.dayfirst_example}) and month-first dates "
            f"({conflict.monthfirst_example}); fix the file or choose an order to reject the others",
        ) from None
    rep.date_order = decision.order
    rep.date_order_reason = decision.reason
    return decision


def mapped_column(raw: RawTable, fields: dict[str, str], name: str) -> pa.Array | None:
    """The column mapped to field ``name`` (``fields``: field -> header), or None."""
    src = fields.get(name)
    return raw.columns[src] if src else None


def set_table_kind(rep: FileReport, raw: RawTable, fmt: str, kind: str) -> None:
    """Record what a mapped table is: its format (" xlsx" added for a sheet) and kind."""
    rep.format = fmt + (" xlsx" if raw.container == "xlsx" else "")
    rep.kind = kind


def mapped_cells(raw: RawTable, fields: dict[str, str]) -> Callable[[str, int], str]:
    """``cell(field, i)``: the text of a mapped field in row ``i`` ("" when it is not mapped)."""
    get = {f: (raw.columns[c].to_pylist() if c else None) for f, c in fields.items()}

    def cell(f: str, i: int) -> str:
        col = get.get(f)
        return col[i] if col is not None else ""

    return cell


def parse_date_columns(
    rep: FileReport, raw: RawTable, fields: dict[str, str], ctx: Context, names: tuple[str, str]
) -> tuple[tuple[list[dt.datetime | None], list[str]], tuple[list[dt.datetime | None], list[str]]]:
    """Two mapped date fields read in one order decided over both (or NeedsChoice):
    per field, the dates (empty when the field is not mapped) and why each is not read."""
    first, second = (mapped_column(raw, fields, name) for name in names)
    decision = decide_dates(rep, [first, second], ctx)
    return parse_date_column(first, decision, ctx), parse_date_column(second, decision, ctx)


def parse_date_column(
    arr: pa.Array | None, decision: dates_mod.OrderDecision, ctx: Context
) -> tuple[list[dt.datetime | None], list[str]]:
    """The dates of a column in the decided order (naive) and, per cell, why one is not read."""
    if arr is None:
        return [], []
    parsed = dates_mod.parse_dates(arr, decision.order, ctx.options.as_of)
    values = [v.replace(tzinfo=None) if v is not None else None for v in parsed.values.to_pylist()]
    return values, parsed.reason.to_pylist()


@dataclass(frozen=True)
class IntervalDates:
    """The start and end dates of a table of intervals (doses), read in one decided order."""

    start: list[dt.datetime | None]
    #: why each start is not read ("no date" when blank)
    start_error: list[str]
    #: None where the end is blank (still in force) or not read
    end: list[dt.datetime | None]
    #: why each end is not read; "" where it is blank: an open interval is not an error
    end_error: list[str]

    def row(self, i: int) -> dict[str, Any]:
        """Row ``i``'s start, end and their errors (the keywords of a dose record)."""
        return {
            "start": self.start[i],
            "end": self.end[i],
            "start_error": self.start_error[i],
            "end_error": self.end_error[i],
        }


def interval_dates(
    rep: FileReport, start_arr: pa.Array, end_arr: pa.Array, ctx: Context, *, window: bool = True
) -> IntervalDates:
    """Decide the date order over both columns (or raise NeedsChoice), then read them."""
    decision = decide_dates(rep, [start_arr, end_arr], ctx)
    starts = dates_mod.parse_dates(start_arr, decision.order, ctx.options.as_of, window=window)
    ends = dates_mod.parse_dates(end_arr, decision.order, ctx.options.as_of, window=window)
    e_val, e_err = ends.values.to_pylist(), ends.reason.to_pylist()
    return IntervalDates(
        start=starts.values.to_pylist(),
        start_error=starts.reason.to_pylist(),
        end=[v if not e else None for v, e in zip(e_val, e_err, strict=True)],
        end_error=[e if e != "no date" else "" for e in e_err],
    )
