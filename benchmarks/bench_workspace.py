"""Workspace benchmark: import a million results, re-import, and reopen the panel.

Generates a 1.05M-result long CSV (5,000 patients x 30 draws x 7 analytes) once, imports
it into a fresh temporary workspace with ``python -m dashboard workspace import``, then
measures (best of N, each in a fresh process so nothing is warm in memory):

* re-import of the same file (content-hash skip);
* reopening the workspace into the panel the pages use (``open_panel(ws).dataset()``);
* the open flags of the whole panel with their reviews (the "Flags to review" tab);
* the app path: a new session clicking "Open workspace panel" on the Workspace page
  (Streamlit AppTest, the whole script run).

Target (issue 9): reopening 5,000 patients / 1M results shows the panel in < 2 s.

    python benchmarks/bench_workspace.py [--patients 5000] [--draws 30] [--repeat 3]
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.common import benchmark_file, timed  # noqa: E402

REOPEN = """
import json, sys, time
t0 = time.perf_counter()
from dashboard.store import Workspace
from dashboard.store.panel import open_panel
t1 = time.perf_counter()
panel = open_panel(Workspace(sys.argv[1]))
ds = panel.dataset()
t2 = time.perf_counter()
flags = panel.open_flags()
t3 = time.perf_counter()
print(json.dumps({"imports": t1 - t0, "open": t2 - t1, "flags": t3 - t2, "n_flags": len(flags),
                  "patients": len(ds.patient_ids), "labs": len(ds.labs)}))
"""

APP = """
import json, sys, time
from streamlit.testing.v1 import AppTest
at = AppTest.from_file(sys.argv[1], default_timeout=120)
at.run()
at.switch_page("pages/workspace.py").run()
button = next(b for b in at.button if b.label == "Open workspace panel")
t = time.perf_counter()
button.click().run()
took = time.perf_counter() - t
assert not at.exception, at.exception
print(json.dumps({"click_to_panel": took, "labs": len(at.session_state["dataset"].labs)}))
"""


def run_json(code: str, *args: str, env: dict[str, str]) -> dict:
    proc = subprocess.run(
        [sys.executable, "-c", code, *args], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> int:
    path, args = benchmark_file(__doc__.splitlines()[0])

    with tempfile.TemporaryDirectory(prefix="bench-ws-") as tmp:
        env = {**os.environ, "DASHBOARD_WORKSPACE": str(Path(tmp) / "ws"), "PYTHONPATH": str(ROOT)}
        cmd = [sys.executable, "-m", "dashboard", "workspace", "import", str(path)]
        start = time.perf_counter()
        subprocess.run(cmd, cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL)
        first = time.perf_counter() - start
        size = (Path(tmp) / "ws" / "workspace.duckdb").stat().st_size / 1e6
        print(f"workspace import (new)     : {first:6.2f} s   database {size:.0f} MB")
        os.environ["DASHBOARD_WORKSPACE"] = env["DASHBOARD_WORKSPACE"]
        again, _ = timed(cmd, args.repeat)
        print(f"re-import (already there)  : {again:6.2f} s   (content hash: nothing read or written)")

        reopen = [run_json(REOPEN, env["DASHBOARD_WORKSPACE"], env=env) for _ in range(args.repeat)]
        best = min(reopen, key=lambda r: r["open"])
        print(
            f"reopen -> panel (in process): {best['open']:6.2f} s   "
            f"({best['patients']:,} patients, {best['labs']:,} results; imports {best['imports']:.2f} s)"
        )
        print(f"open flags of the whole panel (rules): {best['flags']:6.2f} s   ({best['n_flags']:,} flags)")
        app = [run_json(APP, str(ROOT / "streamlit_app.py"), env=env) for _ in range(args.repeat)]
        best_app = min(r["click_to_panel"] for r in app)
        print(f"app: click 'Open workspace panel' -> page shown: {best_app:6.2f} s   (target < 2 s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
