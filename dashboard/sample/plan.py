"""The plan of one synthetic patient: who they are, what they take, what happens to them.

A plan is pure data.  :mod:`dashboard.sample.stories` builds plans, the schedule turns a
plan into draw dates, and :mod:`dashboard.sample.physiology` turns a plan and its draw
dates into lab results.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from dashboard import knowledge
from dashboard.identity import whole_years

#: The generator's "today": the day the synthetic extract was taken.  Fixed, so that
#: regenerating gives the same bytes; the app proposes it as the "as of" date.
EXTRACT_DATE = dt.date(2026, 11, 16)

#: Administrations per day of the frequencies the sample writes.  The generator keeps
#: its own table (rather than the importer's parser) so that its truth does not depend on
#: the code the sample is meant to test.
PER_DAY: dict[str, float] = {"daily": 1.0, "BID": 2.0, "TID": 3.0, "weekly": 1 / 7, "every 2 weeks": 1 / 14}

#: Drugs whose start or dose increase restarts fortnightly blood monitoring (BSR 2017).
MONITORED: tuple[str, ...] = (
    "azathioprine",
    "cyclophosphamide",
    "leflunomide",
    "methotrexate",
    "mycophenolate mofetil",
    "tacrolimus",
)


@dataclass(frozen=True)
class DoseStep:
    """One dose interval: ``end`` is the day it ended or changed (None = ongoing)."""

    drug: str
    dose: float
    frequency: str
    route: str
    start: dt.date
    end: dt.date | None = None

    @property
    def mg_per_day(self) -> float:
        return self.dose * PER_DAY[self.frequency]

    def active(self, day: dt.date) -> bool:
        return self.start <= day and (self.end is None or day < self.end)


def course(
    drug: str,
    steps: Sequence[tuple[dt.date, float]],
    frequency: str,
    route: str = "oral",
    stop: dt.date | None = None,
) -> list[DoseStep]:
    """Consecutive dose intervals of one drug: each step lasts until the next one."""
    out = []
    for i, (start, dose) in enumerate(steps):
        end = steps[i + 1][0] if i + 1 < len(steps) else stop
        out.append(DoseStep(drug, dose, frequency, route, start, end))
    return out


def taper(
    drug: str, start: dt.date, steps: Sequence[tuple[float, int]], final: float | None, stop: dt.date | None = None
) -> list[DoseStep]:
    """A glucocorticoid taper: (mg/day, days) steps, then ``final`` mg/day ongoing (or stop)."""
    points: list[tuple[dt.date, float]] = []
    day = start
    for dose, days in steps:
        points.append((day, dose))
        day = day + dt.timedelta(days=days)
    if final is None:
        return course(drug, points, "daily", stop=day)
    points.append((day, final))
    return course(drug, points, "daily", stop=stop)


def hcq_daily_dose(weight_kg: float) -> tuple[float, str]:
    """Hydroxychloroquine at no more than the dosing data's mg/kg/day (5, real body weight):
    (dose, frequency)."""
    per_kg = float(knowledge.dosing_rules()["hydroxychloroquine"]["max_mg_per_kg_day"])
    if per_kg * weight_kg >= 400:
        return 200.0, "BID"
    if per_kg * weight_kg >= 300:
        return 300.0, "daily"
    return 200.0, "daily"


def weekday_on_or_before(day: dt.date) -> dt.date:
    """Friday for a Saturday or Sunday, else the day itself."""
    return day - dt.timedelta(days=max(0, day.weekday() - 4))


def monday_before(days: int, end: dt.date = EXTRACT_DATE) -> dt.date:
    """The Monday at most ``days`` days before ``end`` (whole weeks back from a Monday)."""
    monday = end - dt.timedelta(days=end.weekday())
    return monday - dt.timedelta(weeks=(days - (end - monday).days) // 7)


# --------------------------------------------------------------------------- physiology


@dataclass(frozen=True)
class Baseline:
    """Untreated, disease-quiet values of one patient (canonical units)."""

    neutrophils: float
    lymphocytes: float
    eosinophils: float
    monocytes: float
    basophils: float
    hemoglobin: float
    platelets: float
    mcv: float
    alt: float
    ast: float
    albumin: float
    creatinine: float


@dataclass(frozen=True)
class Flare:
    """Lupus activity that lowers counts by itself: rises from onset to peak, then settles."""

    onset: dt.date
    peak: dt.date
    settle_days: float


@dataclass(frozen=True)
class Drift:
    """A slow unexplained decline of the leukocyte counts from ``start`` (fraction per day)."""

    start: dt.date
    per_day: float


@dataclass(frozen=True)
class Nephritis:
    """Active lupus nephritis: full activity until ``resolve_from``, then decaying."""

    start: dt.date
    resolve_from: dt.date
    tau_days: float
    creatinine_rise: float
    albumin_drop: float


@dataclass(frozen=True)
class Physiology:
    """How one patient's blood responds (see :mod:`dashboard.sample.physiology`)."""

    baseline: Baseline
    thiopurine_sensitivity: float = 1.0
    thiopurine_exposure: float = 1.0  # > 1 for TPMT/NUDT15 intermediate metabolisers
    mcv_per_exposure: float = 2.5  # fL per effective mg/kg/day of azathioprine
    mtx_liver: float = 0.0  # ALT rise per (mg/week above 18)^2
    flare: Flare | None = None
    drift: Drift | None = None
    nephritis: Nephritis | None = None


# --------------------------------------------------------------------------- the plan


@dataclass(frozen=True)
class Draw:
    """One blood draw: the date and the wall-clock time the sample was taken."""

    when: dt.datetime

    @property
    def day(self) -> dt.date:
        return self.when.date()


#: Reported results of one patient: analyte -> values aligned with the draws.
Results = dict[str, np.ndarray]

#: A story's acceptance check on the reported results: None when it holds, else why not.
Check = Callable[["PatientPlan", Sequence[Draw], Results], "str | None"]

#: Facts a story reads off its own results for the manifest (e.g. the nadir date).
Observe = Callable[["PatientPlan", Sequence[Draw], Results], dict[str, Any]]


@dataclass
class PatientPlan:
    """Everything the generator decides about one patient before drawing any blood."""

    slot: int
    story: str
    group: str  # "SLE" or "RA": the id prefix
    sex: str
    birth_date: dt.date
    weight_kg: float
    weight_date: dt.date
    tpmt: str
    nudt15: str
    diagnosis: str
    follow_start: dt.date
    doses: list[DoseStep]
    physiology: Physiology
    summary: str
    check: Check
    facts: dict[str, Any] = field(default_factory=dict)
    forced_draws: tuple[dt.date, ...] = ()
    monitoring_until: dt.date | None = None
    observe: Observe | None = None
    patient_id: str = ""

    @property
    def name(self) -> tuple[str, str]:
        """(family, given): a made-up name, fixed by the patient id and sex (no random draw,
        so naming the sample changed none of its results)."""
        return synthetic_name(self.patient_id, self.sex)

    def doses_of(self, drug: str) -> list[DoseStep]:
        return sorted((d for d in self.doses if d.drug == drug), key=lambda d: d.start)

    def age_on(self, day: dt.date) -> int:
        return whole_years(self.birth_date, day)


#: Made-up names for the synthetic sample (common UK family and given names; any likeness
#: to a real person is chance).
FAMILY_NAMES = (
    "ADEYEMI", "BAKER", "BROWN", "CAMPBELL", "CHEN", "CLARKE", "DAVIES", "EVANS", "FERNANDES", "FOSTER",
    "GRAHAM", "GREEN", "HALL", "HUGHES", "HUSSAIN", "JACKSON", "JAMES", "JOHNSON", "KHAN", "KING",
    "LEWIS", "MARTIN", "MENSAH", "MORGAN", "MURPHY", "NGUYEN", "OKAFOR", "PATEL", "PRICE", "REID",
    "ROBERTS", "SHAH", "SINGH", "TAYLOR", "THOMAS", "WALKER", "WATSON", "WHITE", "WILSON", "WRIGHT",
)  # fmt: skip
GIVEN_NAMES = {
    "F": ("Aisha", "Amelia", "Anna", "Chloe", "Claire", "Emma", "Fatima", "Grace", "Hannah", "Isla",
          "Joanne", "Karen", "Laura", "Lucy", "Maria", "Mei", "Nadia", "Olivia", "Priya", "Rachel",
          "Ruth", "Sarah", "Sophie", "Zainab"),
    "M": ("Adam", "Ben", "Daniel", "David", "Ibrahim", "James", "John", "Kwame", "Mark", "Omar",
          "Paul", "Peter", "Raj", "Samuel", "Thomas", "Tom"),
}  # fmt: skip


def synthetic_name(patient_id: str, sex: str) -> tuple[str, str]:
    """The sample patient's made-up (family, given) name, from the id's group and number."""
    group, _, number = patient_id.partition("-")
    n = int(number) if number.isdigit() else sum(map(ord, patient_id))
    k = n * 7 + (0 if group == "SLE" else 17)
    given = GIVEN_NAMES.get(sex, GIVEN_NAMES["F"])
    return FAMILY_NAMES[k % len(FAMILY_NAMES)], given[(n * 5 + len(group)) % len(given)]
