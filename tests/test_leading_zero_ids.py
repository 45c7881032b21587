"""Two patient ids that differ only by leading zeros, said in every output (probe 16 F4, H330).

The case, by hand: MRN 1234 (SMITH, Ann) on azathioprine 150 mg daily, neutrophils 1.3 on
2 Nov 2026, kept in the workspace; the next LIS export writes the MRN 0001234 and sends
neutrophils 1.0 on 9 Nov.  "0001234" without its leading zeros is "1234": one person may be
under two ids.  Never merged (ids are never guessed to be the same): the Patient page of
each, the PDF, the CLI review (text and JSON), the Panel's "Another id" and the panel
CSV/XLSX name the other id, every time, not only the import report of the week it came.
A third patient, 2001, and an id with letters ("A012" beside "A12") are named by nothing.
"""

from __future__ import annotations

import datetime as dt
import io
import json

import pandas as pd
import pytest

from dashboard import identity
from dashboard import summary_export as sx
from dashboard.cli.main import main
from dashboard.identity import leading_zero_groups, other_id_notes, other_ids_by_patient
from dashboard.ingest import Source
from dashboard.panel import panel_table
from dashboard.rules.review import review_dataset
from dashboard.store import Workspace
from dashboard.store.panel import open_panel
from dashboard.ui.panel_view import column_order

AS_OF = dt.date(2026, 11, 13)
HEAD = "MRN,Collection Date,Component,Result,Units,Reference Range,Status\n"
WEEK1 = (
    HEAD
    + "1234,2026-11-02 09:00,Neutrophils,1.3,10^9/L,2.0-7.5,Final\n"
    + "2001,2026-11-02 09:00,White cell count,6.0,10^9/L,4.0-11.0,Final\n"
)
WEEK2 = HEAD + "0001234,2026-11-09 09:00,Neutrophils,1.0,10^9/L,2.0-7.5,Final\n"
DOSES = "patient,drug,dose,unit,frequency,route,start,end\n1234,azathioprine,150,mg,daily,oral,2026-06-01,\n"
PEOPLE = 'patient,patient name,sex,date of birth,TPMT,weight\n1234,"SMITH, Ann",F,1970-02-03,normal,70\n'


def _says(pid: str, other: str) -> bool:
    """Whether a note of ``pid`` names ``other`` as the other id, by leading zeros."""
    return any(
        "differ only by leading zeros" in n and f"MRN {other} too" in n
        for n in other_ids_by_patient([], ["1234", "0001234", "2001"]).get(pid, [])
    )


# --------------------------------------------------------------------------- the one rule


def test_ids_that_differ_only_by_leading_zeros_name_each_other():
    notes = other_ids_by_patient([], ["2001", "0001234", "1234", "A12", "A012"])
    assert set(notes) == {"1234", "0001234"}  # 2001 has no pair; ids with letters are not numbers
    [mine], [theirs] = notes["0001234"], notes["1234"]
    assert "0001234" in mine and "MRN 1234 too" in mine and "kept apart" in mine
    assert "1234" in theirs and "MRN 0001234 too" in theirs and "kept apart" in theirs
    assert _says("0001234", "1234") and _says("1234", "0001234")
    # three ids of one number: each names the other two
    three = other_ids_by_patient([], ["12", "012", "0012"])
    assert {p: len(n) for p, n in three.items()} == {"12": 2, "012": 2, "0012": 2}
    assert other_id_notes("0012", [], ["12", "012", "0012"]) == three["0012"]
    # "0" and "000" are the number 0
    assert leading_zero_groups(["000", "0", "7"]) == [["0", "000"]]


def test_the_import_warning_and_every_output_share_one_rule():
    """The import's "differ only by leading zeros" warning (H7) groups the ids with the same
    rule the outputs use (identity.leading_zero_groups), not a second copy of it."""
    from dashboard.ingest import pipeline

    assert pipeline.leading_zero_groups is identity.leading_zero_groups
    assert not hasattr(pipeline, "_zero_stripped_groups")
    assert leading_zero_groups({"0012", "12", "5", "012", "A012"}) == [["12", "012", "0012"]]


# --------------------------------------------------------------------------- the workspace


@pytest.fixture
def ws(tmp_path, monkeypatch) -> Workspace:
    path = tmp_path / "workspace"
    monkeypatch.setenv("DASHBOARD_WORKSPACE", str(path))
    ws = Workspace(path, timeout=20, clock=lambda: dt.datetime(2026, 11, 13, 9, 0))
    for name, text in (("patients.csv", PEOPLE), ("doses.csv", DOSES), ("labs-w1.csv", WEEK1)):
        ws.import_sources([Source(name, text.encode())], by="Dr A")
    out = ws.import_sources([Source("labs-w2.csv", WEEK2.encode())], by="Dr A")
    assert "differ only by leading zeros" in out.report.to_text()  # said once here (H7)
    return ws


def test_the_workspace_panel_export_names_the_other_id_after_the_import(ws, tmp_path):
    p = open_panel(ws)
    assert sorted(p.patients["patient_id"]) == ["0001234", "1234", "2001"]  # never merged
    frame = sx.panel_frame(
        p.labs, p.doses, p.patients, p.reviews, AS_OF, p.baselines, None, p.intervals, aliases=p.aliases
    ).set_index("Patient")
    assert "MRN 1234 too" in frame.loc["0001234", "Another id"]
    assert "MRN 0001234 too" in frame.loc["1234", "Another id"]
    assert frame.loc["2001", "Another id"] == ""
    # the CLI's `workspace export`, CSV and XLSX
    assert main(["workspace", "export", "--format", "csv", "--out", str(tmp_path / "p.csv")]) == 0
    csv = pd.read_csv(tmp_path / "p.csv", dtype=str, encoding="utf-8-sig", keep_default_na=False).set_index("Patient")
    assert "MRN 1234 too" in csv.loc["0001234", "Another id"] and csv.loc["2001", "Another id"] == ""
    assert main(["workspace", "export", "--format", "xlsx", "--out", str(tmp_path / "p.xlsx")]) == 0
    sheet = pd.read_excel(tmp_path / "p.xlsx", sheet_name="Panel", engine="openpyxl", dtype=str).set_index("Patient")
    assert "MRN 0001234 too" in sheet.loc["1234", "Another id"]


def test_the_pdf_and_the_patient_page_of_each_name_the_other(ws, tmp_path):
    p = open_panel(ws)
    ds = p.dataset()
    assert (
        other_id_notes("0001234", ds.aliases, ds.patient_ids)
        == other_ids_by_patient([], ["1234", "0001234"])["0001234"]
    )
    assert other_id_notes("2001", ds.aliases, ds.patient_ids) == []
    assert any("MRN 1234 too" in n for n in p.summary("0001234", AS_OF).other_ids)
    assert any("MRN 0001234 too" in n for n in p.summary("1234", AS_OF).other_ids)
    assert p.summary("2001", AS_OF).other_ids == ()
    # the CLI's PDF of the workspace prints it ("Another id: ...")
    assert (
        main(["workspace", "export", "--format", "pdf", "--patient", "0001234", "--out", str(tmp_path / "a.pdf")]) == 0
    )
    assert (tmp_path / "a.pdf").stat().st_size > 0


def test_the_panel_row_says_it_and_the_column_is_shown(ws):
    ds = open_panel(ws).dataset()
    table = panel_table(ds, review_dataset(ds, "BSR 2025", AS_OF)).set_index("Patient")
    assert "MRN 1234 too" in table.loc["0001234", "Another id"]
    assert "MRN 0001234 too" in table.loc["1234", "Another id"]
    assert table.loc["2001", "Another id"] == ""
    shown = column_order([], "SI", other_ids=bool((table["Another id"] != "").any()))
    assert "Another id" in shown


def test_the_patient_page_in_workspace_mode_says_it(ws):
    from streamlit.testing.v1 import AppTest

    from tests.support import ROOT

    at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=180)
    at.query_params["panel"] = "workspace"
    at.run()
    at.session_state["as_of"] = AS_OF
    at.session_state["selected_patient"] = "0001234"
    at.switch_page("pages/patient.py").run()
    assert not at.exception
    said = [w.value for w in at.warning if "leading zeros" in w.value]
    assert len(said) == 1 and "MRN 1234 too" in said[0], said


# --------------------------------------------------------------------------- the CLI review of files


def _files(tmp_path):
    for name, text in (("doses.csv", DOSES), ("w1.csv", WEEK1), ("w2.csv", WEEK2)):
        (tmp_path / name).write_text(text)
    return [str(tmp_path / n) for n in ("doses.csv", "w1.csv", "w2.csv")]


def test_the_cli_review_text_and_json_say_it_in_each_patients_part(tmp_path, capsys):
    assert main(["review", *_files(tmp_path), "--as-of", AS_OF.isoformat(), "--json"]) == 0
    by_id = {p["patient_id"]: p for p in json.loads(capsys.readouterr().out)["patients"]}
    assert any("MRN 1234 too" in n for n in by_id["0001234"]["other_ids"])
    assert any("MRN 0001234 too" in n for n in by_id["1234"]["other_ids"])
    assert by_id["2001"]["other_ids"] == []
    assert main(["review", *_files(tmp_path), "--as-of", AS_OF.isoformat()]) == 0
    text = capsys.readouterr().out
    review = text[text.index("Review as of") :]
    [note] = other_ids_by_patient([], ["1234", "0001234"])["0001234"]
    assert f"Another id: {note}." in review


def test_the_app_panel_csv_of_a_session_says_it():
    """The app's Panel download of files uploaded together (no workspace, no identifiers)."""
    from dashboard.dataset import Dataset
    from dashboard.ingest import ImportOptions, import_sources
    from dashboard.reviews import empty_log

    result = import_sources(
        [Source("doses.csv", DOSES.encode()), Source("w1.csv", WEEK1.encode()), Source("w2.csv", WEEK2.encode())],
        ImportOptions(today=dt.date(2026, 12, 4)),
    )
    ds = Dataset.from_import(result, "session")
    assert ds.aliases == []
    frame = sx.panel_frame(ds.labs, ds.doses, ds.patients, empty_log(), AS_OF, ds.baselines, None, aliases=ds.aliases)
    csv = pd.read_csv(io.BytesIO(sx.panel_csv(frame)), dtype=str, encoding="utf-8-sig", keep_default_na=False)
    assert "MRN 1234 too" in csv.set_index("Patient").loc["0001234", "Another id"]
