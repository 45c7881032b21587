"""Figures: pure functions returning ``plotly.graph_objects.Figure`` (no streamlit here).

The colours of every chart, sparkline and highlighted table come from :data:`OKABE_ITO`.
"""

#: The Okabe-Ito palette: distinguishable with the common colour-vision deficiencies.
OKABE_ITO: dict[str, str] = {
    "black": "#000000",
    "orange": "#E69F00",
    "sky_blue": "#56B4E9",
    "bluish_green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "reddish_purple": "#CC79A7",
}


def rgba(colour: str, alpha: float) -> str:
    """A ``#RRGGBB`` colour at an opacity, as CSS: ``rgba(230, 159, 0, 0.22)``."""
    r, g, b = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgba({r}, {g}, {b}, {alpha:.2f})"


def word_lines(text: str, width: int) -> list[str]:
    """Words of ``text`` in lines of at most ``width`` characters (a long word alone)."""
    lines: list[str] = []
    for word in text.split():
        if lines and len(lines[-1]) + 1 + len(word) <= width:
            lines[-1] += " " + word
        else:
            lines.append(word)
    return lines
