"""Probe 10: FHIR ``timing.repeat.count`` bounds a course (H180).

FHIR R4 Timing.repeat.count: "A total count of the desired number of repetitions across
the duration of the entire timing specification." A single cyclophosphamide pulse is
``count`` 1; the Euro-Lupus induction is six 500 mg pulses a fortnight apart (``count``
6, ``period`` 2 ``wk``): 3 g in all. Expected totals are worked out by hand below.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from dashboard.ingest import ImportResult
from dashboard.rules.exposure import cumulative_summary
from tests.support import fhir_medication_request, import_bundle

TODAY = dt.date(2026, 12, 1)


def _order(drug: str, mg: float, repeat: dict[str, Any], route: str = "IV") -> ImportResult:
    dosage = {
        "timing": {"repeat": repeat},
        "route": {"text": route},
        "doseAndRate": [{"doseQuantity": {"value": mg, "unit": "mg"}}],
    }
    request = fhir_medication_request(dosage, drug)
    patient = {"resourceType": "Patient", "id": "p1", "gender": "female", "birthDate": "1990-01-01"}
    return import_bundle(patient, request, today=TODAY)


def _total_g(result: ImportResult) -> float:
    summary = cumulative_summary(result.doses, result.patients, "p1", TODAY, "cyclophosphamide")
    assert summary is not None
    return float(summary["total_g"])


def test_a_single_pulse_is_one_administration_not_a_daily_dose_for_ever():
    # count 1 of "once a day": one 750 mg pulse on 2026-01-05, 0.75 g in all by December
    # (read as an ongoing daily dose it was 750 mg x 330 days = 248 g, above 36 g)
    r = _order("Cyclophosphamide 1 G injection", 750, {"count": 1, "frequency": 1, "period": 1, "periodUnit": "d"})
    d = r.doses_df()
    assert d["end"].iloc[0] == dt.datetime(2026, 1, 6)
    assert _total_g(r) == 0.75


def test_six_fortnightly_pulses_end_after_the_sixth():
    # 2026-01-05, 01-19, 02-02, 02-16, 03-02, 03-16: six pulses of 500 mg = 3 g; none after
    r = _order("Cyclophosphamide 500 MG injection", 500, {"count": 6, "frequency": 1, "period": 2, "periodUnit": "wk"})
    assert _total_g(r) == 3.0
    messages = [w.message for w in r.report.files[0].warnings]
    assert any("timing.repeat.count 6" in m for m in messages), messages


def test_a_range_of_counts_bounds_nothing_and_is_said():
    r = _order(
        "Cyclophosphamide 500 MG injection",
        500,
        {"count": 6, "countMax": 8, "frequency": 1, "period": 2, "periodUnit": "wk"},
    )
    assert r.doses_df()["end"].isna().all()
    messages = [w.message for w in r.report.files[0].warnings]
    assert any("count 6 to countMax 8" in m for m in messages), messages


def test_a_count_of_twice_daily_doses_lasts_count_over_frequency_days():
    # 14 doses of mycophenolate twice a day: 7 days, 2026-01-05 to 01-11 (the end, 01-12, is exclusive)
    r = _order(
        "Mycophenolate mofetil 500 MG Oral Tablet",
        500,
        {"count": 14, "frequency": 2, "period": 1, "periodUnit": "d"},
        route="oral",
    )
    assert r.doses_df()["end"].iloc[0] == dt.datetime(2026, 1, 12)
