"""Routes of administration: "PO", "by mouth", "s.c.", "subkutan" to oral, sc, iv or im."""

from __future__ import annotations

from dashboard.ingest.mapping import normalize

_ROUTES = {
    "oral": "oral",
    "po": "oral",
    "p o": "oral",
    "by mouth": "oral",
    "per os": "oral",
    "orally": "oral",
    "tablet": "oral",
    "peroral": "oral",
    "enteral": "oral",
    "ng": "oral",
    "oral tablet": "oral",
    "oral capsule": "oral",
    "sc": "sc",
    "s c": "sc",
    "subcut": "sc",
    "subcutaneous": "sc",
    "sq": "sc",
    "subq": "sc",
    "s q": "sc",
    "subkutan": "sc",
    "iv": "iv",
    "i v": "iv",
    "intravenous": "iv",
    "intravenously": "iv",
    "ivpb": "iv",
    "iv infusion": "iv",
    "infusion": "iv",
    "intravenos": "iv",
    "ivp": "iv",
    "im": "im",
    "i m": "im",
    "intramuscular": "im",
}


def parse_route(text: str) -> str | None:
    t = normalize(text)
    if not t:
        return ""
    return _ROUTES.get(t)


def route_in_text(text: str) -> str:
    t = " " + normalize(text) + " "
    for word, route in (
        ("oral", "oral"),
        (" po ", "oral"),
        ("by mouth", "oral"),
        ("under the skin", "sc"),
        ("subcutaneous", "sc"),
        (" sc ", "sc"),
        ("injection", ""),
        ("intravenous", "iv"),
        (" iv ", "iv"),
        ("intramuscular", "im"),
    ):
        if word in t:
            return route
    return ""
