"""Reading a stored import again with today's reader (H641-H646, H648-H652).

The workspace skips a file whose content it holds (:func:`dashboard.store.merge.known`),
so a reader fixed since (three cyclophosphamide pulses stored as one, a "%" neutrophil
count stored as absolute, a child's unitless creatinine) left its old reading in place
(H625).  The workspace keeps each file's SHA-256, not its bytes: the clinician gives the
file again, matched by its content hash, with every other file of its import.

:func:`reread` replaces, in the caller's transaction (all or nothing), what the import's
files contributed by today's reading of them:

* a result (patient, test, draw time, value and comparator: the key the workspace knows
  a result by) or a dose (:data:`~dashboard.ingest.dose_repeats.DOSE_KEY`) that today's
  reading still gives stays as it is, with its import, so a review of it stays attached;
* one it no longer gives is taken out, with the reader's reason (the row's rejection in
  today's report, or what the row reads now), kept in ``lab_unread`` (schema 13) so that
  a review of it says "its result is no longer read from the file: ..." and never vanishes;
* one that another import may hold too (a later import counted results or doses as
  already stored: the workspace does not know which; a dose a clinician or a later import
  changed since) stays as it is, and is listed with why;
* what today's reading gives that is not stored is added by a new import (its files logged
  with status :data:`~dashboard.store.merge.REREAD_STATUS`, its note in its options),
  merged by the rules of any import (corrections, withdrawals, patients' details,
  identity conflicts), dated now: a result nobody has seen reopens the review of a later
  draw as any late result does (H474).

Reading the files (:func:`dashboard.ingest.import_sources`) is the caller's, before the
transaction; a reading that needs a choice (a date order the reader would now ask
about) is never applied: the stored reading stays (:func:`needs_choice`).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from dashboard import model
from dashboard.ingest import ImportOptions, ImportResult
from dashboard.ingest.dose_repeats import DOSE_KEY, dose_key, dose_words
from dashboard.ingest.labs import number_text
from dashboard.ingest.report import SHOWN_VALUE
from dashboard.store import entries, merge
from dashboard.store.connection import Tx, stored_cols
from dashboard.store.errors import WorkspaceError
from dashboard.store.merge import REREAD_STATUS, FileRecord, LogEntry


def _version() -> int:
    """Today's reader version (read where the store records it, so a test can play a later one)."""
    return merge.READER_VERSION


#: The key the workspace knows a result by (the importer's duplicate key).
RESULT_KEY = ("patient_id", "analyte", "collected_at", "value", "comparator")


@dataclass(frozen=True)
class StoredImport:
    """An import a file given again belongs to: its files, options and reader version."""

    import_id: int
    imported_at: dt.datetime
    files: tuple[FileRecord, ...]
    options: ImportOptions
    #: the latest reader version that read its files (None: before versions were recorded)
    read_by: int | None

    def title(self) -> str:
        names = ", ".join(f.name for f in self.files)
        by = (
            "read before reader versions were recorded"
            if self.read_by is None
            else f"read by reader version {self.read_by}"
        )
        return f"import #{self.import_id} ({names}, imported {self.imported_at:%Y-%m-%d %H:%M}, {by})"


def stored_imports(tx: Tx, hashes: set[str]) -> dict[str, StoredImport]:
    """For each content hash the workspace imported: the import that first read it (the one
    :func:`dashboard.store.merge.known` names), with all its files."""
    first = merge.known(tx, hashes)
    out: dict[str, StoredImport] = {}
    by_id: dict[int, StoredImport] = {}
    for h, skip in first.items():
        if skip.import_id is None:
            continue
        if skip.import_id not in by_id:
            files = tx.execute(
                "SELECT file_name, content_hash, size FROM import_files WHERE import_id = ? AND status = 'imported' "
                "ORDER BY rowid",
                [skip.import_id],
            ).fetchall()
            text, at = tx.execute(
                "SELECT options, imported_at FROM imports WHERE import_id = ?", [skip.import_id]
            ).fetchall()[0]
            opts = _options(text)
            read = merge.known(tx, {f[1] for f in files})
            versions = [read[f[1]].read_by for f in files if f[1] in read]
            read_by = (
                None if not versions or any(v is None for v in versions) else min(v for v in versions if v is not None)
            )
            by_id[skip.import_id] = StoredImport(
                skip.import_id, at, tuple(FileRecord(n, c, int(s)) for n, c, s in files), opts, read_by
            )
        out[h] = by_id[skip.import_id]
    return out


def _options(text: str) -> ImportOptions:
    try:
        found = json.loads(text)
    except ValueError:
        return ImportOptions()
    if not isinstance(found, dict):
        return ImportOptions()
    order = found.get("date_order")
    mapping = found.get("mapping") or {}
    return ImportOptions(
        date_order=order if order in ("dayfirst", "monthfirst") else None,
        mapping=dict(mapping) if isinstance(mapping, dict) else {},
    )


def needs_choice(result: ImportResult, target: StoredImport, origin: str = "cli") -> str:
    """Why today's reading of ``target``'s files cannot be applied without a choice ("" when
    it can): a file that now needs a date order or a mapping.  Never guessed: the stored
    reading stays.  The page (``origin`` "app") cannot give the choice: it says the command."""
    needs = result.report.needs
    if not needs:
        return ""
    said = "; ".join(
        f"{f.path}: {'the date order' if f.needs == 'date_order' else 'a column mapping'}"
        + (f" ({f.error})" if f.error else "")
        for f in needs
    )
    how = (
        "Re-read it from the command line with the choice: python -m dashboard workspace import --reread "
        f"--dayfirst (or --monthfirst, or --map SOURCE_COLUMN=FIELD) {' '.join(f.name for f in target.files)}"
        if origin == "app"
        else "Give the choice with the re-read (e.g. --dayfirst or --monthfirst, or --map)"
    )
    return (
        f"{target.title()}: today's reader needs a choice before it can read it ({said}). Nothing was changed: "
        f"the stored reading stays. {how}"
    )


# --------------------------------------------------------------------------- the outcome


@dataclass
class ImportReread:
    """What re-reading one import changed (or would change, in a dry run)."""

    target: StoredImport
    new_import_id: int | None = None
    results_added: list[dict[str, Any]] = field(default_factory=list)
    #: results taken out, each with ``reason``
    results_removed: list[dict[str, Any]] = field(default_factory=list)
    #: (the result as stored, the results of its draw as read now): a removed result whose draw
    #: today's reading gives another value or unit
    results_changed: list[tuple[dict[str, Any], list[dict[str, Any]]]] = field(default_factory=list)
    #: results today's reading no longer gives that stay (another import may hold them), each with ``reason``
    results_kept: list[dict[str, Any]] = field(default_factory=list)
    doses_added: list[dict[str, Any]] = field(default_factory=list)
    doses_removed: list[dict[str, Any]] = field(default_factory=list)
    doses_kept: list[dict[str, Any]] = field(default_factory=list)
    #: (patient id, what changed in words)
    patients_changed: list[tuple[str, str]] = field(default_factory=list)
    #: review entries whose result is no longer read, each with ``reason``
    reviews_unread: list[dict[str, Any]] = field(default_factory=list)
    report_text: str = ""

    @property
    def changed(self) -> bool:
        return bool(
            self.results_added
            or self.results_removed
            or self.results_changed
            or self.doses_added
            or self.doses_removed
            or self.patients_changed
        )

    def lines(self) -> list[str]:
        t = self.target
        head = f"Read again with today's reader (version {_version()}): {t.title()}" + (
            f", stored as import #{self.new_import_id}" if self.new_import_id is not None else ""
        )
        out = [head]

        def section(title: str, rows: Sequence[str]) -> None:
            if rows:
                out.append(f"  {title} ({len(rows)}):")
                out.extend(f"    - {r}" for r in rows)

        section("results added", [result_words(r) for r in self.results_added])
        section(
            "results changed (read now with another value or unit)",
            [
                f"{result_words(old)} -> now {', '.join(_value_words(n) for n in new)}"
                for old, new in self.results_changed
            ],
        )
        section(
            "results removed (no longer read from the file)",
            [f"{result_words(r)}: {r['reason']}" for r in self.results_removed],
        )
        section(
            "results kept as stored although today's reading does not give them",
            [f"{result_words(r)}: {r['reason']}" for r in self.results_kept],
        )
        section("doses added", [_dose_line(d) for d in self.doses_added])
        section(
            "doses removed (no longer read from the file)",
            [f"{_dose_line(d)}: {d['reason']}" for d in self.doses_removed],
        )
        section(
            "doses kept as stored although today's reading does not give them",
            [f"{_dose_line(d)}: {d['reason']}" for d in self.doses_kept],
        )
        section("patients' details", [f"patient {p}: {w}" for p, w in self.patients_changed])
        section(
            "reviews whose result is no longer read (kept in the review log, said so)",
            [
                f"review #{r['review_id']} by {r['reviewer']} on {r['reviewed_at']:%Y-%m-%d} ('{r['action']}', "
                f"{model.analyte_label(r['analyte'])} of {r['collected_at']:%Y-%m-%d %H:%M}): "
                f"its result is no longer read from the file: {r['reason']}"
                for r in self.reviews_unread
            ],
        )
        if len(out) == 1:
            out.append("  nothing reads differently: the stored reading is today's")
        return out

    def to_dict(self) -> dict[str, Any]:
        def plain(r: Mapping[str, Any]) -> dict[str, Any]:
            return {k: (v.isoformat() if isinstance(v, dt.datetime | dt.date) else v) for k, v in r.items()}

        return {
            "import_id": self.target.import_id,
            "files": [f.name for f in self.target.files],
            "read_by": self.target.read_by,
            "reader_version": _version(),
            "new_import_id": self.new_import_id,
            "results_added": [plain(r) for r in self.results_added],
            "results_changed": [
                {"stored": plain(o), "now": [plain(n) for n in new]} for o, new in self.results_changed
            ],
            "results_removed": [plain(r) for r in self.results_removed],
            "results_kept": [plain(r) for r in self.results_kept],
            "doses_added": [plain(r) for r in self.doses_added],
            "doses_removed": [plain(r) for r in self.doses_removed],
            "doses_kept": [plain(r) for r in self.doses_kept],
            "patients_changed": [{"patient_id": p, "change": w} for p, w in self.patients_changed],
            "reviews_no_longer_read": [plain(r) for r in self.reviews_unread],
        }


@dataclass
class Reread:
    """What a re-read of one or more files did: per import, or why nothing was done."""

    imports: list[ImportReread] = field(default_factory=list)
    #: why nothing was changed (a file not in the workspace, a file of the import missing,
    #: a reading that needs a choice)
    problems: list[str] = field(default_factory=list)
    applied: bool = False
    dry_run: bool = False

    def summary(self) -> str:
        if self.problems:
            return "\n".join(
                ["Nothing was read again; the workspace is as it was:", *(f"  {p}" for p in self.problems)]
            )
        lines = [line for i in self.imports for line in i.lines()]
        if self.dry_run:
            lines.append(
                "Dry run: nothing was changed. Apply it with `--reread` without --dry-run (or Apply on the page)."
            )
        elif self.applied:
            lines.append("Applied in one transaction; the earlier reading's import log entries are kept as they were.")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return {
            "applied": self.applied,
            "dry_run": self.dry_run,
            "problems": list(self.problems),
            "imports": [i.to_dict() for i in self.imports],
        }


def result_words(r: Mapping[str, Any]) -> str:
    """A stored result in words: "patient 001: Neutrophils 45 % (1.8 10^9/L) of 2024-03-15 09:00
    (labs.csv row 4, import #1)"."""
    where = f"{r.get('source_file', '')} row {r.get('source_row')}"
    if r.get("import_id") is not None:
        where += f", import #{r['import_id']}"
    return (
        f"patient {str(r['patient_id'])[:100]}: {model.analyte_label(r['analyte'])} {_value_words(r)} of "
        f"{r['collected_at']:%Y-%m-%d %H:%M} ({where})"
    )


def _value_words(r: Mapping[str, Any]) -> str:
    shown = f"{r.get('source_value') or ''} {r.get('source_unit') or ''}".strip()[:SHOWN_VALUE]
    value = r.get("value")
    canonical = (
        f"{r.get('comparator') or ''}{number_text(value)} {model.CANONICAL_UNITS.get(r['analyte'], '')}".strip()
        if value is not None and value == value
        else "no value"
    )
    return canonical if not shown or shown == canonical else f"{shown} (read as {canonical})"


def _dose_line(d: Mapping[str, Any]) -> str:
    route = f" {d['route']}" if d.get("route") else ""
    end = f" to {d['end']:%Y-%m-%d}" if d.get("end") is not None and d["end"] == d["end"] else ""
    start = f"{d['start']:%Y-%m-%d}" if d.get("start") is not None else "no start"
    return (
        f"patient {str(d['patient_id'])[:100]}: {model.drug_label(d['drug'])} {dose_words(d)}{route} from {start}{end} "
        f"({d.get('source_file', '')} row {d.get('source_row')})"
    )


# --------------------------------------------------------------------------- the re-read


def reread(
    tx: Tx,
    now: dt.datetime,
    targets: Sequence[tuple[StoredImport, ImportResult]],
    by: str,
    origin: str,
) -> list[ImportReread]:
    """Replace, in this transaction, each target import's rows by today's reading of its
    files (``ImportResult``, read with the import's own options), and log each re-read as a
    new import by ``by`` from ``origin`` (``cli`` or ``app``); see the module.  Raises on
    failure (the caller's transaction rolls back)."""
    chains = {t.import_id: _chain(tx, t) for t, _ in targets}
    in_run = {i for c in chains.values() for i in c}
    today_labs = {t.import_id: _keys(model.conform("labs", r.labs), RESULT_KEY) for t, r in targets}
    today_doses = {t.import_id: {dose_key(d) for d in model.conform("doses", r.doses).to_pylist()} for t, r in targets}
    out = []
    for target, result in targets:
        others_labs = set().union(*(k for i, k in today_labs.items() if i != target.import_id))
        others_doses = set().union(*(k for i, k in today_doses.items() if i != target.import_id))
        done = _reread_one(
            tx, now, target, result, chains[target.import_id], in_run, others_labs, others_doses, by, origin
        )
        # the new import holds no result of another import read again in this run
        if done.new_import_id is not None:
            in_run.add(done.new_import_id)
        out.append(done)
    return out


def _chain(tx: Tx, target: StoredImport) -> list[int]:
    """The imports whose rows are this import's files' reading: the import and its re-reads."""
    hashes = [f.content_hash for f in target.files]
    rows = tx.execute(
        f"SELECT DISTINCT import_id FROM import_files WHERE content_hash IN ({', '.join('?' for _ in hashes)}) "
        "AND status IN ('imported', ?) AND import_id >= ? ORDER BY import_id",
        [*hashes, REREAD_STATUS, target.import_id],
    ).fetchall()
    return [int(r[0]) for r in rows]


def _keys(t: pa.Table, key: Sequence[str]) -> set[tuple]:
    cols = [t.column(c).to_pylist() for c in key]
    return {tuple(_plain(v) for v in row) for row in zip(*cols, strict=True)} if t.num_rows else set()


def _plain(v: Any) -> Any:
    if isinstance(v, float) and v != v:
        return "nan"
    if v is None:
        return "nan"
    return v


def _result_key(r: Mapping[str, Any]) -> tuple:
    return tuple(_plain(r[c] if c != "comparator" else (r[c] or "")) for c in RESULT_KEY)


def _in(ids: Sequence[int]) -> str:
    return ", ".join(str(int(i)) for i in ids)


def _reread_one(
    tx: Tx,
    now: dt.datetime,
    target: StoredImport,
    result: ImportResult,
    chain: list[int],
    in_run: set[int],
    others_labs: set[tuple],
    others_doses: set[tuple],
    by: str,
    origin: str,
) -> ImportReread:
    out = ImportReread(target)
    report = merge._copy_report(result.report)
    labs = model.conform("labs", result.labs)
    today = _keys(labs, RESULT_KEY)
    # a later import not read again here that counted results (doses) already stored may
    # hold any of this import's: the workspace does not record which, so they stay
    holders = _holders(tx, min(chain), in_run)
    stored = tx.arrow(
        "SELECT patient_id, analyte, collected_at, value, comparator, source_value, source_unit, source_file, "
        f"source_row, import_id FROM labs WHERE import_id IN ({_in(chain)}) "
        "ORDER BY import_id, source_file, source_row, analyte"
    ).to_pylist()
    problems = _problems_by_row(report)
    by_draw: dict[tuple, list[dict[str, Any]]] = {}
    for r in labs.to_pylist():
        by_draw.setdefault((r["patient_id"], r["analyte"], r["collected_at"]), []).append(r)
    gone: list[dict[str, Any]] = []
    for r in stored:
        k = _result_key(r)
        if k in today or k in others_labs:
            continue
        held = next((h for h in holders if h["import_id"] > r["import_id"] and h["labs_duplicate"]), None)
        if held is not None:
            out.results_kept.append({**r, "reason": _held_words(held, "results", held["labs_duplicate"])})
            continue
        now_read = by_draw.get((r["patient_id"], r["analyte"], r["collected_at"]), [])
        r = {**r, "reason": _why_not_read(r, now_read, problems)}
        gone.append(r)
        if now_read:
            out.results_changed.append((r, now_read))
        else:
            out.results_removed.append(r)
    _delete_labs(tx, gone)
    doses_gone = _drop_doses(tx, out, result, chain, holders, others_doses, problems)
    patients_before = _patients(tx, model.conform("patients", result.patients).column("patient_id").to_pylist())
    new_id = int(tx.one("SELECT coalesce(max(import_id), 0) + 1 FROM imports"))
    note = {
        "of": target.import_id,
        "read_by": target.read_by,
        "reader_version": _version(),
        "results_removed": len(gone),  # each in lab_unread, with the reader's reason
        "doses_removed": len(doses_gone),  # each in dose_unread
        # what it counts as already stored outside its chain: the results (doses) of other
        # imports it may hold (its own chain's kept rows are not another import's)
        "labs_outside": _labs_outside(tx, labs, chain),
        "doses_outside": _doses_outside(tx, result, chain),
    }
    log = LogEntry(by, origin, f"re-read of import #{target.import_id}", target.options, None)
    merge.merge_import(
        tx,
        now,
        new_id,
        result,
        target.files,
        log,
        report,
        status=REREAD_STATUS,
        extra_options={"reread": note},
    )
    _store_unread(tx, new_id, gone)
    _insert_dose_unread(tx, new_id, doses_gone)
    out.new_import_id = new_id
    out.results_added = tx.arrow(
        "SELECT patient_id, analyte, collected_at, value, comparator, source_value, source_unit, source_file, "
        "source_row, import_id FROM labs WHERE import_id = ? ORDER BY source_file, source_row, analyte",
        [new_id],
    ).to_pylist()
    out.doses_added = tx.arrow(
        f"SELECT {stored_cols(tx, 'doses')} FROM doses WHERE import_id = ? ORDER BY patient_id, drug, start", [new_id]
    ).to_pylist()
    out.patients_changed = _patients_changed(patients_before, _patients(tx, list(patients_before) or []), result)
    out.reviews_unread = _reviews_of(tx, new_id, gone)
    out.report_text = report.to_text()
    return out


def _holders(tx: Tx, first: int, in_run: set[int]) -> list[dict[str, Any]]:
    """The imports after ``first`` not read again in this run that may hold a result (dose)
    of it: each with the results (doses) it counted as already stored; for a re-read, only
    those outside the chain it re-read (``labs_outside``, ``doses_outside`` in its note)."""
    out = []
    for r in tx.arrow(
        "SELECT import_id, imported_at, labs_duplicate, doses_duplicate, options FROM imports WHERE import_id > ? "
        "ORDER BY import_id",
        [first],
    ).to_pylist():
        if int(r["import_id"]) in in_run:
            continue
        note = _note(r.pop("options"))
        for what in ("labs", "doses"):
            outside = note.get(f"{what}_outside")
            if isinstance(outside, int):
                r[f"{what}_duplicate"] = min(outside, int(r[f"{what}_duplicate"]))
        out.append(r)
    return out


def _note(text: str) -> dict[str, Any]:
    """A re-read's note in its import's options ({} for any other import)."""
    try:
        found = json.loads(text)
    except ValueError:
        return {}
    note = found.get("reread") if isinstance(found, dict) else None
    return note if isinstance(note, dict) else {}


def _labs_outside(tx: Tx, labs: pa.Table, chain: list[int]) -> int:
    """How many of today's results a stored result of another import than ``chain``'s gives."""
    if not labs.num_rows:
        return 0
    tx.con.register("reread_today", labs.select(list(RESULT_KEY)))
    try:
        return int(
            tx.one(
                "SELECT count(*) FROM reread_today t WHERE EXISTS (SELECT 1 FROM labs l WHERE "
                + merge.same_result("l", "t")
                + f" AND l.import_id NOT IN ({_in(chain)}))"
            )
        )
    finally:
        tx.con.unregister("reread_today")


def _doses_outside(tx: Tx, result: ImportResult, chain: list[int]) -> int:
    """How many of today's doses (by DOSE_KEY) a stored dose not of ``chain`` gives (a dose
    entered by hand counts: it is not this chain's)."""
    stored = {
        dose_key(d)
        for d in tx.arrow(
            f"SELECT {stored_cols(tx, 'doses')} FROM doses WHERE import_id IS NULL OR import_id NOT IN ({_in(chain)})"
        ).to_pylist()
    }
    return sum(1 for d in model.conform("doses", result.doses).to_pylist() if dose_key(d) in stored)


def _held_words(held: Mapping[str, Any], what: str, n: int) -> str:
    return (
        f"import #{held['import_id']} of {held['imported_at']:%Y-%m-%d %H:%M} counted {int(n):,} {what} as already "
        "stored and may hold this one too (the workspace does not record which): it stays as stored; read that "
        "import's files again with this one to bring both up to today's reading"
    )


def _problems_by_row(report: Any) -> dict[tuple[str, int], list[Any]]:
    out: dict[tuple[str, int], list[Any]] = {}
    for f in report.files:
        for p in f.problems:
            if p.row is not None:
                out.setdefault((f.path, int(p.row)), []).append(p)
    return out


def _why_not_read(r: Mapping[str, Any], now_read: list[dict[str, Any]], problems: dict) -> str:
    """The reader's reason a stored result is no longer read: what its draw reads now, or its
    row's rejection in today's report, or that today's reading gives no such result."""
    if now_read:
        return "read now as " + ", ".join(_value_words(n) for n in now_read)
    found = problems.get((str(r["source_file"]), int(r["source_row"] or 0)), [])
    mine = [p for p in found if not p.analyte or p.analyte == r["analyte"]] or found
    if mine:
        return f"today's reader rejects {r['source_file']} row {r['source_row']}: {mine[0].message}"
    return f"today's reading of {r['source_file']} gives no such result (row {r['source_row']})"


def _delete_labs(tx: Tx, gone: list[dict[str, Any]]) -> None:
    """Take the results ``gone`` out of labs (each the same result, file, row and import);
    raises, so the transaction rolls back, unless exactly those rows were taken out."""
    if not gone:
        return
    table = pa.table(
        {
            "patient_id": pa.array([r["patient_id"] for r in gone], pa.string()),
            "analyte": pa.array([r["analyte"] for r in gone], pa.string()),
            "collected_at": pa.array([r["collected_at"] for r in gone], pa.timestamp("s")),
            "value": pa.array([r["value"] for r in gone], pa.float64()),
            "comparator": pa.array([r["comparator"] or "" for r in gone], pa.string()),
            "source_file": pa.array([r["source_file"] for r in gone], pa.string()),
            "source_row": pa.array([r["source_row"] for r in gone], pa.int64()),
            "import_id": pa.array([r["import_id"] for r in gone], pa.int64()),
        }
    )
    tx.con.register("reread_gone", table)
    try:
        deleted = tx.execute(
            "DELETE FROM labs l USING reread_gone g WHERE "
            + merge.same_result("l", "g")
            + " AND l.source_file = g.source_file AND l.source_row = g.source_row AND l.import_id = g.import_id"
        ).fetchall()[0][0]
    finally:
        tx.con.unregister("reread_gone")
    if int(deleted) != len(gone):
        raise WorkspaceError(
            f"re-read: {len(gone):,} results were to be taken out of labs but {int(deleted):,} were; nothing was changed"
        )


def _store_unread(tx: Tx, import_id: int, gone: list[dict[str, Any]]) -> None:
    """Keep each result this re-read (import ``import_id``) took out of labs with the
    reader's reason in ``lab_unread`` (schema 13), in the order taken out: the review log
    says a review of it as no longer read (:data:`dashboard.store.entries.REVIEW_LOG`, H643)."""
    if not gone:
        return
    table = pa.table(
        {
            "import_id": pa.array([import_id] * len(gone), pa.int32()),
            "seq": pa.array(range(len(gone)), pa.int32()),
            "patient_id": pa.array([str(r["patient_id"]) for r in gone], pa.string()),
            "analyte": pa.array([str(r["analyte"]) for r in gone], pa.string()),
            "collected_at": pa.array([r["collected_at"] for r in gone], pa.timestamp("us")),
            "value": pa.array([r["value"] for r in gone], pa.float64()),
            "comparator": pa.array([r["comparator"] or "" for r in gone], pa.string()),
            "source_value": pa.array([r["source_value"] or "" for r in gone], pa.string()),
            "source_unit": pa.array([r["source_unit"] or "" for r in gone], pa.string()),
            "source_file": pa.array([r["source_file"] or "" for r in gone], pa.string()),
            "source_row": pa.array([int(r["source_row"] or 0) for r in gone], pa.int64()),
            "stored_import": pa.array([int(r["import_id"]) for r in gone], pa.int32()),
            "reason": pa.array([str(r["reason"]) for r in gone], pa.string()),
        }
    )
    _insert_named(tx, "lab_unread", table)


def _drop_doses(
    tx: Tx,
    out: ImportReread,
    result: ImportResult,
    chain: list[int],
    holders: list[dict[str, Any]],
    others: set[tuple],
    problems: dict,
) -> list[dict[str, Any]]:
    """Take out the import's doses today's reading no longer gives (by DOSE_KEY), unless
    another import may hold them or someone changed them since (a clinician's stop or
    change, an end or start basis a later import recorded: ``dose_edits``)."""
    today = {dose_key(d) for d in model.conform("doses", result.doses).to_pylist()} | others
    stored = tx.arrow(
        f"SELECT dose_id, {stored_cols(tx, 'doses')}, import_id FROM doses WHERE import_id IN ({_in(chain)}) "
        "ORDER BY dose_id"
    ).to_pylist()
    gone = []
    for d in stored:
        if dose_key(d) in today:
            continue
        edits = tx.execute(
            "SELECT action, detail, edited_by, edited_at FROM dose_edits WHERE dose_id = ? ORDER BY edit_id",
            [d["dose_id"]],
        ).fetchall()
        held = next((h for h in holders if h["import_id"] > d["import_id"] and h["doses_duplicate"]), None)
        if edits:
            action, detail, who, when = edits[-1]
            out.doses_kept.append(
                {
                    **d,
                    "reason": f"changed since ('{action}': {detail}, by {who or 'an import'} on {when:%Y-%m-%d}): "
                    "it stays as stored; correct it in the dose record if it is wrong",
                }
            )
        elif held is not None:
            out.doses_kept.append({**d, "reason": _held_words(held, "doses", held["doses_duplicate"])})
        else:
            gone.append({**d, "reason": _why_dose_not_read(d, problems)})
    if gone:
        deleted = tx.execute(f"DELETE FROM doses WHERE dose_id IN ({_in([d['dose_id'] for d in gone])})").fetchall()
        if int(deleted[0][0]) != len(gone):
            raise WorkspaceError(
                f"re-read: {len(gone):,} doses were to be taken out but {int(deleted[0][0]):,} were; nothing was changed"
            )
    out.doses_removed = gone
    return gone


def _why_dose_not_read(d: Mapping[str, Any], problems: dict) -> str:
    """The reader's reason a stored dose is no longer read: its row's rejection in today's
    report, or that today's reading gives no such dose."""
    found = problems.get((str(d["source_file"]), int(d["source_row"] or 0)), [])
    if found:
        return f"today's reader rejects {d['source_file']} row {d['source_row']}: {found[0].message}"
    return f"today's reading of {d['source_file']} gives no such dose (row {d['source_row']})"


def _insert_dose_unread(tx: Tx, import_id: int, rows: Sequence[Mapping[str, Any]]) -> None:
    """Keep each dose this re-read (import ``import_id``) took out of doses with the
    reader's reason in ``dose_unread`` (schema 13), in the order taken out."""
    if not rows:
        return
    text = ("dose_unit", "frequency", "route", "dose_basis", "start_basis", "source_text", "source_file")
    table = pa.table(
        {
            "import_id": pa.array([import_id] * len(rows), pa.int32()),
            "seq": pa.array(range(len(rows)), pa.int32()),
            "dose_id": pa.array([int(r["dose_id"]) for r in rows], pa.int64()),
            "patient_id": pa.array([str(r["patient_id"]) for r in rows], pa.string()),
            "drug": pa.array([str(r["drug"]) for r in rows], pa.string()),
            "start": pa.array([r["start"] for r in rows], pa.timestamp("us")),
            "end": pa.array([r["end"] for r in rows], pa.timestamp("us")),
            "dose": pa.array([r["dose"] for r in rows], pa.float64()),
            **{c: pa.array([str(r.get(c) or "") for r in rows], pa.string()) for c in text},
            "mg_per_day": pa.array([r["mg_per_day"] for r in rows], pa.float64()),
            "mg_per_week": pa.array([r["mg_per_week"] for r in rows], pa.float64()),
            "source_row": pa.array([int(r["source_row"] or 0) for r in rows], pa.int64()),
            "stored_import": pa.array([r["import_id"] for r in rows], pa.int32()),
            "reason": pa.array([str(r["reason"]) for r in rows], pa.string()),
        }
    )
    _insert_named(tx, "dose_unread", table)


def _insert_named(tx: Tx, name: str, table: pa.Table) -> None:
    """Insert ``table`` into the table ``name`` by column name."""
    cols = ", ".join(f'"{c}"' for c in table.column_names)
    tx.con.register("reread_rows", table)
    try:
        tx.execute(f"INSERT INTO {name} ({cols}) SELECT {cols} FROM reread_rows")
    finally:
        tx.con.unregister("reread_rows")


def _patients(tx: Tx, ids: list[str]) -> dict[str, dict[str, Any]]:
    if not ids:
        return {}
    tx.con.register("reread_ids", pa.table({"patient_id": pa.array(ids, pa.string())}))
    try:
        rows = tx.arrow(
            f"SELECT {stored_cols(tx, 'patients')} FROM patients WHERE patient_id IN (SELECT patient_id FROM reread_ids)"
        ).to_pylist()
    finally:
        tx.con.unregister("reread_ids")
    return {r["patient_id"]: r for r in rows}


def _patients_changed(
    before: dict[str, dict[str, Any]], after: dict[str, dict[str, Any]], result: ImportResult
) -> list[tuple[str, str]]:
    out = []
    for pid in model.conform("patients", result.patients).column("patient_id").to_pylist():
        if pid not in before:
            out.append((pid, "added"))
            continue
        old, new = before[pid], after.get(pid, {})
        changed = [
            f"{k} {old[k]} -> {new.get(k)}"
            for k in old
            if k not in ("source_file", "source_row") and not _same(old[k], new.get(k))
        ]
        if changed:
            out.append((pid, "; ".join(changed)))
    return list(dict.fromkeys(out))


def _same(a: Any, b: Any) -> bool:
    return _plain(a) == _plain(b)


def _reviews_of(tx: Tx, import_id: int, gone: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The review entries of the patients of the results this re-read (import ``import_id``)
    took out that the review log now says as no longer read because of it
    (:func:`dashboard.store.entries.review_log`: same draw and value, any value for an entry
    without one, while no stored result gives it), each with the reader's ``reason``."""
    if not gone:
        return []
    patients = sorted({str(g["patient_id"]) for g in gone})
    log = entries.review_log(tx, f"WHERE r.patient_id IN ({', '.join('?' for _ in patients)})", patients).to_pylist()
    return [
        {**{k: e[k] for k in _REVIEW_SAID}, "reason": e["unread_reason"]}
        for e in log
        if e["unread_reason"] is not None and e["unread_import"] == import_id
    ]


#: What the outcome says of a review entry whose result is no longer read.
_REVIEW_SAID = ("review_id", "patient_id", "analyte", "collected_at", "action", "reviewer", "reviewed_at", "value")


__all__ = [
    "DOSE_KEY",
    "RESULT_KEY",
    "ImportReread",
    "Reread",
    "StoredImport",
    "needs_choice",
    "reread",
    "stored_imports",
]
