"""Exports (issue 18): the panel CSV says who, how urgent, which flags are open and
whether they were reviewed; every number is rounded as the lab reports it.

Hand-worked: creatinine 0.73 mg/dL x 88.4 = 64.532 umol/L, which a lab reporting umol/L
prints as 65. Neutrophils 1.2 x10^9/L is below the BSR 2017 limit 1.6 (action) and CTCAE
grade 2 (< 1.5 - 1.0): two open flags for P1. The draw holds an FBC count, creatinine and ALT:
a complete BSR 2025 monitoring check, so P1 is not overdue.
"""

import datetime as dt

import pandas as pd

from dashboard import summary_export as sx
from dashboard.dataset import Dataset
from dashboard.reviews import empty_log, flag_key, flags_for_review

AS_OF = dt.date(2024, 6, 1)
LABS = """MRN,Patient Name,DOB,Collection Date,Component,Result,Units
P1,"DOE, Jane",1980-03-12,2024-05-20,Neutrophils,1.2,10^9/L
P1,"DOE, Jane",1980-03-12,2024-05-20,Creatinine,0.73,mg/dL
P1,"DOE, Jane",1980-03-12,2024-05-20,ALT,25,U/L
P1,"DOE, Jane",1980-03-12,2024-05-20,Albumin,41,g/L
P2,"ROE, Richard",1975-02-01,2024-05-21,WBC,6.1,10^9/L
"""
DOSES = "patient,drug,dose,unit,frequency,start\nP1,Methotrexate,20,mg,weekly,2024-01-01\n"


def dataset() -> Dataset:
    from dashboard.ingest import ImportOptions, Source, import_sources

    r = import_sources([Source("labs.csv", LABS.encode()), Source("doses.csv", DOSES.encode())], ImportOptions())
    return Dataset.from_import(r, "t")


def test_the_panel_export_has_urgency_open_flags_and_review_state():
    ds = dataset()
    flags = flags_for_review(ds.labs, ds.doses, ds.patients, ds.baselines, empty_log(), AS_OF)
    first = flags[flags["patient_id"] == "P1"].iloc[0]
    log = empty_log()
    log.loc[0] = [1, "P1", flag_key("P1", first["rule"], first["collected_at"], first["analyte"]), first["rule"],
                  first["analyte"], first["collected_at"], "repeat test", "", "Dr A", pd.Timestamp("2024-06-01"), None]  # fmt: skip
    panel = sx.panel_frame(ds.labs, ds.doses, ds.patients, log, AS_OF)
    assert list(panel["Patient"]) == ["P1", "P2"]  # most urgent first
    p1 = panel.set_index("Patient").loc["P1"]
    assert (p1["Name"], p1["Birth date"]) == ("DOE, Jane", "1980-03-12")
    assert p1["Urgency"] == "action" and p1["Open flags"] == 2 and p1["Not reviewed"] == 1
    assert p1["Review state"] == "1 of 2 not reviewed" and p1["Overdue (days)"] == 0
    assert p1["Creatinine (umol/L)"] == 65  # not 64.532
    assert panel.set_index("Patient").loc["P2", "Review state"] == "no open flag"
    text = sx.panel_csv(panel).decode("utf-8-sig")
    assert ",65," in text and "64.532" not in text and "None" not in text and "NaT" not in text


def test_weekly_methotrexate_is_never_a_daily_fraction_in_an_export():
    ds = dataset()
    doses = sx.doses_frame(ds.doses)
    row = doses.iloc[0]
    assert row["mg/week"] == 20 and pd.isna(row["mg/day"])  # not 2.857 mg/day
    assert "2.857" not in sx.panel_csv(sx.panel_frame(ds.labs, ds.doses, ds.patients, None, AS_OF)).decode()


def test_the_pdf_names_the_patient_with_two_identifiers():
    import io

    from pypdf import PdfReader

    ds = dataset()
    s = sx.patient_summary(ds.labs, ds.doses, ds.patients, ds.baselines, empty_log(), "P1", AS_OF, figure=False)
    text = PdfReader(io.BytesIO(sx.patient_summary_pdf(s))).pages[0].extract_text()
    assert "DOE, Jane · 12-Mar-1980 · MRN P1" in text
