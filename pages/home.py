"""Home: load the sample panel or upload exports, read the import report, check the data."""

import streamlit as st

from dashboard import ui
from dashboard.figures.coverage import results_per_month
from dashboard.ingest.report import summary_frame
from dashboard.markup import md_escape
from dashboard.ui import home_view
from dashboard.views import browser_words

ui.page_guard()

st.title("Immunosuppressant lab monitor")
st.markdown(
    "Blood counts and liver and kidney tests of patients on azathioprine, mycophenolate, methotrexate, "
    "cyclophosphamide, tacrolimus and related drugs, set against their doses, with possible cytopenia "
    "highlighted and the rule that fired."
)
ui.disclaimer()

left, right = st.columns([1, 2], gap="large")
with left:
    st.subheader("Try it")
    st.button(
        "Load sample panel",
        type="primary",
        icon=":material/science:",
        key="load_sample",
        on_click=ui.load_sample_into_session,
    )
    st.caption("A synthetic clinic of patients with lupus and rheumatoid arthritis. No real patient data.")
with right:
    st.subheader("Your exports")
    st.file_uploader(
        "Lab results, doses and patient details: CSV, TSV, Excel (.xlsx), FHIR JSON, Synthea or MIMIC files",
        accept_multiple_files=True,
        key=ui.UPLOADER,
        help="Files stay in this browser session on this machine unless you save them to the workspace.",
        on_change=ui.on_upload,
    )
    st.caption(ui.upload_limits() + " Files stay in this session unless you save them to the workspace.")

ds = ui.get_dataset()
if ds is None:
    st.info("Load the sample panel or upload files to begin.", icon=":material/upload_file:")
    st.page_link("pages/workspace.py", label="Or open the panel saved in your workspace", icon=":material/database:")
    st.stop()

report = ds.report
if report is not None:
    st.header("Import report")
    st.caption("Every row of every file is accounted for: read = accepted + rejected + duplicates.")
# one MRN, two names, dates of birth or sexes: never picked silently (a workspace's panel,
# which has no import report, shows those it keeps from earlier imports)
for conflict in ds.identity_conflicts:
    ui.show_identity_conflict(conflict)
if report is not None:
    ui.show_table(summary_frame(report))

    needs_order = [f for f in report.files if f.needs == "date_order"]
    if needs_order:
        f = needs_order[0]
        st.warning(f"**{md_escape(f.display_name)}**: {md_escape(browser_words(f.error))}", icon=":material/event:")
        choice = st.radio(
            "Date order for the files that need it",
            ["dayfirst", "monthfirst"],
            format_func=lambda o: "Day first (31/12/2024)" if o == "dayfirst" else "Month first (12/31/2024)",
            index=None,
            horizontal=True,
            key="date_order_choice",
        )
        st.button(
            "Import with this date order",
            key="apply_date_order",
            disabled=choice is None,
            on_click=ui.reimport_with_choices,
            kwargs={"date_order": choice},
        )

    for i, f in enumerate(report.files):
        if f.needs == "mapping":
            ui.mapping_form(f, i)
    for i, f in enumerate(report.files):
        home_view.file_report(f, i, len(report.files))

if not ds.is_empty:
    st.header("Check the data")
    st.caption("The results as the dashboard now holds them, in canonical units. Raw values are kept in the import.")
    st.plotly_chart(
        results_per_month(ds.labs), width="stretch", theme=None, key="home_coverage", config={"displaylogo": False}
    )
    home_view.patient_data(ds, ui.unit_system())
    # the review the Panel and Patient pages open with, computed while the report is read
    ui.current_review()
