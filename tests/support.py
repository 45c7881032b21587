"""Helpers shared by the tests (import them as ``from tests.support import ...``)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"

#: The "today" tests run against, so results never age into the future or past.
TODAY = dt.date(2026, 11, 25)


def import_bytes(data: bytes, name: str = "labs.csv", **options):
    """Import one in-memory file with the test's fixed 'today'."""
    from dashboard.ingest import ImportOptions, Source, import_sources

    options.setdefault("today", TODAY)
    return import_sources([Source(name, data)], ImportOptions(**options))


def import_text(text: str, name: str = "labs.csv", encoding: str = "utf-8", **options):
    return import_bytes(text.encode(encoding), name, **options)


def import_bundle(*resources: dict, name: str = "b.json", **options):
    """Import FHIR resources as one collection Bundle (every row accounted for)."""
    import json

    doc = {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": r} for r in resources]}
    result = import_bytes(json.dumps(doc).encode(), name, **options)
    assert_balanced(result)
    return result


def assert_balanced(result) -> None:
    """Every row of every file is accounted for."""
    for f in result.report.files:
        f.check()  # the report's own check (RowAccountingError), and the invariant spelled out:
        assert f.rows_read == f.rows_accepted + f.rows_rejected + f.duplicates, f.to_dict()
        if f.results_read:
            assert f.results_read == f.results_accepted + f.results_rejected + f.results_duplicate, f.to_dict()


def shown_review(at):
    """The review the app's pages showed in an AppTest session.

    The app keeps the review in a Streamlit cache keyed on version tokens
    (``dashboard/ui/caching.py``), not in the session state, so a test computes it again
    from the session's dataset, profile and as-of date (``tests/ui/test_caching.py``
    checks that the cache follows each of them)."""
    from dashboard.rules import review_dataset

    s = at.session_state
    return review_dataset(s["dataset"], s["rules_profile"], s["as_of"])
