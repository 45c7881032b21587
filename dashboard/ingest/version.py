"""Which reading of a file the workspace stored: the reader version (H625).

A fix to a reader can read the same bytes otherwise: three "once" rows of a change log
as three pulses (H560) where one was stored, a "%" neutrophil count rejected (H580) where
an absolute count was stored.  The workspace skips a file whose content it has imported
(``dashboard/store/merge.py``, ``known``), so its stored reading stays; it records the
reader version each file was read by (``import_readers``, schema 12), and a file skipped
that was read by an earlier version (or before versions were recorded) is said so, with
how to compare it with today's reading (``dashboard/store/merge.py``, ``Skipped``).

Raise :data:`READER_VERSION` by one with every change that reads the rows of a file
already imported otherwise (another value, unit, dose, date, pulse or patient id, or a row
accepted or rejected otherwise), and name the hazard beside it.
"""

from __future__ import annotations

#: The version of the readers (``dashboard/ingest/``): 1 is the reading of probe 44's fixes
#: (H530-H606: withdrawals, start basis, ids read as their text, pulses, units); files
#: imported before it have no version recorded.
READER_VERSION: int = 1

__all__ = ["READER_VERSION"]
