"""The import report: what happened to every row of every file.

The invariant the whole product relies on::

    rows_read == rows_accepted + rows_rejected + duplicates

The counters are written only through :class:`FileReport`'s accounting methods
(``settle_rows``, ``reject_all``, ``settle_results``, ``accepted_was_duplicate``,
``accepted_was_rejected``), and
:meth:`ImportReport.check_rows` checks the invariant at the end of every import and
after every workspace merge (tests check it on every reader too).

A *row* is a record of the source as the user sees it: a line of a CSV, a row of a
sheet, a resource of a FHIR file.  A wide lab row holds several results; it counts as
accepted when at least one of its results was accepted, and every result that was not
is listed in ``problems`` with its column.  The ``results_*`` counters give the same
accounting per result.
"""

from __future__ import annotations

import copy
import json
import logging
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field, fields
from typing import Any

from dashboard.identity import IdentityConflict
from dashboard.ingest.identity import MAX_ID_LENGTH
from dashboard.model import analyte_label

LOG = logging.getLogger(__name__)


class RowAccountingError(RuntimeError):
    """The import report lost track of a row: a defect in the import, never in the file."""


#: The characters of a rejected value shown in the report; a longer value is cut and its length said.
SHOWN_VALUE = 200
#: The longest patient id a rejected row's problem keeps whole: the longest id accepted,
#: so that a patient's own rejected rows still find their page (audit 5 K1).
SHOWN_ID = MAX_ID_LENGTH


@dataclass
class Problem:
    """One rejected row or value (or, in ``warnings``, one thing worth knowing)."""

    row: int | None
    column: str | None
    message: str
    value: str = ""
    #: the patient id the rejected row names ("" when none or not known), so that the
    #: patient's own page can say that a row of theirs was not read
    patient_id: str = ""
    #: a rejected lab result's draw where known: its analyte id and draw time (ISO), so
    #: that a later import giving a result of the same draw can be said to replace it
    analyte: str = ""
    collected_at: str = ""

    def __post_init__(self) -> None:
        # the value as read, cut where it stops helping a reader (a 2 MB cell shown 200 wide)
        if len(self.value) > SHOWN_VALUE:
            self.value = f"{self.value[:SHOWN_VALUE]}… ({len(self.value)} characters)"
        # a patient id too long to be one (rejected for it) is cut the same way, shorter
        if len(self.patient_id) > SHOWN_ID:
            self.patient_id = f"{self.patient_id[:SHOWN_ID]}… ({len(self.patient_id)} characters)"

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"row": self.row, "column": self.column, "message": self.message, "value": self.value}
        if self.patient_id:
            out["patient_id"] = self.patient_id
        if self.analyte and self.collected_at:
            out["analyte"], out["collected_at"] = self.analyte, self.collected_at
        return out


@dataclass
class Conversion:
    """Results converted from one unit to the canonical unit."""

    analyte: str
    from_unit: str
    to_unit: str
    count: int

    def to_dict(self) -> dict[str, Any]:
        return {"analyte": self.analyte, "from": self.from_unit, "to": self.to_unit, "count": self.count}


@dataclass
class FileReport:
    """Everything the import did with one file (or one sheet of a workbook)."""

    path: str
    format: str = "unknown"
    kind: str = ""  # labs | doses | patients | dictionary | ""
    encoding: str = ""
    delimiter: str = ""
    decimal: str = ""
    date_order: str = ""
    date_order_reason: str = ""
    sheet: str = ""
    mapping: dict[str, str] = field(default_factory=dict)
    unmapped_columns: list[str] = field(default_factory=list)
    rows_read: int = 0
    rows_accepted: int = 0
    rows_rejected: int = 0
    duplicates: int = 0
    results_read: int = 0
    results_accepted: int = 0
    results_rejected: int = 0
    results_duplicate: int = 0
    problems: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    conversions: list[Conversion] = field(default_factory=list)
    error: str = ""
    #: A choice the user must make before this file can be imported:
    #: "date_order" (day-first or month-first) or "mapping" (columns not recognised).
    needs: str = ""
    columns_found: list[str] = field(default_factory=list)

    # ------------------------------------------------------------------ row accounting
    # The counters above are written only through these methods, so that the invariant
    # ``rows_read == rows_accepted + rows_rejected + duplicates`` (and its twin for
    # results) holds by construction; :meth:`check` says when it does not.

    def settle_rows(self, *, accepted: int, rejected: int, duplicates: int = 0) -> None:
        """Write the verdict on every row read: ``rows_read`` is their sum.

        Called once a reader has judged every row of the file (a later call replaces the
        verdict: a table that ends up not imported is settled again as all rejected).
        """
        self.rows_accepted = accepted
        self.rows_rejected = rejected
        self.duplicates = duplicates
        self.rows_read = accepted + rejected + duplicates

    def reject_all(self, rows: int, problems: Iterable[Problem] = ()) -> None:
        """Every row read is rejected (a file that needs a choice, a skipped sheet); the
        reasons replace any problems listed so far."""
        self.settle_rows(accepted=0, rejected=rows)
        self.problems = list(problems)

    def settle_results(self, *, accepted: int, rejected: int, duplicate: int) -> None:
        """The same verdict per result (a wide lab row holds several)."""
        self.results_accepted = accepted
        self.results_rejected = rejected
        self.results_duplicate = duplicate
        self.results_read = accepted + rejected + duplicate

    def accepted_was_duplicate(self, rows: int = 1, results: int = 0) -> None:
        """Rows accepted from this file turn out to repeat data imported before (from
        another file of the import, or already in the workspace): they become duplicates."""
        self.rows_accepted -= rows
        self.duplicates += rows
        if self.results_read:
            self.results_accepted -= results
            self.results_duplicate += results

    def accepted_was_rejected(self, problems: Iterable[Problem], rows: int = 1, results: int = 0) -> None:
        """Rows (or results of a row still accepted for others) accepted from this file
        turn out to be withdrawn by a correction the workspace holds (H321): they become
        rejected, each with its reason."""
        self.rows_accepted -= rows
        self.rows_rejected += rows
        if self.results_read:
            self.results_accepted -= results
            self.results_rejected += results
        self.problems = sorted([*self.problems, *problems], key=lambda p: p.row or 0)

    def check(self) -> None:
        """Raise :class:`RowAccountingError` unless every row read is accepted, rejected
        with a reason, or a duplicate (and every result likewise)."""
        counts = (self.rows_read, self.rows_accepted, self.rows_rejected, self.duplicates)
        results = (self.results_read, self.results_accepted, self.results_rejected, self.results_duplicate)
        if min(counts + results) < 0:
            raise RowAccountingError(f"{self.display_name}: a negative count in the import report {counts} {results}")
        if not self.balanced:
            raise RowAccountingError(
                f"{self.display_name}: rows read {self.rows_read} != accepted {self.rows_accepted} "
                f"+ rejected {self.rows_rejected} + duplicates {self.duplicates}"
            )
        if self.results_read != self.results_accepted + self.results_rejected + self.results_duplicate:
            raise RowAccountingError(
                f"{self.display_name}: results read {self.results_read} != accepted {self.results_accepted} "
                f"+ rejected {self.results_rejected} + duplicates {self.results_duplicate}"
            )
        if self.rows_rejected and not self.problems:
            raise RowAccountingError(f"{self.display_name}: {self.rows_rejected} rows rejected without a reason")

    @property
    def balanced(self) -> bool:
        return self.rows_read == self.rows_accepted + self.rows_rejected + self.duplicates

    @property
    def display_name(self) -> str:
        return f"{self.path} [{self.sheet}]" if self.sheet else self.path

    def warn(self, message: str, row: int | None = None, column: str | None = None, value: str = "") -> None:
        self.warnings.append(Problem(row, column, message, value))

    def to_dict(self) -> dict[str, Any]:
        # the scalars and small containers as asdict gives them (copies); the three lists of
        # records by their own to_dict (asdict would first copy every problem deeply)
        return {
            f.name: (
                [r.to_dict() for r in getattr(self, f.name)]
                if f.name in _RECORD_LISTS
                else copy.deepcopy(getattr(self, f.name))
            )
            for f in fields(self)
        }

    def problem_summary(self) -> list[tuple[str, int, list[int]]]:
        """Rejections grouped by message: (message, count, first rows)."""
        groups: dict[str, list[int]] = {}
        for p in self.problems:
            groups.setdefault(_generic(p.message), []).append(p.row or 0)
        return sorted(((m, len(r), r[:5]) for m, r in groups.items()), key=lambda t: -t[1])


#: The fields of :class:`FileReport` that hold records with their own ``to_dict``.
_RECORD_LISTS = frozenset({"problems", "warnings", "conversions"})


@dataclass
class ImportReport:
    """The report of one import (one or more files)."""

    files: list[FileReport] = field(default_factory=list)
    labs: int = 0
    doses: int = 0
    patients: int = 0
    #: Files of an imported folder skipped as documentation (README, licence ...).
    skipped: list[str] = field(default_factory=list)
    #: Sub-folders of an imported folder ("drop/2025-03"): not walked into, named.
    folders: list[str] = field(default_factory=list)
    #: MRNs given two different names or dates of birth (by two files, or two rows of one).
    identity_conflicts: list[IdentityConflict] = field(default_factory=list)

    def not_read_lines(self) -> list[str]:
        """What of an imported folder was not read, in words: documentation and sub-folders."""
        lines = []
        if self.skipped:
            lines.append("Skipped as documentation: " + ", ".join(self.skipped))
        if self.folders:
            lines.append("Sub-folders not read (import them by name): " + ", ".join(self.folders))
        return lines

    @property
    def needs(self) -> list[FileReport]:
        return [f for f in self.files if f.needs]

    @property
    def anything_read(self) -> bool:
        return any(f.rows_accepted for f in self.files) or any(
            f.kind == "dictionary" and f.rows_read for f in self.files
        )

    def check_rows(self) -> None:
        """Check every file's row accounting (:meth:`FileReport.check`), at the end of an
        import and after a workspace merge.  A file that fails is never passed silently:
        its report says so as an error (the import does not raise for it), and the
        defect is logged with its counts only."""
        for f in self.files:
            try:
                f.check()
            except RowAccountingError as exc:
                LOG.error(
                    "row accounting does not balance: read %d, accepted %d, rejected %d, duplicates %d",
                    f.rows_read,
                    f.rows_accepted,
                    f.rows_rejected,
                    f.duplicates,
                )
                f.error = "; ".join(filter(None, [f.error, f"internal error, please report it: {exc}"]))

    def to_dict(self) -> dict[str, Any]:
        return {
            "files": [f.to_dict() for f in self.files],
            "labs": self.labs,
            "doses": self.doses,
            "patients": self.patients,
            "skipped": list(self.skipped),
            "skipped_folders": list(self.folders),
            "identity_conflicts": [c.to_dict() for c in self.identity_conflicts],
        }

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent, ensure_ascii=False, default=str)

    def to_text(self, max_problems: int = 12) -> str:
        """A readable report for the terminal."""
        lines: list[str] = [f"IDENTITY CONFLICT: {c.message}" for c in self.identity_conflicts]
        for f in self.files:
            lines.append(f"== {f.display_name}")
            if f.error:
                lines.append(f"   ERROR: {f.error}")
            meta = [
                ("format", f.format),
                ("encoding", f.encoding),
                ("delimiter", _show_delim(f.delimiter)),
                ("decimal", f.decimal),
                ("dates", f"{f.date_order} ({f.date_order_reason})" if f.date_order_reason else f.date_order),
            ]
            lines.append("   " + "  ".join(f"{k}: {v}" for k, v in meta if v))
            if f.mapping:
                lines.append("   columns: " + ", ".join(f"{src} -> {fld}" for fld, src in f.mapping.items()))
            if f.unmapped_columns:
                lines.append("   not used: " + ", ".join(f.unmapped_columns))
            lines.append(
                f"   rows read {f.rows_read}: accepted {f.rows_accepted}, rejected {f.rows_rejected}, "
                f"duplicates {f.duplicates}"
            )
            if f.results_read and f.results_read != f.rows_read:
                lines.append(
                    f"   results read {f.results_read}: accepted {f.results_accepted}, "
                    f"rejected {f.results_rejected}, duplicates {f.results_duplicate}"
                )
            for c in f.conversions:
                lines.append(f"   converted {c.count} {c.analyte} from {c.from_unit} to {c.to_unit}")
            if f.needs:
                lines.append(
                    f"   NOT IMPORTED until you choose: {'the date order' if f.needs == 'date_order' else 'a column mapping'}"
                )
                continue
            summary = f.problem_summary()
            for message, count, rows in summary[:max_problems]:
                where = ", ".join(str(r) for r in rows) + (" ..." if count > len(rows) else "")
                lines.append(f"   rejected {count}: {message} (rows {where})")
            if len(summary) > max_problems:
                lines.append(f"   ... and {len(summary) - max_problems} other kinds of problem (see --json)")
            warned = Counter(_note(w.message) for w in f.warnings)
            for message, count in list(warned.items())[:max_problems]:
                lines.append(f"   note: {message}" + (f" (x{count})" if count > 1 else ""))
        lines += self.not_read_lines()
        lines.append(f"Canonical tables: {self.labs} lab results, {self.doses} dose rows, {self.patients} patients.")
        return "\n".join(lines)


def _show_delim(d: str) -> str:
    return {"\t": "tab", ",": "comma", ";": "semicolon", "|": "pipe"}.get(d, d)


#: The longest note (warning) the text report prints whole: a note is written by the
#: importer, not copied from a cell (values in it are cut at SHOWN_VALUE), and one naming
#: two patient ids and their files ("... doses under one id never meet the results under
#: the other", H150) runs past 200 characters.
NOTE_WIDTH = 1000


def _note(message: str) -> str:
    """A note as the text report prints it: whole, up to :data:`NOTE_WIDTH`."""
    return message if len(message) <= NOTE_WIDTH else message[: NOTE_WIDTH - 3] + "..."


def _generic(message: str) -> str:
    """The message as grouped in the text report (long texts cut)."""
    return message if len(message) <= 200 else message[:197] + "..."


# --------------------------------------------------------------------------- tables for display


def summary_frame(report: ImportReport):  # -> pd.DataFrame
    """One row per file: what was read and what became of it."""
    # pandas on use only: the CLI's import/review never loads it (tests/test_cli_process.py)
    import pandas as pd

    rows = []
    for f in report.files:
        rows.append(
            {
                "File": f.display_name,
                "Format": f.format,
                "Encoding": f.encoding,
                "Delimiter": _show_delim(f.delimiter),
                "Dates": f.date_order,
                "Rows read": f.rows_read,
                "Accepted": f.rows_accepted,
                "Rejected": f.rows_rejected,
                "Duplicates": f.duplicates,
                "Notes": len(f.warnings),
                "Status": "needs a choice"
                if f.needs
                else "error"
                if f.error
                else "skipped (not a data table)"
                if f.format == "not a data table"
                else ("ok" if f.balanced else "UNBALANCED"),
            }
        )
    return pd.DataFrame(rows)


def problems_frame(f: FileReport):  # -> pd.DataFrame
    # pandas on use only: the CLI's import/review never loads it (tests/test_cli_process.py)
    import pandas as pd

    return pd.DataFrame(
        [{"Row": p.row, "Column": p.column or "", "Reason": p.message, "Value": p.value} for p in f.problems],
        columns=["Row", "Column", "Reason", "Value"],
    )


def warnings_frame(f: FileReport):  # -> pd.DataFrame
    # pandas on use only: the CLI's import/review never loads it (tests/test_cli_process.py)
    import pandas as pd

    return pd.DataFrame(
        [{"Row": p.row, "Column": p.column or "", "Note": p.message, "Value": p.value} for p in f.warnings],
        columns=["Row", "Column", "Note", "Value"],
    )


def mapping_frame(f: FileReport):  # -> pd.DataFrame
    # pandas on use only: the CLI's import/review never loads it (tests/test_cli_process.py)
    import pandas as pd

    rows = [{"Column in file": src, "Read as": fld} for fld, src in f.mapping.items()]
    rows += [{"Column in file": c, "Read as": "(not used)"} for c in f.unmapped_columns]
    return pd.DataFrame(rows, columns=["Column in file", "Read as"])


def column_choices(f: FileReport) -> dict[str, str]:
    """How the import read each column of the file: column -> field or analyte ("" when
    not used).  What the browser's mapping form starts from."""
    out = {c: "" for c in f.columns_found}
    for fld, src in f.mapping.items():
        if src in out:
            out[src] = fld
    return out


def conversions_frame(f: FileReport):  # -> pd.DataFrame
    # pandas on use only: the CLI's import/review never loads it (tests/test_cli_process.py)
    import pandas as pd

    return pd.DataFrame(
        [
            {"Analyte": analyte_label(c.analyte), "From": c.from_unit, "To": c.to_unit, "Results": c.count}
            for c in f.conversions
        ],
        columns=["Analyte", "From", "To", "Results"],
    )
