"""Lab dynamics of the synthetic clinic: doses in, blood results out.

Each patient has untreated baseline values; drugs and disease multiply them.  Drug
exposure reaches the blood through first-order lags, so counts fall over weeks after a
start or increase and recover over weeks after a reduction.  The shapes are chosen to be
clinically recognisable, not fitted to data:

* azathioprine: effective exposure = mg/kg/day x TPMT/NUDT15 factor x 4 with
  allopurinol (xanthine oxidase blocked), through two 10-day lags (6-TGN build-up, then
  marrow transit).  Neutrophils fall by about 25 % at 2 mg/kg/day in a normal
  metaboliser and by more than 80 % at a full dose in an intermediate one.  MCV rises
  slowly with exposure (240-day lag); haemoglobin falls a little (about -6 % at
  2 mg/kg/day) and much more at high exposure.
* mycophenolate: mild leukopenia, more lymphopenia (about -20 % / -33 % at 2 g/day).
* methotrexate: small fall in counts, MCV +2 fL at 20 mg/week; in a susceptible
  patient ALT rises steeply above 18 mg/week.
* tacrolimus raises creatinine about 3 % per mg/day.
* glucocorticoids raise neutrophils and lower lymphocytes and eosinophils
  (saturating: about +50 % / -35 % at 30 mg prednisone).
* each cyclophosphamide pulse gives a neutrophil dip peaking on day 10, about half
  recovered by day 14 and gone by day 21.
* lupus activity (a flare, nephritis) and an unexplained drift act on top.

Measurement noise is log-normal per analyte; the WBC is the sum of its (noisy)
components, so the differential always adds up.  Values are rounded as a laboratory
reports them; eGFR is computed by CKD-EPI 2021 from the reported creatinine.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence

import numpy as np

from dashboard import model
from dashboard.sample.plan import Draw, PatientPlan, Results

#: Measurement (analytical + within-person) variation of each simulated component, as a
#: log-normal sigma.
NOISE: dict[str, float] = {
    "neutrophils": 0.07,
    "lymphocytes": 0.07,
    "eosinophils": 0.15,
    "monocytes": 0.10,
    "basophils": 0.20,
    "hemoglobin": 0.02,
    "platelets": 0.05,
    "mcv": 0.008,
    "alt": 0.10,
    "ast": 0.08,
    "albumin": 0.025,
    "creatinine": 0.035,
}

#: Components simulated, in the order of the noise draws (the WBC is the sum of the first
#: five; monocytes/basophils are not reported).
COMPONENTS: tuple[str, ...] = tuple(NOISE)

#: Decimals a laboratory reports, per analyte (canonical units).
DECIMALS: dict[str, int] = {
    "wbc": 1,
    "neutrophils": 2,
    "lymphocytes": 2,
    "eosinophils": 2,
    "hemoglobin": 0,
    "platelets": 0,
    "mcv": 1,
    "alt": 0,
    "ast": 0,
    "albumin": 0,
    "creatinine": 0,
    "egfr": 0,
}

PRED_EQUIVALENT = {"prednisone": 1.0, "prednisolone": 1.0, "methylprednisolone": 1.25}
ALLOPURINOL_FACTOR = 4.0
CYC_PEAK_DAY = 10.0
CYC_SHAPE = 12.0
MCV_LAG_DAYS = 240.0


def round_half_up(x: float, decimals: int) -> float:
    """Round as a laboratory does (0.5 up), not to even."""
    f = 10**decimals
    return math.floor(x * f + 0.5 + 1e-9) / f


def ckd_epi_2021(creatinine_umol: float, age: float, sex: str) -> float:
    """eGFR (mL/min/1.73 m²) by the race-free CKD-EPI 2021 creatinine equation."""
    scr = creatinine_umol / 88.4
    female = sex == "F"
    kappa, alpha = (0.7, -0.241) if female else (0.9, -0.302)
    ratio = scr / kappa
    egfr = 142 * min(ratio, 1.0) ** alpha * max(ratio, 1.0) ** -1.200 * 0.9938**age
    return egfr * (1.012 if female else 1.0)


def _lag(u: np.ndarray, tau: float) -> np.ndarray:
    """First-order lag with time constant ``tau`` days on a daily series."""
    a = 1.0 - math.exp(-1.0 / tau)
    out = np.empty(len(u))
    x = 0.0
    for i, v in enumerate(u.tolist()):
        x += a * (v - x)
        out[i] = x
    return out


class _Grid:
    """Daily series from well before the first dose to the last draw."""

    def __init__(self, plan: PatientPlan, last: dt.date) -> None:
        first_dose = min((d.start for d in plan.doses), default=plan.follow_start)
        self.day0 = min(first_dose, plan.follow_start) - dt.timedelta(days=60)
        self.n = (last - self.day0).days + 1
        self.plan = plan

    def index(self, day: dt.date) -> int:
        return (day - self.day0).days

    def daily(self, drugs: dict[str, float]) -> np.ndarray:
        """Sum of mg/day of ``drugs`` (each weighted) on every day."""
        out = np.zeros(self.n)
        for d in self.plan.doses:
            w = drugs.get(d.drug)
            if w is None or d.frequency == "every 2 weeks":
                continue
            s = max(self.index(d.start), 0)
            e = self.n if d.end is None else min(self.index(d.end), self.n)
            if e > s:
                out[s:e] += w * d.mg_per_day
        return out

    def active(self, drug: str) -> np.ndarray:
        out = np.zeros(self.n)
        for d in self.plan.doses:
            if d.drug == drug:
                s = max(self.index(d.start), 0)
                e = self.n if d.end is None else min(self.index(d.end), self.n)
                out[s:e] = 1.0
        return out


def pulse_days(plan: PatientPlan) -> list[dt.date]:
    """Cyclophosphamide infusion days (every 2 weeks within each interval)."""
    out = []
    for d in plan.doses_of("cyclophosphamide"):
        day = d.start
        while d.end is None or day < d.end:
            out.append(day)
            day += dt.timedelta(days=14)
            if d.end is None and day > d.start + dt.timedelta(days=70):
                break
    return out


def true_values(plan: PatientPlan, days: Sequence[dt.date]) -> dict[str, np.ndarray]:
    """Noise-free values of every component on each draw day."""
    ph = plan.physiology
    b = ph.baseline
    grid = _Grid(plan, max(days))
    idx = np.array([grid.index(d) for d in days])
    t = idx.astype(float)

    allopurinol = grid.active("allopurinol")
    aza = grid.daily({"azathioprine": 1.0}) / plan.weight_kg
    thio_in = aza * ph.thiopurine_exposure * np.where(allopurinol > 0, ALLOPURINOL_FACTOR, 1.0)
    x2 = _lag(_lag(thio_in, 10.0), 10.0)
    x_hb = _lag(x2, 25.0)
    x_mcv = _lag(thio_in, MCV_LAG_DAYS)
    mmf = _lag(grid.daily({"mycophenolate mofetil": 0.001}), 10.0)
    mtx_week = _lag(grid.daily({"methotrexate": 7.0}), 21.0)
    lef = _lag(grid.daily({"leflunomide": 1.0}), 30.0)
    tac = _lag(grid.daily({"tacrolimus": 1.0}), 14.0)
    steroid = _lag(grid.daily(PRED_EQUIVALENT), 2.0)
    hep = _lag(ph.mtx_liver * np.maximum(mtx_week - 18.0, 0.0) ** 2, 10.0)

    # a morning draw sees the exposure up to the evening before (that day's dose comes later)
    before = np.maximum(idx - 1, 0)
    x2, x_hb, x_mcv, mmf, mtx_week, lef, tac, steroid, hep = (
        a[before] for a in (x2, x_hb, x_mcv, mmf, mtx_week, lef, tac, steroid, hep)
    )
    s = steroid**2 / (steroid**2 + 20.0**2)
    th = ph.thiopurine_sensitivity * x2**1.5

    # cyclophosphamide: a dip per pulse peaking on day 10, and a slow lymphocyte cost
    dip = np.zeros(len(days))
    cumulative = np.zeros(len(days))
    for p in pulse_days(plan):
        since = t - grid.index(p)
        after = since >= 0
        x = np.where(after, since / CYC_PEAK_DAY, 0.0)
        dip += np.where(after, x**CYC_SHAPE * np.exp(CYC_SHAPE * (1.0 - x)), 0.0)
        cumulative += np.where(after, np.exp(-np.maximum(since, 0) / 120.0), 0.0)

    flare = np.zeros(len(days))
    if ph.flare is not None:
        f = ph.flare
        on, pk = grid.index(f.onset), grid.index(f.peak)
        rising = (t >= on) & (t <= pk)
        flare = np.where(rising, np.clip((t - on) / max(pk - on, 1), 0.0, 1.0) ** 1.5, flare)
        flare = np.where(t > pk, np.exp(-(t - pk) / f.settle_days), flare)

    drift = np.ones(len(days))
    if ph.drift is not None:
        start = grid.index(ph.drift.start)
        drift = np.exp(-ph.drift.per_day * np.maximum(t - start, 0.0))

    renal = np.zeros(len(days))
    if ph.nephritis is not None:
        nep = ph.nephritis
        a, r = grid.index(nep.start), grid.index(nep.resolve_from)
        renal = np.where((t >= a) & (t < r), 1.0, 0.0)
        renal = np.where(t >= r, np.exp(-(t - r) / nep.tau_days), renal)
    creat_rise = ph.nephritis.creatinine_rise if ph.nephritis else 0.0
    alb_drop = ph.nephritis.albumin_drop if ph.nephritis else 0.0

    neut = (
        b.neutrophils
        * np.exp(-0.102 * th - 0.11 * mmf - 0.004 * mtx_week - 0.005 * lef - 1.25 * dip)
        * (1 + 0.8 * s)
        * (1 - 0.45 * flare)
        * drift
    )
    lymph = (
        b.lymphocytes
        * np.exp(-0.085 * th - 0.2 * mmf - 0.004 * mtx_week - 0.3 * dip - 0.08 * cumulative)
        * (1 - 0.55 * s)
        * (1 - 0.6 * flare)
        * drift
    )
    eos = b.eosinophils * np.exp(-0.05 * th) * (1 - 0.85 * s)
    mono = b.monocytes * np.exp(-0.05 * th - 0.05 * mmf - 0.5 * dip) * (1 - 0.3 * s) * drift
    baso = np.full(len(days), b.basophils)
    hb = (
        b.hemoglobin
        * np.exp(-0.02 * ph.thiopurine_sensitivity * x_hb**1.6 - 0.02 * mmf)
        * (1 - 0.10 * flare)
        * (1 - 0.06 * renal)
    )
    plt = (
        b.platelets
        * np.exp(-0.035 * ph.thiopurine_sensitivity * x2**1.7 - 0.02 * mmf - 0.002 * mtx_week - 0.25 * dip)
        * (1 + 0.1 * s)
        * (1 - 0.72 * flare)
    )
    mcv = b.mcv + ph.mcv_per_exposure * x_mcv + 0.12 * mtx_week
    alt = b.alt * (1 + hep) * (1 + 0.15 * (lef > 0.5))
    ast = b.ast + 0.55 * (alt - b.alt)
    albumin = b.albumin - alb_drop * renal - 4.0 * flare
    creatinine = b.creatinine * (1 + creat_rise * renal) * (1 + 0.03 * tac)
    return {
        "neutrophils": neut,
        "lymphocytes": lymph,
        "eosinophils": eos,
        "monocytes": mono,
        "basophils": baso,
        "hemoglobin": hb,
        "platelets": plt,
        "mcv": mcv,
        "alt": alt,
        "ast": ast,
        "albumin": albumin,
        "creatinine": creatinine,
    }


def measure(true: dict[str, np.ndarray], rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Add measurement noise (one normal draw per result, components in a fixed order)."""
    n = len(true["neutrophils"])
    z = rng.normal(size=(n, len(COMPONENTS)))
    return {c: true[c] * np.exp(NOISE[c] * z[:, k]) for k, c in enumerate(COMPONENTS)}


def white_cells(measured: dict[str, np.ndarray]) -> np.ndarray:
    """WBC: the sum of the measured differential (added in this order, from 0.0)."""
    parts = ("neutrophils", "lymphocytes", "eosinophils", "monocytes", "basophils")
    return sum((measured[c] for c in parts), np.zeros_like(measured["neutrophils"], dtype=float))


def report(plan: PatientPlan, draws: Sequence[Draw], measured: dict[str, np.ndarray]) -> Results:
    """Round measured values as the laboratory reports them and add WBC and eGFR."""
    wbc = white_cells(measured)
    out: Results = {"wbc": wbc}
    for a in ("neutrophils", "lymphocytes", "eosinophils", "hemoglobin", "platelets", "mcv"):
        out[a] = measured[a]
    out["alt"] = np.maximum(measured["alt"], 5.0)
    out["ast"] = np.maximum(measured["ast"], 6.0)
    for a in ("albumin", "creatinine"):
        out[a] = measured[a]
    for a, values in list(out.items()):
        out[a] = np.array([round_half_up(float(v), DECIMALS[a]) for v in values])
    out["eosinophils"] = np.maximum(out["eosinophils"], 0.01)
    out["egfr"] = np.array(
        [
            round_half_up(ckd_epi_2021(float(c), plan.age_on(d.day), plan.sex), 0)
            for c, d in zip(out["creatinine"], draws, strict=True)
        ]
    )
    return {a: out[a] for a in DECIMALS}


# --------------------------------------------------------------------------- reference ranges

#: The laboratory's reference intervals (what its export prints), canonical units.
#: Haemoglobin and creatinine differ by sex; eGFR has only a lower limit.
REFERENCE: dict[str, dict[str, tuple[float | None, float | None]]] = {
    "wbc": {"": (4.0, 11.0)},
    "neutrophils": {"": (2.0, 7.5)},
    "lymphocytes": {"": (1.0, 4.0)},
    "eosinophils": {"": (0.02, 0.5)},
    "hemoglobin": {"F": (115.0, 165.0), "M": (130.0, 180.0)},
    "platelets": {"": (150.0, 400.0)},
    "mcv": {"": (80.0, 100.0)},
    "alt": {"": (0.0, 40.0)},
    "ast": {"": (0.0, 40.0)},
    "albumin": {"": (35.0, 50.0)},
    "creatinine": {"F": (45.0, 84.0), "M": (59.0, 104.0)},
    "egfr": {"": (90.0, None)},
}


def reference_range(analyte: str, sex: str) -> tuple[float | None, float | None]:
    ranges = REFERENCE[analyte]
    return ranges.get(sex) or ranges.get("") or ranges["F"]


def reference_flag(analyte: str, sex: str, value: float) -> str:
    """ "L", "H" or "" against the laboratory's reference interval."""
    lo, hi = reference_range(analyte, sex)
    if lo is not None and value < lo:
        return "L"
    if hi is not None and value > hi:
        return "H"
    return ""


def outside_reference(sex: str, results: Results, skip: Sequence[str] = ()) -> list[str]:
    """Analytes with at least one result outside the reference interval."""
    out = []
    for a, values in results.items():
        if a in skip:
            continue
        flags = {reference_flag(a, sex, float(v)) for v in values} - {""}
        if flags:
            out.append(f"{a} {'/'.join(sorted(flags))}")
    return out


# --------------------------------------------------------------------------- checks

#: The guideline action limits (BSR 2017 / NICE CKS) a quiet patient stays inside.
LOW_LIMITS = {"wbc": 3.5, "neutrophils": 1.6, "lymphocytes": 0.5, "platelets": 140.0, "albumin": 30.0, "egfr": 60.0}
HIGH_LIMITS = {"eosinophils": 0.5, "mcv": 105.0, "alt": 100.0, "ast": 100.0}
TREND_ANALYTES = ("wbc", "neutrophils")

#: The analytes the generator simulates (blood pressure and IgG are not simulated), in
#: the display order of model.ANALYTES; the sample files list exactly these.
SIMULATED_ANALYTES: tuple[str, ...] = tuple(a for a in model.ANALYTES if a in DECIMALS)


def falling_runs(values: Sequence[float] | np.ndarray, fall: float = 0.10) -> list[int]:
    """Start indexes of three consecutive falls, each by more than ``fall``."""
    v = list(values)
    starts = []
    for i in range(len(v) - 3):
        if all(v[i + k + 1] < (1 - fall) * v[i + k] for k in range(3)):
            starts.append(i)
    return starts


def creatinine_rises(days: Sequence[dt.date], creatinine: Sequence[float], rise: float = 0.30) -> list[int]:
    """Draws whose creatinine is more than ``rise`` above the lowest of the year before."""
    out = []
    for i, day in enumerate(days):
        prior = [c for d, c in zip(days[:i], creatinine[:i], strict=True) if (day - d).days <= 365]
        if prior and creatinine[i] > (1 + rise) * min(prior):
            out.append(i)
    return out


def guideline_breaches(draws: Sequence[Draw], results: Results, ignore: Sequence[str] = ()) -> list[str]:
    """Everything a guideline rule would flag, as short texts (empty list = quiet)."""
    out = []
    for a, lim in LOW_LIMITS.items():
        if a not in ignore and (results[a] < lim).any():
            out.append(f"{a} < {lim:g}")
    for a, lim in HIGH_LIMITS.items():
        if a not in ignore and (results[a] > lim).any():
            out.append(f"{a} > {lim:g}")
    if "trend" not in ignore:
        for a in TREND_ANALYTES:
            if falling_runs(results[a]):
                out.append(f"{a}: three consecutive falls > 10%")
    if "creatinine" not in ignore and creatinine_rises([d.day for d in draws], list(results["creatinine"])):
        out.append("creatinine rise > 30%")
    return out
