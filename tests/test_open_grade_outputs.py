"""Every output that gives a grade alone says "2 or worse" for "<=50" platelets (H275).

CTCAE v5.0 platelet count decreased: G2 <75-50, G3 <50-25, G4 <25 (x10^9/L).  "<=50" may be
50 itself (grade 2) or lower (grade 3 or 4): grade 2 or worse, as the flag's sentence says.
An exact 60 is grade 2 and nothing else.
"""

from __future__ import annotations

import datetime as dt
import io

import pandas as pd

from dashboard import summary_export as sx
from dashboard.dataset import Dataset
from dashboard.panel import PanelFilter, filter_panel, panel_counts, panel_table
from dashboard.reviews import empty_log, with_review_status
from dashboard.rules.review import review_dataset
from dashboard.views import after_as_of_table, flags_table, worst_after_as_of

AS_OF = dt.date(2024, 6, 30)
_LABS = (
    b"Patient ID,Collected,Test Name,Result,Units,Reference Range\n"
    b"PL-1,2024-05-01 09:00,Platelets,<=50,10^9/L,150-400\n"
    b"PL-2,2024-05-01 09:00,Platelets,60,10^9/L,150-400\n"
)
_DOSES = (
    b"patient_id,drug,dose,dose_unit,frequency,start\n"
    b"PL-1,methotrexate,15,mg,weekly,2024-01-01\n"
    b"PL-2,methotrexate,15,mg,weekly,2024-01-01\n"
)


def _dataset(labs: bytes = _LABS) -> Dataset:
    from dashboard.ingest import ImportOptions, Source, import_sources

    result = import_sources(
        [Source("labs.csv", labs), Source("doses.csv", _DOSES)], ImportOptions(today=dt.date(2026, 11, 25))
    )
    return Dataset.from_import(result, "open grades")


def test_the_panel_says_2_or_worse_in_ctcae_now_and_in_the_platelet_cell():
    ds = _dataset()
    table = panel_table(ds, review_dataset(ds, "BSR 2025", AS_OF)).set_index("Patient")
    assert table.loc["PL-1", "CTCAE now"] == "2 or worse"
    assert table.loc["PL-1", "Plt"] == "<=50 G2 or worse"
    assert table.loc["PL-2", "CTCAE now"] == "2"
    assert table.loc["PL-2", "Plt"] == "60 G2"
    # the filters and counts compare the number: "2 or worse" is at least 2, never 3
    kept = filter_panel(table.reset_index(), PanelFilter(min_grade=2))
    assert set(kept["Patient"]) == {"PL-1", "PL-2"}
    assert filter_panel(table.reset_index(), PanelFilter(min_grade=3)).empty
    assert panel_counts(table.reset_index()).grade3_or_more == 0


def test_the_panel_csv_and_xlsx_grade_columns():
    ds = _dataset()
    frame = sx.panel_frame(ds.labs, ds.doses, ds.patients, empty_log(), AS_OF, ds.baselines, "BSR 2025")
    csv = pd.read_csv(io.BytesIO(sx.panel_csv(frame)), dtype=str, encoding="utf-8-sig").set_index("Patient")
    assert csv.loc["PL-1", "Platelets CTCAE grade"] == "2 or worse"
    assert csv.loc["PL-2", "Platelets CTCAE grade"] == "2"
    xlsx = sx.panel_xlsx(frame, ds.labs, ds.doses, empty_log())
    sheet = pd.read_excel(io.BytesIO(xlsx), sheet_name="Panel", engine="openpyxl").set_index("Patient")
    assert sheet.loc["PL-1", "Platelets CTCAE grade"] == "2 or worse"
    assert sheet.loc["PL-2", "Platelets CTCAE grade"] == 2  # a plain grade stays a number


def test_the_patient_pages_flag_table_and_the_flagged_csv():
    ds = _dataset()
    rv = review_dataset(ds, "BSR 2025", AS_OF)
    flags = rv.flags_df()
    mine = flags_table(flags[flags["patient_id"] == "PL-1"])
    # both flags of the result (CTCAE and BSR) give the result's grade
    assert set(mine["CTCAE"]) == {"2 or worse"}
    theirs = flags_table(flags[flags["patient_id"] == "PL-2"])
    assert set(theirs["CTCAE"]) == {"2"}
    opened = with_review_status(rv.open_flags_df(), empty_log(), rule_col="rule")
    csv = pd.read_csv(io.BytesIO(sx.flagged_csv(opened)), dtype=str, encoding="utf-8-sig")
    grades = dict(zip(csv["Patient"] + " " + csv["Rule"], csv["Grade"], strict=True))
    assert grades["PL-1 ctcae.platelets"] == "2 or worse"
    assert grades["PL-2 ctcae.platelets"] == "2"


def test_a_later_bound_is_listed_as_2_or_worse_ahead_of_a_plain_2():
    # both after the as-of date: "<=50" (2 or worse) and an exact 60 (2): the open one first
    labs = (
        b"Patient ID,Collected,Test Name,Result,Units,Reference Range\n"
        b"PL-1,2024-08-01 09:00,Platelets,<=50,10^9/L,150-400\n"
        b"PL-2,2024-07-01 09:00,Platelets,60,10^9/L,150-400\n"
    )
    ds = _dataset(labs)
    later = review_dataset(ds, "BSR 2025", AS_OF).after_as_of_df()
    table = after_as_of_table(later)
    assert table["Patient"].tolist() == ["PL-1", "PL-2"]
    assert table["CTCAE"].tolist() == ["2 or worse", "2"]
    assert worst_after_as_of(later).endswith("(CTCAE grade 2 or worse)")
