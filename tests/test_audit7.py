"""Audit 7 of the day's diff (creatinine clearance, same-day occasions, baseline ranges,
frequency rejections): behaviour found while reading it.

Expected values worked out by hand before running the code:

* trend.baseline_fall (rules.toml: more than 30% below the median of the last 3 draws
  before treatment): WBC 8.0 on three days before azathioprine, then "<2.0" after it.
  The baseline is 8.0; the result is at most 2.0, a fall of at least 75%.  The result is
  a bound and must be shown as one ("<2"), never as the value 2.
* The Patient page's baseline table (``views.pretreatment_baseline_table``): WBC 8.0
  (1 Oct 2023), 6.0 at 09:00 and 7.5 at 15:00 (1 Nov 2023), 7.0 (1 Dec 2023), then
  azathioprine from 1 Jan 2024.  Three days, one of them two different results: the
  median of (8.0, 6.0..7.5, 7.0) lies between 7.0 and 7.5.  No result is censored.  The
  fall rule uses the lower end as a bound (H431: 4.5 later is at least 35.7% below it and
  fires), so the table must neither say "censored both ways" nor that the rule is silent.
* "every 1/12" is every month (British shorthand: 1/12 = one month), i.e. monthly, as
  "1-monthly" is read; it is not "a schedule in months other than monthly".
"""

from __future__ import annotations

import datetime as dt

from dashboard.ingest.sig import unreadable_frequency
from dashboard.rules.engine import default_profile
from dashboard.rules.review import review
from dashboard.views import pretreatment_baseline_table
from tests.rules.builders import dose, frame, lab, patient

AS_OF = dt.date(2024, 6, 1)
AZA = [dose("P1", "azathioprine", "2024-01-01", amount=100)]


def _flags(labs):
    rv = review(frame("labs", labs), frame("doses", AZA), frame("patients", [patient("P1")]), None, None, AS_OF)
    return rv.flags_df()


def test_baseline_fall_shows_a_censored_result_as_a_bound():
    labs = [lab("P1", d, "wbc", 8.0) for d in ("2023-10-01", "2023-11-01", "2023-12-01")]
    labs.append(lab("P1", "2024-03-01", "wbc", 2.0, comparator="<"))
    f = _flags(labs)
    msg = f.loc[f["rule"] == "trend.baseline_fall", "message"]
    assert len(msg) == 1
    assert msg.iloc[0].startswith("WBC <2 ×10⁹/L "), msg.iloc[0]


SAME_DAY_RANGE = [
    lab("P1", "2023-10-01", "wbc", 8.0),
    lab("P1", "2023-11-01 09:00", "wbc", 6.0),
    lab("P1", "2023-11-01 15:00", "wbc", 7.5),
    lab("P1", "2023-12-01", "wbc", 7.0),
]


def test_the_fall_rule_fires_on_the_lower_end_of_a_same_day_range():
    # the precondition of the next test: 4.5 is (7.0 - 4.5) / 7.0 = 35.7% below 7.0
    f = _flags([*SAME_DAY_RANGE, lab("P1", "2024-03-01", "wbc", 4.5)])
    assert "trend.baseline_fall" in set(f["rule"])


def test_the_baseline_table_does_not_call_a_same_day_range_censored():
    t = pretreatment_baseline_table(
        frame("labs", SAME_DAY_RANGE),
        frame("doses", AZA),
        frame("patients", [patient("P1")]),
        frame("baselines", []),
        AS_OF,
        default_profile(),
        "P1",
    )
    row = t[(t["Analyte"] == "WBC") & t["Used by"].str.contains("trend.baseline_fall", regex=False)].iloc[0]
    assert "censored" not in row["Rests on"], row["Rests on"]
    assert "silent" not in row["Rests on"], row["Rests on"]


def test_every_1_12_is_not_called_a_schedule_other_than_monthly():
    assert "other than monthly" not in unreadable_frequency("every 1/12")
