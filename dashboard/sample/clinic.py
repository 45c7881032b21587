"""Build the whole synthetic clinic for a seed: plans, draws and results (pure, in memory).

Each patient slot has its own random stream, ``default_rng([seed, slot, attempt])``, so a
patient does not change when others are added, and nothing depends on dict or set
order.  When a patient's results do not tell its story (noise can blur a 10 % fall), the
slot is redrawn with the next attempt number: deterministic, and the story map stays true.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np

from dashboard.sample.physiology import measure, report, true_values
from dashboard.sample.plan import EXTRACT_DATE, Draw, PatientPlan, Results
from dashboard.sample.schedule import draw_days, morning_draws
from dashboard.sample.stories import STORIES, background
from dashboard.sample.vitals import blood_pressure

DEFAULT_SEED = 4
DEFAULT_PATIENTS = 36
DEFAULT_YEARS = 4.0
#: The stories need two years of history before the extract date.
MIN_YEARS = 2.0
MAX_YEARS = 10.0
MAX_PATIENTS = 2000
MAX_ATTEMPTS = 200


class SampleError(ValueError):
    """The requested sample cannot be made (message for the user)."""


@dataclass
class SamplePatient:
    """One generated patient: the plan, the draws, noisy values and reported results."""

    plan: PatientPlan
    draws: list[Draw]
    measured: dict[str, np.ndarray]
    results: Results
    attempts: int
    #: (systolic, diastolic) mmHg per draw, NaN where not measured (dashboard.sample.vitals)
    bp: np.ndarray | None = None

    @property
    def patient_id(self) -> str:
        return self.plan.patient_id


@dataclass
class Clinic:
    """The generated clinic, patients sorted by id."""

    seed: int
    years: float
    extract_date: dt.date
    patients: list[SamplePatient]

    def by_story(self, story: str) -> SamplePatient:
        return next(p for p in self.patients if p.plan.story == story)

    def subset(self, stories: tuple[str, ...]) -> list[SamplePatient]:
        return [p for p in self.patients if p.plan.story in stories]


def validate(patients: int, years: float, seed: int) -> None:
    if seed < 0:
        raise SampleError("--seed must be a non-negative integer")
    if not len(STORIES) <= patients <= MAX_PATIENTS:
        raise SampleError(f"--patients must be between {len(STORIES)} (one per story) and {MAX_PATIENTS}")
    if not MIN_YEARS <= years <= MAX_YEARS:
        raise SampleError(
            f"--years must be between {MIN_YEARS:g} and {MAX_YEARS:g}: the stories need two years of history"
        )


def generate_patient(seed: int, slot: int, cap_days: int) -> SamplePatient:
    """Build one slot, redrawing until its story holds."""
    builder = list(STORIES.values())[slot][1] if slot < len(STORIES) else background
    reason = ""
    for attempt in range(MAX_ATTEMPTS):
        rng = np.random.default_rng([seed, slot, attempt])
        plan = builder(rng, slot, cap_days)
        days = draw_days(plan, rng)
        draws = morning_draws(days, rng)
        measured = measure(true_values(plan, days), rng)
        results = report(plan, draws, measured)
        failure = plan.check(plan, draws, results)
        if failure is None:
            if plan.observe is not None:
                plan.facts.update(plan.observe(plan, draws, results))
            # a stream of its own: the readings change no blood result and no story
            bp = blood_pressure(plan, draws, np.random.default_rng([seed, slot, attempt, 1]))
            return SamplePatient(plan, draws, measured, results, attempt + 1, bp)
        reason = failure
    raise RuntimeError(f"slot {slot} ({builder.__name__}): story not reached in {MAX_ATTEMPTS} attempts: {reason}")


def assign_ids(patients: list[SamplePatient], seed: int) -> None:
    """Number patients per group ("SLE-001", "RA-001") in a seeded order."""
    order = np.random.default_rng([seed, 10**6]).permutation(len(patients))
    counters: dict[str, int] = {}
    for k in order.tolist():
        plan = patients[k].plan
        counters[plan.group] = counters.get(plan.group, 0) + 1
        plan.patient_id = f"{plan.group}-{counters[plan.group]:03d}"


def build_clinic(seed: int = DEFAULT_SEED, patients: int = DEFAULT_PATIENTS, years: float = DEFAULT_YEARS) -> Clinic:
    """The synthetic clinic for a seed (pure: nothing is written)."""
    validate(patients, years, seed)
    cap_days = int(years * 365.25)
    made = [generate_patient(seed, slot, cap_days) for slot in range(patients)]
    assign_ids(made, seed)
    made.sort(key=lambda p: (p.plan.group, p.patient_id))
    return Clinic(seed, years, EXTRACT_DATE, made)
