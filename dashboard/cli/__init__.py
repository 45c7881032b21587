"""Command line: ``python -m dashboard <command>``.

Commands (the options are contracts; add to them, never change them):

  import PATH...    import exports, print the report, optionally write the tables
  review PATH...    import and print the per-patient clinical review
  sample            write the synthetic sample panel
  workspace ...     persistent workspace: import, info, export

Exit codes: 0 when the command ran (even if rows were rejected); 2 with a one-line
reason on stderr when nothing could be read or a choice is needed (ambiguous dates,
unmapped columns); 1 for any other failure.  No traceback is ever printed.

* :mod:`dashboard.cli.common`: the exit codes, :class:`CliError` and the import options
  every command shares (import them from there: the subcommands do, never from the
  dispatcher or this package);
* :mod:`dashboard.cli.main`: the parser, the ``import`` command and the dispatch.
"""

from dashboard.cli.main import COMMANDS, build_parser, cmd_import, main, write_tables

__all__ = ["COMMANDS", "build_parser", "cmd_import", "main", "write_tables"]
