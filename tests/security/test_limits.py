"""Upload size and row limits: a file over the limit is refused whole, with a clear message."""

from __future__ import annotations

import tomllib

from streamlit.testing.v1 import AppTest

from dashboard.cli import main
from dashboard.ingest.tabular import MAX_ROWS, max_rows
from tests.support import ROOT, import_bytes

APP = str(ROOT / "streamlit_app.py")


def _labs(n: int) -> bytes:
    return (
        "patient_id,collected_at,test,value,unit\n"
        + "".join(f"P1,2024-03-05 08:{i % 60:02d},WBC,{4 + i / 1000:.3f},10^9/L\n" for i in range(n))
    ).encode()


def test_the_row_limit_defaults_and_can_be_lowered(monkeypatch):
    monkeypatch.delenv("DASHBOARD_MAX_ROWS", raising=False)
    assert max_rows() == MAX_ROWS == 20_000_000
    monkeypatch.setenv("DASHBOARD_MAX_ROWS", "5")
    assert max_rows() == 5
    monkeypatch.setenv("DASHBOARD_MAX_ROWS", "lots")
    assert max_rows() == MAX_ROWS  # a typo never lifts or breaks the limit


def test_a_file_over_the_row_limit_is_refused_whole(monkeypatch):
    monkeypatch.setenv("DASHBOARD_MAX_ROWS", "5")
    for name, data in (("clean.csv", _labs(6)), ("ragged.csv", _labs(6) + b"P1,2024-03-06\n")):
        result = import_bytes(data, name)
        [f] = result.report.files
        assert "the limit is 5 rows per file" in f.error and "nothing of it was imported" in f.error
        assert "split the export" in f.error
        assert result.labs.num_rows == 0
    assert import_bytes(_labs(5)).labs.num_rows == 5  # at the limit: read


def test_the_cli_says_why_in_one_line(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("DASHBOARD_MAX_ROWS", "5")
    path = tmp_path / "big.csv"
    path.write_bytes(_labs(50))
    assert main(["import", str(path)]) == 2
    err = capsys.readouterr().err
    assert "limit is 5 rows per file" in err and "Traceback" not in err


def test_the_upload_page_shows_the_row_limit_message(monkeypatch):
    monkeypatch.setenv("DASHBOARD_MAX_ROWS", "5")
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    at.file_uploader(key="upload_files").set_value([("big.csv", _labs(20), "text/csv")])
    at.run()
    assert not at.exception
    shown = " ".join(e.value for e in at.error)
    assert "the limit is 5 rows per file" in shown and "split the export" in shown


def test_the_upload_size_limit_is_set_and_stated():
    cfg = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert cfg["server"]["maxUploadSize"] == 500  # MB; Streamlit refuses larger files with its own message
    readme = (ROOT / "README.md").read_text()
    assert "500 MB" in readme and "DASHBOARD_MAX_ROWS" in readme


def test_the_upload_page_states_the_limits(monkeypatch):
    monkeypatch.setenv("DASHBOARD_MAX_ROWS", "1000")
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    assert any("Up to 500 MB and 1,000 rows per file" in c.value for c in at.caption)
