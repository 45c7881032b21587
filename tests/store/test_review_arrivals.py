"""What a review of a later draw takes in of the earlier series (H474, H475).

One patient on azathioprine 100 mg daily since 1 Jan 2024 with neutrophils 3.0 on 15 Mar
and 1.2 x10^9/L on 15 Apr 2024 at 09:00.  By hand: 1.2 is below the BSR limit 1.6
(bsr.neutrophils_low) and CTCAE v5.0 grade 2 (< 1.5 - 1.0): two flags open on 1 May 2024,
both on the 15 Apr draw.  3.0 is above the LLN (2.0): no flag.  0.3 is grade 4 (< 0.5).

H474: a lab correction of the 15 Mar result after the review swaps one result for another
(the series keeps its length), yet nobody saw the corrected value: the review of the
15 Apr draw no longer covers it.  H475: a result stored before the review never counts
as "arrived since the review", even when the review was recorded with a shorter series
(a session's panel saved into a workspace that already held older results).
"""

from __future__ import annotations

import datetime as dt

from dashboard.dataset import Dataset
from dashboard.ingest import ImportOptions, Source, import_sources
from dashboard.reviews import empty_log, flags_for_review, results_of, reviews_for
from dashboard.store import Workspace
from dashboard.store.merge import FileRecord
from dashboard.store.panel import open_panel

DOSES = "patient,drug,dose,unit,frequency,start,end\n001,Imuran,100,mg,daily,2024-01-01,\n"
HEAD = "MRN,Collection Date,Component,Result,Units,Status\n"
MARCH = "001,2024-03-15 09:00,Neutrophils,3.0,10^9/L,Final\n"
APRIL = "001,2024-04-15 09:00,Neutrophils,1.2,10^9/L,Final\n"
AS_OF = dt.date(2024, 5, 1)
BY = " since the review by Dr A on 25 Nov 2026"  # the test clock's day


def _imp(ws: Workspace, name: str, text: str) -> None:
    ws.import_sources([Source(name, text.encode())], by="t")


def _review_all(ws: Workspace) -> None:
    shown = open_panel(ws).open_flags(AS_OF)
    assert len(shown) == 2
    ws.add_reviews(reviews_for("001", list(shown["flag_key"]), "continue", "", results_of(shown)), by="Dr A")


def _lapses(ws: Workspace) -> list[str]:
    f = open_panel(ws).open_flags(AS_OF)
    assert len(f) == 2
    return ["reviewed" if ok else why for ok, why in zip(f["reviewed"], f["review_lapsed"], strict=True)]


def test_a_correction_of_an_earlier_draw_after_the_review_reopens_it_in_words(ws):
    for name, text in (("doses.csv", DOSES), ("labs.csv", HEAD + MARCH + APRIL)):
        _imp(ws, name, text)
    _review_all(ws)
    _imp(ws, "corrected.csv", HEAD + "001,2024-03-15 09:00,Neutrophils,0.3,10^9/L,Corrected\n")
    said = "the 15 Mar 2024 result of this test was corrected to 0.3" + BY
    assert _lapses(ws) == [said, said]


def test_an_earlier_draw_resent_as_corrected_with_its_stored_value_changes_nothing(ws):
    for name, text in (("doses.csv", DOSES), ("labs.csv", HEAD + MARCH + APRIL)):
        _imp(ws, name, text)
    _review_all(ws)
    _imp(ws, "same.csv", HEAD + "001,2024-03-15 09:00,Neutrophils,3.0,10^9/L,Corrected\n")
    assert _lapses(ws) == ["reviewed", "reviewed"]


def test_a_correction_stored_before_the_review_was_seen_by_it(ws):
    for name, text in (("doses.csv", DOSES), ("labs.csv", HEAD + MARCH + APRIL)):
        _imp(ws, name, text)
    _imp(ws, "corrected.csv", HEAD + "001,2024-03-15 09:00,Neutrophils,0.3,10^9/L,Corrected\n")
    _review_all(ws)
    assert _lapses(ws) == ["reviewed", "reviewed"]


def test_two_earlier_draws_corrected_are_counted_and_the_latest_named(ws):
    feb = "001,2024-02-15 09:00,Neutrophils,2.8,10^9/L,Final\n"
    for name, text in (("doses.csv", DOSES), ("labs.csv", HEAD + feb + MARCH + APRIL)):
        _imp(ws, name, text)
    _review_all(ws)
    _imp(
        ws,
        "corrected.csv",
        HEAD + "001,2024-02-15 09:00,Neutrophils,2.5,10^9/L,Corrected\n"
        "001,2024-03-15 09:00,Neutrophils,0.3,10^9/L,Corrected\n",
    )
    said = "2 earlier results of this test were corrected (the latest, of 15 Mar 2024, to 0.3)" + BY
    assert _lapses(ws) == [said, said]


def test_a_review_recorded_on_a_shorter_series_holds_until_a_result_arrives(ws):
    """The workspace holds 15 Mar; a session shows only 15 Apr (1st of 1, seq 0), is saved
    (15 Apr stored, 2nd of 2 in the workspace) and then reviewed with what it showed.  The
    15 Mar result was stored before the review: the review holds.  An outside lab's 1 Apr
    result (2.5, no flag) stored after it is 1 earlier result arrived since."""
    _imp(ws, "march.csv", HEAD + MARCH)
    sources = [Source("april.csv", (HEAD + APRIL).encode()), Source("doses.csv", DOSES.encode())]
    ds = Dataset.from_import(import_sources(sources, ImportOptions(today=AS_OF)), "session")
    shown = flags_for_review(ds.labs, ds.doses, ds.patients, ds.baselines, empty_log(), AS_OF)
    assert set(shown["seq"]) == {0}
    ws.save_result(ds.to_import_result(), [FileRecord.of(s) for s in sources], by="Dr A", origin="app", label="s")
    ws.add_reviews(reviews_for("001", list(shown["flag_key"]), "continue", "", results_of(shown)), by="Dr A")
    assert set(open_panel(ws).open_flags(AS_OF)["seq"]) == {1}
    assert _lapses(ws) == ["reviewed", "reviewed"]
    _imp(ws, "outside.csv", HEAD + "001,2024-04-01 09:00,Neutrophils,2.5,10^9/L,Final\n")
    said = "1 earlier result of this test arrived" + BY
    assert _lapses(ws) == [said, said]


def test_the_pdf_the_csv_and_the_flags_table_say_the_same_review_state(ws):
    """H476, H477: as of 1 May 2024 the review (made on the test clock's 25 Nov 2026) came
    after the as-of date: every output says so; after the lab corrects the reviewed 1.2 to
    0.4, every output says why the flags are open again, in the same words."""
    import io

    import pytest

    from dashboard import summary_export as sx

    pypdf = pytest.importorskip("pypdf")
    for name, text in (("doses.csv", DOSES), ("labs.csv", HEAD + MARCH + APRIL)):
        _imp(ws, name, text)
    _review_all(ws)

    def outputs() -> tuple[list[str], list[str], str]:
        p = open_panel(ws)
        flags = p.open_flags(AS_OF)
        csv = list(sx.open_flags_frame(flags, p.patients)["Review state"])
        table = list(sx.flags_frame(flags)["Review state"])
        s = sx.patient_summary(
            p.labs, p.doses, p.patients, p.baselines, p.reviews, "001", AS_OF, "t", None, figure=False
        )
        pages = pypdf.PdfReader(io.BytesIO(sx.patient_summary_pdf(s))).pages
        return csv, table, " ".join(" ".join(page.extract_text().split()) for page in pages)

    csv, table, pdf = outputs()
    assert csv == table == ["reviewed: continue by Dr A on 2026-11-25, after the as-of date"] * 2
    assert pdf.count("continue (Dr A) on 2026-11-25, after the as-of date") == 2
    _imp(ws, "corr.csv", HEAD + "001,2024-04-15 09:00,Neutrophils,0.4,10^9/L,Corrected\n")
    csv, table, pdf = outputs()
    said = "not reviewed (open again: the result now reads 0.4" + BY + ")"
    assert csv == table == [said, said]
    assert pdf.count(said) == 2


def test_the_panel_export_and_the_panel_say_reviews_made_after_the_as_of_date(ws):
    """H478: both flags reviewed on the test clock's 25 Nov 2026.  As of 1 May 2024 they
    count as reviewed and both reviews came after that date; as of 1 Dec 2026 neither did."""
    from dashboard import summary_export as sx
    from dashboard.panel import panel_table, with_reviews
    from dashboard.rules import review
    from dashboard.ui.panel_view import reviewed_after_as_of_words

    for name, text in (("doses.csv", DOSES), ("labs.csv", HEAD + MARCH + APRIL)):
        _imp(ws, name, text)
    _review_all(ws)
    p = open_panel(ws)
    ds = p.dataset()
    for as_of, state, words in (
        (
            AS_OF,
            "all reviewed (2 after the as-of date)",
            "2 open flags of 1 patient were reviewed after the as-of date (01 May 2024): counted as reviewed",
        ),
        (dt.date(2026, 12, 1), "all reviewed", ""),
    ):
        frame = sx.panel_frame(ds.labs, ds.doses, ds.patients, p.reviews, as_of, ds.baselines, None, ds.intervals)
        assert frame.set_index("Patient").loc["001", "Review state"] == state
        rv = review(ds.labs, ds.doses, ds.patients, None, None, as_of)
        table = with_reviews(panel_table(ds, rv), rv.open_flags_df(), p.reviews, as_of=as_of)
        assert table.set_index("Patient").loc["001", "Unreviewed flags"] == 0
        assert reviewed_after_as_of_words(table, as_of).startswith(words)
        assert bool(words) == bool(reviewed_after_as_of_words(table, as_of))
