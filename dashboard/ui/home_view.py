"""The Home page's parts: one file of the import report, and the data of one patient."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard.dataset import Dataset
from dashboard.export import safe_file_name
from dashboard.ingest.report import FileReport, conversions_frame, mapping_frame, problems_frame, warnings_frame
from dashboard.markup import md_escape
from dashboard.ui.picker import patient_picker
from dashboard.ui.uploads import mapping_form, upload_key
from dashboard.ui.widgets import download_csv, show_table
from dashboard.views import browser_frame, browser_words, patient_doses, patient_results

DELIMITERS = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}


def file_report(f: FileReport, index: int, files: int) -> None:
    """One file of the import report: rows accepted, rejected and duplicate, how it was
    read, its columns (with the mapping to change), conversions, rejected rows, notes."""
    notes = len(f.warnings)
    title = (
        f"{md_escape(f.display_name)}: {f.rows_accepted:,} accepted, {f.rows_rejected:,} rejected, "
        f"{f.duplicates:,} duplicates" + (f" · {notes:,} note{'' if notes == 1 else 's'} to read" if notes else "")
    )
    with st.expander(title, expanded=bool(f.error or f.rows_rejected) and files <= 3):
        if f.error:
            st.error(md_escape(browser_words(f.error)))
        facts = {
            "Format": f.format,
            "Encoding": f.encoding,
            "Delimiter": DELIMITERS.get(f.delimiter, f.delimiter),
            "Decimal separator": f.decimal,
            "Date order": f"{f.date_order} — {f.date_order_reason}" if f.date_order_reason else f.date_order,
        }
        st.markdown("\n".join(f"- **{k}:** {md_escape(v)}" for k, v in facts.items() if v))
        if f.mapping or f.unmapped_columns:
            st.markdown("**Columns**")
            show_table(mapping_frame(f))
            if not f.needs and f.columns_found and f.kind:
                with st.popover("Change how the columns were read", icon=":material/edit:"):
                    mapping_form(f, index, needed=False)
        if f.conversions:
            st.markdown("**Unit conversions**")
            show_table(conversions_frame(f))
        if f.problems:
            st.markdown(f"**{rejected_heading(f)}**")
            problems = browser_frame(problems_frame(f), ["Reason"])
            show_table(
                problems_shown(problems.head(500)),
                column_config={
                    "Row": st.column_config.TextColumn(width="small"),
                    "Reason": st.column_config.TextColumn(width="large"),
                },
            )
            download_csv(
                "Download rejected rows",
                problems,
                f"rejected_{safe_file_name(f.path)}.csv",
                key=upload_key("rejected", index),
            )
        if f.warnings:
            st.markdown("**Notes**")
            notes = browser_frame(warnings_frame(f), ["Note"])
            show_table(problems_shown(notes), column_config={"Row": st.column_config.TextColumn(width="small")})


def rejected_heading(f: FileReport) -> str:
    """The rows rejected, as the summary counts them: a reason that rejects the whole file
    is one entry for every row of it, so the entries are counted apart when they differ."""
    rows = f"Rejected: {f.rows_rejected:,} row{'' if f.rows_rejected == 1 else 's'}"
    entries = len(f.problems)
    return rows if entries == f.rows_rejected else f"{rows} ({entries:,} reason{'' if entries == 1 else 's'} below)"


def problems_shown(problems: pd.DataFrame) -> pd.DataFrame:
    """The rejected rows (or notes) as shown: a reason about the whole file has no row
    number, and says so ("whole file") rather than showing an empty "None"."""
    if "Row" not in problems or not problems["Row"].isna().any():
        return problems
    shown = problems.copy()
    shown["Row"] = [("whole file" if pd.isna(r) else str(int(r))) for r in problems["Row"]]
    return shown


@st.fragment
def patient_data(ds: Dataset, system: str) -> None:
    """One patient's results and doses as the dashboard holds them (choosing another
    patient reruns this section only)."""
    pid = patient_picker(ds, key="home_patient", bind=False)
    if pid:
        tab_labs, tab_doses = st.tabs(["Results", "Doses"])
        with tab_labs:
            show_table(patient_results(ds.labs, pid, system))
        with tab_doses:
            show_table(patient_doses(ds.doses, pid))
