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

import pytest

from dashboard.ingest import Source
from dashboard.reviews import history_frame, results_of, reviews_for
from dashboard.store.panel import open_panel
from tests.support import assert_balanced

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


def imp(ws, name: str, data: bytes):
    out = ws.import_sources([Source(name, data)], by="t")
    assert_balanced(out)
    return out


def platelet_flags(ws):
    flags = open_panel(ws).open_flags(AS_OF)
    return flags[flags["analyte"] == "platelets"]


def stored_platelets(ws) -> list[float]:
    labs = ws.load().labs.to_pandas()
    return sorted(labs.loc[labs["analyte"] == "platelets", "value"])


@pytest.mark.xfail(strict=True, reason="a withdrawal reaches only the copies of its own import (H469)")
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
