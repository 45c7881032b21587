"""Exports that leave the app: CSV and Excel safe against formula injection.

A cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is run
as a formula by spreadsheet programs; such text cells are prefixed with an apostrophe.
Numbers stay numbers (a negative number is not text and is not touched).  Control
characters (an ESC in an id) are replaced by visible ones (:func:`printable`) in every
text cell and column name, so an export never fails on them and never carries them.
"""

from __future__ import annotations

import io
import re

import pandas as pd

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

#: Control characters (C0 but tab, line feed and carriage return; DEL; C1) shown as their
#: visible Unicode pictures (ESC as U+241B) or U+FFFD: Excel files cannot hold them (the
#: export failed), a terminal runs them (ESC [31m), and they hide what a cell says.
_CONTROLS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def _picture(m: re.Match[str]) -> str:
    code = ord(m.group(0))
    return chr(0x2400 + code) if code < 0x20 else "\u2421" if code == 0x7F else "\ufffd"


def printable(text: str, replacement: str | None = None) -> str:
    """``text`` with every control character replaced by a visible one ("RA␛001"), or by
    ``replacement`` (a PDF font has no glyphs for the control pictures)."""
    if not _CONTROLS.search(text):
        return text
    return _CONTROLS.sub(replacement if replacement is not None else _picture, text)


def neutralise(value: object) -> object:
    """Make one cell safe to open in a spreadsheet: no formula, no control character."""
    if isinstance(value, str):
        value = printable(value)
        if value.startswith(FORMULA_START):
            return "'" + value
    return value


def neutralise_frame(df: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``df`` whose text cells (and column names) cannot run as formulas."""
    out = df.copy()
    for col in out.columns:
        if out[col].dtype == object:
            # cell by cell, kept as objects: a column of whole grades with a blank stays
            # 2 and blank (``map`` would infer floats and write "2.0")
            out[col] = pd.Series([neutralise(v) for v in out[col].tolist()], index=out.index, dtype=object)
        elif pd.api.types.is_string_dtype(out[col]):
            out[col] = out[col].map(neutralise)
    out.columns = [neutralise(str(c)) for c in out.columns]
    return out


def safe_file_name(text: object, limit: int = 80) -> str:
    """A download file name part made from data (a patient id, a file name): letters,
    digits, ``.``, ``_`` and ``-`` only, so it can neither name a folder nor carry markup."""
    s = re.sub(r"[^A-Za-z0-9._-]+", "_", str(text)).strip("._") or "file"
    return s[:limit]


def to_csv_bytes(df: pd.DataFrame) -> bytes:
    """UTF-8 CSV (with BOM, so Excel reads accents) of a neutralised frame."""
    return neutralise_frame(df).to_csv(index=False).encode("utf-8-sig")


def to_xlsx_bytes(sheets: dict[str, pd.DataFrame]) -> bytes:
    """An .xlsx workbook with one sheet per frame, every text cell neutralised."""
    buf = io.BytesIO()
    with pd.ExcelWriter(buf, engine="openpyxl") as writer:
        for name, df in sheets.items():
            neutralise_frame(df).to_excel(writer, sheet_name=name[:31], index=False)
    return buf.getvalue()
