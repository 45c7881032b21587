"""JSON and text rendering of a review."""

from __future__ import annotations

import datetime as dt
import json

import pyarrow as pa

from dashboard.rules.output import json_literals, objects, patients_json, review_json, review_text
from tests.rules.builders import dose, lab, patient, run


def test_json_literals_of_a_float_column_of_few_values_are_each_values_own():
    """A column of a few distinct numbers is written once per number (the fast path):
    every row still reads its own value, and null, NaN and infinity read null."""
    values = [1.5, 140.0, 1.5, None, float("nan"), 0.25, 1.5, float("inf"), 140.0, 1.5] * 5
    expected = ["1.5", "140", "1.5", "null", "null", "0.25", "1.5", "null", "140", "1.5"] * 5
    assert json_literals(pa.array(values, pa.float64())).to_pylist() == expected
    assert json_literals(pa.array([None] * 6, pa.float64())).to_pylist() == ["null"] * 6
    assert json_literals(pa.array([None] * 3, pa.timestamp("s"))).to_pylist() == ["null"] * 3


def test_json_literals_of_times_without_nulls_read_as_iso_text():
    """A column of times without a null (the fast path, Arrow's text with its T) reads as
    the one with nulls does; a slice reads its own rows; a year before 1000 keeps four digits."""
    times = [dt.datetime(2024, 5, 1, 8, 30), dt.datetime(1999, 12, 31, 23, 59, 59), dt.datetime(2024, 5, 1, 8, 30)]
    col = pa.array(times, pa.timestamp("s"))
    expected = ['"2024-05-01T08:30:00"', '"1999-12-31T23:59:59"', '"2024-05-01T08:30:00"']
    assert json_literals(col).to_pylist() == expected
    assert json_literals(col.slice(1, 2)).to_pylist() == expected[1:]
    with_null = pa.array([*times, None], pa.timestamp("s"))
    assert json_literals(with_null).to_pylist() == [*expected, "null"]
    early = pa.array([dt.datetime(999, 1, 2, 3, 4, 5)], pa.timestamp("s"))
    assert json_literals(early).to_pylist() == ['"0999-01-02T03:04:05"']


def test_json_literals_escape_and_nulls():
    texts = pa.array(["plain", 'say "hi"', "back\\slash", "tab\there", "µmol/L ×10⁹", None])
    decoded = [json.loads(x) for x in json_literals(texts).to_pylist()]
    assert decoded == ["plain", 'say "hi"', "back\\slash", "tab\there", "µmol/L ×10⁹", None]
    nums = pa.array([1.5, float("nan"), None, 140.0, float("inf")])
    assert json_literals(nums).to_pylist() == ["1.5", "null", "null", "140", "null"]
    when = pa.array([dt.datetime(2024, 5, 1, 8, 30), None], pa.timestamp("s"))
    assert json_literals(when).to_pylist() == ['"2024-05-01T08:30:00"', "null"]
    assert json_literals(pa.array([True, False, None])).to_pylist() == ["true", "false", "null"]
    assert json_literals(pa.array([3, None], pa.int8())).to_pylist() == ["3", "null"]


def test_objects_are_valid_json():
    table = pa.table({"a": pa.array(["x", 'q"']), "b": pa.array([1.0, float("nan")])})
    assert [json.loads(o) for o in objects(table, ("a", "b")).to_pylist()] == [
        {"a": "x", "b": 1.0},
        {"a": 'q"', "b": None},
    ]


def review_of_two():
    labs = [lab("P1", "2024-05-01", "wbc", 2.4), lab("P2", "2024-05-01", "wbc", 6.0)]
    return run(labs, [dose("P1", "azathioprine", "2024-01-01", amount=100)], [patient("P1", weight=70, tpmt="normal")])


def test_whole_document_parses_and_matches_the_tables():
    rv = review_of_two()
    doc = json.loads(review_json(rv, {"labs": 2}))
    assert doc["import"] == {"labs": 2}
    assert doc["review"]["flags"] == rv.flags.num_rows
    assert [p["patient_id"] for p in doc["patients"]] == rv.summary.column("patient_id").to_pylist()
    assert len(doc["patients"][0]["flags"]) == rv.flags.num_rows
    assert doc["patients"][0]["schedule"][0]["drug"] == "azathioprine"
    assert patients_json(rv) == doc["patients"]


def test_text_lists_open_items_per_patient():
    text = review_text(review_of_two())
    assert "== P1 [action] Azathioprine 100 mg/day (1.43 mg/kg/day)" in text
    assert "bsr.wbc_low: WBC 2.4 ×10⁹/L < 3.5" in text
    assert "== P2" not in text  # nothing open for P2


def test_edge_panels_render():
    cases = [
        ([], [], []),
        ([], [dose("P1", "azathioprine", "2024-01-01", amount=100)], []),
        ([], [], [patient("P1", weight=70)]),
        ([lab("P1", "2024-01-01", "wbc", 6.0)], [], []),
    ]
    for labs, doses, patients in cases:
        rv = run(labs, doses, patients)
        doc = json.loads(review_json(rv, {}))
        assert len(doc["patients"]) == rv.summary.num_rows
        assert review_text(rv).startswith("Review as of 2024-12-31")
    assert doc["patients"][0]["worst_ctcae_grade"] == {"wbc": 0}
    graded = run([lab("P1", "2024-01-01", "platelets", 60), lab("P1", "2024-01-01", "ast", 30)])
    assert patients_json(graded)[0]["worst_ctcae_grade"] == {"platelets": 2, "ast": 0}


def _compact_lines(rv, report=None) -> list[dict]:
    import io

    from dashboard.rules.output import write_review_ndjson

    buf = io.BytesIO()
    write_review_ndjson(rv, report, buf)
    text = buf.getvalue().decode("utf-8")
    assert text.endswith("\n")
    return [json.loads(line) for line in text.splitlines()]


def _as_objects(patient: dict, fields: dict) -> dict:
    out = dict(patient)
    for key, names in fields.items():
        out[key] = [dict(zip(names, row, strict=True)) for row in patient[key]]
    return out


def test_compact_review_holds_exactly_the_json_review():
    """``review --compact``: a header line, then one line per patient, most urgent first;
    each flag (schedule row, dose check, later result) an array of values in the header's
    field order.  Read back with those names, every patient equals the JSON review's."""
    rv = review_of_two()
    lines = _compact_lines(rv, {"labs": 2})
    head, patients = lines[0], lines[1:]
    assert head["import"] == {"labs": 2} and head["review"] == json.loads(review_json(rv))["review"]
    assert head["fields"]["flags"][:3] == ["collected_at", "analyte", "value"]
    assert [_as_objects(p, head["fields"]) for p in patients] == patients_json(rv)
    assert isinstance(patients[0]["flags"][0], list)


def test_compact_and_json_reviews_agree_on_a_larger_panel(monkeypatch):
    """Many patients, written a few at a time (the output is streamed in batches): the
    JSON review parses, and the compact one holds the same patients in the same order."""
    from dashboard.rules import output

    monkeypatch.setattr(output, "_BATCH_PATIENTS", 3)
    monkeypatch.setattr(output, "_BATCH_FLAGS", 4)
    labs = []
    for i in range(11):
        for day, value in ((1, 6.0), (8, 4.0), (15, 2.9), (22, 1.9)):
            labs.append(lab(f"P{i:02d}", f"2024-05-{day:02d}", "wbc", value - i * 0.1))
            labs.append(lab(f"P{i:02d}", f"2024-05-{day:02d}", "neutrophils", value / 2 - i * 0.05))
    doses = [dose(f"P{i:02d}", "azathioprine", "2024-01-01", amount=100) for i in range(0, 11, 2)]
    rv = run(labs, doses, [patient(f"P{i:02d}", weight=70, tpmt="normal") for i in range(11)])
    doc = json.loads(review_json(rv))
    assert len(doc["patients"]) == 11 and sum(len(p["flags"]) for p in doc["patients"]) == rv.flags.num_rows
    head, *patients = _compact_lines(rv)
    assert [_as_objects(p, head["fields"]) for p in patients] == doc["patients"]


def test_compact_review_of_an_empty_panel():
    rv = run([], [], [])
    head, *patients = _compact_lines(rv)
    assert head["review"]["patients"] == 0 and patients == []
