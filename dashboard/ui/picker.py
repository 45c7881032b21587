"""The patient picker: the shared selected patient, two identifiers in every label, and a
search box for a panel longer than a select box lists."""

from __future__ import annotations

from collections.abc import Sequence

import streamlit as st

from dashboard.dataset import Dataset
from dashboard.identity import IdentityConflict, other_id_notes
from dashboard.ingest.report import Problem
from dashboard.markup import md_escape
from dashboard.ui.caching import picker_labels
from dashboard.ui.state import PATIENT, get_dataset
from dashboard.views import PICKER_LIMIT, monitored_first, picker_list


def identity_conflicts(patient_id: str) -> list[IdentityConflict]:
    """The identity conflicts known for this patient: the loaded panel's import report's,
    and in workspace mode those the workspace keeps from earlier imports."""
    ds = get_dataset()
    if ds is None:
        return []
    return [c for c in ds.identity_conflicts if c.patient_id == patient_id]


def show_other_ids(patient_id: str) -> None:
    """Say when this patient and another of the panel may be one person under two ids (a
    FHIR record's MRN that is the id of a dose sheet's patient, H150; two ids that differ
    only by leading zeros, H330): the import report names it once, and the page of either
    patient says it where the doses are missed."""
    ds = get_dataset()
    if ds is None:
        return
    for note in other_id_notes(patient_id, ds.aliases, ds.patient_ids):
        st.warning(md_escape(note), icon=":material/group:")


def show_rejected_rows(patient_id: str) -> None:
    """Say that rows of this patient were rejected at import (they are in no chart or
    table), with the first reasons; the import report on Home lists them all.  Those a
    later import of the workspace gave again for the same draw are said apart, with what
    replaced them: no longer open, never dropped."""
    ds = get_dataset()
    rows = monitored_first(ds.rejected_rows(patient_id)) if ds is not None else []  # (probe47 F10)
    resolved = ds.resolved_rows(patient_id) if ds is not None else []
    if resolved:
        st.info(md_escape(resolved_text(resolved)), icon=":material/history:")
    if not rows:
        return
    first = "; ".join(f"{name} row {p.row}: {p.message}" for name, p in rows[:3])
    more = f" (and {len(rows) - 3} more)" if len(rows) > 3 else ""
    st.warning(
        f"**{len(rows)} row{'' if len(rows) == 1 else 's'} of this patient's files "
        f"{'was' if len(rows) == 1 else 'were'} rejected at import** and "
        f"{'is' if len(rows) == 1 else 'are'} not shown here: {md_escape(first)}{more}. "
        "The import report on Home lists every rejected row with its reason.",
        icon=":material/report:",
    )


def resolved_text(resolved: Sequence[tuple[str, Problem, str]], shown: int = 3) -> str:
    """The rejected rows a later import replaced, in words, the first ``shown`` in full."""
    n = len(resolved)
    first = "; ".join(f"{name} row {p.row}: {p.message}, now {by}" for name, p, by in resolved[:shown])
    more = f" (and {n - shown} more)" if n > shown else ""
    return (
        f"{n} row{'' if n == 1 else 's'} of this patient's files rejected at an earlier import "
        f"{'was' if n == 1 else 'were'} given again, readable, by a later import for the same draw "
        f"(no longer open): {first}{more}."
    )


def show_identity_conflict(conflict: IdentityConflict) -> None:
    """One identity conflict, said: an error while open, a warning once a clinician settled it."""
    if conflict.settled:
        st.warning(f"**Identity conflict, settled**: {md_escape(conflict.message)}", icon=":material/badge:")
    else:
        st.error(f"**Identity conflict**: {md_escape(conflict.message)}", icon=":material/badge:")


def patient_picker(
    ds: Dataset,
    default: str | None = None,
    key: str = "patient_picker",
    bind: bool = True,
    ranked: Sequence[str] | None = None,
) -> str | None:
    """Select box of the panel's patients.

    With ``bind`` it shows and sets the shared selected patient (the one the Patient,
    Dosing and Compare pages open on); without, it is a local choice.  A panel of more
    than :data:`~dashboard.views.PICKER_LIMIT` patients gets a search box above it and the
    box lists the matches (or the first patients of ``ranked``, e.g. most urgent first);
    a search that names one patient (its id, or the only match) opens that patient.
    """
    ids = ds.patient_ids
    if not ids:
        return None
    last_key = f"_last_shown::{key}"
    current = (st.session_state.get(PATIENT) if bind else None) or default or ids[0]
    if current not in ids:
        current = ids[0]
    shown = st.session_state.get(key)
    # a shared selection changed elsewhere (the panel, another page) since this picker
    # last showed it is followed; a choice made in this picker wins otherwise
    followed = bind and shown is not None and st.session_state.get(last_key) not in (None, current)
    if not followed and shown in ids:
        current = shown
    labels = picker_labels(ds)
    options, note, box = ids, "", st.container()
    if len(ids) > PICKER_LIMIT:
        find, box = st.columns([1, 2])
        query = find.text_input(
            "Find a patient",
            key=f"{key}::find",
            placeholder=f"Patient id, then Enter ({len(ids):,} patients)",
        )
        listing = picker_list(ids, labels, query, current, PICKER_LIMIT, ranked)
        last_query = f"_last_query::{key}"
        if listing.found and listing.found != current and query != st.session_state.get(last_query):
            current = listing.found  # the search names a patient: open it
            listing = picker_list(ids, labels, query, current, PICKER_LIMIT, ranked)
        st.session_state[last_query] = query
        options, note = listing.options, listing.note(len(ids), query)
    if key in st.session_state and st.session_state[key] != current:
        st.session_state[key] = current
    choice = box.selectbox(
        "Patient",
        options,
        # the first run places the box on ``current``; afterwards its state holds it (an
        # index as well would make Streamlit warn of a value set twice)
        index=0 if key in st.session_state else options.index(current),
        format_func=lambda pid: labels.get(pid, pid),
        key=key,
        filter_mode="contains",
    )
    if note:
        box.caption(note)
    if bind:
        st.session_state[PATIENT] = choice
        st.session_state[last_key] = choice
    return choice
