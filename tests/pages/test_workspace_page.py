"""The Workspace page (AppTest): save a session's panel, enter a dose change, record a
review, find them again in a new session; session-only uploads stay in their session."""

from __future__ import annotations

import datetime as dt

import pytest
from streamlit.testing.v1 import AppTest

from dashboard.ingest import Source
from dashboard.store import Workspace
from tests.support import ROOT

APP = str(ROOT / "streamlit_app.py")
LABS = (
    b"MRN,Collection Date,Component,Result,Units\n"
    b"001,2024-03-15,WBC,3.2,K/uL\n001,2024-04-15,WBC,2.9,K/uL\n002,2024-03-16,PLT,=1+1,K/uL\n002,2024-03-16,PLT,90,K/uL\n"
)
DOSES = b"patient,drug,dose,unit,frequency,start,end\n001,Imuran,150,mg,daily,2024-01-01,\n"


@pytest.fixture(autouse=True)
def tmp_workspace(tmp_path, monkeypatch):
    monkeypatch.setenv("DASHBOARD_WORKSPACE", str(tmp_path / "ws"))
    return tmp_path / "ws"


def workspace_page() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    at.switch_page("pages/workspace.py").run()
    assert not at.exception, at.exception
    return at


def upload(at: AppTest, *files: tuple[str, bytes]) -> AppTest:
    at.switch_page("pages/home.py").run()
    at.file_uploader(key="upload_files").set_value([(n, d, "text/csv") for n, d in files])
    at.run()
    at.switch_page("pages/workspace.py").run()
    assert not at.exception, at.exception
    return at


def shown_panel_flags(at: AppTest):
    """The panel's open flags the Flags tab showed: the app keeps them in a Streamlit cache
    (keyed on version tokens), so the test computes them again from the session's state."""
    from dashboard.reviews import flags_for_review

    s = at.session_state
    ds, panel = s["dataset"], s["workspace_panel"]
    return flags_for_review(ds.labs, ds.doses, ds.patients, ds.baselines, panel.reviews, s["as_of"], s["rules_profile"])


def button(at: AppTest, label: str):
    return next(b for b in at.button if b.label == label)


def test_the_page_starts_in_session_only_mode_without_a_workspace(tmp_workspace):
    at = workspace_page()
    assert at.radio(key="data_mode").value == "session"
    assert [m.value for m in at.metric] == ["0"] * 5
    assert button(at, "Save this panel to the workspace").disabled
    assert button(at, "Open workspace panel").disabled
    assert not tmp_workspace.exists()  # looking creates nothing


def test_save_enter_review_restart(tmp_workspace):
    at = upload(workspace_page(), ("labs.csv", LABS), ("doses.csv", DOSES))
    assert not tmp_workspace.exists()  # session only until saved
    button(at, "Save this panel to the workspace").click().run()
    assert not at.exception
    assert any("Workspace import #1: added 3 results, 1 doses, 2 patients" in s.value for s in at.success)
    assert at.radio(key="data_mode").value == "workspace"
    at.selectbox(key="ws_patient").set_value("001").run()
    at.text_input(key="reviewer_name").set_value("Dr Ada").run()

    # a dose reduction of the imported azathioprine
    at.radio(key="change_action").set_value("change")
    at.date_input(key="change_on").set_value(dt.date(2024, 4, 20))
    at.number_input(key="change_amount").set_value(100.0)
    at.text_input(key="change_note").set_value("WBC 2.9")
    button(at, "Save change").click().run()
    assert not at.exception and any("Dose change on 2024-04-20 saved" in s.value for s in at.success)

    # a review of the patient
    at.selectbox(key="review_action").set_value("reduce")
    at.text_area(key="review_note").set_value("reviewed — AZA reduced to 100 mg")
    button(at, "Record review").click().run()
    assert not at.exception and any("Review recorded" in s.value for s in at.success)

    # "restart": a new session of a new app finds all three in the workspace
    again = workspace_page()
    # issue 18: a review of the patient as a whole acknowledges each open flag by name: 001's
    # WBC 2.9 has two (CTCAE grade 2, < 3.0; BSR 2017 WBC < 3.5), so two entries
    assert [m.value for m in again.metric] == ["2", "3", "2", "1", "2"]
    button(again, "Open workspace panel").click().run()
    again.selectbox(key="ws_patient").set_value("001").run()
    doses = next(d.value for d in again.dataframe if "Source" in d.value.columns and "Frequency" in d.value.columns)
    assert list(doses["Dose"]) == [150.0, 100.0]
    assert doses["Source"].iloc[0] == "doses.csv row 2" and doses["Source"].iloc[1].startswith("entered by Dr Ada")
    log = next(d.value for d in again.dataframe if "Reviewer" in d.value.columns)
    assert (log.loc[0, "Action"], log.loc[0, "Reviewer"]) == ("reduce", "Dr Ada")
    assert "AZA reduced to 100 mg" in log.loc[0, "Note"]
    assert any(e.label.startswith("#1 ·") for e in again.expander)  # the import log with its report


def test_a_weekly_drug_entered_daily_is_held_until_confirmed(tmp_workspace):
    at = upload(workspace_page(), ("labs.csv", LABS))
    button(at, "Save this panel to the workspace").click().run()
    at.selectbox(key="ws_patient").set_value("002").run()
    at.text_input(key="reviewer_name").set_value("Dr Ada").run()
    at.selectbox(key="dose_drug").set_value("methotrexate")
    at.number_input(key="dose_amount").set_value(15.0)
    at.selectbox(key="dose_frequency").set_value("daily")
    at.date_input(key="dose_start").set_value(dt.date(2024, 1, 1))
    button(at, "Add dose").click().run()
    assert any("once a week" in w.value for w in at.warning)
    assert Workspace(tmp_workspace).info()["doses"] == 0
    at.checkbox(key="dose_confirm").check()
    button(at, "Add dose").click().run()
    assert Workspace(tmp_workspace).info()["doses_entered"] == 1


def test_entries_need_a_name(tmp_workspace):
    at = upload(workspace_page(), ("labs.csv", LABS))
    button(at, "Save this panel to the workspace").click().run()
    at.selectbox(key="review_action").set_value("continue")
    button(at, "Record review").click().run()
    assert any("enter your name" in e.value for e in at.error)
    assert Workspace(tmp_workspace).info()["reviews"] == 0


def test_session_only_uploads_never_reach_another_session(tmp_workspace):
    first = upload(workspace_page(), ("labs.csv", LABS))
    second = workspace_page()
    assert second.session_state["dataset"] is None
    assert [m.value for m in second.metric] == ["0"] * 5
    assert not tmp_workspace.exists()
    # once the first session saves, the second can open the workspace panel
    button(first, "Save this panel to the workspace").click().run()
    second.run()
    button(second, "Open workspace panel").click().run()
    assert len(second.session_state["dataset"].labs) == 3
    # a change made by another session is announced, and a reload shows it
    first.selectbox(key="ws_patient").set_value("001").run()
    first.text_input(key="reviewer_name").set_value("Dr Ada").run()
    first.selectbox(key="review_action").set_value("continue")
    button(first, "Record review").click().run()
    second.run()
    assert any("has changed since this panel was opened" in i.value for i in second.info)
    button(second, "Reload the workspace panel").click().run()
    assert len(second.session_state["workspace_panel"].reviews) == 2  # one per open flag of 001 (issue 18)
    # going back to session only empties this session and writes nothing
    second.radio(key="data_mode").set_value("session").run()
    assert second.session_state["dataset"] is None
    assert Workspace(tmp_workspace).info()["labs"] == 3


def open_tab(at: AppTest, label: str) -> AppTest:
    at.session_state["ws_tab"] = label
    at.run()
    assert not at.exception, at.exception
    return at


def test_export_tab_offers_the_files(tmp_workspace):
    at = upload(workspace_page(), ("labs.csv", LABS))
    assert not at.get("download_button")  # nothing is computed for a tab not shown
    open_tab(at, "Export")
    labels = [b.proto.label for b in at.get("download_button")]
    assert {"Panel (CSV)", "Panel (Excel)", "Patient summary (PDF)"} <= set(labels)


def test_patient_labels_are_the_picker_labels():
    from dashboard import ui
    from tests.support import import_bytes

    result = import_bytes(
        b"patient,sex,diagnosis\n001,F,Lupus nephritis class IV with a long description of it\n002,,\n"
    )
    from dashboard.dataset import Dataset

    ds = Dataset.from_import(result, "x")
    assert ui.patient_labels(ds) == {p: ui.patient_label(ds, p) for p in ds.patient_ids}


def test_the_sample_panel_is_saved_once_with_its_extract_date(tmp_workspace):
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    at.button(key="load_sample").click().run()
    extract = at.session_state["as_of"]
    at.switch_page("pages/workspace.py").run()
    button(at, "Save this panel to the workspace").click().run()
    assert not at.exception and any("Workspace import #1" in s.value for s in at.success)
    info = Workspace(tmp_workspace).info()
    again = workspace_page()
    button(again, "Open workspace panel").click().run()
    assert again.session_state["as_of"] == extract  # the extract date came along
    assert len(again.session_state["dataset"].labs) == info["labs"]
    # saving the same sample again from another session changes nothing
    other = AppTest.from_file(APP, default_timeout=60)
    other.run()
    other.button(key="load_sample").click().run()
    other.switch_page("pages/workspace.py").run()
    button(other, "Save this panel to the workspace").click().run()
    assert any("already imported on" in i.value for i in other.info)
    assert Workspace(tmp_workspace).info() == info


def test_a_flag_is_reviewed_and_can_then_be_hidden(tmp_workspace):
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    at.button(key="load_sample").click().run()
    at.switch_page("pages/workspace.py").run()
    button(at, "Save this panel to the workspace").click().run()
    open_tab(at, "Flags to review")
    flags = shown_panel_flags(at)
    assert len(flags) and not flags["reviewed"].any()
    open_tab(at, "Doses and reviews")
    pid = flags.iloc[0]["patient_id"]
    at.selectbox(key="ws_patient").set_value(pid).run()
    at.text_input(key="reviewer_name").set_value("Dr Ada").run()
    key = flags.iloc[0]["flag_key"]
    at.selectbox(key="review_about").set_value(key)
    at.selectbox(key="review_action").set_value("repeat test")
    at.text_area(key="review_note").set_value("repeat FBC in 2 weeks")
    button(at, "Record review").click().run()
    assert not at.exception
    patient_table = next(d.value for d in at.dataframe if "Rule" in d.value.columns)
    assert list(patient_table["Reviewed"]).count("yes") == 1
    at.toggle(key="hide_acknowledged").set_value(True).run()
    patient_table = next(d.value for d in at.dataframe if "Rule" in d.value.columns)
    assert "yes" not in set(patient_table["Reviewed"])
    open_tab(at, "Flags to review")
    [entry] = Workspace(tmp_workspace).reviews(pid).to_pylist()
    assert entry["flag_key"] == key and entry["rule_id"] == flags.iloc[0]["rule"]
    after = shown_panel_flags(at)
    assert after.set_index("flag_key").loc[key, "reviewed"]
    assert not after.iloc[0]["reviewed"]  # unreviewed flags first
    at.toggle(key="hide_acknowledged_panel").set_value(True).run()
    panel_table = next(d.value for d in at.dataframe if "Patient" in d.value.columns and "Rule" in d.value.columns)
    assert len(panel_table) == len(after) - 1 and "yes" not in set(panel_table["Reviewed"])


def test_the_counts_say_they_are_the_workspace_not_the_session_panel(tmp_workspace):
    """A loaded panel beside "Patients 0" reads as lost data: the heading says the counts are
    of the workspace, and that this session's panel is not in them until saved."""
    at = workspace_page()
    heading = " ".join(m.value for m in at.markdown)
    assert "Saved in the workspace on this machine (nothing saved yet)" in heading
    at = upload(at, ("labs.csv", LABS))
    heading = " ".join(m.value for m in at.markdown)
    assert "this session's panel (2 patients) is not counted here until it is saved" in heading
    assert [m.value for m in at.metric] == ["0"] * 5


def disputed_sex_in_the_workspace(path) -> AppTest:
    """A workspace where two files gave patient 001 different sexes, open in a new session."""
    ws = Workspace(path)
    ws.import_sources([Source("a.csv", b"MRN,Sex\n001,F\n")], by="t")
    labs = b"MRN,Sex,Collection Date,Test,Result,Units\n001,M,2024-05-01,Hb,125,g/L\n"
    ws.import_sources([Source("b.csv", labs)], by="t")
    at = workspace_page()
    button(at, "Open workspace panel").click().run()
    return at


def test_a_workspace_panel_shows_the_identity_conflicts_it_keeps(tmp_workspace):
    """A workspace's panel has no import report: the sex conflict two earlier imports found
    is still said on Home and on the patient's page (it had been shown only in the
    session that imported the second file)."""
    at = disputed_sex_in_the_workspace(tmp_workspace)
    assert not at.exception, at.exception
    at.switch_page("pages/home.py").run()
    conflicts = [e.value for e in at.error if "Identity conflict" in e.value]
    assert len(conflicts) == 1 and "patient 001 has two recorded sexes" in conflicts[0]
    at.session_state["selected_patient"] = "001"
    at.switch_page("pages/patient.py").run()
    assert not at.exception, at.exception
    assert any("patient 001 has two recorded sexes" in e.value for e in at.error)


def test_the_clinician_records_a_disputed_sex_on_the_patient_page(tmp_workspace):
    at = disputed_sex_in_the_workspace(tmp_workspace)
    at.session_state["selected_patient"] = "001"
    at.switch_page("pages/patient.py").run()
    assert not at.exception, at.exception
    at.radio(key="identity_value").set_value("F")
    at.text_input(key="identity_note").set_value("checked with the patient")
    at.text_input(key="identity_by").set_value("Dr Ada")
    button(at, "Record sex").click().run()
    assert not at.exception, at.exception
    assert any("001's sex is F" in s.value and "checked by Dr Ada" in s.value for s in at.success)
    settled = [w.value for w in at.warning if "Identity conflict, settled" in w.value]
    assert len(settled) == 1 and "settled as 'F' by Dr Ada" in settled[0]
    assert not any("Identity conflict" in e.value for e in at.error)
    assert not [r for r in at.radio if r.key == "identity_value"]  # nothing left to settle
    assert open_panel_sex(tmp_workspace) == "F"


def open_panel_sex(path) -> str:
    from dashboard.store.panel import open_panel

    return str(open_panel(Workspace(path)).patients.set_index("patient_id").loc["001", "sex"])


def test_a_sex_disputed_in_this_session_is_recorded_after_saving_the_panel(tmp_workspace):
    at = upload(workspace_page(), ("p.csv", b"MRN,Sex\n001,F\n001,M\n"))
    at.session_state["selected_patient"] = "001"
    at.switch_page("pages/patient.py").run()
    assert any("Identity conflict" in e.value for e in at.error)
    at.radio(key="identity_value").set_value("M")
    at.text_input(key="identity_note").set_value("hospital record")
    at.text_input(key="identity_by").set_value("Dr Ada")
    button(at, "Record sex").click().run()
    assert not at.exception, at.exception
    assert at.session_state["data_mode"] == "workspace"  # the panel was saved first, and that is said
    assert any("Workspace import #1" in s.value and "001's sex is M" in s.value for s in at.success)
    assert open_panel_sex(tmp_workspace) == "M"


def test_a_rejected_result_given_again_later_shows_resolved_on_the_patient_page(tmp_workspace):
    """H126's stored rejections: platelets 'Clotted' rejected at a first import, then
    platelets 180 of the same draw (patient, analyte, draw time) from a later import.  The
    patient's page no longer counts the row as rejected and unresolved, yet says it was
    rejected then, why, and what replaced it; the rejected ALT of that draw stays open."""
    head = b"MRN,Collection Date,Component,Result,Units\n"
    ws = Workspace(tmp_workspace)
    ws.import_sources(
        [
            Source(
                "a.csv",
                head + b"001,2024-04-02 08:15,Platelets,Clotted,10^9/L\n001,2024-04-02 08:15,ALT,x,U/L\n"
                b"001,2024-04-02 08:15,WBC,4.0,10^9/L\n",
            )
        ],
        by="t",
    )
    ws.import_sources([Source("b.csv", head + b"001,2024-04-02 08:15,Platelets,180,10^9/L\n")], by="t")
    at = workspace_page()
    button(at, "Open workspace panel").click().run()
    at.session_state["selected_patient"] = "001"
    at.switch_page("pages/patient.py").run()
    assert not at.exception, at.exception
    [open_note] = [w.value for w in at.warning if "rejected at import" in w.value]
    assert open_note.startswith("**1 row of this patient's files was rejected at import**")
    assert "row 3" in open_note and "row 2" not in open_note
    [resolved] = [i.value.replace("\\", "") for i in at.info if "given again" in i.value]  # as shown (unescaped)
    assert "a.csv (imported " in resolved and "row 2: no numeric result" in resolved
    assert "now 180 10" in resolved and "from b.csv (imported " in resolved


def test_the_import_log_lists_the_results_the_lab_withdrew(tmp_workspace):
    """H537: platelets 40 stored from w1.csv, then w2.csv marks that result 'Entered in
    error': the Import log tab lists it under "Results withdrawn by the lab" with the
    stored copy's file and row and the withdrawing row, so it is never out of sight."""
    ws = Workspace(tmp_workspace)
    head = "MRN,Collection Date,Component,Result,Units,Status\n"
    ws.import_sources([Source("w1.csv", (head + "001,2024-03-15 09:00,Platelets,40,10^9/L,Final\n").encode())], by="t")
    gone = head + "001,2024-03-15 09:00,Platelets,40,10^9/L,Entered in error\n"
    ws.import_sources([Source("w2.csv", gone.encode())], by="t")
    at = open_tab(workspace_page(), "Import log")
    assert [h.value for h in at.subheader if h.value == "Results withdrawn by the lab"]
    [table] = [d.value for d in at.dataframe if "Withdrawn by" in d.value.columns]
    [row] = table.to_dict("records")
    assert (row["Patient"], row["Drawn"], row["Result as stored"]) == ("001", "2024-03-15 09:00", "40 10^9/L")
    assert row["Stored from"].startswith("w1.csv row 2") and row["Withdrawn by"] == "w2.csv row 2: 'Entered in error'"


def test_the_clinician_records_a_disputed_date_of_birth_on_the_patient_page(tmp_workspace):
    """H607: two files give patient 001 the dates 2016-05-01 and 1976-05-01; the rules use
    neither (H553).  The clinician who checked records 1976-05-01 on the Patient page: it
    is kept in the workspace, used (the panel's birth date), and nothing is left to settle."""
    ws = Workspace(tmp_workspace)
    ws.import_sources([Source("a.csv", b"MRN,Date of birth\n001,2016-05-01\n")], by="t")
    labs = b"MRN,Date of birth,Collection Date,Test,Result,Units\n001,1976-05-01,2024-05-01,WBC,3.7,10^9/L\n"
    ws.import_sources([Source("b.csv", labs)], by="t")
    at = workspace_page()
    button(at, "Open workspace panel").click().run()
    at.session_state["selected_patient"] = "001"
    at.switch_page("pages/patient.py").run()
    assert not at.exception, at.exception
    at.radio(key="identity_value_birth_date").set_value("1976-05-01")
    at.text_input(key="identity_note_birth_date").set_value("hospital record")
    at.text_input(key="identity_by_birth_date").set_value("Dr Ada")
    button(at, "Record date of birth").click().run()
    assert not at.exception, at.exception
    assert any("001's date of birth is 1976-05-01" in s.value for s in at.success)
    assert not [r for r in at.radio if r.key == "identity_value_birth_date"]  # nothing left to settle
    from dashboard.store.panel import open_panel

    born = open_panel(Workspace(tmp_workspace)).patients.set_index("patient_id").loc["001", "birth_date"]
    assert str(born)[:10] == "1976-05-01"
