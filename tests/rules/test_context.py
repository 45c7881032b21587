"""Dose context on every flag: doses in force, days since a change, after an increase."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from dashboard.rules.context import join_distinct
from tests.rules.builders import dose, lab, patient, run


def flag_on(review, when: str):
    f = review.flags_df()
    return f[f["collected_at"] == pd.Timestamp(when)].iloc[0]


LOW_WBC = 3.0  # fires the BSR limit, so the result has a flag to carry its context


@pytest.mark.parametrize(
    ("row", "text"),
    [
        (dose("P1", "azathioprine", "2024-01-01", amount=150), "Azathioprine 150 mg/day (2.50 mg/kg/day)"),
        (dose("P1", "methotrexate", "2024-01-01", amount=20, frequency="weekly"), "Methotrexate 20 mg/week"),
        (
            dose("P1", "mycophenolate mofetil", "2024-01-01", amount=1000, frequency="BID"),
            "Mycophenolate mofetil 2000 mg/day (1000 mg BID) (33.33 mg/kg/day)",
        ),
        (
            dose("P1", "cyclophosphamide", "2024-01-01", amount=500, frequency="every 2 weeks", route="iv"),
            "Cyclophosphamide 500 mg every 2 weeks",
        ),
        (
            dose("P1", "belimumab", "2024-01-01", amount=10, unit="mg/kg", frequency="every 4 weeks", route="iv"),
            "Belimumab 10 mg/kg every 4 weeks",
        ),
        (dose("P1", "prednisolone", "2024-01-01", amount=7.5), "Prednisolone 7.5 mg/day (0.12 mg/kg/day)"),
    ],
)
def test_active_dose_text(row, text):
    rv = run([lab("P1", "2024-02-01", "wbc", LOW_WBC)], [row], [patient("P1", weight=60)])
    assert flag_on(rv, "2024-02-01")["active_doses"] == text


def test_mg_per_kg_needs_a_weight():
    rv = run([lab("P1", "2024-02-01", "wbc", LOW_WBC)], [dose("P1", "azathioprine", "2024-01-01", amount=150)])
    assert flag_on(rv, "2024-02-01")["active_doses"] == "Azathioprine 150 mg/day"


def test_only_doses_in_force_at_the_time_of_the_result():
    doses = [
        dose("P1", "azathioprine", "2024-01-01", "2024-02-01", amount=50),
        dose("P1", "azathioprine", "2024-02-01", amount=100),
        dose("P1", "prednisolone", "2023-06-01", "2023-12-01", amount=10),
    ]
    labs = [lab("P1", d, "wbc", LOW_WBC) for d in ("2023-12-15", "2024-01-31", "2024-02-01")]
    rv = run(labs, doses)
    assert flag_on(rv, "2023-12-15")["active_doses"] == ""
    assert flag_on(rv, "2024-01-31")["active_doses"] == "Azathioprine 50 mg/day"
    assert flag_on(rv, "2024-02-01")["active_doses"] == "Azathioprine 100 mg/day"


def test_days_since_change_counts_immunosuppressants_and_interacting_drugs():
    doses = [
        dose("P1", "azathioprine", "2024-01-01", amount=100),
        dose("P1", "prednisolone", "2024-02-10", amount=5),  # a steroid change is not counted
    ]
    rv = run([lab("P1", "2024-02-15", "wbc", LOW_WBC)], doses)
    assert flag_on(rv, "2024-02-15")["days_since_dose_change"] == 45
    rv = run([lab("P1", "2024-02-15", "wbc", LOW_WBC)], [*doses, dose("P1", "allopurinol", "2024-02-01", amount=100)])
    assert flag_on(rv, "2024-02-15")["days_since_dose_change"] == 14


def test_after_increase_within_twelve_weeks():
    doses = [
        dose("P1", "azathioprine", "2023-01-01", "2024-03-01", amount=50),
        dose("P1", "azathioprine", "2024-03-01", "2024-06-01", amount=100),
        dose("P1", "azathioprine", "2024-06-01", amount=50),  # a decrease
    ]
    labs = [lab("P1", d, "wbc", LOW_WBC) for d in ("2024-05-24", "2024-05-25", "2024-06-15")]
    rv = run(labs, doses)
    assert bool(flag_on(rv, "2024-05-24")["after_increase"])  # 84 days after the increase
    assert not bool(flag_on(rv, "2024-05-25")["after_increase"])  # 85 days
    late = flag_on(rv, "2024-06-15")
    assert not bool(late["after_increase"])
    assert late["days_since_dose_change"] == 14
    assert late["last_increase"] == pd.Timestamp("2024-03-01")


def test_a_start_counts_as_an_increase():
    rv = run(
        [lab("P1", "2024-03-01", "wbc", LOW_WBC)],
        [dose("P1", "mycophenolate mofetil", "2024-01-15", amount=500, frequency="BID")],
    )
    assert bool(flag_on(rv, "2024-03-01")["after_increase"])


def test_days_since_pulse():
    cyc = dose("P1", "cyclophosphamide", "2024-01-01", "2024-03-12", amount=500, frequency="every 2 weeks", route="iv")
    labs = [lab("P1", d, "neutrophils", 1.2) for d in ("2024-01-12", "2024-01-20", "2024-06-01")]
    rv = run(labs, [cyc])
    assert flag_on(rv, "2024-01-12")["days_since_pulse"] == 11
    assert flag_on(rv, "2024-01-20")["days_since_pulse"] == 5  # the pulse of 15 January
    assert pd.isna(flag_on(rv, "2024-06-01")["days_since_pulse"])


# --- join_distinct: the per-group text lists of the dose context and the summary ------------


def test_join_distinct_keeps_first_seen_order_per_group_and_counts_repeats():
    group = np.array([2, 0, 2, 2, 0, 2])
    text = np.array(["MTX 15 mg", "AZA 100 mg", "HCQ 200 mg", "MTX 15 mg", "AZA 100 mg", "MTX 15 mg"], dtype=object)
    out = join_distinct(group, text, 4, "; ", count_repeats=True)
    # group 0: one text on two rows; group 1 and 3: no rows; group 2: MTX (3 rows) first, then HCQ
    assert list(out) == [
        "AZA 100 mg (2 overlapping records)",
        "",
        "MTX 15 mg (3 overlapping records); HCQ 200 mg",
        "",
    ]
    plain = join_distinct(group, text, 4, ";")
    assert list(plain) == ["AZA 100 mg", "", "MTX 15 mg;HCQ 200 mg", ""]
    assert list(join_distinct(np.array([], dtype=np.int64), np.array([], dtype=object), 2, ";")) == ["", ""]


def test_a_drug_given_as_rows_in_force_together_names_its_total():
    """Azathioprine 100 mg mane and 75 mg nocte at 60 kg: 175 mg/day in all, 175 / 60 =
    2.92 mg/kg/day, the figure its dose checks judge (H240); methotrexate 15 mg oral and
    10 mg subcutaneous a week: 25 mg/week in all; a pulse is never added to anything."""
    doses = [
        dose("P1", "azathioprine", "2024-01-01", amount=100),
        dose("P1", "azathioprine", "2024-01-01", amount=75),
        dose("P1", "methotrexate", "2024-01-01", amount=15, frequency="weekly"),
        dose("P1", "methotrexate", "2024-01-01", amount=10, frequency="weekly", route="sc"),
        dose("P1", "cyclophosphamide", "2024-01-01", amount=500, frequency="every 2 weeks", route="iv"),
        dose("P1", "cyclophosphamide", "2024-01-01", amount=50),
    ]
    rv = run([lab("P1", "2024-02-01", "wbc", LOW_WBC)], doses, [patient("P1", weight=60)])
    text = flag_on(rv, "2024-02-01")["active_doses"]
    assert "Azathioprine 175 mg/day in all (2.92 mg/kg/day)" in text
    assert "Methotrexate 25 mg/week in all" in text
    totals = [p.strip() for p in text.split(";") if "in all" in p]
    assert totals == ["Azathioprine 175 mg/day in all (2.92 mg/kg/day)", "Methotrexate 25 mg/week in all"]
