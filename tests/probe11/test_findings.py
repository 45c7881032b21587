"""Probe 11: baselines and trend rules, pinned as strict xfails until fixed.

House rule: a patient's own result is never its own baseline; a baseline comes from
before the drug, or from the clinician.  Each expectation below is derived by hand from
the source named in its docstring, never from the code's output.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd

from tests.rules.builders import baseline, day, dose, lab, run, series

MTX = {"amount": 15, "frequency": "weekly"}


def _flags(rv, rule: str) -> pd.DataFrame:
    f = rv.flags_df()
    return f[f["rule"] == rule].reset_index(drop=True)


# --------------------------------------------------------------------------- F5 censored baseline


def test_a_baseline_resting_on_censored_results_says_it_is_a_bound():
    # three pre-treatment neutrophil counts reported ">10": the baseline is only known to be
    # above 10, so "35% below the baseline 10" is a lower bound of the fall, never a value.
    pre = [lab("P", d, "neutrophils", 10, comparator=">") for d in ("2023-10-01", "2023-11-01", "2023-12-01")]
    rv = run([*pre, lab("P", "2024-05-01", "neutrophils", 6.5)], [dose("P", "azathioprine", "2024-01-01", amount=100)])
    f = _flags(rv, "trend.baseline_fall")
    assert len(f) == 1
    text = f["message"].iloc[0] + " " + f["baseline_basis"].iloc[0]
    assert ">10" in text or "bound" in text or "censored" in text


# --------------------------------------------------------------------------- F6 a CNI added to methotrexate


def test_ciclosporin_added_to_methotrexate_is_judged_on_the_creatinine_before_ciclosporin():
    # ciclosporin.toml usual_dose (US Neoral label as reproduced): "reduce by 25-50% if creatinine
    # rises 30% or more above the pre-treatment level".  Before methotrexate (2019) 90 umol/L;
    # on methotrexate, just before ciclosporin, 65; on ciclosporin 88 = 35.4% above 65.
    labs = series("P", "creatinine", [("2019-12-01", 90), ("2023-12-15", 65), ("2024-05-01", 88)])
    doses = [dose("P", "methotrexate", "2020-01-01", **MTX), dose("P", "ciclosporin", "2024-01-01", amount=200)]
    rv = run(labs, doses, as_of="2024-05-10")
    f = rv.flags_df()
    on_cic = f[(f["collected_at"] == pd.Timestamp("2024-05-01")) & (f["analyte"] == "creatinine")]
    assert not on_cic.empty, "a 35% creatinine rise on ciclosporin above its pre-treatment level raised no flag"


# --------------------------------------------------------------------------- F7 voclosporin eGFR fall


def test_voclosporin_egfr_fall_of_30_percent_from_baseline_gives_the_label_action():
    # baseline eGFR 90 before voclosporin; 58 on it: 58 < 60 and (90 - 58) / 90 = 35.6% >= 30%
    labs = series("P", "egfr", [("2023-12-01", 90), ("2024-01-20", 80), ("2024-02-15", 58)])
    rv = run(labs, [dose("P", "voclosporin", "2024-01-01", amount=23.7, frequency="BID")], as_of="2024-02-20")
    f = rv.flags_df()
    f = f[f["collected_at"] == pd.Timestamp("2024-02-15")]
    assert not f.empty  # eGFR 58 < 60 fires bsr.egfr_low at least
    text = " ".join(f["message"]) + " " + " ".join(f["source"])
    assert "voclosporin" in text.lower() or "lupkynis" in text.lower()
    assert "discontinue" in text.lower() or "stop" in text.lower()


# --------------------------------------------------------------------------- F8 clinician baseline and as-of


def test_a_clinician_baseline_is_a_fact_about_the_patient_in_force_whenever_it_was_recorded():
    """probe11 F8, decided: a clinician-set baseline says what the patient's normal is (a
    Duffy-null neutrophil count is constitutional, as true in 2024 as when it was recorded
    in 2026), so it holds for a review as of any date; a monitoring interval is a decision
    about the tests to come and holds from when it was set (inputs.prepare).  Neutrophils
    0.9 < 1.6 within a baseline of 1.0 is shown as at the patient's baseline."""
    b = baseline("P", "neutrophils", 1.0, "Duffy-null") | {"set_at": day("2026-06-01")}
    rv = run(
        series("P", "neutrophils", [("2024-05-01", 0.9)]),
        [dose("P", "azathioprine", "2024-01-01", amount=100)],
        baselines=[b],
    )
    f = _flags(rv, "bsr.neutrophils_low")
    assert f["at_baseline"].all()


# --------------------------------------------------------------------------- F4 the Patient page


def test_the_patient_page_shows_the_pre_treatment_baseline_the_rules_use():
    from dashboard.dataset import Dataset
    from tests.rules.builders import frame, patient
    from tests.support import page_with

    labs = series("P1", "neutrophils", [("2023-10-01", 5.0), ("2023-11-01", 5.0), ("2023-12-01", 5.0)])
    labs += [lab("P1", "2024-05-01", "neutrophils", 3.4)]
    ds = Dataset(
        frame("labs", labs),
        frame("doses", [dose("P1", "azathioprine", "2024-01-01", amount=100)]),
        frame("patients", [patient("P1")]),
        label="probe11",
    )
    at = page_with(ds, dt.date(2024, 6, 1))
    assert not at.exception
    tab = next(t for t in at.tabs if t.label == "Baseline")
    shown = " ".join(str(m.value) for m in tab.markdown) + " ".join(d.value.to_string() for d in tab.dataframe)
    # the median of the three pre-treatment counts, 5.0, drawn 2023-10-01 to 2023-12-01
    assert "2023-10-01" in shown and "2023-12-01" in shown


# --------------------------------------------------------------------------- F1 old results in the baseline


def test_an_old_abnormal_alt_does_not_hide_a_grade_3_rise_on_treatment():
    # ctcae.toml: CTCAE compares with "the value before treatment ... the trial convention of the
    # last assessment before the first dose".  Last ALT before azathioprine (2024-01-01): 30 <= ULN
    # 40, a normal baseline, so the ULN grades apply: 250 > 5 x 40 = 200 and <= 20 x 40: grade 3.
    pre = [
        lab("P", d, "alt", v, ref_high=40) for d, v in (("2015-01-01", 200), ("2016-01-01", 210), ("2023-12-01", 30))
    ]
    rv = run(
        [*pre, lab("P", "2024-03-01", "alt", 250, ref_high=40)], [dose("P", "azathioprine", "2024-01-01", amount=100)]
    )
    f = _flags(rv, "ctcae.alt")
    on = f[f["collected_at"] == pd.Timestamp("2024-03-01")]
    assert on["ctcae_grade"].tolist() == [3]


def test_old_high_creatinines_do_not_hide_a_rise_above_the_level_before_the_drug():
    # SPS: creatinine more than 30% above baseline (the pre-treatment level): 100 is 42.9% above 70,
    # the result taken just before methotrexate: repeat in 1 week.
    labs = series(
        "P", "creatinine", [("2015-01-01", 150), ("2016-01-01", 160), ("2023-12-01", 70), ("2024-03-01", 100)]
    )
    rv = run(labs, [dose("P", "methotrexate", "2024-01-01", **MTX)])
    assert _flags(rv, "bsr.creatinine_rise")["collected_at"].tolist() == [pd.Timestamp("2024-03-01")]
