"""The timeline draws each result with its own grade and its own flags (H483), asserted on
fig.to_dict().

Grades by hand from CTCAE v5.0: neutrophil count decreased G1 <LLN-1.5, G2 <1.5-1.0,
G3 <1.0-0.5 ×10⁹/L; white blood cell decreased G1 <LLN-3.0 ×10⁹/L.
"""

from __future__ import annotations

import datetime as dt
import html
import re

from dashboard.dataset import Dataset
from dashboard.rules import review_dataset
from tests.support import csv_import, timeline_dict

AS_OF = dt.date(2026, 6, 1)
DOSES = "P1,azathioprine,100,mg,daily,oral,2025-01-01,\nP2,azathioprine,100,mg,daily,oral,2025-01-01,\n"
HEAD = "patient_id,collected_at,analyte,value,unit,reference_range\n"


def _points(fig: dict) -> dict[float, tuple[str, str]]:
    """y -> (legend name, hover text: tags and line breaks as single spaces) of every result marker."""
    return {
        y: (t["name"], " ".join(html.unescape(re.sub(r"<[^>]+>", " ", h)).split()))
        for t in fig["data"]
        if t.get("mode") == "markers"
        for y, h in zip(t["y"], t["customdata"], strict=True)
    }


def _timeline(labs: str, patient: str = "P1", **options) -> dict:
    ds = Dataset.from_import(csv_import(labs, DOSES, as_of=AS_OF, labs_head=HEAD), "t")
    return timeline_dict(ds, review_dataset(ds, None, AS_OF), AS_OF, patient, **options)


def test_each_value_of_a_draw_with_two_keeps_its_own_grade_and_flags():
    """Neutrophils 1.2 and 0.8 at one draw: 1.2 is grade 2 (<1.5-1.0), 0.8 grade 3
    (<1.0-0.5).  Each point is drawn and hovered with its own grade; the 1.2 point does not
    carry the 0.8's guideline flag, and both say the draw holds the other value."""
    labs = "P1,2026-05-20 09:00,Neutrophils,1.2,10^9/L,2.0-7.5\nP1,2026-05-20 09:00,Neutrophils,0.8,10^9/L,2.0-7.5\n"
    points = _points(_timeline(labs, analytes=("neutrophils",)))
    assert set(points) == {1.2, 0.8}
    name, hover = points[1.2]
    assert name == "grade 2" and "CTCAE v5.0 grade 2" in hover
    assert "Neutrophils 1.2 ×10⁹/L < 1.6" in hover and "0.8 ×10⁹/L < 1.6" not in hover
    assert "conflicting results at this draw: 1.2 and 0.8" in hover
    name, hover = points[0.8]
    assert name == "grade 3" and "CTCAE v5.0 grade 3" in hover
    assert "Neutrophils 0.8 ×10⁹/L < 1.6" in hover and "1.2 ×10⁹/L < 1.6" not in hover


def test_a_result_of_one_value_at_its_time_is_unchanged():
    """One value per draw: 1.2 (grade 2) on one day and 0.8 (grade 3) a week later."""
    labs = "P1,2026-05-13 09:00,Neutrophils,1.2,10^9/L,2.0-7.5\nP1,2026-05-20 09:00,Neutrophils,0.8,10^9/L,2.0-7.5\n"
    points = _points(_timeline(labs, analytes=("neutrophils",)))
    assert {y: name for y, (name, _) in points.items()} == {1.2: "grade 2", 0.8: "grade 3"}
    assert not any("conflicting" in hover for _, hover in points.values())


def test_another_patients_flag_at_the_same_time_is_not_drawn_on_this_patients_chart():
    """Two patients with WBC 3.5 at the same minute: P1's lab range 3.0-10.0 (3.5 is not
    below its LLN: grade 0), P2's 4.0-11.0 (grade 1, <LLN-3.0).  P1's chart (the test
    helper, like the page, gives it P1's flags only) draws grade 0 with no flag."""
    labs = "P1,2026-05-20 09:00,WBC,3.5,10^9/L,3.0-10.0\nP2,2026-05-20 09:00,WBC,3.5,10^9/L,4.0-11.0\n"
    ((name, hover),) = _points(_timeline(labs, "P1", analytes=("wbc",))).values()
    assert name == "grade 0 / not graded" and "CTCAE" not in hover
    ((name, hover),) = _points(_timeline(labs, "P2", analytes=("wbc",))).values()
    assert name == "grade 1" and "CTCAE v5.0 grade 1" in hover
