"""Safe defaults (issue 18): the browser speaks in words and buttons, forms start empty,
nothing is interpreted before input, weekly drugs read in mg/week."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from dashboard.views import amount_text, browser_words
from tests.support import ROOT

APP = str(ROOT / "streamlit_app.py")
AMBIGUOUS = b"id,date,test,value,unit\np1,01/02/2024,WBC,4,10^9/L\np1,03/04/2024,WBC,5,10^9/L\n"
ODD = b"Nummer,Wann,Was,Zahl,Einheit\np1,2024-01-02,WBC,4,10^9/L\n"


def texts(at: AppTest) -> str:
    parts = []
    for kind in ("markdown", "caption", "info", "warning", "error", "success"):
        parts += [str(e.value) for e in at.get(kind)]
    for df in at.dataframe:
        parts.append(df.value.to_csv())
    return "\n".join(parts)


def upload(name: str, data: bytes) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    at.file_uploader(key="upload_files").set_value([(name, data, "text/csv")])
    at.run()
    assert not at.exception
    return at


def test_import_messages_name_no_command_line_option():
    for at in (upload("amb.csv", AMBIGUOUS), upload("odd.csv", ODD)):
        shown = texts(at)
        assert "--dayfirst" not in shown and "--monthfirst" not in shown and "--map" not in shown
    assert "choose the date order below" in texts(upload("amb.csv", AMBIGUOUS))
    assert "Say what each column holds in the form below" in texts(upload("odd.csv", ODD))


def test_browser_words():
    assert browser_words("settle it (--dayfirst or --monthfirst)") == "settle it (choose the date order below)"
    assert browser_words("value '--' or a-b--c") == "value '--' or a-b--c"  # data is left alone


def test_the_metabolite_tab_interprets_nothing_before_input():
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    at.switch_page("pages/dosing.py").run()
    assert at.number_input(key="met_tgn").value is None and at.number_input(key="met_mmp").value is None
    alerts = " ".join(str(e.value) for kind in ("success", "warning", "error") for e in at.get(kind))
    assert "**Therapeutic" not in alerts and "6-TGN" not in alerts  # no pattern named before the results
    assert any("Enter the patient's 6-TGN and 6-MMP results" in i.value for i in at.info)


def test_weekly_drugs_read_per_week():
    # methotrexate 15 mg once a week: mg_per_day 15/7 = 2.142857..., shown as the weekly amount
    assert amount_text(15 / 7, 15.0) == "15 mg/week"
    assert amount_text(150.0, float("nan")) == "150 mg/day"
    assert amount_text(float("nan"), float("nan")) == ""
