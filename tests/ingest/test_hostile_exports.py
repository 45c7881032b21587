"""What a real clinic's exports send that the earlier sweeps did not try (hostile sweep).

Every expected value is worked out by hand from the rule it checks:

* a reference range is in the unit its text names, else in the result's unit; a range
  that cannot be a range of that analyte in the result's unit (Hb "11.5-16.5" next to
  results in g/L, ALT "0.1-0.6 ukat/L" next to U/L) is not used, so the default limits
  apply, never a limit ten or sixty times off;
* a % differential is made absolute only against the one WBC of its draw; two different
  WBCs of one draw leave it unknown, and its own "<" or ">" is kept;
* "0,800" is never a thousands separator (a group never starts with 0);
* a dose row that says the drug is held or stopped is not a dose in force.
"""

from __future__ import annotations

import math

from tests.support import assert_balanced, import_text

LABS = "MRN,Collection Date,Component,Result,Units,Reference Range\n"


def _labs(result):
    return result.labs_df().set_index("analyte")


# --------------------------------------------------------------------------- reference ranges


def test_a_range_in_another_unit_than_the_result_is_not_used():
    # Hb 100 g/L beside "11.5-16.5" (the g/dL range): 11.5 g/L is below the plausible
    # Hb (20-260 g/L), so the range cannot be in g/L; WBC 3200 /mm3 (3.2 x10^9/L) beside
    # "4.0-11.0" would give 0.004-0.011 x10^9/L, below any real WBC (0.01); platelets
    # "150000-400000" x10^9/L is above any real count (3000).
    text = LABS + (
        "1,2024-03-01,Hb,100,g/L,11.5-16.5\n1,2024-03-01,WBC,3200,/mm3,4.0-11.0\n"
        "1,2024-03-01,Platelets,120,10^9/L,150000-400000\n"
    )
    result = import_text(text)
    assert_balanced(result)
    labs = _labs(result)
    for analyte in ("hemoglobin", "wbc", "platelets"):
        assert math.isnan(labs.loc[analyte, "ref_low"]), analyte
        assert math.isnan(labs.loc[analyte, "ref_high"]), analyte
    warnings = " ".join(w.message for w in result.report.files[0].warnings)
    assert "3 reference range(s)" in warnings


def test_a_range_that_names_its_unit_is_converted_from_that_unit():
    # ALT 0.1-0.6 ukat/L = 6-36 U/L (1 ukat/L = 60 U/L); lymphocytes 1000-4000 /uL =
    # 1.0-4.0 x10^9/L; creatinine 60-110 umol/L stays 60-110 although the result is in
    # mg/dL; neutrophils "2.0-7.5 x10^9/L" is 2.0-7.5.
    text = LABS + (
        "1,2024-03-01,ALT,30,U/L,0.1-0.6 ukat/L\n1,2024-03-01,Lymphocytes,0.8,10^9/L,1000-4000 /uL\n"
        "1,2024-03-01,Creatinine,1.1,mg/dL,60-110 umol/L\n1,2024-03-01,Neutrophils,1.2,10^9/L,2.0-7.5 x10^9/L\n"
    )
    result = import_text(text)
    assert_balanced(result)
    labs = _labs(result)
    assert (labs.loc["alt", "ref_low"], labs.loc["alt", "ref_high"]) == (6.0, 36.0)
    assert (labs.loc["lymphocytes", "ref_low"], labs.loc["lymphocytes", "ref_high"]) == (1.0, 4.0)
    assert (labs.loc["creatinine", "ref_low"], labs.loc["creatinine", "ref_high"]) == (60.0, 110.0)
    assert (labs.loc["neutrophils", "ref_low"], labs.loc["neutrophils", "ref_high"]) == (2.0, 7.5)


def test_ranges_in_the_results_unit_are_kept():
    # Hb 11.5-16.5 g/dL beside a g/dL result: 115-165 g/L; ALT "0-40": a range from 0 is a range
    text = LABS + "1,2024-03-01,Hb,10.0,g/dL,11.5-16.5\n1,2024-03-01,ALT,30,U/L,0-40\n"
    result = import_text(text)
    labs = _labs(result)
    assert (labs.loc["hemoglobin", "ref_low"], labs.loc["hemoglobin", "ref_high"]) == (115.0, 165.0)
    assert (labs.loc["alt", "ref_low"], labs.loc["alt", "ref_high"]) == (0.0, 40.0)
    assert not any("reference range" in w.message for w in result.report.files[0].warnings)


# --------------------------------------------------------------------------- % differentials

TIMED = "MRN,Collection Date,Component,Result,Units\n"


def test_a_percentage_is_not_made_absolute_against_one_of_two_different_wbcs():
    # WBC 4.0 and 8.0 in one draw: 50 % is 2.0 or 4.0 x10^9/L; neither is chosen
    text = TIMED + (
        "1,2024-03-07 08:00,WBC,4.0,10^9/L\n1,2024-03-07 08:00,WBC,8.0,10^9/L\n1,2024-03-07 08:00,Neutrophils,50,%\n"
    )
    result = import_text(text)
    assert_balanced(result)
    labs = result.labs_df()
    assert "neutrophils" not in set(labs["analyte"])
    problems = {p.row: p.message for p in result.report.files[0].problems}
    assert "two different WBC results" in problems[4]


def test_the_same_wbc_twice_in_a_draw_still_makes_the_percentage_absolute():
    # the WBC repeated with the same value (two files, or a repeat line): 60 % of 5.0 = 3.0
    text = TIMED + (
        "1,2024-03-07 08:00,WBC,5.0,10^9/L\n1,2024-03-07 08:00,WBC,5000,/uL\n1,2024-03-07 08:00,Neutrophils,60,%\n"
    )
    result = import_text(text)
    assert_balanced(result)
    neut = result.labs_df().set_index("analyte").loc["neutrophils"]
    assert (neut["value"], neut["comparator"]) == (3.0, "")


def test_a_censored_percentage_keeps_its_comparator():
    # "<1 %" of WBC 4.0 is below 0.04 x10^9/L, not 0.04; ">90 %" of 4.0 is above 3.6;
    # "<1 %" of a WBC "<0.5" is below 0.005; ">90 %" of a WBC "<0.5" has no bound at all
    text = TIMED + (
        "1,2024-03-01 08:00,WBC,4.0,10^9/L\n1,2024-03-01 08:00,Neutrophils,<1,%\n"
        "1,2024-03-02 08:00,WBC,4.0,10^9/L\n1,2024-03-02 08:00,Neutrophils,>90,%\n"
        "1,2024-03-03 08:00,WBC,<0.5,10^9/L\n1,2024-03-03 08:00,Lymphocytes,<1,%\n"
        "1,2024-03-04 08:00,WBC,<0.5,10^9/L\n1,2024-03-04 08:00,Neutrophils,>90,%\n"
    )
    result = import_text(text)
    assert_balanced(result)
    labs = result.labs_df()
    derived = labs[labs["derived"]].set_index("source_row")
    assert (derived.loc[3, "value"], derived.loc[3, "comparator"]) == (0.04, "<")
    assert (derived.loc[5, "value"], derived.loc[5, "comparator"]) == (3.6, ">")
    assert (derived.loc[7, "value"], derived.loc[7, "comparator"]) == (0.005, "<")
    assert 9 not in derived.index
    problems = {p.row: p.message for p in result.report.files[0].problems}
    assert "no bound" in problems[9]


def test_a_percentage_of_an_inclusive_bound_keeps_it_inclusive_only_when_both_are():
    # "<=50 %" of a WBC "<=4.0" is at most 2.0 (2.0 itself possible): "<=2"; 50 % of a WBC
    # "<4.0" is below 2.0 whatever the rest: "<2"; "<=50 %" of a WBC ">=4.0" has no bound
    text = TIMED + (
        "1,2024-03-01 08:00,WBC,<=4.0,10^9/L\n1,2024-03-01 08:00,Neutrophils,<=50,%\n"
        "1,2024-03-02 08:00,WBC,<4.0,10^9/L\n1,2024-03-02 08:00,Neutrophils,<=50,%\n"
        "1,2024-03-03 08:00,WBC,>=4.0,10^9/L\n1,2024-03-03 08:00,Neutrophils,<=50,%\n"
    )
    result = import_text(text)
    assert_balanced(result)
    derived = result.labs_df().query("derived").set_index("source_row")
    assert (derived.loc[3, "value"], derived.loc[3, "comparator"]) == (2.0, "<=")
    assert (derived.loc[5, "value"], derived.loc[5, "comparator"]) == (2.0, "<")
    assert 7 not in derived.index
    assert "no bound" in {p.row: p.message for p in result.report.files[0].problems}[7]


# --------------------------------------------------------------------------- thousands


def test_a_group_starting_with_zero_is_a_decimal_comma_not_thousands():
    # "0,800" cannot be 800 (no one writes a thousands group after a leading 0): in a file
    # of decimal points it is a decimal comma that contradicts the file, rejected so
    # (platelets "0,150" were read as 150 x10^9/L, a normal count).
    text = TIMED + (
        "1,2024-03-01,WBC,4.5,10^9/L\n1,2024-03-01,Neutrophils,2.5,10^9/L\n1,2024-03-01,MCV,90.5,fL\n"
        '1,2024-03-01,Platelets,"0,150",10^9/L\n'
        '1,2024-03-01,Lymphocytes,"0,800",10^9/L\n'
    )
    result = import_text(text)
    assert_balanced(result)
    labs = result.labs_df()
    assert set(labs["analyte"]) == {"wbc", "neutrophils", "mcv"}
    problems = {p.row: p.message for p in result.report.files[0].problems}
    assert "decimal comma" in problems[5] and "decimal comma" in problems[6]


# --------------------------------------------------------------------------- held and stopped doses

DOSES = "patient,drug,dose,unit,frequency,route,start,end\n"


def test_a_dose_row_that_says_the_drug_is_held_is_not_a_dose_in_force():
    # each row states 100 mg daily but also that the drug is held or stopped with no date
    # it stopped: none of them is 100 mg/day in force from 2024-01-01 on
    text = DOSES + (
        "A,azathioprine,100,mg,daily (held),oral,2024-01-01,\n"
        "B,azathioprine,100,mg,daily - on hold,oral,2024-01-01,\n"
        "C,azathioprine (held),100,mg,daily,oral,2024-01-01,\n"
        "D,azathioprine,100 mg held,,daily,oral,2024-01-01,\n"
        'E,azathioprine,100,mg,"daily, discontinued",oral,2024-01-01,\n'
        "F,azathioprine,100,mg,daily (not taking),oral,2024-01-01,\n"
        "G,azathioprine,100,mg,daily,oral - withheld,2024-01-01,\n"
    )
    result = import_text(text, "doses.csv")
    assert_balanced(result)
    f = result.report.files[0]
    assert (f.rows_accepted, f.rows_rejected) == (0, 7)
    assert all("held or stopped" in p.message for p in f.problems)


def test_instructions_to_hold_if_are_not_a_hold_and_a_stop_with_its_date_is_history():
    # "withhold if WBC < 3" is an instruction for later; a discontinued dose with its end
    # date is the dose given from start to end: both are 100 mg/day
    text = DOSES + (
        "A,azathioprine,100,mg,daily - withhold if WBC < 3,oral,2024-01-01,\n"
        "B,azathioprine,100,mg,daily (discontinued),oral,2024-01-01,2024-03-01\n"
    )
    result = import_text(text, "doses.csv")
    assert_balanced(result)
    doses = result.doses_df().set_index("patient_id")
    assert list(doses["mg_per_day"]) == [100.0, 100.0]


def test_a_held_row_of_a_change_log_ends_the_dose_before_it():
    # a change log (no end column): 100 mg daily from 1 Jan, held from 1 Mar; the 100 mg
    # ends on 1 Mar and nothing is in force after it
    text = "patient,drug,dose,unit,frequency,date\nA,azathioprine,100,mg,daily,2024-01-01\nA,azathioprine,100,mg,held,2024-03-01\n"
    result = import_text(text, "doses.csv")
    assert_balanced(result)
    doses = result.doses_df()
    assert len(doses) == 1
    assert str(doses.loc[0, "end"].date()) == "2024-03-01"


def test_a_dose_status_column_is_read():
    # an order entered in error or cancelled was never a dose; one on hold, or
    # discontinued without an end date, is not a dose in force; an active one is
    text = "MRN,Medication,Dose,Unit,Frequency,Start Date,End Date,Status\n" + (
        "1,azathioprine,100,mg,daily,2024-01-01,,Active\n"
        "2,azathioprine,100,mg,daily,2024-01-01,,On Hold\n"
        "3,azathioprine,100,mg,daily,2024-01-01,,Discontinued\n"
        "4,azathioprine,100,mg,daily,2024-01-01,,Entered in error\n"
        "5,azathioprine,100,mg,daily,2024-01-01,,Cancelled\n"
        "6,azathioprine,100,mg,daily,2024-01-01,2024-02-01,Discontinued\n"
    )
    result = import_text(text, "meds.csv")
    assert_balanced(result)
    f = result.report.files[0]
    assert f.mapping["dose_status"] == "Status"
    assert sorted(result.doses_df()["patient_id"]) == ["1", "6"]
    problems = {p.row: p.message for p in f.problems}
    assert "held or stopped" in problems[3] and "held or stopped" in problems[4]
    assert "entered in error" in problems[5] and "cancelled" in problems[6].lower()


def test_a_fhir_order_on_hold_says_so():
    # an order on hold is not a dose in force: rejected with the reason, as a table's
    # "On Hold" row is (H185)
    bundle = (
        '{"resourceType":"Bundle","type":"collection","entry":[{"resource":{"resourceType":"MedicationRequest",'
        '"status":"on-hold","intent":"order","subject":{"reference":"Patient/p1"},'
        '"medicationCodeableConcept":{"text":"azathioprine 50 mg tablet"},"authoredOn":"2024-01-01",'
        '"dosageInstruction":[{"doseAndRate":[{"doseQuantity":{"value":100,"unit":"mg"}}],'
        '"timing":{"repeat":{"frequency":1,"period":1,"periodUnit":"d"}}}]}}]}'
    )
    result = import_text(bundle, "meds.json")
    assert_balanced(result)
    assert result.doses.num_rows == 0
    problems = [p.message for p in result.report.files[0].problems]
    assert any("held or stopped ('on hold')" in p for p in problems), problems


# --------------------------------------------------------------------------- time-zone offsets


def test_times_in_different_zones_are_kept_as_written_and_said():
    # 23:30 at -05:00 is 04:30 UTC the next day, after the 01:00Z draw: kept as the
    # wall-clock times written (never converted), and the report says the file mixes zones
    text = (
        "MRN,Collection Date,Component,Result,Units\n"
        "P1,2024-03-01T23:30:00-05:00,WBC,4.1,10^9/L\n"
        "P1,2024-03-02T01:00:00Z,WBC,4.2,10^9/L\n"
    )
    result = import_text(text)
    assert_balanced(result)
    times = sorted(str(t) for t in result.labs_df()["collected_at"])
    assert times == ["2024-03-01 23:30:00", "2024-03-02 01:00:00"]
    [warning] = [w.message for f in result.report.files for w in f.warnings if "time-zone" in w.message]
    assert "+0000" in warning and "-0500" in warning


def test_one_zone_throughout_and_dates_without_times_are_not_a_mix():
    one = "MRN,Collection Date,Component,Result,Units\nP1,2024-03-01T08:00:00Z,WBC,4.1,10^9/L\nP1,2024-03-02 09:00 UTC,WBC,4.0,10^9/L\n"
    plain = "MRN,Collection Date,Component,Result,Units\nP1,01-05-2024,WBC,4.1,10^9/L\nP1,13-05-2024,WBC,4.0,10^9/L\n"
    for text in (one, plain):
        result = import_text(text)
        assert result.labs_df().shape[0] == 2
        assert not [w for f in result.report.files for w in f.warnings if "time-zone" in w.message]


def test_excel_serial_day_numbers_in_a_csv_are_read_and_said():
    # Excel counts days from 1899-12-30: 45000 is 2023-03-15 (45000 - 44927 = 73 days after 2023-01-01)
    text = "MRN,Collection Date,Component,Result,Units\nP1,45000,WBC,4.1,10^9/L\nP1,2024-01-02,WBC,4.0,10^9/L\n"
    result = import_text(text)
    assert_balanced(result)
    assert sorted(str(t)[:10] for t in result.labs_df()["collected_at"]) == ["2023-03-15", "2024-01-02"]
    [note] = [w.message for f in result.report.files for w in f.warnings if "Excel serial" in w.message]
    assert note.startswith("1 date(s)") and "45000 = 2023-03-15" in note


def test_a_dose_held_at_an_amount_is_kept_not_a_hold():
    # "held at 15 mg" is British usage for a dose kept where it is, not a dose withheld
    text = DOSES + (
        "A,methotrexate,15,mg,weekly (held at 15 mg),oral,2024-01-01,\n"
        "B,methotrexate,15,mg,weekly (held),oral,2024-01-01,\n"
    )
    result = import_text(text, "doses.csv")
    assert_balanced(result)
    assert result.doses_df()["patient_id"].tolist() == ["A"]
    [problem] = result.report.files[0].problems
    assert "held or stopped ('held')" in problem.message


def test_an_empty_wide_row_names_the_unread_column_that_holds_a_value():
    # "Plts xyz" is no analyte column the mapping knows: the row whose only value stands
    # there is rejected, and the reason points at that column instead of "every analyte
    # column is empty" alone
    text = "MRN,Date,WBC,Neut,Plts xyz\nP1,2024-01-02,4.1,2.0,250\nP1,2024-02-02,,,180\nP1,2024-03-02,,,\n"
    result = import_text(text)
    assert_balanced(result)
    reasons = {p.row: p.message for p in result.report.files[0].problems}
    assert reasons[3].endswith("something stands in column(s) not read: Plts xyz (map them to read them)")
    assert reasons[4] == "no results in this row (every analyte column is empty)"
