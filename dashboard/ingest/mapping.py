"""Column mapping and name recognition: headers to fields, test names to analytes,
medication text to drugs.

Everything is matched on a *normalised* form of the text (lower case, accents folded,
punctuation turned into spaces), so "Hämoglobin", "HAEMOGLOBIN" and "hemoglobin" meet.
The vocabularies live in ``dashboard/vocab/*.toml``: analytes and drugs, and the column
aliases (``columns.toml``), the header spellings of real exports (EHR, LIS, CDISC,
spreadsheets) in English and the common European languages.
"""

from __future__ import annotations

import re
import tomllib
import unicodedata
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

from dashboard.model import analyte_info, analyte_label, drug_info
from dashboard.units import UNIT_REJECTIONS, normalize_unit, resolve_unit

# --------------------------------------------------------------------------- normalising

_FOLD = str.maketrans({"ß": "ss", "æ": "ae", "ø": "o", "œ": "oe", "ł": "l", "đ": "d"})


@cache
def normalize(text: str) -> str:
    """Lower case, accents folded, punctuation to spaces, single spaces.

    ``%`` and ``#`` survive because they change the meaning of a test name.
    """
    t = unicodedata.normalize("NFKD", text.translate(_FOLD)).encode("ascii", "ignore").decode("ascii")
    t = t.lower()
    t = re.sub(r"[^a-z0-9%#]+", " ", t)
    t = re.sub(r"([%#])", r" \1 ", t)  # "NEUT#" and "NEUT%" (analyser names) read as "neut #", "neut %"
    return " ".join(t.split())


_BRACKETS = re.compile(r"[\(\[\{]([^\)\]\}]*)[\)\]\}]")


def split_brackets(text: str) -> tuple[str, list[str]]:
    """ "WBC (x10^9/L) [auto]" -> ("WBC", ["x10^9/L", "auto"])."""
    parts = _BRACKETS.findall(text)
    base = _BRACKETS.sub(" ", text)
    return base.strip(), [p.strip() for p in parts if p.strip()]


# --------------------------------------------------------------------------- fields


@cache
def _columns_vocab() -> dict[str, Any]:
    """``vocab/columns.toml``, read once (its fields and its date roles)."""
    text = resources.files("dashboard").joinpath("vocab", "columns.toml").read_text(encoding="utf-8")
    return tomllib.loads(text)


@cache
def field_aliases() -> dict[str, tuple[str, ...]]:
    """Header spellings (normalised) of each field, most specific first (``vocab/columns.toml``)."""
    return {name: tuple(aliases) for name, aliases in _columns_vocab()["fields"].items()}


#: Fields each kind of table can use, the ones it must have, and the distinctive ones.
KIND_FIELDS: dict[str, tuple[str, ...]] = {
    "labs": (
        "patient_id",
        "collected_at",
        "collection_time",
        "analyte",
        "code",
        "value",
        "unit",
        "ref_range",
        "ref_low",
        "ref_high",
        "flag",
        "result_status",
        "specimen",
        # who the patient is, when a lab export carries it (Epic: name and DOB on every row)
        "name",
        "family_name",
        "given_name",
        "birth_date",
        "sex",
    ),
    "wide": ("patient_id", "collected_at", "collection_time"),
    "doses": (
        "patient_id",
        "drug",
        "dose",
        "dose_unit",
        "frequency",
        "frequency_unit",
        "route",
        "start",
        "end",
        "dose_status",
    ),
    "patients": (
        "patient_id",
        "sex",
        "birth_date",
        "age",
        "weight_kg",
        "weight_unit",
        "weight_date",
        "tpmt",
        "nudt15",
        "diagnosis",
        "name",
        "family_name",
        "given_name",
    ),
}

REQUIRED: dict[str, tuple[str, ...]] = {
    "labs": ("patient_id", "collected_at", "value"),
    "wide": ("patient_id", "collected_at"),
    "doses": ("patient_id", "drug", "start"),
    "patients": ("patient_id",),
}

#: Names accepted by ``--map SOURCE=FIELD`` besides analyte ids.
MAP_TARGETS = tuple(sorted(set(field_aliases()) | {"ignore"}))


@dataclass(frozen=True)
class HeaderInfo:
    """What one column header says."""

    text: str
    norm: str  # normalised text without bracketed parts
    brackets: tuple[str, ...]


def header_info(text: str) -> HeaderInfo:
    base, parts = split_brackets(text)
    return HeaderInfo(text, normalize(base), tuple(parts))


def match_field(h: HeaderInfo, field: str) -> int | None:
    """Rank of the best alias of ``field`` the header matches (lower is better)."""
    norm = h.norm
    if field == "specimen" and _names_a_date(h):
        return None  # "Specimen Date", "Specimen Collected": when, not what (H583)
    aliases = field_aliases()[field]
    for rank, alias in enumerate(aliases):
        if norm == alias:
            return rank
    # headers with units written without brackets ("Weight kg", "Dose mg") and
    # underscores/suffixes ("result_value_num") match on a leading alias
    for rank, alias in enumerate(aliases):
        if len(alias) >= 4 and (norm.startswith(alias + " ") or norm.endswith(" " + alias)):
            return 100 + rank
    return None


# --------------------------------------------------------------------------- analytes

_NOISE = frozenset(
    [
        "blood",
        "bld",
        "b",
        "whole",
        "wb",
        "serum",
        "ser",
        "plasma",
        "pl",
        "plas",
        "serpl",
        "s",
        "p",
        "sp",
        "bld",
        "auto",
        "automated",
        "automatic",
        "count",
        "cnt",
        "ct",
        "#",
        "abs",
        "absolute",
        "total",
        "manual",
        "conc",
        "ccnc",
        "cnc",
        "level",
        "lvl",
        "test",
        "result",
        "value",
        "in",
        "by",
        "of",
        "or",
        "the",
        "and",
        "vol",
        "volume",
        "mass",
        "number",
        "enzymatic",
        "activity",
        "catalytic",
        "concentration",
        "estimate",
        "estimated",
        "calculated",
        "calc",
        "venous",
        "arterial",
        "capillary",
        "ven",
        "art",
        "cap",
        "lab",
        "ref",
        "measured",
        "direct",
        "edta",
        "fasting",
        "poc",
        "quantitative",
        "qn",
        "on",
        "per",
        "at",
        "cells",
        "cell",
        "rbc",
        "x",
        "mcnc",
        "scnc",
        "acnc",
        "ncnc",
        "nfr",
        "entitic",
        "red",
        "erythrocyte",
        "erythrocytes",
        "ser",
        "plas",
        "serum/plasma",
        "sample",
        "specimen",
        "haematology",
        "hematology",
        "chemistry",
        "cbc",
        "fbc",
        "full",
        "lab's",
        "result:",
        "reported",
    ]
)
_PERCENT_WORDS = frozenset({"%", "percent", "pct", "rel", "relative", "fraction", "prozent", "pourcentage"})
_PERCENT_PHRASE = re.compile(r"\b100 (leukocytes|leucocytes|wbc|wbcs|white cells)\b")
#: Words of a differential's name that say it is the absolute count, not the % of the
#: white cells ("Neutrophils, Absolute", "NEUT#", "ANC", "Lymphocyte count").
_ABSOLUTE_WORDS = frozenset(
    {"#", "abs", "absolute", "absolut", "absolue", "absolu", "count", "cnt", "ct", "anc", "alc", "aec", "number"}
)


@cache
def _alias_index() -> dict[str, str]:
    index: dict[str, str] = {}
    for a in analyte_info().values():
        for alias in (*a.aliases, a.id, normalize(a.label), normalize(a.name)):
            index.setdefault(normalize(alias), a.id)
    return index


@cache
def _loinc_index() -> dict[str, tuple[str, bool]]:
    index: dict[str, tuple[str, bool]] = {}
    for a in analyte_info().values():
        for code in a.loinc:
            index[code] = (a.id, False)
        for code in a.loinc_percent:
            index[code] = (a.id, True)
    return index


@dataclass(frozen=True)
class TestMatch:
    """An analyte recognised from a test code, name or header."""

    analyte: str
    percent: bool = False
    unit: str = ""  # unit written inside the name or header, e.g. "Hemoglobin (mmol/L)"
    via: str = ""  # "loinc" | "name"
    #: the code or name says the absolute count (a LOINC code of the count, "ANC",
    #: "Neutrophils, Absolute", "NEUT#"): a differential without a unit is then not a %
    absolute: bool = False


def clean_code(code: str) -> str:
    c = code.strip()
    if ":" in c and not c.lower().startswith("http"):
        c = c.rsplit(":", 1)[-1]
    if "|" in c:
        c = c.rsplit("|", 1)[-1]
    return c.strip().upper() if not re.match(r"^\d+-\d$", c.strip()) else c.strip()


#: Specimens other than blood: "Creatinine (urine)" is not the serum creatinine.
_OTHER_SPECIMENS = frozenset(
    {
        "urine",
        "urinary",
        "urin",
        "csf",
        "fluid",
        "pleural",
        "ascitic",
        "ascites",
        "peritoneal",
        "dialysate",
        "synovial",
        "stool",
        "faecal",
        "fecal",
        "harn",
        "spontanurin",
        "sammelurin",
        "urines",
        "orina",
    }
)


def other_specimen(name: str) -> bool:
    """Does this text name a specimen other than blood ("Urine", "CSF", "pleural fluid")?"""
    return any(t in _OTHER_SPECIMENS for t in normalize(name).split())


#: Words that name a creatinine clearance: measured from a timed urine collection and the
#: serum creatinine, so "urine" in its name is part of the test, not another specimen
#: ("Creatinine clearance (24h urine)"; LOINC 2164-2 "... in 24 hour Urine and Serum or Plasma").
_CLEARANCE_WORDS = frozenset({"clearance", "clairance", "aclaramiento", "creatinineklaring", "kreatininclearance"})
#: Words of a clearance's name dropped before it is matched: its specimens and collection time.
_CLEARANCE_NOISE = _OTHER_SPECIMENS | frozenset(
    {"24", "24h", "24hr", "24hrs", "h", "hr", "hrs", "hour", "hours", "timed", "collection", "in", "and", "or"}
    | {"serum", "plasma", "serpl", "ser", "plas", "blood"}
)


def _clearance_name(name: str) -> str | None:
    """A creatinine clearance's name without its specimen and collection words ("Creatinine
    clearance (24h urine) (mL/min)" -> "creatinine clearance (mL/min)"), or None when the
    name is not a clearance's.  The rest of the name is matched as any other."""
    base, parts = split_brackets(name)
    if not _CLEARANCE_WORDS & set(normalize(base).split()):
        return None
    kept = [p for p in parts if any(t not in _CLEARANCE_NOISE for t in normalize(p).split())]
    words = " ".join(t for t in normalize(base).split() if t not in _CLEARANCE_NOISE)
    return words + "".join(f" ({p})" for p in kept)


@cache
def recognise_test(name: str, code: str = "") -> TestMatch | None:
    """Recognise an analyte from a test code (LOINC) and/or a test name or header."""
    if name and other_specimen(name):
        clearance = _clearance_name(name)
        if clearance is None:
            return None  # a urine or fluid result, whatever its code says, is not a blood result
        name = clearance  # a creatinine clearance is measured from urine and serum both
    if code:
        hit = _loinc_index().get(clean_code(code))
        if hit:
            unit = _unit_in_text(name, hit[0]) if name else ""
            percent = hit[1] or unit == "%"
            return TestMatch(hit[0], percent, "%" if percent else unit, "loinc", absolute=not percent)
    if not name:
        return _code_as_name(code)
    base, parts = split_brackets(name)
    norm = normalize(base)
    percent = False
    if _PERCENT_PHRASE.search(norm):
        percent = True
        norm = _PERCENT_PHRASE.sub(" ", norm)
    tokens = norm.split()
    absolute = any(t in _ABSOLUTE_WORDS for t in tokens)
    if any(t in _PERCENT_WORDS for t in tokens):
        percent = True
        tokens = [t for t in tokens if t not in _PERCENT_WORDS]
    analyte = _alias_index().get(" ".join(tokens))
    trailing_unit = ""
    if analyte is None:
        kept = [t for t in tokens if t not in _NOISE]
        analyte = _alias_index().get(" ".join(kept))
    if analyte is None and len(tokens) >= 2:
        # a unit written after the name without brackets: "Hb g/dL", "WBC 10^9/L"
        raw_tokens = base.split()
        for cut in range(len(raw_tokens) - 1, 0, -1):
            head = normalize(" ".join(raw_tokens[:cut]))
            cand = _alias_index().get(head) or _alias_index().get(" ".join(t for t in head.split() if t not in _NOISE))
            tail = " ".join(raw_tokens[cut:])
            if cand and (tail.strip() == "%" or resolve_unit(cand, tail).factor is not None):
                analyte, trailing_unit = cand, tail
                break
    if analyte is None:
        by_code = _code_as_name(code)
        if by_code is None:
            return None
        analyte = by_code.analyte
        percent = percent or by_code.percent
        absolute = absolute or by_code.absolute
    unit = trailing_unit
    for part in parts:
        if part.strip() == "%" or normalize(part) in _PERCENT_WORDS:
            percent = True
            continue
        if any(t in _ABSOLUTE_WORDS for t in normalize(part).split()):
            absolute = True
            continue
        if _is_unit_for(analyte, part):
            unit = part
    if unit.strip() == "%":
        percent = True
    if percent and analyte not in ("neutrophils", "lymphocytes", "eosinophils"):
        return None  # "% of something" for a non-differential is not a monitored result
    return TestMatch(analyte, percent, "%" if percent else unit, "name", absolute=absolute and not percent)


def names_disagree(said: list[tuple[str, str, str]]) -> str:
    """Why a result whose codes and names say different monitored tests is not read
    ("" when they agree, or name one test at most): the one check of every reader (H346,
    H466).  ``said``: (what to call it in the reason, test name, test code), each
    recognised on its own; a code or name that is no monitored test changes nothing."""
    found: dict[str, str] = {}  # analyte -> what named it first
    for who, name, code in said:
        if not (name or code):
            continue
        m = recognise_test(name, code)
        if m is not None:
            found.setdefault(m.analyte, who)
    if len(found) < 2:
        return ""
    named = " and ".join(f"{who} ({analyte_label(a)})" for a, who in found.items())
    return f"the test's codes and name say different tests: {named}; which one was measured is not known"


def _code_as_name(code: str) -> TestMatch | None:
    """A local test code that is a known short name ("HGB", "PLAT", "WBC")."""
    if not code or re.match(r"^\d+-\d$", code.strip()):
        return None
    norm = normalize(code)
    analyte = _alias_index().get(norm)
    if analyte is None:
        return None
    return TestMatch(analyte, False, "", "code", absolute=any(t in _ABSOLUTE_WORDS for t in norm.split()))


def _unit_in_text(name: str, analyte: str) -> str:
    _base, parts = split_brackets(name)
    for part in parts:
        if part.strip() == "%":
            return "%"
        if _is_unit_for(analyte, part):
            return part
    return ""


def _is_unit_for(analyte: str, part: str) -> bool:
    """Is this bracketed part a unit written for ``analyte``: one it reads, or one of another
    quantity it is rejected in with its reason (a clearance per 1.73 m²: ``UNIT_REJECTIONS``)?"""
    return resolve_unit(analyte, part).factor is not None or (analyte, normalize_unit(part)) in UNIT_REJECTIONS


# --------------------------------------------------------------------------- drugs


@cache
def _drug_aliases() -> list[tuple[tuple[str, ...], str]]:
    out: list[tuple[tuple[str, ...], str]] = []
    for d in drug_info().values():
        for alias in {*d.aliases, normalize(d.id), normalize(d.label)}:
            out.append((tuple(normalize(alias).split()), d.id))
    out.sort(key=lambda t: -len(t[0]))
    return out


@cache
def _rxnorm_index() -> dict[str, str]:
    return {code: d.id for d in drug_info().values() for code in d.rxnorm}


@cache
def recognise_drug(text: str, code: str = "") -> str | None:
    """The generic drug named in a medication text ("Imuran 50 mg tablet" -> azathioprine).

    Returns ``None`` when no tracked drug is named, or when two different ones are
    (a combination product is not guessed at).
    """
    if code:
        hit = _rxnorm_index().get(code.strip())
        if hit:
            return hit
    tokens = normalize(text).split()
    if not tokens:
        return None
    found: set[str] = set()
    covered: set[int] = set()
    for alias, drug in _drug_aliases():
        n = len(alias)
        for i in range(len(tokens) - n + 1):
            if tuple(tokens[i : i + n]) == alias and not covered.intersection(range(i, i + n)):
                found.add(drug)
                covered.update(range(i, i + n))
    if len(found) == 1:
        return found.pop()
    # a combination product that spells its ingredient too ("Sulfamethoxazole 800 MG /
    # Trimethoprim 160 MG") is the product, never a guess between the two
    products = {d for d in found if found - {d} <= set(drug_info()[d].contains)}
    if len(products) == 1:
        return products.pop()
    return None


#: Why a medication text that names no tracked drug was not read (the default reason).
NOT_TRACKED = "not one of the tracked drugs (immunosuppressants, glucocorticoids, allopurinol, febuxostat)"


@cache
def _unclear_names() -> list[tuple[tuple[str, ...], str]]:
    return [(tuple(normalize(name).split()), why) for d in drug_info().values() for name, why in d.unclear_names]


def _names(tokens: list[str], alias: tuple[str, ...]) -> bool:
    n = len(alias)
    return any(tuple(tokens[i : i + n]) == alias for i in range(len(tokens) - n + 1))


def why_no_drug(text: str) -> str:
    """Why :func:`recognise_drug` read no drug from ``text``: a name that could mean two
    things (``unclear_names`` of ``drugs.toml``), two tracked drugs in one text, or none."""
    tokens = normalize(text).split()
    named = sorted({drug for alias, drug in _drug_aliases() if _names(tokens, alias)})
    if len(named) > 1:
        labels = " and ".join(drug_info()[d].label for d in named)
        return f"names more than one tracked drug ({labels}): give each drug its own row"
    for name, why in _unclear_names():
        if _names(tokens, name):
            return why
    return NOT_TRACKED


# --------------------------------------------------------------------------- kinds


# --------------------------------------------------------------------------- the draw date


@cache
def date_words() -> dict[str, frozenset[str]]:
    """The words that say what a date or time column is (``[date_roles]`` of
    ``vocab/columns.toml``): "date", "draw", "report" and "order".  The draw words include
    every word of the collected_at and collection_time aliases."""
    roles = {role: frozenset(words) for role, words in _columns_vocab()["date_roles"].items()}
    aliases = field_aliases()
    alias_words = {w for f in ("collected_at", "collection_time") for a in aliases[f] for w in a.split()}
    return roles | {"draw": roles["draw"] | alias_words}


#: Words that make a date column the date a result was reported, verified or received,
#: or the date the test was ordered: never the draw date without saying so.
REPORT_DATE_WORDS = date_words()["report"]
ORDER_DATE_WORDS = date_words()["order"]
_DATE_WORDS = date_words()["date"]


def date_role(h: HeaderInfo) -> str:
    """What a date or time column is: "report" (result/report/verified/received date),
    "order" (order/request date), "draw" (collection, specimen, a plain date, or the date
    of a test named in the header) or "other" (any other date: printed, exported,
    discharge, next due ...), never read as the draw date (H133)."""
    words = set(h.norm.split())
    if words & REPORT_DATE_WORDS:
        return "report"
    if words & ORDER_DATE_WORDS:
        return "order"
    vocab = date_words()
    rest = [w for w in h.norm.split() if w not in vocab["date"] and w not in vocab["draw"] and not w.isdigit()]
    if not rest or recognise_test(" ".join(rest)) is not None:
        return "draw"
    return "other"


def _names_a_date(h: HeaderInfo) -> bool:
    """Does the header name a date or time: a date word, or exactly a draw-date alias
    ("Specimen Collected")?"""
    aliases = field_aliases()
    return _is_date_column(h) or any(h.norm == a for f in ("collected_at", "collection_time") for a in aliases[f])


def _is_date_column(h: HeaderInfo) -> bool:
    words = set(h.norm.split())
    return bool(words & _DATE_WORDS) or any(w.endswith(("datum", "zeit", "date")) for w in words)


@dataclass
class ColumnMapping:
    """The result of mapping a table's header."""

    kind: str  # labs | wide | doses | patients | ""
    fields: dict[str, str]  # field -> source column
    analyte_columns: dict[str, TestMatch]  # source column -> analyte (wide tables)
    unmapped: list[str]
    missing: list[str]
    #: Notes for the import report about choices made (e.g. the order date as draw date).
    notes: list[str] = field(default_factory=list)
    #: Why a required field is missing, in words (e.g. only a result date), else "".
    explain: str = ""
    #: The result/report date column left unused when the order date stands for the draw.
    report_dates: list[str] = field(default_factory=list)
    #: Columns beside the patient id column that are themselves patient ids by their
    #: header ("NHS Number" beside "MRN"): each row's value is kept as another identifier
    #: of the row's patient, as a FHIR Patient's identifiers are (H554), never dropped.
    other_ids: list[str] = field(default_factory=list)
    #: Columns each row's draw date is checked against (a long table): ("draw", column)
    #: for another column that could be the draw date (the two must agree, H583);
    #: ("report", column) for a date the result was received, reported or verified on (the
    #: draw cannot come after it, H585).
    date_checks: list[tuple[str, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return bool(self.kind) and not self.missing


def mapped_twice(header: list[str], overrides: dict[str, str] | None) -> dict[str, list[str]]:
    """Fields that two or more columns of ``header`` are mapped to by ``overrides`` (field ->
    the columns, in header order): which one holds the field is never guessed."""
    by_field: dict[str, list[str]] = {}
    for h in header:
        target = (overrides or {}).get(h)
        if target in field_aliases():
            by_field.setdefault(target, []).append(h)
    return {f: cols for f, cols in by_field.items() if len(cols) > 1}


def map_columns(header: list[str], overrides: dict[str, str] | None = None) -> ColumnMapping:
    """Decide what kind of table this is and which column holds which field.

    ``overrides`` (from ``--map`` or the mapping form) maps a source column to a field
    name, an analyte id (making the column an analyte column of a wide table) or
    "ignore".  Overrides whose column is not in the header are ignored here (the caller
    reports them).
    """
    overrides = {k: v for k, v in (overrides or {}).items() if k in header}
    infos = {h: header_info(h) for h in header}
    forced_fields = {v: k for k, v in overrides.items() if v in field_aliases()}
    forced_analytes = {
        k: TestMatch(v, False, _unit_in_header(infos[k], v), "map") for k, v in overrides.items() if v in analyte_info()
    }
    ignored = {k for k, v in overrides.items() if v == "ignore"}

    analyte_cols: dict[str, TestMatch] = dict(forced_analytes)
    for h in header:
        if h in overrides:
            continue
        m = recognise_test(h)
        if m is not None:
            analyte_cols[h] = m

    def assign(kind: str, candidates: list[str]) -> dict[str, str]:
        taken: set[str] = set(forced_fields.values()) | ignored | set(forced_analytes)
        out: dict[str, str] = {f: c for f, c in forced_fields.items() if f in KIND_FIELDS[kind]}
        for f in KIND_FIELDS[kind]:
            if f in out:
                continue
            best: tuple[int, str] | None = None
            for h in candidates:
                if h in taken:
                    continue
                rank = match_field(infos[h], f)
                if rank is not None and (best is None or rank < best[0]):
                    best = (rank, h)
            if best is not None:
                out[f] = best[1]
                taken.add(best[1])
        return out

    non_analyte = [h for h in header if h not in analyte_cols]
    # A column that names a field exactly ("Value", "Date") is a field, even if it
    # could also be read as a test name.
    for h in list(analyte_cols):
        if h in forced_analytes:
            continue
        if any(infos[h].norm == a for f in ("value", "unit", "analyte", "code", "flag") for a in field_aliases()[f]):
            del analyte_cols[h]
            non_analyte.append(h)
    non_analyte = [h for h in header if h not in analyte_cols]

    options: list[tuple[str, dict[str, str]]] = []
    fields_labs = assign("labs", non_analyte)
    fields_doses = assign("doses", non_analyte)
    fields_patients = assign("patients", header)
    fields_wide = assign("wide", non_analyte)
    taken_any = set(forced_fields.values()) | ignored | set(forced_analytes)
    draw_labs = _choose_draw_date(fields_labs, non_analyte, infos, forced_fields, taken_any)
    draw_wide = _choose_draw_date(fields_wide, non_analyte, infos, forced_fields, taken_any, wide=True)

    if "drug" in fields_doses and ("start" in fields_doses or "dose" in fields_doses):
        options.append(("doses", fields_doses))
    if "value" in fields_labs and ("analyte" in fields_labs or "code" in fields_labs):
        options.append(("labs", fields_labs))
    if analyte_cols and ("value" not in fields_labs or not ("analyte" in fields_labs or "code" in fields_labs)):
        options.append(("wide", fields_wide))
    patient_fields = {"sex", "birth_date", "age", "weight_kg", "tpmt", "nudt15", "diagnosis", "name", "family_name"}
    if patient_fields & set(fields_patients):
        options.append(("patients", fields_patients))

    if not options:
        return ColumnMapping(
            "", {}, {}, list(header), _explain_missing(fields_labs, analyte_cols), explain=draw_labs.explain
        )
    kind, fields = options[0]
    if (kind == "patients" and len(options) == 1) or kind != "wide":
        analyte_cols = {}
    used = set(fields.values()) | set(analyte_cols) | ignored
    unmapped = [h for h in header if h not in used]
    missing = [f for f in REQUIRED[kind] if f not in fields]
    draw = draw_labs if kind == "labs" else draw_wide if kind == "wide" else _DrawDate()
    other_ids = [h for h in unmapped if "patient_id" in fields and match_field(infos[h], "patient_id") is not None]
    checks: list[tuple[str, str]] = []
    if kind == "labs" and "collected_at" in fields:
        checks = [("draw", h) for h in draw.also_draw if h in unmapped]
        checks += [("report", h) for h in unmapped if date_role(infos[h]) == "report"]
    return ColumnMapping(
        kind,
        fields,
        analyte_cols,
        unmapped,
        missing,
        draw.notes,
        draw.explain,
        draw.report_dates,
        other_ids=other_ids,
        date_checks=checks,
    )


@dataclass
class _DrawDate:
    notes: list[str] = field(default_factory=list)
    explain: str = ""
    report_dates: list[str] = field(default_factory=list)
    #: the other columns that could be the draw date, beside the one taken
    also_draw: list[str] = field(default_factory=list)


def _choose_draw_date(
    fields: dict[str, str],
    candidates: list[str],
    infos: dict[str, HeaderInfo],
    forced: dict[str, str],
    taken: set[str],
    wide: bool = False,
) -> _DrawDate:
    """Decide (in place) which column is the draw date and time of a lab table.

    A collection/specimen (or plain) date first; else an order date, with a note; a
    result/report/verified/received date is never taken without the user saying so
    (``--map``).  The time column must be of the same kind as the date column.  A wide
    table (one column per analyte) with more than one draw-date column ("WBC date",
    "Neut date") is asked about: which date belongs to which result is not guessed.
    """
    out = _DrawDate()
    if "collected_at" in forced:
        return out
    others = set(fields.values()) - {fields.get("collected_at"), fields.get("collection_time")}
    free = [h for h in candidates if h not in taken and h not in others]
    dates: dict[str, list[tuple[int, str]]] = {"draw": [], "order": [], "report": [], "other": []}
    times: dict[str, list[tuple[int, str]]] = {"draw": [], "order": [], "report": [], "other": []}
    for h in free:
        info = infos[h]
        role = date_role(info)
        rank = match_field(info, "collected_at")
        if rank is None and role != "draw" and _is_date_column(info) and "time" not in info.norm.split():
            rank = 500  # "Order Date", "Verified Date": recognised by their role words
        if rank is not None:
            dates[role].append((rank, h))
        trank = match_field(info, "collection_time")
        if trank is not None:
            times[role].append((trank, h))
    fields.pop("collected_at", None)
    fields.pop("collection_time", None)
    role = "draw" if dates["draw"] else "order" if dates["order"] else ""
    report = [h for _, h in sorted(dates["report"])]
    other = [h for _, h in sorted(dates["other"])]
    several = sorted({h for _, h in dates["draw"]})
    if wide and len(several) > 1:
        names = ", ".join(f"'{h}'" for h in several)
        out.explain = (
            f"the table has {len(several)} draw-date columns ({names}): which date belongs to which result is not "
            f"guessed. When one date holds for the whole row, map it (--map '{several[0]}=collected_at'); when each "
            "analyte has its own date, export one result per row"
        )
        return out
    if role:
        date_col = min(dates[role])[1]
        fields["collected_at"] = date_col
        out.also_draw = [h for _, h in sorted(dates[role]) if h != date_col]
        matching_times = [t for t in sorted(times[role]) if t[1] != date_col]
        if matching_times and "collection_time" not in forced:
            fields["collection_time"] = matching_times[0][1]
        if role == "order":
            out.report_dates = report
            unused = f", not {', '.join(repr(r) for r in report)}" if report else ""
            out.notes.append(
                f"No collection (draw) date column: the order date '{date_col}' is read as the draw date{unused}; "
                "map the collection date if the file has one."
            )
    elif "collection_time" in forced:
        pass
    elif report:
        names = ", ".join(f"'{r}'" for r in report)
        also = f" ({_quoted(other)} {'does' if len(other) == 1 else 'do'} not say it is the draw date either)"
        out.explain = (
            f"no collection (draw) date column: {names} {'is' if len(report) == 1 else 'are'} when the result was "
            f"reported, not when the blood was taken, so it is not read as the draw date{also if other else ''}. "
            "Map the draw-date column, "
            f"or, knowing that results would sit on their report date, --map '{report[0]}=collected_at'"
        )
    elif other:
        out.explain = (
            f"no collection (draw) date column: {_quoted(other)} {'does' if len(other) == 1 else 'do'} not say "
            "when the blood was taken (a date of printing, export, admission, discharge or the next test would move "
            "every result), so it is not read as the draw date. Map the draw-date column, or, knowing that it is "
            f"the draw date, --map '{other[0]}=collected_at'"
        )
    elif times["draw"]:  # a time-only column ("Time") as before
        fields["collection_time"] = min(times["draw"])[1]
    return out


def _quoted(columns: list[str]) -> str:
    return ", ".join(f"'{c}'" for c in columns)


def _unit_in_header(h: HeaderInfo, analyte: str) -> str:
    for part in h.brackets:
        if resolve_unit(analyte, part).factor is not None or part.strip() == "%":
            return part
    return ""


def _explain_missing(fields: dict[str, str], analyte_cols: dict[str, TestMatch]) -> list[str]:
    missing = []
    if "patient_id" not in fields:
        missing.append("patient_id")
    if "collected_at" not in fields:
        missing.append("collected_at")
    if "value" not in fields and not analyte_cols:
        missing.append("value (or one column per analyte)")
    if "analyte" not in fields and "code" not in fields and not analyte_cols:
        missing.append("analyte (test name or LOINC code)")
    return missing
