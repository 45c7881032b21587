"""Display helpers in dashboard.views: the bounded patient list of a large panel's picker."""

from __future__ import annotations

from dashboard.views import PICKER_LIMIT, picker_list

IDS = [f"P{i:05d}" for i in range(1, 501)]
LABELS = {i: f"{i} · F · SLE" if int(i[1:]) % 2 else f"{i} · M · RA" for i in IDS}


def test_without_a_search_the_first_patients_of_the_ranking_are_listed():
    ranked = list(reversed(IDS))
    listing = picker_list(IDS, LABELS, "", current=None, limit=50, ranked=ranked)
    assert listing.options == ranked[:50]
    assert listing.matches == 500 and listing.found is None
    assert listing.note(500, "") == "Listing 50 of 500 patients; find any other by id above."


def test_ranking_missing_patients_still_lists_them_after_it():
    listing = picker_list(IDS[:5], LABELS, "", limit=10, ranked=["P00003", "GONE"])
    assert listing.options == ["P00003", "P00001", "P00002", "P00004", "P00005"]
    assert listing.note(5, "") == ""


def test_the_current_patient_is_always_listed_first_when_the_list_would_leave_it_out():
    listing = picker_list(IDS, LABELS, "", current="P00450", limit=20)
    assert listing.options[0] == "P00450" and len(listing.options) == 21
    inside = picker_list(IDS, LABELS, "", current="P00003", limit=20)
    assert inside.options == IDS[:20]


def test_an_exact_id_is_found_even_when_it_is_part_of_other_ids():
    ids = ["P120", "P1200", "P12", "XP12", "Q7"]
    listing = picker_list(ids, {}, "p12", limit=3)
    assert listing.found == "P12"
    assert listing.options == ["P12", "P120", "P1200"]  # the exact id first, then the first matches
    assert listing.matches == 4
    assert listing.note(5, "p12") == (
        "4 of 5 patients match \u201cp12\u201d; the first 3 are listed, narrow the search for the rest."
    )
    partial = picker_list(IDS, LABELS, "P0001", limit=5)
    assert partial.found is None and partial.matches == 10  # P00010..P00019
    assert partial.options == IDS[9:14]


def test_the_only_match_is_found_and_no_match_says_so():
    only = picker_list(IDS, LABELS, "00499", limit=20)
    assert only.found == "P00499" and only.options == ["P00499"]
    assert only.note(500, "00499") == "1 of 500 patients match \u201c00499\u201d."
    none = picker_list(IDS, LABELS, "  X123 ", current="P00001", limit=20)
    assert none.found is None and none.matches == 0
    assert none.options == ["P00001"]  # the shown patient stays selectable
    assert none.note(500, "  X123 ") == "No patient matches \u201cX123\u201d."


def test_the_label_is_searched_too():
    listing = picker_list(IDS, LABELS, " ra", limit=PICKER_LIMIT)
    assert listing.matches == 250
    assert all(int(i[1:]) % 2 == 0 for i in listing.options)


def test_patient_results_one_row_per_draw_newest_first():
    """The Home page's table of one patient: a column per analyte in model order, the
    value as the lab wrote it (comparator kept), "(calc)" on a derived value, two results
    of one analyte at one time both shown, and nothing of another patient."""
    from dashboard.units import display_unit
    from dashboard.views import patient_results
    from tests.rules.builders import frame, lab

    labs = frame(
        "labs",
        [
            lab("P1", "2026-08-01", "neutrophils", 0.8, source_value="0.8"),
            lab("P1", "2026-08-01", "wbc", 6.0, source_value="6.0"),
            {**lab("P1", "2026-08-01", "lymphocytes", 1.2, source_value="1.2"), "derived": True},
            lab("P1", "2026-09-01", "neutrophils", 0.4, comparator="<", source_value="<0.4"),
            lab("P1", "2026-09-01", "neutrophils", 0.5, source_value="0.5"),
            lab("P2", "2026-10-01", "platelets", 40.0),
        ],
    )
    table = patient_results(labs, "P1")
    wbc, neut, lymph = (
        f"{name} ({display_unit(a, 'SI')})"
        for name, a in (("WBC", "wbc"), ("Neutrophils", "neutrophils"), ("Lymphocytes", "lymphocytes"))
    )
    assert list(table.columns) == ["Collected", wbc, neut, lymph]
    assert table.to_dict("records") == [
        {"Collected": "2026-09-01", wbc: "", neut: "<0.4 / 0.5", lymph: ""},
        {"Collected": "2026-08-01", wbc: "6.0", neut: "0.8", lymph: "1.2 (calc)"},
    ]
    assert list(patient_results(labs, "nobody").columns) == ["Collected"]


def test_loaded_line_counts_in_the_singular_and_the_plural():
    from dashboard.views import loaded_line

    assert loaded_line("x9.csv", 1, 1) == "Loaded: **x9.csv** · 1 patient · 1 result"
    assert loaded_line("Sample", 36, 8860) == "Loaded: **Sample** · 36 patients · 8,860 results"


def test_workspace_counts_heading_says_what_is_counted():
    from dashboard.views import workspace_counts_heading

    assert workspace_counts_heading(False, False, None) == "Saved in the workspace on this machine (nothing saved yet):"
    assert workspace_counts_heading(True, True, 36) == "Saved in the workspace on this machine:"
    assert workspace_counts_heading(True, False, 1) == (
        "Saved in the workspace on this machine; this session's panel (1 patient) is not counted here until it is saved:"
    )


def test_the_after_as_of_table_never_rounds_a_value_onto_its_grade():
    """H139: 995 cells/uL is 0.995 x10^9/L, CTCAE grade 3 (< 1.0), and 1595 cells/uL is
    1.595, below the BSR limit 1.6: shown so, never "1.00" or "1.6" (on the cut-off)."""
    import pandas as pd

    from dashboard.views import after_as_of_table

    after = pd.DataFrame(
        {
            "patient_id": ["P2", "P1"],
            "collected_at": pd.to_datetime(["2026-04-20", "2026-04-21"]),
            "analyte": ["neutrophils", "neutrophils"],
            "value": [0.995, 1.595],
            "comparator": ["", ""],
            "source_value": ["995", "1595"],
            "source_unit": ["cells/uL", "cells/uL"],
            "ctcae_grade": [3.0, 1.0],
        }
    )
    table = after_as_of_table(after)
    assert table["Value"].tolist() == ["0.995 ×10⁹/L", "1.595 ×10⁹/L"]


def test_the_patient_page_says_what_a_childs_grades_rest_on():
    """Born 2016-03-02: aged 9 on 2026-03-01, so the note names the age and the lab's own
    range; aged 18 from 2034-03-02 on, when nothing is said; an unknown age says nothing."""
    import datetime as dt

    import pandas as pd

    from dashboard.views import child_note

    boy = pd.Series({"birth_date": pd.Timestamp("2016-03-02"), "age": float("nan")})
    note = child_note(boy, dt.date(2026, 3, 1))
    assert note.startswith("Aged 9:") and "lab's own range" in note and "adult default ULN" in note
    assert child_note(boy, dt.date(2034, 3, 1)).startswith("Aged 17:")
    assert child_note(boy, dt.date(2034, 3, 2)) == ""
    assert child_note(pd.Series({"birth_date": pd.NaT, "age": 12.0}), dt.date(2026, 3, 1)).startswith("Aged 12:")
    assert child_note(pd.Series({"birth_date": pd.NaT, "age": float("nan")}), dt.date(2026, 3, 1)) == ""
    assert child_note(None, dt.date(2026, 3, 1)) == ""


def _later(analyte: str, value: float, source_value: str, source_unit: str, grade: float):
    import pandas as pd

    return pd.DataFrame(
        {
            "patient_id": ["P2"],
            "collected_at": pd.to_datetime(["2026-04-20"]),
            "analyte": [analyte],
            "value": [value],
            "comparator": [""],
            "source_value": [source_value],
            "source_unit": [source_unit],
            "ctcae_grade": [grade],
        }
    )


def test_the_after_as_of_sentence_follows_the_chosen_units():
    """H160: in US units the sentence says what the table under it says.  Neutrophils
    0.4 x10^9/L are 0.4 K/uL (1 x10^9/L = 1 K/uL), CTCAE grade 4 (< 0.5); Hb 75 g/L is
    7.5 g/dL (10 g/L = 1 g/dL), CTCAE grade 3 (< 80 g/L)."""
    from dashboard.views import after_as_of_summary, worst_after_as_of

    neut = _later("neutrophils", 0.4, "0.4", "x10^9/L", 4.0)
    hb = _later("hemoglobin", 75.0, "75", "g/L", 3.0)
    assert worst_after_as_of(neut, "US") == "Neutrophils 0.4 K/µL on 20 Apr 2026 (CTCAE grade 4)"
    assert worst_after_as_of(neut) == "Neutrophils 0.4 ×10⁹/L on 20 Apr 2026 (CTCAE grade 4)"
    assert worst_after_as_of(hb, "US") == "Hb 7.5 g/dL on 20 Apr 2026 (CTCAE grade 3)"
    assert worst_after_as_of(hb, "SI") == "Hb 75 g/L on 20 Apr 2026 (CTCAE grade 3)"
    sentence = after_as_of_summary(hb, "2026-04-01", "US")
    assert "Most severe: P2, Hb 7.5 g/dL on 20 Apr 2026 (CTCAE grade 3)." in sentence
    assert "g/L" not in sentence
    # and the table under it, in the same units
    from dashboard.views import after_as_of_table

    assert after_as_of_table(hb, "US")["Value"].tolist() == ["7.5 g/dL"]


def test_the_pages_of_both_patients_say_they_may_be_one_person():
    """H150: the FHIR record f3c9a1 carries MR 0012345, the dose sheet's patient id."""
    from dashboard.views import other_id_notes

    aliases = [("f3c9a1", "MR", "0012345", "Patient.ndjson")]
    ids = ["0012345", "f3c9a1", "P9"]
    [mine] = other_id_notes("f3c9a1", aliases, ids)
    assert "MR 0012345" in mine and "MRN 0012345" in mine and "Patient.ndjson" in mine
    [theirs] = other_id_notes("0012345", aliases, ids)
    assert "Patient f3c9a1" in theirs and "MRN f3c9a1" in theirs
    assert other_id_notes("P9", aliases, ids) == []
    # leading zeros aside: a sheet that dropped them ("12345") is the same number
    assert len(other_id_notes("12345", aliases, ["12345", "f3c9a1"])) == 1
    # an identifier that is the patient's own id says nothing
    assert other_id_notes("0012345", [("0012345", "MR", "0012345", "p.ndjson")], ["0012345"]) == []


def test_an_interval_set_after_the_as_of_date_is_said_not_in_force():
    import datetime as dt

    import pandas as pd

    from dashboard.views import interval_not_in_force

    note = interval_not_in_force(pd.Timestamp("2026-12-04 10:30"), dt.date(2026, 11, 16))
    assert note.startswith("Set on 04 Dec 2026, after the as-of date (16 Nov 2026): not in force")
    assert "on or after 04 Dec 2026" in note
    # set on the as-of day itself, or before: in force (inputs.prepare keeps set_at < the day after)
    assert interval_not_in_force(pd.Timestamp("2026-11-16 23:59"), dt.date(2026, 11, 16)) == ""
    assert interval_not_in_force(pd.Timestamp("2026-01-01"), dt.date(2026, 11, 16)) == ""


def test_the_doses_now_table_adds_the_total_of_rows_in_force_together():
    """H240: azathioprine 100 mg + 75 mg daily at 60 kg: 175 mg/day in all, 175 / 60 =
    2.92 mg/kg/day, after the two rows; a single row adds nothing."""
    import datetime as dt

    from dashboard.views import current_doses_table
    from tests.rules.builders import dose, frame

    two = frame(
        "doses",
        [dose("S", "azathioprine", "2024-01-01", amount=100), dose("S", "azathioprine", "2024-01-01", amount=75)],
    )
    table = current_doses_table(two, 60.0, dt.date(2024, 6, 30))
    assert table["Dose"].tolist()[-1] == "Azathioprine 175 mg/day in all (2.92 mg/kg/day)"
    assert table["Drug"].tolist() == ["Azathioprine"] * 3 and len(table) == 3
    one = frame("doses", [dose("S", "azathioprine", "2024-01-01", amount=100)])
    assert len(current_doses_table(one, 60.0, dt.date(2024, 6, 30))) == 1
