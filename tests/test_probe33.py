"""Probe 33: one result, every view.  Is it graded, shown and worded the same everywhere,
with the raw value never hidden behind a derived one?

A small clinic panel, imported through the real CSV path (``tests.support.csv_import``),
each patient on azathioprine 100 mg daily since 2025-01-01, reviewed as of 2026-06-01.
Every expected grade is read by hand from CTCAE v5.0 (Investigations / Blood and lymphatic
system disorders) and every converted value from the unit definitions:

* neutrophil count decreased: G1 <LLN-1.5, G2 <1.5-1.0, G3 <1.0-0.5, G4 <0.5 ×10⁹/L;
* WBC decreased: G1 <LLN-3.0, G2 <3.0-2.0, G3 <2.0-1.0, G4 <1.0 ×10⁹/L;
* lymphocyte count decreased: G1 <LLN-0.8, G2 <0.8-0.5, G3 <0.5-0.2, G4 <0.2 ×10⁹/L;
* platelet count decreased: G1 <LLN-75, G2 <75-50, G3 <50-25, G4 <25 ×10⁹/L;
* anaemia: G1 <LLN-10.0 g/dL (<LLN-6.2 mmol/L, <LLN-100 g/L), G2 <10.0-8.0 g/dL
  (<6.2-4.9 mmol/L, <100-80 g/L), G3 <8.0 g/dL (<4.9 mmol/L, <80 g/L);
* ALT increased (normal baseline): G1 >ULN-3.0×ULN, G2 >3.0-5.0×ULN, G3 >5.0-20.0×ULN;
* creatinine increased: G1 >ULN-1.5×ULN, G2 >1.5-3.0×ULN, G3 >3.0-6.0×ULN.

Units: 1 K/µL = 1 ×10³/µL = 1 ×10⁹/L; 1000 cells/µL = 1 ×10⁹/L; 1 g/dL = 10 g/L;
Hb 1 mmol/L (monomer) = 16.11 g/L; creatinine 1 mg/dL = 88.4 µmol/L.

Findings are strict xfails, each failing at the assert marked "F<n>".
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import io
import json
import re
from typing import Any

import pandas as pd
import pytest

from dashboard.dataset import Dataset
from dashboard.figures.timeline import TimelineOptions, timeline_figure
from dashboard.panel import panel_table, value_column
from dashboard.reviews import empty_log
from dashboard.rules import get_profile
from dashboard.rules.review import Review, review_dataset
from dashboard.views import flags_table, patient_results
from tests.support import csv_import

AS_OF = dt.date(2026, 6, 1)
HEAD = "patient_id,collected_at,analyte,value,unit,reference_range,flag\n"
DRAW = "2026-05-20 09:00"

#: (patient, test, value as written, unit as written, lab's range, lab's flag)
ROWS: tuple[tuple[str, str, str, str, str, str], ...] = (
    ("AZ1", "Neutrophils", "0.9", "10^9/L", "2.0-7.5", "L"),  # 0.9 < 1.0: G3
    ("PL1", "Platelets", "<10", "10^9/L", "150-400", "LL"),  # below 10 < 25: G4 (no worse grade)
    ("HB1", "Haemoglobin", "8.4", "g/dL", "11.5-16.5", "L"),  # 8.4 g/dL = 84 g/L: G2
    ("HB2", "Haemoglobin", "84", "g/L", "115-165", "L"),  # G2
    ("HB3", "Haemoglobin", "5.2", "mmol/L", "7.1-10.2", "L"),  # < 6.2 mmol/L: G2; = 83.8 g/L
    ("LY1", "Lymphocytes", "0.45", "10^9/L", "1.0-4.0", "L"),  # < 0.5: G3
    ("CH1", "WBC", "2.5", "10^9/L", "", ""),  # a child: < 3.0 is G2 at any age
    ("US1", "WBC", "2.8", "K/uL", "4.0-11.0", "L"),  # 2.8 ×10⁹/L: G2
    ("US1", "Neutrophils", "1400", "cells/uL", "1800-7700", "L"),  # 1.4 ×10⁹/L: G2
    ("CR1", "Creatinine", "2.0", "mg/dL", "0.5-1.1", "H"),  # 176.8 µmol/L; 2.0/1.1 = 1.82 × ULN: G2
    ("AL1", "ALT", "124", "U/L", "0-40", "H"),  # 124/40 = 3.1 × ULN: G2
    ("FL1", "Neutrophils", "1.7", "10^9/L", "", "L"),  # no range: default LLN 2.0, G1
    ("DU1", "Neutrophils", "1.2", "10^9/L", "2.0-7.5", "L"),  # one draw, two values:
    ("DU1", "Neutrophils", "0.8", "10^9/L", "2.0-7.5", "L"),  # 1.2 is G2, 0.8 is G3: G3 counts
    ("LF1", "Neutrophils", "2.1", "10^9/L", "", "L"),  # the lab says low, no range given
    ("ALB", "Albumin", "2.8", "g/dL", "3.5-5.0", "L"),  # 28 g/L < 30 (BSR)
    ("H62", "Haemoglobin", "6.2", "mmol/L", "7.1-10.2", "L"),  # 6.2 mmol/L = 99.9 g/L
    ("CEN", "WBC", "<2.5", "10^9/L", "4.0-11.0", "L"),  # below 2.5: G2, or G3/G4 below 2.0
)
PATIENTS = sorted({r[0] for r in ROWS})
LABS = "".join(f"{p},{DRAW},{t},{v},{u},{rng},{flag}\n" for p, t, v, u, rng, flag in ROWS)
DOSES = "".join(f"{p},azathioprine,100,mg,daily,oral,2025-01-01,\n" for p in PATIENTS)
PATIENT_ROWS = "".join(f"{p},{'M,2018-03-01' if p == 'CH1' else 'F,1970-01-01'}\n" for p in PATIENTS)

#: patient -> (analyte, CTCAE v5.0 grade of its latest result, by hand)
GRADES = {
    "AZ1": ("neutrophils", 3),
    "PL1": ("platelets", 4),
    "HB1": ("hemoglobin", 2),
    "HB2": ("hemoglobin", 2),
    "HB3": ("hemoglobin", 2),
    "LY1": ("lymphocytes", 3),
    "CH1": ("wbc", 2),
    "CR1": ("creatinine", 2),
    "AL1": ("alt", 2),
    "FL1": ("neutrophils", 1),
    "DU1": ("neutrophils", 3),
}
PANEL_CELL = {"neutrophils": "Neut", "platelets": "Plt", "hemoglobin": "Hb", "lymphocytes": "Lymph", "wbc": "WBC"}
PANEL_CELL.update({"alt": "ALT"})


@pytest.fixture(scope="module")
def panel() -> tuple[Dataset, Review]:
    result = csv_import(LABS, DOSES, PATIENT_ROWS, as_of=AS_OF, labs_head=HEAD)
    for f in result.report.files:
        assert f.rows_read == f.rows_accepted and not f.problems, f.to_dict()
    ds = Dataset.from_import(result, "probe33")
    return ds, review_dataset(ds, None, AS_OF)


@pytest.fixture(scope="module")
def cli_outputs(tmp_path_factory) -> dict[str, Any]:
    """The CLI's ``review`` on the same three files: text, JSON, compact JSON lines, CSV."""
    from dashboard.cli.main import main

    d = tmp_path_factory.mktemp("probe33")
    (d / "labs.csv").write_text(HEAD + LABS, encoding="utf-8")
    (d / "doses.csv").write_text("patient_id,drug,dose,dose_unit,frequency,route,start,end\n" + DOSES, encoding="utf-8")
    (d / "patients.csv").write_text("patient_id,sex,date_of_birth\n" + PATIENT_ROWS, encoding="utf-8")
    files = [str(d / n) for n in ("labs.csv", "doses.csv", "patients.csv")]
    out: dict[str, Any] = {}

    def run(*extra: str) -> str:
        raw = io.BytesIO()
        stdout = io.TextIOWrapper(raw, encoding="utf-8", write_through=True)  # the CLI writes bytes too
        with contextlib.redirect_stdout(stdout):
            assert main(["review", *files, "--as-of", AS_OF.isoformat(), *extra]) == 0
        stdout.flush()
        return raw.getvalue().decode("utf-8")

    for key, extra in (("text", ()), ("json", ("--json",)), ("compact", ("--json", "--compact"))):
        out[key] = run(*extra)
    flags_csv = d / "flags.csv"
    run("--csv", str(flags_csv))
    out["csv"] = list(csv.DictReader(io.StringIO(flags_csv.read_text(encoding="utf-8-sig"))))
    return out


def _chart(ds: Dataset, rv: Review, pid: str, system: str = "SI", analytes: tuple[str, ...] = ()) -> dict:
    """The Patient page's timeline of one patient, with that patient's flags only (as the
    page passes them: ``ui.caching.patient_review``)."""
    one = ds.for_patient(pid)
    flags, intervals = rv.flags_df(), rv.intervals_df()
    fig = timeline_figure(
        one.labs,
        one.doses,
        flags[flags["patient_id"] == pid],
        intervals[intervals["patient_id"] == pid],
        get_profile(None),
        one.patients.iloc[0],
        TimelineOptions(analytes=analytes, system=system, as_of=AS_OF),
    )
    return fig.to_dict()


def _points(fig: dict) -> list[tuple[str, float, str]]:
    """(legend name, y, hover) of every result marker of a timeline."""
    return [
        (t["name"], y, h)
        for t in fig["data"]
        if t.get("mode") == "markers"
        for y, h in zip(t["y"], t["customdata"], strict=True)
    ]


def _row(table: pd.DataFrame, pid: str) -> pd.Series:
    return table.set_index("Patient").loc[pid]


def _pdf_text(ds: Dataset, pid: str) -> str:
    import pypdf

    from dashboard import summary_export as sx

    s = sx.patient_summary(ds.labs, ds.doses, ds.patients, ds.baselines, empty_log(), pid, AS_OF, figure=False)
    pdf = sx.patient_summary_pdf(s)
    return "\n".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(pdf)).pages)


# =========================================================================== findings


def test_f1_the_patient_csv_keeps_the_graded_value_of_a_draw_with_two(panel):
    """DU1: neutrophils 1.2 and 0.8 ×10⁹/L at one draw.  The review counts the more severe,
    0.8 (G3: 0.8 < 1.0), and so do the Panel ("0.8 G3") and the PDF's latest results.  The
    patient CSV (and the patient workbook's "Results" sheet, both through
    ``summary_export.patient_results_wide``) pivots with ``aggfunc="first"`` and writes 1.2
    alone: a G2-level count for a draw the review grades 3, and 0.8 is in no cell."""
    from dashboard import summary_export as sx

    ds, _ = panel
    text = sx.patient_csv(ds.labs, "DU1").decode("utf-8-sig")
    cells = next(csv.DictReader(io.StringIO(text)))
    assert "0.8" in cells["Neutrophils (10^9/L)"]  # F1: the cell reads "1.2"


def test_f2_each_value_of_a_draw_with_two_keeps_its_own_grade_on_the_chart(panel):
    """DU1 again.  The flags table grades 1.2 as 2 and 0.8 as 3 (CTCAE: 1.2 is in <1.5-1.0).
    On the Patient page's timeline both points are drawn in the "grade 3" trace and the
    hover of the 1.2 point reads "Neutrophils 1.2 ×10⁹/L ... CTCAE v5.0 grade 3".  Cause:
    ``figures/timeline.py`` ``_HoverContext`` keys flags by (analyte, collected_at), not by
    the result (``lab_row``), so every value of the draw takes the highest grade and every
    flag's message."""
    ds, rv = panel
    table = flags_table(rv.flags_df()[lambda f: f["patient_id"] == "DU1"])
    ctcae = table[table["Rule"] == "ctcae.neutrophils"]
    by_value = dict(zip(ctcae["Value"], ctcae["CTCAE"], strict=True))
    assert by_value == {"1.2 ×10⁹/L": "2", "0.8 ×10⁹/L": "3"}  # the flags table: right
    point = {y: (name, hover) for name, y, hover in _points(_chart(ds, rv, "DU1"))}
    assert set(point) == {1.2, 0.8}
    assert point[0.8][0] == "grade 3"
    assert point[1.2][0] == "grade 2" and "grade <b>2</b>" in point[1.2][1]  # F2: "grade 3", hover says 3


def test_f3_the_patient_csv_keeps_the_value_as_the_lab_reported_it(panel):
    """HB3: Hb 5.2 mmol/L (= 83.8 g/L).  The patient CSV (``summary_export.patient_csv``, the
    Patient page's and ``workspace export --format csv --patient``'s download) has one column
    "Hb (g/L)" reading 84, and nothing else: 5.2 mmol/L is in no cell of the file, nor is
    2.0 mg/dL for CR1 (177 under "Creatinine (umol/L)") or 1400 cells/uL for US1 (1.4).  The
    workbook has a "Results (raw)" sheet; the CSV has no counterpart."""
    from dashboard import summary_export as sx

    ds, _ = panel
    text = sx.patient_csv(ds.labs, "HB3").decode("utf-8-sig")
    assert "84" in text  # the converted value is there
    assert "5.2" in text and "mmol/L" in text  # F3: only "Collected,Hb (g/L)" / "...,84"


def test_f3b_the_home_results_table_keeps_the_value_as_the_lab_reported_it(panel):
    """The Home page's "Results" tab (``views.patient_results``, "the results as the
    dashboard now holds them") shows HB3's Hb as "84" under "Hb (g/L)" (US: "8.4" under
    "Hb (g/dL)"); 5.2 mmol/L appears nowhere on that tab.  The Patient page's flags table and
    the chart's hover do say "as reported: 5.2 mmol/L"."""
    ds, _ = panel
    table = patient_results(ds.labs, "HB3", "SI")
    assert table.iloc[0]["Hb (g/L)"] == "84"
    assert "5.2" in " ".join(table.astype(str).to_numpy().ravel())  # F3: absent


def test_f4_a_lab_low_flag_without_a_range_is_never_called_grade_0(panel):
    """LF1: neutrophils 2.1 ×10⁹/L, the lab's flag "L", no range in the row.  The lab's flag
    says the value is below the lab's own LLN, which is CTCAE grade 1 for a value of 1.5 or
    more.  The dashboard grades it on its default LLN (2.0) as normal: the Panel's "CTCAE now"
    reads 0, the chart draws it inside the (default) reference band as "grade 0 / not
    graded", and the lab's "L" is on no screen (only the PDF's and workbook's "Lab flag"
    columns).  A grade the lab's own flag contradicts should not be stated as 0."""
    ds, rv = panel
    row = _row(panel_table(ds, rv, "SI"), "LF1")
    assert row["Neut"].split()[0] == "2.1"  # viewfix: the cell now carries its grade ("2.1 G1", H484)
    ((_, _, hover),) = _points(_chart(ds, rv, "LF1", analytes=("neutrophils",)))
    assert row["CTCAE now"] != "0" or "L" in re.sub(r"<[^>]+>", " ", hover).split()  # F4: "0", no "L"


def test_f5_the_panel_why_follows_the_unit_system(panel):
    """ALB: albumin 2.8 g/dL (= 28 g/L, below the BSR limit 30 g/L = 3.0 g/dL).  With the
    unit system set to US, the Panel's columns are in g/dL, K/µL, mg/dL, but the Why reads
    "Alb 28 < 30" (SI numbers, no unit); the Patient page's Finding reads "Albumin 28 g/L < 30"
    beside Value "2.8 g/dL" (probe11 saw the Finding; it has its unit).  Likewise a creatinine
    rise: "Creat 123.76, 40.00% above 88.4" for 1.4 mg/dL after 1.0 mg/dL."""
    ds, rv = panel
    why = _row(panel_table(ds, rv, "US"), "ALB")["Why"]
    assert "Alb" in why
    assert "28 < 30" not in why and "2.8" in why  # F5: "Alb 28 < 30"


def test_f6_the_hb_shown_sits_on_the_side_of_the_cut_off_its_grade_says(panel):
    """H62: Hb 6.2 mmol/L.  Graded on the reported unit (README), 6.2 is not < 6.2 mmol/L:
    grade 1 (< LLN 7.1).  Converted it is 6.2 × 16.11 = 99.9 g/L, and the Panel shows
    "99.9 G1" (US: "9.99 G1"): a number below CTCAE's grade 2 cut in the unit shown
    (< 100 g/L, < 10.0 g/dL) beside grade 1, with the reported 6.2 mmol/L nowhere on the row.
    The flags table does say "(6.2 mmol/L as reported < 7.1 mmol/L)"."""
    ds, rv = panel
    cell = _row(panel_table(ds, rv, "SI"), "H62")["Hb"]
    number = float(cell.split()[0])
    assert cell.endswith("G1")
    assert number >= 100 or "6.2" in cell  # F6: "99.9 G1"


# =========================================================================== checked and fine


def test_the_import_converts_each_unit_by_its_definition(panel):
    ds, _ = panel
    labs = ds.labs.set_index(["patient_id", "analyte"])
    assert labs.loc[("HB1", "hemoglobin"), "value"] == pytest.approx(84.0)  # 8.4 g/dL × 10
    assert labs.loc[("HB3", "hemoglobin"), "value"] == pytest.approx(5.2 * 16.11, abs=0.1)  # 83.8 g/L
    assert labs.loc[("US1", "wbc"), "value"] == pytest.approx(2.8)  # K/µL = ×10⁹/L
    assert labs.loc[("US1", "neutrophils"), "value"] == pytest.approx(1.4)  # 1400 cells/µL / 1000
    assert labs.loc[("CR1", "creatinine"), "value"] == pytest.approx(2.0 * 88.4)  # 176.8 µmol/L
    assert labs.loc[("CR1", "creatinine"), "ref_high"] == pytest.approx(1.1 * 88.4)  # the lab's ULN too
    assert labs.loc[("ALB", "albumin"), "value"] == pytest.approx(28.0)  # 2.8 g/dL × 10
    assert labs.loc[("PL1", "platelets"), "comparator"] == "<"


@pytest.mark.parametrize("pid", sorted(GRADES))
def test_one_grade_in_every_view(panel, cli_outputs, pid):
    """The CTCAE grade of each result, by hand, in the flags, the Panel (cell and CTCAE
    now, SI and US), the panel CSV, and the CLI's JSON, compact JSON and CSV."""
    from dashboard import summary_export as sx

    ds, rv = panel
    analyte, grade = GRADES[pid]
    flags = rv.open_flags_df()
    mine = flags[(flags["patient_id"] == pid) & (flags["kind"] == "ctcae")]
    assert mine["ctcae_grade"].astype(int).tolist() == [grade]
    for system in ("SI", "US"):
        row = _row(panel_table(ds, rv, system), pid)
        assert row["CTCAE now"] == str(grade)
        if analyte in PANEL_CELL:
            assert row[PANEL_CELL[analyte]].endswith(f" G{grade}")
    frame = sx.panel_frame(ds.labs, ds.doses, ds.patients, None, AS_OF, ds.baselines).set_index("Patient")
    label = {"neutrophils": "Neutrophils", "platelets": "Platelets", "hemoglobin": "Hb", "lymphocytes": "Lymphocytes"}
    label.update({"wbc": "WBC", "creatinine": "Creatinine", "alt": "ALT"})
    assert int(frame.loc[pid, f"{label[analyte]} CTCAE grade"]) == grade
    record = next(p for p in json.loads(str(cli_outputs["json"]))["patients"] if p["patient_id"] == pid)
    assert record["max_ctcae_grade"] == grade and record["worst_ctcae_grade"] == {analyte: grade}
    lines = [json.loads(x) for x in str(cli_outputs["compact"]).splitlines()[1:]]
    compact = next(p for p in lines if p["patient_id"] == pid)
    assert compact["max_ctcae_grade"] == grade
    rows = [r for r in cli_outputs["csv"] if r["Patient"] == pid and r["Rule"].startswith("ctcae.")]
    assert [r["Grade"] for r in rows] == [str(grade)]
    assert f"CTCAE grade {grade}" in rows[0]["Finding"]


def test_us_units_relabel_and_convert_every_shown_value(panel):
    ds, rv = panel
    si, us = panel_table(ds, rv, "SI"), panel_table(ds, rv, "US")
    assert value_column("hemoglobin", "US") == "Hb (g/dL)" and value_column("wbc", "US") == "WBC (K/µL)"
    assert value_column("hemoglobin", "SI") == "Hb (g/L)" and value_column("wbc", "SI") == "WBC (×10⁹/L)"
    for pid in ("HB1", "HB2"):
        assert _row(si, pid)["Hb"] == "84 G2" and _row(us, pid)["Hb"] == "8.4 G2"
    assert _row(us, "US1")["WBC"] == "2.8 G2"  # K/µL = ×10⁹/L
    # the chart: axis label and point, and a creatinine in mg/dL at 2.0 (176.8 / 88.4)
    fig = _chart(ds, rv, "CR1", "US", ("creatinine",))
    assert "Creatinine (mg/dL)" in [a.get("text") for a in fig["layout"]["annotations"]]
    ((name, y, hover),) = _points(fig)
    assert y == pytest.approx(2.0) and name == "grade 2" and "<b>2.0</b> mg/dL" in hover
    table = flags_table(rv.flags_df()[lambda f: f["patient_id"] == "CR1"], "US")
    assert table["Value"].tolist() == ["2.0 mg/dL"] and table["As reported"].tolist() == ["2.0 mg/dL"]


def test_the_raw_value_is_beside_every_converted_one_on_the_patient_page_cli_and_pdf(panel, cli_outputs):
    ds, rv = panel
    table = flags_table(rv.flags_df()[lambda f: f["patient_id"] == "HB3"], "SI")
    assert table["Value"].tolist() == ["84 g/L"] and table["As reported"].tolist() == ["5.2 mmol/L"]
    ((_, _, hover),) = _points(_chart(ds, rv, "HB3"))
    assert "as reported: 5.2 mmol/L" in hover and "grade <b>2</b>" in hover
    assert "raw 5.2 mmol/L" in str(cli_outputs["text"]) and "raw 1400 cells/uL" in str(cli_outputs["text"])
    by_patient = {r["Patient"]: r for r in cli_outputs["csv"]}
    assert by_patient["HB3"]["As reported"] == "5.2 mmol/L" and by_patient["CR1"]["As reported"] == "2.0 mg/dL"
    assert by_patient["CR1"]["Value"] == "177" and by_patient["CR1"]["Unit"] == "umol/L"  # 176.8 as a lab writes it
    text = _pdf_text(ds, "HB3")
    assert "Hb 84 g/L (5.2 mmol/L)" in text and "5.2 mmol/L" in text.split("Latest results")[1]


def test_a_censored_platelet_count_stays_censored_everywhere(panel, cli_outputs):
    """A count "<10": below 10, so below 25: grade 4, the worst there is (never "or worse")."""
    ds, rv = panel
    for system in ("SI", "US"):
        row = _row(panel_table(ds, rv, system), "PL1")
        assert row["Plt"] == "<10 G4" and row["CTCAE now"] == "4"
    table = flags_table(rv.flags_df()[lambda f: f["patient_id"] == "PL1"])
    assert set(table["Value"]) == {"<10 ×10⁹/L"} and set(table["CTCAE"]) == {"4"}
    ((name, y, _),) = _points(_chart(ds, rv, "PL1"))
    assert name == "grade 4 (censored, at its bound)" and y == 10
    rows = [r for r in cli_outputs["csv"] if r["Patient"] == "PL1"]
    assert {r["Value"] for r in rows} == {"<10"}
    record = next(p for p in json.loads(str(cli_outputs["json"]))["patients"] if p["patient_id"] == "PL1")
    assert {(f["comparator"], f["source_value"]) for f in record["flags"]} == {("<", "<10")}
    assert record["max_ctcae_grade_or_worse"] is False
    assert "Platelets <10 10^9/L (<10 10^9/L)" in _pdf_text(ds, "PL1")


def test_a_censored_wbc_above_a_cut_is_grade_2_or_worse_everywhere(panel, cli_outputs):
    """A count "<2.5": below 3.0 (G2), and perhaps below 2.0 (G3) or 1.0 (G4)."""
    ds, rv = panel
    assert _row(panel_table(ds, rv, "SI"), "CEN")["WBC"] == "<2.5 G2 or worse"
    table = flags_table(rv.flags_df()[lambda f: f["patient_id"] == "CEN"])
    assert set(table["CTCAE"]) == {"2 or worse"}
    record = next(p for p in json.loads(str(cli_outputs["json"]))["patients"] if p["patient_id"] == "CEN")
    assert record["worst_ctcae_grade_or_worse"] == ["wbc"]


def test_a_draw_with_two_values_counts_the_more_severe_in_panel_pdf_and_cli(panel, cli_outputs):
    ds, rv = panel
    assert _row(panel_table(ds, rv, "SI"), "DU1")["Neut"] == "0.8 G3"
    assert patient_results(ds.labs, "DU1").iloc[0]["Neutrophils (×10⁹/L)"] == "1.2 / 0.8"
    latest = _pdf_text(ds, "DU1").split("Latest results")[1]
    assert "Neutrophils (10^9/L) 0.8 0.8 10^9/L" in latest
    assert "conflicting results at this draw: 1.2 and 0.8" in str(cli_outputs["text"])


def test_a_childs_wbc_below_3_is_grade_2_and_adult_default_limits_need_no_range(panel):
    """CH1, aged 8: WBC 2.5 with no range.  Grade 1 would need the lab's LLN (a child's),
    but < 3.0 is grade 2 at any age."""
    ds, rv = panel
    row = _row(panel_table(ds, rv, "SI"), "CH1")
    assert row["WBC"] == "2.5 G2"


def test_alt_on_the_labs_own_uln(panel):
    """AL1: ALT 124, the lab's range 0-40: 3.1 × ULN, grade 2 (> 3.0-5.0 × ULN); > 100 U/L
    also passes the BSR limit."""
    _, rv = panel
    flags = rv.flags_df()[lambda f: f["patient_id"] == "AL1"].set_index("rule")
    assert int(flags.loc["ctcae.alt", "ctcae_grade"]) == 2
    assert flags.loc["ctcae.alt", "threshold"] == pytest.approx(120.0)  # 3 × 40
    assert "lab's range" in flags.loc["ctcae.alt", "message"]
    assert flags.loc["bsr.alt_high", "threshold"] == pytest.approx(100.0)


BOUNDARIES = (  # (test, value, unit, lab's range, CTCAE v5.0 grade by hand)
    ("Neutrophils", "1500", "cells/uL", "2000-7500", 1),  # 1.5 is not < 1.5
    ("Neutrophils", "1000", "cells/uL", "2000-7500", 2),
    ("Neutrophils", "0.5", "10*3/uL", "2.0-7.5", 3),
    ("WBC", "2000", "cells/mm3", "4000-11000", 2),
    ("Lymphocytes", "200", "cells/uL", "1000-4000", 3),
    ("Platelets", "75000", "/uL", "150000-400000", 1),
    ("Platelets", "25000", "/uL", "150000-400000", 3),
    ("Haemoglobin", "8.0", "g/dL", "11.5-16.5", 2),  # 80 g/L is not < 80
    ("Haemoglobin", "4.9", "mmol/L", "7.1-10.2", 2),  # 4.9 is not < 4.9
    ("Creatinine", "1.65", "mg/dL", "0.5-1.1", 1),  # exactly 1.5 × ULN 1.1
    ("Creatinine", "3.3", "mg/dL", "0.5-1.1", 2),  # exactly 3 × ULN
    ("Creatinine", "5.4", "mg/dL", "0.5-0.9", 3),  # exactly 6 × ULN
    ("ALT", "105", "U/L", "0-35", 1),  # exactly 3 × ULN
    ("ALT", "175", "U/L", "0-35", 2),  # exactly 5 × ULN
)


@pytest.mark.parametrize(("test", "value", "unit", "rng", "grade"), BOUNDARIES)
def test_a_result_on_a_cut_off_in_us_units_keeps_its_grade(test, value, unit, rng, grade):
    """Unit conversion never tips a result that sits on a cut-off into the next grade."""
    result = csv_import(f"B1,{DRAW},{test},{value},{unit},{rng},\n", as_of=AS_OF, labs_head=HEAD)
    ds = Dataset.from_import(result, "b")
    flags = review_dataset(ds, None, AS_OF).flags_df()
    ctcae = flags[flags["kind"] == "ctcae"]
    assert ctcae["ctcae_grade"].astype(int).tolist() == [grade]


NEAR_CUTS = (  # (test, value, unit, grade, the cut it must be shown below, Panel cell)
    ("WBC", "1950", "/uL", 3, 2.0, "WBC"),  # 1.95 < 2.0: never "2.0"
    ("Neutrophils", "995", "cells/uL", 3, 1.0, "Neut"),  # 0.995 < 1.0: never "1.00"
    ("Haemoglobin", "9.96", "g/dL", 2, 100.0, "Hb"),  # 99.6 g/L < 100: never "100"
)


@pytest.mark.parametrize(("test", "value", "unit", "grade", "cut", "cell"), NEAR_CUTS)
def test_a_value_just_below_a_cut_is_never_rounded_onto_it(test, value, unit, grade, cut, cell):
    result = csv_import(f"B1,{DRAW},{test},{value},{unit},,\n", as_of=AS_OF, labs_head=HEAD)
    ds = Dataset.from_import(result, "b")
    rv = review_dataset(ds, None, AS_OF)
    shown = _row(panel_table(ds, rv, "SI"), "B1")[cell]
    number, tag = shown.split()
    assert tag == f"G{grade}" and float(number) < cut
    table = flags_table(rv.flags_df())
    assert all(float(v.split()[0]) < cut for v in table["Value"])
