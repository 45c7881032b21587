"""Patient page: the BSR 2025 risk-adapted monitoring interval is shown and can be set."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from dashboard import ui
from tests.support import ROOT


def test_interval_is_set_and_shown_on_the_patient_page():
    at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=120)
    at.run()
    at.button(key="load_sample").click().run()
    at.session_state["selected_patient"] = "SLE-017"
    at.switch_page("pages/patient.py").run()
    assert not at.exception
    assert any("No risk-adapted interval set" in c.value for c in at.caption)
    at.number_input(key="interval_days").set_value(182)
    at.text_input(key="interval_reason").set_value("stable 2 years, no risk factors")
    at.button[[b.label for b in at.button].index("Save interval")].click().run()
    assert not at.exception
    ds = at.session_state[ui.DATASET]
    if ds is not None and ds.interval_of("SLE-017") is not None:  # session mode: kept in the dataset
        assert int(ds.interval_of("SLE-017")["interval_days"]) == 182
    assert any("every 182 days" in c.value for c in at.caption)


def test_an_interval_set_while_reviewing_an_older_extract_says_it_is_not_in_force_yet():
    """The sample panel opens as of its extract date (16 Nov 2026); an interval saved on a
    later day is not in force in that review (its schedule stays as it stood then): the
    page says so and how to see it applied, never a silent schedule that did not change."""
    import datetime as dt

    at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=120)
    at.run()
    at.button(key="load_sample").click().run()
    at.session_state["selected_patient"] = "SLE-017"
    at.switch_page("pages/patient.py").run()
    as_of = at.session_state["as_of"]
    at.number_input(key="interval_days").set_value(182)
    at.text_input(key="interval_reason").set_value("stable 2 years, no risk factors")
    at.button[[b.label for b in at.button].index("Save interval")].click().run()
    assert not at.exception
    said = [w.value for w in at.warning if "not in force in this review" in w.value]
    if dt.date.today() > as_of:
        assert len(said) == 1 and f"({as_of:%d %b %Y})" in said[0], said
    else:  # run on or before the extract date: the interval is in force, nothing to say
        assert not said


# --------------------------------------------------------------------------- probe 6 F4: kept in the workspace


@pytest.fixture
def tmp_workspace(tmp_path, monkeypatch):
    monkeypatch.setenv("DASHBOARD_WORKSPACE", str(tmp_path / "ws"))
    return tmp_path / "ws"


def _patient_page(pid: str = "SLE-018", *, saved: bool = False) -> AppTest:
    at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=180)
    at.run()
    at.button(key="load_sample").click().run()
    if saved:
        at.switch_page("pages/workspace.py").run()
        [save] = [b for b in at.button if b.label.startswith("Save this panel")]
        save.click().run()
    at.session_state["selected_patient"] = pid
    at.switch_page("pages/patient.py").run()
    assert not at.exception, at.exception
    return at


def _record_review(at: AppTest, action: str = "continue") -> None:
    gen = at.session_state.get("_ack_generation", 0)
    at.selectbox(key=f"ack::{gen}::action").set_value(action)
    at.text_input(key=f"ack::{gen}::by").set_value("Dr Ada")
    [b] = [b for b in at.button if b.label.endswith("record the review") or b.label == "Record review"]
    b.click().run()
    assert not at.exception, at.exception
    assert any("Review recorded" in s.value for s in at.success)


def test_a_risk_adapted_interval_survives_the_review_that_saves_the_panel(tmp_workspace):
    """H122 (probe 6 F4a).  SLE-018 (sample panel, session only): Dr Ada sets a 28-day
    interval (CKD, age), then records a review; the form saves the panel to the workspace in
    the same click.  The 28-day interval is saved with it, said in the success message, and
    still in force afterwards (in the workspace, too)."""
    from dashboard.store import Workspace

    at = _patient_page()
    assert any("kept in this session's panel until the panel is saved" in c.value for c in at.caption)
    at.number_input(key="interval_days").set_value(28)
    at.text_input(key="interval_reason").set_value("CKD stage 3, age 78")
    at.button[[b.label for b in at.button].index("Save interval")].click().run()
    assert any("every 28 days" in c.value for c in at.caption)
    _record_review(at)
    said = " ".join(s.value for s in at.success).replace("\\", "")  # (markdown escapes)
    assert "Kept with it: SLE-018's monitoring interval (every 28 days)" in said
    ds = at.session_state[ui.DATASET]
    assert ds.interval_of("SLE-018") is not None
    assert int(ds.interval_of("SLE-018")["interval_days"]) == 28
    assert any("every 28 days" in c.value for c in at.caption)
    [days] = Workspace(tmp_workspace).intervals("SLE-018").column("interval_days").to_pylist()
    assert days == 28


def test_a_clinician_set_baseline_survives_recording_a_review_in_workspace_mode(tmp_workspace):
    """H122 (probe 6 F4b).  The panel is in the workspace.  Dr Ada sets SLE-018's own
    neutrophil baseline 1.1 (Duffy-null): the CTCAE grade 2 neutrophil flag (1.18 < 1.5) is
    then information, within her baseline.  She records a review; the baseline is still
    there afterwards, kept in the workspace (a new session opening it has it too)."""
    from dashboard.store import Workspace
    from dashboard.store.panel import open_panel

    at = _patient_page(saved=True)
    assert any("kept in the workspace" in c.value for c in at.caption)
    at.selectbox(key="baseline_analyte").set_value("neutrophils")
    at.number_input(key="baseline_value").set_value(1.1)
    at.text_input(key="baseline_by").set_value("Dr Ada")
    at.button[[b.label for b in at.button].index("Save baseline")].click().run()
    assert not at.exception, at.exception
    ds = at.session_state[ui.DATASET]
    assert len(ds.baselines[ds.baselines["patient_id"] == "SLE-018"]) == 1
    _record_review(at)
    ds = at.session_state[ui.DATASET]
    assert len(ds.baselines[ds.baselines["patient_id"] == "SLE-018"]) == 1
    stored = open_panel(Workspace(tmp_workspace)).baselines
    mine = stored[stored["patient_id"] == "SLE-018"]
    assert list(mine["analyte"]) == ["neutrophils"] and list(mine["value"]) == [1.1]
