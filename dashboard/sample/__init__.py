"""The synthetic sample panel: a seeded clinic of SLE and RA patients on immunosuppressants.

``python -m dashboard sample`` writes ``sample_data/``: the same clinic as a long lab CSV
with dose and patient CSVs (the default set the app loads), a European wide CSV, an Excel
workbook and a FHIR R4 bundle, plus ``manifest.json`` (story map) and ``README.md``.

Layers, all pure except :func:`write_files`:

* :mod:`~dashboard.sample.stories` - who the patients are and what happens to them;
* :mod:`~dashboard.sample.schedule` - when blood is taken;
* :mod:`~dashboard.sample.physiology` - what the blood shows;
* :mod:`~dashboard.sample.clinic` - the whole clinic for a seed;
* :mod:`~dashboard.sample.shapes`, :mod:`~dashboard.sample.fhir` - the file shapes;
* :mod:`~dashboard.sample.docs` - manifest and README.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from dashboard.sample.clinic import (
    DEFAULT_PATIENTS,
    DEFAULT_SEED,
    DEFAULT_YEARS,
    Clinic,
    SampleError,
    build_clinic,
)
from dashboard.sample.docs import (
    DEFAULT_FILES,
    DOSES,
    EUROPE,
    FHIR,
    LABS,
    MANIFEST,
    PATIENTS,
    README,
    WORKBOOK,
    manifest,
    readme,
)
from dashboard.sample.fhir import fhir_bundle
from dashboard.sample.plan import EXTRACT_DATE
from dashboard.sample.shapes import (
    csv_bytes,
    doses_frame,
    europe_frame,
    europe_no_result_cells,
    json_bytes,
    labs_frame,
    patients_frame,
    workbook_bytes,
    workbook_frames,
)

#: Where the committed sample lives, relative to the working directory.
SAMPLE_DIR = Path("sample_data")


def render_files(clinic: Clinic) -> dict[str, bytes]:
    """Every file of the sample, name -> bytes (pure)."""
    labs, doses, patients = labs_frame(clinic), doses_frame(clinic), patients_frame(clinic)
    europe = europe_frame(clinic)
    sheets = workbook_frames(clinic)
    bundle = fhir_bundle(clinic)
    files = {
        LABS: csv_bytes(labs),
        DOSES: csv_bytes(doses),
        PATIENTS: csv_bytes(patients),
        EUROPE: csv_bytes(europe, delimiter=";", newline="\r\n", encoding="cp1252"),
        WORKBOOK: workbook_bytes(sheets, dt.datetime.combine(clinic.extract_date, dt.time(18, 0))),
        FHIR: json_bytes(bundle),
    }
    types: dict[str, int] = {}
    for e in bundle["entry"]:
        types[e["resource"]["resourceType"]] = types.get(e["resource"]["resourceType"], 0) + 1
    rows = {
        LABS: len(labs),
        DOSES: len(doses),
        PATIENTS: len(patients),
        EUROPE: len(europe),
        WORKBOOK: {name: len(frame) for name, frame in sheets.items()},
        FHIR: dict(sorted(types.items())),
        "europe_no_result": europe_no_result_cells(clinic),
    }
    info = manifest(clinic, rows)
    files[MANIFEST] = json_bytes(info)
    files[README] = readme(clinic, info).encode("utf-8")
    return files


def write_files(files: dict[str, bytes], out_dir: Path) -> None:
    """Write the rendered files (the only function here that touches the disk)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        (out_dir / name).write_bytes(data)


def generate(
    seed: int = DEFAULT_SEED, patients: int = DEFAULT_PATIENTS, years: float = DEFAULT_YEARS
) -> dict[str, bytes]:
    """The sample's files for these settings (pure)."""
    return render_files(build_clinic(seed, patients, years))


def default_files(sample_dir: Path) -> list[Path]:
    """The files **Load sample panel** imports, as named by the folder's manifest.

    Falls back to the default names when there is no readable manifest; only files that
    exist are returned.
    """
    names: list[str] = list(DEFAULT_FILES)
    info = _read_manifest(sample_dir)
    if info and isinstance(info.get("default_files"), list):
        names = [str(n) for n in info["default_files"]]
    return [sample_dir / n for n in names if (sample_dir / n).is_file()]


def extract_date(sample_dir: Path) -> dt.date | None:
    """The date the sample was extracted (the "as of" date to propose), from the manifest."""
    info = _read_manifest(sample_dir)
    try:
        return dt.date.fromisoformat(str(info["extract_date"])) if info else None
    except (KeyError, ValueError):
        return None


def _read_manifest(sample_dir: Path) -> dict | None:
    try:
        info = json.loads((sample_dir / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return info if isinstance(info, dict) else None


__all__ = [
    "DEFAULT_FILES",
    "DEFAULT_PATIENTS",
    "DEFAULT_SEED",
    "DEFAULT_YEARS",
    "EXTRACT_DATE",
    "Clinic",
    "SampleError",
    "build_clinic",
    "default_files",
    "extract_date",
    "generate",
    "render_files",
    "write_files",
]
