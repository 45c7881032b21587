"""Doses entered in the app and the review log, as stored in the workspace."""

from __future__ import annotations

import datetime as dt

import pytest

from dashboard.dose_entry import DoseEntry
from dashboard.ingest import Source
from dashboard.reviews import Review
from dashboard.store import AppendOnlyViolation, EntryRejected, Workspace
from dashboard.store.panel import open_panel
from dashboard.store.schema import APPEND_ONLY, check_append_only
from tests.store.helpers import DOSES, LABS


@pytest.fixture
def loaded(ws: Workspace) -> Workspace:
    ws.import_sources([Source("labs.csv", LABS.encode()), Source("doses.csv", DOSES.encode())], by="t")
    return ws


def test_a_dose_reduction_ends_the_current_dose_and_starts_the_new_one(loaded):
    aza = next(r for r in loaded.doses("001").to_pylist() if r["drug"] == "azathioprine")
    new_id = loaded.change_dose(aza["dose_id"], dt.date(2024, 4, 20), 100, by="Dr A", note="WBC 2.9")
    rows = {r["dose_id"]: r for r in loaded.doses("001").to_pylist()}
    assert rows[aza["dose_id"]]["end"] == dt.datetime(2024, 4, 20)
    new = rows[new_id]
    assert (new["dose"], new["frequency"], new["start"], new["end"]) == (100.0, "daily", dt.datetime(2024, 4, 20), None)
    assert (new["dose_basis"], new["source_file"], new["entered_by"], new["import_id"]) == (
        "entered",
        "entered",
        "Dr A",
        None,
    )
    assert new["mg_per_day"] == 100.0 and new["note"] == "WBC 2.9"
    assert new["entered_at"] is not None
    [edit] = loaded.dose_edits("001").to_pylist()
    assert edit["action"] == "change" and "Azathioprine 150 mg daily" in edit["detail"] and edit["edited_by"] == "Dr A"
    # the imported and the entered dose are shown together, each with its source
    panel = open_panel(loaded)
    mine = panel.doses[panel.doses["patient_id"] == "001"].sort_values("start")
    assert list(mine["source_file"]) == ["doses.csv", "entered"]


def test_an_entered_dose_is_validated(loaded):
    with pytest.raises(EntryRejected) as err:
        loaded.add_dose(DoseEntry("001", "aspirin", -5, dt.date(2024, 1, 1), frequency="sometimes"), by="Dr A")
    assert len(err.value.errors) == 3  # unknown drug, not positive, frequency
    with pytest.raises(EntryRejected, match="enter your name"):
        loaded.add_dose(DoseEntry("003", "azathioprine", 50, dt.date(2024, 1, 1), frequency="daily"), by=" ")
    assert loaded.info()["doses"] == 2


def test_a_weekly_drug_entered_daily_needs_confirmation(loaded):
    entry = DoseEntry("003", "methotrexate", 15, dt.date(2024, 1, 1), frequency="daily", route="oral")
    with pytest.raises(EntryRejected) as err:
        loaded.add_dose(entry, by="Dr A")
    assert not err.value.errors and "once a week" in err.value.warnings[0]
    dose_id = loaded.add_dose(entry, by="Dr A", confirmed=True)
    assert loaded.doses("003").to_pylist()[0]["dose_id"] == dose_id


def test_stop_sets_the_end_and_is_logged(loaded):
    mtx = loaded.doses("002").to_pylist()[0]
    with pytest.raises(EntryRejected, match="before the dose started"):
        loaded.stop_dose(mtx["dose_id"], dt.date(2023, 1, 1), by="Dr A")
    loaded.stop_dose(mtx["dose_id"], dt.date(2024, 9, 1), by="Dr B", note="remission")
    assert loaded.doses("002").to_pylist()[0]["end"] == dt.datetime(2024, 9, 1)
    [edit] = loaded.dose_edits("002").to_pylist()
    assert (edit["action"], edit["edited_by"], edit["note"]) == ("stop", "Dr B", "remission")
    with pytest.raises(EntryRejected, match="already ended"):
        loaded.change_dose(mtx["dose_id"], dt.date(2024, 10, 1), 10, by="Dr B")


def test_a_reimport_does_not_duplicate_an_entered_dose(loaded):
    loaded.add_dose(
        DoseEntry("003", "azathioprine", 50, dt.date(2024, 1, 1), frequency="daily", route="oral"), by="Dr A"
    )
    export = "patient,drug,dose,unit,frequency,route,start,end\n003,azathioprine,50,mg,daily,oral,2024-01-01,\n"
    out = loaded.import_sources([Source("ehr.csv", export.encode())], by="t")
    assert out.doses_duplicate == 1 and out.doses_added == 0
    assert any("entered in the app by Dr A" in w.message for w in out.report.files[0].warnings)


def test_reviews_are_appended_and_corrections_are_new_entries(loaded):
    when = dt.datetime(2024, 4, 15)
    first = loaded.add_review(
        Review("001", "repeat test", "recheck in 2 weeks", rule_id="wbc_low", analyte="wbc", collected_at=when),
        by="Dr A",
    )
    fix = loaded.add_review(
        Review(
            "001",
            "reduce",
            "AZA reduced to 100 mg",
            rule_id="wbc_low",
            analyte="wbc",
            collected_at=when,
            corrects=first,
        ),
        by="Dr A",
    )
    patient = loaded.add_review(Review("001", "continue", "monthly review"), by="Dr B")
    log = loaded.reviews("001").to_pylist()
    assert [r["review_id"] for r in log] == [first, fix, patient]
    assert log[0]["action"] == "repeat test"  # the corrected entry is still there, unchanged
    assert (
        log[1]["corrects"] == first
        and log[1]["flag_key"] == log[0]["flag_key"] == "001|wbc_low|2024-04-15T00:00:00|wbc"
    )
    assert log[2]["flag_key"] == "" and log[2]["reviewer"] == "Dr B"
    with pytest.raises(EntryRejected, match="not a review of patient 002"):
        loaded.add_review(Review("002", "continue", corrects=first), by="Dr A")
    with pytest.raises(EntryRejected, match="needs one"):
        loaded.add_review(Review("001", "withhold"), by="Dr A")


@pytest.mark.parametrize("table", APPEND_ONLY)
@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE {t} SET note = 'x'",
        "update main.{t} set action = 'stop' where review_id = 1",
        "DELETE FROM {t}",
        "delete  from {t} where 1=1",
        "TRUNCATE {t}",
        "DROP TABLE {t}",
        "DROP TABLE IF EXISTS {t}",
        "ALTER TABLE {t} DROP COLUMN note",
        "INSERT OR REPLACE INTO {t} VALUES (1)",
    ],
)
def test_append_only_tables_refuse_changes(table, sql):
    with pytest.raises(AppendOnlyViolation):
        check_append_only(sql.format(t=table))


def test_the_store_refuses_to_change_the_review_log_even_from_inside(loaded):
    loaded.add_review(Review("001", "continue", "ok"), by="Dr A")
    with pytest.raises(AppendOnlyViolation), loaded._write() as tx:
        tx.execute("UPDATE reviews SET note = 'rewritten'")
    with pytest.raises(AppendOnlyViolation), loaded._write() as tx:
        tx.execute("DELETE FROM reviews WHERE review_id = 1")
    assert loaded.reviews().to_pylist()[0]["note"] == "ok"
    check_append_only('UPDATE doses SET "end" = NULL')  # doses are not append-only
    check_append_only("INSERT INTO reviews VALUES (1)")
    public = [m for m in dir(Workspace) if not m.startswith("_")]
    # only ways to read and to append (issue 18 adds add_reviews: one click, several entries, one transaction)
    assert not [m for m in public if "review" in m and m not in ("add_review", "add_reviews", "reviews")]
