"""Property-based tests of the import: rows are conserved, parsing is faithful."""

import datetime as dt
import math

import pyarrow as pa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dashboard.ingest.dates import DAYFIRST, MONTHFIRST, parse_dates
from dashboard.ingest.values import parse_one
from dashboard.model import ANALYTES
from dashboard.units import FAMILY_UNITS, family_of, resolve_unit
from tests.support import TODAY, assert_balanced, import_text

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

cell = st.one_of(
    st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=12),
    st.sampled_from(
        [
            "4.5",
            "<0.1",
            "H 450",
            "pending",
            "",
            "1,5",
            "2024-03-05",
            "31/02/2024",
            "WBC",
            "Hb",
            "10^9/L",
            "g/dL",
            "=1+1",
            "<b>x</b>",
        ]
    ),
)


@SETTINGS
@given(rows=st.lists(st.tuples(cell, cell, cell, cell, cell), min_size=0, max_size=25))
def test_every_row_is_accounted_for(rows):
    def q(v: str) -> str:
        return '"' + v.replace('"', '""') + '"'

    text = "patient_id,collected_at,test,value,unit\n" + "".join(",".join(q(v) for v in r) + "\n" for r in rows)
    result = import_text(text, today=TODAY, date_order="dayfirst")
    assert_balanced(result)
    [f] = result.report.files
    if not f.error and not f.needs:
        # blank rows are not data; every other row is read
        non_blank = sum(1 for r in rows if any(v.strip() for v in r))
        assert f.rows_read == non_blank
        assert f.rows_rejected == len(f.problems)


@SETTINGS
@given(x=st.floats(min_value=1e-6, max_value=1e6, allow_nan=False, allow_infinity=False))
def test_numbers_read_back_exactly(x):
    for text in (repr(x), f"{x:.6g}"):
        v, cmp_, flag, trailing, reason, _ = parse_one(text)
        assert reason == "" and cmp_ == "" and flag == "" and trailing == ""
        assert v == float(text)
    v, cmp_, *_ = parse_one("<" + repr(x))
    assert v == x and cmp_ == "<"


@SETTINGS
@given(analyte=st.sampled_from(ANALYTES), x=st.floats(min_value=0.001, max_value=10_000, allow_nan=False))
def test_unit_conversion_round_trips(analyte, x):
    for spelling, factor in FAMILY_UNITS[family_of(analyte)].items():
        res = resolve_unit(analyte, spelling)
        assert res.factor == factor
        assert math.isclose(x * factor / factor, x, rel_tol=1e-12)


@SETTINGS
@given(
    d=st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2100, 12, 31)),
    h=st.integers(0, 23),
    m=st.integers(0, 59),
)
def test_dates_read_back_in_every_format(d, h, m):
    expected = dt.datetime(d.year, d.month, d.day, h, m)
    texts = {
        f"{d:%Y-%m-%d} {h:02d}:{m:02d}": DAYFIRST,
        f"{d:%Y-%m-%d}T{h:02d}:{m:02d}:00Z": DAYFIRST,
        f"{d:%d/%m/%Y} {h:02d}:{m:02d}": DAYFIRST,
        f"{d:%m/%d/%Y} {h:02d}:{m:02d}": MONTHFIRST,
        f"{d:%d.%m.%Y} {h:02d}:{m:02d}": DAYFIRST,
    }
    for text, order in texts.items():
        p = parse_dates(pa.array([text]), order, TODAY)
        assert p.values.to_pylist() == [expected], text


_CELL = st.text(alphabet=st.sampled_from(list('ab1. \t\r\n\x0b\x0c"')), max_size=5)


@settings(max_examples=400, deadline=None)
@given(
    rows=st.lists(st.lists(_CELL, min_size=2, max_size=2), min_size=1, max_size=4),
    delimiter=st.sampled_from([",", ";", "\t"]),
)
def test_cells_are_trimmed_whenever_the_fast_check_says_they_might_need_it(rows, delimiter):
    """The byte check that lets the fast reader skip trimming never misses a padded cell."""
    import csv
    import io

    from dashboard.ingest.tabular import _read_fast

    buf = io.StringIO()
    writer = csv.writer(buf, delimiter=delimiter, lineterminator="\n")
    writer.writerow(["id", "value"])
    writer.writerows(rows)
    table = _read_fast("t.csv", buf.getvalue().encode(), ["id", "value"], delimiter)
    if table is None:  # ragged or blank lines: the slow reader takes the file
        return
    for col in table.columns.values():
        for cell in col.to_pylist():
            assert cell == cell.strip(" \t\r\n\x0b\x0c"), repr(cell)
