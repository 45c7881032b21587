"""Test names as labs and analysers write them, recognised (or not) as monitored analytes."""

import pytest

from dashboard.ingest.mapping import recognise_test


@pytest.mark.parametrize(
    ("name", "analyte", "percent"),
    [
        ("WBC Count", "wbc", False),
        ("Absolute Neutrophil Count (ANC)", "neutrophils", False),
        ("Neutrophils, Absolute", "neutrophils", False),
        ("NEUT#", "neutrophils", False),  # Sysmex / Beckman analyser names
        ("NEUT%", "neutrophils", True),
        ("LYMPH#", "lymphocytes", False),
        ("EOS#", "eosinophils", False),
        ("Lymphocyte %", "lymphocytes", True),
        ("Hemoglobin (HGB)", "hemoglobin", False),
        ("Platelet Count (PLT)", "platelets", False),
        ("ALT (SGPT)", "alt", False),
        ("ALT (U/L)", "alt", False),
        ("Creatinine, Serum", "creatinine", False),
        ("S-Creatinine", "creatinine", False),
        ("eGFR (CKD-EPI 2021)", "egfr", False),
        ("Leucocytes (G/l)", "wbc", False),
        ("Thrombozyten", "platelets", False),
    ],
)
def test_blood_tests_are_recognised(name, analyte, percent):
    m = recognise_test(name)
    assert m is not None and (m.analyte, m.percent) == (analyte, percent)


@pytest.mark.parametrize(
    "name",
    [
        "Creatinine (urine)",  # a urine creatinine is never the serum creatinine
        "Urine Creatinine",
        "Creatinine, Urine",
        "Albumin, Urine",
        "Urine albumin/creatinine ratio",
        "Albumin (pleural fluid)",
        "WBC, CSF",
        "Leukocytes (synovial fluid)",
        "Hematocrit",
        "CRP",
    ],
)
def test_other_specimens_and_other_tests_are_not_monitored_results(name):
    assert recognise_test(name) is None


def test_the_column_aliases_file_holds_exactly_the_aliases_of_the_code():
    # while both exist: the vocabulary file must be the dict it replaces, field by field, in order
    from dashboard.ingest.mapping import FIELD_ALIASES, field_aliases

    loaded = field_aliases()
    assert list(loaded) == list(FIELD_ALIASES)
    for name, aliases in FIELD_ALIASES.items():
        assert loaded[name] == aliases, name
