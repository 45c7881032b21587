"""Probe 15: Excel workbooks as a clinic exports or hand-edits them (/work/coord/probe15.md).

Each test pinned a finding as a strict xfail: the expectation is derived by hand from the
workbook's own content and the house rules (every row accepted or rejected with a readable
reason; never guess a unit, date, dose or id; the raw value never hidden).  All 11 are
fixed (H310-H319 in docs/hazards.md); the tests now pass as written.  The workbooks are built
in the tests with openpyxl (or, for the parts openpyxl does not write, from their XML).
"""

from __future__ import annotations

import datetime as dt
import io
import json
import re
import struct
import subprocess
import sys
import zipfile

import openpyxl
from openpyxl.comments import Comment
from openpyxl.styles import Border, Side

from tests.support import ROOT, assert_balanced, import_bytes

HEAD = ["MRN", "Collection Date", "Test", "Result", "Units"]
DRAW = dt.date(2026, 3, 2)


def _book(rows, head=HEAD, title="Labs"):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = title
    ws.append(head)
    for r in rows:
        ws.append(r)
    return wb, ws


def _bytes(wb) -> bytes:
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _labs(result, analyte):
    df = result.labs_df()
    return df[df["analyte"] == analyte]


def _texts(result) -> list[str]:
    return [p.message for f in result.report.files for p in [*f.problems, *f.warnings]]


def _row_problems(result, row):
    return [p.message for f in result.report.files for p in f.problems if p.row == row]


# --------------------------------------------------------------------------- F1 (high)


def _percent_workbook() -> bytes:
    """WBC 6.0 and a neutrophil differential typed "55%" in Excel: the cell stores 0.55
    with the number format 0%, and Excel shows 55%."""
    wb, ws = _book(
        [
            ["12001", DRAW, "WBC", 6.0, "10^9/L"],
            ["12001", DRAW, "Neutrophils", 0.55, "%"],
        ]
    )
    ws["D3"].number_format = "0%"
    return _bytes(wb)


def test_a_percent_formatted_differential_is_read_as_excel_shows_it():
    # Hand-derived: the workbook shows 55 %; 55 % of a WBC of 6.0 ×10⁹/L is 3.3 ×10⁹/L,
    # a normal count.  Read as 0.55 % it becomes 0.033 ×10⁹/L: CTCAE grade 4 (< 0.5).
    # Either 3.3, or the row rejected with the reason: never 0.033.
    result = import_bytes(_percent_workbook(), "labs.xlsx")
    assert_balanced(result)
    values = [round(v, 3) for v in _labs(result, "neutrophils")["value"]]
    assert values in ([3.3], []), values
    if not values:
        assert any("%" in m for m in _row_problems(result, 3))


def test_a_percent_formatted_column_of_a_wide_sheet_is_read_as_excel_shows_it():
    # Neutrophils 55 % and lymphocytes 30 % of WBC 6.0: 3.3 and 1.8 ×10⁹/L (both normal).
    wb, ws = _book(
        [["12001", DRAW, 6.0, 0.55, 0.30]], head=["MRN", "Date", "WBC (10^9/L)", "Neutrophils (%)", "Lymphocytes (%)"]
    )
    ws["D2"].number_format = "0.0%"
    ws["E2"].number_format = "0.0%"
    result = import_bytes(_bytes(wb), "wide.xlsx")
    assert_balanced(result)
    assert [round(v, 3) for v in _labs(result, "neutrophils")["value"]] in ([3.3], [])
    assert [round(v, 3) for v in _labs(result, "lymphocytes")["value"]] in ([1.8], [])


def test_the_cli_review_raises_no_grade_4_neutropenia_for_a_percent_formatted_55(tmp_path):
    path = tmp_path / "labs.xlsx"
    path.write_bytes(_percent_workbook())
    proc = subprocess.run(
        [sys.executable, "-m", "dashboard", "review", str(path), "--as-of", "2026-03-10", "--json"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert "Traceback" not in proc.stderr
    out = json.loads(proc.stdout)
    grades = [f["ctcae_grade"] for p in out["patients"] for f in p["flags"] if f["analyte"] == "neutrophils"]
    assert 4 not in grades, grades


# --------------------------------------------------------------------------- F2 (medium)


def _with_far_formatted_cell(data: bytes, ref: str) -> bytes:
    """The workbook with one empty cell that has a border at ``ref`` (Excel's "used range"
    after formatting was dragged down the sheet): a cell with a style and no value."""
    zin = zipfile.ZipFile(io.BytesIO(data))
    sheet = zin.read("xl/worksheets/sheet1.xml").decode()
    style = re.search(r'<c r="A3" s="(\d+)"', sheet)
    assert style is not None
    row = int(ref.lstrip("ABCDEFGHIJKLMNOPQRSTUVWXYZ"))
    sheet = sheet.replace("</sheetData>", f'<row r="{row}"><c r="{ref}" s="{style.group(1)}"/></row></sheetData>')
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for info in zin.infolist():
            z.writestr(info.filename, sheet if info.filename.endswith("sheet1.xml") else zin.read(info.filename))
    return out.getvalue()


def test_an_empty_formatted_cell_far_below_the_data_does_not_refuse_the_sheet():
    # One result, and formatting (a border, no value) reaching row 1,048,576 of column E.
    # The cell holds nothing (calamine itself reads the sheet as 2 rows), so the one
    # result is read: WBC 3.1 of 12001.  Today the whole sheet is refused as
    # "5,242,880 cells ... a stray value far ... below the data": there is no value.
    wb, ws = _book([["12001", DRAW, "WBC", 3.1, "10^9/L"]])
    thin = Side(style="thin")
    ws["A3"].border = Border(left=thin, right=thin, top=thin, bottom=thin)
    result = import_bytes(_with_far_formatted_cell(_bytes(wb), "E1048576"), "labs.xlsx")
    assert_balanced(result)
    assert list(_labs(result, "wbc")["value"]) == [3.1], [f.error for f in result.report.files]


# --------------------------------------------------------------------------- F3 (medium-low)


def test_rows_under_a_merged_mrn_cell_are_not_rejected_as_having_no_patient_id():
    # A hand-made sheet: the MRN and date merged down over the three results of one draw
    # (A2:A4, B2:B4).  Excel shows 12001 beside each of them.  Rows 3 and 4 are either
    # read for 12001 (the merge says so) or rejected naming the merged cell; "no patient
    # id" says the file gives none, which it does.
    wb, ws = _book(
        [
            ["12001", DRAW, "WBC", 3.1, "10^9/L"],
            [None, None, "Neutrophils", 1.2, "10^9/L"],
            [None, None, "Platelets", 90, "10^9/L"],
        ]
    )
    ws.merge_cells("A2:A4")
    ws.merge_cells("B2:B4")
    result = import_bytes(_bytes(wb), "labs.xlsx")
    assert_balanced(result)
    for row, analyte in ((3, "neutrophils"), (4, "platelets")):
        kept = _labs(result, analyte)
        if len(kept):
            assert list(kept["patient_id"]) == ["12001"]
            assert any("merged" in m for m in _texts(result))
        else:
            assert any("merged" in m for m in _row_problems(result, row)), _row_problems(result, row)


# --------------------------------------------------------------------------- F4, F5 (low-medium)


def test_a_comment_on_a_result_cell_is_not_dropped_without_a_word():
    # Platelets 45 (CTCAE grade 3) with the lab's comment on the cell: "Clumped sample -
    # repeat requested".  The comment is part of what the file says about the result.
    wb, ws = _book([["12001", DRAW, "Platelets", 45, "10^9/L"]])
    ws["D2"].comment = Comment("Clumped sample - repeat requested", "lab")
    result = import_bytes(_bytes(wb), "labs.xlsx")
    assert_balanced(result)
    assert any("comment" in m.lower() or "Clumped" in m for m in _texts(result)), _texts(result)


def _with_cached_formula(data: bytes, ref: str, formula: str, cached: str) -> bytes:
    zin = zipfile.ZipFile(io.BytesIO(data))
    sheet = zin.read("xl/worksheets/sheet1.xml").decode()
    sheet, n = re.subn(
        rf'<c r="{ref}"( t="n")?><v>{re.escape(cached)}</v></c>',
        f'<c r="{ref}"><f>{formula}</f><v>{cached}</v></c>',
        sheet,
    )
    assert n == 1
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for info in zin.infolist():
            z.writestr(info.filename, sheet if info.filename.endswith("sheet1.xml") else zin.read(info.filename))
    return out.getvalue()


def test_a_result_that_is_a_computed_formula_is_said():
    # The neutrophil cell is =D2*0.4 with its value 1.24 stored by Excel: a number the
    # spreadsheet computed (40 % of the WBC), not one the lab reported.  It may be read,
    # but not as if typed: the report says the result is a formula.
    wb, _ws = _book([["12001", DRAW, "WBC", 3.1, "10^9/L"], ["12001", DRAW, "Neutrophils", 1.24, "10^9/L"]])
    result = import_bytes(_with_cached_formula(_bytes(wb), "D3", "D2*0.4", "1.24"), "labs.xlsx")
    assert_balanced(result)
    assert any("formula" in m.lower() for m in _texts(result)), _texts(result)


# --------------------------------------------------------------------------- F6, F7 (low)


def _cfb_entry(name: str, kind: int, right: int = 0xFFFFFFFF, child: int = 0xFFFFFFFF, start=0xFFFFFFFE, size=0):
    raw = name.encode("utf-16-le") + b"\x00\x00" if name else b""
    entry = raw.ljust(64, b"\x00") + struct.pack("<HBB", len(raw), kind, 1 if name else 0)
    entry += struct.pack("<III", 0xFFFFFFFF, right, child) + b"\x00" * 36
    return entry + struct.pack("<IQ", start, size)


def encrypted_xlsx() -> bytes:
    """A compound file laid out as Office writes a password-protected .xlsx: a root
    storage holding the streams EncryptionInfo and EncryptedPackage (4,096 bytes each)."""
    free, end = 0xFFFFFFFF, 0xFFFFFFFE
    fat = [0xFFFFFFFD, end, 3, 4, 5, 6, 7, 8, 9, end, 11, 12, 13, 14, 15, 16, 17, end]
    fat += [free] * (128 - len(fat))
    header = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 16 + struct.pack("<HHHHH", 0x3E, 3, 0xFFFE, 9, 6)
    header += b"\x00" * 6 + struct.pack("<IIIIIIIII", 0, 1, 1, 0, 4096, end, 0, end, 0) + struct.pack("<I", 0)
    header += struct.pack("<108I", *([free] * 108))
    directory = (
        _cfb_entry("Root Entry", 5, child=1)
        + _cfb_entry("EncryptionInfo", 2, right=2, start=2, size=4096)
        + _cfb_entry("EncryptedPackage", 2, start=10, size=4096)
        + _cfb_entry("", 0)
    )
    info = struct.pack("<HHI", 4, 4, 0x40).ljust(4096, b"\x00")
    package = struct.pack("<Q", 9000) + bytes(range(256)) * 15
    return header + struct.pack("<128I", *fat) + directory + info + package.ljust(4096, b"\x00")


def test_a_password_protected_xlsx_is_not_called_an_old_xls():
    # Excel saves a workbook with a password as an encrypted package inside a compound
    # file, the container old .xls files use.  "save it as .xlsx" is what the user did:
    # the reason should say the workbook is password-protected (encrypted).
    data = encrypted_xlsx()
    assert len(data) == 512 * 19
    result = import_bytes(data, "clinic.xlsx")
    assert_balanced(result)
    (f,) = result.report.files
    assert f.error
    assert "password" in f.error.lower() or "encrypt" in f.error.lower(), f.error
    assert ".xls files" not in f.error


def _ods(rows) -> bytes:
    cells = "".join(
        "<table:table-row>"
        + "".join(f'<table:table-cell office:value-type="string"><text:p>{c}</text:p></table:table-cell>' for c in row)
        + "</table:table-row>"
        for row in rows
    )
    ns = (
        'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
        'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
        'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"'
    )
    content = (
        f'<?xml version="1.0" encoding="UTF-8"?><office:document-content {ns} office:version="1.2"><office:body>'
        f'<office:spreadsheet><table:table table:name="Labs">{cells}</table:table></office:spreadsheet>'
        "</office:body></office:document-content>"
    )
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr(zipfile.ZipInfo("mimetype"), "application/vnd.oasis.opendocument.spreadsheet")
        z.writestr("content.xml", content, compress_type=zipfile.ZIP_DEFLATED)
    return out.getvalue()


def test_an_opendocument_spreadsheet_is_read_or_named_not_called_a_zip_to_extract():
    # A LibreOffice .ods is a zip whose first part is "mimetype" =
    # application/vnd.oasis.opendocument.spreadsheet.  Extracting it gives content.xml, not
    # a table: the reason should name the format (save as .xlsx or CSV), or the file is read.
    data = _ods([HEAD, ["12001", "2026-03-02", "WBC", "3.1", "10^9/L"]])
    result = import_bytes(data, "labs.ods")
    assert_balanced(result)
    if list(_labs(result, "wbc")["value"]) == [3.1]:
        return
    (f,) = result.report.files
    assert "opendocument" in f.error.lower() or ".ods" in f.error.lower(), f.error
    assert "extract" not in f.error


# --------------------------------------------------------------------------- F8-F11 (low)


def test_a_date_cell_in_the_result_column_is_rejected_as_a_date():
    # "3.1" typed in a German Excel becomes the date 3 January: the cell is a date.  The
    # reason today is "unexpected text after the number: '-01-03'"; it should say the cell
    # is a date, not a result.
    wb, _ws = _book([["12001", DRAW, "WBC", dt.date(2026, 1, 3), "10^9/L"]])
    result = import_bytes(_bytes(wb), "labs.xlsx")
    assert_balanced(result)
    assert _labs(result, "wbc").empty
    (why,) = _row_problems(result, 2)
    assert "date" in why.lower(), why


def test_a_dose_of_2_5_mg_x_6_is_not_said_to_name_amounts_that_disagree():
    # "2.5mg x 6" names one amount (2.5 mg) and a multiplier: six tablets (15 mg) or six
    # times a day?  Rejecting it is right (a dose is a number stated once); the reason
    # "amounts that do not agree" is not what the cell says.
    wb, _ws = _book(
        [["12001", "Methotrexate", "2.5mg x 6", dt.date(2026, 1, 5)]],
        head=["MRN", "Drug", "Dose", "Start date"],
        title="Doses",
    )
    result = import_bytes(_bytes(wb), "doses.xlsx")
    assert_balanced(result)
    assert result.doses_df().empty
    (why,) = _row_problems(result, 2)
    assert "do not agree" not in why, why


def test_a_boolean_cell_is_not_a_patient_id():
    # TRUE in the MRN column is a spreadsheet boolean, not an identifier (the import
    # already refuses an id that is a spreadsheet error such as #REF!).
    wb, _ws = _book([[True, DRAW, "WBC", 3.1, "10^9/L"]])
    result = import_bytes(_bytes(wb), "labs.xlsx")
    assert_balanced(result)
    assert "TRUE" not in set(result.labs_df()["patient_id"])


def test_the_reason_for_a_32000_character_result_cell_is_not_32000_characters_long():
    # Other reasons cut what they quote (a 32,000-character test name is quoted to about
    # 120 characters, the row's value to 220): this one quotes the whole cell.
    wb, _ws = _book([["12001", DRAW, "WBC", "3.1 " + "x" * 32000, "10^9/L"]])
    result = import_bytes(_bytes(wb), "labs.xlsx")
    assert_balanced(result)
    (why,) = _row_problems(result, 2)
    assert len(why) < 1000, len(why)
