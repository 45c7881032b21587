"""Prescription instructions (a "Sig"): "Take 2 tablets (100 mg total) by mouth daily".

:func:`read_sig` reads the amount per administration and the frequency an instruction
states plainly; amounts that do not agree, or schedules the model has no word for, are
said, never resolved by picking one.
"""

from __future__ import annotations

import datetime as dt
import functools
import itertools
import re
from dataclasses import dataclass, field

from dashboard import knowledge
from dashboard.ingest.amounts import UNKNOWN, amount_text, read_number, text_problem
from dashboard.ingest.frequency import PER_DAY
from dashboard.units import to_mg

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
#: an amount per administration; a mass per volume, per weight or per area ("25 mg/ml",
#: "2 mg/kg") or the first of a slashed pair ("500mg/250mg") is not one
_SIG_AMOUNT = re.compile(
    r"(?<![\d.,/])(\d(?:[\d.,]*\d)?)\s*(mg|g|gm|mcg|micrograms?|milligrams?|grams?|tablets?|tabs?|capsules?|caps?)\b"
    r"(?!\s*/\s*(?:(?:ml|l|kg|m2|\d)\b|m²))",
    re.IGNORECASE,
)
_MASS = r"(?:mg|g|gm|mcg|micrograms?|milligrams?|grams?)"
#: a dose per kg of body weight or per m² of body surface area: "1.5 mg/kg", "750mg/m2"
_PER_BODY_AMOUNT = re.compile(rf"(?<![\d.,/])(\d(?:[\d.,]*\d)?)\s*({_MASS})\s*/\s*(kg|m2|m²)(?![\w²])")
#: the same, per day or per week too ("2 mg/kg/day"): a total of a period, not one dose
_PER_BODY_PERIOD = re.compile(r"\s*(?:/|per\b|a\b)\s*(?:day|d|24\s*h|week|wk|w)\b")
#: an amount in a stated volume, the content of a prefilled syringe or an ampoule given
#: whole: "20mg/0.4ml" (a concentration, "25 mg/ml", names no volume)
_IN_VOLUME = re.compile(
    rf"(?<![\d.,/])(\d(?:[\d.,]*\d)?)\s*({_MASS})\s*/\s*(\d(?:[\d.,]*\d)?)\s*(ml|mls|millilitres?|milliliters?)\b"
)
#: any volume: beside an amount in a volume, the volume given ("inject 1ml") is another amount
_VOLUME = re.compile(r"(?<![\d.,/])\d(?:[\d.,]*\d)?\s*(?:ml|mls|millilitres?|milliliters?)\b")
_CONCENTRATION = re.compile(r"\d(?:[\d.,]*\d)?\s*(?:mg|g|mcg|micrograms?|milligrams?)\s*/\s*m?l\b", re.IGNORECASE)
_SLASHED_PAIR = re.compile(r"\d\s*(?:mg|g|mcg)?\s*/\s*\d[\d.,]*\s*(?:mg|g|mcg)\b", re.IGNORECASE)
_SIG_HALVES = re.compile(r"(?<![\d.,/])(\d+)\s+(?:1/2|\u00bd)(?![\d/])")
_PRODUCT = re.compile(r"\d\s*(?:mg|g|mcg)?\s*(?:tablets?|tabs?|capsules?|caps?)?\s*[x×*]\s*\d")
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
    # "4-weekly" is every 4 weeks (a schedule in months other than monthly, "6-monthly", is
    # never read: :func:`unheld_interval` rejects it, H434)
    (re.compile(r"(?<![x×*] )(?<![x×*])\b([2-9]|[1-9]\d) weekly\b"), "every {0} weeks"),  # not "x 6 weekly"
    (re.compile(r"\bevery other week\b|\bfortnightly\b|\bq ?2 ?w(ee)?ks?\b"), "every 2 weeks"),
    (re.compile(r"\bevery (\d+) weeks\b"), "every {0} weeks"),
    (re.compile(r"\bevery (\d+) days\b"), "every {0} days"),
    (re.compile(r"\bevery other day\b|\balternate days\b"), "every 2 days"),
    (re.compile(r"\b7 days (a|per|each|every|in a) week\b|\b7\s*/\s*7\b"), "daily"),  # every day of the week
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


_DAY_NAMES = {
    "mon": "monday",
    "tue": "tuesday",
    "wed": "wednesday",
    "thu": "thursday",
    "fri": "friday",
    "sat": "saturday",
    "sun": "sunday",
}
#: a weekday written in full or cut short ("Mon", "Tues", "Thurs", "Wednesdays")
_WEEKDAY = re.compile(r"\b(mon|tue|wed|thu|fri|sat|sun)(?:day|s|sday|nesday|r|rs|rsday|urday)?s?\b")
#: N administrations a week: "3x weekly", "3 x a week", "3 times per week", "twice weekly"
_TIMES_A_WEEK = re.compile(
    r"\b(?:(\d+)\s*(?:(?:x|times)\s*(?:a|per|each|every|/|in a)?|a|per|/)|(twice)\s*(?:a|per|each|every|in a)?)"
    r"\s*(?:weeks?|weekly|wk)\b"
)
#: N days a week: "2 days a week", "5 days per week", "5/7" (days a week, the British shorthand)
_DAYS_A_WEEK = re.compile(r"\b(\d+)\s*days?\s*(?:a|per|each|every|/|in a|of the)\s*week\b|\b([1-6])\s*/\s*7\b")
#: a schedule that leaves days out: "daily except Sunday", "weekdays only", "not at weekends"
_EXCEPT_DAYS = re.compile(r"\b(except|excluding|apart from|not on|not at|skip\w*)\b|\bweekdays?\b|\bweekends?\b")
#: a course of a stated length: "daily for 5 days", "x 2 weeks"
_COURSE = re.compile(r"\b(?:for|x)\s*(\d+)\s*(days?|weeks?|months?)\b")


#: a range of intervals ("1-2 weekly", "2 to 4 weeks"): which one is not guessed
_INTERVAL_RANGE = re.compile(
    r"\b\d+\s*(?:-|to|or)\s*\d+\s*-?\s*(?:weekly|wkly|monthly)\b"
    r"|\b(?:every|q)\s*\d+\s*(?:-|to|or)\s*\d+\s*(?:weeks?|wks?|months?)\b"
)  # (a course's length, "for 4-6 weeks", is not an interval: its end date settles it)
#: a schedule in months other than monthly ("6-monthly", "bi-monthly", "twice a month",
#: "every 3 months", "q6m"): no schedule the model holds
_MONTHS = re.compile(
    r"\b(?:[2-9]|\d{2,})\s*-?\s*monthly\b|\bbi\s*-?\s*monthly\b"
    r"|\b(?:twice|2 times|two times|3 times|three times)\s*(?:a|per|each)?\s*month(?:ly)?\b"
    r"|\bevery\s*(?:[2-9]|\d{2,})\s*months?\b|\bq\s*(?:[2-9]|\d{2,})\s*m(?:onths?)?\b"
)
#: a row that changes schedule within it: a loading phase ("weeks 0, 2, 4 then 4-weekly"),
#: "day 1 and 15"
_PHASES = re.compile(r"\bweeks?\s*\d+\s*(?:,|and|&)\s*\d+|\bdays?\s*\d+\s*(?:,|and|&)\s*(?:day\s*)?\d+")
#: the named days of a course: "on days 1 and 15", "day 1 and day 15", "days 1, 15 and 29"
_NAMED_DAYS = re.compile(r"(?:\bon\s+)?\bdays?\s*(\d+(?:\s*(?:,|and|&|, and)\s*(?:day\s*)?\d+)+)\b")
#: the days between doses of a frequency with a fixed interval
_INTERVAL_DAYS = {"daily": 1, "weekly": 7}
#: two schedules named together, to alternate or to choose between: "od/bd alternate days",
#: "OD or BD", "bd/tds", "daily/twice daily", "weekly alternating with fortnightly" (probe30 F7)
_SCHEDULE_WORD = (
    r"(?:once daily|twice daily|od|bd|bid|tds|tid|qds|qid|qd|mane|nocte|daily|once|twice|weekly|fortnightly|monthly)"
)
_TWO_SCHEDULES = re.compile(
    rf"\b({_SCHEDULE_WORD})\s*(?:/|\bor\b|\balternat\w*\s+with\b|\balternat\w*\s+(?:and|&))\s*({_SCHEDULE_WORD})\b"
)
#: a course of a number of doses: "every 2 weeks x 6", "fortnightly x2"
_DOSES_COURSE = re.compile(
    r"\b(?:weekly|weeks?|daily|monthly|fortnightly|days?)\s*[x×]\s*(\d+)(?![\d.,])"
    r"(?!\s*(?:mg|g|mcg|micrograms?|tabs?|tablets?|caps?|capsules?)\b)"
)  # (not "x 6 tablets", "x 2.5 mg": amounts)


#: a number of tablets of a strength: "6 x 2.5 mg tablets"
_COUNT_OF_STRENGTH = re.compile(
    r"(?<![\d.,])(\d+)\s*[x×*]\s*(\d(?:[\d.,]*\d)?)\s*(mg|g|mcg)\s*(?:tablets?|tabs?|capsules?|caps?)\b"
)


def _tablets_of_the_total(t: str, found: list, number) -> float | None:
    """The dose in mg where the instructions give it twice, as an amount and as the tablets
    it is made of, and the two agree: "15 mg (6 x 2.5 mg tablets)" is 15 mg (probe28 F8).
    None when there is no such pair, or when any other amount is named (never guessed)."""
    m = _COUNT_OF_STRENGTH.search(t)
    if not m:
        return None
    count, strength = number(m.group(1)), number(m.group(2))
    each = to_mg(strength, m.group(3)) if strength is not None else None
    if count is None or each is None:
        return None
    masses = {mg for v, u in found if v is not None and (mg := to_mg(v, u)) is not None}
    total = count * each
    others = masses - {each}
    if len(others) == 1 and abs(next(iter(others)) - total) < 1e-9:
        return total
    return None


# --------------------------------------------------------------------------- doses at times of day

#: the times of day a dose is given at, each a slot of the day: "in the morning", "mane",
#: "at lunchtime", "at night", "nocte"
_TIME_SLOTS = {
    "morning": r"mornings?|mane|breakfast",
    "midday": r"midday|noon|lunch\s*time|lunch",
    "afternoon": r"afternoons?",
    "evening": r"evenings?|tea\s*time|supper",
    "night": r"nights?|nightly|bedtime|nocte",
}
_TIME_OF_DAY = re.compile("|".join(rf"(?P<{slot}>\b(?:{words})\b)" for slot, words in _TIME_SLOTS.items()))
#: the times of a day in a list: "morning and night", "mane, midday and nocte"
_TIME_JOIN = re.compile(r"^\s*(?:,\s*(?:and\s+|&\s*)?|and\s+|&\s*|\+\s*)(?:(?:in|at|the|every|each|with)\s+)*$")
#: a choice of times ("in the morning or at night", "mane/nocte"): once a day, at either
_TIME_CHOICE = re.compile(r"^\s*(?:or|/)\s*(?:(?:in|at|the|every|each|with)\s+)*$")
#: an amount given at a time of day, just before it: "2 in the morning", "100 mg at night"
_AMOUNT_AT_TIME = re.compile(
    r"(?<![\d.,/])(\d+(?:\.\d+)?)\s*(mg|g|gm|mcg|micrograms?|milligrams?|grams?|tablets?|tabs?|capsules?|caps?)?\s*"
    r"(?:(?:in|at|every|each|with|before|after|the|on)\s+)*$"
)
#: the frequency of the same dose at so many distinct times of day
_TIMES_A_DAY = {2: "BID", 3: "TID", 4: "QID"}


def _times_of_day(t: str, shown: str) -> tuple[str, str]:
    """(frequency, why not) of instructions that name two or more times of day ("take 2 in
    the morning and 2 at night", "at night and in the morning"): the same amount at each of
    k distinct times is k doses a day (BID, TID, QID), the one schedule the model holds for
    it; anything else (different amounts, an amount at one time and not at another, times
    that are not one list, another schedule beside them) is said, never read as one dose
    once a day (audit8 A1).  ("", "") when fewer than two times of day are named, or the
    times are a choice ("in the morning or at night": once a day)."""
    mentions = list(_TIME_OF_DAY.finditer(t))
    slots = list(dict.fromkeys(m.lastgroup or "" for m in mentions))
    if len(slots) < 2:
        return "", ""
    gaps = [t[a.end() : b.start()] for a, b in itertools.pairwise(mentions)]
    if any(_TIME_CHOICE.match(g) for g in gaps):
        return "", ""
    at = [_AMOUNT_AT_TIME.search(t[: m.start()]) for m in mentions]
    given = [(a, m) for a, m in zip(at, mentions, strict=True) if a]
    times = ", ".join(slots)
    freq = _TIMES_A_DAY.get(len(slots), "")
    if len(given) > 1:
        listed = ", ".join(f"'{t[a.start() : m.end()].strip()}'" for a, m in given)
        amounts = {_amount_key(a.group(1), a.group(2) or "") for a, _ in given}
        if len(amounts) > 1 or not len(given) == len(mentions) == len(slots) or not freq:
            return "", (
                f"'{shown}' names doses at {len(slots)} times of day ({listed}): one row holds one dose on one "
                "schedule, and they are not read as one dose once a day; enter each time's dose in its own row"
            )
    elif not all(_TIME_JOIN.match(g) for g in gaps) or (given and at[0] is None) or not freq:
        return "", (
            f"'{shown}' names {len(slots)} times of day ({times}) not given as one dose at each: which dose is given "
            "when is not guessed, and it is not read as one dose once a day; enter each time's dose in its own row"
        )
    rest = t
    for m in mentions:
        rest = rest.replace(m.group(0), " ")
    other = _schedule_named(rest)
    if other not in (None, freq) and not (other == "daily" and not re.search(r"\bonce\b", rest)):
        return "", (
            f"'{shown}' names {len(slots)} times of day ({times}) and another schedule ('{other or 'not held'}'): "
            "which is given is not guessed"
        )
    return freq, ""


def _amount_key(value: str, unit: str) -> tuple[str, float | None]:
    """An amount given at a time of day, to compare with the others: a count of tablets
    (with or without the word) as a count, a mass in mg ("1 g" and "1000 mg" are one)."""
    if not unit or unit.lower().startswith(("tab", "cap")):
        return "tablet", float(value)
    return "mg", to_mg(float(value), unit)


# --------------------------------------------------------------------------- a count of tablets with no unit

#: a number with no unit of its own ("take 6", "SIX 2.5mg tablets", "4 daily")
_BARE_NUMBER = re.compile(r"(?<![\w.,/×*:~<>?%-])(\d+(?:\.\d+)?)(?![\w.,/%])")
#: what follows a number that is not a count of tablets: its unit, a multiplier, a span of
#: time ("every 12 hours", "30 minutes before"), a hyphen ("4-weekly", H432) or a decimal
_NOT_A_COUNT_AFTER = re.compile(
    r"\s*(?:(?:mg|g|gm|mcg|micrograms?|milligrams?|grams?|ml|mls|l|tablets?|tabs?|capsules?|caps?|units?|iu|drops?"
    r"|puffs?|sachets?|times?|x|days?|weeks?|wks?|months?|hours?|hrs?|h|hourly|minutes?|mins?|years?|doses?|am|pm)\b"
    r"|[×*/:(\-\u2013])"
)
#: the word before a number that makes it part of a schedule, a date or a day of a course
_NOT_A_COUNT_BEFORE = frozenset(
    {"every", "q", "for", "day", "days", "week", "weeks", "month", "months", "x", "×", "or", "to", "of"}
    | {"dose", "doses", "then", "from", "since", "until", "on", "at", "by", "after", "before", "over", "cycle"}
)
_VERBS = frozenset({"take", "swallow", "give", "chew", "dissolve"})
#: the strength of one tablet, after a count: "6 2.5mg tablets", "two 500 mg tablets"
_STRENGTH_AFTER = re.compile(r"\s*\d(?:[\d.,]*\d)?\s*(?:mg|g|mcg)\s*(?:tablets?|tabs?|capsules?|caps?)\b")
#: the strength of one tablet anywhere: "2.5 mg tablets"
_TABLET_STRENGTH = re.compile(r"(?<![\d.,/])(\d(?:[\d.,]*\d)?)\s*(mg|g|mcg)\s*(?:tablets?|tabs?|capsules?|caps?)\b")
#: a schedule after a count: "4 daily", "6 once weekly", "2 in the morning"
_SCHEDULE_AFTER = re.compile(
    r"\s*(?:once|twice|daily|a day|per day|each day|every|bd|bid|tds|tid|qds|qid|od|qd|mane|nocte|at night"
    r"|at bedtime|in the (?:morning|evening)|weekly|a week|per week|each week|monthly|a month"
    r"|on (?:mon|tue|wed|thu|fri|sat|sun)\w*)\b"
)
#: "6 weekly" with a space: six tablets once a week, or the British "6-weekly" (every 6 weeks)?
_N_WEEKLY_AFTER = re.compile(r" (weekly|monthly)\b")


@dataclass(frozen=True)
class _Count:
    """A count of tablets written with no unit: the number as written, its value, and
    whether it could mean two things (the reason, "" when it cannot)."""

    text: str
    value: float
    doubt: str = ""


def _bare_counts(t: str, tablets_named: bool) -> list[_Count]:
    """The counts of tablets that instructions write with no unit (probe30 F1): a number
    after "take" ("2.5 mg tablets, take 6 once weekly"), before the strength of a tablet
    ("Take SIX 2.5mg tablets") or before a schedule ("50 mg tablets, 4 daily").  Numbers of a
    schedule, a time or a date ("every 12 hours", "30 minutes before", "days 1 and 15") are
    not counts.  A count before "weekly" or "monthly" where tablets are named, or after
    "take", could be the British "6-weekly": it carries its doubt, never read as either."""
    found: list[_Count] = []
    for m in _BARE_NUMBER.finditer(t):
        before = re.search(r"([a-z×&]+)\W*$", t[: m.start()])
        word = before.group(1) if before else ""
        rest = t[m.end() :]
        shown = m.group(1)
        ranged = re.match(r"\s*(?:to|or|-|\u2013)\s*\d", rest) or re.search(
            r"\d\s*(?:to|or|-|\u2013)\s*$", t[: m.start()]
        )
        after_verb = word in _VERBS
        if ranged and (after_verb or _SCHEDULE_AFTER.match(rest[ranged.end() :].lstrip("0123456789. "))):
            end = re.match(r"\s*(?:to|or|-|\u2013)\s*\d+(?:\.\d+)?", rest)
            what = f"{shown}{end.group(0)}" if end else shown
            found.append(
                _Count(shown, float(shown), f"a range of tablet counts ('{what.strip()}'): enter the one dose given")
            )
            continue
        if ranged or _NOT_A_COUNT_AFTER.match(rest) or (word in _NOT_A_COUNT_BEFORE and not after_verb):
            continue
        if not (after_verb or _STRENGTH_AFTER.match(rest) or _SCHEDULE_AFTER.match(rest)):
            continue
        n = float(shown)
        weekly = _N_WEEKLY_AFTER.match(rest)
        if weekly and n >= 2 and not (after_verb or tablets_named):
            continue  # "1000 mg 6 weekly": every 6 weeks (H432)
        doubt = ""
        if weekly and n >= 2:
            span = "weeks" if weekly.group(1) == "weekly" else "months"
            doubt = (
                f"'{shown} {weekly.group(1)}' is {shown} tablets once a {span[:-1]}, or one tablet every {shown} {span} "
                f"(the British '{shown}-{weekly.group(1)}')? Not guessed: write '{shown} tablets once {weekly.group(1)}' "
                f"or 'every {shown} {span}'"
            )
        elif n * 2 != int(n * 2):
            doubt = f"'{shown}' has no unit: {shown} tablets, or {shown} mg? Not guessed: write the unit"
        found.append(_Count(shown, n, doubt))
    return found


@functools.cache
def max_bare_tablet_count() -> float:
    """The most tablets a bare number in the instructions is read as (``dosing.toml``
    [bare_tablet_count], a project bound with its reasoning there, audit8 A2)."""
    return knowledge.dosing_number("bare_tablet_count.max")


def _tablets_or_mg(shown: str, written: str, n: float, each: float, whose: str) -> str:
    """Why a count with no unit beside a tablet of ``each`` mg is not read ("" when it can
    be): ``n`` mg is itself a whole or half number of tablets ("take 5 daily" of a 5 mg
    tablet: 5 tablets, 25 mg, or 5 mg, one tablet?) and the two readings differ (audit8 A2)."""
    tablets = n / each
    if abs(each - 1) < 1e-9 or abs(tablets * 2 - round(tablets * 2)) > 1e-9 or tablets < 0.5:
        return ""
    return (
        f"'{shown}' names '{written}' with no unit beside {whose} {each:g} mg tablet: {written} tablets "
        f"({amount_text(n * each)} mg), or {written} mg ({amount_text(tablets)} tablet"
        f"{'' if tablets == 1 else 's'})? Not guessed: enter the dose per administration in mg in a dose column"
    )


def _the_stated_total(
    shown: str,
    written: str,
    n: float,
    masses: set[float],
    strengths: set[float],
    totals: set[float],
    strength_mg: float | None,
) -> tuple[float | None, str]:
    """(the amount in mg, why not) that instructions state beside a count with no unit and one
    strength of a tablet (the text's, or the product's when the text names none): the count
    times the strength makes exactly that amount ("take 8 once a week (20mg)" of 2.5 mg
    tablets is 8 x 2.5 = 20 mg, said twice, audit8 A3), or the two are said not to agree.
    (None, "") when the strength is not one, or the amounts beside the count are not one."""
    each = strengths if strengths else ({strength_mg} if strength_mg is not None else set())
    others = masses - each
    if len(each) != 1 or len(others) != 1:
        return None, ""
    tablet, stated = next(iter(each)), next(iter(others))
    if strength_mg is not None and abs(strength_mg - tablet) > 1e-9:
        return None, (
            f"'{shown}' names tablets of {tablet:g} mg but the product's tablet is {strength_mg:g} mg: which is given "
            "is not guessed; enter the dose per administration in mg in a dose column"
        )
    made = round(n * tablet, 6)
    if abs(made - stated) > 1e-6 or any(abs(x - stated) > 1e-6 for x in totals):
        return None, (
            f"'{shown}': {written} tablets of {tablet:g} mg are {made:g} mg, not the {stated:g} mg stated: "
            "which is given is not guessed"
        )
    return stated, ""


def _counted_dose(
    text: str, t: str, counts: list[_Count], found: list, totals: set[float], strength_mg: float | None, number
) -> tuple[str, str, str]:
    """(amount, problem, why it conflicts) of instructions that write a count of tablets
    with no unit: the count times the strength of one tablet, where the one strength the
    text (or the product) names is the only amount, or agrees with the total stated; else
    rejected with the reason, never the strength alone as the dose (probe30 F1)."""
    shown = " ".join(text.split())[:80]
    doubt = next((c.doubt for c in counts if c.doubt), "")
    if doubt:
        return "", f"'{shown}': {doubt}", ""
    values = sorted({c.value for c in counts})
    if len(values) > 1:
        named = ", ".join(f"'{c.text}'" for c in counts)
        return (
            "",
            "",
            f"'{shown}' names {len(values)} tablet counts ({named}): one row holds one dose; enter each in its own row",
        )
    n, written = values[0], counts[0].text
    if n > max_bare_tablet_count():  # "take 400 twice daily": 400 tablets is no dose (audit8 A2)
        return (
            "",
            f"'{shown}': '{written}' with no unit is no plausible number of tablets to take at once (more than "
            f"{max_bare_tablet_count():g}): an amount in mg written without its unit? Not guessed: enter the dose "
            "per administration in mg in a dose column",
            "",
        )
    strengths = {
        mg for v, u in _TABLET_STRENGTH.findall(t) if (x := number(v)) is not None and (mg := to_mg(x, u)) is not None
    }
    masses = {mg for v, u in found if v is not None and (mg := to_mg(v, u)) is not None} - totals
    with_unit = {v for v, u in found if v is not None and u.lower().startswith(("tab", "cap"))}
    if with_unit and with_unit != {n}:
        return (
            "",
            "",
            f"'{shown}' names '{written}' and a number of tablets that does not agree: which is given is not guessed",
        )
    if not masses and totals:  # "Take 6 once weekly (15 mg total)"
        total = next(iter(totals))
        if len(totals) > 1 or (strength_mg is not None and abs(n * strength_mg - total) > 1e-6):
            return (
                "",
                "",
                f"'{shown}': {written} tablets and the total stated do not agree: which is given is not guessed",
            )
        return f"{amount_text(total)} mg", "", ""
    if not masses:  # the count alone: tablets of the product's strength, or of none stated
        whose = _tablets_or_mg(shown, written, n, strength_mg, "the product's") if strength_mg else ""
        return "", "", whose
    made, why = _the_stated_total(shown, written, n, masses, strengths, totals, strength_mg)
    if made is not None or why:  # "take 8 once a week (20mg)" of 2.5 mg tablets: 20 mg (audit8 A3)
        return (f"{amount_text(made)} mg" if made is not None else ""), "", why
    if len(masses) == 1 and masses == strengths:
        each = next(iter(masses))
        if strength_mg is not None and abs(strength_mg - each) > 1e-9:
            return (
                "",
                "",
                (
                    f"'{shown}' names tablets of {each:g} mg but the product's tablet is {strength_mg:g} mg: which is given "
                    "is not guessed; enter the dose per administration in mg in a dose column"
                ),
            )
    else:
        amount = ", ".join(f"{m:g} mg" for m in sorted(masses))
        return (
            "",
            "",
            (
                f"'{shown}' names '{written}' with no unit beside {amount}: {written} tablets of {amount}, or {amount} "
                f"{written} times? The dose per administration is not guessed: enter it in mg in a dose column"
            ),
        )
    if why := _tablets_or_mg(shown, written, n, each, "the"):  # "5 mg tablets, take 5 daily"
        return "", "", why
    dose = round(n * each, 6)
    if totals and totals != {dose}:
        stated = ", ".join(f"{x:g} mg" for x in sorted(totals))
        return (
            "",
            "",
            f"'{shown}': {written} tablets of {each:g} mg are {dose:g} mg, not the {stated} stated: not guessed",
        )
    return f"{amount_text(dose)} mg", "", ""


def unheld_interval(text: str) -> str:
    """Why an instruction's schedule can never be held by one row, end date or not (""
    when it can): a range of intervals, a schedule in months other than monthly, or a
    change of schedule within the row (probe27 F1-F5, H434).  Never read as the nearest
    schedule ("weekly" of "1-2 weekly", "monthly" of "6-monthly")."""
    t = " " + re.sub(r"\([^)]*\)", " ", text.lower()) + " "  # a remark in brackets ("(bloods every 2-3 months)")
    t = _NUMBER_WORD.sub(lambda m: _NUMBER_WORDS[m.group(0)], t)
    t = re.sub(r"\s+", " ", t)
    shown = text.strip()[:40]
    if m := _INTERVAL_RANGE.search(t):
        return f"'{shown}' gives a range of intervals ('{m.group(0).strip()}'): which one is not guessed"
    if _MONTHS.search(t):
        return f"'{shown}' is a schedule in months other than monthly, which no schedule here holds"
    if (two := _TWO_SCHEDULES.search(t)) and two.group(1) != two.group(2):
        return (
            f"'{shown}' names two schedules ('{two.group(0).strip()}'), to alternate or to choose between: "
            "one row holds one dose on one schedule, and which is given when is not guessed"
        )
    if _PHASES.search(t) or _changes_schedule(t):
        return f"'{shown}' changes schedule within one row (a loading phase, or given on named days of a course)"
    return ""


def named_days(text: str) -> tuple[list[int], str] | None:
    """The days of a course the instructions name ("1 g on days 1 and 15": [1, 15]) and the
    instructions without them ("1 g"), where the named days are all that keeps one row from
    holding the schedule (:func:`unheld_interval` has nothing else to say of the rest); else
    None.  Whether a frequency and the row's dates hold exactly those days is
    :func:`days_held`'s to say (probe28 F6)."""
    t = re.sub(r"\s+", " ", text.lower())
    found = list(_NAMED_DAYS.finditer(t))
    if len(found) != 1:
        return None
    m = found[0]
    rest = (t[: m.start()] + " " + t[m.end() :]).strip(" ,;")
    if unheld_interval(rest):
        return None
    return [int(d) for d in re.findall(r"\d+", m.group(1))], rest


def interval_days(canonical: str) -> int | None:
    """The days between two doses of a canonical frequency with a fixed whole-day interval
    ("every 2 weeks": 14), None for the others (BID, monthly, single, unknown)."""
    if canonical in _INTERVAL_DAYS:
        return _INTERVAL_DAYS[canonical]
    m = re.fullmatch(r"every (\d+) (weeks|days)", canonical)
    if not m:
        return None
    return int(m.group(1)) * (7 if m.group(2) == "weeks" else 1)


def days_held(days: list[int], interval: int | None, start: dt.datetime, end: dt.datetime | None) -> bool:
    """Whether a row from ``start`` to ``end`` at a fixed interval gives exactly the named
    days of a course: day 1 is the start, the days are evenly spaced at the interval, and
    the end falls after the last named day and no later than the next dose (the row is not
    in force on its end day, ``model.in_force``)."""
    if interval is None or end is None or len(days) < 2 or days[0] != 1:
        return False
    if any(b - a != interval for a, b in itertools.pairwise(days)):
        return False
    last = start + dt.timedelta(days=days[-1] - 1)
    return last < end <= last + dt.timedelta(days=interval)


def _schedule_named(text: str) -> str | None:
    """The first schedule a piece of instructions names, as a canonical frequency ("" for
    one the model has no word for, "twice a week"); None when it names none."""
    for pattern, canonical in _SIG_FREQUENCIES:
        if hit := pattern.search(text):
            return canonical.format(*(g for g in hit.groups() if g)) if "{0}" in canonical else canonical
    return None


def _changes_schedule(t: str) -> bool:
    """The instructions change after a "then": a number follows it ("2 tablets then 1 daily",
    "40 mg daily then 20 mg daily", "then reduce by 5 mg weekly"), or it names another schedule
    than the one before it ("weekly for 6 weeks then monthly").  A "then" between the steps of
    one dose ("allow to reach room temperature, then inject once weekly"), before the same
    schedule again ("... take when remembered then continue once weekly") or before "taper as
    directed" (read as no fixed schedule) is not a change (probe28 F2)."""
    parts = re.split(r"\bthen\b", t, maxsplit=1)
    if len(parts) < 2:
        return False
    if re.search(r"\d", parts[1]):  # a new amount or interval after it: "2 tablets then 1 daily"
        return True
    before, after = _schedule_named(parts[0]), _schedule_named(parts[1])
    return before is not None and after is not None and before != after and "prn" not in (before, after)


#: British shorthand for a span: "4/52" four weeks, "6/12" six months ("every 4/52" is
#: read by ``frequency.parse_frequency``; "5/7" is left to ``unheld_schedule``)
_SPAN = re.compile(r"^\s*(\d+)\s*/\s*(52|12)\s*$")
_SPAN_UNIT = {"52": "weeks", "12": "months"}
#: "every 6/12": every six months
_EVERY_MONTHS_SPAN = re.compile(r"^\s*(?:every|q)\s*((?:[2-9]|\d{2,}))\s*/\s*12\s*\.?\s*$")  # (every 1/12: monthly)


def unreadable_frequency(text: str) -> str:
    """Why a frequency text that is read as no schedule is not, where more can be said than
    "not understood" ("" otherwise): the British span shorthand ("4/52" is four weeks: every
    four weeks, or for four weeks?), or the schedules no row can hold (:func:`unheld_interval`,
    :func:`unheld_schedule`) (H434)."""
    if m := _EVERY_MONTHS_SPAN.match(text.lower()):
        return f"'{text.strip()}' is every {m.group(1)} months, a schedule in months other than monthly, which no schedule here holds"
    if m := _SPAN.match(text.lower()):
        n, unit = m.group(1), _SPAN_UNIT[m.group(2)].removesuffix("s" if m.group(1) == "1" else "")
        return (
            f"'{text.strip()}' is the British shorthand for {n} {unit}: every {n} {unit}, or for {n} {unit}, "
            f"is not guessed; write 'every {n} {unit}' (with an end date for a course)"
        )
    return unheld_interval(text) or unheld_schedule(text)[0]


def unheld_schedule(text: str) -> tuple[str, bool]:
    """Why the schedule an instruction states cannot be held by the model's frequencies
    ("" when it can), and whether it is given more often than once a week.

    "3x weekly", "2 days a week", "weekly on Mon and Thu" and "every Monday and Thursday"
    are given several times a week: never once weekly.  "daily except Sunday" and
    "Mon-Fri" are not every day; "daily for 5 days" is a course with an end, not an
    ongoing dose.  None is read as the nearest schedule the model has: the row says why.
    """
    t = " " + text.lower() + " "
    t = _NUMBER_WORD.sub(lambda m: _NUMBER_WORDS[m.group(0)], t)
    t = re.sub(r"\s+", " ", t)
    shown = text.strip()[:40]
    m = _TIMES_A_WEEK.search(t)
    if m and m.group(1) != "1":
        n = m.group(1) or "2"
        return f"'{shown}' is {n} times a week, which is not once weekly", True
    m = _DAYS_A_WEEK.search(t)
    if m:
        n = m.group(1) or m.group(2)
        if n in ("1", "7"):
            return "", False  # once weekly, or daily: the schedules say so ("a week", "daily")
        return f"'{shown}' is {n} days a week, which is neither daily nor once weekly", True
    days = [day for day in _DAY_NAMES.values() if day[:3] in set(_WEEKDAY.findall(t))]
    if re.search(rf"{_WEEKDAY.pattern}\s*(?:-|to|till|until|through)\s*{_WEEKDAY.pattern}", t):
        return f"'{shown}' names a span of weekdays, which is neither daily nor once weekly", True
    if len(days) > 1:
        return f"'{shown}' names {len(days)} days of the week ({', '.join(days)}): more often than once weekly", True
    if _EXCEPT_DAYS.search(t) and (days or re.search(r"\b(daily|every day|each day|a day|week\w*)\b", t)):
        return f"'{shown}' leaves out some days of the week, which is not daily", True
    m = _COURSE.search(t)
    if m:
        return f"'{shown}' is a course of {m.group(1)} {m.group(2)}, not an ongoing dose: give its end date", False
    m = _DOSES_COURSE.search(t)
    if m:
        return f"'{shown}' is a course of {m.group(1)} doses, not an ongoing dose: give its end date", False
    return "", False


@dataclass(frozen=True)
class Sig:
    """What prescription instructions say plainly (see :func:`read_sig`)."""

    amount: str = ""  # per administration: "100 mg" or "2 tablet"; "" when not said
    frequency: str = ""  # readable by parse_frequency ("daily", "every 2 weeks", "prn"); "" when not said
    conflicting: bool = False  # several amounts that do not agree ("500 mg in the morning and 1 g at night")
    problem: str = ""  # an amount that cannot be read as one dose (a range, a sign, a contradicting separator)
    note: str = ""  # worth telling ("'1,000' read as 1000 (a thousands separator)")
    # a schedule the model cannot hold ("3x weekly", "daily except Sunday"): why, and whether
    # it is given more often than once a week (not part of equality: what is read is compared)
    unheld: str = field(default="", compare=False)
    often: bool = field(default=False, compare=False)
    #: the schedule can never be held by one row, end date or not (:func:`unheld_interval`)
    never: bool = field(default=False, compare=False)
    #: why the amounts are ``conflicting``, in words, where more can be said than that they
    #: disagree ("2.5mg x 6": tablets, or times?); "" otherwise
    why: str = field(default="", compare=False)
    #: a count of tablets written with no unit ("take 6 once weekly"), as written; "" when none
    count: str = field(default="", compare=False)


def _per_body_or_volume(
    text: str, t: str, counts: set[float], totals: set[float], number
) -> tuple[str, str, str, str] | None:
    """(amount, problem, why it conflicts, note) of instructions that state the dose per kg,
    per m² or as the content of a syringe ("take 1.5 mg/kg daily", "750mg/m2 monthly",
    "20mg/0.4ml weekly"), read as stated, as a dose column reads it; None when they state
    none.  Beside another amount, a count or another volume ("50mg/2ml, inject 1ml") which
    one is the dose is not guessed: the row says why (H497)."""
    body = list(_PER_BODY_AMOUNT.finditer(t))
    held = list(_IN_VOLUME.finditer(t))
    if not (body or held):
        return None
    shown = " ".join(text.split())[:80]
    named = [m.group(0).strip() for m in sorted(body + held, key=lambda m: m.start())]
    rest = t
    for m in body + held:
        rest = rest.replace(m.group(0), " ")
    masses = [(number(v), u) for v, u in _SIG_AMOUNT.findall(rest)]  # the others: "50mg/2ml" is not "50 mg"
    if held and not body and masses and totals == set():
        whole = number(held[0].group(1))
        each = to_mg(whole, held[0].group(2)) if whole is not None else None
        if each is not None and all(v is not None and to_mg(v, u) == each for v, u in masses):
            masses = []  # "Inject 20 mg (20mg/0.4ml) weekly": the same amount, said twice
    others = (
        [f"{v:g} {u}" if v is not None else u for v, u in masses]
        + [m.group(0).strip() for m in _VOLUME.finditer(rest)]
        + ([f"{next(iter(totals)):g} mg total"] if totals else [])
    )
    if len(named) > 1 or others or counts or _PRODUCT.search(t):
        beside = ", ".join(f"'{x}'" for x in named[1:] + others) or "a multiplier"
        return (
            "",
            "",
            f"'{shown}' names '{named[0]}' beside {beside}: which is the dose per administration is not guessed; "
            "enter it once in a dose column",
            "",
        )
    if body:
        m = body[0]
        if period := _PER_BODY_PERIOD.match(t, m.end()):
            return (
                "",
                f"'{shown}' states a total ('{m.group(0).strip()}{period.group(0).strip()}'), not the dose per "
                "administration: "
                "enter the dose given each time and its frequency",
                "",
                "",
            )
        value = number(m.group(1))
        mg = to_mg(value, m.group(2)) if value is not None else None
        if mg is None:
            return "", "", "", ""  # the number's own problem is said by read_sig
        return f"{amount_text(mg)} mg/{'kg' if m.group(3) == 'kg' else 'm2'}", "", "", ""
    m = held[0]
    value = number(m.group(1))
    mg = to_mg(value, m.group(2)) if value is not None else None
    if mg is None:
        return "", "", "", ""
    return (
        f"{amount_text(mg)} mg",
        "",
        "",
        f"'{m.group(0).strip()}' read as {amount_text(mg)} mg, the amount in {m.group(3)} {m.group(4)} "
        "(a syringe or ampoule given whole): check it",
    )


#: an approximate amount per kg or per m² ("(~2 mg/kg)", "approx 2.5 mg/kg/day"): beside a dose
#: stated in full, the dose's equivalent per body weight, a remark and not the dose (audit8 A4)
_APPROX_PER_BODY = re.compile(
    r"\(?\s*(?:~|\u2248|\bapprox(?:imately|\.)?|\babout|\baround|\bcirca|\bca\.?|\bc\.)\s*"
    rf"\d(?:[\d.,]*\d)?\s*{_MASS}\s*/\s*(?:kg|m2|m\u00b2)(?![\w\u00b2])(?:{_PER_BODY_PERIOD.pattern})?\s*\)?"
)


def _approximate_remarks(t: str) -> tuple[str, str]:
    """(the instructions without them, the note) of approximate amounts per kg or per m² written
    beside a dose stated in full: "100 mg daily (~2 mg/kg)" is 100 mg daily, "~2 mg/kg" a
    remark on it (its equivalent per body weight, about so much), never the dose and never a
    reason to reject the dose (audit8 A4).  Where no other amount is named ("~2 mg/kg daily")
    the instructions are returned as they are: an approximate dose, rejected as one."""
    found = list(_APPROX_PER_BODY.finditer(t))
    if not found:
        return t, ""
    rest = _APPROX_PER_BODY.sub(" ", t)
    if not _SIG_AMOUNT.search(rest) or _PER_BODY_AMOUNT.search(rest) or text_problem(rest):
        return t, ""
    named = ", ".join(f"'{m.group(0).strip(' ()')}'" for m in found)
    return rest, f"{named} read as a remark on the dose (about so much per body weight), not the dose"


#: a ceiling of a period written beside a dose: "max 400 mg/day", "(not to exceed 25 mg a week)"
_CEILING_OF_A_PERIOD = re.compile(
    r"[,;(]?\s*(?:\bup\s*to|\bmax(?:imum|\.)?|\bnot\s+(?:more\s+than|to\s+exceed|exceeding)|\bno\s+more\s+than"
    rf"|\bat\s+most)\s*(?:of\s+)?(\d(?:[\d.,]*\d)?)\s*({_MASS})\s*(?:/\s*|\bper\s+|\ba\s+|\bin\s+(?:a|one|1)\s+)?"
    r"(day|d|24\s*h(?:ours?)?|daily|week|wk|weekly)\b\s*\)?"
)


@dataclass(frozen=True)
class _Ceiling:
    shown: str  # as written ("max 400 mg/day")
    mg: float
    days: int  # the period it is per: 1 (a day) or 7 (a week)


def _ceiling_beside_a_dose(t: str, number) -> tuple[str, _Ceiling | None]:
    """(the instructions without it, the ceiling) of one ceiling per day or per week written
    beside a dose ("200 mg bd, max 400 mg/day"); the text as it is, and None, where there is
    none, more than one, or nothing else names an amount ("max 400 mg/day" alone is no dose).
    Whether the dose is the ceiling's own total is settled once its frequency is read
    (:func:`_settle_ceiling`)."""
    found = list(_CEILING_OF_A_PERIOD.finditer(t))
    if len(found) != 1:
        return t, None
    m = found[0]
    rest = t[: m.start()] + " " + t[m.end() :]
    if not _SIG_AMOUNT.search(rest) or _PER_BODY_AMOUNT.search(rest) or text_problem(rest):
        return t, None
    value = number(m.group(1))
    mg = to_mg(value, m.group(2)) if value is not None else None
    if mg is None:
        return t, None
    days = 7 if m.group(3).startswith("w") else 1
    return rest, _Ceiling(" ".join(m.group(0).strip(" ,;()").split()), mg, days)


def _settle_ceiling(cap: _Ceiling, amount: str, frequency: str) -> tuple[str, str]:
    """(note, problem) of a ceiling written beside a dose: where the dose given at its
    frequency comes to the ceiling exactly ("200 mg bd, max 400 mg/day") the ceiling only
    restates the dose, which is read; below it the dose may be raised up to the ceiling,
    above it the row contradicts itself: the dose given is then not one number, and the
    row is rejected with the reason, never read at either amount."""
    per_day = PER_DAY.get(frequency) if frequency != "weekly" else 1 / 7
    if not amount.endswith(" mg") or per_day is None:
        return "", (
            f"'{cap.shown}' is a ceiling, not the one dose given (the most that may be given), and the dose beside it "
            "cannot be compared with it: enter the dose given"
        )
    each = float(amount[:-3])
    if frequency == "weekly" and cap.days == 1:
        total, period = each, "day"  # one weekly dose, on its day
    else:
        total, period = each * per_day * cap.days, "day" if cap.days == 1 else "week"
    dose, per = f"{amount_text(each)} mg {frequency}", f"{amount_text(total)} mg a {period}"
    if abs(total - cap.mg) <= 1e-6 * cap.mg:
        return f"'{cap.shown}' read as a ceiling that restates the dose ({dose}, {per}), not a dose", ""
    if total > cap.mg:
        return "", (
            f"{dose} ({per}) is more than the row's own '{cap.shown}': which is meant is not guessed; enter the dose given"
        )
    return "", (
        f"'{cap.shown}' beside {dose} ({per}): the dose may be raised up to the ceiling, so the dose given is not one "
        "number; enter the dose given"
    )


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
    t, remark = _approximate_remarks(t)  # "100 mg daily (~2 mg/kg)": 100 mg daily
    t, cap = _ceiling_beside_a_dose(t, lambda v: read_number(v, decimal).value)  # "200 mg bd, max 400 mg/day"
    problem = text_problem(t)  # "50-100 mg", "1 to 2 tablets", "-10 mg", "1.5e2 mg"
    tablets_named = strength_mg is not None or bool(re.search(r"\b(?:tablets?|tabs?|capsules?|caps?)\b", t))
    bare = _bare_counts(re.sub(r"\s+", " ", t), tablets_named)  # before "4-weekly" loses its hyphen
    t = re.sub(r"\s+", " ", t.replace("-", " "))

    amount, conflicting, notes, why = "", False, [remark] if remark else [], ""

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
    stated = None if problem else _per_body_or_volume(text, t, counts, totals, number)
    if problem:
        pass
    elif stated is not None:  # "1.5 mg/kg", "750mg/m2", "20mg/0.4ml": as stated (H497)
        amount, problem, why, said = stated
        conflicting = bool(why)
        if said:
            notes.append(said)
    elif not totals and (made := _tablets_of_the_total(t, found, number)) is not None:
        totals = {made}  # "15 mg (6 x 2.5 mg tablets)": the total and the tablets it is made of agree
        amount = f"{amount_text(made)} mg"
    elif (_PRODUCT.search(t) or _SLASHED_PAIR.search(t)) and not totals:
        conflicting = True  # "2 x 500 mg": per tablet or per dose? "500mg/250mg": which? not guessed
        shown = " ".join(text.split())[:80]
        masses = {mg for v, u in found if v is not None and (mg := to_mg(v, u)) is not None}
        if _SLASHED_PAIR.search(t):
            why = (
                f"'{shown}' names two amounts with a '/' between them: which one is the dose is not guessed; "
                "enter the dose per administration in mg in a dose column"
            )
        elif len(masses) == 1 and not counts:  # "2.5mg x 6", "2 x 500 mg": one amount and a multiplier
            why = (
                f"'{shown}' multiplies an amount by a number: so many tablets of that strength, or that amount so "
                "many times? The dose per administration is not guessed: enter it in mg in a dose column"
            )
    elif bare:  # "Take SIX 2.5mg tablets", "50 mg tablets, take 4 daily": the count is part of the dose
        amount, problem, why = _counted_dose(text, t, bare, found, totals, strength_mg, number)
        conflicting = bool(why)
        if not (amount or problem or why) and strength_mg is not None:
            amount = f"{amount_text(bare[0].value)} tablet"  # "Take 6 once weekly" of a 2.5 mg tablet
    elif totals:
        conflicting = len(totals) > 1
        total = next(iter(totals))
        if strength_mg is not None and any(abs(c * strength_mg - total) > 1e-6 for c in counts):
            conflicting = True  # "2 tablets (100 mg total)" of a 25 mg tablet: which is true?
        amount = "" if conflicting else f"{amount_text(total)} mg"
    else:
        masses = {mg for v, u in found if v is not None and (mg := to_mg(v, u)) is not None}
        if len(masses) > 1 or (not masses and len(counts) > 1):
            conflicting = True
        elif masses:
            mass = next(iter(masses))
            agree = not counts or (strength_mg is not None and all(abs(c * strength_mg - mass) < 1e-6 for c in counts))
            conflicting = not agree
            amount = f"{amount_text(mass)} mg" if agree else ""
        elif counts:
            amount = f"{amount_text(next(iter(counts)))} tablet"

    frequency = _schedule_named(t) or ""
    day_freq, day_why = _times_of_day(t, " ".join(text.split())[:80])
    if day_why and not problem and not conflicting:  # never one dose once a day (audit8 A1)
        amount, conflicting, why = "", True, day_why
    elif day_freq and not conflicting:  # "2 in the morning and 2 at night": the same dose twice a day
        frequency = day_freq
    if not problem and not amount and not conflicting and (conc := _CONCENTRATION.search(t)):
        problem = f"a concentration ('{conc.group(0).strip()}') is not a dose: enter the dose given in mg"
    unheld, often = unheld_schedule(text)
    never = bool(interval := unheld_interval(text))
    if never:
        unheld = interval
    if often or never:
        frequency = ""  # never the nearest schedule the model has ("weekly" of "3x weekly")
    count = bare[0].text if bare else ""
    if cap is not None and not problem and not conflicting:
        said, problem = _settle_ceiling(cap, amount, frequency)
        if said:
            notes.append(said)
    if problem:
        return Sig("", frequency, problem=problem, unheld=unheld, often=often, never=never, count=count)
    return Sig(
        amount,
        frequency,
        conflicting,
        note="; ".join(dict.fromkeys(notes)),
        unheld=unheld,
        often=often,
        why=why,
        never=never,
        count=count,
    )
