"""The sample panel's stories, built as small synthetic patients, reviewed together.

Each patient mirrors one story of the sample panel (issue 4); the review must flag it
as a rheumatologist would, and leave the stable patient alone.
"""

from __future__ import annotations

import pandas as pd
import pytest

from tests.rules.builders import baseline, dose, lab, patient, run, series

AS_OF = "2024-12-01"


def fbc(pid: str, when: str, wbc: float, neut: float, lymph: float, hb: float, plt: float) -> list[dict]:
    return [
        lab(pid, when, "wbc", wbc),
        lab(pid, when, "neutrophils", neut),
        lab(pid, when, "lymphocytes", lymph),
        lab(pid, when, "hemoglobin", hb),
        lab(pid, when, "platelets", plt),
    ]


def monthly(pid: str, months: list[str], **values: float) -> list[dict]:
    out: list[dict] = []
    for m in months:
        out += fbc(pid, f"2024-{m}-01", values["wbc"], values["neut"], values["lymph"], values["hb"], values["plt"])
    return out


NORMAL = {"wbc": 6.5, "neut": 4.0, "lymph": 1.8, "hb": 135, "plt": 260}


def panel():
    labs: list[dict] = []
    doses: list[dict] = []
    patients: list[dict] = []

    # TPMT intermediate on full-dose azathioprine: grade 4 neutropenia at week 7
    labs += fbc("TPMT", "2024-08-01", **NORMAL) + fbc("TPMT", "2024-09-19", 1.6, 0.4, 1.0, 118, 130)
    doses += [dose("TPMT", "azathioprine", "2024-08-01", amount=150)]
    patients += [patient("TPMT", weight=62, sex="F", tpmt="intermediate", diagnosis="SLE")]

    # allopurinol started without cutting azathioprine: pancytopenia 6 weeks later
    labs += monthly("ALLO", ["03", "05", "07", "09"], **NORMAL)
    labs += fbc("ALLO", "2024-11-12", 2.1, 1.1, 0.6, 92, 70)
    doses += [
        dose("ALLO", "azathioprine", "2023-06-01", amount=125),
        dose("ALLO", "allopurinol", "2024-10-01", amount=100),
    ]
    patients += [patient("ALLO", weight=70, sex="M", tpmt="normal", diagnosis="SLE; gout")]

    # macrocytosis on azathioprine
    labs += [lab("MCV", "2024-10-01", "mcv", 107), *fbc("MCV", "2024-10-01", **NORMAL)]
    doses += [dose("MCV", "azathioprine", "2022-01-01", amount=100)]
    patients += [patient("MCV", weight=60, tpmt="normal", diagnosis="SLE")]

    # transaminases above 100 on methotrexate
    labs += [lab("LIVER", "2024-11-01", "alt", 142, ref_high=40), lab("LIVER", "2024-11-01", "ast", 96, ref_high=40)]
    doses += [dose("LIVER", "methotrexate", "2023-01-01", amount=20, frequency="weekly")]
    patients += [patient("LIVER", weight=80, diagnosis="RA")]

    # cyclophosphamide: nadir on day 12 after a pulse, recovered before the next one
    doses += [
        dose("CYC", "cyclophosphamide", "2024-09-02", "2024-11-12", amount=500, frequency="every 2 weeks", route="iv")
    ]
    labs += fbc("CYC", "2024-09-02", **NORMAL) + fbc("CYC", "2024-09-14", 2.4, 0.9, 0.7, 118, 150)
    labs += fbc("CYC", "2024-09-16", **NORMAL) + fbc("CYC", "2024-11-08", **NORMAL)
    patients += [patient("CYC", weight=58, diagnosis="Lupus nephritis class IV")]

    # mycophenolate: mild leukopenia and lymphopenia
    labs += monthly("MMF", ["06", "09"], **NORMAL) + fbc("MMF", "2024-11-20", 3.3, 2.1, 0.7, 128, 210)
    doses += [dose("MMF", "mycophenolate mofetil", "2023-01-01", amount=1000, frequency="BID")]
    patients += [patient("MMF", weight=65, diagnosis="SLE")]

    # lupus flare: thrombocytopenia on an unchanged regimen
    labs += monthly("FLARE", ["05", "08"], **NORMAL) + fbc("FLARE", "2024-11-15", 4.1, 2.6, 0.9, 121, 88)
    doses += [
        dose("FLARE", "hydroxychloroquine", "2020-01-01", amount=200),
        dose("FLARE", "azathioprine", "2022-01-01", amount=100),
    ]
    patients += [patient("FLARE", weight=64, tpmt="normal", diagnosis="Systemic lupus erythematosus")]

    # a slow fall over 4 tests that never crosses a limit
    neut = [6.0, 5.3, 4.7, 4.1]
    labs += series(
        "SLOW", "neutrophils", list(zip(["2024-08-01", "2024-09-01", "2024-10-01", "2024-11-01"], neut, strict=True))
    )
    doses += [dose("SLOW", "azathioprine", "2021-01-01", amount=100)]
    patients += [patient("SLOW", weight=70, tpmt="normal", diagnosis="RA")]

    # overdue: last test in May on long-term methotrexate
    labs += fbc("LATE", "2024-05-10", **NORMAL)
    doses += [dose("LATE", "methotrexate", "2021-01-01", amount=15, frequency="weekly")]
    patients += [patient("LATE", weight=75, diagnosis="RA")]

    # Duffy-null associated neutrophil count, baseline set by the clinician
    labs += monthly("DUFFY", ["07", "09", "11"], wbc=3.9, neut=1.2, lymph=2.0, hb=130, plt=240)
    doses += [dose("DUFFY", "azathioprine", "2023-01-01", amount=100)]
    patients += [patient("DUFFY", weight=68, tpmt="normal", diagnosis="SLE")]
    baselines = [baseline("DUFFY", "neutrophils", 1.2, "Duffy-null associated neutrophil count")]
    baselines += [baseline("DUFFY", "wbc", 3.9, "Duffy-null")]

    # stable: nothing to see
    labs += monthly("STABLE", ["03", "06", "09", "11"], **NORMAL)
    doses += [dose("STABLE", "azathioprine", "2020-01-01", amount=100)]
    patients += [patient("STABLE", weight=70, tpmt="normal", diagnosis="SLE")]
    # pins the BSR 2017 behaviour (FBC-only checks, 2017 sources): selected explicitly
    return run(labs, doses, patients, baselines, as_of=AS_OF, profile="BSR 2017 / NICE")


@pytest.fixture(scope="module")
def review():
    return panel()


def flags_of(review, pid: str) -> pd.DataFrame:
    f = review.flags_df()
    return f[f["patient_id"] == pid]


def summary_of(review, pid: str) -> pd.Series:
    s = review.summary_df()
    return s[s["patient_id"] == pid].iloc[0]


def test_tpmt_intermediate_grade_4_neutropenia_after_starting(review):
    f = flags_of(review, "TPMT").set_index("rule")
    n = f.loc["ctcae.neutrophils"]
    assert (n["ctcae_grade"], n["severity"], n["status"]) == (4, "urgent", "open")
    assert bool(n["after_increase"]) and n["days_since_dose_change"] == 49
    assert n["active_doses"] == "Azathioprine 150 mg/day (2.42 mg/kg/day)"
    assert {"bsr.wbc_low", "bsr.neutrophils_low", "bsr.platelets_low"} <= set(f.index)
    assert "dose.tpmt_nudt15_intermediate" in review.for_patient("TPMT").dose_checks_df()["rule"].tolist()
    assert summary_of(review, "TPMT")["urgency"] == "urgent"


def test_allopurinol_pancytopenia(review):
    f = flags_of(review, "ALLO")
    assert {"bsr.wbc_low", "bsr.neutrophils_low", "bsr.platelets_low", "ctcae.hemoglobin"} <= set(f["rule"])
    assert set(f["days_since_dose_change"]) == {42}  # since allopurinol started
    assert set(f["after_increase"]) == {True}
    dc = review.for_patient("ALLO").dose_checks_df()
    assert dc["rule"].tolist() == ["dose.aza_allopurinol"]
    assert dc["severity"].iloc[0] == "urgent"
    assert summary_of(review, "ALLO")["urgency"] == "urgent"


def test_macrocytosis_advice(review):
    f = flags_of(review, "MCV").set_index("rule")
    assert list(f.index) == ["bsr.mcv_high"]
    assert f.loc["bsr.mcv_high", "severity"] == "caution"
    assert "expected on azathioprine" in f.loc["bsr.mcv_high", "caveat"]


def test_alt_above_100(review):
    f = flags_of(review, "LIVER").set_index("rule")
    assert f.loc["bsr.alt_high", "threshold"] == 100
    assert f.loc["ctcae.alt", "ctcae_grade"] == 2
    assert "bsr.ast_high" not in f.index  # 96 U/L
    assert f.loc["ctcae.ast", "ctcae_grade"] == 1


def test_cyclophosphamide_nadir_is_flagged_and_closed_after_recovery(review):
    f = flags_of(review, "CYC")
    nadir = f[f["rule"] == "ctcae.neutrophils"].iloc[0]
    assert nadir["collected_at"] == pd.Timestamp("2024-09-14")
    assert (nadir["ctcae_grade"], nadir["days_since_pulse"], nadir["status"]) == (3, 12, "closed")
    assert summary_of(review, "CYC")["ctcae_neutrophils"] == 0


def test_mycophenolate_mild_leukopenia_and_lymphopenia(review):
    f = flags_of(review, "MMF").set_index("rule")
    assert f.loc["ctcae.wbc", "ctcae_grade"] == 1
    assert f.loc["ctcae.lymphocytes", "ctcae_grade"] == 2
    assert "bsr.wbc_low" in f.index
    assert "local.lymphocytes_low" not in f.index  # 0.7 is above 0.5


def test_lupus_flare_carries_the_sle_caveat(review):
    f = flags_of(review, "FLARE").set_index("rule")
    assert f.loc["bsr.platelets_low", "value"] == 88
    assert "SLE itself causes cytopenias" in f.loc["bsr.platelets_low", "caveat"]
    assert not bool(f.loc["bsr.platelets_low", "after_increase"])


def test_slow_fall_is_caught_by_the_trend_rule_only(review):
    f = flags_of(review, "SLOW")
    assert f["rule"].tolist() == ["trend.consecutive_falls"]
    assert f["value"].tolist() == [4.1]


def test_overdue_patient(review):
    s = summary_of(review, "LATE")
    assert bool(s["overdue"]) and s["next_test_due"] == pd.Timestamp("2024-08-02")
    assert s["urgency"] == "action"  # more than a whole 12-week interval late


def test_duffy_null_patient_is_not_treated_as_urgent(review):
    f = flags_of(review, "DUFFY")
    assert not f.empty and f["at_baseline"].all()
    assert set(f["severity"]) == {"info"}
    s = summary_of(review, "DUFFY")
    assert s["ctcae_neutrophils"] == 2  # the grade is still shown
    assert s["urgency"] == ""


def test_stable_patient_is_not_flagged(review):
    assert flags_of(review, "STABLE").empty
    s = summary_of(review, "STABLE")
    assert (s["urgency"], s["urgency_score"], bool(s["overdue"])) == ("", 0, False)
    assert review.for_patient("STABLE").dose_checks_df().empty


def test_panel_order(review):
    order = review.summary_df()["patient_id"].tolist()
    assert set(order[:2]) == {"ALLO", "TPMT"}
    assert order.index("STABLE") > order.index("SLOW") > order.index("ALLO")
