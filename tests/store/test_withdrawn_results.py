"""A result the workspace replaced by a correction does not come back (probe 16 F2, H321).

The workspace keeps the corrections it stores (schema 9, ``lab_corrections``).  A later
import that brings again a result of a draw whose correction stands (the week-1 export
dropped again, re-saved with CRLF line ends, so with another SHA-256) has that result
rejected, naming the correction, and counted: rows read = accepted + rejected + duplicates.
"""

from __future__ import annotations

import datetime as dt

from dashboard.store import schema
from dashboard.store.panel import open_panel
from tests.store.helpers import store_import

H = "MRN,Collection Date,Component,Result,Units,Reference Range,Status\n"
ALT_130 = "2001,2026-10-20 10:00,ALT,130,U/L,0-40,Final\n"
ALT_30_C = "2001,2026-10-20 10:00,ALT,30,U/L,0-40,Corrected\n"


imp = store_import


def alt_values(ws) -> list[float]:
    labs = ws.load().labs.to_pandas()
    return sorted(labs.loc[labs["analyte"] == "alt", "value"])


def test_a_result_the_workspace_replaced_is_rejected_when_its_file_comes_again_under_another_hash(ws):
    """ALT 130 (Final) imported, then corrected to 30: the 130 is removed (H132).  The first
    file again with CRLF line ends: its one row is rejected, naming the correction (its
    value, file, row and the day it was imported), not stored and not graded: by hand ALT
    30 <= ULN 40 is no CTCAE grade, so the draw has no flag at all."""
    imp(ws, "labs-w1.csv", H + ALT_130)
    imp(ws, "labs-w2.csv", H + ALT_30_C)
    assert alt_values(ws) == [30.0]
    out = imp(ws, "labs-w1-again.csv", (H + ALT_130).replace("\n", "\r\n"))
    assert out.stored and out.labs_added == 0
    [f] = out.report.files
    assert (f.rows_read, f.rows_accepted, f.rows_rejected, f.duplicates) == (1, 0, 1, 0)
    [p] = f.problems
    assert p.row == 2 and p.patient_id == "2001" and p.analyte == "alt" and p.collected_at.startswith("2026-10-20")
    assert "replaced by the correction imported on 25 Nov 2026 (ALT 30 U/L" in p.message
    assert "labs-w2.csv row 2" in p.message and "'Corrected'" in p.message
    assert alt_values(ws) == [30.0]
    assert open_panel(ws).open_flags(dt.date(2026, 11, 6)).empty
    # the stored report says it too, so the patient's page lists the row not read
    assert "replaced by the correction" in ws.imports()[0]["report"]["files"][0]["problems"][0]["message"]


def test_a_result_replaced_within_one_import_does_not_come_back_from_an_older_file(ws):
    """One file holds ALT 130 (Final) and 30 (Corrected): the import keeps the 30 (H132).  An
    older file with the 130 alone is imported later: rejected, naming the stored correction."""
    imp(ws, "cumulative.csv", H + ALT_130 + ALT_30_C)
    assert alt_values(ws) == [30.0]
    out = imp(ws, "older.csv", H + ALT_130)
    [f] = out.report.files
    assert (f.rows_accepted, f.rows_rejected) == (0, 1)
    assert "replaced by the correction imported on 25 Nov 2026 (ALT 30 U/L" in f.problems[0].message
    assert "cumulative.csv row 3" in f.problems[0].message
    assert alt_values(ws) == [30.0]


def test_a_resent_file_keeps_its_other_rows_and_counts_each_one(ws):
    """The re-sent export holds the withdrawn 130, the correction 30 again and a new ALT of
    27 Oct: 3 rows = 1 accepted (27 Oct) + 1 rejected (130, within the file, H132) + 1
    duplicate (30).  Then a file with the 130 and another new result: 1 rejected, 1 accepted."""
    imp(ws, "labs-w1.csv", H + ALT_130)
    imp(ws, "labs-w2.csv", H + ALT_30_C)
    later = "2001,2026-10-27 10:00,ALT,35,U/L,0-40,Final\n"
    out = imp(ws, "cumulative.csv", H + ALT_130 + ALT_30_C + later)
    [f] = out.report.files
    assert (f.rows_read, f.rows_accepted, f.rows_rejected, f.duplicates) == (3, 1, 1, 1)
    assert alt_values(ws) == [30.0, 35.0]
    newer = "2001,2026-11-03 10:00,ALT,33,U/L,0-40,Final\n"
    out = imp(ws, "mixed.csv", H + ALT_130 + newer)
    [f] = out.report.files
    assert (f.rows_read, f.rows_accepted, f.rows_rejected, f.duplicates) == (2, 1, 1, 0)
    assert [p.row for p in f.problems] == [2]
    assert alt_values(ws) == [30.0, 33.0, 35.0]


def test_a_later_correction_still_replaces_and_the_older_correction_sent_again_does_not(ws):
    """130 (Final), corrected to 30, then corrected again to 45 (a new correction: it
    replaces the 30, H132).  The file of the 30 sent again: the 30 is a correction the
    workspace has already replaced, so it is rejected naming the 45 and replaces nothing."""
    imp(ws, "labs-w1.csv", H + ALT_130)
    imp(ws, "labs-w2.csv", H + ALT_30_C)
    imp(ws, "labs-w3.csv", H + "2001,2026-10-20 10:00,ALT,45,U/L,0-40,Corrected\n")
    assert alt_values(ws) == [45.0]
    out = imp(ws, "labs-w2-again.csv", (H + ALT_30_C).replace("\n", "\r\n"))
    [f] = out.report.files
    assert (f.rows_accepted, f.rows_rejected) == (0, 1)
    assert "(ALT 45 U/L" in f.problems[0].message and "labs-w3.csv row 2" in f.problems[0].message
    assert alt_values(ws) == [45.0]
    assert not any("replaced by the corrected result" in w.message for w in f.warnings)


def test_a_count_made_from_a_withdrawn_wbc_does_not_come_back(ws):
    """H170's draw: WBC 4.0 (Final) and neutrophils 50 %, stored as 50 % x 4.0 = 2.0; the WBC
    corrected to 2.0 makes the count 50 % x 2.0 = 1.0.  The first file again: the WBC 4.0 is
    rejected, and so is the count 2.0 made from it in that file (not graded beside the 1.0)."""
    a = H + "1,2024-04-02 08:15,WBC,4.0,10^9/L,4.0-11.0,Final\n1,2024-04-02 08:15,Neutrophils,50,%,,Final\n"
    imp(ws, "a.csv", a)
    imp(ws, "b.csv", H + "1,2024-04-02 08:15,WBC,2.0,10^9/L,4.0-11.0,Corrected\n")
    out = imp(ws, "a-again.csv", a.replace("\n", "\r\n"))
    [f] = out.report.files
    assert (f.rows_read, f.rows_accepted, f.rows_rejected) == (2, 0, 2)
    assert "WBC 2.0 10^9/L" in f.problems[1].message
    labs = ws.load().labs.to_pandas().set_index("analyte")
    assert (labs.loc["wbc", "value"], labs.loc["neutrophils", "value"]) == (2.0, 1.0)


def test_another_value_of_a_draw_without_a_correction_is_still_kept_and_said(ws):
    """Without a correction nothing is withdrawn: two different final values of one draw are
    both kept, as before (the draw is graded on the more severe, with the conflict said)."""
    imp(ws, "a.csv", H + ALT_130)
    out = imp(ws, "b.csv", H + "2001,2026-10-20 10:00,ALT,30,U/L,0-40,Final\n")
    assert out.labs_added == 1 and not out.report.files[0].problems
    assert alt_values(ws) == [30.0, 130.0]


def test_a_version_8_workspace_gains_the_table_of_corrections(ws, monkeypatch):
    """Schema 9 adds ``lab_corrections`` (append-only); a workspace of version 8 migrates."""
    monkeypatch.setattr("dashboard.store.migrations.MIGRATIONS", schema.MIGRATIONS[:8])
    monkeypatch.setattr("dashboard.store.migrations.latest_version", lambda: 8)
    monkeypatch.setattr("dashboard.store.workspace.latest_version", lambda: 8)
    imp(ws, "labs-w1.csv", H + ALT_130)
    monkeypatch.undo()
    imp(ws, "labs-w2.csv", H + ALT_30_C)
    assert ws.info()["schema_version"] == schema.latest_version()  # 9 added lab_corrections
    imp_again = imp(ws, "labs-w1-again.csv", (H + ALT_130).replace("\n", "\r\n"))
    assert imp_again.report.files[0].rows_rejected == 1
    assert "lab_corrections" in schema.APPEND_ONLY


LYMPH = "2002,2026-10-25 08:30,Lymphocytes,{v},10^9/L,1.0-4.0,{s}\n"
LYMPH_KEY = "2002|ctcae.lymphocytes|2026-10-25T08:30:00|lymphocytes"


def _legacy_review(ws) -> None:
    """An entry as a dashboard before schema 4 wrote it: no row in review_results."""
    import duckdb

    con = duckdb.connect(str(ws.db_path))
    con.execute(
        "INSERT INTO reviews VALUES (1, '2002', ?, 'ctcae.lymphocytes', 'lymphocytes', ?, 'repeat test', "
        "'repeat lymphocytes', 'Dr A', ?, NULL)",
        [LYMPH_KEY, dt.datetime(2026, 10, 25, 8, 30), ws.clock()],
    )
    con.close()


def test_a_review_without_a_value_is_reopened_by_a_correction_imported_after_it_and_only_then(ws):
    """H322.  Lymphocytes 0.4 (CTCAE grade 3, < 0.5) reviewed by an entry without a value.
    The same value sent again as a correction changes nothing: still covered.  The lab's
    correction to 0.15 (grade 4, < 0.2) imported after the review: open again, "the result
    now reads 0.15".  A review recorded after that correction covers it."""
    imp(ws, "doses.csv", "patient,drug,dose,unit,frequency,start\n2002,mycophenolate mofetil,1000,mg,BID,2026-05-01\n")
    imp(ws, "w1.csv", H + LYMPH.format(v="0.4", s="Final"))
    _legacy_review(ws)
    as_of = dt.date(2026, 11, 6)

    def flag():
        return open_panel(ws).open_flags(as_of).set_index("flag_key").loc[LYMPH_KEY]

    assert flag()["reviewed"]
    imp(ws, "w1c.csv", H + LYMPH.format(v="0.4", s="Corrected"))  # the reviewed value, a duplicate
    assert flag()["reviewed"]
    imp(ws, "w2.csv", H + LYMPH.format(v="0.15", s="Corrected"))
    now = flag()
    assert (now["value"], now["ctcae_grade"], now["severity"]) == (0.15, 4, "urgent")
    assert not now["reviewed"] and now["review_lapsed"].startswith("the result now reads 0.15 since the review by Dr A")
    from dashboard.reviews import results_of, reviews_for

    f = open_panel(ws).open_flags(as_of)
    ws.add_reviews(reviews_for("2002", [LYMPH_KEY], "withhold", "MMF held", results_of(f)), by="Dr B")
    assert flag()["reviewed"]
