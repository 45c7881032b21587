"""Panel: every patient, the ones who need attention first; a click opens the timeline."""

import streamlit as st

from dashboard import model, ui
from dashboard.markup import md_escape
from dashboard.panel import PANEL_ANALYTES, PanelFilter, filter_panel, panel_counts, trend_column, value_column
from dashboard.views import after_as_of_summary, after_as_of_table

ui.page_guard()

st.title("Panel")
ui.disclaimer()
ds = ui.require_dataset("the panel")
review = ui.current_review()
table = ui.current_panel_with_reviews()
st.caption(
    f"Reviewed as of **{ui.as_of():%d %b %Y}** with the **{md_escape(review.profile.name)}** rules. Most urgent first."
    + (f" {md_escape(review.as_of_note)}" if review.as_of_note else "")
)
later = review.after_as_of_df()
if len(later):  # results the review does not judge are never out of sight
    st.warning(
        md_escape(after_as_of_summary(later, ui.as_of())) + " They are listed below the panel.",
        icon=":material/event_upcoming:",
    )

counts = panel_counts(table)
c1, c2, c3, c4 = st.columns(4)
c1.metric("Patients", counts.patients)
c2.metric("CTCAE grade ≥ 3 now", counts.grade3_or_more)
c3.metric("Action needed", counts.action, help="Open items of severity 'action' or 'urgent'")
c4.metric("Overdue for bloods", counts.overdue)

with st.container(border=True):
    f1, f2, f3, f4 = st.columns([2, 3, 3, 2])
    search = f1.text_input("Search patient id", key="panel_search", placeholder="e.g. SLE-0")
    drugs_present = sorted({d for ds_ in table["_drugs"] for d in ds_}) if len(table) else []
    drugs = f2.multiselect(
        "On drug", drugs_present, key="panel_drugs", format_func=lambda d: model.drug_info()[d].label
    )
    types = f3.multiselect(
        "Open flag type", ["CTCAE", "Guideline", "Trend", "Dose check", "Overdue"], key="panel_types"
    )
    min_grade = f4.selectbox(
        "CTCAE grade ≥", [0, 1, 2, 3, 4], key="panel_grade", format_func=lambda g: "any" if g == 0 else str(g)
    )
    g1, g2, g3 = st.columns(3)
    overdue_only = g1.toggle("Overdue only", key="panel_overdue")
    attention_only = g2.toggle("Needs attention only (caution and above)", key="panel_attention")
    hide_ack = g3.toggle(
        "Hide acknowledged",
        key="panel_hide_ack",
        help="Hide patients whose open flags have all been reviewed (workspace review log) and who are not overdue.",
    )

flt = PanelFilter(search, tuple(drugs), tuple(types), min_grade, overdue_only, attention_only, hide_ack)
shown = filter_panel(table, flt)
st.caption(f"{len(shown)} of {len(table)} patients shown. Select a row to open the patient's timeline.")

system = ui.unit_system()
config = {
    "Rank": st.column_config.NumberColumn("#", width="small"),
    "Needs attention": st.column_config.TextColumn(width="large"),
    "Doses now": st.column_config.TextColumn(width="large"),
    "CTCAE now": st.column_config.NumberColumn(help="Highest CTCAE v5.0 grade among the latest results"),
    "Overdue (days)": st.column_config.NumberColumn(help="Days past the due date of the next blood test"),
    "Next test due": st.column_config.DateColumn(format="YYYY-MM-DD"),
}
for a in PANEL_ANALYTES:
    config[trend_column(a)] = st.column_config.LineChartColumn(f"{model.analyte_label(a)} trend", width="small")
    config[value_column(a, system)] = st.column_config.TextColumn(help="Latest result · date")
visible = [c for c in shown.columns if not c.startswith("_")]
event = st.dataframe(
    shown[visible],
    hide_index=True,
    width="stretch",
    height=min(38 * (len(shown) + 1) + 4, 720),
    column_config=config,
    on_select="rerun",
    selection_mode="single-row",
    key="panel_table",
)
if len(later):
    with st.expander(f"Results after the as-of date ({len(later):,}, not reviewed)", expanded=True):
        ui.show_table(after_as_of_table(later, ui.unit_system()))
if event and event.selection.rows:
    st.session_state[ui.PATIENT] = shown.iloc[event.selection.rows[0]]["Patient"]
    st.switch_page("pages/patient.py")
