"""``python -m dashboard review``: options, text and JSON output, exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dashboard.cli import main
from dashboard.rules.engine import make_user_profile, save_profile

#: these tests pin the BSR 2017 behaviour (schedule, sources): the profile is selected explicitly
OLD = "BSR 2017 / NICE"

LABS = """patient_id,collected_at,analyte,value,unit
P1,2024-01-01,Neutrophils,4.0,10^9/L
P1,2024-02-01,Neutrophils,3.5,10^9/L
P1,2024-03-01,Neutrophils,3.0,10^9/L
P1,2024-04-01,Neutrophils,2.6,10^9/L
P1,2024-05-01,Neutrophils,<0.5,10^9/L
P1,2024-05-01,WBC,3.49,10^9/L
P1,2024-05-01,Hb,6.1,mmol/L
P2,2024-04-20,WBC,6.1,10^9/L
P2,2024-04-20,Platelets,250,10^9/L
"""
DOSES = """patient_id,drug,start,end,dose,frequency
P1,azathioprine,2024-02-15,2024-03-15,50 mg,daily
P1,azathioprine,2024-03-15,,150 mg,daily
P1,allopurinol,2024-04-01,,100 mg,daily
P2,methotrexate,2023-06-01,,15 mg,weekly
"""
PATIENTS = """patient_id,sex,weight_kg,tpmt,diagnosis
P1,F,60,intermediate,SLE
P2,M,80,normal,RA
"""


@pytest.fixture
def panel(tmp_path: Path) -> Path:
    (tmp_path / "labs.csv").write_text(LABS)
    (tmp_path / "doses.csv").write_text(DOSES)
    (tmp_path / "patients.csv").write_text(PATIENTS)
    return tmp_path


def review_json(capsys, *args: str) -> dict:
    assert main(["review", *args, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_json_contract(panel, capsys):
    doc = review_json(capsys, str(panel), "--as-of", "2024-05-10", "--profile", OLD)
    assert doc["import"]["labs"] == 9
    assert doc["review"]["as_of"] == "2024-05-10"
    assert doc["review"]["profile"] == "BSR 2017 / NICE"
    assert review_json(capsys, str(panel), "--as-of", "2024-05-10")["review"]["profile"] == "BSR 2025"  # default
    patients = doc["patients"]
    assert [p["patient_id"] for p in patients] == ["P1", "P2"]
    p1 = patients[0]
    for key in ("patient_id", "flags", "worst_ctcae_grade", "next_test_due", "overdue", "dose_checks"):
        assert key in p1
    assert p1["worst_ctcae_grade"] == {"wbc": 1, "neutrophils": 4, "hemoglobin": 2}
    # allopurinol since 1 April with azathioprine: the FBC weekly for the first 3 months
    # (Medsafe; H491): the full blood count of 1 May (30 days in) asks for the next on 8 May,
    # overdue by 2 days on 10 May (alone, monthly after the step of 15 March: 31 May)
    assert p1["next_test_due"] == "2024-05-08"
    assert p1["overdue"] is True and p1["days_overdue"] == 2
    contract = {
        "collected_at", "analyte", "value", "unit", "ctcae_grade", "rule", "threshold",
        "source", "severity", "message", "active_doses", "days_since_dose_change",
    }  # fmt: skip
    for f in p1["flags"]:
        assert contract <= set(f)
        assert f["ctcae_grade"] is None or isinstance(f["ctcae_grade"], int)
    by_rule = {f["rule"]: f for f in p1["flags"] if f["collected_at"].startswith("2024-05-01")}
    neut = by_rule["ctcae.neutrophils"]
    assert (neut["ctcae_grade"], neut["value"], neut["comparator"], neut["source_value"]) == (4, 0.5, "<", "<0.5")
    assert neut["threshold"] == 0.5 and neut["unit"] == "10^9/L"
    assert neut["source"] == "CTCAE v5.0 [nci_ctcae5]"
    assert by_rule["trend.consecutive_falls"]["threshold"] is None
    assert by_rule["bsr.wbc_low"]["threshold"] == 3.5
    assert by_rule["bsr.wbc_low"]["days_since_dose_change"] == 30
    assert (
        by_rule["bsr.wbc_low"]["active_doses"]
        == "Azathioprine 150 mg/day (2.50 mg/kg/day); Allopurinol 100 mg/day (1.67 mg/kg/day)"
    )
    assert by_rule["ctcae.hemoglobin"]["source_unit"] == "mmol/L"
    assert {d["rule"] for d in p1["dose_checks"]} == {"dose.tpmt_nudt15_intermediate", "dose.aza_allopurinol"}
    assert patients[1]["flags"] == [] and patients[1]["worst_ctcae_grade"] == {"wbc": 0, "platelets": 0}


def test_as_of_fixes_today_for_the_schedule(panel, capsys):
    late = review_json(capsys, str(panel), "--as-of", "2024-09-10", "--profile", OLD)["patients"]
    p2 = next(p for p in late if p["patient_id"] == "P2")
    assert p2["overdue"] is True and p2["days_overdue"] == 59
    early = {
        p["patient_id"]: p
        for p in review_json(capsys, str(panel), "--as-of", "2024-04-25", "--profile", OLD)["patients"]
    }
    assert early["P2"]["overdue"] is False
    # P1's counts before May are neutrophil counts alone, never a full blood count (no WBC;
    # probe32 F1): none since the course began on 15 February, so the first fortnightly one
    # was due on 29 February (15 Feb + 14; the increase of 15 March would put it later)
    assert early["P1"]["overdue"] is True and early["P1"]["next_test_due"] == "2024-02-29"


def test_ctcae_only_profile(panel, capsys):
    doc = review_json(capsys, str(panel), "--as-of", "2024-05-10", "--profile", "CTCAE only")
    assert doc["review"]["profile"] == "CTCAE only"
    kinds = {f["rule"].split(".")[0] for p in doc["patients"] for f in p["flags"]}
    assert kinds == {"ctcae"}


def test_user_profile_file(panel, tmp_path, capsys):
    path = save_profile(
        make_user_profile("strict", "BSR 2017 / NICE", {"bsr.wbc_low": {"threshold": 4.0}}), tmp_path / "profiles"
    )
    doc = review_json(capsys, str(panel / "labs.csv"), "--as-of", "2024-05-10", "--profile", str(path))
    wbc = [f for p in doc["patients"] for f in p["flags"] if f["rule"] == "bsr.wbc_low"]
    assert wbc and wbc[0]["threshold"] == 4.0
    assert wbc[0]["source"].startswith("User profile 'strict'")


def test_text_output(panel, capsys):
    assert main(["review", str(panel), "--as-of", "2024-09-10", "--profile", OLD]) == 0
    out = capsys.readouterr().out
    assert "Canonical tables: 9 lab results, 4 dose rows, 2 patients." in out
    assert "Review as of 2024-09-10 · profile BSR 2017 / NICE" in out
    lines = out.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("Rank"))
    assert lines[header + 2].split()[:3] == ["1", "P1", "urgent"]
    assert "== P1 [urgent]" in out
    assert "[urgent] ctcae.neutrophils: Neutrophil count decreased, CTCAE grade 4" in out
    assert "raw <0.5 10^9/L" in out
    assert "schedule: Methotrexate: full blood count (every 84 days at present) OVERDUE by 59 days" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--profile", "NICE 2099"], "unknown profile 'NICE 2099'"),
        (["--as-of", "10/05/2024"], "--as-of: expected a date as YYYY-MM-DD"),
    ],
)
def test_bad_options_exit_2(panel, capsys, args, message):
    assert main(["review", str(panel), *args]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1


def test_nothing_readable_exits_2(tmp_path, capsys):
    assert main(["review", str(tmp_path / "missing.csv"), "--json"]) == 2
    captured = capsys.readouterr()
    assert "file not found" in captured.err
    assert json.loads(captured.out)["patients"] == []


def test_ambiguous_dates_need_a_choice(tmp_path, capsys):
    (tmp_path / "labs.csv").write_text("patient_id,collected_at,analyte,value,unit\nP1,03/04/2024,WBC,3.1,10^9/L\n")
    assert main(["review", str(tmp_path / "labs.csv")]) == 2
    assert "--dayfirst or --monthfirst" in capsys.readouterr().err
    assert main(["review", str(tmp_path / "labs.csv"), "--dayfirst", "--json", "--as-of", "2024-05-01"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["patients"][0]["flags"][0]["collected_at"] == "2024-04-03T00:00:00"


def test_text_says_when_the_source_gave_no_unit(tmp_path: Path, capsys):
    # A lymphocyte column without a unit, "Lymph" 0.4 beside a WBC of 5.1: 0.4 could be
    # 0.4 x10^9/L (CTCAE grade 3) or 0.4 % of 5.1 = 0.02 x10^9/L (grade 4), so the unit
    # cannot be told and the result is rejected saying so (H129), never graded.
    (tmp_path / "wide.csv").write_text("Patient,Date,WBC (x10^9/L),Lymph\nP1,2024-05-01,5.1,0.4\n")
    assert main(["review", str(tmp_path / "wide.csv"), "--as-of", "2024-05-10"]) == 0
    out = capsys.readouterr().out
    assert "could be % or a count: add the unit" in out
    assert "ctcae.lymphocytes" not in out
    # A column that names the absolute count ("Lymph Abs") is not a %: 0.4 is read as
    # 10^9/L from the magnitude (reported), grade 3 (<0.5 - 0.2), and the flag's raw line
    # says the source had no unit rather than showing a bare number.
    (tmp_path / "wide.csv").write_text("Patient,Date,WBC (x10^9/L),Lymph Abs\nP1,2024-05-01,5.1,0.4\n")
    assert main(["review", str(tmp_path / "wide.csv"), "--as-of", "2024-05-10"]) == 0
    out = capsys.readouterr().out
    assert "read as 10^9/L from the magnitude" in out
    assert "raw 0.4 (no unit in the source)" in out


# --------------------------------------------------------------------------- as-of (issue 15 item 2)

MIMIC = [
    "D_LABITEMS_cbc.csv",
    "LABEVENTS_cbc_3admissions.csv",
    "PRESCRIPTIONS_immunosuppressants.csv",
    "PATIENTS_immunosuppressed.csv",
]


def test_shifted_research_dates_are_reviewed_as_of_the_last_result(capsys):
    from tests.support import FIXTURES

    files = [str(FIXTURES / "mimic3" / n) for n in MIMIC]
    doc = review_json(capsys, *files)
    head = doc["review"]
    assert head["as_of"] > "2100-01-01"  # the last result's date, not today
    assert "last result" in head["as_of_note"] and "after today" in head["as_of_note"]
    assert head["results_after_as_of"] == 0
    assert head["flags"] > 0 and any(p["flags"] for p in doc["patients"])
    assert main(["review", *files]) == 0
    assert head["as_of_note"] in capsys.readouterr().out


def test_an_explicit_as_of_lists_what_comes_after(panel, capsys):
    # after 15 April 2024: P1's draw of 1 May (neutrophils <0.5, WBC 3.49, Hb 6.1 mmol/L)
    # and P2's of 20 April (WBC 6.1, platelets 250): 5 results of 2 patients
    doc = review_json(capsys, str(panel), "--as-of", "2024-04-15")
    assert doc["review"]["results_after_as_of"] == 5
    assert doc["review"]["as_of_note"] == ""
    p1 = next(p for p in doc["patients"] if p["patient_id"] == "P1")
    assert p1["results_after_as_of"] == 3 and p1["worst_grade_after_as_of"] == 4  # "<0.5" neutrophils
    assert {r["analyte"] for r in p1["after_as_of"]} == {"neutrophils", "wbc", "hemoglobin"}
    assert main(["review", str(panel), "--as-of", "2024-04-15"]) == 0
    out = capsys.readouterr().out
    assert "5 results dated after the as-of date 2024-04-15 are not reviewed (2 patients" in out


def test_review_csv_works_as_a_command(panel, tmp_path):
    """``python -m dashboard review ... --csv FILE`` as a real process: the command keeps
    pandas out only when it does not write the CSV (it crashed with "pandas is not used by
    this command" while every in-process test passed)."""
    import subprocess
    import sys

    from tests.support import ROOT

    out = tmp_path / "flags.csv"
    for option in (["--csv", str(out)], [f"--csv={out}"]):
        out.unlink(missing_ok=True)
        proc = subprocess.run(
            [sys.executable, "-m", "dashboard", "review", str(panel / "labs.csv"), "--as-of", "2024-05-10", *option],
            capture_output=True,
            text=True,
            cwd=ROOT,
            timeout=120,
        )
        assert proc.returncode == 0, proc.stderr
        assert "Traceback" not in proc.stderr and "error" not in proc.stderr
        assert out.read_text(encoding="utf-8-sig").startswith("Patient,Name,Birth date,Date,Analyte")
        assert "open flag" in proc.stderr
