"""MIMIC-III and MIMIC-IV demo extracts (real, de-identified; tests/fixtures/mimic*/SOURCES.md).

MIMIC-III admission 186361 (subject 40310) received methotrexate and cyclophosphamide
cycles and fell from a WBC of 14.2 to 0.1 K/uL with platelets down to 11 K/uL; those
values and the doses must arrive unchanged on the patient's timeline.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pandas as pd
import pytest

from dashboard import cli
from dashboard.ingest import ImportOptions, ImportResult, Source, import_paths, import_sources

TODAY = dt.date(2026, 11, 25)
MIMIC3 = ("D_LABITEMS_cbc.csv", "LABEVENTS_cbc_3admissions.csv", "PRESCRIPTIONS_immunosuppressants.csv")


def check(result: ImportResult) -> ImportResult:
    for f in result.report.files:
        assert f.balanced, f"{f.path}: {f.rows_read} != {f.rows_accepted}+{f.rows_rejected}+{f.duplicates}"
    return result


def load(*paths: Path, **options) -> ImportResult:
    return check(import_paths(paths, ImportOptions(today=TODAY, **options)))


def load_text(name: str, text: str, **options) -> ImportResult:
    return check(import_sources([Source(name, text.encode())], ImportOptions(today=TODAY, **options)))


def report(result: ImportResult, name: str):
    return next(f for f in result.report.files if f.path == name)


@pytest.fixture
def mimic3(fixtures: Path) -> Path:
    return fixtures / "mimic3"


@pytest.fixture
def admission_186361(mimic3: Path) -> ImportResult:
    # given in an order that puts the data before the dictionary: priority() reorders
    return load(*(mimic3 / n for n in reversed(MIMIC3)), mimic3 / "PATIENTS_immunosuppressed.csv")


# --------------------------------------------------------------------------- MIMIC-III


def test_mimic3_every_row_accounted(admission_186361: ImportResult) -> None:
    files = {f.path: f for f in admission_186361.report.files}
    assert files["D_LABITEMS_cbc.csv"].kind == "dictionary"
    order = [f.path for f in admission_186361.report.files]
    assert order[0] == "D_LABITEMS_cbc.csv"  # the dictionary first
    assert order.index("LABEVENTS_cbc_3admissions.csv") > order.index("PRESCRIPTIONS_immunosuppressants.csv")
    assert [files[n].rows_read for n in MIMIC3] == [19, 554, 80]
    assert files["LABEVENTS_cbc_3admissions.csv"].format == "MIMIC-III labevents"
    assert files["PRESCRIPTIONS_immunosuppressants.csv"].format == "MIMIC-III prescriptions"
    assert files["PATIENTS_immunosuppressed.csv"].format == "MIMIC-III patients"
    assert all(f.error == "" for f in files.values())


def test_mimic3_leukopenia_and_thrombocytopenia_of_186361(admission_186361: ImportResult) -> None:
    labs = admission_186361.labs_df()
    # the lab extract has only HADM_ID; PRESCRIPTIONS links admission 186361 to subject 40310
    assert "186361" not in set(labs.patient_id)
    pt = labs[labs.patient_id == "40310"]
    wbc = pt[pt.analyte == "wbc"].set_index("collected_at").value
    assert wbc[pd.Timestamp("2144-07-13 13:39")] == pytest.approx(14.2)
    assert wbc.min() == pytest.approx(0.1)  # K/uL == 10^9/L
    assert wbc.idxmin() == pd.Timestamp("2144-07-25 03:08")
    assert (wbc[wbc.index >= pd.Timestamp("2144-07-25")].iloc[:10] == 0.1).all()
    assert set(pt[pt.analyte == "wbc"].unit) == {"10^9/L"}
    plt = pt[pt.analyte == "platelets"].set_index("collected_at").value
    assert plt[pd.Timestamp("2144-07-13 03:00")] == pytest.approx(289)
    assert plt[pd.Timestamp("2144-07-22 11:33")] == pytest.approx(68)
    assert plt.min() == pytest.approx(11)
    # the % neutrophils become an absolute count with the WBC of the same draw
    anc = pt[(pt.analyte == "neutrophils") & pt.derived].set_index("collected_at").value
    assert anc[pd.Timestamp("2144-07-11 16:10")] == pytest.approx(11.6 * 37 / 100)
    flags = pt[(pt.analyte == "wbc") & (pt.collected_at == pd.Timestamp("2144-07-25 03:08"))].source_flag
    assert list(flags) == ["abnormal"]
    rep = report(admission_186361, "LABEVENTS_cbc_3admissions.csv")
    assert any("filed under their patient (SUBJECT_ID)" in w.message for w in rep.warnings)


def test_mimic3_chemotherapy_doses_on_the_timeline(admission_186361: ImportResult) -> None:
    doses = admission_186361.doses_df()
    pt = doses[doses.patient_id == "40310"]

    def interval(drug: str, start: str) -> pd.Series:
        rows = pt[(pt.drug == drug) & (pt.start == pd.Timestamp(start))]
        assert len(rows) >= 1, f"{drug} {start} missing"
        return rows.iloc[0]

    cyc = interval("cyclophosphamide", "2144-07-21")
    assert (cyc.end, cyc.dose, cyc.dose_unit, cyc.route) == (pd.Timestamp("2144-07-24"), 600.0, "mg", "iv")
    assert interval("cyclophosphamide", "2144-08-16").dose == 1440.0
    mtx = interval("methotrexate", "2144-08-08")
    assert (mtx.end, mtx.dose, mtx.route) == (pd.Timestamp("2144-08-09"), 6685.0, "iv")
    it = interval("methotrexate", "2144-07-22")  # intrathecal: no route of the model fits
    assert (it.dose, it.route, it.end) == (12.0, "", pd.Timestamp("2144-07-26"))
    assert set(pt.drug) == {"methotrexate", "cyclophosphamide", "prednisone"}
    assert (pt.frequency == "unknown").all()  # MIMIC-III gives no frequency: none is invented
    assert pt.mg_per_day.isna().all()


def test_mimic3_end_before_start_is_reported(admission_186361: ImportResult) -> None:
    rep = report(admission_186361, "PRESCRIPTIONS_immunosuppressants.csv")
    problem = next(p for p in rep.problems if p.row == 59)
    assert problem.message == "ends (2144-08-13) before it starts (2144-08-16)"
    assert "Cyclophosphamide" in problem.value


def test_mimic3_zero_dose_orders_rejected_with_reason(admission_186361: ImportResult) -> None:
    rep = report(admission_186361, "PRESCRIPTIONS_immunosuppressants.csv")
    zero = [p for p in rep.problems if p.message.startswith("an order for 0 mg")]
    assert len(zero) == 17
    assert any("Check with MD for Dose" in p.value for p in zero)


def test_mimic3_concurrent_capsule_strengths_are_one_dose(admission_186361: ImportResult) -> None:
    doses = admission_186361.doses_df()
    tac = doses[(doses.patient_id == "41914") & (doses.drug == "tacrolimus")].set_index("start")
    day = tac.loc[pd.Timestamp("2145-12-05")]
    assert day.dose == pytest.approx(1.5)  # 0.5 mg capsule + 1 mg capsule, same period
    assert day.end == pd.Timestamp("2145-12-07")
    assert "0.5mg Capsule + 1 mg Capsule" in day.source_text
    assert list(tac.dose) == [2.0, 1.0, 1.5, 2.0, 1.5, 2.0]
    rep = report(admission_186361, "PRESCRIPTIONS_immunosuppressants.csv")
    assert any(w.message.startswith("rows 4, 5: concurrent tacrolimus orders") for w in rep.warnings)
    # 10 mg + 50 mg prednisone tablets on the same days: 60 mg
    pred = doses[(doses.patient_id == "40310") & (doses.drug == "prednisone")].set_index("start")
    assert pred.loc[pd.Timestamp("2144-07-11"), "dose"] == 60.0
    # a capsule and a suspension on the same day are not added up, but flagged
    assert any("different forms" in w.message for w in rep.warnings)


def test_mimic3_repeated_identical_order_counted_once(admission_186361: ImportResult) -> None:
    rep = report(admission_186361, "PRESCRIPTIONS_immunosuppressants.csv")
    # rows 75 and 76: methotrexate 6685 mg IV on 2144-10-12, entered twice
    assert rep.duplicates >= 1
    assert any(w.row == 76 and w.message == "same dose already imported" for w in rep.warnings)


def test_mimic3_future_dates_kept_and_noted_once(admission_186361: ImportResult) -> None:
    rep = report(admission_186361, "LABEVENTS_cbc_3admissions.csv")
    notes = [w for w in rep.warnings if "MIMIC shifts every date" in w.message]
    assert len(notes) == 1
    assert admission_186361.labs_df().collected_at.min().year >= 2100


def test_mimic3_labevents_alone_filed_under_admission(mimic3: Path) -> None:
    result = load(mimic3 / "LABEVENTS_cbc_3admissions.csv")
    assert set(result.labs_df().patient_id) == {"101361", "167021", "186361"}
    rep = result.report.files[0]
    assert rep.rows_accepted == 554
    assert any("filed under the admission id (HADM_ID)" in w.message for w in rep.warnings)


def test_mimic3_patients_with_excel_mangled_dates(mimic3: Path) -> None:
    result = load(mimic3 / "PATIENTS_immunosuppressed.csv")
    rep = result.report.files[0]
    assert (rep.rows_read, rep.rows_accepted) == (21, 21)
    assert rep.date_order == "month-first"
    assert any("two-digit years" in w.message and "20 DOB" in w.message for w in rep.warnings)
    assert any("older than 89" in w.message for w in rep.warnings)
    patients = result.patients_df().set_index("patient_id")
    assert patients.loc["40310", "sex"] == "M"
    # "9/21/75": MIMIC's shifted years cannot be told from two digits (19yy or 20yy would
    # be a guess), so the birth date is unknown and the warning says so (probe 10 F3, H182)
    assert pd.isna(patients.loc["10017", "birth_date"])
    assert any("left unknown" in w.message for w in rep.warnings)


def test_d_labitems_gives_names_and_keeps_other_fluids_out(mimic3: Path) -> None:
    # the real dictionary excerpt plus two hand-made items the bundled table does not list
    items = (mimic3 / "D_LABITEMS_cbc.csv").read_text() + (
        "9001,90001,Fibrinogen (hand-made),Blood,Hematology,3255-7\n9002,90002,ANC (hand-made),Blood,Hematology,751-8\n"
    )
    labevents = (
        "HADM_ID,ITEMID,CHARTTIME,VALUE,VALUEUOM,FLAG\n"
        "1,51516,2150-01-01 10:00:00,12,#/hpf,abnormal\n"  # WBC in urine
        "1,90001,2150-01-01 10:00:00,3.1,g/L,\n"  # a blood item that is not monitored
        "1,99999,2150-01-01 10:00:00,7,mg/dL,\n"  # in no dictionary
        "1,51301,2150-01-01 10:00:00,<0.1,K/uL,abnormal\n"
        "1,90002,2150-01-01 10:00:00,0.05,K/uL,abnormal\n"  # recognised by its LOINC code
    )
    result = check(
        import_sources(
            [Source("labs.csv", labevents.encode()), Source("items.csv", items.encode())],
            ImportOptions(today=TODAY),
        )
    )
    rep = report(result, "labs.csv")
    assert [p.message for p in rep.problems] == [
        "not a monitored analyte: WBC [Urine] (itemid 51516)",
        "not a monitored analyte: Fibrinogen (hand-made) (itemid 90001) (3255-7)",
        "not a monitored analyte: itemid 99999",
    ]
    labs = result.labs_df().set_index("analyte")
    assert (labs.loc["wbc", "value"], labs.loc["wbc", "comparator"]) == (0.1, "<")
    assert labs.loc["neutrophils", "value"] == 0.05


def test_full_labevents_use_the_dictionary_given_after_them(mimic3: Path) -> None:
    labevents = (
        "ROW_ID,SUBJECT_ID,HADM_ID,ITEMID,CHARTTIME,VALUE,VALUENUM,VALUEUOM,FLAG\n"
        "1,40310,186361,51516,2144-07-11 16:10:00,12,12,#/hpf,abnormal\n"
    )
    result = check(
        import_sources(
            [
                Source("LABEVENTS.csv", labevents.encode()),
                Source("D_LABITEMS.csv", (mimic3 / "D_LABITEMS_cbc.csv").read_bytes()),
            ],
            ImportOptions(today=TODAY),
        )
    )
    assert report(result, "LABEVENTS.csv").problems[0].message == (
        "not a monitored analyte: WBC [Urine] (itemid 51516)"
    )


def test_cli_json_report(mimic3: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = cli.main(["import", *(str(mimic3 / n) for n in MIMIC3), "--json"])
    assert code == 0
    data = json.loads(capsys.readouterr().out)
    assert data["labs"] > 500 and data["doses"] > 40
    for f in data["files"]:
        assert f["rows_read"] == f["rows_accepted"] + f["rows_rejected"] + f["duplicates"]


# --------------------------------------------------------------------------- MIMIC-IV


def test_mimic4_labevents_without_dictionary(fixtures: Path) -> None:
    result = load(fixtures / "mimic4" / "labevents_excerpt.csv")
    rep = result.report.files[0]
    assert rep.format == "MIMIC-IV labevents"
    assert rep.rows_read == 32
    assert rep.date_order == "month-first"  # re-saved by Excel: 8/16/2148 settles it
    labs = result.labs_df()
    pt = labs[labs.patient_id == "10014354"].set_index(["analyte", "collected_at"])
    first = pd.Timestamp("2148-08-16")
    wbc = pt.loc[("wbc", first)]
    assert (wbc.value, wbc.ref_low, wbc.ref_high, wbc.source_flag) == (20.3, 4.0, 10.0, "abnormal")
    hb = pt.loc[("hemoglobin", first)]
    assert (hb.value, hb.ref_low, hb.ref_high) == (92.0, 137.0, 175.0)  # g/dL row range -> g/L
    assert pt.loc[("neutrophils", first)].value == pytest.approx(8.93)  # 52075, absolute count
    assert pt.loc[("eosinophils", first)].value == 0.0
    assert pt.loc[("alt", first)].value == 14.0
    problems = {p.row: p.message for p in rep.problems}
    assert problems[2] == "not a monitored analyte: RDW (itemid 51277)"  # named by the bundled table
    # row 31: '___' with valuenum 64 (% neutrophils) -> valuenum; no WBC in that draw
    assert problems[31] == "percentage differential without a WBC from the same draw to make it an absolute count"
    assert any("VALUENUM was used" in w.message for w in rep.warnings)
    assert any("censored result" in w.message for w in rep.warnings)


MIMIC4_HEADER = (
    "labevent_id,subject_id,hadm_id,specimen_id,itemid,order_provider_id,charttime,storetime,"
    "value,valuenum,valueuom,ref_range_lower,ref_range_upper,flag,priority,comments\n"
)


def test_mimic4_masked_values_and_censored_comments() -> None:
    text = MIMIC4_HEADER + (
        "1,7,70,700,51301,,2150-03-02 06:00:00,,___,3.2,K/uL,4,10,abnormal,ROUTINE,\n"
        "2,7,70,700,51265,,2150-03-02 06:00:00,,,,K/uL,150,400,abnormal,ROUTINE,<5.\n"
        "3,7,70,700,51222,,2150-03-02 06:00:00,,___,,g/dL,13.7,17.5,,ROUTINE,\n"
    )
    result = load_text("labevents.csv", text)
    labs = result.labs_df().set_index("analyte")
    assert labs.loc["wbc", "value"] == 3.2 and labs.loc["wbc", "comparator"] == ""
    assert (labs.loc["platelets", "value"], labs.loc["platelets", "comparator"]) == (5.0, "<")
    rep = result.report.files[0]
    assert [p.message for p in rep.problems] == ["no numeric result ('___')"]


def test_mimic4_ambiguous_dates_need_a_choice(fixtures: Path) -> None:
    text = (fixtures / "mimic4" / "labevents_excerpt.csv").read_text()
    # keep only 10014354's first draw and move it to a day <= 12: nothing settles the order
    lines = [ln for ln in text.splitlines() if "8/16/2148" in ln or ln.startswith("labevent_id")]
    ambiguous = "\n".join(ln.replace("8/16/2148", "8/6/2148") for ln in lines) + "\n"
    result = load_text("labevents.csv", ambiguous)
    rep = result.report.files[0]
    assert rep.needs == "date_order"
    assert rep.rows_read == len(lines) - 1 == rep.rows_rejected
    assert result.labs.num_rows == 0
    chosen = load_text("labevents.csv", ambiguous, date_order="monthfirst")
    assert chosen.labs_df().collected_at.iloc[0] == pd.Timestamp("2148-08-06")


MIMIC4_RX_HEADER = (
    "subject_id,hadm_id,pharmacy_id,poe_id,poe_seq,order_provider_id,starttime,stoptime,drug_type,drug,"
    "formulary_drug_cd,gsn,ndc,prod_strength,form_rx,dose_val_rx,dose_unit_rx,form_val_disp,form_unit_disp,"
    "doses_per_24_hrs,route\n"
)


def test_mimic4_prescriptions(fixtures: Path) -> None:
    real = load(fixtures / "mimic4" / "prescriptions_header_and_rows.csv").report.files[0]
    assert (real.format, real.rows_read, real.rows_rejected) == ("MIMIC-IV prescriptions", 4, 4)
    text = MIMIC4_RX_HEADER + (
        "9,90,1,,,,2150-04-07 08:00:00,2150-04-20 08:00:00,MAIN,Tacrolimus,TACR1,,,1 mg Capsule,,2,mg,2,CAP,2,PO\n"
        "9,90,2,,,,2150-04-07 08:00:00,2150-04-09 08:00:00,MAIN,Prednisone,PRED5,,,5mg Tablet,,5-10,mg,1,TAB,1,PO\n"
        "9,90,3,,,,2150-04-09 08:00:00,2150-04-08 08:00:00,MAIN,Mycophenolate Mofetil,MYCO,,,500mg Tab,,1000,mg,2,TAB,2,PO\n"
    )
    result = load_text("prescriptions.csv", text)
    doses = result.doses_df().set_index("drug")
    tac = doses.loc["tacrolimus"]
    assert (tac.dose, tac.frequency, tac.mg_per_day) == (2.0, "BID", 4.0)
    assert tac.start == pd.Timestamp("2150-04-07 08:00")
    # issue 16: a range (5-10 mg) is not a dose the source states once: rejected with the
    # reason (it was read as its upper value, 10 mg)
    assert "prednisone" not in doses.index
    rep = result.report.files[0]
    assert [p.message for p in rep.problems] == [
        "a range of doses ('5-10'): enter the one dose given",
        "ends (2150-04-08) before it starts (2150-04-09)",
    ]


def test_other_mimic_tables_are_counted_not_blocking() -> None:
    text = "ROW_ID,SUBJECT_ID,HADM_ID,ICUSTAY_ID,DBSOURCE,FIRST_CAREUNIT,LAST_CAREUNIT,INTIME,OUTTIME,LOS\n"
    text += "1,40310,186361,210989,metavision,MICU,MICU,2144-07-20 10:00:00,2144-07-30 10:00:00,10\n"
    rep = load_text("ICUSTAYS.csv", text).report.files[0]
    assert rep.needs == ""
    assert (rep.rows_read, rep.rows_rejected) == (1, 1)
    assert rep.problems[0].message.startswith("MIMIC table not used")


def test_bundled_itemid_table_covers_the_monitored_items() -> None:
    from dashboard.ingest.mimic import bundled_items

    items = bundled_items()
    assert {i.analyte for i in items.values()} - {""} == {
        "wbc",
        "platelets",
        "hemoglobin",
        "mcv",
        "neutrophils",
        "lymphocytes",
        "eosinophils",
        "alt",
        "ast",
        "albumin",
        "creatinine",
        "egfr",
    }
    assert items["51244"].percent and items["51256"].percent and not items["52075"].percent


def test_own_extract_with_a_subject_id_still_asks_for_a_mapping() -> None:
    text = "subject_id,hadm_id,when_drawn,test_label,num,uom\n7,70,2150-01-02 08:00,WBC,5.0,K/uL\n"
    rep = load_text("my_extract.csv", text).report.files[0]
    assert rep.needs == "mapping"
