"""Rules as data: the rule file, profiles and user profiles."""

from __future__ import annotations

import json

import pytest

from dashboard.model import CANONICAL_UNITS
from dashboard.rules import engine
from dashboard.rules.data import SEVERITIES, versions


def test_every_rule_is_valid_and_cited():
    rules = engine.all_rules()
    assert len(rules) >= 13
    for r in rules:
        engine.validate_rule(r)
        assert r.source and r.citation
        if r.kind == "guideline":
            assert r.unit == CANONICAL_UNITS[r.analyte]


def test_guideline_limits_are_the_bsr_numbers():
    p = engine.default_profile()
    expected = {
        "bsr.wbc_low": ("wbc", "<", 3.5),
        "bsr.neutrophils_low": ("neutrophils", "<", 1.6),
        "local.lymphocytes_low": ("lymphocytes", "<", 0.5),
        "bsr.platelets_low": ("platelets", "<", 140.0),
        "bsr.eosinophils_high": ("eosinophils", ">", 0.5),
        "bsr.mcv_high": ("mcv", ">", 105.0),
        "bsr.alt_high": ("alt", ">", 100.0),
        "bsr.ast_high": ("ast", ">", 100.0),
        "bsr.albumin_low": ("albumin", "<", 30.0),
        "bsr.egfr_low": ("egfr", "<", 60.0),
        "bsr.creatinine_rise": ("creatinine", "rise_pct", 30.0),
    }
    old = engine.builtin_profiles()["BSR 2017 / NICE"]
    for rid, (analyte, cmp, thr) in expected.items():
        r = old.rule(rid)
        assert (r.analyte, r.comparison, r.threshold, r.enabled) == (analyte, cmp, thr, True)
        r = p.rule(rid)
        # audit 17 F9: the local lymphocyte limit is left out of the default (CTCAE grade 3)
        assert (r.analyte, r.comparison, r.threshold, r.enabled) == (analyte, cmp, thr, rid != "local.lymphocytes_low")


def test_lymphocyte_rule_does_not_claim_bsr():
    r = engine.default_profile().rule("local.lymphocytes_low")
    assert "not in BSR 2017" in r.source
    assert "U" in r.citation


def test_builtin_profiles():
    profiles = engine.builtin_profiles()
    # issue 17: BSR 2025 is the default; BSR 2017 stays selectable for old audits
    assert list(profiles)[:3] == ["BSR 2025", "BSR 2017 / NICE", "CTCAE only"]
    assert engine.default_profile().name == "BSR 2025"
    ctcae_only = profiles["CTCAE only"]
    assert ctcae_only.ctcae and ctcae_only.active() == []
    assert len(profiles["BSR 2017 / NICE"].active("trend")) == 2
    assert profiles["BSR 2017 / NICE"].schedule == "BSR 2017" and profiles["BSR 2025"].schedule == "BSR 2025"
    # the same limits, but the 2025 profile says they could not be confirmed
    for old, new in zip(profiles["BSR 2017 / NICE"].rules, profiles["BSR 2025"].rules, strict=True):
        assert old.threshold == new.threshold
        if new.id.startswith("bsr."):
            # "withhold" only with the guideline that says it (BSR 2017; the 2025 action was not read)
            assert new.status == "unconfirmed"
            assert "withhold" not in new.message or "the BSR 2017 action" in new.message


@pytest.mark.parametrize(
    "name", ["BSR 2025", "bsr 2025", "BSR 2017 / NICE", "bsr 2017 / nice", "CTCAE only", "ctcae ONLY", None, ""]
)
def test_get_profile_by_name(name):
    p = engine.get_profile(name)
    assert p.name in ("BSR 2025", "BSR 2017 / NICE", "CTCAE only")


def test_unknown_profile_is_an_error_naming_the_choices():
    with pytest.raises(engine.RuleError, match=r"unknown profile 'BSR 2012'.*'CTCAE only'"):
        engine.get_profile("BSR 2012")


def test_user_profile_round_trip_and_citation(tmp_path):
    p = engine.make_user_profile(
        "Leeds local",
        "BSR 2017 / NICE",
        {"bsr.neutrophils_low": {"threshold": 2.0}, "bsr.mcv_high": {"enabled": False}},
    )
    r = p.rule("bsr.neutrophils_low")
    assert r.threshold == 2.0
    assert r.source.startswith("User profile 'Leeds local' (threshold 1.6 -> 2 10^9/L)")
    assert "BSR 2017 [bsr2017] as restated by SPS [sps_ssz]" in r.source
    assert not p.rule("bsr.mcv_high").enabled
    path = engine.save_profile(p, tmp_path)
    doc = json.loads(path.read_text())
    assert doc["based_on"] == "BSR 2017 / NICE"
    assert doc["overrides"] == {"bsr.neutrophils_low": {"threshold": 2.0}, "bsr.mcv_high": {"enabled": False}}
    again = engine.get_profile(str(path))
    assert again.rule("bsr.neutrophils_low").threshold == 2.0
    assert again.rule("bsr.neutrophils_low").source == r.source
    assert "Leeds local" in engine.saved_profiles(tmp_path)
    assert engine.get_profile("Leeds local", tmp_path).name == "Leeds local"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"bsr.wbc_low": {"threshold": -1}}, "positive"),
        ({"bsr.wbc_low": {"threshold": 900}}, "plausible"),
        ({"bsr.wbc_low": {"severity": "panic"}}, "severity"),
        ({"bsr.wbc_low": {"unit": "g/L"}}, "cannot change unit"),
        ({"bsr.nope": {"threshold": 1}}, "unknown rule"),
        ({"trend.baseline_fall": {"threshold": 120}}, "below 100"),
    ],
)
def test_invalid_user_edits_are_refused(change, message):
    with pytest.raises(engine.RuleError, match=message):
        engine.make_user_profile("mine", "BSR 2017 / NICE", change)


def test_user_profile_cannot_take_a_builtin_name():
    with pytest.raises(engine.RuleError, match="built-in"):
        engine.make_user_profile("CTCAE only", "BSR 2017 / NICE", {})


def test_not_a_profile_file(tmp_path):
    bad = tmp_path / "x.json"
    bad.write_text('{"hello": 1}')
    with pytest.raises(engine.RuleError, match="not a rules profile"):
        engine.get_profile(str(bad))
    with pytest.raises(engine.RuleError, match="not found"):
        engine.get_profile(str(tmp_path / "missing.json"))


def test_data_files_are_versioned():
    v = versions()
    assert set(v) == {"rules", "ctcae", "reference_ranges", "schedule", "dose_checks"}
    assert all(v.values())
    assert SEVERITIES == ("info", "caution", "action", "urgent")
