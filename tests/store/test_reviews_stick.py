"""Audit 3: a clinician's review sticks to the result it was about, and only to it.

One patient (70 kg, TPMT normal) on azathioprine 100 mg daily since 1 Jan 2024;
neutrophils 3.0 on 15 Mar and 1.2 ×10⁹/L on 15 Apr 2024 at 09:00.  By hand: 1.2 is below
the BSR limit 1.6 (rule bsr.neutrophils_low) and CTCAE v5.0 grade 2 (< 1.5 - 1.0), so two
flags are open on 1 May 2024, both on the 15 Apr result.  A review of both must survive a
re-import of the same file, the same results in another order under another file name, a
later as-of date, the BSR 2017 profile and reopening the workspace; a later result of 0.8
(grade 3, < 1.0 - 0.5) opens two new, unreviewed flags.
"""

from __future__ import annotations

import datetime as dt

import pytest

from dashboard.ingest import Source
from dashboard.reviews import results_of, reviews_for
from dashboard.store import Workspace
from dashboard.store.panel import open_panel

DOSES = "patient,drug,dose,unit,frequency,start,end\n001,Imuran,100,mg,daily,2024-01-01,\n"
PATIENTS = "patient,sex,date of birth,TPMT,diagnosis,weight\n001,F,1980-05-01,normal,SLE,70\n"
HEAD = "MRN,Collection Date,Component,Result,Units\n"
LABS = HEAD + "001,2024-03-15 09:00,Neutrophils,3.0,10^9/L\n001,2024-04-15 09:00,Neutrophils,1.2,10^9/L\n"
AS_OF = dt.date(2024, 5, 1)
APRIL = "2024-04-15T09:00:00"


def _flags(ws: Workspace, as_of: dt.date = AS_OF, profile: str | None = None) -> dict[str, bool]:
    f = open_panel(ws).open_flags(as_of, profile)
    return dict(zip(f["flag_key"], f["reviewed"], strict=True))


@pytest.fixture
def reviewed(ws: Workspace) -> Workspace:
    for name, text in (("doses.csv", DOSES), ("patients.csv", PATIENTS), ("labs.csv", LABS)):
        ws.import_sources([Source(name, text.encode())], by="t")
    keys = list(_flags(ws))
    assert sorted(keys) == [
        f"001|bsr.neutrophils_low|{APRIL}|neutrophils",
        f"001|ctcae.neutrophils|{APRIL}|neutrophils",
    ]
    # as the app records it: each flag with the value and comparator of its result (1.2)
    shown = open_panel(ws).open_flags(AS_OF)
    ws.add_reviews(reviews_for("001", keys, "continue", "recheck in 2 weeks", results_of(shown)), by="Dr A")
    return ws


def test_the_review_survives_reimports_dates_profiles_and_reopening(reviewed, tmp_workspace_env):
    reviewed.import_sources([Source("labs.csv", LABS.encode())], by="t")  # the same file
    moved = HEAD + "001,2024-04-15 09:00,Neutrophils,1.2,10^9/L\n001,2024-03-15 09:00,Neutrophils,3.0,10^9/L\n"
    reviewed.import_sources([Source("april-export.csv", moved.encode())], by="t")  # other rows, other name
    assert list(_flags(reviewed).values()) == [True, True]
    assert list(_flags(reviewed, dt.date(2024, 9, 1)).values()) == [True, True]
    assert list(_flags(reviewed, profile="BSR 2017 / NICE").values()) == [True, True]
    assert list(_flags(Workspace(tmp_workspace_env)).values()) == [True, True]


def test_a_later_abnormal_result_opens_new_unreviewed_flags(reviewed):
    later = HEAD + "001,2024-04-29 09:00,Neutrophils,0.8,10^9/L\n"
    reviewed.import_sources([Source("labs-may.csv", later.encode())], by="t")
    flags = _flags(reviewed)
    assert sorted(flags) == [
        "001|bsr.neutrophils_low|2024-04-29T09:00:00|neutrophils",
        "001|ctcae.neutrophils|2024-04-29T09:00:00|neutrophils",
    ]
    assert not any(flags.values())


def test_an_amended_more_severe_result_of_the_same_draw_is_not_covered_by_the_old_review(reviewed):
    """The lab corrects the 15 Apr result to 0.4 (CTCAE grade 4, < 0.5): the draw now holds
    1.2 and 0.4 and the more severe counts.  The review was of 1.2 (grade 2): the grade 4
    finding has not been reviewed and must show as such."""
    amended = HEAD + "001,2024-04-15 09:00,Neutrophils,0.4,10^9/L\n"
    reviewed.import_sources([Source("labs-amended.csv", amended.encode())], by="t")
    f = open_panel(reviewed).open_flags(AS_OF)
    assert (f["value"] == 0.4).all()  # the flags are now about 0.4
    assert not f["reviewed"].any()


def test_a_review_recorded_before_values_were_kept_covers_its_flag_until_the_draw_is_amended(ws):
    """An entry of a workspace from before schema 4 has no value: it still covers its flag
    (the key names the draw), but not once the draw holds another value (1.2 and 0.4)."""
    for name, text in (("doses.csv", DOSES), ("patients.csv", PATIENTS), ("labs.csv", LABS)):
        ws.import_sources([Source(name, text.encode())], by="t")
    ws.add_reviews(reviews_for("001", list(_flags(ws)), "continue"), by="Dr A")  # no values
    assert list(_flags(ws).values()) == [True, True]
    amended = HEAD + "001,2024-04-15 09:00,Neutrophils,0.4,10^9/L\n"
    ws.import_sources([Source("labs-amended.csv", amended.encode())], by="t")
    assert not any(_flags(ws).values())


def test_the_value_reviewed_is_kept_in_the_log(reviewed):
    log = open_panel(reviewed).reviews
    assert sorted(log["value"].tolist()) == [1.2, 1.2]
    assert log["comparator"].fillna("").tolist() == ["", ""]
