"""Guideline action limits (``kind = "guideline"`` rules of ``rules.toml``).

"<" and ">" are strict, exactly as the guidelines write them: WBC 3.5 does not fire
"WBC < 3.5", 3.49 does.  A censored result is compared by its bound, and counts as
beyond the limit when censored towards it ("<3.5" fires "< 3.5").  One whose bound
leaves it on either side ("<2.0" against "< 1.6", ">0.5" against it) is neither: it
gets a caution under the same rule that says so and asks for the value.

``rise_pct`` (creatinine): the result is more than ``threshold`` % above the patient's
baseline (the clinician's, or the median of the last ``min_results`` draws before the
start of the first monitored drug, from that start on: a result is never its own
baseline); without one, above the lowest result of the previous ``window_days`` (at least
one earlier result is needed), which the flag names as a fallback.  A rule with a
``drug`` (a label's rule) compares with the level before that drug's course, only while
it is taken, with no fallback; ``inclusive``: "``threshold`` % or more".
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from dashboard import model
from dashboard.rules import baselines as bl
from dashboard.rules.ctcae import above, below, undecided
from dashboard.rules.data import DAY, severity_rank
from dashboard.rules.engine import Rule
from dashboard.rules.hits import Hits, cat, change_text, comparator_text, label, num, unit_text
from dashboard.rules.inputs import D, Inputs, pair_key


def _guideline_hits(rule: Rule, idx: np.ndarray, threshold: np.ndarray, message: pa.Array, **basis: np.ndarray) -> Hits:
    """A guideline rule's hits, all at the rule's severity."""
    return Hits(
        idx=idx,
        rule=rule.id,
        kind="guideline",
        severity=np.full(len(idx), severity_rank(rule.severity), dtype=np.int8),
        threshold=threshold,
        message=message,
        source=rule.source,
        **basis,
    )


def guideline_hits(inp: Inputs, rule: Rule, base: bl.Baselines | None = None) -> Hits:
    if rule.comparison == "rise_pct":
        return rise_hits(inp, rule, base)
    if rule.comparison == "fall_pct":
        return fall_hits(inp, rule, base)
    labs = inp.labs
    s = labs.slice(rule.analyte)
    v, cmp = labs.value[s], labs.cmp[s]
    fired = below(v, cmp, rule.threshold) if rule.comparison == "<" else above(v, cmp, rule.threshold)
    taking = _taking(inp, rule.drug, labs.pid[s], labs.t[s]) if rule.drug else np.ones(len(v), dtype=bool)
    fired &= taking
    local = np.flatnonzero(fired)
    idx = local + s.start
    msg = cat(
        f"{label(rule.analyte)} ",
        comparator_text(labs.cmp[idx]),
        num(labs.value[idx]),
        f" {unit_text(rule.analyte)} {rule.comparison} {rule.threshold:g}: {rule.message}",
    )
    hits = _guideline_hits(rule, idx, np.full(len(idx), rule.threshold), msg)
    # a censored result that may lie on either side of the limit ("<2.0" against < 1.6):
    # neither read as beyond it nor as within it; said, at caution, with the bound
    unsure = np.flatnonzero(undecided(v, cmp, rule.threshold, rule.comparison) & taking) + s.start
    if not len(unsure):
        return hits
    why = cat(
        f"{label(rule.analyte)} ",
        comparator_text(labs.cmp[unsure]),
        num(labs.value[unsure]),
        f" {unit_text(rule.analyte)}: the lab gives only a bound, so whether it is {rule.comparison} "
        f"{rule.threshold:g} (this rule's limit) is unknown; ask the lab for the value or repeat the test",
    )
    every = np.r_[idx, unsure]
    order = np.argsort(every, kind="stable")
    return Hits(
        idx=every[order],
        rule=rule.id,
        kind="guideline",
        severity=np.r_[hits.severity, np.full(len(unsure), severity_rank("caution"), dtype=np.int8)][order],
        threshold=np.full(len(every), rule.threshold),
        message=pa.concat_arrays([msg, why]).take(pa.array(order)),
        source=rule.source,
    )


def _taking(inp: Inputs, drug: str, pid: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Per result (``pid``, ``t``): a dose row of ``drug`` is in force at it (start <= t <
    end): a limit a source writes for one drug judges only the results taken on it (SPS
    mercaptopurine's neutrophils < 2, probe38 F6, H574)."""
    d = inp.doses
    mine = d.drug == D[drug] if len(d) else np.zeros(0, dtype=bool)
    if not mine.any() or not len(pid):
        return np.zeros(len(pid), dtype=bool)
    dp, ds, de = d.pid[mine], d.start[mine], d.end[mine]
    order = np.lexsort((ds, dp))
    dp, ds, de = dp[order], ds[order], de[order]
    # the latest end among the rows of the same patient started so far (as a (patient,
    # time) key: a running maximum never reaches back into an earlier patient's rows): a
    # result is covered when some row started at or before it and ends after it
    reach = np.maximum.accumulate(pair_key(dp, de))
    at = pair_key(pid, t)
    j = np.searchsorted(pair_key(dp, ds), at, side="right") - 1
    jj = np.maximum(j, 0)
    return (j >= 0) & (dp[jj] == pid) & (at < reach[jj])


def previous_minimum(pid: np.ndarray, t: np.ndarray, value: np.ndarray, window_s: int) -> np.ndarray:
    """Lowest earlier value of the same patient within ``window_s`` seconds (NaN if none).

    Rows are sorted by patient and time.  Works by lags up to the largest number of
    results any patient has in one window, so it stays vectorised.
    """
    n = len(t)
    out = np.full(n, np.nan)
    if n < 2:
        return out
    key = pair_key(pid, t)
    first = np.searchsorted(key, pair_key(pid, t - window_s), side="left")
    strictly_before = np.searchsorted(key, key, side="left")  # rows at the same time are not "earlier"
    reach = strictly_before - first
    for lag in range(1, int(reach.max(initial=0)) + 1):
        i = np.flatnonzero(reach >= lag)
        j = strictly_before[i] - lag
        out[i] = np.fmin(out[i], value[j])
    return out


#: Why a rise rule fell back on the lowest earlier result (H411): the pre-treatment
#: draws that exist may give no single level, or only a bound that cannot prove a rise.
_NO_BASELINE = "no pre-treatment baseline"
_NO_SINGLE_LEVEL = (
    "the draws before treatment give no single level: a draw of two different results, or results censored both ways"
)
_ONLY_A_LOWER_BOUND = "the pre-treatment baseline is only a lower bound, which cannot prove a rise"


def _fallback_words(ref: bl.Reference | None, n: int, window_days: int) -> np.ndarray:
    """The words of the fallback reference of ``n`` fired results, each saying why the
    patient's own pre-treatment baseline was not used (``ref``: their references)."""
    why = np.full(n, _NO_BASELINE, dtype=object)
    if ref is not None and n:
        drawn = ref.count > 0  # draws before treatment exist
        why[drawn & ~np.isfinite(ref.value)] = _NO_SINGLE_LEVEL
        why[drawn & np.isfinite(ref.value) & (ref.bound > 0)] = _ONLY_A_LOWER_BOUND
        unknown = bl.unknown_start_words(ref)  # the drug's start is not known (H540)
        why = np.where(unknown != "", unknown, why)
    return f"the lowest of the previous {window_days} days (" + why + ": it may be on treatment)"


def rise_hits(inp: Inputs, rule: Rule, base: bl.Baselines | None = None) -> Hits:
    labs = inp.labs
    s = labs.slice(rule.analyte)
    v = labs.value[s]
    a = model.ANALYTES.index(rule.analyte)
    pid, t = labs.pid[s], labs.t[s]
    # a rule tied to one drug (the ciclosporin label's "pre-treatment level") compares with
    # the level before that drug's course, and only while it is taken (H212); it has no
    # fallback: without that level the label's rule cannot be applied
    drug = D[rule.drug] if rule.drug else None
    cmp = labs.cmp[s]
    # the fallback reference: the lowest earlier value, never a lower bound (">150" may have
    # been 300: a rise above it is not proven, H408)
    earlier = np.where(cmp > 0, np.nan, v)
    nadir = previous_minimum(pid, t, earlier, rule.window_days * DAY) if drug is None else np.full(len(v), np.nan)
    raw = bl.for_rows(base, pid, a, t, rule.min_results, drug) if base is not None else None
    # an upper bound ("<40": the level was at most 40) still proves a rise above it; a lower
    # bound does not, and is not used (H211).  Draws of two different results before
    # treatment leave a range (60-64): its upper end proves a rise above every level of it
    # (H431); where it does not, the range is no baseline and the rule falls back
    # as before (60-80 and then 100: 25% above 80 but 67% above 60, H411)
    ref = raw.as_bound(-1) if raw is not None else None
    has_own = ref.usable(-1) if ref is not None else np.zeros(len(v), dtype=bool)
    own = ref.value if ref is not None else np.full(len(v), np.nan)

    def rise(reference: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        with np.errstate(invalid="ignore", divide="ignore"):
            pct = np.round((v - reference) / reference * 100, 9)
            past = pct >= rule.threshold if rule.inclusive else pct > rule.threshold
            # a result that is an upper bound ("<40": at most 40) never proves a rise (H408)
            return pct, past & (reference > 0) & (cmp >= 0)

    if raw is not None and ref is not raw:
        from_range = has_own & ~raw.usable(-1)
        has_own &= ~from_range | rise(own)[1]
    reference = np.where(has_own, own, nadir)
    pct, fired = rise(reference)
    local = np.flatnonzero(fired)
    idx = local + s.start
    limit = reference[local] * (1 + rule.threshold / 100)
    fallback = _fallback_words(raw.take(local) if raw is not None else None, len(local), rule.window_days)
    words = pa.array(np.where(has_own[local], "the patient's baseline", fallback).astype(object), pa.string())
    bound = np.zeros(len(local), dtype=np.int8)
    if ref is not None and len(local):
        mine = ref.take(local)
        clinician = mine.basis == bl.CLINICIAN
        # the drug the baseline precedes, its start and the dates of its draws (H200, H210)
        how = bl.words(inp, mine, labs.pid[idx], a)
        computed = cat("the pre-treatment baseline (", how, ")")
        words = pc.if_else(pa.array(has_own[local] & ~clinician), computed, words)
        words = pc.if_else(pa.array(has_own[local] & clinician), "the clinician-set baseline", words)
        bound = np.where(has_own[local], mine.bound, 0).astype(np.int8)
    result = (comparator_text(labs.cmp[idx]), num(labs.value[idx]))
    msg = change_text(
        rule.analyte,
        result,
        (pct[local], 2),
        "above",
        reference[local],
        (", ", words),
        rule.threshold,
        rule.message,
        bound=bound,
        inclusive=rule.inclusive,
        censored=labs.cmp[idx],
    )
    shown = np.asarray(words.to_pylist(), dtype=object)
    basis = np.where(has_own[local], shown, f"lowest of the previous {rule.window_days} days").astype(object)
    return _guideline_hits(rule, idx, limit, msg, baseline=reference[local], baseline_basis=basis)


def fall_hits(inp: Inputs, rule: Rule, base: bl.Baselines | None = None) -> Hits:
    """``fall_pct`` (a label's rule, ``drug`` required): the result is ``threshold`` % or
    more (``inclusive``; else more than) below the level before the drug's course, while
    the drug is taken; with ``below_pct`` also less than that far below (a band), with
    ``and_below`` the result is also below that value (the voclosporin label: eGFR < 60
    and reduced by >= 30% from baseline, H214).  A bound is used only where it proves the
    finding: a lower-bound baseline (">90") or an upper-bound result ("<30") can only make
    the fall larger, so they count for a fall of at least the threshold, never for a band
    whose upper end must be proved too."""
    labs = inp.labs
    s = labs.slice(rule.analyte)
    v, cmp = labs.value[s], labs.cmp[s]
    a = model.ANALYTES.index(rule.analyte)
    pid, t = labs.pid[s], labs.t[s]
    if base is None:
        return _guideline_hits(rule, np.zeros(0, np.int64), np.zeros(0), pa.array([], pa.string()))
    ref = bl.for_rows(base, pid, a, t, rule.min_results, D[rule.drug], rule.first_course)
    band = rule.below_pct > 0
    if not band:  # a band needs the baseline itself; a fall of at least the threshold, its lower end
        ref = ref.as_bound(+1)
    use = ref.usable(0 if band else +1) & ((cmp == 0) if band else (cmp <= 0))
    own = np.where(use, ref.value, np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        drop = np.round((own - v) / own * 100, 9)
        fired = (own > 0) & ((drop >= rule.threshold) if rule.inclusive else (drop > rule.threshold))
        if band:
            fired &= drop < rule.below_pct
    if rule.and_below:
        fired &= below(v, cmp, rule.and_below)
    local = np.flatnonzero(fired)
    idx = local + s.start
    mine = ref.take(local)
    words = bl.words(inp, mine, pid[local], a)
    result = (comparator_text(labs.cmp[idx]), num(labs.value[idx]))
    msg = change_text(
        rule.analyte,
        result,
        (drop[local], 1),
        "below",
        own[local],
        (", the pre-treatment baseline (", words, ")"),
        rule.threshold,
        rule.message,
        bound=mine.bound,
        inclusive=rule.inclusive,
        censored=labs.cmp[idx],
    )
    limit = own[local] * (1 - rule.threshold / 100)
    basis = np.asarray(words.to_pylist(), dtype=object)
    return _guideline_hits(rule, idx, limit, msg, baseline=own[local], baseline_basis=basis)
