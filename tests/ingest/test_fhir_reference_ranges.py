"""FHIR Observations with several reference ranges: never the first one picked.

A lab may send one range per sex (``appliesTo``) or per age.  Reading the first for
every patient gives a woman the male haemoglobin range (13.5-17.5 g/dL), so her 12.5
g/dL (inside the female 12.0-15.5) would fall below the lower limit: a false CTCAE
grade 1 anaemia (Hb < LLN).  One range per sex is read for the patient's sex
(H348); other different normal ranges give no lab range (the documented default limits
apply); a range of another meaning (therapeutic) is not the normal range.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from typing import Any

from dashboard.ingest import ImportOptions, ImportResult, Source, import_sources

TODAY = dt.date(2026, 11, 25)
MEANING = "http://terminology.hl7.org/CodeSystem/referencerange-meaning"
GENDER = "http://hl7.org/fhir/administrative-gender"
PATIENT = {"resourceType": "Patient", "id": "p1", "gender": "female", "birthDate": "1980-02-03"}


def g_dl(v: float) -> dict[str, Any]:
    return {"value": v, "unit": "g/dL"}


def haemoglobin(ranges: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "id": "o1",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "718-7"}]},
        "subject": {"reference": "Patient/p1"},
        "effectiveDateTime": "2026-10-01",
        "valueQuantity": g_dl(12.5),
        "referenceRange": ranges,
    }


def lab(ranges: list[dict[str, Any]]) -> dict[str, Any]:
    doc = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"resource": PATIENT}, {"resource": haemoglobin(ranges)}],
    }
    result: ImportResult = import_sources([Source("b.json", json.dumps(doc).encode())], ImportOptions(today=TODAY))
    assert all(f.balanced for f in result.report.files)
    (row,) = result.labs_df().to_dict("records")
    return row


def applies_to(sex: str) -> list[dict[str, Any]]:
    return [{"coding": [{"system": GENDER, "code": sex}]}]


def test_one_range_per_sex_gives_the_patients_own() -> None:
    # H348: a male and a female range are a range per sex, read for the patient's sex:
    # the woman's 12.0-15.5 g/dL is 120-155 g/L, never the man's 13.5-17.5
    row = lab(
        [
            {"low": g_dl(13.5), "high": g_dl(17.5), "appliesTo": applies_to("male")},
            {"low": g_dl(12.0), "high": g_dl(15.5), "appliesTo": applies_to("female")},
        ]
    )
    assert (row["ref_low"], row["ref_high"]) == (120.0, 155.0)


def test_ranges_per_age_give_no_lab_range() -> None:
    row = lab(
        [
            {"low": g_dl(11.0), "high": g_dl(14.0), "age": {"high": {"value": 12}}},
            {"low": g_dl(12.0), "high": g_dl(15.5), "age": {"low": {"value": 12}}},
        ]
    )
    assert math.isnan(row["ref_low"]) and math.isnan(row["ref_high"])


def test_a_single_range_is_the_lab_range() -> None:
    row = lab([{"low": g_dl(12.0), "high": g_dl(15.5)}])
    assert (row["ref_low"], row["ref_high"]) == (120.0, 155.0)  # g/dL x 10 = g/L


def test_the_normal_range_is_read_and_a_therapeutic_one_is_not() -> None:
    therapeutic = {"coding": [{"system": MEANING, "code": "therapeutic"}]}
    normal = {"coding": [{"system": MEANING, "code": "normal"}]}
    row = lab(
        [
            {"low": g_dl(10.0), "high": g_dl(11.0), "type": therapeutic},
            {"low": g_dl(12.0), "high": g_dl(15.5), "type": normal},
        ]
    )
    assert (row["ref_low"], row["ref_high"]) == (120.0, 155.0)


def test_ranges_that_agree_are_that_range() -> None:
    row = lab(
        [
            {"low": g_dl(12.0), "high": g_dl(15.5), "appliesTo": applies_to("female")},
            {"low": g_dl(12.0), "high": g_dl(15.5), "appliesTo": applies_to("other")},
        ]
    )
    assert (row["ref_low"], row["ref_high"]) == (120.0, 155.0)
