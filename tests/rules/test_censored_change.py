"""A change worked out from a censored result is a bound on the change, and says so.

Expected values worked out by hand before running the code:

* trend.baseline_fall (rules.toml: more than 30% below the median of the last 3 draws
  before treatment).  WBC 8.0 on three days before azathioprine (from 1 Jan 2024):
  the baseline is 8.0.
  - "<2.0" after it: the level is at most 2.0, so the fall is at least (8 - 2) / 8 = 75%:
    "is at least 75% below", never "is 75% below" (a bound written as a value).
  - ">2.0" after it: the level is at least 2.0 and may be 8.0 itself: no fall is proven
    and the rule must stay silent.
* label.voclosporin_egfr_fall (the Lupkynis label: eGFR < 60 and reduced by >= 30% from
  baseline).  eGFR 80 before voclosporin (from 1 Jan 2024), then "<50": the level is at
  most 50, below 60, and at least (80 - 50) / 80 = 37.5% below 80: "is at least 37.5%
  below".
* bsr.creatinine_rise (the BSR limit: a rise of more than 30% over the baseline).
  Creatinine 80 µmol/L on three days before methotrexate, then ">150": the level is at
  least 150, so the rise is at least (150 - 80) / 80 = 87.5%: "is at least 87.5% above".
  An exact 150 reads "is 87.5% above" (no "at least").
"""

from __future__ import annotations

import datetime as dt

from dashboard.rules.review import review
from tests.rules.builders import dose, frame, lab, patient

AS_OF = dt.date(2024, 6, 1)
BEFORE = ("2023-10-01", "2023-11-01", "2023-12-01")


def _messages(labs, doses, rule):
    rv = review(frame("labs", labs), frame("doses", doses), frame("patients", [patient("P1")]), None, None, AS_OF)
    f = rv.flags_df()
    return list(f.loc[f["rule"] == rule, "message"])


AZA = [dose("P1", "azathioprine", "2024-01-01", amount=100)]
WBC_BEFORE = [lab("P1", d, "wbc", 8.0) for d in BEFORE]


def test_a_fall_to_an_upper_bound_is_at_least_the_change():
    msgs = _messages([*WBC_BEFORE, lab("P1", "2024-03-01", "wbc", 2.0, comparator="<")], AZA, "trend.baseline_fall")
    assert len(msgs) == 1
    assert "WBC <2 ×10⁹/L is at least 75% below" in msgs[0], msgs[0]


def test_a_lower_bound_result_never_proves_a_fall():
    msgs = _messages([*WBC_BEFORE, lab("P1", "2024-03-01", "wbc", 2.0, comparator=">")], AZA, "trend.baseline_fall")
    assert msgs == []


def test_an_exact_fall_is_not_called_at_least():
    msgs = _messages([*WBC_BEFORE, lab("P1", "2024-03-01", "wbc", 2.0)], AZA, "trend.baseline_fall")
    assert len(msgs) == 1
    assert "WBC 2 ×10⁹/L is 75% below" in msgs[0], msgs[0]


def test_a_label_fall_to_an_upper_bound_is_at_least_the_change():
    labs = [lab("P1", "2023-12-01", "egfr", 80.0), lab("P1", "2024-03-01", "egfr", 50.0, comparator="<")]
    doses = [dose("P1", "voclosporin", "2024-01-01", amount=23.7, frequency="BID")]
    msgs = _messages(labs, doses, "label.voclosporin_egfr_fall")
    assert len(msgs) == 1
    assert "is at least 37.5% below" in msgs[0], msgs[0]


MTX = [dose("P1", "methotrexate", "2024-01-01", amount=15, frequency="weekly")]
CR_BEFORE = [lab("P1", d, "creatinine", 80.0) for d in BEFORE]


def test_a_rise_to_a_lower_bound_is_at_least_the_change():
    msgs = _messages(
        [*CR_BEFORE, lab("P1", "2024-03-01", "creatinine", 150.0, comparator=">")], MTX, "bsr.creatinine_rise"
    )
    assert len(msgs) == 1
    assert "is at least 87.5% above 80" in msgs[0], msgs[0]


def test_an_exact_rise_is_not_called_at_least():
    msgs = _messages([*CR_BEFORE, lab("P1", "2024-03-01", "creatinine", 150.0)], MTX, "bsr.creatinine_rise")
    assert len(msgs) == 1
    assert "is 87.5% above 80" in msgs[0], msgs[0]
