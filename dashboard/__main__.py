"""``python -m dashboard``: see :mod:`dashboard.cli`."""

import os
import sys

_COMMAND = sys.argv[1] if len(sys.argv) > 1 else ""
_IMPORT = _COMMAND == "import"

# The import and review commands work on Arrow tables only and never need pandas.
# pyarrow loads pandas on first use when it is installed, which costs about half a
# second of start-up; a command-line run over a large export should not pay for it.
# ``review --csv`` writes the flags through pandas (the CSV export), so it keeps pandas.
_CSV = any(a == "--csv" or a.startswith("--csv=") for a in sys.argv[2:])
if (_IMPORT or (_COMMAND == "review" and not _CSV)) and "pandas" not in sys.modules:
    from dashboard._nopandas import keep_pandas_out

    keep_pandas_out()

from dashboard.cli import main  # noqa: E402

code = main()
if _IMPORT:
    # Everything is written and closed; skip the interpreter's teardown of large Arrow
    # buffers (the OS reclaims the memory at once).
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
sys.exit(code)
