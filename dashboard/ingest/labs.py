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
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from dashboard import model
from dashboard.ingest import dates as dates_mod
from dashboard.ingest.mapping import recognise_test
from dashboard.ingest.report import Conversion, FileReport, Problem
from dashboard.ingest.values import detect_decimal, parse_range, parse_values
from dashboard.units import (
    FAMILY_UNITS,
    INFER_UNITS,
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
    analyte_hint: pa.Array | None = None
    percent_hint: pa.Array | None = None
    when_parsed: pa.Array | None = None
    value_column: pa.Array | None = None
    columns: dict[str, str] = field(default_factory=dict)
    allow_future: bool = False
    decimal: str | None = None

    def __len__(self) -> int:
        return len(self.rows)


@dataclass
class LabCandidates:
    """What :func:`normalise_labs` made of one file's records."""

    report: FileReport
    table: pa.Table  # accepted candidates: canonical columns + _percent, _rec
    status: np.ndarray  # per record: ACCEPTED / REJECTED (DUPLICATE set by combine)
    rows: np.ndarray  # per record: source row
    problems: list[Problem]  # per rejected record
    extra_rejected: list[Problem] = field(default_factory=list)  # rows with no record
    #: rows of the same file the reader accepted outside the lab table (a FHIR file's
    #: MedicationRequests and Patients, a body weight taken as the patient's weight)
    extra_accepted: int = 0


def _empty(n: int) -> pa.Array:
    return pa.repeat(pa.scalar("", pa.string()), n)


def _or_empty(arr: pa.Array | None, n: int) -> pa.Array:
    return arr if arr is not None else _empty(n)


def decide_decimal(inp: LabInput, report: FileReport) -> str:
    if inp.decimal:
        return inp.decimal
    sep, dots, commas = detect_decimal(inp.value)
    report.decimal = "comma" if sep == "," else "point"
    if dots and commas:
        minority = min(dots, commas)
        report.warn(
            f"{minority} value(s) use the other decimal separator than the rest of the file; "
            "they are rejected, not guessed"
        )
    return sep


def normalise_labs(
    inp: LabInput,
    report: FileReport,
    order: dates_mod.OrderDecision | None,
    today: dt.date,
) -> LabCandidates:
    """Interpret one file's lab records.  ``order`` is the file's date-order decision."""
    n = len(inp)
    code = _or_empty(inp.test_code, n)
    name = inp.test_name
    status = np.full(n, ACCEPTED, dtype=np.int8)
    reason = _empty(n)
    column = _empty(n)

    def reject(mask: pa.Array | np.ndarray, why: pa.Array | str, col: pa.Array | str) -> None:
        nonlocal reason, column
        if isinstance(mask, np.ndarray):
            mask = pa.array(mask)
        fresh = pc.and_(mask, pc.equal(reason, ""))
        reason = pc.if_else(fresh, why, reason)
        column = pc.if_else(fresh, col, column)

    col_of = inp.columns.get
    value_col = inp.value_column if inp.value_column is not None else col_of("value", "value")

    # --- patient id
    reject(pc.equal(inp.patient_id, ""), "no patient id", col_of("patient_id", "patient_id"))

    # --- date
    if inp.when_parsed is not None:
        when = inp.when_parsed
        reject(pc.is_null(when), "no date or time", col_of("collected_at", "collected_at"))
    else:
        parsed = dates_mod.parse_dates(inp.when, order.order if order else "ISO", today)
        when = parsed.values
        reject(pc.not_equal(parsed.reason, ""), parsed.reason, col_of("collected_at", "collected_at"))
        if parsed.two_digit_years:
            report.warn(
                f"{parsed.two_digit_years} date(s) have two-digit years; read as 20yy up to next year, else 19yy"
            )
    if not inp.allow_future:
        limit = np.datetime64(today + dt.timedelta(days=FUTURE_TOLERANCE_DAYS + 1), "s")
        future = pc.greater_equal(when, pa.scalar(limit, pa.timestamp("s")))
        reject(pc.fill_null(future, False), "date is in the future", col_of("collected_at", "collected_at"))

    # --- analyte
    analyte, percent_from_name, name_unit = _recognise(inp, code, name)
    source_test = _source_test(name, code)
    reject(
        pc.equal(analyte, ""),
        pc.binary_join_element_wise("not a monitored analyte: ", source_test, ""),
        col_of("analyte", col_of("code", "analyte")) if inp.value_column is None else value_col,
    )

    # --- value
    decimal = decide_decimal(inp, report)
    pv = parse_values(inp.value, decimal)
    reject(pc.not_equal(pv.reason, ""), pv.reason, value_col)
    if pv.thousands:
        report.warn(
            f"{pv.thousands} value(s) written with a thousands separator (e.g. 150,000) were read as whole numbers"
        )

    # --- unit
    unit_col = _or_empty(inp.unit, n)
    trailing = pv.trailing
    has_unit_col = pc.greater(pc.utf8_length(unit_col), 0)
    has_trailing = pc.greater(pc.utf8_length(trailing), 0)
    unit_text = pc.if_else(has_unit_col, unit_col, pc.if_else(has_trailing, trailing, name_unit))
    factor, percent_unit, unit_problem = _resolve_units(analyte, unit_text)
    # text after the number that is neither a flag nor the unit
    junk = pc.and_(has_trailing, pc.and_(has_unit_col, pc.invert(_same_unit(trailing, unit_col))))
    reject(junk, pc.binary_join_element_wise("unexpected text after the number: '", trailing, "'", ""), value_col)
    missing_unit = pc.equal(unit_problem, "missing")
    real_problem = pc.and_(pc.not_equal(unit_problem, ""), pc.invert(missing_unit))
    reject(pc.and_(real_problem, pc.not_equal(analyte, "")), unit_problem, col_of("unit", "unit"))

    values = pv.value
    factor_np = factor.to_numpy(zero_copy_only=False).copy()
    if pc.any(missing_unit).as_py():
        _infer_missing(analyte, values, unit_text, factor_np, missing_unit, report, reject)
    percent = pc.or_(percent_from_name, percent_unit)
    percent_np = percent.to_numpy(zero_copy_only=False)

    # --- convert and check plausibility
    with np.errstate(invalid="ignore"):
        canonical = np.round(values * factor_np, 9)
    lo, hi = _plausible_bounds(analyte)
    with np.errstate(invalid="ignore"):
        implausible = (canonical != 0) & ((canonical < lo) | (canonical > hi)) & ~percent_np
        bad_percent = percent_np & ((values < 0) | (values > 100))
    implausible &= ~np.isnan(canonical)
    if implausible.any():
        msg = _implausible_messages(analyte, values, unit_text, canonical, implausible)
        reject(implausible, msg, value_col)
    if bad_percent.any():
        reject(bad_percent, "a percentage must be between 0 and 100", value_col)

    # --- reference range (canonical unit; none for percentages)
    ref_low, ref_high = _reference(inp, n, decimal, factor_np, percent_np)

    # --- verdicts
    rejected = pc.not_equal(reason, "").to_numpy(zero_copy_only=False)
    status[rejected] = REJECTED
    keep = np.flatnonzero(~rejected)
    rows_np = inp.rows.to_numpy(zero_copy_only=False)
    problems: list[Problem] = []
    if rejected.any():
        idx = pa.array(np.flatnonzero(rejected))
        for r, c, m, v in zip(
            rows_np[np.flatnonzero(rejected)].tolist(),
            pc.take(column, idx).to_pylist(),
            pc.take(reason, idx).to_pylist(),
            pc.take(inp.value, idx).to_pylist(),
            strict=True,
        ):
            problems.append(Problem(int(r), c, m, v))

    take = pa.array(keep)
    flag_col = _or_empty(inp.flag, n)
    source_flag = pc.if_else(pc.greater(pc.utf8_length(flag_col), 0), flag_col, pv.flag)
    unit_canon = pc.take(
        pa.array([model.CANONICAL_UNITS.get(a, "") for a in model.ANALYTES] + [""]), _analyte_index(analyte)
    )
    source_unit_arr = unit_text  # as read (from the unit column, the value, the header or name)
    table = pa.table(
        {
            "patient_id": pc.take(inp.patient_id, take),
            "collected_at": pc.take(when, take),
            "analyte": pc.take(analyte, take),
            "value": pa.array(canonical[keep], pa.float64()),
            "unit": pc.take(unit_canon, take),
            "comparator": pc.take(pv.comparator, take),
            "ref_low": pa.array(ref_low[keep], pa.float64()),
            "ref_high": pa.array(ref_high[keep], pa.float64()),
            "source_flag": pc.take(source_flag, take),
            "source_value": pc.take(inp.value, take),
            "source_unit": pc.take(source_unit_arr, take),
            "source_test": pc.take(source_test, take),
            "source_file": pa.repeat(pa.scalar(inp.file, pa.string()), len(keep)),
            "source_row": pa.array(rows_np[keep], pa.int64()),
            "derived": pa.array(np.zeros(len(keep), dtype=bool)),
            "_percent": pa.array(percent_np[keep]),
            "_rec": pa.array(keep, pa.int64()),
        }
    )
    _record_conversions(report, table)
    return LabCandidates(report, table, status, rows_np, problems)


# --------------------------------------------------------------------------- steps


def _recognise(inp: LabInput, code: pa.Array, name: pa.Array) -> tuple[pa.Array, pa.Array, pa.Array]:
    """Analyte id, percent flag and unit-in-name per record (via distinct keys).

    ``analyte_hint`` (when given) wins: an analyte id, or an id followed by "%" for a
    differential given as a percentage; "" means recognise from code and name.
    """
    parts = [code, name] if inp.analyte_hint is None else [code, name, inp.analyte_hint]
    key = pc.binary_join_element_wise(*parts, "\x1f")
    enc = pc.dictionary_encode(key)
    analytes, percents, units = [], [], []
    for k in enc.dictionary.to_pylist():
        c, nm, *rest = k.split("\x1f")
        hint = rest[0] if rest else ""
        m = recognise_test(nm, c)
        if hint:
            a, pct = (hint[:-1], True) if hint.endswith("%") else (hint, False)
            if a not in model.CANONICAL_UNITS:
                a, pct = "", False
            analytes.append(a)
            percents.append(pct)
            units.append(m.unit if m and m.analyte == a else "")
        else:
            analytes.append(m.analyte if m else "")
            percents.append(bool(m and m.percent))
            units.append(m.unit if m else "")
    idx = enc.indices
    return (
        pc.take(pa.array(analytes, pa.string()), idx),
        pc.take(pa.array(percents, pa.bool_()), idx),
        pc.take(pa.array(units, pa.string()), idx),
    )


def _source_test(name: pa.Array, code: pa.Array) -> pa.Array:
    has_name = pc.greater(pc.utf8_length(name), 0)
    has_code = pc.greater(pc.utf8_length(code), 0)
    both = pc.and_(has_name, has_code)
    with_code = pc.binary_join_element_wise(name, pc.binary_join_element_wise("(", code, ")", ""), " ")
    return pc.if_else(both, with_code, pc.if_else(has_name, name, code))


def _same_unit(a: pa.Array, b: pa.Array) -> pa.Array:
    key = pc.binary_join_element_wise(a, b, "\x1f")
    enc = pc.dictionary_encode(key)
    same = []
    for k in enc.dictionary.to_pylist():
        x, y = k.split("\x1f")
        same.append(not x or normalize_unit(x) == normalize_unit(y))
    return pc.take(pa.array(same, pa.bool_()), enc.indices)


def _resolve_units(analyte: pa.Array, unit_text: pa.Array) -> tuple[pa.Array, pa.Array, pa.Array]:
    key = pc.binary_join_element_wise(analyte, unit_text, "\x1f")
    enc = pc.dictionary_encode(key)
    factors, percents, problems = [], [], []
    for k in enc.dictionary.to_pylist():
        a, u = k.split("\x1f")
        if not a:
            factors.append(None)
            percents.append(False)
            problems.append("")
            continue
        res = resolve_unit(a, u)
        factors.append(res.factor)
        percents.append(res.percent)
        problems.append(res.problem)
    idx = enc.indices
    return (
        pc.take(pa.array(factors, pa.float64()), idx),
        pc.take(pa.array(percents, pa.bool_()), idx),
        pc.take(pa.array(problems, pa.string()), idx),
    )


def _infer_missing(analyte, values, unit_text, factor_np, missing_unit, report, reject) -> None:
    """Fill the factor of results with no unit when the magnitude leaves no doubt."""
    missing = missing_unit.to_numpy(zero_copy_only=False)
    analyte_np = analyte.to_numpy(zero_copy_only=False)
    ambiguous_msg = np.full(len(values), "", dtype=object)
    for a in sorted(set(analyte_np[missing]) - {""}):
        rows = np.flatnonzero(missing & (analyte_np == a))
        v = values[rows]
        family = model.analyte_info()[a].family
        lo, hi = model.analyte_info()[a].typical
        cands = [(s, FAMILY_UNITS[family][s]) for s in INFER_UNITS[family]]
        fits = np.array([(v * f >= lo) & (v * f <= hi) for _s, f in cands])  # (k, len(rows))
        nfits = fits.sum(axis=0)
        # the file's own unit for this analyte, when it names exactly one
        present = analyte_np == a
        explicit = ~missing & present
        file_units = (
            {normalize_unit(u) for u in pc.filter(unit_text, pa.array(explicit)).to_pylist()}
            if explicit.any()
            else set()
        )
        file_factor = None
        if file_units:
            fac = {FAMILY_UNITS[family].get(u) for u in file_units}
            if len(fac) == 1 and None not in fac:
                file_factor = fac.pop()
        label = model.analyte_info()[a].label
        used: dict[str, int] = {}
        for j, r in enumerate(rows):
            if np.isnan(v[j]):
                continue
            if nfits[j] == 1:
                k = int(np.flatnonzero(fits[:, j])[0])
                factor_np[r] = cands[k][1]
                used[cands[k][0]] = used.get(cands[k][0], 0) + 1
            elif (
                nfits[j] > 1
                and file_factor is not None
                and any(fits[k, j] and cands[k][1] == file_factor for k in range(len(cands)))
            ):
                factor_np[r] = file_factor
                used["the unit of the other results in this file"] = (
                    used.get("the unit of the other results in this file", 0) + 1
                )
            elif nfits[j] > 1:
                options = " or ".join(_pretty(cands[k][0]) for k in range(len(cands)) if fits[k, j])
                ambiguous_msg[r] = f"unit missing and the value fits more than one unit ({options}); add the unit"
            else:
                ambiguous_msg[r] = f"unit missing and {v[j]:g} is not a plausible {label} in any usual unit"
        for u, count in used.items():
            report.warn(f"{label}: unit missing on {count} result(s); read as {_pretty(u)} from the magnitude")
    mask = ambiguous_msg != ""
    if mask.any():
        reject(mask, pa.array(ambiguous_msg.tolist(), pa.string()), "unit")


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


def _analyte_index(analyte: pa.Array) -> pa.Array:
    lookup = {a: i for i, a in enumerate(model.ANALYTES)}
    enc = pc.dictionary_encode(analyte)
    mapped = pa.array([lookup.get(a, len(model.ANALYTES)) for a in enc.dictionary.to_pylist()], pa.int32())
    return pc.take(mapped, enc.indices)


def _plausible_bounds(analyte: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    info = model.analyte_info()
    los = np.array([info[a].plausible[0] for a in model.ANALYTES] + [-np.inf])
    his = np.array([info[a].plausible[1] for a in model.ANALYTES] + [np.inf])
    idx = _analyte_index(analyte).to_numpy(zero_copy_only=False)
    return los[idx], his[idx]


def _implausible_messages(analyte, values, unit_text, canonical, mask) -> pa.Array:
    an = analyte.to_numpy(zero_copy_only=False)
    units = unit_text.to_numpy(zero_copy_only=False)
    out = np.full(len(values), "", dtype=object)
    info = model.analyte_info()
    for r in np.flatnonzero(mask):
        a = info[an[r]]
        unit = units[r] or "(no unit)"
        lo, hi = a.plausible
        out[r] = (
            f"{a.label} {values[r]:g} {unit} is implausible for that unit "
            f"(= {canonical[r]:g} {a.unit}; a real result lies between {lo:g} and {hi:g}); check the unit"
        )
    return pa.array(out.tolist(), pa.string())


def _reference(
    inp: LabInput, n: int, decimal: str, factor: np.ndarray, percent: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    lo = np.full(n, np.nan)
    hi = np.full(n, np.nan)
    if inp.ref_range is not None:
        enc = pc.dictionary_encode(inp.ref_range)
        parsed = [parse_range(t, decimal) for t in enc.dictionary.to_pylist()]
        idx = enc.indices.to_numpy(zero_copy_only=False)
        lo = np.array([p[0] for p in parsed] or [np.nan])[idx] if parsed else lo
        hi = np.array([p[1] for p in parsed] or [np.nan])[idx] if parsed else hi
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
    return lo, hi


def _record_conversions(report: FileReport, table: pa.Table) -> None:
    if table.num_rows == 0:
        return
    sub = table.select(["analyte", "source_unit", "unit", "_percent"])
    grouped = sub.group_by(["analyte", "source_unit", "unit", "_percent"]).aggregate([([], "count_all")])
    for a, su, u, pct, count in zip(
        *(grouped.column(c).to_pylist() for c in ("analyte", "source_unit", "unit", "_percent", "count_all")),
        strict=True,
    ):
        if pct:
            report.conversions.append(Conversion(a, su or "%", f"{u} (from % x WBC)", count))
        elif su and normalize_unit(su) != normalize_unit(u):
            report.conversions.append(Conversion(a, su, u, count))
        elif not su:
            report.conversions.append(Conversion(a, "(no unit)", u, count))


# --------------------------------------------------------------------------- combine


def combine_labs(cands: list[LabCandidates]) -> pa.Table:
    """Resolve % differentials and duplicates across all files; settle every report."""
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
    drop_reason: dict[int, tuple[int, str]] = {}  # _order -> (status, message)

    percent_mask = allc.column("_percent")
    if pc.any(percent_mask).as_py():
        allc, drop_reason = _resolve_percent(allc, drop_reason)

    # duplicates: same patient, analyte, time, value (and comparator)
    keys = ["patient_id", "analyte", "collected_at", "value", "comparator"]
    if drop_reason:
        dropped = pa.array(sorted(drop_reason), pa.int64())
        alive = allc.filter(pc.invert(pc.is_in(allc.column("_order"), value_set=dropped)))
    else:
        alive = allc
    firsts = alive.group_by(keys, use_threads=False).aggregate([("_order", "min")])
    keep_orders = firsts.column("_order_min")
    is_first = pc.is_in(alive.column("_order"), value_set=keep_orders)
    dups = alive.filter(pc.invert(is_first))
    for o in dups.column("_order").to_pylist():
        drop_reason[o] = (DUPLICATE, "same result already imported")
    final = alive.filter(is_first)
    _warn_conflicts(final, cands)

    # settle statuses
    for o, (st, msg) in drop_reason.items():
        i = int(file_col[o])
        r = int(rec_col[o])
        cands[i].status[r] = st
        if st == REJECTED:
            cands[i].problems.append(Problem(int(cands[i].rows[r]), "value", msg, ""))
    for c in cands:
        _settle(c)
    final = final.sort_by([("patient_id", "ascending"), ("collected_at", "ascending"), ("analyte", "ascending")])
    return model.conform("labs", final)


def _resolve_percent(allc: pa.Table, drop: dict[int, tuple[int, str]]) -> tuple[pa.Table, dict[int, tuple[int, str]]]:
    pct = allc.filter(allc.column("_percent"))
    absolute = allc.filter(pc.invert(allc.column("_percent")))
    wbc = absolute.filter(pc.equal(absolute.column("analyte"), "wbc")).select(
        ["patient_id", "collected_at", "value", "comparator"]
    )
    wbc = wbc.group_by(["patient_id", "collected_at"], use_threads=False).aggregate(
        [("value", "first"), ("comparator", "first")]
    )
    wbc = wbc.rename_columns(["patient_id", "collected_at", "_wbc", "_wbc_cmp"])
    have_abs = (
        absolute.select(["patient_id", "analyte", "collected_at"])
        .group_by(["patient_id", "analyte", "collected_at"])
        .aggregate([])
    )
    have_abs = have_abs.append_column("_has_abs", pa.array(np.ones(have_abs.num_rows, dtype=bool)))
    joined = pct.join(wbc, ["patient_id", "collected_at"], join_type="left outer")
    joined = joined.join(have_abs, ["patient_id", "analyte", "collected_at"], join_type="left outer")
    has_abs = pc.fill_null(joined.column("_has_abs"), False).to_numpy(zero_copy_only=False)
    wbc_v = pc.fill_null(joined.column("_wbc"), np.nan).to_numpy(zero_copy_only=False)
    orders = joined.column("_order").to_numpy()
    for o in orders[has_abs]:
        drop[int(o)] = (DUPLICATE, "the absolute count of the same draw is used instead of the percentage")
    no_wbc = ~has_abs & np.isnan(wbc_v)
    for o in orders[no_wbc]:
        drop[int(o)] = (
            REJECTED,
            "percentage differential without a WBC from the same draw to make it an absolute count",
        )
    ok = ~has_abs & ~no_wbc
    derived = joined.filter(pa.array(ok))
    pct_v = derived.column("value").to_numpy()
    w = wbc_v[ok]
    derived_vals = np.round(w * pct_v / 100.0, 3)
    wbc_cmp = pc.fill_null(derived.column("_wbc_cmp"), "")
    derived = derived.set_column(derived.schema.get_field_index("value"), "value", pa.array(derived_vals))
    derived = derived.set_column(derived.schema.get_field_index("comparator"), "comparator", wbc_cmp)
    derived = derived.set_column(
        derived.schema.get_field_index("derived"), "derived", pa.array(np.ones(derived.num_rows, dtype=bool))
    )
    derived = derived.select(absolute.column_names)
    return pa.concat_tables([absolute, derived]).sort_by("_order"), drop


def _warn_conflicts(final: pa.Table, cands: list[LabCandidates]) -> None:
    if final.num_rows == 0:
        return
    g = final.group_by(["patient_id", "analyte", "collected_at"]).aggregate(
        [("value", "count_distinct"), ("_file", "max")]
    )
    conflicts = g.filter(pc.greater(g.column("value_count_distinct"), 1))
    for pid, a, t, fi in zip(
        *(conflicts.column(c).to_pylist()[:20] for c in ("patient_id", "analyte", "collected_at", "_file_max")),
        strict=True,
    ):
        cands[int(fi)].report.warn(
            f"patient {pid}: different {model.analyte_label(a)} results at the same time {t}; both are kept - check the source"
        )


def _settle(c: LabCandidates) -> None:
    """Turn record verdicts into the report's row and result counts."""
    rep = c.report
    st = c.status
    rep.results_read = len(st)
    rep.results_accepted = int((st == ACCEPTED).sum())
    rep.results_rejected = int((st == REJECTED).sum())
    rep.results_duplicate = int((st == DUPLICATE).sum())
    if len(st):
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
    rep.rows_read = acc + dup + rej + extra + c.extra_accepted
    rep.rows_accepted = acc + c.extra_accepted
    rep.duplicates = dup
    rep.rows_rejected = rej + extra
    rep.problems = sorted([*c.extra_rejected, *c.problems], key=lambda p: p.row or 0)
