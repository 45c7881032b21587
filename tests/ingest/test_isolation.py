"""One bad file never sinks the others (issue 16, item 2): whatever fails while one file,
sheet or FHIR resource is read ends as its own rejection with a plain-words reason."""

from __future__ import annotations

import json

import pytest

from dashboard.ingest import ImportOptions, Source, import_sources
from dashboard.ingest import fhir as fhir_mod
from dashboard.ingest import pipeline as pipeline_mod
from dashboard.ingest.failures import UNEXPECTED, plain_reason
from dashboard.ingest.fhir import observations as fhir_observations
from dashboard.ingest.jsonlimits import MAX_JSON_DEPTH, nesting_depth, too_deep
from dashboard.ingest.tabular import dedupe_header
from tests.support import TODAY, assert_balanced

GOOD = "patient_id,collected_at,test,value,unit\nP1,2024-03-05,WBC,4.5,10^9/L\nP1,2024-03-06,WBC,4.6,10^9/L\n"
#: Words of a programmer, never of a clinician.
TECHNICAL = ("Error", "Traceback", "KeyError", "schema", "exists 2 times", "unhashable", "recursion")


def _import(*files: tuple[str, str | bytes]):
    sources = [Source(n, d.encode() if isinstance(d, str) else d) for n, d in files]
    return import_sources(sources, ImportOptions(today=TODAY))


def _by_name(result) -> dict[str, object]:
    return {f.path: f for f in result.report.files}


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (["value", "value", "value (2)"], ["value", "value (3)", "value (2)"]),
        (["a", "a", "a"], ["a", "a (2)", "a (3)"]),
        (["", "", "column 1"], ["column 1", "column 2", "column 1 (2)"]),
        (["x (2)", "x", "x"], ["x (2)", "x", "x (3)"]),
        (["\ufeffid", " id "], ["id", "id (2)"]),
    ],
)
def test_repeated_column_names_become_unique(header, expected):
    out = dedupe_header(header)
    assert out == expected
    assert len(set(out)) == len(out)


def test_a_header_repeated_as_value_value_value2_imports():
    result = _import(
        ("labs.csv", "patient_id,collected_at,test,value,value,value (2),unit\nP1,2024-03-05,WBC,4.5,9.9,7.7,10^9/L\n")
    )
    assert_balanced(result)
    f = result.report.files[0]
    assert (f.rows_read, f.rows_accepted) == (1, 1)
    assert result.labs.column("value").to_pylist() == [4.5]  # the first "value" column


def test_a_reader_failure_is_that_files_rejection_and_the_others_import(monkeypatch):
    real = pipeline_mod.read_delimited

    def failing(name, data):
        if name == "bad.csv":
            raise KeyError('Field "value (2)" exists 2 times in schema')
        return real(name, data)

    monkeypatch.setattr(pipeline_mod, "read_delimited", failing)
    result = _import(("good.csv", GOOD), ("bad.csv", GOOD.replace("P1", "P2")))
    assert_balanced(result)
    files = _by_name(result)
    assert files["good.csv"].rows_accepted == 2 and not files["good.csv"].error
    assert files["bad.csv"].error == UNEXPECTED
    assert result.labs.num_rows == 2 and set(result.labs.column("patient_id").to_pylist()) == {"P1"}


def test_a_failure_while_a_table_is_mapped_rejects_its_rows_with_a_plain_reason(monkeypatch):
    real = pipeline_mod._generic

    def failing(raw, rep, ctx):
        if raw.name == "bad.csv":
            rep.rows_accepted = 99  # half-built state must not survive
            raise TypeError("unhashable type: 'list'")
        return real(raw, rep, ctx)

    monkeypatch.setattr(pipeline_mod, "_generic", failing)
    result = _import(("good.csv", GOOD), ("bad.csv", GOOD))
    assert_balanced(result)
    bad = _by_name(result)["bad.csv"]
    assert (bad.rows_read, bad.rows_accepted, bad.rows_rejected) == (2, 0, 2)
    assert bad.error == UNEXPECTED
    assert _by_name(result)["good.csv"].rows_accepted == 2


@pytest.mark.parametrize(
    ("exc", "words"),
    [
        (RecursionError("maximum recursion depth exceeded"), "nested too deeply"),
        (MemoryError(), "memory"),
        (UnicodeDecodeError("utf-8", b"\xff", 0, 1, "invalid start byte"), "encoding"),
        (KeyError("x"), "not in a shape this dashboard understands"),
    ],
)
def test_reasons_are_plain_words(exc, words):
    reason = plain_reason(exc)
    assert words in reason
    assert not any(t in reason for t in TECHNICAL)


def _obs(rid: str, when: str = "2024-03-05T08:30:00") -> dict:
    return {
        "resourceType": "Observation",
        "id": rid,
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "6690-2"}], "text": "WBC"},
        "subject": {"reference": "Patient/P1"},
        "effectiveDateTime": when,
        "valueQuantity": {"value": 4.5, "unit": "10*9/L"},
    }


def test_one_odd_fhir_resource_is_its_rows_rejection_and_what_it_built_is_taken_back(monkeypatch):
    real = fhir_observations.observation

    def failing(row, res, index, parent, reading, tally):
        real(row, res, index, parent, reading, tally)  # adds its lab record, then fails
        if res["id"] == "odd":
            raise TypeError("unhashable type: 'dict'")

    monkeypatch.setattr(fhir_observations, "observation", failing)
    bundle = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [
            {"resource": _obs("a")},
            {"resource": _obs("odd", "2024-03-06T08:30:00")},
            {"resource": _obs("b", "2024-03-07T08:30:00")},
        ],
    }
    result = _import(("bundle.json", json.dumps(bundle)))
    assert_balanced(result)
    f = result.report.files[0]
    assert (f.rows_read, f.rows_accepted, f.rows_rejected) == (3, 2, 1)
    assert result.labs.num_rows == 2  # the odd resource's half-built result is gone
    (problem,) = f.problems
    assert problem.row == 2 and "could not be read" in problem.message
    assert not any(t in problem.message for t in TECHNICAL)


def test_a_resource_type_that_is_not_a_name_rejects_that_resource_only():
    bundle = {
        "resourceType": "Bundle",
        "entry": [{"resource": _obs("a")}, {"resource": {**_obs("b"), "resourceType": ["Observation"]}}],
    }
    result = _import(("bundle.json", json.dumps(bundle)), ("one.json", json.dumps({**_obs("c"), "resourceType": 7})))
    assert_balanced(result)
    files = _by_name(result)
    assert (files["bundle.json"].rows_accepted, files["bundle.json"].rows_rejected) == (1, 1)
    assert "resourceType is not a name" in files["bundle.json"].problems[0].message
    assert "resourceType is not a name" in files["one.json"].error


@pytest.mark.parametrize(
    ("text", "depth"),
    [
        ("4", 0),
        ("{}", 1),
        ("[[1], [2, [3]]]", 3),
        ('{"a": "[[[[{{{"}', 1),  # brackets inside a string do not count
        ('{"a": "\\"[[[["}', 1),  # nor after an escaped quote
        ('{"a": "\\\\", "b": [[1]]}', 3),  # an escaped backslash does not escape the closing quote
        ("[" * 150, 150),  # cut-off or unbalanced: the deepest level reached
    ],
)
def test_nesting_depth_is_counted_outside_strings(text, depth):
    assert nesting_depth(text) == depth
    assert nesting_depth(text.encode()) == depth


def test_depth_is_checked_across_blocks_and_stops_early():
    text = '{"s": "' + "x" * (1 << 23) + '[[[", "a": ' + "[" * 120 + "]" * 120 + "}"
    assert nesting_depth(text) == 121
    assert too_deep(text) and not too_deep('{"a": [' + "1," * 10_000 + "1]}")
    assert MAX_JSON_DEPTH >= 50  # a real FHIR resource nests a few dozen levels at most


def test_json_nested_beyond_the_limit_is_refused_before_parsing(monkeypatch):
    calls = []
    monkeypatch.setattr(fhir_mod.json, "loads", lambda *a, **k: calls.append(1) or {})
    result = _import(("deep.json", "[" * 100_000 + "]" * 100_000), ("good.csv", GOOD))
    assert not calls  # never handed to the recursive parser
    files = _by_name(result)
    assert "nested more than 100 levels deep" in files["deep.json"].error
    assert files["good.csv"].rows_accepted == 2


def test_bundles_nested_within_bundles_are_walked_without_recursion():
    inner = _obs("bottom")
    for _ in range(30):  # deep, but within the depth limit
        inner = {"resourceType": "Bundle", "entry": [{"resource": inner}]}
    result = _import(("nested.json", json.dumps(inner)))
    assert_balanced(result)
    assert result.labs.num_rows == 1


def test_contained_results_are_resolved_by_id():
    contained = [{**_obs(f"o{i}", f"2024-03-{5 + i:02d}T08:00:00"), "subject": None} for i in range(3)]
    report = {
        "resourceType": "DiagnosticReport",
        "status": "final",
        "code": {"text": "FBC"},
        "subject": {"reference": "Patient/P9"},
        "contained": contained,
        "result": [{"reference": f"#o{i}"} for i in range(3)],
    }
    result = _import(("report.json", json.dumps(report)))
    assert_balanced(result)
    assert result.labs.num_rows == 3 and set(result.labs.column("patient_id").to_pylist()) == {"P9"}
