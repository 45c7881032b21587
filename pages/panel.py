"""Panel: every patient, the ones who need attention first; a click opens the timeline."""

import streamlit as st

from dashboard import ui
from dashboard.markup import md_escape
from dashboard.panel import KEY_ANALYTES, filter_panel, trend_column, trend_images
from dashboard.ui import panel_view
from dashboard.views import after_as_of_summary, after_as_of_table, unlisted_patients_sentence

ui.page_guard()

st.title("Panel")
ui.disclaimer()
ds = ui.require_dataset("the panel")
review = ui.current_review()
if review is None:
    st.stop()
st.caption(
    f"Most urgent first, judged on the as-of date (sidebar) with the **{md_escape(review.profile.name)}** rules."
    + (f" {md_escape(review.as_of_note)}" if review.as_of_note else "")
    + ("" if ui.in_workspace() else " Reviews are recorded on the Patient page and kept in the workspace.")
)

table, flt = panel_view.filters()
system = ui.unit_system()
later = review.after_as_of_df()
if len(later):  # results the review does not judge are never out of sight
    st.warning(
        md_escape(after_as_of_summary(later, ui.as_of(), system)) + " They are listed below the panel.",
        icon=":material/event_upcoming:",
    )
panel_view.counts(table)
shown = filter_panel(table, flt)

more = panel_view.more_picker(system)
st.caption(
    f"{len(shown)} of {len(table)} patients shown. Select a row to open the patient's timeline. "
    "Counts: the latest result, rounded as the lab reports it, with its CTCAE grade (G1-G4). "
    + panel_view.units_line(system)
)
unlisted = unlisted_patients_sentence(ds.unlisted_patients())
if unlisted:  # a patient whose every row was rejected is on no table: said, never gone (probe47 F8)
    st.warning(md_escape(unlisted), icon=":material/person_off:")
late = panel_view.reviewed_after_as_of_words(table, ui.as_of())
if late:  # an audit at a past date never passes a later review off as made then (H478)
    st.info(late, icon=":material/history:")
data = shown[[c for c in shown.columns if not c.startswith("_")]].copy()
if "Trends" in more:
    for a in KEY_ANALYTES:
        data[trend_column(a)] = trend_images(ds, review, shown, a, system)

event = st.dataframe(
    data,
    hide_index=True,
    width="stretch",
    height=min(35 * (len(data) + 1) + 4, 720),
    column_order=panel_view.column_order(
        more, system, other_ids="Another id" in data and bool((data["Another id"] != "").any())
    ),
    column_config=panel_view.column_config(system, data),
    on_select="rerun",
    selection_mode="single-row",
    key="panel_table",
)
if len(later):
    with st.expander(f"Results after the as-of date ({len(later):,}, not reviewed)", expanded=True):
        ui.show_table(after_as_of_table(later, system))
if event and event.selection.rows:
    st.session_state[ui.PATIENT] = shown.iloc[event.selection.rows[0]]["Patient"]
    st.switch_page("pages/patient.py")
