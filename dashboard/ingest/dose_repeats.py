"""A dose row given again: the one rule of an import (two files of one import, or two
rows of one file) and of the workspace merge (a file against the doses stored).

A dose is identified by :data:`DOSE_KEY` (patient, drug, start, dose, unit, frequency,
route): the end is not part of it, because an export sends a dose ongoing first and
ended later.  The same dose given again is one dose (:func:`repeat_of`):

* with the same end (or none): a duplicate;
* once without an end and once with one: one dose with that end, recorded on the row
  kept first ("the end date 2026-11-10 given by b.csv recorded on the row of a.csv");
  never both in force, which would add the dose to itself (H240);
* with two different ends: a conflict.  The row kept first keeps its end (the stored
  one in the workspace, the first file's in an import) and the report says both ends
  and which one is kept, so the clinician can correct the dose record.

A dose of the same patient, drug and start as a kept one but with another amount,
unit, frequency or route is a second row: rows in force together are read as taken
together and added up (``rules/dose_totals.py``), which is right for a dose split in
two rows (azathioprine 100 mg and 50 mg from one day) and wrong for a changed
prescription re-sent with its first start.  Which one it is cannot be told from the
file, so both are kept and :func:`same_start_note` says it on the row, naming the kept
dose and the total now in force (probe 16 F3).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from dashboard import model

#: Columns that identify a dose across files and imports (the end may be given later).
DOSE_KEY = ("patient_id", "drug", "start", "dose", "dose_unit", "frequency", "route")
#: Columns of doses that start together (another amount from the same start is said).
START_KEY = ("patient_id", "drug", "start")


def _hashable(v: Any) -> Any:
    return "nan" if isinstance(v, float) and math.isnan(v) else v


def dose_key(row: Mapping[str, Any]) -> tuple:
    """The :data:`DOSE_KEY` of a row (a NaN dose compares equal to a NaN dose)."""
    return tuple(_hashable(row[c]) for c in DOSE_KEY)


def start_key(row: Mapping[str, Any]) -> tuple:
    return tuple(row[c] for c in START_KEY)


def _day(t: dt.datetime | None) -> str:
    return "ongoing" if t is None else f"{t:%Y-%m-%d}"


@dataclass(frozen=True)
class Repeat:
    """What the same dose given again does to the row kept first."""

    #: the end to record on the kept row (None: the kept row is left as it is)
    end: dt.datetime | None
    #: what the report says on the repeated row ("" when nothing beyond "same dose")
    note: str
    #: the start basis to record on the kept row (:func:`basis_of`; None: left as it is)
    basis: str | None = None


def repeat_of(kept_end: dt.datetime | None, end: dt.datetime | None, kept_from: str, given_by: str) -> Repeat:
    """The same dose (:data:`DOSE_KEY`) given again with ``end``, the kept row having
    ``kept_end``.  ``kept_from`` names where the kept row came from ("a.csv",
    "import #1"), ``given_by`` the repeated row's file."""
    if end == kept_end:
        return Repeat(None, "")
    if kept_end is None:
        assert end is not None
        return Repeat(end, f"the end date {end:%Y-%m-%d} given by {given_by} recorded on the row of {kept_from}")
    if end is None:
        return Repeat(None, f"{given_by} gives it no end: the end date {kept_end:%Y-%m-%d} of {kept_from} is kept")
    return Repeat(
        None,
        f"the end dates disagree: {kept_end:%Y-%m-%d} in {kept_from}, {end:%Y-%m-%d} in {given_by}; the end of "
        f"{kept_from} ({kept_end:%Y-%m-%d}) is kept: check which is right and correct the dose record",
    )


#: What a dose's start basis (``doses.start_basis``, H540) says its start is, in words.
_BASIS_WORDS = {
    "recorded": "only the day a statement recorded it",
    "renewed": "only the day an order continuing an earlier one was written",
}


def basis_of(kept_basis: str, basis: str, kept_from: str, given_by: str) -> Repeat:
    """The same dose (:data:`DOSE_KEY`) given again with another start basis (H540): the
    cautious reading holds on the row kept first.  A start the kept row reads as the day the
    drug started ("") and the repeated row as only the day a statement was recorded or a
    renewal written: the kept row takes that basis, so no result before it is taken as a
    pre-treatment baseline (a workspace that stored a FHIR statement before schema 11,
    probe44 F1, H623), and the note says so.  The other way round, the kept row keeps its
    basis and the note says that too.  ``Repeat.end`` is unused: :attr:`Repeat.basis` is the
    basis to record (None: the kept row is left as it is)."""
    kept_basis, basis = kept_basis or "", basis or ""
    if kept_basis == basis or (kept_basis and basis):  # the same, or both "not a start"
        return Repeat(None, "")
    if not kept_basis:
        return Repeat(
            None,
            f"{given_by} gives its start as {_BASIS_WORDS.get(basis, basis)}, not when the drug was started: "
            f"recorded on the row of {kept_from}, so no result before it is taken as the pre-treatment baseline",
            basis,
        )
    return Repeat(
        None,
        f"{given_by} gives its start as the day the drug started, {kept_from} as "
        f"{_BASIS_WORDS.get(kept_basis, kept_basis)}: the cautious reading of {kept_from} is kept (no result "
        "before it is taken as the pre-treatment baseline); if the start is known, correct the dose record",
    )


def overlaps_at_start(kept: Mapping[str, Any], row: Mapping[str, Any]) -> bool:
    """Whether two rows of one start are both in force on that start."""
    start = row["start"]
    return (kept["end"] is None or kept["end"] > start) and (row["end"] is None or row["end"] > start)


def amount_not_stated(row: Mapping[str, Any]) -> bool:
    """Whether a row's amount per dose is not stated: it gives only a product's strength
    ("azathioprine 50 mg tablets", daily, no count: ``dose`` 50 is the tablet's strength,
    ``dose_basis`` strength_only, no mg/day).  Such a row is never worded as a dose of its
    strength, and two of them are never read as the same dose (audit9 A2)."""
    return bool(row.get("dose_basis") == "strength_only")


def dose_words(row: Mapping[str, Any], *, unknown: str = "unknown amount", say_route: bool = False) -> str:
    """A dose row's amount and frequency as every note of the import and the workspace on
    doses writes it ("100 mg daily", "unknown amount daily"): the one home of that wording.

    A row that gives only a product strength says its amount is not stated, with the
    strength and the frequency as the row gives them ("50 mg strength daily (amount per
    dose not stated)"), never "50 mg daily", a dose nobody wrote.  ``unknown`` is said for a
    row without an amount; with ``say_route`` (the notes of doses from one start, which
    tell two rows apart by their route too) an unknown frequency is said as such and the
    route follows ("100 mg daily oral", "dose unknown frequency unknown")."""
    # the amount parsers load with a dose table only (an import of labs never needs them)
    from dashboard.ingest.amounts import amount_text

    dose, unit, freq = row["dose"], row["dose_unit"], str(row["frequency"] or "")
    known_freq = freq not in ("", "unknown")
    route = f" {row['route']}" if say_route and row["route"] else ""
    if say_route and not known_freq:
        freq = "frequency unknown"
    if dose is None or dose != dose:  # dose != dose: NaN
        return f"{unknown} {freq}".strip() + route
    stated = f"{amount_text(dose)} {unit}".strip()
    if amount_not_stated(row):
        if known_freq:
            return f"{stated} strength {freq}{route} (amount per dose not stated)"
        return f"{stated} strength{route} (amount per dose and frequency not stated)"
    return f"{stated} {freq}".strip() + route


def _finite(*values: Any) -> bool:
    return all(isinstance(v, (int, float)) and math.isfinite(v) for v in values)


def _together(kept: Mapping[str, Any], row: Mapping[str, Any]) -> str:
    """How the two rows count together, as the dose checks add them (H240, H242)."""
    # the frequency parsers load with a dose table only (an import of labs never needs them)
    from dashboard.ingest.frequency import schedule_kind

    kinds = {schedule_kind(r["drug"], r["frequency"], r["route"]) for r in (kept, row)}
    if len(kinds) > 1 or "pulse" in kinds:
        return "both are kept in force, each on its own (not added up: they are not of one schedule)"
    parts = []
    same = kept["dose_unit"] == row["dose_unit"] == "mg" and kept["frequency"] == row["frequency"]
    stated = not (amount_not_stated(kept) or amount_not_stated(row))  # a strength is no amount to add
    if same and stated and _finite(kept["dose"], row["dose"]):
        parts.append(f"{kept['dose'] + row['dose']:g} mg {row['frequency']}")
    per, unit = ("mg_per_week", "mg/week") if kinds == {"weekly"} else ("mg_per_day", "mg/day")
    if _finite(kept[per], row[per]):
        parts.append(f"{kept[per] + row[per]:g} {unit}")
    return "both are read as taken together" + (f" ({', '.join(parts)})" if parts else " (total unknown)")


def _words(row: Mapping[str, Any]) -> str:
    """A row as the notes of doses from one start name it, its route included."""
    return dose_words(row, unknown="dose unknown", say_route=True)


def same_start_note(kept: Mapping[str, Any], row: Mapping[str, Any], kept_as: str, source: str) -> str:
    """What the report says on ``row``, a dose of the patient, drug and start of ``kept``
    with another dose, unit, frequency or route.  ``kept_as`` qualifies the kept dose
    ("stored", or ""), ``source`` says where it came from ("import #1", "a.csv row 2")."""
    label = model.drug_label(row["drug"])
    kept_words = " ".join(w for w in ("the", kept_as, _words(kept)) if w)
    return (
        f"{label} {_words(row)} from {row['start']:%Y-%m-%d} has the start of {kept_words} ({source}): "
        f"{_together(kept, row)}; if this row replaces the {_words(kept)}, give that row its end date"
    )
