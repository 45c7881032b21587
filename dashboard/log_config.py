"""Where the package's log goes: stderr, at the level ``DASHBOARD_LOG`` names (WARNING by
default, so nothing below it is written).  The app's router and the command line call
:func:`configure` once.

Policy (docs/logging.md): counts, file formats, sizes and timings; never a value, a
name, a file name or a patient id.
"""

from __future__ import annotations

import logging
import os
import sys

#: The environment variable naming the log level (DEBUG, INFO, WARNING, ERROR).
ENV_VAR = "DASHBOARD_LOG"
_HANDLER_NAME = "dashboard-stderr"


def configure() -> None:
    """Send the ``dashboard`` loggers to stderr at the level of :data:`ENV_VAR` (idempotent)."""
    logger = logging.getLogger("dashboard")
    wanted = os.environ.get(ENV_VAR, "WARNING").strip().upper()
    logger.setLevel(wanted if wanted in logging.getLevelNamesMapping() else "WARNING")
    if any(h.get_name() == _HANDLER_NAME for h in logger.handlers):
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.set_name(_HANDLER_NAME)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logger.addHandler(handler)
    logger.propagate = False
