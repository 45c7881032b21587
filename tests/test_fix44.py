"""Fixes of probe 44 (H620-H629) beyond the probe's own pinned tests (tests/test_probe44.py).

Expected values are worked by hand: platelets 40 x10^9/L is CTCAE grade 3 (< 50-25) and below
the BSR limit of 140; neutrophils 1.2 x10^9/L is CTCAE grade 2 (< 1.5-1.0).
"""

from __future__ import annotations

import datetime as dt

import pytest

from dashboard.identity import lookalike_groups, skeleton
from dashboard.ingest import Source
from dashboard.store import Workspace
from dashboard.store.panel import open_panel
from tests.store.helpers import Clock, store_import
from tests.support import assert_balanced


@pytest.fixture
def ws(tmp_path, monkeypatch) -> Workspace:
    path = tmp_path / "workspace"
    monkeypatch.setenv("DASHBOARD_WORKSPACE", str(path))
    return Workspace(path, timeout=20, clock=Clock())


imp = store_import


# --------------------------------------------------------------------------- H622: ="0012345"


def test_h622_excels_text_formula_is_compared_as_the_text_it_wraps():
    assert skeleton('="0012345"') == skeleton("0012345") == "0012345"
    assert lookalike_groups(['="0012345"', "0012345"]) == [["0012345", '="0012345"']]  # sorted as text
    # an empty formula, or one around another id, is not that id
    assert lookalike_groups(['=""', "0012345"]) == []
    assert lookalike_groups(['="0012346"', "0012345"]) == []
    # never merged: both ids stay, named as look-alikes, not as one
    assert skeleton('="0012345"') != skeleton("12345")


def test_h622_an_import_beside_an_id_stored_in_its_text_formula_names_the_pair(ws, monkeypatch):
    """A workspace that kept '="0012345"' (read before H551) and tonight's '0012345': the
    import report names the two ids as look-alikes, and both patients stay apart."""
    from dashboard.ingest import identity as ingest_identity

    monkeypatch.setattr(ingest_identity, "read_id", lambda pid: (pid, ""))  # the reading before H551
    monkeypatch.setattr(ingest_identity, "NEEDS_READING", r"^\x00$")
    imp(
        ws,
        "old.csv",
        'MRN,Collection Date,Component,Result,Units\n"=""0012345""",2024-04-15 09:00,Neutrophils,1.2,10^9/L\n',
    )
    monkeypatch.undo()
    assert set(open_panel(ws).patients["patient_id"]) == {'="0012345"'}
    out = imp(
        ws,
        "new.csv",
        'MRN,Collection Date,Component,Result,Units\n"=""0012345""",2024-05-15 09:00,Neutrophils,1.1,10^9/L\n',
    )
    said = out.report.to_text()
    assert "look alike" in said and '="0012345"' in said and "0012345 in new.csv" in said, said
    assert set(open_panel(ws).patients["patient_id"]) == {'="0012345"', "0012345"}


# --------------------------------------------------------------------------- H624: severity only


def _one_flag(grade: int | None, severity: str, message: str = "", context: str = ""):
    import pandas as pd

    return pd.DataFrame(
        {
            "patient_id": ["011"],
            "rule": ["bsr.neutrophils_low"],
            "collected_at": [pd.Timestamp("2024-08-20 09:00")],
            "analyte": ["neutrophils"],
            "value": [1.3],
            "comparator": [""],
            "ctcae_grade": [grade],
            "severity": [severity],
            "message": [message],
            "dose_context": [context],
        }
    )


def _one_review(grade: int | None, severity: str):
    import pandas as pd

    return pd.DataFrame(
        {
            "review_id": [1],
            "patient_id": ["011"],
            "flag_key": ["011|bsr.neutrophils_low|2024-08-20T09:00:00|neutrophils"],
            "rule_id": ["bsr.neutrophils_low"],
            "analyte": ["neutrophils"],
            "collected_at": [pd.Timestamp("2024-08-20 09:00")],
            "action": ["continue"],
            "note": [""],
            "reviewer": ["Dr Old"],
            "reviewed_at": [pd.Timestamp("2024-08-25 10:00")],
            "corrects": [None],
            "value": [1.3],
            "comparator": [""],
            "grade": [grade],
            "severity": [severity],
            "seq": [None],
        }
    )


def test_h624_a_severity_raised_by_no_drug_in_force_says_so():
    from dashboard.reviews import with_review_status
    from dashboard.rules.data import caveat

    flags = _one_flag(2, "action", f"Neutrophils 1.3 < 1.6 — {caveat('no_monitored_drug')}", "none in force")
    [lapse] = with_review_status(flags, _one_review(2, "caution"), rule_col="rule")["review_lapsed"]
    assert lapse.startswith("severity changed from caution to action (grade G2 unchanged; no monitored drug"), lapse
    assert "regraded" not in lapse and "since the review by Dr Old on 25 Aug 2024" in lapse


def test_h624_a_severity_raised_otherwise_names_no_cause_it_cannot_know_and_says_a_lower_grade():
    from dashboard.reviews import with_review_status

    flags = _one_flag(1, "action", "Neutrophils 1.3 < 1.6", "Methotrexate 15 mg/week")
    [lapse] = with_review_status(flags, _one_review(2, "caution"), rule_col="rule")["review_lapsed"]
    assert "severity changed from caution to action" in lapse and "grade now G1, was G2" in lapse, lapse
    assert "the profile, the rules or the doses in force judge it otherwise now" in lapse
    assert "Methotrexate" not in lapse  # the doses now are not named as the cause
    # a higher grade is still a regrade
    [lapse] = with_review_status(_one_flag(3, "action"), _one_review(2, "caution"), rule_col="rule")["review_lapsed"]
    assert lapse.startswith("regraded from G2 (caution) to G3 (action)"), lapse
    # a milder severity at the same grade: still covered
    [done] = with_review_status(_one_flag(2, "caution"), _one_review(2, "action"), rule_col="rule")["reviewed"]
    assert done


# --------------------------------------------------------------------------- H623: start basis


def _statement_bundle() -> bytes:
    from tests.test_probe44 import ASSERTED

    return ASSERTED


#: the same azathioprine dose as the statement (100 mg daily from 2024-03-01), as a dose sheet gives it
SHEET = "patient,drug,dose,unit,frequency,start\np4,azathioprine,100,mg,daily,2024-03-01\n"


def _alt(ws: Workspace) -> dict:
    flags = open_panel(ws).open_flags(dt.date(2024, 5, 1))
    return next(r for r in flags.to_dict("records") if r["rule"] == "ctcae.alt")


def test_h623_a_statement_after_a_sheet_of_the_same_dose_takes_the_cautious_start(ws):
    """The sheet's start read as the day the drug started gives ALT 90 (15 Feb) as the
    baseline: 250 >= 1.5 x 90 is CTCAE grade 1 by baseline.  The statement of the same dose
    says 2024-03-01 is only the day it was recorded: the stored row takes that, said on the
    report and in the dose edits, and ALT 250 is graded on the ULN: 250/40 = 6.25 x ULN, G3."""
    imp(ws, "doses.csv", SHEET)
    imp(
        ws,
        "alt.csv",
        "MRN,Collection Date,Component,Result,Units,Reference Range\n"
        "p4,2024-02-15 09:00,ALT,90,U/L,0-40\np4,2024-04-15 09:00,ALT,250,U/L,0-40\n",
    )
    # baseline 90 (abnormal, > ULN 40): 250 / 90 = 2.8 x baseline, CTCAE G1 (> 1.5-3.0 x baseline)
    assert _alt(ws)["ctcae_grade"] == 1
    out = imp(ws, "export.json", _statement_bundle())
    said = out.report.to_text()
    assert "recorded on the row of import #1" in said and "pre-treatment baseline" in said, said
    assert _alt(ws)["ctcae_grade"] == 3
    doses = open_panel(ws).doses
    assert doses[doses["drug"] == "azathioprine"]["start_basis"].tolist() == ["recorded"]
    [edit] = ws.dose_edits("p4").to_pylist()
    assert edit["action"] == "start basis from import" and "export.json" in edit["detail"], edit


def test_h623_a_sheet_after_a_statement_keeps_the_cautious_start_and_says_so(ws):
    imp(ws, "export.json", _statement_bundle())
    out = imp(ws, "doses.csv", SHEET)
    said = out.report.to_text()
    assert "the cautious reading of import #1 is kept" in said, said
    assert _alt(ws)["ctcae_grade"] == 3


def test_h623_one_import_of_both_keeps_one_dose_on_the_cautious_start(ws):
    out = ws.import_sources([Source("doses.csv", SHEET.encode()), Source("export.json", _statement_bundle())], by="t")
    assert_balanced(out)
    doses = open_panel(ws).doses
    assert doses[doses["drug"] == "azathioprine"]["start_basis"].tolist() == ["recorded"]
    assert "pre-treatment baseline" in out.report.to_text()
    assert _alt(ws)["ctcae_grade"] == 3


# --------------------------------------------------------------------------- H625: reader version


DOSES_CSV = "patient,drug,dose,unit,frequency,start\n001,azathioprine,100,mg,daily,2024-01-01\n"


def test_h625_a_file_read_by_todays_readers_is_skipped_as_before(ws):
    from dashboard.ingest.version import READER_VERSION

    imp(ws, "doses.csv", DOSES_CSV)
    out = ws.import_sources([Source("doses-again.csv", DOSES_CSV.encode())], by="t")
    [skip] = out.skipped
    assert skip.read_by == READER_VERSION and not skip.read_earlier
    assert str(skip).endswith("import #1; nothing changed") and "(as doses.csv)" in str(skip)
    assert out.to_dict()["skipped"][0]["read_by"] == READER_VERSION


def test_h625_a_file_read_by_an_earlier_reader_version_is_said_and_left_as_stored(ws, monkeypatch):
    from dashboard.ingest.version import READER_VERSION

    imp(ws, "doses.csv", DOSES_CSV)
    monkeypatch.setattr("dashboard.store.merge.READER_VERSION", READER_VERSION + 1)  # a later fix
    out = ws.import_sources([Source("doses.csv", DOSES_CSV.encode())], by="t")
    said = out.summary()
    assert f"by reader version {READER_VERSION} (now {READER_VERSION + 1})" in said, said
    assert "may read differently now" in said and "python -m dashboard review FILE" in said
    assert out.to_dict()["skipped"][0]["read_by_earlier_version"] is True
    assert not out.stored and len(open_panel(ws).doses) == 1  # nothing rewritten


def test_h625_migration_12_records_the_version_from_then_on(ws, monkeypatch):
    """A workspace of schema 11 (no versions): its files are said as read before versions were
    recorded; a file imported after the migration is recorded with today's version."""
    from dashboard.store import schema

    monkeypatch.setattr("dashboard.store.migrations.MIGRATIONS", schema.MIGRATIONS[:11])
    monkeypatch.setattr("dashboard.store.migrations.latest_version", lambda: 11)
    monkeypatch.setattr("dashboard.store.workspace.latest_version", lambda: 11)
    imp(ws, "doses.csv", DOSES_CSV)
    monkeypatch.undo()
    other = "patient,drug,dose,unit,frequency,start\n002,azathioprine,50,mg,daily,2024-01-01\n"
    out = ws.import_sources([Source("doses.csv", DOSES_CSV.encode()), Source("more.csv", other.encode())], by="t")
    assert_balanced(out)
    [skip] = out.skipped
    assert skip.read_by is None and "before reader versions were recorded" in str(skip)
    assert ws.info()["schema_version"] == 13
    again = ws.import_sources([Source("more.csv", other.encode())], by="t")
    assert not again.skipped[0].read_earlier


# --------------------------------------------------------------------------- H620/H621: withdrawn


def test_h620_h621_a_decision_about_a_withdrawn_and_a_current_result_stays_a_current_decision(ws):
    """Platelets 40 (CTCAE G3, < BSR 140) and neutrophils 1.2 (CTCAE G2, < BSR 1.6) of one
    draw, "withhold" recorded on all four flags; the lab withdraws the platelets only.  The
    withhold still rests on the neutrophils: the Patient page asks for the dose change as
    before, and the panel export says one of the two results reviewed was withdrawn."""
    from dashboard import summary_export as sx
    from dashboard.reviews import decisions_not_in_doses, results_of, reviews_for

    h = "MRN,Collection Date,Component,Result,Units,Reference Range,Status\n"
    nov = dt.date(2026, 11, 20)
    imp(ws, "doses.csv", "patient,drug,dose,unit,frequency,start,end\np1,azathioprine,100,mg,daily,2026-01-05,\n")
    imp(
        ws,
        "w1.csv",
        h + "p1,2026-10-20 09:00,Platelets,40,10^9/L,150-400,Final\n"
        "p1,2026-10-20 09:00,Neutrophils,1.2,10^9/L,2.0-7.5,Final\n",
    )
    flags = open_panel(ws).open_flags(nov)
    assert len(flags) == 4
    ws.add_reviews(reviews_for("p1", list(flags["flag_key"]), "withhold", "held", results_of(flags)), by="Dr A")
    imp(ws, "w2.csv", h + "p1,2026-10-20 09:00,Platelets,40,10^9/L,150-400,Entered in error\n")
    panel = open_panel(ws)
    [line] = decisions_not_in_doses(panel.reviews, panel.doses, "p1", nov)
    assert "withdrawn" not in line and line.startswith("'withhold' recorded by Dr A"), line
    row = sx.panel_frame(panel.labs, panel.doses, panel.patients, panel.reviews, nov, panel.baselines).iloc[0]
    assert row["Last review action"].startswith("withhold (1 of 2 results reviewed withdrawn by the lab on "), row
