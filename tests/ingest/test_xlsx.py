"""Excel through python-calamine (issue 19 item 7, issue 16 item 3).

1. Parity: every workbook of the bad-input corpus that the old openpyxl reader could
   read (and the sample workbook, and one with every kind of cell) gives exactly the same
   tables through calamine: headers, cell texts, row numbers, rejections and notes.
2. Bounded work: a sheet's extent is measured from its cells before any parser runs,
   whatever the sheet declares and however the cells are written; sizes are verified
   while decompressing.
"""

from __future__ import annotations

import datetime as dt
import io
import struct
import zipfile
from pathlib import Path

import openpyxl
import pytest
from openpyxl.comments import Comment

from dashboard.ingest import tabular
from dashboard.ingest.tabular import UnreadableFile, is_blank, table_from_records
from dashboard.ingest.xlsx import MAX_XLSX_CELLS, cell_text, check_workbook, read_excel
from tests.support import ROOT, TODAY, assert_balanced, import_bytes

CORPUS = ROOT / "tests" / "bad_inputs" / "files"


# --------------------------------------------------------------------------- the old reader


def openpyxl_reference(name: str, data: bytes) -> list[tabular.RawTable]:
    """The reader this project used before calamine (openpyxl, read-only), kept here as
    the reference the new reader must match."""
    wb = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    tables = []
    try:
        for ws in wb.worksheets:
            records = [[_openpyxl_text(v) for v in row] for row in ws.iter_rows(values_only=True)]
            while records and is_blank(records[-1]):
                records.pop()
            if not records or all(is_blank(r) for r in records):
                continue
            tables.append(table_from_records(name, records, sheet=ws.title))
    finally:
        wb.close()
    return tables


def _openpyxl_text(v: object) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "TRUE" if v else "FALSE"
    if isinstance(v, dt.datetime):
        return v.strftime("%Y-%m-%d %H:%M:%S") if (v.hour or v.minute or v.second) else v.strftime("%Y-%m-%d")
    if isinstance(v, dt.date):
        return v.strftime("%Y-%m-%d")
    if isinstance(v, dt.time):
        return v.strftime("%H:%M:%S")
    if isinstance(v, float):
        if v.is_integer() and abs(v) < 1e15:
            return str(int(v))
        return repr(v)
    return str(v).strip()


def _snapshot(t: tabular.RawTable) -> dict:
    return {
        "sheet": t.sheet,
        "header": t.header,
        "columns": {h: t.columns[h].to_pylist() for h in t.header},
        "rows": t.row_numbers.to_pylist(),
        "rejected": [(p.row, p.message, p.value) for p in t.rejected],
        "warnings": [(p.row, p.message, p.value) for p in t.warnings],
        "preamble": t.preamble,
    }


def _every_kind_of_cell() -> bytes:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Labs"
    ws.append(["Laboratory export", None, None])  # a preamble line
    ws.append([])
    ws.append(["MRN", "Collected", "Test", "Result", "Units", "Flag", "Checked"])
    ws.append([None, None, None, None, "10^9/L", None, None])  # not a units row (one unit)
    rows = [
        ["00123", dt.datetime(2024, 3, 5, 8, 30), "WBC", 4.5, "10^9/L", "", True],
        [123, dt.datetime(2024, 3, 5), "Hb", 131, "g/L", None, False],
        ["RA-7", dt.date(2024, 3, 6), "Platelets", 1.5e2, "10^9/L", "L", None],
        ["RA-7", "2024-03-07 08:00", "ALT", "<5", "U/L", None, None],
        ["RA-7", dt.datetime(2024, 3, 8, 23, 59, 59), "Neutrophils", 0.1 + 0.2, "10^9/L", None, None],
        [None, None, None, None, None, None, None],  # a blank row inside the data
        ["RA-8", 45356, "WBC", 1e-7, "10^9/L", "  H  ", None],
        ["RA-8", dt.time(8, 30), "WBC", 123456789012345.0, "10^9/L", None, None],
        ["RA-9", "2024-03-09", "WBC", 4.4, "10^9/L", None, None, "stray"],  # beyond the last column
        ["Ünïcödé ✓", "2024-03-10", "Hb", 12.5, "g/dL", None, None],
    ]
    for r in rows:
        ws.append(r)
    ws["H20"] = None
    two = wb.create_sheet("Doses")
    two["C4"] = "patient"  # data starting away from A1
    two["D4"] = "drug"
    two["E4"] = "dose"
    two["F4"] = "start"
    two["C5"] = "P1"
    two["D5"] = "Azathioprine"
    two["E5"] = 100
    two["F5"] = dt.date(2024, 1, 1)
    wb.create_sheet("Empty")
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


PARITY = [
    "workbook_labs_and_doses_sheets.xlsx",
    "excel_error_cells.xlsx",
    "csv_that_is_an_xlsx.csv",
    "xlsx_shortcodes_in_sheet_name.xlsx",
]


@pytest.mark.parametrize("name", [*PARITY, "sample_data/clinic_workbook.xlsx", "every kind of cell"])
def test_calamine_reads_what_openpyxl_read(name):
    if name == "every kind of cell":
        data = _every_kind_of_cell()
    elif "/" in name:
        data = (ROOT / name).read_bytes()
    else:
        data = (CORPUS / name).read_bytes()
    old = [_snapshot(t) for t in openpyxl_reference(name, data)]
    new = [_snapshot(t) for t in read_excel(name, data)]
    assert new == old


def test_the_corpus_workbooks_are_all_in_the_parity_test_or_refused_as_bombs():
    """Every committed workbook of the corpus is either compared with openpyxl above or
    is one openpyxl could not read sanely (a bomb or a damaged file)."""
    bombs = {
        "zip_bomb.xlsx",
        "corrupt_truncated.xlsx",
        "xlsx_dimension_bomb.xlsx",  # openpyxl pads every row to 16,384 columns
        "xlsx_far_corner_cell.xlsx",
        "xlsx_rows_and_cells_without_positions.xlsx",
    }
    workbooks = {p.name for p in CORPUS.iterdir() if p.read_bytes()[:4] == b"PK\x03\x04" and p.suffix != ".zip"}
    assert workbooks == set(PARITY) | bombs


def test_cell_text_rules():
    assert [cell_text(v) for v in (None, True, 4.0, 4.5, " x ", dt.datetime(2024, 3, 5), dt.time(8, 30))] == [
        "",
        "TRUE",
        "4",
        "4.5",
        "x",
        "2024-03-05",
        "08:30:00",
    ]
    assert cell_text(dt.datetime(2024, 3, 5, 8, 30, 0, 500)) == "2024-03-05 08:30:00"
    assert cell_text(1e16) == "1e+16" and cell_text(12345.0) == "12345"


# --------------------------------------------------------------------------- extents


def workbook(sheets: dict[str, bytes], extra: dict[str, bytes] | None = None) -> bytes:
    """A minimal workbook whose worksheet XML is given as is (``sheetData`` content)."""
    ns = b'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
    names = list(sheets)
    parts = {
        "[Content_Types].xml": b'<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        b'<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        b'<Default Extension="xml" ContentType="application/xml"/>'
        b'<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
        + b"".join(
            f'<Override PartName="/xl/worksheets/sheet{i}.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'.encode()
            for i in range(1, len(names) + 1)
        )
        + b"</Types>",
        "_rels/.rels": b'<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        b'<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>',
        "xl/workbook.xml": b'<?xml version="1.0"?><workbook '
        + ns
        + b' xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets>'
        + b"".join(f'<sheet name="{n}" sheetId="{i}" r:id="rId{i}"/>'.encode() for i, n in enumerate(names, 1))
        + b"</sheets></workbook>",
        "xl/_rels/workbook.xml.rels": b'<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        + b"".join(
            f'<Relationship Id="rId{i}" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet{i}.xml"/>'.encode()
            for i in range(1, len(names) + 1)
        )
        + b"</Relationships>",
    }
    for i, n in enumerate(names, 1):
        body = sheets[n]
        parts[f"xl/worksheets/sheet{i}.xml"] = (
            body
            if body.lstrip().startswith(b"<?xml")
            else b"<worksheet " + ns + b"><sheetData>" + body + b"</sheetData></worksheet>"
        )
    parts.update(extra or {})
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for name, body in parts.items():
            z.writestr(name, body)
    return out.getvalue()


def extent(body: bytes) -> tuple[int, int, int, int]:
    (scan,) = check_workbook(workbook({"S": body})).sheets.values()
    return scan.min_row, scan.max_row, scan.min_col, scan.max_col


LABS = b'<row r="1"><c r="A1" t="inlineStr"><is><t>patient_id</t></is></c><c r="B1" t="inlineStr"><is><t>x</t></is></c></row>'


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        # (min row, max row, min column, max column), 1-based, derived by hand
        (LABS, (1, 1, 1, 2)),
        (b'<row r="3"><c r="C3"><v>1</v></c></row><row r="7"><c r="E7"><v>1</v></c></row>', (3, 7, 3, 5)),
        (LABS + b'<row r="1048576"><c r="XFD1048576"><v>1</v></c></row>', (1, 1048576, 1, 16384)),
        # rows and cells without a position follow the one before
        (b"<row><c><v>1</v></c><c><v>1</v></c></row><row/><row><c><v>1</v></c></row>", (1, 3, 1, 2)),
        (b'<row r="5"><c r="B5"><v>1</v></c><c><v>1</v></c></row><row><c><v>1</v></c></row>', (5, 6, 1, 3)),
        # r not the first attribute; ">" inside another attribute's value; single quotes
        (LABS + b'<row r="2"><c s="1" r="ZZ2"><v>1</v></c></row>', (1, 2, 1, 702)),
        (LABS + b'<row r="2"><c s=">" r="XFD9"><v>1</v></c></row>', (1, 9, 1, 16384)),
        (LABS + b"<row r='2'><c r='AB12'><v>1</v></c></row>", (1, 12, 1, 28)),
        # a reference written with an entity, or after a line break
        (LABS + b'<row r="2"><c r="&#88;FD4"><v>1</v></c></row>', (1, 4, 1, 16384)),
        (LABS + b'<row r="2"><c\n r="XFD3"><v>1</v></c></row>', (1, 3, 1, 16384)),
        # text that looks like a reference is not one
        (LABS + b'<row r="2"><c r="A2" t="inlineStr"><is><t> r="XFD1048576"</t></is></c></row>', (1, 2, 1, 2)),
        # probe 15 F2: a cell holding nothing (formatting alone, written by Excel when a
        # border is dragged down the sheet) is not counted, in either reading ...
        (LABS + b'<row r="1048576"><c r="E1048576" s="1"/></row>', (1, 1, 1, 2)),
        (LABS + b'<row r="9"><c r="XFD9" s="1"></c></row>', (1, 1, 1, 2)),
        (LABS + b"<row r='9'><c r='XFD9' s='1'/></row>", (1, 1, 1, 2)),
        (LABS + b'<row r="3"><c r="B3" s="1"/><c><v>1</v></c><c s="1"/></row>', (1, 3, 1, 3)),
        # ... but a cell with a value, a formula or an odd tag still counts
        (LABS + b'<row r="9"><c r="XFD9" s="/>"><v>1</v></c></row>', (1, 9, 1, 16384)),
        (LABS + b'<row r="9"><c r="XFD9" s="1"><f>A1</f></c></row>', (1, 9, 1, 16384)),
        (LABS + b"<row r='9'><c r='XFD9' s='/>'><v>1</v></c></row>", (1, 9, 1, 16384)),
    ],
)
def test_a_sheets_extent_is_measured_from_its_cells(body, expected):
    assert extent(body) == expected


def test_a_namespace_prefix_is_followed():
    xml = (
        b'<?xml version="1.0"?><x:worksheet xmlns:x="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        b'<x:sheetData><x:row r="1"><x:c r="A1"><x:v>1</x:v></x:c></x:row>'
        b'<x:row r="2"><x:c r="XFD2"><x:v>1</x:v></x:c></x:row></x:sheetData></x:worksheet>'
    )
    assert extent(xml) == (1, 2, 1, 16384)


def test_the_declared_dimension_is_never_trusted():
    xml = (
        b'<?xml version="1.0"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        b'<dimension ref="A1:XFD1048576"/><sheetData>' + LABS + b"</sheetData></worksheet>"
    )
    (scan,) = check_workbook(workbook({"S": xml})).sheets.values()
    assert (scan.rows, scan.columns, scan.declared) == (1, 2, "A1:XFD1048576")


def test_a_sheet_too_large_is_refused_and_the_others_are_read():
    good = (
        b'<row r="1"><c r="A1" t="inlineStr"><is><t>patient_id</t></is></c><c r="B1" t="inlineStr"><is><t>collected_at</t></is></c>'
        b'<c r="C1" t="inlineStr"><is><t>test</t></is></c><c r="D1" t="inlineStr"><is><t>value</t></is></c><c r="E1" t="inlineStr"><is><t>unit</t></is></c></row>'
        b'<row r="2"><c r="A2" t="inlineStr"><is><t>P1</t></is></c><c r="B2" t="inlineStr"><is><t>2024-03-05</t></is></c>'
        b'<c r="C2" t="inlineStr"><is><t>WBC</t></is></c><c r="D2"><v>4.5</v></c><c r="E2" t="inlineStr"><is><t>10^9/L</t></is></c></row>'
    )
    far = LABS + b'<row r="1048576"><c r="XFD1048576"><v>1</v></c></row>'
    result = import_bytes(workbook({"Labs": good, "Stray": far}), "book.xlsx", today=TODAY)
    assert_balanced(result)
    files = {f.sheet: f for f in result.report.files}
    assert files["Labs"].rows_accepted == 1
    assert "16,384 columns" in files["Stray"].error and "Stray" in files["Stray"].error
    assert result.labs.num_rows == 1


def test_the_cells_of_all_sheets_together_are_limited():
    rows = 1 + MAX_XLSX_CELLS // 2 // 100
    body = b'<row r="1"><c r="A1"><v>1</v></c></row><row r="%d"><c r="CV%d"><v>1</v></c></row>' % (rows, rows)
    with pytest.raises(UnreadableFile, match="cells in all"):
        read_excel("book.xlsx", workbook({"A": body, "B": body, "C": body}))


def test_error_cells_keep_their_text():
    body = LABS + b'<row r="2"><c r="A2" t="e"><f>1/0</f><v>#DIV/0!</v></c><c r="B2" t="e"><v>#N/A</v></c></row>'
    (table,) = read_excel("e.xlsx", workbook({"S": body}))
    assert table.columns["patient_id"].to_pylist() == ["#DIV/0!"]
    assert table.columns["x"].to_pylist() == ["#N/A"]


# --------------------------------------------------------------------------- the zip guard


def test_a_zip_of_thousands_of_parts_is_refused_before_its_directory_is_read():
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr("xl/workbook.xml", b"<workbook/>")
    data = bytearray(out.getvalue())
    end = data.rfind(b"PK\x05\x06")
    struct.pack_into("<HH", data, end + 8, 60000, 60000)  # the end record claims 60,000 parts
    result = import_bytes(bytes(data), "many.xlsx", today=TODAY)
    assert "zip bomb" in result.report.files[0].error


def test_a_part_larger_than_its_archive_says_is_damaged():
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr(
            "xl/worksheets/sheet1.xml",
            b"<worksheet><sheetData>" + b"<row><c><v>0</v></c></row>" * 200_000 + b"</sheetData></worksheet>",
        )
        z.writestr("xl/workbook.xml", b"<workbook/>")
    data = bytearray(out.getvalue())
    cd = data.find(b"PK\x01\x02")
    struct.pack_into("<I", data, cd + 24, 100)  # directory: 100 bytes uncompressed
    struct.pack_into("<I", data, 22, 100)  # local header likewise
    with pytest.raises(UnreadableFile, match="damaged"):
        check_workbook(bytes(data))


def test_a_workbook_that_expands_a_thousand_fold_is_refused():
    zeros = b"<row>" + b"<c><v>0</v></c>" * 20 + b"</row>"
    data = workbook({f"S{i}": zeros * (9_900_000 // len(zeros)) for i in range(6)})
    with pytest.raises(UnreadableFile, match="zip bomb"):
        check_workbook(data)


def test_old_entry_points_are_gone_from_tabular():
    """One home for the Excel reader (dashboard/ingest/xlsx.py)."""
    assert not hasattr(tabular, "read_excel") and not hasattr(tabular, "check_zip")
    assert "openpyxl" not in Path(tabular.__file__).read_text()


def test_a_sheet_written_in_utf16_is_refused_not_read_unchecked():
    xml = (
        '<?xml version="1.0" encoding="UTF-16"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        '<sheetData><row r="1"><c r="A1"><v>1</v></c></row><row r="1048576"><c r="XFD1048576"><v>1</v></c></row>'
        "</sheetData></worksheet>"
    ).encode("utf-16")
    with pytest.raises(UnreadableFile, match="UTF-16"):
        read_excel("wide.xlsx", workbook({"S": LABS}, extra={"xl/worksheets/sheet1.xml": xml}))


def test_an_xlsb_is_refused_and_printer_settings_are_not_an_xlsb():
    with pytest.raises(UnreadableFile, match="xlsb"):
        read_excel("b.xlsx", workbook({"S": LABS}, extra={"xl/workbook.bin": b"\x00\x01"}))
    tables = read_excel(
        "p.xlsx", workbook({"S": LABS}, extra={"xl/printerSettings/printerSettings1.bin": b"\x00" * 64})
    )
    assert tables and tables[0].header == ["patient_id", "x"]


def test_a_hidden_sheet_is_read_and_said_to_be_hidden():
    # a hidden sheet's rows are imported like the others, but the report says the sheet
    # was hidden: the user may never have seen them in Excel
    wb = openpyxl.Workbook()
    shown = wb.active
    shown.title = "Results"
    shown.append(["patient_id", "collected_at", "analyte", "value", "unit"])
    shown.append(["P1", "2024-01-05", "WBC", "4.5", "10^9/L"])
    old = wb.create_sheet("Old results")
    old.append(["patient_id", "collected_at", "analyte", "value", "unit"])
    old.append(["P1", "2023-01-05", "WBC", "5.5", "10^9/L"])
    old.sheet_state = "hidden"
    buf = io.BytesIO()
    wb.save(buf)
    tables = read_excel("book.xlsx", buf.getvalue())
    by_sheet = {t.sheet: t for t in tables}
    assert set(by_sheet) == {"Results", "Old results"}
    assert not any("hidden" in w.message for w in by_sheet["Results"].warnings)
    assert any("sheet 'Old results' is hidden" in w.message for w in by_sheet["Old results"].warnings)


def _workbook_1904(serial_cell: object) -> bytes:
    wb = openpyxl.Workbook()
    wb.epoch = openpyxl.utils.datetime.CALENDAR_MAC_1904
    ws = wb.active
    ws.append(["MRN", "Collection Date", "Component", "Result", "Units"])
    ws.append(["10001", serial_cell, "WBC", 4.1, "10^9/L"])  # a plain number, no date format
    ws.append(["10001", dt.datetime(2026, 10, 15), "WBC", 2.1, "10^9/L"])  # a date cell
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def test_a_day_number_in_a_1904_workbook_counts_from_1904():
    # Excel's 1904 date system (old Mac workbooks) counts days from 1 January 1904:
    # 1904-01-01 .. 2026-01-01 is 122 years with 31 leap days (1904 .. 2024) = 44,561
    # days, and 2026-01-01 .. 2026-10-01 is 273 days: 44,834 is 1 October 2026 (in the
    # 1900 system the same number is 30 September 2022, 1,462 days earlier)
    result = import_bytes(_workbook_1904(44834), "labs.xlsx")
    assert_balanced(result)
    dates = sorted(str(d)[:10] for d in result.labs_df()["collected_at"])
    assert dates == ["2026-10-01", "2026-10-15"]
    notes = " ".join(w.message for w in result.report.files[0].warnings)
    assert "1904" in notes


def test_a_day_number_in_a_1900_workbook_is_unchanged():
    wb = openpyxl.load_workbook(io.BytesIO(_workbook_1904(44834)))
    wb.epoch = openpyxl.utils.datetime.CALENDAR_WINDOWS_1900
    buf = io.BytesIO()
    wb.save(buf)
    result = import_bytes(buf.getvalue(), "labs.xlsx")
    assert sorted(str(d)[:10] for d in result.labs_df()["collected_at"]) == ["2022-09-30", "2026-10-15"]


def _workbook(rows: list[list[object]]) -> bytes:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["MRN", "Collection Date", "Component", "Result", "Units"])
    for r in rows:
        ws.append(r)
    buf = io.BytesIO()
    wb.save(buf)  # openpyxl stores formulas without their value, as a workbook never opened in Excel
    return buf.getvalue()


def test_a_row_of_formulas_never_computed_is_rejected_not_dropped_as_blank():
    data = _workbook([["=A3", "=B3", "=C3", "=D3", "=E3"], ["10001", "2026-10-01", "WBC", 3.1, "10^9/L"]])
    result = import_bytes(data, "labs.xlsx")
    assert_balanced(result)
    [f] = result.report.files
    assert (f.rows_read, f.rows_accepted, f.rows_rejected) == (2, 1, 1)
    assert any(p.row == 2 and "never computed" in p.message.lower() for p in f.problems)


def test_a_result_that_is_a_formula_never_computed_is_rejected_saying_so():
    data = _workbook([["10001", "2026-10-01", "WBC", "=4100/1000", "10^9/L"]])
    result = import_bytes(data, "labs.xlsx")
    [f] = result.report.files
    assert f.rows_rejected == 1 and result.labs.num_rows == 0
    assert "never computed" in f.problems[0].message.lower() and "4100/1000" in f.problems[0].message


def test_a_row_holding_only_a_formula_never_computed_is_counted():
    data = _workbook([[None, None, None, None, "=1+1"]])
    result = import_bytes(data, "labs.xlsx")
    assert_balanced(result)
    assert result.report.files[0].rows_read == 1


def test_a_patient_id_that_is_a_formula_never_computed_is_rejected():
    data = _workbook([["=VLOOKUP(F2,Sheet2!A:B,2,0)", "2026-10-01", "WBC", 3.1, "10^9/L"]])
    result = import_bytes(data, "labs.xlsx")
    [f] = result.report.files
    assert f.rows_rejected == 1 and result.labs.num_rows == 0
    assert f.problems[0].column == "MRN" and "never computed" in f.problems[0].message.lower()


def test_hidden_rows_and_columns_are_read_and_said():
    # a row hidden in Excel (a result someone hid, or a filter) is imported like the
    # others, but the report says so, as it does for a hidden sheet
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["MRN", "Collection Date", "Component", "Result", "Units", "Old result"])
    ws.append(["10001", "2026-10-01", "WBC", 4.1, "10^9/L", 9])
    ws.append(["10001", "2026-10-02", "WBC", 99.0, "10^9/L", 9])
    ws.row_dimensions[3].hidden = True
    ws.column_dimensions["F"].hidden = True
    buf = io.BytesIO()
    wb.save(buf)
    result = import_bytes(buf.getvalue(), "labs.xlsx")
    [f] = result.report.files
    assert f.rows_accepted == 2
    notes = [w.message for w in f.warnings]
    assert any("hidden" in n and "row 3" in n for n in notes)
    assert any("hidden" in n and "column F" in n for n in notes)


# --------------------------------------------------------------------------- probe 8 F10: merged header cells


def _merged_workbook(header: list, merges: list[str], rows: list[list]) -> bytes:
    wb = openpyxl.Workbook()
    ws = wb.active
    for j, h in enumerate(header, start=1):
        ws.cell(row=1, column=j, value=h)
    for ref in merges:
        ws.merge_cells(ref)
    for r in rows:
        ws.append(r)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _values(result, analyte: str) -> list[float]:
    labs = result.labs_df()
    return sorted(round(v, 3) for v in labs.loc[labs["analyte"] == analyte, "value"])


def test_a_merged_analyte_header_over_percent_and_count_reads_the_labs_own_count():
    """Probe 8 F10: "Neutrophils" merged over D1:E1 with "%" and "x10^9/L" under it.  The
    count column E was unnamed ("column 5") and % x WBC was used instead.  The lab's own
    counts are chosen here to differ from % x WBC (60 % of 4.0 = 2.4, the lab says 2.5;
    55 % of 4.2 = 2.31, the lab says 2.0; 5 % of 4.0 = 0.2, the lab 0.3; 30 % of 4.2 =
    1.26, the lab 1.1): the lab's numbers are the ones read."""
    data = _merged_workbook(
        ["MRN", "Date", "WBC", "Neutrophils", None, "Lymphocytes", None],
        ["D1:E1", "F1:G1"],
        [
            ["", "", "x10^9/L", "%", "x10^9/L", "%", "x10^9/L"],
            ["80008", dt.date(2026, 3, 2), 4.0, 60, 2.5, 5, 0.3],
            ["80008", dt.date(2026, 3, 16), 4.2, 55, 2.0, 30, 1.1],
        ],
    )
    result = import_bytes(data, "fbc.xlsx")
    assert_balanced(result)
    assert _values(result, "neutrophils") == [2.0, 2.5]
    assert _values(result, "lymphocytes") == [0.3, 1.1]
    assert _values(result, "wbc") == [4.0, 4.2]
    f = result.report.files[0]
    assert not f.unmapped_columns
    assert f.mapping["neutrophils"] == "Neutrophils [x10^9/L]"
    assert f.mapping["lymphocytes"] == "Lymphocytes [x10^9/L]"


def test_a_merged_result_header_over_value_and_unit_reads_the_unit_column():
    """Probe 8 F10: "Result" merged over the value and unit columns (D1:E1): every unit was
    out of sight ("unit missing, read from the magnitude") and Hb 9.0 rejected as
    ambiguous.  Read with its units: Hb 9.0 mmol/L is 9.0 x 16.1134 = 145.0 g/L; WBC
    3100 /uL is 3.1 x10^9/L; creatinine 1.4 mg/dL is 1.4 x 88.4 = 123.76 umol/L; albumin
    3.2 g/dL is 32 g/L; platelets 45 x10^9/L."""
    data = _merged_workbook(
        ["MRN", "Collected", "Test", "Result", None, "Reference range"],
        ["D1:E1"],
        [
            ["90009", dt.date(2026, 3, 2), "Haemoglobin", 9.0, "mmol/L", "7.5-10.0"],
            ["90009", dt.date(2026, 3, 2), "WBC", 3100, "/uL", "3500-11000"],
            ["90009", dt.date(2026, 3, 2), "Platelets", 45, "x10^9/L", "150-400"],
            ["90009", dt.date(2026, 3, 2), "Creatinine", 1.4, "mg/dL", "0.5-1.1"],
            ["90009", dt.date(2026, 3, 2), "Albumin", 3.2, "g/dL", "3.5-5.0"],
        ],
    )
    result = import_bytes(data, "results.xlsx")
    assert_balanced(result)
    f = result.report.files[0]
    assert f.rows_rejected == 0
    assert _values(result, "hemoglobin") == [round(9.0 * 16.1134, 3)]
    assert _values(result, "wbc") == [3.1]
    assert _values(result, "creatinine") == [123.76]
    assert _values(result, "albumin") == [32.0]
    assert _values(result, "platelets") == [45.0]
    notes = " ".join(w.message for w in f.warnings)
    assert "unit missing" not in notes


def test_a_merged_header_over_a_column_that_is_not_units_is_not_guessed():
    """A header merged over two columns of numbers ("Neutrophils" over D1:E1, no units row):
    which one is the count is not known.  Neither is read as the other's unit, and no
    result is made from a guess: the second column is named after the merged header and
    left to the mapping (asked, or said not used), never silently taken as a count."""
    data = _merged_workbook(
        ["MRN", "Date", "WBC", "Neutrophils", None],
        ["D1:E1"],
        [["80008", dt.date(2026, 3, 2), 4.0, 60, 2.5]],
    )
    result = import_bytes(data, "fbc.xlsx")
    assert_balanced(result)
    labs = result.labs_df()
    neut = labs[labs["analyte"] == "neutrophils"]
    assert 60.0 not in neut["value"].tolist()  # a percentage never read as a count
    assert len(neut) <= 1


# --------------------------------------------------------------------------- probe 8 F11: an MRN with a zero-padding format


def _padded_mrn_workbook() -> bytes:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Labs"
    ws.append(["MRN", "Collected", "Test", "Result", "Units"])
    ws.append([12345, dt.date(2026, 3, 2), "Neutrophils", 0.8, "x10^9/L"])
    ws["A2"].number_format = "0000000"  # Excel shows 0012345
    ws.append([678, dt.date(2026, 3, 2), "Neutrophils", 0.9, "x10^9/L"])
    ws["A3"].number_format = "0.00"  # not a zero-padding format: read as before
    ws.append(["4321", dt.date(2026, 3, 2), "Neutrophils", 1.0, "x10^9/L"])
    ws["A4"].number_format = "0000000"  # text: a number format never changes a text cell
    ws.append([12345, dt.date(2026, 3, 9), "Neutrophils", 0.7, "x10^9/L"])  # General: 12345
    doses = wb.create_sheet("Doses")
    doses.append(["MRN", "Drug", "Dose", "Unit", "Frequency", "Start"])
    doses.append(["0012345", "Azathioprine", 150, "mg", "daily", dt.date(2026, 1, 5)])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def test_an_mrn_number_with_a_zero_padding_format_is_read_as_excel_shows_it():
    """Probe 8 F11: 12345 formatted "0000000" is shown by Excel as 0012345 (seven digits,
    zeros in front), the id the dose sheet writes as text; it was read "12345", two
    patients.  Only formats of zeros alone pad; 678 with "0.00" stays "678" (ids are never
    read with decimals), a text cell "4321" is text whatever its format, and 12345 in
    General stays "12345"."""
    result = import_bytes(_padded_mrn_workbook(), "book.xlsx")
    assert_balanced(result)
    labs = result.labs_df()
    read = sorted(zip(labs["value"].round(3), labs["patient_id"], strict=True))
    assert read == [(0.7, "12345"), (0.8, "0012345"), (0.9, "678"), (1.0, "4321")]
    doses = result.doses_df()
    assert doses["patient_id"].tolist() == ["0012345"]


# --------------------------------------------------------------------------- probe 15 F1: a percentage format


def _fbc_with_formats(rows: list[list], formats: dict[str, str], head: list[str] | None = None) -> bytes:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Labs"
    ws.append(head or ["MRN", "Collected", "Test", "Result", "Units"])
    for r in rows:
        ws.append(r)
    for ref, code in formats.items():
        ws[ref].number_format = code
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def test_a_percent_formatted_differential_in_the_long_layout_is_read_as_excel_shows_it():
    """Typing 55% in Excel stores 0.55 with the format "0%"; 30.5% stores 0.305 ("0.0%").
    Read as shown: neutrophils 55 % of WBC 6.0 = 3.3 x10^9/L (normal), lymphocytes 30.5 %
    of 6.0 = 1.83 x10^9/L; read as stored they were 0.033 and 0.0183 (CTCAE grade 4).
    The raw value kept is the one Excel shows, and the report says the cells were read so."""
    data = _fbc_with_formats(
        [
            ["12001", dt.date(2026, 3, 2), "WBC", 6.0, "10^9/L"],
            ["12001", dt.date(2026, 3, 2), "Neutrophils", 0.55, "%"],
            ["12001", dt.date(2026, 3, 2), "Lymphocytes", 0.305, "%"],
        ],
        {"D3": "0%", "D4": "0.0%"},
    )
    result = import_bytes(data, "fbc.xlsx")
    assert_balanced(result)
    assert _values(result, "neutrophils") == [3.3]
    assert _values(result, "lymphocytes") == [1.83]
    labs = result.labs_df()
    assert sorted(labs.loc[labs["analyte"] != "wbc", "source_value"]) == ["30.5%", "55%"]
    notes = [w.message for w in result.report.files[0].warnings]
    assert any("2 cell(s) formatted as percentages" in n and "D3" in n and "0.55" in n for n in notes), notes


def test_a_percent_formatted_column_of_a_wide_sheet_is_read_and_a_literal_percent_sign_is_not_scaled():
    """A wide sheet: "Neutrophils (%)" 0.55 in "0.0%" is 55 % (x WBC 5.0 = 2.75 x10^9/L);
    "Lymphocytes (%)" 24 in the format 0"%" shows "24%" with the sign as quoted text, so
    Excel does not multiply: 24 % of 5.0 = 1.2 x10^9/L (never 2,400 %)."""
    data = _fbc_with_formats(
        [["12001", dt.date(2026, 3, 2), 5.0, 0.55, 24]],
        {"D2": "0.0%", "E2": '0"%"'},
        head=["MRN", "Date", "WBC (10^9/L)", "Neutrophils (%)", "Lymphocytes (%)"],
    )
    result = import_bytes(data, "wide.xlsx")
    assert_balanced(result)
    assert _values(result, "neutrophils") == [2.75]
    assert _values(result, "lymphocytes") == [1.2]


def test_a_percent_formatted_cell_in_a_count_column_is_rejected_not_scaled():
    """Platelets 0.45 in "0%" beside the unit 10^9/L: Excel shows 45%, a percentage of a
    count that has none.  Neither 0.45 nor 45 x10^9/L is guessed: the row is rejected
    saying the value is a percentage and the unit is not.  The same holds for a wide
    column named with a count unit."""
    data = _fbc_with_formats([["12001", dt.date(2026, 3, 2), "Platelets", 0.45, "10^9/L"]], {"D2": "0%"})
    result = import_bytes(data, "labs.xlsx")
    assert_balanced(result)
    assert result.labs_df().empty
    (why,) = [p.message for p in result.report.files[0].problems if p.row == 2]
    assert "percentage (45%)" in why and "'10^9/L'" in why
    wide = _fbc_with_formats([["12001", dt.date(2026, 3, 2), 0.06]], {"C2": "0%"}, head=["MRN", "Date", "WBC (10^9/L)"])
    result = import_bytes(wide, "wide.xlsx")
    assert_balanced(result)
    assert result.labs_df().empty
    assert any("percentage (6%)" in p.message for p in result.report.files[0].problems)


def test_which_number_formats_show_a_percentage():
    from dashboard.ingest.xlsx import _percent_sections

    assert _percent_sections("0%") == (True,)
    assert _percent_sections("#,##0.00%") == (True,)
    assert _percent_sections("0.0%;[Red]-0.0%") == (True, True)
    assert _percent_sections('0"%"') == (False,)  # quoted: shown as written
    assert _percent_sections("0\\%") == (False,)  # escaped: shown as written
    assert _percent_sections('0.0;"n/a %"') == (False, False)
    assert _percent_sections("General") == (False,)


# --------------------------------------------------------------------------- probe 15 F8, F11: reasons that say what the cell is


def test_a_date_cell_in_the_result_column_is_said_to_be_a_date():
    """ "3.1" typed in a German-locale Excel becomes the date 3 January 2026.  The row is
    rejected (no result can be read from a date) with a reason that says so, quoting the
    date, never "unexpected text after the number: '-01-03'"."""
    data = _fbc_with_formats(
        [
            ["12001", dt.date(2026, 3, 2), "WBC", dt.date(2026, 1, 3), "10^9/L"],
            ["12001", dt.date(2026, 3, 2), "Platelets", dt.datetime(2026, 1, 3, 8, 15), ""],
        ],
        {},
    )
    result = import_bytes(data, "labs.xlsx")
    assert_balanced(result)
    assert result.labs_df().empty
    reasons = {p.row: p.message for p in result.report.files[0].problems}
    assert "a date in the result column" in reasons[2] and "(2026-01-03)" in reasons[2]
    assert "a date in the result column" in reasons[3] and "(2026-01-03 08:15:00)" in reasons[3]


def test_a_reason_quotes_at_most_200_characters_of_a_long_cell_and_says_its_length():
    """A result cell "3.1 " followed by 32,000 x: the text after the number is 32,000
    characters; the reason quotes the first 200 and says the length (32000)."""
    data = _fbc_with_formats([["12001", dt.date(2026, 3, 2), "WBC", "3.1 " + "x" * 32000, "10^9/L"]], {})
    result = import_bytes(data, "labs.xlsx")
    assert_balanced(result)
    (p,) = result.report.files[0].problems
    assert p.message == "unexpected text after the number: '" + "x" * 200 + "…(32000 characters)'"


# --------------------------------------------------------------------------- probe 15 F2: formatting far below the data


def test_formatting_far_below_the_data_is_not_a_stray_value_but_a_value_there_still_is():
    """Excel writes a cell for every formatted cell, value or not: a border dragged down
    column E to row 1,048,576 leaves empty cells there.  They hold nothing, so the sheet
    is 2 rows and its one result (WBC 3.1 of 12001, row 2) is read.  A value at E1048576
    is a stray value: 1,048,576 rows x 5 columns = 5,242,880 cells, over the 5,000,000
    limit, and the sheet is refused saying so."""
    head = b"".join(
        b'<c r="%s1" t="inlineStr"><is><t>%s</t></is></c>' % (c.encode(), t.encode())
        for c, t in zip("ABCDE", ["MRN", "Collected", "Test", "Result", "Units"], strict=True)
    )
    row = (
        b'<row r="2"><c r="A2" t="inlineStr"><is><t>12001</t></is></c><c r="B2" t="inlineStr"><is><t>2026-03-02</t>'
        b'</is></c><c r="C2" t="inlineStr"><is><t>WBC</t></is></c><c r="D2"><v>3.1</v></c>'
        b'<c r="E2" t="inlineStr"><is><t>10^9/L</t></is></c></row>'
    )
    formatted = b"".join(b'<row r="%d"><c r="E%d" s="1"/></row>' % (r, r) for r in (3, 4, 500_000, 1_048_576))
    result = import_bytes(workbook({"Labs": b'<row r="1">' + head + b"</row>" + row + formatted}), "labs.xlsx")
    assert_balanced(result)
    assert _values(result, "wbc") == [3.1]
    assert result.labs_df()["source_row"].tolist() == [2]
    stray = b'<row r="1048576"><c r="E1048576" t="inlineStr"><is><t>x</t></is></c></row>'
    result = import_bytes(workbook({"Labs": b'<row r="1">' + head + b"</row>" + row + stray}), "labs.xlsx")
    (f,) = result.report.files
    assert "5,242,880 cells" in f.error and "stray value" in f.error
    assert result.labs.num_rows == 0


# --------------------------------------------------------------------------- probe 15 F3: data cells merged down


def test_an_mrn_and_date_merged_down_over_a_draw_are_read_for_each_row_and_said():
    """A hand-made sheet: MRN 12001 and the date 2 March merged down over the draw's three
    results (A2:A4, B2:B4), as Excel shows them beside each.  Rows 3 and 4 are read for
    12001 on 2 March (neutrophils 1.2, platelets 90), never "no patient id"; the next draw
    (row 5, 12002, not merged) is its own.  A merge A6:A8 over a result row (7) and a
    blank row (8): row 7 is read for 12003, row 8 stays blank (not a row to account for).
    The report names the merged cells and their rows."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["MRN", "Collected", "Test", "Result", "Units"])
    for r in [
        ["12001", dt.date(2026, 3, 2), "WBC", 3.1, "10^9/L"],
        [None, None, "Neutrophils", 1.2, "10^9/L"],
        [None, None, "Platelets", 90, "10^9/L"],
        ["12002", dt.date(2026, 3, 3), "WBC", 5.0, "10^9/L"],
        ["12003", dt.date(2026, 3, 4), "WBC", 4.0, "10^9/L"],
        [None, dt.date(2026, 3, 5), "WBC", 4.2, "10^9/L"],
    ]:
        ws.append(r)
    for ref in ("A2:A4", "B2:B4", "A6:A8"):
        ws.merge_cells(ref)
    buf = io.BytesIO()
    wb.save(buf)
    result = import_bytes(buf.getvalue(), "labs.xlsx")
    assert_balanced(result)
    (f,) = result.report.files
    assert (f.rows_read, f.rows_accepted, f.rows_rejected) == (6, 6, 0)
    labs = result.labs_df()
    got = sorted(
        (int(r), p, str(d)[:10], a)
        for r, p, d, a in zip(
            labs["source_row"], labs["patient_id"], labs["collected_at"], labs["analyte"], strict=True
        )
    )
    assert got == [
        (2, "12001", "2026-03-02", "wbc"),
        (3, "12001", "2026-03-02", "neutrophils"),
        (4, "12001", "2026-03-02", "platelets"),
        (5, "12002", "2026-03-03", "wbc"),
        (6, "12003", "2026-03-04", "wbc"),
        (7, "12003", "2026-03-05", "wbc"),
    ]
    (note,) = [w.message for w in f.warnings if "merged" in w.message]
    assert note.startswith("3 cell(s) merged over several rows were read for each row they cover")
    assert "'MRN' '12001' over A2:A4, rows 2–4" in note and "over A6:A8, rows 6–7" in note


def test_a_cell_under_a_data_merge_that_holds_its_own_value_keeps_it():
    """A covered cell holding a value (a program wrote it; Excel would have cleared it on
    merging) is never overwritten: row 3 stays 12009."""
    body = (
        b'<row r="1"><c r="A1" t="inlineStr"><is><t>MRN</t></is></c><c r="B1" t="inlineStr"><is><t>Collected</t></is></c>'
        b'<c r="C1" t="inlineStr"><is><t>Test</t></is></c><c r="D1" t="inlineStr"><is><t>Result</t></is></c>'
        b'<c r="E1" t="inlineStr"><is><t>Units</t></is></c></row>'
        + b"".join(
            b'<row r="%d"><c r="A%d" t="inlineStr"><is><t>%s</t></is></c><c r="B%d" t="inlineStr"><is><t>2026-03-02</t>'
            b'</is></c><c r="C%d" t="inlineStr"><is><t>WBC</t></is></c><c r="D%d"><v>%s</v></c>'
            b'<c r="E%d" t="inlineStr"><is><t>10^9/L</t></is></c></row>' % (r, r, mrn, r, r, r, value, r)
            for r, mrn, value in ((2, b"12001", b"3.1"), (3, b"12009", b"4.1"))
        )
    )
    xml = (
        b'<?xml version="1.0"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        b"<sheetData>" + body + b'</sheetData><mergeCells count="1"><mergeCell ref="A2:A3"/></mergeCells></worksheet>'
    )
    result = import_bytes(workbook({"Labs": xml}), "labs.xlsx")
    assert_balanced(result)
    labs = result.labs_df()
    assert sorted(zip(labs["source_row"], labs["patient_id"], strict=True)) == [(2, "12001"), (3, "12009")]


# --------------------------------------------------------------------------- probe 15 F5: values computed by formulas


def _labs_sheet(cells: list[tuple[str, str, str, bytes]], tail: bytes = b"") -> bytes:
    """A sheet MRN | Collected | Test | Result | Units; ``cells``: (MRN, date, test, the
    result cell's XML from its attributes on: b' t="e"><v>#N/A</v></c>')."""
    head = b"".join(
        b'<c r="%s1" t="inlineStr"><is><t>%s</t></is></c>' % (c.encode(), t.encode())
        for c, t in zip("ABCDE", ["MRN", "Collected", "Test", "Result", "Units"], strict=True)
    )
    rows = b""
    for r, (mrn, date, test, result) in enumerate(cells, start=2):
        text = [(b"A", mrn), (b"B", date), (b"C", test)]
        rows += b'<row r="%d">' % r
        rows += b"".join(b'<c r="%s%d" t="inlineStr"><is><t>%s</t></is></c>' % (c, r, v.encode()) for c, v in text)
        rows += b'<c r="D%d"' % r + result
        rows += b'<c r="E%d" t="inlineStr"><is><t>10^9/L</t></is></c></row>' % r
    ns = b'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
    return (
        b'<?xml version="1.0"?><worksheet '
        + ns
        + b'><sheetData><row r="1">'
        + head
        + b"</row>"
        + rows
        + b"</sheetData>"
        + tail
        + b"</worksheet>"
    )


def test_a_result_computed_by_a_formula_is_read_and_said_with_its_formula():
    """D3 is =D2*0.4 with the value 1.24 Excel stored (40 % of the WBC 3.1): read as
    1.24 x10^9/L, but the report says 1 cell holds a formula and quotes it, so that the
    clinician knows the number was computed in the workbook, not reported by the lab.
    The error formula in D4 (#DIV/0!) is rejected as an error, not counted as computed."""
    sheet = _labs_sheet(
        [
            ("12001", "2026-03-02", "WBC", b"><v>3.1</v></c>"),
            ("12001", "2026-03-02", "Neutrophils", b"><f>D2*0.4</f><v>1.24</v></c>"),
            ("12001", "2026-03-02", "Platelets", b' t="e"><f>1/0</f><v>#DIV/0!</v></c>'),
        ]
    )
    result = import_bytes(workbook({"Labs": sheet}), "labs.xlsx")
    assert_balanced(result)
    assert _values(result, "neutrophils") == [1.24]
    (f,) = result.report.files
    assert f.rows_rejected == 1
    (note,) = [w.message for w in f.warnings if "formula" in w.message]
    assert note.startswith("1 cell(s) hold formulas") and "D3 =D2*0.4 gave 1.24" in note


# --------------------------------------------------------------------------- probe 15 F4: comments on cells


def test_a_comment_on_a_result_cell_is_said_with_its_cell_row_and_text():
    """Platelets 45 x10^9/L (CTCAE v5.0 grade 3, 50-25) with the lab's comment on D2
    "Clumped sample - repeat requested" (a clumped sample: pseudothrombocytopenia).  The
    result is read as it is; the report says the cell D2 of row 2 carries the comment and
    quotes it.  A comment on the header cell E1 is said too; a 300-character comment is
    quoted to its first 200 characters with its length."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["MRN", "Collected", "Test", "Result", "Units"])
    ws.append(["12001", dt.date(2026, 3, 2), "Platelets", 45, "10^9/L"])
    ws.append(["12001", dt.date(2026, 3, 2), "WBC", 4.0, "10^9/L"])
    ws["D2"].comment = Comment("Clumped sample - repeat requested", "lab")
    ws["E1"].comment = Comment("units  as\nreported", "lab")
    ws["D3"].comment = Comment("y" * 300, "lab")
    # Excel 365's legacy copy of a threaded comment: its own paragraph, then the comment
    ws["C2"].comment = Comment(
        "[Threaded comment]\n\nYour version of Excel allows you to read this threaded comment; however, any "
        "edits to it will get removed if the file is opened in a newer version of Excel. Learn more: "
        "https://go.microsoft.com/fwlink/?linkid=870924\n\nComment:\n    EDTA tube, repeat in citrate",
        "lab",
    )
    buf = io.BytesIO()
    wb.save(buf)
    result = import_bytes(buf.getvalue(), "labs.xlsx")
    assert_balanced(result)
    assert _values(result, "platelets") == [45.0]
    notes = {(w.row, w.message) for w in result.report.files[0].warnings if "comment" in w.message}
    assert notes == {
        (2, "the cell D2 carries a comment, not read as data: 'Clumped sample - repeat requested'"),
        (None, "the cell E1 carries a comment, not read as data: 'units as reported'"),
        (2, "the cell C2 carries a comment, not read as data: '(threaded) EDTA tube, repeat in citrate'"),
        (3, "the cell D3 carries a comment, not read as data: '" + "y" * 200 + "…(300 characters)'"),
    }


# --------------------------------------------------------------------------- probe 15 F6, F7: what a file that is no .xlsx is


def test_a_password_protected_workbook_an_old_xls_an_ods_and_a_zip_are_each_named():
    """Excel saves a workbook with a password as a compound file holding the stream
    "EncryptedPackage"; an old .xls is a compound file without it; LibreOffice's .ods is a
    zip whose "mimetype" part names an OpenDocument spreadsheet; any other zip is an
    archive.  Each is refused (one row-less file in the report) with its own advice."""
    from tests.test_probe15 import _ods, encrypted_xlsx

    old_xls = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 1016
    plain = io.BytesIO()
    with zipfile.ZipFile(plain, "w") as z:
        z.writestr("labs.csv", "MRN,Date,WBC\n12001,2026-03-02,3.1\n")
    cases = {
        "clinic.xlsx": encrypted_xlsx(),
        "old.xls": old_xls,
        "labs.ods": _ods([["MRN", "Date", "WBC"], ["12001", "2026-03-02", "3.1"]]),
        "export.zip": plain.getvalue(),
    }
    errors = {}
    for name, data in cases.items():
        result = import_bytes(data, name)
        assert_balanced(result)
        (f,) = result.report.files
        errors[name] = f.error
    assert errors["clinic.xlsx"].startswith("the workbook is password-protected (encrypted)")
    assert "remove the password" in errors["clinic.xlsx"] and ".xls files" not in errors["clinic.xlsx"]
    assert errors["old.xls"] == "old Excel .xls files are not supported: save it as .xlsx or CSV"
    assert errors["labs.ods"].startswith("this is an OpenDocument spreadsheet (.ods")
    assert "save it as Excel (.xlsx) or CSV" in errors["labs.ods"] and "extract" not in errors["labs.ods"]
    assert errors["export.zip"] == "this is a zip archive: extract it and import the files inside"
