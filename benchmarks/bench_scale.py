"""Benchmark: the supported scale, end to end (issue 10).

1. **Clinic scale in the app** - 5,000 patients / 1.05M results: import, review (all
   rules on the whole panel), the panel table, and switching patients (the Patient
   page's work: one patient's tables, review and timeline figure).  Timed in process,
   with the process's peak memory; these are the functions the pages call.
2. **Region scale on the command line** - 50,000 patients / 10.15M results:
   ``python -m dashboard import FILE --out DIR`` (the report and the canonical Parquet
   tables), timed as a whole process with its CPU time and peak memory (the kernel's
   accounting), against the machine's memory and with its load average.  A file this
   large is streamed block by block (``dashboard/ingest/chunked.py``; target of issue
   20: <= 1.5 GB peak); ``--in-memory`` also times the whole-file import for comparison.  Optionally (``--workspace``) the same file into a workspace and
   ``workspace export --format csv`` of the whole panel.

    python benchmarks/bench_scale.py                 # both parts
    python benchmarks/bench_scale.py --part app      # part 1 only (about a minute)
    python benchmarks/bench_scale.py --part cli      # part 2 only (generates ~450 MB once)

Input files are generated once into benchmarks/out/ (gitignored).  Figures are printed;
nothing is asserted (performance is measured here, never in timed tests).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.common import load_average, make_long_csv, measure, timed  # noqa: E402

OUT = ROOT / "benchmarks" / "out"
AS_OF = dt.date(2023, 6, 1)


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _machine_mb() -> float:
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**20


def _step(name: str, fn, *args):
    start = time.perf_counter()
    value = fn(*args)
    wall = time.perf_counter() - start
    print(f"  {name:34s} {wall:7.2f} s   process peak {_peak_mb():7.0f} MB", flush=True)
    return value, wall


def app_part(repeat_patients: int = 10) -> dict[str, float]:
    from dashboard.dataset import Dataset
    from dashboard.figures.timeline import TimelineOptions, timeline_figure
    from dashboard.ingest import ImportOptions, import_paths
    from dashboard.panel import panel_table
    from dashboard.rules import review_dataset

    path = OUT / "long_1m.csv"
    if not path.exists():
        print(f"generating {path} ...", flush=True)
        make_long_csv(path)
    print(f"Part 1: clinic scale in the app ({path.name}, {path.stat().st_size / 1e6:.0f} MB)")
    times: dict[str, float] = {}
    result, times["import"] = _step("import (upload)", import_paths, [path], ImportOptions(today=dt.date(2026, 11, 25)))
    ds, times["dataset"] = _step("dataset (canonical frames)", Dataset.from_import, result, "bench")
    rv, times["review"] = _step("review (all rules, whole panel)", review_dataset, ds, None, AS_OF)
    table, times["panel"] = _step("panel table", panel_table, ds, rv, "SI")
    print(
        f"  -> {len(ds.patient_ids):,} patients, {len(ds.labs):,} results, {len(rv.flags_df()):,} flags, {len(table):,} panel rows"
    )

    ids = ds.patient_ids
    picks = [ids[i * len(ids) // repeat_patients] for i in range(repeat_patients)]

    def switch(pid: str):
        one, mine = ds.for_patient(pid), rv.for_patient(pid)
        options = TimelineOptions(analytes=("wbc", "neutrophils", "platelets", "hemoglobin"), as_of=AS_OF)
        patient = one.patients.iloc[0] if len(one.patients) else None
        return timeline_figure(one.labs, one.doses, mine.flags_df(), mine.intervals_df(), rv.profile, patient, options)

    start = time.perf_counter()
    for pid in picks:
        switch(pid)
    per = (time.perf_counter() - start) / len(picks)
    times["patient switch"] = per
    print(
        f"  {'patient switch (mean of ' + str(len(picks)) + ')':34s} {per:7.2f} s   process peak {_peak_mb():7.0f} MB"
    )
    times["peak_mb"] = _peak_mb()
    return times


def cli_part(workspace: bool = False, in_memory: bool = False) -> dict[str, float]:
    path = OUT / "long_10m.csv"
    if not path.exists():
        print(f"generating {path} (50,000 patients x 29 draws x 7 analytes) ...", flush=True)
        start = time.perf_counter()
        make_long_csv(path, patients=50_000, draws=29, seed=2)
        print(f"  generated in {time.perf_counter() - start:.0f} s", flush=True)
    machine = _machine_mb()
    print(f"Part 2: region scale on the command line ({path.name}, {path.stat().st_size / 1e6:.0f} MB)")
    figures: dict[str, float] = {}
    print(f"  machine: {os.cpu_count()} cores, load average {load_average()}")
    with tempfile.TemporaryDirectory(dir=OUT) as tmp:
        cmd = [sys.executable, "-m", "dashboard", "import", str(path), "--out", tmp]
        # streamed block by block (the file is over DASHBOARD_STREAM_BYTES), and, with
        # --in-memory, the whole file at once for comparison (the same report and rows)
        modes = [("import --out (streamed)", None)]
        if in_memory:
            modes.append(("import --out (in memory)", {**os.environ, "DASHBOARD_STREAM_BYTES": str(1 << 62)}))
        for label, env in modes:
            run = measure(cmd, env=env)
            rows = _parquet_rows(Path(tmp) / "labs.parquet")
            print(
                f"  {label:33s}  {run.wall:7.1f} s   CPU {run.cpu:6.1f} s   peak {run.peak_mb:7.0f} MB "
                f"({100 * run.peak_mb / machine:.0f}% of {machine / 1024:.0f} GB)   {rows:,} results written "
                f"(load {load_average()})",
                flush=True,
            )
            figures.update({f"{label} s": run.wall, f"{label} peak MB": run.peak_mb, "results": rows})
        if workspace:
            env = {**os.environ, "DASHBOARD_WORKSPACE": str(Path(tmp) / "ws")}
            for name, args in (
                ("workspace import", ["workspace", "import", str(path)]),
                ("workspace export --format csv", ["workspace", "export", "--format", "csv", "--out", f"{tmp}/p.csv"]),
            ):
                wall, peak = timed([sys.executable, "-m", "dashboard", *args], repeat=1, env=env)
                print(f"  {name:34s} {wall:7.1f} s   peak {peak:7.0f} MB", flush=True)
                figures[name] = wall
    return figures


def _parquet_rows(path: Path) -> int:
    import pyarrow.parquet as pq

    return pq.ParquetFile(path).metadata.num_rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=["app", "cli", "both"], default="both")
    parser.add_argument("--workspace", action="store_true", help="also time workspace import and export (slow)")
    parser.add_argument(
        "--in-memory", action="store_true", help="also time the in-memory import of the 10M file (about 3.6 GB)"
    )
    args = parser.parse_args(argv)
    OUT.mkdir(parents=True, exist_ok=True)
    if args.part in ("app", "both"):
        app_part()
    if args.part in ("cli", "both"):
        cli_part(args.workspace, args.in_memory)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
