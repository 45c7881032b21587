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

This module is the public face (:class:`Workspace`: opening a transaction, reading the
panel); each job lives in its own module:

- :mod:`dashboard.store.connection`: connecting, the checked transaction, the data version;
- :mod:`dashboard.store.migrations`: bringing the schema up to date;
- :mod:`dashboard.store.merge`: merging an import (duplicates, patient details, doses);
- :mod:`dashboard.store.entries`: doses entered in the app, reviews, monitoring intervals.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import pyarrow as pa

from dashboard import model
from dashboard.identity import IdentityConflict
from dashboard.ingest import FileReport, ImportOptions, ImportReport, ImportResult, Source, import_sources
from dashboard.ingest.dose_repeats import DOSE_KEY
from dashboard.ingest.report import Problem
from dashboard.store import entries, merge
from dashboard.store import reread as reread_mod
from dashboard.store.connection import Tx, cols, connect, data_version, stored_cols
from dashboard.store.errors import EntryRejected, WorkspaceError
from dashboard.store.lock import WorkspaceLock
from dashboard.store.merge import FileRecord, Skipped, WorkspaceImport
from dashboard.store.migrations import migrate, schema_version
from dashboard.store.schema import latest_version

if TYPE_CHECKING:  # pragma: no cover
    from dashboard.dose_entry import DoseEntry
    from dashboard.reviews import Review

DB_NAME = "workspace.duckdb"
LOCK_NAME = "workspace.lock"

_T = TypeVar("_T")

_ORDER = {
    "labs": "",  # insertion order: sorting a million results costs a second on reopening
    "doses": "ORDER BY patient_id, drug, start",
    "patients": "ORDER BY patient_id",
    "baselines": "ORDER BY patient_id, analyte",
    "intervals": "ORDER BY patient_id, set_at",
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
    #: the identity conflicts the workspace keeps (two names, dates of birth or sexes for one MRN)
    disputes: list[IdentityConflict] = field(default_factory=list)
    #: the rows its imports rejected that name a patient: (file, import date, problem),
    #: those no later import has given again
    rejections: list[tuple[str, dt.datetime, Problem]] = field(default_factory=list)
    #: the rejected rows a later import gave a result of the same draw for: (file, import
    #: date, problem, the result that replaced it in words)
    resolved: list[tuple[str, dt.datetime, Problem, str]] = field(default_factory=list)
    #: the other identifiers its imports gave patients (H150): (patient id, kind, value, file)
    aliases: list[tuple[str, str, str, str]] = field(default_factory=list)


def _now() -> dt.datetime:
    return dt.datetime.now().replace(microsecond=0)


def _rejections(
    tx: Tx,
) -> tuple[list[tuple[str, dt.datetime, Problem]], list[tuple[str, dt.datetime, Problem, str]]]:
    """The rejected rows that name a patient, from every stored import report (newest
    import first), so that a patient's page can say which of their rows were not read:
    (those still open, those a later import replaced).  A rejected lab result is replaced
    when a later import stored a result of its draw (same patient, analyte and draw time):
    it is then said with what replaced it, never dropped."""
    found: list[tuple[int, str, dt.datetime, Problem]] = []
    # an import whose files were read again later (dashboard/store/reread.py): the re-read's
    # report says what today's reader rejects, the earlier one no longer holds
    superseded = {
        int(r[0])
        for r in tx.con.execute(
            "SELECT DISTINCT a.import_id FROM import_files a JOIN import_files b ON a.content_hash = b.content_hash "
            "AND b.import_id > a.import_id AND b.status = ?",
            [merge.REREAD_STATUS],
        ).fetchall()
    }
    for import_id, imported_at, text in tx.con.execute(
        "SELECT import_id, imported_at, report FROM imports ORDER BY import_id DESC"
    ).fetchall():
        if '"patient_id"' not in text or import_id in superseded:  # before rows named their patient, or none rejected
            continue
        for f in json.loads(text).get("files", []):
            name = f.get("path", "")
            for p in f.get("problems", []):
                if p.get("patient_id"):
                    found.append((import_id, name, imported_at, Problem(**p)))
    later = _replaced_later(tx, found)
    open_ = [(name, at, p) for k, (_, name, at, p) in enumerate(found) if k not in later]
    resolved = [(name, at, p, later[k]) for k, (_, name, at, p) in enumerate(found) if k in later]
    return open_, resolved


def _replaced_later(tx: Tx, found: list[tuple[int, str, dt.datetime, Problem]]) -> dict[int, str]:
    """For each rejected lab result of ``found`` (by position) whose draw a later import
    gave a stored result for: that result in words ("180 10^9/L from b.csv (imported 05
    Apr 2024)"), the first such import's."""
    draws = [(k, i, p) for k, (i, _, _, p) in enumerate(found) if p.analyte and p.collected_at]
    if not draws:
        return {}
    staged = pa.table(
        {
            "k": pa.array([k for k, _, _ in draws], pa.int64()),
            "import_id": pa.array([i for _, i, _ in draws], pa.int64()),
            "patient_id": pa.array([p.patient_id for _, _, p in draws], pa.string()),
            "analyte": pa.array([p.analyte for _, _, p in draws], pa.string()),
            "collected_at": pa.array(
                [dt.datetime.fromisoformat(p.collected_at) for _, _, p in draws], pa.timestamp("s")
            ),
        }
    )
    tx.con.register("rejected_draws", staged)
    try:
        rows = tx.con.execute(
            "SELECT r.k, l.source_value, l.source_unit, l.source_file, i.imported_at FROM rejected_draws r "
            "JOIN labs l ON l.patient_id = r.patient_id AND l.analyte = r.analyte "
            "AND l.collected_at = r.collected_at AND l.import_id > r.import_id "
            "JOIN imports i ON i.import_id = l.import_id ORDER BY r.k, l.import_id, l.source_row"
        ).fetchall()
    finally:
        tx.con.unregister("rejected_draws")
    out: dict[int, str] = {}
    for k, value, unit, file, imported_at in rows:
        shown = f"{value} {unit}".strip()
        out.setdefault(int(k), f"{shown} from {file} (imported {imported_at:%d %b %Y})")
    return out


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
    def _write(self, dry_run: bool = False) -> Iterator[Tx]:
        """One write transaction, alone: committed when the block ends without error (rolled
        back all the same when ``dry_run``: what it would do, seen without doing it)."""
        self.path.mkdir(parents=True, exist_ok=True)
        with WorkspaceLock(self.lock_path, exclusive=True, timeout=self.timeout):
            con = connect(self.db_path, read_only=False)
            try:
                con.execute("BEGIN TRANSACTION")
                tx = Tx(con)
                try:
                    migrate(tx, self.clock())
                    yield tx
                except BaseException:
                    con.execute("ROLLBACK")
                    raise
                con.execute("ROLLBACK" if dry_run else "COMMIT")
            finally:
                con.close()

    @contextmanager
    def _read(self) -> Iterator[Tx]:
        """A read-only connection, shared with other readers, never during a write."""
        for attempt in range(2):
            with WorkspaceLock(self.lock_path, exclusive=False, timeout=self.timeout):
                con = connect(self.db_path, read_only=True)
                try:
                    version = schema_version(con)
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
        counts = dict.fromkeys(
            ("patients", "labs", "labs_withdrawn", "doses", "doses_entered", "imports", "reviews"), 0
        )
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
            # stored results the lab withdrew since (H530): out of labs, kept in sight
            counts["labs_withdrawn"] = merge.withdrawn_count(tx)
            last = tx.one("SELECT max(imported_at) FROM imports")
            return {
                **base,
                **counts,
                "schema_version": schema_version(tx.con),
                "last_import": last.isoformat() if last else None,
                "data_version": data_version(tx),
            }

    def _query(self, read: Callable[[Tx], _T], empty: Callable[[], _T]) -> _T:
        """``read`` in a read transaction, or ``empty()`` while the workspace does not exist."""
        if not self.exists():
            return empty()
        with self._read() as tx:
            return read(tx)

    def data_version(self) -> int:
        """A counter that changes whenever the workspace's data change (for caches)."""
        return self._query(data_version, lambda: 0)

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
                entries.empty_doses(),
                None,
                empty("intervals"),
            )
        with self._read() as tx:
            source = {"baselines": f"{entries.BASELINES_IN_FORCE} AS baselines"}  # the latest of each
            tables = {
                t: model.conform(
                    t,
                    tx.con.sql(
                        f"SELECT {stored_cols(tx, t) if t == 'doses' else cols(t)} FROM {source.get(t, t)} {_ORDER[t]}"
                    ).to_arrow_table(),
                )
                for t in model.TABLES
            }
            extract = tx.one("SELECT max(extract_date) FROM imports")
            return StoredPanel(
                tables["labs"],
                tables["doses"],
                tables["patients"],
                tables["baselines"],
                extract,
                data_version(tx),
                entries.doses_with_provenance(tx, None),
                entries.review_log(tx),
                tables["intervals"],
                merge.disputes(tx),
                *_rejections(tx),
                merge.stored_aliases(tx),
            )

    # ----------------------------------------------------------------- monitoring intervals

    def set_interval(self, patient_id: str, days: int, reason: str, *, by: str, at: dt.datetime | None = None) -> None:
        """Record a patient's risk-adapted monitoring interval (0 = back to the schedule's).

        Append-only, like the review log: the latest row is in force, and the history of
        who changed it, when and why stays.  ``at``: when it was set, if not now."""
        entries.check_interval(patient_id, days, reason, by)
        with self._write() as tx:
            entries.add_interval(tx, self.clock, patient_id, days, reason, by, at)

    def set_baseline(
        self, patient_id: str, analyte: str, value: float, note: str, *, by: str, at: dt.datetime | None = None
    ) -> None:
        """Record a clinician-set baseline (e.g. a Duffy-null neutrophil count): the latest
        per patient and analyte is in force, the earlier rows stay.  ``at``: when it was set,
        if not now."""
        entries.check_baseline(patient_id, analyte, value, by)
        with self._write() as tx:
            entries.add_baseline(tx, self.clock, patient_id, analyte, value, note, by, at)

    def keep_clinician_entries(self, intervals: Sequence[dict[str, Any]], baselines: Sequence[dict[str, Any]]) -> int:
        """Store, in one transaction, the intervals and baselines a clinician set in a session
        panel (rows of the model's ``intervals`` and ``baselines``, with who and when);
        returns how many were kept."""
        for i in intervals:
            entries.check_interval(i["patient_id"], int(i["interval_days"]), i["reason"], i["set_by"])
        for b in baselines:
            entries.check_baseline(b["patient_id"], b["analyte"], float(b["value"]), b["set_by"])
        if not intervals and not baselines:
            return 0
        with self._write() as tx:
            for i in intervals:
                entries.add_interval(
                    tx, self.clock, i["patient_id"], int(i["interval_days"]), i["reason"], i["set_by"], i["set_at"]
                )
            for b in baselines:
                entries.add_baseline(
                    tx,
                    self.clock,
                    b["patient_id"],
                    b["analyte"],
                    float(b["value"]),
                    b["note"],
                    b["set_by"],
                    b["set_at"],
                )
        return len(intervals) + len(baselines)

    def settle_identity(self, patient_id: str, field_name: str, value: str, note: str, *, by: str) -> None:
        """Record the value of a disputed identity field (the sex) that a clinician checked
        (:func:`dashboard.store.merge.settle`): append-only, the latest holds."""
        merge.check_settlement(patient_id, field_name, value, note, by)
        with self._write() as tx:
            merge.settle(tx, self.clock(), patient_id, field_name, value, note, by)

    def intervals(self, patient_id: str | None = None) -> pa.Table:
        """The interval history (all patients, or one), oldest first."""
        with self._read() as tx:
            return entries.intervals(tx, patient_id)

    def doses(self, patient_id: str | None = None) -> pa.Table:
        """Dose rows with provenance (dose_id, import_id, entered_by, entered_at, note)."""
        return self._query(lambda tx: entries.doses_with_provenance(tx, patient_id), entries.empty_doses)

    def dose_edits(self, patient_id: str | None = None) -> pa.Table:
        return self._query(lambda tx: entries.dose_edits(tx, patient_id), lambda: pa.table({}))

    def reviews(self, patient_id: str | None = None) -> pa.Table:
        """The review log (every entry, oldest first)."""
        return self._query(lambda tx: entries.reviews(tx, patient_id), entries.empty_reviews)

    def withdrawn_results(self, patient_id: str | None = None) -> list[dict[str, Any]]:
        """The stored results the lab withdrew (H530), oldest withdrawal first: each with
        the result (patient, test, time, value), the stored copy taken out of ``labs``
        (``stored_file``, ``stored_row``, ``stored_import``, ``stored_value``,
        ``stored_unit``) and the withdrawal (``status``, ``source_file``, ``source_row``,
        ``import_id``, ``imported_at``).  No longer graded, never out of sight."""
        return self._query(lambda tx: merge.withdrawn_results(tx, patient_id), list)

    def imports(self) -> list[dict[str, Any]]:
        """The import log, newest first, each with its files and its report (dict)."""
        if not self.exists():
            return []
        with self._read() as tx:
            rows = tx.arrow("SELECT * FROM imports ORDER BY import_id DESC").to_pylist()
            files = tx.arrow("SELECT * FROM import_files ORDER BY import_id, file_name").to_pylist()
            read = merge.known(tx, {f["content_hash"] for f in files})
        by_import: dict[int, list[dict[str, Any]]] = {}
        for f in files:
            # the latest reader version that read its content (None: before versions were recorded, H625)
            f["read_by"] = read[f["content_hash"]].read_by if f["content_hash"] in read else None
            by_import.setdefault(f["import_id"], []).append(f)
        for r in rows:
            r["files"] = by_import.get(r["import_id"], [])
            r["report"] = json.loads(r["report"])
            r["options"] = json.loads(r["options"])
            imported = [f for f in r["files"] if f["status"] == "imported"]
            # files an earlier reader version read (or one before versions were recorded): they
            # can be read again with today's reader (dashboard/store/reread.py)
            r["read_earlier"] = bool(imported) and any(merge.read_earlier(f["read_by"]) for f in imported)
        return rows

    def known_files(self, hashes: set[str]) -> dict[str, Skipped]:
        """Content hashes already imported: hash -> where (first import)."""
        return self._query(lambda tx: merge.known(tx, hashes), dict) if hashes else {}

    def stored_sex(self) -> dict[str, str]:
        """The sex of each stored patient whose sex is known ("F" or "M"), by id (a sex
        two sources disagree on is stored unknown)."""
        return self._query(
            lambda tx: dict(tx.execute("SELECT patient_id, sex FROM patients WHERE sex IN ('F', 'M')").fetchall()),
            dict,
        )

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
        skipped = [dataclasses.replace(known[r.content_hash], name=r.name) for r in records if r.content_hash in known]
        fresh = [(s, r) for s, r in zip(sources, records, strict=True) if r.content_hash not in known]
        unique: dict[str, tuple[Source, FileRecord]] = {}  # the same file twice in one import: the first
        for s, r in fresh:
            first = unique.setdefault(r.content_hash, (s, r))[1]
            if first is not r:  # named, never dropped in silence (probe34 F2)
                skipped.append(Skipped(r.name, None, None, first.name))
        fresh = list(unique.values())
        if not fresh:
            return WorkspaceImport(skipped=skipped, report=ImportReport(files=list(missing)) if missing else None)
        # a reference range given per sex is read with the sex the workspace already holds
        # (a patient file imported before), never dropped for want of one (audit 5 C1)
        result = import_sources([s for s, _ in fresh], options, known_sex=self.stored_sex())
        result.report.files = list(missing) + result.report.files
        withdraws = result.withdrawals is not None and result.withdrawals.num_rows > 0  # H530: a file of withdrawals
        if result.report.needs or not (result.report.anything_read or withdraws):
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
        """Store an import's tables (one transaction), counting what was already there
        (:func:`dashboard.store.merge.save_result`)."""
        with self._write() as tx:
            log = merge.LogEntry(by, origin, label, options, extract_date)
            return merge.save_result(tx, self.clock, result, files, log)

    def reread(
        self,
        sources: Sequence[Source],
        options: ImportOptions | None = None,
        *,
        by: str,
        origin: str = "cli",
        dry_run: bool = False,
    ) -> reread_mod.Reread:
        """Read stored imports again with today's reader (:mod:`dashboard.store.reread`).

        The workspace keeps each file's SHA-256, not its bytes: ``sources`` are the files
        given again, each matched to the import that read it by its content hash, with every
        other file of that import.  Each import's files are read with the options it was
        imported with (``options`` adds a date order or mapping the clinician gives now);
        one that now needs a choice, a file not in the workspace or a file of an import
        missing leaves everything as it was (``problems``).  All the imports are re-read in
        one transaction; ``dry_run`` rolls it back (the differences, nothing changed)."""
        out = reread_mod.Reread(dry_run=dry_run)
        records = [FileRecord.of(s) for s in sources]
        if not records:
            out.problems.append("no file given")
            return out
        found: dict[str, reread_mod.StoredImport] = self._query(
            lambda tx: reread_mod.stored_imports(tx, {r.content_hash for r in records}), dict
        )
        given: dict[str, Source] = {}
        for s, r in zip(sources, records, strict=True):
            if r.content_hash not in found:
                out.problems.append(
                    f"{r.name}: no import of this workspace read this content (SHA-256 {r.content_hash[:16]}…): "
                    "give the file exactly as it was imported, or import it (`workspace import FILE`)"
                )
            given.setdefault(r.content_hash, s)
        targets = sorted({t.import_id: t for t in found.values()}.values(), key=lambda t: t.import_id)
        for t in targets:
            missing = [f.name for f in t.files if f.content_hash not in given]
            if missing:
                out.problems.append(
                    f"{t.title()} read {len(t.files)} files together: give them all again (missing: {', '.join(missing)})"
                )
        if out.problems:
            return out
        sex = self.stored_sex()
        read: list[tuple[reread_mod.StoredImport, ImportResult]] = []
        for t in targets:
            opts = t.options
            if options is not None:
                opts = ImportOptions(
                    date_order=options.date_order or opts.date_order, mapping={**opts.mapping, **options.mapping}
                )
            # the names the import logged: the stored rows' files, whatever the copy is called now
            files = [Source(f.name, given[f.content_hash].data) for f in t.files]
            result = import_sources(files, opts, known_sex=sex)
            why = reread_mod.needs_choice(result, t, origin)
            if why:
                out.problems.append(why)
            read.append((dataclasses.replace(t, options=opts), result))
        if out.problems:
            return out
        with self._write(dry_run=dry_run) as tx:
            out.imports = reread_mod.reread(tx, self.clock(), read, by, origin)
        if dry_run:  # rolled back: no import was stored
            for i in out.imports:
                i.new_import_id = None
        out.applied = not dry_run
        return out

    # ----------------------------------------------------------------- doses entered in the app

    def add_dose(self, entry: DoseEntry, *, by: str, confirmed: bool = False) -> int:
        """Store a dose entered in the app; returns its dose_id."""
        with self._write() as tx:
            return entries.add_dose(tx, self.clock, entry, by, confirmed)

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
            return entries.change_dose(tx, self.clock, dose_id, on, dose, frequency, by, note, confirmed)

    def stop_dose(self, dose_id: int, on: dt.date, *, by: str, note: str = "") -> None:
        """End dose ``dose_id`` on ``on``."""
        with self._write() as tx:
            entries.stop_dose(tx, self.clock, dose_id, on, by, note)

    # ----------------------------------------------------------------- reviews

    def add_review(self, review: Review, *, by: str) -> int:
        """Append a review to the log; returns its review_id."""
        return self.add_reviews([review], by=by)[0]

    def add_reviews(self, reviews: Sequence[Review], *, by: str) -> list[int]:
        """Append several reviews in one transaction (all or none); returns their ids.

        One click that acknowledges a patient's open flags writes one entry per flag.
        """
        entries.check_reviews(reviews, by)
        with self._write() as tx:
            return entries.add_reviews(tx, self.clock, reviews, by)


__all__ = [
    "DB_NAME",
    "DOSE_KEY",
    "LOCK_NAME",
    "EntryRejected",
    "FileRecord",
    "Skipped",
    "StoredPanel",
    "Tx",
    "Workspace",
    "WorkspaceError",
    "WorkspaceImport",
]
