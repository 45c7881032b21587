"""Results per month (Home page), asserted on fig.to_dict()."""

import pandas as pd

from dashboard.figures.coverage import GROUP_COLOUR, results_per_month


def labs(rows):
    return pd.DataFrame(rows, columns=["patient_id", "collected_at", "analyte"]).assign(
        collected_at=lambda d: pd.to_datetime(d["collected_at"])
    )


def test_counts_per_month_stacked_by_group():
    d = results_per_month(
        labs(
            [
                ("P1", "2024-01-03", "wbc"),
                ("P1", "2024-01-03", "platelets"),
                ("P1", "2024-01-20", "alt"),
                ("P2", "2024-03-05", "creatinine"),
                ("P2", "2024-03-05", "hemoglobin"),
            ]
        )
    ).to_dict()
    bars = {t["name"]: t for t in d["data"]}
    assert set(bars) == {"Blood count", "Liver", "Kidney"}
    assert all(t["type"] == "bar" for t in d["data"])
    blood = bars["Blood count"]
    assert [str(x)[:7] for x in blood["x"]] == ["2024-01", "2024-03"] and list(blood["y"]) == [2, 1]
    assert list(bars["Liver"]["y"]) == [1] and list(bars["Kidney"]["y"]) == [1]
    assert blood["marker"]["color"] == GROUP_COLOUR["Blood count"]
    assert d["layout"]["barmode"] == "stack"
    assert "results" in blood["hovertemplate"]


def test_a_gap_month_has_no_bar():
    d = results_per_month(labs([("P1", "2024-01-03", "wbc"), ("P1", "2024-04-03", "wbc")])).to_dict()
    [bar] = d["data"]
    assert [str(x)[:7] for x in bar["x"]] == ["2024-01", "2024-04"]


def test_empty_import_gives_an_empty_chart():
    d = results_per_month(labs([])).to_dict()
    assert d["data"] == [] and d["layout"]["title"]["text"] == "Results per month"


def test_bars_are_a_month_wide_however_far_apart_the_months_are():
    # two months ten months apart: the automatic bar width would span most of the gap
    d = results_per_month(labs([("P1", "2026-01-05", "wbc"), ("P1", "2026-11-03", "wbc")])).to_dict()
    [bar] = d["data"]
    day_ms = 24 * 3600 * 1000
    assert list(bar["width"]) == [26 * day_ms, 26 * day_ms]
    assert bar["xperiod"] == "M1" and bar["xperiodalignment"] == "middle"
    assert d["layout"]["xaxis"]["range"] == ["2025-12-12", "2026-12-21"]  # first to last month, no more
