"""Connections to the workspace database: opening one, and the checked transaction.

Every statement a write runs goes through :class:`Tx`, which refuses anything that would
change an append-only table (:func:`dashboard.store.schema.check_append_only`).  The
``meta`` table's data version, bumped by every write that changes data, lets caches
notice a change.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from dashboard import model
from dashboard.store.errors import WorkspaceError
from dashboard.store.lock import WorkspaceBusy
from dashboard.store.schema import check_append_only


class Tx:
    """A connection inside one write transaction; every statement is checked."""

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self.con = con

    def execute(self, sql: str, params: Sequence[Any] | None = None) -> duckdb.DuckDBPyConnection:
        check_append_only(sql)
        return self.con.execute(sql, params) if params is not None else self.con.execute(sql)

    def one(self, sql: str, params: Sequence[Any] | None = None) -> Any:
        rows = self.execute(sql, params).fetchall()
        return rows[0][0] if rows else None

    def arrow(self, sql: str, params: Sequence[Any] | None = None) -> pa.Table:
        check_append_only(sql)
        return self.con.sql(sql, params=list(params) if params else None).to_arrow_table()


def connect(path: Path, read_only: bool) -> duckdb.DuckDBPyConnection:
    try:
        return duckdb.connect(str(path), read_only=read_only)
    except duckdb.IOException as exc:
        if "lock" in str(exc).lower():
            raise WorkspaceBusy(f"the workspace database is held by another program: {exc}") from exc
        raise WorkspaceError(f"cannot open the workspace database {path}: {exc}") from exc
    except duckdb.Error as exc:
        raise WorkspaceError(f"{path} is not a workspace database: {exc}") from exc


def cols(table: str) -> str:
    return ", ".join(f'"{c}"' for c in model.columns(table))


def stored_columns(tx: Tx, table: str) -> list[str]:
    """The model's columns of ``table`` that the workspace's table has: every one once it is
    migrated; a column added by a later migration (``schema.LATER_COLUMNS``) is missing
    only while an older dashboard's schema is in use (the tests that play one).  Read
    without it, the model's default fills it (``model.conform``)."""
    have = {r[0] for r in tx.con.execute(f"DESCRIBE {table}").fetchall()}
    return [c for c in model.columns(table) if c in have]


def stored_cols(tx: Tx, table: str) -> str:
    """:func:`stored_columns` as the column list of a statement."""
    return ", ".join(f'"{c}"' for c in stored_columns(tx, table))


def data_version(tx: Tx) -> int:
    v = tx.one("SELECT value FROM meta WHERE key = 'data_version'")
    return int(v) if v is not None else 0


def bump(tx: Tx) -> None:
    tx.execute("UPDATE meta SET value = CAST(CAST(value AS BIGINT) + 1 AS VARCHAR) WHERE key = 'data_version'")


__all__ = ["Tx", "bump", "cols", "connect", "data_version"]
