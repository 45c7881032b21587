"""The canonical model is defined once and documented in docs/data-model.md."""

from pathlib import Path

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
