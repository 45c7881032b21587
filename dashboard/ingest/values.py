"""Result values: text as labs write it -> number, comparator and flag.

Handles "<0.1", ">1000", "4.1 L", "H 450", "450*", "1,5" in decimal-comma files,
thousands separators, and words that are not results ("pending", "see note").  Plain
numbers, the overwhelming majority, are parsed in bulk by Arrow; everything else is
parsed once per distinct text.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

PLAIN_DOT = r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$"
PLAIN_COMMA = r"^[+-]?\d+,\d+$"
#: a decimal point: "4.5", ".5", "1,234.5" (comma thousands); never "1.000,5", whose point
#: groups thousands before a decimal comma (RE2 has no look-ahead: the digits after the
#: point end the text or meet something other than a digit, point or comma)
_DOT_DECIMAL = r"^[<>=≤≥]*\s*[+-]?(\d{1,3}(,\d{3})+|\d*)\.\d+([^\d.,]|$)"
# a comma followed by exactly three digits may be a thousands separator: not evidence,
# unless the number starts "0," (a thousands group never follows a leading 0: "0,800");
# "1.000,5" (points grouping thousands before the comma) is a decimal comma
_COMMA_DECIMAL = r"^[<>=≤≥]*\s*[+-]?(\d+,(\d{1,2}|\d{4,})|0,\d{3}|\d{1,3}(\.\d{3})+,\d+)(\s|$|[A-Za-z*!])"
_COMMA_AMBIGUOUS = r"^[<>=≤≥]*\s*[1-9]\d{0,2}(,\d{3})+(\s|$|[A-Za-z*!])"
_THOUSANDS = re.compile(r"^[1-9]\d{0,2}(,\d{3})+(\.\d+)?$")
#: "1.000,5": points grouping thousands before a decimal comma.
_POINT_THOUSANDS = re.compile(r"^[1-9]\d{0,2}(\.\d{3})+,\d+$")
#: The decimal separator of a file whose values give as much evidence for a comma as for
#: a point: not decided (a value with either is rejected, never read by a guess).
UNDECIDED = ""

#: Abnormal flags labs append or prepend to a value.
FLAG_WORDS = {
    "h": "H",
    "l": "L",
    "hh": "HH",
    "ll": "LL",
    "a": "A",
    "aa": "AA",
    "c": "C",
    "*": "*",
    "**": "**",
    "!": "!",
    "high": "H",
    "low": "L",
    "hi": "H",
    "lo": "L",
    "abnormal": "A",
    "crit": "C",
    "critical": "C",
    "panic": "C",
    "+": "H",
    "-": "L",
    "n": "N",
    "normal": "N",
    "niedrig": "L",
    "hoch": "H",
    "bas": "L",
    "haut": "H",
    # arrows, as European lab systems print them before or after the value (H369)
    "↑": "H",
    "↓": "L",
    "↑↑": "HH",
    "↓↓": "LL",
}

#: Words that say there is no numeric result.
NO_RESULT = re.compile(
    r"^(pending|pend|see note|see comment|see report|comment|cancel+ed|cancel|not done|nd|n/?a|na|none|"
    r"tnp|test not performed|not performed|insufficient|qns|quantity not sufficient|clotted|haemolysed|"
    r"hemolyzed|hemolysed|haemolyzed|lipaemic|lipemic|to follow|tf|awaiting|in progress|unknown|unk|"
    r"error|invalid|refused|result to follow|ausstehend|folgt|nicht bestimmt|n\.? ?b\.?|en cours|-+|_+|\?+|\.+|x+|#+)$",
    re.IGNORECASE,
)

#: A comparator as written -> the canonical one: "<=" / "≤" stay inclusive ("<=50" may be
#: 50 itself, CTCAE grade 2 for platelets, where "<50" is grade 3), FHIR's spelling.
COMPARATOR_OF: dict[str, str] = {
    "<": "<",
    "less than": "<",
    "below": "<",
    "kleiner als": "<",
    "<=": "<=",
    "≤": "<=",
    ">": ">",
    "greater than": ">",
    "above": ">",
    "grosser als": ">",
    ">=": ">=",
    "≥": ">=",
}

_CMP = r"(?P<cmp><=|>=|≤|≥|<|>|less than|greater than|below|above|kleiner als|grosser als)?"
# A space or an apostrophe inside a number only separates groups of three digits ("5 000",
# "1'234"): "4.5 10^9/L" is 4.5 and a unit, never 4.510, and "12 5" is never 125.
_NUM = (
    r"(?P<num>[+-]?(?:\d{1,3}(?:[' ]\d{3})+(?![\d^*])(?:[.,]\d+)?|\d[\d,.]*\d|\d)(?:[eE][+-]?\d+)?"
    r"|[+-]?[.,]\d+)"
)
_VALUE_RE = re.compile(
    r"^(?P<pre>(?:\(?[A-Za-z]{1,8}\)?|\*{1,2}|!)\s+|[↑↓]{1,2}\s*)?\s*" + _CMP + r"\s*" + _NUM + r"\s*(?P<post>.*?)\s*$",
    re.IGNORECASE,
)


@dataclass
class ParsedValues:
    """Arrays aligned with the input."""

    value: np.ndarray  # float64, NaN where rejected
    comparator: pa.Array  # "", "<", "<=", ">", ">="
    flag: pa.Array  # flag found in the value text ("H", "L", ...), else ""
    trailing: pa.Array  # text after the number that was not a flag (maybe a unit)
    reason: pa.Array  # "" when parsed, else why not
    thousands: int  # values read with a thousands separator
    #: every value a plain number (no comparator, flag, trailing text or reason anywhere)
    clean: bool = False


def detect_decimal(values: pa.Array, delimiter: str = ",") -> tuple[str, int, int]:
    """The file's decimal separator from its values: (sep, dot_count, comma_count).

    "4,5" is evidence for a decimal comma and "4.5" for a decimal point; "1,500" could
    be either and only counts when nothing else does: then a semicolon-delimited file
    (the European convention) reads it as a decimal comma, any other as thousands.
    """
    if len(values) == 0:
        return ".", 0, 0
    dots = pc.sum(pc.match_substring_regex(values, _DOT_DECIMAL)).as_py() or 0
    commas = pc.sum(pc.match_substring_regex(values, _COMMA_DECIMAL)).as_py() or 0
    if commas or dots:
        if commas == dots:
            return UNDECIDED, dots, commas
        return ("," if commas > dots else "."), dots, commas
    ambiguous = pc.sum(pc.match_substring_regex(values, _COMMA_AMBIGUOUS)).as_py() or 0
    return ("," if ambiguous and delimiter == ";" else "."), dots, commas


def empty_strings(n: int) -> pa.Array:
    return pa.repeat(pa.scalar("", pa.string()), n)


def parse_values(values: pa.Array, decimal: str = ".", numbers: pa.Array | None = None) -> ParsedValues:
    """Parse an array of value texts (stripped strings, "" for empty).

    Fast path: when every text is a plain dot-decimal number, one Arrow cast does it
    (``numbers``: that cast, when the caller has made it already).  Otherwise plain
    numbers are cast in bulk and the rest parsed once per distinct text.
    """
    n = len(values)
    if decimal == "." and n:
        if numbers is None:
            try:
                numbers = pc.cast(values, pa.float64())
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                numbers = None
        out = numbers.to_numpy(zero_copy_only=False) if numbers is not None else None
        if out is not None and np.isfinite(out).all():
            blank = empty_strings(n)
            return ParsedValues(np.array(out, dtype=np.float64), blank, blank, blank, blank, 0, clean=True)

    out = np.full(n, np.nan)
    if decimal in (",", UNDECIDED):
        integer_like = pc.match_substring_regex(values, r"^[+-]?\d+$").to_numpy(zero_copy_only=False)
        comma_np = (
            pc.match_substring_regex(values, PLAIN_COMMA).to_numpy(zero_copy_only=False)
            if decimal == ","
            else np.zeros(n, dtype=bool)
        )
        idx = np.flatnonzero(integer_like)
        if len(idx):
            out[idx] = pc.cast(pc.take(values, pa.array(idx)), pa.float64()).to_numpy()
        idx = np.flatnonzero(comma_np)
        if len(idx):
            fixed = pc.replace_substring(pc.take(values, pa.array(idx)), ",", ".")
            out[idx] = pc.cast(fixed, pa.float64()).to_numpy()
        done = integer_like | comma_np
    else:
        done = pc.match_substring_regex(values, PLAIN_DOT).to_numpy(zero_copy_only=False)
        idx = np.flatnonzero(done)
        if len(idx):
            out[idx] = pc.cast(pc.take(values, pa.array(idx)), pa.float64()).to_numpy()

    overflow = done & ~np.isfinite(out)
    if overflow.any():
        done = done & ~overflow  # "1e999", a 100-digit number: let the slow path explain
    rest = np.flatnonzero(~done)
    blank = empty_strings(n)
    if not len(rest):
        return ParsedValues(out, blank, blank, blank, blank, 0)
    texts = pc.take(values, pa.array(rest)).to_pylist()
    cache: dict[str, tuple[float, str, str, str, str, bool]] = {}
    cols: list[list[str]] = [[], [], [], []]
    thousands = 0
    for k, text in zip(rest, texts, strict=True):
        parsed = cache.get(text)
        if parsed is None:
            parsed = cache[text] = parse_one(text, decimal)
        v, c, f, t, r, th = parsed
        out[k] = v
        for col, item in zip(cols, (c, f, t, r), strict=True):
            col.append(item)
        thousands += th
    mask = np.zeros(n, dtype=bool)
    mask[rest] = True
    mask_arr = pa.array(mask)
    comparator, flag, trailing, reason = (
        pc.replace_with_mask(blank, mask_arr, pa.array(col, pa.string())) for col in cols
    )
    return ParsedValues(out, comparator, flag, trailing, reason, thousands)


def parse_one(text: str, decimal: str = ".") -> tuple[float, str, str, str, str, bool]:
    """Parse one value text.

    Returns (value, comparator, flag, trailing text, reason, used_thousands).  ``reason``
    is "" on success; ``value`` is NaN otherwise.
    """
    nan = float("nan")
    t = text.strip().strip('"').strip()
    if not t:
        return nan, "", "", "", "no result value (empty)", False
    if NO_RESULT.match(t):
        return nan, "", "", "", f"no numeric result ('{t}')", False
    m = _VALUE_RE.match(t)
    if not m:
        return nan, "", "", "", f"not a number ('{t[:60]}')", False
    pre = (m.group("pre") or "").strip().strip("()").lower()
    flag = ""
    if pre:
        if pre in FLAG_WORDS:
            flag = FLAG_WORDS[pre]
        else:
            return nan, "", "", "", f"not a number ('{t[:60]}')", False
    cmp_text = (m.group("cmp") or "").lower()
    comparator = COMPARATOR_OF.get(cmp_text, ">" if cmp_text else "")
    num_text = m.group("num").replace(" ", "").replace("'", "")
    number, problem, used_thousands = _number(num_text, decimal)
    used_thousands = used_thousands or num_text != m.group("num")  # "5 000", "1'234"
    if problem:
        return nan, "", "", "", problem.format(text=t[:60]), False
    if not np.isfinite(number):
        return nan, "", "", "", f"not a usable number ('{t[:40]}{'...' if len(t) > 40 else ''}')", False
    post = m.group("post").strip()
    trailing = ""
    if post:
        post_flag = post.strip("()[]").lower()
        if post_flag in FLAG_WORDS:
            flag = flag or FLAG_WORDS[post_flag]
        elif re.fullmatch(r"[*!]+", post):
            flag = flag or post
        else:
            words = post.split()
            if words and words[-1].strip("()[]").lower() in FLAG_WORDS and len(words) > 1:
                flag = flag or FLAG_WORDS[words[-1].strip("()[]").lower()]
                words = words[:-1]
            trailing = " ".join(words)
    return number, comparator, flag, trailing, "", used_thousands


def _number(s: str, decimal: str) -> tuple[float, str, bool]:
    """Read a numeric token under the file's decimal convention."""
    if decimal == UNDECIDED and ("," in s or "." in s):
        return (
            float("nan"),
            "'{text}': the file has as many values with a decimal comma as with a decimal point, so which "
            "is the decimal separator cannot be told; check the value",
            False,
        )
    if "," in s and "." not in s:
        if decimal == ",":
            if s.count(",") == 1:
                return float(s.replace(",", ".")), "", False
            return float("nan"), "'{text}' has more than one decimal comma", False
        if _THOUSANDS.match(s):
            return float(s.replace(",", "")), "", True
        return float("nan"), "'{text}' uses a decimal comma but this file uses decimal points; check the value", False
    if "." in s and "," not in s:
        if decimal == "," and not re.fullmatch(r"[+-]?\d+", s):
            if re.fullmatch(r"\d{1,3}(\.\d{3})+", s):
                return (
                    float("nan"),
                    "'{text}' could be a thousands separator or a decimal point in a decimal-comma file; check the value",
                    False,
                )
            return (
                float("nan"),
                "'{text}' uses a decimal point but this file uses decimal commas; check the value",
                False,
            )
        try:
            return float(s), "", False
        except ValueError:
            return float("nan"), "not a number ('{text}')", False
    if "," in s and "." in s:
        if decimal == "." and _THOUSANDS.match(s):
            return float(s.replace(",", "")), "", True
        if decimal == "," and _POINT_THOUSANDS.match(s):
            return float(s.replace(".", "").replace(",", ".")), "", True
        return float("nan"), "'{text}' mixes commas and points; check the value", False
    try:
        return float(s), "", False
    except ValueError:
        return float("nan"), "not a number ('{text}')", False


_RANGE_RE = re.compile(
    r"^\s*[\(\[]?\s*(?P<lo>[+-]?\d+(?:[.,]\d+)?)\s*(?:-|–|—|‒|−|to|bis|a|à|\.\.|/|;)\s*(?P<hi>[+-]?\d+(?:[.,]\d+)?)\s*[\)\]]?\s*(?P<unit>.*)$",
    re.IGNORECASE,
)
_ONE_SIDED_RE = re.compile(r"^\s*(?P<op><=|>=|≤|≥|<|>)\s*(?P<v>\d+(?:[.,]\d+)?)\s*(?P<unit>.*)$")


#: A range text whose first limit carries a minus ("-4.0-11.0", "(-4.0)-11.0", "−4 - 11").
_BELOW_ZERO = re.compile(r"^\s*[\(\[]?\s*[-−‒–]\s*\d")


def starts_below_zero(text: str) -> bool:
    """Whether a range text starts with a minus: a limit below 0, which no monitored test
    has (a count, Hb, creatinine ...), or a stray dash; which is meant is never guessed (H377)."""
    return bool(_BELOW_ZERO.match(text))


def parse_range(text: str, decimal: str = ".") -> tuple[float, float]:
    """Reference range text ("4.0-11.0", "<5", "> 60", "3,5 - 5,0") -> (low, high)."""
    lo, hi, _ = parse_range_unit(text, decimal)
    return lo, hi


def parse_range_unit(text: str, decimal: str = ".") -> tuple[float, float, str]:
    """Reference range text -> (low, high, the text after the numbers: "x10^9/L" in
    "2.0-7.5 x10^9/L", often a unit, "" when none)."""
    nan = float("nan")
    t = text.strip()
    if not t:
        return nan, nan, ""

    def num(s: str) -> float:
        if decimal == UNDECIDED and re.fullmatch(r"\d{1,3}[.,]\d{3}", s):
            raise ValueError(s)  # a thousands separator or a decimal, in a file that does not say
        return (
            float(s.replace(",", "."))
            if (decimal == "," or re.fullmatch(r"\d+,\d{1,2}", s))
            else float(s.replace(",", ""))
        )

    m = _RANGE_RE.match(t)
    if m:
        try:
            lo, hi = num(m.group("lo")), num(m.group("hi"))
        except ValueError:
            return nan, nan, ""
        if lo < 0 or hi < 0:
            return nan, nan, ""  # no monitored test is below 0: which minus is meant is not guessed (H377)
        return (lo, hi, m.group("unit").strip()) if lo <= hi else (nan, nan, "")
    m = _ONE_SIDED_RE.match(t)
    if m:
        try:
            v = num(m.group("v"))
        except ValueError:
            return nan, nan, ""
        unit = m.group("unit").strip()
        return (nan, v, unit) if m.group("op") in ("<", "<=", "≤") else (v, nan, unit)
    return nan, nan, ""


#: A range anywhere in a text ("10-50", "0.6 to 1.2"), or a one-sided limit ("<35", ">= 115",
#: "up to 35"); "/" is left out, units hold it.
_ANY_RANGE = re.compile(
    r"(?P<lo>\d+(?:[.,]\d+)?)\s*(?:-|–|—|‒|−|\bto\b)\s*(?P<hi>\d+(?:[.,]\d+)?)"
    r"|(?P<op><=|>=|≤|≥|<|>|\bup\s+to\b)\s*(?P<v>\d+(?:[.,]\d+)?)",
    re.IGNORECASE,
)
#: A number standing on its own (not a part of "10^9", "x10E3", "1.73m2").
_LONE_NUMBER = re.compile(r"(?<![\w^.,])\d+(?:[.,]\d+)?(?![\w^])")
#: A word naming a sex beside a range: "M", "(F)", "Male:", "women".
_SEX_WORD = re.compile(
    r"(?<![^\W\d_])(males?|men|man|females?|women|woman|m|f"
    # German (männlich/weiblich, m/w) and French (homme/femme) words; never "H", a High flag (H370)
    r"|männlich|maennlich|männer|maenner|mann|weiblich|frauen|frau|w|hommes?|femmes?)(?![^\W_])",
    re.IGNORECASE,
)
#: The sex words above that name men; every other one names women.
_MALE_WORDS = frozenset(
    ("male", "males", "men", "man", "m", "männlich", "maennlich", "männer", "maenner", "mann", "homme", "hommes")
)
_FILLER = re.compile(r"[\s():;,\[\]&]+|\band\b", re.IGNORECASE)


@dataclass(frozen=True)
class SexRanges:
    """A reference range text that holds more than one range ("10-50 (M) 10-35 (F)").

    ``readable``: each range belongs to one sex (M and F), read into ``male`` and
    ``female``; otherwise neither may be used (the default limits apply)."""

    male: tuple[float, float]
    female: tuple[float, float]
    unit: str
    readable: bool


def _split_at_sex(gap: str) -> tuple[str, str, str] | None:
    """(text before, "M" or "F", text after) around the one sex word of ``gap``; None
    when it holds none or several."""
    found = list(_SEX_WORD.finditer(gap))
    if len(found) != 1:
        return None
    m = found[0]
    return gap[: m.start()], "M" if m.group(1).lower() in _MALE_WORDS else "F", gap[m.end() :]


def _filler(text: str) -> bool:
    return not _FILLER.sub("", text).strip()


def parse_sex_ranges(text: str, decimal: str = ".") -> SexRanges | None:
    """A reference range given per sex: "10-50 (M) 10-35 (F)", "M: 130-170 F: 120-150",
    "Male 62-106; Female 44-80 umol/L".  ``None`` when the text holds fewer than two
    ranges (:func:`parse_range_unit` reads it); not ``readable`` when it holds more than
    one range that are not one male and one female range with nothing else beside them
    (age bands, two units ...): the first range is then never taken for everyone."""
    found = list(_ANY_RANGE.finditer(text))
    nan = (float("nan"), float("nan"))
    unusable = SexRanges(nan, nan, "", False)
    if len(found) < 2:
        # a sex word beside more than one number, in no shape read here ("35 (M) 30 (F)"):
        # never the first number for everyone (H130)
        several = len(_LONE_NUMBER.findall(text)) > 1
        return unusable if several and _SEX_WORD.search(text) else None
    if len(found) != 2:
        return unusable
    r0, r1 = found
    g0, g1, g2 = text[: r0.start()], text[r0.end() : r1.start()], text[r1.end() :]
    s0, s1, s2 = _split_at_sex(g0), _split_at_sex(g1), _split_at_sex(g2)
    if s0 and s1 and not _SEX_WORD.search(g2):  # labels before: "M: 130-170 F: 120-150 g/L"
        if not (_filler(s0[0]) and _filler(s0[2]) and _filler(s1[2])):
            return unusable
        sexes, units = (s0[1], s1[1]), (s1[0], g2)
    elif s1 and s2 and not _SEX_WORD.search(g0):  # labels after: "10-50 (M) 10-35 (F)"
        if not (_filler(g0) and _filler(s1[2]) and _filler(s2[2])):
            return unusable
        sexes, units = (s1[1], s2[1]), (s1[0], s2[0])
    else:
        return unusable
    if set(sexes) != {"M", "F"}:
        return unusable
    u0, u1 = (_FILLER.sub(" ", u).strip() for u in units)
    if u0 and u1 and u0.replace(" ", "").lower() != u1.replace(" ", "").lower():
        return unusable
    bounds = []
    for r in (r0, r1):
        if r.group("op"):  # one-sided: "<35 (M) <30 (F)", ">130 (M) >115 (F)"
            op = "<" if r.group("op").lower().startswith("up") else r.group("op")
            lo, hi, _ = parse_range_unit(f"{op}{r.group('v')}", decimal)
            if math.isnan(lo) and math.isnan(hi):
                return unusable
        else:
            lo, hi, _ = parse_range_unit(r.group(0), decimal)
            if math.isnan(lo) or math.isnan(hi):
                return unusable
        bounds.append((lo, hi))
    by_sex = dict(zip(sexes, bounds, strict=True))
    return SexRanges(by_sex["M"], by_sex["F"], u0 or u1, True)
