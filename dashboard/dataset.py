"""A loaded panel: the canonical tables the app works on, with where they came from."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd
import pyarrow as pa

from dashboard import model
from dashboard.identity import IdentityConflict
from dashboard.ingest import ImportReport, ImportResult
from dashboard.ingest.report import Problem
from dashboard.rules.as_of import AsOf, default_as_of, result_span


@dataclass
class Dataset:
    """The canonical tables of one panel (pandas, model dtypes) and their origin.

    ``extract_date`` is the date the data were exported, when known (the sample panel
    has one); the app proposes it as the "as of" date so that a static extract is not
    shown as months overdue.
    """

    labs: pd.DataFrame
    doses: pd.DataFrame
    patients: pd.DataFrame
    baselines: pd.DataFrame = field(default_factory=lambda: model.empty_frame("baselines"))
    intervals: pd.DataFrame = field(default_factory=lambda: model.empty_frame("intervals"))
    report: ImportReport | None = None
    label: str = ""
    extract_date: dt.date | None = None
    #: identity conflicts a workspace keeps from earlier imports (its panel has no report)
    stored_conflicts: list[IdentityConflict] = field(default_factory=list)
    #: rows a workspace's imports rejected that name a patient: (file and import date, problem)
    stored_rejections: list[tuple[str, Problem]] = field(default_factory=list)
    #: rows a workspace's import rejected for which a later import stored a result of the
    #: same draw: (file and import date, problem, that result in words)
    stored_resolved: list[tuple[str, Problem, str]] = field(default_factory=list)
    #: what a session's import knew beyond its tables, kept for "save to the workspace":
    #: the corrected results (H132), the patients' other identifiers (H150) and the
    #: per-sex reference limits of results whose sex was not yet known (H172), and the
    #: results the lab withdrew (H530)
    corrections: pa.Table | None = None
    aliases: list[tuple[str, str, str, str]] = field(default_factory=list)
    sex_limits: pa.Table | None = None
    withdrawals: pa.Table | None = None

    @property
    def identity_conflicts(self) -> list[IdentityConflict]:
        """Every identity conflict known for this panel: its import report's and the
        workspace's (one MRN with two names, dates of birth or sexes)."""
        from_report = list(self.report.identity_conflicts) if self.report is not None else []
        seen = {(c.patient_id, c.field) for c in from_report}
        return from_report + [c for c in self.stored_conflicts if (c.patient_id, c.field) not in seen]

    def rejected_rows(self, patient_id: str) -> list[tuple[str, Problem]]:
        """The rows of this patient that the import rejected, each with its file's name:
        they are in no table, so the patient's page says so (never a silent gap).  In
        workspace mode, those of every stored import, newest first."""
        from_report = (
            [(f.display_name, p) for f in self.report.files for p in f.problems if p.patient_id == patient_id]
            if self.report is not None
            else []
        )
        return from_report + [(name, p) for name, p in self.stored_rejections if p.patient_id == patient_id]

    def unlisted_patients(self) -> dict[str, list[tuple[str, Problem]]]:
        """The patients that rows rejected at import name but no accepted row does, each
        with those rows (file name, problem): they are on no page but Home's import report,
        so the Panel says them (probe47 F8).  Rows that name no patient are the report's."""
        listed = set(self.patients["patient_id"])
        out: dict[str, list[tuple[str, Problem]]] = {}
        rows = [(f.display_name, p) for f in self.report.files for p in f.problems] if self.report is not None else []
        for name, p in rows + list(self.stored_rejections):
            if p.patient_id and p.patient_id not in listed:
                out.setdefault(p.patient_id, []).append((name, p))
        return dict(sorted(out.items()))

    def resolved_rows(self, patient_id: str) -> list[tuple[str, Problem, str]]:
        """The rows of this patient a workspace's import rejected and a later import gave
        again, readable, for the same draw: not open, but still said, with what replaced
        them (the file and import date, the problem, the replacing result in words)."""
        return [(name, p, by) for name, p, by in self.stored_resolved if p.patient_id == patient_id]

    @classmethod
    def from_import(cls, result: ImportResult, label: str, extract_date: dt.date | None = None) -> Dataset:
        return cls(
            labs=result.labs_df(),
            doses=result.doses_df(),
            patients=result.patients_df(),
            report=result.report,
            label=label,
            extract_date=extract_date,
            corrections=result.corrections,
            aliases=list(result.aliases),
            sex_limits=result.sex_limits,
            withdrawals=result.withdrawals,
        )

    def to_import_result(self) -> ImportResult:
        """This panel as an import's result (Arrow tables, the report and what the import
        knew beyond its tables), to store in a workspace as it was imported."""
        return ImportResult(
            model.from_pandas("labs", self.labs),
            model.from_pandas("doses", self.doses),
            model.from_pandas("patients", self.patients),
            self.report or ImportReport(),
            self.corrections,
            list(self.aliases),
            self.sex_limits,
            self.withdrawals,
        )

    @classmethod
    def empty(cls, label: str = "") -> Dataset:
        return cls(model.empty_frame("labs"), model.empty_frame("doses"), model.empty_frame("patients"), label=label)

    def default_as_of(self, today: dt.date | None = None) -> AsOf:
        """The as-of date this panel opens with, and why (the extract date; the last
        result when every result lies after today; else today)."""
        return default_as_of(*result_span(self.labs), today, self.extract_date, self.label or "the extract")

    @property
    def patient_ids(self) -> list[str]:
        return sorted(self.patients["patient_id"].tolist())

    @property
    def is_empty(self) -> bool:
        return self.labs.empty and self.doses.empty and self.patients.empty

    def with_baseline(
        self, patient_id: str, analyte: str, value: float, note: str, set_by: str, when: dt.datetime
    ) -> Dataset:
        """A copy with a clinician-set baseline added (the latest per analyte wins)."""
        row = _clinician_row(set_by, when, patient_id=patient_id, analyte=analyte, value=float(value), note=note)
        keep = self.baselines[~((self.baselines["patient_id"] == patient_id) & (self.baselines["analyte"] == analyte))]
        return replace(self, baselines=_appended("baselines", keep, row))

    def with_interval(self, patient_id: str, days: int, reason: str, set_by: str, when: dt.datetime) -> Dataset:
        """A copy with a clinician-set monitoring interval added (the latest wins; 0 clears)."""
        row = _clinician_row(set_by, when, patient_id=patient_id, interval_days=int(days), reason=reason)
        return replace(self, intervals=_appended("intervals", self.intervals, row))

    def interval_of(self, patient_id: str) -> pd.Series | None:
        """The patient's latest interval row (None when never set)."""
        rows = self.intervals[self.intervals["patient_id"] == patient_id]
        return None if rows.empty else rows.sort_values("set_at").iloc[-1]

    def for_patient(self, patient_id: str, rows: PatientRows | None = None) -> Dataset:
        """The same dataset restricted to one patient.

        ``rows`` (:meth:`patient_rows` of this dataset) finds the patient's rows by
        position instead of comparing every id of every table (a million-result panel).
        """

        def part(table: str, frame: pd.DataFrame) -> pd.DataFrame:
            if rows is None:
                return frame[frame["patient_id"] == patient_id]
            return frame.iloc[rows[table].get(patient_id, _NO_ROWS)]

        return Dataset(
            labs=part("labs", self.labs),
            doses=part("doses", self.doses),
            patients=part("patients", self.patients),
            baselines=part("baselines", self.baselines),
            intervals=part("intervals", self.intervals),
            report=self.report,
            label=self.label,
            extract_date=self.extract_date,
            stored_conflicts=[c for c in self.stored_conflicts if c.patient_id == patient_id],
            stored_rejections=[(n, p) for n, p in self.stored_rejections if p.patient_id == patient_id],
            stored_resolved=[(n, p, by) for n, p, by in self.stored_resolved if p.patient_id == patient_id],
        )

    def patient_rows(self) -> PatientRows:
        """The row positions of each patient in each table (ascending), for :meth:`for_patient`."""
        return {
            name: _positions(frame)
            for name, frame in (
                ("labs", self.labs),
                ("doses", self.doses),
                ("patients", self.patients),
                ("baselines", self.baselines),
                ("intervals", self.intervals),
            )
        }


#: Table name -> patient id -> row positions of that patient in the table.
PatientRows = dict[str, dict[str, np.ndarray]]
_NO_ROWS = np.zeros(0, dtype=np.intp)


def _positions(frame: pd.DataFrame) -> dict[str, np.ndarray]:
    """Patient id -> the positions of its rows, in table order (a missing id: no entry)."""
    codes, names = pd.factorize(frame["patient_id"])  # a missing id gets -1
    order = np.argsort(codes, kind="stable")  # stable: each patient's rows stay in order
    bounds = np.searchsorted(codes[order], np.arange(len(names) + 1))
    return {str(name): order[bounds[i] : bounds[i + 1]] for i, name in enumerate(names)}


def _clinician_row(set_by: str, when: dt.datetime, **values: object) -> pd.DataFrame:
    """One row a clinician set: ``values``, who set it and when (to the second)."""
    row = pd.DataFrame(
        {**{k: [v] for k, v in values.items()}, "set_by": [set_by], "set_at": [pd.Timestamp(when).floor("s")]}
    )
    return row.astype({"set_at": "datetime64[s]"})


def _appended(table: str, rows: pd.DataFrame, row: pd.DataFrame) -> pd.DataFrame:
    """``rows`` of a canonical ``table`` with ``row`` added, in the model's columns and dtypes."""
    merged = pd.concat([rows, row], ignore_index=True) if len(rows) else row
    return model.to_pandas(table, model.from_pandas(table, merged))
