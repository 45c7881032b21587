"""How a lab result's status is read (``dashboard/ingest/labs.py``, vocabulary in
``dashboard/vocab/statuses.toml``), and a corrected result replacing the one it corrects.

Probe 8 F2 (H131): LIS and EHR exports add the reason to the status ("Not Done -
clotted"); a status is read from its words, and one not recognised at all is said.
Probe 8 F6 (H132): a corrected result (HL7 v2 OBX-11 "C", "Corrected", "Amended")
replaces the result it corrects at the same draw.  Expected grades are CTCAE v5.0 by hand.
"""

from __future__ import annotations

import datetime as dt

import pytest

from dashboard.ingest import ImportOptions, Source, import_sources
from tests.support import TODAY, assert_balanced, import_text

AS_OF = dt.date(2026, 3, 10)


def _grades(result, analyte: str) -> list[int]:
    from dashboard.rules import review

    rv = review(result.labs, result.doses, result.patients, None, None, AS_OF)
    f = rv.flags_df()
    f = f[f["rule"] == f"ctcae.{analyte}"]
    return sorted(int(g) for g in f["ctcae_grade"].dropna())


def _one_status(status: str, test: str = "Platelets", value: str = "40") -> object:
    text = (
        "MRN,Collected,Component,Result Value,Units,Result Status\n"
        f"15015,2026-03-02 08:15,{test},{value},x10E3/uL,{status}\n"
    )
    return import_text(text)


def _notes(result) -> str:
    return " ".join(w.message for w in result.report.files[0].warnings)


# --------------------------------------------------------------------------- F2 (H131)


@pytest.mark.parametrize(
    "status",
    ["Cancelled - specimen haemolysed", "Not Done - clotted", "Test not performed", "Specimen rejected"],
)
def test_a_cancelled_or_not_done_status_with_a_reason_is_not_graded(status):
    # probe 8 F2: platelets 40 would be CTCAE grade 3 (<50 - 25); a clotted sample is a
    # known cause of a false low count, so the withdrawn result is never graded
    r = _one_status(status)
    assert_balanced(r)
    assert r.labs.num_rows == 0  # rejected with its status, never graded (README: H17)
    assert r.report.files[0].rows_rejected == 1


@pytest.mark.parametrize("status", ["Superseded", "Credited", "Discontinued", "N"])
def test_other_withdrawn_statuses_are_rejected_naming_the_status(status):
    # Superseded: replaced by another result; Credited (Cerner): cancelled and credited;
    # Discontinued: the order was stopped; HL7 v2 OBX-11 "N": not asked
    r = _one_status(status)
    assert_balanced(r)
    assert r.labs.num_rows == 0
    (p,) = r.report.files[0].problems
    assert f"result status '{status}'" in p.message and "not imported" in p.message


def test_epic_preliminary_result_status_is_said():
    r = _one_status("Preliminary result", "WBC", "2.1")
    assert "preliminary" in _notes(r)


@pytest.mark.parametrize("status", ["Preliminary - awaiting film", "Unauth", "In Progress", "Pending", "S", "I"])
def test_statuses_of_a_result_not_yet_final_are_noted_as_preliminary(status):
    r = _one_status(status, "WBC", "2.1")
    assert_balanced(r)
    assert r.labs.num_rows == 1
    assert "1 result(s) are preliminary" in _notes(r)


@pytest.mark.parametrize("status", ["Final", "Final result", "F", "Corrected", "C", "Amended", "Verified", ""])
def test_a_final_status_is_imported_without_a_note(status):
    r = _one_status(status, "WBC", "2.1")
    assert r.labs.num_rows == 1
    assert "status" not in _notes(r)


def test_a_status_not_recognised_is_imported_and_said_with_its_count():
    text = (
        "MRN,Collected,Component,Result Value,Units,Result Status\n"
        "15015,2026-03-02 08:15,WBC,2.1,x10E3/uL,Zeta\n"
        "15015,2026-03-03 08:15,WBC,2.2,x10E3/uL,Zeta\n"
        "15015,2026-03-04 08:15,WBC,2.3,x10E3/uL,Final\n"
        "15015,2026-03-05 08:15,WBC,2.4,x10E3/uL,Q7\n"
    )
    r = import_text(text)
    assert_balanced(r)
    assert r.labs.num_rows == 4  # not recognised is not withdrawn: imported, never dropped
    notes = [w.message for w in r.report.files[0].warnings if "not recognised" in w.message]
    assert len(notes) == 1
    assert "3 result(s)" in notes[0] and "'Zeta' (2)" in notes[0] and "'Q7' (1)" in notes[0]
    assert "'Result Status'" in notes[0] and "final" in notes[0]


def test_the_status_vocabulary_is_normalised_and_each_spelling_has_one_class():
    import tomllib
    from importlib import resources

    from dashboard.ingest.labs import STATUS_CLASSES
    from dashboard.ingest.mapping import normalize

    data = tomllib.loads(resources.files("dashboard").joinpath("vocab", "statuses.toml").read_text(encoding="utf-8"))
    assert tuple(data) == STATUS_CLASSES  # the order the phrases are tried in
    seen: dict[str, str] = {}
    for cls, lists in data.items():
        for spelling in [*lists["codes"], *lists["phrases"]]:
            assert normalize(spelling) == spelling, spelling
            assert seen.setdefault(spelling, cls) == cls, spelling


# --------------------------------------------------------------------------- F6 (H132)

CORRECTED = (
    "MRN,Collected,Component,Result Value,Units,Reference Range,Result Status\n"
    "15015,2026-03-02 08:15,Platelets,40,x10E3/uL,140-400,F\n"
    "15015,2026-03-02 08:15,Platelets,140,x10E3/uL,140-400,C\n"
)


def test_a_corrected_result_replaces_the_original():
    # HL7 v2 OBX-11 "C": a correction that replaces a final result.  Platelets 40 (F) then
    # 140 (C) at the same draw: the draw's platelets are 140, no CTCAE grade (not <LLN 140).
    r = import_text(CORRECTED)
    assert_balanced(r)
    assert _grades(r, "platelets") == []


@pytest.mark.parametrize("order", ["final first", "correction first"])
def test_the_replaced_result_is_rejected_naming_its_correction(order):
    head, final, corr = CORRECTED.splitlines()
    lines = [final, corr] if order == "final first" else [corr, final]
    r = import_text("\n".join([head, *lines]) + "\n")
    assert_balanced(r)
    f = r.report.files[0]
    assert (f.rows_read, f.rows_accepted, f.rows_rejected, f.duplicates) == (2, 1, 1, 0)
    assert r.labs_df()["value"].tolist() == [140.0]
    (p,) = f.problems
    assert p.row == (2 if order == "final first" else 3)  # the row holding the 40
    assert "corrected" in p.message and "'C'" in p.message and "140" in p.message
    # the draw no longer holds two different results
    assert not any("both are kept" in w.message for w in f.warnings)


def test_a_correction_replaces_only_its_own_draw():
    text = (
        "MRN,Collected,Component,Result Value,Units,Result Status\n"
        "15015,2026-03-02 08:15,Platelets,40,x10E3/uL,Final\n"
        "15015,2026-03-03 08:15,Platelets,140,x10E3/uL,Corrected\n"  # another time
        "15015,2026-03-02 08:15,WBC,2.0,x10E3/uL,Final\n"  # another analyte
        "16016,2026-03-02 08:15,Platelets,150,x10E3/uL,Amended\n"  # another patient
    )
    r = import_text(text)
    assert_balanced(r)
    assert r.labs.num_rows == 4
    assert r.report.files[0].rows_rejected == 0


def test_a_correction_equal_to_the_final_is_a_duplicate_and_two_corrections_still_clash():
    text = (
        "MRN,Collected,Component,Result Value,Units,Result Status\n"
        "15015,2026-03-02 08:15,Platelets,140,x10E3/uL,Final\n"
        "15015,2026-03-02 08:15,Platelets,140,x10E3/uL,Corrected\n"
        "16016,2026-03-02 08:15,Platelets,40,x10E3/uL,Final\n"
        "16016,2026-03-02 08:15,Platelets,60,x10E3/uL,Corrected\n"
        "16016,2026-03-02 08:15,Platelets,90,x10E3/uL,Corrected\n"
    )
    r = import_text(text)
    assert_balanced(r)
    f = r.report.files[0]
    assert (f.rows_accepted, f.rows_rejected, f.duplicates) == (3, 1, 1)
    df = r.labs_df()
    assert sorted(df[df["patient_id"] == "16016"]["value"]) == [60.0, 90.0]  # two corrections: both kept, said
    assert any("both are kept" in w.message for w in f.warnings)


def test_a_correction_in_a_later_file_replaces_the_final_of_an_earlier_one():
    first = (
        "MRN,Collected,Component,Result Value,Units,Result Status\n15015,2026-03-02 08:15,Neutrophils,1.2,x10E3/uL,F\n"
    )
    later = (
        "MRN,Collected,Component,Result Value,Units,Result Status\n15015,2026-03-02 08:15,Neutrophils,0.4,x10E3/uL,C\n"
    )
    r = import_sources(
        [Source("first.csv", first.encode()), Source("later.csv", later.encode())], ImportOptions(today=TODAY)
    )
    assert_balanced(r)
    # neutrophils 0.4 x10^9/L: CTCAE v5.0 grade 4 (<0.5); the 1.2 (grade 2) is replaced
    assert r.labs_df()["value"].tolist() == [0.4]
    assert _grades(r, "neutrophils") == [4]
    (p,) = r.report.files[0].problems
    assert "corrected" in p.message


# --------------------------------------------------------------------------- audit 5


@pytest.mark.parametrize(
    "status",
    [
        "Corrected - previous result in error",
        "Amended (replaced erroneous value)",
        "Corrected: original result cancelled",
        "Error corrected",
    ],
)
def test_a_status_holding_corrected_and_withdrawn_words_is_a_correction(status):
    # audit 5 S2: the withdrawn words describe the earlier result, which this one corrects
    from dashboard.ingest.labs import status_class

    assert status_class(status) == "corrected"


def test_a_correction_whose_status_mentions_the_error_is_still_a_correction():
    """Final 1.2, then 'Corrected - previous result in error' 0.4: the draw's neutrophil
    count is 0.4 (grade 4, < 0.5), never the withdrawn 1.2 (grade 2)."""
    r = import_text(
        "MRN,Collection Date,Component,Result,Units,Status\n"
        "1,2026-03-02 08:15,Neutrophils,1.2,10^9/L,Final\n"
        "1,2026-03-02 08:15,Neutrophils,0.4,10^9/L,Corrected - previous result in error\n"
    )
    assert_balanced(r)
    assert r.labs_df()["value"].tolist() == [0.4]
    assert _grades(r, "neutrophils") == [4]


def test_a_corrected_percentage_replaces_the_absolute_count_it_corrects():
    """audit 5 S1: WBC 4.0, neutrophils 2.0 (final) and neutrophils 30 % (corrected): the
    correction is 30 % of 4.0 = 1.2 x10^9/L (CTCAE v5.0 grade 2, < 1.5); the final 2.0
    is rejected naming the correction, and the correction is never called a duplicate."""
    r = import_text(
        "MRN,Collection Date,Component,Result,Units,Status\n"
        "1,2026-03-02 08:15,WBC,4.0,10^9/L,Final\n"
        "1,2026-03-02 08:15,Neutrophils,2.0,10^9/L,Final\n"
        "1,2026-03-02 08:15,Neutrophils %,30,%,Corrected\n"
    )
    assert_balanced(r)
    df = r.labs_df()
    assert df[df["analyte"] == "neutrophils"]["value"].tolist() == [1.2]
    f = r.report.files[0]
    assert (f.rows_accepted, f.rows_rejected, f.duplicates) == (2, 1, 0)
    (p,) = f.problems
    assert p.row == 3 and "corrected result 30 %" in p.message and "'Corrected'" in p.message
    assert _grades(r, "neutrophils") == [2]


def test_a_percentage_of_a_draw_whose_wbc_was_corrected_uses_the_corrected_wbc():
    """audit 5 C4: WBC 4.0 (final), then WBC 2.0 (corrected), and neutrophils 50 %: the
    correction replaces the 4.0 (H132), so the draw has one WBC, 2.0, and the neutrophil
    count is 50 % of 2.0 = 1.0 x10^9/L: CTCAE v5.0 grade 2 (<1.5-1.0; 1.0 is not < 1.0),
    never 50 % of 4.0 = 2.0 (grade 0), nor rejected as a draw of two WBCs.  Two
    corrections that differ still leave the percentage without a WBC it is known to be of."""
    r = import_text(
        "MRN,Collection Date,Component,Result,Units,Status\n"
        "1,2026-03-02 08:15,WBC,4.0,10^9/L,Final\n"
        "1,2026-03-02 08:15,WBC,2.0,10^9/L,Corrected\n"
        "1,2026-03-02 08:15,Neutrophils %,50,%,Final\n"
        "2,2026-03-02 08:15,WBC,4.0,10^9/L,Final\n"
        "2,2026-03-02 08:15,WBC,2.0,10^9/L,Corrected\n"
        "2,2026-03-02 08:15,WBC,3.0,10^9/L,Corrected\n"
        "2,2026-03-02 08:15,Neutrophils %,50,%,Final\n"
    )
    assert_balanced(r)
    df = r.labs_df()
    one = df[df["patient_id"] == "1"].set_index("analyte")
    assert one.loc["wbc", "value"] == 2.0
    assert one.loc["neutrophils", "value"] == 1.0 and bool(one.loc["neutrophils", "derived"])
    problems = {p.row: p.message for p in r.report.files[0].problems}
    assert 4 not in problems and "corrected result 2.0" in problems[2]
    assert "neutrophils" not in set(df[df["patient_id"] == "2"]["analyte"])
    assert "two different WBC results" in problems[8]
    assert _grades(r, "neutrophils") == [2]


def test_a_final_percentage_beside_a_corrected_absolute_count_leaves_the_correction():
    # the reverse of audit 5 S1: the corrected count 0.4 (grade 4, < 0.5) stands; the
    # final 50 % (of 4.0 = 2.0) is the draw's duplicate as before
    r = import_text(
        "MRN,Collection Date,Component,Result,Units,Status\n"
        "1,2026-03-02 08:15,WBC,4.0,10^9/L,Final\n"
        "1,2026-03-02 08:15,Neutrophils,0.4,10^9/L,Corrected\n"
        "1,2026-03-02 08:15,Neutrophils %,50,%,Final\n"
    )
    assert_balanced(r)
    df = r.labs_df()
    assert df[df["analyte"] == "neutrophils"]["value"].tolist() == [0.4]


def test_a_correction_without_a_number_rejects_the_result_it_corrects():
    """audit 5 S5: platelets 40 (final; CTCAE grade 3), then a correction of the same draw
    that holds no number ('Haemolysed - please disregard', Corrected): the lab has said the
    40 is wrong, so it is rejected naming the correction, never graded in silence.  The
    other results of the draw, and the same test of another patient, stay."""
    r = import_text(
        "MRN,Collection Date,Component,Result,Units,Status\n"
        "1,2026-03-02 08:15,Platelets,40,10^9/L,Final\n"
        "1,2026-03-02 08:15,Platelets,Haemolysed - please disregard,,Corrected\n"
        "1,2026-03-02 08:15,WBC,3.0,10^9/L,Final\n"
        "2,2026-03-02 08:15,Platelets,40,10^9/L,Final\n"
    )
    assert_balanced(r)
    df = r.labs_df()
    assert sorted(zip(df["patient_id"], df["analyte"], strict=True)) == [("1", "wbc"), ("2", "platelets")]
    f = r.report.files[0]
    assert (f.rows_accepted, f.rows_rejected, f.duplicates) == (2, 2, 0)
    by_row = {p.row: p.message for p in f.problems}
    assert "corrected by the lab" in by_row[2] and "Haemolysed - please disregard" in by_row[2] and "row 3" in by_row[2]
    assert "not a number" in by_row[3]


def test_a_correction_without_a_number_leaves_a_numeric_correction_of_its_draw():
    r = import_text(
        "MRN,Collection Date,Component,Result,Units,Status\n"
        "1,2026-03-02 08:15,Platelets,40,10^9/L,Final\n"
        "1,2026-03-02 08:15,Platelets,see note,,Corrected\n"
        "1,2026-03-02 08:15,Platelets,140,10^9/L,Corrected\n"
    )
    assert_balanced(r)
    assert r.labs_df()["value"].tolist() == [140.0]


def test_a_status_column_of_abnormal_flags_is_not_read_as_statuses():
    """Audit 5 C3: a "Status" column holding H, L and N (abnormal flags) read its "N" as
    HL7's "not asked" and rejected every normal result.  A column whose every value is a
    flag letter (and not only "N") is a flag column: said, and no result rejected."""
    text = (
        "MRN,Collection Date,Component,Result,Units,Status\n"
        "1,2026-03-02 08:15,WBC,5.0,10^9/L,N\n"
        "1,2026-03-02 08:15,Neutrophils,0.9,10^9/L,L\n"
        "1,2026-03-02 08:15,Platelets,450,10^9/L,H\n"
    )
    result = import_text(text)
    assert_balanced(result)
    assert len(result.labs_df()) == 3
    f = result.report.files[0]
    assert any("holds abnormal flags (H, L, N)" in w.message for w in f.warnings)


def test_a_result_the_same_import_marks_entered_in_error_is_not_graded():
    """H536: platelets 40 (Final; CTCAE grade 3) and a row of the same draw and value marked
    'Entered in error': the lab withdrew that result and the file does not say which row
    came last, so the 40 is rejected naming the withdrawing row, never graded.  A
    withdrawal of another value (45) of another draw leaves that draw's final 150 (a
    reissue, not the result withdrawn); another patient's 40 of the same time stays."""
    r = import_text(
        "MRN,Collection Date,Component,Result,Units,Status\n"
        "1,2026-10-20 09:00,Platelets,40,10^9/L,Final\n"
        "1,2026-10-20 09:00,Platelets,40,10^9/L,Entered in error\n"
        "1,2026-10-21 09:00,Platelets,45,10^9/L,Entered in error\n"
        "1,2026-10-21 09:00,Platelets,150,10^9/L,Final\n"
        "2,2026-10-20 09:00,Platelets,40,10^9/L,Final\n"
    )
    assert_balanced(r)
    df = r.labs_df()
    assert sorted(zip(df["patient_id"], df["value"], strict=True)) == [("1", 150.0), ("2", 40.0)]
    f = r.report.files[0]
    assert (f.rows_accepted, f.rows_rejected, f.duplicates) == (2, 3, 0)
    by_row = {p.row: p.message for p in f.problems}
    assert "withdrawn by the lab" in by_row[2] and "row 3" in by_row[2] and "'Entered in error'" in by_row[2]
    assert "not graded" in by_row[2]
