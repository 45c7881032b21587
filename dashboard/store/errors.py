"""The workspace's errors (shared by every part of the store)."""

from __future__ import annotations


class WorkspaceError(Exception):
    """The workspace cannot be used (newer schema, not a workspace, bad entry)."""


class EntryRejected(WorkspaceError):
    """An entered dose or review did not pass validation (or has unconfirmed warnings)."""

    def __init__(self, errors: list[str], warnings: list[str] | None = None) -> None:
        self.errors = errors
        self.warnings = warnings or []
        super().__init__("; ".join(errors or self.warnings))


__all__ = ["EntryRejected", "WorkspaceError"]
