"""Tables shaped for display (pure): what pages show, computed from the canonical model."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from dashboard import model
from dashboard.units import display_factor, display_unit


def format_value(value: float, comparator: str = "") -> str:
    """ "<0.1", "3.2", "1 234" -> short text with its comparator."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    text = f"{value:.3g}" if abs(value) < 1000 else f"{value:,.0f}"
    if abs(value) < 1000 and abs(value) >= 100:
        text = f"{value:.0f}"
    return f"{comparator}{text}"


def patient_results(labs: pd.DataFrame, patient_id: str, system: str = "SI") -> pd.DataFrame:
    """One row per draw, one column per analyte ("WBC (×10⁹/L)"), values as text.

    Censored values keep their comparator; derived values are marked "(calc)".
    """
    sub = labs[labs["patient_id"] == patient_id]
    if sub.empty:
        return pd.DataFrame(columns=["Collected"])
    rows = []
    for a in model.ANALYTES:
        part = sub[sub["analyte"] == a]
        if part.empty:
            continue
        f = display_factor(a, system)
        for _, r in part.iterrows():
            text = format_value(r["value"] * f, r["comparator"])
            if r["derived"]:
                text += " (calc)"
            rows.append(
                {
                    "Collected": r["collected_at"],
                    "col": f"{model.analyte_label(a)} ({display_unit(a, system)})",
                    "text": text,
                }
            )
    wide = pd.DataFrame(rows).pivot_table(
        index="Collected", columns="col", values="text", aggfunc=lambda s: " / ".join(s)
    )
    order = [c for a in model.ANALYTES for c in wide.columns if c.startswith(model.analyte_label(a) + " (")]
    wide = wide[list(dict.fromkeys(order))].sort_index(ascending=False).reset_index()
    wide.columns.name = None
    wide["Collected"] = wide["Collected"].dt.strftime("%Y-%m-%d %H:%M").str.removesuffix(" 00:00")
    return wide.fillna("")


def patient_doses(doses: pd.DataFrame, patient_id: str) -> pd.DataFrame:
    """The patient's dose rows for display."""
    sub = doses[doses["patient_id"] == patient_id].sort_values(["start", "drug"])
    out = pd.DataFrame(
        {
            "Drug": sub["drug"].map(lambda d: model.drug_info()[d].label if d in model.drug_info() else d),
            "Dose": [
                f"{d:g} {u}" if not np.isnan(d) else "" for d, u in zip(sub["dose"], sub["dose_unit"], strict=True)
            ],
            "Frequency": sub["frequency"],
            "mg/day": sub["mg_per_day"].round(2),
            "Route": sub["route"],
            "Start": sub["start"].dt.date,
            "End": sub["end"].dt.date,
            "Basis": sub["dose_basis"],
            "Source": sub["source_file"] + ":" + sub["source_row"].astype(str),
        }
    )
    return out.reset_index(drop=True)


# --------------------------------------------------------------------------- patient page


def patient_facts(patient: pd.Series | None, as_of) -> list[tuple[str, str]]:
    """Label/value pairs of what is known of the patient."""
    if patient is None:
        return []
    facts: list[tuple[str, str]] = []
    if patient["sex"]:
        facts.append(("Sex", {"F": "female", "M": "male"}.get(patient["sex"], patient["sex"])))
    if pd.notna(patient["birth_date"]):
        ref = pd.Timestamp(as_of)
        b = patient["birth_date"]
        age = ref.year - b.year - ((ref.month, ref.day) < (b.month, b.day))
        facts.append(("Age", f"{age} years"))
    elif pd.notna(patient["age"]):
        facts.append(("Age", f"{patient['age']:g} years"))
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
    factor = f["analyte"].map(lambda a: display_factor(a, system))
    units = f["analyte"].map(lambda a: display_unit(a, system))
    return pd.DataFrame(
        {
            "Date": f["collected_at"].dt.strftime("%Y-%m-%d %H:%M"),
            "Analyte": f["analyte"].map(model.analyte_label),
            "Value": [
                f"{c}{format_value(v * k)} {u}"
                for c, v, k, u in zip(f["comparator"], f["value"], factor, units, strict=True)
            ],
            "As reported": (f["source_value"] + " " + f["source_unit"]).str.strip(),
            "CTCAE": f["ctcae_grade"].astype("Int64"),
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
    f = after.assign(_g=after["ctcae_grade"].astype("float").fillna(-1))
    f = f.sort_values(["_g", "patient_id", "collected_at"], ascending=[False, True, True], kind="stable")
    factor = f["analyte"].map(lambda a: display_factor(a, system))
    units = f["analyte"].map(lambda a: display_unit(a, system))
    out = pd.DataFrame(
        {
            "Patient": f["patient_id"],
            "Date": f["collected_at"].dt.strftime("%Y-%m-%d %H:%M"),
            "Analyte": f["analyte"].map(model.analyte_label),
            "Value": [
                f"{c}{format_value(v * k)} {u}"
                for c, v, k, u in zip(f["comparator"], f["value"], factor, units, strict=True)
            ],
            "As reported": (f["source_value"] + " " + f["source_unit"]).str.strip(),
            "CTCAE": f["ctcae_grade"].astype("Int64"),
        },
        columns=cols,
    ).reset_index(drop=True)
    return out if with_patient else out.drop(columns=["Patient"])


def after_as_of_summary(after: pd.DataFrame, as_of) -> str:
    """One sentence: how many results lie after the as-of date, and the most severe."""
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
        w = after.loc[g.idxmax()]
        text += (
            f" Most severe: {w['patient_id']}, {model.analyte_label(w['analyte'])} {w['comparator']}{w['value']:g} "
            f"{display_unit(w['analyte'], 'SI')} on {w['collected_at']:%d %b %Y} (CTCAE grade {int(w['ctcae_grade'])})."
        )
    return text + " Move the as-of date to review them."


def schedule_table(schedule: pd.DataFrame) -> pd.DataFrame:
    cols = ["Drug", "Schedule", "Last test", "Every (days)", "Next due", "Overdue (days)", "Source"]
    if schedule.empty:
        return pd.DataFrame(columns=cols)
    return pd.DataFrame(
        {
            "Drug": schedule["drug"].map(lambda d: model.drug_info()[d].label if d in model.drug_info() else d),
            "Schedule": schedule["description"],
            "Last test": schedule["last_test"].dt.strftime("%Y-%m-%d"),
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
    label = lambda d: model.drug_info()[d].label if d in model.drug_info() else d  # noqa: E731
    return (
        pd.DataFrame(
            {
                "Drug": checks["drug"].map(label),
                "With": checks["with_drug"].map(lambda d: label(d) if d else ""),
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


def current_doses_table(doses: pd.DataFrame, weight: float, as_of) -> pd.DataFrame:
    """The doses in force on ``as_of`` with mg/kg when the weight is known."""
    from dashboard.rules.context import describe_dose

    cols = ["Drug", "Dose", "Since", "Route", "Source"]
    t = pd.Timestamp(as_of)
    live = doses[(doses["start"] <= t) & (doses["end"].isna() | (doses["end"] > t))]
    if live.empty:
        return pd.DataFrame(columns=cols)
    return pd.DataFrame(
        {
            "Drug": live["drug"].map(lambda d: model.drug_info()[d].label if d in model.drug_info() else d),
            "Dose": [
                describe_dose(r.drug, r.dose, r.dose_unit, r.frequency, r.mg_per_day, weight) for r in live.itertuples()
            ],
            "Since": live["start"].dt.strftime("%Y-%m-%d"),
            "Route": live["route"],
            "Source": live["source_file"] + ":" + live["source_row"].astype(str),
        },
        columns=cols,
    ).reset_index(drop=True)


def import_log_title(entry: dict) -> str:
    """The Workspace page's title of one import (markdown: names and who are escaped)."""
    from dashboard.markup import md_escape

    names = ", ".join(f["file_name"] for f in entry["files"]) or entry["label"]
    return (
        f"#{entry['import_id']} · {entry['imported_at']:%Y-%m-%d %H:%M} · {md_escape(entry['imported_by'])} · "
        f"{md_escape(names)}: +{entry['labs_added']:,} results ({entry['labs_duplicate']:,} already there), "
        f"+{entry['doses_added']:,} doses, +{entry['patients_added']:,} patients"
    )


def import_file_line(f: dict) -> str:
    """One imported file of the log: name, status, content hash and size (markdown)."""
    from dashboard.markup import md_escape

    return f"{md_escape(f['file_name'])}: {f['status']}, sha256 {f['content_hash'][:16]}…, {f['size']:,} bytes"


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
