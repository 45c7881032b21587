"""The patient CSV/workbook and the Home results table keep both values of a draw with two,
and the value as the lab wrote it beside a converted one (H487).

By hand: Hb 5.2 mmol/L × 16.1134 = 83.79 g/L, written 84 (whole g/L), 8.4 g/dL;
creatinine 2.0 mg/dL × 88.4 = 176.8 µmol/L, written 177; neutrophils 1400 cells/µL
= 1.4 ×10⁹/L (on screen "1.40": a count in ×10⁹/L has two decimals, the CSV keeps the
number 1.4); 1 K/µL = 1 ×10⁹/L (the same number: nothing to add).
"""

from __future__ import annotations

import csv
import datetime as dt
import io

import openpyxl

from dashboard import summary_export as sx
from dashboard.dataset import Dataset
from dashboard.reviews import empty_log
from dashboard.views import patient_results
from tests.support import csv_import

AS_OF = dt.date(2026, 6, 1)


def _dataset(rows: str) -> Dataset:
    return Dataset.from_import(csv_import(rows, as_of=AS_OF), "t")


def _labs(rows: str):
    return _dataset(rows).labs


def _csv(rows: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(sx.patient_csv(_labs(rows), "P1").decode("utf-8-sig"))))


TWO = "P1,2026-05-20 09:00,Neutrophils,1.2,10^9/L\nP1,2026-05-20 09:00,Neutrophils,0.8,10^9/L\n"
CONVERTED = (
    "P1,2026-05-20 09:00,Haemoglobin,5.2,mmol/L\n"
    "P1,2026-05-20 09:00,Creatinine,2.0,mg/dL\n"
    "P1,2026-05-20 09:00,Neutrophils,1400,cells/uL\n"
    "P1,2026-05-20 09:00,WBC,3.2,K/uL\n"
)


def test_the_patient_csv_keeps_both_values_of_a_draw_and_one_value_as_a_number():
    rows = _csv(TWO + "P1,2026-05-27 09:00,Neutrophils,2.0,10^9/L\n")
    assert [r["Neutrophils (10^9/L)"] for r in rows] == ["1.2 / 0.8", "2.0"]
    assert list(rows[0]) == ["Collected", "Neutrophils (10^9/L)"]  # the same unit: no "as reported"


def test_the_patient_csv_gives_the_value_as_reported_beside_a_converted_one():
    (row,) = _csv(CONVERTED)
    assert row["Hb (g/L)"] == "84" and row["Hb as reported"] == "5.2 mmol/L"
    assert row["Creatinine (umol/L)"] == "177" and row["Creatinine as reported"] == "2.0 mg/dL"
    assert row["Neutrophils (10^9/L)"] == "1.4" and row["Neutrophils as reported"] == "1400 cells/uL"
    assert row["WBC (10^9/L)"] == "3.2" and "WBC as reported" not in row  # K/uL = 10^9/L


def test_the_patient_workbook_results_sheet_is_the_csvs_table():
    ds = _dataset(CONVERTED + TWO.replace("2026-05-20", "2026-05-27"))
    book = openpyxl.load_workbook(io.BytesIO(sx.patient_xlsx(ds.labs, ds.doses, empty_log(), "P1")))
    header, *rows = book["Results"].values
    cells = [dict(zip(header, r, strict=True)) for r in rows]
    assert cells[0]["Hb as reported"] == "5.2 mmol/L" and cells[1]["Neutrophils (10^9/L)"] == "1.2 / 0.8"
    assert cells[1]["Neutrophils as reported"] == "1.2 10^9/L / 0.8 10^9/L"


def test_the_home_results_table_gives_the_value_as_reported_in_si_and_us():
    labs = _labs(CONVERTED)
    si = patient_results(labs, "P1", "SI").iloc[0]
    assert si["Hb (g/L)"] == "84" and si["Hb as reported"] == "5.2 mmol/L"
    assert si["Neutrophils (×10⁹/L)"] == "1.40" and si["Neutrophils as reported"] == "1400 cells/uL"
    us = patient_results(labs, "P1", "US").iloc[0]
    assert us["Hb (g/dL)"] == "8.4" and us["Hb as reported"] == "5.2 mmol/L"
    assert us["Creatinine (mg/dL)"] == "2.0" and "Creatinine as reported" not in us  # as written
    assert "WBC as reported" not in us


def test_the_home_results_table_adds_nothing_where_the_value_is_as_written():
    """8.4 g/dL shown in US units is 8.4 g/dL: no column; in SI it is 84 g/L, said beside."""
    labs = _labs("P1,2026-05-20 09:00,Haemoglobin,8.4,g/dL\n")
    assert list(patient_results(labs, "P1", "US").columns) == ["Collected", "Hb (g/dL)"]
    si = patient_results(labs, "P1", "SI").iloc[0]
    assert si["Hb (g/L)"] == "84" and si["Hb as reported"] == "8.4 g/dL"
