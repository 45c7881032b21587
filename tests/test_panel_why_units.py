"""The Panel's Why speaks the unit system of the table beside it, its value rounded as the
table's cell (H485).

By hand: albumin 2.8 g/dL = 28 g/L, below the BSR limit 30 g/L = 3.0 g/dL.  Creatinine
1.0 mg/dL = 88.4 µmol/L before methotrexate, then 1.4 mg/dL = 123.76 µmol/L: a rise of
(1.4 - 1.0) / 1.0 = 40.00% (more than the BSR 30%); 123.76 µmol/L is written 124 (whole
µmol/L, as a lab writes it), 1.4 mg/dL as reported.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd

from dashboard.dataset import Dataset
from dashboard.panel import panel_table, why_texts
from dashboard.rules import review_dataset
from tests.support import csv_import

AS_OF = dt.date(2026, 6, 1)
HEAD = "patient_id,collected_at,analyte,value,unit,reference_range\n"
DOSES = "P1,methotrexate,15,mg,weekly,oral,2025-01-01,\n"


def _panel(labs: str, system: str) -> pd.Series:
    ds = Dataset.from_import(csv_import(labs, DOSES, as_of=AS_OF, labs_head=HEAD), "t")
    return panel_table(ds, review_dataset(ds, None, AS_OF), system).set_index("Patient").loc["P1"]


ALBUMIN = "P1,2026-05-20 09:00,Albumin,2.8,g/dL,3.5-5.0\n"
CREATININE = "P1,2024-12-01 09:00,Creatinine,1.0,mg/dL,0.5-1.1\nP1,2026-05-20 09:00,Creatinine,1.4,mg/dL,0.5-1.1\n"


def test_an_albumin_below_the_limit_reads_in_g_dl_in_us_units():
    assert "Alb 2.8 < 3" in _panel(ALBUMIN, "US")["Why"]
    assert "28" not in _panel(ALBUMIN, "US")["Why"]


def test_an_albumin_below_the_limit_reads_in_g_l_in_si_units():
    assert "Alb 28 < 30" in _panel(ALBUMIN, "SI")["Why"]


def test_a_creatinine_rise_reads_in_the_unit_system_with_the_tables_rounding():
    assert "Creat 1.4, 40.00% above 1" in _panel(CREATININE, "US")["Why"]
    why = _panel(CREATININE, "SI")["Why"]
    assert "Creat 124, 40.00% above 88.4" in why and "123.76" not in why


def test_why_texts_default_to_si():
    ds = Dataset.from_import(csv_import(ALBUMIN, DOSES, as_of=AS_OF, labs_head=HEAD), "t")
    rv = review_dataset(ds, None, AS_OF)
    assert "Alb 28 < 30" in why_texts(rv, pd.Series(["P1"]))[0]
    assert "Alb 2.8 < 3" in why_texts(rv, pd.Series(["P1"]), system="US")[0]
