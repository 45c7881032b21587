"""Baselines (issue 15 item 1): only from results strictly before the first monitored
drug started, or from the clinician; never the patient's own result.

Expected grades are read off the CTCAE v5.0 table by hand: "Alanine aminotransferase
increased": grade 1 > ULN - 3.0 x ULN if baseline was normal, 1.5 - 3.0 x baseline if
abnormal; grade 2 > 3.0 - 5.0 x; grade 3 > 5.0 - 20.0 x; grade 4 > 20.0 x.
"""

from __future__ import annotations

import datetime as dt
import math

import pytest

from dashboard import model
from dashboard.rules import baselines, ctcae
from dashboard.rules.data import rules_file
from dashboard.rules.engine import default_profile, get_profile
from dashboard.rules.inputs import prepare
from tests.rules.builders import dose, frame, lab, run, series

AS_OF = dt.date(2024, 12, 31)


def grades_of(labs, doses=(), baselines_rows=()) -> list[int]:
    inp = prepare(
        frame("labs", list(labs)), frame("doses", list(doses)), None, frame("baselines", list(baselines_rows)), AS_OF
    )
    g = ctcae.grade_all(inp, baselines.compute(inp))
    order = inp.labs.row.argsort()
    return g.grade[order].tolist()


def test_alt_801_without_a_drug_is_grade_4_even_when_a_dose_file_is_loaded():
    # ULN 40: 801 > 20 x 40 = 800 -> grade 4.  The dose file names another patient only.
    labs = [lab("HCQ1", "2024-05-01", "alt", 801, ref_high=40)]
    other = [dose("AZA1", "azathioprine", "2024-01-01", amount=100)]
    hcq = [dose("HCQ1", "hydroxychloroquine", "2024-01-01", amount=200)]
    assert grades_of(labs) == [4]
    assert grades_of(labs, other) == [4]
    assert grades_of(labs, other + hcq) == [4]


def test_alt_801_is_an_urgent_flag_under_ctcae_only_with_a_dose_file():
    labs = [lab("HCQ1", "2024-05-01", "alt", 801, ref_high=40)]
    doses = [dose("AZA1", "azathioprine", "2024-01-01", amount=100), dose("HCQ1", "hydroxychloroquine", "2024-01-01")]
    f = run(labs, doses, profile=get_profile("CTCAE only")).flags_df()
    assert f["rule"].tolist() == ["ctcae.alt"]
    assert f["ctcae_grade"].tolist() == [4]
    assert f["severity"].tolist() == ["urgent"]


def test_a_pre_treatment_result_is_graded_against_the_uln_not_against_itself():
    # 130 > 3 x 40 = 120 -> grade 2; 70 -> grade 1 (> ULN, <= 3 x ULN)
    labs = [lab("P1", "2024-01-10", "alt", 130, ref_high=40), lab("P1", "2024-01-20", "alt", 70, ref_high=40)]
    assert grades_of(labs, [dose("P1", "azathioprine", "2024-02-01", amount=100)]) == [2, 1]


def test_treatment_results_are_graded_on_an_abnormal_pre_treatment_baseline():
    # baseline = median(60, 70, 80) = 70 > ULN 40: grade 1 from 1.5 x 70 = 105 (inclusive),
    # grade 2 above 3 x 70 = 210, grade 3 above 5 x 70 = 350
    pre = [lab("P1", d, "alt", v, ref_high=40) for d, v in (("2024-01-05", 60), ("2024-01-12", 80), ("2024-01-19", 70))]
    on = [
        lab("P1", d, "alt", v, ref_high=40)
        for d, v in (("2024-03-01", 104), ("2024-03-08", 105), ("2024-03-15", 211), ("2024-03-22", 351))
    ]
    got = grades_of(pre + on, [dose("P1", "azathioprine", "2024-02-01", amount=100)])
    assert got[3:] == [0, 1, 2, 3]
    assert got[:3] == [1, 1, 1]  # each pre-treatment result against the ULN


def test_without_a_pre_treatment_result_treatment_results_use_the_uln():
    # the drug started before the first result: 130 > 120 -> grade 2 (no baseline)
    labs = [lab("P1", "2024-03-01", "alt", 130, ref_high=40), lab("P1", "2024-04-01", "alt", 130, ref_high=40)]
    assert grades_of(labs, [dose("P1", "azathioprine", "2024-01-01", amount=100)]) == [2, 2]


def test_a_result_on_the_start_day_is_not_pre_treatment():
    labs = [lab("P1", "2024-02-01", "alt", 130, ref_high=40), lab("P1", "2024-03-01", "alt", 201, ref_high=40)]
    # only a result strictly before the start is a baseline: none here, 201 > 5 x 40 -> grade 3
    assert grades_of(labs, [dose("P1", "azathioprine", "2024-02-01", amount=100)]) == [2, 3]


def test_loading_a_dose_file_never_changes_the_grades_of_a_patient_without_a_drug_in_it():
    labs = series("P2", "alt", [("2024-01-01", 300), ("2024-02-01", 90), ("2024-03-01", 850)], ref_high=40)
    labs += series("P2", "neutrophils", [("2024-01-01", 0.9), ("2024-02-01", 1.6)])
    others = [
        dose("P1", "azathioprine", "2024-01-15", amount=150),
        dose("P3", "methotrexate", "2023-06-01", frequency="weekly"),
    ]
    base = run(labs).flags_df()
    with_doses = run(labs, others).flags_df()
    cols = ["collected_at", "analyte", "rule", "ctcae_grade", "severity"]
    assert base[cols].equals(with_doses[cols])
    assert base[base["rule"] == "ctcae.alt"]["ctcae_grade"].tolist() == [3, 1, 4]


def test_the_fall_rule_needs_the_minimum_number_of_pre_treatment_results():
    minimum = default_profile().rule("trend.baseline_fall").min_results
    in_file = next(r for r in rules_file()["rule"] if r["id"] == "trend.baseline_fall")
    assert minimum == in_file["min_results"]  # data, not code
    assert minimum >= 2  # a median of one result is not a baseline
    aza = [dose("P1", "azathioprine", "2024-03-01", amount=100)]
    after = [("2024-04-01", 4.0), ("2024-05-01", 4.1)]  # both > 30 % below 7.0
    pre_dates = ["2024-01-05", "2024-01-20", "2024-02-05", "2024-02-20", "2024-02-27"]
    for n in range(1, 6):
        pre = [(d, 7.0) for d in pre_dates[:n]]
        f = run(series("P1", "wbc", pre + after), aza).flags_df()
        fired = f[f["rule"] == "trend.baseline_fall"]
        assert bool(len(fired)) is (n >= minimum), n


def test_the_minimum_counts_draws_not_rows():
    # two different values of one draw are one pre-treatment result
    minimum = default_profile().rule("trend.baseline_fall").min_results
    pre = [("2024-01-05", 7.0)] * 1 + [("2024-01-05", 7.2)] + [(f"2024-02-{d:02d}", 7.0) for d in range(1, minimum - 1)]
    f = run(series("P1", "wbc", [*pre, ("2024-04-01", 4.0)]), [dose("P1", "azathioprine", "2024-03-01", amount=100)])
    assert not (f.flags_df()["rule"] == "trend.baseline_fall").any()


@pytest.mark.parametrize("drug", ["hydroxychloroquine", "prednisolone"])
def test_a_drug_without_blood_monitoring_starts_no_baseline(drug):
    pre = [(d, 8.0) for d in ("2024-01-01", "2024-01-15", "2024-02-01", "2024-02-15")]
    f = run(series("P1", "wbc", [*pre, ("2024-04-01", 4.5)]), [dose("P1", drug, "2024-03-01", amount=200)]).flags_df()
    assert not (f["rule"] == "trend.baseline_fall").any()


def _creatinine_baseline(pre: list[tuple[str, float]], min_results: int) -> float:
    """The pre-treatment creatinine baseline for a result on methotrexate (started 2024-03-01)."""
    labs = [lab("P1", when, "creatinine", v) for when, v in pre] + [lab("P1", "2024-06-01", "creatinine", 100.0)]
    inp = prepare(
        frame("labs", labs), frame("doses", [dose("P1", "methotrexate", "2024-03-01", amount=15)]), None, None, AS_OF
    )
    base = baselines.compute(inp)
    s = inp.labs.slice("creatinine")
    last = s.stop - 1
    a = model.ANALYTES.index("creatinine")
    ref = baselines.for_rows(base, inp.labs.pid[last : last + 1], a, inp.labs.t[last : last + 1], min_results)
    return float(ref.value[0])


def test_a_draw_of_two_results_gives_a_baseline_only_where_it_cannot_move_the_median():
    """H411.  One draw of 60 and 80 (kept, both): the level before treatment lies anywhere
    between them, so a baseline of one draw is not known (NaN).  Of three draws, 50, (52 and
    90) and 51: the median is 51 whether the middle draw is 52 or 90, so it stands."""
    assert math.isnan(_creatinine_baseline([("2024-01-01 09:00", 60.0), ("2024-01-01 09:00", 80.0)], 1))
    three = [("2024-01-01", 50.0), ("2024-01-15", 52.0), ("2024-01-15", 90.0), ("2024-02-01", 51.0)]
    assert _creatinine_baseline(three, 3) == 51.0
    assert _creatinine_baseline([("2024-01-01", 60.0)], 1) == 60.0  # one result: itself


def test_the_draws_of_one_day_are_one_test_holding_their_range():
    """probe24 (H428).  Creatinine 60 at 09:00 and 80 at 15:00 on one day, the last day
    before methotrexate: one test day, its level anywhere from 60 to 80, so a baseline of one
    test is not known (NaN), as for two results of one draw (H411).  The same day at 60 and
    60: one test of 60.  Three tests needed, 50 (1 Jan), 52 and 90 (15 Jan) and 51 (1 Feb):
    three days; the median is 51 whichever of 52 or 90 the middle day is.  And 50 (1 Jan),
    then 52 at 09:00 and 53 at 15:00 (1 Feb): two days, fewer than three: none."""
    assert math.isnan(_creatinine_baseline([("2024-02-01 09:00", 60.0), ("2024-02-01 15:00", 80.0)], 1))
    assert _creatinine_baseline([("2024-02-01 09:00", 60.0), ("2024-02-01 15:00", 60.0)], 1) == 60.0
    three = [("2024-01-01", 50.0), ("2024-01-15 09:00", 52.0), ("2024-01-15 15:00", 90.0), ("2024-02-01", 51.0)]
    assert _creatinine_baseline(three, 3) == 51.0
    two_days = [("2024-01-01", 50.0), ("2024-02-01 09:00", 52.0), ("2024-02-01 15:00", 53.0)]
    assert math.isnan(_creatinine_baseline(two_days, 3))
