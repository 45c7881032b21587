"""Dose frequencies: "BID", "once weekly", "q2w", "1-0-1", "alle 2 Wochen" to the model's words.

:func:`parse_frequency` reads a frequency as a prescriber, a pharmacy system or a
spreadsheet writes it (English, German, French, Spanish, Italian) into one of
``model.FREQUENCIES`` with its administrations per day.  A text that could mean two
schedules ("biweekly") is not read.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from dashboard import model
from dashboard.ingest.mapping import normalize

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
_EVERY_N_WEEKS = re.compile(
    r"^(?:every|q|alle|toutes les|tous les|cada|ogni)\s*(\d+)\s*(?:weeks?|wks?|w|wochen|semaines|semanas|settimane)$"
)
#: the UK's "4-weekly" (every 4 weeks) and "3-monthly" (every 3 months: no schedule the
#: model holds, so not read: never the "weekly" or "monthly" inside it, H432)
_N_WEEKLY = re.compile(r"^(\d+)\s*weekly$")
_EVERY_SPAN = re.compile(r"^(?:every|q)\s*(\d+)\s*/\s*(52|12)$")
_N_MONTHLY = re.compile(r"^(\d+)\s*monthly$")
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
    m = _EVERY_SPAN.match(re.sub(r"\s+", " ", text.strip().lower().rstrip(".")))  # "every 4/52", "every 1/12"
    if m and int(m.group(1)) > 0:
        n, unit = int(m.group(1)), m.group(2)
        if unit == "12":
            return _freq("monthly") if n == 1 else None  # every N months: no schedule held (N > 1)
        return _freq("weekly" if n == 1 else f"every {n} weeks")
    m = _N_WEEKLY.match(t2)
    if m and int(m.group(1)) > 0:
        return _freq("weekly" if int(m.group(1)) == 1 else f"every {int(m.group(1))} weeks")
    m = _N_MONTHLY.match(t2)
    if m:
        return _freq("monthly") if int(m.group(1)) == 1 else None
    m = _EVERY_N_WEEKS.match(t2)
    if m:
        if int(m.group(1)) == 0:
            return None  # "every 0 weeks": no schedule (its row is rejected, never the file: probe28 F5)
        return _freq("weekly" if int(m.group(1)) == 1 else f"every {int(m.group(1))} weeks")
    m = _EVERY_N_DAYS.match(t2)
    if m:
        k = int(m.group(1))
        if k == 0:
            return None
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


def more_often_than_weekly(canonical: str) -> bool:
    """A canonical frequency given more often than once a week ("daily", "BID", "every 2 days")."""
    return _freq(canonical).per_day > 1 / 7 + 1e-9


def weekly_or_less_often(canonical: str) -> bool:
    """A canonical frequency once a week or more spaced ("weekly", "every 7 days", "every 2 weeks")."""
    return _freq(canonical).per_day <= 1 / 7 + 1e-9


def less_often_than_weekly(canonical: str) -> bool:
    """A canonical frequency spaced more than a week apart ("every 2 weeks", "every 10 days", "monthly")."""
    return _freq(canonical).per_day < 1 / 7 - 1e-9


#: Frequencies given as pulses (besides an intravenous route and "every N weeks").
PULSE_FREQUENCIES = ("monthly", "single")


def is_pulse(frequency: str, route: str) -> bool:
    """Whether a dose row is given as pulses (its monitoring follows a pulse schedule, and
    it is never added to another row): intravenous, monthly, single, or every N weeks."""
    return route == "iv" or frequency in PULSE_FREQUENCIES or (frequency.startswith("every ") and "weeks" in frequency)


@cache
def schedule_kind(drug: str, frequency: str, route: str) -> str:
    """ "pulse", "weekly" or "daily": which rows of a drug can be added up (the dose
    checks' totals, ``rules/dose_totals.py``, and the import's notes of doses in force
    together).  A frequency once a week or more spaced is weekly; an unknown frequency of
    a weekly drug (methotrexate) is weekly too (the drug's schedule); anything else is
    daily."""
    if is_pulse(frequency, route):
        return "pulse"
    if frequency in ("", "unknown"):
        info = model.drug_info().get(drug)
        return "weekly" if info is not None and info.weekly else "daily"
    return "weekly" if weekly_or_less_often(frequency) else "daily"


def disagreeing(one: str, other: str) -> tuple[str, str] | None:
    """The canonical frequencies of two texts that name different schedules ("15 mg weekly"
    beside a "daily" column), or ``None`` when they agree, either names none, or either is
    "as needed"/"as directed" (no schedule: it contradicts nothing)."""
    a, b = (parse_frequency(x) if x else None for x in (one, other))
    if a is None or b is None or "unknown" in (a.canonical, b.canonical) or a.canonical == b.canonical:
        return None
    return a.canonical, b.canonical


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
