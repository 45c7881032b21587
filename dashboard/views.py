"""Tables shaped for display (pure): what pages show, computed from the canonical model."""

from __future__ import annotations

import numpy as np
import pandas as pd

from dashboard import model
from dashboard.units import display_factor, display_unit


def format_value(value: float, comparator: str = "") -> str:
    """ "<0.1", "3.2", "1 234" -> short text with its comparator."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    text = f"{value:.3g}" if abs(value) < 1000 else f"{value:,.0f}"
    if abs(value) < 1000 and abs(value) >= 100:
        text = f"{value:.0f}"
    return f"{comparator}{text}"


def patient_results(labs: pd.DataFrame, patient_id: str, system: str = "SI") -> pd.DataFrame:
    """One row per draw, one column per analyte ("WBC (×10⁹/L)"), values as text.

    Censored values keep their comparator; derived values are marked "(calc)".
    """
    sub = labs[labs["patient_id"] == patient_id]
    if sub.empty:
        return pd.DataFrame(columns=["Collected"])
    rows = []
    for a in model.ANALYTES:
        part = sub[sub["analyte"] == a]
        if part.empty:
            continue
        f = display_factor(a, system)
        for _, r in part.iterrows():
            text = format_value(r["value"] * f, r["comparator"])
            if r["derived"]:
                text += " (calc)"
            rows.append(
                {
                    "Collected": r["collected_at"],
                    "col": f"{model.analyte_label(a)} ({display_unit(a, system)})",
                    "text": text,
                }
            )
    wide = pd.DataFrame(rows).pivot_table(
        index="Collected", columns="col", values="text", aggfunc=lambda s: " / ".join(s)
    )
    order = [c for a in model.ANALYTES for c in wide.columns if c.startswith(model.analyte_label(a) + " (")]
    wide = wide[list(dict.fromkeys(order))].sort_index(ascending=False).reset_index()
    wide.columns.name = None
    return wide.fillna("")


def patient_doses(doses: pd.DataFrame, patient_id: str) -> pd.DataFrame:
    """The patient's dose rows for display."""
    sub = doses[doses["patient_id"] == patient_id].sort_values(["start", "drug"])
    out = pd.DataFrame(
        {
            "Drug": sub["drug"].map(lambda d: model.drug_info()[d].label if d in model.drug_info() else d),
            "Dose": [
                f"{d:g} {u}" if not np.isnan(d) else "" for d, u in zip(sub["dose"], sub["dose_unit"], strict=True)
            ],
            "Frequency": sub["frequency"],
            "mg/day": sub["mg_per_day"].round(2),
            "Route": sub["route"],
            "Start": sub["start"].dt.date,
            "End": sub["end"].dt.date,
            "Basis": sub["dose_basis"],
            "Source": sub["source_file"] + ":" + sub["source_row"].astype(str),
        }
    )
    return out.reset_index(drop=True)
