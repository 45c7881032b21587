"""The Panel's Hb cell of a result reported in mmol/L is the value as reported, on the
side of the cut its grade says (H486).

By hand from CTCAE v5.0 anaemia in mmol/L: G1 <LLN-6.2, G2 <6.2-4.9, G3 <4.9 mmol/L
(in g/L: G1 <LLN-100, G2 <100-80, G3 <80).  1 mmol/L = 16.1134 g/L: 6.2 mmol/L is
99.9 g/L, below 100 (grade 2's cut in g/L) though 6.2 is not below 6.2 (grade 1).
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from dashboard.dataset import Dataset
from dashboard.panel import panel_table, value_column
from dashboard.rules import review_dataset
from tests.support import csv_import

AS_OF = dt.date(2026, 6, 1)
HEAD = "patient_id,collected_at,analyte,value,unit,reference_range\n"


def _row(value: str, unit: str, rng: str, system: str = "SI") -> pd.Series:
    labs = f"P1,2026-05-20 09:00,Haemoglobin,{value},{unit},{rng}\n"
    ds = Dataset.from_import(csv_import(labs, as_of=AS_OF, labs_head=HEAD), "t")
    return panel_table(ds, review_dataset(ds, None, AS_OF), system).set_index("Patient").loc["P1"]


@pytest.mark.parametrize("system", ["SI", "US"])
@pytest.mark.parametrize(
    ("value", "cell"),
    [
        ("6.2", "6.2 mmol/L G1"),  # not < 6.2, < LLN 7.1
        ("5.2", "5.2 mmol/L G2"),  # < 6.2, not < 4.9
        ("4.9", "4.9 mmol/L G2"),  # not < 4.9
        ("4.80", "4.80 mmol/L G3"),  # < 4.9; the lab's two decimals kept
        ("<4.9", "<4.9 mmol/L G3"),  # below 4.9: grade 3, the most severe anaemia grade by value
    ],
)
def test_a_hb_in_mmol_per_l_is_shown_as_reported_beside_its_grade(value, cell, system):
    assert _row(value, "mmol/L", "7.1-10.2", system)["Hb"] == cell


def test_the_more_columns_value_stays_in_the_display_unit():
    """The "Hb (g/L)" column (no grade beside it) keeps the converted value, 99.9 g/L."""
    assert _row("6.2", "mmol/L", "7.1-10.2")[value_column("hemoglobin", "SI")] == "99.9  ·  2026-05-20"


def test_a_hb_in_g_per_l_or_g_per_dl_keeps_the_display_unit():
    """84 g/L and 8.4 g/dL: grade 2 (< 100 g/L), shown in the table's unit without one."""
    assert _row("84", "g/L", "115-165")["Hb"] == "84 G2"
    assert _row("8.4", "g/dL", "11.5-16.5", "US")["Hb"] == "8.4 G2"
    assert _row("8.4", "g/dL", "11.5-16.5", "SI")["Hb"] == "84 G2"
