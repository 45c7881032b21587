"""The canonical model is defined once and documented in docs/data-model.md."""

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from dashboard import model

DOC = Path(__file__).resolve().parent.parent / "docs" / "data-model.md"


def test_vocabularies_are_closed_and_complete():
    assert set(model.analyte_info()) == set(model.ANALYTES)
    for a, info in model.analyte_info().items():
        assert info.unit == model.CANONICAL_UNITS[a]
        assert info.plausible[0] < info.plausible[1]
        assert info.typical[0] <= info.typical[1]
        assert info.aliases, a


@pytest.mark.parametrize(
    ("brand", "generic"),
    [
        ("imuran", "azathioprine"),
        ("cellcept", "mycophenolate mofetil"),
        ("myfortic", "mycophenolic acid"),
        ("cytoxan", "cyclophosphamide"),
        ("plaquenil", "hydroxychloroquine"),
        ("prograf", "tacrolimus"),
        ("lupkynis", "voclosporin"),
        ("benlysta", "belimumab"),
        ("saphnelo", "anifrolumab"),
        ("rituxan", "rituximab"),
        ("arava", "leflunomide"),
        ("neoral", "ciclosporin"),
    ],
)
def test_brand_names_belong_to_their_generic(brand, generic):
    assert brand in model.drug_info()[generic].aliases


def test_methotrexate_is_weekly():
    assert model.drug_info()["methotrexate"].weekly
    assert not model.drug_info()["azathioprine"].weekly


def test_conform_fills_defaults_and_types():
    t = pa.table(
        {
            "patient_id": ["p1"],
            "collected_at": pa.array([0], pa.timestamp("s")),
            "analyte": ["wbc"],
            "value": [3.0],
            "unit": ["10^9/L"],
        }
    )
    out = model.conform("labs", t)
    assert out.schema == model.schema("labs")
    row = out.to_pylist()[0]
    assert row["comparator"] == "" and row["derived"] is False and row["source_row"] == 0


def test_conform_requires_required_columns():
    with pytest.raises(KeyError):
        model.conform("labs", pa.table({"patient_id": ["p1"]}))


def test_filter_rows_keeps_the_rows_asked_for_in_order_with_their_types():
    """The column-by-column filter gives the rows, order, types and dictionaries that
    pyarrow's whole-table filter gives, from a numpy mask or an Arrow one, over chunks."""
    first = pa.table(
        {
            "patient_id": pa.array(["p1", "p2", "p1"]).dictionary_encode(),
            "value": [1.5, float("nan"), 3.0],
            "source_value": ["1.5", "", None],
        }
    )
    second = pa.table(
        {
            "patient_id": pa.array(["p3"]).dictionary_encode(),
            "value": [4.0],
            "source_value": ["4"],
        }
    )
    table = pa.concat_tables([first, second])  # two chunks per column
    keep = np.array([True, False, True, True])
    out = model.filter_rows(table, keep)
    assert out.schema == table.schema
    assert out.to_pylist() == table.filter(pa.array(keep)).to_pylist()
    assert out.column("patient_id").to_pylist() == ["p1", "p1", "p3"]
    assert out.column("source_value").to_pylist() == ["1.5", None, "4"]
    assert model.filter_rows(table, pa.array([False] * 4)).num_rows == 0


def test_pandas_round_trip():
    df = model.empty_frame("doses")
    assert list(df.columns) == model.columns("doses")
    back = model.from_pandas("doses", df)
    assert back.schema == model.schema("doses")


def test_every_field_is_documented():
    text = DOC.read_text(encoding="utf-8")
    for table, fields in model.TABLES.items():
        assert f"## {table}" in text, table
        for f in fields:
            assert f"`{f.name}`" in text, (table, f.name)
    for a in model.ANALYTES:
        assert f"`{a}`" in text


def test_drug_labels_come_from_the_vocabulary_and_an_unknown_id_is_shown_as_it_is():
    assert model.drug_label("azathioprine") == "Azathioprine"
    assert model.drug_label("mycophenolate mofetil") == model.drug_info()["mycophenolate mofetil"].label
    assert model.drug_label("not-a-drug") == "not-a-drug"


def test_a_dose_is_in_force_from_its_start_until_the_day_it_ends_or_changes():
    start, end = pd.Timestamp("2025-01-01"), pd.Timestamp("2025-03-01")
    assert model.in_force(start, end, pd.Timestamp("2025-01-01"))  # the first day
    assert model.in_force(start, end, pd.Timestamp("2025-02-28 23:00"))
    assert not model.in_force(start, end, pd.Timestamp("2025-03-01"))  # the day it changed: the new dose
    assert not model.in_force(start, end, pd.Timestamp("2024-12-31"))
    assert model.in_force(start, pd.NaT, pd.Timestamp("2030-01-01"))  # no end: ongoing
    assert model.in_force(start, None, pd.Timestamp("2030-01-01"))


def test_doses_in_force_on_a_date_by_column():
    doses = pd.DataFrame(
        {
            "drug": ["a", "b", "c", "d"],
            "start": pd.to_datetime(["2025-01-01", "2025-01-01", "2025-03-01", "2025-04-01"]),
            "end": pd.to_datetime(["2025-03-01", None, None, None]),
        }
    )
    assert model.in_force(doses["start"], doses["end"], pd.Timestamp("2025-03-01")).tolist() == [
        False,
        True,
        True,
        False,
    ]
    assert model.doses_in_force(doses, dt.date(2025, 2, 1))["drug"].tolist() == ["a", "b"]
    assert model.doses_in_force(doses, dt.date(2025, 3, 1))["drug"].tolist() == ["b", "c"]
