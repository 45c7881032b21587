"""EHR flowsheets: one row per test, one column per date (the transpose of a wide table)."""

import datetime as dt
import io

from tests.support import TODAY, assert_balanced, import_bytes

FLOWSHEET = """Patient: DOE, JANE   MRN: 00012345
Component,Units,11/03/2023,11/17/2023,12/01/2023,Reference Range
WBC,K/uL,3.1,3.4,4.0,4.0-11.0
Neutrophils Absolute,K/uL,1.2,1.5,2.1,1.8-7.7
Hemoglobin,g/dL,10.9,,11.8,12.0-16.0
CRP,mg/L,12,8,3,<5
Platelets,K/uL,,,,150-400
"""


def test_flowsheet_with_the_patient_above_the_table():
    r = import_bytes(FLOWSHEET.encode(), "flowsheet.csv", today=TODAY)
    assert_balanced(r)
    f = r.report.files[0]
    assert f.format.startswith("labs (flowsheet")
    assert f.date_order == "month-first"  # 11/17 settles it
    df = r.labs_df()
    assert set(df["patient_id"]) == {"00012345"}
    wbc = df[df["analyte"] == "wbc"].sort_values("collected_at")
    assert list(wbc["value"]) == [3.1, 3.4, 4.0]
    assert [str(t)[:10] for t in wbc["collected_at"]] == ["2023-11-03", "2023-11-17", "2023-12-01"]
    hb = df[df["analyte"] == "hemoglobin"]
    assert sorted(hb["value"]) == [109.0, 118.0] and set(hb["ref_low"]) == {120.0}
    # 5 test rows: CRP is not monitored (each of its cells rejected), Platelets has no result
    assert (f.rows_read, f.rows_accepted, f.rows_rejected) == (5, 3, 2)
    reasons = " | ".join(p.message for p in f.problems)
    assert "not a monitored analyte: CRP" in reasons and "every date column is empty" in reasons
    assert any("00012345 read from the line above the table" in w.message for w in f.warnings)


def test_flowsheet_with_a_patient_column():
    text = "MRN,Test,2024-01-05,2024-02-05\n001,WBC (10^9/L),3.2,3.0\n001,Platelets (10^9/L),140,135\n"
    r = import_bytes(text.encode(), "fs.csv", today=TODAY)
    assert_balanced(r)
    df = r.labs_df()
    assert len(df) == 4 and set(df["patient_id"]) == {"001"}


def test_flowsheet_without_a_patient_is_not_given_one():
    text = "Test,2024-01-05,2024-02-05\nWBC,3.2,3.0\nPlatelets,140,135\n"
    r = import_bytes(text.encode(), "fs.csv", today=TODAY)
    assert_balanced(r)
    f = r.report.files[0]
    assert r.labs.num_rows == 0 and f.rows_rejected == 2
    assert "no patient id" in f.error


def test_flowsheet_in_excel_with_real_dates_as_headers():
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["Hospital No: A123456"])
    ws.append(["Test", "Units", dt.datetime(2024, 3, 5, 8, 30), dt.datetime(2024, 3, 19, 9, 0)])
    ws.append(["Neutrophils", "x10^9/L", 0.9, 1.4])
    buf = io.BytesIO()
    wb.save(buf)
    r = import_bytes(buf.getvalue(), "fs.xlsx", today=TODAY)
    assert_balanced(r)
    df = r.labs_df().sort_values("collected_at")
    assert list(df["value"]) == [0.9, 1.4] and set(df["patient_id"]) == {"A123456"}
    assert df["collected_at"].iloc[0].hour == 8
