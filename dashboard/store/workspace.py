"""The workspace: an embedded DuckDB database in a folder, shared safely.

Every operation opens its own short-lived connection under the workspace lock
(:mod:`dashboard.store.lock`): writers one at a time and alone, readers together.
Each write is one transaction, so a crash or a kill mid-import leaves the previous
state (DuckDB discards an uncommitted transaction when it replays its log), and a
reader never sees half of an import.

Imports are idempotent: a file whose content hash is already in the import log is
skipped ("already imported on ..."), and results already stored (same patient,
analyte, collection time, value and comparator, the importer's own duplicate key)
are counted as duplicates in the stored import report instead of being added again.
"""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
import json
import math
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb
import pandas as pd
import pyarrow as pa

from dashboard import dose_entry, model
from dashboard.identity import IdentityConflict, identity_value
from dashboard.ingest import FileReport, ImportOptions, ImportReport, ImportResult, Source, import_sources
from dashboard.patient_merge import merge_details
from dashboard.reviews import COLUMNS as REVIEW_COLUMNS
from dashboard.reviews import validate as validate_review
from dashboard.store.lock import WorkspaceBusy, WorkspaceLock
from dashboard.store.schema import MIGRATIONS, check_append_only, latest_version

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from dashboard.dose_entry import DoseEntry, Validation
    from dashboard.reviews import Review

DB_NAME = "workspace.duckdb"
LOCK_NAME = "workspace.lock"

#: Columns that identify a dose across imports (the end may be filled in later).
DOSE_KEY = ("patient_id", "drug", "start", "dose", "dose_unit", "frequency", "route")


class WorkspaceError(Exception):
    """The workspace cannot be used (newer schema, not a workspace, bad entry)."""


class EntryRejected(WorkspaceError):
    """An entered dose or review did not pass validation (or has unconfirmed warnings)."""

    def __init__(self, errors: list[str], warnings: list[str] | None = None) -> None:
        self.errors = errors
        self.warnings = warnings or []
        super().__init__("; ".join(errors or self.warnings))


@dataclass(frozen=True)
class FileRecord:
    """A file as the import log keeps it."""

    name: str
    content_hash: str
    size: int

    @classmethod
    def of(cls, source: Source) -> FileRecord:
        return cls(Path(source.name).name, hashlib.sha256(source.data).hexdigest(), len(source.data))


@dataclass(frozen=True)
class Skipped:
    """A file not imported again: the same content is already in the workspace."""

    name: str
    import_id: int
    imported_at: dt.datetime
    first_name: str

    def message(self) -> str:
        same = "" if self.first_name == self.name else f" (as {self.first_name})"
        return (
            f"{self.name}: already imported on {self.imported_at:%Y-%m-%d %H:%M}{same}, "
            f"import #{self.import_id}; nothing changed"
        )


@dataclass
class WorkspaceImport:
    """What one import did to the workspace."""

    import_id: int | None = None
    report: ImportReport | None = None
    skipped: list[Skipped] = field(default_factory=list)
    stored: bool = False
    labs_added: int = 0
    labs_duplicate: int = 0
    doses_added: int = 0
    doses_duplicate: int = 0
    patients_added: int = 0
    patients_updated: int = 0

    @property
    def changed(self) -> bool:
        return self.stored

    def summary(self) -> str:
        lines = [s.message() for s in self.skipped]
        if self.stored:
            lines.append(
                f"Workspace import #{self.import_id}: added {self.labs_added:,} results, {self.doses_added:,} doses, "
                f"{self.patients_added:,} patients (updated {self.patients_updated:,}); "
                f"already in the workspace: {self.labs_duplicate:,} results, {self.doses_duplicate:,} doses."
            )
        elif not self.skipped:
            lines.append("Nothing was stored in the workspace.")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return {
            "import_id": self.import_id,
            "stored": self.stored,
            "skipped": [
                {
                    "file": s.name,
                    "import_id": s.import_id,
                    "imported_at": s.imported_at.isoformat(),
                    "message": s.message(),
                }
                for s in self.skipped
            ],
            "labs_added": self.labs_added,
            "labs_duplicate": self.labs_duplicate,
            "doses_added": self.doses_added,
            "doses_duplicate": self.doses_duplicate,
            "patients_added": self.patients_added,
            "patients_updated": self.patients_updated,
            "report": self.report.to_dict() if self.report else None,
        }


@dataclass
class StoredPanel:
    """The canonical tables of the workspace (Arrow, model schemas)."""

    labs: pa.Table
    doses: pa.Table
    patients: pa.Table
    baselines: pa.Table
    extract_date: dt.date | None
    data_version: int
    doses_provenance: pa.Table  # the doses with dose_id, import_id, entered_by, entered_at, note
    reviews: pa.Table | None  # the review log, oldest first
    intervals: pa.Table | None = None  # clinician-set monitoring intervals, oldest first


class Tx:
    """A connection inside one write transaction; every statement is checked."""

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self.con = con

    def execute(self, sql: str, params: Sequence[Any] | None = None) -> duckdb.DuckDBPyConnection:
        check_append_only(sql)
        return self.con.execute(sql, params) if params is not None else self.con.execute(sql)

    def one(self, sql: str, params: Sequence[Any] | None = None) -> Any:
        rows = self.execute(sql, params).fetchall()
        return rows[0][0] if rows else None

    def arrow(self, sql: str, params: Sequence[Any] | None = None) -> pa.Table:
        check_append_only(sql)
        return self.con.sql(sql, params=list(params) if params else None).to_arrow_table()


def _now() -> dt.datetime:
    return dt.datetime.now().replace(microsecond=0)


class Workspace:
    """A workspace folder.  Cheap to create: nothing is opened until an operation."""

    def __init__(self, path: str | Path, timeout: float = 30.0, clock: Callable[[], dt.datetime] = _now) -> None:
        self.path = Path(path)
        self.db_path = self.path / DB_NAME
        self.lock_path = self.path / LOCK_NAME
        self.timeout = timeout
        self.clock = clock

    def __repr__(self) -> str:
        return f"Workspace({str(self.path)!r})"

    def exists(self) -> bool:
        return self.db_path.is_file()

    # ----------------------------------------------------------------- connections

    @contextmanager
    def _write(self) -> Iterator[Tx]:
        """One write transaction, alone: committed when the block ends without error."""
        self.path.mkdir(parents=True, exist_ok=True)
        with WorkspaceLock(self.lock_path, exclusive=True, timeout=self.timeout):
            con = _connect(self.db_path, read_only=False)
            try:
                con.execute("BEGIN TRANSACTION")
                tx = Tx(con)
                try:
                    _migrate(tx, self.clock())
                    yield tx
                except BaseException:
                    con.execute("ROLLBACK")
                    raise
                con.execute("COMMIT")
            finally:
                con.close()

    @contextmanager
    def _read(self) -> Iterator[Tx]:
        """A read-only connection, shared with other readers, never during a write."""
        for attempt in range(2):
            with WorkspaceLock(self.lock_path, exclusive=False, timeout=self.timeout):
                con = _connect(self.db_path, read_only=True)
                try:
                    version = _version(con)
                    if version > latest_version():
                        raise WorkspaceError(
                            f"this workspace was written by a newer version of the dashboard (schema {version}, "
                            f"this version knows up to {latest_version()}): update the dashboard"
                        )
                    if version == latest_version() or attempt:
                        yield Tx(con)
                        return
                finally:
                    con.close()
            with self._write():  # bring an older workspace up to date, then read
                pass

    def create(self) -> None:
        """Create the folder and the database (or migrate an existing one)."""
        with self._write():
            pass

    # ----------------------------------------------------------------- reading

    def info(self) -> dict[str, Any]:
        """Counts of what the workspace holds (zeros when it does not exist yet)."""
        base: dict[str, Any] = {"path": str(self.path), "exists": self.exists()}
        counts = dict.fromkeys(("patients", "labs", "doses", "doses_entered", "imports", "reviews"), 0)
        if not self.exists():
            return {**base, **counts, "schema_version": None, "last_import": None, "data_version": 0}
        with self._read() as tx:
            for name, sql in (
                ("patients", "SELECT count(*) FROM patients"),
                ("labs", "SELECT count(*) FROM labs"),
                ("doses", "SELECT count(*) FROM doses"),
                ("doses_entered", "SELECT count(*) FROM doses WHERE import_id IS NULL"),
                ("imports", "SELECT count(*) FROM imports"),
                ("reviews", "SELECT count(*) FROM reviews"),
            ):
                counts[name] = int(tx.one(sql))
            last = tx.one("SELECT max(imported_at) FROM imports")
            return {
                **base,
                **counts,
                "schema_version": _version(tx.con),
                "last_import": last.isoformat() if last else None,
                "data_version": _data_version(tx),
            }

    def data_version(self) -> int:
        """A counter that changes whenever the workspace's data change (for caches)."""
        if not self.exists():
            return 0
        with self._read() as tx:
            return _data_version(tx)

    def load(self) -> StoredPanel:
        """Every table the panel needs, as one consistent snapshot (one connection)."""
        if not self.exists():
            empty = model.empty_table
            return StoredPanel(
                empty("labs"),
                empty("doses"),
                empty("patients"),
                empty("baselines"),
                None,
                0,
                _empty_doses(),
                None,
                empty("intervals"),
            )
        with self._read() as tx:
            tables = {
                t: model.conform(t, tx.con.sql(f"SELECT {_cols(t)} FROM {t} {_ORDER[t]}").to_arrow_table())
                for t in model.TABLES
            }
            extract = tx.one("SELECT max(extract_date) FROM imports")
            return StoredPanel(
                tables["labs"],
                tables["doses"],
                tables["patients"],
                tables["baselines"],
                extract,
                _data_version(tx),
                _doses(tx, None),
                tx.arrow("SELECT * FROM reviews ORDER BY review_id"),
                tables["intervals"],
            )

    # ----------------------------------------------------------------- monitoring intervals

    def set_interval(self, patient_id: str, days: int, reason: str, *, by: str) -> None:
        """Record a patient's risk-adapted monitoring interval (0 = back to the schedule's).

        Append-only, like the review log: the latest row is in force, and the history of
        who changed it, when and why stays."""
        problems = []
        if not patient_id.strip():
            problems.append("a patient is needed")
        if not by.strip():
            problems.append("say who sets the interval")
        if days < 0 or days > 366:
            problems.append("the interval must be 0 (clear) to 366 days")
        if days and not reason.strip():
            problems.append("say why (the risk factors reviewed)")
        if problems:
            raise EntryRejected(problems)
        with self._write() as tx:
            tx.execute(
                "INSERT INTO intervals VALUES (?, ?, ?, ?, ?)",
                [patient_id, int(days), reason.strip(), by.strip(), self.clock().replace(microsecond=0)],
            )
            _bump(tx)

    def intervals(self, patient_id: str | None = None) -> pa.Table:
        """The interval history (all patients, or one), oldest first."""
        where, params = ("WHERE patient_id = ?", [patient_id]) if patient_id else ("", [])
        with self._read() as tx:
            t = tx.arrow(f"SELECT {_cols('intervals')} FROM intervals {where} ORDER BY set_at", params)
            return model.conform("intervals", t)

    def doses(self, patient_id: str | None = None) -> pa.Table:
        """Dose rows with provenance (dose_id, import_id, entered_by, entered_at, note)."""
        if not self.exists():
            return _empty_doses()
        with self._read() as tx:
            return _doses(tx, patient_id)

    def dose_edits(self, patient_id: str | None = None) -> pa.Table:
        if not self.exists():
            return pa.table({})
        where, params = ("WHERE patient_id = ?", [patient_id]) if patient_id is not None else ("", [])
        with self._read() as tx:
            return tx.arrow(f"SELECT * FROM dose_edits {where} ORDER BY edit_id", params)

    def reviews(self, patient_id: str | None = None) -> pa.Table:
        """The review log (every entry, oldest first)."""
        if not self.exists():
            return pa.table({c: pa.array([], pa.string()) for c in REVIEW_COLUMNS})
        where, params = ("WHERE patient_id = ?", [patient_id]) if patient_id is not None else ("", [])
        with self._read() as tx:
            return tx.arrow(f"SELECT * FROM reviews {where} ORDER BY review_id", params)

    def imports(self) -> list[dict[str, Any]]:
        """The import log, newest first, each with its files and its report (dict)."""
        if not self.exists():
            return []
        with self._read() as tx:
            rows = tx.arrow("SELECT * FROM imports ORDER BY import_id DESC").to_pylist()
            files = tx.arrow("SELECT * FROM import_files ORDER BY import_id, file_name").to_pylist()
        by_import: dict[int, list[dict[str, Any]]] = {}
        for f in files:
            by_import.setdefault(f["import_id"], []).append(f)
        for r in rows:
            r["files"] = by_import.get(r["import_id"], [])
            r["report"] = json.loads(r["report"])
            r["options"] = json.loads(r["options"])
        return rows

    def known_files(self, hashes: set[str]) -> dict[str, Skipped]:
        """Content hashes already imported: hash -> where (first import)."""
        if not self.exists() or not hashes:
            return {}
        with self._read() as tx:
            return _known(tx, hashes)

    # ----------------------------------------------------------------- importing

    def import_sources(
        self,
        sources: Sequence[Source],
        options: ImportOptions | None = None,
        *,
        by: str,
        origin: str = "cli",
        label: str = "",
        missing: Sequence[FileReport] = (),
    ) -> WorkspaceImport:
        """Import files into the workspace, skipping files already imported.

        The files are read before the workspace is locked; nothing is stored when a file
        needs a choice (date order, mapping): the returned report says which.
        """
        records = [FileRecord.of(s) for s in sources]
        known = self.known_files({r.content_hash for r in records})
        skipped = [
            Skipped(
                r.name, known[r.content_hash].import_id, known[r.content_hash].imported_at, known[r.content_hash].name
            )
            for r in records
            if r.content_hash in known
        ]
        fresh = [(s, r) for s, r in zip(sources, records, strict=True) if r.content_hash not in known]
        unique: dict[str, tuple[Source, FileRecord]] = {}  # the same file twice in one import: the first
        for s, r in fresh:
            unique.setdefault(r.content_hash, (s, r))
        fresh = list(unique.values())
        if not fresh:
            return WorkspaceImport(skipped=skipped, report=ImportReport(files=list(missing)) if missing else None)
        result = import_sources([s for s, _ in fresh], options)
        result.report.files = list(missing) + result.report.files
        if result.report.needs or not result.report.anything_read:
            return WorkspaceImport(report=result.report, skipped=skipped)
        out = self.save_result(
            result,
            [r for _, r in fresh],
            by=by,
            origin=origin,
            label=label or ", ".join(r.name for _, r in fresh),
            options=options,
        )
        out.skipped = skipped + out.skipped
        return out

    def save_result(
        self,
        result: ImportResult,
        files: Sequence[FileRecord],
        *,
        by: str,
        origin: str,
        label: str,
        options: ImportOptions | None = None,
        extract_date: dt.date | None = None,
    ) -> WorkspaceImport:
        """Store an import's tables (one transaction), counting what was already there."""
        report = _copy_report(result.report)
        with self._write() as tx:
            known = _known(tx, {f.content_hash for f in files})
            if files and all(f.content_hash in known for f in files):
                return WorkspaceImport(
                    skipped=[
                        Skipped(
                            f.name,
                            known[f.content_hash].import_id,
                            known[f.content_hash].imported_at,
                            known[f.content_hash].name,
                        )
                        for f in files
                    ]
                )
            now = self.clock()
            import_id = int(tx.one("SELECT coalesce(max(import_id), 0) + 1 FROM imports"))
            out = WorkspaceImport(import_id=import_id, report=report, stored=True)
            _store_labs(tx, result.labs, import_id, report, out)
            _store_patients(tx, result.patients, import_id, now, report, out)
            _store_doses(tx, result.doses, import_id, now, by, report, out)
            report.labs, report.doses, report.patients = out.labs_added, out.doses_added, out.patients_added
            opts = options or ImportOptions()
            tx.execute(
                "INSERT INTO imports VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    import_id,
                    now,
                    by,
                    origin,
                    label[:500],
                    json.dumps({"date_order": opts.date_order, "mapping": opts.mapping}),
                    report.to_json(indent=None),
                    out.labs_added,
                    out.labs_duplicate,
                    out.doses_added,
                    out.doses_duplicate,
                    out.patients_added,
                    out.patients_updated,
                    extract_date,
                ],
            )
            unreadable = {f.path for f in report.files if f.error and not f.rows_accepted and f.kind != "dictionary"}
            for f in files:
                status = "unreadable" if f.name in unreadable else "imported"
                tx.execute(
                    "INSERT INTO import_files VALUES (?, ?, ?, ?, ?)",
                    [import_id, f.name, f.content_hash, f.size, status],
                )
            _bump(tx)
            return out

    # ----------------------------------------------------------------- doses

    def add_dose(self, entry: DoseEntry, *, by: str, confirmed: bool = False) -> int:
        """Store a dose entered in the app; returns its dose_id."""
        with self._write() as tx:
            existing = _patient_doses(tx, entry.patient_id)
            v = dose_entry.validate(entry, existing)
            _require(v, confirmed, by)
            now = self.clock()
            dose_id = _insert_entered(tx, dose_entry.to_row(entry), by, now, entry.note)
            _edit(tx, dose_id, entry.patient_id, "add", _describe(dose_entry.to_row(entry)), entry.note, by, now)
            _bump(tx)
            return dose_id

    def change_dose(
        self,
        dose_id: int,
        on: dt.date,
        dose: float,
        frequency: str = "",
        *,
        by: str,
        note: str = "",
        confirmed: bool = False,
    ) -> int:
        """End dose ``dose_id`` on ``on`` and start the new dose that day; returns the new id."""
        with self._write() as tx:
            current = _dose_row(tx, dose_id)
            errors = dose_entry.validate_change(current, on, "change")
            entry = dose_entry.changed_entry(current, on, dose, frequency, note)
            existing = _patient_doses(tx, entry.patient_id)
            v = dose_entry.validate(entry, existing, ignore_dose_id=dose_id)
            v.errors = errors + v.errors
            _require(v, confirmed, by)
            now = self.clock()
            old_end = current["end"]
            tx.execute('UPDATE doses SET "end" = ? WHERE dose_id = ?', [_midnight(on), dose_id])
            new_id = _insert_entered(tx, dose_entry.to_row(entry), by, now, note)
            before = _describe(current.to_dict())
            _edit(
                tx,
                dose_id,
                entry.patient_id,
                "change",
                f"{before} ended on {on} (was {'ongoing' if _isnat(old_end) else f'to {old_end:%Y-%m-%d}'}); "
                f"replaced by dose #{new_id}: {_describe(dose_entry.to_row(entry))}",
                note,
                by,
                now,
            )
            _bump(tx)
            return new_id

    def stop_dose(self, dose_id: int, on: dt.date, *, by: str, note: str = "") -> None:
        """End dose ``dose_id`` on ``on``."""
        with self._write() as tx:
            current = _dose_row(tx, dose_id)
            errors = dose_entry.validate_change(current, on, "stop")
            if not by.strip():
                errors.append("enter your name")
            if errors:
                raise EntryRejected(errors)
            old_end = current["end"]
            tx.execute('UPDATE doses SET "end" = ? WHERE dose_id = ?', [_midnight(on), dose_id])
            was = "ongoing" if _isnat(old_end) else f"to {old_end:%Y-%m-%d}"
            _edit(
                tx,
                dose_id,
                str(current["patient_id"]),
                "stop",
                f"{_describe(current.to_dict())} stopped on {on} (was {was})",
                note,
                by,
                self.clock(),
            )
            _bump(tx)

    # ----------------------------------------------------------------- reviews

    def add_review(self, review: Review, *, by: str) -> int:
        """Append a review to the log; returns its review_id."""
        return self.add_reviews([review], by=by)[0]

    def add_reviews(self, reviews: Sequence[Review], *, by: str) -> list[int]:
        """Append several reviews in one transaction (all or none); returns their ids.

        One click that acknowledges a patient's open flags writes one entry per flag.
        """
        errors = sorted({e for r in reviews for e in validate_review(r, by)})
        if errors or not reviews:
            raise EntryRejected(errors or ["nothing to record"])
        with self._write() as tx:
            ids: list[int] = []
            now = self.clock()
            for review in reviews:
                if review.corrects is not None:
                    target = tx.one("SELECT patient_id FROM reviews WHERE review_id = ?", [review.corrects])
                    if target != review.patient_id:
                        raise EntryRejected(
                            [f"review #{review.corrects} is not a review of patient {review.patient_id}"]
                        )
                review_id = int(tx.one("SELECT coalesce(max(review_id), 0) + 1 FROM reviews"))
                tx.execute(
                    "INSERT INTO reviews VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [
                        review_id,
                        review.patient_id,
                        review.flag_key,
                        review.rule_id,
                        review.analyte,
                        review.collected_at,
                        review.action,
                        review.note.strip(),
                        by.strip(),
                        now,
                        review.corrects,
                    ],
                )
                ids.append(review_id)
            _bump(tx)
            return ids


# --------------------------------------------------------------------------- helpers


_ORDER = {
    "labs": "",  # insertion order: sorting a million results costs a second on reopening
    "doses": "ORDER BY patient_id, drug, start",
    "patients": "ORDER BY patient_id",
    "baselines": "ORDER BY patient_id, analyte",
    "intervals": "ORDER BY patient_id, set_at",
}


def _cols(table: str) -> str:
    return ", ".join(f'"{c}"' for c in model.columns(table))


def _connect(path: Path, read_only: bool) -> duckdb.DuckDBPyConnection:
    try:
        return duckdb.connect(str(path), read_only=read_only)
    except duckdb.IOException as exc:
        if "lock" in str(exc).lower():
            raise WorkspaceBusy(f"the workspace database is held by another program: {exc}") from exc
        raise WorkspaceError(f"cannot open the workspace database {path}: {exc}") from exc
    except duckdb.Error as exc:
        raise WorkspaceError(f"{path} is not a workspace database: {exc}") from exc


def _version(con: duckdb.DuckDBPyConnection) -> int:
    has_meta = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = 'meta' AND table_schema = 'main'"
    ).fetchall()[0][0]
    if not has_meta:
        return 0
    rows = con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchall()
    return int(rows[0][0]) if rows else 0


def _migrate(tx: Tx, now: dt.datetime) -> None:
    version = _version(tx.con)
    if version > latest_version():
        raise WorkspaceError(
            f"this workspace was written by a newer version of the dashboard (schema {version}): update the dashboard"
        )
    for m in sorted(MIGRATIONS, key=lambda m: m.version):
        if m.version <= version:
            continue
        for statement in m.statements():
            tx.execute(statement)
        tx.execute("INSERT INTO schema_migrations VALUES (?, ?, ?)", [m.version, m.description, now])
        tx.execute("INSERT OR REPLACE INTO meta VALUES ('schema_version', ?)", [str(m.version)])
        if m.version == 1:
            tx.execute("INSERT OR REPLACE INTO meta VALUES ('created_at', ?)", [now.isoformat()])
            tx.execute("INSERT OR REPLACE INTO meta VALUES ('data_version', '0')")


def _data_version(tx: Tx) -> int:
    v = tx.one("SELECT value FROM meta WHERE key = 'data_version'")
    return int(v) if v is not None else 0


def _bump(tx: Tx) -> None:
    tx.execute("UPDATE meta SET value = CAST(CAST(value AS BIGINT) + 1 AS VARCHAR) WHERE key = 'data_version'")


def _known(tx: Tx, hashes: set[str]) -> dict[str, Skipped]:
    if not hashes:
        return {}
    rows = tx.arrow(
        "SELECT f.content_hash, f.file_name, i.import_id, i.imported_at FROM import_files f "
        "JOIN imports i USING (import_id) WHERE f.status = 'imported' AND f.content_hash IN "
        f"({', '.join('?' for _ in hashes)}) ORDER BY i.import_id",
        sorted(hashes),
    ).to_pylist()
    out: dict[str, Skipped] = {}
    for r in rows:
        out.setdefault(r["content_hash"], Skipped(r["file_name"], r["import_id"], r["imported_at"], r["file_name"]))
    return out


def _copy_report(report: ImportReport) -> ImportReport:
    """A deep copy: the caller's report (maybe cached by the app) is not changed."""
    return copy.deepcopy(report)


def _file_report(report: ImportReport, name: str, kind: str) -> FileReport | None:
    for f in report.files:
        if f.path == name and f.kind == kind:
            return f
    return None


def _store_labs(tx: Tx, labs: pa.Table, import_id: int, report: ImportReport, out: WorkspaceImport) -> None:
    labs = model.conform("labs", labs)
    if not labs.num_rows:
        return
    tx.con.register("staged_labs", labs)
    try:
        if not tx.one("SELECT count(*) > 0 FROM labs"):
            tx.execute(f"INSERT INTO labs SELECT {_cols('labs')}, {import_id} FROM staged_labs")
            out.labs_added = labs.num_rows
            return
        tx.execute(
            "CREATE TEMP TABLE staged_marked AS SELECT s.*, (l.patient_id IS NOT NULL) AS _dup FROM staged_labs s "
            "LEFT JOIN (SELECT patient_id, analyte, collected_at, value, comparator FROM labs) l "
            "ON s.patient_id = l.patient_id AND s.analyte = l.analyte AND s.collected_at = l.collected_at "
            "AND s.value = l.value AND s.comparator = l.comparator"
        )
        tx.execute(f"INSERT INTO labs SELECT {_cols('labs')}, {import_id} FROM staged_marked WHERE NOT _dup")
        dups = tx.arrow(
            "SELECT source_file, source_row, count(*) AS n, count(*) FILTER (WHERE _dup) AS d "
            "FROM staged_marked GROUP BY ALL HAVING d > 0"
        ).to_pylist()
        tx.execute("DROP TABLE staged_marked")
    finally:
        tx.con.unregister("staged_labs")
    per_file: dict[str, int] = {}
    for r in dups:
        f = _file_report(report, r["source_file"], "labs")
        per_file[r["source_file"]] = per_file.get(r["source_file"], 0) + r["d"]
        if f is None:
            continue
        if f.results_read:
            f.results_accepted -= r["d"]
            f.results_duplicate += r["d"]
        if r["d"] == r["n"]:
            f.rows_accepted -= 1
            f.duplicates += 1
    for name, d in per_file.items():
        f = _file_report(report, name, "labs")
        if f is not None:
            f.warn(f"{d:,} results already in the workspace (imported earlier) were not added again")
    out.labs_duplicate = sum(per_file.values())
    out.labs_added = labs.num_rows - out.labs_duplicate


def _store_patients(
    tx: Tx, patients: pa.Table, import_id: int, now: dt.datetime, report: ImportReport, out: WorkspaceImport
) -> None:
    patients = model.conform("patients", patients)
    if not patients.num_rows:
        return
    ids = patients.column("patient_id").to_pylist()
    tx.con.register("staged_ids", pa.table({"patient_id": ids}))
    try:
        existing = {
            r["patient_id"]: r
            for r in model.conform(
                "patients",
                tx.arrow(
                    f"SELECT {_cols('patients')} FROM patients WHERE patient_id IN (SELECT patient_id FROM staged_ids)"
                ),
            ).to_pylist()
        }
    finally:
        tx.con.unregister("staged_ids")
    inserts, updates = [], []
    for row in patients.to_pylist():
        old = existing.get(row["patient_id"])
        f = _file_report(report, row["source_file"], "patients") if row["source_file"] else None
        if old is None:
            inserts.append(row)
            continue
        m = merge_details(old, row)
        for c in m.conflicts:  # never overwritten: reported, the stored one kept
            _identity_conflict(report, c, {**old, "source_file": "the workspace", "source_row": 0}, row, f)
        if m.duplicate:
            if f is not None:
                f.rows_accepted -= 1
                f.duplicates += 1
            continue
        if not m.updated:  # only a conflict: nothing to store
            continue
        merged = m.row
        merged["source_file"], merged["source_row"] = row["source_file"], row["source_row"]
        updates.append(merged)
        if m.changed and f is not None:
            f.warn(
                f"patient {row['patient_id']}: details in the workspace updated: {'; '.join(m.changed)}",
                row["source_row"],
            )
    if updates:
        tx.con.register("upd", pa.table({"patient_id": [r["patient_id"] for r in updates]}))
        tx.execute("DELETE FROM patients WHERE patient_id IN (SELECT patient_id FROM upd)")
        tx.con.unregister("upd")
    rows = inserts + updates
    if rows:
        table = model.conform("patients", pa.Table.from_pylist(rows, schema=model.schema("patients")))
        tx.con.register("staged_patients", table)
        # columns named: a workspace migrated from version 1 has the name column last
        tx.execute(
            f"INSERT INTO patients ({_cols('patients')}, import_id, updated_at) "
            f"SELECT {_cols('patients')}, {import_id}, ? FROM staged_patients",
            [now],
        )
        tx.con.unregister("staged_patients")
    out.patients_added, out.patients_updated = len(inserts), len(updates)


def _identity_conflict(report: ImportReport, f: str, stored: dict, row: dict, file: FileReport | None) -> None:
    c = IdentityConflict(
        row["patient_id"],
        f,
        [
            (identity_value(f, stored[f]), stored["source_file"], 0),
            (identity_value(f, row[f]), row["source_file"], row["source_row"]),
        ],
    )
    report.identity_conflicts.append(c)
    if file is not None:
        file.warn("identity conflict: " + c.message, row["source_row"], f)


def _key(row: dict[str, Any]) -> tuple:
    return tuple("nan" if isinstance(row[c], float) and math.isnan(row[c]) else row[c] for c in DOSE_KEY)


def _store_doses(
    tx: Tx, doses: pa.Table, import_id: int, now: dt.datetime, by: str, report: ImportReport, out: WorkspaceImport
) -> None:
    doses = model.conform("doses", doses)
    if not doses.num_rows:
        return
    existing: dict[tuple, dict[str, Any]] = {}
    for r in tx.arrow(f"SELECT dose_id, {_cols('doses')}, entered_by FROM doses").to_pylist():
        existing.setdefault(_key(r), r)
    next_id = int(tx.one("SELECT coalesce(max(dose_id), 0) + 1 FROM doses"))
    new_rows = []
    for row in doses.to_pylist():
        match = existing.get(_key(row))
        f = _file_report(report, row["source_file"], "doses")
        if match is None:
            row["dose_id"] = next_id
            existing[_key(row)] = row
            next_id += 1
            new_rows.append(row)
            continue
        out.doses_duplicate += 1
        if f is not None:
            f.rows_accepted -= 1
            f.duplicates += 1
        what = (
            f"same dose as entered in the app by {match['entered_by']}"
            if match["dose_basis"] == "entered"
            else "same dose already in the workspace"
        )
        if row["end"] is not None and match["end"] is None:
            tx.execute('UPDATE doses SET "end" = ? WHERE dose_id = ?', [row["end"], match["dose_id"]])
            _edit(
                tx,
                match["dose_id"],
                row["patient_id"],
                "end from import",
                f"end date {row['end']:%Y-%m-%d} from {row['source_file']}",
                "",
                by,
                now,
            )
            what += f"; its end date {row['end']:%Y-%m-%d} was recorded"
        elif row["end"] != match["end"]:
            kept = "ongoing" if match["end"] is None else f"{match['end']:%Y-%m-%d}"
            said = "ongoing" if row["end"] is None else f"{row['end']:%Y-%m-%d}"
            what += f"; the workspace keeps its end ({kept}), the file says {said}"
        if f is not None:
            f.warn(what, row["source_row"])
    if new_rows:
        cols = ["dose_id", *model.columns("doses")]
        table = pa.table(
            {c: [r[c] for r in new_rows] for c in cols},
            schema=pa.schema([pa.field("dose_id", pa.int64()), *model.schema("doses")]),
        )
        tx.con.register("staged_doses", table)
        tx.execute(f"INSERT INTO doses SELECT dose_id, {_cols('doses')}, {import_id}, '', NULL, '' FROM staged_doses")
        tx.con.unregister("staged_doses")
    out.doses_added = len(new_rows)


def _doses(tx: Tx, patient_id: str | None) -> pa.Table:
    where, params = ("WHERE patient_id = ?", [patient_id]) if patient_id is not None else ("", [])
    return tx.arrow(
        f"SELECT dose_id, {_cols('doses')}, import_id, entered_by, entered_at, note FROM doses {where} "
        "ORDER BY patient_id, start, drug, dose_id",
        params,
    )


def _empty_doses() -> pa.Table:
    extra = [
        pa.field("dose_id", pa.int64()),
        pa.field("import_id", pa.int32()),
        pa.field("entered_by", pa.string()),
        pa.field("entered_at", pa.timestamp("us")),
        pa.field("note", pa.string()),
    ]
    return pa.schema([extra[0], *model.schema("doses"), *extra[1:]]).empty_table()


def _patient_doses(tx: Tx, patient_id: str) -> pd.DataFrame:
    return tx.arrow(f"SELECT dose_id, {_cols('doses')} FROM doses WHERE patient_id = ?", [patient_id]).to_pandas()


def _dose_row(tx: Tx, dose_id: int) -> pd.Series:
    df = tx.arrow(f"SELECT dose_id, {_cols('doses')} FROM doses WHERE dose_id = ?", [dose_id]).to_pandas()
    if df.empty:
        raise EntryRejected([f"there is no dose #{dose_id} in the workspace"])
    return df.iloc[0]


def _require(v: Validation, confirmed: bool, by: str) -> None:
    errors = list(v.errors)
    if not by.strip():
        errors.append("enter your name")
    if errors:
        raise EntryRejected(errors, v.warnings)
    if v.warnings and not confirmed:
        raise EntryRejected([], v.warnings)


def _insert_entered(tx: Tx, row: dict[str, Any], by: str, now: dt.datetime, note: str) -> int:
    dose_id = int(tx.one("SELECT coalesce(max(dose_id), 0) + 1 FROM doses"))
    cols = model.columns("doses")
    tx.execute(
        f"INSERT INTO doses (dose_id, {_cols('doses')}, import_id, entered_by, entered_at, note) "
        f"VALUES ({', '.join('?' for _ in range(len(cols) + 5))})",
        [dose_id, *(row[c] for c in cols), None, by.strip(), now, note.strip()],
    )
    return dose_id


def _edit(
    tx: Tx, dose_id: int, patient_id: str, action: str, detail: str, note: str, by: str, now: dt.datetime
) -> None:
    edit_id = int(tx.one("SELECT coalesce(max(edit_id), 0) + 1 FROM dose_edits"))
    tx.execute(
        "INSERT INTO dose_edits VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [edit_id, dose_id, patient_id, action, detail, note.strip(), by.strip(), now],
    )


def _describe(row: dict[str, Any]) -> str:
    start = row["start"]
    return (
        f"{model.drug_label(row['drug'])} {row['dose']:g} {row['dose_unit']} {row['frequency']} from {start:%Y-%m-%d}"
    )


def _midnight(d: dt.date) -> dt.datetime:
    return dt.datetime.combine(d, dt.time())


def _isnat(v: Any) -> bool:
    if v is None:
        return True
    try:
        return bool(pd.isna(v))
    except (TypeError, ValueError):
        return False
