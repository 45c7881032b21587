"""A result the lab flagged beyond its own limit, in a row with no range, is never
CTCAE grade 0 (H484).

By hand from CTCAE v5.0: neutrophil count decreased G1 <LLN-1.5, G2 <1.5-1.0 ×10⁹/L;
white blood cell decreased G1 <LLN-3.0 ×10⁹/L; ALT increased G1 >ULN-3.0×ULN, G2
>3.0-5.0×ULN; creatinine increased G1 >ULN-1.5×ULN.  The lab's "L" says the result is
below the lab's own LLN; "H" above its own ULN (HL7 v2 table 0078).  The defaults when a
row has no range (reference_ranges.toml): neutrophils LLN 2.0, ALT ULN 40, no creatinine
ULN.
"""

from __future__ import annotations

import datetime as dt
import re

import pandas as pd

from dashboard.dataset import Dataset
from dashboard.panel import panel_table
from dashboard.rules import review_dataset
from dashboard.rules.review import Review
from tests.support import csv_import, timeline_dict

AS_OF = dt.date(2026, 6, 1)
HEAD = "patient_id,collected_at,analyte,value,unit,reference_range,flag\n"
DOSES = "P1,azathioprine,100,mg,daily,oral,2025-01-01,\n"


def _review(test: str, value: str, unit: str, rng: str, flag: str, born: str = "1970-01-01") -> tuple[Dataset, Review]:
    labs = f"P1,2026-05-20 09:00,{test},{value},{unit},{rng},{flag}\n"
    ds = Dataset.from_import(csv_import(labs, DOSES, f"P1,F,{born}\n", as_of=AS_OF, labs_head=HEAD), "t")
    return ds, review_dataset(ds, None, AS_OF)


def _ctcae(rv: Review) -> pd.DataFrame:
    flags = rv.flags_df()
    return flags[flags["kind"] == "ctcae"]


def test_a_neutrophil_count_the_lab_flagged_low_without_a_range_is_grade_1_by_that_flag():
    """2.1 is not below the default LLN 2.0, but the lab says it is below its own: grade 1
    (2.1 is not below the grade 2 cut 1.5), said as the lab's flag, not as a cut."""
    ds, rv = _review("Neutrophils", "2.1", "10^9/L", "", "L")
    (flag,) = _ctcae(rv).itertuples()
    assert int(flag.ctcae_grade) == 1 and not flag.ctcae_grade_or_worse
    assert flag.severity == "info" and pd.isna(flag.threshold)
    assert 'Neutrophils 2.1 ×10⁹/L, flagged "L" by the lab: below the lab\'s own lower limit' in flag.message
    row = panel_table(ds, rv, "SI").set_index("Patient").loc["P1"]
    assert row["CTCAE now"] == "1" and row["Neut"] == "2.1 G1" and "Neut G1" in row["Why"]


def test_the_lab_flag_in_any_case_and_spacing_counts():
    _, rv = _review("Neutrophils", "2.1", "10^9/L", "", " low ")
    assert _ctcae(rv)["ctcae_grade"].astype(int).tolist() == [1]


def test_a_range_of_the_rows_own_decides_over_its_flag():
    """2.1 with the range 2.0-7.5 is not below the lab's LLN 2.0: grade 0, whatever the flag."""
    _, rv = _review("Neutrophils", "2.1", "10^9/L", "2.0-7.5", "L")
    assert _ctcae(rv).empty


def test_no_flag_and_no_range_stays_on_the_default_lln():
    """2.1 with no flag and no range: not below the default LLN 2.0, grade 0."""
    _, rv = _review("Neutrophils", "2.1", "10^9/L", "", "")
    assert _ctcae(rv).empty


def test_a_result_below_the_default_lln_or_a_fixed_cut_keeps_its_grade_and_words():
    """1.7 (< default LLN 2.0): grade 1 on the default LLN; 1.2 (< 1.5): grade 2."""
    _, rv = _review("Neutrophils", "1.7", "10^9/L", "", "L")
    (flag,) = _ctcae(rv).itertuples()
    assert int(flag.ctcae_grade) == 1 and "(default LLN)" in flag.message
    _, rv = _review("Neutrophils", "1.2", "10^9/L", "", "L")
    assert _ctcae(rv)["ctcae_grade"].astype(int).tolist() == [2]


def test_a_high_flag_on_a_decreased_term_gives_no_grade():
    """ "H" on a neutrophil count of 2.1 says nothing about a decrease: grade 0."""
    _, rv = _review("Neutrophils", "2.1", "10^9/L", "", "H")
    assert _ctcae(rv).empty


def test_a_childs_count_flagged_low_is_grade_1_by_the_labs_flag():
    """A child of 8 (born 2018): no default LLN applies, so WBC 3.5 with no range could not
    be graded; the lab's "L" says it is below the lab's own (a child's) LLN: grade 1
    (3.5 is not below the grade 2 cut 3.0)."""
    _, rv = _review("WBC", "3.5", "10^9/L", "", "L", born="2018-03-01")
    (flag,) = _ctcae(rv).itertuples()
    assert int(flag.ctcae_grade) == 1 and 'flagged "L" by the lab' in flag.message


def test_an_alt_flagged_high_without_a_range_is_grade_1_or_worse():
    """ALT 38 U/L is not above the default ULN 40, but the lab says it is above its own
    ULN: grade 1 at least; with that ULN unknown, 3 × ULN (grade 2) cannot be excluded."""
    ds, rv = _review("ALT", "38", "U/L", "", "H")
    (flag,) = _ctcae(rv).itertuples()
    assert int(flag.ctcae_grade) == 1 and bool(flag.ctcae_grade_or_worse)
    assert "CTCAE grade 1 or worse" in flag.message and 'flagged "H" by the lab' in flag.message
    assert panel_table(ds, rv, "SI").set_index("Patient").loc["P1", "CTCAE now"] == "1 or worse"


def test_a_creatinine_flagged_high_without_a_range_or_baseline_is_grade_1_or_worse():
    """No default creatinine ULN: 100 µmol/L with no range could not be graded; the lab's
    "H" says above its ULN: grade 1 at least (> 1.5 × that ULN, grade 2, not excluded)."""
    _, rv = _review("Creatinine", "100", "umol/L", "", "H")
    (flag,) = _ctcae(rv).itertuples()
    assert int(flag.ctcae_grade) == 1 and bool(flag.ctcae_grade_or_worse)


def test_the_patient_page_chart_shows_the_labs_flag_and_the_grade():
    ds, rv = _review("Neutrophils", "2.1", "10^9/L", "", "L")
    fig = timeline_dict(ds, rv, AS_OF, analytes=("neutrophils",))
    ((name, hover),) = [
        (t["name"], " ".join(re.sub(r"<[^>]+>", " ", h).split()))
        for t in fig["data"]
        if t.get("mode") == "markers"
        for h in t["customdata"]
    ]
    assert name == "grade 1" and "lab flag: L" in hover and "CTCAE v5.0 grade 1" in hover
