"""The workspace store: persistence, idempotent imports, provenance, migrations."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from dashboard.ingest import Source
from dashboard.store import Workspace, WorkspaceError, schema
from dashboard.store.panel import open_panel
from dashboard.store.workspace import EntryRejected
from tests.store.helpers import DOSES, LABS, PATIENTS
from tests.support import assert_balanced


def src(name: str, text: str) -> Source:
    return Source(name, text.encode())


def test_a_new_workspace_is_empty_and_not_created_by_reading(ws):
    info = ws.info()
    assert info["exists"] is False and info["labs"] == 0
    assert ws.load().labs.num_rows == 0
    assert not ws.path.exists()


def test_what_is_imported_persists_for_a_new_process_object(ws):
    out = ws.import_sources([src("labs.csv", LABS), src("doses.csv", DOSES), src("patients.csv", PATIENTS)], by="t")
    assert out.stored and out.labs_added == 4 and out.doses_added == 2 and out.patients_added == 2
    again = Workspace(ws.path)
    info = again.info()
    assert (info["labs"], info["doses"], info["patients"], info["imports"]) == (4, 2, 2, 1)
    panel = open_panel(again)
    assert set(panel.patients["patient_id"]) == {"001", "002"}
    assert panel.patients.set_index("patient_id").loc["001", "diagnosis"] == "SLE"
    wbc = panel.labs[(panel.labs["patient_id"] == "001") & (panel.labs["analyte"] == "wbc")]
    assert sorted(wbc["value"]) == [2.9, 3.2]
    assert list(wbc["source_value"]) == ["3.2", "2.9"]  # the raw text is kept


def test_reimporting_the_same_file_changes_nothing_and_says_so(ws):
    ws.import_sources([src("labs.csv", LABS)], by="t")
    before = ws.info()
    out = ws.import_sources([src("labs.csv", LABS)], by="t")
    assert not out.stored
    assert out.skipped and "already imported on 2026-11-25" in out.skipped[0].message()
    assert ws.info() == before  # counts, import log and data version unchanged
    # same content under another name is the same file
    renamed = ws.import_sources([src("copy of labs.csv", LABS)], by="t")
    assert not renamed.stored and "(as labs.csv)" in renamed.skipped[0].message()


def test_an_overlapping_file_adds_only_new_results_and_reports_duplicates(ws):
    ws.import_sources([src("jan.csv", LABS)], by="t")
    newer = LABS + "002,2024-05-16,PLT,85,K/uL\n001,2024-05-16,WBC,3.0,K/uL\n"
    out = ws.import_sources([src("feb.csv", newer)], by="t")
    assert (out.labs_added, out.labs_duplicate) == (2, 4)
    f = out.report.files[0]
    assert (f.rows_read, f.rows_accepted, f.duplicates) == (6, 2, 4)
    assert_balanced(out)
    assert any("4 results already in the workspace" in w.message for w in f.warnings)
    assert ws.info()["labs"] == 6
    stored = ws.imports()[0]
    assert stored["report"]["files"][0]["duplicates"] == 4 and stored["labs_duplicate"] == 4
    assert stored["files"][0]["file_name"] == "feb.csv" and len(stored["files"][0]["content_hash"]) == 64


def test_each_import_is_logged_with_hash_time_and_report(ws):
    ws.import_sources([src("labs.csv", LABS)], by="nightly")
    [entry] = ws.imports()
    assert entry["imported_by"] == "nightly" and entry["origin"] == "cli"
    assert entry["imported_at"] == dt.datetime(2026, 11, 25, 9, 2)
    assert entry["report"]["files"][0]["path"] == "labs.csv"
    assert entry["report"]["labs"] == 4


def test_a_file_needing_a_choice_stores_nothing(ws):
    ambiguous = "id,date,test,value,unit\np1,01/02/2024,WBC,4,10^9/L\np1,03/04/2024,WBC,5,10^9/L\n"
    out = ws.import_sources([src("amb.csv", ambiguous)], by="t")
    assert not out.stored and out.report.needs
    assert not ws.exists() or ws.info()["imports"] == 0
    from dashboard.ingest import ImportOptions

    chosen = ws.import_sources([src("amb.csv", ambiguous)], ImportOptions(date_order="dayfirst"), by="t")
    assert chosen.stored and chosen.labs_added == 2
    assert ws.imports()[0]["options"]["date_order"] == "dayfirst"


def test_a_dose_seen_again_with_an_end_date_gets_its_end(ws):
    ws.import_sources([src("doses.csv", DOSES)], by="t")
    ended = DOSES.replace("2024-01-01,\n", "2024-01-01,2024-06-30\n")
    out = ws.import_sources([src("doses2.csv", ended)], by="t")
    assert (out.doses_added, out.doses_duplicate) == (0, 2)
    assert_balanced(out)
    aza = ws.doses("001").to_pylist()[0]
    assert aza["end"] == dt.datetime(2024, 6, 30)
    [edit] = ws.dose_edits("001").to_pylist()
    assert edit["action"] == "end from import" and "doses2.csv" in edit["detail"]


def test_patient_details_are_merged_and_changes_reported(ws):
    ws.import_sources([src("patients.csv", PATIENTS)], by="t")
    changed = "patient,sex,TPMT,diagnosis\n001,F,intermediate,SLE\n002,M,,RA\n"
    out = ws.import_sources([src("patients2.csv", changed)], by="t")
    assert (out.patients_added, out.patients_updated) == (0, 1)
    f = out.report.files[0]
    assert f.duplicates == 1 and any("tpmt normal -> intermediate" in w.message for w in f.warnings)
    p = open_panel(ws).patients.set_index("patient_id")
    assert p.loc["001", "tpmt"] == "intermediate"
    assert p.loc["001", "birth_date"] == dt.datetime(1980, 5, 1)  # not blanked by a file without it


def test_the_extract_date_of_a_saved_panel_is_kept(ws):
    from dashboard.ingest import import_sources
    from dashboard.store import FileRecord

    result = import_sources([src("labs.csv", LABS)])
    ws.save_result(
        result,
        [FileRecord.of(src("labs.csv", LABS))],
        by="Dr A",
        origin="app",
        label="x",
        extract_date=dt.date(2025, 6, 1),
    )
    assert open_panel(ws).as_of == dt.date(2025, 6, 1)
    # saving the same files again is recognised
    again = ws.save_result(result, [FileRecord.of(src("labs.csv", LABS))], by="Dr A", origin="app", label="x")
    assert not again.stored and again.skipped


def test_schema_version_and_migrations_are_recorded(ws, monkeypatch):
    ws.create()
    latest = schema.latest_version()
    assert ws.info()["schema_version"] == latest == len(schema.MIGRATIONS)
    ws.import_sources([src("labs.csv", LABS)], by="t")
    nxt = schema.Migration(
        latest + 1, "test: a column for lab comments", lambda: ["ALTER TABLE labs ADD COLUMN comment VARCHAR"]
    )
    monkeypatch.setattr(schema, "MIGRATIONS", [*schema.MIGRATIONS, nxt])
    monkeypatch.setattr("dashboard.store.migrations.MIGRATIONS", [*schema.MIGRATIONS])
    info = Workspace(ws.path).info()  # a reader brings an old workspace up to date first
    assert info["schema_version"] == latest + 1 and info["labs"] == 4
    import duckdb

    con = duckdb.connect(str(ws.db_path), read_only=True)
    try:
        applied = con.execute("SELECT version, description FROM schema_migrations ORDER BY version").fetchall()
        cols = [r[0] for r in con.execute("DESCRIBE labs").fetchall()]
    finally:
        con.close()
    assert [v for v, _ in applied] == list(range(1, latest + 2)) and "comment" in cols


def test_a_workspace_from_a_newer_version_is_refused(ws, monkeypatch):
    ws.create()
    monkeypatch.setattr("dashboard.store.workspace.latest_version", lambda: 0)
    with pytest.raises(WorkspaceError, match="newer version"):
        Workspace(ws.path).info()


def test_a_file_that_is_not_a_workspace_is_an_error(tmp_path):
    (tmp_path / "w").mkdir()
    (tmp_path / "w" / "workspace.duckdb").write_bytes(b"not a database" * 100)
    with pytest.raises(WorkspaceError):
        Workspace(tmp_path / "w").info()


def test_monitoring_interval_is_stored_with_its_history(ws):
    """Issue 17: the BSR 2025 risk-adapted interval lives in the workspace, latest wins."""
    ws.create()
    ws.import_sources([src("labs.csv", LABS)], by="t")
    with pytest.raises(EntryRejected):
        ws.set_interval("P1", 182, "", by="Dr A")  # no reason
    with pytest.raises(EntryRejected):
        ws.set_interval("P1", 400, "stable", by="Dr A")
    ws.set_interval("P1", 182, "stable 2 years, no risk factors", by="Dr A")
    ws.set_interval("P1", 0, "eGFR fell: back to the schedule", by="Dr B")
    history = ws.intervals("P1").to_pylist()
    assert [(r["interval_days"], r["set_by"]) for r in history] == [(182, "Dr A"), (0, "Dr B")]
    ds = open_panel(ws).dataset()
    assert ds.interval_of("P1")["interval_days"] == 0


def test_a_version_5_workspace_gains_review_judgements_and_its_reviews_still_cover(ws, monkeypatch):
    """H119: schema 6 adds ``review_judgements``; a review recorded by a schema-5 dashboard
    (a value, no judgement) keeps covering its flag after the migration."""
    from dashboard.reviews import results_of, reviews_for

    monkeypatch.setattr("dashboard.store.migrations.MIGRATIONS", schema.MIGRATIONS[:5])
    monkeypatch.setattr("dashboard.store.migrations.latest_version", lambda: 5)
    monkeypatch.setattr("dashboard.store.workspace.latest_version", lambda: 5)
    schema_5_log = "SELECT r.*, x.value, x.comparator FROM reviews r LEFT JOIN review_results x USING (review_id)"
    monkeypatch.setattr("dashboard.store.entries.REVIEW_LOG", schema_5_log)
    ws.import_sources([src("labs.csv", LABS), src("doses.csv", DOSES), src("patients.csv", PATIENTS)], by="t")
    as_of = dt.date(2025, 6, 1)
    shown = open_panel(ws).open_flags(as_of)
    assert len(shown)
    values = {k: (j.value, j.comparator) for k, j in results_of(shown).items()}  # what schema 5 kept
    ws.add_reviews(
        reviews_for("001", list(shown["flag_key"][shown["patient_id"] == "001"]), "continue", "", values), by="Dr A"
    )
    import duckdb

    con = duckdb.connect(str(ws.db_path), read_only=True)
    assert "review_judgements" not in {r[0] for r in con.execute("SHOW TABLES").fetchall()}
    con.close()
    monkeypatch.undo()
    again = Workspace(ws.path)
    assert again.info()["schema_version"] == schema.latest_version() == 13  # H321, H530, H540, H625, H643
    flags = open_panel(again).open_flags(as_of)
    mine = flags[flags["patient_id"] == "001"]
    assert len(mine) and mine["reviewed"].all()
    assert open_panel(again).reviews["severity"].isna().all()


def test_a_clinician_set_baseline_is_stored_with_its_history_and_the_latest_holds(ws):
    """H122: the workspace keeps clinician-set baselines (its ``baselines`` table): the
    latest per patient and analyte is in force, the earlier rows stay; an entry without a
    positive value or a name is refused."""
    ws.import_sources([src("labs.csv", LABS)], by="t")
    with pytest.raises(EntryRejected):
        ws.set_baseline("001", "neutrophils", 0.0, "", by="Dr A")
    with pytest.raises(EntryRejected):
        ws.set_baseline("001", "neutrophils", 1.1, "", by=" ")
    ws.set_baseline("001", "neutrophils", 1.2, "first estimate", by="Dr A")
    ws.set_baseline("001", "neutrophils", 1.1, "Duffy-null", by="Dr B")
    ws.set_baseline("001", "wbc", 3.0, "", by="Dr B")
    kept = open_panel(Workspace(ws.path)).baselines.sort_values("analyte")
    assert list(zip(kept["analyte"], kept["value"], kept["set_by"], strict=True)) == [
        ("neutrophils", 1.1, "Dr B"),
        ("wbc", 3.0, "Dr B"),
    ]
    import duckdb

    con = duckdb.connect(str(ws.db_path), read_only=True)
    try:
        assert con.execute("SELECT count(*) FROM baselines").fetchall()[0][0] == 3  # the history stays
    finally:
        con.close()


def test_a_session_panels_intervals_and_baselines_are_kept_with_their_time(ws):
    """H122: what a clinician set in a session panel is stored in one go, with when it was set."""
    at = dt.datetime(2024, 4, 2, 10, 30)
    n = ws.keep_clinician_entries(
        [{"patient_id": "001", "interval_days": 28, "reason": "CKD", "set_by": "Dr A", "set_at": at}],
        [{"patient_id": "001", "analyte": "neutrophils", "value": 1.1, "note": "", "set_by": "Dr A", "set_at": at}],
    )
    assert n == 2
    p = open_panel(ws)
    assert list(p.intervals["set_at"]) == [pd.Timestamp(at)] and list(p.baselines["set_at"]) == [pd.Timestamp(at)]


def test_a_patients_rejected_rows_are_kept_with_the_import_and_said_on_the_workspace_panel(ws):
    """A dose row of P2 that cannot be held (methotrexate "3x weekly") is rejected at
    import; in workspace mode the panel has no import report, so the stored report's
    rejected rows, each naming its patient, reach P2's page, with the file and the day of
    the import; P1's rows are not P2's."""
    doses = (
        "patient,drug,dose,unit,frequency,route,start\n"
        "P1,azathioprine,150,mg,daily,oral,2024-01-01\n"
        "P2,methotrexate,10,mg,3x weekly,oral,2024-01-01\n"
        "P2,azathioprine,50,mg,daily,oral,2024-01-01\n"
    )
    ws.import_sources([Source("doses.csv", doses.encode())], by="t")
    ds = open_panel(ws).dataset()
    [(name, problem)] = ds.rejected_rows("P2")
    assert name.startswith("doses.csv (imported ") and problem.row == 3
    assert "methotrexate more often than once weekly" in problem.message
    assert ds.rejected_rows("P1") == [] and ds.for_patient("P2").rejected_rows("P2") == [(name, problem)]


def test_a_rejected_result_a_later_import_gives_again_is_shown_resolved_not_open(tmp_path):
    """A platelet count rejected at a first import ('Clotted') and given again, readable,
    by a later import for the same draw (patient, analyte, draw time): the Patient page no
    longer counts it as an open rejection, yet still shows that it was rejected then, why,
    and what replaced it (value, file, import day).  A rejected row of another draw, and
    the same draw's rejection when the later result is of another analyte, stay open."""
    from tests.support import p6_workspace

    first = (
        "MRN,Collection Date,Component,Result,Units\n"
        "1,2024-04-02 08:15,Platelets,Clotted,10^9/L\n"
        "1,2024-04-02 08:15,WBC,4.0,10^9/L\n"
        "1,2024-04-03 08:15,Platelets,Clotted,10^9/L\n"
        "1,2024-04-02 08:15,ALT,Haemolysed,U/L\n"
    )
    later = "MRN,Collection Date,Component,Result,Units\n1,2024-04-02 08:15,Platelets,180,10^9/L\n"
    ws = p6_workspace(tmp_path / "ws", ("a.csv", first), at=dt.datetime(2024, 4, 3, 9))
    ws.clock = lambda: dt.datetime(2024, 4, 5, 9)
    ws.import_sources([src("b.csv", later)], by="t")
    ds = open_panel(ws).dataset()
    still_open = sorted((p.row, p.message) for _, p in ds.rejected_rows("1"))
    assert [row for row, _ in still_open] == [4, 5]  # the other day's platelets, the ALT
    [(name, problem, replaced)] = ds.resolved_rows("1")
    assert name == "a.csv (imported 03 Apr 2024)" and problem.row == 2 and "Clotted" in problem.message
    assert replaced == "180 10^9/L from b.csv (imported 05 Apr 2024)"
    assert ds.for_patient("1").resolved_rows("1") == [(name, problem, replaced)]


STATUS_H = "MRN,Collection Date,Component,Result,Units,Status\n"


def test_a_correction_imported_later_replaces_the_kept_result(ws):
    """audit 5 S4 (H132): platelets 40 (final; CTCAE grade 3) kept from the first import,
    then 140 (Corrected) of the same draw: the draw's result is 140 alone, and the second
    import's report names the stored result it replaced and its import.  Another test of
    the draw, and the same test of another patient, stay."""
    ws.import_sources(
        [
            src(
                "a.csv",
                STATUS_H + "1,2024-04-02 08:15,Platelets,40,10^9/L,Final\n"
                "1,2024-04-02 08:15,WBC,4.0,10^9/L,Final\n"
                "2,2024-04-02 08:15,Platelets,40,10^9/L,Final\n",
            )
        ],
        by="t",
    )
    out = ws.import_sources([src("b.csv", STATUS_H + "1,2024-04-02 08:15,Platelets,140,10^9/L,Corrected\n")], by="t")
    assert_balanced(out)
    labs = ws.load().labs.to_pandas()
    assert sorted(zip(labs["patient_id"], labs["analyte"], labs["value"], strict=True)) == [
        ("1", "platelets", 140.0),
        ("1", "wbc", 4.0),
        ("2", "platelets", 40.0),
    ]
    (said,) = [w.message for w in out.report.files[0].warnings if "replaced by the corrected result" in w.message]
    assert "40 10^9/L" in said and "import 1" in said and "'Corrected'" in said and "no longer graded" in said


def test_a_correction_equal_to_the_kept_result_is_a_duplicate_and_replaces_nothing(ws):
    ws.import_sources([src("a.csv", STATUS_H + "1,2024-04-02 08:15,Platelets,140,10^9/L,Final\n")], by="t")
    out = ws.import_sources([src("b.csv", STATUS_H + "1,2024-04-02 08:15,Platelets,140,10^9/L,C\n")], by="t")
    assert ws.load().labs.column("value").to_pylist() == [140.0]
    assert out.labs_duplicate == 1
    assert not any("replaced" in w.message for w in out.report.files[0].warnings)


def test_a_range_per_sex_uses_the_sex_the_workspace_holds(tmp_path):
    # Audit 5 C1.  Patient 1 is a woman (stored from an earlier patient file); her lab file
    # gives ALT's range per sex, "0-35 (M) 0-30 (F)": her ULN is 30, so ALT 95 is 3.17 x ULN,
    # CTCAE v5.0 grade 2 (>3.0-5.0 x ULN), where the default ULN 40 would make it 2.4 x,
    # grade 1.  Patient 2's sex is known nowhere: no range, said.  Patient 3 is stored as a
    # man and this file says F: a sex two sources disagree on is unknown, so no range either.
    from tests.support import p6_workspace

    ws = p6_workspace(
        tmp_path / "ws", ("pat.csv", "MRN,Sex,Date of Birth\n1,F,1960-01-01\n2,,1961-01-01\n3,M,1962-01-01\n")
    )
    labs_csv = (
        "MRN,Sex,Collection Date,Component,Result,Units,Reference Range\n"
        "1,,2024-04-02 08:15,ALT,95,U/L,0-35 (M) 0-30 (F)\n"
        "2,,2024-04-02 08:15,ALT,95,U/L,0-35 (M) 0-30 (F)\n"
        "3,F,2024-04-02 08:15,ALT,95,U/L,0-35 (M) 0-30 (F)\n"
    )
    out = ws.import_sources([src("labs.csv", labs_csv)], by="t")
    warnings = " | ".join(w.message for f in out.report.files for w in f.warnings)
    assert "1 reference range(s) are given per sex: each read for the patient's sex" in warnings
    assert "2 reference range(s) are given per sex and the patient's sex is not known" in warnings
    labs = ws.load().labs.to_pandas().set_index("patient_id")
    assert labs.loc["1", "ref_high"] == 30.0
    assert pd.isna(labs.loc["2", "ref_high"]) and pd.isna(labs.loc["3", "ref_high"])
    flags = open_panel(ws).open_flags(dt.date(2024, 5, 1))
    alt = flags[flags["rule"] == "ctcae.alt"].set_index("patient_id")
    assert alt.loc["1", "ctcae_grade"] == 2
    assert alt.loc["2", "ctcae_grade"] == 1  # the default ULN 40: 2.4 x ULN


def test_a_wbc_correction_imported_later_makes_the_stored_percentage_count_again(tmp_path):
    # H170.  a.csv: WBC 4.0 (Final) and neutrophils 50 % of one draw: the stored count is
    # 50 % x 4.0 = 2.0 x10^9/L.  b.csv corrects the WBC to 2.0: the count the lab's 50 %
    # now stands for is 50 % x 2.0 = 1.0 x10^9/L, CTCAE v5.0 neutrophil count decreased
    # grade 2 (<1.5-1.0), where the 2.0 of the withdrawn WBC is grade 1 at most.
    from tests.support import p6_workspace

    ws = p6_workspace(
        tmp_path / "ws",
        ("a.csv", STATUS_H + "1,2024-04-02 08:15,WBC,4.0,10^9/L,Final\n1,2024-04-02 08:15,Neutrophils,50,%,Final\n"),
    )
    assert ws.load().labs.to_pandas().set_index("analyte").loc["neutrophils", "value"] == 2.0
    out = ws.import_sources([src("b.csv", STATUS_H + "1,2024-04-02 08:15,WBC,2.0,10^9/L,Corrected\n")], by="t")
    assert_balanced(out)
    labs = ws.load().labs.to_pandas().set_index("analyte")
    assert labs.loc["wbc", "value"] == 2.0
    neut = labs.loc["neutrophils"]
    assert (neut["value"], neut["derived"], neut["source_value"], neut["source_unit"]) == (1.0, True, "50", "%")
    said = " | ".join(w.message for f in out.report.files for w in f.warnings)
    assert "Neutrophils" in said and "50 %" in said and "a.csv row 3" in said
    assert "count 2.0 10^9/L" in said and "now 1.0 10^9/L" in said and "corrected WBC 2.0 10^9/L" in said
    flags = open_panel(ws).open_flags(dt.date(2024, 5, 1))
    neut_flags = flags[flags["rule"] == "ctcae.neutrophils"]
    assert list(neut_flags["ctcae_grade"]) == [2]


def test_a_stored_percentage_count_of_a_draw_with_two_wbc_corrections_is_no_longer_graded(tmp_path):
    # H170.  The stored count 50 % x 4.0 = 2.0 is of a WBC now replaced by two different
    # corrections (2.0 and 3.0) of the same draw: which one the 50 % is of is not known, so
    # the count is removed, not left at 2.0, and the report says why.
    from tests.support import p6_workspace

    ws = p6_workspace(
        tmp_path / "ws",
        ("a.csv", STATUS_H + "1,2024-04-02 08:15,WBC,4.0,10^9/L,Final\n1,2024-04-02 08:15,Neutrophils,50,%,Final\n"),
    )
    out = ws.import_sources(
        [
            src(
                "b.csv",
                STATUS_H + "1,2024-04-02 08:15,WBC,2.0,10^9/L,Corrected\n1,2024-04-02 08:15,WBC,3.0,10^9/L,Corrected\n",
            )
        ],
        by="t",
    )
    assert_balanced(out)
    labs = ws.load().labs.to_pandas()
    assert sorted(zip(labs["analyte"], labs["value"], strict=True)) == [("wbc", 2.0), ("wbc", 3.0)]
    said = " | ".join(w.message for f in out.report.files for w in f.warnings)
    assert "Neutrophils" in said and "50 %" in said and "a.csv row 3" in said and "no longer graded" in said
    assert "two different corrected WBC results" in said


def test_a_range_per_sex_stored_before_the_patient_file_is_read_once_the_sex_is_known(tmp_path):
    # H172 (audit 5 C1, the other order).  The lab file comes first: ALT 95 U/L with the
    # range "0-35 (M) 0-30 (F)" for patients 1 and 2, whose sex nothing yet gives: no range,
    # the default ULN 40 (95 / 40 = 2.4 x ULN, CTCAE v5.0 grade 1, > ULN-3.0 x ULN).  The
    # patient file then says 1 is a woman (ULN 30: 95 / 30 = 3.17 x ULN, grade 2, > 3.0-5.0
    # x ULN) and 2 a man (ULN 35: 95 / 35 = 2.71 x ULN, grade 1).  A third file then gives
    # patient 1 as a man: a sex two sources disagree on is unknown, so her range is no
    # longer used (the default 40 again, grade 1), and each import's report says so.
    from tests.support import p6_workspace

    labs_csv = (
        "MRN,Collection Date,Component,Result,Units,Reference Range\n"
        "1,2024-04-02 08:15,ALT,95,U/L,0-35 (M) 0-30 (F)\n"
        "2,2024-04-02 08:15,ALT,95,U/L,0-35 (M) 0-30 (F)\n"
    )
    ws = p6_workspace(tmp_path / "ws", ("labs.csv", labs_csv))
    stored = ws.load().labs.to_pandas().set_index("patient_id")
    assert pd.isna(stored.loc["1", "ref_high"]) and pd.isna(stored.loc["2", "ref_high"])

    out = ws.import_sources([src("pat.csv", "MRN,Sex,Date of Birth\n1,F,1960-01-01\n2,M,1961-01-01\n")], by="t")
    said = " | ".join(w.message for f in out.report.files for w in f.warnings)
    assert "2 stored result(s) with a reference range given per sex are now read for the patient's sex" in said
    stored = ws.load().labs.to_pandas().set_index("patient_id")
    assert (stored.loc["1", "ref_low"], stored.loc["1", "ref_high"]) == (0.0, 30.0)
    assert (stored.loc["2", "ref_low"], stored.loc["2", "ref_high"]) == (0.0, 35.0)
    alt = open_panel(ws).open_flags(dt.date(2024, 5, 1))
    alt = alt[alt["rule"] == "ctcae.alt"].set_index("patient_id")
    assert (alt.loc["1", "ctcae_grade"], alt.loc["2", "ctcae_grade"]) == (2, 1)

    out = ws.import_sources([src("pat2.csv", "MRN,Sex\n1,M\n")], by="t")
    said = " | ".join(w.message for f in out.report.files for w in f.warnings)
    assert "1 stored result(s) with a reference range given per sex no longer use it" in said
    stored = ws.load().labs.to_pandas().set_index("patient_id")
    assert pd.isna(stored.loc["1", "ref_high"]) and stored.loc["2", "ref_high"] == 35.0
    alt = open_panel(ws).open_flags(dt.date(2024, 5, 1))
    assert alt[(alt["rule"] == "ctcae.alt") & (alt["patient_id"] == "1")]["ctcae_grade"].tolist() == [1]
    # the clinician checks and settles patient 1 as a woman: her ULN 30 again (grade 2)
    ws.settle_identity("1", "sex", "F", "checked the notes", by="Dr A")
    assert ws.load().labs.to_pandas().set_index("patient_id").loc["1", "ref_high"] == 30.0


def test_a_session_panel_saved_to_the_workspace_keeps_what_its_import_knew(tmp_path):
    """ "Save this panel to the workspace" stores the session's import as it was made:
    its per-sex limits (H172), corrections (H132) and other identifiers (H150) with it.
    Patient 1's ALT 95 U/L, range "0-35 (M) 0-30 (F)", sex unknown in the session: no
    range, the default ULN 40 (grade 1).  Saved, then a patient file gives her as a woman:
    ULN 30, 95 / 30 = 3.17 x ULN, CTCAE v5.0 grade 2 (> 3.0-5.0 x ULN)."""
    from dashboard.dataset import Dataset
    from dashboard.ingest import ImportOptions, Source, import_sources
    from dashboard.store import Workspace

    labs_csv = (
        "MRN,Collection Date,Component,Result,Units,Reference Range\n1,2024-04-02 08:15,ALT,95,U/L,0-35 (M) 0-30 (F)\n"
    )
    result = import_sources([Source("labs.csv", labs_csv.encode())], ImportOptions(today=dt.date(2024, 5, 1)))
    ds = Dataset.from_import(result, "session")
    again = ds.to_import_result()
    assert again.sex_limits is not None and again.sex_limits.equals(result.sex_limits)
    assert again.aliases == result.aliases and again.corrections == result.corrections

    ws = Workspace(tmp_path / "ws", timeout=20, clock=lambda: dt.datetime(2024, 5, 1, 10))
    ws.save_result(again, (), by="t", origin="app", label="session")
    ws.import_sources([src("pat.csv", "MRN,Sex,Date of Birth\n1,F,1960-01-01\n")], by="t")
    assert ws.load().labs.to_pandas().set_index("patient_id").loc["1", "ref_high"] == 30.0
    alt = open_panel(ws).open_flags(dt.date(2024, 5, 1))
    assert alt[alt["rule"] == "ctcae.alt"]["ctcae_grade"].tolist() == [2]
