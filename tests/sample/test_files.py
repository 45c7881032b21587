"""The committed sample_data/: reproducible, small, described, and importable shape by shape."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import pandas as pd
import pytest

from dashboard import model
from dashboard.cli import main
from dashboard.dataset import Dataset
from dashboard.ingest import ImportOptions, Source, import_paths, import_sources
from dashboard.sample import default_files, extract_date

D = pd.Timedelta


# --------------------------------------------------------------------------- reproducible


def test_regenerating_gives_the_committed_files(tmp_path: Path, sample_dir: Path, capsys) -> None:
    assert main(["sample", "--out", str(tmp_path)]) == 0
    made = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    committed = {p.name: p.read_bytes() for p in sample_dir.iterdir() if p.is_file()}
    assert sorted(made) == sorted(committed)
    for name in made:
        assert made[name] == committed[name], name
    assert "synthetic" in capsys.readouterr().out


def test_committed_sample_is_small(sample_dir: Path) -> None:
    total = sum(p.stat().st_size for p in sample_dir.iterdir() if p.is_file())
    assert total < 5 * 1024 * 1024


def test_cli_refuses_impossible_settings(tmp_path: Path, capsys) -> None:
    assert main(["sample", "--patients", "5", "--out", str(tmp_path / "a")]) == 2
    assert "one per story" in capsys.readouterr().err
    assert main(["sample", "--years", "1", "--out", str(tmp_path / "b")]) == 2
    assert "two years" in capsys.readouterr().err
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


# --------------------------------------------------------------------------- manifest contract


def test_manifest_contract(manifest: dict, sample_dir: Path) -> None:
    assert manifest["generator"] == "dashboard.sample"
    assert manifest["synthetic"] is True
    assert manifest["default_files"] == ["labs.csv", "doses.csv", "patients.csv"]
    assert dt.date.fromisoformat(manifest["extract_date"]) == dt.date(2026, 11, 16)
    for name in manifest["files"]:
        assert (sample_dir / name).is_file(), name
    assert set(manifest["patients"]) >= {s["patient"] for s in manifest["stories"].values()}
    assert manifest["patients_count"] == len(manifest["patients"]) >= 30


def test_readme_says_synthetic_and_tells_each_story(manifest: dict, sample_dir: Path) -> None:
    text = (sample_dir / "README.md").read_text(encoding="utf-8")
    assert "synthetic" in text.splitlines()[0].lower() and "**Everything in this folder is synthetic.**" in text
    for pid, p in manifest["patients"].items():
        line = next(ln for ln in text.splitlines() if ln.startswith(f"| `{pid}`"))
        assert p["summary"].removeprefix("Routine: ") in line
    for name in manifest["files"]:
        assert f"`{name}`" in text


def test_default_files_and_extract_date_read_the_manifest(sample_dir: Path, tmp_path: Path) -> None:
    assert default_files(sample_dir) == [sample_dir / n for n in ("labs.csv", "doses.csv", "patients.csv")]
    assert extract_date(sample_dir) == dt.date(2026, 11, 16)
    (tmp_path / "labs.csv").write_text("x", encoding="utf-8")
    assert default_files(tmp_path) == [tmp_path / "labs.csv"]  # no manifest: default names that exist
    assert extract_date(tmp_path) is None
    (tmp_path / "manifest.json").write_text("{not json", encoding="utf-8")
    assert extract_date(tmp_path) is None


def test_load_sample_panel_path_gives_a_dataset(sample_dir: Path) -> None:
    """What the "Load sample panel" button does (dashboard/ui/uploads.py), without streamlit."""
    files = default_files(sample_dir)
    result = import_sources([Source(p.name, p.read_bytes()) for p in files], ImportOptions())
    ds = Dataset.from_import(result, "Sample panel (synthetic)", extract_date(sample_dir))
    assert not ds.is_empty and len(ds.patient_ids) >= 30
    assert ds.extract_date == dt.date(2026, 11, 16)
    assert not result.report.needs


# --------------------------------------------------------------------------- import accounting


def _balanced(report) -> None:
    for f in report.files:
        assert not f.error, f.error
        assert f.balanced, f.display_name


def test_default_set_imports_every_row(default_import, sample_dir: Path, manifest: dict) -> None:
    report = default_import.report
    _balanced(report)
    by_name = {f.path: f for f in report.files}
    for name in manifest["default_files"]:
        f = by_name[name]
        lines = (sample_dir / name).read_text(encoding="utf-8").count("\n") - 1
        assert f.rows_read == f.rows_accepted == lines == manifest["files"][name]["rows"], name
        assert f.rows_rejected == 0 and f.duplicates == 0 and not f.problems, name
    assert report.patients == len(manifest["patients"])


def test_european_file_imports_with_only_the_documented_blanks(sample_dir: Path, manifest: dict, extract) -> None:
    result = import_paths([sample_dir / "labs_europe_wide.csv"], ImportOptions(today=extract))
    _balanced(result.report)
    (f,) = result.report.files
    assert (f.encoding, f.delimiter, f.decimal, f.format) == ("Windows-1252", ";", "comma", "labs (wide)")
    assert f.date_order == "day-first"
    info = manifest["files"]["labs_europe_wide.csv"]
    assert f.rows_read == f.rows_accepted == info["rows"] and f.rows_rejected == 0
    assert f.results_rejected == len(info["no_result_cells"]) == 2
    assert f.results_accepted == 12 * info["rows"] - 2
    texts = sorted(p.value for p in f.problems)
    assert texts == sorted(c["text"] for c in info["no_result_cells"])
    converted = {(c.analyte, c.from_unit) for c in f.conversions}
    assert {("hemoglobin", "g/dl"), ("creatinine", "mg/dl"), ("albumin", "g/dl"), ("wbc", "G/l")} <= converted


def test_european_values_match_the_long_export(sample_dir: Path, labs: pd.DataFrame, extract) -> None:
    europe = import_paths([sample_dir / "labs_europe_wide.csv"], ImportOptions(today=extract)).labs_df()
    key = ["patient_id", "collected_at", "analyte"]
    both = europe.merge(labs, on=key, suffixes=("_eu", "_long"), validate="one_to_one")
    assert len(both) == len(europe)
    # rounding of the same measurement in two unit systems
    tolerance = {
        "wbc": 0.06,
        "hemoglobin": 1.0,
        "albumin": 1.0,
        "creatinine": 1.0,
        "mcv": 0.55,
    }
    diff = (both["value_eu"] - both["value_long"]).abs()
    limit = both["analyte"].map(tolerance).fillna(1e-9)
    assert (diff <= limit).all(), both[diff > limit][[*key, "value_eu", "value_long"]]


def test_workbook_imports_every_row_and_matches_the_csvs(
    sample_dir: Path, manifest: dict, labs: pd.DataFrame, doses: pd.DataFrame, patients: pd.DataFrame, extract
) -> None:
    result = import_paths([sample_dir / "clinic_workbook.xlsx"], ImportOptions(today=extract))
    _balanced(result.report)
    rows = manifest["files"]["clinic_workbook.xlsx"]["rows"]
    for f in result.report.files:
        assert f.rows_read == f.rows_accepted == rows[f.sheet] and f.rows_rejected == 0, f.sheet
    ids = manifest["files"]["clinic_workbook.xlsx"]["patients"]
    key = ["patient_id", "collected_at", "analyte"]
    xl = result.labs_df()
    long = labs[labs["patient_id"].isin(ids)]
    merged = xl.merge(long, on=key, suffixes=("_xl", "_csv"), validate="one_to_one")
    assert len(merged) == len(xl) == len(long)
    assert (merged["value_xl"] == merged["value_csv"]).all()
    cols = ["patient_id", "drug", "start", "end", "mg_per_day", "frequency", "route"]
    want = doses[doses["patient_id"].isin(ids)][cols].sort_values(cols[:3]).reset_index(drop=True)
    got = result.doses_df()[cols].sort_values(cols[:3]).reset_index(drop=True)
    pd.testing.assert_frame_equal(got, want)
    assert "Imuran" in " ".join(result.doses_df()["source_text"])  # brands and tablet counts mapped
    pcols = ["patient_id", "sex", "birth_date", "weight_kg", "tpmt", "nudt15", "diagnosis"]
    want_p = patients[patients["patient_id"].isin(ids)][pcols].reset_index(drop=True)
    pd.testing.assert_frame_equal(result.patients_df()[pcols].reset_index(drop=True), want_p)


# --------------------------------------------------------------------------- FHIR R4 (structure)

FHIR_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}:\d{2}(\+|-)\d{2}:\d{2})?$")
FHIR_ID = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")


@pytest.fixture(scope="module")
def bundle(sample_dir: Path) -> dict:
    return json.loads((sample_dir / "fhir_bundle.json").read_text(encoding="utf-8"))


def test_fhir_bundle_structure(bundle: dict, manifest: dict) -> None:
    assert bundle["resourceType"] == "Bundle" and bundle["type"] == "collection"
    resources = [e["resource"] for e in bundle["entry"]]
    urls = [e["fullUrl"] for e in bundle["entry"]]
    assert len(set(urls)) == len(urls)
    for e in bundle["entry"]:
        r = e["resource"]
        assert FHIR_ID.match(r["id"]), r["id"]
        assert e["fullUrl"].endswith(f"/{r['resourceType']}/{r['id']}")
    patients = {r["id"] for r in resources if r["resourceType"] == "Patient"}
    assert sorted(patients) == sorted(manifest["files"]["fhir_bundle.json"]["patients"])
    for r in resources:
        if r["resourceType"] != "Patient":
            ref = r["subject"]["reference"]
            assert ref.startswith("Patient/") and ref.removeprefix("Patient/") in patients
    counts = manifest["files"]["fhir_bundle.json"]["rows"]
    for kind, n in counts.items():
        assert sum(r["resourceType"] == kind for r in resources) == n


def test_fhir_observations(bundle: dict) -> None:
    obs = [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Observation"]
    loinc = {code for info in model.analyte_info().values() for code in info.loinc}
    labs = [o for o in obs if o["category"][0]["coding"][0]["code"] == "laboratory" and "valueQuantity" in o]
    assert len(labs) > 500
    for o in labs:
        coding = o["code"]["coding"][0]
        assert coding["system"] == "http://loinc.org" and coding["code"] in loinc
        assert o["status"] == "final"
        assert FHIR_DATETIME.match(o["effectiveDateTime"]) and "T" in o["effectiveDateTime"]
        q = o["valueQuantity"]
        assert q["system"] == "http://unitsofmeasure.org" and q["code"] and isinstance(q["value"], int | float)
        rr = o["referenceRange"][0]
        assert "low" in rr or "high" in rr
    weights = [o for o in obs if o["code"]["coding"][0]["code"] == "29463-7"]
    assert len(weights) == 4 and all(w["valueQuantity"]["code"] == "kg" for w in weights)
    genes = [o for o in obs if o["code"]["coding"][0]["code"] == "53040-2"]
    assert any(g["valueCodeableConcept"]["text"] == "Intermediate metabolizer" for g in genes)


def test_fhir_medications(bundle: dict) -> None:
    meds = [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"].startswith("Medication")]
    kinds = {m["resourceType"] for m in meds}
    assert kinds == {"MedicationRequest", "MedicationStatement"}
    rxnorm = {code: d for d, info in model.drug_info().items() for code in info.rxnorm}
    for m in meds:
        coding = m["medicationCodeableConcept"]["coding"][0]
        assert coding["system"] == "http://www.nlm.nih.gov/research/umls/rxnorm" and coding["code"] in rxnorm
        dosage = m["dosageInstruction" if m["resourceType"] == "MedicationRequest" else "dosage"][0]
        repeat = dosage["timing"]["repeat"]
        assert repeat["periodUnit"] in ("d", "wk") and repeat["frequency"] >= 1 and repeat["period"] >= 1
        assert FHIR_DATETIME.match(repeat["boundsPeriod"]["start"])
        dose = dosage["doseAndRate"][0]["doseQuantity"]
        assert dose["code"] == "mg" and dose["value"] > 0
        if m["resourceType"] == "MedicationRequest":
            assert m["intent"] == "order" and m["status"] in ("active", "completed")
    cyc = [m for m in meds if rxnorm[m["medicationCodeableConcept"]["coding"][0]["code"]] == "cyclophosphamide"]
    (cyc,) = cyc
    rep = cyc["dosageInstruction"][0]["timing"]["repeat"]
    assert (rep["frequency"], rep["period"], rep["periodUnit"], rep["count"]) == (1, 2, "wk", 6)


def test_fhir_values_match_the_long_export(bundle: dict, labs: pd.DataFrame) -> None:
    by_code = {code: a for a, info in model.analyte_info().items() for code in info.loinc}
    rows = []
    for e in bundle["entry"]:
        o = e["resource"]
        if o["resourceType"] != "Observation" or o["code"]["coding"][0]["code"] not in by_code:
            continue
        when = pd.Timestamp(o["effectiveDateTime"][:19])  # wall-clock time, offset dropped
        rows.append(
            (o["subject"]["reference"][8:], when, by_code[o["code"]["coding"][0]["code"]], o["valueQuantity"]["value"])
        )
    fhir = pd.DataFrame(rows, columns=["patient_id", "collected_at", "analyte", "value"])
    fhir["collected_at"] = fhir["collected_at"].astype("datetime64[s]")
    merged = fhir.merge(labs, on=["patient_id", "collected_at", "analyte"], suffixes=("_fhir", "_csv"))
    assert len(merged) == len(fhir)
    assert (merged["value_fhir"] == merged["value_csv"]).all()
