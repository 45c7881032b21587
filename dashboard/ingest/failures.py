"""A reader failure of any kind, in words a clinician can act on.

The import promises that one bad file never sinks the others: whatever goes wrong
while one file (or one sheet, or one FHIR resource) is read ends as that file's (or
row's) rejection with a plain-words reason, and the other files import.  The reason
never carries exception text: a message such as ``KeyError: 'Field "value (2)" exists
2 times in schema'`` says nothing to a rheumatologist and may quote the file's data.

What is logged follows the no-patient-data policy: the kind of failure and where in
the code it happened, never the message (which can hold values or ids).
"""

from __future__ import annotations

import csv
import logging
import traceback
import zipfile
import zlib

LOG = logging.getLogger("dashboard.ingest")
# a library logs; the program running it decides where to (nothing on a CLI user's screen)
logging.getLogger("dashboard").addHandler(logging.NullHandler())

#: Said of every file that could not be read for a reason nobody anticipated.
UNEXPECTED = (
    "the file could not be read: something in it is not in a shape this dashboard understands "
    "(for example a column or field of an unexpected kind); nothing of it was imported"
)


def plain_reason(exc: BaseException) -> str:
    """Why a file could not be read, in plain words (never the exception's text)."""
    if isinstance(exc, RecursionError):
        return "the file is nested too deeply to read (hundreds of levels of brackets): not an export"
    if isinstance(exc, MemoryError):
        return "the file is too large to read in this server's memory: split it into smaller files"
    if isinstance(exc, UnicodeError):
        return "the file's text encoding could not be read: save it as UTF-8 and import it again"
    if isinstance(exc, csv.Error):
        return "the file could not be split into rows and columns (a malformed line or an enormous value)"
    if isinstance(exc, zipfile.BadZipFile | zlib.error | EOFError):
        return "the file is damaged (it could not be decompressed): export it again"
    return UNEXPECTED


def log_failure(exc: BaseException, what: str) -> None:
    """Log a reader failure: its kind and code location, never its message or any data."""
    frames = traceback.extract_tb(exc.__traceback__)
    where = f"{frames[-1].filename.rsplit('/', 1)[-1]}:{frames[-1].lineno}" if frames else "?"
    LOG.warning("%s could not be read: %s at %s", what, type(exc).__name__, where)


__all__ = ["UNEXPECTED", "log_failure", "plain_reason"]
