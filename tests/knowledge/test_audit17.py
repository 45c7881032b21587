"""Knowledge-base corrections of audit 17 (F5, F12-F21, F23), each against its source.

* F5, ACR 2024 lupus nephritis: oral glucocorticoid at most 0.5 mg/kg/day, maximum 40 mg/day
  (a 100 kg patient reads 40 mg, not 50); pulses 250-1000 mg/day for 1-3 days.
* F14, BSR 2022 Table 1: rituximab "consider stopping at conception"; severe disease only in
  pregnancy; breastfeeding yes.
* F15, BSR 2022 Tables 1 and 4, paternal exposure: methotrexate yes (<= 25 mg/week),
  leflunomide yes, mycophenolate yes, azathioprine/ciclosporin/tacrolimus yes,
  cyclophosphamide no (semen cryopreservation).
* F16: anifrolumab's lupus nephritis restriction is the label's, not ACR's or KDIGO's.
* F17/F18: no reference is an openFDA search query; the guideline papers have DOIs.
* F13/F11: the ciclosporin mg/kg range on Compare is the dose check's (2.5-4 mg/kg/day).
* F19: belimumab label: contraception for at least 4 months after the last dose.
* F21: diltiazem and verapamil are moderate CYP3A4 inhibitors, not strong ones.
* F23: above 20 mg/week the UK oral label ceiling is shown beside the 3E 30 mg/week.
"""

from __future__ import annotations

from dashboard import compare, dosing, knowledge


def fact(entry: str, key: str) -> knowledge.Fact:
    return knowledge.drugs()[entry].fact(key)


def test_lupus_nephritis_prednisone_has_the_40_mg_ceiling_and_the_pulse_range():
    dose = fact("prednisone", "dose_mg_per_kg")
    assert dose.value == [0.0, 0.5] and dose.max_mg_per_day == 40.0
    attr = knowledge.scales().attribute("dose_mg_per_kg")
    assert compare.fact_text(attr, dose) == "0-0.5 mg/kg, at most 40 mg/day"
    text = fact("prednisone", "usual_dose").value
    assert "250-1000 mg/day for 1-3 days" in text and "maximum 40 mg/day" in text
    assert knowledge.references()["acr2024ln"].url == "https://doi.org/10.1002/acr.25528"


def test_rituximab_pregnancy_follows_bsr_2022():
    plan = fact("rituximab", "pregnancy_plan")
    assert "Consider stopping at conception" in plan.value and "bsr2022preg" in plan.refs
    assert "bsr2022preg" in fact("rituximab", "pregnancy").refs
    assert fact("rituximab", "lactation").value == "compatible"


def test_paternal_exposure_per_drug_from_bsr_2022():
    expected_yes = ("methotrexate", "leflunomide", "mycophenolate mofetil", "azathioprine", "ciclosporin", "tacrolimus")
    for entry in expected_yes:
        f = fact(entry, "paternal")
        assert f.value.startswith("Compatible") and "bsr2022preg" in f.refs, entry
    assert "<= 25 mg/week" in fact("methotrexate", "paternal").value
    for entry in ("cyclophosphamide (Euro-Lupus)", "cyclophosphamide (NIH)"):
        f = fact(entry, "paternal")
        assert f.value.startswith("Not compatible") and "semen cryopreservation" in f.value
    assert "reduce male fertility" in fact("sulfasalazine", "paternal").value
    assert all("paternal" in e.facts for e in knowledge.drugs().values())


def test_anifrolumab_lupus_nephritis_restriction_is_the_labels():
    for key in ("role_acr_2024_ln", "role_kdigo_2024_ln"):
        f = fact("anifrolumab", key)
        assert f.value == ["not addressed"] and f.status == "unconfirmed"
        assert "label" in f.note and "not recommended" in f.note


def test_no_reference_is_a_search_of_the_openfda_api():
    for ref in knowledge.references().values():
        assert "api.fda.gov" not in ref.url, ref.id
    refs = knowledge.references()
    assert refs["eular2024preg"].url == "https://doi.org/10.1016/j.ard.2025.02.023"
    assert refs["acr2020repro"].url == "https://doi.org/10.1002/art.41191"
    assert refs["fda_neoral"].url.endswith("setid=94461af3-11f1-4670-95d4-2965b9538ae3")
    assert refs["fda_benlysta"].access == "secondary"


def test_the_ciclosporin_range_on_compare_is_the_dose_checks():
    assert fact("ciclosporin", "dose_mg_per_kg").value == [2.5, 4.0]
    assert knowledge.dosing_number("ciclosporin.max_mg_per_kg_day") == 4.0
    assert fact("azathioprine", "dose_mg_per_kg").value == [1.0, 2.5]
    assert "fda_neoral" in fact("ciclosporin", "usual_dose").refs
    assert "neoral_smpc" not in fact("ciclosporin", "usual_dose").refs  # UK SmPC not opened


def test_belimumab_contraception_for_4_months():
    assert "at least 4 months after the last dose" in fact("belimumab", "pregnancy_plan").value


def test_diltiazem_and_verapamil_are_moderate_inhibitors():
    for entry in ("ciclosporin", "tacrolimus"):
        for line in fact(entry, "interactions").value:
            if line.startswith("Strong CYP3A4"):
                assert "diltiazem" not in line and "verapamil" not in line, entry


def test_methotrexate_above_20_mg_shows_the_uk_oral_label():
    msgs = [w.message for w in dosing.methotrexate_check(22.5).warnings]
    assert any("should not exceed 20 mg" in m for m in msgs)
    assert not any("should not exceed 20 mg" in m for m in (w.message for w in dosing.methotrexate_check(20).warnings))
