"""Shared test fixtures."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"

#: The "today" tests run against, so results never age into the future or past.
TODAY = dt.date(2026, 11, 25)


@pytest.fixture
def fixtures() -> Path:
    return FIXTURES


@pytest.fixture
def root() -> Path:
    return ROOT
