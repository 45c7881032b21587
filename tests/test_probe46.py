"""Probe 46: a rheumatology pharmacist's acceptance cases, end to end.

Ordinary clinic cases (azathioprine with TPMT and allopurinol, methotrexate with falling
renal function, leflunomide's liver tests, hydroxychloroquine, IV cyclophosphamide) run
through the public functions the CLI and the pages use.  Each expectation is worked by
hand from the guideline or label the active profile (BSR 2025, the default) follows, never
copied from the output.  A finding is written first as a strict xfail test; a fixed
finding loses its marker.
"""

from __future__ import annotations

import pandas as pd
import pytest

from tests.rules.builders import dose, full_check, lab, patient, run


def _patient_rows(df: pd.DataFrame, pid: str) -> pd.DataFrame:
    return df[df["patient_id"] == pid]


# --------------------------------------------------------------------------- F1
# Methotrexate, UK SmPC 4.3: contraindicated with a creatinine clearance below 30 mL/min.
# A lab export that carries serum creatinine but no eGFR and no creatinine clearance (some
# labs report the eGFR only on request, and an export may leave it out): creatinine 75
# µmol/L before methotrexate, 210 µmol/L on 2026-03-01 (range 45-90: raised; in a woman of
# 66 a CKD-EPI eGFR of about 20, well below 30).  The review cannot judge the
# contraindication without a CrCl or eGFR, and must say so (as it does when an older eGFR is
# followed by a newer creatinine, H409), never pass over it in silence: by hand, one
# "dose.not_checkable" info row for the methotrexate renal check, naming the creatinine and
# asking for a CrCl or eGFR.  A creatinine within its range (70, range 45-90) says nothing:
# the existing design for a normal panel (tests/test_probe45.py F9 expects no dose-check row
# for methotrexate with a creatinine of 70 and no eGFR).

RANGE = {"ref_low": 45.0, "ref_high": 90.0}


def _mtx_creatinine_only(labs: list[dict]) -> pd.DataFrame:
    doses = [dose("CR", "methotrexate", "2025-06-01", amount=15, frequency="weekly")]
    rv = run(labs, doses, [patient("CR", weight=70, sex="F")], as_of="2026-03-05")
    return _patient_rows(rv.dose_checks_df(), "CR")


def test_f1_methotrexate_with_a_raised_creatinine_but_no_egfr_says_the_renal_check_cannot_be_made():
    df = _mtx_creatinine_only(
        [lab("CR", "2025-12-20", "creatinine", 75.0, **RANGE), lab("CR", "2026-03-01", "creatinine", 210.0, **RANGE)]
    )
    rows = df[df["rule"] == "dose.not_checkable"]
    rows = rows[rows["message"].str.contains("creatinine", case=False)]
    assert len(rows) == 1, df[["rule", "message"]]
    row = rows.iloc[0]
    assert row["severity"] == "info"
    assert row["status"] == "open"
    assert "210" in row["message"] and "2026-03-01" in row["message"]
    assert "below 30" in row["message"]
    assert "4.3" in row["message"]  # the contraindication it could not judge
    assert row["start"] == pd.Timestamp("2026-03-01")


def test_f1_a_creatinine_the_lab_flagged_high_without_a_range_is_said_too():
    raised = {**lab("CR", "2026-03-01", "creatinine", 210.0), "source_flag": "H"}
    df = _mtx_creatinine_only([raised])
    rows = df[(df["rule"] == "dose.not_checkable") & df["message"].str.contains("creatinine", case=False)]
    assert len(rows) == 1, df[["rule", "message"]]


@pytest.mark.parametrize(
    "labs",
    [
        [lab("CR", "2026-03-01", "wbc", 6.0)],  # no renal result at all (test_no_egfr_no_row)
        [lab("CR", "2026-03-01", "creatinine", 70.0, **RANGE)],  # a creatinine within its range
        [lab("CR", "2026-03-01", "creatinine", 90.0, **RANGE)],  # at its upper limit: not above it
        [lab("CR", "2026-03-01", "creatinine", 210.0)],  # no range and no flag: nothing to call it raised
    ],
)
def test_f1_no_raised_creatinine_gives_no_row(labs):
    df = _mtx_creatinine_only(labs)
    assert df[df["message"].str.contains("creatinine", case=False)].empty


def test_f1_mycophenolate_above_2g_with_a_raised_creatinine_but_no_egfr_says_it_cannot_be_checked():
    """CellCept label: above 1 g twice daily with GFR < 25 avoided.  1.5 g BID (3 g/day),
    creatinine 300 µmol/L (range 45-90) and no eGFR: whether the GFR is below 25 cannot be
    told: said."""
    doses = [dose("MM", "mycophenolate mofetil", "2025-06-01", amount=1500, frequency="BID")]
    labs = [lab("MM", "2026-03-01", "creatinine", 300.0, **RANGE)]
    rv = run(labs, doses, [patient("MM", weight=70, sex="F")], as_of="2026-03-05")
    df = _patient_rows(rv.dose_checks_df(), "MM")
    rows = df[(df["rule"] == "dose.not_checkable") & df["message"].str.contains("creatinine", case=False)]
    assert len(rows) == 1, df[["rule", "message"]]
    assert "below 25" in rows.iloc[0]["message"]


# --------------------------------------------------------------------------- F2
# Azathioprine with allopurinol: give a quarter of the usual dose (Medsafe 1998; the US
# label a third to a quarter).  Usual practice: the azathioprine is cut first (125 -> 25
# mg/day on 2026-05-25) and the allopurinol started a week later (2026-06-01).  25 mg is
# 20% of the usual 125 mg: by hand, no allopurinol dose check fires (not above a quarter).
# The check takes "the dose before allopurinol" as the dose in force the day before it
# started, the already reduced 25 mg, and calls 25 mg "100% of 25 mg/day": an urgent false
# alarm.  (Reduced on the same day as the allopurinol started, nothing fires: correct.)
# Which earlier dose is the "usual" one is a clinical choice (a look-back window): pinned.


def test_f2_azathioprine_reduced_a_week_before_allopurinol_is_not_an_urgent_overdose():
    doses = [
        dose("AW", "azathioprine", "2025-06-01", "2026-05-25", amount=125),
        dose("AW", "azathioprine", "2026-05-25", amount=25),
        dose("AW", "allopurinol", "2026-06-01", amount=100),
    ]
    labs = full_check("AW", "2025-05-20") + full_check("AW", "2026-06-08")
    rv = run(labs, doses, [patient("AW", weight=70, tpmt="normal", nudt15="normal")], as_of="2026-06-10")
    df = _patient_rows(rv.dose_checks_df(), "AW")
    assert df[df["rule"].isin(["dose.aza_allopurinol", "dose.aza_allopurinol_quarter"])].empty, df[["rule", "message"]]


# Fixed (H681): a reduction made no more than 28 days (dose_checks.toml
# [allopurinol_reference], a project choice) before allopurinol's course is read as the
# reduction made for it; the reference is the dose before it, and the Dosing page reads the
# same one.  The cases below are worked by hand: the quarter is 25% and the third 33.3%.


def _aza_cut(cut: str, to: float) -> tuple[list[dict], list[dict], list[dict]]:
    doses = [
        dose("AW", "azathioprine", "2025-06-01", cut, amount=125),
        dose("AW", "azathioprine", cut, amount=to),
        dose("AW", "allopurinol", "2026-06-01", amount=100),
    ]
    labs = full_check("AW", "2025-05-20") + full_check("AW", "2026-06-08")
    return labs, doses, [patient("AW", weight=70, tpmt="normal", nudt15="normal")]


def _allopurinol_rows(labs: list[dict], doses: list[dict], patients: list[dict]) -> pd.DataFrame:
    df = _patient_rows(run(labs, doses, patients, as_of="2026-06-10").dose_checks_df(), "AW")
    return df[df["rule"].isin(["dose.aza_allopurinol", "dose.aza_allopurinol_quarter"])]


def test_f2_a_reduction_40_days_before_allopurinol_keeps_the_dose_before_allopurinol_as_reference():
    """Cut 125 -> 25 on 2026-04-22, 40 days before allopurinol (outside the 28 days): the
    reference stays the 25 mg in force the day before it, so 25 mg is 100% of it (> 33.3%):
    urgent, as before."""
    rows = _allopurinol_rows(*_aza_cut("2026-04-22", 25))
    assert list(rows["rule"]) == ["dose.aza_allopurinol"], rows[["rule", "message"]]
    row = rows.iloc[0]
    assert row["severity"] == "urgent"
    assert "100% of 25 mg/day" in row["message"] and "the dose before Allopurinol" in row["message"]


def test_f2_a_reduction_a_week_before_allopurinol_to_too_little_a_cut_is_judged_against_the_dose_before_it():
    """Cut 125 -> 50 on 2026-05-25, 7 days before allopurinol: 50 of 125 is 40%, above a
    third: urgent, naming 125 mg/day and the reduction read as made for allopurinol."""
    rows = _allopurinol_rows(*_aza_cut("2026-05-25", 50))
    assert list(rows["rule"]) == ["dose.aza_allopurinol"], rows[["rule", "message"]]
    row = rows.iloc[0]
    assert row["severity"] == "urgent"
    assert row["value"] == pytest.approx(40.0)
    assert "40% of 125 mg/day" in row["message"]
    assert "reduced from 125 mg/day on 2026-05-25, 7 days before allopurinol" in row["message"]
    assert "28 days" in row["message"] and "project choice" in row["message"]


@pytest.mark.parametrize(("cut", "to", "expected"), [("2026-05-25", 25, 125.0), ("2026-04-22", 25, 25.0)])
def test_f2_the_dosing_page_reads_the_same_reference_as_the_review(cut, to, expected):
    """The Dosing page's "dose before allopurinol" is the review's reference: 125 mg/day for
    the cut a week before, 25 mg/day for the cut 40 days before."""
    from dashboard import dosing
    from tests.rules.builders import frame

    labs, doses, patients = _aza_cut(cut, to)
    ctx = dosing.patient_context(
        frame("patients", patients), frame("doses", doses), frame("labs", labs), "AW", pd.Timestamp("2026-06-10").date()
    )
    assert ctx.dose_before_allopurinol("azathioprine") == pytest.approx(expected)
    note = ctx.dose_before_allopurinol_note("azathioprine")
    if expected == 125.0:
        assert "Reduced from 125 mg/day on 2026-05-25, 7 days before allopurinol" in note
    else:
        assert note == ""


# --------------------------------------------------------------------------- F3
# Euro-Lupus IV cyclophosphamide, 500 mg every 2 weeks, recorded as one row from 2026-03-02
# to 2026-05-11: pulses on 03-02, 03-16, 03-30, 04-13, 04-27 and 05-11, the end date being
# the sixth pulse's day (six pulses, 3 g, the regimen).  The dose model reads the end as
# exclusive, so the 05-11 pulse is silently dropped: the cumulative dose says 2.5 g of 5
# pulses, "complete", and on 2026-05-16 the schedule says the nadir count after the last
# pulse (04-27) is done, although the 05-11 pulse's nadir (05-19 to 05-25) is still to
# come.  By hand: the pulse on the end day is either counted (nadir count due 05-19) or the
# record is said to be ambiguous; never a silent choice.  A dose-model decision: pinned.


def _euro_lupus() -> tuple[list[dict], list[dict], list[dict]]:
    labs = full_check("EL", "2026-03-01")
    for when in ("2026-03-12", "2026-03-15", "2026-03-26", "2026-03-29", "2026-04-09", "2026-04-12"):
        labs += full_check("EL", when)
    for when in ("2026-04-23", "2026-04-26", "2026-05-07", "2026-05-10"):
        labs += full_check("EL", when)
    doses = [
        dose("EL", "cyclophosphamide", "2026-03-02", "2026-05-11", amount=500, frequency="every 2 weeks", route="iv")
    ]
    return labs, doses, [patient("EL", weight=60, sex="F")]


@pytest.mark.xfail(
    strict=True,
    reason="F3: a pulse on the end day of a pulse row is silently dropped (exclusive end): its nadir count "
    "is never asked for and the cumulative dose is short by a pulse",
)
def test_f3_a_pulse_on_the_recorded_end_day_is_followed_or_said():
    labs, doses, patients = _euro_lupus()
    rv = run(labs, doses, patients, as_of="2026-05-16")
    sched = _patient_rows(rv.schedule_df(), "EL")
    row = sched[sched["drug"] == "cyclophosphamide"]
    assert len(row) == 1
    assert "2026-05-11" in row.iloc[0]["message"], row.iloc[0]["message"]


# --------------------------------------------------------------------------- F4
# Hydroxychloroquine since 2020, reviewed on 2026-05-01: no routine blood tests, and annual
# retinal screening after 5 years of treatment (RCOphth 2020, the source schedule.toml
# [schedules.none_hcq] cites).  The review, the Panel and the CLI say nothing at all of
# the patient (no schedule row, no reminder): the dashboard holds no eye results, but, as
# for the hepatitis B screening before rituximab (an info reminder, H60), the clinic should
# be told that screening is due.  A new reminder type: pinned.


@pytest.mark.xfail(
    strict=True,
    reason="F4: hydroxychloroquine for more than 5 years: no retinal-screening reminder anywhere in the review",
)
def test_f4_hydroxychloroquine_after_five_years_recalls_retinal_screening():
    doses = [dose("HQ", "hydroxychloroquine", "2020-01-05", amount=200)]
    rv = run([], doses, [patient("HQ", weight=60, sex="F")], as_of="2026-05-01")
    texts = pd.concat(
        [_patient_rows(rv.schedule_df(), "HQ")["message"], _patient_rows(rv.dose_checks_df(), "HQ")["message"]]
    )
    assert texts.str.contains("retina", case=False).any(), texts.tolist()


# --------------------------------------------------------------------------- F5
# Leflunomide's label (Arava SmPC 4.4; the same rule in the US label and the rheumatology
# references): ALT 2-3 x ULN, reduce 20 -> 10 mg and check weekly; ALT persistently above
# 2 x ULN or above 3 x ULN, discontinue and wash out.  A lab whose ALT ULN is 33 U/L (many UK
# female ranges): ALT 100 U/L is 3.03 x ULN.  The review gives CTCAE grade 2 (caution) and no
# BSR flag (BSR's limit is "> 100 U/L", strict), so a result at which the label says stop
# reads as "caution".  Adding a label rule in multiples of the lab's ULN is a clinical and
# design decision (the SmPC was read only through secondary sources here): pinned.


@pytest.mark.xfail(
    strict=True,
    reason="F5: leflunomide with ALT above 3 x the lab's ULN but not above 100 U/L is only a CTCAE caution; "
    "the label says discontinue",
)
def test_f5_leflunomide_alt_above_three_times_uln_is_at_least_action():
    doses = [dose("LF", "leflunomide", "2025-06-01", amount=20)]
    labs = [*full_check("LF", "2025-05-20"), lab("LF", "2026-03-01", "alt", 100.0, ref_low=0.0, ref_high=33.0)]
    rv = run(labs, doses, [patient("LF", weight=70, sex="F")], as_of="2026-03-02")
    flags = _patient_rows(rv.flags_df(), "LF")
    alt = flags[flags["analyte"] == "alt"]
    assert alt["severity"].isin(["action", "urgent"]).any(), alt[["rule", "severity", "message"]]
