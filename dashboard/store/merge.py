"""Merging an import into the workspace: what is new is added, what is there already is
counted as a duplicate in the stored import report, never added twice.

A file whose content hash is in the import log is skipped ("already imported on ...");
a result already stored (same patient, analyte, collection time, value and comparator,
the importer's own duplicate key) or a dose already stored (:data:`~dashboard.ingest.dose_repeats.DOSE_KEY`) becomes a
duplicate of its file's report (:meth:`FileReport.accepted_was_duplicate
<dashboard.ingest.report.FileReport.accepted_was_duplicate>`); a patient's details are
merged as the importer merges them (:func:`dashboard.patient_merge.merge_details`), a
conflicting name or date of birth reported, never overwritten.

Every identity conflict an import reports (two names, dates of birth or sexes for one
MRN, within the import or against the workspace) is kept in ``identity_disputes``, and
stays: a sex two sources disagreed on is left unknown for the rules, and a later file
that gives a sex does not settle it (that would pick whichever source came third); it
is reported as part of the same conflict.
"""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from dashboard import model
from dashboard.identity import (
    RULE_FIELDS,
    SETTLED_FIELDS,
    IdentityConflict,
    identity_value,
    leave_unknown,
    unknown_value,
)
from dashboard.ingest import FileReport, ImportOptions, ImportReport, ImportResult, Source
from dashboard.ingest.dose_repeats import (
    basis_of,
    dose_key,
    dose_words,
    overlaps_at_start,
    repeat_of,
    same_start_note,
    start_key,
)
from dashboard.ingest.labs import SEX_LIMITS, number_text, product_comparator, stated_count
from dashboard.ingest.pipeline import warn_about_aliases, warn_about_stored_ids
from dashboard.ingest.report import SHOWN_VALUE, Problem
from dashboard.ingest.values import parse_one
from dashboard.ingest.version import READER_VERSION
from dashboard.patient_merge import merge_details
from dashboard.store.connection import Tx, bump, cols, stored_cols
from dashboard.store.entries import record_edit
from dashboard.store.errors import EntryRejected
from dashboard.units import resolve_unit


@dataclass(frozen=True)
class FileRecord:
    """A file as the import log keeps it."""

    name: str
    content_hash: str
    size: int

    @classmethod
    def of(cls, source: Source) -> FileRecord:
        return cls(Path(source.name).name, hashlib.sha256(source.data).hexdigest(), len(source.data))


def read_earlier(read_by: int | None) -> bool:
    """Whether a reading by reader version ``read_by`` (None: before versions were recorded)
    is an earlier version's than today's (H625): the file may read differently now."""
    return read_by is None or read_by < READER_VERSION


@dataclass(frozen=True)
class Skipped:
    """A file not imported again: the same content is already in the workspace, or given
    earlier in the same import (``import_id`` None: "the same content as labs.csv")."""

    name: str
    import_id: int | None
    imported_at: dt.datetime | None
    first_name: str
    #: the latest reader version that read this content (``import_readers``, schema 12);
    #: None when none was recorded (read before versions were, H625)
    read_by: int | None = None

    @property
    def read_earlier(self) -> bool:
        """Whether the workspace's reading of this file is an earlier version's (H625)."""
        return self.import_id is not None and read_earlier(self.read_by)

    def message(self) -> str:
        if self.import_id is None or self.imported_at is None:
            return f"{self.name}: the same content as {self.first_name} in this import; read once"
        same = "" if self.first_name == self.name else f" (as {self.first_name})"
        said = (
            f"{self.name}: already imported on {self.imported_at:%Y-%m-%d %H:%M}{same}, "
            f"import #{self.import_id}; nothing changed"
        )
        if not self.read_earlier:
            return said
        which = (
            "before reader versions were recorded"
            if self.read_by is None
            else f"by reader version {self.read_by} (now {READER_VERSION})"
        )
        return (
            f"{said}. It was read by an earlier version of the dashboard ({which}): some of its rows may read "
            "differently now (a fix since can read a dose, pulse, unit, result or id otherwise, or reject a row), "
            "and the workspace keeps the earlier reading. To read it again with today's reader, see what changes "
            "and apply it: `python -m dashboard workspace import --reread FILE` (add --dry-run to only see it), or "
            "the Workspace page's Import log, \"Read again with today's reader\". To only compare, read the file "
            "without the workspace (`python -m dashboard review FILE`, or Home with the workspace off)"
        )

    def __str__(self) -> str:
        return self.message()


@dataclass
class WorkspaceImport:
    """What one import did to the workspace."""

    import_id: int | None = None
    report: ImportReport | None = None
    skipped: list[Skipped] = field(default_factory=list)
    stored: bool = False
    labs_added: int = 0
    labs_duplicate: int = 0
    #: stored results of earlier imports that this import's withdrawals took out of labs (H530)
    labs_withdrawn: int = 0
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
            if self.labs_withdrawn:
                lines.append(
                    f"Withdrawn by the lab: {self.labs_withdrawn:,} result(s) kept from earlier imports are no longer "
                    "graded (each named in the import report; the workspace keeps them among its withdrawn results)."
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
                    "imported_at": s.imported_at.isoformat() if s.imported_at else None,
                    "message": s.message(),
                    # the reader version that read it (None: before versions were recorded, H625)
                    "read_by": s.read_by,
                    "read_by_earlier_version": s.read_earlier,
                }
                for s in self.skipped
            ],
            "labs_added": self.labs_added,
            "labs_duplicate": self.labs_duplicate,
            "labs_withdrawn": self.labs_withdrawn,
            "doses_added": self.doses_added,
            "doses_duplicate": self.doses_duplicate,
            "patients_added": self.patients_added,
            "patients_updated": self.patients_updated,
            "report": self.report.to_dict() if self.report else None,
        }


@dataclass(frozen=True)
class LogEntry:
    """What the import log says of an import besides its files: who, from where, the
    label shown, the options the files were read with, and the extract date."""

    by: str
    origin: str
    label: str
    options: ImportOptions | None = None
    extract_date: dt.date | None = None


def save_result(
    tx: Tx, clock: Callable[[], dt.datetime], result: ImportResult, files: Sequence[FileRecord], log: LogEntry
) -> WorkspaceImport:
    """Store an import's tables in this transaction, counting what was already there."""
    report = _copy_report(result.report)
    stored = known(tx, {f.content_hash for f in files})
    if files and all(f.content_hash in stored for f in files):
        return WorkspaceImport(
            skipped=[
                Skipped(
                    f.name,
                    stored[f.content_hash].import_id,
                    stored[f.content_hash].imported_at,
                    stored[f.content_hash].name,
                )
                for f in files
            ]
        )
    now = clock()
    import_id = int(tx.one("SELECT coalesce(max(import_id), 0) + 1 FROM imports"))
    return merge_import(tx, now, import_id, result, files, log, report)


#: The status in ``import_files`` of a file an import read again (``dashboard/store/reread.py``):
#: its first import stays the one :func:`known` names; this one holds what the new reading changed.
REREAD_STATUS = "re-read"


def merge_import(
    tx: Tx,
    now: dt.datetime,
    import_id: int,
    result: ImportResult,
    files: Sequence[FileRecord],
    log: LogEntry,
    report: ImportReport,
    *,
    status: str = "imported",
    extra_options: dict[str, Any] | None = None,
) -> WorkspaceImport:
    """Merge an import's tables into the workspace as import ``import_id`` (this
    transaction), counting what was already there, and log it with its files
    (``status``: "imported", or :data:`REREAD_STATUS` for a file read again)."""
    out = WorkspaceImport(import_id=import_id, report=report, stored=True)
    kept = tx.arrow("SELECT patient_id, name, birth_date FROM patients")
    warn_about_stored_ids(report, [result.labs, result.doses, result.patients], kept, result.aliases)
    _warn_about_stored_aliases(tx, report, result)
    _store_aliases(tx, result.aliases, import_id)
    labs, sex_limits, corrections, withdrawn = _withdraw(tx, result.labs, result.sex_limits, result.corrections)
    _replace_corrected(tx, corrections, report)
    out.labs_withdrawn = _withdraw_stored(tx, result.withdrawals, labs, import_id, report)
    _store_labs(tx, labs, import_id, report, out, sex_limits, withdrawn)
    _store_corrections(tx, corrections, import_id)
    _store_patients(tx, result.patients, import_id, now, report, out)
    _mark_settled(tx, report.identity_conflicts)
    _store_disputes(tx, report.identity_conflicts, import_id)
    _say_sex_ranges(report, apply_sex_ranges(tx))
    _store_doses(tx, result.doses, import_id, now, log.by, report, out)
    report.labs, report.doses, report.patients = out.labs_added, out.doses_added, out.patients_added
    report.check_rows()
    opts = log.options or ImportOptions()
    tx.execute(
        "INSERT INTO imports VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            import_id,
            now,
            log.by,
            log.origin,
            log.label[:500],
            json.dumps({"date_order": opts.date_order, "mapping": opts.mapping, **(extra_options or {})}),
            report.to_json(indent=None),
            out.labs_added,
            out.labs_duplicate,
            out.doses_added,
            out.doses_duplicate,
            out.patients_added,
            out.patients_updated,
            log.extract_date,
        ],
    )
    unreadable = {f.path for f in report.files if f.error and not f.rows_accepted and f.kind != "dictionary"}
    readers = _has_table(tx, "import_readers")  # schema 12 (a test playing an older dashboard has none)
    for f in files:
        file_status = "unreadable" if f.name in unreadable else status
        tx.execute(
            "INSERT INTO import_files VALUES (?, ?, ?, ?, ?)",
            [import_id, f.name, f.content_hash, f.size, file_status],
        )
        if readers and file_status != "unreadable":  # which reading the workspace holds (H625)
            tx.execute("INSERT INTO import_readers VALUES (?, ?, ?)", [import_id, f.content_hash, READER_VERSION])
    bump(tx)
    return out


def stored_aliases(tx: Tx) -> list[tuple[str, str, str, str]]:
    """The other identifiers the workspace keeps for its patients: (patient id, what the
    identifier is, its value, file), as :attr:`ImportResult.aliases` holds them."""
    if not _keeps_aliases(tx):
        return []
    rows = tx.arrow("SELECT DISTINCT patient_id, kind, value, source_file FROM patient_identifiers ORDER BY ALL")
    return [(r["patient_id"], r["kind"], r["value"], r["source_file"]) for r in rows.to_pylist()]


def _store_aliases(tx: Tx, aliases: Sequence[tuple[str, str, str, str]], import_id: int) -> None:
    """Keep a patient's other identifiers (H150) that the workspace does not hold yet."""
    if not aliases or not _keeps_aliases(tx):
        return
    have = {(p, k, v) for p, k, v, _f in stored_aliases(tx)}
    for pid, kind, value, file in dict.fromkeys(aliases):
        if (pid, kind, value) not in have:
            tx.execute("INSERT INTO patient_identifiers VALUES (?, ?, ?, ?, ?)", [pid, kind, value, file, import_id])
            have.add((pid, kind, value))


def _warn_about_stored_aliases(tx: Tx, report: ImportReport, result: ImportResult) -> None:
    """A new import's patient id that a patient kept from an earlier import carries as an
    identifier (the FHIR export last month, the dose sheet tonight): named as the other
    order is by :func:`warn_about_stored_ids`."""
    new = {(p, v) for p, _k, v, _f in result.aliases}
    kept = [(p, k, v, f"{f}, the workspace") for p, k, v, f in stored_aliases(tx) if (p, v) not in new]
    if kept:
        warn_about_aliases(report, [result.labs, result.doses, result.patients], kept)


def known(tx: Tx, hashes: set[str]) -> dict[str, Skipped]:
    if not hashes:
        return {}
    rows = tx.arrow(
        "SELECT f.content_hash, f.file_name, i.import_id, i.imported_at FROM import_files f "
        "JOIN imports i USING (import_id) WHERE f.status = 'imported' AND f.content_hash IN "
        f"({', '.join('?' for _ in hashes)}) ORDER BY i.import_id",
        sorted(hashes),
    ).to_pylist()
    read_by: dict[str, int] = {}
    if _has_table(tx, "import_readers"):  # the latest reader version that read each (H625)
        read_by = dict(
            tx.execute(
                "SELECT content_hash, max(reader_version) FROM import_readers WHERE content_hash IN "
                f"({', '.join('?' for _ in hashes)}) GROUP BY content_hash",
                sorted(hashes),
            ).fetchall()
        )
    out: dict[str, Skipped] = {}
    for r in rows:
        h = r["content_hash"]
        out.setdefault(h, Skipped(r["file_name"], r["import_id"], r["imported_at"], r["file_name"], read_by.get(h)))
    return out


def _copy_report(report: ImportReport) -> ImportReport:
    """A deep copy: the caller's report (maybe cached by the app) is not changed."""
    return copy.deepcopy(report)


def _file_report(report: ImportReport, name: str, kind: str) -> FileReport | None:
    for f in report.files:
        if f.path == name and f.kind == kind:
            return f
    return None


def _replace_corrected(tx: Tx, corrections: pa.Table | None, report: ImportReport) -> None:
    """A correction of this import replaces a different result of its draw (patient, test,
    time) kept from an earlier import, as it would within one import (H132, audit 5 S4):
    the stored result is removed, so it is no longer graded, and the import report says
    which one, naming the correction and the import it came from."""
    if corrections is None or not corrections.num_rows:
        return
    tx.con.register("staged_corr", corrections)
    try:
        replaced = tx.arrow(
            "SELECT l.patient_id, l.analyte, l.collected_at, l.value, l.comparator, l.source_value, l.source_unit, "
            "l.source_file, l.source_row, l.import_id, c.source_value AS c_value, c.source_unit AS c_unit, "
            "c._corr AS c_status, c.source_file AS c_file, c.source_row AS c_row FROM labs l "
            "JOIN staged_corr c ON l.patient_id = c.patient_id AND l.analyte = c.analyte "
            "AND l.collected_at = c.collected_at "
            "WHERE NOT EXISTS (SELECT 1 FROM staged_corr e WHERE e.patient_id = l.patient_id "
            "AND e.analyte = l.analyte AND e.collected_at = l.collected_at AND e.value IS NOT DISTINCT FROM l.value "
            "AND coalesce(e.comparator, '') = coalesce(l.comparator, ''))"
        ).to_pylist()
        if not replaced:
            return
        tx.execute(
            "DELETE FROM labs l USING staged_corr c WHERE l.patient_id = c.patient_id AND l.analyte = c.analyte "
            "AND l.collected_at = c.collected_at AND NOT EXISTS (SELECT 1 FROM staged_corr e "
            "WHERE e.patient_id = l.patient_id AND e.analyte = l.analyte AND e.collected_at = l.collected_at "
            "AND e.value IS NOT DISTINCT FROM l.value AND coalesce(e.comparator, '') = coalesce(l.comparator, ''))"
        )
    finally:
        tx.con.unregister("staged_corr")
    seen: set[tuple] = set()
    for r in replaced:
        key = (r["patient_id"], r["analyte"], r["collected_at"], r["value"], r["import_id"], r["source_row"])
        if key in seen:
            continue
        seen.add(key)
        f = _file_report(report, r["c_file"], "labs") or (report.files[0] if report.files else None)
        if f is None:
            continue
        old = f"{r['source_value'] or ''} {r['source_unit'] or ''}".strip()
        new = f"{r['c_value'] or ''} {r['c_unit'] or ''}".strip()
        f.warn(
            f"patient {str(r['patient_id'])[:100]}: the {r['analyte']} result {old[:SHOWN_VALUE]} of "
            f"{r['collected_at']} kept from import {r['import_id']} ({r['source_file']} row {r['source_row']}) "
            f"is replaced by the corrected result {new[:SHOWN_VALUE]} (status '{str(r['c_status'])[:SHOWN_VALUE]}', "
            f"row {r['c_row']}) of the same draw: it is no longer graded"
        )
    _count_again(tx, replaced, corrections, report)


def _count_again(tx: Tx, replaced: list[dict], corrections: pa.Table, report: ImportReport) -> None:
    """A count kept from an earlier import that was made from a % differential and the
    WBC a correction of this import has just replaced (H170): made again from the lab's
    percentage (its text as read, ``source_value``) and the corrected WBC, so it is never
    left derived from a WBC that no longer stands.  When that cannot be done from stated
    numbers (two different corrected WBCs of the draw, a percentage text that does not
    read back as the number it was made from, a '<' of one and a '>' of the other) the
    count is removed, no longer graded, and the import report says why; either way the
    report names it, its percentage and the WBCs."""
    old_wbc: dict[tuple, list[tuple[float, str]]] = {}
    for r in replaced:
        if r["analyte"] == "wbc" and r["value"] is not None:
            old_wbc.setdefault((r["patient_id"], r["collected_at"]), []).append((r["value"], r["comparator"] or ""))
    if not old_wbc:
        return
    new_wbc: dict[tuple, dict[tuple[float, str], dict]] = {}
    for c in corrections.filter(pc.equal(corrections.column("analyte"), "wbc")).to_pylist():
        if c["value"] is not None:
            new_wbc.setdefault((c["patient_id"], c["collected_at"]), {}).setdefault(
                (c["value"], c["comparator"] or ""), c
            )
    draws = pa.table(
        {
            "patient_id": pa.array([k[0] for k in old_wbc], pa.string()),
            "collected_at": pa.array([k[1] for k in old_wbc], pa.timestamp("s")),
        }
    )
    tx.con.register("wbc_draws", draws)
    try:
        counts = tx.arrow(
            "SELECT l.patient_id, l.analyte, l.collected_at, l.value, l.comparator, l.source_value, l.source_unit, "
            "l.source_file, l.source_row, l.import_id FROM labs l JOIN wbc_draws d "
            "ON l.patient_id = d.patient_id AND l.collected_at = d.collected_at "
            "WHERE l.derived AND l.analyte <> 'wbc' ORDER BY l.import_id, l.source_file, l.source_row, l.analyte"
        ).to_pylist()
    finally:
        tx.con.unregister("wbc_draws")
    where = (
        "patient_id = ? AND analyte = ? AND collected_at = ? AND derived AND value IS NOT DISTINCT FROM ? "
        "AND comparator = ? AND source_file = ? AND source_row = ? AND import_id = ?"
    )
    for r in counts:
        draw = (r["patient_id"], r["collected_at"])
        key = [r[k] for k in ("patient_id", "analyte", "collected_at", "value", "comparator")]
        key += [r["source_file"], r["source_row"], r["import_id"]]
        pct = _stated_percent(r, old_wbc[draw])
        new = new_wbc.get(draw, {})
        pct_text = f"{str(r['source_value'])[:SHOWN_VALUE]} {str(r['source_unit'])[:SHOWN_VALUE]}".strip()
        was = f"{r['comparator']}{number_text(r['value'])} {model.CANONICAL_UNITS[r['analyte']]}"
        whose = (
            f"patient {str(r['patient_id'])[:100]}: the {model.analyte_label(r['analyte'])} count {was} of "
            f"{r['collected_at']} kept from import {r['import_id']} ({r['source_file']} row {r['source_row']}), "
            f"made from {pct_text} of the WBC this import's correction replaces,"
        )
        why = ""
        if len(new) != 1:
            why = (
                "the draw has two different corrected WBC results: which one the percentage is of is not known"
                if new
                else "the corrected WBC has no number to make it from"
            )
        elif pct is None:
            why = "its percentage text does not read back as the number it was made from"
        else:
            ((w, w_cmp), c) = next(iter(new.items()))
            p, p_cmp = pct
            if w_cmp and p_cmp and w_cmp[:1] != p_cmp[:1]:
                why = "a censored percentage of a WBC censored the other way ('<' and '>') gives the count no bound"
            else:
                cmp_ = product_comparator(w_cmp, p_cmp)
                value = stated_count(w, p)
                tx.execute(f"UPDATE labs SET value = ?, comparator = ? WHERE {where}", [value, cmp_, *key])
                wbc_text = f"{c['source_value'] or ''} {c['source_unit'] or ''}".strip()
                _warn_on(report, c["source_file"]).warn(
                    f"{whose} is made again from the corrected WBC {wbc_text[:SHOWN_VALUE]} ({c['source_file']} "
                    f"row {c['source_row']}): now {cmp_}{number_text(value)} {model.CANONICAL_UNITS[r['analyte']]}"
                )
                continue
        tx.execute(f"DELETE FROM labs WHERE {where}", key)
        files = [c["source_file"] for c in new.values()]
        _warn_on(report, files[0] if files else "").warn(f"{whose} is no longer graded: {why}")


def _stated_percent(count: dict, old_wbc: list[tuple[float, str]]) -> tuple[float, str] | None:
    """The percentage (number, comparator) a stored count was made of, read from its text
    as the lab wrote it, and only when it reads back as that count: it times one of the
    replaced WBCs, written as the import writes it (:func:`stated_count`), is the stored
    value with its comparator.  A text read
    differently under a decimal point and a decimal comma is taken only if exactly one
    reading gives the count."""
    unit = resolve_unit(count["analyte"], str(count["source_unit"] or ""))
    if not unit.percent or unit.factor is None:
        return None
    found: set[tuple[float, str]] = set()
    for decimal in (".", ","):
        p, p_cmp, _, trailing, reason, _ = parse_one(str(count["source_value"] or ""), decimal)
        if reason or (trailing and not resolve_unit(count["analyte"], trailing).percent):
            continue
        p = round(p * unit.factor, 9)  # a "fraction" of 0.5 is 50 %
        for w, w_cmp in old_wbc:
            stored = count["value"]
            if (
                stored is not None
                and math.isclose(stated_count(w, p), stored, rel_tol=0, abs_tol=1e-9)
                and product_comparator(w_cmp, p_cmp) == (count["comparator"] or "")
            ):
                found.add((p, p_cmp))
    return found.pop() if len(found) == 1 else None


def _warn_on(report: ImportReport, name: str) -> FileReport:
    """The report of the labs file ``name`` of this import, else its first file's."""
    return _file_report(report, name, "labs") or report.files[0]


#: The draw of a result: patient, test, collection time.
_DRAW = ("patient_id", "analyte", "collected_at")
_SAME_DRAW = "{a}.patient_id = {b}.patient_id AND {a}.analyte = {b}.analyte AND {a}.collected_at = {b}.collected_at"
_SAME_RESULT = (
    _SAME_DRAW + " AND {a}.value IS NOT DISTINCT FROM {b}.value AND coalesce({a}.comparator, '') = "
    "coalesce({b}.comparator, '')"
)


def same_result(a: str, b: str) -> str:
    """SQL: the rows ``a`` and ``b`` are the same result (the key the workspace knows a
    result by: patient, test, draw time, value and comparator)."""
    return _SAME_RESULT.format(a=a, b=b)


def _withdraw(
    tx: Tx, labs: pa.Table, sex_limits: pa.Table | None, corrections: pa.Table | None
) -> tuple[pa.Table, pa.Table | None, pa.Table | None, dict[tuple[str, int], list[Problem]]]:
    """The results of this import withdrawn by a correction the workspace holds (H321):
    a result not stored yet of a draw whose correction, stored by an earlier import, still
    stands in ``labs`` (the result that correction replaced, sent again in an older file
    re-saved under another hash; another value of that draw; a correction the workspace
    has since replaced by a later one), unless this import brings a correction of that
    draw the workspace has never seen (the newer word, H132); and those the lab withdrew
    (a withdrawal an earlier import recorded of the same result: patient, test, time,
    value and comparator, H531).  A count this import made from a % differential and a
    WBC so withdrawn goes with it (H170).

    Returns the labs (and their limits per sex) without them, this import's corrections
    without those the workspace has already recorded (they replace nothing again), and the
    withdrawn results' problems by (file, row)."""
    corrected = _keeps_corrections(tx) and bool(tx.one("SELECT count(*) > 0 FROM lab_corrections"))
    pulled = _keeps_withdrawals(tx) and bool(tx.one("SELECT count(*) > 0 FROM lab_withdrawals"))
    if not corrected and not pulled:
        return labs, sex_limits, corrections, {}
    labs = model.conform("labs", labs)
    if corrected and corrections is not None and corrections.num_rows:
        tx.con.register("w_corr", corrections)
        try:
            corrections = tx.arrow(
                "SELECT * FROM w_corr e WHERE NOT EXISTS (SELECT 1 FROM lab_corrections c WHERE "
                + _SAME_RESULT.format(a="c", b="e")
                + ")"
            )
        finally:
            tx.con.unregister("w_corr")
    if not labs.num_rows:
        return labs, sex_limits, corrections, {}
    fresh = corrections if corrections is not None and corrections.num_rows else None
    staged = labs.select([*_DRAW, "value", "comparator", "derived"]).append_column(
        "_i", pa.array(range(labs.num_rows), pa.int64())
    )
    fresh_draws = fresh.select(list(_DRAW)) if fresh is not None else staged.select(list(_DRAW)).slice(0, 0)
    tx.con.register("w_staged", staged)
    tx.con.register("w_fresh", fresh_draws)
    try:
        hits = (
            tx.arrow(
                "WITH standing AS (SELECT c.*, i.imported_at FROM lab_corrections c JOIN imports i USING (import_id) "
                "WHERE EXISTS (SELECT 1 FROM labs l WHERE " + _SAME_RESULT.format(a="l", b="c") + ")) "
                "SELECT s._i, c.analyte, c.source_value, c.source_unit, c.status, c.source_file, c.source_row, "
                "c.import_id, c.imported_at FROM w_staged s JOIN standing c ON " + _SAME_DRAW.format(a="s", b="c") + " "
                "WHERE NOT EXISTS (SELECT 1 FROM labs l WHERE " + _SAME_RESULT.format(a="l", b="s") + ") "
                "AND NOT EXISTS (SELECT 1 FROM w_fresh f WHERE " + _SAME_DRAW.format(a="f", b="s") + ") "
                "ORDER BY s._i, c.import_id, c.source_file, c.source_row"
            ).to_pylist()
            if corrected
            else []
        )
        gone = (
            tx.arrow(
                "SELECT s._i, w.analyte, w.source_value, w.source_unit, w.status, w.source_file, w.source_row, "
                "w.import_id, i.imported_at FROM w_staged s JOIN lab_withdrawals w ON "
                + _SAME_RESULT.format(a="s", b="w")
                + " JOIN imports i ON i.import_id = w.import_id WHERE NOT EXISTS (SELECT 1 FROM labs l WHERE "
                + _SAME_RESULT.format(a="l", b="s")
                + ") ORDER BY s._i, w.import_id, w.source_file, w.source_row"
            ).to_pylist()
            if pulled
            else []
        )
    finally:
        tx.con.unregister("w_staged")
        tx.con.unregister("w_fresh")
    if not hits and not gone:
        return labs, sex_limits, corrections, {}
    # per result: why it is not stored, the correction standing first (its draw's word)
    by_result: dict[int, tuple[Callable[..., str], list[dict]]] = {}
    for h in hits:
        by_result.setdefault(int(h["_i"]), (_withdrawn_message, []))[1].append(h)
    for g in gone:
        i = int(g["_i"])
        if by_result.get(i, (_pulled_message, []))[0] is _pulled_message:
            by_result.setdefault(i, (_pulled_message, []))[1].append(g)
    # only the rows withdrawn, and the counts this file made from a % (a few), as Python
    # objects: never the whole import
    rows = _rows_at(labs, sorted(by_result))
    said = {i: say(rows[i], c) for i, (say, c) in by_result.items()}
    wbc = {
        (rows[i]["patient_id"], rows[i]["collected_at"]): (rows[i], c, say)
        for i, (say, c) in by_result.items()
        if rows[i]["analyte"] == "wbc"
    }
    if wbc:  # a count this file made from a withdrawn WBC (H170)
        made = pc.fill_null(pc.and_(labs.column("derived"), pc.not_equal(labs.column("analyte"), "wbc")), False)
        counts = _rows_at(labs, np.flatnonzero(made.to_numpy(zero_copy_only=False)).tolist())
        rows.update(counts)
        for i, r in counts.items():
            made_from = wbc.get((r["patient_id"], r["collected_at"]))
            if i not in said and made_from is not None:
                said[i] = made_from[2](r, made_from[1], made_from[0])
    withdrawn: dict[tuple[str, int], list[Problem]] = {}
    for i, message in sorted(said.items()):
        r = rows[i]
        withdrawn.setdefault((r["source_file"], r["source_row"]), []).append(
            Problem(
                r["source_row"],
                None,
                message,
                str(r["source_value"] or ""),
                str(r["patient_id"]),
                r["analyte"],
                r["collected_at"].isoformat(),
            )
        )
    keep = np.ones(labs.num_rows, dtype=bool)
    keep[list(said)] = False
    keep = pa.array(keep)
    limits = sex_limits.filter(keep) if sex_limits is not None and sex_limits.num_rows == labs.num_rows else sex_limits
    return labs.filter(keep), limits, corrections, withdrawn


def _rows_at(t: pa.Table, at: list[int]) -> dict[int, dict]:
    """The rows of ``t`` at the positions ``at``, as dicts by position."""
    return dict(zip(at, t.take(pa.array(at, pa.int64())).to_pylist(), strict=True)) if at else {}


def _what_is_not_stored(row: dict, wbc: dict | None) -> str:
    """The result of this import that is not stored, in words ("the Platelets result 40
    10^9/L of 2026-10-20 09:00 was"), or, for a count made from a % differential and this
    file's ``wbc``, that count and the WBC it was made from ("...: that WBC was")."""
    shown = f"{row['source_value'] or ''} {row['source_unit'] or ''}".strip()[:SHOWN_VALUE]
    when = f"{row['collected_at']:%Y-%m-%d %H:%M}"
    if wbc is None:
        return f"the {model.analyte_label(row['analyte'])} result {shown} of {when} was"
    used = f"{wbc['source_value'] or ''} {wbc['source_unit'] or ''}".strip()[:SHOWN_VALUE]
    return (
        f"the {model.analyte_label(row['analyte'])} count of {when} made from {shown} and this file's WBC {used}: "
        "that WBC was"
    )


def _withdrawn_message(row: dict, standing: list[dict], wbc: dict | None = None) -> str:
    """Why a result of this import is not stored: the correction of its draw that stands
    (its value, status, file, row, import and the day it was imported); for a count made
    from a % differential and this file's ``wbc``, the correction of that WBC."""
    c = standing[0]
    correction = f"{model.analyte_label(c['analyte'])} {c['source_value'] or ''} {c['source_unit'] or ''}".strip()
    others = f" and {len(standing) - 1} other correction(s) of the draw" if len(standing) > 1 else ""
    what = _what_is_not_stored(row, wbc)
    return (
        f"patient {str(row['patient_id'])[:100]}: {what} replaced by the correction imported on "
        f"{c['imported_at']:%d %b %Y} ({correction[:SHOWN_VALUE]}, status '{str(c['status'])[:SHOWN_VALUE]}', "
        f"{c['source_file']} row {c['source_row']}, import {c['import_id']}){others} of the same draw (patient, "
        "test and time): not stored again and not graded"
    )


def _pulled_message(row: dict, recorded: list[dict], wbc: dict | None = None) -> str:
    """Why a result of this import is not stored: the lab withdrew it (H531), by the
    withdrawal an earlier import recorded (its status, file, row, import and the day it
    was imported); for a count made from a % differential and this file's ``wbc``, the
    withdrawal of that WBC."""
    w = recorded[0]
    what = _what_is_not_stored(row, wbc)
    return (
        f"patient {str(row['patient_id'])[:100]}: {what} withdrawn by the lab (status "
        f"'{str(w['status'])[:SHOWN_VALUE]}', {w['source_file']} row {w['source_row']}, import {w['import_id']} "
        f"of {w['imported_at']:%d %b %Y}): not stored again and not graded; ask the lab if it stands again"
    )


def _withdraw_stored(tx: Tx, withdrawals: pa.Table | None, labs: pa.Table, import_id: int, report: ImportReport) -> int:
    """The lab's withdrawals of this import (a result marked entered-in-error, "Deleted",
    HL7 ``W`` ...; :func:`dashboard.ingest.labs.withdrawals`) take the same result (patient,
    test, time, value and comparator: the key the workspace knows a result by) kept from
    an earlier import out of ``labs``, so it is no longer graded (H530).  Never silently:
    the withdrawal's file report says, on a line of its own, which stored result (its
    value as the lab wrote it, its file, row and import) and which row withdrew it, and
    ``lab_withdrawals`` keeps both, so the workspace lists it and a later import that
    sends it again has it rejected naming the withdrawal (H531).  A count kept from a %
    differential and a withdrawn WBC of its draw goes with the WBC (H170).

    A withdrawal of a result this import itself keeps (a later version the import's own
    reading took as the lab's latest word, H350, H469) and one the workspace has already
    recorded withdraw nothing.  Returns how many stored results were taken out."""
    if withdrawals is None or not withdrawals.num_rows or not _keeps_withdrawals(tx):
        return 0
    tx.con.register("wd_new", withdrawals)
    tx.con.register("wd_kept", model.conform("labs", labs).select([*_DRAW, "value", "comparator"]))
    try:
        tx.execute(
            "CREATE TEMP TABLE wd_taken AS WITH w AS (SELECT DISTINCT ON (patient_id, analyte, collected_at, value, "
            "coalesce(comparator, '')) patient_id, analyte, collected_at, value, coalesce(comparator, '') AS comparator, "
            "coalesce(source_value, '') AS source_value, coalesce(source_unit, '') AS source_unit, "
            "coalesce(status, '') AS status, coalesce(source_file, '') AS source_file, "
            "coalesce(source_row, 0) AS source_row FROM wd_new e "
            "WHERE NOT EXISTS (SELECT 1 FROM wd_kept k WHERE " + _SAME_RESULT.format(a="k", b="e") + ") "
            "AND NOT EXISTS (SELECT 1 FROM lab_withdrawals r WHERE " + _SAME_RESULT.format(a="r", b="e") + ") "
            "ORDER BY source_file, source_row) "
            "SELECT w.*, l.source_file AS stored_file, l.source_row AS stored_row, l.import_id AS stored_import, "
            "l.source_value AS stored_value, l.source_unit AS stored_unit, l.derived AS stored_derived "
            "FROM w LEFT JOIN labs l ON " + _SAME_RESULT.format(a="l", b="w")
        )
    finally:
        tx.con.unregister("wd_new")
        tx.con.unregister("wd_kept")
    try:
        taken = tx.arrow(
            "SELECT * FROM wd_taken WHERE stored_file IS NOT NULL ORDER BY source_file, source_row"
        ).to_pylist()
        if taken:
            tx.execute("DELETE FROM labs l USING wd_taken w WHERE " + _SAME_RESULT.format(a="l", b="w"))
        made = _counts_of_withdrawn_wbc(tx, [t for t in taken if t["analyte"] == "wbc"])
        tx.execute(
            "INSERT INTO lab_withdrawals SELECT patient_id, analyte, collected_at, value, comparator, source_value, "
            f"source_unit, status, source_file, source_row, {import_id}, stored_file, stored_row, stored_import, "
            "stored_value, stored_unit FROM wd_taken ORDER BY source_file, source_row"
        )
    finally:
        tx.execute("DROP TABLE wd_taken")
    for t in taken:
        stored = f"{t['stored_value'] or ''} {t['stored_unit'] or ''}".strip()[:SHOWN_VALUE]
        _warn_on(report, t["source_file"]).warn(
            f"patient {str(t['patient_id'])[:100]}: the {model.analyte_label(t['analyte'])} result {stored} of "
            f"{t['collected_at']:%Y-%m-%d %H:%M} kept from import {t['stored_import']} ({t['stored_file']} row "
            f"{t['stored_row']}) is withdrawn by the lab: {t['source_file']} row {t['source_row']} marks it "
            f"'{str(t['status'])[:SHOWN_VALUE]}'; it is no longer graded (the workspace keeps it among the "
            "withdrawn results)",
            t["source_row"],
        )
    for wbc, count in made:
        pct = f"{count['source_value'] or ''} {count['source_unit'] or ''}".strip()[:SHOWN_VALUE]
        was = f"{count['comparator']}{number_text(count['value'])} {model.CANONICAL_UNITS[count['analyte']]}"
        _warn_on(report, wbc["source_file"]).warn(
            f"patient {str(count['patient_id'])[:100]}: the {model.analyte_label(count['analyte'])} count {was} of "
            f"{count['collected_at']:%Y-%m-%d %H:%M} kept from import {count['import_id']} ({count['source_file']} "
            f"row {count['source_row']}), made from {pct} of the WBC the lab withdrew ({wbc['source_file']} row "
            f"{wbc['source_row']}), is no longer graded either (kept among the withdrawn results)",
            wbc["source_row"],
        )
        tx.execute(
            "INSERT INTO lab_withdrawals VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                count["patient_id"],
                count["analyte"],
                count["collected_at"],
                count["value"],
                count["comparator"] or "",
                "",
                "",
                f"made from a withdrawn WBC ({str(wbc['status'])[:SHOWN_VALUE]})",
                wbc["source_file"],
                wbc["source_row"],
                import_id,
                count["source_file"],
                count["source_row"],
                count["import_id"],
                count["source_value"],
                count["source_unit"],
            ],
        )
    return len(taken) + len(made)


def _counts_of_withdrawn_wbc(tx: Tx, wbcs: list[dict]) -> list[tuple[dict, dict]]:
    """The counts kept from a % differential of a WBC the lab withdrew (H170): each
    stored derived count of its draw whose percentage reads back as that count of that
    WBC (:func:`_stated_percent`), or of a draw left with no WBC at all; removed from
    ``labs``, returned as (the WBC's withdrawal, the count)."""
    out: list[tuple[dict, dict]] = []
    where = (
        "patient_id = ? AND analyte = ? AND collected_at = ? AND derived AND value IS NOT DISTINCT FROM ? "
        "AND comparator = ? AND source_file = ? AND source_row = ? AND import_id = ?"
    )
    for w in wbcs:
        counts = tx.arrow(
            "SELECT patient_id, analyte, collected_at, value, comparator, source_value, source_unit, source_file, "
            "source_row, import_id FROM labs WHERE patient_id = ? AND collected_at = ? AND derived "
            "AND analyte <> 'wbc' ORDER BY import_id, source_file, source_row, analyte",
            [w["patient_id"], w["collected_at"]],
        ).to_pylist()
        if not counts:
            continue
        left = tx.one(
            "SELECT count(*) FROM labs WHERE patient_id = ? AND collected_at = ? AND analyte = 'wbc'",
            [w["patient_id"], w["collected_at"]],
        )
        for c in counts:
            if left and _stated_percent(c, [(w["value"], w["comparator"] or "")]) is None:
                continue  # made from the draw's other WBC, which stands
            key = [c[k] for k in ("patient_id", "analyte", "collected_at", "value", "comparator")]
            tx.execute(f"DELETE FROM labs WHERE {where}", [*key, c["source_file"], c["source_row"], c["import_id"]])
            out.append((w, c))
    return out


def withdrawn_results(tx: Tx, patient_id: str | None) -> list[dict[str, Any]]:
    """The stored results the lab withdrew (``lab_withdrawals`` rows that took a result out
    of ``labs``), with the day of the import that withdrew each; see
    :meth:`dashboard.store.workspace.Workspace.withdrawn_results`."""
    if not _keeps_withdrawals(tx):
        return []
    where, params = ("AND w.patient_id = ?", [patient_id]) if patient_id is not None else ("", [])
    return tx.arrow(
        "SELECT w.*, i.imported_at FROM lab_withdrawals w JOIN imports i USING (import_id) "
        f"WHERE w.stored_file IS NOT NULL {where} ORDER BY w.import_id, w.source_file, w.source_row, w.analyte",
        params,
    ).to_pylist()


def withdrawn_count(tx: Tx) -> int:
    """How many stored results the lab withdrew (the rows :func:`withdrawn_results` lists),
    counted in the database."""
    if not _keeps_withdrawals(tx):
        return 0
    return int(tx.one("SELECT count(*) FROM lab_withdrawals WHERE stored_file IS NOT NULL"))


def _keeps_withdrawals(tx: Tx) -> bool:
    """Is there the table of schema 10 (as :func:`_keeps_corrections`)?"""
    return _has_table(tx, "lab_withdrawals")


def _store_corrections(tx: Tx, corrections: pa.Table | None, import_id: int) -> None:
    """Keep the corrections this import brought that the workspace has not recorded (H321)."""
    if corrections is None or not corrections.num_rows or not _keeps_corrections(tx):
        return
    tx.con.register("new_corr", corrections)
    try:
        tx.execute(
            "INSERT INTO lab_corrections SELECT DISTINCT ON (patient_id, analyte, collected_at, value, "
            "coalesce(comparator, '')) patient_id, analyte, collected_at, value, coalesce(comparator, ''), "
            "coalesce(source_value, ''), coalesce(source_unit, ''), coalesce(_corr, ''), coalesce(source_file, ''), "
            f"coalesce(source_row, 0), {import_id} FROM new_corr e WHERE NOT EXISTS (SELECT 1 FROM lab_corrections c "
            "WHERE " + _SAME_RESULT.format(a="c", b="e") + ") ORDER BY source_file, source_row"
        )
    finally:
        tx.con.unregister("new_corr")


def _keeps_corrections(tx: Tx) -> bool:
    """Is there the table of schema 9 (as :func:`_keeps_sex_limits`)?"""
    return _has_table(tx, "lab_corrections")


def _has_table(tx: Tx, name: str) -> bool:
    """Does the store have the table ``name`` (one added by a later schema; a store always
    migrates before it writes, only a test that plays an older dashboard writes to an
    older schema)?"""
    return bool(
        tx.one("SELECT count(*) FROM information_schema.tables WHERE table_schema = 'main' AND table_name = ?", [name])
    )


def _store_labs(
    tx: Tx,
    labs: pa.Table,
    import_id: int,
    report: ImportReport,
    out: WorkspaceImport,
    sex_limits: pa.Table | None,
    withdrawn: dict[tuple[str, int], list[Problem]] | None = None,
) -> None:
    """Add the results not stored yet, with the limits of a range given per sex (H172);
    count those already stored as duplicates and the ``withdrawn`` ones (H321) as rejected."""
    labs = model.conform("labs", labs)
    dups: list[dict[str, Any]] = []
    if labs.num_rows:
        _say_stored_clashes(tx, labs, report)
        dups = _insert_labs(tx, labs, import_id, sex_limits)
    withdrawn = withdrawn or {}
    kept: dict[tuple[str, int], int] = {}
    if withdrawn:
        for key in zip(labs.column("source_file").to_pylist(), labs.column("source_row").to_pylist(), strict=True):
            kept[key] = kept.get(key, 0) + 1
    per_file: dict[str, int] = {}
    dup_of = {(r["source_file"], r["source_row"]): (r["n"], r["d"]) for r in dups}
    for r in dups:
        per_file[r["source_file"]] = per_file.get(r["source_file"], 0) + r["d"]
    for file, row in sorted({*dup_of, *withdrawn}, key=lambda k: (str(k[0]), k[1] or 0)):
        f = _file_report(report, file, "labs")
        if f is None:
            continue
        n, d = dup_of.get((file, row), (kept.get((file, row), 0), 0))
        gone = withdrawn.get((file, row), [])
        # a row is accepted while one of its results is added, a duplicate when all its
        # results are, else rejected (as the importer settles a row, dashboard/ingest/labs.py)
        added = n - d
        if gone:
            f.accepted_was_rejected(gone, rows=1 if not added else 0, results=len(gone))
            if d:
                f.accepted_was_duplicate(rows=0, results=d)
        elif d:
            f.accepted_was_duplicate(rows=1 if d == n else 0, results=d)
    for name, d in per_file.items():
        f = _file_report(report, name, "labs")
        if f is not None:
            f.warn(f"{d:,} results already in the workspace (imported earlier) were not added again")
    out.labs_duplicate = sum(per_file.values())
    out.labs_added = labs.num_rows - out.labs_duplicate


def _say_stored_clashes(tx: Tx, labs: pa.Table, report: ImportReport) -> None:
    """Say, on its row, each result that gives another value for a draw the workspace already
    holds (the same patient, test and time; no correction status): both are kept, as within
    one import, and the import says so as it does there (probe34 F4)."""
    if not tx.one("SELECT count(*) > 0 FROM labs"):
        return
    tx.con.register(
        "staged_clash",
        labs.select(["patient_id", "analyte", "collected_at", "value", "comparator", "source_file", "source_row"]),
    )
    try:
        rows = tx.arrow(
            "SELECT s.source_file, s.source_row, s.analyte, s.comparator || CAST(s.value AS VARCHAR) AS here, "
            "string_agg(DISTINCT l.comparator || CAST(l.value AS VARCHAR), ', ') AS stored, "
            "strftime(s.collected_at, '%Y-%m-%d %H:%M') AS at "
            "FROM staged_clash s JOIN labs l ON s.patient_id = l.patient_id AND s.analyte = l.analyte "
            "AND s.collected_at = l.collected_at "
            "GROUP BY ALL HAVING bool_and(NOT (s.value = l.value AND s.comparator = l.comparator))"
        ).to_pylist()
    finally:
        tx.con.unregister("staged_clash")
    for r in rows:
        f = _file_report(report, r["source_file"], "labs")
        if f is not None:
            f.warn(
                f"different {model.analyte_label(r['analyte'])} result at the same time ({r['at']}) as one already in "
                f"the workspace: {r['here']} here, {r['stored']} stored; both are kept - check the source",
                r["source_row"],
            )


def _insert_labs(tx: Tx, labs: pa.Table, import_id: int, sex_limits: pa.Table | None) -> list[dict[str, Any]]:
    """Insert the results not stored yet; per (file, row) with a duplicate: its results
    here (n) and how many of them were already stored (d)."""
    extra = ""
    if sex_limits is not None and sex_limits.num_rows == labs.num_rows and _keeps_sex_limits(tx):
        for name in SEX_LIMITS:
            labs = labs.append_column(name, sex_limits.column(name))
        extra = ", " + ", ".join(SEX_LIMITS)
    into = f"INSERT INTO labs ({cols('labs')}, import_id{extra}) SELECT {cols('labs')}, {import_id}{extra}"
    tx.con.register("staged_labs", labs)
    try:
        if not tx.one("SELECT count(*) > 0 FROM labs"):
            tx.execute(f"{into} FROM staged_labs")
            return []
        tx.execute(
            "CREATE TEMP TABLE staged_marked AS SELECT s.*, (l.patient_id IS NOT NULL) AS _dup FROM staged_labs s "
            "LEFT JOIN (SELECT patient_id, analyte, collected_at, value, comparator FROM labs) l "
            "ON s.patient_id = l.patient_id AND s.analyte = l.analyte AND s.collected_at = l.collected_at "
            "AND s.value = l.value AND s.comparator = l.comparator"
        )
        tx.execute(f"{into} FROM staged_marked WHERE NOT _dup")
        dups = tx.arrow(
            "SELECT source_file, source_row, count(*) AS n, count(*) FILTER (WHERE _dup) AS d "
            "FROM staged_marked GROUP BY ALL HAVING d > 0"
        ).to_pylist()
        tx.execute("DROP TABLE staged_marked")
    finally:
        tx.con.unregister("staged_labs")
    return dups


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
                    f"SELECT {cols('patients')} FROM patients WHERE patient_id IN (SELECT patient_id FROM staged_ids)"
                ),
            ).to_pylist()
        }
    finally:
        tx.con.unregister("staged_ids")
    disputed: dict[str, list[IdentityConflict]] = {}
    for kept in disputes(tx, ids, RULE_FIELDS):
        disputed.setdefault(kept.patient_id, []).append(kept)
    inserts, updates = [], []
    for row in patients.to_pylist():
        old = existing.get(row["patient_id"])
        f = _file_report(report, row["source_file"], "patients") if row["source_file"] else None
        held = _still_disputed(row, disputed.get(row["patient_id"], []))  # a third source does not settle it
        for dispute in held:
            report.identity_conflicts.append(dispute)
            if f is not None:
                f.warn("identity conflict: " + dispute.message, row["source_row"], dispute.field)
        if old is None:
            inserts.append(row)
            continue
        m = merge_details(old, row)
        for c in m.conflicts:  # never overwritten: reported, the stored one kept
            # "the workspace": the stored row's file is the last that updated the patient,
            # not necessarily the one that gave this value
            _identity_conflict(report, c, {**old, "source_file": "the workspace", "source_row": 0}, row, f)
        unknown = leave_unknown(m.row, m.conflicts)  # a sex two sources disagree on: the rules use neither
        if m.duplicate and not held:
            if f is not None:
                f.accepted_was_duplicate()
            continue
        if not m.updated and not unknown:  # only a conflict: nothing to store
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
            f"INSERT INTO patients ({cols('patients')}, import_id, updated_at) "
            f"SELECT {cols('patients')}, {import_id}, ? FROM staged_patients",
            [now],
        )
        tx.con.unregister("staged_patients")
    out.patients_added, out.patients_updated = len(inserts), len(updates)


def disputes(tx: Tx, patient_ids: Sequence[str] | None = None, fields: Sequence[str] = ()) -> list[IdentityConflict]:
    """The identity conflicts kept in the workspace (all patients, or these), one per
    patient and field, each value once with where it was first seen, with the latest
    settlement (:func:`settle`) in words."""
    where: list[str] = []
    params: list[str] = []
    if patient_ids is not None:
        if not patient_ids:
            return []
        tx.con.register("dispute_ids", pa.table({"patient_id": list(patient_ids)}))
        where.append("patient_id IN (SELECT patient_id FROM dispute_ids)")
    if fields:
        where.append(f"field IN ({', '.join('?' for _ in fields)})")
        params.extend(fields)
    condition = f" WHERE {' AND '.join(where)}" if where else ""
    try:
        rows = tx.arrow(
            f"SELECT patient_id, field, value, source_file, source_row FROM identity_disputes{condition}"
            " ORDER BY patient_id, field, rowid",  # as recorded: each conflict's values in order
            params,
        ).to_pylist()
        settled = tx.arrow(
            f"SELECT patient_id, field, value, note, settled_by, settled_at FROM identity_settlements{condition}"
            " ORDER BY rowid",  # the latest settlement of a field holds
            params,
        ).to_pylist()
    finally:
        if patient_ids is not None:
            tx.con.unregister("dispute_ids")
    out: dict[tuple[str, str], IdentityConflict] = {}
    for r in rows:
        c = out.setdefault((r["patient_id"], r["field"]), IdentityConflict(r["patient_id"], r["field"]))
        if all(v != r["value"] for v, _f, _r in c.values):
            c.values.append((r["value"], r["source_file"], int(r["source_row"] or 0)))
    for r in settled:
        dispute = out.get((r["patient_id"], r["field"]))
        if dispute is not None:
            note = f": {r['note']}" if r["note"] else ""
            dispute.settled = f"'{r['value']}' by {r['settled_by']} on {r['settled_at']:%d %b %Y}{note}"
            dispute.settled_value = r["value"]
    return list(out.values())


def _still_disputed(row: dict[str, Any], disputed: list[IdentityConflict]) -> list[IdentityConflict]:
    """Of the stored disputes of ``row``'s patient, those over a field the row gives.  The row's
    value is never used (blanked in ``row``): a dispute stays unknown, a settled one keeps
    its settled value.  Each dispute the row's value reopens or contradicts comes back with
    that value added (a value that agrees with the settlement says nothing new)."""
    out = []
    for c in disputed:
        value = identity_value(c.field, row.get(c.field))
        if not value:
            continue
        row[c.field] = unknown_value(c.field)
        if c.settled and value == c.settled_value:
            continue
        again = IdentityConflict(c.patient_id, c.field, [*c.values, (value, row["source_file"], row["source_row"])])
        again.settled, again.settled_value = c.settled, c.settled_value
        out.append(again)
    return out


def check_settlement(patient_id: str, field_name: str, value: str, note: str, by: str) -> None:
    """Reject a settlement that is incomplete or not a value the rules read."""
    problems = []
    if not patient_id.strip():
        problems.append("a patient is needed")
    allowed = SETTLED_FIELDS.get(field_name)
    if allowed is None:
        problems.append(f"only {', '.join(SETTLED_FIELDS)} can be settled here")
    elif not allowed:  # a date: the date of birth (H607)
        try:
            day = dt.date.fromisoformat(value)
        except ValueError:
            problems.append("give the date as YYYY-MM-DD")
        else:
            if not dt.date(1900, 1, 1) <= day <= dt.date.today():
                problems.append("give a date of birth between 1900 and today")
    elif value not in allowed:
        problems.append(f"choose {' or '.join(allowed)}")
    if not by.strip():
        problems.append("say who checked")
    if not note.strip():
        problems.append("say how it was checked (e.g. with the patient, the hospital record)")
    if problems:
        raise EntryRejected(problems)


def settle(tx: Tx, now: dt.datetime, patient_id: str, field_name: str, value: str, note: str, by: str) -> None:
    """A clinician who checked records the value of a disputed identity field: kept
    (append-only, the latest holds), written to the patient's details, used by the rules,
    and a later file that says otherwise is reported, never used."""
    check_settlement(patient_id, field_name, value, note, by)
    if not any(c.field == field_name for c in disputes(tx, [patient_id])):
        raise EntryRejected([f"patient {patient_id} has no {field_name} conflict to settle"])
    tx.execute(
        "INSERT INTO identity_settlements VALUES (?, ?, ?, ?, ?, ?)",
        [patient_id, field_name, value, note.strip(), by.strip(), now.replace(microsecond=0)],
    )
    stored: object = dt.date.fromisoformat(value) if field_name == "birth_date" else value
    tx.execute(f'UPDATE patients SET "{field_name}" = ? WHERE patient_id = ?', [stored, patient_id])
    if field_name == "sex":
        apply_sex_ranges(tx)
    bump(tx)


def apply_sex_ranges(tx: Tx) -> tuple[int, int]:
    """Read again the limits of each stored result whose range the lab gave per sex
    (H172) by its patient's sex as the workspace now holds it (a sex two sources disagree
    on is stored unknown): the man's or the woman's limits, none while the sex is
    unknown, as the import chooses them (H130, H144).  Returns how many results now use
    a range for the patient's sex, and how many no longer use one."""
    if not _keeps_sex_limits(tx):
        return 0, 0
    given = " OR ".join(f"l.{c} IS NOT NULL" for c in SEX_LIMITS)
    low = "CASE p.sex WHEN 'M' THEN l.ref_low_m WHEN 'F' THEN l.ref_low_f ELSE 'NaN'::DOUBLE END"
    high = "CASE p.sex WHEN 'M' THEN l.ref_high_m WHEN 'F' THEN l.ref_high_f ELSE 'NaN'::DOUBLE END"
    changed = (
        f"FROM labs l JOIN patients p ON l.patient_id = p.patient_id WHERE ({given}) "
        f"AND (l.ref_low IS DISTINCT FROM {low} OR l.ref_high IS DISTINCT FROM {high})"
    )
    known, unknown = tx.execute(
        f"SELECT count(*) FILTER (WHERE p.sex IN ('M', 'F')), count(*) FILTER (WHERE p.sex NOT IN ('M', 'F')) {changed}"
    ).fetchall()[0]
    if known or unknown:
        tx.execute(
            f"UPDATE labs SET ref_low = {low.replace('l.', 'labs.')}, ref_high = {high.replace('l.', 'labs.')} "
            f"FROM patients p WHERE labs.patient_id = p.patient_id AND ({given.replace('l.', 'labs.')})"
        )
    return int(known), int(unknown)


def _keeps_sex_limits(tx: Tx) -> bool:
    """Does the labs table have the columns of schema 7 (a store always migrates before it
    writes; only a test that plays an older dashboard writes to an older schema)?"""
    return bool(
        tx.one(
            "SELECT count(*) FROM information_schema.columns WHERE table_schema = 'main' "
            f"AND table_name = 'labs' AND column_name = '{SEX_LIMITS[0]}'"
        )
    )


def _keeps_aliases(tx: Tx) -> bool:
    """Is there the table of schema 8 (as :func:`_keeps_sex_limits`, for a test that plays
    an older dashboard)?"""
    return _has_table(tx, "patient_identifiers")


def _say_sex_ranges(report: ImportReport, counts: tuple[int, int]) -> None:
    """The import's report says what reading the stored ranges per sex again changed."""
    known, unknown = counts
    if not report.files or not (known or unknown):
        return
    f = next((f for f in report.files if f.kind == "patients"), report.files[0])
    if known:
        f.warn(
            f"{known} stored result(s) with a reference range given per sex are now read for the patient's sex "
            "this import gives"
        )
    if unknown:
        f.warn(
            f"{unknown} stored result(s) with a reference range given per sex no longer use it: the patient's sex "
            "is now unknown (two sources disagree), so the default limits apply"
        )


def _mark_settled(tx: Tx, conflicts: Sequence[IdentityConflict]) -> None:
    """An import's conflict over a field a clinician has settled says so (the settled
    value stays in force: the import left the field blank, so the merge kept it)."""
    if not conflicts:
        return
    settled = {(c.patient_id, c.field): c for c in disputes(tx, [c.patient_id for c in conflicts]) if c.settled}
    for c in conflicts:
        kept = settled.get((c.patient_id, c.field))
        if kept is not None and not c.settled:
            c.settled, c.settled_value = kept.settled, kept.settled_value


def backfill_disputes(tx: Tx) -> None:
    """Schema 5: keep the identity conflicts of the imports made before it, from their
    stored reports (a sex two files disagreed on then stays unknown)."""
    rows = tx.execute("SELECT import_id, report FROM imports ORDER BY import_id").fetchall()
    for import_id, text in rows:
        try:
            found = json.loads(text).get("identity_conflicts") or []
        except (ValueError, AttributeError):
            continue  # an import log entry that is not a report: nothing to keep
        conflicts = [IdentityConflict.from_dict(c) for c in found if isinstance(c, dict)]
        _store_disputes(tx, conflicts, int(import_id))


def _store_disputes(tx: Tx, conflicts: Sequence[IdentityConflict], import_id: int) -> None:
    """Keep every value of this import's identity conflicts that the workspace does not have yet."""
    if not conflicts:
        return
    known = {
        (c.patient_id, c.field, v) for c in disputes(tx, [c.patient_id for c in conflicts]) for v, _f, _r in c.values
    }
    rows = []
    for c in conflicts:
        for value, file, source_row in c.values:
            if value and (c.patient_id, c.field, value) not in known:
                known.add((c.patient_id, c.field, value))
                rows.append((c.patient_id, c.field, value, file, int(source_row or 0), import_id))
    if rows:
        names = ["patient_id", "field", "value", "source_file", "source_row", "import_id"]
        tx.con.register("staged_disputes", pa.table(dict(zip(names, map(list, zip(*rows, strict=True)), strict=True))))
        tx.execute(f"INSERT INTO identity_disputes ({', '.join(names)}) SELECT {', '.join(names)} FROM staged_disputes")
        tx.con.unregister("staged_disputes")


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


def _store_doses(
    tx: Tx, doses: pa.Table, import_id: int, now: dt.datetime, by: str, report: ImportReport, out: WorkspaceImport
) -> None:
    """Add the import's doses not stored yet; the same dose stored already is a duplicate,
    merged by the import's own rule (:func:`dashboard.ingest.dose_repeats.repeat_of`: an
    end given now is recorded, two different ends are said and the stored one kept), and a
    dose of another amount from the start of a stored dose is said on its row."""
    doses = model.conform("doses", doses)
    if not doses.num_rows:
        return
    existing: dict[tuple, dict[str, Any]] = {}
    by_start: dict[tuple, list[dict[str, Any]]] = {}
    stored = tx.arrow(f"SELECT dose_id, {stored_cols(tx, 'doses')}, import_id, entered_by FROM doses").to_pylist()
    for r in stored:
        existing.setdefault(dose_key(r), r)
        by_start.setdefault(start_key(r), []).append(r)
    next_id = int(tx.one("SELECT coalesce(max(dose_id), 0) + 1 FROM doses"))
    new_rows = []
    for row in doses.to_pylist():
        match = existing.get(dose_key(row))
        f = _file_report(report, row["source_file"], "doses")
        if match is None:
            row["dose_id"] = next_id
            existing[dose_key(row)] = row
            next_id += 1
            new_rows.append(row)
            continue
        out.doses_duplicate += 1
        if f is not None:
            f.accepted_was_duplicate()
        what = (
            f"same dose as entered in the app by {match['entered_by']}"
            if match["dose_basis"] == "entered"
            else "same dose already in the workspace"
        )
        again = repeat_of(match["end"], row["end"], _stored_from(match), row["source_file"])
        if again.end is not None:
            match["end"] = again.end
            tx.execute('UPDATE doses SET "end" = ? WHERE dose_id = ?', [again.end, match["dose_id"]])
            record_edit(
                tx,
                match["dose_id"],
                row["patient_id"],
                "end from import",
                f"end date {again.end:%Y-%m-%d} from {row['source_file']}",
                "",
                by,
                now,
            )
        if again.note:
            what += f": {again.note}"
        # a start the import reads as no start (a statement's recorded day, H540) reaches the
        # stored row: the cautious reading, recorded as a dose edit and said (probe44 F1, H623)
        basis = basis_of(
            match.get("start_basis", ""), row.get("start_basis", ""), _stored_from(match), row["source_file"]
        )
        if basis.basis is not None and "start_basis" in match:
            match["start_basis"] = basis.basis
            tx.execute("UPDATE doses SET start_basis = ? WHERE dose_id = ?", [basis.basis, match["dose_id"]])
            record_edit(
                tx,
                match["dose_id"],
                row["patient_id"],
                "start basis from import",
                f"start {row['start']:%Y-%m-%d} read as {basis.basis!r} (not the day the drug started) "
                f"from {row['source_file']}",
                "",
                by,
                now,
            )
        if basis.note and f is None:  # a file of another kind (a FHIR bundle): the basis said on it all the same
            said = next((x for x in report.files if x.path == row["source_file"]), None)
            if said is not None:
                said.warn(f"{what}: {basis.note}", row["source_row"])
        elif basis.note:
            what += f"; {basis.note}" if again.note else f": {basis.note}"
        if f is not None:
            f.warn(what, row["source_row"])
    for row in new_rows:  # another dose from the start of a stored one (ends as now recorded)
        kept = next((k for k in by_start.get(start_key(row), []) if overlaps_at_start(k, row)), None)
        f = _file_report(report, row["source_file"], "doses")
        if kept is not None and f is not None:
            f.warn(same_start_note(kept, row, "stored", _stored_from(kept)), row["source_row"], "start")
    _say_open_stored(stored, new_rows, report)
    if new_rows:
        names = ["dose_id", *model.columns("doses")]
        table = pa.table(
            {c: [r[c] for r in new_rows] for c in names},
            schema=pa.schema([pa.field("dose_id", pa.int64()), *model.schema("doses")]),
        )
        tx.con.register("staged_doses", table)
        tx.execute(
            f"INSERT INTO doses (dose_id, {stored_cols(tx, 'doses')}, import_id, entered_by, entered_at, note) "
            f"SELECT dose_id, {stored_cols(tx, 'doses')}, {import_id}, '', NULL, '' FROM staged_doses"
        )
        tx.con.unregister("staged_doses")
    out.doses_added = len(new_rows)


def _say_open_stored(stored: list[dict[str, Any]], new_rows: list[dict[str, Any]], report: ImportReport) -> None:
    """A stored dose of a drug still open (no end, or one after it) when a new row of the
    drug starts later (a change log sent month by month, probe39 F3): both are read as
    taken together and added up, which the new row's report says, naming the stored dose;
    never closed by guess (a single administration is given on its day and overlaps
    nothing)."""
    by_pair: dict[tuple, list[dict[str, Any]]] = {}
    for k in stored:
        if k["frequency"] != model.SINGLE:
            by_pair.setdefault((k["patient_id"], k["drug"]), []).append(k)
    for row in new_rows:
        if row["frequency"] == model.SINGLE:
            continue
        f = _file_report(report, row["source_file"], "doses")
        for k in by_pair.get((row["patient_id"], row["drug"]), []):
            if f is None or not (k["start"] < row["start"] and (k["end"] is None or k["end"] > row["start"])):
                continue
            f.warn(
                f"{model.drug_label(row['drug'])}: doses overlap in time (the stored {dose_words(k)} from "
                f"{k['start']:%Y-%m-%d}, {_stored_from(k)}, has no end before this row starts on "
                f"{row['start']:%Y-%m-%d}): both are read as taken together; if this row changed the dose, record "
                "the stored dose's end date",
                row["source_row"],
                "start",
            )


def _stored_from(row: dict[str, Any]) -> str:
    """Where a stored dose came from: "import #3", or "entered in the app by Dr A"."""
    if row["import_id"] is None:
        return f"entered in the app by {row['entered_by'] or 'a clinician'}"
    return f"import #{row['import_id']}"
