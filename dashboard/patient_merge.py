"""One patient's details from two rows: the same rule for an import and for the workspace.

Two files (or rows) of one import can describe the same MRN, and so can a new import
and the workspace.  Both are merged by :func:`merge_details`:

* A *blank* says nothing: no value, an empty text, NaN or NaT, and "unknown" (a
  phenotype not known, or a text saying the source does not know).  A blank never
  replaces a known value, and two blanks are the same.
* A known value replaces a different known one (the later row wins); the change is
  named so that the report can say what changed.
* A name or date of birth is never replaced: a different one is an identity conflict,
  reported, and the first is kept (:func:`dashboard.identity.differs`).
* A row that adds nothing (each of its values is blank or already known) is a
  duplicate; a row that only conflicts is not (it says something else).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from dashboard import model
from dashboard.identity import IDENTITY_FIELDS, differs

#: The fields merged: every patient field but the id and where the row came from.
DETAIL_FIELDS: tuple[str, ...] = tuple(
    f.name for f in model.PATIENT_FIELDS if f.name not in ("patient_id", "source_file", "source_row")
)


def is_blank(value: Any) -> bool:
    """True for a value that says nothing: None, "", NaN, NaT or "unknown"."""
    if value is None or value != value:  # None, NaN, NaT
        return True
    return isinstance(value, str) and value.strip().casefold() in ("", "unknown")


def same(a: Any, b: Any) -> bool:
    """True when two values say the same: both blank, or equal."""
    return (is_blank(a) and is_blank(b)) or (not is_blank(a) and not is_blank(b) and a == b)


@dataclass
class Merged:
    """What a new row does to the details known of its patient."""

    row: dict[str, Any]  # the known details with the new row's known values merged in
    updated: list[str] = field(default_factory=list)  # fields the new row filled or changed
    changed: list[str] = field(default_factory=list)  # known values it replaced: "weight_kg 70.0 -> 72.0"
    conflicts: list[str] = field(default_factory=list)  # identity fields it gives differently (first kept)

    @property
    def duplicate(self) -> bool:
        """The new row adds nothing and contradicts nothing."""
        return not self.updated and not self.conflicts


def merge_details(known: dict[str, Any], new: dict[str, Any]) -> Merged:
    """Merge ``new`` into a copy of ``known`` (both patient rows of one MRN); see the module rules."""
    out = Merged(dict(known))
    for f in DETAIL_FIELDS:
        value, current = new.get(f), known.get(f)
        if is_blank(value) or same(value, current):
            continue
        if f in IDENTITY_FIELDS and not is_blank(current):
            if differs(f, current, value):  # never picked: reported, the first kept
                out.conflicts.append(f)
            continue
        if not is_blank(current):
            out.changed.append(f"{f} {current} -> {value}")
        out.row[f] = value
        out.updated.append(f)
    return out
