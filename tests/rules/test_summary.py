"""Per-patient summary: current grades, open flags, urgency order; flag intervals."""

from __future__ import annotations

import pandas as pd

from tests.rules.builders import dose, lab, patient, run, series


def by_patient(review) -> pd.DataFrame:
    return review.summary_df().set_index("patient_id")


def test_current_grade_is_the_latest_result_not_the_worst_ever():
    rows = series("P1", "neutrophils", [("2024-01-01", 0.4), ("2024-02-01", 1.2), ("2024-03-01", 3.0)])
    rv = run(rows)
    s = by_patient(rv).loc["P1"]
    assert s["ctcae_neutrophils"] == 0
    assert pd.isna(s["ctcae_platelets"])  # no platelet result
    f = rv.flags_df()
    assert set(f["status"]) == {"closed"}  # the flags were on earlier results
    assert f.loc[f["rule"] == "ctcae.neutrophils", "ctcae_grade"].tolist() == [4, 2]


def test_results_after_the_review_date_are_ignored():
    rows = series("P1", "neutrophils", [("2024-01-01", 3.0), ("2024-06-01", 0.4)])
    assert by_patient(run(rows, as_of="2024-05-31")).loc["P1", "ctcae_neutrophils"] == 0
    assert by_patient(run(rows, as_of="2024-06-01")).loc["P1", "ctcae_neutrophils"] == 4


def test_open_flags_counted_by_kind():
    rows = [lab("P1", "2024-03-01", "wbc", 2.5), lab("P1", "2024-03-01", "mcv", 107)]
    s = by_patient(run(rows)).loc["P1"]
    assert (s["open_ctcae"], s["open_guideline"], s["open_trend"]) == (1, 2, 0)
    assert s["open_guideline_rules"] == "bsr.mcv_high; bsr.wbc_low"
    assert s["flags_total"] == 3


def test_urgency_order():
    rows = [
        lab("URGENT", "2024-03-01", "neutrophils", 0.8),  # grade 3: urgent
        lab("ACTION", "2024-03-01", "wbc", 3.4),  # BSR limit: action
        lab("CAUTION", "2024-03-01", "mcv", 106),  # check B12/folate: caution
        lab("WELL", "2024-03-01", "wbc", 6.0),
        lab("ALSO_WELL", "2024-03-01", "wbc", 6.5),
    ]
    s = run(rows).summary_df()
    assert s["patient_id"].tolist() == ["URGENT", "ACTION", "CAUTION", "ALSO_WELL", "WELL"]
    assert s["urgency_rank"].tolist() == [1, 2, 3, 4, 5]
    assert s["urgency"].tolist() == ["urgent", "action", "caution", "", ""]
    top = s.iloc[0]
    # 100 x urgent (4) + 10 x grade 3 + 3 open items (CTCAE, BSR limit, ... )
    assert top["urgency_score"] == 400 + 30 + 2
    assert top["headline"].startswith("Neutrophil count decreased, CTCAE grade 3")


def test_overdue_and_dose_checks_raise_urgency():
    doses = [dose("LATE", "methotrexate", "2023-01-01", amount=15, frequency="weekly")]
    doses += [dose("DAILY", "methotrexate", "2023-01-01", amount=10, frequency="daily")]
    rows = [lab("LATE", "2024-01-01", "wbc", 6.0), lab("DAILY", "2024-06-01", "wbc", 6.0)]
    pts = [patient("LATE", weight=70), patient("DAILY", weight=70)]
    old = "BSR 2017 / NICE"  # pins the 2017 schedule (an FBC is the check)
    assert by_patient(run(rows, doses, pts, as_of="2024-06-10", profile=old)).loc["LATE", "urgency"] == "caution"
    s = by_patient(run(rows, doses, pts, as_of="2024-06-20", profile=old))
    assert s.loc["DAILY", "urgency"] == "urgent"
    assert s.loc["DAILY", "dose_check_rules"] == "dose.mtx_not_weekly"
    assert s.loc["LATE", "urgency"] == "action"  # overdue by more than the interval
    assert bool(s.loc["LATE", "overdue"]) and s.loc["LATE", "days_overdue"] == 87  # due 2024-03-25
    assert s.loc["LATE", "current_doses"] == "Methotrexate 15 mg/week"


def test_intervals_merge_consecutive_flagged_results():
    rows = series(
        "P1",
        "wbc",
        [("2024-01-01", 3.2), ("2024-02-01", 3.1), ("2024-03-01", 5.0), ("2024-04-01", 3.3)],
    )
    iv = run(rows).intervals_df()
    bsr = iv[iv["rule"] == "bsr.wbc_low"].reset_index(drop=True)
    assert bsr["start"].tolist() == [pd.Timestamp("2024-01-01"), pd.Timestamp("2024-04-01")]
    assert bsr["end"].iloc[0] == pd.Timestamp("2024-03-01")  # the first result that did not fire
    assert pd.isna(bsr["end"].iloc[1])
    assert bsr["results"].tolist() == [2, 1]
    assert bsr["status"].tolist() == ["closed", "open"]


def test_for_patient_restricts_every_table():
    rows = [lab("P1", "2024-03-01", "wbc", 2.5), lab("P2", "2024-03-01", "wbc", 2.5)]
    one = run(rows).for_patient("P2")
    assert set(one.flags_df()["patient_id"]) == {"P2"}
    assert one.summary_df()["patient_id"].tolist() == ["P2"]


def test_pandas_dtypes_of_the_tables():
    rv = run([lab("P1", "2024-03-01", "wbc", 2.5)], [dose("P1", "azathioprine", "2024-01-01", amount=100)])
    f = rv.flags_df()
    assert str(f["collected_at"].dtype) == "datetime64[s]"
    assert str(f["ctcae_grade"].dtype) == "Int8"
    assert str(f["days_since_dose_change"].dtype) == "Int64"
    assert f["rule"].dtype == "str"
    s = rv.summary_df()
    assert str(s["next_test_due"].dtype) == "datetime64[s]"


# --------------------------------------------------------------------------- next test due (merge bug)
# Leflunomide from 2024-01-01 under BSR 2025: one complete check (FBC, creatinine/eGFR,
# ALT, albumin) on 2024-07-19, day 200 of the course, past the initial phases (day 133): next in
# 84 days = 2024-10-11.  No blood pressure ever: its item is due 2024-01-15 (start + 14 d)
# and graded info.  The summary's next test due and days overdue come from the blood-test
# row, never from the blood-pressure row (the merge showed "2022-08-13 OVERDUE 3d").
LEF = [dose("P1", "leflunomide", "2024-01-01", amount=20)]
CHECK = [
    lab("P1", "2024-07-19", a, v)
    for a, v in (("wbc", 6.0), ("creatinine", 70.0), ("egfr", 90.0), ("alt", 20), ("albumin", 40.0))
]


def test_next_test_due_comes_from_the_blood_tests_not_the_blood_pressure_item():
    rv = run(CHECK, LEF, as_of="2024-10-14")
    s = by_patient(rv).loc["P1"]
    assert s["next_test_due"] == pd.Timestamp("2024-10-11")
    assert bool(s["overdue"]) and s["days_overdue"] == 3  # 11 -> 14 October
    sched = rv.schedule_df().set_index("schedule")
    assert sched.loc["bp_leflunomide", "next_due"] == pd.Timestamp("2024-01-15")  # still listed on its own
    assert sched.loc["bp_leflunomide", "severity"] == "info"


def test_a_blood_pressure_item_alone_overdue_leaves_the_blood_tests_date():
    s = by_patient(run(CHECK, LEF, as_of="2024-10-01")).loc["P1"]
    assert s["next_test_due"] == pd.Timestamp("2024-10-11")
    assert not bool(s["overdue"]) and s["days_overdue"] == 0


def test_text_and_json_review_show_the_same_row():
    from dashboard.rules.output import patients_json, review_text

    rv = run(CHECK, LEF, as_of="2024-10-14")
    assert "2024-10-11 OVERDUE 3d" in review_text(rv)
    p = patients_json(rv)[0]
    assert (p["next_test_due"], p["overdue"], p["days_overdue"]) == ("2024-10-11", True, 3)


def test_an_overdue_nadir_test_counts_from_the_end_of_its_window():
    """A single IV pulse on 2024-03-01: the nadir count is due on days 8-14, 9 to 15 March.
    As of 18 March with no count it is 3 days overdue, counted from 15 March: the summary
    says 2024-03-15, so that date and the 3 days agree; the row names the whole window."""
    cyc = [dose("P1", "cyclophosphamide", "2024-03-01", amount=500, frequency="single", route="iv")]
    rv = run([], cyc, as_of="2024-03-18")
    s = by_patient(rv).loc["P1"]
    assert s["next_test_due"] == pd.Timestamp("2024-03-15")
    assert bool(s["overdue"]) and s["days_overdue"] == 3
    row = rv.schedule_df().iloc[0]
    assert row["next_due"] == pd.Timestamp("2024-03-09") and row["due_by"] == pd.Timestamp("2024-03-15")
    assert "due 2024-03-09 to 2024-03-15" in row["message"]


def test_the_most_overdue_drug_gives_the_date():
    """Azathioprine and methotrexate (BSR 2017 profile, an FBC is the check), both started
    2023-01-01 and past the initial phases, one FBC on 2024-01-01: both due 2024-03-25
    (84 days); the methotrexate course restarted on 2024-05-01 is due 14 days after its
    start, 2024-05-15.  As of 2024-06-10: azathioprine 77 days overdue, methotrexate 26:
    the summary shows 2024-03-25 and 77 days."""
    doses = [
        dose("P1", "azathioprine", "2023-01-01", amount=100),
        dose("P1", "methotrexate", "2023-01-01", "2024-04-01", amount=15, frequency="weekly"),
        dose("P1", "methotrexate", "2024-05-01", amount=15, frequency="weekly"),
    ]
    s = by_patient(run([lab("P1", "2024-01-01", "wbc", 6.0)], doses, as_of="2024-06-10", profile="BSR 2017 / NICE"))
    assert s.loc["P1", "next_test_due"] == pd.Timestamp("2024-03-25")
    assert s.loc["P1", "days_overdue"] == 77


def test_recorded_drugs_are_those_in_force_or_within_their_window_after_the_last_dose():
    """As of 2024-12-31 (rules.toml [recorded_after_last_dose]: 42 days by default,
    rituximab 183, leflunomide 730): methotrexate in force; azathioprine ended 2024-12-01
    (30 days before, within 42); mycophenolate mofetil ended 2024-11-01 (60 days before,
    outside 42); leflunomide ended 2024-01-01 (365 days before, within 730); rituximab last
    given 2024-08-01 (152 days before, within 183); prednisolone (a glucocorticoid, not
    monitored) ended 2024-12-20: not recorded once ended.  P2 has no dose at all."""
    labs = [lab("P1", "2024-12-01", "wbc", 6.0), lab("P2", "2024-12-01", "wbc", 6.0)]
    doses = [
        dose("P1", "methotrexate", "2024-01-01", amount=15, frequency="weekly"),
        dose("P1", "azathioprine", "2024-06-01", "2024-12-01", amount=100),
        dose("P1", "mycophenolate mofetil", "2024-03-01", "2024-11-01", amount=1000, frequency="BID"),
        dose("P1", "leflunomide", "2023-03-01", "2024-01-01", amount=20),
        dose("P1", "rituximab", "2024-08-01", "2024-08-02", amount=1000, frequency="once", route="IV"),
        dose("P1", "prednisolone", "2024-11-01", "2024-12-20", amount=10),
    ]
    s = by_patient(run(labs, doses, [patient("P1"), patient("P2")]))
    assert sorted(s.loc["P1", "recorded_drugs"].split(";")) == [
        "azathioprine",
        "leflunomide",
        "methotrexate",
        "rituximab",
    ]
    assert s.loc["P2", "recorded_drugs"] == ""
