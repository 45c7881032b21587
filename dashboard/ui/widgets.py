"""Small pieces several pages draw: the disclaimer, tables shown as text, the sidebar,
the flag tables, the notice of the last action, the cumulative dose."""

from __future__ import annotations

from typing import Any

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from dashboard import reviews
from dashboard import summary_export as sx
from dashboard.dataset import Dataset
from dashboard.dosing import CumulativeDose
from dashboard.export import to_csv_bytes
from dashboard.markup import md_escape
from dashboard.ui.auth import DISCLAIMER, logged_in, login_configured
from dashboard.ui.state import (
    AS_OF_HELP,
    AS_OF_INPUT,
    SI,
    UNITS,
    US,
    as_of,
    as_of_changed,
    get_dataset,
    take_notice,
)
from dashboard.views import loaded_line


def disclaimer() -> None:
    st.caption(":material/info: " + DISCLAIMER)


def require_dataset(what: str = "this page") -> Dataset:
    """The loaded dataset, or an empty state pointing to the upload page (stops the run)."""
    ds = get_dataset()
    if ds is None or ds.is_empty:
        st.info(
            f"No panel loaded yet. Load a file or the sample panel on the Home page to use {what}.",
            icon=":material/upload_file:",
        )
        st.page_link("pages/home.py", label="Go to Home", icon=":material/home:")
        st.stop()
    return ds


def show_table(df: pd.DataFrame, **kwargs: Any) -> Any:
    """A dataframe shown as text (never HTML), without the index."""
    return st.dataframe(df, hide_index=True, width="stretch", **kwargs)


class _SpecFigure(go.Figure):
    """A figure already in plotly's dict form.  ``st.plotly_chart`` serialises
    ``fig.to_dict()``: here that is the dict itself, where a figure built from it would
    copy every trace in, validate it, and deep-copy it all back out again."""

    def __init__(self, spec: dict[str, Any]) -> None:
        super().__init__()
        self._spec = spec

    def to_dict(self) -> dict[str, Any]:
        return self._spec


def show_plotly_spec(spec: dict[str, Any], **kwargs: Any) -> Any:
    """``st.plotly_chart`` of a figure in plotly's dict form (e.g. ``timeline_spec``: the
    same dict its ``timeline_figure`` gives from ``to_dict()``), drawn without rebuilding
    the figure object."""
    return st.plotly_chart(_SpecFigure(spec), **kwargs)


def download_csv(label: str, df: pd.DataFrame, file_name: str, key: str | None = None) -> None:
    st.download_button(
        label, to_csv_bytes(df), file_name=file_name, mime="text/csv", key=key, icon=":material/download:"
    )


def show_notice() -> None:
    """The outcome of the last workspace action (as text, never HTML), shown once."""
    level, text = take_notice()
    if level:
        getattr(st, level)("  \n".join(md_escape(line) for line in text.split("\n")))


def sidebar_controls() -> None:
    """As-of date and unit system, shown on every page (and who is logged in)."""
    with st.sidebar:
        if login_configured() and logged_in():
            who = st.user.get("email") or st.user.get("name") or "logged in"
            st.caption(f"Logged in as {md_escape(who)}")
            st.button("Log out", key="logout", icon=":material/logout:", on_click=st.logout)
        ds = get_dataset()
        if ds is not None and not ds.is_empty:
            st.caption(loaded_line(md_escape(ds.label), len(ds.patient_ids), len(ds.labs)))
        # the one as-of date of the app: the widget always shows AS_OF (which every page,
        # review and export reads); a change of the widget writes AS_OF in its callback
        st.session_state[AS_OF_INPUT] = as_of()
        st.date_input("As of", key=AS_OF_INPUT, on_change=as_of_changed, help=AS_OF_HELP)
        st.radio(
            "Units",
            [SI, US],
            key=UNITS,
            horizontal=True,
            format_func=lambda s: "SI (g/L, ×10⁹/L)" if s == SI else "US (g/dL, K/µL)",
        )


# --------------------------------------------------------------------------- flags

#: The flag table of the Patient page: what fits at 1400 px; the rest of each flag in
#: full below it (select a row).
FLAG_COLUMNS_SHOWN = ["Date", "Analyte", "Value", "As reported", "CTCAE", "Severity", "Finding", "Status"]


def flags_with_detail(table: pd.DataFrame, key: str) -> None:
    """The flags (one line each) and, below, the selected flag in full, wrapped: finding,
    rule and source, the doses then and the days since the last dose change."""
    event = show_table(
        table,
        column_order=FLAG_COLUMNS_SHOWN,
        column_config={
            "Date": st.column_config.TextColumn(width=116),
            "Analyte": st.column_config.TextColumn(width=90),
            "Value": st.column_config.TextColumn(width=92),
            "As reported": st.column_config.TextColumn(width=92),
            "CTCAE": st.column_config.TextColumn(width=74, help='"2 or worse": a result written as a bound ("<=50")'),
            "Severity": st.column_config.TextColumn(width=66),
            "Finding": st.column_config.TextColumn(width=296, help="In full below: select a row"),
            "Status": st.column_config.TextColumn(width=58),
        },
        on_select="rerun",
        selection_mode="single-row",
        key=key,
    )
    if table.empty:
        return
    rows = event.selection.rows if event is not None else []
    r = table.iloc[rows[0] if rows else 0]
    with st.container(border=True):
        st.caption("Selected flag in full (select a row above)" if not rows else "Selected flag in full")
        days = r["Days since dose change"]
        st.markdown(
            f"**{md_escape(r['Date'])} · {md_escape(r['Analyte'])} {md_escape(r['Value'])}** "
            f"(as reported: {md_escape(r['As reported'])}) · {md_escape(r['Severity'])} · {md_escape(r['Status'])}  \n"
            f"{md_escape(r['Finding'])}  \n"
            f"**Rule:** {md_escape(r['Rule'])} · **Source:** {md_escape(r['Source'])}  \n"
            f"**Doses then:** {md_escape(r['Doses then'] or 'none recorded')}"
            + (f" · {int(days)} days since the last dose change" if pd.notna(days) else "")
        )


def hidden_flags_words(total: int, shown: int) -> str:
    """What "Hide acknowledged flags" leaves out, in words, as the Panel's "N of M patients
    shown" says it (H479): "2 reviewed flags hidden: 1 of 3 open flags shown"."""
    hidden = total - shown
    return (
        f"{hidden} reviewed flag{'s' if hidden != 1 else ''} hidden: {shown} of {total} open "
        f"flag{'s' if total != 1 else ''} shown."
    )


def flags_table(flags: pd.DataFrame, key: str, with_patient: bool = True) -> pd.DataFrame:
    """Open flags, not reviewed first, with a switch hiding the acknowledged ones."""
    if st.toggle("Hide acknowledged flags", key=key):
        total = len(flags)
        flags = reviews.unacknowledged(flags)
        st.caption(hidden_flags_words(total, len(flags)))  # never hidden unsaid (H479)
    # "Review state" says who, when and why open again (H476): the action and reviewer are in it
    dropped = ["Flag key", "Review action", "Reviewed by"] + ([] if with_patient else ["Patient"])
    shown = sx.flags_frame(flags).drop(columns=dropped)
    show_table(shown)
    return flags


# --------------------------------------------------------------------------- cumulative dose (issue 17)


def show_cumulative_dose(cd: CumulativeDose, key: str) -> None:
    """A patient's cumulative cyclophosphamide against the cited thresholds; the Patient
    and Dosing pages share it."""
    total = f"{cd.total_g:.3g} g" if cd.complete else f"at least {cd.total_g:.3g} g"
    st.metric("Cumulative cyclophosphamide to the review date", total)
    st.caption(
        f"From the dose history: {cd.pulses} pulse(s) (administered mg) and {cd.oral_days} day(s) of oral "
        f"dosing (mg/day x days). {cd.context}." + ("" if cd.complete else f" Not counted: {md_escape(cd.uncounted)}.")
    )
    above = cd.thresholds[(cd.thresholds["Above since"] != "") & (cd.thresholds["Applies"] == "yes")]
    for _, row in above.iterrows():
        st.warning(
            f"Above {row['Threshold (g)']:g} g since {row['Above since']}: {md_escape(row['What the source found'])} "
            f"{row['Sources']}",
            icon=":material/warning:",
        )
    show_table(cd.thresholds, key=f"{key}_cumulative_thresholds")
