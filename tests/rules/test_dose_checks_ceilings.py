"""Dose ceilings the sources give, from knowledge/data/dosing.toml (audit 17, F11), and
voclosporin with cyclophosphamide.

Hand-derived from the sources:

* methotrexate: 3E recommendations escalate up to 20-30 mg/week (Visser 2009): 30 mg/week
  is accepted, 32.5 mg/week is above the ceiling ("action", as the Dosing page's "high");
* ciclosporin: US Neoral label, RA maximum 4 mg/kg/day: at 70 kg 280 mg/day (140 mg BID)
  is at the limit, 300 mg/day (4.29 mg/kg/day) above it ("caution", as azathioprine above
  the label's 2.5 mg/kg/day);
* mycophenolate mofetil: the top of the lupus nephritis induction range, 3 g/day (1.5 g
  BID) is accepted, 4 g/day is above it; mycophenolic acid x 0.72: 2160 mg/day (1080 mg
  BID) accepted, 2880 mg/day above;
* voclosporin with cyclophosphamide: "not recommended" (Lupkynis label) -> "action".
"""

from __future__ import annotations

import pandas as pd
import pytest

from dashboard import dosing
from tests.rules.builders import dose, patient, run


def checks(doses, weight=70.0) -> pd.DataFrame:
    return run([], doses, [patient("P1", weight=weight)], as_of="2024-12-31").dose_checks_df()


@pytest.mark.parametrize(("mg", "fires"), [(30.0, False), (32.5, True)])
def test_methotrexate_above_the_weekly_ceiling(mg, fires):
    df = checks([dose("P1", "methotrexate", "2024-01-01", amount=mg, frequency="weekly")])
    hit = df[df["rule"] == "dose.mtx_above_max"]
    assert (len(hit) == 1) is fires
    if fires:
        row = hit.iloc[0]
        assert (row["severity"], row["value"], row["value_unit"], row["threshold"]) == ("action", 32.5, "mg/week", 30.0)
        # the Dosing page grades the same dose "high" (its scale for the rules' "action")
        assert dosing.methotrexate_check(mg).max_severity == "high"


@pytest.mark.parametrize(("mg_bid", "fires"), [(140.0, False), (150.0, True)])
def test_ciclosporin_above_the_label_maximum(mg_bid, fires):
    df = checks([dose("P1", "ciclosporin", "2024-01-01", amount=mg_bid, frequency="BID")])
    hit = df[df["rule"] == "dose.ciclosporin_above_max"]
    assert (len(hit) == 1) is fires
    if fires:
        assert hit["severity"].iloc[0] == "caution"
        assert hit["value"].iloc[0] == pytest.approx(300 / 70)
        assert hit["threshold"].iloc[0] == 4.0


def test_ciclosporin_without_a_weight_is_said_not_skipped():
    df = checks([dose("P1", "ciclosporin", "2024-01-01", amount=150, frequency="BID")], weight=float("nan"))
    assert df["rule"].tolist() == ["dose.not_checkable"] and "weight unknown" in df["message"].iloc[0]


@pytest.mark.parametrize(
    ("drug", "mg_bid", "fires", "limit"),
    [
        ("mycophenolate mofetil", 1500.0, False, 3000.0),
        ("mycophenolate mofetil", 2000.0, True, 3000.0),
        ("mycophenolic acid", 1080.0, False, 2160.0),
        ("mycophenolic acid", 1440.0, True, 2160.0),
    ],
)
def test_mycophenolate_above_3_g_a_day(drug, mg_bid, fires, limit):
    df = checks([dose("P1", drug, "2024-01-01", amount=mg_bid, frequency="BID")])
    hit = df[df["rule"].isin(["dose.mmf_above_max", "dose.mpa_above_max"])]
    assert (len(hit) == 1) is fires
    if fires:
        assert hit["severity"].iloc[0] == "caution"
        assert hit["threshold"].iloc[0] == pytest.approx(limit)
        assert hit["value"].iloc[0] == pytest.approx(2 * mg_bid)


def test_voclosporin_with_cyclophosphamide_is_not_recommended():
    doses = [
        dose("P1", "voclosporin", "2024-01-01", amount=23.7, frequency="BID"),
        dose("P1", "cyclophosphamide", "2024-03-01", "2024-03-02", amount=500, frequency="single", route="iv"),
    ]
    df = checks(doses)
    hit = df[df["rule"] == "dose.voclosporin_cyclophosphamide"]
    assert len(hit) == 1
    row = hit.iloc[0]
    assert (row["severity"], row["with_drug"]) == ("action", "cyclophosphamide")
    assert "not recommended" in row["message"]
