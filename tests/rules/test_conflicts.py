"""Two different results of one analyte for one draw (issue 15 item 3): the more severe
value counts for the current grade, urgency and open flags, whatever the file order,
and every flag on that draw says the draw has a conflicting result.

Hand grading (CTCAE v5.0): neutrophils 0.4 < 0.5 -> grade 4; 1.2 < 1.5 -> grade 2.
ALT with ULN 40: 250 > 5 x 40 = 200 -> grade 3; 50 > 40 -> grade 1.
"""

from __future__ import annotations

import pandas as pd
import pytest

from tests.rules.builders import dose, lab, run, series


def neutrophil_draw(first: float, second: float):
    rows = series("P1", "neutrophils", [("2024-05-01", 2.5), ("2024-06-01", 2.4)])
    rows += [lab("P1", "2024-07-01 09:30", "neutrophils", first), lab("P1", "2024-07-01 09:30", "neutrophils", second)]
    return rows


@pytest.mark.parametrize(("first", "second"), [(0.4, 1.2), (1.2, 0.4)])
def test_the_more_severe_value_counts_whatever_the_file_order(first, second):
    rv = run(neutrophil_draw(first, second), [dose("P1", "azathioprine", "2024-01-01", amount=150)])
    s = rv.summary_df().iloc[0]
    assert s["ctcae_neutrophils"] == 4
    assert s["max_ctcae_grade"] == 4
    assert s["urgency"] == "urgent"
    f = rv.open_flags_df()
    ctc = f[f["rule"] == "ctcae.neutrophils"]
    assert ctc["value"].tolist() == [0.4]
    assert ctc["ctcae_grade"].tolist() == [4]
    assert (f[f["rule"] == "bsr.neutrophils_low"]["value"] == 0.4).all()


@pytest.mark.parametrize(("first", "second"), [(0.4, 1.2), (1.2, 0.4)])
def test_every_flag_of_the_draw_says_it_has_a_conflicting_result(first, second):
    f = run(neutrophil_draw(first, second)).flags_df()
    draw = f[f["collected_at"].dt.day == 1]
    draw = draw[draw["collected_at"].dt.month == 7]
    assert len(draw) >= 3  # grade 4 and grade 2 CTCAE flags, the BSR limit on both
    for _, row in draw.iterrows():
        assert "conflicting" in row["message"], row["message"]
        assert "0.4" in row["conflict"] and "1.2" in row["conflict"]
    open_ = draw[draw["status"] == "open"]
    assert set(open_["value"]) == {0.4}


def test_a_draw_without_a_conflict_says_nothing():
    f = run(series("P1", "neutrophils", [("2024-01-01", 1.2), ("2024-02-01", 0.4)])).flags_df()
    assert (f["conflict"] == "").all()
    assert not f["message"].str.contains("conflicting").any()


def test_a_high_analyte_counts_its_higher_value():
    rows = [lab("P1", "2024-03-01 08:00", "alt", v, ref_high=40) for v in (250, 50)]
    for order in (rows, rows[::-1]):
        rv = run(order)
        assert rv.summary_df().iloc[0]["ctcae_alt"] == 3
        f = rv.open_flags_df()
        assert f[f["rule"] == "ctcae.alt"]["value"].tolist() == [250.0]


def test_consecutive_falls_count_draws_not_rows():
    # draws: 10 -> 8.9 -> (8.8 and 7.8) -> 6.9; per draw the severe value: falls of 11 %,
    # 12.4 % and 11.5 % -> the third fall fires on 6.9 with the series of draws
    rows = series("P1", "wbc", [("2024-01-01", 10.0), ("2024-02-01", 8.9), ("2024-03-01", 8.8)])
    rows += series("P1", "wbc", [("2024-03-01", 7.8), ("2024-04-01", 6.9)])
    f = run(rows).flags_df()
    falls = f[f["rule"] == "trend.consecutive_falls"]
    assert falls["value"].tolist() == [6.9]
    assert "10 → 8.9 → 7.8 → 6.9" in falls.iloc[0]["message"]


# A result without a time of day (stored at 00:00) and a timed result of the same analyte
# on the same day: which was drawn last is unknown, so the two are one draw and the more
# severe counts (never the timed one just because 00:00 sorts first).  Hand grading:
# neutrophils 1.2 < 1.5 -> CTCAE grade 2 (caution); 1.2 < 1.6 -> BSR limit (action);
# 3.0 -> no flag.
@pytest.mark.parametrize("swap", [False, True])
def test_a_result_without_a_time_of_day_is_never_ordered_before_a_timed_one(swap):
    rows = series("P1", "neutrophils", [("2024-05-01", 2.5), ("2024-06-01", 2.4)])
    same_day = [lab("P1", "2024-07-01", "neutrophils", 1.2), lab("P1", "2024-07-01 10:00", "neutrophils", 3.0)]
    rv = run(rows + (same_day[::-1] if swap else same_day), [dose("P1", "azathioprine", "2024-01-01", amount=150)])
    s = rv.summary_df().iloc[0]
    assert s["ctcae_neutrophils"] == 2
    assert s["urgency"] == "action"
    f = rv.open_flags_df()
    assert set(f["rule"]) == {"ctcae.neutrophils", "bsr.neutrophils_low"}
    assert (f["value"] == 1.2).all()
    assert f["message"].str.contains("conflicting").all()
    # the flag shows the result's own date as the lab wrote it, never the 10:00 of the
    # timed draw it was judged with (no time of day is made up)
    assert (f["collected_at"] == pd.Timestamp("2024-07-01 00:00")).all()


def test_two_timed_results_of_one_day_keep_their_order():
    # 09:00 1.2 then 11:00 3.0: the repeat is the latest result, nothing stays open
    rows = [lab("P1", "2024-07-01 09:00", "neutrophils", 1.2), lab("P1", "2024-07-01 11:00", "neutrophils", 3.0)]
    rv = run(rows)
    assert rv.summary_df().iloc[0]["ctcae_neutrophils"] == 0
    assert rv.open_flags_df().empty
    f = rv.flags_df()
    assert set(f["status"]) == {"closed"} and not f["message"].str.contains("conflicting").any()


@pytest.mark.parametrize("g_dl_first", [True, False])
def test_haemoglobin_in_two_units_at_one_draw_counts_its_higher_grade(g_dl_first):
    """Probe 5 F8.  By hand (CTCAE v5.0 anaemia): 7.9 g/dL < 8.0 -> grade 3; 4.9 mmol/L is
    not below 4.9, < 6.2 -> grade 2.  In g/L they are 79 and 78.96: the lower value is the
    lower grade, because the two units' cuts do not convert exactly.  The draw's result
    that counts is the grade-3 one, whatever the file order, and the conflict text gives
    each value in the unit it was reported in."""
    rows = [
        lab("H1", "2024-03-01 09:00", "hemoglobin", 7.9, unit="g/dL"),
        lab("H1", "2024-03-01 09:00", "hemoglobin", 4.9, unit="mmol/L"),
    ]
    rv = run(rows if g_dl_first else rows[::-1])
    assert rv.summary_df().iloc[0]["ctcae_hemoglobin"] == 3
    f = rv.open_flags_df()
    ctc = f[f["rule"] == "ctcae.hemoglobin"]
    assert ctc["ctcae_grade"].tolist() == [3]
    assert ctc["value"].tolist() == [79.0]
    assert (
        "4.9 mmol/L" in ctc["conflict"].iloc[0] and "the higher CTCAE grade, 79 g/L, counts" in ctc["conflict"].iloc[0]
    )


def test_haemoglobin_in_one_unit_keeps_the_lower_value():
    """Both in g/L: 85 and 78 g/L at one draw, the lower (78 < 80, grade 3) counts."""
    rows = [lab("H1", "2024-03-01 09:00", "hemoglobin", v) for v in (78.0, 85.0)]
    for order in (rows, rows[::-1]):
        f = run(order).open_flags_df()
        assert f[f["rule"] == "ctcae.hemoglobin"]["value"].tolist() == [78.0]
