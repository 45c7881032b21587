"""The latest renal measure a renal dose limit is placed against: one home for the dose
checks (``dose_checks.py``, vectorised over patients) and the Dosing page
(``dosing.latest_renal``), so the two cannot pick different results (H412).

Two measures of kidney function reach the dashboard, and they are different quantities:

* the **creatinine clearance** (``crcl``, mL/min, not indexed to body surface: measured
  from a 24-hour urine, or predicted by Cockcroft-Gault), the measure the methotrexate UK
  SmPC states its limit in (section 4.3: "creatinine clearance less than 30 ml/min");
* the **eGFR** (``egfr``, mL/min/1.73 m², indexed to a body surface of 1.73 m²).

Neither is ever converted into the other (that needs the body surface area, or the weight
and age).  A limit whose source states a creatinine clearance (``measure = "crcl"`` in
``knowledge/data/dosing.toml``) is placed against the **latest** of the two on or before
the review date by calendar day, the creatinine clearance first when both are of one day; the result
used is named (measure, value, date).  An eGFR used in its place carries the source's own
caveat (``measure_note``: "the SmPC states creatinine clearance; eGFR used").

Why the newer rather than the worse of the two: renal function changes, and a result of
a year ago would otherwise hold a contraindication open for ever.  But the two may
disagree without any change (Cockcroft-Gault runs well below the eGFR in an old, light
patient), so an older creatinine clearance below the limit is never passed over: while
the newer eGFR is not below it, the check says it cannot be told and names both
(``dose.not_checkable``).  A creatinine drawn after the measure used, with no measure of
its own, still makes the check not checkable (H409): both measures are worked out from a
serum creatinine.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from dashboard.rules.data import DAY

#: The renal measures, in the order preferred when two are of one calendar day (H430):
#: the creatinine clearance first (the quantity the SmPC states), then the eGFR.
MEASURES: tuple[str, ...] = ("crcl", "egfr")

#: A time before any result ("none").
NONE_T = -(2**62)


def latest_of(times: Sequence[np.ndarray]) -> np.ndarray:
    """Per element, the position in ``times`` (one array per measure, in order of
    preference; seconds) of the latest measure by calendar day; on one day, the measure
    listed first, whatever the hour (a CrCl at 09:00 and that morning's eGFR at 09:30 are
    one day's tests, as a day is one test elsewhere: H424, H428; H430); -1 where every
    time is :data:`NONE_T` (no result)."""
    best = np.full(len(times[0]) if len(times) else 0, NONE_T, dtype=np.int64)
    which = np.full(len(best), -1, dtype=np.int64)
    for k, t in enumerate(times):
        day = np.where(t > NONE_T, t // DAY, NONE_T)
        newer = day > best
        best = np.where(newer, day, best)
        which = np.where(newer, k, which)
    return which


def same_day(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Times (seconds) of one calendar day."""
    return a // DAY == b // DAY


def measures_for(stated: str) -> tuple[str, ...]:
    """The measures a limit stated in ``stated`` is placed against, in order of
    preference: a creatinine clearance limit takes a creatinine clearance, else an eGFR;
    an eGFR limit takes the eGFR only (its sources state a GFR per 1.73 m²)."""
    return MEASURES if stated == "crcl" else (stated,)
