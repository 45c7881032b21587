"""Format readers for exports with a known shape (FHIR, Synthea, MIMIC, SMART).

Each reader looks at a table's header (or a JSON document) and, when it recognises its
format, converts it through the shared lab/dose/patient pipelines.  Tables no reader
claims go through the generic column mapping.  Detection is by content only: the
header set of a table, the ``resourceType`` of a JSON document.

The readers are listed here, in the order they are tried (:data:`READERS`), each with
the header shape that sends a table to it (:mod:`dashboard.ingest.signatures`); none of
them registers itself, so adding one is adding it to the list:

* :mod:`dashboard.ingest.mimic`    MIMIC-III and MIMIC-IV (labevents, d_labitems, prescriptions,
  patients, admissions)
* :mod:`dashboard.ingest.smart`    SMART sample-patient tables (meds.txt)
* :mod:`dashboard.ingest.synthea`  Synthea CSV (observations, medications, patients, conditions)
* :mod:`dashboard.ingest.fhir`     FHIR JSON (R4, with STU3/DSTU2/DSTU1 shapes tolerated) and NDJSON
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import cast

from dashboard.ingest import signatures
from dashboard.ingest.context import Context, FormatError, Parsed, Reader
from dashboard.ingest.report import FileReport
from dashboard.ingest.tabular import RawTable


@dataclass(frozen=True)
class KnownTable:
    """A table with its own reader: its header shape, and where its reader lives."""

    name: str
    shape: Callable[[RawTable], bool]  # from dashboard.ingest.signatures
    module: str  # under dashboard.ingest
    function: str
    #: the reader leaves the table to the generic mapping when that can read it
    only_unmapped: bool = False

    def reader(self) -> Reader:
        """The reader function.  Its module is loaded on first use, when a table of its
        format comes: an import of the usual lab and dose exports never loads the MIMIC,
        Synthea or SMART readers (start-up time, issue 20)."""
        return cast(Reader, getattr(importlib.import_module(f"dashboard.ingest.{self.module}"), self.function))


#: The table readers, tried in this order before the generic column mapping.
READERS: tuple[KnownTable, ...] = (
    KnownTable("mimic d_labitems", signatures.is_mimic_d_labitems, "mimic", "read_d_labitems"),
    KnownTable("mimic admissions", signatures.is_mimic_admissions, "mimic", "read_admissions"),
    KnownTable("mimic labevents", signatures.is_mimic_labevents, "mimic", "read_labevents"),
    KnownTable("mimic prescriptions", signatures.is_mimic_prescriptions, "mimic", "read_prescriptions"),
    KnownTable("mimic patients", signatures.is_mimic_patients, "mimic", "read_patients"),
    KnownTable("mimic other tables", signatures.is_other_mimic, "mimic", "read_other_mimic", only_unmapped=True),
    KnownTable("smart meds", signatures.is_smart_meds, "smart", "read_meds"),
    KnownTable("synthea observations", signatures.is_synthea_observations, "synthea", "read_observations"),
    KnownTable("synthea medications", signatures.is_synthea_medications, "synthea", "read_medications"),
    KnownTable("synthea conditions", signatures.is_synthea_conditions, "synthea", "read_conditions"),
    KnownTable("synthea patients", signatures.is_synthea_patients, "synthea", "read_patients"),
)


def candidates(raw: RawTable) -> Iterator[Reader]:
    """The readers whose table shape ``raw`` has, in :data:`READERS` order (a reader may
    still decline the table: it returns None)."""
    for known in READERS:
        if known.shape(raw):
            yield known.reader()


def is_known_export(raw: RawTable, mapped: bool) -> bool:
    """True when some reader's table shape matches ``raw`` (``mapped``: the generic column
    mapping reads it, which the readers of :attr:`KnownTable.only_unmapped` leave it to)."""
    return any(known.shape(raw) and not (mapped and known.only_unmapped) for known in READERS)


def priority(raw: RawTable) -> int:
    """Order in which the tables of one import are processed.

    0: dictionaries that give context to the other files (a MIMIC ``d_labitems``).
    1: data tables.
    2: tables that need context from data tables of the same import: a MIMIC lab
       extract with only HADM_ID, filed under the SUBJECT_ID that PRESCRIPTIONS,
       ADMISSIONS or a full LABEVENTS links to the admission.
    """
    if signatures.is_mimic_dictionary(raw):
        return 0
    return 2 if signatures.mimic_needs_links(raw) else 1


def read_json(name: str, data: bytes, rep: FileReport, ctx: Context) -> Parsed:
    """A JSON or NDJSON file: FHIR resources (a Bundle, one resource, NDJSON lines)."""
    # loaded when a JSON file comes: the FHIR reader is the largest, and an import of
    # delimited or Excel exports (the usual case) never needs it
    from dashboard.ingest import fhir

    return fhir.read_fhir(name, data, rep, ctx)


__all__ = ["READERS", "FormatError", "KnownTable", "candidates", "is_known_export", "priority", "read_json"]
