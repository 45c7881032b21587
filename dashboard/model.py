"""The canonical data model: one definition of labs, doses, patients and baselines.

Every reader converts its input into these tables and every rule, chart and export
reads only from them.  The human-readable description lives in ``docs/data-model.md``;
a test checks that the two agree.

Tables are built as :class:`pyarrow.Table` on the import hot path (fast, no pandas
import needed by the CLI) and handed to the UI and rules as pandas DataFrames with the
dtypes below (:func:`to_pandas`).

Conventions
-----------
* Times are naive wall-clock times as the source wrote them (a UTC offset, when
  present, is dropped, not converted: the clinician sees the date the lab printed).
* Values are floats in the analyte's canonical unit; the text as written is kept in
  ``source_value`` / ``source_unit`` so the raw result is never hidden.
* Missing numbers are NaN, missing text is the empty string, missing times are NaT,
  a missing ``source_row`` is 0 (e.g. a dose entered in the app).
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

SCHEMA_VERSION = 1

# --------------------------------------------------------------------------- analytes

#: Closed vocabulary of analytes, in display order.
ANALYTES: tuple[str, ...] = (
    "wbc",
    "neutrophils",
    "lymphocytes",
    "eosinophils",
    "hemoglobin",
    "platelets",
    "mcv",
    "alt",
    "ast",
    "albumin",
    "creatinine",
    "egfr",
    "crcl",
    "bp_systolic",
    "bp_diastolic",
    "igg",
)

#: Canonical unit of each analyte.  Every stored ``value`` is in this unit.
CANONICAL_UNITS: dict[str, str] = {
    "wbc": "10^9/L",
    "neutrophils": "10^9/L",
    "lymphocytes": "10^9/L",
    "eosinophils": "10^9/L",
    "platelets": "10^9/L",
    "hemoglobin": "g/L",
    "mcv": "fL",
    "alt": "U/L",
    "ast": "U/L",
    "albumin": "g/L",
    "creatinine": "umol/L",
    "egfr": "mL/min/1.73m2",
    "crcl": "mL/min",
    "bp_systolic": "mmHg",
    "bp_diastolic": "mmHg",
    "igg": "g/L",
}

#: Analytes that are cell counts: a percentage of WBC can be turned into one.
DIFFERENTIALS: tuple[str, ...] = ("neutrophils", "lymphocytes", "eosinophils")

#: A censored result's comparator: "<=" / ">=" are inclusive (the bound itself is possible).
COMPARATORS: tuple[str, ...] = ("", "<", ">", "<=", ">=")


@dataclass(frozen=True)
class AnalyteInfo:
    """Identity, naming and plausibility of one analyte (from ``vocab/analytes.toml``)."""

    id: str
    label: str
    name: str
    unit: str
    family: str
    plausible: tuple[float, float]
    typical: tuple[float, float]
    loinc: tuple[str, ...]
    loinc_percent: tuple[str, ...]
    aliases: tuple[str, ...]
    decimals: tuple[int, int] = (2, 2)  # as a lab reports it in the display unit: (SI, US)
    scale: tuple[float, float] = (0.0, 1.0)  # the clinical scale of its charts, canonical unit
    zero_possible: bool = False  # a result of exactly 0 can be real (an absent cell type)


@cache
def analyte_info() -> dict[str, AnalyteInfo]:
    """All analytes keyed by id, read once from the package data file."""
    raw = _load_toml("vocab", "analytes.toml")
    out: dict[str, AnalyteInfo] = {}
    for key in ANALYTES:
        item = raw[key]
        out[key] = AnalyteInfo(
            id=key,
            label=item["label"],
            name=item["name"],
            unit=CANONICAL_UNITS[key],
            family=item["family"],
            plausible=tuple(item["plausible"]),
            typical=tuple(item["typical"]),
            loinc=tuple(item.get("loinc", ())),
            loinc_percent=tuple(item.get("loinc_percent", ())),
            aliases=tuple(item.get("aliases", ())),
            decimals=(int(item["decimals"][0]), int(item["decimals"][1])),
            scale=(float(item["scale"][0]), float(item["scale"][1])),
            zero_possible=bool(item.get("zero", False)),
        )
    return out


def analyte_label(analyte: str) -> str:
    """Short display label ("WBC", "Neutrophils", "Hb" ...)."""
    info = analyte_info().get(analyte)
    return info.label if info else analyte


# --------------------------------------------------------------------------- drugs

#: Frequencies a dose can have.  "every N weeks" is written with the number, e.g.
#: "every 2 weeks".  "unknown" is used when the source gives a strength but no
#: schedule (Synthea); such a dose has no daily equivalent.
FREQUENCIES: tuple[str, ...] = (
    "daily",
    "BID",
    "TID",
    "QID",
    "weekly",
    "every N weeks",
    "every N days",
    "monthly",
    "single",
    "unknown",
)

ROUTES: tuple[str, ...] = ("oral", "sc", "iv", "im", "")

#: How a dose row came to be: as prescribed, only a product strength (no schedule, or no
#: count of tablets: no daily amount is computed), or entered by a clinician in the app.
DOSE_BASES: tuple[str, ...] = ("prescribed", "strength_only", "entered")

#: What a dose row's ``start`` is: "" the day the dose started (every table, and the
#: effective period of a FHIR order); "recorded" only the day a FHIR MedicationStatement
#: was recorded (``dateAsserted``), "renewed" only the day a renewed order was written
#: (``authoredOn`` with ``priorPrescription``).  Such a dose is in force from that day
#: (its monitoring and dose checks need it), but the drug may have started any time
#: before: no result before it is known to precede the drug, so no pre-treatment
#: baseline rests on it (``dashboard/rules/baselines.py``, H540).
START_BASES: tuple[str, ...] = ("", "recorded", "renewed")

PHENOTYPES: tuple[str, ...] = (
    "normal",
    "intermediate",
    "possible intermediate",
    "poor",
    "unknown",
)

SEXES: tuple[str, ...] = ("F", "M", "")


@dataclass(frozen=True)
class DrugInfo:
    """One drug of the closed list (from ``vocab/drugs.toml``)."""

    id: str
    label: str
    drug_class: str
    aliases: tuple[str, ...]
    rxnorm: tuple[str, ...]
    default_frequency: str
    default_route: str
    weekly: bool
    tracked_for: str
    contains: tuple[str, ...] = ()
    #: names that look like this drug but could mean another one (or a product that is
    #: not a systemic dose), with the reason a text naming only them is not read
    unclear_names: tuple[tuple[str, str], ...] = ()


@cache
def drug_info() -> dict[str, DrugInfo]:
    """All drugs of the closed list keyed by generic name."""
    raw = _load_toml("vocab", "drugs.toml")
    out: dict[str, DrugInfo] = {}
    for key, item in raw.items():
        out[key] = DrugInfo(
            id=key,
            label=item["label"],
            drug_class=item["class"],
            aliases=tuple(item.get("aliases", ())),
            rxnorm=tuple(str(c) for c in item.get("rxnorm", ())),
            default_frequency=item.get("default_frequency", "daily"),
            default_route=item.get("default_route", ""),
            weekly=bool(item.get("weekly", False)),
            tracked_for=item.get("tracked_for", "immunosuppressant"),
            contains=tuple(item.get("contains", ())),
            unclear_names=tuple((str(k), str(v)) for k, v in item.get("unclear_names", {}).items()),
        )
    return out


#: The frequency of a row that is one administration on its start day (a pulse, a
#: single dose): never in force after that day, whatever its end (probe39 F1/F2).
SINGLE = "single"
_DAY_SECONDS = 86_400


def in_force_until(start: Any, end: Any, frequency: Any) -> Any:
    """The first moment a dose row is no longer in force: its end (None/NaT: ongoing),
    except for a single administration (:data:`SINGLE`), which is in force on its start
    day only: until the next midnight, or its end when that comes first.

    The one rule of "in force" every view and check reads (:func:`in_force`,
    :func:`doses_in_force`, the review's dose rows ``dashboard/rules/inputs.py``).
    Works on one row's values (``datetime``/``Timestamp``), on pandas columns, and on
    numpy int64 seconds (the review's arrays, where ``NEVER`` stands for no end).
    """
    if isinstance(start, np.ndarray):  # int64 seconds
        next_day = start // _DAY_SECONDS * _DAY_SECONDS + _DAY_SECONDS
        single = np.asarray(frequency, dtype=object) == SINGLE
        return np.where(single, np.minimum(end, next_day), end)
    if hasattr(start, "dt"):  # pandas columns
        import pandas as pd  # imported on use: the CLI's import/review never loads it (tests/test_cli_process.py)

        next_day = start.dt.normalize() + pd.Timedelta(days=1)
        single = pd.Series(frequency, index=start.index) == SINGLE
        cut = single & (end.isna() | (end > next_day))
        return end.mask(cut, next_day)
    if frequency != SINGLE:
        return end
    import pandas as pd  # imported on use, as above

    next_day = pd.Timestamp(start).normalize() + pd.Timedelta(days=1)
    return next_day if end is None or end != end or end > next_day else end  # end != end: NaT


def in_force(start: Any, end: Any, on: Any, frequency: Any = None) -> Any:
    """Whether a dose row is in force at ``on``: started on or before it, not yet ended.

    ``end`` is the day a dose ended or changed, so a row that ends at ``on`` is no longer
    in force; a missing end (NaT, None) means ongoing.  With its ``frequency``, a single
    administration is in force on its start day only (:func:`in_force_until`).  Works on
    one row's values and, element by element, on pandas Series (then returns a boolean
    Series).
    """
    if frequency is not None:
        end = in_force_until(start, end, frequency)
    if hasattr(end, "isna"):  # columns
        return (start <= on) & (end.isna() | (end > on))
    return bool(start <= on) and (end is None or end != end or bool(end > on))  # end != end: NaT


def doses_in_force(doses: pd.DataFrame, on: Any) -> pd.DataFrame:
    """The rows of a doses frame in force on ``on`` (a date stands for its first moment);
    a single administration only on its start day (:func:`in_force_until`)."""
    import pandas as pd  # imported on use: the CLI's import/review never loads it (tests/test_cli_process.py)

    freq = doses["frequency"] if "frequency" in doses.columns else None
    return doses[in_force(doses["start"], doses["end"], pd.Timestamp(on), freq)]


def drug_label(drug: str) -> str:
    """Display label of a drug ("Azathioprine", "Mycophenolate mofetil"); an id not in the
    list is shown as it is."""
    info = drug_info().get(drug)
    return info.label if info else drug


def drugs() -> tuple[str, ...]:
    """Generic names of the closed drug list."""
    return tuple(drug_info())


# --------------------------------------------------------------------------- tables


@dataclass(frozen=True)
class Field:
    """One column of a canonical table."""

    name: str
    type: pa.DataType
    description: str
    required: bool = False


LAB_FIELDS: tuple[Field, ...] = (
    Field("patient_id", pa.string(), "Patient identifier as the source wrote it (text; leading zeros kept).", True),
    Field("collected_at", pa.timestamp("s"), "Sample collection time (date-only results are at 00:00).", True),
    Field("analyte", pa.string(), "One of ANALYTES.", True),
    Field("value", pa.float64(), "Result in the canonical unit; for a censored result, its bound.", True),
    Field("unit", pa.string(), "Canonical unit (CANONICAL_UNITS[analyte]).", True),
    Field(
        "comparator",
        pa.string(),
        '"<" or ">" for a censored result ("<0.1"), "<=" or ">=" when the bound itself is possible ("≤50"), else "".',
    ),
    Field("ref_low", pa.float64(), "Lower reference limit from the source row, canonical unit; NaN if none."),
    Field("ref_high", pa.float64(), "Upper reference limit from the source row, canonical unit; NaN if none."),
    Field("source_flag", pa.string(), 'Abnormal flag as the source wrote it ("L", "H", "LL", "abnormal"), else "".'),
    Field("source_value", pa.string(), "The value text exactly as read."),
    Field("source_unit", pa.string(), "The unit text exactly as read (empty if the source had none)."),
    Field("source_test", pa.string(), "The test name, code or column header the analyte was recognised from."),
    Field("source_file", pa.string(), "File name the result came from (or 'entered')."),
    Field(
        "source_row", pa.int64(), "Row in that file: spreadsheet numbering (header = 1) or resource number; 0 if none."
    ),
    Field("derived", pa.bool_(), "True when computed (e.g. absolute count from a % differential and the WBC)."),
)

DOSE_FIELDS: tuple[Field, ...] = (
    Field("patient_id", pa.string(), "Patient identifier.", True),
    Field("drug", pa.string(), "Generic name from the closed drug list (brands and aliases mapped).", True),
    Field("start", pa.timestamp("s"), "First day of this dose.", True),
    Field("end", pa.timestamp("s"), "Day the dose ended or changed; NaT = ongoing."),
    Field("dose", pa.float64(), "Amount per administration, in dose_unit."),
    Field("dose_unit", pa.string(), '"mg" after conversion from g/mcg; "mg/kg" or "mg/m2" kept as written.'),
    Field("frequency", pa.string(), 'One of FREQUENCIES ("every 2 weeks" spelled out).'),
    Field("mg_per_day", pa.float64(), "Daily equivalent in mg (weekly drugs: weekly dose / 7); NaN if unknown."),
    Field("mg_per_week", pa.float64(), "Weekly amount in mg for weekly or longer schedules; NaN otherwise."),
    Field("route", pa.string(), 'One of ROUTES ("oral", "sc", "iv", "im" or "").'),
    Field(
        "dose_basis",
        pa.string(),
        'One of DOSE_BASES: "prescribed", "strength_only" (a product strength, no amount per dose: no mg/day), "entered".',
    ),
    Field("source_text", pa.string(), "Drug/dose text as written in the source (kept for review)."),
    Field("source_file", pa.string(), "File name the dose came from (or 'entered')."),
    Field("source_row", pa.int64(), "Row in that file (spreadsheet numbering) or resource number."),
    Field(
        "start_basis",
        pa.string(),
        'One of START_BASES: "" the day the dose started; "recorded" / "renewed": only the day a statement was '
        "recorded or a renewal written (the drug started earlier, when is not known).",
    ),
)

PATIENT_FIELDS: tuple[Field, ...] = (
    Field("patient_id", pa.string(), "Patient identifier.", True),
    Field(
        "name",
        pa.string(),
        'Patient name: "FAMILY, Given" when the source gives the parts, else as written; "" if not given.',
    ),
    Field("sex", pa.string(), '"F", "M" or "" (unknown).'),
    Field("birth_date", pa.timestamp("s"), "Date of birth; NaT if not given."),
    Field("age", pa.float64(), "Age in years when only an age was given (birth_date NaT); else NaN."),
    Field("weight_kg", pa.float64(), "Body weight in kg (converted from lb when needed); NaN if unknown."),
    Field("weight_date", pa.timestamp("s"), "When the weight was measured; NaT if not given."),
    Field("tpmt", pa.string(), "TPMT phenotype, one of PHENOTYPES."),
    Field("nudt15", pa.string(), "NUDT15 phenotype, one of PHENOTYPES."),
    Field("diagnosis", pa.string(), 'Free text diagnosis ("SLE", "Lupus nephritis class IV", "RA").'),
    Field("source_file", pa.string(), "File name the patient came from (or 'entered')."),
    Field("source_row", pa.int64(), "Row in that file or resource number."),
)

#: Per-patient baselines a clinician sets (e.g. a Duffy-null low-normal neutrophil
#: count).  Trend rules use them instead of the computed pre-treatment median.
BASELINE_FIELDS: tuple[Field, ...] = (
    Field("patient_id", pa.string(), "Patient identifier.", True),
    Field("analyte", pa.string(), "One of ANALYTES.", True),
    Field("value", pa.float64(), "Baseline in the canonical unit.", True),
    Field("note", pa.string(), "Why (free text, e.g. 'Duffy-null associated neutrophil count')."),
    Field("set_by", pa.string(), "Who set it."),
    Field("set_at", pa.timestamp("s"), "When it was set."),
)

#: Per-patient blood-monitoring interval a clinician sets by risk (BSR 2025: risk factors
#: reviewed at least yearly, the frequency of monitoring adjusted to the risk).  The
#: schedule uses the latest row of a patient once the initial phases are over; a row with
#: ``interval_days`` 0 clears it.
INTERVAL_FIELDS: tuple[Field, ...] = (
    Field("patient_id", pa.string(), "Patient identifier.", True),
    Field("interval_days", pa.int64(), "Maintenance interval in days (0 = back to the schedule's).", True),
    Field("reason", pa.string(), "Why (risk factors reviewed, e.g. 'stable 2 years, no risk factors')."),
    Field("set_by", pa.string(), "Who set it."),
    Field("set_at", pa.timestamp("s"), "When it was set (the yearly risk review counts from it)."),
)

TABLES: dict[str, tuple[Field, ...]] = {
    "labs": LAB_FIELDS,
    "doses": DOSE_FIELDS,
    "patients": PATIENT_FIELDS,
    "baselines": BASELINE_FIELDS,
    "intervals": INTERVAL_FIELDS,
}


def schema(table: str) -> pa.Schema:
    """The pyarrow schema of a canonical table."""
    return pa.schema([pa.field(f.name, f.type) for f in TABLES[table]])


def columns(table: str) -> list[str]:
    """Column names of a canonical table, in order."""
    return [f.name for f in TABLES[table]]


def empty_table(table: str) -> pa.Table:
    """A canonical table with no rows."""
    return schema(table).empty_table()


def filter_rows(data: pa.Table, keep: np.ndarray | pa.Array) -> pa.Table:
    """The rows of ``data`` where ``keep`` (one boolean per row) is true.

    The same table as ``data.filter(keep)``, filtered column by column: pyarrow's
    whole-table filter takes a slower path, twice the time of the columns' own filters
    on a million results (10 against 5 ms for the import's labs table)."""
    mask = keep if isinstance(keep, pa.Array) else pa.array(keep)
    return pa.Table.from_arrays([pc.filter(col, mask) for col in data.columns], schema=data.schema)


def conform(table: str, data: pa.Table, dictionaries: bool = False) -> pa.Table:
    """Return ``data`` with exactly the canonical columns, order and types.

    Missing optional columns are filled (NaN / "" / NaT / False); extra columns are
    dropped.  Raises ``KeyError`` if a required column is missing.

    With ``dictionaries`` a text column that is dictionary-encoded (integer codes and
    the distinct texts: what the import builds) stays so; the values are the same texts
    and Arrow reads them alike.  Without it (the default) every text column is plain
    ``string``, exactly :func:`schema`.
    """
    n = data.num_rows
    arrays = []
    fields = []
    for f in TABLES[table]:
        if f.name in data.column_names:
            col = data.column(f.name)
            if dictionaries and pa.types.is_string(f.type) and _is_text_dictionary(col.type):
                if col.null_count:
                    col = col.fill_null("")
                arrays.append(col)
                fields.append(pa.field(f.name, col.type))
                continue
            if col.type != f.type:
                col = col.cast(f.type)
            if pa.types.is_string(f.type) and col.null_count:
                col = col.fill_null("")
            if pa.types.is_boolean(f.type) and col.null_count:
                col = col.fill_null(False)
            if pa.types.is_floating(f.type) and col.null_count:
                col = col.fill_null(float("nan"))
            if pa.types.is_integer(f.type) and col.null_count:
                col = col.fill_null(0)
            arrays.append(col)
        elif f.required:
            raise KeyError(f"{table}: required column {f.name!r} is missing")
        else:
            arrays.append(pa.array(_default_values(f.type, n), type=f.type))
        fields.append(pa.field(f.name, f.type))
    return pa.Table.from_arrays(arrays, schema=pa.schema(fields))


def _is_text_dictionary(t: pa.DataType) -> bool:
    return pa.types.is_dictionary(t) and pa.types.is_string(t.value_type)


def _default_values(t: pa.DataType, n: int) -> list[Any]:
    if pa.types.is_string(t):
        return [""] * n
    if pa.types.is_floating(t):
        return [float("nan")] * n
    if pa.types.is_boolean(t):
        return [False] * n
    if pa.types.is_integer(t):
        return [0] * n
    return [None] * n


def to_pandas(table: str, data: pa.Table) -> pd.DataFrame:
    """Convert a canonical Arrow table to pandas with the model's dtypes.

    Text columns become pandas' ``str`` dtype, times ``datetime64[s]``, numbers
    ``float64``, row numbers ``int64`` and ``derived`` ``bool``.
    """
    # pandas on use only: the CLI's import/review never loads it (tests/test_cli_process.py)
    import pandas as pd

    data = conform(table, data)
    df = data.to_pandas(types_mapper=None)
    for f in TABLES[table]:
        if pa.types.is_string(f.type):
            df[f.name] = df[f.name].astype("str")
        elif pa.types.is_timestamp(f.type):
            df[f.name] = pd.to_datetime(df[f.name]).astype("datetime64[s]")
    return df


def from_pandas(table: str, df: pd.DataFrame) -> pa.Table:
    """Convert a pandas frame with (a subset of) the canonical columns to Arrow."""
    # pandas on use only: the CLI's import/review never loads it (tests/test_cli_process.py)
    import pandas as pd

    arrays, names = [], []
    for f in TABLES[table]:
        if f.name not in df.columns:
            continue
        s = df[f.name]
        if pa.types.is_timestamp(f.type):
            s = pd.to_datetime(s).astype("datetime64[s]")
        arrays.append(pa.array(s, from_pandas=True).cast(f.type))
        names.append(f.name)
    if not arrays:
        return empty_table(table)
    return conform(table, pa.Table.from_arrays(arrays, names=names))


def empty_frame(table: str) -> pd.DataFrame:
    """An empty pandas frame with the canonical columns and dtypes."""
    return to_pandas(table, empty_table(table))


# --------------------------------------------------------------------------- helpers


def _load_toml(*parts: str) -> dict[str, Any]:
    ref = resources.files("dashboard").joinpath(*parts)
    return tomllib.loads(ref.read_text(encoding="utf-8"))
