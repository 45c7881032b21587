"""Prepared inputs: Arrow or pandas, any datetime resolution, any row order."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from dashboard import model
from dashboard.rules.inputs import pair_key, per_day, prepare
from dashboard.rules.review import review
from tests.rules.builders import dose, frame, lab, patient, series

AS_OF = dt.date(2024, 12, 31)


def sample_frames():
    labs = series(
        "B2", "neutrophils", [("2024-01-01", 4.0), ("2024-02-01", 3.5), ("2024-03-01", 3.0), ("2024-04-01", 1.2)]
    )
    labs += [
        lab("A1", "2024-03-01", "wbc", 3.2),
        lab("A1", "2024-03-01", "alt", 130),
        lab("A1", "2024-04-01", "wbc", 2.0),
    ]
    doses = [
        dose("B2", "azathioprine", "2024-01-15", amount=150),
        dose("A1", "methotrexate", "2023-01-01", amount=15, frequency="weekly"),
    ]
    patients = [patient("B2", weight=60), patient("A1", weight=80)]
    return frame("labs", labs), frame("doses", doses), frame("patients", patients)


def comparable(df: pd.DataFrame) -> list[tuple]:
    cols = [
        "patient_id",
        "collected_at",
        "analyte",
        "rule",
        "value",
        "ctcae_grade",
        "severity",
        "active_doses",
        "status",
    ]
    return [tuple(r) for r in df[cols].astype(str).itertuples(index=False)]


def test_arrow_and_pandas_give_the_same_flags():
    labs, doses, patients = sample_frames()
    from_pandas = review(labs, doses, patients, None, None, AS_OF)
    from_arrow = review(
        model.from_pandas("labs", labs),
        model.from_pandas("doses", doses),
        model.from_pandas("patients", patients),
        None,
        None,
        AS_OF,
    )
    assert comparable(from_pandas.flags_df()) == comparable(from_arrow.flags_df())
    assert len(from_pandas.flags_df()) > 5


@pytest.mark.parametrize("unit", ["s", "ms", "us", "ns"])
def test_any_datetime_resolution(unit):
    labs, doses, patients = sample_frames()
    expected = comparable(review(labs, doses, patients, None, None, AS_OF).flags_df())
    labs = labs.assign(collected_at=labs["collected_at"].astype(f"datetime64[{unit}]"))
    doses = doses.assign(
        start=doses["start"].astype(f"datetime64[{unit}]"), end=doses["end"].astype(f"datetime64[{unit}]")
    )
    assert comparable(review(labs, doses, patients, None, None, AS_OF).flags_df()) == expected


def test_row_order_does_not_matter_and_flags_are_listed_by_patient_time_analyte():
    labs, doses, patients = sample_frames()
    expected = review(labs, doses, patients, None, None, AS_OF).flags_df()
    shuffled = labs.sample(frac=1.0, random_state=3).reset_index(drop=True)
    got = review(shuffled, doses.iloc[::-1], patients, None, None, AS_OF).flags_df()
    assert comparable(got) == comparable(expected)
    keys = list(zip(got["patient_id"], got["collected_at"], got["analyte"], strict=True))
    assert keys == sorted(keys)


def test_prepare_sorts_by_analyte_patient_time_and_cuts_at_the_review_date():
    labs, doses, patients = sample_frames()
    inp = prepare(labs, doses, patients, None, dt.date(2024, 3, 1))
    assert list(inp.patient_ids) == ["A1", "B2"]
    assert len(inp.labs) == 5  # April results are after the review date
    s = inp.labs.slice("neutrophils")
    assert inp.labs.t[s].tolist() == sorted(inp.labs.t[s].tolist())
    assert len(inp.doses) == 2


def test_pair_key_orders_patient_then_time():
    import numpy as np

    keys = pair_key(np.array([0, 0, 1, 1]), np.array([-(10**9), 10**9, -(10**9), 2**62]))
    assert list(keys) == sorted(keys)


@pytest.mark.parametrize(
    ("frequency", "expected"),
    [("daily", 1.0), ("BID", 2.0), ("weekly", 1 / 7), ("every 2 weeks", 1 / 14), ("every 3 days", 1 / 3)],
)
def test_per_day(frequency, expected):
    assert per_day(frequency) == pytest.approx(expected)
    assert per_day("unknown") != per_day("unknown")  # NaN
