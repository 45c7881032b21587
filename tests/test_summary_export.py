"""Exports: units in headers, formula injection neutralised, the patient summary PDF."""

from __future__ import annotations

import datetime as dt
import io
import shutil

import openpyxl
import pandas as pd
import pytest

from dashboard import summary_export as sx
from dashboard.dataset import Dataset
from dashboard.reviews import empty_log
from tests.support import P6_AS_OF, P6_HEAD, P9_AS_OF, P9_DOSES, P9_PATIENTS, full_check, p6_workspace

LABS = (
    "MRN,Collection Date,Component,Result,Units,Flag\n"
    "001,2024-03-15,WBC,3.2,K/uL,L\n"
    "001,2024-03-15,Neutrophils,<0.5,K/uL,LL\n"
    "001,2024-04-15,WBC,2.9,K/uL,L\n"
    "=cmd,2024-03-16,PLT,90,K/uL,@SUM(1)\n"
)
DOSES = "patient,drug,dose,unit,frequency,start,end\n001,Imuran,150,mg,daily,2024-01-01,2024-04-20\n001,Imuran,100,mg,daily,2024-04-20,\n"
PATIENTS = "patient,sex,date of birth,diagnosis\n001,F,1980-05-01,+SLE with nephritis\n"


@pytest.fixture(scope="module")
def ds() -> Dataset:
    from dashboard.ingest import ImportOptions, Source, import_sources

    result = import_sources(
        [Source("labs.csv", LABS.encode()), Source("doses.csv", DOSES.encode()), Source("p.csv", PATIENTS.encode())],
        ImportOptions(today=dt.date(2026, 11, 25)),
    )
    return Dataset.from_import(result, "test")


def reviews() -> pd.DataFrame:
    log = empty_log()
    log.loc[0] = [1, "001", "", "", "", None, "reduce", "=HYPERLINK(\"x\") AZA reduced to 100 mg", "Dr A",
                  pd.Timestamp("2026-11-20 10:00"), None]  # fmt: skip
    return log


def test_panel_csv_has_units_in_headers_and_no_live_formulas(ds):
    panel = sx.panel_frame(ds.labs, ds.doses, ds.patients, reviews(), dt.date(2024, 5, 1))
    text = sx.panel_csv(panel).decode("utf-8-sig")
    header = text.splitlines()[0].split(",")
    assert {"WBC (10^9/L)", "Neutrophils (10^9/L)", "Platelets (10^9/L)"} <= set(header)
    row = panel.set_index("Patient").loc["001"]
    assert row["WBC (10^9/L)"] == 2.9 and row["Neutrophils (10^9/L)"] == "<0.5"  # censored kept with comparator
    assert row["Current drugs"] == "Azathioprine 100 mg daily" and row["Age (years)"] == 44
    assert row["Last review action"] == "reduce" and row["Reviewed by"] == "Dr A"
    for line in text.splitlines()[1:]:
        for cell in line.split(","):
            assert not cell.lstrip('"').startswith(("=", "+", "-", "@")), line
    assert "'=cmd" in text and "'+SLE with nephritis" in text


def test_patient_exports(ds):
    wide = sx.patient_results_wide(ds.labs, "001")
    assert list(wide.columns) == ["Collected", "WBC (10^9/L)", "Neutrophils (10^9/L)"]
    assert wide.iloc[0]["Neutrophils (10^9/L)"] == "<0.5" and wide.iloc[1]["Neutrophils (10^9/L)"] == ""
    book = openpyxl.load_workbook(io.BytesIO(sx.patient_xlsx(ds.labs, ds.doses, reviews(), "001")))
    assert book.sheetnames == ["Results", "Results (raw)", "Doses", "Reviews"]
    raw = list(book["Results (raw)"].values)
    assert (
        raw[0][:4] == ("Collected", "Analyte", "Result", "Unit") and raw[1][4] == "<0.5"
    )  # as reported (neutrophils sort first)
    note = [r for r in book["Reviews"].values][1][5]
    assert note.startswith("'=HYPERLINK")
    doses = list(book["Doses"].values)
    assert doses[1][0] == "Azathioprine" and doses[1][10] == "doses.csv row 2"


def test_the_summary_pdf_reads_as_the_patient_summary(ds):
    from pypdf import PdfReader

    summary = sx.PatientSummary(
        patient_id="001",
        patient=ds.patients.set_index("patient_id", drop=False).loc["001"],
        labs=ds.labs,
        doses=ds.doses,
        reviews=reviews(),
        as_of=dt.date(2024, 5, 1),
        source="test panel",
    )
    pdf = sx.patient_summary_pdf(summary)
    reader = PdfReader(io.BytesIO(pdf))
    text = "\n".join(p.extract_text() for p in reader.pages)
    assert len(reader.pages) == 1
    for expected in (
        "Patient summary",
        "001",
        "01 May 2024",
        "Decision support only",
        "Azathioprine",
        "100",
        "Current doses",
        "Dose history",
        "doses.csv row 2",
        "Open flags",
        "Flags: not evaluated",
        "WBC (10^9/L)",
        "2.9 K/uL",
        "<0.5",
        "Review history",
        "Dr A",
        "AZA reduced to 100 mg",
        "+SLE with nephritis",
    ):
        assert expected in text, expected
    assert "Timeline figure: not drawn." in text  # no figure is faked


@pytest.mark.skipif(not shutil.which("chromium"), reason="kaleido needs the system Chromium")
def test_a_figure_is_drawn_into_the_pdf_with_kaleido(ds):
    import plotly.graph_objects as go

    fig = go.Figure(go.Scatter(x=[1, 2, 3], y=[3.2, 2.9, 3.1]))
    png = sx.figure_png(fig, width=600, height=250, scale=1)
    assert png.startswith(b"\x89PNG")
    summary = sx.PatientSummary("001", None, ds.labs, ds.doses, empty_log(), dt.date(2024, 5, 1), figure_png=png)
    from pypdf import PdfReader

    page = PdfReader(io.BytesIO(sx.patient_summary_pdf(summary))).pages[0]
    assert len(page.images) == 1


def test_atomic_write(tmp_path):
    target = tmp_path / "x.csv"
    sx.write(target, b"a")
    sx.write(target, b"b")
    assert target.read_bytes() == b"b" and [p.name for p in tmp_path.iterdir()] == ["x.csv"]


def test_flagged_results_export_with_rules_sources_and_reviews(ds):
    from dashboard.reviews import flag_key, flags_for_review

    log = empty_log()
    flags = flags_for_review(ds.labs, ds.doses, ds.patients, ds.baselines, log, dt.date(2024, 5, 1))
    assert set(flags["patient_id"]) == {"001", "=cmd"}
    first = flags.iloc[0]
    log.loc[0] = [1, "001", flag_key("001", first["rule"], first["collected_at"], first["analyte"]), first["rule"],
                  first["analyte"], first["collected_at"], "repeat test", "", "Dr A", pd.Timestamp("2024-05-02"), None]  # fmt: skip
    flags = flags_for_review(ds.labs, ds.doses, ds.patients, ds.baselines, log, dt.date(2024, 5, 1))
    assert flags.iloc[-1]["reviewed"] and not flags.iloc[0]["reviewed"]
    text = sx.flagged_csv(flags).decode("utf-8-sig")
    header = text.splitlines()[0]
    # issue 18 (item 7) names the columns: the value is "Value", the review its "Review state"
    for col in ("Value", "Unit", "As reported", "Rule", "Severity", "Finding", "Source", "Review state"):
        assert col in header
    assert "CTCAE v5.0" in text and "reviewed: repeat test by Dr A on 2024-05-02" in text and "'=cmd" in text
    pdf = sx.patient_summary_pdf(
        sx.patient_summary(ds.labs, ds.doses, ds.patients, ds.baselines, log, "001", dt.date(2024, 5, 1), "t")
    )
    from pypdf import PdfReader

    # every page: the section may start on the second (identity, results after the as-of date, longer advice)
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    assert "Open flags (rule, source and review)" in text and "CTCAE v5.0" in text and "repeat test (Dr A)" in text


@pytest.mark.skipif(not shutil.which("chromium"), reason="kaleido needs the system Chromium")
def test_the_patient_summary_draws_the_timeline(ds):
    summary = sx.patient_summary(ds.labs, ds.doses, ds.patients, ds.baselines, empty_log(), "001", dt.date(2024, 5, 1))
    assert summary.figure_png and summary.figure_png.startswith(b"\x89PNG")
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(sx.patient_summary_pdf(summary)))
    assert any(page.images for page in reader.pages)


def test_the_summary_lists_results_after_the_as_of_date(ds):
    """Issue 15 item 2: the PDF lists (never drops) results dated after its as-of date.
    As of 31 Mar 2024 the WBC of 15 Apr 2024 (2.9 < 3.0 -> CTCAE grade 2) is after it."""
    from pypdf import PdfReader

    s = sx.patient_summary(
        ds.labs, ds.doses, ds.patients, ds.baselines, empty_log(), "001", dt.date(2024, 3, 31), figure=False
    )
    assert s.after_as_of is not None and s.after_as_of["value"].tolist() == [2.9]
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(sx.patient_summary_pdf(s))).pages)
    assert "Results after the as-of date (not reviewed)" in text
    assert "1 result is dated after the as-of date 31 Mar 2024" in text
    assert "2024-04-15" in text and "2.9" in text
    latest = text.split("Latest results")[1]
    assert "2024-04-15" not in latest.split("Review history")[0]  # latest results stop at the as-of date


# --------------------------------------------------------------------------- probe 6 F6, F7: the panel export judges like the Panel


def test_the_panel_export_of_a_panel_without_open_flags_is_made(tmp_path):
    """H123 (probe 6 F6).  One patient on methotrexate, every result within range: no open
    flag.  The panel export still has its one row, 'no open flag'."""
    from dashboard.store.panel import open_panel

    doses = "patient,drug,dose,unit,frequency,start,end\n001,methotrexate,15,mg,weekly,2024-01-01,\n"
    ws = p6_workspace(tmp_path / "ws", ("d.csv", doses), ("l.csv", P6_HEAD + full_check("001", "2024-04-20")))
    p = open_panel(ws)
    ds = p.dataset()
    assert p.open_flags(P6_AS_OF).empty
    table = sx.panel_frame(ds.labs, p.doses, ds.patients, p.reviews, P6_AS_OF, ds.baselines, None)
    assert list(table["Patient"]) == ["001"] and list(table["Review state"]) == ["no open flag"]
    assert sx.panel_csv(table) and sx.panel_xlsx(table, ds.labs, p.doses, p.reviews)


def _interval_panel(path):
    """Methotrexate 15 mg weekly since 1 Jan 2023 (stable): the BSR 2025 interval is 12 weeks,
    but Dr A set a risk-adapted interval of 28 days on 2 Mar 2024.  Full checks on 10 Jan and
    1 Mar 2024; MCV 106 on 1 Mar (an open flag); a neutrophil count of 0.4 on 1 Jun 2024,
    after the as-of date 1 May 2024."""
    doses = "patient,drug,dose,unit,frequency,start,end\n001,methotrexate,15,mg,weekly,2023-01-01,\n"
    labs = (
        P6_HEAD
        + full_check("001", "2024-01-10")
        + full_check("001", "2024-03-01")
        + "001,2024-03-01 09:00,MCV,106,fL\n001,2024-06-01 09:00,Neutrophils,0.4,10^9/L\n"
    )
    ws = p6_workspace(path, ("d.csv", doses), ("l.csv", labs), at=dt.datetime(2024, 3, 2, 9))
    ws.set_interval("001", 28, "CKD stage 3, age", by="Dr A")
    return ws


def _export(ws):
    from dashboard.store.panel import open_panel

    p = open_panel(ws)
    ds = p.dataset()
    return sx.panel_frame(ds.labs, p.doses, ds.patients, p.reviews, P6_AS_OF, ds.baselines, None, ds.intervals).iloc[0]


def test_the_panel_export_counts_overdue_days_with_the_clinicians_interval(tmp_path):
    """H123 (probe 6 F7).  Last full check 1 Mar 2024 + 28 days = due 29 Mar; on 1 May 2024
    that is 33 days overdue (the Panel says so; with the 12-week schedule it would be due
    24 May, 0)."""
    ws = _interval_panel(tmp_path / "ws")
    assert _export(ws)["Overdue (days)"] == 33


def test_the_panel_export_latest_results_stop_at_the_as_of_date(tmp_path):
    """H123 (probe 6 F7).  On 1 May 2024 the latest neutrophil count is 3.0 (1 Mar); the 0.4
    of 1 Jun lies after the as-of date: counted apart as not reviewed (README, H31)."""
    ws = _interval_panel(tmp_path / "ws")
    row = _export(ws)
    assert row["Last draw"] == "2024-03-01"
    assert str(row["Neutrophils (10^9/L)"]) == "3.0"
    assert row["Results after as-of"] == 1


def test_the_cli_panel_export_of_a_workspace_without_open_flags_is_made(tmp_path, monkeypatch, capsys):
    """H123 (probe 6 F6): `workspace export --format csv` of a panel with no open flag."""
    from dashboard.cli import main

    monkeypatch.setenv("DASHBOARD_WORKSPACE", str(tmp_path / "ws"))
    ok = tmp_path / "ok.csv"
    ok.write_text(P6_HEAD + "001,2024-04-20 09:00,Neutrophils,3.0,10^9/L\n", encoding="utf-8")
    assert main(["workspace", "import", str(ok)]) == 0
    out = tmp_path / "panel.csv"
    assert main(["workspace", "export", "--format", "csv", "--out", str(out)]) == 0
    frame = pd.read_csv(out, dtype=str)
    assert list(frame["Patient"]) == ["001"] and list(frame["Review state"]) == ["no open flag"]


# --------------------------------------------------------------------------- probe 9 F2/F8: the PDF says what is open

#: Probe 9's inputs (hand-worked): mycophenolate from 2025-12-01 and no result since: BSR
#: tests every 2 weeks at the start, so the first was due 2025-12-15; on 2026-04-01 that
#: is 16 + 31 + 28 + 31 + 1 = 107 days late.  Methotrexate 15 mg daily is a daily dose of a
#: once-weekly drug (3E recommendations) and trimethoprim with methotrexate is to be avoided
#: (Medsafe 2022).  9.95 g/dL haemoglobin is 99.5 g/L (CTCAE grade 2, < 100 g/L).
P9_LABS = (
    "MRN,Collection Date,Component,Result,Units,Reference Range\n"
    "P2,2026-03-02,Hemoglobin,9.95,g/dL,12.0-16.0\n"
    "P2,2026-03-02,Absolute Neutrophil Count,995,cells/uL,2000-7500\n"
)


@pytest.fixture(scope="module")
def p9() -> Dataset:
    from dashboard.ingest import ImportOptions, Source, import_sources

    sources = [
        Source("labs.csv", P9_LABS.encode()),
        Source("doses.csv", P9_DOSES.encode()),
        Source("patients.csv", P9_PATIENTS.encode()),
    ]
    return Dataset.from_import(import_sources(sources, ImportOptions(today=P9_AS_OF)), "probe9")


def p9_pdf_text(ds: Dataset, pid: str) -> str:
    from pypdf import PdfReader

    s = sx.patient_summary(
        ds.labs, ds.doses, ds.patients, ds.baselines, empty_log(), pid, P9_AS_OF, "probe9", figure=False
    )
    return "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(sx.patient_summary_pdf(s))).pages)


def test_the_pdf_says_the_bloods_are_overdue(p9):
    """H141 (probe 9 F2): P3, mycophenolate and no result, is 107 days overdue (due 2025-12-15)."""
    text = p9_pdf_text(p9, "P3")
    low = text.lower()
    assert "overdue" in low and "107" in text and "2025-12-15" in text
    assert "No open flags" not in text  # something is open: the bloods


def test_the_pdf_shows_the_urgent_dose_checks(p9):
    """H141 (probe 9 F2): methotrexate 15 mg daily + trimethoprim: both dose checks, with rule and source."""
    text = p9_pdf_text(p9, "D1")
    flat = " ".join(text.split()).lower()
    assert "once weekly" in flat  # methotrexate recorded daily
    assert "avoid where possible" in flat  # the trimethoprim interaction
    assert "dose.mtx_not_weekly" in flat and "urgent" in flat and "medsafe" in flat
    assert "no open flags" not in flat


def test_the_pdf_flag_table_names_the_unit_of_the_value(p9):
    """H142 (probe 9 F8): "Hb 100.0" had no unit and a float artefact; 99.5 g/L is rounded as
    the lab's display functions round it, with its unit beside it."""
    text = " ".join(p9_pdf_text(p9, "P2").split())
    assert "Hb 100.0" not in text
    assert "g/L (9.95 g/dL)" in text


def test_the_open_dose_checks_export_has_both_checks_and_the_flagged_export_says_what_it_covers(p9):
    """H141 (probe 9 F2): the flagged results are lab flags only; the dose checks have their own export."""
    from dashboard.reviews import flags_for_review
    from dashboard.rules import review

    rv = review(p9.labs, p9.doses, p9.patients, p9.baselines, None, P9_AS_OF)
    frame = sx.open_dose_checks_frame(rv.dose_checks_df(), p9.patients)
    d1 = frame[frame["Patient"] == "D1"]
    assert set(d1["Rule"]) == {"dose.mtx_not_weekly", "dose.mtx_trimethoprim"}
    assert d1["Severity"].iloc[0] == "urgent"  # most severe first
    flags = flags_for_review(p9.labs, p9.doses, p9.patients, p9.baselines, empty_log(), P9_AS_OF)
    book = openpyxl.load_workbook(io.BytesIO(sx.flagged_xlsx(flags, p9.patients, rv.dose_checks_df())))
    assert {"Open flags", "Open dose checks", "About"} <= set(book.sheetnames)
    assert "not lab flags" in str(book["About"]["A2"].value)


# --------------------------------------------------------------------------- H139: a shown value never crosses its limit

# Worked by hand: 1595 cells/uL / 1000 = 1.595 x10^9/L, below the BSR limit 1.6 (withhold);
# 995 cells/uL = 0.995, CTCAE v5.0 grade 3 (< 1.0); 74,500 /uL = 74.5 x10^9/L, CTCAE grade 2
# (< 75); 7.95 g/dL = 79.5 g/L, CTCAE grade 3 (< 80 g/L).  Rounded to the reporting decimals
# (2, 2, 0, 0) they would read 1.60, 1.00, 75 and 80: on or across the limit their flag names.
H139_LABS = (
    "MRN,Collection Date,Component,Result,Units,Reference Range\n"
    "P1,2026-03-02,WBC,3.45,K/uL,4.0-11.0\n"
    "P1,2026-03-02,Absolute Neutrophil Count,1595,cells/uL,2000-7500\n"
    "P1,2026-03-02,Hemoglobin,7.95,g/dL,12.0-16.0\n"
    "P2,2026-03-02,Absolute Neutrophil Count,995,cells/uL,2000-7500\n"
    "P2,2026-03-02,Platelets,74500,/uL,150000-400000\n"
)
H139_DOSES = (
    "patient_id,drug,dose,dose_unit,frequency,route,start,end\n"
    "P1,azathioprine,100,mg,daily,oral,2025-12-01,\n"
    "P2,methotrexate,15,mg,weekly,oral,2025-11-01,\n"
)
H139_PATIENTS = (
    "patient_id,family_name,given_name,sex,birth_date,weight_kg,tpmt,nudt15,diagnosis\n"
    "P1,DOE,Anna,F,1970-01-01,60,normal,normal,SLE\n"
    "P2,ROE,Taro,M,1960-05-05,70,normal,normal,RA\n"
)
H139_AS_OF = dt.date(2026, 4, 1)


@pytest.fixture(scope="module")
def h139() -> Dataset:
    from dashboard.ingest import ImportOptions, Source, import_sources
    from tests.support import TODAY

    result = import_sources(
        [
            Source("labs.csv", H139_LABS.encode()),
            Source("doses.csv", H139_DOSES.encode()),
            Source("patients.csv", H139_PATIENTS.encode()),
        ],
        ImportOptions(today=TODAY),
    )
    return Dataset.from_import(result, "h139")


def _number(text: object) -> float:
    import re

    found = re.search(r"\d+(?:\.\d+)?", str(text))
    assert found, text
    return float(found.group(0))


@pytest.mark.parametrize(
    ("pid", "rule", "limit"),
    [
        ("P1", "bsr.neutrophils_low", 1.6),
        ("P2", "ctcae.neutrophils", 1.0),
        ("P2", "ctcae.platelets", 75.0),
        ("P1", "ctcae.hemoglobin", 80.0),
    ],
)
def test_the_flagged_results_value_sits_below_the_limit_its_flag_fired_at(h139, pid, rule, limit):
    from dashboard.reviews import flags_for_review

    flags = flags_for_review(h139.labs, h139.doses, h139.patients, h139.baselines, empty_log(), H139_AS_OF)
    table = sx.open_flags_frame(flags, h139.patients)
    row = table[(table["Patient"] == pid) & (table["Rule"] == rule)].iloc[0]
    assert _number(row["Value"]) < limit, row.to_dict()


def test_the_panel_exports_neutrophils_sit_on_the_side_of_the_grade(h139):
    panel = sx.panel_frame(
        h139.labs, h139.doses, h139.patients, empty_log(), H139_AS_OF, h139.baselines, None, h139.intervals
    )
    row = panel.set_index("Patient").loc["P2"]
    assert _number(row["Neutrophils (10^9/L)"]) < 1.0  # 995 cells/uL = 0.995, CTCAE grade 3


def test_the_pdf_never_prints_a_platelet_count_of_75_0_for_74_5(h139):
    from pypdf import PdfReader

    s = sx.patient_summary(
        h139.labs, h139.doses, h139.patients, h139.baselines, empty_log(), "P2", H139_AS_OF, "h139", figure=False
    )
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(sx.patient_summary_pdf(s))).pages)
    assert "Platelets 75.0" not in text and "Platelets 75 " not in text
    assert "74.5" in text


def test_a_bidi_override_in_a_name_never_reaches_the_panel_export():
    """H140: R1's family name is U+202E + "HTIMS" (displays "nhoJ ,SMITH"); the name is left
    out at import, so no export shows it as if it were a normal name."""
    from dashboard.ingest import ImportOptions, Source, import_sources
    from tests.support import TODAY

    patients = H139_PATIENTS + "R1,\u202eHTIMS,John,M,1970-01-01,,,,RA\nR2,SMITH\u200b,John,M,1970-01-01,,,,RA\n"
    result = import_sources(
        [Source("labs.csv", H139_LABS.encode()), Source("patients.csv", patients.encode())],
        ImportOptions(today=TODAY),
    )
    d = Dataset.from_import(result, "h140")
    panel = sx.panel_frame(d.labs, d.doses, d.patients, empty_log(), H139_AS_OF, d.baselines, None, d.intervals)
    text = sx.panel_csv(panel).decode("utf-8-sig")
    assert "\u202e" not in text and "\u200b" not in text


# --------------------------------------------------------------------------- probe 9 F3: a name the PDF's font cannot print


def p9_pdf_text_with(ds: Dataset, pid: str, **fields: str) -> str:
    """The PDF text of ``pid`` with some of the patient's fields replaced (name, diagnosis)."""
    from pypdf import PdfReader

    patients = ds.patients.copy()
    for k, v in fields.items():
        patients.loc[patients["patient_id"] == pid, k] = v
    s = sx.patient_summary(ds.labs, ds.doses, patients, ds.baselines, empty_log(), pid, P9_AS_OF, "p9", figure=False)
    return "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(sx.patient_summary_pdf(s))).pages)


@pytest.mark.parametrize(
    "name",
    [
        "山田, 太郎",  # Japanese (CJK ideographs): no glyph in DejaVu Sans
        "김, 민준",  # Korean (Hangul): no glyph
        "शर्मा, राज",  # Devanagari: no glyph, and it needs shaping
        "כהן, דוד",  # Hebrew: glyphs, but printed left to right without bidi the name reads backwards
        "حداد, سامي",  # Arabic: right to left and joined forms; neither without text shaping
        "SMITH\U0001f9a0, Jo",  # an emoji of Unicode 11 (microbe): no glyph
    ],
)
def test_the_pdf_never_prints_an_empty_name(p9, name):
    """Probe 9 F3: "山田, 太郎" was printed ", " (DejaVu has no CJK glyph; fpdf only logs).
    A name the PDF cannot print as written is replaced by a notice that says so and points
    to the MRN, never blanked, mangled or reversed."""
    text = p9_pdf_text_with(p9, "P2", name=name)
    flat = " ".join(text.split())
    assert "name not printable in this PDF's font" in flat
    assert "MRN P2" in flat
    assert "Name: ," not in flat and "— ," not in flat
    letters = {ch for ch in name if ch.isalpha() or ord(ch) > 0x2000}
    assert not letters & set(text) - set("SMITHJo")


@pytest.mark.parametrize("name", ["ΠΑΠΑΔΟΠΟΥΛΟΣ, Νίκος", "ИВАНОВ, Иван", "NÚÑEZ, Zoë"])
def test_a_name_the_font_has_is_printed_as_written(p9, name):
    """Greek, Cyrillic and accented Latin are in DejaVu Sans and read left to right: printed."""
    flat = " ".join(p9_pdf_text_with(p9, "P2", name=name).split())
    assert f"Name: {name}" in flat
    assert "not printable" not in flat


def test_other_text_the_font_cannot_print_is_marked_and_said(p9):
    """Any other field with characters outside the font (a diagnosis written in Japanese)
    shows a visible replacement mark, and the PDF says what the mark means."""
    flat = " ".join(p9_pdf_text_with(p9, "P2", diagnosis="関節リウマチ").split())
    assert "Diagnosis: \ufffd\ufffd\ufffd\ufffd\ufffd\ufffd" in flat
    assert "\ufffd marks a character this PDF's font cannot print" in flat
