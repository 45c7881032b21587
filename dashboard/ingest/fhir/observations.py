"""FHIR Observations and DiagnosticReports: lab results (each numeric value, each component),
body weights and TPMT/NUDT15 phenotypes; the lab records judged by the shared lab pipeline."""

from __future__ import annotations

import datetime as dt
import math
import re
from typing import Any

import numpy as np
import pyarrow as pa

from dashboard.identity import whole_years
from dashboard.ingest.context import Context
from dashboard.ingest.fhir import patients
from dashboard.ingest.fhir.datatypes import (
    LOINC,
    Resource,
    cc_code,
    cc_codes,
    cc_codings,
    cc_text,
    describe_code,
    element,
    num_text,
    quantity_unit,
    subject_of,
)
from dashboard.ingest.fhir.document import Entry, Index
from dashboard.ingest.fhir.reading import LabRows, Reading
from dashboard.ingest.interop import ISO_ORDER, Tally
from dashboard.ingest.labs import LabCandidates, LabInput, normalise_labs
from dashboard.ingest.mapping import names_disagree, recognise_test
from dashboard.ingest.report import FileReport
from dashboard.units import normalize_unit, resolve_unit

#: LOINC codes of a body weight.
BODY_WEIGHT = ("29463-7", "3141-9")


_OBS_REJECT = {
    "entered-in-error": "entered in error",
    "cancelled": "cancelled (no result)",
    "registered": "registered, no result yet",
}


def parents_of(entries: list[Entry], index: Index) -> dict[int, Resource]:
    """Observation row -> what its parents say of it: the subject and time of the nearest
    of the DiagnosticReport (``result``) or panel (``hasMember``, DSTU2 ``related``) listing
    it, and of their own parents, that gives one.  A result without its own subject or
    time takes those: a member of a panel of a report is dated by the report."""
    direct: dict[int, tuple[int, Resource]] = {}  # child row -> (parent row, parent)
    for e in entries:
        res = e.resource
        if res is None or res["resourceType"] not in ("DiagnosticReport", "Observation"):
            continue
        refs = res.get("result") or res.get("hasMember") or res.get("related") or []
        for ref in refs if isinstance(refs, list) else []:
            target = ref.get("target", ref) if isinstance(ref, dict) else None  # DSTU2 "related.target"
            if isinstance(target, dict):
                row, found = index.resolve(str(target.get("reference", "")))
                if row is not None and found is not None and row != e.row:
                    direct.setdefault(row, (e.row, res))
    out: dict[int, Resource] = {}
    for row, (up, parent) in direct.items():
        chain, seen = [parent], {row, up}
        while up in direct and len(chain) < 8:  # a report's panel's member; never round a loop
            up, above = direct[up]
            if up in seen:
                break
            seen.add(up)
            chain.append(above)
        said: Resource = {"resourceType": parent["resourceType"]}
        subject = next((subject_of(p) for p in chain if subject_of(p)), None)
        when = next((w for w in map(_when, chain) if w), "")
        issued = next((str(p["issued"]) for p in chain if p.get("issued")), "")
        said |= {k: v for k, v in (("subject", subject), ("effectiveDateTime", when), ("issued", issued)) if v}
        out[row] = said
    return out


def _refused(row: int, res: Resource, statuses: dict[str, str], index: Index, tally: Tally) -> bool:
    """Reject (True) a result or report whose status withdraws it, or whose subject cannot
    be placed (another patient's MRN, a reference to nothing)."""
    status = str(res.get("status", "")).lower()
    if status in statuses:
        tally.reject(row, "status", f"{res.get('resourceType')} {statuses[status]}", status)
        return True
    unplaced = index.subject_problem(subject_of(res), res)
    if unplaced:
        tally.reject(row, "subject", unplaced)
        return True
    return False


def observation(row: int, res: Resource, index: Index, parent: Resource | None, reading: Reading, tally: Tally) -> None:
    if _withdrawn_result(row, res, index, parent, reading):
        return
    if _refused(row, res, _OBS_REJECT, index, tally):
        return
    _contained_subject(row, res, index, reading)
    code_cc = res.get("code") or res.get("name")  # DSTU1 writes "name"
    loinc = cc_code(code_cc, LOINC)
    name = cc_text(code_cc)
    if loinc in BODY_WEIGHT:
        _weight(row, res, index, parent, reading, tally, name)
        return
    gene = _pharmacogene(res, name)
    if gene:
        pid = index.patient_id(subject_of(res), res) or (index.patient_id(subject_of(parent), parent) if parent else "")
        value = cc_text(res.get("valueCodeableConcept")) or str(res.get("valueString", "") or "")
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
        tally.reject(row, "value", _no_value_reason(res, name, loinc), describe_code(name, loinc))


def _withdrawn_result(row: int, res: Resource, index: Index, parent: Resource | None, reading: Reading) -> bool:
    """An Observation marked entered-in-error that gives its values (True): read as lab
    records with that status, which the lab pipeline rejects as withdrawn, never graded,
    and hands to a store as withdrawals of the same result kept from an earlier import
    (H530).  False for one with no value, or not a lab result (a weight, a phenotype, a
    panel): rejected by :func:`_refused` as before."""
    if str(res.get("status", "")).strip().lower() != "entered-in-error":
        return False
    if not any(k.startswith("value") for k in res) and not res.get("component"):
        return False
    if index.subject_problem(subject_of(res), res):
        return False
    code_cc = res.get("code") or res.get("name")
    loinc, name = cc_code(code_cc, LOINC), cc_text(code_cc)
    if loinc in BODY_WEIGHT or _pharmacogene(res, name):
        return False
    return _lab_records(row, res, index, parent, reading, name, loinc) > 0


def _contained_subject(row: int, res: Resource, index: Index, reading: Reading) -> None:
    """Keep the sex, birth date and name of a Patient contained in ``res`` as its subject,
    filed under the patient it names (H349), read as a Patient of the file is: per-sex
    ranges and the child rule (H181) need them (H355)."""
    found = index.contained_subject(res)
    pid = index.patient_id(subject_of(res), res) if found is not None else ""
    if found is not None and pid:
        reading.contained_patients.append(patients.details(row, found, pid))
        reading.aliases.extend(patients.other_ids(pid, found))  # H376: one list, the same as repeats kept once


#: HGNC ids of the thiopurine pharmacogenes.
_GENE_IDS = {"HGNC:12014": "TPMT", "HGNC:23063": "NUDT15"}


def _pharmacogene(res: Resource, name: str) -> str:
    """ "TPMT" or "NUDT15" when the Observation reports that gene's phenotype or genotype."""
    texts = [name]
    for comp in res.get("component") or []:
        cc = comp.get("valueCodeableConcept") if isinstance(comp, dict) else None
        if cc:
            texts.append(cc_text(cc))
            texts.extend(_GENE_IDS.get(c, c) for _s, c in cc_codes(cc))
    joined = " ".join(texts).upper()
    for gene in ("NUDT15", "TPMT"):
        if gene in joined.replace("-", ""):
            return gene
    return ""


def _no_value_reason(res: Resource, name: str, loinc: str) -> str:
    if recognise_test(name, loinc) is None:
        return f"not a monitored analyte: {describe_code(name, loinc) or 'no code'}"
    absent = res.get("dataAbsentReason")
    if absent:
        return f"no result ({cc_text(absent) or cc_code(absent, '') or 'data absent'})"
    for key, value in res.items():
        if key.startswith("value"):
            shown = cc_text(value) if isinstance(value, dict) else str(value)
            if shown.strip():
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
    standalone: bool = False,
) -> int:
    """Add the results of an Observation (and its components) as lab records; return how many.

    A component of a monitored test without a number is a record with the reason it has
    none; so is the Observation itself when ``standalone`` (a result contained in a
    DiagnosticReport, which has no row of its own to be rejected on)."""
    pid = index.patient_id(subject_of(res), res) or (index.patient_id(subject_of(parent), parent) if parent else "")
    when = _when(res)
    if not when and parent is not None:
        when = _when(parent)
        if when:
            reading.fallback_time += 1
    issued = _issued_only(res, parent)  # no draw time: each value is rejected with the reason
    no_time = _untimed(res, parent) or (_issued_reason(issued) if issued else "") or _partial_date(when)
    flag = _interpretation(res)
    ages = _AgeOn(_birth_date(res, pid, index), _day_of(when))
    low, high, rtext, runit, sex_lim = _reference_range(res, ages)
    # the status as the lab wrote it, judged by the lab pipeline as a table's status column
    # is (vocab/statuses.toml): "preliminary" counted and said, "unknown" said, "amended" and
    # "corrected" replace the result of their draw they correct (H132, H347)
    status = str(res.get("status", "")).strip()
    n = 0
    parts = [(res, name, loinc, res.get("code") or res.get("name"))]
    for comp in res.get("component") or []:
        if isinstance(comp, dict):
            parts.append((comp, cc_text(comp.get("code")), cc_code(comp.get("code"), LOINC), comp.get("code")))
    for part, pname, ploinc, pcode in parts:
        value, unit, problem = _value(part, pname, ploinc)
        why_none = ""
        clash = _code_clash(pcode)  # the codes and the name say different tests (H346)
        absent = _absent_beside(part, value, unit)  # a value and a reason it is absent (H356)
        if value is not None and (problem or clash or absent):
            value, why_none = "", absent or clash or problem
        if value is None:
            # A component (or a report's contained result) of a monitored test with no
            # number ("Clotted", a coded value, nothing) is a result too: it is judged
            # and rejected with its reason, never dropped.  The Observation itself is
            # rejected by its caller when nothing of it is read.
            if (part is res and not standalone) or recognise_test(pname, ploinc) is None:
                continue
            value, why_none = "", _no_value_reason(part, pname, ploinc)
        if part is not res:
            flag_p = _interpretation(part)
            low_p, high_p, rtext_p, runit_p, sex_p = _reference_range(part, ages)
        else:
            flag_p, low_p, high_p, rtext_p, runit_p, sex_p = flag, low, high, rtext, runit, sex_lim
        if runit_p and unit and _unit_key(runit_p) != _unit_key(unit):
            low_p = high_p = rtext_p = ""  # a range in another unit than the result is not used
            sex_p = NO_SEX_RANGE
        reading.labs.add(
            rows=row,
            patient=pid,
            when=when,
            when_reason=no_time,
            name=pname,
            code=ploinc,
            value=value,
            unit=unit,
            ref_low=low_p,
            ref_high=high_p,
            ref_text=rtext_p,
            ref_sex=sex_p,
            flag=flag_p,
            value_reason=why_none,
            status=status,
        )
        n += 1
    if issued:
        reading.issued_time += n
    if ages.unread:
        reading.age_ranges_unused.append((row, ages.unread))
    return n


class _AgeOn:
    """The patient's age on the draw date, in the units of a range's ``age`` (H375);
    ``unread`` says why a range limited by age was not used ("" while none was left out
    for want of the age)."""

    def __init__(self, born: dt.date | None, drawn: dt.date | None) -> None:
        self.born, self.drawn, self.unread = born, drawn, ""

    def covers(self, age: Any) -> bool:
        """Whether a range's ``age`` (a Range of Age quantities, both ends inclusive)
        covers the patient on the draw date: never when the age, or a limit's unit, is
        not known."""
        if self.born is None or self.drawn is None:
            self.unread = self.unread or "the patient's age on the draw date is not known (no birth date in the file)"
            return False
        for end, inside in (("low", lambda a, b: a >= b), ("high", lambda a, b: a <= b)):
            bound = age.get(end) if isinstance(age, dict) else None
            if not isinstance(bound, dict) or bound.get("value") is None:
                continue
            unit = _AGE_UNITS.get(str(bound.get("code") or bound.get("unit") or "").strip().lower())
            try:
                limit = float(bound["value"])
            except (TypeError, ValueError):
                unit = None
            if unit is None:
                self.unread = self.unread or "an age limit of the range gives no unit of time that is known"
                return False
            if not inside(self._age_in(unit), limit):
                return False
        return True

    def _age_in(self, unit: str) -> int:
        born, on = self.born, self.drawn
        assert born is not None and on is not None
        if unit == "a":
            return whole_years(born, on)
        if unit == "mo":
            return (on.year - born.year) * 12 + on.month - born.month - (on.day < born.day)
        days = (on - born).days
        return days // 7 if unit == "wk" else days


#: The units of an age (UCUM codes and the words exports write) -> a, mo, wk or d.
_AGE_UNITS = {
    **dict.fromkeys(("a", "y", "yr", "yrs", "year", "years"), "a"),
    **dict.fromkeys(("mo", "month", "months"), "mo"),
    **dict.fromkeys(("wk", "week", "weeks"), "wk"),
    **dict.fromkeys(("d", "day", "days"), "d"),
}


def _day_of(text: str) -> dt.date | None:
    """The calendar day of a FHIR date or dateTime as written ("2026-10-01T09:30+01:00":
    1 October), None when it gives no whole day."""
    found = re.match(r"\s*(\d{4}-\d{2}-\d{2})", text or "")
    if not found:
        return None
    try:
        return dt.date.fromisoformat(found.group(1))
    except ValueError:
        return None


def _birth_date(res: Resource, pid: str, index: Index) -> dt.date | None:
    """The birth date of a result's patient: its contained Patient's, else the file's
    Patient's; None when neither gives one day, or they give two."""
    found = index.contained_subject(res)
    days = {_day_of(str(found.get("birthDate") or ""))} if found is not None else set()
    days |= {_day_of(b) for b in index.birth_dates.get(pid, ())}
    days.discard(None)
    return next(iter(days)) if len(days) == 1 else None


def _absent_beside(part: Resource, value: str | None, unit: str) -> str:
    """Why a value given beside a ``dataAbsentReason`` is not read (H356): FHIR R4
    (obs-6) allows one or the other, so one of them is wrong and which is not known."""
    absent = part.get("dataAbsentReason")
    if value is None or not absent:
        return ""
    codes = [c for _s, c in cc_codes(absent)]
    reason = (cc_text(absent) or (codes[0] if codes else "")) or "given"
    shown = f"{value} {unit}".strip()[:60]
    return (
        f"the result gives both a value ({shown}) and a dataAbsentReason ({reason[:60]}), which FHIR forbids: "
        "which one is right is not known, so the value is not read"
    )


def _when(res: Resource) -> str:
    # DSTU1 writes applies[x] on an Observation and diagnostic[x] on a DiagnosticReport
    for key in ("effectiveDateTime", "effectiveInstant", "appliesDateTime", "effectiveDate", "diagnosticDateTime"):
        if res.get(key):
            return str(res[key])
    for key in ("effectivePeriod", "appliesPeriod", "diagnosticPeriod"):
        p = res.get(key)
        if isinstance(p, dict) and p.get("start"):
            return str(p["start"])
    return ""


def _untimed(res: Resource, parent: Resource | None) -> str:
    """Why a result whose only time is a period without a start, or a Timing, has no
    draw time (H358); "" when it has a time, or none of these."""
    if _when(res) or (parent is not None and _when(parent)):
        return ""
    for holder in (res, parent or {}):
        period = holder.get("effectivePeriod")
        if isinstance(period, dict) and period.get("end"):
            return (
                f"the effectivePeriod gives only its end ({str(period['end'])[:40]}), not when it started: "
                "a draw needs the time the blood was taken"
            )
        if holder.get("effectiveTiming"):
            return (
                "the time is an effectiveTiming (a schedule of times), not the one time the blood was taken: "
                "a draw needs one date"
            )
    return ""


def _partial_date(when: str) -> str:
    """Why a time that gives only a year, or a year and month, is no draw date (H358)."""
    text = when.strip()
    if re.fullmatch(r"\d{4}-\d{2}", text):
        return f"the date gives only the year and month ({text}): a draw needs a day"
    if re.fullmatch(r"\d{4}", text):
        return f"the date gives only the year ({text}): a draw needs a day"
    return ""


def _issued_only(res: Resource, parent: Resource | None) -> str:
    """The ``issued`` time of a result with no effective time (its own or its parent's), else "".

    ``issued`` is when the result was released, which can be days after the blood was
    taken: like a report date in a table (``mapping._choose_draw_date``), it is never
    read as the draw date.
    """
    if _when(res) or (parent is not None and _when(parent)):
        return ""
    return str(res.get("issued") or (parent or {}).get("issued") or "")


def _issued_reason(issued: str) -> str:
    return (
        f"no collection time (effective[x]): issued {issued[:40]} is when the result was reported, which can be "
        "days after the blood was taken, so it is not read as the draw date"
    )


def _interpretation(res: Resource) -> str:
    interp = res.get("interpretation")
    items = interp if isinstance(interp, list) else [interp] if isinstance(interp, dict) else []
    for cc in items:
        for c in cc_codings(cc):
            if c.get("code"):
                return str(c["code"])
        if isinstance(cc, dict) and cc.get("text"):
            return str(cc["text"])
    return ""


#: No range per sex: (male low, male high, female low, female high), each "" when none.
NO_SEX_RANGE = ("", "", "", "")


def _reference_range(res: Resource, ages: _AgeOn) -> tuple[str, str, str, str, tuple[str, str, str, str]]:
    """(low, high, text, unit, limits per sex) of the normal reference range.

    Ranges of another meaning (``type`` therapeutic, treatment ...) are not the normal
    range.  A range for a part of the population (``appliesTo``, ``age``) is used only for
    the patients it applies to: ranges that apply to sexes alone give each sex its own
    (male low, male high, female low, female high; "" for a sex no range applies to), read
    for the patient's sex by the lab pipeline (H348, H359), and one range for both men and
    women is everyone's; a range for an age, or for another kind of population, is not
    used alone; several such ranges that agree, none of them for some sexes only, are that
    range.  Several different normal ranges for everyone (one per age ...) give none:
    which applies to the patient is not guessed, and the default limits apply.  A range
    for an age is first kept only when it covers the patient's age on the draw date
    (``ages``), its age then no longer a limit; when that age is not known, it is left out
    and ``ages.unread`` says why (H375).
    """
    found: dict[tuple[str, str, str], tuple[str, str, str, str]] = {}
    by_sexes: list[tuple[set[str], str, str, str]] = []  # ranges for sexes alone: (sexes, low, high, unit)
    limited: dict[tuple[str, str, str], tuple[str, str, str, str]] = {}  # the ranges for a part of the population
    restricted = 0
    ranges = res.get("referenceRange")
    for rr in ranges if isinstance(ranges, list) else []:
        if not isinstance(rr, dict):
            continue
        meaning = [str(c.get("code", "")).lower() for c in cc_codings(rr.get("type"))]
        if meaning and "normal" not in meaning:
            continue
        low = element(rr, "low")
        high = element(rr, "high")
        unit = quantity_unit(low)[0] or quantity_unit(high)[0] or quantity_unit(low)[1] or quantity_unit(high)[1]
        lo, hi, text = num_text(low.get("value")), num_text(high.get("value")), str(rr.get("text", ""))
        if rr.get("age"):
            if not ages.covers(rr["age"]):
                continue  # a range for another age, or for an age not known, is not the patient's
            rr = {k: v for k, v in rr.items() if k != "age"}
        if rr.get("appliesTo"):
            restricted += 1
            sexes = _sexes_of(rr)
            if sexes is not None:
                by_sexes.append((sexes, lo, hi, unit))
            limited.setdefault((lo, hi, unit) if lo or hi else ("", "", text), (lo, hi, text, unit))
            continue
        found.setdefault((lo, hi, unit) if lo or hi else ("", "", text), (lo, hi, text, unit))
    if not found and by_sexes and len(by_sexes) == restricted:
        return _per_sex(by_sexes)
    if not found and restricted > 1 and len(limited) == 1 and not by_sexes:
        found = limited  # several populations' ranges that agree: that range (one alone is not everyone's)
    if len(found) != 1:
        return "", "", "", "", NO_SEX_RANGE
    return (*next(iter(found.values())), NO_SEX_RANGE)


def _per_sex(by_sexes: list[tuple[set[str], str, str, str]]) -> tuple[str, str, str, str, tuple[str, str, str, str]]:
    """The range of each sex from ranges that apply to sexes alone (H359): a man's is the
    one range for male, a woman's the one for female ("" when none, or two that differ, or
    no limit given); the same range for men and women, and for every other sex named, is
    everyone's."""
    units = {unit for _s, lo, hi, unit in by_sexes if lo or hi}
    if len(units) > 1:
        return "", "", "", "", NO_SEX_RANGE  # ranges in two units: none compared, none used
    unit = next(iter(units), "")
    own: dict[str, tuple[str, str]] = {}
    for sex in ("male", "female"):
        limits = {(lo, hi) for sexes, lo, hi, _u in by_sexes if sex in sexes and (lo or hi)}
        own[sex] = next(iter(limits)) if len(limits) == 1 else ("", "")
    everyone = {(lo, hi) for _s, lo, hi, _u in by_sexes}
    if len(everyone) == 1 and own["male"] == own["female"] != ("", ""):
        lo, hi = own["male"]
        return lo, hi, "", unit, NO_SEX_RANGE
    return "", "", "", unit, (*own["male"], *own["female"])


def _sexes_of(rr: Resource) -> set[str] | None:
    """The administrative genders a range's ``appliesTo`` names ("male", "female", "other",
    "unknown"), or None when one of its populations is no sex (a race, pregnancy ...)."""
    applies = rr.get("appliesTo")
    sexes: set[str] = set()
    for cc in applies if isinstance(applies, list) else [applies]:
        words = {str(c.get("code", "")).strip().lower() for c in cc_codings(cc)}
        words |= {str(c.get("display", "")).strip().lower() for c in cc_codings(cc)}
        words.add(cc_text(cc).strip().lower())
        # administrative-gender codes; SNOMED CT 248153007 male, 248152002 female
        named = {_SEX_WORDS[w] for w in words if w in _SEX_WORDS}
        if len(named) != 1:
            return None
        sexes |= named
    return sexes or None


_SEX_WORDS = {
    "male": "male",
    "248153007": "male",
    "female": "female",
    "248152002": "female",
    "other": "other",
    "unknown": "unknown",
}


def _unit_key(u: str) -> str:
    return normalize_unit(u.replace("[", "").replace("]", ""))


def _value(part: Resource, name: str, loinc: str) -> tuple[str | None, str, str]:
    """(value text, unit, problem) of a result; ``None`` when it has no value, and a
    problem ("" when none) that keeps a value from being read (H345, H352)."""
    q = part.get("valueQuantity")
    if isinstance(q, dict) and q.get("value") is not None:
        unit, code = quantity_unit(q)
        comparator = str(q.get("comparator", "")).strip()
        picked, problem = _pick_unit(unit, code, name, loinc)
        return comparator + num_text(q.get("value")), picked, problem or _percent_of_a_count(picked, loinc)
    for key in ("valueInteger", "valueDecimal"):
        if part.get(key) is not None:
            return num_text(part[key]), "", ""
    s = part.get("valueString")
    if isinstance(s, str) and s.strip():
        return s.strip(), "", ""
    return None, "", ""


def _pick_unit(unit: str, code: str, name: str, loinc: str) -> tuple[str, str]:
    """(the unit text to judge, problem): the human unit unless only the UCUM code is
    understood; a text and a code that are units of the test with different factors
    ("g/dL" beside g/L, "10^9/L" beside /uL) are a problem, never read by either (H345)."""
    if not unit:
        return code, ""
    if not code or code == unit:
        return unit, ""
    m = recognise_test(name, loinc)
    if m is None:
        return unit, ""
    by_text, by_code = resolve_unit(m.analyte, unit), resolve_unit(m.analyte, code)
    if by_text.factor is None and by_code.factor:
        return code, ""
    if (
        by_text.factor is not None
        and by_code.factor is not None
        and (by_text.percent != by_code.percent or not math.isclose(by_text.factor, by_code.factor))
    ):
        return unit, (
            f"the unit text '{unit[:40]}' and the UCUM code '{code[:40]}' of the value are different units: "
            "which one the lab meant is not known, so the result is not read"
        )
    return unit, ""


def _percent_of_a_count(unit: str, loinc: str) -> str:
    """Why a value in % of a LOINC code that is an absolute count is not read (H352)."""
    if unit.strip() != "%" or not loinc:
        return ""
    m = recognise_test("", loinc)
    if m is None or not m.absolute:
        return ""
    return (
        f"LOINC {loinc} is an absolute count but the value is in %: the code or the unit is wrong, so it is "
        "neither made a count from the WBC nor read as one"
    )


def _code_clash(cc: Any) -> str:
    """Why a code naming one monitored test beside a code or name of another is not read
    (H346): the LOINC codes, the text and the displays, each recognised on its own by the
    check every reader shares (:func:`dashboard.ingest.mapping.names_disagree`)."""
    said: list[tuple[str, str, str]] = []
    for c in cc_codings(cc):
        code, shown = str(c.get("code", "")).strip(), str(c.get("display", "")).strip()
        if code and str(c.get("system", "")).rstrip("/") == LOINC:
            said.append((f"LOINC {code}", "", code))
        if shown:
            said.append((f"'{shown[:60]}'", shown, ""))
    text = str(cc.get("text", "")).strip() if isinstance(cc, dict) else ""
    if text:
        said.append((f"'{text[:60]}'", text, ""))
    return names_disagree(said)


def _weight(
    row: int, res: Resource, index: Index, parent: Resource | None, reading: Reading, tally: Tally, name: str
) -> None:
    pid = index.patient_id(subject_of(res), res) or (index.patient_id(subject_of(parent), parent) if parent else "")
    q = element(res, "valueQuantity")
    value = num_text(q.get("value"))
    unit, code = quantity_unit(q)
    if not value:
        tally.reject(row, "value", "body weight without a value", name)
        return
    when = _when(res) or (_when(parent) if parent is not None else "")
    issued = _issued_only(res, parent)
    if not when and issued:  # never dated by its release, as a lab result is not
        reason = f"body weight with no effective time: issued {issued[:40]} is when it was reported, not measured"
        tally.reject(row, "effective[x]", reason, value)
        return
    reading.weights.append((row, pid, when, value, unit or code))


#: DiagnosticReport statuses that withdraw the report (the words are the status itself).
_REPORT_REJECT = {"entered-in-error": "entered-in-error", "cancelled": "cancelled"}


def diagnostic_report(row: int, res: Resource, index: Index, reading: Reading, tally: Tally) -> None:
    if _refused(row, res, _REPORT_REJECT, index, tally):
        return
    _contained_subject(row, res, index, reading)
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
            n_records += _lab_records(
                row, c, index, res, reading, cc_text(cc), cc_code(cc, LOINC), standalone=not c.get("component")
            )
    if n_records:
        return  # the row is settled by its lab records (each judged, with its reason)
    if contained_obs:
        tally.reject(row, "contained", "a report none of whose contained results has a numeric value")
        return
    reading.groups.append((row, "result", members))


def judge_labs(name: str, labs: LabRows, rep: FileReport, ctx: Context) -> LabCandidates:
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
        when_reason=arr(labs.when_reason),
        value_reason=arr(labs.value_reason),
        status=arr(labs.status),
        ref_by_sex=_sex_limits(labs.ref_sex),
        columns={
            "patient_id": "subject",
            "collected_at": "effective[x]",
            "analyte": "code",
            "code": "code",
            "value": "value[x]",
            "unit": "valueQuantity.unit",
            "result_status": "status",
        },
        decimal=".",
    )
    return normalise_labs(inp, rep, ISO_ORDER, ctx.options.as_of)


def _sex_limits(texts: list[tuple[str, str, str, str]]) -> np.ndarray | None:
    """The limits per sex of each record as numbers (NaN where none), or None when no
    record has any (H359)."""
    if not any(any(t) for t in texts):
        return None

    def number(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            return math.nan
        return value if math.isfinite(value) else math.nan

    return np.array([[number(t) for t in four] for four in texts], dtype=float)
