"""Fixes of audit9 A2-A4 (``tests/test_audit9.py``, /work/coord/audit9.md): a dose row that
names only its tablet strength in every note on doses, the lane label of a mg/kg dose
given more than once a day, and a drug's own limit line drawn only while on that drug.

Expected values are worked out by hand from the cases (the strength of a tablet is no
amount per dose; mg/kg x kg x doses a day), never copied from the code.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd

from tests.support import csv_import
from tests.test_probe43 import _figure

_OTHER = "P2,azathioprine,50,mg,daily,oral,2025-01-01,2025-02-01\n"  # gives the file an end column in use
_STRENGTH = "azathioprine 50 mg tablets,,,daily,oral"  # a 50 mg tablet, daily, how many not stated


def _notes(result, path: str = "doses.csv") -> list[tuple[int, str]]:
    return [(w.row, w.message) for f in result.report.files if f.path == path for w in f.warnings]


def _doses_of(result, pid: str = "P1") -> pd.DataFrame:
    d = result.doses.to_pandas()
    return d[d["patient_id"] == pid].sort_values("start").reset_index(drop=True)


# --------------------------------------------------------------------------- A2


def test_two_strength_only_rows_of_a_change_log_are_never_joined_as_the_same_dose():
    # P1's rows carry no end in a file with an end column: a change log (H563).  Both give
    # a 50 mg tablet daily and neither says how many tablets: 1 tablet then 3 tablets is as
    # likely as a repeat, so the later row is not joined to the first as "the same dose".
    # By hand: row 2 from 2025-01-01 ended by row 3 on 2025-02-01; row 3 open from then.
    r = csv_import(
        "P1,2025-01-05,wbc,6,10^9/L\n",
        f"P1,{_STRENGTH},2025-01-01,\nP1,{_STRENGTH},2025-02-01,\n" + _OTHER,
        as_of=dt.date(2025, 6, 1),
    )
    d = _doses_of(r)
    assert list(d["start"]) == [pd.Timestamp("2025-01-01"), pd.Timestamp("2025-02-01")]
    assert d["end"].iloc[0] == pd.Timestamp("2025-02-01") and pd.isna(d["end"].iloc[1])
    notes = [m for row, m in _notes(r) if row == 3]
    assert notes and not any("the same dose" in m or "(50 mg daily" in m for m in notes), notes
    assert any("amount per dose not stated" in m and "whether the dose changed cannot be told" in m for m in notes)


def test_two_open_strength_only_rows_are_never_dropped_as_a_repeat_entered_again():
    # A file with end dates in which P1's azathioprine has a dated row too: the two open
    # rows are read as intervals, overlapping from 2025-02-01.  Their amounts per dose are
    # unknown, so the later one is not "the same dose ... counted once": both are kept.
    r = csv_import(
        "P1,2025-01-05,wbc,6,10^9/L\n",
        f"P1,azathioprine,50,mg,daily,oral,2024-01-01,2024-02-01\nP1,{_STRENGTH},2025-01-01,\n"
        f"P1,{_STRENGTH},2025-02-01,\n",
        as_of=dt.date(2025, 6, 1),
    )
    d = _doses_of(r)
    assert len(d) == 3 and list(d["dose_basis"]) == ["prescribed", "strength_only", "strength_only"]
    notes = [m for row, m in _notes(r) if row == 4]
    assert notes and not any("the same dose" in m for m in notes), notes


def test_two_strengths_from_one_start_are_never_added_up_as_a_dose():
    # 50 mg and 25 mg tablets from one day, counts not stated: 50 + 25 = 75 mg daily would
    # be a dose nobody wrote; the total is unknown.
    r = csv_import(
        "P1,2025-01-05,wbc,6,10^9/L\n",
        f"P1,{_STRENGTH},2025-01-01,\nP1,azathioprine 25 mg tablets,,,daily,oral,2025-01-01,\n" + _OTHER,
        as_of=dt.date(2025, 6, 1),
    )
    notes = [m for row, m in _notes(r) if row == 3]
    assert any("has the start of" in m for m in notes), notes
    assert not any("75 mg" in m or "(50 mg daily" in m for m in notes), notes
    assert any("total unknown" in m and "amount per dose not stated" in m for m in notes), notes


def test_the_workspace_never_words_a_stored_strength_only_row_as_a_dose_of_its_strength(tmp_path, monkeypatch):
    from dashboard.ingest import Source
    from dashboard.store import Workspace
    from tests.store.helpers import Clock

    head = "patient_id,drug,dose,dose_unit,frequency,route,start\n"
    monkeypatch.setenv("DASHBOARD_WORKSPACE", str(tmp_path / "ws"))
    ws = Workspace(tmp_path / "ws", timeout=20, clock=Clock())
    ws.import_sources([Source("jan.csv", (head + f"P1,{_STRENGTH},2025-01-01\n").encode())], by="t")
    out = ws.import_sources(
        [Source("feb.csv", (head + "P1,azathioprine,150,mg,daily,oral,2026-02-01\n").encode())], by="t"
    )
    [f] = [f for f in out.report.files if f.path == "feb.csv"]
    notes = [w.message for w in f.warnings if w.row == 2]
    assert any("overlap" in m and "the stored 50 mg strength daily" in m for m in notes), notes
    assert not any("stored 50 mg daily" in m for m in notes), notes
    assert any("amount per dose not stated" in m for m in notes), notes


# --------------------------------------------------------------------------- A3


def _labels(d: dict) -> list[str]:
    return [x for t in d["data"] if t.get("mode") == "text" for x in t["text"]]


def test_the_lane_label_of_a_mg_per_kg_dose_names_a_frequency_other_than_once_a_day():
    # 0.5 mg/kg three times a day at 80 kg: 0.5 x 80 = 40 mg a dose, 40 x 3 = 120 mg a day.
    d = _figure(
        "P1,2026-01-03 09:00,WBC,5.0,10^9/L\n",
        "P1,azathioprine,0.5,mg/kg,TID,oral,2025-12-01,\n",
        patients="patient_id,sex,date_of_birth,weight_kg\nP1,F,1970-01-01,80\n",
    )
    assert "0.5 mg/kg TID = 120 mg/d" in _labels(d), _labels(d)


def test_the_lane_label_of_a_once_daily_mg_per_kg_dose_is_unchanged():
    # 2 mg/kg once a day at 60 kg: 2 x 60 = 120 mg a day (probe43 F9's label).
    d = _figure(
        "P1,2026-01-03 09:00,WBC,5.0,10^9/L\n",
        "P1,azathioprine,2,mg/kg,daily,oral,2025-12-01,\n",
        patients="patient_id,sex,date_of_birth,weight_kg\nP1,F,1970-01-01,60\n",
    )
    assert "2 mg/kg = 120 mg/d" in _labels(d), _labels(d)


# --------------------------------------------------------------------------- A4

_NEUTROPHILS = "".join(f"P1,2026-{m:02d}-03 09:00,Neutrophils,{v},10^9/L\n" for m, v in [(1, 3.0), (2, 1.8), (5, 1.9)])


def _sps(d: dict) -> tuple[list[dict], list[str]]:
    lines = [s for s in d["layout"]["shapes"] if s.get("name") == "sps.mercaptopurine_neutrophils_low"]
    texts = [str(a.get("text", "")).replace("&lt;", "<").replace("<br>", " ") for a in d["layout"]["annotations"]]
    return lines, [t for t in texts if t.startswith("< 2 ")]


def test_a_drugs_own_limit_line_says_it_is_drawn_while_on_its_drug_and_ends_with_it():
    # mercaptopurine 2025-12-01 to 2026-03-01, azathioprine after: the SPS line runs from
    # 2025-12-01 to 2026-03-01 only, and its label says it is not the whole period.
    doses = "P1,mercaptopurine,50,mg,daily,oral,2025-12-01,2026-03-01\nP1,azathioprine,100,mg,daily,oral,2026-03-01,\n"
    lines, labels = _sps(_figure(_NEUTROPHILS, doses))
    assert [(str(s["x0"])[:10], str(s["x1"])[:10]) for s in lines] == [("2025-12-01", "2026-03-01")], lines
    assert labels and all("drawn while on its drugs" in t for t in labels), labels


def test_a_drugs_own_limit_line_on_that_drug_throughout_is_drawn_as_a_whole():
    lines, labels = _sps(_figure(_NEUTROPHILS, "P1,mercaptopurine,50,mg,daily,oral,2025-12-01,\n"))
    assert len(lines) == 1 and str(lines[0]["x0"])[:10] == "2025-12-01", lines
    assert labels and not any("drawn while on" in t for t in labels), labels


def test_a_bsr_line_of_a_single_administration_ends_with_its_day():
    """audit9 B4: a one-off methotrexate 15 mg ("once") on 2026-01-10 is in force on that day
    only (H561), as the flags read it, and counts for the default 42 days after its last dose
    (rules.toml [recorded_after_last_dose]): the BSR neutrophil line drawn for it spans
    2026-01-10 to 2026-01-11 + 42 d = 2026-02-22, never on for ever from the row's recorded
    end (none)."""
    d = _figure("P1,2026-03-03 09:00,Neutrophils,1.4,10^9/L\n", "P1,methotrexate,15,mg,once,oral,2026-01-10,\n")
    [line] = [s for s in d["layout"]["shapes"] if s.get("name") == "bsr.neutrophils_low"]
    assert (line["x0"], line["x1"]) == (dt.datetime(2026, 1, 10), dt.datetime(2026, 2, 22))
