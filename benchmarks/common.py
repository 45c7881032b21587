"""Shared helpers of the benchmark scripts: synthetic large exports and process timing."""

from __future__ import annotations

import argparse
import compileall
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent

ANALYTES = (
    ("WBC", "10^9/L", 6.5, 2.0),
    ("Neutrophils", "10^9/L", 4.0, 1.5),
    ("Lymphocytes", "10^9/L", 1.8, 0.6),
    ("Hemoglobin", "g/L", 130.0, 15.0),
    ("Platelets", "10^9/L", 250.0, 60.0),
    ("MCV", "fL", 90.0, 5.0),
    ("ALT", "U/L", 25.0, 10.0),
)


def make_long_csv(
    path: Path, patients: int = 5000, draws: int = 30, seed: int = 1, distinct_times: bool = True
) -> Path:
    """A long lab CSV: patients x draws x 7 analytes rows (1.05M with the defaults).

    Draws are about four weeks apart (0-2 days of jitter).  With ``distinct_times`` (the
    default) each patient starts on its own day of 2020 and each draw has its own time of
    day (07:00-17:59, to the minute), as a real export has: about 130,000 distinct
    timestamps for the 150,000 draws of the default file.  Without it every draw is at 08:00 (about 800 distinct timestamps: an easy
    case for the date parser, kept for comparison with older figures).  Values have one
    decimal, units are canonical; a few values round to 0 and are rejected as implausible.
    """
    import pyarrow as pa
    import pyarrow.csv as pacsv

    rng = np.random.default_rng(seed)
    k = len(ANALYTES)
    n_draws = patients * draws
    start = np.repeat(rng.integers(0, 365, size=patients), draws) if distinct_times else 0
    day = start + np.tile(np.arange(draws) * 28, patients) + rng.integers(0, 3, size=n_draws)
    minute = rng.integers(7 * 60, 18 * 60, size=n_draws) if distinct_times else np.full(n_draws, 8 * 60)
    base = np.datetime64("2020-01-06T00:00" if distinct_times else "2021-01-04T00:00")
    when = base + day.astype("timedelta64[D]") + minute.astype("timedelta64[m]")
    when_txt = np.char.replace(np.datetime_as_string(when, unit="m"), "T", " ")
    mu = np.tile([a[2] for a in ANALYTES], n_draws)
    sd = np.tile([a[3] for a in ANALYTES], n_draws)
    vals = np.round(np.abs(rng.normal(mu, sd)), 1)
    table = pa.table(
        {
            "patient_id": pa.array(np.char.add("P", np.char.zfill(np.arange(patients).astype(str), 5))).take(
                pa.array(np.repeat(np.arange(patients), draws * k))
            ),
            "collected_at": pa.array(when_txt).take(pa.array(np.repeat(np.arange(n_draws), k))),
            "analyte": pa.array([a[0] for a in ANALYTES]).take(pa.array(np.tile(np.arange(k), n_draws))),
            "value": pa.array(vals),
            "unit": pa.array([a[1] for a in ANALYTES]).take(pa.array(np.tile(np.arange(k), n_draws))),
        }
    )
    with open(path, "wb") as fh:
        fh.write(b"patient_id,collected_at,analyte,value,unit\n")
        options = pacsv.WriteOptions(include_header=False, quoting_style="none", batch_size=1 << 16)
        pacsv.write_csv(table, fh, write_options=options)
    return path


def timed(cmd: list[str], repeat: int = 3, env: dict[str, str] | None = None) -> tuple[float, float]:
    """Best wall time and peak memory (MB) of a command over ``repeat`` runs.

    Peak memory is read with GNU time's ``%M`` when /usr/bin/time exists.
    """
    best_wall, peak = float("inf"), float("nan")
    gnu_time = Path("/usr/bin/time")
    for _ in range(repeat):
        if gnu_time.exists():
            full = [str(gnu_time), "-f", "%e %M", *cmd]
            start = time.perf_counter()
            proc = subprocess.run(
                full, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, check=False, env=env
            )
            wall = time.perf_counter() - start
            last = proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else ""
            try:
                peak_kb = float(last.split()[1])
                peak = max(peak if peak == peak else 0.0, peak_kb / 1024)
            except (IndexError, ValueError):
                pass
            if proc.returncode != 0:
                raise RuntimeError(f"{' '.join(cmd)} failed: {proc.stderr[-500:]}")
        else:
            start = time.perf_counter()
            subprocess.run(cmd, stdout=subprocess.DEVNULL, check=True, env=env)
            wall = time.perf_counter() - start
        best_wall = min(best_wall, wall)
    return best_wall, peak


@dataclass
class Run:
    """One process run: wall time, CPU time (user + system) and peak resident memory."""

    wall: float
    cpu: float
    peak_mb: float


def measure(cmd: list[str], env: dict[str, str] | None = None) -> Run:
    """Run ``cmd`` once (output discarded) and measure it with the kernel's own accounting."""
    with tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err, env=env)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode != 0:
            err.seek(0)
            raise RuntimeError(f"{' '.join(cmd)} failed: {err.read()[-500:].decode(errors='replace')}")
    return Run(wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024)


def load_average() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f}"


def compile_bytecode() -> None:
    """Write the bytecode of the project's modules, as ``pip install`` does for a package.

    Python caches a module's compiled bytecode in ``__pycache__`` on first import, unless
    ``PYTHONDONTWRITEBYTECODE`` is set (this machine sets it): then every process compiles
    every project module from source again (0.25-0.3 s per process here), while the bare
    parse's pyarrow is precompiled in site-packages.  An installed or once-run project
    has its bytecode, so the benchmarks time that case; the setting itself is left alone.
    """
    for folder in ("dashboard", "benchmarks"):
        compileall.compile_dir(str(ROOT / folder), quiet=1)


def interleaved(commands: dict[str, list[str]], rounds: int, baseline: str) -> dict[str, list[Run]]:
    """Run every command once per round, the order rotating between rounds, after one
    warm-up round (file cache) and with the project's bytecode written
    (:func:`compile_bytecode`); prints each round with the machine's load."""
    compile_bytecode()
    names = list(commands)
    for name in names:  # warm-up, not counted
        measure(commands[name])
    runs: dict[str, list[Run]] = {n: [] for n in names}
    for r in range(rounds):
        order = names[r % len(names) :] + names[: r % len(names)]
        for name in order:
            runs[name].append(measure(commands[name]))
        base = runs[baseline][-1]
        cells = [
            f"{n} {runs[n][-1].wall:.2f} s" + ("" if n == baseline else f" ({runs[n][-1].wall / base.wall:.2f}x)")
            for n in names
        ]
        print(f"round {r + 1}/{rounds} (load {os.getloadavg()[0]:.2f}): " + " | ".join(cells), flush=True)
    return runs


def summarise(runs: dict[str, list[Run]], baseline: str, targets: dict[str, tuple[float, float]]) -> bool:
    """Medians of wall, CPU and peak memory, and the medians of the per-round ratios to
    ``baseline``; ``targets``: name -> (wall ratio, memory ratio) limits.  True if all met."""
    base = runs[baseline]
    print(
        f"\n{'':22s} {'wall':>8s} {'CPU':>8s} {'peak MB':>8s}   {'wall x':>7s} {'CPU x':>7s} {'memory x':>8s}   target"
    )
    ok = True
    for name, rs in runs.items():
        wall = statistics.median(r.wall for r in rs)
        cpu = statistics.median(r.cpu for r in rs)
        peak = statistics.median(r.peak_mb for r in rs)
        line = f"{name:22s} {wall:7.2f}s {cpu:7.2f}s {peak:8.0f}"
        if name != baseline:
            wr = statistics.median(r.wall / b.wall for r, b in zip(rs, base, strict=True))
            cr = statistics.median(r.cpu / b.cpu for r, b in zip(rs, base, strict=True))
            mr = statistics.median(r.peak_mb / b.peak_mb for r, b in zip(rs, base, strict=True))
            line += f"   {wr:6.2f}x {cr:6.2f}x {mr:7.2f}x"
            if name in targets:
                tw, tm = targets[name]
                met = wr <= tw and mr <= tm
                ok &= met
                line += f"   <= {tw:g}x wall, <= {tm:g}x memory: {'met' if met else 'NOT met'}"
        print(line)
    return ok


OUT = Path(__file__).resolve().parent / "out"
PYARROW_BASELINE = [sys.executable, "-c", "import sys, pyarrow.csv as c; c.read_csv(sys.argv[1])"]


def benchmark_file(description: str, rounds: int = 7) -> tuple[Path, argparse.Namespace]:
    """The command line shared by the file benchmarks (--patients, --draws, --rounds,
    --same-times) and the long CSV they time, generated once under benchmarks/out/."""
    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("--patients", type=int, default=5000)
    ap.add_argument("--draws", type=int, default=30)
    ap.add_argument("--rounds", type=int, default=rounds, help="interleaved rounds (medians are reported)")
    ap.add_argument("--repeat", type=int, default=None, help=argparse.SUPPRESS)  # the old name of --rounds
    ap.add_argument(
        "--same-times", action="store_true", help="every draw at 08:00 (the old file: few distinct timestamps)"
    )
    args = ap.parse_args()
    if args.repeat:
        args.rounds = args.repeat
    else:
        args.repeat = 3  # bench_workspace's repeats
    OUT.mkdir(exist_ok=True)
    suffix = "" if args.same_times else "_times"
    path = OUT / f"labs_{args.patients}x{args.draws}{suffix}.csv"
    if not path.exists():
        print(f"generating {path.name} ...", flush=True)
        make_long_csv(path, patients=args.patients, draws=args.draws, distinct_times=not args.same_times)
    describe_file(path)
    return path, args


def describe_file(path: Path) -> None:
    import pyarrow.compute as pc
    import pyarrow.csv as pacsv

    t = pacsv.read_csv(path, convert_options=pacsv.ConvertOptions(column_types={"collected_at": "string"}))
    times = len(pc.unique(t.column("collected_at")))
    print(
        f"file: {path.name}, {t.num_rows:,} results, {times:,} distinct timestamps, {path.stat().st_size / 1e6:.1f} MB"
    )
    print(f"machine: {os.cpu_count()} cores, load average {load_average()}")
