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
from dashboard.ingest.dose_repeats import (
    amount_not_stated,
    dose_key,
    dose_words,
    overlaps_at_start,
    same_start_note,
    start_key,
)
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
    dated = _pairs_with_ends(batch.records) if batch.per_pair else set()
    pending: list[tuple[int, int, Problem]] = []  # stops of a file with an end column: (stop, record, why not)
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
        # a change log: no end column, an end column empty in every row (H106), or in a
        # file with end dates the rows of a patient's drug none of which has one (probe39 F6)
        log = batch.change_log or (batch.per_pair and (r.patient_id, drug) not in dated)
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
        undated_stop: Problem | None = None  # why a stop that ends no dose is rejected
        if said and not is_stop:
            word, column, stopped = said
            undated_stop = Problem(
                r.row,
                col(column, column),
                f"the row says the drug is held or stopped ('{word}') but not when it was given: "
                "enter the dose given with its start and end dates",
                word,
            )
            if log:
                is_stop = True  # from this row's date the drug is not given
            elif not (stopped and r.end is not None):  # a stop with its date is history
                rep.problems.append(undated_stop)
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
            if log:
                stops.append((r.patient_id, drug, r.start, r.row))
                accepted.append((i, 0))
                if batch.blank_end or not batch.change_log:  # an end column: a stop must end a dose of the file
                    stop_problem = Problem(
                        r.row, col("dose", "dose"), "dose is 0: record a stop with an end date instead", r.dose
                    )
                    pending.append((len(stops) - 1, i, undated_stop or stop_problem))
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
                "start_basis": r.start_basis,
                "_rec": i,
                "_log": log,
            }
        )
        accepted.append((i, 0))
    if from_instructions:
        rep.warn(
            f"dose or frequency of {from_instructions} row(s) read from free-text instructions "
            "(e.g. 'Take 2 tablets by mouth daily'): check them in the dose table"
        )
    stops = _stops_that_end_a_dose(out, stops, pending, accepted, rep)
    intervals = _say_overlaps([row for row in out if not row["_log"]], rep)
    changes = [row for row in out if row["_log"]]
    if changes or stops:
        # in a file with end dates, the change-log reading of a drug's undated rows is said
        # on each row it touches (in a change log the file's own note says it)
        on_rows = rep if not batch.change_log else None
        changes = _close_change_log(changes, stops, on_rows)
        _say_same_starts(changes, rep)
        changes, joined = _join_repeats(changes, on_rows)
        if joined and on_rows is None:
            rep.warn(
                f"{joined} repeat issue(s) of an unchanged dose joined to the dose before them "
                "(re-prescribing is not a dose change)"
            )
    out = intervals + changes
    return _dose_table(out), accepted


def _stops_that_end_a_dose(
    out: list[dict],
    stops: list[tuple[str, str, dt.datetime, int]],
    pending: list[tuple[int, int, Problem]],
    accepted: list[tuple[int, int]],
    rep: FileReport,
) -> list[tuple[str, str, dt.datetime, int]]:
    """The stops of a change log that are kept.  In a file with an end column (empty in
    every row, or without a date in any row of the drug), a stop ends the dose of the drug
    that a row of the file starts before it (docs/data-model.md; probe39 F5); one that
    ends no such dose says nothing of when a dose was given, and is rejected with the
    reason, as in a file with end dates."""
    if not pending:
        return stops
    begun: dict[tuple[str, str], list[dt.datetime]] = {}
    for row in out:
        if row["_log"] and not _single(row):
            begun.setdefault((row["patient_id"], row["drug"]), []).append(row["start"])
    drop: set[int] = set()
    for k, i, why in pending:
        pid, drug, when, _row = stops[k]
        if not any(t < when for t in begun.get((pid, drug), ())):
            drop.add(k)
            accepted.remove((i, 0))
            rep.problems.append(why)
    return [s for k, s in enumerate(stops) if k not in drop]


def _dose_table(out: list[dict]) -> pa.Table:
    """The canonical doses table of the accepted rows, with the record index of each
    (``_rec``) and whether it was read as part of a change log (``_log``)."""
    if not out:
        return (
            model.empty_table("doses")
            .append_column("_rec", pa.array([], pa.int64()))
            .append_column("_log", pa.array([], pa.bool_()))
        )
    cols = [f.name for f in model.DOSE_FIELDS]
    table = model.conform("doses", pa.table({c: [row[c] for row in out] for c in cols}))
    return table.append_column("_rec", pa.array([row["_rec"] for row in out], pa.int64())).append_column(
        "_log", pa.array([bool(row["_log"]) for row in out], pa.bool_())
    )


def _pairs_with_ends(records: list[DoseRecord]) -> set[tuple[str, str | None]]:
    """The (patient, drug) pairs of which some row of the file gives an end date (or an
    end that reads as ongoing, 2099-12-31): their rows are intervals; the rows of the other
    pairs are a change log (probe39 F6: decided per patient and drug, never per file)."""
    return {
        (clean_id(r.patient_id)[0], recognise_drug(r.drug_text, r.drug_code))
        for r in records
        if r.end is not None or r.end_error
    }


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


def _say_overlaps(rows: list[dict], rep: FileReport) -> list[dict]:
    """Warn of two doses of one drug for one patient whose dates overlap; returns the rows.

    Both are read as in force (the file gives each its dates), and the dose checks and the
    Dosing page add them up (``rules/dose_totals.py``, each total said as "total of 2 rows
    in force"); but an earlier row left open when a later one started is often a change
    whose end was never written: the clinician is told, and neither row is dropped.  The
    same dose open twice from two starts (a repeat prescription entered again) is one dose:
    the later row is joined to the earlier, counted once, and said (probe39 F4).  A single
    administration is given on its day and overlaps nothing.
    """
    by_drug: dict[tuple[str, str], list[dict]] = {}
    for row in rows:
        by_drug.setdefault((row["patient_id"], row["drug"]), []).append(row)
    dropped: set[int] = set()
    for (_pid, drug), group in by_drug.items():
        group = [row for row in group if not _single(row)]
        group.sort(key=lambda x: (x["start"], x["source_row"]))
        for k, later in enumerate(group):
            open_before = [
                e
                for e in group[:k]
                if id(e) not in dropped
                and (e["end"] is None or e["end"] > later["start"])
                and e["start"] < later["start"]
            ]
            again = next((e for e in open_before if _same_dose(e, later)), None)
            if again is not None and again["end"] is None and later["end"] is None:
                dropped.add(id(later))
                rep.warn(_repeat_entered_again(drug, again, later), later["source_row"], "start")
                continue
            earlier = next(
                (
                    e
                    for e in group[:k]
                    if id(e) not in dropped
                    and (e["end"] is None or e["end"] > later["start"])
                    and (e["start"] < later["start"] or not _same_values(e, later))
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
    return [row for row in rows if id(row) not in dropped]


def _same_values(a: dict, b: dict) -> bool:
    """Two rows of one patient and drug that state the same values (:data:`_SAME_DOSE`)."""
    return all(a[k] == b[k] or (isinstance(a[k], float) and math.isnan(a[k]) and math.isnan(b[k])) for k in _SAME_DOSE)


def _same_dose(a: dict, b: dict) -> bool:
    """Two rows of one patient and drug that give the same dose: the same values, the
    amount per dose stated.  Two rows naming only a 50 mg tablet may be one tablet a dose
    and three: never read as one dose, joined or dropped as a repeat (audit9 A2)."""
    return _same_values(a, b) and not amount_not_stated(a)


def _repeat_entered_again(drug: str, kept: dict, again: dict) -> str:
    """What the report says on an open row that gives the same dose as an earlier open row."""
    return (
        f"{model.drug_label(drug)}: the same dose as row {kept['source_row']} ({dose_words(kept)} from "
        f"{kept['start']:%Y-%m-%d}, no end) again from {again['start']:%Y-%m-%d}, both open: the rows overlap in "
        "time and are read as one dose (a repeat prescription entered again), counted once and never as a dose "
        "increase; if the dose was doubled, enter the total as one row"
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


def _close_change_log(
    rows: list[dict], stops: list[tuple[str, str, dt.datetime, int]], rep: FileReport | None = None
) -> list[dict]:
    """In a change log, each dose ends where the next change (or stop) of the drug starts;
    a single administration (a pulse) is given on its day and is never ended by the next
    row (``model.in_force_until``; probe39 F1).  With ``rep`` (the undated rows of a drug in
    a file with end dates, probe39 F6), each dose so ended is said on the row that ends it.
    ``stops`` are (patient, drug, date, source row)."""
    events: dict[tuple[str, str], list[tuple[dt.datetime, int, dict | None, int]]] = {}
    for row in rows:
        events.setdefault((row["patient_id"], row["drug"]), []).append((row["start"], 1, row, row["source_row"]))
    for pid, drug, when, source_row in stops:
        events.setdefault((pid, drug), []).append((when, 0, None, source_row))
    for (_pid, drug), evs in events.items():
        evs.sort(key=lambda e: (e[0], e[1]))
        for (_t, _k, ended, _r), (t_next, _k2, by, by_row) in itertools.pairwise(evs):
            if ended is not None and ended["end"] is None and t_next > ended["start"] and not _single(ended):
                ended["end"] = t_next
                if rep is not None and not (by is not None and _same_dose(ended, by)):  # a repeat: said when joined
                    what = "stops the drug" if by is None else "changes the dose"
                    on = f"on {t_next:%Y-%m-%d}"
                    if by is not None and _same_values(ended, by):  # the same strength, the amounts not stated
                        what = "gives the drug again"
                        on += " (neither row states its amount per dose: whether the dose changed cannot be told)"
                    rep.warn(
                        f"{model.drug_label(drug)}: no row of this drug for this patient gives an end date, so its "
                        f"rows are read as a change log: this row {what} {on}, ending row "
                        f"{ended['source_row']} ({dose_words(ended)}), rather than both doses overlapping in time; "
                        "if both were taken together, give each row its dates",
                        by_row,
                        "start",
                    )
    return rows


def _single(row: dict) -> bool:
    """A row that is one administration on its start day (``model.SINGLE``)."""
    return bool(row["frequency"] == model.SINGLE)


_SAME_DOSE = ("patient_id", "drug", "dose", "dose_unit", "frequency", "route", "dose_basis")


def _join_repeats(rows: list[dict], rep: FileReport | None = None) -> tuple[list[dict], int]:
    """Join a change log's re-issues of an unchanged dose to the dose before them.

    A repeat prescription every four weeks is listed again at the same dose: that is
    not a dose change, and drawing it as one would put a false "change" mark on the
    timeline every month.  A single administration given again (the next pulse) is
    another administration, never a repeat issue: never joined (probe39 F1).  Returns the
    rows and how many were joined.  With ``rep`` (the undated rows of a drug in a file
    with end dates) each joined row is said on its row (probe39 F4).
    """
    out: list[dict] = []
    joined = 0
    last: dict[tuple[str, str], dict] = {}
    for row in sorted(rows, key=lambda r: (r["patient_id"], r["drug"], r["start"])):
        prev = last.get((row["patient_id"], row["drug"]))
        same = prev is not None and _same_dose(prev, row)
        if same and prev is not None and not _single(row) and prev["end"] is not None and prev["end"] == row["start"]:
            prev["end"] = row["end"]
            joined += 1
            if rep is not None:
                rep.warn(_repeat_entered_again(row["drug"], prev, row), row["source_row"], "start")
            continue
        out.append(row)
        last[(row["patient_id"], row["drug"])] = row
    return out, joined
