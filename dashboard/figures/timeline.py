"""The patient timeline: blood results stacked under the dose lanes, on one time axis.

A pure function of the canonical tables of one patient and the review of them:

* top: one lane per drug, a step line of the daily dose (weekly drugs per week; a lane
  holding both is drawn per week throughout, a daily dose at its weekly total, and says
  so; a dose in mg/kg at its mg at the known weight), labelled with the dose at a few changes spaced so that no two labels overlap (a
  taper is read from its line; every step is in the hover); IV pulses as markers with
  their dose on hover;
* below: one panel per analyte with the reference range as a shaded band, the active
  guideline limit as a dashed line, the results coloured *and* shaped by CTCAE grade
  (Okabe-Ito palette; censored results as open markers at their bound), and the time
  a flag was open as a thin bar along the foot of the panel (it never covers the data);
* dotted vertical lines at every dose start, change and stop, across all panels.

Every hover gives the date, the value with its unit (and the value as reported when it
was converted), the grade, the rules that fired with their source and the doses in
force.  Text that comes from a file is escaped before it reaches a hover.
"""

from __future__ import annotations

import datetime as dt
import html
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ParamSpec

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from dashboard import model
from dashboard.figures import OKABE_ITO, rgba, word_lines
from dashboard.rules.context import covered_spans, describe_dose, merged_spans, total_text
from dashboard.rules.ctcae import grade_text
from dashboard.rules.data import DAY, NEVER, ranges_file
from dashboard.rules.dose_checks import mg_at_weight
from dashboard.rules.dose_totals import KINDS, amount_texts, in_force_together, schedule_kind
from dashboard.rules.engine import Profile
from dashboard.rules.inputs import per_day as per_day_of
from dashboard.rules.schedule import pulse_times
from dashboard.units import display_factor, display_text, display_unit, normalize_unit, resolve_unit, round_sig

P = ParamSpec("P")

#: Analytes shown by default, in this order (others on demand): the counts, the liver
#: tests, and a creatinine clearance, which a record holds only where one was measured or
#: worked out for a renal dose decision (the methotrexate limit is stated in it, H412).
DEFAULT_ANALYTES: tuple[str, ...] = (
    "wbc",
    "neutrophils",
    "lymphocytes",
    "hemoglobin",
    "platelets",
    "mcv",
    "alt",
    "ast",
    "crcl",
)

#: A result dated after the as-of date: not reviewed, so not graded on the chart either
#: (the page lists it, with its grade, above the chart); a grey ring, never a "grade 0" dot.
AFTER_AS_OF = -2
#: CTCAE grade -> (colour, marker symbol, legend label).  Okabe-Ito colours; the shape
#: alone also tells the grade, so the chart reads in grey scale and for colour-blind eyes.
GRADE_STYLE: dict[int, tuple[str, str, str]] = {
    AFTER_AS_OF: ("#7f7f7f", "circle-open-dot", "after the as-of date (not reviewed)"),
    -1: (OKABE_ITO["blue"], "circle", "grade 0 / not graded"),
    0: (OKABE_ITO["blue"], "circle", "grade 0 / not graded"),
    1: (OKABE_ITO["orange"], "square", "grade 1"),
    2: (OKABE_ITO["vermillion"], "diamond", "grade 2"),
    3: (OKABE_ITO["reddish_purple"], "triangle-down", "grade 3"),
    4: (OKABE_ITO["black"], "x", "grade 4"),
}
#: Shading of the time a flag was open, by severity.
SEVERITY_FILL = {
    "info": OKABE_ITO["sky_blue"],
    "caution": OKABE_ITO["orange"],
    "action": OKABE_ITO["vermillion"],
    "urgent": OKABE_ITO["reddish_purple"],
}
#: Lane colours of the drugs (Okabe-Ito, cycled).
DRUG_COLOURS = tuple(
    OKABE_ITO[c]
    for c in ("blue", "bluish_green", "vermillion", "reddish_purple", "orange", "sky_blue", "black", "yellow")
)
REFERENCE_FILL = rgba(OKABE_ITO["bluish_green"], 0.10)
LIMIT_COLOUR = OKABE_ITO["vermillion"]
#: A flag episode: a bar this high (fraction of its panel) along the foot of the panel.
EPISODE_BAR = 0.06
EPISODE_OPACITY = 0.55
#: Dose labels of a lane: each starts after the previous one ends, its width estimated at
#: LABEL_CHAR_PX per character on a plot at least LABEL_PLOT_PX wide (the Patient page at
#: 1400 px); at most MAX_LABELS per lane.  Labels never overlap; every step is in the hover.
LABEL_CHAR_PX = 5.6
LABEL_PAD_PX = 8
LABEL_PLOT_PX = 620
MAX_LABELS = 8
#: Right margin (px) holding the guideline limit labels ("< 1.6" over "BSR 2017").
LIMIT_MARGIN = 120
#: a reference id in a source ("[bsr2017]"), left out of the short label
_REF_ID = re.compile(r"\s*\[\w+\]")
WINDOWS = {"3 months": 91, "6 months": 182, "1 year": 365, "All": 0}

_DAILY = ("daily", "BID", "TID", "QID")


@dataclass(frozen=True)
class TimelineOptions:
    """How to draw the timeline."""

    analytes: tuple[str, ...] = ()  # () = the default analytes the patient has results for
    system: str = "SI"  # "SI" or "US"
    window: str = "All"  # a key of WINDOWS
    as_of: dt.date | None = None


def analytes_present(labs: pd.DataFrame, wanted: Sequence[str] = ()) -> list[str]:
    """The analytes to draw: ``wanted`` (in model order), or the default ones present."""
    have = set(labs["analyte"].unique())
    chosen = wanted or DEFAULT_ANALYTES
    return [a for a in model.ANALYTES if a in chosen and a in have]


def timeline_spec(
    labs: pd.DataFrame,
    doses: pd.DataFrame,
    flags: pd.DataFrame,
    intervals: pd.DataFrame,
    profile: Profile,
    patient: pd.Series | None = None,
    options: TimelineOptions | None = None,
    after: pd.DataFrame | None = None,
) -> dict[str, Any]:
    """The timeline of one patient in plotly's dict form (all frames already restricted to
    that patient): what ``timeline_figure(...).to_dict()`` gives (tested), without building
    the figure object and deep-copying it back (the Patient page draws it on every switch).
    ``after``: the review's results after the as-of date (``Review.after_as_of_df()``),
    whose CTCAE grade, for information, their hover gives (probe43 F10)."""
    options = options or TimelineOptions()
    analytes = analytes_present(labs, options.analytes)
    weight = float(patient["weight_kg"]) if patient is not None and pd.notna(patient.get("weight_kg")) else float("nan")
    sex = str(patient["sex"]) if patient is not None else ""
    as_of = pd.Timestamp(options.as_of) if options.as_of else _latest(labs, doses)
    lanes = _dose_lanes(doses, as_of, weight)

    rows = 1 + len(analytes)
    lane_height = max(1, len(lanes))
    heights = [0.6 + 0.35 * lane_height] + [1.0] * len(analytes)
    titles = ["Doses"] + [f"{model.analyte_label(a)} ({display_unit(a, options.system)})" for a in analytes]
    # The figure is assembled as plain dicts and validated once: plotly's add_trace /
    # add_shape re-validate the whole figure on every call (slow for a live page).
    canvas = _Canvas()
    start, end = _window(labs, doses, options.window, as_of)
    # results after the as-of date (the page lists them, not reviewed): drawn apart, with
    # the as-of date marked, never off the edge of the chart
    later = as_of.normalize() + pd.Timedelta(days=1) if options.as_of else None
    _draw_doses(canvas, lanes, weight, start, end, as_of)
    seen: set[tuple[str, bool]] = set()
    # plain records, split once: row access on pandas objects in a loop costs more than the figure
    hover = _HoverContext.build(flags, doses, weight, options.system)
    hover.later = later
    hover.as_of = as_of
    if after is not None and len(after):
        for r in _records(after, ("analyte", "collected_at", "value", "comparator", "ctcae_grade")):
            if pd.notna(r["ctcae_grade"]):
                hover.later_grade[_result_key(r["analyte"], r)] = int(r["ctcae_grade"])
    # the results of the analytes drawn, in time order, as records split by analyte
    shown = labs[labs["analyte"].isin(analytes)].sort_values("collected_at", kind="stable")
    by_analyte: dict[str, list[dict]] = {a: [] for a in analytes}
    flag_column = ("source_flag",) if "source_flag" in shown else ()  # the lab's own flag (H484)
    for r in _records(shown, ("analyte", *_RESULT_COLUMNS, *flag_column)):
        by_analyte[r["analyte"]].append(r)
    covered = _covered(doses, profile)
    # the margin "All" leaves before the first dose is no time off the drugs: a line from
    # the first dose on is drawn over the whole period of the record
    treated = doses["start"].min() if len(doses) and doses["start"].notna().any() else start
    iv_by = dict(tuple(intervals.groupby("analyte", sort=False, observed=True))) if len(intervals) else {}
    # a limit written for one drug (SPS mercaptopurine's neutrophils < 2) is drawn only
    # while the patient is on that drug
    taken = _on_drug(doses)
    for i, analyte in enumerate(analytes, start=2):
        results = by_analyte[analyte]
        _draw_results(canvas, i, analyte, results, hover, seen, later)
        _draw_reference(canvas, i, analyte, results, sex, options.system)
        _draw_limits(canvas, i, analyte, profile, options.system, covered, (max(start, treated), end), taken)
        _draw_intervals(canvas, i, iv_by.get(analyte, intervals.iloc[:0]), as_of)
        _say_outside(canvas, i, analyte, results, hover, start, end)
    _draw_dose_changes(canvas, doses)
    if later is not None and len(shown) and shown["collected_at"].max() >= later:
        _draw_as_of(canvas, as_of)

    layout = _stacked_layout(heights, titles, 0.035 if rows < 6 else 0.025, [start, end], canvas)
    height = int(150 + 55 * lane_height + 165 * len(analytes))
    layout.update(
        height=height,
        # wide enough for the longest drug name ("Mycophenolate mofetil"); computed rather
        # than plotly's automargin, which costs the browser a second layout pass per draw
        margin={
            "l": max(70, 12 + 7 * max((len(ln.label) for ln in lanes), default=0)),
            "r": LIMIT_MARGIN,  # the guideline limits are labelled here, beside the plot
            "t": 60,
            "b": 40,
        },
        hovermode="closest",
        legend={
            "orientation": "h",
            "yanchor": "bottom",
            # a fixed 26 px above the plots, clear of the first panel's title whatever the
            # figure's height (a fraction of a short figure put it on that title)
            "y": 1.0 + 26 / max(height - 100, 1),
            "xanchor": "left",
            "x": 0,
            "title": {"text": "CTCAE:"},
        },
        plot_bgcolor="white",
        paper_bgcolor="white",
        font={"size": 12},
        shapes=canvas.shapes,
    )
    template = go.Figure().to_dict()["layout"].get("template")  # the default a Figure adds
    return {"data": canvas.data, "layout": {**layout, "template": template} if template is not None else layout}


def _as_figure(spec: Callable[P, dict[str, Any]]) -> Callable[P, go.Figure]:
    """The figure of a function that gives a figure's dict form, with the same arguments."""

    def figure(*args: P.args, **kwargs: P.kwargs) -> go.Figure:
        # assembled from known-good dicts: plotly's per-property validation is skipped here
        # (it costs more than building the figure) and run strictly in the tests instead
        return go.Figure(spec(*args, **kwargs), _validate=False)

    return figure


#: The timeline of one patient as a figure (the arguments of :func:`timeline_spec`); one
#: period selector, the page's: the figure has no range buttons of its own.
timeline_figure = _as_figure(timeline_spec)


def _stacked_layout(heights: list[float], titles: list[str], spacing: float, x_range: list, canvas: _Canvas) -> dict:
    """Rows stacked on one shared time axis (what make_subplots(shared_xaxes=True) builds)."""
    n = len(heights)
    usable = 1.0 - spacing * (n - 1)
    total = sum(heights)
    layout: dict = {}
    top = 1.0
    for k, h in enumerate(heights, start=1):
        size = usable * h / total
        bottom = max(0.0, top - size)
        x, y = _axes(k)
        xname, yname = ("xaxis", "yaxis") if k == 1 else (f"xaxis{k}", f"yaxis{k}")
        layout[xname] = {
            "anchor": y,
            "domain": [0.0, 1.0],
            "type": "date",  # not inferred: a lane without doses has no dates of its own
            "range": x_range,
            "showticklabels": k == n,
            "showgrid": True,
            "gridcolor": "#eeeeee",
            "showline": True,
            "linecolor": "#999999",
            **({"matches": "x"} if k > 1 else {}),
        }
        layout[yname] = {
            "anchor": x,
            "domain": [bottom, top],
            "showgrid": True,
            "gridcolor": "#f2f2f2",
            "zeroline": False,
            "automargin": False,  # the left margin is computed (see timeline_figure)
            **canvas.axes.get(k, {}),
        }
        canvas.annotations.insert(
            k - 1,
            {
                "text": titles[k - 1],
                "x": 0.5,
                "xref": "paper",
                "xanchor": "center",
                "y": top,
                "yref": "paper",
                "yanchor": "bottom",
                "showarrow": False,
                "font": {"size": 14},
            },
        )
        top = bottom - spacing
    layout["annotations"] = canvas.annotations
    return layout


@dataclass
class _Canvas:
    """The figure being drawn, in plotly's dict form: traces, shapes, annotations and
    per-row axis settings."""

    data: list[dict] = field(default_factory=list)
    shapes: list[dict] = field(default_factory=list)
    annotations: list[dict] = field(default_factory=list)
    axes: dict[int, dict] = field(default_factory=dict)

    def add(self, trace: dict, row: int) -> None:
        x, y = _axes(row)
        self.data.append({"type": "scatter", "xaxis": x, "yaxis": y, **trace})


def _axes(row: int) -> tuple[str, str]:
    return ("x", "y") if row == 1 else (f"x{row}", f"y{row}")


# --------------------------------------------------------------------------- doses


@dataclass
class _Lane:
    drug: str
    label: str
    steps: pd.DataFrame  # start, end, dose, dose_unit, frequency, mg_per_day, route, source
    pulsed: bool  # every row is a pulse (markers only, no step line)
    rows: list[dict] = field(default_factory=list)  # the steps as plain records, in order
    kinds: list[str] = field(default_factory=list)  # per row: dose_totals.schedule_kind


def _records(frame: pd.DataFrame, columns: Sequence[str] | None = None) -> list[dict]:
    """The rows of ``frame`` as dicts of Python scalars (what ``to_dict("records")``
    gives), built from whole columns: row access on pandas objects in a loop, or
    ``to_dict``'s per-value boxing, cost more than drawing the figure."""
    names = list(frame.columns if columns is None else columns)
    return [dict(zip(names, values, strict=True)) for values in zip(*(frame[c].tolist() for c in names), strict=True)]


def _dose_lanes(doses: pd.DataFrame, as_of: pd.Timestamp, weight: float = float("nan")) -> list[_Lane]:
    """One lane per drug, its rows as records by start.  Each record also holds the amount
    the lane draws (``drawn_day``, ``drawn_week``): a dose in mg/kg turned into mg at the
    known weight as the dose checks turn it (``dose_checks.mg_at_weight``; ``by_weight``
    marks it), never left on the lane floor below a smaller dose (probe43 F9)."""
    info = model.drug_info()
    order = {"immunosuppressant": 0, "glucocorticoid": 1, "interaction": 2, "background": 3}
    lanes = []
    for drug, part in doses.groupby("drug", sort=False):
        part = part.sort_values("start", kind="stable")
        rows = _records(part)
        mg_day, mg_week, by_weight = mg_at_weight(
            part["dose"].to_numpy(float),
            np.array([per_day_of(str(r["frequency"])) for r in rows], dtype=float),
            part["dose_unit"].to_numpy(object),
            np.full(len(rows), weight),
            part["mg_per_day"].to_numpy(float),
            part["mg_per_week"].to_numpy(float),
        )
        for r, day, week, kg in zip(rows, mg_day.tolist(), mg_week.tolist(), by_weight.tolist(), strict=True):
            r.update(drawn_day=day, drawn_week=week, by_weight=kg)
        # the rules' reading of a row: a pulse, or a daily or weekly dose that adds up
        # with the others of its kind in force with it (rules/dose_totals.py)
        kinds = [schedule_kind(str(drug), str(r["frequency"]), str(r["route"])) for r in rows]
        lanes.append(
            _Lane(
                drug=str(drug),
                label=model.drug_label(str(drug)),
                steps=part,
                pulsed=bool(rows) and all(k == "pulse" for k in kinds),
                rows=rows,
                kinds=kinds,
            )
        )
    lanes.sort(key=lambda ln: (order.get(info[ln.drug].tracked_for if ln.drug in info else "", 9), ln.label))
    return lanes


@dataclass(frozen=True)
class _Step:
    """An interval ``[start, end)`` of a lane during which one set of its daily (or weekly)
    rows is in force together (``dose_totals.in_force_together``), drawn at their total."""

    start: pd.Timestamp
    end: pd.Timestamp | None  # None: ongoing
    total: float  # the sum of the rows' known amounts (NaN: none known)
    exact: bool  # every row's amount is known (else ``total`` is a lower bound)
    unit: str  # "mg/day" or "mg/week"
    rows: tuple[dict, ...]  # the rows in force together, by start
    parts: str  # the rows' amounts as the dose checks write them ("100 + 50 mg/day")
    by_weight: bool = False  # a row in mg/kg turned into mg at the known weight (F9)


def _seconds(times: Sequence[Any]) -> np.ndarray:
    """Timestamps as int64 seconds (the rules' time); NaT as NEVER (ongoing)."""
    arr = pd.Series(list(times), dtype="datetime64[s]")
    out = arr.to_numpy("datetime64[s]").astype(np.int64)
    return np.where(arr.isna().to_numpy(), NEVER, out)


def _lane_steps(lane: _Lane) -> list[_Step]:
    """The lane's daily and weekly rows cut into the intervals of rows in force together,
    each with its total (mg/day for daily rows, mg/week for weekly ones): the figure every
    dose check judges and the review writes ("Azathioprine 150 mg/day in all"), summed by
    ``Together.total``, never here."""
    idx = [i for i, k in enumerate(lane.kinds) if k != "pulse"]
    if not idx:
        return []
    rows = [lane.rows[i] for i in idx]
    kinds = np.array([KINDS.index(lane.kinds[i]) for i in idx], dtype=np.int8)
    weekly = kinds == KINDS.index("weekly")
    zeros = np.zeros(len(rows), np.int64)
    tg = in_force_together(
        zeros, zeros, kinds, _seconds([r["start"] for r in rows]), _seconds([r["end"] for r in rows])
    )
    day = np.array([r["drawn_day"] for r in rows], dtype=float)  # mg/kg at the known weight (F9)
    week = np.array([r["drawn_week"] for r in rows], dtype=float)
    amount = np.where(weekly, week, day)
    total, exact = tg.total(amount)
    dose = np.array([r["dose"] for r in rows], dtype=float)
    unit = np.array([r["dose_unit"] for r in rows], dtype=object)
    per_day = np.array([per_day_of(str(r["frequency"])) for r in rows], dtype=float)
    parts_day = tg.parts(*amount_texts(day, dose, unit, per_day))
    parts_week = tg.parts(*amount_texts(week, dose, unit, per_day, weekly=True))
    steps = []
    for i in range(len(tg)):
        members = tg.members[tg.offsets[i] : tg.offsets[i + 1]]
        wk = bool(weekly[tg.row[i]])
        steps.append(
            _Step(
                start=pd.Timestamp(int(tg.start[i]), unit="s"),
                end=None if tg.end[i] >= NEVER else pd.Timestamp(int(tg.end[i]), unit="s"),
                total=float(total[i]),
                exact=bool(exact[i]),
                unit="mg/week" if wk else "mg/day",
                rows=tuple(rows[m] for m in members),
                parts=str(parts_week[i] if wk else parts_day[i]),
                by_weight=any(bool(rows[m]["by_weight"]) for m in members),
            )
        )
    steps.sort(key=lambda s: s.start)
    return steps


def _step_label(step: _Step) -> str:
    """The label of a step: its total ("150 mg/d"); "at least 100 mg/d" when a row's
    amount is unknown; with no amount known, it says so first, then what the one row
    states (a product strength is never read as an amount per day: "amount not stated
    (50 mg tablets, daily)")."""
    if np.isfinite(step.total):
        short = _short_amount(step.total, step.unit)
        if step.by_weight and step.exact and len(step.rows) == 1:  # "2 mg/kg = 120 mg/d" (F9)
            return _per_kg_label(step.rows[0])
        return short if step.exact else f"at least {short}"
    if len(step.rows) > 1:
        return f"amount not stated ({len(step.rows)} rows)"
    r = step.rows[0]
    if not np.isfinite(r["dose"]):
        return "?"
    stated = f"{r['dose']:g} {r['dose_unit'] or 'mg'}"
    freq = str(r["frequency"])
    known_freq = freq not in ("", "unknown")
    if r["dose_basis"] == "strength_only":
        if known_freq:
            return f"amount not stated ({stated} tablets, {freq})"
        return f"amount and frequency not stated ({stated} tablets)"
    return f"{stated} ({freq})" if known_freq else f"{stated}, frequency not stated"


def _step_hover(drug: str, step: _Step, weight: float) -> str:
    """One row's hover as before; rows in force together: their total (the review's words,
    ``context.total_text``, or "at least" with the rows whose amount is unknown), the
    rows' amounts, the interval, then each row."""
    if len(step.rows) == 1:
        return _dose_hover(drug, step.rows[0], weight)
    rows = step.rows
    total = total_text(
        drug,
        [r["frequency"] for r in rows],
        [r["route"] for r in rows],
        [r["drawn_day"] for r in rows],  # a row in mg/kg at the known weight, as the dose checks add it
        [r["drawn_week"] for r in rows],
        weight,
    )
    if not total:  # a row's amount unknown: the known part is a lower bound
        known = f"at least {step.total:g} {step.unit}" if np.isfinite(step.total) else "unknown"
        total = f"{model.drug_label(drug)} {known} in all: the amount of a row is not stated"
    when = f"from {step.start:%d %b %Y} " + (f"to {step.end:%d %b %Y}" if step.end is not None else "(ongoing)")
    lines = [f"<b>{html.escape(total)}</b>", f"{len(rows)} rows in force together ({html.escape(step.parts)})", when]
    for r in rows:
        text = describe_dose(drug, r["dose"], r["dose_unit"], r["frequency"], r["mg_per_day"], weight)
        lines.append(f"· {html.escape(text)}{_at_weight(r, weight)} <i>({html.escape(str(r['source_file']))})</i>")
        if stated := _as_stated(r):
            lines.append(f"&nbsp;&nbsp;{stated}")
    return "<br>".join(lines)


def _scale_note(step: _Step, amount: float, per_week: bool, weight: float) -> str:
    """What the height of a step means, where it is not simply its amount: a lane drawn
    per week (F1), or an amount not known, drawn on the lane floor, not to scale (F9)."""
    if not np.isfinite(amount):
        why = (
            "no weight is recorded to turn mg/kg into mg"
            if any(r["dose_unit"] == "mg/kg" for r in step.rows) and not weight > 0
            else "its amount in mg is not known"
        )
        return f"<br><i>drawn on the lane floor, not to scale: {why}</i>"
    if not per_week:
        return ""
    if step.unit == "mg/day":
        return f"<br><i>drawn per week, as this whole lane: {step.total:g} mg/day = {amount:g} mg/week</i>"
    return "<br><i>drawn per week, as this whole lane (a daily dose at its weekly total)</i>"


def _mg_at_weight(r: dict) -> tuple[float, str]:
    """The mg a row in mg/kg comes to at the known weight, over the period the lane draws
    it in: (120, "mg/day") for 1 mg/kg BID at 60 kg, (60, "mg/week") for 1 mg/kg weekly.
    The one home of that sum for the hover (:func:`_at_weight`) and the step's label
    (:func:`_per_kg_label`)."""
    weekly = np.isfinite(r["drawn_week"])
    return (r["drawn_week"], "mg/week") if weekly else (r["drawn_day"], "mg/day")


def _at_weight(r: dict, weight: float) -> str:
    """ " = 120 mg/day at 60 kg" for a row in mg/kg the weight turned into mg (F9), else ""."""
    if not r.get("by_weight"):
        return ""
    amount, unit = _mg_at_weight(r)
    return f" = {amount:g} {unit} at {weight:g} kg"


def _per_kg_label(r: dict) -> str:
    """A step's label of one row in mg/kg at the known weight: "2 mg/kg = 120 mg/d".  The
    mg/kg is the amount of one dose, the mg the day's (the week's) total, so a dose given
    other than once a day (once a week) names its frequency: "1 mg/kg BID = 120 mg/d" at
    60 kg, never "1 mg/kg = 120 mg/d" (audit9 A3)."""
    amount, unit = _mg_at_weight(r)
    freq = str(r["frequency"])
    once = (freq == "daily" and unit == "mg/day") or (freq == "weekly" and unit == "mg/week")
    return f"{r['dose']:g} mg/kg{'' if once else ' ' + freq} = {_short_amount(amount, unit)}"


def _as_stated(r: dict) -> str:
    """The dose as the source wrote it ("as written: methotrexate 2.5 mg tablets 6 tablets
    weekly"), beside the mg worked out from it (F7); escaped, "" when none was kept."""
    text = r.get("source_text")
    if not isinstance(text, str) or not text.strip():
        return ""
    return f"as written: {html.escape(text.strip())}"


def _draw_doses(
    canvas: _Canvas,
    lanes: list[_Lane],
    weight: float,
    left: pd.Timestamp,
    right: pd.Timestamp,
    as_of: pd.Timestamp,
) -> None:
    """Step lines per drug at the total of the rows in force together (:func:`_lane_steps`),
    labelled with the amount at a few steps (:func:`_spaced`); a step already in force at
    the left edge of the window is labelled there (its start is off the chart).  A step
    whose total is not known in full (a row without an amount per day) is drawn dashed;
    with no amount known it lies on the floor of the lane.  Pulses as markers."""
    tickvals, ticktext = [], []
    if not lanes:  # say so rather than leave an empty band that looks like a drawing fault
        # (an empty trace makes plotly draw the lane, else its annotations are dropped)
        canvas.add({"x": [], "y": [], "showlegend": False, "hoverinfo": "skip", "name": "no doses"}, 1)
        canvas.annotations.append(
            {
                "text": "No doses recorded for this patient in the loaded files",
                "xref": "x domain",
                "yref": "y domain",
                "x": 0.5,
                "y": 0.5,
                "showarrow": False,
                "font": {"size": 12, "color": "#555555"},
            }
        )
    for k, lane in enumerate(reversed(lanes)):
        base = float(k)
        colour = DRUG_COLOURS[k % len(DRUG_COLOURS)]
        tickvals.append(base + 0.35)
        ticktext.append(lane.label)
        if any(kind == "pulse" for kind in lane.kinds):
            _draw_pulses(canvas, lane, base, colour, weight, as_of)
        if lane.pulsed:
            continue
        steps = _lane_steps(lane)
        # one scale per lane (F1): a lane holding weekly and daily steps is drawn per week,
        # a daily step at its weekly total, so that 10 mg daily (70 mg a week) is never
        # drawn below 15 mg weekly; its labels keep each step's own unit
        per_week = {s.unit for s in steps} == {"mg/day", "mg/week"}
        drawn = [s.total * 7 if per_week and s.unit == "mg/day" else s.total for s in steps]
        if per_week:
            ticktext[-1] = f"{lane.label}<br>(drawn per week)"
        top = max((a for a in drawn if np.isfinite(a)), default=1.0) or 1.0
        # two paths: the totals known in full (solid), and the rest (dashed); each with
        # None between two steps that do not meet
        paths: dict[bool, tuple[list[Any], list[float | None], list[str]]] = {True: ([], [], []), False: ([], [], [])}
        last_end: dict[bool, pd.Timestamp | None] = {True: None, False: None}
        tx, ty, tt = [], [], []
        for step, amount in zip(steps, drawn, strict=True):
            full = step.exact and np.isfinite(step.total)
            xs, ys, hover = paths[full]
            end = step.end
            prev = last_end[full]
            if xs and (prev is None or step.start != prev):
                xs.append(None)
                ys.append(None)
                hover.append("")
            height = base + (0.15 + 0.6 * amount / top if np.isfinite(amount) else 0.15)
            text = _step_hover(lane.drug, step, weight) + _scale_note(step, amount, per_week, weight)
            xs += [step.start, end if end is not None else _open_end(lane)]
            ys += [height, height]
            hover += [text, text]
            last_end[full] = end
            if end is None or end > left:  # a step ended before the window has no label
                tx.append(left if step.start < left else step.start)
                ty.append(height)
                tt.append(_step_label(step))
        span = right - left
        widths = [span * (LABEL_CHAR_PX * len(t) + LABEL_PAD_PX) / LABEL_PLOT_PX for t in tt]
        keep = _spaced(tx, widths, MAX_LABELS)
        tx, ty, tt = [tx[i] for i in keep], [ty[i] for i in keep], [tt[i] for i in keep]
        for full in (True, False):
            xs, ys, hover = paths[full]
            if not xs:
                continue
            canvas.add(
                {
                    "x": xs,
                    "y": ys,
                    "mode": "lines",
                    "line": {
                        "shape": "hv",
                        "color": colour,
                        "width": 3 if full else 2,
                        "dash": "solid" if full else "dash",
                    },
                    "name": lane.label if full else f"{lane.label} (amount not known in full)",
                    "legendgroup": "doses",
                    "showlegend": False,
                    "customdata": hover,
                    "hovertemplate": "%{customdata}<extra></extra>",
                    "connectgaps": False,
                },
                1,
            )
        canvas.add(
            {
                "x": tx,
                "y": ty,
                "mode": "text",
                "text": tt,
                "textposition": "top right",
                "textfont": {"size": 10, "color": colour},
                "showlegend": False,
                "hoverinfo": "skip",
            },
            1,
        )
    canvas.axes[1] = {
        "tickvals": tickvals,
        "ticktext": ticktext,
        "range": [-0.15, max(1, len(lanes)) + 0.05],
        "showgrid": False,
        "fixedrange": True,
    }


def _spaced(times: list[pd.Timestamp], widths: list[pd.Timedelta], most: int) -> list[int]:
    """Indexes of the labels to draw (each written rightwards from its time over
    ``widths[i]``): the first, then each that starts after the last kept one ends; the
    latest (the dose in force) always, in place of kept ones it would run into."""
    if not times:
        return []
    keep = [0]
    for i in range(1, len(times)):
        if times[i] - times[keep[-1]] >= widths[keep[-1]]:
            keep.append(i)
    last = len(times) - 1
    if keep[-1] != last:
        while keep and times[last] - times[keep[-1]] < widths[keep[-1]]:
            keep.pop()
        keep.append(last)
    if len(keep) > most:  # evenly thinned, the latest kept
        step = (len(keep) - 1) / (most - 1)
        keep = sorted({keep[round(i * step)] for i in range(most)})
    return keep


#: Where an ongoing dose or span is drawn to: the far future (the x range clips it).
_FAR = pd.Timestamp("2200-01-01")


def _open_end(lane: _Lane) -> pd.Timestamp:
    """Where an ongoing dose is drawn to: the far future (the x range clips it)."""
    return _FAR


def _draw_pulses(canvas: _Canvas, lane: _Lane, base: float, colour: str, weight: float, as_of: pd.Timestamp) -> None:
    """The lane's pulses as triangles, on the dates the review lays them on
    (:func:`_pulse_days`): those up to the as-of date filled, those after it (an ongoing
    row's next ones, or a course planned to run on) open and named "planned"."""
    given: tuple[list[Any], list[str]] = ([], [])
    planned: tuple[list[Any], list[str]] = ([], [])
    cutoff = as_of.normalize() + pd.Timedelta(days=1)
    rows = [r for r, kind in zip(lane.rows, lane.kinds, strict=True) if kind == "pulse"]
    by_day: dict[pd.Timestamp, list[dict]] = {}
    for r, day in _pulse_days(rows, cutoff):
        by_day.setdefault(day, []).append(r)
    for day, on_day in by_day.items():  # in time order
        later = day >= cutoff
        xs, hover = planned if later else given
        xs.append(day)
        text = _pulses_hover(lane.drug, on_day, weight, day)
        hover.append(text + ("<br><i>planned: after the as-of date, not known to be given</i>" if later else ""))
    for (xs, hover), symbol, name in (
        (given, "triangle-up", " (pulses)"),
        (planned, "triangle-up-open", " (planned pulses)"),
    ):
        if not xs and symbol != "triangle-up":
            continue
        canvas.add(
            {
                "x": xs,
                "y": [base + 0.35] * len(xs),
                "mode": "markers",  # the dose of each pulse is in its hover: labels of close pulses overlapped
                "marker": {
                    "symbol": symbol,
                    "size": 11,
                    "color": colour,
                    "line": {"width": 1, "color": "white" if symbol == "triangle-up" else colour},
                },
                "name": lane.label + name,
                "showlegend": False,
                "customdata": hover,
                "hovertemplate": "%{customdata}<extra></extra>",
            },
            1,
        )


def _pulses_hover(drug: str, rows: list[dict], weight: float, day: pd.Timestamp) -> str:
    """The hover of one day's pulses: one administration as :func:`_dose_hover`; several
    on one day (one marker: they would cover each other) each in full, after the day's
    total in mg where every amount is in mg (probe43 F8)."""
    if len(rows) == 1:
        return _dose_hover(drug, rows[0], weight, pulse_day=day)
    amounts = [float(r["dose"]) for r in rows]
    in_mg = all(r["dose_unit"] == "mg" for r in rows) and all(np.isfinite(amounts))
    total = f": {sum(amounts):g} mg in all" if in_mg else " (the amounts are not all in mg: not added)"
    head = f"<b>{html.escape(model.drug_label(drug))}: {len(rows)} administrations on {day:%d %b %Y}{total}</b>"
    return "<br>".join([head, *("· " + _dose_hover(drug, r, weight, pulse_day=day) for r in rows)])


#: How far past the as-of date an ongoing pulse row's planned pulses are drawn (the
#: review's own horizon of pulses, ``schedule.administrations``).
PLANNED_PULSE_DAYS = 62


def _pulse_days(rows: list[dict], cutoff: pd.Timestamp) -> list[tuple[dict, pd.Timestamp]]:
    """(row, date) of each administration of pulsed rows, in time order, laid out by the
    review's own rule (``schedule.pulse_times``: every N weeks, monthly on the same day of
    the month, single once): from the start to the end, an ongoing row to
    :data:`PLANNED_PULSE_DAYS` after the as-of date (``cutoff``: the first moment after it).
    Every row pulses on its start, also when its end is that day (H295)."""
    if not rows:
        return []
    start = _seconds([r["start"] for r in rows])
    end = _seconds([r["end"] for r in rows])
    stop = np.minimum(end, _seconds([cutoff])[0] + PLANNED_PULSE_DAYS * DAY)
    per_day = np.array([per_day_of(str(r["frequency"])) for r in rows], dtype=float)
    which, t = pulse_times(start, stop, np.array([str(r["frequency"]) for r in rows], dtype=object), per_day)
    out = [(rows[int(i)], pd.Timestamp(int(s), unit="s")) for i, s in zip(which, t, strict=True)]
    out.sort(key=lambda p: p[1])
    return out


def _dose_hover(drug: str, r: dict, weight: float, pulse_day: pd.Timestamp | None = None) -> str:
    text = describe_dose(drug, r["dose"], r["dose_unit"], r["frequency"], r["mg_per_day"], weight)
    when = (
        f"{pulse_day:%d %b %Y}"
        if pulse_day is not None
        else f"from {r['start']:%d %b %Y} " + (f"to {r['end']:%d %b %Y}" if pd.notna(r["end"]) else "(ongoing)")
    )
    basis = {
        "strength_only": "<br>product strength only: the amount per dose is not stated",
        "entered": "<br>entered in the app",
    }.get(str(r["dose_basis"]), "")
    route = f" · {r['route']}" if r["route"] else ""
    stated = _as_stated(r)
    return (
        f"<b>{html.escape(text)}{_at_weight(r, weight)}</b>{route}<br>{when}{basis}"
        + (f"<br>{stated}" if stated else "")
        + f"<br><i>{html.escape(str(r['source_file']))}</i>"
    )


def _short_amount(amount: float, unit: str) -> str:
    if not np.isfinite(amount):
        return "?"
    short = {"mg/day": "mg/d", "mg/week": "mg/wk"}.get(unit, unit)
    return f"{amount:g} {short}"


def _draw_dose_changes(layer: _Canvas, doses: pd.DataFrame) -> None:
    """Dotted lines at every start, change and stop, through every panel."""
    days = set(doses["start"].dropna()) | set(doses["end"].dropna())
    for day in sorted(days):
        layer.shapes.append(
            {
                "type": "line",
                "x0": day,
                "x1": day,
                "y0": 0,
                "y1": 1,
                "xref": "x",
                "yref": "paper",
                "line": {"color": "#777777", "width": 1, "dash": "dot"},
                "layer": "below",
                "name": "dose change",
            }
        )


# --------------------------------------------------------------------------- results


def _say_outside(
    canvas: _Canvas,
    row: int,
    analyte: str,
    results: list[dict],
    ctx: _HoverContext,
    start: pd.Timestamp,
    end: pd.Timestamp,
) -> None:
    """What the period leaves out, said on the panel: the results with a flag still open
    that lie before it (how many, which and when, and that a longer period shows them;
    probe43 F2: the period is kept across patients), and "No results in this period" for
    a panel with none in it (F3), never an empty panel that looks like a drawing fault."""
    x, y = _axes(row)
    before = [r for r in results if r["collected_at"] < start and _result_key(analyte, r) in ctx.open]
    if before:
        unit = display_unit(analyte, ctx.system)
        said = []
        for r in before[-3:]:  # the latest ones, nearest the period
            value = display_text(analyte, r["value"], ctx.system, r["source_value"], r["comparator"])
            grade = ctx.grade.get(_result_key(analyte, r))
            graded = f", grade {grade}" if grade is not None and grade > 0 else ""
            said.append(f"{html.escape(value)} {unit}{graded} on {r['collected_at']:%d %b %Y}")
        more = f" and {len(before) - 3} more" if len(before) > 3 else ""
        n = len(before)
        canvas.annotations.append(
            {
                "text": (
                    f"◀ {n} result{'' if n == 1 else 's'} with an open flag before this period: "
                    f"{'; '.join(said)}{more}. A longer period shows {'it' if n == 1 else 'them'}."
                ),
                "x": 0,
                "xref": f"{x} domain",
                "y": 1,
                "yref": f"{y} domain",
                "xanchor": "left",
                "yanchor": "top",
                "align": "left",
                "showarrow": False,
                "bgcolor": "rgba(255,255,255,0.85)",
                "font": {"size": 11, "color": LIMIT_COLOUR},
                "name": "open flag before the period",
            }
        )
    if results and not any(start <= r["collected_at"] <= end for r in results):
        canvas.annotations.append(
            {
                "text": "No results in this period",
                "x": 0.5,
                "xref": f"{x} domain",
                "y": 0.5,
                "yref": f"{y} domain",
                "showarrow": False,
                "font": {"size": 12, "color": "#555555"},
                "name": "no results",
            }
        )


def _draw_reference(layer: _Canvas, row: int, analyte: str, results: list[dict], sex: str, system: str) -> None:
    """The reference range: the lab's own (latest result that has one), else the default."""
    f = display_factor(analyte, system)
    low, high, basis = _reference(analyte, results, sex)
    if not (np.isfinite(low) or np.isfinite(high)):
        return
    y0 = low * f if np.isfinite(low) else 0
    y1 = high * f if np.isfinite(high) else y0
    if y1 <= y0:
        return
    x, y = _axes(row)
    layer.shapes.append(
        {
            "type": "rect",
            "x0": 0,
            "x1": 1,
            "xref": f"{x} domain",
            "y0": y0,
            "y1": y1,
            "yref": y,
            "fillcolor": REFERENCE_FILL,
            "line": {"width": 0},
            "layer": "below",
            "name": f"reference range ({basis})",
        }
    )


def _reference(analyte: str, results: list[dict], sex: str) -> tuple[float, float, str]:
    for r in reversed(results):  # in time order: the latest with a range
        if pd.notna(r["ref_low"]) or pd.notna(r["ref_high"]):
            return float(r["ref_low"]), float(r["ref_high"]), "lab"
    default = ranges_file().get("ranges", {}).get(analyte, {})
    low = default.get(f"low_{sex}", default.get("low", float("nan")))
    high = default.get("high", float("nan"))
    return float(low), float(high), "default"


def _draw_as_of(layer: _Canvas, as_of: pd.Timestamp) -> None:
    """The as-of date across every panel, when results lie after it: what is left of the
    line was reviewed, what is right of it was not."""
    layer.shapes.append(
        {
            "type": "line",
            "x0": as_of,
            "x1": as_of,
            "xref": "x",
            "y0": 0,
            "y1": 1,
            "yref": "paper",
            "line": {"color": "#7f7f7f", "width": 1, "dash": "dot"},
            "name": "as of",
        }
    )
    layer.annotations.append(
        {
            "text": f"as of {as_of:%d %b %Y}",
            "x": as_of,
            "xref": "x",
            "y": 1,
            "yref": "paper",
            "xanchor": "right",
            "yanchor": "bottom",
            "showarrow": False,
            "font": {"size": 11, "color": "#555555"},
        }
    )


#: A span of time as the timeline draws it: ``(from, to)``, ``to`` None while ongoing.
_Span = tuple[pd.Timestamp, pd.Timestamp | None]


def _covered(doses: pd.DataFrame, profile: Profile) -> list[_Span] | None:
    """When the patient is on a drug the profile's guideline limits are written for
    (``context.covered_spans``, the flags' own reading); None where the limits hold for
    every drug (a profile without ``guideline_drugs``) or no dose is recorded at all (the
    flags then say "no monitored drug" themselves, and the line stays a guide)."""
    if not profile.guideline_drugs or not len(doses):
        return None
    # the end of being in force, as the flags read it (a single administration: its day;
    # audit9 B4), never the row's recorded end
    ends = _seconds(model.in_force_until(doses["start"], doses["end"], doses["frequency"]))
    spans = covered_spans([str(d) for d in doses["drug"]], _seconds(doses["start"]), ends, profile.guideline_drugs)
    return _spans(spans)


def _on_drug(doses: pd.DataFrame) -> dict[str, list[_Span]]:
    """Per drug, when the patient is on it: its rows from their start to the end of being
    in force (``model.in_force_until``, the end the flags' ``thresholds._taking`` reads: a
    single administration, its day), merged (``context.merged_spans``).  A limit a source
    writes for one drug judges only the results taken on it (H574), so its line is drawn
    over these spans only (audit9 A4)."""
    if not len(doses):
        return {}
    ends = _seconds(model.in_force_until(doses["start"], doses["end"], doses["frequency"]))
    by_drug: dict[str, list[tuple[int, int]]] = {}
    for drug, a, b in zip(doses["drug"].tolist(), _seconds(doses["start"]).tolist(), ends.tolist(), strict=True):
        by_drug.setdefault(str(drug), []).append((a, b))
    return {drug: _spans(merged_spans(pairs)) for drug, pairs in by_drug.items()}


def _spans(pairs: Sequence[tuple[int, int]]) -> list[_Span]:
    """int64-second spans (``to`` NEVER while ongoing) as the timeline's :data:`_Span`."""
    return [(pd.Timestamp(a, unit="s"), None if b >= NEVER else pd.Timestamp(b, unit="s")) for a, b in pairs]


def _draw_limits(
    layer: _Canvas,
    row: int,
    analyte: str,
    profile: Profile,
    system: str,
    covered: list[_Span] | None = None,
    window: tuple[pd.Timestamp, pd.Timestamp] | None = None,
    taken: Mapping[str, list[_Span]] | None = None,
) -> None:
    """The guideline limits as dashed lines, labelled in the right margin.  A limit written
    for a guideline's own drugs (``Rule.scoped``: BSR's csDMARDs) is drawn only while the
    patient is on one of them (``covered``), never for cyclophosphamide or a biologic alone
    (probe43 F5).  A limit written for one drug (``Rule.drug``: SPS mercaptopurine's
    neutrophils < 2) is drawn only while the patient is on that drug (``taken``, per drug:
    :func:`_on_drug`), not at all for a patient never on it.  Either label says so where
    that is not the whole period shown."""
    f = display_factor(analyte, system)
    x, y = _axes(row)
    for rule in profile.active("guideline"):
        if rule.analyte != analyte or rule.comparison not in ("<", ">"):
            continue
        if rule.drug:  # a drug's own limit: while on that drug only
            spans: list[_Span] | None = (taken or {}).get(rule.drug, [])
        else:
            spans = covered if rule.scoped and covered is not None else None
        if spans is not None and not spans:
            continue  # never on the drug(s) the limit is written for: no line
        level = rule.threshold * f
        line = {"color": LIMIT_COLOUR, "width": 1.5, "dash": "dash"}
        common = {"type": "line", "y0": level, "y1": level, "yref": y, "line": line, "name": rule.id}
        if spans is None:
            layer.shapes.append({**common, "x0": 0, "x1": 1, "xref": f"{x} domain"})
        for a, b in spans or ():
            layer.shapes.append({**common, "x0": a, "x1": b if b is not None else _FAR, "xref": x})
        whole = spans is None or (
            window is not None and any(a <= window[0] and (b is None or b >= window[1]) for a, b in spans)
        )
        source = (rule.short_source or _short_source(rule.source)) + ("" if whole else " (drawn while on its drugs)")
        layer.annotations.append(
            {
                # in the right margin, level with its line: a label inside the plot covered results
                "text": f"{rule.comparison} {level:g}<br>{'<br>'.join(word_lines(source, 16))}",
                "x": 1,
                "xref": f"{x} domain",
                "y": level,
                "yref": y,
                "xanchor": "left",
                "yanchor": "middle",
                "xshift": 4,
                "align": "left",
                "showarrow": False,
                "font": {"size": 10, "color": LIMIT_COLOUR},
            }
        )


def _short_source(source: str) -> str:
    """ "BSR 2017 / NICE CKS" -> "BSR 2017"; "NHS shared-care protocols (local); ..." -> "NHS shared-care protocols";
    a reference id ("[bsr2017]") is left out.  A rule whose source carries a caveat that
    changes whose limit it is gives its own ``short_source`` (H571)."""
    source = _REF_ID.sub("", source)
    for sep in (" /", " (", ";", ","):
        source = source.split(sep)[0]
    return source.strip()


def _draw_intervals(layer: _Canvas, row: int, intervals: pd.DataFrame, as_of: pd.Timestamp) -> None:
    """The time each flag episode was open (to the next clear result, or to now): a thin
    bar along the foot of the panel, coloured by severity, under the results."""
    for iv in _records(intervals, ("start", "end", "severity", "rule")):
        end = iv["end"] if pd.notna(iv["end"]) else as_of
        if not end > iv["start"]:
            end = iv["start"] + pd.Timedelta(days=1)
        x, y = _axes(row)
        layer.shapes.append(
            {
                "type": "rect",
                "x0": iv["start"],
                "x1": end,
                "xref": x,
                "y0": 0,
                "y1": EPISODE_BAR,
                "yref": f"{y} domain",
                "fillcolor": SEVERITY_FILL.get(str(iv["severity"]), "#999999"),
                "opacity": EPISODE_OPACITY,
                "line": {"width": 0},
                "layer": "below",
                "name": f"open: {iv['rule']}",
            }
        )


#: The columns of a flag the hover of its result reads.
_FLAG_COLUMNS = (
    "analyte",
    "threshold",
    "collected_at",
    "value",
    "comparator",
    "ctcae_grade",
    "kind",
    "severity",
    "message",
    "source",
    "dose_context",
)

#: A result as the flags name it: (analyte, time, value, comparator).  Two values of one
#: draw (1.2 and 0.8 at 09:00) are two results, each with its own grade and flags (H483).
#: Not the flags' ``lab_row``: that is the row of the labs table the review was given,
#: which the timeline's labs (one patient's rows of it, or a table reviewed on its own)
#: need not share.
_ResultKey = tuple[str, pd.Timestamp, float, str]


def _result_key(analyte: str, r: dict) -> _ResultKey:
    return (analyte, r["collected_at"], float(r["value"]), str(r["comparator"] or ""))


@dataclass
class _HoverContext:
    """What the hover of a result needs, as plain Python: the flags of each result
    (:data:`_ResultKey`), the CTCAE grade of each, and the doses (described once) with a
    memo of the dose text at each time."""

    flags: dict[_ResultKey, list[dict]]
    grade: dict[_ResultKey, int]
    doses: list[tuple[pd.Timestamp, pd.Timestamp, str]]
    system: str
    dose_text: dict[pd.Timestamp, str] = field(default_factory=dict)
    #: the results with a flag still open (the review's ``status``)
    open: set[_ResultKey] = field(default_factory=set)
    #: the first moment after the as-of date (None: no as-of date given), the date itself,
    #: and the CTCAE grade of each result after it (the review's ``after_as_of``)
    later: pd.Timestamp | None = None
    as_of: pd.Timestamp | None = None
    later_grade: dict[_ResultKey, int] = field(default_factory=dict)

    @classmethod
    def build(cls, flags: pd.DataFrame, doses: pd.DataFrame, weight: float, system: str) -> _HoverContext:
        by_key: dict[_ResultKey, list[dict]] = {}
        grade: dict[_ResultKey, int] = {}
        open_keys: set[_ResultKey] = set()
        columns = [*_FLAG_COLUMNS, *(c for c in ("ctcae_grade_or_worse", "conflict", "status") if c in flags)]
        for fl in _records(flags, columns) if len(flags) else []:
            key = _result_key(fl["analyte"], fl)
            by_key.setdefault(key, []).append(fl)
            if fl.get("status") == "open":
                open_keys.add(key)
            if pd.notna(fl["ctcae_grade"]):
                grade[key] = max(grade.get(key, 0), int(fl["ctcae_grade"]))
        described = [
            (
                d["start"],
                model.in_force_until(d["start"], d["end"], d["frequency"]),  # a pulse: its day only
                describe_dose(d["drug"], d["dose"], d["dose_unit"], d["frequency"], d["mg_per_day"], weight),
            )
            for d in _records(doses, ("start", "end", "drug", "dose", "dose_unit", "frequency", "mg_per_day"))
        ]
        return cls(by_key, grade, described, system, open=open_keys)

    def doses_at(self, t: pd.Timestamp) -> str:
        if t not in self.dose_text:
            live = [text for start, end, text in self.doses if model.in_force(start, end, t)]
            # "none recorded" only when the patient has no dose at all (as the flags say)
            self.dose_text[t] = "; ".join(live) or ("no dose in force" if self.doses else "")
        return self.dose_text[t]


def _draw_results(
    canvas: _Canvas,
    row: int,
    analyte: str,
    results: list[dict],
    ctx: _HoverContext,
    seen: set[tuple[str, bool]],
    later: pd.Timestamp | None = None,
) -> None:
    """One analyte's results (records in time order, :data:`_RESULT_COLUMNS`); those from
    ``later`` on (after the as-of date) as :data:`AFTER_AS_OF`."""
    if not results:
        return
    f = display_factor(analyte, ctx.system)
    y = np.array([r["value"] for r in results], dtype=float) * f
    times = [r["collected_at"] for r in results]
    canvas.add(
        {
            "x": times,
            "y": y.tolist(),
            "mode": "lines",
            "line": {"color": "#9a9a9a", "width": 1},
            "showlegend": False,
            "hoverinfo": "skip",
        },
        row,
    )
    base = 0 if analyte in _GRADED else -1
    grades = np.array(
        [
            AFTER_AS_OF
            if later is not None and r["collected_at"] >= later
            else ctx.grade.get(_result_key(analyte, r), base)
            for r in results
        ],
        dtype=int,
    )
    hover = np.empty(len(times), dtype=object)
    hover[:] = [_result_hover(r, analyte, ctx) for r in results]
    censored = np.array([r["comparator"] != "" for r in results], dtype=bool)
    x_all = np.asarray(times, dtype=object)
    for g in sorted(set(grades.tolist())):
        colour, symbol, label = GRADE_STYLE[g]
        for open_marker in (False, True):
            mask = (grades == g) & (censored == open_marker)
            if not mask.any():
                continue
            canvas.add(
                {
                    "x": x_all[mask].tolist(),
                    "y": y[mask].tolist(),
                    "mode": "markers",
                    "marker": {
                        "symbol": symbol + ("-open" if open_marker else ""),
                        "color": colour,
                        "size": 9 if g < 3 else 12,
                        "line": {"width": 1.5 if open_marker else 0.5, "color": colour if open_marker else "white"},
                    },
                    "name": label + (" (censored, at its bound)" if open_marker else ""),
                    "legendgroup": f"{_legend_key(g)}{'open' if open_marker else ''}",
                    "legendrank": 100 + 10 * (5 if g == AFTER_AS_OF else max(g, 0)) + int(open_marker),
                    "showlegend": (_legend_key(g), open_marker) not in seen,
                    "customdata": hover[mask].tolist(),
                    "hovertemplate": "%{customdata}<extra></extra>",
                },
                row,
            )
            seen.add((_legend_key(g), open_marker))


def _legend_key(grade: int) -> str:
    """One legend entry per look: grades 0 and "not graded" share one, as they share a marker."""
    return "after" if grade == AFTER_AS_OF else f"grade{max(grade, 0)}"


#: The columns of a result the timeline reads (its point, its hover, its reference range).
_RESULT_COLUMNS = (
    "collected_at",
    "value",
    "unit",
    "comparator",
    "source_value",
    "source_unit",
    "derived",
    "ref_low",
    "ref_high",
)
_GRADED = ("wbc", "neutrophils", "lymphocytes", "platelets", "hemoglobin", "alt", "ast")


def _result_hover(r: dict, analyte: str, ctx: _HoverContext) -> str:
    unit = display_unit(analyte, ctx.system)
    here = ctx.flags.get(_result_key(analyte, r), [])
    value = display_text(analyte, r["value"], ctx.system, r["source_value"], r["comparator"])
    lines = [
        f"<b>{r['collected_at']:%d %b %Y %H:%M}</b>",
        f"{model.analyte_label(analyte)} <b>{html.escape(value)}</b> {unit}",
    ]
    reported = f"{r['source_value']} {r['source_unit']}".strip()
    if r["derived"]:
        lines.append(f"calculated from {html.escape(reported)} x WBC")
    elif reported and reported != f"{r['comparator']}{r['value']:g} {r['unit']}":
        lines.append(f"as reported: {html.escape(reported)}")
    if np.isfinite(r["ref_low"]) or np.isfinite(r["ref_high"]):
        lines.append(_lab_range(r, analyte, ctx.system))
    if ctx.later is not None and r["collected_at"] >= ctx.later:  # not reviewed: said, with its grade (F10)
        lines.append(f"<i>after the as-of date ({ctx.as_of:%d %b %Y}): not reviewed</i>")
        g = ctx.later_grade.get(_result_key(analyte, r))
        if g is not None:
            lines.append(f"CTCAE v5.0 grade <b>{g}</b> (for information: not reviewed)")
    lab_flag = r.get("source_flag")
    if isinstance(lab_flag, str) and lab_flag.strip():  # the lab's own flag, as written (H484)
        lines.append(f"lab flag: {html.escape(lab_flag.strip())}")
    if here:
        grades = [
            (int(fl["ctcae_grade"]), bool(fl.get("ctcae_grade_or_worse") is True))
            for fl in here
            if pd.notna(fl["ctcae_grade"])
        ]
        if grades:
            # "2 or worse" for a bound that may lie beyond the grade ("<=50" platelets, H275)
            lines.append(f"CTCAE v5.0 grade <b>{grade_text(*max(grades))}</b>")
        conflict = next((c for fl in here if isinstance(c := fl.get("conflict"), str) and c), "")
        if conflict:  # each value keeps its own grade; the draw's other value is said
            lines.append(f"conflicting results at this draw: {html.escape(conflict)}")
        for fl in here:
            if fl["kind"] == "ctcae":  # the threshold the grade rests on, in its unit (F11)
                lines.append(f"{_grade_basis(fl, analyte, ctx.system)}")
            else:
                lines.append(
                    f"[{fl['severity']}] {html.escape(str(fl['message']))} <i>({html.escape(str(fl['source']))})</i>"
                )
        active = str(here[0]["dose_context"])  # the review's words: never self-contradicting
    else:
        active = ctx.doses_at(r["collected_at"])
    lines.append("Doses: " + html.escape(active or "none recorded"))
    return "<br>".join(_wrap(line) for line in lines)


def _grade_basis(fl: dict, analyte: str, system: str) -> str:
    """What a CTCAE grade rests on, in the review's own words ("Anemia, CTCAE grade 2: Hb
    78.956 g/L (4.9 mmol/L as reported < 6.2 mmol/L)"): the threshold with its unit, the
    reported unit's where the grade was read on it (probe43 F11); in US units also the
    threshold converted, as the value is shown."""
    text = f"{html.escape(str(fl['message']))} <i>({html.escape(str(fl['source']))})</i>"
    threshold = fl.get("threshold")
    f = display_factor(analyte, system)
    if system == "US" and f != 1.0 and isinstance(threshold, float) and np.isfinite(threshold):
        shown = display_text(analyte, threshold, system)
        text += f" (threshold {shown} {display_unit(analyte, system)})"
    return text


def _lab_range(r: dict, analyte: str, system: str) -> str:
    """The lab's reference range as the lab wrote it, in the unit it reported the result
    in ("lab range 7.5–10 mmol/L"), and where the chart shows another unit, that range
    converted and rounded as a result is ("= 121–161 g/L"); never the stored conversion's
    false precision (probe43 F6).  A range kept in the canonical unit only (a count made
    from a percentage) is given in the unit shown."""
    unit = display_unit(analyte, system)
    bounds = (r["ref_low"], r["ref_high"])

    def shown(values: Sequence[float], text: Callable[[float], str]) -> str:
        return "–".join(text(v) if np.isfinite(v) else "" for v in values)

    converted = shown(bounds, lambda v: display_text(analyte, v, system))
    written = str(r["source_unit"] or "").strip()
    res = resolve_unit(analyte, written) if written and not r["derived"] else None
    if res is None or res.factor is None or res.percent:
        return f"lab range {html.escape(converted)} {unit}"
    as_written = tuple(round_sig(v / res.factor, 6) if np.isfinite(v) else v for v in bounds)
    raw = shown(as_written, lambda v: f"{v:g}")
    f = display_factor(analyte, system)
    same = all(
        (not np.isfinite(v)) or np.isclose(w, v * f, rtol=1e-9) for w, v in zip(as_written, bounds, strict=True)
    ) and normalize_unit(written) == normalize_unit(unit)
    text = f"lab range {html.escape(raw)} {html.escape(written)}"
    return text if same else f"{text} (= {html.escape(converted)} {unit})"


def _wrap(line: str, width: int = 110) -> str:
    if len(line) <= width or "<" in line[:3]:
        return line
    words, out, cur = line.split(" "), [], ""
    for w in words:
        if len(cur) + len(w) + 1 > width:
            out.append(cur)
            cur = w
        else:
            cur = f"{cur} {w}".strip()
    out.append(cur)
    return "<br>".join(out)


# --------------------------------------------------------------------------- range


def _latest(labs: pd.DataFrame, doses: pd.DataFrame) -> pd.Timestamp:
    times = [labs["collected_at"].max() if len(labs) else pd.NaT, doses["start"].max() if len(doses) else pd.NaT]
    times = [t for t in times if pd.notna(t)]
    return max(times) if times else pd.Timestamp.now().normalize()


def _window(
    labs: pd.DataFrame, doses: pd.DataFrame, window: str, as_of: pd.Timestamp
) -> tuple[pd.Timestamp, pd.Timestamp]:
    """The time shown: the period chosen up to a fortnight after the as-of date, and on to
    the last result when one lies beyond (a result is never off the right edge)."""
    last = labs["collected_at"].max() if len(labs) else pd.NaT
    end = max(as_of, last) + pd.Timedelta(days=14) if pd.notna(last) else as_of + pd.Timedelta(days=14)
    days = WINDOWS.get(window, 0)
    if days:
        return as_of - pd.Timedelta(days=days), end
    # from the first result or the first dose, whichever is earlier: "All" shows every
    # course, also one that ended before the first result (probe43 F4)
    firsts = [labs["collected_at"].min() if len(labs) else pd.NaT, doses["start"].min() if len(doses) else pd.NaT]
    first = min((t for t in firsts if pd.notna(t)), default=pd.NaT)
    start = first if pd.notna(first) else as_of - pd.Timedelta(days=365)
    return start - pd.Timedelta(days=30), end
