"""MIMIC-III and MIMIC-IV extracts: labevents, d_labitems, prescriptions, patients, admissions.

Recognised by their header sets (MIMIC-III writes upper-case names, MIMIC-IV lower
case; both are accepted).  See ``docs/formats.md`` for the columns read.

Identity.  The patient is SUBJECT_ID.  A lab extract with only HADM_ID (an admission)
is filed under the admission's SUBJECT_ID when another table of the same import links
the two (PRESCRIPTIONS, ADMISSIONS or a full LABEVENTS); otherwise under the HADM_ID,
with a note.  ``d_labitems`` is processed before the data tables and a HADM-only lab
extract after them (``readers.priority``).

Lab items.  ``itemid`` is mapped to an analyte with the bundled table
``data/mimic_itemids.csv`` (CBC, differential, ALT/AST, albumin, creatinine, eGFR);
items it does not list are recognised from the ``d_labitems`` label and LOINC code
when that dictionary is imported too, blood items only.  Results are converted from
their own ``valueuom`` by the shared lab pipeline.  ``___`` values (de-identified
text) use ``valuenum``; an empty value with a censored comment ("<0.2.") keeps the
comparator; the per-row reference range (MIMIC-IV ``ref_range_lower/upper``) is kept.

Dates.  MIMIC shifts every date into the future (2100-2200) to de-identify; they are
kept as written (``allow_future``) and the report says so once per file.

Doses.  ``dose_val_rx`` + ``dose_unit_rx`` is the amount per administration;
MIMIC-IV ``doses_per_24_hrs`` 1-4 gives the frequency; MIMIC-III has none, so no daily
dose is computed.  Orders of 0 mg ("Check with MD for Dose", held doses) are rejected
with that reason.  Concurrent orders of one drug in one admission with the same
start, end, route and dose form but different product strengths (tacrolimus 0.5 mg +
1 mg capsules) are one dose, their sum, as a pharmacist reads them; the same product
ordered twice is counted once.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources

import pyarrow as pa
import pyarrow.compute as pc

from dashboard.ingest import dates as dates_mod
from dashboard.ingest.context import Context, Parsed, decide_dates, interval_dates
from dashboard.ingest.dose_records import DoseRecord
from dashboard.ingest.interop import (
    Tally,
    col,
    finish,
    required,
    run_doses,
    run_patients,
    texts,
    used_columns,
)
from dashboard.ingest.labs import LabInput, normalise_labs
from dashboard.ingest.mapping import map_columns, normalize, recognise_drug
from dashboard.ingest.patients import PatientRecord
from dashboard.ingest.report import FileReport
from dashboard.ingest.signatures import (
    has_columns,
    is_mimic_admissions,
    is_mimic_d_labitems,
    is_mimic_labevents,
    is_mimic_patients,
    is_mimic_prescriptions,
    is_other_mimic,
)
from dashboard.ingest.tabular import RawTable

#: ctx.extra keys
LINKS = "mimic_hadm_subject"  # HADM_ID -> SUBJECT_ID
FLUIDS = "mimic_item_fluid"  # itemid -> fluid (from d_labitems)

#: An analyte hint that recognises nothing (an item known not to be a monitored result).
NOT_MONITORED = "-"


@dataclass(frozen=True)
class Item:
    itemid: str
    label: str
    fluid: str
    analyte: str
    percent: bool


@cache
def bundled_items() -> dict[str, Item]:
    """The bundled itemid -> analyte table (``data/mimic_itemids.csv``).

    Items with no analyte are common results that are not monitored, listed only so
    that the report can name them without the ``d_labitems`` dictionary.
    """
    text = resources.files("dashboard.ingest").joinpath("data", "mimic_itemids.csv").read_text(encoding="utf-8")
    out: dict[str, Item] = {}
    for r in csv.DictReader(io.StringIO(text)):
        out[r["itemid"]] = Item(r["itemid"], r["label"], r["fluid"], r["analyte"], r["result"] == "percent")
    return out


def _remember_links(raw: RawTable, ctx: Context) -> None:
    links = ctx.extra.setdefault(LINKS, {})
    for h, s in zip(texts(raw, "HADM_ID"), texts(raw, "SUBJECT_ID"), strict=True):
        if h and s:
            links.setdefault(h, s)


def _name(raw: RawTable, name: str) -> str:
    for h in raw.header:
        if h.strip().upper() == name.upper():
            return h
    return name


def _warn_shifted(rep: FileReport, when: list, today: dt.date) -> None:
    limit = dt.datetime.combine(today, dt.time()) + dt.timedelta(days=2)
    future = [t for t in when if t is not None and t >= limit]
    if future:
        years = sorted({t.year for t in future})
        span = f"{years[0]}" if len(years) == 1 else f"{years[0]}-{years[-1]}"
        rep.warn(
            f"dates lie in the future ({span}): MIMIC shifts every date to de-identify patients; "
            "they are kept as written, so intervals are real but calendar dates are not"
        )


# --------------------------------------------------------------------------- d_labitems


def read_d_labitems(raw: RawTable, rep: FileReport, ctx: Context) -> Parsed | None:
    if not is_mimic_d_labitems(raw):
        return None
    rep.format = "MIMIC d_labitems (lab dictionary)"
    rep.kind = "dictionary"
    fields = {"itemid": "ITEMID", "label": "LABEL", "fluid": "FLUID"}
    if has_columns(raw, "LOINC_CODE"):
        fields["loinc"] = "LOINC_CODE"
    used_columns(rep, raw, fields)
    fluids = ctx.extra.setdefault(FLUIDS, {})
    tally = Tally.starting_with(raw.rejected)
    loincs = texts(raw, "LOINC_CODE")
    for row, item, label, fluid, loinc in zip(
        raw.row_numbers.to_pylist(), texts(raw, "ITEMID"), texts(raw, "LABEL"), texts(raw, "FLUID"), loincs, strict=True
    ):
        if not item:
            tally.reject(row, _name(raw, "ITEMID"), "no itemid", label)
            continue
        ctx.lab_items[item] = (label, loinc)
        fluids[item] = fluid
        tally.accept(row)
    return finish(rep, tally)


# --------------------------------------------------------------------------- admissions


def read_admissions(raw: RawTable, rep: FileReport, ctx: Context) -> Parsed | None:
    if not is_mimic_admissions(raw):
        return None
    rep.format = "MIMIC admissions (admission -> patient links)"
    rep.kind = "dictionary"
    used_columns(rep, raw, {"patient_id": "SUBJECT_ID", "admission": "HADM_ID"})
    _remember_links(raw, ctx)
    tally = Tally.starting_with(raw.rejected)
    for row, h, s in zip(raw.row_numbers.to_pylist(), texts(raw, "HADM_ID"), texts(raw, "SUBJECT_ID"), strict=True):
        if h and s:
            tally.accept(row)
        else:
            tally.reject(row, None, "no HADM_ID or SUBJECT_ID", f"{h} {s}".strip())
    return finish(rep, tally)


# --------------------------------------------------------------------------- labevents


_CENSORED_COMMENT = re.compile(r"^\s*([<>]=?)\s*(\d+(?:\.\d+)?)\s*\.?\s*$")


def read_labevents(raw: RawTable, rep: FileReport, ctx: Context) -> Parsed | None:
    if not is_mimic_labevents(raw):
        return None
    version = "MIMIC-IV" if has_columns(raw, "REF_RANGE_LOWER") or raw.header[0].islower() else "MIMIC-III"
    rep.format = f"{version} labevents"
    rep.kind = "labs"
    n = raw.num_rows
    fields = {"collected_at": "CHARTTIME", "value": "VALUE", "unit": "VALUEUOM", "code": "ITEMID"}
    for fld, name in (
        ("patient_id", "SUBJECT_ID"),
        ("value_numeric", "VALUENUM"),
        ("ref_low", "REF_RANGE_LOWER"),
        ("ref_high", "REF_RANGE_UPPER"),
        ("flag", "FLAG"),
        ("comments", "COMMENTS"),
    ):
        if has_columns(raw, name):
            fields[fld] = name
    if "patient_id" not in fields:
        fields["patient_id"] = "HADM_ID"
    if has_columns(raw, "SUBJECT_ID") and has_columns(raw, "HADM_ID"):
        _remember_links(raw, ctx)
    used_columns(rep, raw, fields)
    columns = {k: _name(raw, v) for k, v in fields.items()}

    charttime = col(raw, "CHARTTIME")
    decision = decide_dates(rep, [charttime], ctx)

    patient = _lab_patients(raw, rep, ctx)
    value = _lab_values(raw, rep)
    names, codes, hints = _lab_items(raw, ctx)
    inp = LabInput(
        file=raw.name,
        rows=raw.row_numbers,
        patient_id=patient,
        when=charttime,
        test_name=names,
        test_code=codes,
        value=value,
        unit=col(raw, "VALUEUOM"),
        ref_low=col(raw, "REF_RANGE_LOWER"),
        ref_high=col(raw, "REF_RANGE_UPPER"),
        flag=col(raw, "FLAG"),
        analyte_hint=hints,
        columns=columns,
        allow_future=True,
        decimal=".",
    )
    _warn_percent_items_without_unit(rep, hints, inp.unit)
    cands = normalise_labs(inp, rep, decision, ctx.options.as_of)
    cands.extra_rejected = list(raw.rejected)
    if n:
        when = dates_mod.parse_dates(charttime, decision.order, ctx.options.as_of, window=False).values
        _warn_shifted(rep, [pc.min(when).as_py(), pc.max(when).as_py()], ctx.options.as_of)
    return Parsed(rep, labs=cands)


def _warn_percent_items_without_unit(rep: FileReport, hints: pa.Array, unit: pa.Array | None) -> None:
    """Say the rows of an item defined as a percentage (51256 Neutrophils) whose VALUEUOM
    is blank: the lab pipeline reads them in %, by the item's definition (H468)."""
    if unit is None or not len(hints):
        return
    blank = pc.and_(pc.ends_with(hints, "%"), pc.equal(pc.utf8_trim_whitespace(pc.fill_null(unit, "")), ""))
    count = pc.sum(blank).as_py() or 0
    if count:
        rep.warn(
            f"{count} result(s) of items defined as a percentage of the white cells (such as itemid 51256, "
            "Neutrophils) have no unit: read as %, as the item is defined, and made absolute with the WBC of "
            "the same draw"
        )


def _lab_patients(raw: RawTable, rep: FileReport, ctx: Context) -> pa.Array:
    if has_columns(raw, "SUBJECT_ID"):
        return col(raw, "SUBJECT_ID")
    links: dict[str, str] = ctx.extra.get(LINKS, {})
    hadm = texts(raw, "HADM_ID")
    linked = sorted({h for h in hadm if h in links})
    unlinked = sorted({h for h in hadm if h and h not in links})
    if linked:
        rep.warn(
            f"this extract has no SUBJECT_ID; the results of {len(linked)} admission(s) "
            f"({', '.join(linked[:5])}{' ...' if len(linked) > 5 else ''}) are filed under their patient "
            "(SUBJECT_ID) found in another file of this import"
        )
    if unlinked:
        rep.warn(
            f"this extract has no SUBJECT_ID; the results of {len(unlinked)} admission(s) "
            f"({', '.join(unlinked[:5])}{' ...' if len(unlinked) > 5 else ''}) are filed under the admission id "
            "(HADM_ID) as the patient id; import PRESCRIPTIONS or ADMISSIONS of the same export with it "
            "to file them under the patient"
        )
    return pa.array([links.get(h, h) for h in hadm], pa.string())


def _lab_values(raw: RawTable, rep: FileReport) -> pa.Array:
    """VALUE, with VALUENUM for de-identified '___' values and censored comments."""
    value = required(raw, "VALUE")  # the labevents recognition requires it
    valuenum = col(raw, "VALUENUM")
    if valuenum is not None:
        masked = pc.and_(
            pc.or_(pc.equal(value, ""), pc.match_substring_regex(value, r"^_+$")),
            pc.greater(pc.utf8_length(valuenum), 0),
        )
        k = int(pc.sum(masked).as_py() or 0)
        if k:
            value = pc.if_else(masked, valuenum, value)
            rep.warn(f"{k} result(s) had no usable VALUE text ('___' or empty); their VALUENUM was used")
    comments = col(raw, "COMMENTS")
    if comments is not None:
        out = value.to_pylist()
        k = 0
        for i, (v, c) in enumerate(zip(out, comments.to_pylist(), strict=True)):
            if v in ("", "___") and c:
                m = _CENSORED_COMMENT.match(c)
                if m:
                    out[i] = m.group(1)[0] + m.group(2)
                    k += 1
        if k:
            value = pa.array(out, pa.string())
            rep.warn(f"{k} censored result(s) read from the comments (e.g. '<0.2.'); the comparator is kept")
    return value


def _lab_items(raw: RawTable, ctx: Context) -> tuple[pa.Array, pa.Array, pa.Array]:
    """Per row: test name, test code and analyte hint from the itemid."""
    items = pc.utf8_trim_whitespace(col(raw, "ITEMID"))
    enc = pc.dictionary_encode(items)
    bundled = bundled_items()
    fluids: dict[str, str] = ctx.extra.get(FLUIDS, {})
    names, codes, hints = [], [], []
    for item in enc.dictionary.to_pylist():
        known = bundled.get(item)
        label, loinc = ctx.lab_items.get(item, ("", ""))
        if known is not None:
            names.append(f"{label or known.label} (itemid {item})")
            codes.append("")
            hints.append(known.analyte + ("%" if known.percent else "") if known.analyte else NOT_MONITORED)
        elif label and fluids.get(item, "Blood").strip().lower() in ("blood", ""):
            names.append(f"{label} (itemid {item})")
            codes.append(loinc)
            hints.append("")
        else:
            fluid = fluids.get(item, "")
            where = f" [{fluid}]" if fluid and fluid.lower() != "blood" else ""
            names.append(f"{label}{where} (itemid {item})" if label else f"itemid {item}")
            codes.append("")
            hints.append(NOT_MONITORED)
    idx = enc.indices
    return (
        pc.take(pa.array(names, pa.string()), idx),
        pc.take(pa.array(codes, pa.string()), idx),
        pc.take(pa.array(hints, pa.string()), idx),
    )


# --------------------------------------------------------------------------- prescriptions

_MIMIC_ROUTES = {
    "PO": "oral",
    "PO/NG": "oral",
    "NG": "oral",
    "OG": "oral",
    "NG/OG": "oral",
    "ORAL": "oral",
    "IV": "iv",
    "IV DRIP": "iv",
    "IV BOLUS": "iv",
    "IVPCA": "iv",
    "PB": "iv",
    "IVPB": "iv",
    "IV PIGGYBACK": "iv",
    "SC": "sc",
    "SUBCUT": "sc",
    "SQ": "sc",
    "IM": "im",
}


def read_prescriptions(raw: RawTable, rep: FileReport, ctx: Context) -> Parsed | None:
    if not is_mimic_prescriptions(raw):
        return None
    iv = has_columns(raw, "STARTTIME")
    rep.format = f"{'MIMIC-IV' if iv else 'MIMIC-III'} prescriptions"
    rep.kind = "doses"
    start_name, end_name = ("STARTTIME", "STOPTIME") if iv else ("STARTDATE", "ENDDATE")
    fields = {
        "patient_id": "SUBJECT_ID" if has_columns(raw, "SUBJECT_ID") else "HADM_ID",
        "drug": "DRUG",
        "start": start_name,
        "end": end_name,
        "dose": "DOSE_VAL_RX",
        "dose_unit": "DOSE_UNIT_RX",
        "route": "ROUTE",
    }
    if has_columns(raw, "DOSES_PER_24_HRS"):
        fields["frequency"] = "DOSES_PER_24_HRS"
    if has_columns(raw, "PROD_STRENGTH"):
        fields["product"] = "PROD_STRENGTH"
    used_columns(rep, raw, fields)
    columns = {k: _name(raw, v) for k, v in fields.items()}
    if has_columns(raw, "SUBJECT_ID", "HADM_ID"):
        _remember_links(raw, ctx)

    start_arr, end_arr = col(raw, start_name), col(raw, end_name)
    dates = interval_dates(rep, start_arr, end_arr, ctx, window=False)

    rows = raw.row_numbers.to_pylist()
    pid = texts(raw, fields["patient_id"])
    hadm = texts(raw, "HADM_ID")
    drug = texts(raw, "DRUG")
    generic = texts(raw, "DRUG_NAME_GENERIC")
    product = texts(raw, "PROD_STRENGTH")
    dose = texts(raw, "DOSE_VAL_RX")
    unit = texts(raw, "DOSE_UNIT_RX")
    form_unit = texts(raw, "FORM_UNIT_DISP")
    route = texts(raw, "ROUTE")
    per_day = texts(raw, "DOSES_PER_24_HRS")

    tally = Tally.starting_with(raw.rejected)
    records: list[DoseRecord] = []
    pending: list[tuple[int, str, str, str, str]] = []  # (record index, hadm, product, form unit, dose)
    for i, row in enumerate(rows):
        name = drug[i] or generic[i]
        text = f"{name} ({product[i]})" if product[i] else name
        amount = dose[i].strip()
        tracked = recognise_drug(name) is not None
        if tracked and _is_zero(amount):
            tally.reject(
                row,
                columns["dose"],
                "an order for 0 mg (a held dose or 'Check with MD for Dose'): no dose was given",
                f"{text}: {dose[i]} {unit[i]}".strip(),
            )
            continue
        freq = _frequency(per_day[i])
        records.append(
            DoseRecord(
                row=row,
                patient_id=pid[i],
                drug_text=text,
                **dates.row(i),
                dose=amount,
                dose_unit=unit[i],
                frequency=freq,
                route=_MIMIC_ROUTES.get(route[i].strip().upper(), route[i]),
                columns=columns,
            )
        )
        if tracked:
            pending.append((len(records) - 1, hadm[i], product[i], form_unit[i], amount))
    unknown_freq = sorted(
        {per_day[i] for i in range(len(rows)) if per_day[i] and not _frequency(per_day[i]) and recognise_drug(drug[i])}
    )
    if unknown_freq:
        rep.warn(
            f"doses_per_24_hrs {', '.join(unknown_freq[:6])} is not one of 1-4 per day; "
            "those doses have no frequency and no daily dose"
        )

    absorbed, repeats = _sum_concurrent(records, pending, rep)
    keep = [r for k, r in enumerate(records) if k not in absorbed and k not in repeats]
    table = run_doses(rep, keep, tally)
    for k, into in (*absorbed.items(), *repeats.items()):
        if into in tally.accepted:
            (tally.duplicates.add if k in repeats else tally.accept)(records[k].row)
        else:
            tally.reject(records[k].row, None, f"summed with row {into}, which was rejected", records[k].drug_text)
    when = [t for t in dates.start if t is not None]
    if when:
        _warn_shifted(rep, [min(when), max(when)], ctx.options.as_of)
    return finish(rep, tally, doses=table)


def _is_zero(amount: str) -> bool:
    try:
        return float(amount) == 0
    except ValueError:
        return False


def _frequency(per_day: str) -> str:
    try:
        k = float(per_day)
    except ValueError:
        return ""
    return {1.0: "daily", 2.0: "BID", 3.0: "TID", 4.0: "QID"}.get(k, "")


def _sum_concurrent(
    records: list[DoseRecord], pending: list[tuple[int, str, str, str, str]], rep: FileReport
) -> tuple[dict[int, int], dict[int, int]]:
    """Sum concurrent orders of one drug made of different product strengths.

    Orders of one admission with the same drug, start, end, route and dose unit whose
    products differ (0.5 mg and 1 mg capsules) are one dose: their sum, kept on the
    first order's record.  Returns (record index -> row it was summed into, record
    index -> row it repeats) for the orders folded into another one; a repeat is the
    same product and amount ordered again within such a group.
    """
    groups: dict[tuple, list[tuple[int, str, str, str]]] = {}
    for k, hadm, product, form, amount in pending:
        r = records[k]
        if r.start is None or r.start_error or r.end_error:
            continue
        key = (r.patient_id, hadm, recognise_drug(r.drug_text), r.start, r.end, r.route.strip().lower(), r.dose_unit)
        groups.setdefault(key, []).append((k, normalize(product), normalize(form), amount))
    absorbed: dict[int, int] = {}
    repeats: dict[int, int] = {}
    for members in groups.values():
        if len(members) < 2 or len({p for _k, p, _f, _a in members}) < 2:
            continue
        first = records[members[0][0]]
        label = recognise_drug(first.drug_text) or ""
        forms = sorted({f for _k, _p, f, _a in members})
        if len(forms) > 1:
            rep.warn(
                f"concurrent {label} orders in different forms ({', '.join(forms)}) on "
                f"{first.start:%Y-%m-%d}: kept as separate doses; check the total",
                first.row,
            )
            continue
        try:
            amounts = [float(a) for _k, _p, _f, a in members]
        except ValueError:
            continue
        seen: dict[tuple[str, float], int] = {}
        parts: list[int] = []
        for (k, p, _f, _a), qty in zip(members, amounts, strict=True):
            if (p, qty) in seen:
                repeats[k] = records[seen[(p, qty)]].row
                continue
            seen[(p, qty)] = k
            parts.append(k)
        head = records[parts[0]]
        total = sum(float(records[k].dose) for k in parts)
        summed = " + ".join(f"{records[k].dose} {records[k].dose_unit}" for k in parts)
        products = " + ".join(records[k].drug_text.split(" (", 1)[-1].rstrip(")") for k in parts)
        for k in parts[1:]:
            absorbed[k] = head.row
        for k, into in list(repeats.items()):
            if into in {records[j].row for j in parts[1:]}:
                repeats[k] = head.row
        rows = ", ".join(str(records[k].row) for k in parts)
        head.drug_text = f"{head.drug_text.split(' (')[0]} ({products})"
        head.dose = f"{total:g}"
        rep.warn(
            f"rows {rows}: concurrent {label} orders of one admission ({summed}) read as one dose of "
            f"{total:g} {head.dose_unit}",
            head.row,
        )
    return absorbed, repeats


# --------------------------------------------------------------------------- patients

_TWO_DIGIT_YEAR = re.compile(r"^\d{1,2}/\d{1,2}/\d{2}(\s|$)")


def read_patients(raw: RawTable, rep: FileReport, ctx: Context) -> Parsed | None:
    if not is_mimic_patients(raw):
        return None
    iv = has_columns(raw, "ANCHOR_AGE")
    rep.format = f"{'MIMIC-IV' if iv else 'MIMIC-III'} patients"
    rep.kind = "patients"
    fields = {"patient_id": "SUBJECT_ID", "sex": "GENDER"}
    fields["age" if iv else "birth_date"] = "ANCHOR_AGE" if iv else "DOB"
    used_columns(rep, raw, fields)
    columns = {k: _name(raw, v) for k, v in fields.items()}
    births: list = [None] * raw.num_rows
    birth_err = [""] * raw.num_rows
    if not iv:
        dob = required(raw, "DOB")  # recognised with DOB or ANCHOR_AGE, and this is not ANCHOR_AGE
        decision = decide_dates(rep, [dob], ctx)
        parsed = dates_mod.parse_dates(dob, decision.order, ctx.options.as_of, window=False)
        births = parsed.values.to_pylist()
        birth_err = [e if e != "no date" else "" for e in parsed.reason.to_pylist()]
        # A two-digit year cannot be told: MIMIC shifts every date by its own offset (a
        # birth in "2075" and results in "2144"), so neither 19yy nor 20yy is the year
        # written before the spreadsheet cut it.  The birth date is left unknown, never kept.
        cut = [bool(_TWO_DIGIT_YEAR.match(t)) for t in dob.to_pylist()]
        two = sum(cut)
        if two:
            births = [None if c else b for b, c in zip(births, cut, strict=True)]
            birth_err = ["" if c else e for e, c in zip(birth_err, cut, strict=True)]
            rep.warn(
                f"{two} DOB value(s) have two-digit years (the file was re-saved by a spreadsheet program): "
                "MIMIC birth years are shifted like every MIMIC date, so the century cannot be told; these "
                "birth dates are left unknown (the patients are kept); use the original export"
            )
        old = sum(1 for t in births if t is not None and t.year < 1900)
        if old:
            rep.warn(
                f"{old} DOB value(s) lie before 1900: MIMIC moves the birth date of patients older than 89 "
                "300 years back, so their age is not known beyond 'over 89'"
            )
    else:
        rep.warn("anchor_age is the age in the patient's (shifted) anchor_year, not today's age")
    sexes, ages = texts(raw, "GENDER"), texts(raw, "ANCHOR_AGE")
    records = [
        PatientRecord(
            row=row,
            patient_id=pid,
            sex=sexes[i],
            birth_date=births[i],
            birth_error=birth_err[i],
            age=ages[i] if iv else "",
            columns=columns,
        )
        for i, (row, pid) in enumerate(zip(raw.row_numbers.to_pylist(), texts(raw, "SUBJECT_ID"), strict=True))
    ]
    tally = Tally.starting_with(raw.rejected)
    table = run_patients(rep, records, tally)
    return finish(rep, tally, patients=table)


# --------------------------------------------------------------------------- other MIMIC tables


def read_other_mimic(raw: RawTable, rep: FileReport, ctx: Context) -> Parsed | None:
    """Any other MIMIC table (chartevents, icustays ...) the generic mapping cannot read.

    Only tables with MIMIC's own id columns are claimed, so that a user's own extract
    with a subject_id still gets the column-mapping form.
    """
    if not is_other_mimic(raw) or map_columns(raw.header, ctx.options.mapping).ok:
        return None
    rep.format = "MIMIC table (not used)"
    if has_columns(raw, "HADM_ID"):
        _remember_links(raw, ctx)
    tally = Tally.starting_with(raw.rejected)
    for row in raw.row_numbers.to_pylist():
        tally.reject(
            row,
            None,
            "MIMIC table not used (the dashboard reads labevents, d_labitems, prescriptions, patients and admissions)",
        )
    return finish(rep, tally)
