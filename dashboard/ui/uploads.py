"""Getting data in: the sample panel, uploaded files, the date order and the column
mapping a file needs, each import kept in the session until it is saved."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from typing import Any

import streamlit as st

from dashboard import model
from dashboard.dataset import Dataset
from dashboard.ingest import Source
from dashboard.ingest.mapping import MAP_TARGETS
from dashboard.ingest.report import FileReport, column_choices
from dashboard.ingest.tabular import max_rows
from dashboard.markup import md_escape
from dashboard.store import FileRecord
from dashboard.ui.caching import import_files, load_sample_panel
from dashboard.ui.state import DATE_ORDER, MAPPING, SESSION_ONLY, SOURCES, UPLOADER, WS_PANEL, set_dataset, set_mode
from dashboard.views import browser_words

log = logging.getLogger(__name__)

#: Fingerprint of the upload (files + import choices) last turned into the dataset.
_LAST_UPLOAD = "last_upload_fingerprint"


def load_sample_into_session() -> None:
    """Callback of "Load sample panel"."""
    result, extract, files = load_sample_panel()
    set_dataset(Dataset.from_import(result, "Sample panel (synthetic)", extract))
    _session_only(files)


def upload_limits() -> str:
    """The upload limits in force, in words (server.maxUploadSize and the row limit)."""
    return f"Up to {st.get_option('server.maxUploadSize'):,} MB and {max_rows():,} rows per file."


def files_from_uploader(uploaded: Sequence[Any]) -> tuple[tuple[str, bytes], ...]:
    return tuple((f.name, f.getvalue()) for f in uploaded)


def on_upload() -> None:
    """Callback of the uploader (its state is :data:`~dashboard.ui.state.UPLOADER`):
    import what it now holds (runs before the page)."""
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


def import_uploaded(uploaded: Sequence[Any]) -> None:
    """Import the uploader's files when they (or the import choices) changed.

    Call it from a widget callback: it changes shared state (the dataset and the
    as-of date) that other widgets display.
    """
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


def _session_only(files: Sequence[tuple[str, bytes]]) -> None:
    """A new upload or sample: session data until the user saves it (never written)."""
    set_mode(SESSION_ONLY)
    st.session_state[WS_PANEL] = None
    st.session_state[SOURCES] = tuple(FileRecord.of(Source(name, data)) for name, data in files)


# --------------------------------------------------------------------------- keys of the report's widgets


def upload_token() -> str:
    """A short token of the files (and choices) behind the loaded dataset."""
    fingerprint = st.session_state.get(_LAST_UPLOAD)
    return hashlib.sha256(repr(fingerprint).encode()).hexdigest()[:10] if fingerprint else "data"


def upload_key(kind: str, index: int) -> str:
    """A widget key for the ``index``-th file (or sheet) of the import report, keyed by the
    upload it belongs to, never by the file's name: next month's labs.csv uploaded beside
    this month's (two files of one name) crashed Home with a duplicate key."""
    return f"{kind}::{upload_token()}::{index}"


# --------------------------------------------------------------------------- the column mapping


def _map_key(form: str, column_index: int) -> str:
    return f"{form}::column::{column_index}"


def _apply_mapping(form: str, columns: Sequence[str]) -> None:
    """Callback of a mapping form: the choices of its boxes (keyed by :func:`_map_key`, the
    form's own keys) join the mapping, and the files are imported again.  A form's values
    exist only in the session state when its submit callback runs, so the callback gets the
    form and its columns as arguments and reads the boxes the form drew."""
    mapping = dict(st.session_state[MAPPING])
    for i, col in enumerate(columns):
        target = st.session_state.get(_map_key(form, i), "(leave)")
        if target != "(leave)":
            mapping[col] = target
    log.info("column mapping changed by hand: %d column(s)", len(mapping))
    reimport_with_choices(mapping=mapping)


def mapping_form(file_report: FileReport, index: int = 0, needed: bool = True) -> None:
    """The column mapping of the ``index``-th file of the import report: for a file whose
    columns were not recognised (``needed``), or to change any choice the import made by
    itself (every column is shown with how it was read; only the ones changed are applied)."""
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
