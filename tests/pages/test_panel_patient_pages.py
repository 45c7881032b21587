"""Panel and Patient pages (AppTest): empty state, sample panel, selection, filters."""

import json

import pytest
from streamlit.testing.v1 import AppTest

from tests.support import ROOT

APP = str(ROOT / "streamlit_app.py")


def fresh() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    return at


@pytest.fixture(scope="module")
def loaded() -> AppTest:
    at = fresh()
    at.button(key="load_sample").click().run()
    assert not at.exception
    return at


@pytest.mark.parametrize("page", ["pages/panel.py", "pages/patient.py"])
def test_empty_state_points_to_home(page):
    at = fresh()
    at.switch_page(page).run()
    assert not at.exception
    assert any("No panel loaded yet" in i.value for i in at.info)


def test_panel_with_the_sample(loaded):
    at = loaded
    at.switch_page("pages/panel.py").run()
    assert not at.exception
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Patients"] == "36" and metrics["Overdue for bloods"] == "1"
    table = at.dataframe[0].value
    assert table.iloc[0]["Rank"] == 1 and "Needs attention" in table.columns
    assert not any(c.startswith("_") for c in table.columns)


def test_panel_filters(loaded):
    at = loaded
    at.switch_page("pages/panel.py").run()
    at.toggle(key="panel_overdue").set_value(True).run()
    assert list(at.dataframe[0].value["Patient"]) == ["SLE-003"]
    at.toggle(key="panel_overdue").set_value(False).run()
    at.text_input(key="panel_search").input("RA-0").run()
    assert set(at.dataframe[0].value["Patient"]) == {f"RA-{i:03d}" for i in range(1, 12)}
    at.text_input(key="panel_search").input("").run()


def test_patient_opens_on_the_most_urgent(loaded):
    at = loaded
    at.session_state["selected_patient"] = None
    at.switch_page("pages/patient.py").run()
    assert not at.exception
    most_urgent = at.session_state["_review_cache"][2].summary_df()["patient_id"].iloc[0]
    assert at.selectbox(key="patient_picker").value == most_urgent
    spec = json.loads(at.get("plotly_chart")[0].proto.spec)
    assert any(a.get("text") == "Doses" for a in spec["layout"]["annotations"])


def test_patient_selected_elsewhere_is_shown(loaded):
    at = loaded
    at.session_state["selected_patient"] = "SLE-017"
    at.switch_page("pages/patient.py").run()
    assert not at.exception
    assert at.selectbox(key="patient_picker").value == "SLE-017"
    flags = at.dataframe[0].value
    assert {"Date", "Analyte", "Value", "As reported", "CTCAE", "Rule", "Source", "Doses then"} <= set(flags.columns)
    assert (flags["Analyte"] == "Neutrophils").any()


def test_setting_a_baseline_quiets_a_duffy_null_patient(loaded):
    at = loaded
    at.session_state["selected_patient"] = "SLE-018"
    at.switch_page("pages/patient.py").run()
    before = at.session_state["_review_cache"][2].for_patient("SLE-018").summary_df().iloc[0]
    assert before["urgency"] == "action"
    at.number_input[0].set_value(1.1)
    at.text_input(key="baseline_by").input("Dr Test")
    at.button[-1].click().run()
    assert not at.exception
    after = at.session_state["_review_cache"][2].for_patient("SLE-018").summary_df().iloc[0]
    assert after["urgency"] in ("", "info", "caution")
    assert len(at.session_state["dataset"].baselines) == 1
