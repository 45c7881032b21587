"""The fixes of probe 43 (the Patient timeline), pinned beyond the probe's own tests: the
words the chart now says, and the heights and spans it draws, worked out by hand.

* A lane with weekly and daily steps is drawn per week: 15 mg/week at 15, 10 mg/day at
  70 (10 x 7); heights 0.15 + 0.6 x amount / 70.
* 2 mg/kg daily at 60 kg is 120 mg/day (2 x 60), as the dose checks turn it.
* BSR lines: methotrexate to 1 Mar 2026 is recorded 42 days after it ends
  (rules.toml [recorded_after_last_dose] default_days): to 12 Apr 2026.
* Hb 7.5-10.0 mmol/L: x 16.1134 g/L per mmol/L = 120.85-161.134 g/L, shown as a g/L
  result is (no decimals): 121-161; in g/dL (one decimal) 12.1-16.1.  Creatinine
  0.6-1.1 mg/dL x 88.4 = 53.04-97.24 umol/L: 53-97.
* The CTCAE anaemia grade 2 cut read on the reported mmol/L row, 6.2 mmol/L, is
  6.2 x 1.61134 = 9.990 g/dL.
"""

from __future__ import annotations

import datetime as dt

import pytest

from tests.test_probe43 import _figure, _height_on, _lane, _markers, _row_of, _texts

RANGE_HEAD = "patient_id,collected_at,analyte,value,unit,range\n"


def _lane_trace(d: dict, name: str) -> dict:
    [t] = [t for t in d["data"] if t.get("yaxis") == "y" and t.get("mode") == "lines" and t.get("name") == name]
    return t


# --------------------------------------------------------------------------- F1


def test_a_lane_with_weekly_and_daily_steps_is_drawn_per_week_and_says_so():
    labs = "P1,2026-01-03 09:00,Neutrophils,3.0,10^9/L\nP1,2026-03-03 09:00,Neutrophils,3.0,10^9/L\n"
    doses = "P1,methotrexate,15,mg,weekly,oral,2025-12-01,2026-02-01\nP1,methotrexate,10,mg,daily,oral,2026-02-01,\n"
    d = _figure(labs, doses)
    assert _height_on(d, "Methotrexate", "2026-01-15") == pytest.approx(0.15 + 0.6 * 15 / 70)
    assert _height_on(d, "Methotrexate", "2026-02-15") == pytest.approx(0.15 + 0.6 * 70 / 70)
    assert "Methotrexate<br>(drawn per week)" in d["layout"]["yaxis"]["ticktext"]
    hovers = [h for _, _, h in _lane(d, "Methotrexate")]
    assert any("10 mg/day = 70 mg/week" in h for h in hovers)
    labels = [x for t in d["data"] if t.get("mode") == "text" for x in t["text"]]
    assert "15 mg/wk" in labels and "10 mg/d" in labels  # each step keeps its own unit in its label


def test_a_lane_of_daily_steps_only_is_not_redrawn_per_week():
    d = _figure(
        "P1,2026-01-03 09:00,WBC,5.0,10^9/L\n",
        "P1,azathioprine,100,mg,daily,oral,2025-12-01,2026-02-01\nP1,azathioprine,50,mg,daily,oral,2026-02-01,\n",
    )
    assert "Azathioprine" in d["layout"]["yaxis"]["ticktext"]
    assert not any("drawn per week" in h for _, _, h in _lane(d, "Azathioprine"))


# --------------------------------------------------------------------------- F9


def test_a_mg_per_kg_dose_is_drawn_at_its_mg_at_the_known_weight_and_says_so():
    doses = "P1,azathioprine,2,mg/kg,daily,oral,2025-12-01,2026-03-01\nP1,azathioprine,100,mg,daily,oral,2026-03-15,\n"
    d = _figure(
        "P1,2026-01-03 09:00,WBC,5.0,10^9/L\n",
        doses,
        patients="patient_id,sex,date_of_birth,weight_kg\nP1,F,1970-01-01,60\n",
    )
    assert _height_on(d, "Azathioprine", "2026-01-15") == pytest.approx(0.15 + 0.6 * 120 / 120)
    assert _height_on(d, "Azathioprine", "2026-04-01") == pytest.approx(0.15 + 0.6 * 100 / 120)
    hover = _lane_trace(d, "Azathioprine")["customdata"][0]
    assert "Azathioprine 2 mg/kg daily = 120 mg/day at 60 kg" in hover  # the dose as stated, then the mg
    labels = [x for t in d["data"] if t.get("mode") == "text" for x in t["text"]]
    assert "2 mg/kg = 120 mg/d" in labels


def test_a_mg_per_kg_dose_without_a_weight_says_it_is_not_to_scale():
    doses = "P1,azathioprine,2,mg/kg,daily,oral,2025-12-01,2026-03-01\nP1,azathioprine,100,mg,daily,oral,2026-03-15,\n"
    d = _figure("P1,2026-01-03 09:00,WBC,5.0,10^9/L\n", doses)
    dashed = _lane_trace(d, "Azathioprine (amount not known in full)")
    assert set(dashed["y"]) == {0.15}
    assert all("not to scale: no weight is recorded to turn mg/kg into mg" in h for h in dashed["customdata"])


# --------------------------------------------------------------------------- F7


def test_the_dose_as_written_is_in_the_hover_beside_the_mg():
    d = _figure(
        "P1,2026-03-03 09:00,WBC,5.9,10^9/L\n", "P1,methotrexate 2.5 mg tablets,6,tablets,weekly,oral,2026-01-01,\n"
    )
    hover = _lane_trace(d, "Methotrexate")["customdata"][0]
    assert "<b>Methotrexate 15 mg/week</b>" in hover
    assert "as written: methotrexate 2.5 mg tablets 6 tablets weekly oral" in hover


# --------------------------------------------------------------------------- F2, F3, F4


def test_an_open_flagged_result_before_the_period_is_named_with_its_grade_and_date():
    labs = "P1,2025-12-03 09:00,Neutrophils,0.4,10^9/L\nP1,2026-05-20 09:00,WBC,5.0,10^9/L\n"
    d = _figure(labs, "P1,azathioprine,100,mg,daily,oral,2025-06-01,\n", window="3 months")
    assert (
        "◀ 1 result with an open flag before this period: 0.4 ×10⁹/L, grade 4 on 03 Dec 2025. "
        "A longer period shows it." in _texts(d)
    )


def test_a_closed_flag_before_the_period_is_not_announced():
    # 0.4 on 3 Dec 2025, then 3.0 on 20 May 2026: the flag of December is closed
    labs = "P1,2025-12-03 09:00,Neutrophils,0.4,10^9/L\nP1,2026-05-20 09:00,Neutrophils,3.0,10^9/L\n"
    d = _figure(labs, "P1,azathioprine,100,mg,daily,oral,2025-06-01,\n", window="3 months")
    assert not any("open flag before this period" in t for t in _texts(d))
    assert "No results in this period" not in _texts(d)  # 20 May lies in the period


def test_an_empty_period_says_so_on_each_empty_panel():
    labs = "P1,2025-01-03 09:00,Neutrophils,3.0,10^9/L\nP1,2025-01-03 09:00,WBC,5.0,10^9/L\n"
    d = _figure(labs, "P1,azathioprine,100,mg,daily,oral,2025-06-01,\n", window="3 months")
    empty = [a for a in d["layout"]["annotations"] if a["text"] == "No results in this period"]
    assert sorted(a["yref"] for a in empty) == ["y2 domain", "y3 domain"]


def test_all_opens_thirty_days_before_the_earliest_dose():
    doses = "P1,cyclophosphamide,500,mg,every 2 weeks,iv,2025-01-01,2025-03-15\n"
    d = _figure("P1,2026-01-03 09:00,Neutrophils,3.0,10^9/L\n", doses)
    assert d["layout"]["xaxis"]["range"][0] == dt.datetime(2024, 12, 2)  # 1 Jan 2025 - 30 days


# --------------------------------------------------------------------------- F5


def test_bsr_lines_span_only_the_time_on_a_guideline_drug_as_the_flags_read_it():
    # methotrexate Jan-Feb 2026, recorded 42 days after its end (to 12 Apr 2026), then
    # cyclophosphamide alone: the line spans 1 Jan - 12 Apr 2026 and says so
    labs = "P1,2026-02-03 09:00,Neutrophils,1.4,10^9/L\nP1,2026-05-03 09:00,Neutrophils,1.3,10^9/L\n"
    doses = (
        "P1,methotrexate,15,mg,weekly,oral,2026-01-01,2026-03-01\n"
        "P1,cyclophosphamide,750,mg,monthly,iv,2026-03-10,2026-06-20\n"
    )
    d = _figure(labs, doses)
    [line] = [s for s in d["layout"]["shapes"] if s.get("name") == "bsr.neutrophils_low"]
    assert (line["x0"], line["x1"]) == (dt.datetime(2026, 1, 1), dt.datetime(2026, 4, 12))
    assert any(t.startswith("< 1.6") and "drawn while on its drugs" in t.replace("<br>", " ") for t in _texts(d))
    # the flags say the same: February's is in force; May's only "shown as a guide"
    neut = {m[0]: m[2] for m in _markers(d, _row_of(d, "Neutrophils"))}
    assert "shown as a guide" not in neut[dt.datetime(2026, 2, 3, 9)]
    assert "shown as a guide" in neut[dt.datetime(2026, 5, 3, 9)]


def test_bsr_lines_span_the_whole_width_for_a_patient_on_a_guideline_drug_throughout():
    d = _figure("P1,2026-03-03 09:00,Neutrophils,1.4,10^9/L\n", "P1,methotrexate,15,mg,weekly,oral,2025-01-01,\n")
    [line] = [s for s in d["layout"]["shapes"] if s.get("name") == "bsr.neutrophils_low"]
    assert line["x0"] == dt.datetime(2025, 1, 1)
    assert any(t.startswith("< 1.6<br>BSR") for t in _texts(d))
    assert not any("drawn while" in t for t in _texts(d))


# --------------------------------------------------------------------------- F6


@pytest.mark.parametrize(
    ("row", "system", "expected"),
    [
        ("Hb,6.0,mmol/L,7.5-10.0", "SI", "lab range 7.5–10 mmol/L (= 121–161 g/L)"),
        ("Hb,6.0,mmol/L,7.5-10.0", "US", "lab range 7.5–10 mmol/L (= 12.1–16.1 g/dL)"),
        ("Creatinine,0.9,mg/dL,0.6-1.1", "SI", "lab range 0.6–1.1 mg/dL (= 53–97 µmol/L)"),
        ("Creatinine,0.9,mg/dL,0.6-1.1", "US", "lab range 0.6–1.1 mg/dL"),
    ],
)
def test_the_lab_range_as_written_and_converted(row, system, expected):
    d = _figure(
        f"P1,2026-03-03 09:00,{row}\n", labs_head=RANGE_HEAD, system=system, analytes=("hemoglobin", "creatinine")
    )
    [(_, _, hover, _)] = _markers(d, "y2")  # the one panel under the dose lane
    assert expected in hover.split("<br>")


# --------------------------------------------------------------------------- F8


def test_two_pulses_on_one_day_give_the_days_total_and_each():
    doses = (
        "P1,cyclophosphamide,500,mg,once,iv,2026-01-10,2026-01-10\n"
        "P1,cyclophosphamide,250,mg,once,iv,2026-01-10,2026-01-10\n"
    )
    d = _figure("P1,2026-01-03 09:00,WBC,5.9,10^9/L\n", doses)
    [pulses] = [t for t in d["data"] if t.get("name") == "Cyclophosphamide (pulses)"]
    assert len(pulses["x"]) == 1
    assert "Cyclophosphamide: 2 administrations on 10 Jan 2026: 750 mg in all" in pulses["customdata"][0]


# --------------------------------------------------------------------------- F11


def test_a_grade_on_the_reported_unit_gives_its_threshold_converted_in_us_units():
    d = _figure("P1,2026-03-03 09:00,Hb,4.9,mmol/L\n", "P1,methotrexate,15,mg,weekly,oral,2025-12-01,\n", system="US")
    [(_, _, hover, _)] = _markers(d, _row_of(d, "Hb"))
    assert "4.9 mmol/L as reported &lt; 6.2 mmol/L" in hover
    assert "threshold<br>9.99 g/dL" in hover or "threshold 9.99 g/dL" in hover
