"""What the buttons and forms do: open or leave the workspace panel, save the session's
panel, enter doses, record reviews, set a baseline or an interval.

Every action takes what it needs as arguments (the forms' callbacks collect their values
first: :mod:`dashboard.ui.forms`).  An action that changes the shared state several
widgets show (the dataset, the mode, the as-of date) runs from a callback, before the
page is drawn.  A refused or busy workspace becomes a notice shown once, never a crash.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Sequence
from typing import TypeVar

import pandas as pd
import streamlit as st

from dashboard import model
from dashboard.dataset import Dataset
from dashboard.dose_entry import DoseEntry
from dashboard.reviews import ACTIONS, Judged, empty_log, flags_for_review, not_as_shown, results_of, reviews_for
from dashboard.store import EntryRejected, Workspace, WorkspaceBusy, WorkspaceError, workspace_path
from dashboard.store.panel import open_panel
from dashboard.ui.auth import reviewer
from dashboard.ui.state import (
    AS_OF_DEFAULT,
    DATASET,
    PATIENT,
    REVIEWER,
    SESSION_ONLY,
    SOURCES,
    WORKSPACE,
    WS_PANEL,
    as_of,
    get_dataset,
    in_workspace,
    mode,
    notice,
    pending_notice,
    profile_name,
    replace_dataset,
    set_as_of,
    set_dataset,
    set_mode,
    workspace_panel,
)

log = logging.getLogger(__name__)
T = TypeVar("T")


def workspace() -> Workspace:
    return Workspace(workspace_path(), timeout=15)


def guard(action: Callable[[], T]) -> T | None:
    """Run a workspace action; a busy or refused workspace becomes a notice (None)."""
    try:
        return action()
    except EntryRejected as exc:
        notice("warning" if not exc.errors else "error", "Not saved: " + "; ".join(exc.errors + exc.warnings))
    except (WorkspaceBusy, WorkspaceError) as exc:
        log.info("workspace action refused: %s", type(exc).__name__)
        notice("error", str(exc))
    return None


def then_refresh(action: Callable[[], object], done: str) -> None:
    """Run a workspace write; when it went through, say so and show the workspace's panel."""
    if guard(action) is not None:
        notice("success", done)
        open_workspace_panel()


# --------------------------------------------------------------------------- where the panel lives


def open_workspace_panel(keep_as_of: bool = False) -> None:
    """Callback: show the workspace's panel in this session (workspace mode).

    Opened afresh, the as-of date becomes the panel's extract date (or today); a panel
    this session has just saved keeps the date the session was working on."""
    panel = guard(lambda: open_panel(workspace()))
    if panel is None:
        set_mode(SESSION_ONLY)
        return
    log.info("workspace panel opened: %d patients, %d results", len(panel.patients), len(panel.labs))
    shown = st.session_state.get(PATIENT)
    first_open = not in_workspace()
    st.session_state[WS_PANEL] = panel
    ds = panel.dataset()
    st.session_state[DATASET] = ds
    set_mode(WORKSPACE)
    st.session_state[PATIENT] = shown if shown in set(panel.patients["patient_id"]) else None
    if first_open and not keep_as_of:
        st.session_state[AS_OF_DEFAULT] = ds.default_as_of()
        set_as_of(panel.as_of)  # the widget too: one as-of date, whatever page shows it


def use_session_only() -> None:
    """Callback: leave the workspace; this session starts empty again."""
    set_mode(SESSION_ONLY)
    if workspace_panel() is not None:
        st.session_state[WS_PANEL] = None
        set_dataset(None)


def on_mode_change() -> None:
    """Callback of the Workspace page's mode radio (its state is :data:`~dashboard.ui.state.MODE`)."""
    if mode() == WORKSPACE:
        open_workspace_panel()
    else:
        use_session_only()


def save_session_to_workspace() -> None:
    """Callback: write this session's panel to the workspace, then work from there."""
    ds = get_dataset()
    if ds is None or ds.is_empty:
        return
    result = ds.to_import_result()
    out = guard(
        lambda: workspace().save_result(
            result,
            st.session_state.get(SOURCES, ()),
            by=reviewer() or "app user (no name given)",
            origin="app",
            label=ds.label,
            extract_date=ds.extract_date,
        )
    )
    if out is not None:
        log.info("session panel saved to the workspace: stored=%s, %d results added", out.stored, out.labs_added)
        ok, kept = _keep_clinician_entries(ds)
        level = "warning" if not ok else "success" if out.stored or kept else "info"
        notice(level, out.summary() + (f"\n{kept}" if kept else ""))
        open_workspace_panel(keep_as_of=True)


def _every(days: int) -> str:
    return f"every {days} days" if days else "back to the schedule's"


def _keep_clinician_entries(ds: Dataset) -> tuple[bool, str]:
    """Save the intervals and baselines set in this session's panel with it (the workspace
    would drop them otherwise): whether that went through, and what was kept in words
    ("" when none was set)."""

    def rows(frame: pd.DataFrame) -> list[dict]:
        out = frame.sort_values("set_at", kind="stable").to_dict("records")
        for r in out:
            r["set_at"] = None if pd.isna(r["set_at"]) else pd.Timestamp(r["set_at"]).to_pydatetime()
        return out

    intervals, baselines = rows(ds.intervals), rows(ds.baselines)
    if guard(lambda: workspace().keep_clinician_entries(intervals, baselines)) is None:
        _, why = pending_notice()
        return False, f"The intervals and baselines set in this session were NOT kept ({why}): set them again."
    said = [f"{r['patient_id']}'s monitoring interval ({_every(int(r['interval_days']))})" for r in intervals]
    said += [f"{r['patient_id']}'s own {model.analyte_label(r['analyte'])} baseline {r['value']:g}" for r in baselines]
    return True, ("Kept with it: " + "; ".join(said) + ".") if said else ""


# --------------------------------------------------------------------------- doses


def add_dose(entry: DoseEntry, *, confirmed: bool) -> None:
    then_refresh(
        lambda: workspace().add_dose(entry, by=reviewer(), confirmed=confirmed) or True,
        f"Dose saved for {entry.patient_id}.",
    )


def change_dose(
    dose_id: int,
    on: dt.date,
    what: str,
    *,
    amount: float,
    frequency: str,
    note: str,
    confirmed: bool,
) -> None:
    """Change (end and replace) or stop (``what``) a dose on a date."""
    if what == "stop":

        def action() -> object:
            workspace().stop_dose(dose_id, on, by=reviewer(), note=note)
            return True
    else:

        def action() -> object:
            return workspace().change_dose(
                dose_id, on, amount, frequency, by=reviewer(), note=note, confirmed=confirmed
            )

    then_refresh(action, f"Dose {what} on {on} saved.")


# --------------------------------------------------------------------------- reviews


def patient_flags(ds: Dataset, reviews: pd.DataFrame, patient_id: str) -> pd.DataFrame:
    """One patient's open flags with their reviews (the rules run on that patient only)."""
    one = ds.for_patient(patient_id)
    mine = reviews[reviews["patient_id"] == patient_id]
    return flags_for_review(one.labs, one.doses, one.patients, one.baselines, mine, as_of(), profile_name())


def add_review(patient_id: str, about: str, action: str, note: str) -> None:
    """The Workspace page's review: a flag (``about``, its key), or the patient as a whole
    (every open flag of the patient, each acknowledged by name)."""
    ds, panel = get_dataset(), workspace_panel()
    flags = patient_flags(ds, panel.reviews, patient_id) if ds is not None and panel is not None else None
    every = [] if flags is None else flags["flag_key"].tolist()
    keys = [about] if about else every
    entries = reviews_for(patient_id, keys, action, note, results_of(flags) if flags is not None else None)
    then_refresh(lambda: workspace().add_reviews(entries, by=reviewer()), "Review recorded.")


def record_review(
    patient_id: str,
    flag_keys: Sequence[str],
    ticked: Sequence[str],
    action: str,
    note: str,
    results: dict[str, Judged] | None = None,
) -> bool:
    """The Patient page's review of the ``ticked`` flags (of ``flag_keys``, the open ones
    shown): checked, saved to the workspace (the session's panel first, when it is not
    there yet), and said.  True when recorded."""
    problems = []
    if flag_keys and not ticked:
        problems.append("tick at least one flag")
    if action not in ACTIONS:
        problems.append("choose an action")
    if not reviewer():
        problems.append("enter your name")
    if problems:
        notice("error", "Not recorded: " + "; ".join(problems) + ".")
        return False
    unseen: list[str] = []
    if not in_workspace():
        save_session_to_workspace()
        if not in_workspace():
            return False  # the notice says why the panel could not be saved
        changed, unseen = _as_the_workspace_judges(patient_id, ticked, results)
        if changed:  # never recorded against a finding the form did not show (H475)
            level, saved = pending_notice()
            notice(
                "warning",
                (saved + "\n" if level == "success" else "")
                + "Review NOT recorded: the workspace already held results of this patient that this session did not "
                "show, and its flags differ from those in the form ("
                + "; ".join(changed)
                + "). The page now shows the workspace's panel: check the flags and record the review again.",
            )
            open_workspace_panel(keep_as_of=True)
            return False
    entries = reviews_for(patient_id, list(ticked), action, note, results)
    if guard(lambda: workspace().add_reviews(entries, by=reviewer())) is None:
        return False
    log.info("review recorded: %d entries", len(entries))
    what = f"{len(ticked)} flag{'s' if len(ticked) != 1 else ''}" if ticked else "the patient"
    level, saved = pending_notice()
    also = (
        " The workspace already held results this session did not show (" + "; ".join(unseen) + "): see the timeline."
        if unseen
        else ""
    )
    notice(
        "success",
        (saved + "\n" if level == "success" else "") + f"Review recorded: {what} of {patient_id} ({action}).{also}",
    )
    open_workspace_panel()
    return True


def _as_the_workspace_judges(
    patient_id: str, ticked: Sequence[str], results: dict[str, Judged] | None
) -> tuple[list[str], list[str]]:
    """After a session's panel was saved into the workspace: how the workspace's flags of
    the ``ticked`` keys differ from what the form showed (:func:`dashboard.reviews.not_as_shown`)."""
    keys = set(ticked)
    shown = {k: v for k, v in (results or {}).items() if k in keys}
    if not shown:
        return [], []
    ds = get_dataset()  # the workspace's panel, which save_session_to_workspace has just opened
    if ds is None:
        return [], []
    mine = ds.for_patient(patient_id)
    flags = flags_for_review(mine.labs, mine.doses, mine.patients, mine.baselines, empty_log(), as_of(), profile_name())
    return not_as_shown(shown, results_of(flags))


#: How a settled identity field is named in the notice.
_FIELD_WORDS = {"birth_date": "date of birth"}


def settle_identity(patient_id: str, field_name: str, value: str, note: str) -> bool:
    """The Patient page's settlement of a disputed sex or date of birth: saved to the workspace (the
    session's panel first, when it is not there yet), and said.  True when recorded."""
    who = reviewer()
    if not who:
        notice("error", "Not recorded: enter your name.")
        return False
    if not in_workspace():
        save_session_to_workspace()
        if not in_workspace():
            return False  # the notice says why the panel could not be saved

    def action() -> bool:
        workspace().settle_identity(patient_id, field_name, value, note, by=who)
        return True

    if guard(action) is None:
        return False
    log.info("identity settled: %s", field_name)
    level, saved = pending_notice()  # the panel saved first, in the same click: said too
    notice(
        "success",
        (saved + "\n" if level == "success" else "")
        + f"Recorded: {patient_id}'s {_FIELD_WORDS.get(field_name, field_name)} is {value} (checked by {who}).",
    )
    open_workspace_panel()
    return True


def remember_reviewer(name: str) -> None:
    """The name given in a form, asked once: the Workspace page's name box shows it too
    (call from a callback: that box's state is set)."""
    if name.strip():
        st.session_state[REVIEWER] = name.strip()


# --------------------------------------------------------------------------- baseline and interval


def set_interval(ds: Dataset, patient_id: str, days: int, reason: str) -> None:
    """A patient's risk-adapted monitoring interval: in the workspace, or in this session's panel."""
    who = reviewer() or "unknown"
    if in_workspace():

        def action() -> object:
            workspace().set_interval(patient_id, days, reason, by=who)
            return True

        then_refresh(action, "Interval saved.")
    else:
        replace_dataset(ds.with_interval(patient_id, days, reason, who, dt.datetime.now()))


def set_baseline(ds: Dataset, patient_id: str, analyte: str, value: float, note: str, who: str) -> None:
    """A clinician-set baseline: in the workspace, or in this session's panel (saved to the
    workspace with it)."""
    if in_workspace():

        def action() -> object:
            workspace().set_baseline(patient_id, analyte, value, note, by=who)
            return True

        then_refresh(action, "Baseline saved.")
    else:
        replace_dataset(ds.with_baseline(patient_id, analyte, value, note, who, dt.datetime.now()))
