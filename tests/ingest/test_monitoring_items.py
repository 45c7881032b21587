"""Blood pressure and IgG are analytes (issue 17): readers accept them, units convert,
implausible or combined readings are rejected with their reason."""

import pytest

from dashboard import model
from dashboard.units import display_unit, resolve_unit, to_display


def labs_of(result):
    return result.labs_df().sort_values(["collected_at", "analyte", "value"]).reset_index(drop=True)


def test_blood_pressure_and_igg_are_canonical_analytes():
    assert {"bp_systolic", "bp_diastolic", "igg"} <= set(model.ANALYTES)
    assert model.CANONICAL_UNITS["bp_systolic"] == model.CANONICAL_UNITS["bp_diastolic"] == "mmHg"
    assert model.CANONICAL_UNITS["igg"] == "g/L"
    info = model.analyte_info()
    assert info["bp_systolic"].loinc == ("8480-6",)
    assert info["bp_diastolic"].loinc == ("8462-4",)
    assert info["igg"].loinc == ("2465-3",)


@pytest.mark.parametrize(
    ("analyte", "unit", "factor"),
    [
        ("bp_systolic", "mmHg", 1.0),
        ("bp_systolic", "mm Hg", 1.0),
        ("bp_diastolic", "kPa", 7.50062),  # 1 kPa = 7.50062 mmHg
        ("igg", "g/L", 1.0),
        ("igg", "mg/dL", 0.01),  # 650 mg/dL = 6.5 g/L
        ("igg", "g/dL", 10.0),
    ],
)
def test_units(analyte, unit, factor):
    assert resolve_unit(analyte, unit).factor == pytest.approx(factor)


def test_a_count_unit_is_not_a_pressure():
    assert resolve_unit("bp_systolic", "10^9/L").factor is None


def test_igg_in_us_units():
    assert display_unit("igg", "US") == "mg/dL"
    assert to_display("igg", 6.5, "US") == pytest.approx(650.0)


def test_readers_accept_blood_pressure_and_igg_by_name_and_loinc(imp):
    text = (
        "patient,date,test,value,unit\n"
        "P1,2024-03-01,Systolic blood pressure,142,mmHg\n"
        "P1,2024-03-01,Diastolic BP,88,mm[Hg]\n"
        "P1,2024-03-02,IgG,650,mg/dL\n"
    )
    df = labs_of(imp(text))
    got = list(zip(df["analyte"], df["value"], df["unit"], strict=True))
    assert got == [("bp_diastolic", 88.0, "mmHg"), ("bp_systolic", 142.0, "mmHg"), ("igg", 6.5, "g/L")]
    coded = "patient,date,loinc,value,unit\nP1,2024-03-03,8480-6,131,mmHg\nP1,2024-03-03,2465-3,5.9,g/L\n"
    df = labs_of(imp(coded))
    assert list(zip(df["analyte"], df["value"], strict=True)) == [("bp_systolic", 131.0), ("igg", 5.9)]


def test_combined_and_implausible_readings_are_rejected_with_a_reason(imp):
    r = imp(
        "patient,date,test,value,unit\nP1,2024-03-01,Systolic BP,140/90,mmHg\nP1,2024-03-01,Systolic BP,1400,mmHg\n"
    )
    assert r.labs.num_rows == 0
    messages = " ".join(p.message for p in r.report.files[0].problems)
    assert "/90" in messages  # "unexpected text after the number": a systolic value is never guessed
    assert "implausible" in messages
