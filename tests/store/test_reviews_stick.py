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


# --------------------------------------------------------------------------- probe 6 F1, F2


def _review_all(ws: Workspace, pid: str, as_of: dt.date = AS_OF) -> None:
    """Acknowledge every open flag of the patient, as the Patient page's form records it."""
    shown = open_panel(ws).open_flags(as_of)
    mine = shown[shown["patient_id"] == pid]
    assert len(mine)
    ws.add_reviews(reviews_for(pid, list(mine["flag_key"]), "continue", "", results_of(mine)), by="Dr A")


def _acknowledged(ws: Workspace, pid: str, as_of: dt.date = AS_OF) -> bool:
    from dashboard.panel import panel_table, with_reviews
    from dashboard.rules import review_dataset

    p = open_panel(ws)
    ds = p.dataset()
    table = with_reviews(panel_table(ds, review_dataset(ds, None, as_of)), p.open_flags(as_of), p.reviews)
    return bool(table.loc[table["Patient"] == pid, "_acknowledged"].iloc[0])


def test_a_grade_1_review_does_not_cover_the_same_result_regraded_3_by_a_back_filled_baseline(ws):
    """H119 (probe 6 F1).  Methotrexate since 1 Jan 2024; creatinine 100 (15 Feb) and 150
    µmol/L (15 Apr), the lab's range 45-110.  Without a pre-treatment result CTCAE grades on
    the ULN: 150 / 110 = 1.36 x ULN, grade 1 (> ULN - 1.5 x ULN), severity info.  Dr A
    reviews it "continue".  Then an older file brings the pre-treatment creatinine 45 (1 Dec
    2023): 150 / 45 = 3.33 x baseline, CTCAE v5.0 grade 3 (> 3.0 x baseline), severity
    action.  Nobody reviewed a grade 3: the flag is open again and says why."""
    doses = "patient,drug,dose,unit,frequency,start,end\n001,methotrexate,15,mg,weekly,2024-01-01,\n"
    patients = "patient,sex,date of birth,diagnosis,weight\n001,F,1980-05-01,RA,70\n"
    head = "MRN,Collection Date,Component,Result,Units,Reference Range\n"
    labs = (
        head + "001,2024-02-15 09:00,Creatinine,100,umol/L,45-110\n001,2024-04-15 09:00,Creatinine,150,umol/L,45-110\n"
    )
    for name, text in (("d.csv", doses), ("p.csv", patients), ("l.csv", labs)):
        ws.import_sources([Source(name, text.encode())], by="t")
    before = open_panel(ws).open_flags(AS_OF)
    [grade1] = before.loc[before["rule"] == "ctcae.creatinine", "ctcae_grade"]
    assert grade1 == 1
    _review_all(ws, "001")
    assert open_panel(ws).open_flags(AS_OF)["reviewed"].all()
    ws.import_sources(
        [Source("old.csv", (head + "001,2023-12-01 09:00,Creatinine,45,umol/L,45-110\n").encode())], by="t"
    )
    after = open_panel(ws).open_flags(AS_OF)
    ctcae = after[after["rule"] == "ctcae.creatinine"]
    assert list(ctcae["ctcae_grade"]) == [3]
    assert not ctcae["reviewed"].any()
    [lapsed] = ctcae["review_lapsed"]
    assert lapsed.startswith("regraded from G1 (info) to G3 (action) since the review by Dr A on ")
    assert not _acknowledged(ws, "001")


def test_a_review_still_covers_its_flag_when_the_judgement_is_unchanged_or_milder(ws):
    """H119: the judgement recorded does not reopen a flag judged the same (reopening and a
    later as-of date) or milder (the BSR 2017 profile grades the same 1.2 the same way)."""
    for name, text in (("doses.csv", DOSES), ("patients.csv", PATIENTS), ("labs.csv", LABS)):
        ws.import_sources([Source(name, text.encode())], by="t")
    _review_all(ws, "001")
    log = open_panel(ws).reviews
    assert sorted(log["grade"].tolist()) == [2, 2]  # 1.2 is CTCAE grade 2 (< 1.5 - 1.0)
    assert sorted(log["seq"].tolist()) == [1, 1]  # the second neutrophil count of the series
    assert set(log["severity"]) <= {"info", "caution", "action", "urgent"}
    assert all(_flags(ws).values()) and all(_flags(ws, dt.date(2024, 9, 1)).values())


def test_a_late_grade_4_result_is_not_acknowledged_by_the_review_of_a_later_draw(ws):
    """H120 (probe 6 F2).  Azathioprine since 1 Jan 2024.  Neutrophils 3.0 (15 Mar), 1.2 (15
    Apr): BSR < 1.6 and CTCAE grade 2, reviewed "continue" on 1 May.  An outside lab's
    result arrives afterwards: neutrophils 0.3 on 10 Apr, CTCAE grade 4 (< 0.5).  Nobody has
    seen it: the 15 Apr flags are open again, saying a result arrived, and the patient is
    not acknowledged (never hidden by 'Hide acknowledged')."""
    from dashboard.panel import PanelFilter, filter_panel, panel_table, with_reviews
    from dashboard.rules import review_dataset

    for name, text in (("doses.csv", DOSES), ("patients.csv", PATIENTS), ("labs.csv", LABS)):
        ws.import_sources([Source(name, text.encode())], by="t")
    _review_all(ws, "001")
    ws.import_sources(
        [Source("outside-lab.csv", (HEAD + "001,2024-04-10 09:00,Neutrophils,0.3,10^9/L\n").encode())], by="t"
    )
    flags = open_panel(ws).open_flags(AS_OF)
    assert "open since 2024-04-10" in " ".join(flags["message"])  # the episode now starts at the 0.3
    assert not flags["reviewed"].all()
    assert any("1 earlier result of this test arrived since the review by Dr A" in t for t in flags["review_lapsed"])
    p = open_panel(ws)
    ds = p.dataset()
    table = with_reviews(panel_table(ds, review_dataset(ds, None, AS_OF)), p.open_flags(AS_OF), p.reviews)
    assert not table.loc[table["Patient"] == "001", "_acknowledged"].iloc[0]
    hide = PanelFilter(hide_acknowledged=True)
    assert "001" in set(filter_panel(table, hide)["Patient"])


def test_a_review_from_before_judgements_were_kept_covers_as_before(ws):
    """H119: an entry of a workspace from before schema 6 has a value but no judgement:
    it covers its flag as it did (the late result and the regrade cannot be told)."""
    for name, text in (("doses.csv", DOSES), ("patients.csv", PATIENTS), ("labs.csv", LABS)):
        ws.import_sources([Source(name, text.encode())], by="t")
    shown = open_panel(ws).open_flags(AS_OF)
    values = {k: (v, c) for k, (v, c, *_rest) in results_of(shown).items()}  # value and comparator only
    ws.add_reviews(reviews_for("001", list(shown["flag_key"]), "continue", "", values), by="Dr A")
    assert open_panel(ws).reviews["severity"].isna().all()
    assert all(_flags(ws).values())
