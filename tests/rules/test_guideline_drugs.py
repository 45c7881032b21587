"""A guideline's limits judge a result as the guideline does only for the drugs it is
written for (rules.toml [guideline_drugs], H429).

BSR's csDMARD action table ("withhold and discuss": neutrophils < 1.6) is written for the
csDMARDs the guideline covers (BSR 2017: azathioprine, ciclosporin, hydroxychloroquine,
leflunomide, methotrexate, mycophenolate, sulfasalazine, tacrolimus ...; BSR 2025 adds
voclosporin).  Cyclophosphamide and the biologics are on neither list; mercaptopurine is
kept with them for the SPS mercaptopurine page that applies the same limits (probe27 F8).
Hand expectations: neutrophils 1.4 x10^9/L is below 1.6 (the BSR limit, action) and is
CTCAE v5.0 grade 2 (< 1.5 - 1.0, caution).
"""

from __future__ import annotations

import pytest

from dashboard.rules.engine import builtin_profiles, get_profile
from dashboard.rules.views import guideline_drugs_text
from tests.rules.builders import dose, lab, run

NEUT = [lab("P1", "2024-06-01", "neutrophils", 1.4)]


def _flag(rv, rule: str):
    f = rv.flags_df()
    return f[f["rule"] == rule].iloc[0]


@pytest.mark.parametrize("drug", ["rituximab", "belimumab", "cyclophosphamide"])
def test_a_drug_the_guideline_does_not_cover_gets_the_limit_as_a_guide(drug):
    rv = run(NEUT, [dose("P1", drug, "2024-01-01", amount=100)])
    bsr = _flag(rv, "bsr.neutrophils_low")
    assert bsr["severity"] == "caution"
    assert "none of the drugs in force is one this guideline's limits are written for" in bsr["message"]
    assert _flag(rv, "ctcae.neutrophils")["severity"] == "caution"  # grade 2: CTCAE's own


def test_a_covered_drug_beside_an_uncovered_one_keeps_the_guidelines_action():
    rv = run(
        NEUT, [dose("P1", "rituximab", "2024-01-01", amount=100), dose("P1", "methotrexate", "2024-01-01", amount=15)]
    )
    bsr = _flag(rv, "bsr.neutrophils_low")
    assert bsr["severity"] == "action"
    assert "written for" not in bsr["message"]


@pytest.mark.parametrize(
    "drug",
    ["azathioprine", "methotrexate", "mycophenolate mofetil", "tacrolimus", "mercaptopurine", "hydroxychloroquine"],
)
def test_the_guidelines_own_drugs_keep_its_action(drug):
    bsr = _flag(run(NEUT, [dose("P1", drug, "2024-01-01", amount=100)]), "bsr.neutrophils_low")
    assert bsr["severity"] == "action" and "written for" not in bsr["message"]


def test_voclosporin_is_covered_by_bsr_2025_only():
    """BSR 2025 lists voclosporin; BSR 2017 does not."""
    doses = [dose("P1", "voclosporin", "2024-01-01", amount=23.7)]
    assert _flag(run(NEUT, doses), "bsr.neutrophils_low")["severity"] == "action"
    old = run(NEUT, doses, profile=get_profile("BSR 2017 / NICE"))
    assert _flag(old, "bsr.neutrophils_low")["severity"] == "caution"


def test_no_monitored_drug_keeps_its_own_words():
    """No dose at all: the existing caveat (check the dose records), not this one, and the
    guideline's severity (the dose records may be missing)."""
    bsr = _flag(run(NEUT), "bsr.neutrophils_low")
    assert bsr["severity"] == "action"
    assert "no monitored drug is recorded" in bsr["message"] and "written for" not in bsr["message"]


def test_every_bsr_limit_is_scoped_and_the_lists_name_known_drugs():
    for name in ("BSR 2025", "BSR 2017 / NICE"):
        p = builtin_profiles()[name]
        assert {r.id for r in p.rules if r.scoped} == {r.id for r in p.rules if r.id.startswith("bsr.")}
        assert "cyclophosphamide" not in p.guideline_drugs and "methotrexate" in p.guideline_drugs
    assert "voclosporin" in builtin_profiles()["BSR 2025"].guideline_drugs
    assert "voclosporin" not in builtin_profiles()["BSR 2017 / NICE"].guideline_drugs


def test_the_rules_page_says_which_drugs_the_limits_are_written_for():
    text = guideline_drugs_text(builtin_profiles()["BSR 2025"])
    assert "Methotrexate" in text and "Voclosporin" in text and "Mercaptopurine" in text and "cyclophosphamide" in text
    assert guideline_drugs_text(builtin_profiles()["CTCAE only"]) == ""


def test_a_drug_that_ended_within_its_window_is_still_recorded():
    """H433 (rules.toml [recorded_after_last_dose]).  Azathioprine 2024-01-01 to 2024-05-15,
    neutrophils 1.4 on 2024-06-01: 17 days after its last dose, within the default six
    weeks: the guideline's own drug, so "withhold and discuss" (action), and no "no monitored
    drug" caveat.  On 2024-08-01 (78 days after) it is past the window: the caveat is said."""
    doses = [dose("P1", "azathioprine", "2024-01-01", "2024-05-15", amount=100)]
    bsr = _flag(run(NEUT, doses), "bsr.neutrophils_low")
    assert bsr["severity"] == "action" and "no monitored drug is recorded" not in bsr["message"]
    late = [lab("P1", "2024-08-01", "neutrophils", 1.4)]
    assert "no monitored drug is recorded" in _flag(run(late, doses), "bsr.neutrophils_low")["message"]


def test_rituximab_is_recorded_for_six_months_and_named_beside_methotrexate():
    """Rituximab 1000 mg once (2024-03-01, row ending 2024-03-02) and methotrexate since
    2024-01-01: the count of 2024-06-01 (91 days after) names rituximab in its dose context
    ("recently ended"); the BSR limit is methotrexate's, action."""
    doses = [
        dose("P1", "rituximab", "2024-03-01", "2024-03-02", amount=1000),
        dose("P1", "methotrexate", "2024-01-01", amount=15),
    ]
    bsr = _flag(run(NEUT, doses), "bsr.neutrophils_low")
    assert bsr["severity"] == "action"
    assert "recently ended: Rituximab" in bsr["dose_context"] and "ended 2024-03-02" in bsr["dose_context"]
