"""A monitored drug no longer in force but still recorded by the review (within its window
after the last dose, rules.toml [recorded_after_last_dose]) is shown where the doses in
force are: the Panel's "Doses now", the Patient page's "Doses now" tab, and the Rules page
says how long each drug counts (H482).

Hand-worked case: rituximab 1000 mg IV, one infusion on 2026-06-01 (row 2026-06-01 to
2026-06-02), as of 2026-09-01: 91 days after its end, within rituximab's 183 days, so
the review still records it; no dose is in force.  Before this change the Panel's
"Doses now" was blank for that patient while its drug filter found them under rituximab.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
from streamlit.testing.v1 import AppTest

from dashboard.panel import doses_now_texts
from dashboard.rules.views import recorded_windows_frame
from tests.rules.builders import dose, lab, patient, run
from tests.support import ROOT

AS_OF = "2026-09-01"
RTX = [dose("P1", "rituximab", "2026-06-01", "2026-06-02", amount=1000, frequency="once", route="IV")]


def test_the_summary_names_a_drug_recorded_after_its_last_dose():
    rv = run([lab("P1", "2026-08-20", "wbc", 6.0)], RTX, [patient("P1")], as_of=AS_OF)
    s = rv.summary_df().set_index("patient_id").loc["P1"]
    assert s["current_doses"] == ""
    assert s["recorded_drugs"] == "rituximab"
    assert s["recent_doses"].startswith("Rituximab 1000 mg"), s["recent_doses"]
    assert s["recent_doses"].endswith("ended 2026-06-02"), s["recent_doses"]


def test_the_summary_leaves_recent_doses_empty_once_the_window_is_past():
    # 2027-01-01 is 213 days after 2026-06-02: beyond 183
    rv = run([lab("P1", "2026-12-20", "wbc", 6.0)], RTX, [patient("P1")], as_of="2027-01-01")
    s = rv.summary_df().set_index("patient_id").loc["P1"]
    assert (s["recorded_drugs"], s["recent_doses"]) == ("", "")


def test_doses_now_names_the_recently_ended_after_those_in_force():
    current = pd.Series(["Methotrexate 15 mg/week", "", "", None])
    recent = pd.Series(["Rituximab 1000 mg once, ended 2026-06-02", "Rituximab 1000 mg once, ended 2026-06-02", "", ""])
    assert doses_now_texts(current, recent) == [
        "Methotrexate 15 mg/week; recently ended: Rituximab 1000 mg once, ended 2026-06-02",
        "recently ended: Rituximab 1000 mg once, ended 2026-06-02",
        "",
        "",
    ]


def test_the_windows_table_lists_each_drug_and_the_default():
    t = recorded_windows_frame().set_index("Drug")
    assert t.loc["Rituximab", "Days after the last dose"] == 183
    assert t.loc["Leflunomide", "Days after the last dose"] == 730
    assert t.loc["Any other monitored drug", "Days after the last dose"] == 42
    assert (t["Basis"].str.len() > 20).all()


def test_the_patient_page_says_a_recently_ended_drug_under_doses_now():
    at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=60)
    at.run()
    labs = b"MRN,Date,Test,Value,Unit\nR1,2026-08-20,WBC,6.0,10^9/L\n"
    doses = b"patient,drug,dose,unit,frequency,route,start,end\nR1,rituximab,1000,mg,once,IV,2026-06-01,2026-06-02\n"
    at.file_uploader(key="upload_files").set_value([("l.csv", labs, "text/csv"), ("d.csv", doses, "text/csv")])
    at.run()
    at.session_state["as_of"] = dt.date(2026, 9, 1)
    at.session_state["as_of_input"] = dt.date(2026, 9, 1)
    at.run()
    at.switch_page("pages/patient.py").run()
    assert not at.exception
    said = [i.value for i in at.info if "Recently ended, still recorded by the review" in i.value]
    assert len(said) == 1 and "Rituximab 1000 mg" in said[0] and "ended 2026-06-02" in said[0], said


def test_the_patient_pdf_names_a_recently_ended_drug_under_the_current_doses():
    import io

    from pypdf import PdfReader

    from dashboard import summary_export as sx
    from dashboard.dataset import Dataset
    from dashboard.reviews import empty_log
    from tests.support import csv_import

    result = csv_import(
        "R1,2026-08-20,WBC,6.0,10^9/L\n",
        "R1,rituximab,1000,mg,once,IV,2026-06-01,2026-06-02\n",
        as_of=dt.date(2026, 9, 1),
    )
    ds = Dataset.from_import(result, "t")
    s = sx.patient_summary(
        ds.labs,
        ds.doses,
        ds.patients,
        ds.baselines,
        empty_log(),
        "R1",
        dt.date(2026, 9, 1),
        figure=False,
    )
    assert s.recent_doses.startswith("Rituximab 1000 mg") and s.recent_doses.endswith("ended 2026-06-02")
    text = " ".join(" ".join(p.extract_text() for p in PdfReader(io.BytesIO(sx.patient_summary_pdf(s))).pages).split())
    assert "Recently ended, still recorded by the review: Rituximab 1000 mg" in text, text[:2000]
