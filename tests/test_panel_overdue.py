"""The Panel's Why names which blood tests are overdue, each group with its own lateness
(H294, probe 14 F1 on the Panel).

Dates by hand from the schedule the project cites (BSR 2017 via NICE CKS / SPS, kept by
the BSR 2025 profile): a methotrexate course begun on 2022-01-01 is in maintenance in
2023-2024, so a group's next test is its last result + 84 days; a group never recorded
since the course began was due 14 days after the start (2022-01-15).
"""

from __future__ import annotations

import pandas as pd

from dashboard.panel import overdue_words, why_texts
from tests.rules.builders import dose, full_check, run

MTX = [dose("P1", "methotrexate", "2022-01-01", amount=15, frequency="weekly")]


def _without_albumin(when: str) -> list[dict]:
    return [r for r in full_check("P1", when) if r["analyte"] != "albumin"]


def test_a_year_old_fbc_beside_an_albumin_never_done_names_both_with_their_own_lateness():
    # FBC, creatinine and ALT on 2023-06-01: due 2023-08-24, 282 days late on 2024-06-01;
    # albumin never: due 2022-01-15, 868 days late (730 + 138).  Worst first.
    rv = run(_without_albumin("2023-06-01"), MTX, as_of="2024-06-01")
    assert why_texts(rv, pd.Series(["P1"])) == ["albumin 868 d, FBC + creatinine/eGFR + ALT/AST 282 d overdue"]


def test_a_patient_tested_yesterday_owes_only_the_albumin():
    # The same tests on 2024-05-31: due 2024-08-23, not late.  Only the albumin is overdue:
    # never "bloods", which would send the patient for a count done the day before.
    rv = run(_without_albumin("2024-05-31"), MTX, as_of="2024-06-01")
    assert why_texts(rv, pd.Series(["P1"])) == ["albumin 868 d overdue"]


def test_the_whole_check_overdue_by_one_lateness_is_bloods():
    # Every group (FBC, creatinine/eGFR, ALT/AST, albumin) last on 2023-06-01: all due
    # 2023-08-24, 282 days late on 2024-06-01.
    rv = run(full_check("P1", "2023-06-01"), MTX, as_of="2024-06-01")
    assert why_texts(rv, pd.Series(["P1"])) == ["bloods 282 d overdue"]


def test_words_without_groups_keep_the_rows_own_tests():
    # a row with no group list (an older stored table) still says what it is and how late
    assert overdue_words("blood pressure", None, 12) == "blood pressure 12 d overdue"
    groups = [{"tests": "blood pressure", "days_overdue": 12}]
    assert overdue_words("blood pressure", groups, 12) == "blood pressure 12 d overdue"


def test_the_patient_page_lists_every_overdue_group_in_full():
    # The Blood tests due tab writes each schedule row's words whole above the table (a
    # table cell cut "... OVERDUE by 28" short at 1400 px): the FBC's lateness and the albumin's.
    import datetime as dt

    from dashboard.dataset import Dataset
    from tests.rules.builders import frame, patient
    from tests.support import page_with

    ds = Dataset(
        frame("labs", _without_albumin("2023-06-01")),
        frame("doses", MTX),
        frame("patients", [patient("P1")]),
        label="h294",
    )
    at = page_with(ds, dt.date(2024, 6, 1))
    assert not at.exception
    tab = next(t for t in at.tabs if t.label == "Blood tests due")
    shown = " ".join(str(m.value) for m in tab.markdown).replace("\\", "")  # markdown escapes
    assert "ALT/AST (every 84 days at present) OVERDUE by 282 days (due 2023-08-24, last 2023-06-01)" in shown
    assert "albumin (none recorded since the course began on 2022-01-01) OVERDUE by 868 days" in shown


def test_the_schedule_table_says_when_no_check_was_complete():
    # No albumin in the course: no complete check, said in words, never a bare "None"
    from dashboard.views import schedule_table

    rv = run(_without_albumin("2023-06-01"), MTX, as_of="2024-06-01")
    table = schedule_table(rv.schedule_df(), what=False)
    assert list(table["Last test"]) == ["no complete check"]
    assert list(table["Next due"]) == ["2022-01-15"] and list(table["Overdue (days)"]) == [868]
