"""The canonical tables made ready for the rules: integer codes and numpy arrays.

The rules run on the CLI's hot path (a million results), so they work on Arrow and
numpy, not pandas: :func:`prepare` accepts the canonical tables either as
:class:`pyarrow.Table` (the import's output) or as pandas DataFrames (the app's
:class:`~dashboard.dataset.Dataset`) and turns them into :class:`Inputs`:

* patients are integer codes into ``patient_ids`` (sorted);
* times are int64 seconds (whatever the datetime resolution of the input);
* lab results are sorted by analyte, patient and time (each analyte is one slice), and
  only results collected up to the end of the review date are reviewed; those dated
  after it are kept apart (``Inputs.after``) to be counted and listed;
* doses starting after the review date are never in force on it: they are kept apart
  (``Inputs.planned``), for the schedule to say a planned start only.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from dashboard import model
from dashboard.identity import birthday
from dashboard.ordering import packed_order, ranks
from dashboard.rules.data import DAY, NEVER, adult_from_years, draw_severity, worse_direction
from dashboard.units import HB_G_PER_L_PER_MMOL, normalize_unit

A = {a: i for i, a in enumerate(model.ANALYTES)}
DRUGS: tuple[str, ...] = model.drugs()
#: Per drug of DRUGS, what it is tracked for ("immunosuppressant", "glucocorticoid",
#: "interaction" ...: drugs.toml ``tracked_for``), in DRUGS order.
TRACKED = np.array([model.drug_info()[d].tracked_for for d in DRUGS], dtype=object)
D = {d: i for i, d in enumerate(DRUGS)}
_EPOCH = dt.datetime(1970, 1, 1)


@dataclass
class Labs:
    """Lab results in (analyte, patient, time) order."""

    pid: np.ndarray  # int32 patient code
    analyte: np.ndarray  # int8 index into model.ANALYTES
    t: np.ndarray  # int64 seconds
    value: np.ndarray  # float64, canonical unit (a censored result: its bound)
    cmp: np.ndarray  # int8: -1 "<", +1 ">", -2 "<=", +2 ">=", 0 exact (CMP_TEXTS[cmp + 2])
    ref_low: np.ndarray
    ref_high: np.ndarray
    hb_mmol: np.ndarray  # bool: haemoglobin reported in mmol/L
    row: np.ndarray  # int64 row in the labs table given to prepare()
    pos: np.ndarray | None  # rank in (patient, time, analyte name) order; None = same as ``row``
    table: pa.Table  # the labs table given to prepare() (text columns by ``row``)
    bounds: dict[str, tuple[int, int]]  # analyte -> [start, stop) slice
    #: Rows of one draw (same analyte, patient and time) are ordered least severe first,
    #: so the last row of a draw is its most severe value.  None: no draw has two rows.
    draw_last: np.ndarray | None = None  # bool: the row is the last (most severe) of its draw
    conflict: np.ndarray | None = None  # bool: its draw has another, different value
    #: Results of known analytes dated after the review date (not in these arrays).
    n_after: int = 0

    def __len__(self) -> int:
        return len(self.t)

    def draws(self) -> np.ndarray:
        """Boolean per row: the row stands for its draw (one row per analyte, patient, time)."""
        return np.ones(len(self.t), dtype=bool) if self.draw_last is None else self.draw_last

    def conflicting(self) -> np.ndarray:
        """Boolean per row: another row of the same draw holds a different value."""
        return np.zeros(len(self.t), dtype=bool) if self.conflict is None else self.conflict

    def position(self, idx: np.ndarray) -> np.ndarray:
        """Rank of rows ``idx`` in (patient, time, analyte name) order, for listing flags."""
        return (self.row if self.pos is None else self.pos)[idx].astype(np.int64)

    def slice(self, analyte: str) -> slice:
        lo, hi = self.bounds.get(analyte, (0, 0))
        return slice(lo, hi)


@dataclass
class Doses:
    """Dose rows, sorted by patient, drug and start."""

    pid: np.ndarray
    drug: np.ndarray  # index into DRUGS
    start: np.ndarray  # int64 seconds
    end: np.ndarray  # int64 seconds: when the row stops being in force (model.in_force_until); NEVER when ongoing
    dose: np.ndarray
    dose_unit: np.ndarray  # object (str)
    frequency: np.ndarray  # object (str)
    per_day: np.ndarray  # administrations per day (NaN: single / unknown)
    mg_per_day: np.ndarray
    mg_per_week: np.ndarray
    route: np.ndarray  # object (str)
    #: int8: index into model.START_BASES; > 0 where ``start`` is only the day a
    #: statement was recorded or a renewal written, not when the drug started (H540)
    start_basis: np.ndarray | None = None
    #: the end as the row records it (NEVER: none); ``end`` is when the row stops being in
    #: force (``model.in_force_until``: a single administration on its start day only).
    #: Courses (the schedule's, the baselines') reach from the recorded end, as before.
    recorded_end: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.start)

    @property
    def course_end(self) -> np.ndarray:
        """The end a course reaches from (:attr:`recorded_end`)."""
        return self.end if self.recorded_end is None else self.recorded_end


@dataclass
class Inputs:
    """Everything the rules need, as codes and arrays."""

    patient_ids: np.ndarray  # object (str), sorted; index = patient code
    labs: Labs
    doses: Doses
    weight: np.ndarray  # float64 per patient (NaN unknown)
    sex: np.ndarray  # object per patient ("F", "M", "")
    tpmt: np.ndarray  # object per patient (model.PHENOTYPES)
    nudt15: np.ndarray
    diagnosis: np.ndarray  # object per patient
    baseline: np.ndarray  # float64 [patient, analyte]: clinician-set baseline (NaN none)
    baseline_note: np.ndarray  # object [patient, analyte]
    as_of: dt.date
    cutoff: int  # first second after the review date
    #: The results dated after the review date (same patient codes), None when there are none.
    after: Labs | None = None
    #: clinician-set monitoring interval per patient (NaN none) and when it was set
    interval_days: np.ndarray | None = None
    interval_set_at: np.ndarray | None = None
    #: per patient: the date of birth (int64 seconds, NEVER unknown), and the age in
    #: years a source gave instead of a birth date (NaN none)
    born: np.ndarray | None = None
    age_given: np.ndarray | None = None
    #: per patient: the first second the default (adult) limits apply, from the birthday of
    #: ``adult_from_years`` (NEVER for a stated age under it; -NEVER when the age is unknown)
    adult_from: np.ndarray | None = None
    #: per patient: when the weight was measured (int64 seconds, NEVER unknown), said with
    #: every finding that rests on the weight (probe30 F4)
    weight_date: np.ndarray | None = None
    #: dose rows that start after the review date (a planned start or change, as recorded),
    #: None when there are none: never in force on the review date (no dose check, no dose
    #: context), read only by the schedule's planned-start rows (probe39 F8)
    planned: Doses | None = None
    #: per dose row, its course (``schedule.courses``): worked out once per review, where
    #: the dose context, the schedule and the dose checks all read it (never copied by
    #: ``dataclasses.replace``: a copy with other doses works it out again)
    course_rows: dict[str, np.ndarray] | None = field(default=None, init=False, repr=False, compare=False)

    @property
    def n_patients(self) -> int:
        return len(self.patient_ids)

    def pid_text(self, codes: np.ndarray) -> np.ndarray:
        return self.patient_ids[codes]


# --------------------------------------------------------------------------- helpers


def as_table(table: str, data: Any) -> pa.Table:
    """A canonical table as Arrow, whether it came as Arrow, pandas or ``None``
    (dictionary-encoded text stays so: the rules read its codes)."""
    if data is None:
        return model.empty_table(table)
    if isinstance(data, pa.Table):
        return model.conform(table, data, dictionaries=True)
    return model.from_pandas(table, data)


def distinct_texts(col: pa.ChunkedArray) -> pa.Array:
    """The distinct texts of a column (of a dictionary column: its dictionary's)."""
    if pa.types.is_dictionary(col.type):
        arr = col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col
        used = np.bincount(arr.indices.drop_null().to_numpy(zero_copy_only=False), minlength=len(arr.dictionary))
        return pc.unique(arr.dictionary.filter(pa.array(used > 0)))  # not the texts of rows filtered out
    return pc.unique(col.cast(pa.string()))


def text_column(col: pa.ChunkedArray, rows: np.ndarray) -> pa.Array:
    """Rows ``rows`` of a text column as plain text (a dictionary column decoded)."""
    out = col.take(pa.array(rows)).combine_chunks()
    return out.dictionary_decode() if pa.types.is_dictionary(out.type) else out


def codes_in(col: pa.ChunkedArray | pa.Array, values: pa.Array) -> np.ndarray:
    """Per row, the index of its text in ``values`` (-1 when not there), looked up once
    per distinct text through the column's dictionary."""
    arr = col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col
    enc = arr if pa.types.is_dictionary(arr.type) else pc.dictionary_encode(arr)
    mapping = pc.index_in(enc.dictionary, value_set=values).fill_null(-1).to_numpy(zero_copy_only=False)
    mapping = np.append(mapping.astype(np.int64), -1)  # a null row reads -1
    idx = enc.indices.fill_null(len(mapping) - 1) if enc.indices.null_count else enc.indices
    return mapping[idx.to_numpy(zero_copy_only=False)]


def seconds(arr: pa.ChunkedArray | pa.Array) -> np.ndarray:
    """A timestamp column as int64 seconds; NaT (null) becomes NEVER."""
    arr = pc.cast(arr, pa.timestamp("s"), safe=False)  # sub-second precision is not needed
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks() if arr.num_chunks != 1 else arr.chunk(0)
    out = arr.cast(pa.int64()).fill_null(NEVER).to_numpy(zero_copy_only=False)
    return out.astype(np.int64, copy=False)


def floats(arr: pa.ChunkedArray) -> np.ndarray:
    return arr.cast(pa.float64()).fill_null(np.nan).to_numpy(zero_copy_only=False)


def texts(arr: pa.ChunkedArray) -> np.ndarray:
    return np.asarray(arr.fill_null("").to_pylist(), dtype=object)


def day_seconds(day: dt.date) -> int:
    return int((dt.datetime(day.year, day.month, day.day) - _EPOCH).total_seconds())


def to_date(sec: int) -> dt.date:
    return (_EPOCH + dt.timedelta(seconds=int(sec))).date()


def codes_of(col: pa.ChunkedArray, ids: pa.Array) -> np.ndarray:
    """Patient codes of a column against the sorted id list."""
    idx = pc.index_in(col, value_set=ids)
    return idx.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64, copy=False)


_EVERY = re.compile(r"every (\d+) (weeks|days)")


def per_day(frequency: str) -> float:
    """Administrations per day of a canonical frequency (NaN for single/unknown)."""
    fixed = {"daily": 1.0, "BID": 2.0, "TID": 3.0, "QID": 4.0, "weekly": 1 / 7, "monthly": 12 / 365.25}
    if frequency in fixed:
        return fixed[frequency]
    m = _EVERY.fullmatch(frequency)
    if m:
        n = int(m.group(1))
        return 1 / (7 * n) if m.group(2) == "weeks" else 1 / n
    return float("nan")


def course_gap(per_day: np.ndarray) -> np.ndarray:
    """Per dose row, how long (seconds) after it ends the drug's next row may start and
    still continue the same course: the row's own dosing interval as its frequency states
    it (weekly 7 days, every 2 weeks 14, monthly 31: the longest month), at least one day
    (a daily or more frequent row, a single dose, an unknown frequency).  A weekly drug
    moved from mouth to injection with the next weekly dose is one course (probe32 F2);
    the schedule's courses and the baselines' share this rule (:func:`course_breaks`)."""
    per_day = np.asarray(per_day, dtype=float)
    slow = np.isfinite(per_day) & (per_day > 0) & (per_day < 1)
    days = np.ceil(np.divide(1.0, per_day, out=np.ones(len(per_day)), where=slow) - 1e-9)
    return (np.maximum(days, 1) * DAY).astype(np.int64)


def date_texts(sec: np.ndarray) -> np.ndarray:
    """Times (int64 seconds) as their dates' texts, "2026-06-02" (object array)."""
    return np.datetime_as_string((np.asarray(sec) // DAY).astype("datetime64[D]")).astype(object)


def course_breaks(pid: np.ndarray, start: np.ndarray, reach_by: np.ndarray) -> np.ndarray:
    """Per dose row (sorted by patient, then start): it begins a new course, the patient's
    first row or one starting later than every earlier row's ``reach_by`` (its end plus
    :func:`course_gap`).  The one course split of the schedule and the baselines."""
    reach = np.maximum.accumulate(pair_key(pid, reach_by))  # the latest so far (a patient's in its bits)
    before = np.r_[np.iinfo(np.int64).min, reach[:-1]]
    return group_starts(pid) | (pair_key(pid, start) > before)


def group_starts(*keys: np.ndarray) -> np.ndarray:
    """Boolean: the row starts a new group of equal keys (rows sorted by the keys)."""
    n = len(keys[0])
    new = np.zeros(n, dtype=bool)
    if n:
        new[0] = True
        for k in keys:
            new[1:] |= k[1:] != k[:-1]
    return new


def pair_key(pid: np.ndarray, t: np.ndarray) -> np.ndarray:
    """One sortable int64 per (patient, time): patient in the high bits, time below.

    Times are seconds in [-2**40, 2**40) (about +-34,800 years around 1970); NEVER is
    clipped to the top of that range so it still sorts last.
    """
    span = np.int64(2**41)
    tt = np.clip(t, -(2**40), 2**40 - 1) + 2**40
    return pid.astype(np.int64) * span + tt


# --------------------------------------------------------------------------- prepare


def prepare(
    labs: Any,
    doses: Any = None,
    patients: Any = None,
    baselines: Any = None,
    as_of: dt.date | None = None,
    intervals: Any = None,
) -> Inputs:
    """Turn the canonical tables (Arrow or pandas) into :class:`Inputs` for the rules."""
    as_of = as_of or dt.date.today()
    cutoff = day_seconds(as_of) + DAY
    lt = as_table("labs", labs)
    dtb = as_table("doses", doses)
    ptb = as_table("patients", patients)
    btb = as_table("baselines", baselines)

    id_parts = [distinct_texts(t.column("patient_id")) for t in (lt, dtb, ptb, btb) if t.num_rows]
    if id_parts:
        ids = pc.unique(pa.chunked_array(id_parts, pa.string()))
        ids = ids.take(pc.sort_indices(ids))
    else:
        ids = pa.array([], pa.string())
    n = len(ids)
    patient_ids = np.asarray(ids.to_pylist(), dtype=object)

    lab = _prepare_labs(lt, ids, cutoff)
    after = _prepare_labs(lt, ids, cutoff, after=True) if lab.n_after else None
    dose, planned = _prepare_doses(dtb, ids, cutoff)

    weight = np.full(n, np.nan)
    sex = np.full(n, "", dtype=object)
    tpmt = np.full(n, "unknown", dtype=object)
    nudt15 = np.full(n, "unknown", dtype=object)
    diagnosis = np.full(n, "", dtype=object)
    born = np.full(n, NEVER, dtype=np.int64)
    age_given = np.full(n, np.nan)
    weighed = np.full(n, NEVER, dtype=np.int64)
    if ptb.num_rows:
        code = codes_of(ptb.column("patient_id"), ids)
        weight[code] = floats(ptb.column("weight_kg"))
        sex[code] = texts(ptb.column("sex"))
        tp = texts(ptb.column("tpmt"))
        nu = texts(ptb.column("nudt15"))
        tpmt[code] = np.where(tp == "", "unknown", tp)
        nudt15[code] = np.where(nu == "", "unknown", nu)
        diagnosis[code] = texts(ptb.column("diagnosis"))
        born[code] = seconds(ptb.column("birth_date"))
        age_given[code] = floats(ptb.column("age"))
        weighed[code] = seconds(ptb.column("weight_date"))

    baseline = np.full((n, len(model.ANALYTES)), np.nan)
    note = np.full((n, len(model.ANALYTES)), "", dtype=object)
    if btb.num_rows:
        set_at = seconds(btb.column("set_at"))
        order = np.argsort(np.where(set_at == NEVER, -NEVER, set_at), kind="stable")  # the latest wins
        code = codes_of(btb.column("patient_id"), ids)[order]
        ana = np.array([A.get(a, -1) for a in btb.column("analyte").to_pylist()], dtype=np.int64)[order]
        val = floats(btb.column("value"))[order]
        txt = texts(btb.column("note"))[order]
        ok = (ana >= 0) & np.isfinite(val) & (val > 0)
        baseline[code[ok], ana[ok]] = val[ok]
        note[code[ok], ana[ok]] = txt[ok]

    interval_days = np.full(n, np.nan)
    interval_set_at = np.full(n, NEVER, dtype=np.int64)
    itb = as_table("intervals", intervals)
    if itb.num_rows and n:
        set_at = seconds(itb.column("set_at"))
        keep = set_at < cutoff  # a setting made after the review date is not in force on it
        order = np.argsort(np.where(set_at == NEVER, -NEVER, set_at), kind="stable")  # the latest wins
        order = order[keep[order]]
        known = np.isin(np.asarray(itb.column("patient_id").to_pylist(), dtype=object), patient_ids)
        order = order[known[order]]
        if len(order):
            code = codes_of(itb.column("patient_id").take(pa.array(order)), ids)
            days = floats(itb.column("interval_days"))[order]
            interval_days[code] = np.where(days > 0, days, np.nan)
            interval_set_at[code] = set_at[order]

    return Inputs(
        patient_ids,
        lab,
        dose,
        weight,
        sex,
        tpmt,
        nudt15,
        diagnosis,
        baseline,
        note,
        as_of,
        cutoff,
        after,
        interval_days,
        interval_set_at,
        born,
        age_given,
        _adult_from(born, age_given),
        weighed,
        planned,
    )


def _adult_from(born: np.ndarray, age_given: np.ndarray) -> np.ndarray:
    """:attr:`Inputs.adult_from`: one birthday per patient whose birth date is known."""
    years = adult_from_years()
    out = np.full(len(born), -NEVER, dtype=np.int64)
    for p in np.flatnonzero(born != NEVER):
        out[p] = day_seconds(birthday(to_date(int(born[p])), years))
    with np.errstate(invalid="ignore"):
        out[(born == NEVER) & (age_given < years)] = NEVER
    return out


#: Alphabetical rank of each analyte: flags are listed by patient, time and analyte name.
ALPHA_RANK = np.argsort(np.argsort(np.asarray(model.ANALYTES)))


def _float_column(col: pa.ChunkedArray, rows: np.ndarray) -> np.ndarray:
    """A float column in ``rows`` order; an all-NaN column costs no memory (read-only)."""
    arr = floats(col)
    if np.isnan(arr).all():
        return np.broadcast_to(np.float64(np.nan), (len(rows),))
    return arr[rows]


_ANALYTE_VALUES = pa.array(model.ANALYTES, pa.string())
#: The comparator codes of :attr:`Labs.cmp`, each at ``code + 2``: the sign is the side
#: the true value lies on; 1 is strict ("<0.5"), 2 inclusive ("<=50": 50 itself possible).
CMP_TEXTS: tuple[str, ...] = ("<=", "<", "", ">", ">=")
#: The same texts as an Arrow array (looked up in, and taken from, by code + 2).
CMP_VALUES = pa.array(CMP_TEXTS, pa.string())
#: How far beyond its bound a comparator puts a value, to order a draw's rows by severity
#: ("<0.5" beyond "<=0.5" beyond an exact 0.5), by ``code + 2``.
_CMP_REACH = np.array([-0.5, -1.0, 0.0, 1.0, 0.5])


def comparator_texts(cmp: np.ndarray) -> np.ndarray:
    """The comparator text of each code of :attr:`Labs.cmp` (an object array)."""
    return np.asarray(CMP_TEXTS, dtype=object)[np.asarray(cmp, dtype=np.int64) + 2]


def strict(cmp: np.ndarray) -> np.ndarray:
    """Censored with a strict comparator ("<", ">"): the bound itself is excluded."""
    return np.abs(cmp) == 1


def _prepare_labs(lt: pa.Table, ids: pa.Array, cutoff: int, after: bool = False) -> Labs:
    """The results up to the review date (``after``: those dated after it instead)."""
    analyte = codes_in(lt.column("analyte"), _ANALYTE_VALUES).astype(np.int8)
    t = seconds(lt.column("collected_at"))
    pid = codes_in(lt.column("patient_id"), ids).astype(np.int32)
    later = (t >= cutoff) & (t < NEVER)
    keep = (analyte >= 0) & (later if after else t < cutoff)
    n_after = 0 if after else int(np.count_nonzero(later & (analyte >= 0)))
    rows = None if keep.all() else np.flatnonzero(keep)
    if rows is not None:
        analyte, t, pid = analyte[rows], t[rows], pid[rows]
    t = _date_only_joins_its_day(pid, analyte, t)
    # One stable sort of a packed (patient, time, analyte name) key: the order flags are
    # listed in (usually the file's own order already: then no sort at all) ...
    by_time = packed_order(pid, t, ALPHA_RANK[analyte])
    pos = ranks(by_time, len(t))
    # ... and from it each analyte as one slice by patient and time (a stable counting
    # sort of the analyte code keeps that order within each analyte)
    order = np.argsort(analyte if by_time is None else analyte[by_time], kind="stable")
    if by_time is not None:
        order = by_time[order]
    analyte, t, pid = analyte[order], t[order], pid[order]
    src_rows = order if rows is None else rows[order]
    value = floats(lt.column("value"))[src_rows]
    cmp = np.zeros(len(src_rows), dtype=np.int8)
    cmp_idx = codes_in(lt.column("comparator"), CMP_VALUES)
    if (cmp_idx >= 0).any():
        cmp_idx = cmp_idx[src_rows]
        cmp = np.where(cmp_idx >= 0, cmp_idx - 2, 0).astype(np.int8)
    draw_last = conflict = None
    if len(t) > 1:
        same = (analyte[1:] == analyte[:-1]) & (pid[1:] == pid[:-1]) & (t[1:] == t[:-1])
        if same.any():
            # two rows of one draw: the least severe first, so the latest row of a
            # series is the draw's most severe value (file order never decides); only
            # the rows of such draws (few) are reordered
            direction = np.array([worse_direction().get(a, 1) for a in model.ANALYTES], dtype=np.float64)
            in_draw = np.flatnonzero(np.r_[same, False] | np.r_[False, same])
            draw_no = np.cumsum(np.r_[True, ~same])[in_draw]
            worse = direction[analyte[in_draw]]
            units = lt.column("source_unit").take(pa.array(src_rows[in_draw])).to_pylist()
            severity = draw_severity(np.asarray(model.ANALYTES)[analyte[in_draw]], value[in_draw], units)
            reach = _CMP_REACH[cmp[in_draw] + 2]
            o3 = np.lexsort((worse * reach, severity, draw_no))  # ("<0.5" is worse than 0.5)
            perm = np.arange(len(t))
            perm[in_draw] = in_draw[o3]
            order, src_rows, analyte, t, pid = order[perm], src_rows[perm], analyte[perm], t[perm], pid[perm]
            value, cmp = value[perm], cmp[perm]
            first = group_starts(analyte, pid, t)
            draw_last = np.r_[first[1:], True]
            # a draw whose rows differ in value, or "<0.5" beside 0.5
            starts = np.flatnonzero(np.r_[True, draw_no[1:] != draw_no[:-1]])
            conflict = np.zeros(len(t), dtype=bool)
            for col in (value, cmp):
                sub = col[in_draw].astype(np.float64)
                differs = np.maximum.reduceat(sub, starts) > np.minimum.reduceat(sub, starts)
                conflict[in_draw] |= np.repeat(differs, np.diff(np.r_[starts, len(in_draw)]))
    if pos is not None:
        pos = pos[order]
    bounds: dict[str, tuple[int, int]] = {}
    starts = np.searchsorted(analyte, np.arange(len(model.ANALYTES) + 1))
    for i, a in enumerate(model.ANALYTES):
        if starts[i + 1] > starts[i]:
            bounds[a] = (int(starts[i]), int(starts[i + 1]))
    hb_mmol = np.zeros(len(src_rows), dtype=bool)
    if "hemoglobin" in bounds:
        lo, hi = bounds["hemoglobin"]
        units = lt.column("source_unit").take(pa.array(src_rows[lo:hi])).combine_chunks()
        units = units if pa.types.is_dictionary(units.type) else units.dictionary_encode()
        is_mmol = np.array([normalize_unit(u) == "mmol/l" for u in units.dictionary.to_pylist()], dtype=bool)
        if is_mmol.any():
            hb_mmol[lo:hi] = is_mmol[units.indices.to_numpy(zero_copy_only=False)]
    return Labs(
        pid=pid,
        analyte=analyte,
        t=t,
        value=value,
        cmp=cmp,
        ref_low=_float_column(lt.column("ref_low"), src_rows),
        ref_high=_float_column(lt.column("ref_high"), src_rows),
        hb_mmol=hb_mmol,
        row=src_rows,
        pos=pos,
        table=lt,
        bounds=bounds,
        draw_last=draw_last,
        conflict=conflict,
        n_after=n_after,
    )


def _date_only_joins_its_day(pid: np.ndarray, analyte: np.ndarray, t: np.ndarray) -> np.ndarray:
    """A result without a time of day (stored at 00:00, docs/data-model.md) on a day that
    also has a timed result of the same analyte for the patient: which was drawn last is
    unknown, so it joins the day's latest timed draw (one draw of two results: the more
    severe counts and its flags say the draw has conflicting results).  Left at 00:00 it
    would always sort first, and a normal timed repeat would silently close its flag."""
    midnight = (t % DAY == 0) & (t < NEVER)
    if not midnight.any() or midnight.all():
        return t
    day = t // DAY
    key = (pid.astype(np.int64) * 128 + analyte) * 2**21 + (day + 2**20)
    timed = np.flatnonzero(~midnight & (t < NEVER))
    o = timed[np.lexsort((t[timed], key[timed]))]
    last = np.r_[key[o][1:] != key[o][:-1], True]
    keys, latest = key[o][last], t[o][last]  # per patient, analyte and day: the latest timed draw
    m = np.flatnonzero(midnight)
    at = np.minimum(np.searchsorted(keys, key[m]), len(keys) - 1)
    found = keys[at] == key[m]
    if not found.any():
        return t
    t = t.copy()
    t[m[found]] = latest[at[found]]
    return t


def hb_as_reported(value: np.ndarray) -> np.ndarray:
    """Haemoglobin in mmol/L as the lab reported it, from the canonical g/L."""
    return np.round(value / HB_G_PER_L_PER_MMOL, 9)


def _prepare_doses(dtb: pa.Table, ids: pa.Array, cutoff: int) -> tuple[Doses, Doses | None]:
    """The dose rows that start by the review date, and those that start after it
    (:attr:`Inputs.planned`; None when there are none)."""
    drug = np.array([D.get(d, -1) for d in dtb.column("drug").to_pylist()], dtype=np.int64)
    start = seconds(dtb.column("start"))
    known = (drug >= 0) & (start != NEVER)
    pid = codes_of(dtb.column("patient_id"), ids)
    later = known & (start >= cutoff)
    planned = _dose_rows(dtb, pid, drug, start, np.flatnonzero(later)) if later.any() else None
    return _dose_rows(dtb, pid, drug, start, np.flatnonzero(known & (start < cutoff))), planned


def _dose_rows(dtb: pa.Table, pid: np.ndarray, drug: np.ndarray, start: np.ndarray, rows: np.ndarray) -> Doses:
    """:class:`Doses` of the table's rows ``rows``, sorted by patient, drug and start."""
    order = np.lexsort((start[rows], drug[rows], pid[rows]))
    rows = rows[order]
    take = pa.array(rows, pa.int64())
    sub = dtb.take(take)
    freq = texts(sub.column("frequency"))
    cache: dict[str, float] = {}
    per = np.array([cache.setdefault(f, per_day(f)) for f in freq], dtype=float)
    recorded_end = seconds(sub.column("end"))
    return Doses(
        pid=pid[rows],
        drug=drug[rows],
        start=start[rows],
        end=model.in_force_until(start[rows], recorded_end, freq),
        dose=floats(sub.column("dose")),
        dose_unit=texts(sub.column("dose_unit")),
        frequency=freq,
        per_day=per,
        mg_per_day=floats(sub.column("mg_per_day")),
        mg_per_week=floats(sub.column("mg_per_week")),
        route=texts(sub.column("route")),
        start_basis=np.maximum(codes_in(sub.column("start_basis"), pa.array(model.START_BASES)), 0).astype(np.int8),
        recorded_end=recorded_end,
    )


def same_patient_pairs(pid_a: np.ndarray, pid_b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Every (i, j) with pid_a[i] == pid_b[j]; ``pid_b`` must be sorted."""
    lo = np.searchsorted(pid_b, pid_a, side="left")
    hi = np.searchsorted(pid_b, pid_a, side="right")
    count = hi - lo
    i = np.repeat(np.arange(len(pid_a)), count)
    j = np.repeat(lo, count) + (np.arange(int(count.sum())) - np.repeat(np.cumsum(count) - count, count))
    return i, j
