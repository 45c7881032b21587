"""What every command of ``python -m dashboard`` shares: the exit codes, the one-line
error, the import options and the check of an import's outcome.

The commands (``review.py``, ``sample.py``, ``workspace.py`` beside this module) import
from here, never from :mod:`dashboard.cli.main`, which dispatches to them: no import
cycle.  They sit inside this package because importing anything from ``dashboard.cli``
runs its ``__init__``, which loads the dispatcher: a command module elsewhere would loop
back through it.
"""

from __future__ import annotations

import argparse
import logging
import time
from collections.abc import Sequence

from dashboard.ingest import ImportOptions, ImportReport, ImportResult, import_paths
from dashboard.ingest.mapping import MAP_TARGETS
from dashboard.model import ANALYTES

log = logging.getLogger(__name__)

#: 0 when the command ran (even if rows were rejected); 1 for any other failure; 2 with a
#: one-line reason when nothing could be read or a choice is needed.
EXIT_OK, EXIT_FAIL, EXIT_CHOICE = 0, 1, 2


class CliError(Exception):
    """A failure to report in one line with an exit code."""

    def __init__(self, message: str, code: int = EXIT_CHOICE) -> None:
        super().__init__(message)
        self.code = code


def add_import_options(p: argparse.ArgumentParser) -> None:
    """Options shared by every command that imports files."""
    order = p.add_mutually_exclusive_group()
    order.add_argument("--dayfirst", action="store_true", help="read ambiguous dates as day/month/year")
    order.add_argument("--monthfirst", action="store_true", help="read ambiguous dates as month/day/year")
    p.add_argument(
        "--map",
        action="append",
        default=[],
        metavar="SOURCE_COLUMN=FIELD",
        help="map a column by hand: a field (patient_id, collected_at, analyte, value, unit, ...), "
        "an analyte (wbc, neutrophils, ...) for a wide table, or 'ignore'",
    )


def import_options_from(args: argparse.Namespace) -> ImportOptions:
    """Turn the shared import options into :class:`ImportOptions`."""
    mapping: dict[str, str] = {}
    for item in args.map:
        if "=" not in item:
            raise CliError(f"--map needs SOURCE_COLUMN=FIELD, got '{item}'")
        src, target = item.rsplit("=", 1)
        target = target.strip()
        if target not in MAP_TARGETS and target not in ANALYTES:
            raise CliError(
                f"--map: unknown field '{target}'; use one of {', '.join(MAP_TARGETS)} or an analyte ({', '.join(ANALYTES)})"
            )
        mapping[src.strip()] = target
    order = "dayfirst" if args.dayfirst else "monthfirst" if args.monthfirst else None
    return ImportOptions(date_order=order, mapping=mapping)


def run_import(paths: Sequence[str], args: argparse.Namespace) -> ImportResult:
    """Import for a command (:func:`check_import` says whether anything usable came out)."""
    start = time.perf_counter()
    result = import_paths(paths, import_options_from(args))
    report = result.report
    log.info(
        "imported %d file(s) (%s) in %.2f s: %d results accepted, %d rows rejected",
        len(report.files),
        ", ".join(sorted({f.format or "unknown" for f in report.files})),
        time.perf_counter() - start,
        result.labs.num_rows,
        sum(f.rows_rejected for f in report.files),
    )
    return result


def check_import(report: ImportReport) -> str | None:
    """The one-line reason to exit 2 after an import with this report, or None."""
    needs = report.needs
    if needs:
        f = needs[0]
        return f"{f.display_name}: {f.error}"
    if not report.anything_read:
        errors = [f"{f.display_name}: {f.error}" for f in report.files if f.error]
        if errors:
            return errors[0]
        if report.files:
            return "nothing could be read: no row of any file was accepted"
        return "nothing to import"
    return None
