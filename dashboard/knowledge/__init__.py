"""Knowledge base of lupus immunosuppressants: versioned data files, a typed loader and
a validator.

Every drug fact and every citation lives in TOML files under ``knowledge/data`` (read
with :mod:`tomllib`); this module only reads and checks them.

Layout
------
``references.toml``
    ``[refs.<id>]`` with ``citation``, ``url``, ``kind``, ``access`` (how much of the
    source was read) and ``note``.
``scales.toml``
    The attribute list (``[[attributes]]``: key, label, group, type), the evidence
    statuses, the 0-3 side-effect scale, the qualitative potency ladder, role tags,
    pregnancy/lactation categories, routes and the display order of the drugs.
``drugs/<slug>.toml``
    One entry per drug or regimen: ``id`` (the generic id from ``vocab/drugs.toml``,
    or ``"cyclophosphamide (NIH)"``-style ids for the two cyclophosphamide regimens),
    ``drug`` (the generic id in ``vocab/drugs.toml``), ``label``, ``short`` (chart
    label such as "AZA"), optional ``regimen``
    and ``also_covers`` (other generic ids the entry stands for, e.g. mycophenolic
    acid under mycophenolate mofetil), and ``[facts.<attribute>]`` tables with
    ``value``, ``refs`` (reference ids), ``status`` and an optional ``note``.
``steroid_equivalence.toml``, ``metabolites.toml``, ``dosing.toml``
    Glucocorticoid equivalence, thiopurine metabolite bands and the dosing rules.
``interactions.toml``
    Interactions the dose history can reveal (drugs, severity, wording, source): read
    by the dose checks, the Dosing page and the Compare page (:func:`interactions`).
``key_points.toml``
    Short facts and advice shown on the Dosing and Compare pages (:func:`key_points`).

Each file carries ``version`` and ``updated``.  :func:`validate` returns every
problem found; the schema tests require it to return none.
"""

from __future__ import annotations

import datetime as dt
import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

from dashboard import model

#: Evidence statuses a fact can have (meanings in ``scales.toml``).
STATUSES: tuple[str, ...] = ("confirmed", "secondary source", "unconfirmed")
REFERENCE_KINDS: tuple[str, ...] = (
    "guideline",
    "label",
    "trial",
    "study",
    "review",
    "patient-information",
    "database",
    "secondary",
)
ACCESS_LEVELS: tuple[str, ...] = ("full text", "abstract", "secondary", "not retrieved")
ATTRIBUTE_TYPES: tuple[str, ...] = (
    "text",
    "list",
    "routes",
    "number_range",
    "tier",
    "roles",
    "grade",
    "compatibility",
)
#: Attributes of type "grade" whose key starts with this prefix are side-effect grades.
SIDE_EFFECT_PREFIX = "se_"
#: Role tags that mean a drug has a place in lupus nephritis treatment.
RENAL_ROLES: frozenset[str] = frozenset({"background", "induction", "maintenance", "add-on", "refractory"})
#: Pregnancy categories the "pregnancy-compatible" filter accepts.
PREGNANCY_COMPATIBLE: frozenset[str] = frozenset({"compatible", "compatible with limits"})

_DATA = "data"


# --------------------------------------------------------------------------- types


@dataclass(frozen=True, kw_only=True)
class Cited:
    """What every sourced item of the knowledge base carries: its reference ids, its
    evidence status and an optional note (keyword-only, after the item's own fields)."""

    refs: tuple[str, ...]
    status: str
    note: str = ""


def _cited(item: dict[str, Any]) -> dict[str, Any]:
    """The :class:`Cited` fields of a TOML table (missing ones empty)."""
    return {"refs": tuple(item.get("refs", ())), "status": item.get("status", ""), "note": item.get("note", "")}


@dataclass(frozen=True)
class Fact(Cited):
    """One cell of the knowledge base: a value with its references and evidence status."""

    value: Any
    #: a ceiling in mg/day beside a mg/kg range (prednisone in lupus nephritis: 40 mg/day)
    max_mg_per_day: float | None = None


@dataclass(frozen=True)
class Reference:
    id: str
    citation: str
    url: str
    kind: str
    access: str
    note: str = ""


@dataclass(frozen=True)
class Attribute:
    key: str
    label: str
    group: str
    type: str

    @property
    def is_side_effect(self) -> bool:
        return self.type == "grade" and self.key.startswith(SIDE_EFFECT_PREFIX)


@dataclass(frozen=True)
class Level:
    """A labelled level of a scale (side-effect grade or potency tier)."""

    value: int
    label: str
    meaning: str


@dataclass(frozen=True)
class Evidence(Cited):
    """One piece of evidence behind the potency ordering (shown where it is drawn)."""

    id: str
    short: str
    text: str
    tiers: tuple[int, ...]


@dataclass(frozen=True)
class KeyPoint(Cited):
    """A short fact or piece of advice for the Dosing and Compare pages (``key_points.toml``)."""

    id: str
    drugs: tuple[str, ...]
    topic: str
    text: str


@dataclass(frozen=True)
class Scales:
    attributes: tuple[Attribute, ...]
    statuses: dict[str, tuple[str, str]]
    grades: tuple[Level, ...]
    side_effect_title: str
    side_effect_caveat: str
    tiers: tuple[Level, ...]
    ladder_title: str
    ladder_caveat: str
    ladder_refs: tuple[str, ...]
    ladder_evidence: tuple[Evidence, ...]
    roles: dict[str, str]
    compatibility: dict[str, tuple[str, str]]
    routes: dict[str, str]
    drug_order: tuple[str, ...]
    version: int
    updated: str

    def attribute(self, key: str) -> Attribute:
        return next(a for a in self.attributes if a.key == key)

    @property
    def side_effect_attributes(self) -> tuple[Attribute, ...]:
        return tuple(a for a in self.attributes if a.is_side_effect)

    def tier_label(self, tier: int) -> str:
        return next((t.label for t in self.tiers if t.value == tier), str(tier))


@dataclass(frozen=True)
class DrugEntry:
    """The knowledge of one drug (or one regimen of a drug)."""

    id: str
    drug: str
    label: str
    facts: dict[str, Fact]
    short: str = ""
    regimen: str = ""
    also_covers: tuple[str, ...] = ()
    version: int = 1
    updated: str = ""
    source_file: str = ""

    def fact(self, key: str) -> Fact:
        return self.facts[key]

    @property
    def potency(self) -> int:
        return int(self.facts["potency"].value)

    @property
    def routes(self) -> tuple[str, ...]:
        return tuple(self.facts["route"].value)

    @property
    def side_effects(self) -> dict[str, int]:
        return {k: int(f.value) for k, f in self.facts.items() if k.startswith(SIDE_EFFECT_PREFIX)}

    @property
    def burden(self) -> int:
        """Total side-effect burden: the sum of the 0-3 grades."""
        return sum(self.side_effects.values())

    @property
    def pregnancy(self) -> str:
        return str(self.facts["pregnancy"].value)

    @property
    def renal_roles(self) -> frozenset[str]:
        roles: set[str] = set()
        for key in ("role_acr_2024_ln", "role_kdigo_2024_ln"):
            roles |= set(self.facts[key].value) & RENAL_ROLES
        return frozenset(roles)

    @property
    def covers(self) -> tuple[str, ...]:
        """Generic ids this entry answers for."""
        return (self.drug, *self.also_covers)


@dataclass(frozen=True)
class Steroid(Cited):
    id: str
    label: str
    equivalent_mg: float
    relative_potency: float
    duration: str


@dataclass(frozen=True)
class SteroidTable:
    reference_drug: str
    steroids: dict[str, Steroid]
    caveat: str
    refs: tuple[str, ...]
    version: int
    updated: str


@dataclass(frozen=True)
class MetabolitePattern(Cited):
    id: str
    label: str
    rule: str
    action: str
    severity: str


@dataclass(frozen=True)
class MetaboliteRules:
    unit: str
    tgn_low: float
    tgn_high: float
    mmp_high: float
    ratio_shunt: float
    ratio_shunt_classic: float
    patterns: tuple[MetabolitePattern, ...]
    caveat: str
    refs: tuple[str, ...]
    version: int
    updated: str

    def pattern(self, pattern_id: str) -> MetabolitePattern:
        return next(p for p in self.patterns if p.id == pattern_id)


# --------------------------------------------------------------------------- loading


def _files():
    return resources.files("dashboard.knowledge").joinpath(_DATA)


def _read(name: str) -> dict[str, Any]:
    return tomllib.loads(_files().joinpath(name).read_text(encoding="utf-8"))


def _date_text(value: Any) -> str:
    return value.isoformat() if isinstance(value, dt.date) else str(value)


def _dosing_node(path: str) -> Any:
    node: Any = raw("dosing.toml")
    for part in path.split("."):
        index = None
        if part.endswith("]"):
            part, index = part[:-1].split("[")
        node = node[part]
        if index is not None:
            node = node[int(index)]
    return node


def dosing_number(path: str) -> float:
    """A number of ``dosing.toml`` by dotted path ("ciclosporin.max_mg_per_kg_day",
    "azathioprine.titration.start_mg_per_kg", "x.factor[1]")."""
    return float(_dosing_node(path))


def dosing_word(path: str) -> str:
    """A text value of ``dosing.toml`` by dotted path ("methotrexate.renal[0].measure")."""
    node = _dosing_node(path)
    if not isinstance(node, str):
        raise TypeError(f"dosing.toml {path} is not a text")
    return node


#: ``{azathioprine.usual_max_mg_per_kg}``, ``{mycophenolate.phases.induction.mmf_mg_per_day[0]/2000}``,
#: ``{azathioprine.allopurinol.factor[1]*100:.0f}``: a number of ``dosing.toml`` inside a
#: fact's text, optionally multiplied or divided by numbers or other ``dosing.toml``
#: numbers (``*mycophenolate.mmf_to_mpa``), with a format (``g`` unless given).
_PLACEHOLDER = re.compile(r"\{([a-z_][^{}:]*)(?::([^{}]+))?\}")
_FACTOR = re.compile(r"([*/])\s*([0-9.]+|[a-z_][a-z0-9_.\[\]]*)")


def _dosing_expression(expr: str) -> float:
    """``path``, ``path*100`` or ``path/2000``: a dosing.toml number, scaled."""
    path, rest = re.match(r"([^*/]+)(.*)", expr).groups()  # type: ignore[union-attr]
    if _FACTOR.sub("", rest).strip():
        raise ValueError(f"not a dosing.toml expression: {{{expr}}}")
    value = dosing_number(path.strip())
    for sign, term in _FACTOR.findall(rest):
        number = dosing_number(term) if term[0].isalpha() or term[0] == "_" else float(term)
        value = value * number if sign == "*" else value / number
    return value


#: ``{interactions.<id>.<field>}``: a text of ``interactions.toml`` (an interaction's
#: ``regimen``) inside a drug fact's text, so that a regimen the dose check reads is
#: typed once (probe30 F9, H457).
_INTERACTION_TEXT = "interactions."


def interaction_text(path: str) -> str:
    """A text field of an interaction of ``interactions.toml``: ``<id>.<field>``."""
    ident, _, key = path.partition(".")
    for item in raw("interactions.toml").get("interaction", []):
        if item.get("id") == ident:
            value = item[key]
            if not isinstance(value, str):
                raise TypeError(f"interactions.toml {path} is not a text")
            return value
    raise KeyError(f"interactions.toml has no interaction {ident!r}")


#: ``{schedule.<id>.description}``: a text of a monitoring schedule of the review
#: (``dashboard/rules/data/schedule.toml``) inside a drug fact's text, so that the
#: Compare page shows the schedule the review checks, typed once (probe35 F1, F2, H512).
_SCHEDULE_TEXT = "schedule."


@cache
def _rules_data(name: str) -> dict[str, Any]:
    """A data file of the review (``dashboard/rules/data/<name>``: schedule.toml,
    dose_checks.toml), read directly: not through dashboard.rules, which imports this
    package."""
    path = resources.files("dashboard").joinpath("rules").joinpath("data").joinpath(name)
    return tomllib.loads(path.read_text(encoding="utf-8"))


def schedule_text(path: str) -> str:
    """A text field of a schedule of the review's ``schedule.toml``: ``<id>.<field>``."""
    ident, _, key = path.partition(".")
    value = _rules_data("schedule.toml")["schedules"][ident][key]
    if not isinstance(value, str):
        raise TypeError(f"schedule.toml {path} is not a text")
    return value


#: ``{dose_checks.<check id>.<field>}``: a text of a dose check of the review
#: (``dashboard/rules/data/dose_checks.toml``: its ``message``, ``severity`` or a number such
#: as ``window_days``) inside a
#: drug fact's text, so that the Compare page states what the check does in its own
#: words, typed once (probe45 F7, H637).
_DOSE_CHECK_TEXT = "dose_checks."


def dose_check_text(path: str) -> str:
    """A text field of a check of the review's ``dose_checks.toml``: ``<id>.<field>``
    (the id may hold dots: "dose.cyc_pulse_neutrophils_low.message")."""
    ident, _, key = path.rpartition(".")
    for check in _rules_data("dose_checks.toml").get("check", []):
        if check.get("id") == ident:
            value = check[key]
            if isinstance(value, int | float) and not isinstance(value, bool):
                return format(value, "g")  # a number of the check (window_days)
            if not isinstance(value, str):
                raise TypeError(f"dose_checks.toml {path} is not a text or a number")
            return value
    raise KeyError(f"dose_checks.toml has no check {ident!r}")


def dosing_text(text: str) -> str:
    """A fact text with each ``{path}`` of ``dosing.toml`` replaced by its number (and
    each ``{interactions.<id>.<field>}`` by that interaction's text, each
    ``{schedule.<id>.<field>}`` by that review schedule's text, each
    ``{dose_checks.<id>.<field>}`` by that dose check's text), so that the Compare
    page's words never hold another copy of a dose (one fact, one place)."""

    def number(m: re.Match[str]) -> str:
        if m.group(1).startswith(_INTERACTION_TEXT) and not m.group(2):
            return interaction_text(m.group(1).removeprefix(_INTERACTION_TEXT))
        if m.group(1).startswith(_SCHEDULE_TEXT) and not m.group(2):
            return schedule_text(m.group(1).removeprefix(_SCHEDULE_TEXT))
        if m.group(1).startswith(_DOSE_CHECK_TEXT) and not m.group(2):
            return dose_check_text(m.group(1).removeprefix(_DOSE_CHECK_TEXT))
        return format(round(_dosing_expression(m.group(1)), 9), m.group(2) or "g")

    return _PLACEHOLDER.sub(number, text)


def _fill_texts(fact: dict[str, Any]) -> None:
    for key in ("value", "note"):
        value = fact.get(key)
        if isinstance(value, str):
            fact[key] = dosing_text(value)
        elif isinstance(value, list):
            fact[key] = [dosing_text(v) if isinstance(v, str) else v for v in value]


@cache
def raw_drug_files() -> dict[str, dict[str, Any]]:
    """The drug files as parsed TOML, keyed by file name (for validation).

    A fact may give ``value_from`` (a list of dotted paths into ``dosing.toml``) instead
    of ``value``, and ``max_mg_per_day_from`` (one path) instead of ``max_mg_per_day``:
    the numbers the dosing assistant and the dose checks use, so that the Compare page
    never shows another copy (one home per dose limit).  A number inside a fact's text or
    note is written ``{path}`` (see :func:`dosing_text`) for the same reason."""
    folder = _files().joinpath("drugs")
    out = {}
    for item in sorted(folder.iterdir(), key=lambda p: p.name):
        if item.name.endswith(".toml"):
            data = tomllib.loads(item.read_text(encoding="utf-8"))
            for fact in data.get("facts", {}).values():
                if "value_from" in fact and "value" not in fact:
                    fact["value"] = [dosing_number(path) for path in fact["value_from"]]
                if "max_mg_per_day_from" in fact and "max_mg_per_day" not in fact:
                    fact["max_mg_per_day"] = dosing_number(fact["max_mg_per_day_from"])
                _fill_texts(fact)
            out[item.name] = data
    return out


@cache
def raw(name: str) -> dict[str, Any]:
    """A top-level data file (``references.toml`` ...) as parsed TOML."""
    return _read(name)


@cache
def references() -> dict[str, Reference]:
    out = {}
    for key, item in raw("references.toml").get("refs", {}).items():
        out[key] = Reference(
            id=key,
            citation=item.get("citation", ""),
            url=item.get("url", ""),
            kind=item.get("kind", ""),
            access=item.get("access", ""),
            note=item.get("note", ""),
        )
    return out


@cache
def scales() -> Scales:
    data = raw("scales.toml")
    ladder = data["potency_ladder"]
    se = data["side_effect_scale"]
    return Scales(
        attributes=tuple(Attribute(a["key"], a["label"], a["group"], a["type"]) for a in data["attributes"]),
        statuses={k: (v["label"], v["meaning"]) for k, v in data["status"].items()},
        grades=tuple(Level(g["grade"], g["label"], g["meaning"]) for g in se["grades"]),
        side_effect_title=se["title"],
        side_effect_caveat=se["caveat"],
        tiers=tuple(Level(t["tier"], t["label"], t["meaning"]) for t in ladder["tiers"]),
        ladder_title=ladder["title"],
        ladder_caveat=ladder["caveat"],
        ladder_refs=tuple(ladder.get("references", ())),
        ladder_evidence=tuple(
            Evidence(
                id=e["id"],
                short=e["short"],
                text=e["text"],
                tiers=tuple(e.get("tiers", ())),
                **_cited(e),
            )
            for e in ladder.get("evidence", [])
        ),
        roles={k: v["meaning"] for k, v in data["roles"].items()},
        compatibility={k: (v["label"], v["meaning"]) for k, v in data["compatibility"].items()},
        routes=dict(data["routes"]),
        drug_order=tuple(data["drugs"]["order"]),
        version=int(data["version"]),
        updated=_date_text(data["updated"]),
    )


def _fact(item: dict[str, Any]) -> Fact:
    return Fact(
        value=item.get("value"),
        **_cited(item),
        max_mg_per_day=float(item["max_mg_per_day"]) if "max_mg_per_day" in item else None,
    )


@cache
def drugs() -> dict[str, DrugEntry]:
    """All entries keyed by entry id, in the display order of ``scales.toml``."""
    entries = {}
    for name, data in raw_drug_files().items():
        entry = DrugEntry(
            id=data["id"],
            drug=data["drug"],
            label=data["label"],
            short=data.get("short", ""),
            facts={k: _fact(v) for k, v in data.get("facts", {}).items()},
            regimen=data.get("regimen", ""),
            also_covers=tuple(data.get("also_covers", ())),
            version=int(data.get("version", 0)),
            updated=_date_text(data.get("updated", "")),
            source_file=name,
        )
        entries[entry.id] = entry
    order = scales().drug_order
    ranked = sorted(entries.values(), key=lambda e: (order.index(e.id) if e.id in order else len(order), e.id))
    return {e.id: e for e in ranked}


def entry_ids() -> tuple[str, ...]:
    return tuple(drugs())


def entries_for(drug_id: str) -> list[DrugEntry]:
    """The entries that answer for a generic id of the closed drug list (may be several)."""
    return [e for e in drugs().values() if drug_id in e.covers]


@cache
def steroid_table() -> SteroidTable:
    data = raw("steroid_equivalence.toml")
    steroids = {
        key: Steroid(
            id=key,
            label=item["label"],
            equivalent_mg=float(item["equivalent_mg"]),
            relative_potency=float(item["relative_potency"]),
            duration=item.get("duration", ""),
            **_cited(item),
        )
        for key, item in data["steroids"].items()
    }
    return SteroidTable(
        reference_drug=data["reference_drug"],
        steroids=steroids,
        caveat=data.get("caveat", ""),
        refs=tuple(data.get("refs", ())),
        version=int(data["version"]),
        updated=_date_text(data["updated"]),
    )


@cache
def metabolite_rules() -> MetaboliteRules:
    data = raw("metabolites.toml")
    th = data["thresholds"]
    return MetaboliteRules(
        unit=data["unit"],
        tgn_low=float(th["tgn_low"]),
        tgn_high=float(th["tgn_high"]),
        mmp_high=float(th["mmp_high"]),
        ratio_shunt=float(th["ratio_shunt"]),
        ratio_shunt_classic=float(th["ratio_shunt_classic"]),
        patterns=tuple(
            MetabolitePattern(
                id=p["id"],
                label=p["label"],
                rule=p["rule"],
                action=p["action"],
                severity=p["severity"],
                **_cited(p),
            )
            for p in data["patterns"]
        ),
        caveat=data.get("caveat", ""),
        refs=tuple(data.get("refs", ())),
        version=int(data["version"]),
        updated=_date_text(data["updated"]),
    )


@cache
def key_points() -> tuple[KeyPoint, ...]:
    """The key points of ``key_points.toml``, in file order."""
    return tuple(
        KeyPoint(
            id=p["id"],
            drugs=tuple(p["drugs"]),
            topic=p["topic"],
            text=p["text"],
            **_cited(p),
        )
        for p in raw("key_points.toml").get("point", [])
    )


def key_points_for(drugs: tuple[str, ...] | list[str]) -> list[KeyPoint]:
    """The key points about any of ``drugs`` (generic ids), each once, in file order."""
    wanted = set(drugs)
    return [p for p in key_points() if wanted & set(p.drugs)]


@dataclass(frozen=True)
class Interaction(Cited):
    """One interaction of ``interactions.toml``, its interacting drugs resolved."""

    id: str
    drugs: tuple[str, ...]
    with_drugs: tuple[str, ...]
    with_label: str
    severity: str
    wording: str
    advice: str
    source: str
    max_mg_per_day: float | None = None
    regimen: str = ""


def _advice(item: dict[str, Any]) -> str:
    """An interaction's advice with its "{regimen}" and "{max_mg_per_day}" filled in from
    the interaction's own fields (each typed once)."""
    maximum = item.get("max_mg_per_day")
    text = str(item["advice"]).replace("{regimen}", str(item.get("regimen", "")))
    return text.replace("{max_mg_per_day}", "" if maximum is None else format(float(maximum), "g"))


@cache
def interactions() -> dict[str, Interaction]:
    """The interactions of ``interactions.toml`` keyed by id (interacting lists expanded)."""
    data = raw("interactions.toml")
    lists = data.get("lists", {})
    out = {}
    for item in data.get("interaction", []):
        if "with_list" in item:
            lst = lists[item["with_list"]]
            with_drugs, with_label = tuple(lst["drugs"]), lst["label"]
        else:
            with_drugs = tuple(item["with"])
            with_label = " or ".join(model.drug_label(d).lower() for d in with_drugs)
        maximum = item.get("max_mg_per_day")
        out[item["id"]] = Interaction(
            id=item["id"],
            drugs=tuple(item["drugs"]),
            with_drugs=with_drugs,
            with_label=with_label,
            severity=item["severity"],
            wording=item["wording"],
            advice=_advice(item),
            source=item["source"],
            max_mg_per_day=None if maximum is None else float(maximum),
            regimen=item.get("regimen", ""),
            **_cited(item),
        )
    return out


def interactions_for(drug_id: str) -> list[Interaction]:
    """The interactions in which ``drug_id`` is the monitored drug."""
    return [i for i in interactions().values() if drug_id in i.drugs]


@cache
def dosing_rules() -> dict[str, Any]:
    """The dosing rules as parsed TOML (``dosing.toml``)."""
    return raw("dosing.toml")


def format_refs(ids: tuple[str, ...] | list[str]) -> str:
    """Reference ids as a bracketed list ("[cpic2018, fda_imuran]"); full citations are
    listed with :func:`references` wherever the ids are shown."""
    return "[" + ", ".join(ids) + "]" if ids else ""


def source_with_ids(source: str, ids: Iterable[str]) -> str:
    """A source's words with the reference ids it rests on appended, each in its own
    square brackets ("Medsafe Prescriber Update 43(1), March 2022 [medsafe_mtx_tmp]"), the
    form :func:`cited_ids` reads; an id the words already name is not repeated.  Used where
    the words and the ids are kept apart in the data (an interaction's ``source`` and
    ``refs``, a cumulative-dose threshold's), so that its dose check cites like any flag."""
    named = set(SOURCE_REF.findall(source))
    extra = [f"[{i}]" for i in dict.fromkeys(ids) if i not in named]
    return " ".join([source, *extra]) if extra else source


def cited_ids(texts: Iterable[object]) -> list[str]:
    """The reference ids the ``texts`` name in square brackets ("BSR 2017 [bsr2017] as
    restated by SPS [sps_ssz]": bsr2017, sps_ssz), each once, in order of first citation.

    Only ids of ``references.toml`` count: a bracketed word that is none ("[caution]", a
    profile's name) is left as written.  The one reading of a source's ids for the Rules
    page and every output that resolves them (PDF, workbooks, the CLI review)."""
    known = references()
    found: dict[str, None] = {}
    for text in texts:
        if isinstance(text, str) and "[" in text:
            for ref in SOURCE_REF.findall(text):
                if ref in known:
                    found.setdefault(ref)
    return list(found)


def reference_rows(ids: Iterable[str], columns: Mapping[str, str]) -> list[dict[str, str]]:
    """One row per reference id: ``columns`` maps each column's name to the attribute of
    :class:`Reference` it shows ({"Citation": "citation", "Link": "url"}).  The one
    "reference id -> citation and link" table builder (Compare, Dosing, Rules, exports)."""
    known = references()
    return [{name: str(getattr(known[i], attr)) for name, attr in columns.items()} for i in ids]


# --------------------------------------------------------------------------- validation


@dataclass
class _Problems:
    items: list[str] = field(default_factory=list)

    def add(self, where: str, text: str) -> None:
        self.items.append(f"{where}: {text}")


def _check_header(p: _Problems, where: str, data: dict[str, Any]) -> None:
    if not isinstance(data.get("version"), int):
        p.add(where, "missing integer 'version'")
    updated = data.get("updated")
    if isinstance(updated, dt.date):
        return
    try:
        dt.date.fromisoformat(str(updated))
    except ValueError:
        p.add(where, f"'updated' is not an ISO date: {updated!r}")


def _check_refs(p: _Problems, where: str, refs: Any, known: dict[str, Reference], used: set[str]) -> None:
    if not isinstance(refs, list | tuple) or not refs:
        p.add(where, "needs at least one reference id in 'refs'")
        return
    for r in refs:
        if r not in known:
            p.add(where, f"unknown reference id {r!r}")
        used.add(r)


def _check_cited(p: _Problems, where: str, refs: Any, status: Any, known: dict[str, Reference], used: set[str]) -> None:
    """A sourced item: known reference ids and one of the evidence statuses."""
    _check_refs(p, where, refs, known, used)
    if status not in STATUSES:
        p.add(where, f"status {status!r} not one of {STATUSES}")


def _check_value(p: _Problems, where: str, kind: str, value: Any, sc: Scales) -> None:
    def is_text_list(v: Any) -> bool:
        return isinstance(v, list) and all(isinstance(x, str) and x.strip() for x in v)

    ok = True
    if kind == "text":
        ok = isinstance(value, str) and bool(value.strip())
    elif kind == "list":
        ok = is_text_list(value) and bool(value)
    elif kind == "routes":
        ok = is_text_list(value) and bool(value) and all(v in sc.routes for v in value)
    elif kind == "number_range":
        ok = (
            isinstance(value, list)
            and len(value) <= 2
            and all(isinstance(x, int | float) and not isinstance(x, bool) and x >= 0 for x in value)
            and (len(value) < 2 or value[0] <= value[1])
        )
    elif kind == "tier":
        ok = isinstance(value, int) and not isinstance(value, bool) and value in {t.value for t in sc.tiers}
    elif kind == "roles":
        ok = is_text_list(value) and bool(value) and all(v in sc.roles for v in value)
    elif kind == "grade":
        ok = isinstance(value, int) and not isinstance(value, bool) and value in {g.value for g in sc.grades}
    elif kind == "compatibility":
        ok = isinstance(value, str) and value in sc.compatibility
    if not ok:
        p.add(where, f"value {value!r} is not a valid {kind}")


#: A reference id named in a rule's source ("BSR 2017 [bsr2017] as restated by SPS [sps_ssz]").
SOURCE_REF = re.compile(r"\[(\w+)\]")


def _check_rule_sources(p: _Problems, known: dict[str, Reference], used: set[str]) -> None:
    """Every reference id a rule data file's ``source`` names (rules.toml, ctcae.toml,
    schedule.toml, dose_checks.toml: the words each flag, schedule row and dose check
    cites) is a reference of references.toml, so that its URL opens the source (probe38
    F3, F4, H572, H640)."""
    # read by :func:`_rules_data`, not through dashboard.rules (which imports this package)
    files = {name: _rules_data(name) for name in ("rules.toml", "ctcae.toml", "schedule.toml", "dose_checks.toml")}

    def walk(node: Any, where: str) -> None:
        if isinstance(node, dict):
            for k, v in node.items():
                if k == "source" and isinstance(v, str):
                    for ref in SOURCE_REF.findall(v):
                        if ref in known:
                            used.add(ref)
                        else:
                            p.add(where, f"source names unknown reference {ref!r}")
                else:
                    walk(v, f"{where}.{k}")
        elif isinstance(node, list):
            for i, v in enumerate(node):
                walk(v, f"{where}[{i}]")

    for name, data in files.items():
        walk(data, name)


def validate() -> list[str]:
    """Every schema problem in the data files (an empty list when all is well)."""
    p = _Problems()
    known = references()
    used: set[str] = set()

    _check_header(p, "references.toml", raw("references.toml"))
    for r in known.values():
        where = f"references.toml [{r.id}]"
        if not r.citation.strip():
            p.add(where, "missing citation")
        if not r.url.strip():
            p.add(where, "missing url")
        if r.kind not in REFERENCE_KINDS:
            p.add(where, f"kind {r.kind!r} not one of {REFERENCE_KINDS}")
        if r.access not in ACCESS_LEVELS:
            p.add(where, f"access {r.access!r} not one of {ACCESS_LEVELS}")

    _check_header(p, "scales.toml", raw("scales.toml"))
    sc = scales()
    for a in sc.attributes:
        if a.type not in ATTRIBUTE_TYPES:
            p.add("scales.toml", f"attribute {a.key!r} has unknown type {a.type!r}")
    if set(sc.statuses) != set(STATUSES):
        p.add("scales.toml", f"statuses {sorted(sc.statuses)} differ from {sorted(STATUSES)}")
    _check_refs(p, "scales.toml potency_ladder", list(sc.ladder_refs), known, used)
    for ev in sc.ladder_evidence:
        where = f"scales.toml potency_ladder evidence {ev.id!r}"
        _check_cited(p, where, list(ev.refs), ev.status, known, used)

    vocab = model.drug_info()
    keys = [a.key for a in sc.attributes]
    seen_ids: set[str] = set()
    for name, data in raw_drug_files().items():
        where = f"drugs/{name}"
        _check_header(p, where, data)
        entry_id = data.get("id", "")
        if not entry_id:
            p.add(where, "missing 'id'")
        if entry_id in seen_ids:
            p.add(where, f"duplicate id {entry_id!r}")
        seen_ids.add(entry_id)
        if data.get("drug") not in vocab:
            p.add(where, f"'drug' {data.get('drug')!r} is not a generic id of vocab/drugs.toml")
        if data.get("drug") in vocab and entry_id != data.get("drug") and not data.get("regimen"):
            p.add(where, "'id' must equal the generic id unless the entry is a regimen")
        for other in data.get("also_covers", []):
            if other not in vocab:
                p.add(where, f"'also_covers' id {other!r} is not in vocab/drugs.toml")
        for name_key in ("label", "short"):
            if not str(data.get(name_key, "")).strip():
                p.add(where, f"missing {name_key!r}")
        facts = data.get("facts", {})
        for key in keys:
            if key not in facts:
                p.add(where, f"missing fact {key!r}")
        for key, item in facts.items():
            fwhere = f"{where} [facts.{key}]"
            if key not in keys:
                p.add(fwhere, "not an attribute of scales.toml")
                continue
            if "value" not in item:
                p.add(fwhere, "missing 'value'")
                continue
            _check_value(p, fwhere, sc.attribute(key).type, item["value"], sc)
            _check_cited(p, fwhere, item.get("refs"), item.get("status"), known, used)
            if not isinstance(item.get("note", ""), str):
                p.add(fwhere, "'note' must be text")
    if set(sc.drug_order) != seen_ids:
        p.add("scales.toml [drugs] order", f"does not list exactly the entries {sorted(seen_ids)}")

    st = raw("steroid_equivalence.toml")
    _check_header(p, "steroid_equivalence.toml", st)
    _check_refs(p, "steroid_equivalence.toml", st.get("refs"), known, used)
    for key, item in st.get("steroids", {}).items():
        where = f"steroid_equivalence.toml [{key}]"
        if key not in vocab:
            p.add(where, "not a generic id of vocab/drugs.toml")
        if not (isinstance(item.get("equivalent_mg"), int | float) and item["equivalent_mg"] > 0):
            p.add(where, "equivalent_mg must be a positive number")
        _check_cited(p, where, item.get("refs"), item.get("status"), known, used)
    if st.get("reference_drug") not in st.get("steroids", {}):
        p.add("steroid_equivalence.toml", "reference_drug must be one of the steroids")

    me = raw("metabolites.toml")
    _check_header(p, "metabolites.toml", me)
    _check_refs(p, "metabolites.toml", me.get("refs"), known, used)
    _check_refs(p, "metabolites.toml [thresholds]", me.get("thresholds", {}).get("refs"), known, used)
    for item in me.get("patterns", []):
        where = f"metabolites.toml pattern {item.get('id')!r}"
        _check_cited(p, where, item.get("refs"), item.get("status"), known, used)

    do = raw("dosing.toml")
    _check_header(p, "dosing.toml", do)

    def walk(node: Any, where: str) -> None:
        if isinstance(node, dict):
            if "refs" in node:
                _check_cited(p, where, node["refs"], node.get("status"), known, used)
            for k, v in node.items():
                if k != "refs":
                    walk(v, f"{where}.{k}")
        elif isinstance(node, list):
            for i, v in enumerate(node):
                walk(v, f"{where}[{i}]")

    walk(do, "dosing.toml")

    kp = raw("key_points.toml")
    _check_header(p, "key_points.toml", kp)
    walk(kp, "key_points.toml")
    for item in kp.get("point", []):
        where = f"key_points.toml [{item.get('id')}]"
        for d in item.get("drugs", []):
            if d not in vocab:
                p.add(where, f"{d!r} is not a generic id of vocab/drugs.toml")
        if not str(item.get("text", "")).strip():
            p.add(where, "missing 'text'")

    ia = raw("interactions.toml")
    _check_header(p, "interactions.toml", ia)
    walk(ia, "interactions.toml")
    severities = ("info", "caution", "action", "urgent")
    for item in ia.get("interaction", []):
        where = f"interactions.toml [{item.get('id')}]"
        named = list(item.get("drugs", [])) + list(item.get("with", []))
        if "with_list" in item:
            if item["with_list"] not in ia.get("lists", {}):
                p.add(where, f"unknown list {item['with_list']!r}")
            else:
                named += ia["lists"][item["with_list"]]["drugs"]
        for d in named:
            if d not in vocab:
                p.add(where, f"{d!r} is not a generic id of vocab/drugs.toml")
        if item.get("severity") not in severities:
            p.add(where, f"severity {item.get('severity')!r} not one of {severities}")
        for key in ("wording", "advice", "source"):
            if not str(item.get(key, "")).strip():
                p.add(where, f"missing {key!r}")

    _check_rule_sources(p, known, used)
    for unused in sorted(set(known) - used):
        p.add("references.toml", f"reference {unused!r} is not cited anywhere")
    return p.items
