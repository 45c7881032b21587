"""Compare figures, asserted on ``fig.to_dict()``."""

from __future__ import annotations

from dashboard import compare, knowledge
from dashboard.figures.compare import (
    GRADE_COLOURS,
    OKABE_ITO,
    PREGNANCY_STYLE,
    potency_burden_scatter,
    side_effect_heatmap,
)


def _scatter():
    return potency_burden_scatter(compare.burden_points()).to_dict()


def test_scatter_has_one_labelled_marker_per_drug():
    fig = _scatter()
    texts = [t for trace in fig["data"] for t in trace["text"]]
    assert sorted(texts) == sorted(e.short for e in knowledge.drugs().values())
    by_short = {}
    for trace in fig["data"]:
        for x, y, t in zip(trace["x"], trace["y"], trace["text"], strict=True):
            by_short[t] = (x, y)
    for e in knowledge.drugs().values():
        x, y = by_short[e.short]
        assert y == e.burden
        assert abs(x - e.potency) < 0.2
    # Rituximab and obinutuzumab share a point: the jitter keeps both visible.
    assert by_short["RTX"][1] == by_short["OBI"][1]
    assert by_short["RTX"][0] != by_short["OBI"][0]


def test_scatter_encodes_pregnancy_by_colour_and_shape():
    fig = _scatter()
    styles = {(t["marker"]["color"], t["marker"]["symbol"]) for t in fig["data"]}
    assert len(styles) == len(fig["data"]) == len(PREGNANCY_STYLE)
    assert {c for c, _ in styles} <= set(OKABE_ITO.values())
    assert all(t["name"].startswith("Pregnancy: ") for t in fig["data"])
    assert all("Sources" in t["hovertemplate"] for t in fig["data"])


def test_scatter_axes_show_the_ladder():
    fig = _scatter()
    xaxis = fig["layout"]["xaxis"]
    assert list(xaxis["tickvals"]) == [t.value for t in knowledge.scales().tiers]
    assert "Background" in xaxis["ticktext"][1]
    assert "not a measured potency" in xaxis["title"]["text"]


def test_scatter_subset_only_shows_the_chosen_drugs():
    fig = potency_burden_scatter(compare.burden_points(["azathioprine", "hydroxychloroquine"])).to_dict()
    assert sorted(t for trace in fig["data"] for t in trace["text"]) == ["AZA", "HCQ"]


def test_heatmap_shows_the_grades_as_numbers_and_colours():
    grades, sources = compare.side_effect_matrix()
    fig = side_effect_heatmap(grades, sources).to_dict()
    trace = fig["data"][0]
    assert trace["type"] == "heatmap"
    assert [list(r) for r in trace["z"]] == grades.to_numpy().tolist()
    assert list(trace["y"]) == [e.label for e in knowledge.drugs().values()]
    assert trace["text"][0][0].split()[0] == str(grades.iloc[0, 0])
    assert trace["texttemplate"] == "%{text}"
    assert (trace["zmin"], trace["zmax"]) == (0, 3)
    assert {c for _, c in trace["colorscale"]} == set(GRADE_COLOURS)
    hcq = knowledge.drugs()["hydroxychloroquine"].fact("se_cytopenia")
    assert trace["customdata"][0][0] == f"{hcq.status} · {', '.join(hcq.refs)}"
    assert list(trace["colorbar"]["tickvals"]) == [0, 1, 2, 3]


def test_scatter_draws_potency_as_an_ordering_with_its_basis():
    """Issue 17: the x axis is an ordering of treatment intensity; the evidence it rests on
    is written on the chart, and azathioprine's lighter burden than cyclophosphamide is said."""
    fig = _scatter()
    assert "ordering of treatment intensity" in fig["layout"]["xaxis"]["title"]["text"]
    notes = " ".join(a["text"] for a in fig["layout"]["annotations"])
    assert "Euro-Lupus" in notes and "MAINTAIN" in notes and "ALMS" in notes
    assert "fewer side effects" in notes
    assert "ten 0-3 grades" in fig["layout"]["yaxis"]["title"]["text"]
    no_aza = potency_burden_scatter(compare.burden_points(["hydroxychloroquine", "prednisone"])).to_dict()
    assert "fewer side effects" not in " ".join(a["text"] for a in no_aza["layout"].get("annotations", []))
