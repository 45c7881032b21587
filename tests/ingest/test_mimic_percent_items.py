"""A MIMIC item defined as a percentage with a blank VALUEUOM is read in % (H468).

By hand: itemid 51256 is "Neutrophils", % of leukocytes (MIMIC D_LABITEMS; the bundled
``dashboard/ingest/data/mimic_itemids.csv``); itemid 51301 is the white cell count in K/uL
(= 10^9/L).  44 % of 20.3 x10^9/L is 0.44 x 20.3 = 8.932 x10^9/L; 60 % of 5.0 is 3.0."""

from __future__ import annotations

import pytest

from tests.support import FIXTURES, assert_balanced, import_text

LINES = (FIXTURES / "mimic4" / "labevents_excerpt.csv").read_text(encoding="utf-8").splitlines()
HEAD, WBC, NEUT = LINES[0], LINES[4], LINES[21]


def _mimic4(*rows: str):
    assert ",51301," in WBC and ",51256," in NEUT and ",44,44,%," in NEUT
    result = import_text(HEAD + "\n" + "\n".join(rows) + "\n", "labevents.csv")
    assert_balanced(result)
    return result


def test_a_percent_item_without_a_unit_is_made_absolute_with_the_wbc_of_its_draw():
    result = _mimic4(WBC, NEUT.replace(",44,44,%,", ",44,44,,"))
    df = result.labs_df().set_index("analyte")
    assert df.loc["neutrophils", "value"] == pytest.approx(8.932)
    assert df.loc["wbc", "value"] == pytest.approx(20.3)
    warnings = [w.message for w in result.report.files[0].warnings]
    assert any("no unit: read as %, as the item is defined" in w for w in warnings)


def test_the_same_row_with_its_unit_gives_the_same_count():
    result = _mimic4(WBC, NEUT)
    df = result.labs_df().set_index("analyte")
    assert df.loc["neutrophils", "value"] == pytest.approx(8.932)
    assert not any("no unit" in w.message for w in result.report.files[0].warnings)


def test_without_a_wbc_in_the_draw_the_reason_is_the_missing_wbc():
    result = _mimic4(NEUT.replace(",44,44,%,", ",44,44,,"))
    assert result.labs.num_rows == 0
    (problem,) = result.report.files[0].problems
    assert "without a WBC from the same draw" in problem.message
    assert "absolute count unit" not in problem.message


def test_a_percent_item_with_a_count_unit_is_still_rejected():
    # K/uL on an item defined as % of leukocytes: the unit and the item contradict each other
    result = _mimic4(WBC, NEUT.replace(",44,44,%,", ",44,44,K/uL,"))
    assert list(result.labs_df()["analyte"]) == ["wbc"]
    assert "absolute count unit" in result.report.files[0].problems[0].message


def test_a_mimic_iii_percent_item_without_a_unit_is_read_in_percent():
    text = (
        "HADM_ID,ITEMID,CHARTTIME,VALUE,VALUEUOM,FLAG\n"
        "101361,51301,2145-12-01 19:10:00,5.0,K/uL,\n"
        "101361,51256,2145-12-01 19:10:00,60,,\n"
    )
    result = import_text(text, "LABEVENTS.csv")
    assert_balanced(result)
    df = result.labs_df().set_index("analyte")
    assert df.loc["neutrophils", "value"] == pytest.approx(3.0)
