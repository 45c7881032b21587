"""SMART on FHIR sample patients (smart-on-fhir/sample-patients; tests/fixtures/smart/SOURCES.md)."""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path

import pandas as pd
import pytest

from dashboard.ingest import ImportOptions, ImportResult, Source, import_paths, import_sources

TODAY = dt.date(2026, 11, 25)


@pytest.fixture
def smart(fixtures: Path) -> Path:
    return fixtures / "smart"


def check(result: ImportResult) -> ImportResult:
    for f in result.report.files:
        assert f.balanced, f"{f.path}: {f.rows_read} != {f.rows_accepted}+{f.rows_rejected}+{f.duplicates}"
    return result


def test_labs_txt_through_the_generic_long_reader(smart: Path) -> None:
    result = check(import_paths([smart / "labs_cbc_excerpt.tsv"], ImportOptions(today=TODAY)))
    rep = result.report.files[0]
    assert rep.format == "labs (long)"
    # patient 2113340 has two draws dated 2009-03-08 (WBC 12.4 and 12.1) and one
    # "Neutrophils 81 %": of which WBC is not known, so it is rejected with the reason
    assert (rep.rows_read, rep.rows_accepted, rep.rows_rejected) == (300, 299, 1)
    assert "two different WBC results" in {p.row: p.message for p in rep.problems}[234]
    assert rep.mapping["code"] == "LOINC" and rep.mapping["ref_low"] == "LOW" and rep.mapping["ref_high"] == "HIGH"
    labs = result.labs_df()
    draw = labs[(labs.patient_id == "1520204") & (labs.collected_at == pd.Timestamp("2009-02-13"))]
    draw = draw.set_index("analyte")
    wbc = draw.loc["wbc"]
    assert (wbc.value, wbc.ref_low, wbc.ref_high, wbc.source_unit) == (9.43, 4.3, 11.0, "k/cumm")
    hb = draw.loc["hemoglobin"]  # "Hgb Pre Therap Phleb" recognised by its LOINC 718-7
    assert (hb.value, hb.ref_low, hb.ref_high) == (149.0, 120.0, 155.0)
    anc = draw.loc["neutrophils"]  # 70 % of a WBC of 9.43
    assert anc.derived and anc.value == pytest.approx(6.601)
    assert math.isnan(anc.ref_low)  # a % range is not a range of the absolute count
    alt = labs[(labs.patient_id == "1520204") & (labs.analyte == "alt")].iloc[0]
    assert (alt.value, alt.unit, alt.source_unit) == (16.0, "U/L", "UNITS/L")


def test_meds_txt(smart: Path) -> None:
    result = check(import_paths([smart / "meds_rheum_excerpt.tsv"], ImportOptions(today=TODAY)))
    rep = result.report.files[0]
    assert rep.format == "SMART sample-patient meds"
    assert (rep.rows_read, rep.rows_accepted) == (4, 4)
    doses = result.doses_df().set_index("source_row")
    lef = doses.loc[2]  # 1 {tablet} of "Leflunomide 10 MILLIGRAM In 1 TABLET", 1 /d
    assert (lef.drug, lef.dose, lef.dose_unit, lef.frequency, lef.mg_per_day) == (
        "leflunomide",
        10.0,
        "mg",
        "daily",
        10.0,
    )
    assert lef.start == pd.Timestamp("2006-02-02") and pd.isna(lef.end)
    taper = doses.loc[3]  # no amount to take; SIG "taper as directed"
    assert (taper.drug, taper.dose, taper.dose_basis, taper.frequency) == (
        "prednisone",
        20.0,
        "strength_only",
        "unknown",
    )
    prn = doses.loc[5]  # "Prednisone Oral Tablet", prn: no strength, no schedule
    assert prn.drug == "prednisone" and math.isnan(prn.dose) and prn.frequency == "unknown"


def test_flattened_labs_without_patient_need_a_mapping(smart: Path) -> None:
    result = check(import_paths([smart / "rheum_pacer_patient1_labs_flattened.csv"], ImportOptions(today=TODAY)))
    rep = result.report.files[0]
    assert rep.needs == "mapping"
    assert rep.rows_read == 185 == rep.rows_rejected
    assert "patient_id" in rep.error


def test_flattened_labs_with_a_patient_column_infer_units_or_reject(smart: Path) -> None:
    # what a user does: add the patient to the sheet and map the date column
    lines = (smart / "rheum_pacer_patient1_labs_flattened.csv").read_text().splitlines()
    text = "\n".join([f"patient,{lines[0]}"] + [f"624598,{ln}" for ln in lines[1:]]) + "\n"
    options = ImportOptions(today=TODAY, mapping={"appliesDateTime": "collected_at"})
    result = check(import_sources([Source("labs.csv", text.encode())], options))
    rep = result.report.files[0]
    assert rep.rows_read == 185
    labs = result.labs_df().set_index(["analyte", "collected_at"])
    day = pd.Timestamp("2013-10-01")
    assert labs.loc[("wbc", day)].value == 9.6  # no unit: only 10^9/L fits 9.6
    assert labs.loc[("creatinine", day)].value == pytest.approx(0.7 * 88.4)  # only mg/dL fits 0.7
    # Hb 12.0 fits g/dL (120 g/L) and mmol/L (193 g/L): never guessed
    hb = [p for p in rep.problems if p.value == "12.0" and "fits more than one unit" in p.message]
    assert hb
    assert any("unit missing" in w.message for w in rep.warnings)


def test_rheumpacer_dstu1_medication_prescriptions(smart: Path) -> None:
    path = smart / "rheum_pacer_patient1_MedicationPrescription_DSTU1.json"
    result = check(import_paths([path], ImportOptions(today=TODAY)))
    rep = result.report.files[0]
    assert (rep.rows_read, rep.rows_accepted) == (4, 2)  # nifedipine and simvastatin are not tracked
    doses = result.doses_df().set_index("drug")
    mtx = doses.loc["methotrexate"]  # "10 mg, 1 tab(s), Oral, qWeek, 1 tabs"
    assert (mtx.patient_id, mtx.dose, mtx.frequency, mtx.mg_per_week) == ("624598", 10.0, "weekly", 10.0)
    assert mtx.start == pd.Timestamp("2012-03-15") and pd.isna(mtx.end)
    pred = doses.loc["prednisone"]  # "1 tabs, Oral, Daily, 30 tabs" of a 5 mg tablet
    assert (pred.dose, pred.frequency, pred.mg_per_day) == (5.0, "daily", 5.0)
    assert (pred.start, pred.end) == (pd.Timestamp("2012-12-28"), pd.Timestamp("2015-03-03"))
