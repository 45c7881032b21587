"""Dose checks (``dose_checks.toml``): each dose row against weight, genotype and co-medication.

A check needs the numbers it judges: a mg/kg/day check without a weight yields an
"info" row that says "weight unknown" rather than silently passing.  A check row is
*open* when the dose (or the overlap) is in force on the review date.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np
import pyarrow as pa

from dashboard import knowledge, model
from dashboard.ingest.frequency import is_pulse, more_often_than_weekly, weekly_or_less_often
from dashboard.rules import ctcae, dose_totals, exposure, renal, tables
from dashboard.rules.data import DAY, NEVER, dose_checks_file, severity_rank
from dashboard.rules.hits import cat, num
from dashboard.rules.inputs import DRUGS, TRACKED, Inputs, comparator_texts, date_texts, pair_key, same_patient_pairs
from dashboard.rules.schedule import (
    administrations,
    courses,
    last_at_or_before,
    pre_pulse_from,
    row_schedules,
    schedules,
    test_times,
)
from dashboard.rules.tables import Column
from dashboard.units import MAX_BODY_WEIGHT_KG, display_unit

DOSE_CHECK_FIELDS: tuple[Column, ...] = tables.columns("dose_checks")

_LABEL = np.array([model.drug_label(d) for d in DRUGS], dtype=object)
_DAILY = ("daily", "BID", "TID", "QID")


@dataclass
class _Found:
    rows: np.ndarray  # dose rows
    rule: str
    group: str
    severity: np.ndarray
    value: np.ndarray
    value_unit: str
    threshold: np.ndarray
    message: np.ndarray
    source: str
    start: np.ndarray | None = None
    end: np.ndarray | None = None
    with_drug: np.ndarray | None = None

    @classmethod
    def of_check(
        cls,
        rows: np.ndarray,
        check: dict[str, Any],
        value: np.ndarray,
        value_unit: str,
        threshold: np.ndarray,
        message: np.ndarray,
        severity: np.ndarray | None = None,
        **timing: np.ndarray,
    ) -> _Found:
        """A finding of ``check`` (its id, group and source), at the check's own severity
        unless ``severity`` says otherwise per row."""
        if severity is None:
            severity = np.full(len(rows), check["severity"], dtype=object)
        return cls(
            rows,
            check["id"],
            check["group"],
            severity,
            value,
            value_unit,
            threshold,
            message,
            check["source"],
            **timing,
        )

    @classmethod
    def not_checkable(
        cls,
        rows: np.ndarray,
        check: dict[str, Any],
        value: np.ndarray,
        value_unit: str,
        message: np.ndarray,
        **timing: np.ndarray,
    ) -> _Found:
        """An "info" row of ``dose.not_checkable``: ``check`` could not judge these rows."""
        n = len(rows)
        info = np.full(n, "info", dtype=object)
        return cls(
            rows,
            "dose.not_checkable",
            check["group"],
            info,
            value,
            value_unit,
            np.full(n, np.nan),
            message,
            check["source"],
            **timing,
        )

    @classmethod
    def plain(cls, rows: np.ndarray, check: dict[str, Any], msg: pa.Array, **timing: np.ndarray) -> _Found:
        """A finding that is only a message at the check's own severity (no value to compare)."""
        nothing = np.full(len(rows), np.nan)
        return cls.of_check(rows, check, nothing, "", nothing, _texts(msg), **timing)


#: ``*_from`` key of a check -> the field it fills (see ``dose_checks.toml``).
FROM_KEYS = {
    "threshold_from": "threshold",
    "fraction_from": "fraction",
    "both_fraction_from": "both_fraction",
    "max_fraction_from": "max_fraction",
    "normal_from": "normal_mg_per_kg_day",
    "max_mg_per_day_from": "max_mg_per_day",
    "measure_from": "measure",
    "measure_note_from": "measure_note",
    "loading_mg_per_day_from": "loading_mg_per_day",
    "loading_days_from": "loading_days",
}
#: ``*_from`` keys that name a text, not a number: the measure a renal limit's source
#: states it in (``rules/renal.py``) and the caveat said when another one is used.
TEXT_FROM_KEYS = frozenset({"measure_from", "measure_note_from"})


def dosing_value(drug: str, path: str) -> float:
    """A number of ``knowledge/data/dosing.toml`` under ``[drug]``: "a.b.c" or "a.b[1]"."""
    return knowledge.dosing_number(f"{drug}.{path}")


def interaction_check(check: dict[str, Any]) -> dict[str, Any]:
    """A check naming an interaction of ``knowledge/data/interactions.toml``, filled in
    with that interaction's drugs, severity, wording, advice and source (its words with
    the ids of its ``refs`` appended, as every flag's source names them: H640)."""
    fact = knowledge.interactions()[check["interaction"]]
    out = dict(check)
    out["drugs"] = list(fact.drugs)
    out["with"] = list(fact.with_drugs)
    out["severity"] = fact.severity
    out["message"] = f"{fact.wording} ({fact.with_label}): {fact.advice}"
    out["source"] = knowledge.source_with_ids(fact.source, fact.refs)
    refs = knowledge.references()
    out["citation"] = "; ".join(refs[r].citation for r in fact.refs) + f"; status {fact.status}"
    if fact.max_mg_per_day is not None:
        out["max_mg_per_day"] = fact.max_mg_per_day
        out["regimen"] = fact.regimen
    return out


def cumulative_checks(check: dict[str, Any]) -> list[dict[str, Any]]:
    """One check per cumulative-dose threshold of ``dosing.toml`` (lowest first; the
    first one also reports a dose history that cannot be counted in full)."""
    out = []
    refs = knowledge.references()
    for drug in check["drugs"]:
        node: Any = knowledge.dosing_rules()[drug]
        for part in check["thresholds_from"].split("."):
            node = node[part]
        for i, t in enumerate(sorted(node, key=lambda t: t["grams"])):
            one = {k: v for k, v in check.items() if k != "thresholds_from"}
            one.update(
                id=f"{check['id']}_{t['id']}",
                group=f"{check['group']}_{t['id']}",
                drugs=[drug],
                grams=float(t["grams"]),
                sexes=list(t["sexes"]),
                severity=t["severity"],
                message=t["what"],
                source=knowledge.source_with_ids(t["source"], t["refs"]),
                citation="; ".join(refs[r].citation for r in t["refs"]) + f"; status {t['status']}",
                report_uncounted=i == 0,
            )
            out.append(one)
    return out


@cache
def checks() -> list[dict[str, Any]]:
    """The checks of ``dose_checks.toml``; one per drug, with its limits filled in,
    for a check whose limits come from the dosing data (``*_from``), and with its facts
    filled in for a check that names an interaction."""
    out: list[dict[str, Any]] = []
    for check in dose_checks_file()["check"]:
        if "interaction" in check:
            check = interaction_check(check)
        if "thresholds_from" in check:
            out += cumulative_checks(check)
            continue
        sources = {k: v for k, v in check.items() if k in FROM_KEYS}
        if not sources:
            out.append(check)
            continue
        for drug in check["drugs"]:
            one = {k: v for k, v in check.items() if k not in FROM_KEYS}
            one["drugs"] = [drug]
            table = check.get("dosing_key", drug)
            for key, path in sources.items():
                one[FROM_KEYS[key]] = (
                    knowledge.dosing_word(f"{table}.{path}") if key in TEXT_FROM_KEYS else dosing_value(table, path)
                )
            if "scale_from" in check:
                one["threshold"] = round(one["threshold"] * dosing_value(table, check["scale_from"]), 6)
            if "measure" in one and tuple(one["analytes"]) != renal.measures_for(one["measure"]):
                # the results a renal limit reads, in the order of the one home (H412)
                raise ValueError(f"dose check {one['id']}: analytes must be {renal.measures_for(one['measure'])}")
            out.append(one)
    return out


def old_weight_days() -> tuple[int, str]:
    """(days after which a body weight is said to be old, the basis of that number):
    ``dose_checks.toml [weight]``, read by the dose checks and the Dosing page alike."""
    w = dose_checks_file()["weight"]
    return int(w["old_after_days"]), str(w["basis"])


def allopurinol_reduction_window() -> tuple[int, str]:
    """(days before allopurinol's course within which a thiopurine reduction is read as
    made for it, the basis of that number): ``dose_checks.toml [allopurinol_reference]``,
    read by the dose checks and the Dosing page alike (H681)."""
    w = dose_checks_file()["allopurinol_reference"]
    return int(w["reduced_within_days"]), str(w["basis"])


def weight_words(kg: float, weighed: dt.date | None, as_of: dt.date) -> str:
    """The weight a finding rests on and when it was measured, in words: "the weight 80 kg
    of 2012-03-01 (5393 days before 2026-12-05: older than 365 days, ...; re-weigh)"
    (probe30 F4: a weight is never used as today's without its date)."""
    if weighed is None:
        return f"the weight {kg:g} kg (no date recorded for it: ask when it was measured)"
    days = (as_of - weighed).days
    text = f"the weight {kg:g} kg of {weighed:%Y-%m-%d}"
    limit, basis = old_weight_days()
    if days < 0:
        return f"{text} ({-days} days after the review date {as_of:%Y-%m-%d})"
    if days > limit:
        return (
            f"{text} ({days} days before {as_of:%Y-%m-%d}: an old weight, older than {limit} days, {basis}; "
            "re-weigh and check the dose on the current weight)"
        )
    return text


def _patient_weight_words(inp: Inputs, pids: np.ndarray) -> np.ndarray:
    """:func:`weight_words` of each patient of ``pids`` ("" where the weight is unknown),
    worked out once per distinct patient (only those of findings that fire: a loop in
    Python, never over the whole panel, audit8 A10)."""
    weighed = inp.weight_date if inp.weight_date is not None else np.full(inp.n_patients, NEVER, np.int64)
    distinct, back = np.unique(np.asarray(pids, dtype=np.int64), return_inverse=True)
    said = np.full(len(distinct), "", dtype=object)
    for k, p in enumerate(distinct):
        if inp.weight[p] > 0:
            when = None if weighed[p] >= NEVER else np.datetime64(int(weighed[p]), "s").astype("datetime64[D]").item()
            said[k] = weight_words(float(inp.weight[p]), when, inp.as_of)
    return said[back] if len(distinct) else np.zeros(0, dtype=object)


def amounts_by_weight(inp: Inputs) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(mg/day, mg/week, converted) per dose row: a dose in mg/kg turned into mg at the
    patient's known weight (dose x doses a day x weight; mg/week for a weekly or less
    frequent row), so that the mg/day and mg/week limits hold it too (probe30 F2); other
    rows as imported.  ``converted`` marks the rows the weight turned into mg."""
    d = inp.doses
    weight = inp.weight[d.pid] if len(d) else np.zeros(0)
    return mg_at_weight(d.dose, d.per_day, d.dose_unit, weight, d.mg_per_day, d.mg_per_week)


def mg_at_weight(
    dose: np.ndarray,
    per_day: np.ndarray,
    dose_unit: np.ndarray,
    weight: np.ndarray,
    mg_per_day: np.ndarray,
    mg_per_week: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`amounts_by_weight` over plain columns (the one home of turning a dose in
    mg/kg into mg: the dose checks and the timeline's dose lanes, probe43 F9)."""
    dose, per_day, weight = (np.asarray(x, dtype=float) for x in (dose, per_day, weight))
    mg_per_day, mg_per_week = np.asarray(mg_per_day, dtype=float), np.asarray(mg_per_week, dtype=float)
    dose_unit = np.asarray(dose_unit, dtype=object)
    per_kg_day = dose * per_day
    converted = (dose_unit == "mg/kg") & (weight > 0) & np.isfinite(per_kg_day) & ~np.isfinite(mg_per_day)
    kg = np.where(weight > 0, weight, 0.0)
    mg_day = np.where(converted, np.round(per_kg_day * kg, 6), mg_per_day)
    weekly = per_day <= 1 / 7 + 1e-12
    mg_week = np.where(converted & weekly, np.round(per_kg_day * 7 * kg, 6), mg_per_week)
    return mg_day, mg_week, converted


def mg_per_kg_day(inp: Inputs) -> np.ndarray:
    """Daily dose per kg of each dose row (NaN when the dose or the weight is unknown)."""
    d = inp.doses
    weight = inp.weight[d.pid]
    with np.errstate(invalid="ignore", divide="ignore"):
        from_mg = np.where(weight > 0, d.mg_per_day / weight, np.nan)
    per_kg = d.dose * d.per_day
    return np.where(d.dose_unit == "mg", from_mg, np.where(d.dose_unit == "mg/kg", per_kg, np.nan))


def _rows_of(inp: Inputs, drugs: list[str]) -> np.ndarray:
    codes = [DRUGS.index(x) for x in drugs if x in DRUGS]
    return np.flatnonzero(np.isin(inp.doses.drug, codes))


@dataclass
class _Totals:
    """The doses in force together (:mod:`dashboard.rules.dose_totals`) with the totals
    the checks compare: per interval, the sum of its rows and whether every row's amount
    was known (when not, the sum of the known rows, a lower bound)."""

    tg: dose_totals.Together
    per_kg: np.ndarray
    per_kg_known: np.ndarray
    mg_day: np.ndarray
    mg_day_known: np.ndarray
    mg_week: np.ndarray
    mg_week_known: np.ndarray
    name_day: np.ndarray  # "Azathioprine", or "Azathioprine total of 2 rows in force (100 + 75 mg/day)"
    name_week: np.ndarray
    equals: np.ndarray  # " =" after a total's name, "" after one row's
    inp: Inputs
    #: per interval: a row in mg made mg/kg/day by the weight, a row in mg/kg made mg by it
    by_mg: np.ndarray
    by_kg: np.ndarray

    def weight_kg_words(self, idx: np.ndarray) -> np.ndarray:
        """Per interval of ``idx``: " at the weight 60 kg of <date>" where the weight turned a
        row in mg into mg/kg/day, else "" (probe30 F4); built for these intervals only."""
        words = _patient_weight_words(self.inp, self.tg.pid[idx])
        return np.where(self.by_mg[idx] & (words != ""), " at " + words, "").astype(object)

    def weight_mg_words(self, idx: np.ndarray) -> np.ndarray:
        """Per interval of ``idx``: " (the mg/kg dose at the weight 60 kg of <date>)" where the
        weight turned a row in mg/kg into mg, else ""."""
        words = _patient_weight_words(self.inp, self.tg.pid[idx])
        return np.where(self.by_kg[idx] & (words != ""), " (the mg/kg dose at " + words + ")", "").astype(object)

    @classmethod
    def of(cls, inp: Inputs, per_kg: np.ndarray) -> _Totals:
        d = inp.doses
        tg = dose_totals.of_inputs(inp)
        mg_day, mg_week, converted = amounts_by_weight(inp)
        by_mg = np.zeros(len(tg), bool)
        by_kg = np.zeros(len(tg), bool)
        if len(tg):
            np.logical_or.at(by_mg, tg.owner(), d.dose_unit[tg.members] == "mg")
            np.logical_or.at(by_kg, tg.owner(), converted[tg.members])
        several = tg.n > 1
        label = _LABEL[tg.drug]
        # rows that began on different days may be a dose split in two, or a renewal or a
        # change whose earlier row was not ended: the total is what the record says, and
        # the message says how to tell (the import reads overlapping rows as taken together)
        staggered = np.zeros(len(tg), dtype=bool)
        if len(tg) and len(tg.members):
            starts = d.start[tg.members]
            firsts = tg.offsets[:-1]
            staggered = several & (np.maximum.reduceat(starts, firsts) > np.minimum.reduceat(starts, firsts))
        hint = np.where(
            staggered,
            "; they began on different days: if one replaced the other, end the earlier in the dose record",
            "",
        ).astype(object)

        def name(weekly: bool) -> np.ndarray:
            amount = d.mg_per_week if weekly else d.mg_per_day
            parts = tg.parts(*dose_totals.amount_texts(amount, d.dose, d.dose_unit, d.per_day, weekly))
            return np.where(
                several, _texts(cat(label, " total of ", num(tg.n, 0), " rows in force (", parts, hint, ")")), label
            )

        return cls(
            tg,
            *tg.total(per_kg),
            *tg.total(mg_day),
            *tg.total(mg_week),
            name(False),
            name(True),
            np.where(several, " =", "").astype(object),
            inp,
            by_mg,
            by_kg,
        )

    def of_drugs(self, drugs: list[str]) -> np.ndarray:
        codes = [DRUGS.index(x) for x in drugs if x in DRUGS]
        return np.flatnonzero(np.isin(self.tg.drug, codes))

    def timing(self, idx: np.ndarray) -> dict[str, np.ndarray]:
        return {"start": self.tg.start[idx], "end": self.tg.end[idx]}

    def at_least(self, idx: np.ndarray, known: np.ndarray) -> np.ndarray:
        """ "at least " where a total is only a lower bound (a row's amount unknown)."""
        return np.where(known[idx], "", "at least ").astype(object)


def _not_checkable_per_kg(inp: Inputs, tot: _Totals, idx: np.ndarray, check: dict[str, Any]) -> _Found:
    """Intervals ``idx`` (not judged) whose mg/kg/day cannot be known: one row in mg
    without a weight or a daily amount (as always); several rows whose total is unknown
    (a weight or a row's amount missing), said with the rows."""
    d = inp.doses
    tg = tot.tg
    row = tg.row[idx]
    no_weight = ~(inp.weight[tg.pid[idx]] > 0)
    one = tg.n[idx] == 1
    single = one & (d.dose_unit[row] == "mg") & (no_weight | ~np.isfinite(d.mg_per_day[row]))
    single |= one & (d.dose_unit[row] == "mg/m2")  # no body surface area: never a mg/kg/day (probe30 F2)
    single |= one & (d.dose_unit[row] == "mg/kg") & ~np.isfinite(d.per_day[row])  # per kg, but how often?
    several = ~one & ~tot.per_kg_known[idx]
    any_mg = tot.by_mg  # an interval holding a row in mg
    keep = single | several
    i, row, no_weight, one = idx[keep], row[keep], no_weight[keep], one[keep]
    stated = np.isfinite(d.per_day[row])  # a frequency but only a product strength (no tablet count)
    one_why = np.where(
        d.dose_unit[row] == "mg/m2",
        "dose in mg/m2 and no body surface area is held to turn it into mg/kg",
        np.where(
            no_weight & (d.dose_unit[row] == "mg"),
            "weight unknown",
            np.where(
                stated,
                "daily dose unknown (strength only: amount per dose not stated)",
                "daily dose unknown (no frequency)",
            ),
        ),
    )
    total_why = np.where(no_weight & any_mg[i], "weight unknown", "daily total unknown (a row's amount is unknown)")
    msg = cat(
        tot.name_day[i],
        ": ",
        np.where(one, one_why, total_why).astype(object),
        f": cannot check mg/kg/day (limit {check.get('threshold', '')} mg/kg/day)",
    )
    return _Found.not_checkable(row, check, np.full(len(row), np.nan), "mg/kg/day", _texts(msg), **tot.timing(i))


def _mg_per_kg_above(inp: Inputs, check: dict[str, Any], tot: _Totals) -> list[_Found]:
    """The mg/kg/day of the rows in force together strictly above the threshold."""
    tg = tot.tg
    idx = tot.of_drugs(check["drugs"])
    if check.get("when_tpmt_unknown"):
        idx = idx[inp.tpmt[tg.pid[idx]] == "unknown"]
    v = tot.per_kg[idx]
    with np.errstate(invalid="ignore"):
        hit = v > check["threshold"]
    fired = idx[hit]
    msg = cat(
        tot.name_day[fired],
        tot.equals[fired],
        " ",
        tot.at_least(fired, tot.per_kg_known),
        num(v[hit], 2),
        f" mg/kg/day > {check['threshold']:g}",
        tot.weight_kg_words(fired),
        f": {check['message']}",
    )
    limit = np.full(len(fired), float(check["threshold"]))
    found = _Found.of_check(tg.row[fired], check, v[hit], "mg/kg/day", limit, _texts(msg), **tot.timing(fired))
    # weight unknown, but the daily dose is above the limit at any weight the import accepts
    # (5,000 mg/day of azathioprine): said, not left as "cannot check"
    rest = idx[~hit]
    no_weight = ~(inp.weight[tg.pid[rest]] > 0)
    mg = tot.mg_day[rest]
    with np.errstate(invalid="ignore"):
        at_any_weight = no_weight & (mg > check["threshold"] * MAX_BODY_WEIGHT_KG)
    heavy = rest[at_any_weight]
    least = mg[at_any_weight] / MAX_BODY_WEIGHT_KG  # the mg/kg/day at the heaviest weight
    heavy_msg = cat(
        tot.name_day[heavy],
        tot.equals[heavy],
        " ",
        tot.at_least(heavy, tot.mg_day_known),
        num(mg[at_any_weight], 0),
        f" mg/day > {check['threshold']:g} mg/kg/day at any body weight up to {MAX_BODY_WEIGHT_KG:g} kg "
        f"(weight unknown; check the dose and record the weight): {check['message']}",
    )
    at_any = _Found.of_check(
        tg.row[heavy],
        check,
        least,
        "mg/kg/day",
        np.full(len(heavy), float(check["threshold"])),
        _texts(heavy_msg),
        **tot.timing(heavy),
    )
    return [found, at_any, _not_checkable_per_kg(inp, tot, rest[~at_any_weight], check)]


def _loading(
    inp: Inputs, check: dict[str, Any], tg: dose_totals.Together, idx: np.ndarray, amount: np.ndarray, above: np.ndarray
) -> np.ndarray:
    """Per interval of ``idx`` above the threshold (``above``): it is the label's loading
    dose (leflunomide: 100 mg a day for 3 days, Arava 2.1), so not flagged.  That is: at most
    the loading amount, within the loading days of the run of intervals above the threshold
    it belongs to (three 3-day rows of 100 mg are 9 days, not three loadings: audit8 A5), and
    no other immunosuppressant in force beside it (the label: no loading dose where the risk
    is high, "e.g. with methotrexate or another immunosuppressant")."""
    out = np.zeros(len(idx), dtype=bool)
    over = np.flatnonzero(above)
    if not len(over):
        return out
    rows = idx[over]
    order = np.lexsort((tg.start[rows], tg.pid[rows]))
    rows, over = rows[order], over[order]
    # a run: the next interval of the patient starts where the previous one ended
    new_run = np.r_[True, (tg.pid[rows][1:] != tg.pid[rows][:-1]) | (tg.start[rows][1:] != tg.end[rows][:-1])]
    run_start = tg.start[rows][np.maximum.accumulate(np.where(new_run, np.arange(len(rows)), 0))]
    with np.errstate(invalid="ignore"):
        candidate = (tg.end[rows] - run_start <= float(check["loading_days"]) * DAY) & (
            np.round(amount[over], 6) <= float(check["loading_mg_per_day"]) + 1e-9
        )
    d = inp.doses
    other = (TRACKED[d.drug] == "immunosuppressant") & ~np.isin(d.drug, [DRUGS.index(x) for x in check["drugs"]])
    for k in np.flatnonzero(candidate):  # few: a loading dose's own interval
        r = rows[k]
        beside = other & (d.pid == tg.pid[r]) & (d.start < tg.end[r]) & (d.end > tg.start[r])
        candidate[k] = not beside.any()
    out[over[candidate]] = True
    return out


def _amount_above(inp: Inputs, check: dict[str, Any], tot: _Totals, weekly: bool) -> list[_Found]:
    """The daily (or weekly) total of the rows in force together strictly above the
    check's threshold.  One row whose amount is unknown is left to the checks that say
    so (frequency, weight); a total of several rows that cannot be known is said."""
    tg = tot.tg
    idx = tot.of_drugs(check["drugs"])
    total, known = (tot.mg_week, tot.mg_week_known) if weekly else (tot.mg_day, tot.mg_day_known)
    name = tot.name_week if weekly else tot.name_day
    unit = "mg/week" if weekly else "mg/day"
    amount = total[idx]
    with np.errstate(invalid="ignore"):
        hit = np.round(amount, 6) > check["threshold"] + 1e-9
        if "loading_mg_per_day" in check:  # the label's loading dose, for its days only
            hit &= ~_loading(inp, check, tg, idx, amount, hit)
    fired = idx[hit]
    msg = cat(
        name[fired],
        tot.equals[fired],
        " ",
        tot.at_least(fired, known),
        num(amount[hit]),
        f" {unit} > {check['threshold']:g}",
        tot.weight_mg_words(fired),
        f": {check['message']}",
    )
    limit = np.full(len(fired), float(check["threshold"]))
    found = _Found.of_check(tg.row[fired], check, amount[hit], unit, limit, _texts(msg), **tot.timing(fired))
    unsure = idx[~hit & ~known[idx] & (tg.n[idx] > 1)]
    unsure_msg = cat(
        name[unsure], f": the {unit} total is unknown, so the {check['threshold']:g} {unit} limit cannot be checked"
    )
    cannot = _Found.not_checkable(tg.row[unsure], check, total[unsure], unit, _texts(unsure_msg), **tot.timing(unsure))
    return [found, cannot, _per_body_unknown(inp, tot, idx[~hit & ~known[idx] & (tg.n[idx] == 1)], check, unit)]


def _per_body_head(inp: Inputs, tot: _Totals, i: np.ndarray, row: np.ndarray) -> pa.Array:
    """ "Azathioprine 2 mg/kg daily: " of the intervals ``i`` and their rows ``row``: a dose
    per kg or per m² as its row states it, before why its limit cannot be checked."""
    d = inp.doses
    return cat(tot.name_day[i], " ", num(d.dose[row]), " ", d.dose_unit[row], " ", d.frequency[row], ": ")


def _per_body_why(inp: Inputs, rows: np.ndarray) -> np.ndarray:
    """Why the amount of each dose row in mg/kg or mg/m2 cannot be turned into mg ("" for a
    row in another unit: its unknown amount is said by the frequency and weight checks)."""
    d = inp.doses
    unit = d.dose_unit[rows]
    no_weight = ~(inp.weight[d.pid[rows]] > 0)
    return np.where(
        unit == "mg/m2",
        "dose in mg/m2 and no body surface area is held, so it cannot be turned into mg",
        np.where(
            (unit == "mg/kg") & no_weight,
            "dose in mg/kg and the weight is unknown, so it cannot be turned into mg",
            np.where(unit == "mg/kg", "dose in mg/kg with no frequency, so its daily amount is unknown", ""),
        ),
    ).astype(object)


def _per_body_unknown(inp: Inputs, tot: _Totals, idx: np.ndarray, check: dict[str, Any], unit: str) -> _Found:
    """Intervals ``idx`` of one row whose amount is unknown because it is written per kg
    (weight unknown) or per m2 (no body surface area): the mg/day or mg/week limit cannot
    be checked, said as the other not-checkable rows are, never passed (probe30 F2)."""
    tg = tot.tg
    row = tg.row[idx]
    why = _per_body_why(inp, row)
    keep = why != ""
    i, row, why = idx[keep], row[keep], why[keep]
    msg = cat(
        _per_body_head(inp, tot, i, row),
        why,
        f": cannot check the {check['threshold']:g} {unit} limit: {check['message']}",
    )
    return _Found.not_checkable(row, check, np.full(len(row), np.nan), unit, _texts(msg), **tot.timing(i))


def _phenotype_fraction(inp: Inputs, check: dict[str, Any], tot: _Totals) -> list[_Found]:
    tg = tot.tg
    idx = tot.of_drugs(check["drugs"])
    tp, nu = inp.tpmt[tg.pid[idx]], inp.nudt15[tg.pid[idx]]
    im = set(check["phenotypes"])
    tp_im, nu_im = np.isin(tp, list(im)), np.isin(nu, list(im))
    idx_im = idx[tp_im | nu_im]
    both = (tp_im & nu_im)[tp_im | nu_im]
    fraction = np.where(both, check["both_fraction"], check["fraction"])
    per_kg = tot.per_kg[idx_im]
    pct = per_kg / check["normal_mg_per_kg_day"] * 100
    with np.errstate(invalid="ignore"):
        hit = np.round(pct, 9) > fraction * 100
    fired = idx_im[hit]
    which = np.where(both[hit], "TPMT and NUDT15 intermediate", "TPMT or NUDT15 intermediate")
    msg = cat(
        tot.name_day[fired],
        tot.equals[fired],
        " ",
        tot.at_least(fired, tot.per_kg_known),
        num(per_kg[hit], 2),
        " mg/kg/day = ",
        num(pct[hit], 0),
        f"% of the normal {check['normal_mg_per_kg_day']:g} mg/kg/day (limit ",
        num(fraction[hit] * 100, 0),
        "%, ",
        which,
        ")",
        tot.weight_kg_words(fired),
        f": {check['message']}",
    )
    found = _Found.of_check(
        tg.row[fired], check, pct[hit], "% of normal dose", fraction[hit] * 100, _texts(msg), **tot.timing(fired)
    )
    return [found, _not_checkable_per_kg(inp, tot, idx_im[~hit], check)]


def _phenotype_any(inp: Inputs, check: dict[str, Any]) -> list[_Found]:
    d = inp.doses
    rows = _rows_of(inp, check["drugs"])
    tp, nu = inp.tpmt[d.pid[rows]], inp.nudt15[d.pid[rows]]
    wanted = list(check["phenotypes"])
    genes = check.get("genes", ["tpmt", "nudt15"])
    hit = np.zeros(len(rows), dtype=bool)
    if "tpmt" in genes:
        hit |= np.isin(tp, wanted)
    if "nudt15" in genes:
        hit |= np.isin(nu, wanted)
    fired = rows[hit]
    msg = cat(_LABEL[d.drug[fired]], ": TPMT ", tp[hit], ", NUDT15 ", nu[hit], f": {check['message']}")
    return [_Found.plain(fired, check, msg)]


def _meeting(
    inp: Inputs, pid: np.ndarray, start: np.ndarray, end: np.ndarray, check: dict[str, Any]
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(position in ``pid``, interacting row, overlap start, overlap end) for each span
    (``pid``, ``start``, ``end``: dose rows or intervals of rows in force together) that
    overlaps a dose row of the check's interacting drugs."""
    d = inp.doses
    b = _rows_of(inp, check["with"])
    b = b[np.argsort(d.pid[b], kind="stable")]
    i, j = same_patient_pairs(pid, d.pid[b])
    rb = b[j]
    lo = np.maximum(start[i], d.start[rb])
    hi = np.minimum(end[i], d.end[rb])
    keep = lo < hi
    return i[keep], rb[keep], lo[keep], hi[keep]


def _overlaps(inp: Inputs, check: dict[str, Any]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(drug row, interacting row, overlap start, overlap end) for rows that overlap."""
    d = inp.doses
    a = _rows_of(inp, check["drugs"])
    i, rb, start, end = _meeting(inp, d.pid[a], d.start[a], d.end[a], check)
    return a[i], rb, start, end


def _pair_text(inp: Inputs, ra: np.ndarray, rb: np.ndarray, tail: str) -> pa.Array:
    """ "<drug> with <interacting drug><tail>" for each overlapping pair of dose rows."""
    d = inp.doses
    return cat(_LABEL[d.drug[ra]], " with ", _LABEL[d.drug[rb]], tail)


def _overlap(inp: Inputs, check: dict[str, Any]) -> list[_Found]:
    d = inp.doses
    ra, rb, start, end = _overlaps(inp, check)
    msg = _pair_text(inp, ra, rb, f": {check['message']}")
    return [_Found.plain(ra, check, msg, start=start, end=end, with_drug=_drug_ids(d.drug[rb]))]


def _overlaps_together(
    inp: Inputs, tot: _Totals, check: dict[str, Any]
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(interval of the drug's rows in force together, interacting row, overlap start,
    overlap end) for each interval that overlaps an interacting row."""
    tg = tot.tg
    a = tot.of_drugs(check["drugs"])
    i, rb, start, end = _meeting(inp, tg.pid[a], tg.start[a], tg.end[a], check)
    return a[i], rb, start, end


def _overlap_above_mg_per_day(inp: Inputs, check: dict[str, Any], tot: _Totals) -> list[_Found]:
    """During an overlap the drug's daily dose (the total of its rows in force together)
    must not exceed ``max_mg_per_day`` (a dose the source allows with the interacting
    drug); an unknown daily dose is said."""
    d = inp.doses
    ia, rb, start, end = _overlaps_together(inp, tot, check)
    limit = float(check["max_mg_per_day"])
    cur = tot.mg_day[ia]
    with np.errstate(invalid="ignore"):
        above = np.round(cur, 6) > limit + 1e-9
    unknown = ~above & ~tot.mg_day_known[ia]
    hit = unknown | above
    ia, rb, start, end, cur, unknown = ia[hit], rb[hit], start[hit], end[hit], cur[hit], unknown[hit]
    regimen = f" ({check['regimen']})" if check.get("regimen") else ""
    with_label = _LABEL[d.drug[rb]]
    known_msg = cat(
        tot.name_day[ia],
        tot.equals[ia],
        " ",
        tot.at_least(ia, tot.mg_day_known),
        num(cur),
        f" mg/day > {limit:g} mg/day{regimen} with ",
        with_label,
        f": {check['message']}",
    )
    unknown_msg = cat(
        tot.name_day[ia],
        " with ",
        with_label,
        f": the daily dose is unknown, so the {limit:g} mg/day limit{regimen} cannot be checked: {check['message']}",
    )
    msg = np.where(unknown, _texts(unknown_msg), _texts(known_msg))
    return [
        _Found.of_check(
            tot.tg.row[ia],
            check,
            cur,
            "mg/day",
            np.full(len(ia), limit),
            msg,
            start=start,
            end=end,
            with_drug=_drug_ids(d.drug[rb]),
        )
    ]


def _overlap_reduction(inp: Inputs, check: dict[str, Any], tot: _Totals) -> list[_Found]:
    """The thiopurine dose during the overlap (the total of its rows in force together)
    against the total in force before the interacting drug started (or the usual
    weight-based dose when the thiopurine started later)."""
    d = inp.doses
    tg = tot.tg
    ia, rb, start, end = _overlaps_together(inp, tot, check)
    complete_day = np.where(tot.mg_day_known, tot.mg_day, np.nan)
    # the same drug's rows in force just before the interacting drug's course started (a
    # later dose change of allopurinol does not make the reduced dose the reference), or
    # before a reduction made within the window ahead of it (H681: the reduction for it)
    at = np.full(len(ia), -1, dtype=np.int64)
    reduced_on = np.full(len(ia), NEVER, dtype=np.int64)
    window, why = allopurinol_reduction_window()
    course_start = np.zeros(0, np.int64)
    if len(ia):
        course_start = courses(inp)["course_start"][rb]
        i, j = same_patient_pairs(tg.pid[ia], tg.pid)  # intervals are sorted by patient
        t0 = course_start[i] - 1
        ok = (tg.drug[j] == tg.drug[ia][i]) & (tg.kind[j] == tg.kind[ia][i]) & (tg.start[j] <= t0) & (tg.end[j] > t0)
        at[i[ok]] = j[ok]
        at, reduced_on = dose_totals.reduced_for(tg, complete_day, at, course_start, window * DAY)
    before = np.where(at >= 0, complete_day[np.maximum(at, 0)], np.nan) if len(ia) else np.full(0, np.nan)
    drug = tg.drug[ia]
    usual = check["normal_mg_per_kg_day"] * inp.weight[tg.pid[ia]] * _genotype_fraction(inp, tg.pid[ia], drug)
    ref = np.where(np.isfinite(before), before, usual)
    with_label = _LABEL[d.drug[rb]]
    basis = np.where(np.isfinite(before), "the dose before ", "the usual weight-based dose; started after ")
    basis = basis.astype(object) + with_label.astype(object)
    for n in np.flatnonzero(np.isfinite(before) & (reduced_on < NEVER)):
        when = np.datetime64(int(reduced_on[n]) // DAY, "D")
        days = int((course_start[n] - reduced_on[n]) // DAY)
        basis[n] = (
            f"reduced from {before[n]:g} mg/day on {when}, {days} days before {with_label[n].lower()}: "
            f"read as the reduction made for it, as is any made within {window} days before it, {why}"
        )
    cur = complete_day[ia]
    with np.errstate(invalid="ignore", divide="ignore"):
        pct = cur / ref * 100
        too_high = np.round(pct, 9) > check["max_fraction"] * 100 + 1e-6
    unknown = ~np.isfinite(pct)
    hit = too_high | unknown
    limit = check["max_fraction"] * 100
    known_msg = cat(
        tot.name_day[ia],
        tot.equals[ia],
        " ",
        num(cur),
        " mg/day = ",
        num(pct, 0),
        "% of ",
        num(ref),
        " mg/day (",
        basis,
        f"; limit {limit:.0f}%) with ",
        with_label,
        f": {check['message']}",
    )
    unknown_msg = cat(
        tot.name_day[ia],
        " with ",
        with_label,
        f": the reduction cannot be checked (dose before it or weight unknown): {check['message']}",
    )
    msg = np.where(unknown, _texts(unknown_msg), _texts(known_msg))[hit]
    sev = np.where(unknown, "action", check["severity"]).astype(object)[hit]
    return [
        _Found.of_check(
            tg.row[ia[hit]],
            check,
            pct[hit],
            "% of previous dose",
            np.full(int(hit.sum()), round(limit, 2)),
            msg,
            severity=sev,
            start=start[hit],
            end=end[hit],
            with_drug=_drug_ids(d.drug[rb[hit]]),
        )
    ]


def _genotype_fraction(inp: Inputs, pid: np.ndarray, drug: np.ndarray) -> np.ndarray:
    """Top of CPIC's fraction of the standard dose per row (1 for a normal or unknown
    phenotype): the "usual dose" of a thiopurine started after allopurinol, as the dosing
    assistant computes it (``dosing.thiopurine_limits``)."""
    out = np.ones(len(pid))
    reduced = ("intermediate", "possible intermediate")
    tp, nu = np.isin(inp.tpmt[pid], reduced), np.isin(inp.nudt15[pid], reduced)
    for code in np.unique(drug):
        name = DRUGS[code]
        if name not in knowledge.dosing_rules():
            continue
        one = drug == code
        out[one & (tp ^ nu)] = dosing_value(name, "phenotypes.intermediate.factor[1]")
        out[one & tp & nu] = dosing_value(name, "both_intermediate.factor[1]")
    return out


def _cumulative_above(inp: Inputs, check: dict[str, Any], cache: dict[str, exposure.Exposure]) -> list[_Found]:
    """The cumulative dose went strictly above ``grams``: one row per patient, from the
    day it did, open from then on (a cumulative dose never falls)."""
    d = inp.doses
    drug = check["drugs"][0]
    if drug not in cache:
        cache[drug] = exposure.cumulative(inp, drug)
    exp = cache[drug]
    code = DRUGS.index(drug)
    limit_mg = check["grams"] * 1000.0
    rows, starts, values, msgs = [], [], [], []
    open_rows, open_msgs, open_values = [], [], []
    for pid in np.flatnonzero(exp.any_dose):
        mine = np.flatnonzero((d.pid == pid) & (d.drug == code))
        total_g = exp.total_mg[pid] / 1000.0
        if inp.sex[pid] in check["sexes"]:
            when = exp.crossing(int(pid), limit_mg)
            if when < NEVER:
                row = mine[d.start[mine] <= when][-1]
                rows.append(row)
                starts.append(when)
                values.append(total_g)
                at_least = "at least " if exp.uncounted[pid] else ""
                msgs.append(
                    f"{_LABEL[code]} cumulative dose {at_least}{total_g:.3g} g (above {check['grams']:g} g "
                    f"since {np.datetime64(when // DAY, 'D')}): {check['message']}"
                )
                continue
        if check.get("report_uncounted") and exp.uncounted[pid]:
            open_rows.append(mine[-1])
            open_values.append(total_g)
            open_msgs.append(
                f"{_LABEL[code]} cumulative dose at least {total_g:.3g} g: not counted in full "
                f"({exp.uncounted[pid]}), so the cumulative-dose thresholds cannot be checked"
            )
    n = len(rows)
    found = _Found.of_check(
        np.asarray(rows, dtype=np.int64),
        check,
        np.asarray(values, dtype=float),
        "g",
        np.full(n, check["grams"]),
        np.asarray(msgs, dtype=object),
        start=np.asarray(starts, dtype=np.int64),
        end=np.full(n, NEVER, dtype=np.int64),
    )
    m = len(open_rows)
    rows_u = np.asarray(open_rows, dtype=np.int64)
    unknown = _Found.not_checkable(
        rows_u,
        check,
        np.asarray(open_values, dtype=float),
        "g",
        np.asarray(open_msgs, dtype=object),
        start=d.start[rows_u] if m else np.zeros(0, np.int64),
        end=np.full(m, NEVER, dtype=np.int64),
    )
    return [found, unknown]


def _pulsed_rows(inp: Inputs, drugs: list[str]) -> np.ndarray:
    d = inp.doses
    rows = _rows_of(inp, drugs)
    return rows[np.array([is_pulse(d.frequency[r], d.route[r]) for r in rows], dtype=bool)]


def _test_before_administration(inp: Inputs, check: dict[str, Any]) -> list[_Found]:
    """An administration with no result of the check's analytes in the window before it."""
    d = inp.doses
    window = int(check["window_days"]) * DAY
    ppid, pt, prow = administrations(inp, _pulsed_rows(inp, check["drugs"]))
    key, tpid, tt = test_times(inp, tuple(check["analytes"]))
    last = last_at_or_before(key, tpid, tt, ppid, np.minimum(pt, inp.cutoff - 1))
    hit = (last == NEVER) | (pt - last > window)
    ppid, pt, prow, last = ppid[hit], pt[hit], prow[hit], last[hit]
    label = "/".join(model.analyte_label(a) for a in check["analytes"])
    latest = np.where(last == NEVER, "none", np.datetime_as_string((last // DAY).astype("datetime64[D]")))
    when = date_texts(pt)
    msg = np.array(
        [
            f"{_LABEL[d.drug[r]]} infusion {w}: no {label} result in the {check['window_days']} days before it "
            f"(latest: {x}): {check['message']}"
            for r, w, x in zip(prow, when, latest, strict=True)
        ],
        dtype=object,
    )
    days = np.where(last == NEVER, np.nan, (pt - last) / DAY)
    limit = np.full(len(prow), float(check["window_days"]))
    return [_Found.of_check(prow, check, days, "days", limit, msg, start=pt - window, end=pt + DAY)]


def _count_before_pulse_below(inp: Inputs, check: dict[str, Any]) -> list[_Found]:
    """A pulse (past, or planned up to the next one) whose count before it is strictly
    below the threshold (H420).  The count before a pulse is the latest draw of the
    check's analyte up to the pulse day (never after the review date) taken from
    :func:`dashboard.rules.schedule.pre_pulse_from` on; for the first pulse of a history,
    from the last day of the schedule's ``nadir_days`` (14 for IV cyclophosphamide) before
    it (the dashboard's reading).  A count before a pulse still to come is the one the
    clinician acts on: open from the draw to the pulse day."""
    d, labs = inp.doses, inp.labs
    analyte = check["analytes"][0]
    ppid, pt, prow = administrations(inp, _pulsed_rows(inp, check["drugs"]))
    names = row_schedules(d)[prow] if len(prow) else np.zeros(0, dtype=object)
    spec = {n: schedules().get(n, {}) for n in set(names)}
    pulsed = np.array([spec[n].get("kind") == "pulse" for n in names], dtype=bool)
    ppid, pt, prow, names = ppid[pulsed], pt[pulsed], prow[pulsed], names[pulsed]
    pkey = pair_key(ppid, pt)
    since = np.full(len(pt), NEVER, dtype=np.int64)
    for name in set(names):
        at = names == name
        lo_hi = spec[name]["nadir_days"]
        first = pt[at] // DAY * DAY - int(lo_hi[1]) * DAY
        later = pre_pulse_from(pkey, ppid, pt, ppid[at], pt[at], spec[name])
        since[at] = np.where(later == NEVER, first, later)
    # the latest draw of the analyte up to the pulse day (a draw's last row: its most severe)
    sl = labs.slice(analyte)
    lkey = pair_key(labs.pid[sl], labs.t[sl])
    upto = np.minimum(pt // DAY * DAY + DAY - 1, inp.cutoff - 1)
    j = np.searchsorted(lkey, pair_key(ppid, upto), side="right") - 1
    jj = np.maximum(j, 0)
    found = (j >= 0) & (labs.pid[sl][jj] == ppid) if len(lkey) else np.zeros(len(pt), bool)
    lab_t = np.where(found, labs.t[sl][jj] if len(lkey) else 0, NEVER)
    keep = found & (lab_t >= since)
    row = jj[keep] + (sl.start or 0)
    ppid, pt, prow, lab_t = ppid[keep], pt[keep], prow[keep], lab_t[keep]
    limit = float(check["threshold"])
    value, cmp = labs.value[row], labs.cmp[row]
    below, unsure = ctcae.below(value, cmp, limit), ctcae.undecided(value, cmp, limit, "<")
    unit = model.CANONICAL_UNITS[analyte]
    head = cat(
        _LABEL[d.drug[prow]],
        " pulse ",
        date_texts(pt),
        f": {model.analyte_label(analyte)} ",
        comparator_texts(cmp),
        num(value),
        f" {display_unit(analyte)} on ",
        date_texts(lab_t),
        " (the count before it)",
    )
    start, end = lab_t // DAY * DAY, pt // DAY * DAY + DAY
    return _below_limit(check, prow, value, unit, limit, head, below, unsure, start, end)


def _below_limit(
    check: dict[str, Any],
    rows: np.ndarray,
    value: np.ndarray,
    unit: str,
    limit: float,
    head: pa.Array,
    below: np.ndarray,
    unsure: np.ndarray,
    start: np.ndarray,
    end: np.ndarray,
) -> list[_Found]:
    """A lower limit placed against results (``head``: each one in words): the dose rows
    ``rows`` whose result is below it fire; those a censored result cannot place against
    it ("<45" against 30) are not checkable, said as such."""
    fired = _texts(cat(head, f" < {limit:g}: {check['message']}"))
    cannot = _texts(cat(head, f": cannot tell whether it is below {limit:g}: {check['message']}"))
    return [
        _Found.of_check(
            rows[below],
            check,
            value[below],
            unit,
            np.full(int(below.sum()), limit),
            fired[below],
            start=start[below],
            end=end[below],
        ),
        _Found.not_checkable(
            rows[unsure], check, value[unsure], unit, cannot[unsure], start=start[unsure], end=end[unsure]
        ),
    ]


def _course_start_reminder(inp: Inputs, check: dict[str, Any]) -> list[_Found]:
    """A reminder at the start of treatment: the first administration of the drugs, or the
    first after more than ``restart_after_days`` without one (the two infusions of one
    rituximab cycle are one start); open in the window before it."""
    d = inp.doses
    ppid, pt, prow = administrations(inp, _pulsed_rows(inp, check["drugs"]))
    gap = int(check["restart_after_days"]) * DAY
    new_patient = np.r_[True, ppid[1:] != ppid[:-1]] if len(ppid) else np.zeros(0, bool)
    long_gap = np.r_[True, pt[1:] - pt[:-1] > gap] if len(pt) else np.zeros(0, bool)
    first = new_patient | long_gap
    pt, prow = pt[first], prow[first]
    when = date_texts(pt)
    msg = np.array(
        [f"{_LABEL[d.drug[r]]} treatment starting {w}: {check['message']}" for r, w in zip(prow, when, strict=True)],
        dtype=object,
    )
    window = int(check["window_days"]) * DAY
    nothing = np.full(len(prow), np.nan)
    return [_Found.of_check(prow, check, nothing, "", nothing, msg, start=pt - window, end=pt + DAY)]


def _latest_result_below(inp: Inputs, check: dict[str, Any], tot: _Totals) -> list[_Found]:
    """The drug in force on the review date while the latest result of the check's
    analytes on or before that day is strictly below the threshold (a result from before
    the drug started counts when it is still the latest).  A censored result that cannot
    be placed against the threshold ("<45" against 30) is said, never passed over.  With
    ``max_mg_per_day``, only a daily total (the rows in force together) above it.

    Several analytes are renal measures in the order of ``rules/renal.py``: the latest of
    them by calendar day is used (on one day, the one listed first: H430), and named (H412)."""
    d = inp.doses
    now = inp.cutoff - 1
    out: list[_Found] = []
    if "max_mg_per_day" in check:  # only a dose above what the label allows at that result
        tg = tot.tg
        idx = tot.of_drugs(check["drugs"])
        idx = idx[(tg.start[idx] <= now) & (tg.end[idx] > now)]
        # one row per kg without a weight, or per m2: its mg/day cannot be placed (probe30 F2)
        lone = idx[~tot.mg_day_known[idx] & (tg.n[idx] == 1)]
        out.append(_renal_amount_unknown(inp, check, tot, lone[_per_body_why(inp, tg.row[lone]) != ""]))
        with np.errstate(invalid="ignore"):
            idx = idx[tot.mg_day[idx] > float(check["max_mg_per_day"])]
        rows, since, until = tg.row[idx], tg.start[idx], tg.end[idx]
        name = _texts(cat(tot.name_day[idx], tot.weight_mg_words(idx)))
    else:
        rows = _rows_of(inp, check["drugs"])
        rows = rows[(d.start[rows] <= now) & (d.end[rows] > now)]
        since, until, name = d.start[rows], d.end[rows], _LABEL[d.drug[rows]]
    # the latest draw of each analyte per patient; the last row of a draw is its most
    # severe value (lowest for a result judged by a lower limit)
    latest = [_latest(inp, analyte, d.pid[rows]) for analyte in check["analytes"]]
    which = renal.latest_of([t for _row, t in latest])
    none = which < 0
    if none.any():
        out.append(_creatinine_only(inp, check, rows[none], since[none], until[none], name[none]))
    for k, analyte in enumerate(check["analytes"]):
        use = which == k
        others = [
            (a, r[use], t[use]) for j, (a, (r, t)) in enumerate(zip(check["analytes"], latest, strict=True)) if j != k
        ]
        out += _placed(
            inp,
            check,
            analyte,
            rows[use],
            latest[k][0][use],
            latest[k][1][use],
            since[use],
            until[use],
            name[use],
            others,
        )
    return out


def _creatinine_only(
    inp: Inputs, check: dict[str, Any], rows: np.ndarray, since: np.ndarray, until: np.ndarray, name: np.ndarray
) -> _Found:
    """The rows of a renal check whose patient has no result of the check's measures on or
    before the review date but a raised serum creatinine (above the lab's own upper limit,
    or flagged high by the lab): a creatinine clearance or eGFR worked out from it may be
    below the limit, so the check says it cannot be told and asks for one, never silently
    (probe46 F1; a creatinine newer than the measure: H409).  A creatinine within its range,
    or with no range and no flag, gives no row (there is no default creatinine range: it
    depends on sex, age and method), nor does no renal result at all."""
    n = len(rows)
    if not set(check["analytes"]) & set(renal.MEASURES) or not n:
        return _Found.not_checkable(rows[:0], check, np.zeros(0), "", np.zeros(0, dtype=object))
    labs = inp.labs
    row, ct = _latest(inp, "creatinine", inp.doses.pid[rows])
    have = row >= 0
    if not have.any():  # no creatinine at all (an empty lab table included)
        return _Found.not_checkable(rows[:0], check, np.zeros(0), "", np.zeros(0, dtype=object))
    at = np.maximum(row, 0)
    have &= ctcae.above(labs.value[at], labs.cmp[at], labs.ref_high[at]) | ctcae.lab_flagged(inp, at, "high")
    row, ct, rows, since, until, name = (
        np.maximum(row, 0)[have],
        ct[have],
        rows[have],
        since[have],
        until[have],
        name[have],
    )
    unit = model.CANONICAL_UNITS["creatinine"]
    measures = " or ".join(model.analyte_label(a) for a in check["analytes"])
    words = cat(
        name,
        f": no {measures} on record; the latest creatinine is ",
        comparator_texts(labs.cmp[row]),
        num(labs.value[row]),
        f" {unit} on ",
        date_texts(ct),
        f": whether the {measures} is below {float(check['threshold']):g} cannot be told; ask for a current "
        f"{measures}: {check['message']}",
    )
    start = np.maximum(since, ct // DAY * DAY)
    return _Found.not_checkable(rows, check, labs.value[row], unit, _texts(words), start=start, end=until)


def _renal_amount_unknown(inp: Inputs, check: dict[str, Any], tot: _Totals, idx: np.ndarray) -> _Found:
    """Intervals ``idx`` of one row in force, written per kg without a weight or per m2,
    whose latest renal measure is below (or cannot be placed against) the check's limit:
    whether the daily dose is above ``max_mg_per_day`` cannot be told, so it is said as not
    checkable (probe30 F2), never passed."""
    d = inp.doses
    tg = tot.tg
    row = tg.row[idx]
    limit = float(check["threshold"])
    latest = [_latest(inp, analyte, d.pid[row]) for analyte in check["analytes"]]
    which = renal.latest_of([t for _row, t in latest])
    lab = np.full(len(row), -1, dtype=np.int64)
    for k, (r, _t) in enumerate(latest):
        lab = np.where(which == k, r, lab)
    have = lab >= 0
    at = np.maximum(lab, 0)
    value, cmp = inp.labs.value[at], inp.labs.cmp[at]
    low = have & (ctcae.below(value, cmp, limit) | ctcae.undecided(value, cmp, limit, "<"))
    i, row, at = idx[low], row[low], at[low]
    analyte = np.asarray(check["analytes"], dtype=object)[np.maximum(which[low], 0)]
    label = np.array([model.analyte_label(a) for a in analyte], dtype=object)
    unit = np.array([f" {model.CANONICAL_UNITS[a]}" for a in analyte], dtype=object)
    msg = cat(
        _per_body_head(inp, tot, i, row),
        _per_body_why(inp, row),
        ": latest ",
        label,
        " ",
        comparator_texts(inp.labs.cmp[at]),
        num(inp.labs.value[at]),
        unit,
        " on ",
        date_texts(inp.labs.t[at]),
        f" (limit below {limit:g}): whether the daily dose is above {float(check['max_mg_per_day']):g} mg/day "
        f"cannot be told: {check['message']}",
    )
    return _Found.not_checkable(row, check, inp.labs.value[at], "mg/day", _texts(msg), **tot.timing(i))


def _placed(
    inp: Inputs,
    check: dict[str, Any],
    analyte: str,
    rows: np.ndarray,
    best_i: np.ndarray,
    best_t: np.ndarray,
    since: np.ndarray,
    until: np.ndarray,
    name: np.ndarray,
    others: list[tuple[str, np.ndarray, np.ndarray]],
) -> list[_Found]:
    """The dose rows whose latest measure is ``analyte`` (its lab row ``best_i`` drawn at
    ``best_t``) placed against the check's threshold; ``others``: the check's other
    measures' latest rows and times for the same dose rows, named beside it."""
    labs = inp.labs
    value, cmp = labs.value[best_i], labs.cmp[best_i]
    limit = float(check["threshold"])
    # the comparison every limit uses: "25" or "<25" is below 30, "<45" or ">20" cannot be placed
    below, unsure = ctcae.below(value, cmp, limit), ctcae.undecided(value, cmp, limit, "<")
    label = model.analyte_label(analyte)
    unit = model.CANONICAL_UNITS[analyte]
    when = date_texts(best_t)
    start = np.maximum(since, best_t // DAY * DAY)
    stated = check.get("measure", analyte)
    said = f" ({check['measure_note']})" if analyte != stated and check.get("measure_note") else ""
    head = cat(name, f": latest {label} ", comparator_texts(cmp), num(value), f" {unit} on ", when, said)
    for other, orow, ot in others:  # the other measure, named: older, or of the same day
        have = orow >= 0
        if have.any():
            o = np.maximum(orow, 0)
            words = cat(
                f"; the {model.analyte_label(other)} of ",
                comparator_texts(labs.cmp[o]),
                num(labs.value[o]),
                f" {model.CANONICAL_UNITS[other]} on ",
                date_texts(np.maximum(ot, 0)),
                np.where(renal.same_day(ot, best_t), " is of the same day", " is older").astype(object),
                f" (the latest renal measure is used; on one day, the {model.analyte_label(check['analytes'][0])})",
            )
            head = cat(head, pa.array(np.where(have, np.asarray(words.to_pylist(), dtype=object), ""), pa.string()))
    clear = ~below & ~unsure
    stale, stale_msg = _newer_creatinine(inp, best_t, clear, head, limit, check, rows)
    older, older_msg = _older_stated_below(inp, check, analyte, clear & ~stale, head, limit, others)
    return [
        *_below_limit(check, rows, value, unit, limit, head, below, unsure, start, until),
        _Found.not_checkable(
            rows[stale], check, value[stale], unit, stale_msg[stale], start=start[stale], end=until[stale]
        ),
        _Found.not_checkable(
            rows[older], check, value[older], unit, older_msg[older], start=start[older], end=until[older]
        ),
    ]


def _latest(inp: Inputs, analyte: str, pid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per patient of ``pid``: the lab row of their latest ``analyte`` result on or before the
    review date (a draw's last row: its most severe value) and its time; -1 and -2**62 where
    there is none.  An analyte's rows run by patient and time."""
    labs = inp.labs
    sl = labs.slice(analyte)
    have = labs.pid[sl]
    if not len(have):
        return np.full(len(pid), -1, dtype=np.int64), np.full(len(pid), renal.NONE_T, dtype=np.int64)
    j = np.searchsorted(have, pid, side="right") - 1
    jj = np.maximum(j, 0)
    found = (j >= 0) & (have[jj] == pid)
    row = np.where(found, jj + (sl.start or 0), -1)
    return row, np.where(found, labs.t[sl][jj], renal.NONE_T)


def _newer_creatinine(
    inp: Inputs,
    measure_t: np.ndarray,
    clear: np.ndarray,
    head: pa.Array,
    limit: float,
    check: dict[str, Any],
    rows: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """The rows of a renal check (``clear``: not below the limit on the latest eGFR or
    creatinine clearance) whose patient has a creatinine drawn after that measure, with
    none of its own: the measure may no longer hold (eGFR 70 a year ago, creatinine 350
    µmol/L since), so the check cannot rest on it and says so, never silently (probe23 F6,
    H409; a creatinine clearance is worked out from a serum creatinine too: H412).
    Returns the mask and the words."""
    n = len(rows)
    none = np.zeros(n, dtype=bool), np.full(n, "", dtype=object)
    if not set(check["analytes"]) & set(renal.MEASURES) or not n:
        return none
    labs = inp.labs
    row, ct = _latest(inp, "creatinine", inp.doses.pid[rows])
    # a creatinine of the same day is the one the measure was worked out from, or that
    # morning's: only a later day's makes the measure old (H430)
    stale = clear & (row >= 0) & (ct // DAY > measure_t // DAY)
    if not stale.any():
        return none
    row = np.maximum(row, 0)
    unit = model.CANONICAL_UNITS["creatinine"]
    measures = " or ".join(model.analyte_label(a) for a in check["analytes"])
    words = cat(
        head,
        " is older than the creatinine of ",
        comparator_texts(labs.cmp[row]),
        num(labs.value[row]),
        f" {unit} on ",
        date_texts(np.maximum(ct, 0)),
        f" (no {measures} with it): whether the {measures} is below {limit:g} now cannot be told; ask for a current "
        f"{measures}: {check['message']}",
    )
    return stale, _texts(words)


def _older_stated_below(
    inp: Inputs,
    check: dict[str, Any],
    analyte: str,
    clear: np.ndarray,
    head: pa.Array,
    limit: float,
    others: list[tuple[str, np.ndarray, np.ndarray]],
) -> tuple[np.ndarray, np.ndarray]:
    """The rows whose latest measure is not the one the source states (an eGFR for the
    SmPC's creatinine clearance) and does not fire, while the older result of the stated
    measure is below the limit: the two measures may differ without any change in the
    kidney (Cockcroft-Gault runs below the eGFR in an old, light patient), so the newer
    eGFR cannot clear it; said as not checkable, both named (H414)."""
    n = len(clear)
    none = np.zeros(n, dtype=bool), np.full(n, "", dtype=object)
    stated = check.get("measure", analyte)
    if analyte == stated or not n:
        return none
    for other, orow, _ot in others:
        if other != stated:
            continue
        o = np.maximum(orow, 0)
        hit = clear & (orow >= 0) & ctcae.below(inp.labs.value[o], inp.labs.cmp[o], limit)
        if not hit.any():
            return none
        label = model.analyte_label(stated)
        words = cat(
            head,
            f": the older {label} is below {limit:g}, and the two measures can differ without any change in the "
            f"kidney: whether the {label} is below {limit:g} now cannot be told; ask for a current {label}: "
            f"{check['message']}",
        )
        return hit, _texts(words)
    return none


def _not_weekly(inp: Inputs, check: dict[str, Any]) -> list[_Found]:
    d = inp.doses
    rows = _rows_of(inp, check["drugs"])
    f = d.frequency[rows]
    # "every 2 days" is more often than weekly; "every 7 days" is weekly and "every 14 days"
    # less often: neither is the daily-dosing error this check is about
    often = np.array([more_often_than_weekly(x) for x in f], dtype=bool)
    spaced = np.array([weekly_or_less_often(x) for x in f], dtype=bool)
    every_days = often & ~np.isin(f, _DAILY)
    daily_amount = np.isfinite(d.mg_per_day[rows]) & ~np.isfinite(d.mg_per_week[rows]) & ~spaced
    hit = np.isin(f, _DAILY) | every_days | daily_amount
    fired = rows[hit]
    msg = cat(
        _LABEL[d.drug[fired]], " ", num(d.dose[fired]), " ", d.dose_unit[fired], " ", f[hit], f": {check['message']}"
    )
    return [_Found.plain(fired, check, msg)]


@cache
def coverage_rules() -> frozenset[str]:
    """The ids of the checks that state what the dose checks do not hold ("no dose check for
    this drug"): information about the tool's reach, never a finding about the patient, so
    they neither lead nor raise a patient's urgency on the Panel (the summary)."""
    return frozenset(c["id"] for c in checks() if c["type"] == "no_amount_check")


def _no_amount_check(inp: Inputs, check: dict[str, Any]) -> list[_Found]:
    """Every dose row of a drug whose amount no check holds against a maximum: an "info"
    row that says so, so that a dose above the usual one the Compare page states is never
    taken for a dose checked and found right (probe30 F8)."""
    d = inp.doses
    rows = _rows_of(inp, check["drugs"])
    pulsed = [DRUGS.index(x) for x in check.get("pulses_exempt", []) if x in DRUGS]
    if pulsed and len(rows):  # of these drugs, a pulse's amount is its regimen's: only a daily or weekly row
        kind = dose_totals.kind_codes(d.drug[rows], d.frequency[rows], d.route[rows])
        rows = rows[~(np.isin(d.drug[rows], pulsed) & (kind == dose_totals.KINDS.index("pulse")))]
    amount = np.where(np.isfinite(d.dose[rows]), cat(num(d.dose[rows]), " ", d.dose_unit[rows], " "), "")
    msg = cat(_LABEL[d.drug[rows]], " ", np.asarray(amount, dtype=object), d.frequency[rows], f": {check['message']}")
    return [_Found.plain(rows, check, msg)]


def _drug_ids(codes: np.ndarray) -> np.ndarray:
    """The drug ids of drug codes (the ``with_drug`` of an overlap row)."""
    return np.asarray(DRUGS, dtype=object)[codes]


def _texts(arr: pa.Array) -> np.ndarray:
    return np.asarray(arr.to_pylist(), dtype=object)


def evaluate(inp: Inputs) -> pa.Table:
    """The dose-check table (:data:`DOSE_CHECK_FIELDS`)."""
    d = inp.doses
    found: list[_Found] = []
    exposures: dict[str, exposure.Exposure] = {}
    if len(d):
        tot = _Totals.of(inp, mg_per_kg_day(inp))
        by_type: dict[str, Callable[[dict[str, Any]], list[_Found]]] = {
            "mg_per_kg_day_above": lambda c: _mg_per_kg_above(inp, c, tot),
            "phenotype_fraction": lambda c: _phenotype_fraction(inp, c, tot),
            "phenotype_any": lambda c: _phenotype_any(inp, c),
            "overlap_reduction": lambda c: _overlap_reduction(inp, c, tot),
            "overlap": lambda c: _overlap(inp, c),
            "overlap_above_mg_per_day": lambda c: _overlap_above_mg_per_day(inp, c, tot),
            "not_weekly": lambda c: _not_weekly(inp, c),
            "no_amount_check": lambda c: _no_amount_check(inp, c),
            "mg_per_day_above": lambda c: _amount_above(inp, c, tot, weekly=False),
            "mg_per_week_above": lambda c: _amount_above(inp, c, tot, weekly=True),
            "cumulative_above": lambda c: _cumulative_above(inp, c, exposures),
            "test_before_administration": lambda c: _test_before_administration(inp, c),
            "course_start_reminder": lambda c: _course_start_reminder(inp, c),
            "count_before_pulse_below": lambda c: _count_before_pulse_below(inp, c),
            "latest_result_below": lambda c: _latest_result_below(inp, c, tot),
        }
        for check in checks():
            run = by_type.get(check["type"])
            if run is None:
                raise ValueError(f"dose check {check['id']}: unknown type {check['type']!r}")
            found += run(check)
    found = [f for f in found if len(f.rows)]
    return _assemble(inp, found)


def _assemble(inp: Inputs, found: list[_Found]) -> pa.Table:
    d = inp.doses
    now = inp.cutoff - 1
    if not found:
        return pa.Table.from_arrays(
            [pa.array([], t) for _, t, _ in DOSE_CHECK_FIELDS], names=[f[0] for f in DOSE_CHECK_FIELDS]
        )

    def col(getter, dtype=object):
        return np.concatenate([np.asarray(getter(f), dtype=dtype) for f in found])

    rows = col(lambda f: f.rows, np.int64)
    start = col(lambda f: d.start[f.rows] if f.start is None else f.start, np.int64)
    end = col(lambda f: d.end[f.rows] if f.end is None else f.end, np.int64)
    group = col(lambda f: np.full(len(f.rows), f.group, dtype=object))
    rule = col(lambda f: np.full(len(f.rows), f.rule, dtype=object))
    sev = col(lambda f: f.severity)
    with_drug = col(lambda f: np.full(len(f.rows), "", dtype=object) if f.with_drug is None else f.with_drug)
    # one row per dose row, group and overlap: the most severe check of the group
    rank = np.array([severity_rank(s) for s in sev])
    key = np.array([f"{r}|{g}|{s}|{w}" for r, g, s, w in zip(rows, group, start, with_drug, strict=True)], dtype=object)
    order = np.lexsort((-rank, key))
    first = order[np.r_[True, key[order][1:] != key[order][:-1]]]
    keep = np.sort(first)
    status = np.where((start <= now) & (end > now), "open", "closed")
    data = {
        "patient_id": inp.patient_ids[d.pid[rows]],
        "drug": _drug_ids(d.drug[rows]),
        "with_drug": with_drug,
        "rule": rule,
        "kind": np.full(len(rows), "dose", dtype=object),
        "start": start,
        "end": end,
        "value": col(lambda f: f.value, float),
        "value_unit": col(lambda f: np.full(len(f.rows), f.value_unit, dtype=object)),
        "threshold": col(lambda f: f.threshold, float),
        "severity": sev,
        "message": col(lambda f: f.message),
        "source": col(lambda f: np.full(len(f.rows), f.source, dtype=object)),
        "status": status.astype(object),
    }
    sort = keep[np.lexsort((data["rule"][keep], start[keep], data["patient_id"][keep]))]
    arrays = []
    for name, typ, _ in DOSE_CHECK_FIELDS:
        v = data[name][sort]
        if pa.types.is_timestamp(typ):
            arrays.append(pa.array(v.astype(np.int64), pa.int64(), mask=v >= NEVER).cast(typ))
        else:
            arrays.append(pa.array(v, typ))
    return pa.Table.from_arrays(arrays, names=[f[0] for f in DOSE_CHECK_FIELDS])
