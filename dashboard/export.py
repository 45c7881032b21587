"""Exports that leave the app: CSV and Excel safe against formula injection.

A cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is run
as a formula by spreadsheet programs; such text cells are prefixed with an apostrophe.
Numbers stay numbers (a negative number is not text and is not touched).
"""

from __future__ import annotations

import io
import re

import pandas as pd

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: object) -> object:
    """Make one cell safe to open in a spreadsheet."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def neutralise_frame(df: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``df`` whose text cells (and column names) cannot run as formulas."""
    out = df.copy()
    for col in out.columns:
        if pd.api.types.is_string_dtype(out[col]) or out[col].dtype == object:
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
