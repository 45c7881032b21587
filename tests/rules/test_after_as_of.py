"""Nothing reviewed out of sight (issue 15 item 2): results dated after the as-of date
are counted and listed (with their CTCAE grade) in the review, its text and its JSON;
when every result lies after today the as-of date defaults to the last result date and
the review says so.

Hand grading: neutrophils 0.3 < 0.5 -> CTCAE v5.0 grade 4.
"""

from __future__ import annotations

import datetime as dt
import json

import pandas as pd

from dashboard.rules.as_of import default_as_of
from dashboard.rules.output import review_json, review_text
from tests.rules.builders import lab, run, series

AS_OF = "2024-06-30"


def panel():
    rows = series("P01", "neutrophils", [("2024-05-01", 3.1), ("2024-06-01", 3.0)])
    rows += series("P98", "neutrophils", [("2024-05-20", 2.9)])
    rows += [lab("P98", "2024-07-02 08:15", "neutrophils", 0.3)]  # two days after the as-of date
    rows += [lab("P99", "2024-06-30 23:59", "wbc", 5.0)]  # on the as-of date: reviewed
    return rows


def test_results_after_the_as_of_date_are_counted_and_listed_with_their_grade():
    rv = run(panel(), as_of=AS_OF)
    after = rv.after_as_of_df()
    assert after["patient_id"].tolist() == ["P98"]
    row = after.iloc[0]
    assert row["collected_at"] == pd.Timestamp("2024-07-02 08:15")
    assert row["analyte"] == "neutrophils" and row["value"] == 0.3
    assert row["ctcae_grade"] == 4
    assert rv.header()["results_after_as_of"] == 1
    s = rv.summary_df().set_index("patient_id")
    assert s.loc["P98", "results_after_as_of"] == 1
    assert s.loc["P98", "worst_grade_after_as_of"] == 4
    assert s.loc["P01", "results_after_as_of"] == 0
    # the review itself stays as of its date: the 0.3 is not an open flag
    assert s.loc["P98", "last_result"] == pd.Timestamp("2024-05-20")
    assert rv.open_flags_df().empty or (rv.open_flags_df()["value"] != 0.3).all()


def test_a_result_on_the_as_of_date_is_reviewed():
    rv = run(panel(), as_of=AS_OF)
    assert "P99" not in set(rv.after_as_of_df()["patient_id"])
    assert rv.summary_df().set_index("patient_id").loc["P99", "last_result"] == pd.Timestamp("2024-06-30 23:59")


def test_the_text_review_names_them_first():
    text = review_text(run(panel(), as_of=AS_OF))
    head = text.split("Rank")[0]
    assert "1 result dated after the as-of date 2024-06-30 is not reviewed" in head
    assert "P98" in head and "Neutrophils 0.3" in head and "CTCAE grade 4" in head
    assert "2024-07-02" in head


def test_the_json_review_lists_them():
    doc = json.loads(review_json(run(panel(), as_of=AS_OF)))
    assert doc["review"]["results_after_as_of"] == 1
    p98 = next(p for p in doc["patients"] if p["patient_id"] == "P98")
    assert p98["results_after_as_of"] == 1
    assert p98["after_as_of"] == [
        {
            "collected_at": "2024-07-02T08:15:00",
            "analyte": "neutrophils",
            "value": 0.3,
            "unit": "10^9/L",
            "comparator": "",
            "source_value": "0.3",
            "source_unit": "10^9/L",
            "ctcae_grade": 4,
            "ctcae_grade_or_worse": False,  # an exact 0.3: grade 4 (< 0.5), nothing worse
        }
    ]
    p01 = next(p for p in doc["patients"] if p["patient_id"] == "P01")
    assert p01["after_as_of"] == [] and p01["results_after_as_of"] == 0


def test_nothing_after_says_nothing():
    rv = run(panel()[:3], as_of=AS_OF)
    assert rv.after_as_of_df().empty
    assert "after the as-of date" not in review_text(rv)


# --------------------------------------------------------------------------- the default as-of date

TODAY = dt.date(2026, 11, 25)


def test_default_is_today_when_results_lie_before_it():
    a = default_as_of(dt.date(2026, 1, 5), dt.date(2026, 11, 20), TODAY)
    assert a.date == TODAY and a.note == ""


def test_default_is_today_when_only_some_results_lie_after_it():
    a = default_as_of(dt.date(2026, 1, 5), dt.date(2026, 12, 20), TODAY)
    assert a.date == TODAY and a.note == ""


def test_shifted_research_dates_default_to_the_last_result():
    a = default_as_of(dt.date(2144, 7, 1), dt.date(2144, 9, 14), TODAY)
    assert a.date == dt.date(2144, 9, 14)
    assert "2144-09-14" in a.note and "last result" in a.note and "after today" in a.note


def test_an_extract_date_wins_and_is_said():
    a = default_as_of(dt.date(2022, 1, 5), dt.date(2026, 11, 13), TODAY, extract_date=dt.date(2026, 11, 16))
    assert a.date == dt.date(2026, 11, 16) and "extract date" in a.note


def test_no_results_default_to_today():
    assert default_as_of(None, None, TODAY).date == TODAY
