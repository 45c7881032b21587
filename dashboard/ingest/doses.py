"""Doses and patients: from records of any reader to the canonical tables.

Dose files are small (hundreds to thousands of rows) so this works row by row, which
keeps every rule readable.  Two shapes are understood:

* intervals: a start and (optionally) an end per row; an empty end means ongoing;
* a change log: no end column; each row is the dose from its date until the next row
  of the same patient and drug; a dose of 0 or the word "stop" ends the drug.
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
import re
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa

from dashboard import model
from dashboard.identity import whole_years
from dashboard.ingest.amounts import UNKNOWN, file_decimal, read_number, text_problem
from dashboard.ingest.dates import FAR_FUTURE
from dashboard.ingest.identity import clean_id
from dashboard.ingest.mapping import normalize, recognise_drug
from dashboard.ingest.report import FileReport, Problem
from dashboard.units import MASS_UNITS, to_mg, weight_kg

# --------------------------------------------------------------------------- frequency

_FREQ_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    (
        re.compile(
            r"^(once|one|1)? ?(x )?(daily|a day|per day|day|d|od|qd|q24h|every day|each day|1 ?x ?(daily|d|day|tgl)|1 ?d|1 d|taglich|1 0 0|0 0 1|0 1 0|mane|nocte|qam|qhs|qpm|morning|evening|at night|once a day|once per day|par jour|al giorno)$"
        ),
        "daily",
    ),
    (
        re.compile(
            r"^(bid|bd|b i d|twice daily|twice a day|2 ?x ?(daily|d|day|tgl)|2 d|q12h|every 12 hours|1 0 1|2 times daily|2 times a day|two times daily|twice per day)$"
        ),
        "BID",
    ),
    (
        re.compile(
            r"^(tid|tds|t i d|three times daily|three times a day|3 ?x ?(daily|d|day|tgl)|3 d|q8h|every 8 hours|1 1 1|3 times daily|3 times a day)$"
        ),
        "TID",
    ),
    (
        re.compile(
            r"^(qid|qds|q i d|four times daily|four times a day|4 ?x ?(daily|d|day|tgl)|4 d|q6h|every 6 hours|4 times daily)$"
        ),
        "QID",
    ),
    (
        re.compile(
            r"^(once )?(a |per |every |each )?(week|weekly|wk|w|qw|q1w|qwk|q week|qweek|1 ?x ?(weekly|week|w|wk)|1 wk|1 w|once a week|once per week|wochentlich|1 ?x ?wochentlich|hebdomadaire|par semaine|semanal|settimanale|every 7 days|q7d|q7 days|7 d)$"
        ),
        "weekly",
    ),
    (
        re.compile(
            r"^(single|single dose|once|stat|x1|one dose|one off|once only|one time|1 dose|loading dose|einmalig)$"
        ),
        "single",
    ),
    (
        re.compile(
            r"^(monthly|a month|per month|every month|q1m|qmonth|q month|once a month|once monthly|monatlich|mensuel|mensual|1 ?x ?(month|monthly|mo))$"
        ),
        "monthly",
    ),
    (
        re.compile(
            r"^(fortnightly|every other week|alternate weeks|q2w|q2wk|q2wks|2 weekly|two weekly|every two weeks|every 2 weeks|14 d|q14d|every 14 days)$"
        ),
        "every 2 weeks",
    ),
]
_EVERY_N_WEEKS = re.compile(r"^(?:every|q|alle)\s*(\d+)\s*(?:weeks?|wks?|w|wochen)$")
_EVERY_N_DAYS = re.compile(r"^(?:every|q|alle)\s*(\d+)\s*(?:days?|d|tage)$")
_EVERY_N_HOURS = re.compile(r"^(?:every|q)\s*(\d+)\s*(?:hours?|hrs?|h)$")
_TIMES_PER_DAY = re.compile(r"^(\d+)\s*(?:x|times)?\s*(?:/|per|a|each)?\s*(?:d|day|days|daily)$")
_PER_PERIOD = re.compile(r"^(\d+)\s*/\s*(\d*)\s*(d|wk|w|mo|h)$")

PER_DAY = {"daily": 1.0, "BID": 2.0, "TID": 3.0, "QID": 4.0}


@dataclass(frozen=True)
class Frequency:
    canonical: str  # one of model.FREQUENCIES, with N written ("every 2 weeks")
    per_day: float  # administrations per day (NaN for single/unknown)
    weekly_or_longer: bool = False


def parse_frequency(text: str) -> Frequency | None:
    """Read a frequency ("BID", "once weekly", "q2w", "1 /d", "every 4 weeks").

    Returns ``None`` when the text is not a frequency we can read; "prn" and
    "as directed" give ``Frequency("unknown", nan)``.
    """
    t = normalize(text.replace("/", " / ")).replace(" / ", "/")
    t = re.sub(r"\s+", " ", t).strip()
    if not t:
        return None
    t2 = t.replace("/", " ").strip()
    nan = float("nan")
    if re.search(r"\b(prn|as needed|as required|as directed|taper|tapering|bei bedarf|when required)\b", t2):
        return Frequency("unknown", nan)
    if t2 in ("biweekly", "bi weekly", "semiweekly"):
        return None  # "biweekly" means twice a week to some and every 2 weeks to others
    for pat, canon in _FREQ_PATTERNS:
        if pat.match(t2):
            return _freq(canon)
    m = _EVERY_N_WEEKS.match(t2)
    if m:
        return _freq("weekly" if int(m.group(1)) == 1 else f"every {int(m.group(1))} weeks")
    m = _EVERY_N_DAYS.match(t2)
    if m:
        k = int(m.group(1))
        if k == 1:
            return _freq("daily")
        if k % 7 == 0:
            return _freq("weekly" if k == 7 else f"every {k // 7} weeks")
        return _freq(f"every {k} days")
    m = _EVERY_N_HOURS.match(t2)
    if m:
        h = int(m.group(1))
        if h and 24 % h == 0 and 24 // h in (1, 2, 3, 4):
            return _freq({1: "daily", 2: "BID", 3: "TID", 4: "QID"}[24 // h])
        if h == 48:
            return _freq("every 2 days")
    m = _PER_PERIOD.match(t)
    if m:
        count, span, unit = int(m.group(1)), int(m.group(2) or 1), m.group(3)
        if unit == "d" and span == 1 and count in (1, 2, 3, 4):
            return _freq({1: "daily", 2: "BID", 3: "TID", 4: "QID"}[count])
        if unit in ("wk", "w") and count == 1:
            return _freq("weekly" if span == 1 else f"every {span} weeks")
        if unit == "mo" and count == 1 and span == 1:
            return _freq("monthly")
    m = _TIMES_PER_DAY.match(t2)
    if m and int(m.group(1)) in (1, 2, 3, 4):
        return _freq({1: "daily", 2: "BID", 3: "TID", 4: "QID"}[int(m.group(1))])
    return None


def _freq(canon: str) -> Frequency:
    if canon in PER_DAY:
        return Frequency(canon, PER_DAY[canon])
    if canon == "weekly":
        return Frequency(canon, 1 / 7, True)
    if canon == "monthly":
        return Frequency(canon, 12 / 365.25, True)
    if canon == "single":
        return Frequency(canon, float("nan"))
    m = re.match(r"every (\d+) (weeks|days)", canon)
    if m:
        k = int(m.group(1))
        if m.group(2) == "weeks":
            return Frequency(canon, 1 / (7 * k), True)
        return Frequency(canon, 1 / k, k >= 7)
    return Frequency("unknown", float("nan"))


def frequency_family(canonical: str) -> str:
    """Map "every 2 weeks" to the model's "every N weeks" (for validation)."""
    if re.match(r"every \d+ weeks", canonical):
        return "every N weeks"
    if re.match(r"every \d+ days", canonical):
        return "every N days"
    return canonical


# --------------------------------------------------------------------------- prescription instructions

_NUMBER_WORDS = {
    "one": "1",
    "two": "2",
    "three": "3",
    "four": "4",
    "five": "5",
    "six": "6",
    "seven": "7",
    "eight": "8",
    "nine": "9",
    "ten": "10",
    "half": "0.5",
    "one half": "0.5",
    "one-half": "0.5",
    "1/2": "0.5",
    "½": "0.5",
}
#: one pass over the text, longest words first ("one half" before "one")
_NUMBER_WORD = re.compile(
    "(?<![\\w/])(?:" + "|".join(re.escape(w) for w in sorted(_NUMBER_WORDS, key=len, reverse=True)) + ")(?![\\w/])"
)
_SIG_TOTAL = re.compile(
    r"\(\s*(\d(?:[\d.,]*\d)?)\s*(mg|g|mcg|micrograms?|milligrams?|grams?)\s+total\s*\)", re.IGNORECASE
)
_SIG_AMOUNT = re.compile(
    r"(?<![\d.,/])(\d(?:[\d.,]*\d)?)\s*(mg|g|gm|mcg|micrograms?|milligrams?|grams?|tablets?|tabs?|capsules?|caps?)\b",
    re.IGNORECASE,
)
_SIG_HALVES = re.compile(r"(?<![\d.,/])(\d+)\s+(?:1/2|\u00bd)(?![\d/])")
_PRODUCT = re.compile(r"\d\s*(?:mg|g|mcg)?\s*[x×*]\s*\d")
_WEEKDAYS = r"(?:mon|tues|wednes|thurs|fri|satur|sun)days?"
#: (pattern, canonical frequency) searched in order: the first hit wins.  Rarer and
#: longer schedules come first so that "twice a week" is never read as "a week".
_SIG_FREQUENCIES: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"\b(prn|as needed|as required|when required|as directed|taper\w*)\b"), "prn"),
    (
        re.compile(
            r"\b(twice|2 times|two times|3 times|three times)\s*(a|per|each|every)?\s*weeks?\b|\btwice weekly\b"
        ),
        "",
    ),
    (re.compile(r"\bevery other week\b|\bfortnightly\b|\bq ?2 ?w(ee)?ks?\b"), "every 2 weeks"),
    (re.compile(r"\bevery (\d+) weeks\b"), "every {0} weeks"),
    (re.compile(r"\bevery (\d+) days\b"), "every {0} days"),
    (re.compile(r"\bevery other day\b|\balternate days\b"), "every 2 days"),
    (
        re.compile(
            rf"\b(once weekly|weekly|once a week|once per week|once every week|every week|each week|per week|a week|q ?week|every {_WEEKDAYS}|on {_WEEKDAYS})\b"
        ),
        "weekly",
    ),
    (re.compile(r"\b(monthly|once a month|every month|each month)\b"), "monthly"),
    (
        re.compile(
            r"\b(4 times|four times)\s*(a|per|each)?\s*day\b|\b(4|four) times daily\b|\bqid\b|\bqds\b|\bevery 6 hours\b"
        ),
        "QID",
    ),
    (
        re.compile(
            r"\b(3 times|three times)\s*(a|per|each)?\s*day\b|\b(3|three) times daily\b|\btid\b|\btds\b|\bevery 8 hours\b"
        ),
        "TID",
    ),
    (
        re.compile(
            r"\b(2 times|two times|twice)\s*(a|per|each)?\s*day\b|\b(2|two) times daily\b|\btwice daily\b|\bbid\b|\bbd\b"
            r"|\bevery 12 hours\b|\bmorning and (evening|night|at night|at bedtime)\b"
        ),
        "BID",
    ),
    (
        re.compile(
            r"\b(once daily|daily|once a day|once per day|every day|each day|per day|a day|every (morning|evening|night)"
            r"|at (bedtime|night)|nightly|in the (morning|evening)|qd|od|q24h|qam|qhs|mane|nocte)\b"
        ),
        "daily",
    ),
]


@dataclass(frozen=True)
class Sig:
    """What prescription instructions say plainly (see :func:`read_sig`)."""

    amount: str = ""  # per administration: "100 mg" or "2 tablet"; "" when not said
    frequency: str = ""  # readable by parse_frequency ("daily", "every 2 weeks", "prn"); "" when not said
    conflicting: bool = False  # several amounts that do not agree ("500 mg in the morning and 1 g at night")
    problem: str = ""  # an amount that cannot be read as one dose (a range, a sign, a contradicting separator)
    note: str = ""  # worth telling ("'1,000' read as 1000 (a thousands separator)")


def read_sig(text: str, strength_mg: float | None = None, decimal: str = UNKNOWN) -> Sig:
    """Read prescription instructions ("Take 2 tablets (100 mg total) by mouth daily.").

    The amount per administration comes from the "(N mg total)" an EHR adds, else from
    the one amount the text names.  Several amounts must agree: "1 tablet (50 mg)" of a
    50 mg tablet is 50 mg, but "2.5 mg x 6 tabs (15 mg)" or "500 mg in the morning and
    1 g at night" are ``conflicting``, never resolved by picking one.  Schedules the
    model has no word for ("twice a week") give no frequency, so the row is rejected as
    not understood instead of being read as weekly.
    """
    t = " " + text.lower() + " "
    t = re.sub(r"(\d)\s*\(\s*[a-z ]+\)", r"\1", t)  # "2 (two) times", "every 12 (twelve) hours"
    t = _SIG_HALVES.sub(lambda m: f"{int(m.group(1)) + 0.5:g}", t)  # "1 1/2 tablets"
    t = _NUMBER_WORD.sub(lambda m: _NUMBER_WORDS[m.group(0)], t)
    problem = text_problem(t)  # "50-100 mg", "1 to 2 tablets", "-10 mg", "1.5e2 mg"
    t = re.sub(r"\s+", " ", t.replace("-", " "))

    amount, conflicting, notes = "", False, []

    def number(token: str) -> float | None:
        nonlocal problem
        read = read_number(token, decimal)
        if read.problem and not problem:
            problem = read.problem
        if read.note:
            notes.append(read.note)
        return read.value

    totals = {
        mg
        for v, u in ((number(v), u) for v, u in _SIG_TOTAL.findall(t))
        if v is not None and (mg := to_mg(v, u)) is not None
    }
    found = [(number(v), u) for v, u in _SIG_AMOUNT.findall(t)]
    counts = {v for v, u in found if v is not None and u.lower().startswith(("tab", "cap"))}
    if problem:
        pass
    elif _PRODUCT.search(t) and not totals:
        conflicting = True  # "2 x 500 mg": per tablet or per dose? not guessed
    elif totals:
        conflicting = len(totals) > 1
        total = next(iter(totals))
        if strength_mg is not None and any(abs(c * strength_mg - total) > 1e-6 for c in counts):
            conflicting = True  # "2 tablets (100 mg total)" of a 25 mg tablet: which is true?
        amount = "" if conflicting else f"{total:g} mg"
    else:
        masses = {mg for v, u in found if v is not None and (mg := to_mg(v, u)) is not None}
        if len(masses) > 1 or (not masses and len(counts) > 1):
            conflicting = True
        elif masses:
            mass = next(iter(masses))
            agree = not counts or (strength_mg is not None and all(abs(c * strength_mg - mass) < 1e-6 for c in counts))
            conflicting = not agree
            amount = f"{mass:g} mg" if agree else ""
        elif counts:
            amount = f"{next(iter(counts)):g} tablet"

    frequency = ""
    for pattern, canonical in _SIG_FREQUENCIES:
        hit = pattern.search(t)
        if hit:
            frequency = canonical.format(*(g for g in hit.groups() if g)) if "{0}" in canonical else canonical
            break
    if problem:
        return Sig("", frequency, problem=problem)
    return Sig(amount, frequency, conflicting, note="; ".join(dict.fromkeys(notes)))


# --------------------------------------------------------------------------- dose amounts

_AMOUNT = re.compile(
    r"(?P<num>\d+(?:[.,]\d+)?)\s*(?P<unit>mg/kg|mg/m2|mg/m²|g/m2|g/m²|mg|milligrams?|g|grams?|gm|mcg|ug|µg|μg|micrograms?|iu|units?)?\b",
    re.IGNORECASE,
)
#: Dose units -> (canonical unit, factor): a mass in mg, a dose per kg or per m² in mg/kg, mg/m2.
_UNIT_FACTORS: dict[str, tuple[str, float]] = {
    **{spelling: ("mg", factor) for spelling, (_canon, factor) in MASS_UNITS.items()},
    "mg/kg": ("mg/kg", 1.0),
    "mg/m2": ("mg/m2", 1.0),
    "mg/m²": ("mg/m2", 1.0),
    "g/m2": ("mg/m2", MASS_UNITS["g"][1]),
    "g/m²": ("mg/m2", MASS_UNITS["g"][1]),
}
_COUNT_UNITS = {
    "tab",
    "tabs",
    "tablet",
    "tablets",
    "cap",
    "caps",
    "capsule",
    "capsules",
    "tablet s",
    "{tablet}",
    "{capsule}",
    "pill",
    "pills",
    "tbl",
    "tabl",
    "stk",
    "stuck",
}
_ROUTES = {
    "oral": "oral",
    "po": "oral",
    "p o": "oral",
    "by mouth": "oral",
    "per os": "oral",
    "orally": "oral",
    "tablet": "oral",
    "peroral": "oral",
    "enteral": "oral",
    "ng": "oral",
    "oral tablet": "oral",
    "oral capsule": "oral",
    "sc": "sc",
    "s c": "sc",
    "subcut": "sc",
    "subcutaneous": "sc",
    "sq": "sc",
    "subq": "sc",
    "s q": "sc",
    "subkutan": "sc",
    "iv": "iv",
    "i v": "iv",
    "intravenous": "iv",
    "intravenously": "iv",
    "ivpb": "iv",
    "iv infusion": "iv",
    "infusion": "iv",
    "intravenos": "iv",
    "ivp": "iv",
    "im": "im",
    "i m": "im",
    "intramuscular": "im",
}


def parse_route(text: str) -> str | None:
    t = normalize(text)
    if not t:
        return ""
    return _ROUTES.get(t)


def route_in_text(text: str) -> str:
    t = " " + normalize(text) + " "
    for word, route in (
        ("oral", "oral"),
        (" po ", "oral"),
        ("by mouth", "oral"),
        ("under the skin", "sc"),
        ("subcutaneous", "sc"),
        (" sc ", "sc"),
        ("injection", ""),
        ("intravenous", "iv"),
        (" iv ", "iv"),
        ("intramuscular", "im"),
    ):
        if word in t:
            return route
    return ""


_AMOUNT_UNITS = sorted(
    {*_UNIT_FACTORS, *_COUNT_UNITS, "iu", "unit", "units", "tab(s)", "cap(s)"}, key=len, reverse=True
)
_UNIT_TAIL = re.compile(
    r"(?:^|(?<=[\d\s.,]))(" + "|".join(re.escape(u) for u in _AMOUNT_UNITS) + r")\.?\s*$", re.IGNORECASE
)


@dataclass(frozen=True)
class Amount:
    """A dose amount as read (:func:`read_amount`): value and unit, or the problem."""

    value: float = math.nan
    unit: str = ""
    problem: str = ""
    note: str = ""


def read_amount(text: str, unit_text: str = "", decimal: str = UNKNOWN) -> Amount:
    """ "100 mg" / "1 g" / "0.75 g/m2" / ("2.5", "mg") -> the amount with g/mcg in mg.

    The number is the whole text before the unit, read by :func:`read_number` (a range,
    a sign, an exponent or a doubtful separator is a problem, never part of a number).
    """
    t = text.strip()
    if not t:
        return Amount(problem="no dose given")
    tail = _UNIT_TAIL.search(t)
    number_text, unit = (t[: tail.start()], tail.group(1)) if tail else (t, "")
    unit = (unit or unit_text or "").strip().lower().replace(" ", "")
    read = read_number(number_text, decimal)
    if read.value is None:
        shown = f"dose not understood ('{t[:40]}')" if read.problem.startswith("dose not understood") else read.problem
        return Amount(problem=shown)
    num = read.value
    if unit in _UNIT_FACTORS:
        canon, f = _UNIT_FACTORS[unit]
        return Amount(round(num * f, 6), canon, note=read.note)
    if unit in _COUNT_UNITS or unit.strip("{}") in _COUNT_UNITS or unit in ("tab(s)", "cap(s)"):
        return Amount(num, "tablet", note=read.note)
    return Amount(num, unit, note=read.note)


def parse_amount(text: str, unit_text: str = "", decimal: str = UNKNOWN) -> tuple[float, str] | None:
    """ "100 mg" / "1 g" / "0.75 g/m2" / ("2.5", "mg") -> (amount, unit), None when not one amount."""
    a = read_amount(text, unit_text, decimal)
    return None if a.problem else (a.value, a.unit)


def strength_in_text(text: str) -> tuple[float, str] | None:
    """The product strength in a description ("Methotrexate 2.5 MG Oral Tablet")."""
    m = re.search(r"(\d+(?:\.\d+)?)\s*(MG|G|MCG)\b(?!\s*/\s*ML)", text, re.IGNORECASE)
    if not m:
        return None
    canon, f = _UNIT_FACTORS[m.group(2).lower()]
    return round(float(m.group(1)) * f, 6), canon


# --------------------------------------------------------------------------- records


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
    daily_dose: bool = False  # the dose column is a daily total (header "mg/day")
    dose_problem: str = ""  # why the source's dose is not one stated amount (a FHIR doseRange)
    columns: dict[str, str] = field(default_factory=dict)


@dataclass
class DoseBatch:
    report: FileReport
    records: list[DoseRecord]
    change_log: bool  # no end column: ends come from the next change
    delimiter: str = ""  # of a delimited file: a semicolon file writes decimal commas


def normalise_doses(batch: DoseBatch) -> tuple[pa.Table, list[tuple[int, int]]]:
    """Turn dose records into canonical dose rows.

    Returns the table (with a ``_rec`` column) and, for each record, nothing: verdicts
    are written into ``batch.report`` (problems) and returned as (record index, status)
    pairs for records that were accepted.
    """
    rep = batch.report
    decimal = file_decimal((t for r in batch.records for t in (r.dose, r.frequency)), batch.delimiter)
    out: list[dict] = []
    stops: list[tuple[str, str, dt.datetime, int]] = []
    accepted: list[tuple[int, int]] = []
    from_instructions = 0
    for i, r in enumerate(batch.records):
        col = r.columns.get
        r.patient_id, id_problem, id_note = clean_id(r.patient_id)
        if id_note:
            rep.warn(id_note, r.row, col("patient_id", "patient_id"))
        if not r.patient_id:
            rep.problems.append(Problem(r.row, col("patient_id", "patient_id"), "no patient id", r.drug_text))
            continue
        if id_problem:
            rep.problems.append(Problem(r.row, col("patient_id", "patient_id"), id_problem, r.drug_text[:120]))
            continue
        drug = recognise_drug(r.drug_text, r.drug_code)
        if drug is None:
            rep.problems.append(
                Problem(
                    r.row,
                    col("drug", "drug"),
                    "not one of the tracked drugs (immunosuppressants, glucocorticoids, allopurinol, febuxostat)",
                    r.drug_text[:120],
                )
            )
            continue
        if r.start_error or r.start is None:
            rep.problems.append(
                Problem(r.row, col("start", "start"), r.start_error or "no start date", r.drug_text[:120])
            )
            continue
        if r.end_error and FAR_FUTURE in r.end_error:
            # an end years ahead (2099-12-31, 9999-12-31) is how many systems write "ongoing":
            # within a year of today it changes nothing, so it is read as ongoing and said
            rep.warn(f"end date: {r.end_error}; the dose is read as ongoing", r.row, col("end", "end"))
        elif r.end_error:
            rep.problems.append(Problem(r.row, col("end", "end"), r.end_error, r.drug_text[:120]))
            continue
        if r.end is not None and r.end < r.start:
            rep.problems.append(
                Problem(
                    r.row,
                    col("end", "end"),
                    f"ends ({r.end:%Y-%m-%d}) before it starts ({r.start:%Y-%m-%d})",
                    r.drug_text[:120],
                )
            )
            continue
        is_stop = normalize(r.dose) in (
            "stop",
            "stopped",
            "stopp",
            "discontinued",
            "ceased",
            "off",
            "abgesetzt",
            "arret",
            "0",
            "0 mg",
            "0mg",
        )
        if r.dose_problem:
            rep.problems.append(Problem(r.row, col("dose", "dose"), r.dose_problem, r.dose[:120]))
            continue
        text = _DoseText.of(r, is_stop, decimal)
        if text.problem:
            rep.problems.append(Problem(r.row, col(text.column, text.column), text.problem, text.source[:120]))
            continue
        if text.conflicting:
            rep.problems.append(
                Problem(
                    r.row,
                    col(text.column, text.column),
                    "the instructions name amounts that do not agree: enter the dose per administration "
                    "in a dose column",
                    text.source[:120],
                )
            )
            continue
        dose_text, dose_unit, freq_text = text.dose, text.dose_unit, text.frequency
        from_instructions += text.from_instructions
        read = None if is_stop or not dose_text else read_amount(dose_text, dose_unit, decimal)
        if read is not None and read.problem:
            rep.problems.append(Problem(r.row, col("dose", "dose"), read.problem, dose_text[:120]))
            continue
        amount = (read.value, read.unit) if read is not None else None
        for note in (text.note, read.note if read is not None else ""):
            if note:
                rep.warn(f"dose {note}", r.row, col("dose", "dose"), r.dose[:120])
        if is_stop or (amount is not None and amount[0] == 0):
            if batch.change_log:
                stops.append((r.patient_id, drug, r.start, i))
                accepted.append((i, 0))
                continue
            rep.problems.append(
                Problem(r.row, col("dose", "dose"), "dose is 0: record a stop with an end date instead", r.dose)
            )
            continue
        basis = "strength_only" if r.strength_only else "prescribed"
        dose, unit = amount if amount else (math.nan, "")
        strength = strength_in_text(r.drug_text)
        if amount is None and strength is not None and not dose_text:
            dose, unit = strength
            if not r.strength_only:
                basis = "strength_only"
        if unit == "tablet":
            if strength is None:
                rep.problems.append(
                    Problem(
                        r.row,
                        col("dose", "dose"),
                        "dose given in tablets but the tablet strength is unknown",
                        f"{dose_text} {dose_unit}".strip(),
                    )
                )
                continue
            dose, unit = round(dose * strength[0], 6), strength[1]
        if unit == "" and not math.isnan(dose):
            unit = "mg"
            rep.warn(f"{model.drug_label(drug)}: dose without a unit read as mg", r.row, col("dose", "dose"), r.dose)
        if unit not in ("mg", "mg/kg", "mg/m2", ""):
            rep.problems.append(
                Problem(
                    r.row,
                    col("dose_unit", "dose_unit"),
                    f"dose unit '{unit}' is not mg, g, mcg, mg/kg or mg/m2",
                    r.dose_unit or r.dose,
                )
            )
            continue
        if not math.isnan(dose) and dose < 0:
            rep.problems.append(Problem(r.row, col("dose", "dose"), "dose must be positive", r.dose))
            continue
        freq = parse_frequency(freq_text) if freq_text else None
        if freq_text and freq is None:
            rep.problems.append(
                Problem(
                    r.row, col("frequency", "frequency"), f"frequency not understood ('{freq_text[:40]}')", freq_text
                )
            )
            continue
        if freq is None:
            if r.daily_dose:
                freq = _freq("daily")
            else:
                freq = Frequency("unknown", math.nan)
                if not r.strength_only:
                    rep.warn(
                        f"{model.drug_label(drug)}: no frequency given, so no daily dose is computed (add daily, BID, weekly ...)",
                        r.row,
                        col("frequency", "frequency"),
                    )
        route = parse_route(r.route) if r.route else route_in_text(f"{r.drug_text} {r.dose} {r.frequency}")
        if route is None:
            rep.warn(f"route '{r.route}' not recognised; left empty", r.row, col("route", "route"), r.route)
            route = ""
        mg_day = dose * freq.per_day if unit == "mg" and not math.isnan(freq.per_day) else math.nan
        mg_week = mg_day * 7 if freq.weekly_or_longer and not math.isnan(mg_day) else math.nan
        out.append(
            {
                "patient_id": r.patient_id,
                "drug": drug,
                "start": r.start,
                "end": r.end,
                "dose": dose,
                "dose_unit": unit,
                "frequency": freq.canonical,
                "mg_per_day": round(mg_day, 6) if not math.isnan(mg_day) else math.nan,
                "mg_per_week": round(mg_week, 6) if not math.isnan(mg_week) else math.nan,
                "route": route,
                "dose_basis": basis,
                "source_text": " ".join(x for x in (r.drug_text, r.dose, r.dose_unit, r.frequency, r.route) if x)[:200],
                "source_file": rep.path,
                "source_row": r.row,
                "_rec": i,
            }
        )
        accepted.append((i, 0))
    if from_instructions:
        rep.warn(
            f"dose or frequency of {from_instructions} row(s) read from free-text instructions "
            "(e.g. 'Take 2 tablets by mouth daily'): check them in the dose table"
        )
    if batch.change_log:
        out = _close_change_log(out, stops)
        out, joined = _join_repeats(out)
        if joined:
            rep.warn(
                f"{joined} repeat issue(s) of an unchanged dose joined to the dose before them "
                "(re-prescribing is not a dose change)"
            )
    cols = [f.name for f in model.DOSE_FIELDS] + ["_rec"]
    if not out:
        return model.empty_table("doses").append_column("_rec", pa.array([], pa.int64())), accepted
    table = pa.table({c: [row[c] for row in out] for c in cols})
    table = model.conform("doses", table).append_column("_rec", pa.array([row["_rec"] for row in out], pa.int64()))
    return table, accepted


_PER_BODY = re.compile(r"/\s*(kg|m2|m²)\b", re.IGNORECASE)
_INSTRUCTION_WORDS = re.compile(
    r"\b(take|inject|give|tablets?|tabs?|capsules?|caps?|total|by mouth|times|morning|night|evening)\b", re.IGNORECASE
)


@dataclass(frozen=True)
class _DoseText:
    """The dose, unit and frequency texts of a record, with free-text instructions read."""

    dose: str
    dose_unit: str
    frequency: str
    conflicting: bool = False
    column: str = ""  # the column the instructions came from
    source: str = ""
    from_instructions: int = 0
    problem: str = ""  # an amount that is not one stated dose (a range, a sign ...)
    note: str = ""

    @classmethod
    def of(cls, r: DoseRecord, is_stop: bool, decimal: str = UNKNOWN) -> _DoseText:
        """Instructions in the frequency column ("Take 2 tablets by mouth daily") or in the
        dose column ("2 tablets (100 mg total) twice daily") are read with :func:`read_sig`;
        plain amounts ("100", "1,5 g", "0.75 g/m2") are left to :func:`read_amount`."""
        dose, unit, freq = r.dose, r.dose_unit, r.frequency
        if freq and parse_frequency(freq) is None:
            column, source = "frequency", freq
        elif dose and not is_stop and not _PER_BODY.search(dose):
            column, source = "dose", dose
        else:
            return cls(dose, unit, freq or _freq_in_text(dose))
        strength = strength_in_text(r.drug_text)
        sig = read_sig(source, strength[0] if strength and strength[1] == "mg" else None, decimal)
        amount_here = column == "dose" or not dose  # the instructions are where the dose is read
        if sig.problem and amount_here:
            return cls(dose, unit, freq, column=column, source=source, problem=sig.problem)
        if sig.conflicting and amount_here:
            return cls(dose, unit, freq, conflicting=True, column=column, source=source)
        note = sig.note if amount_here else ""
        if sig.amount and amount_here:
            dose, unit = sig.amount.split(" ", 1)
        if column == "frequency":
            freq = sig.frequency or freq
        elif not freq:
            freq = sig.frequency or _freq_in_text(source)
        wordy = bool(_INSTRUCTION_WORDS.search(source)) or column == "frequency"
        return cls(dose, unit, freq, from_instructions=int(wordy and bool(sig.amount or sig.frequency)), note=note)


def _freq_in_text(text: str) -> str:
    t = normalize(text)
    m = re.search(
        r"\b(once weekly|weekly|daily|once daily|bid|bd|tid|tds|qid|twice daily|every \d+ weeks|q\d+w|fortnightly|monthly)\b",
        t,
    )
    return m.group(1) if m else ""


def _close_change_log(rows: list[dict], stops: list[tuple[str, str, dt.datetime, int]]) -> list[dict]:
    """In a change log, each dose ends where the next change (or stop) of the drug starts."""
    events: dict[tuple[str, str], list[tuple[dt.datetime, int, dict | None]]] = {}
    for row in rows:
        events.setdefault((row["patient_id"], row["drug"]), []).append((row["start"], 1, row))
    for pid, drug, when, _i in stops:
        events.setdefault((pid, drug), []).append((when, 0, None))
    for evs in events.values():
        evs.sort(key=lambda e: (e[0], e[1]))
        for (_t, _k, row), (t_next, _k2, _r2) in itertools.pairwise(evs):
            if row is not None and row["end"] is None and t_next > row["start"]:
                row["end"] = t_next
    return rows


_SAME_DOSE = ("patient_id", "drug", "dose", "dose_unit", "frequency", "route", "dose_basis")


def _join_repeats(rows: list[dict]) -> tuple[list[dict], int]:
    """Join a change log's re-issues of an unchanged dose to the dose before them.

    A repeat prescription every four weeks is listed again at the same dose: that is
    not a dose change, and drawing it as one would put a false "change" mark on the
    timeline every month.  Returns the rows and how many were joined.
    """
    out: list[dict] = []
    joined = 0
    last: dict[tuple[str, str], dict] = {}
    for row in sorted(rows, key=lambda r: (r["patient_id"], r["drug"], r["start"])):
        prev = last.get((row["patient_id"], row["drug"]))
        same = prev is not None and all(
            prev[k] == row[k] or (isinstance(prev[k], float) and math.isnan(prev[k]) and math.isnan(row[k]))
            for k in _SAME_DOSE
        )
        if same and prev["end"] is not None and prev["end"] == row["start"]:
            prev["end"] = row["end"]
            joined += 1
            continue
        out.append(row)
        last[(row["patient_id"], row["drug"])] = row
    return out, joined


# --------------------------------------------------------------------------- patients

_SEX = {
    "f": "F",
    "female": "F",
    "w": "F",
    "weiblich": "F",
    "woman": "F",
    "femme": "F",
    "feminin": "F",
    "mujer": "F",
    "femenino": "F",
    "femmina": "F",
    "2": "F",
    "m": "M",
    "male": "M",
    "mannlich": "M",
    "man": "M",
    "homme": "M",
    "masculin": "M",
    "hombre": "M",
    "masculino": "M",
    "maschio": "M",
    "1": "M",
    "u": "",
    "unknown": "",
    "other": "",
    "x": "",
    "": "",
    "d": "",
    "divers": "",
}
_PHENO = [
    (re.compile(r"\b(possible intermediate|possibly intermediate|possible im|pim)\b"), "possible intermediate"),
    (
        re.compile(r"\b(intermediate|im|heterozygous|heterozygote|reduced|low normal|het|intermediar|intermediaire)\b"),
        "intermediate",
    ),
    (
        re.compile(
            r"\b(poor|pm|deficient|deficiency|absent|homozygous variant|homozygote variant|very low|null|none detected|no activity)\b"
        ),
        "poor",
    ),
    (re.compile(r"\b(normal|nm|wild type|wildtype|wt|homozygous wild|high|normal activity|extensive|em)\b"), "normal"),
    (re.compile(r"\b(not tested|untested|unknown|indeterminate|pending|nt|n a|na)\b"), "unknown"),
]
_GENOTYPE = re.compile(r"\*(\d+[a-z]?)\s*/\s*\*(\d+[a-z]?)", re.IGNORECASE)


def parse_sex(text: str) -> str | None:
    return _SEX.get(normalize(text))


def parse_phenotype(text: str) -> str | None:
    """TPMT/NUDT15 phenotype from text: "Intermediate metaboliser", "*1/*3A", "normal"."""
    raw = text.strip()
    if not raw:
        return "unknown"
    g = _GENOTYPE.search(raw)
    if g:
        alleles = [a.lower() for a in g.groups()]
        normal = [a == "1" for a in alleles]
        if all(normal):
            return "normal"
        if any(normal):
            return "intermediate"
        return "poor"
    t = normalize(raw)
    for pat, pheno in _PHENO:
        if pat.search(t):
            return pheno
    return None


def to_datetime64(values: list[dt.datetime | None]) -> pa.Array:
    return pa.array([np.datetime64(v, "s") if v is not None else None for v in values], pa.timestamp("s"))


@dataclass
class PatientRecord:
    """One patient row as text (dates already parsed), from any reader."""

    row: int
    patient_id: str
    sex: str = ""
    name: str = ""  # as stored: "FAMILY, Given" or the full name as written (dashboard.identity)
    birth_date: dt.datetime | None = None
    birth_error: str = ""
    age: str = ""
    weight: str = ""
    weight_unit: str = "kg"  # as written ("kg", "lb", "[lb_av]", "g"; empty: kg), see units.weight_kg
    weight_date: dt.datetime | None = None
    tpmt: str = ""
    nudt15: str = ""
    diagnosis: str = ""
    columns: dict[str, str] = field(default_factory=dict)


#: The oldest age a birth date may give (the oldest people documented lived to 122).
MAX_AGE_YEARS = 120


def birth_date_problem(birth: dt.datetime | None, today: dt.date | None) -> str:
    """Why a birth date is not plausible on ``today`` ("" when it is, or is unknown)."""
    if birth is None or today is None:
        return ""
    day = birth.date() if isinstance(birth, dt.datetime) else birth
    if day > today:
        return f"birth date {day:%Y-%m-%d} is after today ({today:%Y-%m-%d})"
    age = whole_years(day, today)
    if age > MAX_AGE_YEARS:
        return f"birth date {day:%Y-%m-%d} gives an age of {age} years: not plausible (more than {MAX_AGE_YEARS})"
    return ""


def normalise_patients(
    report: FileReport, records: list[PatientRecord], today: dt.date | None = None
) -> tuple[pa.Table, list[int]]:
    """Turn patient records into canonical patient rows; returns (table, accepted record indexes).

    With ``today`` a birth date after it, or one giving an age over
    :data:`MAX_AGE_YEARS`, rejects the row (MIMIC's shifted birth dates are read without).
    """
    out: list[dict] = []
    accepted: list[int] = []
    for i, r in enumerate(records):
        col = r.columns.get
        r.patient_id, id_problem, id_note = clean_id(r.patient_id)
        if id_note:
            report.warn(id_note, r.row, col("patient_id", "patient_id"))
        if not r.patient_id:
            report.problems.append(Problem(r.row, col("patient_id", "patient_id"), "no patient id", ""))
            continue
        if id_problem:
            report.problems.append(Problem(r.row, col("patient_id", "patient_id"), id_problem, ""))
            continue
        if r.birth_error:
            why = r.birth_error if r.birth_error.startswith("birth date") else f"birth date: {r.birth_error}"
            report.problems.append(Problem(r.row, col("birth_date", "birth_date"), why, ""))
            continue
        implausible = birth_date_problem(r.birth_date, today)
        if implausible:
            report.problems.append(Problem(r.row, col("birth_date", "birth_date"), implausible, ""))
            continue
        sex = parse_sex(r.sex)
        if sex is None:
            report.warn(f"sex '{r.sex}' not recognised; left unknown", r.row, col("sex", "sex"), r.sex)
            sex = ""
        age = math.nan
        if r.age:
            try:
                age = float(r.age.replace(",", ".").split()[0])
            except ValueError:
                report.problems.append(Problem(r.row, col("age", "age"), f"age not understood ('{r.age}')", r.age))
                continue
            if not 0 <= age <= MAX_AGE_YEARS:
                report.problems.append(Problem(r.row, col("age", "age"), f"age {age:g} is not plausible", r.age))
                continue
        weight = math.nan
        if r.weight:
            parsed = _weight_kg(r.weight, r.weight_unit)
            if parsed is None:
                report.problems.append(
                    Problem(r.row, col("weight_kg", "weight"), f"weight not understood ('{r.weight}')", r.weight)
                )
                continue
            weight = parsed
            if not 1 <= weight <= 400:
                report.problems.append(
                    Problem(r.row, col("weight_kg", "weight"), f"weight {weight:g} kg is not plausible", r.weight)
                )
                continue
        phenos = {}
        for gene in ("tpmt", "nudt15"):
            text = getattr(r, gene)
            p = parse_phenotype(text)
            if p is None:
                report.warn(
                    f"{gene.upper()} '{text}' not recognised as a phenotype; recorded as unknown",
                    r.row,
                    col(gene, gene),
                    text,
                )
                p = "unknown"
            phenos[gene] = p
        out.append(
            {
                "patient_id": r.patient_id,
                "name": r.name.strip(),
                "sex": sex,
                "birth_date": r.birth_date,
                "age": age,
                "weight_kg": weight,
                "weight_date": r.weight_date,
                "tpmt": phenos["tpmt"],
                "nudt15": phenos["nudt15"],
                "diagnosis": r.diagnosis.strip(),
                "source_file": report.path,
                "source_row": r.row,
            }
        )
        accepted.append(i)
    if not out:
        return model.empty_table("patients"), accepted
    cols = [f.name for f in model.PATIENT_FIELDS]
    return model.conform(
        "patients", pa.table({c: [row[c] for row in out] for c in cols}, schema=model.schema("patients"))
    ), accepted


def _weight_kg(text: str, unit: str) -> float | None:
    m = re.match(r"^\s*(\d+(?:[.,]\d+)?)\s*(kg|kgs|kilograms?|lb|lbs|pounds?)?\s*$", text.strip(), re.IGNORECASE)
    if not m:
        return None
    return weight_kg(float(m.group(1).replace(",", ".")), m.group(2) or unit or "kg")
