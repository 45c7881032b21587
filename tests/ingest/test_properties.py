"""Property-based tests of the import: rows are conserved, parsing is faithful."""

import datetime as dt
import math

import pyarrow as pa
import pyarrow.compute as pc
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from dashboard.ingest.dates import DAYFIRST, MONTHFIRST, parse_dates
from dashboard.ingest.tabular import _strip
from dashboard.ingest.values import parse_one
from dashboard.model import ANALYTES
from dashboard.units import FAMILY_UNITS, family_of, resolve_unit
from tests.support import TODAY, assert_balanced, import_bytes, import_text

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
        # blank rows are not data; a row of units under the header is read as part of the
        # header and said so on its own line; every other row is read
        non_blank = sum(1 for r in rows if any(v.strip() for v in r))
        units_row = sum(1 for w in f.warnings if "holds the units of the columns above" in w.message)
        assert f.rows_read == non_blank - units_row
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
    # issue 16: the plausible window is 1900 to a year after today (later dates are refused)
    d=st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(TODAY.year + 1, TODAY.month, TODAY.day)),
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


@SETTINGS
@given(d=st.dates(min_value=dt.date(1, 1, 1), max_value=dt.date(9999, 12, 31)))
def test_dates_outside_the_plausible_window_are_refused_with_the_reason(d):
    limit = dt.date(TODAY.year + 1, TODAY.month, TODAY.day)
    p = parse_dates(pa.array([f"{d.year:04d}-{d.month:02d}-{d.day:02d}"]), DAYFIRST, TODAY)
    (reason,) = p.reason.to_pylist()
    if d.year < 1900:
        assert p.values.to_pylist() == [None] and f"year {d.year} is before 1900" in reason
    elif d > limit:
        assert p.values.to_pylist() == [None] and "more than a year after today" in reason
    else:
        assert reason == "" and p.values.to_pylist() == [dt.datetime(d.year, d.month, d.day)]


def _csv(header: list[str], rows: list[tuple[str, ...]]) -> str:
    def q(v: str) -> str:
        return '"' + v.replace('"', '""') + '"'

    return ",".join(header) + "\n" + "".join(",".join(q(v) for v in r) + "\n" for r in rows)


def _non_blank(rows: list[tuple[str, ...]]) -> int:
    return sum(1 for r in rows if any(v.strip() for v in r))


def _check_rows(result, rows) -> None:
    assert_balanced(result)
    [f] = result.report.files
    if not f.error and not f.needs:
        assert f.rows_read == _non_blank(rows)
        # no row is rejected silently: each rejected row is named with a reason
        assert len({p.row for p in f.problems if p.row is not None}) >= f.rows_rejected


number = st.one_of(
    st.floats(min_value=0, max_value=1000, allow_nan=False).map(lambda x: f"{x:.3g}"),
    st.sampled_from(["", "<0.5", "n.b.", "1,5", "-3", "12 H", "="]),
)
day = st.one_of(
    st.dates(min_value=dt.date(2000, 1, 1), max_value=dt.date(2026, 1, 1)).map(lambda d: f"{d:%d.%m.%Y}"),
    st.sampled_from(["", "31.02.2024", "gestern", "2024-03-05"]),
)
patient = st.sampled_from(["P1", "P2", "0012", "", "<b>x</b>", "=1+1"])


@SETTINGS
@given(rows=st.lists(st.tuples(patient, day, number, number, number), max_size=25))
def test_wide_reader_accounts_for_every_row_and_cell(rows):
    header = ["Patient", "Datum", "Leukozyten (G/l)", "Hämoglobin (g/dl)", "Thrombozyten (G/l)"]
    result = import_text(_csv(header, rows), "wide.csv", today=TODAY, date_order="dayfirst")
    _check_rows(result, rows)
    [f] = result.report.files
    if not f.error and not f.needs:
        cells = sum(1 for r in rows if any(v.strip() for v in r) for v in r[2:] if v.strip())
        assert f.results_read == cells
        assert result.labs.num_rows <= cells


drug = st.sampled_from(["Azathioprine", "Imuran", "MTX", "Unobtainium", "", "CellCept", "prednisolone"])
amount = st.sampled_from(["100", "2.5", "", "-15", "0", "abc", "15 mg", "1,5"])
freq = st.sampled_from(["daily", "weekly", "BID", "sometimes", "", "every 2 weeks"])
when = st.sampled_from(["2024-01-01", "2024-05-01", "", "2024-02-30", "01/02/2024"])


@SETTINGS
@given(
    rows=st.lists(
        st.tuples(patient, drug, amount, st.sampled_from(["mg", "g", "", "furlongs"]), freq, when, when), max_size=20
    )
)
def test_dose_reader_accounts_for_every_row(rows):
    header = ["patient_id", "drug", "dose", "unit", "frequency", "start", "end"]
    result = import_text(_csv(header, rows), "doses.csv", today=TODAY, date_order="dayfirst")
    _check_rows(result, rows)
    [f] = result.report.files
    if not f.error and not f.needs:
        assert result.doses.num_rows == f.rows_accepted


@SETTINGS
@given(
    rows=st.lists(
        st.tuples(
            patient,
            st.sampled_from(["F", "M", "", "X", "female"]),
            st.sampled_from(["1980-02-03", "", "1980-02-30", "1980"]),
            st.sampled_from(["60", "", "600", "150 lb"]),
            st.sampled_from(["normal", "poor", "", "*1/*3A"]),
        ),
        max_size=20,
    )
)
def test_patient_reader_accounts_for_every_row(rows):
    header = ["patient_id", "sex", "dob", "weight_kg", "tpmt"]
    result = import_text(_csv(header, rows), "patients.csv", today=TODAY, date_order="dayfirst")
    _check_rows(result, rows)
    [f] = result.report.files
    if not f.error and not f.needs:
        named = {r[0] for r in rows if r[0].strip() and any(v.strip() for v in r)}
        ids = result.patients.column("patient_id").to_pylist()
        assert set(ids) <= named
        # a patient repeated with other details is one patient (the later row wins, with a note)
        assert len(ids) == len(set(ids)) <= f.rows_accepted


def _observation(i: int, parts: frozenset[str]) -> dict:
    obs = {"resourceType": "Observation", "id": f"o{i}", "status": "final"}
    if "code" in parts:
        obs["code"] = {"coding": [{"system": "http://loinc.org", "code": "6690-2"}], "text": "WBC"}
    if "subject" in parts:
        obs["subject"] = {"reference": "Patient/P1"}
    if "date" in parts:
        obs["effectiveDateTime"] = f"2024-03-{1 + i % 28:02d}T08:{i % 60:02d}:00"
    if "value" in parts:
        obs["valueQuantity"] = {"value": 3 + i / 100, **({"unit": "10*9/L"} if "unit" in parts else {})}
    return obs


fhir_parts = st.frozensets(st.sampled_from(["code", "subject", "date", "value", "unit"]))
broken = st.sampled_from([None, "text", 7, [], {"id": "x"}, {"resourceType": "Basic"}])


@SETTINGS
@given(
    entries=st.lists(st.one_of(fhir_parts, broken.map(lambda b: ("broken", b))), max_size=25),
    ndjson=st.booleans(),
)
def test_fhir_reader_accounts_for_every_resource(entries, ndjson):
    import json

    resources = [e[1] if isinstance(e, tuple) else _observation(i, e) for i, e in enumerate(entries)]
    assume(not ndjson or len(resources) >= 2)  # one line is a plain JSON document
    if ndjson:
        text = "\n".join(json.dumps(r) for r in resources) + "\n"
        expected = len(resources)
    else:
        text = json.dumps(
            {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": r} for r in resources]}
        )
        expected = len(resources)
    result = import_text(text, "fhir.ndjson" if ndjson else "bundle.json", today=TODAY)
    assert_balanced(result)
    [f] = result.report.files
    if f.error:
        assert expected == 0 or ndjson  # an empty bundle / a file of junk lines says why
        return
    assert f.rows_read == expected
    complete = sum(1 for e in entries if not isinstance(e, tuple) and {"code", "subject", "date", "value"} <= e)
    assert f.rows_accepted + f.duplicates <= complete


excel_cell = st.one_of(
    st.none(),
    st.floats(min_value=0, max_value=1000, allow_nan=False),
    st.integers(-5, 400_000),
    st.dates(min_value=dt.date(2000, 1, 1), max_value=dt.date(2026, 1, 1)),
    st.sampled_from(["P1", "0012", "#N/A", "<0.5", "WBC", "Hb", "g/L", "10^9/L", "", "=1+1"]),
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=st.lists(st.tuples(excel_cell, excel_cell, excel_cell, excel_cell, excel_cell), max_size=15))
def test_excel_reader_accounts_for_every_row(rows):
    import io

    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["patient_id", "collected_at", "test", "value", "unit"])
    for r in rows:
        ws.append(list(r))
    buf = io.BytesIO()
    wb.save(buf)
    result = import_bytes(buf.getvalue(), "labs.xlsx", today=TODAY, date_order="dayfirst")
    assert_balanced(result)
    files = result.report.files
    if len(files) == 1 and not files[0].error and not files[0].needs:
        [f] = files
        non_blank = sum(1 for r in rows if any(v not in (None, "") for v in r))
        assert f.rows_read == non_blank
        assert len({p.row for p in f.problems if p.row is not None}) >= f.rows_rejected


_CELL = st.text(alphabet=st.sampled_from(list('ab1. \t\r\n\x0b\x0c"')), max_size=5)


@settings(max_examples=400, deadline=None)
@given(
    rows=st.lists(st.lists(_CELL, min_size=2, max_size=2), min_size=1, max_size=4),
    delimiter=st.sampled_from([",", ";", "\t"]),
)
def test_the_fast_reader_trims_every_cell(rows, delimiter):
    """The fast reader hands on no cell with leading or trailing ASCII whitespace."""
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


@SETTINGS
@given(
    st.lists(st.text(alphabet=st.sampled_from(["a", "é", "1", " ", "\t", "\r", "\x0b", "\x0c", "\n"]), max_size=4)),
    st.integers(min_value=0, max_value=2),
)
def test_the_trim_check_never_skips_a_cell_that_needs_trimming(texts, offset):
    """_strip looks at the first and last byte of each cell to skip a column with nothing
    to trim; whatever the cells (empty ones, a sliced array), it equals a full trim."""
    arr = pa.array(texts, pa.string()).slice(min(offset, len(texts)))
    assert _strip(arr).to_pylist() == pc.ascii_trim_whitespace(arr).to_pylist()
