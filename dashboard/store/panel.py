"""The workspace's panel as pandas frames: what the pages, the exports and the CLI read."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import pandas as pd
import pyarrow as pa

from dashboard import model
from dashboard.dataset import Dataset
from dashboard.identity import IdentityConflict
from dashboard.ingest.report import Conversion, FileReport, ImportReport, Problem
from dashboard.reviews import (
    COLUMNS,
    CORRECTED_COLUMNS,
    EARLIER_COLUMNS,
    JUDGED_COLUMNS,
    RESULT_COLUMNS,
    UNREAD_COLUMNS,
    WITHDRAWN_COLUMNS,
    empty_log,
    flags_for_review,
)
from dashboard.rules import Profile
from dashboard.rules.as_of import default_as_of, result_span
from dashboard.store.workspace import StoredPanel, Workspace
from dashboard.summary_export import PatientSummary, patient_summary


@dataclass
class WorkspacePanel:
    """One consistent read of the workspace."""

    labs: pd.DataFrame
    doses: pd.DataFrame  # canonical columns + dose_id, import_id, entered_by, entered_at, note
    patients: pd.DataFrame
    baselines: pd.DataFrame
    reviews: pd.DataFrame
    intervals: pd.DataFrame
    extract_date: dt.date | None
    data_version: int
    label: str
    disputes: list[IdentityConflict] = field(default_factory=list)  # kept by the workspace
    #: rows its imports rejected that name a patient: (file, import date, problem), newest first
    rejections: list[tuple[str, dt.datetime, Problem]] = field(default_factory=list)
    #: rejected rows a later import gave a result of the same draw for, with that result in words
    resolved: list[tuple[str, dt.datetime, Problem, str]] = field(default_factory=list)
    #: the other identifiers the workspace's imports gave patients (H150)
    aliases: list[tuple[str, str, str, str]] = field(default_factory=list)

    @property
    def as_of(self) -> dt.date:
        """The extract date of the data when known (the sample panel's); the last result's
        date when every result lies after today (shifted research dates); else today."""
        return default_as_of(*result_span(self.labs), None, self.extract_date, self.label or "the extract").date

    def dataset(self) -> Dataset:
        """The panel as the pages use it (canonical columns only)."""
        return Dataset(
            labs=self.labs,
            doses=model.to_pandas("doses", model.from_pandas("doses", self.doses)),
            patients=self.patients,
            baselines=self.baselines,
            intervals=self.intervals,
            report=None,
            label=self.label,
            extract_date=self.extract_date,
            stored_conflicts=list(self.disputes),
            stored_rejections=[(f"{name} (imported {when:%d %b %Y})", p) for name, when, p in self.rejections],
            stored_resolved=[(f"{name} (imported {when:%d %b %Y})", p, by) for name, when, p, by in self.resolved],
            aliases=list(self.aliases),
        )

    def summary(
        self, patient_id: str, as_of: dt.date | None = None, profile: Profile | str | None = None
    ) -> PatientSummary:
        return patient_summary(
            self.labs,
            self.doses,
            self.patients,
            self.baselines,
            self.reviews,
            patient_id,
            as_of or self.as_of,
            self.label,
            profile,
            intervals=self.intervals,
            aliases=self.aliases,  # another id that may be this patient, as the Patient page says (H270)
            patient_ids=self.patients["patient_id"].tolist(),
            conflicts=self.disputes,  # a disputed date of birth: both dates, never one (H553)
            # the patient's rows rejected at import, named as the Patient page names them (probe47 F7)
            rejected=[(f"{name} (imported {when:%d %b %Y})", p) for name, when, p in self.rejections],
        )

    def open_flags(self, as_of: dt.date | None = None, profile: Profile | str | None = None) -> pd.DataFrame:
        """The panel's open flags with their reviews, unreviewed first."""
        ds = self.dataset()
        return flags_for_review(
            ds.labs, ds.doses, ds.patients, ds.baselines, self.reviews, as_of or self.as_of, profile
        )


def frames(stored: StoredPanel) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    return (
        model.to_pandas("labs", stored.labs),
        model.to_pandas("doses", stored.doses),
        model.to_pandas("patients", stored.patients),
        model.to_pandas("baselines", stored.baselines),
    )


def doses_with_provenance(ws: Workspace, patient_id: str | None = None) -> pd.DataFrame:
    """Dose rows in the model's dtypes, with dose_id and who entered them."""
    return provenance_frame(ws.doses(patient_id))


def provenance_frame(t: pa.Table) -> pd.DataFrame:
    base = model.to_pandas("doses", t)
    for c in ("dose_id", "import_id", "entered_by", "entered_at", "note"):
        base[c] = t.column(c).to_pandas()
    base["entered_by"] = base["entered_by"].fillna("").astype("str")
    base["note"] = base["note"].fillna("").astype("str")
    return base


def reviews_frame(ws: Workspace, patient_id: str | None = None) -> pd.DataFrame:
    return log_frame(ws.reviews(patient_id))


def log_frame(t: pa.Table | None) -> pd.DataFrame:
    if t is None or t.num_rows == 0:
        return empty_log()
    frame = t.to_pandas()
    return frame[
        [
            *COLUMNS,
            *(
                c
                for c in (
                    *RESULT_COLUMNS,
                    *JUDGED_COLUMNS,
                    *CORRECTED_COLUMNS,
                    *WITHDRAWN_COLUMNS,
                    *UNREAD_COLUMNS,
                    *EARLIER_COLUMNS,
                )
                if c in frame.columns
            ),
        ]
    ]


def open_panel(ws: Workspace) -> WorkspacePanel:
    stored = ws.load()
    labs, _doses, patients, baselines = frames(stored)
    return WorkspacePanel(
        labs=labs,
        doses=provenance_frame(stored.doses_provenance),
        patients=patients,
        baselines=baselines,
        reviews=log_frame(stored.reviews),
        intervals=model.to_pandas(
            "intervals", stored.intervals if stored.intervals is not None else model.empty_table("intervals")
        ),
        extract_date=stored.extract_date,
        data_version=stored.data_version,
        label=f"Workspace ({ws.path})",
        disputes=stored.disputes,
        rejections=stored.rejections,
        resolved=stored.resolved,
        aliases=stored.aliases,
    )


def report_from_dict(d: dict) -> ImportReport:
    """An import report as stored in the import log (JSON) back as an object."""
    files = []
    for f in d.get("files", []):
        problems = [Problem(**p) for p in f.get("problems", [])]
        warnings = [Problem(**p) for p in f.get("warnings", [])]
        conversions = [Conversion(c["analyte"], c["from"], c["to"], c["count"]) for c in f.get("conversions", [])]
        known = {k: v for k, v in f.items() if k in FileReport.__dataclass_fields__}
        known.update(problems=problems, warnings=warnings, conversions=conversions)
        files.append(FileReport(**known))
    return ImportReport(
        files=files,
        labs=d.get("labs", 0),
        doses=d.get("doses", 0),
        patients=d.get("patients", 0),
        identity_conflicts=[IdentityConflict.from_dict(c) for c in d.get("identity_conflicts", [])],
    )
