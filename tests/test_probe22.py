"""Probe 22: the Dosing page against the dose checks for the same record (H400-H403), and
today's performance changes against 88ce8f0.

Each finding was pinned as a strict xfail and is fixed (probe22 F1-F4; H404-H407); the
tests now hold the fixes.  Expected values are worked out by hand from dosing.toml, dose_checks.toml
and rules.toml (3E 2009, UK SmPC 4.3, BSR), never copied from the code's output.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from dashboard import dosing, model
from dashboard.ingest import ImportOptions, Source, import_sources
from dashboard.rules.data import worse_direction
from dashboard.rules.review import review

ROOT = Path(__file__).resolve().parents[1]
AS_OF = dt.date(2026, 12, 5)
LABS_HEAD = "patient_id,collected_at,analyte,value,unit\n"
DOSES_HEAD = "patient_id,drug,dose,dose_unit,frequency,route,start\n"


def _record(labs: str, doses: str) -> tuple[pd.DataFrame, dosing.PatientContext]:
    """The same record through the import, the review's dose checks and the Dosing page's context."""
    r = import_sources(
        [Source("labs.csv", (LABS_HEAD + labs).encode()), Source("doses.csv", (DOSES_HEAD + doses).encode())],
        ImportOptions(today=AS_OF),
    )
    rv = review(r.labs, r.doses, r.patients, None, None, AS_OF)
    pats, doses_df, labs_df = (model.to_pandas(t, getattr(r, t)) for t in ("patients", "doses", "labs"))
    ctx = dosing.patient_context(pats, doses_df, labs_df, "P1", AS_OF)
    return rv.dose_checks_df(), ctx


def _page_mtx(ctx: dosing.PatientContext) -> dosing.DoseResult:
    """What the methotrexate tab checks for this patient (dosing_view.methotrexate_tab)."""
    row = ctx.dose_row("methotrexate")
    amount = ctx.amount_per_administration("methotrexate")
    egfr = dosing.egfr_for_limits(dosing.egfr_prefill(ctx.egfr), ctx.egfr)
    assert row is not None and amount is not None
    return dosing.methotrexate_check(amount, row["frequency"], egfr=egfr)


# ------------------------------------------------------------------ F1 methotrexate every 7 days


def test_methotrexate_every_7_days_on_the_page_is_once_weekly():
    """15 mg every 7 days is 15 mg once a week: 15 x 7/7 = 15 mg/week, inside 7.5-25.
    The import reads 'every 7 days' as 'weekly' (frequency.py: k % 7 == 0) and the dose
    check dose.mtx_not_weekly does not fire on it; the page, given 7 in 'Days between
    doses', must not say 'not once weekly' (a contraindicated error on a correct weekly
    prescription) and should plan it as the weekly schedule."""
    _, ctx = _record(
        "P1,2026-11-01 09:00,eGFR,70,mL/min/1.73m2\n", "P1,methotrexate,15,mg,every 7 days,oral,2026-01-01\n"
    )
    row = ctx.dose_row("methotrexate")
    assert row is not None and row["frequency"] == "weekly"  # the import's reading
    r = dosing.methotrexate_check(15, "every 7 days")  # what the page passes for 7 days between doses
    assert r.suggested_dose == 15
    assert not [w for w in r.warnings if w.severity == "contraindicated"]


def test_the_page_with_7_days_between_doses_shows_no_not_weekly_error():
    """AppTest: 'every N days' with 7 days between doses is the weekly schedule: no
    'ONCE A WEEK' error (that error is for more often than weekly)."""
    at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=60)
    at.run()
    at.switch_page("pages/dosing.py").run()
    at.selectbox(key="mtx_freq_manual").set_value("every N days")
    at.run()
    at.number_input(key="mtx_every_manual").set_value(7)
    at.run()
    assert not at.exception
    # planned as the weekly schedule, as the import writes every 7 days (fixed: dosing.every_days)
    assert "15 mg once weekly" in "\n".join(c.value for c in at.caption)
    assert "ONCE A WEEK" not in "\n".join(e.value for e in at.error)


# ------------------------------------------------------------------ F2 the weekly ceiling of a non-weekly row


@pytest.mark.parametrize(
    ("freq", "weekly"),
    [("every 3 days", 35.0), ("daily", 105.0), ("BID", 210.0), ("every other day", 52.5)],
)
def test_the_weekly_ceiling_names_the_dose_check_the_review_gives(freq, weekly):
    """15 mg every 3 days: 15 x 7/3 = 35 mg/week; daily 15 x 7 = 105; BID 15 x 2 x 7 = 210;
    every other day 15 x 7/2 = 52.5.  Each is above the 30 mg/week ceiling
    (dosing.toml absolute_max_weekly_mg).  The same record's dose checks judge such a
    schedule as not once weekly (dose.mtx_not_weekly, urgent), not against the ceiling:
    the page's ceiling warning names that check, never one the review does not give
    (fixed: the page said "dose check dose.mtx_above_max: action")."""
    checks, ctx = _record(
        "P1,2026-11-01 09:00,eGFR,70,mL/min/1.73m2\n", f"P1,methotrexate,15,mg,{freq},oral,2026-01-01\n"
    )
    page = _page_mtx(ctx)
    assert page.suggested_dose == pytest.approx(weekly)
    ceiling = [w for w in page.warnings if "mg/week ceiling" in w.message]
    assert len(ceiling) == 1 and "dose.mtx_not_weekly: urgent" in ceiling[0].message
    assert "dose.mtx_above_max" not in ceiling[0].message
    assert "dose.mtx_not_weekly" in set(checks["rule"])
    assert "dose.mtx_above_max" not in set(checks["rule"])


# ------------------------------------------------------------------ F3 every 2 weeks prefilled as 15.000006 mg


def test_methotrexate_every_2_weeks_is_prefilled_as_15_mg():
    """The row says 15 mg every 2 weeks (mg_per_week 7.5): the amount each time is
    7.5 / (7 x 1/14) = 15 mg exactly, six 2.5 mg tablets; no 'not a whole number' line."""
    _, ctx = _record(
        "P1,2026-11-01 09:00,eGFR,70,mL/min/1.73m2\n", "P1,methotrexate,15,mg,every 2 weeks,oral,2026-01-01\n"
    )
    page = _page_mtx(ctx)
    assert page.suggested_dose == pytest.approx(7.5)
    assert not any("not a whole number" in line for line in page.reasoning)


# ------------------------------------------------------------------ F4 eGFR's worse direction


def test_a_lower_egfr_is_the_more_severe():
    """eGFR is judged by a lower limit (bsr.egfr_low: < 60; methotrexate < 30): the lower
    value is the worse, direction -1, as data.worse_direction's own docstring says."""
    assert worse_direction()["neutrophils"] == -1
    assert worse_direction()["egfr"] == -1


@pytest.mark.parametrize("order", [("25", "35"), ("35", "25")])
def test_methotrexate_contraindication_with_two_egfrs_at_one_draw(order):
    """Two eGFR results at one time, 25 and 35 (kept, with a warning).  The draw's more
    severe value is 25 (< 30): dose.mtx_renal_contraindicated (urgent) fires, whichever
    row comes first."""
    a, b = order
    labs = f"P1,2026-11-01 09:00,eGFR,{a},mL/min/1.73m2\nP1,2026-11-01 09:00,eGFR,{b},mL/min/1.73m2\n"
    checks, ctx = _record(labs, "P1,methotrexate,15,mg,weekly,oral,2026-01-01\n")
    assert ctx.egfr is not None and ctx.egfr.collected_at == dt.datetime(2026, 11, 1, 9)
    assert "dose.mtx_renal_contraindicated" in set(checks["rule"])


def test_the_dosing_page_takes_the_draws_worse_egfr():
    """The same draw's 25 then 35: the page's limits go against 25 (below 30), whichever
    row the file lists last (the rules' 'the draw's most severe value', H-draw rule)."""
    labs = "P1,2026-11-01 09:00,eGFR,25,mL/min/1.73m2\nP1,2026-11-01 09:00,eGFR,35,mL/min/1.73m2\n"
    _, ctx = _record(labs, "P1,methotrexate,15,mg,weekly,oral,2026-01-01\n")
    assert ctx.egfr is not None
    assert ctx.egfr.value == 25.0


def test_the_flag_names_the_lower_egfr_as_the_more_severe():
    """bsr.egfr_low on a draw of 25 and 35: the more severe of the two is 25."""
    r = import_sources(
        [
            Source(
                "labs.csv",
                (
                    LABS_HEAD + "P1,2026-11-01 09:00,eGFR,25,mL/min/1.73m2\nP1,2026-11-01 09:00,eGFR,35,mL/min/1.73m2\n"
                ).encode(),
            )
        ],
        ImportOptions(today=AS_OF),
    )
    flags = review(r.labs, r.doses, r.patients, None, None, AS_OF).flags_df()
    messages = " ".join(flags.loc[flags["rule"] == "bsr.egfr_low", "message"])
    assert "conflicting results at this draw: 35 and 25" in messages  # listed with the more severe last
    assert "the more severe, 25, counts" in messages
