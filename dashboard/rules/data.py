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


def schedule_file() -> dict[str, Any]:
    return load("schedule.toml")


def dose_checks_file() -> dict[str, Any]:
    return load("dose_checks.toml")


def severity_rank(severity: str) -> int:
    """1 (info) .. 4 (urgent); 0 for anything else."""
    return SEVERITIES.index(severity) + 1 if severity in SEVERITIES else 0


@cache
def worse_direction() -> dict[str, int]:
    """Per analyte, which way a result is more severe: -1 lower (counts, albumin, eGFR),
    +1 higher (ALT/AST, MCV, eosinophils, creatinine), read from the guideline limits
    of ``rules.toml`` and the CTCAE terms (one home for each direction)."""
    out: dict[str, int] = {}
    for item in rules_file()["rule"]:
        if item["kind"] == "guideline":
            out[item["analyte"]] = -1 if item["comparison"] == "<" else 1
    for analyte, term in ctcae_file()["terms"].items():
        out.setdefault(analyte, -1 if term["direction"] == "low" else 1)
    return out


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
