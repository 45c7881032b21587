"""H478, H479 (AppTest, workspace mode): nothing counted or hidden unsaid.

One patient on azathioprine since 1 Jan 2024 with neutrophils 3.0 (15 Mar) and 1.2 x10^9/L
(15 Apr 2024): by hand two open flags on 1 May 2024 (BSR < 1.6, CTCAE G2 < 1.5 - 1.0).
Dr A reviews one of them (bsr.neutrophils_low) today, after the as-of date 1 May 2024.
"""

from __future__ import annotations

import datetime as dt

import pytest
from streamlit.testing.v1 import AppTest

from dashboard.ingest import Source
from dashboard.reviews import results_of, reviews_for
from dashboard.store import Workspace
from dashboard.store.panel import open_panel
from tests.support import ROOT

DOSES = "patient,drug,dose,unit,frequency,start,end\n001,Imuran,100,mg,daily,2024-01-01,\n"
LABS = (
    "MRN,Collection Date,Component,Result,Units\n"
    "001,2024-03-15 09:00,Neutrophils,3.0,10^9/L\n001,2024-04-15 09:00,Neutrophils,1.2,10^9/L\n"
)
AS_OF = dt.date(2024, 5, 1)


@pytest.fixture
def one_reviewed(tmp_path, monkeypatch) -> Workspace:
    monkeypatch.setenv("DASHBOARD_WORKSPACE", str(tmp_path / "ws"))
    ws = Workspace(tmp_path / "ws")
    for name, text in (("doses.csv", DOSES), ("labs.csv", LABS)):
        ws.import_sources([Source(name, text.encode())], by="t")
    f = open_panel(ws).open_flags(AS_OF)
    assert len(f) == 2
    bsr = f[f["rule"] == "bsr.neutrophils_low"]
    ws.add_reviews(reviews_for("001", list(bsr["flag_key"]), "continue", "", results_of(bsr)), by="Dr A")
    return ws


def _app(page: str) -> AppTest:
    at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=120)
    at.query_params["panel"] = "workspace"
    at.run()
    at.session_state["as_of"] = AS_OF
    at.switch_page(page).run()
    assert not at.exception, at.exception
    return at


def test_the_panel_says_a_review_it_counts_was_made_after_the_as_of_date(one_reviewed):
    at = _app("pages/panel.py")
    said = " ".join(i.value for i in at.info)
    assert "1 open flag of 1 patient was reviewed after the as-of date (01 May 2024): counted as reviewed" in said


def test_the_flags_to_review_tab_says_how_many_flags_it_hides(one_reviewed):
    at = _app("pages/workspace.py")
    at.session_state["ws_tab"] = "Flags to review"
    at.run()
    at.toggle(key="hide_acknowledged_panel").set_value(True).run()
    assert not at.exception, at.exception
    assert any(c.value == "1 reviewed flag hidden: 1 of 2 open flags shown." for c in at.caption)
    table = next(d.value for d in at.dataframe if {"Patient", "Rule"} <= set(d.value.columns))
    assert list(table["Rule"]) == ["ctcae.neutrophils"]
    assert list(table["Review state"]) == ["not reviewed"]
