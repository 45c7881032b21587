"""Benchmark: reading an Excel workbook of 100,000 rows x 7 columns (issue 19 item 7).

Times the project's reader (python-calamine after the bounded extent check,
``dashboard.ingest.xlsx.read_excel``) against the openpyxl read-only reader it replaced
(the same cell-to-text rules and table building), and the check alone.  CPU seconds
(process time) and wall seconds are printed; nothing is asserted.

    python benchmarks/bench_excel.py            # both readers (openpyxl takes ~30 s)
    python benchmarks/bench_excel.py --fast     # calamine only
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from dashboard.ingest.tabular import is_blank, table_from_records  # noqa: E402
from dashboard.ingest.xlsx import cell_text, check_workbook, read_excel  # noqa: E402


def workbook(rows: int = 100_000) -> bytes:
    import openpyxl

    rng = random.Random(1)
    wb = openpyxl.Workbook(write_only=True)
    ws = wb.create_sheet("Labs")
    ws.append(["patient_id", "collected_at", "test", "value", "unit", "ref_range", "flag"])
    tests = [("WBC", "10^9/L", "4.0-11.0"), ("Neutrophils", "10^9/L", "2.0-7.5"), ("Platelets", "10^9/L", "150-400")]
    for i in range(rows):
        t, u, rr = tests[i % 3]
        when = dt.datetime(2020, 1, 1) + dt.timedelta(days=i // 250, minutes=i % 600)
        ws.append([f"RA-{i // 50:05d}", when, t, round(rng.uniform(1, 300), 1), u, rr, rng.choice(["", "H", "L"])])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def openpyxl_read(data: bytes) -> int:
    """The reader before calamine: openpyxl read-only, values only."""
    import openpyxl

    wb = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    n = 0
    for ws in wb.worksheets:
        records = [[cell_text(v) for v in row] for row in ws.iter_rows(values_only=True)]
        while records and is_blank(records[-1]):
            records.pop()
        n += table_from_records("bench.xlsx", records, sheet=ws.title).num_rows
    wb.close()
    return n


def timed(label: str, fn) -> None:
    cpu, wall = time.process_time(), time.perf_counter()
    out = fn()
    print(f"{label:<34} {time.process_time() - cpu:6.2f} s CPU  {time.perf_counter() - wall:6.2f} s wall  ({out})")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--fast", action="store_true", help="skip the openpyxl reader")
    args = ap.parse_args()
    data = workbook()
    print(f"workbook: 100,000 rows x 7 columns, {len(data) / 1e6:.1f} MB")
    timed("extent and zip check", lambda: f"{len(check_workbook(data).sheets)} sheet(s)")
    timed("calamine (read_excel)", lambda: f"{sum(t.num_rows for t in read_excel('bench.xlsx', data)):,} rows")
    if not args.fast:
        timed("openpyxl read-only (before)", lambda: f"{openpyxl_read(data):,} rows")


if __name__ == "__main__":
    main()
