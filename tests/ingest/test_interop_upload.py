"""The real FHIR, Synthea, MIMIC and SMART excerpts through the upload page (Streamlit AppTest)."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[2]
SETS = ("synthea", "mimic3", "mimic4", "smart", "fhir")
NEEDS_PATIENT_COLUMN = "rheum_pacer_patient1_labs_flattened.csv"  # no patient: asks for a mapping


def test_every_excerpt_loads_through_the_upload_page(fixtures: Path) -> None:
    files = [
        (p.name, p.read_bytes(), "application/octet-stream")
        for s in SETS
        for p in sorted((fixtures / s).iterdir())
        if p.suffix != ".md" and p.name != NEEDS_PATIENT_COLUMN
    ]
    at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=120)
    at.run()
    at.get("file_uploader")[0].set_value(files)
    at.run()
    assert not at.exception
    summary = at.dataframe[0].value
    assert len(summary) == len(files)
    assert set(summary["Status"]) == {"ok"}
    assert (summary["Rows read"] == summary["Accepted"] + summary["Rejected"] + summary["Duplicates"]).all()
    ds = at.session_state["dataset"]
    # the MIMIC-III chemotherapy admission: its cytopenia and its doses side by side
    labs = ds.labs[ds.labs.patient_id == "40310"]
    doses = ds.doses[ds.doses.patient_id == "40310"]
    assert labs[labs.analyte == "wbc"].value.min() == pytest.approx(0.1)
    assert {"methotrexate", "cyclophosphamide"} <= set(doses.drug)
    # Synthea CSV and FHIR of one patient meet under one id
    ra = ds.patients.set_index("patient_id").loc["4815fd50-0b7b-8169-4b1f-96ba08a299cc"]
    assert ra.diagnosis == "Rheumatoid arthritis"
