"""Synthea CSV export: observations.csv, medications.csv, patients.csv, conditions.csv.

Recognised by their header sets (see ``docs/formats.md``).  Synthea writes ISO 8601
dates, LOINC codes with UCUM units, RxNorm codes, and UUID patient ids shared by all
four tables (and by the Synthea FHIR bundles of the same run).

* observations: every row goes through the shared lab pipeline.  Vital signs, surveys
  and QALY rows are rejected as "not a monitored analyte" with their code and
  description.  Body weight (LOINC 29463-7) is not a lab: the latest weight of each
  patient becomes the patient's weight; earlier weights are reported as not kept.
* medications: there is no dose or frequency column.  The strength is read from the
  description ("Methotrexate 2.5 MG Oral Tablet" -> 2.5 mg), the dose is marked
  ``strength_only`` and the frequency stays "unknown"; nothing is invented.
* conditions: the conditions that explain immunosuppression (rheumatic and other
  immune-mediated diseases, transplants, kidney disease) become the patient's
  diagnosis; every other condition row is reported as not used.
* patients: Id, GENDER, BIRTHDATE.
"""

from __future__ import annotations

import math

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from dashboard.ingest import dates as dates_mod
from dashboard.ingest.context import Context, Parsed, decide_dates, interval_dates
from dashboard.ingest.interop import (
    CONDITION_NOT_USED,
    Tally,
    claim_table,
    col,
    export_tables,
    finish,
    is_relevant_condition,
    medication_records,
    run_doses,
    run_patients,
    texts,
)
from dashboard.ingest.labs import LabInput, normalise_labs
from dashboard.ingest.patients import PatientRecord, patients_from_table
from dashboard.ingest.report import FileReport
from dashboard.ingest.signatures import (
    is_synthea_conditions,
    is_synthea_medications,
    is_synthea_observations,
    is_synthea_patients,
)
from dashboard.ingest.tabular import RawTable

#: LOINC codes of a body weight (kg / lb), taken as the patient's weight.
BODY_WEIGHT_LOINC = ("29463-7", "3141-9")

# --------------------------------------------------------------------------- observations


def read_observations(raw: RawTable, rep: FileReport, ctx: Context) -> Parsed | None:
    if not is_synthea_observations(raw):
        return None
    fields = claim_table(rep, raw, "synthea_observations")
    date = col(raw, "DATE")
    decision = decide_dates(rep, [date], ctx)
    code = pc.utf8_trim_whitespace(col(raw, "CODE"))
    is_weight = pc.is_in(code, value_set=pa.array(BODY_WEIGHT_LOINC)).to_numpy(zero_copy_only=False)
    lab_idx = pa.array(np.flatnonzero(~is_weight))

    def take(name: str) -> pa.Array:
        return pc.take(col(raw, name), lab_idx)

    inp = LabInput(
        file=raw.name,
        rows=pc.take(raw.row_numbers, lab_idx),
        patient_id=take("PATIENT"),
        when=take("DATE"),
        test_name=take("DESCRIPTION"),
        test_code=take("CODE"),
        value=take("VALUE"),
        unit=take("UNITS"),
        columns={k: raw_name(raw, v) for k, v in fields.items()},
    )
    cands = normalise_labs(inp, rep, decision, ctx.options.as_of)
    cands.extra_rejected = list(raw.rejected)
    tally = Tally()
    patients = None
    if is_weight.any():
        patients = _latest_weights(raw, rep, decision, ctx, np.flatnonzero(is_weight), tally)
    return finish(rep, tally, labs=cands, patients=patients)


def raw_name(raw: RawTable, name: str) -> str:
    for h in raw.header:
        if h.strip().upper() == name.upper():
            return h
    return name


def _latest_weights(
    raw: RawTable, rep: FileReport, decision: dates_mod.OrderDecision, ctx: Context, idx: np.ndarray, tally: Tally
) -> pa.Table:
    """The latest body weight of each patient becomes the patient's weight."""
    take = pa.array(idx)
    rows = pc.take(raw.row_numbers, take).to_pylist()
    pids = pc.take(col(raw, "PATIENT"), take).to_pylist()
    values = pc.take(col(raw, "VALUE"), take).to_pylist()
    units = pc.take(col(raw, "UNITS"), take).to_pylist()
    parsed = dates_mod.parse_dates(pc.take(col(raw, "DATE"), take), decision.order, ctx.options.as_of)
    when = parsed.values.to_pylist()
    reasons = parsed.reason.to_pylist()
    latest: dict[str, int] = {}
    for k, (pid, t, why) in enumerate(zip(pids, when, reasons, strict=True)):
        if not pid:
            tally.reject(rows[k], raw_name(raw, "PATIENT"), "no patient id", values[k])
        elif why or t is None:
            tally.reject(rows[k], raw_name(raw, "DATE"), f"body weight: {why or 'no date'}", values[k])
        elif pid not in latest or t >= when[latest[pid]]:
            if pid in latest:
                _older_weight(tally, raw, rows, values, latest[pid])
            latest[pid] = k
        else:
            _older_weight(tally, raw, rows, values, k)
    records = [
        PatientRecord(
            row=rows[k],
            patient_id=pid,
            weight=values[k],
            weight_unit=units[k],
            weight_date=when[k].replace(tzinfo=None),
            columns={"patient_id": raw_name(raw, "PATIENT"), "weight_kg": raw_name(raw, "VALUE")},
        )
        for pid, k in latest.items()
    ]
    return run_patients(rep, records, tally, ctx.options.as_of)


def _older_weight(tally: Tally, raw: RawTable, rows: list[int], values: list[str], k: int) -> None:
    tally.reject(
        rows[k],
        raw_name(raw, "VALUE"),
        "an earlier body weight (the latest one is kept as the patient's weight)",
        values[k],
    )


# --------------------------------------------------------------------------- medications


def read_medications(raw: RawTable, rep: FileReport, ctx: Context) -> Parsed | None:
    if not is_synthea_medications(raw):
        return None
    fields = claim_table(rep, raw, "synthea_medications")
    start_arr, stop_arr = col(raw, "START"), col(raw, "STOP")
    dates = interval_dates(rep, start_arr, stop_arr, ctx)
    columns = {k: raw_name(raw, v) for k, v in fields.items()}
    records = medication_records(raw, dates, fields, columns, lambda _i: {"strength_only": True})
    tally = Tally.starting_with(raw.rejected)
    table = run_doses(rep, records, tally)
    if table.num_rows:
        rep.warn(
            "Synthea medications have no dose or frequency: each dose is the product strength from the "
            "description (marked strength only) and its frequency is unknown"
        )
    return finish(rep, tally, doses=table)


# --------------------------------------------------------------------------- patients


def read_patients(raw: RawTable, rep: FileReport, ctx: Context) -> Parsed | None:
    if not is_synthea_patients(raw):
        return None
    table = export_tables()["synthea_patients"]
    fields = {k: raw_name(raw, v) for k, v in table.fields.items()}
    parsed = patients_from_table(raw, rep, ctx, fields, fmt=table.format)
    rep.mapping = {k: v for k, v in fields.items()}
    rep.unmapped_columns = [h for h in raw.header if h not in fields.values()]
    deaths = texts(raw, "DEATHDATE")
    died = sum(1 for d in deaths if d)
    if died:
        rep.warn(f"{died} patient(s) have a DEATHDATE in the export; it is not imported")
    return parsed


# --------------------------------------------------------------------------- conditions


def read_conditions(raw: RawTable, rep: FileReport, ctx: Context) -> Parsed | None:
    if not is_synthea_conditions(raw):
        return None
    claim_table(rep, raw, "synthea_conditions")
    decision = decide_dates(rep, [col(raw, "STOP")], ctx)
    stops = dates_mod.parse_dates(col(raw, "STOP"), decision.order, ctx.options.as_of).values.to_pylist()
    tally = Tally.starting_with(raw.rejected)
    pids, codes, descs = texts(raw, "PATIENT"), texts(raw, "CODE"), texts(raw, "DESCRIPTION")
    kept = 0
    for i, row in enumerate(raw.row_numbers.to_pylist()):
        if not pids[i]:
            tally.reject(row, raw_name(raw, "PATIENT"), "no patient id", descs[i])
            continue
        if not is_relevant_condition(codes[i], descs[i]):
            tally.reject(row, raw_name(raw, "DESCRIPTION"), CONDITION_NOT_USED, f"{descs[i]} ({codes[i]})")
            continue
        label = descs[i].strip()
        if stops[i] is not None and not (isinstance(stops[i], float) and math.isnan(stops[i])):
            label += f" (ended {stops[i]:%Y-%m-%d})"
        known = ctx.diagnoses.setdefault(pids[i], [])
        if label not in known:
            known.append(label)
        kept += 1
        tally.accept(row)
    if kept:
        rep.warn(f"{kept} condition row(s) give the patients' diagnosis")
    return finish(rep, tally)
