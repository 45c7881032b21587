"""A % differential beside the lab's own absolute count of the same draw (H171).

The absolute count is used and the % is its duplicate; when the two disagree by more than
the rounding of the numbers the lab wrote allows, the report says so, naming the draw
and both figures.  Every expected value below is worked by hand from the stated numbers:
a number written to d decimals is the true value rounded, so it lies within half a unit
of its last digit; the % times the WBC can then be anything between the products of the
low ends and of the high ends.
"""

from __future__ import annotations

from tests.support import assert_balanced, import_text

HEAD = "MRN,Collection Date,Component,Result,Units\n"


def _draw(pct: str, absolute: str, wbc: str = "4.0") -> str:
    return (
        HEAD + f"1,2026-03-02 08:15,WBC,{wbc},10^9/L\n"
        f"1,2026-03-02 08:15,Neutrophils %,{pct},%\n"
        f"1,2026-03-02 08:15,Neutrophils,{absolute},10^9/L\n"
    )


def _disagreements(result) -> list[str]:
    return [w.message for f in result.report.files for w in f.warnings if "disagree" in w.message]


def test_a_percentage_that_disagrees_with_the_absolute_count_beside_it_is_said():
    # 10 % of WBC 4.0 = 0.4 x10^9/L (CTCAE v5.0 grade 4, < 0.5); from the rounding of the
    # stated numbers, 9.5-10.5 % of 3.95-4.05 is 0.375-0.425, and the absolute 0.9 is
    # 0.85-0.95: they cannot be one count.  The absolute 0.9 is used (CTCAE v5.0 grade 3,
    # < 1.0-0.5), the % is its duplicate, and the report names both.
    r = import_text(_draw("10", "0.9"))
    assert_balanced(r)
    f = r.report.files[0]
    assert (f.rows_accepted, f.duplicates) == (2, 1)
    df = r.labs_df()
    neut = df[df["analyte"] == "neutrophils"]
    assert neut["value"].tolist() == [0.9] and not neut["derived"].any()
    [said] = _disagreements(r)
    assert "patient 1" in said and "2026-03-02 08:15" in said
    assert "10 %" in said and "WBC 4.0 10^9/L" in said and "0.4 10^9/L" in said and "0.9 10^9/L" in said
    assert "row 3" in said and "row 4" in said and "absolute count is used" in said


def test_a_percentage_within_the_rounding_of_the_absolute_count_is_not_said():
    # 23 % of 4.0 = 0.92; 22.5-23.5 % of 3.95-4.05 is 0.888-0.952, and the absolute 0.95
    # (0.945-0.955) overlaps it: the lab's own rounding, nothing to say.
    r = import_text(_draw("23", "0.95"))
    assert_balanced(r)
    assert _disagreements(r) == []
    # 0.97 (0.965-0.975) is above 0.952, and 0.87 (0.865-0.875) below 0.888: said
    assert len(_disagreements(import_text(_draw("23", "0.97")))) == 1
    assert len(_disagreements(import_text(_draw("23", "0.87")))) == 1


def test_the_rounding_allowed_follows_the_decimals_the_lab_wrote():
    # 22.7 % of 4.00 = 0.908; 22.65-22.75 % of 3.995-4.005 is 0.9049-0.9112, so an
    # absolute 0.92 (0.915-0.925) disagrees, where "23" % and "4.0" (0.888-0.952) would not.
    assert len(_disagreements(import_text(_draw("22.7", "0.92", wbc="4.00")))) == 1
    assert _disagreements(import_text(_draw("23", "0.92"))) == []


def test_a_censored_percentage_is_compared_by_its_bound():
    # "<1" % of 4.0 is below 1.5 % of 4.05 = 0.061 at most (the bound itself taken with its
    # rounding): an absolute 0.9 (0.85-0.95) cannot be it.  "<1" beside 0.03 can.
    assert len(_disagreements(import_text(_draw("<1", "0.9")))) == 1
    assert _disagreements(import_text(_draw("<1", "0.03"))) == []
