"""A grade that may be worse (H275): a result written as a bound towards the grade.

CTCAE v5.0, by hand (the expectations below are read from the standard, not from the code):

- Platelet count decreased: G1 <LLN-75, G2 <75-50, G3 <50-25, G4 <25 (x10^9/L).
  "<=50" may be 50 itself (G2) or lower (G3, G4): "2 or worse".  "<50" lies below 50: G3,
  and G4 below 25: "3 or worse".  "<25" is G4, the worst: no "or worse".  ">=50" may be
  any count from 50 up: not known to be below any cut, so not G2, and never "or worse"
  (censored away from the grade).
- Lymphocyte count decreased: G3 <0.5-0.2, G4 <0.2: "<0.5" is "3 or worse".
- Neutrophil count decreased: G4 <0.5: "<0.5" is G4, nothing worse.
- Anaemia: G2 <100-80 g/L, G3 <80 (no laboratory G4): "<=80" is "2 or worse"; "<80" is G3,
  the worst by the value.
- ALT increased, ULN 40 U/L: G1 >ULN-3xULN (120), G2 >3-5xULN (200), G3 >5-20xULN (800),
  G4 >20xULN.  ">=200" may be 200 itself (G2) or more: "2 or worse"; ">800" is G4.
"""

from __future__ import annotations

import pandas as pd

from dashboard.rules.ctcae import grade_text
from dashboard.rules.output import patients_json, review_text
from tests.rules.builders import lab, run

WHEN = "2024-05-01 09:00"
AS_OF = "2024-06-30"


def _flag(rv, pid: str, analyte: str) -> dict:
    f = rv.flags_df()
    row = f[(f["patient_id"] == pid) & (f["analyte"] == analyte) & (f["kind"] == "ctcae")]
    assert len(row) == 1, row
    return row.iloc[0].to_dict()


def test_each_bound_towards_the_grade_is_open_where_a_worse_grade_exists():
    cases = [
        # (analyte, comparator, value, grade, open)
        ("platelets", "<=", 50, 2, True),
        ("platelets", "<", 50, 3, True),
        ("platelets", "<", 25, 4, False),
        ("platelets", "", 50, 2, False),
        ("lymphocytes", "<", 0.5, 3, True),
        ("neutrophils", "<", 0.5, 4, False),
        ("hemoglobin", "<=", 80, 2, True),
        ("hemoglobin", "<", 80, 3, False),
        ("alt", ">=", 200, 2, True),
        ("alt", ">", 800, 4, False),
    ]
    rows = [
        lab(f"P{i}", WHEN, a, v, comparator=c, ref_high=40 if a == "alt" else float("nan"))
        for i, (a, c, v, _, _) in enumerate(cases)
    ]
    rv = run(rows, as_of=AS_OF)
    for i, (a, c, v, grade, open_end) in enumerate(cases):
        f = _flag(rv, f"P{i}", a)
        assert (f["ctcae_grade"], bool(f["ctcae_grade_or_worse"])) == (grade, open_end), (a, c, v)
        # the flag's sentence and the field agree
        assert (f"CTCAE grade {grade} or worse" in f["message"]) == open_end, f["message"]


def test_a_bound_away_from_the_grade_is_never_open():
    # ">=50" platelets: not known to be below 75 (no G2), nor could it be worse than said
    rv = run([lab("P1", WHEN, "platelets", 50, comparator=">=")], as_of=AS_OF)
    after = rv.summary_df().iloc[0]
    assert after["ctcae_platelets"] == 0 and not after["max_ctcae_grade_or_worse"]
    assert after["grades_or_worse"] == ""


def _mixed_panel():
    return run(
        [
            # A: "<=50" platelets (2 or worse, up to 4) beside an exact ALT 130, ULN 40 (3.25 x
            # ULN: G2): the highest current grade is 2, and may be worse
            lab("A", WHEN, "platelets", 50, comparator="<="),
            lab("A", WHEN, "alt", 130, ref_high=40),
            # B: "<=50" platelets beside neutrophils 0.4 (G4, < 0.5): 4, nothing worse
            lab("B", WHEN, "platelets", 50, comparator="<="),
            lab("B", WHEN, "neutrophils", 0.4),
            # C: Hb "<=80" (2 or worse; anaemia has no laboratory G4, so at most 3) beside
            # neutrophils 0.8 (G3, < 1.0-0.5): the highest is 3 and cannot be worse
            lab("C", WHEN, "hemoglobin", 80, comparator="<="),
            lab("C", WHEN, "neutrophils", 0.8),
        ],
        as_of=AS_OF,
    )


def test_the_summary_says_which_current_grades_may_be_worse():
    s = _mixed_panel().summary_df().set_index("patient_id")
    assert (s.loc["A", "max_ctcae_grade"], bool(s.loc["A", "max_ctcae_grade_or_worse"])) == (2, True)
    assert s.loc["A", "grades_or_worse"] == "platelets"
    assert (s.loc["B", "max_ctcae_grade"], bool(s.loc["B", "max_ctcae_grade_or_worse"])) == (4, False)
    assert s.loc["B", "grades_or_worse"] == "platelets"
    assert (s.loc["C", "max_ctcae_grade"], bool(s.loc["C", "max_ctcae_grade_or_worse"])) == (3, False)
    assert s.loc["C", "grades_or_worse"] == "hemoglobin"


def test_the_json_review_keeps_its_int_grades_and_adds_the_open_end():
    by_id = {p["patient_id"]: p for p in patients_json(_mixed_panel())}
    a = by_id["A"]
    assert a["max_ctcae_grade"] == 2 and a["max_ctcae_grade_or_worse"] is True
    assert a["worst_ctcae_grade"] == {"platelets": 2, "alt": 2}
    assert a["worst_ctcae_grade_or_worse"] == ["platelets"]
    plt = next(f for f in a["flags"] if f["rule"] == "ctcae.platelets")
    assert plt["ctcae_grade"] == 2 and plt["ctcae_grade_or_worse"] is True
    alt = next(f for f in a["flags"] if f["rule"] == "ctcae.alt")
    assert alt["ctcae_grade"] == 2 and alt["ctcae_grade_or_worse"] is False
    assert by_id["B"]["max_ctcae_grade_or_worse"] is False and by_id["B"]["max_ctcae_grade"] == 4


def test_the_text_review_ranks_it_as_grade_2_or_worse():
    text = review_text(_mixed_panel())
    row = next(line for line in text.splitlines() if line.split()[1:2] == ["A"])
    assert "Platelets 2 or worse" in row and "ALT 2" in row and "ALT 2 or worse" not in row


def test_an_open_grade_counts_at_least_as_its_number_in_the_urgency():
    # two patients alike but for the bound: "<=50" (2 or worse) never ranks below an exact 50 (2)
    rv = run(
        [lab("X1", WHEN, "platelets", 50), lab("X2", WHEN, "platelets", 50, comparator="<=")],
        as_of=AS_OF,
    )
    s = rv.summary_df().set_index("patient_id")
    assert s.loc["X2", "urgency_score"] >= s.loc["X1", "urgency_score"]


def test_grade_text():
    assert grade_text(2, True) == "2 or worse"
    assert grade_text(2, False) == "2"
    assert grade_text(None, True) == ""
    assert grade_text(pd.NA, pd.NA) == ""
    assert grade_text(3, pd.NA) == "3"


def test_a_later_result_written_as_a_bound_is_listed_as_may_be_worse():
    # after the as-of date: "<=50" platelets on 2024-09-01, grade 2 or worse (for information)
    rv = run(
        [lab("L1", WHEN, "platelets", 120), lab("L1", "2024-09-01 09:00", "platelets", 50, comparator="<=")],
        as_of=AS_OF,
    )
    text = review_text(rv)
    assert "CTCAE grade 2 or worse" in text
    [later] = patients_json(rv)[0]["after_as_of"]
    assert later["ctcae_grade"] == 2 and later["ctcae_grade_or_worse"] is True
