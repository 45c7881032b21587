"""The Patient page's chart opens on the results that matter for this patient."""

from __future__ import annotations

import pandas as pd

from dashboard.ui.patient_view import default_analytes


def _flags(*rows: tuple[str, str]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["analyte", "status"])


def test_blood_counts_and_liver_tests_first():
    present = ["wbc", "neutrophils", "creatinine", "egfr", "alt"]
    assert default_analytes(present, _flags()) == ["wbc", "neutrophils", "alt"]


def test_a_test_with_an_open_flag_is_always_shown():
    """A creatinine rise on methotrexate: the chart must show creatinine, not only the counts."""
    present = ["wbc", "neutrophils", "creatinine", "egfr"]
    flags = _flags(("creatinine", "open"), ("egfr", "closed"))
    assert default_analytes(present, flags) == ["wbc", "neutrophils", "creatinine"]


def test_a_patient_with_only_other_tests_shows_what_they_have():
    """Only creatinine results (the chart opened empty, on the doses alone)."""
    assert default_analytes(["creatinine"], _flags()) == ["creatinine"]
    assert default_analytes([], _flags()) == []


def test_a_creatinine_clearance_is_on_the_chart_by_default():
    """The methotrexate limit is stated in creatinine clearance (H412): a CrCl in the
    record opens on the chart beside the counts, flagged or not."""
    assert default_analytes(["wbc", "egfr", "crcl"], _flags()) == ["wbc", "crcl"]
