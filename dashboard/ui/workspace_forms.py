"""The Workspace page's forms: add a dose, change or stop one, record a review.

Each form's keys are named here, beside the callback that reads them: a form's values
exist only in the session state when its submit callback runs (before the page is
drawn, which an action that reopens the workspace panel needs).  The callback gets the
patient as an argument, turns the values into a typed request and calls the action.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pandas as pd
import streamlit as st

from dashboard import dose_entry, model, reviews
from dashboard import summary_export as sx
from dashboard.dose_entry import DoseEntry
from dashboard.ingest import Source
from dashboard.ui import actions
from dashboard.ui.auth import reviewer
from dashboard.ui.state import as_of, in_workspace, notice


@dataclass(frozen=True)
class FormKeys:
    """The session-state keys of one form's widgets: ``<form>_<field>`` for each of its
    fields (``DOSE.drug`` is "dose_drug"); a field the form does not have is an error."""

    form: str
    fields: tuple[str, ...]

    def __getattr__(self, name: str) -> str:
        if name not in self.__dict__.get("fields", ()):  # (no recursion before __init__ has run)
            raise AttributeError(f"the {self.form} form has no field {name!r}")
        return f"{self.form}_{name}"


DOSE = FormKeys("dose", ("drug", "amount", "unit", "frequency", "route", "start", "end", "note", "confirm"))
CHANGE = FormKeys("change", ("dose_id", "action", "on", "amount", "frequency", "note", "confirm"))
REVIEW = FormKeys("review", ("about", "action", "note"))


def _submit_dose(keys: FormKeys, patient_id: str) -> None:
    s = st.session_state
    entry = DoseEntry(
        patient_id=patient_id,
        drug=s[keys.drug] or "",
        dose=float(s[keys.amount] or 0),
        start=s[keys.start],
        dose_unit=s[keys.unit],
        frequency=s[keys.frequency],
        route=s[keys.route],
        end=s[keys.end],
        note=s[keys.note],
    )
    actions.add_dose(entry, confirmed=bool(s[keys.confirm]))


def _submit_change(keys: FormKeys) -> None:
    s = st.session_state
    if s[keys.dose_id] is None:
        return
    actions.change_dose(
        int(s[keys.dose_id]),
        s[keys.on],
        s[keys.action],
        amount=float(s[keys.amount] or 0),
        frequency=s[keys.frequency],
        note=s[keys.note],
        confirmed=bool(s[keys.confirm]),
    )


def _submit_review(keys: FormKeys, patient_id: str) -> None:
    s = st.session_state
    actions.add_review(patient_id, s.get(keys.about) or "", s[keys.action] or "", s[keys.note])


def dose_forms(doses: pd.DataFrame, patient_id: str) -> None:
    """Add a dose; change or stop a current one (``doses``: the patient's, with provenance)."""
    add, change = st.columns(2)
    with add.form("dose_add", clear_on_submit=False):
        st.markdown("**Add a dose**")
        st.selectbox(
            "Drug",
            model.drugs(),
            key=DOSE.drug,
            index=None,
            placeholder="Choose…",
            format_func=model.drug_label,
        )
        st.number_input("Dose", min_value=0.0, step=5.0, key=DOSE.amount, value=None)
        st.selectbox("Unit", dose_entry.UNITS, key=DOSE.unit)
        st.selectbox("Frequency", dose_entry.FREQUENCY_CHOICES, key=DOSE.frequency)
        st.selectbox("Route", model.ROUTES, key=DOSE.route, format_func=lambda r: r or "(not given)")
        st.date_input("Start", key=DOSE.start, value=as_of())
        st.date_input("End (leave empty if ongoing)", key=DOSE.end, value=None)
        st.text_input("Note", key=DOSE.note)
        st.checkbox("Save despite the warnings shown (I have checked them)", key=DOSE.confirm)
        st.form_submit_button("Add dose", on_click=_submit_dose, args=(DOSE, patient_id), type="primary")
    current = model.doses_in_force(doses, dt.date.max - dt.timedelta(days=1))
    with change.form("dose_change"):
        st.markdown("**Change or stop a current dose**")
        options = current["dose_id"].astype(int).tolist()
        text = {int(r["dose_id"]): f"{sx.dose_text(r)} from {r['start']:%Y-%m-%d}" for _, r in current.iterrows()}
        st.selectbox("Dose", options, key=CHANGE.dose_id, format_func=lambda i: text.get(i, str(i)))
        st.radio("What", ["change", "stop"], key=CHANGE.action, horizontal=True)
        st.date_input("On", key=CHANGE.on, value=as_of())
        st.number_input("New dose (for a change)", min_value=0.0, step=5.0, key=CHANGE.amount, value=None)
        st.selectbox(
            "New frequency",
            ["", *dose_entry.FREQUENCY_CHOICES],
            key=CHANGE.frequency,
            format_func=lambda f: f or "(unchanged)",
        )
        st.text_input("Note", key=CHANGE.note)
        st.checkbox("Save despite the warnings shown (I have checked them)", key=CHANGE.confirm)
        st.form_submit_button("Save change", on_click=_submit_change, args=(CHANGE,), disabled=not options)


def review_add_form(flags: pd.DataFrame, patient_id: str) -> None:
    """A review about one of the patient's open flags (``flags``), or the patient as a whole."""
    about = reviews.flag_choices(flags)
    with st.form("review_add", clear_on_submit=True):
        st.selectbox("About", list(about), key=REVIEW.about, format_func=about.__getitem__)
        st.selectbox("Action", reviews.ACTIONS, key=REVIEW.action, index=None, placeholder="Choose…")
        st.text_area("Note", key=REVIEW.note, placeholder="e.g. reviewed — AZA reduced to 100 mg")
        st.form_submit_button("Record review", on_click=_submit_review, args=(REVIEW, patient_id), type="primary")


# --------------------------------------------------------------------------- read again (H644)

#: The session key of the import whose files the clinician is reading again.
REREAD = "reread_import"


def reread_files_key(import_id: int) -> str:
    return f"reread_files_{import_id}"


def reread_form(entry: dict) -> None:
    """In an import log entry read by an earlier reader version (or before versions were
    recorded): "Read again with today's reader".  The workspace keeps each file's SHA-256,
    not its bytes, so the page asks for the files again (matched by content); it shows the
    differences of a dry run and applies them only on "Apply the differences"
    (:meth:`dashboard.store.Workspace.reread`)."""
    import_id = int(entry["import_id"])
    names = ", ".join(f["file_name"] for f in entry["files"] if f["status"] == "imported")
    st.caption(
        "Read by an earlier version of the dashboard: some of its rows may read differently now (a fix since can "
        "read a dose, pulse, unit, result or id otherwise, or reject a row)."
    )
    if st.session_state.get(REREAD) != import_id:
        st.button(
            "Read again with today's reader",
            key=f"reread_start_{import_id}",
            icon=":material/sync:",
            on_click=lambda: st.session_state.__setitem__(REREAD, import_id),
        )
        return
    files = st.file_uploader(
        f"The workspace keeps each file's fingerprint, not the file: give {names} again",
        accept_multiple_files=True,
        key=reread_files_key(import_id),
    )
    if not files:
        return
    sources = [Source(f.name, f.getvalue()) for f in files]
    preview = actions.guard(lambda: actions.workspace().reread(sources, by=_who(), origin="app", dry_run=True))
    if preview is None:
        return
    st.code(preview.summary(), language=None, wrap_lines=True)
    if preview.problems:
        st.error("Nothing can be read again until the problems above are resolved; the workspace is as it was.")
        return
    st.button(
        "Apply the differences",
        key=f"reread_apply_{import_id}",
        type="primary",
        on_click=_apply_reread,
        args=(sources,),
        help="Replaces this import's rows by today's reading, in one transaction; reviews are kept.",
    )


def _who() -> str:
    return reviewer() or "app"


def _apply_reread(sources: list) -> None:
    done = actions.guard(lambda: actions.workspace().reread(sources, by=_who(), origin="app"))
    st.session_state.pop(REREAD, None)
    if done is None:
        return
    notice("error" if done.problems else "success", done.summary())
    if in_workspace():
        actions.open_workspace_panel(keep_as_of=True)
