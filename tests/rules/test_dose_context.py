"""Dose context never contradicts itself (issue 15 item 7): "none recorded" means the
patient has no dose at all; a stopped drug is named with when it ended; an unknown
frequency says so."""

from __future__ import annotations

import pandas as pd

from dashboard.rules.output import review_text
from tests.rules.builders import dose, lab, run

LOW_WBC = 3.0  # fires bsr.wbc_low so the result carries a flag


def flag_on(review, when: str):
    f = review.flags_df()
    return f[f["collected_at"] == pd.Timestamp(when)].iloc[0]


def test_none_recorded_only_without_any_dose():
    rv = run([lab("P1", "2024-03-05", "wbc", LOW_WBC)])
    row = flag_on(rv, "2024-03-05")
    assert row["dose_context"] == "none recorded"
    assert row["active_doses"] == ""


def test_a_stopped_drug_is_named_with_its_end_not_as_none_recorded():
    # started 2024-02-01 (an increase from nothing), stopped 2024-03-01; blood 4 days later
    doses = [dose("P1", "azathioprine", "2024-02-01", "2024-03-01", amount=150)]
    rv = run([lab("P1", "2024-03-05", "wbc", LOW_WBC)], doses)
    row = flag_on(rv, "2024-03-05")
    assert row["active_doses"] == ""
    assert row["days_since_dose_change"] == 4
    assert bool(row["after_increase"])
    assert row["dose_context"] == (
        "no dose in force (Azathioprine 150 mg/day ended 2024-03-01, 4 d before); "
        "within 12 weeks of an increase or start (2024-02-01)"
    )
    text = review_text(rv)
    assert "none recorded" not in text
    assert "no dose in force (Azathioprine 150 mg/day ended 2024-03-01, 4 d before)" in text


def test_a_result_before_the_first_dose():
    rv = run([lab("P1", "2024-01-05", "wbc", LOW_WBC)], [dose("P1", "azathioprine", "2024-02-01", amount=50)])
    assert flag_on(rv, "2024-01-05")["dose_context"] == "no dose in force (the first dose on record starts 2024-02-01)"


def test_doses_in_force_with_the_days_since_the_change():
    doses = [
        dose("P1", "azathioprine", "2023-01-01", "2024-02-01", amount=100),
        dose("P1", "azathioprine", "2024-02-01", amount=50),  # a reduction, 35 days before
    ]
    row = flag_on(run([lab("P1", "2024-03-07", "wbc", LOW_WBC)], doses), "2024-03-07")
    assert row["dose_context"] == "Azathioprine 50 mg/day; 35 d since the last dose change"


def test_a_draw_on_the_day_of_an_increase_is_not_attributed_to_the_new_dose():
    # 50 -> 100 mg on 2024-03-02 (a date: the first new dose may come after the draw);
    # blood at 09:00 that day: no "0 d since", no "within 12 weeks of an increase" of that day
    doses = [
        dose("P1", "azathioprine", "2024-01-01", "2024-03-02", amount=50),
        dose("P1", "azathioprine", "2024-03-02", amount=100),
    ]
    labs = [lab("P1", "2024-03-02 09:00", "wbc", LOW_WBC), lab("P1", "2024-03-09 09:00", "wbc", LOW_WBC)]
    rv = run(labs, doses)
    same_day = flag_on(rv, "2024-03-02 09:00")["dose_context"]
    assert same_day == (
        "Azathioprine 100 mg/day; the dose changed on the day of this draw (a result drawn before the "
        "first new dose reflects the previous one)"
    )
    # a week later the increase is named as before
    assert flag_on(rv, "2024-03-09 09:00")["dose_context"] == (
        "Azathioprine 100 mg/day; 7 d since the last dose change; within 12 weeks of an increase or start (2024-03-02)"
    )


def test_an_unknown_frequency_says_so():
    rv = run(
        [lab("P1", "2024-03-05", "wbc", LOW_WBC)],
        [dose("P1", "azathioprine", "2023-01-01", amount=50, frequency="unknown")],
    )
    assert flag_on(rv, "2024-03-05")["active_doses"] == "Azathioprine 50 mg (frequency unknown)"
    rv = run([lab("P1", "2024-03-05", "wbc", LOW_WBC)], [dose("P1", "azathioprine", "2023-01-01", frequency="unknown")])
    assert flag_on(rv, "2024-03-05")["active_doses"] == "Azathioprine (dose and frequency unknown)"


def test_the_text_review_uses_the_same_words():
    doses = [dose("P1", "methotrexate", "2024-01-01", amount=20, frequency="weekly")]
    rv = run([lab("P1", "2024-03-05", "wbc", LOW_WBC)], doses)
    row = flag_on(rv, "2024-03-05")
    assert f"doses: {row['dose_context']}" in review_text(rv)
