"""``python -m dashboard``: see :mod:`dashboard.cli`."""

import sys

# The import command works on Arrow tables only and never needs pandas.  pyarrow
# loads pandas on first use when it is installed, which costs about half a second of
# start-up; a command-line import of a large export should not pay for it.
if len(sys.argv) > 1 and sys.argv[1] == "import" and "pandas" not in sys.modules:
    from dashboard._nopandas import keep_pandas_out

    keep_pandas_out()

from dashboard.cli import main

sys.exit(main())
