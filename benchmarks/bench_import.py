"""Import benchmark: ``python -m dashboard import`` against a bare ``pyarrow.csv.read_csv``.

Both run as whole processes (interpreter start and library imports included), on a
long CSV of 1.05M results (5,000 patients x 30 draws x 7 analytes; each draw at its own
time of day: about 130,000 distinct timestamps, as a real export has), generated once
into benchmarks/out/.  The two commands are interleaved over ``--rounds`` rounds (7 by
default, after a warm-up round) and the medians of the per-round ratios are reported:
wall time, CPU time (user + system: less sensitive to the machine's load) and peak
memory, with the load average beside them.  Target (issue 20): <= 2.5x wall and <= 3x
peak memory of the bare parse.

    python benchmarks/bench_import.py [--rounds 7] [--patients 5000] [--draws 30] [--same-times]
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import (
    PYARROW_BASELINE,
    benchmark_file,
    interleaved,
    load_average,
    summarise,
)


def main() -> int:
    path, args = benchmark_file(__doc__.splitlines()[0])
    commands = {
        "pyarrow read_csv": [*PYARROW_BASELINE, str(path)],
        "dashboard import": [sys.executable, "-m", "dashboard", "import", str(path)],
    }
    runs = interleaved(commands, args.rounds, "pyarrow read_csv")
    ok = summarise(runs, "pyarrow read_csv", {"dashboard import": (2.5, 3.0)})
    print(f"load average after: {load_average()} (ratios are per round: both commands saw the same load)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
