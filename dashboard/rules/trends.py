"""Trend rules: what no single threshold shows.

``consecutive_falls``  each of the last ``count`` draws fell by more than
    ``threshold`` % from the draw before it (same patient and analyte; a draw with two
    different results counts by its more severe one).  Fires on the ``count``-th fall
    even when every value is in range, and on every further fall: one episode.
``baseline_fall``  the result is more than ``threshold`` % below the patient's own
    baseline (:mod:`dashboard.rules.baselines`).  A computed (pre-treatment) baseline is
    the median of the last ``min_results`` draws before the start of treatment and is
    compared with results from that start on; a clinician-set baseline with every result.

Severity: the rule's, but at most ``max_severity_in_range`` while the result is within
the reference range (the lab's LLN, else the default): a trend among normal counts is a
reason to review, never an action.  The advice is the rule's message for the analyte.

Trend flags carry no threshold in a unit (``threshold`` is NaN); the baseline used is in
``baseline`` and named in ``baseline_basis``.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from dashboard import model
from dashboard.rules import baselines as bl
from dashboard.rules.ctcae import below, lower_limits
from dashboard.rules.data import severity_rank
from dashboard.rules.engine import Rule
from dashboard.rules.hits import Hits, cat, change_text, label, num, unit_text
from dashboard.rules.inputs import Inputs, group_starts


def fall_runs(pid: np.ndarray, value: np.ndarray, pct: float) -> np.ndarray:
    """Per row (sorted by patient and time): how many consecutive falls of more than
    ``pct`` % end at this row (0 when this row did not fall)."""
    n = len(value)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    prev = np.r_[np.nan, value[:-1]]
    same = ~group_starts(pid)
    with np.errstate(invalid="ignore", divide="ignore"):
        drop = np.round((prev - value) / prev * 100, 9)
        fell = same & (prev > 0) & (drop > pct)
    pos = np.arange(n)
    last_break = np.maximum.accumulate(np.where(fell, -1, pos))
    return np.where(fell, pos - last_break, 0)


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


def _trend_hits(inp: Inputs, rule: Rule, analyte: str, idx: np.ndarray, message: pa.Array, **basis: np.ndarray) -> Hits:
    """A trend rule's hits on ``analyte``: no fixed threshold, severity capped in range."""
    return Hits(
        idx=idx,
        rule=rule.id,
        kind="trend",
        severity=severities(inp, rule, analyte, idx),
        threshold=np.full(len(idx), np.nan),
        message=message,
        source=rule.source,
        **basis,
    )


def consecutive_fall_hits(inp: Inputs, rule: Rule) -> list[Hits]:
    labs = inp.labs
    out = []
    draws = labs.draws()
    for analyte in rule.analytes:
        s = labs.slice(analyte)
        rows = np.flatnonzero(draws[s]) + s.start  # one row per draw: its most severe value
        runs = fall_runs(labs.pid[rows], labs.value[rows], rule.threshold)
        at = np.flatnonzero(runs >= rule.count)
        idx = rows[at]
        k = rule.count
        series = [num(labs.value[rows[at - lag]]) for lag in range(k, -1, -1)]
        parts: list = []
        for i, text in enumerate(series):
            parts += [text] if i == 0 else [" → ", text]
        msg = cat(
            f"{label(analyte)} fell by more than {rule.threshold:g}% at each of {k} consecutive tests: ",
            *parts,
            f" {unit_text(analyte)}: {rule.message_for(analyte)}",
        )
        out.append(_trend_hits(inp, rule, analyte, idx, msg))
    return out


def baseline_fall_hits(inp: Inputs, rule: Rule, base: bl.Baselines) -> list[Hits]:
    labs = inp.labs
    out = []
    for analyte in rule.analytes:
        a = model.ANALYTES.index(analyte)
        s = labs.slice(analyte)
        pid, v, cmp, t = labs.pid[s], labs.value[s], labs.cmp[s], labs.t[s]
        ref = bl.for_rows(base, pid, a, t, rule.min_results)
        # a lower bound (">10": the level was at least 10) still proves a fall below it; an
        # upper bound does not, and is not used (H211)
        use = ref.usable(+1)
        own = np.where(use, ref.value, np.nan)  # NaN: no usable baseline
        with np.errstate(invalid="ignore", divide="ignore"):
            drop = np.round((own - v) / own * 100, 9)
            # "<" puts the value below its bound, so a drop of exactly the threshold is more;
            # "<=" may be the bound itself
            fired = (own > 0) & ((drop > rule.threshold) | ((cmp == -1) & (drop >= rule.threshold)))
        local = np.flatnonzero(fired)
        idx = local + s.start
        mine = ref.take(local)
        words = bl.words(inp, mine, pid[local], a)
        result, relation, wording = (num(v[local]),), "below the patient's baseline", (" (", words, ")")
        advice = rule.message_for(analyte)
        msg = change_text(
            analyte, result, (drop[local], 1), relation, own[local], wording, rule.threshold, advice, bound=mine.bound
        )
        basis = np.asarray(words.to_pylist(), dtype=object)
        out.append(_trend_hits(inp, rule, analyte, idx, msg, baseline=own[local], baseline_basis=basis))
    return out
