"""Clinic measurements taken at the visit besides the blood: blood pressure.

Patients on a drug whose monitoring includes blood pressure (the extra items of the
default monitoring profile, ``rules/data/schedule.toml`` ``[profiles."BSR 2025".also]``:
leflunomide, ciclosporin, tacrolimus, voclosporin) have their blood pressure measured at
every visit while on it (SPS: blood pressure with each blood test).  The readings are
quiet (below 140/90 mmHg): the sample shows the monitoring, not hypertension.

Each patient's readings come from a stream of their own, so adding them changes no blood
result and no story.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from dashboard.rules.data import schedule_file
from dashboard.sample.plan import Draw, PatientPlan

#: The profile whose extra monitoring items the sample follows (the app's default).
PROFILE = "BSR 2025"


def bp_drugs() -> tuple[str, ...]:
    """Drugs whose monitoring includes a blood-pressure item under the default profile."""
    sched = schedule_file()
    also = {**sched.get("also", {}), **sched.get("profiles", {}).get(PROFILE, {}).get("also", {})}
    items = sched["schedules"]
    return tuple(sorted(drug for drug, names in also.items() if any("bp" in items[n].get("check", []) for n in names)))


def blood_pressure(plan: PatientPlan, draws: Sequence[Draw], rng: np.random.Generator) -> np.ndarray:
    """(systolic, diastolic) in mmHg per draw; NaN at a draw when no such drug is taken."""
    out = np.full((len(draws), 2), np.nan)
    drugs = bp_drugs()
    steps = [d for d in plan.doses if d.drug in drugs]
    mean = (rng.uniform(112.0, 128.0), rng.uniform(70.0, 80.0))
    noise = rng.normal(0.0, 1.0, size=(len(draws), 2)) * (6.0, 4.0)
    if not steps:
        return out
    for i, draw in enumerate(draws):
        if any(s.active(draw.day) for s in steps):
            out[i, 0] = float(np.clip(round(mean[0] + noise[i, 0]), 98, 138))
            out[i, 1] = float(np.clip(round(mean[1] + noise[i, 1]), 60, 88))
    return out
