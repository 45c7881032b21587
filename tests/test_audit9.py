"""audit9: a read-through of the change 8553fe2..b118b89 (withdrawals, start basis, identity,
flag sources, single administrations and change logs, the timeline, ceilings).

Each clinical finding is a strict expected failure until it is fixed (/work/coord/audit9.md).
The expected values are worked out by hand from the cases and the standards named, never
copied from the code's output.
"""

from __future__ import annotations

import datetime as dt

from tests.rules.builders import dose, lab, patient, run, series
from tests.support import csv_import
from tests.test_probe43 import _figure

# --------------------------------------------------------------------------- A1


def test_a_timed_start_of_a_drug_not_monitored_does_not_make_one_day_two_baseline_tests():
    # trend.baseline_fall (rules.toml) needs the last 3 tests before the first monitored drug,
    # the draws of one calendar day being one test (H428).  WBC on 2023-11-01, and twice on
    # 2023-12-01 (09:00 and 15:00): two days, so two tests.  Prednisolone (a glucocorticoid,
    # no blood monitoring) first given 2023-12-01 at 12:00 starts no monitored treatment;
    # azathioprine (monitored) from 2024-01-01.  By hand: 2 tests < 3, no baseline, so
    # WBC 4.0 on 2024-03-01 gives no baseline_fall flag, exactly as without the prednisolone.
    labs = series("P1", "wbc", [("2023-11-01", 6.0), ("2023-12-01 09:00", 6.2), ("2023-12-01 15:00", 6.0)])
    labs += series("P1", "wbc", [("2024-03-01", 4.0)])
    without = [dose("P1", "azathioprine", "2024-01-01", amount=100)]
    with_pred = [dose("P1", "prednisolone", "2023-12-01 12:00", amount=10), *without]
    for doses in (without, with_pred):
        f = run(labs, doses, as_of="2024-06-01").flags_df()
        assert not len(f[f["rule"] == "trend.baseline_fall"]), f[["collected_at", "rule", "message"]]


# --------------------------------------------------------------------------- A2


def test_a_strength_only_row_is_never_worded_as_a_dose_of_its_tablet_strength():
    # "azathioprine 50 mg tablets", daily, no count: 50 mg is the tablet's strength, the
    # amount per dose is not stated (dose_basis strength_only; describe_dose says "strength
    # only: amount per dose not stated").  P1's rows carry no end in a file with an end
    # column, so they are a change log (H563) and row 3 ends row 2, said on row 3.  The note
    # may not call row 2 "50 mg daily": nobody wrote that dose.
    doses = (
        "P1,azathioprine 50 mg tablets,,,daily,oral,2025-01-01,\n"
        "P1,azathioprine,100,mg,daily,oral,2025-03-01,\n"
        "P2,azathioprine,50,mg,daily,oral,2025-01-01,2025-02-01\n"
    )
    r = csv_import("P1,2025-01-05,wbc,6,10^9/L\n", doses, as_of=dt.date(2025, 6, 1))
    notes = [w.message for f in r.report.files if f.path == "doses.csv" for w in f.warnings if w.row == 3]
    assert notes, "row 3 says it ends row 2"
    assert not any("(50 mg daily)" in m for m in notes), notes
    assert any("not stated" in m for m in notes), notes


# --------------------------------------------------------------------------- A3


def test_the_lane_label_of_a_twice_daily_mg_per_kg_dose_keeps_its_arithmetic_true():
    # azathioprine 1 mg/kg twice a day at 60 kg: 1 x 60 = 60 mg a dose, 2 x 60 = 120 mg/day.
    # The label may say "1 mg/kg BID = 120 mg/d" or "2 mg/kg/d = 120 mg/d", never an equation
    # that is false on its face.
    d = _figure(
        "P1,2026-01-03 09:00,WBC,5.0,10^9/L\n",
        "P1,azathioprine,1,mg/kg,BID,oral,2025-12-01,\n",
        patients="patient_id,sex,date_of_birth,weight_kg\nP1,F,1970-01-01,60\n",
    )
    labels = [x for t in d["data"] if t.get("mode") == "text" for x in t["text"]]
    assert any("120 mg/d" in x for x in labels), labels
    assert "1 mg/kg = 120 mg/d" not in labels, labels


# --------------------------------------------------------------------------- A4


def test_a_drugs_own_limit_line_is_drawn_only_while_the_patient_is_on_that_drug():
    # azathioprine 2025-12-01 to 2026-03-01, then mercaptopurine from 2026-03-01.  SPS's
    # neutrophils < 2 judges only results taken on mercaptopurine (H574): the 1.8 of
    # 2026-02-03 (on azathioprine) has no such flag.  Its line, like the BSR lines (H594),
    # should start where mercaptopurine starts, not at the chart's left edge.
    labs = "".join(f"P1,2026-{m:02d}-03 09:00,Neutrophils,{v},10^9/L\n" for m, v in [(1, 3.0), (2, 1.8), (5, 1.9)])
    doses = "P1,azathioprine,100,mg,daily,oral,2025-12-01,2026-03-01\nP1,mercaptopurine,50,mg,daily,oral,2026-03-01,\n"
    d = _figure(labs, doses)
    [line] = [s for s in d["layout"]["shapes"] if s.get("name") == "sps.mercaptopurine_neutrophils_low"]
    assert not str(line["xref"]).endswith("domain"), line  # drawn over dates, not the whole width
    assert str(line["x0"]).startswith("2026-03-01"), line


# --------------------------------------------------------------------------- A5, A6


def test_a_censored_hb_in_mmol_per_l_keeps_its_comparator_in_g_per_l():
    # Hb "<4.5" mmol/L: CTCAE grade 3 on the mmol/L row (< 4.9 mmol/L).  4.5 x 16.1134 =
    # 72.5 g/L: the lab says only that the value is below it, so the g/L said after it is a
    # bound too ("< 73" or "<72.5"), never "= 73 g/L".
    labs = [lab("P1", "2024-03-01", "hemoglobin", 4.5, comparator="<", unit="mmol/L")]
    f = run(labs, [], [patient("P1", sex="F")], as_of="2024-06-01").flags_df()
    [msg] = list(f[f["kind"] == "ctcae"]["message"])
    assert "(= 73 g/L)" not in msg, msg


def test_the_worst_of_an_hb_episode_reported_in_mmol_per_l_is_said_as_reported():
    # "<4.5" mmol/L (grade 3) then 5.5 mmol/L (grade 2: < 6.2 - 4.9 mmol/L): one episode.  The
    # worst result is the lab's "<4.5 mmol/L"; 72.51 g/L is a conversion with a precision the
    # lab never gave (H538).
    labs = [
        lab("P1", "2024-03-01", "hemoglobin", 4.5, comparator="<", unit="mmol/L"),
        lab("P1", "2024-03-02", "hemoglobin", 5.5, unit="mmol/L"),
    ]
    f = run(labs, [], [patient("P1", sex="F")], as_of="2024-06-01").flags_df()
    later = f[(f["kind"] == "ctcae") & (f["collected_at"] == "2024-03-02")]
    [msg] = list(later["message"])
    assert "worst in this episode" in msg, msg
    assert "72.51" not in msg, msg
