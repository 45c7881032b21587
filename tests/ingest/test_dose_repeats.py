"""The same dose given again, and another dose from the same start: one rule for an import
of several files and for the workspace (``dashboard/ingest/dose_repeats.py``; probe 16 F3,
F7; H325-H327).

Expected values are worked out by hand: a dose row in force on a date is one whose start is
on or before it and whose end (if any) is after it; rows of one drug in force together are
added up (H240): tacrolimus 3 mg BID + 2 mg BID = 5 mg BID = 10 mg/day.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest

from dashboard import model
from dashboard.dataset import Dataset
from dashboard.ingest import Source, import_sources
from dashboard.rules.review import review_dataset
from dashboard.store import Workspace
from dashboard.store.panel import open_panel
from tests.store.helpers import Clock
from tests.support import assert_balanced

HEAD = "patient,drug,dose,unit,frequency,route,start,end\n"
# week 1: methotrexate 20 mg weekly from 1 Mar, ongoing (and an end column with an end,
# so that the file is read as dose intervals, not as a change log)
WEEK1 = (
    HEAD
    + "2001,methotrexate,20,mg,weekly,oral,2026-03-01,\n2009,hydroxychloroquine,200,mg,daily,oral,2025-01-01,2025-06-01\n"
)
# week 2: the same row ended 10 Nov, and 15 mg weekly from 10 Nov
WEEK2 = (
    HEAD
    + "2001,methotrexate,20,mg,weekly,oral,2026-03-01,2026-11-10\n2001,methotrexate,15,mg,weekly,oral,2026-11-10,\n"
)
NOV20 = dt.date(2026, 11, 20)


def src(name: str, text: str) -> Source:
    return Source(name, text.encode())


def said(result, name: str, row: int) -> list[str]:
    [f] = [f for f in result.report.files if f.path == name]
    return [w.message for w in [*f.warnings, *f.problems] if w.row == row]


def in_force(doses, day: dt.date, drug: str = "methotrexate") -> list[float]:
    live = model.doses_in_force(doses, day)
    return sorted(live[live["drug"] == drug]["dose"])


def shape(doses: pd.DataFrame) -> set[tuple]:
    """What a dose table says of each dose, whatever its provenance."""
    return {
        (r.patient_id, r.drug, r.dose, r.frequency, r.start, None if pd.isna(r.end) else r.end)
        for r in doses.itertuples()
    }


@pytest.fixture
def ws(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Workspace:
    monkeypatch.setenv("DASHBOARD_WORKSPACE", str(tmp_path / "ws"))
    return Workspace(tmp_path / "ws", timeout=20, clock=Clock())


# --------------------------------------------------------------------------- F7: one import of two exports


def test_two_exports_imported_together_end_the_dose_on_the_first_row():
    result = import_sources([src("a.csv", WEEK1), src("b.csv", WEEK2)])
    doses = model.to_pandas("doses", result.doses)
    # by hand: the 20 mg row ended on 10 Nov, ten days before 20 Nov; 15 mg from 10 Nov
    assert in_force(doses, NOV20) == [15.0]
    assert in_force(doses, dt.date(2026, 11, 9)) == [20.0]  # before its end, the 20 mg alone
    mtx = doses[doses["drug"] == "methotrexate"].sort_values("start")
    assert list(mtx["dose"]) == [20.0, 15.0]  # one 20 mg row, not two
    assert list(mtx["source_file"]) == ["a.csv", "b.csv"]  # the row kept is a.csv's
    assert mtx["end"].iloc[0] == dt.datetime(2026, 11, 10)
    assert said(result, "b.csv", 2) == [
        "same dose already imported (a.csv row 2): the end date 2026-11-10 given by b.csv recorded on the row of a.csv"
    ]
    [b] = [f for f in result.report.files if f.path == "b.csv"]
    assert (b.rows_read, b.rows_accepted, b.duplicates) == (2, 1, 1)
    assert_balanced(result)


def test_two_exports_imported_together_raise_no_false_methotrexate_check():
    """By hand: 20 mg/week until 10 Nov, 15 mg/week from then: never above 30 mg/week (the
    3E top of range), so no methotrexate amount check; before the fix, 20 + 15 = 35 > 30."""
    result = import_sources([src("a.csv", WEEK1), src("b.csv", WEEK2)])
    checks = review_dataset(Dataset.from_import(result, "two files"), as_of=NOV20).dose_checks_df()
    assert checks[checks["drug"] == "methotrexate"].empty


def test_the_older_export_second_keeps_the_end_and_says_so():
    """Week 2's export first, then week 1's re-sent: the 20 mg row keeps its end (the first
    file's, as the workspace keeps the stored one) and the report says a.csv gives none."""
    result = import_sources([src("b.csv", WEEK2), src("a.csv", WEEK1)])
    assert in_force(model.to_pandas("doses", result.doses), NOV20) == [15.0]
    assert said(result, "a.csv", 2) == [
        "same dose already imported (b.csv row 2): a.csv gives it no end: the end date 2026-11-10 of b.csv is kept"
    ]


def test_one_file_giving_a_dose_ongoing_and_ended_is_one_dose():
    text = (
        HEAD
        + "2001,methotrexate,20,mg,weekly,oral,2026-03-01,\n2001,methotrexate,20,mg,weekly,oral,2026-03-01,2026-11-10\n"
    )
    result = import_sources([src("d.csv", text)])
    doses = model.to_pandas("doses", result.doses)
    assert len(doses) == 1 and doses["end"].iloc[0] == dt.datetime(2026, 11, 10)
    assert in_force(doses, NOV20) == []
    assert said(result, "d.csv", 3) == [
        "same dose already imported: the end date 2026-11-10 given by this row recorded on the row of row 2"
    ]
    assert_balanced(result)


def test_two_different_ends_are_said_and_the_first_is_kept_as_the_workspace_keeps_it(ws):
    ended_late = WEEK2.replace("2026-11-10\n", "2026-12-01\n", 1)
    ended_early = WEEK2
    result = import_sources([src("b.csv", ended_early), src("c.csv", ended_late)])
    assert said(result, "c.csv", 2) == [
        "same dose already imported (b.csv row 2): the end dates disagree: 2026-11-10 in b.csv, 2026-12-01 in "
        "c.csv; the end of b.csv (2026-11-10) is kept: check which is right and correct the dose record"
    ]
    # the workspace, one import after the other: the same conflict, the stored end kept
    ws.import_sources([src("b.csv", ended_early)], by="t")
    out = ws.import_sources([src("c.csv", ended_late)], by="t")
    assert said(out, "c.csv", 2) == [
        "same dose already in the workspace: the end dates disagree: 2026-11-10 in import #1, 2026-12-01 in "
        "c.csv; the end of import #1 (2026-11-10) is kept: check which is right and correct the dose record"
    ]
    stored = open_panel(ws).doses
    assert sorted(stored[stored["dose"] == 20.0]["end"]) == [dt.datetime(2026, 11, 10)]


def test_together_or_one_after_the_other_the_same_doses(ws, tmp_path):
    ws.import_sources([src("a.csv", WEEK1)], by="t")
    out = ws.import_sources([src("b.csv", WEEK2)], by="t")
    assert said(out, "b.csv", 2) == [
        "same dose already in the workspace: the end date 2026-11-10 given by b.csv recorded on the row of import #1"
    ]
    one_by_one = open_panel(ws).doses
    together = model.to_pandas("doses", import_sources([src("a.csv", WEEK1), src("b.csv", WEEK2)]).doses)
    other = Workspace(tmp_path / "other", timeout=20, clock=Clock())
    other.import_sources([src("a.csv", WEEK1), src("b.csv", WEEK2)], by="t")
    in_one_upload = open_panel(other).doses
    expected = {
        ("2001", "methotrexate", 20.0, "weekly", dt.datetime(2026, 3, 1), dt.datetime(2026, 11, 10)),
        ("2001", "methotrexate", 15.0, "weekly", dt.datetime(2026, 11, 10), None),
        ("2009", "hydroxychloroquine", 200.0, "daily", dt.datetime(2025, 1, 1), dt.datetime(2025, 6, 1)),
    }
    for doses in (one_by_one, together, in_one_upload):
        assert shape(doses) == expected


# --------------------------------------------------------------------------- F3: another dose from the same start

TAC1 = HEAD + "2003,tacrolimus,3,mg,BID,oral,2026-07-01,\n"
TAC2 = HEAD + "2003,tacrolimus,2,mg,BID,oral,2026-07-01,\n"


def test_a_changed_dose_from_a_stored_start_is_said_with_the_total(ws):
    ws.import_sources([src("w1.csv", TAC1)], by="t")
    out = ws.import_sources([src("w2.csv", TAC2)], by="t")
    # both kept (never a dose picked), and said: 3 + 2 = 5 mg BID, 5 x 2 = 10 mg/day
    assert in_force(open_panel(ws).doses, dt.date(2026, 11, 13), "tacrolimus") == [2.0, 3.0]
    assert said(out, "w2.csv", 2) == [
        "Tacrolimus 2 mg BID oral from 2026-07-01 has the start of the stored 3 mg BID oral (import #1): both are "
        "read as taken together (5 mg BID, 10 mg/day); if this row replaces the 3 mg BID oral, give that row its "
        "end date"
    ]
    assert out.doses_added == 1


def test_a_changed_dose_from_the_start_of_another_file_of_the_import_is_said():
    result = import_sources([src("w1.csv", TAC1), src("w2.csv", TAC2)])
    assert said(result, "w2.csv", 2) == [
        "Tacrolimus 2 mg BID oral from 2026-07-01 has the start of the 3 mg BID oral (w1.csv row 2): both are read "
        "as taken together (5 mg BID, 10 mg/day); if this row replaces the 3 mg BID oral, give that row its end date"
    ]
    assert said(result, "w1.csv", 2) == []


def test_within_one_file_the_overlap_is_said_once():
    """Two doses from one start in one file are said by the file's own note, not a second
    time.  No tacrolimus row of patient 2003 gives an end date, so its rows are read as a
    change log (probe39 F6, H563): the note is the change log's note of two doses from one
    start (H327), with their total (3 + 2 = 5 mg BID)."""
    text = (
        TAC1
        + "2003,tacrolimus,2,mg,BID,oral,2026-07-01,\n2009,hydroxychloroquine,200,mg,daily,oral,2025-01-01,2025-06-01\n"
    )
    result = import_sources([src("t.csv", text)])
    notes = said(result, "t.csv", 3)
    assert len(notes) == 1 and "both are read as taken together (5 mg BID, 10 mg/day)" in notes[0]


def test_weekly_rows_from_one_start_are_totalled_per_week(ws):
    """Methotrexate 20 mg weekly oral stored; 20 mg weekly subcutaneous from the same start:
    by hand 20 + 20 = 40 mg weekly, 40 mg/week."""
    ws.import_sources([src("o.csv", HEAD + "2001,methotrexate,20,mg,weekly,oral,2026-03-01,\n")], by="t")
    out = ws.import_sources([src("s.csv", HEAD + "2001,methotrexate,20,mg,weekly,sc,2026-03-01,\n")], by="t")
    [note] = said(out, "s.csv", 2)
    assert "has the start of the stored 20 mg weekly oral (import #1)" in note
    assert "both are read as taken together (40 mg weekly, 40 mg/week)" in note


def test_a_pulse_from_the_start_of_a_daily_dose_is_not_said_to_add_up(ws):
    """An intravenous pulse is never added to a daily oral dose (H242)."""
    ws.import_sources([src("o.csv", HEAD + "2004,cyclophosphamide,100,mg,daily,oral,2026-03-01,\n")], by="t")
    out = ws.import_sources([src("p.csv", HEAD + "2004,cyclophosphamide,750,mg,monthly,iv,2026-03-01,\n")], by="t")
    [note] = said(out, "p.csv", 2)
    assert "not added up: they are not of one schedule" in note and "mg/day" not in note


def test_a_change_log_with_two_doses_from_one_start_says_them():
    """No end column: a change log, each dose lasting until the next change.  Two doses of
    one drug from one start both last until the next change: both in force, said."""
    result = import_sources([src("log.csv", TAC1 + "2003,tacrolimus,2,mg,BID,oral,2026-07-01,\n")])
    assert in_force(model.to_pandas("doses", result.doses), dt.date(2026, 11, 13), "tacrolimus") == [2.0, 3.0]
    assert said(result, "log.csv", 3) == [
        "Tacrolimus 2 mg BID oral from 2026-07-01 has the start of the 3 mg BID oral (row 2): both are read as "
        "taken together (5 mg BID, 10 mg/day); if this row replaces the 3 mg BID oral, give that row its end date"
    ]


def test_a_stored_dose_ended_on_that_start_is_not_in_force_with_it(ws):
    """A stored row from 1 Jul ended on 1 Jul is in force on no day: nothing to add up."""
    ws.import_sources([src("w1.csv", HEAD + "2003,tacrolimus,3,mg,BID,oral,2026-07-01,2026-07-01\n")], by="t")
    out = ws.import_sources([src("w2.csv", TAC2)], by="t")
    assert said(out, "w2.csv", 2) == []
