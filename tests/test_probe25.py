"""Probe 25: today's changes (d32e5c1..main) read as a rheumatology pharmacist would read
them, with records pushed through the real import and the review.

Sources the expectations come from (as quoted in the data files and hazards entries):

* Methotrexate UK SmPC (emc 511) section 4.3 (dose_checks.toml, dose.mtx_renal_contraindicated):
  "contra-indicated in ... creatinine clearance less than 30 ml/min".  The dashboard's own
  rule (rules/renal.py, H412): the newer of CrCl and eGFR is used, "the creatinine clearance
  first when both come from one draw".  Today's H424/H428 say one calendar day is one test.
* Neoral US label as rules.toml quotes it (label.ciclosporin_creatinine_rise): "reduce by
  25-50% if serum creatinine rises 30% or more above the pre-treatment level".
* trend.baseline_fall (rules.toml): more than 30% below the median of the last 3 results
  before the drug started; H428: "the draws of one calendar day are one pre-treatment test
  holding their range"; H424: a finding counts "where it holds for every choice of sample".
* French PNDS Box 6 (dosing.toml [cyclophosphamide.pulse_neutrophils]): "If the neutrophils
  are < 1.5 x 10^9/L on the scheduled bolus date, the dose will be reduced by 25% or even
  postponed".
* CTCAE v5.0 neutrophil count decreased: grade 2 <1.5-1.0, grade 4 <0.5.

Every expectation was worked out by hand and written before the code was run.
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys

import pandas as pd
import pytest

from dashboard import dosing
from dashboard.dataset import Dataset
from dashboard.panel import why_texts
from tests.support import ROOT, csv_import, csv_review

AS_OF = dt.date(2026, 12, 5)
LABS_HEAD = "patient_id,collected_at,analyte,value,unit\n"
DOSES_HEAD = "patient_id,drug,dose,dose_unit,frequency,route,start,end\n"
MTX = "P1,methotrexate,15,mg,weekly,oral,2026-02-01,\n"
CSA = "P1,ciclosporin,100,mg,twice daily,oral,2026-02-01,\n"
FORTNIGHTLY = "P1,cyclophosphamide,1000,mg,every 2 weeks,iv,2026-11-02,2026-12-31\n"
MTX_RENAL = "dose.mtx_renal_contraindicated"
PNDS = "dose.cyc_pulse_neutrophils_low"


def _import(labs: str, doses: str = MTX):
    return csv_import(labs, doses, as_of=AS_OF)


def _review(labs: str, doses: str = MTX):
    return csv_review(labs, doses, as_of=AS_OF)


def _checks(labs: str, doses: str = MTX, rules: tuple[str, ...] = (MTX_RENAL, "dose.not_checkable")) -> pd.DataFrame:
    dc = _review(labs, doses)[1].dose_checks_df()
    return dc[dc["rule"].isin(rules)]


def _problems(r) -> list[str]:
    return [p.message for f in r.report.files for p in f.problems]


def _context(labs: str) -> dosing.PatientContext:
    ds = Dataset.from_import(_import(labs), "t")
    return dosing.patient_context(ds.patients, ds.doses, ds.labs, "P1", AS_OF)


# ============================================================ F1 a CrCl and an eGFR of one morning

SAME_MORNING = "P1,2026-11-01 09:00,CrCl,25,mL/min\nP1,2026-11-01 09:30,eGFR,40,mL/min/1.73m2\n"


def test_f1_a_crcl_below_30_and_an_egfr_half_an_hour_later_are_one_draw():
    """CrCl 25 mL/min at 09:00 and eGFR 40 at 09:30 on 1 Nov 2026 (an export that stamps each
    result with its own time; a 24-hour clearance stamped at the end of its collection).
    Both come from that morning's serum creatinine: one assessment, not a change in the
    kidney within 30 minutes.  renal.py: 'the creatinine clearance first when both come
    from one draw'; H424/H428: one calendar day is one test.  The SmPC states creatinine
    clearance: 25 < 30, so methotrexate is contraindicated: the urgent row, naming CrCl 25.
    Today the eGFR is 'the latest', the CrCl 'is older', and the urgent contraindication
    becomes an info row that says whether the CrCl is below 30 'cannot be told'."""
    dc = _checks(SAME_MORNING)
    assert dc["rule"].tolist() == [MTX_RENAL]  # F1: ['dose.not_checkable'] (info)


def test_f1b_the_dosing_page_takes_the_same_mornings_crcl():
    """The same records on the Dosing page (PatientContext.renal, the dose checks' rule):
    the CrCl of the morning is the measure the methotrexate limits are placed against, so
    the page gives 'CrCl 25 mL/min: below 30: contraindicated' (high).  Today the page
    takes the eGFR 40 ('caution', below 60) and calls the CrCl 'older ... not used'."""
    ctx = _context(SAME_MORNING)
    assert ctx.renal is not None
    assert ctx.renal.analyte == "crcl"  # F1b: 'egfr'


def test_held_the_reverse_order_of_one_morning_fires_on_the_crcl():
    """eGFR 40 at 09:00, CrCl 25 at 09:30: the CrCl is the latest and the stated measure:
    25 < 30, urgent, named."""
    dc = _checks("P1,2026-11-01 09:00,eGFR,40,mL/min/1.73m2\nP1,2026-11-01 09:30,CrCl,25,mL/min\n")
    assert dc["rule"].tolist() == [MTX_RENAL]
    assert dc["severity"].iloc[0] == "urgent" and "CrCl 25 mL/min" in dc["message"].iloc[0]


def test_held_one_timestamp_crcl_decides_and_the_page_agrees():
    """CrCl 25 and eGFR 40 at 09:00 (one draw): the CrCl (SmPC) decides, 25 < 30: urgent; the
    Dosing page's measure is the same CrCl."""
    labs = "P1,2026-11-01 09:00,CrCl,25,mL/min\nP1,2026-11-01 09:00,eGFR,40,mL/min/1.73m2\n"
    dc = _checks(labs)
    assert dc["rule"].tolist() == [MTX_RENAL] and dc["value"].iloc[0] == 25.0
    ctx = _context(labs)
    assert ctx.renal is not None and (ctx.renal.analyte, ctx.renal.value) == ("crcl", 25.0)


# ============================================================ hostile CrCl values (held)


@pytest.mark.parametrize(
    ("value", "unit", "said"),
    [
        ("0", "mL/min", "cannot be 0"),
        ("500", "mL/min", "implausible"),
        ("-5", "mL/min", "implausible"),
        ("25", "", "unit missing"),
    ],
)
def test_held_a_crcl_of_0_500_negative_or_without_unit_is_rejected_with_its_reason(value, unit, said):
    """Plausible CrCl 1-400 mL/min (analytes.toml); a missing unit is never inferred (H413):
    each row rejected with a readable reason, none read, no dose check made from it."""
    r = _import(f"P1,2026-11-01,CrCl,{value},{unit}\n")
    assert r.labs.num_rows == 0
    assert any(said in m for m in _problems(r))
    assert _checks(f"P1,2026-11-01,CrCl,{value},{unit}\n").empty


@pytest.mark.parametrize(
    ("value", "unit", "fires"), [("30", "mL/min", False), ("<30", "mL/min", True), ("0.4", "mL/s", True)]
)
def test_held_crcl_at_the_limit_censored_and_in_ml_per_s(value, unit, fires):
    """Strictly below 30: 30 does not fire; '<30' is below 30; 0.4 mL/s x 60 = 24 mL/min fires."""
    dc = _checks(f"P1,2026-11-01,CrCl,{value},{unit}\n")
    assert (dc["rule"].tolist() == [MTX_RENAL]) is fires


# ============================================================ F2 a same-day repeat before ciclosporin


def test_f2_a_same_day_repeat_before_ciclosporin_still_proves_a_30_percent_rise():
    """Creatinine before ciclosporin: 60 umol/L at 09:00 and 64 at 15:00 on 10 Jan 2026 (one
    pre-treatment test holding 60-64, H428).  On ciclosporin, 90 on 1 Jun 2026.  Neoral:
    'reduce by 25-50% if serum creatinine rises 30% or more above the pre-treatment level':
    90 is (90-60)/60 = 50% above 60 and (90-64)/64 = 40.6% above 64, 30% or more for every
    level the day allows.  So the label's reduction fires.  With the 64 alone it fires
    (held below); with the repeat the label rule is silent and nothing says why."""
    _, rv = _review(
        "P1,2026-01-10 09:00,Creatinine,60,umol/L\nP1,2026-01-10 15:00,Creatinine,64,umol/L\n"
        "P1,2026-06-01,Creatinine,90,umol/L\n",
        CSA,
    )
    f = rv.flags_df()
    assert (f["rule"] == "label.ciclosporin_creatinine_rise").any()  # F2: no row


def test_held_one_pre_treatment_creatinine_gives_the_ciclosporin_reduction():
    """64 before ciclosporin, 90 on it: 40.6% >= 30%: reduce (the label rule fires)."""
    _, rv = _review("P1,2026-01-10 09:00,Creatinine,64,umol/L\nP1,2026-06-01,Creatinine,90,umol/L\n", CSA)
    assert (rv.flags_df()["rule"] == "label.ciclosporin_creatinine_rise").any()


# ============================================================ F3 two days of repeats before methotrexate


def test_f3_two_days_of_close_repeats_still_give_a_proven_fall_below_baseline():
    """Neutrophils before methotrexate (2026-02-01): 8 Jan 5.8 and 6.2, 9 Jan 5.9 and 6.1
    (repeats the same afternoon), 10 Jan 6.0.  Three tests (H428): 5.8-6.2, 5.9-6.1, 6.0.
    Their median lies between 5.9 and 6.1 whichever sample is taken.  On methotrexate, 3.9
    on 1 Jun: at least (5.9-3.9)/5.9 = 33.9% below, more than 30% for every choice of
    sample, so trend.baseline_fall fires (as it does with 6.0, 6.0, 6.0: held below).  Today
    the two ranges give 'no single level', no baseline, and the 35% fall is not said."""
    _, rv = _review(
        "P1,2026-01-08 09:00,Neutrophils,5.8,10^9/L\nP1,2026-01-08 15:00,Neutrophils,6.2,10^9/L\n"
        "P1,2026-01-09 09:00,Neutrophils,5.9,10^9/L\nP1,2026-01-09 15:00,Neutrophils,6.1,10^9/L\n"
        "P1,2026-01-10,Neutrophils,6.0,10^9/L\nP1,2026-06-01,Neutrophils,3.9,10^9/L\n"
    )
    assert (rv.flags_df()["rule"] == "trend.baseline_fall").any()  # F3: no row


def test_held_one_day_of_repeats_keeps_the_baseline():
    """6.0, 5.8-6.2, 6.0: the median is 6.0 whatever the repeat; 3.9 is 35% below: fires."""
    _, rv = _review(
        "P1,2026-01-08,Neutrophils,6.0,10^9/L\nP1,2026-01-09 09:00,Neutrophils,5.8,10^9/L\n"
        "P1,2026-01-09 15:00,Neutrophils,6.2,10^9/L\nP1,2026-01-10,Neutrophils,6.0,10^9/L\n"
        "P1,2026-06-01,Neutrophils,3.9,10^9/L\n"
    )
    f = rv.flags_df()
    hit = f[f["rule"] == "trend.baseline_fall"]
    assert len(hit) == 1 and "35% below" in hit["message"].iloc[0]


# ============================================================ PNDS Box 6 (held)


def test_held_pnds_two_patients_same_day_only_the_low_one():
    """P1 3.2 and P2 1.2 on 15 Nov, both pulsed fortnightly from 2 Nov (16 Nov pulse): only
    P2's count is below 1.5."""
    dc = _checks(
        "P1,2026-11-15,Neutrophils,3.2,10^9/L\nP2,2026-11-15,Neutrophils,1.2,10^9/L\n",
        FORTNIGHTLY + FORTNIGHTLY.replace("P1", "P2"),
        (PNDS,),
    )
    assert dc["patient_id"].tolist() == ["P2"] and dc["value"].tolist() == [1.2]


@pytest.mark.parametrize(("value", "rule"), [("<0.5", PNDS), (">1.0", "dose.not_checkable"), ("1.5", None)])
def test_held_pnds_censored_and_at_the_limit(value, rule):
    """'<0.5' is below 1.5 (fires); '>1.0' may be 1.2 or 3 (cannot be told: info); 1.5 is not < 1.5."""
    dc = _checks(f"P1,2026-11-15,Neutrophils,{value},10^9/L\n", FORTNIGHTLY, (PNDS, "dose.not_checkable"))
    assert dc["rule"].tolist() == ([rule] if rule else [])


def test_held_pnds_a_single_pulse_row():
    """One pulse on 16 Nov written as a one-off row; 1.2 the day before: below 1.5, fires."""
    dc = _checks(
        "P1,2026-11-15,Neutrophils,1.2,10^9/L\n", "P1,cyclophosphamide,750,mg,once,iv,2026-11-16,2026-11-16\n", (PNDS,)
    )
    assert len(dc) == 1 and "pulse 2026-11-16" in dc["message"].iloc[0]


# ============================================================ H427 worst in the episode (held)


def test_held_the_worst_of_one_patient_is_not_said_for_another():
    """P1 0.4 (grade 4) then 1.2 (grade 2): one open episode, worst grade 4 on 1 Nov.  P2 1.2
    then 1.3 on the same days: grade 2 all along, no 'worst'.  The Panel's Why agrees."""
    doses = MTX + MTX.replace("P1", "P2")
    _, rv = _review(
        "P1,2026-11-01,Neutrophils,0.4,10^9/L\nP1,2026-11-08,Neutrophils,1.2,10^9/L\n"
        "P2,2026-11-01,Neutrophils,1.2,10^9/L\nP2,2026-11-08,Neutrophils,1.3,10^9/L\n",
        doses,
    )
    f = rv.flags_df()
    open_ = f[(f["rule"] == "ctcae.neutrophils") & (f["status"] == "open")].set_index("patient_id")
    assert open_.loc["P1", "message"].endswith("worst in this episode: grade 4 on 2026-11-01 (0.4 ×10⁹/L)")
    assert "worst" not in open_.loc["P2", "message"]
    why = why_texts(rv, pd.Series(["P1", "P2"]))
    assert "Neut G2 (G4 on 2026-11-01)" in why[0] and "G4" not in why[1]


def test_held_a_closed_earlier_episode_is_not_the_worst_of_a_new_one():
    """0.4 on 1 Oct, 3.0 on 15 Oct (no flag: the episode ends), then 1.2 and 1.3: a new
    episode of grade 2; its flag does not name the grade 4 of October."""
    _, rv = _review(
        "P1,2026-10-01,Neutrophils,0.4,10^9/L\nP1,2026-10-15,Neutrophils,3.0,10^9/L\n"
        "P1,2026-11-08,Neutrophils,1.2,10^9/L\nP1,2026-11-15,Neutrophils,1.3,10^9/L\n"
    )
    f = rv.flags_df()
    assert not f[f["status"] == "open"]["message"].str.contains("worst in this episode").any()


# ============================================================ CLI agrees (held)


def test_held_the_cli_outputs_name_the_crcl_and_the_worst(tmp_path):
    """--json and --compact carry the CrCl contraindication and the episode's worst; --csv
    the worst (its open flags)."""
    labs = tmp_path / "labs.csv"
    doses = tmp_path / "doses.csv"
    labs.write_text(
        LABS_HEAD + "P1,2026-11-01 09:00,CrCl,25,mL/min\nP1,2026-11-01 09:00,eGFR,40,mL/min/1.73m2\n"
        "P2,2026-11-01,Neutrophils,0.4,10^9/L\nP2,2026-11-08,Neutrophils,1.2,10^9/L\n"
    )
    doses.write_text(DOSES_HEAD + MTX + MTX.replace("P1", "P2"))
    base = [sys.executable, "-m", "dashboard", "review", str(labs), str(doses), "--as-of", "2026-12-05"]
    out = subprocess.run([*base, "--json"], capture_output=True, text=True, cwd=ROOT, check=False).stdout
    text = json.dumps(json.loads(out), ensure_ascii=False)
    assert "latest CrCl 25 mL/min" in text and "worst in this episode: grade 4" in text
    compact = subprocess.run([*base, "--compact"], capture_output=True, text=True, cwd=ROOT, check=False).stdout
    assert "latest CrCl 25 mL/min" in compact and "worst in this episode: grade 4" in compact
    csv = tmp_path / "open.csv"
    subprocess.run([*base, "--csv", str(csv)], capture_output=True, text=True, cwd=ROOT, check=False)
    assert "worst in this episode: grade 4 on 2026-11-01" in csv.read_text()
