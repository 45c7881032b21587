"""A result the lab withdraws after the workspace stored it is no longer graded (H530-H534).

By hand: platelets 40 x10^9/L is CTCAE v5.0 "platelet count decreased" grade 3
(<50 - 25 x10^9/L) and below the BSR limit of 140 x10^9/L, so last month's FHIR export
(Observation obs-1, status final) flags patient p1.  This month's export sends the same
Observation obs-1 marked ``entered-in-error``: the lab says the result should never have
existed.  The workspace must stop grading it, say so on a readable line of the import
report (which result, from which file, withdrawn by which row), keep it accounted for
(the workspace lists the withdrawn result) and a review of its flag must say the result
was withdrawn, never look current.
"""

from __future__ import annotations

import datetime as dt
import json

from dashboard.reviews import history_frame, results_of, reviews_for
from dashboard.store.panel import open_panel
from tests.store.helpers import store_import

PATIENT = {"resourceType": "Patient", "id": "p1", "birthDate": "1970-01-01", "gender": "female"}
DOSES = "patient,drug,dose,unit,frequency,start\np1,azathioprine,100,mg,daily,2026-01-05\n"
AS_OF = dt.date(2026, 11, 20)


def platelets(status: str = "final", value: float = 40, oid: str = "obs-1", when: str = "2026-10-20T09:00:00") -> dict:
    return {
        "resourceType": "Observation",
        "id": oid,
        "status": status,
        "subject": {"reference": "Patient/p1"},
        "code": {"coding": [{"system": "http://loinc.org", "code": "777-3", "display": "Platelets"}]},
        "effectiveDateTime": when,
        "valueQuantity": {"value": value, "unit": "10*9/L", "system": "http://unitsofmeasure.org", "code": "10*9/L"},
    }


def bundle(*resources: dict) -> bytes:
    return json.dumps(
        {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": r} for r in resources]}
    ).encode()


imp = store_import


def platelet_flags(ws):
    flags = open_panel(ws).open_flags(AS_OF)
    return flags[flags["analyte"] == "platelets"]


def stored_platelets(ws) -> list[float]:
    labs = ws.load().labs.to_pandas()
    return sorted(labs.loc[labs["analyte"] == "platelets", "value"])


def test_a_stored_result_the_lab_withdraws_in_a_later_export_is_no_longer_graded(ws):
    imp(ws, "doses.csv", DOSES.encode())
    imp(ws, "export-2026-10.json", bundle(PATIENT, platelets()))
    assert stored_platelets(ws) == [40.0]
    flags = platelet_flags(ws)
    assert not flags.empty and (flags["ctcae_grade"] == 3).any()
    keys = list(flags["flag_key"])
    ws.add_reviews(reviews_for("p1", keys, "repeat test", "seen", results_of(flags)), by="Dr A")
    assert platelet_flags(ws)["reviewed"].all()

    out = imp(ws, "export-2026-11.json", bundle(PATIENT, platelets("entered-in-error")))
    # no longer graded: neither stored as a result nor flagged
    assert stored_platelets(ws) == []
    assert platelet_flags(ws).empty
    # the report says it on a readable line: which result, from which file, withdrawn by which row
    [f] = out.report.files
    lines = [w.message for w in f.warnings if "withdrawn by the lab" in w.message]
    assert len(lines) == 1, [w.message for w in f.warnings]
    line = lines[0]
    assert "patient p1" in line and "Platelets" in line and "40" in line and "2026-10-20 09:00" in line
    assert "export-2026-10.json row 2" in line and "row 2" in line.split("export-2026-10.json row 2", 1)[1]
    assert "no longer graded" in line
    # accounted for: the workspace lists the withdrawn result with where it came from and what withdrew it
    [w] = ws.withdrawn_results()
    assert (w["patient_id"], w["analyte"], w["value"], w["collected_at"]) == (
        "p1",
        "platelets",
        40.0,
        dt.datetime(2026, 10, 20, 9, 0),
    )
    assert (w["stored_file"], w["stored_row"], w["source_file"], w["source_row"]) == (
        "export-2026-10.json",
        2,
        "export-2026-11.json",
        2,
    )
    assert w["status"] == "entered-in-error"
    # the review of its flag does not look current: the log says the result was withdrawn
    log = open_panel(ws).reviews
    about = history_frame(log)["About"].tolist()
    assert len(about) == len(keys) and all("withdrawn by the lab" in a for a in about), about
    assert ws.info()["labs_withdrawn"] == 1
    assert "Withdrawn by the lab: 1 result(s)" in out.summary()


def test_the_withdrawn_result_sent_again_is_rejected_naming_the_withdrawal(ws):
    """H531.  Last month's export dropped again, re-saved (another SHA-256): its obs-1 (final,
    no version) is the result the lab withdrew; it is rejected naming the withdrawal, not
    stored and not graded.  Row accounting: 2 rows = 1 patient (duplicate of the stored one)
    + 1 rejected."""
    imp(ws, "doses.csv", DOSES.encode())
    imp(ws, "export-2026-10.json", bundle(PATIENT, platelets()))
    imp(ws, "export-2026-11.json", bundle(PATIENT, platelets("entered-in-error")))
    again = bundle(PATIENT, platelets()) + b"\n"
    out = imp(ws, "export-2026-10-copy.json", again)
    [f] = out.report.files
    assert f.rows_rejected == 1 and out.labs_added == 0
    [p] = f.problems
    assert p.row == 2 and p.analyte == "platelets"
    assert "withdrawn by the lab (status 'entered-in-error', export-2026-11.json row 2" in p.message
    assert stored_platelets(ws) == [] and platelet_flags(ws).empty
    # another result of the test (another draw) is untouched
    out = imp(ws, "export-2026-12.json", bundle(PATIENT, platelets(oid="obs-2", value=45, when="2026-11-10T09:00:00")))
    assert stored_platelets(ws) == [45.0]


H = "MRN,Collection Date,Component,Result,Units,Reference Range,Status\n"


def test_a_lab_csv_row_entered_in_error_withdraws_the_stored_result_of_its_draw(ws):
    """H530 for a lab CSV: platelets 40 (Final) stored; the next export's row for the same
    draw and value says 'Entered in error': no longer graded, said on the row that withdrew
    it.  A 'Cancelled' row with no value names no result: the stored platelets 90 of that
    other draw stays and is graded as before (CTCAE grade 1: < LLN 150 down to 75)."""
    imp(ws, "doses.csv", DOSES)
    imp(
        ws,
        "w1.csv",
        H
        + "p1,2026-10-20 09:00,Platelets,40,10^9/L,150-400,Final\n"
        + "p1,2026-10-27 09:00,Platelets,90,10^9/L,150-400,Final\n",
    )
    out = imp(
        ws,
        "w2.csv",
        H
        + "p1,2026-10-20 09:00,Platelets,40,10^9/L,150-400,Entered in error\n"
        + "p1,2026-10-27 09:00,Platelets,,10^9/L,150-400,Cancelled\n",
    )
    [f] = out.report.files
    assert (f.rows_read, f.rows_rejected) == (2, 2)
    [line] = [w.message for w in f.warnings if "withdrawn by the lab" in w.message]
    assert "w1.csv row 2" in line and "w2.csv row 2 marks it 'Entered in error'" in line
    assert stored_platelets(ws) == [90.0]
    grades = platelet_flags(ws).set_index("collected_at")["ctcae_grade"]
    assert set(grades.index) == {dt.datetime(2026, 10, 27, 9, 0)} and (grades == 1).all()


def test_a_count_made_from_a_withdrawn_wbc_goes_with_it(ws):
    """H533 (H170's draw): WBC 4.0 and neutrophils 50 % stored, the count made 50 % x 4.0 =
    2.0 x10^9/L.  The lab withdraws the WBC 4.0: the count made from it is no longer graded
    either, said on its own line, and both are listed among the withdrawn results."""
    a = H + "p1,2024-04-02 08:15,WBC,4.0,10^9/L,4.0-11.0,Final\np1,2024-04-02 08:15,Neutrophils,50,%,,Final\n"
    imp(ws, "a.csv", a)
    assert sorted(ws.load().labs.to_pandas()["value"]) == [2.0, 4.0]
    out = imp(ws, "b.csv", H + "p1,2024-04-02 08:15,WBC,4.0,10^9/L,4.0-11.0,Deleted\n")
    assert ws.load().labs.num_rows == 0
    [f] = out.report.files
    lines = [w.message for w in f.warnings if "withdr" in w.message]
    assert any("made from 50 % of the WBC the lab withdrew (b.csv row 2)" in m for m in lines), lines
    assert sorted(w["analyte"] for w in ws.withdrawn_results("p1")) == ["neutrophils", "wbc"]
    assert out.labs_withdrawn == 2


def test_a_later_version_kept_by_the_same_import_withdraws_nothing(ws):
    """H534.  One export holds obs-1 entered-in-error (versionId 1) and final (versionId 2):
    the import's own reading takes version 2 as the lab's latest word (H350); the stored copy
    of that result is then a duplicate, not withdrawn."""
    imp(ws, "export-2026-10.json", bundle(PATIENT, platelets()))
    v1 = dict(platelets("entered-in-error"), meta={"versionId": "1"})
    v2 = dict(platelets(), meta={"versionId": "2"})
    out = imp(ws, "history.json", bundle(PATIENT, v1, v2))
    assert out.labs_withdrawn == 0 and stored_platelets(ws) == [40.0]
    assert ws.withdrawn_results() == []
