"""Probe 45: what the Dosing and Compare pages show against what the review checks.

Theme: thresholds, doses, drug facts and their citations live once in the data files and
are read by every page that shows or checks them, so the Dosing page, the Compare page and
the review can never disagree.  Each test was written as a strict xfail failing for the
reason its finding names, and passes since the fix (fix45, H630-H639); the expectations
are worked by hand from the safety rules and the review's own schedule, never copied
from the pages' output.
"""

from __future__ import annotations

import datetime as dt
import re

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from dashboard import dosing, knowledge, model, ui
from dashboard.dataset import Dataset
from tests.rules.builders import dose, full_check, lab, patient, run
from tests.support import ROOT

NAN = float("nan")


# --------------------------------------------------------------------------- helpers


def _app(page: str, session: dict | None = None) -> AppTest:
    at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=90)
    for key, value in (session or {}).items():
        at.session_state[key] = value
    at.run()
    at.switch_page(page).run()
    assert not at.exception
    return at


def _texts(at: AppTest) -> list[str]:
    """Every text the page writes (markdown, captions, callouts)."""
    kinds = ("markdown", "caption", "info", "warning", "error", "success")
    return [e.value for k in kinds for e in getattr(at, k)]


def _dataset(doses: dict, egfr: float = 80.0, weight: float = 70.0) -> Dataset:
    patients = pd.DataFrame(
        {"patient_id": ["P1"], "sex": ["F"], "weight_kg": [weight], "tpmt": ["normal"], "nudt15": ["normal"]}
    )
    labs = pd.DataFrame(
        {
            "patient_id": ["P1"],
            "collected_at": pd.to_datetime(["2026-03-01 08:00"]),
            "analyte": ["egfr"],
            "value": [egfr],
            "unit": ["mL/min/1.73m2"],
            "comparator": [""],
        }
    )
    return Dataset(
        labs=model.to_pandas("labs", model.from_pandas("labs", labs)),
        doses=model.to_pandas("doses", model.from_pandas("doses", pd.DataFrame(doses))),
        patients=model.to_pandas("patients", model.from_pandas("patients", patients)),
        label="probe45 panel",
    )


def _dosing_for(ds: Dataset, day: dt.date, profile: str | None = None) -> AppTest:
    session = {ui.DATASET: ds, ui.PATIENT: "P1", ui.AS_OF: day}
    if profile:
        session[ui.PROFILE] = profile
    return _app("pages/dosing.py", session)


def _compare(entries: list[str]) -> AppTest:
    at = _app("pages/compare.py")
    at.multiselect(key="compare_drugs").set_value(entries).run()
    assert not at.exception
    return at


def _cell(at: AppTest, attribute: str, entry: str) -> str:
    return str(at.table[0].value.loc[attribute, knowledge.drugs()[entry].label])


def _cell_sources(at: AppTest, attribute: str, entry: str) -> str:
    details = next(d.value for d in at.dataframe if {"Drug", "Attribute", "Sources"} <= set(d.value.columns))
    row = details[(details["Drug"] == knowledge.drugs()[entry].label) & (details["Attribute"] == attribute)]
    return str(row["Sources"].iloc[0])


# --------------------------------------------------------------------------- F1 tacrolimus schedule


def test_f1_compare_shows_the_tacrolimus_schedule_the_review_applies():
    """schedule.toml [schedules.cni_monthly], the review's tacrolimus schedule under every
    profile: phases 14 days until day 42, then 30 days: by hand, 'every 2 weeks for 6 weeks,
    then monthly', and fortnightly again for 6 weeks after a dose increase.  The Compare
    cell says 'until the dose and level are stable' (no 6 weeks) and only 'trough after every
    dose change'."""
    at = _compare(["tacrolimus", "ciclosporin"])
    cell = _cell(at, "Monitoring: schedule", "tacrolimus").lower()
    assert "every 2 weeks for 6 weeks, then monthly" in cell


def test_f1_the_tacrolimus_schedule_and_its_compare_cell_cite_the_same_reference():
    """One fact, one citation: the schedule row's source names the reference it rests on
    ([id], as the BSR 2025 and voclosporin schedules do) and the Compare cell cites it."""
    from dashboard.rules import schedule

    name = schedule.schedule_name("tacrolimus", "daily", "oral", "BSR 2025")
    source = schedule.spec_for(name, "BSR 2025")["source"]
    ids = set(re.findall(r"\[(\w+)\]", source))
    assert ids, f"the review's tacrolimus schedule names no reference: {source!r}"
    at = _compare(["tacrolimus", "ciclosporin"])
    assert all(i in _cell_sources(at, "Monitoring: schedule", "tacrolimus") for i in ids)


# --------------------------------------------------------------------------- F2 methotrexate schedule


def test_f2_compare_shows_the_methotrexate_schedule_the_review_applies_under_bsr_2025():
    """Under the default BSR 2025 profile methotrexate follows bsr2025_standard: every 12
    weeks, or the clinician-set interval up to 182 days (a patient on 182 days is not
    overdue 17 weeks after the last test).  Azathioprine's, leflunomide's and
    mycophenolate's cells read that schedule's own words; methotrexate's says 'at least
    every 12 weeks' and never the 6-monthly ceiling."""
    at = _compare(["methotrexate", "azathioprine"])
    cell = _cell(at, "Monitoring: schedule", "methotrexate")
    assert "up to 6-monthly" in cell


# --------------------------------------------------------------------------- F3 rituximab citation


def test_f3_the_rituximab_immunoglobulin_schedule_cites_the_dose_checks_source():
    """'Immunoglobulins ... before each cycle' is the BSR biologic safety guideline's
    recommendation (the IgG dose check's source); the two late-onset-neutropenia cohorts hold
    no immunoglobulin schedule."""
    at = _compare(["rituximab", "belimumab"])
    assert "immunoglobulins" in _cell(at, "Monitoring: schedule", "rituximab").lower()
    assert "bsr2019_biologics" in _cell_sources(at, "Monitoring: schedule", "rituximab")


# --------------------------------------------------------------------------- F4 tacrolimus dose


def test_f4_the_tacrolimus_mg_per_day_beside_the_mg_per_kg_range_is_the_same_dose():
    """By hand, Mok 2016's 0.06-0.1 mg/kg/day at 70 kg is 4.2-7 mg/day: a mg/day range
    written directly before it as its equivalent must overlap it."""
    at = _compare(["tacrolimus", "ciclosporin"])
    cell = _cell(at, "Usual adult dose", "tacrolimus")
    for low, high, kg_low, kg_high in re.findall(
        r"(\d+(?:\.\d+)?)-(\d+(?:\.\d+)?) mg/day \((\d+(?:\.\d+)?)-(\d+(?:\.\d+)?) mg/kg/day", cell
    ):
        assert float(high) >= float(kg_low) * 70 and float(low) <= float(kg_high) * 70, cell


# --------------------------------------------------------------------------- F5 two products on the Dosing page


_TWO_PRODUCTS = {
    "thiopurines": (
        {
            "patient_id": ["P1", "P1"],
            "drug": ["azathioprine", "mercaptopurine"],
            "start": pd.to_datetime(["2025-06-01", "2026-01-01"]),
            "dose": [100.0, 50.0],
            "dose_unit": ["mg", "mg"],
            "frequency": ["daily", "daily"],
            "mg_per_day": [100.0, 50.0],
            "mg_per_week": [NAN, NAN],
        },
        "mercaptopurine",
    ),
    "mycophenolate": (
        {
            "patient_id": ["P1", "P1"],
            "drug": ["mycophenolate mofetil", "mycophenolic acid"],
            "start": pd.to_datetime(["2025-06-01", "2026-01-01"]),
            "dose": [1000.0, 720.0],
            "dose_unit": ["mg", "mg"],
            "frequency": ["BID", "BID"],
            "mg_per_day": [2000.0, 1440.0],
            "mg_per_week": [NAN, NAN],
        },
        "mycophenolic acid",
    ),
}


@pytest.mark.parametrize("case", list(_TWO_PRODUCTS))
def test_f5_the_dosing_tab_never_judges_one_product_alone_while_both_are_in_force(case):
    """Azathioprine 100 mg/day with mercaptopurine 50 mg/day, or mycophenolate mofetil
    2000 mg/day with mycophenolic acid 1440 mg/day (about 2000 mg of mofetil, 4000 mg in
    all, above the 3000 mg ceiling), on 10 Mar 2026: the review's dose check for the pair is
    open at action (checked below).  The tab's own verdict on the current dose must not be
    'within' or 'below the calculated range' of the one product: it names the other product
    in force."""
    doses, other = _TWO_PRODUCTS[case]
    rows = [
        dose("P", d, str(s.date()), amount=a, frequency=f)
        for d, s, a, f in zip(doses["drug"], doses["start"], doses["dose"], doses["frequency"], strict=True)
    ]
    checks = run(full_check("P", "2026-03-01"), rows, [patient("P", weight=70, tpmt="normal")], as_of="2026-03-10")
    pair = checks.dose_checks_df()
    assert set(pair["severity"]) == {"action"} and set(pair["rule"]) <= {
        "dose.thiopurine_duplicate",
        "dose.mmf_mpa_together",
    }
    at = _dosing_for(_dataset(doses), dt.date(2026, 3, 10))
    verdicts = [t for t in _texts(at) if t.startswith("**Current dose")]
    assert verdicts, "no verdict on the current dose"
    for text in verdicts:
        assert other in text.lower() or "two products" in text, text


# --------------------------------------------------------------------------- F6 planned start, recorded end


_SWITCH = {
    "patient_id": ["P1", "P1"],
    "drug": ["mycophenolate mofetil", "azathioprine"],
    "start": pd.to_datetime(["2025-06-01", "2026-04-01"]),
    "end": pd.to_datetime(["2026-04-01", None]),
    "dose": [1000.0, 100.0],
    "dose_unit": ["mg", "mg"],
    "frequency": ["BID", "daily"],
    "mg_per_day": [2000.0, 100.0],
    "mg_per_week": [NAN, NAN],
}


def _review_of_the_switch():
    return run(
        full_check("P", "2026-03-01"),
        [
            dose("P", "mycophenolate mofetil", "2025-06-01", "2026-04-01", amount=1000, frequency="BID"),
            dose("P", "azathioprine", "2026-04-01", amount=100),
        ],
        [patient("P", weight=70, tpmt="normal")],
        as_of="2026-03-10",
    )


def test_f6_the_dosing_plan_starts_on_the_recorded_planned_start():
    """Recorded: mycophenolate mofetil to 1 Apr 2026, azathioprine 100 mg/day from 1 Apr;
    reviewed on 10 Mar.  The review: 'Azathioprine: starts 2026-04-01 (as recorded): first
    blood tests due by 2026-04-15' (1 Apr + 14 days).  The page's plan, 'dated by the
    review's own schedule', starts on 10 Mar (its first fortnightly test 24 Mar, before the
    drug starts) and no text names the planned start."""
    sched = _review_of_the_switch().schedule_df().set_index("drug")
    assert sched.loc["azathioprine", "next_due"] == pd.Timestamp("2026-04-15")
    at = _dosing_for(_dataset(_SWITCH), dt.date(2026, 3, 10))
    assert at.date_input(key="aza_start_P1").value == dt.date(2026, 4, 1)


def test_f6_the_dosing_page_says_the_recorded_end_of_a_current_dose():
    """The review's mycophenolate row: '... due 2026-05-24 — ends 2026-04-01 (as recorded)'.
    The Dosing page lists mycophenolate mofetil as a current dose 'Since 2025-06-01' with no
    end, and its tab judges it as ongoing."""
    sched = _review_of_the_switch().schedule_df().set_index("drug")
    assert "ends 2026-04-01 (as recorded)" in sched.loc["mycophenolate mofetil", "message"]
    at = _dosing_for(_dataset(_SWITCH), dt.date(2026, 3, 10))
    current = next(d.value for d in at.dataframe if "Since" in d.value.columns)
    said = " ".join(_texts(at)) + " " + current.astype(str).to_string()
    assert re.search(r"2026-04-01|\b0?1 Apr 2026", said), "the recorded end 1 Apr 2026 is said nowhere"


# --------------------------------------------------------------------------- F7 the count before a pulse


def test_f7_the_pages_say_the_count_before_a_cyclophosphamide_pulse():
    """dosing.toml [cyclophosphamide.pulse_neutrophils] below = 1.5 (PNDS Box 6), read by
    the dose check at action.  The Dosing page's cyclophosphamide tab says the dose checks
    flag the cumulative dose only; the Compare cells name the count before each pulse with
    no limit."""
    dosing_page = " ".join(_texts(_app("pages/dosing.py")))
    compare = _compare(["cyclophosphamide (Euro-Lupus)", "cyclophosphamide (NIH)"])
    cells = " ".join(
        _cell(compare, a, e)
        for a in ("Monitoring: tests", "Monitoring: schedule")
        for e in ("cyclophosphamide (Euro-Lupus)", "cyclophosphamide (NIH)")
    )
    for text in (dosing_page, cells):
        assert re.search(r"neutrophils?[^.]*(<|below) ?1\.5", text, re.I), text[:300]


# --------------------------------------------------------------------------- F8 renal "withhold" under a profile


def test_f8_the_dosing_page_renal_limit_follows_the_active_profile():
    """Azathioprine 100 mg/day, eGFR 55 on 1 Mar 2026.  Under BSR 2025 the review flags
    bsr.egfr_low (caution, 'withhold and discuss'); under 'CTCAE only' (rules = []) it raises
    no flag.  The page's plan already follows the profile; its renal warning does not."""
    rows = [dose("P", "azathioprine", "2025-06-01", amount=100)]
    egfr = [lab("P", "2026-03-01", "egfr", 55.0)]
    from dashboard.rules import get_profile

    ctcae = run(
        egfr, rows, [patient("P", weight=70, tpmt="normal")], as_of="2026-03-10", profile=get_profile("CTCAE only")
    )
    assert ctcae.flags_df().empty
    ds = _dataset(
        {
            "patient_id": ["P1"],
            "drug": ["azathioprine"],
            "start": pd.to_datetime(["2025-06-01"]),
            "dose": [100.0],
            "dose_unit": ["mg"],
            "frequency": ["daily"],
            "mg_per_day": [100.0],
            "mg_per_week": [NAN],
        },
        egfr=55.0,
    )
    at = _dosing_for(ds, dt.date(2026, 3, 10), profile="CTCAE only")
    withhold = [t for t in _texts(at) if "eGFR 55" in t and "withhold" in t]
    assert not withhold, withhold


# --------------------------------------------------------------------------- F9 methotrexate above 25 mg/week


def test_f9_the_methotrexate_caution_says_no_dose_check_fires_below_the_ceiling():
    """3E: usual up to 25 mg/week, escalation to 30 (dose.mtx_above_max fires only above 30).
    27.5 mg/week: the review has no dose-check row; the mycophenolate tab in the same place
    says 'No dose check fires below 3000 mg/day (dose.mmf_above_max)', the methotrexate tab
    does not."""
    review = run(
        full_check("P", "2026-03-01"),
        [dose("P", "methotrexate", "2025-06-01", amount=27.5, frequency="weekly", route="sc")],
        [patient("P", weight=70)],
        as_of="2026-03-10",
    )
    assert review.dose_checks_df().empty
    result = dosing.methotrexate_check(27.5, "weekly", egfr=80.0, route="sc")
    [caution] = [w for w in result.warnings if w.severity == "caution"]
    assert "No dose check fires" in caution.message or "dose.mtx_above_max" in caution.message, caution.message
