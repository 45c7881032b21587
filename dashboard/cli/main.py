"""The command line's parser and dispatch: ``python -m dashboard <command>``.

The ``import`` command lives here; ``review``, ``sample`` and ``workspace`` live beside
it (``review.py``, ``sample.py``, ``workspace.py``) and share :mod:`dashboard.cli.common`
with it.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from dashboard import log_config, model
from dashboard.cli.common import (
    EXIT_CHOICE,
    EXIT_FAIL,
    EXIT_OK,
    CliError,
    add_import_options,
    check_import,
    import_options_from,
    run_import,
)
from dashboard.ingest import ImportResult

if TYPE_CHECKING:
    from dashboard.ingest.chunked import Streamed

log = logging.getLogger(__name__)


def add_judging_options(p: argparse.ArgumentParser, as_of_help: str) -> None:
    """``--profile NAME`` and ``--as-of YYYY-MM-DD``: one meaning for ``review`` and
    ``workspace export`` (an audit of a past date under an old profile, H331)."""
    p.add_argument(
        "--profile",
        default=None,
        metavar="NAME",
        help="threshold profile (default: 'BSR 2025'; 'BSR 2017 / NICE' for old audits, 'CTCAE only', or a profile file)",
    )
    p.add_argument("--as-of", default=None, metavar="YYYY-MM-DD", help=as_of_help)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m dashboard",
        description="Immunosuppressant lab monitoring: import, review and export patient panels.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    p = sub.add_parser("import", help="import lab, dose and patient exports and print the import report")
    p.add_argument("paths", nargs="+", metavar="PATH", help="files (or folders of files) to import")
    add_import_options(p)
    p.add_argument("--out", metavar="DIR", help="write labs.parquet, doses.parquet and patients.parquet here")
    p.add_argument("--json", action="store_true", help="print the report as JSON")

    p = sub.add_parser("review", help="import and print the per-patient clinical review")
    p.add_argument("paths", nargs="+", metavar="PATH")
    add_import_options(p)
    add_judging_options(p, "the date 'today' is for the schedule")
    p.add_argument("--json", action="store_true", help="print the review as JSON")
    p.add_argument(
        "--compact",
        action="store_true",
        help="print the review as newline-delimited JSON for batch use: a header line, then one line per "
        "patient with flags, schedule and dose checks as arrays of values (field order in the header)",
    )
    p.add_argument(
        "--csv",
        default=None,
        metavar="FILE",
        help="also write the open flags to FILE, one row per flag (patient, name, date, analyte, value, unit, "
        "grade, rule, source, severity, dose context, review state)",
    )

    p = sub.add_parser("sample", help="write the synthetic sample panel")
    p.add_argument("--seed", type=int, default=None, help="random seed (default: the committed sample's)")
    p.add_argument("--patients", type=int, default=None, help="number of patients")
    p.add_argument("--years", type=float, default=None, help="years of follow-up at most")
    p.add_argument("--out", default=None, metavar="DIR", help="output folder (default: sample_data/)")

    p = sub.add_parser("workspace", help="the persistent workspace (path from DASHBOARD_WORKSPACE)")
    wsub = p.add_subparsers(dest="ws_command", metavar="ACTION")
    wsub.required = True
    w = wsub.add_parser("import", help="import files into the workspace")
    w.add_argument("paths", nargs="+", metavar="PATH")
    add_import_options(w)
    w.add_argument("--json", action="store_true")
    w.add_argument(
        "--reread",
        action="store_true",
        help="read files already imported again with today's reader (each file with every other file of its "
        "import), replace that import's rows by today's reading and print the differences",
    )
    w.add_argument("--dry-run", action="store_true", help="with --reread: print the differences, change nothing")
    w = wsub.add_parser("info", help="counts of what the workspace holds")
    w.add_argument("--json", action="store_true")
    w = wsub.add_parser("export", help="export the panel or one patient")
    w.add_argument("--format", required=True, choices=["csv", "xlsx", "pdf"])
    w.add_argument("--patient", default=None, metavar="ID")
    w.add_argument("--out", required=True, metavar="FILE")
    add_judging_options(
        w, "the date 'today' is for the panel's flags and schedule and the PDF (default: as the app opens)"
    )
    return parser


def cmd_import(args: argparse.Namespace) -> int:
    if args.out:
        # only --out writes Parquet: pyarrow.parquet and the streamed import are loaded
        # here, not at the top (about 30 ms of every import's start-up otherwise)
        from dashboard.ingest.chunked import wants_streaming
    if args.out and wants_streaming(args.paths):
        streamed = _streamed_import(args)
        if streamed is not None:
            print(streamed.report.to_json() if args.json else streamed.report.to_text())
            reason = check_import(streamed.report)
            if reason:
                streamed.discard()
                raise CliError(reason)
            streamed.commit()
            if not args.json:
                print(f"Wrote labs.parquet, doses.parquet and patients.parquet to {args.out}")
            return EXIT_OK
    result = run_import(args.paths, args)
    print(result.report.to_json() if args.json else result.report.to_text())
    reason = check_import(result.report)
    if reason:
        raise CliError(reason)
    if args.out:
        write_tables(result, Path(args.out))
        if not args.json:
            print(f"Wrote labs.parquet, doses.parquet and patients.parquet to {args.out}")
    return EXIT_OK


def _streamed_import(args: argparse.Namespace) -> Streamed | None:
    """A large file read block by block into ``--out`` (bounded memory; the same report
    and rows), or None when the file needs the in-memory import."""
    from dashboard.ingest.chunked import NotStreamable, import_to_parquet  # with --out only (see cmd_import)

    start = time.perf_counter()
    try:
        streamed = import_to_parquet(args.paths[0], Path(args.out), import_options_from(args))
    except NotStreamable as why:
        log.info("the file is imported in memory instead: %s", why.reason)
        return None
    files = streamed.report.files
    log.info(
        "imported 1 file block by block in %.2f s: %d results accepted, %d rows rejected",
        time.perf_counter() - start,
        streamed.report.labs,
        sum(f.rows_rejected for f in files),
    )
    return streamed


def write_tables(result: ImportResult, out: Path) -> None:
    import pyarrow.parquet as pq  # with --out only (see cmd_import)

    out.mkdir(parents=True, exist_ok=True)
    for name in ("labs", "doses", "patients"):  # plain text columns: exactly the canonical schema
        pq.write_table(model.conform(name, getattr(result, name)), out / f"{name}.parquet")


# The other commands are imported when they run, not at the top: ``import`` stays free of
# the rules engine, and ``import`` and ``review`` over a large export stay free of the
# workspace's DuckDB and of pandas (see dashboard/__main__.py).


def cmd_review(args: argparse.Namespace) -> int:
    # imported when run: ``import`` never loads the rules engine
    from dashboard.cli.review import cmd_review as impl

    return impl(args)


def cmd_sample(args: argparse.Namespace) -> int:
    # imported when run: the generator needs pandas, kept off ``import``/``review``
    from dashboard.cli.sample import cmd_sample as impl

    return impl(args)


def cmd_workspace(args: argparse.Namespace) -> int:
    # imported when run: the workspace needs DuckDB and pandas, kept off ``import``/``review``
    from dashboard.cli.workspace import cmd_workspace as impl

    return impl(args)


COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "import": cmd_import,
    "review": cmd_review,
    "sample": cmd_sample,
    "workspace": cmd_workspace,
}


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse prints its own one-line usage error
        return int(exc.code or 0) if exc.code in (0, None) else EXIT_CHOICE
    log_config.configure()
    start = time.perf_counter()
    try:
        return COMMANDS[args.command](args)
    except CliError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except (ImportError, AttributeError) as exc:
        if "dashboard." in str(exc) or "cmd_" in str(exc):
            print(f"error: the '{args.command}' command is not available in this build ({exc})", file=sys.stderr)
            return EXIT_FAIL
        print(f"error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return EXIT_FAIL
    except BrokenPipeError:
        return EXIT_OK
    except OSError as exc:  # a path the system refuses: named, in one line (probe34 F6)
        where = f": {exc.filename}" if exc.filename else ""
        what = exc.strerror or type(exc).__name__
        print(f"error: {what}{where}; nothing more was written", file=sys.stderr)
        return EXIT_FAIL
    except Exception:  # the promise: a one-line reason, never a traceback or the data in one
        if os.environ.get("DASHBOARD_DEBUG"):
            traceback.print_exc()
        print(
            f"error: the '{args.command}' command stopped on an unexpected problem; nothing more was written "
            "(set DASHBOARD_DEBUG=1 to see the technical details)",
            file=sys.stderr,
        )
        return EXIT_FAIL
    finally:
        log.info("%s finished in %.2f s", args.command, time.perf_counter() - start)
