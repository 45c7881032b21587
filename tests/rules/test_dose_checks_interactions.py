"""Interactions as dose checks (issue 17): both drugs in the dose history, overlapping.

Expected values are read by hand from the sources in knowledge/data/interactions.toml:

* methotrexate + trimethoprim or co-trimoxazole (Medsafe Prescriber Update 43(1), 2022):
  avoid whenever possible; otherwise warn the patient and check the full blood count.
  Not "contraindicated" -> severity "action".
* voclosporin + a strong CYP3A4 inhibitor: contraindicated (Lupkynis label) -> "urgent".
* voclosporin + a moderate CYP3A4 inhibitor: 15.8 mg in the morning and 7.9 mg in the
  evening, i.e. at most 15.8 + 7.9 = 23.7 mg a day; the usual 23.7 mg twice daily
  (47.4 mg a day) is above it.
* tacrolimus + a strong CYP3A4 inhibitor: monitor trough levels, reduce the dose
  -> "action"; + a moderate one: monitor levels -> "caution".
* azathioprine or mercaptopurine + ribavirin: avoid where possible -> "action".
"""

from __future__ import annotations

import pandas as pd
import pytest

from dashboard.rules import dose_checks
from dashboard.rules.baselines import monitored_drugs
from dashboard.rules.inputs import D
from tests.rules.builders import dose, lab, patient, run


def checks(doses, as_of="2024-12-31") -> pd.DataFrame:
    return run([], doses, [patient("P1", weight=70, tpmt="normal", nudt15="normal")], as_of=as_of).dose_checks_df()


def only(df: pd.DataFrame, rule: str) -> pd.DataFrame:
    return df[df["rule"] == rule]


MTX = dose("P1", "methotrexate", "2024-01-01", amount=15, frequency="weekly")


def test_methotrexate_with_a_trimethoprim_course_is_flagged_for_the_overlap():
    tmp = dose("P1", "trimethoprim", "2024-06-01", "2024-06-08", amount=200, frequency="BID")
    df = only(checks([MTX, tmp]), "dose.mtx_trimethoprim")
    assert len(df) == 1
    row = df.iloc[0]
    assert (row["drug"], row["with_drug"], row["severity"]) == ("methotrexate", "trimethoprim", "action")
    assert (row["start"], row["end"]) == (pd.Timestamp("2024-06-01"), pd.Timestamp("2024-06-08"))
    assert row["status"] == "closed"  # the course ended before the review date
    assert "avoid" in row["message"] and "full blood count" in row["message"]
    assert "contraindicated" not in row["message"].lower()
    assert "Medsafe" in row["source"]


def test_co_trimoxazole_in_force_on_the_review_date_is_open():
    ctx = dose("P1", "co-trimoxazole", "2024-12-20", amount=960, frequency="BID")
    df = only(checks([MTX, ctx]), "dose.mtx_trimethoprim")
    assert df["with_drug"].tolist() == ["co-trimoxazole"]
    assert df["status"].tolist() == ["open"]


def test_no_overlap_no_flag():
    before = dose("P1", "trimethoprim", "2023-03-01", "2023-03-08", amount=200, frequency="BID")
    assert only(checks([MTX, before]), "dose.mtx_trimethoprim").empty


def test_voclosporin_with_a_strong_cyp3a4_inhibitor_is_contraindicated():
    voc = dose("P1", "voclosporin", "2024-01-01", amount=23.7, frequency="BID")
    clari = dose("P1", "clarithromycin", "2024-05-01", "2024-05-08", amount=500, frequency="BID")
    df = only(checks([voc, clari]), "dose.voclosporin_strong_cyp3a4")
    assert df["severity"].tolist() == ["urgent"]
    assert "contraindicated" in df["message"].iloc[0]
    assert "Lupkynis" in df["source"].iloc[0]


@pytest.mark.parametrize(
    ("amount", "frequency", "fires"),
    [
        (23.7, "BID", True),  # 47.4 mg/day > 23.7
        (15.8, "BID", True),  # 31.6 mg/day > 23.7 (the renal-impairment dose is still too high)
        (23.7, "daily", False),  # 15.8 am + 7.9 pm = 23.7 mg/day: not above
        (7.9, "BID", False),  # 15.8 mg/day
    ],
)
def test_voclosporin_with_a_moderate_inhibitor_needs_the_reduced_dose(amount, frequency, fires):
    voc = dose("P1", "voclosporin", "2024-01-01", amount=amount, frequency=frequency)
    dil = dose("P1", "diltiazem", "2024-03-01", amount=180, frequency="daily")
    df = only(checks([voc, dil]), "dose.voclosporin_moderate_cyp3a4")
    assert (len(df) == 1) is fires
    if fires:
        row = df.iloc[0]
        assert row["value"] == pytest.approx(amount * {"BID": 2, "daily": 1}[frequency])
        assert (row["threshold"], row["value_unit"], row["severity"]) == (23.7, "mg/day", "action")
        assert "15.8 mg in the morning and 7.9 mg in the evening" in row["message"]


def test_voclosporin_dose_unknown_with_a_moderate_inhibitor_is_said_not_skipped():
    voc = dose("P1", "voclosporin", "2024-01-01", frequency="BID")  # no amount
    dil = dose("P1", "verapamil", "2024-03-01", amount=80, frequency="TID")
    df = only(checks([voc, dil]), "dose.voclosporin_moderate_cyp3a4")
    assert df["severity"].tolist() == ["action"]
    assert "cannot be checked" in df["message"].iloc[0]


def test_tacrolimus_strong_and_moderate_inhibitors():
    tac = dose("P1", "tacrolimus", "2024-01-01", amount=2, frequency="BID")
    itra = dose("P1", "itraconazole", "2024-02-01", "2024-03-01", amount=200, frequency="daily")
    flu = dose("P1", "fluconazole", "2024-06-01", "2024-06-08", amount=150, frequency="daily")
    df = checks([tac, itra, flu])
    assert only(df, "dose.tacrolimus_strong_cyp3a4")["severity"].tolist() == ["action"]
    assert only(df, "dose.tacrolimus_moderate_cyp3a4")["severity"].tolist() == ["caution"]
    assert "trough" in only(df, "dose.tacrolimus_strong_cyp3a4")["message"].iloc[0]


@pytest.mark.parametrize("drug", ["azathioprine", "mercaptopurine"])
def test_thiopurine_with_ribavirin(drug):
    thio = dose("P1", drug, "2024-01-01", amount=50, frequency="daily")
    riba = dose("P1", "ribavirin", "2024-04-01", "2024-10-01", amount=400, frequency="BID")
    df = only(checks([thio, riba]), "dose.thiopurine_ribavirin")
    assert df["severity"].tolist() == ["action"]
    assert "pancytopenia" in df["message"].iloc[0]


def test_every_interaction_has_a_dose_check_and_the_check_says_the_sources_words():
    from dashboard import knowledge

    ids = {c.get("interaction") for c in dose_checks.checks()}
    assert set(knowledge.interactions()) <= ids
    for check in dose_checks.checks():
        if "interaction" in check:
            fact = knowledge.interactions()[check["interaction"]]
            assert check["severity"] == fact.severity
            assert fact.wording in check["message"] and fact.advice in check["message"]


def test_co_medications_are_not_monitored_drugs():
    """Reading an antibiotic or an antifungal never makes a patient 'on a monitored drug':
    no schedule, no baseline boundary, no dose change of the immunosuppressant."""
    for drug in ("trimethoprim", "co-trimoxazole", "clarithromycin", "diltiazem", "ribavirin"):
        assert not monitored_drugs()[D[drug]], drug
    rv = run(
        [lab("P1", "2024-02-01", "wbc", 6.0), lab("P1", "2024-09-01", "wbc", 3.0)],
        [dose("P1", "trimethoprim", "2024-06-01", "2024-06-08", amount=200, frequency="BID")],
        [patient("P1", weight=70)],
    )
    assert rv.schedule_df().empty
    assert rv.dose_checks_df().empty
    flags = rv.flags_df()
    assert not flags["after_increase"].any()  # the antibiotic start is not a dose change


def test_a_trimethoprim_start_is_not_a_methotrexate_dose_change():
    rv = run(
        [lab("P1", "2024-06-20", "wbc", 3.0)],
        [MTX, dose("P1", "trimethoprim", "2024-06-10", "2024-06-17", amount=200, frequency="BID")],
        [patient("P1", weight=70)],
    )
    flag = rv.flags_df().iloc[0]
    # methotrexate started on 1 Jan 2024: 31+29+31+30+31 = 152 days to 1 June, +19 = 171
    assert flag["days_since_dose_change"] == 171
    assert not flag["after_increase"]
