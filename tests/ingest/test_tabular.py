"""Reading a delimited file or a sheet into a table of text cells (dashboard/ingest/tabular.py).

Two exports pasted one under the other repeat the header row mid-file, sometimes in
another column order.  Expected values are read off the files by hand:

* a neutrophil count of 0.4 x10^9/L is CTCAE v5.0 grade 4 (< 0.5); its reference low of
  2.0 is not a result;
* a result is placed at its collection time, never at the time the lab received it.
"""

from __future__ import annotations

import datetime as dt

import pytest

from dashboard.ingest.tabular import table_from_records
from tests.support import assert_balanced, import_text

HEAD = "MRN,Collection Date,Component,Result,Ref Low,Units\n"
FIRST = "P1,2024-03-01 08:00,Neutrophils,1.9,2.0,10^9/L\n"
# the second export puts "Ref Low" before "Result": its result is 0.4, its limit 2.0
SECOND = "MRN,Collection Date,Component,Ref Low,Result,Units\nP1,2024-03-08 08:00,Neutrophils,2.0,0.4,10^9/L\n"


def _messages(result) -> dict[int, str]:
    return {p.row: p.message for p in result.report.files[0].problems}


def test_a_repeated_header_in_another_column_order_never_reads_the_reference_as_the_result():
    # probe 5 F1. Row 4's result is 0.4 x10^9/L (CTCAE grade 4: < 0.5); 2.0 is its reference limit.
    result = import_text(HEAD + FIRST + SECOND)
    assert_balanced(result)
    values = result.labs_df().set_index("source_row")["value"].to_dict()
    # either read under its own header (0.4) or rejected with the reason: never 2.0
    assert values.get(4) in (0.4, None)
    assert 2.0 not in values.values()


@pytest.mark.parametrize("blank", ["", "\n"], ids=["fast path", "slow path"])
def test_the_rows_below_a_header_in_another_order_are_read_under_that_header(blank):
    # A blank line sends the file through Python's csv reader instead of Arrow's: both
    # read row 4 as 0.4 with a reference low of 2.0, and name row 3 as a header.
    result = import_text(HEAD + FIRST + blank + SECOND)
    assert_balanced(result)
    labs = result.labs_df().sort_values("collected_at")
    assert labs["value"].tolist() == [1.9, 0.4]
    assert labs["ref_low"].tolist() == [2.0, 2.0]
    header_row = 3 + len(blank)
    assert "repeated here in another column order" in _messages(result)[header_row]
    assert result.report.files[0].rows_rejected == 1


def test_the_received_date_of_a_block_in_another_order_is_never_its_draw_date():
    # The second export swaps the two dates: its draw was 2024-03-08 08:00, received 2024-03-10 10:00.
    text = (
        "MRN,Collection Date,Received Date,Component,Result,Units\n"
        "P1,2024-03-01 08:00,2024-03-01 12:00,Neutrophils,1.9,10^9/L\n"
        "MRN,Received Date,Collection Date,Component,Result,Units\n"
        "P1,2024-03-10 10:00,2024-03-08 08:00,Neutrophils,0.4,10^9/L\n"
    )
    result = import_text(text)
    assert_balanced(result)
    draws = result.labs_df().set_index("source_row")["collected_at"].to_dict()
    assert draws == {2: dt.datetime(2024, 3, 1, 8), 4: dt.datetime(2024, 3, 8, 8)}


def test_a_repeated_header_is_named_as_such_even_with_empty_column_names():
    # probe 5 F11: trailing empty header cells (",,") once made the repeat look like data,
    # rejected as "date not recognised ('Collection Date')".
    text = (
        "\ufeffMRN,Collection Date,Component,Result,Units,,\n"
        "P1,2024-03-01,Neutrophils,0.9,10^9/L,,\n"
        "MRN,Collection Date,Component,Result,Units,,\n"
        "P1,2024-03-08,Neutrophils,0.7,10^9/L,,\n"
    )
    result = import_text(text)
    assert_balanced(result)
    assert result.labs_df()["value"].tolist() == [0.9, 0.7]
    assert _messages(result) == {3: "the header row is repeated here (two exports pasted together?); row skipped"}


def test_rows_below_a_header_with_other_column_names_are_rejected_until_the_first_header_returns():
    # Row 4 starts an export with other columns ("Received Date" where the draw date was):
    # under the first header its received date would be read as the draw date.
    text = (
        "MRN,Collection Date,Component,Result,Units\n"
        "P1,2024-03-01 08:00,Neutrophils,1.9,10^9/L\n"
        "MRN,Received Date,Component,Result,Units\n"
        "P1,2024-03-10 10:00,Neutrophils,0.4,10^9/L\n"
        "P1,2024-03-11 10:00,Neutrophils,0.5,10^9/L\n"
        "MRN,Collection Date,Component,Result,Units\n"
        "P1,2024-03-12 08:00,Neutrophils,1.2,10^9/L\n"
    )
    result = import_text(text)
    assert_balanced(result)
    assert result.labs_df().set_index("source_row")["value"].to_dict() == {2: 1.9, 7: 1.2}
    messages = _messages(result)
    assert "a second header row with other column names" in messages[3]
    assert "'Received Date'" in messages[3]
    assert messages[4] == messages[5]
    assert "below a second header row at row 3" in messages[4]
    assert "the header row is repeated here" in messages[6]


def test_columns_of_one_name_that_moved_are_never_told_apart_by_guess():
    # Two columns named "Value": the repeat swaps one "Value" with "Units", so which of
    # its two "Value" columns is the result cannot be known.
    text = (
        "MRN,Collection Date,Component,Value,Value,Units\n"
        "P1,2024-03-01 08:00,Neutrophils,1.9,1.9,10^9/L\n"
        "MRN,Collection Date,Component,Value,Units,Value\n"
        "P1,2024-03-08 08:00,Neutrophils,0.4,10^9/L,2.0\n"
    )
    result = import_text(text)
    assert_balanced(result)
    assert 4 not in set(result.labs_df()["source_row"])
    assert "cannot be told apart" in _messages(result)[4]


def test_a_sheet_reads_a_block_in_another_order_under_its_own_header():
    records = [
        ["MRN", "Collection Date", "Component", "Result", "Ref Low", "Units"],
        ["P1", "2024-03-01 08:00", "Neutrophils", "1.9", "2.0", "10^9/L"],
        ["MRN", "Collection Date", "Component", "Ref Low", "Result", "Units"],
        ["P1", "2024-03-08 08:00", "Neutrophils", "2.0", "0.4", "10^9/L"],
        ["P1", "2024-03-09 08:00", "Neutrophils", "2.0", "0.6", "10^9/L"],
    ]
    table = table_from_records("labs.xlsx", records)
    assert table.column("Result").to_pylist() == ["1.9", "0.4", "0.6"]
    assert table.column("Ref Low").to_pylist() == ["2.0", "2.0", "2.0"]
    assert table.row_numbers.to_pylist() == [2, 4, 5]
    assert [p.row for p in table.rejected] == [3]


def test_a_data_row_holding_one_column_name_is_still_data():
    # "Result" once as a comment is a value, not a header: one name is not a header row.
    # (A WBC: a bare "Neutrophils 1.9" could be 1.9 % and is not read, H129.)
    text = "MRN,Collection Date,Component,Result,Comment\nP1,2024-03-01 08:00,WBC,1.9,Result\n"
    result = import_text(text)
    assert_balanced(result)
    assert result.labs_df()["value"].tolist() == [1.9]


# --------------------------------------------------------------------------- HL7 v2 (probe 8 F8)

ORU = (
    "MSH|^~\\&|LAB|HOSP|EHR|HOSP|202603021200||ORU^R01|MSG0001|P|2.5.1\r"
    "PID|1||40004^^^HOSP^MR||DOE^JANE||19800312|F\r"
    "OBR|1||ORD1|58410-2^CBC panel^LN|||202603020815\r"
    "OBX|1|NM|751-8^Neutrophils^LN||0.45|10*3/uL|1.5-7.5|LL|||F\r"
)


def test_an_hl7_v2_message_is_refused_as_such():
    msg = (
        "MSH|^~\\&|LAB|HOSP|EHR|HOSP|202603021200||ORU^R01|MSG0001|P|2.5.1\r"
        "PID|1||40004^^^HOSP^MR||DOE^JANE||19800312|F\r"
        "OBR|1||ORD1|58410-2^CBC panel^LN|||202603020815\r"
        "OBX|1|NM|751-8^Neutrophils^LN||0.45|10*3/uL|1.5-7.5|LL|||F\r"
    )
    r = import_text(msg, "oru.txt")
    f = r.report.files[0]
    assert "HL7" in f.error and f.needs != "mapping"


@pytest.mark.parametrize(
    "text",
    [
        ORU,  # CR, as HL7 ends its segments
        ORU.replace("\r", "\n"),  # LF, as a message pasted into a text file
        "\ufeff" + ORU.replace("\r", "\r\n") + "\r\n\r\n",  # a BOM, CRLF and blank lines after
        "\x0b" + ORU + "\x1c\r",  # captured off the wire with its MLLP framing bytes
    ],
    ids=["cr", "lf", "bom-crlf", "mllp"],
)
def test_each_segment_of_an_hl7_v2_message_is_counted_and_refused_with_the_reason(text):
    result = import_text(text, "oru.hl7")
    assert_balanced(result)
    f = result.report.files[0]
    assert f.error == (
        "an HL7 v2 message: this dashboard reads CSV/TSV/Excel tables and FHIR JSON, not HL7 v2; "
        "export the results as a table or FHIR"
    )
    assert (f.rows_read, f.rows_rejected, f.needs) == (4, 4, "")  # MSH, PID, OBR, OBX: nothing to map
    # one rejected row per segment, numbered as the lines of the message, named by its type
    assert [(p.row, p.value) for p in f.problems] == [(1, "MSH"), (2, "PID"), (3, "OBR"), (4, "OBX")]
    assert {p.message for p in f.problems} == {"not imported: " + f.error}
    assert result.labs.num_rows == 0


def test_a_pipe_delimited_lab_table_is_still_a_table():
    table = "MRN|Collection Date|Test|Result|Units\n12012|2026-03-02|WBC|6.0|x10^9/L\n"
    result = import_text(table, "labs.txt")
    assert_balanced(result)
    assert result.labs_df()["value"].tolist() == [6.0]


@pytest.mark.parametrize("space", [" ", "\t", "\x0b", "\x0c"])
def test_a_space_around_a_cell_is_trimmed_in_a_column_with_no_other_space(space):
    """The fast path looks for any byte up to the space in a column before it looks at
    each cell's first and last byte: a column whose only space is the one around one
    cell is still trimmed (the id P1 is one patient, the unit is read)."""
    from dashboard.ingest.tabular import read_delimited

    text = f"patient_id,analyte,value,unit\nP1,WBC,4.5,10^9/L\n{space}P1,WBC{space},4.1,10^9/L{space}\n"
    table = read_delimited("t.csv", text.encode())
    assert table.columns["patient_id"].to_pylist() == ["P1", "P1"]
    assert table.columns["analyte"].to_pylist() == ["WBC", "WBC"]
    assert table.columns["unit"].to_pylist() == ["10^9/L", "10^9/L"]
