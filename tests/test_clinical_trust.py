"""Issue 15's cases end to end through the CLI (tests/fixtures/clinical_trust/SOURCES.md):
an Epic-style results export and a dose file, reviewed as of 15 March 2026."""

from __future__ import annotations

import json

from dashboard.cli import main
from tests.support import FIXTURES

CASES = FIXTURES / "clinical_trust"
FILES = [str(CASES / "results.csv"), str(CASES / "doses.csv")]


def review(capsys, *extra: str) -> dict:
    assert main(["review", *FILES, "--as-of", "2026-03-15", "--json", *extra]) == 0
    return json.loads(capsys.readouterr().out)


def patient(doc: dict, pid: str) -> dict:
    return next(p for p in doc["patients"] if p["patient_id"] == pid)


def test_the_order_date_is_the_draw_date_with_a_note(capsys):
    d = review(capsys)
    f = d["import"]["files"][0]
    assert f["mapping"]["collected_at"] == "Order Date"
    assert any("Order Date" in w["message"] for w in f["warnings"])


def test_alt_801_on_hydroxychloroquine_only_is_grade_4(capsys):
    p = patient(review(capsys), "HCQ-01")
    assert p["worst_ctcae_grade"]["alt"] == 4 and p["urgency"] == "urgent"
    p = patient(review(capsys, "--profile", "CTCAE only"), "HCQ-01")
    assert [f["ctcae_grade"] for f in p["flags"] if f["rule"] == "ctcae.alt"] == [4]


def test_a_conflicting_draw_counts_its_severe_value(capsys):
    p = patient(review(capsys), "DUP-02")
    assert p["worst_ctcae_grade"]["neutrophils"] == 4 and p["urgency"] == "urgent"
    open_ = [f for f in p["flags"] if f["status"] == "open" and f["rule"] == "ctcae.neutrophils"]
    assert [f["value"] for f in open_] == [0.4]
    assert "1.2 and 0.4" in open_[0]["conflict"] and "conflicting" in open_[0]["message"]


def test_the_grade_3_sits_on_its_draw_and_its_dose(capsys):
    p = patient(review(capsys), "AZA-03")
    g3 = next(f for f in p["flags"] if f["rule"] == "ctcae.neutrophils" and f["ctcae_grade"] == 3)
    assert g3["collected_at"] == "2026-03-02T08:15:00"
    assert g3["active_doses"] == "Azathioprine 150 mg/day"
    assert g3["days_since_dose_change"] == 49


def test_a_result_after_the_as_of_date_is_listed(capsys):
    d = review(capsys)
    assert d["review"]["results_after_as_of"] == 1
    p = patient(d, "LATE-04")
    assert p["results_after_as_of"] == 1 and p["worst_grade_after_as_of"] == 4
    assert p["after_as_of"][0]["value"] == 0.3
    assert main(["review", *FILES, "--as-of", "2026-03-15"]) == 0
    text = capsys.readouterr().out
    head = text.split("Rank")[0]
    assert "LATE-04" in head and "CTCAE grade 4" in head


def test_a_stopped_drug_is_not_none_recorded(capsys):
    p = patient(review(capsys), "STOP-05")
    f = next(f for f in p["flags"] if f["rule"] == "bsr.wbc_low")
    assert f["active_doses"] == ""
    assert f["dose_context"].startswith("no dose in force (Azathioprine 100 mg/day ended 2026-03-05, 4 d before)")
