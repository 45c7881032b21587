"""Units and draw dates a lab export states twice or not at all (probe 42, H580-H589).

Expected values are derived by hand from the safety rule (never guess a unit or a draw
date) and from CTCAE v5.0, not from the code's output.
"""

from __future__ import annotations

from tests.support import assert_balanced, import_text

HEAD = "MRN,Collected,Test,Result,Units\n"


def _said(result) -> str:
    return " ".join(p.message for f in result.report.files for p in [*f.problems, *f.warnings]).lower()


def _reasons(result) -> dict[int, str]:
    return {p.row: p.message for f in result.report.files for p in f.problems}


# --------------------------------------------------------------------------- F1 (H580)


def test_anc_or_an_absolute_loinc_code_with_the_unit_percent_is_rejected_naming_both():
    # "ANC 1.8 %" beside WBC 4.0: 1.8 x10^9/L by the name, 0.072 x10^9/L (grade 4) by the unit.
    r = import_text(
        "MRN,Collected,Test,Code,Result,Units\n"
        "001,2026-01-05 08:00,WBC,,4.0,10^9/L\n"
        "001,2026-01-05 08:00,ANC,,1.8,%\n"
        "001,2026-01-06 08:00,WBC,,4.0,10^9/L\n"
        "001,2026-01-06 08:00,Neutrophils,751-8,1.8,%\n"  # LOINC 751-8: neutrophils, #/volume
    )
    assert_balanced(r)
    labs = r.labs_df()
    assert labs[labs["analyte"] == "neutrophils"].empty
    reasons = _reasons(r)
    for row in (3, 5):
        assert "absolute count" in reasons[row] and "%" in reasons[row], reasons


def test_a_percent_named_as_a_percentage_is_still_made_absolute():
    # "Neut %" 45 % of WBC 4.0 = 1.8 x10^9/L: the name and the unit agree.
    r = import_text(HEAD + "001,2026-01-05 08:00,WBC,4.0,10^9/L\n001,2026-01-05 08:00,Neut %,45,%\n")
    assert_balanced(r)
    neut = r.labs_df().query("analyte == 'neutrophils'")
    assert neut["value"].tolist() == [1.8]
