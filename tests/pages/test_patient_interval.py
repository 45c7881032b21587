"""Patient page: the BSR 2025 risk-adapted monitoring interval is shown and can be set."""

from __future__ import annotations

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
