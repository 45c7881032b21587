"""Probe 11 (H202): the Panel's Why of a creatinine rise names the value, the rise and the
whole reference it is measured from."""

from __future__ import annotations

import pandas as pd

from dashboard.panel import why_texts
from tests.rules.builders import dose, run, series


def test_the_why_of_a_creatinine_rise_keeps_the_whole_baseline():
    # baseline 105.3 umol/L (2023-12-01, before methotrexate); 140 on it: (140 - 105.3) / 105.3
    # = 32.95% above, more than 30%.  The old Why cut the message at 40 characters:
    # "Creatinine 140 µmol/L is 32.95% above 10".
    labs = series("P", "creatinine", [("2023-12-01", 105.3), ("2024-05-01", 140)])
    rv = run(labs, [dose("P", "methotrexate", "2024-01-01", amount=15, frequency="weekly")], as_of="2024-05-02")
    why = why_texts(rv, pd.Series(["P"]))[0]
    assert "Creat 140, 32.95% above 105.3" in why
    assert "above 10" not in why.replace("above 105.3", "")
