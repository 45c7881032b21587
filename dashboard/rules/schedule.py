"""Monitoring schedule: when each patient's next blood test is due, and whether it is overdue.

Per patient and drug with a blood-test schedule (``schedule.toml``) that is being taken
on the review date:

* phase schedules (BSR 2017 style): the interval at the last test comes from the days
  since the current course started (or, after a titration in the initial phases, since
  its last step: :func:`phase_anchor`), or is fortnightly while a dose increase is less
  than ``after_increase_stable_days`` old; next due = last test on the drug + interval
  (or course start / increase + the fortnightly interval when no test followed it);
* pulse schedules (IV cyclophosphamide): a blood count is due in the nadir window
  (days 8-14) after each pulse and before the next pulse.

Overdue: the review date is later than the due date plus the grace days.

What counts as a test is per schedule (``check``: test groups such as the full blood
count, creatinine/eGFR, ALT/AST).  Each group of a phase schedule is due on its own
date, from its own last result in the course (a group never recorded does not hide
the others); the row's next test is the earliest of them, and the review names every
group due by the review date, each with its own date and lateness (``due_groups``).
``last_test`` is the last complete check (every group done; as old as its oldest
group).  A dose increase is a rise of the drug's total in force
(:func:`courses`).  The drug -> schedule map depends on the
monitoring profile ("BSR 2025", the default, or "BSR 2017"); under BSR 2025 a
clinician-set, risk-adapted maintenance interval per patient replaces the last phase's.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import cache
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from dashboard import model
from dashboard.ingest.frequency import is_pulse
from dashboard.rules import dose_totals, tables
from dashboard.rules.data import DAY, NEVER, schedule_file, severity_rank
from dashboard.rules.hits import cat, num
from dashboard.rules.inputs import DRUGS, Doses, Inputs, course_breaks, course_gap, pair_key
from dashboard.rules.tables import Column

DEFAULT_SCHEDULE_PROFILE = "BSR 2025"

SCHEDULE_FIELDS: tuple[Column, ...] = tables.columns("schedule")


@cache
def schedules() -> dict[str, dict[str, Any]]:
    return schedule_file()["schedules"]


@cache
def spec_for(schedule_id: str, profile: str = DEFAULT_SCHEDULE_PROFILE) -> dict[str, Any]:
    """A schedule as a monitoring profile applies it: ``check`` may name the test groups
    per profile (``{ default = [...], "BSR 2017" = [...] }``); where the profile's own
    set applies, the profile's note of ``[check_notes]`` is added to the description."""
    spec = schedules()[schedule_id]
    check = spec.get("check")
    if not isinstance(check, dict):
        return spec
    out = dict(spec)
    out["check"] = list(check[profile] if profile in check else check["default"])
    note = schedule_file().get("check_notes", {}).get(profile) if profile in check else None
    if note:
        out["description"] = f"{spec['description']} ({note})"
    return out


def drug_map(profile: str = DEFAULT_SCHEDULE_PROFILE) -> dict[str, Any]:
    """Drug -> schedule under a monitoring profile (the top-level map, overridden)."""
    sched = schedule_file()
    return {**sched["drugs"], **sched.get("profiles", {}).get(profile, {}).get("drugs", {})}


def extra_items(profile: str = DEFAULT_SCHEDULE_PROFILE) -> dict[str, list[str]]:
    """Drug -> the extra monitoring items (schedules such as blood pressure) it has under
    a monitoring profile, besides its blood-test schedule."""
    sched = schedule_file()
    return {**sched.get("also", {}), **sched.get("profiles", {}).get(profile, {}).get("also", {})}


def drug_notes(profile: str = DEFAULT_SCHEDULE_PROFILE) -> dict[str, str]:
    """Drug -> what the profile's drug map decides for it without a source (said on the
    drug's blood-test schedule rows)."""
    return dict(schedule_file().get("profiles", {}).get(profile, {}).get("drug_notes", {}))


def combinations(profile: str = DEFAULT_SCHEDULE_PROFILE) -> dict[str, dict[str, Any]]:
    """Drug combinations that shorten the blood-test interval under a monitoring profile
    (the top-level ``[combinations]``, overridden by the profile's own)."""
    sched = schedule_file()
    return {**sched.get("combinations", {}), **sched.get("profiles", {}).get(profile, {}).get("combinations", {})}


def combination_members(combo: dict[str, Any]) -> list[list[str]]:
    """The members of a combination, each a list of drugs any one of which counts
    (``drugs = [["azathioprine", "mercaptopurine"], "allopurinol"]``: a thiopurine with
    allopurinol)."""
    return [list(m) if isinstance(m, list) else [m] for m in combo["drugs"]]


def combination_phases(combo: dict[str, Any]) -> tuple[tuple[int | None, int], ...]:
    """A combination's steps, in order: (``until_stable_days``, ``every_days``); the last
    may have no ``until_stable_days`` (None: for as long as the combination is taken)."""
    return tuple(
        (None if "until_stable_days" not in p else int(p["until_stable_days"]), int(p["every_days"]))
        for p in combo["phases"]
    )


def combination_state(inp: Inputs, c: dict[str, np.ndarray], now: int, profile: str) -> list[dict[str, Any]]:
    """Per combination of the profile: which patients take a drug of every member of it on
    the review date (``active``, per patient code) and since when it has been stable
    (``since``: the later of the latest course start and the latest dose increase of any
    of its drugs)."""
    d = inp.doses
    out = []
    for combo in combinations(profile).values():
        active = np.ones(inp.n_patients, dtype=bool)
        since = np.full(inp.n_patients, -(2**62), dtype=np.int64)
        codes = []
        for member in combination_members(combo):
            member_codes = [DRUGS.index(x) for x in member if x in DRUGS]
            codes += member_codes
            mine = np.isin(d.drug, member_codes)
            taking = np.zeros(inp.n_patients, dtype=bool)
            taking[d.pid[mine & (d.start <= now) & (d.end > now)]] = True
            active &= taking
            # a course start is an "increase" too (courses())
            inc = np.flatnonzero(mine & c["increase"] & (d.start <= now))
            latest = np.full(inp.n_patients, -(2**62), dtype=np.int64)
            np.maximum.at(latest, d.pid[inc], d.start[inc])
            since = np.maximum(since, latest)
        out.append({**combo, "codes": codes, "active": active, "since": since})
    return out


def counts_on_panel(schedule_id: str) -> bool:
    """Whether an overdue row of this schedule makes the patient overdue on the panel: not
    for an item graded "info" when overdue (a clinic check such as blood pressure, rarely
    in an export), which is listed on the Patient page on its own."""
    spec = schedules().get(schedule_id, {})
    return spec.get("overdue_severity", schedule_file()["overdue_severity"]) != "info"


def test_groups() -> dict[str, dict[str, Any]]:
    return schedule_file()["test_groups"]


@cache
def check_labels(schedule_id: str, profile: str = DEFAULT_SCHEDULE_PROFILE) -> frozenset[str]:
    """The labels of the blood test groups a schedule's check asks for under ``profile``
    (empty for a row that is not one of the schedules: a repeat test of a rule)."""
    if schedule_id not in schedules():
        return frozenset()
    groups = test_groups()
    return frozenset(groups[g]["label"] for g in spec_for(schedule_id, profile).get("check", []) if g != "bp")


@cache
def short_group_label(label: str) -> str:
    """A test group's short name for a narrow cell ("FBC"), from its label as the
    schedule rows write it ("full blood count"); the label itself when it has none."""
    for group in test_groups().values():
        if group["label"] == label:
            return str(group.get("short", label))
    return label


def schedule_name(drug: str, frequency: str, route: str, profile: str = DEFAULT_SCHEDULE_PROFILE) -> str:
    """The schedule a dose row follows ("" for a drug with none listed)."""
    entry = drug_map(profile).get(drug, "")
    if isinstance(entry, dict):
        pulse = is_pulse(frequency, route)
        return entry["pulse"] if pulse else entry["daily"]
    return entry


def row_schedules(doses: Doses, profile: str = DEFAULT_SCHEDULE_PROFILE) -> np.ndarray:
    """Schedule id per dose row (object array)."""
    cache: dict[tuple[str, str, str], str] = {}  # once per distinct (drug, frequency, route)
    out = []
    for d, f, r in zip(doses.drug, doses.frequency, doses.route, strict=True):
        key = (DRUGS[d], f, r)
        if key not in cache:
            cache[key] = schedule_name(*key, profile)
        out.append(cache[key])
    return np.asarray(out, dtype=object)


def pulse_dates(inp: Inputs, horizon_days: int = 62) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pulses of pulse-schedule rows: (patient, time, dose row), sorted by patient and time.

    See :func:`administrations` for how a row's pulses are laid out.
    """
    d = inp.doses
    names = row_schedules(d)
    is_pulse_row = np.array([schedules().get(n, {}).get("kind") == "pulse" for n in names], dtype=bool)
    return administrations(inp, np.flatnonzero(is_pulse_row), horizon_days)


def administrations(inp: Inputs, rows: np.ndarray, horizon_days: int = 62) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Administrations of pulsed dose rows ``rows``: (patient, time, dose row), sorted by
    patient and time.

    Laid out by :func:`pulse_times`; pulses run from the start until the end, or
    ``horizon_days`` after the review date when ongoing.
    """
    d = inp.doses
    empty = np.zeros(0, np.int64)
    if not len(rows):
        return empty, empty, empty
    stop = np.minimum(d.end[rows], inp.cutoff + horizon_days * DAY)
    which, t = pulse_times(d.start[rows], stop, d.frequency[rows], d.per_day[rows])
    pid, row = d.pid[rows][which], rows[which]
    order = np.lexsort((t, pid))
    return pid[order], t[order], row[order]


def pulse_times(
    start: np.ndarray, stop: np.ndarray, frequency: np.ndarray, per_day: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The one rule of pulse dates (the review's nadir windows and the timeline's markers):
    (index of the row, time in int64 seconds), row by row in time order, of pulsed rows
    given by their start, the first second no pulse is laid on (``stop``: the end, or a
    horizon), frequency and administrations per day (:func:`dashboard.rules.inputs.per_day`).

    A row given "every N weeks" (or every N days) pulses every N weeks (days), "monthly"
    on the same day of each month (the month's last day when it is shorter: 31 January,
    29 February), "single" (or with no known frequency) once, on its start.  Every row
    pulses on its start, whatever its end.
    """
    start = np.asarray(start, np.int64)
    stop = np.asarray(stop, np.int64)
    frequency = np.asarray(frequency, dtype=object)
    per_day = np.asarray(per_day, dtype=float)
    monthly = frequency == "monthly"
    periodic = ~monthly & np.isfinite(per_day) & (per_day > 0)
    single = ~monthly & ~periodic
    count = np.ones(len(start), dtype=np.int64)
    period = np.where(periodic, np.round(1 / np.where(periodic, per_day, 1)), 0).astype(np.int64) * DAY
    count[periodic] = -(-(stop[periodic] - start[periodic]) // period[periodic])
    start_day = (start // DAY).astype("datetime64[D]")
    month0 = start_day.astype("datetime64[M]")
    stop_month = (stop // DAY).astype("datetime64[D]").astype("datetime64[M]")
    count[monthly] = (stop_month[monthly] - month0[monthly]).astype(np.int64) + 1
    count = np.clip(count, 1, 1000)
    rep = np.repeat(np.arange(len(start)), count)
    k = np.arange(len(rep)) - np.repeat(np.cumsum(count) - count, count)
    t = start[rep] + k * period[rep]
    # calendar months: the same day of the month, or the month's last day
    months = month0[rep] + k
    month_len = ((months + 1).astype("datetime64[D]") - months.astype("datetime64[D]")).astype(np.int64)
    offset = (start_day - month0.astype("datetime64[D]")).astype(np.int64)[rep]
    day = months.astype("datetime64[D]") + np.minimum(offset, month_len - 1)
    t = np.where(monthly[rep], day.astype(np.int64) * DAY + start[rep] % DAY, t)
    # a pulsed row states at least its first pulse, on its start, even when its end is
    # that same day (one infusion recorded as a course of one day, H295)
    keep = single[rep] | (t < stop[rep]) | (k == 0)
    return rep[keep], t[keep]


def test_times(inp: Inputs, analytes: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Draws of any of ``analytes``: (key, patient, time), sorted by patient and time, unique."""
    labs = inp.labs
    parts = [labs.slice(a) for a in analytes]
    pid = np.concatenate([labs.pid[s] for s in parts] or [np.zeros(0, np.int64)])
    t = np.concatenate([labs.t[s] for s in parts] or [np.zeros(0, np.int64)])
    key = np.unique(pair_key(pid, t))
    span = np.int64(2**41)
    return key, key // span, key % span - 2**40


def last_at_or_before(
    key: np.ndarray, pid: np.ndarray, t: np.ndarray, q_pid: np.ndarray, q_t: np.ndarray
) -> np.ndarray:
    """Latest ``t`` of the same patient at or before ``q_t`` (NEVER if none); rows sorted by ``key``."""
    if not len(key):
        return np.full(len(q_pid), NEVER, dtype=np.int64)
    j = np.searchsorted(key, pair_key(q_pid, q_t), side="right") - 1
    jj = np.maximum(j, 0)
    return np.where((j >= 0) & (pid[jj] == q_pid), t[jj], NEVER)


def first_at_or_after(
    key: np.ndarray, pid: np.ndarray, t: np.ndarray, q_pid: np.ndarray, q_t: np.ndarray
) -> np.ndarray:
    """Earliest ``t`` of the same patient at or after ``q_t`` (NEVER if none)."""
    if not len(key):
        return np.full(len(q_pid), NEVER, dtype=np.int64)
    j = np.searchsorted(key, pair_key(q_pid, q_t), side="left")
    jj = np.minimum(j, len(key) - 1)
    return np.where((j < len(key)) & (pid[jj] == q_pid), t[jj], NEVER)


def courses(inp: Inputs) -> dict[str, np.ndarray]:
    """Per dose row: its course start, whether it is a dose increase, whether it starts a
    course (``new_course``) and its course stream (``stream``: :func:`course_streams`):
    worked out once per :class:`Inputs` (the dose context, the schedule and the dose
    checks all read it), read-only."""
    if inp.course_rows is None:
        found = _courses(inp)
        for a in found.values():
            a.setflags(write=False)
        inp.course_rows = found
    return inp.course_rows


def course_streams(doses: Doses) -> np.ndarray:
    """Per dose row, which rows make courses together (an int per row): the rows of one
    drug that follow the same schedules under every monitoring profile.  A drug whose rows
    follow different schedules (cyclophosphamide: IV pulses, or daily by mouth) has a
    course per schedule, so daily oral treatment after IV pulses begins its own course with
    its own first months (probe32 F3); every other drug has one stream."""
    if not len(doses):
        return np.zeros(0, np.int64)
    names = [row_schedules(doses, p) for p in ("", *schedule_file().get("profiles", {}))]
    codes = [np.asarray(doses.drug, dtype=np.int64)]
    codes += [np.unique(np.asarray(x, dtype=object).astype(str), return_inverse=True)[1].reshape(-1) for x in names]
    _, code = np.unique(np.stack(codes, axis=1), axis=0, return_inverse=True)  # compact: about one per drug
    return code.reshape(-1).astype(np.int64)


def _courses(inp: Inputs) -> dict[str, np.ndarray]:
    """:func:`courses`, worked out.

    Courses are per drug and schedule (:func:`course_streams`, ``stream``).  A course is a
    run of rows of one stream where no row starts later than the latest end of every
    earlier row plus that row's own dosing interval (:func:`dashboard.rules.inputs.course_gap`:
    a day for a daily drug, a week for a weekly one; a short extra row inside a longer one
    never splits it).  An increase is the first row of a course, or a row at whose start
    the drug's total in force rises: the rows in force together
    (:func:`dashboard.rules.dose_totals.in_force_together`) are added up, just after the
    start and just before it, in one unit (mg/day, or the row's dose unit when its mg/day
    is unknown), never one row against another.
    """
    d = inp.doses
    n = len(d)
    if not n:
        z = np.zeros(0, np.int64)
        return {"course_start": z, "increase": np.zeros(0, bool), "new_course": np.zeros(0, bool), "stream": z}
    stream = course_streams(d)
    reach_by = d.course_end + course_gap(d.per_day)  # NEVER stays far above any start
    gap = np.zeros(n, dtype=bool)
    course_start = np.zeros(n, dtype=np.int64)
    for code in np.unique(stream):
        rows = np.flatnonzero(stream == code)  # by patient, then start (rows are sorted so)
        start = d.start[rows]
        new = course_breaks(d.pid[rows], start, reach_by[rows])
        gap[rows] = new
        course_start[rows] = start[new][np.cumsum(new) - 1]
    more = ~gap & _total_rises(inp, course_start)
    return {"course_start": course_start, "increase": gap | more, "new_course": gap, "stream": stream}


def _total_rises(inp: Inputs, course_start: np.ndarray) -> np.ndarray:
    """Per dose row: whether the total of its drug's rows in force (of the row's schedule
    kind) is higher from the row's start than just before it, within the course.  Both
    totals must be known in one unit; an unknown amount is never read as a rise or a
    fall."""
    d = inp.doses
    n = len(d)
    tg = dose_totals.of_inputs(inp)
    mg = np.isfinite(d.mg_per_day)
    # A row in mg without mg/day states no amount (a product strength with no count of
    # tablets, H293): never its strength times the frequency.  Other units (mg/kg, mg/m2)
    # are compared as written, per day.
    value = np.where(mg, d.mg_per_day, np.where(d.dose_unit == "mg", np.nan, d.dose * d.per_day))
    unit = np.where(mg, "mg", d.dose_unit.astype(str))
    _, unit_code = np.unique(unit, return_inverse=True)
    total, complete = tg.total(value)
    lo = np.minimum.reduceat(unit_code[tg.members], tg.offsets[:-1])
    hi = np.maximum.reduceat(unit_code[tg.members], tg.offsets[:-1])
    known = complete & np.isfinite(total) & (lo == hi)
    # the interval that begins at each row's start (every row has one: cut at its start)
    owner = tg.owner()
    first = tg.start[owner] == d.start[tg.members]
    at = np.full(n, -1, dtype=np.int64)
    at[tg.members[first]] = owner[first]
    i = np.clip(at, 1, max(len(tg) - 1, 0))
    p = np.maximum(i - 1, 0)
    same = (tg.pid[p] == tg.pid[i]) & (tg.drug[p] == tg.drug[i]) & (tg.kind[p] == tg.kind[i])
    ok = (at > 0) & same & (tg.end[p] >= course_start) & known[i] & known[p] & (lo[i] == lo[p])
    return ok & (total[i] > total[p] * (1 + 1e-9))


def group_last_tests(inp: Inputs, spec: dict[str, Any], pid: np.ndarray, since: np.ndarray) -> list[np.ndarray]:
    """Per test group of the schedule's check: the latest draw of the group at or before
    the review day and not before ``since`` (NEVER when none)."""
    out = []
    for group in spec["check"]:
        key, tpid, tt = test_times(inp, tuple(test_groups()[group]["analytes"]))
        last = last_at_or_before(
            key, tpid, tt, pid, np.full(len(pid), inp.cutoff - 1)
        )  # a draw on the review day counts
        out.append(np.where(last >= since, last, NEVER))
    return out


def pulse_follow_up_end(inp: Inputs, names: np.ndarray) -> np.ndarray:
    """Per dose row, when its schedule stops being in force: the row's end, except for the
    rows of a pulse schedule, which are followed until ``followed_after_last_pulse_days``
    after their last pulse, so that the nadir count after it is still asked for (and
    overdue when missed).  A single pulse (or one with no frequency) is followed that long
    after it whatever its end says; a course with an end is followed at least that long
    after its last pulse; an ongoing course keeps its open end."""
    d = inp.doses
    end = d.end.copy()
    for name, spec in schedules().items():
        if spec.get("kind") != "pulse":
            continue
        follow = int(spec["followed_after_last_pulse_days"]) * DAY
        mine = names == name
        single = mine & ~(np.isfinite(d.per_day) & (d.per_day > 0)) & (d.frequency != "monthly")
        end[single] = d.start[single] + follow
        course = np.flatnonzero(mine & ~single)
        if not len(course):
            continue
        _, t, row = administrations(inp, course)
        last = np.full(len(d), -(2**62), dtype=np.int64)
        np.maximum.at(last, row, t)
        end[course] = np.maximum(end[course], last[course] + follow)
    return end


def evaluate(inp: Inputs, profile: str = DEFAULT_SCHEDULE_PROFILE) -> pa.Table:
    """The schedule table (:data:`SCHEDULE_FIELDS`) as of ``inp.as_of``: one row per
    patient and drug being taken that has a blood-test schedule, under the monitoring
    profile ``profile``."""
    d = inp.doses
    now = inp.cutoff - DAY  # the review date, 00:00
    names = row_schedules(d, profile)
    kinds = np.array([schedules().get(x, {}).get("kind", "none") for x in names], dtype=object)
    c = courses(inp)
    end = pulse_follow_up_end(inp, names)
    in_force = (d.start <= now) & (end > now) if len(d) else np.zeros(0, bool)
    active = in_force & (kinds != "none") if len(d) else np.zeros(0, bool)
    # (schedule id, rows that follow it): the blood-test schedules, then the extra items
    # (blood pressure ...) of the drugs being taken
    plan = [(sched_id, active & (names == sched_id), True) for sched_id in sorted(set(names[active]))]
    extras = extra_items(profile)
    for item in sorted({x for items in extras.values() for x in items}):
        codes = [i for i, drug in enumerate(DRUGS) if item in extras.get(drug, ())]
        plan.append((item, in_force & np.isin(d.drug, codes), False))
    top = schedule_file()
    combos = combination_state(inp, c, now, profile)
    reach = course_reach(d, c) if len(d) else np.zeros(0, np.int64)
    parts = []
    for sched_id, mask, blood_tests in plan:
        spec = spec_for(sched_id, profile)
        rows = np.flatnonzero(mask)
        if not len(rows):
            continue
        last_of_drug = np.r_[(d.pid[rows][1:] != d.pid[rows][:-1]) | (d.drug[rows][1:] != d.drug[rows][:-1]), True]
        rows = rows[last_of_drug]  # one row per patient and drug
        if spec["kind"] == "pulse":
            part = _pulse_due(inp, rows, spec, c, now)
        else:
            part = _phase_due(inp, rows, spec, c, now, combos if blood_tests else [])
            if blood_tests:
                _say_ending(inp, rows, part, reach)
                _say_planned_increase(inp, rows, part, spec, profile)
        grace = int(spec.get("grace_days", 0)) * DAY
        due_day = part["due_by"] // DAY * DAY  # lateness counts calendar days, as a clinician does
        overdue = (now > due_day + grace) & (part["due_by"] < NEVER)
        late = np.where(overdue, (now - due_day) // DAY, 0)
        long_late = late > np.maximum(part["interval"], 14)
        sev_over = spec.get("overdue_severity", top["overdue_severity"])
        sev_long = spec.get("long_overdue_severity", top["long_overdue_severity"])
        sev = np.where(overdue, np.where(long_late, sev_long, sev_over), "")
        drug_label = np.array([model.drug_label(x) for x in DRUGS], dtype=object)[d.drug[rows]]
        due = _date_text(part["next_due"])
        window = part["due_by"] != part["next_due"]  # a nadir window: say both ends
        due = pc.if_else(pa.array(window), cat(due, " to ", _date_text(part["due_by"])), due)
        if "body" in part:  # a phase schedule: each group named with its own state
            msg = cat(drug_label, ": ", part["body"])
        else:
            msg = pc.if_else(
                pa.array(overdue),
                cat(drug_label, ": ", part["what"], " OVERDUE by ", _days_text(late), " (due ", due, ")"),
                cat(drug_label, ": ", part["what"], " due ", due),
            )
        if part.get("ending") is not None:  # a course recorded to end before its next test (H568)
            msg = pc.if_else(pa.array(part["ending"]), cat(msg, part["ending_words"]), msg)
        if part.get("increase") is not None:  # a dose increase recorded for later (audit10 A1)
            msg = pc.if_else(pa.array(part["increase"]), cat(msg, part["increase_words"]), msg)
        if part.get("ended") is not None:
            msg = pc.if_else(pa.array(part["ended"]), cat(drug_label, ": ", part["ended_what"]), msg)
        n = len(rows)
        row_drug = np.asarray(DRUGS, dtype=object)[d.drug[rows]]
        source = part.get("source", np.full(n, spec["source"], dtype=object))
        notes = drug_notes(profile) if blood_tests else {}
        if notes:
            note = np.array([notes.get(x, "") for x in row_drug], dtype=object)
            source = np.where(note != "", source + "; " + note, source).astype(object)
        parts.append(
            {
                "patient_id": inp.patient_ids[d.pid[rows]],
                "drug": row_drug,
                "schedule": np.full(n, sched_id, dtype=object),
                "description": np.full(n, spec["description"], dtype=object),
                "course_start": part["course_start"],
                "last_increase": part["last_increase"],
                "last_test": part["last_test"],
                "interval_days": part["interval"],
                "next_due": part["next_due"],
                "due_by": part["due_by"],
                "overdue": overdue,
                "days_overdue": late,
                "severity": sev.astype(object),
                "message": np.asarray(msg.to_pylist(), dtype=object),
                "source": source,
                "tests_due": part["tests_due"],
                "interval_basis": part["basis"],
                "due_groups": part["due_groups"],
            }
        )
    planned = planned_starts(inp, profile)
    if planned is not None:
        parts.append(planned)
    return _table(parts)


def course_reach(d: Doses, c: dict[str, np.ndarray]) -> np.ndarray:
    """Per dose row, the latest recorded end of the rows of its course (NEVER while any
    is open): when the course ends as recorded."""
    key = np.stack([d.pid.astype(np.int64), c["stream"], c["course_start"]], axis=1)
    _, inv = np.unique(key, axis=0, return_inverse=True)
    inv = inv.reshape(-1)
    out = np.full(int(inv.max()) + 1, -(2**62), dtype=np.int64)
    np.maximum.at(out, inv, d.course_end)
    return out[inv]


def _stream_key(doses: Doses, r: int) -> tuple[Any, ...]:
    """A dose row's patient and course stream in words (:func:`course_streams`: the drug
    and its schedule under every monitoring profile), comparable across two
    :class:`Doses` (the rows in force and the planned ones)."""
    drug = DRUGS[int(doses.drug[r])]
    profiles = ("", *schedule_file().get("profiles", {}))
    names = (schedule_name(drug, str(doses.frequency[r]), str(doses.route[r]), q) for q in profiles)
    return (int(doses.pid[r]), drug, *names)


def _planned_continuations(inp: Inputs, rows: np.ndarray, until: np.ndarray) -> np.ndarray:
    """Per dose row of ``rows``: a planned row (:attr:`Inputs.planned`) of its course
    stream starts within the course's reach (``until``, its recorded end, plus the drug's
    dosing interval, :func:`dashboard.rules.inputs.course_gap`): the course goes on after the
    recorded end (a planned dose change, not a stop)."""
    p = inp.planned
    out = np.zeros(len(rows), dtype=bool)
    if p is None or not len(rows):
        return out
    d = inp.doses
    first: dict[tuple[Any, ...], int] = {}
    for r in range(len(p)):  # rows by patient, drug and start: the earliest of each stream
        first.setdefault(_stream_key(p, r), int(p.start[r]))
    reach_by = until + course_gap(d.per_day[rows])
    for k, r in enumerate(rows):
        starts = first.get(_stream_key(d, int(r)))
        out[k] = starts is not None and starts <= reach_by[k]
    return out


def _say_ending(inp: Inputs, rows: np.ndarray, part: dict[str, Any], reach: np.ndarray) -> None:
    """A course that ends as recorded (its rows' latest end, :func:`course_reach`) after
    the review date but before its next test is due says so beside that date ("... due
    2026-05-24 — ends 2026-04-01 (as recorded): that test is owed only if it is
    continued"): the date is kept, since a recorded end may be the end of one order that
    is renewed, never a stop the record proves (a patient's next test is never dropped on
    it); a planned drug that follows gives its own earlier first tests (probe39 F8).  A
    planned row of the drug that continues the course says nothing."""
    until = reach[rows]
    ended = part["ended"] if part.get("ended") is not None else np.zeros(len(rows), dtype=bool)
    ending = (until < NEVER) & (part["next_due"] > until) & ~ended
    if not ending.any():
        return
    ending[ending] = ~_planned_continuations(inp, rows[ending], until[ending])
    if not ending.any():
        return
    part["ending"] = ending
    part["ending_words"] = cat(
        " — ends ", _date_text(until), " (as recorded): that test is owed only if it is continued"
    )


def _say_planned_increase(
    inp: Inputs, rows: np.ndarray, part: dict[str, Any], spec: dict[str, Any], profile: str
) -> None:
    """A dose increase recorded to start after the review date (a planned row of the
    course's stream with a higher daily total than the row in force) brings the course's
    next test forward to the first tests its schedule asks for after a start, counted from
    the increase (:func:`_first_tests`: BSR, every 2 weeks after a dose increase), and the
    row says it ("— dose increase recorded from 2026-04-01 (100 to 150 mg/day): blood
    tests due by 2026-04-15"); the in-force dose is never taken to be the planned one
    (audit10 A1)."""
    p = inp.planned
    if p is None or not len(p) or not len(rows):
        return
    d = inp.doses
    later: dict[tuple[Any, ...], int] = {}
    for r in range(len(p)):  # the earliest planned row of each stream
        later.setdefault(_stream_key(p, r), r)
    words = np.full(len(rows), "", dtype=object)
    for k, row in enumerate(rows):
        found = later.get(_stream_key(d, int(row)))
        if found is None or not p.mg_per_day[found] > d.mg_per_day[row] * (1 + 1e-9):
            continue
        r = found
        labels = [test_groups()[g]["label"] for g in spec["check"]]
        due, _interval, _basis, _message, _source = _first_tests(inp, p, r, spec, profile, "", labels)
        first = min(due)
        part["next_due"][k] = min(int(part["next_due"][k]), first)
        part["due_by"][k] = min(int(part["due_by"][k]), first)
        words[k] = (
            f" — dose increase recorded from {_day_text(int(p.start[r]))} ({d.mg_per_day[row]:g} to "
            f"{p.mg_per_day[r]:g} mg/day): blood tests due by {_day_text(first)}"
        )
    said = words != ""
    if not said.any():
        return
    if part.get("ending") is not None:  # an increase continues the course: no end to say
        part["ending"] = part["ending"] & ~said
    part["increase"] = said
    part["increase_words"] = pa.array(words.tolist(), pa.string())


def planned_starts(inp: Inputs, profile: str = DEFAULT_SCHEDULE_PROFILE) -> dict[str, np.ndarray] | None:
    """The schedule rows of drugs whose course starts after the review date as recorded
    (:attr:`Inputs.planned`): the earliest planned row of each patient's course stream
    that no course in force reaches (a planned change of a drug being taken is not a
    start).  Never in force on the review date, so never overdue: the row names the start
    and the first tests its schedule asks for, counted from the start as the review counts
    an untested course (:func:`phase_due`: the first phase's interval, or a combination's
    when every other member is in force on the start day; a pulse schedule's nadir window
    after the first pulse), so that the patient's next test due is never later than them
    (probe39 F8).  Blood-test schedules only: the extra items (blood pressure) begin with
    the drug."""
    p = inp.planned
    if p is None or not len(p):
        return None
    d = inp.doses
    names = row_schedules(p, profile)
    first: dict[tuple[Any, ...], int] = {}
    for r in range(len(p)):
        if schedules().get(names[r], {}).get("kind", "none") != "none":
            first.setdefault(_stream_key(p, r), r)
    reach: dict[tuple[Any, ...], int] = {}
    near = np.flatnonzero(np.isin(d.pid, p.pid))  # rows in force of these patients only
    reach_by = d.course_end + course_gap(d.per_day)
    for i in near:
        k = _stream_key(d, int(i))
        reach[k] = max(reach.get(k, -(2**62)), int(reach_by[i]))
    rows = [r for k, r in first.items() if p.start[r] > reach.get(k, -(2**62))]
    if not rows:
        return None
    out: dict[str, list[Any]] = {name: [] for name, _, _ in SCHEDULE_FIELDS}
    notes = drug_notes(profile)
    for r in rows:
        drug = DRUGS[int(p.drug[r])]
        spec = spec_for(str(names[r]), profile)
        start = int(p.start[r])
        labels = [test_groups()[g]["label"] for g in spec["check"]]
        head = f"{model.drug_label(drug)}: starts {_day_text(start)} (as recorded): "
        source = spec["source"]
        if spec["kind"] == "pulse":
            lo, hi = (int(x) for x in spec["nadir_days"])
            day = start // DAY * DAY
            due, due_by = [day + lo * DAY] * len(labels), day + hi * DAY
            interval, basis = 0, "pulse"
            message = (
                f"{head}nadir blood count (days {lo}-{hi} after the first pulse) "
                f"due {_day_text(due[0])} to {_day_text(due_by)}"
            )
        else:
            due, interval, basis, message, source = _first_tests(inp, p, r, spec, profile, head, labels)
            due_by = min(due)
        note = notes.get(drug, "")
        values = {
            "patient_id": inp.patient_ids[p.pid[r]],
            "drug": drug,
            "schedule": str(names[r]),
            "description": spec["description"],
            "course_start": start,
            "last_increase": NEVER,
            "last_test": NEVER,
            "interval_days": interval,
            "next_due": min(due),
            "due_by": due_by,
            "overdue": False,
            "days_overdue": 0,
            "severity": "",
            "message": message,
            "source": f"{source}; {note}" if note else source,
            "tests_due": "; ".join(labels),
            "interval_basis": basis,
            "due_groups": [
                {"tests": label, "last": None, "due": t, "days_overdue": 0}
                for label, t in zip(labels, due, strict=True)
            ],
        }
        for name in out:
            out[name].append(values[name])
    arrays: dict[str, np.ndarray] = {}
    for name, values_of in out.items():
        if name == "due_groups":
            arr = np.empty(len(rows), dtype=object)
            arr[:] = values_of
            arrays[name] = arr
        elif isinstance(values_of[0], str):
            arrays[name] = np.asarray(values_of, dtype=object)
        elif isinstance(values_of[0], bool | np.bool_):
            arrays[name] = np.asarray(values_of, dtype=bool)
        else:
            arrays[name] = np.asarray(values_of, dtype=np.int64)
    return arrays


def _first_tests(
    inp: Inputs, p: Doses, r: int, spec: dict[str, Any], profile: str, head: str, labels: list[str]
) -> tuple[list[int], int, str, str, str]:
    """The first tests of a phase schedule for a course planned to start with row ``r`` of
    ``p``: per test group its due date (:func:`phase_due` of an untested course; a
    combination of the profile shortens its groups when each other member has a row in
    force, or planned, on the start day), the interval and basis that set the earliest,
    the row's words and source."""
    start = int(p.start[r])
    one = np.array([start], dtype=np.int64)
    caps: list[tuple[dict[str, Any], CombinationCap]] = []
    for combo in combinations(profile).values():
        members = combination_members(combo)
        if not any(DRUGS[int(p.drug[r])] in m for m in members):
            continue
        taking = all(DRUGS[int(p.drug[r])] in m or _taken_on(inp, p.pid[r], m, start) for m in members)
        if taking:
            caps.append((combo, CombinationCap(np.ones(1, dtype=bool), one, combination_phases(combo))))
    due: list[int] = []
    why: list[str] = []
    interval, basis = 0, "schedule"
    source = str(spec["source"])
    for group in spec["check"]:
        mine = [(combo, cap) for combo, cap in caps if group in combo.get("groups", spec["check"])]
        step = phase_due(spec, one, one, np.array([NEVER], dtype=np.int64), caps=[cap for _, cap in mine])
        due.append(int(step["next_due"][0]))
        shortened = mine[int(step["cap"][0])][0] if step["basis"][0] == "combination" else None
        why.append("" if shortened is None else f" ({shortened['label']})")
        if shortened is not None and shortened["source"] not in source:
            source = f"{source}; {shortened['source']}"
        if len(due) == 1 or due[-1] < min(due[:-1]):  # the earliest group (the first on a tie)
            interval, basis = int(step["interval"][0]), str(step["basis"][0])
    clauses: dict[tuple[int, str], list[str]] = {}
    for g, label in enumerate(labels):
        clauses.setdefault((due[g], why[g]), []).append(label)
    if len(clauses) == 1:
        ((t, w),) = clauses
        words = f"first blood tests due by {_day_text(t)}{w}"
    else:
        words = "; also ".join(f"first {'; '.join(ls)} due by {_day_text(t)}{w}" for (t, w), ls in clauses.items())
    return due, interval, basis, head + words, source


def _taken_on(inp: Inputs, pid: int, member: list[str], t: int) -> bool:
    """Whether the patient has a row of a drug of ``member`` in force at ``t``: a row in
    force on the review date, or a planned one."""
    codes = [DRUGS.index(x) for x in member if x in DRUGS]
    for doses in (inp.doses, inp.planned):
        if doses is None or not len(doses):
            continue
        mine = (doses.pid == pid) & np.isin(doses.drug, codes) & (doses.start <= t) & (doses.end > t)
        if mine.any():
            return True
    return False


def check_time(lasts: list[np.ndarray], n: int) -> np.ndarray:
    """When the last complete check was: every group done, as old as its oldest group;
    NEVER while any group has never been done."""
    if not lasts:
        return np.full(n, NEVER, dtype=np.int64)
    stacked = np.vstack(lasts)
    return np.where((stacked == NEVER).any(axis=0), NEVER, stacked.min(axis=0))


@dataclass(frozen=True)
class CombinationCap:
    """A combination that keeps a drug's interval short (methotrexate with leflunomide; a
    thiopurine with allopurinol): per row, whether it applies and since when (seconds),
    and its steps (:func:`combination_phases`)."""

    applies: np.ndarray
    since: np.ndarray
    phases: tuple[tuple[int | None, int], ...]

    def every_at(self, stable_days: np.ndarray) -> np.ndarray:
        """The step's interval (days) per row once stable for ``stable_days``; 0 where
        every step is over (the drug's own schedule resumes)."""
        every = np.zeros(len(stable_days), dtype=np.int64)
        found = np.zeros(len(stable_days), dtype=bool)
        for until, days in self.phases:
            here = ~found if until is None else ~found & (stable_days < until)
            every = np.where(here, days, every)
            found |= here
        return every


def phase_anchor(
    spec: dict[str, Any],
    key: np.ndarray,
    t: np.ndarray,
    new_course: np.ndarray,
    q_key: np.ndarray,
    q_t: np.ndarray,
) -> np.ndarray:
    """When the initial phases of a course count from, per query (seconds; NEVER when the
    query's drug has no increase at or before ``q_t``).

    ``key`` (patient and course stream: drug and schedule, :func:`course_streams`), ``t``
    and ``new_course`` describe the course starts and dose increases, sorted by key and
    time.  Under a schedule with
    ``initial_phases_from_stable_dose`` (BSR 2017 via NICE CKS / SPS: "every 2 weeks until
    the dose is stable for 6 weeks, then monthly for 3 months"), an increase made before the
    course reached its last phase is part of the initial titration: the phases count again
    from it.  The course reaches its last phase ``phases[-2].until_days`` after the start or
    the latest such increase; an increase from then on is made in maintenance and only
    overlays ``after_increase_every_days`` (then back to the previous schedule), as does
    every later one.  Without the flag the phases count from the course start.  Only the
    increases at or before ``q_t`` (the last test: an increase not tested since brings the
    next test forward in :func:`phase_due`, it does not move the phases yet) count.
    """
    if not len(t):
        return np.full(len(q_key), NEVER, dtype=np.int64)
    phases = spec["phases"]
    span = int(phases[-2]["until_days"]) * DAY if spec.get("initial_phases_from_stable_dose") and len(phases) > 1 else 0
    same = np.r_[False, key[1:] == key[:-1]] & ~new_course
    prev = np.r_[np.int64(0), t[:-1]]
    brk = same & (t - prev >= span)  # made in maintenance: the titration is over
    seg = np.cumsum(~same) - 1  # one segment per course of a drug
    cum = np.cumsum(brk)
    first = np.flatnonzero(~same)
    titration = (cum - cum[first][seg]) == 0
    k = np.flatnonzero(titration)
    return last_at_or_before(pair_key(key[k], t[k]), key[k], t[k], q_key, q_t)


def phase_due(
    spec: dict[str, Any],
    course_start: np.ndarray,
    last_inc: np.ndarray,
    last_test: np.ndarray,
    own_days: np.ndarray | None = None,
    caps: Sequence[CombinationCap] = (),
    anchor: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """The arithmetic of a phase schedule, per row (times in seconds, NEVER for none): the
    course start, the latest dose increase up to the review date (the course start when
    none), the last complete check of the course, and the clinician-set interval in days
    (NaN for none; used only by a schedule with ``patient_interval``), and when the phases
    count from (``anchor``, :func:`phase_anchor`; the course start when None).

    Returns ``interval`` (days: the one that set ``next_due``, in force at the last test,
    or ``after_increase_every_days`` where an increase not tested since brought the test
    forward), ``next_due``, ``basis`` ("schedule",
    "patient" or "combination"), ``phase`` (index of the phase whose interval applies),
    ``cap`` (index in ``caps`` of the combination that shortened the interval, -1 for
    none), ``after_increase`` (the due date comes from a dose increase: fortnightly while
    it is recent, or ``after_increase_every_days`` after an increase not tested since) and
    ``from_increase`` (only the latter: an increase not tested since brought it forward).
    The review (:func:`evaluate`) and the Dosing page's plan (:func:`planned_tests`) both
    use it.
    """
    n = len(course_start)
    phases = spec["phases"]
    has_test = last_test != NEVER
    ref = np.where(has_test, last_test, course_start)
    if anchor is None:
        start = course_start
    else:  # an anchor of another course, or none, counts from this course's start
        start = np.where(has_test & (anchor >= course_start) & (anchor <= ref), anchor, course_start)
    since_start = (ref - start) // DAY
    phase = np.full(n, len(phases) - 1, dtype=np.int64)
    for i in reversed(range(len(phases) - 1)):
        phase = np.where(since_start < phases[i]["until_days"], i, phase)
    interval = np.array([p["every_days"] for p in phases], dtype=np.int64)[phase]
    maintenance = since_start >= (phases[-2]["until_days"] if len(phases) > 1 else 0)
    basis = np.full(n, "schedule", dtype=object)
    bounds = spec.get("patient_interval")
    if bounds is not None and own_days is not None:
        ok = np.isfinite(own_days) & maintenance
        own = np.clip(np.nan_to_num(own_days), bounds["min_days"], bounds["max_days"]).astype(np.int64)
        interval = np.where(ok, own, interval)
        basis = np.where(ok, "patient", basis)
    fortnightly = spec["after_increase_every_days"]
    increased = last_inc > course_start
    since_inc = (np.maximum(ref, last_inc) - last_inc) // DAY
    recent = increased & has_test & (last_test >= last_inc) & (since_inc < spec["after_increase_stable_days"])
    recent_short = recent & (fortnightly < interval)
    interval = np.where(recent_short, fortnightly, interval)
    basis = np.where(recent_short, "schedule", basis)
    next_due = np.where(has_test, last_test + interval * DAY, course_start + phases[0]["every_days"] * DAY)
    # a combination (methotrexate with leflunomide; a thiopurine with allopurinol) keeps the
    # interval short, by its step at the last test (or at the course start, when untested):
    # its interval counts from the last test, or from the combination's start (or last
    # increase) when the last test came before it; the earlier due date wins
    cap = np.full(n, -1, dtype=np.int64)
    for k, combo in enumerate(caps):
        counted_from = np.maximum(ref, combo.since)
        every = combo.every_at((counted_from - combo.since) // DAY)
        due_k = counted_from + every * DAY
        short = combo.applies & (every > 0) & (due_k < next_due)
        next_due = np.where(short, due_k, next_due)
        interval = np.where(short, every, interval)
        basis = np.where(short, "combination", basis)
        cap = np.where(short, k, cap)
    untested = increased & (~has_test | (last_inc > last_test))
    from_increase = untested & (last_inc + fortnightly * DAY < next_due)
    next_due = np.where(from_increase, last_inc + fortnightly * DAY, next_due)
    # the interval said beside the due date is the one that set it (probe32 F4)
    interval = np.where(from_increase, fortnightly, interval)
    basis = np.where(from_increase, "schedule", basis)
    cap = np.where(from_increase, -1, cap)
    return {
        "interval": interval,
        "next_due": next_due,
        "basis": basis,
        "phase": phase,
        "after_increase": recent | from_increase,
        "from_increase": from_increase,
        "increased": increased,
        "cap": cap,
    }


def phase_ended(spec: dict[str, Any], course_start: np.ndarray, last_inc: np.ndarray, now: int) -> np.ndarray:
    """Whether a schedule with ``stop_after_days`` asks for no more routine tests on ``now``:
    the course is that old and no dose increase is recent (all False for other schedules)."""
    if "stop_after_days" not in spec:
        return np.zeros(len(course_start), dtype=bool)
    increased = last_inc > course_start
    settled = (now - last_inc) // DAY >= spec["after_increase_stable_days"]
    return ((now - course_start) // DAY >= int(spec["stop_after_days"])) & (settled | ~increased)


def _phase_due(inp: Inputs, rows, spec, c, now, combos=()) -> dict[str, Any]:
    """A phase schedule's rows: each test group of the check is due on its own date, from
    its own last result since the course began (:func:`phase_due` per group); the row's
    next_due is the earliest of them, and it names every group due by the review date
    (or, when none is, the groups due first), each with its own date and lateness."""
    d = inp.doses
    n = len(rows)
    pid = d.pid[rows]
    course_start = c["course_start"][rows]
    # latest increase of this patient's drug (of this schedule: its course stream,
    # courses()) at or before the review date
    stream = c["stream"]
    pd_code = d.pid * (int(stream.max()) + 1) + stream
    inc = np.flatnonzero(c["increase"] & (d.start <= now))
    ikey = pair_key(pd_code[inc], d.start[inc])
    order = np.argsort(ikey, kind="stable")
    last_inc = last_at_or_before(ikey[order], pd_code[inc][order], d.start[inc][order], pd_code[rows], np.full(n, now))
    last_inc = np.where(last_inc >= course_start, last_inc, course_start)
    lasts = group_last_tests(inp, spec, pid, course_start)
    last_test = check_time(lasts, n)
    own = None
    if spec.get("patient_interval") is not None:
        own = inp.interval_days[pid] if inp.interval_days is not None else np.full(n, np.nan)
    caps = [
        CombinationCap(
            np.isin(d.drug[rows], combo["codes"]) & combo["active"][pid],
            combo["since"][pid],
            combination_phases(combo),
        )
        for combo in combos
    ]
    stale = np.zeros(n, dtype=bool)
    if spec.get("patient_interval") is not None and inp.interval_set_at is not None:
        stale = inp.interval_set_at[pid] < now - int(spec.get("risk_review_days", 365)) * DAY
    first_phase_days = spec["phases"][0].get("until_days", 0)
    fortnightly = np.full(n, spec["after_increase_every_days"])
    increase_text = cat(" (", num(fortnightly), " days after the dose increase of ", _date_text(last_inc), ")")
    never_text = cat(" (none recorded since the course began on ", _date_text(course_start), ")")
    # each group's own due date and the reason for it, in words
    per: list[dict[str, np.ndarray]] = []
    reasons: list[list[str]] = []
    for group, last_g in zip(spec["check"], lasts, strict=True):
        # a combination that names its tests (``groups``: the allopurinol rule's blood
        # count) shortens only theirs; the others keep the drug's own schedule
        caps_g = [
            cap if group in combos[k].get("groups", spec["check"]) else replace(cap, applies=np.zeros(n, dtype=bool))
            for k, cap in enumerate(caps)
        ]
        anchor = phase_anchor(
            spec,
            pd_code[inc][order],
            d.start[inc][order],
            c["new_course"][inc][order],
            pd_code[rows],
            np.where(last_g != NEVER, last_g, course_start),
        )
        due_g = phase_due(spec, course_start, last_inc, last_g, own, caps_g, anchor)
        per.append(due_g)
        combo_text = np.full(n, "", dtype=object)
        for k, combo in enumerate(combos):
            mine = (due_g["cap"] == k) & (due_g["basis"] == "combination")
            combo_text = np.where(mine, ", " + combo["label"], combo_text)
        own_text = np.where(due_g["basis"] == "patient", ", the patient's risk-adapted interval", combo_text).astype(
            object
        )
        every = cat(" (every ", num(due_g["interval"]), " days at present", own_text, ")")
        every = pc.if_else(
            pa.array((due_g["basis"] == "patient") & stale),
            cat(every, "; risk factors due for their yearly review"),
            every,
        )
        # never tested in a course past its first phase: the first phase's interval is not "at present"
        never = (last_g == NEVER) & ~due_g["from_increase"] & ((now - course_start) // DAY >= first_phase_days)
        text = pc.if_else(
            pa.array(due_g["from_increase"]), increase_text, pc.if_else(pa.array(never), never_text, every)
        )
        reasons.append(text.to_pylist())
    # the row: its earliest group (the first in the check's order on a tie)
    cols = np.arange(n)
    lead = np.vstack([p["next_due"] for p in per]).argmin(axis=0)
    interval, next_due, basis, cap = (
        np.vstack([p[k] for p in per])[lead, cols] for k in ("interval", "next_due", "basis", "cap")
    )
    increased = per[0]["increased"]
    source = np.full(n, spec["source"], dtype=object)
    for k, combo in enumerate(combos):  # the combination that sets the interval, said with its source
        mine = (cap == k) & (basis == "combination")
        source = np.where(mine, spec["source"] + "; " + combo["source"], source)
    ended = None
    ended_what = None
    if "stop_after_days" in spec:
        # no routine test once the course is that old and no dose increase is recent
        # (sulfasalazine after 12 months; voclosporin's blood pressure after the first month)
        ended = phase_ended(spec, course_start, last_inc, now)
        ended_what = cat(spec["ended"], " (last: ", _date_text(last_test), ")")
        next_due = np.where(ended, NEVER, next_due)
        interval = np.where(ended, 0, interval)
    body, tests_due, due_groups = _group_words(
        spec, lasts, [p["next_due"] for p in per], reasons, now, ended if ended is not None else np.zeros(n, bool)
    )
    return {
        "course_start": course_start,
        "last_increase": np.where(increased, last_inc, NEVER),
        "last_test": last_test,
        "interval": interval,
        "next_due": next_due,
        "due_by": next_due,
        "body": body,
        "tests_due": tests_due,
        "due_groups": due_groups,
        "basis": basis.astype(object),
        "ended": ended,
        "ended_what": ended_what,
        "source": source,
    }


def _group_words(
    spec: dict[str, Any],
    lasts: list[np.ndarray],
    dues: list[np.ndarray],
    reasons: list[list[str]],
    now: int,
    ended: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per row: what is due in words (without the drug), the groups named ("; "), and each
    named group with its own last result, due date and days overdue (:data:`DUE_GROUP`
    entries).  Named: every group due by the review date; when none is, the groups due
    first.  Groups with one due date and one reason are said together, in the check's
    order; each clause ends with its own state ("due 2024-05-24", "OVERDUE by 282 days (due
    2023-08-24)", with ", last 2023-06-01" when there are several clauses)."""
    labels = [test_groups()[g]["label"] for g in spec["check"]]
    grace = int(spec.get("grace_days", 0)) * DAY
    n = len(ended)
    body = np.full(n, "", dtype=object)
    tests = np.full(n, "", dtype=object)
    groups = np.empty(n, dtype=object)
    for r in range(n):
        groups[r] = []
        if ended[r]:
            continue
        due = [int(x[r]) for x in dues]
        chosen = [g for g, t in enumerate(due) if t // DAY * DAY <= now] or [
            g for g, t in enumerate(due) if t == min(due)
        ]
        clauses: dict[tuple[int, str], list[int]] = {}
        for g in chosen:
            clauses.setdefault((due[g], reasons[g][r]), []).append(g)
        words = []
        for (t, reason), members in clauses.items():
            day = t // DAY * DAY
            late = (now - day) // DAY if now > day + grace else 0
            when = _day_text(t)
            last = {int(lasts[g][r]) for g in members}
            # the last date is said where clauses differ (one clause: the row's last_test)
            tested = len(clauses) > 1 and len(last) == 1 and NEVER not in last
            state = f" due {when}"
            if late:
                state = (
                    f" OVERDUE by {days_text(late)} (due {when}{', last ' + _day_text(last.pop()) if tested else ''})"
                )
            words.append("; ".join(labels[g] for g in members) + reason + state)
            for g in members:
                last_g = int(lasts[g][r])
                groups[r].append(
                    {"tests": labels[g], "last": None if last_g == NEVER else last_g, "due": t, "days_overdue": late}
                )
        groups[r].sort(key=lambda e: labels.index(e["tests"]))
        body[r] = "; also ".join(words)
        tests[r] = "; ".join(e["tests"] for e in groups[r])
    return body, tests, groups


def _day_text(sec: int) -> str:
    return str(np.datetime64(sec // DAY, "D"))


def days_text(n: int) -> str:
    """A number of days in words: "1 day", "2 days"."""
    return f"{n} day" if n == 1 else f"{n} days"


def _days_text(n: np.ndarray) -> pa.Array:
    """:func:`_days` per row."""
    n = np.asarray(n, dtype=np.int64)
    return pc.binary_join_element_wise(pa.array(n).cast(pa.string()), pa.array(np.where(n == 1, " day", " days")), "")


@dataclass(frozen=True)
class PlannedTest:
    """One blood test of a planned course, on the date the rules will ask for it."""

    #: days after the course start
    day: int
    #: the interval (days) that set this date, counted from the previous test
    interval_days: int
    #: index of the schedule phase whose interval applies (see ``after_increase``)
    phase: int
    #: the date comes from a dose increase (fortnightly after it), not from the phase
    after_increase: bool
    #: day of the latest dose increase at that point (0: none since the start)
    increase_day: int
    #: day the phases count from at the previous test: the start, or the last step of the
    #: initial titration (:func:`phase_anchor`)
    phases_from_day: int = 0


def planned_tests(
    spec: dict[str, Any],
    increase_days: Sequence[int],
    horizon_days: int,
    combination: dict[str, Any] | None = None,
) -> list[PlannedTest]:
    """The blood tests of a course that starts on day 0 and is increased on
    ``increase_days``, each on the day the rules ask for it when every earlier test was
    taken on its day: the rules' own arithmetic (:func:`phase_due`), evaluated as the
    review evaluates it on each day.

    On the day before each date, the review's next due date is that date: the latest
    increase before it counts (an increase between two tests makes the next one due
    ``after_increase_every_days`` after it, unless it was due earlier); an increase on the
    due date itself keeps the test on that day (the check before the step).  Tests after
    ``horizon_days``, or once a schedule with ``stop_after_days`` has ended, are left out.

    With ``combination`` (a ``[combinations.<id>]`` of ``schedule.toml`` taken from day 0,
    e.g. a thiopurine with allopurinol), the tests its steps ask for, counted as the review
    counts them (from the later of day 0 and the last increase); the caller lays them out
    for the combination's ``groups`` only.
    """
    if spec.get("kind") != "phases":
        raise ValueError(f"a plan needs a phase schedule, not {spec.get('kind')!r}")
    increases = sorted({int(d) for d in increase_days if d > 0})
    zero = np.zeros(1, dtype=np.int64)
    steps = np.array([0, *increases], dtype=np.int64) * DAY
    step_key = np.zeros(len(steps), dtype=np.int64)
    first_step = np.arange(len(steps)) == 0

    def anchor_of(last_test: int | None) -> np.ndarray:
        at = np.array([0 if last_test is None else last_test * DAY], dtype=np.int64)
        return phase_anchor(spec, step_key, steps, first_step, zero, at)

    def due(last_inc: int, last_test: int | None) -> dict[str, np.ndarray]:
        tested = NEVER if last_test is None else last_test * DAY
        last = np.array([tested], dtype=np.int64)
        caps = []
        if combination is not None:
            since = np.array([last_inc * DAY], dtype=np.int64)
            caps = [CombinationCap(np.ones(1, dtype=bool), since, combination_phases(combination))]
        return phase_due(spec, zero, np.array([last_inc * DAY]), last, caps=caps, anchor=anchor_of(last_test))

    out: list[PlannedTest] = []
    last_test: int | None = None
    while True:
        now = last_test or 0
        last_inc = max([0, *(i for i in increases if i <= now)])
        step = due(last_inc, last_test)
        for i in increases:  # an increase before the due date moves it as the review moves it
            if now < i < int(step["next_due"][0] // DAY):
                last_inc, step = i, due(i, last_test)
        day = int(step["next_due"][0] // DAY)
        if day > horizon_days or phase_ended(spec, zero, np.array([last_inc * DAY]), day * DAY)[0]:
            return out
        interval = day - (last_test if last_test is not None else 0)
        since = int(anchor_of(last_test)[0] // DAY) if last_test is not None else 0
        phase, after_increase = int(step["phase"][0]), bool(step["after_increase"][0])
        out.append(PlannedTest(day, interval, phase, after_increase, last_inc, since))
        last_test = day


def _pulse_due(inp: Inputs, rows, spec, c, now) -> dict[str, np.ndarray]:
    d = inp.doses
    n = len(rows)
    pid = d.pid[rows]
    ppid, pt, _ = pulse_dates(inp)
    pkey = pair_key(ppid, pt)
    lo, hi = (int(x) * DAY for x in spec["nadir_days"])
    last_pulse = last_at_or_before(pkey, ppid, pt, pid, np.full(n, now))
    next_pulse = first_at_or_after(pkey, ppid, pt, pid, np.full(n, now + 1))
    lasts = group_last_tests(inp, spec, pid, np.full(n, -(2**62)))
    last_test = check_time(lasts, n)
    has_pulse = last_pulse != NEVER
    window_start, window_end = last_pulse + lo, last_pulse + hi
    # a test in the window, or any test since it opened, satisfies the nadir check
    nadir_due = has_pulse & ((last_test == NEVER) | (last_test < window_start))
    next_due = np.where(nadir_due, window_start, next_pulse)
    due_by = np.where(nadir_due, window_end, next_pulse)  # overdue after the window closes
    next_due = np.where(has_pulse, next_due, d.start[rows])
    due_by = np.where(has_pulse, due_by, d.start[rows])
    # the count before the last pulse: a pulse given without one is reported (due on the
    # pulse day, then overdue) until a count is taken, never passed over for the next window
    missed, pre_from = _pre_pulse_missed(pkey, ppid, pt, pid, last_pulse, last_test, spec)
    next_due = np.where(missed, last_pulse, next_due)
    due_by = np.where(missed, last_pulse, due_by)
    course_over = has_pulse & ~nadir_due & ~missed & (next_pulse == NEVER)
    what = pc.if_else(
        pa.array(nadir_due),
        pa.scalar(f"nadir blood count (days {spec['nadir_days'][0]}-{spec['nadir_days'][1]} after the pulse)"),
        pa.scalar("blood count before the next pulse"),
    )
    what = pc.if_else(
        pa.array(missed),
        cat(
            "blood count before the pulse of ",
            _date_text(last_pulse),
            " (none recorded from ",
            _date_text(pre_from),
            " to the pulse day)",
        ),
        what,
    )
    ended_what = cat(
        "nadir blood count after the last pulse (", _date_text(last_pulse), ") done; no further pulse recorded"
    )
    tests_due = np.full(n, "; ".join(test_groups()[g]["label"] for g in spec["check"]), dtype=object)
    late = np.where(
        now > due_by // DAY * DAY + int(spec.get("grace_days", 0)) * DAY, (now - due_by // DAY * DAY) // DAY, 0
    )
    due_groups = np.empty(n, dtype=object)
    for r in range(n):  # one check of every group at once: each said with the row's dates
        due_groups[r] = (
            []
            if course_over[r]
            else [
                {
                    "tests": test_groups()[g]["label"],
                    "last": None if lasts[k][r] == NEVER else int(lasts[k][r]),
                    "due": int(next_due[r]),
                    "days_overdue": int(late[r]),
                }
                for k, g in enumerate(spec["check"])
            ]
        )
    return {
        "course_start": c["course_start"][rows],
        "last_increase": np.full(n, NEVER, dtype=np.int64),
        "last_test": last_test,
        "interval": np.zeros(n, dtype=np.int64),
        "next_due": next_due,
        "due_by": due_by,
        "what": what,
        "tests_due": np.where(course_over, "", tests_due).astype(object),
        "due_groups": due_groups,
        "basis": np.full(n, "pulse", dtype=object),
        "ended": course_over,
        "ended_what": ended_what,
    }


def _pre_pulse_missed(
    pkey: np.ndarray,
    ppid: np.ndarray,
    pt: np.ndarray,
    pid: np.ndarray,
    last_pulse: np.ndarray,
    last_test: np.ndarray,
    spec: dict[str, Any],
) -> tuple[np.ndarray, np.ndarray]:
    """Whether the last pulse was given without a blood count before it, and from when
    such a count would have counted (seconds, day starts).

    The count before a pulse is one taken after the previous pulse's nadir window closed,
    up to the pulse day; when the pulse comes before that window has closed (pulses every
    2 weeks: the window, days 8-14, ends on the next pulse day), a count in the window
    serves as both.  The first pulse of a history asks for none here (the baseline before
    treatment is not part of the review).  Missed only while no count has been taken since:
    a later count is the one the clinician acts on.
    """
    pre_from = pre_pulse_from(pkey, ppid, pt, pid, last_pulse, spec)
    has_prev = pre_from != NEVER
    missed = has_prev & ((last_test == NEVER) | (last_test < pre_from))
    return missed, pre_from


def pre_pulse_from(
    pkey: np.ndarray,
    ppid: np.ndarray,
    pt: np.ndarray,
    pid: np.ndarray,
    pulse: np.ndarray,
    spec: dict[str, Any],
) -> np.ndarray:
    """From when (seconds, a day start) a blood count is the count before ``pulse`` (of
    patients ``pid``; NEVER where no pulse, or where it is the first of the history):
    after the previous pulse's nadir window (days ``nadir_days``) has closed, or, when the
    pulse comes before it closes (pulses every 2 weeks), from the window's first day, so
    that the nadir count serves as both.  The schedule (a pulse given without such a
    count) and the dose checks (the count before a pulse below a limit) share this rule."""
    lo, hi = (int(x) for x in spec["nadir_days"])
    has_pulse = pulse != NEVER
    prev = last_at_or_before(pkey, ppid, pt, pid, np.where(has_pulse, pulse - 1, 0))
    has_prev = has_pulse & (prev != NEVER)
    pulse_day = np.where(has_prev, pulse // DAY, 0)
    prev_day = np.where(has_prev, prev // DAY, 0)
    closes = prev_day + hi
    pre_from = np.where(pulse_day <= closes, prev_day + lo, closes + 1) * DAY
    return np.where(has_prev, pre_from, NEVER)


def _date_text(sec: np.ndarray) -> pa.Array:
    days = np.where(sec >= NEVER, 0, sec // DAY).astype("datetime64[D]")
    text = np.datetime_as_string(days).astype(object)
    return pa.array(np.where(sec >= NEVER, "-", text), pa.string())


def _table(parts: list[dict[str, np.ndarray]]) -> pa.Table:
    arrays = []
    for name, typ, _ in SCHEDULE_FIELDS:
        vals = np.concatenate([p[name] for p in parts]) if parts else np.zeros(0, dtype=object)
        if pa.types.is_timestamp(typ):
            v = vals.astype(np.int64)
            arr = pa.array(v, pa.int64(), mask=v >= NEVER).cast(typ)
        elif pa.types.is_string(typ):
            arr = pa.array(vals.astype(object), typ)
        else:
            arr = pa.array(vals, typ)
        arrays.append(arr)
    return pa.Table.from_arrays(arrays, names=[f[0] for f in SCHEDULE_FIELDS])


_EPOCH = dt.datetime(1970, 1, 1)


def with_repeats(
    inp: Inputs, sched: pa.Table, flag_table: pa.Table, repeats: dict[str, tuple[int, str]], profile: str
) -> pa.Table:
    """The schedule with the guideline's repeat tests folded in ("repeat in 1 week").

    ``repeats`` maps a rule id to (days, test group).  An open flag of such a rule that
    begins its episode (the first result past the limit: a confirmed one is the "withhold
    and discuss" step, not another repeat) makes the group due ``days`` after the draw,
    unless a result of the group was taken since.  Each blood-test row of a phase
    schedule of that patient whose next test is later is brought forward to it
    (``interval_basis`` "repeat"), and its lateness judged from that date; the row's own
    groups already due by the review date are still named after it.  A repeat due later
    than the row's next test is named after the row's words once it is due.
    """
    if not repeats or not sched.num_rows or not flag_table.num_rows:
        return sched
    mask = pc.and_(
        pc.and_(
            pc.is_in(flag_table.column("rule"), value_set=pa.array(list(repeats))),
            pc.equal(flag_table.column("status"), "open"),
        ),
        pc.equal(flag_table.column("episode_results"), 1),
    )
    f = flag_table.filter(mask)
    if not f.num_rows:
        return sched
    pids = f.column("patient_id").to_pylist()
    fpid = np.searchsorted(inp.patient_ids, np.asarray(pids, dtype=object))  # patient codes (ids are sorted)
    ft = f.column("collected_at").cast(pa.int64()).to_numpy(zero_copy_only=False)
    rules = f.column("rule").to_pylist()
    label = [model.analyte_label(a) for a in f.column("analyte").to_pylist()]
    value = f.column("value").to_pylist()
    unit = f.column("unit").to_pylist()
    source = f.column("source").to_pylist()
    # per patient, the earliest repeat still owed: (due, days, group, why, source, draw)
    owed: dict[str, tuple[int, int, str, str, str, int]] = {}
    for group in sorted({repeats[r][1] for r in rules}):
        key, tpid, tt = test_times(inp, tuple(test_groups()[group]["analytes"]))
        latest = last_at_or_before(key, tpid, tt, fpid, np.full(len(fpid), inp.cutoff - 1))
        for i, r in enumerate(rules):
            days, g = repeats[r]
            if g != group or latest[i] > ft[i]:
                continue  # another group, or repeated since
            due = int(ft[i] // DAY * DAY + days * DAY)
            pid = pids[i]
            when = np.datetime_as_string(np.datetime64(int(ft[i] // DAY), "D"))
            why = f"{label[i]} {value[i]:g} {unit[i]} on {when}: repeat in {days} days"
            if pid not in owed or due < owed[pid][0]:
                owed[pid] = (due, days, group, why, source[i], int(ft[i]))
    if not owed:
        return sched
    cols = {name: sched.column(name).to_pylist() for name in sched.column_names}
    now = (inp.cutoff - DAY) // DAY  # the review date, in days
    top = schedule_file()
    for k, pid in enumerate(cols["patient_id"]):
        spec = spec_for(cols["schedule"][k], profile)
        if pid not in owed or spec.get("kind") != "phases" or "bp" in spec["check"]:
            continue
        # a row without a next date (a schedule that asks for no more routine tests) still
        # carries a repeat owed: said before its words (H569)
        no_date = cols["next_due"][k] is None
        if cols["course_start"][k] is not None and (cols["course_start"][k] - _EPOCH).days > now:
            continue  # a planned start (planned_starts): its first tests are its own
        due, days, group, why, src, drawn = owed[pid]
        due_at = _EPOCH + dt.timedelta(seconds=due)
        late = max(0, now - due // DAY)
        drug = model.drug_label(cols["drug"][k])
        tests = test_groups()[group]["label"]
        state = f"OVERDUE by {days_text(late)} (due {due_at:%Y-%m-%d})" if late > 0 else f"due {due_at:%Y-%m-%d}"
        entry = {"tests": tests, "last": _EPOCH + dt.timedelta(seconds=drawn), "due": due_at, "days_overdue": late}
        which = "long_overdue_severity" if late > max(days, 14) else "overdue_severity"
        sev = spec.get(which, top[which]) if late > 0 else ""
        if not no_date and due_at >= cols["next_due"][k]:
            # the routine tests are due first: the repeat is named after them once it is due too
            if due // DAY <= now:
                cols["message"][k] += f"; also {tests} repeat ({why}) {state}"
                cols["tests_due"][k] = "; ".join(dict.fromkeys([*cols["tests_due"][k].split("; "), tests]))
                cols["due_groups"][k] = [*(cols["due_groups"][k] or []), entry]
                cols["source"][k] += "" if src in cols["source"][k] else f"; {src}"
                if severity_rank(sev) > severity_rank(cols["severity"][k]):
                    cols["severity"][k] = sev
            continue
        cols["next_due"][k] = cols["due_by"][k] = due_at
        cols["overdue"][k] = late > 0
        cols["days_overdue"][k] = late
        cols["severity"][k] = sev
        # the row's own groups already due by the review date are still named after it
        routine = [e for e in cols["due_groups"][k] or [] if e["due"] is not None and (e["due"] - _EPOCH).days <= now]
        also = f"; also {cols['message'][k].removeprefix(drug + ': ')}" if routine else ""
        also = f"; {cols['message'][k].removeprefix(drug + ': ')}" if no_date else also
        cols["message"][k] = f"{drug}: {tests} repeat ({why}) {state}{also}"
        cols["tests_due"][k] = "; ".join(dict.fromkeys([tests, *(e["tests"] for e in routine)]))
        cols["due_groups"][k] = [entry, *routine]
        cols["interval_basis"][k] = "repeat"
        cols["interval_days"][k] = days  # the interval that set the due date
        cols["source"][k] = src
    return pa.table({name: pa.array(cols[name], sched.schema.field(name).type) for name in sched.column_names})
