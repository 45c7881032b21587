"""The command line: contracts of `python -m dashboard import` (options, JSON, exit codes)."""

import json
import subprocess
import sys

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from dashboard import model
from tests.support import ROOT

LABS = "MRN,Collection Date,Component,Result,Units\n001,15/03/2024,WBC,3.2,K/uL\n001,15/03/2024,Hb,pending,g/dL\n"
AMBIGUOUS = "id,date,test,value,unit\np1,01/02/2024,WBC,4,10^9/L\np1,03/04/2024,WBC,5,10^9/L\n"


def run(*args, cwd=None):
    proc = subprocess.run(
        [sys.executable, "-m", "dashboard", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd or ROOT,
        timeout=120,
    )
    assert "Traceback" not in proc.stderr and "Traceback" not in proc.stdout
    return proc


@pytest.fixture
def files(tmp_path):
    (tmp_path / "labs.csv").write_text(LABS)
    (tmp_path / "ambiguous.csv").write_text(AMBIGUOUS)
    (tmp_path / "binary.dat").write_bytes(b"\x00\x01\x02" * 100)
    return tmp_path


def test_import_prints_a_readable_report_and_exits_0_with_rejections(files):
    p = run("import", files / "labs.csv")
    assert p.returncode == 0
    assert "rows read 2: accepted 1, rejected 1" in p.stdout
    assert "pending" in p.stdout


def test_import_json_contract(files):
    p = run("import", files / "labs.csv", "--json")
    assert p.returncode == 0
    data = json.loads(p.stdout)
    assert {"files", "labs", "doses", "patients"} <= set(data)
    f = data["files"][0]
    assert {"path", "format", "rows_read", "rows_accepted", "rows_rejected", "duplicates", "problems"} <= set(f)
    assert f["rows_read"] == f["rows_accepted"] + f["rows_rejected"] + f["duplicates"] == 2
    assert f["problems"][0]["row"] == 3 and f["problems"][0]["column"] == "Result"
    assert set(f["problems"][0]) >= {"row", "column", "message"}
    assert data["labs"] == 1 and data["patients"] == 1


def test_ambiguous_dates_exit_2_with_one_line(files):
    p = run("import", files / "ambiguous.csv")
    assert p.returncode == 2
    assert len(p.stderr.strip().splitlines()) == 1
    assert "--dayfirst or --monthfirst" in p.stderr
    p = run("import", files / "ambiguous.csv", "--monthfirst", "--json")
    assert p.returncode == 0 and json.loads(p.stdout)["labs"] == 2


def test_dayfirst_and_monthfirst_are_exclusive(files):
    p = run("import", files / "ambiguous.csv", "--dayfirst", "--monthfirst")
    assert p.returncode == 2


def test_nothing_readable_exits_2(files):
    for target in (files / "binary.dat", files / "missing.csv"):
        p = run("import", target)
        assert p.returncode == 2
        assert len(p.stderr.strip().splitlines()) == 1


def test_unmapped_columns_exit_2_and_map_fixes_it(tmp_path):
    f = tmp_path / "odd.csv"
    f.write_text("Nummer,Wann,Was,Zahl,Einheit\np1,2024-01-02,WBC,4,10^9/L\n")
    p = run("import", f)
    assert p.returncode == 2 and "Columns found: Nummer, Wann, Was, Zahl, Einheit" in p.stderr
    p = run(
        "import",
        f,
        "--map",
        "Nummer=patient_id",
        "--map",
        "Wann=collected_at",
        "--map",
        "Was=analyte",
        "--map",
        "Zahl=value",
        "--map",
        "Einheit=unit",
        "--json",
    )
    assert p.returncode == 0 and json.loads(p.stdout)["labs"] == 1


def test_map_rejects_unknown_fields(files):
    p = run("import", files / "labs.csv", "--map", "MRN=nonsense")
    assert p.returncode == 2 and "unknown field" in p.stderr


def test_out_writes_canonical_parquet(files, tmp_path):
    out = tmp_path / "out"
    p = run("import", files / "labs.csv", "--out", out)
    assert p.returncode == 0
    for table in ("labs", "doses", "patients"):
        t = pq.read_table(out / f"{table}.parquet")
        assert t.schema.names == model.columns(table)
        for field, expected in zip(t.schema, model.schema(table), strict=True):
            # Parquet has no second resolution: timestamps come back as milliseconds
            same = (
                pa.types.is_timestamp(field.type)
                if pa.types.is_timestamp(expected.type)
                else field.type == expected.type
            )
            assert same, (table, field, expected)
    labs = pq.read_table(out / "labs.parquet").to_pylist()
    assert labs[0]["value"] == 3.2 and labs[0]["unit"] == "10^9/L" and labs[0]["source_unit"] == "K/uL"


def test_a_folder_imports_every_file_in_it(files):
    p = run("import", files, "--dayfirst", "--json")
    data = json.loads(p.stdout)
    assert len(data["files"]) == 3


@pytest.mark.parametrize("command", ["import", "review"])
def test_import_and_review_of_the_sample_panel_run_without_pandas(command):
    # Both commands stay on Arrow and numpy; refusing pandas (saves ~0.5 s of start-up)
    # must not break any path, doses, patients and every rule included.
    for extra in ([], ["--json"]):
        proc = run(command, ROOT / "sample_data", *extra)
        assert proc.returncode == 0, proc.stderr
    text = run(command, ROOT / "sample_data").stdout
    assert "36 patients" in text
    if command == "review":
        assert "SLE-017" in text and "tpmt" in text.lower()


def test_the_review_text_and_its_csv_show_the_same_value(tmp_path):
    """H139: 1595 cells/uL is 1.595 x10^9/L (divide by 1000), below the BSR limit 1.6; the
    text review says 1.595 and its CSV must too, never 1.60 beside "< 1.6: withhold"."""
    import pandas as pd

    from tests.test_summary_export import H139_DOSES, H139_LABS, H139_PATIENTS

    for name, text in (("labs.csv", H139_LABS), ("doses.csv", H139_DOSES), ("patients.csv", H139_PATIENTS)):
        (tmp_path / name).write_text(text, encoding="utf-8")
    out = tmp_path / "flags.csv"
    cmd = [sys.executable, "-m", "dashboard", "review", str(tmp_path), "--as-of", "2026-04-01", "--csv", str(out)]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=True)
    assert "Neutrophils 1.595" in proc.stdout
    table = pd.read_csv(out, encoding="utf-8-sig", dtype=str)
    row = table[(table["Patient"] == "P1") & (table["Rule"] == "bsr.neutrophils_low")].iloc[0]
    assert row["Value"] == "1.595"
