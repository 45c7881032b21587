"""The Patient page's table of the baselines the rules use (probe 11 F4, H213).

Expected values by hand: the fall rule's baseline is the median of the last 3 draws before
the first monitored drug; CTCAE's and the creatinine rise's the last draw before it; the
ciclosporin label's the last creatinine before ciclosporin (rules.toml, ctcae.toml).
"""

from __future__ import annotations

import datetime as dt

from dashboard.rules.engine import default_profile, get_profile
from dashboard.views import BASELINE_COLUMNS, pretreatment_baseline_table
from tests.rules.builders import baseline, dose, frame, lab, patient, series

AS_OF = dt.date(2024, 6, 1)


def _table(labs, doses, baselines=(), profile=None):
    return pretreatment_baseline_table(
        frame("labs", labs),
        frame("doses", doses),
        frame("patients", [patient("P1")]),
        frame("baselines", list(baselines)),
        AS_OF,
        profile or default_profile(),
        "P1",
    )


def _row(t, analyte, used_by):
    hit = t[(t["Analyte"] == analyte) & t["Used by"].str.contains(used_by, regex=False)]
    assert len(hit) == 1, t
    return hit.iloc[0]


def test_the_fall_rule_baseline_is_shown_with_its_dates_and_drug():
    # neutrophils 4.0 (2023-06-01), then 5.0, 6.0, 5.5 (Oct-Dec 2023) before azathioprine
    # (2024-01-01): the last 3 are 5.0, 6.0, 5.5, median 5.5.  The 4.0 does not count.
    labs = series("P1", "neutrophils", [("2023-06-01", 4.0), ("2023-10-01", 5.0), ("2023-11-01", 6.0)])
    labs += series("P1", "neutrophils", [("2023-12-01", 5.5), ("2024-05-01", 3.4)])
    t = _table(labs, [dose("P1", "azathioprine", "2024-01-01", amount=100)])
    assert list(t.columns) == BASELINE_COLUMNS
    r = _row(t, "Neutrophils", "trend.baseline_fall")
    assert r["Baseline"] == "5.5 ×10⁹/L"
    assert r["Rests on"] == (
        "median of the last 3 results before Azathioprine started on 2024-01-01, drawn 2023-10-01 to 2023-12-01"
    )


def test_without_enough_results_before_the_drug_the_table_says_the_rule_is_silent():
    # platelets: none before the drug; WBC: 2 before it, 3 needed
    labs = series("P1", "wbc", [("2023-11-01", 6.0), ("2023-12-01", 6.5), ("2024-03-01", 4.0)])
    t = _table(labs, [dose("P1", "azathioprine", "2024-01-01", amount=100)])
    plt = _row(t, "Platelets", "trend.baseline_fall")
    assert plt["Baseline"] == "none"
    assert plt["Rests on"] == "no result before Azathioprine started on 2024-01-01, so the fall rule is silent"
    wbc = _row(t, "WBC", "trend.baseline_fall")
    assert wbc["Rests on"] == (
        "only 2 results before Azathioprine started on 2024-01-01 (3 needed), so the fall rule is silent"
    )
    creat = _row(t, "Creatinine", "bsr.creatinine_rise")
    assert "the rise is measured from the lowest of the previous 365 days" in creat["Rests on"]


def test_without_a_monitored_drug_there_is_no_computed_baseline():
    labs = series("P1", "wbc", [("2023-11-01", 6.0), ("2023-12-01", 6.5), ("2024-01-01", 6.1)])
    t = _table(labs, [dose("P1", "hydroxychloroquine", "2024-01-01", amount=200)])
    r = _row(t, "WBC", "trend.baseline_fall")
    assert r["Baseline"] == "none"
    assert r["Rests on"].startswith("no drug that needs blood monitoring")


def test_creatinine_before_the_first_drug_and_before_ciclosporin_are_both_shown():
    # 90 before methotrexate (2020-01-01); 65 before ciclosporin (2024-01-01)
    labs = series("P1", "creatinine", [("2019-12-01", 90), ("2023-12-15", 65)])
    doses = [dose("P1", "methotrexate", "2020-01-01", amount=15, frequency="weekly")]
    doses += [dose("P1", "ciclosporin", "2024-01-01", amount=200)]
    t = _table(labs, doses)
    first = _row(t, "Creatinine", "bsr.creatinine_rise")
    assert first["Baseline"] == "90 µmol/L"
    assert first["Rests on"] == "the last result before Methotrexate started on 2020-01-01, drawn 2019-12-01"
    assert "ctcae.creatinine" in first["Used by"]
    cic = _row(t, "Creatinine", "label.ciclosporin_creatinine_rise")
    assert cic["Baseline"] == "65 µmol/L"
    assert cic["Rests on"] == "the last result before Ciclosporin started on 2024-01-01, drawn 2023-12-15"


def test_the_ciclosporin_row_is_absent_without_ciclosporin_and_under_ctcae_only():
    labs = series("P1", "creatinine", [("2023-12-15", 65)])
    t = _table(labs, [dose("P1", "methotrexate", "2024-01-01", amount=15, frequency="weekly")])
    assert not t["Used by"].str.contains("label.").any()
    only = _table(labs, [dose("P1", "ciclosporin", "2024-01-01", amount=200)], profile=get_profile("CTCAE only"))
    assert set(only["Used by"]) == {"ctcae.alt", "ctcae.ast", "ctcae.creatinine"}


def test_a_bound_keeps_its_comparator_and_a_clinician_baseline_says_so():
    labs = [lab("P1", d, "neutrophils", 10, comparator=">") for d in ("2023-10-01", "2023-11-01", "2023-12-01")]
    labs += [lab("P1", "2023-12-01", "creatinine", 40, comparator="<")]
    t = _table(labs, [dose("P1", "azathioprine", "2024-01-01", amount=100)], [baseline("P1", "wbc", 2.5, "Duffy-null")])
    neut = _row(t, "Neutrophils", "trend.baseline_fall")
    assert neut["Baseline"] == ">10 ×10⁹/L" and neut["Rests on"].endswith("; censored, so only a bound")
    creat = _row(t, "Creatinine", "bsr.creatinine_rise")
    assert creat["Baseline"] == "<40 µmol/L"
    assert "CTCAE needs a value: it grades on the ULN alone" in creat["Rests on"]
    wbc = _row(t, "WBC", "trend.baseline_fall")
    assert wbc["Baseline"] == "2.5 ×10⁹/L" and wbc["Rests on"] == "clinician-set: Duffy-null"
