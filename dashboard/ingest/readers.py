"""Format readers for exports with a known shape (FHIR, Synthea, MIMIC, SMART).

Each reader looks at a table's header (or a JSON document) and, when it recognises its
format, converts it through the shared lab/dose/patient pipelines in ``pipeline.py``.
Tables no reader claims go through the generic column mapping.  Detection is by
content only: the header set of a table, the ``resourceType`` of a JSON document.

The readers live in their own modules and register themselves on import:

* :mod:`dashboard.ingest.synthea`  Synthea CSV (observations, medications, patients, conditions)
* :mod:`dashboard.ingest.mimic`    MIMIC-III and MIMIC-IV (labevents, d_labitems, prescriptions,
  patients, admissions)
* :mod:`dashboard.ingest.smart`    SMART sample-patient tables (meds.txt)
* :mod:`dashboard.ingest.fhir`     FHIR JSON (R4, with STU3/DSTU2/DSTU1 shapes tolerated) and NDJSON
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
    """Order in which the tables of one import are processed.

    0: dictionaries that give context to the other files (a MIMIC ``d_labitems``).
    1: data tables.
    2: tables that need context from data tables of the same import: a MIMIC lab
       extract with only HADM_ID, filed under the SUBJECT_ID that PRESCRIPTIONS,
       ADMISSIONS or a full LABEVENTS links to the admission.
    """
    from dashboard.ingest import mimic

    if mimic.is_dictionary(raw):
        return 0
    return 2 if mimic.needs_links(raw) else 1


def read_json(name: str, data: bytes, rep: FileReport, ctx: Context) -> Parsed:
    """A JSON or NDJSON file: FHIR resources (a Bundle, one resource, NDJSON lines)."""
    from dashboard.ingest import fhir

    return fhir.read_fhir(name, data, rep, ctx)


def _register() -> None:
    # importing the modules registers their readers (pipeline.register_reader)
    from dashboard.ingest import mimic, smart, synthea  # noqa: F401


_register()
