"""An independent CTCAE v5.0 grader, compared with the review's grades over a grid of
results imported as labs write them (audit grade17).

The grader below is written from the CTCAE v5.0 criteria text (NCI, 27 Nov 2017), not
from ``dashboard/rules/ctcae.py``.  The text relied on, as the NCI table words it
(copy in tests/fixtures/ctcae/ncictcaev5.json):

- White blood cell decreased: G1 "<LLN - 3000/mm3; <LLN - 3.0 x 10e9 /L", G2 "<3000 -
  2000/mm3", G3 "<2000 - 1000/mm3", G4 "<1000/mm3; <1.0 x 10e9 /L".
- Neutrophil count decreased: G1 "<LLN - 1500/mm3; <LLN - 1.5 x 10e9 /L", G2 "<1500 -
  1000/mm3", G3 "<1000 - 500/mm3", G4 "<500/mm3".
- Lymphocyte count decreased: G1 "<LLN - 800/mm3", G2 "<800 - 500/mm3", G3 "<500 -
  200/mm3", G4 "<200/mm3".
- Platelet count decreased: G1 "<LLN - 75,000/mm3", G2 "<75,000 - 50,000/mm3", G3
  "<50,000 - 25,000/mm3", G4 "<25,000/mm3".
- Anemia: G1 "Hemoglobin (Hgb) <LLN - 10.0 g/dL; <LLN - 6.2 mmol/L; <LLN - 100 g/L", G2
  "Hgb <10.0 - 8.0 g/dL; <6.2 - 4.9 mmol/L; <100 - 80g/L", G3 "Hgb <8.0 g/dL; <4.9
  mmol/L; <80 g/L; transfusion indicated", G4 "Life-threatening consequences" (no
  laboratory cut-off).
- Alanine / Aspartate aminotransferase increased: G1 ">ULN - 3.0 x ULN if baseline was
  normal; 1.5 - 3.0 x baseline if baseline was abnormal", G2 ">3.0 - 5.0 x ULN ...;
  >3.0 - 5.0 x baseline ...", G3 ">5.0 - 20.0 x ULN ...; >5.0 - 20.0 x baseline ...",
  G4 ">20.0 x ULN ...; >20.0 x baseline ...".
- Creatinine increased: G1 ">ULN - 1.5 x ULN", G2 ">1.5 - 3.0 x baseline; >1.5 - 3.0 x
  ULN", G3 ">3.0 baseline; >3.0 - 6.0 x ULN", G4 ">6.0 x ULN".

Reading of the text: "<a - b" is the half-open interval [b, a): the upper end is
excluded ("<"), the lower end included (it is the start of the next grade's "<b").
">a - b" is (a, b].  The baseline-abnormal grade 1 of ALT/AST, "1.5 - 3.0 x baseline",
has no sign: 1.5 x baseline itself is grade 1.  A baseline is "abnormal" when it is
above the ULN.  The creatinine grade is the higher of its two readings.

Where the text needs an LLN/ULN and the row gives none, the project's documented adult
defaults are used (reference_ranges.toml, a project choice, not CTCAE): WBC 4.0,
neutrophils 2.0, lymphocytes 1.0 (x10^9/L), platelets 150, Hb 115 g/L (sex unknown or
female) and 130 (male), ALT/AST 40 U/L; creatinine none.

A censored result ("<0.5", "<=1.0", ">200") is a set of possible values: the grade it
is given is the least severe grade any of them has, and "or worse" is said when one of
them has a more severe grade.

Everything is exact arithmetic on the numbers as written (``Fraction``), in the unit the
lab wrote, so no conversion or float rounding of the project's can leak into the oracle.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from fractions import Fraction as Q

import pandas as pd
import pytest

from dashboard import model
from dashboard.ingest import ImportOptions, Source, import_sources
from dashboard.rules.review import review
from tests.support import TODAY, assert_balanced, import_text

AS_OF = dt.date(2026, 11, 25)

# --------------------------------------------------------------------------- the oracle

#: Lower cut of each grade of the "decreased" terms, in 10^9/L (Hb: g/L; Hb mmol/L apart).
LOW_CUTS: dict[str, list[tuple[int, Q]]] = {
    "wbc": [(2, Q(3)), (3, Q(2)), (4, Q(1))],
    "neutrophils": [(2, Q("1.5")), (3, Q(1)), (4, Q("0.5"))],
    "lymphocytes": [(2, Q("0.8")), (3, Q("0.5")), (4, Q("0.2"))],
    "platelets": [(2, Q(75)), (3, Q(50)), (4, Q(25))],
    "hemoglobin": [(2, Q(100)), (3, Q(80))],  # g/L (g/dL x 10 exactly)
}
HB_MMOL_CUTS = [(2, Q("6.2")), (3, Q("4.9"))]  # CTCAE's own mmol/L column

#: the project's documented adult defaults (reference_ranges.toml), canonical units
DEFAULT_LLN = {"wbc": Q(4), "neutrophils": Q(2), "lymphocytes": Q(1), "platelets": Q(150)}
DEFAULT_HB_LLN = {"": Q(115), "F": Q(115), "M": Q(130)}
DEFAULT_ULN = {"alt": Q(40), "ast": Q(40)}
HB_G_PER_L_PER_MMOL = Q("16.1134")  # monomer molar mass, g/L per mmol/L

MAX_GRADE = {"wbc": 4, "neutrophils": 4, "lymphocytes": 4, "platelets": 4, "hemoglobin": 3, "alt": 4, "ast": 4}
MAX_GRADE["creatinine"] = 4


def grade_decreased(analyte: str, v: Q, lln: Q | None, mmol: bool = False) -> int | None:
    """Grade of an exact value of a "decreased" term; None when it depends on an LLN
    the row and the defaults do not give."""
    cuts = HB_MMOL_CUTS if mmol else LOW_CUTS[analyte]
    grade = 0
    for g, c in cuts:
        if v < c:
            grade = g
    if grade:
        return grade
    if lln is None:
        return None
    return 1 if v < lln else 0


def grade_aminotransferase(v: Q, uln: Q, baseline: Q | None = None) -> int:
    if baseline is not None and baseline > uln:  # "if baseline was abnormal"
        for g, m in ((4, 20), (3, 5), (2, 3)):
            if v > m * baseline:
                return g
        return 1 if v >= Q(3, 2) * baseline else 0
    for g, m in ((4, 20), (3, 5), (2, 3), (1, 1)):
        if v > m * uln:
            return g
    return 0


def grade_creatinine(v: Q, uln: Q | None, baseline: Q | None = None) -> int | None:
    if uln is None and baseline is None:
        return None
    on_uln = 0
    if uln is not None:
        for g, m in ((4, 6), (3, 3), (2, Q(3, 2)), (1, 1)):
            if v > m * uln:
                on_uln = g
                break
    on_base = 0
    if baseline is not None:
        for g, m in ((3, 3), (2, Q(3, 2))):
            if v > m * baseline:
                on_base = g
                break
    if uln is None and on_base == 0:
        return None  # may be above a ULN nobody gave (grade 1): not graded
    return max(on_uln, on_base)


def possible_values(cmp: str, bound: Q) -> list[Q]:
    """Sample points of a censored result's possible values (enough for piecewise-
    constant grades with cuts that are not within 1e-9 of the bound)."""
    eps = Q(1, 10**9)
    if cmp == "":
        return [bound]
    if cmp == "<":
        return [bound - eps, bound / 2, bound / 1000]
    if cmp == "<=":
        return [bound, bound - eps, bound / 2, bound / 1000]
    if cmp == ">":
        return [bound + eps, bound * 2, bound * 1000]
    if cmp == ">=":
        return [bound, bound + eps, bound * 2, bound * 1000]
    raise AssertionError(cmp)


def expected(grade_of, cmp: str, bound: Q, cuts_near: list[Q], high: bool = False) -> tuple[int | None, bool]:
    """(least severe grade, "or worse") over a censored result's possible values; the
    sample includes every cut between the bound and zero / infinity.  "Or worse" is said
    of a result censored towards the term's direction ("<" for a decreased count, ">" for
    an increased enzyme), as the project words it (README: a censored result is graded
    by its bound; H143): a result censored away from it ("<100" ALT) is given the grade
    all its possible values have at least, and no more."""
    pts = possible_values(cmp, bound)
    for c in cuts_near:
        for x in (c, c - Q(1, 10**9), c + Q(1, 10**9)):
            if x > 0 and (
                (cmp == "<" and x < bound)
                or (cmp == "<=" and x <= bound)
                or (cmp == ">" and x > bound)
                or (cmp == ">=" and x >= bound)
            ):
                pts.append(x)
    grades = [grade_of(x) for x in pts]
    if any(g is None for g in grades):
        return None, False
    towards = cmp.startswith(">") if high else cmp.startswith("<")
    return min(grades), towards and max(grades) > min(grades)


# --------------------------------------------------------------------------- the grid

COUNT_UNITS = {  # unit as a lab writes it -> factor to 10^9/L (exact)
    "10^9/L": Q(1),
    "10^3/uL": Q(1),
    "K/uL": Q(1),
    "x10E3/uL": Q(1),
    "cells/uL": Q(1, 1000),
    "/mm3": Q(1, 1000),
}
NAMES = {"wbc": "WBC", "neutrophils": "Neutrophils", "lymphocytes": "Lymphocytes", "platelets": "Platelets"}
NAMES |= {"hemoglobin": "Hemoglobin", "alt": "ALT", "ast": "AST", "creatinine": "Creatinine"}


@dataclass
class Case:
    analyte: str
    value: str  # as written, with its comparator
    unit: str
    ref: str = ""  # the reference range column as written
    sex: str = ""
    want: tuple[int | None, bool] = (None, False)


def _num(text: str) -> Q:
    return Q(text.replace(",", "."))


def _split(value: str) -> tuple[str, Q]:
    for c in ("<=", ">=", "<", ">"):
        if value.startswith(c):
            return c, _num(value[len(c) :])
    return "", _num(value)


def _fmt(x: Q, comma: bool) -> str:
    text = f"{float(x):.6g}"
    return text.replace(".", ",") if comma else text


def _for_sex(ref: str, sex: str) -> str | None:
    """The range of a range text for ``sex`` ("3.5-5 (M) 3.0-4.5 (F)": its own part), spaces
    dropped; None when there is none for that sex, or no range at all."""
    if not ref:
        return None
    if "(M)" in ref:
        parts = {s[-2]: s[:-4].strip() for s in (p.strip() + ")" for p in ref.split(")") if p.strip())}
        if sex not in parts:
            return None
        ref = parts[sex]
    return ref.replace(" ", "")


def _lln_of(ref: str, factor: Q, sex: str) -> Q | None:
    """The LLN a lab's range text states, by hand for the spellings of the grid."""
    ref = _for_sex(ref, sex)
    if ref is None:
        return None
    if ref.startswith(">="):
        return _num(ref[2:]) * factor
    if ref.startswith("<"):
        return None
    return _num(ref.split("-")[0]) * factor or None


def _uln_of(ref: str, sex: str) -> Q | None:
    ref = _for_sex(ref, sex)
    if ref is None:
        return None
    if ref.startswith("<="):
        return _num(ref[2:])
    if ref.startswith("<"):
        return _num(ref[1:])
    if ref.startswith(">"):
        return None
    return _num(ref.split("-")[1])


def count_cases() -> list[Case]:
    """Every cut +-1 in the last reported digit, in every count unit, with and without ranges."""
    out = []
    for analyte, cuts in LOW_CUTS.items():
        if analyte == "hemoglobin":
            continue
        points = sorted({c for _, c in cuts} | {DEFAULT_LLN[analyte]})
        step = Q(1, 100) if analyte != "platelets" else Q(1)
        for unit, factor in COUNT_UNITS.items():
            for ref_text in ("", "lab"):
                for p in points:
                    for v in (p - step, p, p + step):
                        shown = v / factor
                        value = f"{float(shown):g}"
                        ref = ""
                        lln = DEFAULT_LLN[analyte]
                        if ref_text:  # a lab LLN just below the default, in the unit of the value
                            lab_lln = DEFAULT_LLN[analyte] - 2 * step
                            ref = f"{float(lab_lln / factor):g}-{float(3 * DEFAULT_LLN[analyte] / factor):g}"
                            lln = lab_lln
                        canon = _num(value) * factor
                        want = (grade_decreased(analyte, canon, lln), False)
                        out.append(Case(analyte, value, unit, ref, want=want))
    return out


def hb_cases() -> list[Case]:
    out = []
    for v in ("116", "115", "114", "101", "100", "99", "81", "80", "79"):
        out.append(Case("hemoglobin", v, "g/L", want=(grade_decreased("hemoglobin", Q(v), Q(115)), False)))
    for v in ("11.6", "11.5", "11.4", "10.1", "10.0", "9.9", "8.1", "8.0", "7.9"):
        out.append(Case("hemoglobin", v, "g/dL", want=(grade_decreased("hemoglobin", Q(v) * 10, Q(115)), False)))
    # mmol/L: graded on CTCAE's own mmol/L column; the default LLN 115 g/L is 7.137 mmol/L
    lln_mmol = Q(115) / HB_G_PER_L_PER_MMOL
    for v in ("7.2", "7.1", "6.3", "6.2", "6.1", "5.0", "4.9", "4.8"):
        out.append(Case("hemoglobin", v, "mmol/L", want=(grade_decreased("hemoglobin", Q(v), lln_mmol, True), False)))
    # the lab's own range, in the unit of the value; sex-specific ranges
    out.append(Case("hemoglobin", "11.9", "g/dL", "12.0-15.5", want=(1, False)))
    out.append(Case("hemoglobin", "12.0", "g/dL", "12.0-15.5", want=(0, False)))
    out.append(Case("hemoglobin", "7.4", "mmol/L", "7.5-10.0", want=(1, False)))
    out.append(Case("hemoglobin", "7.5", "mmol/L", "7.5-10.0", want=(0, False)))
    sexed = "130-170 (M) 120-155 (F)"
    out.append(Case("hemoglobin", "125", "g/L", sexed, "M", want=(1, False)))
    out.append(Case("hemoglobin", "125", "g/L", sexed, "F", want=(0, False)))
    out.append(Case("hemoglobin", "119", "g/L", sexed, "F", want=(1, False)))
    # sex unknown: the sexed range is not used; the default 115
    out.append(Case("hemoglobin", "119", "g/L", sexed, "", want=(0, False)))
    out.append(Case("hemoglobin", "129", "g/L", "", "M", want=(1, False)))  # male default 130
    out.append(Case("hemoglobin", "129", "g/L", "", "F", want=(0, False)))
    return out


def aminotransferase_cases() -> list[Case]:
    out = []
    for analyte in ("alt", "ast"):
        for ref, uln in (("", Q(40)), ("<40", Q(40)), ("0-40", Q(40)), ("7-56", Q(56)), ("<=35", Q(35))):
            for m in (1, 3, 5, 20):
                for d in (-1, 0, 1):
                    v = m * uln + d
                    out.append(Case(analyte, f"{v}", "U/L", ref, want=(grade_aminotransferase(v, uln), False)))
        # ukat/L as a lab writes it (ULN 0.67 ukat/L)
        for v in ("0.66", "0.67", "0.68", "2.01", "2.02", "3.35", "3.36", "13.4", "13.5"):
            out.append(Case(analyte, v, "ukat/L", "0.10-0.67", want=(grade_aminotransferase(Q(v), Q("0.67")), False)))
        # sex-specific ULN: a woman's 35
        sexed = "10-50 (M) 10-35 (F)"
        for v, sex in (("106", "F"), ("105", "F"), ("106", "M"), ("151", "M")):
            out.append(
                Case(analyte, v, "U/L", sexed, sex, want=(grade_aminotransferase(Q(v), _uln_of(sexed, sex)), False))
            )
    return out


def creatinine_cases() -> list[Case]:
    out = []
    for unit, ref, uln in (("umol/L", "45-90", Q(90)), ("µmol/L", "<90", Q(90)), ("mg/dL", "0.5-1.1", Q("1.1"))):
        scale = Q(1) if unit != "mg/dL" else Q(1, 100)
        for m in (1, Q(3, 2), 3, 6):
            for d in (-1, 0, 1):
                v = m * uln + d * scale
                out.append(Case("creatinine", _fmt(v, False), unit, ref, want=(grade_creatinine(v, uln), False)))
    # no ULN and no baseline: not graded at all (no CTCAE grade can be given)
    out.append(Case("creatinine", "300", "umol/L", "", want=(None, False)))
    return out


def censored_cases() -> list[Case]:
    out = []

    def low(analyte: str, value: str, unit: str, factor: Q, ref: str = "") -> Case:
        cmp, bound = _split(value)
        lln = _lln_of(ref, factor, "") if ref else DEFAULT_LLN[analyte]
        cuts = [c for _, c in LOW_CUTS[analyte]] + [lln]
        want = expected(lambda x: grade_decreased(analyte, x, lln), cmp, bound * factor, cuts)
        return Case(analyte, value, unit, ref, want=want)

    for analyte, values in {
        "neutrophils": ["<0.5", "<=0.5", "<0.1", "<=1.0", "<1.0", "<1.5", "<=1.5", "<2.0", ">2.0", ">=2.0"],
        "wbc": ["<=1.0", "<1.0", "<0.5", "<=3.0", ">20.0", ">=4.0"],
        "lymphocytes": ["<0.2", "<=0.2", "<=0.8", "<0.8", ">=1.0"],
        "platelets": ["<25", "<=25", "<=50", "<50", "<=75", ">200", ">=150", ">1000"],
    }.items():
        for value in values:
            out.append(low(analyte, value, "10^9/L", Q(1)))
            cmp, bound = _split(value)
            out.append(low(analyte, f"{cmp}{int(bound * 1000)}", "cells/uL", Q(1, 1000)))
    out.append(low("platelets", "<=140", "10^9/L", Q(1), ">=150"))
    out.append(low("platelets", ">=150", "10^9/L", Q(1), ">=150"))
    for value in ("<80", "<=80", "<100", "<=100", ">=115"):
        cmp, bound = _split(value)
        cuts = [c for _, c in LOW_CUTS["hemoglobin"]] + [Q(115)]
        want = expected(lambda x: grade_decreased("hemoglobin", x, Q(115)), cmp, bound, cuts)
        out.append(Case("hemoglobin", value, "g/L", want=want))
    for value in (">800", ">=800", ">120", ">=120", ">2000", "<5", "<=40"):
        cmp, bound = _split(value)
        cuts = [Q(40) * m for m in (1, 3, 5, 20)]
        want = expected(lambda x: grade_aminotransferase(x, Q(40)), cmp, bound, cuts, high=True)
        out.append(Case("alt", value, "U/L", want=want))
    for value in (">540", ">=540", "<40"):
        cmp, bound = _split(value)
        cuts = [Q(90) * m for m in (1, Q(3, 2), 3, 6)]
        want = expected(lambda x: grade_creatinine(x, Q(90)), cmp, bound, cuts, high=True)
        out.append(Case("creatinine", value, "umol/L", "45-90", want=want))
    return out


def percent_cases() -> list[tuple[str, str, tuple[int | None, bool]]]:
    """(WBC 10^9/L, neutrophils %, expected neutrophil grade): the count is WBC x %."""
    out = []
    for wbc, pct in (("5.0", "30"), ("5.0", "29.8"), ("5.0", "20"), ("5.0", "19.8"), ("5.0", "10"), ("5.0", "9.8")):
        v = Q(wbc) * Q(pct) / 100
        out.append((wbc, pct, (grade_decreased("neutrophils", v, Q(2)), False)))
    return out


def all_cases() -> list[Case]:
    return count_cases() + hb_cases() + aminotransferase_cases() + creatinine_cases() + censored_cases()


# --------------------------------------------------------------------------- the project, through its import


def csv_of(cases: list[Case], comma: bool) -> str:
    """One patient per case (one result each), as a long lab export.  ``comma``: a
    semicolon file with decimal commas, as continental labs write it."""
    sep = ";" if comma else ","
    lines = [sep.join(["MRN", "Collection Date", "Component", "Result", "Units", "Reference Range", "Sex"])]
    for i, c in enumerate(cases):
        value, ref = c.value, c.ref
        if comma:
            value, ref = value.replace(".", ","), ref.replace(".", ",")
            ref = ref.replace("-", " - ") if ref and ref[0].isdigit() else ref
        lines.append(sep.join([f"G{i:05d}", "2024-01-01", NAMES[c.analyte], value, c.unit, ref, c.sex]))
    return "\n".join(lines) + "\n"


def project_grades(text: str, n: int) -> list[tuple[int | None, bool]]:
    result = import_text(text)
    assert_balanced(result)
    assert result.labs.num_rows == n, result.report.to_text()
    rv = review(result.labs, result.doses, result.patients, None, "CTCAE only", AS_OF)
    summary = rv.summary_df().set_index("patient_id")
    labs = model.to_pandas("labs", result.labs)
    out = []
    for i in range(n):
        pid = f"G{i:05d}"
        analyte = labs.loc[labs.patient_id == pid, "analyte"].iloc[0]
        g = summary.at[pid, f"ctcae_{analyte}"]
        worse = summary.at[pid, "grades_or_worse"]
        worse = not pd.isna(worse) and analyte in worse
        out.append((None if pd.isna(g) else int(g), bool(worse)))
    return out


@pytest.mark.parametrize("comma", [False, True], ids=["point", "decimal-comma"])
def test_the_review_grades_agree_with_the_ctcae_text(comma):
    cases = all_cases()
    got = project_grades(csv_of(cases, comma), len(cases))
    wrong = [
        f"{c.analyte} {c.value} {c.unit} ref={c.ref!r} sex={c.sex!r}: CTCAE {c.want}, review {g}"
        for c, g in zip(cases, got, strict=True)
        if g != c.want
    ]
    assert not wrong, "\n".join(wrong)


def test_the_grid_covers_every_grade_of_every_term():
    seen = {(c.analyte, c.want[0]) for c in all_cases()}
    for analyte, top in MAX_GRADE.items():
        for g in range(top + 1):
            assert (analyte, g) in seen, (analyte, g)


def test_a_neutrophil_percentage_is_graded_as_its_count():
    rows = ["MRN,Collection Date,Component,Result,Units"]
    cases = percent_cases()
    for i, (wbc, pct, _) in enumerate(cases):
        rows += [f"G{i:05d},2024-01-01,WBC,{wbc},10^9/L", f"G{i:05d},2024-01-01,Neutrophils %,{pct},%"]
    result = import_text("\n".join(rows) + "\n")
    assert_balanced(result)
    rv = review(result.labs, result.doses, result.patients, None, "CTCAE only", AS_OF)
    summary = rv.summary_df().set_index("patient_id")
    got = [int(summary.at[f"G{i:05d}", "ctcae_neutrophils"]) for i in range(len(cases))]
    assert got == [want[0] for _, _, want in cases]
    # hand check of the oracle itself: 5.0 x 29.8 % = 1.49 < 1.5 is grade 2; 5.0 x 9.8 % = 0.49 grade 4
    assert got == [1, 2, 2, 3, 3, 4]


# --------------------------------------------------------------------------- grades on the baseline

#: (analyte, unit, range, baseline as written, result as written): the baseline is drawn
#: on 2023-12-01, azathioprine (or ciclosporin for creatinine) starts on 2024-01-01, the
#: result is drawn on 2024-02-01.  Exact multiples of the baseline, in the unit written.
BASELINE_CASES = (
    [
        # ALT/AST, baseline abnormal (above the ULN): grade 1 from 1.5 x baseline inclusive
        ("alt", "U/L", "0-40", "60", v)
        for v in ("89", "90", "180", "181", "300", "301", "1200", "1201")
    ]
    + [("alt", "U/L", "0-40", "41.2", v) for v in ("61.7", "61.8", "123.6", "123.7", "206", "206.1", "824", "824.1")]
    + [
        ("ast", "ukat/L", "0.10-0.67", "0.72", v)
        for v in ("1.07", "1.08", "2.16", "2.17", "3.6", "3.61", "14.4", "14.41")
    ]
    + [
        ("alt", "ukat/L", "0.10-0.67", b, v)
        for b, v in (("0.71", "1.065"), ("0.77", "1.155"), ("1.02", "1.53"), ("1.09", "1.635"))
    ]
    + [
        # censored: "<100" may be 89 (grade 0) or 95 (grade 1); ">=90" is grade 1 or worse
        ("alt", "U/L", "0-40", "60", v)
        for v in ("<100", "<=90", ">89", ">=90", ">1200", "<5")
    ]
    + [
        # baseline normal (at or below the ULN): multiples of the ULN
        ("alt", "U/L", "0-40", "40", v)
        for v in ("40", "41", "120", "121")
    ]
    + [
        # creatinine: the higher of the grade on the ULN and the grade on the baseline
        ("creatinine", "umol/L", "45-90", "60", v)
        for v in ("90", "91", "135", "136", "180", "181", "270", "271", "541")
    ]
    + [("creatinine", "mg/dL", "0.5-1.1", "0.68", v) for v in ("1.02", "1.03", "2.04", "2.05", "3.3", "3.31", "6.61")]
    # no ULN (there is no default: it depends on sex, age and method): the baseline alone
    + [("creatinine", "umol/L", "", "60", v) for v in ("90", "91", "180", "181")]
)


def baseline_expectation(analyte: str, ref: str, base: str, value: str) -> tuple[int | None, bool]:
    uln = _uln_of(ref, "") if ref else DEFAULT_ULN.get(analyte)
    b = Q(base)
    cmp, bound = _split(value)
    if analyte == "creatinine":
        cuts = [uln * m for m in (1, Q(3, 2), 3, 6) if uln is not None] + [b * m for m in (Q(3, 2), 3)]
        return expected(lambda x: grade_creatinine(x, uln, b), cmp, bound, cuts, high=True)
    assert uln is not None
    cuts = [uln * m for m in (1, 3, 5, 20)] + [b * m for m in (Q(3, 2), 3, 5, 20)]
    return expected(lambda x: grade_aminotransferase(x, uln, b), cmp, bound, cuts, high=True)


def test_grades_on_the_patients_baseline_agree_with_the_ctcae_text():
    lab_rows = ["MRN,Collection Date,Component,Result,Units,Reference Range"]
    dose_rows = ["patient,drug,dose,unit,frequency,route,start,end"]
    cases = BASELINE_CASES
    for i, (analyte, unit, ref, base, value) in enumerate(cases):
        pid = f"B{i:04d}"
        lab_rows.append(f"{pid},2023-12-01,{NAMES[analyte]},{base},{unit},{ref}")
        lab_rows.append(f"{pid},2024-02-01,{NAMES[analyte]},{value},{unit},{ref}")
        drug = "ciclosporin,100" if analyte == "creatinine" else "azathioprine,50"
        dose_rows.append(f"{pid},{drug},mg,daily,oral,2024-01-01,")
    sources = [
        Source("labs.csv", ("\n".join(lab_rows) + "\n").encode()),
        Source("doses.csv", ("\n".join(dose_rows) + "\n").encode()),
    ]
    result = import_sources(sources, ImportOptions(today=TODAY))
    assert_balanced(result)
    assert result.labs.num_rows == 2 * len(cases), result.report.to_text()
    assert result.doses.num_rows == len(cases), result.report.to_text()
    rv = review(result.labs, result.doses, result.patients, None, "CTCAE only", AS_OF)
    summary = rv.summary_df().set_index("patient_id")
    wrong = []
    for i, (analyte, unit, ref, base, value) in enumerate(cases):
        want = baseline_expectation(analyte, ref, base, value)
        pid = f"B{i:04d}"
        grade, worse = summary.at[pid, f"ctcae_{analyte}"], summary.at[pid, "grades_or_worse"]
        got = (None if pd.isna(grade) else int(grade), not pd.isna(worse) and analyte in worse)
        if got != want:
            wrong.append(f"{analyte} baseline {base} -> {value} {unit} (ULN {ref}): CTCAE {want}, review {got}")
    assert not wrong, "\n".join(wrong)


def test_the_baseline_oracle_by_hand():
    """The oracle itself, against the text by hand (baseline 60 > ULN 40: abnormal)."""
    assert [grade_aminotransferase(Q(v), Q(40), Q(60)) for v in (89, 90, 180, 181, 300, 301, 1200, 1201)] == [
        0, 1, 1, 2, 2, 3, 3, 4,
    ]  # fmt: skip
    # 0.72 ukat/L baseline, 1.08 = 1.5 x 0.72 exactly: "1.5 - 3.0 x baseline" is grade 1
    assert grade_aminotransferase(Q("1.08"), Q("0.67"), Q("0.72")) == 1
    assert grade_aminotransferase(Q("1.07"), Q("0.67"), Q("0.72")) == 0
    # creatinine 91 with ULN 90 and baseline 60: grade 1 on the ULN, grade 2 on the baseline (> 90)
    assert grade_creatinine(Q(91), Q(90), Q(60)) == 2
    assert grade_creatinine(Q(90), Q(90), Q(60)) == 0
    assert grade_creatinine(Q(181), Q(90), Q(60)) == 3  # > 3 x baseline; 2.01 x ULN alone is grade 2
    assert grade_creatinine(Q(90), None, Q(60)) is None  # 1.5 x baseline, and the ULN unknown
    assert grade_creatinine(Q(91), None, Q(60)) == 2


def _alt_on_baseline(base: str, value: str, unit: str, ref: str) -> tuple[int, str]:
    """ALT grade and flag message of one result on azathioprine, after a pre-treatment baseline."""
    labs = "MRN,Collection Date,Component,Result,Units,Reference Range\n"
    labs += f"P1,2023-12-01,ALT,{base},{unit},{ref}\nP1,2024-02-01,ALT,{value},{unit},{ref}\n"
    doses = "patient,drug,dose,unit,frequency,route,start,end\nP1,azathioprine,50,mg,daily,oral,2024-01-01,\n"
    result = import_sources(
        [Source("labs.csv", labs.encode()), Source("doses.csv", doses.encode())], ImportOptions(today=TODAY)
    )
    assert_balanced(result)
    rv = review(result.labs, result.doses, result.patients, None, "CTCAE only", AS_OF)
    flags = rv.flags_df()
    later = flags[(flags.collected_at == pd.Timestamp("2024-02-01")) & (flags.analyte == "alt")]
    grade = int(rv.summary_df().set_index("patient_id").at["P1", "ctcae_alt"])
    return grade, " ".join(later.message)


def test_exactly_1_5_times_an_abnormal_baseline_in_ukat_is_grade_1():
    # CTCAE v5.0 ALT G1 "1.5 - 3.0 x baseline if baseline was abnormal": 0.72 ukat/L is
    # above the ULN 0.67, and 1.08 = 1.5 x 0.72 is grade 1 (43.2 x 1.5 is 64.80000000000001
    # in floats, above 64.8)
    grade, message = _alt_on_baseline("0.72", "1.08", "ukat/L", "0.10-0.67")
    assert grade == 1
    assert "CTCAE grade 1" in message and "baseline" in message
    assert _alt_on_baseline("0.72", "1.07", "ukat/L", "0.10-0.67")[0] == 0
    assert _alt_on_baseline("41.2", "61.8", "U/L", "0-40")[0] == 1


def test_a_result_censored_below_is_not_given_grade_1_on_an_abnormal_baseline():
    # baseline 60 > ULN 40: grade 1 from 90; "<100" may be 89, "<=90" may be 85: neither is
    # known to be grade 1 (nor is either "grade 1 or worse": the grade of "increased" is
    # not open below)
    assert _alt_on_baseline("60", "<100", "U/L", "0-40")[0] == 0
    assert _alt_on_baseline("60", "<=90", "U/L", "0-40")[0] == 0
    assert _alt_on_baseline("60", ">=90", "U/L", "0-40")[0] == 1
