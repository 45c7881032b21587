"""Cyclophosphamide cumulative dose from the dose history (issue 17).

Hand-counted cases:

* Euro-Lupus: 500 mg IV every 2 weeks from 1 Jan 2024, stopped 12 Mar 2024: pulses on
  1 and 15 Jan, 29 Jan, 12 and 26 Feb, 11 Mar = 6 pulses = 3,000 mg = 3 g
  (Houssiau 2002: 3 g in total). Below every threshold.
* NIH-like: 1 g IV monthly on the 10th from 10 Jan 2023, stopped 9 Jan 2024: 12 pulses =
  12 g. A woman: above 10 g (ovarian failure RR 3.2 above 10 g, Medeiros 2001) from the
  11th pulse, 10 Nov 2023 (11 g > 10 g); not above 36 g.
* Oral: 100 mg daily from 1 Jan 2020 to 1 Jan 2021 (2020 is a leap year): 366 days =
  36,600 mg = 36.6 g > 36 g (Faurschou 2008). 36,000 mg is reached on day 360; strictly
  above on the 361st day, 1 Jan 2020 + 360 days = 26 Dec 2020.
* mg/kg: 2 mg/kg daily for 10 days at 60 kg = 1,200 mg.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from dashboard.rules import exposure
from tests.rules.builders import dose, frame, lab, patient, run


def cyc_checks(doses, sex="F", weight=float("nan"), as_of="2024-12-31") -> pd.DataFrame:
    df = run([], doses, [patient("P1", sex=sex, weight=weight)], as_of=as_of).dose_checks_df()
    return df[df["drug"] == "cyclophosphamide"]


def summary(doses, sex="F", weight=float("nan"), as_of="2024-12-31"):
    return exposure.cumulative_summary(
        frame("doses", doses),
        frame("patients", [patient("P1", sex=sex, weight=weight)]),
        "P1",
        dt.date.fromisoformat(as_of),
        "cyclophosphamide",
    )


EURO = [dose("P1", "cyclophosphamide", "2024-01-01", "2024-03-12", amount=500, frequency="every 2 weeks", route="iv")]
NIH = [dose("P1", "cyclophosphamide", "2023-01-10", "2024-01-09", amount=1000, frequency="monthly", route="iv")]
ORAL = [dose("P1", "cyclophosphamide", "2020-01-01", "2021-01-01", amount=100, frequency="daily")]


def test_euro_lupus_course_is_3_g():
    s = summary(EURO)
    assert s["total_g"] == pytest.approx(3.0) and s["pulses"] == 6 and s["complete"]
    assert cyc_checks(EURO).empty


def test_nih_course_crosses_the_ovarian_threshold_at_the_eleventh_pulse():
    s = summary(NIH)
    assert s["total_g"] == pytest.approx(12.0) and s["pulses"] == 12
    df = cyc_checks(NIH)
    assert df["rule"].tolist() == ["dose.cyc_cumulative_ovarian"]
    row = df.iloc[0]
    assert row["start"] == pd.Timestamp("2023-11-10")
    assert (row["value"], row["threshold"], row["value_unit"]) == (12.0, 10.0, "g")
    assert row["severity"] == "info" and row["status"] == "open" and pd.isna(row["end"])
    assert "Medeiros" in row["source"]


def test_the_ovarian_threshold_is_not_applied_to_men():
    assert cyc_checks(NIH, sex="M").empty


def test_a_year_of_oral_100_mg_crosses_36_g_on_26_december():
    s = summary(ORAL, as_of="2021-06-30")
    assert s["total_g"] == pytest.approx(36.6) and s["oral_days"] == 366
    df = cyc_checks(ORAL, as_of="2021-06-30")
    mal = df[df["rule"] == "dose.cyc_cumulative_malignancy"].iloc[0]
    assert mal["start"] == pd.Timestamp("2020-12-26")
    assert mal["severity"] == "caution" and mal["value"] == pytest.approx(36.6)
    assert "36 g" in mal["message"] and "Faurschou" in mal["source"]
    # the woman crossed 10 g earlier: 10,000 mg after 100 days, above on the 101st (10 Apr 2020)
    ova = df[df["rule"] == "dose.cyc_cumulative_ovarian"].iloc[0]
    assert ova["start"] == pd.Timestamp("2020-04-10")


def test_only_doses_up_to_the_review_date_count():
    s = summary(ORAL, as_of="2020-01-10")  # 1-10 Jan taken: 10 days
    assert s["oral_days"] == 10 and s["total_g"] == pytest.approx(1.0)


def test_mg_per_kg_uses_the_weight():
    doses = [dose("P1", "cyclophosphamide", "2024-01-01", "2024-01-11", amount=2, unit="mg/kg", frequency="daily")]
    assert summary(doses, weight=60)["total_g"] == pytest.approx(1.2)


def test_a_dose_per_m2_is_not_counted_and_says_why():
    doses = [dose("P1", "cyclophosphamide", "2024-01-10", amount=750, unit="mg/m2", frequency="monthly", route="iv")]
    s = summary(doses)
    assert not s["complete"] and "mg/m2" in s["uncounted"] and s["total_g"] == 0
    df = cyc_checks(doses)
    assert df["rule"].tolist() == ["dose.not_checkable"]
    assert "cannot be checked" in df["message"].iloc[0]


def test_no_cyclophosphamide_no_summary():
    assert summary([dose("P1", "azathioprine", "2024-01-01", amount=50)]) is None


# --------------------------------------------------------------------------- rituximab / obinutuzumab
# BSR biologic DMARD safety guideline 2019: serum immunoglobulins (IgG, IgM) before each
# cycle of rituximab; labels: HBV screening (HBsAg, anti-HBc) before starting a CD20
# antibody.  The dashboard's window for "before": the 90 days before an infusion.


def anti_cd20(doses, labs=(), as_of="2024-12-31") -> pd.DataFrame:
    df = run(list(labs), doses, [patient("P1")], as_of=as_of).dose_checks_df()
    return df[df["drug"].isin(["rituximab", "obinutuzumab"])]


RTX = [
    dose("P1", "rituximab", "2024-06-01", amount=1000, frequency="single", route="iv"),
    dose("P1", "rituximab", "2024-06-15", amount=1000, frequency="single", route="iv"),
]


def test_igg_before_each_rituximab_infusion():
    df = anti_cd20(RTX, [lab("P1", "2024-05-20", "igg", 7.2)])
    assert "dose.anti_cd20_igg_before_cycle" not in set(df["rule"])
    df = anti_cd20(RTX)
    igg = df[df["rule"] == "dose.anti_cd20_igg_before_cycle"]
    assert igg["start"].tolist() == [pd.Timestamp("2024-03-03"), pd.Timestamp("2024-03-17")]  # 90 days before
    assert igg["status"].tolist() == ["closed", "closed"] and set(igg["severity"]) == {"caution"}
    assert "BSR" in igg["source"].iloc[0]


def test_the_next_cycle_without_a_recent_igg_is_open():
    """Every 26 weeks from 10 Jan 2024: 10 Jan, 10 Jul 2024 and 8 Jan 2025 (182 days
    apart). IgG on 1 Jul only: the January 2024 infusion had none in the 90 days before
    (closed), July did (9 days before), and the next one, 8 Jan 2025, is 191 days after
    it: open on 31 Dec 2024 (inside the 90 days before it)."""
    doses = [dose("P1", "rituximab", "2024-01-10", amount=1000, frequency="every 26 weeks", route="iv")]
    df = anti_cd20(doses, [lab("P1", "2024-07-01", "igg", 6.0)])
    igg = df[df["rule"] == "dose.anti_cd20_igg_before_cycle"].sort_values("end")
    assert igg["end"].tolist() == [pd.Timestamp("2024-01-11"), pd.Timestamp("2025-01-09")]
    assert igg["status"].tolist() == ["closed", "open"]
    assert "2024-07-01" in igg["message"].iloc[1]


def test_hbv_screening_is_recalled_at_the_start_of_a_course():
    df = anti_cd20([dose("P1", "obinutuzumab", "2024-03-01", amount=1000, frequency="single", route="iv")])
    hbv = df[df["rule"] == "dose.anti_cd20_hbv_screen"]
    assert len(hbv) == 1 and hbv["severity"].item() == "info"
    assert "HBsAg" in hbv["message"].item() and "cannot" in hbv["message"].item()


def test_one_hbv_reminder_per_start_of_treatment_not_per_infusion():
    """Two infusions two weeks apart are one start; a cycle after more than a year
    without rituximab is a new start (restart_after_days = 365)."""
    later = dose("P1", "rituximab", "2025-09-01", amount=1000, frequency="single", route="iv")
    df = anti_cd20([*RTX, later], as_of="2025-12-31")
    hbv = df[df["rule"] == "dose.anti_cd20_hbv_screen"]
    assert hbv["end"].tolist() == [pd.Timestamp("2024-06-02"), pd.Timestamp("2025-09-02")]
