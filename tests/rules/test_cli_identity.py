"""``review --json``: the name and date of birth of each patient where the data give them."""

from __future__ import annotations

import json
from pathlib import Path

from dashboard.cli import main

LABS = """MRN,Patient Name,DOB,Collection Date,Component,Result,Units
10023456,"DOE, Jane",1980-03-12,2024-05-01,Neutrophils,0.9,10^9/L
20000001,,,2024-05-01,WBC,6.1,10^9/L
"""


def test_review_json_names_each_patient_where_known(tmp_path: Path, capsys):
    (tmp_path / "labs.csv").write_text(LABS)
    assert main(["review", str(tmp_path / "labs.csv"), "--as-of", "2024-05-10", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    by_id = {p["patient_id"]: p for p in doc["patients"]}
    assert (by_id["10023456"]["name"], by_id["10023456"]["birth_date"]) == ("DOE, Jane", "1980-03-12")
    assert (by_id["20000001"]["name"], by_id["20000001"]["birth_date"]) == (None, None)


def test_review_text_heads_each_patient_with_two_identifiers(tmp_path: Path, capsys):
    (tmp_path / "labs.csv").write_text(LABS)
    assert main(["review", str(tmp_path / "labs.csv"), "--as-of", "2024-05-10"]) == 0
    assert "== DOE, Jane · 12-Mar-1980 · MRN 10023456 [" in capsys.readouterr().out


def test_review_csv_writes_one_row_per_open_flag(tmp_path: Path, capsys):
    """``review --csv FILE`` (issue 18): the open flags with patient, name, date, analyte,
    value, unit, grade, rule, source, severity, dose context and review state.

    Neutrophils 0.9 x10^9/L is CTCAE grade 3 (< 1.0 - 0.5) and below the BSR 2017 action
    limit 1.6: two open flags for 10023456; WBC 6.1 flags nothing.
    """
    import csv

    (tmp_path / "labs.csv").write_text(LABS)
    out = tmp_path / "flags.csv"
    assert main(["review", str(tmp_path / "labs.csv"), "--as-of", "2024-05-10", "--json", "--csv", str(out)]) == 0
    captured = capsys.readouterr()
    json.loads(captured.out)  # stdout stays pure JSON
    assert f"Wrote 2 open flags to {out}" in captured.err
    rows = list(csv.DictReader(out.read_text(encoding="utf-8-sig").splitlines()))
    assert list(rows[0]) == [
        "Patient", "Name", "Birth date", "Date", "Analyte", "Value", "Unit", "As reported", "Grade", "Rule",
        "Finding", "Source", "Severity", "Dose context", "Review state",
    ]  # fmt: skip
    assert {(r["Patient"], r["Name"], r["Birth date"], r["Analyte"], r["Value"]) for r in rows} == {
        ("10023456", "DOE, Jane", "1980-03-12", "Neutrophils", "0.9")
    }
    by_rule = {r["Rule"]: r for r in rows}
    assert (
        by_rule["ctcae.neutrophils"]["Grade"] == "3"
        and by_rule["ctcae.neutrophils"]["Source"] == "CTCAE v5.0 [nci_ctcae5]"
    )
    assert by_rule["bsr.neutrophils_low"]["Severity"] == "action"
    assert all(r["Review state"] == "not reviewed" and r["Dose context"] == "no dose recorded" for r in rows)
    assert all(r["Date"] == "2024-05-01 00:00" and r["Unit"] == "10^9/L" for r in rows)


def test_review_csv_rounds_as_the_lab_reports(tmp_path: Path, capsys):
    """A converted value is rounded as a lab reporting in the canonical unit would:
    ALT 2.5 ukat/L x 60 = 150 U/L; Hb 7.1 mmol/L x 16.1134 = 114.405 g/L -> 114."""
    import csv

    labs = "patient_id,collected_at,analyte,value,unit\nP1,2024-05-01,Hb,7.1,mmol/L\nP1,2024-05-01,ALT,2.5,ukat/L\n"
    (tmp_path / "labs.csv").write_text(labs)
    out = tmp_path / "flags.csv"
    assert main(["review", str(tmp_path / "labs.csv"), "--as-of", "2024-05-10", "--csv", str(out)]) == 0
    rows = list(csv.DictReader(out.read_text(encoding="utf-8-sig").splitlines()))
    values = {(r["Analyte"], r["Value"], r["As reported"]) for r in rows}
    assert ("Hb", "114", "7.1 mmol/L") in values and ("ALT", "150", "2.5 ukat/L") in values
