"""Clinical rules: CTCAE grades, guideline action limits, trends, schedule and dose checks.

Entry point::

    from dashboard.rules import review, review_dataset
    rv = review_dataset(ds, profile="BSR 2025", as_of=date)          # app (pandas)
    rv = review(labs, doses, patients, baselines, profile, as_of)      # Arrow or pandas
    rv.flags_df(); rv.summary_df(); rv.schedule_df(); rv.dose_checks_df(); rv.intervals_df()

``rv.flags``, ``rv.summary``, ``rv.schedule`` and ``rv.dose_checks`` are Arrow tables
(the CLI never imports pandas); the ``*_df`` methods give pandas frames with text as
``str``, times as ``datetime64[s]`` and nullable integers as ``Int8``/``Int64``.
``rv.for_patient(pid)`` restricts every table to one patient.  ``profile`` is a name
("BSR 2025", the default; "BSR 2017 / NICE" for old audits; "CTCAE only"; a saved user
profile), a profile file
path or a :class:`~dashboard.rules.engine.Profile`.  ``as_of`` is the review date:
results and doses after it are not reviewed (the results are counted and listed in
``rv.after_as_of``, never dropped silently); the schedule and the open/closed status are
judged on it.  Thresholds, drug facts and citations live in ``dashboard/rules/data/``.

Severities, least to most severe: ``info``, ``caution``, ``action``, ``urgent``.

Flags table (``rv.flags``; one row per result and rule that fired)
-------------------------------------------------------------------
Sorted by patient_id, collected_at, analyte, then kind (ctcae, guideline, trend) and rule.

==========================  =============  ==========================================================
patient_id                  string         Patient identifier.
collected_at                timestamp[s]   When the flagged result was collected.
analyte                     string         Analyte id (model.ANALYTES).
value                       float64        Result in the canonical unit (a censored result: its bound).
unit                        string         Canonical unit of the analyte.
comparator                  string         '<' or '>' for a censored result, '<=' or '>=' when the
                                           bound itself is possible, else ''.
source_value                string         The result exactly as the lab wrote it (never hidden).
source_unit                 string         The unit exactly as the lab wrote it.
ctcae_grade                 int8, null     CTCAE v5.0 grade of this result (0-4) on every flag of the
                                           result; null when the analyte has no CTCAE term.
ctcae_grade_or_worse        bool           The grade may be worse: the result is censored towards it
                                           and the term has a more severe grade ("<=50" platelets:
                                           grade 2 or worse); every output says "2 or worse".
rule                        string         Rule id: 'ctcae.<analyte>', 'bsr.wbc_low', 'local.lymphocytes_low',
                                           'trend.consecutive_falls', 'trend.baseline_fall' ...
kind                        string         'ctcae', 'guideline' or 'trend'.
threshold                   float64        The limit crossed, in the canonical unit (CTCAE: the cut of the
                                           grade; Hb in mmol/L: the mmol/L cut converted); NaN for trends.
severity                    string         From the rule (CTCAE: by grade); 'info' when at_baseline.
message                     string         The finding in words: value, limit, advice.
source                      string         'CTCAE v5.0 [nci_ctcae5]', 'BSR 2017 [bsr2017] as restated by SPS [sps_ssz]', ... ([id]: references.toml) or the user profile.
baseline                    float64        Reference the rule compared with (patient baseline, lowest
                                           creatinine of 12 months); NaN if none.
baseline_basis              string         How that reference was obtained, in words.
at_baseline                 bool           Low count within the patient's clinician-set baseline (e.g.
                                           Duffy-null): kept and shown, severity info, not in urgency.
caveat                      string         SLE / glucocorticoid / MCV-on-thiopurine or methotrexate note, else ''.
conflict                    string         The draw's different results of the analyte (same patient and
                                           time), "1.2 and 0.4 ×10⁹/L (the more severe, 0.4, counts)";
                                           '' when none. The more severe counts for the current grade,
                                           urgency and open flags, whatever the file order.
active_doses                string         Doses in force when the blood was taken ("Azathioprine 150
                                           mg/day (2.50 mg/kg/day); Prednisolone 10 mg/day").
active_drugs                string         Their generic names, ';'-separated.
days_since_dose_change      int64, null    Days since the last start/change/stop of an immunosuppressant
                                           or interacting drug (allopurinol, febuxostat).
after_increase              bool           Within 12 weeks (84 days) of a dose increase or a start.
last_increase               timestamp[s]   That increase or start (NaT if none).
days_since_pulse            int64, null    Days since the last pulse of a pulsed drug (IV CYC), <= 42.
dose_context                string         All of the dose context in words: 'none recorded' only when
                                           the patient has no dose at all; 'no dose in force (Azathioprine
                                           150 mg/day ended 2024-03-01, 4 d before)'; days since the last
                                           change; an increase or start within 12 weeks, with its date.
status                      string         'open' when on the latest result of the analyte up to the
                                           review date, else 'closed'.
episode_start               timestamp[s]   First result of the run of consecutive draws the rule fired on:
                                           a persistent state is one episode, "open since" this date.
episode_results             int64          Draws in that episode up to this flag.
next_collected_at           timestamp[s]   Next result of the same analyte: where the flag's interval
                                           ends (NaT while open).
seq                         int64          Position of the result in the patient's series of the analyte.
lab_row                     int64          Row of the labs table given to review().
==========================  =============  ==========================================================

Summary table (``rv.summary``; one row per patient, most urgent first)
-------------------------------------------------------------------------
==========================  =============  ==========================================================
patient_id                  string         Patient identifier.
urgency_rank                int64          1 = most urgent (ties by patient id): the Panel's order.
urgency_score               int64          100 x top severity rank of the open items + 10 x top current
                                           CTCAE grade + number of open items (at most 9).  Open items:
                                           open flags (not at_baseline), overdue tests, open dose checks.
urgency                     string         Severity of the most severe open item ('' if none).
headline                    string         Message of the most severe open item.
max_ctcae_grade             int8, null     Highest grade among the latest results.
ctcae_<analyte>             int8, null     Grade of the latest result of wbc, neutrophils, lymphocytes,
                                           hemoglobin, platelets, alt, ast ("worst current grade").
open_ctcae                  int64          Open CTCAE flags.
open_guideline              int64          Open guideline-limit flags.
open_guideline_rules        string         Their rule ids, '; '-separated.
open_trend                  int64          Open trend flags.
open_trend_rules            string         Their rule ids, '; '-separated.
flags_total                 int64          All flags, open or closed.
next_test_due               timestamp[s]   The due date of the patient's lead blood-test row: the most
                                           overdue one (its due_by, so that it and days_overdue agree),
                                           else the earliest next_due.  Items graded info when overdue
                                           (blood pressure) never give it: they are listed in the
                                           schedule table on their own (NaT if no row).
overdue                     bool           The lead row is overdue.
days_overdue                int64          Days the lead row is overdue (0 if none).
dose_checks_open            int64          Open dose-check findings above 'info'.
dose_check_rules            string         Rule ids of the open dose checks, '; '-separated.
last_result                 timestamp[s]   Latest result of any analyte.
current_doses               string         Doses in force on the review date.
recorded_drugs              string         Drugs the review records on that date, ';'-separated: in
                                           force, or monitored and within its window after the last
                                           dose (rules.toml [recorded_after_last_dose]).
recent_doses                string         Those among them not in force, with their last dose and
                                           its end ("Rituximab 1000 mg once, ended 2026-06-02").
results_after_as_of         int64          Results dated after the review date: not reviewed, listed in
                                           ``rv.after_as_of`` (never dropped silently).
worst_grade_after_as_of     int8, null     Highest CTCAE grade among them.
max_ctcae_grade_or_worse    bool           max_ctcae_grade may be worse: a latest result censored
                                           towards its grade may lie beyond it ("<=50" platelets:
                                           grade 2 or worse).
grades_or_worse             string         The analytes whose ctcae_<analyte> may be worse,
                                           ';'-separated ('' when none).
==========================  =============  ==========================================================

Results after the as-of date (``rv.after_as_of``; one row per result dated after ``as_of``)
--------------------------------------------------------------------------------------------
patient_id, collected_at, analyte, value, unit, comparator, source_value, source_unit,
ctcae_grade (its grade, for information), ctcae_grade_or_worse, lab_row.  ``rv.as_of_note`` says why the review
is as of its date when that is not today (an extract date; the last result when every
result lies after today: :mod:`dashboard.rules.as_of`).

Schedule table (``rv.schedule``; one row per patient and drug with a blood-test schedule in force)
---------------------------------------------------------------------------------------------------
A drug whose course is recorded to start after the review date has a row too, its
course_start that start and its first tests due from it (never overdue before it); a
course that ends as recorded before its next test keeps its next_due (a recorded end may be
one order's end), its message says the end beside it (H568).
patient_id, drug, schedule (id in schedule.toml), description, course_start,
last_increase (NaT if none), last_test (NaT if none), interval_days (0 for pulses),
next_due, due_by (the last day the test is on time: next_due, or the end of the nadir
window after a pulse; days_overdue counts from it), overdue (bool), days_overdue,
severity ('' unless overdue: caution, or action
when late by more than the interval), message, source, tests_due (the test groups of the
check that are due, e.g. 'full blood count; creatinine/eGFR'), interval_basis ('schedule',
'patient' for the clinician-set risk-adapted interval under BSR 2025, 'combination' while
a drug combination keeps it short (methotrexate with leflunomide; azathioprine or mercaptopurine with allopurinol), 'repeat' when a
guideline's repeat test brought it forward (eGFR < 60 or a creatinine rise: repeat in 1
week), or 'pulse'), due_groups (each group named in tests_due with its own dates: a list
of {tests, last, due, days_overdue}; a group never recorded since the course began has
last null and does not hide the others: next_due is the earliest due, days_overdue the
worst).

Dose-check table (``rv.dose_checks``; one row per finding)
-----------------------------------------------------------
patient_id, drug, with_drug ('' unless an interaction), rule (id in dose_checks.toml, or
'dose.not_checkable' when weight or daily dose is unknown), kind ('dose'), start, end
(NaT = ongoing; for an interaction the overlap), value and value_unit ('mg/kg/day',
'mg/day', 'mg/week', 'g' (cumulative dose), '% of normal dose', '% of previous dose' or ''), threshold (in value_unit), severity,
message, source, status ('open' when in force on the review date).

Intervals (``rv.intervals_df()`` / ``summary.intervals(rv.flags)``; timeline shading)
--------------------------------------------------------------------------------------
patient_id, analyte, rule, kind, start (first flagged result of the episode), end (first
later result the rule did not fire on; NaT while open), results, max_ctcae_grade,
severity (most severe), status.

JSON review (``python -m dashboard review --json``)
----------------------------------------------------
``{"import": <import report>, "review": {as_of, profile, profile_based_on, data_versions,
patients, flags, open_flags, as_of_note, results_after_as_of, last_result_after_as_of},
"patients": [...]}``; each patient has the summary fields, ``worst_ctcae_grade``
({analyte: int}), ``worst_ctcae_grade_or_worse`` (the analytes among them whose grade may be
worse: ["platelets"] for "<=50"), ``other_ids`` (sentences naming another id of the panel
that may be the same person, H150; [] for most), ``flags`` (the flag columns of ``output.JSON_FLAG_FIELDS``; times ISO
text, NaN as null), ``schedule``, ``dose_checks`` and ``after_as_of`` (its results dated
after the as-of date).
"""

from dashboard.rules.engine import DEFAULT_PROFILE, Profile, RuleError, available_profiles, get_profile
from dashboard.rules.review import Review, review, review_dataset

__all__ = [
    "DEFAULT_PROFILE",
    "Profile",
    "Review",
    "RuleError",
    "available_profiles",
    "get_profile",
    "review",
    "review_dataset",
]
