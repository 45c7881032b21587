"""A real chemotherapy case end to end: MIMIC-III admission 186361 (subject 40310;
tests/fixtures/mimic3/SOURCES.md) through the importer, the rules and the timeline.

The patient received methotrexate and cyclophosphamide and fell to a WBC of 0.1 and
platelets of 11 x10^9/L: the review must grade both CTCAE 4 with the rule, threshold,
source and the doses being taken, and the timeline must show the doses above them.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from dashboard.dataset import Dataset
from dashboard.figures.timeline import GRADE_STYLE, TimelineOptions, timeline_figure
from dashboard.ingest import ImportOptions, import_paths
from dashboard.rules import get_profile, review_dataset
from tests.support import FIXTURES

AS_OF = dt.date(2144, 9, 30)  # MIMIC shifts dates into the 2100s
PATIENT = "40310"
FILES = (
    "D_LABITEMS_cbc.csv",
    "LABEVENTS_cbc_3admissions.csv",
    "PRESCRIPTIONS_immunosuppressants.csv",
    "PATIENTS_immunosuppressed.csv",
)


@pytest.fixture(scope="module")
def case():
    result = import_paths([FIXTURES / "mimic3" / n for n in FILES], ImportOptions(today=dt.date(2026, 11, 25)))
    ds = Dataset.from_import(result, "MIMIC-III demo", AS_OF)
    review = review_dataset(ds, None, AS_OF)
    return ds.for_patient(PATIENT), review.for_patient(PATIENT)


@pytest.fixture(scope="module")
def timeline(case) -> dict:
    one, review = case
    patient = one.patients.iloc[0] if len(one.patients) else None
    return timeline_figure(
        one.labs,
        one.doses,
        review.flags_df(),
        review.intervals_df(),
        get_profile(None),
        patient,
        TimelineOptions(as_of=AS_OF),
    ).to_dict()


def ctcae(flags: pd.DataFrame, analyte: str) -> pd.DataFrame:
    return flags[(flags["analyte"] == analyte) & (flags["kind"] == "ctcae")]


@pytest.mark.parametrize(("analyte", "lowest", "threshold"), [("wbc", 0.1, 1.0), ("platelets", 11.0, 25.0)])
def test_grade_4_with_rule_threshold_source_and_doses(case, analyte, lowest, threshold):
    _, review = case
    g4 = ctcae(review.flags_df(), analyte)
    g4 = g4[g4["ctcae_grade"] == 4]
    assert len(g4), f"{analyte}: no grade 4"
    worst = g4.loc[g4["value"].idxmin()]
    assert worst["value"] == pytest.approx(lowest)
    assert worst["unit"] == "10^9/L"
    assert worst["rule"] == f"ctcae.{analyte}"
    assert worst["threshold"] == pytest.approx(threshold)
    assert worst["source"] == "CTCAE v5.0 [nci_ctcae5]"
    assert worst["severity"] == "urgent"
    # the nadir comes within two weeks of the cyclophosphamide pulse; the flag says how long after
    assert 0 < worst["days_since_pulse"] <= 14
    assert str(worst["message"]).strip()


def test_first_grade_4_white_count_follows_the_cyclophosphamide(case):
    _, review = case
    g4 = ctcae(review.flags_df(), "wbc")
    first = g4[g4["ctcae_grade"] == 4]["collected_at"].min()
    assert pd.Timestamp("2144-07-21") < first < pd.Timestamp("2144-07-31")  # after the 21 July cycle
    row = g4[g4["collected_at"] == first].iloc[0]
    assert "Cyclophosphamide 600 mg" in row["active_doses"] and "Methotrexate" in row["active_doses"]


def test_overlapping_records_of_one_dose_are_named_once_with_their_count(case):
    _, review = case
    f = review.flags_df()
    doses = f[f["collected_at"] == pd.Timestamp("2144-07-25 03:08")]["active_doses"].iloc[0]
    assert doses == "Methotrexate 12 mg (frequency unknown) (2 overlapping records)"


def test_at_the_nadir_the_patient_is_urgent_and_after_recovery_no_longer(case):
    one, review = case
    at_nadir = review_dataset(one, None, dt.date(2144, 7, 28)).summary_df().iloc[0]
    assert at_nadir["urgency"] == "urgent" and at_nadir["max_ctcae_grade"] == 4
    assert at_nadir["ctcae_wbc"] == 4 and at_nadir["ctcae_platelets"] == 4
    later = review.summary_df().iloc[0]  # 30 September: counts back to grade 1-2
    assert later["max_ctcae_grade"] < 4 and later["urgency"] != "urgent"
    assert later["flags_total"] > 100  # the history keeps every grade-4 reading


def test_timeline_shows_the_chemotherapy_over_the_counts(timeline):
    fig = timeline
    names = {str(t.get("name", "")) for t in fig["data"]}
    assert any(n.startswith("Methotrexate") for n in names)
    assert any(n.startswith("Cyclophosphamide") for n in names)
    titles = [a["text"] for a in fig["layout"]["annotations"]]
    assert any(t.startswith("WBC") for t in titles) and any(t.startswith("Platelets") for t in titles)
    label4 = GRADE_STYLE[4][2]
    points = [
        (h, y)
        for t in fig["data"]
        if str(t.get("name", "")).startswith(label4)
        for h, y in zip(t["customdata"], t["y"], strict=True)
    ]
    wbc = [y for h, y in points if "<br>WBC <b>" in h]
    plt = [y for h, y in points if "<br>Platelets <b>" in h]
    assert min(wbc) == pytest.approx(0.1) and min(plt) == pytest.approx(11.0)  # plotted at the real values
    starts = {str(s["x0"])[:10] for s in fig["layout"]["shapes"] if s.get("line", {}).get("dash") == "dot"}
    assert {"2144-07-21", "2144-08-08", "2144-08-16"} <= starts  # dose changes marked across the panels


def test_hover_of_the_platelet_nadir_names_the_pulse_not_an_empty_dose_list(timeline):
    fig = timeline
    [hover] = [
        h
        for t in fig["data"]
        for h in (t.get("customdata") or [])
        if isinstance(h, str) and "01 Aug 2144 12:17" in h and "Platelets <b>11</b>" in h
    ]
    text = hover.replace("<br>", " ")
    # issue 15 item 7: the dose context names what ended instead of "none running"
    assert "Doses: no dose in force (Methotrexate 12 mg (frequency unknown) ended 2144-07-27, 5 d before)" in text
    assert "11 d after the last pulse" in text
