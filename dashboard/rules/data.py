"""The versioned data files of the rules (``dashboard/rules/data/*.toml``), read once.

Thresholds, drug facts and citations live in those files, never in code:

* ``rules.toml``            guideline action limits, trend rules, built-in profiles, caveats
* ``ctcae.toml``            CTCAE v5.0 grade cut-offs of the monitored analytes
* ``reference_ranges.toml`` default LLN/ULN when a result carries no reference range
* ``schedule.toml``         blood-test monitoring schedule per drug
* ``dose_checks.toml``      dose checks (mg/kg/day, TPMT/NUDT15, interactions, weekly MTX)
* ``tables.toml``           the columns of the review's output tables (``tables.py``)
"""

from __future__ import annotations

import tomllib
from functools import cache
from importlib import resources
from typing import Any

import numpy as np

from dashboard.units import HB_G_PER_L_PER_MMOL, normalize_unit

#: Severity vocabulary, least to most severe (ranks 1..4; 0 = nothing).
SEVERITIES: tuple[str, ...] = ("info", "caution", "action", "urgent")

DAY = 86_400  # seconds
#: "Ongoing" end of a dose (NaT) and "never" as int64 seconds.
NEVER = 2**62


@cache
def load(name: str) -> dict[str, Any]:
    """One data file, parsed."""
    text = resources.files("dashboard.rules").joinpath("data").joinpath(name).read_text(encoding="utf-8")
    return tomllib.loads(text)


def rules_file() -> dict[str, Any]:
    return load("rules.toml")


def ctcae_file() -> dict[str, Any]:
    return load("ctcae.toml")


def ranges_file() -> dict[str, Any]:
    return load("reference_ranges.toml")


def adult_from_years() -> int:
    """The age from which the default (adult) limits apply (``reference_ranges.toml``)."""
    return int(ranges_file()["adult_from_years"])


def schedule_file() -> dict[str, Any]:
    return load("schedule.toml")


def dose_checks_file() -> dict[str, Any]:
    return load("dose_checks.toml")


def severity_rank(severity: str) -> int:
    """1 (info) .. 4 (urgent); 0 for anything else."""
    return SEVERITIES.index(severity) + 1 if severity in SEVERITIES else 0


#: The guideline comparisons of ``rules.toml`` for which a lower result is the worse one
#: (an eGFR below 60, an eGFR fallen by 30%); the others (">", "rise_pct") judge a higher one worse.
LOWER_IS_WORSE = frozenset({"<", "fall_pct"})


@cache
def worse_direction() -> dict[str, int]:
    """Per analyte, which way a result is more severe: -1 lower (counts, albumin, eGFR),
    +1 higher (ALT/AST, MCV, eosinophils, creatinine), read from the guideline limits
    of ``rules.toml``, the CTCAE terms and the renal dose limits of ``dose_checks.toml``
    (creatinine clearance: lower is worse) (one home for each direction)."""
    out: dict[str, int] = {}
    for item in rules_file()["rule"]:
        if item["kind"] == "guideline":  # a limit below, or a fall, judges lower results worse
            out[item["analyte"]] = -1 if item["comparison"] in LOWER_IS_WORSE else 1
    for analyte, term in ctcae_file()["terms"].items():
        out.setdefault(analyte, -1 if term["direction"] == "low" else 1)
    for check in dose_checks_file()["check"]:  # a renal dose limit below (creatinine clearance < 30)
        if check["type"] == "latest_result_below":
            for analyte in check["analytes"]:
                out.setdefault(analyte, -1)
    return out


def draw_severity(analyte: np.ndarray, value: np.ndarray, source_unit: list[str] | None = None) -> np.ndarray:
    """A sort key of results, larger = more severe, for the results of one draw (same
    patient, analyte and time) that differ: the one home of "the draw's more severe value",
    which the review counts and the Panel and the summary export show.

    ``analyte``: analyte ids; ``value``: canonical values; ``source_unit``: the units as
    reported (for haemoglobin).  The key is the value in the analyte's worse direction,
    except that a haemoglobin's CTCAE anaemia grade on the cuts of the unit it was
    reported in comes first: those cuts do not convert exactly (4.9 mmol/L is 79.0 g/L
    and grade 2; 79 g/L is grade 3), so the lower g/L value is not always the higher grade.
    """
    direction = worse_direction()
    key = np.array([direction.get(a, 1) for a in analyte], dtype=np.float64) * np.asarray(value, dtype=np.float64)
    hb = np.flatnonzero(np.asarray(analyte) == "hemoglobin")
    if len(hb) and source_unit is not None:
        mmol = np.array([normalize_unit(source_unit[i] or "") == "mmol/l" for i in hb], dtype=bool)
        key[hb] += 1e6 * hb_grade_as_reported(np.asarray(value, dtype=np.float64)[hb], mmol)
    return key


def hb_grade_as_reported(value: np.ndarray, mmol: np.ndarray) -> np.ndarray:
    """CTCAE anaemia grade above grade 1 (2 or 3; 0 when neither cut is crossed) of
    haemoglobin values in g/L, each on the cuts of the unit it was reported in (``mmol``:
    reported in mmol/L).  A value equal to a cut up to float rounding is not below it."""
    term = ctcae_file()["terms"]["hemoglobin"]
    shown = np.where(mmol, np.round(value / HB_G_PER_L_PER_MMOL, 9), value)
    grade = np.zeros(len(value), dtype=np.int8)
    for cuts, these in ((term["cuts"], ~mmol), (term["cuts_mmol_per_l"], mmol)):
        for g, cut in cuts:
            with np.errstate(invalid="ignore"):
                below = these & (shown < cut) & ~np.isclose(shown, cut, rtol=1e-9, atol=0.0)
            grade[below] = np.maximum(grade[below], g)
    return grade


def caveat(key: str) -> str:
    return rules_file()["caveats"][key]


def versions() -> dict[str, str]:
    """Version of every data file (shown with a review so it can be reproduced)."""
    return {
        "rules": rules_file()["version"],
        "ctcae": ctcae_file()["version"],
        "reference_ranges": ranges_file()["version"],
        "schedule": schedule_file()["version"],
        "dose_checks": dose_checks_file()["version"],
    }
