"""Schema 13: the results a re-read took out of labs kept in ``lab_unread`` (H643).

A workspace of schema 12 (no ``lab_unread``) migrates to 13 keeping its data, and a re-read
then works.  Expected values by hand
(tests/store/test_reread.py): neutrophils 1.2 x10^9/L is CTCAE grade 2 and below the BSR
limit 1.6; today's reader rejects the "Neut #" row given in % (row 3 of LABS).
"""

from __future__ import annotations

import datetime as dt
import re

import duckdb
import pytest

from dashboard.ingest import Source
from dashboard.reviews import history_frame, with_review_status
from dashboard.store import Workspace, entries, schema
from dashboard.store.panel import open_panel
from dashboard.store.schema import AppendOnlyViolation, check_append_only
from tests.store.helpers import Clock
from tests.store.test_reread import DAY, LABS, LABS_OLD, review_neutrophils_and_platelets, store_old_reading

REJECTED = "its result is no longer read from the file: today's reader rejects labs.csv row 3"


def _tables(ws: Workspace) -> set[str]:
    con = duckdb.connect(str(ws.db_path), read_only=True)
    try:
        return {r[0] for r in con.execute("SHOW TABLES").fetchall()}
    finally:
        con.close()


def _reopen(ws: Workspace) -> Workspace:
    return Workspace(ws.path, timeout=20, clock=Clock(dt.datetime(2026, 12, 1, 9, 0)))


def test_a_schema_12_workspace_migrates_to_13_keeps_its_data_and_a_reread_then_works(ws, monkeypatch):
    # a schema 12 dashboard: its migrations, and its review log (no lab_unread to join)
    schema_12_log = re.sub(
        r"un\.unread_at, un\.unread_reason, un\.unread_import, |LEFT JOIN LATERAL \(SELECT ui\.imported_at .*? un ON true ",
        "",
        entries.REVIEW_LOG,
    )
    assert "lab_unread" not in schema_12_log and "unread" not in schema_12_log
    monkeypatch.setattr("dashboard.store.migrations.MIGRATIONS", schema.MIGRATIONS[:12])
    monkeypatch.setattr("dashboard.store.migrations.latest_version", lambda: 12)
    monkeypatch.setattr("dashboard.store.workspace.latest_version", lambda: 12)
    monkeypatch.setattr("dashboard.store.entries.REVIEW_LOG", schema_12_log)
    store_old_reading(ws, monkeypatch, "labs.csv", LABS, LABS_OLD)
    n_neut = review_neutrophils_and_platelets(ws)
    assert ws.info()["schema_version"] == 12 and "lab_unread" not in _tables(ws)
    before = (open_panel(ws).labs.sort_values("analyte").to_csv(), ws.reviews().num_rows, len(ws.imports()))
    monkeypatch.undo()

    again = _reopen(ws)
    assert again.info()["schema_version"] == schema.latest_version() == 13
    assert "lab_unread" in _tables(again)
    kept = (open_panel(again).labs.sort_values("analyte").to_csv(), again.reviews().num_rows, len(again.imports()))
    assert kept == before  # nothing lost by the migration
    # no re-read yet: no review is said as no longer read, and the reviews still cover their flags
    assert again.reviews().column("unread_reason").null_count == again.reviews().num_rows
    panel = open_panel(again)
    assert with_review_status(panel.open_flags(DAY), panel.reviews, rule_col="rule")["reviewed"].all()

    out = again.reread([Source("labs.csv", LABS.encode())], by="Dr B")
    [i] = out.imports
    [gone] = i.results_removed
    assert (gone["analyte"], gone["value"]) == ("neutrophils", 1.2)
    assert [r["analyte"] for r in i.reviews_unread] == ["neutrophils"] * n_neut
    con = duckdb.connect(str(again.db_path), read_only=True)
    try:
        rows = con.execute(
            "SELECT import_id, seq, patient_id, analyte, value, source_file, source_row, stored_import, reason "
            "FROM lab_unread"
        ).fetchall()
    finally:
        con.close()
    assert [r[:8] for r in rows] == [(i.new_import_id, 0, "001", "neutrophils", 1.2, "labs.csv", 3, 1)]
    assert rows[0][8] == gone["reason"]
    panel = open_panel(again)
    said = [a for a in history_frame(panel.reviews)["About"] if "neutrophils" in a]
    assert len(said) == n_neut and all(REJECTED in a for a in said)
    flags = with_review_status(panel.open_flags(DAY), panel.reviews, rule_col="rule")
    assert flags[flags["analyte"] == "platelets"]["reviewed"].all()


def test_the_store_refuses_to_change_lab_unread():
    for sql in ("DELETE FROM lab_unread", "UPDATE lab_unread SET reason = ''", "DROP TABLE lab_unread"):
        with pytest.raises(AppendOnlyViolation):
            check_append_only(sql)
