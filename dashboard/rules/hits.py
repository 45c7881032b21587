"""What a rule returns (:class:`Hits`: the result rows it fired on) and vectorised text.

Messages are built for all hits of a rule at once with Arrow string kernels, so the
review of a million results never formats a flag in a Python loop.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from dashboard import model
from dashboard.rules.data import DAY
from dashboard.rules.inputs import CMP_VALUES
from dashboard.units import DISPLAY_UNIT


@dataclass
class Hits:
    """The result rows one rule fired on (rows of :class:`~dashboard.rules.inputs.Labs`)."""

    idx: np.ndarray  # int64 row in Labs order
    rule: str
    kind: str  # "ctcae", "guideline" or "trend"
    severity: np.ndarray  # int8 severity rank per hit (1 info .. 4 urgent)
    threshold: np.ndarray  # float64, canonical unit of the analyte (NaN for trends)
    message: pa.Array  # string per hit
    source: str
    baseline: np.ndarray = field(default_factory=lambda: np.zeros(0))  # reference value used (NaN)
    #: how the reference was obtained, per hit (texts); none given: "" for every hit
    baseline_basis: np.ndarray | pa.Array = field(default_factory=lambda: np.zeros(0, dtype=object))

    def __post_init__(self) -> None:
        n = len(self.idx)
        if len(self.baseline) != n:
            self.baseline = np.full(n, np.nan)
        if len(self.baseline_basis) != n:
            self.baseline_basis = pa.repeat(pa.scalar("", pa.string()), n)

    def __len__(self) -> int:
        return len(self.idx)


def num(x: np.ndarray | float, digits: int = 3) -> pa.Array:
    """Numbers as short text: 140, 3.5, 0.123."""
    arr = np.atleast_1d(np.asarray(x, dtype=float))
    arr = np.where(np.abs(arr) >= 100, np.round(arr, 1), np.round(arr, digits))
    return _float_text(arr)


def _float_text(arr: np.ndarray) -> pa.Array:
    """Arrow's text of each float of ``arr`` (its cast to string).  Many values of few
    distinct ones (results, limits, percentages) are cast once per distinct value and
    taken per row: the cast is the costly step.  Values are told apart bit for bit (their
    int64 view), so -0.0 and 0.0 keep their own texts, as each NaN does."""
    if len(arr) >= 64:
        enc = pa.array(np.ascontiguousarray(arr, dtype=np.float64).view(np.int64)).dictionary_encode()
        if len(enc.dictionary) * 4 < len(arr):
            distinct = enc.dictionary.to_numpy().view(np.float64)
            return pa.array(distinct).cast(pa.string()).take(enc.indices)
    return pa.array(arr).cast(pa.string())


def cat(*parts: pa.Array | str | np.ndarray) -> pa.Array:
    """Element-wise concatenation of text arrays and constants."""
    conv = [pa.array(p, pa.string()) if isinstance(p, np.ndarray) else p for p in parts]
    return pc.binary_join_element_wise(*conv, "")


def change_text(
    analyte: str,
    result: tuple[pa.Array, ...],
    pct: tuple[np.ndarray, int],
    relation: str,
    reference: np.ndarray,
    basis: tuple[pa.Array | str, ...],
    threshold: float,
    advice: str,
    bound: np.ndarray | None = None,
    inclusive: bool = False,
    censored: np.ndarray | None = None,
) -> pa.Array:
    """A relative change in words: "<Analyte> <result> <unit> is <pct>% <relation>
    <reference><basis> (limit: more than <threshold>%): <advice>" (``pct``: the values
    and their decimals).  Where the reference is only a bound (``bound`` +1: at least it,
    -1: at most it), the change is "at least <pct>%" and the reference keeps its
    comparator (">10"): a bound is never shown as a value.  So with a result that is a
    bound (``censored``: its comparator codes, as in :attr:`Labs.cmp`; "<2" is at most 2,
    so a fall to it is at least the change), the result keeping its comparator in
    ``result``.  A rule uses a bound only where it proves its finding, so "at least" is
    the only side a fired change can have.  ``inclusive``: the limit is "<threshold>% or
    more"."""
    n = len(reference)
    side = np.zeros(n, dtype=np.int8) if bound is None else np.asarray(bound)
    at_least = side != 0
    if censored is not None:
        at_least = at_least | (np.asarray(censored) != 0)
    least = np.where(at_least, "at least ", "").astype(object)
    mark = np.where(side > 0, ">", np.where(side < 0, "<", "")).astype(object)
    limit = f"{threshold:g}% or more" if inclusive else f"more than {threshold:g}%"
    return cat(
        f"{label(analyte)} ",
        *result,
        f" {unit_text(analyte)} is ",
        least,
        num(*pct),
        f"% {relation} ",
        mark,
        num(reference),
        *basis,
        f" (limit: {limit}): {advice}",
    )


def day_texts(sec: np.ndarray) -> pa.Array:
    """Times (int64 seconds) as the texts of their days, "2026-06-02" (Arrow's
    ``strftime("%Y-%m-%d")`` of each as a nanosecond timestamp).  Each distinct day is
    formatted once and taken per row: strftime costs about a microsecond a value, and a
    time's text is its day's (the timestamps carry no time zone)."""
    days, inv = np.unique(np.asarray(sec, dtype=np.int64) // DAY, return_inverse=True)
    stamps = pc.cast(pa.array(days * DAY * 1_000_000_000, pa.int64()), pa.timestamp("ns"))
    return pc.strftime(stamps, format="%Y-%m-%d").take(pa.array(inv.reshape(-1)))


def comparator_text(cmp: np.ndarray) -> pa.Array:
    """The comparator text of each code of :attr:`Labs.cmp` ("", "<", "<=" ...), as Arrow text."""
    return CMP_VALUES.take(pa.array(np.asarray(cmp, dtype=np.int64) + 2))


def choose(mask: np.ndarray, yes: str | pa.Array, no: str | pa.Array) -> pa.Array:
    """Per row, ``yes`` where ``mask`` else ``no`` (texts or text arrays), as Arrow text:
    the same as ``np.where(mask, yes, no)`` handed to :func:`cat`, without a Python string
    object per row."""
    return pc.if_else(pa.array(np.asarray(mask, dtype=bool)), yes, no)


def label(analyte: str) -> str:
    return model.analyte_label(analyte)


def unit_text(analyte: str) -> str:
    u = model.CANONICAL_UNITS[analyte]
    return DISPLAY_UNIT.get(u, u)
