"""AppTest of the Compare page (through the router, as a user reaches it)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pandas as pd
from streamlit.testing.v1 import AppTest

from dashboard import knowledge, model, ui
from dashboard.dataset import Dataset

ROOT = Path(__file__).resolve().parents[2]


TRIO = ["azathioprine", "mycophenolate mofetil", "cyclophosphamide (Euro-Lupus)"]


def _app(session: dict | None = None) -> AppTest:
    at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=60)
    for key, value in (session or {}).items():
        at.session_state[key] = value
    at.run()
    at.switch_page("pages/compare.py").run()
    assert not at.exception
    return at


def _charts(at: AppTest) -> list[dict]:
    return [json.loads(c.proto.spec) for c in at.get("plotly_chart")]


def _frame(at: AppTest, column: str) -> pd.DataFrame:
    return next(d.value for d in at.dataframe if column in d.value.columns)


def test_default_comparison_without_a_panel():
    at = _app()
    assert at.multiselect(key="compare_drugs").value == TRIO
    table = at.table[0].value
    labels = [knowledge.drugs()[i].label for i in TRIO]
    assert list(table.columns) == ["Group", *labels, "Differs"]
    assert table.loc["Pregnancy", "Azathioprine"].startswith("Compatible with limits [")
    assert table.loc["Pregnancy", "Differs"] == "≠ differs"
    refs = _frame(at, "Reference")
    assert refs["No."].tolist() == list(range(1, len(refs) + 1))
    scatter, heatmap = _charts(at)
    assert sorted(t for trace in scatter["data"] for t in trace["text"]) == sorted(
        e.short for e in knowledge.drugs().values()
    )
    assert heatmap["data"][0]["type"] == "heatmap"
    ladder = _frame(at, "Step")
    assert len(ladder) == len(knowledge.scales().tiers)
    at.toggle(key="compare_notes").set_value(True).run()
    assert "at least 6 weeks before conception" in at.table[0].value.loc["Pregnancy", labels[1]]


def test_selection_filters_and_steroid_converter():
    at = _app()
    at.multiselect(key="compare_drugs").set_value(["azathioprine", "hydroxychloroquine"]).run()
    assert set(at.table[0].value.columns) == {"Group", "Azathioprine", "Hydroxychloroquine", "Differs"}

    at.checkbox(key="compare_filter_pregnancy").check().run()
    overview = _frame(at, "Potency tier")
    expected = [e.label for e in knowledge.drugs().values() if e.pregnancy in knowledge.PREGNANCY_COMPATIBLE]
    assert overview["Drug"].tolist() == expected
    scatter = _charts(at)[0]
    assert len([t for trace in scatter["data"] for t in trace["text"]]) == len(expected)

    at.number_input(key="compare_steroid_dose").set_value(40.0).run()
    steroids = _frame(at, "Glucocorticoid")
    column = "Equivalent of 40 mg prednisone (mg)"
    assert dict(zip(steroids["Glucocorticoid"], steroids[column], strict=True))["Methylprednisolone"] == 32.0

    at.multiselect(key="compare_drugs").set_value(["azathioprine"]).run()
    assert not at.exception
    assert any("at least two" in i.value for i in at.info)
    assert len(at.table) == 0


def _panel() -> Dataset:
    doses = pd.DataFrame(
        {
            "patient_id": ["P1", "P1", "P1"],
            "drug": ["azathioprine", "hydroxychloroquine", "prednisone"],
            "start": pd.to_datetime(["2025-01-01", "2024-01-01", "2025-01-01"]),
            "end": pd.to_datetime([None, None, "2025-03-01"]),
            "dose": [100.0, 200.0, 10.0],
        }
    )
    patients = pd.DataFrame({"patient_id": ["P1"], "sex": ["F"], "diagnosis": ["Lupus nephritis class IV"]})
    return Dataset(
        labs=model.empty_frame("labs"),
        doses=model.to_pandas("doses", model.from_pandas("doses", doses)),
        patients=model.to_pandas("patients", model.from_pandas("patients", patients)),
        label="test panel",
    )


def test_preselects_the_current_drugs_of_the_selected_patient():
    at = _app({ui.DATASET: _panel(), ui.PATIENT: "P1", ui.AS_OF: dt.date(2025, 6, 1)})
    # prednisone ended on 1 March, so only the two current drugs are preselected
    assert at.multiselect(key="compare_drugs").value == ["azathioprine", "hydroxychloroquine"]
    assert any("selected patient's current drugs" in c.value for c in at.caption)


def test_key_instruction_key_points_and_ordering_basis_are_visible_without_a_toggle():
    """Issue 17: the default trio shows, with no toggle switched on, the mycophenolate and
    cyclophosphamide pregnancy instructions, azathioprine's key points (prodrug of 6-MP,
    fewer side effects than cyclophosphamide) and the evidence behind the potency ordering."""
    at = _app()
    warnings = " ".join(w.value for w in at.warning)
    assert "at least 6 weeks before conception" in warnings and "Cyclophosphamide IV, Euro-Lupus" in warnings
    assert "Azathioprine:" not in warnings
    text = " ".join(m.value for m in at.markdown)
    assert "6-mercaptopurine" in text and "fewer side effects" in text and "weakness" in text
    evidence = _frame(at, "What it shows for the ordering")
    assert any(evidence["Evidence"].str.startswith("MAINTAIN"))
    table = at.table[0].value
    assert "Teratogenicity (harm to an unborn child)" in table.index


def test_the_interaction_advice_is_readable_in_full_below_its_table():
    """At 1400 px the table cut "What to do" off mid-sentence ("...methotrexate's bone marr"):
    each interaction of the compared drugs is also written out in full below it."""
    at = _app()
    at.multiselect(key="compare_drugs").set_value(["hydroxychloroquine", "methotrexate"]).run()
    assert not at.exception
    text = " ".join(m.value for m in at.markdown).replace("\\", "")
    assert "**Methotrexate with trimethoprim or co-trimoxazole: avoid where possible** (action)." in text
    assert "check the full blood count. Source: Medsafe Prescriber Update 43(1), March 2022 [medsafe_mtx_tmp]" in text
