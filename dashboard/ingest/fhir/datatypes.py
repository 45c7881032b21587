"""FHIR data types read the same way by every resource reader: codings and CodeableConcepts,
Quantities, numbers, ISO dates, the subject of a resource."""

from __future__ import annotations

import datetime as dt
import math
import re
from typing import Any

import pyarrow as pa

from dashboard.ingest import dates as dates_mod

LOINC = "http://loinc.org"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
UCUM = "http://unitsofmeasure.org"

Resource = dict[str, Any]


def element(res: Resource, key: str) -> Resource:
    """The object at ``res[key]``; ``{}`` when it is absent or not an object."""
    value = res.get(key)
    return value if isinstance(value, dict) else {}


def subject_of(res: Resource) -> Any:
    return res.get("subject") or res.get("patient")


def cc_codings(cc: Any) -> list[dict]:
    if not isinstance(cc, dict):
        return []
    return [c for c in cc.get("coding") or [] if isinstance(c, dict)]


def cc_text(cc: Any) -> str:
    if not isinstance(cc, dict):
        return ""
    if cc.get("text"):
        return str(cc["text"])
    for c in cc_codings(cc):
        if c.get("display"):
            return str(c["display"])
    return ""


def cc_code(cc: Any, system: str) -> str:
    for c in cc_codings(cc):
        if str(c.get("system", "")).rstrip("/") == system and c.get("code"):
            return str(c["code"])
    return ""


def cc_codes(cc: Any) -> list[tuple[str, str]]:
    return [(str(c.get("system", "")), str(c.get("code", ""))) for c in cc_codings(cc) if c.get("code")]


def num_text(v: Any) -> str:
    if isinstance(v, bool) or v is None:
        return ""
    if isinstance(v, int | float):
        if isinstance(v, float) and not math.isfinite(v):
            return ""
        return repr(v) if isinstance(v, float) else str(v)
    return str(v).strip()


def quantity_unit(q: dict) -> tuple[str, str]:
    """(human unit, cleaned UCUM code) of a Quantity."""
    unit = str(q.get("unit", q.get("units", ""))).strip()  # DSTU1 writes "units"
    code = str(q.get("code", "")).strip() if str(q.get("system", UCUM)).rstrip("/") == UCUM else ""
    code = code.replace("[", "").replace("]", "")
    return unit, code


def fhir_date(text: str) -> tuple[dt.datetime | None, str]:
    if not text:
        return None, "no date"
    parsed = dates_mod.parse_dates(pa.array([text.strip()], pa.string()), "ISO")
    value = parsed.values.to_pylist()[0]
    reason = parsed.reason.to_pylist()[0]
    if value is None and re.fullmatch(r"\d{4}(-\d{2})?", text.strip()):
        reason = f"date '{text.strip()}' gives only the year or month"
    return (value.replace(tzinfo=None) if value is not None else None), reason


def describe_code(name: str, code: str) -> str:
    return f"{name} ({code})" if name and code else name or code
