"""The review log: stable flag keys, latest entry in force, unreviewed first."""

import datetime as dt

import pandas as pd

from dashboard.reviews import Review, flag_key, history_frame, latest, unacknowledged, validate, with_review_status


def log(*rows):
    cols = ["review_id", "patient_id", "flag_key", "rule_id", "analyte", "collected_at", "action", "note",
            "reviewer", "reviewed_at", "corrects"]  # fmt: skip
    return pd.DataFrame([dict(zip(cols, r, strict=True)) for r in rows], columns=cols)


def test_the_flag_key_survives_recomputation():
    a = flag_key("001", "neutropenia_g2", pd.Timestamp("2024-03-15 08:30"), "neutrophils")
    b = flag_key("001", "neutropenia_g2", dt.datetime(2024, 3, 15, 8, 30), "neutrophils")
    assert a == b == "001|neutropenia_g2|2024-03-15T08:30:00|neutrophils"
    assert Review("001", "continue").flag_key == ""  # a review of the patient as a whole
    assert Review("001", "continue", rule_id="r", analyte="wbc", collected_at=dt.datetime(2024, 1, 1)).scope == "flag"


def test_validation():
    assert validate(Review("001", "continue"), "Dr A") == []
    assert "choose an action" in validate(Review("001", "ignore"), "Dr A")[0]
    assert "your name" in validate(Review("001", "continue"), " ")[0]
    assert "needs one" in validate(Review("001", "stop"), "Dr A")[0]
    assert "collection time" in validate(Review("001", "continue", rule_id="r"), "Dr A")[0]


def test_unreviewed_flags_come_first_and_acknowledged_ones_can_be_hidden():
    t1, t2, t3 = (pd.Timestamp(f"2024-0{m}-01") for m in (1, 2, 3))
    flags = pd.DataFrame(
        {
            "patient_id": ["001", "001", "002"],
            "rule_id": ["wbc_low"] * 3,
            "analyte": ["wbc"] * 3,
            "collected_at": [t1, t2, t3],
        }
    )
    k1 = flag_key("001", "wbc_low", t1, "wbc")
    entries = log(
        (1, "001", k1, "wbc_low", "wbc", t1, "repeat test", "", "Dr A", pd.Timestamp("2024-01-02"), None),
        (2, "001", k1, "wbc_low", "wbc", t1, "reduce", "fix", "Dr A", pd.Timestamp("2024-01-03"), 1),
        (3, "001", "", "", "", None, "continue", "", "Dr B", pd.Timestamp("2024-01-04"), None),
    )
    out = with_review_status(flags, entries)
    assert list(out["reviewed"]) == [False, False, True]
    assert list(out["collected_at"][:2]) == [t3, t2]  # newest unreviewed first
    assert out.iloc[2]["review_action"] == "reduce"  # the correction is in force
    assert len(unacknowledged(out)) == 2
    assert list(latest(entries)["review_id"]) == [2, 3]
    hist = history_frame(entries)
    assert list(hist["#"]) == [3, 2, 1] and hist.iloc[1]["Corrects"] == "#1" and hist.iloc[0]["About"] == "patient"
