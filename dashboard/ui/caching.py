"""What the pages compute once and reuse: imports, the review of the panel, the panel
table, the open flags, the picker's labels.

Streamlit's caches key on explicit version tokens, never on the frames themselves
(hashing a million-row frame on every run would cost more than it saves) and never on
``id()`` (CPython reuses the id of a freed object, so a stale hit was possible):

* the loaded dataset: :func:`~dashboard.ui.state.dataset_version`, a random token
  minted whenever another Dataset object is stored in the session;
* the review log: :func:`review_log_version`, the same for the workspace panel (a new
  panel object after every write), "empty" in session-only mode;
* the profile: its name and the newest modification time of the saved profile files (a
  profile saved again under the same name is read again);
* the as-of date and the unit system: their values.

The tokens are random per session, so the caches are session-scoped: an entry never
outlives its session, and no session can hit another's.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import streamlit as st

from dashboard.dataset import Dataset, PatientRows
from dashboard.identity import patient_label as identity_label
from dashboard.ingest import ImportOptions, ImportResult, Source, import_sources
from dashboard.markup import md_escape
from dashboard.panel import panel_table, with_reviews
from dashboard.reviews import empty_log, flags_for_review, with_review_status
from dashboard.rules import Review, RuleError, review_dataset
from dashboard.rules.engine import profiles_dir
from dashboard.sample import default_files, extract_date
from dashboard.ui.state import (
    WS_PANEL,
    as_of,
    as_of_note,
    dataset_version,
    get_dataset,
    in_workspace,
    profile_name,
    unit_system,
    version_of,
    workspace_panel,
)

log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[2]
SAMPLE_DIR = ROOT / "sample_data"


# --------------------------------------------------------------------------- imports


@st.cache_data(show_spinner="Reading files...", max_entries=8, scope="session")
def import_files(
    files: tuple[tuple[str, bytes], ...], date_order: str | None, mapping: tuple[tuple[str, str], ...]
) -> ImportResult:
    """Import uploaded files (cached per session on their bytes and the choices)."""
    start = time.perf_counter()
    result = import_sources(
        [Source(name, data) for name, data in files], ImportOptions(date_order=date_order, mapping=dict(mapping))
    )
    report = result.report
    log.info(
        "imported %d file(s) (%s, %d bytes) in %.2f s: %d results accepted, %d rows rejected",
        len(files),
        ", ".join(sorted({f.format or "unknown" for f in report.files})),
        sum(len(data) for _, data in files),
        time.perf_counter() - start,
        result.labs.num_rows,
        sum(f.rows_rejected for f in report.files),
    )
    return result


@st.cache_data(show_spinner="Loading the sample panel...", max_entries=2)
def load_sample_panel() -> tuple[ImportResult, dt.date | None, tuple[tuple[str, bytes], ...]]:
    """The default sample set from ``sample_data/`` (synthetic: shared across sessions),
    its extract date and its files (for the import log)."""
    files = tuple((p.name, p.read_bytes()) for p in default_files(SAMPLE_DIR))
    start = time.perf_counter()
    result = import_sources([Source(name, data) for name, data in files], ImportOptions())
    log.info("sample panel imported in %.2f s: %d results", time.perf_counter() - start, result.labs.num_rows)
    return result, extract_date(SAMPLE_DIR), files


# --------------------------------------------------------------------------- the review


@dataclass(frozen=True)
class ReviewKey:
    """What a review depends on besides the data (see the module's docstring)."""

    dataset: str
    profile: str | None
    profiles_stamp: float
    as_of: dt.date
    note: str


def _profiles_stamp() -> float:
    try:
        return max((p.stat().st_mtime for p in profiles_dir().glob("*.json")), default=0.0)
    except OSError:
        return 0.0


def review_key() -> ReviewKey:
    return ReviewKey(dataset_version(), profile_name(), _profiles_stamp(), as_of(), as_of_note())


# The review is a cache_resource, not cache_data: its Arrow tables are never changed,
# and cache_data would copy (pickle) every flag of a million-result panel on every run.
@st.cache_resource(show_spinner="Reviewing the panel...", max_entries=4, scope="session")
def _review(_ds: Dataset, key: ReviewKey) -> tuple[Review, str]:
    """The review under the profile asked for, or under the default one (and why)."""
    start = time.perf_counter()
    try:
        rv, problem = review_dataset(_ds, key.profile, key.as_of, key.note), ""
    except RuleError as exc:
        rv, problem = review_dataset(_ds, None, key.as_of, key.note), str(exc)
    log.info(
        "review computed in %.2f s: %d patients, %d flags",
        time.perf_counter() - start,
        rv.summary.num_rows,
        rv.flags.num_rows,
    )
    return rv, problem


def current_review() -> Review | None:
    """The review of the loaded panel under the active profile and as-of date."""
    ds = get_dataset()
    if ds is None:
        return None
    key = review_key()
    rv, problem = _review(ds, key)
    if problem:
        st.warning(
            f"Profile '{md_escape(key.profile)}' could not be used ({md_escape(problem)}); "
            "the default profile is used instead."
        )
    return rv


@st.cache_data(show_spinner=False, max_entries=8, scope="session")
def _summary(_rv: Review, key: ReviewKey) -> pd.DataFrame:
    return _rv.summary_df()


def review_summary() -> pd.DataFrame:
    """The per-patient summary of the current review (most urgent first), as pandas."""
    rv = current_review()
    return _summary(rv, review_key()) if rv is not None else pd.DataFrame()


# --------------------------------------------------------------------------- the review log


def review_log_version() -> str:
    """The version token of the review log (a new workspace panel object after every write)."""
    return version_of(WS_PANEL) if in_workspace() else "empty"


def review_log() -> pd.DataFrame:
    """The review log every page and export reads: the workspace's when this session's
    panel is in the workspace, else an empty log (reviews are kept only there)."""
    panel = workspace_panel()
    if in_workspace() and panel is not None:
        return panel.reviews
    return empty_log()


current_review_log = review_log  # the older name


# --------------------------------------------------------------------------- the panel table


@st.cache_data(show_spinner="Building the panel...", max_entries=8, scope="session")
def _panel(_ds: Dataset, _rv: Review, key: ReviewKey, system: str) -> pd.DataFrame:
    start = time.perf_counter()
    table = panel_table(_ds, _rv, system)
    log.info("panel table built in %.2f s: %d patients", time.perf_counter() - start, len(table))
    return table


def current_panel() -> pd.DataFrame | None:
    """The panel table of the current review."""
    ds, rv = get_dataset(), current_review()
    if ds is None or rv is None:
        return None
    return _panel(ds, rv, review_key(), unit_system())


@st.cache_data(show_spinner=False, max_entries=8, scope="session")
def _panel_with_reviews(
    _table: pd.DataFrame,
    _rv: Review,
    _log: pd.DataFrame,
    key: ReviewKey,
    system: str,
    log_version: str,
    unreviewed_first: bool,
) -> pd.DataFrame:
    # the as-of date: reviews made after it are counted, and said (H478)
    return with_reviews(_table, _rv.open_flags_df(), _log, unreviewed_first, key.as_of)


def current_panel_with_reviews(unreviewed_first: bool = True) -> pd.DataFrame | None:
    """The panel table with the review state of each patient's open flags (the review log
    is read on every run, like the Patient page and the exports)."""
    table, rv = current_panel(), current_review()
    if table is None or rv is None:
        return table
    return _panel_with_reviews(
        table, rv, review_log(), review_key(), unit_system(), review_log_version(), unreviewed_first
    )


# --------------------------------------------------------------------------- one patient


@st.cache_resource(show_spinner=False, max_entries=4, scope="session")
def _patient_rows(_ds: Dataset, dataset: str) -> PatientRows:
    # a resource, not data: the positions are never changed, and cache_data would copy
    # (pickle) a million of them on every run
    return _ds.patient_rows()


def patient_dataset(ds: Dataset, patient_id: str) -> Dataset:
    """``ds.for_patient(patient_id)``, finding the rows by position (the positions of
    every patient computed once per loaded dataset) when ``ds`` is the session's."""
    if ds is not get_dataset():
        return ds.for_patient(patient_id)
    return ds.for_patient(patient_id, _patient_rows(ds, dataset_version()))


@dataclass(frozen=True)
class PatientReview:
    """One patient's part of the current review, as the pandas frames the Patient page
    shows (``Review.for_patient(...).*_df()``), each converted once."""

    flags: pd.DataFrame
    intervals: pd.DataFrame
    schedule: pd.DataFrame
    dose_checks: pd.DataFrame
    after_as_of: pd.DataFrame

    @property
    def open_flags(self) -> pd.DataFrame:
        """The open flags (what ``Review.open_flags_df`` gives, from the frame in hand)."""
        return self.flags[self.flags["status"] == "open"].reset_index(drop=True)


@st.cache_data(show_spinner=False, max_entries=32, scope="session")
def _patient_review(_rv: Review, key: ReviewKey, patient_id: str) -> PatientReview:
    one = _rv.for_patient(patient_id)
    return PatientReview(
        one.flags_df(), one.intervals_df(), one.schedule_df(), one.dose_checks_df(), one.after_as_of_df()
    )


def patient_review(patient_id: str) -> PatientReview | None:
    """One patient's part of the current review (computed once per review and patient:
    going back to a patient converts nothing again)."""
    rv = current_review()
    return _patient_review(rv, review_key(), patient_id) if rv is not None else None


def open_flags_reviewed(patient_id: str, open_flags: pd.DataFrame | None = None) -> pd.DataFrame:
    """One patient's open flags (the review the Panel shows), each with its latest review,
    not reviewed first.  ``open_flags``: the patient's ``PatientReview.open_flags`` when
    the caller has them already (each read of the cache is a copy)."""
    if open_flags is None:
        mine = patient_review(patient_id)
        open_flags = mine.open_flags if mine is not None else pd.DataFrame()
    flags = open_flags
    entries = review_log()
    return with_review_status(flags, entries[entries["patient_id"] == patient_id], rule_col="rule", as_of=as_of())


@st.cache_data(show_spinner="Checking the panel's flags...", max_entries=4, scope="session")
def _panel_flags(
    _ds: Dataset, _log: pd.DataFrame, dataset: str, log_version: str, day: dt.date, profile: str | None
) -> pd.DataFrame:
    return flags_for_review(_ds.labs, _ds.doses, _ds.patients, _ds.baselines, _log, day, profile)


def panel_flags(ds: Dataset, entries: pd.DataFrame) -> pd.DataFrame:
    """The panel's open flags with their reviews (``entries``: the review log)."""
    return _panel_flags(ds, entries, dataset_version(), review_log_version(), as_of(), profile_name())


# --------------------------------------------------------------------------- the picker's labels


def patient_labels(ds: Dataset) -> dict[str, str]:
    """:func:`patient_label` of every patient in one pass (a 5,000-patient picker)."""
    p = ds.patients
    names = p["name"] if "name" in p else [""] * len(p)
    return {
        pid: identity_label(pid, str(n or ""), b, a)
        for pid, n, b, a in zip(p["patient_id"], names, p["birth_date"], p["age"], strict=True)
    }


@st.cache_data(show_spinner=False, max_entries=4, scope="session")
def _labels(_ds: Dataset, dataset: str) -> dict[str, str]:
    return patient_labels(_ds)


def picker_labels(ds: Dataset) -> dict[str, str]:
    """The picker's label of every patient (computed once per loaded dataset)."""
    return _labels(ds, dataset_version()) if ds is get_dataset() else patient_labels(ds)


def patient_label(ds: Dataset, patient_id: str) -> str:
    """The picker's label: two identifiers beside the MRN ("DOE, Jane · 12-Mar-1980 · MRN 10023456")."""
    row = ds.patients[ds.patients["patient_id"] == patient_id]
    if row.empty:
        return identity_label(patient_id)
    r = row.iloc[0]
    return identity_label(patient_id, str(r.get("name", "") or ""), r["birth_date"], r["age"])
