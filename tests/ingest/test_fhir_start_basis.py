"""A FHIR medication whose only date is not when the drug started (probe37 F1, H540).

FHIR R4: MedicationStatement.effective[x] is "the interval of time during which it is
being asserted that the patient is/was/will be taking the medication"; dateAsserted is
"the date when the medication statement was asserted by the information source".
MedicationRequest.priorPrescription is "a link to a resource representing an earlier
order related order or prescription": a renewal continues treatment begun before it.

Expected, by the house rules (never guess a date; a baseline comes from before the
drug): the dose is kept in force from the date read, its row says what that date is,
the report says it on a readable line, and no pre-treatment baseline rests on it.
"""

from __future__ import annotations

import datetime as dt

import pyarrow as pa

from dashboard.rules.engine import default_profile
from dashboard.rules.review import review
from dashboard.views import pretreatment_baseline_table
from tests.support import import_bundle

AS_OF = dt.date(2024, 6, 1)
LOINC = "http://loinc.org"
_PATIENT = {"resourceType": "Patient", "id": "p1", "gender": "female", "birthDate": "1970-01-01"}


def _wbc(i: int, day: str, value: float) -> dict:
    return {
        "resourceType": "Observation",
        "id": f"w{i}",
        "status": "final",
        "code": {"coding": [{"system": LOINC, "code": "6690-2"}]},
        "subject": {"reference": "Patient/p1"},
        "effectiveDateTime": day,
        "valueQuantity": {"value": value, "unit": "10*3/uL", "system": "http://unitsofmeasure.org", "code": "10*3/uL"},
    }


def _statement(**dates) -> dict:
    return {
        "resourceType": "MedicationStatement",
        "id": "s",
        "status": "active",
        "medicationCodeableConcept": {"text": "Azathioprine 50 mg tablet"},
        "subject": {"reference": "Patient/p1"},
        "dosage": [{"text": "100 mg daily"}],
        **dates,
    }


_COUNTS = [("2023-10-01", 6.0), ("2023-11-01", 6.2), ("2023-12-01", 6.1), ("2024-05-01", 4.0)]


def _imported(medication: dict):
    obs = [_wbc(i, d, v) for i, (d, v) in enumerate(_COUNTS)]
    return import_bundle(_PATIENT, medication, *obs, today=AS_OF)


def _warnings(r) -> list[str]:
    return [w.message for f in r.report.files for w in f.warnings]


def _start_basis(r) -> list[str]:
    return pa.table(r.doses).column("start_basis").to_pylist()


def test_a_statement_with_only_its_asserted_date_is_in_force_but_no_baseline_rests_on_it():
    r = _imported(_statement(dateAsserted="2024-03-01"))
    assert _start_basis(r) == ["recorded"]
    assert pa.table(r.doses).column("start").to_pylist() == [dt.datetime(2024, 3, 1)]
    said = [w for w in _warnings(r) if "dateAsserted 2024-03-01" in w]
    assert len(said) == 1 and "not when the drug was started" in said[0], _warnings(r)
    rv = review(r.labs, r.doses, r.patients, None, None, AS_OF)
    f = rv.flags_df()
    # WBC 4.0 is 34.4% below the median 6.1 of the three earlier counts, but none of them is
    # known to precede azathioprine: the fall rule has no baseline and is silent
    assert not len(f[f["rule"] == "trend.baseline_fall"]), f[["collected_at", "rule", "message"]]
    # the drug stays in the doses: its blood-test schedule runs
    assert pa.table(r.doses).column("drug").to_pylist() == ["azathioprine"]
    assert len(rv.schedule_df()), "azathioprine's blood tests are scheduled"
    t = pretreatment_baseline_table(r.labs, r.doses, r.patients, None, AS_OF, default_profile(), "p1")
    wbc = t[t["Analyte"] == "WBC"].iloc[0]
    assert wbc["Baseline"] == "none"
    assert wbc["Rests on"].startswith(
        "the start of Azathioprine is not recorded (the statement was recorded on 2024-03-01): no pre-drug baseline"
    ), wbc["Rests on"]


def test_a_statement_with_an_effective_period_starts_then():
    # effective 2024-01-01, recorded 2024-03-01 (the QI-Core example's two dates differ):
    # the period says when the drug started, so the three counts before it are a baseline
    r = _imported(_statement(dateAsserted="2024-03-01", effectivePeriod={"start": "2024-01-01"}))
    assert _start_basis(r) == [""]
    assert not [w for w in _warnings(r) if "dateAsserted" in w]
    f = review(r.labs, r.doses, r.patients, None, None, AS_OF).flags_df()
    hit = f[f["rule"] == "trend.baseline_fall"]
    assert len(hit) == 1 and float(hit.iloc[0]["baseline"]) == 6.1  # median of 6.0, 6.2, 6.1


def test_a_renewal_says_its_date_is_not_the_start_and_gives_no_baseline():
    renewal = {
        "resourceType": "MedicationRequest",
        "id": "m2",
        "status": "active",
        "intent": "order",
        "medicationCodeableConcept": {"text": "Azathioprine 50 mg tablet"},
        "subject": {"reference": "Patient/p1"},
        "authoredOn": "2024-03-01",
        "priorPrescription": {"reference": "MedicationRequest/m1"},
        "dosageInstruction": [{"text": "100 mg daily"}],
    }
    r = _imported(renewal)
    assert _start_basis(r) == ["renewed"]
    said = [w for w in _warnings(r) if "priorPrescription" in w]
    assert len(said) == 1 and "2024-03-01" in said[0] and "not when the drug was started" in said[0]
    f = review(r.labs, r.doses, r.patients, None, None, AS_OF).flags_df()
    assert not len(f[f["rule"] == "trend.baseline_fall"])
    t = pretreatment_baseline_table(r.labs, r.doses, r.patients, None, AS_OF, default_profile(), "p1")
    wbc = t[t["Analyte"] == "WBC"].iloc[0]
    assert (
        "the start of Azathioprine is not recorded (the order of 2024-03-01 continues an earlier one)"
        in wbc["Rests on"]
    )


def test_a_renewal_beside_its_first_order_keeps_the_first_orders_start():
    # the first order (2024-01-01) and its renewal (2024-03-01) are in the file: the
    # treatment started on 2024-01-01, and the counts before it are its baseline
    first = {
        "resourceType": "MedicationRequest",
        "id": "m1",
        "status": "completed",
        "intent": "order",
        "medicationCodeableConcept": {"text": "Azathioprine 50 mg tablet"},
        "subject": {"reference": "Patient/p1"},
        "authoredOn": "2024-01-01",
        "dosageInstruction": [{"text": "100 mg daily", "timing": {"repeat": {"boundsPeriod": {"end": "2024-03-01"}}}}],
    }
    renewal = {**first, "id": "m2", "status": "active", "authoredOn": "2024-03-01"}
    renewal["priorPrescription"] = {"reference": "MedicationRequest/m1"}
    renewal["dosageInstruction"] = [{"text": "100 mg daily"}]
    obs = [_wbc(i, d, v) for i, (d, v) in enumerate(_COUNTS)]
    r = import_bundle(_PATIENT, first, renewal, *obs, today=AS_OF)
    assert sorted(_start_basis(r)) == ["", "renewed"]
    f = review(r.labs, r.doses, r.patients, None, None, AS_OF).flags_df()
    hit = f[f["rule"] == "trend.baseline_fall"]
    assert len(hit) == 1 and float(hit.iloc[0]["baseline"]) == 6.1, f[["collected_at", "rule", "message"]]
    assert "before Azathioprine started on 2024-01-01" in hit.iloc[0]["message"]


def test_the_current_doses_say_the_start_is_not_known():
    from dashboard import model
    from dashboard.views import current_doses_table

    r = _imported(_statement(dateAsserted="2024-03-01"))
    t = current_doses_table(model.to_pandas("doses", pa.table(r.doses)), float("nan"), AS_OF)
    assert t.iloc[0]["Since"] == "by 2024-03-01 (when a statement recorded it: the start is not known)"
