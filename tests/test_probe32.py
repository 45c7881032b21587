"""Probe 32: who is due or overdue for blood tests (schedule.py, schedule.toml, the Panel and
the CLI review).

Every expected date is counted by hand from the schedule the data file cites:

* csDMARDs (``bsr2025_standard``, BSR 2017 phases as restated by NICE CKS at
  medicinesafety.co.uk): every 2 weeks until the dose has been stable for 6 weeks, then
  monthly (30 days) for 3 months, then at least every 12 weeks (84 days).  "Dose increases:
  every 2 weeks until dose is stable for 6 weeks, then revert to previous schedule"; an
  increase inside the initial phases restarts them from the new dose (the data file's
  reading, with SPS "after started or dose changed").  ``grace_days = 0``: due on day 84
  is on time, day 85 is 1 day late.
* tacrolimus (NHS Highland): every 2 weeks for 6 weeks, then monthly.
* voclosporin (Lupkynis label): eGFR every 2 weeks for the first month, then every 4 weeks.
* IV cyclophosphamide pulses: a count on days 8-14 after each pulse and one before the
  next pulse; daily oral cyclophosphamide (French PNDS, Box 6): every 2 weeks for the
  first 3 months, then monthly.

Findings are strict xfails, each failing at the assert marked "F<n>".
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from dashboard.dataset import Dataset
from dashboard.panel import panel_counts, panel_table
from dashboard.rules import schedule
from dashboard.rules.output import review_text
from dashboard.rules.review import review_dataset
from dashboard.views import schedule_table
from tests.rules.builders import blood_row, dose, full_check, lab, run
from tests.support import csv_import
from tests.support import full_check as csv_full_check

MTX_2022 = [dose("P1", "methotrexate", "2022-01-01", amount=15, frequency="weekly")]


_blood = blood_row


def _ts(day: str) -> pd.Timestamp:
    return pd.Timestamp(day)


# =========================================================================== findings


def test_f1_a_platelet_count_alone_is_not_a_full_blood_count():
    """Methotrexate since 2022, full check on 2024-01-10 (next due 2024-04-03, 84 days).
    On 2024-04-01 only a platelet count was drawn (a recount, a citrate tube).  A platelet
    count does not tell the white count the schedule watches for: the full blood count is
    still due 2024-04-03 and is 2 days late on 2024-04-05, as the ALT alone is not a full
    blood count (schedule.toml).  Today the FBC group counts as done on 04-01."""
    labs = [*full_check("P1", "2024-01-10"), lab("P1", "2024-04-01", "platelets", 250.0)]
    row = _blood(run(labs, MTX_2022, as_of="2024-04-05"))
    assert row["next_due"] == _ts("2024-04-03") and bool(row["overdue"])
    assert "full blood count" in row["tests_due"].split("; ")  # F1: only creatinine/eGFR; ALT/AST; albumin


def test_f2_oral_to_subcutaneous_methotrexate_a_week_later_is_the_same_course():
    """Methotrexate 15 mg weekly by mouth 2022-01-01 to 2024-02-01, then 15 mg weekly
    subcutaneously from 2024-02-08: the first injection is the next weekly dose, no dose was
    missed and the dose did not change.  Full check on 2024-01-10, so the next is due
    2024-01-10 + 84 = 2024-04-03: 2 days late on 2024-04-05 (caution).  Today the SC row starts
    a new course: 'none recorded since the course began on 2024-02-08', due 2024-02-22, 43 days
    overdue, severity action, the fortnightly and monthly phases all over again."""
    doses = [
        dose("P1", "methotrexate", "2022-01-01", "2024-02-01", amount=15, frequency="weekly"),
        dose("P1", "methotrexate", "2024-02-08", amount=15, frequency="weekly", route="subcutaneous"),
    ]
    row = _blood(run(full_check("P1", "2024-01-10"), doses, as_of="2024-04-05"))
    assert row["course_start"] == _ts("2022-01-01")  # F2: 2024-02-08
    assert row["next_due"] == _ts("2024-04-03") and row["days_overdue"] == 2
    assert row["severity"] == "caution"


def test_f3_daily_oral_cyclophosphamide_after_iv_pulses_is_fortnightly_for_its_first_3_months():
    """IV cyclophosphamide 750 mg monthly 2024-01-15 to 2024-06-20, then 100 mg daily by
    mouth from 2024-06-20.  PNDS Box 6 (the oral schedule's source): blood count and
    creatinine 'every 2 weeks for the first 3 months, then monthly if the oral treatment is
    continued'.  With a count and creatinine on 2024-06-20 (the oral start), the next is due
    2024-07-04 (14 days).  Today the oral row's course starts with the first IV pulse
    (2024-01-15), so the oral treatment is taken to be 5 months old: monthly, due 2024-07-20."""
    doses = [
        dose(
            "P1", "cyclophosphamide", "2024-01-15", "2024-06-20", amount=750, frequency="monthly", route="intravenous"
        ),
        dose("P1", "cyclophosphamide", "2024-06-20", amount=100, frequency="daily", route="oral"),
    ]
    labs = [
        lab("P1", "2024-06-20", "wbc", 5.0),
        lab("P1", "2024-06-20", "neutrophils", 3.0),
        lab("P1", "2024-06-20", "platelets", 200.0),
        lab("P1", "2024-06-20", "creatinine", 70.0),
    ]
    row = _blood(run(labs, doses, as_of="2024-06-25"), "cyclophosphamide_oral")
    assert row["interval_days"] == 14 and row["next_due"] == _ts("2024-07-04")  # F3: 30, 2024-07-20


def test_f4_the_patient_pages_interval_is_the_one_that_set_the_due_date():
    """Methotrexate 15 mg weekly since 2022, full check 2024-01-10, raised to 20 mg on
    2024-02-01 and not tested since.  CKS: every 2 weeks after a dose increase, so the test is
    due 2024-02-15 (the message says '14 days after the dose increase of 2024-02-01').  The
    Patient page's table puts 'Every (days) 84' beside 'Next due 2024-02-15': a reader
    ordering from the table books the next draw 12 weeks out.  Expected: 14."""
    doses = [
        dose("P1", "methotrexate", "2022-01-01", "2024-02-01", amount=15, frequency="weekly"),
        dose("P1", "methotrexate", "2024-02-01", amount=20, frequency="weekly"),
    ]
    rv = run(full_check("P1", "2024-01-10"), doses, as_of="2024-02-10")
    table = schedule_table(rv.schedule_df()).iloc[0]
    assert table["Next due"] == "2024-02-15"
    assert table["Every (days)"] == 14  # F4: 84


# =========================================================================== checked and fine


@pytest.mark.parametrize(
    ("as_of", "overdue", "late"),
    [("2024-01-14", False, 0), ("2024-01-15", False, 0), ("2024-01-16", True, 1)],
)
def test_a_new_start_without_results_is_due_two_weeks_after_the_start(as_of, overdue, late):
    doses = [dose("P1", "methotrexate", "2024-01-01", amount=15, frequency="weekly")]
    row = _blood(run([], doses, as_of=as_of))
    assert row["next_due"] == _ts("2024-01-15")  # 1 Jan + 14
    assert (bool(row["overdue"]), int(row["days_overdue"])) == (overdue, late)


def test_as_of_before_the_start_asks_only_for_the_first_tests_after_it():
    # probe39 F8 (H567): the planned start is named with its first tests, 1 May + 14 = 15 May,
    # never overdue before it (was: no row at all)
    doses = [dose("P1", "methotrexate", "2024-05-01", amount=15, frequency="weekly")]
    rv = run(full_check("P1", "2024-01-10"), doses, as_of="2024-04-05")
    row = _blood(rv)
    assert row["message"].startswith("Methotrexate: starts 2024-05-01 (as recorded)")
    assert row["next_due"] == _ts("2024-05-15") and not row["overdue"]
    assert rv.summary_df()["next_test_due"].item() == _ts("2024-05-15")


def test_no_results_at_all_is_overdue_since_the_first_fortnight_and_says_so():
    row = _blood(run([], MTX_2022, as_of="2024-04-05"))
    assert row["next_due"] == _ts("2022-01-15")
    assert row["days_overdue"] == 811  # 2022-01-15 to 2024-04-05: 351 + 366 + 94
    assert row["severity"] == "action"  # more than the interval late
    assert "none recorded since the course began on 2022-01-01" in row["message"]


@pytest.mark.parametrize(
    ("as_of", "overdue", "late"),
    [("2024-04-02", False, 0), ("2024-04-03", False, 0), ("2024-04-04", True, 1)],
)
def test_day_84_is_on_time_and_day_85_is_one_day_late(as_of, overdue, late):
    row = _blood(run(full_check("P1", "2024-01-10"), MTX_2022, as_of=as_of))
    assert row["interval_days"] == 84 and row["next_due"] == _ts("2024-04-03")  # 10 Jan + 84
    assert (bool(row["overdue"]), int(row["days_overdue"])) == (overdue, late)


def test_no_phase_schedule_has_a_grace_window():
    phased = [s for s in schedule.schedules().values() if s.get("kind") == "phases"]
    assert phased and all(int(s.get("grace_days", 0)) == 0 for s in phased)


def test_a_result_on_the_as_of_date_counts_and_one_after_it_does_not():
    on_day = _blood(
        run([*full_check("P1", "2024-01-10"), *full_check("P1", "2024-04-05")], MTX_2022, as_of="2024-04-05")
    )
    assert on_day["next_due"] == _ts("2024-06-28") and not bool(on_day["overdue"])  # 5 Apr + 84
    later = _blood(
        run([*full_check("P1", "2024-01-10"), *full_check("P1", "2024-04-10")], MTX_2022, as_of="2024-04-05")
    )
    assert later["next_due"] == _ts("2024-04-03") and later["days_overdue"] == 2


def test_a_draw_without_the_liver_tests_names_what_is_still_owed():
    fbc_only = [r for r in full_check("P1", "2024-04-01") if r["analyte"] in ("wbc", "neutrophils", "platelets")]
    row = _blood(run([*full_check("P1", "2024-01-10"), *fbc_only], MTX_2022, as_of="2024-04-05"))
    assert row["tests_due"] == "creatinine/eGFR; ALT/AST; albumin"
    assert row["days_overdue"] == 2
    assert "OVERDUE by 2 days (due 2024-04-03)" in row["message"]


def test_an_increase_in_the_monthly_phase_restarts_the_phases_from_the_new_dose():
    """15 mg from 2024-01-01, tests on days 14, 28, 42 and 72 (monthly), 20 mg from
    2024-03-20 (day 79, before the 12-weekly phase).  Fortnightly from the new dose: due
    04-03, 04-17, 05-01 (stable 6 weeks); monthly 05-31, 06-30, 07-30 (day 132 from the
    increase); then 84 days: 10-22."""
    doses = [
        dose("P1", "methotrexate", "2024-01-01", "2024-03-20", amount=15, frequency="weekly"),
        dose("P1", "methotrexate", "2024-03-20", amount=20, frequency="weekly"),
    ]
    labs = [r for d in ("2024-01-15", "2024-01-29", "2024-02-12", "2024-03-13") for r in full_check("P1", d)]
    assert _blood(run(labs, doses, as_of="2024-03-25"))["next_due"] == _ts("2024-04-03")
    expected = {
        "2024-04-03": "2024-04-17",
        "2024-04-17": "2024-05-01",
        "2024-05-01": "2024-05-31",
        "2024-05-31": "2024-06-30",
        "2024-06-30": "2024-07-30",
        "2024-07-30": "2024-10-22",
    }
    for drawn, due in expected.items():
        labs = [*labs, *full_check("P1", drawn)]
        assert _blood(run(labs, doses, as_of=drawn))["next_due"] == _ts(due), drawn


def test_an_increase_after_two_stable_years_is_fortnightly_for_six_weeks_then_back_to_12_weeks():
    doses = [
        dose("P1", "methotrexate", "2022-01-01", "2024-02-01", amount=15, frequency="weekly"),
        dose("P1", "methotrexate", "2024-02-01", amount=20, frequency="weekly"),
    ]
    labs = full_check("P1", "2024-01-10")
    row = _blood(run(labs, doses, as_of="2024-02-16"))
    assert row["next_due"] == _ts("2024-02-15") and row["days_overdue"] == 1
    assert "14 days after the dose increase of 2024-02-01" in row["message"]
    for drawn, due in {"2024-02-15": "2024-02-29", "2024-02-29": "2024-03-14", "2024-03-14": "2024-06-06"}.items():
        labs = [*labs, *full_check("P1", drawn)]
        assert _blood(run(labs, doses, as_of=drawn))["next_due"] == _ts(due), drawn


def test_a_decrease_restarts_nothing():
    maintenance = [
        dose("P1", "methotrexate", "2022-01-01", "2024-02-01", amount=20, frequency="weekly"),
        dose("P1", "methotrexate", "2024-02-01", amount=15, frequency="weekly"),
    ]
    row = _blood(run(full_check("P1", "2024-01-10"), maintenance, as_of="2024-02-20"))
    assert row["next_due"] == _ts("2024-04-03") and pd.isna(row["last_increase"])
    monthly = [
        dose("P1", "methotrexate", "2024-01-01", "2024-03-20", amount=20, frequency="weekly"),
        dose("P1", "methotrexate", "2024-03-20", amount=15, frequency="weekly"),
    ]
    labs = [r for d in ("2024-01-15", "2024-01-29", "2024-02-12", "2024-03-13") for r in full_check("P1", d)]
    assert _blood(run(labs, monthly, as_of="2024-03-25"))["next_due"] == _ts("2024-04-12")  # 13 Mar + 30


def test_oral_to_subcutaneous_methotrexate_on_the_same_day_at_the_same_dose_changes_nothing():
    doses = [
        dose("P1", "methotrexate", "2022-01-01", "2024-02-01", amount=15, frequency="weekly"),
        dose("P1", "methotrexate", "2024-02-01", amount=15, frequency="weekly", route="subcutaneous"),
    ]
    row = _blood(run(full_check("P1", "2024-01-10"), doses, as_of="2024-02-20"))
    assert row["course_start"] == _ts("2022-01-01") and pd.isna(row["last_increase"])
    assert row["next_due"] == _ts("2024-04-03")


def test_a_drug_stopped_is_no_longer_due():
    doses = [dose("P1", "methotrexate", "2022-01-01", "2024-02-01", amount=15, frequency="weekly")]
    labs = full_check("P1", "2023-10-01")
    assert _blood(run(labs, doses, as_of="2024-01-31"))["days_overdue"] == 38  # due 2023-12-24
    assert run(labs, doses, as_of="2024-02-01").schedule_df().empty


def test_two_drugs_the_stricter_schedule_sets_the_patients_next_test():
    """Methotrexate in maintenance (full check 2024-01-10: due 04-03) and tacrolimus from
    2024-03-01 (fortnightly for 6 weeks: due 03-15).  One full check on 03-15 serves both:
    methotrexate then due 06-07, tacrolimus 03-29 (7 days late on 04-05)."""
    doses = [*MTX_2022, dose("P1", "tacrolimus", "2024-03-01", amount=2, frequency="BID")]
    rv = run(full_check("P1", "2024-01-10"), doses, as_of="2024-03-20")
    assert _blood(rv, "cni_monthly")["next_due"] == _ts("2024-03-15")
    summary = rv.summary_df().iloc[0]
    assert summary["next_test_due"] == _ts("2024-03-15") and summary["days_overdue"] == 5
    rv = run([*full_check("P1", "2024-01-10"), *full_check("P1", "2024-03-15")], doses, as_of="2024-04-05")
    assert _blood(rv, "bsr2025_standard")["next_due"] == _ts("2024-06-07")
    assert _blood(rv, "cni_monthly")["next_due"] == _ts("2024-03-29")
    assert rv.summary_df().iloc[0]["days_overdue"] == 7


def test_tacrolimus_is_monthly_from_the_sixth_week():
    doses = [dose("P1", "tacrolimus", "2024-01-01", amount=2, frequency="BID")]
    day_42 = _blood(run(full_check("P1", "2024-02-12"), doses, as_of="2024-02-13"))
    assert (day_42["interval_days"], day_42["next_due"]) == (30, _ts("2024-03-13"))
    day_41 = _blood(run(full_check("P1", "2024-02-11"), doses, as_of="2024-02-13"))
    assert (day_41["interval_days"], day_41["next_due"]) == (14, _ts("2024-02-25"))


def test_voclosporin_egfr_fortnightly_for_a_month_then_every_four_weeks():
    doses = [dose("P1", "voclosporin", "2024-01-01", amount=23.7, frequency="BID")]
    first = _blood(run([], doses, as_of="2024-01-16"))
    assert first["next_due"] == _ts("2024-01-15") and first["days_overdue"] == 1
    assert first["tests_due"] == "creatinine/eGFR"
    labs = [lab("P1", "2024-01-15", "egfr", 80.0), lab("P1", "2024-01-29", "egfr", 80.0)]
    row = _blood(run(labs, doses, as_of="2024-02-01"))
    assert (row["interval_days"], row["next_due"]) == (28, _ts("2024-02-26"))


def test_iv_cyclophosphamide_nadir_window_then_the_count_before_the_next_pulse():
    doses = [
        dose("P1", "cyclophosphamide", "2024-01-15", "2024-06-20", amount=750, frequency="monthly", route="intravenous")
    ]
    on_last_day = _blood(run([], doses, as_of="2024-01-29"))
    assert (on_last_day["next_due"], on_last_day["due_by"]) == (_ts("2024-01-23"), _ts("2024-01-29"))
    assert not bool(on_last_day["overdue"])
    assert _blood(run([], doses, as_of="2024-01-30"))["days_overdue"] == 1
    nadir = [lab("P1", "2024-01-25", a, v) for a, v in (("wbc", 5.0), ("neutrophils", 3.0), ("platelets", 200.0))]
    before = _blood(run(nadir, doses, as_of="2024-02-16"))
    assert before["next_due"] == _ts("2024-02-15") and before["days_overdue"] == 1
    assert "blood count before the pulse of 2024-02-15" in before["message"]


def test_every_overdue_line_names_the_tests_the_due_date_the_interval_and_a_source():
    doses = [*MTX_2022, dose("P1", "tacrolimus", "2024-03-01", amount=2, frequency="BID")]
    rv = run(full_check("P1", "2023-10-01"), doses, as_of="2024-03-20")
    over = rv.schedule_df()
    over = over[over["overdue"].astype(bool) & ~over["schedule"].str.startswith("bp_")]
    assert len(over) == 2
    for r in over.itertuples(index=False):
        assert r.tests_due and r.tests_due.split("; ")[0] in r.message
        assert f"(due {r.next_due:%Y-%m-%d})" in r.message
        assert f"every {r.interval_days} days" in r.message
        assert r.source


def test_the_panel_and_the_cli_review_say_the_same_next_test_and_lateness():
    """P1: methotrexate since 2022, check on 2024-01-10: due 04-03, 2 days late on 04-05.
    P2: the same drug, checked 2024-03-01: due 05-24, not late."""
    as_of = dt.date(2024, 4, 5)
    labs = csv_full_check("P1", "2024-01-10") + csv_full_check("P2", "2024-03-01")
    doses = "P1,methotrexate,15,mg,weekly,oral,2022-01-01,\nP2,methotrexate,15,mg,weekly,oral,2022-01-01,\n"
    result = csv_import(labs, doses, as_of=as_of)
    ds = Dataset.from_import(result, "probe32")
    rv = review_dataset(ds, "BSR 2025", as_of)
    table = panel_table(ds, rv).set_index("Patient")
    assert table.loc["P1", "Next test due"] == "2024-04-03" and table.loc["P1", "Overdue (days)"] == 2
    assert table.loc["P2", "Next test due"] == "2024-05-24" and table.loc["P2", "Overdue (days)"] == 0
    assert panel_counts(table.reset_index()).overdue == 1
    text = review_text(rv)
    assert "2024-04-03 OVERDUE 2d" in text
    assert "2024-05-24" in text and "2024-05-24 OVERDUE" not in text
