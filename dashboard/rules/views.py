"""Tables of the rules for the Rules page (pure: profiles and data files in, DataFrames out)."""

from __future__ import annotations

from typing import Any

import pandas as pd

from dashboard import knowledge, model
from dashboard.rules import ctcae
from dashboard.rules.data import SEVERITIES, ctcae_file, ranges_file, rules_file
from dashboard.rules.dose_checks import checks
from dashboard.rules.engine import Profile, builtin_profiles
from dashboard.rules.review import Review
from dashboard.rules.schedule import drug_map, drug_notes, spec_for, test_groups
from dashboard.units import DISPLAY_UNIT

RULE_COLUMNS = ["Rule", "Kind", "Analyte", "Test", "Threshold", "Unit", "Severity", "On", "Source", "Evidence"]
EDITABLE_COLUMNS = ["Threshold", "Severity", "On"]


def _test_text(comparison: str, count: int, window: int, min_results: int = 0, drug: str = "") -> str:
    if drug:  # a label's rule: the level before that drug, while it is taken (H212)
        name = model.drug_label(drug)
        before = f"the last {min_results} results" if min_results > 1 else "the last result"
        return {
            "<": f"result below, while {name} is taken",
            ">": f"result above, while {name} is taken",
            "rise_pct": f"rise (%) above {before} before {name} started, while {name} is taken",
            "fall_pct": f"fall (%) below {before} before {name} started, while {name} is taken",
        }[comparison]
    return {
        "<": "result below",
        ">": "result above",
        "rise_pct": f"rise (%) above the patient's baseline (the last result before the drug), else above the lowest "
        f"of the previous {window} days",
        "consecutive_falls": f"fall (%) at each of {count} consecutive tests",
        "baseline_fall": f"fall (%) below the patient's baseline (median of the last {min_results} draws before the drug,"
        " or clinician-set)",
    }[comparison]


#: The comparisons whose threshold is a percentage (a rise or a fall), not a value.
PERCENT_COMPARISONS: frozenset[str] = frozenset({"rise_pct", "fall_pct", "consecutive_falls", "baseline_fall"})


def rules_frame(profile: Profile) -> pd.DataFrame:
    """Every guideline and trend rule of a profile, one row each."""
    rows = [
        {
            "Rule": r.id,
            "Kind": r.kind,
            "Analyte": ", ".join(model.analyte_label(a) for a in r.analytes),
            "Test": _test_text(r.comparison, r.count, r.window_days, r.min_results, r.drug),
            "Threshold": r.threshold,
            # a percentage rule's threshold is a percentage, whatever unit its analyte is in
            "Unit": "%" if r.comparison in PERCENT_COMPARISONS else DISPLAY_UNIT.get(r.unit, r.unit),
            "Severity": r.severity,
            "On": r.enabled,
            "Source": r.source,
            "Evidence": r.citation,
        }
        for r in profile.rules
    ]
    return pd.DataFrame(rows, columns=RULE_COLUMNS)


def rule_source_lines(profile: Profile) -> list[str]:
    """Every rule of a profile in one readable line: what it tests, what it advises (the
    wording its flags carry), its source and its evidence, never cut off by a table cell."""
    lines = []
    for r in profile.rules:
        analytes = ", ".join(model.analyte_label(a) for a in r.analytes)
        unit = DISPLAY_UNIT.get(r.unit, r.unit)
        text = _test_text(r.comparison, r.count, r.window_days, r.min_results, r.drug)
        # a percentage rule's threshold is a percentage, whatever unit its analyte is in
        if "(%)" in text:  # strict, as the guidelines write it ("a fall of more than 30% below ..."),
            # or inclusive where the source says "or more" (a label's rule)
            amount = f" of {r.threshold:g}% or more" if r.inclusive else f" of more than {r.threshold:g}%"
            if r.below_pct:
                amount += f" and less than {r.below_pct:g}%"
            if r.and_below:
                amount += f", the result also below {r.and_below:g} {unit}"
            test = f"{analytes}: {text.replace(' (%)', amount, 1)}"
        else:
            test = f"{analytes}: {text} {r.threshold:g}{' ' + unit if unit else ''}"
        advice = "; ".join(dict.fromkeys(r.message_for(a) for a in r.analytes)) or r.message
        repeat = (
            f" The first result past the limit makes {test_groups()[r.repeat_group]['label']} due "
            f"{r.repeat_days} days after it (the blood-test schedule)."
            if r.repeat_days
            else ""
        )
        lines.append(
            f"{r.id} ({test}; {r.severity}"
            f'{"" if r.enabled else "; off"}): advises "{advice}".{repeat} Source: {r.source}. Evidence: {r.citation}'
        )
    return lines


def overrides_from_frame(base: Profile, edited: pd.DataFrame) -> dict[str, dict[str, Any]]:
    """What an edited :func:`rules_frame` changes relative to ``base`` (for a user profile)."""
    if base.is_user:
        base = builtin_profiles()[base.based_on]
    out: dict[str, dict[str, Any]] = {}
    for _, row in edited.iterrows():
        rule = base.rule(str(row["Rule"]))
        change: dict[str, Any] = {}
        if bool(row["On"]) != rule.enabled:
            change["enabled"] = bool(row["On"])
        if float(row["Threshold"]) != rule.threshold:
            change["threshold"] = float(row["Threshold"])
        if str(row["Severity"]) != rule.severity:
            change["severity"] = str(row["Severity"])
        if change:
            out[rule.id] = change
    return out


def ctcae_frame() -> pd.DataFrame:
    """The CTCAE v5.0 grades used, in words, one row per analyte."""
    rows = []
    for analyte, term in ctcae.terms().items():
        unit = DISPLAY_UNIT.get(model.CANONICAL_UNITS[analyte], model.CANONICAL_UNITS[analyte])
        row = {"Analyte": model.analyte_label(analyte), "CTCAE term": term["term"], "Unit": unit}
        if term["direction"] == "low":
            cuts = dict(term["cuts"])
            upper = ["LLN", *(f"{cuts[g]:g}" for g in (2, 3, 4) if g in cuts)]
            for g in (1, 2, 3, 4):
                if g in cuts or g == 1:
                    nxt = cuts.get(g + 1)
                    row[f"Grade {g}"] = f"< {upper[g - 1]}" + (f" to {nxt:g}" if nxt else "")
                else:
                    row[f"Grade {g}"] = "no laboratory cut-off"
        else:
            mult = dict(term["uln_multiples"])
            base = dict(term["baseline_multiples"])
            either = term["baseline_rule"] == "either"
            for g in (1, 2, 3, 4):
                hi = mult.get(g + 1)
                row[f"Grade {g}"] = f"> {mult[g]:g} x ULN" + (f" to {hi:g} x ULN" if hi else "")
                if either and g in base:
                    row[f"Grade {g}"] += f", or > {base[g]:g} x baseline"
            if either:
                row["Baseline"] = "the higher of the grade on the ULN and the grade on the baseline"
            else:
                steps = ", ".join(f"{base[g]:g}" for g in sorted(base))
                row["Baseline"] = (
                    f"baseline above the ULN: grade 1 from {term['baseline_grade1']:g} x baseline, "
                    f"grades 2-4 above {steps} x baseline"
                )
        rows.append(row)
    return pd.DataFrame(rows)


def ranges_frame() -> pd.DataFrame:
    """Default reference limits used when a result has no range of its own."""
    rows = []
    for analyte, item in ranges_file()["ranges"].items():
        rows.append(
            {
                "Analyte": model.analyte_label(analyte),
                "Lower limit": item.get("low"),
                "Lower limit (F / M)": f"{item['low_F']:g} / {item['low_M']:g}" if "low_F" in item else "",
                "Upper limit": item.get("high"),
                "Unit": DISPLAY_UNIT.get(model.CANONICAL_UNITS[analyte], model.CANONICAL_UNITS[analyte]),
                "Note": item.get("note", ""),
            }
        )
    return pd.DataFrame(rows)


def schedules_frame(profile: Profile) -> pd.DataFrame:
    """The monitoring schedule of each drug under a profile: the schedule the review
    applies (the profile's monitoring schedule, ``schedule.toml`` [profiles], over the
    top-level map), with what the profile decides without a source (probe38 F2, H573)."""
    which = profile.schedule
    notes = drug_notes(which)
    rows = []
    for drug, entry in drug_map(which).items():
        names = entry.items() if isinstance(entry, dict) else [("", entry)]
        for variant, name in names:
            spec = spec_for(name, which)
            label = model.drug_label(drug) + (f" ({variant})" if variant else "")
            source = spec["source"] + (f"; {notes[drug]}" if drug in notes else "")
            rows.append({"Drug": label, "Schedule": spec["label"], "What": spec["description"], "Source": source})
    return pd.DataFrame(rows, columns=["Drug", "Schedule", "What", "Source"])


def references_frame(profile: Profile) -> pd.DataFrame:
    """Every reference the profile's flags and schedules name ("[bsr2017]"), with the
    address that opens it and how much of it was read (probe38 F3, F4, H572)."""
    texts = [r.source for r in profile.rules if r.enabled]
    if profile.ctcae:
        texts.append(str(ctcae_file()["source"]))
    texts += list(schedules_frame(profile)["Source"])
    columns = {"Reference": "id", "Citation": "citation", "URL": "url", "Read": "access"}
    return pd.DataFrame(knowledge.reference_rows(knowledge.cited_ids(texts), columns), columns=list(columns))


def recorded_windows_frame() -> pd.DataFrame:
    """How long after its last dose a monitored drug still counts at a result (rules.toml
    [recorded_after_last_dose]), the drugs with their own window first, then the default."""
    table = rules_file()["recorded_after_last_dose"]
    rows = [
        {"Drug": model.drug_label(name), "Days after the last dose": int(v["days"]), "Basis": v["basis"]}
        for name, v in table.get("drugs", {}).items()
    ]
    rows.append(
        {
            "Drug": "Any other monitored drug",
            "Days after the last dose": int(table["default_days"]),
            "Basis": table["default_basis"],
        }
    )
    return pd.DataFrame(rows, columns=["Drug", "Days after the last dose", "Basis"])


def dose_checks_frame() -> pd.DataFrame:
    """Every dose check with its facts filled in (interactions, dose limits and
    cumulative-dose thresholds come from the knowledge base)."""
    rows = []
    for c in checks():
        drugs = ", ".join(model.drug_label(d) for d in c["drugs"])
        if c.get("with"):
            drugs += " with " + ", ".join(model.drug_label(d).lower() for d in c["with"])
        rows.append(
            {"Check": c["id"], "Drugs": drugs, "What": c["message"], "Severity": c["severity"], "Source": c["source"]}
        )
    return pd.DataFrame(rows)


def flag_counts(review: Review) -> pd.DataFrame:
    """Flags per rule of a review: all of them and those open on the review date."""
    f = review.flags_df()
    if f.empty:
        return pd.DataFrame(columns=["Rule", "Kind", "Flags", "Open", "Patients"])
    g = f.groupby(["rule", "kind"], sort=True)
    out = pd.DataFrame(
        {
            "Flags": g.size(),
            "Open": g["status"].apply(lambda s: int((s == "open").sum())),
            "Patients": g["patient_id"].nunique(),
        }
    ).reset_index()
    return out.rename(columns={"rule": "Rule", "kind": "Kind"})


SEVERITY_OPTIONS = list(SEVERITIES)


def guideline_drugs_text(profile: Profile) -> str:
    """What the profile's guideline limits are written for, in words ("" without a list)."""
    if not profile.guideline_drugs:
        return ""
    names = ", ".join(model.drug_label(d) for d in profile.guideline_drugs)
    return (
        f"The BSR limits (bsr.*) are written for the csDMARDs the guideline covers: {names}. "
        "For a patient on none of them (cyclophosphamide or a biologic alone), "
        "such a flag says so and is at most caution; the CTCAE grade and the drug's own checks keep theirs."
    )
