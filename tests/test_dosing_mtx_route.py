"""The Dosing page's methotrexate check by route (probe30, "Left").

dosing.toml: usual 7.5-25 mg/week; the UK oral SmPC (tablets): "should not exceed a
total weekly dose of 20 mg"; tablets of 2.5 mg.  By hand:

* 25 mg weekly by mouth: above the oral label's 20 mg (info) and within the usual range.
* 25 mg weekly subcutaneously: the same usual range; the oral tablets' 20 mg limit and
  whole-tablet rounding are not the injection's, so neither is given, and the page says so.
* 16 mg weekly by mouth is not a whole number of 2.5 mg tablets (nearest 15 mg); by
  injection (a pre-filled syringe or a measured volume) no tablet rounding is given.
"""

from __future__ import annotations

from dashboard import dosing


def _texts(r) -> str:
    return " ".join([*(w.message for w in r.warnings), *r.reasoning])


def test_oral_methotrexate_above_20_mg_gets_the_oral_label_note():
    assert "UK oral methotrexate SmPCs" in _texts(dosing.methotrexate_check(25, "weekly", route="oral"))


def test_subcutaneous_methotrexate_is_not_judged_by_the_oral_label():
    text = _texts(dosing.methotrexate_check(25, "weekly", route="sc"))
    assert "UK oral methotrexate SmPCs" not in text
    assert "Given subcutaneously: the oral tablets' limits" in text


def test_tablet_rounding_is_for_tablets_only():
    assert "nearest 15 mg" in _texts(dosing.methotrexate_check(16, "weekly", route="oral"))
    assert "nearest" not in _texts(dosing.methotrexate_check(16, "weekly", route="sc"))


def test_an_unknown_route_is_judged_as_oral_the_stricter():
    assert "UK oral methotrexate SmPCs" in _texts(dosing.methotrexate_check(25, "weekly", route=""))


def test_the_weekly_ceiling_applies_whatever_the_route():
    # 3E: above 30 mg/week is the ceiling the dose check dose.mtx_above_max holds
    for route in ("oral", "sc", "im"):
        assert "above the 30 mg/week ceiling" in _texts(dosing.methotrexate_check(35, "weekly", route=route))
