"""Dataset.for_patient: by comparing ids, or by the row positions of patient_rows (the
Patient page on a large panel): the same frames either way."""

from __future__ import annotations

import datetime as dt

import pandas as pd

from dashboard.dataset import Dataset
from tests.rules.builders import dose, frame, lab, patient


def _dataset() -> Dataset:
    labs = [
        lab("P2", "2026-10-01", "wbc", 6.0),
        lab("P1", "2026-08-01", "neutrophils", 0.8),
        lab("P2", "2026-10-02", "platelets", 210.0),
        lab("P1", "2026-09-01", "neutrophils", 3.0),
        lab("P3", "2026-09-03", "wbc", 5.0),
        lab("P1", "2026-10-01", "neutrophils", 0.4),
    ]
    doses = [
        dose("P1", "azathioprine", "2026-01-01", amount=100.0),
        dose("P3", "methotrexate", "2026-02-01", amount=15.0),
    ]
    ds = Dataset(
        frame("labs", labs), frame("doses", doses), frame("patients", [patient(p) for p in ("P1", "P2", "P3")])
    )
    return ds.with_interval("P2", 56, "stable", "Dr A", dt.datetime(2026, 10, 5, 9, 0))


def test_by_position_is_the_same_as_by_id():
    ds = _dataset()
    rows = ds.patient_rows()
    for pid in ("P1", "P2", "P3", "nobody"):
        by_id, by_position = ds.for_patient(pid), ds.for_patient(pid, rows)
        for table in ("labs", "doses", "patients", "baselines", "intervals"):
            pd.testing.assert_frame_equal(getattr(by_position, table), getattr(by_id, table))
    p1 = ds.for_patient("P1", rows).labs
    assert list(p1["value"]) == [0.8, 3.0, 0.4] and list(p1.index) == [1, 3, 5]  # file order, original labels
    assert ds.for_patient("nobody", rows).labs.empty and len(ds.for_patient("P2", rows).intervals) == 1
