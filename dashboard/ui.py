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

#: Where this session's panel lives: "session" (this browser session only, today's
#: behaviour) or "workspace" (the persistent store shared by the server's sessions).
#: It is the key of the Workspace page's radio, drawn with ``persist_state="session"``:
#: by default Streamlit drops a widget's state on the first rerun of a page that does not
#: draw it, which sent every other page back to "session" and an empty review log (the
#: reviews that showed only on the first render of the Panel).
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


#: Widgets whose value must outlive a visit to another page (filters, the mode, the
#: reviewer's name): ``persist_state`` keeps it for the session.
PERSIST = "session"


def mode() -> str:
    """Where this session's panel lives: :data:`SESSION_ONLY` or :data:`WORKSPACE`."""
    return st.session_state.get(MODE, SESSION_ONLY)


def _set_mode(value: str) -> None:
    """Set the mode (call from a callback or before any widget is drawn)."""
    st.session_state[MODE] = value


def restore_from_url() -> None:
    """A reloaded browser tab (a new session) that showed the workspace panel shows it again.

    The router calls this on every run: a fresh session whose URL says
    ``?panel=workspace`` opens the workspace panel; afterwards the URL follows the mode,
    so a reload (or a bookmark) of any page comes back to the same panel, reviews and all.
    """
    fresh = not st.session_state.get("_url_checked")
    st.session_state["_url_checked"] = True
    if fresh and st.query_params.get(URL_PANEL) == WORKSPACE and get_dataset() is None:
        open_workspace_panel()
    if in_workspace():
        if st.query_params.get(URL_PANEL) != WORKSPACE:
            st.query_params[URL_PANEL] = WORKSPACE
    elif URL_PANEL in st.query_params:
        del st.query_params[URL_PANEL]


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


#: Returned by :func:`auth_section` when login is set up but cannot be used.
BROKEN = "broken"


def auth_section():  # -> dict | str | None
    """The ``[auth]`` section of the secrets: None when login is not configured (no
    ``[auth]``), :data:`BROKEN` when it is present but unusable, or the secrets cannot be
    trusted (unreadable, a dangling link): then every page is refused (fail closed)."""
    return _auth_state()[0]


def auth_failure() -> str:
    """Why login is :data:`BROKEN`, for the administrator ("" otherwise)."""
    return _auth_state()[1]


def _auth_state() -> tuple[object, str]:
    from streamlit.errors import StreamlitSecretNotFoundError

    from dashboard.auth_config import auth_problem, secrets_files_problem

    why = secrets_files_problem(st.get_option("secrets.files") or [])
    if why:
        return BROKEN, why
    try:
        section = st.secrets.get("auth")
    except StreamlitSecretNotFoundError as exc:
        if getattr(exc, "error_id", "") == "no-secrets-found":
            return None, ""  # no secrets at all: login is not configured
        return BROKEN, "the secrets file cannot be parsed"
    except Exception:
        return BROKEN, "the secrets cannot be read"
    if section is None:
        return None, ""
    section = section.to_dict() if hasattr(section, "to_dict") else section
    why = auth_problem(section)
    return (BROKEN, why) if why else (dict(section), "")


def login_configured() -> bool:
    return auth_section() is not None


def logged_in() -> bool:
    return bool(st.user.get("is_logged_in"))


def close_metrics() -> None:
    """With login on, ``/_stcore/metrics`` serves no figures (to anyone).

    Streamlit serves that endpoint without any login check (its documentation calls it
    unauthenticated), and it shows every session's cache activity; there is no setting
    to turn it off.  The server's stats manager is told to report nothing.
    """
    from streamlit import runtime

    if not runtime.exists():
        return
    stats = runtime.get_instance().stats_mgr
    stats.get_stats = lambda family_names=None: {}  # type: ignore[method-assign]
    stats.registered_families = lambda: []  # type: ignore[method-assign]


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
            "Login is set up on this server but its settings (.streamlit/secrets.toml) cannot be read or used: "
            f"{md_escape(auth_failure())}. Ask the administrator to check them; no patient page is available "
            "until then.",
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
        chosen = ds.default_as_of()
        st.session_state[AS_OF_DEFAULT] = chosen
        set_as_of(chosen.date)


def set_as_of(day: dt.date) -> None:
    """Change the as-of date (call from a callback: it also moves the sidebar widget)."""
    st.session_state[AS_OF] = day
    st.session_state[AS_OF_INPUT] = day


def _as_of_changed() -> None:
    st.session_state[AS_OF] = st.session_state[AS_OF_INPUT] or as_of()


#: What the one as-of date is for (the sidebar's help, the pages' pointers to it).
AS_OF_HELP = (
    "The one date every page and export of this session judges on: open flags, the monitoring "
    "schedule and days overdue, current doses. Results and doses after it are left out of the review. "
    "A static extract proposes its own date."
)


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
        rv = review_dataset(ds, profile, as_of(), as_of_note())
    except RuleError as exc:
        st.warning(
            f"Profile '{md_escape(profile)}' could not be used ({md_escape(exc)}); the default profile is used instead."
        )
        rv = review_dataset(ds, None, as_of(), as_of_note())
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


def review_log() -> pd.DataFrame:
    """The review log every page and export reads: the workspace's when this session's
    panel is in the workspace, else an empty log (reviews are kept only there)."""
    from dashboard.reviews import empty_log

    panel = st.session_state.get(WS_PANEL)
    if in_workspace() and panel is not None:
        return panel.reviews
    return empty_log()


current_review_log = review_log  # the older name


def current_panel_with_reviews(unreviewed_first: bool = True):  # -> pandas.DataFrame
    """The panel table with the review state of each patient's open flags (read from
    :func:`review_log` on every run, like the Patient page and the exports)."""
    from dashboard.panel import with_reviews

    table, rv = current_panel(), current_review()
    if table is None or rv is None:
        return table
    return with_reviews(table, rv.open_flags_df(), review_log(), unreviewed_first)


def open_flags_reviewed(patient_id: str) -> pd.DataFrame:
    """One patient's open flags (the review the Panel shows), each with its latest review,
    not reviewed first."""
    from dashboard.reviews import with_review_status

    rv = current_review()
    flags = rv.for_patient(patient_id).open_flags_df()
    log = review_log()
    return with_review_status(flags, log[log["patient_id"] == patient_id], rule_col="rule")


def as_of() -> dt.date:
    return st.session_state.get(AS_OF) or dt.date.today()


def as_of_note() -> str:
    """Why the review is as of its date, while it is still the date the panel opened with."""
    chosen = st.session_state.get(AS_OF_DEFAULT)
    return chosen.note if chosen is not None and chosen.date == as_of() else ""


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
    """The picker's label: two identifiers beside the MRN ("DOE, Jane · 12-Mar-1980 · MRN 10023456")."""
    from dashboard.identity import patient_label as label

    row = ds.patients[ds.patients["patient_id"] == patient_id]
    if row.empty:
        return label(patient_id)
    r = row.iloc[0]
    return label(patient_id, str(r.get("name", "") or ""), r["birth_date"], r["age"])


def patient_labels(ds: Dataset) -> dict[str, str]:
    """:func:`patient_label` of every patient in one pass (a 5,000-patient picker)."""
    from dashboard.identity import patient_label as label

    p = ds.patients
    names = p["name"] if "name" in p else [""] * len(p)
    return {
        pid: label(pid, str(n or ""), b, a)
        for pid, n, b, a in zip(p["patient_id"], names, p["birth_date"], p["age"], strict=True)
    }


def identity_conflicts(patient_id: str) -> list[str]:
    """The identity conflicts the loaded panel's import report found for this patient."""
    ds = get_dataset()
    report = ds.report if ds is not None else None
    if report is None:
        return []
    return [c.message for c in report.identity_conflicts if c.patient_id == patient_id]


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
        # the one as-of date of the app: the widget always shows AS_OF (which every page,
        # review and export reads); a change of the widget writes AS_OF in its callback
        st.session_state[AS_OF_INPUT] = as_of()
        st.date_input(
            "As of",
            key=AS_OF_INPUT,
            on_change=_as_of_changed,
            help=AS_OF_HELP,
        )
        st.radio(
            "Units",
            [SI, US],
            key=UNITS,
            horizontal=True,
            format_func=lambda s: "SI (g/L, ×10⁹/L)" if s == SI else "US (g/dL, K/µL)",
        )


def show_table(df: pd.DataFrame, **kwargs):
    """A dataframe shown as text (never HTML), without the index."""
    return st.dataframe(df, hide_index=True, width="stretch", **kwargs)


#: The flag table of the Patient page: what fits at 1400 px; the rest of each flag in
#: full below it (select a row).
FLAG_COLUMNS_SHOWN = ["Date", "Analyte", "Value", "As reported", "CTCAE", "Severity", "Finding", "Status"]


def flags_with_detail(table: pd.DataFrame, key: str) -> None:
    """The flags (one line each) and, below, the selected flag in full, wrapped: finding,
    rule and source, the doses then and the days since the last dose change."""
    event = show_table(
        table,
        column_order=FLAG_COLUMNS_SHOWN,
        column_config={
            "Date": st.column_config.TextColumn(width=116),
            "Analyte": st.column_config.TextColumn(width=90),
            "Value": st.column_config.TextColumn(width=92),
            "As reported": st.column_config.TextColumn(width=92),
            "CTCAE": st.column_config.NumberColumn(width=54),
            "Severity": st.column_config.TextColumn(width=66),
            "Finding": st.column_config.TextColumn(width=316, help="In full below: select a row"),
            "Status": st.column_config.TextColumn(width=58),
        },
        on_select="rerun",
        selection_mode="single-row",
        key=key,
    )
    if table.empty:
        return
    rows = event.selection.rows if event is not None else []
    r = table.iloc[rows[0] if rows else 0]
    with st.container(border=True):
        st.caption("Selected flag in full (select a row above)" if not rows else "Selected flag in full")
        days = r["Days since dose change"]
        st.markdown(
            f"**{md_escape(r['Date'])} · {md_escape(r['Analyte'])} {md_escape(r['Value'])}** "
            f"(as reported: {md_escape(r['As reported'])}) · {md_escape(r['Severity'])} · {md_escape(r['Status'])}  \n"
            f"{md_escape(r['Finding'])}  \n"
            f"**Rule:** {md_escape(r['Rule'])} · **Source:** {md_escape(r['Source'])}  \n"
            f"**Doses then:** {md_escape(r['Doses then'] or 'none recorded')}"
            + (f" · {int(days)} days since the last dose change" if pd.notna(days) else "")
        )


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


def upload_key(kind: str, index: int) -> str:
    """A widget key for the ``index``-th file (or sheet) of the import report, keyed by the
    upload it belongs to, never by the file's name: next month's labs.csv uploaded beside
    this month's (two files of one name) crashed Home with a duplicate key."""
    return f"{kind}::{upload_token()}::{index}"


def upload_token() -> str:
    """A short token of the files (and choices) behind the loaded dataset."""
    import hashlib

    fingerprint = st.session_state.get(_LAST_UPLOAD)
    return hashlib.sha256(repr(fingerprint).encode()).hexdigest()[:10] if fingerprint else "data"


def _map_key(form: str, column_index: int) -> str:
    return f"{form}::column::{column_index}"


def _apply_mapping(form: str, columns: Sequence[str]) -> None:
    mapping = dict(st.session_state[MAPPING])
    for i, col in enumerate(columns):
        target = st.session_state.get(_map_key(form, i), "(leave)")
        if target != "(leave)":
            mapping[col] = target
    reimport_with_choices(mapping=mapping)


def mapping_form(file_report, index: int = 0, needed: bool = True) -> None:
    """The column mapping of the ``index``-th file of the import report: for a file whose
    columns were not recognised (``needed``), or to change any choice the import made by
    itself (every column is shown with how it was read; only the ones changed are applied)."""
    from dashboard.ingest.mapping import MAP_TARGETS
    from dashboard.ingest.report import column_choices
    from dashboard.views import browser_words

    name = file_report.display_name
    if needed:
        st.error(f"**{md_escape(name)}**: {md_escape(browser_words(file_report.error))}", icon=":material/table_chart:")
    current = column_choices(file_report)
    form = upload_key("mapping" if needed else "remap", index)
    with st.form(form):
        if needed:
            st.write("Tell the dashboard what each column holds (fields, or an analyte for one-column-per-test files):")
        else:
            st.write(
                "Each column as the import read it. Change any choice (e.g. which column is the draw date) "
                "and import again; the choice applies to every file with that column."
            )
        targets = ["(leave)", *MAP_TARGETS, *model.ANALYTES]
        for i, col in enumerate(file_report.columns_found):
            was = current.get(col, "")

            def label(t: str, was: str = was) -> str:
                if t != "(leave)":
                    return t
                return "(leave)" if needed else f"as imported: {was or 'not used'}"

            st.selectbox(md_escape(col), targets, key=_map_key(form, i), format_func=label)
        st.form_submit_button(
            "Import with this mapping",
            on_click=_apply_mapping,
            args=(form, list(file_report.columns_found)),
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

    _set_mode(SESSION_ONLY)
    st.session_state[WS_PANEL] = None
    st.session_state[SOURCES] = tuple(FileRecord.of(Source(name, data)) for name, data in files)


def workspace():  # -> dashboard.store.Workspace
    from dashboard.store import Workspace, workspace_path

    return Workspace(workspace_path(), timeout=15)


def reviewer() -> str:
    """Who is entering: the login's e-mail when login is configured, else the name given
    once this session (on the Patient or the Workspace page)."""
    if login_name():
        return login_name()
    return str(st.session_state.get(REVIEWER, "") or "").strip()


def login_name() -> str:
    """The logged-in user's e-mail (or name), "" without login."""
    if getattr(st.user, "is_logged_in", False):
        return str(st.user.get("email") or st.user.get("name") or "")
    return ""


def in_workspace() -> bool:
    return mode() == WORKSPACE and st.session_state.get(WS_PANEL) is not None


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


def open_workspace_panel(keep_as_of: bool = False) -> None:
    """Callback: show the workspace's panel in this session (workspace mode).

    Opened afresh, the as-of date becomes the panel's extract date (or today); a panel
    this session has just saved keeps the date the session was working on."""
    from dashboard.store.panel import open_panel

    panel = _guard(lambda: open_panel(workspace()))
    if panel is None:
        _set_mode(SESSION_ONLY)
        return
    shown = st.session_state.get(PATIENT)
    first_open = not in_workspace()
    st.session_state[WS_PANEL] = panel
    st.session_state[DATASET] = panel.dataset()
    _set_mode(WORKSPACE)
    st.session_state[PATIENT] = shown if shown in set(panel.patients["patient_id"]) else None
    if first_open and not keep_as_of:
        st.session_state[AS_OF_DEFAULT] = st.session_state[DATASET].default_as_of()
        set_as_of(panel.as_of)  # the widget too: one as-of date, whatever page shows it


def use_session_only() -> None:
    """Callback: leave the workspace; this session starts empty again."""
    _set_mode(SESSION_ONLY)
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
        open_workspace_panel(keep_as_of=True)


def _then_refresh(action, done: str) -> None:
    if _guard(action) is not None:
        notice("success", done)
        open_workspace_panel()


def add_dose_from_form() -> None:
    from dashboard.dose_entry import DoseEntry

    s = st.session_state
    entry = DoseEntry(
        patient_id=s.get(PATIENT) or "",
        drug=s["dose_drug"] or "",
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
    """Callback of the Workspace page's review form: a flag, or the patient as a whole
    (every open flag of the patient, each acknowledged by name)."""
    from dashboard.reviews import reviews_for

    s = st.session_state
    about, action, note = s.get("review_about") or "", s["review_action"] or "", s["review_note"]
    pid = s.get(PATIENT) or ""
    if about:
        keys = [about]
    else:
        ds, panel = get_dataset(), st.session_state.get(WS_PANEL)
        flags = patient_flags(ds, panel.reviews, pid) if ds is not None and panel is not None else None
        keys = [] if flags is None else flags["flag_key"].tolist()
    entries = reviews_for(pid, keys, action, note)
    _then_refresh(lambda: workspace().add_reviews(entries, by=reviewer()), "Review recorded.")


#: Keys of the Patient page's review form (the generation makes fresh boxes after a save).
ACK_GENERATION = "_ack_generation"


def ack_key(name: str) -> str:
    return f"ack::{st.session_state.get(ACK_GENERATION, 0)}::{name}"


def review_form(patient_id: str, flags: pd.DataFrame) -> None:
    """The Patient page's review: every open flag named in words, ticked when not yet
    reviewed, one action and one note for what is ticked, one click to record.

    The reviewer's name is asked once per session (or taken from the login).  Reviews
    are kept in the workspace; when this session's panel is not there yet, the same
    click saves it there first (the form says where).
    """
    from dashboard import reviews
    from dashboard.store import resolve

    unreviewed = int((~flags["reviewed"]).sum()) if len(flags) else 0
    if len(flags):
        st.caption(
            f"{len(flags)} open flag{'s' if len(flags) != 1 else ''} on the as-of date, "
            f"{unreviewed} not reviewed. Untick what you have not looked at; a later result opens a new flag."
        )
    with st.form(ack_key("form"), border=True):
        for r in flags.itertuples(index=False):
            words = reviews.flag_words(r)
            done = reviews.review_words(r)
            st.checkbox(
                md_escape(words + (f" — {done}" if done else "")),
                value=not r.reviewed,
                key=ack_key(r.flag_key),
            )
        if not len(flags):
            st.caption("No open flag on the as-of date: the review is recorded about the patient as a whole.")
        a, b = st.columns([1, 2])
        a.selectbox("Action", reviews.ACTIONS, index=None, placeholder="Choose…", key=ack_key("action"))
        b.text_input("Note", key=ack_key("note"), placeholder="e.g. reviewed — AZA reduced to 100 mg")
        if not reviewer():
            st.text_input("Your name (asked once per session, recorded with the review)", key=ack_key("by"))
        else:
            st.caption(f"Recorded as **{md_escape(reviewer())}**.")
        label = "Record review"
        if not in_workspace():
            where = resolve()
            st.caption(
                f"Reviews are kept in the workspace on this machine ({md_escape(where.path)}). This panel is not "
                "there yet: recording the review saves it there first, in the same click."
            )
            label = "Save the panel to the workspace and record the review"
        st.form_submit_button(
            label,
            type="primary",
            icon=":material/task_alt:",
            on_click=record_review,
            args=(patient_id, tuple(flags["flag_key"]) if len(flags) else ()),
        )


def record_review(patient_id: str, flag_keys: Sequence[str]) -> None:
    """Callback of the Patient page's review form."""
    from dashboard.reviews import ACTIONS, reviews_for

    s = st.session_state
    given = str(s.get(ack_key("by")) or "").strip()
    if given:
        s[REVIEWER] = given  # asked once: the Workspace page's name box shows it too
    ticked = [k for k in flag_keys if s.get(ack_key(k))]
    action, note = s.get(ack_key("action")) or "", str(s.get(ack_key("note")) or "")
    problems = []
    if flag_keys and not ticked:
        problems.append("tick at least one flag")
    if action not in ACTIONS:
        problems.append("choose an action")
    if not reviewer():
        problems.append("enter your name")
    if problems:
        notice("error", "Not recorded: " + "; ".join(problems) + ".")
        return
    if not in_workspace():
        save_session_to_workspace()
        if not in_workspace():
            return  # the notice says why the panel could not be saved
    entries = reviews_for(patient_id, ticked, action, note)
    done = _guard(lambda: workspace().add_reviews(entries, by=reviewer()))
    if done is None:
        return
    s[ACK_GENERATION] = s.get(ACK_GENERATION, 0) + 1
    what = f"{len(ticked)} flag{'s' if len(ticked) != 1 else ''}" if ticked else "the patient"
    saved = st.session_state.get(WS_NOTICE)
    notice(
        "success",
        (saved[1] + "\n" if saved and saved[0] == "success" else "")
        + f"Review recorded: {what} of {patient_id} ({action}).",
    )
    open_workspace_panel()


def export_buttons(ds: Dataset, panel) -> None:
    """Download buttons for the panel and the selected patient (files made on click)."""
    from dashboard import summary_export as sx
    from dashboard.reviews import empty_log

    log = panel.reviews if panel is not None else empty_log()
    doses = panel.doses if panel is not None else ds.doses
    day = as_of()

    def table() -> pd.DataFrame:
        return sx.panel_frame(ds.labs, doses, ds.patients, log, day, ds.baselines, st.session_state.get(PROFILE))

    st.markdown(
        f"**The panel** ({len(ds.patient_ids):,} patients, most urgent first, with the open flags and their "
        "review state, on the as-of date)"
    )
    flags = panel_flags(ds, log)
    st.caption(f"Open flags on the as-of date: {len(flags):,} ({int((~flags['reviewed']).sum()):,} not reviewed).")
    a, b = st.columns(2)
    a.download_button(
        "Flagged results (CSV)",
        lambda: sx.flagged_csv(flags, ds.patients),
        f"flags_{day}.csv",
        "text/csv",
        key="x_fc",
    )
    b.download_button(
        "Flagged results (Excel)", lambda: sx.flagged_xlsx(flags, ds.patients), f"flags_{day}.xlsx", key="x_fx"
    )
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
