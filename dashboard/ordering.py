"""One stable sort on a packed 64-bit key: the order of lab results by patient, time
and analyte, shared by the import (duplicates and conflicting results) and the rules
(each analyte's series, the listing order of flags).

The integer columns of the key (patient code, analyte, seconds ...) are packed into one
int64, most significant first, when their ranges fit in 63 bits; a single stable sort
of that key replaces a lexicographic sort of several columns.  Input that is already in
order, as most exports are, is recognised in one pass and not sorted at all.
"""

from __future__ import annotations

import numpy as np


def packed_order(*columns: np.ndarray) -> np.ndarray | None:
    """The stable order of rows by ``columns`` (most significant first): input order
    within equal keys.  ``None`` when the rows are in that order already."""
    n = len(columns[0])
    if n < 2:
        return None
    key = pack(*columns)
    if key is None:  # ranges too wide for one int64: the lexicographic sort
        order = np.lexsort(tuple(reversed(columns)))
        return None if bool(np.all(order == np.arange(n))) else order
    if bool(np.all(key[1:] >= key[:-1])):
        return None
    return np.argsort(key, kind="stable")


def pack(*columns: np.ndarray) -> np.ndarray | None:
    """The columns packed into one int64 per row, preserving their lexicographic order
    (most significant first); ``None`` when their ranges need more than 63 bits."""
    shifts = []
    lows = []
    bits = 0
    for col in reversed(columns):
        lo = int(col.min())
        span = int(col.max()) - lo
        lows.append(lo)
        shifts.append(bits)
        bits += max(span.bit_length(), 1)
    if bits > 63:
        return None
    # each column's part made in one new array, shifted in place, and the first part is
    # the key itself: no array of zeros, no temporary per step (the parts do not overlap)
    key: np.ndarray | None = None
    for col, lo, shift in zip(reversed(columns), lows, shifts, strict=True):
        part = np.subtract(col, lo, dtype=np.int64)
        if shift:
            np.left_shift(part, shift, out=part)
        if key is None:
            key = part
        else:
            key |= part
    return key if key is not None else np.zeros(len(columns[0]), dtype=np.int64)


def ranks(order: np.ndarray | None, n: int) -> np.ndarray | None:
    """Position of each row in ``order`` (``None`` stays ``None``: the identity)."""
    if order is None:
        return None
    out = np.empty(n, dtype=np.int64)
    out[order] = np.arange(n)
    return out
