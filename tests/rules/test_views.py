"""The Rules page's table of a profile's rules (dashboard/rules/views.py)."""

from __future__ import annotations

from dashboard.rules.engine import get_profile
from dashboard.rules.views import rules_frame


def test_a_percentage_rules_threshold_is_shown_as_a_percentage():
    """Probe 9 F7: bsr.creatinine_rise fires on a rise of more than 30 % (rules.toml:
    comparison rise_pct, threshold 30); its row said "30 µmol/L", which a clinician editing
    a profile could read as a 30 µmol/L rise.  The trend rules (falls in %) likewise."""
    table = rules_frame(get_profile(None)).set_index("Rule")
    assert (table.loc["bsr.creatinine_rise", "Threshold"], table.loc["bsr.creatinine_rise", "Unit"]) == (30.0, "%")
    assert table.loc["trend.consecutive_falls", "Unit"] == "%"
    assert table.loc["bsr.neutrophils_low", "Unit"] == "×10⁹/L"
