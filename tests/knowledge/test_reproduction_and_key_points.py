"""Issue 17: fertility and teratogenicity apart, the key pregnancy instruction, the seed
facts and the BSR 2025 advice as key points, the potency ordering with its evidence."""

from __future__ import annotations

import pytest

from dashboard import knowledge

STOP_BEFORE_CONCEPTION = (
    "methotrexate",
    "mycophenolate mofetil",
    "leflunomide",
    "cyclophosphamide (Euro-Lupus)",
    "cyclophosphamide (NIH)",
    "voclosporin",
)


def test_fertility_and_teratogenicity_are_separate_grades():
    entries = knowledge.drugs()
    for e in entries.values():
        assert "se_fertility" in e.facts and "se_teratogenicity" in e.facts
    # methotrexate: a teratogen (3) whose effect on fertility is small and reversible
    assert entries["methotrexate"].fact("se_teratogenicity").value == 3
    assert entries["methotrexate"].fact("se_fertility").value < 3
    # the NIH regimen is graded 3 for both; sulfasalazine harms sperm count, not the fetus
    assert entries["cyclophosphamide (NIH)"].fact("se_fertility").value == 3
    assert (
        entries["sulfasalazine"].fact("se_fertility").value > entries["sulfasalazine"].fact("se_teratogenicity").value
    )
    assert "Fertility" in knowledge.scales().attribute("se_fertility").label
    assert "Teratogenicity" in knowledge.scales().attribute("se_teratogenicity").label


@pytest.mark.parametrize("entry_id", STOP_BEFORE_CONCEPTION)
def test_the_key_pregnancy_instruction_is_a_fact_of_its_own(entry_id):
    plan = knowledge.drugs()[entry_id].fact("pregnancy_plan")
    text = plan.value.lower()
    assert any(word in text for word in ("stop", "avoid", "contraindicated")), plan.value
    assert plan.refs


def test_the_washouts_are_stated():
    d = knowledge.drugs()
    assert "1-3 months before conception" in d["methotrexate"].fact("pregnancy_plan").value
    assert "at least 6 weeks" in d["mycophenolate mofetil"].fact("pregnancy_plan").value
    assert "cholestyramine" in d["leflunomide"].fact("pregnancy_plan").value


def _point(pid: str) -> knowledge.KeyPoint:
    return next(p for p in knowledge.key_points() if p.id == pid)


@pytest.mark.parametrize(
    ("pid", "words"),
    [
        ("aza_prodrug", ("prodrug", "6-mercaptopurine")),
        ("aza_gi", ("gastrointestinal",)),
        ("aza_warning_signs", ("weakness", "muscle")),
        ("aza_vs_cyc", ("fewer side effects", "cyclophosphamide")),
    ],
)
def test_the_seed_facts_are_key_points_with_a_label_or_trial_source(pid, words):
    p = _point(pid)
    assert all(w in p.text for w in words), p.text
    refs = knowledge.references()
    assert any(refs[r].kind in ("label", "trial", "review") for r in p.refs), p.refs
    assert "azathioprine" in p.drugs


@pytest.mark.parametrize(
    ("pid", "words"),
    [
        ("bsr2025_mtx_vaccination", ("two weeks", "influenza", "COVID-19")),
        ("bsr2025_mtx_liver", ("FIB-4", "elastography")),
        ("bsr2025_severe_infection", ("severe infection", "intravenous", "recovered")),
        ("bsr2025_risk_review", ("once a year",)),
    ],
)
def test_bsr_2025_advice_is_cited_to_the_bsr_announcement(pid, words):
    p = _point(pid)
    assert all(w in p.text for w in words)
    assert "bsr2025" in p.refs and "methotrexate" in p.drugs
    ref = knowledge.references()["bsr2025"]
    assert "Updated-csDMARDs-guideline-2025" in ref.url and ref.access == "full text"
    assert "not opened" in ref.note  # says exactly what was read


def test_key_points_for_a_drug():
    ids = [p.id for p in knowledge.key_points_for(["mercaptopurine"])]
    assert "aza_prodrug" in ids and "bsr2025_severe_infection" in ids
    assert "hydroxychloroquine" not in {d for p in knowledge.key_points() for d in p.drugs}


def test_azathioprine_carries_a_lighter_burden_than_cyclophosphamide():
    d = knowledge.drugs()
    assert d["azathioprine"].burden < d["cyclophosphamide (Euro-Lupus)"].burden < d["cyclophosphamide (NIH)"].burden


def test_the_potency_ordering_shows_its_basis_and_is_never_confirmed_beyond_it():
    sc = knowledge.scales()
    ids = {e.id for e in sc.ladder_evidence}
    assert {"eular_steps", "eular_anchors", "euro_lupus", "alms", "maintain", "contreras"} <= ids
    assert "ordering" in sc.ladder_title.lower() and "no validated" in sc.ladder_caveat.lower()
    maintain = next(e for e in sc.ladder_evidence if e.id == "maintain")
    assert "not significantly different" in maintain.text
    for e in knowledge.drugs().values():
        assert e.fact("potency").status != "confirmed", e.id  # an editorial ordering


def test_bsr_2025_scope_paper_is_cited_with_its_doi():
    ref = knowledge.references()["bsr2025_scope"]
    assert "10.1093/rap/rkae077" in ref.citation and ref.url == "https://doi.org/10.1093/rap/rkae077"


def test_mercaptopurine_and_sulfasalazine_have_entries():
    assert knowledge.entries_for("mercaptopurine") and knowledge.entries_for("sulfasalazine")
    ssz = knowledge.drugs()["sulfasalazine"]
    assert "after 12 months" in ssz.fact("monitoring_schedule").value
    assert "sps_ssz" in ssz.fact("monitoring_labs").refs


@pytest.mark.parametrize("entry", ["cyclophosphamide (Euro-Lupus)", "cyclophosphamide (NIH)"])
def test_cyclophosphamide_pregnancy_instruction_gives_the_time_after_the_last_dose(entry):
    """Probe 7 F5.  The cyclophosphamide SmPC, section 4.6: no pregnancy during treatment
    and for 12 months after it ends; men should not father a child for 6 months after it.
    The other drugs to stop before conception state their interval; this one now does."""
    fact = knowledge.drugs()[entry].fact("pregnancy_plan")
    assert "12 months after the last dose" in str(fact.value) and "men: 6 months" in str(fact.value)
    assert "cyc_uk_smpc" in fact.refs


def test_voclosporin_blood_pressure_is_said_as_the_schedule_checks_it():
    """Probe 7 F7.  The Lupkynis label (as the schedule reads it, bp_voclosporin): blood
    pressure every 2 weeks for the first month, then as clinically indicated; the Compare
    page no longer promises it at every 4-weekly eGFR visit."""
    text = str(knowledge.drugs()["voclosporin"].fact("monitoring_schedule").value)
    assert "then as clinically indicated" in text and "at the same visits" not in text


# BSR 2022 (Russell et al., Rheumatology 2023;62:e48), Table 1, read on the PMC table page:
# the row for each drug below, as written there (expected values copied from the table by
# hand, not from the data files).
BSR2022_TABLE1 = {
    # drug: (pregnancy fact, breastfeeding fact)
    "sulfasalazine": ("compatible", "compatible"),  # Yes / Yes (footnote a)
    "leflunomide": ("contraindicated", "avoid"),  # No: cholestyramine washout / No
    "mycophenolate mofetil": ("contraindicated", "avoid"),  # stop >= 6 weeks before / No
    "tacrolimus": ("compatible with limits", "compatible"),  # Yes (footnote c) / Yes
    "ciclosporin": ("compatible with limits", "compatible"),  # Yes (footnote c) / Yes
    "cyclophosphamide (NIH)": ("avoid", "avoid"),  # exceptional circumstances / No
    "cyclophosphamide (Euro-Lupus)": ("avoid", "avoid"),
    # facts7: the prednisolone row is Yes in every column; the limit (lowest effective dose)
    # is EULAR 2016's Table 4, so pregnancy stays "compatible with limits"
    "prednisone": ("compatible with limits", "compatible"),  # Yes / Yes
    "hydroxychloroquine": ("compatible", "compatible"),  # (<= 400 mg/day) Yes / Yes
}


@pytest.mark.parametrize("entry_id", sorted(BSR2022_TABLE1))
def test_pregnancy_and_breastfeeding_rest_on_bsr_2022_table_1(entry_id):
    """facts6: these facts rested on the superseded EULAR 2016 points to consider alone."""
    entry = knowledge.drugs()[entry_id]
    pregnancy, lactation = BSR2022_TABLE1[entry_id]
    for key, expected in (("pregnancy", pregnancy), ("lactation", lactation)):
        fact = entry.fact(key)
        assert fact.value == expected, (entry_id, key, fact.value)
        assert fact.refs[0] == "bsr2022preg", (entry_id, key, fact.refs)
        assert fact.status == "confirmed", (entry_id, key)
        assert "keac551-T1" in fact.note


def test_methotrexate_breastfeeding_rests_on_bsr_2022_table_1():
    """facts7: BSR 2022 Table 1, row 'Methotrexate (<=25 mg/week)': breastfeeding 'No'
    (expected value by hand: 'No' is this project's 'avoid', as for leflunomide and
    mycophenolate); it cited the superseded EULAR 2016 alone."""
    fact = knowledge.drugs()["methotrexate"].fact("lactation")
    assert fact.value == "avoid"
    assert fact.refs[0] == "bsr2022preg" and fact.status == "confirmed"
    assert "keac551-T1" in fact.note and "breastfeeding 'No'" in fact.note


def test_azathioprine_in_pregnancy_cites_bsr_2022_but_its_dose_limit_stays_secondary():
    """facts7: the azathioprine row of BSR 2022 Table 1 is 'Yes' peri-conception and in both
    trimester columns; the 2 mg/kg/day ceiling comes from EULAR 2024, read only through a
    summary, so the facts that state it stay 'secondary source'."""
    aza = knowledge.drugs()["azathioprine"]
    for key in ("pregnancy_plan", "pregnancy"):
        fact = aza.fact(key)
        assert fact.refs[0] == "bsr2022preg", key
        assert fact.status == "secondary source", key
        assert "2 mg/kg/day" in fact.note and "summary" in fact.note, key
    assert aza.fact("pregnancy").value == "compatible with limits"


def test_mercaptopurine_pregnancy_says_bsr_2022_has_no_row_and_rests_on_eular_2024():
    """facts7: BSR 2022 Table 1 has no mercaptopurine row (its conventional synthetic DMARD
    section was read in full).  probe35 F6: the EULAR 2024 update, read only through a news
    summary (conexiant.com), lists 'Azathioprine (up to 2 mg/kg/d ...) - Mercaptopurine -
    Cyclosporine - Tacrolimus' among the pregnancy-compatible csDMARDs, so the pregnancy
    facts cite it and are 'secondary source', never 'confirmed' (H517).  Breastfeeding
    rests on LactMed's mercaptopurine record ('most professional guidelines ... consider
    breastfeeding to be acceptable'), a summary of guidelines not read: 'secondary
    source', never 'confirmed'."""
    mp = knowledge.drugs()["mercaptopurine"]
    for key in ("pregnancy_plan", "pregnancy"):
        fact = mp.fact(key)
        assert fact.status == "secondary source", key
        assert "bsr2022preg" in fact.refs and "eular2024preg" in fact.refs, key
        assert "no mercaptopurine row" in fact.note, key
    assert "EULAR 2024" in mp.fact("pregnancy_plan").value
    lactation = mp.fact("lactation")
    assert lactation.value == "compatible"
    assert lactation.refs[0] == "lactmed_mp" and lactation.status == "secondary source"
    assert knowledge.references()["lactmed_mp"].kind == "database"


def test_sulfasalazine_in_pregnancy_names_the_folic_acid_dose():
    """BSR 2022 Table 1 heads the row 'Sulfasalazine (with folic acid 5 mg/day in first
    trimester)'; the fact said only that folic acid 'is usually given' (H285)."""
    plan = knowledge.drugs()["sulfasalazine"].fact("pregnancy_plan")
    assert "folic acid 5 mg/day in the first trimester" in plan.value
    assert "bsr2022preg" in plan.refs


def test_the_prodrug_point_rests_on_the_label_read_on_dailymed():
    """facts7: the Imuran label's DESCRIPTION section was read on the DailyMed page itself
    (set id 606101a0-6244-7eff-e053-2a91aa0acadd): azathioprine is 'an imidazolyl derivative
    of 6-mercaptopurine', and sulfhydryl compounds such as glutathione convert it to
    mercaptopurine.  The point that it is a prodrug of 6-MP is therefore confirmed, and
    the drug file's class fact (already 'confirmed' on the same label) now agrees with it."""
    point = _point("aza_prodrug")
    assert point.refs == ("fda_imuran",) and point.status == "confirmed"
    assert "DailyMed" in point.note and "imidazolyl derivative of 6-mercaptopurine" in point.note
    ref = knowledge.references()["fda_imuran"]
    assert ref.kind == "label"
    assert ref.url.startswith("https://dailymed.nlm.nih.gov/") and "606101a0-6244-7eff-e053-2a91aa0acadd" in ref.url
    assert "DESCRIPTION" in ref.note
    assert knowledge.drugs()["azathioprine"].fact("class").status == point.status


def test_the_warning_signs_stay_secondary_until_the_label_section_is_read():
    """facts7: the label's patient-information and adverse-reaction sections (and the UK
    Imuran leaflet's section 4) could not be read in any stored copy of the label itself, so
    the warning signs keep the consumer database beside the label and say 'secondary source'."""
    point = _point("aza_warning_signs")
    assert point.status == "secondary source"
    assert "drugscom_aza_se" in point.refs and "fda_imuran" in point.refs
