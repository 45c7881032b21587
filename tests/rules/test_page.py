"""The Rules page (Streamlit AppTest): profile choice, tables, saving and loading a profile."""

from __future__ import annotations

import json

import pytest
from streamlit.testing.v1 import AppTest

from dashboard import ui
from dashboard.dataset import Dataset
from dashboard.rules import engine
from tests.conftest import ROOT
from tests.rules.builders import dose, frame, lab, patient


@pytest.fixture
def profiles_dir(tmp_path, monkeypatch):
    folder = tmp_path / "profiles"
    monkeypatch.setenv("DASHBOARD_PROFILES", str(folder))
    return folder


def open_page(dataset: Dataset | None = None) -> AppTest:
    at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=60)
    at.run()
    if dataset is not None:
        at.session_state[ui.DATASET] = dataset
    at.switch_page(str(ROOT / "pages" / "rules.py")).run()
    assert not at.exception, at.exception
    return at


def choice(at: AppTest):
    return next(s for s in at.selectbox if s.label == "Active profile")


def test_page_shows_profiles_and_tables(profiles_dir):
    at = open_page()
    box = choice(at)
    assert box.options[:3] == ["BSR 2025", "BSR 2017 / NICE", "CTCAE only"]  # issue 17: 2025 the default
    assert box.value == "BSR 2025"
    assert at.session_state[ui.PROFILE] == "BSR 2025"
    rules = at.dataframe[0].value
    assert "bsr.neutrophils_low" in rules["Rule"].tolist()
    assert (
        rules.set_index("Rule").loc["local.lymphocytes_low", "Source"].endswith("not in BSR 2017 tables [nci_ctcae5]")
    )
    assert len(at.dataframe) >= 5  # limits, CTCAE, schedule, dose checks, ranges


def test_choosing_a_profile_is_shared(profiles_dir):
    at = open_page()
    choice(at).set_value("CTCAE only").run()
    assert at.session_state[ui.PROFILE] == "CTCAE only"
    assert not at.dataframe[0].value["On"].any()


def test_saved_profiles_are_offered(profiles_dir):
    engine.save_profile(engine.make_user_profile("Ward 7", "BSR 2017 / NICE", {"bsr.wbc_low": {"threshold": 3.0}}))
    at = open_page()
    box = choice(at)
    assert "Ward 7" in box.options
    box.set_value("Ward 7").run()
    assert at.dataframe[0].value.set_index("Rule").loc["bsr.wbc_low", "Threshold"] == 3.0
    assert any(b.label == "Download this profile" for b in at.get("download_button"))


def test_save_an_edited_copy(profiles_dir):
    at = open_page()
    at.text_input(key="rules_new_name").set_value("My clinic")
    next(b for b in at.button if b.label == "Save profile").click().run()
    assert not at.exception
    assert (profiles_dir / "my-clinic.json").exists()
    assert at.session_state[ui.PROFILE] == "My clinic"


def test_save_refuses_a_builtin_name(profiles_dir):
    at = open_page()
    at.text_input(key="rules_new_name").set_value("CTCAE only")
    next(b for b in at.button if b.label == "Save profile").click().run()
    assert any("built-in" in e.value for e in at.error)
    assert not profiles_dir.exists() or not list(profiles_dir.iterdir())


def test_load_a_profile_file(profiles_dir):
    doc = engine.profile_to_json(
        engine.make_user_profile("From file", "CTCAE only", {"bsr.mcv_high": {"enabled": True}})
    )
    at = open_page()
    at.file_uploader(key="rules_profile_upload").set_value(("mine.json", doc.encode(), "application/json")).run()
    at.button(key="rules_use_upload").click().run()
    assert not at.exception
    assert at.session_state[ui.PROFILE] == "From file"
    assert json.loads((profiles_dir / "from-file.json").read_text())["based_on"] == "CTCAE only"


def test_counts_on_the_loaded_panel(profiles_dir):
    ds = Dataset(
        labs=frame("labs", [lab("P1", "2024-05-01", "wbc", 3.0), lab("P2", "2024-05-01", "wbc", 2.5)]),
        doses=frame("doses", [dose("P1", "azathioprine", "2024-01-01", amount=100)]),
        patients=frame("patients", [patient("P1"), patient("P2")]),
        label="test panel",
    )
    at = open_page(ds)
    counts = at.dataframe[-1].value.set_index("Rule")
    assert counts.loc["bsr.wbc_low", "Flags"] == 2
    assert counts.loc["bsr.wbc_low", "Patients"] == 2


def test_every_rule_is_readable_in_full_with_its_advice_and_source(profiles_dir):
    """A table cell cuts the Source off, and with it the caveat "2025 limit not confirmed";
    the rules' advice ("withhold ...") was on no page at all.  The expander lists each rule
    in one line: test, threshold with unit, severity, the advice its flags carry, source."""
    at = open_page()
    [box] = [e for e in at.expander if e.label == "Source and evidence of every rule, in full"]
    text = " ".join(m.value for m in box.markdown).replace("\\", "")
    assert '- bsr.neutrophils_low (Neutrophils: result below 1.6 ×10⁹/L; action): advises "withhold and discuss' in text
    assert (
        "(2025 limit not confirmed; the BSR 2017 limit is applied: BSR 2017 [bsr2017] as restated by SPS [sps_ssz])"
        in text
    )
    # a percentage rule's threshold is a percentage, not µmol/L; the rise is measured from the
    # baseline first, the 365-day lowest only without one (H210)
    assert (
        "bsr.creatinine_rise (Creatinine: rise of more than 30% above the patient's baseline (the last result "
        "before the drug), else above the lowest of the previous 365 days; action)" in text
    )
    # a label's rule: "or more", and the level before its own drug (H212)
    assert (
        "label.ciclosporin_creatinine_rise (Creatinine: rise of 30% or more above the last result before "
        "Ciclosporin started, while Ciclosporin is taken; action)" in text
    )
    assert "local.lymphocytes_low (Lymphocytes: result below 0.5 ×10⁹/L; action; off)" in text
    # the repeat a renal rule asks for is part of the schedule, and said with the rule
    egfr = next(line for line in text.split("- ") if line.startswith("bsr.egfr_low"))
    assert "The first result past the limit makes creatinine/eGFR due 7 days after it" in egfr
