"""The workspace database schema and its migrations.

The schema version is kept in ``meta`` (key ``schema_version``) and every migration
applied is recorded in ``schema_migrations``.  Migrations only ever move forward, each
in the transaction that opens the database for writing: a workspace is either at the
old version or fully at the new one.  A workspace written by a newer version of the
dashboard is refused rather than guessed at.

The canonical tables carry the model's columns (:mod:`dashboard.model`) plus
provenance: the import each row came from, and for doses entered in the app who
entered them and when.  ``reviews``, ``dose_edits``, ``imports`` and ``import_files``
are append-only: :func:`check_append_only` refuses any statement that would change or
remove their rows, and every statement of the store goes through it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import pyarrow as pa

from dashboard import model
from dashboard.ingest.labs import SEX_LIMITS

#: Tables whose rows are never updated or deleted: corrections are new rows.
APPEND_ONLY = (
    "reviews",
    "review_results",
    "review_judgements",
    "dose_edits",
    "imports",
    "import_files",
    "identity_disputes",
    "identity_settlements",
    "patient_identifiers",
    "lab_corrections",
    "lab_withdrawals",
    "import_readers",
    "lab_unread",
    "dose_unread",
)


class AppendOnlyViolation(Exception):
    """A statement tried to update or delete rows of an append-only table."""


_FORBIDDEN = re.compile(
    r"\b(?:update|delete\s+from|truncate(?:\s+table)?|drop\s+table(?:\s+if\s+exists)?|alter\s+table|"
    r"insert\s+or\s+replace\s+into|replace\s+into)\s+(?:main\.)?\"?(" + "|".join(APPEND_ONLY) + r")\"?\b",
    re.IGNORECASE,
)
_UPSERT = re.compile(r"\bon\s+conflict\b.*\bdo\s+update\b", re.IGNORECASE | re.DOTALL)


def check_append_only(sql: str) -> None:
    """Raise :class:`AppendOnlyViolation` if ``sql`` would change an append-only table."""
    m = _FORBIDDEN.search(sql)
    if m:
        raise AppendOnlyViolation(f"the {m.group(1)} table is append-only: add a new entry instead")
    if _UPSERT.search(sql) and any(re.search(rf"\b{t}\b", sql, re.IGNORECASE) for t in APPEND_ONLY):
        raise AppendOnlyViolation("append-only tables cannot be upserted")


def _sql_type(t: pa.DataType) -> str:
    if pa.types.is_string(t):
        return "VARCHAR NOT NULL DEFAULT ''"
    if pa.types.is_floating(t):
        return "DOUBLE"
    if pa.types.is_boolean(t):
        return "BOOLEAN NOT NULL DEFAULT false"
    if pa.types.is_integer(t):
        return "BIGINT NOT NULL DEFAULT 0"
    if pa.types.is_timestamp(t):
        return "TIMESTAMP"
    raise TypeError(t)


#: Model columns added after version 1, by the migration that adds them: the version 1
#: tables are created without them, so every workspace walks the same migrations.
LATER_COLUMNS: dict[str, tuple[str, ...]] = {"patients": ("name",), "doses": ("start_basis",)}


def model_columns(table: str, exclude: tuple[str, ...] = ()) -> str:
    """The DDL of a canonical table's columns, as the model defines them."""
    return ",\n  ".join(f'"{f.name}" {_sql_type(f.type)}' for f in model.TABLES[table] if f.name not in exclude)


def _v1() -> list[str]:
    return [
        "CREATE TABLE meta (key VARCHAR PRIMARY KEY, value VARCHAR NOT NULL)",
        """CREATE TABLE schema_migrations (
  version INTEGER NOT NULL, description VARCHAR NOT NULL, applied_at TIMESTAMP NOT NULL)""",
        # one row per import (one or more files imported together)
        """CREATE TABLE imports (
  import_id INTEGER NOT NULL,
  imported_at TIMESTAMP NOT NULL,
  imported_by VARCHAR NOT NULL,
  origin VARCHAR NOT NULL,          -- 'cli' or 'app'
  label VARCHAR NOT NULL,
  options VARCHAR NOT NULL,         -- JSON: date order, mapping
  report VARCHAR NOT NULL,          -- JSON: the ImportReport, with workspace duplicates counted
  labs_added BIGINT NOT NULL, labs_duplicate BIGINT NOT NULL,
  doses_added BIGINT NOT NULL, doses_duplicate BIGINT NOT NULL,
  patients_added BIGINT NOT NULL, patients_updated BIGINT NOT NULL,
  extract_date DATE)""",
        """CREATE TABLE import_files (
  import_id INTEGER NOT NULL, file_name VARCHAR NOT NULL, content_hash VARCHAR NOT NULL,
  size BIGINT NOT NULL, status VARCHAR NOT NULL)  -- 'imported' or 'unreadable'""",
        f"CREATE TABLE labs (\n  {model_columns('labs')},\n  import_id INTEGER NOT NULL)",
        f"""CREATE TABLE doses (
  dose_id BIGINT NOT NULL,
  {model_columns("doses", LATER_COLUMNS["doses"])},
  import_id INTEGER,                -- NULL for a dose entered in the app
  entered_by VARCHAR NOT NULL DEFAULT '',
  entered_at TIMESTAMP,
  note VARCHAR NOT NULL DEFAULT '')""",
        """CREATE TABLE dose_edits (
  edit_id BIGINT NOT NULL, dose_id BIGINT NOT NULL, patient_id VARCHAR NOT NULL,
  action VARCHAR NOT NULL,          -- 'add', 'change', 'stop', 'end from import', 'start basis from import'
  detail VARCHAR NOT NULL, note VARCHAR NOT NULL, edited_by VARCHAR NOT NULL, edited_at TIMESTAMP NOT NULL)""",
        f"CREATE TABLE patients (\n  {model_columns('patients', LATER_COLUMNS['patients'])},\n  import_id INTEGER, updated_at TIMESTAMP)",
        f"CREATE TABLE baselines (\n  {model_columns('baselines')})",
        """CREATE TABLE reviews (
  review_id BIGINT NOT NULL,
  patient_id VARCHAR NOT NULL,
  flag_key VARCHAR NOT NULL,        -- '' for a review of the patient as a whole
  rule_id VARCHAR NOT NULL, analyte VARCHAR NOT NULL, collected_at TIMESTAMP,
  action VARCHAR NOT NULL, note VARCHAR NOT NULL,
  reviewer VARCHAR NOT NULL, reviewed_at TIMESTAMP NOT NULL,
  corrects BIGINT)                  -- the review this entry corrects, if any""",
    ]


@dataclass(frozen=True)
class Migration:
    version: int
    description: str
    statements: Callable[[], list[str]]


def _v2() -> list[str]:
    return ["ALTER TABLE patients ADD COLUMN name VARCHAR NOT NULL DEFAULT ''"]


def _v3() -> list[str]:
    return [f"CREATE TABLE intervals (\n  {model_columns('intervals')})"]


def _v4() -> list[str]:
    # the result a review was about: a lab's amended result of the same draw (another value)
    # is a new finding, never covered by the review of the first (dashboard/reviews.py).  A
    # table of its own: the reviews table is append-only, its rows and columns never change.
    return [
        """CREATE TABLE review_results (
  review_id BIGINT NOT NULL, value DOUBLE NOT NULL, comparator VARCHAR NOT NULL)"""
    ]


def _v5() -> list[str]:
    # each value two sources gave for a patient's identity field (name, date of birth, sex),
    # with where it came from: a dispute outlives the import that found it, so a third
    # file cannot settle a sex two files disagreed on (dashboard/store/merge.py); only a
    # clinician who checked can, and that is recorded (the latest settlement holds)
    return [
        """CREATE TABLE identity_disputes (
  patient_id VARCHAR NOT NULL, field VARCHAR NOT NULL, value VARCHAR NOT NULL,
  source_file VARCHAR NOT NULL, source_row BIGINT NOT NULL, import_id INTEGER NOT NULL)""",
        """CREATE TABLE identity_settlements (
  patient_id VARCHAR NOT NULL, field VARCHAR NOT NULL, value VARCHAR NOT NULL,
  note VARCHAR NOT NULL, settled_by VARCHAR NOT NULL, settled_at TIMESTAMP NOT NULL)""",
    ]


def _v6() -> list[str]:
    # what a review judged: the result's CTCAE grade, the flag's severity and the result's
    # position in its series.  A flag judged worse since (a back-filled or clinician-set
    # baseline, a profile or rules change), or with a result of its test dated before the
    # draw arrived since, is open again (dashboard/reviews.py).  A table of its own, as
    # review_results: an entry without a row here covers its flag as before.
    return [
        """CREATE TABLE review_judgements (
  review_id BIGINT NOT NULL, grade INTEGER, severity VARCHAR NOT NULL, seq BIGINT)"""
    ]


def _v7() -> list[str]:
    # the limits of a reference range the lab gave per sex ("0-35 (M) 0-30 (F)"), kept with
    # the result: a patient file imported after the results (or a clinician who settles a
    # disputed sex) gives the sex they are chosen by, and the store reads them again
    # (dashboard/store/merge.py, apply_sex_ranges).  Null where the range was not per sex.
    return [f"ALTER TABLE labs ADD COLUMN {c} DOUBLE" for c in SEX_LIMITS]


def _v8() -> list[str]:
    # the other identifiers a source gives a patient besides the id it is filed under (a
    # FHIR Patient's MRN beside the server's id): when one is another patient's id, the
    # pages of both say they may be one person (H150); never used to merge
    return [
        """CREATE TABLE patient_identifiers (
  patient_id VARCHAR NOT NULL, kind VARCHAR NOT NULL, value VARCHAR NOT NULL,
  source_file VARCHAR NOT NULL, import_id INTEGER NOT NULL)"""
    ]


def _v9() -> list[str]:
    # the corrected results each import stored (status Corrected, Amended, HL7 C ...): a
    # correction that still stands in labs withdraws every other result of its draw, so a
    # result it replaced (or another value of its draw) sent again by a later import, an
    # older file re-saved under another hash, is rejected naming it (H321)
    return [
        """CREATE TABLE lab_corrections (
  patient_id VARCHAR NOT NULL, analyte VARCHAR NOT NULL, collected_at TIMESTAMP NOT NULL,
  value DOUBLE, comparator VARCHAR NOT NULL, source_value VARCHAR NOT NULL, source_unit VARCHAR NOT NULL,
  status VARCHAR NOT NULL, source_file VARCHAR NOT NULL, source_row BIGINT NOT NULL, import_id INTEGER NOT NULL)"""
    ]


def _v10() -> list[str]:
    # the results the lab withdrew (entered-in-error, Deleted, HL7 W ...), one row each: the
    # withdrawal (the result it names, its status, file, row, import) and the stored result
    # it took out of labs (file, row, import, the text as read; NULL when the workspace held
    # none): no longer graded but kept in sight, and a later import that sends that result
    # again has it rejected naming the withdrawal (H530, H531)
    return [
        """CREATE TABLE lab_withdrawals (
  patient_id VARCHAR NOT NULL, analyte VARCHAR NOT NULL, collected_at TIMESTAMP NOT NULL,
  value DOUBLE, comparator VARCHAR NOT NULL, source_value VARCHAR NOT NULL, source_unit VARCHAR NOT NULL,
  status VARCHAR NOT NULL, source_file VARCHAR NOT NULL, source_row BIGINT NOT NULL, import_id INTEGER NOT NULL,
  stored_file VARCHAR, stored_row BIGINT, stored_import INTEGER, stored_value VARCHAR, stored_unit VARCHAR)"""
    ]


def _v11() -> list[str]:
    # what a dose's start is: "" the day it started; "recorded" / "renewed" only the day a
    # FHIR statement was recorded or a renewal written, so no pre-treatment baseline rests
    # on it (model.START_BASES, H540)
    return ["ALTER TABLE doses ADD COLUMN start_basis VARCHAR NOT NULL DEFAULT ''"]


def _v12() -> list[str]:
    # the reader version each file was read by (dashboard/ingest/version.py): a file
    # skipped as already imported that an earlier version read (or one read before versions
    # were recorded: no row here) is said so, since today's reading of it may differ (H625)
    return [
        """CREATE TABLE import_readers (
  import_id INTEGER NOT NULL, content_hash VARCHAR NOT NULL, reader_version INTEGER NOT NULL)"""
    ]


def _v13() -> list[str]:
    # the results a re-read of an import took out of labs (dashboard/store/reread.py), one
    # row each: the re-read's import, the result as it was stored (the key the workspace
    # knows a result by, the text as read, its file, row and import) and the reader's
    # reason, in the order the re-read took them out (seq): a review of such a result says
    # "its result is no longer read from the file: <reason>" and never covers a flag of its
    # draw again while no stored result gives it (REVIEW_LOG, H643).
    return [
        """CREATE TABLE lab_unread (
  import_id INTEGER NOT NULL, seq INTEGER NOT NULL,
  patient_id VARCHAR NOT NULL, analyte VARCHAR NOT NULL, collected_at TIMESTAMP NOT NULL,
  value DOUBLE, comparator VARCHAR NOT NULL, source_value VARCHAR NOT NULL, source_unit VARCHAR NOT NULL,
  source_file VARCHAR NOT NULL, source_row BIGINT NOT NULL, stored_import INTEGER NOT NULL,
  reason VARCHAR NOT NULL)""",
        # the doses a re-read took out of doses, one row each the same way: the re-read's
        # import, the order, the dose as stored (its id, patient, drug, start, end, amount,
        # unit, frequency, route, daily and weekly mg, bases, the text as read, its file, row
        # and import) and the reader's reason
        """CREATE TABLE dose_unread (
  import_id INTEGER NOT NULL, seq INTEGER NOT NULL, dose_id BIGINT NOT NULL,
  patient_id VARCHAR NOT NULL, drug VARCHAR NOT NULL, start TIMESTAMP NOT NULL, "end" TIMESTAMP,
  dose DOUBLE, dose_unit VARCHAR NOT NULL, frequency VARCHAR NOT NULL, route VARCHAR NOT NULL,
  mg_per_day DOUBLE, mg_per_week DOUBLE, dose_basis VARCHAR NOT NULL, start_basis VARCHAR NOT NULL,
  source_text VARCHAR NOT NULL, source_file VARCHAR NOT NULL, source_row BIGINT NOT NULL, stored_import INTEGER,
  reason VARCHAR NOT NULL)""",
    ]


MIGRATIONS: list[Migration] = [
    Migration(1, "initial schema: canonical tables with provenance, import log, dose edits, reviews", _v1),
    Migration(2, "patients: the patient's name (a second identifier beside the MRN)", _v2),
    Migration(3, "monitoring intervals set by the clinician from the patient's risk (BSR 2025)", _v3),
    Migration(4, "review_results: the value and comparator of the result each review was about", _v4),
    Migration(5, "identity disputes (the values two sources gave for a name, birth date or sex) and settlements", _v5),
    Migration(6, "review_judgements: the CTCAE grade, severity and series position each review judged", _v6),
    Migration(7, "labs: the limits of a reference range given per sex, read again once the sex is known", _v7),
    Migration(8, "patient_identifiers: the other identifiers (MRN, NHS number) a source gives a patient", _v8),
    Migration(9, "lab_corrections: the corrected results stored, which withdraw the other results of their draw", _v9),
    Migration(10, "lab_withdrawals: the results the lab withdrew, taken out of labs and kept in sight", _v10),
    Migration(11, "doses: whether the start is only the day a statement was recorded or a renewal written", _v11),
    Migration(12, "import_readers: the reader version each imported file was read by", _v12),
    Migration(13, "lab_unread, dose_unread: the results and doses a re-read took out, with the reader's reason", _v13),
]


def latest_version() -> int:
    return max(m.version for m in MIGRATIONS)
