"""Probe 23: the kidney and liver rules of the review, read as a rheumatology pharmacist
against their sources, with records pushed through the real import and the review.

Each finding was pinned as a strict xfail; all are fixed: F1-F4 and F6 (H408-H411), F5
(creatinine clearance, H412-H416).  The expected values are worked out by hand
from the source that the rule cites (rules.toml, dose_checks.toml, the Lupkynis and
Neoral labels as rules.toml quotes them, the methotrexate UK SmPC section 4.3, CKD-EPI
2021).  None was copied from the code's output.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd

from tests.support import csv_review

AS_OF = dt.date(2026, 12, 5)
LABS_HEAD = "patient_id,collected_at,analyte,value,unit\n"
DOSES_HEAD = "patient_id,drug,dose,dose_unit,frequency,route,start,end\n"
PATIENTS_HEAD = "patient_id,sex,date_of_birth\n"
MTX = "P1,methotrexate,15,mg,weekly,oral,2026-02-01,\n"


def _review(labs: str, doses: str, patients: str = ""):
    return csv_review(labs, doses, patients, as_of=AS_OF)


def _flags(rv, rule: str, day: str) -> pd.DataFrame:
    f = rv.flags_df()
    return f[(f["rule"] == rule) & (f["collected_at"].dt.strftime("%Y-%m-%d") == day)]


# ------------------------------------------------------------ F1 an upper-bound result read as a rise


def test_an_upper_bound_creatinine_is_not_a_proven_rise():
    """Before methotrexate (2026-02-01) the creatinine is 28 umol/L (drawn 2026-01-01). On
    it, the lab reports '<40'. The BSR/SPS rule: 'more than 30% above baseline', that is
    above 28 x 1.3 = 36.4. '<40' only says the true value is at most 40, so it may be 30
    (7% above) or 39 (39% above). The rise is not proved (rules.toml H211: a bound is used
    only where it proves the finding). So no action-severity bsr.creatinine_rise claims
    '42.86% above 28'. At most a caution says the bound cannot be placed."""
    _, rv = _review("P1,2026-01-01,Creatinine,28,umol/L\nP1,2026-06-01,Creatinine,<40,umol/L\n", MTX)
    hits = _flags(rv, "bsr.creatinine_rise", "2026-06-01")
    assert not (hits["severity"] == "action").any()


def test_an_upper_bound_creatinine_does_not_reduce_ciclosporin():
    """The Neoral label: 'reduce by 25-50% if serum creatinine rises 30% or more above
    the pre-treatment level'. Pre-treatment 28, so the limit is 28 x 1.3 = 36.4. '<40'
    can be 30, and then there is no rise to act on. The label's dose reduction
    (severity action) must not fire on a value that may be 30."""
    _, rv = _review(
        "P1,2026-01-01,Creatinine,28,umol/L\nP1,2026-06-01,Creatinine,<40,umol/L\n",
        "P1,ciclosporin,100,mg,twice daily,oral,2026-02-01,\n",
    )
    hits = _flags(rv, "label.ciclosporin_creatinine_rise", "2026-06-01")
    assert not (hits["severity"] == "action").any()


# ------------------------------------------------------------ F2 a lower bound as the fallback nadir


def test_a_lower_bound_earlier_creatinine_is_not_the_nadir():
    """No pre-treatment creatinine (the first result, '>150', comes after the start).
    The fallback is 'the lowest result of the previous 12 months'. '>150' says the level
    was at least 150, possibly 300. A later 200 is then 33% above 150, or 33% below 300.
    The rise is not proved, just as a lower-bound baseline is not used for a rise
    (rules.toml citation; baselines.py: a lower bound is never used for a rise). So no
    action flag may claim '33.33% above 150'."""
    _, rv = _review("P1,2026-03-01,Creatinine,>150,umol/L\nP1,2026-06-01,Creatinine,200,umol/L\n", MTX)
    hits = _flags(rv, "bsr.creatinine_rise", "2026-06-01")
    assert not (hits["severity"] == "action").any()


# ------------------------------------------------------------ F3 a baseline draw with two values


def test_a_conflicting_baseline_draw_is_said():
    """The last draw before methotrexate holds creatinine 60 and 80 (kept, two values).
    On treatment, 100 is 25% above 80 but 66.7% above 60 (limit: more than 30%). The
    baseline is unsure, so the review cannot stay silent: the rule's flag, or its caution
    that the baseline is unsure, must exist and name the other value, 60. Today the
    baseline is the higher value, 80, so nothing is flagged and nothing says so."""
    _, rv = _review(
        "P1,2026-01-01 09:00,Creatinine,60,umol/L\nP1,2026-01-01 09:00,Creatinine,80,umol/L\n"
        "P1,2026-06-01,Creatinine,100,umol/L\n",
        MTX,
    )
    hits = _flags(rv, "bsr.creatinine_rise", "2026-06-01")
    assert len(hits) == 1
    assert "60" in hits["message"].iloc[0]


# ------------------------------------------------------------ F4 voclosporin baseline reset at a new course


VOC_LABS = (
    "P1,2026-01-15,eGFR,80,mL/min/1.73m2\nP1,2026-04-28,eGFR,58,mL/min/1.73m2\nP1,2026-05-14,eGFR,58,mL/min/1.73m2\n"
)


def test_voclosporin_reassessment_after_a_reduction_keeps_the_first_baseline():
    """Lupkynis label: 'eGFR < 60 and reduced by > 20% and < 30% from baseline: reduce
    by 7.9 mg twice daily. Reassess within 2 weeks; if eGFR is still reduced by > 20%
    from baseline, reduce the dose again.'
    Baseline 80 before voclosporin. 58 on 2026-04-28 is (80-58)/80 = 27.5% below, so
    reduce. The new dose starts 2026-05-02, two days after the last one ended. It is a
    reduction, not a new drug. On 2026-05-14, 58 is still 27.5% below the baseline of 80,
    so the label says reduce again. The band rule must fire against 80. Today the new
    'course' takes 58 (drawn 2026-04-28) as its baseline: a 0% fall and no flag."""
    _, rv = _review(
        VOC_LABS,
        "P1,voclosporin,23.7,mg,twice daily,oral,2026-02-01,2026-04-29\n"
        "P1,voclosporin,15.8,mg,twice daily,oral,2026-05-02,\n",
    )
    hits = _flags(rv, "label.voclosporin_egfr_fall_band", "2026-05-14")
    assert len(hits) == 1
    assert hits["baseline"].iloc[0] == 80


def test_voclosporin_after_restart_is_judged_on_the_pretreatment_baseline():
    """Lupkynis label: discontinue if eGFR < 60 and reduced by >= 30% from baseline.
    Consider re-initiating at 7.9 mg twice daily 'only if eGFR has returned to >= 80% of
    baseline'. That is the same baseline, the one before voclosporin.
    Baseline 80. 54 on 2026-04-28 is 32.5% below, so stop (stopped 2026-04-29). 66 on
    2026-05-10 is 82.5% of 80, so the restart at 7.9 mg BID on 2026-05-12 is allowed.
    50 on 2026-07-01 is (80-50)/80 = 37.5% below the baseline, so discontinue again
    (severity action). Today it is judged against 66, a 24.2% fall: only the band rule
    fires ('reduce', caution)."""
    _, rv = _review(
        "P1,2026-01-15,eGFR,80,mL/min/1.73m2\nP1,2026-04-28,eGFR,54,mL/min/1.73m2\n"
        "P1,2026-05-10,eGFR,66,mL/min/1.73m2\nP1,2026-07-01,eGFR,50,mL/min/1.73m2\n",
        "P1,voclosporin,23.7,mg,twice daily,oral,2026-02-01,2026-04-29\n"
        "P1,voclosporin,7.9,mg,twice daily,oral,2026-05-12,\n",
    )
    assert len(_flags(rv, "label.voclosporin_egfr_fall", "2026-07-01")) == 1
    assert _flags(rv, "label.voclosporin_egfr_fall_band", "2026-07-01").empty


# ------------------------------------------------------------ F5 creatinine clearance rejected


def test_a_creatinine_clearance_below_30_makes_methotrexate_contraindicated():
    """UK SmPC 4.3 (dose_checks.toml dose.mtx_renal_contraindicated): contraindicated
    with 'creatinine clearance less than 30 ml/min'. The check's own comment says 'a
    creatinine clearance in mL/min is read as eGFR (vocab/analytes.toml)'. So a
    'Creatinine clearance 25 mL/min' on methotrexate must give the urgent row: 25 < 30.
    It was rejected ('not a monitored analyte: Creatinine clearance'), and no renal dose
    check ran; the same for 'CrCl'.  Fixed: creatinine clearance is an analyte (H412)."""
    _, rv = _review("P1,2026-11-20,Creatinine clearance,25,mL/min\n", MTX)
    dc = rv.dose_checks_df()
    rows = dc[dc["rule"] == "dose.mtx_renal_contraindicated"]
    assert len(rows) == 1
    assert rows["severity"].iloc[0] == "urgent"


# ------------------------------------------------------------ F6 a stale eGFR against a newer creatinine


def test_a_newer_creatinine_is_not_hidden_behind_a_stale_egfr():
    """A woman born 1960-01-01 is 66 at the draw. She has been on methotrexate since
    2026-02-01. Her eGFR was 70 on 2025-12-01; her creatinine is 350 umol/L on 2026-11-20,
    with no eGFR reported with it.
    CKD-EPI 2021 (female, Scr 350/88.4 = 3.96 mg/dL):
    142 x (3.96/0.7)^-1.200 x 0.9938^66 x 1.012 = 142 x 0.1251 x 0.6633 x 1.012 = about 12 mL/min/1.73m2.
    That is far below the SmPC's 30. The methotrexate renal check must not rest silently
    on the eGFR of 70 from a year earlier. A row of the renal group
    (dose.mtx_renal_contraindicated, or dose.not_checkable saying that a newer creatinine
    exists) must appear. Today there is no dose-check row at all."""
    _, rv = _review(
        "P1,2025-12-01,eGFR,70,mL/min/1.73m2\nP1,2025-12-01,Creatinine,80,umol/L\n"
        "P1,2026-11-20,Creatinine,350,umol/L\n",
        MTX,
        "P1,F,1960-01-01\n",
    )
    dc = rv.dose_checks_df()
    assert len(dc) and dc["rule"].isin(["dose.mtx_renal_contraindicated", "dose.not_checkable"]).any()
