"""Doses written in micrograms reach mg through one conversion (``units.to_mg``) on every path.

Each path is tested on its own: a slip in the factor (1 mcg = 0.001 mg, by definition)
or a path that reads mcg as mg would show here.  Expected values are worked by hand.
"""

from __future__ import annotations

import datetime as dt
import json

import pandas as pd
import pytest

from dashboard.ingest import ImportOptions, Source, import_sources
from dashboard.ingest.amounts import read_amount, strength_in_text
from dashboard.ingest.interop import amount_in_text, product_strength
from dashboard.ingest.sig import read_sig

TODAY = dt.date(2026, 11, 25)


@pytest.mark.parametrize(
    ("text", "mg"),
    [("500 mcg", 0.5), ("500 µg", 0.5), ("250 micrograms", 0.25), ("2500 ug", 2.5), ("0.4 MICROGRAM", 0.0004)],
)
def test_dose_amounts_in_micrograms(text, mg):
    a = read_amount(text)
    assert (a.value, a.unit, a.problem) == (mg, "mg", "")


def test_dose_amount_with_micrograms_in_the_unit_column():
    a = read_amount("750", "mcg")
    assert (a.value, a.unit) == (0.75, "mg")


@pytest.mark.parametrize(
    ("text", "amount"),
    [
        ("Take 1 tablet (500 mcg total) by mouth daily.", "0.5 mg"),  # the EHR's stated total
        ("Take 250 micrograms by mouth once a week", "0.25 mg"),  # the one amount named
        ("Take 2 tablets (1000 mcg total) daily", "1 mg"),
    ],
)
def test_prescription_instructions_in_micrograms(text, amount):
    assert read_sig(text).amount == amount


def test_instructions_that_agree_in_micrograms_and_tablets():
    # 2 tablets of 0.5 mg are 1 mg = 1000 mcg: the amounts agree
    assert read_sig("Take 2 tablets (1000 mcg total) daily", strength_mg=0.5).conflicting is False
    assert read_sig("Take 2 tablets (1000 mcg total) daily", strength_mg=5).conflicting is True


@pytest.mark.parametrize(
    ("text", "strength"),
    [
        ("Folic acid 400 MCG Oral Tablet", (0.4, "mg")),
        ("Methotrexate 2500 MICROGRAMS in 1 TABLET", (2.5, "mg")),
        ("Cyclosporine 25000 UG Oral Capsule", (25.0, "mg")),
    ],
)
def test_product_strengths_in_micrograms(text, strength):
    assert product_strength(text) == strength


def test_strength_in_a_description_in_micrograms():
    assert strength_in_text("Methotrexate 2500 MCG Oral Tablet") == (2.5, "mg")


def test_amount_in_an_instruction_text_in_micrograms():
    assert amount_in_text("Take 500 micrograms once a week") == ("500", "mcg")
    assert read_amount(*amount_in_text("Take 500 micrograms once a week")).value == 0.5


def test_a_dose_file_in_micrograms_is_stored_in_mg():
    csv = "patient_id,drug,dose,dose_unit,frequency,start\nP1,methotrexate,15000,mcg,weekly,2024-01-01\n"
    result = import_sources([Source("doses.csv", csv.encode())], ImportOptions(today=TODAY))
    dose = result.doses_df().iloc[0]
    assert (dose.dose, dose.dose_unit, dose.mg_per_week) == (15.0, "mg", 15.0)


def _weekly_fhir_dose(medication: str, quantity: dict) -> pd.Series:
    """The one dose row imported from a weekly FHIR MedicationRequest."""
    request = {
        "resourceType": "MedicationRequest",
        "id": "m1",
        "status": "active",
        "intent": "order",
        "medicationCodeableConcept": {"text": medication},
        "subject": {"reference": "Patient/p1"},
        "authoredOn": "2024-01-10",
        "dosageInstruction": [
            {
                "timing": {"repeat": {"frequency": 1, "period": 1, "periodUnit": "wk"}},
                "doseAndRate": [{"doseQuantity": quantity}],
            }
        ],
    }
    result = import_sources([Source("mtx.json", json.dumps(request).encode())], ImportOptions(today=TODAY))
    return result.doses_df().iloc[0]


def test_a_fhir_dose_in_micrograms_is_stored_in_mg():
    dose = _weekly_fhir_dose("Methotrexate", {"value": 15000, "unit": "ug"})
    assert (dose.dose, dose.dose_unit, dose.mg_per_week) == (15.0, "mg", 15.0)


def test_a_fhir_tablet_count_of_a_microgram_product_is_stored_in_mg():
    dose = _weekly_fhir_dose("Methotrexate 2500 MCG Oral Tablet", {"value": 6, "unit": "{tablet}"})
    assert (dose.dose, dose.dose_unit) == (15.0, "mg")  # 6 tablets x 2.5 mg
