"""Probe 36: a patient id that could mean two things is asked about or rejected with the
reason, never picked.

What real clinics feed the import: a lab export, a dose sheet kept in Excel, a patients
list, a FHIR bundle, and two imports into the workspace.  Each finding is a strict xfail
that fails today at the assert marked ``# FAILS TODAY`` (checked with ``--runxfail``); the
asserts before it pass.  The expectations come from the safety rule (never guess a
patient id: ask, or reject with the reason; nothing merged or split silently), not from
the code.  The passing tests record what was checked and works.

The review date is 25 Nov 2026.  Patient 12345 / 0012345 (NHS number 943 476 5919) takes
azathioprine 150 mg daily from 1 Jun 2026; neutrophils 1.0 x10^9/L on 2 Nov 2026 (CTCAE
grade 2, below the BSR limit 1.6).
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from dashboard import summary_export as sx
from dashboard.cli.main import main
from dashboard.dataset import Dataset
from dashboard.identity import other_ids_by_patient
from dashboard.ingest import ImportOptions, Source, import_sources
from dashboard.panel import panel_table
from dashboard.reviews import empty_log
from dashboard.rules.review import review, review_dataset
from dashboard.store import Workspace
from dashboard.store.panel import open_panel
from tests.support import DOSES_HEAD, LABS_HEAD, PATIENTS_HEAD, assert_balanced, csv_import

AS_OF = dt.date(2026, 11, 25)
NEUT = "{pid},2026-11-02 09:00,neutrophils,1.0,10^9/L\n"
AZA = "{pid},azathioprine,150,mg,daily,oral,2026-06-01,\n"


def _labs_and_doses(lab_id: str, dose_id: str):
    """The neutrophils under ``lab_id`` (labs.csv) and the azathioprine under ``dose_id`` (doses.csv)."""
    r = csv_import(NEUT.format(pid=_csv_cell(lab_id)), AZA.format(pid=_csv_cell(dose_id)), as_of=AS_OF)
    assert_balanced(r)
    return r


def _csv_cell(text: str) -> str:
    return '"' + text.replace('"', '""') + '"' if any(c in text for c in ',"') else text


def _warnings(r) -> list[str]:
    return [w.message for f in r.report.files for w in f.warnings]


def _ids(r) -> list[str]:
    return sorted(r.patients.column("patient_id").to_pylist())


def _files(*named: tuple[str, str | bytes]):
    return import_sources(
        [Source(n, d if isinstance(d, bytes) else d.encode()) for n, d in named], ImportOptions(today=AS_OF)
    )


# --------------------------------------------------------------------------- F1 look-alikes said once


LOOKALIKES = [
    pytest.param("943 476 5919", "9434765919", id="nhs-spaced"),
    pytest.param("943-476-5919", "9434765919", id="nhs-dashed"),
    pytest.param("ab12", "AB12", id="case"),
    pytest.param("12345.0", "12345", id="excel-dot-zero"),
    pytest.param("\uff11\uff12\uff13\uff14\uff15", "12345", id="full-width"),
]


@pytest.mark.parametrize(("lab_id", "dose_id"), LOOKALIKES)
def test_f1_lookalike_ids_are_named_beside_each_patient_in_every_output(lab_id, dose_id):
    r = _labs_and_doses(lab_id, dose_id)
    assert _ids(r) == sorted([lab_id, dose_id])  # kept apart: right, never merged by a guess
    assert any("look alike" in w and dose_id in w for w in _warnings(r))  # the import names them once
    notes = other_ids_by_patient(r.aliases, _ids(r))  # the one wording of the Panel, PDF, CLI review
    assert any(dose_id in n for n in notes.get(lab_id, [])), notes  # FAILS TODAY
    assert any(lab_id in n for n in notes.get(dose_id, [])), notes


def test_f1_the_panel_and_the_cli_review_name_the_spaced_nhs_number(tmp_path: Path, capsys):
    r = _labs_and_doses("943 476 5919", "9434765919")
    ds = Dataset.from_import(r, "session")
    table = panel_table(ds, review_dataset(ds, "BSR 2025", AS_OF)).set_index("Patient")
    # by hand: the neutropenia has no drug, the azathioprine no blood test: two half-patients
    assert "no monitored drug" in " ".join(review(r.labs, r.doses, r.patients, None, None, AS_OF).flags_df()["message"])
    (tmp_path / "labs.csv").write_text(LABS_HEAD + NEUT.format(pid="943 476 5919"))
    (tmp_path / "doses.csv").write_text(DOSES_HEAD + AZA.format(pid="9434765919"))
    assert (
        main(["review", str(tmp_path / "labs.csv"), str(tmp_path / "doses.csv"), "--as-of", "2026-11-25", "--json"])
        == 0
    )
    by_id = {p["patient_id"]: p for p in json.loads(capsys.readouterr().out)["patients"]}
    said = (table.loc["943 476 5919", "Another id"], by_id["943 476 5919"]["other_ids"])
    assert all("9434765919" in str(s) for s in said), said  # FAILS TODAY


@pytest.fixture
def ws(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Workspace:
    path = tmp_path / "workspace"
    monkeypatch.setenv("DASHBOARD_WORKSPACE", str(path))
    return Workspace(path, timeout=20, clock=lambda: dt.datetime(2026, 11, 25, 9, 0))


def test_f1_the_workspace_forgets_a_lookalike_pair_after_the_import(ws):
    ws.import_sources([Source("labs.csv", (LABS_HEAD + NEUT.format(pid="943 476 5919")).encode())], by="Dr A")
    out = ws.import_sources([Source("doses.csv", (DOSES_HEAD + AZA.format(pid="9434765919")).encode())], by="Dr A")
    assert "look alike" in out.report.to_text()  # said once, in week 2's report (H125)
    p = open_panel(ws)
    assert sorted(p.patients["patient_id"]) == ["943 476 5919", "9434765919"]  # never merged: right
    frame = sx.panel_frame(
        p.labs, p.doses, p.patients, p.reviews, AS_OF, p.baselines, None, p.intervals, aliases=p.aliases
    ).set_index("Patient")
    said = (frame.loc["943 476 5919", "Another id"], p.summary("943 476 5919", AS_OF).other_ids)
    assert all("9434765919" in str(s) for s in said), said  # FAILS TODAY


# --------------------------------------------------------------------------- F2 spreadsheet marks


SPREADSHEET_FORMS = [
    pytest.param('="0012345"', "0012345", id="excel-text-formula"),
    pytest.param("'0012345", "0012345", id="excel-apostrophe"),
    pytest.param("12,345", "12345", id="thousands-separator"),
    pytest.param("\u0661\u0662\u0663\u0664\u0665", "12345", id="arabic-indic-digits"),
]


@pytest.mark.parametrize(("lab_id", "dose_id"), SPREADSHEET_FORMS)
def test_f2_an_id_in_a_spreadsheets_text_form_is_rejected_or_named(lab_id, dose_id):
    r = _labs_and_doses(lab_id, dose_id)
    labs = r.report.files[0]
    rejected = labs.rows_rejected == 1 and any("patient id" in p.message for p in labs.problems)
    named = any(lab_id in w and dose_id in w for w in _warnings(r))
    assert rejected or named, (_ids(r), _warnings(r))  # FAILS TODAY


# --------------------------------------------------------------------------- F3 a disputed birth date picked


WBC_ALT = "12345,2026-11-02 09:00,wbc,3.7,10^9/L\n12345,2026-11-02 09:00,alt,60,U/L\n"


def _flags_with_births(first: str, second: str) -> list[str]:
    r = csv_import(WBC_ALT, patients=f"12345,F,{first}\n12345,F,{second}\n", as_of=AS_OF)
    [conflict] = r.report.identity_conflicts
    assert conflict.field == "birth_date"  # the dispute is seen
    flags = review(r.labs, r.doses, r.patients, None, None, AS_OF).flags_df()
    return sorted(flags["rule"] + ": " + flags["message"])


def test_f3_the_grades_do_not_depend_on_which_birth_date_came_first():
    # by hand: WBC 3.7 < the adult default LLN 4.0 is CTCAE grade 1 for an adult, while a
    # child's result is never graded on an adult default LLN; the two dates disagree on
    # which she is, so the row order must not settle it
    child_first = _flags_with_births("2016-05-01", "1976-05-01")
    adult_first = _flags_with_births("1976-05-01", "2016-05-01")
    assert any("alt" in f for f in child_first) and any("alt" in f for f in adult_first)
    assert child_first == adult_first, (child_first, adult_first)  # FAILS TODAY


# --------------------------------------------------------------------------- F4 a disputed birth date printed as fact


def test_f4_a_disputed_birth_date_is_never_given_as_the_patients_identifier(tmp_path: Path, capsys):
    (tmp_path / "labs.csv").write_text(LABS_HEAD + WBC_ALT)
    (tmp_path / "patients.csv").write_text(PATIENTS_HEAD + "12345,F,2016-05-01\n12345,F,1976-05-01\n")
    args = [str(tmp_path / "labs.csv"), str(tmp_path / "patients.csv"), "--as-of", "2026-11-25", "--json"]
    assert main(["review", *args]) == 0
    [me] = json.loads(capsys.readouterr().out)["patients"]
    r = csv_import(WBC_ALT, patients="12345,F,2016-05-01\n12345,F,1976-05-01\n", as_of=AS_OF)
    ds = Dataset.from_import(r, "session")
    row = sx.panel_frame(ds.labs, ds.doses, ds.patients, empty_log(), AS_OF, ds.baselines, None).iloc[0]
    cli_ok = me["birth_date"] in (None, "") or "dates of birth" in json.dumps(me)
    csv_ok = row["Birth date"] in (None, "") or "dates of birth" in " ".join(str(v) for v in row.to_numpy())
    assert cli_ok and csv_ok, (me["birth_date"], row["Birth date"])  # FAILS TODAY


# --------------------------------------------------------------------------- F5 two id columns


def test_f5_the_second_id_column_of_a_lab_export_is_kept_as_an_identifier():
    r = _files(
        (
            "labs.csv",
            "MRN,NHS Number,Collection Date,Component,Result,Units\n"
            "0012345,9434765919,2026-11-02 09:00,Neutrophils,1.0,10^9/L\n",
        ),
        ("doses.csv", "NHS Number,drug,dose,unit,frequency,route,start,end\n" + AZA.format(pid="9434765919")),
    )
    assert_balanced(r)
    assert _ids(r) == ["0012345", "9434765919"]  # the same person by the labs file's own row
    asked = any(f.needs == "mapping" for f in r.report.files)
    named = any("0012345" in w and "9434765919" in w for w in _warnings(r))
    assert asked or named, _warnings(r)  # FAILS TODAY


# --------------------------------------------------------------------------- FHIR

NHS = "https://fhir.nhs.uk/Id/nhs-number"
MR = {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "MR"}]}


def _patient(pid: str, mrn: str = "", nhs: str = "", **extra) -> dict:
    idents = ([{"type": MR, "system": "urn:mrn", "value": mrn}] if mrn else []) + (
        [{"system": NHS, "value": nhs}] if nhs else []
    )
    res = {"resourceType": "Patient", "id": pid, "identifier": idents, "gender": "female", "birthDate": "1970-02-03"}
    res.update(extra)
    return res


def _neut(i: int, subject: dict, day: int = 2) -> dict:
    return {
        "resourceType": "Observation",
        "id": f"o{i}",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "751-8", "display": "Neutrophils"}]},
        "subject": subject,
        "effectiveDateTime": f"2026-11-{day:02d}T09:00:00Z",
        "valueQuantity": {"value": 1.0, "unit": "10*9/L", "system": "http://unitsofmeasure.org", "code": "10*9/L"},
    }


def _bundle(*resources: dict) -> str:
    return json.dumps(
        {
            "resourceType": "Bundle",
            "type": "collection",
            "entry": [{"fullUrl": f"http://x/{r['resourceType']}/{r['id']}", "resource": r} for r in resources],
        }
    )


def test_f6_two_fhir_patients_with_one_mrn_are_named():
    r = _files(
        (
            "b.json",
            _bundle(
                _patient("p1", mrn="0012345", name=[{"family": "Doe", "given": ["Jane"]}]),
                _patient("p2", mrn="0012345", name=[{"family": "Doe", "given": ["Jane"]}], birthDate="1970-03-02"),
                _neut(1, {"reference": "Patient/p1"}),
                _neut(2, {"reference": "Patient/p2"}, day=3),
            ),
        )
    )
    assert_balanced(r)
    assert _ids(r) == ["p1", "p2"]  # kept apart: right
    assert any("p1" in w and "p2" in w for w in _warnings(r)), _warnings(r)  # FAILS TODAY


def test_f7_a_spaced_nhs_number_is_matched_against_a_fhir_patients_identifier():
    r = _files(
        ("b.json", _bundle(_patient("p1", mrn="0012345", nhs="9434765919"), _neut(1, {"reference": "Patient/p1"}))),
        ("doses.csv", DOSES_HEAD + AZA.format(pid="943 476 5919")),
    )
    assert_balanced(r)
    assert _ids(r) == ["943 476 5919", "p1"]
    notes = other_ids_by_patient(r.aliases, _ids(r))
    named = any("p1" in w and "943 476 5919" in w for w in _warnings(r))
    assert named and "943 476 5919" in notes, (_warnings(r), notes)  # FAILS TODAY


def test_f7_a_subject_identifier_written_with_spaces_is_not_silently_a_new_patient():
    r = _files(
        (
            "b.json",
            _bundle(
                _patient("p1", mrn="0012345", nhs="9434765919"),
                _neut(1, {"reference": "Patient/p1"}),
                _neut(2, {"identifier": {"system": NHS, "value": "943 476 5919"}}, day=4),
            ),
        )
    )
    assert_balanced(r)
    filed_apart = "943 476 5919" in _ids(r)
    named = any("p1" in w and "943 476 5919" in w for w in _warnings(r)) or bool(
        other_ids_by_patient(r.aliases, _ids(r))
    )
    assert filed_apart  # today: a patient of its own
    assert named or r.report.files[0].rows_rejected, _warnings(r)  # FAILS TODAY


def test_f8_a_replaced_by_link_is_named_beside_each_record():
    r = _files(
        (
            "b.json",
            _bundle(
                _patient("old", mrn="0012345", link=[{"type": "replaced-by", "other": {"reference": "Patient/new"}}]),
                _patient("new", mrn="0012346"),
                _neut(1, {"reference": "Patient/old"}),
                _neut(2, {"reference": "Patient/new"}, day=3),
            ),
        )
    )
    assert_balanced(r)
    assert any("replaced by" in w for w in _warnings(r))  # said once, in the import report
    notes = other_ids_by_patient(r.aliases, _ids(r))
    assert any("new" in n for n in notes.get("old", [])), notes  # FAILS TODAY


# --------------------------------------------------------------------------- checked, and works


@pytest.mark.parametrize(
    ("odd", "char"),
    [
        ("943\u00a0476\u00a05919", "NO-BREAK SPACE"),
        ("12345\u200b", "ZERO WIDTH SPACE"),
        ("123\u200d45", "ZERO WIDTH JOINER"),
    ],
)
def test_ok_an_id_holding_a_hidden_character_is_rejected_naming_it(odd, char):
    r = _labs_and_doses(odd, "12345")
    [p] = r.report.files[0].problems
    assert r.report.files[0].rows_rejected == 1 and char in p.message


def test_ok_a_non_breaking_space_at_the_end_is_stripped_and_said():
    r = _labs_and_doses("12345\u00a0", "12345")
    assert _ids(r) == ["12345"] and any("non-breaking space" in w for w in _warnings(r))


@pytest.mark.parametrize("form", ["1.2345E+5", "9.43477E+09"])
def test_ok_an_id_in_exponent_form_is_rejected_with_the_range_it_could_be(form):
    r = _labs_and_doses(form, "9434765919")
    [p] = r.report.files[0].problems
    assert "exponent form" in p.message and "stands for any id from" in p.message


def test_ok_leading_zeros_dropped_by_excel_are_named_in_every_output():
    r = _labs_and_doses("0012345", "12345")
    notes = other_ids_by_patient(r.aliases, _ids(r))
    assert "MRN 12345 too" in notes["0012345"][0] and "MRN 0012345 too" in notes["12345"][0]


def test_ok_a_disputed_sex_is_left_unknown_for_the_rules():
    r = csv_import(NEUT.format(pid="12345"), patients="12345,F,1976-05-01\n12345,M,1976-05-01\n", as_of=AS_OF)
    assert r.patients.column("sex").to_pylist() == [""]
    assert "neither is used" in r.report.identity_conflicts[0].message


def test_ok_two_identical_patient_rows_are_one_patient_and_a_duplicate():
    r = csv_import(NEUT.format(pid="12345"), patients="12345,F,1976-05-01\n12345,F,1976-05-01\n", as_of=AS_OF)
    pf = r.report.files[-1]
    assert (pf.rows_accepted, pf.duplicates) == (1, 1) and not r.report.identity_conflicts


def test_ok_a_dose_without_results_is_on_the_panel_as_overdue():
    r = csv_import(NEUT.format(pid="A1"), AZA.format(pid="B2"), as_of=AS_OF)
    ds = Dataset.from_import(r, "session")
    table = panel_table(ds, review_dataset(ds, "BSR 2025", AS_OF)).set_index("Patient")
    assert "overdue" in table.loc["B2", "Why"] and table.loc["B2", "Overdue (days)"] > 0


def test_ok_a_fhir_reference_by_mrn_without_its_zeros_is_named_beside_the_patient():
    r = _files(
        (
            "b.json",
            _bundle(
                _patient("p1", mrn="0012345"),
                _neut(1, {"reference": "Patient/p1"}),
                _neut(2, {"reference": "Patient?identifier=urn:mrn|12345"}, day=3),
            ),
        )
    )
    notes = other_ids_by_patient(r.aliases, _ids(r))
    assert _ids(r) == ["12345", "p1"] and "12345" in notes and "p1" in notes


def test_ok_excel_number_cells_keep_their_zeros_and_refuse_lost_digits():
    import io

    import openpyxl
    from openpyxl.worksheet.worksheet import Worksheet

    wb = openpyxl.Workbook()
    sheet = wb.active
    assert isinstance(sheet, Worksheet)
    sheet.append(["MRN", "Collection Date", "Component", "Result", "Units"])
    for i, (v, fmt) in enumerate([(12345, "0000000"), (12345678901234567, "0")]):
        sheet.append([v, dt.datetime(2026, 11, 2, 9 + i), "Neutrophils", 1.0, "10^9/L"])
        sheet.cell(row=sheet.max_row, column=1).number_format = fmt
    buf = io.BytesIO()
    wb.save(buf)
    r = _files(("labs.xlsx", buf.getvalue()))
    assert _ids(r) == ["0012345"]  # shown as 0012345 in Excel: read so
    assert "exponent form" in r.report.files[0].problems[0].message  # 17 digits: Excel kept 15
