"""Fixes of probe 37 (baselines), beyond the probe's own tests in tests/test_probe37.py.

Expected values by hand:

* CTCAE v5.0 ALT increased: grade 1 ">ULN - 3.0 x ULN if baseline was normal; 1.5 - 3.0 x
  baseline if baseline was abnormal"; grade 2 ">3.0 - 5.0 x ULN ...; >3.0 - 5.0 x baseline
  if baseline was abnormal".  Whether the baseline was normal is read against the range
  it was reported with (H541).
* The local fall rule (``trend.baseline_fall``): more than 30% below the median of the
  last 3 draws strictly before the first monitored drug started (``rules.toml``).
"""

from __future__ import annotations

import datetime as dt

import numpy as np

from dashboard.rules.engine import default_profile
from dashboard.views import pretreatment_baseline_table
from tests.rules.builders import dose, frame, lab, patient, run, series

AS_OF = "2024-06-01"


def _table(labs, doses):
    return pretreatment_baseline_table(
        frame("labs", labs), frame("doses", doses), frame("patients", [patient("P1")]), frame("baselines", []),
        dt.date(2024, 6, 1), default_profile(), "P1",
    )  # fmt: skip


def test_an_alt_baseline_above_its_own_labs_uln_is_abnormal_though_below_the_later_labs():
    # Hospital lab ULN 56: ALT 60 before methotrexate is abnormal there.  GP lab ULN 70:
    # ALT 200.  By hand: the baseline was abnormal, so grade on the baseline:
    # 3 x 60 = 180 < 200 <= 5 x 60 = 300 -> grade 2 (on the GP's ULN alone:
    # 200 <= 3 x 70 = 210 -> only grade 1).
    labs = [lab("P1", "2023-12-01", "alt", 60, ref_high=56), lab("P1", "2024-03-01", "alt", 200, ref_high=70)]
    rv = run(labs, [dose("P1", "methotrexate", "2024-01-01", amount=15, frequency="weekly")], as_of=AS_OF)
    f = rv.flags_df()
    hit = f[(f["rule"] == "ctcae.alt") & (f["collected_at"] == "2024-03-01")].iloc[0]
    assert int(hit["ctcae_grade"]) == 2, hit["message"]
    assert float(hit["baseline"]) == 60
    # the message says which range the baseline is abnormal by
    assert "above its own ULN 56" in hit["message"], hit["message"]


def test_an_alt_baseline_with_no_range_of_its_own_is_judged_on_the_default_uln():
    # no range on the baseline row: the default ULN (reference_ranges.toml) is its range,
    # never the later result's
    from dashboard.rules.ctcae import default_limit

    uln = default_limit("alt", "high")
    assert np.isfinite(uln)
    base = uln + 10  # abnormal by the default range
    later_uln = base + 20  # but within the later lab's range
    value = base * 3.5  # 3.5 x baseline: grade 2 on the abnormal baseline
    labs = [lab("P1", "2023-12-01", "alt", base), lab("P1", "2024-03-01", "alt", value, ref_high=later_uln)]
    rv = run(labs, [dose("P1", "methotrexate", "2024-01-01", amount=15, frequency="weekly")], as_of=AS_OF)
    f = rv.flags_df()
    hit = f[(f["rule"] == "ctcae.alt") & (f["collected_at"] == "2024-03-01")].iloc[0]
    assert int(hit["ctcae_grade"]) == 2, hit["message"]
    assert f"above its own ULN {uln:g}" in hit["message"]


def test_a_three_falls_message_dates_every_test_of_its_series():
    # 10 -> 8.9 (11% fall) -> 7.9 (11.2%) -> 7 (11.4%): three falls of more than 10%
    labs = series("P1", "wbc", [("2024-01-01", 10), ("2024-02-01", 8.9), ("2024-03-01", 7.9), ("2024-04-01", 7)])
    f = run(labs, [dose("P1", "azathioprine", "2023-12-01", amount=100)], as_of=AS_OF).flags_df()
    hit = f[f["rule"] == "trend.consecutive_falls"].iloc[0]
    assert "10 → 8.9 → 7.9 → 7 ×10⁹/L (tests of 2024-01-01, 2024-02-01, 2024-03-01 and 2024-04-01)" in hit["message"], (
        hit["message"]
    )


def test_a_draw_timed_before_a_timed_first_dose_that_day_is_a_baseline():
    # azathioprine first given at 10:00 on 2024-01-01; WBC at 08:00 (before it) and at
    # 15:00 (after it) that day.  The 3 draws before the dose: 6.0, 6.2 and 6.1 (08:00),
    # median 6.1; WBC 4.0 is (6.1 - 4.0) / 6.1 = 34.4% below it, more than 30%: fires.
    labs = series("P1", "wbc", [("2023-11-01", 6.0), ("2023-12-01", 6.2), ("2024-01-01 08:00", 6.1)])
    labs += series("P1", "wbc", [("2024-01-01 15:00", 5.0), ("2024-03-01", 4.0)])
    doses = [dose("P1", "azathioprine", "2024-01-01 10:00", amount=100)]
    f = run(labs, doses, as_of=AS_OF).flags_df()
    hit = f[(f["rule"] == "trend.baseline_fall") & (f["collected_at"] == "2024-03-01")]
    assert len(hit) == 1, f[["collected_at", "rule", "message"]]
    assert float(hit.iloc[0]["baseline"]) == 6.1
    # the 15:00 draw (5.0) is on treatment: 18% below 6.1, not a fall of more than 30%
    assert not len(f[(f["rule"] == "trend.baseline_fall") & (f["collected_at"] == "2024-01-01 15:00")])
    row = _table(labs, doses)
    wbc = row[row["Analyte"] == "WBC"].iloc[0]
    assert wbc["Baseline"].startswith("6.1 "), wbc.to_dict()
    assert "drawn 2023-11-01 to 2024-01-01" in wbc["Rests on"]


def test_a_start_day_draw_left_out_is_said_beside_a_baseline_too():
    # date-only start 2024-01-01; three draws before it and one that day: the baseline
    # rests on the three, and the table says why the fourth is not used
    labs = series("P1", "wbc", [("2023-10-01", 6.4), ("2023-11-01", 6.0), ("2023-12-01", 6.2)])
    labs += series("P1", "wbc", [("2024-01-01 09:00", 6.1), ("2024-03-01", 4.0)])
    row = _table(labs, [dose("P1", "azathioprine", "2024-01-01", amount=100)])
    wbc = row[row["Analyte"] == "WBC"].iloc[0]
    assert wbc["Baseline"].startswith("6.2 "), wbc.to_dict()  # median of 6.4, 6.0, 6.2
    assert "a result of 2024-01-01, the day Azathioprine started, is not used" in wbc["Rests on"]
