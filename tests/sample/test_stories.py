"""Each story of issue 4 is visible in the imported default set (labs/doses/patients CSV).

The patient is found through the manifest's story map; everything else is read from the
canonical tables the importer produced, and judged with the checks in ``helpers``.
"""

from __future__ import annotations

import datetime as dt
import json

import pandas as pd
import pytest

from dashboard.ingest import ImportResult
from tests.sample.conftest import OTHER_SEED, SAMPLE, import_generated
from tests.sample.helpers import (
    between,
    doses_of,
    limit_breaches,
    mg_day_on,
    pulse_days,
    story_pid,
    three_consecutive_falls,
    ts,
    wide,
)

D = pd.Timedelta


# Every test below runs on the committed sample and on a clinic made with another seed.
@pytest.fixture(scope="module", params=["committed", f"seed {OTHER_SEED}"])
def panel(request, default_import, other_seed_files) -> tuple[dict, ImportResult]:
    if request.param == "committed":
        return json.loads((SAMPLE / "manifest.json").read_text(encoding="utf-8")), default_import
    info = json.loads(other_seed_files["manifest.json"])
    today = dt.date.fromisoformat(info["extract_date"])
    return info, import_generated(other_seed_files, info["default_files"], today)


@pytest.fixture(scope="module")
def manifest(panel) -> dict:
    return panel[0]


@pytest.fixture(scope="module")
def labs(panel) -> pd.DataFrame:
    return panel[1].labs_df()


@pytest.fixture(scope="module")
def doses(panel) -> pd.DataFrame:
    return panel[1].doses_df()


@pytest.fixture(scope="module")
def patients(panel) -> pd.DataFrame:
    return panel[1].patients_df()


@pytest.fixture(scope="module")
def extract(manifest: dict) -> dt.date:
    return dt.date.fromisoformat(manifest["extract_date"])


def test_every_story_has_exactly_one_patient(manifest: dict, patients: pd.DataFrame) -> None:
    expected = {
        "aza_dose_response",
        "tpmt_im_neutropenia",
        "allopurinol_pancytopenia",
        "aza_macrocytosis",
        "mtx_transaminitis",
        "cyc_nadir",
        "mmf_mild_cytopenia",
        "lupus_flare",
        "slow_fall",
        "overdue",
        "duffy_null",
        "stable",
    }
    assert set(manifest["stories"]) == expected
    owners = [s["patient"] for s in manifest["stories"].values()]
    assert len(set(owners)) == len(owners)
    assert set(owners) <= set(patients["patient_id"])
    for key, s in manifest["stories"].items():
        assert manifest["patients"][s["patient"]]["story"] == key


def test_aza_dose_dependent_fall_and_recovery(manifest: dict, labs: pd.DataFrame, doses: pd.DataFrame) -> None:
    pid = story_pid(manifest, "aza_dose_response")
    aza = doses_of(doses, pid, "azathioprine")
    high = aza[aza["mg_per_day"] == 150].iloc[0]
    up, down = high["start"], high["end"]
    assert mg_day_on(doses, pid, "azathioprine", up - D(days=1)) == 100
    assert mg_day_on(doses, pid, "azathioprine", down) == 100
    w = wide(labs, pid)
    before = between(w, up - D(days=200), up - D(days=1))
    on_high = between(w, up + D(days=28), down)
    after = between(w, down + D(days=42), down + D(days=200))
    assert len(before) >= 2 and len(on_high) >= 2 and len(after) >= 2
    for a in ("wbc", "neutrophils", "lymphocytes"):
        assert on_high[a].mean() <= 0.8 * before[a].mean(), a
        assert after[a].mean() >= 1.15 * on_high[a].mean(), a
    assert between(w, up + D(days=14), down)["wbc"].min() < 3.5
    # nothing else changed around it: azathioprine is the only immunosuppressant moved
    others = doses_of(doses, pid)
    others = others[others["drug"] != "azathioprine"]
    window = (up - D(days=200), down + D(days=200))
    moved = others[others["start"].between(*window) | others["end"].between(*window)]
    assert moved.empty, moved


def test_tpmt_intermediate_full_dose_grade_3_neutropenia(
    manifest: dict, labs: pd.DataFrame, doses: pd.DataFrame, patients: pd.DataFrame
) -> None:
    pid = story_pid(manifest, "tpmt_im_neutropenia")
    person = patients.set_index("patient_id").loc[pid]
    assert person["tpmt"] == "intermediate"
    first = doses_of(doses, pid, "azathioprine").iloc[0]
    start = first["start"]
    assert first["mg_per_day"] / person["weight_kg"] >= 2.0  # a full dose, not 30-80 % of it
    w = wide(labs, pid)
    assert between(w, start - D(days=400), start - D(days=1))["neutrophils"].min() >= 2.0
    window = between(w, start + D(weeks=4), start + D(weeks=10))
    low = window[window["neutrophils"] < 1.0]  # CTCAE v5 grade 3 or 4
    assert not low.empty
    first_low = low.index[0]
    assert first["end"] - first_low.normalize() <= D(days=7)  # withheld at once
    restart = doses_of(doses, pid, "azathioprine").iloc[1]
    assert restart["mg_per_day"] <= 0.8 * first["mg_per_day"]  # CPIC: 30-80 % for an IM
    assert between(w, restart["start"] + D(weeks=8), restart["start"] + D(days=400))["neutrophils"].min() >= 1.6
    assert manifest["stories"]["tpmt_im_neutropenia"]["facts"]["start"] == start.date().isoformat()


def test_allopurinol_without_reduction_then_pancytopenia(
    manifest: dict, labs: pd.DataFrame, doses: pd.DataFrame
) -> None:
    pid = story_pid(manifest, "allopurinol_pancytopenia")
    allo = doses_of(doses, pid, "allopurinol").iloc[0]["start"]
    aza_dose = mg_day_on(doses, pid, "azathioprine", allo)
    assert aza_dose >= 100
    w = wide(labs, pid)
    ranges = labs[(labs["patient_id"] == pid) & (labs["analyte"] == "hemoglobin")]["ref_low"]
    hb_lln = float(ranges.iloc[0])
    after = between(w, allo + D(weeks=3), allo + D(weeks=10))
    pancytopenic = after[
        (after["wbc"] < 3.5)
        & (after["neutrophils"] < 1.6)
        & (after["platelets"] < 140)
        & (after["hemoglobin"] < hb_lln)
    ]
    assert not pancytopenic.empty
    found = pancytopenic.index[0]
    assert mg_day_on(doses, pid, "azathioprine", found.normalize()) == aza_dose  # never reduced
    last_before = between(w, allo - D(days=200), allo - D(days=1)).iloc[-1]
    assert last_before["wbc"] >= 4.0 and last_before["platelets"] >= 150


def test_macrocytosis_creeps_above_105_on_azathioprine(manifest: dict, labs: pd.DataFrame, doses: pd.DataFrame) -> None:
    pid = story_pid(manifest, "aza_macrocytosis")
    start = doses_of(doses, pid, "azathioprine").iloc[0]["start"]
    w = wide(labs, pid)
    before = w[w.index < start]
    on = w[w.index >= start]
    assert not before.empty and before["mcv"].max() <= 95
    assert on["mcv"].iloc[-1] > 105
    above = on[on["mcv"] > 105]
    assert above.index[0] - start >= D(days=365)  # creeping, not sudden
    assert on["mcv"].iloc[-4:].mean() >= on["mcv"].iloc[:4].mean() + 8
    assert limit_breaches(w, skip=("mcv",)) == []  # the only finding is the MCV


def test_methotrexate_transaminase_rise_above_100(manifest: dict, labs: pd.DataFrame, doses: pd.DataFrame) -> None:
    pid = story_pid(manifest, "mtx_transaminitis")
    mtx = doses_of(doses, pid, "methotrexate")
    assert set(mtx["frequency"]) == {"weekly"}
    up = mtx[mtx["mg_per_week"] == 25].iloc[0]
    assert up["route"] == "sc"
    w = wide(labs, pid)
    assert w[w.index < up["start"]]["alt"].max() <= 60
    peak = between(w, up["start"], up["start"] + D(weeks=16))["alt"]
    assert peak.max() > 100
    assert up["end"] - peak.idxmax().normalize() <= D(days=7)  # withheld after the high ALT
    restart = mtx[mtx["start"] > up["start"]].iloc[0]
    assert restart["mg_per_week"] < 25
    assert between(w, restart["start"] + D(weeks=6), restart["start"] + D(days=400))["alt"].max() <= 45


def test_cyclophosphamide_nadir_on_day_10_to_14(manifest: dict, labs: pd.DataFrame, doses: pd.DataFrame) -> None:
    pid = story_pid(manifest, "cyc_nadir")
    cyc = doses_of(doses, pid, "cyclophosphamide")
    assert len(cyc) == 1
    row = cyc.iloc[0]
    assert (row["dose"], row["dose_unit"], row["frequency"], row["route"]) == (500, "mg", "every 2 weeks", "iv")
    pulses = pulse_days(row["start"], row["end"])
    assert len(pulses) == 6  # Euro-Lupus: 500 mg every 2 weeks x 6
    assert [p.date().isoformat() for p in pulses] == manifest["stories"]["cyc_nadir"]["facts"]["pulses"]
    w = wide(labs, pid)
    for p in pulses:
        cycle = between(w, p + D(days=1), p + D(days=21))
        low_day = (cycle["wbc"].idxmin().normalize() - p).days
        assert 10 <= low_day <= 14, (p, low_day)
        pre = between(w, p, p)["wbc"].iloc[0]  # the FBC taken before the pulse
        assert cycle["wbc"].min() < 0.75 * pre
    mp = doses_of(doses, pid, "methylprednisolone").iloc[0]
    assert mp["route"] == "iv" and mp["start"] < pulses[0]
    aza = doses_of(doses, pid, "azathioprine").iloc[0]["start"]
    assert D(days=0) < aza - pulses[-1] <= D(weeks=4)  # then azathioprine maintenance


def test_mycophenolate_mild_leukopenia_and_lymphopenia(manifest: dict, labs: pd.DataFrame, doses: pd.DataFrame) -> None:
    pid = story_pid(manifest, "mmf_mild_cytopenia")
    mmf = doses_of(doses, pid, "mycophenolate mofetil")
    high = mmf[mmf["mg_per_day"] == 3000].iloc[0]
    w = wide(labs, pid)
    on = between(w, high["start"] + D(weeks=6), high["end"])
    assert (on["wbc"] < 4.0).sum() >= 2 and on["wbc"].min() >= 3.0  # CTCAE grade 1
    assert (on["lymphocytes"] < 1.0).sum() >= 3
    assert w["lymphocytes"].min() >= 0.5 and w["neutrophils"].min() >= 1.6  # mild only
    after = between(w, high["end"] + D(weeks=6), high["end"] + D(days=400))
    assert after["wbc"].mean() > on["wbc"].mean()


def test_lupus_flare_cytopenia_without_dose_change(manifest: dict, labs: pd.DataFrame, doses: pd.DataFrame) -> None:
    pid = story_pid(manifest, "lupus_flare")
    found = ts(manifest["stories"]["lupus_flare"]["facts"]["flare_found"])
    w = wide(labs, pid)
    draw = between(w, found, found).iloc[0]
    assert draw["platelets"] < 100 and draw["wbc"] < 4.0  # SLE criteria thresholds
    rows = doses_of(doses, pid)
    window = (found - D(days=120), found - D(days=1))
    assert rows[rows["start"].between(*window) | rows["end"].between(*window)].empty
    aza = doses_of(doses, pid, "azathioprine")
    assert len(aza) == 1 and aza.iloc[0]["start"] < found - D(days=365) and pd.isna(aza.iloc[0]["end"])
    assert mg_day_on(doses, pid, "prednisone", found + D(days=2)) > mg_day_on(doses, pid, "prednisone", found)
    assert between(w, found + D(days=1), found + D(weeks=8))["platelets"].max() >= 150
    assert limit_breaches(w[w.index < ts(manifest["stories"]["lupus_flare"]["facts"]["flare_onset"])]) == []


def test_slow_fall_trend_without_threshold(manifest: dict, labs: pd.DataFrame, doses: pd.DataFrame) -> None:
    pid = story_pid(manifest, "slow_fall")
    w = wide(labs, pid)
    runs = {a: three_consecutive_falls(w[a].tolist()) for a in ("wbc", "neutrophils")}
    assert any(runs.values())
    assert w["wbc"].min() >= 3.5 and w["neutrophils"].min() >= 1.6
    assert limit_breaches(w, skip=("trend",)) == []
    starts = next(s for s in runs.values() if s)
    run = w.iloc[starts[0] : starts[0] + 4]
    rows = doses_of(doses, pid)
    span = (run.index[0] - D(days=120), run.index[-1])
    assert rows[rows["start"].between(*span) | rows["end"].between(*span)].empty  # stable dose


def test_overdue_patient(manifest: dict, labs: pd.DataFrame, doses: pd.DataFrame, extract: dt.date) -> None:
    pid = story_pid(manifest, "overdue")
    last = wide(labs, pid).index[-1]
    assert (ts(extract) - last).days >= 150  # five months and more
    assert mg_day_on(doses, pid, "azathioprine", ts(extract)) > 0


def test_duffy_null_low_baseline_neutrophils(manifest: dict, labs: pd.DataFrame, doses: pd.DataFrame) -> None:
    pid = story_pid(manifest, "duffy_null")
    w = wide(labs, pid)
    first_drug = doses_of(doses, pid, "methotrexate").iloc[0]["start"]
    pre = w[w.index < first_drug]
    assert len(pre) >= 2
    assert 1.2 <= pre["neutrophils"].median() <= 1.6
    assert w["neutrophils"].min() >= 1.0 and (w["neutrophils"] < 1.6).mean() >= 0.5
    assert limit_breaches(w, skip=("neutrophils",)) == []
    suggested = manifest["stories"]["duffy_null"]["facts"]["suggested_baseline"]
    assert suggested["analyte"] == "neutrophils"
    assert suggested["value"] == pytest.approx(pre["neutrophils"].median(), abs=0.01)


def test_stable_patient_has_nothing_to_flag(manifest: dict, labs: pd.DataFrame) -> None:
    pid = story_pid(manifest, "stable")
    w = wide(labs, pid)
    assert limit_breaches(w) == []
    sub = labs[(labs["patient_id"] == pid) & (labs["analyte"] != "egfr")]
    assert ((sub["value"] >= sub["ref_low"]) | sub["ref_low"].isna()).all()
    assert ((sub["value"] <= sub["ref_high"]) | sub["ref_high"].isna()).all()
    assert (sub["source_flag"] == "").all()


def test_routine_patients_stay_inside_every_limit(manifest: dict, labs: pd.DataFrame) -> None:
    routine = [pid for pid, p in manifest["patients"].items() if p["story"] == "routine"]
    assert len(routine) >= 18
    for pid in routine:
        assert limit_breaches(wide(labs, pid)) == [], pid
