"""``python -m dashboard``: see :mod:`dashboard.cli`."""

import importlib.abc
import sys

import pyarrow as pa

from dashboard.cli import main


class _PandasNotHere(importlib.abc.MetaPathFinder):
    def find_spec(self, fullname, path, target=None):
        if fullname == "pandas" or fullname.startswith("pandas."):
            raise ModuleNotFoundError("pandas is not looked for here", name=fullname)
        return None


def _pandas_probe_finds_none() -> None:
    """Let pyarrow's one-time look-up for pandas find none, in a command that never uses it.

    pyarrow looks for pandas on its first conversion of Python or numpy data (to tell a
    pandas Series from other input) and imports it when it is installed: a quarter to
    half a second of start-up.  ``import`` and ``review`` (without ``--csv``) work on
    Arrow and numpy only and never import pandas (``tests/test_cli_process.py`` checks
    it over every input format), so for them that one look-up finds none.  Every other
    command (``review --csv``, ``workspace``, ``sample``) uses pandas and is left alone.
    """
    argv = sys.argv[1:]
    command = argv[0] if argv else ""
    if command not in ("import", "review") or any(a == "--csv" or a.startswith("--csv=") for a in argv):
        return
    if "pandas" in sys.modules:
        return
    finder = _PandasNotHere()
    sys.meta_path.insert(0, finder)
    try:
        pa.array([0])
    finally:
        sys.meta_path.remove(finder)


_pandas_probe_finds_none()
sys.exit(main())
