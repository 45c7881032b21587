"""The sample panel's stories, through the importer and the rules, flag what a
rheumatologist expects (and the stable patient nothing)."""

import datetime as dt
import json

import pandas as pd
import pytest

from dashboard.dataset import Dataset
from dashboard.ingest import import_paths
from dashboard.rules import review_dataset
from tests.support import ROOT

SAMPLE = ROOT / "sample_data"
MANIFEST = json.loads((SAMPLE / "manifest.json").read_text())
EXTRACT = dt.date.fromisoformat(MANIFEST["extract_date"])


def story(key: str) -> tuple[str, dict]:
    s = MANIFEST["stories"][key]
    return s["patient"], s["facts"]


@pytest.fixture(scope="module")
def panel():
    r = import_paths([SAMPLE / n for n in MANIFEST["default_files"]])
    ds = Dataset.from_import(r, "sample", EXTRACT)
    return ds, review_dataset(ds, None, EXTRACT)


def flags_of(panel, pid: str) -> pd.DataFrame:
    return panel[1].for_patient(pid).flags_df()


def test_tpmt_intermediate_on_full_dose_reaches_grade_3_or_4_neutropenia_within_10_weeks(panel):
    pid, facts = story("tpmt_im_neutropenia")
    f = flags_of(panel, pid)
    start = pd.Timestamp(facts["start"])
    severe = f[(f["analyte"] == "neutrophils") & (f["ctcae_grade"] >= 3)]
    assert len(severe)
    first = severe["collected_at"].min()
    assert pd.Timedelta(weeks=4) <= first - start <= pd.Timedelta(weeks=10)
    row = severe.iloc[0]
    assert "Azathioprine 150 mg/day" in row["active_doses"] and row["after_increase"]
    checks = panel[1].for_patient(pid).dose_checks_df()
    assert (checks["rule"].str.contains("tpmt")).any(), "TPMT intermediate on more than 80 % of the normal dose"


def test_allopurinol_without_reduction_is_caught_before_and_at_the_pancytopenia(panel):
    pid, facts = story("allopurinol_pancytopenia")
    checks = panel[1].for_patient(pid).dose_checks_df()
    inter = checks[checks["with_drug"] == "allopurinol"]
    assert len(inter) and inter.iloc[0]["severity"] in ("action", "urgent")
    f = flags_of(panel, pid)
    draw = f[f["collected_at"].dt.date == dt.date.fromisoformat(facts["pancytopenia_draw"]["date"])]
    assert {"wbc", "neutrophils", "platelets"} <= set(draw["analyte"])
    assert (draw["ctcae_grade"] >= 3).any()


def test_macrocytosis_fires_the_mcv_rule_with_its_advice(panel):
    pid, _ = story("aza_macrocytosis")
    f = flags_of(panel, pid)
    mcv = f[f["rule"] == "bsr.mcv_high"]
    assert len(mcv) and "B12" in mcv.iloc[0]["message"] and mcv.iloc[-1]["status"] == "open"


def test_transaminase_rise_over_100_on_methotrexate(panel):
    pid, facts = story("mtx_transaminitis")
    f = flags_of(panel, pid)
    alt = f[f["rule"] == "bsr.alt_high"]
    assert len(alt)
    assert alt["value"].max() == pytest.approx(facts["alt_peak"]["value"])
    assert "Methotrexate 25 mg/week" in alt.iloc[0]["active_doses"]


def test_cyclophosphamide_nadirs_are_flagged_with_the_days_since_the_pulse(panel):
    pid, _ = story("cyc_nadir")
    f = flags_of(panel, pid)
    low = f[(f["analyte"].isin(["wbc", "neutrophils"])) & (f["kind"] == "guideline")]
    assert len(low)
    days = low["days_since_pulse"].dropna().astype(int)
    assert ((days >= 8) & (days <= 14)).any()


def test_mycophenolate_mild_cytopenia_is_low_grade(panel):
    pid, _ = story("mmf_mild_cytopenia")
    f = flags_of(panel, pid)
    assert len(f[f["analyte"].isin(["wbc", "lymphocytes"])])
    assert f["ctcae_grade"].max() <= 2


def test_lupus_flare_cytopenia_carries_the_disease_activity_caveat(panel):
    pid, facts = story("lupus_flare")
    f = flags_of(panel, pid)
    day = dt.date.fromisoformat(facts["flare_draw"]["date"])
    flare = f[f["collected_at"].dt.date == day]
    assert {"platelets", "wbc"} <= set(flare["analyte"])
    assert flare["caveat"].str.contains("SLE").any()
    assert not flare["after_increase"].any()


def test_slow_fall_fires_the_trend_rule_and_no_limit(panel):
    pid, _ = story("slow_fall")
    f = flags_of(panel, pid)
    assert (f["rule"] == "trend.consecutive_falls").any()
    assert not (f["kind"] == "guideline").any()


def test_overdue_patient_is_overdue_and_the_only_one(panel):
    pid, facts = story("overdue")
    summary = panel[1].summary_df()
    overdue = summary[summary["overdue"]]
    assert list(overdue["patient_id"]) == [pid]
    assert overdue.iloc[0]["days_overdue"] == facts["days_since_last_fbc"] - facts["required_interval_days"]


def test_duffy_null_is_flagged_until_a_baseline_is_set(panel):
    pid, facts = story("duffy_null")
    ds, rv = panel
    assert rv.for_patient(pid).summary_df().iloc[0]["urgency"] in ("action", "urgent")
    base = facts["suggested_baseline"]
    quiet = ds.with_baseline(pid, base["analyte"], base["value"], base["note"], "test", dt.datetime(2026, 11, 16))
    after = review_dataset(quiet, None, EXTRACT).for_patient(pid)
    low = after.flags_df()
    low = low[(low["analyte"] == "neutrophils") & (low["kind"] == "guideline")]
    assert low["at_baseline"].all() and (low["severity"] == "info").all()
    assert after.summary_df().iloc[0]["urgency"] not in ("action", "urgent")


def test_the_stable_patient_has_nothing(panel):
    pid, _ = story("stable")
    rv = panel[1].for_patient(pid)
    assert rv.flags_df()[rv.flags_df()["kind"] != "ctcae"].empty
    row = rv.summary_df().iloc[0]
    assert row["urgency"] == "" and not row["overdue"] and row["dose_checks_open"] == 0


def test_every_story_patient_ranks_above_the_routine_ones_when_open(panel):
    summary = panel[1].summary_df()
    open_story = {MANIFEST["stories"][k]["patient"] for k in ("overdue", "slow_fall", "duffy_null", "aza_macrocytosis")}
    ranks = summary.set_index("patient_id")["urgency_rank"]
    routine = [p for p, v in MANIFEST["patients"].items() if v["story"] == "routine"]
    assert max(ranks[p] for p in open_story) < min(ranks[p] for p in routine)


def test_the_top_of_the_panel_holds_only_patients_whose_results_call_for_action(panel):
    """Issue 15: every patient ranked 'action' or 'urgent' has an open result flag of
    that severity from a CTCAE grade or a guideline limit, or an overdue blood test;
    never from a trend among counts within the reference range."""
    rv = panel[1]
    summary = rv.summary_df()
    top = summary[summary["urgency"].isin(["action", "urgent"])]
    assert len(top) and list(summary["patient_id"][: len(top)]) == list(top["patient_id"])
    flags = rv.open_flags_df()
    for pid in top["patient_id"]:
        mine = flags[(flags["patient_id"] == pid) & flags["severity"].isin(["action", "urgent"])]
        assert (mine["kind"] != "trend").any() or bool(summary.set_index("patient_id").loc[pid, "overdue"]), pid
    assert flags[(flags["kind"] == "trend") & flags["severity"].isin(["action", "urgent"])].empty
    # the slow-fall and the TPMT-recovered patients, with counts within the range, are reviews
    for key in ("slow_fall", "tpmt_im_neutropenia"):
        pid, _ = story(key)
        assert summary.set_index("patient_id").loc[pid, "urgency"] in ("caution", "info", ""), key


# --------------------------------------------------------------------------- audit 17 follow-up
BP_DRUGS = ("leflunomide", "ciclosporin", "tacrolimus", "voclosporin")


def test_blood_pressure_items_are_not_years_overdue_in_the_demo(panel):
    """Patients on leflunomide or a calcineurin inhibitor have a blood-pressure reading at
    their visits (SPS: blood pressure with each blood test), so as of the extract date no
    blood-pressure item is overdue by years (the demo showed 'OVERDUE by 1573 days')."""
    ds, rv = panel
    sched = rv.schedule_df()
    bp = sched[sched["schedule"].str.startswith("bp_")]
    on_bp_drugs = set(ds.doses.loc[ds.doses["drug"].isin(BP_DRUGS), "patient_id"])
    assert on_bp_drugs and set(bp["patient_id"]) <= on_bp_drugs
    assert not bp.empty
    assert bp["days_overdue"].max() <= 31, bp.loc[bp["days_overdue"] > 31, ["patient_id", "message"]]
    readings = ds.labs[ds.labs["analyte"].isin(["bp_systolic", "bp_diastolic"])]
    assert set(readings["patient_id"]) <= on_bp_drugs
    assert readings.loc[readings["analyte"] == "bp_systolic", "value"].between(90, 139).all()


def test_the_pre_treatment_baseline_fall_is_demonstrated(panel):
    """trend.baseline_fall needs at least 3 pre-treatment results (issue 15): the sample has
    a patient whose baseline rests on 3 or more draws before the drug and whose counts fall
    more than 30% below it on treatment (the TPMT intermediate metaboliser's story)."""
    pid, _ = story("tpmt_im_neutropenia")
    f = flags_of(panel, pid)
    fall = f[f["rule"] == "trend.baseline_fall"]
    assert not fall.empty
    counts = fall["baseline_basis"].str.extract(r"median of the last (\d+) results")[0].astype(int)
    assert (counts >= 3).all()
