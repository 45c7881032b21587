"""``fhir_bundle.json``: the FHIR R4 Bundle (type "collection") for a few patients.

Patient (tagged as test data), Condition (SNOMED CT), Observation for every result
(LOINC, UCUM valueQuantity, referenceRange, interpretation, effectiveDateTime with the UK
offset of the day), body weight (LOINC 29463-7), TPMT/NUDT15 phenotype (LOINC 53040-2
with the gene as a component), MedicationRequest for prescriptions and
MedicationStatement for reported background medicines, with dosage timing
(frequency/period/periodUnit, boundsPeriod; count for cyclophosphamide pulses) and
doseAndRate.doseQuantity in mg.  Resources are addressed as ``Patient/<id>`` with full
URLs under a reserved ``.invalid`` host.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from dashboard import model
from dashboard.sample.clinic import Clinic, SamplePatient
from dashboard.sample.physiology import SIMULATED_ANALYTES, reference_flag, reference_range
from dashboard.sample.plan import DoseStep
from dashboard.sample.shapes import FHIR_STORIES, LOINC, LOINC_DISPLAY, TEST_NAMES, UCUM, UNIT_TEXT, number_value

FHIR_BASE = "https://sample-clinic.invalid/fhir"
LOINC_SYSTEM = "http://loinc.org"
UCUM_SYSTEM = "http://unitsofmeasure.org"
SNOMED_SYSTEM = "http://snomed.info/sct"
RXNORM_SYSTEM = "http://www.nlm.nih.gov/research/umls/rxnorm"
SYNTHETIC_TAG = {
    "system": "http://terminology.hl7.org/CodeSystem/v3-ActReason",
    "code": "HTEST",
    "display": "test health data",
}
CONDITIONS = {
    "SLE": ("55464009", "Systemic lupus erythematosus"),
    "lupus nephritis": ("68815009", "Systemic lupus erythematosus glomerulonephritis syndrome"),
    "Rheumatoid arthritis": ("69896004", "Rheumatoid arthritis"),
    "gout": ("90560007", "Gout"),
}
ROUTES = {
    "oral": ("26643006", "Oral route"),
    "iv": ("47625008", "Intravenous route"),
    "sc": ("34206005", "Subcutaneous route"),
}
TIMING = {
    "daily": (1, 1, "d"),
    "BID": (2, 1, "d"),
    "weekly": (1, 1, "wk"),
    "every 2 weeks": (1, 2, "wk"),
}
#: Background medicines recorded as statements (reported), the rest as prescriptions.
STATEMENT_DRUGS = ("hydroxychloroquine", "allopurinol")
GENES = {"tpmt": ("HGNC:12014", "TPMT"), "nudt15": ("HGNC:23063", "NUDT15")}


def uk_offset(when: dt.datetime) -> str:
    """The UK's UTC offset on that wall-clock time (BST from the last Sunday of March to
    the last Sunday of October), computed without a time-zone database."""

    def last_sunday(year: int, month: int) -> dt.date:
        day = dt.date(year, month, 31)
        return day - dt.timedelta(days=(day.weekday() + 1) % 7)

    start = dt.datetime.combine(last_sunday(when.year, 3), dt.time(1, 0))
    end = dt.datetime.combine(last_sunday(when.year, 10), dt.time(2, 0))
    return "+01:00" if start <= when < end else "+00:00"


def _ref(kind: str, rid: str) -> dict[str, str]:
    return {"reference": f"{kind}/{rid}"}


def _entry(resource: dict[str, Any]) -> dict[str, Any]:
    return {"fullUrl": f"{FHIR_BASE}/{resource['resourceType']}/{resource['id']}", "resource": resource}


def _quantity(value: float, analyte: str) -> dict[str, Any]:
    return {"value": number_value(value), "unit": UNIT_TEXT[analyte], "system": UCUM_SYSTEM, "code": UCUM[analyte]}


def _patient_resources(p: SamplePatient) -> list[dict[str, Any]]:
    pl = p.plan
    pid = p.patient_id
    out: list[dict[str, Any]] = [
        {
            "resourceType": "Patient",
            "id": pid,
            "meta": {"tag": [SYNTHETIC_TAG]},
            "identifier": [{"system": "https://sample-clinic.invalid/patient-id", "value": pid}],
            "name": [{"use": "official", "family": pl.name[0].title(), "given": [pl.name[1]]}],
            "gender": "female" if pl.sex == "F" else "male",
            "birthDate": pl.birth_date.isoformat(),
        }
    ]
    for k, part in enumerate(x.strip() for x in pl.diagnosis.split(";")):
        key = "lupus nephritis" if "nephritis" in part else part
        code, display = CONDITIONS[key]
        out.append(
            {
                "resourceType": "Condition",
                "id": f"{pid}-condition-{k + 1}",
                "clinicalStatus": {
                    "coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": "active"}]
                },
                "verificationStatus": {
                    "coding": [
                        {"system": "http://terminology.hl7.org/CodeSystem/condition-ver-status", "code": "confirmed"}
                    ]
                },
                "code": {"coding": [{"system": SNOMED_SYSTEM, "code": code, "display": display}], "text": part},
                "subject": _ref("Patient", pid),
            }
        )
    out.append(
        {
            "resourceType": "Observation",
            "id": f"{pid}-body-weight",
            "status": "final",
            "category": [_category("vital-signs", "Vital Signs")],
            "code": {
                "coding": [{"system": LOINC_SYSTEM, "code": "29463-7", "display": "Body weight"}],
                "text": "Weight",
            },
            "subject": _ref("Patient", pid),
            "effectiveDateTime": pl.weight_date.isoformat(),
            "valueQuantity": {"value": pl.weight_kg, "unit": "kg", "system": UCUM_SYSTEM, "code": "kg"},
        }
    )
    for gene in ("tpmt", "nudt15"):
        phenotype = getattr(pl, gene)
        if phenotype == "not tested":
            continue
        hgnc, symbol = GENES[gene]
        out.append(
            {
                "resourceType": "Observation",
                "id": f"{pid}-{gene}-phenotype",
                "status": "final",
                "category": [_category("laboratory", "Laboratory")],
                "code": {
                    "coding": [
                        {
                            "system": LOINC_SYSTEM,
                            "code": "53040-2",
                            "display": "Genetic variation's effect on drug metabolism",
                        }
                    ],
                    "text": f"{symbol} phenotype",
                },
                "subject": _ref("Patient", pid),
                "effectiveDateTime": pl.follow_start.isoformat(),
                "valueCodeableConcept": {"text": f"{phenotype.capitalize()} metabolizer"},
                "component": [
                    {
                        "code": {
                            "coding": [{"system": LOINC_SYSTEM, "code": "48018-6", "display": "Gene studied [ID]"}]
                        },
                        "valueCodeableConcept": {
                            "coding": [{"system": "http://www.genenames.org/geneId", "code": hgnc, "display": symbol}]
                        },
                    }
                ],
            }
        )
    return out


def _category(code: str, display: str) -> dict[str, Any]:
    return {
        "coding": [
            {"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": code, "display": display}
        ]
    }


def _lab_resources(p: SamplePatient) -> list[dict[str, Any]]:
    pid, sex = p.patient_id, p.plan.sex
    out = []
    for i, draw in enumerate(p.draws):
        when = draw.when.strftime("%Y-%m-%dT%H:%M:00") + uk_offset(draw.when)
        for a in SIMULATED_ANALYTES:
            v = float(p.results[a][i])
            lo, hi = reference_range(a, sex)
            rr: dict[str, Any] = {}
            if lo is not None:
                rr["low"] = _quantity(lo, a)
            if hi is not None:
                rr["high"] = _quantity(hi, a)
            obs: dict[str, Any] = {
                "resourceType": "Observation",
                "id": f"{pid}-{draw.when:%Y%m%d%H%M}-{a}",
                "status": "final",
                "category": [_category("laboratory", "Laboratory")],
                "code": {
                    "coding": [{"system": LOINC_SYSTEM, "code": LOINC[a], "display": LOINC_DISPLAY[a]}],
                    "text": TEST_NAMES[a],
                },
                "subject": _ref("Patient", pid),
                "effectiveDateTime": when,
                "valueQuantity": _quantity(v, a),
                "referenceRange": [rr],
            }
            flag = reference_flag(a, sex, v)
            if flag:
                obs["interpretation"] = [
                    {
                        "coding": [
                            {
                                "system": "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation",
                                "code": flag,
                                "display": "Low" if flag == "L" else "High",
                            }
                        ]
                    }
                ]
            out.append(obs)
    return out


def _dosage(d: DoseStep, count: int | None) -> dict[str, Any]:
    frequency, period, unit = TIMING[d.frequency]
    repeat: dict[str, Any] = {"boundsPeriod": {"start": d.start.isoformat()}}
    if d.end is not None:
        repeat["boundsPeriod"]["end"] = d.end.isoformat()
    if count is not None:
        repeat["count"] = count
    repeat.update({"frequency": frequency, "period": period, "periodUnit": unit})
    route_code, route_display = ROUTES[d.route]
    return {
        "text": f"{d.dose:g} mg {d.frequency} {d.route}",
        "timing": {"repeat": repeat},
        "route": {"coding": [{"system": SNOMED_SYSTEM, "code": route_code, "display": route_display}]},
        "doseAndRate": [
            {"doseQuantity": {"value": number_value(d.dose), "unit": "mg", "system": UCUM_SYSTEM, "code": "mg"}}
        ],
    }


def _medication_resources(p: SamplePatient) -> list[dict[str, Any]]:
    pid = p.patient_id
    out = []
    info = model.drug_info()
    steps = sorted(p.plan.doses, key=lambda d: (d.drug, d.start))
    for k, d in enumerate(steps, start=1):
        drug = info[d.drug]
        medication = {
            "coding": [{"system": RXNORM_SYSTEM, "code": drug.rxnorm[0], "display": d.drug}],
            "text": drug.label,
        }
        count = None
        if d.frequency == "every 2 weeks" and d.end is not None:
            count = -(-(d.end - d.start).days // 14)
        if d.drug in STATEMENT_DRUGS:
            period = {"start": d.start.isoformat(), **({"end": d.end.isoformat()} if d.end else {})}
            out.append(
                {
                    "resourceType": "MedicationStatement",
                    "id": f"{pid}-medstatement-{k}",
                    "status": "active" if d.end is None else "completed",
                    "medicationCodeableConcept": medication,
                    "subject": _ref("Patient", pid),
                    "effectivePeriod": period,
                    "dosage": [_dosage(d, count)],
                }
            )
        else:
            out.append(
                {
                    "resourceType": "MedicationRequest",
                    "id": f"{pid}-medrequest-{k}",
                    "status": "active" if d.end is None else "completed",
                    "intent": "order",
                    "medicationCodeableConcept": medication,
                    "subject": _ref("Patient", pid),
                    "authoredOn": d.start.isoformat(),
                    "dosageInstruction": [_dosage(d, count)],
                }
            )
    return out


def fhir_bundle(clinic: Clinic) -> dict[str, Any]:
    """A FHIR R4 Bundle of type "collection" for the FHIR subset of patients."""
    entries = []
    for p in clinic.subset(FHIR_STORIES):
        for resource in (*_patient_resources(p), *_medication_resources(p), *_lab_resources(p)):
            entries.append(_entry(resource))
    return {
        "resourceType": "Bundle",
        "id": "synthetic-sample-clinic",
        "meta": {"tag": [SYNTHETIC_TAG]},
        "type": "collection",
        "timestamp": f"{clinic.extract_date.isoformat()}T18:00:00+00:00",
        "entry": entries,
    }
