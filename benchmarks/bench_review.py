"""Review benchmark: ``python -m dashboard review --compact`` against a bare ``pyarrow.csv.read_csv``.

Both run as whole processes (interpreter start and library imports included), on the
same long CSV as bench_import.py (1.05M results, 5,000 patients x 30 draws x 7
analytes, each draw at its own time of day: about 130,000 distinct timestamps),
generated once into benchmarks/out/.  The commands are interleaved over ``--rounds``
rounds (7 by default, after a warm-up round; the order rotates each round) and the
medians of the per-round ratios are reported: wall time, CPU time (user + system) and
peak memory, with the load average beside them.  Target (issue 20): the compact review
(all rules, every patient, NDJSON out) <= 3x wall and <= 3x peak memory of the bare
parse.  ``--json`` also times the full JSON review, ``--import`` the import alone, and
``--breakdown`` prints where the time goes inside one review process.

    python benchmarks/bench_review.py [--rounds 7] [--json] [--import] [--breakdown]
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.common import (  # noqa: E402
    PYARROW_BASELINE,
    benchmark_file,
    interleaved,
    load_average,
    summarise,
)

AS_OF = "2023-06-01"
BASE = "pyarrow read_csv"


def main() -> int:
    extra = {
        "--json": "also time 'review --json'",
        "--import": "also time the import alone",
        "--breakdown": "print the phases inside one review process",
    }
    wanted = {flag for flag in extra if flag in sys.argv}
    sys.argv = [a for a in sys.argv if a not in extra]
    path, args = benchmark_file(__doc__.splitlines()[0])
    review = [sys.executable, "-m", "dashboard", "review", str(path), "--as-of", AS_OF]
    commands = {BASE: [*PYARROW_BASELINE, str(path)], "review --compact": [*review, "--compact"]}
    if "--json" in wanted:
        commands["review --json"] = [*review, "--json"]
    if "--import" in wanted:
        commands["import (alone)"] = [sys.executable, "-m", "dashboard", "import", str(path)]
    runs = interleaved(commands, args.rounds, BASE)
    ok = summarise(runs, BASE, {"review --compact": (3.0, 3.0)})
    print(f"load average after: {load_average()} (ratios are per round: all commands saw the same load)")
    if "--breakdown" in wanted:
        phases = breakdown(path)
        flags = int(phases.pop("flags"))
        print("inside one review process: " + ", ".join(f"{k} {v:.2f} s" for k, v in phases.items()))
        print(f"({flags:,} flags)")
    return 0 if ok else 1


BREAKDOWN = """
import datetime as dt, io, json, sys, time
t0 = time.perf_counter()
from dashboard.cli.main import build_parser
from dashboard.cli.common import run_import
t1 = time.perf_counter()
args = build_parser().parse_args(["review", sys.argv[1]])
result = run_import(args.paths, args)
t2 = time.perf_counter()
from dashboard.rules.output import write_review_ndjson
from dashboard.rules.review import review
rv = review(result.labs, result.doses, result.patients, None, None, dt.date(2023, 6, 1))
t3 = time.perf_counter()
write_review_ndjson(rv, result.report.to_dict(), io.BytesIO())
t4 = time.perf_counter()
print(json.dumps({"python imports": t1 - t0, "import pipeline": t2 - t1, "rules": t3 - t2,
                  "compact output": t4 - t3, "flags": rv.flags.num_rows}))
"""


def breakdown(path: Path) -> dict[str, float]:
    """Wall time of each phase of a review, measured inside one process."""
    proc = subprocess.run(
        [sys.executable, "-c", BREAKDOWN, str(path)], cwd=ROOT, capture_output=True, text=True, check=True
    )
    return json.loads(proc.stdout.strip().splitlines()[-1])


if __name__ == "__main__":
    raise SystemExit(main())
