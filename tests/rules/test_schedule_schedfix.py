"""The probe32 findings fixed (branch schedfix): what completes a full blood count, a weekly
drug's next row a week later, daily oral cyclophosphamide after IV pulses, the interval that
set the due date, "1 day".

Every expected date is counted by hand from the schedules ``schedule.toml`` cites (BSR 2017
via NICE CKS: every 2 weeks until the dose has been stable for 6 weeks, monthly (30 days)
for 3 months, then every 12 weeks (84 days); PNDS Box 6 for daily oral cyclophosphamide:
every 2 weeks for the first 3 months, then monthly), written before the code was run.
"""

from __future__ import annotations

import pandas as pd

from tests.rules.builders import dose, full_check, lab, run

MTX_2022 = [dose("P1", "methotrexate", "2022-01-01", amount=15, frequency="weekly")]


def _blood(rv, sched: str | None = None) -> pd.Series:
    df = rv.schedule_df()
    df = df[~df["schedule"].str.startswith("bp_")]
    if sched is not None:
        df = df[df["schedule"] == sched]
    assert len(df) == 1, df
    return df.iloc[0]


def _ts(day: str) -> pd.Timestamp:
    return pd.Timestamp(day)


def _others(pid: str, when: str) -> list[dict]:
    """The rest of a monitoring check (creatinine, ALT, albumin): no count."""
    return [r for r in full_check(pid, when) if r["analyte"] in ("creatinine", "alt", "albumin")]


# --------------------------------------------------------------------------- F1


def test_a_neutrophil_count_alone_is_not_a_full_blood_count():
    """Full check 2024-01-10 (next due 2024-04-03); on 2024-04-01 a neutrophil count and the
    rest of the check, no WBC, no platelets.  The FBC is still due 2024-04-03: 2 days late on
    2024-04-05, and the other groups are done (due 2024-04-01 + 84 = 2024-06-24)."""
    labs = [*full_check("P1", "2024-01-10"), lab("P1", "2024-04-01", "neutrophils", 4.0), *_others("P1", "2024-04-01")]
    row = _blood(run(labs, MTX_2022, as_of="2024-04-05"))
    assert row["tests_due"] == "full blood count"
    assert row["next_due"] == _ts("2024-04-03") and row["days_overdue"] == 2
    assert row["last_test"] == _ts("2024-01-10")  # the last complete check


def test_a_white_count_marks_a_full_blood_count_whatever_else_the_export_carries():
    """A WBC on 2024-04-01 (the export carries no platelets or differential that day) with
    the rest of the check: a WBC is only ever reported in a full blood count, so the check of
    2024-04-01 is complete: next due 2024-04-01 + 84 = 2024-06-24, nothing late on 04-05."""
    labs = [*full_check("P1", "2024-01-10"), lab("P1", "2024-04-01", "wbc", 6.0), *_others("P1", "2024-04-01")]
    row = _blood(run(labs, MTX_2022, as_of="2024-04-05"))
    assert row["last_test"] == _ts("2024-04-01")
    assert row["next_due"] == _ts("2024-06-24") and not bool(row["overdue"])


def test_platelets_and_neutrophils_without_a_white_count_are_not_a_full_blood_count():
    labs = [
        *full_check("P1", "2024-01-10"),
        lab("P1", "2024-04-01", "platelets", 250.0),
        lab("P1", "2024-04-01", "neutrophils", 4.0),
        *_others("P1", "2024-04-01"),
    ]
    row = _blood(run(labs, MTX_2022, as_of="2024-04-05"))
    assert row["tests_due"] == "full blood count" and row["days_overdue"] == 2  # due 2024-04-03


def test_a_platelet_count_alone_does_not_answer_the_nadir_count_after_a_pulse():
    """IV cyclophosphamide monthly from 2024-01-15: nadir window 01-23 to 01-29.  A platelet
    count alone on 01-25 is not the blood count: 1 day late on 01-30."""
    doses = [
        dose("P1", "cyclophosphamide", "2024-01-15", "2024-06-20", amount=750, frequency="monthly", route="intravenous")
    ]
    row = _blood(run([lab("P1", "2024-01-25", "platelets", 200.0)], doses, as_of="2024-01-30"))
    assert row["due_by"] == _ts("2024-01-29") and row["days_overdue"] == 1
