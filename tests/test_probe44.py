"""Probe 44: reviews that stick, and a review never leaving a result out of sight unsaid,
re-checked against the fixes of H530-H606 on a workspace that holds reviews.

Each finding was a strict xfail; fixed on fix44 (H620-H626), each passes as written (F6's
setup also plays the schema-11 dashboard, H625).  The other tests pin what works.  Expected values are worked by hand from the rules as written:

- CTCAE v5.0 ALT increased, baseline normal: G1 > ULN-3 x ULN, G2 > 3-5 x ULN,
  G3 > 5-20 x ULN.  ALT 250 U/L with ULN 40: 250 / 40 = 6.25 x ULN, so grade 3.
- Platelets 40 x10^9/L: CTCAE grade 3 (< 50-25); below the BSR limit of 140.
- Neutrophils 1.2 x10^9/L: CTCAE grade 2 (< 1.5-1.0); below the BSR limit 1.6.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json

import pytest

from dashboard import summary_export as sx
from dashboard.identity import other_ids_by_patient
from dashboard.ingest import Source
from dashboard.reviews import decisions_not_in_doses, history_frame, results_of, reviews_for, with_review_status
from dashboard.store import Workspace, schema
from dashboard.store.panel import open_panel
from tests.store.helpers import Clock, store_import


@pytest.fixture
def ws(tmp_path, monkeypatch) -> Workspace:
    path = tmp_path / "workspace"
    monkeypatch.setenv("DASHBOARD_WORKSPACE", str(path))
    return Workspace(path, timeout=20, clock=Clock())


imp = store_import


def review_all(ws: Workspace, as_of: dt.date, action: str = "continue", note: str = "seen", by: str = "Dr A"):
    flags = open_panel(ws).open_flags(as_of)
    for pid, mine in flags.groupby("patient_id"):
        ws.add_reviews(reviews_for(str(pid), list(mine["flag_key"]), action, note, results_of(mine)), by=by)
    return flags


def by_rule(ws: Workspace, as_of: dt.date) -> dict[str, dict]:
    f = open_panel(ws).open_flags(as_of)
    return {r["rule"]: r for r in f.to_dict("records")}


# --------------------------------------------------------------------------- F1: start basis


def _bundle(*resources: dict) -> bytes:
    return json.dumps(
        {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": r} for r in resources]}
    ).encode()


P4 = {"resourceType": "Patient", "id": "p4", "birthDate": "1970-01-01", "gender": "female"}
STATEMENT = {
    "resourceType": "MedicationStatement",
    "id": "ms1",
    "status": "active",
    "subject": {"reference": "Patient/p4"},
    "medicationCodeableConcept": {"text": "Azathioprine 100 mg tablets"},
    "dateAsserted": "2024-03-01",
    "dosage": [
        {
            "text": "100 mg daily",
            "timing": {"repeat": {"frequency": 1, "period": 1, "periodUnit": "d"}},
            "doseAndRate": [{"doseQuantity": {"value": 100, "unit": "mg"}}],
        }
    ],
}


def _alt(oid: str, when: str, value: float) -> dict:
    return {
        "resourceType": "Observation",
        "id": oid,
        "status": "final",
        "subject": {"reference": "Patient/p4"},
        "code": {"coding": [{"system": "http://loinc.org", "code": "1742-6", "display": "ALT"}]},
        "effectiveDateTime": when,
        "valueQuantity": {"value": value, "unit": "U/L", "system": "http://unitsofmeasure.org", "code": "U/L"},
        "referenceRange": [{"high": {"value": 40, "unit": "U/L"}}],
    }


ASSERTED = _bundle(P4, STATEMENT, _alt("o1", "2024-02-15T09:00:00", 90), _alt("o2", "2024-04-15T09:00:00", 250))
MAY_2024 = dt.date(2024, 5, 1)


def test_a_statement_imported_after_schema_11_gives_no_baseline_and_grade_3(ws):
    """What works: in a workspace of today's schema the asserted date is no start, so ALT
    250 is graded on the ULN: grade 3."""
    imp(ws, "export.json", ASSERTED)
    assert by_rule(ws, MAY_2024)["ctcae.alt"]["ctcae_grade"] == 3


def test_f1_a_statement_stored_before_schema_11_is_not_a_start_once_imported_again(ws, monkeypatch):
    # the workspace as it was before today's fixes: schema 9 (no start_basis column)
    monkeypatch.setattr("dashboard.store.migrations.MIGRATIONS", schema.MIGRATIONS[:9])
    monkeypatch.setattr("dashboard.store.migrations.latest_version", lambda: 9)
    monkeypatch.setattr("dashboard.store.workspace.latest_version", lambda: 9)
    imp(ws, "export.json", ASSERTED)
    monkeypatch.undo()
    before = by_rule(ws, MAY_2024)["ctcae.alt"]
    assert before["ctcae_grade"] == 1  # 250 >= 1.5 x the "baseline" 90: the old reading
    review_all(ws, MAY_2024)
    # the same export again (a cumulative export next month): its report says the date is no start
    out = imp(ws, "export-next.json", ASSERTED + b"\n")
    [f] = out.report.files
    assert any("not when the drug was started" in w.message for w in f.warnings)
    # ... so the workspace must not grade on a baseline that rests on it: 250 / 40 = 6.25 x ULN, grade 3,
    # and the review of grade 1 no longer covers it, saying why
    now = by_rule(ws, MAY_2024)["ctcae.alt"]
    assert now["ctcae_grade"] == 3, now["message"]
    assert not now["reviewed"] and "regraded from G1" in now["review_lapsed"]


# --------------------------------------------------------------------------- F2: ="0012345"


def test_a_spreadsheet_id_is_read_as_its_text_and_the_review_sticks_on_reimport(ws):
    """What works: today's import reads ="0012345" as 0012345 (H551) and a re-import keeps the review."""
    labs = 'MRN,Collection Date,Component,Result,Units\n"=""0012345""",2024-04-15 09:00,Neutrophils,1.2,10^9/L\n'
    imp(ws, "doses.csv", "patient,drug,dose,unit,frequency,start\n0012345,Imuran,100,mg,daily,2024-01-01\n")
    imp(ws, "labs.csv", labs)
    review_all(ws, MAY_2024)
    imp(ws, "labs-again.csv", labs + "\n")
    flags = open_panel(ws).open_flags(MAY_2024)
    assert set(flags["patient_id"]) == {"0012345"} and flags["reviewed"].all()


def test_f2_an_id_stored_in_excels_text_wrapper_is_named_beside_the_id_it_wraps():
    notes = other_ids_by_patient([], ['="0012345"', "0012345"])
    assert "0012345" in notes and '="0012345"' in notes, notes


# --------------------------------------------------------------------------- F3/F4: withdrawn


H = "MRN,Collection Date,Component,Result,Units,Reference Range,Status\n"
DOSES = "patient,drug,dose,unit,frequency,start,end\np1,azathioprine,100,mg,daily,2026-01-05,\n"
NOV = dt.date(2026, 11, 20)
FIRST = H + "p1,2026-10-20 09:00,Platelets,40,10^9/L,150-400,Final\n"
WITHDRAWS = H + "p1,2026-10-20 09:00,Platelets,40,10^9/L,150-400,Entered in error\n"


def _withheld_then_withdrawn(ws: Workspace) -> None:
    imp(ws, "doses.csv", DOSES)
    imp(ws, "w1.csv", FIRST)
    flags = review_all(ws, NOV, "withhold", "azathioprine held")
    assert set(flags["rule"]) == {"ctcae.platelets", "bsr.platelets_low"}
    imp(ws, "w2.csv", WITHDRAWS)


def test_a_review_of_a_withdrawn_result_is_said_in_the_log_the_pdf_and_the_xlsx(ws):
    """What works: the review log (Workspace page), the PDF's review history and the
    workbook's Reviews sheet say the result was withdrawn; no flag of it stays open."""
    _withheld_then_withdrawn(ws)
    panel = open_panel(ws)
    assert panel.open_flags(NOV).empty
    about = history_frame(panel.reviews)["About"].tolist()
    assert len(about) == 2 and all("withdrawn by the lab" in a for a in about)


def test_f3_a_withhold_about_a_withdrawn_result_is_not_said_as_a_current_decision(ws):
    _withheld_then_withdrawn(ws)
    panel = open_panel(ws)
    lines = decisions_not_in_doses(panel.reviews, panel.doses, "p1", NOV)
    assert all("withdrawn" in line for line in lines), lines


def test_f4_the_panel_exports_last_review_says_it_was_of_a_withdrawn_result(ws):
    _withheld_then_withdrawn(ws)
    panel = open_panel(ws)
    table = sx.panel_frame(panel.labs, panel.doses, panel.patients, panel.reviews, NOV, panel.baselines)
    row = table.set_index("Patient").loc["p1"]
    assert row["Last review action"] == "withhold" or "withhold" in str(row["Last review action"])
    said = " ".join(str(row[c]) for c in ("Last review", "Last review action", "Review state"))
    assert "withdrawn" in said, said


# --------------------------------------------------------------------------- F5: severity only


def test_a_regrade_by_its_own_labs_uln_reopens_the_review_with_the_reason(ws):
    """What works (H541): ALT baseline 50 at a lab with ULN 56 is normal; ALT 180 at a lab with
    ULN 35 is 5.1 x ULN, grade 3.  A review recorded on the old grade 2 (3.6 x baseline)
    reopens saying 'regraded from G2 (caution) to G3 (action)'."""
    from dashboard.reviews import review_of

    imp(ws, "doses.csv", "patient,drug,dose,unit,frequency,start,end\n003,Imuran,100,mg,daily,2024-01-01,\n")
    imp(
        ws,
        "labs.csv",
        "MRN,Collection Date,Component,Result,Units,Reference Range\n"
        "003,2023-12-15 09:00,ALT,50,U/L,10-56\n003,2024-04-15 09:00,ALT,180,U/L,0-35\n",
    )
    key = "003|ctcae.alt|2024-04-15T09:00:00|alt"
    ws.add_reviews([review_of(key, "continue", "", (180.0, "", 2, "caution", 1))], by="Dr Old")
    alt = by_rule(ws, MAY_2024)["ctcae.alt"]
    assert alt["ctcae_grade"] == 3 and not alt["reviewed"]
    assert "regraded from G2 (caution) to G3 (action)" in alt["review_lapsed"]


def test_f5_a_severity_raised_at_the_same_grade_is_not_said_as_a_regrade():
    import pandas as pd

    key = "011|bsr.neutrophils_low|2024-08-20T09:00:00|neutrophils"
    flags = pd.DataFrame(
        {
            "patient_id": ["011"],
            "rule": ["bsr.neutrophils_low"],
            "collected_at": [pd.Timestamp("2024-08-20 09:00")],
            "analyte": ["neutrophils"],
            "value": [1.3],
            "comparator": [""],
            "ctcae_grade": [2],
            "severity": ["action"],
        }
    )
    log = pd.DataFrame(
        {
            "review_id": [1],
            "patient_id": ["011"],
            "flag_key": [key],
            "rule_id": ["bsr.neutrophils_low"],
            "analyte": ["neutrophils"],
            "collected_at": [pd.Timestamp("2024-08-20 09:00")],
            "action": ["continue"],
            "note": [""],
            "reviewer": ["Dr Old"],
            "reviewed_at": [pd.Timestamp("2024-08-25 10:00")],
            "corrects": [None],
            "value": [1.3],
            "comparator": [""],
            "grade": [2],
            "severity": ["caution"],
            "seq": [None],
        }
    )
    [lapse] = with_review_status(flags, log, rule_col="rule")["review_lapsed"]
    assert lapse and "regraded from G2" not in lapse, lapse
    assert "caution" in lapse and "action" in lapse


# --------------------------------------------------------------------------- F6: pre-fix readings


PULSES = (
    "patient,drug,dose,unit,frequency,route,start\n"
    "006,cyclophosphamide,500,mg,once,IV,2024-01-01\n"
    "006,cyclophosphamide,500,mg,once,IV,2024-01-15\n"
    "006,cyclophosphamide,500,mg,once,IV,2024-01-29\n"
)
#: what the workspace stored from PULSES before H560 (the later pulses joined to the first)
OLD_READING = "patient,drug,dose,unit,frequency,route,start\n006,cyclophosphamide,500,mg,once,IV,2024-01-01\n"


def test_pulses_in_a_change_log_are_three_administrations_today(ws):
    """What works (H560): three 'once' rows of a change log are three pulses."""
    imp(ws, "doses.csv", PULSES)
    doses = open_panel(ws).doses
    assert len(doses[doses["drug"] == "cyclophosphamide"]) == 3


def test_f6_a_file_read_before_the_fix_is_not_kept_in_its_old_reading_unsaid(ws, monkeypatch):
    # the workspace as a pre-fix import left it: the file stored is PULSES (its hash), read as one pulse
    from dashboard.store import workspace as wsmod

    pulses_hash = hashlib.sha256(PULSES.encode()).hexdigest()
    monkeypatch.setattr(
        wsmod.FileRecord, "of", classmethod(lambda cls, s: cls(s.name, pulses_hash, len(PULSES.encode())))
    )
    # (fix44: ... and by a dashboard of before probe 44's fixes, schema 11, which recorded no reader
    # version: a workspace of today's schema records the version that read each file, H625)
    monkeypatch.setattr("dashboard.store.migrations.MIGRATIONS", schema.MIGRATIONS[:11])
    monkeypatch.setattr("dashboard.store.migrations.latest_version", lambda: 11)
    monkeypatch.setattr("dashboard.store.workspace.latest_version", lambda: 11)
    imp(ws, "doses.csv", OLD_READING)
    monkeypatch.undo()
    out = ws.import_sources([Source("doses.csv", PULSES.encode())], by="t")
    doses = open_panel(ws).doses
    said = " ".join(str(s) for s in out.skipped) + (out.report.to_text() if out.report is not None else "")
    assert len(doses[doses["drug"] == "cyclophosphamide"]) == 3 or "read differently" in said, said


# --------------------------------------------------------------------------- F7: CLI info


def test_f7_workspace_info_text_counts_the_withdrawn_results(ws, capsys):
    from dashboard.cli.main import main

    _withheld_then_withdrawn(ws)
    assert main(["workspace", "info"]) == 0
    text = capsys.readouterr().out
    assert "withdrawn" in text, text
