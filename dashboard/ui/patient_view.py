"""The Patient page's sections: who, the timeline, the flags.

The timeline and the flag list are fragments: their own controls (the results shown,
the period, "open flags only", the selected flag) rerun only that section, never the
rest of the page.  Everything a fragment draws comes in as arguments, taken by the
page's full run (a fragment rerun calls it again with the same arguments).
"""

from __future__ import annotations

import datetime as dt
import logging
import time

import pandas as pd
import streamlit as st

from dashboard import model, reviews
from dashboard.figures.timeline import DEFAULT_ANALYTES, WINDOWS, TimelineOptions, analytes_present, timeline_spec
from dashboard.markup import md_escape
from dashboard.rules.engine import Profile
from dashboard.ui.picker import identity_conflicts, show_identity_conflict, show_other_ids, show_rejected_rows
from dashboard.ui.widgets import flags_with_detail, show_plotly_spec, show_table
from dashboard.views import (
    after_as_of_summary,
    after_as_of_table,
    child_note,
    flagged_not_drawn,
    flags_table,
    identity_line,
    no_blood_test_lines,
    patient_facts,
    recently_ended_sentence,
)

log = logging.getLogger(__name__)

TIMELINE_CAPTION = (
    'Points are coloured and shaped by CTCAE v5.0 grade; open markers are censored results ("<0.1") drawn at '
    "their bound. Green band: reference range (the lab's own, else a default). Dashed line: the guideline limit "
    "of the active profile. Dotted lines: dose starts, changes and stops. A thin bar under a panel: while a flag "
    "was open. Doses: daily drugs in mg/day, weekly drugs in mg/week (a lane with both: drawn per week, a daily "
    "dose at its weekly total); pulses as triangles (dose on hover). Grey "
    "rings right of the dotted as-of line: results after the as-of date, not reviewed (listed above the chart)."
)


def other_open_items(row: pd.Series) -> int:
    """The patient's open items beside the headline (the most severe one): a second action
    flag must not hide behind the first."""
    fields = ("open_ctcae", "open_guideline", "open_trend", "dose_checks_open")
    total = sum(int(row[f]) for f in fields if f in row and pd.notna(row[f])) + int(bool(row.get("overdue", False)))
    return max(total - 1, 0)


def nothing_open_line(row: pd.Series, day: dt.date) -> str:
    """What an empty headline means: no open flag, dose check or overdue test on the as-of
    date, and when the next blood test is due (or that no date is set)."""
    due = row.get("next_test_due")
    when = (
        f"Next blood test due {pd.Timestamp(due):%d %b %Y}."
        if due is not None and pd.notna(due)
        else "No next blood test date is set (see Blood tests due)."
    )
    return f"Nothing open on {day:%d %b %Y}: no flag, dose check or overdue blood test under the active rules. {when}"


def header(
    patient_id: str, patient: pd.Series | None, summary: pd.DataFrame, later: pd.DataFrame, day: dt.date, system: str
) -> None:
    """Who (two identifiers beside the MRN), the headline, results after the as-of date
    (``later``: the patient's ``Review.after_as_of_df()``), the facts."""
    st.markdown(f":material/badge: **{md_escape(identity_line(patient_id, patient, day))}**")  # data: as text
    for conflict in identity_conflicts(patient_id):
        show_identity_conflict(conflict)
    show_other_ids(patient_id)  # one person under a FHIR id and an MRN: said where the doses are missed
    row = summary[summary["patient_id"] == patient_id]
    if len(row) and row.iloc[0]["headline"]:
        level = row.iloc[0]["urgency"]
        show = st.error if level in ("urgent", "action") else st.warning if level == "caution" else st.info
        more = other_open_items(row.iloc[0])
        also = f"  \n*and {more} more open item{'' if more == 1 else 's'}: see Review below*" if more else ""
        show(f"**{level.capitalize()}**: {md_escape(row.iloc[0]['headline'])}{also}", icon=":material/priority_high:")
    elif len(row):  # nothing open: said in words, never a blank that could mean "not checked"
        st.info(nothing_open_line(row.iloc[0], day), icon=":material/check_circle:")
    show_rejected_rows(patient_id)  # rows of theirs the import could not read: said, never a silent gap
    if len(later):  # results dated after the as-of date: listed, not reviewed
        st.warning(md_escape(after_as_of_summary(later, day, system)), icon=":material/event_upcoming:")
        with st.expander(f"Results after the as-of date ({len(later):,}, not reviewed)"):
            show_table(after_as_of_table(later, system, with_patient=False))
    facts = patient_facts(patient, day)
    st.markdown("  ·  ".join(f"**{k}:** {md_escape(v)}" for k, v in facts))
    if note := child_note(patient, day):
        st.info(note, icon=":material/child_care:")


def recently_ended(summary: pd.DataFrame, patient_id: str) -> None:
    """Under the doses in force: the monitored drugs no longer in force that the review still
    records (within their window after the last dose, rules.toml [recorded_after_last_dose]),
    so that "Doses now" never reads as on nothing between infusions (H482)."""
    row = summary[summary["patient_id"] == patient_id]
    said = recently_ended_sentence(str(row.iloc[0]["recent_doses"] or "") if len(row) else "")
    if said:
        st.info(md_escape(said), icon=":material/history:")


@st.fragment
def timeline(
    patient_id: str,
    labs: pd.DataFrame,
    doses: pd.DataFrame,
    flags: pd.DataFrame,
    intervals: pd.DataFrame,
    profile: Profile,
    patient: pd.Series | None,
    system: str,
    day: dt.date,
    later: pd.DataFrame | None = None,
) -> None:
    """The results shown and the period (the one period selector: the chart has no range
    buttons of its own), and the timeline of one patient's results against the doses.

    The results shown are kept per patient (a widget key per patient id): one key for all
    would carry the last patient's choice to the next, whose open flags it may leave off
    the chart (a choice made among no results at all stayed empty for every patient after)."""
    present = analytes_present(labs, model.ANALYTES)
    analytes = st.multiselect(
        "Results shown",
        present,
        default=default_analytes(present, flags),
        format_func=model.analyte_label,
        key=f"patient_analytes::{patient_id}",
        wrap=True,  # every chip readable at 1400 px
    )
    if unseen := flagged_not_drawn(flags, analytes):  # an open flag never off the chart unsaid (probe47 F2)
        st.warning(md_escape(unseen), icon=":material/visibility_off:")
    window = st.segmented_control("Period", list(WINDOWS), default="All", key="patient_window") or "All"
    options = TimelineOptions(analytes=tuple(analytes), system=system, window=window, as_of=day)
    start = time.perf_counter()
    # = timeline_figure's to_dict(); the results after the as-of date with their grade (F10)
    spec = timeline_spec(labs, doses, flags, intervals, profile, patient, options, later)
    show_plotly_spec(spec, width="stretch", theme=None, key="patient_timeline", config={"displaylogo": False})
    log.info("timeline drawn in %.0f ms: %d panels", 1000 * (time.perf_counter() - start), len(analytes))
    st.caption(TIMELINE_CAPTION)


def decisions_not_in_doses(log: pd.DataFrame, doses: pd.DataFrame, patient_id: str, day: dt.date) -> None:
    """A decision to reduce, withhold or stop that the dose record does not show, said."""
    for text in reviews.decisions_not_in_doses(log, doses, patient_id, day):
        st.warning(md_escape(text), icon=":material/medication:")


def default_analytes(present: list[str], flags: pd.DataFrame) -> list[str]:
    """The results the chart opens with: the blood counts, liver tests and creatinine
    clearance present (``DEFAULT_ANALYTES``), and every test with an open flag (a
    creatinine rise is never left off the chart); a
    patient with none of these (only a creatinine, say) shows what they have."""
    flagged = set(flags.loc[flags["status"] == "open", "analyte"]) if len(flags) else set()
    chosen = [a for a in present if a in DEFAULT_ANALYTES or a in flagged]
    return chosen or present[:4]


@st.fragment
def flag_list(flags: pd.DataFrame, system: str) -> None:
    """Every flag of the patient (or the open ones), the selected one in full below."""
    open_only = st.toggle("Open flags only", key="patient_open_only")
    flags_with_detail(flags_table(flags, system, open_only), key="patient_flags")


def due_list(schedule: pd.DataFrame, summary: pd.DataFrame | None = None, profile: Profile | None = None) -> None:
    """What each schedule asks for, in the review's words, one line per drug: every test
    group due with its own date and lateness (H290), in full where a table cell would cut
    it short; then, from the patient's ``summary`` row, each drug the review records that
    has no blood-test schedule, with what it asks instead (rituximab's IgG before a cycle,
    hydroxychloroquine's retinal screening: ``views.no_blood_test_lines``, probe47 F6)."""
    lines = [md_escape(str(m)) for m in schedule["message"] if isinstance(m, str) and m] if len(schedule) else []
    if summary is not None and profile is not None and len(summary):
        recorded = str(summary.iloc[0]["recorded_drugs"] or "")
        lines += [md_escape(line) for line in no_blood_test_lines(recorded, profile.schedule)]
    if lines:
        st.markdown("\n".join(f"- {line}" for line in lines))
