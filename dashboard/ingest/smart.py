"""SMART on FHIR sample-patient tables (smart-on-fhir/sample-patients ``data/``).

* ``labs.txt`` (ID, PID, DATE, LOINC, SCALE, NAME, VALUE, LOW, HIGH, UNITS) is a plain
  long lab table: the generic reader maps it (LOINC code, LOW/HIGH reference range,
  local units such as ``k/cumm`` and ``UNITS/L``).  No reader is needed here.
* ``meds.txt`` (ID, PID, START_DATE, END_DATE, RxNorm, Name, SIG, Q, DAYS, REFILLS,
  Q_TO_TAKE_VALUE, Q_TO_TAKE_UNIT, FREQUENCY_VALUE, FREQUENCY_UNIT) is read here: the
  generic mapping would take it for a lab table (``Name`` / ``Q_TO_TAKE_VALUE``).
  The amount to take is a count of tablets times the strength in the product name
  ("Leflunomide 10 MILLIGRAM In 1 TABLET"); the frequency is FREQUENCY_VALUE per
  FREQUENCY_UNIT, else read from the SIG ("1 daily", "taper as directed" = unknown);
  without an amount the product strength is kept as a strength-only dose.
"""

from __future__ import annotations

from typing import Any

from dashboard.ingest.context import Context, Parsed, interval_dates
from dashboard.ingest.interop import (
    Tally,
    claim_table,
    col,
    finish,
    frequency_in_text,
    medication_records,
    product_strength,
    run_doses,
    texts,
)
from dashboard.ingest.mapping import normalize
from dashboard.ingest.report import FileReport
from dashboard.ingest.signatures import is_smart_meds
from dashboard.ingest.tabular import RawTable

_COUNT_UNITS = {"tablet", "tablets", "tab", "tabs", "capsule", "capsules", "cap", "caps", "pill", "pills"}


def read_meds(raw: RawTable, rep: FileReport, ctx: Context) -> Parsed | None:
    if not is_smart_meds(raw):
        return None
    fields = claim_table(rep, raw, "smart_meds")
    columns = {k: rep.mapping.get(k, v) for k, v in fields.items()}
    start_arr, end_arr = col(raw, "START_DATE"), col(raw, "END_DATE")
    dates = interval_dates(rep, start_arr, end_arr, ctx)
    name, sig = texts(raw, "Name"), texts(raw, "SIG")
    qty, qty_unit = texts(raw, "Q_TO_TAKE_VALUE"), texts(raw, "Q_TO_TAKE_UNIT")
    fval, funit = texts(raw, "FREQUENCY_VALUE"), texts(raw, "FREQUENCY_UNIT")

    def amount_and_frequency(i: int) -> dict[str, Any]:
        dose, unit, strength_only = _amount(name[i], qty[i], qty_unit[i])
        freq = f"{fval[i]} {funit[i]}".strip() if fval[i] else frequency_in_text(sig[i])
        return {"dose": dose, "dose_unit": unit, "frequency": freq, "strength_only": strength_only}

    records = medication_records(raw, dates, fields, columns, amount_and_frequency)
    tally = Tally.starting_with(raw.rejected)
    table = run_doses(rep, records, tally)
    return finish(rep, tally, doses=table)


def _amount(name: str, qty: str, unit: str) -> tuple[str, str, bool]:
    """(dose, unit, strength_only): tablets times the product strength, or the strength."""
    strength = product_strength(name)
    u = normalize(unit).strip()
    if qty and u in _COUNT_UNITS:
        if strength is None:
            return qty, "tablet", False  # the shared pipeline rejects: strength unknown
        try:
            return f"{float(qty) * strength[0]:g}", strength[1], False
        except ValueError:
            return qty, unit, False
    if qty:
        return qty, unit, False
    if strength is not None:
        return f"{strength[0]:g}", strength[1], True
    return "", "", False
