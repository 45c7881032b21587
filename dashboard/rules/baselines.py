"""Each patient's own baseline per analyte.

A baseline the clinician set (the baselines table, e.g. a Duffy-null associated
neutrophil count) always wins and applies to every result.  Otherwise the baseline is
the median of the results taken strictly before the patient's first drug that needs
blood monitoring started (one value per draw: the draw's most severe), and it applies
only to results from that start on: a patient's own result is never its own baseline.

A patient with no such drug, or no result before it, has no computed baseline; nor
has one with fewer pre-treatment results than the rule using it needs
(:func:`for_rows`: ``min_results`` of the rule in ``rules.toml`` / ``ctcae.toml``).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np

from dashboard import model
from dashboard.rules.data import NEVER, schedule_file
from dashboard.rules.inputs import DRUGS, Inputs, group_starts

NONE, CLINICIAN, PRETREATMENT = 0, 1, 2


@dataclass
class Baselines:
    value: np.ndarray  # float64 [patient, analyte]; NaN = none
    basis: np.ndarray  # int8 [patient, analyte]: NONE, CLINICIAN or PRETREATMENT
    count: np.ndarray  # int64 [patient, analyte]: results in the pre-treatment median
    first_drug: np.ndarray  # int64 per patient: index into DRUGS of the first monitored drug (-1)
    first_start: np.ndarray  # int64 per patient: its start (NEVER)


@cache
def monitored_drugs() -> np.ndarray:
    """Boolean per drug of DRUGS: the drug has a blood-test schedule."""
    sched = schedule_file()
    out = np.zeros(len(DRUGS), dtype=bool)
    for i, d in enumerate(DRUGS):
        entry = sched["drugs"].get(d)
        if entry is None:
            continue
        names = entry.values() if isinstance(entry, dict) else [entry]
        out[i] = any(sched["schedules"][n]["kind"] != "none" for n in names)
    return out


def compute(inp: Inputs) -> Baselines:
    n, k = inp.n_patients, len(model.ANALYTES)
    doses = inp.doses
    first_start = np.full(n, NEVER, dtype=np.int64)
    first_drug = np.full(n, -1, dtype=np.int64)
    mon = monitored_drugs()[doses.drug] if len(doses) else np.zeros(0, dtype=bool)
    mon &= doses.start < NEVER
    if mon.any():
        pid, start, drug = doses.pid[mon], doses.start[mon], doses.drug[mon]
        order = np.lexsort((start, pid))
        firsts = order[group_starts(pid[order])]
        first_start[pid[firsts]] = start[firsts]
        first_drug[pid[firsts]] = drug[firsts]

    value = np.full((n, k), np.nan)
    count = np.zeros((n, k), dtype=np.int64)
    labs = inp.labs
    if len(labs) and mon.any():
        # strictly before a known start, one value per draw; a patient without a
        # monitored drug (first_start NEVER) has no pre-treatment results at all
        pre = (labs.t < first_start[labs.pid]) & (first_start[labs.pid] < NEVER) & labs.draws()
        if pre.any():
            ana, pid, v = labs.analyte[pre], labs.pid[pre], labs.value[pre]
            order = np.lexsort((v, pid, ana))
            ana, pid, v = ana[order], pid[order], v[order]
            starts = np.flatnonzero(group_starts(ana, pid))
            counts = np.diff(np.append(starts, len(v)))
            med = (v[starts + (counts - 1) // 2] + v[starts + counts // 2]) / 2
            value[pid[starts], ana[starts]] = med
            count[pid[starts], ana[starts]] = counts

    basis = np.where(np.isfinite(value), PRETREATMENT, NONE).astype(np.int8)
    clinician = np.isfinite(inp.baseline)
    value = np.where(clinician, inp.baseline, value)
    basis[clinician] = CLINICIAN
    count[clinician] = 0
    return Baselines(value, basis, count, first_drug, first_start)


def for_rows(base: Baselines, pid: np.ndarray, analyte: int, t: np.ndarray, min_results: int) -> np.ndarray:
    """The baseline each result (patient ``pid``, time ``t``) is compared with, NaN if none.

    A clinician-set baseline applies to every result; a computed one only to results
    from the start of the first monitored drug on, and only when it rests on at least
    ``min_results`` pre-treatment draws.
    """
    value = base.value[pid, analyte]
    basis = base.basis[pid, analyte]
    usable = (basis == CLINICIAN) | (
        (basis == PRETREATMENT) & (base.count[pid, analyte] >= max(min_results, 1)) & (t >= base.first_start[pid])
    )
    return np.where(usable, value, np.nan)
