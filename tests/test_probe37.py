"""Probe 37: "a patient's own result is never its own baseline; a baseline comes from
before the drug, or from the clinician", tried on the cases a rheumatology clinic has
every week.

Expected values are worked out by hand from the sources, not from the code:

* CTCAE v5.0, "Alanine aminotransferase increased": grade 1 ">ULN - 3.0 x ULN if
  baseline was normal; 1.5 - 3.0 x baseline if baseline was abnormal", grade 3 ">5.0 -
  20.0 x ULN if baseline was normal; >5.0 - 20.0 x baseline if baseline was abnormal".
  Whether a baseline is normal is read against the reference range it was reported with.
  The baseline is the value before treatment (the trial convention, ``ctcae.toml``).
* FHIR R4 MedicationStatement: ``effective[x]`` is "the interval of time during which it
  is being asserted that the patient is/was/will be taking the medication";
  ``dateAsserted`` is "the date when the medication statement was asserted by the
  information source" (the QI-Core example has dateAsserted 2012-05-14 and effective
  2012-06-01: two different dates). FHIR R4 MedicationRequest.priorPrescription: "a link to
  a resource representing an earlier order related order or prescription", so a renewal's
  authoredOn is not when the treatment started.
* The Lupkynis (voclosporin) label, as ``rules.toml`` quotes it: re-initiate only once
  eGFR is back to >= 80% of baseline. The rule keeps the eGFR before the first course
  through restarts (H410).
* The house rules (GUIDE): never guess a date; nothing is lost silently; a baseline comes
  from before the drug, or from the clinician. ``baselines.py``: "no look-back limit ...
  every flag says the dates of the draws instead, so an old baseline is seen as such".

Each finding was a strict xfail that failed at its assert; fixed on branch fix37 (H540-H545).
"""

from __future__ import annotations

import datetime as dt
import re

from dashboard.rules.engine import default_profile
from dashboard.rules.review import review
from dashboard.views import pretreatment_baseline_table
from tests.rules.builders import dose, frame, lab, patient, run, series
from tests.support import import_bundle

AS_OF = dt.date(2024, 6, 1)
LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"


def _alt(i: int, day: str, value: float) -> dict:
    """An ALT Observation of p1 with the lab's ULN 40 U/L."""
    return {
        "resourceType": "Observation",
        "id": f"alt{i}",
        "status": "final",
        "code": {"coding": [{"system": LOINC, "code": "1742-6"}]},
        "subject": {"reference": "Patient/p1"},
        "effectiveDateTime": day,
        "valueQuantity": {"value": value, "unit": "U/L", "system": UCUM, "code": "U/L"},
        "referenceRange": [{"high": {"value": 40, "unit": "U/L"}}],
    }


_PATIENT = {"resourceType": "Patient", "id": "p1", "gender": "female", "birthDate": "1970-01-01"}


def _alt_flag_on_drug(medication: dict) -> str:
    """ALT 90 (ULN 40) on 2023-12-01, ALT 250 on 2024-05-01, and one medication resource
    saying azathioprine 100 mg daily: the CTCAE message of the 2024-05-01 result."""
    r = import_bundle(_PATIENT, medication, _alt(1, "2023-12-01", 90), _alt(2, "2024-05-01", 250), today=AS_OF)
    rv = review(r.labs, r.doses, r.patients, None, None, AS_OF)
    f = rv.flags_df()
    hit = f[(f["rule"] == "ctcae.alt") & (f["collected_at"] == "2024-05-01")]
    assert len(hit) == 1, f[["collected_at", "rule", "message"]]
    return str(hit.iloc[0]["message"])


# --------------------------------------------------------------------------- F1


def test_a_statements_asserted_date_is_not_when_the_drug_started():
    # "Patient takes azathioprine 100 mg daily", recorded (asserted) at the 2024-03-01
    # visit; no effective period: when the patient started it is not in the file.
    statement = {
        "resourceType": "MedicationStatement",
        "id": "s",
        "status": "active",
        "medicationCodeableConcept": {"text": "Azathioprine 50 mg tablet"},
        "subject": {"reference": "Patient/p1"},
        "dateAsserted": "2024-03-01",
        "dosage": [{"text": "100 mg daily"}],
    }
    msg = _alt_flag_on_drug(statement)
    # By hand: no result is known to precede azathioprine, so CTCAE grades on the ULN:
    # 250 > 5 x 40 = 200 -> grade 3 (not 250 / 90 = 2.8 x "baseline" -> grade 1).
    assert "CTCAE grade 3" in msg, msg  # F1
    assert "before Azathioprine started on 2024-03-01" not in msg


def test_a_renewed_orders_authored_date_is_not_when_the_drug_started():
    renewal = {
        "resourceType": "MedicationRequest",
        "id": "m2",
        "status": "active",
        "intent": "order",
        "medicationCodeableConcept": {"text": "Azathioprine 50 mg tablet"},
        "subject": {"reference": "Patient/p1"},
        "authoredOn": "2024-03-01",
        "priorPrescription": {"reference": "MedicationRequest/m1"},
        "dosageInstruction": [
            {
                "text": "100 mg daily",
                "timing": {"repeat": {"frequency": 1, "period": 1, "periodUnit": "d"}},
                "doseAndRate": [{"doseQuantity": {"value": 100, "unit": "mg"}}],
            }
        ],
    }
    msg = _alt_flag_on_drug(renewal)
    # the renewal continues an earlier order: the drug started before 2024-03-01, so the
    # 2023-12-01 ALT is not known to precede it; 250 > 5 x 40 -> grade 3
    assert "CTCAE grade 3" in msg, msg  # F1b


# --------------------------------------------------------------------------- F2


def test_an_alt_baseline_is_normal_or_abnormal_by_its_own_labs_range():
    # Baseline bloods at the hospital lab (ULN 56), monitoring at the GP's lab (ULN 35).
    labs = [
        lab("P1", "2023-12-01", "alt", 50, ref_high=56),
        lab("P1", "2024-03-01", "alt", 180, ref_high=35),
    ]
    rv = run(labs, [dose("P1", "methotrexate", "2024-01-01", amount=15, frequency="weekly")], as_of="2024-06-01")
    f = rv.flags_df()
    hit = f[(f["rule"] == "ctcae.alt") & (f["collected_at"] == "2024-03-01")].iloc[0]
    # By hand: 50 <= 56, the baseline was normal, so grade on the ULN of the result:
    # 180 > 5 x 35 = 175 -> grade 3 (not 180 / 50 = 3.6 x baseline -> grade 2).
    assert int(hit["ctcae_grade"]) == 3, hit["message"]  # F2


# --------------------------------------------------------------------------- F3


def test_the_baseline_tab_shows_the_voclosporin_baseline_the_rule_uses_after_a_restart():
    # eGFR 80 before voclosporin (2024-01-01 to 2024-03-01); 66 off it; restarted
    # 2024-03-15 at a lower dose; 50 on 2024-04-15.
    labs = series("P1", "egfr", [("2023-12-20", 80), ("2024-03-10", 66), ("2024-04-15", 50)])
    doses = [
        dose("P1", "voclosporin", "2024-01-01", "2024-03-01", amount=23.7, frequency="BID"),
        dose("P1", "voclosporin", "2024-03-15", amount=15.8, frequency="BID"),
    ]
    rv = run(labs, doses, [patient("P1")], as_of="2024-06-01")
    flag = rv.flags_df().query("rule == 'label.voclosporin_egfr_fall'")
    assert len(flag) == 1 and float(flag.iloc[0]["baseline"]) == 80  # the rule: 50 is 37.5% below 80
    t = pretreatment_baseline_table(
        frame("labs", labs), frame("doses", doses), frame("patients", [patient("P1")]), frame("baselines", []),
        AS_OF, default_profile(), "P1",
    )  # fmt: skip
    row = t[t["Used by"].str.contains("label.voclosporin_egfr_fall", regex=False)].iloc[0]
    # the label re-initiates only at eGFR >= 80% of baseline: 64 of 80, not 52.8 of 66
    assert row["Baseline"].startswith("80 "), row.to_dict()  # F3
    assert "2024-01-01" in row["Rests on"]


# --------------------------------------------------------------------------- F4


def test_a_three_falls_series_across_a_restart_says_its_dates():
    # WBC 8.0 before azathioprine (2015-01-01 to 2015-06-01), 7.0 and 6.0 on it, 5.2 in
    # 2020 off every drug, restarted 2024-01-01, 4.5 on 2024-02-01.
    labs = series(
        "P1",
        "wbc",
        [("2014-12-01", 8.0), ("2015-03-01", 7.0), ("2015-05-01", 6.0), ("2020-01-01", 5.2), ("2024-02-01", 4.5)],
    )
    doses = [
        dose("P1", "azathioprine", "2015-01-01", "2015-06-01", amount=100),
        dose("P1", "azathioprine", "2024-01-01", amount=100),
    ]
    f = run(labs, doses, as_of="2024-06-01").flags_df()
    hit = f[(f["rule"] == "trend.consecutive_falls") & (f["collected_at"] == "2024-02-01")]
    assert len(hit) == 1
    msg = str(hit.iloc[0]["message"])
    # the series 7 -> 6 -> 5.2 -> 4.5 began on 2015-03-01: as an old baseline is dated, so
    # is the first test of the trend
    assert "2015-03-01" in msg, msg  # F4


# --------------------------------------------------------------------------- F5


def test_the_baseline_tab_says_why_a_start_day_result_is_not_counted():
    # baseline bloods at the clinic visit where azathioprine was started (date only):
    # whether the 09:00 draw preceded the first dose is not known, so it is rightly not
    # used; the table must say so rather than count "only 2 results".
    labs = series("P1", "wbc", [("2023-11-01", 6.0), ("2023-12-01", 6.2), ("2024-01-01 09:00", 6.1)])
    labs += series("P1", "wbc", [("2024-03-01", 4.0)])
    doses = [dose("P1", "azathioprine", "2024-01-01", amount=100)]
    t = pretreatment_baseline_table(
        frame("labs", labs), frame("doses", doses), frame("patients", [patient("P1")]), frame("baselines", []),
        AS_OF, default_profile(), "P1",
    )  # fmt: skip
    text = t[(t["Analyte"] == "WBC")].iloc[0]["Rests on"]
    assert re.search(r"(same day|on the day|the day (it|Azathioprine) started|start day)", text), text  # F5
