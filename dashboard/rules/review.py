"""The review of a panel: flags, schedule, dose checks and the per-patient summary.

:func:`review` is the one entry point.  It takes the canonical tables as Arrow tables
(the CLI) or pandas DataFrames (the app) and returns a :class:`Review` whose tables are
Arrow; the ``*_df`` methods give pandas frames with the model's dtypes.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from dashboard import model
from dashboard.rules import baselines, ctcae, dose_checks, flags, schedule, summary, tables
from dashboard.rules.data import NEVER, versions
from dashboard.rules.engine import Profile, get_profile
from dashboard.rules.hits import comparator_text
from dashboard.rules.inputs import Inputs, prepare, text_column
from dashboard.rules.tables import Column

#: Results dated after the as-of date: not reviewed, never dropped silently (the CTCAE
#: grade for information only).
AFTER_FIELDS: tuple[Column, ...] = tables.columns("after_as_of")

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from dashboard.dataset import Dataset


@dataclass
class Review:
    """The outcome of the rules over a panel, as of one date, under one profile."""

    as_of: dt.date
    profile: Profile
    flags: pa.Table
    summary: pa.Table
    schedule: pa.Table
    dose_checks: pa.Table
    versions: dict[str, str] = field(default_factory=dict)
    #: Results dated after ``as_of`` (:data:`AFTER_FIELDS`), by patient and time.
    after_as_of: pa.Table = field(default_factory=lambda: after_schema().empty_table())
    #: Why the review is as of this date when it is not today ("" otherwise).
    as_of_note: str = ""
    #: who each patient is (patient_id, name, birth_date) where the data say: for the
    #: JSON review and the labels; the rules never read it
    identity: pa.Table | None = None
    #: per patient id, another id of the panel that may be the same person, in the words
    #: of every output (``identity.other_ids_by_patient``, H150): set by the caller, who
    #: holds the import's identifiers; the rules never read it
    other_ids: dict[str, list[str]] = field(default_factory=dict)
    #: per patient id, its identity conflicts in words (``identity.conflict_notes``: a date
    #: of birth two sources give differently, named with both dates, H553): set by the
    #: caller, who holds the import report; the rules never read it
    identity_conflicts: dict[str, list[str]] = field(default_factory=dict)

    # ----------------------------------------------------------------- pandas views
    def flags_df(self) -> pd.DataFrame:
        return to_pandas(self.flags)

    def summary_df(self) -> pd.DataFrame:
        return to_pandas(self.summary)

    def schedule_df(self) -> pd.DataFrame:
        return to_pandas(self.schedule)

    def dose_checks_df(self) -> pd.DataFrame:
        return to_pandas(self.dose_checks)

    def intervals_df(self) -> pd.DataFrame:
        return to_pandas(summary.intervals(self.flags))

    def after_as_of_df(self) -> pd.DataFrame:
        return to_pandas(self.after_as_of)

    def open_flags_df(self) -> pd.DataFrame:
        return to_pandas(self.flags.filter(pc.equal(self.flags.column("status"), "open")))

    def for_patient(self, patient_id: str) -> Review:
        """The same review restricted to one patient."""

        def only(t: pa.Table) -> pa.Table:
            return t.filter(pc.equal(t.column("patient_id"), patient_id))

        return Review(
            self.as_of,
            self.profile,
            only(self.flags),
            only(self.summary),
            only(self.schedule),
            only(self.dose_checks),
            self.versions,
            only(self.after_as_of),
            self.as_of_note,
            only(self.identity) if self.identity is not None else None,
            {k: v for k, v in self.other_ids.items() if k == patient_id},
            {k: v for k, v in self.identity_conflicts.items() if k == patient_id},
        )

    # ----------------------------------------------------------------- JSON
    def header(self) -> dict[str, Any]:
        return {
            "as_of": self.as_of.isoformat(),
            "profile": self.profile.name,
            "profile_based_on": self.profile.based_on or None,
            "data_versions": self.versions,
            "patients": self.summary.num_rows,
            "flags": self.flags.num_rows,
            "open_flags": int(pc.sum(pc.equal(self.flags.column("status"), "open")).as_py() or 0),
            "as_of_note": self.as_of_note,
            "results_after_as_of": self.after_as_of.num_rows,
            "last_result_after_as_of": _last_date(self.after_as_of),
        }


def review(
    labs: Any,
    doses: Any = None,
    patients: Any = None,
    baselines_table: Any = None,
    profile: Profile | str | None = None,
    as_of: dt.date | None = None,
    as_of_note: str = "",
    intervals: Any = None,
) -> Review:
    """Run every rule of ``profile`` (default "BSR 2025") over the canonical tables.

    Tables may be Arrow or pandas; ``as_of`` (default today) is the review date: later
    results and doses are not reviewed (the results are listed in ``after_as_of``), open
    flags and the schedule are judged on it.  ``as_of_note`` says why the date was
    chosen when it is not today (:func:`dashboard.rules.as_of.default_as_of`).
    ``intervals`` (canonical table) holds the clinician-set monitoring intervals.
    """
    prof = get_profile(profile)
    inp = prepare(labs, doses, patients, baselines_table, as_of, intervals)
    rv = review_inputs(inp, prof)
    rv.as_of_note = as_of_note
    rv.identity = identity_table(patients)
    return rv


IDENTITY_SCHEMA = pa.schema([("patient_id", pa.string()), ("name", pa.string()), ("birth_date", pa.timestamp("s"))])


def identity_table(patients: Any) -> pa.Table | None:
    """patient_id, name and birth_date of a patients table (Arrow or pandas), or None."""
    if patients is None:
        return None
    if not isinstance(patients, pa.Table):
        cols = [c for c in IDENTITY_SCHEMA.names if c in patients.columns]
        patients = pa.Table.from_pandas(patients[cols], preserve_index=False)
    arrays = []
    for f in IDENTITY_SCHEMA:
        if f.name in patients.column_names:
            arrays.append(patients.column(f.name).cast(f.type))
        else:
            arrays.append(pa.nulls(patients.num_rows, f.type))
    return pa.Table.from_arrays(arrays, schema=IDENTITY_SCHEMA)


def review_inputs(inp: Inputs, profile: Profile) -> Review:
    base = baselines.compute(inp)
    grades = ctcae.grade_all(inp, base)
    flag_table, flag_arrays = flags.evaluate(inp, profile, grades, base)
    sched = schedule.evaluate(inp, profile.schedule)
    repeats = {r.id: (r.repeat_days, r.repeat_group) for r in profile.active() if r.repeat_days}
    sched = schedule.with_repeats(inp, sched, flag_table, repeats, profile.schedule)
    checks = dose_checks.evaluate(inp)
    after = after_as_of_table(inp, base)
    summ = summary.evaluate(inp, grades, flag_arrays, sched, checks, after)
    return Review(inp.as_of, profile, flag_table, summ, sched, checks, versions(), after)


def review_dataset(
    ds: Dataset, profile: Profile | str | None = None, as_of: dt.date | None = None, as_of_note: str = ""
) -> Review:
    """The review of an app :class:`~dashboard.dataset.Dataset`."""
    return review(ds.labs, ds.doses, ds.patients, ds.baselines, profile, as_of, as_of_note, ds.intervals)


# --------------------------------------------------------------------------- after the as-of date


def after_schema() -> pa.Schema:
    return tables.schema("after_as_of")


def after_as_of_table(inp: Inputs, base: baselines.Baselines) -> pa.Table:
    """The results dated after the review date, by patient, time and analyte, each with
    its CTCAE grade (against the same limits and baselines as the review's)."""
    later = inp.after
    if later is None or not len(later):
        return after_schema().empty_table()
    grades = ctcae.grade_all(replace(inp, labs=later), base)
    order = np.lexsort((later.analyte, later.t, later.pid))
    g = grades.grade[order]
    table = later.table
    t = later.t[order]
    cols = {
        "patient_id": pa.array(inp.patient_ids, pa.string()).take(pa.array(later.pid[order])),
        "collected_at": pa.array(t, pa.int64(), mask=t >= NEVER).cast(pa.timestamp("s")),
        "analyte": pa.array(list(model.ANALYTES), pa.string()).take(pa.array(later.analyte[order])),
        "value": pa.array(later.value[order]),
        "unit": pa.array([model.CANONICAL_UNITS[a] for a in model.ANALYTES], pa.string()).take(
            pa.array(later.analyte[order])
        ),
        "comparator": comparator_text(later.cmp[order]),
        "source_value": text_column(table.column("source_value"), later.row[order]),
        "source_unit": text_column(table.column("source_unit"), later.row[order]),
        "ctcae_grade": pa.array(g, pa.int8(), mask=g < 0),
        "ctcae_grade_or_worse": pa.array(grades.open[order] & (g >= 0)),
        "lab_row": pa.array(later.row[order].astype(np.int64)),
    }
    return pa.table([cols[n] for n, _, _ in AFTER_FIELDS], schema=after_schema())


def _last_date(table: pa.Table) -> str | None:
    if table.num_rows == 0:
        return None
    last = pc.max(table.column("collected_at")).as_py()
    return last.date().isoformat() if last is not None else None


# --------------------------------------------------------------------------- conversions


def to_pandas(table: pa.Table) -> pd.DataFrame:
    """Arrow -> pandas with the project's dtypes: ``str`` text, ``datetime64[s]`` times,
    nullable ``Int64``/``Int8`` integers (a grade may be missing), bool, float64."""
    # pandas on use only: the CLI's import/review never loads it (tests/test_cli_process.py)
    import pandas as pd

    mapping = {pa.int64(): pd.Int64Dtype(), pa.int8(): pd.Int8Dtype()}
    df = table.to_pandas(types_mapper=mapping.get)
    text, seconds = pd.api.types.pandas_dtype("str"), np.dtype("datetime64[s]")
    for f in table.schema:
        # pyarrow already gives these dtypes for plain string and timestamp[s] columns:
        # a column is converted only when it differs (an astype per column of a small
        # per-patient table cost more than the conversion itself)
        if pa.types.is_string(f.type) and df[f.name].dtype != text:
            df[f.name] = df[f.name].astype("str")
        elif pa.types.is_timestamp(f.type) and df[f.name].dtype != seconds:
            df[f.name] = df[f.name].astype("datetime64[s]")
    return df
