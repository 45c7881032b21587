"""The Panel table's column settings (dashboard/ui/panel_view.py)."""

from __future__ import annotations

import pandas as pd

from dashboard.panel import now_column
from dashboard.ui.panel_view import column_config


def _width(config, analyte):
    return config[now_column(analyte)]["width"]


def test_a_count_column_is_narrow_for_numbers_and_grades():
    data = pd.DataFrame({now_column("hemoglobin"): ["84 G2", "120"], now_column("wbc"): ["6.5", "<2.0 G3"]})
    config = column_config("SI", data)
    assert _width(config, "hemoglobin") == 48 and _width(config, "wbc") == 48


def test_a_value_written_with_its_unit_widens_its_column_so_the_grade_shows():
    # "5.2 mmol/L G2" (an Hb reported in mmol/L, H486) is 13 characters: 8 px each, 104 px
    data = pd.DataFrame({now_column("hemoglobin"): ["5.2 mmol/L G2", "120"]})
    assert _width(column_config("SI", data), "hemoglobin") == 104


def test_without_data_the_widths_are_the_defaults():
    config = column_config("SI")
    assert _width(config, "hemoglobin") == 48 and _width(config, "neutrophils") == 58
