"""Probe 34: the command line and the workspace as a clinic uses them.

`python -m dashboard import|review|workspace import|info|export` with the files a clinic
really has: a file imported twice, a newer cumulative export, a corrected value, the same
name in two folders, a folder with a README, empty files, a workspace that cannot be
written, two imports at once, hostile cells in the flags CSV, non-Latin names in the PDF.

Each finding is a strict xfail that fails at the assert marked ``# FINDING``; the other
tests pin what was checked and found right.  Every CLI run goes through a subprocess (or
``main()`` where a monkeypatch is needed) with the workspace under ``tmp_path``.
"""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import ROOT

HEADER = "Patient ID,Collected,Test Name,Result,Units,Reference Range\n"
# one draw of P1 (normal), then a later draw (normal) for the overlapping export
DRAW_1 = (
    "P1,2025-02-11 09:00,WBC,6.3,10^9/L,4.0-11.0\n"
    "P1,2025-02-11 09:00,Neutrophils,3.9,10^9/L,2.0-7.5\n"
    "P1,2025-02-11 09:00,Platelets,260,10^9/L,150-400\n"
)
DRAW_2 = (
    "P1,2025-03-11 09:00,WBC,6.1,10^9/L,4.0-11.0\n"
    "P1,2025-03-11 09:00,Neutrophils,3.7,10^9/L,2.0-7.5\n"
    "P1,2025-03-11 09:00,Platelets,250,10^9/L,150-400\n"
)
# a low neutrophil count: CTCAE v5.0 grade 3 is < 1.0 x10^9/L (grade 4 < 0.5)
LOW = "P2,2025-03-01 09:00,Neutrophils,0.8,10^9/L,2.0-7.5\n"


def run(*args: object, ws: Path | None = None, cwd: Path | None = None, env: dict | None = None):
    e = {**os.environ, **(env or {})}
    e["PYTHONPATH"] = os.pathsep.join(x for x in (str(ROOT), e.get("PYTHONPATH", "")) if x)
    if ws is not None:
        e["DASHBOARD_WORKSPACE"] = str(ws)
    proc = subprocess.run(
        [sys.executable, "-m", "dashboard", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd or ROOT,
        env=e,
        timeout=300,
    )
    assert "Traceback" not in proc.stderr and "Traceback" not in proc.stdout
    return proc


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def info(ws: Path) -> dict:
    p = run("workspace", "info", "--json", ws=ws)
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout)


def files_of(stdout: str) -> list[dict]:
    data = json.loads(stdout)
    report = data.get("report") or data
    return report["files"]


def balanced(f: dict) -> bool:
    return f["rows_read"] == f["rows_accepted"] + f["rows_rejected"] + f["duplicates"]


# --------------------------------------------------------------------------- findings


def test_f1_workspace_import_of_a_folder_skips_its_readme(tmp_path):
    drop = tmp_path / "drop"
    write(drop / "labs.csv", HEADER + DRAW_1)
    write(drop / "README.md", "# Nightly LIS export\n\nColumns: MRN, date, test, value, unit.\n")
    plain = run("import", drop)
    assert plain.returncode == 0 and "Skipped as documentation: README.md" in plain.stdout
    ws = tmp_path / "ws"
    p = run("workspace", "import", drop, ws=ws)
    assert p.returncode == 0 and info(ws)["labs"] == 3, p.stdout + p.stderr  # FINDING


def test_f2_the_same_file_twice_in_one_workspace_import_is_accounted_for(tmp_path):
    a = write(tmp_path / "labs.csv", HEADER + DRAW_1)
    b = write(tmp_path / "labs (1).csv", HEADER + DRAW_1)
    p = run("workspace", "import", a, b, "--json", ws=tmp_path / "ws")
    assert p.returncode == 0
    out = json.loads(p.stdout)
    named = [f["path"] for f in out["report"]["files"]] + [
        s["file"] for s in out["skipped"]
    ]  # "file": the contract field
    assert info(tmp_path / "ws")["labs"] == 3
    assert "labs (1).csv" in named, named  # FINDING


def test_f3_two_files_of_one_name_in_two_folders_can_be_told_apart(tmp_path):
    write(tmp_path / "jan" / "labs.csv", HEADER + DRAW_1.replace("3.9", "abc"))
    write(tmp_path / "feb" / "labs.csv", HEADER + DRAW_1 + DRAW_2)
    p = run("import", tmp_path / "jan" / "labs.csv", tmp_path / "feb" / "labs.csv", "--json")
    assert p.returncode == 0
    files = files_of(p.stdout)
    assert [f["rows_rejected"] for f in files] == [1, 0]
    paths = [f["path"] for f in files]
    assert len(set(paths)) == 2, paths  # FINDING


def test_f4_another_value_of_a_stored_draw_is_said_by_the_workspace_import(tmp_path):
    ws = tmp_path / "ws"
    first = write(tmp_path / "w1.csv", HEADER + DRAW_1)
    assert run("workspace", "import", first, ws=ws).returncode == 0
    changed = write(tmp_path / "w2.csv", HEADER + DRAW_1.replace(",260,", ",26,") + DRAW_2)
    one_file = run("import", write(tmp_path / "both.csv", HEADER + DRAW_1 + DRAW_1.replace(",260,", ",26,")))
    assert "different Platelets results at the same time" in one_file.stdout
    p = run("workspace", "import", changed, ws=ws)
    assert p.returncode == 0 and info(ws)["labs"] == 7  # both values kept, as documented
    assert "Platelets" in p.stdout and "260" in p.stdout, p.stdout  # FINDING


def test_f5_sub_folders_of_an_imported_folder_are_said(tmp_path):
    write(tmp_path / "drop" / "labs.csv", HEADER + DRAW_1)
    write(tmp_path / "drop" / "2025-03" / "labs.csv", HEADER + DRAW_2)
    p = run("import", tmp_path / "drop", "--json")
    assert p.returncode == 0
    data = json.loads(p.stdout)
    assert data["labs"] == 3
    said = json.dumps(data["skipped"]) + p.stderr + run("import", tmp_path / "drop").stdout
    assert "2025-03" in said, said  # FINDING


def test_f6_an_unwritable_workspace_or_output_gets_a_one_line_reason(tmp_path):
    data = write(tmp_path / "labs.csv", HEADER + DRAW_1)
    blocker = write(tmp_path / "afile", "x")
    p = run("workspace", "import", data, ws=blocker / "ws")
    assert p.returncode == 1
    q = run("review", data, "--csv", tmp_path)  # a folder where the CSV file should go
    assert q.returncode != 0
    assert "unexpected problem" not in p.stderr + q.stderr, p.stderr + q.stderr  # FINDING


# --------------------------------------------------------------------------- checked and fine


def test_a_file_imported_twice_changes_nothing_and_exits_0(tmp_path):
    ws = tmp_path / "ws"
    f = write(tmp_path / "labs.csv", HEADER + DRAW_1)
    assert run("workspace", "import", f, ws=ws).returncode == 0
    p = run("workspace", "import", f, ws=ws)
    assert p.returncode == 0 and "already imported" in p.stdout and "nothing changed" in p.stdout
    i = info(ws)
    assert (i["labs"], i["imports"]) == (3, 1)


def test_a_newer_cumulative_export_adds_only_the_new_results_and_balances(tmp_path):
    ws = tmp_path / "ws"
    assert run("workspace", "import", write(tmp_path / "jan.csv", HEADER + DRAW_1), ws=ws).returncode == 0
    p = run("workspace", "import", write(tmp_path / "feb.csv", HEADER + DRAW_1 + DRAW_2), "--json", ws=ws)
    assert p.returncode == 0
    out = json.loads(p.stdout)
    [f] = out["report"]["files"]
    assert (f["rows_read"], f["rows_accepted"], f["duplicates"]) == (6, 3, 3) and balanced(f)
    assert (out["labs_added"], out["labs_duplicate"]) == (3, 3)
    # a row the newer export no longer has stays stored (imports add, never delete)
    p = run("workspace", "import", write(tmp_path / "mar.csv", HEADER + DRAW_2), ws=ws)
    assert p.returncode == 0 and info(ws)["labs"] == 6


def test_import_of_the_same_file_twice_counts_the_second_as_duplicates(tmp_path):
    f = write(tmp_path / "labs.csv", HEADER + DRAW_1)
    p = run("import", f, f, "--json")
    files = files_of(p.stdout)
    assert [(x["rows_accepted"], x["duplicates"]) for x in files] == [(3, 0), (0, 3)]
    assert all(balanced(x) for x in files)


@pytest.mark.parametrize(
    ("name", "content", "said"),
    [
        ("empty.csv", b"", "the file is empty"),
        ("zero.xlsx", b"", "the file is empty"),
        ("header.csv", HEADER.encode(), "nothing could be read"),
    ],
)
def test_an_empty_or_header_only_file_alone_exits_2_and_stores_nothing(tmp_path, name, content, said):
    f = tmp_path / name
    f.write_bytes(content)
    p = run("import", f)
    assert p.returncode == 2 and said in p.stderr and len(p.stderr.strip().splitlines()) == 1
    ws = tmp_path / "ws"
    q = run("workspace", "import", f, ws=ws)
    assert q.returncode == 2 and "nothing was stored" in q.stderr
    assert not info(ws)["exists"]


def test_empty_files_beside_a_good_one_are_listed_and_the_import_exits_0(tmp_path):
    (tmp_path / "empty.csv").write_bytes(b"")
    (tmp_path / "zero.xlsx").write_bytes(b"")
    write(tmp_path / "header.csv", HEADER)
    good = write(tmp_path / "labs.csv", HEADER + DRAW_1)
    p = run("import", tmp_path / "empty.csv", tmp_path / "zero.xlsx", tmp_path / "header.csv", good, "--json")
    assert p.returncode == 0
    files = files_of(p.stdout)
    assert [f["path"] for f in files] == ["empty.csv", "zero.xlsx", "header.csv", "labs.csv"]
    assert files[0]["error"] and files[1]["error"] and all(balanced(f) for f in files)


def test_a_failed_import_with_out_writes_no_file(tmp_path):
    out = tmp_path / "out"
    p = run("import", write(tmp_path / "header.csv", HEADER), "--out", out)
    assert p.returncode == 2 and not out.exists()


def test_a_workspace_of_a_newer_schema_or_not_a_database_is_refused_in_one_line(tmp_path):
    import duckdb

    ws = tmp_path / "ws"
    assert run("workspace", "import", write(tmp_path / "labs.csv", HEADER + DRAW_1), ws=ws).returncode == 0
    con = duckdb.connect(str(ws / "workspace.duckdb"))
    con.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    con.close()
    p = run("workspace", "info", ws=ws)
    assert p.returncode == 1 and "newer version" in p.stderr and len(p.stderr.strip().splitlines()) == 1
    (ws / "workspace.duckdb").write_bytes(b"garbage" * 200)
    q = run("workspace", "info", ws=ws)
    assert q.returncode == 1 and "cannot open the workspace" in q.stderr


def test_an_older_workspace_is_brought_up_to_date_by_the_cli(tmp_path, monkeypatch):
    from dashboard.ingest import Source
    from dashboard.store import schema
    from dashboard.store.workspace import Workspace

    monkeypatch.setattr("dashboard.store.migrations.MIGRATIONS", schema.MIGRATIONS[:5])
    monkeypatch.setattr("dashboard.store.migrations.latest_version", lambda: 5)
    monkeypatch.setattr("dashboard.store.workspace.latest_version", lambda: 5)
    ws = tmp_path / "ws"
    Workspace(ws).import_sources([Source("jan.csv", (HEADER + DRAW_1).encode())], by="t")
    monkeypatch.undo()
    p = run("workspace", "import", write(tmp_path / "feb.csv", HEADER + DRAW_1 + DRAW_2), ws=ws)
    assert p.returncode == 0
    i = info(ws)
    assert (i["schema_version"], i["labs"], i["imports"]) == (schema.latest_version(), 6, 2)


def test_a_workspace_kept_busy_by_another_writer_exits_1_and_stores_nothing(tmp_path, monkeypatch, capsys):
    from dashboard.cli.main import main
    from dashboard.store.lock import WorkspaceLock
    from dashboard.store.workspace import Workspace

    ws = tmp_path / "ws"
    monkeypatch.setenv("DASHBOARD_WORKSPACE", str(ws))
    Workspace(ws).create()
    monkeypatch.setattr("dashboard.cli.workspace.Workspace", lambda p: Workspace(p, timeout=0.2))
    f = write(tmp_path / "labs.csv", HEADER + DRAW_1)
    with WorkspaceLock(ws / "workspace.lock", exclusive=True):
        code = main(["workspace", "import", str(f)])
    err = capsys.readouterr().err
    assert code == 1 and "busy" in err and len(err.strip().splitlines()) == 1
    assert Workspace(ws).info()["labs"] == 0
    assert main(["workspace", "import", str(f)]) == 0  # once free, the same file goes in
    assert Workspace(ws).info()["labs"] == 3


def test_two_imports_at_once_both_land_and_one_file_twice_lands_once(tmp_path):
    ws = tmp_path / "ws"
    a = write(tmp_path / "a.csv", HEADER + DRAW_1)
    b = write(tmp_path / "b.csv", HEADER + DRAW_2)
    env = {**os.environ, "DASHBOARD_WORKSPACE": str(ws), "PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, "-m", "dashboard", "workspace", "import"]
    procs = [
        subprocess.Popen([*cmd, str(p)], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for p in (a, a, b)
    ]
    outs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0], outs
    assert all("Traceback" not in o + e for o, e in outs)
    i = info(ws)
    assert (i["labs"], i["imports"]) == (6, 2)


def test_review_as_of_before_any_result_lists_them_and_exits_0(tmp_path):
    f = write(tmp_path / "labs.csv", HEADER + LOW)
    p = run("review", f, "--as-of", "2020-01-01", "--json")
    assert p.returncode == 0
    data = json.loads(p.stdout)
    [pat] = data["patients"]
    assert pat["flags"] == [] and pat["results_after_as_of"] == 1


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (("--profile", "BSR 2099"), "--profile: unknown profile 'BSR 2099'"),
        (("--as-of", "2025-13-01"), "--as-of: expected a date as YYYY-MM-DD"),
    ],
)
def test_review_and_export_refuse_an_unknown_profile_or_date_in_one_line(tmp_path, args, said):
    f = write(tmp_path / "labs.csv", HEADER + LOW)
    p = run("review", f, *args)
    assert p.returncode == 2 and said in p.stderr and p.stdout == ""
    ws = tmp_path / "ws"
    assert run("workspace", "import", f, ws=ws).returncode == 0
    q = run("workspace", "export", "--format", "csv", "--out", tmp_path / "x.csv", *args, ws=ws)
    assert q.returncode == 2 and said in q.stderr and not (tmp_path / "x.csv").exists()


def test_review_json_has_the_field_names_the_readme_lists(tmp_path):
    f = write(tmp_path / "labs.csv", HEADER + LOW + DRAW_1)
    p = run("review", f, "--as-of", "2025-03-02", "--json")
    assert p.returncode == 0
    data = json.loads(p.stdout)
    assert {"import", "patients"} <= set(data)
    listed = {
        "patient_id",
        "name",
        "birth_date",
        "flags",
        "worst_ctcae_grade",
        "next_test_due",
        "overdue",
        "dose_checks",
        "max_ctcae_grade_or_worse",
        "worst_ctcae_grade_or_worse",
        "other_ids",
    }
    for pat in data["patients"]:
        assert listed <= set(pat)
        assert pat["name"] is None and pat["birth_date"] is None  # the data do not give them
    flags = [fl for pat in data["patients"] for fl in pat["flags"]]
    assert flags and all("ctcae_grade_or_worse" in fl for fl in flags)
    # grade by hand: CTCAE v5.0 neutrophil count decreased, 0.8 < 1.0 -> grade 3
    assert {fl["ctcae_grade"] for fl in flags if fl["rule"].startswith("ctcae.")} == {3}


def test_review_csv_neutralises_formula_cells(tmp_path):
    labs = write(
        tmp_path / "labs.csv",
        HEADER
        + "=cmd|' /C calc'!A0,2025-03-01 09:00,Neutrophils,0.4,10^9/L,2.0-7.5\n"
        + "@SUM(1+1),2025-03-01 09:00,Platelets,40,10^9/L,150-400\n"
        + "+44123,2025-03-01 09:00,Neutrophils,0.9,10^9/L,2.0-7.5\n"
        + "-12,2025-03-01 09:00,Neutrophils,0.9,10^9/L,2.0-7.5\n",
    )
    pats = write(
        tmp_path / "patients.csv",
        "patient_id,family_name,given_name,sex,birth_date\n=cmd|' /C calc'!A0,=HYPERLINK(\"http://x\"),Ann,F,1960-01-01\n",
    )
    out = tmp_path / "flags.csv"
    p = run("review", labs, pats, "--as-of", "2025-03-02", "--csv", out)
    assert p.returncode == 0 and "open flags to" in p.stderr
    rows = list(csv.reader(io.StringIO(out.read_text(encoding="utf-8-sig"))))
    cells = [c for r in rows[1:] for c in r]
    assert len(rows) > 1
    assert not [c for c in cells if c[:1] in ("=", "+", "@") or (c[:1] == "-" and not c[1:2].isdigit())]
    assert not [c for c in cells if c.startswith("-1")], "a patient id '-12' is a formula to Excel"
    assert any(c.startswith("'=cmd|") for c in cells) and any(c.startswith("'=HYPERLINK") for c in cells)


def test_review_json_and_csv_are_deterministic(tmp_path):
    f = write(tmp_path / "labs.csv", HEADER + LOW + DRAW_1 + DRAW_2)
    runs = [run("review", f, "--as-of", "2025-04-01", "--json", "--csv", tmp_path / f"f{i}.csv") for i in (1, 2)]
    assert runs[0].stdout == runs[1].stdout
    assert (tmp_path / "f1.csv").read_bytes() == (tmp_path / "f2.csv").read_bytes()


def test_workspace_export_of_an_unknown_patient_exits_1_and_writes_nothing(tmp_path):
    ws = tmp_path / "ws"
    assert run("workspace", "import", write(tmp_path / "labs.csv", HEADER + LOW), ws=ws).returncode == 0
    for fmt in ("csv", "xlsx", "pdf"):
        out = tmp_path / f"x.{fmt}"
        p = run("workspace", "export", "--format", fmt, "--patient", "ZZ-9", "--out", out, ws=ws)
        assert p.returncode == 1 and "'ZZ-9' is not in the workspace" in p.stderr and not out.exists()


def test_pdf_of_patients_with_non_latin_names(tmp_path):
    from pypdf import PdfReader

    ws = tmp_path / "ws"
    labs = write(
        tmp_path / "labs.csv",
        HEADER + "".join(f"{p},2025-03-01 09:00,Neutrophils,0.9,10^9/L,2.0-7.5\n" for p in ("JP-1", "AR-1", "GR-1")),
    )
    pats = write(
        tmp_path / "patients.csv",
        "patient_id,family_name,given_name,sex,birth_date\n"
        "JP-1,山田,太郎,M,1960-01-01\nAR-1,العربي,محمد,M,1961-01-01\nGR-1,Παπαδόπουλος,Γιώργος,M,1962-01-01\n",
    )
    assert run("workspace", "import", labs, pats, ws=ws).returncode == 0
    text = {}
    for pid in ("JP-1", "AR-1", "GR-1"):
        out = tmp_path / f"{pid}.pdf"
        p = run(
            "workspace", "export", "--format", "pdf", "--patient", pid, "--as-of", "2025-03-02", "--out", out, ws=ws
        )
        assert p.returncode == 0, p.stderr
        text[pid] = "".join(page.extract_text() for page in PdfReader(out).pages)
    for pid in ("JP-1", "AR-1"):
        assert f"[name not printable in this PDF's font: see MRN {pid}]" in text[pid]
    assert "Γιώργος" in text["GR-1"]


def test_no_patient_data_outside_the_workspace_and_out(tmp_path):
    tmp = tmp_path / "tmp"
    cwd = tmp_path / "cwd"
    tmp.mkdir()
    cwd.mkdir()
    env = {"TMPDIR": str(tmp), "TEMP": str(tmp), "TMP": str(tmp)}
    ws = tmp_path / "ws"
    data = write(tmp_path / "in" / "labs.csv", HEADER + LOW + DRAW_1)
    outs = tmp_path / "outs"
    steps = [
        ("import", data, "--out", outs / "pq"),
        ("review", data, "--csv", outs / "flags.csv"),
        ("workspace", "import", data),
        ("workspace", "export", "--format", "csv", "--out", outs / "panel.csv"),
        ("workspace", "export", "--format", "xlsx", "--out", outs / "panel.xlsx"),
        ("workspace", "export", "--format", "pdf", "--patient", "P2", "--out", outs / "p2.pdf"),
    ]
    for step in steps:
        assert run(*step, ws=ws, cwd=cwd, env=env).returncode == 0, step
    # no file anywhere under TMPDIR or the working folder (Chromium, drawing the PDF's
    # timeline through kaleido, now and then leaves its own temporary folder empty behind)
    assert [p for p in tmp.rglob("*") if not p.is_dir()] == [] and list(cwd.iterdir()) == []
    assert sorted(p.name for p in ws.iterdir()) == ["workspace.duckdb", "workspace.lock"]
    assert sorted(p.name for p in (tmp_path / "in").iterdir()) == ["labs.csv"]


def test_a_review_survives_reimports_and_a_newer_export(tmp_path):
    import datetime as dt

    from dashboard.reviews import results_of, reviews_for
    from dashboard.store.panel import open_panel
    from dashboard.store.workspace import Workspace

    ws = tmp_path / "ws"
    first = write(tmp_path / "w1.csv", HEADER + LOW)
    assert run("workspace", "import", first, ws=ws).returncode == 0
    as_of = dt.date(2025, 3, 2)
    shown = open_panel(Workspace(ws)).open_flags(as_of)
    assert len(shown) and not shown["reviewed"].any()
    Workspace(ws).add_reviews(
        reviews_for("P2", list(shown["flag_key"]), "continue", "seen", results_of(shown)), by="Dr A"
    )
    # the same file re-saved (CRLF), then a newer export with the same result and more
    assert (
        run("workspace", "import", write(tmp_path / "w1b.csv", (HEADER + LOW).replace("\n", "\r\n")), ws=ws).returncode
        == 0
    )
    assert run("workspace", "import", write(tmp_path / "w2.csv", HEADER + LOW + DRAW_1), ws=ws).returncode == 0
    again = open_panel(Workspace(ws)).open_flags(as_of)
    assert len(again) == len(shown) and again["reviewed"].all()
    p = run("workspace", "export", "--format", "csv", "--as-of", "2025-03-02", "--out", tmp_path / "panel.csv", ws=ws)
    assert p.returncode == 0
    rows = {r["Patient"]: r for r in csv.DictReader(io.StringIO((tmp_path / "panel.csv").read_text("utf-8-sig")))}
    assert "P2" in rows and "P1" in rows


def test_argument_errors_exit_2_without_a_traceback():
    assert run("import").returncode == 2
    assert run("workspace", "export", "--format", "doc", "--out", "x").returncode == 2
    assert run("review", "x.csv", "--dayfirst", "--monthfirst").returncode == 2
