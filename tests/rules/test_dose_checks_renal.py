"""Methotrexate with a low eGFR (audit 18, finding 1).

Source, read in a reproduction of the cited SmPC (emc product 511, Methotrexate 2.5 mg
Tablets, 14 Sep 2023: the Gravitate Health ePI bundle ``UK-epi-preview-Methotrexate 2.5 mg
Tablets.json``), section 4.3: methotrexate is contra-indicated in "severe/significantly
impaired renal function (creatinine clearance less than 30 ml/min) for methotrexate doses
<100 mg/m2".  Rheumatic doses (7.5-30 mg/week) are far below 100 mg/m2.

Hand-derived expectations (review date 2025-06-01; methotrexate 15 mg once weekly from
2025-01-01, ongoing):

* latest eGFR 29 -> ``dose.mtx_renal_contraindicated``, "urgent" (the project grades a
  contraindication "urgent", as febuxostat with a thiopurine), value 29, threshold 30;
* latest eGFR 30 -> nothing (strictly below 30, as "less than 30");
* no eGFR at all -> no row of this check (the dashboard cannot judge, and says nothing
  wrong: no "eGFR normal");
* eGFR 25 on 2024-11-01, before methotrexate started, and none since -> fires (it is the
  latest result); eGFR 25 before the start and 45 after it -> nothing;
* eGFR 45 then 25 -> fires (the latest decides); 25 then 45 -> nothing;
* eGFR 25 dated after the review date -> nothing (not known on that day);
* methotrexate stopped on 2025-04-01 -> nothing on 2025-06-01 (not in force);
* a censored "<15" -> fires (its bound is below 30); "<45" -> cannot tell: an "info" row
  that says so, never a silent pass; ">90" -> nothing.
"""

from __future__ import annotations

import pandas as pd
import pytest

from tests.rules.builders import dose, lab, patient, run

AS_OF = "2025-06-01"
RULE = "dose.mtx_renal_contraindicated"


def _mtx(end: str | None = None) -> dict:
    return dose("R1", "methotrexate", "2025-01-01", end, amount=15, frequency="weekly")


def _renal_rows(labs: list[dict], doses: list[dict] | None = None) -> pd.DataFrame:
    df = run(labs, doses if doses is not None else [_mtx()], [patient("R1", weight=70)], as_of=AS_OF).dose_checks_df()
    return df[df["message"].str.contains("eGFR", regex=False)]


def test_egfr_29_fires_urgent_contraindicated_citing_smpc_4_3():
    df = _renal_rows([lab("R1", "2025-05-01", "egfr", 29)])
    assert df["rule"].tolist() == [RULE]
    row = df.iloc[0]
    assert row["severity"] == "urgent"
    assert row["value"] == pytest.approx(29) and row["threshold"] == pytest.approx(30)
    assert row["value_unit"] == "mL/min/1.73m2"
    assert row["status"] == "open"
    assert "contraindicated" in row["message"] and "29" in row["message"] and "2025-05-01" in row["message"]
    assert "4.3" in row["message"] and "4.3" in row["source"]
    assert "SmPC" in row["source"]


def test_egfr_30_does_not_fire():
    assert _renal_rows([lab("R1", "2025-05-01", "egfr", 30)]).empty


def test_no_egfr_no_row():
    assert _renal_rows([lab("R1", "2025-05-01", "wbc", 6.0)]).empty


@pytest.mark.parametrize(
    ("points", "fires"),
    [
        ([("2024-11-01", 25)], True),  # before methotrexate, but still the latest result
        ([("2024-11-01", 25), ("2025-02-01", 45)], False),
        ([("2025-02-01", 45), ("2025-05-20", 25)], True),
        ([("2025-02-01", 25), ("2025-05-20", 45)], False),
        ([("2025-02-01", 45), ("2025-06-02", 25)], False),  # after the review date
    ],
)
def test_the_latest_egfr_on_or_before_the_review_date_decides(points, fires):
    df = _renal_rows([lab("R1", when, "egfr", v) for when, v in points])
    assert (df["rule"].tolist() == [RULE]) is fires
    if fires:
        assert df["value"].iloc[0] == pytest.approx(25)


def test_flag_runs_from_the_later_of_the_start_and_the_result():
    before = _renal_rows([lab("R1", "2024-11-01", "egfr", 25)]).iloc[0]
    assert before["start"] == pd.Timestamp("2025-01-01")
    after = _renal_rows([lab("R1", "2025-05-20", "egfr", 25)]).iloc[0]
    assert after["start"] == pd.Timestamp("2025-05-20")


def test_methotrexate_stopped_before_the_review_date_is_not_flagged():
    assert _renal_rows([lab("R1", "2025-03-01", "egfr", 20)], [_mtx(end="2025-04-01")]).empty


def test_other_drugs_are_not_flagged():
    doses = [dose("R1", "azathioprine", "2025-01-01", amount=100)]
    assert _renal_rows([lab("R1", "2025-05-01", "egfr", 20)], doses).empty


@pytest.mark.parametrize(
    ("cmp", "value", "expected"),
    [("<", 15, (RULE, "urgent")), ("<", 45, ("dose.not_checkable", "info")), (">", 90, None)],
)
def test_censored_egfr(cmp, value, expected):
    df = _renal_rows([lab("R1", "2025-05-01", "egfr", value, comparator=cmp)])
    if expected is None:
        assert df.empty
    else:
        assert list(zip(df["rule"], df["severity"], strict=True)) == [expected]
        assert "eGFR" in df["message"].iloc[0]


# --------------------------------------------------------------------------- mycophenolate mofetil, eGFR < 25
# CellCept US label (as restated by Medscape): in severe chronic renal impairment (GFR < 25
# mL/min/1.73 m2) outside the immediate post-transplant period, doses above 1 g twice a day
# should be avoided.  By hand (review 2025-06-01, MMF from 2025-01-01, twice daily):
# 1500 mg BID = 3000 mg/day with eGFR 20 -> fires ("action"); 1000 mg BID = 2000 mg/day
# (exactly 1 g twice daily) -> nothing; 1500 mg BID with eGFR 25 (not below 25) -> nothing.

MMF_RULE = "dose.mmf_renal_above_2g"


@pytest.mark.parametrize(
    ("per_dose", "egfr", "fires"),
    [(1500, 20.0, True), (1000, 20.0, False), (1500, 25.0, False), (1250, 24.9, True)],
)
def test_mycophenolate_mofetil_above_1_g_twice_daily_with_egfr_below_25(per_dose, egfr, fires):
    doses = [dose("R1", "mycophenolate mofetil", "2025-01-01", amount=per_dose, frequency="BID")]
    rv = run([lab("R1", "2025-05-01", "egfr", egfr)], doses, [patient("R1", weight=70)], as_of=AS_OF)
    df = rv.dose_checks_df()
    hits = df[df["rule"] == MMF_RULE]
    assert len(hits) == (1 if fires else 0)
    if fires:
        row = hits.iloc[0]
        assert row["severity"] == "action" and row["value"] == egfr and row["threshold"] == 25.0
        assert "1 g twice daily" in row["message"]
