"""The typed loader: lookups, steroid equivalence, metabolite bands and dosing rules as read."""

from __future__ import annotations

import pytest

from dashboard import knowledge


def test_lookup_by_generic_id_covers_related_products():
    assert [e.id for e in knowledge.entries_for("mycophenolic acid")] == ["mycophenolate mofetil"]
    assert [e.id for e in knowledge.entries_for("prednisolone")] == ["prednisone"]
    assert knowledge.entries_for("allopurinol") == []


def test_entries_follow_the_documented_display_order():
    assert knowledge.entry_ids() == knowledge.scales().drug_order


def test_entry_properties():
    aza = knowledge.drugs()["azathioprine"]
    assert aza.routes == ("oral",)
    assert aza.pregnancy == "compatible with limits"
    assert aza.short == "AZA"
    assert "maintenance" in aza.renal_roles
    assert knowledge.drugs()["methotrexate"].renal_roles == frozenset()


def test_steroid_equivalence_values():
    table = knowledge.steroid_table()
    assert table.reference_drug == "prednisone"
    eq = {k: s.equivalent_mg for k, s in table.steroids.items()}
    assert eq == {
        "prednisone": 5.0,
        "prednisolone": 5.0,
        "methylprednisolone": 4.0,
        "dexamethasone": 0.75,
        "hydrocortisone": 20.0,
    }
    assert table.steroids["prednisolone"].status == "confirmed"


def test_metabolite_bands_are_the_bsg_ones():
    rules = knowledge.metabolite_rules()
    assert (rules.tgn_low, rules.tgn_high, rules.mmp_high, rules.ratio_shunt) == (235.0, 450.0, 5700.0, 11.0)
    assert rules.ratio_shunt_classic == 20.0
    assert {p.id for p in rules.patterns} == {
        "non-adherent",
        "toxic",
        "shunter",
        "under-dosed",
        "supratherapeutic-mmp",
        "therapeutic",
    }
    assert "bsg2019" in rules.pattern("shunter").refs


def test_cpic_factors_as_read():
    aza = knowledge.dosing_rules()["azathioprine"]
    assert aza["phenotypes"]["intermediate"]["factor"] == [0.3, 0.8]
    assert aza["phenotypes"]["possible intermediate"]["factor"] == [0.3, 0.8]
    assert aza["phenotypes"]["poor"]["avoid"] is True
    assert aza["both_intermediate"]["factor"] == [0.2, 0.5]
    # issue 17: one third exactly (the label says one-third to one-quarter; 0.33 left 1% between page and rule)
    assert aza["allopurinol"]["factor"] == pytest.approx([0.25, 1 / 3])
    assert aza["step_mg"] == 25.0


def test_format_refs():
    assert knowledge.format_refs(("cpic2018", "fda_imuran")) == "[cpic2018, fda_imuran]"
    assert knowledge.format_refs(()) == ""
