"""The sample FHIR bundle, read by the FHIR reader, gives the same patients, doses,
results and flags as the CSV exports of the same patients."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest

from dashboard.dataset import Dataset
from dashboard.ingest import ImportOptions, ImportResult, import_paths
from dashboard.rules import review_dataset


@pytest.fixture(scope="module")
def fhir(sample_dir: Path, extract: dt.date) -> ImportResult:
    return import_paths([sample_dir / "fhir_bundle.json"], ImportOptions(today=extract))


@pytest.fixture(scope="module")
def fhir_patients(manifest: dict) -> list[str]:
    return sorted(manifest["files"]["fhir_bundle.json"]["patients"])


def test_every_resource_is_accounted_for(fhir: ImportResult, manifest: dict) -> None:
    (f,) = fhir.report.files
    total = sum(manifest["files"]["fhir_bundle.json"]["rows"].values())
    assert f.format.startswith("FHIR Bundle")
    assert f.rows_read == f.rows_accepted == total
    assert f.rows_rejected == 0 and f.duplicates == 0 and f.error == ""


def test_patients_match_the_patient_file(fhir: ImportResult, fhir_patients, sample_dir: Path) -> None:
    csv = pd.read_csv(sample_dir / "patients.csv", dtype=str).set_index("patient_id").loc[fhir_patients]
    got = fhir.patients_df().set_index("patient_id").loc[fhir_patients]
    assert list(got["sex"]) == list(csv["sex"])
    assert list(got["birth_date"].dt.date.astype(str)) == list(csv["birth_date"])
    assert list(got["weight_kg"]) == pytest.approx(list(csv["weight_kg"].astype(float)))
    for col in ("tpmt", "nudt15"):
        expected = csv[col].replace({"not tested": "unknown"})
        assert list(got[col]) == list(expected), col


def test_doses_match_the_dose_file(fhir: ImportResult, fhir_patients, sample_dir: Path) -> None:
    csv = pd.read_csv(sample_dir / "doses.csv", parse_dates=["start", "end"])
    csv = csv[csv["patient_id"].isin(fhir_patients)]
    got = fhir.doses_df()
    key = ["patient_id", "drug", "start"]
    merged = csv.merge(got, on=key, how="outer", suffixes=("_csv", "_fhir"), indicator=True)
    assert (merged["_merge"] == "both").all(), merged[merged["_merge"] != "both"][key]
    assert (merged["dose_csv"] == merged["dose_fhir"]).all()
    assert (merged["frequency_csv"] == merged["frequency_fhir"]).all()
    same_end = (merged["end_csv"] == merged["end_fhir"]) | (merged["end_csv"].isna() & merged["end_fhir"].isna())
    assert same_end.all(), merged[~same_end][[*key, "end_csv", "end_fhir"]]


def test_results_match_the_long_export(fhir: ImportResult, fhir_patients, default_import: ImportResult) -> None:
    cols = ["patient_id", "collected_at", "analyte", "value", "unit"]
    csv = default_import.labs_df()
    csv = csv[csv["patient_id"].isin(fhir_patients)][cols].sort_values(cols[:3]).reset_index(drop=True)
    got = fhir.labs_df()[cols].sort_values(cols[:3]).reset_index(drop=True)
    pd.testing.assert_frame_equal(got, csv, check_dtype=False, check_categorical=False)


def test_the_rules_flag_the_same_results(
    fhir: ImportResult, fhir_patients, default_import: ImportResult, extract: dt.date
) -> None:
    def flags(result: ImportResult) -> pd.DataFrame:
        review = review_dataset(Dataset.from_import(result, "x", extract), None, extract)
        f = review.flags_df()
        f = f[f["patient_id"].isin(fhir_patients)]
        return (
            f[["patient_id", "collected_at", "analyte", "rule", "severity"]]
            .sort_values(["patient_id", "collected_at", "analyte", "rule"])
            .reset_index(drop=True)
        )

    from_fhir, from_csv = flags(fhir), flags(default_import)
    assert len(from_fhir) > 0
    pd.testing.assert_frame_equal(from_fhir, from_csv, check_dtype=False, check_categorical=False)
