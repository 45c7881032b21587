"""The Patient page of a patient whose drug was withheld (probe 16 F1, H320).

SMITH (1234), azathioprine 150 mg daily from 1 Jun 2026, neutrophils 1.3 on 2 Nov (BSR:
< 1.6; CTCAE grade 2, < 1.5).  Dr A records "withhold" on 6 Nov.  While the dose record
still shows azathioprine in force, the page asks for the change to be recorded; once the
pharmacy's export ends the row on 6 Nov, no dose is in force on 13 Nov: the decision and
the dose record agree, and the page opens saying nothing about it.
"""

from __future__ import annotations

import datetime as dt

import pytest
from streamlit.testing.v1 import AppTest

from dashboard.ingest import Source
from dashboard.reviews import results_of, reviews_for
from dashboard.store import Workspace
from dashboard.store.panel import open_panel
from tests.store.helpers import Clock
from tests.support import workspace_patient_page

DOSES = "patient,drug,dose,unit,frequency,route,start,end\n"
LABS = (
    "MRN,Collection Date,Component,Result,Units,Reference Range,Status\n"
    "1234,2026-10-01 09:00,Neutrophils,2.2,10^9/L,2.0-7.5,Final\n"
    "1234,2026-11-02 09:00,Neutrophils,1.3,10^9/L,2.0-7.5,Final\n"
)
ASKED = "record it in the dose record"


@pytest.fixture
def ws(tmp_path, monkeypatch) -> Workspace:
    monkeypatch.setenv("DASHBOARD_WORKSPACE", str(tmp_path / "ws"))
    w = Workspace(tmp_path / "ws", timeout=20, clock=Clock(dt.datetime(2026, 11, 6, 9, 0)))
    w.import_sources(
        [Source("doses.csv", (DOSES + "1234,azathioprine,150,mg,daily,oral,2026-06-01,\n").encode())], by="t"
    )
    w.import_sources([Source("labs.csv", LABS.encode())], by="t")
    flags = open_panel(w).open_flags(dt.date(2026, 11, 6))
    assert len(flags)
    w.add_reviews(reviews_for("1234", list(flags["flag_key"]), "withhold", "AZA held", results_of(flags)), by="Dr A")
    return w


def patient_page() -> AppTest:
    at = workspace_patient_page("1234", dt.date(2026, 11, 13))
    assert not at.exception, at.exception
    return at


def test_the_page_asks_for_a_withhold_the_dose_record_does_not_show_and_not_once_it_does(ws):
    at = patient_page()
    [said] = [w.value for w in at.warning if ASKED in w.value]
    assert "withhold" in said and "06 Nov 2026" in said and "Azathioprine since 01 Jun 2026" in said
    # the pharmacy's export of week 2: the same dose, ended on the day of the withhold
    ended = DOSES + "1234,azathioprine,150,mg,daily,oral,2026-06-01,2026-11-06\n"
    ws.import_sources([Source("doses-w2.csv", ended.encode())], by="t")
    at = patient_page()  # once: KeyError('start'), "This app has encountered an error"
    assert not [w.value for w in at.warning if ASKED in w.value]
    assert at.title[0].value == "Patient"
