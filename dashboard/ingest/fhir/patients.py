"""FHIR Patients (sex, birth date, name), Conditions (the diagnosis that explains
immunosuppression) and body weights: the patient records judged by the shared pipeline."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pyarrow as pa

from dashboard.identity import LINK_KIND, person_name
from dashboard.ingest.context import Context
from dashboard.ingest.fhir.datatypes import Resource, cc_codes, cc_text, describe_code, fhir_date, subject_of
from dashboard.ingest.fhir.document import Index, url_id
from dashboard.ingest.fhir.reading import Reading
from dashboard.ingest.interop import CONDITION_NOT_USED, Tally, is_relevant_condition, run_patients
from dashboard.ingest.patients import PatientRecord, normalise_patients
from dashboard.ingest.report import FileReport
from dashboard.units import weight_factor


def patient(row: int, res: Resource, full_url: str, reading: Reading, rep: FileReport) -> None:
    pid = str(res.get("id", "")).strip() or (url_id(full_url) if full_url else "")
    record, note = details(row, res, pid)
    if note:
        rep.warn(note, row, "birthDate")
    reading.patients.append(record)
    for note in _record_links(pid, res):
        rep.warn(note, row, "link")
    reading.aliases.extend(other_ids(pid, res))
    reading.aliases.extend(linked_records(pid, res))


def linked_records(pid: str, res: Resource) -> list[tuple[str, str, str]]:
    """(patient id, "Patient.link replaced-by", the linked Patient's id) of each link of a
    Patient to another record by a "Patient/<id>" reference: kept with the patient's other
    identifiers, so that every output names the other record beside this one when both
    are on the panel (H550), not only the import report (:func:`_record_links`)."""
    out = []
    links = res.get("link")
    for link in links if isinstance(links, list) else []:
        if not isinstance(link, dict) or str(link.get("type", "")) not in _LINKS:
            continue
        other = link.get("other")
        reference = str(other.get("reference") or "").strip() if isinstance(other, dict) else ""
        found = re.search(r"(?:^|/)Patient/([^/]+?)(?:/_history/.*)?$", reference)
        if pid and found and found.group(1) != pid:
            out.append((pid, f"{LINK_KIND} {link['type']}", found.group(1)[:80]))
    return out


def other_ids(pid: str, res: Resource) -> list[tuple[str, str, str]]:
    """(patient id, what the identifier is, value) of each identifier of the Patient filed
    under ``pid`` that is not that id (an NHS number beside the MRN): kept as
    ``Parsed.aliases`` alike for a Patient of the file and one contained in a result
    (H150, H376), so the note that two ids may be one person is said for either."""
    return [(pid, kind, value) for kind, value in _identifiers(res) if pid and value != pid]


def details(row: int, res: Resource, pid: str) -> tuple[PatientRecord, str]:
    """(the patient record of a Patient resource filed under ``pid``, a note): its sex,
    birth date and name, read alike for a Patient of the file and one contained in a
    result (H355).  The note says a birth date that gives only the year or month is not
    stored."""
    gender = res.get("gender", "")
    if isinstance(gender, dict):  # DSTU1: a CodeableConcept
        codes = [c for _s, c in cc_codes(gender)]
        gender = codes[0] if codes else cc_text(gender)
    birth, err, note = "", "", ""
    birth_v = None
    if res.get("birthDate"):
        birth = str(res["birthDate"])
        birth_v, err = fhir_date(birth)
        if birth_v is None and re.fullmatch(r"\d{4}(-\d{2})?", birth.strip()):
            note = f"patient {pid}: birth date '{birth}' gives only the year or month; not stored"
            err = ""
    record = PatientRecord(
        row=row,
        patient_id=pid,
        sex=str(gender),
        name=_human_name(res.get("name")),
        birth_date=birth_v,
        birth_error=err if birth and birth_v is None else "",
        columns={"patient_id": "id", "sex": "gender", "birth_date": "birthDate", "name": "name"},
    )
    return record, note


def _identifiers(res: Resource) -> list[tuple[str, str]]:
    """(what it is, value) of each business identifier of a Patient (MRN, NHS number):
    the kind is the identifier type's code or text, else its system."""
    idents = res.get("identifier")
    found = []
    for ident in idents if isinstance(idents, list) else [idents]:
        if not isinstance(ident, dict) or not str(ident.get("value") or "").strip():
            continue
        codes = [c for _s, c in cc_codes(ident.get("type"))] if isinstance(ident.get("type"), dict) else []
        kind = (codes[0] if codes else cc_text(ident.get("type"))) or str(ident.get("system") or "")
        found.append((kind[:60] or "identifier", str(ident["value"]).strip()[:80]))
    return found


#: Patient.link types that say another record holds (part of) the same person's data.
_LINKS = {
    "replaced-by": "is replaced by",
    "replaces": "replaces",
    "refer": "refers to",
    "seealso": "names as the same person",
}


def _record_links(pid: str, res: Resource) -> list[str]:
    """Notes for a Patient that says it is merged into, replaces or duplicates another
    record (``Patient.link``), or is no longer in use (``active: false``): results are
    never moved between ids, so the clinician is told that one person's results may sit
    under two ids."""
    notes = []
    links = res.get("link")
    for link in links if isinstance(links, list) else []:
        if not isinstance(link, dict) or str(link.get("type", "")) not in _LINKS:
            continue
        other = link.get("other")
        other = other if isinstance(other, dict) else {}
        reference = str(other.get("reference") or "")
        if reference and not re.search(r"(^|/)Patient/", reference) and not reference.startswith(("urn:", "#")):
            continue  # a RelatedPerson, not another record of this patient
        ident = other.get("identifier")
        ident = ident if isinstance(ident, dict) else {}
        named = "|".join(str(ident[k]) for k in ("system", "value") if ident.get(k))
        target = (reference or named or str(other.get("display") or "") or "another record")[:80]
        notes.append(
            f"patient {pid} {_LINKS[str(link['type'])]} {target} (Patient.link): one person's results may be under "
            "two ids; they are kept apart, never moved: check which record is in use"
        )
    if res.get("active") is False:
        notes.append(f"patient {pid} is marked inactive (active: false): check that this record is the one in use")
    return notes


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


def condition(row: int, res: Resource, index: Index, ctx: Context, tally: Tally) -> None:
    pid = index.patient_id(subject_of(res), res)
    cc = res.get("code")
    text = cc_text(cc)
    codes = cc_codes(cc)
    verification = _first_code(res.get("verificationStatus")) or str(res.get("verificationStatus", ""))
    if verification in ("refuted", "entered-in-error"):
        tally.reject(row, "verificationStatus", f"condition {verification}: {text}", text)
        return
    if not pid:
        tally.reject(row, "subject", "no patient id", text)
        return
    if not any(is_relevant_condition(c, text, s) for s, c in codes) and not is_relevant_condition("", text):
        tally.reject(row, "code", CONDITION_NOT_USED, describe_code(text, codes[0][1] if codes else ""))
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
    codes = cc_codes(cc)
    return codes[0][1] if codes else ""


def judge_patients(rep: FileReport, reading: Reading, ctx: Context, tally: Tally) -> pa.Table | None:
    records = list(reading.patients)
    latest: dict[str, tuple[dt.datetime, int]] = {}
    parsed: dict[int, dt.datetime | None] = {}
    for k, (row, pid, when, _value, _unit) in enumerate(reading.weights):
        t, err = fhir_date(when)
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
    table = run_patients(rep, records, tally, ctx.options.as_of) if records else None
    riders = _contained(rep, reading, ctx)
    if riders is None:
        return table
    return riders if table is None else pa.concat_tables([table, riders])


def _contained(rep: FileReport, reading: Reading, ctx: Context) -> pa.Table | None:
    """The patient rows of the Patients contained in results (H355), judged as a Patient
    of the file is; they ride on their result's row, which the result settles, so what
    keeps one from being stored is a warning, not a rejected row.  The same details given
    again are one row; different ones are merged as any patient seen twice."""
    records: list[PatientRecord] = []
    seen: set[tuple[str, str, str, object, str]] = set()
    for record, note in reading.contained_patients:
        if note:
            rep.warn(note, record.row, "contained")
        key = (record.patient_id, record.sex, record.name, record.birth_date, record.birth_error)
        if key in seen or not (record.sex or record.name or record.birth_date or record.birth_error):
            continue
        seen.add(key)
        records.append(record)
    if not records:
        return None
    before = len(rep.problems)
    table, _accepted = normalise_patients(rep, records, ctx.options.as_of)
    for p in rep.problems[before:]:
        rep.warn(f"the Patient contained in this result: {p.message}; its details are not stored", p.row, "contained")
    del rep.problems[before:]
    return table


def _older(tally: Tally, row: int) -> None:
    tally.reject(row, "value", "an earlier body weight (the latest one is kept as the patient's weight)")
