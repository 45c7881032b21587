"""``python -m dashboard review PATH...``: import like ``import`` and print the per-patient review.

Options (contracts): ``--dayfirst|--monthfirst``, ``--map``, ``--profile NAME`` ("BSR 2025"
by default, "BSR 2017 / NICE" for old audits, "CTCAE only", or the path of a user profile file), ``--as-of
YYYY-MM-DD`` (the date "today" is for the schedule and open flags; results after it are
counted and listed, not reviewed; without it: today, or the last result's date when
every result lies after today, and the review says so), ``--json``, ``--compact``
(newline-delimited JSON for batch use: :func:`dashboard.rules.output.write_review_ndjson`),
``--csv FILE`` (the open flags, one row each).  The JSON review (and the compact review's
first line) adds ``references``: ``{id: {"citation", "url"}}`` of each reference id its
sources cite in square brackets ("CTCAE v5.0 [nci_ctcae5]"); the text ends with a
"Sources" block.  Exit codes as ``import``: 2 with a one-line reason when nothing could
be read, a choice is needed, or the profile/date is not understood.

The hot path stays on Arrow and numpy: pandas is never imported here.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from pathlib import Path
from typing import Any

from dashboard.cli.common import EXIT_OK, CliError, check_import, run_import
from dashboard.identity import conflict_notes, other_ids_by_patient
from dashboard.ingest import ImportResult
from dashboard.rules.as_of import AsOf, default_as_of, result_span
from dashboard.rules.engine import Profile, RuleError, get_profile
from dashboard.rules.output import review_text, write_review_json, write_review_ndjson
from dashboard.rules.review import Review, review


def parse_as_of(text: str | None) -> dt.date | None:
    """The --as-of date; None when not given (the default is decided from the data)."""
    if not text:
        return None
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError:
        raise CliError(f"--as-of: expected a date as YYYY-MM-DD, got '{text}'") from None


def resolve_profile(name: str | None) -> Profile:
    try:
        return get_profile(name)
    except RuleError as exc:
        raise CliError(f"--profile: {exc}") from None


def cmd_review(args: argparse.Namespace) -> int:
    as_of = parse_as_of(getattr(args, "as_of", None))
    profile = resolve_profile(getattr(args, "profile", None))
    result = run_import(args.paths, args)
    reason = check_import(result.report)
    if reason:
        if getattr(args, "compact", False):
            # the keys of a review's first line, empty: a batch reader finds its fields (H611)
            nothing: dict[str, Any] = {
                "import": result.report.to_dict(),
                "review": None,
                "fields": None,
                "references": {},
            }
            print(json.dumps(nothing, default=str))
        elif args.json:
            empty: dict[str, Any] = {
                "import": result.report.to_dict(),
                "review": None,
                "references": {},
                "patients": [],
            }
            print(json.dumps(empty, default=str))
        else:
            print(result.report.to_text())
        raise CliError(reason)

    chosen = AsOf(as_of) if as_of is not None else default_as_of(*result_span(result.labs))
    rv = review(result.labs, result.doses, result.patients, None, profile, chosen.date, chosen.note)
    # another id of the panel that may be the same person: in the patient's own section and
    # JSON record, as the Patient page and the PDF say it (H150, H276)
    rv.other_ids = other_ids_by_patient(result.aliases, rv.summary.column("patient_id").to_pylist())
    # a date of birth (or sex) two sources give differently: both named, never one (H553)
    rv.identity_conflicts = conflict_notes(result.report.identity_conflicts)
    written = write_flags_csv(rv, result, args.csv) if getattr(args, "csv", None) else None
    if getattr(args, "compact", False):
        sys.stdout.flush()
        write_review_ndjson(rv, result.report.to_dict(), sys.stdout.buffer)
        sys.stdout.buffer.flush()
    elif args.json:
        sys.stdout.flush()
        write_review_json(rv, result.report.to_dict(), sys.stdout.buffer)
        sys.stdout.buffer.write(b"\n")
        sys.stdout.buffer.flush()
    else:
        print(result.report.to_text())
        print()
        print(review_text(rv))
    if written is not None:  # on stderr: stdout stays the review (JSON or text)
        sys.stdout.flush()  # the review first: never "...review textWrote 3 open flags" on one screen
        print(
            f"\nWrote {written} open flag{'s' if written != 1 else ''} to {args.csv} "
            "(flags on results; the dose checks and overdue tests are in the review)",
            file=sys.stderr,
        )
    return EXIT_OK


def write_flags_csv(rv: Review, result: ImportResult, path: str) -> int:
    """``--csv FILE``: the open flags, one row each, with the review state (files
    reviewed here have no review log: every flag reads "not reviewed").  Returns the rows."""
    # imported here: these need pandas, which the review without --csv never loads
    # (tests/test_cli_process.py)
    from dashboard.export import to_csv_bytes
    from dashboard.reviews import empty_log, with_review_status
    from dashboard.summary_export import open_flags_frame, write

    flags = with_review_status(rv.open_flags_df(), empty_log(), rule_col="rule")
    frame = open_flags_frame(flags, result.patients_df())
    target = Path(path)
    if target.parent and not target.parent.exists():
        raise CliError(f"--csv: the folder {target.parent} does not exist")
    write(target, to_csv_bytes(frame))
    return len(frame)
