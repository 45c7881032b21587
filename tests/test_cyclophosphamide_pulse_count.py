"""The neutrophil count before an IV cyclophosphamide pulse (French PNDS, Box 6).

Terrier et al., French recommendations for the management of systemic necrotizing
vasculitides, Orphanet J Rare Dis 2020;15(Suppl 2):351, Box 6 (read on its PMC table page,
pmc.ncbi.nlm.nih.gov/articles/PMC7771069/table/Tab7): when the neutrophils are below
1.5 x 10^9/L on the date a bolus is due, the bolus is cut by a quarter or put off (if
possible by two weeks at most, otherwise another treatment is discussed).

Before this check the review said nothing about the pulse itself: a count of 1.4 the day
before a pulse gave only the CTCAE grade and the BSR csDMARD "withhold" (a guideline that
does not cover cyclophosphamide).  The count that stands for "on the scheduled date" is
the schedule's count before a pulse (rules/schedule.py pre_pulse_from): taken after the
previous pulse's nadir window (days 8-14) has closed, or, when pulses are 2 weeks apart,
from day 8, the nadir count serving as both.  Expectations are worked out by hand from
those words and the pulse dates; none was copied from the code's output.
"""

from __future__ import annotations

import datetime as dt

from tests.support import csv_review

AS_OF = dt.date(2026, 12, 5)
RULE = "dose.cyc_pulse_neutrophils_low"
LABS_HEAD = "patient_id,collected_at,analyte,value,unit\n"
DOSES_HEAD = "patient_id,drug,dose,dose_unit,frequency,route,start,end\n"
FORTNIGHTLY = "P1,cyclophosphamide,1000,mg,every 2 weeks,iv,2026-11-02,2026-12-31\n"
THREE_WEEKLY = "P1,cyclophosphamide,1000,mg,every 3 weeks,iv,2026-10-26,2026-12-31\n"


def _rows(labs: str, doses: str):
    dc = csv_review(labs, doses, as_of=AS_OF)[1].dose_checks_df()
    return dc[dc["rule"] == RULE]


def _neut(day: str, value: str) -> str:
    return f"P1,{day},Neutrophils,{value},10^9/L\n"


def test_a_low_count_the_day_before_a_fortnightly_pulse_asks_to_reduce_or_postpone_it():
    """Pulses every 2 weeks from 2 November: 2, 16 and 30 November. Neutrophils 1.2 on
    13 November (the nadir after the first pulse) and 1.4 on 15 November, the day before
    the second pulse. The latest count before the 16 November pulse, from day 8 after
    the 2 November pulse (10 November) on, is 1.4: below 1.5, so Box 6 says cut the
    pulse by 25% or postpone it. No count was taken after 16 November, so the 30 November
    pulse has none (the schedule reports that as a missed count, not this check)."""
    rows = _rows(_neut("2026-10-30", "4.5") + _neut("2026-11-13", "1.2") + _neut("2026-11-15", "1.4"), FORTNIGHTLY)
    assert len(rows) == 1
    row = rows.iloc[0]
    assert row["value"] == 1.4 and row["threshold"] == 1.5
    assert row["severity"] == "action"
    assert "pulse 2026-11-16" in row["message"] and "2026-11-15" in row["message"]
    assert "25%" in row["message"] and "postpone" in row["message"]
    assert "Box 6" in row["source"]
    assert row["status"] == "closed"  # the pulse of 16 November is past


def test_the_nadir_count_is_not_the_count_on_the_date_of_a_three_weekly_pulse():
    """Pulses every 3 weeks from 26 October: 26 October, 16 November, 7 December. The
    nadir window after 16 November closes on day 14, 30 November; the 7 December pulse
    comes later, so its count is one taken from 1 December. A nadir of 1.3 on 27 November
    (day 11) is the expected low after a pulse, not the count on the scheduled date:
    with a recovered 2.5 on 3 December, no row."""
    assert _rows(_neut("2026-11-27", "1.3") + _neut("2026-12-03", "2.5"), THREE_WEEKLY).empty
    # with only the nadir count, there is no count before the 7 December pulse yet
    assert _rows(_neut("2026-11-27", "1.3"), THREE_WEEKLY).empty


def test_a_low_count_before_the_next_pulse_is_open_until_the_pulse_day():
    """Same three-weekly course; 1.3 on 3 December, within the count window of the
    7 December pulse (from 1 December). Reviewed on 5 December, the pulse is still to
    come: the row is open, so the clinician sees it before the pulse is given."""
    rows = _rows(_neut("2026-12-03", "1.3"), THREE_WEEKLY)
    assert len(rows) == 1
    assert "pulse 2026-12-07" in rows.iloc[0]["message"]
    assert rows.iloc[0]["status"] == "open"


def test_a_count_of_exactly_1_5_is_not_below_the_limit():
    """Box 6 says '< 1.5': a count of 1.5 the day before the pulse gives no row."""
    assert _rows(_neut("2026-11-15", "1.5"), FORTNIGHTLY).empty


def test_the_first_pulse_is_judged_on_the_count_just_before_it():
    """The rule is for every bolus, the first included. For the first pulse of a history
    there is no previous nadir window; the dashboard reads 'on the scheduled date' as the
    14 days before it (the last day of the nadir window; a project reading). 1.2 on 31 October,
    two days before the 2 November pulse: a row for that pulse. A count of 1.2 on
    1 October, a month before, is not the count on the date: no row."""
    rows = _rows(_neut("2026-10-31", "1.2"), FORTNIGHTLY)
    assert list(rows["message"].str.contains("pulse 2026-11-02")) == [True]
    assert _rows(_neut("2026-10-01", "1.2"), FORTNIGHTLY).empty


def test_a_daily_oral_course_is_not_judged_as_a_pulse():
    """Box 6's reduction is for a bolus; a daily oral course with neutrophils 1.2 gives no
    row of this check (its other rules still judge the count)."""
    oral = "P1,cyclophosphamide,100,mg,daily,oral,2026-11-02,\n"
    assert _rows(_neut("2026-11-20", "1.2"), oral).empty
