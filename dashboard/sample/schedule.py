"""When the synthetic clinic takes blood: the BSR 2017 monitoring schedule.

After a start or dose increase of a monitored drug: every 2 weeks until the dose has
been stable for 6 weeks, then monthly for 3 months, then every 12 weeks.  Patients on no
monitored drug have clinic bloods every 12 weeks.  Calcineurin inhibitors (tacrolimus,
ciclosporin) stay on monthly tests long term, as several NHS boards ask (and as the
rules' schedule does).  Draws are taken up to a few days
early, never late, on a weekday morning, so every patient is up to date at the extract
date unless their plan says monitoring stopped (the overdue story).  Unscheduled draws
of a story (a nadir FBC, a flare work-up) count as draws and restart the clock.
"""

from __future__ import annotations

import bisect
import datetime as dt
from collections.abc import Sequence

import numpy as np

from dashboard.sample.plan import EXTRACT_DATE, MONITORED, DoseStep, Draw, PatientPlan, weekday_on_or_before

FORTNIGHTLY_DAYS = 14
MONTHLY_DAYS = 30
QUARTERLY_DAYS = 84  # "every 12 weeks"
#: Drugs kept on monthly tests long term.
MONTHLY_LONG_TERM = ("tacrolimus", "ciclosporin")
#: Days after a change during which draws are fortnightly (dose stable for 6 weeks) ...
FORTNIGHTLY_UNTIL = 41
#: ... and then monthly, three times.
MONTHLY_UNTIL = 130


def monitoring_changes(doses: Sequence[DoseStep]) -> list[dt.date]:
    """Dates a monitored drug was started (or restarted after a gap) or its dose raised."""
    out: set[dt.date] = set()
    for drug in MONITORED:
        steps = sorted((d for d in doses if d.drug == drug), key=lambda d: d.start)
        previous: DoseStep | None = None
        for step in steps:
            contiguous = previous is not None and previous.end is not None and previous.end >= step.start
            if not contiguous or step.mg_per_day > previous.mg_per_day:  # type: ignore[union-attr]
                out.add(step.start)
            previous = step
    return sorted(out)


def interval_after(day: dt.date, changes: Sequence[dt.date], doses: Sequence[DoseStep]) -> int:
    """Days until the next draw is due, for a draw taken on ``day``."""
    i = bisect.bisect_right(changes, day)
    if i == 0 or not any(d.drug in MONITORED and d.active(day) for d in doses):
        return QUARTERLY_DAYS
    since = (day - changes[i - 1]).days
    if since < FORTNIGHTLY_UNTIL:
        return FORTNIGHTLY_DAYS
    if since < MONTHLY_UNTIL or any(d.drug in MONTHLY_LONG_TERM and d.active(day) for d in doses):
        return MONTHLY_DAYS
    return QUARTERLY_DAYS


def draw_days(plan: PatientPlan, rng: np.random.Generator, end: dt.date = EXTRACT_DATE) -> list[dt.date]:
    """The dates of the patient's blood draws from the start of follow-up to ``end``."""
    last_day = min(end, plan.monitoring_until) if plan.monitoring_until else end
    changes = monitoring_changes(plan.doses)
    forced = sorted(plan.forced_draws)
    day = weekday_on_or_before(plan.follow_start)
    days = [day]
    while True:
        due = day + dt.timedelta(days=interval_after(day, changes, plan.doses))
        i = bisect.bisect_right(changes, day)
        if i < len(changes):
            due = min(due, changes[i] + dt.timedelta(days=FORTNIGHTLY_DAYS))
        j = bisect.bisect_right(forced, day)
        if j < len(forced) and forced[j] <= due:
            nxt = forced[j]
        else:
            nxt = weekday_on_or_before(due - dt.timedelta(days=int(rng.integers(0, 4))))
            if nxt <= day:
                nxt = due
        if nxt > last_day:
            return days
        days.append(nxt)
        day = nxt


def morning_draws(days: Sequence[dt.date], rng: np.random.Generator) -> list[Draw]:
    """Give each draw day a phlebotomy time between 07:40 and 11:50."""
    minutes = rng.integers(7 * 60 + 40, 11 * 60 + 51, size=len(days))
    return [
        Draw(dt.datetime.combine(d, dt.time(int(m) // 60, int(m) % 60))) for d, m in zip(days, minutes, strict=True)
    ]
