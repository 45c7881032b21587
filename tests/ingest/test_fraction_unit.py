"""A white-cell differential given as a fraction of the white cells (unit "fraction",
0.50 for half of them): a hundredth of the percentage, so 0.50 of a WBC of 4.0 is
2.0 x10^9/L.  Expected values by hand; H191."""

from __future__ import annotations

import pytest

from dashboard.units import resolve_unit
from tests.support import assert_balanced, import_text

HEAD = "MRN,Collection Date,Component,Result,Units\n1,2026-03-02 08:15,WBC,4.0,10^9/L\n"


def test_a_fraction_is_a_hundredth_of_the_percentage():
    assert resolve_unit("neutrophils", "fraction").factor == 100.0
    assert resolve_unit("neutrophils", "fraction").percent
    assert resolve_unit("neutrophils", "%").factor == 1.0


@pytest.mark.parametrize(
    ("fraction", "count"),
    [
        ("0.50", 2.0),  # 0.50 x 4.0: grade 0 (not < LLN 2.0)
        ("0.05", 0.2),  # 0.05 x 4.0: CTCAE grade 4 (< 0.5)
        ("0", 0.0),
        ("1", 4.0),
    ],
)
def test_a_fraction_of_the_white_cells_makes_its_count(fraction, count):
    result = import_text(HEAD + f"1,2026-03-02 08:15,Neutrophils %,{fraction},fraction\n")
    assert_balanced(result)
    labs = result.labs_df().set_index("analyte")
    assert labs.loc["neutrophils", "value"] == count


@pytest.mark.parametrize("fraction", ["1.5", "50", "-0.1"])
def test_a_fraction_outside_0_to_1_is_rejected(fraction):
    """ "50" with the unit "fraction" is 5,000 %: never 200 x10^9/L."""
    result = import_text(HEAD + f"1,2026-03-02 08:15,Neutrophils %,{fraction},fraction\n")
    assert_balanced(result)
    assert result.labs_df()["analyte"].tolist() == ["wbc"]
    assert "a percentage must be between 0 and 100" in result.report.files[0].problems[0].message


def test_a_later_wbc_correction_counts_a_stored_fraction_again(tmp_path):
    """0.50 of the final WBC 4.0 is 2.0; the corrected WBC 2.0 makes it 1.0 (H170)."""
    from dashboard.ingest import Source
    from tests.support import p6_workspace

    head = "MRN,Collection Date,Component,Result,Units,Status\n"
    ws = p6_workspace(
        tmp_path / "ws",
        (
            "a.csv",
            head + "1,2024-04-02 08:15,WBC,4.0,10^9/L,Final\n1,2024-04-02 08:15,Neutrophils %,0.50,fraction,Final\n",
        ),
    )
    ws.import_sources([Source("b.csv", (head + "1,2024-04-02 08:15,WBC,2.0,10^9/L,Corrected\n").encode())], by="t")
    labs = ws.load().labs.to_pandas().set_index("analyte")
    assert labs.loc["neutrophils", "value"] == 1.0
