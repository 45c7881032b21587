"""Numbers rounded as the lab reports them (issue 18), worked out by hand:

* a result shown in the unit the lab wrote keeps the lab's own decimals ("1.18", "1.2");
* a converted one gets the decimals a lab reporting in the display unit uses:
  creatinine 0.73 mg/dL x 88.4 = 64.532 umol/L -> 65; Hb 11.2 g/dL = 112 g/L;
  WBC 3250 /uL = 3.25 x10^9/L -> 3.3 (half up, as a lab rounds; Python's round gives 3.2);
* back in US units, 112 g/L Hb is 11.2 g/dL, and 65 umol/L creatinine 0.74 mg/dL.
"""

import math

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from dashboard.model import ANALYTES
from dashboard.units import (
    display_decimals,
    display_number,
    display_text,
    display_text_array,
    reported_decimals,
    round_half_up,
)


@pytest.mark.parametrize(
    ("analyte", "value", "system", "source", "comparator", "shown"),
    [
        ("neutrophils", 1.18, "SI", "1.18", "", "1.18"),
        ("neutrophils", 1.2, "SI", "1.2", "", "1.2"),
        ("neutrophils", 0.5, "SI", "<0.5", "<", "<0.5"),
        ("creatinine", 64.532, "SI", "0.73", "", "65"),
        ("creatinine", 64.532, "US", "0.73", "", "0.73"),
        ("creatinine", 65.0, "US", "65", "", "0.74"),
        ("hemoglobin", 112.0, "SI", "11.2", "", "112"),
        ("hemoglobin", 112.0, "US", "11.2", "", "11.2"),
        ("hemoglobin", 112.0, "US", "112", "", "11.2"),
        ("wbc", 3.25, "SI", "3250", "", "3.3"),
        ("platelets", 140.0, "SI", "140", "", "140"),
        ("alt", 150.0, "SI", "2.5", "", "150"),
        ("egfr", 58.0, "SI", "58", "", "58"),
    ],
)
def test_shown_as_the_lab_reports(analyte, value, system, source, comparator, shown):
    assert display_text(analyte, value, system, source, comparator) == shown


def test_the_lab_s_own_decimals_win_in_its_own_unit():
    assert reported_decimals("1.180") == 3 and reported_decimals("<0,5") == 1 and reported_decimals("140") == 0
    assert reported_decimals("pending") is None
    assert display_decimals("neutrophils", 1.18, "SI", "1.180") == 3  # the lab wrote three: three are shown


def test_half_up_and_missing_values():
    assert round_half_up(3.25, 1) == 3.3 and round_half_up(2.5, 0) == 3.0 and round_half_up(0.125, 2) == 0.13
    assert math.isnan(display_number("wbc", float("nan")))
    assert display_text("wbc", float("nan")) == ""


@given(
    st.sampled_from(ANALYTES),
    st.sampled_from(["SI", "US"]),
    st.lists(
        st.tuples(
            st.floats(0, 3000, allow_nan=False),
            st.integers(0, 3),
            st.sampled_from([1.0, 0.001, 10.0, 88.4, 16.1134]),
            st.sampled_from(["", "<", ">"]),
        ),
        max_size=20,
    ),
)
@example("neutrophils", "SI", [(2425.0, 0, 16.1134, "")])  # 39074.995 in decimal, 39074.994999... stored
@settings(max_examples=150, deadline=None)
def test_the_column_wise_text_is_the_same_text(analyte, system, rows):
    """The panel's column-wise rounding (thousands of patients) says exactly what the one-value function says."""
    values = [round(x, d) * f for x, d, f, _c in rows]
    sources = [f"{c}{round(x, d):.{d}f}" for x, d, _f, c in rows]
    comparators = [c for *_, c in rows]
    expected = [display_text(analyte, v, system, s, c) for v, s, c in zip(values, sources, comparators, strict=True)]
    assert display_text_array(analyte, values, system, sources, comparators) == expected
