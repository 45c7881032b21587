"""Alerts a clinician can act on (issue 15 item 5): a persistent state is one episode,
"open since DATE"; trend wording and severity follow the source (a trend among counts
within the reference range is at most "review", i.e. caution; no trend says "stop" or
"withhold"); every message is analyte-specific; every source is a published reference
or a local rule with its rationale in the rules file, never an issue or project notes."""

from __future__ import annotations

import re

import pandas as pd
import pytest

from dashboard.rules.data import ctcae_file, rules_file
from dashboard.rules.engine import all_rules, make_user_profile
from tests.rules.builders import dose, lab, run, series

DATES = ["2024-01-05", "2024-02-05", "2024-03-05", "2024-04-05", "2024-05-05", "2024-06-05"]
NOT_A_SOURCE = re.compile(r"(?i)\bissue\b|project|research notes|clinical notes")


def flags(review, rule: str, analyte: str | None = None) -> pd.DataFrame:
    f = review.flags_df()
    m = f["rule"] == rule
    if analyte:
        m &= f["analyte"] == analyte
    return f[m]


# --------------------------------------------------------------------------- wording and severity


def test_neutrophils_falling_within_range_say_review_not_stop():
    # 4.14 -> 3.71 -> 3.0 -> 2.56 (falls of 10.4 %, 19.1 %, 14.7 %), all >= the LLN 2.0
    rv = run(series("P1", "neutrophils", list(zip(DATES, [4.14, 3.71, 3.0, 2.56], strict=False))))
    row = flags(rv, "trend.consecutive_falls").iloc[0]
    assert row["value"] == 2.56
    assert row["severity"] == "caution"
    msg = row["message"].lower()
    assert "review" in msg and "neutrophil" in msg
    assert "stop" not in msg and "withhold" not in msg
    assert "platelet" not in msg  # no platelet caveat on a neutrophil flag
    assert rv.summary_df().iloc[0]["urgency"] == "caution"


def test_the_platelet_note_is_only_on_platelets():
    values = [400.0, 350.0, 310.0, 270.0]  # falls of 12.5 %, 11.4 %, 12.9 %
    rv = run(series("P1", "platelets", list(zip(DATES, values, strict=False))))
    msg = flags(rv, "trend.consecutive_falls").iloc[0]["message"]
    assert "high, disease-driven level" in msg
    rv = run(series("P1", "wbc", list(zip(DATES, [10.0, 8.9, 7.9, 7.0], strict=False))))
    msg = flags(rv, "trend.consecutive_falls").iloc[0]["message"]
    assert "white cell" in msg and "platelet" not in msg.lower()


def test_a_baseline_fall_within_range_is_review():
    # pre-treatment median 7.0 (3 draws); 4.5 is 35.7 % below it, still >= the LLN 4.0
    rows = series("P1", "wbc", [("2024-01-05", 7.0), ("2024-01-20", 6.8), ("2024-02-05", 7.2), ("2024-04-01", 4.5)])
    rv = run(rows, [dose("P1", "azathioprine", "2024-03-01", amount=100)])
    row = flags(rv, "trend.baseline_fall").iloc[0]
    assert row["severity"] == "caution"
    assert "white cell" in row["message"] and "stop" not in row["message"].lower()
    assert row["source"].startswith("Local rule")


def test_a_user_profile_cannot_raise_an_in_range_trend_above_review():
    profile = make_user_profile("Strict trends", "BSR 2017 / NICE", {"trend.consecutive_falls": {"severity": "action"}})
    # in range (>= 4.0): capped at caution; below the LLN: the profile's action
    in_range = run(series("P1", "wbc", list(zip(DATES, [10.0, 8.9, 7.9, 7.0], strict=False))), profile=profile)
    assert flags(in_range, "trend.consecutive_falls")["severity"].tolist() == ["caution"]
    low = run(series("P1", "wbc", list(zip(DATES, [6.0, 5.3, 4.7, 3.9], strict=False))), profile=profile)
    assert flags(low, "trend.consecutive_falls")["severity"].tolist() == ["action"]


@pytest.mark.parametrize("rule", [r for r in all_rules() if r.kind == "trend"], ids=lambda r: r.id)
def test_trend_advice_never_says_stop_or_withhold(rule):
    for analyte in rule.analytes:
        text = rule.message_for(analyte).lower()
        assert "stop" not in text and "withhold" not in text, (rule.id, analyte)
    assert rule.severity in ("info", "caution")
    assert rule.max_severity_in_range == "caution"


def test_every_source_is_published_or_a_local_rule_with_its_rationale():
    for r in all_rules():
        assert not NOT_A_SOURCE.search(r.source), (r.id, r.source)
        if r.source.lower().startswith("local rule"):
            assert "rationale" in r.source and len(r.citation) > 80, r.id
    assert not NOT_A_SOURCE.search(ctcae_file()["source"])
    raw = {item["id"]: item for item in rules_file()["rule"]}
    assert raw["trend.baseline_fall"]["min_results"] >= 2


# --------------------------------------------------------------------------- episodes


def test_the_start_of_treatment_ends_an_episode():
    # neutrophils 1.4 before azathioprine (started 2024-02-01), then 1.3 and 1.5 on it: the
    # on-treatment finding is open since its own first result, not since the pre-treatment one
    rows = series("P1", "neutrophils", [("2024-01-05", 1.4), ("2024-02-05", 1.3), ("2024-03-05", 1.5)])
    rv = run(rows, [dose("P1", "azathioprine", "2024-02-01", amount=100)])
    f = flags(rv, "bsr.neutrophils_low")
    assert f["episode_start"].tolist() == [pd.Timestamp(x) for x in ("2024-01-05", "2024-02-05", "2024-02-05")]
    assert f["episode_results"].tolist() == [1, 1, 2]
    latest = f[f["status"] == "open"].iloc[0]["message"]
    assert "open since 2024-02-05 (2 consecutive results)" in latest


def test_a_count_below_a_limit_at_consecutive_draws_is_one_episode():
    rows = series("P1", "neutrophils", list(zip(DATES[:3], [1.4, 1.3, 1.5], strict=False)))
    rv = run(rows)
    f = flags(rv, "bsr.neutrophils_low")
    assert f["episode_start"].tolist() == [pd.Timestamp("2024-01-05")] * 3
    assert f["episode_results"].tolist() == [1, 2, 3]
    open_ = f[f["status"] == "open"]
    assert len(open_) == 1
    assert "open since 2024-01-05 (3 consecutive results)" in open_.iloc[0]["message"]
    closed = f[f["status"] == "closed"]
    assert not closed["message"].str.contains("open since").any()
    s = rv.summary_df().iloc[0]
    assert s["open_guideline"] == 1 and "open since 2024-01-05" in s["headline"]


def test_an_open_episode_that_was_worse_says_its_worst_grade():
    """probe24 F2 (H427).  Neutrophils 0.4 (CTCAE v5.0 grade 4: < 0.5), then 0.8 (grade 3:
    < 1.0-0.5), then 0.45 (grade 4 again), then 1.2 (grade 2: < 1.5-1.0): one episode of
    four results, open on 1.2.  The open flag stays the latest (grade 2: what the patient
    has now), and its words name the worst of the episode, grade 4, at its latest date
    (0.45 on 2024-03-05; the dates are the 5th of January to April)."""
    rows = series("P1", "neutrophils", list(zip(DATES[:4], [0.4, 0.8, 0.45, 1.2], strict=True)))
    f = flags(run(rows), "ctcae.neutrophils")
    assert f["ctcae_grade"].tolist() == [4, 3, 4, 2]
    assert f["status"].tolist() == ["closed", "closed", "closed", "open"]
    msg = f.iloc[-1]["message"]
    assert "open since 2024-01-05 (4 consecutive results)" in msg
    assert msg.endswith("worst in this episode: grade 4 on 2024-03-05 (0.45 ×10⁹/L)")
    assert not f.iloc[:3]["message"].str.contains("worst in this episode").any()


def test_an_episode_at_its_worst_now_or_at_one_grade_names_no_worse_one():
    """Grade 2 (1.2) then grade 4 (0.4): the open flag is the worst; grade 2 twice (1.2,
    1.1): nothing was worse.  Neither says 'worst in this episode'."""
    for values in ([1.2, 0.4], [1.2, 1.1]):
        f = flags(run(series("P1", "neutrophils", list(zip(DATES[:2], values, strict=True)))), "ctcae.neutrophils")
        assert not f["message"].str.contains("worst in this episode").any(), values


def test_a_normal_draw_ends_the_episode():
    rows = series("P1", "neutrophils", list(zip(DATES[:4], [1.4, 2.5, 1.3, 1.2], strict=False)))
    f = flags(run(rows), "bsr.neutrophils_low")
    assert f["episode_start"].dt.strftime("%Y-%m-%d").tolist() == ["2024-01-05", "2024-03-05", "2024-03-05"]
    assert f["episode_results"].tolist() == [1, 1, 2]
    assert "open since 2024-03-05 (2 consecutive results)" in f.iloc[-1]["message"]


def test_a_stable_low_normal_level_below_the_baseline_is_one_review_episode():
    # ten monthly draws at 4.4 after a pre-treatment median of 7.0: one episode, review
    pre = [("2024-01-05", 7.0), ("2024-01-19", 7.1), ("2024-02-02", 6.9)]
    after = [(f"2024-{m:02d}-10", 4.4) for m in range(3, 13)]
    # (the BSR 2017 schedule, whose check is the FBC alone: a WBC-only series is then not
    # overdue, so the urgency is the trend's own; BSR 2025 also asks for creatinine and ALT)
    rv = run(
        series("P1", "wbc", pre + after),
        [dose("P1", "azathioprine", "2024-02-20", amount=100)],
        profile="BSR 2017 / NICE",
    )
    f = flags(rv, "trend.baseline_fall")
    assert len(f) == 10 and (f["episode_start"] == pd.Timestamp("2024-03-10")).all()
    assert (f["severity"] == "caution").all()
    assert (f["status"] == "open").sum() == 1
    s = rv.summary_df().iloc[0]
    assert s["urgency"] == "caution" and s["open_trend"] == 1
    assert "open since 2024-03-10 (10 consecutive results)" in s["headline"]


def test_episodes_become_timeline_intervals():
    rows = series("P1", "neutrophils", list(zip(DATES[:4], [1.4, 2.5, 1.3, 1.2], strict=False)))
    iv = run(rows).intervals_df()
    iv = iv[iv["rule"] == "bsr.neutrophils_low"]
    assert iv["start"].dt.strftime("%Y-%m-%d").tolist() == ["2024-01-05", "2024-03-05"]
    assert iv["results"].tolist() == [1, 2]
    assert iv["status"].tolist() == ["closed", "open"]


def test_a_lone_flag_says_nothing_about_an_episode():
    f = run([lab("P1", "2024-01-05", "neutrophils", 1.4)]).flags_df()
    assert not f["message"].str.contains("open since").any()
