"""``python -m dashboard workspace import|info|export``: the workspace without the UI.

``import --reread FILE...`` reads files already imported again with today's reader and
prints what changed (``--dry-run``: only prints it; :mod:`dashboard.store.reread`).

For scheduled imports (a nightly lab export dropped in a folder) and exports.  ``export``
takes ``--as-of YYYY-MM-DD`` and ``--profile NAME`` as ``review`` does (an audit of a past
date under an old profile; the file says both).  The
workspace is ``DASHBOARD_WORKSPACE`` when set (see :mod:`dashboard.store.location`).
Exit codes follow :mod:`dashboard.cli.common`: 0 when the command ran (a file already
imported is not an error), 2 when a choice is needed or nothing could be read, 1 for
other failures (including a workspace kept busy by another writer).
"""

from __future__ import annotations

import argparse
import getpass
import json
from pathlib import Path

from dashboard import summary_export as sx
from dashboard.cli.common import EXIT_FAIL, EXIT_OK, CliError, check_import, import_options_from
from dashboard.cli.review import parse_as_of, resolve_profile
from dashboard.ingest import ImportReport
from dashboard.ingest.pipeline import read_paths
from dashboard.store.location import resolve
from dashboard.store.lock import WorkspaceBusy
from dashboard.store.panel import open_panel
from dashboard.store.workspace import Workspace, WorkspaceError


def cmd_workspace(args: argparse.Namespace) -> int:
    location = resolve()
    ws = Workspace(location.path)
    try:
        return {"import": _import, "info": _info, "export": _export}[args.ws_command](ws, args)
    except WorkspaceBusy as exc:
        raise CliError(str(exc), EXIT_FAIL) from None
    except WorkspaceError as exc:
        raise CliError(str(exc), EXIT_FAIL) from None


def cli_user() -> str:
    try:
        return f"{getpass.getuser()} (command line)"
    except (KeyError, OSError):
        return "command line"


def _import(ws: Workspace, args: argparse.Namespace) -> int:
    if getattr(args, "reread", False):
        return _reread(ws, args)
    if getattr(args, "dry_run", False):
        raise CliError("--dry-run goes with --reread")
    options = import_options_from(args)
    read = read_paths(args.paths)  # the walk `import` makes: documentation and sub-folders said
    if not read.sources:
        raise CliError(f"{read.missing[0].path}: {read.missing[0].error}" if read.missing else "nothing to import")
    out = ws.import_sources(read.sources, options, by=cli_user(), origin="cli", missing=read.missing)
    if out.report is not None:
        out.report.skipped, out.report.folders = list(read.skipped), list(read.folders)
    not_read = {"skipped_documentation": read.skipped, "skipped_folders": read.folders}
    if args.json:
        payload = {"workspace": str(ws.path), **out.to_dict(), **not_read}
        print(json.dumps(payload, indent=2, ensure_ascii=False, default=str))
    else:
        if out.report is not None and out.report.files:
            print(out.report.to_text())
        elif read.skipped or read.folders:  # nothing new was read: what was passed over, said
            print("\n".join(ImportReport(skipped=list(read.skipped), folders=list(read.folders)).not_read_lines()))
        print(out.summary())
        print(f"Workspace: {ws.path}")
    if not out.stored and out.report is not None:
        reason = check_import(out.report)
        # a drop folder of files already imported plus a stray unreadable file is not a
        # failure of the nightly job; a file that needs a choice always is
        if reason and (out.report.needs or not out.skipped):
            raise CliError(reason + " (nothing was stored in the workspace)")
    return EXIT_OK


def _reread(ws: Workspace, args: argparse.Namespace) -> int:
    """``workspace import --reread FILE...``: the files' imports read again with today's
    reader (``dashboard/store/reread.py``), the differences printed; nothing changed when a
    file is not in the workspace, a file of its import is missing or a file now needs a
    choice (exit 2), or with ``--dry-run``."""
    if not ws.exists():
        raise CliError(f"no workspace at {ws.path}: nothing to read again", EXIT_FAIL)
    options = import_options_from(args)
    read = read_paths(args.paths)
    if not read.sources:
        raise CliError(f"{read.missing[0].path}: {read.missing[0].error}" if read.missing else "nothing to read again")
    out = ws.reread(read.sources, options, by=cli_user(), origin="cli", dry_run=args.dry_run)
    if args.json:
        print(json.dumps({"workspace": str(ws.path), **out.to_dict()}, indent=2, ensure_ascii=False, default=str))
    else:
        for i in out.imports:
            if i.report_text:
                print(i.report_text)
        print(out.summary())
        print(f"Workspace: {ws.path}")
    if out.problems:
        raise CliError("nothing was read again (see above)")
    return EXIT_OK


def _info(ws: Workspace, args: argparse.Namespace) -> int:
    info = ws.info()
    if args.json:
        print(json.dumps(info, indent=2, default=str))
        return EXIT_OK
    if not info["exists"]:
        print(f"No workspace yet at {ws.path} (it is created by the first import or save).")
        return EXIT_OK
    print(f"Workspace: {info['path']} (schema {info['schema_version']})")
    print(
        f"{info['patients']:,} patients, {info['labs']:,} lab results"
        # the results the lab withdrew, kept out of the panel but in sight (H530, probe44 F7)
        + (
            f" ({info['labs_withdrawn']:,} more withdrawn by the lab, no longer graded)"
            if info["labs_withdrawn"]
            else ""
        )
        + f", {info['doses']:,} doses "
        f"({info['doses_entered']:,} entered in the app), {info['imports']:,} imports, {info['reviews']:,} reviews"
    )
    if info["last_import"]:
        print(f"Last import: {info['last_import']}")
    return EXIT_OK


def _export(ws: Workspace, args: argparse.Namespace) -> int:
    # --as-of and --profile as `review` reads them (an audit of a past date under an old
    # profile, H331): checked before the workspace is read
    chosen = parse_as_of(getattr(args, "as_of", None))
    profile = resolve_profile(getattr(args, "profile", None))
    if not ws.exists():
        raise CliError(f"no workspace at {ws.path}: import files first", EXIT_FAIL)
    panel = open_panel(ws)
    as_of = chosen or panel.as_of
    out = Path(args.out)
    if args.patient is not None and args.patient not in set(panel.patients["patient_id"]):
        raise CliError(f"patient '{args.patient}' is not in the workspace", EXIT_FAIL)
    if args.format == "pdf":
        if args.patient is None:
            raise CliError("--format pdf is a one-patient summary: add --patient ID")
        data = sx.patient_summary_pdf(panel.summary(args.patient, as_of, profile))
    elif args.patient is not None:
        data = (
            sx.patient_csv(panel.labs, args.patient)
            if args.format == "csv"
            else sx.patient_xlsx(panel.labs, panel.doses, panel.reviews, args.patient)
        )
    else:
        table = sx.panel_frame(
            panel.labs,
            panel.doses,
            panel.patients,
            panel.reviews,
            as_of,
            panel.baselines,
            profile,
            intervals=panel.intervals,
            aliases=panel.aliases,  # another id that may be the same person (H276)
            conflicts=panel.disputes,  # a disputed date of birth: both dates (H553)
        )
        data = (
            sx.panel_csv(table)
            if args.format == "csv"
            else sx.panel_xlsx(table, panel.labs, panel.doses, panel.reviews)
        )
    if out.parent and not out.parent.exists():
        out.parent.mkdir(parents=True, exist_ok=True)
    sx.write(out, data)
    what = f"patient {args.patient}" if args.patient else f"panel of {len(panel.patients):,} patients"
    # the raw results of one patient are not judged: no profile to name
    judged = "" if args.patient is not None and args.format != "pdf" else f", profile {profile.name}"
    print(f"Wrote {args.format.upper()} of the {what} to {out} ({len(data):,} bytes, as of {as_of:%Y-%m-%d}{judged}).")
    return EXIT_OK
