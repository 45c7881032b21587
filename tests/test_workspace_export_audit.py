"""``workspace export --as-of --profile``: an audit of a past date under an old profile from
the command line, as the app makes it (probe 16 F5, H331).

The case, by hand.  Azathioprine 150 mg daily from 1 Jun 2026 (so a monitored drug is in
force on every draw below); neutrophils 1.3 x10^9/L on 2 Nov 2026, then 2.4 on 20 Nov.
* As of 6 Nov 2026 the 20 Nov result is after the as-of date: judged is the 1.3, which
  CTCAE v5.0 grades 2 (neutrophil count decreased, < 1.5 - 1.0 x10^9/L).  The latest
  neutrophil count on the panel row is therefore 1.3, not 2.4, the last draw 2 Nov, and
  the row counts one result after the as-of date.
* Without --as-of the export is as the app opens it (today, the clock of the test: after
  20 Nov), and judged is 2.4 (no flag).
The exported file says the date and the profile it was judged on, in its own columns
"As of" and "Profile" (CSV, the XLSX's Panel sheet) and beside the as-of date on the PDF.
"""

from __future__ import annotations

import datetime as dt
import io

import pandas as pd
import pytest

from dashboard.cli.main import main
from dashboard.ingest import Source
from dashboard.store import Workspace

HEAD = "MRN,Collection Date,Component,Result,Units,Reference Range,Status\n"
LABS = (
    HEAD
    + "1234,2026-11-02 09:00,Neutrophils,1.3,10^9/L,2.0-7.5,Final\n"
    + "1234,2026-11-20 09:00,Neutrophils,2.4,10^9/L,2.0-7.5,Final\n"
)
DOSES = "patient,drug,dose,unit,frequency,route,start,end\n1234,azathioprine,150,mg,daily,oral,2026-06-01,\n"
BSR_2017 = "BSR 2017 / NICE"


@pytest.fixture
def ws(tmp_path, monkeypatch) -> Workspace:
    path = tmp_path / "workspace"
    monkeypatch.setenv("DASHBOARD_WORKSPACE", str(path))
    ws = Workspace(path, timeout=20, clock=lambda: dt.datetime(2026, 12, 4, 9, 0))
    ws.import_sources([Source("doses.csv", DOSES.encode()), Source("labs.csv", LABS.encode())], by="Dr A")
    return ws


def _csv(path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, encoding="utf-8-sig", keep_default_na=False).set_index("Patient")


def test_the_panel_csv_of_a_past_date_under_bsr_2017(ws, tmp_path, capsys):
    out = tmp_path / "audit.csv"
    argv = ["workspace", "export", "--format", "csv", "--out", str(out)]
    code = main([*argv, "--as-of", "2026-11-06", "--profile", BSR_2017])
    assert code == 0
    printed = capsys.readouterr().out
    assert "as of 2026-11-06" in printed and f"profile {BSR_2017}" in printed
    row = _csv(out).loc["1234"]
    assert row["As of"] == "2026-11-06" and row["Profile"] == BSR_2017
    assert row["Neutrophils (10^9/L)"] == "1.3"  # judged on 6 Nov: the 20 Nov count is after it
    assert row["Neutrophils CTCAE grade"] == "2"
    assert row["Results after as-of"] == "1"
    assert row["Last draw"] == "2026-11-02"


def test_without_the_options_the_export_is_as_before(ws, tmp_path, capsys):
    """Existing use unchanged: as the app opens (after the last result), under BSR 2025."""
    out = tmp_path / "panel.csv"
    assert main(["workspace", "export", "--format", "csv", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    row = _csv(out).loc["1234"]
    assert row["Profile"] == "BSR 2025" and f"as of {row['As of']}" in printed and "profile BSR 2025" in printed
    assert row["As of"] >= "2026-11-20"  # on or after the last result: 2.4 is judged
    assert row["Neutrophils (10^9/L)"] == "2.4"


def test_the_xlsx_panel_sheet_says_the_date_and_profile(ws, tmp_path):
    out = tmp_path / "audit.xlsx"
    assert (
        main(
            [
                "workspace",
                "export",
                "--format",
                "xlsx",
                "--out",
                str(out),
                "--as-of",
                "2026-11-06",
                "--profile",
                BSR_2017,
            ]
        )
        == 0
    )
    sheet = pd.read_excel(out, sheet_name="Panel", engine="openpyxl", dtype=str).set_index("Patient")
    assert sheet.loc["1234", "As of"] == "2026-11-06" and sheet.loc["1234", "Profile"] == BSR_2017


def test_the_pdf_of_a_past_date_says_its_date_and_profile(ws, tmp_path, capsys):
    from pypdf import PdfReader

    out = tmp_path / "a.pdf"
    argv = ["workspace", "export", "--format", "pdf", "--patient", "1234", "--out", str(out)]
    assert main([*argv, "--as-of", "2026-11-06", "--profile", BSR_2017]) == 0
    assert "as of 2026-11-06" in capsys.readouterr().out
    text = " ".join(PdfReader(io.BytesIO(out.read_bytes())).pages[0].extract_text().split())
    assert f"As of 06 Nov 2026 · profile {BSR_2017}" in text


def test_a_bad_date_or_profile_is_refused_with_the_reason_and_nothing_written(ws, tmp_path, capsys):
    out = tmp_path / "x.csv"
    assert main(["workspace", "export", "--format", "csv", "--out", str(out), "--as-of", "06/11/2026"]) == 2
    assert "--as-of: expected a date as YYYY-MM-DD" in capsys.readouterr().err
    assert main(["workspace", "export", "--format", "csv", "--out", str(out), "--profile", "BSR 1999"]) == 2
    assert "--profile" in capsys.readouterr().err
    assert not out.exists()


def test_review_and_workspace_export_take_the_same_options():
    from dashboard.cli.main import build_parser

    parser = build_parser()
    review = parser.parse_args(["review", "x.csv", "--as-of", "2026-11-06", "--profile", BSR_2017])
    export = parser.parse_args(
        ["workspace", "export", "--format", "csv", "--out", "a.csv", "--as-of", "2026-11-06", "--profile", BSR_2017]
    )
    assert (review.as_of, review.profile) == (export.as_of, export.profile) == ("2026-11-06", BSR_2017)
