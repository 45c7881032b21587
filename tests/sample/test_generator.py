"""The generator itself: seeded, stable per patient slot, pure, and its small building blocks."""

from __future__ import annotations

import ast
import datetime as dt
import io
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest

from dashboard.sample import build_clinic
from dashboard.sample.clinic import SampleError
from dashboard.sample.fhir import uk_offset
from dashboard.sample.physiology import ckd_epi_2021, round_half_up
from dashboard.sample.plan import EXTRACT_DATE, hcq_daily_dose, monday_before
from dashboard.sample.schedule import interval_after, monitoring_changes
from dashboard.sample.shapes import labs_frame, workbook_bytes, workbook_frames
from dashboard.sample.stories import STORIES

PACKAGE = Path(__file__).resolve().parents[2] / "dashboard" / "sample"


@pytest.fixture(scope="module")
def small() -> object:
    """Only the story patients, with the shortest follow-up allowed."""
    return build_clinic(seed=11, patients=len(STORIES), years=2)


def test_story_patients_do_not_change_when_patients_are_added(sample_dir: Path, manifest: dict) -> None:
    bigger = build_clinic(seed=manifest["seed"], patients=manifest["patients_count"] + 3)
    assert len(bigger.patients) == manifest["patients_count"] + 3
    committed = pd.read_csv(sample_dir / "labs.csv", dtype=str, keep_default_na=False)
    made = labs_frame(bigger)
    for key, story in manifest["stories"].items():
        new_id = bigger.by_story(key).patient_id
        old = committed[committed["Patient ID"] == story["patient"]].drop(columns="Patient ID")
        new = made[made["Patient ID"] == new_id].drop(columns="Patient ID")
        pd.testing.assert_frame_equal(old.reset_index(drop=True), new.reset_index(drop=True), obj=key)


def test_years_caps_follow_up_and_stories_still_hold(small) -> None:
    assert sorted(p.plan.story for p in small.patients) == sorted(STORIES)
    for p in small.patients:
        assert (EXTRACT_DATE - p.draws[0].day).days <= 2 * 365.25, p.patient_id
    nadir = small.by_story("tpmt_im_neutropenia")
    start = dt.date.fromisoformat(nadir.plan.facts["start"])
    in_window = [
        v for d, v in zip(nadir.draws, nadir.results["neutrophils"], strict=True) if 28 <= (d.day - start).days <= 70
    ]
    assert min(in_window) < 1.0


def test_other_seeds_change_people_not_stories(small, manifest: dict) -> None:
    default = build_clinic(seed=manifest["seed"], patients=len(STORIES), years=2)
    for key in STORIES:
        a, b = small.by_story(key), default.by_story(key)
        assert a.plan.birth_date != b.plan.birth_date, key  # another person ...
        assert not np.array_equal(a.results["wbc"], b.results["wbc"]), key  # ... other numbers ...
        assert a.plan.facts.keys() == b.plan.facts.keys(), key  # ... the same story


@pytest.mark.parametrize(("patients", "years"), [(11, 4), (37, 1.5), (37, 11)])
def test_impossible_settings_raise(patients: int, years: float) -> None:
    with pytest.raises(SampleError):
        build_clinic(seed=1, patients=patients, years=years)


def test_core_does_not_import_streamlit_or_touch_the_disk_outside_write_files() -> None:
    for path in sorted(PACKAGE.glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        modules = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)} | {
            a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names
        }
        assert not any(m and m.startswith("streamlit") for m in modules), path.name
        calls = {n.func.attr for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute)}
        if path.name != "__init__.py":
            assert not calls & {"write_bytes", "write_text", "mkdir"}, path.name


# --------------------------------------------------------------------------- building blocks


def test_uk_offset_follows_british_summer_time() -> None:
    assert uk_offset(dt.datetime(2026, 1, 15, 9, 0)) == "+00:00"
    assert uk_offset(dt.datetime(2026, 7, 15, 9, 0)) == "+01:00"
    assert uk_offset(dt.datetime(2026, 3, 27, 9, 0)) == "+00:00"  # Friday before the change
    assert uk_offset(dt.datetime(2026, 3, 30, 9, 0)) == "+01:00"  # Monday after (29 March 2026)
    assert uk_offset(dt.datetime(2026, 10, 23, 9, 0)) == "+01:00"
    assert uk_offset(dt.datetime(2026, 10, 26, 9, 0)) == "+00:00"  # after 25 October 2026


def test_rounding_is_half_up_like_a_laboratory() -> None:
    assert round_half_up(2.5, 0) == 3 and round_half_up(3.5, 0) == 4  # not to even
    assert round_half_up(1.25, 1) == 1.3 and round_half_up(0.125, 2) == 0.13
    assert round_half_up(6.44, 1) == 6.4


def test_ckd_epi_2021_reference_points() -> None:
    # creatinine at kappa (0.7 / 0.9 mg/dL): 142 x 0.9938^age (x 1.012 for women)
    assert ckd_epi_2021(0.7 * 88.4, 40, "F") == pytest.approx(142 * 0.9938**40 * 1.012)
    assert ckd_epi_2021(0.9 * 88.4, 60, "M") == pytest.approx(142 * 0.9938**60)
    assert ckd_epi_2021(2.0 * 88.4, 60, "M") < 40


@pytest.mark.parametrize("weight", [45.0, 59.9, 60.0, 72.0, 79.9, 80.0, 120.0])
def test_hydroxychloroquine_dose_never_exceeds_5_mg_per_kg(weight: float) -> None:
    dose, freq = hcq_daily_dose(weight)
    assert dose * (2 if freq == "BID" else 1) <= 5 * weight


def test_monday_before_never_overshoots() -> None:
    for days in range(0, 1500, 13):
        day = monday_before(days)
        assert day.weekday() == 0 and 0 <= (EXTRACT_DATE - day).days <= days


def test_schedule_is_never_late(sample_dir: Path, manifest: dict) -> None:
    clinic = build_clinic(seed=manifest["seed"], patients=len(STORIES))
    for p in clinic.patients:
        changes = monitoring_changes(p.plan.doses)
        forced = set(p.plan.forced_draws)
        for prev, nxt in zip(p.draws, p.draws[1:], strict=False):
            if nxt.day in forced:
                continue
            allowed = interval_after(prev.day, changes, p.plan.doses)
            later = [c for c in changes if c > prev.day]
            if later:
                allowed = min(allowed, (later[0] - prev.day).days + 14)
            assert (nxt.day - prev.day).days <= allowed, (p.patient_id, prev.day, nxt.day)


def test_workbook_bytes_are_reproducible_and_open_in_openpyxl(small) -> None:
    stamp = dt.datetime(2026, 11, 16, 18, 0)
    a = workbook_bytes(workbook_frames(small), stamp)
    b = workbook_bytes(workbook_frames(small), stamp)
    assert a == b
    wb = openpyxl.load_workbook(io.BytesIO(a))
    assert wb.sheetnames == ["Labs", "Doses", "Patients"]
    assert isinstance(wb["Labs"]["B2"].value, dt.datetime)
    assert wb.properties.created == stamp
