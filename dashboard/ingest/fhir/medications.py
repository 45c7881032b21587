"""FHIR medication orders (MedicationRequest, MedicationStatement, and the older
MedicationOrder and MedicationPrescription): one dose record each, from the first dosage
instruction (dose, timing, route, period)."""

from __future__ import annotations

import contextlib
import datetime as dt
import math

from dashboard.ingest.amounts import text_problem
from dashboard.ingest.dose_records import DoseRecord
from dashboard.ingest.fhir.datatypes import (
    RXNORM,
    Resource,
    cc_codes,
    cc_codings,
    cc_text,
    element,
    fhir_date,
    num_text,
    quantity_unit,
    subject_of,
)
from dashboard.ingest.fhir.document import Index
from dashboard.ingest.fhir.reading import Reading
from dashboard.ingest.frequency import disagreeing, parse_frequency
from dashboard.ingest.interop import Tally, amount_in_text, frequency_in_text, is_solid_form, product_strength
from dashboard.ingest.mapping import recognise_drug
from dashboard.ingest.report import FileReport
from dashboard.ingest.routes import parse_route
from dashboard.ingest.sig import unheld_schedule
from dashboard.units import mass_unit, to_mg

MEDICATION_ORDERS = ("MedicationRequest", "MedicationStatement", "MedicationOrder", "MedicationPrescription")


_ORDER_REJECT = {
    "entered-in-error": "entered in error",
    "cancelled": "cancelled before any dose was given",
    "draft": "a draft, never issued",
    "not-taken": "recorded as not taken",
    "nullified": "entered in error",
    # MedicationStatement (DSTU2-R4): "the medication may be taken at some time in the future"
    "intended": "intended for the future (FHIR: 'may be taken at some time in the future'), not a dose in force",
}

#: MedicationRequest intents that authorise no dose (FHIR R4 medicationrequest-intent).
_INTENT_REJECT = {
    "proposal": "is a proposal, not an order",
    # "a component or option for a RequestGroup": one of the choices, not the one chosen
    "option": "is one option of a request group, not an order (which option was chosen is not said)",
}


def medication_order(row: int, res: Resource, index: Index, reading: Reading, tally: Tally, rep: FileReport) -> None:
    rtype = res["resourceType"]
    status = str(res.get("status", "")).lower()
    if status in _ORDER_REJECT:
        tally.reject(row, "status", f"{rtype} {_ORDER_REJECT[status]}", status)
        return
    intent = str(res.get("intent", "")).lower()
    if intent in _INTENT_REJECT:
        tally.reject(row, "intent", f"{rtype} {_INTENT_REJECT[intent]}", intent)
        return
    if str(res.get("taken", "")).lower() == "n":  # STU3 MedicationStatement
        tally.reject(row, "taken", f"{rtype} recorded as not taken", "n")
        return
    if res.get("doNotPerform") is True:
        tally.reject(row, "doNotPerform", f"{rtype} says NOT to give the drug", "doNotPerform")
        return
    unplaced = index.subject_problem(subject_of(res), res)
    if unplaced:
        tally.reject(row, "subject", unplaced)
        return
    text, code, product = _medication(res, index, reading)
    if not text and not code:
        tally.reject(row, "medication", f"{rtype} names no medication (or refers to one not in this file)")
        return
    dosages = res.get("dosageInstruction") or res.get("dosage") or []
    if isinstance(dosages, dict):
        dosages = [dosages]
    dosage = dosages[0] if dosages and isinstance(dosages[0], dict) else {}
    distinct = [d for i, d in enumerate(dosages) if d not in dosages[:i]]
    ingredient = _unit_strength(product, recognise_drug(text, code))
    named = product_strength(text)
    dose, unit, note, problem = _dose(dosage, text, has_strength=bool(named or ingredient))
    if named and ingredient and abs(named[0] - ingredient) > 1e-9 and not problem:
        problem = (
            f"the product name says {named[0]:g} mg a tablet and its Medication's ingredient strength "
            f"{ingredient:g} mg: which one is meant is not guessed"
        )
    if len(distinct) > 1 and not problem:
        # 2 mg in the morning and 1 mg in the evening, or a taper in steps: the daily dose
        # is not one stated amount, and reading the first would understate or misdate it
        problem = (
            f"{len(distinct)} different dosage instructions (e.g. a morning and an evening dose, or a taper): "
            "the daily dose is not one stated amount; enter the dose given as a dose row"
        )
    if "without a unit" in note:
        rep.warn(note, row, "doseQuantity")
    strength_only = False
    if unit == "tablet":
        if named is not None:
            with contextlib.suppress(ValueError):
                dose, unit = f"{float(dose) * named[0]:g}", named[1]
    elif not dose and not problem and named is not None:
        dose, unit, strength_only = f"{named[0]:g}", named[1], True
    freq = _frequency(dosage)
    spread = _frequency_range(dosage)
    doubt = _timing_doubt(element(element(dosage, "timing"), "repeat"))
    if spread:
        rep.warn(
            f"timing gives a range ({spread}): the frequency is left unknown, never one end of the range",
            row,
            "dosageInstruction.timing",
        )
        freq = ""
    elif doubt:
        rep.warn(f"{doubt}: the frequency is left unknown", row, "dosageInstruction.timing")
        freq = ""
    often = _often_in_text(dosage)
    if often:
        freq = often  # "7.5 mg twice weekly" is never read as its "weekly": rejected as in a table
    if not problem:
        problem = _timing_invalid(element(element(dosage, "timing"), "repeat")) or _timing_invalid(
            element(element(dosage, "timingSchedule"), "repeat")
        )
    if not problem:
        problem = _text_contradicts_timing(dosage, freq)
    if freq and parse_frequency(freq) is None and not unheld_schedule(freq)[0]:
        # a schedule the model cannot hold ("2 times a week (Mon, Thu)") is kept: the dose
        # pipeline rejects it with the reason, as it does the same words in a table
        rep.warn(
            f"timing '{freq}' is none of the frequencies the dashboard knows (daily, BID, TID, QID, weekly, "
            "every N days or weeks, monthly): left unknown",
            row,
            "dosageInstruction.timing",
        )
        freq = ""
    route = _route(dosage)
    start, end, asserted = _period(res, dosage)
    start_basis = _start_basis(rtype, res, start, asserted, row, rep)
    repeat = element(element(dosage, "timing"), "repeat")
    if repeat.get("countMax") is not None and num_text(repeat.get("countMax")) != num_text(repeat.get("count")):
        rep.warn(
            f"timing.repeat gives a range of administrations (count {num_text(repeat.get('count')) or '?'} to "
            f"countMax {num_text(repeat.get('countMax'))}): the course's end is not taken from it",
            row,
            "dosageInstruction.timing",
        )
    elif end and start and end == _count_end(start, repeat):
        rep.warn(
            f"timing.repeat.count {num_text(repeat.get('count'))}: the course is read as that many administrations, "
            f"ending before {end[:10]} (never as an ongoing dose)",
            row,
            "dosageInstruction.timing",
        )
    if intent == "plan" and recognise_drug(text, code):
        # FHIR: "an intention to ensure something occurs without providing an authorization
        # for others to act"; systems record home medications so: kept, and said
        rep.warn(
            f"{rtype} intent is 'plan' (an intention, not an order): the dose is read as in force from its "
            "start; check that the drug is being given",
            row,
            "intent",
        )
    start_v, start_err = fhir_date(start)
    end_v, end_err = fhir_date(end) if end else (None, "")
    reading.doses.append(
        DoseRecord(
            row=row,
            patient_id=index.patient_id(subject_of(res), res),
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
            unit_strength_mg=ingredient,
            # judged by the dose pipeline as a table's status column is ("stopped" or
            # "on-hold" without an end is not a dose in force, "unknown" is said)
            status=status,
            start_basis=start_basis,
            columns={
                "patient_id": "subject",
                "drug": "medication",
                "start": "start",
                "end": "end",
                "dose": "dosageInstruction",
                "dose_unit": "dosageInstruction",
                "frequency": "dosageInstruction.timing",
                "route": "dosageInstruction.route",
                "dose_status": "status",
            },
        )
    )


def _medication(res: Resource, index: Index, reading: Reading) -> tuple[str, str, Resource | None]:
    """(name, RxNorm code, the Medication resource it refers to, if any) of the drug of an order."""
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
        name = cc_text(target.get("code")) or str(target.get("name", ""))
    else:
        name = ""
    name = cc_text(cc) or name or display
    codes = [c for s, c in cc_codes(cc) if s.rstrip("/") == RXNORM]
    code = next((c for c in codes if recognise_drug("", c)), codes[0] if codes else "")
    return name, code, target


#: UCUM units of a Ratio's denominator that mean one tablet or capsule (brackets removed).
_UNIT_DOSE_FORMS = {"{tbl}", "{tablet}", "{tablets}", "{capsule}", "{capsules}", "{cap}"}


def _unit_strength(product: Resource | None, drug: str | None) -> float | None:
    """The mg of ``drug`` in one tablet or capsule, as a Medication's ingredient strength states it.

    R4 ``ingredient.strength``, R5 ``ingredient.strengthRatio``, STU3 ``ingredient.amount``
    and DSTU2 ``product.ingredient.amount``: a Ratio of a mass to one tablet or capsule,
    of the one active ingredient (``isActive`` not false) whose item names the ordered
    drug.  None (the tablet strength is then taken from the product name, or unknown)
    for anything else: an excipient's or another drug's strength, more than one such
    strength, a concentration (per mL, or per a unitless count other than 1), a numerator
    with a comparator ("<2.5 mg") or whose unit and code disagree.
    """
    if not isinstance(product, dict) or drug is None:
        return None
    ingredients = product.get("ingredient")
    if ingredients is None and isinstance(product.get("product"), dict):
        ingredients = product["product"].get("ingredient")
    ratios = [
        r
        for ing in (ingredients if isinstance(ingredients, list) else [])
        if isinstance(ing, dict) and ing.get("isActive") is not False and _ingredient_drug(ing) == drug
        for r in [ing.get("strength") or ing.get("strengthRatio") or ing.get("amount")]
        if isinstance(r, dict)
    ]
    if len(ratios) != 1:
        return None
    numerator, denominator = ratios[0].get("numerator"), ratios[0].get("denominator") or {}
    if not isinstance(numerator, dict) or not isinstance(denominator, dict) or numerator.get("comparator"):
        return None
    unit, code = quantity_unit(numerator)
    masses = {m for m in (mass_unit(code) if code else "", mass_unit(unit) if unit else "") if m != ""}
    if len(masses) != 1 or None in masses:  # no mass unit, or a unit and a code that disagree
        return None
    mass = str(masses.pop())
    per = [u for u in quantity_unit(denominator) if u and u != "1"]
    try:
        amount, count = float(str(numerator.get("value"))), float(str(denominator.get("value", 1)))
    except ValueError:
        return None
    if not per:  # "2.5 mg per 1": one of the product's dose form, which must be solid
        if count != 1:
            return None  # "12.5 mg / 5" could be per 5 mL: not guessed
        per = [cc_text(product.get("form")) or "(no form)"]
    if not all(is_solid_form(u) or u.lower() in _UNIT_DOSE_FORMS for u in per):
        return None
    if not (0 < amount < math.inf and 0 < count < math.inf):
        return None
    return to_mg(amount / count, mass)


def _ingredient_drug(ingredient: Resource) -> str | None:
    """The tracked drug an ingredient's item names (R4 ``itemCodeableConcept``, R5
    ``item.concept``, STU3/DSTU2 ``item`` as a reference with a display)."""
    item = ingredient.get("itemCodeableConcept") or ingredient.get("item")
    if isinstance(item, dict) and isinstance(item.get("concept"), dict):
        item = item["concept"]
    if not isinstance(item, dict):
        return None
    text = cc_text(item) or str(item.get("display", ""))
    codes = [c for sys, c in cc_codes(item) if sys.rstrip("/") == RXNORM]
    return recognise_drug(text, codes[0] if codes else "")


def _dose(dosage: Resource, product: str, has_strength: bool) -> tuple[str, str, str, str]:
    """(dose, unit, note, problem) from a Dosage: doseQuantity, doseRange, or text.

    A dose is a number the source states once: a doseRange whose low and high differ
    ("50-150 mg") or dosage text naming a range is a problem (the row is rejected with
    it), never its upper or lower value.
    """
    dr = dosage.get("doseAndRate")
    sources = [d for d in dr if isinstance(d, dict)] if isinstance(dr, list) else []
    stated: dict[tuple[float | str, str], str] = {}
    for s in sources:
        q = s.get("doseQuantity")
        if isinstance(q, dict) and q.get("value") is not None:
            unit = quantity_unit(q)[0] or quantity_unit(q)[1]
            shown = f"{num_text(q.get('value'))} {unit}".strip()
            kind = cc_text(s.get("type"))
            stated.setdefault((_number(q.get("value")), unit), shown + (f" ({kind})" if kind else ""))
    if len(stated) > 1:
        return "", "", "", f"the dosage states different doses ({'; '.join(stated.values())}): enter the one dose given"
    sources.append(dosage)  # STU3/DSTU2 put dose[x] on the Dosage itself
    for s in sources:
        q = s.get("doseQuantity")
        if isinstance(q, dict) and q.get("value") is not None:
            return _amount(q, product, has_strength)
        rng = s.get("doseRange")
        if isinstance(rng, dict):
            high = rng.get("high") if isinstance(rng.get("high"), dict) else None
            low = rng.get("low") if isinstance(rng.get("low"), dict) else None
            lo, hi = num_text((low or {}).get("value")), num_text((high or {}).get("value"))
            if lo and hi and lo == hi:
                return _amount(low or {}, product, has_strength, also=high)
            if lo or hi:
                unit = quantity_unit(high or low or {})[0]
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


def _amount(q: dict, product: str, has_strength: bool, also: dict | None = None) -> tuple[str, str, str, str]:
    """(dose, unit, note, problem) of one dose Quantity (``also``: the other end of a
    doseRange whose ends agree, judged alike)."""
    for part in (q, also or {}):
        problem = _quantity_problem(part)
        if problem:
            return "", "", "", problem
    unit, code = quantity_unit(q)
    unit = unit or code
    value = num_text(q.get("value"))
    if not unit:
        if is_solid_form(product) and has_strength:
            return value, "tablet", "dose given as a number of tablets", ""
        return "", "", f"dose {value} without a unit: not used", ""
    return value, unit, "", ""


def _quantity_problem(q: dict) -> str:
    """Why a dose Quantity is not one amount in one unit ("" when it is).

    A dose is a SimpleQuantity, on which FHIR forbids a comparator (sqty-1): "<= 20 mg" is a
    bound, never the dose.  A unit text and a UCUM code that name different units ("mg"
    beside the code "g": 1 mg or 1 g?) are not settled by taking either: only a text and a
    code that are one mass unit, or neither of them a mass unit ("tablet" and "{tbl}"),
    are read (the unit text then, as before).
    """
    shown = f"{num_text(q.get('value'))} {quantity_unit(q)[0] or quantity_unit(q)[1]}".strip()
    comparator = str(q.get("comparator", "") or "").strip()
    if comparator:
        return (
            f"the dose is given with a comparator ('{comparator} {shown}'): a bound is not a dose; "
            "enter the one dose given"
        )
    unit, code = quantity_unit(q)
    if unit and code and unit != code and mass_unit(unit) != mass_unit(code):
        return (
            f"the dose's unit text '{unit}' and its UCUM code '{code}' name different units: which one is "
            "meant is not guessed; correct the order at the source"
        )
    return ""


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


def _text_contradicts_timing(dosage: Resource, freq: str) -> str:
    """Why a dosage whose text names one frequency ("6 tablets weekly") and whose
    structured timing says another (daily) cannot be read ("" when they agree or one is
    silent): one of them is wrong, and which is not guessed."""
    text = str(dosage.get("text", "")).strip()
    said = frequency_in_text(text) if text else ""
    clash = disagreeing(said, freq)
    if clash is None:
        return ""
    return (
        f"the dosage text ('{text[:60]}') says {clash[0]} but its timing says {clash[1]}: "
        "correct the order at the source"
    )


def _often_in_text(dosage: Resource) -> str:
    """The dosage text (or timing code text) when it states a schedule given more often
    than once a week that the model cannot hold ("twice weekly", "on Mon and Thu",
    "daily except Sunday"), else "": the dose pipeline rejects it with the reason
    (``sig.unheld_schedule``), whatever the structured timing says."""
    code = element(element(dosage, "timing"), "code")
    for text in (str(dosage.get("text", "")).strip(), str(code.get("text", "")).strip()):
        if text and unheld_schedule(text)[1]:
            return text
    return ""


def _frequency(dosage: Resource) -> str:
    """A frequency text the dose pipeline reads, or "" when the dosage has none."""
    if _as_needed(dosage):
        return "as needed"
    timing = element(dosage, "timing")
    repeat = element(timing, "repeat")
    freq = _repeat_frequency(repeat)
    if freq is not None:
        return freq
    code = timing.get("code")
    if isinstance(code, dict):
        for c in cc_codings(code):
            hit = _TIMING_CODES.get(str(c.get("code", "")).upper())
            if hit:
                return hit
        if code.get("text"):
            return frequency_in_text(str(code["text"]))
    schedule = element(dosage, "timingSchedule")
    freq = _repeat_frequency(element(schedule, "repeat"))
    if freq is not None:
        return freq
    text = str(dosage.get("text", ""))
    return frequency_in_text(text) if text else ""


def _as_needed(dosage: Resource) -> bool:
    """Whether a Dosage is taken as needed: ``asNeededBoolean`` true (R5 ``asNeeded``), or a
    reason it is taken for (``asNeededCodeableConcept``, R5 ``asNeededFor``: "the
    precondition for taking the Medication"), whatever its timing says ("daily, as needed
    for a flare" is no regular daily dose)."""
    if dosage.get("asNeededBoolean") is True or dosage.get("asNeeded") is True:
        return True
    return any(bool(dosage.get(key)) for key in ("asNeededCodeableConcept", "asNeededFor"))


def _number(v: object) -> float | str:
    """A number as a float (1 and 1.0 are one number), else its text."""
    try:
        return float(num_text(v))
    except ValueError:
        return num_text(v)


def _frequency_range(dosage: Resource) -> str:
    """The range a timing.repeat gives ("frequency 1 to frequencyMax 2 per 1 d"), or ""."""
    repeat = element(element(dosage, "timing"), "repeat")
    out = []
    for low_key, high_key in (("frequency", "frequencyMax"), ("period", "periodMax")):
        low, high = repeat.get(low_key, 1 if low_key == "frequency" else None), repeat.get(high_key)
        if num_text(high) and _number(high) != _number(low):
            out.append(f"{low_key} {num_text(low) or '?'} to {high_key} {num_text(high)}")
    if not out:
        return ""
    return ", ".join(out) + f" per {num_text(repeat.get('period')) or '?'} {repeat.get('periodUnit', '')}".rstrip()


_PERIOD_DAYS = {"h": 1 / 24, "d": 1.0, "wk": 7.0, "mo": 30.4375, "a": 365.25}


#: timing.repeat.dayOfWeek codes, in week order, as the dose texts write them.
_WEEKDAYS = {"mon": "Mon", "tue": "Tue", "wed": "Wed", "thu": "Thu", "fri": "Fri", "sat": "Sat", "sun": "Sun"}
#: timing.repeat.when codes that name one time of the day (EventTiming); "C", "AC" and
#: "PC" (with, before, after meals) name no count, so they count for nothing here.
_ONE_TIME_A_DAY = {
    *("MORN", "MORN.early", "MORN.late", "NOON", "AFT", "AFT.early", "AFT.late", "EVE", "EVE.early", "EVE.late"),
    *("NIGHT", "PHS", "HS", "WAKE", "CM", "CD", "CV", "ACM", "ACD", "ACV", "PCM", "PCD", "PCV"),
}


def _listed(repeat: Resource, key: str) -> list[str]:
    value = repeat.get(key)
    items = value if isinstance(value, list) else [value] if value not in (None, "") else []
    return list(dict.fromkeys(str(v).strip() for v in items))


def _times_a_day(repeat: Resource) -> int | None:
    """How many times a day ``timeOfDay`` or ``when`` names (08:00 and 20:00: 2), or None
    when neither is given or a ``when`` code names no count ("with meals")."""
    times = _listed(repeat, "timeOfDay")
    if times:
        return len(times)
    when = _listed(repeat, "when")
    if when and all(w.upper() in {c.upper() for c in _ONE_TIME_A_DAY} for w in when):
        return len(when)
    return None


def _period_of(repeat: Resource) -> tuple[float | None, float | None, str]:
    """(frequency, period, periodUnit) as written; a number missing or not a number is None."""

    def number(key: str) -> float | None:
        try:
            v = repeat.get(key)
            return None if v is None else float(v)
        except (TypeError, ValueError):
            return None

    unit = str(repeat.get("periodUnit", repeat.get("periodUnits", repeat.get("units", "")))).lower()
    return number("frequency"), number("period") if repeat.get("period") is not None else number("duration"), unit


#: timing.repeat counts that FHIR types positiveInt (1, 2, ...), and the periods a count
#: is spread over: a period of 0 or less names no schedule (a duration, how long one
#: administration lasts, may be 0).
_POSITIVE_INTS = ("frequency", "frequencyMax", "count", "countMax")
_SPANS = ("period", "periodMax")


def _timing_invalid(repeat: Resource) -> str:
    """Why a ``timing.repeat`` gives no schedule at all ("" when it may): a count that is no
    whole number of at least 1 (FHIR positiveInt: "frequency 0" is not once) or a period of
    0 or less.  Never read as 1: the row is rejected with the reason."""
    bad = []
    for key in _POSITIVE_INTS:
        v = repeat.get(key)
        if v is None:
            continue
        number = _number(v) if not isinstance(v, bool) else str(v)
        if not isinstance(number, float) or not math.isfinite(number) or number < 1 or number != int(number):
            bad.append(f"{key} {num_text(v) or repr(v)} (a whole number of at least 1)")
    for key in _SPANS:
        v = repeat.get(key)
        if v is None:
            continue
        number = _number(v) if not isinstance(v, bool) else str(v)
        if not isinstance(number, float) or not math.isfinite(number) or number <= 0:
            bad.append(f"{key} {num_text(v) or repr(v)} (more than 0)")
    if not bad:
        return ""
    return (
        f"timing.repeat gives {'; '.join(bad)}: no schedule is read from it (never as once); "
        "correct the order at the source"
    )


def _timing_doubt(repeat: Resource) -> str:
    """Why a ``timing.repeat`` whose parts disagree cannot give a frequency ("" when they
    agree): a count per day beside another number of times of the day, days of the week
    beside a period other than a day or a week, a weekday code that is none."""
    if not repeat:
        return ""
    frequency, period, unit = _period_of(repeat)
    per_day = _times_a_day(repeat)
    days = _listed(repeat, "dayOfWeek")
    if per_day is not None and frequency is not None and unit == "d" and period == 1 and frequency != per_day:
        return (
            f"timing says {frequency:g} time(s) a day but names {per_day} times of the day "
            f"({', '.join(_listed(repeat, 'timeOfDay') or _listed(repeat, 'when'))})"
        )
    if not days:
        return ""
    unknown = [d for d in days if d.lower() not in _WEEKDAYS]
    if unknown:
        return f"timing names days of the week that are none ({', '.join(unknown)[:40]})"
    if period is not None and not (period == 1 and unit in ("d", "wk")):
        return f"timing names days of the week ({', '.join(days)}) beside a period of {period:g} {unit}"
    if frequency is not None and (period is None or frequency != int(frequency) or frequency < 1):
        per = f"{period:g} {unit}".strip() if period is not None else "no period"
        return f"timing names days of the week ({', '.join(days)}) beside a frequency of {frequency:g} per {per}"
    if unit == "wk" and frequency is not None and frequency != len(days):
        return f"timing says {frequency:g} time(s) a week but names {len(days)} days of the week ({', '.join(days)})"
    return ""


def _weekday_frequency(repeat: Resource) -> str | None:
    """The frequency of a ``timing.repeat`` with ``dayOfWeek`` (None without it): N days a
    week is N administrations a week (times the count per day).  Once a week is "weekly",
    every day is the daily count; anything else is said as "2 times a week (Mon, Thu)",
    which the model cannot hold, so the dose pipeline rejects it with the reason."""
    days = [d.lower() for d in _listed(repeat, "dayOfWeek")]
    if not days or _timing_doubt(repeat):
        return None
    frequency, _period, unit = _period_of(repeat)
    # a week's frequency is one a day (checked equal to the days); a day's is its frequency,
    # else the times of the day it names, else once
    per_day = 1 if unit == "wk" else int(frequency) if frequency is not None else _times_a_day(repeat) or 1
    total = per_day * len(days)
    if len(days) == 7:
        return {1: "daily", 2: "BID", 3: "TID", 4: "QID"}.get(per_day, f"{per_day} per 1 d")
    if total == 1:
        return "weekly"
    named = ", ".join(_WEEKDAYS[d] for d in _WEEKDAYS if d in days)
    return f"{total} times a week ({named})"


def _repeat_frequency(repeat: Resource) -> str | None:
    """timing.repeat {frequency, period, periodUnit, dayOfWeek, timeOfDay / when} as a
    frequency text; None if absent."""
    if not repeat:
        return None
    if repeat.get("dayOfWeek"):
        return _weekday_frequency(repeat)
    if repeat.get("period") is None and repeat.get("duration") is None:
        return None
    try:
        count = float(repeat.get("frequency", 1) or 1)
        period = float(repeat.get("period", repeat.get("duration", 1)) or 1)
    except (TypeError, ValueError):
        return None
    unit = str(repeat.get("periodUnit", repeat.get("periodUnits", repeat.get("units", "")))).lower()
    if repeat.get("frequency") is None and unit == "d" and period == 1:
        count = float(_times_a_day(repeat) or 1)  # 08:00 and 20:00 each day: twice daily
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


#: SNOMED CT route codes.
_ROUTE_SNOMED = {"26643006": "oral", "34206005": "sc", "47625008": "iv", "78421000": "im"}


def _route(dosage: Resource) -> str:
    route = dosage.get("route")
    if not isinstance(route, dict):
        return ""
    for s, c in cc_codes(route):
        if "snomed" in s and c in _ROUTE_SNOMED:
            return _ROUTE_SNOMED[c]
    text = cc_text(route)
    if text:
        first = text.split()[0] if text.split() else ""
        return parse_route(text) or parse_route(first) or text
    return ""


def _start_basis(rtype: str, res: Resource, start: str, asserted: bool, row: int, rep: FileReport) -> str:
    """What the start read is (``model.START_BASES``), said in the report where it is not
    the day the drug was started (H540).  FHIR R4: a MedicationStatement's ``dateAsserted``
    is "the date when the medication statement was asserted by the information source",
    not when the drug was taken (``effective[x]``); a MedicationRequest's
    ``priorPrescription`` links "an earlier order related order or prescription", so a
    renewal (or change) continues treatment begun under that order, and its dates are
    the renewal's.  Such a dose is kept in force from the date read (its monitoring and
    dose checks need it); no pre-treatment baseline rests on that date."""
    if not start:
        return ""
    day = start[:10]
    if res.get("priorPrescription"):
        rep.warn(
            f"{rtype} continues an earlier order (priorPrescription): its date {day} is when this order was "
            "written, not when the drug was started; the dose is read as in force from then, and no result "
            "before it is taken as the pre-treatment baseline (the start of treatment is not in the file)",
            row,
            "priorPrescription",
        )
        return "renewed"
    if asserted:
        rep.warn(
            f"{rtype} gives no period of use, only dateAsserted {day} (when the statement was recorded, not when "
            "the drug was started): the dose is read as in force from then, and no result before it is taken "
            "as the pre-treatment baseline (the start of treatment is not in the file)",
            row,
            "dateAsserted",
        )
        return "recorded"
    return ""


def _period(res: Resource, dosage: Resource) -> tuple[str, str, bool]:
    """(start, end) date texts of an order or statement, and whether the start is only
    the statement's ``dateAsserted`` (when it was recorded)."""
    start = end = ""
    timing = element(dosage, "timing")
    repeat = element(timing, "repeat")
    bounds = element(repeat, "boundsPeriod")
    start, end = str(bounds.get("start", "")), str(bounds.get("end", ""))
    schedule = element(dosage, "timingSchedule")
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
    asserted = not start and bool(res.get("dateAsserted"))
    start = start or str(res.get("dateAsserted", "") or "")
    end = end or str(res.get("dateEnded", "") or res.get("statusChanged", "") or "")
    if start and not end and isinstance(repeat.get("boundsDuration"), dict):
        end = _plus_duration(start, repeat["boundsDuration"])
    counted = _count_end(start, repeat) if start else ""
    if counted and (not end or counted < _iso_or_self(end)):
        end = counted
    return start, end, asserted


def _iso_or_self(text: str) -> str:
    """A FHIR date text as "YYYY-MM-DDTHH:MM:SS" for comparison (the text itself if unread)."""
    value, err = fhir_date(text)
    return value.strftime("%Y-%m-%dT%H:%M:%S") if value is not None and not err else text


def _count_end(start: str, repeat: Resource) -> str:
    """The end of a course that ``timing.repeat.count`` bounds ("" when it bounds none).

    FHIR R4 Timing.repeat.count is "a total count of the desired number of repetitions
    across the duration of the entire timing specification": a single pulse is
    ``count`` 1, six fortnightly pulses ``count`` 6 with a period of 2 weeks.  The course
    ends ``count / frequency`` periods after its start (the model's end is exclusive: a
    dose that ends on a day was not given that day), so exactly ``count``
    administrations fall inside it.  A ``countMax`` other than ``count`` (a range) and a
    repeat the count cannot be laid out on (days of the week, no period) bound nothing.
    """
    raw = repeat.get("count")
    if raw is None or isinstance(raw, bool) or repeat.get("dayOfWeek"):
        return ""
    try:
        count = float(raw)
        most = float(repeat["countMax"]) if repeat.get("countMax") is not None else count
    except (TypeError, ValueError):
        return ""
    if count < 1 or count != int(count) or most != count:
        return ""
    frequency, period, unit = _period_of(repeat)
    if repeat.get("period") is None or period is None or period <= 0 or unit not in _PERIOD_DAYS:
        return ""
    frequency = frequency if frequency is not None else float(_times_a_day(repeat) or 1) if unit == "d" else 1.0
    if frequency <= 0:
        return ""
    begun, err = fhir_date(start)
    if begun is None or err:
        return ""
    days = math.ceil(count / frequency * period * _PERIOD_DAYS[unit] - 1e-9)
    return (begun + dt.timedelta(days=max(days, 1))).strftime("%Y-%m-%dT%H:%M:%S")


def _plus_duration(start: str, duration: dict) -> str:
    value, s_err = fhir_date(start)
    try:
        amount = float(duration.get("value", ""))  # absent, null or not a number: no end
    except (TypeError, ValueError):
        return ""
    unit = str(duration.get("code", duration.get("unit", ""))).lower()
    days = {"d": 1, "day": 1, "days": 1, "wk": 7, "week": 7, "weeks": 7, "h": 1 / 24}.get(unit)
    if value is None or s_err or days is None:
        return ""
    return (value + dt.timedelta(days=amount * days)).strftime("%Y-%m-%dT%H:%M:%S")
