"""Workspace tests: always a temporary workspace, never the user's real one."""

from __future__ import annotations

from pathlib import Path

import pytest

from dashboard.store import Workspace
from tests.store.helpers import Clock


@pytest.fixture(autouse=True)
def tmp_workspace_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "workspace"
    monkeypatch.setenv("DASHBOARD_WORKSPACE", str(path))
    return path


@pytest.fixture
def ws(tmp_workspace_env: Path) -> Workspace:
    return Workspace(tmp_workspace_env, timeout=20, clock=Clock())
