"""CTCAE v5.0 grades of blood counts, haemoglobin, ALT/AST and creatinine (cut-offs in ``ctcae.toml``).

Decreased counts and anaemia: a result strictly below a grade's cut gets that grade;
grade 1 is "below the lower limit of normal" and so needs an LLN: the row's own
reference range first, then the default table (``reference_ranges.toml``).  Haemoglobin
reported in mmol/L is graded on the reported value against CTCAE's mmol/L cut-offs;
g/dL maps exactly (x 10).  ALT/AST increased: multiples of the ULN, or of the
patient's baseline when that baseline is above the ULN.  Creatinine increased: the
higher of the grade on the ULN and the grade on the patient's baseline.

A result whose row gives no range of its own but which the lab flagged beyond its limit
("L", "H": ``[lab_flag]`` in ``ctcae.toml``) is beyond the lab's own limit: never grade
0 on a default limit, but grade 1 "by the lab's flag" (:func:`by_lab_flag`, H484).

The default limits are adults': a result drawn before the patient's 18th birthday
(``adult_from_years``) is never given grade 1 on a default LLN; a child's ALT/AST
with no range of its own is graded on the adult default ULN, marked CHILD_DEFAULT so
that the flag says so (:func:`children`).

A censored result is graded by its bound; when it is censored in the direction of the
grade (a "<0.5" neutrophil count), the bound itself counts as beyond the cut, because
the true value is: "<0.5" is grade 4, while an exact 0.5 is grade 3 (where a worse
grade is still possible, the flag says "or worse").  An inclusive bound may be the value
itself: "<=50" platelets may be 50, grade 2, so it is "grade 2 or worse", never grade 3.  A result censored away from a
grade (">0.5" neutrophils) is never given it: its true value lies above the bound.
A result whose bound leaves a more severe grade possible has an open grade
(``Grades.open``): every output that gives its grade says "2 or worse" (:func:`grade_text`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from dashboard import model
from dashboard.identity import whole_years
from dashboard.rules.baselines import PRETREATMENT, Baselines, Reference, for_rows
from dashboard.rules.data import DAY, NEVER, ctcae_file, ranges_file
from dashboard.rules.inputs import Inputs, Labs, codes_in, hb_as_reported, pair_key, text_column, to_date
from dashboard.units import HB_G_PER_L_PER_MMOL, round_sig

#: How the cut of a grade was obtained (LAB_FLAG: no cut, the lab's own abnormal flag, H484).
FIXED, LAB_LIMIT, DEFAULT_LIMIT, BASELINE, CHILD_DEFAULT, LAB_FLAG = 0, 1, 2, 3, 4, 5


@dataclass
class Grades:
    """Per lab row (in :class:`~dashboard.rules.inputs.Labs` order)."""

    grade: np.ndarray  # int8: -1 no CTCAE term for the analyte, else 0..4
    cut: np.ndarray  # float64: the cut crossed (canonical unit), NaN when grade <= 0
    basis: np.ndarray  # int8: FIXED, LAB_LIMIT, DEFAULT_LIMIT, BASELINE or CHILD_DEFAULT
    limit: np.ndarray  # float64: the LLN / ULN used (NaN if none)
    #: bool: censored towards the grade with a more severe grade still possible ("<=50"
    #: platelets: grade 2 or worse; "<0.5" lymphocytes: grade 3 or worse)
    open: np.ndarray


@cache
def terms() -> dict[str, dict[str, Any]]:
    """CTCAE terms by analyte id."""
    return ctcae_file()["terms"]


def baseline_min_results() -> int:
    """Pre-treatment draws an ALT/AST baseline needs (``ctcae.toml``)."""
    return int(ctcae_file()["baseline_min_results"])


#: What follows a grade that may be worse than its number (:attr:`Grades.open`).
OR_WORSE = " or worse"


def _missing(x: object) -> bool:
    """None, NaN or pandas' NA (whose comparison is itself NA)."""
    if x is None:
        return True
    try:
        return bool(x != x)
    except TypeError:
        return True


def grade_text(grade: object, open_end: object = False) -> str:
    """A grade alone in words, for a table cell: "2", "2 or worse" (an open grade,
    :attr:`Grades.open`), "" when there is none.  Every output that gives a grade
    without its flag's sentence says it so."""
    if _missing(grade):
        return ""
    g = int(grade)  # type: ignore[call-overload]
    return f"{g}{OR_WORSE}" if not _missing(open_end) and bool(open_end) else str(g)


def max_grade(analyte: str) -> int:
    """The most severe grade a term gives on a laboratory value (anaemia has no grade 4 cut)."""
    term = terms()[analyte]
    cuts = term["cuts"] if term["direction"] == "low" else term["uln_multiples"]
    return int(max(g for g, _ in cuts))


def severity_of(analyte: str, grade: int) -> str:
    sev = terms()[analyte].get("severity") or ctcae_file()["severity"]
    return sev[grade] if 0 < grade < len(sev) else ""


def default_limit(analyte: str, which: str, sex: str = "") -> float:
    """Default LLN ("low") or ULN ("high") in the canonical unit; NaN if none."""
    item = ranges_file()["ranges"].get(analyte, {})
    if which == "low" and sex in ("F", "M") and f"low_{sex}" in item:
        return float(item[f"low_{sex}"])
    return float(item.get(which, np.nan))


@cache
def _lab_flag_words() -> dict[str, pa.Array]:
    """The lab flags of each direction ("low", "high"), upper case (``ctcae.toml``)."""
    return {d: pa.array(sorted({w.upper() for w in ctcae_file()["lab_flag"][d]}), pa.string()) for d in ("low", "high")}


def lab_flagged(inp: Inputs, rows: np.ndarray, direction: str) -> np.ndarray:
    """Per lab row of ``rows``: the lab's own flag (``source_flag``) says the result is
    beyond its limit in ``direction`` ("low" or "high")."""
    table = inp.labs.table
    if not len(rows) or "source_flag" not in table.column_names:
        return np.zeros(len(rows), dtype=bool)
    written = text_column(table.column("source_flag"), inp.labs.row[rows])
    flags = pc.utf8_upper(pc.utf8_trim_whitespace(written.cast(pa.string())))
    return codes_in(flags, _lab_flag_words()[direction]) >= 0


def any_lab_flag(inp: Inputs) -> bool:
    """The labs hold a lab flag anywhere (``source_flag``): most exports carry none, and a
    million empty cells are then seen from their lengths (or the dictionary's), never taken
    and decoded."""
    table = inp.labs.table
    return "source_flag" in table.column_names and _any_flag(table.column("source_flag"))


def _any_flag(col: pa.ChunkedArray) -> bool:
    for chunk in col.chunks:
        texts = chunk.dictionary if pa.types.is_dictionary(chunk.type) else chunk
        longest = pc.max(pc.binary_length(texts)).as_py()
        if longest:
            return True
    return False


def by_lab_flag(
    inp: Inputs,
    rows: np.ndarray,
    grade: np.ndarray,
    cmp: np.ndarray,
    own_limit: np.ndarray,
    direction: str,
    flags: bool = True,
) -> np.ndarray:
    """Per lab row of ``rows``: graded 0 (or not at all) on a default limit, with no limit
    of its row's own, though the lab flagged it beyond its limit: grade 1 by the lab's
    flag (H484).  A result censored away from the term ("<2.0" for an increase) is left.
    ``flags``: False where the labs hold no flag at all (:func:`any_lab_flag`)."""
    if not flags:
        return np.zeros(len(rows), dtype=bool)
    towards = cmp <= 0 if direction == "low" else cmp >= 0
    candidates = np.flatnonzero((grade == 0) & ~own_limit & towards)
    out = np.zeros(len(rows), dtype=bool)
    if len(candidates):
        out[candidates] = lab_flagged(inp, rows[candidates], direction)
    return out


def lower_limits(inp: Inputs, analyte: str, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The LLN of lab rows ``rows``: the row's own reference range, else the (adult)
    default for the patient's sex, none for a child's result; and whether it is the lab's own."""
    labs = inp.labs
    own = labs.ref_low[rows]
    lab_ok = np.isfinite(own) & (own > 0)
    # the sex read once per patient, then per row (not a text comparison per result)
    sex = np.select([inp.sex == "F", inp.sex == "M"], [1, 2], 0).astype(np.int8)[labs.pid[rows]]
    default = np.array([default_limit(analyte, "low", x) for x in ("", "F", "M")])
    dflt = default[sex]
    dflt = np.where(children(inp, rows), np.nan, dflt)
    return np.where(lab_ok, own, dflt), lab_ok


def children(inp: Inputs, rows: np.ndarray) -> np.ndarray:
    """Per lab row of ``rows``: drawn before the patient's 18th birthday, or of a patient
    whose only stated age is under 18.  False where the age is unknown."""
    if inp.adult_from is None or not len(rows):
        return np.zeros(len(rows), dtype=bool)
    return inp.labs.t[rows] < inp.adult_from[inp.labs.pid[rows]]


def age_at(inp: Inputs, row: int) -> int | None:
    """Whole years of age of the patient of lab row ``row`` at its draw (the stated age
    when only that is known), None when unknown."""
    p = int(inp.labs.pid[row])
    if inp.born is not None and inp.born[p] != NEVER:
        return whole_years(to_date(int(inp.born[p])), to_date(int(inp.labs.t[row])))
    if inp.age_given is not None and np.isfinite(inp.age_given[p]):
        return int(inp.age_given[p])
    return None


# Relative tolerance under which a result equals a cut: a value and a limit converted
# from another unit (1.65 and 1.5 x 1.1 mg/dL, each x 88.4) differ in the last bits of
# the float, and "strictly above 1.5 x ULN" must not fire on the cut itself.
_SAME = 1e-9


def _equal(value: np.ndarray, cut: np.ndarray | float) -> np.ndarray:
    """``np.isclose(value, cut, rtol=_SAME, atol=0.0)``."""
    with np.errstate(invalid="ignore"):
        if isinstance(cut, float | int) and math.isfinite(cut):
            # isclose's own test for a finite cut, |value - cut| <= 0.0 + _SAME * |cut| (its
            # "or value == cut" adds nothing: the gap is then 0), in two passes instead of
            # its general path's several (the limits of the guideline rules are numbers)
            return np.abs(np.subtract(value, float(cut), dtype=np.float64)) <= _SAME * abs(float(cut))
        return np.isclose(value, cut, rtol=_SAME, atol=0.0)


def below(value: np.ndarray, cmp: np.ndarray, cut: np.ndarray | float) -> np.ndarray:
    """value < cut (a value equal to the cut up to float rounding is not below it), a
    "<" censored value counting as below its own bound; a "<=" censored value only when
    its bound is below the cut ("<=50" may be 50 itself); a ">" or ">=" censored value is
    never known to be below a cut (the true value lies above its bound)."""
    eq = _equal(value, cut)
    with np.errstate(invalid="ignore"):
        return ((value < cut) & ~eq & (cmp <= 0)) | ((cmp == -1) & ((value <= cut) | eq))


def above(value: np.ndarray, cmp: np.ndarray, cut: np.ndarray | float) -> np.ndarray:
    """value > cut (a value equal to the cut up to float rounding is not above it), a
    ">" censored value counting as above its own bound; a ">=" censored value only when
    its bound is above the cut; a "<" or "<=" censored value is never known to be above
    a cut."""
    eq = _equal(value, cut)
    with np.errstate(invalid="ignore"):
        return ((value > cut) & ~eq & (cmp >= 0)) | ((cmp == 1) & ((value >= cut) | eq))


def at_least(value: np.ndarray, cmp: np.ndarray, cut: np.ndarray | float) -> np.ndarray:
    """value >= cut, a value equal to the cut up to float rounding counting as on it
    (1.08 ukat/L is 1.5 x 0.72 ukat/L, though 64.8 < 43.2 x 1.5 in floats); a ">" or ">="
    censored value when its bound is at least the cut; a "<" or "<=" censored value is
    never known to reach a cut above nothing ("<100" may be 89)."""
    eq = _equal(value, cut)
    with np.errstate(invalid="ignore"):
        return ((value > cut) | eq) & (cmp >= 0)


def undecided(value: np.ndarray, cmp: np.ndarray, cut: np.ndarray | float, comparison: str) -> np.ndarray:
    """A censored value that cannot be placed against the limit "``comparison`` ``cut``"
    ("<" or ">", strict) either way: "<2.0" against 1.6 (the true value may lie on either
    side), ">0.5" against 1.6, and "<=1.6" against "< 1.6" (it may be 1.6 itself, which is
    not below, or lower).  ">=1.6" against "< 1.6" is decided: never below."""
    eq = _equal(value, cut)
    towards = -1 if comparison == "<" else 1
    on_bound = (cmp == 2 * towards) & eq  # "<=1.6" for "< 1.6", ">=100" for "> 100"
    with np.errstate(invalid="ignore"):
        return (~eq & (((cmp < 0) & (value > cut)) | ((cmp > 0) & (value < cut)))) | on_bound


def grade_low(
    value: np.ndarray, cmp: np.ndarray, cuts: list[list[float]], lln: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Grades of a "decreased" term: (grade, cut crossed).  ``cuts`` = [[grade, cut], ...]."""
    grade = np.zeros(len(value), dtype=np.int8)
    cut = np.full(len(value), np.nan)
    m = below(value, cmp, lln)
    grade[m], cut[m] = 1, lln[m]
    for g, c in sorted(cuts):
        m = below(value, cmp, c)
        grade[m], cut[m] = g, c
    return grade, cut


def grade_high(
    value: np.ndarray,
    cmp: np.ndarray,
    uln: np.ndarray,
    baseline: np.ndarray,
    term: dict[str, Any],
    baseline_uln: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Grades of an "increased" term: (grade, cut crossed, on_baseline).

    ALT/AST (``baseline_rule = "if_abnormal"``): multiples of the ULN, or of the baseline
    when it is above the ULN.  Whether the baseline was abnormal is read against its own
    reference range (``baseline_uln``: the ULN its draw was reported with; the graded
    row's ULN when not given): baseline bloods at the hospital lab (ULN 56) and
    monitoring at the GP's (ULN 35) leave an ALT of 50 a normal baseline (probe37 F2,
    H541).  Creatinine (``"either"``): the higher of the ULN grade and the baseline
    grade, whatever the baseline's level.
    """
    if term["baseline_rule"] == "either":
        return _grade_high_either(value, cmp, uln, baseline, term)
    grade = np.zeros(len(value), dtype=np.int8)
    cut = np.full(len(value), np.nan)
    own = uln if baseline_uln is None else baseline_uln
    with np.errstate(invalid="ignore"):
        abnormal = np.isfinite(baseline) & np.isfinite(own) & (baseline > own)
    for g, mult in sorted(term["uln_multiples"]):
        c = uln * mult
        m = ~abnormal & above(value, cmp, c)
        grade[m], cut[m] = g, c[m]
    c1 = baseline * term["baseline_grade1"]
    m = abnormal & at_least(value, cmp, c1)  # "1.5 - 3.0 x baseline": 1.5 x itself is grade 1
    grade[m], cut[m] = 1, c1[m]
    for g, mult in sorted(term["baseline_multiples"]):
        c = baseline * mult
        m = abnormal & above(value, cmp, c)
        grade[m], cut[m] = g, c[m]
    return grade, cut, abnormal


def _grade_high_either(
    value: np.ndarray, cmp: np.ndarray, uln: np.ndarray, baseline: np.ndarray, term: dict[str, Any]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    grade = np.zeros(len(value), dtype=np.int8)
    cut = np.full(len(value), np.nan)
    for g, mult in sorted(term["uln_multiples"]):
        c = uln * mult
        m = above(value, cmp, c)
        grade[m], cut[m] = g, c[m]
    on_baseline = np.zeros(len(value), dtype=bool)
    for g, mult in sorted(term["baseline_multiples"]):
        c = baseline * mult
        m = above(value, cmp, c) & (grade < g)  # only where the baseline gives the higher grade
        grade[m], cut[m], on_baseline[m] = g, c[m], True
    return grade, cut, on_baseline


def baseline_uln(labs: Labs, analyte: str, pid: np.ndarray, ref: Reference, fallback: np.ndarray) -> np.ndarray:
    """The ULN each baseline (``ref``, of results of patients ``pid``) was reported with:
    a pre-treatment baseline's is the ULN of the draws of ``analyte`` it rests on, the
    lab's own else the default (of a day of several draws, or of draws reported with
    different ranges, the highest: an abnormal baseline lifts the cuts, so it is called
    abnormal only above every range it was reported with); a clinician-set baseline's is
    ``fallback`` (the graded result's ULN; H541)."""
    out = np.array(fallback, dtype=np.float64, copy=True)
    m = np.flatnonzero(ref.basis == PRETREATMENT)
    s = labs.slice(analyte)
    if not len(m) or s.start == s.stop:
        return out
    own = labs.ref_high[s]
    uln = np.where(np.isfinite(own) & (own > 0), own, default_limit(analyte, "high"))
    keys = pair_key(labs.pid[s], labs.t[s])  # the slice is sorted by patient and time
    lo = np.searchsorted(keys, pair_key(pid[m], ref.t_first[m] // DAY * DAY), side="left")
    hi = np.searchsorted(keys, pair_key(pid[m], ref.t_last[m] // DAY * DAY + DAY), side="left")
    ok = hi > lo
    if ok.any():
        values = np.r_[np.where(np.isfinite(uln), uln, -np.inf), -np.inf]
        found = np.maximum.reduceat(values, np.column_stack([lo[ok], hi[ok]]).ravel())[::2]
        out[m[ok]] = np.where(np.isfinite(found), found, out[m[ok]])
    return out


def grade_all(inp: Inputs, base: Baselines) -> Grades:
    labs = inp.labs
    n = len(labs)
    grade = np.full(n, -1, dtype=np.int8)
    cut = np.full(n, np.nan)
    basis = np.zeros(n, dtype=np.int8)
    limit = np.full(n, np.nan)
    flag_open = np.zeros(n, dtype=bool)  # graded 1 on the lab's "high" flag: its ULN unknown
    flags = any_lab_flag(inp)  # once: most exports carry no flag
    for analyte, term in terms().items():
        s = labs.slice(analyte)
        if s.start == s.stop:
            continue
        v, cmp = labs.value[s], labs.cmp[s]
        rows = np.arange(s.start, s.stop)
        if term["direction"] == "low":
            lln, lab_ok = lower_limits(inp, analyte, rows)
            g, c = grade_low(v, cmp, term["cuts"], lln)
            b = np.where(g == 1, np.where(lab_ok, LAB_LIMIT, DEFAULT_LIMIT), FIXED)
            if analyte == "hemoglobin" and labs.hb_mmol[s].any():
                mm = labs.hb_mmol[s]
                g_mm, c_mm = grade_low(hb_as_reported(v[mm]), cmp[mm], term["cuts_mmol_per_l"], hb_as_reported(lln[mm]))
                g[mm] = g_mm
                c[mm] = np.where(g_mm >= 2, [round_sig(x * HB_G_PER_L_PER_MMOL) for x in c_mm], lln[mm])
            # below the lab's own LLN by its flag, not below the grade 2 cut: grade 1 (H484)
            flagged = by_lab_flag(inp, rows, g, cmp, lab_ok, "low", flags)
            g[flagged], c[flagged], b[flagged], lln[flagged] = 1, np.nan, LAB_FLAG, np.nan
            grade[s], cut[s], basis[s], limit[s] = g, c, b, lln
        else:
            own = labs.ref_high[s]
            lab_ok = np.isfinite(own) & (own > 0)
            uln = np.where(lab_ok, own, default_limit(analyte, "high"))
            ref = for_rows(base, labs.pid[s], model.ANALYTES.index(analyte), labs.t[s], baseline_min_results())
            # a censored baseline ("<40") is only a bound: CTCAE's multiples need a value, so
            # such a result is graded on the ULN alone (H211)
            bl = np.where(ref.usable(), ref.value, np.nan)
            g, c, on_base = grade_high(v, cmp, uln, bl, term, baseline_uln(labs, analyte, labs.pid[s], ref, uln))
            dflt = np.where(children(inp, rows), CHILD_DEFAULT, DEFAULT_LIMIT)
            b = np.where(on_base, BASELINE, np.where(lab_ok, LAB_LIMIT, dflt))
            # above the lab's own ULN by its flag: at least grade 1, a higher grade not
            # excluded (the ULN is unknown); not where an abnormal baseline grades (H484)
            flagged = by_lab_flag(inp, rows, g, cmp, lab_ok | on_base, "high", flags)
            g[flagged], c[flagged], b[flagged], uln[flagged] = 1, np.nan, LAB_FLAG, np.nan
            flag_open[s] = flagged & (max_grade(analyte) > 1)
            grade[s], cut[s], basis[s], limit[s] = g, c, b, uln
    cut[grade <= 0] = np.nan
    return Grades(grade, cut, basis.astype(np.int8), limit, open_grades(labs, grade) | flag_open)


def open_grades(labs: Labs, grade: np.ndarray) -> np.ndarray:
    """Per lab row: the grade may be worse than its number.  A result censored towards
    the grade ("<=50", "<0.5" for a decreased count; ">=200", ">500" for ALT) lies beyond
    its bound by an unknown amount; where the term has a more severe grade than the one
    the bound gives, that grade is open (grade 0 too: "<=150" with an LLN of 150 may be
    149).  A result censored away from the grade, or exact, never is."""
    out = np.zeros(len(grade), dtype=bool)
    for analyte, term in terms().items():
        s = labs.slice(analyte)
        if s.start == s.stop:
            continue
        cmp = labs.cmp[s]
        towards = cmp < 0 if term["direction"] == "low" else cmp > 0
        g = grade[s]
        out[s] = towards & (g >= 0) & (g < max_grade(analyte))
    return out
