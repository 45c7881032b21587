"""What the knowledge base's module (:mod:`dashboard.knowledge`) and its entry types
(:mod:`dashboard.knowledge.entries`) share: the fields every sourced item carries, and
the words the drug entries are read by."""

from __future__ import annotations

from dataclasses import dataclass

#: Attributes of type "grade" whose key starts with this prefix are side-effect grades.
SIDE_EFFECT_PREFIX = "se_"
#: Role tags that mean a drug has a place in lupus nephritis treatment.
RENAL_ROLES: frozenset[str] = frozenset({"background", "induction", "maintenance", "add-on", "refractory"})


@dataclass(frozen=True, kw_only=True)
class Cited:
    """What every sourced item of the knowledge base carries: its reference ids, its
    evidence status and an optional note (keyword-only, after the item's own fields)."""

    refs: tuple[str, ...]
    status: str
    note: str = ""
