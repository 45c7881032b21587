"""Dates and times as exports write them.

ISO 8601 (with or without time, "T", seconds, fractions, "Z" or an offset), dd/mm/yyyy,
mm/dd/yyyy, dd.mm.yyyy, dd-mm-yyyy, yyyy/mm/dd, yyyymmdd, "05-Mar-2024", "Mar 5, 2024",
Excel serial day numbers, each with or without a time (24 h or AM/PM).

Day-first or month-first is never guessed.  :func:`decide_order` looks at every date of
a file: a first number above 12 settles day-first, a second number above 12 settles
month-first; when neither happens the caller must ask the user.  Dotted dates
(dd.mm.yyyy) are the European convention and read day-first unless the file says
otherwise.  Offsets are dropped, not converted: the wall-clock time the lab printed is
kept; the distinct offsets are listed (:attr:`ParsedDates.zones`) so that a file mixing
zones is said.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import unicodedata
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

DAYFIRST = "day-first"
MONTHFIRST = "month-first"

_TIME = r"(?:[T ,]+(?P<H>\d{1,2})[:h.](?P<M>\d{2})(?:[:.](?P<S>\d{2})(?:[.,]\d+)?)?\s*(?P<ampm>[AaPp]\.?[Mm]\.?)?)?"
_TZ = r"\s*(?:Z|UTC|GMT|[+-]\d{2}:?\d{2})?"
ISO = r"^(?P<y>\d{4})-(?P<m>\d{1,2})-(?P<d>\d{1,2})" + _TIME + _TZ + "$"
YMD_SLASH = r"^(?P<y>\d{4})[/.](?P<m>\d{1,2})[/.](?P<d>\d{1,2})" + _TIME + _TZ + "$"
NUMERIC = r"^(?P<a>\d{1,2})(?P<sep>[/.\-])(?P<b>\d{1,2})[/.\-](?P<y>\d{4}|\d{2})" + _TIME + _TZ + "$"
COMPACT = r"^(?P<y>(?:19|20|21)\d{2})(?P<m>[01]\d)(?P<d>[0-3]\d)(?:[T ]?(?P<H>[0-2]\d)(?P<M>[0-5]\d)(?P<S>[0-5]\d)?)?$"
SERIAL = r"^(?P<serial>[1-9]\d{4})(?:\.(?P<frac>\d+))?$"
NAMED_DMY = r"^(?P<d>\d{1,2})[ \-/.]*(?P<mon>[A-Za-zäéû]{3,9})\.?[ \-/.,]*(?P<y>\d{4}|\d{2})" + _TIME + _TZ + "$"
NAMED_MDY = (
    r"^(?P<mon>[A-Za-zäéû]{3,9})\.?[ \-/.]*(?P<d>\d{1,2})(?:st|nd|rd|th)?,?[ \-/.]+(?P<y>\d{4})" + _TIME + _TZ + "$"
)

MONTHS = {
    "jan": 1,
    "january": 1,
    "janv": 1,
    "januar": 1,
    "janvier": 1,
    "ene": 1,
    "enero": 1,
    "gen": 1,
    "gennaio": 1,
    "feb": 2,
    "february": 2,
    "febr": 2,
    "februar": 2,
    "fev": 2,
    "fevrier": 2,
    "fevr": 2,
    "febrero": 2,
    "febbraio": 2,
    "mar": 3,
    "march": 3,
    "mär": 3,
    "mrz": 3,
    "marz": 3,
    "märz": 3,
    "mars": 3,
    "marzo": 3,
    "apr": 4,
    "april": 4,
    "avr": 4,
    "avril": 4,
    "abr": 4,
    "abril": 4,
    "aprile": 4,
    "may": 5,
    "mai": 5,
    "mayo": 5,
    "mag": 5,
    "maggio": 5,
    "jun": 6,
    "june": 6,
    "juni": 6,
    "juin": 6,
    "junio": 6,
    "giu": 6,
    "giugno": 6,
    "jul": 7,
    "july": 7,
    "juli": 7,
    "juil": 7,
    "juillet": 7,
    "julio": 7,
    "lug": 7,
    "luglio": 7,
    "aug": 8,
    "august": 8,
    "aout": 8,
    "ago": 8,
    "agosto": 8,
    "sep": 9,
    "sept": 9,
    "september": 9,
    "septembre": 9,
    "septiembre": 9,
    "set": 9,
    "settembre": 9,
    "oct": 10,
    "october": 10,
    "okt": 10,
    "oktober": 10,
    "octobre": 10,
    "octubre": 10,
    "ott": 10,
    "ottobre": 10,
    "nov": 11,
    "november": 11,
    "novembre": 11,
    "noviembre": 11,
    "dec": 12,
    "december": 12,
    "dez": 12,
    "dezember": 12,
    "decembre": 12,
    "dic": 12,
    "diciembre": 12,
    "dicembre": 12,
}


def month_number(name: str) -> int:
    """The month a name gives, 0 when none: case, a closing point and accents aside
    ("déc." and "Dec" are December, "févr." February, "août" August: H367)."""
    key = name.lower().rstrip(".")
    folded = "".join(c for c in unicodedata.normalize("NFKD", key) if not unicodedata.combining(c))
    return MONTHS.get(key) or MONTHS.get(folded, 0)


EXCEL_EPOCH = np.datetime64("1899-12-30", "s")

#: The earliest year a result, a dose or a birth date can have: no patient alive (or
#: result on file) is older.  ``0001-01-01`` or ``1850-06-01`` is a typing error or a
#: placeholder, never a date to chart.
YEAR_FLOOR = 1900
#: Said of a date after today plus one year (a dose planned a year ahead is the limit;
#: an end date that far ahead is read as "ongoing" by the dose reader).
FAR_FUTURE = "more than a year after today"


class DateOrderNeeded(Exception):
    """The file's dates could be day-first or month-first; the user must choose."""

    def __init__(self, example: str) -> None:
        super().__init__(example)
        self.example = example


class DateOrderConflict(Exception):
    """The file contains dates that are only valid day-first and others only month-first."""

    def __init__(self, dayfirst_example: str, monthfirst_example: str) -> None:
        super().__init__(dayfirst_example, monthfirst_example)
        self.dayfirst_example = dayfirst_example
        self.monthfirst_example = monthfirst_example


@dataclass
class OrderDecision:
    order: str  # DAYFIRST, MONTHFIRST, "ISO" or ""
    reason: str


def _uniques(arrays: list[pa.Array]) -> pa.Array:
    if not arrays:
        return pa.array([], pa.string())
    return pc.unique(pa.chunked_array(arrays, type=pa.string()).combine_chunks())


def decide_order(arrays: list[pa.Array], choice: str | None = None) -> OrderDecision:
    """Decide day-first or month-first for all the date columns of one file.

    ``choice`` is the user's answer ("dayfirst" / "monthfirst"), if given.  Raises
    :class:`DateOrderNeeded` when the file cannot settle it and no choice was made, and
    :class:`DateOrderConflict` when the file contradicts itself.
    """
    had_dates = any(len(a) for a in arrays)
    # Dates written as fixed-width ISO (2024-03-05, 2024-03-05 08:15[:00]) leave no doubt
    # about the order: only the others are looked at (each distinct text once: a draw's
    # time repeats on every result of the draw).  The ISO texts go first: a look at three
    # bytes of each text is cheaper than hashing them all to find the distinct ones.
    arrays = [pc.unique(_not_fixed_iso(a)) for a in arrays]
    uniq = _uniques(arrays)
    numeric = pc.extract_regex(uniq, NUMERIC)
    valid = pc.is_valid(numeric)
    if not pc.any(valid).as_py():
        return (
            OrderDecision("ISO", "dates are unambiguous (ISO, named months or Excel)")
            if had_dates
            else OrderDecision("", "")
        )
    num = pc.filter(numeric, valid)
    texts = pc.filter(uniq, valid)
    a = pc.cast(pc.struct_field(num, "a"), pa.int32()).to_numpy()
    b = pc.cast(pc.struct_field(num, "b"), pa.int32()).to_numpy()
    sep = pc.struct_field(num, "sep").to_numpy(zero_copy_only=False)
    day_evidence = np.flatnonzero((a > 12) & (b <= 12))
    month_evidence = np.flatnonzero((b > 12) & (a <= 12))
    # the user's choice is for a file whose own dates cannot settle the order (or that
    # mixes both orders): a file that settles it keeps its own (hazard H5), so that the
    # answer given for one file of an upload never re-reads another that needed none
    if choice and not (len(day_evidence) and len(month_evidence)):
        order = DAYFIRST if choice in ("dayfirst", DAYFIRST) else MONTHFIRST
        chosen = "day-first" if order == DAYFIRST else "month-first"
        if order == DAYFIRST and len(month_evidence):
            why = f"{texts[int(month_evidence[0])]} has a second number above 12"
            return OrderDecision(MONTHFIRST, f"{why} (the {chosen} choice is for files that do not settle it)")
        if order == MONTHFIRST and len(day_evidence):
            why = f"{texts[int(day_evidence[0])]} has a first number above 12"
            return OrderDecision(DAYFIRST, f"{why} (the {chosen} choice is for files that do not settle it)")
        return OrderDecision(order, "as chosen by the user")
    if choice:
        order = DAYFIRST if choice in ("dayfirst", DAYFIRST) else MONTHFIRST
        return OrderDecision(order, "as chosen by the user for a file that mixes both orders")
    if len(day_evidence) and len(month_evidence):
        raise DateOrderConflict(str(texts[int(day_evidence[0])]), str(texts[int(month_evidence[0])]))
    if len(day_evidence):
        return OrderDecision(DAYFIRST, f"{texts[int(day_evidence[0])]} has a first number above 12")
    if len(month_evidence):
        return OrderDecision(MONTHFIRST, f"{texts[int(month_evidence[0])]} has a second number above 12")
    ambiguous = np.flatnonzero(a != b)
    if not len(ambiguous):
        return OrderDecision(DAYFIRST, "every date has the same day and month number, so the order does not matter")
    dotted = sep == "."
    if dotted.all():
        return OrderDecision(DAYFIRST, "dotted dates (dd.mm.yyyy) are day-first")
    raise DateOrderNeeded(str(texts[int(ambiguous[0])]))


@dataclass
class ParsedDates:
    values: pa.Array  # timestamp[s], null where not parsed
    reason: pa.Array  # "" or why not
    two_digit_years: int
    #: The distinct time-zone offsets the texts name ("+0000" for Z, UTC and GMT; "-0500"),
    #: dropped from the values (the wall-clock time is kept): more than one means times
    #: written in different zones side by side.
    zones: tuple[str, ...] = ()
    #: The texts read as Excel serial day numbers ("45000" = 2023-03-15): how many distinct
    #: ones, and the first with its date, so that the report can say so.
    excel_serials: int = 0
    excel_example: str = ""


#: From this many dates on, :func:`parse_dates` parses the distinct texts once.
_DISTINCT_FIRST = 4096


def parse_dates(arr: pa.Array, order: str, today: dt.date | None = None, window: bool = True) -> ParsedDates:
    """Parse date texts with a decided order (DAYFIRST / MONTHFIRST / "ISO").

    With ``window`` (the default) a date before :data:`YEAR_FLOOR` or more than a year
    after ``today`` is refused with the reason; MIMIC, whose dates are shifted by design
    into 2100-2200 (and its oldest patients' birth years into the 1800s), turns it off.
    In a day-first or month-first column, a year-month-day date that a spreadsheet may
    have made with its day and month swapped is refused (:func:`_swapped_by_a_spreadsheet`,
    judged once per distinct text, as the rest of the parse).
    """
    n = len(arr)
    if n == 0:
        return ParsedDates(pa.array([], pa.timestamp("s")), pa.array([], pa.string()), 0)
    today = today or dt.date.today()
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    if n >= _DISTINCT_FIRST and not arr.null_count:
        # a large export repeats each draw's timestamp for every result of the draw:
        # parse each distinct text once and spread (the same values and reasons; the
        # two-digit-year count is of distinct texts either way)
        enc = pc.dictionary_encode(arr)
        if 2 * len(enc.dictionary) <= n:
            once = _parse_each(enc.dictionary, order, today, window)  # distinct already: not encoded again
            reason = (
                once.reason.take(enc.indices)
                if pc.any(pc.not_equal(once.reason, "")).as_py()
                else pa.repeat(pa.scalar("", pa.string()), n)
            )
            return dataclasses.replace(once, values=once.values.take(enc.indices), reason=reason)
    return _parse_each(arr, order, today, window)


#: A year-month-day date (what a spreadsheet's date cell becomes, and what a program
#: writes from one), and a day-month or month-day date with a separator.
_YMD = r"^\s*\d{4}-\d{1,2}-\d{1,2}(?:[T ]|$)"
_DM_Y = r"^\s*\d{1,2}[/.-]\d{1,2}[/.-]\d{2,4}(?:[T ,]|$)"


def _swapped_by_a_spreadsheet(arr: pa.Array, order: str, parsed: ParsedDates) -> ParsedDates:
    """Refuse the year-month-day dates of a column whose other dates are written
    day-first (or month-first) where the day and month could be swapped.

    A file typed day-first ("05/01/2026" for 5 January) opened in a spreadsheet set to
    month-first turns each date it can read into a date cell of the other order (1 May)
    and leaves the ones it cannot ("13/01/2026") as text.  Such a column is the mix of
    year-month-day cells and day-first text; in it, a date whose day and month are both
    12 or less (and differ) may be the swapped one, and which it is cannot be told: it is
    refused with both readings, never picked.  A day above 12 cannot come from the swap."""
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    ymd = pc.fill_null(pc.match_substring_regex(arr, _YMD), False)
    if not pc.any(ymd).as_py():
        return parsed
    ok = parsed.values.is_valid()
    other = pc.and_(pc.and_(pc.invert(ymd), ok), pc.fill_null(pc.match_substring_regex(arr, _DM_Y), False))
    if not pc.any(other).as_py():
        return parsed
    day, month = pc.day(parsed.values), pc.month(parsed.values)
    both = pc.and_(pc.less_equal(day, 12), pc.less_equal(month, 12))
    swap = pc.fill_null(pc.and_(pc.and_(ymd, both), pc.not_equal(day, month)), False)
    if not pc.any(swap).as_py():
        return parsed
    example = arr.filter(other)[0].as_py().strip()
    reading = "day-first" if order == DAYFIRST else "month-first"
    messages = [  # only the refused dates (a few) become Python objects
        f"the date {d:%d-%b-%Y} is written year-month-day among dates written {reading} (e.g. "
        f"'{example}'): a spreadsheet may have made it from a date typed {reading}, with the day and month "
        f"swapped ({d.replace(month=d.day, day=d.month):%d-%b-%Y}); which it is cannot be told: check the source"
        for d in parsed.values.filter(swap).to_pylist()
    ]
    return dataclasses.replace(
        parsed,
        values=pc.if_else(swap, pa.scalar(None, pa.timestamp("s")), parsed.values),
        reason=pc.replace_with_mask(parsed.reason, swap, pa.array(messages, pa.string())),
    )


def _parse_each(arr: pa.Array, order: str, today: dt.date, window: bool) -> ParsedDates:
    """:func:`parse_dates` of every text in turn (the distinct texts of a large column),
    then the spreadsheet-swap check of a day-first or month-first column."""
    parsed = _read_each(arr, order, today, window)
    if order in (DAYFIRST, MONTHFIRST) and len(parsed.values):
        parsed = _swapped_by_a_spreadsheet(arr, order, parsed)
    return parsed


def _read_each(arr: pa.Array, order: str, today: dt.date, window: bool) -> ParsedDates:
    """Every text in turn: the fixed-width forms at once, the rest once per distinct text."""
    n = len(arr)
    fast, seconds = _fixed_width(arr, order, today, window)
    if fast is None or not fast.any():
        return _parse_general(arr, order, today, window)
    if fast.all():
        return ParsedDates(_timestamps(seconds, fast), pa.repeat(pa.scalar("", pa.string()), n), 0)
    # the rest (other forms, and fixed-width dates that are impossible or outside the
    # window, which get their reason there) through the general parser
    rest = np.flatnonzero(~fast)
    slow = _parse_general(arr.take(pa.array(rest)), order, today, window)
    rest_ok = slow.values.is_valid().to_numpy(zero_copy_only=False)
    rest_sec = slow.values.cast(pa.int64()).fill_null(0).to_numpy(zero_copy_only=False)
    seconds[rest] = rest_sec
    ok = fast.copy()
    ok[rest] = rest_ok
    zones = slow.zones
    if zones and NO_ZONE not in zones and pc.any(pc.match_substring_regex(arr.filter(pa.array(fast)), _A_TIME)).as_py():
        zones = (*zones, NO_ZONE)  # fixed-width times (no zone) beside the zoned ones
    return dataclasses.replace(
        slow, values=_timestamps(seconds, ok), reason=_spread_reasons(slow.reason, rest, n), zones=zones
    )


def _parse_general(arr: pa.Array, order: str, today: dt.date, window: bool) -> ParsedDates:
    """Any supported form, once per distinct text."""
    n = len(arr)
    enc = pc.dictionary_encode(arr)
    uniq = enc.dictionary
    idx = enc.indices.to_numpy(zero_copy_only=False)
    u_vals, u_reason, two = _parse_unique(uniq, order, today, window)
    values = pa.array(u_vals[idx], type=pa.timestamp("s"), from_pandas=True)
    if any(u_reason):
        reason = pc.take(pa.array(u_reason, pa.string()), enc.indices)
    else:
        reason = pa.repeat(pa.scalar("", pa.string()), n)
    serial = pc.match_substring_regex(uniq, SERIAL).to_numpy(zero_copy_only=False) & ~np.isnat(u_vals)
    example = ""
    if serial.any():
        first = int(np.flatnonzero(serial)[0])
        example = f"{uniq[first].as_py()} = {str(u_vals[first])[:10]}"
    return ParsedDates(values, reason, two, _zones(uniq), int(serial.sum()), example)


#: A time followed by a zone ("08:15Z", "23:30-05:00", "08:15:00 +0100", "08:15 UTC"):
#: the zone only counts after a time, so that "01-05-2024" never reads as an offset.
_ZONE = (
    r"\d{1,2}[:h.]\d{2}(?:[:.]\d{2}(?:[.,]\d+)?)?\s*(?:[AaPp]\.?[Mm]\.?)?\s*(?P<zone>Z|UTC|GMT|[+-]\d{2}:?\d{2})\s*$"
)


#: A clock time in a date text (with or without a zone after it).
_A_TIME = r"\d{1,2}[:h.]\d{2}"
#: What :func:`_zones` lists for times that name no zone beside times that name one.
NO_ZONE = "no offset"


def _zones(texts: pa.Array) -> tuple[str, ...]:
    """The distinct time-zone offsets of date texts, written alike ("Z" -> "+0000"), and
    :data:`NO_ZONE` when other times of the same texts name none (the offset of a time
    without one is unknown: it may differ from the named one by hours)."""
    zone = pc.struct_field(pc.extract_regex(texts, _ZONE), "zone")
    found = zone.drop_null()
    if not len(found):
        return ()
    named = {z.upper().replace(":", "") for z in pc.unique(found).to_pylist()}
    zones = sorted({"+0000" if z in ("Z", "UTC", "GMT") else z for z in named})
    unzoned = pc.and_(pc.is_null(zone), pc.match_substring_regex(texts, _A_TIME))
    if pc.any(unzoned).as_py():
        zones.append(NO_ZONE)
    return tuple(zones)


def _timestamps(seconds: np.ndarray, ok: np.ndarray) -> pa.Array:
    """timestamp[s] from int64 seconds, null where not ``ok``."""
    return pa.array(seconds, pa.int64(), mask=~ok).cast(pa.timestamp("s"))


def _spread_reasons(reasons: pa.Array, rows: np.ndarray, n: int) -> pa.Array:
    """Reasons of ``rows`` (aligned with them) as a length-``n`` array, "" elsewhere."""
    blank = pa.repeat(pa.scalar("", pa.string()), n)
    if not pc.any(pc.not_equal(reasons, "")).as_py():
        return blank
    mask = np.zeros(n, dtype=bool)
    mask[rows] = True
    return pc.replace_with_mask(blank, pa.array(mask), reasons)


# --------------------------------------------------------------------------- fixed-width fast path
#
# Most exports write every date in one fixed-width form: "2024-03-05 08:15" (ISO) or
# "05/03/2024 08:15".  Those are read straight from the bytes with numpy, without a
# regular expression or a Python object per date; they give exactly the fields the
# general parser below would.  A date that is impossible or outside the plausible window
# is left to the general parser, which says why.

_ISO_SHAPES = (10, 16, 19)  # YYYY-MM-DD, + [T ]HH:MM, + :SS
_D = np.uint8(ord("0"))


def string_buffers(arr: pa.Array) -> tuple[np.ndarray, np.ndarray] | None:
    """(offsets, bytes) of a string array, read in place (offsets as stored: int32, or
    int64 for a large string); None for other types.  Null cells are not told apart."""
    width: type[np.int32 | np.int64]
    if pa.types.is_string(arr.type):
        width = np.int32
    elif pa.types.is_large_string(arr.type):
        width = np.int64
    else:
        return None
    bufs = arr.buffers()
    offsets = np.frombuffer(bufs[1], dtype=width, count=len(arr) + 1, offset=arr.offset * np.dtype(width).itemsize)
    data = np.frombuffer(bufs[2], dtype=np.uint8) if bufs[2] is not None else np.zeros(1, dtype=np.uint8)
    return offsets, data


def _shape_rows(arr: pa.Array) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """Rows whose length is a fixed-width date's, their lengths, and their first 19 bytes
    as a (19, rows) matrix (byte position first, so that each position is contiguous)."""
    bufs = string_buffers(arr)
    if bufs is None:
        return None
    offsets, data = bufs
    length = np.diff(offsets)
    cand = (length == 10) | (length == 16) | (length == 19)
    if arr.null_count:
        cand &= arr.is_valid().to_numpy(zero_copy_only=False)
    rows = np.flatnonzero(cand)
    if not len(rows):
        return rows, length[rows], np.zeros((19, 0), dtype=np.uint8)
    # a window of 19 bytes at each row's start (a view: no copy of the column), padded so
    # that the last row's window stays inside the buffer
    end = int(offsets[-1])
    data = np.concatenate([data[:end], np.zeros(19, dtype=np.uint8)])
    windows = np.lib.stride_tricks.sliding_window_view(data, 19)
    return rows, length[rows], np.ascontiguousarray(windows[offsets[rows]].T)


def _digits(b: np.ndarray, cols: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    """The number written by byte positions ``cols`` and whether they are all digits."""
    value = np.zeros(b.shape[1], dtype=np.int64)
    ok = np.ones(b.shape[1], dtype=bool)
    for c in cols:
        d = b[c] - _D  # uint8: a non-digit wraps above 9
        ok &= d <= 9
        value *= 10
        value += d
    return value, ok


def _time_fields(b: np.ndarray, length: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """HH:MM[:SS] from byte 10 on (when the length says there is one): (ok, hh, mm, ss)."""
    timed = length >= 16
    with_s = length == 19
    hh, ok_h = _digits(b, (11, 12))
    mi, ok_m = _digits(b, (14, 15))
    ss, ok_s = _digits(b, (17, 18))
    sep = (b[10] == ord(" ")) | (b[10] == ord("T"))
    ok = ~timed | (sep & ok_h & ok_m & (b[13] == ord(":")))
    ok &= ~with_s | (ok_s & (b[16] == ord(":")))
    return ok, np.where(timed, hh, 0), np.where(timed, mi, 0), np.where(with_s, ss, 0)


def _not_fixed_iso(arr: pa.Array) -> pa.Array:
    """``arr`` without the texts that start with three digits ("2024-03-05 ..."): a
    day-first or month-first date starts with one or two digits and a separator, so
    they cannot tell the order (and in a large file they are nearly all of it)."""
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    bufs = string_buffers(arr)
    if bufs is None or not len(arr):
        return arr
    offsets, data = bufs
    long_enough = np.diff(offsets) >= 3
    if arr.null_count:
        long_enough &= arr.is_valid().to_numpy(zero_copy_only=False)
    rows: np.ndarray | None = None
    if long_enough.all():  # every text (most files): their starts as they are, no gather
        start = offsets[:-1]
    else:
        rows = np.flatnonzero(long_enough)
        if not len(rows):
            return arr
        start = np.take(offsets, rows)
    # (np.take: the gather of indexing, about twice as fast on a million texts)
    digits = (
        (np.take(data, start) - _D <= 9) & (np.take(data, start + 1) - _D <= 9) & (np.take(data, start + 2) - _D <= 9)
    )
    if not digits.any():
        return arr
    if rows is None:
        keep = ~digits
    else:
        keep = np.ones(len(arr), dtype=bool)
        keep[rows[digits]] = False
    return arr.filter(pa.array(keep))


def _days_from_civil(y: np.ndarray, m: np.ndarray, d: np.ndarray) -> np.ndarray:
    """Days since 1970-01-01 of proleptic Gregorian dates (valid y, m, d)."""
    y = y - (m <= 2)
    era = np.floor_divide(y, 400)
    yoe = y - era * 400
    mp = (m + 9) % 12
    doy = (153 * mp + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


_MONTH_DAYS = np.array([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31], dtype=np.int64)


def _fixed_width(arr: pa.Array, order: str, today: dt.date, window: bool) -> tuple[np.ndarray | None, np.ndarray]:
    """Per row: read by the fast path (valid and in the window), and its seconds since 1970."""
    found = _shape_rows(arr)
    if found is None:
        return None, np.zeros(0, dtype=np.int64)
    rows, length, b = found
    seconds = np.zeros(len(arr), dtype=np.int64)
    fast = np.zeros(len(arr), dtype=bool)
    if not len(rows):
        return fast, seconds
    time_ok, hh, mi, ss = _time_fields(b, length)
    # YYYY-MM-DD
    y, ok_y = _digits(b, (0, 1, 2, 3))
    mo, ok_mo = _digits(b, (5, 6))
    d, ok_d = _digits(b, (8, 9))
    iso = ok_y & ok_mo & ok_d & (b[4] == ord("-")) & (b[7] == ord("-"))
    # NN/NN/YYYY (also . and -), day or month first as decided
    a, ok_a = _digits(b, (0, 1))
    c, ok_c = _digits(b, (3, 4))
    y2, ok_y2 = _digits(b, (6, 7, 8, 9))
    seps = _NUM_SEP[b[2]] & _NUM_SEP[b[5]]
    numeric = ~iso & ok_a & ok_c & ok_y2 & seps
    first_month = order == MONTHFIRST
    y = np.where(iso, y, y2)
    mo = np.where(iso, mo, c if not first_month else a)
    d = np.where(iso, d, a if not first_month else c)
    ok = (iso | numeric) & time_ok
    floor, ceiling = (YEAR_FLOOR, today.year + 1) if window else (1, 9999)
    ok &= (mo >= 1) & (mo <= 12) & (d >= 1) & (y >= floor) & (y <= ceiling)
    ok &= (hh <= 23) & (mi <= 59) & (ss <= 60)
    mo_c = np.clip(mo, 1, 12)
    leap = (y % 4 == 0) & ((y % 100 != 0) | (y % 400 == 0))
    dim = _MONTH_DAYS[mo_c] + ((mo_c == 2) & leap)
    ok &= d <= dim
    sec = _days_from_civil(y, mo_c, np.clip(d, 1, 31)) * 86400 + hh * 3600 + mi * 60 + np.minimum(ss, 59)
    if window:
        limit = (a_year_after(today) - dt.date(1970, 1, 1)).days * 86400 + 86400
        ok &= sec < limit
    seconds[rows[ok]] = sec[ok]
    fast[rows[ok]] = True
    return fast, seconds


_NUM_SEP = np.zeros(256, dtype=bool)
_NUM_SEP[[ord("/"), ord("."), ord("-")]] = True


def _parse_unique(uniq: pa.Array, order: str, today: dt.date, window: bool = True) -> tuple[np.ndarray, list[str], int]:
    m = len(uniq)
    year_digits = np.zeros(m, dtype=np.int64)
    out = np.full(m, np.datetime64("NaT"), dtype="datetime64[s]")
    reason = [""] * m
    y = np.zeros(m, dtype=np.int64)
    mo = np.zeros(m, dtype=np.int64)
    d = np.zeros(m, dtype=np.int64)
    hh = np.zeros(m, dtype=np.int64)
    mm = np.zeros(m, dtype=np.int64)
    ss = np.zeros(m, dtype=np.int64)
    done = np.zeros(m, dtype=bool)
    serial_rows = np.zeros(m, dtype=bool)
    two_digit = np.zeros(m, dtype=bool)
    twelve_hour = np.full(m, -1, dtype=np.int64)  # the hour of an AM/PM time outside 1-12, else -1
    unknown_month = np.zeros(m, dtype=bool)  # a month name not in MONTHS ("4 xyzt 2026")

    def fill(pattern: str, kind: str) -> None:
        ex = pc.extract_regex(uniq, pattern)
        ok = pc.is_valid(ex).to_numpy(zero_copy_only=False) & ~done
        if not ok.any():
            return
        rows = np.flatnonzero(ok)
        sub = pc.take(ex, pa.array(rows))

        def field(name: str) -> np.ndarray:
            col = pc.struct_field(sub, name)
            col = pc.if_else(pc.equal(col, ""), "0", col)
            return pc.cast(col, pa.int64()).to_numpy()

        if kind == "serial":
            serial = field("serial")
            frac = pc.struct_field(sub, "frac").to_pylist()
            secs = np.array([round(float("0." + f) * 86400) if f else 0 for f in frac], dtype=np.int64)
            ts = EXCEL_EPOCH + (serial * 86400 + secs).astype("timedelta64[s]")
            out[rows] = ts
            done[rows] = True
            serial_rows[rows] = True
            for r, s in zip(rows, serial, strict=True):
                if not (20000 <= s <= 80000):  # 1954 .. 2119
                    reason[r] = "number is not a plausible Excel date"
                    out[r] = np.datetime64("NaT")
            return
        if kind == "numeric":
            a, b = field("a"), field("b")
            if order == MONTHFIRST:
                mo[rows], d[rows] = a, b
            else:
                d[rows], mo[rows] = a, b
            y[rows] = field("y")
        elif kind in ("named_dmy", "named_mdy"):
            names = pc.utf8_lower(pc.struct_field(sub, "mon")).to_pylist()
            month = np.array([month_number(nm) for nm in names], dtype=np.int64)
            mo[rows] = month
            unknown_month[rows] = month == 0
            d[rows] = field("d")
            y[rows] = field("y")
        else:
            y[rows], mo[rows], d[rows] = field("y"), field("m"), field("d")
        year_digits[rows] = pc.utf8_length(pc.struct_field(sub, "y")).to_numpy(zero_copy_only=False)
        hh[rows], mm[rows] = field("H"), field("M")
        ss[rows] = field("S")
        if kind != "compact":
            ampm = pc.utf8_lower(pc.struct_field(sub, "ampm")).to_pylist()
            for r, ap in zip(rows, ampm, strict=True):
                if ap and not 1 <= hh[r] <= 12:  # "21:00 PM", "0:30 AM": a 12-hour clock counts 1 to 12
                    twelve_hour[r] = hh[r]
                    hh[r] = 99  # never valid: the row gets its reason below
                elif ap.startswith("p") and hh[r] < 12:
                    hh[r] += 12
                elif ap.startswith("a") and hh[r] == 12:
                    hh[r] = 0
        done[rows] = True

    fill(ISO, "iso")
    fill(YMD_SLASH, "iso")
    fill(COMPACT, "compact")
    fill(NUMERIC, "numeric")
    fill(NAMED_DMY, "named_dmy")
    fill(NAMED_MDY, "named_mdy")
    fill(SERIAL, "serial")

    # two-digit years: 00..(this year + 1) -> 20yy, else 19yy ("0001" is year 1, not 2001)
    short = done & ~serial_rows & (year_digits <= 2)
    if short.any():
        pivot = (today.year % 100) + 1
        y[short] = np.where(y[short] <= pivot, 2000 + y[short], 1900 + y[short])
        two_digit[short] = True

    rows = np.flatnonzero(done & ~serial_rows)
    if len(rows):
        yy, mmo, dd = y[rows], mo[rows], d[rows]
        floor, ceiling = (YEAR_FLOOR, today.year + 1) if window else (1, 9999)
        valid = (mmo >= 1) & (mmo <= 12) & (dd >= 1) & (yy >= floor) & (yy <= ceiling)
        month_start = (yy - 1970).astype("datetime64[Y]").astype("datetime64[M]") + np.clip(mmo - 1, 0, 11).astype(
            "timedelta64[M]"
        )
        next_month = month_start + np.timedelta64(1, "M")
        days_in_month = (next_month.astype("datetime64[D]") - month_start.astype("datetime64[D]")).astype(np.int64)
        valid &= dd <= days_in_month
        valid &= (hh[rows] <= 23) & (mm[rows] <= 59) & (ss[rows] <= 60)
        day = month_start.astype("datetime64[D]") + (dd - 1).astype("timedelta64[D]")
        ts = day.astype("datetime64[s]") + (hh[rows] * 3600 + mm[rows] * 60 + np.minimum(ss[rows], 59)).astype(
            "timedelta64[s]"
        )
        late = np.zeros(len(rows), dtype=bool)
        if window:
            limit = np.datetime64(a_year_after(today), "s") + np.timedelta64(1, "D")
            late = valid & (ts >= limit)
            valid &= ~late
        out[rows] = np.where(valid, ts, np.datetime64("NaT"))
        texts = None
        for k in np.flatnonzero(~valid):
            if texts is None:
                texts = uniq.to_pylist()
            r = rows[k]
            if late[k] or (window and yy[k] > ceiling):
                reason[r] = f"the date '{texts[r][:40]}' is in the future, {FAR_FUTURE} ({today:%Y-%m-%d})"
            elif yy[k] < floor:
                reason[r] = (
                    f"year {yy[k]} is before {YEAR_FLOOR}: not a plausible date (a typing error or a placeholder?)"
                    if window
                    else f"year {yy[k]} is not plausible"
                )
            elif unknown_month[r]:
                reason[r] = f"the month name in '{texts[r][:40]}' is not one this import knows: check the date"
            elif mmo[k] < 1 or mmo[k] > 12:
                reason[r] = f"impossible date '{texts[r]}' (there is no month {mmo[k]})"
            elif dd[k] < 1 or dd[k] > days_in_month[k]:
                reason[r] = f"impossible date '{texts[r]}' (day {dd[k]} does not exist in that month)"
            elif twelve_hour[r] >= 0:
                reason[r] = (
                    f"impossible time in '{texts[r]}': hour {twelve_hour[r]} with AM/PM "
                    "(a 12-hour clock counts 1 to 12); the time cannot be told"
                )
            else:
                reason[r] = f"impossible time in '{texts[r]}'"
    not_done = np.flatnonzero(~done)
    if len(not_done):
        texts = uniq.to_pylist()
        for r in not_done:
            t = texts[r]
            reason[r] = "no date" if not t.strip() else f"date not recognised ('{t[:40]}')"
    return out, reason, int(two_digit.sum())


def a_year_after(day: dt.date) -> dt.date:
    """The same day a year later (28 February for 29 February)."""
    try:
        return day.replace(year=day.year + 1)
    except ValueError:
        return day.replace(year=day.year + 1, day=28)


def combine_date_time(date_text: pa.Array, time_text: pa.Array) -> pa.Array:
    """Join a separate time column onto a date column ("2024-03-01" + "08:30")."""
    has_time = pc.greater(pc.utf8_length(time_text), 0)
    joined = pc.binary_join_element_wise(date_text, time_text, " ")
    return pc.if_else(has_time, joined, date_text)
