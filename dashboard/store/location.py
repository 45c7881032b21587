"""Where the workspace lives.

In order: the ``DASHBOARD_WORKSPACE`` environment variable, else the ``workspace``
setting of the settings file (``$XDG_CONFIG_HOME/immunosuppressant-dashboard/settings.toml``,
``~/.config/...`` by default), else the user's data directory per the XDG base
directory convention (``$XDG_DATA_HOME/immunosuppressant-dashboard/workspace``,
``~/.local/share/...`` by default).  Pure: the environment and home are arguments.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

APP_DIR = "immunosuppressant-dashboard"
ENV_VAR = "DASHBOARD_WORKSPACE"


@dataclass(frozen=True)
class Location:
    """The workspace folder and how it was chosen (shown on the Workspace page)."""

    path: Path
    source: str  # "DASHBOARD_WORKSPACE", "settings file <path>" or "user data directory"


def settings_file(env: Mapping[str, str] | None = None, home: Path | None = None) -> Path:
    env = os.environ if env is None else env
    home = Path.home() if home is None else home
    base = Path(env["XDG_CONFIG_HOME"]) if env.get("XDG_CONFIG_HOME") else home / ".config"
    return base / APP_DIR / "settings.toml"


def resolve(env: Mapping[str, str] | None = None, home: Path | None = None) -> Location:
    """The workspace folder for this environment (nothing is created)."""
    env = os.environ if env is None else env
    home = Path.home() if home is None else home
    if env.get(ENV_VAR, "").strip():
        return Location(Path(env[ENV_VAR].strip()).expanduser(), ENV_VAR)
    settings = settings_file(env, home)
    if settings.is_file():
        try:
            value = tomllib.loads(settings.read_text(encoding="utf-8")).get("workspace", "")
        except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError):
            value = ""
        if isinstance(value, str) and value.strip():
            path = Path(value.strip()).expanduser()
            if not path.is_absolute():
                path = settings.parent / path
            return Location(path, f"settings file {settings}")
    base = Path(env["XDG_DATA_HOME"]) if env.get("XDG_DATA_HOME") else home / ".local" / "share"
    return Location(base / APP_DIR / "workspace", "user data directory")
