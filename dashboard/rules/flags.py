"""The flags table: every result a rule fired on, with its grade, dose context and status.

:func:`evaluate` runs the CTCAE grading, the guideline limits and the trend rules of a
profile over prepared inputs and returns one row per (result, rule) as an Arrow table
with the columns of :data:`FLAG_FIELDS` (documented in ``dashboard.rules``).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from dashboard import model
from dashboard.ingest.labs import count_range
from dashboard.ordering import packed_order
from dashboard.rules import baselines as bl
from dashboard.rules import ctcae, tables, thresholds, trends
from dashboard.rules.context import context_text, dose_context
from dashboard.rules.data import NEVER, SEVERITIES, caveat, severity_rank
from dashboard.rules.engine import Profile, Rule
from dashboard.rules.hits import Hits, cat, choose, comparator_text, label, num, unit_text
from dashboard.rules.inputs import (
    DRUGS,
    Inputs,
    Labs,
    comparator_texts,
    group_starts,
    hb_as_reported,
    pair_key,
    text_column,
)
from dashboard.rules.tables import Column

#: The columns that say which result a row is about: the flags' first columns, and the
#: whole of the results dated after the as-of date (``review.AFTER_FIELDS``).
RESULT_FIELDS: tuple[Column, ...] = tables.columns("result")

FLAG_FIELDS: tuple[Column, ...] = tables.columns("flags")

KIND_ORDER = {"ctcae": 0, "guideline": 1, "trend": 2}
LOW_COUNTS = ("wbc", "neutrophils", "lymphocytes", "platelets", "hemoglobin")
_SLE_PATTERN = r"(?i)\b(sle|lupus)\b"


def ctcae_hits(inp: Inputs, grades: ctcae.Grades, base: bl.Baselines) -> list[Hits]:
    labs = inp.labs
    out = []
    src = ctcae.ctcae_file()["source"]
    for analyte, term in ctcae.terms().items():
        s = labs.slice(analyte)
        local = np.flatnonzero(grades.grade[s] >= 1)
        idx = local + s.start
        g = grades.grade[idx]
        cut, basis, limit = grades.cut[idx], grades.basis[idx], grades.limit[idx]
        # censored towards the grade ("<0.5" lymphocytes: grade 3, or 4 below 0.2): a more
        # severe grade is possible where the term has one (the grade is open)
        worse = choose(grades.open[idx], ctcae.OR_WORSE, "")
        head = cat(
            f"{term['term']}, CTCAE grade ",
            num(g),
            worse,
            f": {label(analyte)} ",
            comparator_text(labs.cmp[idx]),
            num(labs.value[idx]),
            f" {unit_text(analyte)}",
        )
        if term["direction"] == "low":
            words = choose(g == 1, choose(basis == ctcae.LAB_LIMIT, " (LLN, lab's range)", " (default LLN)"), "")
            msg = cat(head, " < ", num(cut), words)
            mm = labs.hb_mmol[idx]
            if mm.any():
                # the value as the lab reported it first, graded on its own unit's cut; the
                # g/L it comes to after, whole (never "78.956 g/L": no precision the lab gave)
                reported = cat(
                    f"{term['term']}, CTCAE grade ",
                    num(g),
                    worse,
                    f": {label(analyte)} ",
                    comparator_text(labs.cmp[idx]),
                    num(hb_as_reported(labs.value[idx])),
                    " mmol/L as reported < ",
                    num(hb_as_reported(cut)),
                    " mmol/L (",
                    _in_g_per_l(labs.cmp[idx], labs.value[idx]),
                    f" {unit_text(analyte)})",
                )
                msg = pc.if_else(pa.array(mm), reported, msg)
            msg = _by_lab_flag(inp, idx, basis, head, msg, "below the lab's own lower limit (LLN)")
        else:
            a = model.ANALYTES.index(analyte)
            on_base = basis == ctcae.BASELINE
            # a grade on the baseline names that baseline: its value, and the drug, start and
            # dates of the results it rests on, or the clinician (H200); looked up for those
            # rows only (most grades are on the ULN)
            based = np.flatnonzero(on_base)
            ref = limit.copy()
            said = np.full(len(idx), "", dtype=object)
            abnormal = np.full(len(idx), "", dtype=object)  # the range the baseline is abnormal by
            if len(based):
                rows = idx[based]
                own = bl.for_rows(base, labs.pid[rows], a, labs.t[rows], ctcae.baseline_min_results())
                ref[based] = own.value
                said[based] = bl.words(inp, own, labs.pid[rows], a).to_pylist()
                if term["baseline_rule"] == "if_abnormal":  # abnormal by its own lab's range (H541)
                    its = ctcae.baseline_uln(labs, analyte, labs.pid[rows], own, limit[based])
                    shown = own.basis == bl.PRETREATMENT
                    abnormal[based] = [
                        f"; above its own ULN {x:g}" if k else "" for x, k in zip(its, shown, strict=True)
                    ]
            of = choose(basis == ctcae.BASELINE, " × baseline ", " × ULN ")
            # (each row's words taken from an object array: no text array of a string per row)
            kind = np.where(basis == ctcae.DEFAULT_LIMIT, 2, (basis == ctcae.LAB_LIMIT).astype(np.int8))
            where = np.array(["", ", lab's range", ", default ULN"], dtype=object)[kind]
            for k in np.flatnonzero(basis == ctcae.CHILD_DEFAULT):
                age = ctcae.age_at(inp, int(idx[k]))
                where[k] = f", adult default ULN; aged {age}: a child's range differs, give the lab's"
            op = choose((basis == ctcae.BASELINE) & (g == 1), " ≥ ", " > ")
            whose: np.ndarray | str = ""  # no grade on a baseline (most panels): nothing to name
            if on_base.any():
                whose = np.where(on_base, np.char.add(np.char.add(": ", said.astype(str)), abnormal.astype(str)), "")
                whose = whose.astype(object)
            msg = cat(head, op, num(cut), " (", num(cut / ref, 2), of, num(ref), whose, where, ")")
            if term.get("baseline_rule") and base.first_basis is not None:
                # no baseline because the drug's start is not known: said (H540)
                plain = np.flatnonzero(~on_base)
                if len(plain):
                    rows = idx[plain]
                    why = np.full(len(idx), "", dtype=object)
                    ref_all = bl.for_rows(base, labs.pid[rows], a, labs.t[rows], ctcae.baseline_min_results())
                    why[plain] = bl.unknown_start_words(ref_all)
                    if (why != "").any():
                        note = cat("; ", pa.array(why.tolist(), pa.string()), ", so it is graded on the ULN alone")
                        msg = pc.if_else(pa.array(why != ""), cat(msg, note), msg)
            msg = _by_lab_flag(
                inp,
                idx,
                basis,
                head,
                msg,
                "above the lab's own upper limit (ULN); that ULN unknown, a higher grade is not excluded",
            )
            used = np.where(on_base, ref, np.nan)
            sev = np.array([severity_rank(ctcae.severity_of(analyte, x)) for x in range(5)], dtype=np.int8)[g]
            out.append(Hits(idx, f"ctcae.{analyte}", "ctcae", sev, cut, msg, src, baseline=used, baseline_basis=said))
            continue
        sev = np.array([severity_rank(ctcae.severity_of(analyte, x)) for x in range(5)], dtype=np.int8)[g]
        out.append(Hits(idx, f"ctcae.{analyte}", "ctcae", sev, cut, msg, src))
    return out


def _by_lab_flag(
    inp: Inputs, idx: np.ndarray, basis: np.ndarray, head: pa.Array, msg: pa.Array, beyond: str
) -> pa.Array:
    """The message of a grade given by the lab's own flag (``ctcae.LAB_FLAG``, H484): the
    result, the flag as the lab wrote it and what it says, with no cut (the lab's limit is
    not in the row)."""
    mine = basis == ctcae.LAB_FLAG
    if not mine.any():
        return msg
    written = text_column(inp.labs.table.column("source_flag"), inp.labs.row[idx]).cast(pa.string())
    said = cat(
        head, ', flagged "', pc.fill_null(written, ""), f'" by the lab: {beyond}; the row gives no reference range'
    )
    return pc.if_else(pa.array(mine), said, msg)


def _in_g_per_l(cmp: np.ndarray, value: np.ndarray) -> pa.Array:
    """The g/L an Hb reported in mmol/L comes to, whole, after the value as reported (H538):
    "= 79" for a result; for a bound the bound, rounded away from the side it excludes
    ("<4.5" mmol/L = 72.51 g/L: "< 73"; ">4.5": "> 72"), never an "=" the lab did not give
    (audit9 A5)."""
    text = comparator_text(cmp).to_numpy(zero_copy_only=False)
    below = np.char.startswith(text.astype(str), "<")
    above = np.char.startswith(text.astype(str), ">")
    whole = np.where(below, np.ceil(value), np.where(above, np.floor(value), np.round(value)))
    words = np.where(below | above, text.astype(object), "= ").astype(object)
    return cat(words, num(whole))


def _as_reported(labs: Labs, rows: np.ndarray, ana: np.ndarray) -> tuple[pa.Array, str, pa.Array]:
    """(value, " ", unit) of results ``rows`` as the lab reported them: an Hb reported in
    mmol/L in mmol/L (H486, audit9 A6), the others in the unit the review shows."""
    value = num(labs.value[rows])
    unit = _DISPLAY_UNIT.take(pa.array(ana))
    mm = labs.hb_mmol[rows]
    if mm.any():
        value = pc.if_else(pa.array(mm), num(hb_as_reported(labs.value[rows])), value)
        unit = pc.if_else(pa.array(mm), pa.scalar("mmol/L"), unit)
    return value, " ", unit


def all_hits(inp: Inputs, profile: Profile, grades: ctcae.Grades, base: bl.Baselines) -> list[Hits]:
    """The hits of every rule of ``profile``: the CTCAE grades, then the guideline limits
    and the trends, in that order.  The CTCAE hits are built on a second thread while the
    others are (each is a pure function of the inputs; their numpy and Arrow steps release
    the GIL): a review of 1M results, 58 -> 37 ms."""
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="ctcae") as pool:
        graded = pool.submit(ctcae_hits, inp, grades, base) if profile.ctcae else None
        rest: list[Hits] = []
        for rule in profile.active("guideline"):
            rest.append(thresholds.guideline_hits(inp, rule, base))
        for rule in profile.active("trend"):
            if rule.comparison == "consecutive_falls":
                rest += trends.consecutive_fall_hits(inp, rule)
            else:
                rest += trends.baseline_fall_hits(inp, rule, base)
        hits = (graded.result() if graded is not None else []) + rest
    return [h for h in hits if len(h)]


@dataclass
class FlagArrays:
    """The flags as numpy arrays, in table order (what the summary needs)."""

    pid: np.ndarray  # patient code
    kind: np.ndarray  # int8: KIND_ORDER
    severity: np.ndarray  # int8 rank (1 info .. 4 urgent)
    is_open: np.ndarray  # bool
    at_baseline: np.ndarray  # bool
    grade: np.ndarray  # int8 (-1 none)
    rule: np.ndarray  # int64 index into ``rules``
    rules: np.ndarray  # object: rule ids
    message: pa.Array


def evaluate(inp: Inputs, profile: Profile, grades: ctcae.Grades, base: bl.Baselines) -> tuple[pa.Table, FlagArrays]:
    """The flags table (:data:`FLAG_FIELDS`) and its arrays."""
    labs = inp.labs
    hits = all_hits(inp, profile, grades, base)
    n = sum(len(h) for h in hits)
    if not n:
        z = np.zeros(0, np.int64)
        zb = np.zeros(0, bool)
        return empty(), FlagArrays(z, z, z, zb, zb, z, z, np.zeros(0, object), pa.array([], pa.string()))
    # rules ordered by kind then id: the tie order of flags on one result
    rule_names = sorted({h.rule: KIND_ORDER[h.kind] for h in hits}.items(), key=lambda kv: (kv[1], kv[0]))
    rule_index = {name: i for i, (name, _) in enumerate(rule_names)}
    rules = np.array([name for name, _ in rule_names], dtype=object)
    rule_kind = np.array([k for _, k in rule_names], dtype=np.int8)

    idx = np.concatenate([h.idx for h in hits])
    rule = np.concatenate([np.full(len(h), rule_index[h.rule], dtype=np.int64) for h in hits])
    order = np.argsort(labs.position(idx) * len(rules) + rule, kind="stable")
    idx, rule = idx[order], rule[order]
    kind = rule_kind[rule]
    take = pa.array(order)
    severity = np.concatenate([h.severity for h in hits])[order].astype(np.int8)
    threshold = np.concatenate([h.threshold for h in hits])[order]
    baseline = np.concatenate([h.baseline for h in hits])[order]
    basis = pa.chunked_array([pa.array(h.baseline_basis, pa.string()) for h in hits]).combine_chunks().take(take)
    message = pa.chunked_array([h.message for h in hits], pa.string()).combine_chunks().take(take)
    source = (
        pa.chunked_array([pa.repeat(pa.scalar(h.source, pa.string()), len(h)) for h in hits], pa.string())
        .combine_chunks()
        .take(take)
    )

    # series position, next result and status (a flag on the latest result is open)
    new = group_starts(labs.analyte, labs.pid)
    starts = np.flatnonzero(new)  # each series' first row (looked up for the flagged rows only)
    seq = idx - starts[np.searchsorted(starts, idx, side="right") - 1]
    is_open = np.r_[new[1:], True][idx]
    nxt = np.where(is_open, NEVER, labs.t[np.minimum(idx + 1, len(labs) - 1)])
    pid, ana = labs.pid[idx], labs.analyte[idx]
    ep_start, ep_count, ep_id = _episodes(inp, idx, rule, base.treatment_starts)

    uniq, inv = np.unique(idx, return_inverse=True)  # once per distinct result
    covered = np.isin(np.asarray(DRUGS, dtype=object), profile.guideline_drugs) if profile.guideline_drugs else None
    one = dose_context(inp, labs.pid[uniq], labs.t[uniq], covered)
    one["dose_context"] = context_text(inp, labs.pid[uniq], labs.t[uniq], one)
    ctx = {k: v[inv] for k, v in one.items()}

    # a guideline limit (BSR) is for a patient taking a DMARD: said where none is recorded
    # (a monitored drug pulsed in the weeks before, not in force on the day, is recorded)
    # (a guideline's own drug in force counts though not "monitored": hydroxychloroquine,
    # H429, probe27 F7)
    drugless = (kind == KIND_ORDER["guideline"]) & ~(
        one["on_monitored"] | one["pulsed_monitored"] | one["recent_monitored"] | one["on_covered"]
    )[inv]
    if drugless.any():
        message = cat(message, choose(drugless, f" — {caveat('no_monitored_drug')}", ""))
    # a guideline's limit where the monitored drugs in force are none of the drugs it is
    # written for (BSR's csDMARDs, for a patient on cyclophosphamide or rituximab alone):
    # said, and at most caution; the CTCAE grade and the drug's own checks keep theirs
    if covered is not None:
        scoped = np.array([r is not None and r.scoped for r in _profile_rules(profile, rules)], dtype=bool)[rule]
        uncovered = scoped & ~drugless & ~one["on_covered"][inv]
        if uncovered.any():
            message = _without_the_guideline_action(message, uncovered, rule, _profile_rules(profile, rules))
            message = cat(message, choose(uncovered, f" — {caveat('not_a_guideline_drug')}", ""))
            severity = np.where(uncovered, np.minimum(severity, severity_rank("caution")), severity).astype(np.int8)
    conflict = _conflicts(inp, idx)
    if (conflict != "").any():
        note = pa.array(np.where(conflict != "", " — conflicting results at this draw: " + conflict, ""), pa.string())
        message = cat(message, note)
    made, low, high = _derived_notes(inp, idx)
    if (made != "").any():
        message = cat(message, pa.array(made, pa.string()))
        # a guideline limit the calculated count crosses but its range does not prove
        # (41 % of 3.9 = 1.599 "< 1.6", the range 1.580-1.619): no action is claimed (H426)
        unproven = _not_proven(profile, rules, rule, kind, threshold, low, high)
        if unproven.any():
            message = cat(message, choose(unproven, " — the range reaches the limit, so it is not proven past it", ""))
            severity = np.where(unproven, np.minimum(severity, severity_rank("caution")), severity).astype(np.int8)
    since = (is_open & (ep_count > 1)).astype(bool)
    if since.any():  # only the open flags of a longer episode (few): built for those rows alone
        rows = np.flatnonzero(since)
        days = pc.strftime(_ts(ep_start[rows]), format="%Y-%m-%d")
        longer = cat(
            message.take(pa.array(rows)), " — open since ", days, " (", num(ep_count[rows]), " consecutive results)"
        )
        message = pc.replace_with_mask(message, pa.array(since), longer)

    at_base = _at_baseline(inp, profile, grades, idx, kind, threshold)
    if at_base.any():
        own = inp.baseline[pid, ana]
        note = inp.baseline_note[pid, ana]
        severity = np.where(at_base, 1, severity).astype(np.int8)
        suffix = cat(f" — {caveat('at_baseline')} ", num(own), pa.array(np.where(note != "", ": " + note, "")))
        message = pc.if_else(pa.array(at_base), cat(message, suffix, "."), message)
        baseline = np.where(at_base & ~np.isfinite(baseline), own, baseline)
        basis = pc.if_else(
            pa.array(at_base & pc.equal(basis, "").to_numpy(zero_copy_only=False)), "clinician-set", basis
        )

    g = grades.grade[idx]
    worst = _worse_earlier(ep_id, idx, is_open & (ep_count > 1), severity, np.where(kind == KIND_ORDER["ctcae"], g, -1))
    if (worst >= 0).any():  # few: an open episode that was worse before (H427)
        rows = np.flatnonzero(worst >= 0)
        w = worst[rows]
        what = pa.array(
            np.where(
                g[w] >= 0,
                np.char.add("grade ", g[w].astype(str)).astype(object),
                np.asarray(SEVERITIES, dtype=object)[severity[w] - 1],
            ),
            pa.string(),
        )
        note = cat(
            message.take(pa.array(rows)),
            " — worst in this episode: ",
            what,
            " on ",
            pc.strftime(_ts(labs.t[idx[w]]), format="%Y-%m-%d"),
            " (",
            comparator_text(labs.cmp[idx[w]]),
            *_as_reported(labs, idx[w], ana[w]),
            ")",
        )
        message = pc.replace_with_mask(message, pa.array(worst >= 0), note)
    lab_rows = labs.row[idx]
    table = labs.table
    cols = {
        "patient_id": pa.array(inp.patient_ids, pa.string()).take(pa.array(pid)),
        # as the lab wrote it: a date-only result judged with a timed draw of its day
        # (inputs._date_only_joins_its_day) keeps its own date, no time made up
        "collected_at": table.column("collected_at").take(pa.array(lab_rows)).combine_chunks().cast(pa.timestamp("s")),
        "analyte": pa.array(list(model.ANALYTES), pa.string()).take(pa.array(ana)),
        "value": pa.array(labs.value[idx]),
        "unit": _UNIT_TEXT.take(pa.array(ana)),
        "comparator": comparator_text(labs.cmp[idx]),
        "source_value": text_column(table.column("source_value"), lab_rows),
        "source_unit": text_column(table.column("source_unit"), lab_rows),
        "ctcae_grade": pa.array(g, pa.int8(), mask=g < 0),
        "ctcae_grade_or_worse": pa.array(grades.open[idx] & (g >= 0)),
        "rule": pa.array(rules, pa.string()).take(pa.array(rule)),
        "kind": pa.array(list(KIND_ORDER), pa.string()).take(pa.array(kind)),
        "threshold": pa.array(threshold),
        "severity": _SEVERITY_TEXT.take(pa.array(severity)),
        "message": message,
        "source": source,
        "baseline": pa.array(baseline),
        "baseline_basis": basis,
        "at_baseline": pa.array(at_base),
        "caveat": _texts(_caveats(inp, pid, ana, ctx)),
        "conflict": _texts(conflict),
        "active_doses": _texts(ctx["active_doses"]),
        "active_drugs": _texts(ctx["active_drugs"]),
        "days_since_dose_change": _ints(ctx["days_since_dose_change"]),
        "after_increase": pa.array(ctx["after_increase"]),
        "last_increase": _ts(ctx["last_increase"]),
        "days_since_pulse": _ints(ctx["days_since_pulse"]),
        "dose_context": _texts(ctx["dose_context"]),
        "status": _STATUS_TEXT.take(pa.array(is_open.astype(np.int8))),
        "episode_start": _ts(ep_start),
        "episode_results": pa.array(ep_count.astype(np.int64)),
        "next_collected_at": _ts(nxt),
        "seq": pa.array(seq.astype(np.int64)),
        "lab_row": pa.array(lab_rows.astype(np.int64)),
    }
    out = pa.table([cols[f[0]] for f in FLAG_FIELDS], schema=schema())
    arrays = FlagArrays(pid, kind, severity, is_open, at_base, g, rule, rules, message)
    return out, arrays


_SEVERITY_TEXT = pa.array(["", *SEVERITIES], pa.string())
_UNIT_TEXT = pa.array([model.CANONICAL_UNITS[a] for a in model.ANALYTES], pa.string())
_DISPLAY_UNIT = pa.array([unit_text(a) for a in model.ANALYTES], pa.string())
_STATUS_TEXT = pa.array(["closed", "open"], pa.string())


def schema() -> pa.Schema:
    return tables.schema("flags")


def empty() -> pa.Table:
    return schema().empty_table()


def _texts(values: np.ndarray) -> pa.Array:
    """An object array of texts as Arrow text.  A column of one text on every row (the
    dose columns of a panel without doses: "", "none recorded") is that text repeated,
    the same array without a conversion of each row's Python string."""
    if len(values) and (values == values[0]).all():
        return pa.repeat(pa.scalar(values[0], pa.string()), len(values))
    return pa.array(values, pa.string())


def _ts(sec: np.ndarray) -> pa.Array:
    sec = np.asarray(sec, dtype=np.int64)
    return pa.array(sec, pa.int64(), mask=sec >= NEVER).cast(pa.timestamp("s"))


def _ints(x: np.ndarray) -> pa.Array:
    ok = np.isfinite(x)
    return pa.array(np.where(ok, x, 0).astype(np.int64), pa.int64(), mask=~ok)


def _episodes(
    inp: Inputs, idx: np.ndarray, rule: np.ndarray, treatment_starts: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per flag: the start of its episode (the run of consecutive draws of the analyte the
    same rule fired on), the number of draws in that run up to this flag, and a number of
    the episode (one per run).

    A start of treatment (``treatment_starts``, sorted pair keys: the first dose of a
    monitored drug, and each restart after a time without one) ends an episode: an
    on-treatment finding is never "open since" a result from before the drug (that
    result is the patient's baseline, said by the at-baseline note), nor since one from
    before a restart, so the episode's first result on the drug asks for its repeat."""
    labs = inp.labs
    n = len(idx)
    if not n:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    if labs.draw_last is None:  # every row is its own draw: the row number is a running draw number
        dn = idx.astype(np.int64)
    else:
        dn = np.cumsum(group_starts(labs.analyte, labs.pid, labs.t))[idx]  # consecutive within a series
    pid, ana = labs.pid[idx], labs.analyte[idx]
    # np.lexsort((dn, rule, ana, pid))'s order, as one stable sort of a packed key
    by_series = packed_order(pid, ana, rule, dn)
    order = np.arange(n) if by_series is None else by_series
    p, a, r, d = pid[order], ana[order], rule[order], dn[order]
    same = np.r_[False, (p[1:] == p[:-1]) & (a[1:] == a[:-1]) & (r[1:] == r[:-1])]
    step = np.r_[0, np.diff(d)]
    t = labs.t[idx][order]
    crossed = np.zeros(n, dtype=bool)
    if treatment_starts is not None and len(treatment_starts) and n > 1:
        # a start in (previous flagged draw, this draw] of the same patient
        upto = np.searchsorted(treatment_starts, pair_key(p, t), side="right")
        crossed[1:] = upto[1:] > upto[:-1]
    starts = ~same | (step > 1) | crossed  # a gap of one or more unflagged draws ends the episode
    first = np.maximum.accumulate(np.where(starts, np.arange(n), 0))
    # draws counted so far in the episode (two flagged rows of one draw count once)
    new_in_ep = starts | (step > 0)
    count = np.cumsum(new_in_ep) - np.cumsum(new_in_ep)[first] + 1
    ep_start = np.empty(n, dtype=np.int64)
    ep_count = np.empty(n, dtype=np.int64)
    ep_id = np.empty(n, dtype=np.int64)
    ep_start[order] = labs.t[idx[order][first]]
    ep_count[order] = count
    ep_id[order] = np.cumsum(starts) - 1
    return ep_start, ep_count, ep_id


def _without_the_guideline_action(
    message: pa.Array, uncovered: np.ndarray, rule: np.ndarray, by_index: list[Rule | None]
) -> pa.Array:
    """The flags of a guideline limit whose guideline is not written for the drugs in
    force (cyclophosphamide or rituximab alone): the guideline's action ("withhold and
    discuss") is its instruction for its own drugs, so it is not given; the flag says the
    result is beyond the limit and leaves the action to the specialist team (probe38 F5,
    H570).  A flag whose text does not carry the rule's advice (a censored result's) is
    left as it is."""
    instead = caveat("not_a_guideline_drug_action")
    for i in np.unique(rule[uncovered]):
        r = by_index[int(i)]
        if r is None or not r.message:
            continue
        rows = np.flatnonzero(uncovered & (rule == i))
        mine = message.take(pa.array(rows))
        changed = pc.replace_substring(mine, pattern=r.message, replacement=instead, max_replacements=1)
        mask = np.zeros(len(message), dtype=bool)
        mask[rows] = True
        message = pc.replace_with_mask(message, pa.array(mask), changed)
    return message


def _profile_rules(profile: Profile, rule_ids: np.ndarray) -> list[Rule | None]:
    """The profile's rule of each flag rule id; None for a CTCAE grade's id (not a rule of
    the profile)."""
    out: list[Rule | None] = []
    for rule_id in rule_ids:
        try:
            out.append(profile.rule(rule_id))
        except KeyError:
            out.append(None)
    return out


def _worse_earlier(
    ep_id: np.ndarray, idx: np.ndarray, wanted: np.ndarray, severity: np.ndarray, grade: np.ndarray
) -> np.ndarray:
    """Per flag in ``wanted`` (the open flags of longer episodes): the flag of its episode
    that was worse than it (severity, then the CTCAE grade of a CTCAE flag; among equally
    bad ones the latest), -1 where none was.  Neutrophils 0.4 (grade 4) then 1.4 (grade 2)
    is one open episode: its open flag says grade 2, and must say that it was grade 4 on
    the earlier date (H427; probe24 F2), while the open flag stays the latest result's, so that
    urgency and "CTCAE now" are what the patient has now.  ``idx`` (the flags' lab rows)
    orders an episode: by time, and within a draw the more severe result last."""
    n = len(ep_id)
    out = np.full(n, -1, dtype=np.int64)
    if not wanted.any():
        return out
    rows = np.flatnonzero(wanted)
    asked = np.zeros(int(ep_id.max()) + 1, dtype=bool)
    asked[ep_id[rows]] = True
    mine = np.flatnonzero(asked[ep_id])  # the flags of those episodes only
    rank = severity.astype(np.int64) * 16 + np.maximum(grade, 0).astype(np.int64)
    order = np.lexsort((idx[mine], rank[mine], ep_id[mine]))  # the last of each episode is its worst
    e = ep_id[mine][order]
    last = np.r_[e[1:] != e[:-1], True]
    worst_of = np.full(len(asked), -1, dtype=np.int64)
    worst_of[e[last]] = mine[order[last]]
    w = worst_of[ep_id[rows]]
    worse = rank[w] > rank[rows]
    out[rows[worse]] = w[worse]
    return out


def _conflicts(inp: Inputs, idx: np.ndarray) -> np.ndarray:
    """Per flag: "1.2 and 0.4 ×10⁹/L (the more severe, 0.4, counts)" when its draw holds
    different results of the analyte, else ""."""
    labs = inp.labs
    out = np.full(len(idx), "", dtype=object)
    hit = np.flatnonzero(labs.conflicting()[idx])
    if not len(hit):
        return out
    first_of = group_starts(labs.analyte, labs.pid, labs.t)
    starts = np.flatnonzero(first_of)
    draw = np.cumsum(first_of) - 1
    ends = np.r_[starts[1:], len(labs)]
    cmp_text = comparator_texts(labs.cmp)
    memo: dict[int, str] = {}
    for i in hit.tolist():
        row = int(idx[i])
        lo, hi = int(starts[draw[row]]), int(ends[draw[row]])
        if lo not in memo:
            unit = unit_text(model.ANALYTES[labs.analyte[row]])
            if labs.hb_mmol[lo:hi].any():  # each haemoglobin as reported: its grade is on its own unit's cuts
                values = [
                    f"{cmp_text[j]}{hb_as_reported(labs.value[j : j + 1])[0]:g} mmol/L"
                    if labs.hb_mmol[j]
                    else f"{cmp_text[j]}{labs.value[j]:g} {unit}"
                    for j in range(lo, hi)
                ]
                memo[lo] = f"{' and '.join(values)} (the higher CTCAE grade, {values[-1]}, counts)"
            else:
                values = [f"{cmp_text[j]}{labs.value[j]:g}" for j in range(lo, hi)]
                memo[lo] = f"{' and '.join(values)} {unit} (the more severe, {values[-1]}, counts)"
        out[i] = memo[lo]
    return out


def _derived_notes(inp: Inputs, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per flag: where its count was made by the import from a % differential and the
    draw's WBC, " — count calculated by the import: 41 % of WBC 3.9 ×10⁹/L = 1.599 (from
    1.58 to 1.619 by the rounding of the percentage)" (H426), else ""; and that range
    (NaN elsewhere).  The lab's own figures stay in the record (``source_value``, the
    WBC's row)."""
    labs = inp.labs
    out = np.full(len(idx), "", dtype=object)
    low, high = np.full(len(idx), np.nan), np.full(len(idx), np.nan)
    if "derived" not in labs.table.column_names or not len(idx):
        return out, low, high
    flagged = labs.table.column("derived").take(pa.array(labs.row[idx]))  # the flagged rows' marks only
    made = np.asarray(pc.fill_null(flagged, False).to_numpy(zero_copy_only=False), dtype=bool)
    hit = np.flatnonzero(made & (labs.analyte[idx] != model.ANALYTES.index("wbc")))
    if not len(hit):
        return out, low, high
    rows = idx[hit]
    pct = text_column(labs.table.column("source_value"), labs.row[rows]).to_pylist()
    s = labs.slice("wbc")
    keys = pair_key(labs.pid[s], labs.t[s])
    want = pair_key(labs.pid[rows], labs.t[rows])
    at = np.minimum(np.searchsorted(keys, want), max(len(keys) - 1, 0))
    found = (keys[at] == want) if len(keys) else np.zeros(len(rows), dtype=bool)
    wbc_at = at + s.start
    wbc = np.where(found, labs.value[wbc_at] if len(keys) else np.nan, np.nan)
    number = np.array([_is_number(text) for text in pct], dtype=bool)
    censored = (labs.cmp[rows] != 0) | (found & (labs.cmp[wbc_at] != 0) if len(keys) else False)
    # the range the percentage's rounding allows, once for every flagged count (H426)
    ranged = found & number & ~censored
    if ranged.any():
        texts = [t for t, r in zip(pct, ranged, strict=True) if r]
        lo, hi = count_range(wbc[ranged], np.array([float(t) for t in texts]), texts)
        low[hit[ranged]], high[hit[ranged]] = lo, hi
    wbc_unit = unit_text("wbc")
    cmp_row = comparator_texts(labs.cmp[rows])
    cmp_wbc = comparator_texts(labs.cmp[wbc_at]) if len(keys) else np.full(len(rows), "", dtype=object)
    for k, (i, text) in enumerate(zip(hit.tolist(), pct, strict=True)):
        written = f"{cmp_row[k]}{labs.value[rows[k]]:g}"
        of = (
            f"{text} % of WBC {cmp_wbc[k]}{wbc[k]:g} {wbc_unit}"
            if found[k] and number[k]
            else f"{text} % of the draw's WBC"
        )
        span = (
            f" (from {round(low[i] + 1e-9, 3):g} to {round(high[i] + 1e-9, 3):g} by the rounding of the percentage)"
            if ranged[k]
            else ""
        )
        out[i] = f" — count calculated by the import: {of} = {written}{span}"
    return out, low, high


def _not_proven(
    profile: Profile,
    rules: np.ndarray,
    rule: np.ndarray,
    kind: np.ndarray,
    threshold: np.ndarray,
    low: np.ndarray,
    high: np.ndarray,
) -> np.ndarray:
    """Per flag: a guideline limit ("<" or ">") fired on a calculated count whose range
    (``low``-``high``) reaches the limit, so that the finding is not proven."""
    known = np.isfinite(low) & (kind == KIND_ORDER["guideline"])
    if not known.any():
        return known
    comparison = np.array(
        [r.comparison if r is not None else "" for r in _profile_rules(profile, rules)], dtype=object
    )[rule]
    with np.errstate(invalid="ignore"):
        below = (comparison == "<") & (high >= threshold)
        above = (comparison == ">") & (low <= threshold)
    return known & (below | above)


def _is_number(text: str | None) -> bool:
    try:
        float(text or "")
    except ValueError:
        return False
    return True


def _at_baseline(
    inp: Inputs,
    profile: Profile,
    grades: ctcae.Grades,
    idx: np.ndarray,
    kind: np.ndarray,
    threshold: np.ndarray,
) -> np.ndarray:
    """Low-count flags within the patient's clinician-set baseline: the clinician has
    declared such values normal for this patient (e.g. a Duffy-null associated
    neutrophil count).  Within = not more than the baseline-fall percentage below the
    baseline, with the baseline itself as low (same rule fires / same or worse grade)."""
    labs = inp.labs
    pid, ana, v = labs.pid[idx], labs.analyte[idx], labs.value[idx]
    own = inp.baseline[pid, ana]
    has = np.isfinite(own)
    if not has.any():
        return np.zeros(len(idx), dtype=bool)
    try:
        fall = profile.rule("trend.baseline_fall").threshold
    except KeyError:
        fall = 30.0
    near = has & (v >= own * (1 - fall / 100))
    low = np.isin(ana, [model.ANALYTES.index(a) for a in LOW_COUNTS])
    guideline_low = (kind == KIND_ORDER["guideline"]) & (own < threshold)
    base_grade = np.zeros(len(idx), dtype=np.int8)
    for analyte, term in ctcae.terms().items():
        if term["direction"] != "low":
            continue
        m = has & (ana == model.ANALYTES.index(analyte))
        if m.any():
            lln = grades.limit[idx][m]
            base_grade[m], _ = ctcae.grade_low(own[m], np.zeros(int(m.sum()), np.int8), term["cuts"], lln)
    ctcae_low = (kind == KIND_ORDER["ctcae"]) & (grades.grade[idx] <= base_grade)
    return near & low & (guideline_low | ctcae_low)


def _caveats(inp: Inputs, pid: np.ndarray, ana: np.ndarray, ctx: dict[str, np.ndarray]) -> np.ndarray:
    out = np.full(len(pid), "", dtype=object)
    is_sle = pc.match_substring_regex(pa.array(inp.diagnosis, pa.string()), _SLE_PATTERN)
    sle = is_sle.to_numpy(zero_copy_only=False)[pid] if len(pid) else np.zeros(0, bool)
    low = np.isin(ana, [model.ANALYTES.index(a) for a in LOW_COUNTS])
    out[sle & low & ~ctx["after_increase"]] = caveat("sle_cytopenia")
    lymph = (ana == model.ANALYTES.index("lymphocytes")) & ctx["on_glucocorticoid"]
    out[lymph] = np.where(
        out[lymph] == "", caveat("steroid_lymphocytes"), out[lymph] + " " + caveat("steroid_lymphocytes")
    )
    # the MCV notes name a drug only when it is taken at the draw (audit 18, finding 10)
    mcv = np.flatnonzero(ana == model.ANALYTES.index("mcv"))
    mcv = mcv[ctx["active_drugs"][mcv] != ""]  # no drug taken at the draw: no note (and no loop)
    taking = [set(x.split(";")) for x in ctx["active_drugs"][mcv]]
    thiopurines = {d for d, info in model.drug_info().items() if info.drug_class == "thiopurine"}
    for key, drugs in (("aza_mcv", thiopurines), ("mtx_mcv", {"methotrexate"})):
        on = mcv[np.array([bool(t.intersection(drugs)) for t in taking], dtype=bool)]
        out[on] = np.where(out[on] == "", caveat(key), out[on] + " " + caveat(key))
    return out
