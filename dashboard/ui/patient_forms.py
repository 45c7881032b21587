"""The Patient page's forms: the review of the open flags, the settlement of a disputed
sex, the risk-adapted monitoring interval and a clinician-set baseline."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import pandas as pd
import streamlit as st

from dashboard import model, reviews
from dashboard.dataset import Dataset
from dashboard.identity import SETTLED_FIELDS, birth_text
from dashboard.markup import md_escape
from dashboard.store import resolve
from dashboard.ui import actions
from dashboard.ui.auth import reviewer
from dashboard.ui.picker import identity_conflicts
from dashboard.ui.state import in_workspace, notice
from dashboard.views import interval_not_in_force

#: Keys of the review form (the generation makes fresh boxes after a save).
ACK_GENERATION = "_ack_generation"


def ack_key(name: str, generation: int | None = None) -> str:
    gen = st.session_state.get(ACK_GENERATION, 0) if generation is None else generation
    return f"ack::{gen}::{name}"


def review_form(patient_id: str, flags: pd.DataFrame) -> None:
    """Every open flag named in words, ticked when not yet reviewed, one action and one
    note for what is ticked, one click to record.

    The reviewer's name is asked once per session (or taken from the login).  Reviews
    are kept in the workspace; when this session's panel is not there yet, the same
    click saves it there first (the form says where).
    """
    unreviewed = int((~flags["reviewed"]).sum()) if len(flags) else 0
    if len(flags):
        st.caption(
            f"{len(flags)} open flag{'s' if len(flags) != 1 else ''} on the as-of date, "
            f"{unreviewed} not reviewed. Untick what you have not looked at; a later result opens a new flag."
        )
    generation = st.session_state.get(ACK_GENERATION, 0)
    with st.form(ack_key("form", generation), border=True):
        for r in flags.itertuples(index=False):
            words = reviews.flag_words(r)
            done = reviews.review_words(r)
            st.checkbox(
                md_escape(words + (f" — {done}" if done else "")),
                value=not r.reviewed,
                key=ack_key(str(r.flag_key), generation),
            )
        if not len(flags):
            st.caption("No open flag on the as-of date: the review is recorded about the patient as a whole.")
        a, b = st.columns([1, 2])
        a.selectbox("Action", reviews.ACTIONS, index=None, placeholder="Choose…", key=ack_key("action", generation))
        b.text_input("Note", key=ack_key("note", generation), placeholder="e.g. reviewed — AZA reduced to 100 mg")
        if not reviewer():
            st.text_input("Your name (asked once per session, recorded with the review)", key=ack_key("by", generation))
        else:
            st.caption(f"Recorded as **{md_escape(reviewer())}**.")
        label = "Record review"
        if not in_workspace():
            st.caption(
                f"Reviews are kept in the workspace on this machine ({md_escape(resolve().path)}). This panel is not "
                "there yet: recording the review saves it there first, in the same click."
            )
            label = "Save the panel to the workspace and record the review"
        st.form_submit_button(
            label,
            type="primary",
            icon=":material/task_alt:",
            on_click=_submit_review,
            args=(patient_id, tuple(flags["flag_key"]) if len(flags) else (), generation, reviews.results_of(flags)),
        )


def _submit_review(
    patient_id: str, flag_keys: Sequence[str], generation: int, results: dict[str, reviews.Judged]
) -> None:
    """Callback of the review form (the form's values, under its own keys of this
    ``generation``, exist only in the session state when it runs)."""
    s = st.session_state
    actions.remember_reviewer(str(s.get(ack_key("by", generation)) or ""))
    ticked = [k for k in flag_keys if s.get(ack_key(k, generation))]
    action = str(s.get(ack_key("action", generation)) or "")
    note = str(s.get(ack_key("note", generation)) or "")
    if actions.record_review(patient_id, flag_keys, ticked, action, note, results):
        s[ACK_GENERATION] = generation + 1


def identity_form(patient_id: str) -> None:
    """For a sex or a date of birth two sources disagree on (shown above as an identity
    conflict): the clinician who checked records it, with how; until then the rules treat
    it as unknown (a child's results on the adult defaults, said).  Kept in the workspace
    (this session's panel is saved there first)."""
    open_ = {c.field: c for c in identity_conflicts(patient_id) if c.field in SETTLED_FIELDS and not c.settled}
    for field_name, conflict in open_.items():
        sex = field_name == "sex"
        tail = _key_tail(field_name)
        with (
            st.expander(
                "Record the patient's sex after checking it" if sex else "Record the date of birth after checking it",
                icon=":material/badge:",
            ),
            st.form(f"identity_form{tail}", clear_on_submit=True),
        ):
            a, b = st.columns([1, 3])
            if sex:
                a.radio("Sex", SETTLED_FIELDS["sex"], index=None, horizontal=True, key="identity_value")
            else:  # one of the dates the sources give (the usual case: one of them is a typing error)
                a.radio(
                    "Date of birth",
                    list(dict.fromkeys(v for v, _f, _r in conflict.values)),
                    index=None,
                    key=f"identity_value{tail}",
                    format_func=lambda v: birth_text(dt.date.fromisoformat(v)) if _is_day(v) else v,
                )
            b.text_input(
                "How it was checked",
                key=f"identity_note{tail}",
                placeholder="e.g. with the patient; hospital record",
            )
            if not reviewer():
                st.text_input("Your name (recorded with it)", key=f"identity_by{tail}")
            if not in_workspace():
                st.caption(
                    f"Kept in the workspace on this machine ({md_escape(resolve().path)}): this panel is saved "
                    "there first, in the same click."
                )
            st.form_submit_button(
                "Record sex" if sex else "Record date of birth",
                on_click=_submit_identity,
                args=(patient_id, field_name),
            )


def _key_tail(field_name: str) -> str:
    """The widget keys of a field's form: the sex's as they always were, others suffixed."""
    return "" if field_name == "sex" else f"_{field_name}"


def _is_day(text: str) -> bool:
    try:
        dt.date.fromisoformat(text)
    except ValueError:
        return False
    return True


def _submit_identity(patient_id: str, field_name: str = "sex") -> None:
    """Callback of the identity form (its values exist only in the session state when it runs)."""
    s = st.session_state
    tail = _key_tail(field_name)
    actions.remember_reviewer(str(s.get(f"identity_by{tail}") or ""))
    value = str(s.get(f"identity_value{tail}") or "")
    if not value:
        notice("error", "Not recorded: choose the sex." if field_name == "sex" else "Not recorded: choose the date.")
        return
    actions.settle_identity(patient_id, field_name, value, str(s.get(f"identity_note{tail}") or ""))


def interval_form(ds: Dataset, patient_id: str, as_of: dt.date) -> None:
    """The risk-adapted interval (BSR 2025: set by the clinician from the patient's risk)."""
    current = ds.interval_of(patient_id)
    if current is not None and int(current["interval_days"]) > 0:
        st.caption(
            f"Risk-adapted interval: every {int(current['interval_days'])} days, set by {md_escape(current['set_by'])} "
            f"on {current['set_at']:%d %b %Y} ({md_escape(current['reason'])}). Used by the BSR 2025 profile once the "
            "initial phases are over; review the risk factors at least yearly."
        )
        if note := interval_not_in_force(current["set_at"], as_of):
            st.warning(note, icon=":material/event_busy:")
    else:
        st.caption("No risk-adapted interval set: the schedule's own interval applies.")
    st.caption(_kept_where("The interval"))
    with st.form("interval_form"):
        i1, i2 = st.columns([1, 3])
        days = i1.number_input("Interval (days, 0 = schedule's)", 0, 182, 0, 7, key="interval_days")
        reason = i2.text_input("Risk factors reviewed (why)", key="interval_reason")
        if st.form_submit_button("Save interval"):
            actions.set_interval(ds, patient_id, int(days), reason)
            st.rerun()


def _kept_where(what: str) -> str:
    """Where an interval or a baseline set here is kept, said beside its form."""
    if in_workspace():
        return f"{what} set here is kept in the workspace ({md_escape(resolve().path)}), with who set it and when."
    return (
        f"{what} set here is kept in this session's panel until the panel is saved to the workspace "
        "(Workspace page, or recording a review): it is saved with it. Leaving the session without saving loses it."
    )


def baseline_form(ds: Dataset, patient_id: str) -> None:
    """A clinician-set baseline for a patient whose normal sits below the population range."""
    st.caption(_kept_where("A baseline"))
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
        who = st.text_input("Set by", key="baseline_by", value=reviewer())
        if st.form_submit_button("Save baseline"):
            missing = [w for w, v in (("the analyte", analyte), ("the baseline", value), ("who sets it", who)) if not v]
            if missing or analyte is None or value is None:
                st.error("Not saved: enter " + ", ".join(missing) + ".")
            else:
                actions.set_baseline(ds, patient_id, analyte, value, note, who)
                st.rerun()
