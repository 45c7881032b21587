"""Reading a stored import again with today's reader (H641-H646).

A workspace built by an earlier reading is played by storing the earlier reading's rows
under the hash of today's file, with the reader version lowered.  Expected values by hand:
neutrophils 1.2 x10^9/L is CTCAE grade 2 (< 1.5 - 1.0) and below the BSR limit 1.6;
platelets 90 x10^9/L is CTCAE grade 1 (< LLN - 75) and below the BSR limit 140; platelets
9 x10^9/L is CTCAE grade 4 (< 25).
"""

from __future__ import annotations

import datetime as dt
import hashlib

import pytest

from dashboard import views
from dashboard.ingest import Source
from dashboard.reviews import history_frame, results_of, reviews_for, with_review_status
from dashboard.store import Workspace
from dashboard.store import workspace as wsmod
from dashboard.store.panel import open_panel
from tests.store.helpers import store_import

PULSES = (
    "patient,drug,dose,unit,frequency,route,start\n"
    "006,cyclophosphamide,500,mg,once,IV,2024-01-01\n"
    "006,cyclophosphamide,500,mg,once,IV,2024-01-15\n"
    "006,cyclophosphamide,500,mg,once,IV,2024-01-29\n"
)
#: what a reader before H560 stored of PULSES: the later pulses joined to the first
PULSES_OLD = "patient,drug,dose,unit,frequency,route,start\n006,cyclophosphamide,500,mg,once,IV,2024-01-01\n"
H = "MRN,Collection Date,Component,Result,Units\n"
#: 30 % of WBC 4.0: today's reader rejects "Neut #" in % (H580)
LABS = (
    H
    + "001,2024-03-15 09:00,WBC,4.0,10^9/L\n001,2024-03-15 09:00,Neut #,30,%\n001,2024-03-15 09:00,Platelets,90,10^9/L\n"
)
#: what an earlier reader stored of LABS: the % read as an absolute count, 1.2 x10^9/L
LABS_OLD = (
    H + "001,2024-03-15 09:00,WBC,4.0,10^9/L\n001,2024-03-15 09:00,Neutrophils,1.2,10^9/L\n"
    "001,2024-03-15 09:00,Platelets,90,10^9/L\n"
)
DAY = dt.date(2024, 3, 20)


def store_old_reading(ws: Workspace, monkeypatch, name: str, today: str, old: str) -> None:
    """Store ``old`` (the earlier reader's rows) as the reading of the file ``today``, by reader version 0."""
    digest = hashlib.sha256(today.encode()).hexdigest()
    with monkeypatch.context() as m:
        m.setattr(wsmod.FileRecord, "of", classmethod(lambda cls, s: cls(s.name, digest, len(today.encode()))))
        m.setattr("dashboard.store.merge.READER_VERSION", 0)
        store_import(ws, name, old)


def snapshot(ws: Workspace) -> tuple:
    p = open_panel(ws)
    return (
        ws.info(),
        p.labs.sort_values(["analyte"]).to_csv(),  # as text: NaN equals NaN
        p.doses.to_csv(),
        len(ws.imports()),
        len(ws.reviews()),
    )


def test_three_pulses_stored_as_one_are_three_after_the_reread(ws, monkeypatch):
    store_old_reading(ws, monkeypatch, "doses.csv", PULSES, PULSES_OLD)
    [skip] = ws.import_sources([Source("doses.csv", PULSES.encode())], by="t").skipped
    assert "--reread" in str(skip) and "Read again with today's reader" in str(skip)
    before = snapshot(ws)
    preview = ws.reread([Source("doses.csv", PULSES.encode())], by="Dr A", dry_run=True)
    assert not preview.problems and not preview.applied
    assert snapshot(ws) == before  # a dry run changes nothing
    [i] = preview.imports
    assert [d["start"].date() for d in i.doses_added] == [dt.date(2024, 1, 15), dt.date(2024, 1, 29)]
    out = ws.reread([Source("renamed.csv", PULSES.encode())], by="Dr A")
    assert out.applied and not out.problems
    doses = open_panel(ws).doses
    assert sorted(doses["start"].dt.date) == [dt.date(2024, 1, 1), dt.date(2024, 1, 15), dt.date(2024, 1, 29)]
    assert set(doses["source_file"]) == {"doses.csv"}  # read under the name the import logged
    said = out.summary()
    assert "doses added (2)" in said and "import #1 (doses.csv" in said, said
    # the file is now today's reading: skipped plainly, and the log's entry offers no re-read
    [skip] = ws.import_sources([Source("doses.csv", PULSES.encode())], by="t").skipped
    assert not skip.read_earlier
    log = {e["import_id"]: e for e in ws.imports()}
    assert not log[1]["read_earlier"] and log[2]["options"]["reread"]["of"] == 1
    assert [f["status"] for f in log[2]["files"]] == ["re-read"]


def review_neutrophils_and_platelets(ws: Workspace) -> int:
    """Review patient 001's open neutrophil flags (withhold) and platelet flags (continue);
    the number of neutrophil flags reviewed."""
    flags = open_panel(ws).open_flags(DAY)
    neut = flags[flags["analyte"] == "neutrophils"]
    plt = flags[flags["analyte"] == "platelets"]
    assert len(neut) and len(plt)
    ws.add_reviews(reviews_for("001", list(neut["flag_key"]), "withhold", "held", results_of(neut)), by="Dr A")
    ws.add_reviews(reviews_for("001", list(plt["flag_key"]), "continue", "", results_of(plt)), by="Dr A")
    return len(neut)


def test_a_percent_count_stored_as_absolute_is_removed_and_its_review_says_so(ws, monkeypatch):
    store_old_reading(ws, monkeypatch, "labs.csv", LABS, LABS_OLD)
    n_neut = review_neutrophils_and_platelets(ws)
    n_reviews = len(ws.reviews())
    out = ws.reread([Source("labs.csv", LABS.encode())], by="Dr B")
    [i] = out.imports
    [gone] = i.results_removed
    assert (gone["analyte"], gone["value"]) == ("neutrophils", 1.2)
    assert gone["reason"].startswith("today's reader rejects labs.csv row 3: the test name says the absolute count")
    assert [r["analyte"] for r in i.reviews_unread] == ["neutrophils"] * n_neut
    panel = open_panel(ws)
    assert set(panel.labs["analyte"]) == {"wbc", "platelets"}
    # nothing vanished: the review log keeps every entry, the neutrophil ones said as no longer read
    assert len(ws.reviews()) == n_reviews
    about = history_frame(panel.reviews)["About"].tolist()
    said = [a for a in about if "neutrophils" in a]
    assert said and all(
        "its result is no longer read from the file: today's reader rejects labs.csv row 3" in a for a in said
    )
    # the platelets 90 still read: its review stays attached (the flag is reviewed)
    flags = with_review_status(panel.open_flags(DAY), panel.reviews, rule_col="rule")
    assert flags[flags["analyte"] == "platelets"]["reviewed"].all()
    assert "neutrophils" not in set(flags["analyte"])
    assert "results removed (no longer read from the file) (1)" in out.summary()


def test_a_result_read_with_another_value_is_changed_and_its_review_reopens(ws, monkeypatch):
    today = H + "001,2024-03-15 09:00,Platelets,90,10^9/L\n"
    old = H + "001,2024-03-15 09:00,Platelets,9,10^9/L\n"
    store_old_reading(ws, monkeypatch, "p.csv", today, old)
    flags = open_panel(ws).open_flags(DAY)
    ws.add_reviews(reviews_for("001", list(flags["flag_key"]), "withhold", "held", results_of(flags)), by="Dr A")
    [i] = ws.reread([Source("p.csv", today.encode())], by="Dr B").imports
    [(stored, now)] = i.results_changed
    assert stored["value"] == 9 and [n["value"] for n in now] == [90]
    assert [r["value"] for r in i.results_added] == [90]
    panel = open_panel(ws)
    flags = with_review_status(panel.open_flags(DAY), panel.reviews, rule_col="rule")
    assert not flags["reviewed"].any()  # 90 is a result nobody reviewed
    assert any(
        "its result is no longer read from the file: read now as 90" in a for a in history_frame(panel.reviews)["About"]
    )


def test_a_result_another_import_may_hold_stays(ws, monkeypatch):
    store_old_reading(ws, monkeypatch, "labs.csv", LABS, LABS_OLD)
    later = H + "001,2024-03-15 09:00,Neutrophils,1.2,10^9/L\n001,2024-04-15 09:00,WBC,4.1,10^9/L\n"
    store_import(ws, "later.csv", later)  # counts the 1.2 as already stored
    [i] = ws.reread([Source("labs.csv", LABS.encode())], by="Dr B").imports
    assert not i.results_removed
    [kept] = i.results_kept
    assert kept["analyte"] == "neutrophils" and "import #2" in kept["reason"] and "may hold this one" in kept["reason"]
    assert "neutrophils" in set(open_panel(ws).labs["analyte"])


def test_a_failure_mid_way_leaves_the_workspace_as_it_was(ws, monkeypatch):
    store_old_reading(ws, monkeypatch, "labs.csv", LABS, LABS_OLD)
    before = snapshot(ws)

    def boom(*a, **k):
        raise RuntimeError("disk full")

    monkeypatch.setattr("dashboard.store.merge.merge_import", boom)  # after the old rows were taken out
    with pytest.raises(RuntimeError):
        ws.reread([Source("labs.csv", LABS.encode())], by="Dr B")
    monkeypatch.undo()
    assert snapshot(ws) == before


def test_a_reading_that_now_needs_a_date_order_is_not_applied(ws, monkeypatch):
    today = H + "001,03/04/2024 09:00,WBC,4.0,10^9/L\n"
    old = H + "001,2024-04-03 09:00,WBC,4.0,10^9/L\n"
    store_old_reading(ws, monkeypatch, "d.csv", today, old)
    before = snapshot(ws)
    out = ws.reread([Source("d.csv", today.encode())], by="Dr B")
    assert not out.applied and out.problems and "needs a choice" in out.problems[0], out.problems
    assert "the stored reading stays" in out.summary()
    assert snapshot(ws) == before


def test_a_file_not_in_the_workspace_or_an_import_half_given_changes_nothing(ws):
    store_import(ws, "labs.csv", LABS)
    out = ws.reread([Source("other.csv", b"MRN,Collection Date,Component,Result,Units\n")], by="t")
    assert out.problems and "no import of this workspace read this content" in out.problems[0]
    pair = [Source("a.csv", (H + "002,2024-03-15,WBC,4.0,10^9/L\n").encode()), Source("b.csv", PULSES.encode())]
    ws.import_sources(pair, by="t")
    out = ws.reread(pair[:1], by="t")
    assert out.problems and "give them all again (missing: b.csv)" in out.problems[0]


def test_a_stored_import_read_by_todays_reader_reads_the_same(ws):
    store_import(ws, "labs.csv", LABS)
    before = open_panel(ws).labs.to_csv()
    [i] = ws.reread([Source("labs.csv", LABS.encode())], by="t").imports
    assert not i.changed and "nothing reads differently" in "\n".join(i.lines())
    assert open_panel(ws).labs.to_csv() == before


def test_cli_reread_prints_the_differences(ws, monkeypatch, tmp_path, capsys):
    from dashboard.cli.main import main

    store_old_reading(ws, monkeypatch, "doses.csv", PULSES, PULSES_OLD)
    path = tmp_path / "doses.csv"
    path.write_text(PULSES, encoding="utf-8")
    assert main(["workspace", "import", "--reread", "--dry-run", str(path)]) == 0
    text = capsys.readouterr().out
    assert "doses added (2)" in text and "Dry run: nothing was changed" in text, text
    assert len(open_panel(ws).doses) == 1
    assert main(["workspace", "import", "--reread", str(path)]) == 0
    assert "Applied in one transaction" in capsys.readouterr().out
    assert len(open_panel(ws).doses) == 3
    other = tmp_path / "other.csv"
    other.write_text(H + "009,2024-03-15,WBC,4.0,10^9/L\n", encoding="utf-8")
    assert main(["workspace", "import", "--reread", str(other)]) == 2
    assert "no import of this workspace read this content" in capsys.readouterr().out


def test_the_rejected_rows_are_todays_after_a_reread(ws, monkeypatch):
    """The earlier reading rejected rows 3 and 4 (values read as no number); today's reads row 4
    and still rejects row 3: the patient's rejected rows are today's, each said once."""
    today = (
        H
        + "001,2024-03-15 09:00,WBC,4.0,10^9/L\n001,2024-03-16 09:00,WBC,abc,10^9/L\n001,2024-03-17 09:00,WBC,4.1,10^9/L\n"
    )
    old = (
        H
        + "001,2024-03-15 09:00,WBC,4.0,10^9/L\n001,2024-03-16 09:00,WBC,abc,10^9/L\n001,2024-03-17 09:00,WBC,x,10^9/L\n"
    )
    store_old_reading(ws, monkeypatch, "w.csv", today, old)
    assert sorted(p.row for _f, _at, p in ws.load().rejections) == [3, 4]
    [i] = ws.reread([Source("w.csv", today.encode())], by="t").imports
    assert [r["value"] for r in i.results_added] == [4.1]
    stored = ws.load()
    assert [p.row for _f, _at, p in stored.rejections] == [3] and not stored.resolved


def test_the_import_log_says_an_earlier_reading_on_the_closed_entry():
    """The Workspace page's import log lists each import as a closed expander: an import read
    by an earlier reader version says so in its title, so it is seen without opening each."""
    entry = {
        "import_id": 3,
        "imported_at": dt.datetime(2026, 1, 2, 9, 30),
        "imported_by": "clinic",
        "files": [{"file_name": "labs.csv"}],
        "label": "",
        "labs_added": 3,
        "labs_duplicate": 0,
        "doses_added": 1,
        "patients_added": 1,
    }
    assert "earlier version" not in views.import_log_title(entry)
    assert views.import_log_title({**entry, "read_earlier": True}).endswith(
        " · read by an earlier version: may read differently now"
    )


#: a second import's file (patient 002): the % count an earlier reader stored as absolute
OTHER = H + "002,2024-03-15 09:00,WBC,4.0,10^9/L\n002,2024-03-15 09:00,Neut #,30,%\n"
OTHER_OLD = H + "002,2024-03-15 09:00,WBC,4.0,10^9/L\n002,2024-03-15 09:00,Neutrophils,1.2,10^9/L\n"


def _neutrophils(ws: Workspace) -> list[str]:
    labs = open_panel(ws).labs
    return sorted(labs[labs["analyte"] == "neutrophils"]["patient_id"])


def test_two_imports_read_again_together_both_lose_their_stale_results(ws, monkeypatch):
    """The first import's re-read (a new import) counts its kept results as already stored:
    it holds none of the second import's, so the second's stale result is taken out too."""
    store_old_reading(ws, monkeypatch, "labs.csv", LABS, LABS_OLD)
    store_old_reading(ws, monkeypatch, "other.csv", OTHER, OTHER_OLD)
    assert _neutrophils(ws) == ["001", "002"]
    out = ws.reread([Source("labs.csv", LABS.encode()), Source("other.csv", OTHER.encode())], by="Dr B")
    assert [len(i.results_removed) for i in out.imports] == [1, 1]
    assert [i.results_kept for i in out.imports] == [[], []]
    assert _neutrophils(ws) == []


def test_a_later_imports_reread_holds_no_result_of_an_earlier_import(ws, monkeypatch):
    """Re-reading import #2 first, then import #1: #2's re-read counted only #2's own results
    as already stored, so it holds none of #1's and #1's stale result is taken out."""
    store_old_reading(ws, monkeypatch, "labs.csv", LABS, LABS_OLD)
    store_old_reading(ws, monkeypatch, "other.csv", OTHER, OTHER_OLD)
    [second] = ws.reread([Source("other.csv", OTHER.encode())], by="Dr B").imports
    assert len(second.results_removed) == 1 and second.new_import_id == 3
    [first] = ws.reread([Source("labs.csv", LABS.encode())], by="Dr B").imports
    assert not first.results_kept, first.results_kept
    assert [(r["patient_id"], r["analyte"]) for r in first.results_removed] == [("001", "neutrophils")]
    assert _neutrophils(ws) == []


def test_a_deletion_that_takes_out_other_rows_than_listed_rolls_back(ws, monkeypatch):
    """The re-read checks it took out of labs exactly the results it lists as removed."""
    from dashboard.store import reread as reread_mod
    from dashboard.store.errors import WorkspaceError

    store_old_reading(ws, monkeypatch, "labs.csv", LABS, LABS_OLD)
    before = snapshot(ws)
    real = reread_mod._delete_labs

    def one_more(tx, gone):  # a result no stored row gives: nothing to take out for it
        real(tx, [*gone, {**gone[0], "source_row": 99}])

    monkeypatch.setattr(reread_mod, "_delete_labs", one_more)
    with pytest.raises(WorkspaceError, match="2 results were to be taken out of labs but 1 were"):
        ws.reread([Source("labs.csv", LABS.encode())], by="Dr B")
    monkeypatch.undo()
    assert snapshot(ws) == before


def test_a_dose_no_longer_read_is_kept_with_its_reason_in_dose_unread(ws, monkeypatch):
    """A dose today's reading no longer gives is taken out of doses and kept, with the
    reader's reason and the re-read's import, in ``dose_unread`` (as results in lab_unread)."""
    import duckdb

    today = "patient,drug,dose,unit,frequency,route,start\n006,methotrexate,15,mg,weekly,oral,2024-01-01\n"
    old = today + "006,methotrexate,20,mg,weekly,oral,2024-02-01\n"
    store_old_reading(ws, monkeypatch, "m.csv", today, old)
    [i] = ws.reread([Source("m.csv", today.encode())], by="Dr B").imports
    [gone] = i.doses_removed
    assert (gone["dose"], gone["source_row"]) == (20, 3)
    assert gone["reason"] == "today's reading of m.csv gives no such dose (row 3)"
    assert "doses removed (no longer read from the file) (1)" in "\n".join(i.lines())
    assert list(open_panel(ws).doses["dose"]) == [15]
    con = duckdb.connect(str(ws.db_path), read_only=True)
    try:
        rows = con.execute(
            "SELECT import_id, seq, patient_id, drug, start, dose, dose_unit, frequency, route, mg_per_week, "
            "source_file, source_row, stored_import, reason FROM dose_unread"
        ).fetchall()
    finally:
        con.close()
    assert rows == [
        (
            2,
            0,
            "006",
            "methotrexate",
            dt.datetime(2024, 2, 1),
            20.0,
            "mg",
            "weekly",
            "oral",
            20.0,
            "m.csv",
            3,
            1,
            "today's reading of m.csv gives no such dose (row 3)",
        )
    ]


def test_a_reread_lists_only_the_reviews_it_made_no_longer_read(ws, monkeypatch):
    """Two imports gave the same draw two values (1.2 and 0.9 x10^9/L), each reviewed; each
    re-read takes out one.  The second re-read lists the review of its own result only, not
    the one the first re-read made no longer read."""
    store_old_reading(ws, monkeypatch, "labs.csv", LABS, LABS_OLD)
    first = open_panel(ws).open_flags(DAY)
    first = first[first["analyte"] == "neutrophils"]
    ws.add_reviews(reviews_for("001", list(first["flag_key"]), "withhold", "held", results_of(first)), by="Dr A")
    today = H + "001,2024-03-15 09:00,Neut #,22,%\n"
    store_old_reading(ws, monkeypatch, "n.csv", today, H + "001,2024-03-15 09:00,Neutrophils,0.9,10^9/L\n")
    [one] = ws.reread([Source("labs.csv", LABS.encode())], by="Dr B").imports
    assert {r["value"] for r in one.reviews_unread} == {1.2}
    second = open_panel(ws).open_flags(DAY)
    second = second[second["analyte"] == "neutrophils"]
    ws.add_reviews(reviews_for("001", list(second["flag_key"]), "withhold", "held", results_of(second)), by="Dr A")
    [two] = ws.reread([Source("n.csv", today.encode())], by="Dr B").imports
    assert [r["value"] for r in two.results_removed] == [0.9]
    assert {r["value"] for r in two.reviews_unread} == {0.9}, two.reviews_unread
