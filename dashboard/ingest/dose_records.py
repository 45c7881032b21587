"""The dose records every reader fills in, before the dose pipeline judges them.

Kept apart from :mod:`dashboard.ingest.doses` (the pipeline, with the dose, frequency
and instruction parsers): a reader builds records without loading the parsers, and an
import of lab files alone never loads them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from dashboard.ingest.report import FileReport


@dataclass
class DoseRecord:
    """One dose row as text, from any reader."""

    row: int
    patient_id: str
    drug_text: str
    start: dt.datetime | None
    end: dt.datetime | None
    start_error: str = ""
    end_error: str = ""
    drug_code: str = ""
    dose: str = ""
    dose_unit: str = ""
    frequency: str = ""
    route: str = ""
    strength_only: bool = False  # the source gives a product strength, never a schedule
    #: mg in one tablet or capsule, from a structured field (a FHIR Medication's ingredient
    #: strength); used for a dose in tablets when the product name states no strength
    unit_strength_mg: float | None = None
    daily_dose: bool = False  # the dose column is a daily total (header "mg/day")
    dose_problem: str = ""  # why the source's dose is not one stated amount (a FHIR doseRange)
    status: str = ""  # the order's status as written ("Active", "On Hold", "Discontinued")
    #: what ``start`` is (model.START_BASES): "" the day the dose started, "recorded" or
    #: "renewed" only when a statement was recorded or a renewal written (H540)
    start_basis: str = ""
    columns: dict[str, str] = field(default_factory=dict)


@dataclass
class DoseBatch:
    report: FileReport
    records: list[DoseRecord]
    change_log: bool  # no end column: ends come from the next change
    delimiter: str = ""  # of a delimited file: a semicolon file writes decimal commas
    # an end column empty in every row: ends come from the next change (as with no end
    # column), but a row that says "held" or "0" is judged as in a file with end dates
    blank_end: bool = False
    #: a table with an end column in use: whether its rows are a change log is decided per
    #: patient and drug (the rows of a drug with no end date in any row are one), never
    #: by another patient's rows (probe39 F6).  Readers of interval sources (FHIR, SMART)
    #: leave it off: their open orders are intervals.
    per_pair: bool = False
