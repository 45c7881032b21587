"""Synthea CSV export (observations, medications, conditions, patients) and its FHIR bundle.

The fixtures are real Synthea output for two patients (tests/fixtures/synthea/SOURCES.md):
4815fd50 (rheumatoid arthritis, methotrexate 2011-2015) and 147204fd (COVID-19 with a
differential, hydroxychloroquine).
"""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path

import pandas as pd
import pytest

from dashboard.ingest import ImportOptions, ImportResult, Source, import_paths, import_sources

TODAY = dt.date(2026, 11, 25)
RA = "4815fd50-0b7b-8169-4b1f-96ba08a299cc"
COVID = "147204fd-51eb-7e98-56bd-609556919b9d"


@pytest.fixture
def synthea(fixtures: Path) -> Path:
    return fixtures / "synthea"


def load(*paths: Path) -> ImportResult:
    result = import_paths(paths, ImportOptions(today=TODAY))
    for f in result.report.files:
        assert f.balanced, f"{f.path}: {f.rows_read} != {f.rows_accepted}+{f.rows_rejected}+{f.duplicates}"
    return result


def file_report(result: ImportResult, name: str):
    return next(f for f in result.report.files if f.path == name)


# --------------------------------------------------------------------------- observations


def test_observations_every_row_accounted(synthea: Path) -> None:
    result = load(synthea / "observations.csv")
    rep = result.report.files[0]
    assert rep.format == "Synthea observations"
    assert rep.rows_read == 1510  # every line of the file but the header
    assert rep.rows_accepted + rep.rows_rejected + rep.duplicates == 1510
    assert rep.error == "" and rep.needs == ""


def test_observations_labs_in_canonical_units(synthea: Path) -> None:
    labs = load(synthea / "observations.csv").labs_df()
    ra = labs[labs.patient_id == RA].set_index(["analyte", "collected_at"])
    when = pd.Timestamp("2013-07-16 14:37:22")  # "2013-07-16T14:37:22Z": the offset is dropped, not converted
    assert ra.loc[("wbc", when), "value"] == pytest.approx(6.4)  # 10*3/uL == 10^9/L
    assert ra.loc[("wbc", when), "source_unit"] == "10*3/uL"
    assert ra.loc[("hemoglobin", when), "unit"] == "g/L"
    hb = float(ra.loc[("hemoglobin", when), "source_value"])
    assert ra.loc[("hemoglobin", when), "value"] == pytest.approx(hb * 10)  # g/dL -> g/L
    # issue 17: blood pressure is an analyte; Synthea's vital signs carry it in mm[Hg]
    assert set(labs[labs.patient_id == RA].analyte) == {
        "wbc",
        "hemoglobin",
        "platelets",
        "mcv",
        "bp_systolic",
        "bp_diastolic",
    }
    covid_bp = labs[(labs.patient_id == COVID) & (labs.collected_at == pd.Timestamp("2012-11-15 03:10:59"))]
    bp = dict(zip(covid_bp.analyte, covid_bp.value, strict=True))
    assert (bp["bp_systolic"], bp["bp_diastolic"]) == (161.0, 118.0)  # file rows 6-7, "mm[Hg]" read as mmHg
    # the COVID admission has absolute differentials; its % rows are the same draw
    covid = labs[labs.patient_id == COVID]
    assert {"neutrophils", "lymphocytes", "eosinophils", "creatinine", "albumin"} <= set(covid.analyte)
    assert not covid.derived.any()


def test_observations_non_lab_rows_rejected_with_code_and_description(synthea: Path) -> None:
    rep = load(synthea / "observations.csv").report.files[0]
    by_row = {p.row: p for p in rep.problems}
    # vital sign, survey with a text value, QALY row with an empty encounter
    assert by_row[2].message == "not a monitored analyte: Body Height (8302-2)"
    assert by_row[33].message == "not a monitored analyte: Tobacco smoking status NHIS (72166-2)"
    assert by_row[33].value == "Never smoker"
    assert by_row[1045].message == "not a monitored analyte: QALY (QALY)"
    # % differentials of a draw that has the absolute counts are duplicates, not results
    assert rep.duplicates == 33


def test_latest_body_weight_becomes_the_patient_weight(synthea: Path) -> None:
    result = load(synthea / "observations.csv")
    patients = result.patients_df().set_index("patient_id")
    assert patients.loc[RA, "weight_kg"] == pytest.approx(74.8)
    assert patients.loc[RA, "weight_date"] == pd.Timestamp("2021-08-31 14:37:22")
    assert patients.loc[COVID, "weight_kg"] == pytest.approx(88.9)
    rep = result.report.files[0]
    older = [p for p in rep.problems if p.message.startswith("an earlier body weight")]
    weights = sum(1 for line in (synthea / "observations.csv").read_text().splitlines() if ",29463-7," in line)
    assert len(older) == weights - 2  # every weight but the latest of each patient


# --------------------------------------------------------------------------- medications


def test_medications_strength_only_and_no_invented_frequency(synthea: Path) -> None:
    result = load(synthea / "medications.csv")
    rep = result.report.files[0]
    assert rep.format == "Synthea medications"
    assert rep.rows_read == 112
    assert rep.rows_accepted == 2
    doses = result.doses_df().set_index("drug")
    mtx = doses.loc["methotrexate"]
    assert mtx.patient_id == RA
    assert mtx.start == pd.Timestamp("2011-07-09 14:37:22")
    assert mtx.end == pd.Timestamp("2015-07-10 14:37:22")
    assert (mtx.dose, mtx.dose_unit) == (2.5, "mg")  # from "Methotrexate 2.5 MG Oral Tablet"
    assert mtx.dose_basis == "strength_only"
    assert mtx.frequency == "unknown"
    assert math.isnan(mtx.mg_per_day) and math.isnan(mtx.mg_per_week)
    hcq = doses.loc["hydroxychloroquine"]
    assert (hcq.patient_id, hcq.dose, hcq.dose_basis) == (COVID, 200.0, "strength_only")
    others = {p.message for p in rep.problems}
    assert others == {"not one of the tracked drugs (immunosuppressants, glucocorticoids, allopurinol, febuxostat)"}
    assert any("no dose or frequency" in w.message for w in rep.warnings)


# --------------------------------------------------------------------------- conditions, patients


def test_conditions_give_the_diagnosis(synthea: Path) -> None:
    result = load(synthea / "conditions.csv", synthea / "patients.csv")
    rep = file_report(result, "conditions.csv")
    assert rep.format == "Synthea conditions"
    assert rep.rows_read == 91
    assert rep.rows_accepted == 1  # rheumatoid arthritis (SNOMED 69896004)
    patients = result.patients_df().set_index("patient_id")
    assert patients.loc[RA, "diagnosis"] == "Rheumatoid arthritis"
    assert patients.loc[COVID, "diagnosis"] == ""
    assert {p.message for p in rep.problems} == {
        "condition not used (only immune-mediated, transplant and kidney diagnoses are kept)"
    }
    assert "Hypertension (59621000)" in {p.value for p in rep.problems}


def test_patients(synthea: Path) -> None:
    result = load(synthea / "patients.csv")
    rep = result.report.files[0]
    assert rep.format == "Synthea patients"
    assert (rep.rows_read, rep.rows_accepted) == (14, 14)
    patients = result.patients_df().set_index("patient_id")
    assert patients.loc[RA, "sex"] == "F"
    assert patients.loc[RA, "birth_date"] == pd.Timestamp("1973-07-10")
    assert any("DEATHDATE" in w.message for w in rep.warnings)


# --------------------------------------------------------------------------- the export as a set


def test_whole_export_with_fhir_bundle(synthea: Path) -> None:
    files = [synthea / n for n in ("observations.csv", "medications.csv", "conditions.csv", "patients.csv")]
    result = load(*files, synthea / "Victoria535_Rubio813_subset_bundle.json")
    ra = result.patients_df().set_index("patient_id").loc[RA]
    assert (ra.sex, ra.birth_date, ra.diagnosis) == ("F", pd.Timestamp("1973-07-10"), "Rheumatoid arthritis")
    assert ra.weight_kg == pytest.approx(74.8)
    doses = result.doses_df()
    mtx = doses[(doses.patient_id == RA) & (doses.drug == "methotrexate")]
    # CSV (2011-07-09 -> 2015-07-10) kept; the FHIR order (status 'stopped', no end date) is no
    # dose in force, as a table's 'Stopped' row without an end is not (H185)
    assert sorted(mtx.source_file) == ["medications.csv"]
    labs = result.labs_df()
    fhir_wbc = labs[(labs.source_file.str.endswith(".json")) & (labs.analyte == "wbc")]
    assert sorted(fhir_wbc.value) == [pytest.approx(6.3702), pytest.approx(7.4107)]  # full precision in FHIR


def test_detection_is_by_header_not_by_file_name(synthea: Path) -> None:
    data = (synthea / "medications.csv").read_bytes()
    result = import_sources([Source("export (3).txt", data)], ImportOptions(today=TODAY))
    assert result.report.files[0].format == "Synthea medications"
    assert result.report.doses == 2


def test_fhir_bundle_every_entry_accounted(synthea: Path) -> None:
    result = load(synthea / "Victoria535_Rubio813_subset_bundle.json")
    rep = result.report.files[0]
    assert rep.format == "FHIR Bundle (collection)"
    assert rep.rows_read == 31
    # Patient + 8 of 12 observations (RBC and haematocrit are not monitored); the MTX request
    # is 'stopped' without an end date: not a dose in force, rejected with the reason (H185)
    assert rep.rows_accepted == 9
    assert result.doses_df().empty
    (stopped,) = [p for p in rep.problems if p.column == "status"]
    assert "held or stopped ('stopped') but not when it was given" in stopped.message


def test_older_synthea_medications_without_dispenses() -> None:
    text = (
        "START,STOP,PATIENT,ENCOUNTER,CODE,DESCRIPTION,REASONCODE,REASONDESCRIPTION\n"
        "2010-01-01,,p9,e1,241834,cycloSPORINE modified 100 MG Oral Capsule,55464009,Systemic lupus erythematosus\n"
    )
    result = import_sources([Source("medications.csv", text.encode())], ImportOptions(today=TODAY))
    rep = result.report.files[0]
    assert rep.format == "Synthea medications"
    dose = result.doses_df().iloc[0]
    assert (dose.drug, dose.dose, dose.dose_basis, dose.frequency) == ("ciclosporin", 100.0, "strength_only", "unknown")
