"""A dose is a number the source states once, unambiguously.

Every dose amount read from a file (a dose column, prescription instructions, a FHIR
dose) goes through :func:`read_number` with the file's decimal separator.  A number is
accepted only when it can mean one thing:

* ``100``, ``2.5`` (in a file whose decimals are points), ``2,5`` (in a file whose
  decimals are commas, or in one with no other evidence), ``.5``;
* thousands separators that leave no doubt: ``1,000`` or ``1,000.5`` in a file whose
  decimals are points (or in one with no evidence and not semicolon-separated), and
  ``1.000,5`` in a decimal-comma file; these are read exactly and noted.

Everything else is rejected with the reason, never read as a part of itself (the old
reader took ``"1,000"`` as 1, ``"50-150"`` as 50, ``-100`` as 100 and ``1e3`` as 3):

* a range (``50-150``, ``7.5–10``, ``0.5-1``, ``1 to 2``): which dose was given?
* a sign (``-100``, ``−5``, ``+50``): a dose is a positive amount as written;
* an exponent (``1.5e2``, ``1e3``): no prescriber writes one;
* a decimal separator that contradicts the file's (``2,5`` in a file of ``12.5``), or
  a separator that could be either (``1,000`` or ``1.000`` in a decimal-comma file).

:func:`read_amount` reads a dose with its unit ("100 mg", "1 g", "0.75 g/m2", "2 tablets"):
masses in mg through :mod:`dashboard.units`, a count of tablets as such.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from dashboard.units import MASS_UNITS

#: Dashes and minus signs a file may use (hyphen-minus, en and em dash, minus sign ...).
DASHES = "-\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe63\uff0d"
_DASH = "[" + re.escape(DASHES) + "]"
_RANGE = re.compile(r"^\s*\d[\d.,]*\s*(?:" + _DASH + r"|\bto\b|\bor\b|\bbis\b)\s*\d[\d.,]*\s*$", re.IGNORECASE)
_HALF = re.compile(r"^(?:(\d+)\s+)?(?:1/2|\u00bd)$")
_SIGNED = re.compile(r"^\s*(?:[+]|" + _DASH + r")\s*[\d.,]")
_EXPONENT = re.compile(r"^\s*[\d.,]+[eE][+-]?\d+\s*$")
_PLAIN = re.compile(r"^\d+$")
_POINT = re.compile(r"^(\d*)\.(\d+)$")
_COMMA = re.compile(r"^(\d*),(\d+)$")
_GROUPED_POINT = re.compile(r"^\d{1,3}(?:,\d{3})+(?:\.\d+)?$")  # 1,000 / 1,000,000.5
_GROUPED_COMMA = re.compile(r"^\d{1,3}(?:\.\d{3})+(?:,\d+)?$")  # 1.000 / 1.000.000,5

#: Evidence of the file's decimal separator: a separator followed by anything but
#: exactly three digits (those could be thousands).
_POINT_EVIDENCE = re.compile(r"(?<![\d.,])\d+\.(?:\d{1,2}|\d{4,})(?![\d.,])")
_COMMA_EVIDENCE = re.compile(r"(?<![\d.,])\d+,(?:\d{1,2}|\d{4,})(?![\d.,])")

POINT, COMMA, UNKNOWN = ".", ",", ""


@dataclass(frozen=True)
class Number:
    """A dose number as read: its value, or why it was refused; and a note worth telling."""

    value: float | None
    problem: str = ""
    note: str = ""


def file_decimal(texts: Iterable[str], delimiter: str = "") -> str:
    """The decimal separator a file's dose texts use: "." or ",", "" when nothing shows.

    The separator most of the file's decimals use wins (the others then contradict it);
    a tie, or no evidence at all, follows the file's convention: a semicolon-separated
    file writes decimal commas, a comma-separated one decimal points.
    """
    points = commas = 0
    for t in texts:
        if t:
            points += len(_POINT_EVIDENCE.findall(t))
            commas += len(_COMMA_EVIDENCE.findall(t))
    if points != commas:
        return POINT if points > commas else COMMA
    if points or delimiter == ";":
        return COMMA if delimiter == ";" else POINT
    return UNKNOWN


def read_number(text: str, decimal: str = UNKNOWN) -> Number:
    """Read one dose number ("100", "2.5", "1,000") as stated, or say why it cannot be."""
    t = text.strip().replace("\u00a0", " ").replace("\u202f", " ")
    shown = t[:40]
    if not t:
        return Number(None, "no dose given")
    if why := not_one_amount(t, alone=True):  # "up to 150", "~100", "100?"
        return Number(None, why)
    if _RANGE.match(t):
        return Number(None, f"a range of doses ('{shown}'): enter the one dose given")
    if _SIGNED.match(t):
        return Number(None, f"a signed amount ('{shown}'): a dose is a positive number as written")
    if _EXPONENT.match(t):
        return Number(None, f"a number in exponent form ('{shown}'): write the dose as prescribed")
    if _PLAIN.match(t):
        return Number(float(t))
    half = _HALF.match(t)
    if half:
        return Number(float(half.group(1) or 0) + 0.5)
    point, comma = _POINT.match(t), _COMMA.match(t)
    if point:
        if decimal == COMMA:
            if _thousands(point.group(1), point.group(2)):
                return Number(
                    None, f"'{shown}' could be a decimal or a thousands separator in this file: enter it again"
                )
            return _contradicts(shown, ".", "commas")
        if decimal == UNKNOWN and _thousands(point.group(1), point.group(2)):
            return Number(None, f"'{shown}' could be a decimal or a thousands separator: enter it again")
        return Number(float(t))
    if comma:
        if _thousands(comma.group(1), comma.group(2)):  # "1,000": a thousands separator, or a decimal comma?
            if decimal == COMMA:
                return Number(
                    None, f"'{shown}' could be a decimal or a thousands separator in this file (decimal commas)"
                )
            value = float(t.replace(",", ""))
            return Number(value, note=f"'{shown}' read as {value:g} (a thousands separator)")
        if decimal == POINT:
            return _contradicts(shown, ",", "points")
        return Number(float(t.replace(",", ".")))
    if _GROUPED_POINT.match(t):
        if decimal == COMMA:
            return _contradicts(shown, ".", "commas")
        value = float(t.replace(",", ""))
        return Number(value, note=f"'{shown}' read as {value:g} (a thousands separator)")
    if _GROUPED_COMMA.match(t):
        if decimal != COMMA:
            return Number(None, f"'{shown}' could be a decimal or a thousands separator: enter it again")
        value = float(t.replace(".", "").replace(",", "."))
        return Number(value, note=f"'{shown}' read as {value:g} (a thousands separator)")
    return Number(None, f"dose not understood ('{shown}')")


def amount_text(value: float) -> str:
    """An amount written for reading again ("0.00005", "20000000", "2.5"): every digit of
    the number kept to 12 significant figures (no binary noise: 0.1 + 0.2 is "0.3") and never
    in exponent form, which :func:`read_number` rightly refuses ("5e-05", H499)."""
    text = format(Decimal(f"{value:.12g}"), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def _thousands(whole: str, fraction: str) -> bool:
    """ "1,000" or "12.500": a group of three digits after a leading group of one to three."""
    return len(fraction) == 3 and 1 <= len(whole) <= 3 and not whole.startswith("0")


def _contradicts(shown: str, sep: str, file_sep: str) -> Number:
    return Number(
        None,
        f"the decimal separator of '{shown}' ('{sep}') contradicts the file's (decimal {file_sep}): "
        "enter the dose again",
    )


#: Units a dose amount in free text is written in (mass and counts of tablets).
TEXT_UNITS = r"mg|milligrams?|g|grams?|gm|mcg|micrograms?|ug|\u00b5g|\u03bcg|tablets?|tabs?|tab\(s\)|capsules?|caps?|cap\(s\)|pills?"
_TEXT_NUMBER = r"\d[\d.,]*"
_TEXT_RANGE = re.compile(
    rf"({_TEXT_NUMBER}\s*(?:{TEXT_UNITS})?\s*(?:{_DASH}|\bto\b|\bor\b)\s*{_TEXT_NUMBER}\s*(?:{TEXT_UNITS}))(?![a-z])",
    re.IGNORECASE,
)
_TEXT_SIGNED = re.compile(rf"(?:^|[\s(])((?:{_DASH}|\+){_TEXT_NUMBER}\s*(?:{TEXT_UNITS}))(?![a-z])", re.IGNORECASE)
_TEXT_EXPONENT = re.compile(rf"(\d[\d.]*[eE][+-]?\d+\s*(?:{TEXT_UNITS}))(?![a-z])", re.IGNORECASE)


def _bounds(amount: str) -> tuple[tuple[str, re.Pattern[str]], ...]:
    """A ceiling, a floor, an approximation or a doubt written beside an amount (``amount``,
    a pattern): what kind, and its pattern ("up to 150 mg", "150 mg max", "at least 100 mg",
    "~100 mg", "100 mg?")."""
    return (
        (
            "a ceiling",
            re.compile(
                r"(?:\bup\s*to|\bmax(?:imum|\.)?|\bnot\s+(?:more\s+than|to\s+exceed|exceeding)|\bno\s+more\s+than"
                rf"|\bat\s+most|\bless\s+than|\u2264|<=?)\s*(?:of\s+)?{amount}"
                rf"|{amount}\s*(?:\bmax(?:imum|\b|\.)|\bor\s+less\b|\bat\s+most\b)",
                re.IGNORECASE,
            ),
        ),
        (
            "a floor",
            re.compile(
                rf"(?:\bat\s+least|\bmin(?:imum|\.)?|\bmore\s+than|\u2265|>=?)\s*(?:of\s+)?{amount}"
                rf"|{amount}\s*(?:\bminimum\b|\bor\s+more\b|\bat\s+least\b)",
                re.IGNORECASE,
            ),
        ),
        (
            "an approximate amount",
            re.compile(
                r"(?:~|\u2248|\bapprox(?:imately|\.)?|\babout|\baround|\bcirca|\bca\.?|\bc\.)\s*"
                rf"{amount}|{amount}\s*(?:\bapprox(?:imately|\.)?|\bor\s+so\b)",
                re.IGNORECASE,
            ),
        ),
        ("a doubt", re.compile(rf"\?\s*{amount}|{amount}\s*\?", re.IGNORECASE)),
    )


#: in free text the amount has its unit ("over 30 minutes" is no floor); a number read on
#: its own ("up to 150" beside a unit column) is the whole cell
_IN_TEXT = _bounds(rf"{_TEXT_NUMBER}(?:\s+{_TEXT_NUMBER})?\s*(?:{TEXT_UNITS})(?![a-z])")  # "up to 3 50 mg tablets"
_ALONE = tuple((kind, re.compile(rf"^\s*(?:{p.pattern})\s*$", re.IGNORECASE)) for kind, p in _bounds(_TEXT_NUMBER))


def not_one_amount(text: str, alone: bool = False) -> str:
    """Why an amount written with a ceiling, a floor, an approximation or a question mark
    is not the one dose given ("" when none is written): "up to 150 mg", "max 150 mg",
    "150 mg max", "at least 100 mg", "~100 mg", "100 mg?" (probe30 F6, as "50-100 mg" is
    a range).  ``alone``: the text is one number with no unit ("up to 150")."""
    for kind, pattern in _ALONE if alone else _IN_TEXT:
        if m := pattern.search(text):
            end = tail.end() if (tail := _PER_TAIL.match(text, m.end())) else m.end()
            return (
                f"'{text[m.start() : end].strip()[:40]}' is {kind}, not the one dose given ({_KIND_WHY[kind]}): "
                "enter the dose given"
            )
    return ""


#: what an amount is per, after it: "/kg", "/m2", "/day", "per week" ("~2 mg/kg" is quoted
#: whole, never as "~2 mg", audit8 A4)
_PER_TAIL = re.compile(r"(?:\s*(?:/|\bper\b)\s*(?:kg|m2|m\u00b2|day|d|24\s*h|week|wk|w)(?![a-z\d]))+", re.IGNORECASE)


_KIND_WHY = {
    "a ceiling": "the most that may be given",
    "a floor": "the least that may be given",
    "an approximate amount": "about so much",
    "a doubt": "written with a question mark",
}


def text_problem(text: str) -> str:
    """Why the amounts of free-text instructions cannot be read as one dose ("" when they can):
    a range ("Take 50-100 mg", "1 to 2 tablets"), a sign ("Take -10 mg"), an exponent, or a
    ceiling, a floor, an approximation or a doubt (:func:`not_one_amount`)."""
    if why := not_one_amount(text):
        return why
    m = _TEXT_RANGE.search(text)
    if m:
        return f"a range of doses ('{m.group(1).strip()[:40]}'): enter the one dose given"
    m = _TEXT_SIGNED.search(text)
    if m:
        return f"a signed amount ('{m.group(1).strip()[:40]}'): a dose is a positive number as written"
    m = _TEXT_EXPONENT.search(text)
    if m:
        return f"a number in exponent form ('{m.group(1).strip()[:40]}'): write the dose as prescribed"
    return ""


__all__ = [
    "COMMA",
    "DASHES",
    "POINT",
    "TEXT_UNITS",
    "UNKNOWN",
    "Number",
    "amount_text",
    "file_decimal",
    "not_one_amount",
    "read_number",
    "text_problem",
    "unit_clash",
]


# --------------------------------------------------------------------------- dose amounts with a unit

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

#: A mass per day or per week ("150 mg/day", "15 mg/week"): the total of that period,
#: spelling -> (mg factor, period).  Written without spaces, lower case, as units are
#: compared.  Reconciled with the row's frequency by the dose reader (a total per day
#: beside "BID" cannot tell whether it is the day's or each dose's).
PER_PERIOD_UNITS: dict[str, tuple[float, str]] = {
    f"{mass}{sep}{period}": (factor, canon)
    for mass, (_canon, factor) in MASS_UNITS.items()
    for sep in ("/", "per")
    for period, canon in (
        ("day", "day"),
        ("d", "day"),
        ("24h", "day"),
        ("24hr", "day"),
        ("24hours", "day"),
        ("week", "week"),
        ("wk", "week"),
        ("w", "week"),
    )
}

_AMOUNT_UNITS = sorted(
    {*_UNIT_FACTORS, *_COUNT_UNITS, *PER_PERIOD_UNITS, "iu", "unit", "units", "tab(s)", "cap(s)"},
    key=len,
    reverse=True,
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
    #: "day" or "week" when the amount is the total of that period ("150 mg/day"), else ""
    per: str = ""


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
    if unit in PER_PERIOD_UNITS:
        factor, period = PER_PERIOD_UNITS[unit]
        return Amount(round(num * factor, 6), "mg", note=read.note, per=period)
    if unit in _UNIT_FACTORS:
        canon, f = _UNIT_FACTORS[unit]
        return Amount(round(num * f, 6), canon, note=read.note)
    if unit in _COUNT_UNITS or unit.strip("{}") in _COUNT_UNITS or unit in ("tab(s)", "cap(s)"):
        return Amount(num, "tablet", note=read.note)
    return Amount(num, unit, note=read.note)


_STATED_UNIT = re.compile(
    r"\d\s*("
    + "|".join(re.escape(u) for u in sorted(_UNIT_FACTORS, key=len, reverse=True))
    + r")(?![a-zµμ²\d])(?!\s*/)",
    re.IGNORECASE,
)


def unit_clash(text: str, unit_text: str) -> str:
    """Why a dose that names its unit ("1 mg") cannot be read with the unit column beside
    it ("mcg"): the two disagree and neither is picked ("" when they agree or either is
    silent or not a mass, per-kg or per-m² unit)."""
    column = _UNIT_FACTORS.get(unit_text.strip().lower().replace(" ", ""))
    if column is None:
        return ""
    for m in _STATED_UNIT.finditer(text):
        if _UNIT_FACTORS[m.group(1).lower()] != column:
            return (
                f"the dose '{text.strip()[:40]}' is in {m.group(1)} but the unit column says '{unit_text.strip()}': "
                "enter the dose with one unit"
            )
    return ""


def parse_amount(text: str, unit_text: str = "", decimal: str = UNKNOWN) -> tuple[float, str] | None:
    """ "100 mg" / "1 g" / "0.75 g/m2" / ("2.5", "mg") -> (amount, unit), None when not one amount."""
    a = read_amount(text, unit_text, decimal)
    return None if a.problem else (a.value, a.unit)


def strength_in_text(text: str) -> tuple[float, str] | None:
    """The product strength in a description ("Methotrexate 2.5 MG Oral Tablet").

    An amount per something ("2mg/kg", "750mg/m2", "200mg/day", "5 mg/5 mL", "25 mg per mL")
    is a dose or a concentration, never the strength of one tablet."""
    m = re.search(r"(?<![\d.,/])(\d+(?:\.\d+)?)\s*(MG|G|MCG)\b(?!\s*(?:/|per\b))", text, re.IGNORECASE)
    if not m:
        return None
    canon, f = _UNIT_FACTORS[m.group(2).lower()]
    return round(float(m.group(1)) * f, 6), canon
