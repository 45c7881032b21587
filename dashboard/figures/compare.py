"""Figures of the Compare page: potency tier vs side-effect burden, and a side-effect heatmap.

Pure functions returning ``plotly.graph_objects.Figure``.  Colours are Okabe-Ito (or a
single-hue sequential scale) and every encoding is doubled by text or marker shape.
"""

from __future__ import annotations

from collections import defaultdict

import pandas as pd
import plotly.graph_objects as go

from dashboard import knowledge
from dashboard.figures import OKABE_ITO, word_lines

#: Pregnancy category -> (colour, marker symbol): colour and shape both carry the category.
PREGNANCY_STYLE: dict[str, tuple[str, str]] = {
    "compatible": (OKABE_ITO["bluish_green"], "circle"),
    "compatible with limits": (OKABE_ITO["sky_blue"], "diamond"),
    "insufficient data": (OKABE_ITO["orange"], "square"),
    "avoid": (OKABE_ITO["reddish_purple"], "triangle-up"),
    "contraindicated": (OKABE_ITO["vermillion"], "x"),
}

#: Grade 0-3 -> fill colour (single-hue blue, light to dark); the grade is also printed in the cell.
GRADE_COLOURS: tuple[str, ...] = ("#FFFFFF", "#C6DBEF", "#6BAED6", "#2171B5")

_JITTER = 0.14


def _jitter(points: pd.DataFrame) -> list[float]:
    """Spread drugs that share a (tier, burden) point side by side so none is hidden."""
    groups: dict[tuple[int, int], list[int]] = defaultdict(list)
    for i, (t, b) in enumerate(zip(points["tier"], points["burden"], strict=True)):
        groups[(int(t), int(b))].append(i)
    x = [float(t) for t in points["tier"]]
    for members in groups.values():
        n = len(members)
        for k, i in enumerate(members):
            x[i] += (k - (n - 1) / 2) * _JITTER
    return x


def _label_positions(points: pd.DataFrame, x: list[float]) -> list[str]:
    """Labels alternate right/left up a tier (so vertical neighbours do not collide); a point
    pushed sideways by the jitter keeps its label on the side it was pushed to."""
    frame = points.reset_index(drop=True)
    positions = [""] * len(frame)
    shared = frame.groupby(["tier", "burden"])["short"].transform("size")
    for _, group in frame.groupby("tier"):
        for rank, i in enumerate(group.sort_values(["burden", "short"]).index):
            offset = x[i] - float(frame.loc[i, "tier"])
            if abs(offset) > 1e-9:
                positions[i] = "middle right" if offset > 0 else "middle left"
            elif shared[i] > 1:  # the middle one of three sharing a point: above, clear of both
                positions[i] = "top center"
            else:
                positions[i] = "middle right" if rank % 2 == 0 else "middle left"
    return positions


def _wrap(text: str, width: int = 13) -> str:
    """Break a tick label into short lines (plotly tick text takes <br>)."""
    return "<br>".join(word_lines(text, width))


def potency_burden_scatter(points: pd.DataFrame) -> go.Figure:
    """Potency tier (x) against total side-effect burden (y), one labelled marker per drug.

    ``points`` is :func:`dashboard.compare.burden_points`.  Markers are grouped by
    pregnancy category (colour + shape, with a legend); drug names are printed.
    """
    sc = knowledge.scales()
    x = _jitter(points)
    positions = _label_positions(points, x)
    fig = go.Figure()
    for category, (colour, symbol) in PREGNANCY_STYLE.items():
        idx = [i for i, p in enumerate(points["pregnancy"]) if p == category]
        if not idx:
            continue
        sub = points.iloc[idx]
        fig.add_trace(
            go.Scatter(
                x=[x[i] for i in idx],
                y=sub["burden"].tolist(),
                mode="markers+text",
                name=f"Pregnancy: {sc.compatibility[category][0]}",
                text=sub["short"].tolist(),
                textposition=[positions[i] for i in idx],
                marker={"color": colour, "symbol": symbol, "size": 13, "line": {"color": "#000000", "width": 1}},
                customdata=list(
                    zip(sub["label"], sub["tier_label"], sub["pregnancy_label"], sub["sources"], strict=True)
                ),
                hovertemplate=(
                    "<b>%{customdata[0]}</b><br>Treatment step: %{customdata[1]}<br>Side-effect burden: %{y} of 30"
                    "<br>Pregnancy: %{customdata[2]}<br>Sources: %{customdata[3]}<extra></extra>"
                ),
            )
        )
    annotations = [_basis_note(sc)]
    aza = _aza_note(points, x)
    if aza is not None:
        annotations.append(aza)
    fig.update_layout(
        title={
            "text": "Treatment intensity vs total side-effect burden (qualitative: see the scales and the evidence)"
        },
        annotations=annotations,
        xaxis={
            "title": {
                "text": "Potency as an ordering of treatment intensity: EULAR 2023 treatment step (not a measured potency)"
            },
            "tickmode": "array",
            "tickvals": [t.value for t in sc.tiers],
            "ticktext": [f"<b>{t.value}</b><br>{_wrap(t.label)}" for t in sc.tiers],
            "tickangle": 0,
            "tickfont": {"size": 10},
            "range": [-0.6, max(t.value for t in sc.tiers) + 0.6],
        },
        yaxis={
            "title": {"text": "Side-effect burden (sum of ten 0-3 grades, an editorial reading)"},
            "rangemode": "tozero",
        },
        legend={"title": {"text": "Marker = pregnancy category"}},
        height=760,
        margin={"t": 60, "b": 250},
    )
    return fig


def _basis_note(sc: knowledge.Scales) -> dict:
    """The evidence the ordering rests on, written under the chart (status marks as on the page)."""
    marks = {"confirmed": "", "secondary source": " †", "unconfirmed": " ‡"}
    lines = [f"{e.short}{marks.get(e.status, '')}" for e in sc.ladder_evidence]
    rows = [lines[i : i + 2] for i in range(0, len(lines), 2)]
    text = (
        "<b>Basis of the ordering</b> (an ordering, not a measurement; a higher step is not a more effective drug;"
        " sources in the list below):<br>" + "<br>".join("; ".join(r) for r in rows)
    )
    return {
        "text": text,
        "xref": "paper",
        "yref": "paper",
        "x": 0,
        "y": -0.27,
        "xanchor": "left",
        "yanchor": "top",
        "showarrow": False,
        "align": "left",
        "font": {"size": 11},
    }


def _aza_note(points: pd.DataFrame, x: list[float]) -> dict | None:
    """Azathioprine's lighter side-effect burden than cyclophosphamide, said at its marker."""
    ids = list(points["id"])
    cyc = [i for i in ids if i.startswith("cyclophosphamide")]
    if "azathioprine" not in ids or not cyc:
        return None
    i = ids.index("azathioprine")
    return {
        "text": "AZA: less intensive than CYC,<br>fewer side effects (Contreras 2004)",
        "x": x[i],
        "y": float(points["burden"].iloc[i]),
        "xref": "x",
        "yref": "y",
        "showarrow": True,
        "arrowhead": 2,
        "ax": -70,
        "ay": 55,
        "font": {"size": 11},
        "bgcolor": "rgba(255,255,255,0.85)",
    }


def side_effect_heatmap(grades: pd.DataFrame, sources: pd.DataFrame) -> go.Figure:
    """Grades 0-3 by drug (rows) and category (columns); the grade is written in each cell.

    ``grades`` and ``sources`` come from :func:`dashboard.compare.side_effect_matrix`.
    """
    sc = knowledge.scales()
    top = len(GRADE_COLOURS) - 1
    scale = []
    for g, colour in enumerate(GRADE_COLOURS):
        scale += [[max(0.0, (g - 0.5) / top), colour], [min(1.0, (g + 0.5) / top), colour]]
    labels = {g.value: g.label for g in sc.grades}
    text = [[f"{v} {labels[int(v)].lower()}" for v in row] for row in grades.to_numpy()]
    fig = go.Figure(
        go.Heatmap(
            z=grades.to_numpy().tolist(),
            x=list(grades.columns),
            y=list(grades.index),
            zmin=0,
            zmax=top,
            colorscale=scale,
            text=text,
            texttemplate="%{text}",
            customdata=sources.to_numpy().tolist(),
            hovertemplate="<b>%{y}</b> · %{x}<br>Grade %{text}<br>Evidence · sources: %{customdata}<extra></extra>",
            xgap=2,
            ygap=2,
            colorbar={
                "title": {"text": "Grade"},
                "tickvals": [g.value for g in sc.grades],
                "ticktext": [f"{g.value} {g.label}" for g in sc.grades],
            },
        )
    )
    fig.update_layout(
        title={"text": "Side-effect burden by category (0 none - 3 high)"},
        yaxis={"autorange": "reversed", "automargin": True},
        xaxis={"side": "top", "tickangle": -30, "automargin": True},
        height=max(320, 42 * len(grades) + 160),
        margin={"t": 140, "l": 220},
    )
    return fig
