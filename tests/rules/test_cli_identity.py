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
