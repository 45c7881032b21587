"""An amount the instructions state is read as stated, or the row is rejected with its
reason; never accepted without it (probe30 "Left": H497-H500).

Every expectation is worked out by hand from the instruction text and from the limits
the data files state: 20 mg in a 0.4 mL syringe is 20 mg; 750 mg/m2 stays per m2 (no
body surface area is imported); 1.75 mg/kg twice a day is 3.5 mg/kg/day, above CPIC's
3 mg/kg/day (dose.aza_above_3); 35 mg once a week is above the 30 mg/week ceiling
(dose.mtx_above_max); methotrexate's smallest usual dose is 7.5 mg once weekly
(dosing.toml ``weekly_mg``), a tenth of it 0.75 mg; 0.05 mcg is 0.00005 mg.
"""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest

from dashboard import model
from dashboard.ingest import ImportOptions, Source, import_sources
from dashboard.ingest.amounts import amount_text
from dashboard.ingest.sig import read_sig
from dashboard.rules.review import review

AS_OF = dt.date(2026, 12, 5)
LABS = "patient_id,collected_at,analyte,value,unit\nP1,2026-11-01 09:00,eGFR,70,mL/min/1.73m2\n"
HEAD = "patient_id,drug,dose,dose_unit,frequency,route,start,end\n"
#: 60 kg, TPMT and NUDT15 normal: no genotype or weight-unknown rows in the way
PATIENT_60 = "patient_id,sex,birth_date,weight_kg,tpmt,nudt15\nP1,F,1980-01-01,60,normal,normal\n"


def _row(*cells: str) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerow(cells)
    return out.getvalue()


def _run(drug: str, dose: str = "", unit: str = "", freq: str = "", route: str = "oral"):
    """(accepted dose rows, the dose-check rules that fired, problems, warnings) of one row."""
    doses = HEAD + _row("P1", drug, dose, unit, freq, route, "2026-01-01", "")
    sources = [
        Source("labs.csv", LABS.encode()),
        Source("doses.csv", doses.encode()),
        Source("patients.csv", PATIENT_60.encode()),
    ]
    r = import_sources(sources, ImportOptions(today=AS_OF))
    rv = review(r.labs, r.doses, r.patients, None, None, AS_OF)
    rep = next(f for f in r.report.files if f.path == "doses.csv")
    checks = rv.dose_checks_df()
    rules = set(checks["rule"]) if len(checks) else set()
    problems = [p.message for p in rep.problems]
    warnings = [w.message for w in rep.warnings]
    return model.to_pandas("doses", r.doses), rules, problems, warnings


# ------------------------------------------------------------------ H497 an amount per kg, per m2 or in a volume


@pytest.mark.parametrize(
    ("drug", "instructions", "dose", "unit", "freq"),
    [
        # a prefilled syringe: 20 mg in 0.4 mL, the whole syringe given once a week
        ("methotrexate", "20mg/0.4ml weekly", 20.0, "mg", "weekly"),
        ("methotrexate", "Inject 20 mg (20mg/0.4ml) once weekly", 20.0, "mg", "weekly"),  # said twice, agreeing
        ("cyclophosphamide", "750mg/m2 monthly", 750.0, "mg/m2", "monthly"),
        ("cyclophosphamide", "750 mg/m² monthly", 750.0, "mg/m2", "monthly"),
        ("cyclophosphamide", "1 g/m2 monthly", 1000.0, "mg/m2", "monthly"),  # 1 g = 1000 mg
        ("azathioprine", "take 1.5 mg/kg daily", 1.5, "mg/kg", "daily"),
    ],
)
def test_an_amount_in_the_instructions_column_is_kept(drug, instructions, dose, unit, freq):
    rows, _, problems, _ = _run(drug, freq=instructions)
    assert not problems
    assert len(rows) == 1
    assert float(rows["dose"].iloc[0]) == dose
    assert rows["dose_unit"].iloc[0] == unit
    assert rows["frequency"].iloc[0] == freq


@pytest.mark.parametrize(
    ("drug", "instructions", "dose", "freq"),
    [
        ("methotrexate", "20mg/0.4ml weekly", "20mg/0.4ml", "weekly"),
        ("cyclophosphamide", "750mg/m2 monthly", "750mg/m2", "monthly"),
        ("azathioprine", "take 1.5 mg/kg daily", "1.5 mg/kg", "daily"),
    ],
)
def test_the_instructions_column_and_the_dose_column_read_one_amount_alike(drug, instructions, dose, freq):
    by_sig, _, _, _ = _run(drug, freq=instructions)
    by_dose, _, problems, _ = _run(drug, dose=dose, freq=freq)
    assert not problems
    cols = ["dose", "dose_unit", "frequency", "mg_per_day", "mg_per_week"]
    assert by_sig[cols].equals(by_dose[cols])


def test_the_syringe_is_said_with_its_volume():
    rows, _, _, warnings = _run("methotrexate", freq="20mg/0.4ml weekly", route="subcutaneous")
    assert float(rows["mg_per_week"].iloc[0]) == 20.0
    assert any("20 mg" in w and "0.4 ml" in w for w in warnings)


def test_a_syringe_above_the_methotrexate_ceiling_is_flagged():
    """35 mg in 0.7 mL once a week: 35 mg/week > 30 (dose.mtx_above_max)."""
    rows, rules, _, _ = _run("methotrexate", freq="35mg/0.7ml weekly", route="subcutaneous")
    assert float(rows["mg_per_week"].iloc[0]) == 35.0
    assert "dose.mtx_above_max" in rules


def test_a_dose_per_kg_from_the_instructions_is_checked():
    """1.75 mg/kg twice a day = 3.5 mg/kg/day > CPIC's 3 (dose.aza_above_3), as in the dose column."""
    rows, rules, _, _ = _run("azathioprine", freq="take 1.75 mg/kg twice daily")
    assert rows["dose_unit"].iloc[0] == "mg/kg"
    assert "dose.aza_above_3" in rules


def test_a_dose_per_m2_from_the_instructions_is_said_not_checkable():
    """No body surface area is imported: the review says so, as for the dose column."""
    _, rules, _, _ = _run("cyclophosphamide", freq="750mg/m2 monthly", route="iv")
    _, rules_dose, _, _ = _run("cyclophosphamide", dose="750mg/m2", freq="monthly", route="iv")
    assert rules == rules_dose


@pytest.mark.parametrize(
    "instructions",
    [
        "50mg/2ml, inject 1ml weekly",  # a vial and the volume given: 25 mg? not guessed
        "inject 0.6 ml of 25mg/1ml weekly",
        "1.5 mg/kg (100 mg) daily",  # per kg and a mass: which is the dose?
        "750mg/m2 (1.2 g) monthly",
        "20mg/0.4ml and 10mg/0.2ml weekly",  # two syringes named
        "2 x 20mg/0.4ml weekly",
        "Inject 15 mg (20mg/0.4ml) weekly",  # 15 mg of a 20 mg syringe? not guessed
        "2 mg/kg/day",  # a day's total per kg: the dose per administration not stated
    ],
)
def test_an_amount_per_body_or_volume_beside_another_is_rejected_with_the_reason(instructions):
    drug = "methotrexate" if "ml" in instructions else "azathioprine"
    rows, _, problems, _ = _run(drug, freq=instructions)
    assert rows.empty
    assert problems
    assert "not guessed" in problems[0] or "not the dose per administration" in problems[0]


def test_an_amount_in_a_volume_is_read_with_its_unit():
    assert read_sig("20mg/0.4ml weekly").amount == "20 mg"
    assert read_sig("750 mg/m2 monthly").amount == "750 mg/m2"
    assert read_sig("take 1500 mcg/kg daily").amount == "1.5 mg/kg"  # 1500 mcg = 1.5 mg
    assert read_sig("25 mg/ml weekly").problem  # a concentration alone is still not a dose


# ------------------------------------------------------------------ H498 an amount far below any dose of the drug


@pytest.mark.parametrize(
    ("dose", "unit", "freq"),
    [
        ("15 mcg", "", "weekly"),  # 0.015 mg
        ("15", "mcg", "weekly"),
        ("", "", "15 mcg once weekly"),
        ("0.7", "mg", "weekly"),  # below 0.75
    ],
)
def test_methotrexate_below_a_tenth_of_its_smallest_usual_dose_is_rejected(dose, unit, freq):
    rows, _, problems, _ = _run("methotrexate", dose=dose, unit=unit, freq=freq)
    assert rows.empty
    assert len(problems) == 1
    assert "7.5 mg" in problems[0]  # the smallest usual dose, from dosing.toml
    assert "not corrected" in problems[0]


@pytest.mark.parametrize(("dose", "weekly"), [("0.75", 0.75), ("2.5", 2.5), ("7.5", 7.5)])
def test_methotrexate_at_or_above_a_tenth_of_its_smallest_usual_dose_is_kept(dose, weekly):
    rows, _, problems, _ = _run("methotrexate", dose=dose, unit="mg", freq="weekly")
    assert not problems
    assert float(rows["mg_per_week"].iloc[0]) == weekly


def test_mycophenolate_in_micrograms_is_rejected():
    """250 mcg = 0.25 mg, below a tenth of the smallest MMF tablet (250 mg: 25 mg)."""
    rows, _, problems, _ = _run("mycophenolate mofetil", dose="250 mcg", freq="BID")
    assert rows.empty
    assert "250 mg" in problems[0]


def test_the_smallest_dose_is_read_from_dosing_toml():
    from dashboard.ingest.doses import smallest_usual_mg  # the one place the floor is read

    assert smallest_usual_mg("methotrexate") == 7.5
    assert smallest_usual_mg("mycophenolate mofetil") == 250.0
    assert smallest_usual_mg("mycophenolic acid") == 180.0
    assert smallest_usual_mg("rituximab") is None


# ------------------------------------------------------------------ H499 no exponent in an amount passed on as text


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (5e-05, "0.00005"),
        (0.015, "0.015"),
        (2e7, "20000000"),
        (15.0, "15"),
        (2.5, "2.5"),
        (1234567.0, "1234567"),  # every digit stated kept
        (0.1 + 0.2, "0.3"),  # no binary noise
    ],
)
def test_an_amount_text_never_uses_exponent_form(value, text):
    assert amount_text(value) == text


def test_a_tiny_amount_in_micrograms_is_passed_on_without_an_exponent():
    assert read_sig("0.05 mcg daily").amount == "0.00005 mg"  # 0.05 / 1000
    assert read_sig("20000 g daily").amount == "20000000 mg"  # 20000 x 1000


def test_a_tiny_amount_is_never_rejected_as_written_in_exponent_form():
    """0.05 mcg of azathioprine = 0.00005 mg: no dose the drug is given at, but the file never
    wrote an exponent, so no reason may say it did."""
    rows, _, problems, _ = _run("azathioprine", freq="0.05 mcg daily")
    assert not any("exponent" in p for p in problems)
    if not rows.empty:
        assert float(rows["dose"].iloc[0]) == 0.00005


# ------------------------------------------------------------------ H500 a vial's content is not the volume given


@pytest.mark.parametrize(
    ("instructions", "wrong"),
    [
        ("50mg/2ml, inject 1ml weekly", 50.0),  # 1 mL of 50 mg in 2 mL is 25 mg, not 50
        ("inject 0.6 ml of 25mg/1ml weekly", 25.0),  # 0.6 mL at 25 mg/mL is 15 mg, not 25
    ],
)
def test_a_vial_beside_the_volume_given_is_not_read_as_the_dose(instructions, wrong):
    rows, _, problems, _ = _run("methotrexate", freq=instructions, route="subcutaneous")
    assert rows.empty or float(rows["mg_per_week"].iloc[0]) != wrong
    assert rows.empty and problems  # the dose per administration is not worked out from a volume: rejected
