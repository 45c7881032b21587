"""Probe dosing21: the Dosing page's calculators under hostile or unusual inputs.

Each expectation is worked out by hand from the data files' facts (dosing.toml) and the
rules' own reading of the same record, never copied from the code's output."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from dashboard import dosing, model


def _messages(result: dosing.DoseResult) -> str:
    return "\n".join(w.message for w in result.warnings)


# ------------------------------------------------------------------ methotrexate not weekly (H385)


def test_methotrexate_10_mg_daily_is_checked_as_70_mg_a_week():
    """10 mg daily is 7 x 10 = 70 mg a week, above the 30 mg/week ceiling (dosing.toml
    absolute_max_weekly_mg; the rules' dose.mtx_above_max reads the row's mg_per_week, 70,
    and fires "action", the page's "high"), besides the daily-dosing error."""
    r = dosing.methotrexate_check(10, "daily")
    assert r.suggested_dose == 70
    assert "70 mg/week is above the 30 mg/week ceiling" in _messages(r)
    assert any(w.severity == "high" and "ceiling" in w.message for w in r.warnings)
    assert "10 mg daily = 70 mg/week" in " ".join(r.reasoning)
    assert "once weekly, folic acid" not in r.schedule  # no weekly plan is made of a daily record


def test_methotrexate_2_5_mg_twice_daily_is_35_mg_a_week():
    """2.5 mg BID: 2 x 7 x 2.5 = 35 mg/week, above 30."""
    r = dosing.methotrexate_check(2.5, "BID")
    assert r.suggested_dose == 35
    assert "35 mg/week is above the 30 mg/week ceiling" in _messages(r)


def test_methotrexate_every_n_days_with_no_number_gives_no_weekly_total():
    """'every N days' states no N: the weekly total is unknown and is said, never guessed."""
    r = dosing.methotrexate_check(15, "every N days")
    assert r.suggested_dose is None
    assert "weekly total cannot be worked out" in " ".join(r.reasoning)
    assert "ceiling" not in _messages(r)


def test_methotrexate_every_2_weeks_is_half_the_amount_a_week():
    """15 mg every 2 weeks = 7.5 mg/week: within the usual 7.5-25, no ceiling."""
    r = dosing.methotrexate_check(15, "every 2 weeks")
    assert r.suggested_dose == 7.5
    assert "ceiling" not in _messages(r)


# ------------------------------------------------------------------ prefill of the methotrexate amount (H386)


def _ctx(dose: float, freq: str, per_day: float, per_week: float) -> dosing.PatientContext:
    doses = pd.DataFrame(
        {
            "patient_id": ["P1"],
            "drug": ["methotrexate"],
            "start": pd.to_datetime(["2025-01-01"]),
            "dose": [dose],
            "dose_unit": ["mg"],
            "frequency": [freq],
            "mg_per_day": [per_day],
            "mg_per_week": [per_week],
        }
    )
    doses = model.to_pandas("doses", model.from_pandas("doses", doses))
    patients = model.to_pandas(
        "patients", model.from_pandas("patients", pd.DataFrame({"patient_id": ["P1"], "weight_kg": [70.0]}))
    )
    labs = model.empty_frame("labs")
    return dosing.patient_context(patients, doses, labs, "P1", dt.date(2025, 6, 1))


@pytest.mark.parametrize(
    ("dose", "freq", "per_day", "per_week"),
    [
        (10.0, "daily", 10.0, 70.0),
        (2.5, "BID", 5.0, 35.0),
        (15.0, "weekly", 15 / 7, 15.0),
        (20.0, "every 2 weeks", 20 / 14, 10.0),
    ],
)
def test_the_methotrexate_amount_prefilled_is_one_administration(dose, freq, per_day, per_week):
    """The page's "Dose each time (mg)" sits beside "How often": it is the amount given each time
    (10 mg daily is 10, never the weekly 70 beside "daily")."""
    assert _ctx(dose, freq, per_day, per_week).amount_per_administration("methotrexate") == pytest.approx(dose)


# ------------------------------------------------------------------ censored eGFR (H387)


def test_a_censored_egfr_keeps_its_comparator():
    labs = pd.DataFrame(
        {
            "patient_id": ["P1"],
            "collected_at": pd.to_datetime(["2025-04-01 08:00"]),
            "analyte": ["egfr"],
            "value": [30.0],
            "unit": ["mL/min/1.73m2"],
            "comparator": ["<"],
        }
    )
    labs = model.to_pandas("labs", model.from_pandas("labs", labs))
    lab = dosing.latest_lab(labs, "P1", "egfr", dt.date(2025, 6, 1))
    assert lab is not None and lab.comparator == "<" and lab.text == "<30"
    assert dosing.egfr_prefill(lab) is None  # "<30" is not the number 30


def test_an_uncensored_egfr_is_prefilled():
    lab = dosing.LabValue(55.0, dt.datetime(2025, 4, 1))
    assert dosing.egfr_prefill(lab) == 55.0 and lab.text == "55"


# ------------------------------------------------------------------ a weight the page cannot use (H388)


@pytest.mark.parametrize(
    ("weight", "words"),
    [
        (15.0, ["15 kg", "20-250 kg", "adult"]),
        (300.0, ["300 kg", "20-250 kg", "check the recorded weight"]),
        (0.0, ["0 kg", "not a possible body weight"]),
        (-5.0, ["-5 kg", "not a possible body weight"]),
    ],
)
def test_a_recorded_weight_outside_the_page_says_why(weight, words):
    note = dosing.weight_outside(weight, 20.0, 250.0)
    assert note is not None
    for w in words:
        assert w in note


def test_a_usable_or_missing_weight_needs_no_note():
    assert dosing.weight_outside(70.0, 20.0, 250.0) is None
    assert dosing.weight_outside(None, 20.0, 250.0) is None


# ------------------------------------------------------------------ a current dose in mg/kg or mg/m2 (H389)


def _aza(dose: float, unit: str) -> dosing.PatientContext:
    doses = pd.DataFrame(
        {
            "patient_id": ["P1"],
            "drug": ["azathioprine"],
            "start": pd.to_datetime(["2025-01-01"]),
            "dose": [dose],
            "dose_unit": [unit],
            "frequency": ["daily"],
            "mg_per_day": [float("nan")],
            "mg_per_week": [float("nan")],
        }
    )
    doses = model.to_pandas("doses", model.from_pandas("doses", doses))
    patients = model.to_pandas(
        "patients", model.from_pandas("patients", pd.DataFrame({"patient_id": ["P1"], "weight_kg": [60.0]}))
    )
    return dosing.patient_context(patients, doses, model.empty_frame("labs"), "P1", dt.date(2025, 6, 1))


def test_a_current_dose_in_mg_per_kg_is_compared_at_the_weight_used():
    """3 mg/kg daily at 60 kg = 180 mg/day; the rules compare 3 mg/kg/day with 2.5 (caution),
    the page 180 mg/day with 2.5 x 60 = 150: the same comparison."""
    mg, note = _aza(3.0, "mg/kg").current_mg_per_day("azathioprine", 60.0)
    assert mg == pytest.approx(180.0)
    assert "3 mg/kg/day x 60 kg = 180 mg/day" in note
    r = dosing.thiopurine_dose("azathioprine", 60.0, "normal", "normal")
    check = dosing.current_dose_check(r, mg)
    assert check is not None and check.severity == "caution"
    assert "Current dose 180 mg/day is above the calculated range (120-150 mg/day)" in check.message


def test_a_dose_before_allopurinol_in_mg_per_kg_is_said_not_silently_replaced():
    """3 mg/kg daily, allopurinol about to be added: the reduction starts from a daily amount
    in mg the record does not state, so the field stays empty (never a guessed weight) and
    the page says why the standard dose is used instead."""
    ctx = _aza(3.0, "mg/kg")
    assert ctx.dose_before_allopurinol("azathioprine") is None
    note = ctx.dose_before_allopurinol_unread("azathioprine")
    assert "3 mg/kg" in note and "not a daily amount in mg" in note and "standard dose is used" in note
    doses = _aza(100.0, "mg").current
    doses["mg_per_day"] = 100.0
    in_mg = dosing.PatientContext("P1", dt.date(2025, 6, 1), 60.0, current=doses, history=doses)
    assert in_mg.dose_before_allopurinol("azathioprine") == 100.0
    assert in_mg.dose_before_allopurinol_unread("azathioprine") == ""


def test_a_current_dose_in_mg_per_m2_is_said_not_compared():
    mg, note = _aza(50.0, "mg/m2").current_mg_per_day("azathioprine", 60.0)
    assert mg is None
    assert "50 mg/m2" in note and "not compared" in note


def test_a_current_dose_in_mg_needs_no_note():
    doses = _aza(100.0, "mg").current
    doses["mg_per_day"] = 100.0
    ctx = dosing.PatientContext("P1", dt.date(2025, 6, 1), 60.0, current=doses, history=doses)
    assert ctx.current_mg_per_day("azathioprine", 60.0) == (100.0, "")


# ------------------------------------------------------------------ no eGFR (H390)


def test_methotrexate_with_no_egfr_says_the_renal_limits_are_not_applied():
    """dosing.toml [[methotrexate.renal]]: contraindicated below 30, caution below 60; with
    no eGFR neither can be applied, and the page said nothing."""
    r = dosing.methotrexate_check(15, egfr=None)
    missing = [w for w in r.warnings if w.message.startswith("No eGFR")]
    assert len(missing) == 1 and missing[0].severity == "info"
    assert "below 30" in missing[0].message and "below 60" in missing[0].message
    assert missing[0].refs == ("mtx_uk_smpc",)
    assert not [w for w in dosing.methotrexate_check(15, egfr=90).warnings if w.message.startswith("No eGFR")]


def test_mycophenolate_mofetil_with_no_egfr_says_its_renal_cap_is_not_applied():
    """[mycophenolate.renal]: at most 2000 mg/day below eGFR 25; with no eGFR the range
    (up to 3000 mg/day in induction) is given without it, and now says so."""
    r = dosing.mycophenolate_dose("induction", "MMF", egfr=None)
    missing = [w.message for w in r.warnings if w.message.startswith("No eGFR")]
    assert len(missing) == 1 and "2000 mg/day below eGFR 25" in missing[0]
    assert not [w for w in dosing.mycophenolate_dose("induction", "MMF", egfr=40).warnings if "No eGFR" in w.message]


@pytest.mark.parametrize("drug", ["azathioprine", "mercaptopurine"])
def test_a_thiopurine_with_no_egfr_says_its_renal_caution_is_not_applied(drug):
    r = dosing.thiopurine_dose(drug, 70.0, "normal", "normal", egfr=None)
    missing = [w.message for w in r.warnings if w.message.startswith("No eGFR")]
    assert len(missing) == 1 and "below eGFR 60" in missing[0]


# ------------------------------------------------------------------ an as-of date before the drug started (H391)


def test_a_drug_that_starts_after_the_as_of_date_is_named_with_its_start():
    doses = pd.DataFrame(
        {
            "patient_id": ["P1", "P1"],
            "drug": ["cyclophosphamide", "cyclophosphamide"],
            "start": pd.to_datetime(["2025-08-01", "2025-07-01"]),
            "dose": [500.0, 500.0],
            "dose_unit": ["mg", "mg"],
            "frequency": ["single", "single"],
            "route": ["iv", "iv"],
        }
    )
    doses = model.to_pandas("doses", model.from_pandas("doses", doses))
    assert dosing.no_dose_by(doses, "P1", "cyclophosphamide", dt.date(2025, 6, 1)) == (
        "No cyclophosphamide on or before 01 Jun 2025, the as-of date: its first dose in the history is on "
        "01 Jul 2025, after it."
    )
    assert dosing.no_dose_by(doses, "P2", "cyclophosphamide", dt.date(2025, 6, 1)) == (
        "The selected patient has no cyclophosphamide in the dose history."
    )


# ------------------------------------------------------------------ a censored eGFR placed as the rules place it (H401)

DRAWN = dt.datetime(2025, 4, 1, 8, 0)


def _censored(text: str) -> dosing.LabValue:
    cmp = text.rstrip("0123456789.")
    return dosing.LabValue(float(text[len(cmp) :]), DRAWN, cmp)


@pytest.mark.parametrize(
    ("egfr", "limit", "below"),
    [
        ("<30", 30.0, True),  # every value under 30 is under 30
        ("<30", 60.0, True),
        ("<45", 30.0, None),  # 44 or 20: cannot tell
        ("<45", 60.0, True),
        ("<=30", 30.0, None),  # may be 30 itself, which is not below 30
        ("<=29", 30.0, True),
        (">60", 60.0, False),  # above 60: below neither limit
        (">=60", 60.0, False),
        (">29", 30.0, None),  # 29.5 or 90: cannot tell
    ],
)
def test_a_censored_egfr_is_placed_against_a_limit_as_the_dose_checks_place_it(egfr, limit, below):
    assert dosing.egfr_below(_censored(egfr), limit) is below


def test_a_number_is_below_a_limit_only_when_under_it():
    assert dosing.egfr_below(29.9, 30.0) is True
    assert dosing.egfr_below(30.0, 30.0) is False


def test_methotrexate_with_an_egfr_of_under_30_is_given_the_band_below_30():
    """dosing.toml: methotrexate "high" below 30, "caution" below 60; the rules fire
    dose.mtx_renal_contraindicated for "<30".  The page now says the same, with the result
    as stated, and no "No eGFR entered"."""
    r = dosing.methotrexate_check(15.0, "weekly", egfr=_censored("<30"))
    high = [w for w in r.warnings if w.severity == "high" and "eGFR <30" in w.message]
    assert len(high) == 1
    assert "No eGFR entered" not in _messages(r)


def test_methotrexate_with_an_egfr_of_under_45_says_the_band_below_30_cannot_be_told():
    """ "<45": below 60 for sure (caution), below 30 cannot be told (said, as the dose checks' not-checkable row)."""
    r = dosing.methotrexate_check(15.0, "weekly", egfr=_censored("<45"))
    assert any(w.severity == "info" and "whether it is below 30 cannot be told" in w.message for w in r.warnings)
    assert any(w.severity == "caution" and w.message.startswith("eGFR <45: ") for w in r.warnings)
    assert not any(w.severity == "high" for w in r.warnings)


def test_mycophenolate_mofetil_capped_for_an_egfr_under_20_not_for_one_under_40():
    """dosing.toml: at most 2000 mg/day below eGFR 25.  "<20" is below 25: capped; "<40"
    cannot be placed against 25: not capped, and said."""
    capped = dosing.mycophenolate_dose("maintenance", "MMF", egfr=_censored("<20"))
    assert "eGFR <20 (below 25): at most 2000 mg/day." in capped.reasoning
    assert capped.adjusted_range is not None and capped.adjusted_range[1] <= 2000
    unsure = dosing.mycophenolate_dose("maintenance", "MMF", egfr=_censored("<40"))
    assert not any("at most 2000 mg/day" in line for line in unsure.reasoning)
    assert "whether it is below 25 cannot be told" in _messages(unsure)


def test_hydroxychloroquine_with_an_egfr_above_90_has_no_renal_word():
    r = dosing.hydroxychloroquine_dose(70.0, egfr=_censored(">90"))
    assert "eGFR" not in _messages(r)


def test_the_limits_use_the_number_entered_else_a_censored_result():
    lab = _censored("<30")
    assert dosing.egfr_for_limits(55.0, lab) == 55.0  # the clinician's number wins
    assert dosing.egfr_for_limits(None, lab) is lab
    assert dosing.egfr_for_limits(None, dosing.LabValue(55.0, DRAWN)) is None  # a number cleared on purpose
    assert dosing.egfr_for_limits(None, None) is None


def test_the_age_of_a_result_is_said_in_days_before_the_as_of_date():
    """1 Apr 2025 to 5 Dec 2026: 30 (the rest of April) + 31 + 30 + 31 + 31 + 30 + 31 + 30 + 31
    (May-Dec 2025) = 275 days to 1 Jan 2026, then 31 + 28 + 31 + 30 + 31 + 30 + 31 + 31 + 30
    + 31 + 30 + 4 = 338 days to 5 Dec 2026: 613."""
    assert dosing.days_before(DRAWN, dt.date(2026, 12, 5)) == "613 days before 05 Dec 2026"
    assert dosing.days_before(DRAWN, dt.date(2025, 4, 2)) == "1 day before 02 Apr 2025"
    assert dosing.days_before(DRAWN, dt.date(2025, 4, 1)) == "on that day"


@pytest.mark.parametrize(
    ("days", "frequency", "weekly_only"),
    [(1, "daily", False), (3, "every 3 days", False), (7, "weekly", True), (14, "every 2 weeks", False)],
)
def test_methotrexate_every_n_days_is_the_frequency_the_import_writes(days, frequency, weekly_only):
    """Every 7 days is once weekly (the import and the dose checks say "weekly"): never the
    not-weekly error; every 3 days is (15 x 7 / 3 = 35 mg/week); every 14 days is every 2 weeks."""
    assert dosing.every_days(days) == frequency
    r = dosing.methotrexate_check(15.0, dosing.every_days(days), egfr=80.0)
    contraindicated = [w for w in r.warnings if w.severity == "contraindicated"]
    assert (not contraindicated) is (weekly_only or days == 14)
