"""Bringing a workspace's schema up to date (the migrations are in :mod:`dashboard.store.schema`).

A write transaction migrates first; a workspace written by a newer version of the
dashboard is refused rather than changed.
"""

from __future__ import annotations

import datetime as dt

import duckdb

from dashboard.store.connection import Tx
from dashboard.store.errors import WorkspaceError
from dashboard.store.merge import backfill_disputes
from dashboard.store.schema import MIGRATIONS, latest_version

#: Data a migration carries over from what the workspace already holds, after its
#: statements (in the same transaction).
_BACKFILLS = {5: backfill_disputes}


def schema_version(con: duckdb.DuckDBPyConnection) -> int:
    """The schema version of an open database (0 for a new, empty one)."""
    has_meta = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = 'meta' AND table_schema = 'main'"
    ).fetchall()[0][0]
    if not has_meta:
        return 0
    rows = con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchall()
    return int(rows[0][0]) if rows else 0


def migrate(tx: Tx, now: dt.datetime) -> None:
    """Apply, in this transaction, every migration newer than the database's version."""
    version = schema_version(tx.con)
    if version > latest_version():
        raise WorkspaceError(
            f"this workspace was written by a newer version of the dashboard (schema {version}): update the dashboard"
        )
    for m in sorted(MIGRATIONS, key=lambda m: m.version):
        if m.version <= version:
            continue
        for statement in m.statements():
            tx.execute(statement)
        if m.version in _BACKFILLS:
            _BACKFILLS[m.version](tx)
        tx.execute("INSERT INTO schema_migrations VALUES (?, ?, ?)", [m.version, m.description, now])
        tx.execute("INSERT OR REPLACE INTO meta VALUES ('schema_version', ?)", [str(m.version)])
        if m.version == 1:
            tx.execute("INSERT OR REPLACE INTO meta VALUES ('created_at', ?)", [now.isoformat()])
            tx.execute("INSERT OR REPLACE INTO meta VALUES ('data_version', '0')")


__all__ = ["migrate", "schema_version"]
