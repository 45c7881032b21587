"""The draw date (issue 15 item 4): a collection/specimen date or time column first; a
separate date and time joined; never a result/report date taken silently: with an
order date, the order date and a note in the import report; with only a result date,
the import asks (the CLI exits 2 naming the columns; --map answers).

The Epic-style export below is shaped like Epic's "Results" report as clinics send it
(MRN, Order Date, Result Date, Component, Value, Units, Reference Range): written for
this test, no real patient.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from dashboard.cli import main
from dashboard.ingest.mapping import map_columns
from dashboard.rules.review import review
from tests.support import assert_balanced, import_text

# A grade 3 neutropenia (0.8 < 1.0) drawn on 1 March 2024 on azathioprine 150 mg,
# reported on 5 March, the day the dose was cut to 50 mg.
EPIC = (
    "MRN,Order Date,Result Date,Component,Value,Units,Reference Range\n"
    "00012345,03/01/2024 08:10,03/05/2024 16:42,NEUTROPHILS ABSOLUTE,0.8,K/uL,1.8 - 7.7\n"
    "00012345,03/01/2024 08:10,03/05/2024 16:42,WBC,2.4,K/uL,4.0 - 11.0\n"
    "00012345,02/01/2024 09:00,02/01/2024 15:00,NEUTROPHILS ABSOLUTE,2.9,K/uL,1.8 - 7.7\n"
)
DOSES = (
    "MRN,drug,dose,unit,frequency,start,end\n"
    "00012345,azathioprine,150,mg,daily,2024-01-02,2024-03-05\n"
    "00012345,azathioprine,50,mg,daily,2024-03-05,\n"
)


def test_order_date_is_used_with_a_note_never_the_result_date():
    result = import_text(EPIC, "epic.csv", date_order="monthfirst")
    assert_balanced(result)
    f = result.report.files[0]
    assert f.mapping["collected_at"] == "Order Date"
    note = " ".join(w.message for w in f.warnings)
    assert "Order Date" in note and "Result Date" in note and "draw date" in note
    times = sorted(result.labs_df()["collected_at"].unique())
    assert times[-1] == pd.Timestamp("2024-03-01 08:10")


def test_the_epic_case_is_tied_to_the_dose_it_was_drawn_on(tmp_path):
    from dashboard.ingest import ImportOptions, import_paths

    (tmp_path / "epic.csv").write_text(EPIC)
    (tmp_path / "doses.csv").write_text(DOSES)
    r = import_paths([tmp_path / "epic.csv", tmp_path / "doses.csv"], ImportOptions(date_order="monthfirst"))
    rv = review(r.labs, r.doses, r.patients, None, None, dt.date(2024, 3, 31))
    f = rv.flags_df()
    g3 = f[(f["rule"] == "ctcae.neutrophils") & (f["ctcae_grade"] == 3)].iloc[0]
    assert g3["collected_at"] == pd.Timestamp("2024-03-01 08:10")
    assert g3["active_doses"] == "Azathioprine 150 mg/day"
    assert g3["days_since_dose_change"] == 59  # since the start on 2 January, not 0 days


def test_only_a_result_date_is_asked_about():
    text = EPIC.replace("Order Date,", "").replace("03/01/2024 08:10,", "").replace("02/01/2024 09:00,", "")
    result = import_text(text, "results.csv", date_order="monthfirst")
    f = result.report.files[0]
    assert f.needs == "mapping"
    assert "Result Date" in f.error and "draw" in f.error
    assert result.labs.num_rows == 0
    assert_balanced(result)
    # the user knowingly answers: the result date is the draw date here
    ok = import_text(text, "results.csv", date_order="monthfirst", mapping={"Result Date": "collected_at"})
    assert ok.labs.num_rows == 3 and ok.report.files[0].mapping["collected_at"] == "Result Date"


def test_the_cli_exits_2_naming_the_columns_and_map_answers(tmp_path, capsys):
    text = EPIC.replace("Order Date,", "").replace("03/01/2024 08:10,", "").replace("02/01/2024 09:00,", "")
    path = tmp_path / "results.csv"
    path.write_text(text)
    assert main(["import", str(path), "--monthfirst"]) == 2
    err = capsys.readouterr().err
    assert "Result Date" in err and "--map" in err
    assert main(["import", str(path), "--monthfirst", "--map", "Result Date=collected_at"]) == 0


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (["MRN", "Collection Date", "Result Date", "Test", "Value"], "Collection Date"),
        (["MRN", "Result Date", "Specimen Date", "Test", "Value"], "Specimen Date"),
        (["MRN", "Order Date", "Result Date", "Collected", "Test", "Value"], "Collected"),
        (["MRN", "Reported Date", "Date", "Test", "Value"], "Date"),
        (["MRN", "Date Resulted", "Order Date", "Test", "Value"], "Order Date"),
        (["MRN", "Verified Date", "Requested Date", "Test", "Value"], "Requested Date"),
    ],
)
def test_the_draw_date_column_is_preferred(header, expected):
    m = map_columns(header)
    assert m.kind == "labs" and m.fields["collected_at"] == expected


@pytest.mark.parametrize("header", [["MRN", "Result Date", "Test", "Value"], ["MRN", "Report Date", "Test", "Value"]])
def test_a_report_date_alone_is_never_the_draw_date(header):
    m = map_columns(header)
    assert "collected_at" in m.missing
    assert header[1] in m.explain


def test_a_separate_date_and_time_are_joined():
    text = "MRN,Collection Date,Collection Time,Result Date,Test,Value,Units\n1,2024-03-01,08:10,2024-03-05,WBC,5.1,10^9/L\n"
    result = import_text(text)
    assert result.report.files[0].mapping["collection_time"] == "Collection Time"
    assert result.labs_df()["collected_at"].tolist() == [pd.Timestamp("2024-03-01 08:10")]


def test_the_time_column_belongs_to_the_chosen_date():
    m = map_columns(["MRN", "Order Date", "Order Time", "Result Date", "Result Time", "Test", "Value"])
    assert m.fields["collected_at"] == "Order Date" and m.fields["collection_time"] == "Order Time"
    m = map_columns(["MRN", "Collection Date", "Result Time", "Test", "Value"])
    assert "collection_time" not in m.fields


def test_a_standing_order_date_cannot_stand_for_the_draw_date():
    # one order date for draws reported on different dates: the order date is not the draw
    text = (
        "MRN,Order Date,Result Date,Component,Value,Units\n"
        "1,2024-01-02,2024-01-09,WBC,5.1,10^9/L\n"
        "1,2024-01-02,2024-02-06,WBC,4.2,10^9/L\n"
    )
    result = import_text(text, "standing.csv")
    f = result.report.files[0]
    assert f.needs == "mapping" and "Order Date" in f.error and "standing order" in f.error
    assert result.labs.num_rows == 0


# A wide table (one column per analyte) with a date column per analyte: which date
# belongs to which result is not guessed (the neutrophils of row 1 were drawn on 3
# October, not on the 1 October of the WBC or Hb).
PER_ANALYTE_DATES = (
    "MRN,WBC date,WBC,Neut date,Neut,Hb date,Hb (g/L)\n"
    "10001,2026-10-01,3.1,2026-10-03,1.1,2026-10-01,102\n"
    "10001,2026-10-15,2.9,2026-10-20,0.9,2026-10-15,98\n"
)


def test_a_wide_table_with_a_date_per_analyte_is_asked_about():
    result = import_text(PER_ANALYTE_DATES, "wide.csv")
    f = result.report.files[0]
    assert f.needs == "mapping"
    assert "WBC date" in f.error and "Neut date" in f.error and "Hb date" in f.error
    assert result.labs.num_rows == 0
    assert_balanced(result)


def test_a_wide_table_with_two_date_columns_of_one_name_is_asked_about():
    text = "MRN,Date,WBC,Date,Neut\n10001,2026-10-01,3.1,2026-10-03,1.1\n"
    result = import_text(text, "wide.csv")
    f = result.report.files[0]
    assert f.needs == "mapping" and result.labs.num_rows == 0
    assert_balanced(result)


def test_a_wide_table_with_one_date_column_is_read_on_it():
    text = "MRN,Date,WBC,ANC\n10001,2026-10-01,3.1,1.1\n"  # "Neut" 1.1 could be 1.1 % (H129)
    result = import_text(text, "wide.csv")
    assert result.labs.num_rows == 2
    assert set(result.labs_df()["collected_at"]) == {pd.Timestamp("2026-10-01")}


# --------------------------------------------------------------------------- probe 8 F3 (H133)


@pytest.mark.parametrize("header", ["Print Date", "Export Date", "Discharge Date", "Next Due Date"])
def test_a_date_column_that_is_not_a_draw_date_is_not_taken_silently(header):
    # a print or export date puts every result on the day of the extract; a discharge date
    # moves an inpatient draw by days; a next due date puts the result in the future
    text = f"MRN,{header},Test,Result,Units\n20020,2026-03-02,Neutrophils,0.8,x10^9/L\n"
    r = import_text(text)
    f = r.report.files[0]
    asked = f.needs == "mapping" and r.labs.num_rows == 0
    said = any(header in w.message and "draw" in w.message for w in f.warnings)
    assert asked or said


@pytest.mark.parametrize(
    "header",
    ["Print Date", "Export Date", "Extract Date", "Discharge Date", "Admission Date", "Visit Date", "Next Due Date"],
)
def test_another_date_is_asked_about_naming_it_and_map_answers(header):
    text = f"MRN,{header},Test,Result,Units\n20020,2026-03-02,Neutrophils,0.8,x10^9/L\n"
    r = import_text(text)
    f = r.report.files[0]
    assert f.needs == "mapping" and r.labs.num_rows == 0
    assert header in f.error and "draw" in f.error and "--map" in f.error
    assert_balanced(r)
    ok = import_text(text, mapping={header: "collected_at"})  # the user knows it is the draw date
    assert ok.labs.num_rows == 1 and ok.report.files[0].mapping["collected_at"] == header


@pytest.mark.parametrize(
    "header",
    [
        ["MRN", "Print Date", "Collection Date", "Test", "Value"],
        ["MRN", "Collection Date", "Export Date", "Test", "Value"],
        ["MRN", "Discharge Date", "Discharge Time", "Collection Date", "Test", "Value"],
    ],
)
def test_another_date_beside_the_collection_date_is_not_used(header):
    m = map_columns(header)
    assert m.kind == "labs" and m.fields["collected_at"] == "Collection Date"
    assert "collection_time" not in m.fields  # a discharge time is not the draw's time
    assert all(h in m.unmapped for h in header if h.startswith(("Print", "Export", "Discharge")))


@pytest.mark.parametrize(
    "date",
    [
        "Date",
        "Datetime",
        "Date/Time",
        "Date (UTC)",
        "Collection Date",
        "Collected Date/Time",
        "Specimen Collected Date/Time",
        "Date of collection",
        "Sample Date",
        "Draw Date",
        "Date Drawn",
        "Observation Date",
        "Specimen Date",
        "Lab Date",
        "Test Date",
        "Entnahmedatum",
        "Date de prélèvement",
    ],
)
def test_a_draw_word_or_a_plain_date_is_still_the_draw_date(date):
    m = map_columns(["MRN", date, "Test", "Value"])
    assert m.kind == "labs" and m.fields["collected_at"] == date and not m.missing
