"""The Rules page (pages/rules.py)."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from tests.support import ROOT


def test_the_rules_page_says_which_drugs_the_bsr_limits_are_written_for():
    """H429: the limits' scope is on the page that lists them."""
    at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=60)
    at.run()
    at.switch_page("pages/rules.py").run()
    assert not at.exception
    assert any("are written for the csDMARDs the guideline covers" in str(c.value) for c in at.caption)
