"""The date a review is judged on ("as of"), and why, when it is not simply today.

Results and doses dated after the as-of date are not reviewed (the review counts and
lists those results: :attr:`dashboard.rules.review.Review.after_as_of`).  By default the
as-of date is today, except:

* an extract with a known export date (the sample panel): that date, so a static extract
  is not shown as months overdue;
* an import whose every result lies after today (research data with shifted dates,
  such as MIMIC's 2100s): the date of the last result, otherwise nothing would be
  reviewed at all.

Either way the review says why (:attr:`AsOf.note`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc


@dataclass(frozen=True)
class AsOf:
    """An as-of date and, when it is not today, why ("" for today)."""

    date: dt.date
    note: str = ""


def default_as_of(
    first_result: dt.date | None,
    last_result: dt.date | None,
    today: dt.date | None = None,
    extract_date: dt.date | None = None,
    extract_label: str = "the extract",
) -> AsOf:
    """The as-of date a panel opens with (see the module docstring)."""
    today = today or dt.date.today()
    if extract_date is not None:
        return AsOf(extract_date, f"{extract_date:%Y-%m-%d} is the extract date of {extract_label}.")
    if first_result is not None and last_result is not None and first_result > today:
        return AsOf(
            last_result,
            f"{last_result:%Y-%m-%d} is the date of the last result: every result is dated after today "
            f"({today:%Y-%m-%d}), as in research data with shifted dates.",
        )
    return AsOf(today)


def result_span(labs: Any) -> tuple[dt.date | None, dt.date | None]:
    """First and last collection date of a labs table (Arrow or pandas); None when empty."""
    if labs is None or len(labs) == 0:
        return None, None
    if isinstance(labs, pa.Table):
        col = labs.column("collected_at")
        mm = pc.min_max(col)
        lo, hi = mm["min"].as_py(), mm["max"].as_py()
    else:
        lo, hi = labs["collected_at"].min(), labs["collected_at"].max()
        lo = None if lo is None or lo != lo else lo.to_pydatetime()
        hi = None if hi is None or hi != hi else hi.to_pydatetime()
    if lo is None or hi is None:
        return None, None
    return lo.date(), hi.date()
