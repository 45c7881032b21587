"""The synthetic clinic's patients: one per story, and a background of routine patients.

A story is a row of ``stories.toml`` (who the patient is: sex, age and weight ranges,
diagnosis, genotype, the summary the manifest shows) and a *scene* here (what happens:
the doses, the body's response, the check on the reported results, and the facts the
manifest states).  :func:`build` is the one builder: it takes a random generator, the
patient's slot and the longest follow-up allowed (days) and returns a :class:`PatientPlan`.
Story events are placed relative to the extract date, so the same story happens for
every seed; the seed only changes the person (age, weight, baseline counts) and the
measurement noise.  The generator redraws the patient until the story's check holds, so
the story map in the manifest is always true of the data.
"""

from __future__ import annotations

import datetime as dt
import tomllib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from importlib import resources
from typing import Any, SupportsInt

import numpy as np

from dashboard import knowledge
from dashboard.model import drug_label
from dashboard.sample.physiology import falling_runs, guideline_breaches, outside_reference, pulse_days
from dashboard.sample.plan import (
    EXTRACT_DATE,
    Baseline,
    Check,
    DoseStep,
    Draw,
    Drift,
    Flare,
    Nephritis,
    Observe,
    PatientPlan,
    Physiology,
    Results,
    course,
    hcq_daily_dose,
    monday_before,
    taper,
    weekday_on_or_before,
)

E = EXTRACT_DATE
DAY = dt.timedelta(days=1)

Builder = Callable[[np.random.Generator, int, int], PatientPlan]


# --------------------------------------------------------------------------- helpers


def _days(n: SupportsInt) -> dt.timedelta:
    return dt.timedelta(days=int(n))


def _birth(rng: np.random.Generator, lo: float, hi: float) -> dt.date:
    return E - _days(rng.uniform(lo, hi) * 365.25)


def _weight_date(rng: np.random.Generator) -> dt.date:
    return weekday_on_or_before(E - _days(rng.integers(7, 200)))


def _baseline(rng: np.random.Generator, sex: str, **fixed: float) -> Baseline:
    """Healthy-range baseline values; every draw is made so the stream is the same."""
    values = {
        "neutrophils": rng.uniform(2.9, 4.8),
        "lymphocytes": rng.uniform(1.4, 2.4),
        "eosinophils": rng.uniform(0.06, 0.22),
        "monocytes": rng.uniform(0.32, 0.6),
        "basophils": rng.uniform(0.02, 0.06),
        "hemoglobin": rng.uniform(126, 140) if sex == "F" else rng.uniform(141, 156),
        "platelets": rng.uniform(190, 330),
        "mcv": rng.uniform(84, 93),
        "alt": rng.uniform(13, 30),
        "ast": rng.uniform(15, 27),
        "albumin": rng.uniform(39, 45),
        "creatinine": rng.uniform(52, 74) if sex == "F" else rng.uniform(66, 88),
    }
    values.update(fixed)
    return Baseline(**values)


def _hcq(weight: float, start: dt.date, stop: dt.date | None = None) -> list[DoseStep]:
    dose, freq = hcq_daily_dose(weight)
    return [DoseStep("hydroxychloroquine", dose, freq, "oral", start, stop)]


def _span(cap_days: int, preferred: int) -> int:
    return min(preferred, cap_days)


def _window(draws: Sequence[Draw], start: dt.date, end: dt.date) -> np.ndarray:
    return np.array([start <= d.day <= end for d in draws], dtype=bool)


def _at(draws: Sequence[Draw], day: dt.date) -> int:
    for i, d in enumerate(draws):
        if d.day == day:
            return i
    raise ValueError(f"no draw on {day}")


def _extreme(draws: Sequence[Draw], values: np.ndarray, start: dt.date, end: dt.date, highest: bool = False) -> int:
    """Index of the draw with the lowest (or highest) value between ``start`` and ``end``."""
    idx = np.flatnonzero(_window(draws, start, end))
    return int(idx[np.argmax(values[idx]) if highest else np.argmin(values[idx])])


def _point(draws: Sequence[Draw], values: np.ndarray, i: int) -> dict[str, Any]:
    return {"date": draws[i].day.isoformat(), "value": float(values[i])}


def _draw_values(draws: Sequence[Draw], r: Results, day: dt.date, analytes: Sequence[str]) -> dict[str, Any]:
    """The date of the draw on ``day`` and its results of ``analytes``."""
    i = _at(draws, day)
    return {"date": day.isoformat(), **{a: float(r[a][i]) for a in analytes}}


def _quiet(ignore: Sequence[str] = ()) -> Callable[[PatientPlan, Sequence[Draw], Results], str | None]:
    def check(plan: PatientPlan, draws: Sequence[Draw], r: Results) -> str | None:
        breaches = guideline_breaches(draws, r, ignore)
        return "; ".join(breaches) if breaches else None

    return check


def _first_failure(*reasons: str | None) -> str | None:
    return next((r for r in reasons if r), None)


def _change(day: dt.date, before: float, after: float, per: str = "day", **more: str) -> dict[str, Any]:
    """A dose change as the manifest states it: the date, the dose before and after (mg per
    ``per``: "day" or "week"), and any more facts (the route)."""
    return {"date": day.isoformat(), f"from_mg_{per}": before, f"to_mg_{per}": after, **more}


def _raised_then_lowered(drug: str, up: dt.date, down: dt.date, low: float, high: float) -> dict[str, Any]:
    """The facts of a story whose dose is raised from ``low`` to ``high`` and lowered back."""
    return {"drug": drug, "increase": _change(up, low, high), "reduction": _change(down, high, low)}


# --------------------------------------------------------------------------- the story table


@dataclass(frozen=True)
class Scene:
    """What a story does to its patient: the drugs, the body's response to them (the
    :class:`Physiology` settings beside the baseline), the check that the reported results
    tell the story, and the facts the manifest states."""

    doses: list[DoseStep]
    response: dict[str, Any]
    check: Check
    facts: dict[str, Any]
    observe: Observe | None = None
    forced_draws: tuple[dt.date, ...] = ()
    monitoring_until: dt.date | None = None


SceneBuilder = Callable[[np.random.Generator, float, dt.date], Scene]


@dataclass(frozen=True)
class Story:
    """One row of ``stories.toml`` (who the patient is) and its scene (what happens)."""

    key: str
    title: str
    group: str
    sex: str
    age_years: tuple[float, float]
    weight_kg: tuple[float, float]
    follow_up_days: int
    tpmt: str
    nudt15: str
    diagnosis: str
    summary: str
    #: Baseline values set by the story: a number, or [low, high] to draw from (in order).
    baseline: dict[str, float | tuple[float, float]]
    scene: SceneBuilder


def build(story: Story, rng: np.random.Generator, slot: int, cap_days: int) -> PatientPlan:
    """The one builder: the person from the table, then the story's scene.

    The random draws come in a fixed order (weight, the scene's, the baseline, birth date,
    weight date), so a seed always gives the same patient.
    """
    weight = round(rng.uniform(*story.weight_kg), 1)
    f = monday_before(_span(cap_days, story.follow_up_days))
    scene = story.scene(rng, weight, f)
    fixed = {k: v if isinstance(v, float) else rng.uniform(v[0], v[1]) for k, v in story.baseline.items()}
    base = _baseline(rng, story.sex, **fixed)
    return PatientPlan(
        slot=slot,
        story=story.key,
        group=story.group,
        sex=story.sex,
        birth_date=_birth(rng, *story.age_years),
        weight_kg=weight,
        weight_date=_weight_date(rng),
        tpmt=story.tpmt,
        nudt15=story.nudt15,
        diagnosis=story.diagnosis,
        follow_start=f,
        doses=scene.doses,
        physiology=Physiology(base, **scene.response),
        summary=story.summary,
        check=scene.check,
        facts=scene.facts,
        forced_draws=scene.forced_draws,
        monitoring_until=scene.monitoring_until,
        observe=scene.observe,
    )


# --------------------------------------------------------------------------- scenes


def _aza_dose_response(rng: np.random.Generator, weight: float, f: dt.date) -> Scene:
    inc = monday_before(420)
    red = inc + _days(77)
    confirm = inc + _days(74)
    doses = [
        *course("azathioprine", [(f + _days(28), 50), (f + _days(56), 100), (inc, 150), (red, 100)], "daily"),
        *_hcq(weight, f - _days(800)),
        *course("prednisone", [(f - _days(120), 7.5), (f + _days(56), 5)], "daily"),
    ]

    def check(plan: PatientPlan, draws: Sequence[Draw], r: Results) -> str | None:
        before = _window(draws, inc - _days(200), inc - DAY)
        high = _window(draws, inc + _days(28), red)
        after = _window(draws, red + _days(42), red + _days(200))
        if before.sum() < 2 or high.sum() < 2 or after.sum() < 2:
            return "too few draws around the dose changes"
        for a in ("wbc", "neutrophils", "lymphocytes"):
            v = r[a]
            if v[high].mean() > 0.8 * v[before].mean():
                return f"{a} did not fall on 150 mg"
            if v[after].mean() < 1.15 * v[high].mean():
                return f"{a} did not recover after the reduction"
        if r["wbc"][_window(draws, inc + _days(14), red)].min() >= 3.5:
            return "WBC stayed >= 3.5 on 150 mg"
        return None

    def observe(plan: PatientPlan, draws: Sequence[Draw], r: Results) -> dict[str, Any]:
        i = _extreme(draws, r["wbc"], inc, red)
        return {"lowest_wbc_on_150_mg": _point(draws, r["wbc"], i)}

    return Scene(
        doses=doses,
        response={"thiopurine_sensitivity": 2.5},
        check=check,
        observe=observe,
        forced_draws=(confirm,),
        facts=_raised_then_lowered("azathioprine", inc, red, 100, 150),
    )


def _tpmt_im_neutropenia(rng: np.random.Generator, weight: float, f: dt.date) -> Scene:
    start = monday_before(273)
    stop = start + _days(43)
    restart = start + _days(105)
    forced = (*(start + _days(k) for k in (14, 28, 42, 49, 56, 63, 70)), restart - _days(3))
    doses = [
        DoseStep("azathioprine", 150, "daily", "oral", start, stop),
        DoseStep("azathioprine", 50, "daily", "oral", restart, None),
        *_hcq(weight, f - _days(400)),
        *course("prednisone", [(f - _days(60), 10), (start, 7.5), (start + _days(56), 5)], "daily"),
    ]
    window = (start + _days(28), start + _days(70))

    def check(plan: PatientPlan, draws: Sequence[Draw], r: Results) -> str | None:
        n = r["neutrophils"]
        pre = _window(draws, f, start - DAY)
        late = _window(draws, restart + _days(56), E)
        return _first_failure(
            "no draw before the start" if not pre.any() else None,
            "neutrophils low before azathioprine" if pre.any() and n[pre].min() < 2.0 else None,
            "no grade 3-4 neutropenia in weeks 4-10" if n[_window(draws, *window)].min() >= 1.0 else None,
            "neutropenia already at week 2" if n[_at(draws, start + _days(14))] < 1.0 else None,
            "no recovery on the reduced dose" if late.any() and n[late].min() < 1.6 else None,
        )

    def observe(plan: PatientPlan, draws: Sequence[Draw], r: Results) -> dict[str, Any]:
        n = r["neutrophils"]
        idx = np.flatnonzero(_window(draws, *window))
        low = _extreme(draws, n, *window)
        first = int(next(i for i in idx if n[i] < 1.0))
        return {
            "neutrophil_nadir": _point(draws, n, low),
            "first_neutrophils_below_1": {
                **_point(draws, n, first),
                "days_after_start": (draws[first].day - start).days,
            },
        }

    return Scene(
        doses=doses,
        response={"thiopurine_exposure": 3.0},
        check=check,
        observe=observe,
        forced_draws=forced,
        facts={
            "drug": "azathioprine",
            "start": start.isoformat(),
            "start_mg_day": 150,
            "start_mg_per_kg": round(150 / weight, 2),
            "tpmt": "intermediate",
            "expected_neutropenia_window": [window[0].isoformat(), window[1].isoformat()],
            "stopped": stop.isoformat(),
            "restarted": {"date": restart.isoformat(), "mg_day": 50},
        },
    )


def _allopurinol_pancytopenia(rng: np.random.Generator, weight: float, f: dt.date) -> Scene:
    allo = monday_before(161)
    found = allo + _days(36)
    stop = allo + _days(37)
    restart = allo + _days(78)
    forced = (found, *(allo + _days(k) for k in (43, 50, 57, 64)))
    doses = [
        DoseStep("azathioprine", 150, "daily", "oral", f - _days(420), stop),
        DoseStep("azathioprine", 50, "daily", "oral", restart, None),
        DoseStep("allopurinol", 100, "daily", "oral", allo, None),
        *_hcq(weight, f - _days(900)),
        DoseStep("prednisone", 5, "daily", "oral", f - _days(300), None),
    ]

    def check(plan: PatientPlan, draws: Sequence[Draw], r: Results) -> str | None:
        i = _at(draws, found)
        before = np.flatnonzero(_window(draws, f, allo - DAY))
        late = _window(draws, restart + _days(42), E)
        if not len(before):
            return "no draw before allopurinol"
        j = int(before[-1])
        return _first_failure(
            "no pancytopenia at the unscheduled draw"
            if not (
                r["wbc"][i] < 3.0 and r["neutrophils"][i] < 1.0 and r["platelets"][i] < 140 and r["hemoglobin"][i] < 130
            )
            else None,
            "counts not normal before allopurinol"
            if r["wbc"][j] < 3.5 or r["neutrophils"][j] < 1.6 or r["platelets"][j] < 150
            else None,
            "no recovery on 50 mg"
            if late.any()
            and (r["wbc"][late].min() < 3.5 or r["neutrophils"][late].min() < 1.6 or r["platelets"][late].min() < 140)
            else None,
        )

    def observe(plan: PatientPlan, draws: Sequence[Draw], r: Results) -> dict[str, Any]:
        return {"pancytopenia_draw": _draw_values(draws, r, found, ("wbc", "neutrophils", "platelets", "hemoglobin"))}

    return Scene(
        doses=doses,
        response={},
        check=check,
        observe=observe,
        forced_draws=forced,
        facts={
            "allopurinol_start": allo.isoformat(),
            "azathioprine_mg_day_at_allopurinol_start": 150,
            "unscheduled_draw": found.isoformat(),
            "azathioprine_stopped": stop.isoformat(),
            "azathioprine_restarted": {"date": restart.isoformat(), "mg_day": 50},
        },
    )


def _aza_macrocytosis(rng: np.random.Generator, weight: float, f: dt.date) -> Scene:
    start = f + _days(35)
    doses = [
        *course("azathioprine", [(start, 50), (f + _days(63), 100), (f + _days(91), 150)], "daily"),
        *_hcq(weight, f - _days(500)),
        *course("prednisone", [(f - _days(90), 10), (f + _days(63), 7.5), (f + _days(119), 5)], "daily"),
    ]

    def check(plan: PatientPlan, draws: Sequence[Draw], r: Results) -> str | None:
        mcv = r["mcv"]
        pre = _window(draws, f, start - DAY)
        return _first_failure(
            "MCV high before azathioprine" if pre.any() and mcv[pre].max() > 95 else None,
            "MCV not above 105 at the last two draws" if not (mcv[-2:] > 105).all() else None,
            "MCV above 110" if mcv.max() > 110 else None,
            _quiet(ignore=("mcv",))(plan, draws, r),
        )

    def observe(plan: PatientPlan, draws: Sequence[Draw], r: Results) -> dict[str, Any]:
        mcv = r["mcv"]
        first = int(np.flatnonzero(mcv > 105)[0])
        return {"first_mcv_above_105": _point(draws, mcv, first), "last_mcv": _point(draws, mcv, len(draws) - 1)}

    return Scene(
        doses=doses,
        response={"thiopurine_sensitivity": 0.65, "mcv_per_exposure": 8.0},
        check=check,
        observe=observe,
        facts={"drug": "azathioprine", "start": start.isoformat(), "mcv_threshold": 105},
    )


def _mtx_transaminitis(rng: np.random.Generator, weight: float, f: dt.date) -> Scene:
    up1 = monday_before(420)
    up2 = monday_before(329)
    withheld = up2 + _days(43)
    restart = withheld + _days(21)
    forced = tuple(up2 + _days(k) for k in (14, 28, 42))
    doses = [
        *course("methotrexate", [(f - _days(300), 15), (up1, 20)], "weekly", "oral", stop=up2),
        DoseStep("methotrexate", 25, "weekly", "sc", up2, withheld),
        DoseStep("methotrexate", 15, "weekly", "sc", restart, None),
        *_hcq(weight, f - _days(300)),
    ]
    window = (up2 + _days(14), up2 + _days(42))

    def check(plan: PatientPlan, draws: Sequence[Draw], r: Results) -> str | None:
        alt = r["alt"]
        before = _window(draws, f, up2 - DAY)
        late = _window(draws, restart + _days(42), E)
        return _first_failure(
            "ALT not above 100 after the increase" if alt[_window(draws, *window)].max() <= 100 else None,
            "ALT high before the increase to 25 mg" if alt[before].max() > 60 else None,
            "ALT did not settle after the restart" if late.any() and alt[late].max() > 45 else None,
            _quiet(ignore=("alt", "ast"))(plan, draws, r),
        )

    def observe(plan: PatientPlan, draws: Sequence[Draw], r: Results) -> dict[str, Any]:
        i = _extreme(draws, r["alt"], *window, highest=True)
        return {"alt_peak": _point(draws, r["alt"], i)}

    return Scene(
        doses=doses,
        response={"mtx_liver": 0.18},
        check=check,
        observe=observe,
        forced_draws=forced,
        facts={
            "drug": "methotrexate",
            "increase": _change(up2, 20, 25, per="week", route="sc"),
            "withheld": withheld.isoformat(),
            "restarted": {"date": restart.isoformat(), "mg_week": 15, "route": "sc"},
        },
    )


def _cyc_nadir(rng: np.random.Generator, weight: float, f: dt.date) -> Scene:
    first = f + _days(21)
    pulses = [first + _days(14 * k) for k in range(6)]
    nadirs = [p + _days(int(rng.choice([10, 11]))) for p in pulses]
    maintenance = first + _days(84)
    doses = [
        DoseStep("methylprednisolone", 500, "daily", "iv", f + _days(14), f + _days(17)),
        *taper(
            "prednisone",
            f + _days(17),
            [(30, 14), (25, 14), (20, 14), (15, 28), (12.5, 28), (10, 28), (7.5, 28)],
            final=5,
        ),
        DoseStep("cyclophosphamide", 500, "every 2 weeks", "iv", first, pulses[-1] + DAY),
        *course("azathioprine", [(maintenance, 50), (maintenance + _days(14), 100)], "daily"),
        *_hcq(weight, f + _days(14)),
    ]
    nephritis = Nephritis(f - _days(60), first + _days(28), 90.0, 0.45, 14.0)

    def check(plan: PatientPlan, draws: Sequence[Draw], r: Results) -> str | None:
        wbc = r["wbc"]
        for p in pulse_days(plan):
            low = _extreme(draws, wbc, p + DAY, p + _days(21))
            offset = (draws[low].day - p).days
            if not 10 <= offset <= 14:
                return f"lowest WBC after the pulse of {p} on day {offset}"
            if wbc[low] > 0.75 * wbc[_at(draws, p)]:
                return f"no clear nadir after the pulse of {p}"
        return None

    def observe(plan: PatientPlan, draws: Sequence[Draw], r: Results) -> dict[str, Any]:
        out = []
        for p, n in zip(pulses, nadirs, strict=True):
            i, j = _at(draws, p), _at(draws, n)
            out.append(
                {
                    "pulse": p.isoformat(),
                    "pre_pulse_wbc": float(r["wbc"][i]),
                    "nadir_draw": n.isoformat(),
                    "nadir_day": (n - p).days,
                    "nadir_wbc": float(r["wbc"][j]),
                    "nadir_neutrophils": float(r["neutrophils"][j]),
                }
            )
        return {"nadirs": out}

    return Scene(
        doses=doses,
        response={"nephritis": nephritis},
        check=check,
        observe=observe,
        forced_draws=(f + _days(14), *pulses, *nadirs),
        facts={
            "regimen": "Euro-Lupus",
            "pulses": [p.isoformat() for p in pulses],
            "dose_mg": 500,
            "expected_nadir_days": [10, 14],
            "maintenance": {"drug": "azathioprine", "start": maintenance.isoformat(), "mg_day": [50, 100]},
        },
    )


def _mmf_mild_cytopenia(rng: np.random.Generator, weight: float, f: dt.date) -> Scene:
    up = monday_before(399)
    down = monday_before(217)
    doses = [
        *course("mycophenolate mofetil", [(f - _days(300), 1000), (up, 1500), (down, 1000)], "BID"),
        *course(
            "prednisone",
            [(f - _days(300), 5), (up, 15), (up + _days(14), 10), (up + _days(28), 7.5), (up + _days(56), 5)],
            "daily",
        ),
        *_hcq(weight, f - _days(500)),
    ]
    nephritis = Nephritis(up - _days(30), up + _days(21), 60.0, 0.15, 5.0)
    window = (up + _days(42), down)

    def check(plan: PatientPlan, draws: Sequence[Draw], r: Results) -> str | None:
        on = _window(draws, *window)
        after = _window(draws, down + _days(42), E)
        wbc, lymph = r["wbc"], r["lymphocytes"]
        return _first_failure(
            "no mild leukopenia on 3 g/day" if (wbc[on] < 4.0).sum() < 2 else None,
            "leukopenia more than mild" if wbc[on].min() < 3.0 else None,
            "no lymphopenia on 3 g/day" if (lymph[on] < 1.0).sum() < 3 else None,
            "WBC did not improve on 2 g/day" if after.any() and wbc[after].mean() <= wbc[on].mean() else None,
            _quiet(ignore=("wbc",))(plan, draws, r),
        )

    return Scene(
        doses=doses,
        response={"nephritis": nephritis},
        check=check,
        forced_draws=(down - _days(3),),
        facts=_raised_then_lowered("mycophenolate mofetil", up, down, 2000, 3000),
    )


def _lupus_flare(rng: np.random.Generator, weight: float, f: dt.date) -> Scene:
    onset = monday_before(196)
    found = onset + _days(22)
    forced = tuple(found + _days(k) for k in (0, 7, 14, 21, 28, 42, 56))
    doses = [
        DoseStep("azathioprine", 100, "daily", "oral", f - _days(500), None),
        *_hcq(weight, f - _days(900)),
        DoseStep("prednisone", 5, "daily", "oral", f - _days(200), found + DAY),
        *taper("prednisone", found + DAY, [(30, 14), (20, 14), (15, 14), (10, 14), (7.5, 14)], final=5),
    ]
    flare = Flare(onset, found + _days(2), 14.0)

    def check(plan: PatientPlan, draws: Sequence[Draw], r: Results) -> str | None:
        i = _at(draws, found)
        pre = _window(draws, f, onset - DAY)
        pre_draws = [d for d, k in zip(draws, pre, strict=True) if k]
        recovered = _window(draws, found + _days(28), found + _days(56))
        changed = [
            d
            for d in plan.doses
            if found - _days(120) <= d.start < found or (d.end and found - _days(120) <= d.end < found)
        ]
        return _first_failure(
            "no thrombocytopenia/leukopenia at the flare"
            if not (r["platelets"][i] < 100 and r["wbc"][i] < 4.0 and r["lymphocytes"][i] < 1.0)
            else None,
            "a dose changed in the 120 days before the flare" if changed else None,
            "not quiet before the flare" if guideline_breaches(pre_draws, {a: v[pre] for a, v in r.items()}) else None,
            "platelets did not recover" if r["platelets"][recovered].max() < 150 else None,
        )

    def observe(plan: PatientPlan, draws: Sequence[Draw], r: Results) -> dict[str, Any]:
        return {"flare_draw": _draw_values(draws, r, found, ("platelets", "wbc", "lymphocytes", "neutrophils"))}

    return Scene(
        doses=doses,
        response={"flare": flare},
        check=check,
        observe=observe,
        forced_draws=forced,
        facts={
            "flare_onset": onset.isoformat(),
            "flare_found": found.isoformat(),
            "prednisone_increase": _change(found + DAY, 5, 30),
            "last_dose_change_before_flare": max(
                [d.start for d in doses if d.start < found] + [d.end for d in doses if d.end and d.end < found]
            ).isoformat(),
        },
    )


def _slow_fall(rng: np.random.Generator, weight: float, f: dt.date) -> Scene:
    decline = E - _days(330)
    doses = [
        DoseStep("azathioprine", 125, "daily", "oral", f - _days(600), None),
        *_hcq(weight, f - _days(700)),
    ]

    def runs(draws: Sequence[Draw], r: Results) -> dict[str, list[int]]:
        late = np.flatnonzero(_window(draws, decline - _days(100), E))
        return {a: [int(late[i]) for i in falling_runs(r[a][late])] for a in ("wbc", "neutrophils")}

    def check(plan: PatientPlan, draws: Sequence[Draw], r: Results) -> str | None:
        found = runs(draws, r)
        return _first_failure(
            "no three consecutive falls > 10%" if not any(found.values()) else None,
            _quiet(ignore=("trend",))(plan, draws, r),
        )

    def observe(plan: PatientPlan, draws: Sequence[Draw], r: Results) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for a, starts in runs(draws, r).items():
            if starts:
                s = starts[0]
                out[f"{a}_falling_run"] = [_point(draws, r[a], i) for i in range(s, s + 4)]
        return out

    return Scene(
        doses=doses,
        response={"drift": Drift(decline, 0.0021)},
        check=check,
        observe=observe,
        facts={"decline_from": decline.isoformat(), "analytes": ["wbc", "neutrophils"], "fall_per_test": "> 10%"},
    )


def _overdue(rng: np.random.Generator, weight: float, f: dt.date) -> Scene:
    until = E - _days(152)
    doses = [
        DoseStep("azathioprine", 150, "daily", "oral", f - _days(700), None),
        *_hcq(weight, f - _days(900)),
    ]

    def check(plan: PatientPlan, draws: Sequence[Draw], r: Results) -> str | None:
        return _first_failure(
            "last draw too recent" if (E - draws[-1].day).days < 150 else None, _quiet()(plan, draws, r)
        )

    def observe(plan: PatientPlan, draws: Sequence[Draw], r: Results) -> dict[str, Any]:
        last = draws[-1].day
        return {"last_fbc": last.isoformat(), "days_since_last_fbc": (E - last).days}

    return Scene(
        doses=doses,
        response={},
        check=check,
        observe=observe,
        monitoring_until=until,
        facts={"drug": "azathioprine", "required_interval_days": 84},
    )


def _duffy_null(rng: np.random.Generator, weight: float, f: dt.date) -> Scene:
    start = f + _days(42)
    doses = [
        *course("methotrexate", [(start, 15), (f + _days(98), 20)], "weekly", "oral"),
        *_hcq(weight, f - _days(100)),
    ]

    def pre(draws: Sequence[Draw]) -> np.ndarray:
        return _window(draws, f, start - DAY)

    def check(plan: PatientPlan, draws: Sequence[Draw], r: Results) -> str | None:
        n = r["neutrophils"]
        return _first_failure(
            "neutrophils outside 1.0-1.9" if n.min() < 1.0 or n.max() > 1.9 else None,
            "pre-treatment median outside 1.2-1.6" if not 1.2 <= float(np.median(n[pre(draws)])) <= 1.6 else None,
            _quiet(ignore=("neutrophils",))(plan, draws, r),
        )

    def observe(plan: PatientPlan, draws: Sequence[Draw], r: Results) -> dict[str, Any]:
        median = float(np.median(r["neutrophils"][pre(draws)]))
        return {
            "suggested_baseline": {
                "analyte": "neutrophils",
                "value": round(median, 2),
                "note": "Duffy-null associated neutrophil count",
            }
        }

    return Scene(
        doses=doses,
        response={},
        check=check,
        observe=observe,
        forced_draws=(f + _days(14), f + _days(38)),
        facts={"drug": "methotrexate", "start": start.isoformat()},
    )


def _stable(rng: np.random.Generator, weight: float, f: dt.date) -> Scene:
    doses = [
        DoseStep("methotrexate", 20, "weekly", "sc", f - _days(500), None),
        *_hcq(weight, f - _days(600)),
    ]

    def check(plan: PatientPlan, draws: Sequence[Draw], r: Results) -> str | None:
        out = outside_reference(plan.sex, r, skip=("egfr",))
        return _first_failure("; ".join(out) if out else None, _quiet()(plan, draws, r))

    return Scene(doses=doses, response={}, check=check, facts={"drugs": ["methotrexate", "hydroxychloroquine"]})


#: Each story's scene, by its key in ``stories.toml``.
SCENES: dict[str, SceneBuilder] = {
    "aza_dose_response": _aza_dose_response,
    "tpmt_im_neutropenia": _tpmt_im_neutropenia,
    "allopurinol_pancytopenia": _allopurinol_pancytopenia,
    "aza_macrocytosis": _aza_macrocytosis,
    "mtx_transaminitis": _mtx_transaminitis,
    "cyc_nadir": _cyc_nadir,
    "mmf_mild_cytopenia": _mmf_mild_cytopenia,
    "lupus_flare": _lupus_flare,
    "slow_fall": _slow_fall,
    "overdue": _overdue,
    "duffy_null": _duffy_null,
    "stable": _stable,
}


def _story_table() -> tuple[Story, ...]:
    """``stories.toml`` in slot order, each row joined to its scene."""
    text = resources.files("dashboard.sample").joinpath("stories.toml").read_text(encoding="utf-8")
    rows = tomllib.loads(text)["story"]
    keys = [r["key"] for r in rows]
    if len(set(keys)) != len(keys) or set(keys) != set(SCENES):
        raise ValueError("stories.toml and the scenes of stories.py name different stories")
    return tuple(
        Story(
            key=r["key"],
            title=r["title"],
            group=r["group"],
            sex=r["sex"],
            age_years=(r["age_years"][0], r["age_years"][1]),
            weight_kg=(r["weight_kg"][0], r["weight_kg"][1]),
            follow_up_days=r["follow_up_days"],
            tpmt=r["tpmt"],
            nudt15=r["nudt15"],
            diagnosis=r["diagnosis"],
            summary=r["summary"],
            baseline={k: float(v) if isinstance(v, int | float) else (v[0], v[1]) for k, v in r["baseline"].items()},
            scene=SCENES[r["key"]],
        )
        for r in rows
    )


#: The stories in slot order.
STORY_TABLE: tuple[Story, ...] = _story_table()

#: The stories in slot order: key -> (title, builder).
STORIES: dict[str, tuple[str, Builder]] = {s.key: (s.title, partial(build, s)) for s in STORY_TABLE}


# --------------------------------------------------------------------------- background

BACKGROUND_KINDS: tuple[str, ...] = (
    "ra_mtx_new",
    "sle_hcq_aza",
    "ln_mmf_tac",
    "ra_mtx_established",
    "sle_hcq",
    "sle_aza_new",
    "ra_lef",
    "sle_mtx",
)


def background(rng: np.random.Generator, slot: int, cap_days: int) -> PatientPlan:
    """A routine patient: treated, monitored on time, every result inside the action limits."""
    kind = BACKGROUND_KINDS[(slot - len(STORIES)) % len(BACKGROUND_KINDS)]
    ra = kind.startswith("ra_")
    sex = ("F" if rng.random() < 0.72 else "M") if ra else ("F" if rng.random() < 0.9 else "M")
    birth = _birth(rng, 35, 72) if ra else _birth(rng, 22, 62)
    weight = round(rng.uniform(52, 88) if sex == "F" else rng.uniform(66, 100), 1)
    span = int(rng.integers(372, max(cap_days - 4, 373)))
    f = weekday_on_or_before(E - _days(span))
    base = _baseline(rng, sex)
    since = f - _days(rng.integers(150, 1200))  # an ongoing drug started this long before follow-up
    new = f + _days(rng.integers(21, 120))  # a drug started during follow-up
    doses: list[DoseStep] = []
    tpmt = nudt15 = "not tested"
    diagnosis = "Rheumatoid arthritis" if ra else "SLE"

    def aza_target() -> float:  # the standard dose of the dosing data (the dose checks read it too)
        standard = float(knowledge.dosing_rules()["azathioprine"]["standard_mg_per_kg"])
        return float(min(150, 25 * np.floor(standard * weight / 25)))

    if kind == "ra_mtx_new":
        route = "sc" if rng.random() < 0.4 else "oral"
        doses += course("methotrexate", [(new, 10), (new + _days(42), 15), (new + _days(84), 20)], "weekly", route)
        doses += taper("prednisone", new, [(10, 28), (7.5, 28), (5, 28), (2.5, 28)], final=None)
        if rng.random() < 0.5:
            doses += _hcq(weight, new)
    elif kind == "sle_hcq_aza":
        doses += [DoseStep("azathioprine", min(aza_target(), 125), "daily", "oral", since, None)]
        doses += _hcq(weight, since - _days(200))
        if rng.random() < 0.5:
            doses += [DoseStep("prednisone", 5, "daily", "oral", since, None)]
        tpmt, nudt15 = "normal", ("normal" if rng.random() < 0.5 else "not tested")
    elif kind == "ln_mmf_tac":
        doses += [DoseStep("mycophenolate mofetil", 1000, "BID", "oral", since, None)]
        doses += [DoseStep("tacrolimus", 2, "BID", "oral", new, None)]
        doses += _hcq(weight, since)
        doses += [DoseStep("prednisone", 5, "daily", "oral", since, None)]
        diagnosis = f"SLE; lupus nephritis class {('III', 'IV', 'V')[int(rng.integers(0, 3))]}"
    elif kind == "ra_mtx_established":
        dose = float(rng.choice([15, 17.5, 20, 25]))
        route = "sc" if dose >= 20 and rng.random() < 0.6 else "oral"
        doses += [DoseStep("methotrexate", dose, "weekly", route, since, None)]
        if rng.random() < 0.5:
            doses += _hcq(weight, since)
    elif kind == "sle_hcq":
        doses += _hcq(weight, since)
        if rng.random() < 0.5:
            doses += [DoseStep("prednisone", 5, "daily", "oral", since, None)]
        tpmt = "normal" if rng.random() < 0.3 else "not tested"
    elif kind == "sle_aza_new":
        target = min(aza_target(), 125)
        steps = [(new, 50.0), (new + _days(28), 100.0)]
        if target > 100:
            steps.append((new + _days(56), target))
        doses += course("azathioprine", steps, "daily")
        doses += _hcq(weight, since)
        doses += taper("prednisone", new, [(15, 14), (10, 28), (7.5, 28)], final=5)
        tpmt, nudt15 = "normal", ("normal" if rng.random() < 0.5 else "not tested")
    elif kind == "ra_lef":
        doses += [DoseStep("leflunomide", 20, "daily", "oral", since, None)]
        if rng.random() < 0.5:
            doses += [DoseStep("methotrexate", 15, "weekly", "oral", since - _days(300), None)]
    elif kind == "sle_mtx":
        doses += course("methotrexate", [(new, 15), (new + _days(56), 20)], "weekly", "oral")
        doses += _hcq(weight, since)
    return PatientPlan(
        slot=slot,
        story="routine",
        group="RA" if ra else "SLE",
        sex=sex,
        birth_date=birth,
        weight_kg=weight,
        weight_date=_weight_date(rng),
        tpmt=tpmt,
        nudt15=nudt15,
        diagnosis=diagnosis,
        follow_start=f,
        doses=doses,
        physiology=Physiology(base, thiopurine_sensitivity=float(rng.uniform(0.7, 1.1))),
        summary=_routine_summary(diagnosis, doses),
        check=_quiet(),
        facts={"kind": kind},
    )


def _routine_summary(diagnosis: str, doses: Sequence[DoseStep]) -> str:
    names: list[str] = []
    for d in sorted(doses, key=lambda d: (d.start, d.drug)):
        label = drug_label(d.drug).lower()
        if label not in names:
            names.append(label)
    return f"Routine: {diagnosis} on {', '.join(names)}; monitored on time, nothing to flag."
