"""Clinical checks written from the guideline text, independent of the generator's code.

They read the canonical tables the importer produced (pandas, model dtypes).
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

#: BSR 2017 / NICE CKS action limits (clinical.md section 1b).
LOW = {"wbc": 3.5, "neutrophils": 1.6, "lymphocytes": 0.5, "platelets": 140, "albumin": 30, "egfr": 60}
HIGH = {"eosinophils": 0.5, "mcv": 105, "alt": 100, "ast": 100}
MONITORED = {"azathioprine", "methotrexate", "mycophenolate mofetil", "leflunomide", "tacrolimus", "cyclophosphamide"}


def ts(day: str | dt.date) -> pd.Timestamp:
    return pd.Timestamp(day)


def wide(labs: pd.DataFrame, pid: str) -> pd.DataFrame:
    """One row per draw (collected_at), one column per analyte."""
    sub = labs[labs["patient_id"] == pid]
    return sub.pivot_table(index="collected_at", columns="analyte", values="value", aggfunc="first").sort_index()


def between(frame: pd.DataFrame, start: dt.date | pd.Timestamp, end: dt.date | pd.Timestamp) -> pd.DataFrame:
    """Rows whose draw date is in [start, end] (dates inclusive)."""
    days = frame.index.normalize()
    return frame[(days >= ts(start)) & (days <= ts(end))]


def doses_of(doses: pd.DataFrame, pid: str, drug: str | None = None) -> pd.DataFrame:
    sub = doses[doses["patient_id"] == pid]
    if drug is not None:
        sub = sub[sub["drug"] == drug]
    return sub.sort_values("start").reset_index(drop=True)


def mg_day_on(doses: pd.DataFrame, pid: str, drug: str, day: pd.Timestamp) -> float:
    sub = doses_of(doses, pid, drug)
    on = sub[(sub["start"] <= day) & (sub["end"].isna() | (sub["end"] > day))]
    return float(on["mg_per_day"].sum())


def three_consecutive_falls(values: list[float]) -> list[int]:
    """Start indexes where three falls in a row are each more than 10 %."""
    return [i for i in range(len(values) - 3) if all(values[i + k + 1] < 0.9 * values[i + k] for k in range(3))]


def limit_breaches(frame: pd.DataFrame, skip: tuple[str, ...] = ()) -> list[str]:
    """Guideline limits crossed by any draw, the trend rule and the creatinine rule."""
    out = []
    for a, lim in LOW.items():
        if a not in skip and (frame[a].dropna() < lim).any():
            out.append(f"{a} < {lim}")
    for a, lim in HIGH.items():
        if a not in skip and (frame[a].dropna() > lim).any():
            out.append(f"{a} > {lim}")
    if "trend" not in skip:
        for a in ("wbc", "neutrophils"):
            if three_consecutive_falls(frame[a].dropna().tolist()):
                out.append(f"{a} trend")
    if "creatinine" not in skip:
        cr = frame["creatinine"].dropna()
        for when, value in cr.items():
            prior = cr[(cr.index < when) & (cr.index >= when - pd.Timedelta(days=365))]
            if len(prior) and value > 1.3 * prior.min():
                out.append("creatinine rise > 30%")
                break
    return out


def _monitored_rows(doses: pd.DataFrame, pid: str) -> list[dict]:
    sub = doses[(doses["patient_id"] == pid) & doses["drug"].isin(MONITORED)]
    return sorted(sub[["drug", "start", "end", "mg_per_day"]].to_dict("records"), key=lambda r: (r["drug"], r["start"]))


def monitoring_changes(doses: pd.DataFrame, pid: str) -> list[pd.Timestamp]:
    """Starts (after a gap) and dose increases of monitored drugs."""
    out = []
    prev: dict | None = None
    for r in _monitored_rows(doses, pid):
        same = prev is not None and prev["drug"] == r["drug"]
        contiguous = same and pd.notna(prev["end"]) and prev["end"] >= r["start"]
        if not contiguous or r["mg_per_day"] > prev["mg_per_day"]:
            out.append(r["start"])
        prev = r
    return sorted(out)


def required_interval(doses: pd.DataFrame, pid: str, day: pd.Timestamp) -> int:
    """Days allowed after a draw on ``day``: 14 while the dose has been stable under 6 weeks,
    then monthly for 3 months, then 12 weeks (BSR 2017); 12 weeks off monitored drugs."""
    on = [r for r in _monitored_rows(doses, pid) if r["start"] <= day and (pd.isna(r["end"]) or r["end"] > day)]
    changes = [c for c in monitoring_changes(doses, pid) if c <= day]
    if not on or not changes:
        return 84
    since = (day - changes[-1]).days
    return 14 if since < 41 else 30 if since < 130 else 84


def ckd_epi_2021(creatinine_umol: float, age: int, female: bool) -> float:
    """Inker et al., NEJM 2021 (race-free)."""
    scr = creatinine_umol / 88.4
    kappa = 0.7 if female else 0.9
    alpha = -0.241 if female else -0.302
    value = 142 * min(scr / kappa, 1) ** alpha * max(scr / kappa, 1) ** -1.2 * 0.9938**age
    return value * (1.012 if female else 1)


def age_on(birth: pd.Timestamp, day: pd.Timestamp) -> int:
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


def story_pid(manifest: dict, story: str) -> str:
    return manifest["stories"][story]["patient"]


def pulse_days(start: pd.Timestamp, end: pd.Timestamp) -> list[pd.Timestamp]:
    days = []
    day = start
    while day < end:
        days.append(day)
        day += pd.Timedelta(days=14)
    return days


def as_array(series: pd.Series) -> np.ndarray:
    return series.to_numpy(dtype=float)
