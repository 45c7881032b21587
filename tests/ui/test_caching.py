"""The app's caches key on version tokens (dashboard/ui/state.py, dashboard/ui/caching.py):
a new dataset, an edited one, another as-of date or profile is reviewed again; the same
ones are not.  Never ``id()``: a token is tied to the live object it was minted for."""

from __future__ import annotations

import datetime as dt

import pytest
from streamlit.testing.v1 import AppTest

from tests.rules.builders import frame, lab, patient


def _script() -> None:
    import streamlit as st

    from dashboard import ui
    from dashboard.ui.caching import picker_labels

    ui.init_state()
    rv = ui.current_review()
    st.session_state["seen_review"] = rv
    st.session_state["seen_version"] = ui.dataset_version()
    st.session_state["seen_panel"] = ui.current_panel()
    st.session_state["seen_labels"] = picker_labels(ui.get_dataset()) if ui.get_dataset() else {}


def _dataset(value: float = 0.4):
    from dashboard.dataset import Dataset

    labs = [lab("P1", "2026-10-01", "neutrophils", value), lab("P2", "2026-10-01", "wbc", 6.0)]
    return Dataset(frame("labs", labs), frame("doses", []), frame("patients", [patient("P1"), patient("P2")]))


@pytest.fixture
def at() -> AppTest:
    app = AppTest.from_function(_script, default_timeout=60)
    app.session_state["as_of"] = dt.date(2026, 11, 1)
    return app


def _flags(at: AppTest) -> int:
    return at.session_state["seen_review"].flags.num_rows


def test_the_same_dataset_keeps_its_version_and_review(at):
    at.session_state["dataset"] = _dataset()
    at.run()
    assert not at.exception
    first, version = at.session_state["seen_review"], at.session_state["seen_version"]
    assert _flags(at) > 0 and version not in ("", "none")
    at.run()
    assert at.session_state["seen_version"] == version
    assert at.session_state["seen_review"] is first  # from the cache, not computed again


def test_a_new_dataset_object_gets_a_new_version_and_review(at):
    at.session_state["dataset"] = _dataset(0.4)
    at.run()
    version, flagged = at.session_state["seen_version"], _flags(at)
    at.session_state["dataset"] = _dataset(6.0)  # stored directly, as a test or a page may do
    at.run()
    assert at.session_state["seen_version"] != version
    assert _flags(at) < flagged  # a normal neutrophil count: the grade-4 flag is gone


def test_an_edited_copy_is_reviewed_again(at):
    ds = _dataset(1.2)
    at.session_state["dataset"] = ds
    at.run()
    before = at.session_state["seen_review"].summary_df().set_index("patient_id").loc["P1", "urgency"]
    at.session_state["dataset"] = ds.with_baseline("P1", "neutrophils", 1.1, "Duffy-null", "Dr Test", dt.datetime.now())
    at.run()
    after = at.session_state["seen_review"].summary_df().set_index("patient_id").loc["P1", "urgency"]
    assert before == "action" and after != "action"


def test_another_as_of_date_or_profile_is_reviewed_again(at):
    at.session_state["dataset"] = _dataset()
    at.run()
    first = at.session_state["seen_review"]
    at.session_state["as_of"] = dt.date(2026, 11, 2)
    at.run()
    assert at.session_state["seen_review"] is not first
    assert at.session_state["seen_review"].as_of == dt.date(2026, 11, 2)
    at.session_state["rules_profile"] = "CTCAE only"
    at.run()
    assert at.session_state["seen_review"].profile.name == "CTCAE only"


def test_the_panel_table_and_labels_follow_the_dataset(at):
    at.session_state["dataset"] = _dataset()
    at.run()
    assert set(at.session_state["seen_panel"]["Patient"]) == {"P1", "P2"}
    assert set(at.session_state["seen_labels"]) == {"P1", "P2"}
    from dashboard.dataset import Dataset

    only = _dataset()
    one = Dataset(
        only.labs[only.labs["patient_id"] == "P2"], only.doses, only.patients[only.patients["patient_id"] == "P2"]
    )
    at.session_state["dataset"] = one
    at.run()
    assert set(at.session_state["seen_panel"]["Patient"]) == {"P2"}
    assert set(at.session_state["seen_labels"]) == {"P2"}


def test_no_dataset_no_review(at):
    at.run()
    assert not at.exception
    assert at.session_state["seen_review"] is None and at.session_state["seen_version"] == "none"


def test_one_patients_frames_are_the_reviews_own():
    """The Patient page reads one patient's review from PatientReview (converted once per
    patient): every frame, the open flags included, is what Review.for_patient gives."""
    import pandas as pd

    from dashboard.dataset import Dataset
    from dashboard.rules import review_dataset
    from dashboard.ui.caching import PatientReview

    labs = [
        lab("P1", "2026-08-01", "neutrophils", 0.8),
        lab("P1", "2026-09-01", "neutrophils", 3.0),
        lab("P1", "2026-10-01", "neutrophils", 0.4),
        lab("P2", "2026-10-01", "wbc", 6.0),
        lab("P1", "2026-11-20", "platelets", 40.0),  # after the as-of date
    ]
    ds = Dataset(frame("labs", labs), frame("doses", []), frame("patients", [patient("P1"), patient("P2")]))
    rv = review_dataset(ds, None, dt.date(2026, 11, 1))
    for pid in ("P1", "P2", "nobody"):
        one = rv.for_patient(pid)
        mine = PatientReview(
            one.flags_df(), one.intervals_df(), one.schedule_df(), one.dose_checks_df(), one.after_as_of_df()
        )
        pd.testing.assert_frame_equal(mine.open_flags, one.open_flags_df())
        assert pid != "P1" or (
            len(mine.open_flags) and len(mine.flags) > len(mine.open_flags) and len(mine.after_as_of)
        )
