"""The persistent workspace: an embedded DuckDB database shared by sessions and the CLI.

Use :class:`Workspace` (``Workspace(workspace_path())``); the location comes from
``DASHBOARD_WORKSPACE``, a settings file or the user's data directory
(:mod:`dashboard.store.location`).
"""

from __future__ import annotations

from pathlib import Path

from dashboard.store.location import ENV_VAR, Location, resolve
from dashboard.store.lock import WorkspaceBusy
from dashboard.store.schema import AppendOnlyViolation
from dashboard.store.workspace import (
    EntryRejected,
    FileRecord,
    Skipped,
    StoredPanel,
    Workspace,
    WorkspaceError,
    WorkspaceImport,
)


def workspace_path() -> Path:
    """The workspace folder for this process (see :mod:`dashboard.store.location`)."""
    return resolve().path


__all__ = [
    "ENV_VAR",
    "AppendOnlyViolation",
    "EntryRejected",
    "FileRecord",
    "Location",
    "Skipped",
    "StoredPanel",
    "Workspace",
    "WorkspaceBusy",
    "WorkspaceError",
    "WorkspaceImport",
    "resolve",
    "workspace_path",
]
