"""The panel: one row per patient, most urgent first (pure: review in, DataFrame out).

The rules engine ranks the patients (``Review.summary``); this module adds what a
rheumatologist scans a panel for: diagnosis, current doses (mg and mg/kg), the latest
blood counts with their dates and a sparkline of each, the worst current CTCAE grade,
open guideline and trend flags, and the next test due.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from dashboard import model
from dashboard.dataset import Dataset
from dashboard.rules.data import worse_direction
from dashboard.rules.review import Review
from dashboard.units import display_factor, display_unit

#: Analytes shown as columns (latest value + sparkline).
PANEL_ANALYTES: tuple[str, ...] = ("wbc", "neutrophils", "lymphocytes", "hemoglobin", "platelets", "mcv", "alt")
#: Points in each sparkline (the latest results).
SPARK_POINTS = 12
SEVERITY_ORDER = {"": 0, "info": 1, "caution": 2, "action": 3, "urgent": 4}


def value_column(analyte: str, system: str = "SI") -> str:
    return f"{model.analyte_label(analyte)} ({display_unit(analyte, system)})"


def trend_column(analyte: str) -> str:
    return f"{model.analyte_label(analyte)} trend"


def panel_table(ds: Dataset, review: Review, system: str = "SI") -> pd.DataFrame:
    """One row per patient in urgency order, ready for ``st.dataframe``.

    Columns: Rank, Patient, Diagnosis, Urgency, Needs attention, Doses now, per analyte
    the latest value with its date and a sparkline list, CTCAE now, Guideline flags,
    Trend flags, Dose checks, Next test due, Overdue (days), and hidden helpers
    ``_drugs`` (generic ids in force) and ``_severity`` (0-4) for filtering.
    """
    summary = review.summary_df()
    if summary.empty:
        return pd.DataFrame()
    patients = ds.patients.set_index("patient_id")
    out = pd.DataFrame(
        {
            "Rank": summary["urgency_rank"].astype("int64"),
            "Patient": summary["patient_id"],
            "Diagnosis": summary["patient_id"].map(patients["diagnosis"]).fillna(""),
            "Urgency": summary["urgency"].replace("", "-"),
            "Needs attention": summary["headline"],
            "Doses now": summary["current_doses"],
        }
    )
    latest = _latest_values(reviewed_labs(ds.labs, review.as_of), summary["patient_id"], system)
    for a in PANEL_ANALYTES:
        out[value_column(a, system)] = latest[a]["text"].to_numpy()
        out[trend_column(a)] = latest[a]["spark"].to_numpy()
    grade = summary["max_ctcae_grade"]
    out["CTCAE now"] = grade.astype("Int64")
    out["Guideline flags"] = summary["open_guideline"].astype("int64")
    out["Trend flags"] = summary["open_trend"].astype("int64")
    out["Dose checks"] = summary["dose_checks_open"].astype("int64")
    out["Next test due"] = summary["next_test_due"].dt.date
    out["Overdue (days)"] = np.where(summary["overdue"].to_numpy(dtype=bool), summary["days_overdue"].to_numpy(), 0)
    if int(summary["results_after_as_of"].sum()):  # results not in this review: never out of sight
        out["Results after as-of"] = summary["results_after_as_of"].astype("int64").to_numpy()
    out["_drugs"] = (
        summary["patient_id"].map(_drugs_now(ds.doses, review.as_of)).apply(lambda v: v if isinstance(v, list) else [])
    )
    out["_severity"] = summary["urgency"].map(SEVERITY_ORDER).fillna(0).astype(int)
    return out.reset_index(drop=True)


def reviewed_labs(labs: pd.DataFrame, as_of) -> pd.DataFrame:
    """The results up to the end of the as-of date (the ones the review judged)."""
    if as_of is None or labs.empty:
        return labs
    end = pd.Timestamp(as_of) + pd.Timedelta(days=1)
    keep = (labs["collected_at"] < end).to_numpy()
    return labs if keep.all() else labs[keep]


def _drugs_now(doses: pd.DataFrame, as_of) -> pd.Series:
    if doses.empty:
        return pd.Series(dtype=object)
    t = pd.Timestamp(as_of) if as_of is not None else pd.Timestamp.now()
    live = doses[(doses["start"] <= t) & (doses["end"].isna() | (doses["end"] > t))]
    return live.groupby("patient_id")["drug"].agg(lambda s: sorted(set(s)))


def _latest_values(labs: pd.DataFrame, order: pd.Series, system: str) -> dict[str, pd.DataFrame]:
    """Per analyte, aligned with ``order``: latest value text (with date) and sparkline.

    Vectorised over the whole panel (a 5,000-patient panel has 35,000 series): one sort
    by patient, analyte and time (a single packed integer key), then slices of it.
    """
    n = len(order)
    empty_sparks = np.empty(n, dtype=object)
    empty_sparks[:] = [[] for _ in range(n)]
    out = {a: pd.DataFrame({"text": np.full(n, "", dtype=object), "spark": empty_sparks}) for a in PANEL_ANALYTES}
    codes, names = pd.factorize(labs["analyte"])
    to_panel = np.array([PANEL_ANALYTES.index(x) if x in PANEL_ANALYTES else -1 for x in names] + [-1], dtype=np.int64)
    a_all = to_panel[codes]  # (a code of -1, a missing analyte, maps to the trailing -1)
    keep = a_all >= 0
    if not keep.any():
        return out
    cols = labs[["patient_id", "collected_at", "value", "comparator"]]
    sub = cols[keep] if not keep.all() else cols
    pid_codes, pid_values = pd.factorize(sub["patient_id"])
    a_codes = a_all[keep].astype(np.int64)
    times = sub["collected_at"].to_numpy().astype("datetime64[s]").astype(np.int64)
    span = int(times.max() - times.min()) + 1
    group = pid_codes.astype(np.int64) * len(PANEL_ANALYTES) + a_codes
    if int(group.max()) < (1 << 62) // span:  # (patient, analyte, time) packed into one int64
        sort = np.argsort(group * span + (times - times.min()), kind="stable")
    else:
        sort = np.lexsort((times, a_codes, pid_codes))
    if len(sort) > 1:
        tie = (group[sort][1:] == group[sort][:-1]) & (times[sort][1:] == times[sort][:-1])
        if tie.any():  # one draw, two values: the more severe last, as the review counts it
            worse = np.array([worse_direction().get(a, 1) for a in PANEL_ANALYTES], dtype=np.float64)
            sort = np.lexsort((worse[a_codes] * sub["value"].to_numpy(), times, group))
    key = group[sort]
    starts = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])
    ends = np.r_[starts[1:], len(key)]
    group_pid = pid_codes[sort][starts]
    group_analyte = a_codes[sort][starts]
    values = sub["value"].to_numpy()[sort]
    when = sub["collected_at"].to_numpy()[sort]
    cmp_codes, cmp_names = pd.factorize(sub["comparator"])  # a handful of distinct texts
    cmp_names = np.asarray([*map(str, cmp_names), ""], dtype=object)
    position = {pid: i for i, pid in enumerate(order.tolist())}
    row_of = np.array([position.get(pid, -1) for pid in pid_values.tolist()], dtype=np.int64)  # code -> row
    for ai, a in enumerate(PANEL_ANALYTES):
        g = np.flatnonzero(group_analyte == ai)
        if not len(g):
            continue
        f = display_factor(a, system)
        rows = row_of[group_pid[g]]
        ok = rows >= 0
        g, rows = g[ok], rows[ok]
        last = ends[g] - 1
        dates = np.datetime_as_string(when[last].astype("datetime64[D]"))
        comparators = cmp_names[cmp_codes[sort[last]]]
        shown = values[last] * f
        last_text = [
            f"{c}{v:.3g}  ·  {d}" if abs(v) < 100 else f"{c}{v:.0f}  ·  {d}"
            for c, v, d in zip(comparators, shown.tolist(), dates.tolist(), strict=True)
        ]
        first = np.maximum(starts[g], ends[g] - SPARK_POINTS)
        lengths = ends[g] - first
        bounds = np.r_[0, np.cumsum(lengths)]
        idx = np.arange(bounds[-1]) - np.repeat(bounds[:-1], lengths) + np.repeat(first, lengths)
        flat = np.round(values[idx] * f, 4).tolist()  # only the points shown, scaled once
        b = bounds.tolist()
        sparks = [flat[b[i] : b[i + 1]] for i in range(len(g))]
        text = np.full(n, "", dtype=object)
        spark = empty_sparks.copy()
        text[rows] = last_text
        placed = np.empty(len(rows), dtype=object)
        placed[:] = sparks
        spark[rows] = placed
        out[a] = pd.DataFrame({"text": text, "spark": spark})
    return out


def with_reviews(table: pd.DataFrame, open_flags: pd.DataFrame, log: pd.DataFrame) -> pd.DataFrame:
    """Add the review state of each patient's open flags (workspace review log).

    ``Unreviewed flags`` counts the open flags nobody has reviewed; a patient is
    *acknowledged* when every open flag has a review and no blood test is overdue.
    When the log holds any review, patients with unreviewed flags come first (urgency
    order within each group); without reviews the urgency order is left alone.
    """
    from dashboard.reviews import with_review_status

    if table.empty:
        return table
    out = table.copy()
    if open_flags.empty:
        out["Unreviewed flags"] = 0
        out["_acknowledged"] = False
        return out
    status = with_review_status(open_flags, log, rule_col="rule")
    unreviewed = status[~status["reviewed"]].groupby("patient_id").size()
    total = status.groupby("patient_id").size()
    out["Unreviewed flags"] = out["Patient"].map(unreviewed).fillna(0).astype(int)
    has_flags = out["Patient"].map(total).fillna(0).astype(int) > 0
    out["_acknowledged"] = has_flags & (out["Unreviewed flags"] == 0) & (out["Overdue (days)"] == 0)
    if not log.empty:
        out = out.sort_values(
            ["Unreviewed flags", "Rank"], key=lambda c: c if c.name == "Rank" else -(c > 0), kind="stable"
        )
    return out.reset_index(drop=True)


@dataclass(frozen=True)
class PanelFilter:
    """What the clinician narrows the panel to."""

    search: str = ""
    drugs: tuple[str, ...] = ()
    flag_types: tuple[str, ...] = ()  # "CTCAE", "Guideline", "Trend", "Dose check", "Overdue"
    min_grade: int = 0
    overdue_only: bool = False
    attention_only: bool = False
    hide_acknowledged: bool = False


def filter_panel(table: pd.DataFrame, flt: PanelFilter) -> pd.DataFrame:
    """The rows of the panel table that pass the filter (order kept)."""
    if table.empty:
        return table
    keep = np.ones(len(table), dtype=bool)
    if flt.search.strip():
        keep &= table["Patient"].str.contains(flt.search.strip(), case=False, regex=False).to_numpy()
    if flt.drugs:
        wanted = set(flt.drugs)
        keep &= table["_drugs"].apply(lambda ds: bool(wanted & set(ds))).to_numpy()
    if flt.min_grade > 0:
        keep &= (table["CTCAE now"].fillna(0).astype(int) >= flt.min_grade).to_numpy()
    if flt.overdue_only:
        keep &= (table["Overdue (days)"] > 0).to_numpy()
    if flt.attention_only:
        keep &= (table["_severity"] >= SEVERITY_ORDER["caution"]).to_numpy()
    if flt.hide_acknowledged and "_acknowledged" in table:
        keep &= ~table["_acknowledged"].to_numpy(dtype=bool)
    if flt.flag_types:
        any_type = np.zeros(len(table), dtype=bool)
        for t in flt.flag_types:
            any_type |= {
                "CTCAE": table["CTCAE now"].fillna(0).astype(int) > 0,
                "Guideline": table["Guideline flags"] > 0,
                "Trend": table["Trend flags"] > 0,
                "Dose check": table["Dose checks"] > 0,
                "Overdue": table["Overdue (days)"] > 0,
            }[t].to_numpy()
        keep &= any_type
    return table[keep]


@dataclass(frozen=True)
class PanelCounts:
    patients: int
    grade3_or_more: int
    action: int
    overdue: int


def panel_counts(table: pd.DataFrame) -> PanelCounts:
    """The numbers at the top of the panel."""
    if table.empty:
        return PanelCounts(0, 0, 0, 0)
    return PanelCounts(
        patients=len(table),
        grade3_or_more=int((table["CTCAE now"].fillna(0).astype(int) >= 3).sum()),
        action=int((table["_severity"] >= SEVERITY_ORDER["action"]).sum()),
        overdue=int((table["Overdue (days)"] > 0).sum()),
    )
