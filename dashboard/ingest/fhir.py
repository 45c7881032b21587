"""FHIR JSON: a Bundle (collection, transaction, searchset, batch ...), an NDJSON bulk
export, a JSON array of resources, or a single resource.

FHIR R4 is the target; STU3, DSTU2 and DSTU1 shapes are tolerated where that is
harmless (a single ``interpretation`` object, ``MedicationOrder`` / ``dateWritten``,
DSTU1 ``MedicationPrescription`` with ``timingSchedule`` and Bundle ``entry.content``).

Accounting.  One *row* is one top-level resource: a Bundle entry, an NDJSON line or the
single resource of the file, numbered from 1 in file order (``source_row``); a resource
contained in another one belongs to its parent's row.  Every row ends up accepted or
rejected with a reason:

* Observation: each numeric value (``valueQuantity``, a numeric ``valueString``, each
  ``component``) is a lab record judged by the shared lab pipeline (analyte from the
  LOINC code or the name, UCUM unit, ``referenceRange``, ``interpretation`` as the
  flag).  A body weight (LOINC 29463-7, 3141-9) gives the patient's weight instead
  (the latest one; older ones are reported as not kept).  A panel (``hasMember``)
  is accepted when one of its members in the file is.
* DiagnosticReport: its contained Observations are read with the report's subject and
  time (``effective[x]``, else ``issued``) when they have none; a report whose
  ``result`` points to Observations elsewhere in the file is accepted when one of them
  is.
* MedicationRequest, MedicationStatement (and MedicationOrder, MedicationPrescription):
  a dose record judged by the shared dose pipeline.
* Patient: sex and birth date.  Condition: the patient's diagnosis when it explains
  immunosuppression (see ``interop.is_relevant_condition``), else not used.
* Medication: accepted when an order of the file refers to it.
* Any other resource type: rejected as "resource type X is not used".
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import math
import re
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from dashboard.identity import person_name
from dashboard.ingest import dates as dates_mod
from dashboard.ingest.amounts import text_problem
from dashboard.ingest.context import Context, Parsed
from dashboard.ingest.doses import DoseRecord
from dashboard.ingest.failures import log_failure, plain_reason
from dashboard.ingest.frequency import parse_frequency
from dashboard.ingest.interop import (
    CONDITION_NOT_USED,
    ISO_ORDER,
    Tally,
    amount_in_text,
    finish,
    frequency_in_text,
    is_relevant_condition,
    is_solid_form,
    product_strength,
    run_doses,
    run_patients,
)
from dashboard.ingest.jsonlimits import MAX_JSON_DEPTH, too_deep
from dashboard.ingest.labs import ACCEPTED, LabCandidates, LabInput, normalise_labs
from dashboard.ingest.mapping import recognise_drug, recognise_test
from dashboard.ingest.patients import PatientRecord
from dashboard.ingest.report import FileReport
from dashboard.ingest.routes import parse_route
from dashboard.ingest.tabular import UnreadableFile, decode
from dashboard.units import weight_factor

LOINC = "http://loinc.org"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
UCUM = "http://unitsofmeasure.org"

#: LOINC codes of a body weight.
BODY_WEIGHT = ("29463-7", "3141-9")

MEDICATION_ORDERS = ("MedicationRequest", "MedicationStatement", "MedicationOrder", "MedicationPrescription")

#: ctx.extra key: Medication resources seen by earlier FHIR files of the import.
MEDICATIONS = "fhir_medications"

#: SNOMED CT route codes.
_ROUTE_SNOMED = {"26643006": "oral", "34206005": "sc", "47625008": "iv", "78421000": "im"}

Resource = dict[str, Any]


# --------------------------------------------------------------------------- reading the file


@dataclass
class Entry:
    row: int
    resource: Resource | None
    full_url: str = ""
    problem: str = ""  # why the entry cannot be used at all


def read_fhir(name: str, data: bytes, rep: FileReport, ctx: Context) -> Parsed:
    """Read a FHIR JSON / NDJSON file into one Parsed with labs, doses and patients."""
    rep.format = "FHIR JSON"
    try:
        text, rep.encoding, _notes = decode(data)
    except UnreadableFile as exc:
        rep.error = str(exc)
        return Parsed(rep)
    text = text.lstrip("\ufeff")
    entries, error = _entries(text, rep)
    if error:
        rep.error = error
        rep.format = "JSON"
        return Parsed(rep)
    if "\\u0000" in text:  # NUL characters inside strings: reject the resources holding them
        for e in entries:
            if e.resource is not None and "\\u0000" in json.dumps(e.resource):
                e.resource, e.problem = None, "the resource contains a NUL character (binary data in a text field)"
    return _read_entries(name, entries, rep, ctx)


def resource_type(res: Any) -> str:
    """The ``resourceType`` of a resource when it is a name ("Observation"), else ""."""
    if not isinstance(res, dict):
        return ""
    rtype = res.get("resourceType")
    return rtype.strip() if isinstance(rtype, str) else ""


_NOT_A_NAME = "resourceType is not a name (a list, number or object)"
#: Why a document or line nested too deeply is refused (before parsing: no recursion).
TOO_DEEP = f"nested more than {MAX_JSON_DEPTH} levels deep (brackets within brackets)"


def _entries(text: str, rep: FileReport) -> tuple[list[Entry], str]:
    if too_deep(text):
        if _looks_like_ndjson(text):
            return _ndjson(text, rep), ""  # each line is judged (and a deep one refused) on its own
        return [], f"the JSON is {TOO_DEEP}: not a FHIR export"
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
        objects = sum(1 for ln in lines if ln.startswith("{") and ln.endswith("}"))
        if len(lines) > 1 and (exc.msg == "Extra data" or objects * 2 >= len(lines)):
            return _ndjson(text, rep), ""
        return [], (
            f"not valid JSON ({exc.msg}, line {exc.lineno} column {exc.colno}): "
            "the file may be cut off or damaged; export it again"
        )
    entries: list[Entry] = []
    if isinstance(doc, list):
        rep.format = "FHIR JSON (array of resources)"
        for item in doc:
            _flatten(item, "", entries)
    elif resource_type(doc):
        if resource_type(doc) == "Bundle":
            rep.format = f"FHIR Bundle ({str(doc.get('type', 'no type'))[:40]})"
        else:
            rep.format = f"FHIR {resource_type(doc)[:40]}"
        _flatten(doc, "", entries)
    elif isinstance(doc, dict) and doc.get("resourceType") is not None:
        return [], f"JSON whose {_NOT_A_NAME}: not a FHIR export"
    else:
        return [], "JSON without a FHIR resourceType: not a FHIR export"
    return entries, ""


def _looks_like_ndjson(text: str) -> bool:
    """Several lines, most of them one JSON object each (an NDJSON bulk export)."""
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    objects = sum(1 for ln in lines if ln.startswith("{") and ln.endswith("}"))
    return len(lines) > 1 and objects * 2 >= len(lines)


def _ndjson(text: str, rep: FileReport) -> list[Entry]:
    rep.format = "FHIR NDJSON (bulk export)"
    entries: list[Entry] = []
    for lineno, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        if too_deep(line):
            entries.append(Entry(lineno, None, problem=f"a JSON line {TOO_DEEP}: not a FHIR resource"))
            continue
        try:
            res = json.loads(line)
        except json.JSONDecodeError as exc:
            entries.append(Entry(lineno, None, problem=f"not valid JSON ({exc.msg})"))
            continue
        if isinstance(res, dict) and res.get("resourceType") is not None and not resource_type(res):
            entries.append(Entry(lineno, None, problem=f"a JSON line whose {_NOT_A_NAME}"))
            continue
        if not resource_type(res):
            entries.append(Entry(lineno, None, problem="a JSON line without a FHIR resourceType"))
            continue
        entries.append(Entry(lineno, res))
    return entries


def _flatten(res: Any, full_url: str, out: list[Entry]) -> None:
    """Top-level resources in file order; a Bundle stands for its entries.

    Nested Bundles are walked with a stack, not recursion, so no nesting can exhaust
    Python's stack (the file's depth is also limited before parsing).
    """
    # (resource, fullUrl, problem): a problem entry has no resource
    stack: list[tuple[Any, str, str]] = [(res, full_url, "")]
    while stack:
        res, full_url, problem = stack.pop()
        full_url = full_url if isinstance(full_url, str) else ""
        if problem:
            out.append(Entry(len(out) + 1, None, full_url, problem))
            continue
        rtype = resource_type(res)
        if not rtype:
            why = _NOT_A_NAME if isinstance(res, dict) and res.get("resourceType") is not None else "no resourceType"
            out.append(
                Entry(
                    len(out) + 1, None, full_url, f"not a FHIR resource ({'its ' if why == _NOT_A_NAME else ''}{why})"
                )
            )
            continue
        if rtype != "Bundle":
            out.append(Entry(len(out) + 1, res, full_url))
            continue
        inner: list[tuple[Any, str, str]] = []
        for e in res.get("entry") or []:
            if not isinstance(e, dict):
                inner.append((None, "", "bundle entry that is not an object"))
                continue
            resource = e.get("resource", e.get("content"))  # DSTU1 bundles use "content"
            if resource is None:
                inner.append((None, e.get("fullUrl", ""), "bundle entry without a resource"))
                continue
            inner.append((resource, e.get("fullUrl", ""), ""))
        stack.extend(reversed(inner))  # popped in file order


# --------------------------------------------------------------------------- references


class Index:
    """Resolve references between the resources of a file."""

    def __init__(self, entries: list[Entry], ctx: Context) -> None:
        self.by_ref: dict[str, tuple[int, Resource]] = {}
        self._contained_by_parent: dict[int, dict[str, Resource]] = {}
        self.medications: dict[str, Resource] = ctx.extra.setdefault(MEDICATIONS, {})
        for e in entries:
            if e.resource is None:
                continue
            res = e.resource
            rid = str(res.get("id", "")).strip()
            rtype = res["resourceType"]
            keys = []
            if rid:
                keys.append(f"{rtype}/{rid}")
            if e.full_url:
                keys.append(e.full_url)
                tail = re.search(r"([A-Za-z]+/[^/]+?)(?:/_history/.*)?$", e.full_url)
                if tail:
                    keys.append(tail.group(1))
            for k in keys:
                self.by_ref.setdefault(k, (e.row, res))
            if rtype == "Medication":
                for k in keys:
                    self.medications.setdefault(k, res)

    def _contained(self, parent: Resource) -> dict[str, Resource]:
        """The contained resources of ``parent`` by id (built once per parent: a report with
        40,000 contained results is resolved in linear time, not quadratic)."""
        key = id(parent)  # parents are the file's resources, alive while it is read
        found = self._contained_by_parent.get(key)
        if found is None:
            found = {}
            contained = parent.get("contained")
            for c in contained if isinstance(contained, list) else []:
                if isinstance(c, dict):
                    found.setdefault(str(c.get("id", "")), c)
            self._contained_by_parent[key] = found
        return found

    def resolve(self, reference: str, parent: Resource | None = None) -> tuple[int | None, Resource | None]:
        """(row, resource) of a reference: "#id" / "id" (contained), "Type/id", fullUrl."""
        ref = reference.strip()
        if not ref:
            return None, None
        if parent is not None:
            cid = ref[1:] if ref.startswith("#") else ref
            found = self._contained(parent).get(cid)
            if found is not None:
                return None, found
        hit = self.by_ref.get(ref)
        if hit is None:
            tail = re.search(r"([A-Za-z]+/[^/]+?)(?:/_history/.*)?$", ref)
            hit = self.by_ref.get(tail.group(1)) if tail else None
        if hit is None:
            med = self.medications.get(ref)
            return (None, med) if med is not None else (None, None)
        return hit

    def patient_id(self, ref: Any) -> str:
        """The patient id a subject/patient reference names."""
        if not isinstance(ref, dict):
            return ""
        reference = str(ref.get("reference", "")).strip()
        if reference:
            _row, target = self.resolve(reference)
            if target is not None and target.get("resourceType") == "Patient":
                return str(target.get("id") or "").strip() or url_id(reference)
            if target is not None:
                return ""  # a Group, Device, Location ...: not one patient
            if "?identifier=" in reference:
                return reference.rsplit("|", 1)[-1].rsplit("=", 1)[-1]
            if reference.startswith("urn:uuid:"):
                return reference[len("urn:uuid:") :]
            tail = re.search(r"([A-Za-z]+)/([^/]+?)(?:/_history/.*)?$", reference)
            if tail:
                return tail.group(2) if tail.group(1) == "Patient" else ""
            return reference
        ident = ref.get("identifier")
        if isinstance(ident, dict) and ident.get("value"):
            return str(ident["value"])
        return ""


def url_id(url: str) -> str:
    """The id part of a reference or fullUrl: urn:uuid:X -> X, .../Patient/7 -> 7."""
    if url.startswith(("urn:uuid:", "urn:oid:")):
        return url.split(":", 2)[-1]
    tail = re.search(r"/([^/]+?)(?:/_history/.*)?$", url)
    return tail.group(1) if tail else url


def _subject(res: Resource) -> Any:
    return res.get("subject") or res.get("patient")


# --------------------------------------------------------------------------- small readers


def _codings(cc: Any) -> list[dict]:
    if not isinstance(cc, dict):
        return []
    return [c for c in cc.get("coding") or [] if isinstance(c, dict)]


def _cc_text(cc: Any) -> str:
    if not isinstance(cc, dict):
        return ""
    if cc.get("text"):
        return str(cc["text"])
    for c in _codings(cc):
        if c.get("display"):
            return str(c["display"])
    return ""


def _code(cc: Any, system: str) -> str:
    for c in _codings(cc):
        if str(c.get("system", "")).rstrip("/") == system and c.get("code"):
            return str(c["code"])
    return ""


def _codes(cc: Any) -> list[tuple[str, str]]:
    return [(str(c.get("system", "")), str(c.get("code", ""))) for c in _codings(cc) if c.get("code")]


def _num(v: Any) -> str:
    if isinstance(v, bool) or v is None:
        return ""
    if isinstance(v, int | float):
        if isinstance(v, float) and not math.isfinite(v):
            return ""
        return repr(v) if isinstance(v, float) else str(v)
    return str(v).strip()


def _quantity_unit(q: dict) -> tuple[str, str]:
    """(human unit, cleaned UCUM code) of a Quantity."""
    unit = str(q.get("unit", q.get("units", ""))).strip()  # DSTU1 writes "units"
    code = str(q.get("code", "")).strip() if str(q.get("system", UCUM)).rstrip("/") == UCUM else ""
    code = code.replace("[", "").replace("]", "")
    return unit, code


def _pick_unit(unit: str, code: str, name: str, loinc: str) -> str:
    """The unit text to judge: the human unit unless only the UCUM code is understood."""
    if not unit:
        return code
    if not code or code == unit:
        return unit
    from dashboard.units import resolve_unit

    m = recognise_test(name, loinc)
    if m is not None and resolve_unit(m.analyte, unit).factor is None and resolve_unit(m.analyte, code).factor:
        return code
    return unit


def _when(res: Resource) -> str:
    for key in ("effectiveDateTime", "effectiveInstant", "appliesDateTime", "effectiveDate"):
        if res.get(key):
            return str(res[key])
    for key in ("effectivePeriod", "appliesPeriod"):
        p = res.get(key)
        if isinstance(p, dict) and p.get("start"):
            return str(p["start"])
    return ""


def _interpretation(res: Resource) -> str:
    interp = res.get("interpretation")
    items = interp if isinstance(interp, list) else [interp] if isinstance(interp, dict) else []
    for cc in items:
        for c in _codings(cc):
            if c.get("code"):
                return str(c["code"])
        if isinstance(cc, dict) and cc.get("text"):
            return str(cc["text"])
    return ""


def _reference_range(res: Resource) -> tuple[str, str, str, str]:
    """(low, high, text, unit) of the first reference range."""
    for rr in res.get("referenceRange") or []:
        if not isinstance(rr, dict):
            continue
        low = rr.get("low") if isinstance(rr.get("low"), dict) else {}
        high = rr.get("high") if isinstance(rr.get("high"), dict) else {}
        unit = _quantity_unit(low)[0] or _quantity_unit(high)[0] or _quantity_unit(low)[1] or _quantity_unit(high)[1]
        return _num(low.get("value")), _num(high.get("value")), str(rr.get("text", "")), unit
    return "", "", "", ""


# --------------------------------------------------------------------------- the file


@dataclass
class LabRows:
    """Lab records of the file, as text columns."""

    rows: list[int] = field(default_factory=list)
    patient: list[str] = field(default_factory=list)
    when: list[str] = field(default_factory=list)
    name: list[str] = field(default_factory=list)
    code: list[str] = field(default_factory=list)
    value: list[str] = field(default_factory=list)
    unit: list[str] = field(default_factory=list)
    ref_low: list[str] = field(default_factory=list)
    ref_high: list[str] = field(default_factory=list)
    ref_text: list[str] = field(default_factory=list)
    flag: list[str] = field(default_factory=list)

    def add(self, **kw: Any) -> None:
        for k, v in kw.items():
            getattr(self, k).append(v)


@dataclass
class Reading:
    """Everything one file's resources turned into, before judging."""

    labs: LabRows = field(default_factory=LabRows)
    doses: list[DoseRecord] = field(default_factory=list)
    patients: list[PatientRecord] = field(default_factory=list)
    weights: list[tuple[int, str, str, str, str]] = field(default_factory=list)  # row, pid, when, value, unit
    phenotypes: list[tuple[int, str, str, str]] = field(default_factory=list)  # row, pid, gene, value text
    groups: list[tuple[int, str, list[int]]] = field(default_factory=list)  # row, kind, member rows
    medication_rows: dict[int, Resource] = field(default_factory=dict)
    used_medications: set[int] = field(default_factory=set)
    fallback_time: int = 0
    issued_time: int = 0


def _read_entries(name: str, entries: list[Entry], rep: FileReport, ctx: Context) -> Parsed:
    rep.kind = "labs"
    rep.date_order = "ISO"
    rep.date_order_reason = "FHIR dates are ISO 8601"
    index = Index(entries, ctx)
    tally = Tally()
    reading = Reading()
    parents = _report_parents(entries, index)
    skipped: dict[str, int] = {}
    for e in entries:
        if e.resource is None:
            tally.reject(e.row, None, e.problem or "no resource")
            continue
        res = e.resource
        rtype = res["resourceType"]
        mark = _Checkpoint(reading, tally, rep)
        try:
            if rtype == "Observation":
                _observation(e.row, res, index, parents.get(e.row), reading, tally)
            elif rtype == "DiagnosticReport":
                _diagnostic_report(e.row, res, index, reading, tally)
            elif rtype in MEDICATION_ORDERS:
                _medication_order(e.row, res, index, reading, tally, rep)
            elif rtype == "Patient":
                _patient(e.row, res, e.full_url, reading, rep)
            elif rtype == "Condition":
                _condition(e.row, res, index, ctx, tally)
            elif rtype == "Medication":
                reading.medication_rows[e.row] = res
            else:
                skipped[rtype] = skipped.get(rtype, 0) + 1
                tally.reject(e.row, "resourceType", f"resource type {rtype[:60]} is not used", rtype[:60])
        except Exception as exc:  # one odd resource is that row's rejection, never the file's
            mark.rollback()
            log_failure(exc, f"a FHIR {rtype[:40]}")
            tally.reject(e.row, None, f"this {rtype[:40]} could not be read: {_resource_reason(exc)}")
    if skipped:
        kinds = ", ".join(f"{k} ({v})" for k, v in sorted(skipped.items(), key=lambda kv: -kv[1]))
        rep.warn(f"resource types not used by the dashboard were counted and skipped: {kinds}")
    if reading.fallback_time:
        rep.warn(
            f"{reading.fallback_time} result(s) have no time of their own; the time of their DiagnosticReport "
            "or panel (effective, else issued) is used"
        )
    if reading.issued_time:
        rep.warn(
            f"{reading.issued_time} result(s) have no effective time; their issued (reported) time is used, "
            "which may be later than the sample"
        )

    cands = _judge_labs(name, reading.labs, rep, ctx) if reading.labs.rows else None
    accepted_lab_rows = _accepted_rows(cands)
    for row, kind, members in reading.groups:
        if any(m in accepted_lab_rows for m in members):
            tally.accept(row)
        elif not members:
            tally.reject(row, kind, f"{_GROUP_NAME[kind]} whose results are not in this file")
        else:
            tally.reject(row, kind, f"{_GROUP_NAME[kind]} none of whose results was imported")
    patients = _judge_patients(rep, reading, ctx, tally)
    doses = run_doses(rep, reading.doses, tally) if reading.doses else None
    for row in reading.medication_rows:
        if row in reading.used_medications:
            tally.accept(row)
        else:
            tally.reject(row, "resourceType", "Medication not referred to by any order in this file")
    if cands is None:
        rep.kind = "doses" if reading.doses else "patients" if patients is not None or tally.accepted else ""
    return finish(rep, tally, labs=cands, doses=doses, patients=patients)


def _resource_reason(exc: BaseException) -> str:
    reason = plain_reason(exc)
    return "a part of it is of an unexpected kind" if reason.startswith("the file could not be read") else reason


class _Checkpoint:
    """What one resource added to a file's reading, so that a failure can take it back."""

    def __init__(self, reading: Reading, tally: Tally, rep: FileReport) -> None:
        self.reading, self.tally, self.rep = reading, tally, rep
        self.lab_rows = len(reading.labs.rows)
        self.sizes = {k: len(getattr(reading, k)) for k in ("doses", "patients", "weights", "phenotypes", "groups")}
        self.medications = set(reading.medication_rows)
        self.used = set(reading.used_medications)
        self.accepted = set(tally.accepted)
        self.rejected = len(tally.rejected)
        self.duplicates = set(tally.duplicates)
        self.warnings = len(rep.warnings)
        self.counters = (reading.fallback_time, reading.issued_time)

    def rollback(self) -> None:
        labs = self.reading.labs
        for name in labs.__dataclass_fields__:
            del getattr(labs, name)[self.lab_rows :]
        for k, n in self.sizes.items():
            del getattr(self.reading, k)[n:]
        for row in set(self.reading.medication_rows) - self.medications:
            del self.reading.medication_rows[row]
        self.reading.used_medications.intersection_update(self.used)
        self.tally.accepted.intersection_update(self.accepted)
        del self.tally.rejected[self.rejected :]
        self.tally.duplicates.intersection_update(self.duplicates)
        del self.rep.warnings[self.warnings :]
        self.reading.fallback_time, self.reading.issued_time = self.counters


_GROUP_NAME = {"hasMember": "a panel", "result": "a report"}


def _accepted_rows(cands: LabCandidates | None) -> set[int]:
    if cands is None:
        return set()
    return {int(r) for r in cands.rows[cands.status == ACCEPTED]}


def _report_parents(entries: list[Entry], index: Index) -> dict[int, Resource]:
    """Observation row -> the DiagnosticReport (``result``) or panel (``hasMember``) listing it.

    A result without its own subject or time takes its parent's.
    """
    out: dict[int, Resource] = {}
    for e in entries:
        if e.resource is None or e.resource["resourceType"] not in ("DiagnosticReport", "Observation"):
            continue
        refs = e.resource.get("result") or e.resource.get("hasMember") or []
        for ref in refs if isinstance(refs, list) else []:
            if isinstance(ref, dict):
                row, target = index.resolve(str(ref.get("reference", "")))
                if row is not None and target is not None:
                    out.setdefault(row, e.resource)
    return out


# --------------------------------------------------------------------------- observations

_OBS_REJECT = {
    "entered-in-error": "entered in error",
    "cancelled": "cancelled (no result)",
    "registered": "registered, no result yet",
}


def _observation(
    row: int, res: Resource, index: Index, parent: Resource | None, reading: Reading, tally: Tally
) -> None:
    status = str(res.get("status", "")).lower()
    if status in _OBS_REJECT:
        tally.reject(row, "status", f"Observation {_OBS_REJECT[status]}", status)
        return
    code_cc = res.get("code") or res.get("name")  # DSTU1 writes "name"
    loinc = _code(code_cc, LOINC)
    name = _cc_text(code_cc)
    if loinc in BODY_WEIGHT:
        _weight(row, res, index, parent, reading, tally, name)
        return
    gene = _pharmacogene(res, name)
    if gene:
        pid = index.patient_id(_subject(res)) or (index.patient_id(_subject(parent)) if parent else "")
        value = _cc_text(res.get("valueCodeableConcept")) or str(res.get("valueString", "") or "")
        if not pid:
            tally.reject(row, "subject", "no patient id", f"{gene} phenotype")
        elif not value:
            tally.reject(row, "value[x]", f"{gene} phenotype without a value", name)
        else:
            reading.phenotypes.append((row, pid, gene, value))
        return
    has_value = any(k.startswith("value") for k in res)
    members = res.get("hasMember") or res.get("related") or []
    if members and not has_value and not res.get("component"):
        rows = []
        for m in members:
            target = m.get("target", m) if isinstance(m, dict) else {}  # DSTU2 "related.target"
            r, _t = index.resolve(str(target.get("reference", "")) if isinstance(target, dict) else "")
            if r is not None:
                rows.append(r)
        reading.groups.append((row, "hasMember", rows))
        return
    n = _lab_records(row, res, index, parent, reading, name, loinc)
    if n == 0:
        tally.reject(row, "value", _no_value_reason(res, name, loinc), _describe(name, loinc))


#: HGNC ids of the thiopurine pharmacogenes.
_GENE_IDS = {"HGNC:12014": "TPMT", "HGNC:23063": "NUDT15"}


def _pharmacogene(res: Resource, name: str) -> str:
    """ "TPMT" or "NUDT15" when the Observation reports that gene's phenotype or genotype."""
    texts = [name]
    for comp in res.get("component") or []:
        cc = comp.get("valueCodeableConcept") if isinstance(comp, dict) else None
        if cc:
            texts.append(_cc_text(cc))
            texts.extend(_GENE_IDS.get(c, c) for _s, c in _codes(cc))
    joined = " ".join(texts).upper()
    for gene in ("NUDT15", "TPMT"):
        if gene in joined.replace("-", ""):
            return gene
    return ""


def _describe(name: str, code: str) -> str:
    return f"{name} ({code})" if name and code else name or code


def _no_value_reason(res: Resource, name: str, loinc: str) -> str:
    if recognise_test(name, loinc) is None:
        return f"not a monitored analyte: {_describe(name, loinc) or 'no code'}"
    absent = res.get("dataAbsentReason")
    if absent:
        return f"no result ({_cc_text(absent) or _code(absent, '') or 'data absent'})"
    for key, value in res.items():
        if key.startswith("value"):
            shown = _cc_text(value) if isinstance(value, dict) else str(value)
            return f"result is not a number ({key}: {shown[:40]})"
    return "no result value"


def _lab_records(
    row: int,
    res: Resource,
    index: Index,
    parent: Resource | None,
    reading: Reading,
    name: str,
    loinc: str,
) -> int:
    """Add the numeric values of an Observation (and its components); return how many."""
    pid = index.patient_id(_subject(res)) or (index.patient_id(_subject(parent)) if parent else "")
    when = _when(res)
    if not when and parent is not None:
        when = _when(parent)
        if not when and parent.get("issued"):
            when = str(parent["issued"])
        if when:
            reading.fallback_time += 1
    if not when and res.get("issued"):
        when = str(res["issued"])
        reading.issued_time += 1
    flag = _interpretation(res)
    low, high, rtext, runit = _reference_range(res)
    n = 0
    parts = [(res, name, loinc)]
    for comp in res.get("component") or []:
        if isinstance(comp, dict):
            parts.append((comp, _cc_text(comp.get("code")), _code(comp.get("code"), LOINC)))
    for part, pname, ploinc in parts:
        value, unit = _value(part, pname, ploinc)
        if value is None:
            continue
        if part is not res:
            flag_p = _interpretation(part)
            low_p, high_p, rtext_p, runit_p = _reference_range(part)
        else:
            flag_p, low_p, high_p, rtext_p, runit_p = flag, low, high, rtext, runit
        if runit_p and unit and _unit_key(runit_p) != _unit_key(unit):
            low_p = high_p = rtext_p = ""  # a range in another unit than the result is not used
        reading.labs.add(
            rows=row,
            patient=pid,
            when=when,
            name=pname,
            code=ploinc,
            value=value,
            unit=unit,
            ref_low=low_p,
            ref_high=high_p,
            ref_text=rtext_p,
            flag=flag_p,
        )
        n += 1
    return n


def _unit_key(u: str) -> str:
    from dashboard.units import normalize_unit

    return normalize_unit(u.replace("[", "").replace("]", ""))


def _value(part: Resource, name: str, loinc: str) -> tuple[str | None, str]:
    q = part.get("valueQuantity")
    if isinstance(q, dict) and q.get("value") is not None:
        unit, code = _quantity_unit(q)
        comparator = str(q.get("comparator", "")).strip()
        return comparator + _num(q.get("value")), _pick_unit(unit, code, name, loinc)
    for key in ("valueInteger", "valueDecimal"):
        if part.get(key) is not None:
            return _num(part[key]), ""
    s = part.get("valueString")
    if isinstance(s, str) and s.strip():
        return s.strip(), ""
    return None, ""


def _weight(
    row: int, res: Resource, index: Index, parent: Resource | None, reading: Reading, tally: Tally, name: str
) -> None:
    pid = index.patient_id(_subject(res)) or (index.patient_id(_subject(parent)) if parent else "")
    q = res.get("valueQuantity") if isinstance(res.get("valueQuantity"), dict) else {}
    value = _num(q.get("value"))
    unit, code = _quantity_unit(q)
    if not value:
        tally.reject(row, "value", "body weight without a value", name)
        return
    reading.weights.append((row, pid, _when(res) or str(res.get("issued", "")), value, unit or code))


# --------------------------------------------------------------------------- reports


def _diagnostic_report(row: int, res: Resource, index: Index, reading: Reading, tally: Tally) -> None:
    status = str(res.get("status", "")).lower()
    if status in ("entered-in-error", "cancelled"):
        tally.reject(row, "status", f"DiagnosticReport {status}", status)
        return
    n_records = 0
    contained_obs = 0
    members: list[int] = []
    for ref in res.get("result") or []:
        if not isinstance(ref, dict):
            continue
        r, _target = index.resolve(str(ref.get("reference", "")), parent=res)
        if r is not None:
            members.append(r)
    for c in res.get("contained") or []:
        if isinstance(c, dict) and c.get("resourceType") == "Observation":
            contained_obs += 1
            if str(c.get("status", "")).lower() in _OBS_REJECT:
                continue
            cc = c.get("code") or c.get("name")
            n_records += _lab_records(row, c, index, res, reading, _cc_text(cc), _code(cc, LOINC))
    if n_records:
        return  # the row is settled by its lab records
    if contained_obs:
        tally.reject(row, "contained", "a report none of whose contained results has a numeric value")
        return
    reading.groups.append((row, "result", members))


# --------------------------------------------------------------------------- medications

_ORDER_REJECT = {
    "entered-in-error": "entered in error",
    "cancelled": "cancelled before any dose was given",
    "draft": "a draft, never issued",
    "not-taken": "recorded as not taken",
    "nullified": "entered in error",
}


def _medication_order(row: int, res: Resource, index: Index, reading: Reading, tally: Tally, rep: FileReport) -> None:
    rtype = res["resourceType"]
    status = str(res.get("status", "")).lower()
    if status in _ORDER_REJECT:
        tally.reject(row, "status", f"{rtype} {_ORDER_REJECT[status]}", status)
        return
    if str(res.get("intent", "")).lower() == "proposal":
        tally.reject(row, "intent", f"{rtype} is a proposal, not an order", "proposal")
        return
    if str(res.get("taken", "")).lower() == "n":  # STU3 MedicationStatement
        tally.reject(row, "taken", f"{rtype} recorded as not taken", "n")
        return
    if res.get("doNotPerform") is True:
        tally.reject(row, "doNotPerform", f"{rtype} says NOT to give the drug", "doNotPerform")
        return
    text, code = _medication(res, index, reading)
    if not text and not code:
        tally.reject(row, "medication", f"{rtype} names no medication (or refers to one not in this file)")
        return
    dosages = res.get("dosageInstruction") or res.get("dosage") or []
    if isinstance(dosages, dict):
        dosages = [dosages]
    dosage = dosages[0] if dosages and isinstance(dosages[0], dict) else {}
    if len(dosages) > 1:
        rep.warn(f"{len(dosages)} dosage instructions: only the first is read", row, "dosageInstruction")
    dose, unit, note, problem = _dose(dosage, text)
    if "without a unit" in note:
        rep.warn(note, row, "doseQuantity")
    strength_only = False
    if unit == "tablet":
        strength = product_strength(text)
        if strength is not None:
            with contextlib.suppress(ValueError):
                dose, unit = f"{float(dose) * strength[0]:g}", strength[1]
    elif not dose and not problem:
        strength = product_strength(text)
        if strength is not None:
            dose, unit, strength_only = f"{strength[0]:g}", strength[1], True
    freq = _frequency(dosage)
    if freq and parse_frequency(freq) is None:
        rep.warn(
            f"timing '{freq}' is none of the frequencies the dashboard knows (daily, BID, TID, QID, weekly, "
            "every N days or weeks, monthly): left unknown",
            row,
            "dosageInstruction.timing",
        )
        freq = ""
    route = _route(dosage)
    start, end = _period(res, dosage)
    if status in ("stopped", "completed") and not end and recognise_drug(text, code):
        rep.warn(
            f"status is '{status}' but no end date is given: the dose is shown as ongoing from its start; "
            "set the end date if it is known",
            row,
            "status",
        )
    start_v, start_err = _date(start)
    end_v, end_err = _date(end) if end else (None, "")
    reading.doses.append(
        DoseRecord(
            row=row,
            patient_id=index.patient_id(_subject(res)),
            drug_text=text,  # the medication only: a drug named in a dosage text must not count
            drug_code=code,
            start=start_v,
            end=end_v,
            start_error=start_err if start else "no start date (authoredOn / effective period)",
            end_error=end_err,
            dose=dose,
            dose_unit=unit,
            frequency=freq,
            route=route,
            strength_only=strength_only,
            dose_problem=problem,
            columns={
                "patient_id": "subject",
                "drug": "medication",
                "start": "start",
                "end": "end",
                "dose": "dosageInstruction",
                "dose_unit": "dosageInstruction",
                "frequency": "dosageInstruction.timing",
                "route": "dosageInstruction.route",
            },
        )
    )


def _medication(res: Resource, index: Index, reading: Reading) -> tuple[str, str]:
    """(name, RxNorm code) of the drug of an order."""
    cc = res.get("medicationCodeableConcept")
    ref = res.get("medicationReference")
    med = res.get("medication")
    if isinstance(med, dict):
        if "concept" in med or isinstance(med.get("reference"), dict):  # R5 CodeableReference
            cc = cc or med.get("concept")
            ref = ref or med.get("reference")
        elif "reference" in med or "display" in med:  # DSTU1/DSTU2 Reference
            ref = ref or med
        else:
            cc = cc or med
    target = None
    display = ""
    if isinstance(ref, dict):
        display = str(ref.get("display", ""))
        r, target = index.resolve(str(ref.get("reference", "")), parent=res)
        if r is not None:
            reading.used_medications.add(r)
    if target is not None:
        cc = cc or target.get("code")
        name = _cc_text(target.get("code")) or str(target.get("name", ""))
    else:
        name = ""
    name = _cc_text(cc) or name or display
    codes = [c for s, c in _codes(cc) if s.rstrip("/") == RXNORM]
    code = next((c for c in codes if recognise_drug("", c)), codes[0] if codes else "")
    return name, code


def _dose(dosage: Resource, product: str) -> tuple[str, str, str, str]:
    """(dose, unit, note, problem) from a Dosage: doseQuantity, doseRange, or text.

    A dose is a number the source states once: a doseRange whose low and high differ
    ("50-150 mg") or dosage text naming a range is a problem (the row is rejected with
    it), never its upper or lower value.
    """
    dr = dosage.get("doseAndRate")
    sources = [d for d in dr if isinstance(d, dict)] if isinstance(dr, list) else []
    sources.append(dosage)  # STU3/DSTU2 put dose[x] on the Dosage itself
    for s in sources:
        q = s.get("doseQuantity")
        if isinstance(q, dict) and q.get("value") is not None:
            return (*_amount(q, product), "")
        rng = s.get("doseRange")
        if isinstance(rng, dict):
            high = rng.get("high") if isinstance(rng.get("high"), dict) else None
            low = rng.get("low") if isinstance(rng.get("low"), dict) else None
            lo, hi = _num((low or {}).get("value")), _num((high or {}).get("value"))
            if lo and hi and lo == hi:
                return (*_amount(low or {}, product), "")
            if lo or hi:
                unit = _quantity_unit(high or low or {})[0]
                shown = f"{lo or '?'}-{hi or '?'} {unit}".strip()
                return "", "", "", f"a range of doses ('{shown}', FHIR doseRange): enter the one dose given"
    text = str(dosage.get("text", "")).strip()
    if text:
        problem = text_problem(text)
        if problem:
            return "", "", "", problem
        found = amount_in_text(text)
        if found:
            return found[0], found[1], f"dosage text: {text}", ""
    return "", "", "", ""


def _amount(q: dict, product: str) -> tuple[str, str, str]:
    unit, code = _quantity_unit(q)
    unit = unit or code
    value = _num(q.get("value"))
    if not unit:
        if is_solid_form(product) and product_strength(product):
            return value, "tablet", "dose given as a number of tablets"
        return "", "", f"dose {value} without a unit: not used"
    return value, unit, ""


_TIMING_CODES = {
    "QD": "daily",
    "QOD": "every 2 days",
    "BID": "BID",
    "TID": "TID",
    "QID": "QID",
    "AM": "daily",
    "PM": "daily",
    "QAM": "daily",
    "QPM": "daily",
    "Q4H": "",
    "Q6H": "QID",
    "Q8H": "TID",
    "Q12H": "BID",
    "Q24H": "daily",
    "WK": "weekly",
    "QW": "weekly",
    "MO": "monthly",
}


def _frequency(dosage: Resource) -> str:
    """A frequency text the dose pipeline reads, or "" when the dosage has none."""
    if dosage.get("asNeededBoolean") is True or dosage.get("asNeeded") is True:
        return "as needed"
    timing = dosage.get("timing") if isinstance(dosage.get("timing"), dict) else {}
    repeat = timing.get("repeat") if isinstance(timing.get("repeat"), dict) else {}
    freq = _repeat_frequency(repeat)
    if freq is not None:
        return freq
    code = timing.get("code")
    if isinstance(code, dict):
        for c in _codings(code):
            hit = _TIMING_CODES.get(str(c.get("code", "")).upper())
            if hit:
                return hit
        if code.get("text"):
            return frequency_in_text(str(code["text"]))
    schedule = dosage.get("timingSchedule") if isinstance(dosage.get("timingSchedule"), dict) else {}
    freq = _repeat_frequency(schedule.get("repeat") if isinstance(schedule.get("repeat"), dict) else {})
    if freq is not None:
        return freq
    text = str(dosage.get("text", ""))
    return frequency_in_text(text) if text else ""


_PERIOD_DAYS = {"h": 1 / 24, "d": 1.0, "wk": 7.0, "mo": 30.4375, "a": 365.25}


def _repeat_frequency(repeat: Resource) -> str | None:
    """timing.repeat {frequency, period, periodUnit} as a frequency text; None if absent."""
    if not repeat or (repeat.get("period") is None and repeat.get("duration") is None):
        return None
    try:
        count = float(repeat.get("frequency", 1) or 1)
        period = float(repeat.get("period", repeat.get("duration", 1)) or 1)
    except (TypeError, ValueError):
        return None
    unit = str(repeat.get("periodUnit", repeat.get("periodUnits", repeat.get("units", "")))).lower()
    if unit not in _PERIOD_DAYS or period <= 0:
        return f"{count:g} per {period:g} {unit}"
    days = period * _PERIOD_DAYS[unit]
    per_day = count / days
    for k, name in ((1, "daily"), (2, "BID"), (3, "TID"), (4, "QID")):
        if abs(per_day - k) < 1e-9:
            return name
    if count == 1 and unit == "d" and period == int(period):
        return f"every {int(period)} days"
    if count == 1 and unit == "wk" and period == int(period):
        return "weekly" if period == 1 else f"every {int(period)} weeks"
    if count == 1 and unit == "mo" and period == 1:
        return "monthly"
    return f"{count:g} per {period:g} {unit}"


def _route(dosage: Resource) -> str:
    route = dosage.get("route")
    if not isinstance(route, dict):
        return ""
    for s, c in _codes(route):
        if "snomed" in s and c in _ROUTE_SNOMED:
            return _ROUTE_SNOMED[c]
    text = _cc_text(route)
    if text:
        first = text.split()[0] if text.split() else ""
        return parse_route(text) or parse_route(first) or text
    return ""


def _period(res: Resource, dosage: Resource) -> tuple[str, str]:
    """(start, end) date texts of an order or statement."""
    start = end = ""
    timing = dosage.get("timing") if isinstance(dosage.get("timing"), dict) else {}
    repeat = timing.get("repeat") if isinstance(timing.get("repeat"), dict) else {}
    bounds = repeat.get("boundsPeriod") if isinstance(repeat.get("boundsPeriod"), dict) else {}
    start, end = str(bounds.get("start", "")), str(bounds.get("end", ""))
    schedule = dosage.get("timingSchedule") if isinstance(dosage.get("timingSchedule"), dict) else {}
    events = schedule.get("event") if isinstance(schedule.get("event"), list) else []
    if events and isinstance(events[0], dict):  # DSTU1
        start = start or str(events[0].get("start", ""))
        end = end or str(events[0].get("end", ""))
    for key in ("effectivePeriod", "whenGiven"):
        p = res.get(key)
        if isinstance(p, dict):
            start = start or str(p.get("start", ""))
            end = end or str(p.get("end", ""))
    start = start or str(res.get("effectiveDateTime", "") or "")
    start = start or str(res.get("authoredOn", "") or res.get("dateWritten", "") or "")
    start = start or str(res.get("dateAsserted", "") or "")
    end = end or str(res.get("dateEnded", "") or res.get("statusChanged", "") or "")
    if start and not end and isinstance(repeat.get("boundsDuration"), dict):
        end = _plus_duration(start, repeat["boundsDuration"])
    return start, end


def _plus_duration(start: str, duration: dict) -> str:
    value, s_err = _date(start)
    try:
        amount = float(duration.get("value"))
    except (TypeError, ValueError):
        return ""
    unit = str(duration.get("code", duration.get("unit", ""))).lower()
    days = {"d": 1, "day": 1, "days": 1, "wk": 7, "week": 7, "weeks": 7, "h": 1 / 24}.get(unit)
    if value is None or s_err or days is None:
        return ""
    return (value + dt.timedelta(days=amount * days)).strftime("%Y-%m-%dT%H:%M:%S")


def _date(text: str) -> tuple[dt.datetime | None, str]:
    if not text:
        return None, "no date"
    parsed = dates_mod.parse_dates(pa.array([text.strip()], pa.string()), "ISO")
    value = parsed.values.to_pylist()[0]
    reason = parsed.reason.to_pylist()[0]
    if value is None and re.fullmatch(r"\d{4}(-\d{2})?", text.strip()):
        reason = f"date '{text.strip()}' gives only the year or month"
    return (value.replace(tzinfo=None) if value is not None else None), reason


# --------------------------------------------------------------------------- patients, conditions


def _patient(row: int, res: Resource, full_url: str, reading: Reading, rep: FileReport) -> None:
    pid = str(res.get("id", "")).strip() or (url_id(full_url) if full_url else "")
    gender = res.get("gender", "")
    if isinstance(gender, dict):  # DSTU1: a CodeableConcept
        codes = [c for _s, c in _codes(gender)]
        gender = codes[0] if codes else _cc_text(gender)
    birth, err = ("", "")
    birth_v = None
    if res.get("birthDate"):
        birth = str(res["birthDate"])
        birth_v, err = _date(birth)
        if birth_v is None and re.fullmatch(r"\d{4}(-\d{2})?", birth.strip()):
            rep.warn(f"patient {pid}: birth date '{birth}' gives only the year or month; not stored", row, "birthDate")
            err = ""
    reading.patients.append(
        PatientRecord(
            row=row,
            patient_id=pid,
            sex=str(gender),
            name=_human_name(res.get("name")),
            birth_date=birth_v,
            birth_error=err if birth and birth_v is None else "",
            columns={"patient_id": "id", "sex": "gender", "birth_date": "birthDate", "name": "name"},
        )
    )


def _human_name(names: object) -> str:
    """The patient's name from FHIR ``Patient.name``: the official (else usual, else
    first) HumanName in force, as "FAMILY, Given" from its parts, else its text."""
    if isinstance(names, dict):
        names = [names]
    if not isinstance(names, list):
        return ""
    names = [n for n in names if isinstance(n, dict) and not (n.get("period") or {}).get("end")] or [
        n for n in names if isinstance(n, dict)
    ]
    if not names:
        return ""
    rank = {"official": 0, "usual": 1}
    best = min(names, key=lambda n: rank.get(str(n.get("use", "")), 2))
    family = best.get("family", "")
    if isinstance(family, list):  # DSTU2: family is a list
        family = " ".join(str(f) for f in family)
    given = best.get("given") or []
    given = " ".join(str(g) for g in given) if isinstance(given, list) else str(given)
    return person_name(str(best.get("text", "")), str(family or ""), given)


def _condition(row: int, res: Resource, index: Index, ctx: Context, tally: Tally) -> None:
    pid = index.patient_id(_subject(res))
    cc = res.get("code")
    text = _cc_text(cc)
    codes = _codes(cc)
    verification = _first_code(res.get("verificationStatus")) or str(res.get("verificationStatus", ""))
    if verification in ("refuted", "entered-in-error"):
        tally.reject(row, "verificationStatus", f"condition {verification}: {text}", text)
        return
    if not pid:
        tally.reject(row, "subject", "no patient id", text)
        return
    if not any(is_relevant_condition(c, text, s) for s, c in codes) and not is_relevant_condition("", text):
        tally.reject(row, "code", CONDITION_NOT_USED, _describe(text, codes[0][1] if codes else ""))
        return
    label = text or (codes[0][1] if codes else "")
    ended = str(res.get("abatementDateTime", "") or "")
    if ended:
        label += f" (ended {ended[:10]})"
    known = ctx.diagnoses.setdefault(pid, [])
    if label not in known:
        known.append(label)
    tally.accept(row)


def _first_code(cc: Any) -> str:
    codes = _codes(cc)
    return codes[0][1] if codes else ""


# --------------------------------------------------------------------------- judging


def _judge_labs(name: str, labs: LabRows, rep: FileReport, ctx: Context) -> LabCandidates:
    def arr(values: list[str]) -> pa.Array:
        return pa.array(values, pa.string())

    inp = LabInput(
        file=name,
        rows=pa.array(labs.rows, pa.int64()),
        patient_id=arr(labs.patient),
        when=arr(labs.when),
        test_name=arr(labs.name),
        test_code=arr(labs.code),
        value=arr(labs.value),
        unit=arr(labs.unit),
        ref_range=arr(labs.ref_text),
        ref_low=arr(labs.ref_low),
        ref_high=arr(labs.ref_high),
        flag=arr(labs.flag),
        columns={
            "patient_id": "subject",
            "collected_at": "effective[x]",
            "analyte": "code",
            "code": "code",
            "value": "value[x]",
            "unit": "valueQuantity.unit",
        },
        decimal=".",
    )
    return normalise_labs(inp, rep, ISO_ORDER, ctx.options.as_of)


def _judge_patients(rep: FileReport, reading: Reading, ctx: Context, tally: Tally) -> pa.Table | None:
    records = list(reading.patients)
    latest: dict[str, tuple[dt.datetime, int]] = {}
    parsed: dict[int, dt.datetime | None] = {}
    for k, (row, pid, when, _value, _unit) in enumerate(reading.weights):
        t, err = _date(when)
        parsed[k] = t
        if not pid:
            tally.reject(row, "subject", "no patient id", "body weight")
        elif t is None:
            tally.reject(row, "effective[x]", f"body weight: {err or 'no date'}", when)
        elif pid not in latest or t >= latest[pid][0]:
            if pid in latest:
                _older(tally, reading.weights[latest[pid][1]][0])
            latest[pid] = (t, k)
        else:
            _older(tally, row)
    for pid, (t, k) in latest.items():
        row, _pid, _when, value, unit = reading.weights[k]
        if unit.strip() and weight_factor(unit) is None:
            tally.reject(row, "valueQuantity", f"body weight unit '{unit}' not understood (kg, g or lb)", value)
            continue
        records.append(
            PatientRecord(
                row=row,
                patient_id=pid,
                weight=value,
                weight_unit=unit,
                weight_date=t,
                columns={"patient_id": "subject", "weight_kg": "valueQuantity"},
            )
        )
    for row, pid, gene, value in reading.phenotypes:
        records.append(
            PatientRecord(
                row=row,
                patient_id=pid,
                tpmt=value if gene == "TPMT" else "",
                nudt15=value if gene == "NUDT15" else "",
                columns={"patient_id": "subject", gene.lower(): "valueCodeableConcept"},
            )
        )
    if not records:
        return None
    return run_patients(rep, records, tally, ctx.options.as_of)


def _older(tally: Tally, row: int) -> None:
    tally.reject(row, "value", "an earlier body weight (the latest one is kept as the patient's weight)")
