"""The timeline figure, asserted on fig.to_dict()."""

import datetime as dt
import itertools

import pandas as pd
import pytest

from dashboard import model
from dashboard.dataset import Dataset
from dashboard.figures.timeline import EPISODE_BAR, GRADE_STYLE, TimelineOptions, timeline_figure, timeline_spec
from dashboard.rules import get_profile, review_dataset
from tests.support import import_text, timeline_dict

AS_OF = dt.date(2024, 6, 1)

LABS = """patient,date,test,value,unit,range
P1,2024-01-02,WBC,6.0,10^9/L,4.0-11.0
P1,2024-01-02,Neutrophils,4.0,10^9/L,2.0-7.5
P1,2024-02-01,WBC,3.1,10^9/L,4.0-11.0
P1,2024-02-01,Neutrophils,0.8,10^9/L,2.0-7.5
P1,2024-02-15,WBC,1.5,10^9/L,4.0-11.0
P1,2024-02-15,Neutrophils,<0.4,10^9/L,2.0-7.5
P1,2024-03-15,WBC,5.5,10^9/L,4.0-11.0
P1,2024-03-15,Neutrophils,3.2,10^9/L,2.0-7.5
P1,2024-03-15,Hb,12.5,g/dL,12.0-16.0
"""
DOSES = """patient,drug,dose,unit,frequency,route,start,end
P1,Imuran,100,mg,daily,oral,2023-12-01,2024-01-15
P1,Imuran,150,mg,daily,oral,2024-01-15,2024-02-16
P1,Imuran,50,mg,daily,oral,2024-03-01,
P1,Methotrexate,15,mg,weekly,sc,2023-12-01,
P1,Cytoxan,500,mg,every 2 weeks,IV,2024-04-01,2024-05-10
"""
PATIENTS = "patient,sex,weight_kg\nP1,F,60\n"


@pytest.fixture(scope="module")
def built():
    from dashboard.ingest import ImportOptions, Source, import_sources

    r = import_sources(
        [
            Source("labs.csv", LABS.encode()),
            Source("doses.csv", DOSES.encode()),
            Source("patients.csv", PATIENTS.encode()),
        ],
        ImportOptions(today=dt.date(2026, 1, 1)),
    )
    ds = Dataset.from_import(r, "t")
    rv = review_dataset(ds, None, AS_OF)
    return ds, rv


def fig_of(built, **opts):
    ds, rv = built
    return timeline_dict(ds, rv, AS_OF, **opts)


def traces(d, name_start):
    return [t for t in d["data"] if str(t.get("name", "")).startswith(name_start)]


def test_one_panel_per_analyte_under_the_dose_lanes(built):
    d = fig_of(built)
    titles = [a["text"] for a in d["layout"]["annotations"] if a.get("yref") == "paper" or "text" in a]
    assert "Doses" in titles
    assert any(t.startswith("WBC") for t in titles) and any(t.startswith("Neutrophils") for t in titles)
    assert any(t.startswith("Hb (g/L)") for t in titles)


def test_dose_lanes_are_step_lines_and_pulses_markers(built):
    d = fig_of(built)
    lines = [t for t in d["data"] if t.get("mode") == "lines" and t.get("line", {}).get("shape") == "hv"]
    assert {t["name"] for t in lines} == {"Azathioprine", "Methotrexate"}
    labels = [x for t in d["data"] if t.get("mode") == "text" for x in t["text"]]
    assert "100 mg/d" in labels and "150 mg/d" in labels and "50 mg/d" in labels and "15 mg/wk" in labels
    [pulses] = traces(d, "Cyclophosphamide (pulses)")
    assert len(pulses["x"]) == 3  # 1, 15 and 29 April; the course ends 10 May
    assert pulses["marker"]["symbol"] == "triangle-up"
    aza = next(t for t in lines if t["name"] == "Azathioprine")
    assert any("mg/kg/day" in h for h in aza["customdata"])  # weight known: mg/kg/day in the hover


def test_a_dose_in_force_before_the_window_is_labelled_at_its_left_edge(built):
    # Imuran 100 mg/day and methotrexate 15 mg/week started 2023-12-01; the period
    # "6 months" opens 182 days before the as-of date 2024-06-01, on 2023-12-02: their
    # amounts are written at the edge.  ("All" now opens before the first dose, probe43 F4.)
    d = fig_of(built, window="6 months")
    left = d["layout"]["xaxis"]["range"][0]
    labels = {
        text: str(x)[:10]
        for t in d["data"]
        if t.get("mode") == "text"
        for x, text in zip(t["x"], t["text"], strict=True)
    }
    assert str(left)[:10] == "2023-12-02"
    assert labels["100 mg/d"] == "2023-12-02" and labels["15 mg/wk"] == "2023-12-02"
    assert labels["150 mg/d"] == "2024-01-15"  # a change inside the window keeps its own date


def test_the_period_all_opens_before_the_first_dose_as_well_as_the_first_result(built):
    # first dose 2023-12-01, first result 2024-01-02: "All" opens 30 days before the dose
    d = fig_of(built)
    assert str(d["layout"]["xaxis"]["range"][0])[:10] == "2023-11-01"


def test_left_margin_fits_the_longest_drug_name(built):
    d = fig_of(built)
    # "Cyclophosphamide" (16 characters) is the longest lane label of the fixture
    assert d["layout"]["margin"]["l"] >= 7 * len("Cyclophosphamide")
    assert not d["layout"]["yaxis"].get("automargin")  # no second layout pass in the browser


def test_points_are_coloured_and_shaped_by_grade(built):
    d = fig_of(built)
    for _grade, (colour, symbol, label) in GRADE_STYLE.items():
        for t in traces(d, label):
            sym = t["marker"]["symbol"]
            assert sym in (symbol, symbol + "-open")
            assert t["marker"]["color"] == colour
    grade4 = traces(d, "grade 4")
    assert grade4, "neutrophils 0.8 -> grade 3 and <0.4 -> grade 4"
    # the censored "<0.4" is an open marker at its bound
    [censored] = [t for t in grade4 if t["marker"]["symbol"].endswith("-open")]
    assert censored["y"] == [0.4]
    assert GRADE_STYLE[3][1] != GRADE_STYLE[4][1] != GRADE_STYLE[2][1]


def test_reference_band_limit_lines_and_dose_change_marks(built):
    d = fig_of(built)
    shapes = d["layout"]["shapes"]
    bands = [s for s in shapes if s["type"] == "rect" and s.get("fillcolor", "").startswith("rgba(0, 158, 115")]
    assert any((s["y0"], s["y1"]) == (4.0, 11.0) for s in bands)  # the lab's WBC range
    limits = [s for s in shapes if s["type"] == "line" and s.get("line", {}).get("dash") == "dash"]
    assert {s["y0"] for s in limits} >= {3.5, 1.6}
    marks = [s for s in shapes if s["type"] == "line" and s.get("line", {}).get("dash") == "dot"]
    starts_and_stops = {"2023-12-01", "2024-01-15", "2024-02-16", "2024-03-01", "2024-04-01", "2024-05-10"}
    assert {str(s["x0"])[:10] for s in marks} == starts_and_stops
    assert all(s["yref"] == "paper" and (s["y0"], s["y1"]) == (0, 1) for s in marks)
    # issue 18: a flag episode is a thin bar along the foot of its panel, not a block over the data
    shaded = [s for s in shapes if s["type"] == "rect" and str(s.get("name", "")).startswith("open:")]
    assert shaded, "open flag intervals are drawn"
    assert all((s["y0"], s["y1"]) == (0, EPISODE_BAR) and s["yref"].endswith("domain") for s in shaded)


def test_hover_has_value_grade_rule_source_and_doses(built):
    d = fig_of(built)
    hovers = [h.replace("<br>", " ") for t in traces(d, "grade 3") for h in t["customdata"]]
    [h] = [h for h in hovers if "Neutrophils" in h]
    assert "0.8" in h and "CTCAE v5.0 grade <b>3</b>" in h
    assert "BSR 2017" in h and "1.6" in h
    assert "Azathioprine 150 mg/day (2.50 mg/kg/day)" in h
    assert "within 12 weeks of an increase" in h
    hb = [h for t in d["data"] if t.get("customdata") is not None for h in t["customdata"] if "Hb" in str(h)]
    assert any("as reported: 12.5 g/dL" in h for h in hb)


def test_units_toggle_converts_values_bands_and_limits(built):
    d = fig_of(built, system="US")
    titles = [a["text"] for a in d["layout"]["annotations"]]
    assert "Hb (g/dL)" in titles and "WBC (K/µL)" in titles
    hb = [t for t in d["data"] if t.get("mode") == "lines" and t.get("yaxis") == "y4"]
    assert hb and hb[0]["y"] == [12.5]


def test_window_sets_the_range(built):
    d = fig_of(built, window="3 months")
    start, _end = d["layout"]["xaxis"]["range"]
    assert pd.Timestamp(start) == pd.Timestamp(AS_OF) - pd.Timedelta(days=91)
    # issue 18: one period selector, the page's; the chart has no 3m/6m/1y buttons of its own
    assert "rangeselector" not in d["layout"]["xaxis"]


def test_data_text_is_escaped_in_hovers():
    r = import_text('patient,date,test,value,unit\n"<img src=x onerror=alert(1)>",2024-01-02,WBC,3.0,10^9/L\n')
    ds = Dataset.from_import(r, "x")
    rv = review_dataset(ds, None, AS_OF)
    pid = ds.patient_ids[0]
    one = ds.for_patient(pid)
    d = timeline_figure(
        one.labs, one.doses, rv.flags_df(), rv.intervals_df(), get_profile(None), one.patients.iloc[0]
    ).to_dict()
    text = str(d)
    assert "<img" not in text


@pytest.mark.parametrize(
    "opts", [{}, {"window": "3 months", "system": "US"}, {"analytes": ("hemoglobin", "wbc", "creatinine")}]
)
def test_the_spec_the_page_draws_is_the_figure(built, opts):
    """The Patient page draws timeline_spec (no figure object built and copied back):
    it is exactly timeline_figure's to_dict(), plotly's default template included."""
    import plotly.io as pio

    ds, rv = built
    one = ds.for_patient("P1")
    args = (one.labs, one.doses, rv.flags_df(), rv.intervals_df(), get_profile(None), one.patients.iloc[0])
    spec = timeline_spec(*args, TimelineOptions(as_of=AS_OF, **opts))
    fig = timeline_figure(*args, TimelineOptions(as_of=AS_OF, **opts)).to_dict()
    assert spec == fig
    assert spec["layout"]["template"] == fig["layout"]["template"] and spec["layout"]["template"]
    assert pio.from_json(pio.to_json(spec, validate=False)).to_dict() == pio.from_json(pio.to_json(fig)).to_dict()


def test_analytes_on_demand(built):
    d = fig_of(built, analytes=("hemoglobin",))
    titles = [a["text"] for a in d["layout"]["annotations"]]
    assert "Hb (g/L)" in titles and not any(t.startswith("WBC") for t in titles)
    assert model.analyte_label("hemoglobin") == "Hb"


def test_every_property_is_valid_plotly(built):
    """The figure is assembled without validation for speed: here it must pass strict validation."""
    import plotly.graph_objects as go

    d = fig_of(built)
    go.Figure(d)  # raises on any property plotly does not know
    assert len(d["data"]) > 5


def test_a_patient_without_doses_says_so_in_the_dose_lane():
    import plotly.graph_objects as go

    ds = Dataset.from_import(import_text("patient,date,test,value,unit\nP9,2024-01-02,WBC,3.0,10^9/L\n"), "x")
    rv = review_dataset(ds, None, AS_OF)
    one = ds.for_patient("P9")
    d = timeline_figure(
        one.labs, one.doses, rv.flags_df(), rv.intervals_df(), get_profile(None), one.patients.iloc[0]
    ).to_dict()
    note = [a for a in d["layout"]["annotations"] if a["text"].startswith("No doses recorded")]
    assert len(note) == 1 and (note[0]["xref"], note[0]["yref"]) == ("x domain", "y domain")
    assert d["layout"]["annotations"][0]["text"] == "Doses"
    # the lane is drawn (plotly drops annotations of a subplot without traces) on a date axis
    assert any(t["xaxis"] == "x" and t["yaxis"] == "y" for t in d["data"])
    assert d["layout"]["xaxis"]["type"] == "date"
    go.Figure(d)  # valid plotly


def test_a_patient_with_doses_has_no_such_note(built):
    assert not any(a["text"].startswith("No doses") for a in fig_of(built)["layout"]["annotations"])


TAPER = """patient,drug,dose,unit,frequency,route,start,end
P1,Prednisone,60,mg,daily,oral,2024-01-01,2024-01-08
P1,Prednisone,50,mg,daily,oral,2024-01-08,2024-01-15
P1,Prednisone,40,mg,daily,oral,2024-01-15,2024-01-22
P1,Prednisone,30,mg,daily,oral,2024-01-22,2024-01-29
P1,Prednisone,25,mg,daily,oral,2024-01-29,2024-02-05
P1,Prednisone,20,mg,daily,oral,2024-02-05,2024-02-12
P1,Prednisone,15,mg,daily,oral,2024-02-12,2024-02-19
P1,Prednisone,10,mg,daily,oral,2024-02-19,2024-03-18
P1,Prednisone,7.5,mg,daily,oral,2024-03-18,2024-04-15
P1,Prednisone,5,mg,daily,oral,2024-04-15,
P1,Cytoxan,750,mg,every 2 weeks,IV,2024-01-01,2024-03-15
"""


def test_a_taper_and_pulses_never_overlap_their_labels():
    """Issue 18: a prednisone taper is a step line with a few labels, none running into the
    next; cyclophosphamide pulses are markers with the dose in the hover only."""
    from dashboard.ingest import ImportOptions, Source, import_sources

    r = import_sources(
        [Source("labs.csv", LABS.encode()), Source("doses.csv", TAPER.encode())],
        ImportOptions(today=dt.date(2026, 1, 1)),
    )
    ds = Dataset.from_import(r, "t")
    rv = review_dataset(ds, None, AS_OF)
    one = ds.for_patient("P1")
    d = timeline_figure(
        one.labs, one.doses, rv.flags_df(), rv.intervals_df(), get_profile(None), None, TimelineOptions(as_of=AS_OF)
    ).to_dict()
    start, end = (pd.Timestamp(x) for x in d["layout"]["xaxis"]["range"])
    [labels] = [t for t in d["data"] if t.get("mode") == "text"]
    xs = [pd.Timestamp(x) for x in labels["x"]]
    assert 2 <= len(xs) < 10  # ten steps, a few labels
    # each label ends (5.6 px a character + 8 px on a 620-px plot) before the next begins
    widths = [(end - start) * (5.6 * len(t) + 8) / 620 for t in labels["text"]]
    assert all(b - a >= w for (a, b), w in zip(itertools.pairwise(xs), widths, strict=False))
    assert labels["text"][-1] == "5 mg/d"  # the dose in force is always labelled
    [pulses] = traces(d, "Cyclophosphamide (pulses)")
    assert pulses["mode"] == "markers" and "text" not in pulses
    assert all("750 mg" in h for h in pulses["customdata"])  # the dose of each pulse is in its hover


def test_guideline_limits_are_labelled_beside_the_plot_not_over_the_results(built):
    d = fig_of(built)
    labels = [a for a in d["layout"]["annotations"] if str(a.get("text", "")).startswith(("< ", "> "))]
    assert {a["text"].split("<br>")[0] for a in labels} >= {"< 3.5", "< 1.6"}
    assert all((a["x"], a["xanchor"]) == (1, "left") and a["xref"].endswith("domain") for a in labels)
    assert d["layout"]["margin"]["r"] >= 100  # room for "< 1.6" over "BSR 2017"


def test_a_result_after_the_as_of_date_is_drawn_apart_and_never_off_the_edge():
    """As of 1 June 2024, a neutrophil count of 0.3 drawn on 1 Sep 2024 (grade 4 were it
    reviewed) is not reviewed: a grey ring named so, never a blue "grade 0" dot; the
    range runs a fortnight past it (not 14 days past the as-of date, which cut it off);
    a dotted line marks the as-of date."""
    labs = "patient,date,test,value,unit\nP1,2024-05-01,Neutrophils,3.0,10^9/L\nP1,2024-09-01,Neutrophils,0.3,10^9/L\n"
    ds = Dataset.from_import(import_text(labs), "t")
    rv = review_dataset(ds, None, AS_OF)
    one = ds.for_patient("P1")
    d = timeline_figure(
        one.labs, one.doses, rv.flags_df(), rv.intervals_df(), get_profile(None), None, TimelineOptions(as_of=AS_OF)
    ).to_dict()
    [later] = traces(d, "after the as-of date")
    assert [pd.Timestamp(x) for x in later["x"]] == [pd.Timestamp("2024-09-01")] and later["y"] == [0.3]
    assert later["marker"]["symbol"] == "circle-open-dot"
    [earlier] = traces(d, "grade 0")
    assert [pd.Timestamp(x) for x in earlier["x"]] == [pd.Timestamp("2024-05-01")]
    assert pd.Timestamp(d["layout"]["xaxis"]["range"][1]) == pd.Timestamp("2024-09-15")
    [line] = [s for s in d["layout"]["shapes"] if s.get("name") == "as of"]
    assert pd.Timestamp(line["x0"]) == pd.Timestamp(AS_OF)
    assert any(a["text"] == "as of 01 Jun 2024" for a in d["layout"]["annotations"])


def test_no_as_of_line_when_nothing_lies_after_it(built):
    d = fig_of(built)
    assert not [s for s in d["layout"]["shapes"] if s.get("name") == "as of"]
    assert not traces(d, "after the as-of date")
