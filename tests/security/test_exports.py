"""Exports neutralise what a hostile export carried: no formula runs in a spreadsheet,
no markup or action hides in a PDF, and nothing of it is dropped (it stays readable)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import zipfile

import openpyxl
import pytest
from pypdf import PdfReader

from dashboard import summary_export as sx
from dashboard.cli import main
from dashboard.dataset import Dataset
from dashboard.export import FORMULA_START, safe_file_name, to_csv_bytes
from dashboard.ingest import ImportOptions, Source, import_sources
from dashboard.ingest.report import problems_frame
from dashboard.reviews import empty_log, flags_for_review
from tests.security.hostile import FORMULA_ID, MD_IMAGE_ID, PATIENT_IDS, XSS_ID, doses_csv, labs_csv, patients_csv
from tests.support import TODAY

AS_OF = dt.date(2024, 4, 1)


@pytest.fixture(scope="module")
def ds() -> Dataset:
    files = [Source("labs.csv", labs_csv()), Source("patients.csv", patients_csv()), Source("doses.csv", doses_csv())]
    result = import_sources(files, ImportOptions(today=TODAY))
    return Dataset.from_import(result, "hostile")


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def assert_csv_is_inert(data: bytes) -> list[list[str]]:
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    for row in rows:
        for cell in row:
            assert not cell.startswith(FORMULA_START) or _is_number(cell), f"formula-like cell left live: {cell!r}"
    return rows


def assert_xlsx_is_inert(data: bytes) -> list[str]:
    wb = openpyxl.load_workbook(io.BytesIO(data))  # formulas kept as formulas, if any
    texts = []
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                assert cell.data_type != "f", f"{ws.title}!{cell.coordinate} is a formula: {cell.value!r}"
                if isinstance(cell.value, str):
                    assert not cell.value.startswith(FORMULA_START), (ws.title, cell.coordinate, cell.value)
                    texts.append(cell.value)
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        assert not any("externalLink" in n or n.endswith(".bin") for n in z.namelist())
    return texts


def test_panel_csv_and_excel_neutralise_hostile_ids(ds):
    table = sx.panel_frame(ds.labs, ds.doses, ds.patients, empty_log(), AS_OF)
    rows = assert_csv_is_inert(sx.panel_csv(table))
    cells = {c for r in rows for c in r}
    assert "'" + FORMULA_ID in cells  # kept, readable, inert
    assert XSS_ID in cells and MD_IMAGE_ID in cells  # a CSV is not HTML: shown as written
    texts = assert_xlsx_is_inert(sx.panel_xlsx(table, ds.labs, ds.doses, empty_log()))
    assert "'" + FORMULA_ID in texts and XSS_ID in texts
    assert any(t.startswith("'=cmd|") for t in texts)  # the diagnosis carried a DDE payload


@pytest.mark.parametrize("pid", PATIENT_IDS)
def test_patient_exports_neutralise_hostile_ids(ds, pid):
    rows = assert_csv_is_inert(sx.patient_csv(ds.labs, pid))
    assert len(rows) >= 2  # header and the patient's results: nothing dropped
    texts = assert_xlsx_is_inert(sx.patient_xlsx(ds.labs, ds.doses, empty_log(), pid))
    assert texts  # the sheets hold the patient's results and doses


def test_flagged_results_exports_neutralise_hostile_ids(ds):
    flags = flags_for_review(ds.labs, ds.doses, ds.patients, ds.baselines, empty_log(), AS_OF)
    assert set(PATIENT_IDS) <= set(flags["patient_id"])  # each has a WBC of 2.1: flagged
    assert_csv_is_inert(sx.flagged_csv(flags))
    assert_xlsx_is_inert(sx.flagged_xlsx(flags))


@pytest.mark.parametrize("pid", [XSS_ID, FORMULA_ID])
def test_patient_summary_pdf_prints_hostile_text_as_text(ds, pid):
    summary = sx.patient_summary(ds.labs, ds.doses, ds.patients, ds.baselines, empty_log(), pid, AS_OF, "hostile")
    data = sx.patient_summary_pdf(summary)
    for action in (b"/JavaScript", b"/JS ", b"/Launch", b"/URI", b"/AA ", b"/EmbeddedFile", b"/SubmitForm"):
        assert action not in data
    reader = PdfReader(io.BytesIO(data))
    opening = reader.trailer["/Root"].get("/OpenAction")
    assert opening is None or isinstance(opening.get_object(), list)  # a page to show, never an action
    assert all("/Annots" not in page for page in reader.pages)  # no links at all
    text = "".join(page.extract_text() for page in reader.pages)
    flat = " ".join(text.split())
    assert pid in flat or pid.replace(" ", "") in flat.replace(" ", "")


def test_rejected_rows_download_is_neutralised():
    bad = b'patient_id,collected_at,test,value,unit\nP1,2024-03-05,WBC,"=1+2",10^9/L\nP1,2024-03-05,WBC,"@SUM(A1)",10^9/L\n'
    result = import_sources([Source("bad.csv", bad)], ImportOptions(today=TODAY))
    [f] = result.report.files
    assert f.rows_rejected == 2
    rows = assert_csv_is_inert(to_csv_bytes(problems_frame(f)))
    assert any("'=1+2" in c for r in rows for c in r)


def test_download_file_names_carry_no_markup_or_path():
    for pid in [*PATIENT_IDS, "../../etc/passwd", "", "a/b\\c"]:
        name = safe_file_name(pid)
        assert name and all(ch.isalnum() or ch in "._-" for ch in name), name
        assert not name.startswith(".")


def test_workspace_cli_exports_are_neutralised(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("DASHBOARD_WORKSPACE", str(tmp_path / "ws"))
    for name, data in (("labs.csv", labs_csv()), ("patients.csv", patients_csv()), ("doses.csv", doses_csv())):
        (tmp_path / name).write_bytes(data)
    assert (
        main(
            [
                "workspace",
                "import",
                str(tmp_path / "labs.csv"),
                str(tmp_path / "patients.csv"),
                str(tmp_path / "doses.csv"),
            ]
        )
        == 0
    )
    assert main(["workspace", "export", "--format", "csv", "--out", str(tmp_path / "panel.csv")]) == 0
    assert main(["workspace", "export", "--format", "xlsx", "--out", str(tmp_path / "panel.xlsx")]) == 0
    assert (
        main(["workspace", "export", "--format", "xlsx", "--patient", FORMULA_ID, "--out", str(tmp_path / "p.xlsx")])
        == 0
    )
    assert main(["workspace", "export", "--format", "pdf", "--patient", XSS_ID, "--out", str(tmp_path / "p.pdf")]) == 0
    rows = assert_csv_is_inert((tmp_path / "panel.csv").read_bytes())
    assert "'" + FORMULA_ID in {c for r in rows for c in r}
    assert_xlsx_is_inert((tmp_path / "panel.xlsx").read_bytes())
    assert_xlsx_is_inert((tmp_path / "p.xlsx").read_bytes())
    assert b"/JavaScript" not in (tmp_path / "p.pdf").read_bytes()
    assert "Traceback" not in capsys.readouterr().err


# --------------------------------------------------------------------------- control characters (issue 16)

ESC_ID = "RA\x1b001"
ESC_DIAGNOSIS = "RA\x1b[31m red\x07 \x00"


@pytest.fixture(scope="module")
def controls() -> Dataset:
    """A panel whose id and diagnosis hold control characters.  Imports reject such ids
    now (H21); a workspace saved before, or a typed diagnosis, can still hold them."""
    labs = b"patient_id,collected_at,test,value,unit\nP9,2024-03-05 08:30,WBC,2.1,10^9/L\n"
    patients = f"patient_id,sex,dob,diagnosis\nP9,F,1980-02-03,{ESC_DIAGNOSIS.replace(chr(0), '')}\n".encode()
    result = import_sources([Source("labs.csv", labs), Source("patients.csv", patients)], ImportOptions(today=TODAY))
    ds = Dataset.from_import(result, "controls")
    for frame in (ds.labs, ds.patients, ds.doses):
        frame["patient_id"] = frame["patient_id"].replace("P9", ESC_ID)
    ds.patients["diagnosis"] = ESC_DIAGNOSIS
    return ds


def _no_controls(texts) -> None:
    for t in texts:
        assert not any(ord(ch) < 32 and ch not in "\t\n\r" for ch in t), repr(t)


def test_exports_never_fail_on_control_characters_and_never_carry_them(controls):
    ds = controls
    table = sx.panel_frame(ds.labs, ds.doses, ds.patients, empty_log(), AS_OF)
    rows = assert_csv_is_inert(sx.panel_csv(table))
    _no_controls(c for r in rows for c in r)
    assert "RA\u241b001" in {c for r in rows for c in r}  # the ESC shown as its picture, the id kept
    texts = assert_xlsx_is_inert(sx.panel_xlsx(table, ds.labs, ds.doses, empty_log()))  # raised before
    _no_controls(texts)
    assert any("\u241b[31m red\u2407" in t for t in texts)
    _no_controls(assert_xlsx_is_inert(sx.patient_xlsx(ds.labs, ds.doses, empty_log(), ESC_ID)))
    _no_controls(c for r in assert_csv_is_inert(sx.patient_csv(ds.labs, ESC_ID)) for c in r)
    flags = flags_for_review(ds.labs, ds.doses, ds.patients, ds.baselines, empty_log(), AS_OF)
    _no_controls(assert_xlsx_is_inert(sx.flagged_xlsx(flags)))
    summary = sx.patient_summary(ds.labs, ds.doses, ds.patients, ds.baselines, empty_log(), ESC_ID, AS_OF, "controls")
    data = sx.patient_summary_pdf(summary)
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)
    _no_controls([text])
    assert "RA?001" in text


def test_the_cli_export_of_a_diagnosis_with_control_characters_succeeds(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("DASHBOARD_WORKSPACE", str(tmp_path / "ws"))
    (tmp_path / "labs.csv").write_text("patient_id,collected_at,test,value,unit\nP1,2024-03-05,WBC,2.1,10^9/L\n")
    (tmp_path / "patients.csv").write_bytes(b"patient_id,sex,dob,diagnosis\nP1,F,1980-02-03,RA\x1b[31m red\x07\n")
    assert main(["workspace", "import", str(tmp_path / "labs.csv"), str(tmp_path / "patients.csv")]) == 0
    assert main(["workspace", "export", "--format", "xlsx", "--out", str(tmp_path / "panel.xlsx")]) == 0
    texts = assert_xlsx_is_inert((tmp_path / "panel.xlsx").read_bytes())
    _no_controls(texts)
    err = capsys.readouterr().err
    assert "Traceback" not in err and "IllegalCharacter" not in err


def test_an_unexpected_cli_failure_prints_no_exception_text(monkeypatch, capsys):
    from dashboard import cli

    def boom(args):
        raise ValueError("secret patient RA\x1b001 in the message")

    monkeypatch.setitem(cli.COMMANDS, "import", boom)
    assert main(["import", "x.csv"]) == 1
    err = capsys.readouterr().err
    assert "RA" not in err and "ValueError" not in err and "unexpected problem" in err
