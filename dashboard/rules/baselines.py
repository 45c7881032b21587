"""Each patient's own baseline per analyte.

A baseline the clinician set (the baselines table, e.g. a Duffy-null associated
neutrophil count) always wins and applies to every result.  Otherwise the baseline is
the median of the results taken strictly before the patient's first drug that needs
blood monitoring started (one value per draw: the draw's most severe), and it applies
only to results from that start on: a patient's own result is never its own baseline.

A patient with no such drug, or no result before it, has no computed baseline; nor
has one with fewer pre-treatment results than the rule using it needs
(:func:`for_rows`: ``min_results`` of the rule in ``rules.toml`` / ``ctcae.toml``).

A computed baseline keeps the dates of the results it rests on (``t_first``, ``t_last``)
and the first drug's start, so that a flag names them (:func:`words`): no look-back limit
is applied (no source gives one), so the clinician must see how old the baseline is.
Every start of monitored treatment after a time without one (``treatment_starts``, the
first start included) ends a flag's episode (``flags._episodes``).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from dashboard import model
from dashboard.rules.data import DAY, NEVER, schedule_file
from dashboard.rules.hits import cat, num
from dashboard.rules.inputs import DRUGS, Inputs, group_starts, pair_key

NONE, CLINICIAN, PRETREATMENT = 0, 1, 2


@dataclass
class Baselines:
    value: np.ndarray  # float64 [patient, analyte]; NaN = none
    basis: np.ndarray  # int8 [patient, analyte]: NONE, CLINICIAN or PRETREATMENT
    count: np.ndarray  # int64 [patient, analyte]: results in the pre-treatment median
    first_drug: np.ndarray  # int64 per patient: index into DRUGS of the first monitored drug (-1)
    first_start: np.ndarray  # int64 per patient: its start (NEVER)
    #: int64 [patient, analyte]: the first and last draw in the pre-treatment median (NEVER none)
    t_first: np.ndarray | None = None
    t_last: np.ndarray | None = None
    #: sorted pair keys (``inputs.pair_key``) of every start of monitored treatment after a
    #: time without one: the first start, and each restart after a gap of more than a day
    treatment_starts: np.ndarray | None = None


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
    t_first = np.full((n, k), NEVER, dtype=np.int64)
    t_last = np.full((n, k), NEVER, dtype=np.int64)
    labs = inp.labs
    if len(labs) and mon.any():
        # strictly before a known start, one value per draw; a patient without a
        # monitored drug (first_start NEVER) has no pre-treatment results at all
        pre = (labs.t < first_start[labs.pid]) & (first_start[labs.pid] < NEVER) & labs.draws()
        if pre.any():
            ana, pid, v, t = labs.analyte[pre], labs.pid[pre], labs.value[pre], labs.t[pre]
            order = np.lexsort((v, pid, ana))
            ana, pid, v, t = ana[order], pid[order], v[order], t[order]
            starts = np.flatnonzero(group_starts(ana, pid))
            counts = np.diff(np.append(starts, len(v)))
            med = (v[starts + (counts - 1) // 2] + v[starts + counts // 2]) / 2
            value[pid[starts], ana[starts]] = med
            count[pid[starts], ana[starts]] = counts
            t_first[pid[starts], ana[starts]] = np.minimum.reduceat(t, starts)
            t_last[pid[starts], ana[starts]] = np.maximum.reduceat(t, starts)

    basis = np.where(np.isfinite(value), PRETREATMENT, NONE).astype(np.int8)
    clinician = np.isfinite(inp.baseline)
    value = np.where(clinician, inp.baseline, value)
    basis[clinician] = CLINICIAN
    count[clinician] = 0
    t_first[clinician] = NEVER
    t_last[clinician] = NEVER
    restarts = (
        _treatment_starts(doses.pid[mon], doses.start[mon], doses.end[mon]) if mon.any() else np.zeros(0, np.int64)
    )
    return Baselines(value, basis, count, first_drug, first_start, t_first, t_last, restarts)


def _treatment_starts(pid: np.ndarray, start: np.ndarray, end: np.ndarray) -> np.ndarray:
    """Sorted pair keys of the starts of monitored treatment: a patient's first monitored
    dose, and each one that begins more than a day after every earlier one ended (a
    restart after a time without any monitored drug; a dose change or a second drug
    added while one is in force is not a new start)."""
    order = np.lexsort((start, pid))
    pid, start, end = pid[order], start[order], end[order]
    reach = np.maximum.accumulate(pair_key(pid, end))  # the latest end so far (a patient's in its bits)
    before = np.r_[np.iinfo(np.int64).min, reach[:-1]]
    new = group_starts(pid) | (pair_key(pid, start - DAY) > before)
    return np.sort(pair_key(pid[new], start[new]))


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


def _day_text(sec: np.ndarray) -> pa.Array:
    return pc.strftime(pa.array(sec.astype("datetime64[s]")), format="%Y-%m-%d")


def words(inp: Inputs, base: Baselines, pid: np.ndarray, a: int) -> pa.Array:
    """How each baseline (patient ``pid``, analyte index ``a``) was obtained, in words:
    "clinician-set: <why>", or "median of the results before Azathioprine started on
    2024-01-01, n=3, drawn 2023-10-01 to 2023-12-01" (the drug, its start and the dates
    of the results: a baseline years old is seen as such)."""
    basis = base.basis[pid, a]
    note = inp.baseline_note[pid, a]
    clinician = pc.if_else(pa.array(note != ""), cat("clinician-set: ", note), pa.scalar("clinician-set", pa.string()))
    drug = np.array([*(model.drug_label(d) for d in DRUGS), "treatment"], dtype=object)
    first = drug[np.where(base.first_drug[pid] >= 0, base.first_drug[pid], len(DRUGS))]
    computed = cat("median of the results before ", first, " started")
    if len(pid) and base.t_first is not None and base.t_last is not None:
        began = base.first_start[pid]
        lo, hi = base.t_first[pid, a], base.t_last[pid, a]
        known = (began < NEVER) & (lo < NEVER)
        safe = np.where(known, began, 0)
        drawn = pc.if_else(
            pa.array(lo == hi),
            cat(", drawn ", _day_text(np.where(known, lo, 0))),
            cat(", drawn ", _day_text(np.where(known, lo, 0)), " to ", _day_text(np.where(known, hi, 0))),
        )
        on = pc.if_else(pa.array(known), cat(" on ", _day_text(safe)), pa.scalar("", pa.string()))
        tail = pc.if_else(pa.array(known), drawn, pa.scalar("", pa.string()))
        computed = cat(computed, on, ", n=", num(base.count[pid, a]), tail)
    else:
        computed = cat(computed, ", n=", num(base.count[pid, a]))
    return pc.if_else(pa.array(basis == CLINICIAN), clinician, computed)
