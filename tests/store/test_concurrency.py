"""Crash safety and sharing: a killed import, two processes, two threads.

The writer in another process is paused inside its import transaction (after the
results and patients are written, before the commit) by a small script that wraps one
store function; the test then kills it, or reads and imports beside it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from dashboard.ingest import Source
from dashboard.reviews import Review
from dashboard.store import Workspace, WorkspaceBusy
from tests.store.helpers import LABS, big_labs_csv
from tests.support import ROOT

PAUSED_WRITER = """
import sys, time
from pathlib import Path
from dashboard.ingest import Source
from dashboard.store import merge, workspace as w

path, data_file, go_file = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
inner = merge._store_patients

def paused(*args, **kwargs):
    inner(*args, **kwargs)
    print("IN_TRANSACTION", flush=True)
    while not go_file.exists():
        time.sleep(0.05)

merge._store_patients = paused
out = w.Workspace(path).import_sources([Source(data_file.name, data_file.read_bytes())], by="writer")
print("COMMITTED", out.labs_added, flush=True)
"""


def start_writer(ws_path: Path, data: bytes, tmp_path: Path, name: str = "big.csv") -> tuple[subprocess.Popen, Path]:
    data_file = tmp_path / name
    data_file.write_bytes(data)
    go = tmp_path / f"go-{name}"
    proc = subprocess.Popen(
        [sys.executable, "-c", PAUSED_WRITER, str(ws_path), str(data_file), str(go)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    line = proc.stdout.readline()
    if line.strip() != "IN_TRANSACTION":
        proc.kill()
        raise AssertionError(f"writer did not reach its transaction: {line!r} {proc.stderr.read()[-2000:]}")
    return proc, go


def test_killing_an_import_mid_write_leaves_the_previous_state(ws, tmp_path):
    ws.import_sources([Source("labs.csv", LABS.encode())], by="t")
    before = ws.info()
    # large enough that DuckDB writes row groups to the file before the commit
    proc, _go = start_writer(ws.path, big_labs_csv(2000, 40), tmp_path)
    time.sleep(0.3)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    after = Workspace(ws.path)
    assert after.info() == before
    assert after.load().labs.num_rows == 4
    # and the workspace still takes the next import
    out = after.import_sources([Source("more.csv", big_labs_csv(20, 3))], by="t")
    assert out.stored and after.info()["labs"] == 4 + 180


def test_a_reader_never_sees_half_an_import_and_a_second_writer_waits(ws, tmp_path):
    ws.import_sources([Source("labs.csv", LABS.encode())], by="t")
    proc, go = start_writer(ws.path, big_labs_csv(50, 4), tmp_path)
    try:
        # while the other process is inside its transaction, a reader waits (here: gives up)
        with pytest.raises(WorkspaceBusy):
            Workspace(ws.path, timeout=0.5).info()
        # the nightly CLI import in a third process waits for the writer and then runs
        second = tmp_path / "nightly.csv"
        second.write_bytes(big_labs_csv(5, 2, offset_days=1))
        cli = subprocess.Popen(
            [sys.executable, "-m", "dashboard", "workspace", "import", str(second)],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "DASHBOARD_WORKSPACE": str(ws.path)},
        )
        time.sleep(1.0)
        assert cli.poll() is None  # still waiting for the lock
        counts = []
        reader = threading.Thread(target=lambda: counts.append(Workspace(ws.path, timeout=60).info()["labs"]))
        reader.start()
        go.touch()
        out, err = cli.communicate(timeout=120)
        assert cli.returncode == 0, err
        assert "added 30 results" in out
        reader.join(timeout=60)
        writer_out = proc.communicate(timeout=60)[0]
        assert "COMMITTED 600" in writer_out
    finally:
        if proc.poll() is None:
            proc.kill()
    # the reader saw the state after the first writer's commit, never a part of it
    assert counts and counts[0] in (4 + 600, 4 + 600 + 30)
    assert Workspace(ws.path).info()["labs"] == 4 + 600 + 30
    assert Workspace(ws.path).info()["imports"] == 3


def test_two_sessions_writing_at_once_are_serialised(ws):
    ws.create()
    errors: list[BaseException] = []

    def session(name: str) -> None:
        mine = Workspace(ws.path, timeout=60)
        try:
            for i in range(8):
                mine.add_review(Review(f"P{i}", "continue", f"{name} {i}"), by=name)
                mine.info()
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=session, args=(n,)) for n in ("Dr A", "Dr B")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors
    log = ws.reviews().to_pylist()
    assert sorted(r["review_id"] for r in log) == list(range(1, 17))
    assert {r["reviewer"] for r in log} == {"Dr A", "Dr B"}
