"""Shared test fixtures."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support import FIXTURES, ROOT, assert_balanced, import_text


@pytest.fixture
def fixtures() -> Path:
    return FIXTURES


@pytest.fixture
def root() -> Path:
    return ROOT


@pytest.fixture
def imp():
    """Import text as a file: imp("csv text", name=..., date_order=..., mapping=...)."""

    def run(text: str, name: str = "labs.csv", encoding: str = "utf-8", **options):
        result = import_text(text, name, encoding, **options)
        assert_balanced(result)
        return result

    return run
