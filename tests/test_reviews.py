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


def _judged_log(grade, severity, seq):
    out = log([1, "001", "001|ctcae.neutrophils|2024-04-15T09:00:00|neutrophils", "ctcae.neutrophils",
               "neutrophils", pd.Timestamp("2024-04-15 09:00"), "continue", "", "Dr A",
               pd.Timestamp("2024-05-01 10:00"), None])  # fmt: skip
    return out.assign(value=[1.2], comparator=[""], grade=[grade], severity=[severity], seq=[seq])


def _flag(grade, severity, seq):
    return pd.DataFrame(
        {
            "patient_id": ["001"],
            "rule": ["ctcae.neutrophils"],
            "analyte": ["neutrophils"],
            "collected_at": [pd.Timestamp("2024-04-15 09:00")],
            "value": [1.2],
            "comparator": [""],
            "ctcae_grade": [grade],
            "severity": [severity],
            "seq": [seq],
        }
    )


def test_a_review_covers_its_flag_only_while_it_is_judged_no_worse_and_no_earlier_result_arrived():
    """H119, H120: the review judged grade 2, caution, the second result of the series."""
    from dashboard.reviews import review_words

    logged = _judged_log(2, "caution", 1)
    same = with_review_status(_flag(2, "caution", 1), logged, rule_col="rule")
    assert same["reviewed"].all() and same["review_lapsed"].tolist() == [""]
    milder = with_review_status(_flag(1, "info", 1), logged, rule_col="rule")
    assert milder["reviewed"].all()
    worse = with_review_status(_flag(3, "action", 1), logged, rule_col="rule")
    assert not worse["reviewed"].any()
    assert worse["review_lapsed"].tolist() == [
        "regraded from G2 (caution) to G3 (action) since the review by Dr A on 1 May 2024"
    ]
    assert review_words(worse.iloc[0].to_dict()).startswith("not reviewed (open again: regraded from G2")
    severer = with_review_status(_flag(2, "action", 1), logged, rule_col="rule")  # a profile's severity
    assert not severer["reviewed"].any()
    late = with_review_status(_flag(2, "caution", 3), logged, rule_col="rule")  # two results arrived before it
    assert not late["reviewed"].any()
    assert late["review_lapsed"].tolist() == [
        "2 earlier results of this test arrived since the review by Dr A on 1 May 2024"
    ]
    old = with_review_status(_flag(4, "urgent", 5), _judged_log(None, None, None), rule_col="rule")
    assert old["reviewed"].all()  # an entry from before schema 6: as before


def test_a_review_made_after_the_as_of_date_says_so():
    """Probe 6 F9: reviewed on 1 May 2024; judged as of 20 Apr 2024 the flag still shows its
    review (the sample's as-of date is its extract date, before any review), and says that
    the review came after the date judged; as of 1 May it does not."""
    from dashboard.reviews import review_words

    before = with_review_status(_flag(2, "caution", 1), _judged_log(2, "caution", 1), rule_col="rule",
                                as_of=dt.date(2024, 4, 20))  # fmt: skip
    assert before["reviewed"].all() and before["reviewed_after_as_of"].all()
    assert review_words(before.iloc[0].to_dict()).endswith(", after the as-of date")
    on = with_review_status(_flag(2, "caution", 1), _judged_log(2, "caution", 1), rule_col="rule",
                            as_of=dt.date(2024, 5, 1))  # fmt: skip
    assert not on["reviewed_after_as_of"].any()
    assert not review_words(on.iloc[0].to_dict()).endswith("as-of date")


def test_a_milder_later_decision_names_the_stronger_one_it_replaced():
    """Probe 6: Dr A records "withhold", Dr B later "continue" without correcting it.  The
    latest holds (the log is append-only and the newest entry is in force), but the stronger
    decision is said beside it, never only in the Workspace history; a correction (``corrects``)
    withdraws the earlier entry, so nothing is said then."""
    from dashboard.reviews import review_words

    t1 = pd.Timestamp("2024-04-15 09:00")
    flags = pd.DataFrame({"patient_id": ["001"], "rule_id": ["bsr.neutrophils_low"], "analyte": ["neutrophils"],
                          "collected_at": [t1]})  # fmt: skip
    k = flag_key("001", "bsr.neutrophils_low", t1, "neutrophils")
    a = (
        1,
        "001",
        k,
        "bsr.neutrophils_low",
        "neutrophils",
        t1,
        "withhold",
        "AZA held",
        "Dr A",
        pd.Timestamp("2024-05-01"),
        None,
    )
    b = (
        2,
        "001",
        k,
        "bsr.neutrophils_low",
        "neutrophils",
        t1,
        "continue",
        "",
        "Dr B",
        pd.Timestamp("2024-05-02"),
        None,
    )
    out = with_review_status(flags, log(a, b))
    assert out.iloc[0]["review_action"] == "continue"
    assert review_words(out.iloc[0].to_dict()) == (
        "reviewed: continue by Dr B on 2024-05-02 (after withhold by Dr A on 01 May 2024)"
    )
    corrected = (*b[:-1], 1)
    assert "after" not in review_words(with_review_status(flags, log(a, corrected)).iloc[0].to_dict())
    stronger_later = (3, *b[1:6], "stop", "", "Dr C", pd.Timestamp("2024-05-03"), None)
    assert "after" not in review_words(with_review_status(flags, log(a, b, stronger_later)).iloc[0].to_dict())


def _doses(*rows):
    cols = ["patient_id", "drug", "start", "end", "dose", "dose_unit", "frequency", "mg_per_day"]
    return pd.DataFrame([dict(zip(cols, r, strict=True)) for r in rows], columns=cols)


def test_a_withhold_the_dose_record_does_not_show_is_said():
    """Probe 6: Dr A records "withhold" on 1 May 2024; the dose record still shows
    azathioprine 150 mg/day since January in force on the review date: said, so that the
    change is recorded (the dose checks and the timeline read the dose record).  A dose
    changed after the decision, a milder decision, or a co-medication says nothing."""
    from dashboard.reviews import decisions_not_in_doses

    t1 = pd.Timestamp("2024-04-15 09:00")
    k = flag_key("001", "bsr.neutrophils_low", t1, "neutrophils")
    held = log((1, "001", k, "bsr.neutrophils_low", "neutrophils", t1, "withhold", "AZA held", "Dr A",
                pd.Timestamp("2024-05-01 10:00"), None))  # fmt: skip
    aza = ("001", "azathioprine", pd.Timestamp("2024-01-01"), pd.NaT, 150.0, "mg", "daily", 150.0)
    allo = ("001", "allopurinol", pd.Timestamp("2024-01-01"), pd.NaT, 100.0, "mg", "daily", 100.0)
    [text] = decisions_not_in_doses(held, _doses(aza, allo), "001", dt.date(2024, 5, 10))
    assert text.startswith("'withhold' recorded by Dr A on 01 May 2024, but the dose record still shows Azathioprine")
    assert "Allopurinol" not in text
    stopped = (
        "001",
        "azathioprine",
        pd.Timestamp("2024-01-01"),
        pd.Timestamp("2024-05-01"),
        150.0,
        "mg",
        "daily",
        150.0,
    )
    assert decisions_not_in_doses(held, _doses(stopped, allo), "001", dt.date(2024, 5, 10)) == []
    reduced = ("001", "azathioprine", pd.Timestamp("2024-05-01"), pd.NaT, 100.0, "mg", "daily", 100.0)
    assert decisions_not_in_doses(held, _doses(stopped, reduced), "001", dt.date(2024, 5, 10)) == []
    carry_on = held.assign(action="continue")
    assert decisions_not_in_doses(carry_on, _doses(aza), "001", dt.date(2024, 5, 10)) == []


#: Azathioprine 150 mg daily from 1 Jun 2026, ended on 6 Nov 2026 (a dose row of ``_doses``).
_AZA_ENDED_6_NOV = ("1234", "azathioprine", pd.Timestamp("2026-06-01"), pd.Timestamp("2026-11-06"), 150.0, "mg",
                    "daily", 150.0)  # fmt: skip


def _withheld_on_6_nov() -> pd.DataFrame:
    """The log of Dr A's "withhold" of 6 Nov 2026 on patient 1234's neutrophils of 2 Nov."""
    t1 = pd.Timestamp("2026-11-02 09:00")
    k = flag_key("1234", "bsr.neutrophils_low", t1, "neutrophils")
    return log((1, "1234", k, "bsr.neutrophils_low", "neutrophils", t1, "withhold", "AZA held", "Dr A",
                pd.Timestamp("2026-11-06 10:00"), None))  # fmt: skip


def test_a_decision_the_dose_record_shows_by_having_no_dose_in_force_says_nothing():
    """Probe 16 F1 (H320): Dr A records "withhold" on 6 Nov 2026; the dose record then
    ends azathioprine (150 mg daily since 1 Jun) on 6 Nov.  On 13 Nov the patient has no
    dose in force at all: the decision and the dose record agree, nothing is said (the
    check once raised KeyError('start') here and the Patient page crashed).  The same for
    a patient with no dose row at all, one whose only dose in force is a co-medication,
    doses of other patients only, and an empty log."""
    from dashboard.reviews import decisions_not_in_doses

    held = _withheld_on_6_nov()
    day = dt.date(2026, 11, 13)
    ended = _AZA_ENDED_6_NOV
    allo = ("1234", "allopurinol", pd.Timestamp("2026-01-01"), pd.NaT, 100.0, "mg", "daily", 100.0)
    other = ("2001", "methotrexate", pd.Timestamp("2026-03-01"), pd.NaT, 20.0, "mg", "weekly", 20.0 / 7)
    assert decisions_not_in_doses(held, _doses(ended), "1234", day) == []  # no dose in force at all
    assert decisions_not_in_doses(held, _doses(ended, other), "1234", day) == []  # others' doses in force
    assert decisions_not_in_doses(held, _doses(ended, allo), "1234", day) == []  # a co-medication only
    assert decisions_not_in_doses(held, _doses(allo), "1234", day) == []  # no immunosuppressant row at all
    assert decisions_not_in_doses(held, _doses(other), "1234", day) == []  # no dose row of this patient
    assert decisions_not_in_doses(held, _doses(), "1234", day) == []  # no doses at all
    assert decisions_not_in_doses(log(), _doses(ended), "1234", day) == []  # an empty log


def test_a_decision_after_the_as_of_date_is_judged_on_its_own_day_and_says_so():
    """An audit as of 5 Nov 2026 of the decision of 6 Nov: on 5 Nov azathioprine was rightly
    in force (the withhold came the next day).  The dose record shows the withhold when the
    row ends on 6 Nov, so nothing is said; a dose record that still runs on 6 Nov is said,
    naming the decision as made after the as-of date."""
    from dashboard.reviews import decisions_not_in_doses

    held = _withheld_on_6_nov()
    audit = dt.date(2026, 11, 5)
    ended = _AZA_ENDED_6_NOV
    assert decisions_not_in_doses(held, _doses(ended), "1234", audit) == []
    running = ("1234", "azathioprine", pd.Timestamp("2026-06-01"), pd.NaT, 150.0, "mg", "daily", 150.0)
    [text] = decisions_not_in_doses(held, _doses(running), "1234", audit)
    assert text.startswith("'withhold' recorded by Dr A on 06 Nov 2026 (after the as-of date), but the dose record")
    assert "Azathioprine since 01 Jun 2026" in text


def test_an_entry_without_a_value_does_not_cover_a_correction_imported_after_it():
    """Probe 16 F6 (H322): an entry from before schema 4 has no value.  Dr A reviewed KHAN's
    lymphocytes of 25 Oct 2026 on 6 Nov (then 0.4, CTCAE grade 3).  The lab's correction to
    0.15 (grade 4, < 0.2) replaced the 0.4, so the draw holds one result, no conflict; the
    store says the draw's result is a correction imported on 13 Nov, after the review
    (``corrected_at``): the review does not cover it, in the words used when a value
    changes.  A correction imported before the review (it was what was reviewed) covers."""
    t1 = pd.Timestamp("2026-10-25 08:30")
    key = flag_key("2002", "ctcae.lymphocytes", t1, "lymphocytes")
    legacy = log((1, "2002", key, "ctcae.lymphocytes", "lymphocytes", t1, "repeat test", "", "Dr A",
                  pd.Timestamp("2026-11-06 10:00"), None))  # fmt: skip
    flag = pd.DataFrame(
        {
            "patient_id": ["2002"],
            "rule": ["ctcae.lymphocytes"],
            "analyte": ["lymphocytes"],
            "collected_at": [t1],
            "value": [0.15],
            "comparator": [""],
            "ctcae_grade": [4],
            "severity": ["urgent"],
        }
    )
    after = legacy.assign(value=[None], comparator=[None], corrected_at=[pd.Timestamp("2026-11-13 09:00")])
    out = with_review_status(flag, after, rule_col="rule")
    assert not out["reviewed"].any()
    assert out["review_lapsed"].tolist() == ["the result now reads 0.15 since the review by Dr A on 6 Nov 2026"]
    none_since = legacy.assign(value=[None], comparator=[None], corrected_at=[pd.NaT])
    assert with_review_status(flag, none_since, rule_col="rule")["reviewed"].all()
    assert with_review_status(flag, legacy, rule_col="rule")["reviewed"].all()  # a log without the column


def test_the_workspace_count_of_results_arrived_since_outranks_the_series_position():
    """H475: the review judged the 2nd result of a session's series (seq 1); the workspace
    holds 2 older results stored before the review (seq 3 now, ``earlier_since`` 0): it
    covers.  1 stored after it: open again, "1 earlier result"; the log saying nothing
    (null): the position is compared as before (3 - 1 = 2 results)."""
    covered = with_review_status(
        _flag(2, "caution", 3), _judged_log(2, "caution", 1).assign(earlier_since=[0]), rule_col="rule"
    )
    assert covered["reviewed"].all()
    one = with_review_status(
        _flag(2, "caution", 3), _judged_log(2, "caution", 1).assign(earlier_since=[1]), rule_col="rule"
    )
    assert one["review_lapsed"].tolist() == [
        "1 earlier result of this test arrived since the review by Dr A on 1 May 2024"
    ]
    unsaid = with_review_status(
        _flag(2, "caution", 3), _judged_log(2, "caution", 1).assign(earlier_since=[None]), rule_col="rule"
    )
    assert unsaid["review_lapsed"].str.startswith("2 earlier results").all()


def test_a_correction_of_an_earlier_draw_lapses_even_an_entry_without_a_judgement():
    """H474: the 15 Mar result was corrected to <0.5 after the review: the review of the
    15 Apr draw (even one recorded before judgements were) does not cover it."""
    logged = _judged_log(None, None, None).assign(
        earlier_since=[0],
        earlier_corrected=[1],
        earlier_corrected_draw=[pd.Timestamp("2024-03-15 09:00")],
        earlier_corrected_value=[0.5],
        earlier_corrected_comparator=["<"],
    )
    out = with_review_status(_flag(2, "caution", 1), logged, rule_col="rule")
    assert out["review_lapsed"].tolist() == [
        "the 15 Mar 2024 result of this test was corrected to <0.5 since the review by Dr A on 1 May 2024"
    ]
    assert not out["reviewed"].any()


def test_what_the_workspace_judges_otherwise_than_the_form_is_said():
    """H475: the form showed neutrophils 1.2 of 15 Apr 2024 (G2, caution, 2nd of its series)."""
    from dashboard.reviews import Judged, not_as_shown

    key = "001|ctcae.neutrophils|2024-04-15T09:00:00|neutrophils"
    shown = {key: Judged(1.2, "", 2, "caution", 1)}
    assert not_as_shown(shown, {key: Judged(1.2, "", 2, "caution", 1)}) == ([], [])
    assert not_as_shown(shown, {key: Judged(0.4, "", 4, "urgent", 1)}) == (
        ["Neutrophils of 15 Apr 2024: the workspace holds 0.4, the form showed 1.2"],
        [],
    )
    assert not_as_shown(shown, {key: Judged(1.2, "", 3, "action", 1)})[0] == [
        "Neutrophils of 15 Apr 2024 (ctcae.neutrophils): judged G3 (action) in the workspace, G2 (caution) in the form"
    ]
    assert not_as_shown(shown, {}) == (
        ["Neutrophils of 15 Apr 2024 (ctcae.neutrophils): this flag is not open in the workspace"],
        [],
    )
    assert not_as_shown(shown, {key: Judged(1.2, "", 2, "caution", 3)}) == (
        [],
        ["Neutrophils of 15 Apr 2024: the workspace holds 2 earlier results of this test the form did not show"],
    )


def test_one_wording_of_a_review_state_for_every_output():
    """H476: the CSV's words, and the PDF's narrow column with the decision first."""
    from dashboard.reviews import review_state

    done = {
        "reviewed": True,
        "review_action": "continue",
        "reviewed_by": "Dr A",
        "reviewed_at": pd.Timestamp("2026-11-06 09:01"),
        "reviewed_after_as_of": True,
        "review_stronger_before": "withhold by Dr B on 01 Nov 2026",
        "review_lapsed": "",
    }
    assert review_state(done) == (
        "reviewed: continue by Dr A on 2026-11-06, after the as-of date (after withhold by Dr B on 01 Nov 2026)"
    )
    assert review_state(done, short=True) == (
        "continue (Dr A) on 2026-11-06, after the as-of date (after withhold by Dr B on 01 Nov 2026)"
    )
    plain = done | {"reviewed_after_as_of": False, "review_stronger_before": ""}
    assert review_state(plain) == "reviewed: continue by Dr A on 2026-11-06"
    lapsed = {"reviewed": False, "review_lapsed": "the result now reads 0.4 since the review by Dr A on 6 Nov 2026"}
    said = "not reviewed (open again: the result now reads 0.4 since the review by Dr A on 6 Nov 2026)"
    assert review_state(lapsed) == review_state(lapsed, short=True) == said
    assert review_state({"reviewed": False}) == "not reviewed"


def test_the_words_of_flags_hidden():
    """H479: 3 open flags, 2 reviewed and hidden."""
    from dashboard.ui.widgets import hidden_flags_words

    assert hidden_flags_words(3, 1) == "2 reviewed flags hidden: 1 of 3 open flags shown."
    assert hidden_flags_words(1, 1) == "0 reviewed flags hidden: 1 of 1 open flag shown."
