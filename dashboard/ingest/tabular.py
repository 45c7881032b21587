"""Reading bytes into a table of text cells, whatever the container and encoding.

Content decides, never the file name: an ``.xlsx`` that is really a CSV is read as a
CSV and the other way round.  Every cell comes out as a string (``""`` when empty);
interpretation happens later, in one place per concern.

Clean delimited files take a fast path through ``pyarrow.csv``; files with ragged rows
or blank lines go through Python's ``csv`` module so that every rejected row can be
named by its number.
"""

from __future__ import annotations

import csv
import io
import os
import re
import zipfile
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from dashboard import model
from dashboard.ingest.dates import string_buffers
from dashboard.ingest.report import Problem
from dashboard.units import resolve_unit

#: Most columns read from one file or sheet (a flowsheet of years of dates has hundreds;
#: Excel's own limit is 16,384).
MAX_COLUMNS = 5_000
#: Rows read from a single file or sheet before refusing it (``DASHBOARD_MAX_ROWS``
#: overrides it, e.g. lower on a small server).
MAX_ROWS = 20_000_000


def max_rows() -> int:
    """The row limit per file or sheet in force (``DASHBOARD_MAX_ROWS`` or :data:`MAX_ROWS`)."""
    try:
        return max(1, int(os.environ.get("DASHBOARD_MAX_ROWS", "") or MAX_ROWS))
    except ValueError:
        return MAX_ROWS


def too_many_rows(rows: str) -> UnreadableFile:
    """The refusal of a file over the row limit, in words (nothing of it is imported)."""
    limit = max_rows()
    return UnreadableFile(
        f"the file has {rows} rows and the limit is {limit:,} rows per file, so nothing of it was imported: "
        "split the export into smaller files (for example by date range) and import them together"
    )


DELIMITERS = ("\t", ";", ",", "|")

#: The longest line read (a header of thousands of long column names fits; a value
#: this long is no lab result).  Python's csv module refuses fields over 131,072
#: characters by default, which made one long cell abort the whole file.
MAX_LINE = 16 * 1024 * 1024
csv.field_size_limit(max(csv.field_size_limit(), MAX_LINE))
_SAMPLE = 262_144


class UnreadableFile(Exception):
    """The file cannot be read as a table at all (message is shown to the user)."""


@dataclass
class RawTable:
    """A table of text cells read from one file or sheet."""

    name: str
    header: list[str]
    columns: dict[str, pa.Array]
    row_numbers: pa.Array  # int64, spreadsheet numbering (header row = its own number)
    encoding: str = ""
    delimiter: str = ""
    sheet: str = ""
    container: str = "text"  # text | xlsx
    refused: str = ""  # why a sheet was not read at all (too large): then it has no rows
    rejected: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    preamble: list[str] = field(default_factory=list)
    #: an Excel workbook in the 1904 date system: a date written as a plain day number
    #: counts from 1904-01-01, not from 1899-12-30
    date1904: bool = False
    #: the header's cells as the file wrote them (before :func:`dedupe_header` named empty
    #: and repeated ones): what a header row repeated further down looks like
    raw_header: list[str] = field(default_factory=list)
    #: header cells merged over several columns (an Excel workbook): (first column,
    #: last column, 0-based positions in ``header``, the merged cell's text, its range
    #: as Excel writes it "D1:E1"); the columns it covers are named by
    #: :func:`absorb_units_row` and :func:`name_merged_columns`
    merged_header: list[tuple[int, int, str, str]] = field(default_factory=list)

    @property
    def num_rows(self) -> int:
        return len(self.row_numbers)

    def column(self, name: str) -> pa.Array:
        return self.columns[name]

    @classmethod
    def of_cells(
        cls,
        name: str,
        header: list[str],
        cols: list[list[str]],
        rows: list[int],
        rejected: list[Problem],
        *,
        sheet: str = "",
        container: str = "text",
    ) -> RawTable:
        """A table from its header, a list of cell texts per column, and the row numbers."""
        columns = {h: pa.array(c, type=pa.string()) for h, c in zip(header, cols, strict=True)}
        return cls(
            name, header, columns, pa.array(rows, type=pa.int64()), sheet=sheet, container=container, rejected=rejected
        )


# --------------------------------------------------------------------------- containers


_CONTROL = set(range(0, 32)) - {9, 10, 13}


def _looks_binary(text: str) -> bool:
    """Many control characters in decoded text: not an export a person wrote."""
    if not text:
        return False
    control = sum(1 for ch in text[:4000] if ord(ch) in _CONTROL or ch == "\ufffd")
    return control > 0.05 * min(len(text), 4000)


#: The start of an HL7 v2 message or batch: MSH (or a batch's FHS / BHS), the field
#: separator, the encoding characters (^~\\& and, from v2.7, #) and the separator again,
#: after an MLLP start byte (0x0B) when the message was captured off the wire.
HL7_V2_START = re.compile(r"\x0b?(?:MSH|FHS|BHS)([^\w\s])[^\w\s]{3,5}\1")

#: Why an HL7 v2 message is refused (it is a message of segments, not a table).
HL7_V2_REFUSAL = (
    "an HL7 v2 message: this dashboard reads CSV/TSV/Excel tables and FHIR JSON, not HL7 v2; "
    "export the results as a table or FHIR"
)


def hl7_segments(text: str) -> list[str]:
    """The segments (lines) of an HL7 v2 message, ended by CR, LF or CRLF, without the
    MLLP framing bytes and blank lines."""
    lines = (seg.strip("\ufeff\x0b\x1c\t ") for seg in re.split(r"\r\n|\r|\n", text))
    return [seg for seg in lines if seg]


def sniff_container(data: bytes) -> str:
    """ "xlsx", "xls", "zip", "zip-bomb", "damaged-zip", "json", "hl7v2", "text" or "binary"
    from the first bytes."""
    head = data[:8]
    if head.startswith(b"PK\x03\x04"):
        if _zip_entries(data) > 10_000:
            return "zip-bomb"  # its directory alone would be the bomb: never parsed
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as z:
                names = z.namelist()
        except zipfile.BadZipFile:
            return "damaged-zip"
        return "xlsx" if any(n.startswith("xl/") for n in names) else "zip"
    if head.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        return "xls"
    text_start = _decode_start(data)
    if text_start is None or _looks_binary(text_start):
        return "binary"
    stripped = text_start.lstrip("\ufeff \t\r\n")
    if stripped.startswith(("{", "[")):
        return "json"
    if HL7_V2_START.match(stripped):
        return "hl7v2"
    return "text"


#: The stream in which Office keeps a password-protected workbook, as its compound file's
#: directory names it (UTF-16LE).
_ENCRYPTED_PACKAGE = "EncryptedPackage".encode("utf-16-le")
_ODS_MIMETYPE = b"application/vnd.oasis.opendocument.spreadsheet"


def compound_file_reason(data: bytes) -> str:
    """Why a compound (OLE2) file is not read: Excel saves a workbook with a password as
    an encrypted package inside one, the container of old .xls files; each is named."""
    if _ENCRYPTED_PACKAGE in data:
        return (
            "the workbook is password-protected (encrypted) and cannot be read: remove the password in Excel "
            "(File > Info > Protect Workbook > Encrypt with Password, clear it), save it again and import it"
        )
    return "old Excel .xls files are not supported: save it as .xlsx or CSV"


def zip_reason(data: bytes) -> str:
    """Why a zip that is no Excel workbook is not read: an OpenDocument spreadsheet
    (LibreOffice's .ods) is named; any other archive is to be extracted."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            info = z.getinfo("mimetype")
            kind = z.read(info)[:200] if info.file_size < 1000 else b""
    except (KeyError, zipfile.BadZipFile, OSError, NotImplementedError, RuntimeError, EOFError):
        kind = b""
    if kind.strip().startswith(_ODS_MIMETYPE):
        return (
            "this is an OpenDocument spreadsheet (.ods, from LibreOffice or OpenOffice), which this dashboard does "
            "not read: open it and save it as Excel (.xlsx) or CSV, then import that"
        )
    return "this is a zip archive: extract it and import the files inside"


def _zip_entries(data: bytes) -> int:
    """The number of parts a zip's end record declares (0 when it has none)."""
    tail = data[-(65536 + 22) :]
    at = tail.rfind(b"PK\x05\x06")
    if at < 0 or at + 12 > len(tail):
        return 0
    return int.from_bytes(tail[at + 10 : at + 12], "little")


def _decode_start(data: bytes) -> str | None:
    sample = data[:4096]
    if not sample:
        return ""
    try:
        text, _enc, _ = decode(sample, partial=True)
    except UnreadableFile:
        return None
    return text


# --------------------------------------------------------------------------- encodings


def decode(data: bytes, partial: bool = False) -> tuple[str, str, list[str]]:
    """Decode bytes to text.  Returns (text, encoding label, notes).

    UTF-8 (with or without BOM) and UTF-16 (BOM, or the NUL pattern of Excel's
    "Unicode text") are recognised exactly; anything else that is not valid UTF-8 is read
    as Windows-1252.  A file mixing UTF-8 and Windows-1252 lines is decoded line by line
    and reported.
    """
    notes: list[str] = []
    if data.startswith(b"\xef\xbb\xbf"):
        return _utf8(data[3:], partial), "UTF-8 (BOM)", notes
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        enc = "utf-16-le" if data.startswith(b"\xff\xfe") else "utf-16-be"
        body = data[2:]
        if partial and len(body) % 2:
            body = body[:-1]
        return body.decode(enc, errors="replace" if partial else "strict"), "UTF-16 (BOM)", notes
    if len(data) >= 4:
        sample = data[:4000]
        even_nul = sample[0::2].count(0)
        odd_nul = sample[1::2].count(0)
        half = len(sample) / 2
        if odd_nul > 0.3 * half and even_nul < 0.05 * half:
            body = data[: len(data) - len(data) % 2]
            return body.decode("utf-16-le", errors="replace"), "UTF-16 LE (no BOM)", notes
        if even_nul > 0.3 * half and odd_nul < 0.05 * half:
            body = data[: len(data) - len(data) % 2]
            return body.decode("utf-16-be", errors="replace"), "UTF-16 BE (no BOM)", notes
    if data[:65536].count(b"\x00") > 0.01 * min(len(data), 65536):
        raise UnreadableFile("this is a binary file, not a text, Excel or FHIR JSON export")
    try:
        return _utf8(data, partial), "UTF-8", notes
    except UnicodeDecodeError:
        pass
    # Not UTF-8: Windows-1252, unless some lines are valid UTF-8 with non-ASCII (mixed).
    lines = data.split(b"\n")
    utf8_lines = 0
    for line in lines:
        if max(line, default=0) >= 0x80:
            try:
                line.decode("utf-8")
                utf8_lines += 1
            except UnicodeDecodeError:
                pass
    if utf8_lines:
        out = []
        cp_lines = 0
        for line in lines:
            try:
                out.append(line.decode("utf-8"))
            except UnicodeDecodeError:
                out.append(line.decode("cp1252", errors="replace"))
                cp_lines += 1
        notes.append(
            f"mixed encodings: {utf8_lines} line(s) UTF-8 and {cp_lines} line(s) Windows-1252; "
            "each line was decoded on its own - check names with accents"
        )
        return "\n".join(out), "mixed UTF-8 / Windows-1252", notes
    return data.decode("cp1252", errors="replace"), "Windows-1252", notes


def _utf8(data: bytes, partial: bool) -> str:
    if partial:
        # a cut multi-byte sequence at the end of a sample is not an error
        for cut in range(4):
            try:
                return data[: len(data) - cut].decode("utf-8")
            except UnicodeDecodeError as exc:
                if exc.start < len(data) - 4:
                    raise
        raise UnicodeDecodeError("utf-8", data, 0, 1, "invalid")
    return data.decode("utf-8")


# --------------------------------------------------------------------------- delimited text


def detect_delimiter(lines: list[str]) -> str:
    """Pick the delimiter that splits the first lines into the most consistent columns."""
    best, best_score = ",", (-1.0, 0)
    sample = [ln for ln in lines[:60] if ln.strip()]
    if not sample:
        return ","
    for d in DELIMITERS:
        rows = list(csv.reader(sample, delimiter=d))
        counts = [len(r) for r in rows]
        modal, freq = Counter(counts).most_common(1)[0]
        if modal < 2:
            continue
        score = (freq / len(counts), modal)
        if score > best_score:
            best, best_score = d, score
    return best


def is_blank(cells: list[str]) -> bool:
    return all(not c.strip() for c in cells)


_NUMERICISH = re.compile(r"^[\s\d.,:/\-+<>eE%]*$")


def find_header(records: list[list[str]]) -> int:
    """Index of the header record among the first records (preamble lines skipped).

    The header is the first record that is as wide as the table's body and whose cells
    are mostly text, not numbers or dates.
    """
    candidates = [r for r in records[:40] if not is_blank(r)]
    if not candidates:
        return 0
    widths = Counter(len([c for c in r]) for r in candidates)
    modal = max(w for w, n in widths.items() if n == max(widths.values()))
    for i, rec in enumerate(records[:40]):
        if is_blank(rec):
            continue
        filled = [c for c in rec if c.strip()]
        if len(rec) >= modal and len(filled) >= max(2, 0.5 * modal):
            texty = sum(1 for c in filled if not _NUMERICISH.match(c))
            if texty >= 0.5 * len(filled):
                return i
    return 0


def dedupe_header(header: list[str]) -> list[str]:
    """Make column names unique and non-empty ("Value", "Value (2)", "column 5").

    A repeat gets the first free " (n)" suffix that is neither taken already nor the
    name of another column of the file: ``value, value, value (2)`` becomes ``value,
    value (3), value (2)``, never two columns named "value (2)".
    """
    names = [h.strip().strip("\ufeff") or f"column {i + 1}" for i, h in enumerate(header)]
    reserved = set(names)
    out: list[str] = []
    taken: set[str] = set()
    for name in names:
        candidate, n = name, 1
        while candidate in taken:
            n += 1
            candidate = f"{name} ({n})"
            while candidate in reserved and candidate not in taken and candidate != name:
                n += 1
                candidate = f"{name} ({n})"
        taken.add(candidate)
        out.append(candidate)
    return out


def read_delimited(name: str, data: bytes) -> RawTable:
    """Read a delimited text file (CSV, TSV, semicolon) into a RawTable.

    Plain UTF-8 files go straight to Arrow's parser (which validates UTF-8 itself);
    other encodings are decoded in Python first.
    """
    body, encoding, notes = _utf8_body(data)
    sample = _SAMPLE
    first_break = _first_line_break(body, MAX_LINE + 1)
    if first_break > _SAMPLE:
        _refuse_a_long_first_line(body, first_break)
        sample = first_break + _SAMPLE  # a wide header: sample past its end
    head = body[:sample].decode("utf-8", errors="replace").lstrip("\ufeff")
    if not head.strip():
        raise UnreadableFile("the file is empty")
    head_lines = head.splitlines()[:80]
    if len(body) > sample and len(head_lines) > 1:
        head_lines = head_lines[:-1]  # the last sampled line may be cut
    delimiter = detect_delimiter(head_lines)
    head_records = list(csv.reader(head_lines[:60], delimiter=delimiter))
    header_idx = find_header(head_records)
    if len(head_records) == 0 or len(head_records[header_idx]) < 2:
        raise UnreadableFile(
            "only one column found: the file does not look like a table "
            "(expected columns separated by commas, semicolons or tabs)"
        )
    if len(head_records[header_idx]) > MAX_COLUMNS:
        raise too_many_columns(len(head_records[header_idx]))
    preamble = [delimiter.join(r) for r in head_records[:header_idx] if not is_blank(r)]

    table = None
    if header_idx == 0:
        header = dedupe_header(head_records[0])
        table = _read_fast(name, body, header, delimiter)
        if table is None and encoding == "UTF-8":
            # not valid UTF-8 after all (or ragged): decode in Python and look again
            body, encoding, notes = _decoded_body(data)
            if encoding != "UTF-8":
                table = _read_fast(name, body, header, delimiter)
    if table is None:
        longest = _longest_line(body, MAX_LINE)
        if longest > MAX_LINE:
            raise UnreadableFile(
                f"the file has a line of more than {MAX_LINE // (1024 * 1024)} MB: not a lab export "
                "(an export has one short line per result or draw)"
            )
        text, encoding, notes = decode(data)
        table = _read_slow(name, text.lstrip("\ufeff"), delimiter, header_idx)
    table.raw_header = table.raw_header or list(head_records[header_idx])
    table.encoding = encoding
    table.delimiter = delimiter
    table.preamble = preamble
    if b"\x00" in body:  # one scan of the bytes instead of one per column
        reject_nul_rows(table)
    absorb_units_row(table)
    drop_repeated_headers(table)
    for n in notes:
        table.warnings.append(Problem(None, None, n))
    if preamble:
        table.warnings.append(
            Problem(None, None, f"{len(preamble)} line(s) above the header were skipped", " | ".join(preamble)[:200])
        )
    return table


def too_many_columns(n: int) -> UnreadableFile:
    return UnreadableFile(
        f"the file has {n:,} columns; the limit is {MAX_COLUMNS:,} columns "
        "(a lab export has one column per field, analyte or draw date)"
    )


def _first_line_break(body: bytes, stop: int) -> int:
    """Where the first line ends (the length of the body when it never does, capped at ``stop``)."""
    ends = [i for i in (body.find(b"\n", 0, stop), body.find(b"\r", 0, stop)) if i >= 0]
    return min(ends) if ends else min(len(body), stop)


def _refuse_a_long_first_line(body: bytes, first_break: int) -> None:
    """A first line longer than the sample: thousands of columns, or no table at all."""
    line = body[:first_break]
    columns = max(line.count(d.encode()) for d in DELIMITERS) + 1
    if columns > MAX_COLUMNS:
        if first_break > MAX_LINE:
            raise UnreadableFile(
                f"the file's first line is longer than {MAX_LINE // (1024 * 1024)} MB and holds more than "
                f"{columns - 1:,} separators: more than the limit of {MAX_COLUMNS:,} columns"
            )
        raise too_many_columns(columns)
    if first_break > MAX_LINE or columns < 2:
        size = f"more than {MAX_LINE // (1024 * 1024)} MB" if first_break > MAX_LINE else f"{first_break / 1e6:,.1f} MB"
        raise UnreadableFile(
            f"the file's first line runs {size} without a line break or a column separator: not a table export"
        )


def refusal_from_head(head: bytes, size: int) -> str:
    """Why a large text file is refused from its first bytes alone ("" when it is not):
    a first line longer than :data:`MAX_LINE` (then the rest is never read)."""
    if size <= MAX_LINE or sniff_container(head) != "text":
        return ""
    body = head[3:] if head.startswith(b"\xef\xbb\xbf") else head
    if _looks_utf16(body):
        return ""
    try:
        _refuse_a_long_first_line(body, _first_line_break(body, MAX_LINE + 1))
    except UnreadableFile as exc:
        return str(exc) if _first_line_break(body, MAX_LINE + 1) > MAX_LINE else ""
    return ""


def _longest_line(body: bytes, stop_above: int) -> int:
    """The longest line of ``body`` (counted in blocks; stops once one is over ``stop_above``)."""
    longest = run = 0
    block = 1 << 24
    for start in range(0, len(body), block):
        chunk = np.frombuffer(body, dtype=np.uint8, count=min(block, len(body) - start), offset=start)
        breaks = np.flatnonzero((chunk == 10) | (chunk == 13))
        if not len(breaks):
            run += len(chunk)
        else:
            longest = max(longest, run + int(breaks[0]), int(np.diff(breaks).max(initial=0)))
            run = len(chunk) - 1 - int(breaks[-1])
        longest = max(longest, run)
        if longest > stop_above:
            break
    return longest


_UNIT_LABELS = frozenset({"unit", "units", "einheit", "einheiten", "unite", "unites", "unidad", "unidades"})
_NUMBER = re.compile(r"^[<>≤≥=]*\s*[-+]?\d+(?:[.,]\d+)?\s*$")


def absorb_units_row(table: RawTable) -> None:
    """A row of units right under the header ("", "", "10^9/L", "g/dL") belongs to the header.

    Spreadsheets often put the units on a second header line.  When the first row holds
    only units (at least two, no number) and a data row follows, each unit is added to
    its column's header ("Hb" -> "Hb [g/dL]", read like any unit in a header) and the
    row is taken out of the data, with a note.  Anything else is left as data.
    """
    if table.num_rows < 2 or not table.header:
        return
    first = {h: (table.columns[h][0].as_py() or "").strip() for h in table.header}
    cells = {h: v for h, v in first.items() if v}
    units = {h: v for h, v in cells.items() if v.lower() not in _UNIT_LABELS}
    if len(units) < 2 or any(_NUMBER.match(v) for v in cells.values()):
        return
    if not all(any(resolve_unit(a, v).factor is not None for a in model.ANALYTES) for v in units.values()):
        return
    # a column under a header cell merged over it ("Neutrophils" over "%" and "x10^9/L")
    # is named by the merged cell and its own unit: "Neutrophils [x10^9/L]"
    base = list(table.header)
    for start, stop, text, _ref in table.merged_header:
        for j in range(start + 1, stop + 1):
            if not _raw_cell(table, j) and table.header[j] in units:
                base[j] = text
    header = dedupe_header([f"{b} [{units[h]}]" if h in units else h for h, b in zip(table.header, base, strict=True)])
    row = int(table.row_numbers[0].as_py())
    table.columns = {new: table.columns[old].slice(1) for old, new in zip(table.header, header, strict=True)}
    table.header = header
    table.row_numbers = table.row_numbers.slice(1)
    table.warnings.append(
        Problem(
            row,
            None,
            f"row {row} holds the units of the columns above; read as part of the header",
            " | ".join(units.values())[:200],
        )
    )


def _raw_cell(table: RawTable, j: int) -> str:
    """The header cell of column ``j`` as the file wrote it ("" for an empty one)."""
    return table.raw_header[j].strip() if j < len(table.raw_header) else ""


def _is_unit_text(text: str) -> bool:
    """A unit some analyte is reported in ("mmol/L", "x10^9/L", "/uL"), not a number."""
    return not _NUMBER.match(text) and any(resolve_unit(a, text).factor is not None for a in model.ANALYTES)


def name_merged_columns(table: RawTable) -> None:
    """The columns a header cell merged over several columns covers, left unnamed by the
    file (Excel keeps the text in the first cell only): "Result" over the value and unit
    columns.  A covered column whose every filled cell is a unit is that text's unit
    column ("Result unit", read as the unit); any other is not guessed at: it keeps its
    "column N" name and a note says which merged header it sits under, so that it can be
    mapped by hand.  (A units row under the header has named them already:
    :func:`absorb_units_row`.)"""
    if not table.merged_header:
        return
    names = list(table.header)
    unclear: list[tuple[str, str, str]] = []
    for first, last, text, ref in table.merged_header:
        for j in range(first + 1, last + 1):
            if _raw_cell(table, j) or names[j] != f"column {j + 1}":
                continue  # named by the file, or by its units row
            cells = {v.strip() for v in table.columns[names[j]].to_pylist() if v and v.strip()}
            if cells and len(cells) <= 200 and all(_is_unit_text(v) for v in cells):
                names[j] = f"{text} unit"
            else:
                unclear.append((names[j], text, ref))
    if names != table.header:
        header = dedupe_header(names)
        table.columns = {new: table.columns[old] for old, new in zip(table.header, header, strict=True)}
        table.header = header
    for name, text, ref in unclear:
        table.warnings.append(
            Problem(
                None,
                None,
                f"'{name}' sits under the header '{text}' merged over {ref}, and what it holds is not said "
                "(no name or unit of its own): it is not read as anything; map it by hand if it holds results",
            )
        )


def reject_nul_rows(table: RawTable) -> None:
    """Reject the rows holding a NUL byte (binary data inside a text file), whichever path
    read them: a NUL can hide the end of an id or a value from one program and not another."""
    if not table.num_rows or not table.header:
        return
    nul = None
    for h in table.header:
        has = pc.match_substring(table.columns[h], "\x00")
        nul = has if nul is None else pc.or_(nul, has)
    if not pc.any(nul).as_py():
        return
    rows = pc.filter(table.row_numbers, nul).to_pylist()
    for row in rows:
        table.rejected.append(
            Problem(row, None, "the row contains a NUL byte (binary data in a text file); row skipped")
        )
    keep = pc.invert(nul)
    table.columns = {h: pc.filter(a, keep) for h, a in table.columns.items()}
    table.row_numbers = pc.filter(table.row_numbers, keep)
    table.warnings.append(Problem(None, None, f"{len(rows)} row(s) hold NUL bytes (binary data) and were rejected"))


def header_names(table: RawTable) -> list[str]:
    """The header's cells as the file wrote them, trimmed: what a repeat of it holds."""
    cells = table.raw_header if len(table.raw_header) == len(table.header) else table.header
    return [c.strip().strip("\ufeff").strip() for c in cells]


def header_rows(columns: list[pa.Array], names: list[str]) -> np.ndarray:
    """The positions of the rows that repeat a header (``names``: its cells as written).

    Such a row holds header names in at least two of its cells, and in at least half of
    the cells it fills, in any order: the same header again, the same names in another
    column order, or most of them (a second export with other columns).  A data row
    holds values, not column names.  Each column's cells are first filtered by their
    first byte, then by their length and first byte, both read from the buffers; only the
    rows left (usually none) are looked up.
    """
    n = len(columns[0]) if columns else 0
    distinct = sorted({k for k in names if k})
    if not n or len(distinct) < 2:
        return np.zeros(0, dtype=np.int64)
    value_set = pa.array(distinct, pa.string())
    # first the first byte of each cell, then the length and first byte of the rows still
    # in question, then the exact look-up of the few left: no hashing of a million texts.
    # The first byte goes first because it is the sharper filter on real exports (ids,
    # dates and values start with digits or capitals, header names rarely do), and it
    # costs no more than the length.
    encoded = [t.encode("utf-8") for t in distinct]
    rows = _rows_with_two(columns, lambda arr, at: _first_byte_fits(arr, encoded), None)
    if rows is not None and len(rows):
        rows = _rows_with_two(columns, lambda arr, at: _first_bytes_fit(arr, at, encoded), rows)
    if rows is not None and not len(rows):
        return rows
    at = None if rows is None else pa.array(rows)
    hits = np.zeros(n if rows is None else len(rows), dtype=np.int32)
    for arr in columns:
        cells = arr if at is None else pc.take(arr, at)
        hits += pc.is_in(cells, value_set=value_set).to_numpy(zero_copy_only=False)
    two = hits >= 2
    candidates, named = (np.arange(n) if rows is None else rows)[two], hits[two]
    if not len(candidates):
        return candidates
    at = pa.array(candidates)
    filled = np.zeros(len(candidates), dtype=np.int32)
    for arr in columns:
        filled += pc.not_equal(pc.take(arr, at), "").to_numpy(zero_copy_only=False)
    return candidates[2 * named >= filled]


def _rows_with_two(
    columns: list[pa.Array], fits: Callable[[pa.Array, np.ndarray | None], np.ndarray | None], rows: np.ndarray | None
) -> np.ndarray | None:
    """The rows (of ``rows``, or of all) where at least two columns' cells pass ``fits``
    (a filter that may say yes wrongly, never no); None when a column cannot be filtered
    that way (then every row stays in question)."""
    count = None
    for arr in columns:
        ok = fits(arr, rows)
        if ok is None:
            return rows
        count = ok.astype(np.int32) if count is None else count + ok
    if count is None:
        return rows
    keep = np.flatnonzero(count >= 2)
    return keep if rows is None else rows[keep]


def _buffers(arr: pa.Array) -> tuple[np.ndarray, np.ndarray] | None:
    """Offsets and bytes of a string array without nulls (:func:`dates.string_buffers`), else None."""
    return None if arr.null_count or not len(arr) else string_buffers(arr)


def _first_byte_fits(arr: pa.Array, texts: list[bytes]) -> np.ndarray | None:
    """Per cell: its first byte is the first byte of one of ``texts`` (all non-empty).

    An empty cell shows the next cell's first byte instead: that can only say yes
    wrongly (an empty cell equals no text), which the later checks settle."""
    bufs = _buffers(arr)
    if bufs is None:
        return None
    offsets, data = bufs
    if not len(data):
        return np.zeros(len(arr), dtype=bool)
    table = np.zeros(256, dtype=bool)
    table[[t[0] for t in texts]] = True
    start = offsets[:-1]
    if start[-1] >= len(data):  # trailing empty cells at the very end of the bytes
        start = np.minimum(start, len(data) - 1)
    # np.take rather than indexing: the same gather, about twice as fast on a million cells
    return np.take(table, np.take(data, start))


def _first_bytes_fit(arr: pa.Array, rows: np.ndarray | None, texts: list[bytes]) -> np.ndarray | None:
    """Per cell (of ``rows``): its length and first byte are those of one of ``texts``."""
    bufs = _buffers(arr)
    if bufs is None:
        return None
    offsets, data = bufs
    if not len(data):
        return np.zeros(len(arr) if rows is None else len(rows), dtype=bool)
    longest = max(len(t) for t in texts)
    table = np.zeros((longest + 2) * 256, dtype=bool)  # [length, first byte], flattened
    table[[len(t) * 256 + t[0] for t in texts]] = True
    start = offsets[:-1] if rows is None else np.take(offsets, rows)
    length = (np.diff(offsets) if rows is None else np.take(offsets, rows + 1) - start).astype(np.int64)
    first = np.take(data, np.minimum(start, len(data) - 1))
    return np.take(table, np.minimum(length, longest + 1) * 256 + first)


def _header_order(cells: list[str], names: list[str]) -> tuple[str, list[int]]:
    """How a repeated header row relates to the header: ("same", []), ("order", where)
    with ``where[j]`` the position in the row of the header's ``j``-th column, ("unclear",
    []) when columns of one name moved (which is which cannot be told), or ("other", [])."""
    if cells == names:
        return "same", []
    if sorted(cells) != sorted(names):
        return "other", []
    spots: dict[str, list[int]] = {}
    for j, c in enumerate(cells):
        spots.setdefault(c, []).append(j)
    where: list[int] = []
    for j, name in enumerate(names):
        if len(spots[name]) == 1:
            where.append(spots[name][0])
        elif j in spots[name]:
            where.append(j)  # a name the header has twice stays where it stands in both
        else:
            return "unclear", []
    return "order", where


def drop_repeated_headers(table: RawTable) -> None:
    """Settle the rows that repeat the header (two exports pasted into one file).

    A header row is never data: it is rejected with what it is, never "date not
    recognised ('Collection Date')".  The rows below it belong to it: the same header
    again changes nothing; the same names in another column order put each row's cells
    back under the first header's columns (its "Ref Low" is never read as the result);
    other names (a different export), or columns of one name that moved, reject every row
    below it up to the next header, with the reason.  The rows stay counted.
    """
    if not table.num_rows or not table.header:
        return
    names = header_names(table)
    arrays = [table.columns[h] for h in table.header]
    at = header_rows(arrays, names)
    if not len(at):
        return
    row_cells = list(zip(*(pc.take(a, pa.array(at)).to_pylist() for a in arrays), strict=True))
    numbers = table.row_numbers.to_numpy(zero_copy_only=False)
    n = table.num_rows
    drop = np.zeros(n, dtype=bool)
    drop[at] = True
    reordered: list[tuple[int, int, list[int]]] = []
    for k, i in enumerate(at):
        end = int(at[k + 1]) if k + 1 < len(at) else n
        row = int(numbers[i])
        how, where = _header_order(list(row_cells[k]), names)
        reason = _REPEATED_HEADER[how]
        if how == "other":
            new = [c for c in dict.fromkeys(row_cells[k]) if c and c not in names]
            if new:
                reason += f" (not in the first header: {', '.join(repr(c) for c in new[:5])})"
        table.rejected.append(Problem(row, None, reason, " | ".join(row_cells[k])[:200]))
        if how == "order":
            reordered.append((int(i) + 1, end, where))
        elif how in ("other", "unclear"):
            below = _BELOW_HEADER[how].format(row=row)
            for r in numbers[int(i) + 1 : end].tolist():
                table.rejected.append(Problem(r, None, below))
            drop[int(i) + 1 : end] = True
    if reordered:
        table.columns = _reorder(table, arrays, reordered)
    keep = pa.array(~drop)
    table.columns = {h: pc.filter(a, keep) for h, a in table.columns.items()}
    table.row_numbers = pc.filter(table.row_numbers, keep)


_REPEATED_HEADER = {
    "same": "the header row is repeated here (two exports pasted together?); row skipped",
    "order": "the header row is repeated here in another column order (two exports pasted together?); "
    "row skipped, and the rows below it are read in its column order",
    "unclear": "the header row is repeated here in another column order, and columns of the same name "
    "moved, so which is which cannot be told; row skipped",
    "other": "a second header row with other column names (two different exports pasted together?); row skipped",
}
_BELOW_HEADER = {
    "unclear": "below the header repeated in another column order at row {row}, whose columns of the same "
    "name cannot be told apart: not read under the first header's columns; import that export on its own",
    "other": "below a second header row at row {row} with other column names: not read under the first "
    "header's columns; import that export on its own",
}


def _reorder(table: RawTable, arrays: list[pa.Array], blocks: list[tuple[int, int, list[int]]]) -> dict[str, pa.Array]:
    """The columns with each block's rows (``start``, ``end``, ``where``) taken from the
    columns its own header row put them in; the other rows as they are."""
    out: dict[str, pa.Array] = {}
    for j, h in enumerate(table.header):
        pieces: list[pa.Array] = []
        done = 0
        for start, end, where in blocks:
            pieces.append(arrays[j].slice(done, start - done))
            pieces.append(arrays[where[j]].slice(start, end - start))
            done = end
        pieces.append(arrays[j].slice(done))
        out[h] = pa.concat_arrays(pieces)
    return out


def _utf8_body(data: bytes) -> tuple[bytes, str, list[str]]:
    """UTF-8 bytes to parse, and the encoding label, without decoding plain UTF-8."""
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:], "UTF-8 (BOM)", []
    if data.startswith((b"\xff\xfe", b"\xfe\xff")) or _looks_utf16(data):
        return _decoded_body(data)
    if b"\x00" in data:
        nuls = data.count(b"\x00")
        if nuls > 0.01 * len(data):
            raise UnreadableFile("this is a binary file, not a text, Excel or FHIR JSON export")
        # a few stray NUL bytes are kept, never dropped: the rows holding them are rejected
    if not data.isascii():
        try:
            data.decode("utf-8")  # validity check only; Arrow parses the bytes
        except UnicodeDecodeError:
            return _decoded_body(data)
    return data, "UTF-8", []


def _looks_utf16(data: bytes) -> bool:
    sample = data[:4000]
    if len(sample) < 4:
        return False
    half = len(sample) / 2
    even, odd = sample[0::2].count(0), sample[1::2].count(0)
    return (odd > 0.3 * half and even < 0.05 * half) or (even > 0.3 * half and odd < 0.05 * half)


def _decoded_body(data: bytes) -> tuple[bytes, str, list[str]]:
    text, encoding, notes = decode(data)
    return text.lstrip("\ufeff").encode("utf-8"), encoding, notes


def _read_fast(name: str, body: bytes, header: list[str], delimiter: str) -> RawTable | None:
    invalid: list[int] = []

    def handler(row: pacsv.InvalidRow) -> str:
        invalid.append(row.number or -1)
        return "skip"

    try:
        tbl = pacsv.read_csv(
            pa.BufferReader(body),  # Arrow reads the bytes in place (a Python file object costs a copy a block)
            read_options=pacsv.ReadOptions(column_names=header, skip_rows=1, block_size=1 << 22),
            # a blank line becomes an invalid row, which sends the file to the slow path
            # where it is counted; so do rows of bare delimiters (checked below)
            parse_options=pacsv.ParseOptions(
                delimiter=delimiter,
                newlines_in_values=b'"' in body,
                invalid_row_handler=handler,
                ignore_empty_lines=False,
            ),
            convert_options=pacsv.ConvertOptions(
                column_types={h: pa.string() for h in header},
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return None
    if invalid:
        return None
    n = tbl.num_rows
    if n > max_rows():
        raise too_many_rows(f"{n:,}")
    # each column made contiguous (and trimmed) in turn, its blocks dropped as soon as it
    # is: the whole table is never held twice (about 60 MB less at the peak for 1M results)
    parts = dict(zip(header, tbl.columns, strict=True))
    del tbl
    columns = {h: _strip(parts.pop(h).combine_chunks()) for h in header}
    if n and _any_blank_row(columns):
        return None
    # Record numbers: header is row 1.  Physical lines equal records unless a quoted
    # value spans lines; spreadsheet programs number records, so do we.
    rows = pa.array(np.arange(2, n + 2, dtype=np.int64))
    return RawTable(name, header, columns, rows)


def _any_blank_row(columns: dict[str, pa.Array]) -> bool:
    """True if some row has every cell empty (a line of bare delimiters)."""
    blank = None
    for arr in columns.values():
        empty = pc.equal(arr, "")
        blank = empty if blank is None else pc.and_(blank, empty)
        if not pc.any(blank).as_py():
            return False
    return True


def _strip(col: pa.ChunkedArray | pa.Array) -> pa.Array:
    arr = col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col
    # ASCII trimming is several times faster and leaves multi-byte characters intact;
    # a non-breaking space around a value is handled by the value parser.  Most columns
    # have nothing to trim: looking at the first and last byte of each cell is cheaper
    # than rewriting the column.
    if pa.types.is_string(arr.type) and not arr.null_count and len(arr):
        bufs = arr.buffers()
        if bufs[2] is None:
            return arr
        offsets = np.frombuffer(bufs[1], dtype=np.int32, count=len(arr) + 1, offset=arr.offset * 4)
        data = np.frombuffer(bufs[2], dtype=np.uint8)
        if offsets[-1] == offsets[0]:
            return arr  # every cell empty
        # No byte up to the space anywhere in the column's text: nothing to trim.  One
        # pass over contiguous bytes, several times cheaper than the two gathers below,
        # which only columns with spaces inside their cells (date-times, names) need.
        # (the smallest byte, a reduction without a temporary array of a byte per byte)
        if int(data[offsets[0] : offsets[-1]].min()) > 32:
            return arr
        # The first and last byte of every cell.  An empty cell shows a neighbour's byte
        # instead: that can only make the answer "trim", which is always safe.  (np.take:
        # the same gather as indexing, about twice as fast on a million cells.)
        last = np.take(data, np.maximum(offsets[1:] - 1, offsets[0]))
        first = np.take(data, np.minimum(offsets[:-1], offsets[-1] - 1))
        if not (_any_ascii_space(last) or _any_ascii_space(first)):
            return arr
    return pc.ascii_trim_whitespace(arr)


def _any_ascii_space(b: np.ndarray) -> bool:
    """Whether any byte is one that ``ascii_trim_whitespace`` removes (9-13 or 32)."""
    return bool(((b - np.uint8(9)) <= 4).any() or (b == 32).any())


def _read_slow(name: str, text: str, delimiter: str, header_idx: int) -> RawTable:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    records = iter(reader)
    header: list[str] = []
    raw_header: list[str] = []
    for i, rec in enumerate(records):
        if i == header_idx:
            header, raw_header = dedupe_header(rec), rec
            break
    width = len(header)
    body: list[tuple[int, list[str]]] = []
    blank = 0
    rec_no = header_idx + 1  # spreadsheet number of the header
    for rec in records:
        rec_no += 1
        if is_blank(rec):
            blank += 1
            continue
        body.append((rec_no, rec))
        if len(body) > max_rows():
            raise too_many_rows(f"more than {max_rows():,}")
    # Trailing empty fields are an export habit only when most rows have them; on a
    # single row they mean the row is shifted (e.g. an unquoted decimal comma).
    padded = sum(1 for _, rec in body if len(rec) > width and is_blank(rec[width:]))
    trim = padded > len(body) / 2
    cols: list[list[str]] = [[] for _ in range(width)]
    rows: list[int] = []
    rejected: list[Problem] = []
    for rec_no, rec in body:
        if trim and len(rec) > width and is_blank(rec[width:]):
            rec = rec[:width]
        if len(rec) != width:
            what = "more" if len(rec) > width else "fewer"
            rejected.append(
                Problem(
                    rec_no,
                    None,
                    f"row has {what} values ({len(rec)}) than the header has columns ({width}); "
                    "it may be cut off or contain an unquoted delimiter",
                    delimiter.join(rec)[:200],
                )
            )
            continue
        for j, cell in enumerate(rec):
            cols[j].append(cell.strip())
        rows.append(rec_no)
    table = RawTable.of_cells(name, header, cols, rows, rejected)
    table.raw_header = raw_header
    if blank:
        table.warnings.append(Problem(None, None, f"{blank} blank line(s) ignored"))
    return table


# --------------------------------------------------------------------------- records (Excel sheets)


def table_from_records(
    name: str,
    records: list[list[str]],
    sheet: str = "",
    first_row: int = 1,
    merged: list[tuple[int, int, int, int]] | None = None,
) -> RawTable:
    """A table from a sheet's records (lists of cell texts), the first record being
    spreadsheet row ``first_row``; ``merged``: the sheet's merged cell ranges (first row,
    first column, last row, last column; 0-based positions in ``records``)."""
    header_idx = find_header(records)
    header = dedupe_header(records[header_idx])
    # drop trailing empty header cells that have no data under them
    width = len(header)
    merged_down = _fill_merged_down(records, header_idx, header, merged or [], first_row)
    cols: list[list[str]] = [[] for _ in range(width)]
    rows: list[int] = []
    rejected: list[Problem] = []
    blank = 0
    for i, rec in enumerate(records[header_idx + 1 :], start=header_idx + first_row + 1):
        if is_blank(rec):
            blank += 1
            continue
        if len(rec) < width:
            rec = rec + [""] * (width - len(rec))
        elif len(rec) > width:
            if not is_blank(rec[width:]):
                rejected.append(Problem(i, None, "row has values beyond the last named column", " | ".join(rec)[:200]))
                continue
            rec = rec[:width]
        for j, cell in enumerate(rec):
            cols[j].append(cell)
        rows.append(i)
    table = RawTable.of_cells(name, header, cols, rows, rejected, sheet=sheet, container="xlsx")
    table.raw_header = list(records[header_idx])
    table.merged_header = _merged_over_header(records, header_idx, width, merged or [], first_row)
    absorb_units_row(table)
    name_merged_columns(table)
    drop_repeated_headers(table)
    preamble = [" | ".join(c for c in r if c) for r in records[:header_idx] if not is_blank(r)]
    if preamble:
        table.preamble = preamble
        table.warnings.append(
            Problem(None, None, f"{len(preamble)} row(s) above the header were skipped", " / ".join(preamble)[:200])
        )
    if blank:
        table.warnings.append(Problem(None, None, f"{blank} blank row(s) ignored"))
    if merged_down:
        table.warnings.append(Problem(None, None, merged_down))
    return table


def _fill_merged_down(
    records: list[list[str]],
    header_idx: int,
    header: list[str],
    merged: list[tuple[int, int, int, int]],
    first_row: int,
) -> str:
    """A data cell merged down over several rows (an MRN and a date merged over the
    results of one draw) is shown by Excel beside each row it covers, but stored in its
    first cell only: its value is read for each covered row that holds data and whose own
    cell is empty (a covered cell holding a value keeps it).  Returns the report's note
    ("" when no cell was filled).  Merges in or above the header are the header's
    (:func:`_merged_over_header`)."""
    filled: list[str] = []
    count = 0
    budget = 2 * len(records) + 1000  # overlapping ranges (never written by Excel) cannot make this quadratic
    for r1, c1, r2, c2 in merged:
        if r1 <= header_idx or r2 <= r1 or c1 >= len(header) or r1 >= len(records) or budget <= 0:
            continue
        top = records[r1][c1].strip() if c1 < len(records[r1]) else ""
        if not top:
            continue
        rows = []
        for i in range(r1 + 1, min(r2, len(records) - 1) + 1):
            budget -= 1
            rec = records[i]
            if is_blank(rec) or (c1 < len(rec) and rec[c1].strip()):
                continue
            if c1 >= len(rec):
                rec.extend([""] * (c1 + 1 - len(rec)))
            rec[c1] = top
            rows.append(i + first_row)
        if rows:
            count += 1
            ref = f"{column_letters(c1 + 1)}{r1 + first_row}:{column_letters(c2 + 1)}{r2 + first_row}"
            shown = top if len(top) <= 60 else top[:60] + "…"
            filled.append(f"'{header[c1][:60]}' {shown!r} over {ref}, rows {r1 + first_row}–{rows[-1]}")
    if not count:
        return ""
    listed = "; ".join(filled[:5]) + (f"; and {count - 5} more" if count > 5 else "")
    return (
        f"{count} cell(s) merged over several rows were read for each row they cover, as Excel shows "
        f"them beside each ({listed}): check the rows belong together"
    )


def _merged_over_header(
    records: list[list[str]], header_idx: int, width: int, merged: list[tuple[int, int, int, int]], first_row: int
) -> list[tuple[int, int, str, str]]:
    """The merged ranges that cover the header row over two or more columns, with their
    text (the first cell's): (first column, last column, text, "D1:E1")."""
    out = []
    for r1, c1, r2, c2 in merged:
        if not (r1 <= header_idx <= r2) or c2 <= c1 or c1 >= width or r1 < 0:
            continue
        text = records[r1][c1].strip() if c1 < len(records[r1]) else ""
        if text:
            ref = f"{column_letters(c1 + 1)}{r1 + first_row}:{column_letters(c2 + 1)}{r2 + first_row}"
            out.append((c1, min(c2, width - 1), text, ref))
    return out


def column_letters(col: int) -> str:
    """Excel's column letters of a 1-based column number (1 -> A, 28 -> AB)."""
    out = ""
    while col:
        col, rem = divmod(col - 1, 26)
        out = chr(65 + rem) + out
    return out
