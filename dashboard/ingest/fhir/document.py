"""A FHIR file as resources: a Bundle (walked without recursion), an NDJSON bulk export, a
JSON array or one resource, each top-level resource a numbered row; and the references
between them (:class:`Index`)."""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass
from typing import Any

from dashboard.ingest.context import Context
from dashboard.ingest.fhir.datatypes import Resource
from dashboard.ingest.jsonlimits import MAX_JSON_DEPTH, too_deep
from dashboard.ingest.report import FileReport

#: ctx.extra key: Medication resources seen by earlier FHIR files of the import.
MEDICATIONS = "fhir_medications"

#: The status a lab gives a resource it withdraws (every FHIR resource with a status has it).
ENTERED_IN_ERROR = "entered-in-error"


@dataclass
class Entry:
    row: int
    resource: Resource | None
    full_url: str = ""
    problem: str = ""  # why the entry cannot be used at all


def resource_type(res: Any) -> str:
    """The ``resourceType`` of a resource when it is a name ("Observation"), else ""."""
    if not isinstance(res, dict):
        return ""
    rtype = res.get("resourceType")
    return rtype.strip() if isinstance(rtype, str) else ""


_NOT_A_NAME = "resourceType is not a name (a list, number or object)"


#: Why a document or line nested too deeply is refused (before parsing: no recursion).
TOO_DEEP = f"nested more than {MAX_JSON_DEPTH} levels deep (brackets within brackets)"


def read_entries(text: str, rep: FileReport) -> tuple[list[Entry], str]:
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
            _warn_of_other_pages(doc, rep)
        else:
            rep.format = f"FHIR {resource_type(doc)[:40]}"
        _flatten(doc, "", entries)
    elif isinstance(doc, dict) and doc.get("resourceType") is not None:
        return [], f"JSON whose {_NOT_A_NAME}: not a FHIR export"
    else:
        return [], "JSON without a FHIR resourceType: not a FHIR export"
    return entries, ""


def _warn_of_other_pages(bundle: dict[str, Any], rep: FileReport) -> None:
    """Say when a Bundle is one page of a search (a ``next`` link) or holds fewer matches
    than the ``total`` it states: the other results are not in this file (H351)."""
    links = bundle.get("link")
    pages = [
        link
        for link in (links if isinstance(links, list) else [])
        if isinstance(link, dict) and link.get("relation") == "next"
    ]
    entries = bundle.get("entry")
    entries = entries if isinstance(entries, list) else []
    matches = sum(
        1
        for e in entries
        if isinstance(e, dict)
        and (not isinstance(e.get("search"), dict) or e["search"].get("mode", "match") == "match")
    )
    total = bundle.get("total")
    if pages:
        rep.warn(
            "this Bundle is one page of a search: the server has a next page, whose results are not in this "
            "file; export every page (or the whole record) to see them all"
        )
    elif isinstance(total, int) and not isinstance(total, bool) and total > matches:
        rep.warn(
            f"this Bundle says its search found {total} resources but holds {matches}: the others are not in "
            "this file; export them all to see them"
        )


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


class Index:
    """Resolve references between the resources of a file."""

    def __init__(self, entries: list[Entry], ctx: Context) -> None:
        self.by_ref: dict[str, tuple[int, Resource]] = {}
        self._contained_by_parent: dict[int, dict[str, Resource]] = {}
        self.medications: dict[str, Resource] = ctx.extra.setdefault(MEDICATIONS, {})
        #: (system, value) of each Patient identifier -> the logical ids of the Patients carrying it
        self.patients_by_identifier: dict[tuple[str, str], set[str]] = {}
        self.patient_ids: set[str] = set()
        #: the birth dates the file's Patients give, by logical id
        self.birth_dates: dict[str, set[str]] = {}
        for e in entries:
            if e.resource is None:
                continue
            res = e.resource
            rid = str(res.get("id", "")).strip()
            rtype = res["resourceType"]
            if rtype == "Patient":
                pid = rid or (url_id(e.full_url) if e.full_url else "")
                self.patient_ids.add(pid)
                if res.get("birthDate"):  # a range for an age is the patient's by it (H375)
                    self.birth_dates.setdefault(pid, set()).add(str(res["birthDate"]))
                idents = res.get("identifier")
                for ident in idents if isinstance(idents, list) else [idents]:
                    if isinstance(ident, dict) and ident.get("value") is not None:
                        key = (str(ident.get("system", "")).strip(), str(ident["value"]).strip())
                        self.patients_by_identifier.setdefault(key, set()).add(pid)
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

    def patient_id(self, ref: Any, holder: Resource | None = None) -> str:
        """The patient id a subject/patient reference names ("" when it names none, or
        none safely: see :meth:`subject_problem`).  ``holder``: the resource whose
        ``contained`` a local reference ("#pat") names."""
        if not isinstance(ref, dict):
            return ""
        reference = str(ref.get("reference", "")).strip()
        found = _identifier(ref)
        if reference.startswith("#"):
            return self._contained_patient(reference, holder)[0]
        if reference:
            _row, target = self.resolve(reference)
            if target is not None and target.get("resourceType") == "Patient":
                return str(target.get("id") or "").strip() or url_id(reference)
            if target is not None:
                return ""  # a Group, Device, Location ...: not one patient
            if found:  # "Patient?identifier=system|value"
                return self._by_identifier(*found)[0]
            if reference.startswith("urn:uuid:"):
                return reference[len("urn:uuid:") :]
            tail = re.search(r"([A-Za-z]+)/([^/]+?)(?:/_history/.*)?$", reference)
            if tail:
                return tail.group(2) if tail.group(1) == "Patient" else ""
            return reference
        return self._by_identifier(*found)[0] if found else ""

    def subject_problem(self, ref: Any, holder: Resource | None = None) -> str:
        """Why a subject given by an identifier, or by a contained Patient, cannot be
        placed ("" when it can)."""
        reference = str(ref.get("reference", "")).strip() if isinstance(ref, dict) else ""
        if reference.startswith("#"):
            return self._contained_patient(reference, holder)[1]
        found = _identifier(ref) if isinstance(ref, dict) else None
        if found:
            return self._by_identifier(*found)[1]
        return _not_a_patient(self.resolve(reference)[1], reference) if reference else ""

    def contained_subject(self, holder: Resource) -> Resource | None:
        """The Patient contained in ``holder`` that is its subject ("#pat"), else None."""
        ref = holder.get("subject") or holder.get("patient")
        reference = str(ref.get("reference", "")).strip() if isinstance(ref, dict) else ""
        if not reference.startswith("#"):
            return None
        found = self._contained(holder).get(reference[1:])
        return found if found is not None and found.get("resourceType") == "Patient" else None

    def _contained_patient(self, reference: str, holder: Resource | None) -> tuple[str, str]:
        """(patient id, problem) of a subject that is a Patient contained in ``holder``.

        Its id ("#pat") is local to the resource holding it: two results may each hold a
        "#pat" who are two people, so it is never a patient id (H349).  The patient is the
        one its identifier names, as for a subject given by an identifier: the MRN (type
        MR), else its only identifier."""
        target = self._contained(holder).get(reference[1:]) if holder is not None else None
        if target is None:
            return "", f"the subject {reference[:40]} names a contained resource that is not there"
        if target.get("resourceType") != "Patient":
            return "", _not_a_patient(target, reference)  # a Group, Device ...: not one patient (H357)
        idents = target.get("identifier")
        usable = [
            i for i in (idents if isinstance(idents, list) else [idents]) if isinstance(i, dict) and i.get("value")
        ]
        mrns = [i for i in usable if any(c.get("code") == "MR" for c in _codings(i.get("type")))]
        chosen = mrns if mrns else usable
        keys = {(str(i.get("system", "")).strip(), str(i["value"]).strip()) for i in chosen}
        if len(keys) != 1:
            many = "several identifiers, none of them the MRN (type MR)" if keys else "no identifier"
            return "", (
                f"the subject is a Patient contained in the resource with {many}: its local id "
                f"{reference[:40]} names no patient record, so the result is filed under no one"
            )
        return self._by_identifier(*next(iter(keys)))

    def _by_identifier(self, system: str, value: str) -> tuple[str, str]:
        """(patient id, problem) of a subject given by a business identifier (an MRN).

        The Patient of the file that carries the identifier, when there is one; else the
        identifier's value, unless that value is the logical id of another Patient of the
        file (an MRN "1" is not the Patient whose id is "1": a wrong-patient result)."""
        system, value = system.strip(), value.strip()
        shown = f"{system}|{value}" if system else value
        if system:
            owners = self.patients_by_identifier.get((system, value), set())
        else:
            owners = set().union(*(ids for (_s, v), ids in self.patients_by_identifier.items() if v == value))
        if len(owners) == 1:
            return next(iter(owners)), ""
        if len(owners) > 1:
            return "", f"the subject identifier {shown} is carried by more than one Patient in the file"
        if value in self.patient_ids:
            return "", (
                f"the subject is given by the identifier {shown}, which no Patient in the file carries, while "
                f"'{value}' is the id of another Patient in the file: not filed under either"
            )
        return value, ""


def _not_a_patient(target: Resource | None, reference: str) -> str:
    """Why a subject that is a Group, a Device, a Location ... is filed under no one (H357):
    the type of the resource it names (found in the file, else the reference's "Type/id")."""
    rtype = resource_type(target) if target is not None else ""
    if not rtype:
        tail = re.search(r"([A-Za-z]+)/[^/]+?(?:/_history/.*)?$", reference)
        rtype = tail.group(1) if tail else ""
    if not rtype or rtype == "Patient":
        return ""
    return (
        f"the subject is a {rtype[:40]} ({reference[:60]}), not one patient: a result or dose belongs to one "
        "patient, so it is filed under no one"
    )


def _codings(cc: Any) -> list[dict[str, Any]]:
    codings = cc.get("coding") if isinstance(cc, dict) else None
    return [c for c in codings if isinstance(c, dict)] if isinstance(codings, list) else []


def _identifier(ref: dict[str, Any]) -> tuple[str, str] | None:
    """(system, value) of a subject given by a business identifier: a conditional
    reference ("Patient?identifier=urn:mrn|1") or an ``identifier`` without a reference."""
    reference = str(ref.get("reference", "")).strip()
    if "?identifier=" in reference:
        token = reference.split("?identifier=", 1)[1].split("&", 1)[0]
        system, _bar, value = token.rpartition("|")
        return system, value
    ident = ref.get("identifier")
    if not reference and isinstance(ident, dict) and ident.get("value"):
        return str(ident.get("system", "")), str(ident["value"])
    return None


def url_id(url: str) -> str:
    """The id part of a reference or fullUrl: urn:uuid:X -> X, .../Patient/7 -> 7."""
    if url.startswith(("urn:uuid:", "urn:oid:")):
        return url.split(":", 2)[-1]
    tail = re.search(r"/([^/]+?)(?:/_history/.*)?$", url)
    return tail.group(1) if tail else url


def _version_key(e: Entry) -> tuple[int, str] | None:
    """What orders the versions of one resource: ``meta.versionId`` (a whole number, or the
    ``_history/N`` of its fullUrl), else ``meta.lastUpdated`` (an ISO instant); None when
    neither is given."""
    res = e.resource or {}
    meta = res.get("meta")
    meta = meta if isinstance(meta, dict) else {}
    vid = str(meta.get("versionId", "")).strip()
    if not vid:
        hist = re.search(r"/_history/([^/]+)$", e.full_url)
        vid = hist.group(1) if hist else ""
    if vid.isdigit():
        return 0, f"{int(vid):020d}"
    updated = str(meta.get("lastUpdated", "")).strip()
    try:
        when = dt.datetime.fromisoformat(updated.replace("Z", "+00:00")) if updated else None
    except ValueError:
        when = None
    if when is None:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return 1, when.astimezone(dt.UTC).isoformat()


def supersede_versions(entries: list[Entry]) -> None:
    """Set aside every version of a resource but the latest (H350).

    A history Bundle, or a search that returns one Observation as it was and as it is,
    holds several versions of one resource (one ``Type/id``).  The latest is the lab's
    current word (a corrected value, or ``entered-in-error``); an earlier one is rejected
    naming it, never graded beside it.  Versions that cannot be ordered (no ``versionId``
    or ``lastUpdated`` on each, or two alike) are all read, as before: identical ones are
    one result, different ones are said."""
    groups: dict[str, list[Entry]] = {}
    for e in entries:
        res = e.resource
        rid = str(res.get("id", "")).strip() if res is not None else ""
        if res is not None and rid:
            groups.setdefault(f"{res['resourceType']}/{rid}", []).append(e)
    for ref, group in groups.items():
        if len(group) < 2:
            continue
        keys = [_version_key(e) for e in group]
        if any(k is None for k in keys) or len({k[0] for k in keys if k}) != 1 or len(set(keys)) != len(keys):
            continue
        latest = max(zip(keys, group, strict=True), key=lambda ke: ke[0] or (0, ""))[1]
        shown = _version_shown(latest)
        for e in group:
            if e is not latest:
                e.resource, e.problem = (
                    None,
                    (
                        f"an earlier version ({_version_shown(e)}) of {ref[:80]}: the version in row {latest.row} "
                        f"({shown}) replaces it"
                    ),
                )


def _version_shown(e: Entry) -> str:
    meta = (e.resource or {}).get("meta")
    meta = meta if isinstance(meta, dict) else {}
    if meta.get("versionId"):
        return f"versionId {str(meta['versionId'])[:20]}"
    hist = re.search(r"/_history/([^/]+)$", e.full_url)
    if hist:
        return f"_history/{hist.group(1)[:20]}"
    return f"lastUpdated {str(meta.get('lastUpdated', ''))[:40]}"


@dataclass(frozen=True)
class Withdrawal:
    """A copy of a resource marked entered-in-error: where it is ("row 3", "row 3 of
    Observation_2.ndjson") and its version key (:func:`_version_key`; None when it has none)."""

    where: str
    key: tuple[int, str] | None


def _reference(res: Resource) -> str:
    rid = str(res.get("id", "")).strip()
    return f"{res['resourceType']}/{rid}" if rid else ""


def withdrawals(entries: list[Entry], file: str = "") -> dict[str, list[Withdrawal]]:
    """The resources (``Type/id``) that entries mark entered-in-error, with where each is
    (``file`` named when given: the copy is in another file of the import)."""
    out: dict[str, list[Withdrawal]] = {}
    for e in entries:
        res = e.resource
        if res is None or str(res.get("status", "")).strip() != ENTERED_IN_ERROR:
            continue
        ref = _reference(res)
        if ref:
            where = f"row {e.row}" + (f" of {file[:80]}" if file else "")
            out.setdefault(ref, []).append(Withdrawal(where, _version_key(e)))
    return out


def set_aside_withdrawn(entries: list[Entry], withdrawn: dict[str, list[Withdrawal]]) -> int:
    """Reject every copy of a resource that is also sent marked entered-in-error, unless its
    version shows it came after each withdrawal (H469); return how many were rejected.

    A bulk export and its later ``_since`` export, or a search that returns a result as it
    was and as the lab withdrew it, hold two copies of one Observation; with no
    ``versionId`` or ``lastUpdated`` nothing says which is current.  The lab's withdrawal
    wins: the other copy is rejected naming it, never graded beside it (FHIR's status
    workflow leads to entered-in-error, not away from it).  Run after
    :func:`supersede_versions`, which settles the versions that can be ordered."""
    if not withdrawn:
        return 0
    n = 0
    for e in entries:
        res = e.resource
        if res is None:
            continue
        status = str(res.get("status", "")).strip()
        gone = withdrawn.get(_reference(res)) if status != ENTERED_IN_ERROR else None
        if not gone:
            continue
        key = _version_key(e)
        if key is not None and all(w.key is not None and w.key[0] == key[0] and key > w.key for w in gone):
            continue  # a later version than every withdrawal: the lab's latest word
        e.resource, e.problem = (
            None,
            (
                f"the same {_reference(res)[:80]} is marked entered-in-error (withdrawn by the lab) in "
                f"{gone[0].where}, and nothing (versionId, lastUpdated) shows this {status[:20] or 'undated'} copy "
                "came after the withdrawal: not read, never graded; ask the lab whether the result stands"
            ),
        )
        n += 1
    return n
