"""The typed entries of the knowledge base read by the Compare and Dosing pages and the
validator (:mod:`dashboard.knowledge`, which creates them and gives each by its name).

They live apart so that a review of lab results, which reads only the references and
the interactions, does not build these classes on every start (a dataclass costs about
a millisecond to create).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from dashboard.knowledge.base import RENAL_ROLES, SIDE_EFFECT_PREFIX, Cited


@dataclass(frozen=True)
class Fact(Cited):
    """One cell of the knowledge base: a value with its references and evidence status."""

    value: Any
    #: a ceiling in mg/day beside a mg/kg range (prednisone in lupus nephritis: 40 mg/day)
    max_mg_per_day: float | None = None


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


@dataclass
class _Problems:
    items: list[str] = field(default_factory=list)

    def add(self, where: str, text: str) -> None:
        self.items.append(f"{where}: {text}")
