"""The Home page (AppTest): upload, import report, date-order choice, manual mapping."""

from streamlit.testing.v1 import AppTest

from tests.support import ROOT

APP = str(ROOT / "streamlit_app.py")
LABS = b"MRN,Collection Date,Component,Result,Units\n001,15/03/2024,WBC,3.2,K/uL\n001,15/03/2024,Hb,pending,g/dL\n"
AMBIGUOUS = b"id,date,test,value,unit\np1,01/02/2024,WBC,4,10^9/L\np1,03/04/2024,WBC,5,10^9/L\n"
ODD = b"Nummer,Wann,Was,Zahl,Einheit\np1,2024-01-02,WBC,4,10^9/L\n"


def app() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    assert not at.exception
    return at


def upload(at: AppTest, name: str, data: bytes) -> AppTest:
    at.file_uploader(key="upload_files").set_value([(name, data, "text/csv")])
    at.run()
    assert not at.exception
    return at


def test_empty_state_offers_the_sample_and_the_uploader():
    at = app()
    assert [b.label for b in at.button] == ["Load sample panel"]
    assert at.file_uploader(key="upload_files") is not None
    assert any("Load the sample panel or upload files" in i.value for i in at.info)
    assert any("Decision support only" in c.value for c in at.caption)


def test_upload_shows_the_report_and_the_data():
    at = upload(app(), "labs.csv", LABS)
    summary = at.dataframe[0].value
    assert summary.loc[0, "File"] == "labs.csv"
    assert (summary.loc[0, "Rows read"], summary.loc[0, "Accepted"], summary.loc[0, "Rejected"]) == (2, 1, 1)
    assert summary.loc[0, "Status"] == "ok"
    rejected = next(d.value for d in at.dataframe if "Reason" in d.value.columns)
    assert rejected.loc[0, "Row"] == 3 and "pending" in rejected.loc[0, "Reason"]
    [results] = [d.value for d in at.dataframe if "Collected" in d.value.columns]
    assert results.iloc[0]["WBC (×10⁹/L)"] == "3.2"
    assert at.session_state["dataset"].label == "labs.csv"


def test_ambiguous_dates_ask_for_the_order():
    at = upload(app(), "amb.csv", AMBIGUOUS)
    assert any("day-first or month-first" in w.value for w in at.warning)
    at.radio(key="date_order_choice").set_value("monthfirst")
    at.run()
    at.button(key="apply_date_order").click()
    at.run()
    assert not at.exception
    ds = at.session_state["dataset"]
    assert list(ds.labs["collected_at"].dt.strftime("%Y-%m-%d")) == ["2024-01-02", "2024-03-04"]


def test_unrecognised_columns_can_be_mapped_by_hand():
    at = upload(app(), "odd.csv", ODD)
    assert any("Columns found" in e.value for e in at.error)
    for col, target in {
        "Nummer": "patient_id",
        "Wann": "collected_at",
        "Was": "analyte",
        "Zahl": "value",
        "Einheit": "unit",
    }.items():
        # issue 16: the mapping widgets are keyed by upload, not by file name (found by label)
        (box,) = [b for b in at.selectbox if b.label == col]
        box.set_value(target)
    at.button[-1].click()
    at.run()
    assert not at.exception
    assert len(at.session_state["dataset"].labs) == 1


def test_two_files_of_the_same_name_in_one_upload_are_both_reported():
    """Next month's labs.csv beside this month's: a duplicate widget key crashed Home."""
    next_month = LABS.replace(b"15/03/2024", b"15/04/2024")
    odd_twice = ODD.replace(b"p1", b"p2")
    at = app()
    at.file_uploader(key="upload_files").set_value(
        [
            ("labs.csv", LABS, "text/csv"),
            ("labs.csv", next_month, "text/csv"),
            ("odd.csv", ODD, "text/csv"),
            ("odd.csv", odd_twice, "text/csv"),
        ]
    )
    at.run()
    assert not at.exception
    summary = at.dataframe[0].value
    assert list(summary["File"]) == ["labs.csv", "labs.csv", "odd.csv", "odd.csv"]
    assert list(summary["Accepted"][:2]) == [1, 1] and list(summary["Rejected"][:2]) == [1, 1]
    downloads = [b for b in at.get("download_button") if "rejected" in str(b.proto.label).lower()]
    assert len(downloads) >= 2  # one per file with rejected rows, each with its own key
    mapping_forms = [f for f in at.get("form") if f.proto.form.form_id.startswith("mapping::")]
    assert len(mapping_forms) == 2  # a mapping form per unmapped file (the others have a "change" form)


def test_a_new_upload_does_not_inherit_the_mapping_choices_of_the_last():
    at = upload(app(), "odd.csv", ODD)
    (box,) = [b for b in at.selectbox if b.label == "Nummer"]
    box.set_value("patient_id")
    at.run()
    at = upload(at, "odd.csv", ODD.replace(b"p1", b"p3"))
    (box,) = [b for b in at.selectbox if b.label == "Nummer"]
    assert box.value == "(leave)"


def test_a_file_rejected_whole_counts_its_rows_and_says_whole_file():
    """A file held for a date-order choice rejects every row with one reason: the heading
    counts the rows (as the summary does), and the reason's row reads "whole file", not None."""
    at = upload(app(), "amb.csv", AMBIGUOUS)
    summary = at.dataframe[0].value
    assert summary.loc[0, "Rejected"] == 2
    headings = [m.value for m in at.markdown]
    assert "**Rejected: 2 rows (1 reason below)**" in headings
    rejected = next(d.value for d in at.dataframe if "Reason" in d.value.columns)
    assert list(rejected["Row"]) == ["whole file"]


def test_rejected_rows_keep_their_row_numbers():
    at = upload(app(), "labs.csv", LABS)
    assert "**Rejected: 1 row**" in [m.value for m in at.markdown]


def test_a_files_notes_are_counted_in_the_summary_and_on_its_section():
    """A note (here: a WBC of 4 without a unit, read as x10^9/L from its magnitude) is easy
    to miss inside a closed section: the summary counts each file's notes, and the
    section's title says how many there are to read."""
    at = upload(app(), "labs.csv", b"MRN,Collection Date,Component,Result,Units\n001,15/03/2024,WBC,4,\n")
    summary = at.dataframe[0].value
    report = at.session_state["dataset"].report.files[0]
    assert report.warnings and summary.loc[0, "Notes"] == len(report.warnings)
    n = len(report.warnings)
    titles = [e.label for e in at.expander]
    assert any(t.endswith(f"· {n} note{'' if n == 1 else 's'} to read") for t in titles), titles
