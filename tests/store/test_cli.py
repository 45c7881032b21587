"""``python -m dashboard workspace ...``: scheduled imports and exports without the UI."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import zipfile

import pytest

from dashboard.cli import main
from tests.store.helpers import DOSES, LABS, PATIENTS, write
from tests.support import ROOT


def run(argv, capsys):
    code = main(argv)
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture
def folder(tmp_path):
    drop = tmp_path / "drop"
    drop.mkdir()
    write(drop, "labs.csv", LABS)
    write(drop, "doses.csv", DOSES)
    write(drop, "patients.csv", PATIENTS)
    return drop


def test_import_info_and_reimport(folder, capsys, tmp_workspace_env):
    code, out, _ = run(["workspace", "import", str(folder)], capsys)
    assert code == 0 and "Workspace import #1: added 4 results, 2 doses, 2 patients" in out
    assert str(tmp_workspace_env) in out
    code, out, _ = run(["workspace", "info", "--json"], capsys)
    info = json.loads(out)
    assert {k: info[k] for k in ("patients", "labs", "doses", "imports", "reviews")} == {
        "patients": 2,
        "labs": 4,
        "doses": 2,
        "imports": 1,
        "reviews": 0,
    }
    code, out, _ = run(["workspace", "import", str(folder / "labs.csv"), "--json"], capsys)
    data = json.loads(out)
    assert code == 0 and data["stored"] is False and "already imported on" in data["skipped"][0]["message"]
    code, out, _ = run(["workspace", "info"], capsys)
    assert "2 patients, 4 lab results, 2 doses (0 entered in the app), 1 imports, 0 reviews" in out


def test_import_options_are_the_import_commands(tmp_path, capsys):
    amb = write(
        tmp_path, "amb.csv", "id,date,test,value,unit\np1,01/02/2024,WBC,4,10^9/L\np1,03/04/2024,WBC,5,10^9/L\n"
    )
    code, _, err = run(["workspace", "import", str(amb)], capsys)
    assert code == 2 and "--dayfirst" in err and "nothing was stored" in err
    code, out, _ = run(["workspace", "import", str(amb), "--monthfirst"], capsys)
    assert code == 0 and "added 2 results" in out
    odd = write(tmp_path, "odd.csv", "Nummer,Wann,Was,Zahl,Einheit\np1,2024-01-02,WBC,4.5,10^9/L\n")
    maps = ["--map", "Nummer=patient_id", "--map", "Wann=collected_at", "--map", "Was=analyte"]
    code, out, _ = run(["workspace", "import", str(odd), *maps, "--map", "Zahl=value", "--map", "Einheit=unit"], capsys)
    assert code == 0 and "added 1 results" in out
    code, _, err = run(["workspace", "import", str(tmp_path / "missing.csv")], capsys)
    assert code == 2 and "file not found" in err


def test_exports(folder, tmp_path, capsys):
    run(["workspace", "import", str(folder)], capsys)
    out_csv = tmp_path / "out" / "panel.csv"
    code, out, _ = run(["workspace", "export", "--format", "csv", "--out", str(out_csv)], capsys)
    assert code == 0 and "panel of 2 patients" in out
    text = out_csv.read_text(encoding="utf-8-sig")
    header = text.splitlines()[0]
    assert "WBC (10^9/L)" in header and "Platelets (10^9/L)" in header and "Hb (g/L)" in header
    xlsx = tmp_path / "p.xlsx"
    code, _, _ = run(["workspace", "export", "--format", "xlsx", "--patient", "001", "--out", str(xlsx)], capsys)
    assert code == 0
    names = zipfile.ZipFile(io.BytesIO(xlsx.read_bytes())).namelist()
    assert "xl/worksheets/sheet4.xml" in names  # results, raw results, doses, reviews
    pdf = tmp_path / "p.pdf"
    code, _, _ = run(["workspace", "export", "--format", "pdf", "--patient", "001", "--out", str(pdf)], capsys)
    assert code == 0 and pdf.read_bytes().startswith(b"%PDF")
    code, _, err = run(["workspace", "export", "--format", "pdf", "--out", str(pdf)], capsys)
    assert code == 2 and "--patient" in err
    code, _, err = run(["workspace", "export", "--format", "csv", "--patient", "nobody", "--out", str(pdf)], capsys)
    assert code == 1 and "not in the workspace" in err


def test_export_without_a_workspace_fails_cleanly(tmp_path, capsys):
    code, _, err = run(["workspace", "export", "--format", "csv", "--out", str(tmp_path / "x.csv")], capsys)
    assert code == 1 and "no workspace" in err and "Traceback" not in err


def test_the_real_command_line(folder, tmp_workspace_env):
    proc = subprocess.run(
        [sys.executable, "-m", "dashboard", "workspace", "import", str(folder / "labs.csv"), "--json"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["labs_added"] == 4
    assert (tmp_workspace_env / "workspace.duckdb").is_file()


def test_a_nightly_drop_folder_is_imported_once(folder, capsys):
    assert run(["workspace", "import", str(folder)], capsys)[0] == 0
    (folder / "README.txt").write_text("exports land here every night\n")
    code, out, err = run(["workspace", "import", str(folder)], capsys)
    assert code == 0, err
    assert out.count("already imported on") == 3 and "README.txt" in out
    write(folder, "labs_new.csv", "MRN,Collection Date,Component,Result,Units\n001,2024-05-15,WBC,3.4,K/uL\n")
    code, out, _ = run(["workspace", "import", str(folder)], capsys)
    assert code == 0 and "added 1 results" in out
    amb = "id,date,test,value,unit\np9,01/02/2024,WBC,4,10^9/L\np9,03/04/2024,WBC,5,10^9/L\n"
    write(folder, "ambiguous.csv", amb)
    code, _, err = run(["workspace", "import", str(folder)], capsys)
    assert code == 2 and "--dayfirst" in err
