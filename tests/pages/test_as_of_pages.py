"""Issue 15 item 2 in the app (AppTest): results after the as-of date are counted and
listed on the Panel and Patient pages; shifted research dates open on the last result."""

from __future__ import annotations

import datetime as dt

import pytest
from streamlit.testing.v1 import AppTest

from tests.support import FIXTURES, ROOT, shown_review

APP = str(ROOT / "streamlit_app.py")
MIMIC = (
    "D_LABITEMS_cbc.csv",
    "LABEVENTS_cbc_3admissions.csv",
    "PRESCRIPTIONS_immunosuppressants.csv",
    "PATIENTS_immunosuppressed.csv",
)


def fresh() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    return at


@pytest.fixture(scope="module")
def sample() -> AppTest:
    at = fresh()
    at.button(key="load_sample").click().run()
    assert not at.exception
    return at


def texts(at: AppTest) -> str:
    parts = [m.value for m in at.markdown] + [c.value for c in at.caption]
    parts += [w.value for w in at.warning] + [i.value for i in at.info]
    return "\n".join(str(p) for p in parts)


def test_the_sample_panel_says_why_it_is_reviewed_as_of_its_extract_date(sample):
    at = sample
    at.switch_page("pages/panel.py").run()
    assert not at.exception
    assert at.session_state["as_of"] == dt.date(2026, 11, 16)
    assert "the extract date of Sample panel" in texts(at)
    assert not any("after the as-of date" in w.value for w in at.warning)


def test_results_after_an_earlier_as_of_date_are_listed_on_the_panel_and_the_patient(sample):
    at = sample
    at.session_state["as_of"] = dt.date(2026, 10, 1)
    at.session_state["as_of_input"] = dt.date(2026, 10, 1)
    at.switch_page("pages/panel.py").run()
    assert not at.exception
    warning = next(w.value for w in at.warning if "after the as-of date" in w.value)
    assert "01 Oct 2026" in warning and "not in this review" in warning
    table = at.dataframe[0].value
    assert "Results after as-of" in table.columns
    later = shown_review(at).after_as_of_df()
    assert len(later) and (later["collected_at"] >= "2026-10-02").all()
    assert "SLE-025" in set(later["patient_id"])  # its falls of 21 Aug and 10 Nov 2026
    at.session_state["selected_patient"] = "SLE-025"
    at.switch_page("pages/patient.py").run()
    assert not at.exception
    assert any("after the as-of date" in w.value for w in at.warning)
    at.session_state["as_of"] = dt.date(2026, 11, 16)
    at.session_state["as_of_input"] = dt.date(2026, 11, 16)


def test_shifted_research_dates_open_on_the_last_result():
    at = fresh()
    files = [(n, (FIXTURES / "mimic3" / n).read_bytes(), "text/csv") for n in MIMIC]
    at.file_uploader(key="upload_files").set_value(files)
    at.run()
    assert not at.exception
    as_of = at.session_state["as_of"]
    assert as_of.year > 2100
    labs = at.session_state["dataset"].labs
    assert as_of == labs["collected_at"].max().date()
    at.switch_page("pages/panel.py").run()
    assert not at.exception
    assert "the date of the last result" in texts(at)
    assert shown_review(at).flags.num_rows > 0
