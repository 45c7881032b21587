"""Tables shaped for display (pure): what pages show, computed from the canonical model."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from dashboard import model
from dashboard.identity import age_years, birth_text
from dashboard.identity import other_id_notes as other_id_notes  # its home before H276
from dashboard.markup import md_escape
from dashboard.rules import baselines as bl
from dashboard.rules.context import describe_dose, totals_in_force
from dashboard.rules.ctcae import baseline_min_results, grade_text, terms
from dashboard.rules.data import DAY, NEVER, adult_from_years
from dashboard.rules.engine import Profile
from dashboard.rules.hits import unit_text
from dashboard.rules.inputs import D, pair_key, prepare
from dashboard.rules.schedule import schedule_name, schedules
from dashboard.units import display_factor, display_text, display_texts, display_unit, resolve_unit

if TYPE_CHECKING:
    from dashboard.ingest.report import Problem

_ANALYTE_SET = frozenset(model.ANALYTES)


def reported_text(source_value: object, source_unit: object) -> str:
    """A result as the lab wrote it, with its unit ("5.2 mmol/L", "1400 cells/uL")."""
    value = "" if source_value is None or source_value != source_value else str(source_value).strip()
    unit = "" if source_unit is None or source_unit != source_unit else str(source_unit).strip()
    return f"{value} {unit}".strip() if value else ""


def shown_as_reported(analyte: str, shown: str, source_value: object, source_unit: object, system: str = "SI") -> bool:
    """True when ``shown`` (the value's text in the display unit of ``system``) is the
    number the lab wrote, in the unit it wrote it in or one equal to it (K/µL is ×10⁹/L):
    no "as reported" needed beside it.  A converted value (5.2 mmol/L shown as 84 g/L), a
    count made from a percentage, or a number rounded otherwise than written is not."""
    written = "" if source_value is None or source_value != source_value else str(source_value).strip()
    if not written:
        return True  # nothing reported beside the value to show
    if shown != written:
        return False
    unit = "" if source_unit is None or source_unit != source_unit else str(source_unit).strip()
    if not unit:
        return True
    read = resolve_unit(analyte, unit)
    return (
        read.factor is not None
        and not read.percent
        and math.isclose(read.factor * display_factor(analyte, system), 1.0, rel_tol=1e-9)
    )


def reported_column(analyte: str) -> str:
    """The header of an analyte's "as reported" column ("Hb as reported")."""
    return f"{model.analyte_label(analyte)} as reported"


def patient_results(labs: pd.DataFrame, patient_id: str, system: str = "SI") -> pd.DataFrame:
    """One row per draw, one column per analyte ("WBC (×10⁹/L)"), values as text.

    Censored values keep their comparator; derived values are marked "(calc)"; two results
    of one analyte at one time are both shown ("a / b").  Beside an analyte with any
    result not shown as the lab wrote it (converted, calculated), a column "<analyte> as
    reported" gives each of its results as written, with its unit ("5.2 mmol/L", H487).
    """
    sub = labs[labs["patient_id"] == patient_id]
    if sub.empty:
        return pd.DataFrame(columns=["Collected"])
    # the table is built from plain lists: row access on pandas objects and a pivot with a
    # Python aggregate cost more than the table (the Home page draws it on every load)
    cells: dict[str, dict[pd.Timestamp, list[str]]] = {}
    raw: dict[str, dict[pd.Timestamp, list[str]]] = {}
    converted: set[str] = set()
    names = ("analyte", "collected_at", "value", "source_value", "source_unit", "comparator", "derived")
    columns = [sub[c].tolist() if c in sub else [""] * len(sub) for c in names]
    for a, when, value, source_value, source_unit, comparator, derived in zip(*columns, strict=True):
        if a not in _ANALYTE_SET or pd.isna(when):  # as the pivot did: model analytes, dated
            continue
        text = display_text(a, value, system, source_value, comparator)
        cells.setdefault(a, {}).setdefault(when, []).append(text + " (calc)" if derived else text)
        raw.setdefault(a, {}).setdefault(when, []).append(reported_text(source_value, source_unit))
        if not shown_as_reported(a, text, source_value, source_unit, system):
            converted.add(a)
    times = sorted({t for by_time in cells.values() for t in by_time}, reverse=True)
    wide = pd.DataFrame({"Collected": pd.Series(times, dtype=sub["collected_at"].dtype)})
    for a in model.ANALYTES:
        if a in cells:
            texts = cells[a]
            wide[f"{model.analyte_label(a)} ({display_unit(a, system)})"] = [
                " / ".join(texts.get(t, ())) for t in times
            ]
            if a in converted:  # the value as the lab wrote it, beside the one shown
                wide[reported_column(a)] = [" / ".join(raw[a].get(t, ())) for t in times]
    wide["Collected"] = wide["Collected"].dt.strftime("%Y-%m-%d %H:%M").str.removesuffix(" 00:00")
    return wide


def amount_text(mg_per_day: float, mg_per_week: float) -> str:
    """A dose's amount as a clinician writes it: weekly (and longer) schedules in mg/week,
    never as a daily fraction ("15 mg/week", not "2.14 mg/day"); daily ones in mg/day."""
    if mg_per_week is not None and np.isfinite(mg_per_week):
        return f"{round(mg_per_week, 3):g} mg/week"
    if mg_per_day is not None and np.isfinite(mg_per_day):
        return f"{round(mg_per_day, 3):g} mg/day"
    return ""


def patient_doses(doses: pd.DataFrame, patient_id: str) -> pd.DataFrame:
    """The patient's dose rows for display."""
    sub = doses[doses["patient_id"] == patient_id].sort_values(["start", "drug"])
    out = pd.DataFrame(
        {
            "Drug": sub["drug"].map(model.drug_label),
            "Dose": [
                f"{d:g} {u}" if not np.isnan(d) else "" for d, u in zip(sub["dose"], sub["dose_unit"], strict=True)
            ],
            "Frequency": sub["frequency"],
            "Amount": [amount_text(d, w) for d, w in zip(sub["mg_per_day"], sub["mg_per_week"], strict=True)],
            "Route": sub["route"],
            "Start": sub["start"].dt.date,
            "End": sub["end"].dt.date,
            "Basis": sub["dose_basis"],
            "Source": sub["source_file"] + ":" + sub["source_row"].astype(str),
        }
    )
    return out.reset_index(drop=True)


# --------------------------------------------------------------------------- patient page


def identity_line(patient_id: str, patient: pd.Series | None, as_of) -> str:
    """The Patient header: name, date of birth (age), sex and MRN, each one said even when
    unknown ("DOE, Jane · born 12-Mar-1980 (44 y) · female · MRN 10023456")."""
    if patient is None:
        return f"Name not in the data · date of birth not in the data · MRN {patient_id}"
    name = str(patient.get("name", "") or "") or "Name not in the data"
    born = birth_text(patient["birth_date"])
    if born:
        when = f"born {born} ({age_years(patient['birth_date'], pd.Timestamp(as_of).date())} y)"
    elif pd.notna(patient["age"]):
        when = f"age {patient['age']:g} (no date of birth)"
    else:
        when = "date of birth not in the data"
    sex = {"F": "female", "M": "male"}.get(patient["sex"], patient["sex"]) or "sex not given"
    return f"{name} · {when} · {sex} · MRN {patient_id}"


def interval_not_in_force(set_at, as_of) -> str:
    """What the page says when the risk-adapted interval in force was set after the as-of
    date: a review as of a date shows the schedule as it stood then (an interval is a
    decision about the tests to come, in force from when it was made), so a clinician who
    sets one while looking at an older extract is told why the schedule did not change."""
    made = pd.Timestamp(set_at)
    if pd.isna(made) or made.date() <= pd.Timestamp(as_of).date():
        return ""
    return (
        f"Set on {made:%d %b %Y}, after the as-of date ({pd.Timestamp(as_of):%d %b %Y}): not in force in this review, "
        f"whose schedule is as it stood then. Choose an as-of date on or after {made:%d %b %Y} to see it applied."
    )


def child_note(patient: pd.Series | None, as_of) -> str:
    """What the grades of a patient under 18 on ``as_of`` rest on ("" for an adult or an
    unknown age): the default limits are adults' (``reference_ranges.toml``)."""
    if patient is None:
        return ""
    age = age_years(patient["birth_date"], pd.Timestamp(as_of).date())
    if age is None and pd.notna(patient["age"]):
        age = int(patient["age"])
    adult = adult_from_years()
    if age is None or age >= adult:
        return ""
    return (
        f"Aged {age}: the default reference limits are adults', so before the {adult}th birthday a count or "
        "haemoglobin is given CTCAE grade 1 only on the lab's own range (grades 2 to 4 have fixed cut-offs), and "
        "an ALT or AST without the lab's range is graded on the adult default ULN, which its flag says."
    )


def patient_facts(patient: pd.Series | None, as_of) -> list[tuple[str, str]]:
    """Label/value pairs of what is known of the patient besides who they are
    (:func:`identity_line` says that)."""
    if patient is None:
        return []
    facts: list[tuple[str, str]] = []
    if pd.notna(patient["weight_kg"]):
        when = f" ({patient['weight_date']:%d %b %Y})" if pd.notna(patient["weight_date"]) else ""
        facts.append(("Weight", f"{patient['weight_kg']:g} kg{when}"))
    else:
        facts.append(("Weight", "unknown: mg/kg dose checks cannot run"))
    facts.append(("TPMT", patient["tpmt"] or "unknown"))
    facts.append(("NUDT15", patient["nudt15"] or "unknown"))
    if patient["diagnosis"]:
        facts.append(("Diagnosis", str(patient["diagnosis"])))
    return facts


def flags_table(flags: pd.DataFrame, system: str = "SI", open_only: bool = False) -> pd.DataFrame:
    """The flags of one patient for display, newest first.

    The value is shown in the display unit and as the lab reported it, side by side.
    """
    cols = [
        "Date",
        "Analyte",
        "Value",
        "As reported",
        "CTCAE",
        "Severity",
        "Rule",
        "Finding",
        "Source",
        "Doses then",
        "Days since dose change",
        "Status",
        "Open since",
    ]
    if flags.empty:
        return pd.DataFrame(columns=cols)
    f = flags[flags["status"] == "open"] if open_only else flags
    f = f.sort_values(["collected_at", "analyte"], ascending=[False, True])
    units = f["analyte"].map(lambda a: display_unit(a, system))
    limits = f["threshold"] if "threshold" in f.columns else None  # the flag's own limit
    shown = display_texts(f["analyte"], f["value"], system, f["source_value"], f["comparator"], limits)
    return pd.DataFrame(
        {
            "Date": f["collected_at"].dt.strftime("%Y-%m-%d %H:%M"),
            "Analyte": f["analyte"].map(model.analyte_label),
            "Value": [f"{v} {u}" for v, u in zip(shown, units, strict=True)],
            "As reported": (f["source_value"] + " " + f["source_unit"]).str.strip(),
            "CTCAE": _grade_texts(f),  # "2 or worse" for "<=50" platelets, as the flag says
            "Severity": f["severity"],
            "Rule": f["rule"],
            "Finding": f["message"],
            "Source": f["source"],
            "Doses then": f["dose_context"],
            "Days since dose change": f["days_since_dose_change"].astype("Int64"),
            "Status": f["status"],
            "Open since": np.where(f["status"] == "open", f["episode_start"].dt.strftime("%Y-%m-%d"), ""),
        },
        columns=cols,
    ).reset_index(drop=True)


def after_as_of_table(after: pd.DataFrame, system: str = "SI", with_patient: bool = True) -> pd.DataFrame:
    """Results dated after the as-of date (``Review.after_as_of_df()``): not reviewed,
    shown so nothing is out of sight; the highest CTCAE grade first."""
    cols = ["Patient", "Date", "Analyte", "Value", "As reported", "CTCAE"]
    if after.empty:
        return pd.DataFrame(columns=cols if with_patient else cols[1:])
    f = after.assign(_g=after["ctcae_grade"].astype("float").fillna(-1), _w=or_worse_column(after))
    f = f.sort_values(
        ["_g", "_w", "patient_id", "collected_at"], ascending=[False, False, True, True], kind="stable"
    )  # "2 or worse" before a plain 2
    units = f["analyte"].map(lambda a: display_unit(a, system))
    shown = display_texts(f["analyte"], f["value"], system, f["source_value"], f["comparator"])
    out = pd.DataFrame(
        {
            "Patient": f["patient_id"],
            "Date": f["collected_at"].dt.strftime("%Y-%m-%d %H:%M"),
            "Analyte": f["analyte"].map(model.analyte_label),
            "Value": [f"{v} {u}" for v, u in zip(shown, units, strict=True)],
            "As reported": (f["source_value"] + " " + f["source_unit"]).str.strip(),
            "CTCAE": _grade_texts(f),
        },
        columns=cols,
    ).reset_index(drop=True)
    return out if with_patient else out.drop(columns=["Patient"])


def after_as_of_summary(after: pd.DataFrame, as_of, system: str = "SI") -> str:
    """One sentence: how many results lie after the as-of date, and the most severe (in
    the unit ``system`` the table under it uses)."""
    if after.empty:
        return ""
    n, patients = len(after), after["patient_id"].nunique()
    g = after["ctcae_grade"].astype("float").fillna(-1)
    text = (
        f"{n} result{'s' if n != 1 else ''} "
        + (f"of {patients} patients " if patients > 1 else "")
        + f"{'are' if n != 1 else 'is'} dated after the as-of date {pd.Timestamp(as_of):%d %b %Y} "
        "and not in this review."
    )
    if g.max() > 0:
        w = after.loc[_worst_row(after)]
        text += f" Most severe: {w['patient_id']}, {worst_after_as_of(after, system)}."
    return text + " Move the as-of date to review them."


def worst_after_as_of(after: pd.DataFrame, system: str = "SI") -> str:
    """The most severe result after the as-of date in words ("Neutrophils 0.4 ×10⁹/L on
    20 Apr 2026 (CTCAE grade 4)"), in the unit ``system`` and rounded as every shown value
    (:func:`dashboard.units.display_text`); "" when none of them has a CTCAE grade."""
    if after.empty:
        return ""
    g = after["ctcae_grade"].astype("float").fillna(-1)
    if g.max() <= 0:
        return ""
    w = after.loc[_worst_row(after)]
    grade = grade_text(w["ctcae_grade"], w.get("ctcae_grade_or_worse", False))
    return (
        f"{model.analyte_label(w['analyte'])} "
        f"{display_text(w['analyte'], float(w['value']), system, str(w['source_value']), str(w['comparator']))} "
        f"{display_unit(w['analyte'], system)} on {w['collected_at']:%d %b %Y} (CTCAE grade {grade})"
    )


def _worst_row(after: pd.DataFrame) -> object:
    """The index of the most severe result: the highest grade, "2 or worse" before a
    plain 2, the first of equals."""
    g = after["ctcae_grade"].astype("float").fillna(-1)
    return (g + 0.5 * or_worse_column(after)).idxmax()


def or_worse_column(rows: pd.DataFrame) -> pd.Series:
    """Per row: its CTCAE grade may be worse (``ctcae_grade_or_worse``; False where the
    frame does not say)."""
    if "ctcae_grade_or_worse" not in rows:
        return pd.Series(False, index=rows.index)
    return rows["ctcae_grade_or_worse"].astype("boolean").fillna(False).astype(bool)


def _grade_texts(rows: pd.DataFrame) -> list[str]:
    """The CTCAE grade of each row in words: "2", "2 or worse", "" when ungraded."""
    return [grade_text(g, w) for g, w in zip(rows["ctcae_grade"], or_worse_column(rows), strict=True)]


def schedule_table(schedule: pd.DataFrame, what: bool = True) -> pd.DataFrame:
    """The monitoring schedule as the Patient page shows it: per drug, what is due in words
    (``what``: every test group due, each with its own date and lateness, as the review's
    message says it), the schedule, the last complete check, the interval, the earliest
    due date and the worst lateness."""
    cols = ["Drug", *(["What is due"] if what else []), "Schedule", "Last test", "Every (days)", "Next due"]
    cols += ["Overdue (days)", "Source"]
    if schedule.empty:
        return pd.DataFrame(columns=cols)
    labels = schedule["drug"].map(model.drug_label)
    return pd.DataFrame(
        {
            "Drug": labels,
            "What is due": [str(m).removeprefix(f"{d}: ") for m, d in zip(schedule["message"], labels, strict=True)],
            "Schedule": schedule["description"],
            # no complete check in the course: said, never a bare "None" (the groups' own
            # last dates are in the words above the table)
            "Last test": schedule["last_test"].dt.strftime("%Y-%m-%d").fillna("no complete check"),
            "Every (days)": schedule["interval_days"].astype("Int64"),
            "Next due": schedule["next_due"].dt.strftime("%Y-%m-%d"),
            "Overdue (days)": np.where(
                schedule["overdue"].to_numpy(dtype=bool), schedule["days_overdue"].to_numpy(), 0
            ),
            "Source": schedule["source"],
        },
        columns=cols,
    ).reset_index(drop=True)


def dose_checks_table(checks: pd.DataFrame) -> pd.DataFrame:
    cols = ["Drug", "With", "Finding", "Severity", "From", "To", "Status", "Source"]
    if checks.empty:
        return pd.DataFrame(columns=cols)
    return (
        pd.DataFrame(
            {
                "Drug": checks["drug"].map(model.drug_label),
                "With": checks["with_drug"].map(lambda d: model.drug_label(d) if d else ""),
                "Finding": checks["message"],
                "Severity": checks["severity"],
                "From": checks["start"].dt.strftime("%Y-%m-%d"),
                "To": checks["end"].dt.strftime("%Y-%m-%d").fillna("ongoing"),
                "Status": checks["status"],
                "Source": checks["source"],
            },
            columns=cols,
        )
        .sort_values("Status", ascending=False)
        .reset_index(drop=True)
    )


_SINCE_WORDS = {
    "recorded": " (when a statement recorded it: the start is not known)",
    "renewed": " (when an order continuing an earlier one was written: the start is not known)",
}


def _since(live: pd.DataFrame) -> pd.Series:
    """Each dose's start; a start that is only the day a statement was recorded or a
    renewal written reads "by <day> (...: the start is not known)" (H540)."""
    day = live["start"].dt.strftime("%Y-%m-%d")
    if "start_basis" not in live.columns:
        return day
    said = live["start_basis"].map(_SINCE_WORDS).fillna("")
    return pd.Series(np.where(said != "", "by " + day + said, day), index=live.index)


def current_doses_table(doses: pd.DataFrame, weight: float, as_of) -> pd.DataFrame:
    """The doses in force on ``as_of`` with mg/kg when the weight is known."""
    cols = ["Drug", "Dose", "Since", "Route", "Source"]
    live = model.doses_in_force(doses, as_of)
    if live.empty:
        return pd.DataFrame(columns=cols)
    rows = pd.DataFrame(
        {
            "Drug": live["drug"].map(model.drug_label),
            "Dose": [
                describe_dose(r.drug, r.dose, r.dose_unit, r.frequency, r.mg_per_day, weight) for r in live.itertuples()
            ],
            "Since": _since(live),
            "Route": live["route"],
            "Source": live["source_file"] + ":" + live["source_row"].astype(str),
        },
        columns=cols,
    )
    # a drug given as several rows in force together: the total its dose checks judge (H240)
    totals = [t for found in totals_in_force(live, lambda _pid: weight).values() for t in found]
    together = pd.DataFrame(
        {
            "Drug": [model.drug_label(drug) for drug, _text in totals],
            "Dose": [text for _drug, text in totals],
            "Since": "",
            "Route": "",
            "Source": "the rows above, taken together",
        },
        columns=cols,
    )
    return pd.concat([rows, together], ignore_index=True) if totals else rows.reset_index(drop=True)


@dataclass(frozen=True)
class BaselineUse:
    """One way the rules of a profile use a computed baseline: an analyte, how many draws
    before the start, the drug whose start counts (None: the first monitored drug), the
    rules, and what they do without one."""

    analyte: str
    draws: int
    drug: str | None
    rules: tuple[str, ...]
    without: str
    #: the drug's first course in the record, kept through restarts (``Rule.first_course``:
    #: the voclosporin label, H410), else its course in force
    first_course: bool = False


def baseline_uses(profile: Profile) -> list[BaselineUse]:
    """The baselines the rules of ``profile`` (:class:`~dashboard.rules.engine.Profile`)
    compare with, one per analyte, number of draws and drug."""
    found: dict[tuple[str, int, str | None, bool], list[tuple[str, str]]] = {}

    def add(analyte: str, n: int, drug: str | None, rule: str, without: str, first: bool = False) -> None:
        found.setdefault((analyte, max(n, 1), drug, first), []).append((rule, without))

    if profile.ctcae:
        for analyte, term in terms().items():
            if term.get("baseline_rule"):
                add(analyte, baseline_min_results(), None, f"ctcae.{analyte}", "CTCAE grades on the ULN alone")
    for r in profile.active():
        label = "the label's rule is silent" if r.drug else ""
        if r.comparison == "rise_pct":
            without = label or f"the rise is measured from the lowest of the previous {r.window_days} days"
            add(r.analyte, r.min_results, r.drug or None, r.id, without)
        elif r.comparison in ("baseline_fall", "fall_pct"):
            for a in r.analytes:
                add(a, r.min_results, r.drug or None, r.id, label or "the fall rule is silent", r.first_course)
    return [
        BaselineUse(
            a, n, d, tuple(dict.fromkeys(x for x, _ in pairs)), "; ".join(dict.fromkeys(w for _, w in pairs)), first
        )
        for (a, n, d, first), pairs in found.items()
    ]


BASELINE_COLUMNS = ["Analyte", "Baseline", "Rests on", "Used by"]


def pretreatment_baseline_table(
    labs: pd.DataFrame,
    doses: pd.DataFrame,
    patients: pd.DataFrame | None,
    baselines: pd.DataFrame | None,
    as_of,
    profile: Profile,
    patient_id: str,
) -> pd.DataFrame:
    """The baselines the rules of ``profile`` compare one patient's results with, one row
    per analyte and kind of baseline: the value (a bound keeps its comparator), what it
    rests on (the draws' dates and the drug they precede, or the clinician), the rules
    using it; where there is none, why, and what the rules do then ("the fall rule is
    silent").  A label's rule for one drug is listed only when the patient has had it."""
    inp = prepare(labs, doses, patients, baselines, as_of)
    base = bl.compute(inp)
    codes = list(inp.patient_ids)
    p = codes.index(patient_id) if patient_id in codes else -1
    rows = []
    for use in baseline_uses(profile):
        a = model.ANALYTES.index(use.analyte)
        drug = D[use.drug] if use.drug else None
        if p < 0:
            start, name = NEVER, ""
        elif drug is None:
            start = int(base.first_start[p])
            name = model.drug_label(model.drugs()[int(base.first_drug[p])]) if base.first_drug[p] >= 0 else ""
        else:
            c = base.courses.get(drug)
            mine = np.flatnonzero(c.pid == p) if c is not None else np.zeros(0, dtype=np.int64)
            if not len(mine) or c is None:
                continue  # the patient never had the drug: its label's rule does not apply
            # the course whose start the rule keeps: the first in the record where the
            # rule keeps one baseline through restarts (voclosporin, H410; probe37 F3)
            start, name = int(c.start[mine[0] if use.first_course else mine[-1]]), model.drug_label(use.drug or "")
        used_by = ", ".join(use.rules)
        unit = unit_text(use.analyte)
        ref = bl.for_rows(
            base, np.array([max(p, 0)]), a, np.array([start], dtype=np.int64), use.draws, drug, use.first_course
        )
        if p >= 0 and np.isfinite(ref.value[0]):
            mark = {1: ">", -1: "<"}.get(int(ref.bound[0]), "")
            words = bl.words(inp, ref, np.array([p]), a)[0].as_py()
            value = f"{mark}{ref.value[0]:g} {unit}"
            if mark and any(r.startswith("ctcae.") for r in use.rules):
                words += " (CTCAE needs a value: it grades on the ULN alone)"
        elif p >= 0 and ref.ranged[0] and (np.isfinite(ref.low[0]) or np.isfinite(ref.high[0])):
            # two different results of one day before the drug: a range, used by each rule
            # at the end that proves its finding (H428, H431), never "censored"
            lo, hi = ref.low[0], ref.high[0]
            value = (
                f"{lo:g}-{hi:g} {unit}"
                if np.isfinite(lo) and np.isfinite(hi)
                else (f">{lo:g} {unit}" if np.isfinite(lo) else f"<{hi:g} {unit}")
            )
            words = (
                f"two different results of one day before {name} started on {pd.Timestamp(start, unit='s'):%Y-%m-%d}: "
                "the level lies in that range, and a rule uses the end that proves its finding (at most the upper "
                "end for a rise, at least the lower end for a fall); a rule that needs the level itself has none"
            )
        else:
            value = "none"
            unknown = bl.unknown_start_words(ref)[0] if p >= 0 else ""
            if start >= NEVER:
                why = "no drug that needs blood monitoring in the doses"
            elif unknown:  # the start is only when a statement was recorded (H540)
                why = unknown
            else:
                draws = base.draws.get(a)
                k = 0
                if draws is not None:
                    k = int(
                        np.searchsorted(draws.key, pair_key(np.array([p]), np.array([start])))[0]
                        - np.searchsorted(draws.key, pair_key(np.array([p]), np.array([-(2**40)])))[0]
                    )
                day = f"{pd.Timestamp(start, unit='s'):%Y-%m-%d}"
                if k == 0:
                    why = f"no result before {name} started on {day}"
                elif k < use.draws:
                    why = f"only {k} result{'s' if k > 1 else ''} before {name} started on {day} ({use.draws} needed)"
                else:
                    why = f"the results before {name} started on {day} are censored both ways"
            words = f"{why}, so {use.without}"
        if p >= 0 and ref.basis[0] != bl.CLINICIAN and not ref.unknown[0]:
            words += _start_day_note(base, p, a, start, name)
        rows.append(
            {"Analyte": model.analyte_label(use.analyte), "Baseline": value, "Rests on": words, "Used by": used_by}
        )
    return pd.DataFrame(rows, columns=BASELINE_COLUMNS)


def _start_day_note(base: bl.Baselines, p: int, a: int, start: int, name: str) -> str:
    """Why a result of the day a drug started (a start without a time of day) is not in
    its baseline: whether it was drawn before the first dose is not known (H544)."""
    draws = base.draws.get(a)
    if draws is None or start >= NEVER or start % DAY:
        return ""
    on_day = np.searchsorted(draws.key, pair_key(np.array([p, p]), np.array([start, start + DAY])))
    n = int(on_day[1] - on_day[0])
    if not n:
        return ""
    day = f"{pd.Timestamp(start, unit='s'):%Y-%m-%d}"
    what = "a result" if n == 1 else f"{n} results"
    return (
        f"; {what} of {day}, the day {name} started, {'is' if n == 1 else 'are'} not used: "
        "the time of the first dose is not known, so it may have been drawn on treatment"
    )


def loaded_line(label: str, patients: int, results: int) -> str:
    """The sidebar's line of what is loaded ("1 patient", never "1 patients")."""
    return (
        f"Loaded: **{label}** · {patients:,} patient{'' if patients == 1 else 's'} · "
        f"{results:,} result{'' if results == 1 else 's'}"
    )


def workspace_counts_heading(exists: bool, in_workspace: bool, session_patients: int | None) -> str:
    """What the Workspace page's counts are counts of: the folder on this machine, never the
    panel this session shows (a loaded panel beside "Patients 0" reads as lost data)."""
    heading = "Saved in the workspace on this machine"
    if not exists:
        heading += " (nothing saved yet)"
    if not in_workspace and session_patients:
        noun = "patient" if session_patients == 1 else "patients"
        heading += f"; this session's panel ({session_patients:,} {noun}) is not counted here until it is saved"
    return heading + ":"


def import_log_title(entry: dict) -> str:
    """The Workspace page's title of one import (markdown: names and who are escaped)."""
    names = ", ".join(f["file_name"] for f in entry["files"]) or entry["label"]
    return (
        f"#{entry['import_id']} · {entry['imported_at']:%Y-%m-%d %H:%M} · {md_escape(entry['imported_by'])} · "
        f"{md_escape(names)}: +{entry['labs_added']:,} results ({entry['labs_duplicate']:,} already there), "
        f"+{entry['doses_added']:,} doses, +{entry['patients_added']:,} patients"
        # said on the closed entry too, so that a stale reading is seen without opening each (H641)
        + (" · read by an earlier version: may read differently now" if entry.get("read_earlier") else "")
    )


def import_file_line(f: dict) -> str:
    """One imported file of the log: name, status, content hash and size (markdown)."""
    return f"{md_escape(f['file_name'])}: {f['status']}, sha256 {f['content_hash'][:16]}…, {f['size']:,} bytes"


def withdrawn_frame(rows: Sequence[Mapping]) -> pd.DataFrame:
    """The Workspace page's table of stored results the lab withdrew (H530, H537): the
    result as stored, where it came from, and the row that withdrew it.  No longer
    graded, never out of sight."""
    cols = ["Patient", "Test", "Drawn", "Result as stored", "Stored from", "Withdrawn by", "Import", "Withdrawn on"]
    out = [
        {
            "Patient": r["patient_id"],
            "Test": model.analyte_label(r["analyte"]),
            "Drawn": f"{r['collected_at']:%Y-%m-%d %H:%M}",
            "Result as stored": f"{r.get('stored_value') or ''} {r.get('stored_unit') or ''}".strip(),
            "Stored from": f"{r.get('stored_file') or ''} row {r.get('stored_row')} (import #{r.get('stored_import')})",
            "Withdrawn by": f"{r['source_file']} row {r['source_row']}: '{r['status']}'",
            "Import": f"#{r['import_id']}",
            "Withdrawn on": f"{r['imported_at']:%Y-%m-%d %H:%M}",
        }
        for r in rows
    ]
    return pd.DataFrame(out, columns=cols)


PICKER_LIMIT = 200
"""A patient select box lists at most this many patients; a larger panel gets a search box.

Rendering a 5,000-option select box costs the browser about a quarter of a second on
every rerun, which a clinician pays on each patient switch."""


@dataclass(frozen=True)
class PickerList:
    """What a patient select box offers for a search (see :func:`picker_list`)."""

    options: list[str]
    """Patient ids to list: the current patient first when the search would leave it out."""
    matches: int
    """Patients matching the search (the whole panel when there is none)."""
    found: str | None
    """The patient the search names: an exact id (any case), or the only match."""

    def note(self, total: int, query: str) -> str:
        """One line telling the user what the list holds, so that nobody seems missing."""
        q = query.strip()
        if not q:
            if total <= len(self.options):
                return ""
            return f"Listing {len(self.options):,} of {total:,} patients; find any other by id above."
        if self.matches == 0:
            return f"No patient matches \u201c{q}\u201d."
        shown = min(self.matches, len(self.options))
        more = f"; the first {shown:,} are listed, narrow the search for the rest" if self.matches > shown else ""
        return f"{self.matches:,} of {total:,} patients match \u201c{q}\u201d{more}."


def picker_list(
    ids: Sequence[str],
    labels: Mapping[str, str],
    query: str = "",
    current: str | None = None,
    limit: int = PICKER_LIMIT,
    ranked: Sequence[str] | None = None,
) -> PickerList:
    """The patients a select box lists for ``query`` (case-insensitive, in the id or the label).

    Without a query the list is the first ``limit`` patients of ``ranked`` (e.g. most
    urgent first), else of ``ids``.  An exact id comes before partial matches, so typing a
    full MRN always finds that patient even when it is also part of other ids.
    """
    known = set(ids)
    q = query.strip().casefold()
    if q:
        exact = [i for i in ids if i.casefold() == q]
        hits = [i for i in ids if q in i.casefold() or q in labels.get(i, "").casefold()]
        found = exact[0] if exact else hits[0] if len(hits) == 1 else None
        listed = (exact + [i for i in hits if i not in exact])[:limit]
        matches = len(hits)
    else:
        order = [i for i in ranked if i in known] if ranked is not None else list(ids)
        if ranked is not None and len(order) < len(known):
            seen = set(order)
            order += [i for i in ids if i not in seen]
        listed, matches, found = order[:limit], len(ids), None
    if current in known and current not in listed:
        listed = [current, *listed]
    return PickerList(listed, matches, found)


# --------------------------------------------------------------------------- browser wording

#: Command-line hints in import messages, and what the browser says instead (the Home page
#: offers buttons and forms for the same choices).
_CLI_HINTS: tuple[tuple[str, str], ...] = (
    ("choose the date order (--dayfirst or --monthfirst)", "choose the date order below"),
    ("Map them (--map COLUMN=FIELD).", "Say what each column holds in the form below."),
    ("--map names column(s) not found in any file", "the column mapping names column(s) not found in any file"),
    ("(--dayfirst or --monthfirst)", "(choose the date order below)"),
    ("--dayfirst", "day first"),
    ("--monthfirst", "month first"),
)
_FLAG = re.compile(r"\s*\((?:[^()]*\s)?--[a-z][a-z-]*[^()]*\)|(?<![^\s])--[a-z][a-z-]*(?:\s+[A-Z_=]+)?")


def browser_words(message: object) -> str:
    """An import message for the browser: command-line options ("--dayfirst", "--map
    COLUMN=FIELD") become words pointing to the buttons and forms of the page."""
    text = str(message)
    for cli, words in _CLI_HINTS:
        text = text.replace(cli, words)
    return _FLAG.sub("", text)


def browser_frame(df: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
    """``df`` with :func:`browser_words` applied to the text of ``columns``."""
    out = df.copy()
    for c in columns:
        if c in out:
            out[c] = out[c].map(browser_words)
    return out


def recently_ended_sentence(ended: str) -> str:
    """The drugs no longer in force that the review still records (the summary's
    ``recent_doses``), as the Patient page and the patient PDF say them under the doses in
    force ("" when none, H482)."""
    if not ended:
        return ""
    return (
        f"Recently ended, still recorded by the review: {ended}. A monitored drug counts at a result for a "
        "while after its last dose: the Rules page says how long for each drug, and why."
    )


def flagged_not_drawn(flags: pd.DataFrame, shown: Sequence[str]) -> str:
    """The tests with an open flag that the chart does not draw (not among ``shown``, the
    Patient page's "Results shown"), in one sentence ("" when every one is drawn).  The
    choice is kept per patient while the page stays open, so a flag opened by a later as-of
    date or a new result can fall outside it: said, never an absent panel (probe47 F2)."""
    if not len(flags):
        return ""
    flagged = set(flags.loc[flags["status"] == "open", "analyte"])
    missing = [a for a in model.ANALYTES if a in flagged - set(shown)]
    if not missing:
        return ""
    names = ", ".join(model.analyte_label(a) for a in missing)
    one = len(missing) == 1
    return (
        f"{names}: {'an open flag' if one else 'open flags'}, not drawn on the chart. Add "
        f"{'it' if one else 'them'} under Results shown; the flags are listed under Review and Flags."
    )


def no_blood_test_lines(recorded_drugs: str, schedule_profile: str) -> list[str]:
    """What each drug the review records with no blood-test schedule asks instead, one line
    per drug ("Hydroxychloroquine: no routine blood tests; retinal screening after 5 years
    ... Source: RCOphth 2020 [rcophth2020]"): the schedule.toml rows of kind "none" under the
    profile's monitoring schedule.  ``recorded_drugs`` is the review summary's (";"-joined
    ids: in force, or within their window after the last dose), so rituximab between
    infusions is named too.  A drug monitored only through another (allopurinol) says
    nothing.  Never an empty "Blood tests due" that reads as nothing to do (probe47 F6)."""
    out = []
    for drug in sorted(filter(None, str(recorded_drugs or "").split(";"))):
        name = schedule_name(drug, "", "", schedule_profile)
        spec = schedules().get(name, {}) if isinstance(name, str) and name else {}
        if spec.get("kind") != "none" or name == "none_other":
            continue
        source = f". Source: {spec['source']}" if spec.get("source") else ""
        out.append(f"{model.drug_label(drug)}: {spec['description']}{source}")
    return out


def unlisted_patients_sentence(unlisted: Mapping[str, Sequence[tuple[str, Problem]]], shown: int = 5) -> str:
    """The patients of the imported files that are not on the panel because every row of
    theirs was rejected (``Dataset.unlisted_patients``), in one sentence with the first
    reason of each of the first ``shown`` ("" when none): a patient never vanishes from the
    Panel unsaid (probe47 F8)."""
    n = len(unlisted)
    if not n:
        return ""
    named = [
        f"{pid} ({rows[0][0]} row {rows[0][1].row}: {rows[0][1].message}"
        + (f"; and {len(rows) - 1} more row{'s' if len(rows) > 2 else ''})" if len(rows) > 1 else ")")
        for pid, rows in list(unlisted.items())[:shown]
    ]
    more = f"; and {n - shown} more" if n > shown else ""
    return (
        f"{n} patient{'s' if n != 1 else ''} of the imported files {'are' if n != 1 else 'is'} not on the panel: "
        f"every row of theirs was rejected at import: {'; '.join(named)}{more}. "
        "The import report on Home lists every rejected row with its reason."
    )


def monitored_first(rows: Sequence[tuple[str, Problem]]) -> list[tuple[str, Problem]]:
    """Rejected rows (file name, problem) with those of a monitored test first (the problem
    names its analyte: an unreadable neutrophil count), the others after (a CRP, an ESR:
    "not a monitored analyte"), each in their own order: a note that names the first few
    never hides the one that matters behind "(and 18 more)" (probe47 F10)."""
    return sorted(rows, key=lambda r: not r[1].analyte)
