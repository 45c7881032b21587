"""Probe 16: a rheumatology clinic's month of real use of the workspace.

Five patients (azathioprine, methotrexate, mycophenolate, tacrolimus, cyclophosphamide
pulses), four weekly imports into one workspace, reviews recorded in week 1, an audit at
week 1's date under BSR 2017 in week 4.  Each finding is a strict xfail that fails on its
own assertion today (checked with ``--runxfail``).  The expectations are worked out by
hand from CTCAE v5.0, the BSR limits and docs/workspace.md, never copied from the output.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import pytest

from dashboard import model
from dashboard import summary_export as sx
from dashboard.cli import main
from dashboard.ingest import Source
from dashboard.reviews import decisions_not_in_doses, results_of, reviews_for
from dashboard.store import Workspace, schema
from dashboard.store.panel import open_panel
from tests.store.helpers import Clock
from tests.support import workspace_patient_page

W1 = dt.date(2026, 11, 6)
HEAD = "MRN,Collection Date,Component,Result,Units,Reference Range,Status\n"
DOSE_HEAD = "patient,drug,dose,unit,frequency,route,start,end\n"


@pytest.fixture
def ws(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Workspace:
    path = tmp_path / "workspace"
    monkeypatch.setenv("DASHBOARD_WORKSPACE", str(path))
    return Workspace(path, timeout=20, clock=Clock(dt.datetime(2026, 11, 6, 9, 0)))


def _import(ws: Workspace, name: str, text: str):
    return ws.import_sources([Source(name, text.encode())], by="Dr A")


def _review_all(ws: Workspace, pid: str, action: str, note: str, as_of: dt.date = W1) -> None:
    """As the Patient page records it: every open flag of the patient, with what was shown."""
    f = open_panel(ws).open_flags(as_of)
    mine = f[f["patient_id"] == pid]
    assert len(mine), f"{pid} has no open flag to review"
    ws.add_reviews(reviews_for(pid, list(mine["flag_key"]), action, note, results_of(mine)), by="Dr A")


# --------------------------------------------------------------------------- F1 withheld drug


AZA_LABS = (
    HEAD
    + "1234,2026-05-20 09:00,Neutrophils,4.1,10^9/L,2.0-7.5,Final\n"
    + "1234,2026-10-01 09:00,Neutrophils,2.2,10^9/L,2.0-7.5,Final\n"
    + "1234,2026-11-02 09:00,Neutrophils,1.3,10^9/L,2.0-7.5,Final\n"
)
AZA_PATIENT = 'patient,patient name,sex,date of birth,TPMT,weight\n1234,"SMITH, Ann",F,1970-02-03,normal,70\n'


def _withheld(ws: Workspace) -> None:
    """Week 1: azathioprine 150 mg daily since 1 Jun; neutrophils 1.3 on 2 Nov (< 1.6, BSR:
    withhold; CTCAE grade 2, < 1.5).  Dr A records "withhold" on 6 Nov.  Week 2: the pharmacy
    export gives the azathioprine row its end date, 6 Nov: the dose record now shows the
    withhold, as the review asked (reviews.decisions_not_in_doses: "record it in the dose record")."""
    _import(ws, "patients.csv", AZA_PATIENT)
    _import(ws, "doses.csv", DOSE_HEAD + "1234,azathioprine,150,mg,daily,oral,2026-06-01,\n")
    _import(ws, "labs.csv", AZA_LABS)
    _review_all(ws, "1234", "withhold", "AZA withheld, repeat FBC in 1 week")
    ws.clock.now = dt.datetime(2026, 11, 13, 9, 0)  # type: ignore[attr-defined]
    out = _import(ws, "doses-w2.csv", DOSE_HEAD + "1234,azathioprine,150,mg,daily,oral,2026-06-01,2026-11-06\n")
    assert out.doses_duplicate == 1  # the same dose, its end recorded (docs/workspace.md)
    assert model.doses_in_force(open_panel(ws).doses, dt.date(2026, 11, 13)).empty


def test_a_withhold_recorded_in_the_dose_record_leaves_nothing_to_ask(ws):
    """The decision and the dose record agree (azathioprine ended on the day of the
    withhold): there is nothing to say, and above all no error.  Before H320 the check behind the
    Patient page raises KeyError('start') as soon as the patient has no dose in force."""
    _withheld(ws)
    p = open_panel(ws)
    try:
        said, error = decisions_not_in_doses(p.reviews, p.doses, "1234", dt.date(2026, 11, 13)), None
    except Exception as exc:  # the page's own call; its failure is the finding
        said, error = None, exc
    assert error is None, f"decisions_not_in_doses raised {error!r}"  # fails today
    assert said == []


def test_the_patient_page_of_a_withheld_patient_opens(ws):
    _withheld(ws)
    at = workspace_patient_page("1234", dt.date(2026, 11, 13))
    assert not at.exception  # fails today: "This app has encountered an error"


# --------------------------------------------------------------------------- F2 superseded result back


def test_a_result_the_lab_corrected_is_not_brought_back_by_a_resent_export(ws):
    """Week 1: ALT 130 U/L (range 0-40) on 20 Oct, methotrexate 20 mg weekly.  Week 2: the lab
    corrects it to 30 U/L (status Corrected): the 130 is removed and no longer graded
    (docs/workspace.md, "A corrected result ... replaces").  Week 3: the nightly job drops the
    week-1 export again, re-saved with Windows line ends (another SHA-256).  The 130 is the
    value the lab withdrew: by hand ALT 30 <= ULN 40 is no CTCAE grade and <= 100 no BSR
    flag, so the draw has no open flag.  Before H321 the 130 was stored again without a word
    ("accepted 1") and graded: CTCAE grade 2 and "ALT 130 > 100: withhold" (action)."""
    _import(ws, "doses.csv", DOSE_HEAD + "2001,methotrexate,20,mg,weekly,oral,2026-03-01,\n")
    week1 = HEAD + "2001,2026-10-20 10:00,ALT,130,U/L,0-40,Final\n"
    _import(ws, "labs-w1.csv", week1)
    out = _import(ws, "labs-w2.csv", HEAD + "2001,2026-10-20 10:00,ALT,30,U/L,0-40,Corrected\n")
    assert "replaced by the corrected result 30" in out.report.to_text()
    assert list(open_panel(ws).labs["value"]) == [30.0]
    _import(ws, "labs-w1-resent.csv", week1.replace("\n", "\r\n"))
    flags = open_panel(ws).open_flags(W1)
    assert flags.empty, flags[["rule", "value", "severity"]].to_string()  # fails today


# --------------------------------------------------------------------------- F3 dose changed in the next export


def test_a_dose_changed_in_the_next_export_is_not_added_to_the_kept_one_in_silence(ws):
    """Week 1's dose export: tacrolimus 3 mg BID from 1 Jul.  Week 2's export of the same
    order: 2 mg BID from 1 Jul (the prescription as corrected).  docs/workspace.md: a dose is a
    duplicate only when patient, drug, start, dose, unit, frequency and route all match; this
    row is neither a duplicate nor a new start.  The workspace now holds both rows in force
    together, "Tacrolimus 10 mg/day in all" (6 + 4), a dose nobody prescribed, and the import
    report says nothing of the kept 3 mg BID row (house rule: never guess a dose; ask or
    reject with the reason).  By hand the report must at least name the row: a note or a
    rejection on row 2 of the week-2 file."""
    _import(ws, "doses-w1.csv", DOSE_HEAD + "2003,tacrolimus,3,mg,BID,oral,2026-07-01,\n")
    out = _import(ws, "doses-w2.csv", DOSE_HEAD + "2003,tacrolimus,2,mg,BID,oral,2026-07-01,\n")
    live = model.doses_in_force(open_panel(ws).doses, dt.date(2026, 11, 13))
    assert sorted(live["dose"]) == [2.0, 3.0]  # both in force together: 10 mg/day
    [f] = out.report.files
    said = [p.message for p in [*f.problems, *f.warnings] if p.row == 2]
    assert said, "the import report says nothing of tacrolimus 3 mg BID kept from the same start"


# --------------------------------------------------------------------------- F4 MRN re-formatted


def test_a_reformatted_mrn_is_named_beside_the_patient_after_the_import(ws):
    """Week 1: MRN 1234 (SMITH, Ann) on azathioprine, neutrophils 1.3 on 2 Nov.  Week 2: the
    LIS export now writes 0001234: the week-1 rows come again under 0001234 (stored a second
    time) with neutrophils 1.0 on 9 Nov.  The import report names the pair once ("differ only
    by leading zeros", H7/H125); after that, 0001234 is a patient with no name and no drug
    whose BSR flag says "no monitored drug is recorded", and nothing on the Panel, the panel
    export or the PDF says 1234 may be the same person, as they do for another identifier
    (H150, "Another id").  By hand: the two ids differ only by leading zeros, so the panel
    export's "Another id" of 0001234 names 1234."""
    _import(ws, "patients.csv", AZA_PATIENT)
    _import(ws, "doses.csv", DOSE_HEAD + "1234,azathioprine,150,mg,daily,oral,2026-06-01,\n")
    _import(ws, "labs-w1.csv", AZA_LABS)
    week2 = (
        AZA_LABS.replace("\n1234,", "\n0001234,") + "0001234,2026-11-09 09:00,Neutrophils,1.0,10^9/L,2.0-7.5,Final\n"
    )
    out = _import(ws, "labs-w2.csv", week2)
    assert "differ only by leading zeros" in out.report.to_text()
    p = open_panel(ws)
    table = sx.panel_frame(
        p.labs, p.doses, p.patients, p.reviews, dt.date(2026, 11, 13), p.baselines, None, p.intervals, aliases=p.aliases
    ).set_index("Patient")
    assert "1234" in str(table.loc["0001234", "Another id"])


# --------------------------------------------------------------------------- F5 audit export from the CLI


def test_the_cli_exports_an_audit_of_a_past_date_under_bsr_2017(ws, tmp_path, capsys):
    """Week 4: the audit of week 1 (as of 6 Nov 2026) under "BSR 2017 / NICE" (the profile
    "kept so that old audits reproduce", README).  `review` takes --as-of and --profile;
    `workspace export` takes neither and writes the panel as of today."""
    _import(ws, "labs.csv", AZA_LABS)
    argv = ["workspace", "export", "--format", "csv", "--out", str(tmp_path / "audit.csv")]
    argv += ["--as-of", "2026-11-06", "--profile", "BSR 2017 / NICE"]
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse refuses the options
        code = exc.code
    printed = capsys.readouterr().out
    assert code == 0 and "as of 2026-11-06" in printed


# --------------------------------------------------------------------------- F6 a review from an older schema


MMF_LABS = HEAD + "2002,2026-10-25 08:30,Lymphocytes,0.4,10^9/L,1.0-4.0,Final\n"


def test_a_review_from_a_version_3_workspace_does_not_cover_a_later_correction(ws, monkeypatch):
    """A workspace written at schema 3 (before reviews recorded their value) holds Dr A's
    "repeat test" of KHAN's lymphocytes 0.4 on 25 Oct (CTCAE grade 3, < 0.5).  After the
    upgrade, the lab corrects the draw to 0.15 (grade 4, < 0.2; severity urgent).  The
    correction replaces the stored 0.4 (H132), so the draw holds no conflicting result and
    the legacy entry, which "covers its flag only while the draw holds no conflicting
    results", goes on covering a grade 4 nobody reviewed.  docs/workspace.md: "a lab that
    amends a result sends another value for the same draw ... the review of the first value
    does not cover it"."""
    monkeypatch.setattr("dashboard.store.migrations.MIGRATIONS", schema.MIGRATIONS[:3])
    monkeypatch.setattr("dashboard.store.migrations.latest_version", lambda: 3)
    monkeypatch.setattr("dashboard.store.workspace.latest_version", lambda: 3)
    ws.create()  # what the older dashboard wrote
    key = "2002|ctcae.lymphocytes|2026-10-25T08:30:00|lymphocytes"
    con = duckdb.connect(str(ws.db_path))
    con.execute(
        "INSERT INTO reviews VALUES (1, '2002', ?, 'ctcae.lymphocytes', 'lymphocytes', ?, 'repeat test', "
        "'repeat lymphocytes', 'Dr A', ?, NULL)",
        [key, dt.datetime(2026, 10, 25, 8, 30), dt.datetime(2026, 11, 6, 10, 0)],
    )
    con.close()
    monkeypatch.undo()
    ws = Workspace(ws.path, timeout=20, clock=Clock(dt.datetime(2026, 11, 6, 11, 0)))
    _import(ws, "doses.csv", DOSE_HEAD + "2002,mycophenolate mofetil,1000,mg,BID,oral,2026-05-01,\n")
    _import(ws, "labs-w1.csv", MMF_LABS)
    assert ws.info()["schema_version"] == schema.latest_version()
    before = open_panel(ws).open_flags(W1).set_index("flag_key")
    assert before.loc[key, "reviewed"]  # the old review covers the 0.4 it was about
    _import(ws, "labs-w2.csv", HEAD + "2002,2026-10-25 08:30,Lymphocytes,0.15,10^9/L,1.0-4.0,Corrected\n")
    after = open_panel(ws).open_flags(W1).set_index("flag_key")
    assert after.loc[key, "value"] == 0.15 and after.loc[key, "severity"] == "urgent"
    assert not after.loc[key, "reviewed"]  # fails today: "reviewed: repeat test"


# --------------------------------------------------------------------------- F7 two dose exports in one import


def test_two_dose_exports_imported_together_end_the_dose_as_the_workspace_does():
    """Week 1's dose export: methotrexate 20 mg weekly from 1 Mar, ongoing.  Week 2's: the
    same row ended on 10 Nov, and 15 mg weekly from 10 Nov (reduced after the ALT of 130).
    Imported one after the other into the workspace, the end is recorded (docs/workspace.md)
    and on 20 Nov only 15 mg/week is in force.  The same two files uploaded together (Home,
    session only) or given to `python -m dashboard review` keep the week-1 row ongoing beside
    the ended copy: "Methotrexate 35 mg/week in all" and an open dose check "35 mg/week > 30"
    (action), although nobody prescribed more than 20.  By hand: on 20 Nov the 20 mg row
    ended 10 days before, so 15 mg/week is the only methotrexate in force."""
    from dashboard.ingest import import_sources

    week1 = DOSE_HEAD + "2001,methotrexate,20,mg,weekly,oral,2026-03-01,\n"
    week2 = (
        DOSE_HEAD
        + "2001,methotrexate,20,mg,weekly,oral,2026-03-01,2026-11-10\n"
        + "2001,methotrexate,15,mg,weekly,oral,2026-11-10,\n"
    )
    result = import_sources([Source("doses-w1.csv", week1.encode()), Source("doses-w2.csv", week2.encode())])
    doses = model.to_pandas("doses", result.doses)
    live = model.doses_in_force(doses, dt.date(2026, 11, 20))
    assert sorted(live["dose"]) == [15.0]
