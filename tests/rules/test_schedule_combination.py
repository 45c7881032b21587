"""Methotrexate with leflunomide: monthly tests until the combination is stable for 12
months (audit 18, finding 2).

Source: NHS Specialist Pharmacy Service, leflunomide monitoring (sps.nhs.uk/monitorings/
leflunomide-monitoring, read): "More frequent monitoring is appropriate in patients ...
where leflunomide is combined with methotrexate; for these patients, continue monthly
monitoring until stable for 12 months, then consider reduced frequency monitoring on an
individual basis".  Monthly = the schedules' 30 days; 12 months = 365 days, counted from
the later of the start of the combination (the later course start) and the last dose
increase of either drug.  It applies under both monitoring profiles.

Hand-derived dates:

* audit case L1: both drugs since 2024-09-01, full checks on 2024-08-20 (before),
  2025-02-20 and 2025-04-20; review 2025-06-01.  Alone each drug is in its 12-weekly phase
  (231 days into the course at the last test: 2025-04-20 + 84 = 2025-07-13, what the audit
  saw).  Combined for 231 < 365 days: 2025-04-20 + 30 = 2025-05-20, overdue by 12 days,
  "caution" (12 days is not more than the 30-day interval);
* both since 2023-01-01, last check 2024-03-01 (425 days into the combination): stable for
  12 months, back to 12-weekly: due 2024-05-24;
* methotrexate since 2020, leflunomide added 2025-01-01, last check 2025-04-20: the
  methotrexate row is monthly too (109 days into the combination): due 2025-05-20;
* both since 2023-01-01, methotrexate raised on 2024-06-01, check 2024-09-01 (92 days
  after, past the 6 fortnightly weeks): monthly again (92 < 365): due 2024-10-01;
* leflunomide stopped on 2024-01-01: methotrexate alone, check 2024-03-01: 2024-05-24.
"""

from __future__ import annotations

import pandas as pd
import pytest

from tests.rules.builders import dose, full_check, run

BSR_2017 = "BSR 2017 / NICE"


def check_at(pid: str, when: str) -> list[dict]:
    return full_check(pid, when, renal="egfr")


def blood_rows(labs, doses, as_of, profile=None) -> pd.DataFrame:
    df = run(labs, doses, as_of=as_of, profile=profile).schedule_df()
    return df[~df["schedule"].str.startswith("bp_")].set_index("drug")


def mtx(start="2024-09-01", end=None, amount=15.0):
    return dose("L1", "methotrexate", start, end, amount=amount, frequency="weekly")


def lef(start="2024-09-01", end=None):
    return dose("L1", "leflunomide", start, end, amount=10)


@pytest.mark.parametrize("profile", [None, BSR_2017])
def test_audit_case_l1_is_monthly_and_overdue(profile):
    labs = [*check_at("L1", "2024-08-20"), *check_at("L1", "2025-02-20"), *check_at("L1", "2025-04-20")]
    df = blood_rows(labs, [mtx(), lef()], "2025-06-01", profile)
    assert sorted(df.index) == ["leflunomide", "methotrexate"]
    for drug in ("methotrexate", "leflunomide"):
        row = df.loc[drug]
        assert row["interval_days"] == 30 and row["interval_basis"] == "combination"
        assert row["next_due"] == pd.Timestamp("2025-05-20")
        assert row["overdue"] and row["days_overdue"] == 12 and row["severity"] == "caution"
        assert "SPS leflunomide monitoring" in row["source"]
        assert "leflunomide" in row["message"] and "12 months" in row["message"]


def test_without_leflunomide_the_same_case_is_12_weekly():
    labs = [*check_at("L1", "2024-08-20"), *check_at("L1", "2025-02-20"), *check_at("L1", "2025-04-20")]
    row = blood_rows(labs, [mtx()], "2025-06-01").loc["methotrexate"]
    assert row["interval_days"] == 84 and row["next_due"] == pd.Timestamp("2025-07-13")
    assert row["interval_basis"] == "schedule" and "SPS leflunomide" not in row["source"]


def test_stable_for_12_months_goes_back_to_the_own_schedule():
    doses = [mtx("2023-01-01"), lef("2023-01-01")]
    df = blood_rows(check_at("L1", "2024-03-01"), doses, "2024-03-10")
    for drug in ("methotrexate", "leflunomide"):
        assert df.loc[drug, "interval_days"] == 84 and df.loc[drug, "interval_basis"] == "schedule"
        assert df.loc[drug, "next_due"] == pd.Timestamp("2024-05-24")


def test_leflunomide_added_to_long_standing_methotrexate():
    doses = [mtx("2020-01-01"), lef("2025-01-01")]
    df = blood_rows(check_at("L1", "2025-04-20"), doses, "2025-05-01")
    assert df.loc["methotrexate", "interval_days"] == 30
    assert df.loc["methotrexate", "interval_basis"] == "combination"
    assert df.loc["methotrexate", "next_due"] == pd.Timestamp("2025-05-20")
    assert df.loc["leflunomide", "next_due"] == pd.Timestamp("2025-05-20")  # its own monthly phase


def test_a_dose_increase_restarts_the_12_months():
    doses = [mtx("2023-01-01", "2024-06-01"), mtx("2024-06-01", amount=20.0), lef("2023-01-01")]
    df = blood_rows(check_at("L1", "2024-09-01"), doses, "2024-09-05")
    assert df.loc["methotrexate", "interval_days"] == 30
    assert df.loc["methotrexate", "next_due"] == pd.Timestamp("2024-10-01")
    assert df.loc["leflunomide", "next_due"] == pd.Timestamp("2024-10-01")


def test_leflunomide_stopped_ends_the_combination():
    doses = [mtx("2023-01-01"), lef("2023-01-01", "2024-01-01")]
    df = blood_rows(check_at("L1", "2024-03-01"), doses, "2024-03-10")
    assert list(df.index) == ["methotrexate"]
    assert df.loc["methotrexate", "interval_days"] == 84
    assert df.loc["methotrexate", "next_due"] == pd.Timestamp("2024-05-24")


def test_an_increase_not_tested_since_sets_the_date_and_is_said_as_the_schedules():
    """Both since 2023-01-01, last check 2024-05-20, methotrexate raised on 2024-06-01 and
    not tested since: the test after the increase is due 14 days after it, 2024-06-15
    (the combination's month would end on 2024-07-01); the date is the dose increase's,
    said so, not the combination's."""
    doses = [mtx("2023-01-01", "2024-06-01"), mtx("2024-06-01", amount=20.0), lef("2023-01-01")]
    df = blood_rows(check_at("L1", "2024-05-20"), doses, "2024-06-05")
    row = df.loc["methotrexate"]
    assert row["next_due"] == pd.Timestamp("2024-06-15") and row["interval_days"] == 14
    assert row["interval_basis"] == "schedule" and "SPS leflunomide" not in row["source"]
    assert "dose increase of 2024-06-01" in row["message"]
