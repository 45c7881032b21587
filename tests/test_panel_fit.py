"""The panel that fits a 1400-px screen (issue 18): who, why in a few words, the latest key
counts rounded as the lab reports them with their grade, overdue and unreviewed; no "None".

Expected values are worked out by hand from the thresholds: BSR 2017 neutrophils < 1.6
(action), CTCAE v5.0 neutrophil count decreased grade 2 (< 1.5 - 1.0), WBC grade 1 (< LLN).
"""

import datetime as dt

import pandas as pd
import pytest

from dashboard.dataset import Dataset
from dashboard.panel import PanelFilter, filter_panel, now_column, panel_table, why_texts
from dashboard.rules import review_dataset
from tests.support import import_text

AS_OF = dt.date(2024, 12, 1)
LABS = """MRN,Patient Name,DOB,Collection Date,Component,Result,Units,Reference Range
P1,"DOE, Jane",1980-03-12,2024-11-20,Neutrophils,1.18,10^9/L,2.0-7.5
P1,"DOE, Jane",1980-03-12,2024-11-20,WBC,3.8,10^9/L,4.0-11.0
P1,"DOE, Jane",1980-03-12,2024-11-20,Hb,11.24,g/dL,11.5-16.5
P2,,,2024-11-21,WBC,6.1,10^9/L,4.0-11.0
"""


@pytest.fixture(scope="module")
def panel():
    ds = Dataset.from_import(import_text(LABS), "t", AS_OF)
    rv = review_dataset(ds, None, AS_OF)
    return ds, rv, panel_table(ds, rv).set_index("Patient", drop=False)


def test_who_is_named_beside_the_mrn(panel):
    _ds, _rv, t = panel
    assert t.loc["P1", "Name · MRN"] == "DOE, Jane · P1"
    assert t.loc["P1", "Born"] == "12-Mar-1980"
    assert t.loc["P2", "Name · MRN"] == "P2" and t.loc["P2", "Born"] == ""


def test_why_in_a_few_words_most_severe_first(panel):
    _ds, rv, t = panel
    # BSR limit (action) first, then the CTCAE grades: neutrophils 1.18 is grade 2, WBC 3.8 and
    # Hb 112 g/L (< the lab's 115) grade 1; three are named, the fourth counted
    assert t.loc["P1", "Why"] == "Neut 1.18 < 1.6; Neut G2; WBC G1 (+1)"
    assert t.loc["P2", "Why"] == ""
    assert why_texts(rv, pd.Series(["P1"]), most=1) == ["Neut 1.18 < 1.6 (+3)"]


def test_key_counts_with_their_grade_rounded_as_reported(panel):
    _ds, _rv, t = panel
    assert t.loc["P1", now_column("neutrophils")] == "1.18 G2"
    assert t.loc["P1", now_column("wbc")] == "3.8 G1"
    # 11.24 g/dL is 112.4 g/L: a lab reporting g/L prints 112 (and the grade: 112 < 115, the lab's LLN)
    assert t.loc["P1", now_column("hemoglobin")] == "112 G1"
    assert t.loc["P2", now_column("neutrophils")] == ""  # no result: blank, never "None" or "nan"


def test_no_none_nan_or_nat_anywhere(panel):
    _ds, _rv, t = panel
    text = t.drop(columns=[c for c in t.columns if c.endswith(" trend") or c.startswith("_")]).astype(str)
    cells = set(text.to_numpy().ravel())
    for bad in ("None", "nan", "NaT", "<NA>"):
        assert not any(bad in c for c in cells), bad
    assert t.loc["P2", "Next test due"] == ""


def test_search_finds_a_patient_by_name(panel):
    _ds, _rv, t = panel
    assert list(filter_panel(t, PanelFilter(search="doe"))["Patient"]) == ["P1"]


def test_one_rule_on_several_counts_shares_its_words():
    """B1 has three draws before azathioprine (neutrophils 4.0, 4.4, 4.2: median 4.2; WBC 6.0,
    6.6, 6.3: median 6.3), then neutrophils 2.7 (35.7% below 4.2) and WBC 4.3 (31.7% below 6.3),
    both more than 30% below baseline and inside the lab's range: one rule, two counts, one
    tail.  Sample panel as of its extract date: SLE-025's neutrophils and WBC fell > 10% at
    three consecutive tests."""
    from dashboard.ingest import Source, import_paths, import_sources
    from dashboard.sample import extract_date
    from tests.support import ROOT

    labs = "MRN,Collection Date,Component,Result,Units,Reference Range\n" + "".join(
        f"B1,{d},{a},{v},10^9/L,{r}\n"
        for d, n, w in (
            ("2024-03-01", 4.0, 6.0),
            ("2024-04-01", 4.4, 6.6),
            ("2024-05-01", 4.2, 6.3),
            ("2024-11-20", 2.7, 4.3),
        )
        for a, v, r in (("Neutrophils", n, "2.0-7.5"), ("WBC", w, "4.0-11.0"))
    )
    doses = "patient,drug,dose,unit,frequency,start\nB1,azathioprine,100,mg,daily,2024-06-01\n"
    r = import_sources([Source("labs.csv", labs.encode()), Source("doses.csv", doses.encode())])
    ds = Dataset.from_import(r, "t", AS_OF)
    # B1 has never had creatinine or ALT: no complete BSR 2025 check since azathioprine started
    # on 1 June, so the first fortnightly check (15 June) is 169 days overdue on 1 December.
    # Its counts of 20 November did the full blood count: the Why names the groups overdue
    # (H294), where it said "bloods", as if the FBC were overdue too.
    why = why_texts(review_dataset(ds, None, AS_OF), pd.Series(["B1"]))
    assert why == ["creatinine/eGFR + ALT/AST + albumin 169 d overdue; Neut 36%, WBC 32% below baseline"]

    r = import_paths([ROOT / "sample_data" / n for n in ("labs.csv", "doses.csv", "patients.csv")])
    ds = Dataset.from_import(r, "sample", extract_date(ROOT / "sample_data"))
    rv = review_dataset(ds, None, ds.extract_date)
    assert why_texts(rv, pd.Series(["SLE-025"])) == ["Neut, WBC falling 3 tests"]


def test_trend_pictures_use_the_patient_s_lab_range(panel):
    from urllib.parse import unquote

    from dashboard.panel import trend_images

    ds, rv, t = panel
    pics = dict(zip(t["Patient"], trend_images(ds, rv, t, "neutrophils"), strict=True))
    assert pics["P2"] == ""  # no neutrophil result
    svg = unquote(pics["P1"])
    # y = 27 - 2.4 v (0-10 scale, 30-px picture, 3 px padding): the lab's range 2.0-7.5 is
    # y 9.0 to 22.2, the BSR 2017 limit 1.6 y 23.16, the latest 1.18 y 24.17
    assert '<rect x="0" y="9.0" width="100" height="13.2"' in svg
    assert 'y1="23.16"' in svg and 'cy="24.17"' in svg
