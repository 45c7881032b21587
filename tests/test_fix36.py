"""Fixes of probe 36 beyond its pinned tests: an id's two spellings of one text, Excel's
text-forcing wrapper in a dose sheet, and a disputed date of birth in the panel export and
the PDF summary (H551, H553)."""

from __future__ import annotations

import datetime as dt

from dashboard import summary_export as sx
from dashboard.dataset import Dataset
from dashboard.reviews import empty_log
from tests.support import assert_balanced, csv_import

AS_OF = dt.date(2026, 11, 25)
NEUT = "{pid},2026-11-02 09:00,neutrophils,1.0,10^9/L\n"
AZA = "{pid},azathioprine,150,mg,daily,oral,2026-06-01,\n"


def _warnings(r) -> list[str]:
    return [w.message for f in r.report.files for w in f.warnings]


def test_an_id_in_decomposed_accents_is_the_same_text_as_the_composed_one():
    # "JOSE" + COMBINING ACUTE ACCENT and "JOSÉ" are canonically one text (Unicode NFC)
    r = csv_import(NEUT.format(pid="JOSE\u03011"), AZA.format(pid="JOS\u00c91"), as_of=AS_OF)
    assert_balanced(r)
    assert r.patients.column("patient_id").to_pylist() == ["JOS\u00c91"]
    assert any("decomposed accents" in w for w in _warnings(r))


def test_excels_text_wrapper_in_a_dose_sheet_is_the_text_inside_and_said():
    r = csv_import(NEUT.format(pid="0012345"), AZA.format(pid='"=""0012345"""'), as_of=AS_OF)
    assert_balanced(r)
    assert r.patients.column("patient_id").to_pylist() == ["0012345"]
    assert any("text-forcing formula" in w for w in _warnings(r))


def test_a_disputed_birth_date_is_both_dates_in_the_panel_export_and_the_pdf():
    r = csv_import(
        "12345,2026-11-02 09:00,wbc,3.7,10^9/L\n", patients="12345,F,2016-05-01\n12345,F,1976-05-01\n", as_of=AS_OF
    )
    ds = Dataset.from_import(r, "session")
    frame = sx.panel_frame(
        ds.labs, ds.doses, ds.patients, empty_log(), AS_OF, ds.baselines, None, conflicts=ds.identity_conflicts
    )
    born = frame.iloc[0]["Birth date"]
    assert born.startswith("disputed") and "01-May-2016" in born and "01-May-1976" in born
    s = sx.patient_summary(
        ds.labs,
        ds.doses,
        ds.patients,
        ds.baselines,
        empty_log(),
        "12345",
        AS_OF,
        figure=False,
        conflicts=ds.identity_conflicts,
    )
    assert [c.field for c in s.identity_conflicts] == ["birth_date"]
    assert sx.patient_summary_pdf(s).startswith(b"%PDF")


def test_the_panels_born_column_says_disputed_not_one_date_and_not_blank():
    """H539: the rules use neither of two birth dates (H553); the Panel's Born column says
    "disputed" (the Patient page names both), never one date as fact and never a blank
    that reads as "not recorded"."""
    from dashboard.panel import panel_table
    from dashboard.rules import review_dataset

    r = csv_import(
        "12345,2026-11-02 09:00,wbc,3.7,10^9/L\n67890,2026-11-02 09:00,wbc,5.0,10^9/L\n",
        patients="12345,F,2016-05-01\n12345,F,1976-05-01\n67890,M,1960-02-03\n",
        as_of=AS_OF,
    )
    ds = Dataset.from_import(r, "session")
    born = panel_table(ds, review_dataset(ds, None, AS_OF)).set_index("Patient")["Born"]
    assert born["12345"] == "disputed" and born["67890"] == "03-Feb-1960"
