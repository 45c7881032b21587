"""Doses: from records of any reader to the canonical doses table.

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
from dataclasses import dataclass

import pyarrow as pa

from dashboard import knowledge, model
from dashboard.ingest.amounts import (
    POINT,
    UNKNOWN,
    amount_text,
    file_decimal,
    read_amount,
    strength_in_text,
    unit_clash,
)
from dashboard.ingest.dates import FAR_FUTURE
from dashboard.ingest.dose_records import DoseBatch, DoseRecord
from dashboard.ingest.dose_repeats import dose_key, overlaps_at_start, same_start_note, start_key
from dashboard.ingest.frequency import PER_DAY, Frequency, disagreeing, parse_frequency
from dashboard.ingest.identity import clean_id
from dashboard.ingest.mapping import normalize, recognise_drug, why_no_drug
from dashboard.ingest.report import FileReport, Problem
from dashboard.ingest.routes import parse_route, route_in_text
from dashboard.ingest.sig import (
    Sig,
    days_held,
    interval_days,
    named_days,
    read_sig,
    unheld_interval,
    unreadable_frequency,
)

#: The frequency of a dose given per day ("150 mg/day"): what parse_frequency("daily") reads.
DAILY = Frequency("daily", PER_DAY["daily"])
WEEKLY = Frequency("weekly", 1 / 7, weekly_or_longer=True)  # as parse_frequency("weekly") reads it


def smallest_usual_mg(drug: str) -> float | None:
    """The smallest dose per administration a drug is usually given at, in mg, where
    ``dosing.toml [implausibly_small]`` names one (methotrexate: the lowest usual weekly
    dose, 7.5 mg); None for the others."""
    entry = knowledge.dosing_rules().get("implausibly_small", {}).get("drugs", {}).get(drug)
    return None if entry is None else knowledge.dosing_number(entry["smallest_mg_from"])


def too_small(drug: str, dose_mg: float) -> str:
    """Why an amount per administration is far below any dose the drug is given at (""
    when it is not, or when no smallest usual dose is known): below a tenth of the smallest
    usual dose, a unit most likely written wrongly ("15 mcg" of methotrexate).  Never
    corrected: the row is rejected with this reason (H498)."""
    smallest = smallest_usual_mg(drug)
    if smallest is None or math.isnan(dose_mg):
        return ""
    fraction = knowledge.dosing_number("implausibly_small.fraction")
    if dose_mg >= fraction * smallest - 1e-9:
        return ""
    what = knowledge.dosing_rules()["implausibly_small"]["drugs"][drug]["what"]
    return (
        f"{model.drug_label(drug)} {amount_text(dose_mg)} mg a dose is below {amount_text(fraction * smallest)} mg, "
        f"{fraction:g} of its {what} ({amount_text(smallest)} mg): far outside any dose it is given at, most likely a unit written wrongly "
        "(mcg for mg?); not corrected: check the prescription and enter the dose again"
    )


def tablet_strength(r: DoseRecord) -> tuple[float, str] | None:
    """The strength of one tablet or capsule: the one the product name states, else the
    one a structured field of the source states (a FHIR Medication's ingredient)."""
    named = strength_in_text(r.drug_text)
    if named is None and r.unit_strength_mg is not None:
        return r.unit_strength_mg, "mg"
    return named


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
                    why_no_drug(r.drug_text),
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
        withdrawn = WITHDRAWN_ORDERS.get(normalize(r.status))
        if withdrawn:
            rep.problems.append(
                Problem(r.row, col("dose_status", "dose_status"), f"order status '{r.status}': {withdrawn}", r.status)
            )
            continue
        if normalize(r.status) in UNKNOWN_STATUSES:
            rep.warn(
                f"order status '{r.status}': whether the drug is being given is not known; the dose is read "
                "as in force from its start: check it",
                r.row,
                col("dose_status", "dose_status"),
                r.status,
            )
        said = held_or_stopped(r)
        if said and not is_stop:
            word, column, stopped = said
            if batch.change_log and not batch.blank_end:
                is_stop = True  # from this row's date the drug is not given
            elif not (stopped and r.end is not None):  # a stop with its date is history
                rep.problems.append(
                    Problem(
                        r.row,
                        col(column, column),
                        f"the row says the drug is held or stopped ('{word}') but not when it was given: "
                        "enter the dose given with its start and end dates",
                        word,
                    )
                )
                continue
        text = _DoseText.of(r, is_stop, decimal)
        if text.problem:
            why = text.problem
            if text.often and drug == "methotrexate":  # the fatal pattern: said first, never hidden
                why = f"methotrexate more often than once weekly: check the prescription now; {why}"
            rep.problems.append(Problem(r.row, col(text.column, text.column), why, text.source[:120]))
            continue
        if text.conflicting:
            rep.problems.append(
                Problem(
                    r.row,
                    col(text.column, text.column),
                    text.conflict
                    or "the instructions name amounts that do not agree: enter the dose per administration "
                    "in a dose column",
                    text.source[:120],
                )
            )
            continue
        dose_text, dose_unit, freq_text = text.dose, text.dose_unit, text.frequency
        per_body = None if is_stop or dose_text else _PER_BODY_IN_NAME.search(r.drug_text)
        if per_body:
            # "Aza 2mg/kg", "HCQ 200mg/day": a dose per kg (per m², per day, per week), read as
            # the dose column reads one
            dose_text, dose_unit = per_body.group(0), ""
            rep.warn(f"dose read from the drug name ('{per_body.group(0)}')", r.row, col("drug", "drug"), r.drug_text)
        from_instructions += text.from_instructions
        # an amount the instructions stated is already read with the file's separator and
        # written in decimal points ("7,5 mg" -> "7.5 mg"): never read against the file again (probe30 F5)
        read = None if is_stop or not dose_text else read_amount(dose_text, dose_unit, POINT if text.read else decimal)
        if read is not None and read.problem:
            rep.problems.append(Problem(r.row, col("dose", "dose"), read.problem, dose_text[:120]))
            continue
        amount = (read.value, read.unit) if read is not None else None
        per = read.per if read is not None else ""  # "150 mg/day": the day's total
        for note in (text.note, read.note if read is not None else ""):
            if note:
                rep.warn(f"dose {note}", r.row, col("dose", "dose"), r.dose[:120])
        if is_stop or (amount is not None and amount[0] == 0):
            if batch.change_log and not batch.blank_end:
                stops.append((r.patient_id, drug, r.start, i))
                accepted.append((i, 0))
                continue
            rep.problems.append(
                Problem(r.row, col("dose", "dose"), "dose is 0: record a stop with an end date instead", r.dose)
            )
            continue
        basis = "strength_only" if r.strength_only else "prescribed"
        dose, unit = amount if amount else (math.nan, "")
        strength = tablet_strength(r)
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
        if unit == "mg" and (small := too_small(drug, dose)):
            where = "dose" if r.dose.strip() else "frequency"
            rep.problems.append(Problem(r.row, col(where, where), small, (r.dose or r.frequency)[:120]))
            continue
        if not math.isnan(dose) and dose < 0:
            rep.problems.append(Problem(r.row, col("dose", "dose"), "dose must be positive", r.dose))
            continue
        freq = parse_frequency(freq_text) if freq_text else None
        if per:
            # a total per day (or week) is one administration a day (a week) unless the
            # frequency says otherwise: then whether it is each dose's or the day's total
            # cannot be told, and the row is refused rather than divided or multiplied
            implied = DAILY if per == "day" else WEEKLY
            if freq is not None and freq.canonical != implied.canonical:
                rep.problems.append(
                    Problem(
                        r.row,
                        col("frequency", "frequency"),
                        f"the dose is a total per {per} ({dose:g} mg/{per}) but the frequency says '{freq_text[:40]}': "
                        f"whether {dose:g} mg is each dose or the {per}'s total cannot be told; enter the dose per "
                        f"administration, or the frequency {implied.canonical}",
                        freq_text,
                    )
                )
                continue
            if freq is None and not freq_text:
                freq = implied
        if freq_text and freq is None:
            why = unreadable_frequency(freq_text)
            rep.problems.append(
                Problem(
                    r.row,
                    col("frequency", "frequency"),
                    f"frequency not understood ('{freq_text[:40]}')" + (f": {why}" if why else ""),
                    freq_text,
                )
            )
            continue
        if freq is None:
            if r.daily_dose:
                freq = DAILY
            else:
                freq = Frequency("unknown", math.nan)
                if not r.strength_only:
                    rep.warn(_no_frequency(drug, r.drug_text), r.row, col("frequency", "frequency"))
        route = parse_route(r.route) if r.route else route_in_text(f"{r.drug_text} {r.dose} {r.frequency}")
        if route is None:
            rep.warn(f"route '{r.route}' not recognised; left empty", r.row, col("route", "route"), r.route)
            route = ""
        # a product strength is not an amount per administration: how many tablets a dose is
        # is not stated, so no daily or weekly amount is computed (docs/data-model.md)
        counted = unit == "mg" and not math.isnan(freq.per_day) and basis != "strength_only"
        mg_day = dose * freq.per_day if counted else math.nan
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
    if not batch.change_log:
        _say_overlaps(out, rep)
    if batch.change_log:
        out = _close_change_log(out, stops)
        _say_same_starts(out, rep)
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


#: Order statuses that mean no dose was ever given (as the FHIR reader rejects them).
WITHDRAWN_ORDERS = {
    "entered in error": "entered in error, never a dose",
    "error": "entered in error, never a dose",
    "cancelled": "cancelled before any dose was given",
    "canceled": "cancelled before any dose was given",
    "draft": "a draft, never issued",
    "not taken": "recorded as not taken",
    "void": "voided, never a dose",
    "voided": "voided, never a dose",
    # FHIR MedicationStatement: "the medication may be taken at some time in the future"
    "intended": "intended for the future, not a dose in force",
}
#: Order statuses that say nothing of whether the drug is given (FHIR "unknown": "the
#: authoring/source system does not know which of the status values currently applies"):
#: the dose is kept, as a row without a status is, and the status is said.
UNKNOWN_STATUSES = ("unknown", "status unknown")
#: Words that say the drug is not being given (held) or no longer given (stopped).  The
#: imperative forms ("hold if WBC < 3", "stop if rash") are instructions for later, not
#: a state, and are not listed.
#: "held at 10 mg" keeps a dose (British usage: maintained), so "held" followed by "at" is not a hold.
_HELD = re.compile(r"\b(held(?!\s+at\b)|on hold|hold|withheld|suspended|paused|not taking|not taken)\b")
_STOPPED = re.compile(r"\b(stopped|discontinued|ceased|completed|inactive|ended)\b")
_STATE_COLUMNS = ("dose_status", "drug", "dose", "dose_unit", "frequency", "route")


def held_or_stopped(r: DoseRecord) -> tuple[str, str, bool] | None:
    """The word of a dose row that says its drug is held or stopped: (word, column,
    stopped rather than held), or None.  "Hold" counts only as a whole status."""
    texts = (r.status, r.drug_text, r.dose, r.dose_unit, r.frequency, r.route)
    for column, text in zip(_STATE_COLUMNS, texts, strict=True):
        norm = normalize(text)
        if not norm:
            continue
        held = _HELD.search(norm)
        if held and (held.group(1) != "hold" or norm == "hold"):
            return held.group(1), column, False
        stopped = _STOPPED.search(norm)
        if stopped and (column == "dose_status" or stopped.group(1) not in ("completed", "inactive", "ended")):
            return stopped.group(1), column, True
    return None


_PER_BODY = re.compile(r"/\s*(kg|m2|m²)\b", re.IGNORECASE)
#: a dose per body weight or area written in a drug name ("Aza 2mg/kg", "Cyclophosphamide 750mg/m2")
_PER_BODY_IN_NAME = re.compile(
    r"\d+(?:[.,]\d+)?\s*(?:mg|g|mcg|micrograms?)\s*/\s*(?:kg|m2|m²|day|d|24\s*h|week|wk)(?![\w/])", re.IGNORECASE
)
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
    often: bool = False  # the problem is a schedule given more often than once a week
    conflict: str = ""  # why the amounts are conflicting, where the instructions say more (Sig.why)
    read: bool = False  # ``dose`` is the amount read from the instructions, written with a decimal point

    @classmethod
    def of(cls, r: DoseRecord, is_stop: bool, decimal: str = UNKNOWN) -> _DoseText:
        """Instructions in the frequency column ("Take 2 tablets by mouth daily") or in the
        dose column ("2 tablets (100 mg total) twice daily") are read with :func:`read_sig`;
        plain amounts ("100", "1,5 g", "0.75 g/m2") are left to :func:`read_amount`."""
        dose, unit, freq = r.dose, r.dose_unit, r.frequency
        if dose and unit and not is_stop and (clash := unit_clash(dose, unit)):
            return cls(dose, unit, freq, column="dose_unit", source=f"{dose} {unit}", problem=clash)
        if freq and parse_frequency(freq) is None:
            column, source = "frequency", freq
        elif dose and not is_stop and not _PER_BODY.search(dose):
            column, source = "dose", dose
        else:
            if why := unheld_interval(dose):  # "1000 mg 6-monthly" beside "monthly" (H434)
                return cls(dose, unit, freq, column="dose", source=dose, problem=_unheld(Sig(unheld=why)))
            stated = _freq_in_text(dose)
            clash = _frequency_clash(dose, stated, freq)
            if clash:
                return cls(dose, unit, freq, column="frequency", source=f"{dose} {freq}", problem=clash)
            return cls(dose, unit, freq or stated)
        strength = tablet_strength(r)
        sig = read_sig(source, strength[0] if strength and strength[1] == "mg" else None, decimal)
        amount_here = column == "dose" or not dose  # the instructions are where the dose is read
        course = ""
        if sig.never and r.start is not None and (held := _named_days_held(r, source, column)):
            # "1 g on days 1 and 15" every 2 weeks, ended after day 15: the row holds those doses
            source, course = held
            sig = read_sig(source, strength[0] if strength and strength[1] == "mg" else None, decimal)
        if sig.often or sig.never or (sig.unheld and r.end is None):
            # "3x weekly", "Mon-Fri", "daily for 5 days": never read as weekly, daily or ongoing
            return cls(dose, unit, freq, column=column, source=source, problem=_unheld(sig), often=sig.often)
        if not amount_here and not is_stop and (sig.amount or sig.conflicting or sig.problem or sig.count):
            # "12 tabs weekly" beside a dose of 2.5 mg: one tablet of 2.5 mg, or the whole dose?
            # ("take 6 once weekly" beside it: a count of tablets with no unit, probe30 F1)
            named = sig.amount.replace(" tablet", " tablet(s)") or (f"'{sig.count}'" if sig.count else "an amount")
            given = read_amount(dose, unit, decimal)
            same = sig.amount and not given.problem and sig.amount == f"{amount_text(given.value)} {given.unit}"
            if not same:
                return cls(
                    dose,
                    unit,
                    freq,
                    column="frequency",
                    source=f"{dose} {unit} {freq}".replace("  ", " "),
                    problem=f"the frequency '{freq.strip()[:40]}' names {named} beside the dose '{f'{dose} {unit}'.strip()}': "
                    "the dose per administration is not guessed from the two; enter it once in the dose column "
                    "(the tablet count times the tablet strength, in mg)",
                )
        if sig.problem and amount_here:
            return cls(dose, unit, freq, column=column, source=source, problem=sig.problem)
        if sig.conflicting and amount_here:
            return cls(dose, unit, freq, conflicting=True, column=column, source=source, conflict=sig.why)
        stated = sig.frequency or _freq_in_text(source)  # the frequency the instructions name
        clash = _frequency_clash(source, stated, freq) if column == "dose" else ""
        if clash:
            return cls(dose, unit, freq, column="frequency", source=f"{dose} {freq}", problem=clash)
        note = "; ".join(x for x in (sig.note if amount_here else "", course) if x)
        read = bool(sig.amount and amount_here)
        if read:
            dose, unit = sig.amount.split(" ", 1)
        if column == "frequency":
            freq = sig.frequency or freq
        elif not freq:
            freq = stated
        wordy = bool(_INSTRUCTION_WORDS.search(source)) or column == "frequency"
        return cls(
            dose, unit, freq, from_instructions=int(wordy and bool(sig.amount or sig.frequency)), note=note, read=read
        )


def _named_days_held(r: DoseRecord, text: str, column: str) -> tuple[str, str] | None:
    """The instructions without their named days, and the note that says why, where a
    course given on named days ("1 g on days 1 and 15") is held exactly by the row's
    frequency and dates (``sig.days_held``: every 2 weeks from day 1, ended after day 15 and
    no later than the next dose); None otherwise, and the row keeps its rejection (probe28 F6)."""
    named = named_days(text)
    if named is None or r.start is None or r.end is None:
        return None
    days, rest = named
    stated = read_sig(rest).frequency or (r.frequency if column == "dose" else "")
    freq = parse_frequency(stated) if stated else None
    if freq is None or not days_held(days, interval_days(freq.canonical), r.start, r.end):
        return None
    listed = ", ".join(map(str, days[:-1])) + f" and {days[-1]}"
    dates = ", ".join(f"{r.start + dt.timedelta(days=d - 1):%Y-%m-%d}" for d in days)
    note = (
        f"'{text.strip()[:60]}' names days {listed} ({dates}): {freq.canonical} from {r.start:%Y-%m-%d} with its end "
        f"{r.end:%Y-%m-%d} gives exactly these doses, so the row is read as {freq.canonical}"
    )
    return rest, note


def _no_frequency(drug: str, drug_text: str) -> str:
    """The note of a dose row with no frequency: a schedule its drug text states
    ("Methotrexate 15mg weekly") is named, never called "no frequency given"."""
    label = model.drug_label(drug)
    named = read_sig(drug_text)
    stated = named.frequency or _freq_in_text(drug_text)
    if stated or named.unheld:
        what = f"'{stated}'" if stated else "a schedule"
        return (
            f"{label}: the drug text '{drug_text.strip()[:60]}' names {what}, but the frequency column is empty: "
            "no daily dose is computed (enter the dose and frequency in their columns)"
        )
    return f"{label}: no frequency given, so no daily dose is computed (add daily, BID, weekly ...)"


def _unheld(sig: Sig) -> str:
    """Why a row whose schedule the model cannot hold is rejected (see :func:`unheld_schedule`)."""
    return (
        f"frequency not understood as a schedule the dashboard holds: {sig.unheld}; "
        "enter it as one of daily, BID, TID, QID, weekly, every N days or weeks, monthly (one row per "
        "schedule, with its end date), after checking the prescription"
    )


def _frequency_clash(dose: str, stated: str, column: str) -> str:
    """Why a dose text that names its frequency ("15 mg weekly") cannot be read with the
    frequency column beside it ("daily"): they disagree and neither is picked."""
    clash = disagreeing(stated, column)
    if clash is None:
        return ""
    return (
        f"the dose '{dose.strip()[:40]}' says {clash[0]} but the frequency column says '{column.strip()}': "
        "enter the frequency once"
    )


#: An amount given per day or per week ("150 mg/day", "15 mg per week"): the text states
#: the total of that period, so its frequency is daily or weekly.
_PER_PERIOD = re.compile(
    r"\d\s*(?:mg|mcg|micrograms?|µg|ug|g)\s*(?:/|per|a)\s*(day|d|24\s*h|week|wk|w)\b", re.IGNORECASE
)


def _freq_in_text(text: str) -> str:
    if unheld_interval(text):  # never the "monthly" of "6-monthly" (H432, H434)
        return ""
    per = _PER_PERIOD.search(text)
    if per:
        return "weekly" if per.group(1).lower().startswith("w") else "daily"
    t = normalize(text)
    m = re.search(
        r"\b(once weekly|weekly|daily|once daily|bid|bd|tid|tds|qid|twice daily|every \d+ weeks|q\d+w|fortnightly|monthly)\b",
        t,
    )
    return m.group(1) if m else ""


def _say_overlaps(rows: list[dict], rep: FileReport) -> None:
    """Warn of two different doses of one drug for one patient whose dates overlap.

    Both are read as in force (the file gives each its dates), and the dose checks and the
    Dosing page add them up (``rules/dose_totals.py``, each total said as "total of 2 rows
    in force"); but an earlier row left open when a later one started is often a change
    whose end was never written: the clinician is told, and neither row is dropped.
    """
    by_drug: dict[tuple[str, str], list[dict]] = {}
    for row in rows:
        by_drug.setdefault((row["patient_id"], row["drug"]), []).append(row)
    for (_pid, drug), group in by_drug.items():
        group.sort(key=lambda x: (x["start"], x["source_row"]))
        for k, later in enumerate(group):
            earlier = next(
                (
                    e
                    for e in group[:k]
                    if (e["end"] is None or e["end"] > later["start"])
                    and any(e[f] != later[f] for f in ("dose", "dose_unit", "frequency"))
                ),
                None,
            )
            if earlier is not None:
                rep.warn(
                    f"{model.drug_label(drug)}: doses overlap in time (row {earlier['source_row']} has no end before "
                    f"this row starts on {later['start']:%Y-%m-%d}): both are read as taken together; if this "
                    "row changed the dose, give the earlier row its end date",
                    later["source_row"],
                    "start",
                )


def _say_same_starts(rows: list[dict], rep: FileReport) -> None:
    """In a change log, two different doses of one drug from one start both last until the
    next change, so they are in force together and added up: said on the later row, as
    ``_say_overlaps`` says it in a file with end dates (H106, H327)."""
    first: dict[tuple, dict] = {}
    for row in sorted(rows, key=lambda r: r["source_row"]):
        kept = first.setdefault(start_key(row), row)
        if kept is not row and dose_key(kept) != dose_key(row) and overlaps_at_start(kept, row):
            rep.warn(same_start_note(kept, row, "", f"row {kept['source_row']}"), row["source_row"], "start")


def _close_change_log(rows: list[dict], stops: list[tuple[str, str, dt.datetime, int]]) -> list[dict]:
    """In a change log, each dose ends where the next change (or stop) of the drug starts;
    a single administration (a pulse) is given on its day and is never ended by the next
    row (``model.in_force_until``; probe39 F1)."""
    events: dict[tuple[str, str], list[tuple[dt.datetime, int, dict | None]]] = {}
    for row in rows:
        events.setdefault((row["patient_id"], row["drug"]), []).append((row["start"], 1, row))
    for pid, drug, when, _i in stops:
        events.setdefault((pid, drug), []).append((when, 0, None))
    for evs in events.values():
        evs.sort(key=lambda e: (e[0], e[1]))
        for (_t, _k, ended), (t_next, _k2, _r2) in itertools.pairwise(evs):
            if ended is not None and ended["end"] is None and t_next > ended["start"] and not _single(ended):
                ended["end"] = t_next
    return rows


def _single(row: dict) -> bool:
    """A row that is one administration on its start day (``model.SINGLE``)."""
    return bool(row["frequency"] == model.SINGLE)


_SAME_DOSE = ("patient_id", "drug", "dose", "dose_unit", "frequency", "route", "dose_basis")


def _join_repeats(rows: list[dict]) -> tuple[list[dict], int]:
    """Join a change log's re-issues of an unchanged dose to the dose before them.

    A repeat prescription every four weeks is listed again at the same dose: that is
    not a dose change, and drawing it as one would put a false "change" mark on the
    timeline every month.  A single administration given again (the next pulse) is
    another administration, never a repeat issue: never joined (probe39 F1).  Returns the
    rows and how many were joined.
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
        if same and prev is not None and not _single(row) and prev["end"] is not None and prev["end"] == row["start"]:
            prev["end"] = row["end"]
            joined += 1
            continue
        out.append(row)
        last[(row["patient_id"], row["drug"])] = row
    return out, joined
