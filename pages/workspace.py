"""Workspace: where the panel is kept, doses entered in the app, the review log, exports."""

import streamlit as st

from dashboard import reviews, ui, views
from dashboard import summary_export as sx
from dashboard.ingest.report import summary_frame
from dashboard.markup import md_escape
from dashboard.store import WorkspaceBusy, WorkspaceError, resolve
from dashboard.store.panel import report_from_dict
from dashboard.ui import workspace_forms

ui.page_guard()
st.title("Workspace")
ui.disclaimer()
ui.show_notice()

location = resolve()
st.radio(
    "Where this session's panel lives",
    [ui.SESSION_ONLY, ui.WORKSPACE],
    key=ui.MODE,
    persist_state=ui.PERSIST,
    horizontal=True,
    on_change=ui.on_mode_change,
    format_func=lambda m: "This session only (nothing is saved)" if m == ui.SESSION_ONLY else "Workspace (saved)",
)
try:
    info, log = ui.workspace().info(), ui.workspace().imports()
except (WorkspaceBusy, WorkspaceError) as exc:
    st.error(md_escape(exc))
    st.stop()
ds = ui.get_dataset()
session_patients = None if ds is None or ds.is_empty else len(ds.patient_ids)
st.markdown(f"**{views.workspace_counts_heading(info['exists'], ui.in_workspace(), session_patients)}**")
cols = st.columns(5)
for col, (label, key) in zip(
    cols,
    [("Patients", "patients"), ("Results", "labs"), ("Doses", "doses"), ("Imports", "imports"), ("Reviews", "reviews")],
    strict=True,
):
    col.metric(label, f"{info[key]:,}")
st.caption(
    f"Folder: {md_escape(location.path)} (from the {location.source}){'' if info['exists'] else ' · not created yet'}"
)

panel = ui.workspace_panel()
if panel is not None and info["data_version"] != panel.data_version:
    st.info("The workspace has changed since this panel was opened (another session or an import).")
    st.button("Reload the workspace panel", icon=":material/refresh:", on_click=ui.open_workspace_panel)
if not ui.in_workspace():
    left, right = st.columns(2)
    left.button(
        "Save this panel to the workspace",
        icon=":material/save:",
        type="primary",
        disabled=ds is None or ds.is_empty,
        on_click=ui.save_session_to_workspace,
        help="Writes the panel loaded in this session (uploads or the sample) to the workspace on this machine.",
    )
    right.button(
        "Open workspace panel",
        icon=":material/folder_open:",
        disabled=not info["exists"],
        on_click=ui.open_workspace_panel,
    )
else:
    st.caption("Reviews are recorded on the Patient page, and kept here with the panel.")

pid = ui.patient_picker(ds, key="ws_patient") if ds is not None and not ds.is_empty else None
tab_patient, tab_flags, tab_log, tab_export = st.tabs(
    ["Doses and reviews", "Flags to review", "Import log", "Export"], key="ws_tab", on_change="rerun"
)
with tab_flags:  # the rules over the whole panel run only while this tab is shown
    if tab_flags.open and ds is not None and not ds.is_empty:
        st.caption("Open flags of the panel on the as-of date, not reviewed first.")
        flags = ui.panel_flags(ds, panel.reviews if panel is not None else reviews.empty_log())
        ui.flags_table(flags, "hide_acknowledged_panel")
with tab_log:
    if not log:
        st.info("Nothing imported yet.")
    for entry in log:
        with st.expander(views.import_log_title(entry)):
            ui.show_table(summary_frame(report_from_dict(entry["report"])))
            for f in entry["files"]:
                st.caption(views.import_file_line(f))
            if entry.get("read_earlier"):  # read by an earlier reader version (H625, H644)
                workspace_forms.reread_form(entry)
    if info.get("labs_withdrawn"):
        st.subheader("Results withdrawn by the lab")
        st.caption(
            "Results kept from an earlier import that a later export marks entered in error (or cancelled, "
            "deleted): taken out of the panel and no longer graded, listed here so that none goes out of sight."
        )
        ui.show_table(views.withdrawn_frame(ui.workspace().withdrawn_results()))

with tab_patient:
    if panel is None or ds is None:
        st.info("Save this panel to the workspace or open the workspace panel to enter doses and record reviews.")
    else:
        st.text_input(
            "Your name (recorded with what you enter)",
            key=ui.REVIEWER,
            persist_state=ui.PERSIST,
            disabled=bool(ui.login_name()),
        )
        st.caption("Asked once per session: the Patient page's review uses it too (your login's when you log in).")
        doses = panel.doses[panel.doses["patient_id"] == pid]
        st.subheader("Doses")
        st.caption("Imported and entered doses together; the source says which.")
        ui.show_table(sx.doses_frame(doses))
        workspace_forms.dose_forms(doses, pid or "")

        st.subheader("Open flags and the review log")
        flags = ui.patient_flags(ds, panel.reviews, pid or "")
        flags = ui.flags_table(flags, "hide_acknowledged", with_patient=False)
        workspace_forms.review_add_form(flags, pid or "")
        st.caption("Append-only: a correction is a new entry.")
        ui.show_table(reviews.history_frame(panel.reviews[panel.reviews["patient_id"] == pid]))

with tab_export:
    if tab_export.open and ds is not None and not ds.is_empty:
        ui.export_buttons(ds, panel)
