"""Issue 18: reviews that stick (AppTest).

The Patient page acknowledges a patient's open flags in one form; the Panel, the Patient
page and the exports read the same review state on every rerun and after a page switch;
"Hide acknowledged" hides, "Unreviewed first" orders; a later result reopens the patient.

SLE-018 of the sample panel (as of its extract date) has three open flags, worked out from
the thresholds: neutrophils 1.18 (CTCAE grade 2, < 1.5; BSR 2017 < 1.6) and WBC 3.8 (CTCAE
grade 1, < the lab's LLN 4.0).
"""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from dashboard.ingest import Source
from dashboard.store import Workspace
from tests.support import ROOT

APP = str(ROOT / "streamlit_app.py")
PID = "SLE-018"


@pytest.fixture(autouse=True)
def tmp_workspace(tmp_path, monkeypatch):
    monkeypatch.setenv("DASHBOARD_WORKSPACE", str(tmp_path / "ws"))
    return tmp_path / "ws"


def patient_page(pid: str = PID) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    at.button(key="load_sample").click().run()
    at.session_state["selected_patient"] = pid
    at.switch_page("pages/patient.py").run()
    assert not at.exception, at.exception
    return at


def form_boxes(at: AppTest):
    return [c for c in at.checkbox if c.key and c.key.startswith("ack::") and c.key.count("|") == 3]


def fill(at: AppTest, action: str, note: str = "", name: str | None = "Dr Ada"):
    gen = at.session_state.get("_ack_generation", 0)
    at.selectbox(key=f"ack::{gen}::action").set_value(action)
    at.text_input(key=f"ack::{gen}::note").set_value(note)
    if name is not None:
        at.text_input(key=f"ack::{gen}::by").set_value(name)


def submit(at: AppTest) -> AppTest:
    [b] = [b for b in at.button if b.label.endswith("record the review") or b.label == "Record review"]
    b.click().run()
    assert not at.exception, at.exception
    return at


def panel_row(at: AppTest, pid: str = PID):
    at.switch_page("pages/panel.py").run()
    assert not at.exception, at.exception
    table = at.dataframe[0].value
    return table, table.index[table["Patient"] == pid]


def test_one_form_names_each_open_flag_in_words():
    at = patient_page()
    boxes = form_boxes(at)
    assert len(boxes) == 3 and all(b.value for b in boxes)  # nothing reviewed yet: all ticked
    labels = " | ".join(b.label for b in boxes).replace("\\", "")  # (labels are markdown-escaped)
    # the guideline flag in words: value, limit and the advice (its wording is the profile's)
    assert "Neutrophils 1.18 ×10⁹/L < 1.6: " in labels and "discuss with the specialist team" in labels
    assert "CTCAE grade 2" in labels and "WBC 3.8" in labels and "16 Oct 2026" in labels
    assert "bsr.neutrophils_low" not in labels  # words, not rule ids
    # the panel is not in the workspace yet: the form says where it will be kept
    assert any("Reviews are kept in the workspace on this machine" in c.value for c in at.caption)


def test_a_review_sticks_across_reruns_pages_and_a_new_session(tmp_workspace):
    at = patient_page()
    fill(at, "repeat test", "repeat FBC in 2 weeks")
    submit(at)
    assert any("Review recorded: 3 flags of SLE-018" in s.value for s in at.success)
    ws = Workspace(tmp_workspace)
    assert ws.info()["reviews"] == 3 and ws.info()["patients"] == 36  # saved with the panel, same click
    assert {r["reviewer"] for r in ws.reviews(PID).to_pylist()} == {"Dr Ada"}
    # each entry records the value of the result it was about (an amended result is another finding)
    assert all(r["value"] is not None for r in ws.reviews(PID).to_pylist())

    # the Panel reads the same state on every rerun (the bug: only on the first render)
    for _ in range(3):
        table, idx = panel_row(at)
        assert table.loc[idx[0], "Unreviewed flags"] == 0
        at.run()
    # unreviewed first: SLE-018 (rank 1 by urgency) now comes after every patient still to review
    to_review = table.index[table["Unreviewed flags"] > 0]
    assert idx[0] > to_review.max()
    at.toggle(key="panel_hide_ack").set_value(True).run()
    assert PID not in set(at.dataframe[0].value["Patient"])
    # back on the Patient page, the form shows the reviews (unticked) and the tab says none waits
    at.switch_page("pages/patient.py").run()
    assert [b.value for b in form_boxes(at)] == [False, False, False]
    assert all("reviewed: repeat test by Dr Ada" in b.label for b in form_boxes(at))
    at.switch_page("pages/panel.py").run()
    assert at.toggle(key="panel_hide_ack").value  # the filter survived the page switch
    assert PID not in set(at.dataframe[0].value["Patient"])

    # a new session (a reload) that opens the workspace panel sees the same reviews
    again = AppTest.from_file(APP, default_timeout=120)
    again.query_params["panel"] = "workspace"
    again.run()
    again.switch_page("pages/panel.py").run()
    table = again.dataframe[0].value
    assert table.loc[table["Patient"] == PID, "Unreviewed flags"].iloc[0] == 0


def test_the_name_is_asked_once_and_flags_can_be_acknowledged_one_by_one(tmp_workspace):
    at = patient_page()
    boxes = form_boxes(at)
    for b in boxes[1:]:
        b.uncheck()
    fill(at, "continue")
    submit(at)
    assert Workspace(tmp_workspace).info()["reviews"] == 1
    assert [b.value for b in form_boxes(at)] == [True, True, False]  # the two left first, still to review
    gen = at.session_state["_ack_generation"]
    assert f"ack::{gen}::by" not in [t.key for t in at.text_input]  # asked once per session
    assert any("Recorded as **Dr Ada**" in c.value for c in at.caption)
    fill(at, "continue", name=None)
    submit(at)
    assert Workspace(tmp_workspace).info()["reviews"] == 3


def test_nothing_is_recorded_without_an_action_or_a_name(tmp_workspace):
    at = patient_page()
    fill(at, "reduce", "", name="")
    gen = at.session_state.get("_ack_generation", 0)
    at.selectbox(key=f"ack::{gen}::action").set_value(None)
    submit(at)
    assert any("choose an action" in e.value and "enter your name" in e.value for e in at.error)
    assert not tmp_workspace.exists()  # not even the panel was saved
    fill(at, "reduce", "")  # "reduce" needs a note saying what was done
    submit(at)
    assert any("add a note" in e.value for e in at.error)
    assert Workspace(tmp_workspace).info()["reviews"] == 0


def test_a_new_result_after_a_review_reopens_the_patient(tmp_workspace):
    at = patient_page()
    fill(at, "repeat test", "repeat FBC")
    submit(at)
    table, idx = panel_row(at)
    assert table.loc[idx[0], "Unreviewed flags"] == 0
    # the repeat FBC comes in, still low: a new result, a new flag nobody has reviewed
    labs = b"patient_id,collected_at,analyte,value,unit\nSLE-018,2026-11-02 08:00,Neutrophils,1.1,10^9/L\n"
    Workspace(tmp_workspace).import_sources([Source("repeat.csv", labs)], by="lab feed")
    at.switch_page("pages/workspace.py").run()
    [reload] = [b for b in at.button if b.label == "Reload the workspace panel"]
    reload.click().run()
    table, idx = panel_row(at)
    assert table.loc[idx[0], "Unreviewed flags"] >= 1
    assert idx[0] < (table["Unreviewed flags"] == 0).idxmax() or table.loc[idx[0], "Unreviewed flags"] > 0
    at.toggle(key="panel_hide_ack").set_value(True).run()
    assert PID in set(at.dataframe[0].value["Patient"])


def test_one_as_of_date_for_every_page_and_export(tmp_workspace):
    at = patient_page()
    extract = at.session_state["as_of"]
    fill(at, "continue")
    submit(at)
    fresh = AppTest.from_file(APP, default_timeout=120)
    fresh.run()
    fresh.switch_page("pages/workspace.py").run()
    [open_] = [b for b in fresh.button if b.label == "Open workspace panel"]
    open_.click().run()
    # the sidebar shows the date every page judges on (it once said today while the Panel used the extract's)
    # (AppTest does not draw the sidebar once a panel is loaded: the date the browser shows on
    # every page is checked by tests/browser/test_review_round_trip.py)
    assert fresh.session_state["as_of"] == extract
    for page in ("pages/panel.py", "pages/patient.py", "pages/workspace.py", "pages/dosing.py", "pages/rules.py"):
        fresh.switch_page(page).run()
        assert not fresh.exception
        assert fresh.session_state["as_of"] == extract
