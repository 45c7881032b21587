"""A body weight is read only with a unit: its cell's, its column header's or a weight
unit column's.  A bare "180" may be 180 kg or 180 lb (81.6 kg); the mg/kg dose checks
turn on which (azathioprine's 2.5 mg/kg/day ceiling is 450 mg at 180 kg, 204 mg at 81.6 kg),
so it is left unknown and said, never taken as kg (probe31 F3, H496).

Hand-worked: 154 lb = 154 x 0.45359237 = 69.85 kg; "70 kg" in the cell is 70 kg whatever
the header; a header "weight_kg" makes a bare 70 mean 70 kg.
"""

from __future__ import annotations

import datetime as dt
import math

from dashboard.ingest import ImportOptions, Source, import_sources

TODAY = dt.date(2026, 12, 1)


def _patients(text: str):
    r = import_sources([Source("patients.csv", text.encode())], ImportOptions(today=TODAY))
    f = r.report.files[0]
    warnings = [w.message for w in f.warnings]
    problems = [p.message for p in f.problems]
    return r.patients_df().set_index("patient_id"), warnings, problems


def test_a_bare_weight_under_a_header_without_a_unit_is_left_unknown_and_said():
    p, warnings, problems = _patients("patient_id,sex,date_of_birth,weight\nP1,F,1970-01-01,180\n")
    assert math.isnan(p.loc["P1", "weight_kg"])
    assert p.loc["P1", "sex"] == "F"  # the patient's other details stand
    assert problems == []
    [said] = [w for w in warnings if "weight '180'" in w]
    assert "has no unit" in said and "kg or lb cannot be told" in said


def test_a_header_naming_kg_reads_bare_weights_as_kg():
    p, warnings, _ = _patients("patient_id,sex,date_of_birth,weight_kg\nP1,F,1970-01-01,70\n")
    assert p.loc["P1", "weight_kg"] == 70.0
    assert not [w for w in warnings if "no unit" in w]


def test_a_header_naming_lb_reads_bare_weights_as_lb():
    p, _, _ = _patients("patient_id,sex,date_of_birth,weight (lbs)\nP1,F,1970-01-01,154\n")
    assert round(p.loc["P1", "weight_kg"], 2) == 69.85


def test_a_unit_in_the_cell_is_read_under_a_header_without_one():
    p, warnings, _ = _patients("patient_id,sex,date_of_birth,weight\nP1,F,1970-01-01,154 lb\nP2,M,1960-01-01,70 kg\n")
    assert round(p.loc["P1", "weight_kg"], 2) == 69.85
    assert p.loc["P2", "weight_kg"] == 70.0
    assert not [w for w in warnings if "no unit" in w]


def test_each_bare_weight_is_said_on_its_own_row():
    p, warnings, _ = _patients("patient_id,sex,date_of_birth,weight\nP1,F,1970-01-01,70 kg\nP2,M,1960-01-01,82\n")
    assert p.loc["P1", "weight_kg"] == 70.0
    assert math.isnan(p.loc["P2", "weight_kg"])
    assert len([w for w in warnings if "no unit" in w]) == 1
