"""Primary sources for flags, dose checks, trend rules and schedule rows (H660-H663).

Every ``source`` of rules.toml, ctcae.toml, schedule.toml and dose_checks.toml names its
references by id (H570-H574, H640); this pass gave ids to the ones still cited in words by a
primary source the reference search could read (the mercaptopurine US label, the EULAR
glucocorticoid recommendations), dropped a secondary restatement where the cited primary
restatement holds the same limit (the eosinophil rule), and lists what is left in words only
and why.  Expected values are read by hand from the sources' own words (quoted in each test).
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

from dashboard import knowledge

ROOT = Path(__file__).resolve().parents[1]
RULES_DATA = ROOT / "dashboard" / "rules" / "data"
SOURCE_FILES = ("rules.toml", "ctcae.toml", "schedule.toml", "dose_checks.toml")
ID = re.compile(r"\[([a-z0-9_]+)\]")


def _data(name: str) -> dict[str, Any]:
    return tomllib.loads((RULES_DATA / name).read_text(encoding="utf-8"))


def _knowledge(name: str) -> dict[str, Any]:
    return tomllib.loads((ROOT / "dashboard" / "knowledge" / "data" / name).read_text(encoding="utf-8"))


def _sources() -> dict[str, str]:
    """Every ``source`` of the four rule data files, keyed "file:where" (a rule, check or
    schedule row by its id or table name)."""
    found: dict[str, str] = {}

    def walk(node: Any, where: str) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "source" and isinstance(value, str):
                    found[where] = value
                else:
                    walk(value, f"{where}.{key}")
        elif isinstance(node, list):
            for item in node:
                label = item.get("id", "?") if isinstance(item, dict) else "?"
                walk(item, f"{where}[{label}]")

    for name in SOURCE_FILES:
        walk(_data(name), name)
    return found


def _rule(rule_id: str) -> dict[str, Any]:
    return next(r for r in _data("rules.toml")["rule"] if r["id"] == rule_id)


def _check(check_id: str) -> dict[str, Any]:
    return next(c for c in _data("dose_checks.toml")["check"] if c["id"] == check_id)


# A source with no reference id, each with the reason it stays so (H661).
UNCITED_SOURCES = {
    # the lab's own abnormal flag: a message standard, not a clinical source
    "ctcae.toml.lab_flag": "HL7 v2.5 table 0078 (Abnormal flags); FHIR R4 ObservationInterpretation",
    # a drug monitored through the drug it interacts with: no schedule, nothing to cite
    "schedule.toml.schedules.none_other": "",
    # a project statement that no maximum is checked, not a clinical fact
    "dose_checks.toml.check[dose.no_amount_check]": "Dashboard scope: no sourced maximum is checked for this drug",
}

# Secondary sources still named in words, each because no primary text stating the fact was
# found in the reference search (or an existing test holds the words): listed so that a new
# one fails here (H662).
SECONDARY_IN_WORDS = {
    ("rules.toml.rule[trend.consecutive_falls]", "Primary Care Notebook"),
    ("schedule.toml.schedules.standard", "NICE CKS"),
    ("schedule.toml.schedules.cyclophosphamide_pulse", "Rheumatology Secrets"),
}
SECONDARY_WORDS = ("Primary Care Notebook", "NICE CKS", "Rheumatology Secrets", "Dumfries")


def test_every_source_without_a_reference_id_is_a_listed_justified_one():
    refs = knowledge.references()
    uncited = {where: text for where, text in _sources().items() if not [i for i in ID.findall(text) if i in refs]}
    assert uncited == UNCITED_SOURCES


def test_every_id_a_source_cites_resolves_to_a_reference_with_an_address():
    refs = knowledge.references()
    for where, text in _sources().items():
        for ref_id in ID.findall(text):
            assert ref_id in refs, (where, ref_id)
            assert refs[ref_id].url.startswith("https://") or refs[ref_id].url.startswith("http://"), (where, ref_id)
            assert refs[ref_id].citation.strip(), (where, ref_id)


def test_the_secondary_sources_left_in_words_are_the_known_ones():
    found = {(where, word) for where, text in _sources().items() for word in SECONDARY_WORDS if word in text}
    in_words = {(where, word) for where, word in found if where not in UNCITED_SOURCES}
    assert in_words == SECONDARY_IN_WORDS


def test_the_mercaptopurine_ceiling_cites_the_us_label_it_is_read_from():
    """US label, section 2 (read in its openFDA record): 'The recommended starting dosage of
    MERCAPTOPURINE is 1.5 mg/kg to 2.5 mg/kg (50 mg/m2 to 75 mg/m2) orally once daily as part
    of a combination chemotherapy maintenance regimen.'  Top of that range: 2.5 mg/kg/day."""
    check = _check("dose.mp_above_max")
    assert "[fda_mercaptopurine]" in check["source"]
    assert check["source"].startswith("Mercaptopurine prescribing information")
    assert "1.5 mg/kg to 2.5 mg/kg" in check["citation"]
    ref = knowledge.references()["fda_mercaptopurine"]
    assert ref.kind == "label"
    assert ref.url == "https://dailymed.nlm.nih.gov/dailymed/drugInfo.cfm?setid=9c6fc66b-522f-499d-961a-cde6ca0ec2e5"
    dosing = _knowledge("dosing.toml")["mercaptopurine"]
    assert dosing["max_mg_per_kg"] == 2.5
    assert "fda_mercaptopurine" in dosing["refs"]


def test_the_mercaptopurine_message_says_the_label_range_is_a_starting_dose():
    """US label section 2: 'The recommended starting dosage ... is 1.5 mg/kg to 2.5 mg/kg ...
    orally once daily ... Adjust dose to maintain desirable absolute neutrophil count': a
    starting range, no maximum; the message says so (H664)."""
    message = _check("dose.mp_above_max")["message"]
    assert "recommended starting dosage" in message
    assert "1.5-2.5 mg/kg" in message
    assert "maintenance range" not in message


def test_the_glucocorticoid_monitoring_cites_the_eular_recommendations():
    """EULAR 2007 recommendation 5: 'patients should be monitored for body weight, blood
    pressure, ... blood and/or urine glucose ...'; 6b: bone mineral density measurement."""
    refs = knowledge.references()
    for ref_id in ("eular2007_gc", "eular2013_gc"):
        assert refs[ref_id].kind == "guideline"
        assert refs[ref_id].url.startswith("https://")
    facts = _knowledge("drugs/prednisone.toml")["facts"]
    assert "eular2007_gc" in facts["monitoring_labs"]["refs"]
    assert {"blood pressure", "weight", "bone density"} <= set(facts["monitoring_labs"]["value"])
    assert {"eular2007_gc", "eular2013_gc"} <= set(facts["monitoring_schedule"]["refs"])
    # "at each visit" is not in the text read: the schedule fact stays unconfirmed
    assert facts["monitoring_schedule"]["status"] == "unconfirmed"


def test_the_eosinophil_limit_cites_the_sps_page_that_states_it_not_a_board_protocol():
    """SPS sulfasalazine monitoring (sps_ssz, read in full): eosinophils > 0.5 x10^9/L."""
    rule = _rule("bsr.eosinophils_high")
    assert rule["source"] == "BSR 2017 [bsr2017] as restated by SPS [sps_ssz]"
    assert (rule["comparison"], rule["threshold"]) == (">", 0.5)
    assert "eosinophils > 0.5" in knowledge.references()["sps_ssz"].note


def test_the_baseline_fall_rule_names_the_reference_its_citation_quotes():
    source = _rule("trend.baseline_fall")["source"]
    assert source.startswith("Local rule")
    assert source.endswith("[sps_monitoring]")


def test_the_local_lymphocyte_limit_is_where_ctcae_grade_3_begins():
    """CTCAE v5.0 'Lymphocyte count decreased': grade 3 < 0.5 - 0.2 x10^9/L; the local rule
    fires below 0.5 and cites CTCAE for that number only (not a BSR limit)."""
    rule = _rule("local.lymphocytes_low")
    cuts = dict((grade, cut) for grade, cut in _data("ctcae.toml")["terms"]["lymphocytes"]["cuts"])
    assert (rule["comparison"], rule["threshold"]) == ("<", 0.5)
    assert cuts[3] == 0.5
    assert "[nci_ctcae5]" in rule["source"]
    assert "not in BSR 2017" in rule["source"]
