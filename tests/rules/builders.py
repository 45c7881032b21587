"""Small canonical tables for rule tests, built the way the importer would build them."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd

from dashboard import model
from dashboard.units import resolve_unit, round_sig

NaN = float("nan")


def day(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)


def lab(
    pid: str,
    when: str,
    analyte: str,
    value: float,
    *,
    comparator: str = "",
    ref_low: float = NaN,
    ref_high: float = NaN,
    unit: str | None = None,
    source_unit: str | None = None,
    source_value: str | None = None,
) -> dict[str, Any]:
    """One lab row.  ``unit`` is the unit the lab reported ("g/dL", "mmol/L", "/uL" ...);
    ``value`` is given in that unit and converted to the canonical unit here."""
    factor = 1.0 if unit is None else resolve_unit(analyte, unit).factor
    assert factor is not None, f"{unit} is not a unit of {analyte}"
    return {
        "patient_id": pid,
        "collected_at": day(when),
        "analyte": analyte,
        "value": round_sig(value * factor),
        "unit": model.CANONICAL_UNITS[analyte],
        "comparator": comparator,
        "ref_low": round_sig(ref_low * factor) if ref_low == ref_low else NaN,
        "ref_high": round_sig(ref_high * factor) if ref_high == ref_high else NaN,
        "source_value": source_value if source_value is not None else f"{comparator}{value:g}",
        "source_unit": source_unit if source_unit is not None else (unit or model.CANONICAL_UNITS[analyte]),
        "source_file": "test.csv",
    }


def series(pid: str, analyte: str, points: list[tuple[str, float]], **kw: Any) -> list[dict[str, Any]]:
    return [lab(pid, when, analyte, v, **kw) for when, v in points]


def dose(
    pid: str,
    drug: str,
    start: str,
    end: str | None = None,
    *,
    amount: float = NaN,
    unit: str = "mg",
    frequency: str = "daily",
    route: str = "oral",
) -> dict[str, Any]:
    per_day = {"daily": 1.0, "BID": 2.0, "TID": 3.0, "QID": 4.0, "weekly": 1 / 7}.get(frequency)
    if per_day is None and frequency.startswith("every ") and frequency.endswith("weeks"):
        per_day = 1 / (7 * int(frequency.split()[1]))
    if per_day is None and frequency.startswith("every ") and frequency.endswith("days"):
        per_day = 1 / int(frequency.split()[1])
    mg_day = amount * per_day if unit == "mg" and per_day is not None else NaN
    weekly = frequency == "weekly" or (frequency.startswith("every ") and frequency.endswith("weeks"))
    return {
        "patient_id": pid,
        "drug": drug,
        "start": day(start),
        "end": day(end) if end else pd.NaT,
        "dose": amount,
        "dose_unit": unit,
        "frequency": frequency,
        "mg_per_day": round(mg_day, 6) if mg_day == mg_day else NaN,
        "mg_per_week": round(mg_day * 7, 6) if weekly and mg_day == mg_day else NaN,
        "route": route,
        "dose_basis": "prescribed",
        "source_file": "doses.csv",
    }


def patient(
    pid: str,
    *,
    weight: float = NaN,
    sex: str = "",
    tpmt: str = "unknown",
    nudt15: str = "unknown",
    diagnosis: str = "",
) -> dict[str, Any]:
    return {
        "patient_id": pid,
        "sex": sex,
        "weight_kg": weight,
        "tpmt": tpmt,
        "nudt15": nudt15,
        "diagnosis": diagnosis,
        "source_file": "patients.csv",
    }


def full_check(pid: str, when: str, renal: str = "creatinine") -> list[dict[str, Any]]:
    """A whole monitoring check at ``when``, normal results: full blood count (WBC,
    neutrophils, platelets), ``renal`` ("creatinine" or "egfr"), ALT and albumin."""
    renal_value = {"creatinine": 70.0, "egfr": 80.0}[renal]
    return [
        lab(pid, when, "wbc", 6.0),
        lab(pid, when, "neutrophils", 4.0),
        lab(pid, when, "platelets", 250.0),
        lab(pid, when, renal, renal_value),
        lab(pid, when, "alt", 20.0),
        lab(pid, when, "albumin", 40.0),
    ]


def baseline(pid: str, analyte: str, value: float, note: str = "") -> dict[str, Any]:
    return {"patient_id": pid, "analyte": analyte, "value": value, "note": note, "set_by": "test"}


def frame(table: str, rows: list[dict[str, Any]]) -> pd.DataFrame:
    """A pandas frame with the canonical columns and dtypes of ``table``."""
    if not rows:
        return model.empty_frame(table)
    return model.to_pandas(table, model.from_pandas(table, pd.DataFrame(rows)))


def run(
    labs: list[dict[str, Any]],
    doses: list[dict[str, Any]] = (),  # type: ignore[assignment]
    patients: list[dict[str, Any]] = (),  # type: ignore[assignment]
    baselines: list[dict[str, Any]] = (),  # type: ignore[assignment]
    as_of: str = "2024-12-31",
    profile: Any = None,
    intervals: list[dict[str, Any]] = (),  # type: ignore[assignment]
):
    """Review synthetic tables (pandas, as the app passes them)."""
    from dashboard.rules.review import review

    return review(
        frame("labs", list(labs)),
        frame("doses", list(doses)),
        frame("patients", list(patients)),
        frame("baselines", list(baselines)),
        profile,
        dt.date.fromisoformat(as_of),
        intervals=frame("intervals", list(intervals)),
    )


def interval(pid: str, days: int, set_at: str, reason: str = "stable, no risk factors") -> dict[str, Any]:
    """A clinician-set monitoring interval (BSR 2025)."""
    return {"patient_id": pid, "interval_days": days, "reason": reason, "set_by": "test", "set_at": day(set_at)}


def imported(csv_text: str, name: str = "labs.csv"):
    """Import CSV text with the real importer (Arrow tables, as the CLI gets them)."""
    from dashboard.ingest import ImportOptions, Source, import_sources

    return import_sources([Source(name, csv_text.encode("utf-8"))], ImportOptions(today=dt.date(2026, 11, 25)))


def blood_row(rv, sched: str | None = None):
    """The one blood-test row (not a blood-pressure item) of a review's schedule, of
    schedule ``sched`` when given."""
    df = rv.schedule_df()
    df = df[~df["schedule"].str.startswith("bp_")]
    if sched is not None:
        df = df[df["schedule"] == sched]
    assert len(df) == 1, df
    return df.iloc[0]
