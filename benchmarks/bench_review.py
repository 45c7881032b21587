"""Benchmark: ``python -m dashboard review`` of the 1M-result file against a bare pyarrow read.

Target (issue 5): the review runs in at most 3x the wall time of ``pyarrow.csv.read_csv``
of the same file, both measured as whole processes, with at most 3x its peak memory.

    python benchmarks/bench_review.py [--repeat 3] [--json]

The file (1.05M results, 5,000 patients) is generated once into benchmarks/out/.  The
import alone (``python -m dashboard import``) is timed too, to show how much of the
review is the import and how much the rules.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.common import PYARROW_BASELINE, make_long_csv, timed  # noqa: E402

TARGET = 3.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs per command (best wall time is kept)")
    parser.add_argument("--json", action="store_true", help="also time 'review --json'")
    parser.add_argument("--no-import", action="store_true", help="skip timing the import alone")
    args = parser.parse_args(argv)

    out = ROOT / "benchmarks" / "out"
    out.mkdir(parents=True, exist_ok=True)
    path = out / "long_1m.csv"
    if not path.exists():
        print(f"generating {path} ...", flush=True)
        make_long_csv(path)

    review = [sys.executable, "-m", "dashboard", "review", str(path), "--as-of", "2023-06-01"]
    runs = [("pyarrow read_csv", [*PYARROW_BASELINE, str(path)]), ("review", review)]
    if args.json:
        runs.append(("review --json", [*review, "--json"]))
    if not args.no_import:
        runs.append(("import (alone)", [sys.executable, "-m", "dashboard", "import", str(path)]))

    results = {}
    for name, cmd in runs:
        wall, peak = timed(cmd, repeat=args.repeat)
        results[name] = (wall, peak)
        print(f"{name:18s} wall {wall:6.2f} s   peak {peak:7.0f} MB", flush=True)

    base_wall, base_peak = results["pyarrow read_csv"]
    ok = True
    for name in ("review", "review --json"):
        if name not in results:
            continue
        wall, peak = results[name]
        wall_ratio, mem_ratio = wall / base_wall, peak / base_peak
        ok &= wall_ratio <= TARGET and mem_ratio <= TARGET

        def verdict(ratio: float) -> str:
            return f"{'within' if ratio <= TARGET else 'OVER'} target {TARGET:g}x"

        print(
            f"{name}: wall ratio {wall_ratio:.2f}x ({verdict(wall_ratio)}), "
            f"peak memory ratio {mem_ratio:.2f}x ({verdict(mem_ratio)})"
        )
    print("inside one review process (best of the runs):")
    phases = breakdown(path, args.repeat)
    flags = int(phases.pop("flags"))
    print("  " + ", ".join(f"{k} {v:.2f} s" for k, v in phases.items()) + f" ({flags:,} flags)")
    return 0 if ok else 1


BREAKDOWN = """
import datetime as dt, io, json, sys, time
t0 = time.perf_counter()
from dashboard.cli import build_parser, run_import
t1 = time.perf_counter()
args = build_parser().parse_args(["review", sys.argv[1]])
result = run_import(args.paths, args)
t2 = time.perf_counter()
from dashboard.rules.output import review_text, write_review_json
from dashboard.rules.review import review
rv = review(result.labs, result.doses, result.patients, None, None, dt.date(2023, 6, 1))
t3 = time.perf_counter()
text = review_text(rv)
t4 = time.perf_counter()
write_review_json(rv, result.report.to_dict(), io.BytesIO())
t5 = time.perf_counter()
print(json.dumps({"python imports": t1 - t0, "import pipeline": t2 - t1, "rules": t3 - t2,
                  "text output": t4 - t3, "json output": t5 - t4, "flags": rv.flags.num_rows}))
"""


def breakdown(path: Path, repeat: int) -> dict[str, float]:
    """Wall time of each phase of a review, measured inside the process (best of ``repeat``)."""
    import json
    import subprocess

    best: dict[str, float] = {}
    for _ in range(max(1, repeat)):
        proc = subprocess.run(
            [sys.executable, "-c", BREAKDOWN, str(path)], cwd=ROOT, capture_output=True, text=True, check=True
        )
        for k, v in json.loads(proc.stdout.strip().splitlines()[-1]).items():
            best[k] = min(best.get(k, v), v)
    return best


if __name__ == "__main__":
    raise SystemExit(main())
