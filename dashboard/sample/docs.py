"""The sample's manifest (machine-readable story map) and README (for people)."""

from __future__ import annotations

from typing import Any

import pandas as pd

from dashboard.sample.clinic import Clinic
from dashboard.sample.physiology import HIGH_LIMITS, LOW_LIMITS, SIMULATED_ANALYTES
from dashboard.sample.plan import MONITORED
from dashboard.sample.schedule import FORTNIGHTLY_UNTIL, MONTHLY_UNTIL, QUARTERLY_DAYS
from dashboard.sample.shapes import (
    EUROPE_COLUMNS,
    EUROPE_STORIES,
    EXCEL_STORIES,
    FHIR_STORIES,
    subset_ids,
)
from dashboard.sample.stories import STORIES
from dashboard.sample.vitals import bp_drugs

MANIFEST_VERSION = 1
DEFAULT_FILES = ("labs.csv", "doses.csv", "patients.csv")
LABS, DOSES, PATIENTS = DEFAULT_FILES
EUROPE, WORKBOOK, FHIR = "labs_europe_wide.csv", "clinic_workbook.xlsx", "fhir_bundle.json"
MANIFEST, README = "manifest.json", "README.md"

NOTICE = (
    "All of it is synthetic, made by a seeded generator (dashboard.sample). No real patient, clinician or "
    "laboratory is described; any resemblance is chance."
)


def file_descriptions(clinic: Clinic, rows: dict[str, Any]) -> dict[str, dict[str, Any]]:
    europe, excel, fhir = (subset_ids(clinic, s) for s in (EUROPE_STORIES, EXCEL_STORIES, FHIR_STORIES))
    return {
        LABS: {
            "description": "Long laboratory export: one result per row with LOINC code, unit, reference range "
            "and H/L flag. All patients.",
            "shape": "labs, long CSV (comma, UTF-8, ISO dates)",
            "patients": "all",
            "rows": rows[LABS],
        },
        DOSES: {
            "description": "Dose history: one row per dose interval; an empty end means ongoing. All patients.",
            "shape": "doses, CSV",
            "patients": "all",
            "rows": rows[DOSES],
        },
        PATIENTS: {
            "description": "Sex, birth date, weight, TPMT and NUDT15 phenotype, diagnosis. All patients.",
            "shape": "patients, CSV",
            "patients": "all",
            "rows": rows[PATIENTS],
        },
        EUROPE: {
            "description": "The same draws for a few patients as a German laboratory exports them: one row per "
            "draw, semicolons, decimal commas, dd.mm.yyyy dates with a separate time column, German headers, "
            "units G/l, g/dl and mg/dl, Windows-1252 encoding, CRLF line ends. Two cells hold no result "
            "('folgt', 'n.b.') and are rejected on import by design.",
            "shape": "labs, wide CSV",
            "patients": europe,
            "rows": rows[EUROPE],
            "no_result_cells": rows["europe_no_result"],
        },
        WORKBOOK: {
            "description": "A clinic spreadsheet for a few patients: sheets Labs (one row per draw), Doses (brand "
            "names, azathioprine as Imuran tablet counts) and Patients, with real Excel dates.",
            "shape": "xlsx workbook",
            "patients": excel,
            "rows": rows[WORKBOOK],
        },
        FHIR: {
            "description": "FHIR R4 Bundle (type collection) for a few patients: Patient, Condition (SNOMED CT), "
            "Observation (LOINC, UCUM valueQuantity, referenceRange; body weight 29463-7; TPMT/NUDT15 "
            "phenotype), MedicationRequest and MedicationStatement with dosage timing.",
            "shape": "FHIR R4 JSON",
            "patients": fhir,
            "rows": rows[FHIR],
        },
    }


def manifest(clinic: Clinic, rows: dict[str, Any]) -> dict[str, Any]:
    """The machine-readable description of the sample: files, stories and patients."""
    stories = {}
    for key, (title, _builder) in STORIES.items():
        p = clinic.by_story(key)
        stories[key] = {
            "title": title,
            "patient": p.patient_id,
            "summary": p.plan.summary,
            "facts": p.plan.facts,
        }
    files_of: dict[str, list[str]] = {}
    for name, ids in (
        (EUROPE, subset_ids(clinic, EUROPE_STORIES)),
        (WORKBOOK, subset_ids(clinic, EXCEL_STORIES)),
        (FHIR, subset_ids(clinic, FHIR_STORIES)),
    ):
        for pid in ids:
            files_of.setdefault(pid, []).append(name)
    patients = {}
    for p in clinic.patients:
        pl = p.plan
        patients[p.patient_id] = {
            "story": pl.story,
            "summary": pl.summary,
            "diagnosis": pl.diagnosis,
            "first_draw": p.draws[0].day.isoformat(),
            "last_draw": p.draws[-1].day.isoformat(),
            "draws": len(p.draws),
            "also_in": files_of.get(p.patient_id, []),
        }
    return {
        "generator": "dashboard.sample",
        "manifest_version": MANIFEST_VERSION,
        "synthetic": True,
        "notice": NOTICE,
        "seed": clinic.seed,
        "patients_count": len(clinic.patients),
        "years": clinic.years,
        "extract_date": clinic.extract_date.isoformat(),
        "default_files": list(DEFAULT_FILES),
        "files": file_descriptions(clinic, rows),
        "monitoring_schedule": {
            "rule": "BSR 2017: after a start or dose increase of a monitored drug, every 2 weeks until the dose "
            "has been stable for 6 weeks, then monthly for 3 months, then every 12 weeks; tacrolimus and "
            "ciclosporin monthly long term (NHS Highland)",
            "monitored_drugs": list(MONITORED),
            "fortnightly_until_day": FORTNIGHTLY_UNTIL,
            "monthly_until_day": MONTHLY_UNTIL,
            "then_every_days": QUARTERLY_DAYS,
            "up_to_date": "every patient except the 'overdue' story has a draw within the interval the rule "
            "requires at the extract date",
        },
        "quiet_limits": {
            "low": LOW_LIMITS,
            "high": HIGH_LIMITS,
            "trend": "no three consecutive falls of more than 10% in WBC or neutrophils",
            "creatinine": "no rise of more than 30% above the lowest value of the year before",
            "applies_to": "every 'routine' patient and the stories 'stable' and 'overdue'; the stories "
            "'aza_macrocytosis', 'mtx_transaminitis', 'slow_fall', 'duffy_null' and 'mmf_mild_cytopenia' break "
            "only the limits their story is about",
        },
        "stories": stories,
        "patients": patients,
    }


def _table(frame: pd.DataFrame) -> str:
    lines = ["| " + " | ".join(frame.columns) + " |", "|" + "---|" * len(frame.columns)]
    for row in frame.itertuples(index=False, name=None):
        lines.append("| " + " | ".join(str(v) for v in row) + " |")
    return "\n".join(lines)


def readme(clinic: Clinic, info: dict[str, Any]) -> str:
    """sample_data/README.md, generated with the data so the two never disagree."""
    files = info["files"]
    story_rows = pd.DataFrame(
        [(f"`{s['patient']}`", f"`{k}`", s["summary"]) for k, s in info["stories"].items()],
        columns=["Patient", "Story", "What happens"],
    )
    routine_rows = pd.DataFrame(
        [
            (f"`{pid}`", p["summary"].removeprefix("Routine: "))
            for pid, p in info["patients"].items()
            if p["story"] == "routine"
        ],
        columns=["Patient", "Treatment"],
    )
    file_rows = pd.DataFrame(
        [
            (
                f"`{name}`",
                "yes" if name in DEFAULT_FILES else "",
                f["shape"],
                "all" if f["patients"] == "all" else ", ".join(f["patients"]),
                f["description"],
            )
            for name, f in files.items()
        ],
        columns=["File", "Default set", "Shape", "Patients", "What it is"],
    )
    blanks = "\n".join(
        f"- `{c['patient']}`, {c['collected']}, column `{c['column']}`: `{c['text']}`"
        for c in files[EUROPE]["no_result_cells"]
    )
    german = ", ".join(f"`{h}`" for h, *_ in EUROPE_COLUMNS)
    analytes = ", ".join(SIMULATED_ANALYTES)
    drugs = bp_drugs()
    bp_drugs_text = ", ".join(drugs[:-1]) + f" or {drugs[-1]}" if len(drugs) > 1 else "".join(drugs)
    return f"""# Sample panel (synthetic)

**Everything in this folder is synthetic.** It was made by a seeded generator
(`dashboard.sample`); no real patient, clinician or laboratory is described, and any
resemblance is chance. The stories are written to be clinically recognisable, but the
numbers come from a simple model, not from patients or published cohorts: do not use them to
learn or check clinical facts.

The folder is exactly what `python -m dashboard sample` writes with its defaults
(seed {clinic.seed}, {len(clinic.patients)} patients, at most {clinic.years:g} years of follow-up, extract date
{clinic.extract_date.isoformat()}). A test regenerates it and compares the bytes.

## Use it

- In the app: `streamlit run streamlit_app.py`, then **Load sample panel** on the Home page. It loads
  the default set ({", ".join(f"`{n}`" for n in DEFAULT_FILES)}) and proposes {clinic.extract_date.isoformat()},
  the extract date, as the "as of" date, so only the overdue patient is overdue.
- On the command line: `python -m dashboard import sample_data/labs.csv sample_data/doses.csv sample_data/patients.csv`.
- Each other file is the same clinic in another shape for a few patients; import it on its own.
  With `labs.csv`, the workbook's results are identical and counted once as duplicates, but the
  European file's results are rounded in other units, so the same draw would appear twice.

## Files

{_table(file_rows)}

Analytes (canonical ids): {analytes}. The long export reports WBC to 1 decimal, differential
counts to 2, haemoglobin, platelets, enzymes, albumin, creatinine and eGFR as whole numbers and
MCV to 1 decimal; eGFR is CKD-EPI 2021 from the reported creatinine, age and sex. Draws are on
weekday mornings. Patients on {bp_drugs_text} also have their blood pressure (systolic and
diastolic, mmHg, LOINC 8480-6 and 8462-4) in the long export at every visit while on the drug,
as the monitoring of these drugs asks; the other files carry no blood pressure.

The European file's headers are {german}. Its two cells without a number, which the importer
rejects with a reason while keeping the rest of the row:

{blanks}

## Patients with a story

{_table(story_rows)}

The facts behind each story (dose dates, the expected nadir window, the observed nadir) are in
`manifest.json` under `stories`, keyed by the story names above.

## Routine patients

Treated and monitored on time; every result stays inside the guideline action limits listed in
`manifest.json` (`quiet_limits`).

{_table(routine_rows)}

## Monitoring schedule

Blood is drawn as BSR 2017 asks: every 2 weeks after a start or dose increase of azathioprine,
methotrexate, mycophenolate, leflunomide, tacrolimus or cyclophosphamide until the dose has been
stable for 6 weeks, then monthly for 3 months, then every 12 weeks (tacrolimus: monthly long
term, as some NHS boards keep calcineurin inhibitors); story work-ups (a nadir
count, a flare, a pancytopenia) add unscheduled draws. Every patient except the overdue one is up
to date on {clinic.extract_date.isoformat()}.

## Regenerate

```
python -m dashboard sample                 # this folder, byte for byte
python -m dashboard sample --seed 7 --patients 60 --years 3 --out /tmp/other_clinic
```

Other seeds give other people (ages, weights, baselines, noise) with the same stories on the
same dates; `manifest.json` always names the patient who carries each story.

## manifest.json

- `extract_date`: the generator's "today"; `default_files`: what **Load sample panel** loads.
- `files`: what each file is, its shape, patients and row counts.
- `stories`: story key -> `patient`, `summary`, `facts`.
- `patients`: patient id -> `story` (`routine` for background patients), `summary`, draws, and the
  other files that carry the patient.
- `monitoring_schedule`, `quiet_limits`: the rules the generator followed.
"""
