"""The Workspace page's "Read again with today's reader" (AppTest, H644): offered for an
import an earlier reader version read, asks for the file again, shows the differences and
applies them only on "Apply the differences"."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from dashboard.store import Workspace
from dashboard.store.panel import open_panel
from tests.store.helpers import Clock
from tests.store.test_reread import PULSES, PULSES_OLD, store_old_reading
from tests.support import ROOT

APP = str(ROOT / "streamlit_app.py")


@pytest.fixture
def ws(tmp_path, monkeypatch) -> Workspace:
    monkeypatch.setenv("DASHBOARD_WORKSPACE", str(tmp_path / "ws"))
    return Workspace(tmp_path / "ws", timeout=20, clock=Clock())


def log_tab() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    at.switch_page("pages/workspace.py").run()
    at.session_state["ws_tab"] = "Import log"
    at.run()
    assert not at.exception, at.exception
    return at


def test_the_import_log_reads_an_old_import_again_on_confirm(ws, monkeypatch):
    store_old_reading(ws, monkeypatch, "doses.csv", PULSES, PULSES_OLD)
    at = log_tab()
    [start] = [b for b in at.button if b.label == "Read again with today's reader"]
    start.click().run()
    assert not at.exception, at.exception
    assert not [b for b in at.button if b.label == "Apply the differences"]  # the file first
    # the workspace keeps the fingerprint, not the file: the page asks for it again
    at.file_uploader(key="reread_files_1").set_value([("doses.csv", PULSES.encode(), "text/csv")])
    at.run()
    assert not at.exception, at.exception
    shown = "\n".join(c.value for c in at.code)
    assert "doses added (2)" in shown and "Dry run: nothing was changed" in shown, shown
    assert len(open_panel(ws).doses) == 1  # nothing applied without the confirm
    [apply] = [b for b in at.button if b.label == "Apply the differences"]
    apply.click().run()
    assert not at.exception, at.exception
    assert len(open_panel(ws).doses) == 3
    assert any("doses added (2)" in s.value.replace("\\", "") for s in at.success), [s.value for s in at.success]
    # read by today's reader now: no button
    assert not [b for b in log_tab().button if b.label == "Read again with today's reader"]


def test_a_reading_that_needs_a_choice_says_the_command_on_the_page(ws, monkeypatch):
    """The page cannot give a date order or a mapping to a re-read: it says the command that can."""
    from tests.store.test_reread import H

    today = H + "001,03/04/2024 09:00,WBC,4.0,10^9/L\n"
    store_old_reading(ws, monkeypatch, "d.csv", today, H + "001,2024-04-03 09:00,WBC,4.0,10^9/L\n")
    at = log_tab()
    [start] = [b for b in at.button if b.label == "Read again with today's reader"]
    start.click().run()
    at.file_uploader(key="reread_files_1").set_value([("d.csv", today.encode(), "text/csv")])
    at.run()
    assert not at.exception, at.exception
    shown = "\n".join(c.value for c in at.code)
    assert "needs a choice" in shown and "the stored reading stays" in shown, shown
    assert "Re-read it from the command line with the choice: python -m dashboard workspace import --reread" in shown
    assert "Give the choice with the re-read" not in shown
    assert not [b for b in at.button if b.label == "Apply the differences"]
