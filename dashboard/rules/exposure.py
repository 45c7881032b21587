"""Cumulative exposure to a drug, from the dose history (cyclophosphamide).

Pulses (intravenous, "every N weeks", monthly, single) add the administered amount of
each pulse given up to the review date; daily courses add mg/day x days taken up to the
review date (a course that ends on a day did not run that day).  A dose in mg/kg uses
the patient's weight; a dose in mg/m2 (no body surface area is known), a dose without an
amount, or a daily course without a frequency cannot be counted: the total is then a
lower bound and says why, never a guess.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from dashboard import model
from dashboard.ingest.frequency import is_pulse
from dashboard.rules.data import DAY, NEVER
from dashboard.rules.inputs import DRUGS, Inputs, prepare
from dashboard.rules.schedule import administrations


@dataclass
class Exposure:
    """Per patient (index = patient code): the counted amount and how it was counted."""

    total_mg: np.ndarray  # float64: what could be counted up to the review date
    pulses: np.ndarray  # int64: pulses counted
    oral_days: np.ndarray  # int64: days of daily courses counted
    uncounted: np.ndarray  # object: why part of the dose history could not be counted ("" if none)
    any_dose: np.ndarray  # bool: the patient has a dose row of the drug
    #: the administrations, sorted by patient and time: (patient, time, mg); NaN mg = uncountable
    event_pid: np.ndarray
    event_t: np.ndarray
    event_mg: np.ndarray

    def crossing(self, pid: int, threshold_mg: float) -> int:
        """When the counted total first went strictly above ``threshold_mg`` (NEVER if not)."""
        m = (self.event_pid == pid) & np.isfinite(self.event_mg)
        total = np.cumsum(self.event_mg[m])
        above = np.flatnonzero(total > threshold_mg + 1e-9)
        return int(self.event_t[m][above[0]]) if len(above) else NEVER


def cumulative(inp: Inputs, drug: str) -> Exposure:
    """The cumulative exposure of every patient to ``drug`` up to the review date."""
    d = inp.doses
    n = inp.n_patients
    rows = np.flatnonzero(d.drug == DRUGS.index(drug)) if len(d) else np.zeros(0, np.int64)
    pulse = np.array([is_pulse(d.frequency[r], d.route[r]) for r in rows], dtype=bool)
    weight = inp.weight
    reasons: list[list[str]] = [[] for _ in range(n)]

    def amount(r: int, per: float) -> float:
        """mg of one administration (or of one day, ``per`` administrations a day)."""
        unit, dose = d.dose_unit[r], d.dose[r]
        if not np.isfinite(dose):
            reasons[d.pid[r]].append("a dose without an amount")
            return np.nan
        if unit == "mg":
            return dose * per
        if unit == "mg/kg":
            w = weight[d.pid[r]]
            if np.isfinite(w) and w > 0:
                return dose * w * per
            reasons[d.pid[r]].append("a dose in mg/kg without a weight")
            return np.nan
        reasons[d.pid[r]].append(f"a dose in {unit or 'an unknown unit'} (no body surface area is known)")
        return np.nan

    # pulses given up to the review date
    ppid, pt, prow = administrations(inp, rows[pulse], 0)
    given = pt < inp.cutoff
    ppid, pt, prow = ppid[given], pt[given], prow[given]
    pmg = np.array([amount(r, 1.0) for r in prow], dtype=float)

    # daily courses: one event per day taken up to the review date
    daily = rows[~pulse]
    days = np.zeros(len(daily), dtype=np.int64)
    per_day_mg = np.full(len(daily), np.nan)
    for i, r in enumerate(daily):
        end = min(d.end[r], inp.cutoff)
        days[i] = max(0, (end - d.start[r] + DAY - 1) // DAY)
        per = d.per_day[r]
        if not np.isfinite(per) or per <= 0:
            reasons[d.pid[r]].append("a daily course without a frequency")
            continue
        per_day_mg[i] = amount(r, per)
    rep = np.repeat(np.arange(len(daily)), days)
    k = np.arange(len(rep)) - np.repeat(np.cumsum(days) - days, days)
    dpid = d.pid[daily][rep]
    dt_ = d.start[daily][rep] + k * DAY
    dmg = per_day_mg[rep]

    event_pid = np.r_[ppid, dpid].astype(np.int64)
    event_t = np.r_[pt, dt_].astype(np.int64)
    event_mg = np.r_[pmg, dmg]
    order = np.lexsort((event_t, event_pid))
    event_pid, event_t, event_mg = event_pid[order], event_t[order], event_mg[order]

    total = np.zeros(n)
    np.add.at(total, event_pid, np.nan_to_num(event_mg))
    pulses = np.bincount(ppid, minlength=n).astype(np.int64)
    oral = np.zeros(n, dtype=np.int64)
    np.add.at(oral, d.pid[daily], days)
    any_dose = np.zeros(n, dtype=bool)
    any_dose[d.pid[rows]] = True
    uncounted = np.array(["; ".join(dict.fromkeys(x)) for x in reasons], dtype=object)
    return Exposure(total, pulses, oral, uncounted, any_dose, event_pid, event_t, event_mg)


def cumulative_summary(doses: Any, patients: Any, patient_id: str, as_of: dt.date, drug: str) -> dict[str, Any] | None:
    """One patient's cumulative exposure to ``drug`` as of a date (canonical tables,
    pandas or Arrow), for the pages; ``None`` when the patient has no dose of it.

    Only this patient's rows of ``drug`` are prepared: the count reads nothing else
    (the Patient and Dosing pages call it on every run, over a whole panel's doses)."""
    doses = _rows_of(doses, patient_id, drug)
    if doses is None or len(doses) == 0:
        return None
    inp = prepare(None, doses, _rows_of(patients, patient_id), None, as_of)
    ids = list(inp.patient_ids)
    if patient_id not in ids:
        return None
    pid = ids.index(patient_id)
    exp = cumulative(inp, drug)
    if not exp.any_dose[pid]:
        return None
    return {
        "drug": drug,
        "label": model.drug_label(drug),
        "total_g": float(exp.total_mg[pid]) / 1000.0,
        "pulses": int(exp.pulses[pid]),
        "oral_days": int(exp.oral_days[pid]),
        "uncounted": str(exp.uncounted[pid]),
        "complete": not exp.uncounted[pid],
        "exposure": exp,
        "pid": pid,
        "sex": str(inp.sex[pid]),
    }


def _rows_of(table: Any, patient_id: str, drug: str | None = None) -> Any:
    """The rows of one patient (and one drug) of a canonical table, pandas or Arrow."""
    if table is None:
        return None
    if isinstance(table, pa.Table):
        keep = pc.equal(table.column("patient_id").cast(pa.string()), patient_id)
        if drug is not None:
            keep = pc.and_(keep, pc.equal(table.column("drug").cast(pa.string()), drug))
        return table.filter(pc.fill_null(keep, False))
    keep = table["patient_id"] == patient_id
    if drug is not None:
        keep &= table["drug"] == drug
    return table[keep.fillna(False).astype(bool)]
