"""Panel: every patient, the ones who need attention first; a click opens the timeline."""

import streamlit as st

from dashboard import model, ui
from dashboard.markup import md_escape
from dashboard.panel import (
    KEY_ANALYTES,
    PANEL_ANALYTES,
    PanelFilter,
    filter_panel,
    now_column,
    panel_counts,
    trend_column,
    trend_images,
    value_column,
)
from dashboard.units import display_unit
from dashboard.views import after_as_of_summary, after_as_of_table

ui.page_guard()

st.title("Panel")
ui.disclaimer()
ds = ui.require_dataset("the panel")
review = ui.current_review()
st.caption(
    f"Most urgent first, judged on the as-of date (sidebar) with the **{md_escape(review.profile.name)}** rules."
    + (f" {md_escape(review.as_of_note)}" if review.as_of_note else "")
    + ("" if ui.in_workspace() else " Reviews are recorded on the Patient page and kept in the workspace.")
)

persist = {"persist_state": ui.PERSIST}  # the filters are still set when you come back from a patient
with st.container(border=True):
    f1, f2, f3, f4 = st.columns([2, 3, 3, 2])
    search = f1.text_input("Search patient id or name", key="panel_search", placeholder="e.g. SLE-0 or Doe", **persist)
    g1, g2, g3, g4 = st.columns(4)
    overdue_only = g1.toggle("Overdue only", key="panel_overdue", **persist)
    attention_only = g2.toggle("Needs attention only", key="panel_attention", help="Caution and above.", **persist)
    unreviewed_first = g3.toggle(
        "Unreviewed first",
        value=True,
        key="panel_unreviewed_first",
        help="Patients with flags nobody has reviewed yet (or overdue bloods) before the others, urgency order within.",
        **persist,
    )
    hide_ack = g4.toggle(
        "Hide acknowledged",
        key="panel_hide_ack",
        help="Hide patients whose open flags have all been reviewed and who are not overdue.",
        **persist,
    )
table = ui.current_panel_with_reviews(unreviewed_first=unreviewed_first)
drugs_present = sorted({d for ds_ in table["_drugs"] for d in ds_}) if len(table) else []
drugs = f2.multiselect("On drug", drugs_present, key="panel_drugs", format_func=model.drug_label, **persist)
types = f3.multiselect(
    "Open flag type", ["CTCAE", "Guideline", "Trend", "Dose check", "Overdue"], key="panel_types", **persist
)
min_grade = f4.selectbox(
    "CTCAE grade ≥",
    [0, 1, 2, 3, 4],
    key="panel_grade",
    format_func=lambda g: "any" if g == 0 else str(g),
    **persist,
)
later = review.after_as_of_df()
if len(later):  # results the review does not judge are never out of sight
    st.warning(
        md_escape(after_as_of_summary(later, ui.as_of())) + " They are listed below the panel.",
        icon=":material/event_upcoming:",
    )

counts = panel_counts(table)
c1, c2, c3, c4, c5 = st.columns(5)
c1.metric("Patients", counts.patients)
c2.metric("CTCAE grade ≥ 3 now", counts.grade3_or_more)
c3.metric("Action needed", counts.action, help="Open items of severity 'action' or 'urgent'")
c4.metric("Overdue for bloods", counts.overdue)
c5.metric("Not reviewed", int((table["Unreviewed flags"] > 0).sum()) if "Unreviewed flags" in table else 0)

flt = PanelFilter(search, tuple(drugs), tuple(types), min_grade, overdue_only, attention_only, hide_ack)
shown = filter_panel(table, flt)

system = ui.unit_system()
#: What decides who to see is always shown; the rest is one click away.
DECIDING = [
    "Name · MRN",
    "Urgency",
    "Why",
    *[now_column(a) for a in KEY_ANALYTES],
    "Overdue (days)",
    "Unreviewed flags",
]
MORE = {
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
more = st.pills(
    "More columns",
    list(MORE),
    selection_mode="multi",
    key="panel_more",
    help="The columns that decide who to see are always shown; add others here (the table then scrolls sideways).",
    **persist,
)
st.caption(
    f"{len(shown)} of {len(table)} patients shown. Select a row to open the patient's timeline. "
    "Counts: the latest result, rounded as the lab reports it, with its CTCAE grade (G1-G4)."
)

order = ["Rank"] if "Rank" in (more or []) else []
order += DECIDING[:1] + [c for c in ("Born",) if "Born" in (more or [])] + DECIDING[1:]
for group in more or []:
    if group not in ("Rank", "Born"):
        order += [c for c in MORE[group] if c not in order]

data = shown[[c for c in shown.columns if not c.startswith("_")]].copy()
if "Trends" in (more or []):
    for a in KEY_ANALYTES:
        data[trend_column(a)] = trend_images(ds, review, shown, a, system)

config = {
    "Rank": st.column_config.NumberColumn("#", width=40),
    "Name · MRN": st.column_config.TextColumn("Patient", width=178, help="Name · MRN"),
    "Born": st.column_config.TextColumn("Born", width=95),
    "Urgency": st.column_config.TextColumn("Urgency", width=60),
    "Why": st.column_config.TextColumn(
        "Why", width=262, help="The open items in a few words, most severe first; in full on the Patient page."
    ),
    "Needs attention": st.column_config.TextColumn(width="large"),
    "Doses now": st.column_config.TextColumn(width="large"),
    "CTCAE now": st.column_config.NumberColumn(help="Highest CTCAE v5.0 grade among the latest results"),
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
    config[now_column(a)] = st.column_config.TextColumn(
        now_column(a),
        width=58 if a in ("neutrophils", "lymphocytes") else 48,
        help=f"{model.analyte_label(a)} ({display_unit(a, system)}): latest result, CTCAE grade (G1-G4)",
    )
    config[trend_column(a)] = st.column_config.ImageColumn(
        f"{now_column(a)} trend",
        width="small",
        help=f"Last 12 results on the clinical scale of {model.analyte_label(a)}; band: reference range; "
        "dashed: guideline limit",
    )
    config[value_column(a, system)] = st.column_config.TextColumn(help="Latest result · date")

event = st.dataframe(
    data,
    hide_index=True,
    width="stretch",
    height=min(35 * (len(data) + 1) + 4, 720),
    column_order=order,
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
