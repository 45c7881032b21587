"""The review as JSON and as text for a terminal.

The flags of a large panel (a hundred thousand and more) are serialised column by
column with Arrow string kernels, then grouped per patient, so that ``review --json``
stays proportional to the data, not to Python's per-object cost.
"""

from __future__ import annotations

import datetime as dt
import io
import json
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from dashboard import knowledge
from dashboard.identity import patient_label
from dashboard.model import analyte_label
from dashboard.rules import dose_checks, schedule, summary
from dashboard.rules.ctcae import grade_text
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
    "ctcae_grade_or_worse",
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
    "recent_doses",  # recorded after the last dose (between infusions): never read as on nothing (H713)
    "results_after_as_of",
    "worst_grade_after_as_of",
    "max_ctcae_grade_or_worse",
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
    "ctcae_grade_or_worse",
)

_NULL = pa.scalar("null", pa.string())
_CONTROL = r"[\x00-\x1f]"


# --------------------------------------------------------------------------- JSON literals


def _escape(col: pa.Array) -> pa.Array:
    """JSON string literals of a string array (no nulls)."""
    if not _needs_escaping(col):  # the usual case: quotes around the text are all it needs
        return pc.binary_join_element_wise('"', col, '"', "")
    if pc.any(pc.match_substring_regex(col, _CONTROL)).as_py():
        return pa.array([json.dumps(v, ensure_ascii=False) for v in col.to_pylist()], pa.string())
    esc = pc.replace_substring(pc.replace_substring(col, "\\", "\\\\"), '"', '\\"')
    return pc.binary_join_element_wise('"', esc, '"', "")


def _needs_escaping(col: pa.Array) -> bool:
    """Whether any text holds a quote, a backslash or a control character (a look at
    the bytes; True when unsure)."""
    if not pa.types.is_string(col.type) or col.null_count:
        return True
    data = col.buffers()[2]
    if data is None:
        return False
    offsets = np.frombuffer(col.buffers()[1], dtype=np.int32, count=len(col) + 1, offset=col.offset * 4)
    used = np.frombuffer(data, dtype=np.uint8)[offsets[0] : offsets[-1]]
    # three plain scans (no gather, no mask of every byte kept): control characters
    # sort below the space, and UTF-8's multi-byte sequences lie above 0x7f
    return bool(used.min(initial=0xFF) < 0x20 or (used == ord('"')).any() or (used == ord("\\")).any())


def _iso_texts(col: pa.Array) -> pa.Array | None:
    """'YYYY-MM-DDTHH:MM:SS' per timestamp of a column without nulls: Arrow's own text
    ("YYYY-MM-DD HH:MM:SS", a year before 1000 padded to four digits) with the T set in
    its bytes; None when a text is not of that one length (a year after 9999, or before 1)."""
    n = len(col)
    if col.null_count or not n:
        return None
    text = pc.cast(col.cast(pa.timestamp("s")), pa.string())
    _, offsets, data = text.buffers()
    at = np.frombuffer(offsets, dtype=np.int32, count=n + 1, offset=text.offset * 4)
    if data is None or not np.array_equal(at - at[0], np.arange(0, 19 * (n + 1), 19, dtype=np.int32)):
        return None
    chars = np.frombuffer(data, dtype=np.uint8)[at[0] : at[-1]].copy()
    chars[10::19] = ord("T")
    return pa.StringArray.from_buffers(n, pa.py_buffer((at - at[0]).tobytes()), pa.py_buffer(chars.tobytes()))


def _iso_literals(col: pa.Array) -> pa.Array:
    """'"YYYY-MM-DDTHH:MM:SS"' per timestamp (null stays null): :func:`_iso_texts` of the
    column with its nulls filled, the nulls put back; Arrow's text with its space replaced
    where a year has other than four digits."""
    seconds = col.cast(pa.timestamp("s"))
    valid = seconds.is_valid()
    text = _iso_texts(seconds.fill_null(0) if seconds.null_count else seconds)
    if text is None:
        text = pc.replace_substring(pc.cast(seconds, pa.string()), " ", "T")
    quoted = pc.binary_join_element_wise('"', text, '"', "")
    return quoted if not seconds.null_count else pc.if_else(valid, quoted, pa.scalar(None, pa.string()))


def json_literals(col: pa.Array | pa.ChunkedArray) -> pa.Array:
    """Each value of an Arrow column as JSON text ("null" for null / NaN)."""
    if isinstance(col, pa.ChunkedArray):
        col = col.combine_chunks()
    t = col.type
    if len(col) and col.null_count == len(col):  # a column of no values (no dose, no date)
        return pa.repeat(_NULL, len(col))
    if pa.types.is_dictionary(t) and pa.types.is_string(t.value_type):
        out = _escape(pc.fill_null(col.dictionary, "")).take(col.indices)
    elif pa.types.is_string(t):
        valid = pc.is_valid(col)
        filled = pc.fill_null(col, "") if col.null_count else col
        if not _needs_escaping(filled):
            out = _escape(filled)
        else:
            enc = filled.dictionary_encode()
            few = len(enc.dictionary) * 4 < len(col)  # few distinct values: escape each once
            out = _escape(enc.dictionary).take(enc.indices) if few else _escape(filled)
        out = pc.if_else(valid, out, _NULL) if col.null_count else out
    elif pa.types.is_timestamp(t):
        out = _iso_literals(col)
    elif pa.types.is_boolean(t):
        out = pc.if_else(col, "true", "false")
    elif pa.types.is_list(t) or pa.types.is_struct(t):
        # a schedule row's test groups (schedule.due_groups): a few small objects per row
        out = pa.array([json.dumps(v, ensure_ascii=False, default=_json_time) for v in col.to_pylist()], pa.string())
    elif pa.types.is_floating(t):
        out = _float_literals(col)
    else:
        out = pc.cast(col, pa.string())
    return pc.fill_null(out, _NULL)


def _float_literals(col: pa.Array) -> pa.Array:
    """JSON numbers of a float column ("null" for null, NaN and infinity).  A column of
    few distinct values (limits, grades' cuts, results of a few hundred values) is written
    once per value and taken per row: the float-to-text cast is the costly step."""
    enc = col.dictionary_encode()
    if len(enc.dictionary) * 4 < len(col):
        return _float_literals(enc.dictionary).take(enc.indices)
    finite = pc.fill_null(pc.is_finite(col), False)
    return pc.if_else(finite, pc.cast(pc.if_else(finite, col, 0.0), pa.string()), _NULL)


def _json_time(value: Any) -> str:
    """A time inside a nested value, written as the flat timestamp columns are."""
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat() if isinstance(value, dt.datetime) else f"{value.isoformat()}T00:00:00"
    raise TypeError(f"not JSON: {type(value).__name__}")


def _literal_parts(col: pa.Array | pa.ChunkedArray) -> list[Any]:
    """The JSON text of a column's values as parts of a row join: a text column that
    needs neither escaping nor nulls gets its quotes from the join itself (one copy of
    its texts fewer); any other column is :func:`json_literals`."""
    if isinstance(col, pa.ChunkedArray):
        col = col.combine_chunks()
    same = _same_literal(col)
    if same is not None:
        return [same]
    if pa.types.is_string(col.type) and not col.null_count and not _needs_escaping(col):
        return ['"', col, '"']
    if pa.types.is_timestamp(col.type):
        text = _iso_texts(col)
        if text is not None:
            return ['"', text, '"']
    return [json_literals(col)]


def _same_literal(col: pa.Array) -> str | None:
    """The JSON text of every value of a column whose values are all the same (bit for
    bit), else None (also when unsure).  Most dose columns of a panel without doses
    ("", null, false, "none recorded") are such columns: written once, as a text shared
    by every row, the row join merges them with the separators around them and walks
    fewer parts.  The text is :func:`json_literals` of the first value, a function of
    the value alone, so the rows read exactly as when each is written on its own."""
    n = len(col)
    if not n:
        return None
    if col.null_count:
        return None if col.null_count < n else "null"
    t = col.type
    if pa.types.is_dictionary(t):
        idx = col.indices.to_numpy(zero_copy_only=False)
        same = bool((idx == idx[0]).all())
    elif pa.types.is_string(t):
        at = np.frombuffer(col.buffers()[1], dtype=np.int32, count=n + 1, offset=col.offset * 4)
        size = int(at[1] - at[0])
        if not (np.diff(at) == size).all():
            return None
        data = col.buffers()[2]
        same = size == 0 or bool(
            (
                np.frombuffer(data, dtype=np.uint8)[at[0] : at[-1]].reshape(n, size)
                == np.frombuffer(data, dtype=np.uint8)[at[0] : at[0] + size]
            ).all()
        )
    elif pa.types.is_boolean(t):
        true = pc.sum(col).as_py() or 0
        same = true in (0, n)
    elif pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_timestamp(t):
        width = t.bit_width // 8
        raw = np.frombuffer(col.buffers()[1], dtype=f"u{width}", count=n, offset=col.offset * width)
        same = bool((raw == raw[0]).all())  # bit for bit: -0.0 is not 0.0, NaN is its own bits
    else:
        return None
    return json_literals(col.slice(0, 1))[0].as_py() if same else None


def _join_row(parts: list[Any], n: int) -> pa.Array:
    """Each of ``n`` rows' parts (arrays, and texts shared by every row) joined into one
    text: adjacent shared texts are merged, so that the join has fewer parts to walk."""
    merged: list[Any] = []
    for part in parts:
        if isinstance(part, str) and merged and isinstance(merged[-1], str):
            merged[-1] += part
        else:
            merged.append(part)
    if all(isinstance(part, str) for part in merged):  # every column of one value
        return pa.repeat(pa.scalar("".join(merged), pa.string()), n)
    out = pc.binary_join_element_wise(*merged, "")
    return out.combine_chunks() if isinstance(out, pa.ChunkedArray) else out


def objects(
    table: pa.Table, fields: tuple[str, ...], literals: dict[str, Any] | None = None, end: str = "}"
) -> pa.Array:
    """One JSON object per row of ``table`` with ``fields`` (``literals``: ready-made
    values: an array of JSON texts, a text shared by every row, or a list of such parts);
    ``end``: the text closing each object ("}", or "}\n" for a line of its own)."""
    if table.num_rows == 0:
        return pa.array([], pa.string())
    literals = literals or {}
    parts: list[Any] = []
    for i, f in enumerate(fields):
        parts.append(("{" if i == 0 else ",") + json.dumps(f) + ":")
        parts += _given(literals[f]) if f in literals else _literal_parts(table.column(f))
    parts.append(end)
    return _join_row(parts, table.num_rows)


def _given(literal: Any) -> list[Any]:
    """The row-join parts of a ready-made value (:func:`objects`' ``literals``)."""
    return literal if isinstance(literal, list) else [literal]


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


def rows(table: pa.Table, fields: tuple[str, ...], literals: dict[str, Any] | None = None) -> pa.Array:
    """One JSON array per row of ``table``: the values of ``fields`` in that order (the
    compact form: the field names are given once, in the header; ``literals`` as
    :func:`objects`')."""
    if table.num_rows == 0:
        return pa.array([], pa.string())
    literals = literals or {}
    parts: list[Any] = []
    for i, f in enumerate(fields):
        parts.append("[" if i == 0 else ",")
        parts += _given(literals[f]) if f in literals else _literal_parts(table.column(f))
    parts.append("]")
    return _join_row(parts, table.num_rows)


@dataclass
class _Items:
    """One per-patient list of the review (flags, schedule ...): its table sorted by
    patient, the fields written, and each patient's [start, stop) rows in it."""

    table: pa.Table
    fields: tuple[str, ...]
    start: np.ndarray  # per patient of the summary order
    stop: np.ndarray
    #: the JSON text of each field whose value is the same on every row of the table
    #: (:func:`_same_literal`: most dose columns of a panel without doses), written as a
    #: text shared by every row of a batch, never taken and written per row
    same: dict[str, str] = field(default_factory=dict)

    @classmethod
    def of(cls, table: pa.Table, fields: tuple[str, ...], order: pa.Array) -> _Items:
        n = len(order)
        start = np.zeros(n, dtype=np.int64)
        stop = np.zeros(n, dtype=np.int64)
        if table.num_rows:
            ids = table.column("patient_id").combine_chunks()
            change = np.r_[True, pc.not_equal(ids[1:], ids[:-1]).to_numpy(zero_copy_only=False)]
            firsts = np.flatnonzero(change)
            ends = np.r_[firsts[1:], len(ids)]
            where = pc.index_in(order, value_set=ids.take(pa.array(firsts)))
            has = where.is_valid().to_numpy(zero_copy_only=False)
            k = where.fill_null(0).to_numpy(zero_copy_only=False)
            start[has], stop[has] = firsts[k[has]], ends[k[has]]
        same = {f: text for f in fields if (text := _same_literal(_one_chunk(table.column(f)))) is not None}
        return cls(table, fields, start, stop, same)

    def json(self, lo: int, hi: int, compact: bool) -> list[Any]:
        """The JSON arrays ("[...]") of patients ``lo:hi`` of the summary order, as
        row-join parts (the brackets are joined with the patient's other fields)."""
        count = self.stop[lo:hi] - self.start[lo:hi]
        total = int(count.sum())
        if not total:
            return [pa.repeat(pa.scalar("[]"), hi - lo)]
        first = np.repeat(self.start[lo:hi] - np.r_[0, np.cumsum(count)[:-1]], count)
        take = pa.array(first + np.arange(total))
        # only the columns of more than one value are taken (one is kept when none is:
        # it gives the number of rows)
        varied = [f for f in self.fields if f not in self.same] or [self.fields[0]]
        sub = pa.table([_one_chunk(self.table.column(f)).take(take) for f in varied], names=varied)
        items = rows(sub, self.fields, self.same) if compact else objects(sub, self.fields, self.same)
        offsets = pa.array(np.r_[0, np.cumsum(count)].astype(np.int32))
        joined = pc.binary_join(pa.ListArray.from_arrays(offsets, items), ",")
        return ["[", joined, "]"]


def _one_chunk(col: pa.ChunkedArray | pa.Array) -> pa.Array:
    """A column as one array (its only chunk as it is)."""
    if isinstance(col, pa.ChunkedArray):
        return col.chunk(0) if col.num_chunks == 1 else col.combine_chunks()
    return col


#: Patients written at a time (and at most about this many flags): the JSON is streamed,
#: two batches built at once (:func:`_in_order`); smaller batches keep the peak lower
#: (review --compact of 1M results: 783 MB with 50,000 flags a batch, 714 MB with
#: 25,000, 652 MB with 10,000, in the same time; 5,000 costs time).
_BATCH_PATIENTS = 500
_BATCH_FLAGS = 10_000


def patient_batches(rv: Review, compact: bool = False, line_end: str = "") -> Iterator[pa.Array]:
    """The patients of the JSON review as JSON objects (text), most urgent first, a batch
    at a time (``compact``: flags, schedule, dose checks and later results as arrays of
    values in the order of :func:`compact_fields`; ``line_end``: a text ending each
    object, "\n" for the compact review's lines)."""
    s = rv.summary.combine_chunks()
    n = s.num_rows
    order = s.column("patient_id").combine_chunks()
    lists = {
        "flags": _Items.of(rv.flags, JSON_FLAG_FIELDS, order),
        "schedule": _Items.of(rv.schedule.sort_by("patient_id"), SCHEDULE_JSON_FIELDS, order),
        "dose_checks": _Items.of(rv.dose_checks, DOSE_CHECK_JSON_FIELDS, order),
        "after_as_of": _Items.of(rv.after_as_of, JSON_AFTER_FIELDS, order),
    }
    name, birth = _identity_columns(rv, order)
    other = _other_id_column(rv, order)
    disputed = _other_id_column(rv, order, rv.identity_conflicts)

    def batch(bounds: tuple[int, int]) -> pa.Array:
        lo, hi = bounds
        literals = {key: items.json(lo, hi, compact) for key, items in lists.items()}
        literals |= {"name": name[lo:hi], "birth_date": birth[lo:hi], "other_ids": other[lo:hi]}
        literals["identity_conflicts"] = disputed[lo:hi]
        return _patient_objects(s.slice(lo, hi - lo), literals, "}" + line_end)

    yield from _in_order(batch, _batch_bounds(n, lists["flags"].stop - lists["flags"].start))


def _batch_bounds(n: int, flags_per_patient: np.ndarray) -> Iterator[tuple[int, int]]:
    """[lo, hi) of each batch of patients: at most :data:`_BATCH_PATIENTS` patients, and
    about :data:`_BATCH_FLAGS` flags unless one patient has more."""
    lo = 0
    while lo < n:
        hi = min(n, lo + _BATCH_PATIENTS)
        many = np.flatnonzero(np.cumsum(flags_per_patient[lo:hi]) > _BATCH_FLAGS)
        if len(many):
            hi = lo + max(int(many[0]), 1)
        yield lo, hi
        lo = hi


#: Batches built at the same time by :func:`_in_order` (each on its own thread).
_BATCHES_AT_ONCE = 2


def _in_order(build: Callable[[tuple[int, int]], pa.Array], bounds: Iterable[tuple[int, int]]) -> Iterator[pa.Array]:
    """``build`` of each of ``bounds``, in their order, two batches built at a time.

    A batch is built by Arrow kernels, which release the GIL: on two cores the second
    batch is built while the first is (``review --compact`` of 1M results: the output
    0.15 -> 0.10 s).  At most :data:`_BATCHES_AT_ONCE` batches are built ahead of the one
    being written, so the output stays streamed."""
    with ThreadPoolExecutor(max_workers=_BATCHES_AT_ONCE, thread_name_prefix="json") as pool:
        waiting: deque[Future[pa.Array]] = deque()
        for b in bounds:
            waiting.append(pool.submit(build, b))
            if len(waiting) >= _BATCHES_AT_ONCE:
                yield waiting.popleft().result()
        while waiting:
            yield waiting.popleft().result()


def _patient_objects(s: pa.Table, literals: dict[str, Any], end: str = "}") -> pa.Array:
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
    due = pc.cast(pc.cast(s.column("next_test_due"), pa.date32()), pa.string())
    # the analytes of worst_ctcae_grade whose grade may be worse ("<=50" platelets: 2 or
    # worse): ["platelets"]; analyte ids need no escaping
    names = pc.replace_substring(s.column("grades_or_worse"), ";", '","')
    open_list = pc.if_else(
        pc.equal(s.column("grades_or_worse"), ""), "[]", pc.binary_join_element_wise('["', names, '"]', "")
    )
    literals = {
        **literals,
        "next_test_due": pc.fill_null(pc.binary_join_element_wise('"', due, '"', ""), _NULL),
        "worst_ctcae_grade": pc.binary_join_element_wise("{", pairs, "}", ""),
        "worst_ctcae_grade_or_worse": open_list,
    }
    fields = (
        "patient_id",
        *JSON_IDENTITY_FIELDS,
        *JSON_PATIENT_FIELDS,
        "worst_ctcae_grade",
        "worst_ctcae_grade_or_worse",
        "other_ids",
        "identity_conflicts",
        "flags",
        "schedule",
        "dose_checks",
        "after_as_of",
    )
    return objects(s, fields, literals, end)


def patients_json_text(rv: Review) -> pa.Array:
    """Each patient of the JSON review as a JSON object (text), most urgent first."""
    parts = list(patient_batches(rv))
    return pa.concat_arrays(parts) if parts else pa.array([], pa.string())


SCHEDULE_JSON_FIELDS: tuple[str, ...] = tuple(n for n, _, _ in schedule.SCHEDULE_FIELDS if n != "patient_id")
DOSE_CHECK_JSON_FIELDS: tuple[str, ...] = tuple(n for n, _, _ in dose_checks.DOSE_CHECK_FIELDS if n != "patient_id")


def compact_fields() -> dict[str, list[str]]:
    """The fields of each array in the compact review, in order."""
    return {
        "flags": list(JSON_FLAG_FIELDS),
        "schedule": list(SCHEDULE_JSON_FIELDS),
        "dose_checks": list(DOSE_CHECK_JSON_FIELDS),
        "after_as_of": list(JSON_AFTER_FIELDS),
    }


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


def _other_id_column(rv: Review, order: pa.Array, notes: dict[str, list[str]] | None = None) -> pa.Array:
    """Per patient of ``order``: a JSON array of the sentences naming another id of the
    panel that may be the same person (H150), "[]" for most (with ``notes``: those
    sentences instead, the identity conflicts: H553)."""
    said = rv.other_ids if notes is None else notes
    out = np.full(len(order), "[]", dtype=object)
    if said:
        ids = order.to_pylist()
        for i, pid in enumerate(ids):
            if pid in said:
                out[i] = json.dumps(said[pid], ensure_ascii=False)
    return pa.array(out, pa.string())


def _joined_bytes(items: pa.Array, separator: str) -> memoryview:
    """The UTF-8 bytes of ``items`` joined by ``separator``, without making Python strings."""
    one = pc.binary_join(pa.ListArray.from_arrays(pa.array([0, len(items)], pa.int32()), items), separator)
    offsets = np.frombuffer(one.buffers()[1], dtype=np.int32, count=2, offset=one.offset * 4)
    data = one.buffers()[2]
    return memoryview(data)[offsets[0] : offsets[1]] if data is not None else memoryview(b"")


#: The fields of each reference of the JSON review's ``references`` (references.toml's words).
JSON_REFERENCE_FIELDS: dict[str, str] = {"citation": "citation", "url": "url"}


def cited_sources(rv: Review) -> list[str]:
    """The distinct source texts of the review's flags, schedule rows and dose checks, in
    that order (a few dozen however large the panel: read once, never per flag)."""
    texts: list[str] = []
    for table in (rv.flags, rv.schedule, rv.dose_checks):
        if table.num_rows:
            texts += [t for t in pc.unique(table.column("source")).to_pylist() if t]
    return texts


def references_json(texts: Iterable[object]) -> dict[str, dict[str, str]]:
    """``{id: {"citation", "url"}}`` of the reference ids the ``texts`` cite ("CTCAE v5.0
    [nci_ctcae5]"), in order of first citation, as references.toml writes them (H611)."""
    ids = knowledge.cited_ids(texts)
    return dict(zip(ids, knowledge.reference_rows(ids, JSON_REFERENCE_FIELDS), strict=True))


def write_review_json(rv: Review, import_report: dict[str, Any] | None, stream: Any) -> None:
    """Write the JSON review to a binary stream: ``{"import": ..., "review": ...,
    "references": {id: {"citation", "url"}}, "patients": [...]}`` (``references``: each
    reference id the sources of the review cite, H611).

    The patients are written as they are built, a batch at a time."""
    head = json.dumps(import_report, ensure_ascii=False, default=str)
    info = json.dumps(rv.header(), ensure_ascii=False)
    refs = json.dumps(references_json(cited_sources(rv)), ensure_ascii=False)
    stream.write(f'{{"import":{head},"review":{info},"references":{refs},"patients":['.encode())
    for i, batch in enumerate(patient_batches(rv)):
        if i:
            stream.write(b",\n")
        stream.write(_joined_bytes(batch, ",\n"))
    stream.write(b"]}")


def write_review_ndjson(rv: Review, import_report: dict[str, Any] | None, stream: Any) -> None:
    """Write the compact review (``review --compact``): newline-delimited JSON.

    The first line is ``{"import": ..., "review": ..., "fields": ..., "references": ...}``
    (``fields``: the order of the values in each array below; ``references``: as the JSON
    review's, H611); then one line per patient, most urgent
    first, with the same fields as the JSON review's patients, except that each flag,
    schedule row, dose check and later result is an array of values instead of an
    object.  Lines are written as they are built."""
    first = {
        "import": import_report,
        "review": rv.header(),
        "fields": compact_fields(),
        "references": references_json(cited_sources(rv)),
    }
    head = json.dumps(first, ensure_ascii=False, default=str)
    stream.write(head.encode() + b"\n")
    for batch in patient_batches(rv, compact=True, line_end="\n"):
        stream.write(_text_bytes(batch))  # each line ends with its own "\n"


def _text_bytes(texts: pa.Array) -> memoryview:
    """The UTF-8 bytes of ``texts`` one after the other: the array's own data, not a copy."""
    offsets = np.frombuffer(texts.buffers()[1], dtype=np.int32, count=len(texts) + 1, offset=texts.offset * 4)
    data = texts.buffers()[2]
    return memoryview(data)[offsets[0] : offsets[-1]] if data is not None else memoryview(b"")


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
    open_grades = [set(x.split(";")) for x in s.column("grades_or_worse").to_pylist()]
    rows = []
    for i, pid in enumerate(cols["patient_id"]):
        # "Platelets 2 or worse" for "<=50" (ctcae.Grades.open), as the flag says
        now = ", ".join(
            f"{labels[a]} {grade_text(g[i], a in open_grades[i])}"
            for a, g in grades.items()
            if g[i] or a in open_grades[i]
        )
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
    # the rows whose sources the text prints, in its order under each patient
    printed = (rv.flags.filter(pc.equal(rv.flags.column("status"), "open")), sched, dc)
    for i, pid in enumerate(cols["patient_id"]):
        block = flag_lines.get(pid)
        more = extra.get(pid)
        other = rv.other_ids.get(pid, [])
        disputed = rv.identity_conflicts.get(pid, [])
        if not (block or more or other or disputed):
            continue
        ended = cols["recent_doses"][i]  # between rituximab infusions: said, as on the Panel (H713)
        doses = "; ".join(t for t in (cols["current_doses"][i], f"recently ended: {ended}" if ended else "") if t)
        lines.append(f"== {who.get(pid, pid)} [{cols['urgency'][i] or 'info'}] {doses or 'no current doses'}")
        # another id that may be this patient, in full (its doses may be there: H150)
        lines += [f"   Another id: {note}." for note in other]
        lines += [f"   Identity conflict: {note}." for note in disputed]
        if block:
            lines.append(block)
        if more:
            lines += more
    lines += sources_lines(_first_printed(printed, s.column("patient_id").combine_chunks()))
    return "\n".join(lines)


def sources_lines(texts: Iterable[object]) -> list[str]:
    """The text review's last block: each reference id the printed sources cite ("CTCAE
    v5.0 [nci_ctcae5]"), in order of first citation, with its citation and URL (H612);
    none when no printed source cites one."""
    refs = references_json(texts)
    if not refs:
        return []
    out = ["", "Sources (the reference ids in square brackets above):"]
    for ref, item in refs.items():
        out += [f"   [{ref}] {item['citation']}", f"      {item['url']}"]
    return out


def _first_printed(tables: Iterable[pa.Table], order: pa.Array) -> list[str]:
    """The distinct sources of ``tables`` (the open flags, overdue schedule rows and open
    dose checks, printed in that order under each patient of ``order``), in the order the
    text first prints each: found per distinct source with numpy, never per row in Python."""
    first: dict[str, tuple[int, int, int]] = {}
    for part, t in enumerate(tables):
        n = t.num_rows
        if not n:
            continue
        rank = pc.index_in(t.column("patient_id"), value_set=order).fill_null(len(order))
        key = rank.to_numpy(zero_copy_only=False).astype(np.int64) * n + np.arange(n)
        coded = pc.fill_null(t.column("source"), "").combine_chunks().dictionary_encode()
        best = np.full(len(coded.dictionary), np.iinfo(np.int64).max)
        np.minimum.at(best, coded.indices.to_numpy(zero_copy_only=False), key)
        for text, b in zip(coded.dictionary.to_pylist(), best.tolist(), strict=True):
            at = (b // n, part, b % n)
            if text and at < first.get(text, (len(order) + 1, 0, 0)):
                first[text] = at
    return sorted(first, key=first.__getitem__)


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
    """Row order of the after-as-of table: highest CTCAE grade first ("2 or worse" before
    a plain 2), then patient and time."""
    g = later.column("ctcae_grade").fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)
    worse = later.column("ctcae_grade_or_worse").fill_null(False).to_numpy(zero_copy_only=False).astype(np.int64)
    return np.lexsort((np.arange(len(g)), -worse, -g))


def after_as_of_text(row: dict[str, Any]) -> str:
    """One result dated after the as-of date, in words."""
    grade = row["ctcae_grade"]
    unit = DISPLAY_UNIT.get(row["unit"], row["unit"])
    text = (
        f"{row['patient_id']}  {row['collected_at']:%Y-%m-%d %H:%M}  {analyte_label(row['analyte'])} "
        f"{row['comparator']}{row['value']:g} {unit} (raw {row['source_value']} {row['source_unit']})"
    )
    open_end = row.get("ctcae_grade_or_worse")
    shown = grade is not None and (grade > 0 or bool(open_end))
    return text + (f" · CTCAE grade {grade_text(grade, open_end)}" if shown else "")


def _identity_labels(rv: Review) -> dict[str, str]:
    """Patient id -> "DOE, Jane · 12-Mar-1980 · MRN 10023456" for the patients whose name
    or date of birth is known (the text review's patient headings)."""
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
