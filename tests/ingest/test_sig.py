"""Prescription instructions: the amount and frequency they state plainly, never a guess."""

import pytest

from dashboard.ingest.sig import Sig, read_sig


@pytest.mark.parametrize(
    ("text", "strength", "expected"),
    [
        ("Take 2 tablets (100 mg total) by mouth daily.", 50, Sig("100 mg", "daily")),
        ("Take 1000 mg by mouth 2 (two) times daily.", None, Sig("1000 mg", "BID")),
        ("TAKE 1 TABLET BY MOUTH TWICE DAILY", None, Sig("1 tablet", "BID")),
        ("Take ONE tablet TWICE a day", None, Sig("1 tablet", "BID")),
        ("Take 1 capsule (0.5 mg total) every 12 (twelve) hours", None, Sig("0.5 mg", "BID")),
        ("Inject 0.6 mL (15 mg total) under the skin once a week on Fridays", None, Sig("15 mg", "weekly")),
        ("Take 3 tablets every Monday", None, Sig("3 tablet", "weekly")),
        ("Take 1/2 tablet by mouth every other day", None, Sig("0.5 tablet", "every 2 days")),
        ("1 g bd", None, Sig("1000 mg", "BID")),
        ("Take 150 mg by mouth every morning.", None, Sig("150 mg", "daily")),
        ("1 tablet (50 mg) daily", 50, Sig("50 mg", "daily")),  # count and mass agree
        # amounts that disagree are never resolved by picking one
        ("2.5mg x 6 tabs weekly (15mg)", 2.5, Sig("", "weekly", conflicting=True)),
        ("500mg in the morning and 1g at night", None, Sig("", "daily", conflicting=True)),
        ("Take 2 tablets in the morning and 1 tablet at night", None, Sig("", "daily", conflicting=True)),
        ("1 tablet (50 mg) daily", None, Sig("", "daily", conflicting=True)),  # strength unknown
        ("2 x 500 mg bd", None, Sig("", "BID", conflicting=True)),
        # a schedule the model has no word for is not read as weekly
        ("Take 2 tablets by mouth twice weekly", None, Sig("2 tablet", "")),
        ("Take 40 mg daily then taper as directed", None, Sig("40 mg", "prn")),
    ],
)
def test_prescription_instructions(text, strength, expected):
    assert read_sig(text, strength) == expected
