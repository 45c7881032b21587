"""Exports (issue 18): the panel CSV says who, how urgent, which flags are open and
whether they were reviewed; every number is rounded as the lab reports it.

Hand-worked: creatinine 0.73 mg/dL x 88.4 = 64.532 umol/L, which a lab reporting umol/L
prints as 65. Neutrophils 1.2 x10^9/L is below the BSR 2017 limit 1.6 (action) and CTCAE
grade 2 (< 1.5 - 1.0): two open flags for P1 (its WBC of 5.0 is normal). The draw holds a full
blood count (a WBC: a neutrophil count alone is not one, probe32 F1), creatinine, ALT and
albumin: a complete BSR 2025 monitoring check, so P1 is not overdue.
"""

import datetime as dt
import io

import pandas as pd

from dashboard import summary_export as sx
from dashboard.dataset import Dataset
from dashboard.reviews import empty_log, flag_key, flags_for_review
from tests.support import P9_AS_OF, P9_DOSES, P9_PATIENTS

AS_OF = dt.date(2024, 6, 1)
LABS = """MRN,Patient Name,DOB,Collection Date,Component,Result,Units
P1,"DOE, Jane",1980-03-12,2024-05-20,WBC,5.0,10^9/L
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


# --------------------------------------------------------------------------- probe 9 F2/F8: what the panel export leaves out

#: Hand-worked (probe 9): methotrexate 15 mg daily + trimethoprim opens two dose checks
#: (3E: methotrexate once weekly; Medsafe 2022: avoid trimethoprim); mycophenolate from
#: 2025-12-01 with no result is due 2025-12-15, 107 days overdue on 2026-04-01.  995
#: cells/uL neutrophils is 0.995 x10^9/L: CTCAE grade 3 (< 1.0 - 0.5).  0.4 x10^9/L on
#: 2026-04-20 is after the as-of date: grade 4 (< 0.5).  Born 1970-01-01: 56 on 2026-04-01.
P9_LABS = (
    "MRN,Collection Date,Component,Result,Units\n"
    "P2,2026-03-02,Absolute Neutrophil Count,995,cells/uL\n"
    "P2,2026-04-20,Absolute Neutrophil Count,0.4,10^9/L\n"
)


def p9_panel() -> pd.DataFrame:
    from dashboard.ingest import ImportOptions, Source, import_sources

    sources = [
        Source("labs.csv", P9_LABS.encode()),
        Source("doses.csv", P9_DOSES.encode()),
        Source("patients.csv", P9_PATIENTS.encode()),
    ]
    ds = Dataset.from_import(import_sources(sources, ImportOptions(today=dt.date(2026, 5, 1))), "probe9")
    return sx.panel_frame(ds.labs, ds.doses, ds.patients, empty_log(), P9_AS_OF, ds.baselines, None, ds.intervals)


def test_the_panel_export_lists_both_dose_checks():
    """H141 (probe 9 F2): both of D1's dose checks, counted and named; not "no open flag"."""
    row = p9_panel().set_index("Patient").loc["D1"]
    cells = " ".join(str(v) for k, v in row.items() if k != "Current drugs").lower()
    assert "once weekly" in cells and "avoid where possible" in cells
    assert row["Dose checks"] == 2 and row["Open flags"] == 0
    assert row["Review state"] != "no open flag" and "2 dose checks" in row["Review state"]


def test_the_panel_export_says_overdue_bloods_are_open_and_when_the_next_test_was_due():
    """H141/H142 (probe 9 F2, F8): P3 has no lab flag but bloods 107 days overdue, due 2025-12-15."""
    row = p9_panel().set_index("Patient").loc["P3"]
    assert row["Overdue (days)"] == 107 and row["Next test due"] == "2025-12-15"
    assert row["Review state"] != "no open flag" and "107 d overdue" in row["Review state"]


def test_the_panel_export_has_the_grade_beside_the_value_and_names_the_worst_later_result():
    """H142 (probe 9 F8): the CTCAE grade of the latest neutrophils (0.995: grade 3), and the
    result after the as-of date named (0.4 on 20 Apr 2026, grade 4), not only counted."""
    panel = p9_panel()
    cols = list(panel.columns)
    assert cols.index("Neutrophils CTCAE grade") == cols.index("Neutrophils (10^9/L)") + 1
    row = panel.set_index("Patient").loc["P2"]
    assert row["Neutrophils CTCAE grade"] == 3
    assert row["Results after as-of"] == 1
    worst = row["Worst result after as-of"]
    assert "Neutrophils 0.4" in worst and "20 Apr 2026" in worst and "grade 4" in worst


def test_the_panel_csv_writes_age_in_whole_years():
    """Probe 9 (cosmetic): "56", never "56.0" (D1 born 1970-01-01, on 2026-04-01)."""
    table = pd.read_csv(io.BytesIO(sx.panel_csv(p9_panel())), encoding="utf-8-sig", dtype=str)
    assert table.set_index("Patient").loc["D1", "Age (years)"] == "56"


def test_the_review_state_says_how_many_reviews_came_after_the_as_of_date():
    """H478: 2 of 3 open flags reviewed, both after the as-of date; all 3 reviewed, 1 after it."""
    from dashboard.summary_export import _review_state

    assert _review_state(3, 1, 0, 0, 2) == "1 of 3 not reviewed (2 reviewed after the as-of date)"
    assert _review_state(3, 0, 0, 0, 1) == "all reviewed (1 after the as-of date)"
    assert _review_state(3, 0, 0, 0) == "all reviewed"
