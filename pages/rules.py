"""Rules: the profile the panel is judged by, every threshold with its source, your own profile."""

import streamlit as st

from dashboard import ui
from dashboard.markup import md_escape
from dashboard.rules import engine, views
from dashboard.rules.data import versions
from dashboard.rules.review import review_dataset

CHOICE = "rules_profile_choice"
PENDING = "rules_pending_profile"

ui.page_guard()

st.title("Rules")
st.caption(
    "Every flag names the rule that fired, its threshold in the canonical unit and where the rule comes from. "
    "Choose the profile the panel is judged by, or save your own edited copy."
)
ui.disclaimer()

profiles = engine.available_profiles()
names = list(profiles)
if PENDING in st.session_state:  # a profile saved or loaded on the previous run
    st.session_state[CHOICE] = st.session_state.pop(PENDING)
if st.session_state.get(CHOICE) not in names:
    wanted = st.session_state.get(ui.PROFILE) or engine.DEFAULT_PROFILE
    st.session_state[CHOICE] = wanted if wanted in names else engine.DEFAULT_PROFILE
choice = st.selectbox("Active profile", names, key=CHOICE, help="Used by the Panel and Patient pages.")
st.session_state[ui.PROFILE] = choice
profile = profiles[choice]
st.caption(
    f"{md_escape(profile.description)} · CTCAE grades flagged: {'yes' if profile.ctcae else 'no'} · "
    + " · ".join(f"{k} {v}" for k, v in versions().items())
)

limits, grades, schedules, doses, ranges, own = st.tabs(
    ["Action limits and trends", "CTCAE v5.0", "Monitoring schedule", "Dose checks", "Default ranges", "Your profile"]
)
with limits:
    st.write("Strict comparisons, exactly as the guidelines write them: WBC 3.5 does not fire 'below 3.5', 3.49 does.")
    if scope := views.guideline_drugs_text(profile):
        st.caption(md_escape(scope))
    rules_table = views.rules_frame(profile)
    ui.show_table(
        rules_table,
        column_config={
            "On": st.column_config.CheckboxColumn("On"),
            "Evidence": st.column_config.TextColumn(width="large"),
        },
    )
    # a table cell cuts the source off (and with it a caveat such as "2025 limit not confirmed")
    with st.expander("Source and evidence of every rule, in full", icon=":material/menu_book:"):
        st.markdown("\n".join(f"- {md_escape(line)}" for line in views.rule_source_lines(profile)))
    # each [id] a flag's source names, with the address that opens it
    st.caption("References the flags and schedules of this profile cite ([id] in a source), with their address:")
    ui.show_table(
        views.references_frame(profile),
        column_config={
            "URL": st.column_config.LinkColumn("URL"),
            "Citation": st.column_config.TextColumn(width="large"),
        },
    )
    # a drug counts at a result for a while after its last dose: the dose context names it
    # ("recently ended"), and a guideline drug among them keeps the guideline's action
    with st.expander("How long a drug counts after its last dose", icon=":material/history:"):
        ui.show_table(
            views.recorded_windows_frame(), column_config={"Basis": st.column_config.TextColumn(width="large")}
        )
with grades:
    st.write(
        "Grade 1 needs the lower limit of normal: the lab's own range on the result first, then the default range. "
        "Haemoglobin reported in mmol/L is graded against CTCAE's mmol/L cut-offs (6.2 and 4.9). "
        "Creatinine has no default upper limit (it depends on sex, age and the method): without the lab's own, "
        "only its baseline criteria are used. A baseline comes from before the first monitored drug, or from you."
    )
    ui.show_table(views.ctcae_frame())
with schedules:
    # the schedules this profile's review applies (BSR 2025's by default), not another's
    st.caption(
        f"The blood-test schedules applied under {md_escape(profile.name)} (monitoring schedule: "
        f"{md_escape(profile.schedule)})."
    )
    ui.show_table(views.schedules_frame(profile), column_config={"What": st.column_config.TextColumn(width="large")})
with doses:
    st.write("A check that needs the weight says 'weight unknown' rather than passing silently.")
    ui.show_table(views.dose_checks_frame())
with ranges:
    st.write("Used only when a result comes without a reference range. Labs differ: their own range always wins.")
    ui.show_table(views.ranges_frame())

with own:
    st.write(
        "Change thresholds, severities or switch rules off, then save under a new name. Flags raised by an "
        "edited rule cite your profile and the original limit, never the guideline alone."
    )
    with st.form("rules_edit_form"):
        edited = st.data_editor(
            views.rules_frame(profile),
            hide_index=True,
            width="stretch",
            disabled=[c for c in views.RULE_COLUMNS if c not in views.EDITABLE_COLUMNS],
            column_config={
                "Severity": st.column_config.SelectboxColumn("Severity", options=views.SEVERITY_OPTIONS),
                "Threshold": st.column_config.NumberColumn("Threshold", min_value=0.0, format="%g"),
            },
            key="rules_editor",
        )
        name = st.text_input("Name of your profile", key="rules_new_name", placeholder="e.g. Leeds shared care 2026")
        if st.form_submit_button("Save profile", icon=":material/save:"):
            try:
                saved = engine.make_user_profile(name, profile, views.overrides_from_frame(profile, edited))
                path = engine.save_profile(saved)
            except engine.RuleError as exc:
                st.error(str(exc))
            else:
                st.session_state[PENDING] = saved.name
                st.toast(f"Saved '{md_escape(saved.name)}' to {md_escape(path)}")
                st.rerun()

    upload = st.file_uploader("Load a profile file (.json)", type=["json"], key="rules_profile_upload")
    if upload is not None and st.button("Use this profile", key="rules_use_upload"):
        try:
            loaded = engine.profile_from_json(upload.getvalue().decode("utf-8", errors="replace"))
            engine.save_profile(loaded)
        except engine.RuleError as exc:
            st.error(f"{md_escape(upload.name)}: {md_escape(exc)}")
        else:
            st.session_state[PENDING] = loaded.name
            st.rerun()
    if profile.is_user:
        st.download_button(
            "Download this profile",
            engine.profile_to_json(profile),
            file_name=engine.profile_file_name(profile.name),
            mime="application/json",
            icon=":material/download:",
            key="rules_download",
        )

ds = ui.get_dataset()
if ds is not None and not ds.is_empty:
    st.subheader("On the loaded panel")
    st.caption(f"Flags this profile raises on {md_escape(ds.label)}, as of {ui.as_of():%d %b %Y}.")
    ui.show_table(views.flag_counts(review_dataset(ds, profile, ui.as_of())))
