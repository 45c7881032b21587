"""Lab results: from records of any reader to the canonical labs table.

Every reader (long CSV, wide CSV, Excel, FHIR, Synthea, MIMIC) turns its input into a
:class:`LabInput`, text arrays aligned by record, and hands it to
:func:`normalise_labs`.  That one function recognises the analyte, reads the value,
resolves and converts the unit, checks plausibility, parses the date and the reference
range, and gives every record a verdict with a reason.  :func:`combine_labs` then turns
% differentials into absolute counts and removes duplicates across all files of an
import, and settles the counts of each file's report.

All steps are vectorised over Arrow arrays; per-distinct-value Python work (test names,
units, unusual value texts) is done once per distinct text.
"""

from __future__ import annotations

import datetime as dt
import re
import tomllib
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import cache
from importlib import resources

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from dashboard import model
from dashboard import units as units_mod
from dashboard.ingest import dates as dates_mod
from dashboard.ingest import identity
from dashboard.ingest.mapping import names_disagree, normalize, other_specimen, recognise_test
from dashboard.ingest.report import SHOWN_VALUE, Conversion, FileReport, Problem
from dashboard.ingest.values import (
    UNDECIDED,
    ParsedValues,
    detect_decimal,
    parse_range_unit,
    parse_sex_ranges,
    parse_values,
    starts_below_zero,
)
from dashboard.ordering import pack, packed_order
from dashboard.units import (
    FAMILY_UNITS,
    INFER_UNITS,
    NO_INFERENCE,
    UNIT_NOTES,
    is_unit,
    normalize_unit,
    resolve_unit,
)

ACCEPTED, REJECTED, DUPLICATE = 0, 1, 2

#: How many days after "today" a result may be dated (time zones, clock skew).
FUTURE_TOLERANCE_DAYS = 1


@dataclass
class LabInput:
    """Lab records of one file, as text, aligned by record.

    ``rows`` gives each record's row in the source (several records share a row in a
    wide table).  ``columns`` names the source column of each field for messages;
    ``value_column`` overrides it per record (wide tables).  Readers that parse dates
    themselves pass ``when_parsed``; readers that know the analyte pass
    ``analyte_hint`` (an analyte id, "" to recognise from code/name).
    """

    file: str
    rows: pa.Array
    patient_id: pa.Array
    when: pa.Array
    test_name: pa.Array
    value: pa.Array
    test_code: pa.Array | None = None
    unit: pa.Array | None = None
    ref_range: pa.Array | None = None
    ref_low: pa.Array | None = None
    ref_high: pa.Array | None = None
    flag: pa.Array | None = None
    status: pa.Array | None = None  # the result's status as the lab wrote it ("Final", "Cancelled", HL7 "X")
    specimen: pa.Array | None = None  # "Blood", "Serum", "Urine" ...: only blood results are monitored
    analyte_hint: pa.Array | None = None
    percent_hint: pa.Array | None = None
    when_parsed: pa.Array | None = None
    #: per record, why the reader gave no draw time ("" where it gave one): used as the
    #: reason instead of "no date" (a FHIR result dated only by its release)
    when_reason: pa.Array | None = None
    #: per record, why the reader found no result value ("" where it found one): a FHIR
    #: component with a ``dataAbsentReason`` ("Clotted"), a coded value or none at all
    value_reason: pa.Array | None = None
    value_column: pa.Array | None = None
    #: the unit the value column's header states ("Result (mmol/L)": "mmol/L"; "" when none):
    #: the unit of a record whose unit cell is blank, and one that must agree with the cell (H582)
    value_unit: str = ""
    #: other date columns each row's draw date is checked against: (kind, column, texts),
    #: kind "draw" (another column that could be the draw date: the two must agree, H583)
    #: or "report" (received, reported or verified: never before the draw, H585)
    date_checks: list[tuple[str, str, pa.Array]] = field(default_factory=list)
    #: per record, the limits of a range given per sex by the reader rather than in a text
    #: (male low, male high, female low, female high, in the result's unit; NaN where a sex
    #: has none): a FHIR range that applies to some sexes only (H359)
    ref_by_sex: np.ndarray | None = None
    columns: dict[str, str] = field(default_factory=dict)
    allow_future: bool = False  # MIMIC's shifted dates: no future check and no date window
    decimal: str | None = None
    delimiter: str = ","

    def __len__(self) -> int:
        return len(self.rows)


@dataclass
class LabCandidates:
    """What :func:`normalise_labs` made of one file's records."""

    report: FileReport
    table: pa.Table  # every record: canonical columns + _percent, _rec, _aidx, _ok (False if rejected), _corr
    status: np.ndarray  # per record: ACCEPTED / REJECTED (DUPLICATE set by combine)
    rows: np.ndarray  # per record: source row
    problems: list[Problem]  # per rejected record
    extra_rejected: list[Problem] = field(default_factory=list)  # rows with no record
    #: rows of the same file the reader accepted outside the lab table (a FHIR file's
    #: MedicationRequests and Patients, a body weight taken as the patient's weight)
    extra_accepted: int = 0
    #: per record, the limits of a reference range given per sex (male low, male high,
    #: female low, female high; canonical unit, NaN where none); None when there are none
    ref_by_sex: np.ndarray | None = None
    #: set by combine_labs: the rows of the combined table with a range per sex, and their limits
    sex_pending: tuple[np.ndarray, np.ndarray] | None = None


def _draws_of(analyte_idx: np.ndarray, when: pa.Array) -> list[tuple[str, str]]:
    """(analyte id, draw time in ISO) of rejected records, ("", "") where either is not
    known (a test not recognised, no date): the draw a later result may replace."""
    names = [*model.ANALYTES, ""]
    times = when.cast(pa.timestamp("s")).to_pylist() if pa.types.is_timestamp(when.type) else [None] * len(when)
    out = []
    for a, t in zip(analyte_idx.tolist(), times, strict=True):
        name = names[a] if 0 <= a < len(model.ANALYTES) else ""
        out.append((name, t.isoformat()) if name and t is not None else ("", ""))
    return out


def _empty(n: int) -> pa.Array:
    return pa.repeat(pa.scalar("", pa.string()), n)


def _or_empty(arr: pa.Array | None, n: int) -> pa.Array:
    return arr if arr is not None else _empty(n)


def _plain_numbers(values: pa.Array) -> pa.Array | None:
    """The values as numbers when every one is a plain dot-decimal number (the common
    case, settled by one cast), else None."""
    try:
        return pc.cast(values, pa.float64())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None


def _decide_decimal(
    inp: LabInput, report: FileReport, plain: Future[pa.Array | None] | None = None
) -> tuple[str, pa.Array | None]:
    """The file's decimal separator, and the values as numbers when one cast read them all
    (``plain``: :func:`_plain_numbers` of the values, when already on its way)."""
    if inp.decimal:
        report.decimal = report.decimal or ("comma" if inp.decimal == "," else "point")
        return inp.decimal, None
    numbers = plain.result() if plain is not None else _plain_numbers(inp.value)
    if numbers is not None:
        report.decimal = "point"
        return ".", numbers
    sep, dots, commas = detect_decimal(inp.value, inp.delimiter)
    if sep == UNDECIDED:
        report.decimal = "undecided"
        report.warn(
            f"as many values use a decimal comma as a decimal point ({dots} each), so the file's decimal "
            "separator cannot be told: every value written with a comma or a point is rejected, not guessed; "
            "export the file again with one decimal separator"
        )
        return sep, None
    report.decimal = "comma" if sep == "," else "point"
    if dots and commas:
        report.warn(
            f"{min(dots, commas)} value(s) use the other decimal separator than the rest of the file; "
            "they are rejected, not guessed"
        )
    return sep, None


#: A result cell that is a date (a workbook's date cell, "2026-01-03" or with its time).
_DATE_VALUE = r"^\d{4}-\d{2}-\d{2}(?:[ T]\d{2}:\d{2}(?::\d{2})?)?$"


def _date_values(values: pa.Array, pv: ParsedValues) -> np.ndarray:
    """Per record, whether the result cell is a date (:data:`_DATE_VALUE`).  Looked for
    only among the values that did not read as a plain number (a reason, or text after
    the number: "2026-01-03" reads as 2026 and "-01-03"), not over a million results."""
    out = np.zeros(len(values), dtype=bool)
    odd = pc.or_(pc.not_equal(pv.reason, ""), pc.not_equal(pv.trailing, "")).to_numpy(zero_copy_only=False)
    rows = np.flatnonzero(odd)
    if len(rows):
        out[rows] = pc.match_substring_regex(values.take(pa.array(rows)), _DATE_VALUE).to_numpy(zero_copy_only=False)
    return out


def _quoted(texts: pa.Array) -> pa.Array:
    """Each text quoted in a reason, cut at :data:`SHOWN_VALUE` characters with its length
    said ("xxx…(32,000 characters)"): a reason never carries a whole 32,000-character cell."""
    texts = texts.cast(pa.string())
    lengths = pc.utf8_length(texts)
    cut = pc.binary_join_element_wise(
        pc.utf8_slice_codeunits(texts, 0, SHOWN_VALUE),
        "…(",
        pc.cast(lengths, pa.string()),
        " characters)",
        "",
    )
    return pc.if_else(pc.greater(lengths, SHOWN_VALUE), cut, texts)


def _junk_reasons(values: pa.Array, trailing: pa.Array, units: pa.Array) -> pa.Array:
    """Why a value with text after its number beside a unit column is not read: a
    percentage ("55%", a cell formatted as a percentage in Excel) beside a unit that is
    not "%" is said as such, never scaled to fit; any other text is quoted, cut short."""
    trailing = trailing.cast(pa.string())
    percent = pc.binary_join_element_wise(
        "the result is written as a percentage (",
        _quoted(values),
        ") but its unit is '",
        _quoted(units),
        "': not read as either (a cell formatted as a percentage in Excel?)",
        "",
    )
    other = pc.binary_join_element_wise("unexpected text after the number: '", _quoted(trailing), "'", "")
    return pc.if_else(pc.equal(pc.utf8_trim_whitespace(trailing), "%"), percent, other)


class _Verdicts:
    """Per-record rejection codes; the message of a record is looked up only if rejected.

    Each :meth:`reject` registers a reason source (a constant text, an array of texts
    aligned with the records, or a dict row -> text) and a column (text or array); the
    first reason to hit a record wins.
    """

    def __init__(self, n: int) -> None:
        self.code = np.zeros(n, dtype=np.int16)
        self.sources: list[tuple[object, object]] = [("", "")]

    def reject(self, mask, why, column) -> None:
        m = mask.to_numpy(zero_copy_only=False) if isinstance(mask, (pa.Array, pa.ChunkedArray)) else mask
        m = np.asarray(m, dtype=bool)
        if not m.any():  # no record (most checks of most files): nothing to compare with the codes
            return
        m = m & (self.code == 0)
        if not m.any():
            return
        if callable(why):
            why = why()
        self.sources.append((why, column))
        self.code[m] = len(self.sources) - 1

    @property
    def rejected(self) -> np.ndarray:
        return self.code != 0

    def messages(self, rows: np.ndarray) -> list[tuple[str, str]]:
        out = []
        for r in rows:
            why, col = self.sources[self.code[r]]
            if isinstance(why, str):
                msg = why
            elif isinstance(why, dict):
                msg = why[int(r)]
            else:
                msg = why[int(r)].as_py()
            c = col if isinstance(col, str) else col[int(r)].as_py()
            out.append((msg, c))
        return out


def normalise_labs(
    inp: LabInput,
    report: FileReport,
    order: dates_mod.OrderDecision | None,
    today: dt.date,
) -> LabCandidates:
    """Interpret one file's lab records.  ``order`` is the file's date-order decision."""
    n = len(inp)
    verdict = _Verdicts(n)
    col_of = inp.columns.get
    value_col = inp.value_column if inp.value_column is not None else col_of("value", "value")
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="dates") as pool:
        # A large file's dates, then its values, are parsed on a second core while the ids
        # and test names are read (both steps are pure; Arrow and numpy release the GIL);
        # the verdicts are given in the same order either way, so a row's first reason does
        # not change.
        on_thread = n >= _DATES_ON_A_THREAD
        dates_job = (
            pool.submit(dates_mod.parse_dates, inp.when, order.order if order else "ISO", today, not inp.allow_future)
            if inp.when_parsed is None and on_thread
            else None
        )
        plain = pool.submit(_plain_numbers, inp.value) if on_thread and not inp.decimal else None
        return _normalise(inp, report, order, today, verdict, value_col, dates_job, plain)


#: From this many records on, :func:`normalise_labs` parses the dates and the values on a
#: second thread.
_DATES_ON_A_THREAD = 50_000


def _normalise(
    inp: LabInput,
    report: FileReport,
    order: dates_mod.OrderDecision | None,
    today: dt.date,
    verdict: _Verdicts,
    value_col: str,
    dates_job: Future[dates_mod.ParsedDates] | None,
    plain: Future[pa.Array | None] | None = None,
) -> LabCandidates:
    n = len(inp)
    col_of = inp.columns.get

    # --- patient id: spaces of any kind around it removed (and said); an id holding a
    # character that hides or disguises (a right-to-left override, a zero-width space ...)
    # is rejected, never cleaned: it could then merge two patients.  Judged once per
    # distinct id (a clinic has thousands of patients and a million results).
    pid_codes = _judge_patient_ids(inp, report, verdict, col_of("patient_id", "patient_id"))

    # --- result status: a withdrawn or not-done result is never graded
    # (a correction's status, "" for any other: it replaces the other results of its draw, H132)
    # (and a withdrawn result's status: with its value it withdraws the same result kept
    # by an earlier import of the workspace, H530)
    corrects: pa.Array = _blank_dictionary(n)
    withdraws: pa.Array = corrects
    if inp.status is not None:
        corrects, withdraws = _judge_status(inp.status, verdict, report, col_of("result_status", "result_status"))

    # --- specimen: a urine creatinine is not the serum creatinine
    if inp.specimen is not None:
        _judge_specimen(inp.specimen, verdict, col_of("specimen", "specimen"))

    # --- the test names, read before the dates' verdicts while a large file's dates are
    # still being parsed (their verdicts come after, below)
    rec = _recognise(inp, inp.test_code, inp.test_name)

    # --- date
    if inp.when_parsed is not None:
        when = inp.when_parsed
        verdict.reject(pc.is_null(when), "no date or time", col_of("collected_at", "collected_at"))
    else:
        parsed = (
            dates_job.result()
            if dates_job is not None
            else dates_mod.parse_dates(inp.when, order.order if order else "ISO", today, window=not inp.allow_future)
        )
        when = parsed.values
        reason = parsed.reason
        if inp.when_reason is not None:
            reason = pc.if_else(pc.not_equal(inp.when_reason, ""), inp.when_reason, reason)
        verdict.reject(pc.not_equal(reason, ""), reason, col_of("collected_at", "collected_at"))
        if parsed.two_digit_years:
            report.warn(
                f"{parsed.two_digit_years} date(s) have two-digit years; read as 20yy up to next year, else 19yy"
            )
        if parsed.excel_serials:
            report.warn(
                f"{parsed.excel_serials} date(s) are Excel serial day numbers (e.g. {parsed.excel_example}), "
                "read as Excel counts them: check them against the source when the column is not a date column"
            )
        if len(parsed.zones) > 1:
            report.warn(
                f"the times name different time-zone offsets ({', '.join(parsed.zones)}): each is kept as the "
                "wall-clock time written, not converted, so draws written in different zones may be out of "
                "order by the hours between them"
            )
    if not inp.allow_future:
        limit = pa.scalar(
            dt.datetime.combine(today + dt.timedelta(days=FUTURE_TOLERANCE_DAYS + 1), dt.time()), pa.timestamp("s")
        )
        future = pc.fill_null(pc.greater_equal(when, limit), False)
        verdict.reject(future, "date is in the future", col_of("collected_at", "collected_at"))
    if inp.date_checks:
        _judge_other_dates(inp, when, order.order if order else "ISO", today, verdict)

    # --- analyte
    percent_from_name = rec.percent
    source_test = rec.source_test
    name_unit = rec.name_unit  # None when no test name carries a unit (most files)
    verdict.reject(
        rec.analyte_idx == len(model.ANALYTES),
        lambda: pc.if_else(
            pc.equal(source_test.cast(pa.string()), ""),
            pa.scalar("no test name or code: the result cannot be identified"),
            pc.binary_join_element_wise("not a monitored analyte: ", source_test.cast(pa.string()), ""),
        ),
        value_col if inp.value_column is not None else col_of("analyte", col_of("code", "analyte")),
    )

    # --- value
    if inp.value_reason is not None:
        verdict.reject(pc.not_equal(inp.value_reason, ""), inp.value_reason, value_col)
    if rec.clash is not None:  # after a reader's own reason (FHIR names every coding)
        verdict.reject(pc.not_equal(rec.clash, ""), rec.clash, col_of("code", col_of("analyte", "analyte")))
    decimal, numbers = _decide_decimal(inp, report, plain)
    pv = parse_values(inp.value, decimal, numbers)
    if not pv.clean:  # a column of plain numbers holds no date
        verdict.reject(
            _date_values(inp.value, pv),
            lambda: pc.binary_join_element_wise(
                "the result is a date (",
                inp.value,
                "), not a number: a date in the result column (Excel may have turned a typed result into a date)",
                "",
            ),
            value_col,
        )
        verdict.reject(pc.not_equal(pv.reason, ""), pv.reason, value_col)
    if pv.thousands:
        report.warn(
            f"{pv.thousands} value(s) written with a thousands separator (e.g. 150,000) were read as whole numbers"
        )

    # --- unit: the unit column, else text after the number, else the unit in the name, else
    # the unit in the value column's header; a unit stated twice must agree (H582)
    unit_col = _or_empty(inp.unit, n)
    trailing = pv.trailing
    has_trailing = None if pv.clean else pc.not_equal(trailing, "")
    header_unit = pa.repeat(pa.scalar(inp.value_unit, pa.string()), n) if inp.value_unit else None
    fallback = name_unit
    if header_unit is not None:
        fallback = header_unit if name_unit is None else pc.if_else(pc.equal(name_unit, ""), header_unit, name_unit)
    if has_trailing is not None and pc.any(has_trailing).as_py():
        has_unit_col = pc.not_equal(unit_col, "")
        unit_text = pc.if_else(has_unit_col, unit_col, pc.if_else(has_trailing, trailing, _or_empty(fallback, n)))
        junk = pc.and_(has_trailing, pc.and_(has_unit_col, pa.array(~_same_unit(trailing, unit_col))))
        verdict.reject(junk, lambda: _junk_reasons(inp.value, trailing, unit_col), value_col)
    elif inp.unit is None:
        unit_text = _or_empty(fallback, n)
    elif fallback is not None:
        unit_text = pc.if_else(pc.equal(unit_col, ""), fallback, unit_col)
    else:
        unit_text = unit_col
    said_twice = [("the test name", name_unit), ("the unit column", inp.unit)]
    if has_trailing is not None:
        said_twice.insert(1, ("the result", trailing))
    if header_unit is not None:
        said_twice.append((f"the column '{value_col}'", header_unit))
    for i, (who_a, a) in enumerate(said_twice):
        for who_b, b in said_twice[i + 1 :]:
            if a is not None and b is not None and (who_a, who_b) != ("the result", "the unit column"):
                _reject_units_said_twice(rec.analyte_idx, (who_a, a), (who_b, b), verdict, col_of("unit", "unit"))
    units = _resolve_units(rec.analyte_idx, unit_text)
    factor_np = units.factor
    verdict.reject(units.problem_mask & (units.analyte_ok), units.problem_text, col_of("unit", "unit"))
    values = pv.value
    inferred: dict[str, np.ndarray] = {}
    percent_or_count: np.ndarray | None = None
    if units.missing.any():
        inferred, percent_or_count = _infer_missing(
            units.analyte_idx, values, unit_text, factor_np, units.missing & units.analyte_ok, rec.absolute, verdict
        )
    percent_np = percent_from_name | units.percent
    # a name that says "%" with a unit column that names a count unit contradicts itself
    contradiction = percent_from_name & ~units.percent & units.analyte_ok & ~np.isnan(units.factor)
    verdict.reject(
        contradiction,
        "the test name says % but the unit is an absolute count unit; check the export",
        col_of("unit", "unit"),
    )
    # and the reverse: a name or code that says the absolute count ("Neut #", "ANC") with the
    # unit "%" is never made absolute from the white count (1.8 "%" of WBC 4.0 would be 0.072,
    # a false grade 4, where the name reads 1.8 x10^9/L): which one is meant is not known (H580)
    verdict.reject(
        rec.absolute & units.percent & units.analyte_ok,
        "the test name says the absolute count but the unit says % (of the white cells): the two readings "
        "differ (a count, or a percentage of the white count) and which one is meant is not known; check the export",
        col_of("unit", "unit"),
    )

    # --- convert and check plausibility
    with np.errstate(invalid="ignore"):
        converted = factor_np != 1.0
        canonical = values.copy()
        if converted.any():
            canonical[converted] = np.round(values[converted] * factor_np[converted], 9)
        canonical[np.isnan(factor_np)] = np.nan
        lo, hi, zero_ok = _plausible_bounds(units.analyte_idx)
        outside = np.where(canonical == 0, ~zero_ok, (canonical < lo) | (canonical > hi))
        implausible = outside & ~percent_np & ~np.isnan(canonical)
        # judged as a percentage once converted: a "fraction" of 0.5 is 50 %, of 1.5 is 150 %
        as_percent = np.where(np.isnan(canonical), values, canonical)
        bad_percent = percent_np & ((as_percent < 0) | (as_percent > 100))
    if implausible.any():
        verdict.reject(
            implausible,
            lambda: _implausible_messages(
                units.analyte_idx, values, unit_text, canonical, implausible, inp.value, decimal
            ),
            value_col,
        )
    if units.missing.any():
        _differential_above_white_count(
            units.analyte_idx, canonical, units.missing, pid_codes, when, verdict, col_of("unit", "unit")
        )
    if percent_or_count is not None:  # after the white-count check: its reason, where it applies, is sharper
        doubtful = percent_or_count != ""
        if doubtful.any():
            verdict.reject(
                doubtful, {int(r): percent_or_count[r] for r in np.flatnonzero(doubtful)}, col_of("unit", "unit")
            )
    for note, rows in inferred.items():  # said once the rows refused above are no longer counted
        read = int(np.count_nonzero(~verdict.rejected[rows]))
        if read:
            report.warn(note.format(count=read))
    verdict.reject(bad_percent, "a percentage must be between 0 and 100", value_col)
    if header_unit is not None:  # said once the rows refused above are no longer counted
        by_header = pc.equal(unit_col, "").to_numpy(zero_copy_only=False)
        for other in (trailing if has_trailing is not None else None, name_unit):
            if other is not None:
                by_header &= pc.equal(other, "").to_numpy(zero_copy_only=False)
        read = int(np.count_nonzero(by_header & ~verdict.rejected))
        if read:
            report.warn(
                f"{read} result(s) with no unit of their own read in {inp.value_unit}, the unit the column "
                f"'{value_col}' names"
            )

    # --- reference range (canonical unit; none for percentages)
    ref_low, ref_high, ref_by_sex = _reference(
        inp, n, decimal, factor_np, percent_np, units.analyte_idx, (lo, hi), report
    )

    # --- verdicts
    rejected = verdict.rejected
    status = np.where(rejected, REJECTED, ACCEPTED).astype(np.int8)
    rows_np = inp.rows.to_numpy(zero_copy_only=False)
    problems: list[Problem] = []
    bad = np.flatnonzero(rejected)
    if len(bad):
        raw_values = pc.take(inp.value, pa.array(bad)).to_pylist()
        ids = pc.take(inp.patient_id, pa.array(bad)).cast(pa.string()).to_pylist() if inp.patient_id is not None else []
        ids = [(i or "").strip() for i in ids] or [""] * len(bad)
        draws = _draws_of(units.analyte_idx[bad], pc.take(when, pa.array(bad)))
        for r, (msg, c), v, pid, (a, t) in zip(bad, verdict.messages(bad), raw_values, ids, draws, strict=True):
            problems.append(Problem(int(rows_np[r]), c, msg, v, pid, a, t))

    if inp.flag is None:
        source_flag = pv.flag
    elif pv.clean:
        source_flag = inp.flag
    else:
        source_flag = pc.if_else(pc.equal(inp.flag, ""), pv.flag, inp.flag)
    canon_units = pa.array([model.CANONICAL_UNITS[a] for a in model.ANALYTES] + [""], pa.string())
    aidx32 = pa.array(units.analyte_idx.astype(np.int32))
    # Low-cardinality text goes in as dictionary arrays (indices + a few distinct texts):
    # cheap to filter and to deduplicate; conform() writes plain text at the end.
    table = pa.table(
        {
            "patient_id": pid_codes,
            "collected_at": when,
            "analyte": pa.DictionaryArray.from_arrays(aidx32, pa.array([*model.ANALYTES, ""], pa.string())),
            "value": pa.array(canonical),
            "unit": pa.DictionaryArray.from_arrays(aidx32, canon_units),
            "comparator": _blank_dictionary(n) if pv.clean else _as_dictionary(pv.comparator),
            "ref_low": pa.array(ref_low),
            "ref_high": pa.array(ref_high),
            "source_flag": _blank_dictionary(n) if pv.clean and inp.flag is None else _as_dictionary(source_flag),
            "source_value": inp.value,
            "source_unit": units.unit_text,
            "source_test": source_test,
            "source_file": pa.DictionaryArray.from_arrays(
                pa.array(np.zeros(n, dtype=np.int32)), pa.array([inp.file], pa.string())
            ),
            "source_row": inp.rows,
            "derived": pa.array(np.zeros(n, dtype=bool)),
            "_percent": pa.array(percent_np),
            "_rec": pa.array(np.arange(n, dtype=np.int64)),
            "_aidx": pc.cast(aidx32, pa.int16()),
            # rejected records stay in the table until combine_labs, which drops them and
            # the duplicates in one pass (a filter of every column costs as much as a parse)
            "_ok": pa.array(~rejected),
            "_corr": corrects,
            "_wdr": withdraws,
        }
    )
    _record_conversions(report, units, ~rejected, percent_np)
    return LabCandidates(report, table, status, rows_np, problems, ref_by_sex=ref_by_sex)


# --------------------------------------------------------------------------- steps


def _as_dictionary(arr: pa.Array) -> pa.Array:
    """A text array as a dictionary array (all-empty arrays without a scan of the texts)."""
    if isinstance(arr, pa.DictionaryArray):
        return arr
    if not pc.any(pc.not_equal(arr, "")).as_py():
        return _blank_dictionary(len(arr))
    return pc.dictionary_encode(arr)


def _blank_dictionary(n: int) -> pa.Array:
    """n empty texts as a dictionary array."""
    return pa.DictionaryArray.from_arrays(pa.array(np.zeros(n, dtype=np.int32)), pa.array([""], pa.string()))


def _judge_patient_ids(inp: LabInput, report: FileReport, verdict: _Verdicts, column: str) -> pa.Array:
    """Trim, and reject empty or disguised, patient ids, once per distinct id; returns the
    ids (trimmed) dictionary-encoded.  ``inp.patient_id`` becomes the trimmed ids."""
    ids = inp.patient_id
    if isinstance(ids, pa.ChunkedArray):
        ids = ids.combine_chunks()
    if ids.null_count:  # not from a reader of ours: the row-by-row way
        trimmed = pc.utf8_trim_whitespace(ids)
        changed = pc.sum(pc.not_equal(trimmed, ids)).as_py() or 0
        if changed:
            report.warn(
                f"{changed} patient id(s) had spaces (such as a non-breaking space) at their start or end: removed"
            )
            inp.patient_id = ids = trimmed
        read = _read_ids(trimmed, report)
        if read is not trimmed:
            inp.patient_id = ids = read
        verdict.reject(pc.equal(ids, ""), "no patient id", column)
        disguised = pc.match_substring_regex(ids, identity.REJECTED_CLASS)
        if pc.any(disguised).as_py():
            verdict.reject(disguised, lambda: _id_problems(ids, disguised), column)
        return pc.dictionary_encode(ids)
    enc = ids if isinstance(ids, pa.DictionaryArray) else _dictionary_encode(ids)
    texts, codes = enc.dictionary, enc.indices.to_numpy(zero_copy_only=False)
    trimmed = pc.utf8_trim_whitespace(texts)
    moved = pc.not_equal(trimmed, texts).to_numpy(zero_copy_only=False)
    if moved.any():
        changed = int(np.count_nonzero(moved[codes]))
        report.warn(f"{changed} patient id(s) had spaces (such as a non-breaking space) at their start or end: removed")
    read = _read_ids(trimmed, report)
    if read is not trimmed:
        trimmed = read
        moved = pc.not_equal(trimmed, texts).to_numpy(zero_copy_only=False)
    if moved.any():
        again = pc.dictionary_encode(trimmed)  # " P1" and "P1" are one id once trimmed
        codes = again.indices.to_numpy(zero_copy_only=False)[codes]
        texts = again.dictionary
        enc = pa.DictionaryArray.from_arrays(pa.array(codes.astype(np.int32)), texts)
        inp.patient_id = enc.dictionary_decode()
    empty = pc.equal(texts, "").to_numpy(zero_copy_only=False)
    if empty.any():  # (else no record is rejected: no gather of a million codes to say so)
        verdict.reject(empty[codes], "no patient id", column)
    disguised_text = pc.match_substring_regex(texts, identity.REJECTED_CLASS).to_numpy(zero_copy_only=False)
    if disguised_text.any():
        problems = [
            identity.id_problem(t) if bad else "" for t, bad in zip(texts.to_pylist(), disguised_text, strict=True)
        ]
        verdict.reject(
            disguised_text[codes],
            lambda: {int(r): problems[codes[r]] for r in np.flatnonzero(disguised_text[codes])},
            column,
        )
    return enc


def _dictionary_encode(arr: pa.Array) -> pa.DictionaryArray:
    """``pc.dictionary_encode(arr)``; a column of long runs of one text (each patient's
    results together, as most exports list them) is encoded run by run, to the same
    array: its runs' texts are encoded (first appearance by run is first appearance by
    row) and each run's code repeated over its rows (1M patient ids: 12 -> 7 ms)."""
    k = min(len(arr), _RUN_SAMPLE)
    if arr.null_count or k < 2:
        return pc.dictionary_encode(arr)
    changes = pc.sum(pc.not_equal(arr.slice(1, k - 1), arr.slice(0, k - 1))).as_py() or 0
    if changes * 8 > k:  # short runs (test names, units): the run encoding would not pay
        return pc.dictionary_encode(arr)
    runs = pc.run_end_encode(arr)
    enc = pc.dictionary_encode(runs.values)
    lengths = np.diff(runs.run_ends.to_numpy(zero_copy_only=False), prepend=0)
    codes = np.repeat(enc.indices.to_numpy(zero_copy_only=False), lengths)
    return pa.DictionaryArray.from_arrays(pa.array(codes), enc.dictionary)


#: How many leading rows :func:`_dictionary_encode` looks at to see whether runs are long.
_RUN_SAMPLE = 4096


def _read_ids(ids: pa.Array, report: FileReport) -> pa.Array:
    """``ids`` each read as the text it stands for (``identity.read_id``: Excel's ``="0012345"``,
    decomposed accents), each change said once per distinct id (the first ten, then a count);
    ``ids`` itself when none changes (most files: no id needs it)."""
    needs = pc.fill_null(pc.match_substring_regex(ids, identity.NEEDS_READING), False)
    if not pc.any(needs).as_py():
        return ids
    texts = ids.to_pylist()
    notes: dict[str, str] = {}
    out = []
    for text, need in zip(texts, needs.to_pylist(), strict=True):
        if need and text is not None:
            text, note = identity.read_id(text)
            if note:
                notes.setdefault(note, text)
        out.append(text)
    for note in list(notes)[:10]:
        report.warn(note)
    if len(notes) > 10:
        report.warn(f"{len(notes) - 10} more patient ids read as the text they stand for")
    return pa.array(out, pa.string()) if notes else ids


def _dict_codes(arr: pa.Array) -> tuple[np.ndarray, list[str]]:
    enc = pc.dictionary_encode(arr)
    return enc.indices.to_numpy(zero_copy_only=False), enc.dictionary.to_pylist()


def _pair_codes(a: np.ndarray, b: np.ndarray, nb: int) -> tuple[np.ndarray, np.ndarray]:
    """Distinct (a, b) index pairs (as a * nb + b) and, per record, the pair number."""
    # one new array, added to in place (signed integer codes, as dictionary encodings give;
    # anything else is converted first, as before)
    key = np.multiply(a if a.dtype.kind == "i" else a.astype(np.int64), max(nb, 1), dtype=np.int64)
    key += b if b.dtype.kind == "i" else b.astype(np.int64)
    if not len(key):
        return key, key
    top = int(key.max()) + 1
    if top <= 4 * len(key) + 1024:  # small key space: a lookup table, no sort
        used = np.flatnonzero(np.bincount(key, minlength=top))
        lut = np.full(top, -1, dtype=np.int64)
        lut[used] = np.arange(len(used))
        return used, np.take(lut, key)  # np.take: the gather of lut[key], about twice as fast
    uniq, inverse = np.unique(key, return_inverse=True)
    return uniq, inverse


@dataclass
class _Recognised:
    """Per record: analyte index (into model.ANALYTES; len = unknown), % flag, unit in
    the test name or header, and the source label; computed per distinct (code, name, hint)."""

    analyte_idx: np.ndarray
    percent: np.ndarray
    name_unit: pa.Array | None  # None when no name carries a unit
    source_test: pa.Array
    #: the code or name says the absolute count (a differential without a unit is not a %)
    absolute: np.ndarray
    #: per record, why its code and name say different tests ("" where they agree; H466),
    #: None when no record's do
    clash: pa.Array | None = None

    @property
    def analyte(self) -> pa.Array:
        names = pa.array([*model.ANALYTES, ""], pa.string())
        return pc.take(names, pa.array(self.analyte_idx.astype(np.int32)))


def _recognise(inp: LabInput, code: pa.Array | None, name: pa.Array) -> _Recognised:
    """Recognise the analyte of every record, once per distinct (code, name, hint).

    ``analyte_hint`` (when given) wins: an analyte id, or an id followed by "%" for a
    differential given as a percentage; "" means recognise from code and name.
    """
    n = len(name)
    n_idx, n_vals = _dict_codes(name)
    if code is not None:
        c_idx, c_vals = _dict_codes(code)
        uniq, inverse = _pair_codes(c_idx, n_idx, len(n_vals))
    elif n_idx.dtype.kind in "iu":  # no code column (and no null name)
        c_vals = [""]
        # the pairs (no code, name) are the names themselves: a dictionary encoding's
        # every index occurs, so _pair_codes would give the indices 0..k-1 in order and,
        # per record, its name's index
        uniq, inverse = np.arange(len(n_vals), dtype=np.int64), n_idx
    else:
        c_idx, c_vals = np.zeros(n, dtype=np.int64), [""]
        uniq, inverse = _pair_codes(c_idx, n_idx, len(n_vals))
    nb = max(len(n_vals), 1)
    hint_vals: list[str] = [""]
    if inp.analyte_hint is not None:
        h_idx, hint_vals = _dict_codes(inp.analyte_hint)
        nh = max(len(hint_vals), 1)
        uniq2, inverse = _pair_codes(inverse, h_idx, nh)
        combos = [(int(uniq[u // nh]), int(u % nh)) for u in uniq2]
    else:
        combos = [(int(u), 0) for u in uniq]
    lookup = {a: i for i, a in enumerate(model.ANALYTES)}
    unknown = len(model.ANALYTES)
    aidx, percents, units, labels, absolutes, clashes = [], [], [], [], [], []
    for cn, h in combos:
        c, nm = c_vals[cn // nb], n_vals[cn % nb]
        hint = hint_vals[h] if hint_vals else ""
        m = recognise_test(nm, c)
        if hint:
            a, pct = (hint[:-1], True) if hint.endswith("%") else (hint, False)
            a = a if a in lookup else ""
            aidx.append(lookup.get(a, unknown))
            percents.append(pct and bool(a))
            # an item defined as a percentage (MIMIC's 51256) is in % when its row has no unit
            # (H468): read by the item's definition, as "Neutrophils %" with a blank unit is
            units.append(m.unit if m and m.analyte == a and m.unit else "%" if pct and a else "")
            absolutes.append(not pct and bool(m and m.analyte == a and m.absolute))
        else:
            aidx.append(lookup[m.analyte] if m else unknown)
            percents.append(bool(m and m.percent))
            units.append(m.unit if m else "")
            absolutes.append(bool(m and m.absolute))
        # a code of one test beside the name of another: neither is read (H346, H466); an
        # analyte a reader's item dictionary gives (the hint) is not judged again
        clash = m and c and nm and not hint
        clashes.append(names_disagree([(f"code {c[:40]}", "", c), (f"'{nm[:60]}'", nm, "")]) if clash else "")
        label = f"{nm} ({c})" if nm and c else (nm or c)
        labels.append(label if len(label) <= 120 else label[:117] + "...")
    idx = pa.array(inverse.astype(np.int32))
    return _Recognised(
        analyte_idx=np.take(np.asarray(aidx, dtype=np.int64), inverse) if n else np.zeros(0, dtype=np.int64),
        percent=_per_record(np.asarray(percents, dtype=bool), inverse, n),
        name_unit=pc.take(pa.array(units, pa.string()), idx) if any(units) else None,
        source_test=pa.DictionaryArray.from_arrays(idx, pa.array(labels, pa.string())),
        absolute=_per_record(np.asarray(absolutes, dtype=bool), inverse, n),
        clash=pc.take(pa.array(clashes, pa.string()), idx) if any(clashes) else None,
    )


def _judge_other_dates(inp: LabInput, when: pa.Array, order: str, today: dt.date, verdict: _Verdicts) -> None:
    """Check each row's draw date against the table's other date columns, read in the
    file's date order: another column that could be the draw date must give the same day
    (and the same time where both give one), or the row is rejected naming both dates, never
    one picked (H583); a date the result was received, reported or verified on before the
    draw is impossible, so one of the two is wrong and the row is rejected naming both
    (H585).  A cell of the other column that is no date is left alone."""
    draw_col = inp.columns.get("collected_at", "collected_at")
    w_ok = np.asarray(pc.is_valid(when).to_numpy(zero_copy_only=False), dtype=bool)
    w = np.asarray(pc.fill_null(when.cast(pa.int64()), 0).to_numpy(zero_copy_only=False), dtype=np.int64)
    for kind, column, texts in inp.date_checks:
        other = dates_mod.parse_dates(texts, order, today, window=False).values
        o_ok = np.asarray(pc.is_valid(other).to_numpy(zero_copy_only=False), dtype=bool)
        # a plain number in such a column ("Reported" holding a value) is not read as an
        # Excel day number here: only a date written as a date is compared
        o_ok &= ~np.asarray(
            pc.fill_null(pc.match_substring_regex(texts, r"^\s*\d+(?:[.,]\d+)?\s*$"), False).to_numpy(
                zero_copy_only=False
            ),
            dtype=bool,
        )
        o = np.asarray(pc.fill_null(other.cast(pa.int64()), 0).to_numpy(zero_copy_only=False), dtype=np.int64)
        both = w_ok & o_ok & ~verdict.rejected
        w_day, o_day = w // 86400, o // 86400
        timed = (w % 86400 != 0) & (o % 86400 != 0)  # both give a time of day
        if kind == "draw":
            bad = both & ((w_day != o_day) | (timed & (w != o)))
            why = (
                "the draw date is not known: '{a_col}' says {a} but '{b_col}' says {b}, and each could be the date "
                "the blood was taken; check the export, or map the right one (--map '{b_col}=collected_at' or "
                "--map '{a_col}=collected_at')"
            )
        else:
            bad = both & ((w_day > o_day) | ((w_day == o_day) & timed & (w > o)))
            why = (
                "drawn after its own report: '{a_col}' says {a} but '{b_col}' says {b}, and a sample is not "
                "received, reported or verified before it is taken; one of the two dates is wrong (a day/month "
                "or year slip?): check them"
            )
        if not bad.any():
            continue
        rows = np.flatnonzero(bad)
        drawn = pc.take(inp.when, pa.array(rows)).to_pylist()
        given = pc.take(texts, pa.array(rows)).to_pylist()
        messages = {
            int(r): why.format(a_col=draw_col, a=(a or "").strip(), b_col=column, b=(b or "").strip())
            for r, a, b in zip(rows, drawn, given, strict=True)
        }
        verdict.reject(bad, messages, column)


def _reject_units_said_twice(
    analyte_idx: np.ndarray, a: tuple[str, pa.Array], b: tuple[str, pa.Array], verdict: _Verdicts, column: str
) -> None:
    """Reject the records where two places state a unit and the units differ for the
    record's analyte ("Haemoglobin (g/dL)" with the unit cell "mmol/L"; the column "Result
    (mmol/L)" with "g/dL"): which one is meant is not known, so neither is read (H582).
    Spellings of one unit ("K/uL", "10^9/L") agree; a name saying % with a count unit keeps
    its own reason (the check of the test name's %), and so does a unit of no monitored test."""
    (who_a, ua), (who_b, ub) = a, b
    a_idx, a_vals = _dict_codes(ua)
    b_idx, b_vals = _dict_codes(ub)
    nb = max(len(b_vals), 1)
    ab_uniq, ab = _pair_codes(a_idx, b_idx, len(b_vals))
    nab = max(len(ab_uniq), 1)
    uniq, inverse = _pair_codes(analyte_idx, ab, nab)
    texts: list[str] = []
    for k in uniq:
        ai, pair = int(k // nab), int(ab_uniq[k % nab])
        x, y = a_vals[pair // nb], b_vals[pair % nb]
        texts.append(f"{who_a} says {x.strip()} but {who_b} says {y.strip()}" if _units_differ(ai, x, y) else "")
    if not any(texts):
        return
    per_pair = np.asarray(texts, dtype=object)
    bad = (per_pair != "")[inverse]
    why = "; which one is meant is not known (the two readings differ); check the export"
    verdict.reject(bad, {int(r): per_pair[inverse[r]] + why for r in np.flatnonzero(bad)}, column)


def _units_differ(ai: int, x: str, y: str) -> bool:
    """Do two unit texts both name a unit, and different ones for analyte ``ai``?"""
    if ai >= len(model.ANALYTES) or not x.strip() or not y.strip():
        return False
    kx, ky = normalize_unit(x), normalize_unit(y)
    if kx == ky or kx in units_mod.PERCENT_UNITS or ky in units_mod.PERCENT_UNITS:
        return False  # a percentage against a count: the test name's % check says it
    a = model.ANALYTES[ai]
    rx, ry = resolve_unit(a, x), resolve_unit(a, y)
    if rx.factor is None and ry.factor is None:
        return False  # neither is a unit of the test: "not a unit for" says it
    return rx.factor != ry.factor


def _same_unit(a: pa.Array, b: pa.Array) -> np.ndarray:
    """Per record: does text ``a`` name the same unit as ``b`` (or is it empty)?"""
    a_idx, a_vals = _dict_codes(a)
    b_idx, b_vals = _dict_codes(b)
    uniq, inverse = _pair_codes(a_idx, b_idx, len(b_vals))
    nb = max(len(b_vals), 1)
    same = [not a_vals[k // nb] or normalize_unit(a_vals[k // nb]) == normalize_unit(b_vals[k % nb]) for k in uniq]
    return np.asarray(same, dtype=bool)[inverse] if len(inverse) else np.zeros(0, dtype=bool)


@dataclass
class _Units:
    """Unit resolution per record (numpy), from the distinct (analyte, unit) pairs."""

    analyte_idx: np.ndarray  # index into model.ANALYTES; len(ANALYTES) = unknown
    analyte_ok: np.ndarray
    factor: np.ndarray  # NaN where unusable or missing
    percent: np.ndarray
    missing: np.ndarray
    problem_mask: np.ndarray
    problem_text: object  # callable -> array of texts
    pair: np.ndarray  # per record: index into pairs
    pairs: list[tuple[str, str]]
    unit_text: pa.Array  # the unit text as read, dictionary-encoded


def _per_record(per_pair: np.ndarray, inverse: np.ndarray, n: int) -> np.ndarray:
    """A yes/no of each distinct pair given to each of the ``n`` records (``inverse``: the
    record's pair); all no without a gather when no pair says yes (most files: no
    percentage, no missing unit, no unit problem)."""
    if not per_pair.any():
        return np.zeros(n, dtype=bool)
    return np.take(per_pair, inverse)


def _resolve_units(analyte_idx: np.ndarray, unit_text: pa.Array) -> _Units:
    encoded = pc.dictionary_encode(unit_text)
    u_idx, u_vals = encoded.indices.to_numpy(zero_copy_only=False), encoded.dictionary.to_pylist()
    na = len(model.ANALYTES) + 1
    uniq, inverse = _pair_codes(analyte_idx, u_idx, len(u_vals))
    nb = max(len(u_vals), 1)
    p_aidx, p_factor, p_pct, p_missing, p_problem, pairs = [], [], [], [], [], []
    for k in uniq:
        ai, u = int(k // nb), u_vals[k % nb]
        a = model.ANALYTES[ai] if ai < na - 1 else ""
        pairs.append((a, u))
        p_aidx.append(ai)
        if not a:
            p_factor.append(np.nan)
            p_pct.append(False)
            p_missing.append(False)
            p_problem.append("")
            continue
        res = resolve_unit(a, u)
        p_factor.append(np.nan if res.factor is None else res.factor)
        p_pct.append(res.percent)
        p_missing.append(res.problem == "missing")
        p_problem.append("" if res.problem == "missing" else res.problem)
    p_problem_arr = np.asarray(p_problem, dtype=object)
    empty = len(inverse) == 0
    n = len(inverse)

    def texts() -> pa.Array:
        return pc.take(pa.array(list(p_problem_arr), pa.string()), pa.array(inverse.astype(np.int32)))

    return _Units(
        analyte_idx=analyte_idx,
        analyte_ok=analyte_idx < na - 1,
        factor=np.zeros(0) if empty else np.take(np.asarray(p_factor, dtype=np.float64), inverse),
        percent=_per_record(np.asarray(p_pct, dtype=bool), inverse, n),
        missing=_per_record(np.asarray(p_missing, dtype=bool), inverse, n),
        problem_mask=_per_record(p_problem_arr != "", inverse, n),
        problem_text=texts,
        pair=inverse,
        pairs=pairs,
        unit_text=encoded,
    )


def _infer_missing(
    analyte_idx, values, unit_text, factor_np, missing, absolute, verdict: _Verdicts
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Fill the factor of results with no unit when the magnitude leaves no doubt: exactly
    one unit fits and the file's other results of the analyte use no other unit
    (:func:`dashboard.units.inferred_units`, H581); else the row is rejected naming the
    units it fits and the file's own.  The file's units are gathered once per analyte.

    Returns the notes to give in the report (a template with ``{count}``), each with the
    rows it is about: the caller counts only the rows still accepted once every check
    has run.  Also returns, per record, why a differential cannot be read ("" when it
    can): with no unit, a value of 0-100 could be the % of the white cells as well as a
    count, unless the name says the count (``absolute``) or the file's other results of
    the analyte all name one count unit that fits.  Such a record keeps the factor its
    magnitude alone gives, for the white-count check (H110) only: the caller rejects it
    after that check, whose reason is the more precise one where it applies."""
    messages = np.full(len(values), "", dtype=object)
    doubt = np.full(len(values), "", dtype=object)
    notes: dict[str, list[int]] = {}
    for ai in sorted(set(analyte_idx[missing].tolist())):
        a = model.ANALYTES[ai]
        rows = np.flatnonzero(missing & (analyte_idx == ai))
        v = values[rows]
        info = model.analyte_info()[a]
        family = info.family
        # the units the file's other results of this analyte are written in, once per
        # analyte: normalised -> as first written
        explicit = ~missing & (analyte_idx == ai)
        written: dict[str, str] = {}
        if explicit.any():
            for u in pc.unique(pc.filter(unit_text, pa.array(explicit))).to_pylist():
                written.setdefault(normalize_unit(u), u)
        cands = units_mod.unit_candidates(a, written)
        fits = units_mod.fitting_units(a, v, cands)
        nfits = fits.sum(axis=0)
        chosen = units_mod.inferred_units(cands, fits)
        # a differential that could be its % of the white cells: 0 is 0 either way
        with np.errstate(invalid="ignore"):
            may_be_percent = (v > 0) & (v <= 100) & ~absolute[rows] if info.loinc_percent else np.zeros(len(v), bool)
        # the file's own unit for this analyte, when it names exactly one count unit (no %):
        # it settles whether a differential is a % or a count (H1107's rule)
        file_factor = None
        if written:
            fac = {FAMILY_UNITS[family].get(u) for u in written}
            if len(fac) == 1 and None not in fac:
                file_factor = fac.pop()
        label = info.label

        def name(k: int, cands=cands, written=written) -> str:
            return _pretty(cands.spellings[k]) if cands.inferable[k] else written[cands.spellings[k]]

        def in_file(factor: float | None = None, written=written, family=family, label=label) -> str:
            """The units of the file's other results of the analyte (other than ``factor``)."""
            shown = sorted({t for u, t in written.items() if FAMILY_UNITS[family].get(u) not in (None, factor)})
            return f"this file's other {label} results are in {' and '.join(shown)}" if shown else ""

        used: dict[str, list[int]] = {}
        for j, r in enumerate(rows):
            if np.isnan(v[j]):
                continue
            k = int(chosen[j])
            file_fits = k >= 0 and file_factor is not None and cands.factors[k] == file_factor
            if may_be_percent[j] and not file_fits:
                doubt[r] = f"unit missing: {label} {v[j]:g} could be % or a count: add the unit"
                if nfits[j] == 1 and cands.inferable[int(fits[:, j].argmax())]:  # for the white-count check only
                    factor_np[r] = cands.factors[int(fits[:, j].argmax())]
            elif k >= 0:
                factor_np[r] = cands.factors[k]
                key = _pretty(cands.spellings[k])
                if file_fits and may_be_percent[j]:
                    key = "the unit of the other results in this file"
                used.setdefault(key, []).append(int(r))
            elif not INFER_UNITS[family]:  # a family whose unit is never inferred (creatinine clearance: H413)
                messages[r] = (
                    f"unit missing: {label} {v[j]:g} is read only with its unit ({NO_INFERENCE[family]}); add the unit"
                )
            elif nfits[j] > 1:
                options = " or ".join(name(k) for k in range(len(cands.spellings)) if fits[k, j])
                other = in_file()
                messages[r] = (
                    f"unit missing and the value fits more than one unit ({options}"
                    f"{'; ' + other if other else ''}); add the unit"
                )
            elif nfits[j] == 1:
                k = int(fits[:, j].argmax())
                if cands.inferable[k]:  # the file writes this analyte in another unit too
                    messages[r] = (
                        f"unit missing: {label} {v[j]:g} fits {name(k)} by its magnitude, but "
                        f"{in_file(cands.factors[k])}: which one is meant is not known; add the unit"
                    )
                else:  # fits only a unit of the file that is never inferred (ALT in ukat/L)
                    usual = " or ".join(
                        _pretty(s) for s, ok in zip(cands.spellings, cands.inferable, strict=True) if ok
                    )
                    messages[r] = (
                        f"unit missing: {label} {v[j]:g} is not a plausible {label} in {usual}; "
                        f"{in_file()} ({v[j]:g} {name(k)} = {v[j] * cands.factors[k]:g} "
                        f"{model.CANONICAL_UNITS[a]}), a unit never read from a magnitude alone; add the unit"
                    )
            else:
                messages[r] = f"unit missing and {v[j]:g} is not a plausible {label} in any usual unit"
        for u, where in used.items():
            notes[f"{label}: unit missing on {{count}} result(s); read as {u} from the magnitude"] = where
    mask = messages != ""
    if mask.any():
        verdict.reject(mask, pa.array(messages.tolist(), pa.string()), "unit")
    return {note: np.asarray(where, dtype=np.int64) for note, where in notes.items()}, doubt


def _differential_above_white_count(
    analyte_idx: np.ndarray,
    canonical: np.ndarray,
    missing: np.ndarray,
    pid_codes: pa.Array,
    when: pa.Array,
    verdict: _Verdicts,
    column: str,
) -> None:
    """Reject a differential count whose unit was inferred from its magnitude when it is
    more than the white count of the same draw (same patient, same time, this file).

    A part of the white cells cannot outnumber all of them, so such a number is not a
    count in 10^9/L: it is most likely a percentage written without its "%" (45 beside a
    WBC of 2.0 is 0.9 x10^9/L as a percentage, CTCAE grade 3).  Which one it is cannot be
    told from the number, so the row is rejected with the reason, never converted.
    """
    info = model.analyte_info()
    differential = np.array([bool(info[a].loinc_percent) for a in model.ANALYTES] + [False])
    wbc = model.ANALYTES.index("wbc")
    candidates = missing & differential[analyte_idx] & ~np.isnan(canonical)
    counts = (analyte_idx == wbc) & ~missing & ~np.isnan(canonical) & ~verdict.rejected
    if not candidates.any() or not counts.any():
        return
    dated = when.is_valid().to_numpy(zero_copy_only=False)
    candidates &= dated
    counts &= dated
    if not candidates.any() or not counts.any():
        return
    used = np.flatnonzero(candidates | counts)
    pid = pid_codes.indices.to_numpy(zero_copy_only=False)[used].astype(np.int64)
    seconds = when.cast(pa.int64()).to_numpy(zero_copy_only=False)[used]
    packed = pack(pid, seconds)
    draw = np.zeros(len(canonical), dtype=np.int64)
    if packed is None:  # ranges too wide for one int64: number the distinct pairs
        _, inverse = np.unique(np.stack([pid, seconds]), axis=1, return_inverse=True)
        packed = inverse.astype(np.int64)
    draw[used] = packed
    wbc_rows = np.flatnonzero(counts)
    order = np.argsort(draw[wbc_rows], kind="stable")
    keys, first = np.unique(draw[wbc_rows][order], return_index=True)
    # the highest white count of the draw: a differential is refused only above every one of them
    highest = np.maximum.reduceat(canonical[wbc_rows][order], first)
    rows = np.flatnonzero(candidates)
    pos = np.clip(np.searchsorted(keys, draw[rows]), 0, len(keys) - 1)
    same_draw = keys[pos] == draw[rows]
    above = same_draw & (canonical[rows] > highest[pos] + 1e-9)
    if not above.any():
        return
    bad = rows[above]
    messages = {
        int(r): (
            f"unit missing, and {canonical[r]:g} is more than the white count of this draw "
            f"({highest[p]:g} x10^9/L): it cannot be a count in 10^9/L (a percentage written "
            "without its %?); add the unit"
        )
        for r, p in zip(bad, pos[above], strict=True)
    }
    mask = np.zeros(len(canonical), dtype=bool)
    mask[bad] = True
    verdict.reject(mask, messages, column)


def _pretty(spelling: str) -> str:
    return {
        "10^9/l": "10^9/L",
        "/ul": "/uL",
        "g/l": "g/L",
        "g/dl": "g/dL",
        "mmol/l": "mmol/L",
        "fl": "fL",
        "u/l": "U/L",
        "umol/l": "umol/L",
        "mg/dl": "mg/dL",
        "ml/min/1.73m2": "mL/min/1.73m2",
    }.get(spelling, spelling)


#: The classes of a result status, in the order their phrases are tried (``vocab/statuses.toml``).
STATUS_CLASSES = ("withdrawn", "preliminary", "corrected", "final")


@cache
def _status_vocab() -> tuple[dict[str, str], tuple[tuple[str, str], ...]]:
    """(whole-text code -> class, (" phrase ", class) in the order tried), from ``vocab/statuses.toml``."""
    text = resources.files("dashboard").joinpath("vocab", "statuses.toml").read_text(encoding="utf-8")
    data = tomllib.loads(text)
    codes: dict[str, str] = {}
    phrases: list[tuple[str, str]] = []
    for cls in STATUS_CLASSES:
        for code in data[cls]["codes"]:
            codes.setdefault(code, cls)
        phrases += [(f" {p} ", cls) for p in data[cls]["phrases"]]
    return codes, tuple(phrases)


@cache
def status_class(text: str) -> str:
    """What a status says of its result: "withdrawn", "preliminary", "corrected", "final",
    or "" (not recognised).  Read from the whole text (a code or word) or from the phrases
    it holds as whole words ("Not Done - clotted" is withdrawn); a blank status is final.
    A text holding a corrected phrase and a withdrawn one ("Corrected - previous result in
    error") is a correction: the withdrawn words describe the result it corrects."""
    norm = normalize(text)
    if not norm:
        return "final"
    codes, phrases = _status_vocab()
    if norm in codes:
        return codes[norm]
    padded = f" {norm} "
    held = [cls for phrase, cls in phrases if phrase in padded]
    if "corrected" in held and "withdrawn" in held:
        # "Corrected - previous result in error", "Amended (replaced erroneous value)": the
        # withdrawn words describe the earlier result, which this one corrects (audit 5 S2)
        return "corrected"
    return held[0] if held else ""


#: The abnormal-flag letters a lab writes beside a result (HL7 OBX-8 and the usual
#: export spellings): a "status" column holding only these is a flag column.
_ABNORMAL_FLAGS = frozenset({"H", "L", "N", "HH", "LL", "A", "AA", "HIGH", "LOW", "NORMAL", "ABNORMAL", "<", ">"})


def _judge_status(status: pa.Array, verdict: _Verdicts, report: FileReport, column: str) -> tuple[pa.Array, pa.Array]:
    """Reject the withdrawn results, count the preliminary ones and name the statuses not
    recognised (imported as final, said); each distinct status text is read once.
    Returns, per record, the status of a result that corrects an earlier one, else "", and
    the status of a withdrawn result, else "" (dictionary arrays)."""
    plain = status.combine_chunks() if isinstance(status, pa.ChunkedArray) else status
    enc = pc.dictionary_encode(pc.fill_null(plain, ""))
    texts = enc.dictionary.to_pylist()
    shown = {t.strip().upper() for t in texts} - {""}
    if shown and shown <= _ABNORMAL_FLAGS and shown != {"N"}:
        # H, L, N ...: the column holds abnormal flags, not result statuses; its "N" is
        # "normal", not HL7's "not asked": read none of it as a status (audit 5 C3)
        report.warn(
            f"the status column '{column}' holds abnormal flags ({', '.join(sorted(shown))}), not result "
            "statuses: not read as statuses (every result is taken as final)",
            column=column,
        )
        blank = pa.DictionaryArray.from_arrays(enc.indices, pa.array([""] * len(texts), pa.string()))
        return blank, blank
    classes = np.array([STATUS_CLASSES.index(c) if c else -1 for c in map(status_class, texts)], dtype=np.int8)
    per_record = classes[enc.indices.to_numpy(zero_copy_only=False)] if len(texts) else np.zeros(0, np.int8)
    verdict.reject(
        per_record == STATUS_CLASSES.index("withdrawn"),
        lambda: pc.binary_join_element_wise(
            "result status '", status, "': the result was withdrawn or not done, so it is not imported", ""
        ),
        column,
    )
    preliminary = int(np.count_nonzero(per_record == STATUS_CLASSES.index("preliminary")))
    if preliminary:
        report.warn(f"{preliminary} result(s) are preliminary (status column '{column}'); the final result may differ")
    unknown = np.flatnonzero(classes < 0)
    if len(unknown):
        counts = np.bincount(enc.indices.to_numpy(zero_copy_only=False), minlength=len(texts))[unknown]
        named = sorted(zip(counts.tolist(), (texts[int(i)].strip() for i in unknown), strict=True), key=lambda c: -c[0])
        listed = ", ".join(f"'{t[:40]}' ({c})" for c, t in named[:5])
        more = f" and {len(named) - 5} other status(es)" if len(named) > 5 else ""
        report.warn(
            f"{int(counts.sum())} result(s) have a status that is not recognised ({listed}{more}; status column "
            f"'{column}'): they are imported as final results - check their status with the lab",
            column=column,
        )
    corrected, withdrawn = (
        [t.strip() if c == STATUS_CLASSES.index(cls) else "" for t, c in zip(texts, classes, strict=True)]
        for cls in ("corrected", "withdrawn")
    )
    return (
        pa.DictionaryArray.from_arrays(enc.indices, pa.array(corrected, pa.string())),
        pa.DictionaryArray.from_arrays(enc.indices, pa.array(withdrawn, pa.string())),
    )


def _judge_specimen(specimen: pa.Array, verdict: _Verdicts, column: str) -> None:
    enc = pc.dictionary_encode(pc.fill_null(specimen, ""))
    bad_codes = [i for i, text in enumerate(enc.dictionary.to_pylist()) if text and other_specimen(text)]
    if not bad_codes:
        return
    bad = pc.is_in(enc.indices, value_set=pa.array(bad_codes, enc.indices.type))
    verdict.reject(
        bad,
        lambda: pc.binary_join_element_wise(
            "specimen '", specimen, "' is not blood: only blood results are monitored", ""
        ),
        column,
    )


def _id_problems(ids: pa.Array, mask: pa.Array) -> dict[int, str]:
    rows = np.flatnonzero(np.asarray(mask.to_numpy(zero_copy_only=False), dtype=bool))
    texts = pc.take(ids, pa.array(rows)).to_pylist()
    return {int(r): identity.id_problem(t) for r, t in zip(rows, texts, strict=True)}


def _plausible_bounds(analyte_idx: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(low, high, 0 possible) per row, from ``vocab/analytes.toml``."""
    info = model.analyte_info()
    los = np.array([info[a].plausible[0] for a in model.ANALYTES] + [-np.inf])
    his = np.array([info[a].plausible[1] for a in model.ANALYTES] + [np.inf])
    zero = np.array([info[a].zero_possible for a in model.ANALYTES] + [True])
    return los[analyte_idx], his[analyte_idx], zero[analyte_idx]


#: A value whose point could group thousands ("4.500", "234.000"): read as a decimal point
#: in a file of decimal points, but often a count written the German way.
_POINT_GROUPS = re.compile(r"^[1-9]\d{0,2}(\.\d{3})+$")


def _implausible_messages(analyte_idx, values, unit_text, canonical, mask, texts_in, decimal) -> dict[int, str]:
    """Why each implausible value is rejected; a value that would be plausible with its
    point read as a thousands separator ("4.500 /µl") names that cause, not the unit."""
    rows = np.flatnonzero(mask)
    units = pc.take(unit_text, pa.array(rows)).to_pylist()
    sources = pc.take(texts_in, pa.array(rows)).to_pylist()
    info = model.analyte_info()
    texts: dict[int, str] = {}
    for r, unit, source in zip(rows.tolist(), units, sources, strict=True):
        a = info[model.ANALYTES[analyte_idx[r]]]
        lo, hi = a.plausible
        if canonical[r] == 0:
            texts[r] = (
                f"{a.label} 0: a {a.label} result cannot be 0 (a placeholder or a typing error?); check the source "
                "(below the analyser's limit a lab writes e.g. '<0.1')"
            )
            continue
        shown = f"{a.label} {values[r]:g} {unit or '(no unit)'} is implausible for that unit"
        if decimal == "." and _POINT_GROUPS.match(source or "") and lo <= canonical[r] * 1000 <= hi:
            grouped = round(values[r] * 1000)
            texts[r] = (
                f"{shown} (= {canonical[r]:g} {a.unit}): the point in '{source}' is likely a thousands separator "
                f"({grouped} {unit or ''} = {canonical[r] * 1000:g} {a.unit}), and the file was read with "
                "decimal points; check the decimal separator of the export, not the unit (not guessed)"
            )
            continue
        texts[r] = (
            f"{shown} (= {canonical[r]:g} {a.unit}; a real result lies between {lo:g} and {hi:g}); check the unit"
        )
    return texts


def _reference(
    inp: LabInput,
    n: int,
    decimal: str,
    factor: np.ndarray,
    percent: np.ndarray,
    analyte_idx: np.ndarray,
    plausible: tuple[np.ndarray, np.ndarray],
    report: FileReport,
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """The source's reference limits in the canonical unit (NaN where none), and the
    limits of a range given per sex ("10-50 (M) 10-35 (F)"), per record (male low, male
    high, female low, female high; NaN where none), or None when no text gives one.  A
    range per sex is not in the first two: which one applies is known only once the
    patients are (:func:`resolve_sex_ranges`).  A text of several ranges that are not one
    per sex is used for no one, with a warning.

    A range is in the unit its text names ("0.1-0.6 ukat/L", "1000-4000 /uL"), else in
    the result's unit.  A limit that no result of the analyte could have in that unit
    (Hb "11.5-16.5" beside results in g/L: the g/dL range) is not used, never graded
    against: the range is dropped with a warning and the default limits apply.
    ``plausible``: the per-row bounds a result of the analyte can have (canonical unit).
    """
    lo = np.full(n, np.nan)
    hi = np.full(n, np.nan)
    by_sex: np.ndarray | None = None
    if inp.ref_range is None and inp.ref_low is None and inp.ref_high is None:
        return lo, hi, by_sex
    factor = factor.copy()
    if inp.ref_range is not None:
        enc = pc.dictionary_encode(inp.ref_range)
        texts = enc.dictionary.to_pylist()
        parsed = [parse_range_unit(t, decimal) for t in texts]
        idx = enc.indices.to_numpy(zero_copy_only=False)
        several = [parse_sex_ranges(t, decimal) for t in texts]
        if any(sr is not None for sr in several):
            # a text of two ranges: never its first range for everyone
            parsed = [(np.nan, np.nan, sr.unit) if sr is not None else p for p, sr in zip(parsed, several, strict=True)]
            nan4 = (np.nan,) * 4
            by_sex = np.array([(*sr.male, *sr.female) if sr is not None else nan4 for sr in several])[idx]
            unreadable = np.array([sr is not None and not sr.readable for sr in several])[idx]
            if unreadable.any():
                first = int(np.flatnonzero(unreadable)[0])
                report.warn(
                    f"{int(unreadable.sum())} reference range(s) hold more than one range, not one for each sex "
                    f"(e.g. '{texts[idx[first]]}', row {inp.rows[first].as_py()}): not used, the default limits apply"
                )
        if parsed:
            lo = np.array([p[0] for p in parsed])[idx]
            hi = np.array([p[1] for p in parsed])[idx]
            monitored = (analyte_idx < len(model.ANALYTES)) & ~percent
            _warn_unread_ranges(inp, texts, parsed, several, idx, monitored, report)
            named = np.array([bool(p[2]) for p in parsed])[idx] & monitored
            if named.any():
                # the unit the range names, per distinct (analyte, range text)
                rows = np.flatnonzero(named)
                keys = analyte_idx[rows].astype(np.int64) * len(parsed) + idx[rows]
                distinct, inverse = np.unique(keys, return_inverse=True)
                resolved = [
                    resolve_unit(model.ANALYTES[int(k) // len(parsed)], parsed[int(k) % len(parsed)][2])
                    for k in distinct
                ]
                own = np.array([r.factor if r.factor and not r.percent else np.nan for r in resolved])[inverse]
                factor[rows] = np.where(np.isnan(own), factor[rows], own)
                # a unit, but not one of this result ("20-45 %" beside a count, "4.0-11.0
                # mmol/l" beside a WBC): which unit the range is in cannot be told (H365)
                foreign = np.array(
                    [
                        (r.percent or r.factor is None) and is_unit(parsed[int(k) % len(parsed)][2])
                        for r, k in zip(resolved, distinct, strict=True)
                    ]
                )[inverse]
                if foreign.any():
                    bad = rows[foreign]
                    first = int(bad[0])
                    report.warn(
                        f"{len(bad)} reference range(s) are in a unit that is not the unit of their result "
                        f"(e.g. {model.analyte_label(model.ANALYTES[analyte_idx[first]])} '{texts[idx[first]]}', "
                        f"row {inp.rows[first].as_py()}; a range of the percentage beside a count?): not used, "
                        "the default limits apply"
                    )
                    lo[bad] = np.nan
                    hi[bad] = np.nan
                    if by_sex is not None:
                        by_sex[bad] = np.nan
    if inp.ref_by_sex is not None:  # a range for some sexes, given apart (H359)
        given = ~np.isnan(inp.ref_by_sex).all(axis=1)
        if given.any():
            by_sex = np.full((n, 4), np.nan) if by_sex is None else np.array(by_sex, dtype=float)
            by_sex[given] = inp.ref_by_sex[given]
    for arr, target in ((inp.ref_low, "lo"), (inp.ref_high, "hi")):
        if arr is None:
            continue
        pv = parse_values(arr, decimal)
        vals = pv.value
        if target == "lo":
            lo = np.where(np.isnan(vals), lo, vals)
        else:
            hi = np.where(np.isnan(vals), hi, vals)
    with np.errstate(invalid="ignore"):
        lo = np.where(percent, np.nan, np.round(lo * factor, 9))
        hi = np.where(percent, np.nan, np.round(hi * factor, 9))
        p_lo, p_hi = plausible
        # a lower limit of 0 is a real range ("0-40"); any other limit lies where results can
        wrong = ((lo > 0) & ((lo < p_lo) | (lo > p_hi))) | (hi < p_lo) | (hi > p_hi)
        if by_sex is not None:
            by_sex = np.where(percent[:, None], np.nan, np.round(by_sex * factor[:, None], 9))
            for low, high in ((by_sex[:, 0], by_sex[:, 1]), (by_sex[:, 2], by_sex[:, 3])):
                wrong |= ((low > 0) & ((low < p_lo) | (low > p_hi))) | (high < p_lo) | (high > p_hi)
            by_sex[wrong] = np.nan
    if wrong.any():
        first = int(np.flatnonzero(wrong)[0])
        shown = " - ".join(
            str(a[first].as_py() or "") for a in (inp.ref_range, inp.ref_low, inp.ref_high) if a is not None
        )
        report.warn(
            f"{int(wrong.sum())} reference range(s) cannot be ranges of their test in the unit of the result "
            f"(e.g. {model.analyte_label(model.ANALYTES[analyte_idx[first]])} '{shown}', row "
            f"{inp.rows[first].as_py()}; a range in another unit?): not used, the default limits apply"
        )
        lo = np.where(wrong, np.nan, lo)
        hi = np.where(wrong, np.nan, hi)
    if by_sex is not None and np.isnan(by_sex).all():
        by_sex = None
    return lo, hi, by_sex


def _warn_unread_ranges(
    inp: LabInput,
    texts: list,
    parsed: list,
    several: list,
    idx: np.ndarray,
    monitored: np.ndarray,
    report: FileReport,
) -> None:
    """Say the reference ranges holding numbers that could not be read ("4.0 11.0", "ab
    150"): the results are graded on the default limits, and the report says why (H368).
    A text without a digit ("normal", "-") holds no range to lose; a text of several
    ranges is said by the caller.  A range starting with a minus ("-4.0-11.0") is said
    with why it is not read (H377)."""
    unread = np.array(
        [
            bool(t) and any(c.isdigit() for c in t) and np.isnan(p[0]) and np.isnan(p[1]) and sr is None
            for t, p, sr in zip(texts, parsed, several, strict=True)
        ],
        dtype=bool,
    )
    minus = np.array([bool(t) and starts_below_zero(t) for t in texts], dtype=bool)
    for picked, why in (
        (unread & minus, ": a limit below 0, which the test cannot have, or a stray dash (which is not guessed)"),
        (unread & ~minus, ""),
    ):
        rows = np.flatnonzero(picked[idx] & monitored)
        if len(rows):
            first = int(rows[0])
            report.warn(
                f"{len(rows)} reference range(s) could not be read (e.g. '{texts[idx[first]]}', row "
                f"{inp.rows[first].as_py()}){why}: not used, the default limits apply"
            )


def _record_conversions(report: FileReport, units: _Units, accepted: np.ndarray, percent: np.ndarray) -> None:
    """Count accepted results per (analyte, unit as read) that needed converting."""
    if not len(units.pair):
        return
    # percentages are counted by combine_labs, once a WBC of the same draw has made them absolute
    counts = np.bincount(units.pair[accepted & ~percent], minlength=len(units.pairs))
    for k in np.flatnonzero(counts):
        a, u = units.pairs[k]
        canon = model.CANONICAL_UNITS[a]
        if not u:
            report.conversions.append(Conversion(a, "(no unit)", canon, int(counts[k])))
        elif normalize_unit(u) != normalize_unit(canon):
            report.conversions.append(Conversion(a, u, canon, int(counts[k])))
            note = UNIT_NOTES.get((a, normalize_unit(u)))
            if note:
                report.warn(f"{int(counts[k])} {model.analyte_label(a)} result(s) {note}")


# --------------------------------------------------------------------------- combine


#: What a store needs of a kept correction to replace a result of its draw stored earlier.
_CORRECTION_COLUMNS = [
    "patient_id",
    "analyte",
    "collected_at",
    "value",
    "comparator",
    "source_value",
    "source_unit",
    "_corr",
    "source_file",
    "source_row",
]


def combine_labs(
    cands: list[LabCandidates], corrected: list[pa.Table] | None = None, withdrawn: list[pa.Table] | None = None
) -> pa.Table:
    """Resolve % differentials and duplicates across all files; settle every report.

    ``corrected`` receives the corrections kept and ``withdrawn`` the results a status
    withdraws (:func:`withdrawals`), for a store that holds earlier imports (H132, H530).

    The labs table keeps its low-cardinality text columns dictionary-encoded (codes and
    a few distinct texts); :func:`dashboard.model.conform` gives plain text for a
    consumer that needs it.
    """
    parts = []
    for i, c in enumerate(cands):
        t = c.table
        parts.append(t.append_column("_file", pa.array(np.full(t.num_rows, i, dtype=np.int32))))
    if not parts:
        return model.empty_table("labs")
    allc = pa.concat_tables(parts) if len(parts) > 1 else parts[0]
    allc = allc.append_column("_order", pa.array(np.arange(allc.num_rows, dtype=np.int64)))
    # file and record of each candidate, indexed by _order (taken before the percent
    # step removes rows, so that positions and _order still coincide)
    file_col = allc.column("_file").to_numpy()
    rec_col = allc.column("_rec").to_numpy()
    pid_col = allc.column("patient_id")  # read only for the few rows rejected here
    draw_cols = (allc.column("_aidx"), allc.column("collected_at"))  # likewise
    drop: dict[int, tuple[int, str]] = {}  # _order -> (status, message)
    ok = allc.column("_ok").combine_chunks().to_numpy(zero_copy_only=False)
    if withdrawn is not None:  # rejected records: taken before the percent step drops them
        gone = withdrawals(allc)
        if gone.num_rows:
            withdrawn.append(gone)
    _void_corrected_without_a_number(allc, ok, drop)
    _void_withdrawn_in_this_import(allc, ok, drop, [not c.report.format.startswith("FHIR") for c in cands])

    percent = allc.column("_percent").combine_chunks().to_numpy(zero_copy_only=False)
    if (percent & ok).any():
        allc = allc.filter(pa.array(ok))
        notes: list[tuple[int, int, str]] = []
        allc, drop = _resolve_percent(_plain_text(allc), drop, notes)
        ok = np.ones(allc.num_rows, dtype=bool)
        for i, row, message in notes[:20]:
            cands[i].report.warn(message, row=row)
        if len(notes) > 20:
            cands[notes[0][0]].report.warn(
                f"{len(notes) - 20} more percentages disagree with the absolute count of their draw"
            )

    # duplicates (same patient, analyte, time, value and comparator: the first is kept)
    # and conflicts (same patient, analyte and time, another value: both kept, said),
    # from one stable sort of the accepted results on a packed (patient, time, analyte) key
    # A corrected result replaces the other results of its draw (H132): they are rejected,
    # naming the correction.
    rows = np.flatnonzero(ok)
    keys = _key_columns(allc, rows)
    dup, clash, replaced_by = _duplicates_and_clashes(keys)
    orders = allc.column("_order").to_numpy()
    for o in orders[rows[dup]]:
        drop[int(o)] = (DUPLICATE, "same result already imported")
    replaced = np.flatnonzero(replaced_by >= 0)
    if len(replaced):
        by = rows[replaced_by[replaced]]
        shown = allc.select(["source_value", "source_unit", "_corr", "source_file", "source_row"]).take(pa.array(by))
        for o, row in zip(orders[rows[replaced]], shown.to_pylist(), strict=True):
            drop[int(o)] = (REJECTED, _replaced_message(row))
    keep = ok.copy()
    keep[rows[dup]] = False
    keep[rows[replaced]] = False
    _warn_conflicts(allc, rows[clash], cands)
    _record_percent_conversions(allc, keep, cands)
    if any(c.ref_by_sex is not None for c in cands):
        _pending_sex_ranges(allc, keep, cands)
    if corrected is not None:  # the corrections kept, for a store that holds earlier imports (H132)
        kept_corr = keep & corrections(allc.column("_corr"))
        if kept_corr.any():
            corrected.append(_plain_text(allc.filter(pa.array(kept_corr)).select(_CORRECTION_COLUMNS)))
    # rejected and duplicates out in one pass, over the model's columns only
    final = allc.drop_columns(["_percent", "_rec", "_file", "_order", "_aidx", "_ok", "_corr", "_wdr"])
    final = final if keep.all() else model.filter_rows(final, keep)

    # settle statuses
    for o, (st, msg) in drop.items():
        i = int(file_col[o])
        r = int(rec_col[o])
        cands[i].status[r] = st
        if st == REJECTED:
            pid = str(pid_col[o].as_py() or "")
            [(a, t)] = _draws_of(np.array([draw_cols[0][o].as_py()]), pa.array([draw_cols[1][o].as_py()]))
            cands[i].problems.append(Problem(int(cands[i].rows[r]), "value", msg, "", pid, a, t))
    for c in cands:
        _settle(c)
    if final.num_rows and final.column(0).num_chunks > 1:
        final = final.unify_dictionaries()  # several files: one dictionary per column
    return model.conform("labs", final, dictionaries=True)


def _pending_sex_ranges(allc: pa.Table, keep: np.ndarray, cands: list[LabCandidates]) -> None:
    """Give each file the rows of the combined table (``allc`` filtered by ``keep``) whose
    reference range is given per sex, with their limits: :func:`resolve_sex_ranges`
    chooses between them once the patients are known."""
    files = allc.column("_file").to_numpy()[keep]
    recs = allc.column("_rec").to_numpy()[keep]
    for i, c in enumerate(cands):
        if c.ref_by_sex is None:
            continue
        at = np.flatnonzero(files == i)
        limits = c.ref_by_sex[recs[at]]
        some = ~np.isnan(limits).all(axis=1)
        c.sex_pending = (at[some], limits[some])


def resolve_sex_ranges(
    labs: pa.Table, cands: list[LabCandidates], patients: pa.Table, known_sex: Mapping[str, str] | None = None
) -> pa.Table:
    """The reference limits of a range given per sex ("10-50 (M) 10-35 (F)"): the
    patient's own when their sex is known; none (the default limits apply, and the report
    says so) when it is not, never the first range for everyone.

    ``known_sex``: the sex held elsewhere (a workspace's stored patients) by patient id,
    used where this import gives none; where it and this import disagree, the sex is
    unknown (as the workspace then leaves it), so no range is used."""
    pending = [(c, c.sex_pending) for c in cands if c.sex_pending is not None and len(c.sex_pending[0])]
    if not pending:
        return labs
    sex_of: dict[str, str] = {}
    if patients.num_rows:
        sex_of = dict(zip(patients.column("patient_id").to_pylist(), patients.column("sex").to_pylist(), strict=True))
    for pid, stored in (known_sex or {}).items():
        here = sex_of.get(pid) or ""
        sex_of[pid] = stored if not here or here == stored else ""
    ref_low = labs.column("ref_low").to_numpy().copy()
    ref_high = labs.column("ref_high").to_numpy().copy()
    ids = labs.column("patient_id")
    for c, (at, limits) in pending:
        sex = np.array([sex_of.get(p) or "" for p in ids.take(pa.array(at)).to_pylist()], dtype=object)
        male, female = sex == "M", sex == "F"
        ref_low[at] = np.where(male, limits[:, 0], np.where(female, limits[:, 2], np.nan))
        ref_high[at] = np.where(male, limits[:, 1], np.where(female, limits[:, 3], np.nan))
        known = int(np.count_nonzero(male | female))
        if known:
            c.report.warn(f"{known} reference range(s) are given per sex: each read for the patient's sex")
        if known < len(at):
            c.report.warn(
                f"{len(at) - known} reference range(s) are given per sex and the patient's sex is not known: "
                "not used, the default limits apply (give the sex in a patient file to use them)"
            )
    labs = labs.set_column(labs.schema.get_field_index("ref_low"), "ref_low", pa.array(ref_low))
    return labs.set_column(labs.schema.get_field_index("ref_high"), "ref_high", pa.array(ref_high))


#: The limits of a range given per sex, kept with each result (in this order) by a store
#: that learns the patient's sex later (H172).
SEX_LIMITS = ("ref_low_m", "ref_high_m", "ref_low_f", "ref_high_f")


def per_sex_limits(n: int, cands: list[LabCandidates]) -> pa.Table | None:
    """The limits of each result's range given per sex (``n`` rows, those of the labs
    table :func:`combine_labs` returned; columns :data:`SEX_LIMITS`, null where the
    result's range was not given per sex), or None when no file gave one."""
    pending = [c.sex_pending for c in cands if c.sex_pending is not None and len(c.sex_pending[0])]
    if not pending:
        return None
    limits = np.full((n, 4), np.nan)
    given = np.zeros(n, dtype=bool)
    for at, lim in pending:
        limits[at] = lim
        given[at] = True
    return pa.table({k: pa.array(limits[:, i], mask=~given) for i, k in enumerate(SEX_LIMITS)})


#: What a store needs of a withdrawn result to withdraw the same result it kept earlier.
WITHDRAWAL_COLUMNS = [*(c for c in _CORRECTION_COLUMNS if c != "_corr"), "status"]


def withdrawals(allc: pa.Table) -> pa.Table:
    """The results the lab withdrew (a status of the withdrawn class, ``_wdr``) that say
    which result they withdraw: a patient, a known test, a draw time and a value in the
    canonical unit (the key the workspace knows a result by, H530).  A percentage of a
    differential is not a count the store keeps, and a withdrawal without a number names
    no result: neither is taken.  Text columns plain, ``status`` as the lab wrote it."""
    said = corrections(allc.column("_wdr"))  # a status is said: the same test as for ``_corr``
    if said.any():
        said &= ~allc.column("_percent").to_numpy(zero_copy_only=False)
        said &= allc.column("_aidx").to_numpy(zero_copy_only=False) < len(model.ANALYTES)
        said &= pc.is_valid(allc.column("collected_at")).to_numpy(zero_copy_only=False)
        said &= np.isfinite(allc.column("value").to_numpy(zero_copy_only=False))
    if said.any():
        said &= pc.not_equal(pc.fill_null(allc.column("patient_id").cast(pa.string()), ""), "").to_numpy(
            zero_copy_only=False
        )
    t = allc.rename_columns(["status" if c == "_wdr" else c for c in allc.column_names]).select(WITHDRAWAL_COLUMNS)
    # most imports withdraw nothing: no filter of a large file's columns for no row
    return _plain_text(t.filter(pa.array(said)) if said.any() else t.slice(0, 0))


def _marked_draws(
    allc: pa.Table, marked: np.ndarray, candidates: np.ndarray, with_value: bool
) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """The rows of ``candidates`` whose draw (patient, known test, time; and value where
    ``with_value``) a row of ``marked`` names, each with the first such row: [(row,
    marking row)].  Returns ``marked`` narrowed to the rows that name a draw, too.  The
    candidates are first narrowed to the marked rows' draw times (few), so a file of a
    million results with one marked row costs one membership test, not a loop over every
    row (H132, H536)."""
    aidx = allc.column("_aidx").combine_chunks().to_numpy(zero_copy_only=False).astype(np.int64)
    time_col = allc.column("collected_at").combine_chunks().cast(pa.int64())
    known = pc.is_valid(time_col).to_numpy(zero_copy_only=False) & (aidx < len(model.ANALYTES))
    value = allc.column("value").to_numpy(zero_copy_only=False) if with_value else None
    if value is not None:
        known &= np.isfinite(value)
    marked = marked & known
    if not marked.any():
        return marked, []
    time = pc.fill_null(time_col, 0).to_numpy(zero_copy_only=False)
    candidates = candidates & known & np.isin(time, time[marked])
    if not candidates.any():
        return marked, []
    pid = _codes(allc.column("patient_id")).astype(np.int64)

    def key(k: int) -> tuple:
        return (int(pid[k]), int(aidx[k]), int(time[k])) + ((float(value[k]),) if value is not None else ())

    first: dict[tuple, int] = {}
    for k in np.flatnonzero(marked):
        first.setdefault(key(int(k)), int(k))
    return marked, [(int(k), by) for k in np.flatnonzero(candidates) if (by := first.get(key(int(k)))) is not None]


def _void_corrected_without_a_number(allc: pa.Table, ok: np.ndarray, drop: dict[int, tuple[int, str]]) -> None:
    """A correction that is itself rejected (no number: "Haemolysed - please disregard",
    status Corrected) still says that the results of its draw are wrong: those that are
    not corrections are rejected too, naming it, never graded in silence (H132, audit 5
    S5).  Marks them in ``ok`` (False) and ``drop``."""
    corr = corrections(allc.column("_corr"))
    void = ~ok & corr
    if not void.any():
        return
    _, pairs = _marked_draws(allc, void, ok & ~corr, with_value=False)
    if not pairs:
        return
    orders = allc.column("_order").to_numpy()
    shown = allc.select(["source_value", "_corr", "source_file", "source_row"])
    for k, by in pairs:
        c = shown.slice(by, 1).to_pylist()[0]
        ok[k] = False
        drop[int(orders[k])] = (
            REJECTED,
            f"corrected by the lab to a result that is not imported ('{str(c['source_value'] or '')[:SHOWN_VALUE]}', "
            f"status '{str(c['_corr'])[:SHOWN_VALUE]}', {c['source_file']} row {c['source_row']}: see its reason) "
            "of the same draw (patient, test and time): the result it corrects is not graded",
        )


def _void_withdrawn_in_this_import(
    allc: pa.Table, ok: np.ndarray, drop: dict[int, tuple[int, str]], tabular: list[bool]
) -> None:
    """A result that a row of the same import marks withdrawn ("Entered in error",
    "Cancelled": the same patient, test, draw time and value) is rejected, naming that
    row, never graded beside it: a table's rows say nothing of which came last, so the
    result is not taken to stand (H536).  Only rows of tabular files (CSV, Excel) withdraw
    here; a FHIR copy is settled by its resource id and version (H469, H534).  Marks them
    in ``ok`` (False) and ``drop``."""
    said = corrections(allc.column("_wdr"))
    if said.any():  # (most imports: no status said, no row's file looked up)
        said &= np.asarray(tabular, dtype=bool)[allc.column("_file").to_numpy()]
    if not said.any() or not ok.any():
        return
    _, pairs = _marked_draws(allc, said, ok, with_value=True)
    if not pairs:
        return
    orders = allc.column("_order").to_numpy()
    shown = allc.select(["_wdr", "source_file", "source_row"])
    for k, by in pairs:
        w = shown.slice(by, 1).to_pylist()[0]
        ok[k] = False
        drop[int(orders[k])] = (
            REJECTED,
            f"withdrawn by the lab: {w['source_file']} row {w['source_row']} marks the same result "
            f"'{str(w['_wdr'])[:SHOWN_VALUE]}'; not graded (ask the lab whether it stands)",
        )


def _replaced_message(corr: dict) -> str:
    """Why a result replaced by a correction of its draw is not imported (H132)."""
    value = f"{corr['source_value'] or ''} {corr['source_unit'] or ''}".strip()
    return (
        f"replaced by the corrected result {value} (status '{corr['_corr']}', {corr['source_file']} row "
        f"{corr['source_row']}) of the same draw (patient, test and time): the result it corrects is not graded"
    )


def _record_percent_conversions(allc: pa.Table, keep: np.ndarray, cands: list[LabCandidates]) -> None:
    """Report the % differentials that became absolute counts (those kept, per file)."""
    pct = allc.column("_percent").combine_chunks().to_numpy(zero_copy_only=False) & keep
    if not pct.any():
        return
    rows = allc.filter(pa.array(pct)).select(["_file", "analyte", "source_unit"])
    counts = rows.group_by(["_file", "analyte", "source_unit"], use_threads=False).aggregate([([], "count_all")])
    for i, a, u, n in zip(
        *(counts.column(k).to_pylist() for k in ("_file", "analyte", "source_unit", "count_all")), strict=True
    ):
        canon = model.CANONICAL_UNITS[a]
        to = f"{canon} (from % x WBC), as computed; each flag on it gives the range its percentage allows"
        cands[i].report.conversions.append(Conversion(a, u or "%", to, int(n)))


class _KeyColumns(Mapping[str, np.ndarray]):
    """The deduplication key of ``rows`` as integer arrays (patient codes in order of
    first appearance, analyte index, seconds, the value's bits, comparator code, and
    whether the result is a correction), each read from the table when first asked for:
    :func:`_duplicates_and_clashes` reads the value, comparator and correction only when
    some draw holds more than one result of a test (none in most exports), so a million
    rows' values are not gathered for nothing."""

    def __init__(self, t: pa.Table, rows: np.ndarray) -> None:
        self._t, self._rows = t, rows
        self._read: dict[str, np.ndarray] = {}

    def __getitem__(self, name: str) -> np.ndarray:
        if name not in self._read:
            self._read[name] = _KEY_READERS[name](self._t, self._rows)
        return self._read[name]

    def __iter__(self) -> Iterator[str]:
        return iter(_KEY_READERS)

    def __len__(self) -> int:
        return len(_KEY_READERS)


def _key_time(t: pa.Table, rows: np.ndarray) -> np.ndarray:
    time = pc.fill_null(t.column("collected_at").combine_chunks().cast(pa.int64()), 0).to_numpy(zero_copy_only=False)
    return np.take(time, rows).astype(np.int64, copy=False)


def _key_value(t: pa.Table, rows: np.ndarray) -> np.ndarray:
    value = np.ascontiguousarray(t.column("value").combine_chunks().to_numpy(zero_copy_only=False)).view(np.int64)
    return np.take(value, rows)


# (np.take: the gather of indexing by ``rows``, about twice as fast on a million rows)
_KEY_READERS: dict[str, Callable[[pa.Table, np.ndarray], np.ndarray]] = {
    "pid": lambda t, rows: np.take(_codes(t.column("patient_id")), rows).astype(np.int64),
    "analyte": lambda t, rows: np.take(t.column("_aidx").combine_chunks().to_numpy(zero_copy_only=False), rows).astype(
        np.int64
    ),
    "time": _key_time,
    "value": _key_value,
    "cmp": lambda t, rows: np.take(_codes(t.column("comparator")), rows).astype(np.int64),
    "corr": lambda t, rows: np.take(corrections(t.column("_corr")), rows),
}


def _key_columns(t: pa.Table, rows: np.ndarray) -> Mapping[str, np.ndarray]:
    """The deduplication key of ``rows`` (:class:`_KeyColumns`)."""
    return _KeyColumns(t, rows)


def corrections(col: pa.ChunkedArray) -> np.ndarray:
    """Per row of the ``_corr`` column: the result corrects an earlier one (its status is
    not blank), read once per distinct text of each dictionary chunk."""
    parts = []
    for chunk in col.chunks:
        if pa.types.is_dictionary(chunk.type):
            said = pc.fill_null(pc.not_equal(chunk.dictionary, ""), False).to_numpy(zero_copy_only=False)
            if not said.any() and not chunk.indices.null_count:
                # no status said in this chunk (most files): no row is a correction, and
                # no gather of a million codes is needed to tell it
                parts.append(np.zeros(len(chunk), bool))
                continue
            parts.append(
                said[chunk.indices.to_numpy(zero_copy_only=False)] if len(said) else np.zeros(len(chunk), bool)
            )
        else:
            parts.append(pc.fill_null(pc.not_equal(chunk, ""), False).to_numpy(zero_copy_only=False))
    return np.concatenate(parts) if parts else np.zeros(0, dtype=bool)


def _codes(col: pa.ChunkedArray) -> np.ndarray:
    """Integer codes of a text column (plain or dictionary, one or several chunks)."""
    if pa.types.is_dictionary(col.type):
        if col.num_chunks == 1:
            return col.chunk(0).indices.to_numpy(zero_copy_only=False)
        col = col.cast(col.type.value_type)
    arr = col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col
    return pc.dictionary_encode(arr).indices.to_numpy(zero_copy_only=False)


def _duplicates_and_clashes(keys: Mapping[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per row of ``keys``: a duplicate of an earlier row (same patient, analyte, time,
    value and comparator), a clash (kept, but not the first of its draw's different
    values), and the row of the correction that replaces it, else -1.  Duplicates and
    clashes refer to input order: the first of equal rows is kept.

    A correction (``keys["corr"]``, optional) replaces every result of its draw that is
    not a correction and differs from every correction of the draw (H132): a result equal
    to a correction is its duplicate (or the correction is), and two different
    corrections still clash."""
    n = len(keys["pid"])
    dup = np.zeros(n, dtype=bool)
    clash = np.zeros(n, dtype=bool)
    replaced_by = np.full(n, -1, dtype=np.int64)
    if n < 2:
        return dup, clash, replaced_by
    # grouped by (patient, time, analyte): any order that puts equal keys together will
    # do, and this one is the order of most exports (a patient's draws in turn, each
    # draw's tests together), which packed_order recognises in one pass without a sort
    # (packed_order, with the packed key kept: two rows have the same patient, time and
    # analyte exactly when their packed keys are equal, so one comparison tells it)
    key = pack(keys["pid"], keys["time"], keys["analyte"])
    if key is not None:
        order = None if bool(np.all(key[1:] >= key[:-1])) else np.argsort(key, kind="stable")
        k = key if order is None else np.take(key, order)
        same = k[1:] == k[:-1]
    else:  # ranges too wide for one int64: the lexicographic sort, the columns compared
        order = packed_order(keys["pid"], keys["time"], keys["analyte"])
        if order is None:  # in that order already: the rows as they are, not gathered again
            p, t, a = keys["pid"], keys["time"], keys["analyte"]
        else:
            p, t, a = np.take(keys["pid"], order), np.take(keys["time"], order), np.take(keys["analyte"], order)
        same = (p[1:] == p[:-1]) & (t[1:] == t[:-1]) & (a[1:] == a[:-1])
    if not same.any():
        return dup, clash, replaced_by
    # rows of draws with more than one row (few): compare their values exactly
    in_group = np.r_[same, False] | np.r_[False, same]
    members = np.flatnonzero(in_group) if order is None else order[in_group]  # by draw, input order within a draw
    draw = np.cumsum(np.r_[True, ~same])[in_group]
    v, c = keys["value"][members], keys["cmp"][members]
    o = np.lexsort((members, c, v, draw))
    d2, v2, c2, m2 = draw[o], v[o], c[o], members[o]
    repeat = np.r_[False, (d2[1:] == d2[:-1]) & (v2[1:] == v2[:-1]) & (c2[1:] == c2[:-1])]
    dup[m2[repeat]] = True
    corr = keys.get("corr")
    if corr is not None and corr[members].any():
        _replace_corrected(members, draw, v, c, corr[members], dup, replaced_by)
    # among the rows kept, every row of a draw but its first (in input order) clashes
    kept = ~dup[members] & (replaced_by[members] < 0)
    km, kd = members[kept], draw[kept]
    o = np.lexsort((km, kd))
    km, kd = km[o], kd[o]
    clash[km[np.r_[False, kd[1:] == kd[:-1]]]] = True
    return dup, clash, replaced_by


def _replace_corrected(
    members: np.ndarray,
    draw: np.ndarray,
    v: np.ndarray,
    c: np.ndarray,
    is_corr: np.ndarray,
    dup: np.ndarray,
    replaced_by: np.ndarray,
) -> None:
    """Mark (in ``replaced_by``) the kept results of a draw holding a correction that are
    neither a correction nor equal to one: the first correction of the draw replaces them."""
    first: dict[int, int] = {}  # draw -> its first correction (input order)
    values: set[tuple[int, int, int]] = set()  # (draw, value bits, comparator) of corrections
    for k in np.flatnonzero(is_corr):
        d, m = int(draw[k]), int(members[k])
        first[d] = min(first.get(d, m), m)
        values.add((d, int(v[k]), int(c[k])))
    for k in np.flatnonzero(~is_corr & np.isin(draw, list(first))):
        m = int(members[k])
        if not dup[m] and (int(draw[k]), int(v[k]), int(c[k])) not in values:
            replaced_by[m] = first[int(draw[k])]


def _plain_text(t: pa.Table) -> pa.Table:
    """Dictionary text columns as plain text (for joins)."""
    for i, f in enumerate(t.schema):
        if pa.types.is_dictionary(f.type):
            t = t.set_column(i, f.name, t.column(i).cast(f.type.value_type))
    return t


def product_comparator(a: str, b: str) -> str:
    """The comparator of a product of two non-negative censored values ("<" and "<=" of
    one side: "<" unless both are inclusive); "" or "" gives "".  Opposite sides are
    refused by the caller."""
    if not a or not b:
        return a or b
    return a if len(a) == 2 and a == b else a[:1]


def _as_corrected(wbc: pa.Table, draw: Sequence[str] = ("patient_id", "collected_at")) -> pa.Table:
    """The WBC rows of each draw as they stand once its corrections replace the results
    they correct (H132): a draw holding a correction keeps its corrections only, so that
    a % differential is made a count of the corrected WBC, never of the one it replaced
    (audit 5 C4).  Row order is not kept (the caller groups by draw).  ``draw``: the
    columns of a draw (with "analyte" for rows of several tests)."""
    corr = corrections(wbc.column("_corr"))
    if not corr.any():
        return wbc
    draw = list(draw)
    corrected = wbc.filter(pa.array(corr)).select(draw).group_by(draw, use_threads=False).aggregate([])
    corrected = corrected.append_column("_draw_corrected", pa.array(np.ones(corrected.num_rows, dtype=bool)))
    wbc = wbc.append_column("_is_corr", pa.array(corr)).join(corrected, draw, join_type="left outer")
    keep = pc.or_(pc.invert(pc.fill_null(wbc.column("_draw_corrected"), False)), wbc.column("_is_corr"))
    return wbc.filter(keep).drop_columns(["_is_corr", "_draw_corrected"])


def _resolve_percent(
    allc: pa.Table, drop: dict[int, tuple[int, str]], notes: list[tuple[int, int, str]]
) -> tuple[pa.Table, dict[int, tuple[int, str]]]:
    """Make each % differential a count of its draw's WBC, or set it aside (a duplicate
    of the lab's absolute count, or rejected with the reason).  ``notes``: (file, row,
    message) of each % that disagrees with the absolute count used instead (H171)."""
    pct = allc.filter(allc.column("_percent"))
    absolute = allc.filter(pc.invert(allc.column("_percent")))
    wbc_rows = _as_corrected(absolute.filter(pc.equal(absolute.column("analyte"), "wbc")))
    wbc = wbc_rows.select(["patient_id", "collected_at", "value", "comparator"])
    wbc = wbc.group_by(["patient_id", "collected_at"], use_threads=False).aggregate(
        [("value", "min"), ("value", "max"), ("comparator", "min"), ("comparator", "max")]
    )
    wbc = wbc.rename_columns(["patient_id", "collected_at", "_wbc", "_wbc_max", "_wbc_cmp", "_wbc_cmp_max"])
    # an absolute count of the draw makes its % a duplicate, except that a corrected % is
    # set aside only by a corrected absolute: beside a final absolute it is made a count and
    # replaces that final (H132, audit 5 S1)
    key = ["patient_id", "analyte", "collected_at"]
    abs_corr = corrections(absolute.column("_corr"))
    have_abs = absolute.select(key).append_column("_abs_corr", pa.array(abs_corr))
    have_abs = have_abs.group_by(key, use_threads=False).aggregate([("_abs_corr", "max")])
    have_abs = have_abs.rename_columns([*key, "_abs_corr"])
    have_abs = have_abs.append_column("_has_abs", pa.array(np.ones(have_abs.num_rows, dtype=bool)))
    joined = pct.join(wbc, ["patient_id", "collected_at"], join_type="left outer")
    joined = joined.join(have_abs, key, join_type="left outer")
    has_abs = pc.fill_null(joined.column("_has_abs"), False).to_numpy(zero_copy_only=False)
    has_corr_abs = pc.fill_null(joined.column("_abs_corr"), False).to_numpy(zero_copy_only=False)
    has_abs = np.where(corrections(joined.column("_corr")), has_corr_abs, has_abs)
    wbc_v = pc.fill_null(joined.column("_wbc"), np.nan).to_numpy(zero_copy_only=False)
    orders = joined.column("_order").to_numpy()
    for o in orders[has_abs]:
        drop[int(o)] = (DUPLICATE, "the absolute count of the same draw is used instead of the percentage")
    if has_abs.any():
        notes.extend(_disagreeing_percentages(joined.filter(pa.array(has_abs)), wbc_rows, absolute))
    no_wbc = ~has_abs & np.isnan(wbc_v)
    for o in orders[no_wbc]:
        drop[int(o)] = (
            REJECTED,
            "percentage differential without a WBC from the same draw to make it an absolute count",
        )
    # two different WBCs of one draw: which one the percentage is of is not known
    wbc_max = pc.fill_null(joined.column("_wbc_max"), np.nan).to_numpy(zero_copy_only=False)
    wbc_cmp = pc.fill_null(joined.column("_wbc_cmp"), "").to_numpy(zero_copy_only=False)
    wbc_cmp_max = pc.fill_null(joined.column("_wbc_cmp_max"), "").to_numpy(zero_copy_only=False)
    pct_cmp = pc.fill_null(joined.column("comparator"), "").to_numpy(zero_copy_only=False)
    with np.errstate(invalid="ignore"):
        two_wbcs = ~has_abs & ~no_wbc & ((wbc_max != wbc_v) | (wbc_cmp != wbc_cmp_max))
    for o in orders[two_wbcs]:
        drop[int(o)] = (
            REJECTED,
            "percentage differential of a draw with two different WBC results: which one it is a "
            "percentage of is not known, so no absolute count is made",
        )
    # "<1 %" of a WBC of 4.0 is below 0.04; "<" of one and ">" of the other bound nothing;
    # "<=" of "<=" may be the product itself, while "<" of either side excludes it
    cmp = np.array([product_comparator(w, p) for w, p in zip(wbc_cmp, pct_cmp, strict=True)], dtype=object)
    side = np.array([c[:1] for c in wbc_cmp], dtype=object), np.array([c[:1] for c in pct_cmp], dtype=object)
    unbounded = ~has_abs & ~no_wbc & ~two_wbcs & (side[0] != "") & (side[1] != "") & (side[0] != side[1])
    for o in orders[unbounded]:
        drop[int(o)] = (
            REJECTED,
            "a censored percentage of a WBC censored the other way ('<' and '>') gives the absolute count no bound",
        )
    ok = ~has_abs & ~no_wbc & ~two_wbcs & ~unbounded
    derived = joined.filter(pa.array(ok))
    pct_v = derived.column("value").to_numpy()
    w = wbc_v[ok]
    derived_vals = stated_product(w * pct_v / 100.0)
    derived = derived.set_column(derived.schema.get_field_index("value"), "value", pa.array(derived_vals))
    derived = derived.set_column(
        derived.schema.get_field_index("comparator"), "comparator", pa.array(cmp[ok], pa.string())
    )
    derived = derived.set_column(
        derived.schema.get_field_index("derived"), "derived", pa.array(np.ones(derived.num_rows, dtype=bool))
    )
    derived = derived.select(absolute.column_names)
    return pa.concat_tables([absolute, derived]).sort_by("_order"), drop


def stated_product(made: np.ndarray) -> np.ndarray:
    """An absolute count made from a % differential and its draw's WBC (``made``), as
    computed, to 3 decimals: the best estimate (41 % of 3.9 is 1.599, 4 % of 12.0 is 0.48).
    Rounding it to the precision the percentage allows (1.6, 0.5) lands it on the round
    numbers limits are written at, and a strict limit then never fires (probe25).  Instead
    every flag on such a count says the range the percentage's rounding allows
    (:func:`count_range`: 40.5-41.5 % of 3.9 is 1.580-1.619) and claims no guideline action
    that range does not prove (``flags._derived_notes``, H426)."""
    return np.round(np.asarray(made, dtype=np.float64), 3)


def count_range(w: np.ndarray, p: np.ndarray, p_text: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """Where counts made from percentages ``p`` (their text as read, ``p_text``) of WBCs
    ``w`` may lie: the percentage within half a unit of its last digit written (H171's
    reading), times the WBC as written, as its own limits take it."""
    t = pa.table(
        {
            "value": pa.array(np.asarray(p, dtype=np.float64)),
            "source_value": pa.array(list(p_text), pa.string()),
            "comparator": pa.array([""] * len(p_text), pa.string()),
        }
    )
    low, high = _stated_bounds(t)
    w = np.asarray(w, dtype=np.float64)
    return low * w / 100.0, high * w / 100.0


def stated_count(w: float, p: float) -> float:
    """One count made from a percentage ``p`` of a WBC ``w``, as :func:`stated_product`
    writes it (a censored product too: its bound)."""
    return float(stated_product(np.array([w * p / 100.0]))[0])


def _disagreeing_percentages(pct: pa.Table, wbc: pa.Table, absolute: pa.Table) -> list[tuple[int, int, str]]:
    """(file, row, message) of each % differential set aside for the lab's absolute count
    of its draw (``pct``) that the absolute count cannot be: the % of the draw's one WBC
    and the absolute count are further apart than the rounding of the numbers as the lab
    wrote them allows (H171, probe 8).  A number written to its last digit is the true
    value rounded there, so it lies within half a unit of that digit (``_stated_bounds``):
    "10" % is 9.5-10.5 %, a WBC "4.0" 3.95-4.05, an absolute "0.9" 0.85-0.95.  The % of
    the WBC is then between the product of the low ends and that of the high ends
    (0.375-0.425 for 10 % of 4.0: 0.5 % x WBC either side, as a whole-number % allows,
    widened by the WBC's own rounding); if that range and the absolute count's do not
    meet, no rounding of one count gives both figures, and the report says so.  The
    absolute count is still the one used.  A % that is not a correction is not compared
    with an absolute count the lab corrected (the correction stands for the draw); a draw
    of two different WBCs has no one product to compare.  Column-wise: an export of
    full blood counts gives a % beside the count of every differential."""
    draw = ["patient_id", "collected_at"]
    key = ["patient_id", "analyte", "collected_at"]
    with np.errstate(invalid="ignore"):
        one_wbc = pc.and_(
            pc.equal(pct.column("_wbc"), pct.column("_wbc_max")),
            pc.equal(pct.column("_wbc_cmp"), pct.column("_wbc_cmp_max")),
        )
    pct = pct.filter(pc.fill_null(one_wbc, False))
    if not pct.num_rows or not wbc.num_rows:
        return []
    low, high = _stated_bounds(wbc)
    w = wbc.select(draw).append_column("_w_low", pa.array(low)).append_column("_w_high", pa.array(high))
    w = w.group_by(draw, use_threads=False).aggregate([("_w_low", "min"), ("_w_high", "max")])
    w = w.rename_columns([*draw, "_w_low", "_w_high"])
    counts = _as_corrected(absolute.filter(pc.is_in(absolute.column("analyte"), pct.column("analyte").unique())), key)
    low, high = _stated_bounds(counts)
    a = counts.select([*key, "_order"]).rename_columns([*key, "_a_order"])
    a = a.append_column("_a_low", pa.array(low)).append_column("_a_high", pa.array(high))
    a = a.append_column("_a_corr", pa.array(corrections(counts.column("_corr"))))
    low, high = _stated_bounds(pct)
    p = pct.select([*key, "_order"]).append_column("_p_low", pa.array(low)).append_column("_p_high", pa.array(high))
    p = p.append_column("_p_corr", pa.array(corrections(pct.column("_corr"))))
    pairs = p.join(w, draw, join_type="inner").join(a, key, join_type="inner")
    if not pairs.num_rows:
        return []

    def col(name: str) -> np.ndarray:
        return pairs.column(name).to_numpy(zero_copy_only=False)

    with np.errstate(invalid="ignore"):
        made_low = col("_p_low") * col("_w_low") / 100.0
        made_high = np.where(
            np.isinf(col("_p_high")) | np.isinf(col("_w_high")), np.inf, col("_p_high") * col("_w_high") / 100.0
        )
        apart = (made_high < col("_a_low") - 1e-9) | (col("_a_high") < made_low - 1e-9)
    apart &= ~(col("_a_corr") & ~col("_p_corr"))
    if not apart.any():
        return []
    found = pairs.filter(pa.array(apart)).select(["_order", "_a_order"]).sort_by("_order").to_pylist()
    first: dict[int, int] = {}
    for r in found:
        first.setdefault(int(r["_order"]), int(r["_a_order"]))
    shown = ["patient_id", "analyte", "collected_at", "value", "comparator", "source_value", "source_unit"]
    shown += ["source_file", "source_row", "_file", "_order"]
    rows = {
        r["_order"]: r
        for r in pct.filter(pc.is_in(pct.column("_order"), pa.array(list(first)))).select(shown).to_pylist()
    }
    a_rows = absolute.filter(pc.is_in(absolute.column("_order"), pa.array(list(first.values())))).select(shown)
    a_by = {r["_order"]: r for r in a_rows.to_pylist()}
    whites: dict[tuple, dict] = {}
    ids = pa.array(sorted({r["patient_id"] for r in rows.values()}), pa.string())
    for r in wbc.filter(pc.is_in(wbc.column("patient_id"), ids)).select(shown).to_pylist():
        whites.setdefault((r["patient_id"], r["collected_at"]), r)
    return [
        (
            int(rows[o]["_file"]),
            int(rows[o]["source_row"]),
            _disagreement_text(rows[o], whites[(rows[o]["patient_id"], rows[o]["collected_at"])], a_by[ao]),
        )
        for o, ao in first.items()
    ]


def _stated_bounds(t: pa.Table) -> tuple[np.ndarray, np.ndarray]:
    """Per row of ``t``: where the true value of the result may lie, from its number as
    the lab wrote it (``source_value``) and its canonical ``value``: within half a unit of
    the last digit written (that unit is the value over the number its digits make, so a
    WBC of "4000" /uL, 4.0 x10^9/L, is known to 0.0005 x10^9/L; a trailing zero of a whole
    number is taken as written), a '<' bound from 0, a '>' bound to infinity.  A zero is
    taken as known to its last digit in the canonical unit.  Read once per distinct text."""
    value = t.column("value").to_numpy()
    texts = pc.dictionary_encode(pc.fill_null(t.column("source_value"), "").combine_chunks())
    unit_of = []  # per distinct text: (number its digits make, decimals written)
    for text in texts.dictionary.to_pylist():
        m = re.search(r"\d[\d.,' ]*\d|\d", text)
        token = m.group() if m else ""
        digits = re.sub(r"\D", "", token)
        written = len(re.split(r"[.,]", token)[-1]) if re.search(r"[.,]", token) else 0
        unit_of.append((float(digits) if digits else 0.0, written))
    at = texts.indices.to_numpy(zero_copy_only=False)
    number = np.array([u[0] for u in unit_of], dtype=np.float64)[at] if unit_of else np.zeros(0)
    decimals = np.array([u[1] for u in unit_of], dtype=np.float64)[at] if unit_of else np.zeros(0)
    with np.errstate(divide="ignore", invalid="ignore"):
        half = np.where(number > 0, 0.5 * np.abs(value) / number, 0.5 * 10.0**-decimals)
    cmp_ = pc.fill_null(t.column("comparator"), "")
    below = pc.starts_with(cmp_, "<").to_numpy(zero_copy_only=False)
    above = pc.starts_with(cmp_, ">").to_numpy(zero_copy_only=False)
    return np.where(below, 0.0, np.maximum(value - half, 0.0)), np.where(above, np.inf, value + half)


def _disagreement_text(p: dict, w: dict, a: dict) -> str:
    """The warning of a % differential that its draw's absolute count cannot be (H171)."""
    unit = model.CANONICAL_UNITS[p["analyte"]]

    def at(r: dict) -> str:
        return f"{r['source_file']} row {r['source_row']}"

    def stated(r: dict) -> str:
        return f"{str(r['source_value'] or '')[:SHOWN_VALUE]} {str(r['source_unit'] or '')[:SHOWN_VALUE]}".strip()

    made = round(float(w["value"]) * float(p["value"]) / 100.0, 3)
    made_cmp = product_comparator(str(w["comparator"] or ""), str(p["comparator"] or ""))
    return (
        f"patient {str(p['patient_id'])[:100]}, draw of {p['collected_at']}: {model.analyte_label(p['analyte'])} "
        f"{stated(p)} ({at(p)}) of the WBC {stated(w)} is {made_cmp}{number_text(made)} {unit}, but the lab's "
        f"absolute count of the draw is {stated(a)} ({at(a)}): they disagree by more than the rounding of these "
        "numbers allows. The absolute count is used and the percentage is not graded; check both with the lab"
    )


def number_text(v: float) -> str:
    """A count as text with the 3 decimals an import keeps at most, and at least one."""
    text = f"{v:.3f}".rstrip("0")
    return text + "0" if text.endswith(".") else text


def _warn_conflicts(allc: pa.Table, clash: np.ndarray, cands: list[LabCandidates]) -> None:
    """Warn about different results of one patient, analyte and time (both are kept).

    ``clash``: rows of ``allc`` that are not the first of their draw's different values."""
    if not len(clash):
        return
    clash = np.sort(clash)
    files = allc.column("_file").to_numpy()
    shown = allc.select(["patient_id", "analyte", "collected_at"]).take(pa.array(clash[:20])).to_pylist()
    for k, row in zip(clash[:20], shown, strict=True):
        cands[int(files[k])].report.warn(
            f"patient {row['patient_id']}: different {model.analyte_label(row['analyte'])} results at the same "
            f"time {row['collected_at']}; both are kept - check the source"
        )
    if len(clash) > 20:
        cands[int(files[clash[0]])].report.warn(f"{len(clash) - 20} more results clash with another at the same time")


def _settle(c: LabCandidates) -> None:
    """Turn record verdicts into the report's row and result counts."""
    rep = c.report
    st = c.status
    accepted = int(np.count_nonzero(st == ACCEPTED))
    rejected = int(np.count_nonzero(st == REJECTED))
    duplicate = int(np.count_nonzero(st == DUPLICATE))
    rep.settle_results(accepted=accepted, rejected=rejected, duplicate=duplicate)
    if len(st) and (len(st) < 2 or bool(np.all(np.diff(c.rows) > 0))):  # one result per row: the same counts
        acc, dup, rej = accepted, duplicate, rejected
    elif len(st):
        # a row is accepted if any of its results was, a duplicate if all the rest were
        rows = c.rows
        order = np.argsort(rows, kind="stable")
        r_sorted = rows[order]
        s_sorted = st[order]
        starts = np.flatnonzero(np.r_[True, r_sorted[1:] != r_sorted[:-1]])
        any_acc = np.maximum.reduceat((s_sorted == ACCEPTED).astype(np.int8), starts).astype(bool)
        any_dup = np.maximum.reduceat((s_sorted == DUPLICATE).astype(np.int8), starts).astype(bool)
        any_rej = np.maximum.reduceat((s_sorted == REJECTED).astype(np.int8), starts).astype(bool)
        acc = int(any_acc.sum())
        dup = int((~any_acc & any_dup & ~any_rej).sum())
        rej = int(len(starts) - acc - dup)
    else:
        acc = dup = rej = 0
    extra = len(c.extra_rejected)
    rep.settle_rows(accepted=acc + c.extra_accepted, rejected=rej + extra, duplicates=dup)
    rep.problems = sorted([*c.extra_rejected, *c.problems], key=lambda p: p.row or 0)
