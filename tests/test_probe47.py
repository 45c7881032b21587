"""Probe 47: the Panel, the Patient page and the exports, read by a rheumatologist
checking that nothing is hidden.

Ordinary clinic shapes: a patient between rituximab infusions, a patient with many open
flags of whom the worst is the oldest, an analyte flagged only after the as-of date moved
on.  Each test was written as a strict xfail failing for the reason its finding names;
the expectations are worked by hand from CTCAE v5.0 and the BSR limits, never copied from
the output.
"""

from __future__ import annotations

import datetime as dt
import io
import json

import pytest
from streamlit.testing.v1 import AppTest

from dashboard import summary_export as sx
from dashboard.dataset import Dataset
from dashboard.reviews import empty_log
from tests.support import ROOT, csv_import

AS_OF = dt.date(2026, 11, 25)


def _dataset(labs: str, doses: str, today: dt.date = AS_OF) -> Dataset:
    return Dataset.from_import(csv_import(labs, doses, as_of=today), "t", today)


# --------------------------------------------------------------------------- F1


def test_f1_the_panel_export_names_a_drug_recorded_after_its_last_dose():
    """Rituximab 1000 mg on 20 Aug 2026 and a neutrophil count of 0.9 on 1 Oct: on 25 Nov
    the review still records rituximab (its window after the last dose), the Panel's
    "Doses now" says "recently ended: Rituximab ...", and the flags' dose context names it.
    The panel export's "Current drugs" must not read as on nothing (H482 for the Panel and
    the PDF)."""
    ds = _dataset(
        "R1,2026-10-01,Neutrophils,0.9,10^9/L\nR1,2026-10-01,WBC,3.0,10^9/L\n",
        "R1,rituximab,1000,mg,once,iv,2026-08-20,\n",
    )
    frame = sx.panel_frame(ds.labs, ds.doses, ds.patients, empty_log(), AS_OF, ds.baselines, None, ds.intervals)
    drugs = frame.set_index("Patient").loc["R1", "Current drugs"]
    assert "Rituximab" in drugs and "recently ended" in drugs


RITUXIMAB_LABS = "R1,2026-10-01,Neutrophils,0.9,10^9/L\nR1,2026-10-01,WBC,3.0,10^9/L\n"
RITUXIMAB_DOSE = "R1,rituximab,1000,mg,once,iv,2026-08-20,\n"


def test_f4_the_cli_review_names_a_drug_recorded_after_its_last_dose():
    """The same patient as F1 in the command line's review: its text block and its JSON
    record must name rituximab as recently ended, never "no current doses" alone."""
    from dashboard.rules import review
    from dashboard.rules.output import patients_json, review_text

    r = csv_import(RITUXIMAB_LABS, RITUXIMAB_DOSE, as_of=AS_OF)
    rv = review(r.labs, r.doses, r.patients, None, None, AS_OF)
    [head] = [line for line in review_text(rv).splitlines() if line.startswith("== R1")]
    assert "Rituximab" in head and "recently ended" in head
    [record] = patients_json(rv)
    assert "Rituximab" in record["recent_doses"]


# --------------------------------------------------------------------------- F5


def test_f5_the_panel_export_gives_the_latest_result_as_reported_beside_a_converted_one():
    """Neutrophils reported as 30 % beside a WBC of 4.0 (a count of 1.2 x10^9/L made by the
    import) and Hb reported as 9.1 g/dL (91 g/L): the panel export's latest-result columns
    hold 1.2 and 91; the value as the lab wrote it must be beside them, as in the patient
    CSV (H487).  A result written as shown (WBC 4.0 x10^9/L) needs nothing beside it."""
    ds = _dataset(
        "D1,2026-11-01,WBC,4.0,10^9/L\nD1,2026-11-01,Neutrophils,30,%\nD1,2026-11-01,Hb,9.1,g/dL\n",
        "D1,methotrexate,15,mg,weekly,oral,2026-01-01,\n",
    )
    frame = sx.panel_frame(ds.labs, ds.doses, ds.patients, empty_log(), AS_OF, ds.baselines, None, ds.intervals)
    row = frame.set_index("Patient").loc["D1"]
    assert row["Neutrophils (10^9/L)"] == 1.2 and row["Hb (g/L)"] == 91
    assert row["Neutrophils as reported"] == "30 %" and row["Hb as reported"] == "9.1 g/dL"
    assert "WBC as reported" not in frame.columns


# --------------------------------------------------------------------------- F3


def test_f3_the_pdf_keeps_the_most_severe_open_flag_when_it_cuts_the_list():
    """Neutrophils 0.4 on 1 Oct (CTCAE grade 4, < 0.5: urgent; BSR < 1.6: action), no later
    count; on 20 Nov eleven other analytes out of range (14 more open flags, none urgent).
    The PDF prints 10 open flags: the grade-4 neutropenia must be among them, and the
    note of those left out must name an export that holds them (the patient's own Excel
    export has results, doses and reviews, no flags)."""
    from pypdf import PdfReader

    labs = (
        "F1,2026-10-01,Neutrophils,0.4,10^9/L\n"
        "F1,2026-11-20,WBC,2.8,10^9/L\n"
        "F1,2026-11-20,Lymphocytes,0.5,10^9/L\n"
        "F1,2026-11-20,Platelets,120,10^9/L\n"
        "F1,2026-11-20,ALT,130,U/L\n"
        "F1,2026-11-20,AST,130,U/L\n"
        "F1,2026-11-20,MCV,110,fL\n"
        "F1,2026-11-20,Hb,95,g/L\n"
        "F1,2026-11-20,Albumin,28,g/L\n"
        "F1,2026-11-20,Eosinophils,0.9,10^9/L\n"
        "F1,2026-11-20,Creatinine,160,umol/L\n"
        "F1,2026-11-20,eGFR,28,mL/min/1.73m2\n"
    )
    ds = _dataset(labs, "F1,methotrexate,15,mg,weekly,oral,2026-01-01,\n")
    s = sx.patient_summary(ds.labs, ds.doses, ds.patients, ds.baselines, empty_log(), "F1", AS_OF, "t", figure=False)
    assert len(s.flags) > 10  # the list is cut
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(sx.patient_summary_pdf(s))).pages)
    flags = text[text.index("Open flags (rule, source and review)") : text.index("Latest results")]
    assert "Neutrophils 0.4" in flags and "grade 4" in flags
    words = " ".join(flags.split())  # the note may wrap
    assert "not shown" in words and "Flagged results" in words.split("not shown", 1)[1]


# --------------------------------------------------------------------------- F2


def test_f2_the_chart_says_an_open_flag_on_an_analyte_it_does_not_draw():
    """Methotrexate from 2 Jun 2026; creatinine 70 before it, 72 on 1 Sep, 130 on 1 Nov
    (CTCAE grade 2: > 1.5 x baseline 70 = 105).  Opened on 1 Oct the chart shows the
    blood counts (creatinine unflagged, not a default).  Moving the as-of date to 25 Nov
    opens the creatinine flag: the chart must draw creatinine or say that its open flag is
    not drawn."""
    labs = "".join(
        f"C1,{d},Creatinine,{c},umol/L\nC1,{d},Neutrophils,3.0,10^9/L\nC1,{d},WBC,6.0,10^9/L\n"
        for d, c in (("2026-06-01", 70), ("2026-09-01", 72), ("2026-11-01", 130))
    )
    ds = _dataset(labs, "C1,methotrexate,15,mg,weekly,oral,2026-06-02,\n")
    at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=180)
    at.run()
    at.session_state["dataset"] = ds
    for day in (dt.date(2026, 10, 1), AS_OF):
        at.session_state["as_of"] = day
        at.session_state["as_of_input"] = day
        at.session_state["selected_patient"] = "C1"
        at.switch_page("pages/patient.py").run()
        assert not at.exception
    spec = json.loads(at.get("plotly_chart")[0].proto.spec)
    titles = [a.get("text", "") for a in spec["layout"]["annotations"]]
    said = [e.value for k in ("warning", "info", "caption") for e in getattr(at, k)]
    assert any(t.startswith("Creatinine") for t in titles) or any(
        "Creatinine" in s and "open flag" in s and "not drawn" in s for s in said
    )


def test_f2_nothing_is_said_while_every_flagged_test_is_drawn():
    """The chart's default choice draws every test with an open flag: no words then; a
    flagged test taken off the choice is named."""
    import pandas as pd

    from dashboard.ui.patient_view import default_analytes
    from dashboard.views import flagged_not_drawn

    flags = pd.DataFrame({"analyte": ["creatinine", "neutrophils", "alt"], "status": ["open", "open", "closed"]})
    present = ["wbc", "neutrophils", "alt", "creatinine"]
    assert flagged_not_drawn(flags, default_analytes(present, flags)) == ""
    said = flagged_not_drawn(flags, ["wbc", "alt"])
    assert "Neutrophils" in said and "Creatinine" in said and "not drawn" in said
    assert "ALT" not in said  # a closed flag is not an open one


# --------------------------------------------------------------------------- F6

NO_SCHEDULE_DOSES = (
    "R1,rituximab,1000,mg,once,iv,2026-08-20,\n"
    "H1,hydroxychloroquine,200,mg,daily,oral,2026-01-01,\n"
    "S1,prednisolone,20,mg,daily,oral,2026-10-01,\n"
)


def _tab_texts(at: AppTest, label: str) -> str:
    [tab] = [t for t in at.tabs if t.label.startswith(label)]
    return "\n".join(str(getattr(e, "value", "")) for e in tab)


@pytest.mark.parametrize(
    ("pid", "words"),
    [("R1", ("Rituximab", "IgG")), ("H1", ("Hydroxychloroquine", "retinal")), ("S1", ("Prednisolone", "glucose"))],
)
def test_f6_blood_tests_due_says_what_a_drug_without_a_blood_test_schedule_asks(pid, words):
    """Rituximab three months after an infusion (recorded by the review), hydroxychloroquine
    and prednisolone: none has a blood-test schedule here (schedule.toml kind "none"), but
    each has its own monitoring sentence (IgG before each cycle, retinal screening,
    glucose, blood pressure and bone health).  The "Blood tests due" tab must say it, never
    an empty table that reads as nothing to do."""
    ds = _dataset(RITUXIMAB_LABS, NO_SCHEDULE_DOSES)
    at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=180)
    at.run()
    at.session_state["dataset"] = ds
    at.session_state["as_of"] = AS_OF
    at.session_state["as_of_input"] = AS_OF
    at.session_state["selected_patient"] = pid
    at.switch_page("pages/patient.py").run()
    assert not at.exception
    said = _tab_texts(at, "Blood tests due")
    assert all(w in said for w in words), said


def test_f6_the_pdf_says_what_a_drug_without_a_blood_test_schedule_asks():
    """The patient PDF of the hydroxychloroquine patient: its "Blood tests due" section
    names the drug and the retinal screening its schedule row asks for."""
    from pypdf import PdfReader

    ds = _dataset(RITUXIMAB_LABS, NO_SCHEDULE_DOSES)
    s = sx.patient_summary(ds.labs, ds.doses, ds.patients, ds.baselines, empty_log(), "H1", AS_OF, "t", figure=False)
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(sx.patient_summary_pdf(s))).pages)
    due = " ".join(text[text.index("Blood tests due") : text.index("Open flags (rule")].split())
    assert "Hydroxychloroquine" in due and "retinal screening" in due, due


# --------------------------------------------------------------------------- F7


def test_f7_the_patient_pdf_says_the_patients_rows_rejected_at_import(tmp_path):
    """P8's two results of 1 Oct were rejected (a value "see comment", a WBC in a unit that
    is not one of WBC): the Patient page says so, in red, above everything; the PDF, which
    leaves the app, shows an empty "Latest results" and "none recorded since the course
    began", so a reader takes the bloods as never drawn.  It must say the rejected rows."""
    from pypdf import PdfReader

    from dashboard.ingest import Source
    from dashboard.store import Workspace
    from dashboard.store.panel import open_panel

    ws = Workspace(tmp_path / "ws", timeout=20, clock=lambda: dt.datetime(2026, 11, 25, 10))
    labs = "patient_id,collected_at,analyte,value,unit\nP8,2026-10-01,Neutrophils,see comment,10^9/L\n"
    labs += "P8,2026-10-01,WBC,3.0,furlongs\nP9,2026-10-01,WBC,6.0,10^9/L\n"
    doses = "patient_id,drug,dose,dose_unit,frequency,route,start,end\nP8,methotrexate,15,mg,weekly,oral,2026-01-01,\n"
    ws.import_sources([Source("labs.csv", labs.encode()), Source("doses.csv", doses.encode())], by="t")
    summary = open_panel(ws).summary("P8", AS_OF)
    text = " ".join(
        "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(sx.patient_summary_pdf(summary))).pages).split()
    )
    assert "rejected at import" in text and "labs.csv" in text and "furlongs" in text


# --------------------------------------------------------------------------- F8


def test_f8_the_panel_names_a_patient_whose_every_row_was_rejected():
    """Z1's only result (neutrophils "see comment") was rejected at import and no dose or
    patient row names Z1: Z1 is in no table of the panel.  The Panel lists Z2 and must say
    that Z1 is in the files but not on the panel, and why (the import report on Home has
    the row; a clinician scanning the Panel would never look there for a missing patient)."""
    ds = _dataset("Z1,2026-10-01,Neutrophils,see comment,10^9/L\nZ2,2026-10-01,WBC,5.0,10^9/L\n", "")
    assert ds.patient_ids == ["Z2"]
    at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=180)
    at.run()
    at.session_state["dataset"] = ds
    at.session_state["as_of"] = AS_OF
    at.session_state["as_of_input"] = AS_OF
    at.switch_page("pages/panel.py").run()
    assert not at.exception
    said = [e.value for k in ("warning", "info", "error") for e in getattr(at, k)]
    assert any("Z1" in s and "see comment" in s for s in said), said


# --------------------------------------------------------------------------- F9


def test_f9_the_pdf_timeline_says_an_open_flag_it_does_not_draw():
    """ALT 130 U/L on 20 Nov (CTCAE grade 2: > 3 x ULN 40; BSR > 100: action) beside normal
    counts: the PDF's timeline draws the five blood counts only.  Under the picture it must
    say that the ALT flag is not drawn, as the Patient page now does (F2)."""
    from pypdf import PdfReader

    labs = "".join(
        f"A1,2026-11-20,{a},{v},{u}\n"
        for a, v, u in (("WBC", 6.0, "10^9/L"), ("Neutrophils", 3.5, "10^9/L"), ("ALT", 130, "U/L"))
    )
    ds = _dataset(labs, "A1,methotrexate,15,mg,weekly,oral,2026-01-01,\n")
    s = sx.patient_summary(ds.labs, ds.doses, ds.patients, ds.baselines, empty_log(), "A1", AS_OF, "t")
    assert s.figure_png, s.figure_note
    text = " ".join("\n".join(p.extract_text() for p in PdfReader(io.BytesIO(sx.patient_summary_pdf(s))).pages).split())
    drawn = text[text.index("Timeline") : text.index("Current doses")]
    assert "ALT" in drawn and "not drawn" in drawn, drawn


# --------------------------------------------------------------------------- F10


def test_f10_the_rejected_rows_note_names_a_monitored_test_first():
    """K1's export carries CRP and ESR monthly (20 rows, rejected: not tests the dashboard
    monitors) and, last, neutrophils "see comment" on 1 Nov (rejected: no number).  The
    Patient page names three rejected rows and "(and 18 more)": the one that may hide a low
    count must be among those named, not behind the count."""
    labs = "".join(f"K1,2026-{m:02d}-01,CRP,{m * 3},mg/L\nK1,2026-{m:02d}-01,ESR,{m * 5},mm/hr\n" for m in range(1, 11))
    labs += "K1,2026-11-01,Neutrophils,see comment,10^9/L\nK1,2026-11-01,WBC,5.0,10^9/L\n"
    ds = _dataset(labs, "K1,methotrexate,15,mg,weekly,oral,2026-01-01,\n")
    at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=180)
    at.run()
    at.session_state["dataset"] = ds
    at.session_state["as_of"] = AS_OF
    at.session_state["as_of_input"] = AS_OF
    at.session_state["selected_patient"] = "K1"
    at.switch_page("pages/patient.py").run()
    assert not at.exception
    [said] = [w.value for w in at.warning if "rejected at import" in w.value]
    assert "see comment" in said, said


# --------------------------------------------------------------------------- F11 (left for the coordinator)


def test_f11_the_panel_says_a_latest_count_was_calculated_from_a_percentage():
    """Neutrophils reported as 30 % beside a WBC of 4.0: the Panel's "Neut" cell reads
    "1.20 G2" and "Latest with dates" "1.20 · 2026-11-01", a count the import made, with
    the lab's 30 % on the Patient page only.  Which cell should carry it (the compact count,
    its tooltip, the dated column) was left to the coordinator: both cells say it (H720)."""
    from dashboard.panel import panel_table
    from dashboard.rules import review_dataset

    ds = _dataset(
        "D1,2026-11-01,WBC,4.0,10^9/L\nD1,2026-11-01,Neutrophils,30,%\n",
        "D1,methotrexate,15,mg,weekly,oral,2026-01-01,\n",
    )
    row = panel_table(ds, review_dataset(ds, None, AS_OF)).iloc[0]
    assert any("30 %" in str(v) or "calculated" in str(v) for k, v in row.items() if k != "Needs attention")
    assert row["Neut"] == "1.20 (from 30 %) G2"
    assert row["Neutrophils (×10⁹/L)"] == "1.20 (calculated from 30 %)  ·  2026-11-01"
