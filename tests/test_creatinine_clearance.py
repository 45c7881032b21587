"""Creatinine clearance (CrCl, mL/min) as its own analyte (probe23 F5; H412-H416).

Sources the expectations are derived from by hand:

* Methotrexate UK SmPC (emc 511) section 4.3, as dose_checks.toml quotes it: contra-indicated
  in "severe/significantly impaired renal function (creatinine clearance less than 30
  ml/min) for methotrexate doses <100 mg/m2".  Strictly below 30: 29 fires, 30 does not.
  Rheumatic doses (15 mg/week) are far below 100 mg/m2.
* The same SmPC as dosing.toml reads it has no creatinine-clearance band above 30 (section
  4.2 has no table, section 4.4 asks for "extreme caution" in renal impairment with no
  figure): so a CrCl of 45 is not contraindicated, no dose check fires (none exists for that
  band), and the Dosing page gives its caution band "below 60" (dosing.toml), naming the CrCl.
* LOINC (loinc.org): 2164-2 "Creatinine renal clearance in 24 hour Urine and Serum or
  Plasma" and 35591-7 "Creatinine renal clearance predicted by Cockcroft-Gault formula",
  both a volume rate (mL/min), not per 1.73 m2.
* 1 mL/s = 60 mL/min (a unit identity): 0.5 mL/s = 30 mL/min.
* A clearance per 1.73 m2 is not the unindexed clearance (it needs the body surface area to
  convert): rejected with its reason, never read as a CrCl nor as an eGFR (units.py).
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from dashboard import dosing, model, ui
from dashboard.dataset import Dataset
from dashboard.rules.review import review
from tests.support import ROOT, csv_import, csv_review, import_bundle, import_text, timeline_dict

AS_OF = dt.date(2026, 12, 5)
LABS_HEAD = "patient_id,collected_at,analyte,value,unit\n"
DOSES_HEAD = "patient_id,drug,dose,dose_unit,frequency,route,start,end\n"
MTX = "P1,methotrexate,15,mg,weekly,oral,2026-02-01,\n"
RULE = "dose.mtx_renal_contraindicated"


def _import(labs: str, doses: str = MTX):
    return csv_import(labs, doses, as_of=AS_OF)


def _checks(labs: str, doses: str = MTX) -> pd.DataFrame:
    dc = csv_review(labs, doses, as_of=AS_OF)[1].dose_checks_df()
    return (
        dc[dc["group"] == "mtx_renal"] if "group" in dc.columns else dc[dc["rule"].isin([RULE, "dose.not_checkable"])]
    )


def _labs(r) -> list[tuple[str, float, str]]:
    t = r.labs
    cols = [t.column(c).to_pylist() for c in ("analyte", "value", "source_unit")]
    return list(zip(*cols, strict=True))


def _problems(r) -> list[str]:
    return [p.message for f in r.report.files for p in f.problems]


def _warnings(r) -> list[str]:
    return [p.message for f in r.report.files for p in f.warnings]


# --------------------------------------------------------------------------- import


@pytest.mark.parametrize(
    "name",
    [
        "Creatinine clearance",
        "CrCl",
        "CLcr",
        "Cockcroft-Gault",
        "Estimated creatinine clearance",
        "Kreatinin-Clearance",
        "Creatinine clearance (24h urine)",
    ],
)
def test_the_names_of_a_creatinine_clearance_read_as_crcl_in_ml_per_min(name):
    r = import_text(LABS_HEAD + f"P1,2026-11-20,{name},25,mL/min\n")
    assert _labs(r) == [("crcl", 25.0, "mL/min")]
    assert not _problems(r)


def test_a_clearance_in_ml_per_s_is_sixty_times_in_ml_per_min():
    r = import_text(LABS_HEAD + "P1,2026-11-20,CrCl,0.5,mL/s\n")
    assert _labs(r) == [("crcl", 30.0, "mL/s")]


def test_the_urine_creatinine_is_still_not_a_blood_result():
    """Only a clearance's name keeps its urine words: a urine creatinine is not read."""
    r = import_text(LABS_HEAD + "P1,2026-11-20,Urine creatinine,8000,umol/L\n")
    assert _labs(r) == []
    assert len(_problems(r)) == 1


@pytest.mark.parametrize("unit", ["mL/min/1.73m2", "mL/min/1.73 m²", "ml/s/1.73m2"])
def test_a_creatinine_clearance_per_1_73_m2_is_rejected_with_its_reason(unit):
    """H413: neither a CrCl nor an eGFR; nothing stored, the reason says why."""
    r = import_text(LABS_HEAD + f"P1,2026-11-20,Creatinine clearance,40,{unit}\n")
    assert _labs(r) == []
    (why,) = _problems(r)
    assert "indexed to body surface" in why and "not converted" in why and "not an eGFR" in why


def test_a_creatinine_clearance_header_per_1_73_m2_is_rejected_with_its_reason():
    r = import_text("patient_id,collected_at,CrCl (mL/min/1.73m2)\nP1,2026-11-20,40\n")
    assert _labs(r) == []
    assert any("indexed to body surface" in p for p in _problems(r))


def test_a_creatinine_clearance_without_a_unit_is_never_inferred():
    r = import_text(LABS_HEAD + "P1,2026-11-20,CrCl,33,\n")
    assert _labs(r) == []
    (why,) = _problems(r)
    assert "unit missing" in why and "mL/min/1.73 m²" in why


def test_an_egfr_in_ml_per_min_stays_an_egfr_with_its_note():
    """The behaviour kept for the other direction (units.UNIT_NOTES): read as an eGFR, said."""
    r = import_text(LABS_HEAD + "P1,2026-11-20,eGFR,50,mL/min\n")
    assert _labs(r) == [("egfr", 50.0, "mL/min")]
    assert any("not indexed to body surface" in w and "creatinine clearance" in w for w in _warnings(r))


@pytest.mark.parametrize("code", ["2164-2", "35591-7"])
def test_a_fhir_observation_of_creatinine_clearance_by_loinc(code):
    patient = {"resourceType": "Patient", "id": "p1", "gender": "female", "birthDate": "1950-01-01"}
    obs = {
        "resourceType": "Observation",
        "id": "o1",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": code}], "text": "Creatinine clearance"},
        "subject": {"reference": "Patient/p1"},
        "effectiveDateTime": "2026-11-20T09:30:00",
        "valueQuantity": {"value": 25, "unit": "mL/min", "system": "http://unitsofmeasure.org", "code": "mL/min"},
    }
    r = import_bundle(patient, obs)
    df = r.labs_df()
    assert df["analyte"].tolist() == ["crcl"] and df["value"].tolist() == [25.0]


def test_the_loinc_long_name_of_the_24_hour_clearance_is_read():
    """Its name says "Urine and Serum or Plasma": a clearance, not a urine result."""
    patient = {"resourceType": "Patient", "id": "p1", "gender": "female", "birthDate": "1950-01-01"}
    obs = {
        "resourceType": "Observation",
        "id": "o1",
        "status": "final",
        "code": {
            "coding": [
                {
                    "system": "http://loinc.org",
                    "code": "2164-2",
                    "display": "Creatinine renal clearance in 24 hour Urine and Serum or Plasma",
                }
            ]
        },
        "subject": {"reference": "Patient/p1"},
        "effectiveDateTime": "2026-11-20T09:30:00",
        "valueQuantity": {"value": 25, "unit": "mL/min", "system": "http://unitsofmeasure.org", "code": "mL/min"},
    }
    assert import_bundle(patient, obs).labs_df()["analyte"].tolist() == ["crcl"]


# --------------------------------------------------------------------------- dose checks


def test_crcl_25_on_methotrexate_is_the_urgent_contraindication_naming_the_crcl():
    dc = _checks("P1,2026-11-20,Creatinine clearance,25,mL/min\n")
    assert dc["rule"].tolist() == [RULE]
    row = dc.iloc[0]
    assert row["severity"] == "urgent" and row["value"] == 25.0 and row["value_unit"] == "mL/min"
    assert row["threshold"] == 30.0
    assert "CrCl 25 mL/min on 2026-11-20" in row["message"]
    assert "eGFR used" not in row["message"]


def test_crcl_alias_fires_the_same():
    dc = _checks("P1,2026-11-20,CrCl,29,mL/min\n")
    assert dc["rule"].tolist() == [RULE]


def test_crcl_30_is_not_below_30():
    assert _checks("P1,2026-11-20,CrCl,30,mL/min\n").empty


def test_crcl_45_is_not_contraindicated_and_the_dosing_page_gives_its_caution_band():
    """45 is not below 30 (no dose check row: the SmPC quoted gives no other renal band);
    the Dosing page's band below 60 (caution), said against the CrCl."""
    assert _checks("P1,2026-11-20,CrCl,45,mL/min\n").empty
    r = dosing.methotrexate_check(15, crcl=45.0)
    renal = [w for w in r.warnings if "below 60" in w.message or "below 30" in w.message]
    assert [(w.severity, w.message.split(":")[0]) for w in renal] == [("caution", "CrCl 45 mL/min")]


def test_an_egfr_alone_is_used_with_the_smpc_caveat():
    dc = _checks("P1,2026-11-20,eGFR,25,mL/min/1.73m2\n")
    assert dc["rule"].tolist() == [RULE]
    assert "the SmPC states creatinine clearance; eGFR used" in dc["message"].iloc[0]
    assert dc["value_unit"].iloc[0] == "mL/min/1.73m2"


def test_an_older_egfr_70_and_a_newer_crcl_25_are_contraindicated_naming_the_crcl():
    dc = _checks("P1,2025-12-01,eGFR,70,mL/min/1.73m2\nP1,2026-11-20,CrCl,25,mL/min\n")
    assert dc["rule"].tolist() == [RULE]
    msg = dc["message"].iloc[0]
    assert "latest CrCl 25 mL/min on 2026-11-20" in msg
    assert "the eGFR of 70 mL/min/1.73m2 on 2025-12-01 is older" in msg
    assert dc["value"].iloc[0] == 25.0 and dc["value_unit"].iloc[0] == "mL/min"


def test_a_newer_egfr_over_an_older_crcl_below_30_is_not_checkable_naming_both():
    """H414: CrCl 25 (2025-12-01), then eGFR 70 (2026-11-20).  The newer eGFR is used, but
    the two measures can differ without any change; the old CrCl is below the SmPC's 30,
    so the check cannot clear it: an info row naming both, never silence."""
    dc = _checks("P1,2025-12-01,CrCl,25,mL/min\nP1,2026-11-20,eGFR,70,mL/min/1.73m2\n")
    assert list(zip(dc["rule"], dc["severity"], strict=True)) == [("dose.not_checkable", "info")]
    msg = dc["message"].iloc[0]
    assert "latest eGFR 70" in msg and "CrCl of 25 mL/min on 2025-12-01" in msg
    assert "ask for a current CrCl" in msg


def test_a_newer_egfr_over_an_older_crcl_above_30_gives_nothing():
    assert _checks("P1,2025-12-01,CrCl,45,mL/min\nP1,2026-11-20,eGFR,70,mL/min/1.73m2\n").empty


@pytest.mark.parametrize(("egfr", "crcl", "fires"), [(35, 25, True), (25, 35, False)])
def test_on_one_draw_the_crcl_is_the_measure_used(egfr, crcl, fires):
    """The SmPC states creatinine clearance: of one draw (one day), the CrCl decides (the eGFR is
    still graded by its own rules, bsr.egfr_low)."""
    dc = _checks(f"P1,2026-11-20,eGFR,{egfr},mL/min/1.73m2\nP1,2026-11-20,CrCl,{crcl},mL/min\n")
    assert (dc["rule"].tolist() == [RULE]) is fires
    if fires:
        assert "is of the same day" in dc["message"].iloc[0]  # one day is one test (probe25 F1)


def test_a_newer_creatinine_than_the_crcl_makes_the_check_not_checkable():
    """H409 with a CrCl (H412): CrCl 45 (2026-10-20), creatinine 350 umol/L (2026-11-20)
    without a CrCl or eGFR: the CrCl may no longer hold."""
    dc = _checks("P1,2026-10-20,CrCl,45,mL/min\nP1,2026-11-20,Creatinine,350,umol/L\n")
    assert dc["rule"].tolist() == ["dose.not_checkable"]
    assert "older than the creatinine of 350" in dc["message"].iloc[0]


def test_a_crcl_with_its_own_creatinine_is_checkable():
    dc = _checks("P1,2026-11-20,CrCl,45,mL/min\nP1,2026-11-20,Creatinine,150,umol/L\n")
    assert dc.empty


def test_two_crcl_results_of_one_draw_take_the_lower():
    """Lower is worse for a clearance (rules.data.worse_direction)."""
    from dashboard.rules.data import worse_direction

    assert worse_direction()["crcl"] == -1
    dc = _checks("P1,2026-11-20 09:00,CrCl,35,mL/min\nP1,2026-11-20 09:00,CrCl,25,mL/min\n")
    assert dc["rule"].tolist() == [RULE] and dc["value"].iloc[0] == 25.0


# --------------------------------------------------------------------------- Dosing page


def _context(labs: str) -> dosing.PatientContext:
    r = _import(labs)
    ds = Dataset.from_import(r, "t")
    return dosing.patient_context(ds.patients, ds.doses, ds.labs, "P1", AS_OF)


def test_the_dosing_page_takes_the_renal_measure_the_checks_take():
    """H412: one rule for both: newer CrCl over older eGFR -> the CrCl; newer eGFR -> the eGFR."""
    ctx = _context("P1,2025-12-01,eGFR,70,mL/min/1.73m2\nP1,2026-11-20,CrCl,25,mL/min\n")
    assert ctx.renal is not None and (ctx.renal.analyte, ctx.renal.value) == ("crcl", 25.0)
    r = dosing.methotrexate_check(15, egfr=ctx.egfr, crcl=ctx.renal)
    high = [w.message for w in r.warnings if w.severity == "high" and "below 30" in w.message]
    assert high and high[0].startswith("CrCl 25 mL/min")
    ctx = _context("P1,2025-12-01,CrCl,25,mL/min\nP1,2026-11-20,eGFR,70,mL/min/1.73m2\n")
    assert ctx.renal is not None and ctx.renal.analyte == "egfr"


def test_the_dosing_page_says_an_egfr_is_used_in_place_of_the_crcl():
    r = dosing.methotrexate_check(15, egfr=25.0)
    high = [w.message for w in r.warnings if w.severity == "high" and "below 30" in w.message]
    assert high == [high[0]] and "the SmPC states creatinine clearance; eGFR used" in high[0]


def _dosing_page(labs: str) -> AppTest:
    ds = Dataset.from_import(_import(labs), "test panel")
    at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=60)
    at.session_state[ui.DATASET] = ds
    at.session_state[ui.PATIENT] = "P1"
    at.session_state[ui.AS_OF] = AS_OF
    at.run()
    at.switch_page("pages/dosing.py").run()
    assert not at.exception
    return at


def test_the_dosing_page_prefills_the_crcl_for_methotrexate():
    at = _dosing_page("P1,2025-12-01,eGFR,70,mL/min/1.73m2\nP1,2026-11-20,CrCl,25,mL/min\n")
    assert at.number_input(key="mtx_crcl_P1").value == 25.0
    captions = "\n".join(c.value for c in at.caption)
    assert "the latest renal measure is CrCl 25 mL/min (20 Nov 2026)" in captions
    errors = "\n".join(e.value for e in at.error)
    assert "CrCl 25 mL/min: below 30: methotrexate is contraindicated" in errors


def test_the_dosing_page_warns_of_an_older_crcl_below_30_beside_a_newer_egfr():
    """H414 on the page, as plainly as the review's not-checkable row (probe25): CrCl 25
    (1 Dec 2025) is below the SmPC's 30; the newer eGFR 70 (20 Nov 2026) is the latest
    measure but cannot clear it.  A warning names the CrCl and asks for a current one."""
    at = _dosing_page("P1,2025-12-01,CrCl,25,mL/min\nP1,2026-11-20,eGFR,70,mL/min/1.73m2\n")
    warnings = "\n".join(w.value for w in at.warning)
    assert "The older creatinine clearance, CrCl 25 mL/min (01 Dec 2025), is below 30 mL/min" in warnings
    assert "ask for a current creatinine clearance" in warnings
    assert dosing.older_crcl_below(dosing.LabValue(70, dt.datetime(2026, 11, 20), "", "egfr"), None) is None
    crcl45 = dosing.LabValue(45, dt.datetime(2025, 12, 1), "", "crcl")
    assert dosing.older_crcl_below(dosing.LabValue(70, dt.datetime(2026, 11, 20), "", "egfr"), crcl45) is None


# --------------------------------------------------------------------------- charts


def test_the_timeline_draws_a_crcl_with_its_unit():
    r = _import("P1,2026-10-20,CrCl,45,mL/min\nP1,2026-11-20,CrCl,25,mL/min\n")
    ds = Dataset.from_import(r, "t")
    rv = review(r.labs, r.doses, r.patients, None, None, AS_OF)
    for system in ("SI", "US"):
        d = timeline_dict(ds, rv, AS_OF, analytes=("crcl",), system=system)
        texts = repr(d["layout"])
        assert "CrCl" in texts and "mL/min" in texts
    assert model.CANONICAL_UNITS["crcl"] == "mL/min"
