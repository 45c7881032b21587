"""Units: recognising how a lab wrote a unit, and converting to the canonical unit.

Each analyte belongs to a unit *family* (``vocab/analytes.toml``).  A family lists the
unit spellings it accepts and the factor that turns a value in that unit into the
canonical unit (``model.CANONICAL_UNITS``).  A spelling that is not in the analyte's
family is never converted: the result is rejected with the reason, because a wrong
unit is the one error a clinician cannot see on a chart.

The factors are physical identities, not clinical thresholds:

* 1 x10^9/L = 1 x10^3/uL = 1 K/uL = 1 G/L (giga per litre) = 1000 /uL = 1000 /mm3
  = 1 Tsd/uL (German: thousand per uL) = 1 Mrd/L (German: milliard, 10^9, per litre)
* haemoglobin: 1 g/dL = 10 g/L; 1 mmol/L (monomer) = 16.1134 g/L (1 g/dL = 0.6206 mmol/L)
* albumin: 1 g/dL = 10 g/L
* creatinine: 1 mg/dL = 88.4 umol/L; 1 mmol/L = 1000 umol/L
* enzymes: 1 ukat/L = 60 U/L; 1 IU/L = 1 U/L
* blood pressure: 1 kPa = 7.50062 mmHg
* IgG: 1 g/dL = 10 g/L; 100 mg/dL = 1 g/L; 1 mg/L = 0.001 g/L
* creatinine clearance: 1 mL/s = 60 mL/min (a volume per time; an eGFR per 1.73 m² of body
  surface is another quantity and is never converted into it, nor it into an eGFR)

Doses and body weights are masses, converted here too (:func:`to_mg`, :func:`weight_kg`):

* 1 g = 1000 mg; 1 mg = 1000 mcg (µg, ug, microgram)
* 1 lb = 0.45359237 kg exactly (the international pound, 1959); 1 kg = 1000 g
"""

from __future__ import annotations

import math
import re
import tomllib
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from functools import cache
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from dashboard.model import CANONICAL_UNITS, DIFFERENTIALS, analyte_info

#: Haemoglobin molar conversion: g/L per mmol/L (Hb monomer, 16 114.5 g/mol / 1000).
HB_G_PER_L_PER_MMOL = 16.1134

#: Accepted spellings per unit family, already normalised by :func:`normalize_unit`,
#: with the factor to the canonical unit.
FAMILY_UNITS: dict[str, dict[str, float]] = {
    "count": {
        "10^9/l": 1.0,
        "10^3/ul": 1.0,
        "10^3/mm3": 1.0,
        "k/ul": 1.0,
        "k/mm3": 1.0,
        "thou/ul": 1.0,
        "thou/mm3": 1.0,
        "th/ul": 1.0,
        "th/mm3": 1.0,
        "g/l": 1.0,  # giga per litre (German/Austrian labs write G/l); see family_of()
        "gpt/l": 1.0,
        "gi/l": 1.0,
        "giga/l": 1.0,  # French labs: "Giga/L"
        "mrd/l": 1.0,  # Milliarden pro Liter (10^9/L)
        "tsd/ul": 1.0,  # Tausend pro µl (10^3/µL), German labs' "Tsd/µl"
        "/nl": 1.0,
        "n/nl": 1.0,
        "cells/nl": 1.0,
        "10^9cells/l": 1.0,
        "/ul": 0.001,
        "/mm3": 0.001,
        "cells/ul": 0.001,
        "cells/mm3": 0.001,
        "#/ul": 0.001,
        "n/ul": 0.001,
        "10^6/l": 0.001,
    },
    "hemoglobin": {
        "g/l": 1.0,
        "g/dl": 10.0,
        "gm/dl": 10.0,
        "g%": 10.0,
        "g/100ml": 10.0,
        "mmol/l": HB_G_PER_L_PER_MMOL,
    },
    "mcv": {"fl": 1.0, "um3": 1.0, "cubicmicrons": 1.0},
    "enzyme": {
        "u/l": 1.0,
        "iu/l": 1.0,
        "units/l": 1.0,
        "unit/l": 1.0,
        "ui/l": 1.0,
        "e/l": 1.0,  # Einheiten/l
        "ukat/l": 60.0,
        "nkat/l": 0.06,
    },
    "albumin": {"g/l": 1.0, "g/dl": 10.0, "gm/dl": 10.0, "g/100ml": 10.0, "mg/dl": 0.01},
    "creatinine": {"umol/l": 1.0, "mg/dl": 88.4, "mmol/l": 1000.0, "mg/l": 8.84},
    "egfr": {
        "ml/min/1.73m2": 1.0,
        "ml/min": 1.0,
        "ml/s/1.73m2": 60.0,
    },
    "crcl": {"ml/min": 1.0, "ml/s": 60.0},
    "pressure": {"mmhg": 1.0, "mm": 1.0, "kpa": 7.50062},
    "immunoglobulin": {"g/l": 1.0, "mg/dl": 0.01, "g/dl": 10.0, "mg/l": 0.001},
}

#: Spellings of a percentage of the white cells (and its fraction), normalised.
PERCENT_UNITS = frozenset(("%", "percent", "pct", "/100wbc", "/100leukocytes", "%ofwbc", "fraction"))

#: What a unit means that its conversion factor does not say: (analyte, normalised unit)
#: -> the note the import report gives beside the count of results read in it.
UNIT_NOTES: dict[tuple[str, str], str] = {
    ("egfr", "ml/min"): (
        "written in mL/min, which is not indexed to body surface (1.73 m²): read as an eGFR in "
        "mL/min/1.73 m² without any adjustment; if the lab reports a creatinine clearance "
        "(Cockcroft-Gault) under this name, it is not an eGFR; a result named creatinine clearance is "
        "read as one (CrCl, mL/min)"
    ),
}

#: Units of another quantity written on a result: (analyte, normalised unit) -> why the
#: result is rejected rather than read (H413).  A creatinine clearance indexed to body
#: surface (mL/min/1.73 m²) is neither the unindexed clearance the methotrexate SmPC states
#: its limits in nor an eGFR; turning it into either needs the body surface area, which
#: the dashboard never guesses.  (The reverse, an eGFR written in plain mL/min, is read as
#: an eGFR with the note of UNIT_NOTES: an eGFR equation gives a value per 1.73 m² only, so
#: the unit is a shortening, while a clearance exists both ways and the unit decides which.)
UNIT_REJECTIONS: dict[tuple[str, str], str] = {
    ("crcl", "ml/min/1.73m2"): (
        "a creatinine clearance in mL/min/1.73 m² is indexed to body surface: not the clearance in mL/min "
        "that the methotrexate SmPC limits are stated in, and not an eGFR; not converted (that needs the "
        "body surface area): ask the laboratory for the clearance in mL/min, or report it as an eGFR if it is one"
    ),
    ("crcl", "ml/s/1.73m2"): (
        "a creatinine clearance in mL/s/1.73 m² is indexed to body surface: not the clearance in mL/min "
        "that the methotrexate SmPC limits are stated in, and not an eGFR; not converted (that needs the "
        "body surface area): ask the laboratory for the clearance in mL/min, or report it as an eGFR if it is one"
    ),
}

#: Why a missing unit is never inferred for a family with no units to infer (INFER_UNITS empty).
NO_INFERENCE: dict[str, str] = {
    "crcl": "a creatinine clearance may be in mL/min or indexed to body surface (mL/min/1.73 m²), "
    "two different quantities with the same numbers",
}

#: Spellings considered when a unit is *missing*: the units such a result is written
#: in when an export leaves the unit out.  Rare units (mmol/L creatinine, ukat/L) are
#: deliberately absent, so a bare "35" for ALT reads as U/L only, unless the same file
#: writes the analyte's other results in such a unit: it then competes, never inferred
#: itself (:func:`unit_candidates`, H581).
INFER_UNITS: dict[str, tuple[str, ...]] = {
    "count": ("10^9/l", "/ul"),
    "hemoglobin": ("g/l", "g/dl", "mmol/l"),
    "mcv": ("fl",),
    "enzyme": ("u/l",),
    "albumin": ("g/l", "g/dl"),
    "creatinine": ("umol/l", "mg/dl"),
    "egfr": ("ml/min/1.73m2",),
    "crcl": (),  # never inferred: NO_INFERENCE
    "pressure": ("mmhg",),
    "immunoglobulin": ("g/l", "mg/dl"),
}

#: Display names of the canonical units and of the US conventional alternatives.
DISPLAY_UNIT = {
    "10^9/L": "×10⁹/L",
    "g/L": "g/L",
    "fL": "fL",
    "U/L": "U/L",
    "umol/L": "µmol/L",
    "mL/min/1.73m2": "mL/min/1.73 m²",
    "mL/min": "mL/min",
    "mmHg": "mmHg",
}

#: US conventional display units: analyte -> (unit label, factor from canonical).
US_CONVENTIONAL: dict[str, tuple[str, float]] = {
    "wbc": ("K/µL", 1.0),
    "neutrophils": ("K/µL", 1.0),
    "lymphocytes": ("K/µL", 1.0),
    "eosinophils": ("K/µL", 1.0),
    "platelets": ("K/µL", 1.0),
    "hemoglobin": ("g/dL", 0.1),
    "mcv": ("fL", 1.0),
    "alt": ("U/L", 1.0),
    "ast": ("U/L", 1.0),
    "albumin": ("g/dL", 0.1),
    "creatinine": ("mg/dL", 1 / 88.4),
    "egfr": ("mL/min/1.73 m²", 1.0),
    "crcl": ("mL/min", 1.0),
    "bp_systolic": ("mmHg", 1.0),
    "bp_diastolic": ("mmHg", 1.0),
    "igg": ("mg/dL", 100.0),
}

_SUPERSCRIPTS = str.maketrans(
    {"⁰": "0", "¹": "1", "²": "2", "³": "3", "⁴": "4", "⁵": "5", "⁶": "6", "⁷": "7", "⁸": "8", "⁹": "9"}
)
_POWER = re.compile(r"^(?:x|\*)?10(?:\^|\*|e|\*\*)?(\d+)")


@cache
def normalize_unit(text: str) -> str:
    """Normalise a unit spelling so that equivalent spellings compare equal.

    >>> normalize_unit("x10E9/L"), normalize_unit("10*3/µL"), normalize_unit("K/cumm")
    ('10^9/l', '10^3/ul', 'k/mm3')
    """
    u = text.strip().translate(_SUPERSCRIPTS).lower()
    u = u.replace("µ", "u").replace("μ", "u").replace("×", "x").replace("³", "3").replace("²", "2")
    u = re.sub(r"\s+", "", u)
    u = u.replace("{1.73_m2}", "1.73m2").replace("{cells}", "cells").replace("[hg]", "hg")  # UCUM mm[Hg]
    u = u.strip("[](){} ")
    u = u.replace("1,73", "1.73").replace("1.73m^2", "1.73m2").replace("1.73sqm", "1.73m2")
    u = u.replace("perl", "/l") if u.endswith("perl") else u
    u = (
        u.replace("cumm", "mm3")
        .replace("cmm", "mm3")
        .replace("mm^3", "mm3")
        .replace("/mcl", "/ul")
        .replace("mcl", "ul")
    )
    u = u.replace("mcmol", "umol").replace("micromol", "umol")
    u = re.sub(r"^(thou|thousand)s?/", "thou/", u)
    u = re.sub(r"^(tsd|mrd)\./", r"\1/", u)  # "Tsd./µl", "Mrd./l": the abbreviation's point
    u = re.sub(r"^(cells|cell)/", "cells/", u)
    m = _POWER.match(u)
    if m:
        u = "10^" + m.group(1) + u[m.end() :]
    if u in ("iu/l", "iu/liter", "iu/litre"):
        return "iu/l"
    if u in ("u/liter", "u/litre", "units/liter", "units/litre"):
        return "u/l"
    return u


@dataclass(frozen=True)
class UnitResolution:
    """How a (analyte, unit text) pair is read."""

    factor: float | None  # multiply the source value by this to get the canonical unit
    percent: bool = False  # a % of leukocytes (differential), to be made absolute
    problem: str = ""  # why the unit cannot be used (factor is None)


def family_of(analyte: str) -> str:
    return analyte_info()[analyte].family


@cache
def resolve_unit(analyte: str, unit_text: str) -> UnitResolution:
    """Resolve a unit spelling for an analyte.  Empty text means "no unit given"."""
    if not unit_text.strip():
        return UnitResolution(None, problem="missing")
    key = normalize_unit(unit_text)
    if key in PERCENT_UNITS:
        if analyte in DIFFERENTIALS:
            # a fraction of the white cells (0.50) is a hundredth of the percentage (50 %)
            return UnitResolution(100.0 if key == "fraction" else 1.0, percent=True)
        return UnitResolution(
            None, problem=f"'{unit_text}' is a percentage, not a unit for {analyte_info()[analyte].label}"
        )
    factor = FAMILY_UNITS[family_of(analyte)].get(key)
    if (analyte, key) in UNIT_REJECTIONS:
        return UnitResolution(None, problem=f"unit '{unit_text}': {UNIT_REJECTIONS[(analyte, key)]}")
    if factor is None:
        canon = CANONICAL_UNITS[analyte]
        return UnitResolution(
            None,
            problem=f"unit '{unit_text}' is not a unit for {analyte_info()[analyte].label} (expected e.g. {canon})",
        )
    return UnitResolution(factor)


def is_unit(text: str) -> bool:
    """True when ``text`` is a unit of some test or a percentage: a range followed by it is
    in that unit, whether or not it is a unit of the test beside it (H365)."""
    key = normalize_unit(text)
    return key in PERCENT_UNITS or any(key in units for units in FAMILY_UNITS.values())


def candidate_factors(analyte: str) -> dict[str, float]:
    """The units a missing unit may be inferred as, with their factors."""
    family = family_of(analyte)
    return {s: FAMILY_UNITS[family][s] for s in INFER_UNITS[family]}


@dataclass(frozen=True)
class UnitCandidates:
    """The units a result with no unit is weighed against: the analyte's usual units
    (:data:`INFER_UNITS`), then any other unit the same file writes for the analyte (a
    Nordic file's ALT in µkat/L).  A unit only the file uses competes (a value it fits
    too is not inferred) but is never inferred itself (H581)."""

    spellings: tuple[str, ...]  # normalised
    factors: np.ndarray
    inferable: np.ndarray  # per candidate: one of INFER_UNITS
    #: the factors of the units the file's other results of the analyte are written in
    #: (percentages and texts that are no unit of the analyte left out: judged elsewhere)
    file_factors: frozenset[float]


def unit_candidates(analyte: str, file_units=()) -> UnitCandidates:
    """The candidates for one analyte of one file (``file_units``: the normalised units its
    other results of the analyte are written in; computed once per analyte, not per row)."""
    table = FAMILY_UNITS[family_of(analyte)]
    spellings = list(INFER_UNITS[family_of(analyte)])
    factors = [table[s] for s in spellings]
    inferable = [True] * len(spellings)
    seen: set[float] = set()
    for u in sorted(file_units):
        f = table.get(u)
        if f is None:
            continue
        seen.add(f)
        if f not in factors:
            spellings.append(u)
            factors.append(f)
            inferable.append(False)
    return UnitCandidates(tuple(spellings), np.asarray(factors, float), np.asarray(inferable, bool), frozenset(seen))


def fitting_units(analyte: str, values: np.ndarray, cands: UnitCandidates) -> np.ndarray:
    """Per candidate and value: does the value in that unit lie in the analyte's typical band?"""
    lo, hi = analyte_info()[analyte].typical
    with np.errstate(invalid="ignore"):
        canon = np.asarray(values, float)[None, :] * cands.factors[:, None]
        return (canon >= lo) & (canon <= hi)


def inferred_units(cands: UnitCandidates, fits: np.ndarray) -> np.ndarray:
    """Per value, the candidate a missing unit is inferred as, -1 where none: exactly one
    candidate fits, it is one of the usual units, and the file's other results of the
    analyte use no other unit (H581, H584)."""
    if not len(cands.factors):
        return np.full(fits.shape[1] if fits.ndim == 2 else 0, -1, dtype=np.int64)
    k = fits.argmax(axis=0)
    ok = (fits.sum(axis=0) == 1) & cands.inferable[k]
    if cands.file_factors:
        ok &= np.isin(cands.factors[k], list(cands.file_factors)) & (len(cands.file_factors) == 1)
    return np.where(ok, k, -1)


def infer_unit(analyte: str, value: float, file_units=()) -> tuple[str, float] | None:
    """Infer a missing unit from the magnitude, only when exactly one unit fits and the
    file's other results of the analyte (``file_units``, normalised) use no other unit.

    Returns ``(spelling, factor)`` or ``None``.  :func:`dashboard.ingest.labs._infer_missing`
    applies the same rule (:func:`inferred_units`) to a whole file at once.
    """
    cands = unit_candidates(analyte, file_units)
    k = int(inferred_units(cands, fitting_units(analyte, np.array([value]), cands))[0])
    return None if k < 0 else (cands.spellings[k], float(cands.factors[k]))


def convert(value: float, factor: float) -> float:
    """Multiply and round away binary noise (12 significant digits)."""
    return round_sig(value * factor)


def round_sig(x: float, digits: int = 12) -> float:
    if x == 0 or not math.isfinite(x):
        return x
    return round(x, digits - 1 - math.floor(math.log10(abs(x))))


def is_plausible(analyte: str, canonical_value: float) -> bool:
    """True when a value in the canonical unit could be a real result (0 only where a
    count can be 0: ``zero`` in ``vocab/analytes.toml``)."""
    if canonical_value == 0:
        return analyte_info()[analyte].zero_possible
    lo, hi = analyte_info()[analyte].plausible
    return lo <= canonical_value <= hi


def display_unit(analyte: str, system: str = "SI") -> str:
    """The unit label to show for an analyte in a unit system ("SI" or "US")."""
    if system == "US":
        return US_CONVENTIONAL[analyte][0]
    return DISPLAY_UNIT.get(CANONICAL_UNITS[analyte], CANONICAL_UNITS[analyte])


def to_display(analyte: str, canonical_value: float, system: str = "SI") -> float:
    """Convert a canonical value to the display unit system."""
    if system == "US":
        return round_sig(canonical_value * US_CONVENTIONAL[analyte][1], 10)
    return canonical_value


def display_factor(analyte: str, system: str = "SI") -> float:
    return US_CONVENTIONAL[analyte][1] if system == "US" else 1.0


# --------------------------------------------------------------------------- precision

_NUMBER = re.compile(r"[-+]?(\d+)(?:[.,](\d+))?")


def reported_decimals(text: str) -> int | None:
    """Decimals of the number in a result as the lab wrote it ("1.18" -> 2, "<0,5" -> 1, "140" -> 0)."""
    m = _NUMBER.search(text or "")
    if not m:
        return None
    return len(m.group(2) or "")


def _reported_number(text: str) -> float | None:
    m = _NUMBER.search(text or "")
    if not m:
        return None
    return float(m.group(0).replace(",", "."))


def judged_limits(analyte: str) -> tuple[float, ...]:
    """Every limit a result of ``analyte`` is judged against by a fixed number, in the
    canonical unit: the CTCAE v5.0 cut-offs (``rules/data/ctcae.toml``) and the limits of
    every guideline rule of ``rules/data/rules.toml`` ("<" or ">").  A profile only chooses
    among those rules (it never changes a limit), so the active profile's limits are among
    them.  Limits that depend on the row (the lab's LLN/ULN, a baseline) are not known
    here: a flag passes its own threshold as ``limits`` to :func:`display_decimals`."""
    return _judged_limits().get(analyte, ())


@cache
def _judged_limits() -> dict[str, tuple[float, ...]]:
    """:func:`judged_limits` of every analyte, from one read of the two files."""
    # read from the rules' data files themselves: the rules package imports this module
    data = Path(__file__).parent / "rules" / "data"
    ctcae = tomllib.loads((data / "ctcae.toml").read_text(encoding="utf-8"))
    rules = tomllib.loads((data / "rules.toml").read_text(encoding="utf-8"))
    found: dict[str, set[float]] = {}
    for analyte, term in ctcae["terms"].items():
        found.setdefault(analyte, set()).update(float(c) for _grade, c in term.get("cuts", []))
    for r in rules["rule"]:
        if r.get("kind") == "guideline" and r.get("comparison") in ("<", ">") and "analyte" in r:
            found.setdefault(r["analyte"], set()).add(float(r["threshold"]))
    return {a: tuple(sorted(limits)) for a, limits in found.items()}


def _own_decimals(x: float) -> int:
    """The decimals of a value's own precision (1.595 -> 3, 79.5 -> 1, 80.0 -> 0)."""
    exponent = Decimal(repr(round_sig(x, 10))).normalize().as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 0


def crosses(exact: float, shown: float, limits) -> bool:
    """True when the shown (rounded) number sits on the other side of a limit than the
    exact value, or on a limit the exact value is not on (1.595 shown as 1.60 beside < 1.6)."""
    return any((exact < t) != (shown < t) or (exact > t) != (shown > t) for t in limits)


def display_decimals(
    analyte: str, canonical_value: float, system: str = "SI", source_value: str = "", limits=()
) -> int:
    """How many decimals to show a result with: the one home of a shown value's precision.

    In the unit the lab wrote (the displayed number equals the number of the source
    text), the lab's own decimals; otherwise (a converted or calculated result) the
    decimals a lab reporting in the display unit uses (``vocab/analytes.toml``).  Never
    more precision than the source had: 0.73 mg/dL creatinine is 65 umol/L, not 64.532.

    But a shown number never sits on the other side of (or on) a limit the value is judged
    against (:func:`judged_limits`, and ``limits``: the flag's own threshold, canonical
    unit) than the exact value: then more decimals are shown, up to the value's own
    precision, so that the number and its flag agree (1595 cells/uL: "1.595", not "1.60",
    beside "< 1.6"; 7.95 g/dL: "79.5" g/L, not "80", beside grade 3 "< 80").
    """
    shown = to_display(analyte, canonical_value, system)
    reported = _reported_number(source_value)
    if reported is not None and math.isfinite(shown) and math.isclose(abs(reported), abs(shown), rel_tol=1e-9):
        d = reported_decimals(source_value) or 0
    else:
        si, us = analyte_info()[analyte].decimals
        d = us if system == "US" else si
    if not math.isfinite(shown):
        return d
    bounds = [to_display(analyte, t, system) for t in (*judged_limits(analyte), *limits) if math.isfinite(t)]
    own = _own_decimals(shown)
    while d < own and crosses(shown, round_half_up(shown, d), bounds):
        d += 1
    return d


def round_half_up(x: float, decimals: int) -> float:
    """Round as a laboratory does (half away from zero): 3.25 -> 3.3, not Python's 3.2.

    The value is first scaled and freed of binary noise at 6 decimals, exactly as the
    column-wise :func:`display_text_array` does, so that a product that is a tie in
    decimal (2425 x 16.1134 = 39074.995, stored as 39074.994999...) rounds the same way
    in both: up."""
    scaled = Decimal(repr(round(abs(x) * 10.0**decimals, 6))).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    return math.copysign(float(scaled.scaleb(-decimals)), x)


def display_number(
    analyte: str, canonical_value: float, system: str = "SI", source_value: str = "", limits=()
) -> float:
    """The value in the display unit, rounded by :func:`display_decimals` (NaN stays NaN)."""
    if canonical_value is None or not math.isfinite(canonical_value):
        return math.nan
    d = display_decimals(analyte, canonical_value, system, source_value, limits)
    return round_half_up(to_display(analyte, canonical_value, system), d)


def display_text(
    analyte: str,
    canonical_value: float,
    system: str = "SI",
    source_value: str = "",
    comparator: str = "",
    limits=(),
) -> str:
    """The value as text in the display unit, rounded by :func:`display_decimals` ("<0.5",
    "65", "1.595" beside < 1.6, "")."""
    if canonical_value is None or not math.isfinite(canonical_value):
        return ""
    d = display_decimals(analyte, canonical_value, system, source_value, limits)
    return f"{comparator}{round_half_up(to_display(analyte, canonical_value, system), d):.{d}f}"


def display_texts(analytes, values, system: str = "SI", sources=None, comparators=None, limits=None) -> list[str]:
    """:func:`display_text` over columns (lists, arrays or Series of equal length);
    ``limits``: each row's own threshold (canonical unit, NaN for none), e.g. a flag's."""
    n = len(values)
    analytes, values = list(analytes), list(values)
    sources = [""] * n if sources is None else list(sources)
    comparators = [""] * n if comparators is None else list(comparators)
    own = [math.nan] * n if limits is None else [math.nan if x is None else float(x) for x in limits]
    out = [""] * n
    for a in dict.fromkeys(analytes):  # one column-wise pass per analyte
        rows = [i for i, x in enumerate(analytes) if x == a]
        texts = display_text_array(
            a,
            [values[i] for i in rows],
            system,
            [sources[i] for i in rows],
            [comparators[i] for i in rows],
            [own[i] for i in rows],
        )
        for i, t in zip(rows, texts, strict=True):
            out[i] = t
    return out


def display_text_array(
    analyte: str, values, system: str = "SI", sources=None, comparators=None, limits=None
) -> list[str]:
    """:func:`display_text` for many results of one analyte at once (the panel's latest
    values of thousands of patients): the same text, computed column-wise; a row whose
    rounded number would cross a limit (:func:`display_decimals`) is left to
    :func:`display_text` itself."""
    v = np.asarray(values, dtype=float)
    n = len(v)
    if n == 0:
        return []
    shown = v * display_factor(analyte, system)
    if system == "US":
        shown = np.array([round_sig(x, 10) if math.isfinite(x) else x for x in shown.tolist()])
    src_text = ["" if s is None else str(s) for s in sources] if sources is not None else [""] * n
    src = pa.array(src_text, pa.string())
    parts = pc.extract_regex(src, r"(?P<w>\d+)(?:[.,](?P<f>\d+))?")  # the first number, as _NUMBER
    whole, frac = pc.struct_field(parts, "w"), pc.fill_null(pc.struct_field(parts, "f"), "")
    number = pc.binary_join_element_wise(whole, frac, ".")
    reported = pc.cast(number, pa.float64()).to_numpy(zero_copy_only=False)
    reported = np.where(np.isnan(reported), np.nan, reported)
    same = np.isfinite(reported) & np.isfinite(shown) & np.isclose(np.abs(reported), np.abs(shown), rtol=1e-9, atol=0)
    si, us = analyte_info()[analyte].decimals
    frac_len = pc.fill_null(pc.utf8_length(frac), 0).to_numpy(zero_copy_only=False).astype(int)
    dec = np.where(same, frac_len, us if system == "US" else si)
    scale = 10.0**dec
    rounded = np.sign(shown) * np.floor(np.round(np.abs(shown) * scale, 6) + 0.5) / scale  # half up, as a lab
    cmp = [""] * n if comparators is None else ["" if c is None else str(c) for c in comparators]
    own = np.full(n, np.nan) if limits is None else np.asarray(limits, dtype=float)
    # rows whose rounded number sits across (or on) a limit the exact value does not
    across = np.zeros(n, dtype=bool)
    for t in judged_limits(analyte):
        t = to_display(analyte, t, system)
        across |= ((shown < t) != (rounded < t)) | ((shown > t) != (rounded > t))
    mine = np.where(np.isfinite(own), own * display_factor(analyte, system), np.nan)
    with np.errstate(invalid="ignore"):
        across |= np.isfinite(mine) & (((shown < mine) != (rounded < mine)) | ((shown > mine) != (rounded > mine)))
    across &= np.isfinite(shown)
    texts = [
        f"{c}{x:.{d}f}" if math.isfinite(x) else "" for c, x, d in zip(cmp, rounded.tolist(), dec.tolist(), strict=True)
    ]
    for i in np.flatnonzero(across).tolist():
        texts[i] = display_text(
            analyte, float(v[i]), system, src_text[i], cmp[i], () if np.isnan(own[i]) else (own[i],)
        )
    return texts


# --------------------------------------------------------------------------- doses and body weights

#: Each mass unit once: its factor to mg and its spellings (lower case).
_MASSES: dict[str, tuple[float, tuple[str, ...]]] = {
    "mg": (1.0, ("mg", "milligram", "milligrams")),
    "g": (1000.0, ("g", "gm", "gram", "grams")),
    "mcg": (0.001, ("mcg", "ug", "µg", "μg", "microgram", "micrograms")),  # µg: micro sign, Greek mu
}
#: Spellings of a mass unit (lower case) -> (canonical spelling, factor to mg).
MASS_UNITS: dict[str, tuple[str, float]] = {
    spelling: (unit, factor) for unit, (factor, spellings) in _MASSES.items() for spelling in spellings
}


def mass_unit(text: str) -> str | None:
    """The canonical spelling ("mg", "g", "mcg") of a mass unit as written, None for another unit.

    >>> mass_unit("MICROGRAMS"), mass_unit("Gm"), mass_unit("tablet")
    ('mcg', 'g', None)
    """
    found = MASS_UNITS.get(text.strip().lower())
    return found[0] if found else None


def mg_factor(text: str) -> float | None:
    """The factor that turns an amount in this mass unit into mg (None for another unit)."""
    found = MASS_UNITS.get(text.strip().lower())
    return found[1] if found else None


def to_mg(value: float, unit: str) -> float | None:
    """An amount in mg, rounded to 6 decimals (1 ng) so no binary noise shows: 500 mcg -> 0.5.

    None when ``unit`` is not a mass unit (a tablet count, mL, IU): never guessed.
    """
    factor = mg_factor(unit)
    return None if factor is None else round(value * factor, 6)


#: Kilograms in one (international avoirdupois) pound, exact by definition.
KG_PER_LB = 0.45359237

#: Spellings of a body-weight unit (lower case, UCUM brackets removed) -> factor to kg.
WEIGHT_UNITS: dict[str, float] = {
    "kg": 1.0,
    "kgs": 1.0,
    "kilogram": 1.0,
    "kilograms": 1.0,
    "g": 0.001,
    "lb": KG_PER_LB,
    "lbs": KG_PER_LB,
    "lb_av": KG_PER_LB,  # UCUM [lb_av]
    "pound": KG_PER_LB,
    "pounds": KG_PER_LB,
    # the British stone, 14 lb (a weight unit column may say "st")
    "st": 14 * KG_PER_LB,
    "stone": 14 * KG_PER_LB,
    "stones": 14 * KG_PER_LB,
}


def weight_factor(unit: str) -> float | None:
    """The factor to kg of a body-weight unit as written ("kg", "[lb_av]", "Pounds"); None if unknown."""
    return WEIGHT_UNITS.get(unit.strip().lower().replace("[", "").replace("]", ""))


#: The heaviest body weight the import accepts (kg); a heavier one is rejected as not
#: plausible.  A dose above a mg/kg limit at this weight is above it at any weight.
MAX_BODY_WEIGHT_KG = 400.0


def weight_kg(value: float, unit: str) -> float | None:
    """A body weight in kg; None when ``unit`` is not a weight unit.

    A weight already in kg is kept as written; a converted one is rounded to 10 g.
    """
    factor = weight_factor(unit)
    if factor is None:
        return None
    return value if factor == 1.0 else round(value * factor, 2)
