"""Each patient's own baseline per analyte.

A baseline the clinician set (the baselines table, e.g. a Duffy-null associated
neutrophil count) always wins and applies to every result.  Otherwise the baseline rests
on the most recent draws taken strictly before the start of treatment (one value per
draw: the draw's most severe), and applies only to results from that start on: a
patient's own result is never its own baseline.  The draws of one calendar day are one
test (a repeat sample the same afternoon is that day's variation, not another test),
holding the range of the day's results (H428).

How many draws: as many as the rule needs (``min_results`` of the rule in ``rules.toml``,
``baseline_min_results`` in ``ctcae.toml``), and the most recent ones (H210).  CTCAE
v5.0 compares with "the value before treatment", by the trial convention the last
assessment before the first dose, and SPS's creatinine baseline is the pre-treatment
check: one draw, the last before the start.  The local fall rule needs the median of 3:
the last 3 before the start.  Older results never enter: a kidney injury or a flare
years before treatment is not the patient's level before the drug.  No look-back limit
is applied (none of the sources gives one): every flag says the dates of the draws
instead (:func:`words`), so an old baseline is seen as such.

Which start: the first monitored drug's, for the guideline and trend rules whose source
speaks of treatment in general; the start of the named drug's current course for a rule
tied to one drug by its source (``Rule.drug``: the ciclosporin label's "30% or more above
the pre-treatment level"; H212); the start of its first course in the record where the
source keeps one baseline through dose changes and restarts (``Rule.first_course``: the
voclosporin label reassesses a reduced dose, and allows a restart, against the baseline
eGFR from before voclosporin; H410).

A censored draw ("<40", ">10") gives only a bound.  The median of the draws is computed
with each censored value at both ends of its range: when the two agree (the censored
draw cannot move the median) it is a value; otherwise the baseline is a bound (``bound``
+1: the true baseline is at least it, -1: at most it), and a rule uses it only in the
direction where the bound still proves its finding, saying "at least" (H211).  Draws
censored both ways that move the median give no baseline, and so does a draw that holds
two different results (60 and 80 kept at one draw: the level is only known to lie between
them) where it moves the median (H411).

A start that is only the day a FHIR statement was recorded (``dateAsserted``) or a
renewal written (``model.START_BASES``) does not say when the drug started: the drug
may have been taken for years before it, so no result before it is known to precede
the drug and no baseline is computed from it (H540; probe37 F1).  Where such a row is
the first of the patient's monitored treatment (or of the drug's course a rule
compares with), the baseline is none, and :func:`unknown_start_words` says why.  This
is the one place the rules read it: every rule takes its baselines from here (the
Patient page's current doses word it too, ``dashboard/views.py`` ``_since``).

A patient with no such drug, or fewer pre-treatment draws than the rule needs, has no
computed baseline.  Every start of monitored treatment after a time without one
(``treatment_starts``, the first start included) ends a flag's episode
(``flags._episodes``).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import cache

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from dashboard import model
from dashboard.rules.data import DAY, NEVER, schedule_file, worse_direction
from dashboard.rules.hits import cat, num
from dashboard.rules.inputs import DRUGS, Inputs, course_breaks, course_gap, group_starts, pair_key

NONE, CLINICIAN, PRETREATMENT = 0, 1, 2


@dataclass
class Draws:
    """One analyte's draws (one value per draw, its most severe), by patient and time."""

    key: np.ndarray  # pair_key(pid, t), sorted
    t: np.ndarray
    value: np.ndarray
    cmp: np.ndarray  # the comparator code of inputs.Labs.cmp
    #: the draw's least severe value: ``value`` itself, unless the draw holds two different
    #: results (60 and 80: kept, both), when the level before treatment is only a range
    other: np.ndarray | None = None


@dataclass
class Courses:
    """One drug's courses: each start after more than a dosing interval without the drug
    (a day for a daily drug, a week for a weekly one), and the end of the last dose of
    that course (NEVER while ongoing)."""

    key: np.ndarray  # pair_key(pid, start), sorted
    pid: np.ndarray
    start: np.ndarray
    end: np.ndarray
    #: int8 per course: model.START_BASES index of its first dose (> 0: the start is only
    #: the day a statement was recorded or a renewal written; None: every start known)
    basis: np.ndarray | None = None


@dataclass
class Baselines:
    clinician: np.ndarray  # float64 [patient, analyte]: the clinician-set baseline; NaN = none
    first_drug: np.ndarray  # int64 per patient: index into DRUGS of the first monitored drug (-1)
    first_start: np.ndarray  # int64 per patient: its start (NEVER)
    #: sorted pair keys (``inputs.pair_key``) of every start of monitored treatment after a
    #: time without one: the first start, and each restart after a gap of more than a
    #: dosing interval (a day for a daily drug, a week for a weekly one)
    treatment_starts: np.ndarray | None = None
    #: per analyte index: its draws (the review's own, kept for results judged later)
    draws: dict[int, Draws] = field(default_factory=dict)
    #: per drug index: its courses
    courses: dict[int, Courses] = field(default_factory=dict)
    #: int8 per patient: model.START_BASES index of the first monitored dose (> 0: its
    #: start is not known, H540); None: every start known
    first_basis: np.ndarray | None = None


@dataclass
class Reference:
    """The baseline each of a set of results is compared with."""

    value: np.ndarray  # float64; NaN = none
    bound: np.ndarray  # int8: 0 a value, +1 the true baseline is at least it, -1 at most it
    basis: np.ndarray  # int8: NONE, CLINICIAN or PRETREATMENT
    count: np.ndarray  # int64: draws it rests on
    t_first: np.ndarray  # int64: the first and last of them (NEVER: none)
    t_last: np.ndarray
    drug: np.ndarray  # int64: index into DRUGS of the drug it precedes (-1)
    start: np.ndarray  # int64: that drug's start (NEVER)
    #: float64: the lowest and highest the median of the draws can be (equal to ``value``
    #: when it is known; -inf / inf on a censored side; NaN: no draws)
    low: np.ndarray
    high: np.ndarray
    #: bool: the draws include a day (or draw) of two different results (H411, H428)
    ranged: np.ndarray
    #: int8: model.START_BASES index where the start it would precede is not known (the
    #: day a statement was recorded or a renewal written: no baseline, H540), else 0
    unknown: np.ndarray

    def usable(self, direction: int = 0) -> np.ndarray:
        """The rows whose baseline can be used by a rule: a value, or a bound whose side
        (``direction``: +1 a lower bound, -1 an upper bound) proves the rule's finding."""
        ok = np.isfinite(self.value)
        return ok & ((self.bound == 0) | ((direction != 0) & (self.bound == direction)))

    def take(self, idx: np.ndarray) -> Reference:
        return Reference(*(getattr(self, f)[idx] for f in _REF_FIELDS))

    def as_bound(self, direction: int) -> Reference:
        """The reference as a rule that needs a bound on ``direction``'s side uses it
        (+1: the true baseline is at least it, for a fall; -1: at most it, for a rise):
        where draws of two different results leave only a range (no single value), its
        end on that side, as a bound (H431; probe25 F2, F3): creatinine 60 and 64 of one day
        before ciclosporin is at most 64, and 90 is more than 30% above it whichever
        was the level.  Every other row is as it was."""
        end = self.low if direction > 0 else self.high
        take = np.isnan(self.value) & self.ranged & np.isfinite(end) & (end > 0)
        if not take.any():
            return self
        return replace(
            self,
            value=np.where(take, end, self.value),
            bound=np.where(take, direction, self.bound).astype(np.int8),
            basis=np.where(take, PRETREATMENT, self.basis).astype(np.int8),
        )


_REF_FIELDS = (
    "value",
    "bound",
    "basis",
    "count",
    "t_first",
    "t_last",
    "drug",
    "start",
    "low",
    "high",
    "ranged",
    "unknown",
)


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
    n = inp.n_patients
    doses = inp.doses
    first_start = np.full(n, NEVER, dtype=np.int64)
    first_drug = np.full(n, -1, dtype=np.int64)
    known = doses.start < NEVER if len(doses) else np.zeros(0, dtype=bool)
    mon = monitored_drugs()[doses.drug] & known if len(doses) else np.zeros(0, dtype=bool)
    basis = doses.start_basis if doses.start_basis is not None else np.zeros(len(doses), dtype=np.int8)
    first_basis = None
    if mon.any():
        pid, start, drug = doses.pid[mon], doses.start[mon], doses.drug[mon]
        # of doses from one day, a start not known (H540) comes first: it may be earlier
        order = np.lexsort((-basis[mon], start, pid))
        firsts = order[group_starts(pid[order])]
        first_start[pid[firsts]] = start[firsts]
        first_drug[pid[firsts]] = drug[firsts]
        if (basis[mon] > 0).any():
            first_basis = np.zeros(n, dtype=np.int8)
            first_basis[pid[firsts]] = basis[mon][firsts]

    draws: dict[int, Draws] = {}
    labs = inp.labs
    # a dose started at a time of day splits its day: a draw of that morning before it is
    # a test before treatment, one of that afternoon is not (probe37 F5, H544)
    timed = (
        mon & (doses.start % DAY != 0) if len(doses) else np.zeros(0, dtype=bool)
    )  # the monitored drugs only (audit9 A1)
    splits = np.unique(pair_key(doses.pid[timed], doses.start[timed])) if timed.any() else None
    if len(labs):
        one = labs.draws()
        for a, name in enumerate(model.ANALYTES):
            s = labs.slice(name)
            ends = np.flatnonzero(one[s])  # a draw's rows run from its least to its most severe
            rows = ends + s.start
            if len(rows):
                other = labs.value[np.r_[0, ends[:-1] + 1] + s.start]
                draws[a] = _days(
                    labs.pid[rows],
                    labs.t[rows],
                    labs.value[rows],
                    labs.cmp[rows],
                    other,
                    worse_direction().get(name, 1),
                    splits,
                )

    courses: dict[int, Courses] = {}
    gap = course_gap(doses.per_day)
    for d in np.unique(doses.drug[known]) if len(doses) else ():
        m = known & (doses.drug == d)
        courses[int(d)] = _courses(doses.pid[m], doses.start[m], doses.course_end[m], gap[m], basis[m])
    restarts = (
        np.sort(_courses(doses.pid[mon], doses.start[mon], doses.course_end[mon], gap[mon]).key)
        if mon.any()
        else np.zeros(0, np.int64)
    )
    return Baselines(inp.baseline.copy(), first_drug, first_start, restarts, draws, courses, first_basis)


def _days(
    pid: np.ndarray,
    t: np.ndarray,
    value: np.ndarray,
    cmp: np.ndarray,
    other: np.ndarray,
    worse: int,
    splits: np.ndarray | None = None,
) -> Draws:
    """One analyte's draws (sorted by patient and time) as days: the draws of one patient
    on one calendar day are one test, holding the range of that day's results (H428; probe24
    p24fix: a repeat sample at 15:00 after one at 09:00 is the same day's variation, not a
    third pre-treatment test).  A day of several draws keeps its most severe result
    (``worse``: +1 higher is worse, -1 lower), that result's comparator and the time of
    its last draw, and its least severe result as ``other``, so that it reads as a range
    (H411) wherever its results differ.  A dose started at a time of that day (``splits``:
    sorted pair keys of timed starts) parts it: the draws before the dose are one test,
    those from it on another (a draw at 08:00 before a first dose at 10:00 is a
    pre-treatment test, and the 15:00 draw of that day never hides it: H544)."""
    day = pair_key(pid, t // DAY * DAY)
    new = np.r_[True, day[1:] != day[:-1]]
    if splits is not None and len(splits):
        # the number of timed starts of the patient on that day up to each draw (its part)
        part = np.searchsorted(splits, pair_key(pid, t), side="right") - np.searchsorted(splits, day, side="right")
        new |= np.r_[True, part[1:] != part[:-1]]
    if new.all():
        return Draws(pair_key(pid, t), t, value, cmp, other)
    first = np.flatnonzero(new)
    last = np.r_[first[1:], len(t)] - 1
    most = np.lexsort((worse * value, np.cumsum(new)))[last]  # per day, its most severe draw
    lo = np.minimum.reduceat(np.fmin(value, other), first)
    hi = np.maximum.reduceat(np.fmax(value, other), first)
    several = last > first  # days of more than one draw: their least severe result
    out_other = np.where(several, np.where(worse > 0, lo, hi), other[first])
    return Draws(pair_key(pid[last], t[last]), t[last], value[most], cmp[most], out_other)


def _courses(
    pid: np.ndarray, start: np.ndarray, end: np.ndarray, gap: np.ndarray, basis: np.ndarray | None = None
) -> Courses:
    """The courses of dose rows (one drug, or every monitored drug together): a patient's
    first dose, and each dose that begins later than every earlier one's end plus that
    row's dosing interval (``gap``, :func:`dashboard.rules.inputs.course_gap`: a day for a
    daily drug, a week for a weekly one, as the schedule's courses: a restart after a time
    without any; a dose change, the next weekly dose given by another route, or a second
    drug added while one is in force, is not a new start), each with the latest end of its
    doses, and (``basis``) whether its start is only the day a statement was recorded or a
    renewal written (of doses from one day, such a one first: H540)."""
    unknown = basis is not None and bool((basis > 0).any())
    order = np.lexsort((-basis, start, pid)) if unknown and basis is not None else np.lexsort((start, pid))
    pid, start, end, gap = pid[order], start[order], end[order], gap[order]
    first = np.flatnonzero(course_breaks(pid, start, end + gap))
    last_end = np.maximum.reduceat(end, first) if len(first) else np.zeros(0, np.int64)
    said = basis[order][first] if unknown and basis is not None else None
    return Courses(pair_key(pid[first], start[first]), pid[first], start[first], last_end, said)


def _before(draws: Draws | None, pid: np.ndarray, anchor: np.ndarray, n: int) -> tuple[np.ndarray, ...]:
    """The median of the last ``n`` draws of each patient strictly before ``anchor`` (NEVER:
    none), as (value, bound, count, t_first, t_last); NaN where there are fewer than ``n``."""
    q = len(pid)
    value, bound = np.full(q, np.nan), np.zeros(q, dtype=np.int8)
    count = np.zeros(q, dtype=np.int64)
    t_first, t_last = np.full(q, NEVER, dtype=np.int64), np.full(q, NEVER, dtype=np.int64)
    lo_med, hi_med, ranged = np.full(q, np.nan), np.full(q, np.nan), np.zeros(q, dtype=bool)
    if draws is None or not q:
        return value, bound, count, t_first, t_last, lo_med, hi_med, ranged
    if not (anchor < NEVER).any():  # no start to look before (a panel without doses): none has a baseline
        return value, bound, count, t_first, t_last, lo_med, hi_med, ranged
    key = pair_key(pid, anchor)
    change = np.r_[True, key[1:] != key[:-1]]
    if q > 1 and not change.all():
        # the results of one patient come together and share their anchor: each run of
        # one (patient, anchor) is looked up once, then spread back over its rows
        first = np.flatnonzero(change)
        run = np.cumsum(change) - 1
        return tuple(x[run] for x in _before(draws, pid[first], anchor[first], n))
    stop = np.searchsorted(draws.key, key, side="left")  # strictly before the start
    begin = np.searchsorted(draws.key, pair_key(pid, np.full(q, -(2**40), dtype=np.int64)), side="left")
    rows = np.flatnonzero((anchor < NEVER) & (stop - begin >= n))
    if not len(rows):
        return value, bound, count, t_first, t_last, lo_med, hi_med, ranged
    at = (stop[rows] - n)[:, None] + np.arange(n)[None, :]
    v, c = draws.value[at], draws.cmp[at]
    o = v if draws.other is None else draws.other[at]
    # a draw of two different results lies anywhere between them (H411)
    with np.errstate(invalid="ignore"):
        two = np.isfinite(o) & np.isfinite(v) & (o != v)
    lo_v, hi_v = np.where(two, np.fmin(v, o), v), np.where(two, np.fmax(v, o), v)
    # each censored draw at both ends of its range: "<x" anywhere up to x, ">x" from x up
    low = np.median(np.where(c < 0, -np.inf, lo_v), axis=1)
    high = np.median(np.where(c > 0, np.inf, hi_v), axis=1)
    with np.errstate(invalid="ignore"):
        exact = low == high
    # a range open both ways (a draw of two results, or censored both ways) that moves the
    # median gives no baseline: which level the patient had before treatment is not known
    above, below = ((c > 0) | two).any(axis=1), ((c < 0) | two).any(axis=1)
    med = np.median(v, axis=1)
    value[rows] = np.where(exact | (above != below), med, np.nan)
    bound[rows] = np.where(exact, 0, np.where(above & ~below, 1, np.where(below & ~above, -1, 0)))
    count[rows] = n
    t_first[rows], t_last[rows] = draws.t[at[:, 0]], draws.t[at[:, -1]]
    lo_med[rows], hi_med[rows], ranged[rows] = low, high, two.any(axis=1)
    return value, bound, count, t_first, t_last, lo_med, hi_med, ranged


def for_rows(
    base: Baselines,
    pid: np.ndarray,
    analyte: int,
    t: np.ndarray,
    min_results: int,
    drug: int | None = None,
    first_course: bool = False,
) -> Reference:
    """The baseline each result (patient ``pid``, time ``t``) is compared with.

    A clinician-set baseline applies to every result.  A computed one is the median of
    the last ``min_results`` draws (at least one) before the start of treatment, for the
    results from that start on: the first monitored drug's start, or with ``drug`` (an
    index into DRUGS) the start of that drug's course in force at the result (a result
    taken when the drug is not in force has none from it); with ``first_course`` too, the
    start of that drug's first course in the record (a label's baseline kept through dose
    changes and restarts: voclosporin, H410).  Where the draws leave no single level
    (a day or draw of two different results that moves the median: H411, H428), ``value``
    is NaN and ``low``, ``high`` and ``ranged`` keep the range, for :meth:`Reference.as_bound`.
    """
    q = len(pid)
    unknown = np.zeros(q, dtype=np.int8)
    if drug is None:
        start = base.first_start[pid]
        which = base.first_drug[pid]
        applies = (start < NEVER) & (t >= start)
        if base.first_basis is not None:
            unknown = np.where(applies, base.first_basis[pid], 0).astype(np.int8)
    else:
        start, which, applies = np.full(q, NEVER, dtype=np.int64), np.full(q, -1, dtype=np.int64), np.zeros(q, bool)
        c = base.courses.get(drug)
        if c is not None and len(c.key) and q:
            i = np.searchsorted(c.key, pair_key(pid, t), side="right") - 1
            ii = np.maximum(i, 0)
            applies = (i >= 0) & (c.pid[ii] == pid) & (t < c.end[ii])  # in force: start <= t < end
            if first_course:  # the patient's first course of the drug (courses sorted by patient, start)
                ii = np.searchsorted(c.pid, pid, side="left")
            at = np.minimum(ii, len(c.start) - 1)
            start = np.where(applies, c.start[at], NEVER)
            which = np.where(applies, drug, -1)
            if c.basis is not None:
                unknown = np.where(applies, c.basis[at], 0).astype(np.int8)
    # a start that is only the day a statement was recorded or a renewal written: the
    # drug may have begun any time before it, so no draw is known to precede it (H540)
    anchor = np.where(applies & (unknown == 0), start, NEVER)
    value, bound, count, t_first, t_last, low, high, ranged = _before(
        base.draws.get(analyte), pid, anchor, max(min_results, 1)
    )
    basis = np.where(np.isfinite(value), PRETREATMENT, NONE).astype(np.int8)
    clinician = base.clinician[pid, analyte]
    mine = np.isfinite(clinician)
    value = np.where(mine, clinician, value)
    low, high = np.where(mine, clinician, low), np.where(mine, clinician, high)
    basis[mine], bound[mine], count[mine], t_first[mine], t_last[mine] = CLINICIAN, 0, 0, NEVER, NEVER
    ranged[mine] = False
    unknown[mine] = 0
    # a range of draws, or a start not known: the drug and start it precedes, kept
    drawn = (basis == PRETREATMENT) | ranged | (unknown > 0)
    return Reference(
        value,
        bound,
        basis,
        count,
        t_first,
        t_last,
        np.where(drawn, which, -1),
        np.where(drawn, start, NEVER),
        low,
        high,
        ranged,
        unknown,
    )


def unknown_start_words(ref: Reference) -> np.ndarray:
    """Per reference: why there is no baseline where the start it would precede is not
    known ("the start of Azathioprine is not recorded (the statement was recorded on
    2024-03-01): no pre-drug baseline"); "" elsewhere (H540)."""
    out = np.full(len(ref.unknown), "", dtype=object)
    for k in np.flatnonzero(ref.unknown > 0):
        name = model.drug_label(DRUGS[int(ref.drug[k])]) if ref.drug[k] >= 0 else "treatment"
        day = _day_text(np.array([ref.start[k]]))[0].as_py()
        what = (
            f"the statement was recorded on {day}"
            if model.START_BASES[int(ref.unknown[k])] == "recorded"
            else f"the order of {day} continues an earlier one"
        )
        out[k] = f"the start of {name} is not recorded ({what}): no pre-drug baseline"
    return out


def _day_text(sec: np.ndarray) -> pa.Array:
    return pc.strftime(pa.array(np.asarray(sec).astype("datetime64[s]")), format="%Y-%m-%d")


def words(inp: Inputs, ref: Reference, pid: np.ndarray, a: int) -> pa.Array:
    """How each baseline (``ref`` of patient ``pid``, analyte index ``a``) was obtained:
    "clinician-set: <why>", "the last result before Methotrexate started on 2024-01-01,
    drawn 2023-12-01", or "median of the last 3 results before Azathioprine started on
    2024-01-01, drawn 2023-10-01 to 2023-12-01" (the drug, its start and the dates of the
    draws: a baseline years old is seen as such), with "; censored, so only a bound" when
    it is a bound, or, for a bound taken from the range of draws of two different results
    (:meth:`Reference.as_bound`), "; two different results of one day, so it lies from 7
    to 7.5: only a bound"; "" where there is none."""
    if not len(pid):
        return pa.array([], pa.string())
    note = inp.baseline_note[pid, a]
    clinician = pc.if_else(pa.array(note != ""), cat("clinician-set: ", note), pa.scalar("clinician-set", pa.string()))
    label = np.array([*(model.drug_label(d) for d in DRUGS), "treatment"], dtype=object)
    drug = label[np.where(ref.drug >= 0, ref.drug, len(DRUGS))]
    known = ref.basis == PRETREATMENT
    safe = np.where(known, ref.start, 0)
    lo, hi = np.where(known, ref.t_first, 0), np.where(known, ref.t_last, 0)
    many = np.char.add(np.char.add("median of the last ", ref.count.astype(str)), " results")
    head = np.where(ref.count > 1, many, "the last result")
    drawn = pc.if_else(
        pa.array(lo == hi), cat(", drawn ", _day_text(lo)), cat(", drawn ", _day_text(lo), " to ", _day_text(hi))
    )
    censored = np.where(ref.bound != 0, "; censored, so only a bound", "").astype(object)
    spread = ref.ranged & (ref.bound != 0)
    if spread.any():  # draws of two different results: the range the level lies in (H411, H428)
        low, high = ref.low[spread], ref.high[spread]
        ends = np.isfinite(low) & np.isfinite(high)
        # a censored end is no level ("<70" beside 60: at most 70, never "from -inf")
        where = np.where(ends, "lies from ", np.where(np.isfinite(high), "is at most ", "is at least ")).astype(object)
        first = np.where(np.isfinite(low), low, high)
        rest = pa.array(np.where(ends, " to ", "").astype(object), pa.string())
        said = cat(
            "; two different results of one day, so it ",
            where,
            num(first),
            rest,
            pa.array(np.where(ends, np.asarray(num(np.where(ends, high, 0)).to_pylist(), dtype=object), "")),
            ": only a bound",
        )
        censored[spread] = np.asarray(said.to_pylist(), dtype=object)
    computed = cat(head.astype(object), " before ", drug, " started on ", _day_text(safe), drawn, censored)
    out = pc.if_else(pa.array(known), computed, pa.scalar("", pa.string()))
    return pc.if_else(pa.array(ref.basis == CLINICIAN), clinician, out)
