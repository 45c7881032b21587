"""Helpers shared by the format readers (FHIR, Synthea, MIMIC, SMART).

A format reader recognises its table by the header (or a JSON document by its
``resourceType``) and turns rows into the shared records (``LabInput``, ``DoseRecord``,
``PatientRecord``).  The shared pipelines judge every record; this module adds the
bookkeeping for rows a reader judges itself (a resource type that is not used, a
dose order of 0 mg, a body weight taken as the patient's weight), so that one file's
report still holds ``rows_read == rows_accepted + rows_rejected + duplicates``.
"""

from __future__ import annotations

import datetime as dt
import re
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

import pyarrow as pa

from dashboard.ingest import dates as dates_mod
from dashboard.ingest.context import IntervalDates, Parsed
from dashboard.ingest.dose_records import DoseBatch, DoseRecord
from dashboard.ingest.labs import LabCandidates
from dashboard.ingest.mapping import normalize
from dashboard.ingest.patients import PatientRecord, normalise_patients
from dashboard.ingest.report import FileReport, Problem
from dashboard.ingest.signatures import header_index
from dashboard.ingest.tabular import RawTable
from dashboard.units import mass_unit, to_mg

#: The order decision for sources whose dates are ISO 8601 by specification (FHIR).
ISO_ORDER = dates_mod.OrderDecision("ISO", "ISO 8601 dates (as the format requires)")


# --------------------------------------------------------------------------- headers


def col(raw: RawTable, name: str) -> pa.Array | None:
    """A column by case-insensitive name, or None."""
    h = header_index(raw).get(name.upper())
    return raw.columns[h] if h is not None else None


def required(raw: RawTable, name: str) -> pa.Array:
    """A column the format's recognition already required (case-insensitive name)."""
    arr = col(raw, name)
    if arr is None:
        raise KeyError(f"column {name} missing")  # recognition checked it: a programming error
    return arr


def texts(raw: RawTable, name: str) -> list[str]:
    """A column's cells as Python strings ("" for a missing column)."""
    arr = col(raw, name)
    return arr.to_pylist() if arr is not None else [""] * raw.num_rows


def used_columns(rep: FileReport, raw: RawTable, mapping: dict[str, str]) -> None:
    """Record which column was read as which field, and the columns not used."""
    idx = header_index(raw)
    rep.mapping = {fld: idx[c.upper()] for fld, c in mapping.items() if c.upper() in idx}
    used = {c.upper() for c in mapping.values()}
    rep.unmapped_columns = [h for h in raw.header if h.strip().upper() not in used]


@dataclass(frozen=True)
class ExportTable:
    """A table of a known export (``vocab/exports.toml``): the format the report names,
    the kind of rows, and the header read as each field."""

    format: str
    kind: str
    fields: dict[str, str]


@cache
def export_tables() -> dict[str, ExportTable]:
    """The known export tables by key, read once from ``vocab/exports.toml``."""
    text = resources.files("dashboard").joinpath("vocab", "exports.toml").read_text(encoding="utf-8")
    return {
        key: ExportTable(format=t["format"], kind=t["kind"], fields=dict(t["fields"]))
        for key, t in tomllib.loads(text).items()
    }


def claim_table(rep: FileReport, raw: RawTable, key: str) -> dict[str, str]:
    """Record that ``raw`` is the known export table ``key`` (its format, kind and the
    columns read) and return a copy of its field -> header map."""
    table = export_tables()[key]
    rep.format = table.format
    rep.kind = table.kind
    used_columns(rep, raw, table.fields)
    return dict(table.fields)


def empty(n: int) -> pa.Array:
    return pa.repeat(pa.scalar("", pa.string()), n)


# --------------------------------------------------------------------------- product strength

_STRENGTH = re.compile(
    r"(?<![\d.])(\d+(?:\.\d+)?)\s*(mg|milligrams?|g|grams?|mcg|micrograms?|ug|µg)\b(?!\s*(?:/|per)\s*(?:\d+(?:\.\d+)?\s*)?(?:ml|l|actuat))",
    re.IGNORECASE,
)


def product_strength(text: str) -> tuple[float, str] | None:
    """The strength of one tablet/capsule named in a product text, in mg.

    "Methotrexate 2.5 MG Oral Tablet" -> (2.5, "mg"); "Leflunomide 10 MILLIGRAM In 1
    TABLET" -> (10, "mg"); "0.5 mg / mL Suspension" -> None (a concentration, not a
    unit dose); a combination product with two strengths -> None.
    """
    found = {(_mass_unit(u), float(v)) for v, u in _STRENGTH.findall(text)}
    if len(found) != 1:
        return None
    unit, value = found.pop()
    mg = to_mg(value, unit)
    return None if mg is None else (mg, "mg")


def _mass_unit(u: str) -> str:
    """The canonical spelling of a unit the amount patterns matched (always a mass unit)."""
    return mass_unit(u) or u


_TABLET_WORDS = re.compile(r"\b(tablets?|tabs?|capsules?|caps?|pills?)\b", re.IGNORECASE)


def is_solid_form(text: str) -> bool:
    """True when a product text names a tablet or capsule (a count is a number of them)."""
    return bool(_TABLET_WORDS.search(text))


# --------------------------------------------------------------------------- sig texts

_AMOUNT_MG = re.compile(r"(?<![\d.])(\d+(?:\.\d+)?)\s*(mg|milligrams?|g|grams?|mcg|micrograms?|ug|µg)\b", re.IGNORECASE)
_AMOUNT_UNITS = re.compile(
    r"(?<![\d.])(\d+(?:\.\d+)?)\s*(tab\(s\)|tabs?|tablets?|caps?|capsules?|cap\(s\))(?![a-z])", re.IGNORECASE
)


def amount_in_text(text: str) -> tuple[str, str] | None:
    """The dose named in an instruction text: ("10", "mg") or ("1", "tablet"), else None.

    An amount in mg/g/mcg wins over a count of tablets ("10 mg, 1 tab(s), Oral, qWeek").
    """
    m = _AMOUNT_MG.search(text)
    if m:
        return m.group(1), _mass_unit(m.group(2))
    m = _AMOUNT_UNITS.search(text)
    if m:
        return m.group(1), "tablet"
    return None


def frequency_in_text(text: str) -> str:
    """A frequency named somewhere in an instruction text, as a text parse_frequency reads.

    Tries the whole text, then its comma/semicolon parts (brackets removed), then runs of
    2-4 words, longest first: "1 tabs, Oral, Once a Day (at bedtime)" -> "Once a Day".
    Returns "" when nothing reads as a frequency.
    """
    # the frequency parser is loaded with the dose pipeline, when an instruction comes
    from dashboard.ingest.frequency import parse_frequency

    candidates = [text]
    for part in re.split(r"[,;]", text):
        candidates.append(re.sub(r"\([^)]*\)", " ", part).strip())
    for c in candidates:
        if c and parse_frequency(c) is not None:
            return c
    tokens = normalize(re.sub(r"\([^)]*\)", " ", text)).split()
    for n in (4, 3, 2, 1):
        for i in range(len(tokens) - n + 1):
            window = " ".join(tokens[i : i + n])
            if n == 1 and (len(window) < 3 or window in ("once", "one", "stat")):
                continue
            if parse_frequency(window) is not None:
                return window
    return ""


# --------------------------------------------------------------------------- accounting


@dataclass
class Tally:
    """Rows a reader judged itself, outside the lab pipeline.

    ``accepted`` holds row numbers that became (part of) a dose, patient or context
    entry; ``rejected`` one problem per rejected row; ``duplicates`` rows that repeat
    another row of the same file.
    """

    accepted: set[int] = field(default_factory=set)
    rejected: list[Problem] = field(default_factory=list)
    duplicates: set[int] = field(default_factory=set)

    @classmethod
    def starting_with(cls, refused: list[Problem]) -> Tally:
        """A tally that starts with the rows the table reader already refused."""
        return cls(rejected=list(refused))

    def reject(self, row: int, column: str | None, message: str, value: str = "") -> None:
        self.rejected.append(Problem(row, column, message, value))

    def accept(self, row: int) -> None:
        self.accepted.add(row)


def medication_records(
    raw: RawTable,
    dates: IntervalDates,
    fields: dict[str, str],
    columns: dict[str, str],
    more: Callable[[int], dict[str, Any]],
) -> list[DoseRecord]:
    """One dose record per row of a medication table: the patient, drug text and drug
    code from the source columns ``fields`` names, the row's interval dates, and what
    ``more(i)`` reads for row ``i`` (dose, unit, frequency ...)."""
    pid, text, code = (texts(raw, fields[k]) for k in ("patient_id", "drug", "drug_code"))
    return [
        DoseRecord(
            row=row,
            patient_id=pid[i],
            drug_text=text[i],
            drug_code=code[i],
            **dates.row(i),
            columns=columns,
            **more(i),
        )
        for i, row in enumerate(raw.row_numbers.to_pylist())
    ]


def run_doses(rep: FileReport, records: list[DoseRecord], tally: Tally) -> pa.Table:
    """Judge dose records with the shared dose pipeline; verdicts go to ``tally``."""
    # loaded when dose records come (see ingest.pipeline's dose tables): start-up time
    from dashboard.ingest.doses import normalise_doses

    before = len(rep.problems)
    table, accepted = normalise_doses(DoseBatch(rep, records, change_log=False))
    tally.rejected.extend(rep.problems[before:])
    del rep.problems[before:]
    for i, _status in accepted:
        tally.accept(records[i].row)
    return table


def run_patients(rep: FileReport, records: list[PatientRecord], tally: Tally, today: dt.date | None = None) -> pa.Table:
    """Judge patient records with the shared patient pipeline; verdicts go to ``tally``
    (birth dates checked against ``today`` when given)."""
    before = len(rep.problems)
    table, accepted = normalise_patients(rep, records, today)
    tally.rejected.extend(rep.problems[before:])
    del rep.problems[before:]
    for i in accepted:
        tally.accept(records[i].row)
    return table


def finish(
    rep: FileReport,
    tally: Tally,
    labs: LabCandidates | None = None,
    doses: pa.Table | None = None,
    patients: pa.Table | None = None,
) -> Parsed:
    """Put a reader's own verdicts into the report (or hand them to the lab settling).

    When the file also has lab records, the lab pipeline settles the report after all
    files are combined; the rows judged here are handed to it (``extra_accepted`` /
    ``extra_rejected``).  Otherwise the counts are written now.
    """
    accepted = tally.accepted - {p.row for p in tally.rejected if p.row is not None}
    dups = tally.duplicates - accepted
    dose_n = doses.num_rows if doses is not None else 0
    patient_n = patients.num_rows if patients is not None else 0
    if labs is not None:
        if dups:  # the lab settling has no place for them; no reader needs it
            raise ValueError("duplicate non-lab rows in a file with lab records")
        labs.extra_accepted += len(accepted)
        labs.extra_rejected.extend(tally.rejected)
        return Parsed(rep, labs=labs, doses=doses, dose_accepted=dose_n, patients=patients, patient_accepted=patient_n)
    rep.settle_rows(accepted=len(accepted), rejected=len(tally.rejected), duplicates=len(dups))
    rep.problems.extend(tally.rejected)
    rep.problems.sort(key=lambda p: p.row or 0)
    return Parsed(rep, doses=doses, dose_accepted=dose_n, patients=patients, patient_accepted=patient_n)


# --------------------------------------------------------------------------- diagnoses

#: Why a condition row is not imported (one message, so the report groups them; the
#: condition itself is the problem's value).
CONDITION_NOT_USED = "condition not used (only immune-mediated, transplant and kidney diagnoses are kept)"

#: SNOMED CT codes of conditions kept as the patient's diagnosis (besides the words
#: below): rheumatoid arthritis, SLE, Crohn's disease, ulcerative colitis, psoriasis,
#: chronic kidney disease (any stage), gout (the reason for allopurinol).
DIAGNOSIS_SNOMED = frozenset(
    {
        "69896004",
        "55464009",
        "34000006",
        "64766004",
        "9014002",
        "709044004",
        "431855005",
        "431856006",
        "433144002",
        "431857002",
        "433146000",
        "90560007",
    }
)

#: Phrases (normalised) of conditions that explain or complicate immunosuppression.
DIAGNOSIS_PHRASES = (
    "rheumatoid arthritis",
    "psoriatic arthritis",
    "juvenile idiopathic arthritis",
    "lupus",
    "nephritis",
    "vasculitis",
    "polyangiitis",
    "arteritis",
    "polymyalgia rheumatica",
    "crohn",
    "ulcerative colitis",
    "inflammatory bowel disease",
    "psoriasis",
    "ankylosing spondylitis",
    "axial spondyloarthritis",
    "dermatomyositis",
    "polymyositis",
    "systemic sclerosis",
    "scleroderma",
    "sjogren",
    "sarcoidosis",
    "autoimmune hepatitis",
    "myasthenia gravis",
    "transplant",
    "chronic kidney disease",
    "gout",
    "hyperuricaemia",
    "hyperuricemia",
    "interstitial lung disease",
    "hepatitis b",
    "latent tuberculosis",
)


#: ICD-10 code prefixes of the same conditions (FHIR Condition resources coded in ICD-10).
DIAGNOSIS_ICD10 = (
    "M05",  # rheumatoid arthritis, seropositive
    "M06",  # other rheumatoid arthritis
    "M08",  # juvenile arthritis
    "M30",  # polyarteritis nodosa and related conditions
    "M31",  # other necrotising vasculopathies (GPA, giant cell arteritis ...)
    "M32",  # systemic lupus erythematosus
    "M33",  # dermatopolymyositis
    "M34",  # systemic sclerosis
    "M35.0",  # Sjogren syndrome
    "M45",  # ankylosing spondylitis
    "L40",  # psoriasis (and psoriatic arthritis)
    "L93",  # lupus erythematosus (cutaneous)
    "K50",  # Crohn disease
    "K51",  # ulcerative colitis
    "K75.4",  # autoimmune hepatitis
    "D86",  # sarcoidosis
    "G70.0",  # myasthenia gravis
    "N18",  # chronic kidney disease
    "Z94",  # transplanted organ status
)


def is_relevant_condition(code: str, description: str, system: str = "") -> bool:
    """True for a condition worth showing as the patient's diagnosis.

    By SNOMED CT code, ICD-10 code prefix (when the system says ICD-10) or by the
    words of the description.
    """
    c = code.strip()
    if c in DIAGNOSIS_SNOMED:
        return True
    icd10 = "icd-10" in system.lower() or "icd10" in system.lower()
    if icd10 and any(c.upper().startswith(p) for p in DIAGNOSIS_ICD10):
        return True
    text = " " + normalize(description) + " "
    return any(" " + p in text for p in DIAGNOSIS_PHRASES)
