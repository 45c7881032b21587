"""Units and draw dates a lab export states twice or not at all (probe 42, H580-H589).

Expected values are derived by hand from the safety rule (never guess a unit or a draw
date) and from CTCAE v5.0, not from the code's output.
"""

from __future__ import annotations

from tests.support import assert_balanced, import_text

HEAD = "MRN,Collected,Test,Result,Units\n"


def _said(result) -> str:
    return " ".join(p.message for f in result.report.files for p in [*f.problems, *f.warnings]).lower()


def _reasons(result) -> dict[int, str]:
    return {p.row: p.message for f in result.report.files for p in f.problems}


# --------------------------------------------------------------------------- F1 (H580)


def test_anc_or_an_absolute_loinc_code_with_the_unit_percent_is_rejected_naming_both():
    # "ANC 1.8 %" beside WBC 4.0: 1.8 x10^9/L by the name, 0.072 x10^9/L (grade 4) by the unit.
    r = import_text(
        "MRN,Collected,Test,Code,Result,Units\n"
        "001,2026-01-05 08:00,WBC,,4.0,10^9/L\n"
        "001,2026-01-05 08:00,ANC,,1.8,%\n"
        "001,2026-01-06 08:00,WBC,,4.0,10^9/L\n"
        "001,2026-01-06 08:00,Neutrophils,751-8,1.8,%\n"  # LOINC 751-8: neutrophils, #/volume
    )
    assert_balanced(r)
    labs = r.labs_df()
    assert labs[labs["analyte"] == "neutrophils"].empty
    reasons = _reasons(r)
    for row in (3, 5):
        assert "absolute count" in reasons[row] and "%" in reasons[row], reasons


def test_a_percent_named_as_a_percentage_is_still_made_absolute():
    # "Neut %" 45 % of WBC 4.0 = 1.8 x10^9/L: the name and the unit agree.
    r = import_text(HEAD + "001,2026-01-05 08:00,WBC,4.0,10^9/L\n001,2026-01-05 08:00,Neut %,45,%\n")
    assert_balanced(r)
    neut = r.labs_df().query("analyte == 'neutrophils'")
    assert neut["value"].tolist() == [1.8]


# --------------------------------------------------------------------------- F2, F5 (H581, H584)


def test_a_unitless_alt_in_a_ukat_file_is_asked_naming_both_units_and_the_files_unit():
    # 3.5 U/L (normal) or 3.5 ukat/L = 210 U/L (CTCAE grade 3); 0.9 U/L is below any ALT
    # (< 1 U/L), 0.9 ukat/L = 54 U/L: the file's unit, said with its value in U/L.
    r = import_text(HEAD + "001,2026-01-05,ALT,0.45,ukat/L\n001,2026-02-05,ALT,3.5,\n001,2026-02-06,ALT,0.9,\n")
    assert_balanced(r)
    assert r.labs_df()["value"].tolist() == [27.0]  # 0.45 x 60
    reasons = _reasons(r)
    assert "U/L or ukat/L" in reasons[3] and "add the unit" in reasons[3], reasons
    assert "ukat/L" in reasons[4] and "54 U/L" in reasons[4] and "any usual unit" not in reasons[4], reasons


def test_a_unitless_alt_in_a_u_per_l_file_is_still_read_as_u_per_l():
    # 35 fits U/L only (35 ukat/L = 2100 U/L is not among the units weighed: the file writes U/L)
    r = import_text(HEAD + "001,2026-01-05,ALT,20,IU/L\n001,2026-02-05,ALT,35,\n")
    assert_balanced(r)
    assert r.labs_df()["value"].tolist() == [20.0, 35.0]
    assert "read as u/l from the magnitude" in _said(r)


def test_a_unitless_count_that_fits_only_a_unit_the_file_does_not_use_is_asked():
    # 6500 fits /uL only (6.5 x10^9/L) but the file's other WBCs are in 10^9/L: a typing slip
    # or another analyser; asked, never read as 6.5.
    r = import_text(HEAD + "001,2026-01-05,WBC,6.2,10^9/L\n001,2026-02-05,WBC,6500,\n")
    assert_balanced(r)
    assert r.labs_df()["value"].tolist() == [6.2]
    reason = _reasons(r)[3]
    assert "fits /uL" in reason and "other WBC results are in 10^9/L" in reason, reason


def test_a_unitless_creatinine_of_a_child_is_asked_not_read_as_mg_per_dl():
    # 15 umol/L (normal at 1-3 years) or 15 mg/dL = 1326 umol/L: both plausible
    r = import_text(HEAD + "001,2026-01-05,Creatinine,15,\n001,2026-01-06,Creatinine,0.9,\n")
    assert_balanced(r)
    assert r.labs_df()["value"].tolist() == [79.56]  # 0.9 mg/dL x 88.4: only mg/dL fits
    assert "umol/L or mg/dL" in _reasons(r)[2]


def test_infer_unit_weighs_the_units_the_file_uses():
    from dashboard.units import infer_unit

    assert infer_unit("alt", 35) == ("u/l", 1.0)
    assert infer_unit("alt", 35, {"iu/l"}) == ("u/l", 1.0)  # IU/L is U/L
    assert infer_unit("alt", 3.5, {"ukat/l"}) is None  # U/L or ukat/L
    assert infer_unit("alt", 0.9, {"ukat/l"}) is None  # fits ukat/L only: never inferred
    assert infer_unit("wbc", 6500, {"10^9/l"}) is None
    assert infer_unit("creatinine", 15) is None
    assert infer_unit("creatinine", 0.9, {"mg/dl"}) == ("mg/dl", 88.4)


# --------------------------------------------------------------------------- F3 (H582)


def test_a_unit_stated_twice_that_disagrees_is_rejected_naming_both():
    # Hb 7.8: 78 g/L as g/dL (CTCAE grade 3), 125.7 g/L as mmol/L (normal): never settled.
    header = import_text("MRN,Collected,Test,Result (mmol/L),Units\n001,2026-01-05,Hb,7.8,g/dL\n")
    name = import_text(HEAD + "001,2026-01-05,Haemoglobin (g/dL),7.8,mmol/L\n")
    for r, first, second in ((header, "g/dL", "mmol/L"), (name, "g/dL", "mmol/L")):
        assert_balanced(r)
        assert r.labs_df().empty
        reason = _reasons(r)[2]
        assert first in reason and second in reason and "which one is meant is not known" in reason, reason
    assert "'Result (mmol/L)'" in _reasons(header)[2]


def test_two_spellings_of_one_unit_agree():
    r = import_text("MRN,Collected,Test,Result (x10^9/L),Units\n001,2026-01-05,WBC,2.1,K/uL\n")
    assert_balanced(r)
    assert r.labs_df()["value"].tolist() == [2.1]


def test_a_blank_unit_cell_takes_the_unit_of_the_value_header_and_says_so():
    # Under "Result (x10^9/L)": WBC 2100 is 2100 x10^9/L (implausible: rejected, never read
    # as 2100 /uL); neutrophils 1.2 is 1.2 x10^9/L (the header settles % or count).
    r = import_text(
        "MRN,Collected,Test,Result (x10^9/L),Units\n"
        "001,2026-01-05,WBC,2100,\n"
        "001,2026-01-06,WBC,4.0,\n"
        "001,2026-01-06,Neutrophils,1.2,\n"
    )
    assert_balanced(r)
    assert r.labs_df()[["analyte", "value"]].values.tolist() == [["wbc", 4.0], ["neutrophils", 1.2]]
    assert "implausible" in _reasons(r)[2]
    assert "2 result(s) with no unit of their own read in x10^9/l, the unit the column 'result (x10^9/l)'" in _said(r)


# --------------------------------------------------------------------------- F4 (H583)


def test_a_specimen_date_column_is_a_date_not_the_specimen_type():
    from dashboard.ingest.mapping import map_columns

    for head in ("MRN,Specimen Date,Collection Date,Test,Result,Units", "MRN,Specimen Collected,Test,Result,Units"):
        m = map_columns(head.split(","))
        assert "specimen" not in m.fields, m.fields
        assert m.fields["collected_at"] in ("Collection Date", "Specimen Collected")
    assert map_columns(["MRN", "Collected", "Specimen", "Test", "Result", "Units"]).fields["specimen"] == "Specimen"


def test_two_draw_date_columns_are_compared_row_by_row():
    # row 2: the same day (one with a time): one draw, read at 08:00; row 3: 2 vs 5 March:
    # rejected naming both dates, never one of them picked.
    r = import_text(
        "MRN,Specimen Date,Collection Date,Test,Result,Units\n"
        "001,2026-03-02,2026-03-02 08:00,WBC,2.1,10^9/L\n"
        "001,2026-03-05,2026-03-02,WBC,2.4,10^9/L\n"
    )
    assert_balanced(r)
    labs = r.labs_df()
    assert labs["value"].tolist() == [2.1]
    assert str(labs["collected_at"].iloc[0]) == "2026-03-02 08:00:00"
    reason = _reasons(r)[3]
    assert "2026-03-05" in reason and "2026-03-02" in reason and "'Specimen Date'" in reason, reason


# --------------------------------------------------------------------------- F6 (H585)


def test_a_draw_after_its_report_is_rejected_naming_both_times():
    # row 2: collected 5 March 10:00, reported 4 March 09:00: impossible, rejected.
    # row 3: reported the same day with no time: possible, read.  row 4: "pending" is no date.
    r = import_text(
        "MRN,Collected,Reported,Test,Result,Units\n"
        "001,2026-03-05 10:00,2026-03-04 09:00,WBC,2.1,10^9/L\n"
        "001,2026-03-06 10:00,2026-03-06,WBC,2.2,10^9/L\n"
        "001,2026-03-07 10:00,pending,WBC,2.3,10^9/L\n"
    )
    assert_balanced(r)
    assert r.labs_df()["value"].tolist() == [2.2, 2.3]
    reason = _reasons(r)[2]
    assert "2026-03-05 10:00" in reason and "2026-03-04 09:00" in reason and "'Reported'" in reason, reason


def test_a_draw_after_its_receipt_in_the_lab_on_the_same_day_is_rejected():
    r = import_text(
        "MRN,Collection Date,Received Date,Test,Result,Units\n001,2026-03-05 10:00,2026-03-05 09:30,WBC,2.1,10^9/L\n"
    )
    assert_balanced(r)
    assert r.labs_df().empty and "received" in _reasons(r)[2]
