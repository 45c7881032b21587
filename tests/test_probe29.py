"""Probe 29: reviews that stick, and nothing hidden without saying so.

One patient, 1234, on azathioprine 150 mg daily since 1 Jun 2026, with neutrophils 4.1
(20 May, before the drug), 2.2 (1 Oct) and 1.3 x10^9/L (2 Nov 2026, 09:00) and a normal
full check on 2 Nov, so that no blood test is overdue on the review date, 6 Nov 2026.

Worked out by hand:
- CTCAE v5.0, neutrophil count decreased: G1 < LLN-1.5, G2 < 1.5-1.0, G3 < 1.0-0.5, G4 < 0.5.
- The BSR limit: neutrophils < 1.6, rule bsr.neutrophils_low.
So 1.3 opens two flags on the 2 Nov draw: ctcae.neutrophils (G2) and bsr.neutrophils_low.
2.2 is above the LLN of 2.0 and raises nothing. 0.9 is G3, and 0.3 and 0.4 are G4.

Dr A reviews both flags on 6 Nov as the Patient page records them (``reviews_for`` with
``results_of``).  Then the clinic does what clinics do.  Each finding is a strict xfail that
fails at the assert marked "fails today".  The plain tests are behaviours checked and
found right.
"""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import pytest

from dashboard import summary_export as sx
from dashboard.dataset import Dataset
from dashboard.ingest import ImportOptions, Source, import_sources
from dashboard.panel import PanelFilter, filter_panel, panel_table, with_reviews
from dashboard.reviews import empty_log, flags_for_review, results_of, reviews_for
from dashboard.rules import review
from dashboard.rules.engine import make_user_profile
from dashboard.store import Workspace
from dashboard.store.merge import FileRecord
from dashboard.store.panel import open_panel
from tests.store.helpers import Clock
from tests.support import ROOT

AS_OF = dt.date(2026, 11, 6)
DRAW = "2026-11-02T09:00:00"
HEAD = "MRN,Collection Date,Component,Result,Units,Reference Range,Status\n"
DOSES = "patient,drug,dose,unit,frequency,route,start,end\n1234,azathioprine,150,mg,daily,oral,2026-06-01,\n"
NEUTROPHILS = (
    "1234,2026-05-20 09:00,Neutrophils,4.1,10^9/L,2.0-7.5,Final\n"
    "1234,2026-10-01 09:00,Neutrophils,2.2,10^9/L,2.0-7.5,Final\n"
    "1234,2026-11-02 09:00,Neutrophils,1.3,10^9/L,2.0-7.5,Final\n"
)
FULL_CHECK = "".join(
    f"1234,2026-11-02 09:00,{a},{v},{u},{r},Final\n"
    for a, v, u, r in (
        ("Creatinine", 70, "umol/L", "45-90"),
        ("ALT", 20, "U/L", "0-40"),
        ("AST", 20, "U/L", "0-40"),
        ("Albumin", 40, "g/L", "35-50"),
        ("eGFR", 90, "mL/min/1.73m2", ">60"),
        ("WBC", 4.5, "10^9/L", "4.0-11.0"),
        ("Hb", 130, "g/L", "115-165"),
        ("Platelets", 250, "10^9/L", "150-400"),
        ("Lymphocytes", 1.5, "10^9/L", "1.0-4.0"),
    )
)
WEEK1 = HEAD + NEUTROPHILS + FULL_CHECK
KEYS = {f"1234|bsr.neutrophils_low|{DRAW}|neutrophils", f"1234|ctcae.neutrophils|{DRAW}|neutrophils"}


@pytest.fixture
def ws(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Workspace:
    path = tmp_path / "workspace"
    monkeypatch.setenv("DASHBOARD_WORKSPACE", str(path))
    return Workspace(path, timeout=20, clock=Clock(dt.datetime(2026, 11, 6, 9, 0)))


def _import(ws: Workspace, name: str, text: str):
    return ws.import_sources([Source(name, text.encode())], by="Dr A")


def _flags(ws: Workspace, as_of: dt.date = AS_OF, profile=None):
    return open_panel(ws).open_flags(as_of, profile)


def _state(ws: Workspace, as_of: dt.date = AS_OF, profile=None) -> dict[str, bool]:
    f = _flags(ws, as_of, profile)
    return dict(zip(f["flag_key"], f["reviewed"], strict=True))


@pytest.fixture
def reviewed(ws: Workspace) -> Workspace:
    """Week 1 imported and both flags of the 2 Nov draw reviewed "continue" by Dr A on 6 Nov."""
    _import(ws, "doses.csv", DOSES)
    _import(ws, "week1.csv", WEEK1)
    f = _flags(ws)
    assert set(f["flag_key"]) == KEYS and not f["reviewed"].any()
    ws.add_reviews(
        reviews_for("1234", list(f["flag_key"]), "continue", "repeat FBC in 1 week", results_of(f)), by="Dr A"
    )
    assert _state(ws) == dict.fromkeys(KEYS, True)
    ws.clock.now = dt.datetime(2026, 11, 8, 9, 0)  # type: ignore[attr-defined]
    return ws


def _panel_row(ws: Workspace, as_of: dt.date = AS_OF):
    """The Panel's row of 1234 (review state, acknowledged) and whether Hide acknowledged keeps it."""
    p = open_panel(ws)
    ds = p.dataset()
    rv = review(ds.labs, ds.doses, ds.patients, None, None, as_of)
    table = with_reviews(panel_table(ds, rv), rv.open_flags_df(), p.reviews)
    kept = filter_panel(table, PanelFilter(hide_acknowledged=True))
    return table.set_index("Patient").loc["1234"], "1234" in set(kept["Patient"])


def _pdf_text(data: bytes) -> str:
    pypdf = pytest.importorskip("pypdf")
    return " ".join(" ".join(page.extract_text().split()) for page in pypdf.PdfReader(io.BytesIO(data)).pages)


def _summary_pdf(ws: Workspace, as_of: dt.date) -> str:
    p = open_panel(ws)
    s = sx.patient_summary(
        p.labs, p.doses, p.patients, p.baselines, p.reviews, "1234", as_of, "probe29", None, figure=False
    )
    text = _pdf_text(sx.patient_summary_pdf(s))
    start = text.index("Open flags (rule, source and review)")
    return text[start : text.index("Latest results", start)]


# =========================================================================== checked and fine


def test_the_same_file_again_keeps_the_review_and_a_newer_export_opens_only_its_new_draw(reviewed):
    """The same export again: 12 duplicates, the review holds.  A newer export with the
    same rows plus neutrophils 0.9 on 9 Nov (G3, < 1.6): the 2 Nov flags are no longer the
    open ones; the 9 Nov draw's flags are open and not reviewed."""
    again = _import(reviewed, "week1-again.csv", WEEK1.replace("\n", "\r\n"))  # another SHA-256
    assert again.labs_added == 0
    assert _state(reviewed) == dict.fromkeys(KEYS, True)
    newer = WEEK1 + "1234,2026-11-09 09:00,Neutrophils,0.9,10^9/L,2.0-7.5,Final\n"
    _import(reviewed, "week2.csv", newer)
    f = _flags(reviewed, dt.date(2026, 11, 10))
    on_9th = f[f["collected_at"] == "2026-11-09 09:00"]
    assert set(on_9th["rule"]) >= {"ctcae.neutrophils", "bsr.neutrophils_low"}
    assert int(on_9th.set_index("rule").loc["ctcae.neutrophils", "ctcae_grade"]) == 3
    assert not f["reviewed"].any()
    assert not (f["collected_at"] == "2026-11-02 09:00").any()
    row, kept = _panel_row(reviewed, dt.date(2026, 11, 10))
    assert row["Unreviewed flags"] >= 2 and not row["_acknowledged"] and kept


def test_a_lab_correction_of_the_reviewed_draw_reopens_it_even_when_milder(reviewed):
    """The same 1.3 resent with status Corrected is the value Dr A saw: the review holds.
    A correction to 1.45 (still G2, still < 1.6) is a value nobody reviewed: open again, with why."""
    _import(reviewed, "same.csv", HEAD + "1234,2026-11-02 09:00,Neutrophils,1.3,10^9/L,2.0-7.5,Corrected\n")
    assert _state(reviewed) == dict.fromkeys(KEYS, True)
    _import(reviewed, "mild.csv", HEAD + "1234,2026-11-02 09:00,Neutrophils,1.45,10^9/L,2.0-7.5,Corrected\n")
    f = _flags(reviewed)
    assert set(f["flag_key"]) == KEYS and not f["reviewed"].any()
    assert all("now reads 1.45" in w for w in f["review_lapsed"])


def test_a_conflicting_earlier_result_at_a_draw_already_seen_reopens_the_later_review(reviewed):
    """An outside lab's 0.3 (G4) at the 1 Oct draw, status Final: the draw now holds 2.2 and
    0.3.  It sits among the earlier draws unseen, so the 2 Nov review no longer covers."""
    _import(reviewed, "outside.csv", HEAD + "1234,2026-10-01 09:00,Neutrophils,0.3,10^9/L,2.0-7.5,Final\n")
    assert not _flags(reviewed)["reviewed"].any()
    row, kept = _panel_row(reviewed)
    assert not row["_acknowledged"] and kept


def test_the_review_follows_the_profile_and_a_harsher_one_reopens_it(reviewed):
    """Rule ids are the same under every profile.  BSR 2017: the same two flags, reviewed.
    CTCAE only: the CTCAE flag alone, reviewed.  A user profile that makes bsr.neutrophils_low
    urgent judges it worse than Dr A did: open again, "regraded"."""
    assert _state(reviewed, profile="BSR 2017 / NICE") == dict.fromkeys(KEYS, True)
    assert _state(reviewed, profile="CTCAE only") == {f"1234|ctcae.neutrophils|{DRAW}|neutrophils": True}
    harsh = make_user_profile("Harsh", "BSR 2025", {"bsr.neutrophils_low": {"severity": "urgent"}})
    f = _flags(reviewed, profile=harsh).set_index("rule")
    assert not f.loc["bsr.neutrophils_low", "reviewed"]
    # the grade is unchanged, only the severity rose (action to urgent): said so, never "regraded" (H624)
    assert "severity changed from action to urgent" in f.loc["bsr.neutrophils_low", "review_lapsed"]
    assert f.loc["ctcae.neutrophils", "reviewed"]


def test_a_renamed_id_does_not_inherit_the_review_and_padding_does_not_lose_it(reviewed):
    """ " 1234" is 1234 (the import strips the cell): duplicates, the review holds.  MRN1234
    is another patient: never merged, so its copies of the flags are not reviewed."""
    padded = WEEK1.replace("\n1234,", "\n 1234,")
    assert _import(reviewed, "padded.csv", padded).labs_added == 0
    _import(reviewed, "renamed.csv", WEEK1.replace("\n1234,", "\nMRN1234,"))
    f = _flags(reviewed)
    assert f[f["patient_id"] == "1234"]["reviewed"].all()
    other = f[f["patient_id"] == "MRN1234"]
    assert len(other) == 2 and not other["reviewed"].any()


def test_the_review_survives_a_later_as_of_date_and_reopening_the_workspace(reviewed):
    assert _state(reviewed, dt.date(2026, 11, 20)) == dict.fromkeys(KEYS, True)
    again = Workspace(reviewed.path)
    assert _state(again) == dict.fromkeys(KEYS, True)
    row, kept = _panel_row(again)
    assert row["_acknowledged"] and not kept  # hidden: every open flag reviewed, nothing overdue


def test_the_flagged_results_csv_says_a_review_came_after_the_as_of_date(reviewed):
    """An audit as of 3 Nov (the draw is 2 Nov; the review 6 Nov)."""
    p = open_panel(reviewed)
    frame = sx.open_flags_frame(p.open_flags(dt.date(2026, 11, 3)), p.patients)
    assert len(frame) == 2
    assert all("after the as-of date" in s for s in frame["Review state"])


def test_the_cli_review_hides_no_flag(tmp_path, capsys):
    """``review`` reads files, not the workspace: it hides nothing, every open flag is
    written, each "not reviewed"."""
    from dashboard.cli import main

    (tmp_path / "labs.csv").write_text(WEEK1)
    (tmp_path / "doses.csv").write_text(DOSES)
    out = tmp_path / "flags.csv"
    code = main(
        ["review", str(tmp_path / "labs.csv"), str(tmp_path / "doses.csv"), "--as-of", "2026-11-06", "--csv", str(out)]
    )
    assert code == 0
    text = out.read_text(encoding="utf-8-sig")
    rows = [r for r in text.splitlines()[1:] if r.strip()]
    assert len(rows) == 2 and all("not reviewed" in r for r in rows)


def test_the_panel_says_how_many_patients_hide_acknowledged_leaves_out(reviewed):
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=180)
    at.query_params["panel"] = "workspace"
    at.run()
    at.session_state["as_of"] = AS_OF
    at.switch_page("pages/panel.py").run()
    assert not at.exception
    assert any("1 of 1 patients shown" in c.value for c in at.caption)
    at.toggle(key="panel_hide_ack").set_value(True).run()
    assert any("0 of 1 patients shown" in c.value for c in at.caption)


# =========================================================================== findings


def test_a_lab_correction_of_an_earlier_draw_to_grade_4_reopens_the_review_of_the_later_draw(reviewed):
    """After the review the lab corrects the 1 Oct result from 2.2 to 0.3 (status Corrected):
    the 2.2 is removed and 0.3, G4, stands.  The episode now runs from 1 Oct and its worst is
    G4, a result nobody has seen.  docs/workspace.md: "a result nobody has seen is never
    taken in by the review of a later draw"; an outside lab's 0.3 at the same draw, status
    Final, does reopen it (test above).  Expected: the 2 Nov flags are open again and the
    patient is not acknowledged (Hide acknowledged keeps them)."""
    out = _import(reviewed, "corrected.csv", HEAD + "1234,2026-10-01 09:00,Neutrophils,0.3,10^9/L,2.0-7.5,Corrected\n")
    assert "replaced by the corrected result 0.3" in out.report.to_text()
    f = _flags(reviewed)
    assert set(f["flag_key"]) == KEYS
    assert any("grade 4 on 2026-10-01" in m for m in f["message"])  # the episode's worst is named
    row, kept = _panel_row(reviewed)
    assert "G4 on 2026-10-01" in row["Why"]
    assert not f["reviewed"].any(), f[["rule", "reviewed", "seq"]].to_string()  # fails today
    assert not row["_acknowledged"] and kept


def test_a_review_saved_with_the_session_panel_does_not_say_a_stored_result_arrived_since(ws):
    """The workspace already holds the 20 May result (imported last month).  A new session
    uploads the newer export (1 Oct, 2 Nov) and the doses, and records the review on the
    Patient page: ``record_review`` saves the session's panel to the workspace, then records
    the entries with what the session showed (the 2 Nov result second of two: seq 1).  In the
    workspace the draw is third of three (seq 2), so the review is open again at once, "1
    earlier result of this test arrived since the review" although it was stored before the
    review.  Expected: the review's words never claim that; best, the review sticks, or the
    form says the workspace holds results the session did not show before recording."""
    _import(ws, "may.csv", HEAD + NEUTROPHILS.splitlines(keepends=True)[0])
    newer = HEAD + "".join(NEUTROPHILS.splitlines(keepends=True)[1:]) + FULL_CHECK
    sources = [Source("newer.csv", newer.encode()), Source("doses.csv", DOSES.encode())]
    ds = Dataset.from_import(import_sources(sources, ImportOptions(today=AS_OF)), "session")
    shown = flags_for_review(ds.labs, ds.doses, ds.patients, ds.baselines, empty_log(), AS_OF)
    assert set(shown["flag_key"]) == KEYS
    ws.save_result(ds.to_import_result(), [FileRecord.of(s) for s in sources], by="Dr A", origin="app", label="s")
    ws.add_reviews(reviews_for("1234", list(shown["flag_key"]), "continue", "", results_of(shown)), by="Dr A")
    f = _flags(ws)
    assert set(f["flag_key"]) == KEYS
    said = [w for w in f["review_lapsed"] if w]
    assert not any("arrived since the review" in w for w in said), said  # fails today


def test_the_patient_pdf_says_a_review_was_made_after_the_as_of_date(reviewed):
    """An audit PDF as of 3 Nov (the review was made on 6 Nov).  docs/workspace.md: "a review
    made after the as-of date says so ..., so an audit at a past date does not pass it off
    as a review made then".  The flagged CSV says it (test above); the PDF's Review column
    reads "continue (Dr A)", with no date."""
    text = _summary_pdf(reviewed, dt.date(2026, 11, 3))
    assert "continue (Dr A)" in text
    assert "after the as-of date" in text, text  # fails today


def test_the_patient_pdf_says_why_a_flag_is_open_again(reviewed):
    """The lab corrects the reviewed 1.3 to 0.4 (G4).  The flags are open again, and the
    Patient page, the flagged CSV and ``review_words`` say "open again: the result now reads
    0.4 since the review by Dr A on 6 Nov 2026".  The PDF says only "not reviewed": the
    reader cannot tell that Dr A reviewed (and decided on) another value of this draw."""
    _import(reviewed, "corr.csv", HEAD + "1234,2026-11-02 09:00,Neutrophils,0.4,10^9/L,2.0-7.5,Corrected\n")
    p = open_panel(reviewed)
    csv_states = list(sx.open_flags_frame(p.open_flags(AS_OF), p.patients)["Review state"])
    assert all("now reads 0.4" in s for s in csv_states)
    text = _summary_pdf(reviewed, AS_OF)
    assert "not reviewed" in text
    assert "now reads 0.4" in text, text  # fails today


def test_the_panel_export_says_its_reviews_came_after_the_as_of_date(reviewed):
    """The panel CSV/XLSX as of 3 Nov reads "Review state: all reviewed" for 1234, whose
    two flags were reviewed on 6 Nov; the flagged CSV of the same as-of date says "after the
    as-of date" on each.  (The Panel page likewise counts them as reviewed and hides 1234
    under Hide acknowledged, with nothing said.)"""
    p = open_panel(reviewed)
    ds = p.dataset()
    past = dt.date(2026, 11, 3)
    frame = sx.panel_frame(ds.labs, ds.doses, ds.patients, p.reviews, past, ds.baselines, None, ds.intervals)
    row = frame.set_index("Patient").loc["1234"]
    assert row["Open flags"] == 2
    assert "after the as-of date" in row["Review state"], row["Review state"]  # fails today


def test_hiding_acknowledged_flags_on_the_workspace_page_says_how_many(reviewed):
    """Add MCV 106 fL on 2 Nov (> 105: bsr.mcv_high), not reviewed: 3 open flags, 2 reviewed.
    The Workspace page's toggle hides the 2 reviewed ones; the Panel says "N of M patients
    shown", this table says nothing (nor does the panel's "Flags to review" tab, the same
    function)."""
    from streamlit.testing.v1 import AppTest

    _import(reviewed, "mcv.csv", HEAD + "1234,2026-11-02 09:00,MCV,106,fL,80-100,Final\n")
    at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=180)
    at.query_params["panel"] = "workspace"
    at.run()
    at.session_state["as_of"] = AS_OF
    at.switch_page("pages/workspace.py").run()
    at.selectbox(key="ws_patient").set_value("1234").run()
    assert not at.exception
    table = next(d.value for d in at.dataframe if "Rule" in d.value.columns)
    assert sorted(table["Reviewed"]) == ["no", "yes", "yes"]
    at.toggle(key="hide_acknowledged").set_value(True).run()
    table = next(d.value for d in at.dataframe if "Rule" in d.value.columns)
    assert list(table["Reviewed"]) == ["no"]
    words = [e.value for kind in ("caption", "markdown", "info", "warning") for e in getattr(at, kind)]
    assert any("2" in w and "hid" in w.lower() for w in words), words  # fails today
