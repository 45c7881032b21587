"""Dose context of a result: the drugs in force when the blood was taken.

For each flagged result (patient, time):

* ``active_doses``  every dose row in force at that time (start <= t < end), as text:
  "Azathioprine 150 mg/day (2.31 mg/kg/day); Methotrexate 20 mg/week".  A daily dose
  shows mg/kg/day when the patient's weight is known;
* ``days_since_dose_change``  days since the latest start, change or stop of an
  immunosuppressant or an interacting drug (allopurinol, febuxostat);
* ``after_increase``  the result follows a dose increase of an immunosuppressant, or
  the start of one or of an interacting drug, by at most 12 weeks (84 days);
* ``days_since_pulse``  days since the latest pulse of a pulsed drug (IV
  cyclophosphamide), when at most 42 days;
* ``pulsed_monitored``  a monitored drug (an immunosuppressant) was pulsed in those 42
  days: recorded at the result though its row has ended;
* ``on_monitored``  a monitored drug (an immunosuppressant of drugs.toml) is in force;
* ``on_covered``  with ``covered`` (a flag per drug of DRUGS): one of those drugs is in
  force or recently ended (a guideline's own drugs, ``Profile.guideline_drugs``); False
  without it;
* ``recent_monitored``  a monitored drug not in force ended within its window before the
  result (``rules.toml`` [recorded_after_last_dose]: six weeks; rituximab six months;
  belimumab four weeks): still recorded at the result (H433); ``recent_doses`` names them
  ("Rituximab 1000 mg once, ended 2026-06-02");
* ``recorded_drugs``  with ``recorded``: the drugs (keys of DRUGS, ";"-separated, in
  the order of DRUGS) in force or recently ended as above, what the review records at
  the result (the summary's, read by the Panel's drug filter, probe27 F9); "" without;
* ``dose_context``  all of it in words, never contradicting itself (:func:`context_text`):
  "none recorded" only when the patient has no dose at all; "no dose in force
  (Azathioprine stopped 2024-03-01, 4 d before)" when doses exist but none was running.

The set of drugs in force only changes at dose boundaries, so the text is built once
per patient *epoch* (the time between two consecutive boundaries), not per result.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from dashboard import model
from dashboard.rules.data import DAY, NEVER, rules_file
from dashboard.rules.dose_totals import schedule_kind
from dashboard.rules.inputs import DRUGS, TRACKED, Inputs, date_texts, pair_key, to_date
from dashboard.rules.schedule import courses, last_at_or_before, pulse_dates

INCREASE_WINDOW_DAYS = 84
PULSE_WINDOW_DAYS = 42


@cache
def recorded_days() -> np.ndarray:
    """Per drug of DRUGS: the days after its last dose it is still recorded at a result
    (``rules.toml`` [recorded_after_last_dose]); 0 for a drug that is not monitored."""
    table = rules_file()["recorded_after_last_dose"]
    days = {name: int(v["days"]) for name, v in table.get("drugs", {}).items()}
    unknown = set(days) - set(DRUGS)
    if unknown:
        raise ValueError(f"rules.toml [recorded_after_last_dose]: unknown drugs {', '.join(sorted(unknown))}")
    default = int(table["default_days"])
    return np.array([days.get(d, default) if TRACKED[i] == "immunosuppressant" else 0 for i, d in enumerate(DRUGS)])


_LABEL = np.array([model.drug_label(d) for d in DRUGS], dtype=object)
_DAILY = ("daily", "BID", "TID", "QID")


def dose_text(inp: Inputs) -> np.ndarray:
    """One readable piece per dose row ("Methotrexate 20 mg/week")."""
    d = inp.doses
    weight = inp.weight[d.pid] if len(d) else np.zeros(0)
    out = []
    for i in range(len(d)):
        out.append(_one_dose(d.drug[i], d.dose[i], d.dose_unit[i], d.frequency[i], d.mg_per_day[i], weight[i]))
    return np.asarray(out, dtype=object)


def describe_dose(drug: str, dose: float, unit: str, freq: str, mg_day: float, weight: float = float("nan")) -> str:
    """One dose as the flags write it ("Azathioprine 150 mg/day (2.14 mg/kg/day)").

    ``drug`` is a generic id of the closed list; the figures and the panel use this so
    a dose reads the same everywhere.
    """
    return _one_dose(DRUGS.index(drug), dose, unit, freq, mg_day, weight)


def _one_dose(drug: int, dose: float, unit: str, freq: str, mg_day: float, weight: float) -> str:
    name = _LABEL[drug]
    unknown_freq = freq in ("", "unknown")
    if not np.isfinite(dose):
        return f"{name} (dose and frequency unknown)" if unknown_freq else f"{name} (dose unknown, {freq})"
    if unit == "mg" and not unknown_freq and freq != "single" and not np.isfinite(mg_day):
        # a product strength with a schedule but no count of tablets (dose_basis strength_only)
        return f"{name} {dose:g} mg tablets {freq} (strength only: amount per dose not stated)"
    if unit == "mg" and (freq in _DAILY or (freq.startswith("every ") and "days" in freq)) and np.isfinite(mg_day):
        text = f"{name} {mg_day:g} mg/day"
        if freq not in ("daily",):
            text += f" ({dose:g} mg {freq})"
        if np.isfinite(weight) and weight > 0:
            text += f" ({mg_day / weight:.2f} mg/kg/day)"
        return text
    if unit == "mg" and freq == "weekly":
        return f"{name} {dose:g} mg/week"
    if unknown_freq:
        return f"{name} {dose:g} {unit} (frequency unknown)"
    return f"{name} {dose:g} {unit} {freq}"


def join_distinct(group: np.ndarray, text: np.ndarray, n: int, sep: str, *, count_repeats: bool = False) -> np.ndarray:
    """Per group 0..n-1: its distinct texts joined by ``sep``, in order of first row ("" for
    a group without rows).  With ``count_repeats``, a text found on several rows of its
    group (overlapping records of the same dose) says how many:
    "Methotrexate 12 mg (2 overlapping records)".  Built by Arrow, a list per group
    joined at once (no Python loop over thousands of patients)."""
    out = np.full(n, "", dtype=object)
    if not len(group):
        return out
    enc = pc.dictionary_encode(pa.array(text, pa.string()))
    code = enc.indices.to_numpy(zero_copy_only=False).astype(np.int64)
    key = group.astype(np.int64) * max(len(enc.dictionary), 1) + code
    _, first, count = np.unique(key, return_index=True, return_counts=True)
    seen = np.argsort(first, kind="stable")  # the distinct (group, text) pairs by first row
    first, count = first[seen], count[seen]
    by_group = np.argsort(group[first], kind="stable")
    first, count = first[by_group], count[by_group]
    g = group[first]
    words = enc.dictionary.take(pa.array(code[first]))
    if count_repeats and (count > 1).any():
        repeats = pc.binary_join_element_wise(
            words, " (", pa.array(count).cast(pa.string()), " overlapping records)", ""
        )
        words = pc.if_else(pa.array(count > 1), repeats, words)
    starts = np.flatnonzero(np.r_[True, g[1:] != g[:-1]])
    lists = pa.ListArray.from_arrays(pa.array(np.r_[starts, len(g)].astype(np.int32)), words)
    out[g[starts]] = pc.binary_join(lists, sep).to_numpy(zero_copy_only=False)
    return out


def total_text(
    drug: str,
    frequencies: Sequence[str],
    routes: Sequence[str],
    mg_per_day: Sequence[float],
    mg_per_week: Sequence[float],
    weight: float = float("nan"),
) -> str:
    """The total of a drug's rows in force together, as every output writes it
    ("Azathioprine 175 mg/day in all (2.92 mg/kg/day)", "Methotrexate 25 mg/week in all"),
    the figure its dose checks judge (``rules/dose_totals.py``); "" for one row, rows on
    different schedules (daily with weekly, or a pulse), or a row whose amount is unknown."""
    if len(frequencies) < 2:
        return ""
    kinds = {schedule_kind(drug, str(f), str(r)) for f, r in zip(frequencies, routes, strict=True)}
    day, week = np.asarray(mg_per_day, dtype=float), np.asarray(mg_per_week, dtype=float)
    if kinds == {"daily"} and np.isfinite(day).all():
        total, unit = float(day.sum()), "mg/day"
    elif kinds == {"weekly"} and np.isfinite(week).all():
        total, unit = float(week.sum()), "mg/week"
    else:
        return ""
    text = f"{model.drug_label(drug)} {total:g} {unit} in all"
    if unit == "mg/day" and np.isfinite(weight) and weight > 0:
        text += f" ({total / weight:.2f} mg/kg/day)"
    return text


def _say_totals(inp: Inputs, pe: np.ndarray, pr: np.ndarray, per_epoch: np.ndarray) -> None:
    """Add to each epoch's doses the total of a drug given as several rows in force together
    (100 mg mane and 75 mg nocte: "Azathioprine 175 mg/day in all (2.92 mg/kg/day)"), the
    figure its dose checks judge (``rules/dose_totals.py``), when every row's amount is
    known and the rows are on one schedule (daily with daily, weekly with weekly)."""
    d = inp.doses
    if not len(pe):
        return
    key = pe.astype(np.int64) * len(DRUGS) + d.drug[pr]
    uniq, inv, cnt = np.unique(key, return_inverse=True, return_counts=True)
    for g in np.flatnonzero(cnt > 1):
        rows = pr[inv == g]
        drug = DRUGS[int(d.drug[rows[0]])]
        weight = inp.weight[d.pid[rows[0]]]
        text = total_text(drug, d.frequency[rows], d.route[rows], d.mg_per_day[rows], d.mg_per_week[rows], weight)
        if text:
            e = int(uniq[g] // len(DRUGS))
            per_epoch[e] = f"{per_epoch[e]}; {text}"


def totals_in_force(live, weight_of) -> dict[str, list[tuple[str, str]]]:  # live: pd.DataFrame
    """Per patient, (drug, total) of each drug given as several rows in force together
    (:func:`total_text`), for the outputs that list the rows of ``live`` (the doses in
    force on one date, ``model.doses_in_force``); ``weight_of(patient_id)`` in kg or NaN."""
    out: dict[str, list[tuple[str, str]]] = {}
    if live is None or len(live) < 2:
        return out
    for (pid, drug), rows in live.groupby(["patient_id", "drug"], sort=True, observed=True):
        text = total_text(
            str(drug),
            rows["frequency"].tolist(),
            rows["route"].tolist(),
            rows["mg_per_day"].tolist(),
            rows["mg_per_week"].tolist(),
            weight_of(pid),
        )
        if text:
            out.setdefault(str(pid), []).append((str(drug), text))
    return out


def covered_spans(
    drugs: Sequence[str], start: np.ndarray, end: np.ndarray, guideline_drugs: Sequence[str]
) -> list[tuple[int, int]]:
    """The times (int64 seconds, ``[from, to)``, merged, in order; ``to`` is NEVER while
    ongoing) when one patient is on a drug a guideline's limits are written for: what
    :func:`dose_context` calls ``on_covered`` (such a drug in force, or a monitored one
    ended within its window of ``rules.toml`` [recorded_after_last_dose]), as spans, for
    the timeline's guideline limit lines (probe43 F5)."""
    spans = []
    for drug, a, b in zip(drugs, np.asarray(start, dtype=np.int64), np.asarray(end, dtype=np.int64), strict=True):
        if drug not in guideline_drugs or drug not in DRUGS:
            continue
        k = DRUGS.index(drug)
        after = int(recorded_days()[k]) * DAY if b < NEVER and TRACKED[k] == "immunosuppressant" else 0
        spans.append((int(a), int(min(NEVER, b + after))))
    return merged_spans(spans)


def merged_spans(spans: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
    """Spans ``[from, to)`` (int64 seconds) in order, those that overlap or touch merged
    into one (the timeline's limit lines: :func:`covered_spans`, a drug's own limit)."""
    merged: list[tuple[int, int]] = []
    for a, b in sorted(spans):
        if merged and a <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], b))
        else:
            merged.append((a, b))
    return merged


def dose_context(
    inp: Inputs, pid: np.ndarray, t: np.ndarray, covered: np.ndarray | None = None, *, recorded: bool = False
) -> dict[str, np.ndarray]:
    """Context columns for results at (pid, t) (see the module docstring)."""
    n = len(pid)
    d = inp.doses
    out = {
        "active_doses": np.full(n, "", dtype=object),
        "days_since_dose_change": np.full(n, np.nan),
        "last_change": np.full(n, NEVER, dtype=np.int64),
        "after_increase": np.zeros(n, dtype=bool),
        "last_increase": np.full(n, NEVER, dtype=np.int64),
        "days_since_pulse": np.full(n, np.nan),
        "on_glucocorticoid": np.zeros(n, dtype=bool),
        "active_drugs": np.full(n, "", dtype=object),
        "pulsed_monitored": np.zeros(n, dtype=bool),
        "on_monitored": np.zeros(n, dtype=bool),
        "on_covered": np.zeros(n, dtype=bool),
        "recent_monitored": np.zeros(n, dtype=bool),
        "recent_doses": np.full(n, "", dtype=object),
        "recorded_drugs": np.full(n, "", dtype=object),
    }
    if not len(d) or not n:
        return out

    # epochs: patient boundaries (starts, ends, and the end of each monitored drug's
    # "recently ended" window), the result falls in the latest one before it
    finite_end = d.end < NEVER
    window = recorded_days()[d.drug] * DAY
    ending = finite_end & (TRACKED[d.drug] == "immunosuppressant")
    bkey = np.unique(
        np.r_[
            pair_key(d.pid, d.start),
            pair_key(d.pid[finite_end], d.end[finite_end]),
            pair_key(d.pid[ending], d.end[ending] + window[ending]),
        ]
    )
    span = np.int64(2**41)
    bpid, bt = bkey // span, bkey % span - 2**40
    e = np.searchsorted(bkey, pair_key(pid, t), side="right") - 1
    valid = (e >= 0) & (bpid[np.maximum(e, 0)] == pid)
    used = np.unique(e[valid])
    pos = np.searchsorted(used, e[valid])  # the epoch of each valid result, as a position in `used`

    # (epoch, dose row) pairs of the same patient, kept when the dose is in force
    dlo = np.searchsorted(d.pid, bpid[used], side="left")
    dhi = np.searchsorted(d.pid, bpid[used], side="right")
    count = dhi - dlo
    pe = np.repeat(np.arange(len(used)), count)
    pr = np.repeat(dlo, count) + (np.arange(count.sum()) - np.repeat(np.cumsum(count) - count, count))
    at = bt[used][pe]
    live = (d.start[pr] <= at) & (d.end[pr] > at)
    recent = ending[pr] & (d.end[pr] <= at) & (at < d.end[pr] + window[pr])
    re_, rr = pe[recent], pr[recent]
    pe, pr = pe[live], pr[live]
    if len(re_):  # a drug still in force in another row (a dose change) has not ended
        going = np.isin(re_ * len(DRUGS) + d.drug[rr], pe * len(DRUGS) + d.drug[pr])
        re_, rr = re_[~going], rr[~going]
    if len(re_):  # of one drug's ended rows, its last: an earlier one was a dose change (probe28 F7)
        key = re_ * len(DRUGS) + d.drug[rr]
        order = np.lexsort((d.end[rr], key))
        last = order[np.r_[key[order][1:] != key[order][:-1], True]]
        re_, rr = re_[last], rr[last]

    texts = dose_text(inp)
    per_epoch = join_distinct(pe, texts[pr], len(used), "; ", count_repeats=True)
    _say_totals(inp, pe, pr, per_epoch)
    drugs_epoch = join_distinct(pe, np.asarray(DRUGS, dtype=object)[d.drug[pr]], len(used), ";")
    steroid = np.zeros(len(used), dtype=bool)
    steroid[pe[TRACKED[d.drug[pr]] == "glucocorticoid"]] = True
    monitored = np.zeros(len(used), dtype=bool)
    monitored[pe[TRACKED[d.drug[pr]] == "immunosuppressant"]] = True

    out["active_doses"][valid] = per_epoch[pos]
    out["active_drugs"][valid] = drugs_epoch[pos]
    if recorded:
        held = np.unique(np.r_[pe, re_] * len(DRUGS) + np.r_[d.drug[pr], d.drug[rr]])  # by epoch, then drug
        names = np.asarray(DRUGS, dtype=object)[held % len(DRUGS)]
        out["recorded_drugs"][valid] = join_distinct(held // len(DRUGS), names, len(used), ";")[pos]
    out["on_glucocorticoid"][valid] = steroid[pos]
    out["on_monitored"][valid] = monitored[pos]
    if len(re_):  # monitored drugs that ended within their window: still recorded (H433)
        lately = np.zeros(len(used), dtype=bool)
        lately[re_] = True
        out["recent_monitored"][valid] = lately[pos]
        ended = date_texts(d.end[rr])  # a single administration: the day after it (model.in_force_until)
        said = join_distinct(re_, texts[rr] + ", ended " + ended, len(used), "; ")
        out["recent_doses"][valid] = said[pos]
    if covered is not None and covered.any():
        mine = np.zeros(len(used), dtype=bool)
        mine[pe[covered[d.drug[pr]]]] = True
        mine[re_[covered[d.drug[rr]]]] = True
        out["on_covered"][valid] = mine[pos]

    # latest change of an immunosuppressant or interacting drug
    tracked = np.isin(TRACKED[d.drug], ("immunosuppressant", "interaction"))
    ends = tracked & finite_end
    ckey_all = np.r_[pair_key(d.pid[tracked], d.start[tracked]), pair_key(d.pid[ends], d.end[ends])]
    cpid = np.r_[d.pid[tracked], d.pid[ends]]
    ct = np.r_[d.start[tracked], d.end[ends]]
    order = np.argsort(ckey_all, kind="stable")
    last_change = last_at_or_before(ckey_all[order], cpid[order], ct[order], pid, t)
    out["days_since_dose_change"] = np.where(last_change < NEVER, (t - last_change) // DAY, np.nan)
    out["last_change"] = last_change

    # latest increase (or start) of an immunosuppressant, or start of an interacting drug
    c = courses(inp)
    is_inc = np.where(TRACKED[d.drug] == "immunosuppressant", c["increase"], False)
    is_inc |= (TRACKED[d.drug] == "interaction") & (c["course_start"] == d.start)
    ikey = pair_key(d.pid[is_inc], d.start[is_inc])
    order = np.argsort(ikey, kind="stable")
    last_inc = last_at_or_before(ikey[order], d.pid[is_inc][order], d.start[is_inc][order], pid, t)
    out["last_increase"] = last_inc
    out["after_increase"] = (last_inc < NEVER) & (t - last_inc <= INCREASE_WINDOW_DAYS * DAY)

    ppid, pt, prow = pulse_dates(inp)
    last_pulse = last_at_or_before(pair_key(ppid, pt), ppid, pt, pid, t)
    since = (t - last_pulse) / DAY
    out["days_since_pulse"] = np.where((last_pulse < NEVER) & (since <= PULSE_WINDOW_DAYS), np.floor(since), np.nan)
    # a pulse of a monitored drug (IV cyclophosphamide) in that window: the drug is
    # recorded at the result, though its row is no longer in force (H296)
    mon = TRACKED[d.drug[prow]] == "immunosuppressant"
    if mon.any():
        mp, mt = ppid[mon], pt[mon]
        last_mon = last_at_or_before(pair_key(mp, mt), mp, mt, pid, t)
        out["pulsed_monitored"] = (last_mon < NEVER) & (t - last_mon <= PULSE_WINDOW_DAYS * DAY)
    return out


def context_text(inp: Inputs, pid: np.ndarray, t: np.ndarray, ctx: dict[str, np.ndarray]) -> np.ndarray:
    """The dose context of results at (pid, t) in words, from :func:`dose_context`'s columns.

    "none recorded" only when the patient has no dose at all in the data; when doses
    exist but none was in force, it says so and names the last one that ended; the days
    since a change and the last increase are written so they cannot contradict the
    doses named.
    """
    n = len(pid)
    d = inp.doses
    if not n:
        return np.zeros(0, dtype=object)
    has_dose = np.zeros(inp.n_patients, dtype=bool)
    first_start = np.full(inp.n_patients, NEVER, dtype=np.int64)
    if len(d):
        has_dose[d.pid] = True
        np.minimum.at(first_start, d.pid, d.start)
    active = ctx["active_doses"]
    # (the two words taken from an object array: no text array of a Python string per row)
    words = np.array(["none recorded", "no dose in force"], dtype=object)[has_dose[pid].astype(np.int8)]
    lead = np.where(active != "", active, words).astype(object)

    # nothing in force although the patient has doses: name the last dose that ended
    idle = np.flatnonzero((active == "") & has_dose[pid])
    if len(idle):
        ended = np.flatnonzero(d.end < NEVER)
        ekey = pair_key(d.pid[ended], d.end[ended])
        order = np.argsort(ekey, kind="stable")
        ekey, ended = ekey[order], ended[order]
        j = np.searchsorted(ekey, pair_key(pid[idle], t[idle]), side="right") - 1
        text = dose_text(inp)
        for i, jj in zip(idle.tolist(), j.tolist(), strict=True):
            if jj >= 0 and d.pid[ended[jj]] == pid[i]:
                row = ended[jj]
                days = (int(t[i]) - int(d.end[row])) // DAY
                lead[i] = f"no dose in force ({text[row]} ended {to_date(int(d.end[row])):%Y-%m-%d}, {days} d before)"
            elif first_start[pid[i]] > t[i]:
                lead[i] = (
                    f"no dose in force (the first dose on record starts {to_date(int(first_start[pid[i]])):%Y-%m-%d})"
                )

    recent = ctx.get("recent_doses")
    if recent is not None:  # drugs still recorded beside the doses in force, or beside the
        # last dose named as ended when that was another drug (H433, probe27 F6)
        said: dict[tuple[str, str], str] = {}  # each distinct (lead, recent) pair worked out once
        for i in np.flatnonzero(recent != "").tolist():
            key = (lead[i], str(recent[i]))
            if key not in said:
                unsaid = [part for part in key[1].split("; ") if part.split(", ended ")[0] not in key[0]]
                said[key] = f"{key[0]}; recently ended: {'; '.join(unsaid)}" if unsaid else key[0]
            lead[i] = said[key]
    since = ctx["days_since_dose_change"]
    pulse = ctx["days_since_pulse"]
    out = lead

    def add(mask: np.ndarray, values: np.ndarray, fmt) -> None:
        """Append ``fmt(value)`` to the rows of ``mask`` (each distinct value formatted once)."""
        if mask.any():
            uniq, inv = np.unique(values[mask], return_inverse=True)
            texts = np.array([fmt(v) for v in uniq.tolist()], dtype=object)
            out[mask] = out[mask] + texts[inv]  # object arrays of str concatenate element-wise

    # a change on the day of the draw: a dose is dated, a draw is timed, so the blood may
    # well have been taken before the first new dose; said as such, never "0 d since"
    change = ctx["last_change"]
    same_day = (active != "") & (change < NEVER) & (t // DAY == change // DAY)
    add((active != "") & np.isfinite(since) & ~same_day, since, lambda x: f"; {int(x)} d since the last dose change")
    if same_day.any():
        out[same_day] = out[same_day] + (
            "; the dose changed on the day of this draw (a result drawn before the first new dose reflects the "
            "previous one)"
        )
    add(np.isfinite(pulse), pulse, lambda x: f"; {int(x)} d after the last pulse")
    increase = ctx["last_increase"]
    add(
        ctx["after_increase"] & (increase < NEVER) & (t // DAY != increase // DAY),
        increase,
        lambda x: f"; within 12 weeks of an increase or start ({to_date(int(x)):%Y-%m-%d})",
    )
    return out
