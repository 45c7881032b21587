"""Property-based tests of grading and flagging: the invariants a clinician relies on.

* A lower count never gets a lower CTCAE grade (grading is monotone in the value).
* A guideline action limit fires exactly when the result is strictly beyond it.
* The unit a result was reported in changes nothing: the same count in 10^9/L, /uL or
  K/uL gets the same canonical value, the same grade and the same flags.
"""

from __future__ import annotations

import math

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dashboard.rules import ctcae
from dashboard.rules.engine import CTCAE_ONLY, DEFAULT_PROFILE, get_profile
from tests.rules.builders import dose, imported, lab, run

SETTINGS = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])

LOW_TERMS = [a for a, t in ctcae.terms().items() if t["direction"] == "low"]
HIGH_TERMS = [a for a, t in ctcae.terms().items() if t["direction"] == "high"]
#: Guideline limits of the default profile that compare a value with a threshold.
#: the limits the default profile applies (audit 17 F9 disables the local lymphocyte limit there)
LIMITS = [r for r in get_profile(DEFAULT_PROFILE).active("guideline") if r.comparison in ("<", ">")]

counts = st.floats(min_value=0.0, max_value=600.0, allow_nan=False, allow_infinity=False)


def _grade_low(analyte: str, values: list[float], lln: float) -> np.ndarray:
    v = np.asarray(values, dtype=float)
    grade, _cut = ctcae.grade_low(
        v, np.zeros(len(v), dtype=np.int8), ctcae.terms()[analyte]["cuts"], np.full(len(v), lln)
    )
    return grade


@SETTINGS
@given(analyte=st.sampled_from(LOW_TERMS), values=st.lists(counts, min_size=2, max_size=30), lln=counts)
def test_a_lower_count_never_gets_a_lower_grade(analyte, values, lln):
    grades = _grade_low(analyte, values, lln)
    order = np.argsort(values, kind="stable")
    ranked = grades[order]  # by value, lowest first
    assert all(ranked[i] >= ranked[i + 1] for i in range(len(ranked) - 1)), list(
        zip(np.asarray(values)[order], ranked, strict=False)
    )
    assert set(grades.tolist()) <= {0, 1, 2, 3, 4}


@SETTINGS
@given(analyte=st.sampled_from(HIGH_TERMS), values=st.lists(st.floats(0, 5000), min_size=2, max_size=30))
def test_a_higher_transaminase_never_gets_a_lower_grade(analyte, values):
    v = np.asarray(values, dtype=float)
    n = len(v)
    grade, _cut, _ = ctcae.grade_high(
        v, np.zeros(n, dtype=np.int8), np.full(n, 40.0), np.full(n, np.nan), ctcae.terms()[analyte]
    )
    ranked = grade[np.argsort(v, kind="stable")]
    assert all(ranked[i] <= ranked[i + 1] for i in range(n - 1))


@SETTINGS
@given(
    analyte=st.sampled_from(["wbc", "neutrophils", "lymphocytes", "platelets"]),
    values=st.lists(st.floats(0.01, 500.0), min_size=2, max_size=12, unique=True),
)
def test_grades_from_the_whole_review_are_monotone(analyte, values):
    """End to end through the rules engine: one patient, one result a day."""
    rows = [lab("P1", f"2024-01-{i + 1:02d} 09:00", analyte, v) for i, v in enumerate(values)]
    rv = run(rows, profile=CTCAE_ONLY)
    f = rv.flags_df()
    f = f[f["kind"] == "ctcae"]
    graded = dict(zip(f["collected_at"].dt.day, f["ctcae_grade"].astype(int), strict=True))
    grades = [graded.get(i + 1, 0) for i in range(len(values))]
    by_value = [g for _v, g in sorted(zip(values, grades, strict=True))]
    assert by_value == sorted(by_value, reverse=True), list(zip(values, grades, strict=False))


@SETTINGS
@given(rule=st.sampled_from(LIMITS), delta=st.floats(-0.5, 0.5), exact=st.booleans())
def test_guideline_limits_fire_exactly_beyond_the_strict_threshold(rule, delta, exact):
    analyte = rule.analytes[0]
    value = rule.threshold if exact else round(rule.threshold * (1 + delta), 6)
    if value <= 0:
        return
    # a limit written for one drug (SPS mercaptopurine) judges a patient taking it
    doses = [dose("P1", rule.drug, "2023-12-01", amount=75)] if rule.drug else []
    rv = run([lab("P1", "2024-01-02 09:00", analyte, value)], doses)
    fired = rule.id in set(rv.flags_df()["rule"])
    expected = value < rule.threshold if rule.comparison == "<" else value > rule.threshold
    assert fired == expected, (rule.id, value, rule.comparison, rule.threshold)


# (analyte, file test name, unit spellings with their factor to the canonical unit)
SAME_COUNT = [
    ("wbc", "WBC", {"10^9/L": 1.0, "/uL": 0.001, "K/uL": 1.0, "cells/mm3": 0.001}),
    ("neutrophils", "Neutrophils", {"10^9/L": 1.0, "cells/uL": 0.001, "G/l": 1.0}),
    ("platelets", "Platelets", {"10^9/L": 1.0, "/uL": 0.001, "10^3/uL": 1.0}),
    ("hemoglobin", "Hb", {"g/L": 1.0, "g/dL": 10.0}),
]


@SETTINGS
@given(case=st.sampled_from(SAME_COUNT), x=st.floats(0.2, 400.0))
def test_the_reporting_unit_changes_neither_value_nor_flags(case, x):
    _analyte, test, units = case
    x = float(f"{x:.3g}")
    seen = {}
    for unit, factor in units.items():
        written = f"{x / factor:.10g}"
        result = imported(f"patient_id,collected_at,analyte,value,unit\nP1,2024-01-02,{test},{written},{unit}\n")
        if result.labs.num_rows == 0:  # implausible in this unit: rejected in every unit alike
            seen[unit] = None
            continue
        value = result.labs.column("value")[0].as_py()
        assert math.isclose(value, x, rel_tol=1e-9), (unit, written, value)
        assert result.labs.column("source_value")[0].as_py() == written
        assert result.labs.column("source_unit")[0].as_py() == unit
        from dashboard.rules.review import review

        rv = review(result.labs, result.doses, result.patients, None, None)
        seen[unit] = sorted(
            zip(rv.flags.column("rule").to_pylist(), rv.flags.column("ctcae_grade").to_pylist(), strict=True)
        )
    assert len({repr(v) for v in seen.values()}) == 1, seen


@SETTINGS
@given(analyte=st.sampled_from([*sorted(ctcae.terms()), "albumin", "creatinine", "mcv"]), x=st.floats(0.5, 300.0))
def test_showing_in_us_units_and_reading_back_is_the_identity(analyte, x):
    """Canonical -> US display unit -> read as a lab would report it -> the same canonical value."""
    from dashboard.units import display_unit, is_plausible, resolve_unit, to_display

    x = float(f"{x:.4g}")
    shown, unit = to_display(analyte, x, "US"), display_unit(analyte, "US")
    res = resolve_unit(analyte, unit)
    assert res.factor is not None, f"{unit} shown for {analyte} but not read back"
    assert math.isclose(shown * res.factor, x, rel_tol=1e-9)
    if is_plausible(analyte, x * (1 - 1e-6)) and is_plausible(analyte, x * (1 + 1e-6)):  # not on a plausibility limit
        out = imported(f"patient_id,collected_at,analyte,value,unit\nP1,2024-01-02,{analyte},{shown!r},{unit}\n")
        assert out.labs.num_rows == 1, out.report.to_text()
        assert math.isclose(out.labs.column("value")[0].as_py(), x, rel_tol=1e-9)
