"""The Dosing page's sections: the patient prefill, one function per tab, the interactions.

Every number comes from :mod:`dashboard.dosing`, which reads ``knowledge/data/dosing.toml``,
the file the dose-check rules read too; these functions only draw.  Widget keys carry the
patient id (``k``) so that choosing another patient starts from that patient's values.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd
import streamlit as st

from dashboard import dosing, knowledge, model
from dashboard.dataset import Dataset
from dashboard.markup import md_escape
from dashboard.rules import Profile, RuleError, get_profile
from dashboard.rules.engine import default_profile
from dashboard.ui.caching import patient_review
from dashboard.ui.picker import patient_picker
from dashboard.ui.state import profile_name
from dashboard.ui.widgets import show_cumulative_dose, show_table

#: the body weights (kg) the weight-based calculators take; a recorded weight outside them is said, not used
WEIGHT_RANGE = (20.0, 250.0)
#: the methotrexate amounts (mg each time) the field takes
MTX_RANGE = (0.5, 1000.0)
SHOW = {"contraindicated": st.error, "high": st.error, "caution": st.warning, "info": st.info}
PHENOTYPES = ["normal", "intermediate", "possible intermediate", "poor", "unknown"]
TABS = [
    "Thiopurines",
    "Thiopurine metabolites",
    "Mycophenolate",
    "Methotrexate",
    "Hydroxychloroquine",
    "Cyclophosphamide",
]


def show_key_points(drugs: list[str]) -> None:
    """The key points (knowledge/data/key_points.toml) about these drugs, with their sources."""
    points = knowledge.key_points_for(drugs)
    if points:
        marks = {"secondary source": " †", "unconfirmed": " ‡"}
        st.info(
            "\n".join(
                f"- **{p.topic}**: {p.text}{marks.get(p.status, '')} {knowledge.format_refs(p.refs)}" for p in points
            ),
            icon=":material/lightbulb:",
        )


def show_pregnancy(entry: str) -> None:
    """The drug's pregnancy instruction, from the same fact the Compare page shows
    (knowledge/data/drugs/*.toml, ``pregnancy_plan``): a warning for a drug to avoid or
    stop before conception, a note for one that is compatible."""
    drug = knowledge.drugs().get(entry)
    if drug is None or "pregnancy_plan" not in drug.facts:
        return
    plan = drug.fact("pregnancy_plan")
    grade = str(drug.fact("pregnancy").value) if "pregnancy" in drug.facts else ""
    text = f"**Pregnancy**: {plan.value} {knowledge.format_refs(plan.refs)}"
    if grade in ("contraindicated", "avoid"):
        st.warning(text, icon=":material/pregnant_woman:")
    else:
        st.caption(text)


def show_result(
    result: dosing.DoseResult,
    key: str,
    current: float | None = None,
    label: str = "Suggested dose",
    pair: dict[str, Any] | None = None,
) -> None:
    """Suggested dose, how it was reached, warnings by severity and the references.

    ``label`` names the number: "Dose checked" where the dose is the one entered, not a
    suggestion (methotrexate).  ``pair``: the dose check of two products of the drug in
    force together (:func:`dosing.two_products_check`), said as the verdict instead."""
    check = dosing.current_dose_check(result, current, pair)
    if check is not None:
        SHOW[check.severity](f"**{check.message}** {knowledge.format_refs(check.refs)}")
    if result.avoid:
        st.error("Avoid: no dose is suggested.", icon=":material/block:")
    elif result.suggested_dose is not None:
        low, high = result.adjusted_range or (0, 0)
        if result.test_first:
            st.error(
                f"**Test {result.test_first_genes} first: no full dose is suggested while TPMT is unknown.** If treatment cannot wait, "
                "the cautious start below is the most the assistant (and the dose checks) accept until the result "
                "is known.",
                icon=":material/science:",
            )
        if result.test_first:
            label = "Cautious start (TPMT unknown)"
        st.metric(label, f"{result.suggested_dose:g} {result.unit}", help="Decision support only.")
        per_kg, pct = result.per_kg(result.suggested_dose), result.pct_standard(result.suggested_dose)
        extra = ""
        if per_kg is not None and pct is not None and result.standard_mg and result.weight_kg:
            extra = (
                f" = {per_kg:.2f} mg/kg/day = {pct:.0f}% of the standard dose "
                f"({result.standard_mg:.4g} mg/day = {result.standard_mg / result.weight_kg:g} mg/kg/day)"
            )
        # with TPMT unknown the range is only the cautious start's ceiling ("70-70" would read as a target);
        # a range capped down to one value (allopurinol: a quarter of the dose before it) is that value
        if result.test_first:
            span = f"At most {high:.4g} {result.unit}"
        elif f"{low:.4g}" == f"{high:.4g}":
            span = f"Calculated dose {high:.4g} {result.unit}"
        else:
            span = f"Range {low:.4g}-{high:.4g} {result.unit}"
        st.caption(f"{result.suggested_dose:g} {result.unit}{extra}. {span}; {result.schedule}.")
        if result.limit_mg is not None:
            st.caption(
                f"Limit for this patient: {result.limit_mg:.4g} mg/day; the dose-check rules flag any dose above it."
            )
        if result.titration:
            st.markdown("**Titration plan**")
            plan = dosing.titration_frame(result)
            show_table(
                plan, key=f"{key}_titration", column_config={"Blood tests": st.column_config.TextColumn(width="large")}
            )
            # the column cuts the monitoring text off: each distinct text once, in full
            tests = [t for t in dict.fromkeys(plan["Blood tests"].astype(str)) if t]
            if tests:
                st.caption("Blood tests: " + " · ".join(md_escape(t) for t in tests))
    st.markdown("**How this was worked out**")
    st.markdown("\n".join(f"{i}. {line}" for i, line in enumerate(result.reasoning, 1)))
    for w in sorted(result.warnings, key=lambda w: -dosing.SEVERITIES.index(w.severity)):
        SHOW[w.severity](f"**{w.severity.upper()}**: {w.message} {knowledge.format_refs(w.refs)} ({w.status})")
    with st.expander("References"):
        show_table(dosing.references_frame(result.refs), key=f"{key}_refs")


def patient_prefill(ds: Dataset | None, day: dt.date) -> dosing.PatientContext | None:
    """The patient picker and what it prefills (weight, TPMT, NUDT15, eGFR, current doses)."""
    if ds is None or ds.is_empty:
        st.caption("No panel loaded: enter the values by hand (or load a panel on Home to prefill them).")
        return None
    pid = patient_picker(ds, key="dosing_patient")
    if not pid:
        return None
    ctx = dosing.patient_context(ds.patients, ds.doses, ds.labs, pid, day)
    egfr = f"{ctx.egfr.text} ({ctx.egfr.collected_at:%d %b %Y})" if ctx.egfr else "none"
    weight = ctx.weight_words  # with the day it was measured; an old weight said (probe30 F4)
    # the eGFR's age beside it: the renal limits below are placed against a result that may be old
    age = f" The eGFR was drawn {dosing.days_before(ctx.egfr.collected_at, day)}." if ctx.egfr else ""
    crcl = (
        f" Latest creatinine clearance {ctx.crcl.named}, drawn {dosing.days_before(ctx.crcl.collected_at, day)}."
        if ctx.crcl
        else ""
    )
    st.caption(
        f"Prefilled for the selected patient as of {day:%d %b %Y}: weight {weight}, TPMT {ctx.tpmt}, "
        f"NUDT15 {ctx.nudt15}, latest eGFR {egfr}.{age}{crcl} Change any value below."
    )
    if ctx.egfr is not None and ctx.egfr.comparator:
        st.warning(
            f"The latest eGFR, {ctx.egfr.text} ({ctx.egfr.collected_at:%d %b %Y}), is censored: a bound, not a "
            "number, so it is not prefilled (its bound would read as the value). While no eGFR is entered, the "
            f"renal limits below are placed against {ctx.egfr.text} as the Patient page's dose checks place it: "
            "below a limit when the bound is at or under it, otherwise said as not checkable.",
            icon=":material/help:",
        )
    with st.expander(f"Current doses ({len(ctx.current)})"):
        show_table(dosing.current_doses_frame(ctx), key="dosing_current")
    for note in ctx.total_notes():  # rows taken together: the doses below are their totals
        st.caption(f"{note}; the dose checked below is the total.")
    # a planned start or a recorded end, in the review's own words (H567, H568)
    mine = patient_review(pid)
    for note in dosing.recorded_dates_notes(mine.schedule if mine is not None else pd.DataFrame(), ctx):
        st.info(md_escape(note), icon=":material/event:")
    return ctx


def ask_weight(ctx: dosing.PatientContext | None) -> None:
    """No weight to calculate from: why the recorded one is not used, or a prompt to enter one."""
    why = dosing.weight_outside(ctx.weight_kg if ctx else None, *WEIGHT_RANGE)
    if why:
        st.warning(why, icon=":material/scale:")
    else:
        st.info("Enter the body weight to calculate a dose.", icon=":material/scale:")


def thiopurines_tab(
    ctx: dosing.PatientContext | None, k: str, weight_default: float | None, egfr_default: float | None, day: dt.date
) -> float | dosing.LabValue | None:
    """Azathioprine or mercaptopurine: phenotypes, allopurinol/febuxostat, the dose and its monitoring.

    Returns the eGFR the renal limits are placed against (the number entered here, else a
    censored result of the patient's: :func:`dosing.egfr_for_limits`), which the other tabs use too."""
    # the thiopurine taken, else the one recorded to start (a planned start, H567)
    on_mp = bool(
        ctx
        and not ctx.on("azathioprine")
        and (
            ctx.on("mercaptopurine") or (ctx.planned_start("mercaptopurine") and not ctx.planned_start("azathioprine"))
        )
    )
    thio = st.radio(
        "Thiopurine",
        list(dosing.THIOPURINES),
        index=1 if on_mp else 0,
        format_func=str.capitalize,
        horizontal=True,
        key=f"thio_drug_{k}",
    )
    a, b, c = st.columns(3)
    weight = a.number_input("Weight (kg)", *WEIGHT_RANGE, weight_default, 0.5, key=f"aza_weight_{k}")
    tpmt = b.selectbox("TPMT", PHENOTYPES, PHENOTYPES.index(ctx.tpmt) if ctx else 4, key=f"aza_tpmt_{k}")
    nudt15 = c.selectbox("NUDT15", PHENOTYPES, PHENOTYPES.index(ctx.nudt15) if ctx else 4, key=f"aza_nudt15_{k}")
    a, b, c = st.columns(3)
    # on the plan's first day: what is taken now, or recorded to start by a planned start (audit10 A2)
    plan_day = ctx.planned_start(thio) if ctx else None
    allopurinol = a.checkbox("On allopurinol", bool(ctx and ctx.on_by("allopurinol", plan_day)), key=f"aza_allo_{k}")
    febuxostat = b.checkbox("On febuxostat", bool(ctx and ctx.on_by("febuxostat", plan_day)), key=f"aza_febux_{k}")
    entered = c.number_input("eGFR (mL/min/1.73m²)", 0.0, 200.0, egfr_default, key=f"aza_egfr_{k}")
    egfr = dosing.egfr_for_limits(entered, ctx.egfr if ctx else None)
    before_mg = None
    if allopurinol:
        # the dose the allopurinol reduction applies to: the suggestion never exceeds a third of it
        before_mg = a.number_input(
            "Dose before allopurinol (mg/day)",
            0.0,
            1000.0,
            dosing.within(ctx.dose_before_allopurinol(thio) if ctx else None, 0.0, 1000.0),
            25.0,
            key=f"aza_before_{thio[:3]}_{k}",
            help="The thiopurine dose the patient took before allopurinol (or takes now, if allopurinol is being "
            "added). Empty when the thiopurine starts on allopurinol: the standard dose is used.",
        )
        reduced = ctx.dose_before_allopurinol_note(thio) if ctx else ""
        if reduced:  # the dose before a reduction made for allopurinol, as the dose checks read it (H681)
            st.caption(md_escape(reduced))
        unread = ctx.dose_before_allopurinol_unread(thio) if ctx else ""
        if unread and before_mg is None:  # a dose per kg (or without an amount): said, never silently replaced
            st.info(md_escape(unread), icon=":material/medication:")
    show_key_points([thio])
    limits = knowledge.dosing_rules()[thio]
    low, high = (float(x) for x in limits["target_mg_per_kg"])
    target = st.slider(
        "Target for a normal metaboliser (mg/kg/day)",
        0.25,
        float(limits["max_mg_per_kg"]),
        (low, high),
        0.25,
        key=f"{thio[:3]}_target_{k}",
    )
    if weight is None:
        ask_weight(ctx)
        return egfr
    result = dosing.thiopurine_dose(
        thio,
        weight,
        tpmt,
        nudt15,
        allopurinol=allopurinol,
        febuxostat=febuxostat,
        egfr=egfr,
        target_mg_per_kg=target,
        current_mg=before_mg or None,
        profile=active_profile(),  # its eGFR limit, as the review applies it (H632)
    )
    current, how = ctx.current_mg_per_day(thio, weight) if ctx else (None, "")
    if how:  # a dose in mg/kg (compared at this weight) or one the page cannot compare (dosing21)
        st.caption(md_escape(how))
    pair = dosing.two_products_check(dosing.THIOPURINES, tuple(ctx.current["drug"])) if ctx else None
    show_result(result, "aza", current, pair=pair)
    st.subheader("Blood tests of this plan")
    planned = ctx.planned_start(thio) if ctx else None
    if planned is not None:
        st.caption(
            f"{model.drug_label(thio)} is recorded to start on {planned:%d %b %Y}: the plan starts then, the day the "
            "review dates its first tests from."
        )
    start = st.date_input("Start date", planned or day, key=f"aza_start_{k}")
    show_monitoring_plan(thio, start, result.titration, ("allopurinol",) if allopurinol else ())
    return egfr


def active_profile() -> Profile:
    """The active rules profile (the default one when it cannot be used, as the review does)."""
    try:
        return get_profile(profile_name())
    except RuleError:
        return default_profile()


def schedule_profile() -> tuple[str, str]:
    """The monitoring profile of ``schedule.toml`` the active rules profile applies, and the
    rules profile's name."""
    prof = active_profile()
    return prof.schedule, prof.name


def show_monitoring_plan(
    drug: str, start: dt.date, steps: tuple[dosing.TitrationStep, ...], with_drugs: tuple[str, ...] = ()
) -> None:
    """The plan's blood tests, dated by the review's own schedule: start, each step, maintenance
    (with allopurinol ticked, the blood counts its combination asks for too)."""
    if not steps:
        st.caption("No dose is suggested, so no blood-test plan is laid out.")
        return
    sched, rules_profile = schedule_profile()
    plan = dosing.monitoring_plan(drug, start, steps, profile=sched, with_drugs=with_drugs)
    st.caption(
        f"Dated by the review's own schedule ({plan.schedule}, as the {md_escape(rules_profile)} profile applies "
        "it) for the titration plan above: every dose increase starts the fortnightly tests again, so blood tests "
        "taken on these dates are never overdue on the Patient and Home pages. A test on the day of a step is the "
        f"check before the new dose. Each test: {plan.visits[-1].tests}. Schedule: {plan.description}. "
        f"Source: {md_escape(plan.source)}."
    )
    frame = dosing.monitoring_frame(plan)
    show_table(
        frame,
        key="aza_schedule",
        height=min(35 * (len(frame) + 1) + 4, 740),
        column_config={
            "Date": st.column_config.DateColumn(format="D MMM YYYY", width=95),
            "Week": st.column_config.NumberColumn(width=50),
            "Day": st.column_config.NumberColumn(width=45),
            "Dose (mg/day)": st.column_config.NumberColumn(width=95),
            "Why then": st.column_config.TextColumn(width=480),
            "Tests": st.column_config.TextColumn(width=320),
            "Source": st.column_config.TextColumn(width=300),
        },
    )
    with st.expander("Source of the schedule"):
        st.markdown(f"**{md_escape(plan.source)}**. {md_escape(plan.citation)}")


def metabolites_tab() -> None:
    """6-TGN and 6-MMP: no interpretation before both results are entered."""
    rules = knowledge.metabolite_rules()
    a, b = st.columns(2)
    tgn = a.number_input(f"6-TGN ({rules.unit})", 0.0, 5000.0, None, key="met_tgn")
    mmp = b.number_input(f"6-MMP ({rules.unit})", 0.0, 100000.0, None, key="met_mmp")
    if tgn is None or mmp is None:
        st.info("Enter the patient's 6-TGN and 6-MMP results to interpret them.", icon=":material/science:")
        return
    met = dosing.interpret_metabolites(tgn, mmp)
    SHOW[met.pattern.severity](f"**{met.pattern.label}** ({met.pattern.rule}). {met.pattern.action}")
    st.markdown("\n".join(f"- {note}" for note in met.notes))
    show_table(dosing.references_frame(met.refs), key="met_refs")


def mycophenolate_tab(ctx: dosing.PatientContext | None, k: str, egfr: float | dosing.LabValue | None) -> None:
    a, b, c = st.columns(3)
    phase = a.radio("Phase", ["induction", "maintenance"], key=f"mmf_phase_{k}", horizontal=True)
    # the product the patient takes (mycophenolic acid alone: MPA), so that its dose is
    # checked against its own range, as the dose checks do
    on_mpa = bool(ctx and ctx.on("mycophenolic acid") and not ctx.on("mycophenolate mofetil"))
    form = b.radio("Product", ["MMF", "MPA"], index=1 if on_mpa else 0, key=f"mmf_form_{k}", horizontal=True)
    ppi = c.checkbox("On a proton pump inhibitor", key=f"mmf_ppi_{k}")
    show_key_points(["mycophenolate mofetil", "mycophenolic acid"])
    for drug in dosing.MYCOPHENOLATES:
        if ctx and ctx.mg_per_day(drug):
            st.caption(f"Current {drug}: {ctx.mg_per_day(drug):g} mg/day.")
    result = dosing.mycophenolate_dose(phase, form, egfr=egfr, ppi=ppi)
    # the patient's current dose of that product checked against the range (the dose
    # checks flag it above the top of the induction range)
    pair = dosing.two_products_check(dosing.MYCOPHENOLATES, tuple(ctx.current["drug"])) if ctx else None
    show_result(result, "mmf", ctx.mg_per_day(result.drug) if ctx else None, pair=pair)


def methotrexate_tab(ctx: dosing.PatientContext | None, k: str, egfr: float | dosing.LabValue | None) -> None:
    show_key_points(["methotrexate"])
    show_pregnancy("methotrexate")
    a, b, c = st.columns(3)
    # the amount given each time, beside its frequency (10 mg daily: 10, not the weekly 70);
    # a patient's own dose is never replaced by the page's default (dosing21)
    row = ctx.dose_row("methotrexate") if ctx else None
    current_mtx = ctx.amount_per_administration("methotrexate") if ctx else None
    prefill = dosing.within(current_mtx, *MTX_RANGE)
    mtx = a.number_input(
        "Dose each time (mg)", *MTX_RANGE, prefill if row is not None else 15.0, 2.5, key=f"mtx_dose_{k}"
    )
    if mtx is None:
        st.info(
            "Enter the amount given each time: the patient's methotrexate row states no amount the page can use "
            f"({md_escape(str(row['dose']))} {md_escape(str(row['dose_unit']))} {md_escape(str(row['frequency']))})."
            if row is not None
            else "Enter the methotrexate dose.",
            icon=":material/medication:",
        )
        return
    freqs = ["weekly", "daily", "BID", "every N days"]
    if row is not None and row["frequency"] and row["frequency"] not in freqs:
        freqs.append(str(row["frequency"]))  # the patient's own ("every 2 weeks"), never shown as weekly
    freq = b.selectbox(
        "How often",
        freqs,
        freqs.index(row["frequency"]) if row is not None and row["frequency"] in freqs else 0,
        key=f"mtx_freq_{k}",
    )
    tmp = c.checkbox(
        "On trimethoprim / co-trimoxazole",
        bool(ctx and (ctx.on("trimethoprim") or ctx.on("co-trimoxazole"))),
        key=f"mtx_tmp_{k}",
    )
    if freq == "every N days":
        # the interval is asked for, never assumed: with it the weekly total is worked out
        # and judged ("15 mg every 3 days = 35 mg/week"); without it the check says it cannot be
        days = b.number_input("Days between doses", 1, 28, None, 1, key=f"mtx_every_{k}")
        if days is not None:  # written as the import writes it: every 7 days is weekly, 14 every 2 weeks
            freq = dosing.every_days(int(days))
    routes = list(dosing.MTX_ROUTES)
    own = str(row["route"]) if row is not None and str(row["route"]) in routes else "oral"
    route = a.selectbox(
        "Route", routes, routes.index(own), format_func=lambda r: dosing.MTX_ROUTES[r], key=f"mtx_route_{k}"
    )
    crcl = methotrexate_renal(ctx, k, c)
    show_result(
        dosing.methotrexate_check(mtx, freq, egfr=egfr, trimethoprim=tmp, crcl=crcl, route=route or "oral"),
        "mtx",
        label="Dose checked",
    )


def methotrexate_renal(ctx: dosing.PatientContext | None, k: str, col: Any) -> float | dosing.LabValue | None:
    """The creatinine clearance methotrexate's renal limits are placed against (the SmPC
    states them in creatinine clearance), prefilled where the patient's latest renal measure
    is one, the dose checks' rule (``PatientContext.renal``, H412); empty, the eGFR of the
    first tab is used and said so.  The measure used is named."""
    latest = ctx.renal if ctx else None
    own = latest if latest is not None and latest.analyte == "crcl" else None
    entered = col.number_input(
        "Creatinine clearance (mL/min)",
        0.0,
        400.0,
        dosing.egfr_prefill(own),
        key=f"mtx_crcl_{k}",
        help="Not indexed to body surface (Cockcroft-Gault or a measured clearance): the measure the SmPC states "
        "its renal limits in. Never worked out from the eGFR. Empty: the eGFR above is used.",
    )
    crcl = dosing.egfr_for_limits(entered, own)
    if latest is not None:
        used = "the creatinine clearance" if own else "the eGFR (the SmPC states creatinine clearance; eGFR used)"
        older = ctx.crcl if ctx and ctx.crcl is not None and own is None else None
        said = f" An older creatinine clearance, {older.named}, is not used: ask for a current one." if older else ""
        st.caption(
            f"Renal limits: the latest renal measure is {latest.named}, so {used} is placed against them, as the "
            f"dose checks place it.{said}"
        )
        if older is not None and (limit := dosing.older_crcl_below(latest, older)) is not None:
            st.warning(
                f"The older creatinine clearance, {older.named}, is below {limit.mg:g} mL/min, where the SmPC "
                "contraindicates methotrexate. The newer eGFR does not clear it (the two measures can differ without "
                f"any change in the kidney): ask for a current creatinine clearance (dose check {limit.check}: "
                "not checkable).",
                icon=":material/warning:",
            )
    return crcl


def hydroxychloroquine_tab(
    ctx: dosing.PatientContext | None, k: str, weight_default: float | None, egfr: float | dosing.LabValue | None
) -> None:
    hcq_weight = st.number_input("Real body weight (kg)", *WEIGHT_RANGE, weight_default, 0.5, key=f"hcq_weight_{k}")
    if hcq_weight is None:
        ask_weight(ctx)
        return
    current, how = ctx.current_mg_per_day("hydroxychloroquine", hcq_weight) if ctx else (None, "")
    if how:
        st.caption(md_escape(how))
    show_result(
        dosing.hydroxychloroquine_dose(hcq_weight, egfr=egfr),
        "hcq",
        current,
        label="Suggested dose (weekly average)",
    )
    st.markdown("**Weekly schedules of 200 mg tablets against the limit**")
    show_table(dosing.hcq_schedule_frame(hcq_weight), key="hcq_schedules")


def cyclophosphamide_tab(ds: Dataset | None, ctx: dosing.PatientContext | None, day: dt.date) -> None:
    """The selected patient's cumulative dose from the dose history, and a calculator by hand."""
    st.markdown(
        "**Cumulative dose.** The dose checks add up the dose history (pulses: administered mg; oral courses: "
        "mg/day x days) and flag the cumulative dose above the thresholds the cited cohorts report."
    )
    count = dosing.pulse_count_check()  # the count before a pulse, as the dose check reads it
    st.markdown(f"**Count before a pulse.** {count.message} {knowledge.format_refs(count.refs)} ({count.status})")
    show_key_points(["cyclophosphamide"])
    show_pregnancy("cyclophosphamide (NIH)")  # the two regimens' instructions are the same text
    if ds is not None and ctx is not None:
        cyc = dosing.cumulative_cyclophosphamide(ds.doses, ds.patients, ctx.patient_id, day)
        if cyc is not None:
            show_cumulative_dose(cyc, key="dosing")
        else:
            st.caption(dosing.no_dose_by(ds.doses, ctx.patient_id, "cyclophosphamide", day))
    st.markdown("**By hand**")
    a, b, c, e = st.columns(4)
    n_pulses = a.number_input("Pulses given", 0, 100, 6, key="cyc_pulses")
    per_pulse = b.number_input("mg per pulse", 0.0, 5000.0, 500.0, 50.0, key="cyc_mg_pulse")
    oral_mg = c.number_input("Oral mg/day", 0.0, 500.0, 0.0, 25.0, key="cyc_oral_mg")
    oral_days = e.number_input("Oral days", 0, 3650, 0, key="cyc_oral_days")
    total = dosing.cumulative_total_g(
        pulses=int(n_pulses), mg_per_pulse=per_pulse, oral_mg_per_day=oral_mg, oral_days=int(oral_days)
    )
    crossed = [t for t in dosing.cumulative_thresholds() if total > float(t["grams"])]
    st.metric("Cumulative dose", f"{total:g} g")
    for t in crossed:
        st.warning(f"Above {t['grams']:g} g: {t['what']} {knowledge.format_refs(t['refs'])}", icon=":material/warning:")
    if not crossed:
        st.caption(
            "Below every cited threshold ("
            + ", ".join(f"{t['grams']:g} g" for t in dosing.cumulative_thresholds())
            + ")."
        )


def interactions_in_full(frame: pd.DataFrame) -> None:
    """Each interaction of an :func:`dosing.interactions_frame` in words: a table cell cuts
    the advice off at 1400 px."""
    st.markdown(
        "\n".join(
            f"- **{md_escape(r['Drug'])} with {md_escape(r['With'])}: {md_escape(r['Verdict'])}** "
            f"({md_escape(r['Severity'])}). {md_escape(r['What to do'])} Source: {md_escape(r['Source'])} "
            f"{md_escape(r['Refs'])}"
            for _, r in frame.iterrows()
        )
    )


def interactions(ctx: dosing.PatientContext | None) -> None:
    """The interactions the dose checks look for; the patient's drugs first when a patient is chosen."""
    st.subheader("Interactions the dose checks look for")
    st.caption(
        "When both drugs are in the dose history with overlapping dates, the Patient page's dose checks flag the "
        "overlap with these words and this severity: the checks and this table read the same facts."
    )
    current_drugs = tuple(ctx.current["drug"]) if ctx else ()
    with_interactions = [d for d in dosing.INTERACTION_DRUGS if not current_drugs or d in current_drugs] or list(
        dosing.INTERACTION_DRUGS
    )
    frame = dosing.interactions_frame(with_interactions, current_drugs)
    # the patient's own interactions in full: a table cell cuts long advice off
    for _, row in frame[frame["In the dose list now"] != ""].iterrows():
        st.warning(
            f"**{row['Drug']} with {row['In the dose list now']} now: {row['Verdict']}** ({row['Severity']}). "
            f"{row['What to do']} {row['Refs']}",
            icon=":material/warning:",
        )
    st.caption("Hover over a cell, or widen its column, to read the whole text.")
    show_table(
        frame,
        key="dosing_interactions",
        column_config={
            "Drug": st.column_config.TextColumn(width=110),
            "With": st.column_config.TextColumn(width=200),
            "Verdict": st.column_config.TextColumn(width=205),
            "Severity": st.column_config.TextColumn(width=70),
            "What to do": st.column_config.TextColumn(width="large"),
        },
    )
    with st.expander("Every interaction in full", icon=":material/article:"):
        interactions_in_full(frame)
