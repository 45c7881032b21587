"""The review log (pure): what a clinician decided about a flag or a patient.

Flags are recomputed by the rules engine on every run, so a review is keyed by what
identifies a flag across runs: the patient, the rule, the analyte and the collection
time of the result (:func:`flag_key`).  Reviewing "the patient as a whole" records one
entry per open flag (:func:`reviews_for`); an entry with an empty key is a note about a
patient who had no open flag.  The log is append-only: a correction is a new entry that names
the entry it corrects; the latest entry for a key is the one in force.

A review also records the value (and comparator) of the result it was about: a lab that
amends a result sends another value for the same draw, and the review of the first value
never covers it (:func:`with_review_status`).  An entry from before values were recorded
covers its flag only while the draw holds no conflicting results and no correction of
the draw was imported after it.

It records what it judged, too (schema 6): the result's CTCAE grade, the flag's severity
and the result's position in the patient's series of that test.  A review covers its flag
only while the flag is judged no worse (a back-filled or clinician-set baseline, a
profile or a rules change can regrade the same value: "regraded from G1 to G3 since the
review by ...") and while no result of that test dated before the reviewed draw has
arrived since (a late result joins the episode or sits among the earlier draws unseen).
An entry from before judgements were recorded covers as before.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import Any, NamedTuple

import pandas as pd

from dashboard import model
from dashboard.rules import Profile, review
from dashboard.rules.data import caveat

#: What was decided.
ACTIONS: tuple[str, ...] = ("continue", "repeat test", "reduce", "withhold", "stop", "referred")

#: Columns of the review log as the store returns it.
COLUMNS: tuple[str, ...] = (
    "review_id",
    "patient_id",
    "flag_key",
    "rule_id",
    "analyte",
    "collected_at",
    "action",
    "note",
    "reviewer",
    "reviewed_at",
    "corrects",
)
#: Columns the workspace's log adds (schema 4): the value and comparator of the result an
#: entry was about (missing or null for a review of the patient and for older entries).
RESULT_COLUMNS: tuple[str, ...] = ("value", "comparator")
#: Columns the workspace's log adds (schema 6): what an entry judged: the result's CTCAE
#: grade, the flag's severity and the result's position in its series (missing or null for
#: a review of the patient and for older entries).
JUDGED_COLUMNS: tuple[str, ...] = ("grade", "severity", "seq")
#: Column the workspace's log adds (schema 9): when the result of the entry's draw was
#: stored as a correction by an import after the entry (null otherwise): an entry without
#: a value (before schema 4) does not cover that correction (H322).
CORRECTED_COLUMNS: tuple[str, ...] = ("corrected_at",)
#: Column the workspace's log adds (schema 10): when the lab withdrew the result the entry
#: was about (null otherwise, H532): the entry no longer covers a flag of that draw, and the
#: log says the result was withdrawn, so it never reads as a review of a current result.
WITHDRAWN_COLUMNS: tuple[str, ...] = ("withdrawn_at",)
#: Columns the workspace's log adds: when a re-read of its import took the entry's result out
#: (today's reader no longer reads it from the file) and the reader's reason (null otherwise,
#: ``dashboard/store/reread.py``, H643): said as a withdrawn result's review is, never dropped.
UNREAD_COLUMNS: tuple[str, ...] = ("unread_at", "unread_reason")
#: Columns the workspace's log adds: the results of the entry's test dated before its draw
#: that were stored after it (``dashboard/store/entries.py`` REVIEW_LOG): how many arrived,
#: how many earlier draws were corrected, and the latest corrected draw with its value and
#: comparator.  Null when the log does not say (then the series position recorded is
#: compared, as before).
EARLIER_COLUMNS: tuple[str, ...] = (
    "earlier_since",
    "earlier_corrected",
    "earlier_corrected_draw",
    "earlier_corrected_value",
    "earlier_corrected_comparator",
)
#: How far a decision goes, for saying when a later, milder one replaced it ("continue"
#: after "withhold"): the milder one holds, and the earlier one is named beside it.
ACTION_STRENGTH: dict[str, int] = {
    "continue": 0,
    "repeat test": 1,
    "referred": 1,
    "reduce": 2,
    "withhold": 3,
    "stop": 4,
}
#: Severities, mildest first: a flag now more severe than reviewed is open again.
SEVERITY_RANK: dict[str, int] = {"": 0, "info": 1, "caution": 2, "action": 3, "urgent": 4}


class Judged(NamedTuple):
    """What a review of one flag records about it, as shown to the reviewer."""

    value: float
    comparator: str = ""
    #: the result's CTCAE grade (None: the analyte has no CTCAE term)
    grade: int | None = None
    #: the flag's severity (info, caution, action, urgent)
    severity: str = ""
    #: the result's position in the patient's series of its test (0 = first)
    seq: int | None = None


@dataclass(frozen=True)
class Review:
    """One entry of the review log as entered (the store adds id and time)."""

    patient_id: str
    action: str
    note: str = ""
    rule_id: str = ""
    analyte: str = ""
    collected_at: dt.datetime | None = None
    corrects: int | None = None
    #: the value and comparator of the result reviewed (None for a review of the patient)
    value: float | None = None
    comparator: str = ""
    #: what was judged: the CTCAE grade, the severity and the series position (None, "", None
    #: for a review of the patient)
    grade: int | None = None
    severity: str = ""
    seq: int | None = None

    @property
    def flag_key(self) -> str:
        if not self.rule_id:
            return ""
        return flag_key(self.patient_id, self.rule_id, self.collected_at, self.analyte)

    @property
    def scope(self) -> str:
        return "flag" if self.rule_id else "patient"


def flag_key(patient_id: str, rule_id: str, collected_at: object, analyte: str) -> str:
    """A flag's identity across recomputations: ``patient|rule|YYYY-MM-DDTHH:MM:SS|analyte``."""
    when = "" if collected_at is None or pd.isna(collected_at) else pd.Timestamp(collected_at).isoformat()
    return f"{patient_id}|{rule_id}|{when}|{analyte}"


def parse_flag_key(key: str) -> tuple[str, str, pd.Timestamp | None, str]:
    """(patient_id, rule_id, collected_at, analyte) of a :func:`flag_key`."""
    patient_id, rule_id, when, analyte = key.rsplit("|", 3)
    return patient_id, rule_id, (pd.Timestamp(when) if when else None), analyte


def review_of(key: str, action: str, note: str = "", result: tuple | None = None) -> Review:
    """A review of the flag ``key`` (an empty key: of the patient, who must be in ``note``'s
    caller); ``result``: what was shown of the flag: its result's (value, comparator), with
    its grade, severity and series position when known (a :class:`Judged`)."""
    patient_id, rule_id, when, analyte = parse_flag_key(key)
    judged = Judged(*result) if result is not None else Judged(math.nan)
    value, comparator = judged.value, judged.comparator
    return Review(
        patient_id,
        action,
        note,
        rule_id,
        analyte,
        when.to_pydatetime() if when is not None else None,
        value=None if value is None or pd.isna(value) else float(value),
        comparator=comparator or "",
        grade=_int_or_none(judged.grade),
        severity=str(judged.severity or ""),
        seq=_int_or_none(judged.seq),
    )


def _int_or_none(v: object) -> int | None:
    return None if v is None or pd.isna(v) else int(v)  # type: ignore[call-overload]


def results_of(flags: pd.DataFrame) -> dict[str, Judged]:
    """What a review of each flag records, by its key: the result's value and comparator,
    its CTCAE grade, the flag's severity and the result's position in its series."""
    if not len(flags) or "value" not in flags.columns:
        return {}
    n = len(flags)

    def col(name: str, default: object) -> list:
        return flags[name].tolist() if name in flags.columns else [default] * n

    return {
        str(k): Judged(float(v), str(c or ""), _int_or_none(g), str(s or ""), _int_or_none(q))
        for k, v, c, g, s, q in zip(
            flags["flag_key"],
            flags["value"],
            col("comparator", ""),
            col("ctcae_grade", None),
            col("severity", ""),
            col("seq", None),
            strict=True,
        )
    }


def flags_for_review(
    labs: pd.DataFrame,
    doses: pd.DataFrame,
    patients: pd.DataFrame,
    baselines: pd.DataFrame,
    log: pd.DataFrame,
    as_of: dt.date,
    profile: Profile | str | None = None,
) -> pd.DataFrame:
    """The open flags of the rules engine on ``as_of``, each with its latest review,
    unreviewed first (the review list of the panel or of one patient)."""
    flags = review(labs, doses, patients, baselines, profile, as_of).open_flags_df()
    return with_review_status(flags, log, rule_col="rule", as_of=as_of)


def flag_words(flag: object) -> str:
    """A flag in words: when, what was found (analyte, value, the rule as written in the
    guideline) and the source, then its severity.

    ``flag`` is a row of the rules' flags (``itertuples`` or a mapping) with at least
    collected_at, message, source and severity.
    """
    get = flag.get if isinstance(flag, dict) else lambda k, d=None: getattr(flag, k, d)
    when = pd.Timestamp(get("collected_at"))
    day = f"{when.day} {when:%b %Y}" if not pd.isna(when) else "undated"
    source = str(get("source", "") or "")
    return f"{day} · {get('message', '')}" + (f" ({source})" if source else "") + f" · {get('severity', '')}"


def review_words(flag: object) -> str:
    """What the latest review of a flag said, as :func:`review_state` words it ("" for a
    flag never reviewed: a review form's checklist names only what was): "reviewed:
    continue by Dr A on 2026-11-06", or "not reviewed (open again: regraded from G1 to G3
    since the review by ...)" for a flag its review no longer covers (audit8 A8: one
    wording of a flag's review state)."""
    state = review_state(flag)
    return "" if state == "not reviewed" else state


def review_state(flag: object, *, short: bool = False) -> str:
    """A flag's review state in words, the same in every output that lists flags (the
    flagged-results CSV/Excel, the patient summary PDF, the Workspace page's flags tables,
    H476): "reviewed: continue by Dr A on 2026-11-06", then ", after the as-of date" for a
    review made after the date judged and "(after withhold by Dr B on 01 May 2024)" for a
    milder decision that replaced a stronger one; "not reviewed", with "(open again: ...)"
    and why when a review no longer covers the flag.  ``short`` (a narrow column): the
    decision as "continue (Dr A)", followed by the same words.

    ``flag`` is a row of :func:`with_review_status` (``itertuples`` or a mapping)."""
    get = flag.get if isinstance(flag, dict) else lambda k, d=None: getattr(flag, k, d)
    reviewed = get("reviewed", False)
    if reviewed is not None and not pd.isna(reviewed) and bool(reviewed):
        action, by = get("review_action", "") or "", get("reviewed_by", "") or ""
        head = f"{action} ({by})" if short else f"reviewed: {action} by {by}"
        when = get("reviewed_at")
        on = f" on {pd.Timestamp(when):%Y-%m-%d}" if when is not None and not pd.isna(when) else ""
        later = get("reviewed_after_as_of", False)
        after = ", after the as-of date" if later is not None and not pd.isna(later) and bool(later) else ""
        stronger = str(get("review_stronger_before", "") or "")
        return head + on + after + (f" (after {stronger})" if stronger else "")
    lapsed = str(get("review_lapsed", "") or "")
    return "not reviewed" + (f" (open again: {lapsed})" if lapsed else "")


def flag_choices(flags: pd.DataFrame) -> dict[str, str]:
    """What a review can be about: the patient as a whole ("": every open flag) or one
    of its flags, each named in words."""
    labels = []
    for r in flags.itertuples(index=False):
        done = review_words(r)
        labels.append(flag_words(r) + (f" ({done})" if done else ""))
    return {"": "The patient as a whole (every open flag)"} | dict(zip(flags["flag_key"], labels, strict=True))


def reviews_for(
    patient_id: str,
    flag_keys: list[str],
    action: str,
    note: str = "",
    results: dict[str, Judged] | dict[str, tuple[float, str]] | None = None,
) -> list[Review]:
    """The entries one review makes: one per flag acknowledged, so that each flag is
    acknowledged by name and a later result (a new flag) is open again; a patient with
    no open flag gets one entry about the patient as a whole.  ``results``: what was shown
    of each flag by key (:func:`results_of`), recorded with each entry."""
    if not flag_keys:
        return [Review(patient_id=patient_id, action=action, note=note)]
    shown: dict = dict(results or {})
    return [review_of(k, action, note, shown.get(k)) for k in flag_keys]


def not_as_shown(shown: dict[str, Judged], now: dict[str, Judged]) -> tuple[list[str], list[str]]:
    """What the workspace judges otherwise than a review form showed, per flag ticked
    (``shown``: the form's :func:`results_of`; ``now``: the workspace's, after a session's
    panel was saved into it, H475): (differences that change the finding: the flag is no
    longer open, its result reads another value, or it is judged worse or milder; earlier
    results of the test the form's series did not hold), each in words.

    A review is recorded on what was shown: the first kind is never recorded (the clinician
    reviews the workspace's flags again), the second is said with it."""
    changed: list[str] = []
    more: list[str] = []
    for key, was in shown.items():
        _, rule, when, analyte = parse_flag_key(key)
        what = f"{model.analyte_label(analyte)} of {when.day} {when:%b %Y}" if when is not None else analyte
        held = now.get(key)
        if held is None:
            changed.append(f"{what} ({rule}): this flag is not open in the workspace")
            continue
        both_nan = math.isnan(held.value) and math.isnan(was.value)
        same = both_nan or math.isclose(held.value, was.value, rel_tol=1e-9, abs_tol=1e-12)
        if not (same and held.comparator == was.comparator):
            changed.append(
                f"{what}: the workspace holds {held.comparator}{held.value:g}, the form showed "
                f"{was.comparator}{was.value:g}"
            )
        elif _int_or_none(held.grade) != _int_or_none(was.grade) or held.severity != was.severity:
            changed.append(
                f"{what} ({rule}): judged {_judgement(_int_or_none(held.grade), held.severity)} in the workspace, "
                f"{_judgement(_int_or_none(was.grade), was.severity)} in the form"
            )
        elif held.seq is not None and was.seq is not None and held.seq > was.seq:
            n = held.seq - was.seq
            said = f"{what}: the workspace holds {n} earlier result{'s' if n != 1 else ''} of this test the form did not show"
            more.append(said)
    return list(dict.fromkeys(changed)), list(dict.fromkeys(more))


def validate(review: Review, reviewer: str) -> list[str]:
    """Errors that block recording a review."""
    errors = []
    if not review.patient_id:
        errors.append("choose a patient")
    if review.action not in ACTIONS:
        errors.append(f"choose an action: {', '.join(ACTIONS)}")
    if not reviewer.strip():
        errors.append("enter your name as the reviewer")
    if review.rule_id and review.collected_at is None:
        errors.append("a flag review needs the flag's collection time")
    if review.action in ("reduce", "withhold", "stop", "referred") and not review.note.strip():
        errors.append(f"add a note saying what was done ('{review.action}' needs one)")
    return errors


def empty_log() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype="object") for c in COLUMNS})


def latest(log: pd.DataFrame) -> pd.DataFrame:
    """The entry in force for each (patient, flag key): the most recent one."""
    if log.empty:
        return log
    ordered = log.sort_values(["reviewed_at", "review_id"])
    return ordered.drop_duplicates(["patient_id", "flag_key"], keep="last").reset_index(drop=True)


def with_review_status(
    flags: pd.DataFrame,
    log: pd.DataFrame,
    *,
    rule_col: str = "rule_id",
    when_col: str = "collected_at",
    as_of: dt.date | None = None,
) -> pd.DataFrame:
    """``flags`` with the latest review of each (``reviewed``, ``review_action``,
    ``reviewed_by``, ``reviewed_at``), unreviewed first, then newest first.

    ``review_lapsed`` says, for a flag whose latest review no longer covers it, why
    ("regraded from G1 (info) to G3 (action) since the review by Dr A on 1 May 2024");
    "" otherwise.  With ``as_of``, ``reviewed_after_as_of`` says which reviews were made
    after the date judged (an audit at a past date shows them, and says so)."""
    out = flags.copy()
    keys = [
        flag_key(p, r, w, a)
        for p, r, w, a in zip(out["patient_id"], out[rule_col], out[when_col], out["analyte"], strict=True)
    ]
    out["flag_key"] = keys
    current = latest(log[log["flag_key"] != ""]) if not log.empty else log
    by_key = pd.DataFrame() if current.empty else current.set_index("flag_key")
    lapses = [
        _lapse(by_key.loc[k], flag) if k in by_key.index else None for k, flag in zip(keys, _results(out), strict=True)
    ]
    has = [k in by_key.index and lapse is None for k, lapse in zip(keys, lapses, strict=True)]
    out["reviewed"] = has
    out["review_lapsed"] = [lapse or "" for lapse in lapses]
    out["review_action"] = [by_key.loc[k, "action"] if h else "" for k, h in zip(keys, has, strict=True)]
    out["reviewed_by"] = [by_key.loc[k, "reviewer"] if h else "" for k, h in zip(keys, has, strict=True)]
    out["reviewed_at"] = [by_key.loc[k, "reviewed_at"] if h else pd.NaT for k, h in zip(keys, has, strict=True)]
    stronger = _stronger_before(log, current)
    out["review_stronger_before"] = [stronger.get(k, "") if h else "" for k, h in zip(keys, has, strict=True)]
    if as_of is not None:
        end = pd.Timestamp(as_of) + pd.Timedelta(days=1)
        out["reviewed_after_as_of"] = [bool(pd.notna(t) and pd.Timestamp(t) >= end) for t in out["reviewed_at"]]
    return out.sort_values(["reviewed", when_col], ascending=[True, False], kind="stable").reset_index(drop=True)


def _stronger_before(log: pd.DataFrame, current: pd.DataFrame) -> dict[str, str]:
    """Per flag key whose entry in force is milder than an earlier one that no entry
    corrected ("continue" by Dr B after "withhold" by Dr A): that earlier decision in words
    ("withhold by Dr A on 1 May 2024").  The milder, later one holds; the stronger one is
    said beside it so that it is never out of sight (probe 6)."""
    if log.empty or current.empty or "action" not in log:
        return {}
    corrected = {int(c) for c in log["corrects"].dropna()} if "corrects" in log else set()
    out: dict[str, str] = {}
    now = current.set_index("flag_key")
    for key, entries in log[log["flag_key"] != ""].groupby("flag_key", sort=False):
        if key not in now.index or len(entries) < 2:
            continue
        held = now.loc[key]
        rank = ACTION_STRENGTH.get(str(held["action"]), 0)
        earlier = entries[
            (entries["review_id"] != held["review_id"])
            & (~entries["review_id"].isin(corrected))
            & (entries["action"].map(lambda a: ACTION_STRENGTH.get(str(a), 0)) > rank)
        ]
        if len(earlier):
            top = earlier.assign(_s=earlier["action"].map(lambda a: ACTION_STRENGTH.get(str(a), 0)))
            top = top.sort_values(["_s", "reviewed_at"]).iloc[-1]
            when = pd.Timestamp(top["reviewed_at"])
            out[str(key)] = f"{top['action']} by {top['reviewer']} on {when:%d %b %Y}"
    return out


#: Decisions that change a dose: after one, the dose record should show the change.
DOSE_DECISIONS: tuple[str, ...] = ("reduce", "withhold", "stop")


def decisions_not_in_doses(log: pd.DataFrame, doses: pd.DataFrame, patient_id: str, as_of: dt.date) -> list[str]:
    """The patient's decisions in force to reduce, withhold or stop that the dose record
    does not show: a monitored drug (an immunosuppressant) still in force on ``as_of`` at a
    dose that began before the decision.  In words, one per decision ("'withhold' by Dr A
    on 01 May 2024, but the dose record still shows Azathioprine 150 mg/day since ...").
    The review holds either way: the dose checks and the timeline read the dose record,
    so the clinician is asked to record the change there.

    No dose in force (the drug ended as decided, H320) says nothing.  A decision made after
    the as-of date (an audit of a past day) is judged on the doses of its own day, when
    the change could first show, and is named as made after the as-of date."""
    if log.empty or doses.empty:
        return []
    mine = latest(log[log["patient_id"] == patient_id])
    decided = mine[mine["action"].isin(DOSE_DECISIONS)]
    if decided.empty:
        return []
    info = model.drug_info()
    theirs = doses[doses["patient_id"] == patient_id]
    monitored = theirs[
        theirs["drug"].map(lambda d: d in info and info[d].tracked_for == "immunosuppressant").astype(bool)
    ]
    if monitored.empty:
        return []
    as_of_day = pd.Timestamp(as_of).normalize()
    # a decision rests on the results it was about: one made only about results the lab
    # withdrew since is said as such, never as a current decision (probe44 F3, H620)
    gone = (
        decided["withdrawn_at"] if "withdrawn_at" in decided else pd.Series([None] * len(decided), index=decided.index)
    )
    unread = (
        decided["unread_reason"]
        if "unread_reason" in decided
        else pd.Series([None] * len(decided), index=decided.index)
    )
    decided = decided.assign(gone_at=gone, unread_why=unread)
    withdrawn: dict[tuple, list[object]] = {}
    no_longer_read: dict[tuple, list[str]] = {}  # a re-read of the file no longer reads it (H643)
    for r in decided.itertuples(index=False):
        withdrawn.setdefault((r.action, r.reviewer, pd.Timestamp(r.reviewed_at)), []).append(r.gone_at)
        no_longer_read.setdefault((r.action, r.reviewer, pd.Timestamp(r.reviewed_at)), []).append(
            _unread({"unread_reason": r.unread_why})
        )
    out: list[str] = []
    for r in decided.sort_values("reviewed_at").itertuples(index=False):
        when = pd.Timestamp(r.reviewed_at)
        later = when.normalize() > as_of_day
        live = model.doses_in_force(monitored, when.normalize() if later else as_of_day)
        # a dose row that began on the day of the decision or later is the change recorded
        unchanged = live[pd.to_datetime(live["start"]).dt.normalize() < when.normalize()]
        if unchanged.empty:
            continue
        shown = "; ".join(
            f"{model.drug_label(d.drug)} since {pd.Timestamp(d.start):%d %b %Y}" for d in unchanged.itertuples()
        )
        made = f"{when:%d %b %Y} (after the as-of date)" if later else f"{when:%d %b %Y}"
        pulled = withdrawn[(r.action, r.reviewer, when)]
        unread_ = no_longer_read[(r.action, r.reviewer, when)]
        if any(unread_) and all((g is not None and not pd.isna(g)) or u for g, u in zip(pulled, unread_, strict=True)):
            said = next(u for u in unread_ if u)
            out.append(
                f"'{r.action}' recorded by {r.reviewer} on {made} about a result since gone ({said}): the dose "
                f"record still shows {shown} in force; check whether the decision stands, and if the change was "
                "made, record it in the dose record"
            )
            continue
        if all(g is not None and not pd.isna(g) for g in pulled):
            last = max(pd.Timestamp(g) for g in pulled)
            out.append(
                f"'{r.action}' recorded by {r.reviewer} on {made} about a result since withdrawn "
                f"({withdrawn_words(last)}): the dose record still shows {shown} in force; check whether "
                "the decision stands, and if the change was made, record it in the dose record"
            )
            continue
        out.append(
            f"'{r.action}' recorded by {r.reviewer} on {made}, but the dose record still shows {shown} "
            "in force: if the change was made, record it in the dose record (the dose checks and the timeline read it)"
        )
    return list(dict.fromkeys(out))


def last_review_withdrawn(log: pd.DataFrame) -> dict[str, str]:
    """Per patient whose last review (the latest decision: its entries recorded together)
    was about results the lab has since withdrawn: that in words, as :func:`withdrawn_words`
    ("result withdrawn by the lab on 25 Nov 2026: no longer graded"), or "2 of 3 results
    reviewed withdrawn by the lab ..." when only some were (probe44 F4, H621)."""
    if log.empty or "withdrawn_at" not in log:
        return {}
    out: dict[str, str] = {}
    for pid, mine in log.groupby("patient_id", sort=False):
        top = mine.sort_values(["reviewed_at", "review_id"]).iloc[-1]
        same = mine[
            (mine["reviewed_at"] == top["reviewed_at"])
            & (mine["reviewer"] == top["reviewer"])
            & (mine["action"] == top["action"])
            & (mine["flag_key"] != "")
        ]
        pulled = same["withdrawn_at"].map(lambda g: g is not None and not pd.isna(g)).astype(bool)
        if "unread_reason" in same:  # its result no longer read from its file (H643), said alike
            unread = same["unread_reason"].map(lambda u: _unread({"unread_reason": u})).astype(str)
            if (unread != "").any() and ((unread != "") | pulled).all():
                out[str(pid)] = next(u for u in unread if u)
                continue
        if not pulled.any():
            continue
        last = max(pd.Timestamp(g) for g in same.loc[pulled, "withdrawn_at"])
        if pulled.all():
            out[str(pid)] = withdrawn_words(last)
            continue
        # counted by result: a result's flags (CTCAE and guideline) are one result reviewed
        results = set(zip(same["analyte"], same["collected_at"], strict=True))
        gone = set(zip(same.loc[pulled, "analyte"], same.loc[pulled, "collected_at"], strict=True))
        n, of = len(gone), len(results)
        out[str(pid)] = f"{n} of {of} results reviewed withdrawn by the lab{_on(last)}: no longer graded"
    return out


def unread_words(reason: object) -> str:
    """A review of a result a re-read of its file no longer reads (H643), in the one wording
    of every output that shows the review, beside :func:`withdrawn_words`: "its result is no
    longer read from the file: today's reader rejects labs.csv row 4: ..."."""
    return f"its result is no longer read from the file: {reason}"


def _unread(entry: Any) -> str:
    """:func:`unread_words` for a log entry whose result a re-read took out, else ""."""
    reason = entry.get("unread_reason") if hasattr(entry, "get") else None
    if reason is None or (not isinstance(reason, str) and pd.isna(reason)) or not str(reason):
        return ""
    return unread_words(reason)


def gone_words(withdrawn: object, unread_reason: object) -> str:
    """Why the result of a review entry is no longer graded, in words ("" while it is):
    withdrawn by the lab (H532) or no longer read from its file (H643)."""
    if withdrawn is not None and not pd.isna(withdrawn):
        return withdrawn_words(withdrawn)
    return _unread({"unread_reason": unread_reason})


def withdrawn_words(when: object) -> str:
    """A review of a result the lab withdrew, in the one wording of every output that shows
    the review (the review log, the PDF's review history, the workbook's Reviews sheet, the
    Patient page's decisions, the panel export): "result withdrawn by the lab on 25 Nov
    2026: no longer graded" (H532, H620)."""
    return f"result withdrawn by the lab{_on(when)}: no longer graded"


class _Flag(NamedTuple):
    """What the coverage of a review is judged on, per flag."""

    value: float
    comparator: str
    conflict: bool
    grade: int | None
    severity: str
    seq: int | None
    #: the flag's message now ("" where the frame does not say): why a severity changed at
    #: the same grade, where the flag says it (H624)
    message: str = ""


def _results(flags: pd.DataFrame) -> list[_Flag]:
    """Per flag: its value, comparator, whether its draw holds conflicting results, its
    grade, severity and series position (NaN, "", False or None where the frame does not say)."""
    n = len(flags)
    value = flags["value"].astype("float64").tolist() if "value" in flags.columns else [math.nan] * n
    comparator = [str(c or "") for c in flags["comparator"]] if "comparator" in flags.columns else [""] * n
    conflict = (
        [isinstance(c, str) and c != "" for c in flags["conflict"]] if "conflict" in flags.columns else [False] * n
    )
    grade = [_int_or_none(g) for g in flags["ctcae_grade"]] if "ctcae_grade" in flags.columns else [None] * n
    severity = [str(s or "") for s in flags["severity"]] if "severity" in flags.columns else [""] * n
    seq = [_int_or_none(q) for q in flags["seq"]] if "seq" in flags.columns else [None] * n
    message = [str(m or "") for m in flags["message"]] if "message" in flags.columns else [""] * n
    return [_Flag(*t) for t in zip(value, comparator, conflict, grade, severity, seq, message, strict=True)]


def _lapse(entry: pd.Series, flag: _Flag) -> str | None:
    """None when a review entry covers the flag; else why not, in words ("" when there is
    nothing more to say).  It covers the same value and comparator (a lab's amended result
    of the draw is another finding; an entry without a value, from before values were
    recorded, only while the draw holds no conflicting results and no correction imported
    since, H322), judged no worse than it was (CTCAE grade, severity), with no result of
    the test dated before the draw arrived since (an entry from before judgements were
    recorded: as before)."""
    by = f" since the review by {entry.get('reviewer', '')}{_on(entry.get('reviewed_at'))}"
    withdrawn = entry.get("withdrawn_at")
    if withdrawn is not None and not pd.isna(withdrawn):  # the result reviewed is gone (H532)
        return f"the lab withdrew the result reviewed{_on(withdrawn)}, after the review by {entry.get('reviewer', '')}"
    unread = _unread(entry)
    if unread:  # a re-read of its file no longer reads it (H643)
        return f"{unread}, after the review by {entry.get('reviewer', '')}"
    reviewed = entry.get("value")
    if reviewed is None or pd.isna(reviewed):
        if flag.conflict:
            return "the draw now holds another result" + by
        corrected = entry.get("corrected_at")
        if corrected is not None and not pd.isna(corrected) and not math.isnan(flag.value):
            return f"the result now reads {flag.comparator}{flag.value:g}" + by  # a correction since (H322)
    elif not math.isnan(flag.value) and not (
        math.isclose(float(reviewed), flag.value, rel_tol=1e-9, abs_tol=1e-12)
        and str(entry.get("comparator") or "") == flag.comparator
    ):
        return f"the result now reads {flag.comparator}{flag.value:g}" + by
    severity = entry.get("severity")
    if isinstance(severity, str) and severity:  # the entry recorded its judgement (schema 6)
        was_grade, now_grade = _int_or_none(entry.get("grade")), flag.grade
        worse_grade = now_grade is not None and now_grade > (was_grade or 0)
        worse_severity = SEVERITY_RANK.get(flag.severity, 0) > SEVERITY_RANK.get(severity, 0)
        if worse_grade:
            was = _judgement(was_grade, severity)
            now = _judgement(now_grade, flag.severity)
            return f"regraded from {was} to {now}" + by
        if worse_severity:  # the same value, no higher grade: only the severity rose (probe44 F5, H624)
            return _severity_changed(severity, was_grade, flag) + by
    arrived = _arrived(entry, flag) if isinstance(severity, str) and severity else 0
    corrected = _earlier_corrected(entry)
    said = [f"{arrived} earlier result{'s' if arrived != 1 else ''} of this test arrived"] if arrived else []
    if corrected:
        said.append(corrected)
    return " and ".join(said) + by if said else None


def _severity_changed(was: str, was_grade: int | None, flag: _Flag) -> str:
    """A severity raised with no higher grade, in words: "severity changed from caution to
    action (grade G2 unchanged; no monitored drug is recorded at this result now)".  Never
    "regraded": the grade did not change.  Why is said where the flag says it (its
    no-monitored-drug caveat: the doses in force changed, H561); else the review does not
    know which of the profile, the rules or the doses in force judges it otherwise now, and
    says so rather than naming one."""

    def g(x: int | None) -> str:
        return "ungraded" if x is None else f"G{x}"

    if flag.grade is None and was_grade is None:
        grade = ""
    elif flag.grade == was_grade:
        grade = f"grade {g(flag.grade)} unchanged"
    else:
        grade = f"grade now {g(flag.grade)}, was {g(was_grade)}"
    if caveat("no_monitored_drug") in flag.message:
        why = "no monitored drug is recorded at this result now"
    else:
        why = "the profile, the rules or the doses in force judge it otherwise now"
    said = "; ".join(x for x in (grade, why) if x)
    return f"severity changed from {was} to {flag.severity or 'no severity'}" + (f" ({said})" if said else "")


def _arrived(entry: pd.Series, flag: _Flag) -> int:
    """How many results of the test dated before the reviewed draw arrived since the entry:
    as the workspace's log counts them (stored by an import after the entry, H475), else
    by the series position the entry recorded (its series may be a session's, which a
    workspace's fuller series would outnumber at once)."""
    since = entry.get("earlier_since")
    if since is not None and not pd.isna(since):
        return int(since)
    was_seq = _int_or_none(entry.get("seq"))
    if was_seq is not None and flag.seq is not None and flag.seq > was_seq:
        return flag.seq - was_seq
    return 0


def _earlier_corrected(entry: pd.Series) -> str:
    """The earlier draws of the test whose result a correction replaced since the entry,
    in words ("the 1 Oct 2026 result of this test was corrected to 0.3"); "" when none
    (H474): a correction swaps one result for another, so no count of the series shows it."""
    n = entry.get("earlier_corrected")
    if n is None or pd.isna(n) or int(n) <= 0:
        return ""
    draw = entry.get("earlier_corrected_draw")
    value = entry.get("earlier_corrected_value")
    comparator = str(entry.get("earlier_corrected_comparator") or "")
    to = "" if value is None or pd.isna(value) else f" to {comparator}{float(value):g}"
    day = "" if draw is None or pd.isna(draw) else f"{pd.Timestamp(draw).day} {pd.Timestamp(draw):%b %Y}"
    if int(n) == 1:
        return (f"the {day} result" if day else "an earlier result") + f" of this test was corrected{to}"
    latest = f" (the latest, of {day}{',' + to if to else ''})" if day else ""
    return f"{int(n)} earlier results of this test were corrected{latest}"


def _judgement(grade: int | None, severity: str) -> str:
    """ "G3 (action)", "ungraded (caution)"."""
    return f"{'G' + str(grade) if grade is not None else 'ungraded'} ({severity or 'no severity'})"


def _on(when: object) -> str:
    if when is None or pd.isna(when):
        return ""
    t = pd.Timestamp(when)
    return f" on {t.day} {t:%b %Y}"


def unacknowledged(flags_with_status: pd.DataFrame) -> pd.DataFrame:
    """Only the flags nobody has reviewed yet (the panel's "hide acknowledged")."""
    return flags_with_status[~flags_with_status["reviewed"]].reset_index(drop=True)


def history_frame(log: pd.DataFrame) -> pd.DataFrame:
    """The audit trail for display: every entry, newest first, corrections named."""
    if log.empty:
        return pd.DataFrame(columns=["#", "When", "Reviewer", "About", "Action", "Note", "Corrects"])
    log = log.sort_values(["reviewed_at", "review_id"], ascending=False)
    gone = log["withdrawn_at"] if "withdrawn_at" in log else pd.Series([None] * len(log), index=log.index)
    unread = log["unread_reason"] if "unread_reason" in log else pd.Series([None] * len(log), index=log.index)
    about = [
        "patient"
        if not k
        else f"{r} · {a} · {pd.Timestamp(w):%Y-%m-%d}" + (f" ({gone_words(g, u)})" if gone_words(g, u) else "")
        for k, r, a, w, g, u in zip(
            log["flag_key"], log["rule_id"], log["analyte"], log["collected_at"], gone, unread, strict=True
        )
    ]
    return pd.DataFrame(
        {
            "#": log["review_id"].astype("int64").to_numpy(),
            "When": pd.to_datetime(log["reviewed_at"]).dt.strftime("%Y-%m-%d %H:%M").to_numpy(),
            "Reviewer": log["reviewer"].to_numpy(),
            "About": about,
            "Action": log["action"].to_numpy(),
            "Note": log["note"].to_numpy(),
            "Corrects": [f"#{int(c)}" if pd.notna(c) else "" for c in log["corrects"]],
        }
    )
