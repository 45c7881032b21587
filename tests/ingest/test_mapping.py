"""Test names as labs and analysers write them, recognised (or not) as monitored analytes."""

import pytest

from dashboard.ingest.mapping import (
    KIND_FIELDS,
    MAP_TARGETS,
    REQUIRED,
    field_aliases,
    header_info,
    map_columns,
    match_field,
    normalize,
    recognise_test,
)


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
        # granulocytes are neutrophils + eosinophils + basophils (a 3-part differential):
        # read as neutrophils they would hide a neutropenia by the eosinophils and basophils
        "Granulocytes",
        "GRAN#",
    ],
)
def test_other_specimens_and_other_tests_are_not_monitored_results(name):
    assert recognise_test(name) is None


def test_the_column_aliases_vocabulary_is_sound():
    aliases = field_aliases()
    # every field a table kind can use, or must have, has spellings, and nothing else is listed
    used = {f for fields in KIND_FIELDS.values() for f in fields} | {f for fields in REQUIRED.values() for f in fields}
    assert set(aliases) == used
    for name, spellings in aliases.items():
        assert spellings and all(isinstance(a, str) and a for a in spellings), name
        # headers are compared in normalised form: a spelling that is not normalised never matches
        assert all(normalize(a) == a for a in spellings), (name, [a for a in spellings if normalize(a) != a])
        assert len(set(spellings)) == len(spellings), (name, "listed twice")
        # an exact match (rank < 100) must beat any partial match (100 + rank)
        assert len(spellings) < 100, name
    assert set(MAP_TARGETS) == set(aliases) | {"ignore"}
    assert field_aliases() is aliases  # read once


def test_headers_map_as_before_the_aliases_moved_to_a_file():
    m = map_columns(["MRN", "Collection Date", "Test Name", "Result", "Units", "LOINC_NUM"])
    assert m.fields == {
        "patient_id": "MRN",
        "collected_at": "Collection Date",
        "analyte": "Test Name",
        "value": "Result",
        "unit": "Units",
        "code": "LOINC_NUM",
    }
    assert match_field(header_info("Date of birth"), "birth_date") == 0
