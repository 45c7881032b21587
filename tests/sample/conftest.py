"""Fixtures for the sample panel tests: the committed files, imported by the real importer."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pandas as pd
import pytest

from dashboard.ingest import ImportOptions, ImportResult, Source, import_paths, import_sources
from dashboard.sample import generate

SAMPLE = Path(__file__).resolve().parents[2] / "sample_data"


@pytest.fixture(scope="session")
def sample_dir() -> Path:
    return SAMPLE


@pytest.fixture(scope="session")
def manifest() -> dict:
    return json.loads((SAMPLE / "manifest.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def extract(manifest: dict) -> dt.date:
    return dt.date.fromisoformat(manifest["extract_date"])


@pytest.fixture(scope="session")
def default_import() -> ImportResult:
    """The committed default set, imported as of its extract date."""
    info = json.loads((SAMPLE / "manifest.json").read_text(encoding="utf-8"))
    today = dt.date.fromisoformat(info["extract_date"])
    return import_paths([SAMPLE / f for f in info["default_files"]], ImportOptions(today=today))


@pytest.fixture(scope="session")
def labs(default_import: ImportResult) -> pd.DataFrame:
    return default_import.labs_df()


@pytest.fixture(scope="session")
def doses(default_import: ImportResult) -> pd.DataFrame:
    return default_import.doses_df()


@pytest.fixture(scope="session")
def patients(default_import: ImportResult) -> pd.DataFrame:
    return default_import.patients_df()


#: A second clinic, made in memory with another seed: the stories must hold for it too.
OTHER_SEED = 7


@pytest.fixture(scope="session")
def other_seed_files() -> dict[str, bytes]:
    return generate(seed=OTHER_SEED)


def import_generated(files: dict[str, bytes], names: list[str], today: dt.date) -> ImportResult:
    return import_sources([Source(n, files[n]) for n in names], ImportOptions(today=today))
