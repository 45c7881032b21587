"""Data and helpers of the workspace tests."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from dashboard.ingest import Source
from tests.support import assert_balanced

LABS = (
    "MRN,Collection Date,Component,Result,Units\n"
    "001,2024-03-15,WBC,3.2,K/uL\n"
    "001,2024-03-15,Hb,12.1,g/dL\n"
    "001,2024-04-15,WBC,2.9,K/uL\n"
    "002,2024-03-16,PLT,90,K/uL\n"
)
DOSES = "patient,drug,dose,unit,frequency,start,end\n001,Imuran,150,mg,daily,2024-01-01,\n002,MTX,15,mg,weekly,2024-02-01,\n"
PATIENTS = "patient,sex,date of birth,TPMT,diagnosis\n001,F,1980-05-01,normal,SLE\n002,M,1975-01-31,,RA\n"


class Clock:
    """A settable clock so that times in the log are predictable: each reading a minute
    after the last, from ``start``."""

    def __init__(self, start: dt.datetime = dt.datetime(2026, 11, 25, 9, 0, 0)) -> None:
        self.now = start

    def __call__(self) -> dt.datetime:
        self.now += dt.timedelta(minutes=1)
        return self.now


def write(tmp_path: Path, name: str, text: str) -> Path:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def big_labs_csv(patients: int, draws: int, offset_days: int = 0) -> bytes:
    """A long lab export: patients x draws x 3 analytes rows."""
    lines = ["patient_id,collected_at,analyte,value,unit"]
    base = dt.date(2020, 1, 6)
    for p in range(patients):
        for d in range(draws):
            day = base + dt.timedelta(days=28 * d + offset_days)
            lines.append(f"P{p:05d},{day},WBC,{4 + (p + d) % 50 / 10:.1f},10^9/L")
            lines.append(f"P{p:05d},{day},Platelets,{150 + (p * 7 + d) % 200},10^9/L")
            lines.append(f"P{p:05d},{day},Hemoglobin,{110 + (p + 3 * d) % 40},g/L")
    return ("\n".join(lines) + "\n").encode()


def store_import(ws, name: str, data: str | bytes):
    """Import one file into workspace ``ws`` (by "t"), every row accounted for."""
    out = ws.import_sources([Source(name, data.encode() if isinstance(data, str) else data)], by="t")
    assert_balanced(out)
    return out
