"""One rule for merging a patient's details, in an import and in the workspace.

A blank (no value, "", NaN, NaT, "unknown") never replaces a known value; a later known
value replaces an earlier one and is named; a name or date of birth is never replaced
(a different one is an identity conflict); a row that adds nothing is a duplicate.
"""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path

import pandas as pd
import pytest

from dashboard.ingest import ImportOptions, Source, import_sources
from dashboard.patient_merge import is_blank, merge_details, same
from dashboard.store import Workspace
from dashboard.store.errors import EntryRejected
from dashboard.store.panel import open_panel
from tests.store.helpers import Clock
from tests.support import assert_balanced

TODAY = dt.date(2026, 11, 25)
HEADER = "patient_id,first name,last name,date of birth,weight kg,tpmt,diagnosis\n"


@pytest.mark.parametrize("value", [None, "", "  ", math.nan, pd.NaT, "unknown", "Unknown"])
def test_values_that_say_nothing_are_blank(value):
    assert is_blank(value)


@pytest.mark.parametrize("value", ["normal", "SLE", 0.0, 70.0, dt.datetime(1980, 3, 12), "F"])
def test_known_values_are_not_blank(value):
    assert not is_blank(value)


def test_two_blanks_are_the_same_and_a_blank_differs_from_a_value():
    assert same("", "unknown") and same(None, math.nan) and same(70.0, 70.0)
    assert not same("", "normal") and not same(70.0, 72.0)


def row(**values):
    base = {"patient_id": "P1", "name": "", "sex": "", "birth_date": None, "age": math.nan, "weight_kg": math.nan}
    base |= {"weight_date": None, "tpmt": "unknown", "nudt15": "unknown", "diagnosis": ""}
    return base | values


def test_an_unknown_phenotype_never_replaces_a_known_one():
    m = merge_details(row(tpmt="normal"), row(tpmt="unknown"))
    assert m.row["tpmt"] == "normal" and m.duplicate


def test_a_blank_is_filled_and_a_known_value_replaced_by_the_later_one():
    m = merge_details(row(weight_kg=70.0), row(weight_kg=72.0, diagnosis="SLE"))
    assert (m.row["weight_kg"], m.row["diagnosis"]) == (72.0, "SLE")
    assert m.changed == ["weight_kg 70.0 -> 72.0"]  # filling a blank is not a change
    assert sorted(m.updated) == ["diagnosis", "weight_kg"] and not m.duplicate


def test_a_different_name_is_a_conflict_never_a_replacement():
    m = merge_details(row(name="DOE, Jane"), row(name="DOE, John"))
    assert m.conflicts == ["name"] and m.row["name"] == "DOE, Jane"
    assert not m.updated and not m.duplicate  # it says something else: not a duplicate


def test_the_same_name_written_another_way_adds_nothing():
    m = merge_details(row(name="DOE, Jane"), row(name="Jane Doe"))
    assert not m.conflicts and m.row["name"] == "DOE, Jane" and m.duplicate


# --------------------------------------------------------------------------- the two places, one rule


FIRST = HEADER + "P1,Jane,Doe,1980-03-12,70,normal,SLE\n"
SECOND = HEADER + "P1,,,,,unknown,Unknown\n"  # says nothing new
THIRD = HEADER + "P1,,,,72,,\n"  # a later weight


def test_in_one_import_a_row_that_adds_nothing_is_a_duplicate():
    result = import_sources(
        [Source("a.csv", FIRST.encode()), Source("b.csv", SECOND.encode())], ImportOptions(today=TODAY)
    )
    assert_balanced(result)
    b = next(f for f in result.report.files if f.path == "b.csv")
    assert (b.rows_read, b.rows_accepted, b.duplicates) == (1, 0, 1)
    p = result.patients_df().iloc[0]
    assert (p.tpmt, p.diagnosis, p.weight_kg) == ("normal", "SLE", 70.0)


def test_the_workspace_merges_with_the_same_rule(tmp_path: Path):
    ws = Workspace(tmp_path / "ws", timeout=20, clock=Clock())
    ws.import_sources([Source("a.csv", FIRST.encode())], by="t")
    out = ws.import_sources([Source("b.csv", SECOND.encode())], by="t")
    b = out.report.files[0]
    assert (b.rows_accepted, b.duplicates, out.patients_updated) == (0, 1, 0)
    out = ws.import_sources([Source("c.csv", THIRD.encode())], by="t")
    assert out.patients_updated == 1
    assert any("weight_kg 70.0 -> 72.0" in w.message for w in out.report.files[0].warnings)
    stored = open_panel(ws).patients.iloc[0]
    in_one_import = import_sources(
        [Source(n, t.encode()) for n, t in (("a.csv", FIRST), ("b.csv", SECOND), ("c.csv", THIRD))],
        ImportOptions(today=TODAY),
    ).patients_df()
    merged = in_one_import.iloc[0]
    for f in ("name", "birth_date", "weight_kg", "tpmt", "diagnosis"):
        assert stored[f] == merged[f], f
    assert (stored.tpmt, stored.diagnosis, stored.weight_kg) == ("normal", "SLE", 72.0)


def test_a_conflicting_row_in_the_workspace_is_reported_and_nothing_is_written(tmp_path: Path):
    ws = Workspace(tmp_path / "ws", timeout=20, clock=Clock())
    ws.import_sources([Source("a.csv", FIRST.encode())], by="t")
    out = ws.import_sources([Source("b.csv", (HEADER + "P1,John,Doe,,,,\n").encode())], by="t")
    assert [c.field for c in out.report.identity_conflicts] == ["name"]
    b = out.report.files[0]
    assert (b.rows_accepted, b.duplicates, out.patients_updated) == (1, 0, 0)
    assert open_panel(ws).patients.iloc[0]["name"] == "DOE, Jane"


# --------------------------------------------------------------------------- a sex two sources disagree on

# The rules read the sex (the haemoglobin lower limit: 115 g/L for a woman or an unknown
# sex, 130 g/L for a man, reference_ranges.toml; the cyclophosphamide ovarian check for a
# woman or an unknown sex).  Two sources that disagree are an identity conflict, and the
# rules use neither value: the sex is unknown until it is corrected.
SEXED = "MRN,Sex\n"
LABS_WITH_SEX = "MRN,Sex,Collection Date,Test,Result,Units\n"


def _sex_conflicts(result) -> list:
    return [c for c in result.report.identity_conflicts if c.field == "sex"]


def test_two_sexes_for_one_mrn_in_a_patient_file_are_a_conflict_and_neither_is_used():
    result = import_sources([Source("p.csv", (SEXED + "P1,F\nP1,M\n").encode())], ImportOptions(today=TODAY))
    assert_balanced(result)
    [c] = _sex_conflicts(result)
    assert c.patient_id == "P1" and "recorded sexes" in c.message and "unknown" in c.message
    assert result.patients_df().iloc[0]["sex"] == ""


def test_a_lab_file_giving_another_sex_than_the_patient_file_is_a_conflict():
    labs = LABS_WITH_SEX + "P1,M,2024-05-01,Haemoglobin,125,g/L\n"
    result = import_sources(
        [Source("p.csv", (SEXED + "P1,F\n").encode()), Source("l.csv", labs.encode())], ImportOptions(today=TODAY)
    )
    assert_balanced(result)
    assert len(_sex_conflicts(result)) == 1
    assert result.patients_df().iloc[0]["sex"] == ""


def test_the_same_sex_written_twice_is_no_conflict():
    labs = LABS_WITH_SEX + "P1,F,2024-05-01,Haemoglobin,125,g/L\n"
    result = import_sources(
        [Source("p.csv", (SEXED + "P1,female\n").encode()), Source("l.csv", labs.encode())], ImportOptions(today=TODAY)
    )
    assert not _sex_conflicts(result)
    assert result.patients_df().iloc[0]["sex"] == "F"


def test_a_workspace_import_giving_another_sex_leaves_it_unknown(tmp_path: Path):
    ws = Workspace(tmp_path / "ws", timeout=20, clock=Clock())
    ws.import_sources([Source("a.csv", (SEXED + "P1,F\n").encode())], by="t")
    out = ws.import_sources([Source("b.csv", (SEXED + "P1,M\n").encode())], by="t")
    assert len(_sex_conflicts(out)) == 1
    assert open_panel(ws).patients.iloc[0]["sex"] == ""


def test_a_third_file_does_not_settle_a_sex_the_workspace_has_seen_disputed(tmp_path: Path):
    """F from a.csv and M from b.csv: a third file saying F must not make the sex F (that
    picks whichever source came third).  The dispute is kept by the workspace, the third
    value is reported as part of it, and the sex stays unknown."""
    ws = Workspace(tmp_path / "ws", timeout=20, clock=Clock())
    ws.import_sources([Source("a.csv", (SEXED + "P1,F\n").encode())], by="t")
    ws.import_sources([Source("b.csv", (SEXED + "P1,M\n").encode())], by="t")
    out = ws.import_sources([Source("c.csv", (SEXED + "P1,female\n").encode())], by="t")  # not a.csv again
    [c] = _sex_conflicts(out)
    assert [(v, f) for v, f, _ in c.values] == [("F", "the workspace"), ("M", "b.csv"), ("F", "c.csv")]
    assert any(w.message.startswith("identity conflict: patient P1") for w in out.report.files[0].warnings)
    assert out.report.files[0].duplicates == 0  # the row says something else: not a duplicate
    panel = open_panel(ws)
    assert panel.patients.iloc[0]["sex"] == ""
    # the workspace's panel (which has no import report) still shows the conflict
    [kept] = [c for c in panel.dataset().identity_conflicts if c.field == "sex"]
    assert (kept.patient_id, [v for v, _, _ in kept.values]) == ("P1", ["F", "M"])
    assert [c.field for c in panel.dataset().for_patient("P1").identity_conflicts] == ["sex"]


def test_a_sex_disputed_within_one_import_stays_unknown_in_the_workspace(tmp_path: Path):
    ws = Workspace(tmp_path / "ws", timeout=20, clock=Clock())
    ws.import_sources([Source("a.csv", (SEXED + "P1,F\nP1,M\n").encode())], by="t")
    ws.import_sources([Source("b.csv", (SEXED + "P1,M\n").encode())], by="t")
    panel = open_panel(ws)
    assert panel.patients.iloc[0]["sex"] == ""
    assert [c.field for c in panel.dataset().identity_conflicts] == ["sex"]


def test_a_name_conflict_is_kept_but_does_not_blank_a_sex_given_later(tmp_path: Path):
    """Only the fields the rules read are held unknown; a name conflict is shown (the
    first name kept) and a sex first given by a later file is used."""
    ws = Workspace(tmp_path / "ws", timeout=20, clock=Clock())
    ws.import_sources([Source("a.csv", b"MRN,First Name,Last Name\nP1,Jane,Doe\n")], by="t")
    ws.import_sources([Source("b.csv", b"MRN,First Name,Last Name\nP1,John,Doe\n")], by="t")
    ws.import_sources([Source("c.csv", (SEXED + "P1,F\n").encode())], by="t")
    panel = open_panel(ws)
    assert (panel.patients.iloc[0]["name"], panel.patients.iloc[0]["sex"]) == ("DOE, Jane", "F")
    assert [c.field for c in panel.dataset().identity_conflicts] == ["name"]


@pytest.mark.parametrize(
    ("patient_file_sex", "anaemia_grade"),
    [
        ("M", 1.0),  # 125 < 130 g/L, the lower limit for a man: CTCAE anaemia grade 1
        ("F", 0.0),  # 125 >= 115 g/L, the lower limit for a woman
        ("F\nP1,M", 0.0),  # conflicting: unknown sex, the lower (115 g/L) limit: no grade claimed
    ],
)
def test_the_rules_grade_haemoglobin_with_an_unknown_sex_when_the_sources_disagree(patient_file_sex, anaemia_grade):
    from dashboard.rules.review import review

    labs = LABS_WITH_SEX.replace("Sex,", "") + "P1,2024-05-01,Haemoglobin,125,g/L\n"
    result = import_sources(
        [Source("p.csv", (SEXED + f"P1,{patient_file_sex}\n").encode()), Source("l.csv", labs.encode())],
        ImportOptions(today=TODAY),
    )
    rv = review(result.labs, result.doses, result.patients, as_of=dt.date(2024, 5, 2))
    assert rv.summary.column("ctcae_hemoglobin").to_pylist() == [anaemia_grade]


# --------------------------------------------------------------------------- one person under two numbers


def test_two_ids_with_the_same_name_and_birth_date_are_named_and_kept_apart():
    patients = (
        'MRN,Patient Name,DOB\n5001,"DOE, Jane",1980-03-12\nMRN5001,Jane Doe,1980-03-12\nP9,"DOE, Jane",1981-03-12\n'
    )
    result = import_sources([Source("p.csv", patients.encode())], ImportOptions(today=TODAY))
    assert_balanced(result)
    assert sorted(result.patients_df()["patient_id"]) == ["5001", "MRN5001", "P9"]  # never merged
    [warning] = [
        w.message for f in result.report.files for w in f.warnings if "same name and date of birth" in w.message
    ]
    assert "5001 (p.csv)" in warning and "MRN5001 (p.csv)" in warning
    assert "P9" not in warning  # another date of birth: another person


def test_the_same_name_without_a_birth_date_is_not_named():
    patients = 'MRN,Patient Name,DOB\n5001,"DOE, Jane",\nMRN5001,Jane Doe,\n'
    result = import_sources([Source("p.csv", patients.encode())], ImportOptions(today=TODAY))
    assert not [w for f in result.report.files for w in f.warnings if "same name and date of birth" in w.message]


def test_a_clinician_settles_a_disputed_sex_and_later_files_do_not_change_it(tmp_path: Path):
    """Only a clinician who checked settles a disputed sex: recorded with who, when and
    how; the rules then use it; a later file that says otherwise is reported, not used;
    one that agrees says nothing."""
    ws = Workspace(tmp_path / "ws", timeout=20, clock=Clock())
    ws.import_sources([Source("a.csv", (SEXED + "P1,F\n").encode())], by="t")
    ws.import_sources([Source("b.csv", (SEXED + "P1,M\n").encode())], by="t")
    with pytest.raises(EntryRejected, match="say how it was checked"):
        ws.settle_identity("P1", "sex", "F", "", by="Dr Ada")
    with pytest.raises(EntryRejected, match="choose F or M"):
        ws.settle_identity("P1", "sex", "X", "checked", by="Dr Ada")
    with pytest.raises(EntryRejected, match="no sex conflict"):
        ws.settle_identity("P2", "sex", "F", "checked", by="Dr Ada")
    ws.settle_identity("P1", "sex", "F", "checked with the patient", by="Dr Ada")
    panel = open_panel(ws)
    assert panel.patients.iloc[0]["sex"] == "F"
    [kept] = panel.dataset().identity_conflicts
    assert kept.settled.startswith("'F' by Dr Ada on ") and kept.settled.endswith(": checked with the patient")
    assert "that value is used" in kept.message

    agrees = ws.import_sources([Source("c.csv", (SEXED + "P1,female\n").encode())], by="t")
    assert not _sex_conflicts(agrees)
    differs = ws.import_sources([Source("d.csv", (SEXED + "P1,male\n").encode())], by="t")
    [c] = _sex_conflicts(differs)
    assert [v for v, _, _ in c.values] == ["F", "M", "M"] and "settled as 'F' by Dr Ada" in c.message
    assert open_panel(ws).patients.iloc[0]["sex"] == "F"


def test_a_workspace_from_before_schema_5_keeps_its_sex_disputes(tmp_path: Path):
    """Schema 5 carries over the sex conflicts of the imports before it (from their stored
    reports): a file after the upgrade does not settle them."""
    import duckdb

    ws = Workspace(tmp_path / "ws", timeout=20, clock=Clock())
    ws.import_sources([Source("a.csv", (SEXED + "P1,F\n").encode())], by="t")
    ws.import_sources([Source("b.csv", (SEXED + "P1,M\n").encode())], by="t")
    con = duckdb.connect(str(ws.db_path))  # as a schema-4 dashboard left it: the reports only
    con.execute("DROP TABLE identity_disputes")
    con.execute("DROP TABLE identity_settlements")
    con.execute("DROP TABLE review_judgements")  # (schema 6, after it)
    for column in ("ref_low_m", "ref_high_m", "ref_low_f", "ref_high_f"):  # (schema 7)
        con.execute(f"ALTER TABLE labs DROP COLUMN {column}")
    con.execute("DROP TABLE patient_identifiers")  # (schema 8)
    con.execute("DROP TABLE lab_corrections")  # (schema 9)
    con.execute("DROP TABLE lab_withdrawals")  # (schema 10)
    con.execute("ALTER TABLE doses DROP COLUMN start_basis")  # (schema 11)
    con.execute("DROP TABLE import_readers")  # (schema 12)
    con.execute("DROP TABLE lab_unread")  # (schema 13)
    con.execute("DROP TABLE dose_unread")  # (schema 13)
    con.execute("DELETE FROM schema_migrations WHERE version >= 5")
    con.execute("UPDATE meta SET value = '4' WHERE key = 'schema_version'")
    con.close()
    again = Workspace(tmp_path / "ws", timeout=20, clock=Clock())
    [kept] = open_panel(again).dataset().identity_conflicts  # migrated on this first read
    assert (kept.patient_id, kept.field, [v for v, _, _ in kept.values]) == ("P1", "sex", ["F", "M"])
    out = again.import_sources([Source("c.csv", (SEXED + "P1,female\n").encode())], by="t")
    assert len(_sex_conflicts(out)) == 1
    assert open_panel(again).patients.iloc[0]["sex"] == ""


def test_a_conflict_within_an_import_after_a_settlement_says_so(tmp_path: Path):
    ws = Workspace(tmp_path / "ws", timeout=20, clock=Clock())
    ws.import_sources([Source("a.csv", (SEXED + "P1,F\n").encode())], by="t")
    ws.import_sources([Source("b.csv", (SEXED + "P1,M\n").encode())], by="t")
    ws.settle_identity("P1", "sex", "F", "checked with the patient", by="Dr Ada")
    out = ws.import_sources([Source("d.csv", (SEXED + "P1,F\nP1,M\n").encode())], by="t")
    [c] = _sex_conflicts(out)
    assert c.settled.startswith("'F' by Dr Ada") and "that value is used" in c.message
    assert open_panel(ws).patients.iloc[0]["sex"] == "F"


def test_a_disputed_date_of_birth_is_settled_only_with_a_real_past_date(tmp_path: Path):
    """H607: a date of birth two files dispute is settled with a date (YYYY-MM-DD, 1900 to
    today): then used by the rules (the stored patient's birth date) and no longer said
    disputed; a date in another form or in the future is refused with the reason."""
    ws = Workspace(tmp_path / "ws", timeout=20, clock=Clock())
    ws.import_sources([Source("a.csv", b"MRN,Date of birth\nP1,2016-05-01\n")], by="t")
    ws.import_sources([Source("b.csv", b"MRN,Date of birth\nP1,1976-05-01\n")], by="t")
    assert pd.isna(open_panel(ws).patients.iloc[0]["birth_date"])  # disputed: neither is used
    for bad, why in (("01/05/1976", "YYYY-MM-DD"), ("2999-01-01", "between 1900 and today")):
        with pytest.raises(EntryRejected, match=why):
            ws.settle_identity("P1", "birth_date", bad, "hospital record", by="Dr Ada")
    ws.settle_identity("P1", "birth_date", "1976-05-01", "hospital record", by="Dr Ada")
    panel = open_panel(ws)
    assert str(panel.patients.iloc[0]["birth_date"])[:10] == "1976-05-01"
    [c] = [c for c in panel.dataset().identity_conflicts if c.field == "birth_date"]
    assert c.settled.startswith("'1976-05-01' by Dr Ada")
