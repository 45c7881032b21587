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


#: The headers of the long CSVs the clinical tests write their cases in.
LABS_HEAD = "patient_id,collected_at,analyte,value,unit\n"
DOSES_HEAD = "patient_id,drug,dose,dose_unit,frequency,route,start,end\n"
PATIENTS_HEAD = "patient_id,sex,date_of_birth\n"


def csv_import(labs: str, doses: str = "", patients: str = "", *, as_of: dt.date, labs_head: str = LABS_HEAD):
    """Import a case written as the rows of a labs, a doses and a patients CSV (each with
    its header added; an empty doses or patients part is left out), as of ``as_of``."""
    from dashboard.ingest import ImportOptions, Source, import_sources

    sources = [Source("labs.csv", (labs_head + labs).encode())]
    if doses:
        sources.append(Source("doses.csv", (DOSES_HEAD + doses).encode()))
    if patients:
        sources.append(Source("patients.csv", (PATIENTS_HEAD + patients).encode()))
    return import_sources(sources, ImportOptions(today=as_of))


def csv_review(labs: str, doses: str = "", patients: str = "", *, as_of: dt.date, profile=None, **options):
    """:func:`csv_import` and the review of what it accepted: (import result, review)."""
    from dashboard.rules.review import review

    r = csv_import(labs, doses, patients, as_of=as_of, **options)
    return r, review(r.labs, r.doses, r.patients, None, profile, as_of)


def import_text(text: str, name: str = "labs.csv", encoding: str = "utf-8", **options):
    return import_bytes(text.encode(encoding), name, **options)


def import_bundle(*resources: dict, name: str = "b.json", **options):
    """Import FHIR resources as one collection Bundle (every row accounted for)."""
    import json

    doc = {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": r} for r in resources]}
    result = import_bytes(json.dumps(doc).encode(), name, **options)
    assert_balanced(result)
    return result


def fhir_medication_request(dosage: dict, drug: str = "Methotrexate 2.5 MG Oral Tablet", **extra) -> dict:
    """An active FHIR MedicationRequest (an order) of patient p1, authored 2026-01-05,
    with one dosage instruction; ``extra`` replaces or adds fields."""
    res = {
        "resourceType": "MedicationRequest",
        "id": "m1",
        "status": "active",
        "intent": "order",
        "subject": {"reference": "Patient/p1"},
        "medicationCodeableConcept": {"text": drug},
        "authoredOn": "2026-01-05",
        "dosageInstruction": [dosage],
    }
    res.update(extra)
    return res


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


# --------------------------------------------------------------------------- review-workflow panels (probe 6)

#: The review date of the probe-6 panels.
P6_AS_OF = dt.date(2024, 5, 1)
P6_HEAD = "MRN,Collection Date,Component,Result,Units\n"
#: one full monitoring check (FBC, creatinine/eGFR, ALT, albumin), all within range
P6_NORMAL = (
    ("WBC", 5, "10^9/L"),
    ("Neutrophils", 3.0, "10^9/L"),
    ("Lymphocytes", 1.5, "10^9/L"),
    ("Platelets", 250, "10^9/L"),
    ("Hb", 130, "g/L"),
    ("ALT", 20, "U/L"),
    ("Creatinine", 70, "umol/L"),
    ("eGFR", 90, "mL/min/1.73m2"),
    ("Albumin", 40, "g/L"),
)


def full_check(pid: str, day: str) -> str:
    """One full monitoring check of a patient on a day (lab CSV rows without the header)."""
    return "".join(f"{pid},{day} 09:00,{a},{v},{u}\n" for a, v, u in P6_NORMAL)


def p6_workspace(path, *files, at=dt.datetime(2024, 5, 1, 10)):
    """A workspace at ``path`` with each (name, text) file imported in turn, its clock at ``at``."""
    from dashboard.ingest import Source
    from dashboard.store import Workspace

    ws = Workspace(path, timeout=20, clock=lambda: at)
    for name, text in files:
        ws.import_sources([Source(name, text.encode())], by="t")
    return ws


# --------------------------------------------------------------------------- exports against the review (probe 9)

#: The review date of the probe-9 panels.
P9_AS_OF = dt.date(2026, 4, 1)
#: Methotrexate once weekly (P2); mycophenolate from 2025-12-01 with no result since (P3:
#: due 2025-12-15, 107 days overdue on P9_AS_OF); methotrexate 15 mg daily with trimethoprim
#: (D1: two dose checks).
P9_DOSES = (
    "patient_id,drug,dose,dose_unit,frequency,route,start,end\n"
    "P2,methotrexate,15,mg,weekly,oral,2025-11-01,\n"
    "P3,mycophenolate mofetil,1000,mg,twice daily,oral,2025-12-01,\n"
    "D1,methotrexate,15,mg,daily,oral,2026-03-25,\n"
    "D1,trimethoprim,200,mg,twice daily,oral,2026-03-25,\n"
)
P9_PATIENTS = (
    "patient_id,family_name,given_name,sex,birth_date,weight_kg,tpmt,nudt15,diagnosis\n"
    "P2,YAMADA,Taro,M,1960-05-05,70,normal,normal,RA\n"
    "P3,NUNEZ,Zoe,F,1980-02-02,65,normal,normal,Lupus nephritis\n"
    "D1,DAILY,Mo,F,1970-01-01,60,normal,normal,RA\n"
)


def page_with(dataset, as_of: dt.date, page: str = "pages/patient.py"):
    """An AppTest session of the app with ``dataset`` loaded as the session's panel and
    the as-of date set, switched to ``page`` and run."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=120)
    at.run()
    at.session_state["dataset"] = dataset
    at.session_state["as_of"] = as_of
    at.switch_page(page).run()
    return at


def workspace_patient_page(patient_id: str, as_of: dt.date):
    """An AppTest session of the app on the workspace's panel (``?panel=workspace``), with
    the as-of date set and ``patient_id`` selected, switched to the Patient page and run."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=180)
    at.query_params["panel"] = "workspace"
    at.run()
    at.session_state["as_of"] = as_of
    at.session_state["selected_patient"] = patient_id
    at.switch_page("pages/patient.py").run()
    return at


def timeline_dict(dataset, review, as_of: dt.date, patient_id: str = "P1", **options) -> dict:
    """The Patient page's timeline of one patient as ``fig.to_dict()`` (as the page draws
    it: that patient's flags and intervals of the review, the default profile).  The
    figure's frames are one patient's: another patient's flags would lend their grades
    and hovers to results at the same time."""
    from dashboard.figures.timeline import TimelineOptions, timeline_figure
    from dashboard.rules import get_profile

    one = dataset.for_patient(patient_id)
    flags, intervals, after = review.flags_df(), review.intervals_df(), review.after_as_of_df()
    fig = timeline_figure(
        one.labs,
        one.doses,
        flags[flags["patient_id"] == patient_id],
        intervals[intervals["patient_id"] == patient_id],
        get_profile(None),
        one.patients.iloc[0],
        TimelineOptions(as_of=as_of, **options),
        after[after["patient_id"] == patient_id],
    )
    return fig.to_dict()
