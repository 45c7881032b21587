"""Doses in force together: the one home of a drug's total when its dose rows overlap.

Two dose rows of one patient and drug whose dates overlap are read as taken together
(the import says so, ``ingest/doses.py``): azathioprine 100 mg mane and 75 mg nocte is
175 mg a day.  :func:`in_force_together` cuts each patient's rows of a drug into the
intervals during which one set of rows is in force, and :class:`Together` sums any
per-row amount over each set, so every check that compares an amount (and the Dosing
page) judges the total, never one row alone.

Only rows of one *schedule kind* are added up (:func:`schedule_kind`): daily with daily
(mg/day), weekly with weekly (mg/week: methotrexate oral + subcutaneous); a pulse
(intravenous, monthly, every N weeks, single) is never added to anything, so each pulse
row is an interval set of its own.  A row whose amount is unknown (mg/m2 without a body
surface area, a product strength without a count) makes the total unknown: the known
part is then only a lower bound, and :meth:`Together.total` says which.

A row whose end is not after its start is kept as its own interval (never dropped).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

# which rows add up: in ingest, so that the import's notes say the totals these add (H326)
from dashboard.ingest.frequency import schedule_kind
from dashboard.rules.data import NEVER
from dashboard.rules.inputs import DRUGS, Inputs, group_starts, pair_key

#: The schedule kinds whose rows may be added up: index = kind code.
KINDS: tuple[str, ...] = ("daily", "weekly", "pulse")


def kind_codes(drug: np.ndarray, frequency: np.ndarray, route: np.ndarray) -> np.ndarray:
    """The :data:`KINDS` code of each dose row (drug codes into ``DRUGS``), looked up
    once per distinct (drug, frequency, route)."""
    n = len(drug)
    if not n:
        return np.zeros(0, np.int8)
    keys = np.char.add(np.char.add(np.asarray(drug).astype(str), "\x1f"), np.asarray(frequency).astype(str))
    keys = np.char.add(np.char.add(keys, "\x1f"), np.asarray(route).astype(str))
    uniq, inv = np.unique(keys, return_inverse=True)
    codes = np.empty(len(uniq), np.int8)
    for i, k in enumerate(uniq):
        dr, fr, ro = str(k).split("\x1f")
        codes[i] = KINDS.index(schedule_kind(DRUGS[int(dr)], fr, ro))
    return codes[inv.reshape(-1)]


@dataclass(frozen=True)
class Together:
    """Intervals ``[start, end)`` during which one set of dose rows (``members``) of a
    patient, drug and schedule kind is in force; sorted by patient, drug, kind, start."""

    pid: np.ndarray  # int64 patient code
    drug: np.ndarray  # int64 drug code
    kind: np.ndarray  # int8 code into KINDS
    start: np.ndarray  # int64 seconds
    end: np.ndarray  # int64 seconds (NEVER: ongoing)
    row: np.ndarray  # int64: the member that started last (it stands for the interval)
    n: np.ndarray  # int64: how many rows are in force together
    offsets: np.ndarray  # int64, len + 1: members of interval i are members[offsets[i]:offsets[i + 1]]
    members: np.ndarray  # int64 dose rows, each interval's by start

    def __len__(self) -> int:
        return len(self.start)

    def owner(self) -> np.ndarray:
        """The interval of each entry of :attr:`members`."""
        return np.repeat(np.arange(len(self)), np.diff(self.offsets))

    def total(self, per_row: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(sum over each interval's rows, whether every row's amount is known).  When
        some are unknown the sum is of the known ones (a lower bound: amounts are never
        negative); NaN when none is known."""
        v = np.asarray(per_row, dtype=float)[self.members]
        known = np.isfinite(v)
        owner = self.owner()
        out = np.bincount(owner, weights=np.where(known, v, 0.0), minlength=len(self))
        n_known = np.bincount(owner, weights=known.astype(float), minlength=len(self))
        out[n_known == 0] = np.nan
        return out, n_known == self.n

    def parts(self, value: np.ndarray, unit: np.ndarray) -> np.ndarray:
        """Per interval, its rows' amounts as text: "100 + 75 mg/day" when every row is
        in one unit, else "2 mg/kg/day + 100 mg/day"; an unknown amount is said as
        "unknown (<what the row is>)" (``value`` object text per row, ``unit`` per row)."""
        if not len(self):
            return np.zeros(0, dtype=object)
        v = np.asarray(value, dtype=object)[self.members]
        u = np.asarray(unit, dtype=object)[self.members]
        owner = self.owner()
        offs = pa.array(self.offsets.astype(np.int32))
        first_unit = u[self.offsets[:-1][owner]]
        same = np.ones(len(self), bool)
        np.logical_and.at(same, owner, (u == first_unit) & (u != ""))
        with_unit = np.where(u == "", v, np.char.add(np.char.add(v.astype(str), " "), u.astype(str))).astype(object)
        bare = pc.binary_join(pa.ListArray.from_arrays(offs, pa.array(v, pa.string())), " + ")
        full = pc.binary_join(pa.ListArray.from_arrays(offs, pa.array(with_unit, pa.string())), " + ")
        tail = np.where(same, np.char.add(" ", u[self.offsets[:-1]].astype(str)), "")
        head = np.where(same, np.asarray(bare.to_pylist(), dtype=object), np.asarray(full.to_pylist(), dtype=object))
        return np.char.add(head.astype(str), tail.astype(str)).astype(object)


def in_force_together(
    pid: np.ndarray, drug: np.ndarray, kind: np.ndarray, start: np.ndarray, end: np.ndarray
) -> Together:
    """The intervals of :class:`Together` of dose rows given as arrays (row i = index i).

    Rows of one patient, drug and kind are cut at every start and end of those rows;
    each piece with at least one row in force is an interval.  A pulse row, and a row
    whose end is not after its start, is an interval of its own."""
    pid, drug = np.asarray(pid, np.int64), np.asarray(drug, np.int64)
    kind, start, end = np.asarray(kind, np.int8), np.asarray(start, np.int64), np.asarray(end, np.int64)
    n = len(start)
    rows = np.arange(n, dtype=np.int64)
    alone = (kind == KINDS.index("pulse")) | (end <= start)
    # one group per (patient, drug, kind) of the rows cut together
    r_ok = rows[~alone]
    order = r_ok[np.lexsort((kind[r_ok], drug[r_ok], pid[r_ok]))]
    group = np.zeros(n, np.int64)
    group[order] = np.cumsum(group_starts(pid[order], drug[order], kind[order])) - 1 if len(order) else 0
    # the cut points of each group, as sortable (group, time) keys, and their times
    k_start, k_end = pair_key(group[r_ok], start[r_ok]), pair_key(group[r_ok], end[r_ok])
    cut_key, at = np.unique(np.r_[k_start, k_end], return_index=True)
    cut_time = np.r_[start[r_ok], end[r_ok]][at]
    # each row covers the pieces from its start's cut to the one before its end's cut
    i0, i1 = np.searchsorted(cut_key, k_start), np.searchsorted(cut_key, k_end)
    count = i1 - i0
    mem_row = np.repeat(r_ok, count)
    piece = np.repeat(i0, count) + (np.arange(int(count.sum())) - np.repeat(np.cumsum(count) - count, count))
    # the rows standing alone: one piece each, numbered after the cut pieces
    lone = rows[alone]
    mem_row = np.r_[mem_row, lone].astype(np.int64)
    piece = np.r_[piece, len(cut_key) + np.arange(len(lone))].astype(np.int64)
    p_start = np.r_[cut_time, start[lone]].astype(np.int64)
    p_end = np.r_[cut_time[1:], [NEVER] if len(cut_time) else [], end[lone]].astype(np.int64)
    o = np.lexsort((mem_row, start[mem_row], piece))
    mem_row, piece = mem_row[o], piece[o]
    first = group_starts(piece) if len(piece) else np.zeros(0, bool)
    pieces = piece[first]
    offsets = np.r_[np.flatnonzero(first), len(piece)].astype(np.int64)
    counts = np.diff(offsets)
    last = mem_row[offsets[1:] - 1]  # members are by start: the last started last
    out_start, out_end = p_start[pieces], p_end[pieces]
    # sorted by patient, drug, kind, start
    srt = np.lexsort((out_start, kind[last], drug[last], pid[last]))
    lens = counts[srt]
    take = np.repeat(offsets[:-1][srt], lens) + (np.arange(int(lens.sum())) - np.repeat(np.cumsum(lens) - lens, lens))
    last = last[srt]
    return Together(
        pid=pid[last],
        drug=drug[last],
        kind=kind[last],
        start=out_start[srt],
        end=out_end[srt],
        row=last,
        n=lens.astype(np.int64),
        offsets=np.r_[0, np.cumsum(lens)].astype(np.int64),
        members=mem_row[take],
    )


def of_inputs(inp: Inputs) -> Together:
    """:func:`in_force_together` over the review's dose rows (``Inputs.doses``)."""
    d = inp.doses
    return in_force_together(d.pid, d.drug, kind_codes(d.drug, d.frequency, d.route), d.start, d.end)


def amount_texts(
    amount: np.ndarray, dose: np.ndarray, dose_unit: np.ndarray, per_day: np.ndarray, weekly: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """Per dose row, its amount as text and its unit, as a total's parts are written:
    "100", "mg/day" (``amount`` is mg/day; ``weekly``: mg/week); a dose in mg/kg as
    mg/kg/day; an unknown amount as "unknown (50 mg/m2)"."""
    amount, dose, per_day = (np.asarray(x, dtype=float) for x in (amount, dose, per_day))
    dose_unit = np.asarray(dose_unit, dtype=object)
    unit = "mg/week" if weekly else "mg/day"
    per_kg = dose * per_day
    by_kg = (dose_unit == "mg/kg") & np.isfinite(per_kg) & (not weekly)
    value = np.where(np.isfinite(amount), _short(amount), np.where(by_kg, _short(per_kg), ""))
    stated = np.char.add(np.char.add(_short(dose).astype(str), " "), dose_unit.astype(str))
    unknown = np.char.add(np.char.add("unknown (", np.where(np.isfinite(dose), stated, "no amount")), ")")
    value = np.where(value == "", unknown, value).astype(object)
    units = np.where(np.isfinite(amount), unit, np.where(by_kg, "mg/kg/day", "")).astype(object)
    return value, units


def _short(x: np.ndarray) -> np.ndarray:
    """Numbers as the dose checks write them (140, 3.5, 23.7)."""
    arr = np.asarray(x, dtype=float)
    arr = np.where(np.abs(arr) >= 100, np.round(arr, 1), np.round(arr, 3))
    return np.asarray(pa.array(arr).cast(pa.string()).to_pylist(), dtype=object)


def reduced_for(
    tg: Together, day: np.ndarray, before: np.ndarray, course_start: np.ndarray, window_s: int
) -> tuple[np.ndarray, np.ndarray]:
    """The reference of a thiopurine's reduction for an interacting drug (allopurinol) whose
    course began at ``course_start`` (seconds, per query): the one home of it, read by the
    dose checks (``dose.aza_allopurinol``) and the Dosing page alike (probe46 F2, H681).

    ``before`` (per query) is the interval of the thiopurine in force the second before the
    course began (-1: none), ``day`` each interval's complete daily total (NaN: unknown).
    When that interval began no more than ``window_s`` before the course, right where an
    interval of a strictly higher known total ended (a reduction, with no gap), that
    reduction is read as the one made for the interacting drug: the reference is the
    interval before it.  Returns (per query: the reference interval, -1 when none; the day
    of the reduction read so, in seconds, or ``NEVER`` when none was).  Only the reduction
    nearest the course is read (a chain of reductions within the window keeps the lower,
    the cautious reference); a reduction earlier than the window leaves ``before``."""
    ref = np.asarray(before, dtype=np.int64).copy()
    on = np.full(len(ref), NEVER, dtype=np.int64)
    k = np.flatnonzero(ref >= 0)
    if not len(k):
        return ref, on
    b = ref[k]
    p = np.maximum(b - 1, 0)
    ok = (
        (b > 0)
        & (tg.pid[p] == tg.pid[b])
        & (tg.drug[p] == tg.drug[b])
        & (tg.kind[p] == tg.kind[b])
        & (tg.start[p] < tg.end[p])
        & (tg.end[p] == tg.start[b])
        & (np.asarray(course_start, dtype=np.int64)[k] - tg.start[b] <= window_s)
    )
    with np.errstate(invalid="ignore"):
        ok &= np.isfinite(day[p]) & np.isfinite(day[b]) & (day[p] > day[b] + 1e-9)
    ref[k[ok]] = p[ok]
    on[k[ok]] = tg.start[b[ok]]
    return ref, on
