"""The sample's file shapes: the same synthetic clinic as a hospital would export it.

Pure functions turn the :class:`Clinic` into frames (pandas, all text where the file is
text) and frames into bytes.  Nothing here touches the disk.

* ``labs.csv``: long LIS export, one result per row, LOINC code, unit, reference range,
  H/L flag (all patients; default set).
* ``doses.csv``: one row per dose interval; empty end = ongoing (default set).
* ``patients.csv``: demographics, weight, TPMT/NUDT15, diagnosis (default set).
* ``labs_europe_wide.csv``: a German laboratory's wide export for a few patients:
  Windows-1252, CRLF, semicolons, decimal commas, dd.mm.yyyy dates with a separate time,
  German headers and units (G/l, g/dl, mg/dl), two cells with no result.
* ``clinic_workbook.xlsx``: a clinic spreadsheet (Labs / Doses / Patients sheets) with
  real Excel dates, brand names and tablet counts, for a few patients.
* ``fhir_bundle.json``: see :mod:`dashboard.sample.fhir`.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
import zipfile
import zlib
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from dashboard import model
from dashboard.sample.clinic import Clinic
from dashboard.sample.physiology import (
    DECIMALS,
    SIMULATED_ANALYTES,
    reference_flag,
    reference_range,
    round_half_up,
    white_cells,
)
from dashboard.sample.plan import DoseStep

# --------------------------------------------------------------------------- vocabulary

TEST_NAMES: dict[str, str] = {
    "wbc": "White cell count",
    "neutrophils": "Neutrophils",
    "lymphocytes": "Lymphocytes",
    "eosinophils": "Eosinophils",
    "hemoglobin": "Haemoglobin",
    "platelets": "Platelets",
    "mcv": "MCV",
    "alt": "ALT",
    "ast": "AST",
    "albumin": "Albumin",
    "creatinine": "Creatinine",
    "egfr": "eGFR (CKD-EPI 2021)",
}

LOINC: dict[str, str] = {
    "wbc": "6690-2",
    "neutrophils": "751-8",
    "lymphocytes": "731-0",
    "eosinophils": "711-2",
    "hemoglobin": "718-7",
    "platelets": "777-3",
    "mcv": "787-2",
    "alt": "1742-6",
    "ast": "1920-8",
    "albumin": "1751-7",
    "creatinine": "14682-9",
    "egfr": "98979-8",
}

LOINC_DISPLAY: dict[str, str] = {
    "wbc": "Leukocytes [#/volume] in Blood by Automated count",
    "neutrophils": "Neutrophils [#/volume] in Blood by Automated count",
    "lymphocytes": "Lymphocytes [#/volume] in Blood by Automated count",
    "eosinophils": "Eosinophils [#/volume] in Blood by Automated count",
    "hemoglobin": "Hemoglobin [Mass/volume] in Blood",
    "platelets": "Platelets [#/volume] in Blood by Automated count",
    "mcv": "MCV [Entitic volume] by Automated count",
    "alt": "Alanine aminotransferase [Enzymatic activity/volume] in Serum or Plasma",
    "ast": "Aspartate aminotransferase [Enzymatic activity/volume] in Serum or Plasma",
    "albumin": "Albumin [Mass/volume] in Serum or Plasma",
    "creatinine": "Creatinine [Moles/volume] in Serum or Plasma",
    "egfr": "Glomerular filtration rate/1.73 sq M.predicted [Volume Rate/Area] in Serum, Plasma or Blood by Creatinine-based formula (CKD-EPI 2021)",
}

#: Units as the long export writes them: the model's canonical spellings.
UNIT_TEXT: dict[str, str] = model.CANONICAL_UNITS

#: Blood pressure at the visit (dashboard.sample.vitals): long export only.
BP_ANALYTES: tuple[str, str] = ("bp_systolic", "bp_diastolic")
BP_NAMES: dict[str, str] = {"bp_systolic": "Systolic blood pressure", "bp_diastolic": "Diastolic blood pressure"}
BP_LOINC: dict[str, str] = {"bp_systolic": "8480-6", "bp_diastolic": "8462-4"}
#: printed as a clinic system prints a target (the readings are generated inside it: no flag)
BP_RANGE: dict[str, str] = {"bp_systolic": "<140", "bp_diastolic": "<90"}

UCUM: dict[str, str] = {
    "wbc": "10*9/L",
    "neutrophils": "10*9/L",
    "lymphocytes": "10*9/L",
    "eosinophils": "10*9/L",
    "hemoglobin": "g/L",
    "platelets": "10*9/L",
    "mcv": "fL",
    "alt": "U/L",
    "ast": "U/L",
    "albumin": "g/L",
    "creatinine": "umol/L",
    "egfr": "mL/min/{1.73_m2}",
}

#: Which patients each alternative shape carries (by story).
EUROPE_STORIES = ("aza_dose_response", "lupus_flare", "duffy_null", "slow_fall", "stable")
EXCEL_STORIES = (
    "tpmt_im_neutropenia",
    "allopurinol_pancytopenia",
    "aza_macrocytosis",
    "mtx_transaminitis",
    "cyc_nadir",
    "mmf_mild_cytopenia",
)
FHIR_STORIES = ("tpmt_im_neutropenia", "allopurinol_pancytopenia", "cyc_nadir", "stable")


def formatnumber_value(value: float, decimals: int, comma: bool = False) -> str:
    text = f"{value:.{decimals}f}"
    return text.replace(".", ",") if comma else text


def _reference_decimals(analyte: str) -> int:
    return {"wbc": 1, "neutrophils": 1, "lymphocytes": 1, "eosinophils": 2}.get(analyte, 0)


def reference_label(analyte: str, sex: str) -> str:
    """The reference range as the LIS prints it ("4.0-11.0", "115-165", ">90")."""
    lo, hi = reference_range(analyte, sex)
    d = _reference_decimals(analyte)
    if hi is None:
        return f">{formatnumber_value(lo or 0, d)}"
    return f"{formatnumber_value(lo or 0, d)}-{formatnumber_value(hi, d)}"


# --------------------------------------------------------------------------- default set


def labs_frame(clinic: Clinic) -> pd.DataFrame:
    """The long lab export: one row per result, as text."""
    rows = []
    for p in clinic.patients:
        sex = p.plan.sex
        for i, draw in enumerate(p.draws):
            when = draw.when.strftime("%Y-%m-%d %H:%M")
            for a in SIMULATED_ANALYTES:
                v = float(p.results[a][i])
                rows.append(
                    (
                        p.patient_id,
                        when,
                        LOINC[a],
                        TEST_NAMES[a],
                        formatnumber_value(v, DECIMALS[a]),
                        UNIT_TEXT[a],
                        reference_label(a, sex),
                        reference_flag(a, sex, v),
                    )
                )
            if p.bp is not None and not np.isnan(p.bp[i, 0]):
                for a, v in zip(BP_ANALYTES, p.bp[i], strict=True):
                    rows.append(
                        (p.patient_id, when, BP_LOINC[a], BP_NAMES[a], f"{v:.0f}", UNIT_TEXT[a], BP_RANGE[a], "")
                    )
    cols = ["Patient ID", "Collected", "Test Code", "Test Name", "Result", "Units", "Reference Range", "Flag"]
    return pd.DataFrame(rows, columns=cols, dtype="str")


def _dose_text(dose: float) -> str:
    return f"{dose:g}"


def doses_frame(clinic: Clinic) -> pd.DataFrame:
    """One row per dose interval (empty end = ongoing)."""
    rows = []
    for p in clinic.patients:
        for d in sorted(p.plan.doses, key=lambda d: (d.drug, d.start)):
            rows.append(
                (
                    p.patient_id,
                    d.drug,
                    _dose_text(d.dose),
                    "mg",
                    d.frequency,
                    d.route,
                    d.start.isoformat(),
                    d.end.isoformat() if d.end else "",
                )
            )
    cols = ["patient_id", "drug", "dose", "dose_unit", "frequency", "route", "start", "end"]
    return pd.DataFrame(rows, columns=cols, dtype="str")


def patients_frame(clinic: Clinic) -> pd.DataFrame:
    rows = []
    for p in clinic.patients:
        pl = p.plan
        rows.append(
            (
                pl.patient_id,
                pl.name[0],
                pl.name[1],
                pl.sex,
                pl.birth_date.isoformat(),
                f"{pl.weight_kg:.1f}",
                pl.weight_date.isoformat(),
                pl.tpmt,
                pl.nudt15,
                pl.diagnosis,
            )
        )
    cols = [
        "patient_id",
        "family_name",
        "given_name",
        "sex",
        "birth_date",
        "weight_kg",
        "weight_date",
        "tpmt",
        "nudt15",
        "diagnosis",
    ]
    return pd.DataFrame(rows, columns=cols, dtype="str")


def csv_bytes(frame: pd.DataFrame, delimiter: str = ",", newline: str = "\n", encoding: str = "utf-8") -> bytes:
    """Serialise a text frame exactly (no float formatting, minimal quoting)."""
    buf = io.StringIO()
    w = csv.writer(buf, delimiter=delimiter, lineterminator=newline, quoting=csv.QUOTE_MINIMAL)
    w.writerow(list(frame.columns))
    for row in frame.itertuples(index=False, name=None):
        w.writerow(row)
    return buf.getvalue().encode(encoding)


# --------------------------------------------------------------------------- European wide CSV

#: German header, analyte, decimals, factor from the canonical unit.
EUROPE_COLUMNS: tuple[tuple[str, str, int, float], ...] = (
    ("Leukozyten (G/l)", "wbc", 2, 1.0),
    ("Neutrophile (G/l)", "neutrophils", 2, 1.0),
    ("Lymphozyten (G/l)", "lymphocytes", 2, 1.0),
    ("Eosinophile (G/l)", "eosinophils", 2, 1.0),
    ("Hämoglobin (g/dl)", "hemoglobin", 1, 0.1),
    ("Thrombozyten (G/l)", "platelets", 0, 1.0),
    ("MCV (fl)", "mcv", 0, 1.0),
    ("GPT (U/l)", "alt", 0, 1.0),
    ("GOT (U/l)", "ast", 0, 1.0),
    ("Albumin (g/dl)", "albumin", 1, 0.1),
    ("Kreatinin (mg/dl)", "creatinine", 2, 1 / 88.4),
    ("eGFR CKD-EPI (ml/min/1,73m²)", "egfr", 0, 1.0),
)

#: Cells the European export writes without a number, as such labs do:
#: (story, draw index, analyte, text).  Each is rejected by the importer with a reason.
EUROPE_NO_RESULT: tuple[tuple[str, int, str, str], ...] = (
    ("stable", 3, "alt", "folgt"),
    ("duffy_null", 5, "albumin", "n.b."),
)


def europe_no_result_cells(clinic: Clinic) -> list[dict[str, str]]:
    """Where the European export has no number (for the manifest and README)."""
    header = {a: h for h, a, *_ in EUROPE_COLUMNS}
    out = []
    for story, i, analyte, text in EUROPE_NO_RESULT:
        p = clinic.by_story(story)
        out.append(
            {
                "patient": p.patient_id,
                "collected": p.draws[i].when.strftime("%Y-%m-%d %H:%M"),
                "analyte": analyte,
                "column": header[analyte],
                "text": text,
            }
        )
    return out


def _ordernumber_value(patient_id: str, when: dt.datetime) -> str:
    code = zlib.crc32(f"{patient_id}|{when:%Y%m%d%H%M}".encode()) % 100000
    return f"{when:%y%m%d}{code:05d}"


def europe_frame(clinic: Clinic) -> pd.DataFrame:
    """The German laboratory's wide export (text cells, decimal commas)."""
    blanks = {(s, i, a): text for s, i, a, text in EUROPE_NO_RESULT}
    rows = []
    for p in clinic.subset(EUROPE_STORIES):
        m = p.measured
        wbc = white_cells(m)
        for i, draw in enumerate(p.draws):
            row = [p.patient_id, _ordernumber_value(p.patient_id, draw.when), draw.when.strftime("%d.%m.%Y")]
            row += [draw.when.strftime("%H:%M"), "Rheumatologie"]
            for _header, a, decimals, factor in EUROPE_COLUMNS:
                text = blanks.get((p.plan.story, i, a))
                if text is None:
                    # the same measurement, rounded in the German unit; enzymes and eGFR
                    # are whole numbers in both exports
                    if a in ("alt", "ast", "egfr"):
                        value = float(p.results[a][i])
                    else:
                        raw = float(wbc[i]) if a == "wbc" else float(m[a][i])
                        value = round_half_up(raw * factor, decimals)
                    text = formatnumber_value(value, decimals, comma=True)
                row.append(text)
            rows.append(row)
    cols = ["Patienten-ID", "Auftragsnummer", "Entnahmedatum", "Uhrzeit", "Einsender"] + [c[0] for c in EUROPE_COLUMNS]
    return pd.DataFrame(rows, columns=cols, dtype="str")


# --------------------------------------------------------------------------- Excel workbook

EXCEL_LAB_COLUMNS: tuple[tuple[str, str], ...] = (
    ("WBC (x10^9/L)", "wbc"),
    ("Neutrophils (x10^9/L)", "neutrophils"),
    ("Lymphocytes (x10^9/L)", "lymphocytes"),
    ("Eosinophils (x10^9/L)", "eosinophils"),
    ("Hb (g/L)", "hemoglobin"),
    ("Platelets (x10^9/L)", "platelets"),
    ("MCV (fL)", "mcv"),
    ("ALT (U/L)", "alt"),
    ("AST (U/L)", "ast"),
    ("Albumin (g/L)", "albumin"),
    ("Creatinine (umol/L)", "creatinine"),
    ("eGFR (mL/min/1.73m2)", "egfr"),
)

BRANDS: dict[str, str] = {
    "mycophenolate mofetil": "CellCept 500 mg tablets",
    "cyclophosphamide": "Endoxan",
    "methylprednisolone": "Solu-Medrol",
    "prednisone": "Prednison",
    "hydroxychloroquine": "Plaquenil 200 mg tablets",
    "allopurinol": "Zyloric 100 mg tablets",
    "tacrolimus": "Prograf",
    "leflunomide": "Arava",
}
FREQUENCY_WORDS = {
    "daily": "once daily",
    "BID": "twice daily",
    "weekly": "once weekly",
    "every 2 weeks": "every 2 weeks",
}
ROUTE_WORDS = {"oral": "oral", "sc": "subcutaneous", "iv": "IV"}
SEX_WORDS = {"F": "Female", "M": "Male"}
PHENOTYPE_WORDS = {
    "tpmt": {"normal": "Normal (*1/*1)", "intermediate": "Intermediate (*1/*3A)", "not tested": "Not tested"},
    "nudt15": {"normal": "Normal (*1/*1)", "intermediate": "Intermediate (*1/*2)", "not tested": "Not tested"},
}


def _excel_medication(d: DoseStep) -> tuple[str, float, str]:
    """(medication text, amount, unit): azathioprine as Imuran tablets, others in mg."""
    if d.drug == "azathioprine":
        strength = 50 if d.dose % 50 == 0 else 25
        return f"Imuran {strength} mg tablets", d.dose / strength, "tablets"
    if d.drug == "methotrexate":
        text = "Metoject" if d.route == "sc" else "Methotrexate 2.5 mg tablets"
        return text, d.dose, "mg"
    return BRANDS[d.drug], d.dose, "mg"


def number_value(v: float) -> float | int:
    """An int when the value is whole (Excel cells and JSON numbers), else the float."""
    return int(v) if float(v).is_integer() else float(v)


def workbook_frames(clinic: Clinic) -> dict[str, pd.DataFrame]:
    """The clinic spreadsheet's sheets, with typed cells (numbers, dates)."""
    labs, doses, patients = [], [], []
    for p in clinic.subset(EXCEL_STORIES):
        for i, draw in enumerate(p.draws):
            labs.append(
                [p.patient_id, draw.when] + [number_value(float(p.results[a][i])) for _h, a in EXCEL_LAB_COLUMNS]
            )
        for d in sorted(p.plan.doses, key=lambda d: (d.start, d.drug)):
            text, amount, unit = _excel_medication(d)
            doses.append(
                [
                    p.patient_id,
                    text,
                    number_value(amount),
                    unit,
                    FREQUENCY_WORDS[d.frequency],
                    ROUTE_WORDS[d.route],
                    d.start,
                    d.end,
                ]
            )
        pl = p.plan
        patients.append(
            [
                pl.patient_id,
                f"{pl.name[1]} {pl.name[0].title()}",
                SEX_WORDS[pl.sex],
                pl.birth_date,
                pl.weight_kg,
                pl.weight_date,
                PHENOTYPE_WORDS["tpmt"][pl.tpmt],
                PHENOTYPE_WORDS["nudt15"][pl.nudt15],
                pl.diagnosis,
            ]
        )
    return {
        "Labs": pd.DataFrame(labs, columns=["Hospital number", "Date", *(h for h, _a in EXCEL_LAB_COLUMNS)]),
        "Doses": pd.DataFrame(
            doses,
            columns=["Hospital number", "Medication", "Dose", "Unit", "Frequency", "Route", "Start date", "Stop date"],
        ),
        "Patients": pd.DataFrame(
            patients,
            columns=[
                "Hospital number",
                "Patient name",
                "Sex",
                "Date of birth",
                "Weight (kg)",
                "Weight date",
                "TPMT",
                "NUDT15",
                "Diagnosis",
            ],
        ),
    }


def workbook_bytes(sheets: dict[str, pd.DataFrame], timestamp: dt.datetime) -> bytes:
    """An .xlsx of the sheets, byte-for-byte reproducible (fixed times, stored entries)."""
    # imported on use: openpyxl takes ~0.5 s to import and only the Excel sample needs it
    from openpyxl import Workbook
    from openpyxl.styles import Font

    wb = Workbook()
    for sheet in list(wb.worksheets):  # the default empty sheet
        wb.remove(sheet)
    for title, frame in sheets.items():
        ws = wb.create_sheet(title)
        ws.append(list(frame.columns))
        for cell in ws[1]:
            cell.font = Font(bold=True)
        for row in frame.itertuples(index=False, name=None):
            ws.append([None if _missing(v) else _cell(v) for v in row])
        for col_cells in ws.iter_cols(min_row=2):
            for cell in col_cells:
                if isinstance(cell.value, dt.datetime):
                    cell.number_format = "dd/mm/yyyy hh:mm"
                elif isinstance(cell.value, dt.date):
                    cell.number_format = "dd/mm/yyyy"
        for k, header in enumerate(frame.columns, start=1):
            ws.column_dimensions[ws.cell(1, k).column_letter].width = max(12, len(str(header)) + 2)
        ws.freeze_panes = "A2"
    wb.properties.creator = "dashboard.sample (synthetic data)"
    wb.properties.title = "Synthetic sample clinic - not real patients"
    wb.properties.created = timestamp
    buf = io.BytesIO()
    wb.save(buf)
    return _reproducible_zip(buf.getvalue(), timestamp)


def _missing(v: Any) -> bool:
    return v is None or (isinstance(v, float) and v != v) or v is pd.NaT


def _cell(v: Any) -> Any:
    if isinstance(v, pd.Timestamp):
        return v.to_pydatetime()
    return v


def _reproducible_zip(data: bytes, timestamp: dt.datetime) -> bytes:
    """Rewrite a zip with fixed entry times, stored (uncompressed) entries and fixed core times."""
    stamp = timestamp.strftime("%Y-%m-%dT%H:%M:%SZ")
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as dst:
        for info in src.infolist():
            body = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                text = body.decode("utf-8")
                text = re.sub(r"(<dcterms:(created|modified)[^>]*>)[^<]*(</dcterms:\2>)", rf"\g<1>{stamp}\g<3>", text)
                body = text.encode("utf-8")
            entry = zipfile.ZipInfo(info.filename, date_time=(1980, 1, 1, 0, 0, 0))
            entry.compress_type = zipfile.ZIP_STORED
            entry.external_attr = 0o644 << 16
            dst.writestr(entry, body)
    return out.getvalue()


def json_bytes(document: dict[str, Any]) -> bytes:
    return (json.dumps(document, ensure_ascii=False, indent=1) + "\n").encode("utf-8")


# --------------------------------------------------------------------------- all files


def subset_ids(clinic: Clinic, stories: Sequence[str]) -> list[str]:
    return [p.patient_id for p in clinic.subset(tuple(stories))]
