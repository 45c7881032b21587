"""Trend rules: what no single threshold shows.

``consecutive_falls``  each of the last ``count`` tests fell by more than ``threshold`` %
    from the test before it (same patient and analyte).  Fires on the ``count``-th fall
    even when every value is in range, and on every further fall: one episode.

    A test is a calendar day (H424): the results of one patient and analyte on the same
    day are one test occasion holding the range of its draws' values (a draw with two
    different results counts by its more severe one, H32).  The source counts falls "on 3
    occasions"; a same-day repeat sample is the same occasion, and its few-percent
    difference from the first sample is analytical and within-day variation, not a
    fourth test that resets the run.  A fall from occasion A to occasion B counts only
    where it holds for every choice of sample: (lowest of A - highest of B) / lowest of
    A above ``threshold`` -- neither a guessed fall nor a guessed recovery.  A censored
    result counts only by the side it proves (H425): "<x" gives no lower end (nothing
    is proven to fall from it), ">x" no upper end (nothing is proven to have fallen to
    it); a fall of exactly ``threshold`` % counts where a strict bound makes it more.
    The flag lands on the occasion's latest result (so a repeat keeps it open), its
    message lists one value per occasion, a day's range as "6.2-6.3", with the date of
    each occasion (a series may span years off the drug: H543), and names the results
    of such a day with their times.
``baseline_fall``  the result is more than ``threshold`` % below the patient's own
    baseline (:mod:`dashboard.rules.baselines`).  A computed (pre-treatment) baseline is
    the median of the last ``min_results`` draws before the start of treatment (the draws
    of one day are one test, H428) and is compared with results from that start on; where
    those draws leave only a range, its lower end, as a bound (H431); a clinician-set
    baseline with every result.

Severity: the rule's, but at most ``max_severity_in_range`` while the result is within
the reference range (the lab's LLN, else the default): a trend among normal counts is a
reason to review, never an action.  The advice is the rule's message for the analyte.

Trend flags carry no threshold in a unit (``threshold`` is NaN); the baseline used is in
``baseline`` and named in ``baseline_basis``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from dashboard import model
from dashboard.rules import baselines as bl
from dashboard.rules.ctcae import below, lower_limits
from dashboard.rules.data import DAY, severity_rank
from dashboard.rules.engine import Rule
from dashboard.rules.hits import Hits, cat, change_text, comparator_text, day_texts, label, num, unit_text
from dashboard.rules.inputs import Inputs, Labs, group_starts


def fall_runs(
    pid: np.ndarray,
    value: np.ndarray,
    pct: float,
    high: np.ndarray | None = None,
    strict: np.ndarray | None = None,
) -> np.ndarray:
    """Per test (sorted by patient and time): how many consecutive falls of more than
    ``pct`` % end at this test (0 when this test did not fall).

    ``value`` is each test's lowest possible value and ``high`` its highest (default: the
    same); a fall counts from the previous test's ``value`` to this one's ``high``.
    ``strict`` (per test): a fall of exactly ``pct`` % into this test is more, as a strict
    bound of one of the two ends makes it."""
    n = len(value)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    hi = value if high is None else high
    prev = np.r_[np.nan, value[:-1]]
    same = ~group_starts(pid)
    with np.errstate(invalid="ignore", divide="ignore"):
        drop = np.round((prev - hi) / prev * 100, 9)
        more = drop > pct
        if strict is not None:
            more |= strict & (drop >= pct)
        fell = same & (prev > 0) & more
    pos = np.arange(n)
    last_break = np.maximum.accumulate(np.where(fell, -1, pos))
    return np.where(fell, pos - last_break, 0)


@dataclass
class Occasions:
    """One analyte's test occasions (a patient's draws of one calendar day), over the
    draw rows ``rows`` (sorted by patient and time)."""

    rows: np.ndarray  # draw rows (one per draw, its most severe value)
    start: np.ndarray  # per occasion: its first position in ``rows``
    stop: np.ndarray  # per occasion: one past its last position
    low: np.ndarray  # per occasion: lowest possible value (0: a "<x" result, nothing proven)
    high: np.ndarray  # per occasion: highest possible value (inf: a ">x" result)
    low_strict: np.ndarray  # bool: the low end is a strict lower bound (">x")
    high_strict: np.ndarray  # bool: the high end is a strict upper bound ("<x")

    @property
    def latest(self) -> np.ndarray:
        """Per occasion, the row of its latest draw."""
        return self.rows[self.stop - 1]


def occasions(labs: Labs, rows: np.ndarray) -> Occasions:
    """The test occasions of draw rows ``rows`` of one analyte (H424): per patient and
    calendar day, the range of the draws' values, each censored result counted by the
    side it proves (H425)."""
    pid, t, v, c = labs.pid[rows], labs.t[rows], labs.value[rows], labs.cmp[rows]
    new = group_starts(pid, np.floor_divide(t, DAY))
    start = np.flatnonzero(new)
    if not len(rows):
        z = np.zeros(0)
        return Occasions(rows, start, start, z, z, z.astype(bool), z.astype(bool))
    stop = np.r_[start[1:], len(rows)].astype(np.int64)
    lower = np.where(c < 0, 0.0, v)  # "<x": at most x, its lower end unknown
    upper = np.where(c > 0, np.inf, v)  # ">x": at least x, its upper end unknown
    if len(start) == len(rows):  # one draw a day (most records): each draw is its own test
        return Occasions(rows, start, stop, lower, upper, c == 1, c == -1)
    low = np.minimum.reduceat(lower, start)
    high = np.maximum.reduceat(upper, start)
    occ = np.cumsum(new) - 1
    # a strict end: every draw at it is the strict bound (">x" at the low end, "<x" at the high)
    loose_low = np.logical_or.reduceat((lower == low[occ]) & (c != 1), start)
    loose_high = np.logical_or.reduceat((upper == high[occ]) & (c != -1), start)
    return Occasions(rows, start, stop, low, high, ~loose_low, ~loose_high)


def severities(inp: Inputs, rule: Rule, analyte: str, idx: np.ndarray) -> np.ndarray:
    """Severity rank of each hit: the rule's, capped while the result is in range."""
    rank = np.full(len(idx), severity_rank(rule.severity), dtype=np.int8)
    if not rule.max_severity_in_range or not len(idx):
        return rank
    labs = inp.labs
    lln, _ = lower_limits(inp, analyte, idx)
    in_range = np.isfinite(lln) & ~below(labs.value[idx], labs.cmp[idx], lln)
    cap = severity_rank(rule.max_severity_in_range)
    return np.where(in_range, np.minimum(rank, cap), rank).astype(np.int8)


def _trend_hits(
    inp: Inputs,
    rule: Rule,
    analyte: str,
    idx: np.ndarray,
    message: pa.Array,
    severity: np.ndarray | None = None,
    **basis: np.ndarray,
) -> Hits:
    """A trend rule's hits on ``analyte``: no fixed threshold, severity capped in range
    (``severity``: already worked out)."""
    return Hits(
        idx=idx,
        rule=rule.id,
        kind="trend",
        severity=severities(inp, rule, analyte, idx) if severity is None else severity,
        threshold=np.full(len(idx), np.nan),
        message=message,
        source=rule.source,
        **basis,
    )


def _spread(start: np.ndarray, stop: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The positions start..stop-1 of each group, concatenated, and each group's offset."""
    counts = stop - start
    offsets = (np.cumsum(counts) - counts).astype(np.int64)
    pos = np.arange(int(counts.sum()), dtype=np.int64) - np.repeat(offsets, counts) + np.repeat(start, counts)
    return pos, offsets


def _draw_text(labs: Labs, rows: np.ndarray) -> pa.Array:
    """Each result as reported: its comparator and value ("<0.5", "6.2")."""
    return cat(comparator_text(labs.cmp[rows]), num(labs.value[rows]))


def _occasion_texts(labs: Labs, occ: Occasions, which: np.ndarray) -> tuple[pa.Array, pa.Array | None]:
    """For occasions ``which``: the value shown in a series (one result: as reported; a
    day of several: "lowest-highest") and, for a day of several, its results with their
    times in the order drawn ("2026-04-01: 6.3 at 09:00 and 6.2 at 15:00"; "" otherwise;
    None when no occasion is a day of several)."""
    size = occ.stop[which] - occ.start[which]
    shown = _draw_text(labs, occ.rows[occ.start[which]])
    several = size > 1
    if not several.any():  # the common case: one draw a day
        return shown, None
    few = which[several]  # days of several draws (few): their texts built for them alone
    pos, offsets = _spread(occ.start[few], occ.stop[few])
    rows = occ.rows[pos]
    group = np.repeat(np.arange(len(few)), size[several])
    by_value = np.lexsort((labs.value[rows], group))
    last = offsets + size[several] - 1
    lowest, highest = rows[by_value[offsets]], rows[by_value[last]]
    ranges = cat(_draw_text(labs, lowest), "-", _draw_text(labs, highest))
    shown = pc.replace_with_mask(shown, pa.array(several), ranges)
    stamps = pc.cast(pa.array(labs.t[rows] * 1_000_000_000, pa.int64()), pa.timestamp("ns"))
    each = cat(_draw_text(labs, rows), " at ", pc.strftime(stamps, format="%H:%M"))
    joined = pc.binary_join(pa.ListArray.from_arrays(pa.array(np.r_[offsets, len(pos)], pa.int32()), each), " and ")
    day = pc.strftime(pc.take(stamps, pa.array(offsets)), format="%Y-%m-%d")
    days = pc.replace_with_mask(
        pa.repeat(pa.scalar("", pa.string()), len(which)), pa.array(several), cat(day, ": ", joined)
    )
    return shown, days


def consecutive_fall_hits(inp: Inputs, rule: Rule) -> list[Hits]:
    labs = inp.labs
    out = []
    draws = labs.draws()
    k = rule.count
    for analyte in rule.analytes:
        s = labs.slice(analyte)
        rows = np.flatnonzero(draws[s]) + s.start  # one row per draw: its most severe value
        occ = occasions(labs, rows)
        pid = labs.pid[occ.latest]
        strict = occ.high_strict | np.r_[False, occ.low_strict[:-1]]
        runs = fall_runs(pid, occ.low, rule.threshold, occ.high, strict if strict.any() else None)
        at = np.flatnonzero(runs >= k)
        idx = occ.latest[at]
        if not len(at):
            out.append(_trend_hits(inp, rule, analyte, idx, pa.array([], pa.string())))
            continue
        # severity: capped while any result of the day is within range (none proven below it)
        pos, offsets = _spread(occ.start[at], occ.stop[at])
        each = severities(inp, rule, analyte, occ.rows[pos])
        severity = np.minimum.reduceat(each, offsets)
        lags = at[:, None] - np.arange(k, -1, -1)  # per hit, its series of occasions, oldest first
        need, where = np.unique(lags, return_inverse=True)
        where = where.reshape(lags.shape)
        shown, days = _occasion_texts(labs, occ, need)
        parts: list = []
        for i in range(k + 1):
            parts += ([] if i == 0 else [" → "]) + [shown.take(pa.array(where[:, i]))]
        # the date of each test: a series spanning years (off the drug, a restart) is
        # seen as such, as an old baseline is (probe37 F4, H543)
        dated = day_texts(labs.t[occ.rows[occ.start[need]]])
        when: list = []
        for i in range(k + 1):
            when += ([] if i == 0 else [" and " if i == k else ", "]) + [dated.take(pa.array(where[:, i]))]
        msg = cat(
            f"{label(analyte)} fell by more than {rule.threshold:g}% at each of {k} consecutive tests: ",
            *parts,
            f" {unit_text(analyte)} (tests of ",
            *when,
            f"): {rule.message_for(analyte)}",
        )
        if days is not None:
            msg = _same_day_note(msg, days, where)
        out.append(_trend_hits(inp, rule, analyte, idx, msg, severity=severity))
    return out


def _same_day_note(msg: pa.Array, days: pa.Array, where: np.ndarray) -> pa.Array:
    """Where a test of the series was a day of several results: say so and name them."""
    texts = days.take(pa.array(where.ravel()))
    several = pc.not_equal(texts, "").to_numpy(zero_copy_only=False).reshape(where.shape)
    if not several.any():
        return msg
    counts = several.sum(axis=1)
    listed = pa.ListArray.from_arrays(
        pa.array(np.r_[0, np.cumsum(counts)], pa.int32()), texts.filter(pa.array(several.ravel()))
    )
    note = cat(
        " (results of one day read as one test, a fall counted only where it holds for each of them: ",
        pc.binary_join(listed, "; "),
        ")",
    )
    return pc.if_else(pa.array(counts > 0), cat(msg, note), msg)


def baseline_fall_hits(inp: Inputs, rule: Rule, base: bl.Baselines) -> list[Hits]:
    labs = inp.labs
    out = []
    for analyte in rule.analytes:
        a = model.ANALYTES.index(analyte)
        s = labs.slice(analyte)
        pid, v, cmp, t = labs.pid[s], labs.value[s], labs.cmp[s], labs.t[s]
        ref = bl.for_rows(base, pid, a, t, rule.min_results).as_bound(+1)  # a range: its lower end
        # a lower-bound baseline (">10": the level was at least 10) still proves a fall
        # below it; an upper bound does not, and is not used (H211).  A lower-bound result
        # (">2": at least 2, perhaps the baseline itself) never proves a fall
        use = ref.usable(+1)
        own = np.where(use, ref.value, np.nan)  # NaN: no usable baseline
        with np.errstate(invalid="ignore", divide="ignore"):
            drop = np.round((own - v) / own * 100, 9)
            # "<" puts the value below its bound, so a drop of exactly the threshold is more;
            # "<=" may be the bound itself
            fired = (own > 0) & (cmp <= 0) & ((drop > rule.threshold) | ((cmp == -1) & (drop >= rule.threshold)))
        local = np.flatnonzero(fired)
        idx = local + s.start
        mine = ref.take(local)
        words = bl.words(inp, mine, pid[local], a)
        result = (comparator_text(cmp[local]), num(v[local]))  # as reported: "<2" is a bound, never 2
        relation, wording = "below the patient's baseline", (" (", words, ")")
        advice = rule.message_for(analyte)
        msg = change_text(
            analyte,
            result,
            (drop[local], 1),
            relation,
            own[local],
            wording,
            rule.threshold,
            advice,
            bound=mine.bound,
            censored=cmp[local],
        )
        basis = np.asarray(words.to_pylist(), dtype=object)
        out.append(_trend_hits(inp, rule, analyte, idx, msg, baseline=own[local], baseline_basis=basis))
    return out
