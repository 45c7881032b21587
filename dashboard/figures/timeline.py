"""The patient timeline: blood results stacked under the dose lanes, on one time axis.

A pure function of the canonical tables of one patient and the review of them:

* top: one lane per drug, a step line of the daily dose (weekly drugs per week),
  labelled with the dose at a few changes spaced so that no two labels overlap (a
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
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, ParamSpec

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from dashboard import model
from dashboard.figures import OKABE_ITO, rgba, word_lines
from dashboard.rules.context import describe_dose, total_text
from dashboard.rules.ctcae import grade_text
from dashboard.rules.data import DAY, NEVER, ranges_file
from dashboard.rules.dose_totals import KINDS, amount_texts, in_force_together, schedule_kind
from dashboard.rules.engine import Profile
from dashboard.rules.inputs import per_day as per_day_of
from dashboard.rules.schedule import pulse_times
from dashboard.units import display_factor, display_text, display_unit

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
) -> dict[str, Any]:
    """The timeline of one patient in plotly's dict form (all frames already restricted to
    that patient): what ``timeline_figure(...).to_dict()`` gives (tested), without building
    the figure object and deep-copying it back (the Patient page draws it on every switch)."""
    options = options or TimelineOptions()
    analytes = analytes_present(labs, options.analytes)
    weight = float(patient["weight_kg"]) if patient is not None and pd.notna(patient.get("weight_kg")) else float("nan")
    sex = str(patient["sex"]) if patient is not None else ""
    as_of = pd.Timestamp(options.as_of) if options.as_of else _latest(labs, doses)
    lanes = _dose_lanes(doses, as_of)

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
    # the results of the analytes drawn, in time order, as records split by analyte
    shown = labs[labs["analyte"].isin(analytes)].sort_values("collected_at", kind="stable")
    by_analyte: dict[str, list[dict]] = {a: [] for a in analytes}
    flag_column = ("source_flag",) if "source_flag" in shown else ()  # the lab's own flag (H484)
    for r in _records(shown, ("analyte", *_RESULT_COLUMNS, *flag_column)):
        by_analyte[r["analyte"]].append(r)
    iv_by = dict(tuple(intervals.groupby("analyte", sort=False, observed=True))) if len(intervals) else {}
    for i, analyte in enumerate(analytes, start=2):
        results = by_analyte[analyte]
        _draw_results(canvas, i, analyte, results, hover, seen, later)
        _draw_reference(canvas, i, analyte, results, sex, options.system)
        _draw_limits(canvas, i, analyte, profile, options.system)
        _draw_intervals(canvas, i, iv_by.get(analyte, intervals.iloc[:0]), as_of)
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


def _dose_lanes(doses: pd.DataFrame, as_of: pd.Timestamp) -> list[_Lane]:
    info = model.drug_info()
    order = {"immunosuppressant": 0, "glucocorticoid": 1, "interaction": 2, "background": 3}
    lanes = []
    for drug, part in doses.groupby("drug", sort=False):
        part = part.sort_values("start", kind="stable")
        rows = _records(part)
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
    day = np.array([r["mg_per_day"] for r in rows], dtype=float)
    week = np.array([r["mg_per_week"] for r in rows], dtype=float)
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
        [r["mg_per_day"] for r in rows],
        [r["mg_per_week"] for r in rows],
        weight,
    )
    if not total:  # a row's amount unknown: the known part is a lower bound
        known = f"at least {step.total:g} {step.unit}" if np.isfinite(step.total) else "unknown"
        total = f"{model.drug_label(drug)} {known} in all: the amount of a row is not stated"
    when = f"from {step.start:%d %b %Y} " + (f"to {step.end:%d %b %Y}" if step.end is not None else "(ongoing)")
    lines = [f"<b>{html.escape(total)}</b>", f"{len(rows)} rows in force together ({html.escape(step.parts)})", when]
    for r in rows:
        text = describe_dose(drug, r["dose"], r["dose_unit"], r["frequency"], r["mg_per_day"], weight)
        lines.append(f"· {html.escape(text)} <i>({html.escape(str(r['source_file']))})</i>")
    return "<br>".join(lines)


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
        top = max((s.total for s in steps if np.isfinite(s.total)), default=1.0) or 1.0
        # two paths: the totals known in full (solid), and the rest (dashed); each with
        # None between two steps that do not meet
        paths: dict[bool, tuple[list[Any], list[float | None], list[str]]] = {True: ([], [], []), False: ([], [], [])}
        last_end: dict[bool, pd.Timestamp | None] = {True: None, False: None}
        tx, ty, tt = [], [], []
        for step in steps:
            full = step.exact and np.isfinite(step.total)
            xs, ys, hover = paths[full]
            end = step.end
            prev = last_end[full]
            if xs and (prev is None or step.start != prev):
                xs.append(None)
                ys.append(None)
                hover.append("")
            height = base + (0.15 + 0.6 * step.total / top if np.isfinite(step.total) else 0.15)
            text = _step_hover(lane.drug, step, weight)
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


def _open_end(lane: _Lane) -> pd.Timestamp:
    """Where an ongoing dose is drawn to: the far future (the x range clips it)."""
    return pd.Timestamp("2200-01-01")


def _draw_pulses(canvas: _Canvas, lane: _Lane, base: float, colour: str, weight: float, as_of: pd.Timestamp) -> None:
    """The lane's pulses as triangles, on the dates the review lays them on
    (:func:`_pulse_days`): those up to the as-of date filled, those after it (an ongoing
    row's next ones, or a course planned to run on) open and named "planned"."""
    given: tuple[list[Any], list[str]] = ([], [])
    planned: tuple[list[Any], list[str]] = ([], [])
    cutoff = as_of.normalize() + pd.Timedelta(days=1)
    rows = [r for r, kind in zip(lane.rows, lane.kinds, strict=True) if kind == "pulse"]
    for r, day in _pulse_days(rows, cutoff):
        later = day >= cutoff
        xs, hover = planned if later else given
        xs.append(day)
        text = _dose_hover(lane.drug, r, weight, pulse_day=day)
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
    return f"<b>{html.escape(text)}</b>{route}<br>{when}{basis}<br><i>{html.escape(str(r['source_file']))}</i>"


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


def _draw_limits(layer: _Canvas, row: int, analyte: str, profile: Profile, system: str) -> None:
    f = display_factor(analyte, system)
    x, y = _axes(row)
    for rule in profile.active("guideline"):
        if rule.analyte != analyte or rule.comparison not in ("<", ">"):
            continue
        level = rule.threshold * f
        layer.shapes.append(
            {
                "type": "line",
                "x0": 0,
                "x1": 1,
                "xref": f"{x} domain",
                "y0": level,
                "y1": level,
                "yref": y,
                "line": {"color": LIMIT_COLOUR, "width": 1.5, "dash": "dash"},
                "name": rule.id,
            }
        )
        layer.annotations.append(
            {
                # in the right margin, level with its line: a label inside the plot covered results
                "text": f"{rule.comparison} {level:g}<br>{'<br>'.join(word_lines(_short_source(rule.source), 16))}",
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
    """ "BSR 2017 / NICE CKS" -> "BSR 2017"; "NHS shared-care protocols (local); ..." -> "NHS shared-care protocols"."""
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

    @classmethod
    def build(cls, flags: pd.DataFrame, doses: pd.DataFrame, weight: float, system: str) -> _HoverContext:
        by_key: dict[_ResultKey, list[dict]] = {}
        grade: dict[_ResultKey, int] = {}
        columns = [*_FLAG_COLUMNS, *(c for c in ("ctcae_grade_or_worse", "conflict") if c in flags)]
        for fl in _records(flags, columns) if len(flags) else []:
            key = _result_key(fl["analyte"], fl)
            by_key.setdefault(key, []).append(fl)
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
        return cls(by_key, grade, described, system)

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
    f = display_factor(analyte, ctx.system)
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
        lo = f"{r['ref_low'] * f:g}" if np.isfinite(r["ref_low"]) else ""
        hi = f"{r['ref_high'] * f:g}" if np.isfinite(r["ref_high"]) else ""
        lines.append(f"lab range {lo}–{hi}")
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
            if fl["kind"] != "ctcae":
                lines.append(
                    f"[{fl['severity']}] {html.escape(str(fl['message']))} <i>({html.escape(str(fl['source']))})</i>"
                )
        active = str(here[0]["dose_context"])  # the review's words: never self-contradicting
    else:
        active = ctx.doses_at(r["collected_at"])
    lines.append("Doses: " + html.escape(active or "none recorded"))
    return "<br>".join(_wrap(line) for line in lines)


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
    # from the first result (the doses before it are context, drawn off the left edge)
    first = labs["collected_at"].min() if len(labs) else (doses["start"].min() if len(doses) else pd.NaT)
    start = first if pd.notna(first) else as_of - pd.Timedelta(days=365)
    return start - pd.Timedelta(days=30), end
