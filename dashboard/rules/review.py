"""The review of a panel: flags, schedule, dose checks and the per-patient summary.

:func:`review` is the one entry point.  It takes the canonical tables as Arrow tables
(the CLI) or pandas DataFrames (the app) and returns a :class:`Review` whose tables are
Arrow; the ``*_df`` methods give pandas frames with the model's dtypes.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.compute as pc

from dashboard.rules import baselines, ctcae, dose_checks, flags, schedule, summary
from dashboard.rules.data import versions
from dashboard.rules.engine import Profile, get_profile
from dashboard.rules.inputs import Inputs, prepare

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
        }

    def patients_json(self) -> list[dict[str, Any]]:
        """The per-patient review (see ``dashboard.rules`` for the fields), most urgent first."""
        from dashboard.rules.output import patients_json

        return patients_json(self)


def review(
    labs: Any,
    doses: Any = None,
    patients: Any = None,
    baselines_table: Any = None,
    profile: Profile | str | None = None,
    as_of: dt.date | None = None,
    intervals: Any = None,
) -> Review:
    """Run every rule of ``profile`` (default "BSR 2025") over the canonical tables.

    Tables may be Arrow or pandas; ``as_of`` (default today) is the review date: later
    results and doses are ignored, open flags and the schedule are judged on it.
    ``intervals`` (canonical table) holds the clinician-set monitoring intervals.
    """
    prof = get_profile(profile)
    inp = prepare(labs, doses, patients, baselines_table, as_of, intervals)
    return review_inputs(inp, prof)


def review_inputs(inp: Inputs, profile: Profile) -> Review:
    base = baselines.compute(inp)
    grades = ctcae.grade_all(inp, base)
    flag_table, flag_arrays = flags.evaluate(inp, profile, grades, base)
    sched = schedule.evaluate(inp, profile.schedule)
    checks = dose_checks.evaluate(inp)
    summ = summary.evaluate(inp, grades, flag_arrays, sched, checks)
    return Review(inp.as_of, profile, flag_table, summ, sched, checks, versions())


def review_dataset(ds: Dataset, profile: Profile | str | None = None, as_of: dt.date | None = None) -> Review:
    """The review of an app :class:`~dashboard.dataset.Dataset`."""
    return review(ds.labs, ds.doses, ds.patients, ds.baselines, profile, as_of, ds.intervals)


# --------------------------------------------------------------------------- conversions


def to_pandas(table: pa.Table) -> pd.DataFrame:
    """Arrow -> pandas with the project's dtypes: ``str`` text, ``datetime64[s]`` times,
    nullable ``Int64``/``Int8`` integers (a grade may be missing), bool, float64."""
    import pandas as pd

    mapping = {pa.int64(): pd.Int64Dtype(), pa.int8(): pd.Int8Dtype()}
    df = table.to_pandas(types_mapper=mapping.get)
    for f in table.schema:
        if pa.types.is_string(f.type):
            df[f.name] = df[f.name].astype("str")
        elif pa.types.is_timestamp(f.type):
            df[f.name] = df[f.name].astype("datetime64[s]")
    return df
