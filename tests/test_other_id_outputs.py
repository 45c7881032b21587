"""Another id that may be the same person (H150) in every output, not only the Patient page
and the PDF (probe 13 F1, H276).

The case, by hand: a FHIR export files a patient under the server's id "f3c9a1" and gives her
MRN 0012345 as an identifier; the clinic's lab sheet has a normal WBC under 0012345 and no
dose.  One person may be under two ids: neither is merged, and each patient's part of every
output names the other, in the Patient page's own words.
"""

from __future__ import annotations

import datetime as dt
import io
import json

import pandas as pd

from dashboard import summary_export as sx
from dashboard.cli.main import main
from dashboard.dataset import Dataset
from dashboard.identity import other_id_notes, other_ids_by_patient
from dashboard.panel import panel_table
from dashboard.reviews import empty_log
from dashboard.rules.review import review_dataset
from dashboard.ui.panel_view import column_order

AS_OF = dt.date(2024, 6, 30)
_PATIENT = {
    "resourceType": "Patient",
    "id": "f3c9a1",
    "identifier": [{"type": {"coding": [{"code": "MR"}]}, "value": "0012345"}],
    "gender": "female",
}
_NEUTROPHILS = {
    "resourceType": "Observation",
    "id": "o1",
    "status": "final",
    "code": {"coding": [{"system": "http://loinc.org", "code": "751-8"}]},
    "subject": {"reference": "Patient/f3c9a1"},
    "effectiveDateTime": "2024-03-01",
    "valueQuantity": {"value": 0.4, "unit": "10*3/uL"},
}
_NDJSON = (json.dumps(_PATIENT) + "\n" + json.dumps(_NEUTROPHILS) + "\n").encode()
# 0012345: one normal WBC, no dose: no flag, nothing due (no schedule without a drug)
_LABS = (
    b"Patient ID,Collected,Test Name,Result,Units,Reference Range\n"
    b"0012345,2024-06-01 09:00,White cell count,6.0,10^9/L,4.0-11.0\n"
    b"OTHER-1,2024-06-01 09:00,White cell count,6.0,10^9/L,4.0-11.0\n"
)


def _dataset() -> Dataset:
    from dashboard.ingest import ImportOptions, Source, import_sources

    result = import_sources(
        [Source("export.ndjson", _NDJSON), Source("labs.csv", _LABS)], ImportOptions(today=dt.date(2026, 11, 25))
    )
    return Dataset.from_import(result, "other ids")


def _page_notes(pid: str) -> list[str]:
    """What the Patient page of ``pid`` says (``ui.picker.show_other_ids``)."""
    ds = _dataset()
    return other_id_notes(pid, ds.aliases, ds.patient_ids)


def test_the_page_notes_name_each_other():
    mine, theirs = _page_notes("f3c9a1"), _page_notes("0012345")
    assert len(mine) == 1 and "MR 0012345" in mine[0] and "MRN 0012345" in mine[0]
    assert len(theirs) == 1 and "Patient f3c9a1" in theirs[0] and "MRN f3c9a1" in theirs[0]
    assert _page_notes("OTHER-1") == []
    ds = _dataset()
    assert other_ids_by_patient(ds.aliases, ds.patient_ids) == {"f3c9a1": mine, "0012345": theirs}


def _files(tmp_path):
    (tmp_path / "export.ndjson").write_bytes(_NDJSON)
    (tmp_path / "labs.csv").write_bytes(_LABS)
    return [str(tmp_path / "export.ndjson"), str(tmp_path / "labs.csv")]


def _sections(text: str) -> dict[str, list[str]]:
    """The review text's per-patient sections ("== <id> ..." and the lines under it)."""
    out: dict[str, list[str]] = {}
    current = None
    for line in text.splitlines():
        if line.startswith("== ") and "[" in line:  # a patient's heading (files have no "[")
            current = line.split()[1]
            out[current] = []
        elif current and line.startswith("   "):
            out[current].append(line.strip())
        else:
            current = None
    return out


def test_the_cli_text_review_says_it_in_each_patients_section_and_the_import_note_whole(tmp_path, capsys):
    assert main(["review", *_files(tmp_path), "--as-of", AS_OF.isoformat()]) == 0
    text = capsys.readouterr().out
    review = text[text.index("Review as of") :]
    sections = _sections(review)
    assert f"Another id: {_page_notes('f3c9a1')[0]}." in sections["f3c9a1"]
    # 0012345 has no flag and nothing due: its section is there for the note alone
    assert sections["0012345"] == [f"Another id: {_page_notes('0012345')[0]}."]
    assert "OTHER-1" not in sections
    # the import's note is printed whole: it ended "... doses under one id ne..." at 200 characters
    note = next(line for line in text.splitlines() if "note: patient f3c9a1" in line)
    assert note.endswith("(doses under one id never meet the results under the other)")


def test_the_cli_json_patient_record_carries_it(tmp_path, capsys):
    assert main(["review", *_files(tmp_path), "--as-of", AS_OF.isoformat(), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    by_id = {p["patient_id"]: p for p in doc["patients"]}
    assert by_id["f3c9a1"]["other_ids"] == _page_notes("f3c9a1")
    assert by_id["0012345"]["other_ids"] == _page_notes("0012345")
    assert by_id["OTHER-1"]["other_ids"] == []


def test_the_panel_row_says_it_and_the_page_shows_the_column():
    ds = _dataset()
    table = panel_table(ds, review_dataset(ds, "BSR 2025", AS_OF)).set_index("Patient")
    assert table.loc["f3c9a1", "Another id"] == _page_notes("f3c9a1")[0]
    assert table.loc["0012345", "Another id"] == _page_notes("0012345")[0]
    assert table.loc["OTHER-1", "Another id"] == ""
    shown = column_order([], "SI", other_ids=True)
    assert shown.index("Another id") == shown.index("Why") + 1
    assert "Another id" not in column_order([], "SI")


def test_the_panel_csv_and_xlsx_say_it():
    ds = _dataset()
    frame = sx.panel_frame(
        ds.labs, ds.doses, ds.patients, empty_log(), AS_OF, ds.baselines, "BSR 2025", aliases=ds.aliases
    )
    csv = pd.read_csv(io.BytesIO(sx.panel_csv(frame)), dtype=str, encoding="utf-8-sig", keep_default_na=False)
    csv = csv.set_index("Patient")
    assert csv.loc["f3c9a1", "Another id"] == _page_notes("f3c9a1")[0]
    assert csv.loc["0012345", "Another id"] == _page_notes("0012345")[0]
    assert csv.loc["OTHER-1", "Another id"] == ""
    xlsx = sx.panel_xlsx(frame, ds.labs, ds.doses, empty_log())
    sheet = pd.read_excel(io.BytesIO(xlsx), sheet_name="Panel", engine="openpyxl", dtype=str).set_index("Patient")
    assert sheet.loc["0012345", "Another id"] == _page_notes("0012345")[0]


def test_the_workspace_panel_export_says_it(tmp_path, capsys, monkeypatch):
    """``python -m dashboard workspace export`` (the panel CSV of the workspace)."""
    from dashboard.ingest import Source
    from dashboard.store import Workspace

    ws = Workspace(tmp_path / "ws", timeout=20, clock=lambda: dt.datetime(2024, 7, 1, 10))
    ws.import_sources([Source("export.ndjson", _NDJSON)], by="t")
    ws.import_sources([Source("labs.csv", _LABS)], by="t")
    out = tmp_path / "panel.csv"
    monkeypatch.setenv("DASHBOARD_WORKSPACE", str(tmp_path / "ws"))
    assert main(["workspace", "export", "--format", "csv", "--out", str(out)]) == 0
    csv = pd.read_csv(out, dtype=str, encoding="utf-8-sig", keep_default_na=False).set_index("Patient")
    assert "MR 0012345" in csv.loc["f3c9a1", "Another id"] and "MRN 0012345" in csv.loc["f3c9a1", "Another id"]
    assert "Patient f3c9a1" in csv.loc["0012345", "Another id"]
