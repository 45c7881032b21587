"""Import: any supported export in, the canonical tables and an import report out.

Use :func:`import_sources` (bytes) or :func:`import_paths` (files on disk).
"""

from dashboard.ingest.context import ImportOptions, NeedsChoice
from dashboard.ingest.pipeline import ImportResult, Source, import_paths, import_sources
from dashboard.ingest.report import Conversion, FileReport, ImportReport, Problem

__all__ = [
    "Conversion",
    "FileReport",
    "ImportOptions",
    "ImportReport",
    "ImportResult",
    "NeedsChoice",
    "Problem",
    "Source",
    "import_paths",
    "import_sources",
]
