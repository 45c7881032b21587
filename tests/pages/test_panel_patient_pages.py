"""Panel and Patient pages (AppTest): empty state, sample panel, selection, filters."""

import json

import pytest
from streamlit.testing.v1 import AppTest

from tests.support import ROOT, shown_review

APP = str(ROOT / "streamlit_app.py")


def fresh() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    return at


@pytest.fixture(scope="module")
def loaded() -> AppTest:
    at = fresh()
    at.button(key="load_sample").click().run()
    assert not at.exception
    return at


@pytest.mark.parametrize("page", ["pages/panel.py", "pages/patient.py"])
def test_empty_state_points_to_home(page):
    at = fresh()
    at.switch_page(page).run()
    assert not at.exception
    assert any("No panel loaded yet" in i.value for i in at.info)


def test_panel_with_the_sample(loaded):
    at = loaded
    at.switch_page("pages/panel.py").run()
    assert not at.exception
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Patients"] == "36" and metrics["Overdue for bloods"] == "1"
    table = at.dataframe[0].value
    assert table.iloc[0]["Rank"] == 1 and "Needs attention" in table.columns
    assert not any(c.startswith("_") for c in table.columns)


def test_panel_filters(loaded):
    at = loaded
    at.switch_page("pages/panel.py").run()
    at.toggle(key="panel_overdue").set_value(True).run()
    assert list(at.dataframe[0].value["Patient"]) == ["SLE-003"]
    at.toggle(key="panel_overdue").set_value(False).run()
    at.text_input(key="panel_search").input("RA-0").run()
    assert set(at.dataframe[0].value["Patient"]) == {f"RA-{i:03d}" for i in range(1, 12)}
    at.text_input(key="panel_search").input("").run()


def test_patient_opens_on_the_most_urgent(loaded):
    at = loaded
    at.session_state["selected_patient"] = None
    at.switch_page("pages/patient.py").run()
    assert not at.exception
    most_urgent = shown_review(at).summary_df()["patient_id"].iloc[0]
    assert at.selectbox(key="patient_picker").value == most_urgent
    spec = json.loads(at.get("plotly_chart")[0].proto.spec)
    assert any(a.get("text") == "Doses" for a in spec["layout"]["annotations"])


def test_patient_selected_elsewhere_is_shown(loaded):
    at = loaded
    at.session_state["selected_patient"] = "SLE-017"
    at.switch_page("pages/patient.py").run()
    assert not at.exception
    assert at.selectbox(key="patient_picker").value == "SLE-017"
    flags = at.dataframe[0].value
    assert {"Date", "Analyte", "Value", "As reported", "CTCAE", "Rule", "Source", "Doses then"} <= set(flags.columns)
    assert (flags["Analyte"] == "Neutrophils").any()


def test_setting_a_baseline_quiets_a_duffy_null_patient(loaded):
    at = loaded
    at.session_state["selected_patient"] = "SLE-018"
    at.switch_page("pages/patient.py").run()
    before = shown_review(at).for_patient("SLE-018").summary_df().iloc[0]
    assert before["urgency"] == "action"
    # the form starts empty (issue 18: no "Neutrophils 1.2 / Duffy-null" pre-filled for every patient)
    assert at.selectbox(key="baseline_analyte").value is None and at.number_input(key="baseline_value").value is None
    at.selectbox(key="baseline_analyte").set_value("neutrophils")
    at.number_input(key="baseline_value").set_value(1.1)
    at.text_input(key="baseline_by").input("Dr Test")
    at.button[-1].click().run()
    assert not at.exception
    after = shown_review(at).for_patient("SLE-018").summary_df().iloc[0]
    assert after["urgency"] in ("", "info", "caution")
    assert len(at.session_state["dataset"].baselines) == 1


@pytest.fixture(scope="module")
def large_panel():
    """A panel larger than the picker lists (PICKER_LIMIT): P0137 has grade-4 neutropenia."""
    from dashboard.dataset import Dataset
    from dashboard.views import PICKER_LIMIT
    from tests.rules.builders import frame, lab, patient

    ids = [f"P{i:04d}" for i in range(1, PICKER_LIMIT + 51)]
    labs = [lab(p, "2026-11-01", "wbc", 6.0) for p in ids] + [lab("P0137", "2026-11-20", "neutrophils", 0.3)]
    return Dataset(frame("labs", labs), frame("doses", []), frame("patients", [patient(p) for p in ids]), label="big")


def open_patient(dataset) -> AppTest:
    at = fresh()
    at.session_state["dataset"] = dataset
    at.switch_page("pages/patient.py").run()
    assert not at.exception
    return at


def test_a_large_panel_picker_lists_the_most_urgent_and_finds_any_patient_by_id(large_panel):
    from dashboard.views import PICKER_LIMIT

    at = open_patient(large_panel)
    box = at.selectbox(key="patient_picker")
    assert box.value == "P0137"  # the most urgent, listed first
    # issue 18: the label is "name · date of birth · MRN" (this panel has neither name nor date of birth)
    assert box.options[0] == "MRN P0137" and len(box.options) == PICKER_LIMIT
    assert any(f"Listing {PICKER_LIMIT} of {PICKER_LIMIT + 50} patients" in c.value for c in at.caption)

    at.text_input(key="patient_picker::find").input("p0249").run()  # beyond the listed ones, any case
    assert not at.exception
    assert at.selectbox(key="patient_picker").value == "P0249"
    assert at.selectbox(key="patient_picker").options == ["MRN P0249"]  # not the patient shown before
    assert at.session_state["selected_patient"] == "P0249"
    assert any("1 of 250 patients match" in c.value for c in at.caption)

    at.text_input(key="patient_picker::find").input("P02").run()  # several matches: the shown patient stays
    box = at.selectbox(key="patient_picker")
    assert box.value == "P0249" and len(box.options) == 51  # P0200..P0250
    box.set_value("P0201").run()
    assert at.session_state["selected_patient"] == "P0201"

    at.text_input(key="patient_picker::find").input("nobody").run()
    assert at.selectbox(key="patient_picker").value == "P0201"
    assert any("No patient matches" in c.value for c in at.caption)


def test_a_patient_chosen_on_the_panel_page_is_shown_in_a_large_panel(large_panel):
    at = open_patient(large_panel)
    at.session_state["selected_patient"] = "P0222"  # not among the listed most urgent
    at.switch_page("pages/patient.py").run()
    assert not at.exception
    assert at.selectbox(key="patient_picker").value == "P0222"


def test_panel_counts_say_their_units_on_the_page(loaded):
    """The count columns are bare numbers ("132" could be g/L or g/dL): the caption above the
    table names each column's unit, in the unit system the sidebar shows."""
    at = loaded
    at.switch_page("pages/panel.py").run()
    captions = " ".join(c.value for c in at.caption)
    assert "Units: WBC, Neut, Lymph, Plt in ×10⁹/L; Hb in g/L; MCV in fL; ALT in U/L." in captions
    at.session_state["unit_system"] = "US"
    at.run()
    captions = " ".join(c.value for c in at.caption)
    assert "Units: WBC, Neut, Lymph, Plt in K/µL; Hb in g/dL; MCV in fL; ALT in U/L." in captions
    at.session_state["unit_system"] = "SI"
    at.run()


def test_the_headline_says_how_many_more_items_are_open():
    """The banner shows the most severe open item; a second action flag (neutrophils beside
    WBC, hand-counted: WBC 2.5 < 3.5 and Neut 1.0 < 1.6 are guideline flags, both CTCAE grade 2,
    so four open flags) must not hide behind it."""
    at = fresh()
    labs = b"MRN,Date,Test,Value,Unit\nX9,2026-02-01,WBC,2.5,10^9/L\nX9,2026-02-02,Neutrophils,1.0,10^9/L\n"
    at.file_uploader(key="upload_files").set_value([("x9.csv", labs, "text/csv")])
    at.run()
    at.switch_page("pages/patient.py").run()
    assert not at.exception
    [banner] = [e.value for e in at.error if e.value.startswith("**Action**")]
    assert banner.endswith("*and 3 more open items: see Review below*"), banner


def test_a_patient_with_nothing_open_says_so_and_when_bloods_are_due(loaded):
    """RA-005 of the sample has no open item on the as-of date (2026-11-16): the header says
    so in words, with the next test date (last bloods 2026-11-04 + 84 days on methotrexate
    maintenance = 2027-01-27), rather than showing nothing."""
    at = loaded
    at.session_state["selected_patient"] = "RA-005"
    at.switch_page("pages/patient.py").run()
    assert not at.exception
    assert any(
        i.value.startswith("Nothing open on 16 Nov 2026: no flag, dose check or overdue blood test")
        and i.value.endswith("Next blood test due 27 Jan 2027.")
        for i in at.info
    ), [i.value for i in at.info]


def test_the_patient_page_says_which_of_the_patients_rows_were_rejected():
    """A dose row of X9 that cannot be held (methotrexate "3x weekly") is rejected at import
    and so is in no chart or table; X9's page says so, with the reason, instead of showing
    a patient with no methotrexate in silence.  Another patient's rejected row is not
    named there."""
    at = fresh()
    labs = b"MRN,Date,Test,Value,Unit\nX9,2026-02-01,WBC,2.5,10^9/L\nY1,2026-02-01,WBC,5.0,10^9/L\n"
    doses = (
        b"patient,drug,dose,unit,frequency,start\n"
        b"X9,methotrexate,10,mg,3x weekly,2026-01-01\nY1,methotrexate,15,mg,1x weakly,2026-01-01\n"
    )
    at.file_uploader(key="upload_files").set_value([("x9.csv", labs, "text/csv"), ("d.csv", doses, "text/csv")])
    at.run()
    at.switch_page("pages/patient.py").run()
    at.session_state["patient"] = "X9"
    at.run()
    assert not at.exception
    [note] = [w.value for w in at.warning if "rejected at import" in w.value]
    assert note.startswith("**1 row of this patient's files was rejected at import**")
    assert "d.csv row 2: methotrexate more often than once weekly" in note and "row 3" not in note


def test_the_patient_page_says_a_fhir_record_and_a_dose_sheets_patient_may_be_one_person():
    """H150: the neutropenia of the FHIR record f3c9a1 and the methotrexate of the dose
    sheet's 0012345, the MRN that record carries: the page of f3c9a1, which would say no
    drug is recorded, says where the doses may be."""
    patient = {
        "resourceType": "Patient",
        "id": "f3c9a1",
        "identifier": [{"type": {"coding": [{"code": "MR"}]}, "value": "0012345"}],
        "gender": "female",
    }
    obs = {
        "resourceType": "Observation",
        "id": "o1",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "751-8"}]},
        "subject": {"reference": "Patient/f3c9a1"},
        "effectiveDateTime": "2026-03-01",
        "valueQuantity": {"value": 0.4, "unit": "10*3/uL"},
    }
    ndjson = (json.dumps(patient) + "\n" + json.dumps(obs) + "\n").encode()
    doses = b"MRN,Drug,Dose,Unit,Frequency,Start\n0012345,methotrexate,15,mg,weekly,2026-01-05\n"
    at = fresh()
    at.file_uploader(key="upload_files").set_value(
        [("export.ndjson", ndjson, "application/json"), ("doses.csv", doses, "text/csv")]
    )
    at.run()
    at.switch_page("pages/patient.py").run()
    assert not at.exception
    assert at.selectbox(key="patient_picker").value == "f3c9a1"  # the most urgent
    said = [w.value for w in at.warning if "0012345" in w.value]
    assert len(said) == 1 and "MR 0012345" in said[0] and "MRN 0012345" in said[0], said


def test_the_results_shown_open_on_each_patients_own_flags_after_a_switch():
    """H128 across a patient switch: the chart of each patient opens on their blood counts,
    liver tests and every test with an open flag, whatever was chosen for the patient seen
    before (a patient with no results, whose choice was empty, left every later patient's
    chart on nothing; P1's choice of neutrophils hid P2's open ALT flag)."""
    labs = (
        b"MRN,Date,Test,Value,Unit\n"
        b"P1,2026-02-01,Neutrophils,0.4,10^9/L\n"
        b"P2,2026-02-01,Neutrophils,3.0,10^9/L\nP2,2026-02-01,ALT,130,U/L\n"
    )
    doses = b"MRN,Drug,Dose,Unit,Frequency,Start\nP3,methotrexate,15,mg,weekly,2026-01-05\n"
    at = fresh()
    at.file_uploader(key="upload_files").set_value([("labs.csv", labs, "text/csv"), ("doses.csv", doses, "text/csv")])
    at.run()
    at.switch_page("pages/patient.py").run()
    for pid, shown in (
        ("P3", []),
        ("P2", ["neutrophils", "alt"]),
        ("P1", ["neutrophils"]),
        ("P2", ["neutrophils", "alt"]),
    ):
        at.selectbox(key="patient_picker").set_value(pid).run()
        assert not at.exception
        assert at.multiselect(key=f"patient_analytes::{pid}").value == shown, pid
