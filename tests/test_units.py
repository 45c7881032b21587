"""Units: spellings, conversions to canonical units, plausibility and inference."""

import math

import pytest

from dashboard.model import ANALYTES, CANONICAL_UNITS
from dashboard.units import (
    convert,
    display_unit,
    infer_unit,
    is_plausible,
    mass_unit,
    normalize_unit,
    resolve_unit,
    to_display,
    to_mg,
    weight_kg,
)


@pytest.mark.parametrize(
    ("spelling", "factor"),
    [
        ("10^9/L", 1.0),
        ("x10E9/L", 1.0),
        ("10*9/L", 1.0),
        ("x10*9/L", 1.0),
        ("×10⁹/L", 1.0),
        ("K/uL", 1.0),
        ("K/µL", 1.0),
        ("10*3/uL", 1.0),
        ("10^3/µL", 1.0),
        ("thou/mm3", 1.0),
        ("Thou/uL", 1.0),
        ("k/cumm", 1.0),
        ("G/l", 1.0),
        ("Gpt/l", 1.0),
        ("GI/L", 1.0),
        ("/nL", 1.0),
        ("/uL", 0.001),
        ("/µL", 0.001),
        ("cells/mm3", 0.001),
        ("/mm³", 0.001),
        ("cells/uL", 0.001),
    ],
)
def test_count_units(spelling, factor):
    for analyte in ("wbc", "neutrophils", "lymphocytes", "eosinophils", "platelets"):
        res = resolve_unit(analyte, spelling)
        assert res.factor == factor, (analyte, spelling)
        assert not res.percent


@pytest.mark.parametrize(
    ("analyte", "spelling", "value", "expected"),
    [
        ("hemoglobin", "g/dL", 12.5, 125.0),
        ("hemoglobin", "g/L", 125.0, 125.0),
        ("hemoglobin", "mmol/L", 6.2, 99.90308),
        ("albumin", "g/dL", 3.9, 39.0),
        ("creatinine", "mg/dL", 1.0, 88.4),
        ("creatinine", "mg/dl", 0.9, 79.56),
        ("creatinine", "µmol/L", 80.0, 80.0),
        ("creatinine", "mmol/L", 0.08, 80.0),
        ("alt", "µkat/L", 0.5, 30.0),
        ("alt", "IU/L", 42.0, 42.0),
        ("ast", "UNITS/L", 42.0, 42.0),
        ("mcv", "fl", 92.0, 92.0),
        ("egfr", "mL/min/{1.73_m2}", 75.0, 75.0),
        ("egfr", "ml/min/1,73m²", 75.0, 75.0),
        ("wbc", "/uL", 3200.0, 3.2),
        ("platelets", "cells/uL", 150000.0, 150.0),
    ],
)
def test_conversions(analyte, spelling, value, expected):
    res = resolve_unit(analyte, spelling)
    assert res.factor is not None
    assert convert(value, res.factor) == pytest.approx(expected, rel=1e-9)


def test_conversion_has_no_binary_noise():
    # 0.1 g/dL * 10 is exactly 1 g/L, not 1.0000000000000002
    assert convert(0.1, 10.0) == 1.0
    assert convert(1500, 0.001) == 1.5


@pytest.mark.parametrize(
    ("analyte", "spelling"),
    [("wbc", "mg/dL"), ("hemoglobin", "10^9/L"), ("alt", "g/L"), ("creatinine", "U/L"), ("platelets", "fL")],
)
def test_units_of_another_family_are_refused(analyte, spelling):
    res = resolve_unit(analyte, spelling)
    assert res.factor is None
    assert spelling in res.problem


def test_percent_only_for_differentials():
    assert resolve_unit("neutrophils", "%").percent
    assert resolve_unit("lymphocytes", "%").percent
    assert resolve_unit("platelets", "%").factor is None
    assert resolve_unit("wbc", "%").factor is None


def test_missing_unit_is_not_a_unit():
    assert resolve_unit("wbc", "").problem == "missing"
    assert resolve_unit("wbc", "   ").factor is None


def test_normalize_unit_spellings_meet():
    assert normalize_unit("10*9/L") == normalize_unit("x10^9/l") == normalize_unit("10E9/L")
    assert normalize_unit("K/cumm") == normalize_unit("k/mm3")


@pytest.mark.parametrize(
    ("analyte", "value", "expected"),
    [
        ("wbc", 6.5, "10^9/l"),
        ("wbc", 6500, "/ul"),
        ("platelets", 250, "10^9/l"),
        ("platelets", 250000, "/ul"),
        ("hemoglobin", 135, "g/l"),
        ("hemoglobin", 12.5, None),  # g/dL or mmol/L: the magnitude does not settle it
        ("creatinine", 0.9, "mg/dl"),
        ("creatinine", 80, "umol/l"),
        ("alt", 35, "u/l"),
        ("albumin", 4.1, "g/dl"),
        ("albumin", 41, "g/l"),
        ("wbc", 0.000001, None),  # fits no unit
    ],
)
def test_infer_unit_only_without_doubt(analyte, value, expected):
    got = infer_unit(analyte, value)
    assert (got[0] if got else None) == expected


def test_plausibility_bounds():
    assert not is_plausible("wbc", 0.0032)  # 3.2 "/uL" read as 10^9/L-equivalent
    assert is_plausible("wbc", 3.2)
    # issue 16: 0 is plausible only where a count can be 0 (an absent cell type)
    assert not is_plausible("wbc", 0.0) and not is_plausible("platelets", 0.0)
    assert is_plausible("neutrophils", 0.0) and is_plausible("lymphocytes", 0.0)
    assert not is_plausible("platelets", 250000)  # /uL labelled 10^9/L
    assert not is_plausible("hemoglobin", 12.5)  # g/dL labelled g/L
    for a in ANALYTES:
        assert CANONICAL_UNITS[a]


def test_us_display_units():
    assert display_unit("hemoglobin", "US") == "g/dL"
    assert to_display("hemoglobin", 125.0, "US") == 12.5
    assert to_display("wbc", 3.2, "US") == 3.2
    assert display_unit("wbc", "SI") == "×10⁹/L"
    assert math.isclose(to_display("creatinine", 88.4, "US"), 1.0)


# --------------------------------------------------------------------------- doses and body weights
# Expected values by hand: 1 mg = 1000 mcg, 1 g = 1000 mg, 1 lb = 0.45359237 kg exactly.


@pytest.mark.parametrize(
    ("value", "unit", "mg"),
    [
        (500, "mcg", 0.5),
        (250, "micrograms", 0.25),
        (1, "microgram", 0.001),
        (400, "ug", 0.4),
        (400, "µg", 0.4),  # micro sign
        (400, "μg", 0.4),  # Greek mu
        (400, "MCG", 0.4),
        (2.5, "mg", 2.5),
        (10, "milligrams", 10.0),
        (1, "g", 1000.0),
        (1.5, "grams", 1500.0),
        (3, "gm", 3000.0),
    ],
)
def test_masses_in_mg(value, unit, mg):
    assert to_mg(value, unit) == mg


def test_a_unit_that_is_not_a_mass_is_never_converted():
    for unit in ("tablet", "mL", "IU", "mg/kg", "", "mmol"):
        assert to_mg(10, unit) is None
        assert mass_unit(unit) is None
    assert (mass_unit("Micrograms"), mass_unit("ug"), mass_unit("GRAM"), mass_unit("mg")) == ("mcg", "mcg", "g", "mg")


@pytest.mark.parametrize(
    ("value", "unit", "kg"),
    [
        (70, "kg", 70.0),
        (70.125, "kg", 70.125),  # a weight in kg is kept as written
        (154, "lb", 69.85),  # 154 x 0.45359237 = 69.8532...
        (150, "[lb_av]", 68.04),  # 68.0388...
        (200, "pounds", 90.72),  # 90.718474
        (72500, "g", 72.5),
    ],
)
def test_body_weights_in_kg(value, unit, kg):
    assert weight_kg(value, unit) == kg


def test_a_body_weight_unit_not_known_is_not_guessed():
    assert weight_kg(11, "hands") is None and weight_kg(70, "mg") is None


def test_a_body_weight_in_stone_is_14_lb_a_stone():
    # a weight-unit column may say "st" (probe30 F3): 11 st = 154 lb = 154 x 0.45359237 = 69.85 kg
    assert weight_kg(11, "st") == 69.85 and weight_kg(11, "stone") == 69.85


# --------------------------------------------------------------------------- H139: a shown value and its limit


@pytest.mark.parametrize(
    ("analyte", "value", "system", "source", "expected"),
    [
        # converted by an exact power of ten: reporting decimals would put it on the limit
        ("neutrophils", 1.595, "SI", "1595", "1.595"),  # 1595 cells/uL; BSR < 1.6, not "1.60"
        ("neutrophils", 0.995, "SI", "995", "0.995"),  # CTCAE G3 < 1.0, not "1.00"
        ("neutrophils", 0.495, "SI", "495", "0.495"),  # CTCAE G4 < 0.5, not "0.50"
        ("platelets", 74.5, "SI", "74500", "74.5"),  # CTCAE G2 < 75, not "75"
        ("hemoglobin", 79.5, "SI", "7.95", "79.5"),  # 7.95 g/dL; CTCAE G3 < 80 g/L, not "80"
        ("hemoglobin", 99.5, "SI", "9.95", "99.5"),  # CTCAE G2 < 100 g/L, not "100"
        ("hemoglobin", 79.5, "US", "7.95", "7.95"),  # the lab's own number and decimals
        # just above a limit: never shown on it either
        ("platelets", 140.4, "SI", "140400", "140.4"),  # BSR < 140: "140" would sit on it
        # far from every limit: the reporting decimals, as before
        ("neutrophils", 3.215, "SI", "3215", "3.22"),
        ("platelets", 212.5, "SI", "212500", "213"),
        ("hemoglobin", 123.5, "SI", "12.35", "124"),
        ("creatinine", 64.532, "SI", "0.73", "65"),  # 0.73 mg/dL x 88.4; no fixed creatinine limit
    ],
)
def test_a_shown_value_sits_on_its_own_side_of_every_limit(analyte, value, system, source, expected):
    from dashboard.units import display_text, display_text_array, display_texts

    assert display_text(analyte, value, system, source) == expected
    assert display_text_array(analyte, [value], system, [source]) == [expected]
    assert display_texts([analyte], [value], system, [source]) == [expected]


def test_a_flags_own_threshold_is_a_limit_too():
    """A limit known only to the flag (a creatinine rise of 30 % over a baseline of 50 is
    65 umol/L): 0.731 mg/dL x 88.4 = 64.6204 shows "64.6" (one decimal more is enough), never "65"."""
    from dashboard.units import display_text, display_texts

    assert display_text("creatinine", 64.6204, "SI", "0.731") == "65"
    assert display_text("creatinine", 64.6204, "SI", "0.731", limits=(65.0,)) == "64.6"
    assert display_texts(["creatinine"], [64.6204], "SI", ["0.731"], None, [65.0]) == ["64.6"]
