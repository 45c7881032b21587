"""Format readers for exports with a known shape (FHIR, Synthea, MIMIC).

Each reader looks at a table's header (or a JSON document) and, when it recognises its
format, converts it through the shared lab/dose/patient pipelines in ``pipeline.py``.
Tables no reader claims go through the generic column mapping.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from dashboard.ingest.report import FileReport

if TYPE_CHECKING:  # pragma: no cover
    from dashboard.ingest.pipeline import Context, Parsed
    from dashboard.ingest.tabular import RawTable


class FormatError(Exception):
    """A recognised format with content that cannot be used (message for the user)."""


def priority(raw: RawTable) -> int:
    """Order in which tables of one import are processed (dictionaries first)."""
    return 1


def read_json(name: str, data: bytes, rep: FileReport, ctx: Context) -> Parsed:
    from dashboard.ingest.pipeline import Parsed

    rep.format = "json"
    rep.error = "JSON files are not supported yet"
    return Parsed(rep)
