"""Panel sparklines (pure): a patient's last results of one analyte as a tiny SVG picture.

Every sparkline of an analyte is drawn on that analyte's clinical scale
(``vocab/analytes.toml`` ``scale``), never on the patient's own min and max: a wobble
inside the reference range stays a flat line and a real fall looks like one.  The
reference band (the lab's own range of the latest result, else the default range) is
shaded and the guideline limit of the active profile is a dashed line.  A value beyond
the scale is drawn on its edge as an open marker (the number itself is in the next
column).

The picture holds numbers only (no text from a file), as a ``data:`` URL that
``st.column_config.ImageColumn`` shows: nothing is fetched from anywhere.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from urllib.parse import quote

from dashboard.figures import OKABE_ITO
from dashboard.model import analyte_info
from dashboard.units import display_factor

WIDTH, HEIGHT, PAD = 100, 30, 3
BAND_FILL = OKABE_ITO["bluish_green"]  # as the timeline's reference band
LIMIT_COLOUR = OKABE_ITO["vermillion"]  # as the timeline's guideline limit
LINE_COLOUR = "#555555"
LAST_COLOUR = OKABE_ITO["blue"]


def scale(analyte: str, system: str = "SI") -> tuple[float, float]:
    """The analyte's clinical scale in the display unit."""
    low, high = analyte_info()[analyte].scale
    f = display_factor(analyte, system)
    return low * f, high * f


def sparkline_svg(
    values: Sequence[float],
    analyte: str,
    system: str = "SI",
    band: tuple[float, float] = (math.nan, math.nan),
    limits: Sequence[float] = (),
) -> str:
    """The SVG of one sparkline; ``values`` (oldest first), ``band`` and ``limits`` in the display unit."""
    lo, hi = scale(analyte, system)

    def y(v: float) -> float:
        clamped = min(max(v, lo), hi)
        return round(HEIGHT - PAD - (clamped - lo) / (hi - lo) * (HEIGHT - 2 * PAD), 2)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}">'
    ]
    b_lo, b_hi = band
    if math.isfinite(b_lo) or math.isfinite(b_hi):
        top, bottom = y(b_hi if math.isfinite(b_hi) else hi), y(b_lo if math.isfinite(b_lo) else lo)
        parts.append(
            f'<rect x="0" y="{top}" width="{WIDTH}" height="{round(max(bottom - top, 0.5), 2)}" '
            f'fill="{BAND_FILL}" fill-opacity="0.16"/>'
        )
    for level in limits:
        if math.isfinite(level) and lo <= level <= hi:
            parts.append(
                f'<line x1="0" x2="{WIDTH}" y1="{y(level)}" y2="{y(level)}" stroke="{LIMIT_COLOUR}" '
                'stroke-width="1" stroke-dasharray="3,2"/>'
            )
    points = [float(v) for v in values if v is not None and math.isfinite(float(v))]
    if points:
        step = (WIDTH - 2 * PAD) / max(len(points) - 1, 1)
        xy = [(round(PAD + i * step, 2), y(v)) for i, v in enumerate(points)]
        if len(xy) > 1:
            path = " ".join(f"{x},{yy}" for x, yy in xy)
            parts.append(f'<polyline points="{path}" fill="none" stroke="{LINE_COLOUR}" stroke-width="1.3"/>')
        x, yy = xy[-1]
        off_scale = not lo <= points[-1] <= hi
        fill = "white" if off_scale else LAST_COLOUR
        parts.append(f'<circle cx="{x}" cy="{yy}" r="2.4" fill="{fill}" stroke="{LAST_COLOUR}" stroke-width="1"/>')
    parts.append("</svg>")
    return "".join(parts)


def data_url(svg: str) -> str:
    """An SVG as a ``data:`` URL for an image column."""
    return "data:image/svg+xml;utf8," + quote(svg, safe="")
