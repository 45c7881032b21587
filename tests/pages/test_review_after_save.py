"""H475: a review recorded on a session's panel is recorded against what the form showed.

The workspace already holds a result of SLE-018 that the sample panel (this session) does
not.  Recording the review saves the panel into the workspace first; then:

- another neutrophil value of the reviewed draw (0.4 at 16 Oct 2026 07:53, beside the
  sample's 1.18): the workspace's flag is about 0.4 (the more severe value), which the
  form never showed, so nothing is recorded and the warning says why;
- an older neutrophil result (4.0 on 10 Jan 2020): the flags are those the form showed,
  so the review is recorded and sticks, and the notice says the workspace held 1 earlier
  result of the test the form did not show.
"""

from __future__ import annotations

import pytest

from dashboard.ingest import Source
from dashboard.store import Workspace
from tests.pages.test_review_flow import PID, fill, form_boxes, patient_page, submit


@pytest.fixture
def tmp_workspace(tmp_path, monkeypatch):
    monkeypatch.setenv("DASHBOARD_WORKSPACE", str(tmp_path / "ws"))
    return tmp_path / "ws"


HEAD = "MRN,Collection Date,Component,Result,Units,Reference Range,Status\n"


def _hold(path, row: str) -> None:
    Workspace(path).import_sources([Source("old.csv", (HEAD + row).encode())], by="Dr B")


def test_a_flag_the_workspace_judges_on_another_value_is_not_recorded(tmp_workspace):
    _hold(tmp_workspace, f"{PID},2026-10-16 07:53,Neutrophils,0.4,10^9/L,2.0-7.5,Final\n")
    at = patient_page()
    fill(at, "continue")
    submit(at)
    warned = " ".join(w.value for w in at.warning)
    assert "Review NOT recorded" in warned
    assert "the workspace holds 0.4, the form showed 1.18" in warned
    assert Workspace(tmp_workspace).info()["reviews"] == 0
    assert all(b.value for b in form_boxes(at))  # the form again, on the workspace's flags, nothing reviewed


def test_an_older_result_the_session_did_not_show_is_said_and_the_review_sticks(tmp_workspace):
    _hold(tmp_workspace, f"{PID},2020-01-10 09:00,Neutrophils,4.0,10^9/L,2.0-7.5,Final\n")
    at = patient_page()
    n = len(form_boxes(at))
    fill(at, "continue")
    submit(at)
    said = " ".join(s.value for s in at.success)
    assert f"Review recorded: {n} flags of {PID}" in said
    assert "Neutrophils of 16 Oct 2026: the workspace holds 1 earlier result of this test the form did not show" in said
    assert Workspace(tmp_workspace).info()["reviews"] == n
    assert [b.value for b in form_boxes(at)] == [False] * n  # every flag reviewed: none open again
