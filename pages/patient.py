"""Patient: who, the timeline of blood results against doses, the flags to review and what is due."""

import datetime as dt

import streamlit as st

from dashboard import dosing, model, ui
from dashboard.figures.timeline import DEFAULT_ANALYTES, WINDOWS, TimelineOptions, analytes_present, timeline_figure
from dashboard.markup import md_escape
from dashboard.views import (
    after_as_of_summary,
    after_as_of_table,
    current_doses_table,
    dose_checks_table,
    flags_table,
    identity_line,
    patient_facts,
    schedule_table,
)

ui.page_guard()

st.title("Patient")
ui.disclaimer()
ui.show_notice()
ds = ui.require_dataset("the patient timeline")
review = ui.current_review()
summary = review.summary_df()
most_urgent = summary["patient_id"].iloc[0] if len(summary) else None
pid = ui.patient_picker(ds, default=most_urgent, key="patient_picker", ranked=summary["patient_id"].tolist())
one, rv = ds.for_patient(pid), review.for_patient(pid)
patient = one.patients.iloc[0] if len(one.patients) else None

# two identifiers on every patient view: the name and the date of birth beside the MRN
st.markdown(f":material/badge: **{md_escape(identity_line(pid, patient, ui.as_of()))}**")  # data: as text
for conflict in ui.identity_conflicts(pid):
    st.error(f"**Identity conflict**: {md_escape(conflict)}", icon=":material/badge:")

row = summary[summary["patient_id"] == pid]
if len(row) and row.iloc[0]["headline"]:
    level = row.iloc[0]["urgency"]
    show = st.error if level in ("urgent", "action") else st.warning if level == "caution" else st.info
    show(f"**{level.capitalize()}**: {md_escape(row.iloc[0]['headline'])}", icon=":material/priority_high:")
later = rv.after_as_of_df()
if len(later):  # results dated after the as-of date: listed, not reviewed
    st.warning(md_escape(after_as_of_summary(later, ui.as_of())), icon=":material/event_upcoming:")
    with st.expander(f"Results after the as-of date ({len(later):,}, not reviewed)"):
        ui.show_table(after_as_of_table(later, ui.unit_system(), with_patient=False))
facts = patient_facts(patient, ui.as_of())
st.markdown("  ·  ".join(f"**{k}:** {md_escape(v)}" for k, v in facts))

present = analytes_present(one.labs, model.ANALYTES)
analytes = st.multiselect(
    "Results shown",
    present,
    default=[a for a in present if a in DEFAULT_ANALYTES],
    format_func=model.analyte_label,
    key="patient_analytes",
    wrap=True,  # every chip readable at 1400 px
)
# the one period selector (the chart has no range buttons of its own)
window = st.segmented_control("Period", list(WINDOWS), default="All", key="patient_window") or "All"
options = TimelineOptions(analytes=tuple(analytes), system=ui.unit_system(), window=window, as_of=ui.as_of())
fig = timeline_figure(one.labs, one.doses, rv.flags_df(), rv.intervals_df(), review.profile, patient, options)
st.plotly_chart(fig, width="stretch", theme=None, key="patient_timeline", config={"displaylogo": False})
st.caption(
    'Points are coloured and shaped by CTCAE v5.0 grade; open markers are censored results ("<0.1") drawn at '
    "their bound. Green band: reference range (the lab's own, else a default). Dashed line: the guideline limit "
    "of the active profile. Dotted lines: dose starts, changes and stops. A thin bar under a panel: while a flag "
    "was open. Doses: daily drugs in mg/day, weekly drugs in mg/week; pulses as triangles (dose on hover)."
)

weight = float(patient["weight_kg"]) if patient is not None else float("nan")
to_review = ui.open_flags_reviewed(pid)
waiting = int((~to_review["reviewed"]).sum()) if len(to_review) else 0
tab_review, tab_flags, tab_doses, tab_due, tab_checks, tab_base = st.tabs(
    [
        f"Review ({waiting} not reviewed)" if waiting else "Review",
        "Flags",
        "Doses now",
        "Blood tests due",
        "Dose checks",
        "Baseline",
    ]
)
with tab_review:
    ui.review_form(pid, to_review)
with tab_flags:
    open_only = st.toggle("Open flags only", key="patient_open_only")
    ui.flags_with_detail(flags_table(rv.flags_df(), ui.unit_system(), open_only), key="patient_flags")
with tab_doses:
    ui.show_table(current_doses_table(one.doses, weight, ui.as_of()))
with tab_due:
    ui.show_table(schedule_table(rv.schedule_df()))
    # BSR 2025: the clinician sets the maintenance interval from the patient's risk (issue 17)
    current = ds.interval_of(pid)
    if current is not None and int(current["interval_days"]) > 0:
        st.caption(
            f"Risk-adapted interval: every {int(current['interval_days'])} days, set by {md_escape(current['set_by'])} "
            f"on {current['set_at']:%d %b %Y} ({md_escape(current['reason'])}). Used by the BSR 2025 profile once the "
            "initial phases are over; review the risk factors at least yearly."
        )
    else:
        st.caption("No risk-adapted interval set: the schedule's own interval applies.")
    with st.form("interval_form"):
        i1, i2 = st.columns([1, 3])
        days = i1.number_input("Interval (days, 0 = schedule's)", 0, 182, 0, 7, key="interval_days")
        reason = i2.text_input("Risk factors reviewed (why)", key="interval_reason")
        if st.form_submit_button("Save interval"):
            who = ui.reviewer() or "unknown"
            if ui.in_workspace():
                ui._then_refresh(
                    lambda: ui.workspace().set_interval(pid, int(days), reason, by=who) or True, "Interval saved."
                )
            else:
                ui.replace_dataset(ds.with_interval(pid, int(days), reason, who, dt.datetime.now()))
            st.rerun()
with tab_checks:
    ui.show_table(dose_checks_table(rv.dose_checks_df()))
    cyc = dosing.cumulative_cyclophosphamide(one.doses, one.patients, pid, ui.as_of())
    if cyc is not None:  # issue 17: cumulative dose against the cited thresholds
        st.subheader("Cyclophosphamide: cumulative dose")
        ui.show_cumulative_dose(cyc, key="patient")
with tab_base:
    st.write(
        "Set the patient's own baseline when their normal sits below the population range (e.g. a "
        "Duffy-null associated neutrophil count). Low counts within it are then shown as information, not action."
    )
    ui.show_table(one.baselines[["analyte", "value", "note", "set_by", "set_at"]])
    with st.form("baseline_form", clear_on_submit=True):
        b1, b2 = st.columns(2)
        analyte = b1.selectbox(
            "Analyte",
            ["neutrophils", "wbc", "lymphocytes", "platelets"],
            index=None,
            placeholder="Choose…",
            format_func=model.analyte_label,
            key="baseline_analyte",
        )
        value = b2.number_input(
            "Baseline (×10⁹/L)", min_value=0.1, max_value=500.0, value=None, step=0.1, key="baseline_value"
        )
        note = st.text_input("Why", placeholder="e.g. Duffy-null associated neutrophil count")
        who = st.text_input("Set by", key="baseline_by", value=ui.reviewer())
        if st.form_submit_button("Save baseline"):
            missing = [w for w, v in (("the analyte", analyte), ("the baseline", value), ("who sets it", who)) if not v]
            if missing:
                st.error("Not saved: enter " + ", ".join(missing) + ".")
            else:
                ui.replace_dataset(ds.with_baseline(pid, analyte, value, note, who, dt.datetime.now()))
                st.rerun()
