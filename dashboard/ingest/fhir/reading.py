"""What one FHIR file's resources turned into, before the shared pipelines judge it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from dashboard.ingest.dose_records import DoseRecord
from dashboard.ingest.fhir.datatypes import Resource
from dashboard.ingest.patients import PatientRecord


@dataclass
class LabRows:
    """Lab records of the file, as text columns."""

    rows: list[int] = field(default_factory=list)
    patient: list[str] = field(default_factory=list)
    when: list[str] = field(default_factory=list)
    when_reason: list[str] = field(default_factory=list)  # why there is no draw time ("" where there is one)
    value_reason: list[str] = field(default_factory=list)  # why there is no result value ("" where there is one)
    name: list[str] = field(default_factory=list)
    code: list[str] = field(default_factory=list)
    value: list[str] = field(default_factory=list)
    unit: list[str] = field(default_factory=list)
    ref_low: list[str] = field(default_factory=list)
    ref_high: list[str] = field(default_factory=list)
    ref_text: list[str] = field(default_factory=list)
    #: the limits of a range per sex (male low, male high, female low, female high; "" where none)
    ref_sex: list[tuple[str, str, str, str]] = field(default_factory=list)
    flag: list[str] = field(default_factory=list)
    #: the Observation's status when it corrects an earlier result ("amended", "corrected"), else ""
    status: list[str] = field(default_factory=list)

    def add(self, **kw: Any) -> None:
        for k, v in kw.items():
            getattr(self, k).append(v)


@dataclass
class Reading:
    """Everything one file's resources turned into, before judging."""

    labs: LabRows = field(default_factory=LabRows)
    doses: list[DoseRecord] = field(default_factory=list)
    patients: list[PatientRecord] = field(default_factory=list)
    #: the Patients contained in a result as its subject, filed under the patient they name
    #: (H355), each with a note ("" or why its birth date is not stored); they ride on their
    #: result's row, which the result settles
    contained_patients: list[tuple[PatientRecord, str]] = field(default_factory=list)
    aliases: list[tuple[str, str, str]] = field(default_factory=list)  # pid, identifier kind, value
    weights: list[tuple[int, str, str, str, str]] = field(default_factory=list)  # row, pid, when, value, unit
    phenotypes: list[tuple[int, str, str, str]] = field(default_factory=list)  # row, pid, gene, value text
    groups: list[tuple[int, str, list[int]]] = field(default_factory=list)  # row, kind, member rows
    medication_rows: dict[int, Resource] = field(default_factory=dict)
    used_medications: set[int] = field(default_factory=set)
    #: (row, why) of each result whose ranges limited by age were left out for want of the age (H375)
    age_ranges_unused: list[tuple[int, str]] = field(default_factory=list)
    fallback_time: int = 0
    issued_time: int = 0
