"""Fixes of probe 24 F1 (a same-day repeat in the consecutive-falls trend, H424/H425) and F3
(a count made from a % differential: written as computed, its flags giving the range the
percentage allows, H426).

Records go through the real import and review.  Every expectation is worked out by hand
before running the code: the trend is "falls > 10% on 3 occasions" (rules.toml
trend.consecutive_falls), the BSR limits neutrophils < 1.6 and eosinophils > 0.5 (strict),
and a number written to its last digit lies within half a unit of that digit.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from dashboard.ingest.labs import count_range, stated_product
from tests.test_probe24 import REPEAT_MIDDLE, _import, _review

FALLS = "trend.consecutive_falls"


def _falls(labs: str) -> pd.DataFrame:
    _, rv = _review(labs)
    f = rv.flags_df()
    return f[f["rule"] == FALLS]


def _wbc(*points: tuple[str, str]) -> str:
    return "".join(f"P1,{when},WBC,{value},10^9/L\n" for when, value in points)


# ------------------------------------------------------------ H424 one day, one test


def test_the_message_shows_the_day_as_a_range_and_names_its_results():
    """REPEAT_MIDDLE (probe24 F1): 8.0, 7.1, 6.3 (09:00) and 6.2 (15:00) on 1 April, 5.5.  The
    series reads 8 → 7.1 → 6.2-6.3 → 5.5, and the message names the two April results
    with their times, read as one test."""
    msg = _falls(REPEAT_MIDDLE)["message"].iloc[0]
    assert "8 → 7.1 → 6.2-6.3 → 5.5 ×10⁹/L" in msg
    assert "2026-04-01: 6.3 at 09:00 and 6.2 at 15:00" in msg
    assert "read as one test" in msg


def test_a_same_day_repeat_that_undoes_the_fall_is_no_fall():
    """8.0, 7.1, 6.3, then on 1 May 5.5 at 09:00 and 6.0 at 15:00.  6.3 -> 5.5 is 12.7%, but
    6.3 -> 6.0 is 4.8%: the third fall holds for one sample only, so it is not proven, and
    two falls are no trend: no flag (the day is not read as its lower sample alone)."""
    labs = _wbc(
        ("2026-02-01", "8.0"),
        ("2026-03-01", "7.1"),
        ("2026-04-01", "6.3"),
        ("2026-05-01 09:00", "5.5"),
        ("2026-05-01 15:00", "6.0"),
    )
    assert _falls(labs).empty


def test_the_flag_sits_on_the_days_latest_result():
    """REPEAT_MIDDLE with a third May-like fall at the end on one day: ... 5.5 on 1 May, then on
    1 June 4.9 at 08:00 and 4.8 at 16:00.  5.5 -> 4.9 is 10.9% (5.5 -> 4.8, 12.7%): a fourth
    fall, flagged once, on the 16:00 result (the day's latest), which is open."""
    labs = REPEAT_MIDDLE + _wbc(("2026-06-01 08:00", "4.9"), ("2026-06-01 16:00", "4.8"))
    _, rv = _review(labs)
    f = rv.flags_df()
    f = f[f["rule"] == FALLS]
    assert f["value"].tolist() == [5.5, 4.8]
    last = f[f["value"] == 4.8].iloc[0]
    assert last["status"] == "open"
    assert last["collected_at"] == pd.Timestamp("2026-06-01 16:00")


# ------------------------------------------------------------ H425 censored results in the trend


def test_a_censored_result_counts_only_where_its_bound_proves_the_fall():
    """8.0, 7.1, 6.3 then:
    "<5.67": below 5.67, so more than (6.3 - 5.67) / 6.3 = 10.0% below 6.3: the third fall,
    flagged (exactly 10% at the bound, and the value is below it);
    ">5.5": at least 5.5, perhaps 7: no proven fall, no flag;
    and "<8.0", 7.1, 6.3, 5.5: nothing is proven to fall from "<8.0", two falls: no flag;
    ">8.0", 7.1, 6.3, 5.5: more than 8.0 -> 7.1 is more than 11.25%: three falls, flagged
    at 5.5."""
    head = (("2026-02-01", "8.0"), ("2026-03-01", "7.1"), ("2026-04-01", "6.3"))
    assert _falls(_wbc(*head, ("2026-05-01", "<5.67")))["value"].tolist() == [5.67]
    assert _falls(_wbc(*head, ("2026-05-01", ">5.5"))).empty
    tail = (("2026-03-01", "7.1"), ("2026-04-01", "6.3"), ("2026-05-01", "5.5"))
    assert _falls(_wbc(("2026-02-01", "<8.0"), *tail)).empty
    assert _falls(_wbc(("2026-02-01", ">8.0"), *tail))["value"].tolist() == [5.5]


def test_the_series_shows_a_bound_as_a_bound():
    """ ">8.0", 7.1, 6.3, 5.5: the message writes the first test as reported, ">8"."""
    tail = (("2026-03-01", "7.1"), ("2026-04-01", "6.3"), ("2026-05-01", "5.5"))
    assert ">8 → 7.1 → 6.3 → 5.5" in _falls(_wbc(("2026-02-01", ">8.0"), *tail))["message"].iloc[0]


# ------------------------------------------------------------ H426 counts made from a percentage


@pytest.mark.parametrize(
    ("w", "p", "text", "low", "high"),
    [
        # 41 % of 3.9: the percentage 40.5-41.5 % (half a unit of its last digit), times
        # 3.9 as written: 1.5795-1.6185
        (3.9, 41.0, "41", 1.5795, 1.6185),
        # 40 % of 3.9: 39.5-40.5 % of 3.9 is 1.5405-1.5795
        (3.9, 40.0, "40", 1.5405, 1.5795),
        # 29.8 % of 5.0: 29.75-29.85 % is 1.4875-1.4925
        (5.0, 29.8, "29.8", 1.4875, 1.4925),
        # 4 % of 12.0 (lymphocytes): 3.5-4.5 % is 0.42-0.54
        (12.0, 4.0, "4", 0.42, 0.54),
    ],
)
def test_a_made_count_is_written_as_computed_and_its_range_is_the_percentages(w, p, text, low, high):
    lo, hi = count_range(np.array([w]), np.array([p]), [text])
    assert (lo[0], hi[0]) == (pytest.approx(low), pytest.approx(high))
    assert stated_product(np.array([w * p / 100])).tolist() == [round(w * p / 100, 3)]


def test_a_made_count_proven_below_the_limit_is_still_an_action():
    """WBC 3.9 and neutrophils 40 %: 40 % of 3.9 is 1.56, and the stated percentage allows
    39.5-40.5 % of 3.9, 1.5405-1.5795: below 1.6 whatever its rounding, so the BSR
    "< 1.6" action stands (rounding to the WBC's one decimal, 1.6, would have hidden it).
    The flag says the count was calculated and from what: "40 % of WBC 3.9"."""
    _, rv = _review("P1,2026-06-01,WBC,3.9,10^9/L\nP1,2026-06-01,Neutrophils %,40,%\n")
    f = rv.flags_df()
    hit = f[f["rule"] == "bsr.neutrophils_low"]
    assert hit["value"].tolist() == [1.56]
    assert hit["severity"].tolist() == ["action"]
    assert "count calculated by the import: 40 % of WBC 3.9 ×10⁹/L = 1.56" in hit["message"].iloc[0]


def test_a_made_count_on_a_limit_its_range_reaches_is_said_and_claims_no_action():
    """WBC 3.9 and neutrophils 41 % (probe24 F3): 41 % of 3.9 = 1.599, below the BSR 1.6,
    but 40.5-41.5 % of 3.9 is 1.5795-1.6185, which reaches 1.6: the fall below it is not
    proven, so the flag is at most caution and says so.  CTCAE: 1.599 is grade 1 (< LLN
    2.0, >= 1.5).  The flags name "41 % of WBC 3.9" and the range; the record keeps the
    lab's "41" and "%" beside the count."""
    r, rv = _review("P1,2026-06-01,WBC,3.9,10^9/L\nP1,2026-06-01,Neutrophils %,41,%\n")
    f = rv.flags_df()
    g1 = f[f["rule"] == "ctcae.neutrophils"].iloc[0]
    assert g1["ctcae_grade"] == 1 and g1["value"] == 1.599
    assert "41 % of WBC 3.9 ×10⁹/L = 1.599 (from 1.58 to 1.619 by the rounding of the percentage)" in g1["message"]
    bsr = f[f["rule"] == "bsr.neutrophils_low"].iloc[0]
    assert bsr["severity"] == "caution" and "not proven past it" in bsr["message"]
    neut = r.labs_df()
    neut = neut[neut["analyte"] == "neutrophils"].iloc[0]
    assert (neut["source_value"], neut["source_unit"], bool(neut["derived"])) == ("41", "%", True)


def test_a_made_count_is_not_rounded_onto_a_limit():
    """probe25 (doubtful 1): 4 % lymphocytes of a WBC of 12.0 is 0.48, CTCAE grade 3 (< 0.5);
    written 0.5 it was grade 2.  Its range, 3.5-4.5 % of 12.0, is 0.42-0.54: the flag keeps
    the estimate's grade and says the range.  6 % eosinophils of 9.0 is 0.54, above the BSR
    0.5, range 0.495-0.585 reaching 0.5: flagged, caution, not proven."""
    _, rv = _review("P1,2026-06-01,WBC,12.0,10^9/L\nP1,2026-06-01,Lymphocytes %,4,%\n")
    f = rv.flags_df()
    lym = f[f["rule"] == "ctcae.lymphocytes"].iloc[0]
    assert lym["value"] == 0.48 and lym["ctcae_grade"] == 3
    assert "(from 0.42 to 0.54 by the rounding of the percentage)" in lym["message"]
    _, rv = _review("P1,2026-06-01,WBC,9.0,10^9/L\nP1,2026-06-01,Eosinophils %,6,%\n")
    f = rv.flags_df()
    eos = f[f["rule"] == "bsr.eosinophils_high"].iloc[0]
    assert eos["value"] == 0.54 and eos["severity"] == "caution" and "not proven past it" in eos["message"]


def test_an_eosinophil_count_proven_above_the_limit_is_not_rounded_away():
    """WBC 6.0 and eosinophils 9 %: 9 % of 6.0 is 0.54; 8.5-9.5 % of 6.0 is 0.51-0.57,
    above 0.5 whatever the rounding of the percentage.  One decimal would give 0.5 (outside that
    range, and not "> 0.5"); written 0.54, and the BSR "> 0.5" fires, proven: an action."""
    _, rv = _review("P1,2026-06-01,WBC,6.0,10^9/L\nP1,2026-06-01,Eosinophils %,9,%\n")
    f = rv.flags_df()
    assert f.loc[f["rule"] == "bsr.eosinophils_high", "value"].tolist() == [0.54]
    assert f.loc[f["rule"] == "bsr.eosinophils_high", "severity"].tolist() == ["action"]


def test_the_import_report_says_how_counts_were_made():
    r = _import("P1,2026-06-01,WBC,3.9,10^9/L\nP1,2026-06-01,Neutrophils %,41,%\n")
    text = r.report.to_text()
    said = "(from % x WBC), as computed; each flag on it gives the range its percentage allows"
    assert f"converted 1 neutrophils from % to 10^9/L {said}" in text


# ------------------------------------------------------------ the baseline rule, checked for the same problem


def test_a_same_day_repeat_is_not_a_third_baseline_draw():
    """trend.baseline_fall needs 3 draws before the drug (rules.toml: from 3 results a 30%
    fall first exceeds the day-to-day variation of the leucocyte count, by the reference
    change value 1.65 x CVi x sqrt(1 + 1/n)).  WBC 8.0 on 1 Oct 2025, then 6.0 at 09:00 and
    6.1 at 15:00 on 1 Nov 2025; azathioprine from 1 Jan 2026; 4.2 on 1 Feb 2026.  Two of the
    three draws are one day: their difference is within-day, not day-to-day, variation, so
    the baseline rests on 2 days, fewer than the 3 the rule needs: no computed baseline,
    no flag.  Today the median of the three draws, 6.1, is the baseline and 4.2 (31.1%
    below it) is flagged."""
    labs = _wbc(("2025-10-01", "8.0"), ("2025-11-01 09:00", "6.0"), ("2025-11-01 15:00", "6.1"))
    labs += _wbc(("2026-02-01", "4.2"))
    _, rv = _review(labs)
    assert "trend.baseline_fall" not in set(rv.flags_df()["rule"])
