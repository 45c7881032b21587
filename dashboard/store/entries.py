"""What clinicians enter in the app, kept in the workspace: doses entered and changed,
the review log and the monitoring intervals.

Doses entered in the app sit beside imported ones in ``doses`` (``import_id`` NULL,
``entered_by`` set); every change is logged in ``dose_edits``.  Reviews and intervals
are append-only logs: the latest row is in force, and the history stays.  Each write
function runs inside the caller's transaction (:meth:`Workspace._write
<dashboard.store.workspace.Workspace>`); the ``check_*`` functions reject an entry
before any transaction is opened.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from dashboard import model
from dashboard.store.connection import Tx, bump, cols, stored_cols, stored_columns
from dashboard.store.errors import EntryRejected

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from dashboard.dose_entry import DoseEntry, Validation
    from dashboard.reviews import Review

Clock = Callable[[], dt.datetime]


# --------------------------------------------------------------------------- monitoring intervals


def check_interval(patient_id: str, days: int, reason: str, by: str) -> None:
    """Reject an interval entry that is incomplete or out of range."""
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


def add_interval(
    tx: Tx, clock: Clock, patient_id: str, days: int, reason: str, by: str, at: dt.datetime | None = None
) -> None:
    """``at``: when it was set, when not now (an interval set in a session panel, saved later)."""
    tx.execute(
        "INSERT INTO intervals VALUES (?, ?, ?, ?, ?)",
        [patient_id, int(days), reason.strip(), by.strip(), (at or clock()).replace(microsecond=0)],
    )
    bump(tx)


def intervals(tx: Tx, patient_id: str | None) -> pa.Table:
    where, params = ("WHERE patient_id = ?", [patient_id]) if patient_id else ("", [])
    t = tx.arrow(f"SELECT {cols('intervals')} FROM intervals {where} ORDER BY set_at", params)
    return model.conform("intervals", t)


# --------------------------------------------------------------------------- clinician-set baselines


def check_baseline(patient_id: str, analyte: str, value: float, by: str) -> None:
    """Reject a baseline entry that is incomplete or not a positive count."""
    problems = []
    if not patient_id.strip():
        problems.append("a patient is needed")
    if analyte not in model.ANALYTES:
        problems.append("choose an analyte")
    if not (value == value and value > 0):  # NaN or not positive
        problems.append("the baseline must be a positive number")
    if not by.strip():
        problems.append("say who sets the baseline")
    if problems:
        raise EntryRejected(problems)


def add_baseline(
    tx: Tx,
    clock: Clock,
    patient_id: str,
    analyte: str,
    value: float,
    note: str,
    by: str,
    at: dt.datetime | None = None,
) -> None:
    """A clinician-set baseline: a new row (the history stays); the latest per patient and
    analyte is in force (:data:`BASELINES_IN_FORCE`)."""
    tx.execute(
        f"INSERT INTO baselines ({cols('baselines')}) VALUES (?, ?, ?, ?, ?, ?)",
        [patient_id, analyte, float(value), note.strip(), by.strip(), (at or clock()).replace(microsecond=0)],
    )
    bump(tx)


#: The baselines in force: the latest row of each patient and analyte.
BASELINES_IN_FORCE = (
    "(SELECT * FROM baselines QUALIFY row_number() OVER "
    "(PARTITION BY patient_id, analyte ORDER BY set_at DESC NULLS LAST, rowid DESC) = 1)"
)


# --------------------------------------------------------------------------- doses entered


def add_dose(tx: Tx, clock: Clock, entry: DoseEntry, by: str, confirmed: bool) -> int:
    from dashboard import dose_entry  # lazily: it loads pandas (CLI start-up)

    existing = _patient_doses(tx, entry.patient_id)
    v = dose_entry.validate(entry, existing)
    _require(v, confirmed, by)
    now = clock()
    dose_id = _insert_entered(tx, dose_entry.to_row(entry), by, now, entry.note)
    record_edit(tx, dose_id, entry.patient_id, "add", _describe(dose_entry.to_row(entry)), entry.note, by, now)
    bump(tx)
    return dose_id


def change_dose(
    tx: Tx, clock: Clock, dose_id: int, on: dt.date, dose: float, frequency: str, by: str, note: str, confirmed: bool
) -> int:
    from dashboard import dose_entry  # lazily: it loads pandas (CLI start-up)

    current = _dose_row(tx, dose_id)
    errors = dose_entry.validate_change(current, on, "change")
    entry = dose_entry.changed_entry(current, on, dose, frequency, note)
    existing = _patient_doses(tx, entry.patient_id)
    v = dose_entry.validate(entry, existing, ignore_dose_id=dose_id)
    v.errors = errors + v.errors
    _require(v, confirmed, by)
    now = clock()
    old_end = current["end"]
    tx.execute('UPDATE doses SET "end" = ? WHERE dose_id = ?', [_midnight(on), dose_id])
    new_id = _insert_entered(tx, dose_entry.to_row(entry), by, now, note)
    before = _describe(current.to_dict())
    record_edit(
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
    bump(tx)
    return new_id


def stop_dose(tx: Tx, clock: Clock, dose_id: int, on: dt.date, by: str, note: str) -> None:
    from dashboard import dose_entry  # lazily: it loads pandas (CLI start-up)

    current = _dose_row(tx, dose_id)
    errors = dose_entry.validate_change(current, on, "stop")
    if not by.strip():
        errors.append("enter your name")
    if errors:
        raise EntryRejected(errors)
    old_end = current["end"]
    tx.execute('UPDATE doses SET "end" = ? WHERE dose_id = ?', [_midnight(on), dose_id])
    was = "ongoing" if _isnat(old_end) else f"to {old_end:%Y-%m-%d}"
    record_edit(
        tx,
        dose_id,
        str(current["patient_id"]),
        "stop",
        f"{_describe(current.to_dict())} stopped on {on} (was {was})",
        note,
        by,
        clock(),
    )
    bump(tx)


def dose_edits(tx: Tx, patient_id: str | None) -> pa.Table:
    where, params = ("WHERE patient_id = ?", [patient_id]) if patient_id is not None else ("", [])
    return tx.arrow(f"SELECT * FROM dose_edits {where} ORDER BY edit_id", params)


# --------------------------------------------------------------------------- reviews


def check_reviews(reviews: Sequence[Review], by: str) -> None:
    """Reject reviews that do not pass validation (or an empty list)."""
    from dashboard.reviews import validate  # lazily: it loads pandas (CLI start-up)

    errors = sorted({e for r in reviews for e in validate(r, by)})
    if errors or not reviews:
        raise EntryRejected(errors or ["nothing to record"])


def add_reviews(tx: Tx, clock: Clock, reviews: Sequence[Review], by: str) -> list[int]:
    ids: list[int] = []
    now = clock()
    for review in reviews:
        if review.corrects is not None:
            target = tx.one("SELECT patient_id FROM reviews WHERE review_id = ?", [review.corrects])
            if target != review.patient_id:
                raise EntryRejected([f"review #{review.corrects} is not a review of patient {review.patient_id}"])
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
        if review.value is not None:  # the result it was about (a review of the patient has none)
            tx.execute("INSERT INTO review_results VALUES (?, ?, ?)", [review_id, review.value, review.comparator])
        if review.severity:  # what it judged (a review of the patient judged no flag)
            tx.execute(
                "INSERT INTO review_judgements VALUES (?, ?, ?, ?)",
                [review_id, review.grade, review.severity, review.seq],
            )
        ids.append(review_id)
    bump(tx)
    return ids


#: The review log with the value and comparator of the result each entry was about (NULL
#: for a review of the patient, and for entries from before schema 4), and what it judged
#: (grade, severity, series position: NULL likewise, and for entries from before schema 6).
#: ``corrected_at``: when the draw's standing result was stored by an import after the
#: entry, as a correction (``lab_corrections``, schema 9): an entry without a value does not
#: cover it (H322).
#:
#: The results of the entry's test dated before its draw that an import stored after the
#: entry (so that nobody saw them at the review, H474, H475): ``earlier_since``, how many
#: arrived that are not corrections; ``earlier_corrected``, of how many earlier draws a
#: correction replaced the result since (a correction swaps one result for another, so the
#: series' length does not show it), with the latest such draw, its corrected value and
#: comparator.  A result stored before the entry (a session's panel saved into a workspace
#: that held older results, then reviewed) never counts as arrived since.
#:
#: ``withdrawn_at``: when the lab withdrew the result the entry was about (``lab_withdrawals``,
#: schema 10, H532): its draw's stored result of the entry's value (any value for an entry
#: without one) taken out of labs by an import's withdrawal.  Such an entry is about a
#: result that is no longer graded, and never covers a flag of that draw again.
#:
#: ``unread_at`` and ``unread_reason``: when a re-read of an import took the entry's result
#: out of labs, and the reader's reason (``lab_unread``, schema 13, ``dashboard/store/reread.py``,
#: H643): a result of its draw with the entry's value (any value, for an entry without one)
#: that a re-read took out while no stored result of the draw gives that value (any result);
#: of several, the latest re-read's last (``unread_import``: that re-read's import).  An entry
#: about the patient (no flag) has none.
#: Such an entry is kept and said: "its result is no longer read from the file: ...".
REVIEW_LOG = (
    "WITH standing AS (SELECT c.patient_id, c.analyte, c.collected_at, c.value, c.comparator, "
    "i.imported_at FROM lab_corrections c JOIN labs l ON l.patient_id = c.patient_id AND l.analyte = c.analyte "
    "AND l.collected_at = c.collected_at AND l.value IS NOT DISTINCT FROM c.value AND l.comparator = c.comparator "
    "JOIN imports i ON i.import_id = l.import_id) "
    "SELECT r.*, x.value, x.comparator, j.grade, j.severity, j.seq, (SELECT max(s.imported_at) FROM standing s "
    "WHERE s.patient_id = r.patient_id AND s.analyte = r.analyte AND s.collected_at = r.collected_at "
    "AND s.imported_at > r.reviewed_at) AS corrected_at, "
    "(SELECT max(wi.imported_at) FROM lab_withdrawals w JOIN imports wi ON wi.import_id = w.import_id "
    "WHERE w.stored_file IS NOT NULL AND w.patient_id = r.patient_id AND w.analyte = r.analyte "
    "AND w.collected_at = r.collected_at AND (x.value IS NULL OR (w.value IS NOT DISTINCT FROM x.value "
    "AND w.comparator = coalesce(x.comparator, '')))) AS withdrawn_at, un.unread_at, un.unread_reason, un.unread_import, "
    "e.earlier_since, e.earlier_corrected, e.earlier_corrected_draw, e.earlier_corrected_value, "
    "e.earlier_corrected_comparator FROM reviews r "
    "LEFT JOIN review_results x USING (review_id) LEFT JOIN review_judgements j USING (review_id) "
    "LEFT JOIN LATERAL (SELECT ui.imported_at AS unread_at, u.reason AS unread_reason, u.import_id AS unread_import "
    "FROM lab_unread u "
    "JOIN imports ui ON ui.import_id = u.import_id WHERE r.flag_key <> '' AND u.patient_id = r.patient_id "
    "AND u.analyte = r.analyte AND u.collected_at = r.collected_at AND (x.value IS NULL OR (u.value = x.value "
    "AND u.comparator = coalesce(x.comparator, ''))) AND NOT EXISTS (SELECT 1 FROM labs h "
    "WHERE h.patient_id = r.patient_id AND h.analyte = r.analyte AND h.collected_at = r.collected_at "
    "AND (x.value IS NULL OR (h.value IS NOT DISTINCT FROM x.value AND coalesce(h.comparator, '') = "
    "coalesce(x.comparator, '')))) ORDER BY u.import_id DESC, u.seq DESC LIMIT 1) un ON true "
    "LEFT JOIN LATERAL (SELECT count(*) FILTER (WHERE s.patient_id IS NULL) AS earlier_since, "
    "count(DISTINCT l.collected_at) FILTER (WHERE s.patient_id IS NOT NULL) AS earlier_corrected, "
    "max(l.collected_at) FILTER (WHERE s.patient_id IS NOT NULL) AS earlier_corrected_draw, "
    "arg_max(l.value, l.collected_at) FILTER (WHERE s.patient_id IS NOT NULL) AS earlier_corrected_value, "
    "arg_max(l.comparator, l.collected_at) FILTER (WHERE s.patient_id IS NOT NULL) AS earlier_corrected_comparator "
    "FROM labs l JOIN imports i ON i.import_id = l.import_id LEFT JOIN standing s ON s.patient_id = l.patient_id "
    "AND s.analyte = l.analyte AND s.collected_at = l.collected_at AND s.value IS NOT DISTINCT FROM l.value "
    "AND s.comparator = l.comparator WHERE l.patient_id = r.patient_id AND l.analyte = r.analyte "
    "AND l.collected_at < r.collected_at AND i.imported_at > r.reviewed_at) e ON true"
)


def reviews(tx: Tx, patient_id: str | None) -> pa.Table:
    where, params = ("WHERE r.patient_id = ?", [patient_id]) if patient_id is not None else ("", [])
    return review_log(tx, where, params)


def review_log(tx: Tx, where: str = "", params: Sequence[Any] = ()) -> pa.Table:
    """The review log (:data:`REVIEW_LOG`, oldest first)."""
    return tx.arrow(f"{REVIEW_LOG} {where} ORDER BY review_id", list(params))


def empty_reviews() -> pa.Table:
    from dashboard.reviews import COLUMNS  # lazily: it loads pandas (CLI start-up)

    return pa.table({c: pa.array([], pa.string()) for c in COLUMNS})


# --------------------------------------------------------------------------- helpers


def doses_with_provenance(tx: Tx, patient_id: str | None) -> pa.Table:
    where, params = ("WHERE patient_id = ?", [patient_id]) if patient_id is not None else ("", [])
    return tx.arrow(
        f"SELECT dose_id, {stored_cols(tx, 'doses')}, import_id, entered_by, entered_at, note FROM doses {where} "
        "ORDER BY patient_id, start, drug, dose_id",
        params,
    )


def empty_doses() -> pa.Table:
    extra = [
        pa.field("dose_id", pa.int64()),
        pa.field("import_id", pa.int32()),
        pa.field("entered_by", pa.string()),
        pa.field("entered_at", pa.timestamp("us")),
        pa.field("note", pa.string()),
    ]
    return pa.schema([extra[0], *model.schema("doses"), *extra[1:]]).empty_table()


def _patient_doses(tx: Tx, patient_id: str) -> pd.DataFrame:
    return tx.arrow(
        f"SELECT dose_id, {stored_cols(tx, 'doses')} FROM doses WHERE patient_id = ?", [patient_id]
    ).to_pandas()


def _dose_row(tx: Tx, dose_id: int) -> pd.Series:
    df = tx.arrow(f"SELECT dose_id, {stored_cols(tx, 'doses')} FROM doses WHERE dose_id = ?", [dose_id]).to_pandas()
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
    names = stored_columns(tx, "doses")
    tx.execute(
        f"INSERT INTO doses (dose_id, {stored_cols(tx, 'doses')}, import_id, entered_by, entered_at, note) "
        f"VALUES ({', '.join('?' for _ in range(len(names) + 5))})",
        [dose_id, *(row[c] for c in names), None, by.strip(), now, note.strip()],
    )
    return dose_id


def record_edit(
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
        import pandas as pd  # lazily: pandas is loaded only when a dose is entered (CLI start-up)

        return bool(pd.isna(v))
    except (TypeError, ValueError):
        return False
