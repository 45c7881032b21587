"""Panel sparklines (issue 18): every sparkline of an analyte on its clinical scale, with
the reference band and the guideline limit; the picture holds numbers only."""

import re
from urllib.parse import unquote

from dashboard.sparkline import HEIGHT, PAD, data_url, scale, sparkline_svg


def ys(svg: str) -> list[float]:
    points = re.search(r'points="([^"]+)"', svg).group(1)
    return [float(p.split(",")[1]) for p in points.split()]


def y_of(value: float, lo: float, hi: float) -> float:
    return HEIGHT - PAD - (value - lo) / (hi - lo) * (HEIGHT - 2 * PAD)


def test_noise_inside_the_range_stays_flat_on_the_clinical_scale():
    # neutrophils 4.0 and 4.2 on the 0-10 scale: 0.48 px apart, not the full height of the picture
    lo, hi = scale("neutrophils")
    assert (lo, hi) == (0.0, 10.0)
    a, b = ys(sparkline_svg([4.0, 4.2], "neutrophils"))
    assert abs(a - b) < 1 and round(a, 2) == round(y_of(4.0, lo, hi), 2)


def test_the_band_and_the_limit_are_drawn():
    svg = sparkline_svg([2.1, 1.4], "neutrophils", band=(2.0, 7.5), limits=[1.6])
    lo, hi = scale("neutrophils")
    rect = re.search(r'<rect x="0" y="([\d.]+)" width="100" height="([\d.]+)"', svg)
    assert float(rect.group(1)) == round(y_of(7.5, lo, hi), 2)
    assert round(float(rect.group(1)) + float(rect.group(2)), 2) == round(y_of(2.0, lo, hi), 2)
    assert f'y1="{round(y_of(1.6, lo, hi), 2)}"' in svg and "stroke-dasharray" in svg


def test_a_value_beyond_the_scale_sits_on_the_edge_as_an_open_marker():
    svg = sparkline_svg([800.0], "platelets")  # the platelet scale ends at 500
    assert 'cy="3.0"' in svg and 'fill="white"' in svg


def test_us_units_scale_too():
    assert scale("hemoglobin", "US") == (6.0, 18.0)


def test_a_data_url_with_no_text_from_a_file():
    url = data_url(sparkline_svg([1.0, 2.0], "wbc"))
    assert url.startswith("data:image/svg+xml;utf8,%3Csvg") and "<script" not in unquote(url)
