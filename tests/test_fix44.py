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
