"""Audit 8: findings in today's change (dose instructions, leflunomide maximum, weight
units) pinned as strict xfails.  Each record goes through the real import and review;
the expected values are worked out by hand from the instruction text and the limits in
knowledge/data/dosing.toml and rules/data/dose_checks.toml, never copied from the code.
"""

from __future__ import annotations

import datetime as dt

import pytest

from dashboard import model
from dashboard.ingest import ImportOptions, Source, import_sources
from dashboard.rules.review import review

AS_OF = dt.date(2026, 12, 5)
LABS = "patient_id,collected_at,analyte,value,unit\nP1,2026-11-01 09:00,eGFR,70,mL/min/1.73m2\n"
DOSES_HEAD = "patient_id,drug,dose,dose_unit,frequency,route,start,end\n"
SIG_HEAD = "patient_id,drug,dose,instructions,route,start\n"
PATIENT_60 = "patient_id,sex,birth_date,weight_kg,tpmt,nudt15\nP1,F,1980-01-01,60,normal,normal\n"


def _run(doses: str, patients: str = PATIENT_60):
    sources = [Source("labs.csv", LABS.encode()), Source("doses.csv", doses.encode())]
    sources.append(Source("patients.csv", patients.encode()))
    r = import_sources(sources, ImportOptions(today=AS_OF))
    rv = review(r.labs, r.doses, r.patients, None, None, AS_OF)
    report = next(f for f in r.report.files if f.path == "doses.csv")
    return r, model.to_pandas("doses", r.doses), rv.dose_checks_df(), report


def _sig(drug: str, instructions: str):
    return _run(f'{SIG_HEAD}P1,{drug},,"{instructions}",oral,2026-01-01\n')


def test_a1_two_counts_at_two_times_of_day_are_not_one_dose_a_day():
    """2 tablets of 50 mg in the morning and 2 at night = 200 mg/day = 3.33 mg/kg/day at
    60 kg, above CPIC's 3 (dose.aza_above_3).  Read as 2 tablets once daily (100 mg/day)
    the check passes; before the change the row was 'not checkable'."""
    _, rows, _checks, report = _sig("azathioprine 50 mg tablets", "take 2 in the morning and 2 at night")
    if rows.empty:  # rejected with a reason: acceptable
        assert report.problems
        return
    assert float(rows["mg_per_day"].iloc[0]) == 200.0  # FAILS TODAY: 100


@pytest.mark.parametrize(
    ("drug", "instructions", "guess"),
    [
        # 5 tablets (25 mg) or 5 mg? the count equals the strength: not guessed
        ("prednisolone 5mg tablets", "take 5 daily", 25.0),
        # 400 tablets of 200 mg (80 g) is no dose: 400 mg is meant, or ask
        ("hydroxychloroquine 200 mg tablets", "take 400 twice daily", 80000.0),
    ],
)
def test_a2_a_bare_number_beside_the_products_strength_is_not_guessed_to_be_tablets(drug, instructions, guess):
    _, rows, _, report = _sig(drug, instructions)
    if rows.empty:
        assert report.problems
        return
    assert float(rows["dose"].iloc[0]) != guess  # FAILS TODAY


def test_a3_eight_tablets_of_2_5_mg_stated_as_20_mg_are_20_mg():
    """8 x 2.5 mg = 20 mg, the total the text states: read before the change, rejected now
    as '8 tablets of 20 mg, or 20 mg 8 times?'."""
    _, rows, _, _ = _sig("methotrexate 2.5 mg tablets", "take 8 once a week (20mg)")
    assert len(rows) == 1  # FAILS TODAY: rejected
    assert float(rows["mg_per_week"].iloc[0]) == 20.0


def test_a4_a_per_kg_equivalent_in_brackets_is_not_the_dose():
    """'100 mg daily (~2 mg/kg)': the dose is 100 mg; '~2 mg/kg' is its per-kg equivalent,
    not an approximate amount.  Read before the change; rejected now quoting '~2 mg'."""
    _, rows, _, _ = _sig("azathioprine", "100 mg daily (~2 mg/kg)")
    assert len(rows) == 1  # FAILS TODAY
    assert float(rows["mg_per_day"].iloc[0]) == 100.0


def test_a5_nine_days_of_100_mg_leflunomide_in_three_rows_is_above_the_maximum():
    """Arava 2.1: 100 mg once daily for 3 days only.  Nine days of 100 mg/day written as
    three 3-day rows are six days above the 20 mg/day maximum (dose.lef_above_max)."""
    doses = DOSES_HEAD + "".join(
        f"P1,leflunomide,100,mg,daily,oral,{a},{b}\n"
        for a, b in (("2026-11-01", "2026-11-04"), ("2026-11-04", "2026-11-07"), ("2026-11-07", "2026-11-10"))
    )
    _, _, checks, _ = _run(doses)
    assert "dose.lef_above_max" in set(checks["rule"])  # FAILS TODAY


def test_a5_a_leflunomide_loading_dose_beside_methotrexate_is_not_exempt():
    """Arava 2.1 (dosing.toml [leflunomide.loading] note): no loading dose where the risk
    is high, 'e.g. with methotrexate or another immunosuppressant'."""
    doses = (
        DOSES_HEAD
        + "P1,leflunomide,100,mg,daily,oral,2026-11-01,2026-11-04\n"
        + "P1,methotrexate,15,mg,weekly,oral,2026-01-01,\n"
    )
    _, _, checks, _ = _run(doses)
    assert "dose.lef_above_max" in set(checks["rule"])  # FAILS TODAY


def test_a6_a_blank_weight_unit_cell_leaves_the_weight_unknown_not_the_tpmt():
    """A weight whose unit cell is blank cannot be read (H453), but the patient's TPMT
    status is not in doubt: azathioprine in a TPMT poor metaboliser is 'urgent'
    (dose.thiopurine_poor_metaboliser), as when the weight has no unit at all (H496)."""
    patients = "patient_id,sex,birth_date,weight,weight_unit,tpmt,nudt15\nP1,F,1980-01-01,60,,poor metabolizer,normal\n"
    _, _, checks, _ = _run(DOSES_HEAD + "P1,azathioprine,150,mg,daily,oral,2026-01-01,\n", patients)
    assert "dose.thiopurine_poor_metaboliser" in set(checks["rule"])  # FAILS TODAY
