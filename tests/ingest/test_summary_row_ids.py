"""A spreadsheet's summary row (a total, an average, a count) is no patient (H467).

Expectations by hand: the rows a clinic's sheet, Excel's Subtotal command and a pivot
table write under the patients' rows carry a label where the id stands ("Average",
"Grand Total", "001 Total", "Sum of Result"); their numbers are of many patients."""

from __future__ import annotations

import pytest

from dashboard.ingest.identity import id_problem
from tests.support import assert_balanced, import_text


@pytest.mark.parametrize(
    "pid",
    ["Average", "Grand Total", "TOTAL", "Total:", "Mean", "Median", "Count", "Sum", "Min", "Max", "Subtotal",
     "Sub-total", "Std Dev", "001 Total", "RA-001 Average", "Sum of Result", "Average of WBC", "Grand Average"],
)  # fmt: skip
def test_a_summary_label_is_not_a_patient_id(pid):
    problem = id_problem(pid)
    assert f"'{pid}'" in problem and "summary label" in problem


@pytest.mark.parametrize("pid", ["P1", "001", "Totalis", "Maxwell", "Countess", "MEAN-02", "AVG7", "Summers"])
def test_ids_that_only_begin_like_a_label_pass(pid):
    assert id_problem(pid) == ""


def test_summary_rows_are_rejected_in_labs_doses_and_patients():
    labs = (
        "MRN,Collection Date,Test,Result,Units\n001,2026-03-02,WBC,5.0,10^9/L\n002,2026-03-02,WBC,1.0,10^9/L\n"
        "Average,2026-03-02,WBC,3.0,10^9/L\nGrand Total,2026-03-02,WBC,6.0,10^9/L\n"
    )
    result = import_text(labs, "labs.csv")
    assert_balanced(result)
    f = result.report.files[0]
    assert sorted(result.labs.column("patient_id").to_pylist()) == ["001", "002"]
    assert (f.rows_read, f.rows_accepted, f.rows_rejected) == (4, 2, 2)
    assert {p.row: p.message.split(" is a ")[0] for p in f.problems} == {
        4: "the patient id 'Average'",
        5: "the patient id 'Grand Total'",
    }
    assert sorted(result.patients.column("patient_id").to_pylist()) == ["001", "002"]
    doses = "patient_id,drug,dose,unit,frequency,start\nTotal,Azathioprine,100,mg,daily,2024-01-01\n"
    result = import_text(doses, "doses.csv")
    assert_balanced(result)
    assert result.report.files[0].rows_rejected == 1 and result.doses.num_rows == 0
    patients = "patient_id,sex,dob\nCount,F,1980-01-01\n"
    result = import_text(patients, "patients.csv")
    assert_balanced(result)
    assert result.report.files[0].rows_rejected == 1 and result.patients.num_rows == 0
    assert "summary label" in result.report.files[0].problems[0].message
