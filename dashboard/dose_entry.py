"""Doses entered in the app: validation and the canonical row (pure).

A clinician adds a dose, changes one (the current dose ends on the day of the change
and the new one starts that day) or stops one (it ends that day).  Errors block the
entry; warnings (a weekly drug entered daily, an overlap with a dose of the same drug)
must be confirmed before it is saved.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field

import pandas as pd

from dashboard import model
from dashboard.ingest.frequency import PER_DAY, parse_frequency

#: Units a dose can be entered in.
UNITS: tuple[str, ...] = ("mg", "mg/kg", "mg/m2")
#: The "every N weeks" intervals the editor offers (any other the importer reads is accepted).
EDITOR_WEEK_INTERVALS: tuple[int, ...] = (2, 4)
#: Frequencies offered by the editor: the model's, with "every N weeks" written out at
#: :data:`EDITOR_WEEK_INTERVALS`; without "every N days" (no N to offer) and "unknown"
#: (a dose entered by a clinician has its schedule).
FREQUENCY_CHOICES: tuple[str, ...] = tuple(
    choice
    for frequency in model.FREQUENCIES
    if frequency not in ("every N days", "unknown")
    for choice in (
        [frequency.replace("N", str(n)) for n in EDITOR_WEEK_INTERVALS] if frequency == "every N weeks" else [frequency]
    )
)
ACTIONS: tuple[str, ...] = ("add", "change", "stop")


@dataclass(frozen=True)
class DoseEntry:
    """A dose as typed in the editor."""

    patient_id: str
    drug: str
    dose: float
    start: dt.date | None
    dose_unit: str = "mg"
    frequency: str = ""
    route: str = ""
    end: dt.date | None = None
    note: str = ""


@dataclass
class Validation:
    """What is wrong (errors block) and what needs a second look (warnings)."""

    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


def canonical_frequency(text: str) -> str | None:
    """The model's spelling of a frequency ("once weekly" -> "weekly"), or None."""
    freq = parse_frequency(text or "")
    return freq.canonical if freq is not None else None


def validate(entry: DoseEntry, existing: pd.DataFrame | None = None, ignore_dose_id: int | None = None) -> Validation:
    """Check an entered dose; ``existing`` is the patient's dose rows (for overlaps)."""
    v = Validation()
    info = model.drug_info().get(entry.drug)
    if not entry.patient_id.strip():
        v.errors.append("choose a patient")
    if info is None:
        v.errors.append(f"'{entry.drug}' is not one of the tracked drugs")
    if entry.dose is None or not isinstance(entry.dose, int | float) or not math.isfinite(entry.dose):
        v.errors.append("enter the dose as a number")
    elif entry.dose <= 0:
        v.errors.append("the dose must be positive (use Stop to end a drug)")
    if entry.dose_unit not in UNITS:
        v.errors.append(f"the unit must be one of {', '.join(UNITS)}")
    freq = canonical_frequency(entry.frequency)
    if freq is None or freq == "unknown":
        v.errors.append(f"frequency not understood ('{entry.frequency}'): use daily, BID, weekly, every 2 weeks ...")
    if entry.route not in model.ROUTES:
        v.errors.append(f"the route must be one of {', '.join(r for r in model.ROUTES if r)} or empty")
    if entry.start is None:
        v.errors.append("enter the start date")
    elif entry.end is not None and entry.end < entry.start:
        v.errors.append(f"the end date ({entry.end}) is before the start date ({entry.start})")
    if v.errors:
        return v
    assert info is not None and freq is not None
    if info.weekly and freq in PER_DAY:
        v.warnings.append(
            f"{info.label} is taken once a week, but this dose is entered {freq}: "
            "a daily schedule of a weekly drug is a known cause of fatal overdose. Check before saving."
        )
    if not info.weekly and info.default_frequency in PER_DAY and freq == "weekly":
        v.warnings.append(f"{info.label} is usually taken {info.default_frequency}, not weekly. Check before saving.")
    if existing is not None and not existing.empty:
        for _, row in _overlapping(entry, existing, ignore_dose_id).iterrows():
            end = "ongoing" if pd.isna(row["end"]) else f"to {row['end']:%Y-%m-%d}"
            v.warnings.append(
                f"overlaps the {info.label} dose {row['dose']:g} {row['dose_unit']} {row['frequency']} from "
                f"{row['start']:%Y-%m-%d} ({end}): to record a new dose of a current drug use Change"
            )
    return v


def _overlapping(entry: DoseEntry, existing: pd.DataFrame, ignore_dose_id: int | None) -> pd.DataFrame:
    same = existing[(existing["drug"] == entry.drug) & (existing["patient_id"] == entry.patient_id)]
    if ignore_dose_id is not None and "dose_id" in same.columns:
        same = same[same["dose_id"] != ignore_dose_id]
    start = pd.Timestamp(entry.start)
    until = model.in_force_until(same["start"], same["end"], same["frequency"])  # a pulse: its day only
    ends_after = until.isna() | (until > start)
    starts_before = same["start"] < pd.Timestamp(entry.end) if entry.end is not None else True
    return same[ends_after & starts_before]


def to_row(entry: DoseEntry) -> dict:
    """The canonical dose row of a valid entry (``dose_basis`` "entered")."""
    freq = parse_frequency(entry.frequency)
    assert freq is not None
    mg_day = entry.dose * freq.per_day if entry.dose_unit == "mg" and not math.isnan(freq.per_day) else math.nan
    mg_week = mg_day * 7 if freq.weekly_or_longer and not math.isnan(mg_day) else math.nan
    text = f"{model.drug_label(entry.drug)} {entry.dose:g} {entry.dose_unit} {freq.canonical} {entry.route}".strip()
    return {
        "patient_id": entry.patient_id,
        "drug": entry.drug,
        "start": dt.datetime.combine(entry.start, dt.time()) if entry.start else None,
        "end": dt.datetime.combine(entry.end, dt.time()) if entry.end else None,
        "dose": float(entry.dose),
        "dose_unit": entry.dose_unit,
        "frequency": freq.canonical,
        "mg_per_day": round(mg_day, 6) if not math.isnan(mg_day) else math.nan,
        "mg_per_week": round(mg_week, 6) if not math.isnan(mg_week) else math.nan,
        "route": entry.route,
        "dose_basis": "entered",
        "source_text": (text + (f" — {entry.note}" if entry.note else ""))[:200],
        "source_file": "entered",
        "source_row": 0,
        "start_basis": "",  # the clinician gives the day the dose started
    }


def validate_change(current: pd.Series, on: dt.date | None, action: str) -> list[str]:
    """Errors of changing or stopping ``current`` (a stored dose row) on ``on``."""
    errors: list[str] = []
    if on is None:
        return [f"enter the date of the {action}"]
    start = current["start"].date()
    if on < start:
        errors.append(f"the {action} date ({on}) is before the dose started ({start})")
    if not pd.isna(current["end"]) and on > current["end"].date():
        errors.append(f"this dose already ended on {current['end'].date()}")
    if action == "change" and on == start:
        errors.append("a change on the day the dose started: stop it and add the right dose instead")
    return errors


def changed_entry(current: pd.Series, on: dt.date, dose: float, frequency: str, note: str = "") -> DoseEntry:
    """The new dose that starts on ``on`` when ``current`` is changed (same drug, unit, route)."""
    end = None if pd.isna(current["end"]) else current["end"].date()
    return DoseEntry(
        patient_id=str(current["patient_id"]),
        drug=str(current["drug"]),
        dose=dose,
        start=on,
        end=end,
        dose_unit=str(current["dose_unit"]) or "mg",
        frequency=frequency or str(current["frequency"]),
        route=str(current["route"]),
        note=note,
    )
