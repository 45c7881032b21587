"""Issue 15 item 4 in the browser (AppTest): every column choice the import made by
itself can be changed on the Home page, and the order-date note is shown."""

from __future__ import annotations

import pandas as pd
from streamlit.testing.v1 import AppTest

from tests.support import ROOT

APP = str(ROOT / "streamlit_app.py")
EPIC = (
    b"MRN,Order Date,Result Date,Component,Value,Units\n"
    b"00012345,2024-03-01 08:10,2024-03-05 16:42,NEUTROPHILS ABSOLUTE,0.8,K/uL\n"
    b"00012345,2024-02-01 09:00,2024-02-01 15:00,NEUTROPHILS ABSOLUTE,2.9,K/uL\n"
)


def test_an_automatic_column_choice_can_be_changed():
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    at.file_uploader(key="upload_files").set_value([("epic.csv", EPIC, "text/csv")])
    at.run()
    assert not at.exception
    ds = at.session_state["dataset"]
    assert ds.report.files[0].mapping["collected_at"] == "Order Date"
    assert any("Order Date" in w.message and "draw date" in w.message for w in ds.report.files[0].warnings)
    assert set(ds.labs["collected_at"]) == {pd.Timestamp("2024-03-01 08:10"), pd.Timestamp("2024-02-01 09:00")}

    def column_box(label: str):  # the widget keys name the upload, not the file: find by label
        return next(b for b in at.selectbox if b.label == label)

    box = column_box("Result Date")
    assert box.format_func("(leave)") == "as imported: not used"
    assert column_box("Order Date").format_func("(leave)") == "as imported: collected_at"
    box.set_value("collected_at")
    column_box("Order Date").set_value("ignore")
    submit = next(b for b in at.button if b.label == "Import with this mapping")
    submit.click()
    at.run()
    assert not at.exception
    ds = at.session_state["dataset"]
    assert ds.report.files[0].mapping["collected_at"] == "Result Date"
    assert set(ds.labs["collected_at"]) == {pd.Timestamp("2024-03-05 16:42"), pd.Timestamp("2024-02-01 15:00")}
