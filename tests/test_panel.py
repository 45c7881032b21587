"""The panel table: urgency order, latest values, sparklines, filters, counts."""

import datetime as dt

import pytest

from dashboard.dataset import Dataset
from dashboard.panel import PanelFilter, filter_panel, panel_counts, panel_table, trend_column, value_column
from dashboard.rules import review_dataset
from tests.support import P6_AS_OF, P6_HEAD, ROOT, full_check, p6_workspace


@pytest.fixture(scope="module")
def sample():
    from dashboard.ingest import import_paths
    from dashboard.sample import extract_date

    r = import_paths([ROOT / "sample_data" / n for n in ("labs.csv", "doses.csv", "patients.csv")])
    ds = Dataset.from_import(r, "sample", extract_date(ROOT / "sample_data"))
    rv = review_dataset(ds, None, ds.extract_date)
    return ds, rv, panel_table(ds, rv)


def test_one_row_per_patient_in_urgency_order(sample):
    ds, rv, table = sample
    assert len(table) == len(ds.patient_ids)
    assert list(table["Rank"]) == list(range(1, len(table) + 1))
    assert list(table["Patient"]) == list(rv.summary_df()["patient_id"])
    severities = list(table["_severity"])
    assert severities[0] >= max(severities[1:])


def test_latest_values_with_dates_and_sparklines(sample):
    ds, _rv, table = sample
    row = table[table["Patient"] == "SLE-017"].iloc[0]
    labs = ds.labs[(ds.labs["patient_id"] == "SLE-017") & (ds.labs["analyte"] == "neutrophils")].sort_values(
        "collected_at"
    )
    last = labs.iloc[-1]
    assert row[value_column("neutrophils")].startswith(f"{last['value']:.3g}")
    assert last["collected_at"].strftime("%Y-%m-%d") in row[value_column("neutrophils")]
    spark = row[trend_column("neutrophils")]
    assert len(spark) == min(12, len(labs)) and spark[-1] == pytest.approx(last["value"])


def test_us_units_convert_the_latest_values(sample):
    ds, rv, _ = sample
    us = panel_table(ds, rv, "US")
    row = us[us["Patient"] == "SLE-017"].iloc[0]
    hb = (
        ds.labs[(ds.labs["patient_id"] == "SLE-017") & (ds.labs["analyte"] == "hemoglobin")]
        .sort_values("collected_at")
        .iloc[-1]
    )
    assert row[value_column("hemoglobin", "US")].startswith(f"{hb['value'] / 10:.3g}")


def test_filters(sample):
    _ds, _rv, table = sample
    assert list(filter_panel(table, PanelFilter(search="sle-017"))["Patient"]) == ["SLE-017"]
    aza = filter_panel(table, PanelFilter(drugs=("azathioprine",)))
    assert len(aza) and all("azathioprine" in d for d in aza["_drugs"])
    overdue = filter_panel(table, PanelFilter(overdue_only=True))
    assert list(overdue["Patient"]) == ["SLE-003"]
    trend = filter_panel(table, PanelFilter(flag_types=("Trend",)))
    assert set(trend["Patient"]) >= {"SLE-025"}
    # "CTCAE now" is text since H275 ("2 or worse"); the filter compares the number
    assert (filter_panel(table, PanelFilter(min_grade=2))["_grade"] >= 2).all()
    attention = filter_panel(table, PanelFilter(attention_only=True))
    assert (attention["_severity"] >= 2).all() and "RA-004" not in set(attention["Patient"])


def test_counts(sample):
    _ds, _rv, table = sample
    c = panel_counts(table)
    assert c.patients == 36 and c.overdue == 1
    assert c.action == int((table["_severity"] >= 3).sum())


def test_stable_patient_needs_nothing(sample):
    _ds, _rv, table = sample
    row = table[table["Patient"] == "RA-004"].iloc[0]
    assert (
        row["Urgency"] == "-" and row["Guideline flags"] == 0 and row["Trend flags"] == 0 and row["Overdue (days)"] == 0
    )


def test_as_of_changes_the_review():
    from dashboard.ingest import import_paths

    r = import_paths([ROOT / "sample_data" / n for n in ("labs.csv", "doses.csv", "patients.csv")])
    ds = Dataset.from_import(r, "sample")
    later = panel_table(ds, review_dataset(ds, None, dt.date(2027, 6, 1)))
    assert panel_counts(later).overdue > 1  # months later, everyone is due


def test_reviewed_patients_go_after_the_unreviewed_and_can_be_hidden(sample):
    import pandas as pd

    from dashboard.panel import with_reviews
    from dashboard.reviews import empty_log, flag_key

    _ds, rv, table = sample
    flags = rv.open_flags_df()
    plain = with_reviews(table, flags, empty_log())
    assert list(plain["Patient"]) == list(table["Patient"])  # no reviews: urgency order kept
    first = plain["Patient"].iloc[0]
    assert plain["Unreviewed flags"].iloc[0] == (flags["patient_id"] == first).sum()
    mine = flags[flags["patient_id"] == first]
    log = pd.DataFrame(
        [
            {
                "patient_id": first,
                "flag_key": flag_key(first, f.rule, f.collected_at, f.analyte),
                "action": "continue",
                "reviewer": "Dr A",
                "reviewed_at": pd.Timestamp("2026-11-17"),
                "review_id": i,
            }
            for i, f in enumerate(mine.itertuples(), start=1)
        ]
    ).reindex(columns=list(empty_log().columns))
    reviewed = with_reviews(table, flags, log)
    row = reviewed[reviewed["Patient"] == first].iloc[0]
    assert row["Unreviewed flags"] == 0 and row["_acknowledged"]
    with_flags = reviewed[reviewed["Unreviewed flags"] > 0]
    assert reviewed.index[reviewed["Patient"] == first][0] > with_flags.index.max()
    hidden = filter_panel(reviewed, PanelFilter(hide_acknowledged=True))
    assert first not in set(hidden["Patient"]) and len(hidden) == len(table) - 1


def test_latest_value_keeps_its_comparator_and_sparklines_follow_time_and_units():
    from tests.support import import_text

    rows = ["patient,date,test,value,unit"]
    rows += [f"P1,2024-01-{d:02d},Hb,{100 + d},g/L" for d in range(20, 0, -1)]  # given newest first
    rows += ["P1,2024-02-01,Platelets,<10,10^9/L", "P2,2024-01-05,WBC,5.0,10^9/L"]
    ds = Dataset.from_import(import_text("\n".join(rows) + "\n"), "t", dt.date(2024, 3, 1))
    rv = review_dataset(ds, None, dt.date(2024, 3, 1))
    si = panel_table(ds, rv, "SI").set_index("Patient")
    us = panel_table(ds, rv, "US").set_index("Patient")
    assert si.loc["P1", value_column("platelets", "SI")] == "<10  ·  2024-02-01"
    assert si.loc["P1", value_column("hemoglobin", "SI")] == "120  ·  2024-01-20"
    assert si.loc["P1", trend_column("hemoglobin")] == [float(v) for v in range(109, 121)]  # the last 12, in order
    assert us.loc["P1", trend_column("hemoglobin")] == pytest.approx([v / 10 for v in range(109, 121)])  # g/dL
    # 120 g/L is 12.0 g/dL as a US lab prints it (one decimal), not "12" (issue 18: rounded as the lab reports)
    assert us.loc["P1", value_column("hemoglobin", "US")].startswith("12.0  ·")
    assert si.loc["P2", value_column("hemoglobin", "SI")] == "" and si.loc["P2", trend_column("hemoglobin")] == []


def test_haemoglobin_in_two_units_at_one_draw_shows_the_result_the_review_counts():
    """Probe 5 F8: 7.9 g/dL (79 g/L, CTCAE grade 3) and 4.9 mmol/L (78.96 g/L, grade 2 on
    the mmol/L cuts) at one draw: the Panel and the summary export show 79, the grade-3
    result the review counts, not the lower number."""
    from dashboard.summary_export import latest_results
    from tests.support import import_text

    text = "patient,date,test,value,unit\nH1,2024-03-01 09:00,Hb,7.9,g/dL\nH1,2024-03-01 09:00,Hb,4.9,mmol/L\n"
    ds = Dataset.from_import(import_text(text), "t", dt.date(2024, 3, 5))
    rv = review_dataset(ds, None, dt.date(2024, 3, 5))
    si = panel_table(ds, rv, "SI").set_index("Patient")
    assert si.loc["H1", value_column("hemoglobin", "SI")] == "79  ·  2024-03-01"
    assert latest_results(ds.labs)["value"].tolist() == [79.0]


# --------------------------------------------------------------------------- probe 6: the review state of the panel


def review_all(ws, pid: str) -> None:
    """Acknowledge every open flag of the patient, as the Patient page's form records it."""
    from dashboard.reviews import results_of, reviews_for
    from dashboard.store.panel import open_panel

    shown = open_panel(ws).open_flags(P6_AS_OF)
    mine = shown[shown["patient_id"] == pid]
    assert len(mine)
    ws.add_reviews(reviews_for(pid, list(mine["flag_key"]), "continue", "", results_of(mine)), by="Dr A")


def panel_with_reviews(ws):
    from dashboard.panel import with_reviews
    from dashboard.store.panel import open_panel

    p = open_panel(ws)
    ds = p.dataset()
    rv = review_dataset(ds, None, P6_AS_OF)
    return with_reviews(panel_table(ds, rv), p.open_flags(P6_AS_OF), p.reviews)


HIDE_ACKNOWLEDGED = PanelFilter(hide_acknowledged=True)


def test_hide_acknowledged_never_hides_an_urgent_dose_check_that_came_after_the_review(tmp_path):
    """H121 (probe 6 F3).  Azathioprine 150 mg daily (70 kg, TPMT normal); MCV 106 fL > 105
    on 29 Apr (BSR: check B12, folate), reviewed "continue".  Then the GP's list adds
    allopurinol 300 mg daily from 30 Apr: a thiopurine with allopurinol must be reduced to a
    quarter to a third of its dose (H101); 150 mg is 100 % of the dose before: the urgent dose
    check fires.  A patient with an open urgent item nobody can review in the form is not
    'acknowledged', is never hidden, and is among those still to see."""
    from dashboard.ingest import Source

    doses = "patient,drug,dose,unit,frequency,start,end\n001,azathioprine,150,mg,daily,2024-01-01,\n"
    patients = "patient,sex,date of birth,TPMT,diagnosis,weight\n001,F,1980-05-01,normal,SLE,70\n"
    labs = (
        P6_HEAD
        + full_check("001", "2024-04-15")
        + full_check("001", "2024-04-29")
        + "001,2024-04-29 09:00,MCV,106,fL\n"
    )
    ws = p6_workspace(tmp_path / "ws", ("d.csv", doses), ("p.csv", patients), ("l.csv", labs))
    review_all(ws, "001")
    assert panel_with_reviews(ws).loc[0, "_acknowledged"]  # reviewed, nothing else open
    gp = "patient,drug,dose,unit,frequency,start,end\n001,allopurinol,300,mg,daily,2024-04-30,\n"
    ws.import_sources([Source("gp-meds.csv", gp.encode())], by="t")
    table = panel_with_reviews(ws)
    row = table[table["Patient"] == "001"].iloc[0]
    assert row["Urgency"] == "urgent" and row["Dose checks"] >= 1
    assert not row["_acknowledged"]
    assert "001" in set(filter_panel(table, HIDE_ACKNOWLEDGED)["Patient"])


def test_unreviewed_first_keeps_an_overdue_patient_with_those_still_to_review(tmp_path):
    """H124 (probe 6 F8).  Methotrexate 15 mg weekly since 2022 (stable: 12-weekly under BSR
    2025).  A's last full check was 1 Jun 2023: 11 months ago on 1 May 2024, long overdue, no
    flag.  B and C had a full check on 20 Apr 2024 with MCV 106 and 107 fL (> 105: BSR "check
    B12, folate"); C's flag is reviewed.  The toggle's help: "Patients with flags nobody has
    reviewed yet (or overdue bloods) before the others, urgency order within": A and B need
    someone, C does not, and A is the more urgent of the two: A, B, C."""
    doses = "patient,drug,dose,unit,frequency,start,end\n" + "".join(
        f"{p},methotrexate,15,mg,weekly,2022-01-01,\n" for p in "ABC"
    )
    labs = (
        P6_HEAD
        + full_check("A", "2023-06-01")
        + full_check("B", "2024-04-20")
        + "B,2024-04-20 09:00,MCV,106,fL\n"
        + full_check("C", "2024-04-20")
        + "C,2024-04-20 09:00,MCV,107,fL\n"
    )
    ws = p6_workspace(tmp_path / "ws", ("d.csv", doses), ("l.csv", labs))
    review_all(ws, "C")
    table = panel_with_reviews(ws)
    a = table[table["Patient"] == "A"].iloc[0]
    assert a["Overdue (days)"] > 0 and a["Unreviewed flags"] == 0
    assert list(table["Patient"]) == ["A", "B", "C"]


def test_the_panels_last_bloods_stop_at_the_as_of_date(tmp_path):
    """H123 (probe 6 F7b).  Full checks on 10 Jan and 1 Mar 2024, a neutrophil count on 1 Jun
    2024 after the as-of date 1 May: "Last bloods" is 1 Mar, beside the next test due 29 Mar
    (a 28-day interval set on 2 Mar) and 33 days overdue."""
    doses = "patient,drug,dose,unit,frequency,start,end\n001,methotrexate,15,mg,weekly,2023-01-01,\n"
    labs = (
        P6_HEAD
        + full_check("001", "2024-01-10")
        + full_check("001", "2024-03-01")
        + "001,2024-03-01 09:00,MCV,106,fL\n001,2024-06-01 09:00,Neutrophils,0.4,10^9/L\n"
    )
    ws = p6_workspace(tmp_path / "ws", ("d.csv", doses), ("l.csv", labs), at=dt.datetime(2024, 3, 2, 9))
    ws.set_interval("001", 28, "CKD stage 3, age", by="Dr A")
    table = panel_with_reviews(ws)
    assert table.loc[0, "Overdue (days)"] == 33
    assert table.loc[0, "Next test due"] == "2024-03-29"
    assert table.loc[0, "Last bloods"] == "2024-03-01"
