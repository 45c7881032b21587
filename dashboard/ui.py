"""The only module of the package that imports streamlit: state keys, cached loaders
and the widgets several pages share.  Pages call these; everything they compute comes
from the pure modules.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path

import pandas as pd
import streamlit as st

from dashboard import model
from dashboard.dataset import Dataset
from dashboard.ingest import ImportOptions, ImportResult, Source, import_sources
from dashboard.markup import md_escape
from dashboard.views import PICKER_LIMIT, picker_list

ROOT = Path(__file__).resolve().parent.parent

# --------------------------------------------------------------------------- state keys
#: The loaded panel (:class:`Dataset`), shared by every page.
DATASET = "dataset"
#: The patient the Patient, Dosing and Compare pages show.
PATIENT = "selected_patient"
#: The date the schedule and "open" flags are evaluated on.
AS_OF = "as_of"
#: The sidebar widget showing it (its state can be dropped on a page switch; AS_OF stays).
AS_OF_INPUT = "as_of_input"
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

#: Where this session's panel lives: "session" (this browser session only, today's
#: behaviour) or "workspace" (the persistent store shared by the server's sessions).
MODE = "data_mode"
SESSION_ONLY, WORKSPACE = "session", "workspace"
#: The name recorded with entered doses and reviews when no login is configured.
REVIEWER = "reviewer_name"
#: The files behind the session's panel (name, content hash, size) for the import log.
SOURCES = "dataset_sources"
#: The outcome of the last workspace action, shown once: (level, text).
WS_NOTICE = "workspace_notice"
#: The workspace panel (doses with provenance, review log) when in workspace mode.
WS_PANEL = "workspace_panel"
#: Set by the router on every run; a page run without it bypassed the router.
_ROUTED = "_routed_through_app"


def init_state() -> None:
    """Set the defaults of the shared state (called by the router on every run)."""
    st.session_state[_ROUTED] = True
    st.session_state.setdefault(DATASET, None)
    st.session_state.setdefault(PATIENT, None)
    st.session_state.setdefault(AS_OF, dt.date.today())
    st.session_state.setdefault(UNITS, SI)
    st.session_state.setdefault(PROFILE, None)
    st.session_state.setdefault(DATE_ORDER, None)
    st.session_state.setdefault(MAPPING, {})
    st.session_state.setdefault(MODE, SESSION_ONLY)
    st.session_state.setdefault(REVIEWER, "")
    st.session_state.setdefault(SOURCES, ())


def page_guard() -> None:
    """Send a page that was started without the router back through it.

    On a fresh server, a first request for a page URL (e.g. a bookmark to /compare)
    can make Streamlit run ``pages/compare.py`` directly in its legacy multipage mode,
    skipping the router: no shared state, no sidebar, no login check.  Every page calls
    this first; it switches the legacy mode off and reruns, and the rerun goes through
    ``streamlit_app.py`` to the same page.

    It also refuses the page to a logged-out user when login is configured, whichever
    way the page was reached (the router offers them only the login page anyway).
    """
    if needs_login():
        login_prompt()
        st.stop()
    if st.session_state.get(_ROUTED):
        return
    from streamlit.runtime.pages_manager import PagesManager

    PagesManager.uses_pages_directory = False
    st.rerun()


# --------------------------------------------------------------------------- login


#: Returned by :func:`auth_section` when secrets exist but cannot be read.
BROKEN = "broken"


def auth_section():  # -> dict | str | None
    """The ``[auth]`` section of the secrets: None when login is not configured,
    :data:`BROKEN` when the secrets cannot be read (then every patient page is refused)."""
    from streamlit.errors import StreamlitSecretNotFoundError

    try:
        section = st.secrets.get("auth")
    except StreamlitSecretNotFoundError as exc:
        if getattr(exc, "error_id", "") == "no-secrets-found":
            return None  # no secrets at all: login is not configured
        return BROKEN  # a damaged secrets.toml must not open the app to everyone
    except Exception:
        return BROKEN
    return dict(section) if section else None


def login_configured() -> bool:
    return auth_section() is not None


def logged_in() -> bool:
    return bool(st.user.get("is_logged_in"))


def needs_login() -> bool:
    """True when login is configured and this session has not logged in: the router then
    offers only the login page, never a page with patient data."""
    return login_configured() and not logged_in()


def login_provider(section) -> str | None:
    """The provider to log in with: the default ``[auth]`` one, else the first named one."""
    if not isinstance(section, dict) or "client_id" in section:
        return None
    named = [k for k, v in section.items() if isinstance(v, dict)]
    return named[0] if named else None


def log_in() -> None:
    """Callback of the "Log in" button."""
    provider = login_provider(auth_section())
    st.login(provider) if provider else st.login()


def login_prompt() -> None:
    """What a logged-out user sees: why, and the "Log in" button (no patient data)."""
    st.title("Immunosuppressant lab monitor")
    st.write(
        "This dashboard holds patient data. Log in with your organisation's account to load, review or export a panel."
    )
    if auth_section() == BROKEN:
        st.error(
            "Login is set up on this server but its settings (.streamlit/secrets.toml) cannot be read. "
            "Ask the administrator to check them; no patient page is available until then.",
            icon=":material/lock:",
        )
    else:
        st.button("Log in", type="primary", icon=":material/login:", key="login", on_click=log_in)
    st.caption(DISCLAIMER)


def get_dataset() -> Dataset | None:
    ds = st.session_state.get(DATASET)
    return ds if isinstance(ds, Dataset) else None


def set_dataset(ds: Dataset | None) -> None:
    st.session_state[DATASET] = ds
    st.session_state[PATIENT] = None
    if ds is not None:
        set_as_of(ds.extract_date or dt.date.today())


def set_as_of(day: dt.date) -> None:
    """Change the as-of date (call from a callback: it also moves the sidebar widget)."""
    st.session_state[AS_OF] = day
    st.session_state[AS_OF_INPUT] = day


def _as_of_changed() -> None:
    st.session_state[AS_OF] = st.session_state[AS_OF_INPUT]


def replace_dataset(ds: Dataset) -> None:
    """Swap in an edited copy of the current dataset, keeping the selection."""
    st.session_state[DATASET] = ds


_REVIEW_CACHE = "_review_cache"
_PANEL_CACHE = "_panel_cache"


def current_review():  # -> dashboard.rules.Review | None
    """The review of the loaded panel under the active profile and as-of date.

    Kept in the session (not st.cache_data: hashing a million-row frame on every rerun
    would cost more than it saves) and recomputed only when the dataset, the profile,
    the as-of date or a saved profile changes.
    """
    ds = get_dataset()
    if ds is None:
        return None
    from dashboard.rules import RuleError, review_dataset
    from dashboard.rules.engine import profiles_dir

    profile = st.session_state.get(PROFILE)
    try:
        stamp = max((p.stat().st_mtime for p in profiles_dir().glob("*.json")), default=0.0)
    except OSError:
        stamp = 0.0
    key = (profile, as_of(), stamp)
    cached = st.session_state.get(_REVIEW_CACHE)
    if cached is not None and cached[0] is ds and cached[1] == key:
        return cached[2]
    try:
        rv = review_dataset(ds, profile, as_of())
    except RuleError as exc:
        st.warning(
            f"Profile '{md_escape(profile)}' could not be used ({md_escape(exc)}); the default profile is used instead."
        )
        rv = review_dataset(ds, None, as_of())
    st.session_state[_REVIEW_CACHE] = (ds, key, rv)
    return rv


def current_panel():  # -> pandas.DataFrame
    """The panel table of the current review (cached with it)."""
    from dashboard.panel import panel_table

    ds, rv = get_dataset(), current_review()
    if ds is None or rv is None:
        return None
    cached = st.session_state.get(_PANEL_CACHE)
    if cached is not None and cached[0] is rv and cached[1] == unit_system():
        return cached[2]
    table = panel_table(ds, rv, unit_system())
    st.session_state[_PANEL_CACHE] = (rv, unit_system(), table)
    return table


def current_review_log() -> pd.DataFrame:
    """The workspace's review log when a workspace panel is open, else an empty log."""
    from dashboard.reviews import empty_log

    panel = st.session_state.get(WS_PANEL)
    if in_workspace() and panel is not None:
        return panel.reviews
    return empty_log()


def current_panel_with_reviews():  # -> pandas.DataFrame
    """The panel table with the review state of each patient's open flags."""
    from dashboard.panel import with_reviews

    table, rv = current_panel(), current_review()
    if table is None or rv is None:
        return table
    return with_reviews(table, rv.open_flags_df(), current_review_log())


def as_of() -> dt.date:
    return st.session_state.get(AS_OF) or dt.date.today()


def unit_system() -> str:
    return st.session_state.get(UNITS, SI)


# --------------------------------------------------------------------------- loaders


@st.cache_data(show_spinner="Reading files...", max_entries=8, scope="session")
def import_files(
    files: tuple[tuple[str, bytes], ...], date_order: str | None, mapping: tuple[tuple[str, str], ...]
) -> ImportResult:
    """Import uploaded files (cached per session on their bytes and the choices)."""
    sources = [Source(name, data) for name, data in files]
    return import_sources(sources, ImportOptions(date_order=date_order, mapping=dict(mapping)))


@st.cache_data(show_spinner="Loading the sample panel...", max_entries=2)
def load_sample_panel() -> tuple[ImportResult, dt.date | None]:
    """The default sample set from ``sample_data/`` (synthetic: shared across sessions)."""
    from dashboard.sample import default_files, extract_date

    files = default_files(ROOT / "sample_data")
    sources = [Source(p.name, p.read_bytes()) for p in files]
    return import_sources(sources, ImportOptions()), extract_date(ROOT / "sample_data")


def load_sample_into_session() -> None:
    result, extract = load_sample_panel()
    set_dataset(Dataset.from_import(result, "Sample panel (synthetic)", extract))
    from dashboard.sample import default_files

    _session_only(tuple((p.name, p.read_bytes()) for p in default_files(ROOT / "sample_data")))


# --------------------------------------------------------------------------- widgets


DISCLAIMER = (
    "Decision support only. This tool highlights results against published thresholds; it does not "
    "diagnose or prescribe. Check every flag against the raw result, the patient and your local "
    "protocol. Local protocols override the defaults shown here."
)


def disclaimer() -> None:
    st.caption(":material/info: " + DISCLAIMER)


def require_dataset(what: str = "this page") -> Dataset:
    """The loaded dataset, or an empty state pointing to the upload page (stops the run)."""
    ds = get_dataset()
    if ds is None or ds.is_empty:
        st.info(
            f"No panel loaded yet. Load a file or the sample panel on the Home page to use {what}.",
            icon=":material/upload_file:",
        )
        st.page_link("pages/home.py", label="Go to Home", icon=":material/home:")
        st.stop()
    return ds


def patient_label(ds: Dataset, patient_id: str) -> str:
    row = ds.patients[ds.patients["patient_id"] == patient_id]
    if row.empty:
        return patient_id
    r = row.iloc[0]
    bits = [patient_id]
    if r["sex"]:
        bits.append(r["sex"])
    if r["diagnosis"]:
        bits.append(str(r["diagnosis"])[:40])
    return " · ".join(bits)


def patient_labels(ds: Dataset) -> dict[str, str]:
    """:func:`patient_label` of every patient in one pass (a 5,000-patient picker)."""
    p = ds.patients
    bits = [p["patient_id"], p["sex"], p["diagnosis"].astype(str).str.slice(0, 40)]
    return {row[0]: " · ".join(b for b in row if b) for row in zip(*bits, strict=True)}


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
    labels = patient_labels(ds)
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


def sidebar_controls() -> None:
    """As-of date and unit system, shown on every page (and who is logged in)."""
    with st.sidebar:
        if login_configured() and logged_in():
            who = st.user.get("email") or st.user.get("name") or "logged in"
            st.caption(f"Logged in as {md_escape(who)}")
            st.button("Log out", key="logout", icon=":material/logout:", on_click=st.logout)
        ds = get_dataset()
        if ds is not None and not ds.is_empty:
            st.caption(f"Loaded: **{md_escape(ds.label)}** · {len(ds.patient_ids)} patients · {len(ds.labs):,} results")
        if AS_OF_INPUT not in st.session_state:
            st.session_state[AS_OF_INPUT] = as_of()
        st.date_input(
            "As of",
            key=AS_OF_INPUT,
            on_change=_as_of_changed,
            help="The date the monitoring schedule and open flags are evaluated on (an extract's date for a static export).",
        )
        st.radio(
            "Units",
            [SI, US],
            key=UNITS,
            horizontal=True,
            format_func=lambda s: "SI (g/L, ×10⁹/L)" if s == SI else "US (g/dL, K/µL)",
        )


def show_table(df: pd.DataFrame, **kwargs) -> None:
    """A dataframe shown as text (never HTML), without the index."""
    st.dataframe(df, hide_index=True, width="stretch", **kwargs)


def download_csv(label: str, df: pd.DataFrame, file_name: str, key: str | None = None) -> None:
    from dashboard.export import to_csv_bytes

    st.download_button(
        label, to_csv_bytes(df), file_name=file_name, mime="text/csv", key=key, icon=":material/download:"
    )


def upload_limits() -> str:
    """The upload limits in force, in words (server.maxUploadSize and the row limit)."""
    from dashboard.ingest.tabular import max_rows

    return f"Up to {st.get_option('server.maxUploadSize'):,} MB and {max_rows():,} rows per file."


def files_from_uploader(uploaded: Sequence) -> tuple[tuple[str, bytes], ...]:
    return tuple((f.name, f.getvalue()) for f in uploaded)


#: Fingerprint of the upload (files + import choices) last turned into the dataset.
_LAST_UPLOAD = "last_upload_fingerprint"


def on_upload() -> None:
    """Callback of the uploader: import what it now holds (runs before the page)."""
    uploaded = st.session_state.get(UPLOADER) or []
    if uploaded:
        import_uploaded(uploaded)


def reimport_with_choices(date_order: str | None = None, mapping: dict[str, str] | None = None) -> None:
    """Callback: store an import choice and import the uploaded files again."""
    if date_order is not None:
        st.session_state[DATE_ORDER] = date_order
    if mapping is not None:
        st.session_state[MAPPING] = mapping
    on_upload()


def _map_key(file_name: str, column: str) -> str:
    return f"map::{file_name}::{column}"


def _apply_mapping(file_name: str, columns: Sequence[str]) -> None:
    mapping = dict(st.session_state[MAPPING])
    for col in columns:
        target = st.session_state.get(_map_key(file_name, col), "(leave)")
        if target != "(leave)":
            mapping[col] = target
    reimport_with_choices(mapping=mapping)


def mapping_form(file_report) -> None:
    """The manual column mapping for a file whose columns were not recognised."""
    from dashboard.ingest.mapping import MAP_TARGETS

    st.error(
        f"**{md_escape(file_report.display_name)}**: {md_escape(file_report.error)}", icon=":material/table_chart:"
    )
    with st.form(f"mapping::{file_report.display_name}"):
        st.write("Tell the dashboard what each column holds (fields, or an analyte for one-column-per-test files):")
        targets = ["(leave)", *MAP_TARGETS, *model.ANALYTES]
        for col in file_report.columns_found:
            st.selectbox(md_escape(col), targets, key=_map_key(file_report.display_name, col))
        st.form_submit_button(
            "Import with this mapping",
            on_click=_apply_mapping,
            args=(file_report.display_name, list(file_report.columns_found)),
        )


def import_uploaded(uploaded: Sequence) -> None:
    """Import the uploader's files when they (or the import choices) changed.

    Call it from a widget callback: it changes shared state (the dataset and the
    as-of date) that other widgets display.
    """
    import hashlib

    files = files_from_uploader(uploaded)
    mapping = tuple(sorted(st.session_state[MAPPING].items()))
    fingerprint = (
        tuple((name, hashlib.sha256(data).hexdigest()) for name, data in files),
        st.session_state[DATE_ORDER],
        mapping,
    )
    if st.session_state.get(_LAST_UPLOAD) == fingerprint:
        return
    result = import_files(files, st.session_state[DATE_ORDER], mapping)
    set_dataset(Dataset.from_import(result, ", ".join(name for name, _ in files)))
    st.session_state[_LAST_UPLOAD] = fingerprint
    _session_only(files)


# --------------------------------------------------------------------------- workspace


def _session_only(files: Sequence[tuple[str, bytes]]) -> None:
    """A new upload or sample: session data until the user saves it (never written)."""
    from dashboard.store import FileRecord

    st.session_state[MODE] = SESSION_ONLY
    st.session_state[WS_PANEL] = None
    st.session_state[SOURCES] = tuple(FileRecord.of(Source(name, data)) for name, data in files)


def workspace():  # -> dashboard.store.Workspace
    from dashboard.store import Workspace, workspace_path

    return Workspace(workspace_path(), timeout=15)


def reviewer() -> str:
    """Who is entering: the login's e-mail when login is configured, else the typed name."""
    if getattr(st.user, "is_logged_in", False) and st.user.get("email"):
        return str(st.user.get("email"))
    return str(st.session_state.get(REVIEWER, "")).strip()


def in_workspace() -> bool:
    return st.session_state.get(MODE) == WORKSPACE and st.session_state.get(WS_PANEL) is not None


def notice(level: str, text: str) -> None:
    st.session_state[WS_NOTICE] = (level, text)


def show_notice() -> None:
    """The outcome of the last workspace action (as text, never HTML), shown once."""
    level, text = st.session_state.pop(WS_NOTICE, (None, ""))
    if level:
        getattr(st, level)("  \n".join(md_escape(line) for line in text.split("\n")))


def _guard(action):
    """Run a workspace action from a callback; a busy or refused workspace becomes a notice."""
    from dashboard.store import EntryRejected, WorkspaceBusy, WorkspaceError

    try:
        return action()
    except EntryRejected as exc:
        notice("warning" if not exc.errors else "error", "Not saved: " + "; ".join(exc.errors + exc.warnings))
    except (WorkspaceBusy, WorkspaceError) as exc:
        notice("error", str(exc))
    return None


def open_workspace_panel() -> None:
    """Callback: show the workspace's panel in this session (workspace mode)."""
    from dashboard.store.panel import open_panel

    panel = _guard(lambda: open_panel(workspace()))
    if panel is None:
        st.session_state[MODE] = SESSION_ONLY
        return
    keep = st.session_state.get(PATIENT)
    first_open = not in_workspace()
    st.session_state[WS_PANEL] = panel
    st.session_state[DATASET] = panel.dataset()
    st.session_state[MODE] = WORKSPACE
    st.session_state[PATIENT] = keep if keep in set(panel.patients["patient_id"]) else None
    if first_open:
        st.session_state[AS_OF] = panel.as_of


def use_session_only() -> None:
    """Callback: leave the workspace; this session starts empty again."""
    st.session_state[MODE] = SESSION_ONLY
    if st.session_state.get(WS_PANEL) is not None:
        st.session_state[WS_PANEL] = None
        set_dataset(None)


def on_mode_change() -> None:
    open_workspace_panel() if st.session_state[MODE] == WORKSPACE else use_session_only()


def save_session_to_workspace() -> None:
    """Callback: write this session's panel to the workspace, then work from there."""
    ds = get_dataset()
    if ds is None or ds.is_empty:
        return
    from dashboard.ingest import ImportReport

    result = ImportResult(
        model.from_pandas("labs", ds.labs),
        model.from_pandas("doses", ds.doses),
        model.from_pandas("patients", ds.patients),
        ds.report or ImportReport(),
    )
    out = _guard(
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
        notice("success" if out.stored else "info", out.summary())
        open_workspace_panel()


def _then_refresh(action, done: str) -> None:
    if _guard(action) is not None:
        notice("success", done)
        open_workspace_panel()


def add_dose_from_form() -> None:
    from dashboard.dose_entry import DoseEntry

    s = st.session_state
    entry = DoseEntry(
        patient_id=s.get(PATIENT) or "",
        drug=s["dose_drug"],
        dose=float(s["dose_amount"] or 0),
        start=s["dose_start"],
        dose_unit=s["dose_unit"],
        frequency=s["dose_frequency"],
        route=s["dose_route"],
        end=s["dose_end"],
        note=s["dose_note"],
    )
    _then_refresh(
        lambda: workspace().add_dose(entry, by=reviewer(), confirmed=s["dose_confirm"]) or True,
        f"Dose saved for {entry.patient_id}.",
    )


def change_dose_from_form() -> None:
    s = st.session_state
    dose_id, on = int(s["change_dose_id"]), s["change_on"]
    if s["change_action"] == "stop":
        action = lambda: workspace().stop_dose(dose_id, on, by=reviewer(), note=s["change_note"]) or True  # noqa: E731
    else:
        action = lambda: workspace().change_dose(  # noqa: E731
            dose_id,
            on,
            float(s["change_amount"] or 0),
            s["change_frequency"],
            by=reviewer(),
            note=s["change_note"],
            confirmed=s["change_confirm"],
        )
    _then_refresh(action, f"Dose {s['change_action']} on {on} saved.")


def panel_flags(ds: Dataset, log: pd.DataFrame) -> pd.DataFrame:
    """The panel's open flags with their reviews (remembered per data, date and profile)."""
    from dashboard.reviews import flags_for_review

    panel = st.session_state.get(WS_PANEL)
    key = (id(ds), panel.data_version if panel is not None else None, as_of(), st.session_state.get(PROFILE))
    memo = st.session_state.get("_panel_flags")
    if memo is None or memo[0] != key:
        flags = flags_for_review(
            ds.labs, ds.doses, ds.patients, ds.baselines, log, as_of(), st.session_state.get(PROFILE)
        )
        memo = (key, flags)
        st.session_state["_panel_flags"] = memo
    return memo[1]


def patient_flags(ds: Dataset, log: pd.DataFrame, patient_id: str) -> pd.DataFrame:
    """One patient's open flags with their reviews (the rules run on that patient only)."""
    from dashboard.reviews import flags_for_review

    one = ds.for_patient(patient_id)
    mine = log[log["patient_id"] == patient_id]
    return flags_for_review(
        one.labs, one.doses, one.patients, one.baselines, mine, as_of(), st.session_state.get(PROFILE)
    )


def flags_table(flags: pd.DataFrame, key: str, with_patient: bool = True) -> pd.DataFrame:
    """Open flags, not reviewed first, with a switch hiding the acknowledged ones."""
    from dashboard import reviews
    from dashboard import summary_export as sx

    if st.toggle("Hide acknowledged flags", key=key):
        flags = reviews.unacknowledged(flags)
    shown = sx.flags_frame(flags).drop(columns=["Flag key"] + ([] if with_patient else ["Patient"]))
    show_table(shown)
    return flags


def add_review_from_form() -> None:
    from dashboard.reviews import Review, review_of

    s = st.session_state
    about, action, note = s.get("review_about") or "", s["review_action"] or "", s["review_note"]
    pid = s.get(PATIENT) or ""
    review = review_of(about, action, note) if about else Review(patient_id=pid, action=action, note=note)
    _then_refresh(lambda: workspace().add_review(review, by=reviewer()), "Review recorded.")


def export_buttons(ds: Dataset, panel) -> None:
    """Download buttons for the panel and the selected patient (files made on click)."""
    from dashboard import summary_export as sx
    from dashboard.reviews import empty_log

    log = panel.reviews if panel is not None else empty_log()
    doses = panel.doses if panel is not None else ds.doses
    day = as_of()

    def table() -> pd.DataFrame:
        return sx.panel_frame(ds.labs, doses, ds.patients, log, day)

    st.markdown(f"**The panel** ({len(ds.patient_ids):,} patients, latest results, as of {day})")
    flags = panel_flags(ds, log)
    st.caption(f"Open flags on {day}: {len(flags):,} ({int((~flags['reviewed']).sum()):,} not reviewed).")
    a, b = st.columns(2)
    a.download_button(
        "Flagged results (CSV)", lambda: sx.flagged_csv(flags), f"flags_{day}.csv", "text/csv", key="x_fc"
    )
    b.download_button("Flagged results (Excel)", lambda: sx.flagged_xlsx(flags), f"flags_{day}.xlsx", key="x_fx")
    left, right = st.columns(2)
    left.download_button("Panel (CSV)", lambda: sx.panel_csv(table()), f"panel_{day}.csv", "text/csv", key="x_pcsv")
    right.download_button(
        "Panel (Excel)", lambda: sx.panel_xlsx(table(), ds.labs, doses, log), f"panel_{day}.xlsx", key="x_pxlsx"
    )
    pid = st.session_state.get(PATIENT)
    if not pid:
        return
    from dashboard.export import safe_file_name

    fid = safe_file_name(pid)
    summary = sx.patient_summary(
        ds.labs, doses, ds.patients, ds.baselines, log, pid, day, ds.label, st.session_state.get(PROFILE)
    )
    st.markdown(f"**Patient {md_escape(pid)}**")
    a, b, c = st.columns(3)
    a.download_button(
        "Patient summary (PDF)",
        lambda: sx.patient_summary_pdf(summary),
        f"summary_{fid}_{day}.pdf",
        "application/pdf",
        key="x_pdf",
        type="primary",
        icon=":material/picture_as_pdf:",
    )
    b.download_button(
        "Results (CSV)", lambda: sx.patient_csv(ds.labs, pid), f"results_{fid}.csv", "text/csv", key="x_c"
    )
    c.download_button(
        "Results, doses, reviews (Excel)", lambda: sx.patient_xlsx(ds.labs, doses, log, pid), f"{fid}.xlsx", key="x_x"
    )


__all__ = [
    "AS_OF",
    "DATASET",
    "DATE_ORDER",
    "MAPPING",
    "PATIENT",
    "PROFILE",
    "UNITS",
    "UPLOADER",
    "Dataset",
    "model",
]


# --------------------------------------------------------------------------- cumulative dose (issue 17)


def show_cumulative_dose(cd, key: str) -> None:
    """A patient's cumulative cyclophosphamide (:class:`dashboard.dosing.CumulativeDose`)
    against the cited thresholds; the Patient and Dosing pages share it."""
    total = f"{cd.total_g:.3g} g" if cd.complete else f"at least {cd.total_g:.3g} g"
    st.metric("Cumulative cyclophosphamide to the review date", total)
    st.caption(
        f"From the dose history: {cd.pulses} pulse(s) (administered mg) and {cd.oral_days} day(s) of oral "
        f"dosing (mg/day x days). {cd.context}." + ("" if cd.complete else f" Not counted: {md_escape(cd.uncounted)}.")
    )
    above = cd.thresholds[(cd.thresholds["Above since"] != "") & (cd.thresholds["Applies"] == "yes")]
    for _, row in above.iterrows():
        st.warning(
            f"Above {row['Threshold (g)']:g} g since {row['Above since']}: {md_escape(row['What the source found'])} "
            f"{row['Sources']}",
            icon=":material/warning:",
        )
    show_table(cd.thresholds, key=f"{key}_cumulative_thresholds")
