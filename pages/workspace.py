"""Workspace: where the panel is kept, doses entered in the app, the review log, exports."""

import datetime as dt

import streamlit as st

from dashboard import dose_entry, model, reviews, ui, views
from dashboard import summary_export as sx
from dashboard.ingest.report import summary_frame
from dashboard.markup import md_escape
from dashboard.store import WorkspaceBusy, WorkspaceError, resolve
from dashboard.store.panel import report_from_dict

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

ds = ui.get_dataset()
panel = st.session_state.get(ui.WS_PANEL)
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
        add, change = st.columns(2)
        with add.form("dose_add", clear_on_submit=False):
            st.markdown("**Add a dose**")
            st.selectbox(
                "Drug",
                model.drugs(),
                key="dose_drug",
                index=None,
                placeholder="Choose…",
                format_func=model.drug_label,
            )
            st.number_input("Dose", min_value=0.0, step=5.0, key="dose_amount", value=None)
            st.selectbox("Unit", dose_entry.UNITS, key="dose_unit")
            st.selectbox("Frequency", dose_entry.FREQUENCY_CHOICES, key="dose_frequency")
            st.selectbox("Route", model.ROUTES, key="dose_route", format_func=lambda r: r or "(not given)")
            st.date_input("Start", key="dose_start", value=ui.as_of())
            st.date_input("End (leave empty if ongoing)", key="dose_end", value=None)
            st.text_input("Note", key="dose_note")
            st.checkbox("Save despite the warnings shown (I have checked them)", key="dose_confirm")
            st.form_submit_button("Add dose", on_click=ui.add_dose_from_form, type="primary")
        current = model.doses_in_force(doses, dt.date.max - dt.timedelta(days=1))
        with change.form("dose_change"):
            st.markdown("**Change or stop a current dose**")
            options = current["dose_id"].astype(int).tolist()
            text = {int(r["dose_id"]): f"{sx.dose_text(r)} from {r['start']:%Y-%m-%d}" for _, r in current.iterrows()}
            st.selectbox("Dose", options, key="change_dose_id", format_func=lambda i: text.get(i, str(i)))
            st.radio("What", ["change", "stop"], key="change_action", horizontal=True)
            st.date_input("On", key="change_on", value=ui.as_of())
            st.number_input("New dose (for a change)", min_value=0.0, step=5.0, key="change_amount", value=None)
            st.selectbox(
                "New frequency",
                ["", *dose_entry.FREQUENCY_CHOICES],
                key="change_frequency",
                format_func=lambda f: f or "(unchanged)",
            )
            st.text_input("Note", key="change_note")
            st.checkbox("Save despite the warnings shown (I have checked them)", key="change_confirm")
            st.form_submit_button("Save change", on_click=ui.change_dose_from_form, disabled=not options)

        st.subheader("Open flags and the review log")
        flags = ui.patient_flags(ds, panel.reviews, pid)
        flags = ui.flags_table(flags, "hide_acknowledged", with_patient=False)
        about = reviews.flag_choices(flags)
        with st.form("review_add", clear_on_submit=True):
            st.selectbox("About", list(about), key="review_about", format_func=about.get)
            st.selectbox("Action", reviews.ACTIONS, key="review_action", index=None, placeholder="Choose…")
            st.text_area("Note", key="review_note", placeholder="e.g. reviewed — AZA reduced to 100 mg")
            st.form_submit_button("Record review", on_click=ui.add_review_from_form, type="primary")
        st.caption("Append-only: a correction is a new entry.")
        ui.show_table(reviews.history_frame(panel.reviews[panel.reviews["patient_id"] == pid]))

with tab_export:
    if tab_export.open and ds is not None and not ds.is_empty:
        ui.export_buttons(ds, panel)
