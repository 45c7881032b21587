"""A large long-format lab export imported in bounded memory (``import --out``).

The in-memory import holds the file's bytes, every cell as text and the candidate
table at once: about 0.35 GB per million results.  For a large plain delimited file
this module streams instead, in blocks of :data:`BLOCK_BYTES`, and gives the same
report and the same rows:

1. the head of the file is read by the ordinary reader (encoding, delimiter, header,
   column mapping), and every reader of a known export is offered the first block;
2. one pass over the date column collects its distinct texts, from which the file's
   date order is decided exactly as for the whole file (the decision only looks at
   distinct texts, in order of first appearance);
3. each block is normalised by the ordinary code (:func:`labs_from_long`) with that
   decision; duplicates and conflicting results are found online from a compact key
   per accepted result (patient code, analyte, time, the value's bits, comparator and
   the packed draw key: about 40 bytes), because "a duplicate of an earlier result" and "not the first of its
   draw" only depend on earlier rows; the block's rows are then written to Parquet.

Anything this path does not reproduce exactly (a file-level note from the reader, a
warning whose count would be split between blocks, % differentials that need the WBC
of the same draw, a corrected result, identity columns, a second file ...) raises :class:`NotStreamable`
before anything is written where the user asked, and the caller imports in memory.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from dashboard import model
from dashboard.ingest import readers
from dashboard.ingest.context import Context, ImportOptions, NeedsChoice, decide_dates
from dashboard.ingest.labs import ACCEPTED, DUPLICATE, LabCandidates, _duplicates_and_clashes, _settle, corrections
from dashboard.ingest.mapping import KIND_FIELDS, map_columns, mapped_twice
from dashboard.ingest.pipeline import (
    _combine_patients,
    _refused_unread,
    _with_identities,
    labs_from_long,
    warn_about_ids,
)
from dashboard.ingest.report import Conversion, FileReport, ImportReport
from dashboard.ingest.tabular import (
    RawTable,
    _any_blank_row,
    _strip,
    header_names,
    header_rows,
    max_rows,
    read_delimited,
    sniff_container,
)

#: From this file size on, ``import --out`` streams (``DASHBOARD_STREAM_BYTES`` overrides).
STREAM_FROM_BYTES = 256 * 1024 * 1024
#: Bytes of text per block.
BLOCK_BYTES = 8 * 1024 * 1024
_HEAD_BYTES = 1024 * 1024
#: Lab fields that need the whole file at once: a separate time column and who the
#: patient is (names, date of birth, sex).  A streamed file may map only the others.
_WHOLE_FILE_FIELDS = frozenset({"collection_time", "name", "family_name", "given_name", "birth_date", "sex"})
_STREAMABLE_FIELDS = frozenset(KIND_FIELDS["labs"]) - _WHOLE_FILE_FIELDS
_INTERNAL = ["_percent", "_rec", "_aidx", "_ok", "_corr", "_wdr"]
_NO_ROWS = pa.table({})
# the draw key packs patient code, analyte and seconds since 1800 into one int64
_PID_BITS, _ANALYTE_BITS, _TIME_BITS = 24, 6, 33
_EPOCH = -5364662400  # 1800-01-01 in seconds since 1970


class NotStreamable(Exception):
    """This file needs the in-memory import; ``reason`` says why in fixed words (never
    a value, id or file name from the file, so it may be logged)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def stream_threshold() -> int:
    try:
        return int(os.environ.get("DASHBOARD_STREAM_BYTES", "") or STREAM_FROM_BYTES)
    except ValueError:
        return STREAM_FROM_BYTES


def wants_streaming(paths: list[str]) -> bool:
    """One large file (not a folder): worth trying the streamed import."""
    if len(paths) != 1:
        return False
    path = Path(paths[0])
    try:
        return path.is_file() and path.stat().st_size >= stream_threshold()
    except OSError:
        return False


@dataclass
class _Keys:
    """The compact keys of the accepted results seen so far (input order)."""

    pid: list[np.ndarray] = field(default_factory=list)
    analyte: list[np.ndarray] = field(default_factory=list)
    time: list[np.ndarray] = field(default_factory=list)
    value: list[np.ndarray] = field(default_factory=list)
    cmp: list[np.ndarray] = field(default_factory=list)
    draw: list[np.ndarray] = field(default_factory=list)
    seen: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))  # sorted distinct draws

    def earlier(self, draws: np.ndarray) -> dict[str, np.ndarray]:
        """The earlier results of these draws (sorted distinct keys), in input order."""
        parts: dict[str, list[np.ndarray]] = {k: [] for k in ("pid", "analyte", "time", "value", "cmp")}
        for i, d in enumerate(self.draw):
            pos = np.clip(np.searchsorted(draws, d), 0, len(draws) - 1)
            hit = draws[pos] == d
            if hit.any():
                for k in parts:
                    parts[k].append(getattr(self, k)[i][hit])
        return {k: np.concatenate(v) if v else np.zeros(0, dtype=np.int64) for k, v in parts.items()}


class _Codes:
    """Global integer codes of texts, in order of first appearance."""

    def __init__(self) -> None:
        self.code: dict[str, int] = {}

    def of(self, col: pa.ChunkedArray | pa.Array) -> np.ndarray:
        arr = col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col
        if not pa.types.is_dictionary(arr.type):
            arr = pc.dictionary_encode(arr)
        lut = np.array([self.code.setdefault(v or "", len(self.code)) for v in arr.dictionary.to_pylist()] or [0])
        return lut[arr.indices.fill_null(0).to_numpy(zero_copy_only=False)]


def import_to_parquet(
    path: str | Path, out: Path, options: ImportOptions | None = None, block_bytes: int | None = None
) -> Streamed:
    """Import one large long-format lab file into ``out`` (labs, doses and patients
    Parquet), block by block; the report is what :func:`import_paths` gives.

    Raises :class:`NotStreamable` (nothing written) when the file needs the in-memory
    import.  The labs table is written under a temporary name: :meth:`Streamed.commit`
    puts the tables in place, :meth:`Streamed.discard` drops it.
    """
    options = options or ImportOptions()
    block_bytes = block_bytes or BLOCK_BYTES
    ctx = Context(options)
    path = Path(path)
    name = path.name
    if _refused_unread(path):
        raise NotStreamable("refused from its first bytes")
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        raise NotStreamable("named as a workbook")
    with path.open("rb") as f:
        head = f.read(_HEAD_BYTES)
    if sniff_container(head) != "text":
        raise NotStreamable("not a delimited text file")
    cut = head.rfind(b"\n")
    if cut <= 0:
        raise NotStreamable("no complete line in the head")
    sample = read_delimited(name, head[: cut + 1])
    if sample.encoding != "UTF-8" or sample.warnings or sample.rejected or sample.preamble:
        raise NotStreamable("the reader has notes about the file")
    if sample.num_rows < 2 or sample.row_numbers[0].as_py() != 2:
        raise NotStreamable("the header is not the first line")
    header = sample.header
    if mapped_twice(header, options.mapping):
        raise NotStreamable("two columns mapped to one field (the whole-file import asks)")
    mapping = map_columns(header, options.mapping)
    if not mapping.ok or mapping.kind != "labs" or mapping.report_dates or not mapping.fields.get("collected_at"):
        raise NotStreamable("not a long lab table with a draw date")
    if set(mapping.fields) - _STREAMABLE_FIELDS:
        raise NotStreamable("columns that need the whole file")
    fields = dict(mapping.fields)
    date_col = fields["collected_at"]
    rep = FileReport(path=name)
    rep.encoding, rep.delimiter = sample.encoding, sample.delimiter

    # pass 1: the date order, from the distinct date texts in order of first appearance
    distinct: list[pa.Array] = []
    rows = 0
    for batch in _batches(path, header, sample.delimiter, block_bytes, [date_col]):
        rows += batch.num_rows
        distinct.append(pc.unique(_strip(batch.column(0))))
    if rows > max_rows():
        raise NotStreamable("over the row limit")
    dates = pc.unique(pa.chunked_array(distinct, pa.string()).combine_chunks()) if distinct else None
    try:
        decision = decide_dates(rep, [dates] if dates is not None else [], ctx)
    except NeedsChoice:
        raise NotStreamable("a choice is needed (the date order)") from None

    # pass 2: block by block
    tmp = out / f".labs.parquet.{os.getpid()}.part"
    out.mkdir(parents=True, exist_ok=True)
    try:
        state = _stream(
            path, header, header_names(sample), sample.delimiter, block_bytes, rep, ctx, mapping, fields, decision, tmp
        )
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    report = _finish(rep, ctx, state, name, options)
    return Streamed(report, out, tmp, state.patients)


@dataclass
class Streamed:
    """A streamed import: its report, and its tables waiting to be put in place."""

    report: ImportReport
    out: Path
    labs_part: Path
    patients: pa.Table

    def commit(self) -> None:
        """Write doses and patients and move the labs table into place."""
        pq.write_table(model.conform("doses", model.empty_table("doses")), self.out / "doses.parquet")
        pq.write_table(self.patients, self.out / "patients.parquet")
        os.replace(self.labs_part, self.out / "labs.parquet")

    def discard(self) -> None:
        self.labs_part.unlink(missing_ok=True)


def _batches(path: Path, header: list[str], delimiter: str, block_bytes: int, columns: list[str] | None = None):
    """Record batches of text cells, exactly as the in-memory fast reader parses them."""
    try:
        reader = pacsv.open_csv(
            path,
            read_options=pacsv.ReadOptions(column_names=header, skip_rows=1, block_size=block_bytes),
            parse_options=pacsv.ParseOptions(delimiter=delimiter, newlines_in_values=True, ignore_empty_lines=False),
            convert_options=pacsv.ConvertOptions(
                column_types={h: pa.string() for h in header},
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
                include_columns=columns or [],
            ),
        )
        yield from reader
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        raise NotStreamable(f"the parser stopped ({type(exc).__name__})") from None


@dataclass
class _State:
    cands: list[LabCandidates] = field(default_factory=list)
    written: int = 0
    patients_seen: dict[str, None] = field(default_factory=dict)  # accepted ids, first appearance
    clashes: int = 0
    clash_rows: list[dict[str, Any]] = field(default_factory=list)
    units: dict[str, int] = field(default_factory=dict)  # unit texts, first appearance
    conversions: dict[tuple[str, str, str], int] = field(default_factory=dict)
    patients: pa.Table | None = None


def _stream(path, header, names, delimiter, block_bytes, rep, ctx, mapping, fields, decision, tmp) -> _State:
    state = _State()
    keys = _Keys()
    pids, cmps = _Codes(), _Codes()
    notes = len(mapping.notes)
    first_row = 2
    writer = pq.ParquetWriter(tmp, model.schema("labs"))
    try:
        for i, batch in enumerate(_batches(path, header, delimiter, block_bytes)):
            n = batch.num_rows
            if not n:
                continue
            columns = {h: _strip(batch.column(h)) for h in header}
            if _any_blank_row(columns) or _has_nul_or_header(columns, names):
                raise NotStreamable("blank, binary or repeated-header rows")
            raw = RawTable(
                rep.path,
                header,
                columns,
                pa.array(np.arange(first_row, first_row + n, dtype=np.int64)),
                encoding=rep.encoding,
                delimiter=delimiter,
            )
            first_row += n
            part = FileReport(path=rep.path, encoding=rep.encoding, delimiter=delimiter)
            if i == 0 and readers.is_known_export(raw, mapped=mapping.ok):
                raise NotStreamable("a known export's own reader")
            part.columns_found = list(header)
            for note in mapping.notes:
                part.warn(note, column=fields.get("collected_at"))
            part.mapping = dict(fields)
            part.unmapped_columns = mapping.unmapped
            parsed = labs_from_long(
                raw, part, ctx, fields, fmt="labs (long)", decision=decision, date_checks=mapping.date_checks
            )
            cands = parsed.labs
            if cands is None:
                raise NotStreamable("a block without lab results")
            if parsed.identities or part.warnings[notes:] or cands.extra_rejected:
                raise NotStreamable("a warning that counts over the whole file")
            if i == 0:
                _adopt(rep, part)
            elif (part.decimal, part.format) != (rep.decimal, rep.format):
                raise NotStreamable("blocks read differently")
            t = cands.table
            ok = t.column("_ok").to_numpy(zero_copy_only=False)
            if (t.column("_percent").to_numpy(zero_copy_only=False) & ok).any():
                raise NotStreamable("% differentials")
            if corrections(t.column("_corr")).any():  # one not imported still voids its draw (H132)
                raise NotStreamable("corrected results (one may replace a result of an earlier block)")
            if cands.ref_by_sex is not None:  # resolved against the patients, after every file (H130)
                raise NotStreamable("reference ranges given per sex")
            for u in pc.unique(t.column("source_unit").combine_chunks().dictionary).to_pylist():
                state.units.setdefault(u, len(state.units))
            for c in part.conversions:
                k = (c.analyte, c.from_unit, c.to_unit)
                state.conversions[k] = state.conversions.get(k, 0) + c.count
            dup = _online_duplicates(t, ok, keys, pids, cmps, state)
            keep = ok.copy()
            keep[np.flatnonzero(ok)[dup]] = False
            cands.status[np.flatnonzero(ok)[dup]] = DUPLICATE
            final = model.filter_rows(t.drop_columns(_INTERNAL), keep)
            for pid in pc.unique(final.column("patient_id").combine_chunks().cast(pa.string())).to_pylist():
                state.patients_seen.setdefault(pid, None)
            writer.write_table(model.conform("labs", final))
            state.written += final.num_rows
            cands.table = _NO_ROWS  # (a slice would keep the block's buffers alive)
            state.cands.append(cands)
    finally:
        writer.close()
    return state


def _has_nul_or_header(columns: dict[str, pa.Array], names: list[str]) -> bool:
    """A row holding a NUL byte, or a row repeating the header in any column order (the
    whole-file import settles both: tabular.reject_nul_rows, tabular.drop_repeated_headers)."""
    if len(header_rows(list(columns.values()), names)):
        return True
    return any(pc.any(pc.match_substring(a, "\x00")).as_py() for a in columns.values())


def _adopt(rep: FileReport, part: FileReport) -> None:
    """The file-level fields of the first block's report."""
    for k in ("format", "kind", "decimal", "columns_found", "mapping", "unmapped_columns", "warnings"):
        setattr(rep, k, getattr(part, k))


def _online_duplicates(
    t: pa.Table, ok: np.ndarray, keys: _Keys, pids: _Codes, cmps: _Codes, state: _State
) -> np.ndarray:
    """Per accepted row of the block: a duplicate of an earlier result; conflicts counted
    (the first 20 kept for the warning)."""
    rows = np.flatnonzero(ok)
    acc = t.take(pa.array(rows)) if len(rows) < t.num_rows else t
    pid = pids.of(acc.column("patient_id")).astype(np.int64)
    cmp_ = cmps.of(acc.column("comparator")).astype(np.int64)
    ana = acc.column("_aidx").combine_chunks().to_numpy(zero_copy_only=False).astype(np.int64)
    time = pc.fill_null(acc.column("collected_at").combine_chunks().cast(pa.int64()), 0).to_numpy(zero_copy_only=False)
    value = np.ascontiguousarray(acc.column("value").combine_chunks().to_numpy(zero_copy_only=False)).view(np.int64)
    shifted = time - _EPOCH
    if len(rows) and (
        pid.max() >= 1 << _PID_BITS
        or ana.max() >= 1 << _ANALYTE_BITS
        or shifted.min() < 0
        or shifted.max() >= 1 << _TIME_BITS
    ):
        raise NotStreamable("keys out of the packed range")
    draw = (pid << (_ANALYTE_BITS + _TIME_BITS)) | (ana << _TIME_BITS) | shifted
    n = len(rows)
    dup = np.zeros(n, dtype=bool)
    if n:
        before = before_sorted(draw, keys.seen)
        distinct = _sorted_distinct(draw)
        if before.any() or len(distinct) < n:
            old = keys.earlier(_sorted_distinct(draw[before])) if before.any() else None
            m = len(old["pid"]) if old else 0
            both = {
                "pid": np.concatenate([old["pid"], pid]) if old else pid,
                "analyte": np.concatenate([old["analyte"], ana]) if old else ana,
                "time": np.concatenate([old["time"], time]) if old else time,
                "value": np.concatenate([old["value"], value]) if old else value,
                "cmp": np.concatenate([old["cmp"], cmp_]) if old else cmp_,
            }
            d_all, c_all, _ = _duplicates_and_clashes(both)  # no corrections: refused below
            dup = d_all[m:]
            clash = np.flatnonzero(c_all[m:])
            if len(clash):
                state.clashes += len(clash)
                room = 20 - len(state.clash_rows)
                if room > 0:
                    shown = acc.select(["patient_id", "analyte", "collected_at"]).take(pa.array(clash[:room]))
                    state.clash_rows.extend(shown.to_pylist())
        keys.pid.append(pid.astype(np.int32))
        keys.analyte.append(ana.astype(np.int8))
        keys.time.append(time)
        keys.value.append(value)
        keys.cmp.append(cmp_.astype(np.int16))
        keys.draw.append(draw)
        fresh = distinct[~before_sorted(distinct, keys.seen)]
        # two sorted runs: the stable sort merges them in one pass
        keys.seen = np.sort(np.concatenate([keys.seen, fresh]), kind="stable")
    return dup


def before_sorted(values: np.ndarray, sorted_keys: np.ndarray) -> np.ndarray:
    """Per value: present in ``sorted_keys`` (sorted, distinct)."""
    if not len(sorted_keys):
        return np.zeros(len(values), dtype=bool)
    pos = np.minimum(np.searchsorted(sorted_keys, values), len(sorted_keys) - 1)
    return sorted_keys[pos] == values


def _sorted_distinct(values: np.ndarray) -> np.ndarray:
    """The distinct values, sorted (a sort: numpy's hashing unique is far slower on int64)."""
    s = np.sort(values)
    return s[np.r_[True, s[1:] != s[:-1]]] if len(s) else s


def _finish(rep: FileReport, ctx: Context, state: _State, name: str, options: ImportOptions) -> ImportReport:
    """Settle the counts and the file-level warnings as the in-memory import does."""
    for row in state.clash_rows:
        rep.warn(
            f"patient {row['patient_id']}: different {model.analyte_label(row['analyte'])} results at the same "
            f"time {row['collected_at']}; both are kept - check the source"
        )
    if state.clashes > 20:
        rep.warn(f"{state.clashes - 20} more results clash with another at the same time")
    index = {a: i for i, a in enumerate(model.ANALYTES)}
    order = sorted(state.conversions, key=lambda k: (index.get(k[0], len(index)), state.units.get(_unit_of(k), 0)))
    rep.conversions = [Conversion(a, u, to, state.conversions[(a, u, to)]) for a, u, to in order]
    merged = LabCandidates(
        rep,
        pa.table({}),
        np.concatenate([c.status for c in state.cands]) if state.cands else np.zeros(0, dtype=np.int8),
        np.concatenate([c.rows for c in state.cands]) if state.cands else np.zeros(0, dtype=np.int64),
        [p for c in state.cands for p in c.problems],
    )
    state.cands = []
    _settle(merged)
    ids = pa.array(list(state.patients_seen), pa.string())
    labs_ids = pa.table({"patient_id": ids, "source_file": pa.array([name] * len(ids), pa.string())})
    doses = model.empty_table("doses")
    patients, conflicts = _combine_patients([], labs_ids, doses, ctx)
    patients = _with_identities(patients, [], conflicts)
    report = ImportReport(files=[rep], identity_conflicts=conflicts)
    warn_about_ids(report, [labs_ids, doses, patients])
    unknown = sorted(set(options.mapping) - (set(rep.mapping.values()) | set(rep.columns_found)))
    if unknown:
        rep.warn(f"--map names column(s) not found in any file: {', '.join(unknown)}")
    report.labs = state.written
    report.doses = 0
    report.patients = patients.num_rows
    state.patients = model.conform("patients", patients)
    assert int((merged.status == ACCEPTED).sum()) == state.written
    return report


def _unit_of(key: tuple[str, str, str]) -> str:
    return "" if key[1] == "(no unit)" else key[1]
