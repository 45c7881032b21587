"""Excel workbooks (.xlsx): checked before parsing, read with python-calamine.

An .xlsx is a zip of XML parts.  Before any parser sees it, :func:`check_workbook`

* refuses archives that expand too far (the zip-bomb guard: total uncompressed size,
  the compression ratio of one part and of the whole workbook, the number of parts),
  with sizes verified while decompressing, never taken from the archive's directory;
* measures every sheet's real extent from its cells (``<c r="XFD1048576">``, and the
  position of rows and cells written without one), never from the ``<dimension>`` the
  sheet declares: a 5 KB workbook declaring ``A1:XFD1048576`` is read as the few cells
  it holds, while a sheet whose cells really span a million rows by 16,384 columns is
  refused with the reason before a parser allocates a cell of it.  A cell that holds
  nothing (``<c r="E1048576" s="3"/>``: a border dragged down the sheet) is formatting,
  not data, and is not counted, as calamine does not read it;
* collects error cells (``#VALUE!``, ``#N/A``), which calamine reads as empty, so that
  they are reported by their text as before, and formula cells holding no value (a
  workbook written by a program and never opened in Excel), kept as
  ``#FORMULA NEVER COMPUTED =...`` so that a row of them is rejected saying so, never
  dropped as blank.

Reading then goes through python-calamine (Rust), which reads only the cells present:
100,000 rows x 7 columns in about 2 s where openpyxl took about 30 s (README, "Why each
dependency").  Every cell becomes text by the same rules as before (:func:`cell_text`).
"""

from __future__ import annotations

import datetime as dt
import html
import io
import posixpath
import re
import struct
import zipfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal

import numpy as np
import pyarrow as pa
import python_calamine

from dashboard.ingest.report import Problem
from dashboard.ingest.tabular import (
    MAX_COLUMNS,
    RawTable,
    UnreadableFile,
    column_letters,
    is_blank,
    max_rows,
    table_from_records,
    too_many_rows,
)

#: Largest uncompressed size accepted from an .xlsx, bytes.
MAX_XLSX_UNCOMPRESSED = 400 * 1024 * 1024
#: Largest compression ratio of one part larger than 10 MB.
MAX_XLSX_RATIO = 200
#: Largest compression ratio of a whole workbook that expands beyond 50 MB (real
#: workbooks compress 5-15 fold; zeros and repeated cells compress a thousand fold).
MAX_XLSX_TOTAL_RATIO = 100
#: Most cells (the used range of every sheet, empty cells inside it included) read from
#: one workbook: 5,000,000 is 500,000 rows of 10 columns.  Larger extracts go as CSV.
MAX_XLSX_CELLS = 5_000_000
#: Most parts in one workbook (a real one has a few dozen).
MAX_ZIP_ENTRIES = 10_000

_CHUNK = 1 << 23


# --------------------------------------------------------------------------- the zip guard


def zip_entry_count(data: bytes) -> int | None:
    """The number of parts a zip declares (its end record), read without parsing the
    directory (a directory of millions of entries would itself be the bomb)."""
    tail = data[-(65536 + 22) :]
    at = tail.rfind(b"PK\x05\x06")
    if at < 0 or at + 22 > len(tail):
        return None
    (count,) = struct.unpack("<H", tail[at + 10 : at + 12])
    return count


def _bomb(why: str) -> UnreadableFile:
    return UnreadableFile(f"{why}; refused as a possible zip bomb")


@dataclass
class SheetScan:
    """What the cells of one worksheet part occupy (1-based, inclusive)."""

    part: str
    min_row: int = 0
    max_row: int = 0
    min_col: int = 0
    max_col: int = 0
    declared: str = ""  # the <dimension ref> the sheet declares
    errors: dict[tuple[int, int], str] = field(default_factory=dict)  # (row, col) -> "#VALUE!"
    hidden_rows: list[int] = field(default_factory=list)  # rows hidden in Excel (1-based)
    hidden_columns: list[int] = field(default_factory=list)
    #: number cells formatted with zeros alone ("0000000"): (row, col) -> digits shown
    padded: dict[tuple[int, int], int] = field(default_factory=dict)
    #: number cells with a percentage format ("0%", "0.0%"): (row, col) -> for each
    #: section of the format (positive; negative; zero), whether it shows a percentage
    percent: dict[tuple[int, int], tuple[bool, ...]] = field(default_factory=dict)
    #: comments on cells (Excel's notes; calamine does not read them): (row, col, text)
    comments: list[tuple[int, int, str]] = field(default_factory=list)
    #: formula cells holding a stored value (row, col) -> the formula's text (up to 60
    #: characters; "" for a shared formula's other cells)
    formulas: dict[tuple[int, int], str] = field(default_factory=dict)

    @property
    def rows(self) -> int:
        return self.max_row - self.min_row + 1 if self.max_row else 0

    @property
    def columns(self) -> int:
        return self.max_col - self.min_col + 1 if self.max_col else 0

    @property
    def cells(self) -> int:
        return self.rows * self.columns

    def add(self, rows: np.ndarray, cols: np.ndarray) -> None:
        if not len(rows):
            return
        lo_r, hi_r, lo_c, hi_c = int(rows.min()), int(rows.max()), int(cols.min()), int(cols.max())
        if not self.max_row:
            self.min_row, self.max_row, self.min_col, self.max_col = lo_r, hi_r, lo_c, hi_c
            return
        self.min_row, self.max_row = min(self.min_row, lo_r), max(self.max_row, hi_r)
        self.min_col, self.max_col = min(self.min_col, lo_c), max(self.max_col, hi_c)


@dataclass
class WorkbookScan:
    """The checked workbook: each worksheet part's extent, and sheet name -> part."""

    sheets: dict[str, SheetScan]  # part name -> scan
    parts_by_sheet: dict[str, str]  # sheet name -> part name
    date1904: bool = False  # the workbook counts dates from 1904 (old Mac workbooks)


def check_workbook(data: bytes) -> WorkbookScan:
    """Refuse a workbook that would expand too far; measure every sheet's real extent.

    Raises :class:`UnreadableFile` with the reason.  Each part is decompressed in
    blocks; a part that decompresses to more than the archive says is damaged (zip
    checks the size and CRC), so the limits hold whatever the directory claims.
    """
    count = zip_entry_count(data)
    if count is not None and count > MAX_ZIP_ENTRIES:
        raise _bomb(f"the workbook has {count:,} parts (a real one has a few dozen)")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            infos = z.infolist()
            if len(infos) > MAX_ZIP_ENTRIES:
                raise _bomb(f"the workbook has {len(infos):,} parts (a real one has a few dozen)")
            _check_sizes(infos)
            scans: dict[str, SheetScan] = {}
            texts: dict[str, bytes] = {}
            styles = next((i for i in infos if i.filename.lower().endswith("styles.xml")), None)
            style_xml = z.read(styles) if styles and styles.file_size < 10_000_000 else b""
            formats = _style_formats(style_xml) if style_xml else {}
            padding, percent = _padding_styles(formats), _percent_styles(formats)
            for info in infos:
                if info.is_dir():
                    continue
                scan = _scan_part(z, info, padding, percent)
                if scan is not None:
                    scans[info.filename] = scan
                elif info.filename.endswith((".rels", "workbook.xml")) and info.file_size < 10_000_000:
                    texts[info.filename] = z.read(info)
            _read_comments(z, scans, texts)
    except zipfile.BadZipFile as exc:
        raise UnreadableFile(f"the Excel file is damaged ({_zip_words(exc)})") from None
    except (zipfile.LargeZipFile, NotImplementedError, EOFError, OSError, RuntimeError):
        raise UnreadableFile("the Excel file is damaged or encrypted: it cannot be opened") from None
    return WorkbookScan(scans, _sheet_parts(texts), _is_1904(texts))


_DATE1904 = re.compile(rb"<(?:[\w.-]+:)?workbookPr\s[^>]*\bdate1904\s*=\s*[\"'](?:1|true)[\"']")


def _is_1904(texts: dict[str, bytes]) -> bool:
    """True when the workbook declares Excel's 1904 date system."""
    book = next((n for n in texts if n.endswith("workbook.xml")), "")
    return bool(book) and _DATE1904.search(texts[book]) is not None


def _zip_words(exc: zipfile.BadZipFile) -> str:
    text = str(exc).lower()
    if "crc" in text or "bad magic" in text or "overlap" in text:
        return "a part does not match its checksum or size"
    return "its zip structure is broken"


def _check_sizes(infos: list[zipfile.ZipInfo]) -> None:
    total = sum(i.file_size for i in infos)
    packed = sum(i.compress_size for i in infos)
    for info in infos:
        ratio = info.file_size / max(info.compress_size, 1)
        if ratio > MAX_XLSX_RATIO and info.file_size > 10_000_000:
            raise _bomb(f"the workbook part {info.filename[:80]} expands {int(ratio):,}-fold")
    if total > MAX_XLSX_UNCOMPRESSED:
        raise UnreadableFile(
            f"the workbook expands to {total / 1e6:,.0f} MB; the limit is {MAX_XLSX_UNCOMPRESSED / 1e6:.0f} MB "
            "(export large extracts as CSV)"
        )
    if total > 50_000_000 and total / max(packed, 1) > MAX_XLSX_TOTAL_RATIO:
        raise _bomb(
            f"the workbook expands {total // max(packed, 1):,}-fold, to {total / 1e6:,.0f} MB "
            f"(real workbooks expand 5 to 15 fold)"
        )


# --------------------------------------------------------------------------- sheet extents

_SHEETDATA = re.compile(rb"<(?:([A-Za-z_][\w.-]*):)?sheetData[\s/>]")
_DIMENSION = re.compile(rb"<(?:[\w.-]+:)?dimension\s[^>]*\bref\s*=\s*[\"']([^\"'<]{1,40})[\"']")
#: A complete start tag (attribute values may hold ">", never "<").
_TAG_END = re.compile(rb"<[^>\"']*(?:(?:\"[^\"]*\"|'[^']*')[^>\"']*)*>")
#: A row or cell start tag and its attributes (any namespace prefix, quoted values).
_TAG = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?(row|c)(?=[\s/>])((?:[^>\"']|\"[^\"]*\"|'[^']*')*)>")
_ATTR_R = re.compile(rb"(?:^|\s)r\s*=\s*(?:\"([^\"]*)\"|'([^']*)')")
_REF = re.compile(r"^([A-Za-z]{1,3})?(\d{1,9})$")
#: The end tag of a cell, right after its start tag: a cell holding nothing.
_END_CELL = re.compile(rb"</(?:[A-Za-z_][\w.-]*:)?c>")
_ERROR_CELL = re.compile(
    rb"<(?:[\w.-]+:)?c\s((?:[^>\"']|\"[^\"]*\"|'[^']*')*\bt\s*=\s*[\"']e[\"'](?:[^>\"']|\"[^\"]*\"|'[^']*')*)>(.*?)</(?:[\w.-]+:)?c>",
    re.DOTALL,
)
_VALUE = re.compile(rb"<(?:[\w.-]+:)?v>([^<]{0,40})</(?:[\w.-]+:)?v>")
#: A cell holding a formula (not self-closing; its content up to its end tag, never into
#: the next cell).
_FORMULA_CELL = re.compile(
    rb"<(?:[\w.-]+:)?c\s((?:[^>\"'/]|\"[^\"]*\"|'[^']*')*)>"
    rb"((?:(?!<(?:[\w.-]+:)?c[\s>/]).)*?<(?:[\w.-]+:)?f[\s/>](?:(?!<(?:[\w.-]+:)?c[\s>/]).)*?)</(?:[\w.-]+:)?c>",
    re.DOTALL,
)
_HIDDEN_ROW = re.compile(
    rb"<(?:[\w.-]+:)?row\s((?:[^>\"']|\"[^\"]*\"|'[^']*')*\bhidden\s*=\s*[\"'](?:1|true)[\"'](?:[^>\"']|\"[^\"]*\"|'[^']*')*)>"
)
_HIDDEN_COL = re.compile(
    rb"<(?:[\w.-]+:)?col\s((?:[^>\"']|\"[^\"]*\"|'[^']*')*\bhidden\s*=\s*[\"'](?:1|true)[\"'](?:[^>\"']|\"[^\"]*\"|'[^']*')*)>"
)
_MIN_MAX = re.compile(rb"\b(min|max)\s*=\s*[\"'](\d{1,5})[\"']")
_FORMULA_TAG = re.compile(rb"<(?:[\w.-]+:)?f[\s/>]")
_FORMULA_TEXT = re.compile(rb"<(?:[\w.-]+:)?f(?:\s[^>]*)?>([^<]{0,60})")
_ANY_VALUE = re.compile(rb"<(?:[\w.-]+:)?(?:v|is)>\s*[^<\s]")
#: What a formula cell without a stored value reads as (a workbook written by a program
#: and never opened in Excel): a text every field rejects, saying why.
NOT_COMPUTED = "#FORMULA NEVER COMPUTED"


def _blocks(z: zipfile.ZipFile, info: zipfile.ZipInfo):
    """The part's bytes in blocks of a few MB, each ending between two tags (a tag cut
    by a block boundary is carried to the next block).  Decompressing verifies the
    part's size and checksum."""
    carry = b""
    with z.open(info) as stream:
        while True:
            chunk = stream.read(_CHUNK)
            if not chunk:
                if carry:
                    yield carry
                return
            buf = carry + chunk
            carry = b""
            cut = buf.rfind(b"<")
            if cut >= 0 and _TAG_END.match(buf, cut) is None:
                if len(buf) - cut > 1 << 20:
                    raise UnreadableFile("the workbook holds a tag longer than 1 MB: it is damaged")
                buf, carry = buf[:cut], buf[cut:]
            yield buf


def _scan_part(
    z: zipfile.ZipFile,
    info: zipfile.ZipInfo,
    padding: dict[int, int] | None = None,
    percent: dict[int, tuple[bool, ...]] | None = None,
) -> SheetScan | None:
    """Measure the cells of a worksheet part (None for a part with no ``sheetData``).

    Fast path: when every cell tag starts ``<c r="``, the references are read with
    numpy.  Otherwise (a cell without a position, attributes in another order or
    quoting, entities) the part is read again tag by tag and every cell placed as a
    parser places it (:class:`_Placer`).
    """
    scan: SheetScan | None = None
    prefix = b""
    declared = ""
    tags = refs = 0
    fast = True
    for buf in _blocks(z, info):
        if scan is None and _wide_encoding(buf):
            raise UnreadableFile(
                f"the workbook part {info.filename[:80]} is written in UTF-16 or UTF-32, which Excel never does: "
                "its cells cannot be checked before reading; open it in Excel and save it again"
            )
        if scan is None:
            dim = _DIMENSION.search(buf)
            found = _SHEETDATA.search(buf)
            if dim is not None:
                declared = dim.group(1).decode("ascii", "replace")  # <dimension> comes before <sheetData>
            if found is None:
                continue
            scan = SheetScan(info.filename, declared=declared)
            _hidden_columns(buf[: found.start()], scan)  # <cols> comes before <sheetData>
            prefix = (found.group(1) + b":") if found.group(1) else b""
            buf = buf[found.start() :]
        if fast:
            block_tags, block_refs, ok = _fast_block(buf, prefix, scan)
            tags, refs, fast = tags + block_tags, refs + block_refs, ok
        if b"e" in buf and (b't="e"' in buf or b"t='e'" in buf):
            _errors(buf, scan)
        if b"hidden" in buf and len(scan.hidden_rows) < 10_000:
            for m in _HIDDEN_ROW.finditer(buf):
                ref = _ATTR_R.search(m.group(1))
                text = (ref.group(1) or ref.group(2) or b"").strip() if ref else b""
                if text.isdigit() and len(text) <= 9:
                    scan.hidden_rows.append(int(text))
        if _FORMULA_TAG.search(buf):
            _formulas_without_values(buf, scan)
        if padding and b" s=" in buf:
            _padded_cells(buf, scan, padding)
        if percent and b" s=" in buf:
            _percent_cells(buf, scan, percent)
    if scan is None:
        return None
    if not fast or tags != refs:
        scan.min_row = scan.max_row = scan.min_col = scan.max_col = 0
        placer = _Placer(scan)
        started = False
        for buf in _blocks(z, info):
            if not started:
                found = _SHEETDATA.search(buf)
                if found is None:
                    continue
                started, buf = True, buf[found.start() :]
            placer.feed(buf)
        placer.flush()
    return scan


def _wide_encoding(head: bytes) -> bool:
    """An XML part written in UTF-16 or UTF-32 (it starts with "<", after a byte-order
    mark or not, spread over two or four bytes): the byte patterns of the extent check
    would miss its cells.  Binary parts (printer settings, images) do not start so."""
    return head.startswith(
        (b"\xff\xfe<\x00", b"\xfe\xff\x00<", b"<\x00", b"\x00<", b"\xff\xfe\x00\x00<", b"\x00\x00\xfe\xff\x00\x00\x00<")
    )


def _fast_block(buf: bytes, prefix: bytes, scan: SheetScan) -> tuple[int, int, bool]:
    """(cell tags, cell tags starting ``<c r="``, refs readable) of one block; the extent
    of the readable references is added to ``scan``."""
    open_tag = b"<" + prefix + b"c"
    tags = sum(buf.count(open_tag + end) for end in (b" ", b">", b"/", b"\n", b"\t", b"\r"))
    literal = np.frombuffer(open_tag + b' r="', dtype=np.uint8)
    a = np.frombuffer(buf + b"\0" * 32, dtype=np.uint8)
    n, k = len(buf), len(literal)
    if n < k:
        return tags, 0, True
    at = np.flatnonzero(a[: n - k + 1] == literal[0])  # every "<", then narrowed down
    for j in range(1, k):
        at = at[a[at + j] == literal[j]]
    at = at + k  # first character of the reference
    if not len(at):
        return tags, 0, True
    window = a[at[:, None] + np.arange(14)]
    n_letters = _leading(((window >= 65) & (window <= 90))[:, :4])
    shifted = np.take_along_axis(window, np.minimum(n_letters[:, None] + np.arange(11), 13), axis=1)
    n_digits = _leading((shifted >= 48) & (shifted <= 57))
    end = np.take_along_axis(window, np.minimum(n_letters + n_digits, 13)[:, None], axis=1)[:, 0]
    readable = (n_letters >= 1) & (n_letters <= 3) & (n_digits >= 1) & (n_digits <= 9) & (end == ord('"'))
    if not readable.all():
        return tags, len(at), False
    row = np.zeros(len(at), dtype=np.int64)
    for j in range(9):
        take = n_digits > j
        row[take] = row[take] * 10 + (shifted[take, j].astype(np.int64) - 48)
    col = np.zeros(len(at), dtype=np.int64)
    for j in range(3):
        take = n_letters > j
        col[take] = col[take] * 26 + (window[take, j].astype(np.int64) - 64)
    filled = ~_empty_cells(a, n, at, prefix)
    scan.add(row[filled], col[filled])
    return tags, len(at), True


def _empty_cells(a: np.ndarray, n: int, at: np.ndarray, prefix: bytes) -> np.ndarray:
    """Which cells, their reference starting at ``at``, hold nothing: a tag closed on
    itself (``<c r="E9" s="3"/>``) or followed at once by its end tag (``<c r="E9"
    s="3"></c>``): formatting, no value.  A cell is taken as empty only when its tag is
    plainly written (double quotes in pairs, no single quote): anything else counts."""
    gt = np.flatnonzero(a[:n] == ord(">"))
    if not len(gt):
        return np.zeros(len(at), dtype=bool)
    idx = np.searchsorted(gt, at)
    closed = idx < len(gt)
    end = gt[np.minimum(idx, len(gt) - 1)]
    dq = np.concatenate(([0], np.cumsum(a[:n] == ord('"'))))
    sq = np.concatenate(([0], np.cumsum(a[:n] == ord("'"))))
    plain = closed & ((dq[end] - dq[at]) % 2 == 1) & (sq[end] == sq[at])
    self_closed = a[end - 1] == ord("/")
    close = np.frombuffer(b"</" + prefix + b"c>", dtype=np.uint8)
    pair = np.ones(len(at), dtype=bool)
    for j, byte in enumerate(close):
        pair &= a[np.minimum(end + 1 + j, len(a) - 1)] == byte
    return plain & (self_closed | pair)


def _leading(mask: np.ndarray) -> np.ndarray:
    """How many True values each row of ``mask`` starts with."""
    return np.where(mask.all(axis=1), mask.shape[1], mask.argmin(axis=1))


class _Placer:
    """Places rows and cells as a parser does: at their ``r`` when they have one, else
    right after the one before (a row after the previous row, a cell after the previous
    cell of its row).  Fed block by block."""

    def __init__(self, scan: SheetScan) -> None:
        self.scan = scan
        self.row = 0
        self.col = 0
        self.rows: list[int] = []
        self.cols: list[int] = []

    def feed(self, xml: bytes) -> None:
        for m in _TAG.finditer(xml):
            ref = _ATTR_R.search(m.group(2))
            text = (
                html.unescape((ref.group(1) or ref.group(2) or b"").decode("utf-8", "replace")).strip() if ref else ""
            )
            if m.group(1) == b"row":
                self.row = int(text) if text.isdigit() and len(text) <= 9 else self.row + 1
                self.col = 0
                continue
            parsed = _REF.match(text) if text else None
            if parsed and parsed.group(1):
                self.col = _column_number(parsed.group(1).upper())
                self.row = int(parsed.group(2))
            else:
                self.col += 1
            if m.group(2).rstrip().endswith(b"/") or _END_CELL.match(xml, m.end()):
                continue  # formatting alone, no value: placed (the next cell follows it), not counted
            self.rows.append(max(self.row, 1))
            self.cols.append(self.col)
            if len(self.rows) >= 1_000_000:
                self.flush()

    def flush(self) -> None:
        self.scan.add(np.asarray(self.rows, dtype=np.int64), np.asarray(self.cols, dtype=np.int64))
        self.rows, self.cols = [], []


def _column_number(letters: str) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + ord(ch) - 64
    return n


def _errors(buf: bytes, scan: SheetScan) -> None:
    for m in _ERROR_CELL.finditer(buf):
        ref = _ATTR_R.search(m.group(1))
        text = (ref.group(1) or ref.group(2) or b"").decode("utf-8", "replace").strip() if ref else ""
        parsed = _REF.match(text)
        value = _VALUE.search(m.group(2))
        if parsed and parsed.group(1) and value:
            shown = html.unescape(value.group(1).decode("utf-8", "replace")).strip()
            scan.errors[(int(parsed.group(2)), _column_number(parsed.group(1).upper()))] = shown


def _hidden_columns(head: bytes, scan: SheetScan) -> None:
    """The columns a sheet hides (``<col min max hidden="1">``), at most 100."""
    for m in _HIDDEN_COL.finditer(head):
        bounds = {k.decode(): int(v) for k, v in _MIN_MAX.findall(m.group(1))}
        lo, hi = bounds.get("min", 0), bounds.get("max", bounds.get("min", 0))
        scan.hidden_columns.extend(range(lo, min(hi, lo + 100) + 1) if lo else [])
        if len(scan.hidden_columns) >= 100:
            break


def _formulas_without_values(buf: bytes, scan: SheetScan) -> None:
    """Formula cells that hold no value (never computed): calamine reads them as empty,
    which would make a row of them look blank; they are kept as :data:`NOT_COMPUTED`
    with their formula, as error cells are kept by their text."""
    for m in _FORMULA_CELL.finditer(buf):
        inner = m.group(2)
        computed = _ANY_VALUE.search(inner) is not None
        if computed and len(scan.formulas) >= _MAX_FORMULAS_KEPT:
            continue
        ref = _ATTR_R.search(m.group(1))
        text = (ref.group(1) or ref.group(2) or b"").decode("utf-8", "replace").strip() if ref else ""
        parsed = _REF.match(text)
        if not (parsed and parsed.group(1)):
            continue
        formula = _FORMULA_TEXT.search(inner)
        shown = html.unescape(formula.group(1).decode("utf-8", "replace")).strip() if formula else ""
        where = (int(parsed.group(2)), _column_number(parsed.group(1).upper()))
        if computed:
            scan.formulas[where] = shown  # its stored value is read; the report says it was computed
        else:
            scan.errors.setdefault(where, f"{NOT_COMPUTED} ={shown}" if shown else NOT_COMPUTED)


#: The formula cells with a stored value kept per sheet for the report's note.
_MAX_FORMULAS_KEPT = 100_000


def _say_formulas(records: list[list[str]], scan: SheetScan, offset: int) -> str:
    """The report's note on the cells read from formulas ("" when none holds data): their
    values were computed by the workbook (and may be stale if a program edited it since),
    not typed or reported by the lab."""
    count, example = 0, ""
    for (r, c), formula in sorted(scan.formulas.items()):
        i = r - 1 - offset
        if (r, c) in scan.errors or not (0 <= i < len(records) and c <= len(records[i])):
            continue
        if not records[i][c - 1].strip():
            continue
        count += 1
        if formula and not example:
            example = f"{column_letters(c)}{r} ={formula} gave {records[i][c - 1][:40]}"
    if not count:
        return ""
    return (
        f"{count} cell(s) hold formulas: the values the workbook computed and stored were read, not values "
        f"typed or reported by the lab{f' ({example})' if example else ''}; check them against the source"
    )


#: A cell's start tag (its attributes), any namespace prefix.
_CELL_START = re.compile(rb"<(?:[\w.-]+:)?c\s((?:[^>\"']|\"[^\"]*\"|'[^']*')*)>")
_ATTR_S = re.compile(rb"(?:^|\s)s\s*=\s*[\"'](\d{1,6})[\"']")
_ATTR_T = re.compile(rb"(?:^|\s)t\s*=\s*[\"']([^\"']*)[\"']")
_NUM_FMT = re.compile(rb"<(?:[\w.-]+:)?numFmt\s((?:[^>\"']|\"[^\"]*\"|'[^']*')*)>")
_FMT_ID = re.compile(rb"(?:^|\s)numFmtId\s*=\s*[\"'](\d{1,6})[\"']")
_FMT_CODE = re.compile(rb"(?:^|\s)formatCode\s*=\s*(?:\"([^\"]*)\"|'([^']*)')")
_CELL_XFS = re.compile(rb"<(?:[\w.-]+:)?cellXfs[\s>].*?</(?:[\w.-]+:)?cellXfs>", re.DOTALL)
_XF = re.compile(rb"<(?:[\w.-]+:)?xf(?=[\s/>])((?:[^>\"']|\"[^\"]*\"|'[^']*')*)>")
_ZEROS = re.compile(r"^0{2,15}$")


def _style_formats(styles: bytes) -> dict[int, str]:
    """The number format code of each cell style (its position in ``cellXfs``) whose
    format is one of the workbook's own (``numFmts``) or a built-in percentage (9 "0%",
    10 "0.00%"): the styles part read once for :func:`_padding_styles` and
    :func:`_percent_styles`."""
    codes: dict[int, str] = dict(_BUILTIN_FORMATS)
    for m in _NUM_FMT.finditer(styles):
        fid, code = _FMT_ID.search(m.group(1)), _FMT_CODE.search(m.group(1))
        if fid and code:
            codes[int(fid.group(1))] = html.unescape((code.group(1) or code.group(2) or b"").decode("utf-8", "replace"))
    xfs = _CELL_XFS.search(styles)
    out: dict[int, str] = {}
    for i, m in enumerate(_XF.finditer(xfs.group(0)) if xfs else ()):
        fid = _FMT_ID.search(m.group(1))
        if fid and int(fid.group(1)) in codes:
            out[i] = codes[int(fid.group(1))]
    return out


def _padding_styles(formats: dict[int, str]) -> dict[int, int]:
    """The cell styles whose number format (:func:`_style_formats`) is zeros alone
    ("0000000": a number shown with zeros in front, to 7 digits) -> the digits shown.
    Any other format (decimals, text, dates, "0" alone) is not here: read as before."""
    return {i: len(code) for i, code in formats.items() if _ZEROS.match(code)}


def _styled_number_cells(buf: bytes, styles: Mapping[int, object]) -> Iterator[tuple[tuple[int, int], int]]:
    """((row, column), style) of the number cells of one block whose style is one of
    ``styles`` (a number format applies to numbers only: never to text, a shared string, a
    boolean or an error)."""
    for m in _CELL_START.finditer(buf):
        attrs = m.group(1)
        style = _ATTR_S.search(attrs)
        if style is None or int(style.group(1)) not in styles:
            continue
        kind = _ATTR_T.search(attrs)
        if kind is not None and kind.group(1) != b"n":
            continue
        ref = _ATTR_R.search(attrs)
        parsed = _REF.match((ref.group(1) or ref.group(2) or b"").decode("ascii", "replace").strip()) if ref else None
        if parsed and parsed.group(1):
            yield (int(parsed.group(2)), _column_number(parsed.group(1).upper())), int(style.group(1))


def _padded_cells(buf: bytes, scan: SheetScan, padding: dict[int, int]) -> None:
    """The number cells of one block with a zero-padding style (:func:`_padding_styles`)."""
    for where, style in _styled_number_cells(buf, padding):
        scan.padded[where] = padding[style]


#: Excel's built-in percentage formats (``numFmtId`` 9 "0%" and 10 "0.00%"), which a
#: workbook uses without writing them in ``styles.xml``.
_BUILTIN_FORMATS = {9: "0%", 10: "0.00%"}
#: What in a format code is shown as written, never a placeholder: quoted text, an
#: escaped character, a [colour] or [condition], "_x" (a space) and "*x" (a fill).
_FORMAT_LITERAL = re.compile(r'"[^"]*"|\\.|\[[^\]]*\]|_.|\*.')


def _format_sections(code: str) -> list[str]:
    """A format code cut at its ";" (never one quoted or escaped)."""
    sections: list[str] = []
    part: list[str] = []
    quoted = escaped = False
    for ch in code:
        if escaped:
            escaped = False
        elif ch == "\\":
            escaped = True
        elif ch == '"':
            quoted = not quoted
        elif ch == ";" and not quoted:
            sections.append("".join(part))
            part = []
            continue
        part.append(ch)
    sections.append("".join(part))
    return sections


def _percent_sections(code: str) -> tuple[bool, ...]:
    """For each section of a number format code (positive; negative; zero), whether it
    shows the number as a percentage: one "%" outside quotes and escapes (Excel then shows
    the number x 100).  A literal "%" (``0"%"``, ``0\\%``) multiplies nothing."""
    return tuple(_FORMAT_LITERAL.sub("", part).count("%") == 1 for part in _format_sections(code)[:3])


def _percent_styles(formats: dict[int, str]) -> dict[int, tuple[bool, ...]]:
    """The cell styles whose number format (:func:`_style_formats`) shows a percentage
    ("0%", "0.0%", "#,##0.00%"; the built-in 9 and 10) -> :func:`_percent_sections`."""
    sections = {i: _percent_sections(code) for i, code in formats.items()}
    return {i: sec for i, sec in sections.items() if any(sec)}


def _percent_cells(buf: bytes, scan: SheetScan, percent: dict[int, tuple[bool, ...]]) -> None:
    """The number cells of one block with a percentage style (:func:`_percent_styles`)."""
    if len(scan.percent) >= 5_000_000:
        return
    for where, style in _styled_number_cells(buf, percent):
        scan.percent[where] = percent[style]


_RELS_TYPED = re.compile(
    rb"<(?:[\w.-]+:)?Relationship\s(?=[^>]*\bType\s*=\s*[\"']([^\"']+)[\"'])(?=[^>]*\bTarget\s*=\s*[\"']([^\"']+)[\"'])"
)
_COMMENT = re.compile(
    rb"<(?:[\w.-]+:)?comment\s((?:[^>\"']|\"[^\"]*\"|'[^']*')*)>(.*?)</(?:[\w.-]+:)?comment>", re.DOTALL
)
_COMMENT_REF = re.compile(rb"(?:^|\s)ref\s*=\s*[\"']([A-Za-z]{1,3}\d{1,9})[\"']")
_COMMENT_TEXT = re.compile(rb"<(?:[\w.-]+:)?t(?:\s[^>]*)?>([^<]*)</(?:[\w.-]+:)?t>")
#: The comments kept per sheet (each said in the report, the first few in full).
_MAX_COMMENTS = 1000


def _read_comments(z: zipfile.ZipFile, scans: dict[str, SheetScan], texts: dict[str, bytes]) -> None:
    """The comments (notes) on each sheet's cells, from the comments part its
    relationships name: calamine reads none, and a lab's comment on a result ("clumped
    sample") is part of what the file says about it."""
    for part, scan in scans.items():
        rels = texts.get(posixpath.join(posixpath.dirname(part), "_rels", posixpath.basename(part) + ".rels"), b"")
        for kind, target in _RELS_TYPED.findall(rels):
            if not kind.endswith(b"/comments"):
                continue
            t = html.unescape(target.decode("utf-8", "replace"))
            path = (
                t.lstrip("/") if t.startswith("/") else posixpath.normpath(posixpath.join(posixpath.dirname(part), t))
            )
            try:
                info = z.getinfo(path)
            except KeyError:
                continue
            if info.file_size > 10_000_000:
                continue
            for m in _COMMENT.finditer(z.read(info)):
                ref = _COMMENT_REF.search(m.group(1))
                parsed = _REF.match(ref.group(1).decode("ascii")) if ref else None
                if not (parsed and parsed.group(1)):
                    continue
                words = b"".join(_COMMENT_TEXT.findall(m.group(2))).decode("utf-8", "replace")
                text = " ".join(html.unescape(words).split())
                if text.startswith("[Threaded comment]") and "Comment:" in text:
                    # Excel 365 writes a threaded comment's legacy copy after a paragraph of its own
                    text = "(threaded) " + text.split("Comment:", 1)[1].strip()
                if text and len(scan.comments) < _MAX_COMMENTS:
                    scan.comments.append((int(parsed.group(2)), _column_number(parsed.group(1).upper()), text))


def _say_comments(table: RawTable, scan: SheetScan) -> None:
    """A note per comment on a cell of the sheet (the first 20; then their count), on a
    result or on the header alike: the comment is not read as data, but never dropped
    without a word."""
    rows = set(table.row_numbers.to_pylist())
    shown = sorted(scan.comments)
    for r, c, text in shown[:20]:
        quoted = text if len(text) <= 200 else f"{text[:200]}…({len(text):,} characters)"
        table.warnings.append(
            Problem(
                r if r in rows else None,
                None,
                f"the cell {column_letters(c)}{r} carries a comment, not read as data: '{quoted}'",
            )
        )
    if len(shown) > 20:
        table.warnings.append(
            Problem(None, None, f"{len(shown) - 20} more cell(s) carry comments, not read as data: see the workbook")
        )


# --------------------------------------------------------------------------- sheet names


_RELS_TARGET = re.compile(
    rb"<(?:[\w.-]+:)?Relationship\s(?=[^>]*\bId\s*=\s*[\"']([^\"']+)[\"'])(?=[^>]*\bTarget\s*=\s*[\"']([^\"']+)[\"'])"
)
_SHEET = re.compile(rb"<(?:[\w.-]+:)?sheet\s([^>]*)/?>")
_NAME = re.compile(rb"(?:^|\s)name\s*=\s*[\"']([^\"']*)[\"']")
_RID = re.compile(rb"\s[\w.-]+:id\s*=\s*[\"']([^\"']+)[\"']")


def _sheet_parts(texts: dict[str, bytes]) -> dict[str, str]:
    """Sheet name -> worksheet part, from the workbook and its relationships."""
    book = next((n for n in texts if n.endswith("workbook.xml")), "")
    if not book:
        return {}
    folder = posixpath.dirname(book)
    rels = texts.get(posixpath.join(folder, "_rels", posixpath.basename(book) + ".rels"), b"")
    targets = {}
    for rid, target in _RELS_TARGET.findall(rels):
        t = html.unescape(target.decode("utf-8", "replace"))
        path = t.lstrip("/") if t.startswith("/") else posixpath.normpath(posixpath.join(folder, t))
        targets[rid.decode("utf-8", "replace")] = path
    out = {}
    for attrs in _SHEET.findall(texts[book]):
        name, rid = _NAME.search(attrs), _RID.search(attrs)
        if name and rid:
            sheet = html.unescape(name.group(1).decode("utf-8", "replace"))
            part = targets.get(rid.group(1).decode("utf-8", "replace"))
            if part:
                out[sheet] = part
    return out


# --------------------------------------------------------------------------- reading


def _limits_problem(scan: SheetScan) -> str:
    """Why a sheet is too large to read, in words ("" when it is not).

    Counted from A1: the records of a sheet start at its first row and column, so a
    stray value far below or to the right of the data makes the sheet that large.
    """
    rows, cols = scan.max_row, scan.max_col
    stray = "(a stray value far to the right of or below the data also counts: delete it and save again)"
    if cols > MAX_COLUMNS:
        return f"its cells span {rows:,} rows and {cols:,} columns; the limit is {MAX_COLUMNS:,} columns {stray}"
    if rows > max_rows():
        return f"its cells span {rows:,} rows; the limit is {max_rows():,} rows per sheet {stray}"
    if rows * cols > MAX_XLSX_CELLS:
        return (
            f"its cells span {rows:,} rows and {cols:,} columns ({rows * cols:,} cells); the limit for one "
            f"workbook is {MAX_XLSX_CELLS:,} cells {stray}; export large extracts as CSV"
        )
    return ""


def read_excel(name: str, data: bytes) -> list[RawTable]:
    """Read every non-empty worksheet of an .xlsx workbook.

    A sheet too large to read is returned as an empty table whose ``refused`` says why
    (the other sheets are read).  Raises :class:`UnreadableFile` for the whole workbook.
    """
    if _is_binary_workbook(data):
        raise UnreadableFile("binary Excel workbooks (.xlsb) are not supported: save it as .xlsx or CSV")
    book = check_workbook(data)

    parts = book.parts_by_sheet
    unnamed = [s for part, s in book.sheets.items() if part not in set(parts.values())]
    too_large = [why for s in unnamed if (why := _limits_problem(s))]
    if too_large:
        raise UnreadableFile(f"the workbook has a sheet that is too large to read: {too_large[0]}")
    if sum(s.max_row * s.max_col for s in book.sheets.values() if not _limits_problem(s)) > MAX_XLSX_CELLS:
        raise UnreadableFile(
            f"the workbook's sheets hold more than {MAX_XLSX_CELLS:,} cells in all (export large extracts as CSV)"
        )
    try:
        wb = python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(data))
    except Exception:  # calamine raises its own types for damaged or encrypted files
        raise UnreadableFile("the Excel file could not be opened: it is damaged, encrypted or not a workbook") from None
    tables: list[RawTable] = []
    with wb:
        for meta in wb.sheets_metadata:
            if str(meta.typ).rsplit(".", 1)[-1] != "WorkSheet":
                continue  # a chart sheet holds no cells
            scan = book.sheets.get(parts.get(meta.name, ""))
            if scan is None and book.sheets and parts:
                continue  # no worksheet part behind the name: nothing to read
            if scan is not None:
                why = _limits_problem(scan)
                if why:
                    tables.append(_refused(name, meta.name, why))
                    continue
            table = _read_sheet(name, wb, meta.name, scan)
            if table is not None:
                table.date1904 = book.date1904
                if str(meta.visible).rsplit(".", 1)[-1] != "Visible":
                    table.warnings.append(
                        Problem(
                            None,
                            None,
                            f"sheet '{meta.name}' is hidden in the workbook: its rows were read like the others; "
                            "check they are meant to be imported",
                        )
                    )
                tables.append(table)
    return tables


def _is_binary_workbook(data: bytes) -> bool:
    """An .xlsb (its workbook and sheets are binary parts, which the extent check cannot
    read).  An .xlsx may hold other binary parts (printer settings, macros): not those."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            return any(n.lower() == "xl/workbook.bin" for n in z.namelist())
    except (zipfile.BadZipFile, OSError, ValueError):
        return False


def _refused(name: str, sheet: str, why: str) -> RawTable:
    t = RawTable(name, [], {}, pa.array([], pa.int64()), sheet=sheet, container="xlsx")
    t.refused = f"sheet '{sheet}' was not read: {why}"
    return t


def _read_sheet(name: str, wb, sheet: str, scan: SheetScan | None) -> RawTable | None:
    try:
        ws = wb.get_sheet_by_name(sheet)
    except Exception:
        return _refused(name, sheet, "it could not be read (damaged)")
    if ws.start is None:
        return None
    first_col = ws.start[1]
    lead = [""] * first_col  # the empty columns left of the first cell, as a reader from A1 sees them
    as_text = cell_text
    records: list[list[str]] = []
    for row in ws.iter_rows():
        records.append(lead + [v.strip() if v.__class__ is str else as_text(v) for v in row])
        if len(records) > max_rows():
            raise too_many_rows(f"more than {max_rows():,}")
    # calamine yields the rows from the sheet's first row or from its first cell,
    # depending on the version: number them from the last cell's row either way
    offset = ws.end[0] + 1 - len(records)
    if scan is not None and scan.errors:
        for (er, ec), shown in scan.errors.items():
            i = er - 1 - offset
            if i >= len(records) and shown.startswith(NOT_COMPUTED) and i < len(records) + 1000:
                records.extend([] for _ in range(i + 1 - len(records)))  # rows calamine saw as empty
            if 0 <= i < len(records):
                if shown.startswith(NOT_COMPUTED) and ec > len(records[i]):
                    records[i].extend([""] * (ec - len(records[i])))
                if ec <= len(records[i]):
                    records[i][ec - 1] = shown
    if scan is not None and scan.padded:
        _pad(records, scan.padded, offset)
    percent_note = _as_percentages(records, scan.percent, offset) if scan is not None and scan.percent else ""
    formula_note = _say_formulas(records, scan, offset) if scan is not None and scan.formulas else ""
    while records and is_blank(records[-1]):
        records.pop()
    if not records or all(is_blank(r) for r in records):
        return None
    # the blank rows above the first record (up to 50: the header is looked for among
    # the first 40 records)
    above = min(offset, 50)
    records = [[] for _ in range(above)] + records
    first_row = offset + 1 - above
    table = table_from_records(name, records, sheet=sheet, first_row=first_row, merged=_merged(ws, first_row))
    for note in (percent_note, formula_note):
        if note:
            table.warnings.append(Problem(None, None, note))
    if scan is not None:
        _say_hidden(table, scan)
    if scan is not None and scan.comments:
        _say_comments(table, scan)
    if scan is not None and _declared_too_large(scan.declared):
        table.warnings.append(
            Problem(
                None,
                None,
                f"the sheet declares the range {scan.declared} but its cells fill {_ref(scan)}; the cells were read",
            )
        )
    return table


def _pad(records: list[list[str]], padded: dict[tuple[int, int], int], offset: int) -> None:
    """A whole number formatted with zeros alone is read as Excel shows it: 12345 in
    "0000000" is "0012345" (an MRN with its leading zeros).  A negative or fractional
    number is left as it is read."""
    for (r, c), width in padded.items():
        i = r - 1 - offset
        if 0 <= i < len(records) and c <= len(records[i]):
            text = records[i][c - 1]
            if text.isascii() and text.isdigit() and len(text) < width:
                records[i][c - 1] = text.zfill(width)


_PLAIN_NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?")


def _as_percentages(records: list[list[str]], percent: dict[tuple[int, int], tuple[bool, ...]], offset: int) -> str:
    """A number in a percentage format is read as Excel shows it: 0.55 in "0%" is "55%"
    (typing 55% in Excel stores 0.55).  The stored number is kept to its last digit
    (0.5534 in "0%" is read "55.34%", shown "55%"), multiplied in decimal (never 55.00000000000001).
    Returns the report's note ("" when no cell was read so)."""
    count = 0
    example = ""
    for (r, c), sections in sorted(percent.items()):
        i = r - 1 - offset
        if not (0 <= i < len(records) and c <= len(records[i])):
            continue
        text = records[i][c - 1]
        if not _PLAIN_NUMBER.fullmatch(text):
            continue
        number = Decimal(text)
        section = 1 if number < 0 and len(sections) > 1 else 2 if number == 0 and len(sections) > 2 else 0
        if not sections[section]:
            continue
        shown = format(number.scaleb(2).normalize(), "f")
        records[i][c - 1] = f"{shown}%"
        count += 1
        if not example:
            example = f"{column_letters(c)}{r} holds {text}, shown {shown}%: read as {shown} %, never {text} %"
    if not count:
        return ""
    return f"{count} cell(s) formatted as percentages were read as Excel shows them, x 100 ({example})"


def _merged(ws, first_row: int) -> list[tuple[int, int, int, int]]:
    """The sheet's merged cell ranges as positions in its records (first row, first
    column, last row, last column; records start at spreadsheet row ``first_row`` and
    column A): those starting in the first 50 records may be the header's (H162), those
    below it data cells merged down over several rows, read for each row they cover."""
    try:
        ranges = ws.merged_cell_ranges or []
    except Exception:  # a damaged <mergeCells>: the header is read as the cells say
        return []
    out = []
    for (r1, c1), (r2, c2) in ranges:
        top = r1 + 1 - first_row
        if top >= 0:
            out.append((top, c1, r2 + 1 - first_row, c2))
    return out


def _say_hidden(table: RawTable, scan: SheetScan) -> None:
    """A note for the rows and columns of the sheet hidden in Excel that hold data: they
    are read like the others (a hidden result is still a result), but the user hid them."""
    data_rows = set(table.row_numbers.to_pylist()) if scan.hidden_rows else set()
    rows = sorted(r for r in set(scan.hidden_rows) if r in data_rows)
    cols = sorted(c for c in set(scan.hidden_columns) if scan.min_col <= c <= scan.max_col)
    for found, shown, text in (
        (
            rows,
            [f"row {r}" for r in rows[:10]],
            "{n} row(s) hidden in the workbook ({shown}) were read like the "
            "others; check they are meant to be imported",
        ),
        (
            cols,
            [f"column {column_letters(c)}" for c in cols[:10]],
            "{n} column(s) are hidden in the workbook ({shown}): read like any other column; check what they hold",
        ),
    ):
        if found:
            listed = ", ".join(shown) + (" ..." if len(found) > 10 else "")
            table.warnings.append(Problem(None, None, text.format(n=len(found), shown=listed)))


def _declared_too_large(ref: str) -> bool:
    """True when a declared range (``A1:XFD1048576``) is beyond what is ever read: a
    reader trusting it would have tried to fill billions of cells (worth a note)."""
    m = re.fullmatch(r"([A-Z]{1,3})(\d{1,7})(?::([A-Z]{1,3})(\d{1,7}))?", ref.strip().upper())
    if not m or not m.group(3):
        return False
    rows = abs(int(m.group(4)) - int(m.group(2))) + 1
    cols = abs(_column_number(m.group(3)) - _column_number(m.group(1))) + 1
    return cols > MAX_COLUMNS or rows * cols > MAX_XLSX_CELLS


def _ref(scan: SheetScan) -> str:
    return f"{column_letters(scan.min_col)}{scan.min_row}:{column_letters(scan.max_col)}{scan.max_row}"


def cell_text(v: object) -> str:
    """One cell as text (the rules every reader of the project follows).

    Text is stripped; a whole number is written without ".0" (an MRN typed as a number
    stays "12345"); a date without a time is "YYYY-MM-DD", with one "YYYY-MM-DD
    HH:MM:SS"; TRUE/FALSE for booleans; nothing for an empty cell.
    """
    kind = v.__class__  # exact types first: most cells are text or floats
    if kind is str:
        return v.strip()  # type: ignore[attr-defined]
    if kind is float:
        return str(int(v)) if v.is_integer() and abs(v) < 1e15 else repr(v)  # type: ignore[attr-defined,arg-type,call-overload]
    if v is None:
        return ""
    if kind is bool:
        return "TRUE" if v else "FALSE"
    if isinstance(v, dt.datetime):
        if v.year < 1000:
            return v.strftime("%Y-%m-%d %H:%M:%S") if (v.hour or v.minute or v.second) else v.strftime("%Y-%m-%d")
        return v.isoformat(" ", "seconds") if (v.hour or v.minute or v.second) else v.date().isoformat()
    if isinstance(v, dt.date):
        return v.strftime("%Y-%m-%d") if v.year < 1000 else v.isoformat()
    if isinstance(v, dt.time):
        return v.strftime("%H:%M:%S")
    if isinstance(v, float):
        return repr(v) if not (v.is_integer() and abs(v) < 1e15) else str(int(v))
    return str(v).strip()


__all__ = [
    "MAX_XLSX_CELLS",
    "MAX_XLSX_RATIO",
    "MAX_XLSX_TOTAL_RATIO",
    "MAX_XLSX_UNCOMPRESSED",
    "SheetScan",
    "WorkbookScan",
    "cell_text",
    "check_workbook",
    "read_excel",
]
