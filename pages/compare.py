"""Compare: lupus immunosuppressants side by side, every value with its source."""

import streamlit as st

from dashboard import compare, dosing, knowledge, ui
from dashboard.figures.compare import potency_burden_scatter, side_effect_heatmap
from dashboard.markup import md_escape
from dashboard.ui import dosing_view

ui.page_guard()

st.title("Compare treatments")
st.markdown(
    "Lupus immunosuppressants side by side: dose, place in the EULAR 2023, ACR 2024 and KDIGO 2024 "
    "guidance, side effects, monitoring, pregnancy and breastfeeding. Every value carries its sources "
    "as numbered references and a mark showing how well it was checked."
)
ui.disclaimer()

scales = knowledge.scales()
entries = knowledge.drugs()
with st.expander("How to read this page: potency ladder, side-effect scale, evidence marks"):
    st.markdown(f"**{scales.ladder_title}.** {scales.ladder_caveat}")
    ui.show_table(compare.ladder_frame())
    st.markdown("**What the ordering rests on** (guideline steps and trials, with what was read):")
    ui.show_table(compare.ladder_evidence_frame(), key="compare_ladder_evidence_help")
    st.markdown(f"**{scales.side_effect_title}.** {scales.side_effect_caveat}")
    ui.show_table(compare.grade_frame())
    st.markdown("**Evidence marks** after each value (numbers in brackets point to the references):")
    ui.show_table(compare.status_frame())

# ---------------------------------------------------------------- side by side
st.header("Side by side")
ds = ui.get_dataset()
patient = st.session_state.get(ui.PATIENT)
current: list[str] = []
if ds is not None and patient:
    current = dosing.current_doses(ds.doses, patient, ui.as_of())["drug"].tolist()
    st.caption("Preselected from the selected patient's current drugs (when two or more are in the knowledge base).")
chosen = st.multiselect(
    "Drugs to compare (2 to 4)",
    list(entries),
    default=compare.default_selection(current),
    format_func=lambda i: entries[i].label,
    max_selections=compare.MAX_SELECTION,
    key="compare_drugs",
)
for row in compare.pregnancy_instructions(chosen):  # issue 17: the key instruction, never behind a toggle
    st.warning(
        f"**{row['Drug']}: {row['Pregnancy']} in pregnancy.** {row['Instruction']} {row['Sources']}",
        icon=":material/pregnant_woman:",
    )
if len(chosen) < 2:
    st.info("Choose at least two drugs to compare.", icon=":material/compare_arrows:")
else:
    notes = st.toggle("Show the notes in the table (washout times, caveats, corrections)", key="compare_notes")
    sbs = compare.side_by_side(chosen, with_notes=notes)
    st.caption(
        f"{len(sbs.differing)} of {len(sbs.table)} attributes differ: those rows are shaded and marked "
        f"'{compare.DIFFERS}'. † = secondary source only, ‡ = unconfirmed."
    )
    st.table(compare.highlight_differences(sbs.table.set_index("Attribute")))
    with st.expander("Evidence and notes for every cell"):
        ui.show_table(sbs.details)
    st.subheader("Key points")
    st.caption("Short facts and advice about the drugs compared, each with its sources and evidence mark.")
    points = compare.key_points_frame(chosen)
    st.markdown(
        "\n".join(
            f"- **{r.About} · {r.Topic}**: {md_escape(r.Point)} {r.Sources}" for r in points.itertuples(index=False)
        )
    )
    chosen_drugs = [d for i in chosen for d in entries[i].covers]
    checked = [d for d in dosing.INTERACTION_DRUGS if d in chosen_drugs]
    if checked:
        st.subheader("Interactions the dose checks look for")
        interactions = dosing.interactions_frame(checked)
        ui.show_table(
            interactions,
            key="compare_interactions",
            column_config={"What to do": st.column_config.TextColumn(width="large")},
        )
        dosing_view.interactions_in_full(interactions)  # the advice in full, not cut off
    st.subheader("References")
    ui.show_table(sbs.references, column_config={"Link": st.column_config.LinkColumn("Link", display_text="open")})

# ---------------------------------------------------------------- all drugs
st.header("All drugs")
c1, c2, c3 = st.columns(3)
pregnancy = c1.checkbox(
    "Pregnancy-compatible", key="compare_filter_pregnancy", help="Compatible, or compatible within limits."
)
renal = c2.checkbox(
    "Renal involvement",
    key="compare_filter_renal",
    help="Has a role in ACR 2024 or KDIGO 2024 lupus nephritis guidance (obinutuzumab postdates both).",
)
oral = c3.checkbox("Oral only", key="compare_filter_oral")
shown = compare.filter_entries(pregnancy_compatible=pregnancy, renal=renal, oral_only=oral)
st.caption(f"{len(shown)} of {len(entries)} entries. † = secondary source only, ‡ = unconfirmed.")
ui.show_table(compare.overview(shown), key="compare_overview")

# ---------------------------------------------------------------- charts
st.header("Charts")
ids = [e.id for e in shown] or list(entries)
tab_scatter, tab_heat = st.tabs(["Potency (treatment intensity) vs side-effect burden", "Side effects by category"])
with tab_scatter:
    st.caption(scales.ladder_caveat + " " + scales.side_effect_caveat)
    st.plotly_chart(potency_burden_scatter(compare.burden_points(ids)), key="compare_scatter", theme=None)
    st.markdown("**What the ordering rests on** (guideline steps and trials; the status says what was read)")
    st.markdown(
        "\n".join(
            f"- **{md_escape(r.Evidence)}** (tiers {r.Tiers}; {r.Status}) {r.Sources}: {md_escape(r[1])}"
            for r in compare.ladder_evidence_frame().itertuples(index=False)
        )
    )
with tab_heat:
    st.caption(scales.side_effect_caveat + " Hover a cell for its evidence status and sources.")
    st.plotly_chart(side_effect_heatmap(*compare.side_effect_matrix(ids)), key="compare_heatmap", theme=None)

# ---------------------------------------------------------------- glucocorticoids
st.header("Glucocorticoid equivalence")
steroids = knowledge.steroid_table()
left, right = st.columns([1, 2])
dose = left.number_input("Dose (mg)", min_value=0.0, value=20.0, step=2.5, key="compare_steroid_dose")
source = left.selectbox(
    "of",
    list(steroids.steroids),
    format_func=lambda s: steroids.steroids[s].label,
    key="compare_steroid_from",
)
right.caption(steroids.caveat)
ui.show_table(compare.steroid_frame(dose, source), key="compare_steroids")
