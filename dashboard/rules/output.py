"""The review as JSON and as text for a terminal.

The flags of a large panel (a hundred thousand and more) are serialised column by
column with Arrow string kernels, then grouped per patient, so that ``review --json``
stays proportional to the data, not to Python's per-object cost.
"""

from __future__ import annotations

import io
import json
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from dashboard.model import analyte_label
from dashboard.rules import dose_checks, schedule, summary
from dashboard.rules.review import Review
from dashboard.units import DISPLAY_UNIT

#: Fields of each flag in the JSON review (the contract fields first).
JSON_FLAG_FIELDS: tuple[str, ...] = (
    "collected_at",
    "analyte",
    "value",
    "unit",
    "ctcae_grade",
    "rule",
    "threshold",
    "source",
    "severity",
    "message",
    "active_doses",
    "days_since_dose_change",
    "comparator",
    "source_value",
    "source_unit",
    "kind",
    "after_increase",
    "last_increase",
    "days_since_pulse",
    "baseline",
    "baseline_basis",
    "at_baseline",
    "caveat",
    "status",
    "conflict",
    "dose_context",
    "episode_start",
    "episode_results",
)

#: Per-patient fields of the JSON review, from the summary table.
JSON_PATIENT_FIELDS: tuple[str, ...] = (
    "urgency_rank",
    "urgency_score",
    "urgency",
    "headline",
    "max_ctcae_grade",
    "next_test_due",
    "overdue",
    "days_overdue",
    "open_ctcae",
    "open_guideline",
    "open_trend",
    "dose_checks_open",
    "flags_total",
    "last_result",
    "current_doses",
    "results_after_as_of",
    "worst_grade_after_as_of",
)

#: Fields of each result dated after the as-of date in the JSON review.
JSON_AFTER_FIELDS: tuple[str, ...] = (
    "collected_at",
    "analyte",
    "value",
    "unit",
    "comparator",
    "source_value",
    "source_unit",
    "ctcae_grade",
)

_NULL = pa.scalar("null", pa.string())
_CONTROL = r"[\x00-\x1f]"


# --------------------------------------------------------------------------- JSON literals


def _escape(col: pa.Array) -> pa.Array:
    """JSON string literals of a string array (no nulls)."""
    if pc.any(pc.match_substring_regex(col, _CONTROL)).as_py():
        return pa.array([json.dumps(v, ensure_ascii=False) for v in col.to_pylist()], pa.string())
    esc = pc.replace_substring(pc.replace_substring(col, "\\", "\\\\"), '"', '\\"')
    return pc.binary_join_element_wise('"', esc, '"', "")


def json_literals(col: pa.Array | pa.ChunkedArray) -> pa.Array:
    """Each value of an Arrow column as JSON text ("null" for null / NaN)."""
    if isinstance(col, pa.ChunkedArray):
        col = col.combine_chunks()
    t = col.type
    if pa.types.is_string(t):
        valid = pc.is_valid(col)
        filled = pc.fill_null(col, "")
        enc = filled.dictionary_encode()
        few = len(enc.dictionary) * 4 < len(col)  # few distinct values: escape each once
        out = _escape(enc.dictionary).take(enc.indices) if few else _escape(filled)
        out = pc.if_else(valid, out, _NULL)
    elif pa.types.is_timestamp(t):
        text = pc.replace_substring(pc.cast(col.cast(pa.timestamp("s")), pa.string()), " ", "T")
        out = pc.binary_join_element_wise('"', text, '"', "")
    elif pa.types.is_boolean(t):
        out = pc.if_else(col, "true", "false")
    elif pa.types.is_floating(t):
        finite = pc.fill_null(pc.is_finite(col), False)
        out = pc.if_else(finite, pc.cast(pc.if_else(finite, col, 0.0), pa.string()), _NULL)
    else:
        out = pc.cast(col, pa.string())
    return pc.fill_null(out, _NULL)


def objects(table: pa.Table, fields: tuple[str, ...], literals: dict[str, pa.Array] | None = None) -> pa.Array:
    """One JSON object per row of ``table`` with ``fields`` (``literals``: ready-made values)."""
    if table.num_rows == 0:
        return pa.array([], pa.string())
    literals = literals or {}
    parts: list[Any] = []
    for i, f in enumerate(fields):
        value = literals[f] if f in literals else json_literals(table.column(f))
        parts += [("{" if i == 0 else ",") + json.dumps(f) + ":", value]
    parts.append("}")
    out = pc.binary_join_element_wise(*parts, "")
    return out.combine_chunks() if isinstance(out, pa.ChunkedArray) else out


def arrays_by_patient(pids: pa.ChunkedArray, items: pa.Array, order: pa.Array) -> pa.Array:
    """JSON arrays of ``items`` per patient, aligned with ``order`` (patient ids).

    ``pids`` are the items' patients, sorted.  A patient without items gets "[]".
    """
    if len(items) == 0:
        return pa.repeat(pa.scalar("[]"), len(order))
    ids = pids.combine_chunks() if isinstance(pids, pa.ChunkedArray) else pids
    change = np.r_[True, pc.not_equal(ids[1:], ids[:-1]).to_numpy(zero_copy_only=False)]
    starts = np.flatnonzero(change)
    offsets = pa.array(np.r_[starts, len(items)].astype(np.int32))
    joined = pc.binary_join(pa.ListArray.from_arrays(offsets, items), ",")
    where = pc.index_in(order, value_set=ids.take(pa.array(starts)))
    text = joined.take(where)
    return pc.fill_null(pc.binary_join_element_wise("[", text, "]", ""), "[]")


def patients_json_text(rv: Review) -> pa.Array:
    """Each patient of the JSON review as a JSON object (text), most urgent first."""
    s = rv.summary.combine_chunks()
    order = s.column("patient_id").combine_chunks()
    flags = arrays_by_patient(rv.flags.column("patient_id"), objects(rv.flags, JSON_FLAG_FIELDS), order)
    sched = rv.schedule.sort_by("patient_id")
    sched_fields = tuple(n for n, _, _ in schedule.SCHEDULE_FIELDS if n != "patient_id")
    sched_json = arrays_by_patient(sched.column("patient_id"), objects(sched, sched_fields), order)
    dose_fields = tuple(n for n, _, _ in dose_checks.DOSE_CHECK_FIELDS if n != "patient_id")
    dc = rv.dose_checks
    dose_json = arrays_by_patient(dc.column("patient_id"), objects(dc, dose_fields), order)
    later = rv.after_as_of
    after_json = arrays_by_patient(later.column("patient_id"), objects(later, JSON_AFTER_FIELDS), order)
    grades = [
        pc.if_else(
            pc.is_valid(s.column(f"ctcae_{a}")),
            pc.binary_join_element_wise(f'"{a}":', pc.cast(s.column(f"ctcae_{a}"), pa.string()), ""),
            pa.scalar(None, pa.string()),
        )
        for a in summary.CTCAE_ANALYTES
    ]
    # (null_handling="skip" loses rows where every grade is null: join with "" and tidy the commas)
    pairs = pc.binary_join_element_wise(*grades, ",", null_handling="replace", null_replacement="")
    pairs = pc.replace_substring_regex(pc.replace_substring_regex(pairs, ",{2,}", ","), "^,|,$", "")
    worst = pc.binary_join_element_wise("{", pairs, "}", "")
    due = pc.cast(pc.cast(s.column("next_test_due"), pa.date32()), pa.string())
    name, birth = _identity_columns(rv, order)
    literals = {
        "name": name,
        "birth_date": birth,
        "next_test_due": pc.fill_null(pc.binary_join_element_wise('"', due, '"', ""), _NULL),
        "worst_ctcae_grade": worst,
        "flags": flags,
        "schedule": sched_json,
        "dose_checks": dose_json,
        "after_as_of": after_json,
    }
    fields = (
        "patient_id",
        *JSON_IDENTITY_FIELDS,
        *JSON_PATIENT_FIELDS,
        "worst_ctcae_grade",
        "flags",
        "schedule",
        "dose_checks",
        "after_as_of",
    )
    return objects(s, fields, literals)


#: Who each patient is, in the JSON review: the name and the date of birth (YYYY-MM-DD)
#: where the data give them, else null.
JSON_IDENTITY_FIELDS: tuple[str, ...] = ("name", "birth_date")


def _identity_columns(rv: Review, order: pa.Array) -> tuple[pa.Array, pa.Array]:
    """JSON literals of each patient's name and date of birth, aligned with ``order``."""
    n = len(order)
    ident = rv.identity
    if ident is None or ident.num_rows == 0 or n == 0:
        nulls = pa.repeat(_NULL, n)
        return nulls, nulls
    ident = ident.combine_chunks()
    where = pc.index_in(order, value_set=ident.column("patient_id"))
    name = ident.column("name").take(where)
    name = pc.if_else(pc.equal(pc.fill_null(name, ""), ""), pa.scalar(None, pa.string()), name)
    day = pc.cast(pc.cast(ident.column("birth_date").take(where), pa.date32()), pa.string())
    birth = pc.fill_null(pc.binary_join_element_wise('"', day, '"', ""), _NULL)
    return pc.fill_null(json_literals(name), _NULL), birth


def _joined_bytes(items: pa.Array, separator: str) -> memoryview:
    """The UTF-8 bytes of ``items`` joined by ``separator``, without making Python strings."""
    one = pc.binary_join(pa.ListArray.from_arrays(pa.array([0, len(items)], pa.int32()), items), separator)
    offsets = np.frombuffer(one.buffers()[1], dtype=np.int32, count=2, offset=one.offset * 4)
    data = one.buffers()[2]
    return memoryview(data)[offsets[0] : offsets[1]] if data is not None else memoryview(b"")


def write_review_json(rv: Review, import_report: dict[str, Any] | None, stream: Any) -> None:
    """Write the JSON review to a binary stream: ``{"import": ..., "review": ..., "patients": [...]}``."""
    patients = _joined_bytes(patients_json_text(rv), ",\n")  # everything is built before writing
    head = json.dumps(import_report, ensure_ascii=False, default=str)
    info = json.dumps(rv.header(), ensure_ascii=False)
    stream.write(f'{{"import":{head},"review":{info},"patients":['.encode())
    stream.write(patients)
    stream.write(b"]}")


def review_json(rv: Review, import_report: dict[str, Any] | None = None) -> str:
    """The whole JSON review as text (see :func:`write_review_json`)."""
    buf = io.BytesIO()
    write_review_json(rv, import_report, buf)
    return buf.getvalue().decode("utf-8")


def patients_json(rv: Review) -> list[dict[str, Any]]:
    """The "patients" array as Python objects."""
    return [json.loads(x) for x in patients_json_text(rv).to_pylist()]


# --------------------------------------------------------------------------- text


def _table(rows: list[list[str]], header: list[str]) -> list[str]:
    widths = [max([len(h)] + [len(r[i]) for r in rows]) for i, h in enumerate(header)]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    return [fmt.format(*header), fmt.format(*("-" * w for w in widths)), *(fmt.format(*r).rstrip() for r in rows)]


def _open_lines(rv: Review) -> dict[str, str]:
    """Per patient: the lines of its open flags (built column-wise)."""
    f = rv.flags.filter(pc.equal(rv.flags.column("status"), "open"))
    if f.num_rows == 0:
        return {}
    when = pc.strftime(f.column("collected_at"), format="%Y-%m-%d")
    unit = f.column("source_unit")
    unit = pc.if_else(pc.equal(pc.fill_null(unit, ""), ""), "(no unit in the source)", unit)
    note = pc.if_else(
        pc.equal(f.column("caveat"), ""),
        "",
        pc.binary_join_element_wise("\n      note: ", f.column("caveat"), ""),
    )
    line = pc.binary_join_element_wise(
        "   ",
        when,
        " [",
        f.column("severity"),
        "] ",
        f.column("rule"),
        ": ",
        f.column("message"),
        " (",
        f.column("source"),
        ")\n      raw ",
        f.column("source_value"),
        " ",
        unit,
        " · doses: ",
        f.column("dose_context"),
        note,
        "",
    )
    ids = f.column("patient_id").combine_chunks()
    change = np.r_[True, pc.not_equal(ids[1:], ids[:-1]).to_numpy(zero_copy_only=False)]
    starts = np.flatnonzero(change)
    offsets = pa.array(np.r_[starts, f.num_rows].astype(np.int32))
    joined = pc.binary_join(pa.ListArray.from_arrays(offsets, line.combine_chunks()), "\n")
    return dict(zip(ids.take(pa.array(starts)).to_pylist(), joined.to_pylist(), strict=True))


def review_text(rv: Review) -> str:
    """The review for a terminal: the ranked panel, then each patient's open items."""
    h = rv.header()
    lines = [
        f"Review as of {h['as_of']} · profile {h['profile']} (rules {h['data_versions']['rules']}) · "
        f"{_count(h['patients'], 'patient')} · {_count(h['flags'], 'flag')} ({h['open_flags']} open)",
        "Decision support only: check every flag against the raw result and your local protocol.",
    ]
    if rv.as_of_note:
        lines.append(rv.as_of_note)
    lines += after_as_of_lines(rv)
    lines.append("")
    s = rv.summary
    cols = {f: s.column(f).to_pylist() for f in (*JSON_PATIENT_FIELDS, "patient_id")}
    grades = {a: s.column(f"ctcae_{a}").to_pylist() for a in summary.CTCAE_ANALYTES}
    labels = {a: analyte_label(a) for a in summary.CTCAE_ANALYTES}
    rows = []
    for i, pid in enumerate(cols["patient_id"]):
        now = ", ".join(f"{labels[a]} {g[i]}" for a, g in grades.items() if g[i])
        opened = [
            f"{cols[k][i]} {w}"
            for k, w in (("open_ctcae", "CTCAE"), ("open_guideline", "guideline"), ("open_trend", "trend"))
            if cols[k][i]
        ]
        due = cols["next_test_due"][i].date().isoformat() if cols["next_test_due"][i] is not None else "-"
        if cols["overdue"][i]:
            due += f" OVERDUE {cols['days_overdue'][i]}d"
        rows.append(
            [
                str(cols["urgency_rank"][i]),
                pid,
                cols["urgency"][i] or "-",
                str(cols["urgency_score"][i]),
                now or "-",
                ", ".join(opened) or "-",
                due,
                str(cols["dose_checks_open"][i] or "-"),
            ]
        )
    lines += _table(
        rows, ["Rank", "Patient", "Urgency", "Score", "CTCAE now", "Open flags", "Next test due", "Dose checks"]
    )
    lines.append("")
    flag_lines = _open_lines(rv)
    extra: dict[str, list[str]] = {}
    sched = rv.schedule.filter(rv.schedule.column("overdue"))
    for pid, sev, msg, src in zip(
        *(sched.column(c).to_pylist() for c in ("patient_id", "severity", "message", "source")), strict=True
    ):
        extra.setdefault(pid, []).append(f"   [{sev}] schedule: {msg} ({src})")
    dc = rv.dose_checks.filter(pc.equal(rv.dose_checks.column("status"), "open"))
    for pid, sev, rule, msg, src in zip(
        *(dc.column(c).to_pylist() for c in ("patient_id", "severity", "rule", "message", "source")), strict=True
    ):
        extra.setdefault(pid, []).append(f"   [{sev}] {rule}: {msg} ({src})")
    who = _identity_labels(rv)
    for i, pid in enumerate(cols["patient_id"]):
        block = flag_lines.get(pid)
        more = extra.get(pid)
        if not (block or more):
            continue
        lines.append(
            f"== {who.get(pid, pid)} [{cols['urgency'][i] or 'info'}] {cols['current_doses'][i] or 'no current doses'}"
        )
        if block:
            lines.append(block)
        if more:
            lines += more
    return "\n".join(lines)


def after_as_of_lines(rv: Review, limit: int = 20) -> list[str]:
    """The results dated after the as-of date, most severe first (at most ``limit`` listed)."""
    later = rv.after_as_of
    if later.num_rows == 0:
        return []
    n = later.num_rows
    patients = len(pc.unique(later.column("patient_id")))
    verb = "is" if n == 1 else "are"
    out = [
        "",
        f"{_count(n, 'result')} dated after the as-of date {rv.as_of:%Y-%m-%d} {verb} not reviewed "
        f"({_count(patients, 'patient')}; latest {rv.header()['last_result_after_as_of']}). "
        "Review them with a later as-of date:",
    ]
    order = after_as_of_order(later)
    for row in later.take(pa.array(order[:limit])).to_pylist():
        out.append("   " + after_as_of_text(row))
    if n > limit:
        out.append(f"   ... and {n - limit:,} more (all are in the JSON review)")
    return out


def after_as_of_order(later: pa.Table) -> np.ndarray:
    """Row order of the after-as-of table: highest CTCAE grade first, then patient and time."""
    g = later.column("ctcae_grade").fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)
    return np.lexsort((np.arange(len(g)), -g))


def after_as_of_text(row: dict[str, Any]) -> str:
    """One result dated after the as-of date, in words."""
    grade = row["ctcae_grade"]
    unit = DISPLAY_UNIT.get(row["unit"], row["unit"])
    text = (
        f"{row['patient_id']}  {row['collected_at']:%Y-%m-%d %H:%M}  {analyte_label(row['analyte'])} "
        f"{row['comparator']}{row['value']:g} {unit} (raw {row['source_value']} {row['source_unit']})"
    )
    return text + (f" · CTCAE grade {grade}" if grade is not None and grade > 0 else "")


def _identity_labels(rv: Review) -> dict[str, str]:
    """Patient id -> "DOE, Jane · 12-Mar-1980 · MRN 10023456" for the patients whose name
    or date of birth is known (the text review's patient headings)."""
    from dashboard.identity import patient_label

    if rv.identity is None or rv.identity.num_rows == 0:
        return {}
    rows = rv.identity.to_pydict()
    return {
        pid: patient_label(pid, name or "", born)
        for pid, name, born in zip(rows["patient_id"], rows["name"], rows["birth_date"], strict=True)
        if name or born
    }


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"
