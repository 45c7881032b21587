"""A table row whose test code and test name name different monitored tests is read as
neither (H466): the one check FHIR has used since H346, now shared by every reader.

Expectations by hand: LOINC 751-8 is the neutrophil count, 731-0 the lymphocyte count,
777-3 the platelet count (loinc.org); "Lymphocytes" names the lymphocyte count."""

from __future__ import annotations

from dashboard.ingest.mapping import names_disagree
from tests.support import FIXTURES, assert_balanced, import_text

HEAD = "MRN,Collection Date,Test Code,Test Name,Result,Units\n"


def _one(row: str, head: str = HEAD, name: str = "labs.csv"):
    result = import_text(head + row + "\n", name)
    assert_balanced(result)
    f = result.report.files[0]
    return result, f


def test_a_loinc_code_and_the_name_of_another_test_reject_the_row():
    result, f = _one("001,2026-03-02,751-8,Lymphocytes,0.4,10^9/L")
    assert result.labs.num_rows == 0
    assert (f.rows_read, f.rows_rejected) == (1, 1)
    (problem,) = f.problems
    assert problem.message == (
        "the test's codes and name say different tests: code 751-8 (Neutrophils) and 'Lymphocytes' (Lymphocytes); "
        "which one was measured is not known"
    )


def test_a_code_and_a_name_of_the_same_test_are_read():
    result, f = _one("001,2026-03-02,751-8,Neutrophils,0.4,10^9/L")
    df = result.labs_df()
    assert list(df["analyte"]) == ["neutrophils"] and list(df["value"]) == [0.4]
    assert not f.problems


def test_a_name_that_is_no_monitored_test_leaves_the_code_to_say():
    # a lab's own wording that names no monitored test: the LOINC code alone says which
    result, _f = _one("001,2026-03-02,777-3,Haematology panel A12,150,10^9/L")
    df = result.labs_df()
    assert list(df["analyte"]) == ["platelets"] and list(df["value"]) == [150.0]


def test_a_local_short_code_of_another_test_rejects_the_row():
    # "PLT" is the platelet count's short name, the name says haemoglobin: neither is read
    result, f = _one("001,2026-03-02,PLT,Haemoglobin,120,g/L")
    assert result.labs.num_rows == 0
    assert "different tests" in f.problems[0].message and "PLT" in f.problems[0].message


def test_a_synthea_row_with_the_code_of_another_test_is_rejected():
    lines = (FIXTURES / "synthea" / "observations.csv").read_text(encoding="utf-8").splitlines()
    head, row = lines[0], lines[445]
    assert ",731-0,Lymphocytes [#/volume] in Blood by Automated count,1.1," in row
    result, f = _one(row.replace(",731-0,", ",777-3,"), head + "\n", "observations.csv")
    assert result.labs.num_rows == 0
    assert "code 777-3 (Platelets)" in f.problems[0].message
    # the row as the fixture has it is read as the lymphocytes 1.1 it is
    result, _f = _one(row, head + "\n", "observations.csv")
    assert list(result.labs_df()["analyte"]) == ["lymphocytes"]


def test_the_shared_check_names_what_said_each_test():
    assert names_disagree([("LOINC 751-8", "", "751-8"), ("'Neutrophils'", "Neutrophils", "")]) == ""
    assert names_disagree([("LOINC 751-8", "", "751-8"), ("'CBC A12'", "CBC A12", "")]) == ""
    assert names_disagree([("a", "", ""), ("b", "", "")]) == ""
    said = names_disagree([("LOINC 751-8", "", "751-8"), ("LOINC 777-3", "", "777-3")])
    assert "LOINC 751-8 (Neutrophils) and LOINC 777-3 (Platelets)" in said
