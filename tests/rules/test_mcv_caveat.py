"""The MCV flag names a drug only when that drug is taken (audit 18, finding 10).

The rule (BSR 2017 as restated by NICE CKS and SPS: MCV > 105 fL, check B12, folate and
TSH, and if normal discuss with the specialist team) says nothing about azathioprine; the
project added "a rising MCV is expected on azathioprine" to its message, so a patient on
mycophenolate (audit case P1) was told about azathioprine.  By hand:

* MCV 108 on mycophenolate mofetil, or on no drug: the message is the rule's advice only,
  with no drug named, and no caveat;
* on azathioprine (or mercaptopurine, which forms the same 6-TGN): the caveat says a rising
  MCV is expected on it (Decaux et al. 2000: MCV tracks 6-TGN on azathioprine);
* on methotrexate: the caveat says methotrexate can raise the MCV (macrocytosis in 21.6%
  of 1,156 RA patients starting it, Baek et al. 2025) and that it does not spare the B12
  and folate check; it does not claim azathioprine;
* azathioprine stopped before the draw: no thiopurine caveat.
"""

from __future__ import annotations

import pandas as pd
import pytest

from tests.rules.builders import dose, lab, run

PROFILES = [None, "BSR 2017 / NICE"]


def mcv_flag(doses, profile=None) -> pd.Series:
    rv = run([lab("P1", "2024-06-01", "mcv", 108)], doses, profile=profile)
    return rv.flags_df().set_index("rule").loc["bsr.mcv_high"]


@pytest.mark.parametrize("profile", PROFILES)
@pytest.mark.parametrize("doses", [[], [dose("P1", "mycophenolate mofetil", "2024-01-01", amount=2000)]])
def test_no_drug_is_named_when_no_such_drug_is_taken(doses, profile):
    f = mcv_flag(doses, profile)
    assert "B12, folate and TSH" in f["message"]
    assert "azathioprine" not in f["message"] and "azathioprine" not in f["caveat"]
    assert f["caveat"] == ""


@pytest.mark.parametrize("profile", PROFILES)
@pytest.mark.parametrize("drug", ["azathioprine", "mercaptopurine"])
def test_a_thiopurine_gets_the_thiopurine_caveat(drug, profile):
    f = mcv_flag([dose("P1", drug, "2024-01-01", amount=100)], profile)
    assert "azathioprine" not in f["message"]
    assert "expected on azathioprine" in f["caveat"] and "mercaptopurine" in f["caveat"] and "6-TGN" in f["caveat"]


@pytest.mark.parametrize("profile", PROFILES)
def test_methotrexate_gets_its_own_caveat(profile):
    f = mcv_flag([dose("P1", "methotrexate", "2024-01-01", amount=15, frequency="weekly")], profile)
    assert "azathioprine" not in f["message"] and "azathioprine" not in f["caveat"]
    assert "methotrexate" in f["caveat"].lower() and "folate" in f["caveat"]


def test_a_stopped_thiopurine_is_not_named():
    f = mcv_flag([dose("P1", "azathioprine", "2023-01-01", "2024-01-01", amount=100)])
    assert f["caveat"] == ""
