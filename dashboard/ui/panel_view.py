"""The Panel page's parts: the filters, the counts, and the table's columns (what decides
who to see is always shown; the rest is one click away)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd
import streamlit as st

from dashboard import model
from dashboard.panel import (
    KEY_ANALYTES,
    PANEL_ANALYTES,
    PanelFilter,
    now_column,
    panel_counts,
    trend_column,
    value_column,
)
from dashboard.ui.caching import current_panel_with_reviews
from dashboard.ui.state import PERSIST
from dashboard.units import display_unit

#: The filters are still set when you come back from a patient.
_PERSIST: dict[str, Any] = {"persist_state": PERSIST}

#: What decides who to see is always shown.
DECIDING = [
    "Name · MRN",
    "Urgency",
    "Why",
    *[now_column(a) for a in KEY_ANALYTES],
    "Overdue (days)",
    "Unreviewed flags",
]


def more_columns(system: str) -> dict[str, list[str]]:
    """The groups of columns one click away."""
    return {
        "Rank": ["Rank"],
        "Born": ["Born"],
        "Diagnosis": ["Diagnosis"],
        "Doses now": ["Doses now"],
        "Trends": [trend_column(a) for a in KEY_ANALYTES],
        "MCV · ALT": [now_column("mcv"), now_column("alt")],
        "Latest with dates": [value_column(a, system) for a in PANEL_ANALYTES],
        "Flag counts": ["CTCAE now", "Guideline flags", "Trend flags", "Dose checks"],
        "Next test due": ["Last bloods", "Next test due"],
        "Needs attention": ["Needs attention"],
    }


def filters() -> tuple[pd.DataFrame, PanelFilter]:
    """The filter controls and the panel table (with its review state) they filter."""
    with st.container(border=True):
        f1, f2, f3, f4 = st.columns([2, 3, 3, 2])
        search = f1.text_input(
            "Search patient id or name", key="panel_search", placeholder="e.g. SLE-0 or Doe", **_PERSIST
        )
        g1, g2, g3, g4 = st.columns(4)
        overdue_only = g1.toggle("Overdue only", key="panel_overdue", **_PERSIST)
        attention_only = g2.toggle("Needs attention only", key="panel_attention", help="Caution and above.", **_PERSIST)
        unreviewed_first = g3.toggle(
            "Unreviewed first",
            value=True,
            key="panel_unreviewed_first",
            help="Patients with flags nobody has reviewed yet (or overdue bloods, or an open dose check of action or "
            "urgent) before the others, urgency order within.",
            **_PERSIST,
        )
        hide_ack = g4.toggle(
            "Hide acknowledged",
            key="panel_hide_ack",
            help="Hide patients whose open flags have all been reviewed, who are not overdue and have no open dose "
            "check of action or urgent.",
            **_PERSIST,
        )
    table = current_panel_with_reviews(unreviewed_first=unreviewed_first)
    table = table if table is not None else pd.DataFrame()
    drugs_present = sorted({d for ds_ in table["_drugs"] for d in ds_}) if len(table) else []
    drugs = f2.multiselect("On drug", drugs_present, key="panel_drugs", format_func=model.drug_label, **_PERSIST)
    types = f3.multiselect(
        "Open flag type", ["CTCAE", "Guideline", "Trend", "Dose check", "Overdue"], key="panel_types", **_PERSIST
    )
    min_grade = f4.selectbox(
        "CTCAE grade ≥",
        [0, 1, 2, 3, 4],
        key="panel_grade",
        format_func=lambda g: "any" if g == 0 else str(g),
        **_PERSIST,
    )
    flt = PanelFilter(search, tuple(drugs), tuple(types), int(min_grade or 0), overdue_only, attention_only, hide_ack)
    return table, flt


def counts(table: pd.DataFrame) -> None:
    c = panel_counts(table)
    c1, c2, c3, c4, c5 = st.columns(5)
    c1.metric("Patients", c.patients)
    c2.metric("CTCAE grade ≥ 3 now", c.grade3_or_more)
    c3.metric("Action needed", c.action, help="Open items of severity 'action' or 'urgent'")
    c4.metric("Overdue for bloods", c.overdue)
    c5.metric("Not reviewed", int((table["Unreviewed flags"] > 0).sum()) if "Unreviewed flags" in table else 0)


def reviewed_after_as_of_words(table: pd.DataFrame, as_of: dt.date) -> str:
    """What the panel counts as reviewed that was reviewed after the as-of date, in words
    ("" when nothing): those reviews count as done (To review, Unreviewed first, Hide
    acknowledged), so an audit of a past date says so (H478)."""
    if "_reviewed_after_as_of" not in table or not len(table):
        return ""
    late = table["_reviewed_after_as_of"].astype(int)
    flags, patients = int(late.sum()), int((late > 0).sum())
    if not flags:
        return ""
    return (
        f"{flags} open flag{'s' if flags != 1 else ''} of {patients} patient{'s' if patients != 1 else ''} "
        f"{'were' if flags != 1 else 'was'} reviewed after the as-of date ({as_of:%d %b %Y}): counted as reviewed "
        "here (To review, Unreviewed first, Hide acknowledged); each review's date is on the Patient page and in "
        "the exports."
    )


def units_line(system: str) -> str:
    """The unit of every count column, in words on the page (not only in a header's tooltip):
    a bare 132 could be g/L or g/dL."""
    groups: dict[str, list[str]] = {}
    for a in PANEL_ANALYTES:
        groups.setdefault(display_unit(a, system), []).append(now_column(a))
    return "Units: " + "; ".join(f"{', '.join(cols)} in {unit}" for unit, cols in groups.items()) + "."


def more_picker(system: str) -> list[str]:
    chosen = st.pills(
        "More columns",
        list(more_columns(system)),
        selection_mode="multi",
        key="panel_more",
        help="The columns that decide who to see are always shown; add others here (the table then scrolls sideways).",
        **_PERSIST,
    )
    return list(chosen or [])


def column_order(more: list[str], system: str, other_ids: bool = False) -> list[str]:
    """The columns shown: what decides who to see, then the groups chosen; "Another id"
    after "Why" whenever a patient shown may be one person with another id (H150)."""
    groups = more_columns(system)
    order = ["Rank"] if "Rank" in more else []
    deciding = [*DECIDING]
    if other_ids:
        deciding.insert(deciding.index("Why") + 1, "Another id")
    order += deciding[:1] + [c for c in ("Born",) if "Born" in more] + deciding[1:]
    for group in more:
        if group not in ("Rank", "Born"):
            order += [c for c in groups[group] if c not in order]
    return order


def column_config(system: str, data: pd.DataFrame | None = None) -> dict[str, Any]:
    """The Panel table's columns; with ``data`` (the rows shown), a count column holding a
    value written with its own unit ("5.2 mmol/L G2", an Hb reported in mmol/L, H486) is
    widened so that its grade is never cut off."""
    config: dict[str, Any] = {
        "Rank": st.column_config.NumberColumn("#", width=40),
        "Name · MRN": st.column_config.TextColumn("Patient", width=178, help="Name · MRN"),
        "Born": st.column_config.TextColumn("Born", width=95),
        "Urgency": st.column_config.TextColumn("Urgency", width=60),
        "Why": st.column_config.TextColumn(
            "Why", width=262, help="The open items in a few words, most severe first; in full on the Patient page."
        ),
        "Another id": st.column_config.TextColumn(
            "Another id",
            width="medium",
            help="Another patient id of the panel that may be the same person: kept apart, never merged",
        ),
        "Needs attention": st.column_config.TextColumn(width="large"),
        "Doses now": st.column_config.TextColumn(width="large"),
        "CTCAE now": st.column_config.TextColumn(
            help='Highest CTCAE v5.0 grade among the latest results; "2 or worse" when a result '
            'written as a bound ("<=50") may lie beyond it'
        ),
        "Overdue (days)": st.column_config.NumberColumn(
            "Overdue", width=60, help="Days past the due date of the next blood test"
        ),
        "Unreviewed flags": st.column_config.NumberColumn(
            "To review", width=72, help="Open flags nobody has reviewed yet (reviews: Patient page)"
        ),
        "Next test due": st.column_config.TextColumn(width="small"),
        "Last bloods": st.column_config.TextColumn(width="small"),
    }
    for a in PANEL_ANALYTES:
        col = now_column(a)
        widest = int(data[col].astype(str).str.len().max()) if data is not None and col in data and len(data) else 0
        config[col] = st.column_config.TextColumn(
            col,
            width=max(58 if a in ("neutrophils", "lymphocytes") else 48, 8 * widest if widest > 8 else 0),
            help=f"{model.analyte_label(a)} ({display_unit(a, system)}): latest result, CTCAE grade (G1-G4)",
        )
        config[trend_column(a)] = st.column_config.ImageColumn(
            f"{now_column(a)} trend",
            width="small",
            help=f"Last 12 results on the clinical scale of {model.analyte_label(a)}; band: reference range; "
            "dashed: guideline limit",
        )
        config[value_column(a, system)] = st.column_config.TextColumn(help="Latest result · date")
    return config
