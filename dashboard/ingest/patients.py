"""Patients: from records of any reader to the canonical patients table.

:func:`normalise_patients` judges each :class:`PatientRecord` (id, birth date, sex, age,
body weight, TPMT/NUDT15 phenotype): a row that cannot be used is rejected with the
reason, a value that is not understood is left unknown and said.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass, field

import pyarrow as pa

from dashboard import model
from dashboard.identity import person_name, whole_years
from dashboard.ingest.context import Context, Parsed, mapped_cells, parse_date_columns, set_table_kind
from dashboard.ingest.identity import clean_id, name_problem, visible
from dashboard.ingest.mapping import normalize
from dashboard.ingest.report import FileReport, Problem
from dashboard.ingest.tabular import RawTable
from dashboard.units import MAX_BODY_WEIGHT_KG, weight_factor, weight_kg

_SEX = {
    "f": "F",
    "female": "F",
    "w": "F",
    "weiblich": "F",
    "woman": "F",
    "femme": "F",
    "feminin": "F",
    "mujer": "F",
    "femenino": "F",
    "femmina": "F",
    "2": "F",
    "m": "M",
    "male": "M",
    "mannlich": "M",
    "man": "M",
    "homme": "M",
    "masculin": "M",
    "hombre": "M",
    "masculino": "M",
    "maschio": "M",
    "1": "M",
    "u": "",
    "unknown": "",
    "other": "",
    "x": "",
    "": "",
    "d": "",
    "divers": "",
}
_PHENO = [
    (re.compile(r"\b(possible intermediate|possibly intermediate|possible im|pim)\b"), "possible intermediate"),
    (
        re.compile(r"\b(intermediate|im|heterozygous|heterozygote|reduced|low normal|het|intermediar|intermediaire)\b"),
        "intermediate",
    ),
    (
        re.compile(
            r"\b(poor|pm|deficient|deficiency|absent|homozygous variant|homozygote variant|very low|null|none detected|no activity)\b"
        ),
        "poor",
    ),
    (re.compile(r"\b(normal|nm|wild type|wildtype|wt|homozygous wild|high|normal activity|extensive|em)\b"), "normal"),
    (re.compile(r"\b(not tested|untested|unknown|indeterminate|pending|nt|n a|na)\b"), "unknown"),
]
_GENOTYPE = re.compile(r"\*(\d+[a-z]?)\s*/\s*\*(\d+[a-z]?)", re.IGNORECASE)


def parse_sex(text: str) -> str | None:
    return _SEX.get(normalize(text))


def parse_phenotype(text: str) -> str | None:
    """TPMT/NUDT15 phenotype from text: "Intermediate metaboliser", "*1/*3A", "normal"."""
    raw = text.strip()
    if not raw:
        return "unknown"
    g = _GENOTYPE.search(raw)
    if g:
        alleles = [a.lower() for a in g.groups()]
        normal = [a == "1" for a in alleles]
        if all(normal):
            return "normal"
        if any(normal):
            return "intermediate"
        return "poor"
    t = normalize(raw)
    for pat, pheno in _PHENO:
        if pat.search(t):
            return pheno
    return None


@dataclass
class PatientRecord:
    """One patient row as text (dates already parsed), from any reader."""

    row: int
    patient_id: str
    sex: str = ""
    name: str = ""  # as stored: "FAMILY, Given" or the full name as written (dashboard.identity)
    birth_date: dt.datetime | None = None
    birth_error: str = ""
    age: str = ""
    weight: str = ""
    weight_unit: str = "kg"  # as written ("kg", "lb", "[lb_av]", "g"; empty: kg), see units.weight_kg
    weight_date: dt.datetime | None = None
    #: the column the weight's unit was read from ("" when none): a unit stated there that
    #: is empty or not understood, or that a unit in the weight cell contradicts, rejects
    #: the weight with its reason (never read as kg by default: probe30 F3)
    weight_unit_column: str = ""
    weight_header_unit: str = ""  # the unit the weight column's header names ("weight (lbs)"), if any
    tpmt: str = ""
    nudt15: str = ""
    diagnosis: str = ""
    columns: dict[str, str] = field(default_factory=dict)


#: The oldest age a birth date may give (the oldest people documented lived to 122).
MAX_AGE_YEARS = 120


def birth_date_problem(birth: dt.datetime | None, today: dt.date | None) -> str:
    """Why a birth date is not plausible on ``today`` ("" when it is, or is unknown)."""
    if birth is None or today is None:
        return ""
    day = birth.date() if isinstance(birth, dt.datetime) else birth
    if day > today:
        return f"birth date {day:%Y-%m-%d} is after today ({today:%Y-%m-%d})"
    age = whole_years(day, today)
    if age > MAX_AGE_YEARS:
        return f"birth date {day:%Y-%m-%d} gives an age of {age} years: not plausible (more than {MAX_AGE_YEARS})"
    return ""


def _year_cut_to_two_digits(text: str, born: dt.datetime) -> bool:
    """Is the birth date ``text`` written with a two-digit year ("13/06/25", "13-Jun-25"),
    the year ``born`` was read as not written in full?"""
    numbers = re.findall(r"\d+", text)
    if any(len(n) >= 3 and int(n) == born.year for n in numbers):
        return False
    return any(len(n) <= 2 and int(n) == born.year % 100 for n in numbers)


def settle_birth_centuries(
    rep: FileReport,
    texts: list[str],
    births: list[dt.datetime | None],
    rows: list[int],
    column: str | None,
    today: dt.date,
    ages: list[str] | None = None,
) -> list[dt.datetime | None]:
    """The birth dates with a two-digit year given their century only where one century
    alone gives a possible age, or the row's own age (``ages``: an age column's texts)
    matches one alone, and said (H470); where both do ("13/06/25": aged 101 or 1 on
    2026-11-25) the birth date is left unknown, the patient kept, and the row said naming
    both readings.  The dates parser reads 00 up to next year as 20yy, else 19yy: right for
    a draw date, a guess for a birth date.  Each distinct text is judged once (a lab file
    repeats it on every row)."""
    out = list(births)
    # each distinct (text, date) judged once; none written with a two-digit year (the usual
    # lab file, a million rows of a few birth dates): nothing to settle
    cut_of = {
        (text, born): _year_cut_to_two_digits(text, born)
        for text, born in dict.fromkeys(zip(texts, births, strict=True))
        if born is not None and text
    }
    if not any(cut_of.values()):
        return out
    read: dict[str, str] = {}  # each distinct text said once
    unknown: set[str] = set()
    fits_of = {(text, born): _century_fits(text, born, today, cut) for (text, born), cut in cut_of.items()}
    for i, (text, born) in enumerate(zip(texts, births, strict=True)):
        if born is None or not text:
            continue
        fits = fits_of[(text, born)]
        if len(fits) < 2:
            if fits and fits[0] != born:
                out[i] = fits[0]
            if fits and cut_of[(text, born)]:
                read.setdefault(text, f"'{text.strip()}' as {fits[0]:%Y-%m-%d}")
            continue
        by_age = [d for d in fits if _age_matches(ages[i] if ages else "", d, today)]
        if len(by_age) == 1:
            out[i] = by_age[0]
            read.setdefault(text, f"'{text.strip()}' as {by_age[0]:%Y-%m-%d}, as the row's age says")
            continue
        out[i] = None
        if text not in unknown:
            unknown.add(text)
            said = " or ".join(f"{d:%Y-%m-%d} (aged {whole_years(d.date(), today)})" for d in sorted(fits))
            rep.warn(
                f"date of birth '{text.strip()}' has a two-digit year: it is {said}; the century is not "
                "guessed, so the birth date is left unknown (the patient is kept): write the year in four digits",
                rows[i],
                column,
                text,
            )
    if read:
        rep.warn(
            f"{len(read)} date(s) of birth have two-digit years, each read in the one century that gives a "
            f"possible age, or that the row's age gives (e.g. {next(iter(read.values()))}); write the year in four digits"
        )
    return out


def _century_fits(text: str, born: dt.datetime, today: dt.date, cut: bool) -> list[dt.datetime]:
    """The readings of a birth date that give a possible age: the date itself when its year
    was written in four digits (``cut`` False: :func:`_year_cut_to_two_digits`); else of it
    and the same day a century apart, those that fit."""
    if not cut:
        return [born]
    try:
        other: dt.datetime | None = born.replace(year=born.year - 100 if born.year >= 2000 else born.year + 100)
    except ValueError:  # 29 February of a year that is not a leap year a century apart
        other = None
    return [d for d in (born, other) if d is not None and not birth_date_problem(d, today)]


def _age_matches(age: str, born: dt.datetime, today: dt.date) -> bool:
    """The row's stated age (years) is the age the birth date gives, or a year less (an age
    written when the export was made, before a birthday since)."""
    try:
        years = float(age.replace(",", ".").split()[0])
    except (ValueError, IndexError):
        return False
    return whole_years(born.date(), today) - int(years) in (0, 1)


def normalise_patients(
    report: FileReport, records: list[PatientRecord], today: dt.date | None = None
) -> tuple[pa.Table, list[int]]:
    """Turn patient records into canonical patient rows; returns (table, accepted record indexes).

    With ``today`` a birth date after it, or one giving an age over
    :data:`MAX_AGE_YEARS`, rejects the row (MIMIC's shifted birth dates are read without).
    """
    out: list[dict] = []
    accepted: list[int] = []
    for i, r in enumerate(records):
        col = r.columns.get
        r.patient_id, id_problem, id_note = clean_id(r.patient_id)
        if id_note:
            report.warn(id_note, r.row, col("patient_id", "patient_id"))
        if not r.patient_id:
            report.problems.append(Problem(r.row, col("patient_id", "patient_id"), "no patient id", ""))
            continue
        if id_problem:
            report.problems.append(Problem(r.row, col("patient_id", "patient_id"), id_problem, ""))
            continue
        if r.birth_error:
            why = r.birth_error if r.birth_error.startswith("birth date") else f"birth date: {r.birth_error}"
            report.problems.append(Problem(r.row, col("birth_date", "birth_date"), why, ""))
            continue
        implausible = birth_date_problem(r.birth_date, today)
        if implausible:
            report.problems.append(Problem(r.row, col("birth_date", "birth_date"), implausible, ""))
            continue
        name = r.name.strip()
        if why := name_problem(name):  # shown as if normal, it could read as another patient's name
            where = col("family_name") or col("given_name") or col("name", "name")
            report.warn(why, r.row, where, visible(name))
            name = ""
        sex = parse_sex(r.sex)
        if sex is None:
            report.warn(f"sex '{r.sex}' not recognised; left unknown", r.row, col("sex", "sex"), r.sex)
            sex = ""
        age = math.nan
        if r.age:
            try:
                age = float(r.age.replace(",", ".").split()[0])
            except ValueError:
                report.problems.append(Problem(r.row, col("age", "age"), f"age not understood ('{r.age}')", r.age))
                continue
            if not 0 <= age <= MAX_AGE_YEARS:
                report.problems.append(Problem(r.row, col("age", "age"), f"age {age:g} is not plausible", r.age))
                continue
        weight = math.nan
        if r.weight:
            # a weight that cannot be read is left unknown and said; the patient's other
            # details (sex, birth date, TPMT/NUDT15) stand (audit8 A6): never read as kg by default
            weight, why = _read_weight(r)
            if why:
                report.warn(
                    why,
                    r.row,
                    col("weight_unit", r.weight_unit_column)
                    if r.weight_unit_column and "unit column" in why
                    else col("weight_kg", "weight"),
                    r.weight,
                )
        phenos = {}
        for gene in ("tpmt", "nudt15"):
            text = getattr(r, gene)
            p = parse_phenotype(text)
            if p is None:
                report.warn(
                    f"{gene.upper()} '{text}' not recognised as a phenotype; recorded as unknown",
                    r.row,
                    col(gene, gene),
                    text,
                )
                p = "unknown"
            phenos[gene] = p
        out.append(
            {
                "patient_id": r.patient_id,
                "name": name,
                "sex": sex,
                "birth_date": r.birth_date,
                "age": age,
                "weight_kg": weight,
                "weight_date": r.weight_date,
                "tpmt": phenos["tpmt"],
                "nudt15": phenos["nudt15"],
                "diagnosis": r.diagnosis.strip(),
                "source_file": report.path,
                "source_row": r.row,
            }
        )
        accepted.append(i)
    if not out:
        return model.empty_table("patients"), accepted
    cols = [f.name for f in model.PATIENT_FIELDS]
    return model.conform(
        "patients", pa.table({c: [row[c] for row in out] for c in cols}, schema=model.schema("patients"))
    ), accepted


_WEIGHT = re.compile(r"^\s*(\d+(?:[.,]\d+)?)\s*(kg|kgs|kilograms?|lb|lbs|pounds?)?\s*$", re.IGNORECASE)


def _weight_unit_problem(r: PatientRecord) -> str:
    """Why the unit a weight-unit column gives cannot be used ("" when it can)."""
    if not r.weight_unit_column:
        return ""
    where = f"the weight unit column '{r.weight_unit_column}'"
    unit = r.weight_unit.strip()
    if not unit:
        return f"weight '{r.weight}' has no unit: {where} is empty on this row (a weight is never assumed to be in kg)"
    factor = weight_factor(unit)
    if factor is None:
        return f"weight unit '{unit}' in {where} is not a weight unit: the weight '{r.weight}' cannot be read"
    if r.weight_header_unit and weight_factor(r.weight_header_unit) != factor:
        return (
            f"the weight column's header says {r.weight_header_unit}, {where} says '{unit}': which holds cannot be told"
        )
    m = _WEIGHT.match(r.weight.strip())
    if m and m.group(2) and weight_factor(m.group(2)) != factor:
        return f"weight '{r.weight}' contradicts {where} ('{unit}'): which unit holds cannot be told"
    return ""


def _read_weight(r: PatientRecord) -> tuple[float, str]:
    """(weight in kg, "") or (NaN, why it is left unknown): a unit that cannot be used, no
    unit at all, a weight not understood or not plausible."""
    if why := _weight_unit_problem(r) or _unitless_weight(r):
        return math.nan, why
    parsed = _weight_kg(r.weight, r.weight_unit)
    if parsed is None:
        return math.nan, f"weight not understood ('{r.weight}'): left unknown"
    if not 1 <= parsed <= MAX_BODY_WEIGHT_KG:
        return math.nan, f"weight {parsed:g} kg is not plausible: left unknown"
    return parsed, ""


def _unitless_weight(r: PatientRecord) -> str:
    """Why a weight cannot be read for want of a unit ("" when it has one, or is not a
    number): no unit in its cell, its column's header or a unit column.  A body weight is
    never taken to be in kg by default: 180 is 180 kg or 81.6 kg (180 lb), and the mg/kg
    dose checks turn on which (probe31 F3)."""
    m = _WEIGHT.match(r.weight.strip())
    if not m or m.group(2) or r.weight_unit.strip():
        return ""
    where = f" in column '{r.columns['weight_kg']}'" if r.columns.get("weight_kg") else ""
    return (
        f"weight '{r.weight.strip()}'{where} has no unit: kg or lb cannot be told, so the weight is left unknown "
        "(name the unit in the cell, the column's header, e.g. 'weight_kg', or a weight unit column)"
    )


def _weight_kg(text: str, unit: str) -> float | None:
    m = _WEIGHT.match(text.strip())
    if not m or not (m.group(2) or unit):
        return None
    return weight_kg(float(m.group(1).replace(",", ".")), m.group(2) or unit)


def _header_weight_unit(header: str) -> str:
    """The unit a weight column's header names ("weight (lbs)" lb, "weight_kg" kg), "" for
    none ("weight"): the weights are then read only with a unit of their own."""
    words = normalize(header).split()
    if {"lb", "lbs", "pound", "pounds"} & set(words):
        return "lb"
    if {"kg", "kgs", "kilogram", "kilograms"} & set(words):
        return "kg"
    return ""


# --------------------------------------------------------------------------- a table of patients


def patients_from_table(raw: RawTable, rep: FileReport, ctx: Context, fields: dict[str, str], fmt: str) -> Parsed:
    """A table of patients (demographics, weight, TPMT/NUDT15, diagnosis)."""
    set_table_kind(rep, raw, fmt, "patients")
    (births, birth_err), (wdates, _werr) = parse_date_columns(rep, raw, fields, ctx, ("birth_date", "weight_date"))
    cell = mapped_cells(raw, fields)
    if births:  # a two-digit birth year is given no century silently (H470)
        births = settle_birth_centuries(
            rep,
            [cell("birth_date", i) for i in range(raw.num_rows)],
            births,
            raw.row_numbers.to_pylist(),
            fields.get("birth_date"),
            ctx.options.as_of,
            [cell("age", i) for i in range(raw.num_rows)] if fields.get("age") else None,
        )
    weight_unit = _header_weight_unit(fields.get("weight_kg", ""))
    unit_column = fields.get("weight_unit", "")

    records = []
    for i in range(raw.num_rows):
        berr = birth_err[i] if births and birth_err[i] != "no date" else ""
        records.append(
            PatientRecord(
                row=int(raw.row_numbers[i].as_py()),
                patient_id=cell("patient_id", i),
                sex=cell("sex", i),
                name=person_name(cell("name", i), cell("family_name", i), cell("given_name", i)),
                birth_date=births[i] if births else None,
                birth_error=berr,
                age=cell("age", i),
                weight=cell("weight_kg", i),
                weight_unit=cell("weight_unit", i) if unit_column else weight_unit,
                weight_unit_column=unit_column,
                weight_header_unit=weight_unit,
                weight_date=wdates[i] if wdates else None,
                tpmt=cell("tpmt", i),
                nudt15=cell("nudt15", i),
                diagnosis=cell("diagnosis", i),
                columns=dict(fields),
            )
        )
    return patients_parsed(rep, records, raw.rejected, ctx.options.as_of)


def patients_parsed(
    rep: FileReport, records: list[PatientRecord], extra: list[Problem], today: dt.date | None = None
) -> Parsed:
    table, accepted = normalise_patients(rep, records, today)
    rep.settle_rows(accepted=len(accepted), rejected=len(records) - len(accepted) + len(extra))
    rep.problems.extend(extra)
    return Parsed(rep, patients=table, patient_accepted=len(accepted))
