"""The panel: one row per patient, most urgent first (pure: review in, DataFrame out).

The rules engine ranks the patients (``Review.summary``); this module adds what a
rheumatologist scans a panel for: who (name and MRN), why they need attention (the
open items in a few words), the latest key counts rounded as the lab reports them with
their CTCAE grade, what is overdue and not yet reviewed; and, one click away, the
diagnosis, current doses, every latest result with its date, sparklines on each
analyte's clinical scale with its reference band, flag counts and the next test due.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow.compute as pc

from dashboard import model
from dashboard.dataset import Dataset
from dashboard.identity import disputed_values, other_ids_by_patient
from dashboard.reviews import with_review_status
from dashboard.rules.ctcae import grade_text
from dashboard.rules.data import draw_severity, ranges_file
from dashboard.rules.review import Review
from dashboard.rules.schedule import check_labels, short_group_label
from dashboard.sparkline import data_url, sparkline_svg
from dashboard.units import (
    HB_G_PER_L_PER_MMOL,
    display_factor,
    display_text,
    display_text_array,
    display_unit,
    normalize_unit,
    reported_decimals,
    round_half_up,
    round_sig,
    to_display,
)

#: Analytes shown as columns (latest value + sparkline).
PANEL_ANALYTES: tuple[str, ...] = ("wbc", "neutrophils", "lymphocytes", "hemoglobin", "platelets", "mcv", "alt")
#: The counts that decide who to see, shown by default (latest value with its grade).
KEY_ANALYTES: tuple[str, ...] = ("wbc", "neutrophils", "lymphocytes", "hemoglobin", "platelets")
#: Short column labels (the unit is in the column's help).
SHORT_LABEL = {
    "wbc": "WBC",
    "neutrophils": "Neut",
    "lymphocytes": "Lymph",
    "eosinophils": "Eos",
    "hemoglobin": "Hb",
    "platelets": "Plt",
    "mcv": "MCV",
    "alt": "ALT",
    "ast": "AST",
    "albumin": "Alb",
    "creatinine": "Creat",
    "egfr": "eGFR",
    "crcl": "CrCl",
}
#: Points in each sparkline (the latest results).
SPARK_POINTS = 12
SEVERITY_ORDER = {"": 0, "info": 1, "caution": 2, "action": 3, "urgent": 4}


def value_column(analyte: str, system: str = "SI") -> str:
    return f"{model.analyte_label(analyte)} ({display_unit(analyte, system)})"


def trend_column(analyte: str) -> str:
    return f"{model.analyte_label(analyte)} trend"


def now_column(analyte: str) -> str:
    """The short column of the latest value with its CTCAE grade ("Neut": "1.18 G2")."""
    return SHORT_LABEL[analyte]


def _born_texts(ds: Dataset, ids: pd.Series, patients: pd.DataFrame) -> np.ndarray:
    """The Born column: the date as identity.birth_text writes it, or "disputed" where two
    sources give two dates and the rules use neither (H553, H539): never one as fact and
    never a blank that reads as "not recorded"; the Patient page names both."""
    born = np.asarray(_dates(ids.map(patients["birth_date"]), "%d-%b-%Y"), dtype=object)
    disputed = disputed_values(ds.identity_conflicts, "birth_date")
    if disputed:
        born = np.where(ids.isin(list(disputed)).to_numpy(), "disputed", born)
    return born


def panel_table(ds: Dataset, review: Review, system: str = "SI") -> pd.DataFrame:
    """One row per patient in urgency order, ready for ``st.dataframe``.

    Columns: Rank, Patient, Diagnosis, Urgency, Why, Another id (another id of the panel
    that may be the same person, "" for most), Needs attention, Doses now, per analyte
    the latest value with its date and a sparkline list, CTCAE now, Guideline flags,
    Trend flags, Dose checks, Next test due, Overdue (days), and hidden helpers
    ``_drugs`` (generic ids in force, or recorded after their last dose: H433),
    ``_grade`` (the CTCAE now as a number: "2 or worse" is 2) and ``_severity`` (0-4) for
    filtering.
    """
    summary = review.summary_df()
    if summary.empty:
        return pd.DataFrame()
    patients = ds.patients.set_index("patient_id")
    ids = summary["patient_id"]
    names = ids.map(patients["name"]).fillna("") if "name" in patients else pd.Series("", index=ids.index)
    out = pd.DataFrame(
        {
            "Rank": summary["urgency_rank"].astype("int64"),
            "Patient": ids,
            "Name · MRN": [f"{n} · {p}" if n else p for n, p in zip(names, ids, strict=True)],
            "Name": names.to_numpy(),
            "Born": _born_texts(ds, ids, patients),
            "Diagnosis": ids.map(patients["diagnosis"]).fillna(""),
            "Urgency": summary["urgency"].replace("", "-"),
            "Why": why_texts(review, ids, system=system),
            # another id of the panel that may be the same person (H150, H276): its doses
            # may be there, so the row says it as the Patient page does
            "Another id": _other_id_texts(ds, ids),
            "Needs attention": summary["headline"],
            "Doses now": doses_now_texts(summary["current_doses"], summary["recent_doses"]),
        }
    )
    judged = reviewed_labs(ds.labs, review.as_of)  # up to the as-of date, as the review judged
    latest = _latest_values(judged, ids, system)
    # the analytes whose grade may be worse ("<=50" platelets: "<=50 G2 or worse", H143)
    open_grades = [set(x.split(";")) for x in summary["grades_or_worse"].fillna("")]
    for a in PANEL_ANALYTES:
        col = f"ctcae_{a}"
        grade = summary[col].fillna(0).astype(int).tolist() if col in summary else [0] * len(summary)
        out[now_column(a)] = [
            f"{v} G{grade_text(g, a in worse)}" if v and g >= 1 else v
            for v, g, worse in zip(latest[a]["value"].tolist(), grade, open_grades, strict=True)
        ]
    for a in PANEL_ANALYTES:
        out[value_column(a, system)] = latest[a]["text"].to_numpy()
        out[trend_column(a)] = latest[a]["spark"].to_numpy()
    last = judged.groupby("patient_id")["collected_at"].max() if len(judged) else pd.Series(dtype="datetime64[s]")
    out["Last bloods"] = _dates(ids.map(last))
    grade = summary["max_ctcae_grade"].astype("Int64")
    # in words: "2 or worse" when a latest result's bound may lie beyond it; the number
    # itself (``_grade``) is what the filters and counts compare
    out["CTCAE now"] = [
        grade_text(g, w) for g, w in zip(grade, summary["max_ctcae_grade_or_worse"].astype(bool), strict=True)
    ]
    out["Guideline flags"] = summary["open_guideline"].astype("int64")
    out["Trend flags"] = summary["open_trend"].astype("int64")
    out["Dose checks"] = summary["dose_checks_open"].astype("int64")
    out["Next test due"] = _dates(summary["next_test_due"])  # text: an unknown date is blank
    out["Overdue (days)"] = np.where(summary["overdue"].to_numpy(dtype=bool), summary["days_overdue"].to_numpy(), 0)
    if int(summary["results_after_as_of"].sum()):  # results not in this review: never out of sight
        out["Results after as-of"] = summary["results_after_as_of"].astype("int64").to_numpy()
    # the drugs the review records on the as-of date (in force, or within their window after
    # the last dose: context.dose_context), so that the drug filter finds the patients the
    # review counts as taking one (probe27 F9)
    out["_drugs"] = [sorted(filter(None, v.split(";"))) for v in summary["recorded_drugs"].fillna("")]
    out["_grade"] = grade.to_numpy()
    out["_severity"] = summary["urgency"].map(SEVERITY_ORDER).fillna(0).astype(int)
    out["_dose_check_severity"] = ids.map(_dose_check_severity(review)).fillna(0).astype(int).to_numpy()
    return out.reset_index(drop=True)


def doses_now_texts(current: pd.Series, recent: pd.Series) -> list[str]:
    """The doses in force, then the monitored drugs the review still records after their
    last dose ("recently ended: Rituximab 1000 mg once, ended 2026-06-02"): a patient
    between rituximab infusions is never shown as on nothing (H482)."""
    out = []
    for now, ended in zip(current.fillna(""), recent.fillna(""), strict=True):
        said = f"recently ended: {ended}" if ended else ""
        out.append("; ".join(t for t in (now, said) if t))
    return out


def _other_id_texts(ds: Dataset, ids: pd.Series) -> list[str]:
    """Per patient of ``ids``: the sentences naming another id of the panel that may be the
    same person (``identity.other_ids_by_patient``: an identifier that is another patient's id,
    H150, or ids that differ only by leading zeros, H330), "; "-joined, "" for most."""
    notes = other_ids_by_patient(ds.aliases, ds.patient_ids)
    return ["; ".join(notes.get(pid, [])) for pid in ids]


def _dose_check_severity(review: Review) -> pd.Series:
    """Per patient: the highest severity (0-4) of the open dose checks (none reviewable in
    the form: one of action or urgent keeps the patient out of "acknowledged")."""
    checks = review.dose_checks_df()
    if not len(checks):
        return pd.Series(dtype="int64")
    live = checks[checks["status"] == "open"]
    return live["severity"].map(SEVERITY_ORDER).fillna(0).astype(int).groupby(live["patient_id"]).max()


def reviewed_labs(labs: pd.DataFrame, as_of) -> pd.DataFrame:
    """The results up to the end of the as-of date (the ones the review judged)."""
    if as_of is None or labs.empty:
        return labs
    end = pd.Timestamp(as_of) + pd.Timedelta(days=1)
    keep = (labs["collected_at"] < end).to_numpy()
    return labs if keep.all() else labs[keep]


def _dates(times: pd.Series, fmt: str = "%Y-%m-%d") -> np.ndarray:
    """Dates as text, "" where unknown (never "None" or "NaT")."""
    return pd.to_datetime(times).dt.strftime(fmt).fillna("").to_numpy(dtype=object)


def overdue_words(tests_due: str, due_groups, days_overdue: int, whole_check: frozenset[str] = frozenset()) -> str:
    """What a schedule row's overdue tests are, for the Why cell: each overdue test group
    by its short name with its own lateness, worst first ("albumin 868 d, FBC +
    creatinine/eGFR + ALT/AST 282 d overdue"; H294).  One number for the row ("bloods 868 d
    overdue") could not tell a year-old full blood count from an albumin never done beside
    yesterday's count.  When every blood test group of the row's check (``whole_check``,
    their labels) is overdue by the same days, "bloods N d overdue" says it in one word."""
    late: dict[int, list[str]] = {}
    labels: set[str] = set()
    for g in [] if due_groups is None else list(due_groups):
        days = g.get("days_overdue")
        if days is not None and days > 0:
            late.setdefault(int(days), []).append(short_group_label(str(g["tests"])))
            labels.add(str(g["tests"]))
    if not late:
        return f"{tests_due} {int(days_overdue)} d overdue"
    if len(late) == 1 and whole_check and labels == set(whole_check):
        return f"bloods {next(iter(late))} d overdue"
    parts = [f"{' + '.join(names)} {days} d" for days, names in sorted(late.items(), reverse=True)]
    return ", ".join(parts) + " overdue"


def why_texts(review: Review, order: pd.Series, most: int = 3, system: str = "SI") -> list[str]:
    """Per patient (aligned with ``order``): the open items in a few words, most severe
    first ("Neut 1.18 < 1.6; Neut G2; WBC G1"): what the panel's Why column shows.  Items
    of one rule on several counts share their words ("Neut 38%, WBC 33% below baseline").
    Numbers in the unit ``system`` of the table beside it, the value rounded as its cell
    is ("Alb 2.8 < 3" in US units, never the SI "Alb 28 < 30": H485).

    The full sentence of each (rule, threshold, source) is on the Patient page.
    """
    items: dict[str, list[tuple[int, int, int, str, str]]] = {}
    comparisons = {r.id: r.comparison for r in review.profile.active("guideline")}
    flags = review.open_flags_df()
    if len(flags):
        keep = ~flags["at_baseline"].fillna(False).astype(bool) if "at_baseline" in flags else True
        worst = _episode_worst_grades(review, flags)
        for f in flags[keep].itertuples(index=False):
            head, tail = _flag_words(f, comparisons, system)
            earlier = worst.get((f.patient_id, f.rule, f.episode_start))
            if f.kind == "ctcae" and earlier and pd.notna(f.ctcae_grade) and earlier[0] > f.ctcae_grade:
                head += f" (G{earlier[0]} on {earlier[1]:%Y-%m-%d})"  # the open episode was worse (H427)
            items.setdefault(f.patient_id, []).append(
                (
                    SEVERITY_ORDER.get(f.severity, 0),
                    _KIND_ORDER.get(f.kind, 9),
                    _WHY_ORDER.get(f.analyte, 99),
                    head,
                    tail,
                )
            )
    sched = review.schedule_df()
    for s in sched[sched["overdue"].astype(bool)].itertuples(index=False) if len(sched) else ():
        items.setdefault(s.patient_id, []).append(
            (
                SEVERITY_ORDER.get(s.severity, 0),
                0,
                0,
                overdue_words(
                    s.tests_due, s.due_groups, s.days_overdue, check_labels(s.schedule, review.profile.schedule)
                ),
                "",
            )
        )
    checks = review.dose_checks_df()
    if len(checks):
        live = checks[(checks["status"] == "open") & (checks["severity"].map(SEVERITY_ORDER).fillna(0) > 1)]
        for c in live.itertuples(index=False):
            label = model.drug_label(c.drug)
            items.setdefault(c.patient_id, []).append(
                (SEVERITY_ORDER.get(c.severity, 0), 4, 0, f"dose check: {label}", "")
            )
    out = []
    for pid in order:
        groups: dict[tuple, tuple[list[str], str]] = {}  # items of one rule share their tail
        for sev, kind, _analyte, head, tail in sorted(items.get(pid, []), key=lambda t: (-t[0], t[1], t[2])):
            heads, _ = groups.setdefault((sev, kind, tail or head), ([], tail))
            if head not in heads:
                heads.append(head)
        texts = [", ".join(heads) + (f" {tail}" if tail else "") for heads, tail in groups.values()]
        out.append("; ".join(texts[:most]) + (f" (+{len(texts) - most})" if len(texts) > most else ""))
    return out


def _episode_worst_grades(review: Review, open_flags: pd.DataFrame) -> dict[tuple, tuple[int, pd.Timestamp]]:
    """Per CTCAE episode still open over several results (patient, rule, episode start):
    its highest grade and the date of its latest result at that grade, for the Why of an
    open flag now graded lower.  Read from the closed CTCAE flags in Arrow (few columns)."""
    o = open_flags[(open_flags["kind"] == "ctcae") & (open_flags["episode_results"] > 1)]
    if o.empty:
        return {}
    keys = ["patient_id", "rule", "episode_start"]
    t = review.flags
    closed = pc.and_(pc.equal(t.column("kind"), "ctcae"), pc.equal(t.column("status"), "closed"))
    f = t.filter(closed).select([*keys, "ctcae_grade", "collected_at"]).to_pandas()
    f = f[f["ctcae_grade"].notna()].merge(o[keys].drop_duplicates(), on=keys)
    if f.empty:
        return {}
    f = f.sort_values(["ctcae_grade", "collected_at"])
    last = f.groupby(keys, sort=False).tail(1)
    return {
        (p, r, e): (int(g), when)
        for p, r, e, g, when in zip(
            last["patient_id"],
            last["rule"],
            last["episode_start"],
            last["ctcae_grade"],
            last["collected_at"],
            strict=True,
        )
    }


_KIND_ORDER = {"guideline": 1, "trend": 2, "ctcae": 3}
#: Within one severity, the counts that matter most to a DMARD review first.
_WHY_ORDER = {
    a: i
    for i, a in enumerate(
        ("neutrophils", "platelets", "wbc", "lymphocytes", "hemoglobin", "alt", "ast", "mcv", "egfr", "creatinine")
    )
}


def _flag_words(f, comparisons: dict[str, str], system: str = "SI") -> tuple[str, str]:
    """(head, tail) of a flag in a few words; flags of one rule share the tail.  Numbers in
    the display unit of ``system``: the value as the table rounds it (``display_text``,
    never onto the other side of the flag's own threshold), a limit or a baseline to 4
    significant figures (whole: "105.3", never cut to "10", H202)."""
    short = SHORT_LABEL.get(f.analyte, model.analyte_label(f.analyte))
    limits = (float(f.threshold),) if pd.notna(f.threshold) else ()
    value = display_text(f.analyte, f.value, system, str(f.source_value or ""), str(f.comparator or ""), limits)
    value = value or f"{f.comparator}{f.value:g}"
    if f.kind == "ctcae" and pd.notna(f.ctcae_grade):
        # a result censored towards the grade ("<=50" platelets: 50 is grade 2, below it
        # grade 3 or 4) is "grade 2 or worse" in its flag, and so here (H143, H271, H275)
        return f"{short} G{grade_text(f.ctcae_grade, getattr(f, 'ctcae_grade_or_worse', False))}", ""
    if f.kind == "guideline" and comparisons.get(f.rule) in ("<", ">") and pd.notna(f.threshold):
        return f"{short} {value} {comparisons[f.rule]} {_number(f.analyte, f.threshold, system)}", ""
    if f.kind == "guideline" and comparisons.get(f.rule) == "rise_pct" and pd.notna(f.baseline) and f.baseline:
        # the value, the rise (2 decimals, as the flag says it) and the reference it is measured
        # from, whole (H202): never the message cut at 40 characters, which could end inside the
        # reference ("above 10" for 105.3)
        rise = 100 * (f.value - f.baseline) / f.baseline
        return f"{short} {value}, {rise:.2f}% above {_number(f.analyte, f.baseline, system)}", ""
    if f.kind == "trend":
        if "baseline" in f.rule and pd.notna(f.baseline) and f.baseline:
            return f"{short} {round(100 * (f.baseline - f.value) / f.baseline):.0f}%", "below baseline"
        if "consecutive" in f.rule:
            return short, "falling 3 tests"
    return str(f.message).split(":")[0][:40], ""


def _hb_cells(shown: list[str], values: np.ndarray, reported, comparators, units) -> list[str]:
    """The Panel's Hb cells (``shown``: in the display unit) with each result reported in
    mmol/L as the lab reported it ("6.2 mmol/L"): it is graded on CTCAE's mmol/L cuts, which
    do not convert exactly, so its g/L or g/dL number may sit across the cut of another
    grade (6.2 mmol/L is grade 1, not < 6.2; converted, 99.9 g/L is below 100, grade 2's cut)."""
    out = list(shown)
    for i, unit in enumerate(units):
        if normalize_unit(str(unit or "")) != "mmol/l" or not math.isfinite(values[i]):
            continue
        d = reported_decimals(str(reported[i] or ""))
        d = 1 if d is None else d
        as_reported = round_half_up(float(values[i]) / HB_G_PER_L_PER_MMOL, d)
        out[i] = f"{comparators[i]}{as_reported:.{d}f} mmol/L"
    return out


def _number(analyte: str, canonical: float, system: str) -> str:
    """A limit or a baseline in the display unit of ``system``, to 4 significant figures."""
    return f"{round_sig(to_display(analyte, float(canonical), system), 4):g}"


def _latest_values(labs: pd.DataFrame, order: pd.Series, system: str) -> dict[str, pd.DataFrame]:
    """Per analyte, aligned with ``order``: latest value text (with date) and sparkline.

    Vectorised over the whole panel (a 5,000-patient panel has 35,000 series): one sort
    by patient, analyte and time (a single packed integer key), then slices of it.
    """
    n = len(order)
    empty_sparks = np.empty(n, dtype=object)
    empty_sparks[:] = [[] for _ in range(n)]
    out = {
        a: pd.DataFrame(
            {"value": np.full(n, "", dtype=object), "text": np.full(n, "", dtype=object), "spark": empty_sparks}
        )
        for a in PANEL_ANALYTES
    }
    codes, names = pd.factorize(labs["analyte"])
    to_panel = np.array([PANEL_ANALYTES.index(x) if x in PANEL_ANALYTES else -1 for x in names] + [-1], dtype=np.int64)
    a_all = to_panel[codes]  # (a code of -1, a missing analyte, maps to the trailing -1)
    keep = a_all >= 0
    if not keep.any():
        return out
    derived_col = ["derived"] if "derived" in labs else []
    cols = labs[["patient_id", "collected_at", "value", "comparator", "source_value", "source_unit", *derived_col]]
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
            severity = draw_severity(
                np.asarray(PANEL_ANALYTES)[a_codes], sub["value"].to_numpy(), sub["source_unit"].tolist()
            )
            sort = np.lexsort((severity, times, group))
    key = group[sort]
    starts = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])
    ends = np.r_[starts[1:], len(key)]
    group_pid = pid_codes[sort][starts]
    group_analyte = a_codes[sort][starts]
    values = sub["value"].to_numpy()[sort]
    source_text = sub["source_value"].to_numpy(dtype=object)[sort]  # once, not once per analyte
    source_unit = sub["source_unit"].to_numpy(dtype=object)
    derived = sub["derived"].fillna(False).to_numpy(dtype=bool)[sort] if derived_col else np.zeros(len(sort), bool)
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
        reported = source_text[last]
        last_value = display_text_array(a, values[last], system, reported, comparators)  # as the lab reports it
        last_text = [f"{v}  ·  {d}" for v, d in zip(last_value, dates.tolist(), strict=True)]
        if a == "hemoglobin":  # the cell beside its grade: a mmol/L result as graded (H486)
            last_value = _hb_cells(last_value, values[last], reported, comparators, source_unit[sort[last]])
        made = derived[last]
        if made.any():  # a count the import calculated (from a % and the WBC): the lab's value beside it (H720)
            units = source_unit[sort[last]]
            for i in np.flatnonzero(made).tolist():
                lab, shown = f"{reported[i]} {units[i] or ''}".strip(), last_value[i]
                last_value[i] = f"{shown} (from {lab})"
                last_text[i] = f"{shown} (calculated from {lab})  ·  {dates[i]}"
        first = np.maximum(starts[g], ends[g] - SPARK_POINTS)
        lengths = ends[g] - first
        bounds = np.r_[0, np.cumsum(lengths)]
        idx = np.arange(bounds[-1]) - np.repeat(bounds[:-1], lengths) + np.repeat(first, lengths)
        flat = np.round(values[idx] * f, 4).tolist()  # only the points shown, scaled once
        b = bounds.tolist()
        sparks = [flat[b[i] : b[i + 1]] for i in range(len(g))]
        text = np.full(n, "", dtype=object)
        value = np.full(n, "", dtype=object)
        spark = empty_sparks.copy()
        text[rows] = last_text
        value[rows] = last_value
        placed = np.empty(len(rows), dtype=object)
        placed[:] = sparks
        spark[rows] = placed
        out[a] = pd.DataFrame({"value": value, "text": text, "spark": spark})
    return out


def with_reviews(
    table: pd.DataFrame,
    open_flags: pd.DataFrame,
    log: pd.DataFrame,
    unreviewed_first: bool = True,
    as_of: dt.date | None = None,
) -> pd.DataFrame:
    """Add the review state of each patient's open flags (workspace review log).

    ``Unreviewed flags`` counts the open flags nobody has reviewed; a patient is
    *acknowledged* when every open flag has a review, no blood test is overdue and no open
    dose check of severity action or urgent stands (nobody can review a dose check in the
    form: it is settled by changing the dose record).  A review is of named flags, so a
    later result (a new flag) counts as unreviewed and reopens the patient.  With
    ``unreviewed_first`` and a log holding any review, patients still to see (unreviewed
    flags, overdue bloods or such a dose check) come first, urgency order within each
    group; without reviews the urgency order is left alone.

    With ``as_of``, ``_reviewed_after_as_of`` counts each patient's open flags reviewed
    after that date (counted as reviewed, and said by the Panel page: H478).
    """
    if table.empty:
        return table
    out = table.copy()
    if open_flags.empty:
        out["Unreviewed flags"] = 0
        out["_acknowledged"] = False
        out["_reviewed_after_as_of"] = 0
        return out
    status = with_review_status(open_flags, log, rule_col="rule", as_of=as_of)
    unreviewed = status[~status["reviewed"]].groupby("patient_id").size()
    total = status.groupby("patient_id").size()
    out["Unreviewed flags"] = out["Patient"].map(unreviewed).fillna(0).astype(int)
    late = status[status["reviewed"] & status["reviewed_after_as_of"]] if as_of is not None else status.iloc[0:0]
    out["_reviewed_after_as_of"] = out["Patient"].map(late.groupby("patient_id").size()).fillna(0).astype(int)
    has_flags = out["Patient"].map(total).fillna(0).astype(int) > 0
    dose_check = (
        out["_dose_check_severity"] >= SEVERITY_ORDER["action"]
        if "_dose_check_severity" in out
        else pd.Series(False, index=out.index)
    )
    to_see = (out["Unreviewed flags"] > 0) | (out["Overdue (days)"] > 0) | dose_check
    out["_acknowledged"] = has_flags & ~to_see
    if unreviewed_first and not log.empty:
        out = out.assign(_to_see=~to_see).sort_values(["_to_see", "Rank"], kind="stable").drop(columns="_to_see")
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
        q = flt.search.strip()
        hit = table["Patient"].str.contains(q, case=False, regex=False)
        if "Name" in table:
            hit |= table["Name"].str.contains(q, case=False, regex=False)
        keep &= hit.to_numpy()
    if flt.drugs:
        wanted = set(flt.drugs)
        keep &= table["_drugs"].apply(lambda ds: bool(wanted & set(ds))).to_numpy()
    if flt.min_grade > 0:
        keep &= (_grades(table) >= flt.min_grade).to_numpy()
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
                "CTCAE": _grades(table) > 0,
                "Guideline": table["Guideline flags"] > 0,
                "Trend": table["Trend flags"] > 0,
                "Dose check": table["Dose checks"] > 0,
                "Overdue": table["Overdue (days)"] > 0,
            }[t].to_numpy()
        keep &= any_type
    return table[keep]


def _grades(table: pd.DataFrame) -> pd.Series:
    """The highest current grade of each row as a number (0 where none): "2 or worse"
    counts as 2, never as 3."""
    return table["_grade"].astype("Int64").fillna(0).astype(int)


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
        grade3_or_more=int((_grades(table) >= 3).sum()),
        action=int((table["_severity"] >= SEVERITY_ORDER["action"]).sum()),
        overdue=int((table["Overdue (days)"] > 0).sum()),
    )


def trend_images(ds: Dataset, review: Review, table: pd.DataFrame, analyte: str, system: str = "SI") -> list[str]:
    """The sparkline pictures of one analyte for the rows of ``table`` (``data:`` URLs,
    "" where the patient has no result): each on the analyte's clinical scale, with the
    reference band (the lab's own range of the latest result, else the default range for
    the patient's sex) and the active profile's guideline limit."""
    f = display_factor(analyte, system)
    limits = [
        r.threshold * f
        for r in review.profile.active("guideline")
        if r.analyte == analyte and r.comparison in ("<", ">")
    ]
    sub = ds.labs[ds.labs["analyte"] == analyte]
    last = sub.sort_values("collected_at").groupby("patient_id")[["ref_low", "ref_high"]].last() if len(sub) else None
    default = ranges_file().get("ranges", {}).get(analyte, {})
    sex = ds.patients.set_index("patient_id")["sex"]
    out = []
    for pid, spark in zip(table["Patient"], table[trend_column(analyte)], strict=True):
        if not len(spark):
            out.append("")
            continue
        low, high = (
            (last.loc[pid, "ref_low"], last.loc[pid, "ref_high"])
            if last is not None and pid in last.index
            else (math.nan, math.nan)
        )
        if not (np.isfinite(low) or np.isfinite(high)):
            low = default.get(f"low_{sex.get(pid, '')}", default.get("low", math.nan))
            high = default.get("high", math.nan)
        out.append(data_url(sparkline_svg(spark, analyte, system, (low * f, high * f), limits)))
    return out
