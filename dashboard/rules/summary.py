"""Per-patient summary with an urgency order, and flag intervals for timeline shading.

Urgency (what the Panel sorts by), from the patient's *open* items: open result flags
(except those within a clinician-set baseline), overdue tests, open dose checks::

    urgency_score = 100 x highest severity rank (info 1, caution 2, action 3, urgent 4)
                  +  10 x highest current CTCAE grade (0-4)
                  +       number of open items (at most 9)

``urgency_rank`` is 1 for the most urgent patient; ties are broken by patient id.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from dashboard.rules import ctcae, tables
from dashboard.rules.context import dose_context, join_distinct
from dashboard.rules.data import DAY, NEVER, SEVERITIES
from dashboard.rules.dose_checks import coverage_rules
from dashboard.rules.flags import KIND_ORDER, FlagArrays
from dashboard.rules.inputs import Inputs, group_starts
from dashboard.rules.schedule import counts_on_panel
from dashboard.rules.tables import Column

SRC = 2**40  # item index offset per source table (flags, schedule, dose checks)
CTCAE_ANALYTES: tuple[str, ...] = tables.ctcae_analytes()

SUMMARY_FIELDS: tuple[Column, ...] = tables.columns("summary")


def evaluate(
    inp: Inputs,
    grades: ctcae.Grades,
    fa: FlagArrays,
    schedule: pa.Table,
    dose_checks: pa.Table,
    after: pa.Table | None = None,
) -> pa.Table:
    """The summary table (:data:`SUMMARY_FIELDS`), most urgent patient first."""
    n = inp.n_patients
    labs = inp.labs
    ids = pa.array(inp.patient_ids, pa.string())

    # current CTCAE grade per analyte: the grade of the latest result
    last = np.r_[group_starts(labs.analyte, labs.pid)[1:], True] if len(labs) else np.zeros(0, bool)
    current = np.full((n, len(CTCAE_ANALYTES)), -1, dtype=np.int8)
    current_open = np.zeros((n, len(CTCAE_ANALYTES)), dtype=bool)  # "2 or worse" (ctcae.Grades.open)
    for j, a in enumerate(CTCAE_ANALYTES):
        s = labs.slice(a)
        m = np.flatnonzero(last[s]) + s.start
        # grade 0 says "not beyond the lower (upper) limit": with no limit at all (a child's
        # count without the lab's range, H181; a creatinine without a ULN or baseline) it
        # cannot be said, so the grade is unknown rather than 0
        unjudged = (grades.grade[m] == 0) & np.isnan(grades.limit[m]) & (grades.basis[m] != ctcae.BASELINE)
        current[labs.pid[m], j] = np.where(unjudged, -1, grades.grade[m])
        current_open[labs.pid[m], j] = grades.open[m] & ~unjudged
    last_result = np.full(n, -NEVER, dtype=np.int64)
    np.maximum.at(last_result, labs.pid[last], labs.t[last])  # the last row of a series is its latest
    last_result[last_result == -NEVER] = NEVER

    # open items: (patient, severity rank, message, grade)
    fpid, kind, sev_rank = fa.pid, fa.kind.astype(np.int64), fa.severity.astype(np.int64)
    is_open, at_base = fa.is_open, fa.at_baseline
    grade = np.maximum(fa.grade, 0).astype(np.int64)
    flags_total = np.bincount(fpid, minlength=n)

    counts = {}
    rules_text = {}
    for name, k in KIND_ORDER.items():
        m = is_open & (kind == k)
        counts[name] = np.bincount(fpid[m], minlength=n)
        rules_text[name] = join_distinct(fpid[m], fa.rules[fa.rule[m]], n, "; ")

    spid = pc.index_in(schedule.column("patient_id"), value_set=ids).to_numpy(zero_copy_only=False).astype(np.int64)
    s_over = schedule.column("overdue").to_numpy(zero_copy_only=False).astype(bool)
    s_rank = _ranks(schedule.column("severity"))
    next_due, overdue, days_overdue = _lead_rows(schedule, spid, n)

    dpid = pc.index_in(dose_checks.column("patient_id"), value_set=ids).to_numpy(zero_copy_only=False)
    dpid = dpid.astype(np.int64)
    d_rank = _ranks(dose_checks.column("severity"))
    d_open = pc.equal(dose_checks.column("status"), "open").to_numpy(zero_copy_only=False).astype(bool)
    dose_open = np.bincount(dpid[d_open & (d_rank > 1)], minlength=n)
    d_rules = np.asarray(dose_checks.column("rule").to_pylist(), dtype=object)
    dose_rules = join_distinct(dpid[d_open], d_rules[d_open], n, "; ")

    # urgency: a row that only says no check holds the drug's amount is not an item (H511)
    # (no dose check at all, as in a file without doses: nothing to tell apart, and the
    # checks of dose_checks.toml and the knowledge base behind them are never read)
    d_item = d_open & ~np.isin(d_rules, list(coverage_rules())) if len(d_rules) else d_open
    f_items = is_open & ~at_base
    item_pid = np.r_[fpid[f_items], spid[s_over], dpid[d_item]]
    item_rank = np.r_[sev_rank[f_items], s_rank[s_over], d_rank[d_item]]
    item_src = np.r_[np.flatnonzero(f_items), np.flatnonzero(s_over) + SRC, np.flatnonzero(d_item) + 2 * SRC]
    top_rank = np.zeros(n, dtype=np.int64)
    np.maximum.at(top_rank, item_pid, item_rank)
    n_items = np.bincount(item_pid, minlength=n)
    top_grade = np.zeros(n, dtype=np.int64)
    gm = f_items & (kind == KIND_ORDER["ctcae"])
    np.maximum.at(top_grade, fpid[gm], grade[gm])
    score = 100 * top_rank + 10 * top_grade + np.minimum(n_items, 9)
    headline = np.full(n, "", dtype=object)
    if len(item_pid):
        order = np.lexsort((-item_rank, item_pid))
        first = order[group_starts(item_pid[order])]
        src = item_src[first]
        for k, table_msg in enumerate((fa.message, schedule.column("message"), dose_checks.column("message"))):
            m = (src // SRC) == k
            if m.any():
                headline[item_pid[first][m]] = table_msg.take(pa.array(src[m] % SRC)).to_pylist()
    urgency = np.where(top_rank > 0, np.array(["", *SEVERITIES], dtype=object)[top_rank], "")
    rank_order = np.lexsort((inp.patient_ids, -score))
    urgency_rank = np.empty(n, dtype=np.int64)
    urgency_rank[rank_order] = np.arange(1, n + 1)

    now = inp.cutoff - DAY
    ctx = dose_context(inp, np.arange(n, dtype=np.int64), np.full(n, now, dtype=np.int64), recorded=True)
    graded = current >= 0
    max_grade = np.where(graded.any(axis=1), current.max(axis=1, initial=-1), -1)
    # the highest grade is open when a result graded lower or as high may be worse than it
    # ("<=50" platelets, grade 2 or worse, beside a grade 2 ALT: grade 2 or worse)
    most = np.array([ctcae.max_grade(a) for a in CTCAE_ANALYTES], dtype=np.int64)
    max_open = (current_open & (most[None, :] > max_grade[:, None])).any(axis=1) & (max_grade >= 0)
    or_worse = np.full(n, "", dtype=object)
    names = np.array(CTCAE_ANALYTES, dtype=object)
    for p in np.flatnonzero(current_open.any(axis=1)):  # few: results written as a bound
        or_worse[p] = ";".join(names[current_open[p]])

    cols: dict[str, pa.Array] = {
        "patient_id": ids,
        "urgency_rank": pa.array(urgency_rank),
        "urgency_score": pa.array(score.astype(np.int64)),
        "urgency": pa.array(urgency.astype(object), pa.string()),
        "headline": pa.array(headline, pa.string()),
        "max_ctcae_grade": pa.array(max_grade.astype(np.int8), pa.int8(), mask=max_grade < 0),
        "open_ctcae": pa.array(counts["ctcae"].astype(np.int64)),
        "open_guideline": pa.array(counts["guideline"].astype(np.int64)),
        "open_guideline_rules": pa.array(rules_text["guideline"], pa.string()),
        "open_trend": pa.array(counts["trend"].astype(np.int64)),
        "open_trend_rules": pa.array(rules_text["trend"], pa.string()),
        "flags_total": pa.array(flags_total.astype(np.int64)),
        "next_test_due": _ts(next_due),
        "overdue": pa.array(overdue),
        "days_overdue": pa.array(days_overdue),
        "dose_checks_open": pa.array(dose_open.astype(np.int64)),
        "dose_check_rules": pa.array(dose_rules, pa.string()),
        "last_result": _ts(last_result),
        "current_doses": pa.array(ctx["active_doses"], pa.string()),
        "recorded_drugs": pa.array(ctx["recorded_drugs"], pa.string()),
        "recent_doses": pa.array(ctx["recent_doses"], pa.string()),
    }
    for j, a in enumerate(CTCAE_ANALYTES):
        cols[f"ctcae_{a}"] = pa.array(current[:, j], pa.int8(), mask=current[:, j] < 0)
    n_after = np.zeros(n, dtype=np.int64)
    worst_after = np.full(n, -1, dtype=np.int64)
    if after is not None and after.num_rows:
        apid = pc.index_in(after.column("patient_id"), value_set=ids).to_numpy(zero_copy_only=False).astype(np.int64)
        ag = after.column("ctcae_grade").fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)
        n_after = np.bincount(apid, minlength=n)
        np.maximum.at(worst_after, apid, ag)
    cols["results_after_as_of"] = pa.array(n_after.astype(np.int64))
    cols["worst_grade_after_as_of"] = pa.array(worst_after.astype(np.int8), pa.int8(), mask=worst_after < 0)
    cols["max_ctcae_grade_or_worse"] = pa.array(max_open)
    cols["grades_or_worse"] = pa.array(or_worse, pa.string())
    table = pa.table([cols[f[0]] for f in SUMMARY_FIELDS], names=[f[0] for f in SUMMARY_FIELDS])
    return table.take(pa.array(rank_order))


def _lead_rows(schedule: pa.Table, spid: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per patient: (next test due, overdue, days overdue), all three from one schedule row,
    so that they never contradict each other: the most overdue blood-test row, its date the
    last day it was on time (``due_by``: the date the days overdue count from); else the row
    due first.  An item graded "info" when overdue (a clinic check such as blood pressure,
    rarely in an export) is listed on the Patient page on its own and never leads."""
    due = schedule.column("next_due").cast(pa.int64()).fill_null(NEVER).to_numpy(zero_copy_only=False)
    due_by = schedule.column("due_by").cast(pa.int64()).fill_null(NEVER).to_numpy(zero_copy_only=False)
    over = schedule.column("overdue").to_numpy(zero_copy_only=False).astype(bool)
    late = schedule.column("days_overdue").to_numpy(zero_copy_only=False).astype(np.int64)
    counts = np.array([counts_on_panel(x) for x in schedule.column("schedule").to_pylist()], dtype=bool)
    rows = np.flatnonzero(counts & ((due < NEVER) | over))
    next_due = np.full(n, NEVER, dtype=np.int64)
    overdue = np.zeros(n, dtype=bool)
    days_overdue = np.zeros(n, dtype=np.int64)
    if len(rows):
        order = rows[np.lexsort((due[rows], -late[rows], ~over[rows], spid[rows]))]
        lead = order[group_starts(spid[order])]
        next_due[spid[lead]] = np.where(over[lead], due_by[lead], due[lead])
        overdue[spid[lead]] = over[lead]
        days_overdue[spid[lead]] = np.where(over[lead], late[lead], 0)
    return next_due, overdue, days_overdue


def _ranks(col: pa.ChunkedArray) -> np.ndarray:
    idx = pc.index_in(col, value_set=pa.array(list(SEVERITIES))).fill_null(-1)
    return idx.to_numpy(zero_copy_only=False).astype(np.int64) + 1


def _ts(sec: np.ndarray) -> pa.Array:
    return pa.array(sec.astype(np.int64), pa.int64(), mask=sec >= NEVER).cast(pa.timestamp("s"))


# --------------------------------------------------------------------------- intervals

INTERVAL_FIELDS: tuple[Column, ...] = tables.columns("intervals")


def intervals(flags: pa.Table) -> pa.Table:
    """Episodes when a rule kept firing on consecutive results of an analyte: the
    shading of the patient timeline.  An episode ends at the next result the rule did
    not fire on (``end``), or is open."""
    if flags.num_rows == 0:
        return tables.schema("intervals").empty_table()
    t = flags.sort_by(
        [("patient_id", "ascending"), ("analyte", "ascending"), ("rule", "ascending"), ("seq", "ascending")]
    )
    pid = t.column("patient_id").combine_chunks().dictionary_encode().indices.to_numpy(zero_copy_only=False)
    ana = t.column("analyte").combine_chunks().dictionary_encode().indices.to_numpy(zero_copy_only=False)
    rule = t.column("rule").combine_chunks().dictionary_encode().indices.to_numpy(zero_copy_only=False)
    start = t.column("episode_start").cast(pa.int64()).fill_null(0).to_numpy(zero_copy_only=False)
    new = group_starts(pid, ana, rule, start)  # one interval per episode of the flags table
    episode = np.cumsum(new) - 1
    firsts = np.flatnonzero(new)
    lasts = np.r_[firsts[1:] - 1, len(start) - 1]
    grade = t.column("ctcae_grade").fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)
    max_grade = np.full(len(firsts), -1, dtype=np.int64)
    np.maximum.at(max_grade, episode, grade)
    rank = _ranks(t.column("severity"))
    top = np.zeros(len(firsts), dtype=np.int64)
    np.maximum.at(top, episode, rank)
    take_first, take_last = pa.array(firsts), pa.array(lasts)
    cols = {
        "patient_id": t.column("patient_id").take(take_first),
        "analyte": t.column("analyte").take(take_first),
        "rule": t.column("rule").take(take_first),
        "kind": t.column("kind").take(take_first),
        "start": t.column("collected_at").take(take_first),
        "end": t.column("next_collected_at").take(take_last),
        "results": t.column("episode_results").take(take_last),
        "max_ctcae_grade": pa.array(max_grade.astype(np.int8), pa.int8(), mask=max_grade < 0),
        "severity": pa.array(np.array(["", *SEVERITIES], dtype=object)[top], pa.string()),
        "status": t.column("status").take(take_last),
    }
    return pa.table([cols[f[0]] for f in INTERVAL_FIELDS], names=[f[0] for f in INTERVAL_FIELDS])
