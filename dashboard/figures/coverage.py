"""Results per month in an import: a quick look at what period an export covers and
where it has gaps (a lab system change, a truncated extract)."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from dashboard import model
from dashboard.figures import OKABE_ITO

#: unit family (dashboard/vocab/analytes.toml) -> test group shown in the chart
GROUP_OF_FAMILY: dict[str, str] = {
    "count": "Blood count",
    "hemoglobin": "Blood count",
    "mcv": "Blood count",
    "enzyme": "Liver",
    "albumin": "Liver",
    "creatinine": "Kidney",
    "egfr": "Kidney",
    "crcl": "Kidney",
}
#: bar width: 26 days in milliseconds (the unit of a date axis)
_BAR_MS = 26 * 24 * 3600 * 1000
#: one colour per group
GROUP_COLOUR: dict[str, str] = {
    "Blood count": OKABE_ITO["blue"],
    "Liver": OKABE_ITO["orange"],
    "Kidney": OKABE_ITO["bluish_green"],
}


def results_per_month(labs: pd.DataFrame) -> go.Figure:
    """Stacked bars: the number of results per calendar month, by test group."""
    fig = go.Figure()
    x_range = None
    if len(labs):
        family = {a: info.family for a, info in model.analyte_info().items()}
        group = labs["analyte"].astype(str).map(family).map(GROUP_OF_FAMILY).fillna("Other")
        month = labs["collected_at"].dt.to_period("M").dt.to_timestamp()
        counts = pd.DataFrame({"month": month, "group": group}).value_counts().rename("n").reset_index()
        first, last = month.min(), month.max()
        x_range = [first - pd.Timedelta(days=20), last + pd.offsets.MonthBegin(1) + pd.Timedelta(days=20)]
        for name in [*GROUP_COLOUR, "Other"]:
            part = counts[counts["group"] == name].sort_values("month")
            if part.empty:
                continue
            fig.add_trace(
                go.Bar(
                    x=part["month"].tolist(),
                    y=part["n"].tolist(),
                    name=name,
                    marker_color=GROUP_COLOUR.get(name, "#999999"),
                    # a month wide, centred on the month, however few months there are (the
                    # automatic width spans the gap between two distant months)
                    xperiod="M1",
                    xperiodalignment="middle",
                    width=[_BAR_MS] * len(part),
                    hovertemplate="%{x|%b %Y}: %{y:,} " + name.lower() + " results<extra></extra>",
                )
            )
    fig.update_layout(
        barmode="stack",
        height=230,
        margin={"l": 50, "r": 20, "t": 30, "b": 30},
        title={"text": "Results per month", "font": {"size": 13}, "x": 0, "xanchor": "left"},
        legend={"orientation": "h", "y": 1.12, "x": 1, "xanchor": "right"},
        plot_bgcolor="white",
        paper_bgcolor="white",
        yaxis={"title": {"text": "results"}, "gridcolor": "#e5e5e5", "rangemode": "tozero"},
        xaxis={"type": "date", **({"range": [x.strftime("%Y-%m-%d") for x in x_range]} if x_range else {})},
        bargap=0.15,
    )
    return fig
