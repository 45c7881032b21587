"""Trend rules: consecutive falls and falls from the patient's own baseline."""

from __future__ import annotations

import math

import numpy as np
import pytest

from dashboard.rules.trends import fall_runs
from tests.rules.builders import baseline, dose, run, series

DATES = ["2024-01-05", "2024-02-05", "2024-03-05", "2024-04-05", "2024-05-05", "2024-06-05", "2024-07-05"]


def trend_values(review, rule: str, analyte: str | None = None) -> list[float]:
    f = review.flags_df()
    m = f["rule"] == rule
    if analyte:
        m &= f["analyte"] == analyte
    return f.loc[m, "value"].tolist()


def test_fires_on_the_third_fall_even_in_range():
    values = [10.0, 8.9, 7.9, 7.0]  # falls of 11%, 11.2%, 11.4%; all above the LLN
    rv = run(series("P1", "wbc", list(zip(DATES, values, strict=False))))
    f = rv.flags_df()
    assert f["rule"].tolist() == ["trend.consecutive_falls"]
    row = f.iloc[0]
    assert row["value"] == 7.0
    assert math.isnan(row["threshold"])
    assert row["message"].startswith("WBC fell by more than 10% at each of 3 consecutive tests: 10 → 8.9 → 7.9 → 7")
    assert row["source"].startswith("Primary Care Notebook")  # a published reference (issue 15: no project notes)


def test_a_fall_of_exactly_ten_percent_does_not_count():
    rv = run(series("P1", "wbc", list(zip(DATES, [10.0, 9.0, 8.1, 7.29], strict=False))))
    assert trend_values(rv, "trend.consecutive_falls") == []


def test_a_rise_breaks_the_run_and_further_falls_keep_firing():
    values = [10.0, 8.9, 9.5, 8.4, 7.4, 6.5, 5.8]
    rv = run(series("P1", "platelets", list(zip(DATES, [v * 30 for v in values], strict=False))))
    assert trend_values(rv, "trend.consecutive_falls") == [195.0, 174.0]


def test_runs_do_not_cross_patients_or_analytes():
    rows = series("P1", "neutrophils", [("2024-01-01", 6.0), ("2024-02-01", 5.0)])
    rows += series("P2", "neutrophils", [("2024-01-01", 4.0), ("2024-02-01", 3.5)])
    rows += series("P1", "hemoglobin", list(zip(DATES, [150, 130, 115, 100], strict=False)))
    rv = run(rows)
    assert trend_values(rv, "trend.consecutive_falls") == []


def test_fall_runs_counts_consecutive_falls():
    pid = np.array([0, 0, 0, 0, 0, 1, 1])
    value = np.array([10, 8, 6, 7, 5, 3, 2], dtype=float)
    assert fall_runs(pid, value, 10.0).tolist() == [0, 1, 2, 0, 1, 0, 1]


def test_baseline_fall_from_the_pre_treatment_median():
    rows = series("P1", "wbc", [("2024-01-01", 6.0), ("2024-01-15", 7.0), ("2024-02-01", 8.0)])
    rows += series("P1", "wbc", [("2024-04-01", 4.9), ("2024-05-01", 4.8)])
    rv = run(rows, [dose("P1", "azathioprine", "2024-03-01", amount=100)])
    f = rv.flags_df()
    hit = f[f["rule"] == "trend.baseline_fall"]
    assert hit["value"].tolist() == [4.8]  # 4.9 is exactly 30% below 7.0: not more than 30%
    assert hit["baseline"].iloc[0] == 7.0
    assert hit["baseline_basis"].iloc[0] == (
        "median of the last 3 results before Azathioprine started on 2024-03-01, drawn 2024-01-01 to 2024-02-01"
    )
    assert math.isnan(hit["threshold"].iloc[0])


def test_no_computed_baseline_without_a_monitored_drug():
    rows = series("P1", "wbc", [("2024-01-01", 8.0), ("2024-02-01", 8.0), ("2024-03-01", 4.5)])
    assert trend_values(run(rows), "trend.baseline_fall") == []
    # hydroxychloroquine needs no blood monitoring: it does not start a treatment baseline
    rv = run(rows, [dose("P1", "hydroxychloroquine", "2024-02-15", amount=200)])
    assert trend_values(rv, "trend.baseline_fall") == []


def test_clinician_baseline_duffy_null_neutrophils():
    rows = series("P1", "neutrophils", [("2024-02-01", 1.3), ("2024-03-01", 1.1), ("2024-04-01", 0.8)])
    own = [baseline("P1", "neutrophils", 1.2, "Duffy-null associated neutrophil count")]
    rv = run(rows, [dose("P1", "azathioprine", "2023-06-01", amount=100)], baselines=own)
    f = rv.flags_df()
    # 0.8 is 33% below her own 1.2: the baseline rule fires
    fall = f[f["rule"] == "trend.baseline_fall"]
    assert fall["value"].tolist() == [0.8]
    assert "clinician-set: Duffy-null associated neutrophil count" in fall["message"].iloc[0]
    # results at her baseline still show their grade and limit, as information only
    at_1_1 = f[f["value"] == 1.1].set_index("rule")
    assert bool(at_1_1.loc["bsr.neutrophils_low", "at_baseline"])
    assert at_1_1.loc["bsr.neutrophils_low", "severity"] == "info"
    assert at_1_1.loc["ctcae.neutrophils", "ctcae_grade"] == 2
    assert at_1_1.loc["ctcae.neutrophils", "severity"] == "info"
    assert "own clinician-set baseline 1.2: Duffy-null" in at_1_1.loc["bsr.neutrophils_low", "message"]
    # 0.8 is grade 3, worse than her baseline's grade 2: acted on
    at_0_8 = f[f["value"] == 0.8].set_index("rule")
    assert not at_0_8["at_baseline"].any()
    assert at_0_8.loc["ctcae.neutrophils", "severity"] == "urgent"


@pytest.mark.parametrize(("value", "expected"), [(0.85, False), (0.84, False), (0.83, True)])
def test_baseline_fall_is_strict(value, expected):
    rows = series("P1", "neutrophils", [("2024-03-01", value)])
    rv = run(rows, baselines=[baseline("P1", "neutrophils", 1.2)])
    assert bool(trend_values(rv, "trend.baseline_fall")) is expected
