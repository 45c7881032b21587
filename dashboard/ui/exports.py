"""The download buttons of the panel and of the selected patient (files made on click)."""

from __future__ import annotations

import logging

import pandas as pd
import streamlit as st

from dashboard import summary_export as sx
from dashboard.dataset import Dataset
from dashboard.export import safe_file_name
from dashboard.markup import md_escape
from dashboard.reviews import empty_log
from dashboard.store.panel import WorkspacePanel
from dashboard.ui.caching import current_review, panel_flags
from dashboard.ui.state import as_of, profile_name, selected_patient

log = logging.getLogger(__name__)


def _made(kind: str, data: bytes) -> bytes:
    """An export file, made on click (its kind and size are logged, never its content)."""
    log.info("export made: %s, %d bytes", kind, len(data))
    return data


def export_buttons(ds: Dataset, panel: WorkspacePanel | None) -> None:
    """Download buttons for the panel and the selected patient (files made on click)."""
    entries = panel.reviews if panel is not None else empty_log()
    doses = panel.doses if panel is not None else ds.doses
    day = as_of()
    profile = profile_name()

    def table() -> pd.DataFrame:
        return sx.panel_frame(
            ds.labs,
            doses,
            ds.patients,
            entries,
            day,
            ds.baselines,
            profile,
            ds.intervals,
            aliases=ds.aliases,
            conflicts=ds.identity_conflicts,
        )

    st.markdown(
        f"**The panel** ({len(ds.patient_ids):,} patients, most urgent first, with the open flags and their "
        "review state, on the as-of date)"
    )
    flags = panel_flags(ds, entries)
    rv = current_review()
    checks = rv.dose_checks_df() if rv is not None else None
    n_checks = len(sx.open_dose_checks_frame(checks)) if checks is not None else 0
    st.caption(
        f"Open flags on results on the as-of date: {len(flags):,} ({int((~flags['reviewed']).sum()):,} not "
        f"reviewed). Open dose checks: {n_checks:,}. {sx.FLAGGED_SCOPE}"
    )
    a, b, c = st.columns(3)
    a.download_button(
        "Flagged results (CSV)",
        lambda: _made("flags csv", sx.flagged_csv(flags, ds.patients)),
        f"flags_{day}.csv",
        "text/csv",
        key="x_fc",
    )
    b.download_button(
        "Flagged results and dose checks (Excel)",
        lambda: _made("flags xlsx", sx.flagged_xlsx(flags, ds.patients, checks)),
        f"flags_{day}.xlsx",
        key="x_fx",
    )
    if checks is not None:
        c.download_button(
            "Open dose checks (CSV)",
            lambda: _made("dose checks csv", sx.dose_checks_csv(checks, ds.patients)),
            f"dose_checks_{day}.csv",
            "text/csv",
            key="x_dc",
        )
    left, right = st.columns(2)
    left.download_button(
        "Panel (CSV)", lambda: _made("panel csv", sx.panel_csv(table())), f"panel_{day}.csv", "text/csv", key="x_pcsv"
    )
    right.download_button(
        "Panel (Excel)",
        lambda: _made("panel xlsx", sx.panel_xlsx(table(), ds.labs, doses, entries)),
        f"panel_{day}.xlsx",
        key="x_pxlsx",
    )
    pid = selected_patient()
    if not pid:
        return
    fid = safe_file_name(pid)
    summary = sx.patient_summary(
        ds.labs,
        doses,
        ds.patients,
        ds.baselines,
        entries,
        pid,
        day,
        ds.label,
        profile,
        intervals=ds.intervals,
        aliases=ds.aliases,
        patient_ids=ds.patient_ids,
        conflicts=ds.identity_conflicts,
        rejected=ds.rejected_rows(pid),  # rows of theirs the import could not read: said (probe47 F7)
    )
    st.markdown(f"**Patient {md_escape(pid)}**")
    a, b, c = st.columns(3)
    a.download_button(
        "Patient summary (PDF)",
        lambda: _made("patient pdf", sx.patient_summary_pdf(summary)),
        f"summary_{fid}_{day}.pdf",
        "application/pdf",
        key="x_pdf",
        type="primary",
        icon=":material/picture_as_pdf:",
    )
    b.download_button(
        "Results (CSV)",
        lambda: _made("patient csv", sx.patient_csv(ds.labs, pid)),
        f"results_{fid}.csv",
        "text/csv",
        key="x_c",
    )
    c.download_button(
        "Results, doses, reviews (Excel)",
        lambda: _made("patient xlsx", sx.patient_xlsx(ds.labs, doses, entries, pid)),
        f"{fid}.xlsx",
        key="x_x",
    )
