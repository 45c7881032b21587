"""Compare treatments: tables built from the knowledge base (pure pandas, no streamlit).

Every displayed value carries its sources as bracketed footnote numbers ("[1, 3]") that
point into a references table, and an evidence mark: none when confirmed, "†" when only
a secondary source was read, "‡" when unconfirmed.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd
from pandas.io.formats.style import Styler

from dashboard import knowledge, model
from dashboard.figures import OKABE_ITO, rgba
from dashboard.knowledge import Attribute, DrugEntry, Fact

STATUS_MARKS: dict[str, str] = {"confirmed": "", "secondary source": "†", "unconfirmed": "‡"}
DIFFERS = "≠ differs"
#: Default comparison: the issue's scenario (young woman with lupus nephritis planning pregnancy).
DEFAULT_SELECTION: tuple[str, ...] = ("azathioprine", "mycophenolate mofetil", "cyclophosphamide (Euro-Lupus)")
MAX_SELECTION = 4
#: Okabe-Ito orange at low opacity: background of rows whose values differ.
DIFF_BACKGROUND = f"background-color: {rgba(OKABE_ITO['orange'], 0.22)}"


# --------------------------------------------------------------------------- cell text


def fact_text(attr: Attribute, fact: Fact) -> str:
    """A fact's value as display text, with a mg/day ceiling beside a mg/kg range."""
    text = value_text(attr, fact.value)
    if fact.max_mg_per_day is not None:
        text += f", at most {fact.max_mg_per_day:g} mg/day"
    return text


def value_text(attr: Attribute, value: Any) -> str:
    """A fact value as display text (without sources)."""
    sc = knowledge.scales()
    if attr.type == "routes":
        return ", ".join(sc.routes.get(v, v) for v in value)
    if attr.type in ("list", "roles"):
        return "; ".join(value)
    if attr.type == "number_range":
        if not value:
            return "not weight-based"
        if len(value) == 1:
            return f"up to {value[0]:g} mg/kg"
        return f"{value[0]:g} mg/kg" if value[0] == value[1] else f"{value[0]:g}-{value[1]:g} mg/kg"
    if attr.type == "tier":
        return f"{value} - {sc.tier_label(value)}"
    if attr.type == "grade":
        label = next((g.label for g in sc.grades if g.value == value), "")
        return f"{value} ({label.lower()})"
    if attr.type == "compatibility":
        return sc.compatibility.get(value, (value, ""))[0]
    return str(value)


def _cell(attr: Attribute, fact: Fact, numbers: dict[str, int], with_note: bool = False) -> str:
    for r in fact.refs:
        numbers.setdefault(r, len(numbers) + 1)
    marks = ", ".join(str(numbers[r]) for r in fact.refs)
    mark = STATUS_MARKS.get(fact.status, "")
    text = f"{fact_text(attr, fact)} [{marks}]{(' ' + mark) if mark else ''}"
    return f"{text} — {fact.note}" if with_note and fact.note else text


def _comparable(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value


def references_frame(numbers: dict[str, int]) -> pd.DataFrame:
    """Footnote number -> full citation, in number order."""
    ids = sorted(numbers, key=numbers.__getitem__)
    columns = {"Reference": "citation", "What was read": "access", "Link": "url", "Id": "id"}
    rows = [{"No.": numbers[i], **row} for i, row in zip(ids, knowledge.reference_rows(ids, columns), strict=True)]
    return pd.DataFrame(rows, columns=["No.", *columns])


# --------------------------------------------------------------------------- side by side


@dataclass(frozen=True)
class SideBySide:
    """Rows = attributes, columns = drugs, plus the footnotes and per-cell details."""

    table: pd.DataFrame
    references: pd.DataFrame
    details: pd.DataFrame
    differing: tuple[str, ...]


def side_by_side(entry_ids: Sequence[str], with_notes: bool = False) -> SideBySide:
    """Compare the chosen entries attribute by attribute.

    ``table`` has columns Group, Attribute, one per drug (its label) and Differs
    ("≠ differs" when the values are not all equal); with ``with_notes`` each cell also
    carries its note (e.g. the washout before conception).  ``details`` lists every cell
    with its evidence status, note and reference ids.
    """
    entries = [knowledge.drugs()[i] for i in entry_ids]
    if not entries:
        raise ValueError("Choose at least one drug.")
    sc = knowledge.scales()
    numbers: dict[str, int] = {}
    rows, details, differing = [], [], []
    for attr in sc.attributes:
        facts = [e.fact(attr.key) for e in entries]
        differs = len({_comparable(f.value) for f in facts}) > 1
        row = {"Group": attr.group, "Attribute": attr.label}
        for e, f in zip(entries, facts, strict=True):
            row[e.label] = _cell(attr, f, numbers, with_notes)
            details.append(
                {
                    "Drug": e.label,
                    "Attribute": attr.label,
                    "Value": fact_text(attr, f),
                    "Evidence": f.status,
                    "Note": f.note,
                    "Sources": ", ".join(f"[{numbers[r]}] {r}" for r in f.refs),
                }
            )
        row["Differs"] = DIFFERS if differs and len(entries) > 1 else ""
        if row["Differs"]:
            differing.append(attr.key)
        rows.append(row)
    return SideBySide(pd.DataFrame(rows), references_frame(numbers), pd.DataFrame(details), tuple(differing))


def highlight_differences(table: pd.DataFrame) -> Styler:
    """Shade the rows marked as differing (the Differs column carries the same information as text)."""

    def shade(row: pd.Series) -> list[str]:
        return [DIFF_BACKGROUND if row["Differs"] else ""] * len(row)

    return table.style.apply(shade, axis=1)


def default_selection(current_drugs: Iterable[str] = ()) -> list[str]:
    """Entries to preselect: those of the patient's current drugs (if two or more), else the default trio."""
    chosen: list[str] = []
    for drug in current_drugs:
        for e in knowledge.entries_for(drug):
            if e.id not in chosen:
                chosen.append(e.id)
    if len(chosen) < 2:
        return list(DEFAULT_SELECTION)
    return chosen[:MAX_SELECTION]


# --------------------------------------------------------------------------- full table


def filter_entries(
    *, pregnancy_compatible: bool = False, renal: bool = False, oral_only: bool = False
) -> list[DrugEntry]:
    """Entries passing the filters.

    pregnancy_compatible: pregnancy category "compatible" or "compatible with limits".
    renal: a role (background, induction, maintenance, add-on, refractory) in ACR 2024 or KDIGO 2024
    lupus nephritis.  oral_only: every route is oral.
    """
    out = []
    for e in knowledge.drugs().values():
        if pregnancy_compatible and e.pregnancy not in knowledge.PREGNANCY_COMPATIBLE:
            continue
        if renal and not e.renal_roles:
            continue
        if oral_only and set(e.routes) != {"oral"}:
            continue
        out.append(e)
    return out


def _marked(text: str, status: str) -> str:
    """A cell's text with the evidence mark of its status (‡ = unconfirmed ...)."""
    mark = STATUS_MARKS.get(status, "")
    return f"{text} {mark}" if mark else text


def overview(entries: Sequence[DrugEntry]) -> pd.DataFrame:
    """One row per entry with the attributes that matter most for choosing, with evidence marks."""
    sc = knowledge.scales()

    def show(e: DrugEntry, key: str) -> str:
        f = e.fact(key)
        return _marked(fact_text(sc.attribute(key), f), f.status)

    return pd.DataFrame(
        {
            "Drug": [e.label for e in entries],
            "Class": [show(e, "class") for e in entries],
            "Route": [show(e, "route") for e in entries],
            "Potency tier": [_marked(str(e.potency), e.fact("potency").status) for e in entries],
            "EULAR 2023": [show(e, "role_eular_2023") for e in entries],
            "Lupus nephritis (ACR 2024 / KDIGO 2024)": [
                f"{show(e, 'role_acr_2024_ln')} / {show(e, 'role_kdigo_2024_ln')}" for e in entries
            ],
            "Pregnancy": [show(e, "pregnancy") for e in entries],
            "Pregnancy: the key instruction": [show(e, "pregnancy_plan") for e in entries],
            "Breastfeeding": [show(e, "lactation") for e in entries],
            "Side-effect burden (0-30)": [e.burden for e in entries],
            "Onset": [show(e, "onset") for e in entries],
            "Sources": [", ".join(dict.fromkeys(r for f in e.facts.values() for r in f.refs)) for e in entries],
        }
    )


# --------------------------------------------------------------------------- chart data


def burden_points(entry_ids: Sequence[str] | None = None) -> pd.DataFrame:
    """Potency tier and total side-effect burden per entry (input of the scatter chart)."""
    entries = _entries(entry_ids)
    sc = knowledge.scales()
    return pd.DataFrame(
        {
            "id": [e.id for e in entries],
            "label": [e.label for e in entries],
            "short": [e.short for e in entries],
            "tier": [e.potency for e in entries],
            "tier_label": [sc.tier_label(e.potency) for e in entries],
            "burden": [e.burden for e in entries],
            "pregnancy": [e.pregnancy for e in entries],
            "pregnancy_label": [sc.compatibility[e.pregnancy][0] for e in entries],
            "sources": [", ".join(e.fact("potency").refs) for e in entries],
            "basis": [e.fact("potency").note for e in entries],
        }
    )


def side_effect_matrix(entry_ids: Sequence[str] | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Grades (rows = drugs, columns = categories) and, same shape, "status · sources" text."""
    entries = _entries(entry_ids)
    attrs = knowledge.scales().side_effect_attributes
    grades = pd.DataFrame(
        [[e.fact(a.key).value for a in attrs] for e in entries],
        index=[e.label for e in entries],
        columns=[a.label for a in attrs],
    )
    sources = pd.DataFrame(
        [[f"{e.fact(a.key).status} · {', '.join(e.fact(a.key).refs)}" for a in attrs] for e in entries],
        index=grades.index,
        columns=grades.columns,
    )
    return grades, sources


def _entries(entry_ids: Sequence[str] | None) -> list[DrugEntry]:
    all_entries = knowledge.drugs()
    return list(all_entries.values()) if entry_ids is None else [all_entries[i] for i in entry_ids]


# --------------------------------------------------------------------------- reproduction and key points

#: Pregnancy categories whose key instruction is shown without any toggle.
_STOP_OR_AVOID = frozenset({"contraindicated", "avoid"})


def needs_pregnancy_warning(entry: DrugEntry) -> bool:
    """A drug that is contraindicated or avoided in pregnancy, or must be stopped before
    conception: its key instruction is shown up front on the Compare page."""
    plan = str(entry.fact("pregnancy_plan").value).lower()
    return entry.pregnancy in _STOP_OR_AVOID or plan.startswith(("stop", "contraindicated", "avoid"))


def pregnancy_instructions(entry_ids: Sequence[str]) -> list[dict[str, str]]:
    """The key pregnancy instruction of each chosen drug that must be stopped or avoided."""
    sc = knowledge.scales()
    out = []
    for e in _entries(entry_ids):
        if needs_pregnancy_warning(e):
            f = e.fact("pregnancy_plan")
            mark = STATUS_MARKS.get(f.status, "")
            out.append(
                {
                    "Drug": e.label,
                    "Pregnancy": sc.compatibility[e.pregnancy][0],
                    "Instruction": f.value + (f" {mark}" if mark else ""),
                    "Sources": knowledge.format_refs(f.refs),
                }
            )
    return out


def key_points_frame(entry_ids: Sequence[str]) -> pd.DataFrame:
    """The key points (``key_points.toml``) about the chosen entries' drugs, each once."""
    drugs: list[str] = []
    for e in _entries(entry_ids):
        drugs += [d for d in e.covers if d not in drugs]
    points = knowledge.key_points_for(drugs)
    return pd.DataFrame(
        {
            "About": [", ".join(model.drug_label(d) for d in p.drugs if d in drugs) for p in points],
            "Topic": [p.topic for p in points],
            "Point": [p.text + (f" {STATUS_MARKS[p.status]}" if STATUS_MARKS.get(p.status) else "") for p in points],
            "Evidence": [p.status for p in points],
            "Sources": [knowledge.format_refs(p.refs) for p in points],
            "Id": [p.id for p in points],
        },
        columns=["About", "Topic", "Point", "Evidence", "Sources", "Id"],
    )


def ladder_evidence_frame() -> pd.DataFrame:
    """What the potency ordering rests on: guideline steps and trials, with what was read."""
    sc = knowledge.scales()
    ev = sc.ladder_evidence
    return pd.DataFrame(
        {
            "Evidence": [e.short for e in ev],
            "What it shows for the ordering": [e.text for e in ev],
            "Tiers": [", ".join(str(t) for t in e.tiers) for e in ev],
            "Status": [e.status for e in ev],
            "Sources": [knowledge.format_refs(e.refs) for e in ev],
            "Note": [e.note for e in ev],
        }
    )


# --------------------------------------------------------------------------- scales


#: The guideline whose treatment steps the tiers follow: a drug whose potency fact does
#: not cite it was placed by the project's analogy (probe35 F9).
_LADDER_GUIDELINE = "eular2023"


def ladder_frame() -> pd.DataFrame:
    sc = knowledge.scales()
    members = {t.value: [e.label for e in knowledge.drugs().values() if e.potency == t.value] for t in sc.tiers}
    analogy = {
        t.value: [
            e.label
            for e in knowledge.drugs().values()
            if e.potency == t.value and _LADDER_GUIDELINE not in e.fact("potency").refs
        ]
        for t in sc.tiers
    }

    def basis(tier: int) -> str:
        steps = "; ".join(e.short for e in sc.ladder_evidence if tier in e.tiers) or "EULAR 2023 step"
        if analogy[tier]:
            steps += f"; the project's analogy, not named there: {', '.join(analogy[tier])}"
        return steps

    return pd.DataFrame(
        {
            "Tier": [t.value for t in sc.tiers],
            "Step": [t.label for t in sc.tiers],
            "Meaning": [t.meaning for t in sc.tiers],
            "Drugs": ["; ".join(members[t.value]) for t in sc.tiers],
            "Basis": [basis(t.value) for t in sc.tiers],
        }
    )


def grade_frame() -> pd.DataFrame:
    sc = knowledge.scales()
    return pd.DataFrame(
        {
            "Grade": [g.value for g in sc.grades],
            "Label": [g.label for g in sc.grades],
            "Meaning": [g.meaning for g in sc.grades],
        }
    )


def status_frame() -> pd.DataFrame:
    sc = knowledge.scales()
    return pd.DataFrame(
        {
            "Mark": [STATUS_MARKS[k] or "(none)" for k in knowledge.STATUSES],
            "Evidence": [sc.statuses[k][0] for k in knowledge.STATUSES],
            "Meaning": [sc.statuses[k][1] for k in knowledge.STATUSES],
        }
    )


# --------------------------------------------------------------------------- glucocorticoids


def convert_steroid(dose_mg: float, from_id: str, to_id: str) -> float:
    """Equivalent anti-inflammatory dose of another glucocorticoid."""
    table = knowledge.steroid_table().steroids
    if dose_mg < 0:
        raise ValueError("The dose must not be negative.")
    return dose_mg / table[from_id].equivalent_mg * table[to_id].equivalent_mg


def steroid_frame(dose_mg: float | None = None, from_id: str = "prednisone") -> pd.DataFrame:
    """The equivalence table; with a dose, the equivalent of that dose in every glucocorticoid."""
    table = knowledge.steroid_table()
    rows = []
    for s in table.steroids.values():
        mark = STATUS_MARKS.get(s.status, "")
        row: dict[str, object] = {"Glucocorticoid": s.label}
        if dose_mg is not None:
            row[f"Equivalent of {dose_mg:g} mg {table.steroids[from_id].label.lower()} (mg)"] = round(
                convert_steroid(dose_mg, from_id, s.id), 2
            )
        row[f"Equivalent to {table.steroids[table.reference_drug].label.lower()} 5 mg (mg)"] = s.equivalent_mg
        row["Relative potency (hydrocortisone = 1)"] = s.relative_potency
        row["Duration"] = s.duration
        row["Evidence"] = s.status + (f" {mark}" if mark else "")
        row["Sources"] = ", ".join(s.refs)
        row["Note"] = s.note
        rows.append(row)
    return pd.DataFrame(rows)
