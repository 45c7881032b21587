"""The FileReport API owns the row invariant: every row read is accepted, rejected with
a reason, or a duplicate; the import checks it at the end of every file."""

from __future__ import annotations

import logging

import pytest

from dashboard.ingest.report import FileReport, ImportReport, Problem, RowAccountingError
from tests.support import import_text


def test_settle_rows_makes_rows_read_the_sum_of_the_verdicts():
    f = FileReport("a.csv")
    f.settle_rows(accepted=5, rejected=2, duplicates=1)
    f.problems = [Problem(3, "value", "not a number"), Problem(4, "value", "not a number")]
    assert (f.rows_read, f.rows_accepted, f.rows_rejected, f.duplicates) == (8, 5, 2, 1)
    f.check()
    # a second verdict replaces the first (a table settled again as not imported)
    f.reject_all(8, [Problem(None, None, "not imported: choose the date order")])
    assert (f.rows_read, f.rows_accepted, f.rows_rejected, f.duplicates) == (8, 0, 8, 0)
    assert [p.message for p in f.problems] == ["not imported: choose the date order"]
    f.check()


def test_an_accepted_row_that_repeats_earlier_data_moves_to_duplicates():
    f = FileReport("b.csv")
    f.settle_rows(accepted=3, rejected=0)
    f.settle_results(accepted=6, rejected=0, duplicate=0)
    f.accepted_was_duplicate(rows=1, results=2)
    f.accepted_was_duplicate(rows=0, results=1)  # one result of a row whose other result is new
    assert (f.rows_read, f.rows_accepted, f.duplicates) == (3, 2, 1)
    assert (f.results_read, f.results_accepted, f.results_duplicate) == (6, 3, 3)
    f.check()


def test_results_are_left_alone_when_the_file_counts_rows_only():
    f = FileReport("doses.csv")
    f.settle_rows(accepted=2, rejected=0)
    f.accepted_was_duplicate()
    assert (f.results_read, f.results_accepted, f.results_duplicate) == (0, 0, 0)
    f.check()


@pytest.mark.parametrize(
    ("edit", "says"),
    [
        (lambda f: setattr(f, "rows_accepted", f.rows_accepted + 1), "rows read 4 != accepted 3"),
        (lambda f: setattr(f, "results_duplicate", 1), "results read 0 != accepted 0"),
        (lambda f: f.problems.clear(), "1 rows rejected without a reason"),
        (lambda f: [f.accepted_was_duplicate() for _ in range(3)], "a negative count"),
    ],
)
def test_check_names_what_does_not_add_up(edit, says):
    f = FileReport("c.csv")
    f.settle_rows(accepted=2, rejected=1, duplicates=1)
    f.problems.append(Problem(2, None, "no patient id"))
    f.check()
    edit(f)
    with pytest.raises(RowAccountingError, match=says):
        f.check()


def test_an_unbalanced_file_is_an_error_in_its_report_and_logged_without_data(caplog):
    good, bad = FileReport("good.csv"), FileReport("smith_j.csv")
    good.settle_rows(accepted=1, rejected=0)
    bad.settle_rows(accepted=1, rejected=0)
    bad.rows_read = 2  # a defect: a row read and never judged
    report = ImportReport(files=[good, bad])
    log = logging.getLogger("dashboard.ingest.report")
    log.addHandler(caplog.handler)  # the app's log set-up may stop propagation to the root
    try:
        with caplog.at_level(logging.ERROR, logger="dashboard.ingest.report"):
            report.check_rows()
    finally:
        log.removeHandler(caplog.handler)
    assert good.error == ""
    assert bad.error.startswith("internal error, please report it: smith_j.csv: rows read 2 != accepted 1")
    assert "read 2, accepted 1, rejected 0, duplicates 0" in caplog.text
    assert "smith_j" not in caplog.text  # the logging policy: never a file name


def test_the_import_runs_the_check_on_every_file(monkeypatch):
    checked: list[str] = []
    original = FileReport.check

    def spy(self):
        checked.append(self.display_name)
        original(self)

    monkeypatch.setattr(FileReport, "check", spy)
    text = "patient_id,date,test,value,unit\nP1,2024-01-02,WBC,5.1,10^9/L\nP1,2024-01-02,WBC,5.1,10^9/L\n,2024-01-03,WBC,4,\n"
    result = import_text(text, "labs.csv")
    assert checked == ["labs.csv"]
    f = result.report.files[0]
    assert (f.rows_read, f.rows_accepted, f.rows_rejected, f.duplicates) == (3, 1, 1, 1)
    assert f.error == ""
