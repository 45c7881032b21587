"""Fixes of probe 44 (H620-H629) beyond the probe's own pinned tests (tests/test_probe44.py).

Expected values are worked by hand: platelets 40 x10^9/L is CTCAE grade 3 (< 50-25) and below
the BSR limit of 140; neutrophils 1.2 x10^9/L is CTCAE grade 2 (< 1.5-1.0).
"""

from __future__ import annotations

import pytest

from dashboard.identity import lookalike_groups, skeleton
from dashboard.ingest import Source
from dashboard.store import Workspace
from dashboard.store.panel import open_panel
from tests.store.helpers import Clock
from tests.support import assert_balanced


@pytest.fixture
def ws(tmp_path, monkeypatch) -> Workspace:
    path = tmp_path / "workspace"
    monkeypatch.setenv("DASHBOARD_WORKSPACE", str(path))
    return Workspace(path, timeout=20, clock=Clock())


def imp(ws: Workspace, name: str, data: str | bytes):
    out = ws.import_sources([Source(name, data.encode() if isinstance(data, str) else data)], by="t")
    assert_balanced(out)
    return out


# --------------------------------------------------------------------------- H622: ="0012345"


def test_h622_excels_text_formula_is_compared_as_the_text_it_wraps():
    assert skeleton('="0012345"') == skeleton("0012345") == "0012345"
    assert lookalike_groups(['="0012345"', "0012345"]) == [["0012345", '="0012345"']]  # sorted as text
    # an empty formula, or one around another id, is not that id
    assert lookalike_groups(['=""', "0012345"]) == []
    assert lookalike_groups(['="0012346"', "0012345"]) == []
    # never merged: both ids stay, named as look-alikes, not as one
    assert skeleton('="0012345"') != skeleton("12345")


def test_h622_an_import_beside_an_id_stored_in_its_text_formula_names_the_pair(ws, monkeypatch):
    """A workspace that kept '="0012345"' (read before H551) and tonight's '0012345': the
    import report names the two ids as look-alikes, and both patients stay apart."""
    from dashboard.ingest import identity as ingest_identity

    monkeypatch.setattr(ingest_identity, "read_id", lambda pid: (pid, ""))  # the reading before H551
    monkeypatch.setattr(ingest_identity, "NEEDS_READING", r"^\x00$")
    imp(
        ws,
        "old.csv",
        'MRN,Collection Date,Component,Result,Units\n"=""0012345""",2024-04-15 09:00,Neutrophils,1.2,10^9/L\n',
    )
    monkeypatch.undo()
    assert set(open_panel(ws).patients["patient_id"]) == {'="0012345"'}
    out = imp(
        ws,
        "new.csv",
        'MRN,Collection Date,Component,Result,Units\n"=""0012345""",2024-05-15 09:00,Neutrophils,1.1,10^9/L\n',
    )
    said = out.report.to_text()
    assert "look alike" in said and '="0012345"' in said and "0012345 in new.csv" in said, said
    assert set(open_panel(ws).patients["patient_id"]) == {'="0012345"', "0012345"}


# --------------------------------------------------------------------------- H624: severity only


def _one_flag(grade: int | None, severity: str, message: str = "", context: str = ""):
    import pandas as pd

    return pd.DataFrame(
        {
            "patient_id": ["011"],
            "rule": ["bsr.neutrophils_low"],
            "collected_at": [pd.Timestamp("2024-08-20 09:00")],
            "analyte": ["neutrophils"],
            "value": [1.3],
            "comparator": [""],
            "ctcae_grade": [grade],
            "severity": [severity],
            "message": [message],
            "dose_context": [context],
        }
    )


def _one_review(grade: int | None, severity: str):
    import pandas as pd

    return pd.DataFrame(
        {
            "review_id": [1],
            "patient_id": ["011"],
            "flag_key": ["011|bsr.neutrophils_low|2024-08-20T09:00:00|neutrophils"],
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
            "grade": [grade],
            "severity": [severity],
            "seq": [None],
        }
    )


def test_h624_a_severity_raised_by_no_drug_in_force_says_so():
    from dashboard.reviews import with_review_status
    from dashboard.rules.data import caveat

    flags = _one_flag(2, "action", f"Neutrophils 1.3 < 1.6 — {caveat('no_monitored_drug')}", "none in force")
    [lapse] = with_review_status(flags, _one_review(2, "caution"), rule_col="rule")["review_lapsed"]
    assert lapse.startswith("severity changed from caution to action (grade G2 unchanged; no monitored drug"), lapse
    assert "regraded" not in lapse and "since the review by Dr Old on 25 Aug 2024" in lapse


def test_h624_a_severity_raised_otherwise_names_the_doses_now_and_a_lower_grade():
    from dashboard.reviews import with_review_status

    flags = _one_flag(1, "action", "Neutrophils 1.3 < 1.6", "Methotrexate 15 mg/week")
    [lapse] = with_review_status(flags, _one_review(2, "caution"), rule_col="rule")["review_lapsed"]
    assert "severity changed from caution to action" in lapse and "grade now G1, was G2" in lapse, lapse
    assert "doses in force at this result now: Methotrexate 15 mg/week" in lapse
    # a higher grade is still a regrade
    [lapse] = with_review_status(_one_flag(3, "action"), _one_review(2, "caution"), rule_col="rule")["review_lapsed"]
    assert lapse.startswith("regraded from G2 (caution) to G3 (action)"), lapse
    # a milder severity at the same grade: still covered
    [done] = with_review_status(_one_flag(2, "caution"), _one_review(2, "action"), rule_col="rule")["reviewed"]
    assert done
