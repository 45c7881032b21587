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
  flag); a component of a monitored test with no number (``dataAbsentReason``, a coded
  value, none) is a record rejected with that reason.  A body weight (LOINC 29463-7, 3141-9) gives the patient's weight instead
  (the latest one; older ones are reported as not kept).  A panel (``hasMember``)
  is accepted when one of its members in the file is.
* DiagnosticReport: its contained Observations are read with the report's subject and
  time (``effective[x]``) when they have none; a result with no effective time
  anywhere is rejected: ``issued`` is the report's release, not the draw; a report whose
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

import json

from dashboard.ingest.context import WITHDRAWN_ELSEWHERE, Context, Parsed
from dashboard.ingest.failures import log_failure, plain_reason
from dashboard.ingest.fhir import medications, observations, patients
from dashboard.ingest.fhir.document import (
    Entry,
    Index,
    Withdrawal,
    read_entries,
    set_aside_withdrawn,
    supersede_versions,
    withdrawals,
)
from dashboard.ingest.fhir.medications import MEDICATION_ORDERS
from dashboard.ingest.fhir.reading import Reading
from dashboard.ingest.interop import Tally, finish, run_doses
from dashboard.ingest.labs import ACCEPTED, LabCandidates
from dashboard.ingest.report import FileReport
from dashboard.ingest.tabular import UnreadableFile, decode


def read_fhir(name: str, data: bytes, rep: FileReport, ctx: Context) -> Parsed:
    """Read a FHIR JSON / NDJSON file into one Parsed with labs, doses and patients."""
    rep.format = "FHIR JSON"
    try:
        text, rep.encoding, _notes = decode(data)
    except UnreadableFile as exc:
        rep.error = str(exc)
        return Parsed(rep)
    text = text.lstrip("\ufeff")
    entries, error = read_entries(text, rep)
    if error:
        rep.error = error
        rep.format = "JSON"
        return Parsed(rep)
    if "\\u0000" in text:  # NUL characters inside strings: reject the resources holding them
        for e in entries:
            if e.resource is not None and "\\u0000" in json.dumps(e.resource):
                e.resource, e.problem = None, "the resource contains a NUL character (binary data in a text field)"
    return _read_entries(name, entries, rep, ctx)


def _read_entries(name: str, entries: list[Entry], rep: FileReport, ctx: Context) -> Parsed:
    rep.kind = "labs"
    rep.date_order = "ISO"
    rep.date_order_reason = "FHIR dates are ISO 8601"
    supersede_versions(entries)  # an earlier version of a resource is rejected naming the latest (H350)
    # a copy of a resource withdrawn in this file or another of the import is not read (H469)
    withdrawn = withdrawals(entries)
    for ref, elsewhere in (ctx.extra.get(WITHDRAWN_ELSEWHERE) or {}).items():
        withdrawn.setdefault(ref, []).extend(elsewhere)
    set_aside = set_aside_withdrawn(entries, withdrawn)
    if set_aside:
        rep.warn(
            f"{set_aside} resource(s) are also sent marked entered-in-error (withdrawn by the lab), here or in "
            "another file of this import, and nothing shows these copies came after the withdrawal: they are "
            "not read (see their rows); ask the lab whether those results stand"
        )
    index = Index(entries, ctx)
    tally = Tally()
    reading = Reading()
    parents = observations.parents_of(entries, index)
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
                observations.observation(e.row, res, index, parents.get(e.row), reading, tally)
            elif rtype == "DiagnosticReport":
                observations.diagnostic_report(e.row, res, index, reading, tally)
            elif rtype in MEDICATION_ORDERS:
                medications.medication_order(e.row, res, index, reading, tally, rep)
            elif rtype == "Patient":
                patients.patient(e.row, res, e.full_url, reading, rep)
            elif rtype == "Condition":
                patients.condition(e.row, res, index, ctx, tally)
            elif rtype == "Medication":
                reading.medication_rows[e.row] = res
            elif rtype == "OperationOutcome":
                _operation_outcome(e.row, res, tally, rep)
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
            "or panel (effective) is used"
        )
    _warn_of_age_ranges(reading, rep)
    if reading.issued_time:
        rep.warn(
            f"{reading.issued_time} result(s) have no effective (collection) time, only an issued (reported) "
            "time, which can be days after the sample: they are rejected, not placed on the report date"
        )

    cands = observations.judge_labs(name, reading.labs, rep, ctx) if reading.labs.rows else None
    accepted_lab_rows = _accepted_rows(cands)
    grew = True
    while grew:  # a report whose result is a panel is accepted through the panel's members
        grew = False
        for row, _kind, members in reading.groups:
            if row not in accepted_lab_rows and any(m in accepted_lab_rows for m in members):
                accepted_lab_rows.add(row)
                grew = True
    for row, kind, members in reading.groups:
        if any(m in accepted_lab_rows for m in members):
            tally.accept(row)
        elif not members:
            tally.reject(row, kind, f"{_GROUP_NAME[kind]} whose results are not in this file")
        else:
            tally.reject(row, kind, f"{_GROUP_NAME[kind]} none of whose results was imported")
    people = patients.judge_patients(rep, reading, ctx, tally)
    doses = run_doses(rep, reading.doses, tally) if reading.doses else None
    for row in reading.medication_rows:
        if row in reading.used_medications:
            tally.accept(row)
        else:
            tally.reject(row, "resourceType", "Medication not referred to by any order in this file")
    if cands is None:
        rep.kind = "doses" if reading.doses else "patients" if people is not None or tally.accepted else ""
    parsed = finish(rep, tally, labs=cands, doses=doses, patients=people)
    parsed.aliases = list(dict.fromkeys(reading.aliases))  # a contained Patient in many results: once
    parsed.patient_riders = {(r.patient_id, r.row) for r, _note in reading.contained_patients}
    return parsed


def withdrawn_in(name: str, data: bytes) -> dict[str, list[Withdrawal]]:
    """The resources a FHIR file marks entered-in-error (after its own versions are
    settled), for the other files of the import to be judged against (H469); nothing when
    the file cannot be read (its own reading says why)."""
    try:
        text, _encoding, _notes = decode(data)
        entries, error = read_entries(text.lstrip("\ufeff"), FileReport(path=name))
        if error:
            return {}
        supersede_versions(entries)
        return withdrawals(entries, name)
    except Exception:  # the file's own reading reports whatever is wrong with it
        return {}


def _operation_outcome(row: int, res: dict, tally: Tally, rep: FileReport) -> None:
    """An OperationOutcome is the server speaking of its answer ("results truncated",
    "Observation o7 could not be returned"): no result, but its words are the report's,
    a warning when they are a warning or an error (H351)."""
    issues = res.get("issue")
    said = []
    worst = ""
    for issue in issues if isinstance(issues, list) else []:
        if not isinstance(issue, dict):
            continue
        severity = str(issue.get("severity", "")).strip().lower()
        details = issue.get("details")
        details = details if isinstance(details, dict) else {}
        words = str(issue.get("diagnostics") or details.get("text") or issue.get("code") or "").strip()
        said.append(f"{severity or 'issue'}: {words[:200]}" if words else severity or "issue")
        if severity in ("fatal", "error", "warning"):
            worst = worst or severity
    text = "; ".join(said[:5]) or "no issue given"
    tally.reject(row, "resourceType", f"the server's OperationOutcome (not a result): {text}", "OperationOutcome")
    if worst:
        rep.warn(
            f"the server that made this file says: {text} - results may be missing from it; check the export",
            row=row,
        )


def _resource_reason(exc: BaseException) -> str:
    reason = plain_reason(exc)
    return "a part of it is of an unexpected kind" if reason.startswith("the file could not be read") else reason


class _Checkpoint:
    """What one resource added to a file's reading, so that a failure can take it back."""

    def __init__(self, reading: Reading, tally: Tally, rep: FileReport) -> None:
        self.reading, self.tally, self.rep = reading, tally, rep
        self.lab_rows = len(reading.labs.rows)
        self.sizes = {
            k: len(getattr(reading, k))
            for k in (
                "doses",
                "patients",
                "contained_patients",
                "aliases",
                "age_ranges_unused",
                "weights",
                "phenotypes",
                "groups",
            )
        }
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


def _warn_of_age_ranges(reading: Reading, rep: FileReport) -> None:
    """Say the results whose lab ranges limited by age were not used (H375), per reason."""
    by_reason: dict[str, list[int]] = {}
    for row, why in reading.age_ranges_unused:
        by_reason.setdefault(why, []).append(row)
    for why, rows in by_reason.items():
        shown = ", ".join(str(r) for r in rows[:5]) + (" ..." if len(rows) > 5 else "")
        rep.warn(
            f"{len(rows)} result(s) (row {shown}) have reference ranges limited by age that were not used: {why}; "
            "the range of another age is never used, so the default limits apply (none before the 18th birthday)"
        )


_GROUP_NAME = {"hasMember": "a panel", "result": "a report"}


def _accepted_rows(cands: LabCandidates | None) -> set[int]:
    if cands is None:
        return set()
    return {int(r) for r in cands.rows[cands.status == ACCEPTED]}


__all__ = ["read_fhir", "withdrawn_in"]
