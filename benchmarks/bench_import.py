"""Import benchmark: `python -m dashboard import` vs a bare pyarrow.csv.read_csv.

Generates a 1.05M-result long CSV (5,000 patients x 30 draws x 7 analytes) once, then
times both as whole processes in the same run (best of N) and prints the wall-time
ratio and both peak memories.  Target (issue 3): <= 2x wall, <= 3x memory.

    python benchmarks/bench_import.py [--patients 5000] [--draws 30] [--repeat 3]
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import PYARROW_BASELINE, benchmark_file, timed


def main() -> int:
    path, args = benchmark_file(__doc__.splitlines()[0])

    ours_cmd = [sys.executable, "-m", "dashboard", "import", str(path)]
    base_wall, base_mem = timed([*PYARROW_BASELINE, str(path)], args.repeat)
    ours_wall, ours_mem = timed(ours_cmd, args.repeat)
    # second round, interleaved, to even out machine noise
    base_wall = min(base_wall, timed([*PYARROW_BASELINE, str(path)], args.repeat)[0])
    ours_wall = min(ours_wall, timed(ours_cmd, args.repeat)[0])

    print(f"pyarrow.csv.read_csv : {base_wall:6.2f} s   peak {base_mem:7.0f} MB")
    print(f"dashboard import     : {ours_wall:6.2f} s   peak {ours_mem:7.0f} MB")
    print(
        f"ratio                : {ours_wall / base_wall:6.2f}x wall (target <= 2x)   {ours_mem / base_mem:5.2f}x memory (target <= 3x)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
