"""Probe 30: dosing advice that disagrees with the project's own rules, and doses read as
numbers the source never stated.

Every record goes through the real import (``import_sources``) and the review's dose
checks (``review``), and where the Dosing page has a say, through the page's own
functions (``dosing.patient_context``).  The expected values are worked out by hand from
the limits in knowledge/data/dosing.toml and rules/data/dose_checks.toml (Imuran label
2.5 mg/kg/day, CPIC 2-3 mg/kg/day, 3E 30 mg/week, KDIGO 3 g/day, Arava 20 mg/day) and
from the instruction text itself (6 tablets of 2.5 mg = 15 mg); none is copied from the
code's output.

Each finding is a strict xfail that fails at the assert marked ``# FAILS TODAY``; the
plain tests pin behaviour that was checked and found right.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest

from dashboard import dosing, model
from dashboard.ingest import ImportOptions, Source, import_sources
from dashboard.rules.review import review

ROOT = Path(__file__).resolve().parents[1]
AS_OF = dt.date(2026, 12, 5)
LABS = "patient_id,collected_at,analyte,value,unit\nP1,2026-11-01 09:00,eGFR,70,mL/min/1.73m2\n"
DOSES_HEAD = "patient_id,drug,dose,dose_unit,frequency,route,start,end\n"
SIG_HEAD = "patient_id,drug,dose,instructions,route,start\n"
#: 60 kg, TPMT and NUDT15 normal: no genotype or weight-unknown rows in the way
PATIENT_60 = "patient_id,sex,birth_date,weight_kg,tpmt,nudt15\nP1,F,1980-01-01,60,normal,normal\n"


def _run(doses: str, patients: str = PATIENT_60, labs: str = LABS, dose_name: str = "doses.csv"):
    """(import result, accepted dose rows, dose-check rows, the doses file's report)."""
    sources = [Source("labs.csv", labs.encode()), Source(dose_name, doses.encode())]
    if patients:
        sources.append(Source("patients.csv", patients.encode()))
    r = import_sources(sources, ImportOptions(today=AS_OF))
    rv = review(r.labs, r.doses, r.patients, None, None, AS_OF)
    report = next(f for f in r.report.files if f.path == dose_name)
    return r, model.to_pandas("doses", r.doses), rv.dose_checks_df(), report


def _sig(drug: str, instructions: str, **kw):
    """One row whose dose is stated only in the instructions column."""
    return _run(f'{SIG_HEAD}P1,{drug},,"{instructions}",oral,2026-01-01\n', **kw)


# ----------------------------------------------------------------------------------------
# F1 (critical): a tablet count written as a bare number is dropped and the tablet's
# strength is read as the whole dose


@pytest.mark.parametrize(
    ("drug", "instructions", "column", "stated"),
    [
        # 6 x 2.5 mg = 15 mg once a week (the commonest methotrexate instruction)
        ("methotrexate", "Take SIX 2.5mg tablets ONCE a WEEK", "mg_per_week", 15.0),
        ("methotrexate", "2.5 mg tablets, take 6 once weekly", "mg_per_week", 15.0),
        # 14 x 2.5 mg = 35 mg/week: above the 30 mg/week ceiling (dose.mtx_above_max)
        ("methotrexate", "Take 14 2.5mg tablets once a week", "mg_per_week", 35.0),
        # 2 x 500 mg twice a day = 2000 mg/day
        ("mycophenolate mofetil", "Take two 500 mg tablets twice a day", "mg_per_day", 2000.0),
        # 4 x 50 mg = 200 mg/day = 3.33 mg/kg/day at 60 kg: above CPIC's 3 (dose.aza_above_3)
        ("azathioprine", "50 mg tablets, take 4 daily", "mg_per_day", 200.0),
    ],
)
def test_a_tablet_count_is_part_of_the_dose(drug: str, instructions: str, column: str, stated: float):
    """The instructions state the count and the strength; the dose is their product. If the
    import cannot read the count it must reject the row with its reason, never keep the
    strength alone as the dose (today: 2.5 mg/week, 1000 mg/day, 50 mg/day)."""
    _, rows, _, report = _sig(drug, instructions)
    if rows.empty:  # rejected: acceptable, with a reason
        assert report.problems
        return
    assert float(rows[column].iloc[0]) == stated  # FAILS TODAY


def test_take_6_weekly_is_not_one_tablet_every_6_weeks():
    """'2.5mg tablets take 6 weekly': six tablets once a week (15 mg/week), or, in the
    British '6-weekly', one tablet every 6 weeks? Either way the dose is not 2.5 mg every
    6 weeks (0.42 mg/week). Expected: rejected with its reason, or 15 mg weekly."""
    _, rows, _, _ = _sig("methotrexate", "2.5mg tablets take 6 weekly")
    assert rows.empty or float(rows["mg_per_week"].iloc[0]) == 15.0  # FAILS TODAY


# ----------------------------------------------------------------------------------------
# F2 (high): a dose in mg/kg or mg/m2 passes the mg/day and mg/week checks silently


def test_mycophenolate_in_mg_per_kg_is_checked_or_said_not_checkable():
    """MMF 30 mg/kg twice daily at 60 kg = 30 x 2 x 60 = 3600 mg/day, above the 3000 mg/day
    of dose.mmf_above_max (KDIGO induction top). The weight is known, so the review can
    work it out (as it does for azathioprine in mg/kg); at the least it must say that it
    could not check it."""
    _, rows, checks, _ = _run(DOSES_HEAD + "P1,mycophenolate mofetil,30,mg/kg,BID,oral,2026-01-01,\n")
    assert len(rows) == 1 and rows["dose_unit"].iloc[0] == "mg/kg"  # read as stated
    rules = set(checks["rule"])
    assert rules & {"dose.mmf_above_max", "dose.not_checkable"}  # FAILS TODAY


def test_methotrexate_in_mg_per_kg_is_checked_or_said_not_checkable():
    """0.6 mg/kg once weekly at 60 kg = 36 mg/week, above the 30 mg/week of
    dose.mtx_above_max (3E). eGFR 70: no renal row in the way."""
    _, rows, checks, _ = _run(DOSES_HEAD + "P1,methotrexate,0.6,mg/kg,weekly,oral,2026-01-01,\n")
    assert len(rows) == 1 and rows["dose_unit"].iloc[0] == "mg/kg"
    assert set(checks["rule"]) & {"dose.mtx_above_max", "dose.not_checkable"}  # FAILS TODAY


def test_mercaptopurine_in_mg_per_m2_the_page_and_the_checks_both_leave_it_unsaid():
    """Mercaptopurine 100 mg/m2/day (CPIC's normal starting dose is 75 mg/m2/day, so 133%
    of it). No body surface area is held, so no mg/kg/day can be worked out. The Dosing
    page says the dose 'is not compared with the range below ... The Patient page's dose
    checks say whether they could check it'; the dose checks must then say so (a
    dose.not_checkable row, as they give for a weight unknown)."""
    r, rows, checks, _ = _run(DOSES_HEAD + "P1,mercaptopurine,100,mg/m2,daily,oral,2026-01-01,\n")
    assert len(rows) == 1 and rows["dose_unit"].iloc[0] == "mg/m2"
    pats, doses, labs = (model.to_pandas(t, getattr(r, t)) for t in ("patients", "doses", "labs"))
    ctx = dosing.patient_context(pats, doses, labs, "P1", AS_OF)
    mg, how = ctx.current_mg_per_day("mercaptopurine", 60.0)
    assert mg is None and "dose checks say whether they could check it" in how  # the page defers
    mp = checks[checks["drug"] == "mercaptopurine"]
    assert (mp["rule"] == "dose.not_checkable").any()  # FAILS TODAY


# ----------------------------------------------------------------------------------------
# F3 (high): a weight in lb beside a weight-unit column is read as kg


def test_a_weight_unit_column_in_lb_is_not_read_as_kg():
    """154 lb = 154 x 0.45359237 = 69.85 kg. Azathioprine 200 mg/day is 2.86 mg/kg/day
    there: above the label's 2.5 (dose.aza_above_2_5, caution). Read as 154 kg it is
    1.30 mg/kg/day and nothing fires. The unit is stated in its own column: read it, or
    reject the weight with the reason; never assume kg."""
    patients = "patient_id,sex,birth_date,weight,weight_unit,tpmt,nudt15\nP1,F,1980-01-01,154,lb,normal,normal\n"
    r, _, checks, _ = _run(DOSES_HEAD + "P1,azathioprine,200,mg,daily,oral,2026-01-01,\n", patients=patients)
    weight = float(model.to_pandas("patients", r.patients)["weight_kg"].iloc[0])
    assert weight != 154.0  # FAILS TODAY
    if weight == weight:  # read in kg: the check fires
        assert "dose.aza_above_2_5" in set(checks["rule"])


# ----------------------------------------------------------------------------------------
# F4 (moderate): the weight's date is never said; a 14-year-old weight is used as today's


def test_an_old_weight_is_named_with_its_date_in_the_mg_per_kg_check():
    """Weight 80 kg measured 2012-03-01, review on 2026-12-05. Azathioprine 250 mg/day =
    3.125 mg/kg/day at 80 kg: above 3 (dose.aza_above_3). The finding rests on a weight
    14 years old; the row should say which weight and when (as the page says the eGFR's
    age beside it), so that the clinician can tell."""
    patients = (
        "patient_id,sex,birth_date,weight_kg,weight_date,tpmt,nudt15\nP1,F,1980-01-01,80,2012-03-01,normal,normal\n"
    )
    _, _, checks, _ = _run(DOSES_HEAD + "P1,azathioprine,250,mg,daily,oral,2026-01-01,\n", patients=patients)
    row = checks[checks["rule"] == "dose.aza_above_3"]
    assert len(row) == 1 and row["value"].iloc[0] == pytest.approx(3.125)
    assert "2012" in row["message"].iloc[0]  # FAILS TODAY


# ----------------------------------------------------------------------------------------
# F5 (moderate): "7,5 mg" in a decimal-comma file is rejected with a reason that quotes '7.5'


def test_a_decimal_comma_dose_with_its_unit_in_one_cell():
    """A semicolon file writes decimal commas: '7,5 mg' is 7.5 mg, exactly as '7,5' with
    'mg' in a unit column is read (test_a_decimal_comma_dose_with_a_unit_column). Today
    the row is rejected: "the decimal separator of '7.5' ('.') contradicts the file's
    (decimal commas)": a value the source never wrote."""
    doses = "patient_id;drug;dose;frequency;route;start\nP1;methotrexate;7,5 mg;weekly;oral;2026-01-01\n"
    _, rows, _, report = _run(doses)
    assert not any("'7.5'" in p.message for p in report.problems)  # FAILS TODAY
    assert len(rows) == 1 and float(rows["mg_per_week"].iloc[0]) == 7.5


# ----------------------------------------------------------------------------------------
# F6 (moderate): a ceiling or an approximation is read as the exact dose


@pytest.mark.parametrize("dose", ["up to 150 mg", "max 150 mg", "150 mg max", "~100 mg", "100 mg?"])
def test_a_ceiling_or_an_approximate_amount_is_not_the_dose(dose: str):
    """'up to 150 mg' states a ceiling, '~100 mg' an approximation, '100 mg?' a doubt: none
    states the one dose given. Rejected with its reason, as '50-100 mg' is."""
    _, rows, _, report = _run(DOSES_HEAD + f"P1,azathioprine,{dose},,daily,oral,2026-01-01,\n")
    assert rows.empty  # FAILS TODAY
    assert report.problems


# ----------------------------------------------------------------------------------------
# F7 (moderate): "200mg od/bd alternate days" is read as 200 mg every other day


def test_hydroxychloroquine_od_bd_alternate_days_is_not_100_mg_a_day():
    """200 mg once daily and twice daily on alternate days = (200 + 400) / 2 = 300 mg/day.
    Read as 200 mg every 2 days it is 100 mg/day, a third of the dose. The row holds two
    schedules: rejected with the reason (as '200mg daily, 400mg at weekends' is), or 300."""
    _, rows, _, _ = _sig("hydroxychloroquine", "200mg od/bd alternate days")
    assert rows.empty or float(rows["mg_per_day"].iloc[0]) == 300.0  # FAILS TODAY


# ----------------------------------------------------------------------------------------
# F8 (moderate): Compare states a daily maximum for leflunomide that no dose check holds


def test_leflunomide_above_the_maximum_compare_states_is_flagged():
    """drugs/leflunomide.toml usual_dose (Arava label 2.1): '20 mg once daily, at most 20 mg
    a day'. 40 mg daily for months (not the 3-day loading dose) is twice that: the review
    should flag it, as it flags HCQ above the SmPC's 400 mg/day."""
    from dashboard import knowledge

    fact = knowledge.drugs()["leflunomide"].facts["usual_dose"].value
    assert "at most 20 mg a day" in str(fact)  # what Compare tells the clinician
    _, rows, checks, _ = _run(DOSES_HEAD + "P1,leflunomide,40,mg,daily,oral,2026-01-01,\n")
    assert float(rows["mg_per_day"].iloc[0]) == 40.0
    assert (checks["drug"] == "leflunomide").any()  # FAILS TODAY


# ----------------------------------------------------------------------------------------
# F9 (low): one fact typed in two data files


def test_the_voclosporin_moderate_inhibitor_regimen_lives_once():
    """'15.8 mg in the morning and 7.9 mg in the evening' (Lupkynis, moderate CYP3A4
    inhibitor) is the regimen of interactions.toml voclosporin_moderate_cyp3a4, which the
    dose check reads; drugs/voclosporin.toml [facts.interactions] types it again, so a
    change to one does not reach the other. (references.toml, which says what was read
    in each source, may quote it.)"""
    homes = [
        p.relative_to(ROOT).as_posix()
        for p in sorted((ROOT / "dashboard").rglob("*.toml"))
        if p.name != "references.toml" and "15.8 mg in the morning" in p.read_text(encoding="utf-8")
    ]
    assert homes == ["dashboard/knowledge/data/interactions.toml"]  # FAILS TODAY


# ----------------------------------------------------------------------------------------
# Checked and found right


@pytest.mark.parametrize(
    ("drug", "dose", "unit", "freq", "mg", "out_unit", "mg_day"),
    [
        # 1.5 g = 1500 mg, twice daily = 3000 mg/day
        ("mycophenolate mofetil", "1.5 g twice daily", "", "", 1500.0, "mg", 3000.0),
        # 500 mcg = 0.5 mg, twice daily = 1 mg/day
        ("tacrolimus", "500 mcg", "", "bd", 0.5, "mg", 1.0),
        # 0.015 g = 15 mg
        ("methotrexate", "0.015", "g", "weekly", 15.0, "mg", 15.0 / 7),
        # 100 mg/m2 stays per m2: no BSA, no mg/day invented
        ("cyclophosphamide", "100mg/m2", "", "monthly", 100.0, "mg/m2", float("nan")),
        # 1 g/m2 = 1000 mg/m2
        ("cyclophosphamide", "1g/m²", "", "monthly", 1000.0, "mg/m2", float("nan")),
        # 20 mg/week, the unit names the schedule
        ("methotrexate", "20 mg/week", "", "", 20.0, "mg", 20.0 / 7),
    ],
)
def test_dose_strings_read_exactly_as_stated(drug, dose, unit, freq, mg, out_unit, mg_day):
    _, rows, _, _ = _run(DOSES_HEAD + f"P1,{drug},{dose},{unit},{freq},oral,2026-01-01,\n")
    assert len(rows) == 1
    r = rows.iloc[0]
    assert r["dose"] == pytest.approx(mg) and r["dose_unit"] == out_unit
    if mg_day == mg_day:
        assert r["mg_per_day"] == pytest.approx(mg_day, abs=1e-5)
    else:
        assert pd.isna(r["mg_per_day"])


@pytest.mark.parametrize(
    ("dose", "freq", "why"),
    [
        ("500mg-1g", "bd", "range"),
        ("2 x 50 mg bd", "", "multiplies"),
        ("as directed", "daily", "not understood"),
        ("see letter", "daily", "not understood"),
        ("1.000 mg", "bd", "thousands"),
        ("1e2 mg", "daily", "exponent"),
    ],
)
def test_doses_that_state_no_one_amount_are_rejected_with_a_reason(dose, freq, why):
    _, rows, _, report = _run(DOSES_HEAD + f"P1,mycophenolate mofetil,{dose},,{freq},oral,2026-01-01,\n")
    assert rows.empty
    assert any(why in p.message for p in report.problems)


def test_a_decimal_comma_dose_with_a_unit_column():
    """'7,5' with 'mg' in its own column, in a semicolon file: 7.5 mg once a week."""
    doses = "patient_id;drug;dose;dose_unit;frequency;route;start\nP1;methotrexate;7,5;mg;weekly;oral;2026-01-01\n"
    _, rows, _, _ = _run(doses)
    assert float(rows["mg_per_week"].iloc[0]) == 7.5


def test_a_thousands_separator_is_read_and_said():
    """'1,000 mg' twice daily: 1000 mg (2000 mg/day), with a note that the comma was read
    as a thousands separator."""
    _, rows, _, report = _run(DOSES_HEAD + 'P1,mycophenolate mofetil,"1,000 mg",,twice daily,oral,2026-01-01,\n')
    assert float(rows["mg_per_day"].iloc[0]) == 2000.0
    assert any("thousands separator" in w.message for w in report.warnings)


def test_the_tablet_count_with_the_strength_in_the_drug_name():
    """'methotrexate 2.5 mg tablets' + 'Take 6 tablets once weekly' = 6 x 2.5 = 15 mg/week."""
    _, rows, _, _ = _sig("methotrexate 2.5 mg tablets", "Take 6 tablets once weekly")
    assert float(rows["mg_per_week"].iloc[0]) == 15.0


def test_a_total_and_the_tablets_it_is_made_of():
    """'Take 100mg once daily (2 x 50mg tablets)': 2 x 50 = 100, the two agree: 100 mg/day."""
    _, rows, _, _ = _sig("azathioprine", "Take 100mg once daily (2 x 50mg tablets)")
    assert float(rows["mg_per_day"].iloc[0]) == 100.0


@pytest.mark.parametrize(
    "patients",
    [
        "patient_id,sex,birth_date,weight,tpmt,nudt15\nP1,F,1980-01-01,154 lb,normal,normal\n",
        "patient_id,sex,birth_date,weight (lbs),tpmt,nudt15\nP1,F,1980-01-01,154,normal,normal\n",
    ],
)
def test_a_weight_in_lb_is_converted(patients: str):
    """154 lb x 0.45359237 = 69.853 kg, kept to 10 g: 69.85 kg. Azathioprine 200 mg/day is
    200 / 69.85 = 2.86 mg/kg/day: above the label's 2.5 (caution), not above CPIC's 3."""
    r, _, checks, _ = _run(DOSES_HEAD + "P1,azathioprine,200,mg,daily,oral,2026-01-01,\n", patients=patients)
    assert float(model.to_pandas("patients", r.patients)["weight_kg"].iloc[0]) == pytest.approx(69.85)
    assert list(checks["rule"]) == ["dose.aza_above_2_5"]


def test_no_weight_says_the_mg_per_kg_check_cannot_be_made_and_the_daily_ceiling_still_holds():
    """HCQ 500 mg/day with no weight: the 5 mg/kg/day check cannot be made (said), the
    SmPC's 400 mg/day ceiling can (caution)."""
    patients = "patient_id,sex,birth_date\nP1,F,1980-01-01\n"
    _, _, checks, _ = _run(DOSES_HEAD + "P1,hydroxychloroquine,500,mg,daily,oral,2026-01-01,\n", patients=patients)
    rules = dict(zip(checks["rule"], checks["severity"], strict=True))
    assert rules == {"dose.hcq_above_400": "caution", "dose.not_checkable": "info"}


@pytest.mark.parametrize(
    ("drug", "dose", "freq", "rule", "per_kg"),
    [
        # 1.75 mg/kg twice daily = 3.5 mg/kg/day > 3 (CPIC): action
        ("azathioprine", 1.75, "BID", "dose.aza_above_3", 3.5),
        # 2.5 mg/kg twice daily = 5 mg/kg/day > 4 (Neoral RA maximum): caution
        ("ciclosporin", 2.5, "BID", "dose.ciclosporin_above_max", 5.0),
        # 6 mg/kg/day > 5 (EULAR/AAO real body weight)
        ("hydroxychloroquine", 6.0, "daily", "dose.hcq_above_5", 6.0),
    ],
)
def test_doses_in_mg_per_kg_of_the_per_kg_checks_are_checked(drug, dose, freq, rule, per_kg):
    _, _, checks, _ = _run(DOSES_HEAD + f"P1,{drug},{dose},mg/kg,{freq},oral,2026-01-01,\n")
    row = checks[checks["rule"] == rule]
    assert len(row) == 1 and row["value"].iloc[0] == pytest.approx(per_kg)


def test_oral_cyclophosphamide_in_mg_per_kg_counts_towards_the_cumulative_dose():
    """2 mg/kg/day at 60 kg = 120 mg/day, 1 Jan to 1 Apr 2026 = 31 + 28 + 31 = 90 days:
    120 x 90 = 10.8 g, above the 10 g ovarian threshold (Medeiros 2001), for a woman."""
    _, _, checks, _ = _run(DOSES_HEAD + "P1,cyclophosphamide,2,mg/kg,daily,oral,2026-01-01,2026-04-01\n")
    row = checks[checks["rule"] == "dose.cyc_cumulative_ovarian"]
    assert len(row) == 1 and row["value"].iloc[0] == pytest.approx(10.8)
