"""Patient: who, the timeline of blood results against doses, the flags to review and what is due."""

import streamlit as st

from dashboard import dosing, ui
from dashboard.ui import patient_forms, patient_view
from dashboard.views import current_doses_table, dose_checks_table, pretreatment_baseline_table, schedule_table

ui.page_guard()

st.title("Patient")
ui.disclaimer()
ui.show_notice()
ds = ui.require_dataset("the patient timeline")
review = ui.current_review()
summary = ui.review_summary()
most_urgent = summary["patient_id"].iloc[0] if len(summary) else None
pid = ui.patient_picker(ds, default=most_urgent, key="patient_picker", ranked=summary["patient_id"].tolist())
mine = ui.patient_review(pid) if pid is not None else None  # the review's frames, converted once per patient
if review is None or pid is None or mine is None:
    st.stop()
one = ui.patient_dataset(ds, pid)
patient = one.patients.iloc[0] if len(one.patients) else None
day, system = ui.as_of(), ui.unit_system()

patient_view.header(pid, patient, summary, mine.after_as_of, day, system)
patient_view.decisions_not_in_doses(ui.review_log(), one.doses, pid, day)  # "withhold" with the dose still in force
patient_forms.identity_form(pid)  # a disputed sex: recorded by the clinician who checked it
flags = mine.flags
# the results shown and the period rerun the timeline only (a fragment), never the page
patient_view.timeline(
    pid, one.labs, one.doses, flags, mine.intervals, review.profile, patient, system, day, mine.after_as_of
)

weight = float(patient["weight_kg"]) if patient is not None else float("nan")
to_review = ui.open_flags_reviewed(pid, mine.open_flags)
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
    patient_forms.review_form(pid, to_review)
with tab_flags:
    patient_view.flag_list(flags, system)
with tab_doses:
    ui.show_table(current_doses_table(one.doses, weight, day))
    patient_view.recently_ended(summary, pid)  # between rituximab infusions: still recorded (H482)
with tab_due:
    # in full (a table's cell would cut the groups short), and a drug with no blood-test schedule
    patient_view.due_list(mine.schedule, summary[summary["patient_id"] == pid], review.profile)
    ui.show_table(schedule_table(mine.schedule, what=False))
    # BSR 2025: the clinician sets the maintenance interval from the patient's risk (issue 17)
    patient_forms.interval_form(ds, pid, day)
with tab_checks:
    ui.show_table(dose_checks_table(mine.dose_checks))
    cyc = dosing.cumulative_cyclophosphamide(one.doses, one.patients, pid, day)
    if cyc is not None:  # issue 17: cumulative dose against the cited thresholds
        st.subheader("Cyclophosphamide: cumulative dose")
        ui.show_cumulative_dose(cyc, key="patient")
with tab_base:
    # the baselines the rules compare with, computed or clinician-set, and why there is none (H213)
    st.subheader("The baselines the rules use")
    st.caption(
        "A computed baseline rests on the last results before the drug started, as many as the rule needs "
        "(CTCAE and the creatinine rise: the last one; the fall rule: the median of the last 3). "
        "No look-back limit: check the dates."
    )
    ui.show_table(
        pretreatment_baseline_table(one.labs, one.doses, one.patients, one.baselines, day, review.profile, pid)
    )
    st.subheader("Clinician-set baselines")
    st.write(
        "Set the patient's own baseline when their normal sits below the population range (e.g. a "
        "Duffy-null associated neutrophil count). Low counts within it are then shown as information, not action."
    )
    ui.show_table(one.baselines[["analyte", "value", "note", "set_by", "set_at"]])
    patient_forms.baseline_form(ds, pid)
