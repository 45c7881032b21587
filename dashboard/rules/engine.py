"""Rules and profiles: load and validate ``rules.toml``; user profiles saved as JSON.

A *profile* is the set of rules in force: which guideline and trend rules are on, with
which thresholds and severities, whether CTCAE grades raise flags, and which monitoring
schedule applies.  Three profiles are built in ("BSR 2025", the default; "BSR 2017 /
NICE", kept so that old audits reproduce; "CTCAE only"); a *user profile* is a
built-in one with thresholds edited in the app, saved as a small JSON file that names
its base profile and lists only what changed.  A flag raised by an edited rule cites the
user profile and the original limit, never the guideline alone.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path
from typing import Any

from dashboard.model import ANALYTES, CANONICAL_UNITS, analyte_info, drugs
from dashboard.rules.data import SEVERITIES, rules_file, schedule_file

DEFAULT_PROFILE = "BSR 2025"
LEGACY_PROFILE = "BSR 2017 / NICE"
CTCAE_ONLY = "CTCAE only"
KINDS = ("guideline", "trend")
COMPARISONS = {
    "guideline": ("<", ">", "rise_pct", "fall_pct"),
    "trend": ("consecutive_falls", "baseline_fall"),
}
#: What a user profile may change on a rule.
EDITABLE = ("enabled", "threshold", "severity")
PROFILE_FORMAT = "immunosuppressant-dashboard rules profile"


class RuleError(ValueError):
    """A rule or profile that cannot be used (the message says why)."""


@dataclass(frozen=True)
class Rule:
    """One guideline or trend rule (see ``rules.toml`` for the fields)."""

    id: str
    kind: str
    analytes: tuple[str, ...]
    comparison: str
    threshold: float
    unit: str
    severity: str
    message: str
    source: str
    citation: str
    window_days: int = 0
    count: int = 0
    min_results: int = 0
    max_severity_in_range: str = ""
    messages: tuple[tuple[str, str], ...] = ()
    enabled: bool = True
    #: evidence status under the profile ("" when the rules file gives none)
    status: str = ""
    #: the guideline's repeat test: a first result past the limit makes the tests of
    #: ``repeat_group`` (a test group of schedule.toml) due ``repeat_days`` after it
    repeat_days: int = 0
    repeat_group: str = ""
    #: a rule tied by its source to one drug (a label's rule): it judges only results
    #: taken while that drug is in force, against the baseline before that drug's course
    #: (its first course with ``first_course``)
    drug: str = ""
    #: the limit counts ("30% or more", as a label writes it); else strict ("more than")
    inclusive: bool = False
    #: a second condition of a ``baseline_fall`` guideline rule: the result is also below
    #: this value (the voclosporin label: eGFR < 60 and reduced by >= 30%); 0: none
    and_below: float = 0.0
    #: an upper end of a fall band (strict: "> 20% and < 30%"); 0: none
    below_pct: float = 0.0
    #: with ``drug``: the baseline is the one before the drug's first course in the record,
    #: kept through dose changes, gaps and restarts (the voclosporin label's "baseline",
    #: which a restart must return to); else the one before the course in force
    first_course: bool = False
    #: a guideline's limit written for the drugs its profile's ``guideline_drugs`` lists:
    #: where none of them is in force, the flag says so and is at most caution
    scoped: bool = False
    #: the few words naming the source beside a limit line on the timeline (its margin
    #: has room for no more); "" : the source's first words.  It must keep any caveat
    #: that changes whose limit it is ("BSR 2017 limit (2025 not confirmed)", H571)
    short_source: str = ""

    def message_for(self, analyte: str) -> str:
        """The advice for one analyte (``messages``), else the rule's ``message``."""
        return dict(self.messages).get(analyte, self.message)

    @property
    def analyte(self) -> str:
        """The analyte of a single-analyte rule ("" for a trend rule over several)."""
        return self.analytes[0] if len(self.analytes) == 1 else ""


@dataclass(frozen=True)
class Profile:
    """The rules in force.  ``rules`` holds every known rule, each enabled or not."""

    name: str
    description: str
    ctcae: bool
    rules: tuple[Rule, ...]
    based_on: str = ""
    path: str = ""
    version: str = ""
    #: the monitoring schedule (a profile of ``schedule.toml``)
    schedule: str = "BSR 2025"
    #: the drugs the ``scoped`` rules' guideline is written for (``rules.toml``
    #: [guideline_drugs]); empty: every monitored drug
    guideline_drugs: tuple[str, ...] = ()

    @property
    def is_user(self) -> bool:
        return bool(self.based_on)

    def rule(self, rule_id: str) -> Rule:
        for r in self.rules:
            if r.id == rule_id:
                return r
        raise KeyError(rule_id)

    def active(self, kind: str | None = None) -> list[Rule]:
        """Enabled rules, optionally of one kind."""
        return [r for r in self.rules if r.enabled and (kind is None or r.kind == kind)]


# --------------------------------------------------------------------------- loading


def _rule_from(item: Mapping[str, Any]) -> Rule:
    analytes = item.get("analytes") or [item.get("analyte", "")]
    return Rule(
        id=str(item["id"]),
        kind=str(item["kind"]),
        analytes=tuple(str(a) for a in analytes),
        comparison=str(item["comparison"]),
        threshold=float(item["threshold"]),
        unit=str(item["unit"]),
        severity=str(item["severity"]),
        message=str(item["message"]),
        source=str(item["source"]),
        citation=str(item.get("citation", "")),
        window_days=int(item.get("window_days", 0)),
        count=int(item.get("count", 0)),
        min_results=int(item.get("min_results", 0)),
        max_severity_in_range=str(item.get("max_severity_in_range", "")),
        messages=tuple((str(k), str(v)) for k, v in (item.get("messages") or {}).items()),
        status=str(item.get("status", "")),
        repeat_days=int(item.get("repeat_days", 0)),
        repeat_group=str(item.get("repeat_group", "")),
        drug=str(item.get("drug", "")),
        inclusive=bool(item.get("inclusive", False)),
        and_below=float(item.get("and_below", 0.0)),
        below_pct=float(item.get("below_pct", 0.0)),
        first_course=bool(item.get("first_course", False)),
        scoped=bool(item.get("scoped", False)),
        short_source=str(item.get("short_source", "")),
    )


#: What a profile's ``rule_overrides`` may change on a rule (never the threshold).
OVERRIDABLE = ("source", "message", "severity", "status", "citation", "short_source")


def validate_rule(rule: Rule) -> None:
    """Raise :class:`RuleError` when a rule cannot be applied as written."""
    where = f"rule {rule.id!r}"
    if not re.fullmatch(r"[a-z0-9_]+\.[a-z0-9_]+", rule.id):
        raise RuleError(f"{where}: id must look like 'group.name'")
    if rule.kind not in KINDS:
        raise RuleError(f"{where}: kind must be one of {', '.join(KINDS)}")
    if rule.comparison not in COMPARISONS[rule.kind]:
        raise RuleError(f"{where}: comparison must be one of {', '.join(COMPARISONS[rule.kind])}")
    for a in rule.analytes:
        if a not in ANALYTES:
            raise RuleError(f"{where}: unknown analyte {a!r}")
    if rule.kind == "guideline":
        if len(rule.analytes) != 1:
            raise RuleError(f"{where}: a guideline rule has exactly one analyte")
        if rule.unit != CANONICAL_UNITS[rule.analyte]:
            raise RuleError(f"{where}: unit must be the canonical {CANONICAL_UNITS[rule.analyte]}")
    elif rule.unit != "%":
        raise RuleError(f"{where}: a trend rule's threshold is a percentage (unit '%')")
    if not math.isfinite(rule.threshold) or rule.threshold <= 0:
        raise RuleError(f"{where}: threshold must be a positive number")
    if rule.comparison in ("<", ">"):
        lo, hi = analyte_info()[rule.analyte].plausible
        if not lo <= rule.threshold <= hi:
            raise RuleError(f"{where}: threshold {rule.threshold:g} {rule.unit} is outside the plausible {lo:g}-{hi:g}")
    elif rule.threshold >= 100:
        raise RuleError(f"{where}: a percentage threshold must be below 100")
    if rule.comparison == "rise_pct" and rule.window_days <= 0 and not rule.drug:
        raise RuleError(f"{where}: rise_pct needs window_days (the fallback without a baseline) or a drug")
    if rule.comparison == "consecutive_falls" and rule.count < 2:
        raise RuleError(f"{where}: consecutive_falls needs count >= 2")
    if rule.comparison == "baseline_fall" and rule.min_results < 2:
        raise RuleError(f"{where}: baseline_fall needs min_results >= 2 (a median of one result is not a baseline)")
    if rule.severity not in SEVERITIES:
        raise RuleError(f"{where}: severity must be one of {', '.join(SEVERITIES)}")
    if rule.max_severity_in_range and rule.max_severity_in_range not in SEVERITIES:
        raise RuleError(f"{where}: max_severity_in_range must be one of {', '.join(SEVERITIES)}")
    for a, _ in rule.messages:
        if a not in rule.analytes:
            raise RuleError(f"{where}: a message for {a!r}, which the rule does not check")
    if not rule.source.strip():
        raise RuleError(f"{where}: every rule needs a source")
    if rule.repeat_days < 0 or bool(rule.repeat_days) != bool(rule.repeat_group):
        raise RuleError(f"{where}: repeat_days (> 0) and repeat_group go together")
    if rule.comparison == "fall_pct" and not rule.drug:
        raise RuleError(f"{where}: fall_pct is a label's rule: it needs the drug whose baseline it uses")
    if rule.drug and rule.drug not in drugs():
        raise RuleError(f"{where}: unknown drug {rule.drug!r}")
    if rule.below_pct and not rule.threshold < rule.below_pct < 100:
        raise RuleError(f"{where}: below_pct must lie between the threshold and 100")
    if rule.scoped and rule.kind != "guideline":
        raise RuleError(f"{where}: only a guideline rule is scoped to its guideline's drugs")
    if rule.repeat_group and rule.repeat_group not in schedule_file()["test_groups"]:
        raise RuleError(f"{where}: repeat_group {rule.repeat_group!r} is not a test group of schedule.toml")


@cache
def all_rules() -> tuple[Rule, ...]:
    """Every rule of ``rules.toml``, validated, in file order."""
    rules = tuple(_rule_from(item) for item in rules_file()["rule"])
    seen: set[str] = set()
    for r in rules:
        validate_rule(r)
        if r.id in seen:
            raise RuleError(f"rule {r.id!r} is defined twice")
        seen.add(r.id)
    return rules


@cache
def builtin_profiles() -> dict[str, Profile]:
    """The profiles of ``rules.toml`` keyed by name, the default first."""
    raw = rules_file()
    known = {r.id for r in all_rules()}
    out: dict[str, Profile] = {}
    for name, item in raw["profiles"].items():
        on = set(item["rules"])
        unknown = on - known
        if unknown:
            raise RuleError(f"profile {name!r} names unknown rules: {', '.join(sorted(unknown))}")
        overrides = item.get("rule_overrides", {})
        if set(overrides) - known:
            raise RuleError(f"profile {name!r} overrides unknown rules: {', '.join(sorted(set(overrides) - known))}")
        rules = []
        for r in all_rules():
            change = overrides.get(r.id, {})
            bad = set(change) - set(OVERRIDABLE)
            if bad:
                raise RuleError(f"profile {name!r}: rule {r.id!r}: cannot override {', '.join(sorted(bad))}")
            text = {k: str(v) for k, v in change.items()}  # only the OVERRIDABLE text fields
            new = replace(
                r,
                enabled=r.id in on,
                source=text.get("source", r.source),
                message=text.get("message", r.message),
                severity=text.get("severity", r.severity),
                status=text.get("status", r.status),
                citation=text.get("citation", r.citation),
                short_source=text.get("short_source", r.short_source),
            )
            validate_rule(new)
            rules.append(new)
        out[name] = Profile(
            name,
            item["description"],
            bool(item["ctcae"]),
            tuple(rules),
            version=raw["version"],
            schedule=str(item.get("schedule", "BSR 2025")),
            guideline_drugs=_guideline_drugs(raw, name, item),
        )
    if DEFAULT_PROFILE not in out:
        raise RuleError(f"rules.toml has no {DEFAULT_PROFILE!r} profile")
    return out


def _guideline_drugs(raw: Mapping[str, Any], name: str, item: Mapping[str, Any]) -> tuple[str, ...]:
    """The drugs of the list a profile names (``guideline_drugs``), checked against drugs.toml."""
    which = item.get("guideline_drugs")
    if not which:
        return ()
    lists = raw.get("guideline_drugs", {})
    if which not in lists:
        raise RuleError(f"profile {name!r}: guideline_drugs {which!r} is not a list of rules.toml [guideline_drugs]")
    out = tuple(str(d) for d in lists[which]["drugs"])
    unknown = [d for d in out if d not in drugs()]
    if unknown:
        raise RuleError(f"rules.toml [guideline_drugs.{which!r}]: unknown drugs {', '.join(unknown)}")
    return out


def default_profile() -> Profile:
    return builtin_profiles()[DEFAULT_PROFILE]


# --------------------------------------------------------------------------- user profiles


def make_user_profile(
    name: str, base: Profile | str, overrides: Mapping[str, Mapping[str, Any]], ctcae: bool | None = None
) -> Profile:
    """A user profile: ``base`` with some rules enabled/disabled, re-thresholded or re-graded.

    ``overrides`` maps rule id -> {"enabled": bool, "threshold": float, "severity": str}.
    A changed threshold or severity is cited on every flag the rule raises.
    """
    name = name.strip()
    if not name:
        raise RuleError("a user profile needs a name")
    if name in builtin_profiles():
        raise RuleError(f"{name!r} is the name of a built-in profile; choose another name")
    base_p = builtin_profiles()[base] if isinstance(base, str) else base
    if base_p.is_user:
        base_p = builtin_profiles()[base_p.based_on]
    by_id = {r.id: r for r in base_p.rules}
    rules = dict(by_id)
    for rid, change in overrides.items():
        if rid not in by_id:
            raise RuleError(f"user profile {name!r}: unknown rule {rid!r}")
        bad = set(change) - set(EDITABLE)
        if bad:
            raise RuleError(f"user profile {name!r}: rule {rid!r}: cannot change {', '.join(sorted(bad))}")
        orig = by_id[rid]
        new = orig
        if "enabled" in change:
            new = replace(new, enabled=bool(change["enabled"]))
        edits = []
        if "threshold" in change and float(change["threshold"]) != orig.threshold:
            new = replace(new, threshold=float(change["threshold"]))
            edits.append(f"threshold {orig.threshold:g} -> {new.threshold:g} {orig.unit}")
        if "severity" in change and change["severity"] != orig.severity:
            new = replace(new, severity=str(change["severity"]))
            edits.append(f"severity {orig.severity} -> {new.severity}")
        if edits:
            # the short label named the guideline's limit: an edited one is the user's
            new = replace(
                new,
                source=f"User profile '{name}' ({'; '.join(edits)}), edited from {orig.source}",
                short_source="",
            )
        validate_rule(new)
        rules[rid] = new
    return Profile(
        name=name,
        description=f"User profile based on {base_p.name}",
        ctcae=base_p.ctcae if ctcae is None else bool(ctcae),
        rules=tuple(rules[r.id] for r in base_p.rules),
        based_on=base_p.name,
        version=base_p.version,
        schedule=base_p.schedule,
        guideline_drugs=base_p.guideline_drugs,
    )


def profile_overrides(profile: Profile) -> dict[str, dict[str, Any]]:
    """What a user profile changes relative to its base (what is saved)."""
    if not profile.is_user:
        return {}
    base = builtin_profiles()[profile.based_on]
    out: dict[str, dict[str, Any]] = {}
    for r in profile.rules:
        b = base.rule(r.id)
        diff: dict[str, Any] = {}
        if r.enabled != b.enabled:
            diff["enabled"] = r.enabled
        if r.threshold != b.threshold:
            diff["threshold"] = r.threshold
        if r.severity != b.severity:
            diff["severity"] = r.severity
        if diff:
            out[r.id] = diff
    return out


def profile_to_json(profile: Profile) -> str:
    """The file form of a user profile."""
    if not profile.is_user:
        raise RuleError(f"{profile.name!r} is built in; only user profiles are saved")
    doc = {
        "format": PROFILE_FORMAT,
        "schema": 1,
        "name": profile.name,
        "based_on": profile.based_on,
        "rules_version": profile.version,
        "ctcae": profile.ctcae,
        "saved_at": dt.datetime.now().replace(microsecond=0).isoformat(),
        "overrides": profile_overrides(profile),
    }
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


def profile_from_json(text: str, path: str = "") -> Profile:
    """Read a user profile file; :class:`RuleError` when it is not one or is invalid."""
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise RuleError(f"not a profile file (invalid JSON: {exc.msg})") from None
    if not isinstance(doc, dict) or doc.get("format") != PROFILE_FORMAT:
        raise RuleError("not a rules profile file")
    base = doc.get("based_on", "")
    if base not in builtin_profiles():
        raise RuleError(f"profile {doc.get('name')!r} is based on unknown profile {base!r}")
    overrides = doc.get("overrides") or {}
    if not isinstance(overrides, dict):
        raise RuleError("profile overrides must be an object")
    p = make_user_profile(str(doc.get("name", "")), base, overrides, ctcae=doc.get("ctcae"))
    return replace(p, path=path)


def profiles_dir() -> Path:
    """Where the app saves user profiles.

    ``DASHBOARD_PROFILES`` if set, else ``$DASHBOARD_WORKSPACE/profiles``, else
    ``~/.immunosuppressant-dashboard/profiles``.
    """
    if os.environ.get("DASHBOARD_PROFILES"):
        return Path(os.environ["DASHBOARD_PROFILES"])
    if os.environ.get("DASHBOARD_WORKSPACE"):
        return Path(os.environ["DASHBOARD_WORKSPACE"]) / "profiles"
    return Path.home() / ".immunosuppressant-dashboard" / "profiles"


def profile_file_name(name: str) -> str:
    slug = re.sub(r"[^A-Za-z0-9_-]+", "-", name.strip()).strip("-").lower() or "profile"
    return f"{slug}.json"


def save_profile(profile: Profile, directory: Path | None = None) -> Path:
    """Write a user profile to ``directory`` (default :func:`profiles_dir`)."""
    folder = directory or profiles_dir()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / profile_file_name(profile.name)
    path.write_text(profile_to_json(profile), encoding="utf-8")
    return path


def load_profile_file(path: str | Path) -> Profile:
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise RuleError(f"cannot read profile file {p}: {exc.strerror}") from None
    return profile_from_json(text, str(p))


def saved_profiles(directory: Path | None = None) -> dict[str, Profile]:
    """User profiles found in ``directory`` (unreadable files are skipped)."""
    folder = directory or profiles_dir()
    out: dict[str, Profile] = {}
    if folder.is_dir():
        for path in sorted(folder.glob("*.json")):
            try:
                p = load_profile_file(path)
            except RuleError:
                continue
            out[p.name] = p
    return out


def available_profiles(directory: Path | None = None) -> dict[str, Profile]:
    """Built-in profiles, then saved user profiles."""
    return {**builtin_profiles(), **saved_profiles(directory)}


def get_profile(name: str | Profile | None, directory: Path | None = None) -> Profile:
    """A profile by name (built-in, case-insensitive, or saved), or by a file path.

    ``None`` gives the default.  Raises :class:`RuleError` for anything else.
    """
    if isinstance(name, Profile):
        return name
    if name is None or not str(name).strip():
        return default_profile()
    key = str(name).strip()
    builtin = {k.lower(): v for k, v in builtin_profiles().items()}
    if key.lower() in builtin:
        return builtin[key.lower()]
    if key.lower().endswith(".json") or os.sep in key or Path(key).is_file():
        if not Path(key).is_file():
            raise RuleError(f"profile file not found: {key}")
        return load_profile_file(key)
    saved = saved_profiles(directory)
    if key in saved:
        return saved[key]
    names = ", ".join(repr(n) for n in builtin_profiles())
    raise RuleError(f"unknown profile {key!r}: use {names} or the path of a profile file (.json)")


def rule_ids(profile: Profile, kinds: Iterable[str] = KINDS) -> list[str]:
    return [r.id for r in profile.rules if r.kind in tuple(kinds)]
