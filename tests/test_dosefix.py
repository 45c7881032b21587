"""Fixes of probe30 F2, F3, F4, F8 and F9: a dose per kg or per m2 never passes the mg/day
and mg/week checks unsaid, a weight's unit column is read, the weight used is named with
its date, a maximum the Compare page states is a dose check's, one regimen typed once.

Expected values are worked out by hand from the sources the data files cite (KDIGO 3 g
MMF a day, 3E 30 mg methotrexate a week, Arava 20 mg leflunomide a day, CellCept 2 g a
day below eGFR 25, Lupkynis 15.8 + 7.9 mg with a moderate CYP3A4 inhibitor) and 1 lb =
0.45359237 kg; none is copied from the code's output.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from dashboard import knowledge, model
from dashboard.ingest import ImportOptions, Source, import_sources
from dashboard.rules.review import review

ROOT = Path(__file__).resolve().parents[1]
AS_OF = dt.date(2026, 12, 5)
DOSES_HEAD = "patient_id,drug,dose,dose_unit,frequency,route,start,end\n"
PATIENT_60 = "patient_id,sex,birth_date,weight_kg,tpmt,nudt15\nP1,F,1980-01-01,60,normal,normal\n"


def _labs(egfr: float = 70) -> str:
    return f"patient_id,collected_at,analyte,value,unit\nP1,2026-11-01 09:00,eGFR,{egfr:g},mL/min/1.73m2\n"


def _run(doses: str, patients: str = PATIENT_60, egfr: float = 70):
    sources = [Source("labs.csv", _labs(egfr).encode()), Source("doses.csv", (DOSES_HEAD + doses).encode())]
    if patients:
        sources.append(Source("patients.csv", patients.encode()))
    r = import_sources(sources, ImportOptions(today=AS_OF))
    rv = review(r.labs, r.doses, r.patients, None, None, AS_OF)
    return r, rv.dose_checks_df()


# ----------------------------------------------------------------------------------------
# F9: the voclosporin moderate-CYP3A4 regimen lives in interactions.toml only


def test_the_voclosporin_regimen_on_compare_is_the_one_the_dose_check_reads():
    regimen = knowledge.interactions()["voclosporin_moderate_cyp3a4"].regimen
    assert regimen == "15.8 mg in the morning and 7.9 mg in the evening"  # Lupkynis label
    lines = knowledge.drugs()["voclosporin"].facts["interactions"].value
    assert any(regimen in line and "Moderate CYP3A4" in line for line in lines)
    text = (ROOT / "dashboard/knowledge/data/drugs/voclosporin.toml").read_text(encoding="utf-8")
    assert "15.8 mg in the morning" not in text and "15.8 mg am" not in text


def test_the_voclosporin_advice_states_the_regimen_and_its_daily_total():
    # 15.8 + 7.9 = 23.7 mg a day
    advice = knowledge.interactions()["voclosporin_moderate_cyp3a4"].advice
    assert "15.8 mg in the morning and 7.9 mg in the evening (23.7 mg a day)" in advice
    assert "{" not in advice


def test_an_unknown_interaction_placeholder_is_an_error():
    with pytest.raises(KeyError):
        knowledge.dosing_text("{interactions.no_such_interaction.regimen}")
