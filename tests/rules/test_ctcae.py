"""CTCAE v5.0 grades: the boundary table in every supported unit, LLN/ULN, censoring."""

from __future__ import annotations

import datetime as dt
import json
import re

import numpy as np
import pandas as pd
import pytest

from dashboard.rules import baselines, ctcae
from dashboard.rules.inputs import prepare
from dashboard.rules.review import review
from tests.rules.builders import baseline, frame, imported, lab, patient, run

AS_OF = dt.date(2026, 11, 25)


def graded(name: str, value: str, unit: str, ref: str = "", sex: str = "") -> tuple[int, float]:
    """Grade of one result imported from CSV text exactly as a lab would send it."""
    csv = f"patient_id,collected_at,analyte,value,unit,reference range\nP1,2024-01-01,{name},{value},{unit},{ref}\n"
    result = imported(csv)
    assert result.labs.num_rows == 1, result.report.to_text()
    patients = frame("patients", [{"patient_id": "P1", "sex": sex}]) if sex else result.patients
    inp = prepare(result.labs, result.doses, patients, None, AS_OF)
    g = ctcae.grade_all(inp, baselines.compute(inp))
    return int(g.grade[0]), float(g.cut[0])


# (analyte name in the file, value in canonical unit, expected grade) -- the table as it reads
COUNTS = [
    ("Neutrophils", 2.0, 0),
    ("Neutrophils", 1.99, 1),
    ("Neutrophils", 1.5, 1),
    ("Neutrophils", 1.49, 2),
    ("Neutrophils", 1.0, 2),
    ("Neutrophils", 0.99, 3),
    ("Neutrophils", 0.5, 3),
    ("Neutrophils", 0.49, 4),
    ("Platelets", 150, 0),
    ("Platelets", 149, 1),
    ("Platelets", 75, 1),
    ("Platelets", 74.9, 2),
    ("Platelets", 50, 2),
    ("Platelets", 49.9, 3),
    ("Platelets", 25, 3),
    ("Platelets", 24.9, 4),
    ("WBC", 4.0, 0),
    ("WBC", 3.99, 1),
    ("WBC", 3.0, 1),
    ("WBC", 2.99, 2),
    ("WBC", 2.0, 2),
    ("WBC", 1.99, 3),
    ("WBC", 1.0, 3),
    ("WBC", 0.99, 4),
    ("Lymphocytes", 1.0, 0),
    ("Lymphocytes", 0.99, 1),
    ("Lymphocytes", 0.8, 1),
    ("Lymphocytes", 0.79, 2),
    ("Lymphocytes", 0.5, 2),
    ("Lymphocytes", 0.49, 3),
    ("Lymphocytes", 0.2, 3),
    ("Lymphocytes", 0.19, 4),
]


@pytest.mark.parametrize(("unit", "factor"), [("10^9/L", 1), ("K/uL", 1), ("/uL", 1000), ("cells/mm3", 1000)])
@pytest.mark.parametrize(("name", "value", "expected"), COUNTS)
def test_count_boundaries_in_every_count_unit(name, value, expected, unit, factor):
    text = f"{value * factor:g}"
    assert graded(name, text, unit)[0] == expected


@pytest.mark.parametrize(
    ("value", "unit", "expected"),
    [
        ("115", "g/L", 0),
        ("114", "g/L", 1),
        ("100", "g/L", 1),
        ("99", "g/L", 2),
        ("80", "g/L", 2),
        ("79", "g/L", 3),
        ("11.5", "g/dL", 0),
        ("10.0", "g/dL", 1),
        ("9.99", "g/dL", 2),
        ("8.0", "g/dL", 2),
        ("7.99", "g/dL", 3),
        # mmol/L is graded on the reported value against CTCAE's mmol/L cut-offs
        ("7.2", "mmol/L", 0),
        ("7.1", "mmol/L", 1),
        ("6.2", "mmol/L", 1),
        ("6.19", "mmol/L", 2),
        ("4.9", "mmol/L", 2),
        ("4.89", "mmol/L", 3),
    ],
)
def test_haemoglobin_boundaries_in_every_unit(value, unit, expected):
    assert graded("Hb", value, unit)[0] == expected


def test_mmol_cut_is_reported_in_canonical_unit():
    grade, cut = graded("Hb", "6.0", "mmol/L")
    assert grade == 2
    assert cut == pytest.approx(6.2 * 16.1134)


def test_an_hb_in_mmol_per_l_is_said_as_reported_first_and_its_g_per_l_whole():
    """H538: Hb 4.9 mmol/L is CTCAE grade 2 on the mmol/L row (< 6.2 - 4.9 mmol/L); it comes
    to 4.9 x 16.1134 = 78.96 g/L, said whole as 79 g/L after the value as reported, never
    with three decimals the lab never gave."""
    from tests.support import csv_review

    out = csv_review("P1,2026-05-01,hemoglobin,4.9,mmol/L\n", as_of=dt.date(2026, 6, 1))
    rv = out[1] if not hasattr(out[0], "flags") else out[0]
    [msg] = [m for m in rv.flags.column("message").to_pylist() if m.startswith("Anemia")]
    assert msg == "Anemia, CTCAE grade 2: Hb 4.9 mmol/L as reported < 6.2 mmol/L (= 79 g/L)"


def test_a_censored_hb_in_mmol_per_l_keeps_its_bound_in_g_per_l_and_the_episode_says_it_as_reported():
    """audit9 A5, A6: "<4.5" mmol/L is grade 3 (< 4.9 mmol/L); 4.5 x 16.1134 = 72.51 g/L, so
    the lab says only "below 72.51 g/L": said "<73 g/L" (rounded up: still true), never "=".
    5.5 mmol/L the next day is grade 2 (< 6.2 mmol/L; 5.5 x 16.1134 = 88.62 g/L, "= 89");
    its episode's worst is the lab's own "<4.5 mmol/L", not 72.51 g/L."""
    labs = [
        lab("P1", "2024-03-01", "hemoglobin", 4.5, comparator="<", unit="mmol/L"),
        lab("P1", "2024-03-02", "hemoglobin", 5.5, unit="mmol/L"),
    ]
    f = run(labs, [], [patient("P1", sex="F")], as_of="2024-06-01").flags_df()
    first, second = list(f[f["kind"] == "ctcae"].sort_values("collected_at")["message"])
    assert first == "Anemia, CTCAE grade 3: Hb <4.5 mmol/L as reported < 4.9 mmol/L (<73 g/L)"
    assert second.startswith("Anemia, CTCAE grade 2: Hb 5.5 mmol/L as reported < 6.2 mmol/L (= 89 g/L)")
    assert second.endswith("worst in this episode: grade 3 on 2024-03-01 (<4.5 mmol/L)")


@pytest.mark.parametrize(
    ("value", "unit", "expected"),
    [
        ("40", "U/L", 0),
        ("41", "U/L", 1),
        ("120", "U/L", 1),
        ("121", "U/L", 2),
        ("200", "U/L", 2),
        ("201", "U/L", 3),
        ("800", "U/L", 3),
        ("801", "U/L", 4),
        ("0.66", "ukat/L", 0),
        ("0.7", "ukat/L", 1),
        ("2.0", "ukat/L", 1),
        ("2.02", "ukat/L", 2),
        ("13.4", "ukat/L", 4),
    ],
)
@pytest.mark.parametrize("name", ["ALT", "AST"])
def test_transaminase_boundaries_default_uln(name, value, unit, expected):
    assert graded(name, value, unit)[0] == expected


def test_lln_from_the_row_comes_first():
    assert graded("Neutrophils", "1.9", "10^9/L")[0] == 1  # default LLN 2.0
    grade, cut = graded("Neutrophils", "1.9", "10^9/L", ref="1.8-7.5")
    assert grade == 0
    grade, cut = graded("Neutrophils", "1.7", "10^9/L", ref="1.8-7.5")
    assert (grade, cut) == (1, 1.8)
    # the lab's range is converted with the value: 12.0 g/dL = 120 g/L
    assert graded("Hb", "11.9", "g/dL", ref="12.0-15.5")[0] == 1
    assert graded("Hb", "12.0", "g/dL", ref="12.0-15.5")[0] == 0


def test_uln_from_the_row_comes_first():
    assert graded("ALT", "50", "U/L", ref="7-56")[0] == 0
    assert graded("ALT", "57", "U/L", ref="7-56")[0] == 1
    assert graded("ALT", "169", "U/L", ref="7-56")[0] == 2


def test_haemoglobin_default_lln_by_sex():
    assert graded("Hb", "125", "g/L", sex="M")[0] == 1
    assert graded("Hb", "125", "g/L", sex="F")[0] == 0
    assert graded("Hb", "125", "g/L")[0] == 0  # sex unknown: the lower (female) limit


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("Neutrophils", "<0.1", 4),
        ("Neutrophils", "<0.5", 4),  # below 0.5 is grade 4; an exact 0.5 is grade 3
        ("Neutrophils", "<1.0", 3),
        ("Platelets", "<25", 4),
        ("WBC", "<1.0", 4),
        ("ALT", ">800", 4),  # above 800 (20 x ULN 40)
        ("ALT", ">1000", 4),
    ],
)
def test_censored_results_are_graded_by_their_bound(name, value, expected):
    unit = "U/L" if name == "ALT" else "10^9/L"
    assert graded(name, value, unit)[0] == expected


def test_alt_graded_on_an_abnormal_baseline():
    values = (89, 90, 180, 181, 300, 301, 1200, 1201)
    labs = [lab("P1", f"2024-03-{i + 1:02d}", "alt", v, ref_high=40) for i, v in enumerate(values)]
    inp = prepare(frame("labs", labs), None, None, frame("baselines", [baseline("P1", "alt", 60)]), AS_OF)
    g = ctcae.grade_all(inp, baselines.compute(inp))
    # baseline 60 > ULN 40: grade 1 from 1.5 x baseline (90), 2 above 3x, 3 above 5x, 4 above 20x
    assert g.grade.tolist() == [0, 1, 1, 2, 2, 3, 3, 4]
    assert np.all(g.basis == ctcae.BASELINE)


def test_cutoffs_match_the_published_ctcae_table(fixtures):
    table = json.loads((fixtures / "ctcae" / "ncictcaev5.json").read_text())
    by_term = {t["TERM"]: t for t in table}
    for analyte, term in ctcae.terms().items():
        src = by_term[term["term"]]
        if term["direction"] == "low":
            published = {}
            for g in (2, 3, 4):
                code = src.get(f"GRADE_{g}_CODE", "")
                m = re.search(r"< ([0-9.]+) ~", code)
                if m:
                    published[g] = float(m.group(1))
            assert dict((g, float(c)) for g, c in term["cuts"]) == published, analyte
            assert "ANRLO" in src["GRADE_1_CODE"]  # grade 1 is below the LLN
        else:
            for g, mult in term["uln_multiples"]:
                code = src[f"GRADE_{g}_CODE"]
                m = re.search(r"signif\(([0-9.]*)\*?ANRHI", code)
                assert float(m.group(1) or 1) == mult, (analyte, g)
            published_base = {
                g: float(m.group(1))
                for g in (1, 2, 3, 4)
                for m in [re.search(r"signif\(([0-9.]+)\*BASE", src[f"GRADE_{g}_CODE"])]
                if m
            }
            if term["baseline_rule"] == "if_abnormal":
                assert published_base[1] == term["baseline_grade1"], analyte
                assert {g: published_base[g] for g, _ in term["baseline_multiples"]} == dict(
                    term["baseline_multiples"]
                ), analyte
            else:  # "either": the baseline criteria are exactly those the table gives
                assert published_base == dict(term["baseline_multiples"]), analyte
    # haemoglobin's mmol/L cut-offs are the ones the table prints
    anemia = by_term["Anemia"]
    assert "<6.2 - 4.9 mmol/L" in anemia["GRADE_2"] and "<4.9 mmol/L" in anemia["GRADE_3"]
    assert dict(ctcae.terms()["hemoglobin"]["cuts_mmol_per_l"]) == {2: 6.2, 3: 4.9}


def test_creatinine_increased_on_the_uln_and_on_the_baseline():
    # CTCAE v5.0 "Creatinine increased": G1 >ULN-1.5xULN; G2 >1.5-3.0 x baseline or
    # >1.5-3.0 x ULN; G3 >3.0 x baseline or >3.0-6.0 x ULN; G4 >6.0 x ULN.  The grade is
    # the highest either criterion gives.  Lab ULN 100 umol/L, clinician's baseline 80.
    values = (100, 101, 120, 121, 150, 151, 240, 241, 300, 301, 600, 601)
    labs = [lab("P1", f"2024-03-{i + 1:02d}", "creatinine", v, ref_high=100) for i, v in enumerate(values)]
    inp = prepare(frame("labs", labs), None, None, frame("baselines", [baseline("P1", "creatinine", 80)]), AS_OF)
    g = ctcae.grade_all(inp, baselines.compute(inp))
    # 101-120: >ULN (G1); 121: >1.5 x baseline 80 = 120 (G2); 151: >1.5 x ULN too (G2);
    # 241: >3 x baseline = 240 (G3); 301: >3 x ULN (G3 either way); 601: >6 x ULN (G4)
    assert g.grade.tolist() == [0, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4]
    assert g.cut.tolist()[3] == pytest.approx(120.0) and g.basis[3] == ctcae.BASELINE
    assert g.cut.tolist()[7] == pytest.approx(240.0) and g.basis[7] == ctcae.BASELINE
    assert g.cut.tolist()[11] == pytest.approx(600.0) and g.basis[11] == ctcae.LAB_LIMIT


def test_creatinine_without_a_lab_uln_is_graded_on_the_baseline_only():
    # no default creatinine ULN is applied (it depends on sex, age and method): without
    # the lab's own limit only the baseline criteria (grades 2 and 3) can be used
    values = (150, 151, 301)
    labs = [lab("P1", f"2024-03-{i + 1:02d}", "creatinine", v) for i, v in enumerate(values)]
    inp = prepare(frame("labs", labs), None, None, frame("baselines", [baseline("P1", "creatinine", 100)]), AS_OF)
    g = ctcae.grade_all(inp, baselines.compute(inp))
    assert g.grade.tolist() == [0, 2, 3]
    no_base = prepare(frame("labs", labs), None, None, None, AS_OF)
    assert ctcae.grade_all(no_base, baselines.compute(no_base)).grade.tolist() == [0, 0, 0]


def test_creatinine_exactly_at_a_uln_multiple_in_mg_per_dl_is_not_the_higher_grade():
    # A US lab: creatinine and its ULN (1.1 mg/dL) both in mg/dL, converted to umol/L
    # (x 88.4).  CTCAE v5.0 grades on ">" the multiple: 1.65 = 1.5 x 1.1 is grade 1,
    # 1.66 grade 2; 3.3 = 3 x ULN grade 2, 3.31 grade 3; 6.6 = 6 x ULN grade 3, 6.61
    # grade 4.  The conversion must not push a value that equals the cut above it.
    values = (1.65, 1.66, 3.3, 3.31, 6.6, 6.61)
    labs = [
        lab("P1", f"2024-03-{i + 1:02d}", "creatinine", v, unit="mg/dL", ref_high=1.1) for i, v in enumerate(values)
    ]
    inp = prepare(frame("labs", labs), None, None, None, AS_OF)
    assert ctcae.grade_all(inp, baselines.compute(inp)).grade.tolist() == [1, 2, 2, 3, 3, 4]


def test_a_result_censored_towards_a_grade_says_a_worse_grade_is_possible():
    # "<0.5" lymphocytes: grade 3 (0.2-0.5) or grade 4 (<0.2): "grade 3 or worse";
    # "<0.1" is grade 4 whatever the true value; an exact 0.45 is grade 3 alone
    rows = [
        lab("P1", "2024-03-01", "lymphocytes", 0.5, comparator="<"),
        lab("P1", "2024-03-02", "lymphocytes", 0.1, comparator="<"),
        lab("P1", "2024-03-03", "lymphocytes", 0.45),
    ]
    f = run(rows).flags_df()
    msgs = f.loc[f["rule"] == "ctcae.lymphocytes", "message"].tolist()
    assert msgs[0].startswith("Lymphocyte count decreased, CTCAE grade 3 or worse:")
    assert msgs[1].startswith("Lymphocyte count decreased, CTCAE grade 4:")
    assert msgs[2].startswith("Lymphocyte count decreased, CTCAE grade 3:")


# --------------------------------------------------------------------------- children (probe 10 F8)


def graded_child(name: str, value: str, unit: str, born: str, drawn: str = "2024-01-01", ref: str = "", **who):
    """Grade and message of one result of a boy born on ``born`` (or with only ``age``)."""
    csv = f"patient_id,collected_at,analyte,value,unit,reference range\nK1,{drawn},{name},{value},{unit},{ref}\n"
    result = imported(csv)
    person = {"patient_id": "K1", "sex": "M", "birth_date": pd.Timestamp(born) if born else pd.NaT, **who}
    inp = prepare(result.labs, result.doses, frame("patients", [person]), None, AS_OF)
    g = ctcae.grade_all(inp, baselines.compute(inp))
    return int(g.grade[0]), g


@pytest.mark.parametrize(
    ("name", "value", "unit", "adult", "child"),
    [
        # the adult default LLN (Hb 130 g/L for a man, neutrophils 2.0, WBC 4.0, platelets
        # 150) is not a child's: no grade 1 on it before the 18th birthday
        ("Hb", "125", "g/L", 1, 0),
        ("Neutrophils", "1.6", "10^9/L", 1, 0),
        ("WBC", "3.5", "10^9/L", 1, 0),
        ("Platelets", "120", "10^9/L", 1, 0),
        # the absolute CTCAE cut-offs of grade 2 and above hold at any age
        ("Hb", "95", "g/L", 2, 2),
        ("Neutrophils", "1.4", "10^9/L", 2, 2),
        ("Platelets", "40", "10^9/L", 3, 3),
    ],
)
def test_a_child_is_not_graded_on_the_adult_default_lln(name, value, unit, adult, child):
    assert graded_child(name, value, unit, born="1980-05-05")[0] == adult
    assert graded_child(name, value, unit, born="2016-03-02")[0] == child


def test_the_labs_own_range_grades_a_child():
    assert graded_child("Hb", "110", "g/L", born="2016-03-02", ref="115-150")[0] == 1
    assert graded_child("Hb", "120", "g/L", born="2016-03-02", ref="115-150")[0] == 0


@pytest.mark.parametrize(
    ("born", "drawn", "grade"),
    [
        ("2006-01-01", "2023-12-31", 0),  # the day before the 18th birthday
        ("2006-01-01", "2024-01-01", 1),  # the 18th birthday: adult
        ("2004-02-29", "2022-02-28", 0),  # born on 29 February: 18 on 1 March of a common year
        ("2004-02-29", "2022-03-01", 1),
    ],
)
def test_the_adult_default_applies_from_the_18th_birthday(born, drawn, grade):
    assert graded_child("Hb", "125", "g/L", born=born, drawn=drawn)[0] == grade


def test_an_age_without_a_birth_date_says_child_or_adult():
    assert graded_child("Hb", "125", "g/L", born="", age=9.0)[0] == 0
    assert graded_child("Hb", "125", "g/L", born="", age=40.0)[0] == 1
    assert graded_child("Hb", "125", "g/L", born="")[0] == 1  # age unknown: the default, as for any adult


def test_a_childs_transaminase_on_the_adult_default_uln_says_so():
    """ALT grades are all multiples of the ULN: leaving a child's ALT 130 ungraded would
    hide it, so the adult default ULN 40 still grades it (130 > 3 x 40: grade 2) and the
    flag says the limit is an adult's and the patient's age."""
    result = imported("patient_id,collected_at,analyte,value,unit\nK1,2024-01-01,ALT,130,U/L\n")
    people = frame("patients", [{"patient_id": "K1", "sex": "M", "birth_date": pd.Timestamp("2016-03-02")}])
    flags = run_review(result, people)
    alt = flags[flags["rule"] == "ctcae.alt"]
    assert alt["ctcae_grade"].tolist() == [2]
    assert "adult default ULN" in alt["message"].iloc[0] and "aged 7" in alt["message"].iloc[0]


def run_review(result, people):
    from dashboard import model
    from dashboard.rules.review import review

    patients = model.from_pandas("patients", people)
    return review(result.labs, result.doses, patients, None, as_of=AS_OF).flags.to_pandas()


def test_less_or_equal_is_not_graded_as_strictly_less():
    # Probe 8 F9.  CTCAE v5.0 platelet count decreased: grade 2 is <75-50, grade 3 <50-25
    # (ctcae.toml cuts [3, 50.0], [2, 75.0]).  "<=50" may be 50 itself, which is grade 2,
    # so it is "grade 2 or worse", never grade 3; "<50" stays "grade 3 or worse".  ALT
    # increased with a ULN of 40: grade 2 is >3.0-5.0 x ULN (>120-200), grade 3 >5.0-20.0
    # x ULN (>200-800): ">=200" may be 200, grade 2; ">200" is grade 3 or worse.
    csv = (
        "patient_id,collected_at,analyte,value,unit,reference range\n"
        "P1,2024-01-01,Platelets,<=50,10^9/L,150-400\n"
        "P1,2024-01-02,Platelets,≤50,10^9/L,150-400\n"
        "P1,2024-01-03,Platelets,<50,10^9/L,150-400\n"
        "P1,2024-01-04,ALT,>=200,U/L,0-40\n"
        "P1,2024-01-05,ALT,≥200,U/L,0-40\n"
        "P1,2024-01-06,ALT,>200,U/L,0-40\n"
    )
    result = imported(csv)
    assert result.labs.column("comparator").to_pylist() == ["<=", "<=", "<", ">=", ">=", ">"]
    f = review(result.labs, result.doses, result.patients, None, None).flags_df()
    f = f[f["kind"] == "ctcae"].sort_values("collected_at")
    assert f["ctcae_grade"].tolist() == [2, 2, 3, 2, 2, 3]
    msgs = f["message"].tolist()
    assert msgs[0].startswith("Platelet count decreased, CTCAE grade 2 or worse: Platelets <=50 ")
    assert msgs[1].startswith("Platelet count decreased, CTCAE grade 2 or worse: Platelets <=50 ")
    assert msgs[2].startswith("Platelet count decreased, CTCAE grade 3 or worse: Platelets <50 ")
    assert "CTCAE grade 2 or worse: ALT >=200 " in msgs[3] and "CTCAE grade 2 or worse: ALT >=200 " in msgs[4]
    assert "CTCAE grade 3 or worse: ALT >200 " in msgs[5]
    # the value shown beside the grade is what the lab wrote, not a strict bound
    assert f["comparator"].tolist() == ["<=", "<=", "<", ">=", ">=", ">"]
