"""The session state every page shares: its keys, their defaults and small accessors.

Every key the pages share is named here once.  A value that several widgets show (the
as-of date, the mode) is changed only through the setters below, from a callback or
before the widget is drawn (Streamlit refuses a change of a drawn widget's state).
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import TYPE_CHECKING, Any

import streamlit as st

from dashboard.dataset import Dataset

if TYPE_CHECKING:  # only for the annotations (the store is not needed to read the state)
    from dashboard.rules.as_of import AsOf
    from dashboard.store.panel import WorkspacePanel

# --------------------------------------------------------------------------- keys
#: The loaded panel (:class:`Dataset`), shared by every page.
DATASET = "dataset"
#: The patient the Patient, Dosing and Compare pages show.
PATIENT = "selected_patient"
#: The date the schedule and "open" flags are evaluated on.
AS_OF = "as_of"
#: The sidebar widget showing it (its state can be dropped on a page switch; AS_OF stays).
AS_OF_INPUT = "as_of_input"
#: The as-of date the loaded panel opened with and why (:class:`dashboard.rules.as_of.AsOf`).
AS_OF_DEFAULT = "as_of_default"
#: "SI" or "US" (conventional) units for display.
UNITS = "unit_system"
#: Name of the active threshold profile.
PROFILE = "rules_profile"
#: Choices made on the upload page: date order and manual column mapping.
DATE_ORDER = "import_date_order"
MAPPING = "import_mapping"
#: Key of the uploader widget (so a new upload can be told from a rerun).
UPLOADER = "upload_files"

SI, US = "SI", "US"

#: Where this session's panel lives: "session" (this browser session only) or
#: "workspace" (the persistent store shared by the server's sessions).  It is the key
#: of the Workspace page's radio, drawn with ``persist_state="session"``: by default
#: Streamlit drops a widget's state on the first rerun of a page that does not draw it,
#: which sent every other page back to "session" and an empty review log.
MODE = "data_mode"
SESSION_ONLY, WORKSPACE = "session", "workspace"
#: The name recorded with entered doses and reviews when no login is configured (the key
#: of its text box, kept for the session: asked once).
REVIEWER = "reviewer_name"
#: The URL query parameter that brings a reloaded browser tab back to the workspace panel.
URL_PANEL = "panel"
#: The files behind the session's panel (name, content hash, size) for the import log.
SOURCES = "dataset_sources"
#: The outcome of the last workspace action, shown once: (level, text).
WS_NOTICE = "workspace_notice"
#: The workspace panel (doses with provenance, review log) when in workspace mode.
WS_PANEL = "workspace_panel"
#: Set by the router on every run; a page run without it bypassed the router.
ROUTED = "_routed_through_app"
#: Widgets whose value must outlive a visit to another page (filters, the mode, the
#: reviewer's name): ``persist_state`` keeps it for the session.
PERSIST = "session"
#: The version tokens of the objects held under a key (see :func:`version_of`).
_VERSIONS = "_versions"

#: What the one as-of date is for (the sidebar's help, the pages' pointers to it).
AS_OF_HELP = (
    "The one date every page and export of this session judges on: open flags, the monitoring "
    "schedule and days overdue, current doses. Results and doses after it are left out of the review. "
    "A static extract proposes its own date."
)


def init_state() -> None:
    """Set the defaults of the shared state (called by the router on every run)."""
    s = st.session_state
    s[ROUTED] = True
    s.setdefault(DATASET, None)
    s.setdefault(PATIENT, None)
    s.setdefault(AS_OF, dt.date.today())
    s.setdefault(UNITS, SI)
    s.setdefault(PROFILE, None)
    s.setdefault(DATE_ORDER, None)
    s.setdefault(MAPPING, {})
    s.setdefault(MODE, SESSION_ONLY)
    s.setdefault(REVIEWER, "")
    s.setdefault(SOURCES, ())


# --------------------------------------------------------------------------- versions


def version_of(key: str) -> str:
    """The version token of the object held under ``key``: a new random token whenever a
    different object is stored there (however it was stored), the same token while it
    stays.  The caches key on it instead of hashing a million-row frame on every run.

    The token is kept beside a reference to the object it belongs to, so it is compared
    by identity with a live object (never by ``id()``, which CPython reuses once an
    object is freed).  Random tokens never collide across sessions.
    """
    held = st.session_state.get(key)
    versions: dict[str, tuple[Any, str]] = st.session_state.setdefault(_VERSIONS, {})
    current = versions.get(key)
    if current is None or current[0] is not held:
        current = (held, uuid.uuid4().hex if held is not None else "none")
        versions[key] = current
    return current[1]


# --------------------------------------------------------------------------- the dataset


def get_dataset() -> Dataset | None:
    ds = st.session_state.get(DATASET)
    return ds if isinstance(ds, Dataset) else None


def dataset_version() -> str:
    """The version token of the loaded dataset (see :func:`version_of`)."""
    return version_of(DATASET)


def set_dataset(ds: Dataset | None) -> None:
    """A new panel: no patient selected, the as-of date it opens with (call from a callback)."""
    st.session_state[DATASET] = ds
    st.session_state[PATIENT] = None
    if ds is not None:
        chosen = ds.default_as_of()
        st.session_state[AS_OF_DEFAULT] = chosen
        set_as_of(chosen.date)


def replace_dataset(ds: Dataset) -> None:
    """Swap in an edited copy of the current dataset, keeping the selection."""
    st.session_state[DATASET] = ds


# --------------------------------------------------------------------------- as-of date, units, profile


def as_of() -> dt.date:
    day = st.session_state.get(AS_OF)
    return day if isinstance(day, dt.date) else dt.date.today()


def set_as_of(day: dt.date) -> None:
    """Change the as-of date (call from a callback: it also moves the sidebar widget)."""
    st.session_state[AS_OF] = day
    st.session_state[AS_OF_INPUT] = day


def as_of_changed() -> None:
    """Callback of the sidebar's date box: its value becomes the as-of date."""
    st.session_state[AS_OF] = st.session_state[AS_OF_INPUT] or as_of()


def as_of_default() -> AsOf | None:
    """The as-of date the loaded panel opened with, and why."""
    return st.session_state.get(AS_OF_DEFAULT)


def as_of_note() -> str:
    """Why the review is as of its date, while it is still the date the panel opened with."""
    chosen = as_of_default()
    return chosen.note if chosen is not None and chosen.date == as_of() else ""


def unit_system() -> str:
    return str(st.session_state.get(UNITS, SI))


def profile_name() -> str | None:
    """The active threshold profile (None: the default one)."""
    name = st.session_state.get(PROFILE)
    return str(name) if name else None


def selected_patient() -> str | None:
    pid = st.session_state.get(PATIENT)
    return str(pid) if pid else None


# --------------------------------------------------------------------------- where the panel lives


def mode() -> str:
    """Where this session's panel lives: :data:`SESSION_ONLY` or :data:`WORKSPACE`."""
    return str(st.session_state.get(MODE, SESSION_ONLY))


def set_mode(value: str) -> None:
    """Set the mode (from a callback or before the Workspace page's radio is drawn).

    Unchanged values are not written: a drawn widget's state may not be set again."""
    if st.session_state.get(MODE) != value:
        st.session_state[MODE] = value


def workspace_panel() -> WorkspacePanel | None:
    """The workspace panel this session shows (None in session-only mode)."""
    return st.session_state.get(WS_PANEL)


def in_workspace() -> bool:
    return mode() == WORKSPACE and workspace_panel() is not None


# --------------------------------------------------------------------------- notices


def notice(level: str, text: str) -> None:
    """Keep the outcome of an action for the next run of the page (shown once)."""
    st.session_state[WS_NOTICE] = (level, text)


def pending_notice() -> tuple[str | None, str]:
    """The notice waiting to be shown, without taking it."""
    return st.session_state.get(WS_NOTICE) or (None, "")


def take_notice() -> tuple[str | None, str]:
    """The notice waiting to be shown; it is shown once."""
    return st.session_state.pop(WS_NOTICE, None) or (None, "")
