"""Format readers for exports with a known shape (FHIR, Synthea, MIMIC, SMART).

Each reader looks at a table's header (or a JSON document) and, when it recognises its
format, converts it through the shared lab/dose/patient pipelines.  Tables no reader
claims go through the generic column mapping.  Detection is by content only: the
header set of a table, the ``resourceType`` of a JSON document.

The readers are listed here, in the order they are tried (:data:`READERS`); none of
them registers itself, so adding one is adding it to the list:

* :mod:`dashboard.ingest.mimic`    MIMIC-III and MIMIC-IV (labevents, d_labitems, prescriptions,
  patients, admissions)
* :mod:`dashboard.ingest.smart`    SMART sample-patient tables (meds.txt)
* :mod:`dashboard.ingest.synthea`  Synthea CSV (observations, medications, patients, conditions)
* :mod:`dashboard.ingest.fhir`     FHIR JSON (R4, with STU3/DSTU2/DSTU1 shapes tolerated) and NDJSON
"""

from __future__ import annotations

from dashboard.ingest import mimic, smart, synthea
from dashboard.ingest.context import Context, FormatError, Parsed, Reader
from dashboard.ingest.report import FileReport
from dashboard.ingest.tabular import RawTable

#: The table readers, tried in this order before the generic column mapping.
READERS: tuple[tuple[str, Reader], ...] = (
    ("mimic d_labitems", mimic.read_d_labitems),
    ("mimic admissions", mimic.read_admissions),
    ("mimic labevents", mimic.read_labevents),
    ("mimic prescriptions", mimic.read_prescriptions),
    ("mimic patients", mimic.read_patients),
    ("mimic other tables", mimic.read_other_mimic),
    ("smart meds", smart.read_meds),
    ("synthea observations", synthea.read_observations),
    ("synthea medications", synthea.read_medications),
    ("synthea conditions", synthea.read_conditions),
    ("synthea patients", synthea.read_patients),
)


def priority(raw: RawTable) -> int:
    """Order in which the tables of one import are processed.

    0: dictionaries that give context to the other files (a MIMIC ``d_labitems``).
    1: data tables.
    2: tables that need context from data tables of the same import: a MIMIC lab
       extract with only HADM_ID, filed under the SUBJECT_ID that PRESCRIPTIONS,
       ADMISSIONS or a full LABEVENTS links to the admission.
    """
    if mimic.is_dictionary(raw):
        return 0
    return 2 if mimic.needs_links(raw) else 1


def read_json(name: str, data: bytes, rep: FileReport, ctx: Context) -> Parsed:
    """A JSON or NDJSON file: FHIR resources (a Bundle, one resource, NDJSON lines)."""
    # loaded when a JSON file comes: the FHIR reader is the largest, and an import of
    # delimited or Excel exports (the usual case) never needs it
    from dashboard.ingest import fhir

    return fhir.read_fhir(name, data, rep, ctx)


__all__ = ["READERS", "FormatError", "priority", "read_json"]
