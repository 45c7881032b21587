"""Command line: ``python -m dashboard <command>``.

Commands (the options are contracts; add to them, never change them):

  import PATH...    import exports, print the report, optionally write the tables
  review PATH...    import and print the per-patient clinical review
  sample            write the synthetic sample panel
  workspace ...     persistent workspace: import, info, export

Exit codes: 0 when the command ran (even if rows were rejected); 2 with a one-line
reason on stderr when nothing could be read or a choice is needed (ambiguous dates,
unmapped columns); 1 for any other failure.  No traceback is ever printed.
"""

from __future__ import annotations

import argparse
import os
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path

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
    p.add_argument("--profile", default=None, metavar="NAME", help="threshold profile (default: 'BSR 2017 / NICE')")
    p.add_argument("--as-of", default=None, metavar="YYYY-MM-DD", help="the date 'today' is for the schedule")
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
    w = wsub.add_parser("info", help="counts of what the workspace holds")
    w.add_argument("--json", action="store_true")
    w = wsub.add_parser("export", help="export the panel or one patient")
    w.add_argument("--format", required=True, choices=["csv", "xlsx", "pdf"])
    w.add_argument("--patient", default=None, metavar="ID")
    w.add_argument("--out", required=True, metavar="FILE")
    return parser


def import_options_from(args: argparse.Namespace):  # -> ImportOptions
    """Turn the shared import options into :class:`ImportOptions`."""
    from dashboard.ingest import ImportOptions
    from dashboard.ingest.mapping import MAP_TARGETS
    from dashboard.model import ANALYTES

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


def run_import(paths: Sequence[str], args: argparse.Namespace):  # -> ImportResult
    """Import for a command; raises CliError (exit 2) when nothing usable came out."""
    from dashboard.ingest import import_paths

    result = import_paths(paths, import_options_from(args))
    return result


def check_import(result) -> str | None:
    """The one-line reason to exit 2, or None."""
    report = result.report
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


def cmd_import(args: argparse.Namespace) -> int:
    result = run_import(args.paths, args)
    print(result.report.to_json() if args.json else result.report.to_text())
    reason = check_import(result)
    if reason:
        raise CliError(reason)
    if args.out:
        write_tables(result, Path(args.out))
        if not args.json:
            print(f"Wrote labs.parquet, doses.parquet and patients.parquet to {args.out}")
    return EXIT_OK


def write_tables(result, out: Path) -> None:
    import pyarrow.parquet as pq

    from dashboard import model

    out.mkdir(parents=True, exist_ok=True)
    for name in ("labs", "doses", "patients"):  # plain text columns: exactly the canonical schema
        pq.write_table(model.conform(name, getattr(result, name)), out / f"{name}.parquet")


def cmd_review(args: argparse.Namespace) -> int:
    from dashboard.rules.cli import cmd_review as impl

    return impl(args)


def cmd_sample(args: argparse.Namespace) -> int:
    from dashboard.sample import cmd_sample as impl

    return impl(args)


def cmd_workspace(args: argparse.Namespace) -> int:
    from dashboard.store import cmd_workspace as impl

    return impl(args)


COMMANDS = {"import": cmd_import, "review": cmd_review, "sample": cmd_sample, "workspace": cmd_workspace}


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse prints its own one-line usage error
        return int(exc.code or 0) if exc.code in (0, None) else EXIT_CHOICE
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
    except Exception:  # the promise: a one-line reason, never a traceback or the data in one
        if os.environ.get("DASHBOARD_DEBUG"):
            traceback.print_exc()
        print(
            f"error: the '{args.command}' command stopped on an unexpected problem; nothing more was written "
            "(set DASHBOARD_DEBUG=1 to see the technical details)",
            file=sys.stderr,
        )
        return EXIT_FAIL
