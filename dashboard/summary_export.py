"""What leaves the app: the panel and a patient as CSV/Excel, and a patient summary PDF.

Tables are built here from the canonical frames (pure); :mod:`dashboard.export`
neutralises formula-like text cells when they are written.  Every column holding a
measurement names its unit in the header ("WBC (10^9/L)").  The PDF is drawn with
fpdf2 as plain text cells (data are never interpreted as markup); the timeline figure,
when given, is a PNG made by kaleido with the system Chromium (:func:`figure_png`).
"""

from __future__ import annotations

import datetime as dt
import io
import math
import shutil
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import pyarrow.compute as pc

from dashboard import knowledge, model
from dashboard.export import printable, to_csv_bytes, to_xlsx_bytes
from dashboard.figures.timeline import TimelineOptions, timeline_figure
from dashboard.identity import (
    IdentityConflict,
    age_years,
    conflict_notes,
    disputed_values,
    other_id_notes,
    other_ids_by_patient,
    patient_label,
)
from dashboard.panel import SEVERITY_ORDER, doses_now_texts, reviewed_labs
from dashboard.reviews import empty_log, history_frame, last_review_withdrawn, review_state, with_review_status
from dashboard.rules import Profile, Review, get_profile, review
from dashboard.rules.context import totals_in_force
from dashboard.rules.ctcae import grade_text
from dashboard.rules.data import draw_severity
from dashboard.units import display_decimals, display_number, display_text
from dashboard.views import (
    after_as_of_summary,
    after_as_of_table,
    monitored_first,
    no_blood_test_lines,
    or_worse_column,
    recently_ended_sentence,
    reported_column,
    reported_text,
    schedule_table,
    shown_as_reported,
    worst_after_as_of,
)

if TYPE_CHECKING:
    from dashboard.ingest.report import Problem

#: Printed on every summary (the same words as the app's disclaimer).
DISCLAIMER = (
    "Decision support only. This summary shows results against published thresholds; it does not "
    "diagnose or prescribe. Check every flag against the raw result, the patient and your local "
    "protocol. Local protocols override the defaults shown here."
)

#: Fonts with the characters of lab units and names (Debian's fonts-dejavu).
FONT_DIRS = (Path("/usr/share/fonts/truetype/dejavu"), Path("/usr/local/share/fonts"))


def result_text(
    value: float, comparator: str, analyte: str = "", source_value: str = "", limits: tuple[float, ...] = ()
) -> object:
    """A number, or text with its comparator for a censored result ("<0.1").

    With the analyte (and the value as the lab wrote it), the number is rounded by
    :func:`dashboard.units.display_decimals`, as a lab reports it in the canonical unit
    (0.73 mg/dL creatinine is 65 umol/L, never 64.532) unless that would cross a limit the
    value is judged against (``limits``: a flag's own threshold): 1595 cells/uL is 1.595.
    """
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if analyte:
        if comparator:
            return display_text(analyte, float(value), "SI", source_value, comparator, limits)
        number = display_number(analyte, float(value), "SI", source_value, limits)
        # a whole number stays whole in a CSV ("65", not "65.0")
        return int(number) if display_decimals(analyte, float(value), "SI", source_value, limits) == 0 else number
    return f"{comparator}{value:g}" if comparator else float(value)


def _own_limit(threshold: object) -> tuple[float, ...]:
    """A flag's own threshold (canonical unit) as the ``limits`` of :func:`display_text`."""
    return () if threshold is None or pd.isna(threshold) else (float(threshold),)  # type: ignore[arg-type]


def _results(df: pd.DataFrame) -> list[object]:
    """:func:`result_text` of every row of a labs frame (or of flags: with their threshold)."""
    limits = df["threshold"] if "threshold" in df.columns else pd.Series(np.nan, index=df.index)
    return [
        result_text(v, c, a, r, _own_limit(t))
        for v, c, a, r, t in zip(df["value"], df["comparator"], df["analyte"], df["source_value"], limits, strict=True)
    ]


def analyte_header(analyte: str) -> str:
    return f"{model.analyte_label(analyte)} ({model.CANONICAL_UNITS[analyte]})"


def _iso_day(t: object) -> str:
    return "" if t is None or pd.isna(t) else pd.Timestamp(t).date().isoformat()


def _age(row: pd.Series, as_of: dt.date) -> float:
    """Age in whole years from the date of birth, else the age the source gave (NaN if neither)."""
    years = age_years(row["birth_date"], as_of)
    if years is not None:
        return float(years)
    return float(row["age"]) if not pd.isna(row["age"]) else math.nan


def dose_text(row: pd.Series) -> str:
    dose = "" if pd.isna(row["dose"]) else f" {row['dose']:g} {row['dose_unit']}"
    return f"{model.drug_label(row['drug'])}{dose} {row['frequency']}".strip()


def latest_results(labs: pd.DataFrame) -> pd.DataFrame:
    """The most recent result of each analyte for each patient (of a draw with two
    different values, the more severe, as the review counts it)."""
    if labs.empty:
        return labs

    units = labs["source_unit"].tolist() if "source_unit" in labs else None
    severity = draw_severity(labs["analyte"].to_numpy(), labs["value"].to_numpy(), units)
    order = labs.assign(_severity=severity).sort_values(["collected_at", "_severity"], kind="stable")
    return order.drop_duplicates(["patient_id", "analyte"], keep="last").drop(columns="_severity")


def _open_check_texts(checks: pd.DataFrame) -> pd.Series:
    """Per patient: each open dose check above info (the Panel's "Dose checks"), most
    severe first, as "rule (severity): finding [source]", joined by " | "."""
    if not len(checks):
        return pd.Series(dtype=object)
    rank = checks["severity"].map(SEVERITY_ORDER).fillna(0)
    live = checks[(checks["status"] == "open") & (rank > SEVERITY_ORDER["info"])]
    live = live.assign(_rank=rank).sort_values(["patient_id", "_rank", "rule"], ascending=[True, False, True])
    texts = [f"{r.rule} ({r.severity}): {r.message} [{r.source}]" for r in live.itertuples(index=False)]
    return pd.Series(texts, index=live.index, dtype=object).groupby(live["patient_id"]).agg(" | ".join)


def _review_state(n_open: int, not_reviewed: int, checks: int, overdue: int, after: int = 0) -> str:
    """The review state of a patient's open lab flags, and what else is open (never
    "no open flag" alone while a dose check or overdue bloods stand); ``after``: how many of
    the reviews counted were made after the as-of date, said (H478)."""
    if n_open:
        state = "all reviewed" if not_reviewed == 0 else f"{not_reviewed} of {n_open} not reviewed"
        if after:
            later = f"{after} after the as-of date" if not_reviewed == 0 else f"{after} reviewed after the as-of date"
            state += f" ({later})"
        return state
    other = ([f"{checks} dose check{'s' if checks != 1 else ''}"] if checks else []) + (
        [f"bloods {overdue} d overdue"] if overdue else []
    )
    return "no open flag" if not other else "no open lab flag; open: " + ", ".join(other)


def panel_frame(
    labs: pd.DataFrame,
    doses: pd.DataFrame,
    patients: pd.DataFrame,
    reviews: pd.DataFrame | None = None,
    as_of: dt.date | None = None,
    baselines: pd.DataFrame | None = None,
    profile: Profile | str | None = None,
    intervals: pd.DataFrame | None = None,
    aliases: Sequence[tuple[str, str, str, str]] = (),
    conflicts: Sequence[IdentityConflict] = (),
) -> pd.DataFrame:
    """One row per patient, most urgent first (the Panel's order on ``as_of``): who (MRN,
    name, date of birth, sex: a date of birth or sex two sources give differently, the
    ``conflicts``, is "disputed: ..." with both values, never one as fact, H553; "Another
    id": another id of the panel that may be the same person,
    from the import's identifiers ``aliases``, H150, or by leading zeros, H330), the urgency
    and why, the open flags and their review state, days overdue, current drugs, the latest
    result of each analyte (unit in the header, rounded as the lab reports it), the date of
    the last draw and the last review; last, "As of" and "Profile": the date and threshold
    profile every row was judged on (H331).

    Judged as the Panel judges: the clinician-set monitoring ``intervals`` (the dataset's),
    and the latest results and last draw up to the as-of date; results after it are
    counted apart ("Results after as-of"), never mixed in."""
    as_of = as_of or dt.date.today()
    canonical = model.to_pandas("doses", model.from_pandas("doses", doses))
    rv = review(labs, canonical, patients, baselines, profile, as_of, intervals=intervals)
    summary = rv.summary_df().set_index("patient_id")
    rank = summary["urgency_rank"]
    pts = patients.assign(_rank=patients["patient_id"].map(rank).fillna(len(rank) + 1))
    pts = pts.sort_values(["_rank", "patient_id"]).reset_index(drop=True)
    log = reviews if reviews is not None else empty_log()
    flags = with_review_status(rv.open_flags_df(), log, rule_col="rule", as_of=as_of)
    open_n = flags.groupby("patient_id").size()
    # (an empty frame's column is of objects: as a mask it would select columns)
    todo = flags[~flags["reviewed"].astype(bool).to_numpy()].groupby("patient_id").size()
    # reviews counted as done that were made after the as-of date: said (H478)
    late = flags[(flags["reviewed"].astype(bool) & flags["reviewed_after_as_of"].astype(bool)).to_numpy()]
    ids = pts["patient_id"]
    n_open = ids.map(open_n).fillna(0).astype(int)
    n_todo = ids.map(todo).fillna(0).astype(int)
    n_late = ids.map(late.groupby("patient_id").size()).fillna(0).astype(int)
    overdue = ids.map(summary["days_overdue"].where(summary["overdue"].astype(bool), 0)).fillna(0).astype(int)
    # the Panel's "Dose checks": open checks above info (summary.dose_checks_open)
    n_checks = ids.map(summary["dose_checks_open"]).fillna(0).astype(int)
    check_texts = _open_check_texts(rv.dose_checks_df()).to_dict()
    other_ids = other_ids_by_patient(aliases, ids.tolist())  # H150, H330 (leading zeros)
    born_disputed = disputed_values(conflicts, "birth_date")  # H553: both dates, never one
    sex_disputed = disputed_values(conflicts, "sex")
    out = pd.DataFrame(
        {
            "Patient": ids,
            "Name": pts.get("name", ""),
            "Birth date": [
                born_disputed.get(pid) or _iso_day(b) for pid, b in zip(ids, pts["birth_date"], strict=True)
            ],
            "Sex": [sex_disputed.get(pid) or sex for pid, sex in zip(ids, pts["sex"], strict=True)],
            # whole years ("65", never "65.0"); blank when unknown
            "Age (years)": pd.array([_age(r, as_of) for _, r in pts.iterrows()], dtype="Float64")
            .round()
            .astype("Int64"),
            "Diagnosis": pts["diagnosis"],
            # as the Patient page says it (H276): its doses or results may be under the other id
            "Another id": ["; ".join(other_ids.get(pid, [])) for pid in ids],
            "TPMT": pts["tpmt"],
            "Urgency": ids.map(summary["urgency"]).fillna("").replace("", "none"),
            "Needs attention": ids.map(summary["headline"]).fillna(""),
            "Open flags": n_open,
            "Not reviewed": n_todo,
            "Review state": [
                _review_state(n, t, k, d, a)
                for n, t, k, d, a in zip(n_open, n_todo, n_checks, overdue, n_late, strict=True)
            ],
            "Dose checks": n_checks,
            "Open dose checks": [check_texts.get(pid, "") for pid in ids],
            "Overdue (days)": overdue,
            "Next test due": [_iso_day(t) for t in ids.map(summary["next_test_due"])],
        }
    )
    later = ids.map(summary["results_after_as_of"]).fillna(0).astype(int)
    if int(later.sum()):  # not judged on the as-of date: never out of sight
        out["Results after as-of"] = later.to_numpy()
        after = rv.after_as_of_df()
        worst = {pid: worst_after_as_of(rows) for pid, rows in after.groupby("patient_id")}
        out["Worst result after as-of"] = [worst.get(pid, "") for pid in ids]
    current = model.doses_in_force(doses, as_of).sort_values("drug")
    drugs: dict[str, list[str]] = {}
    for _, r in current.iterrows():
        drugs.setdefault(r["patient_id"], []).append(dose_text(r))
    weight = dict(zip(pts["patient_id"], pts["weight_kg"], strict=True))
    for pid, found in totals_in_force(current, lambda p: float(weight.get(p, float("nan")))).items():
        drugs.setdefault(pid, []).extend(text for _drug, text in found)  # the total its checks judge (H240)
    # then the monitored drugs the review still records after their last dose, as the Panel's
    # "Doses now" says them: between rituximab infusions never a blank (H482, probe47 F1)
    out["Current drugs"] = doses_now_texts(
        pd.Series(["; ".join(drugs.get(pid, [])) for pid in out["Patient"]], index=out.index),
        out["Patient"].map(summary["recent_doses"]),
    )
    judged = reviewed_labs(labs, as_of)  # the results the review judged, as the Panel shows them
    last = latest_results(judged)
    last_draw = judged.groupby("patient_id")["collected_at"].max().to_dict()  # none at all: an empty dict
    out["Last draw"] = [_iso_day(last_draw.get(pid)) for pid in out["Patient"]]
    if not last.empty:
        by_analyte: dict[str, dict[str, object]] = {}
        # each latest result as the lab wrote it, for the analytes with any not shown so (H714)
        as_written: dict[str, dict[str, str]] = {}
        converted: set[str] = set()
        columns = [last[c].tolist() for c in ("patient_id", "analyte", "value", "comparator")]
        raw = zip(last["source_value"].tolist(), last["source_unit"].tolist(), strict=True)
        for (pid, a, value, comparator), text, (written, unit) in zip(
            zip(*columns, strict=True), _results(last), raw, strict=True
        ):
            by_analyte.setdefault(a, {})[pid] = text  # plain objects: 65 stays 65, not 65.0
            as_written.setdefault(a, {})[pid] = reported_text(written, unit)
            if not shown_as_reported(a, display_text(a, value, "SI", written, comparator), written, unit):
                converted.add(a)
        for a in model.ANALYTES:
            if a in by_analyte:
                out[analyte_header(a)] = pd.Series(
                    [by_analyte[a].get(pid, "") for pid in out["Patient"]], index=out.index, dtype=object
                )
                if f"ctcae_{a}" in summary:  # the grade of that latest result, as the Panel's "1.00 G3"
                    grade = pd.array(ids.map(summary[f"ctcae_{a}"]).to_numpy(), dtype="Int64")
                    worse = ids.map(summary["grades_or_worse"]).fillna("").map(lambda x, a=a: a in x.split(";"))
                    # whole grades ("2", never "2.0" beside a blank: H272); "2 or worse" where a
                    # bound ("<=50") may lie beyond it (H275): text there, a number elsewhere
                    out[f"{model.analyte_label(a)} CTCAE grade"] = pd.Series(
                        [
                            None if pd.isna(g) else (grade_text(g, True) if w else int(g))
                            for g, w in zip(grade, worse, strict=True)
                        ],
                        index=out.index,
                        dtype=object,
                    )
                if a in converted:  # a converted or calculated value: the raw after its grade (probe47 F5)
                    out[reported_column(a)] = [as_written[a].get(pid, "") for pid in out["Patient"]]
    if reviews is not None:
        if reviews.empty:
            latest_rev = pd.DataFrame(columns=["reviewed_at", "action", "reviewer"])
        else:
            latest_rev = reviews.sort_values(["reviewed_at", "review_id"]).groupby("patient_id").last()
        out["Last review"] = (
            out["Patient"]
            .map(latest_rev["reviewed_at"])
            .map(lambda t: pd.Timestamp(t).date() if not pd.isna(t) else None)
        )
        for col, field in (("Last review action", "action"), ("Reviewed by", "reviewer")):
            values = out["Patient"].map(latest_rev[field]).astype(object)
            out[col] = values.where(values.notna(), "")
        # a last review only of results the lab withdrew since: said as the review log says it
        # (probe44 F4, H621), never read as a decision about a current result
        pulled = last_review_withdrawn(reviews)
        out["Last review action"] = [
            f"{a} ({pulled[pid]})" if pid in pulled else a
            for pid, a in zip(out["Patient"], out["Last review action"], strict=True)
        ]
    # what the file was judged on: an audit of a past date under an old profile says so (H331)
    out["As of"] = as_of.isoformat()
    out["Profile"] = rv.profile.name
    return out


def patient_results_frame(labs: pd.DataFrame, patient_id: str) -> pd.DataFrame:
    """Every result of one patient, one row per result, the raw value beside the
    canonical one."""
    sub = labs[labs["patient_id"] == patient_id].sort_values(["collected_at", "analyte"])
    return pd.DataFrame(
        {
            "Collected": sub["collected_at"].to_numpy(),
            "Analyte": [model.analyte_label(a) for a in sub["analyte"]],
            "Result": _results(sub),
            "Unit": sub["unit"].to_numpy(),
            "As reported": sub["source_value"].to_numpy(),
            "Reported unit": sub["source_unit"].to_numpy(),
            "Reference low (canonical unit)": sub["ref_low"].to_numpy(),
            "Reference high (canonical unit)": sub["ref_high"].to_numpy(),
            "Lab flag": sub["source_flag"].to_numpy(),
            "Calculated": sub["derived"].to_numpy(),
            "Source file": sub["source_file"].to_numpy(),
            "Source row": sub["source_row"].to_numpy(),
        }
    )


def patient_results_wide(labs: pd.DataFrame, patient_id: str) -> pd.DataFrame:
    """One row per draw, one column per analyte with its unit in the header.

    A draw with two values of one analyte keeps both ("1.2 / 0.8", file order, as the Home
    table), never one chosen by file order; beside an analyte with any result not written
    in the canonical unit as the lab wrote it, "<analyte> as reported" gives each result
    as written with its unit ("5.2 mmol/L"; H487)."""
    sub = labs[labs["patient_id"] == patient_id]
    if sub.empty:
        return pd.DataFrame(columns=["Collected"])
    cells: dict[str, dict[pd.Timestamp, list[object]]] = {}
    raw: dict[str, dict[pd.Timestamp, list[str]]] = {}
    converted: set[str] = set()
    texts = _results(sub)
    columns = [
        sub[c].tolist() for c in ("analyte", "collected_at", "value", "comparator", "source_value", "source_unit")
    ]
    for text, (a, when, value, comparator, source_value, source_unit) in zip(
        texts, zip(*columns, strict=True), strict=True
    ):
        if a not in model.ANALYTES or pd.isna(when):  # as the pivot did: model analytes, dated
            continue
        cells.setdefault(a, {}).setdefault(when, []).append(text)
        raw.setdefault(a, {}).setdefault(when, []).append(reported_text(source_value, source_unit))
        shown = display_text(a, value, "SI", source_value, comparator)
        if not shown_as_reported(a, shown, source_value, source_unit):
            converted.add(a)
    times = sorted({t for by_time in cells.values() for t in by_time})
    wide = pd.DataFrame({"Collected": pd.Series(times, dtype=sub["collected_at"].dtype)})
    for a in model.ANALYTES:
        if a in cells:
            # one value stays a number in the file; two are both written
            wide[analyte_header(a)] = [
                v[0] if len(v := cells[a].get(t, [])) == 1 else " / ".join(map(str, v)) for t in times
            ]
            if a in converted:
                wide[reported_column(a)] = [" / ".join(raw[a].get(t, ())) for t in times]
    return wide.astype(object)


def doses_frame(doses: pd.DataFrame) -> pd.DataFrame:
    """Dose rows with their source: the file and row, or who entered them and when."""
    doses = doses.sort_values(["start", "drug"])
    source = []
    for _, r in doses.iterrows():
        if r["dose_basis"] == "entered":
            when = r.get("entered_at")
            at = f" on {pd.Timestamp(when):%Y-%m-%d %H:%M}" if when is not None and not pd.isna(when) else ""
            source.append(f"entered by {r.get('entered_by', '') or 'unknown'}{at}")
        else:
            source.append(f"{r['source_file']} row {r['source_row']}")
    return pd.DataFrame(
        {
            "Drug": [model.drug_label(d) for d in doses["drug"]],
            "Dose": doses["dose"].to_numpy(),
            "Unit": doses["dose_unit"].to_numpy(),
            "Frequency": doses["frequency"].to_numpy(),
            # a weekly (or longer) schedule is in mg/week only: never "2.857 mg/day" of methotrexate
            "mg/day": doses["mg_per_day"].where(doses["mg_per_week"].isna()).round(3).to_numpy(),
            "mg/week": doses["mg_per_week"].round(3).to_numpy(),
            "Route": doses["route"].to_numpy(),
            "Start": doses["start"].dt.date.to_numpy(),
            "End": doses["end"].dt.date.to_numpy(),
            "Basis": doses["dose_basis"].to_numpy(),
            "Source": source,
            "Note": doses["note"].to_numpy() if "note" in doses.columns else "",
        }
    )


def flags_frame(flags: pd.DataFrame) -> pd.DataFrame:
    """Flagged results (from :func:`dashboard.reviews.flags_for_review`) for display and
    export: the raw result beside the canonical one, the rule and its source, the review."""
    return pd.DataFrame(
        {
            "Patient": flags["patient_id"].to_numpy(),
            "Collected": flags["collected_at"].to_numpy(),
            "Analyte": [model.analyte_label(a) for a in flags["analyte"]],
            "Result": _results(flags),
            "Unit": flags["unit"].to_numpy(),
            "As reported": [
                f"{v} {u}".strip() for v, u in zip(flags["source_value"], flags["source_unit"], strict=True)
            ],
            "Rule": flags["rule"].to_numpy(),
            "Severity": flags["severity"].to_numpy(),
            "Finding": flags["message"].to_numpy(),
            "Source": flags["source"].to_numpy(),
            "Doses then": flags["dose_context"].to_numpy(),
            "Reviewed": ["yes" if r else "no" for r in flags["reviewed"]],
            "Review action": flags["review_action"].to_numpy(),
            "Reviewed by": flags["reviewed_by"].to_numpy(),
            "Review state": [review_state(r) for r in flags.to_dict("records")],
            "Flag key": flags["flag_key"].to_numpy(),
        }
    )


#: The columns of the open-flags CSV (``review --csv FILE`` and the app's "Flagged results").
OPEN_FLAG_COLUMNS: tuple[str, ...] = (
    "Patient",
    "Name",
    "Birth date",
    "Date",
    "Analyte",
    "Value",
    "Unit",
    "As reported",
    "Grade",
    "Rule",
    "Finding",
    "Source",
    "Severity",
    "Dose context",
    "Review state",
)


def open_flags_frame(flags: pd.DataFrame, patients: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per open flag (from :func:`dashboard.reviews.flags_for_review` or the rules'
    open flags with :func:`~dashboard.reviews.with_review_status`): who, when, the value
    rounded as the lab reports it (canonical unit) beside the value as reported, the CTCAE
    grade, the rule, finding and source, the severity, the doses then and the review state."""
    who = patients.set_index("patient_id") if patients is not None and len(patients) else None
    ids = flags["patient_id"]
    name = ids.map(who["name"]).fillna("") if who is not None and "name" in who else pd.Series("", index=ids.index)
    born = ids.map(who["birth_date"]) if who is not None else pd.Series(pd.NaT, index=ids.index)
    context = []
    for r in flags.itertuples(index=False):
        bits = [r.active_doses or "no dose recorded"]
        if pd.notna(r.days_since_dose_change):
            bits.append(f"{int(r.days_since_dose_change)} d since a dose change")
        if bool(getattr(r, "after_increase", False)):
            bits.append("within 12 weeks of an increase")
        if pd.notna(getattr(r, "days_since_pulse", None)):
            bits.append(f"{int(r.days_since_pulse)} d after the last pulse")
        context.append("; ".join(bits))
    state = [review_state(r) for r in flags.to_dict("records")]  # the PDF's words too (H476)
    return pd.DataFrame(
        {
            "Patient": ids.to_numpy(),
            "Name": name.to_numpy(),
            "Birth date": [_iso_day(b) for b in born],
            "Date": pd.to_datetime(flags["collected_at"]).dt.strftime("%Y-%m-%d %H:%M").to_numpy(),
            "Analyte": [model.analyte_label(a) for a in flags["analyte"]],
            "Value": [
                display_text(a, float(v), "SI", str(r), str(c), _own_limit(t))
                for a, v, r, c, t in zip(
                    flags["analyte"],
                    flags["value"],
                    flags["source_value"],
                    flags["comparator"],
                    flags.get("threshold", pd.Series(np.nan, index=flags.index)),
                    strict=True,
                )
            ],
            "Unit": flags["unit"].to_numpy(),
            "As reported": [
                f"{v} {u}".strip() for v, u in zip(flags["source_value"], flags["source_unit"], strict=True)
            ],
            # "2 or worse" for a bound that may lie beyond the grade ("<=50" platelets, H275)
            "Grade": [
                "" if pd.isna(g) else (grade_text(g, True) if w else int(g))
                for g, w in zip(flags["ctcae_grade"], or_worse_column(flags), strict=True)
            ],
            "Rule": flags["rule"].to_numpy(),
            "Finding": flags["message"].to_numpy(),
            "Source": flags["source"].to_numpy(),
            "Severity": flags["severity"].to_numpy(),
            "Dose context": context,
            "Review state": state,
        },
        columns=list(OPEN_FLAG_COLUMNS),
    )


#: What the flagged-results export covers (its "About" sheet, the app's caption).
FLAGGED_SCOPE = (
    "Flagged results: one row per open flag on a lab result (CTCAE grade, guideline limit, trend). "
    "Dose checks (dose, interaction, cumulative dose) are not lab flags: they are in the open dose "
    "checks export and the panel export; overdue blood tests are in the panel export and the patient summary."
)

#: The columns of the open dose checks export.
DOSE_CHECK_COLUMNS: tuple[str, ...] = (
    "Patient",
    "Name",
    "Birth date",
    "Drug",
    "With",
    "Rule",
    "Severity",
    "Finding",
    "Source",
    "From",
    "To",
)


def open_dose_checks_frame(checks: pd.DataFrame, patients: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per dose check open on the review date (``Review.dose_checks_df()``), every
    severity, most severe first within a patient: who, the drug (and the interacting one),
    the rule, severity, finding and source, and since when."""
    live = _open_checks(checks)
    if live.empty:
        return pd.DataFrame(columns=list(DOSE_CHECK_COLUMNS))
    live = live.sort_values("patient_id", kind="stable")
    who = patients.set_index("patient_id") if patients is not None and len(patients) else None
    ids = live["patient_id"]
    name = ids.map(who["name"]).fillna("") if who is not None and "name" in who else pd.Series("", index=ids.index)
    born = ids.map(who["birth_date"]) if who is not None else pd.Series(pd.NaT, index=ids.index)
    return pd.DataFrame(
        {
            "Patient": ids.to_numpy(),
            "Name": name.to_numpy(),
            "Birth date": [_iso_day(b) for b in born],
            "Drug": [model.drug_label(d) for d in live["drug"]],
            "With": [model.drug_label(d) if d else "" for d in live["with_drug"]],
            "Rule": live["rule"].to_numpy(),
            "Severity": live["severity"].to_numpy(),
            "Finding": live["message"].to_numpy(),
            "Source": live["source"].to_numpy(),
            "From": [_iso_day(t) for t in live["start"]],
            "To": [_iso_day(t) or "ongoing" for t in live["end"]],
        },
        columns=list(DOSE_CHECK_COLUMNS),
    )


def flagged_csv(flags: pd.DataFrame, patients: pd.DataFrame | None = None) -> bytes:
    return to_csv_bytes(open_flags_frame(flags, patients))


def flagged_xlsx(
    flags: pd.DataFrame, patients: pd.DataFrame | None = None, checks: pd.DataFrame | None = None
) -> bytes:
    """The open flags on results; with ``checks`` (``Review.dose_checks_df()``) the open dose
    checks on a sheet of their own; an "About" sheet says what the workbook covers; a
    "Sources" sheet resolves the reference ids their sources cite (H610)."""
    sheets = {"Open flags": open_flags_frame(flags, patients)}
    if checks is not None:
        sheets["Open dose checks"] = open_dose_checks_frame(checks, patients)
    citing = tuple(sheets)
    sheets["About"] = pd.DataFrame({"What this workbook covers": [FLAGGED_SCOPE]})
    return to_xlsx_bytes(_with_sources(sheets, *citing))


def dose_checks_csv(checks: pd.DataFrame, patients: pd.DataFrame | None = None) -> bytes:
    return to_csv_bytes(open_dose_checks_frame(checks, patients))


def reviews_frame(reviews: pd.DataFrame) -> pd.DataFrame:
    return history_frame(reviews)


# --------------------------------------------------------------------------- sources


#: The columns of a "Sources" table (the workbooks' sheet, the PDF's section): each
#: reference id cited, its citation and the address that opens it (references.toml).
SOURCES_COLUMNS: dict[str, str] = {"Id": "id", "Citation": "citation", "URL": "url"}

#: The columns of the exported tables whose cells cite a rule's source ("[bsr2017]"):
#: a flag's or dose check's "Source", the Panel's "Open dose checks" ("... [source]").
CITING_COLUMNS: tuple[str, ...] = ("Source", "Open dose checks")


def sources_frame(texts: Iterable[object]) -> pd.DataFrame:
    """The references the ``texts`` cite ("CTCAE v5.0 [nci_ctcae5]"), in order of first
    citation: id, citation and URL as references.toml writes them (nothing is fetched)."""
    rows = knowledge.reference_rows(knowledge.cited_ids(texts), SOURCES_COLUMNS)
    return pd.DataFrame(rows, columns=list(SOURCES_COLUMNS))


def _with_sources(sheets: dict[str, pd.DataFrame], *citing: str) -> dict[str, pd.DataFrame]:
    """The workbook's sheets and last a "Sources" sheet: the reference ids cited by the
    sheets named ``citing`` (their :data:`CITING_COLUMNS`, read once per distinct text;
    a dose row's "Source", the file and row it came from, cites none), in sheet order, with
    their citation and URL (H610)."""
    texts = [
        text
        for name in citing
        for col in CITING_COLUMNS
        if col in sheets[name].columns
        for text in pd.unique(sheets[name][col].astype(object))
    ]
    return {**sheets, "Sources": sources_frame(texts)}


# --------------------------------------------------------------------------- files


def panel_csv(panel: pd.DataFrame) -> bytes:
    return to_csv_bytes(panel)


def panel_xlsx(panel: pd.DataFrame, labs: pd.DataFrame, doses: pd.DataFrame, reviews: pd.DataFrame) -> bytes:
    """The panel, every result, dose and review of its patients, and a "Sources" sheet of
    the reference ids the panel's cells cite (its open dose checks' sources, H610)."""
    results = pd.concat(
        [patient_results_frame(labs, pid).assign(Patient=pid) for pid in panel["Patient"]] or [pd.DataFrame()]
    )
    if not results.empty:
        results = results[["Patient", *[c for c in results.columns if c != "Patient"]]]
    return to_xlsx_bytes(
        _with_sources(
            {
                "Panel": panel,
                "Results": results,
                "Doses": doses_frame(doses).assign(
                    Patient=doses.sort_values(["start", "drug"])["patient_id"].to_numpy()
                ),
                "Reviews": reviews_frame(reviews),
            },
            "Panel",
        )
    )


def patient_csv(labs: pd.DataFrame, patient_id: str) -> bytes:
    return to_csv_bytes(patient_results_wide(labs, patient_id))


def patient_xlsx(labs: pd.DataFrame, doses: pd.DataFrame, reviews: pd.DataFrame, patient_id: str) -> bytes:
    return to_xlsx_bytes(
        {
            "Results": patient_results_wide(labs, patient_id),
            "Results (raw)": patient_results_frame(labs, patient_id),
            "Doses": doses_frame(doses[doses["patient_id"] == patient_id]),
            "Reviews": reviews_frame(reviews[reviews["patient_id"] == patient_id]),
        }
    )


# --------------------------------------------------------------------------- figure


#: Kaleido's Chromium, kept off the network: MathJax off (kaleido would fetch it from a
#: CDN; plotly.js comes from the plotly package) and Chromium started through
#: ``assets/chromium-offline``, where no host name resolves and background services are
#: off.  tests/browser/test_security.py watches the server (and this Chromium) with strace.
OFFLINE_KALEIDO = {"mathjax": False, "path": str(Path(__file__).resolve().parent / "assets" / "chromium-offline")}


def figure_png(fig, width: int = 1000, height: int = 420, scale: float = 2.0) -> bytes:
    """A Plotly figure as PNG through kaleido and the system Chromium (never downloaded),
    without any network access (:data:`OFFLINE_KALEIDO`)."""
    # imported on use: kaleido takes ~0.4 s to import and only a printed summary needs it
    import kaleido

    opts = {"format": "png", "width": width, "height": height, "scale": scale}
    return kaleido.calc_fig_sync(fig.to_dict(), opts=opts, kopts=dict(OFFLINE_KALEIDO))


#: The results the printed timeline shows (one page).
PRINT_ANALYTES = ("wbc", "neutrophils", "lymphocytes", "hemoglobin", "platelets")


def not_drawn_words(flags: pd.DataFrame | None) -> str:
    """Under the PDF's timeline, which draws :data:`PRINT_ANALYTES` only: the tests with an
    open flag it leaves out ("" when none), pointing to the flags listed below."""
    if flags is None or flags.empty:
        return ""
    flagged = set(flags["analyte"])
    missing = [a for a in model.ANALYTES if a in flagged and a not in PRINT_ANALYTES]
    if not missing:
        return ""
    drawn = ", ".join(model.analyte_label(a) for a in PRINT_ANALYTES)
    names = ", ".join(model.analyte_label(a) for a in missing)
    one = len(missing) == 1
    return (
        f"The timeline draws {drawn} over the last year; {names}: {'an open flag' if one else 'open flags'}, "
        "not drawn (see Open flags below)."
    )


def timeline_png(
    labs: pd.DataFrame,
    doses: pd.DataFrame,
    patients: pd.DataFrame,
    baselines: pd.DataFrame,
    as_of: dt.date,
    profile: Profile | str | None = None,
) -> tuple[bytes | None, str]:
    """The patient's timeline (last year) as a PNG for the summary, or why there is none.

    The frames hold one patient.  Drawing needs the system Chromium (kaleido); without
    it the summary says so instead of failing.
    """
    if labs.empty and doses.empty:
        return None, "Timeline figure: no results or doses to draw."
    if not (shutil.which("chromium") or shutil.which("chromium-browser") or Path("/usr/bin/chromium").exists()):
        return None, "Timeline figure: Chromium is not installed on this machine (apt-get install chromium)."
    rv = review(labs, doses, patients, baselines, profile, as_of)
    fig = timeline_figure(
        labs,
        doses,
        rv.flags_df(),
        rv.intervals_df(),
        rv.profile if hasattr(rv, "profile") else get_profile(profile),
        patients.iloc[0] if len(patients) else None,
        TimelineOptions(analytes=PRINT_ANALYTES, window="1 year", as_of=as_of),
    )
    height = 260 + 95 * len(PRINT_ANALYTES)
    fig.update_layout(font={"size": 11}, height=height)
    fig.update_xaxes(rangeselector=None)
    try:
        return figure_png(fig, width=1100, height=height, scale=1.5), ""
    except Exception as exc:  # kaleido/Chromium trouble must not stop the rest of the summary
        return None, f"Timeline figure could not be drawn ({type(exc).__name__})."


# --------------------------------------------------------------------------- PDF


@dataclass
class PatientSummary:
    """Everything the one-page summary shows (pandas frames in the model's dtypes)."""

    patient_id: str
    patient: pd.Series | None
    labs: pd.DataFrame
    doses: pd.DataFrame  # with provenance columns when from the workspace
    reviews: pd.DataFrame
    as_of: dt.date
    source: str = ""
    figure_png: bytes | None = None
    figure_note: str = "Timeline figure: not drawn."
    flags: pd.DataFrame | None = None  # from the rules engine, when available
    flags_note: str = "Flags: not evaluated for this summary."
    dose_edits: pd.DataFrame | None = None
    #: Results dated after ``as_of`` (``Review.after_as_of_df()``): listed, not reviewed.
    after_as_of: pd.DataFrame | None = None
    #: The monitoring schedule on ``as_of`` (``Review.schedule_df()``): the blood tests due.
    schedule: pd.DataFrame | None = None
    #: The dose checks (``Review.dose_checks_df()``): the open ones are printed.
    dose_checks: pd.DataFrame | None = None
    #: What the Patient page says of another id of the panel that may be this person
    #: (``identity.other_id_notes``, H150): printed under the patient's facts (H270).
    other_ids: tuple[str, ...] = ()
    #: The threshold profile the flags, checks and schedule were judged under ("BSR 2017 /
    #: NICE" for an old audit): printed beside the as-of date ("" when not known).
    profile: str = ""
    #: The monitored drugs no longer in force that the review still records on ``as_of``
    #: (the summary's ``recent_doses``: "Rituximab 1000 mg once, ended 2026-06-02"), printed
    #: under the current doses ("" when none, H482).
    recent_doses: str = ""
    #: The patient's identity conflicts (``identity.conflict_notes``): printed under the
    #: facts, and a disputed date of birth or sex is "disputed: ..." with both values (H553).
    identity_conflicts: tuple[IdentityConflict, ...] = ()
    #: What each drug the review records with no blood-test schedule asks instead
    #: (``views.no_blood_test_lines``: hydroxychloroquine's retinal screening, rituximab's IgG
    #: before a cycle), printed under "Blood tests due" (probe47 F6).
    no_blood_tests: tuple[str, ...] = ()
    #: The patient's rows rejected at import, each "file row N: reason" (``Dataset.rejected_rows``):
    #: in no table or chart of the summary, so said under the facts, as the Patient page says
    #: them (probe47 F7).
    rejected: tuple[str, ...] = ()


#: What a PDF shows in place of a character its font has no glyph for (fpdf2 would leave a
#: blank and only log it); the PDF then says what the mark means (:meth:`_Pdf.output`).
MISSING_MARK = "\ufffd"

#: What a PDF shows for a patient's name it cannot print as written: never a blank or a
#: mangled name beside the MRN (probe 9 F3: "山田, 太郎" was printed ", ").
NAME_NOT_PRINTABLE = "[name not printable in this PDF's font: see MRN {patient_id}]"


def _right_to_left(ch: str) -> bool:
    """A letter of a right-to-left script (Hebrew, Arabic): fpdf2 without text shaping
    (uharfbuzz) writes it left to right and unjoined, so the word would read backwards."""
    return unicodedata.bidirectional(ch) in ("R", "AL")


def _font_files() -> tuple[Path, Path] | None:
    for d in FONT_DIRS:
        regular, bold = d / "DejaVuSans.ttf", d / "DejaVuSans-Bold.ttf"
        if regular.is_file() and bold.is_file():
            return regular, bold
    return None


class _Pdf:
    """A thin layer over fpdf2: fonts, headings, paragraphs and tables of text."""

    def __init__(self, title: str) -> None:
        # imported on use: fpdf2 takes over a second to import and only a PDF needs it
        from fpdf import FPDF

        self.pdf = FPDF(orientation="P", unit="mm", format="A4")
        self.pdf.set_margins(12, 12, 12)
        self.pdf.set_auto_page_break(True, margin=12)
        self.pdf.set_title(title)
        self.pdf.set_creator("Immunosuppressant lab monitor")
        fonts = _font_files()
        if fonts:
            self.pdf.add_font("body", "", str(fonts[0]))
            self.pdf.add_font("body", "B", str(fonts[1]))
            self.family, self.unicode = "body", True
            # the characters both faces have a glyph for (text is set in either)
            self.glyphs = frozenset(getattr(self.pdf.fonts["body"], "cmap", ())) & frozenset(
                getattr(self.pdf.fonts["bodyB"], "cmap", ())
            )
            self.mark = MISSING_MARK
        else:
            self.family, self.unicode = "helvetica", False
            self.glyphs = frozenset(range(256))  # the core font's latin-1
            self.mark = "?"
        self.marked = False  # some text was printed with the mark in place of a character
        self.pdf.add_page()

    def prints(self, s: str) -> bool:
        """Whether the PDF prints ``s`` as written: every character has a glyph in the
        font, and none is of a right-to-left script (no bidi or shaping here)."""
        return all(ch.isspace() or (ord(ch) in self.glyphs and not _right_to_left(ch)) for ch in s)

    def text(self, s: object) -> str:
        s = "" if s is None or (isinstance(s, float) and math.isnan(s)) else str(s)
        if s in ("NaT", "nan", "None"):
            return ""
        s = printable(s, "?")  # an ESC or NUL in an id is shown as "?", never written raw into the PDF
        if self.prints(s):
            return s
        self.marked = True  # never a silent blank: a visible mark, explained at the end
        return "".join(ch if self.prints(ch) else self.mark for ch in s)

    def heading(self, s: str, size: float = 11) -> None:
        self.pdf.set_font(self.family, "B", size)
        self.pdf.ln(1.5)
        self.pdf.cell(0, size * 0.55, self.text(s), new_x="LMARGIN", new_y="NEXT")
        self.pdf.ln(0.5)

    def para(self, s: str, size: float = 8.5, bold: bool = False) -> None:
        self.pdf.set_font(self.family, "B" if bold else "", size)
        self.pdf.multi_cell(0, size * 0.48, self.text(s), new_x="LMARGIN", new_y="NEXT")

    def table(self, df: pd.DataFrame, widths: tuple[float, ...] | None = None, size: float = 7.5) -> None:
        if df.empty:
            self.para("(none)")
            return
        self.pdf.set_font(self.family, "", size)
        with self.pdf.table(
            col_widths=widths,
            line_height=size * 0.5,
            text_align="LEFT",
            first_row_as_headings=True,
            padding=0.6,
        ) as table:
            header = table.row()
            for c in df.columns:
                header.cell(self.text(c))
            for _, r in df.iterrows():
                row = table.row()
                for v in r:
                    row.cell(self.text(_fmt(v)))

    def image(self, png: bytes, width: float) -> None:
        self.pdf.image(io.BytesIO(png), w=width)

    def output(self) -> bytes:
        if self.marked:
            self.para(
                f"{self.mark} marks a character this PDF's font cannot print as written: "
                "the app and the CSV/Excel exports show the text in full.",
                size=7,
            )
        return bytes(self.pdf.output())


def _fmt(v: object) -> object:
    if isinstance(v, float | np.floating):
        return "" if math.isnan(v) else f"{v:g}"
    if isinstance(v, pd.Timestamp | dt.datetime):
        return "" if pd.isna(v) else pd.Timestamp(v).strftime("%Y-%m-%d")
    return v


#: Under the PDF's open flags when more than it prints are open (the least severe are left out).
FLAGS_LEFT_OUT = (
    "({n} more open flags not shown, none more severe than those above: every open flag is in the "
    "Flagged results export (Workspace page) and on the Patient page)"
)


def _limit(df: pd.DataFrame, n: int) -> tuple[pd.DataFrame, str]:
    if len(df) <= n:
        return df, ""
    return df.head(n), f"({len(df) - n} more not shown: see the Excel export)"


def _open_checks(checks: pd.DataFrame | None) -> pd.DataFrame:
    """The open dose checks, most severe first (every severity: the printed summary is the full account)."""
    if checks is None or checks.empty:
        return pd.DataFrame(
            columns=["patient_id", "drug", "with_drug", "rule", "severity", "message", "source", "start", "end"]
        )
    live = checks[checks["status"] == "open"]
    rank = live["severity"].map(SEVERITY_ORDER).fillna(0)
    return live.assign(_rank=rank).sort_values(["_rank", "rule"], ascending=[False, True]).drop(columns="_rank")


def _overdue_rows(schedule: pd.DataFrame | None) -> pd.DataFrame:
    """The schedule rows overdue on the review date, most overdue first."""
    if schedule is None or schedule.empty:
        return pd.DataFrame(columns=["drug", "tests_due", "days_overdue", "due_by", "message", "severity"])
    late = schedule[schedule["overdue"].astype(bool)]
    return late.sort_values("days_overdue", ascending=False)


def _no_lab_flag_words(as_of: dt.date, checks: int, overdue: pd.DataFrame) -> str:
    """What the flag section says when no result is flagged: never "no open flags" while
    a dose check or an overdue test stands."""
    other = ([f"{checks} dose check{'s' if checks != 1 else ''} (above)"] if checks else []) + [
        f"{r.tests_due or 'blood tests'} {int(r.days_overdue)} days overdue (above)"
        for r in overdue.itertuples(index=False)
    ]
    if not other:
        return f"No open flags on {as_of:%d %b %Y}."
    return f"No result is flagged on {as_of:%d %b %Y}, but open: " + "; ".join(other) + "."


def rejected_words(rejected: Sequence[str], shown: int = 10) -> str:
    """The patient's rows rejected at import, in one paragraph of the PDF: how many, the
    first ``shown`` with their reasons, and where every one is listed."""
    n = len(rejected)
    more = f" (and {n - shown} more)" if n > shown else ""
    return (
        f"{n} row{'' if n == 1 else 's'} of this patient's files {'was' if n == 1 else 'were'} rejected at "
        f"import and {'is' if n == 1 else 'are'} in no table or chart of this summary: "
        f"{'; '.join(rejected[:shown])}{more}. The import report lists every rejected row with its reason."
    )


def patient_summary_pdf(s: PatientSummary) -> bytes:
    """The one-page patient summary (may run onto a second page for long histories)."""
    p = s.patient
    doc = _Pdf(f"Patient summary {s.patient_id}")
    name = str(p.get("name", "") or "") if p is not None else ""
    if name and not doc.prints(name):  # said so, never blanked, mangled or reversed
        name = NAME_NOT_PRINTABLE.format(patient_id=s.patient_id)
    # two identifiers beside the MRN on every page that leaves the app
    born_disputed = disputed_values(s.identity_conflicts, "birth_date").get(s.patient_id, "")
    sex_disputed = disputed_values(s.identity_conflicts, "sex").get(s.patient_id, "")
    who = patient_label(s.patient_id, name, p["birth_date"], p["age"]) if p is not None else patient_label(s.patient_id)
    if born_disputed:  # never one of two dates as the identifier (H553)
        who += " · date of birth disputed"
    doc.heading(f"Patient summary — {who}", 15)
    now = dt.datetime.now()
    judged = f" · profile {s.profile}" if s.profile else ""
    doc.para(
        f"As of {s.as_of:%d %b %Y}{judged} · generated {now:%d %b %Y %H:%M}" + (f" · {s.source}" if s.source else "")
    )
    doc.para(DISCLAIMER, size=7)
    if p is not None:
        age = _age(p, s.as_of)
        facts = [
            ("Name", name or "not in the data"),
            ("Born", born_disputed or _iso_day(p["birth_date"]) or "not in the data"),
            ("Sex", sex_disputed or p["sex"] or "unknown"),
            ("Age", f"{age:.0f} years" if not math.isnan(age) else "unknown"),
            ("Diagnosis", p["diagnosis"] or "not recorded"),
            ("TPMT", p["tpmt"]),
            ("NUDT15", p["nudt15"]),
            ("Weight", f"{p['weight_kg']:g} kg" if not pd.isna(p["weight_kg"]) else "not recorded"),
        ]
        doc.para(" · ".join(f"{k}: {v}" for k, v in facts), bold=True)
    for note in conflict_notes(s.identity_conflicts).get(s.patient_id, []):
        doc.para(f"Identity conflict: {note}.", bold=True)
    for note in s.other_ids:  # one person under two ids (H150): the other id's doses and results
        doc.para(f"Another id: {note}.", bold=True)
    if s.rejected:  # rows of theirs the import could not read: said, never a silent gap
        doc.para(rejected_words(s.rejected), bold=True)

    doc.heading("Timeline")
    if s.figure_png:
        doc.image(s.figure_png, width=186)
        if unseen := not_drawn_words(s.flags):  # an open flag never off the picture unsaid (probe47 F9)
            doc.para(unseen, size=8)
    else:
        doc.para(s.figure_note)

    doc.heading("Current doses")
    mine = s.doses[s.doses["patient_id"] == s.patient_id]
    cur = doses_frame(model.doses_in_force(mine, s.as_of))[
        ["Drug", "Dose", "Unit", "Frequency", "mg/day", "Start", "Source"]
    ]
    doc.table(cur, widths=(30, 12, 12, 20, 14, 20, 52))
    weight = float(p["weight_kg"]) if p is not None and not pd.isna(p["weight_kg"]) else float("nan")
    for _drug, text in totals_in_force(model.doses_in_force(mine, s.as_of), lambda _pid: weight).get(s.patient_id, []):
        doc.para(f"Taken together: {text} (the total the dose checks judge).", size=8)
    if said := recently_ended_sentence(s.recent_doses):  # between infusions: never on nothing (H482)
        doc.para(said, size=8)
    earlier = doses_frame(mine[mine["start"] <= pd.Timestamp(s.as_of)]).iloc[::-1]
    earlier = earlier[["Drug", "Dose", "Unit", "Frequency", "Start", "End", "Source"]]
    if len(earlier) > len(cur):
        doc.heading("Dose history (latest first)", 9.5)
        shown, more = _limit(earlier, 8)
        doc.table(shown, widths=(30, 12, 12, 20, 20, 20, 46))
        if more:
            doc.para(more, size=7)

    # the sources printed, in order: the "Sources" section resolves their reference ids (H610)
    cited: list[object] = []
    checks = _open_checks(s.dose_checks)
    doc.heading("Open dose checks (rule, severity, source)")
    if s.dose_checks is None:
        doc.para("Dose checks: not evaluated for this summary.")
    elif checks.empty:
        doc.para(f"No open dose check on {s.as_of:%d %b %Y}.")
    else:
        table = pd.DataFrame(
            {
                "Drug": [
                    model.drug_label(d) + (f" with {model.drug_label(w)}" if w else "")
                    for d, w in zip(checks["drug"], checks["with_drug"], strict=True)
                ],
                "Rule": checks["rule"].to_numpy(),
                "Severity": checks["severity"].to_numpy(),
                "Finding": checks["message"].to_numpy(),
                "Source": checks["source"].to_numpy(),
            }
        )
        doc.table(table, widths=(28, 36, 14, 66, 42))
        cited += list(table["Source"])

    overdue = _overdue_rows(s.schedule)
    doc.heading("Blood tests due (monitoring schedule)")
    if s.schedule is None:
        doc.para("Monitoring schedule: not evaluated for this summary.")
    elif s.schedule.empty:
        doc.para(
            "No drug on a blood-test schedule on this date."
            if s.no_blood_tests
            else "No drug on a monitoring schedule on this date."
        )
    else:
        for message in overdue["message"]:  # "... OVERDUE by 107 days (due 2025-12-15)"
            doc.para(str(message), bold=True)
        # (the overdue rows' words are printed above, every group named: the table keeps its columns)
        due = schedule_table(s.schedule, what=False)
        doc.table(due, widths=(26, 50, 18, 14, 18, 16, 44))
        cited += list(overdue["message"]) + list(due["Source"])
    if s.schedule is not None:
        for line in s.no_blood_tests:  # no blood-test schedule: what the drug asks instead
            doc.para(line, size=8)
        cited += list(s.no_blood_tests)

    doc.heading("Open flags (rule, source and review)")
    if s.flags is None or s.flags.empty:
        doc.para(s.flags_note if s.flags is None else _no_lab_flag_words(s.as_of, len(checks), overdue))
    else:
        # most severe first, then the latest: when the list is cut, the flags left out are
        # the least severe, never an old grade 4 behind newer grade 1s (probe47 F3)
        rank = s.flags["severity"].map(SEVERITY_ORDER).fillna(0)
        by_severity = s.flags.assign(_rank=rank).sort_values(["_rank", "collected_at"], ascending=False, kind="stable")
        flags = by_severity.drop(columns="_rank")
        f = flags_frame(flags)
        values = [
            display_text(a, float(v), "SI", str(r), str(c)) + f" {u}"
            for a, v, r, c, u in zip(
                flags["analyte"],
                flags["value"],
                flags["source_value"],
                flags["comparator"],
                flags["unit"],
                strict=True,
            )
        ]
        table = pd.DataFrame(
            {
                "Collected": f["Collected"],
                "Result": [
                    f"{model.analyte_label(a)} {v} ({raw})"
                    for a, v, raw in zip(flags["analyte"], values, f["As reported"], strict=True)
                ],
                "Rule · source": f["Rule"] + " · " + f["Source"],
                "Severity": f["Severity"],
                "Finding": f["Finding"],
                # the words of the flagged-results CSV (H476): when, after the as-of date, why open again
                "Review": [review_state(r, short=True) for r in flags.to_dict("records")],
            }
        )
        shown, more = _limit(table, 10)
        doc.table(shown, widths=(18, 30, 36, 14, 60, 28))
        if more:  # the patient's own workbook holds no flags: name the export that does
            doc.para(FLAGS_LEFT_OUT.format(n=len(table) - len(shown)), size=7)
        cited += list(shown["Rule · source"])  # the flags printed, not those left to the export

    later = s.after_as_of
    if later is not None and len(later):
        doc.heading("Results after the as-of date (not reviewed)")
        doc.para(after_as_of_summary(later, s.as_of))
        shown, more = _limit(after_as_of_table(later, with_patient=False), 10)
        doc.table(shown, widths=(30, 40, 30, 40, 20))
        if more:
            doc.para(more, size=7)

    doc.heading("Latest results (canonical units, with the value as reported)")
    mine_labs = s.labs[s.labs["patient_id"] == s.patient_id]
    last = latest_results(mine_labs[mine_labs["collected_at"] < pd.Timestamp(s.as_of) + pd.Timedelta(days=1)])
    order = {a: i for i, a in enumerate(model.ANALYTES)}
    last = last.sort_values("analyte", key=lambda c: c.map(order))
    latest_df = pd.DataFrame(
        {
            "Analyte": [analyte_header(a) for a in last["analyte"]],
            "Result": _results(last),
            "As reported": [f"{v} {u}".strip() for v, u in zip(last["source_value"], last["source_unit"], strict=True)],
            "Lab flag": last["source_flag"].to_numpy(),
            "Collected": last["collected_at"].dt.strftime("%Y-%m-%d").to_numpy(),
            "Source": [f"{f} row {r}" for f, r in zip(last["source_file"], last["source_row"], strict=True)],
        }
    )
    doc.table(latest_df, widths=(36, 16, 26, 14, 22, 52))

    doc.heading("Review history (latest first)")
    hist = reviews_frame(s.reviews[s.reviews["patient_id"] == s.patient_id])
    shown, more = _limit(hist, 8)
    doc.table(shown, widths=(8, 26, 26, 34, 20, 56, 16))
    if more:
        doc.para(more, size=7)
    _sources_section(doc, cited)
    return doc.output()


def _sources_section(doc: _Pdf, cited: Sequence[object]) -> None:
    """The summary's last section: each reference id its printed sources cite, in order of
    first citation, with the citation and URL as references.toml writes them (printed as
    text: the PDF holds no links, and nothing is fetched; H610)."""
    doc.heading("Sources")
    sources = sources_frame(cited)
    if sources.empty:
        doc.para("No source on this summary cites a reference id: each is named in full above.", size=7.5)
        return
    doc.para("The reference ids in square brackets above, with the citation and address of each:", size=7.5)
    for ref, citation, url in sources.itertuples(index=False):
        doc.para(f"[{ref}] {citation}\n{url}", size=7.5)


def patient_summary(
    labs: pd.DataFrame,
    doses: pd.DataFrame,
    patients: pd.DataFrame,
    baselines: pd.DataFrame,
    log: pd.DataFrame,
    patient_id: str,
    as_of: dt.date,
    source: str = "",
    profile: Profile | str | None = None,
    figure: bool = True,
    intervals: pd.DataFrame | None = None,
    aliases: Sequence[tuple[str, str, str, str]] = (),
    patient_ids: Sequence[str] = (),
    conflicts: Sequence[IdentityConflict] = (),
    rejected: Sequence[tuple[str, Problem]] = (),
) -> PatientSummary:
    """Everything the summary of one patient shows: the open flags, the open dose checks
    and the blood tests due computed by the rules (with the clinician-set monitoring
    ``intervals``, as the Panel), and (with ``figure``) the timeline of the last year as a picture.
    With the import's ``aliases`` and the panel's ``patient_ids``, what the Patient page says
    of another id that may be this patient (H150, H270); with the panel's identity
    ``conflicts``, the patient's (a disputed date of birth named with both dates, H553); with
    the import's ``rejected`` rows (file name, problem: ``Dataset.rejected_rows``), the
    patient's, said under the facts (probe47 F7)."""

    def mine(df: pd.DataFrame) -> pd.DataFrame:
        return df[df["patient_id"] == patient_id]

    canonical = model.to_pandas("doses", model.from_pandas("doses", mine(doses)))
    mine_intervals = mine(intervals) if intervals is not None else None
    # one review: the flags (as flags_for_review gives them), the schedule and the dose checks
    rv = review(mine(labs), canonical, mine(patients), mine(baselines), profile, as_of, intervals=mine_intervals)
    flags = with_review_status(rv.open_flags_df(), mine(log), rule_col="rule", as_of=as_of)
    later = rv.after_as_of_df() if rv.after_as_of.num_rows else None
    png, note = (
        timeline_png(mine(labs), canonical, mine(patients), mine(baselines), as_of, profile) if figure else (None, "")
    )
    row = mine(patients)
    return PatientSummary(
        figure_png=png,
        figure_note=note or "Timeline figure: not drawn.",
        patient_id=patient_id,
        patient=row.iloc[0] if not row.empty else None,
        labs=mine(labs),
        doses=mine(doses),
        reviews=mine(log),
        as_of=as_of,
        source=source,
        flags=flags,
        after_as_of=later,
        schedule=rv.schedule_df(),
        dose_checks=rv.dose_checks_df(),
        other_ids=tuple(other_id_notes(patient_id, aliases, patient_ids)),
        profile=rv.profile.name,
        recent_doses=_recent_doses(rv, patient_id),
        no_blood_tests=tuple(no_blood_test_lines(_summary_cell(rv, patient_id, "recorded_drugs"), rv.profile.schedule)),
        identity_conflicts=tuple(c for c in conflicts if c.patient_id == patient_id),
        rejected=tuple(
            f"{name} row {p.row}: {p.message}"  # a monitored test's first (probe47 F10)
            for name, p in monitored_first([r for r in rejected if r[1].patient_id == patient_id])
        ),
    )


def _recent_doses(rv: Review, patient_id: str) -> str:
    """The review summary's ``recent_doses`` of the patient ("" when none or not reviewed)."""
    return _summary_cell(rv, patient_id, "recent_doses")


def _summary_cell(rv: Review, patient_id: str, column: str) -> str:
    """One text cell of the patient's review summary row ("" when none or not reviewed)."""
    t = rv.summary  # one cell: read in Arrow, never the whole summary through pandas
    found = t.filter(pc.equal(t.column("patient_id"), patient_id)).column(column).to_pylist()
    return str(found[0] or "") if found else ""


def write(path: Path, data: bytes) -> None:
    """Write an export atomically (a half-written file never has the final name)."""
    tmp = path.with_name(f".{path.name}.partial")
    tmp.write_bytes(data)
    tmp.replace(path)
