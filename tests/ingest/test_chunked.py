"""The streamed import of a large file gives the same report and rows as the in-memory one."""

import csv
import datetime as dt
import math
import random

import pyarrow.parquet as pq
import pytest

from dashboard.cli.main import write_tables
from dashboard.ingest import ImportOptions, import_paths
from dashboard.ingest.chunked import NotStreamable, import_to_parquet

TODAY = dt.date(2026, 11, 25)
ANALYTES = [
    ("WBC", ["10^9/L", "x10^9/L", "/nL"], 6.5),
    ("Neutrophils", ["10^9/L"], 4.0),
    ("Haemoglobin", ["g/L", "g/dL"], 130.0),
    ("Platelets", ["10^9/L", "10*3/uL"], 250.0),
    ("ALT", ["U/L", "IU/L"], 25.0),
]


def _export(path, rows=50_000, seed=5):
    """A long export with repeats across the file: exact duplicates, conflicting results
    of one draw, rejected rows of several kinds and units that need converting."""
    rng = random.Random(seed)
    out = []
    n = 0
    while n < rows:
        pid = f"P{rng.randint(1, 700):04d}"
        when = dt.datetime(2021, 1, 1) + dt.timedelta(days=rng.randint(0, 900), minutes=rng.randint(0, 600))
        for name, units, mu in ANALYTES:
            unit = rng.choice(units)
            value = abs(rng.gauss(mu, mu / 4))
            if unit == "g/dL":
                value /= 10
            text = f"{value:.1f}"
            odd = rng.random()
            if odd < 0.004:
                text = rng.choice(["", "abc", "0", "-3", ">>5"])
            elif odd < 0.006:
                unit = "mmol/L"
            elif odd < 0.008:
                name = "Sodium"
            elif odd < 0.010:
                text = "<0.5"
            stamp = when.strftime("%Y-%m-%d %H:%M")
            if rng.random() < 0.001:
                stamp = rng.choice(["2024-02-30 08:00", "2031-05-01 09:00", ""])
            out.append([pid, stamp, name, text, unit])
            n += 1
    for _ in range(300):  # exact duplicates, later in the file
        out.append(list(out[rng.randrange(len(out))]))
    for _ in range(60):  # conflicting results: same draw, another value
        row = list(out[rng.randrange(len(out))])
        row[3] = "7.7" if row[3] != "7.7" else "7.8"
        out.append(row)
    rng.shuffle(out)
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["patient_id", "collected_at", "analyte", "value", "unit"])
        w.writerows(out)
    return path


def _tables(folder):
    return {t: pq.read_table(folder / f"{t}.parquet") for t in ("labs", "doses", "patients")}


def _values(table):
    """Every column's values, NaN as None (NaN never equals itself)."""
    return {
        c: [None if isinstance(v, float) and math.isnan(v) else v for v in table.column(c).to_pylist()]
        for c in table.column_names
    }


def test_streamed_import_matches_the_in_memory_import(tmp_path):
    src = _export(tmp_path / "labs.csv")
    options = ImportOptions(today=TODAY)
    whole = import_paths([src], options)
    write_tables(whole, tmp_path / "a")
    streamed = import_to_parquet(src, tmp_path / "b", options, block_bytes=1 << 16)
    streamed.commit()
    mine, theirs = streamed.report.to_dict(), whole.report.to_dict()
    f = theirs["files"][0]
    assert f["duplicates"] > 0 and f["rows_rejected"] > 0 and f["conversions"]  # the file exercises them
    assert any("different" in w["message"] for w in f["warnings"])
    assert mine == theirs
    a, b = _tables(tmp_path / "a"), _tables(tmp_path / "b")
    for name in a:
        assert b[name].schema == a[name].schema
        assert _values(b[name]) == _values(a[name]), name
    assert pq.ParquetFile(tmp_path / "b" / "labs.parquet").metadata.num_row_groups > 5  # several blocks


@pytest.mark.parametrize(
    ("late", "encoding"),
    [
        ("P1,2024-01-02,WBC\n", "utf-8"),  # a ragged line
        ("\n", "utf-8"),  # a blank line
        (",,,,\n", "utf-8"),  # a line of bare delimiters
        ("patient_id,collected_at,analyte,value,unit\n", "utf-8"),  # the header again
        ("collected_at,patient_id,analyte,unit,value\n", "utf-8"),  # the header in another column order
        ("patient_id,received_at,analyte,value,unit\n", "utf-8"),  # another export's header
        ("P\xe91,2024-01-02 08:00,WBC,5.5,10^9/L\n", "latin-1"),  # not UTF-8 after all
        ("P1,02/01/24 08:00,WBC,5.5,10^9/L\n", "utf-8"),  # a date order to choose
        ("P1,2024-01-02 08:00,Neutrophils,55,%\n", "utf-8"),  # a % differential
        ('P1,2024-01-02 08:00,WBC,"5,5",10^9/L\n', "utf-8"),  # another decimal separator
    ],
)
def test_a_file_it_cannot_stream_is_left_to_the_in_memory_import(tmp_path, late, encoding):
    """What the streamed import cannot reproduce exactly, even far past the head of the
    file, sends the file back to the in-memory import before anything is written."""
    rows = "".join(
        f"P{i % 50},2024-01-{i % 28 + 1:02d} 08:{i % 60:02d},WBC,{5 + i % 3}.1,10^9/L\n" for i in range(40_000)
    )
    src = tmp_path / "late.csv"
    src.write_bytes(("patient_id,collected_at,analyte,value,unit\n" + rows + late + rows).encode(encoding))
    with pytest.raises(NotStreamable):
        import_to_parquet(src, tmp_path / "out", ImportOptions(today=TODAY), block_bytes=1 << 16)
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_import_command_streams_a_large_file_with_the_same_output(tmp_path, monkeypatch, capsys):
    """``import --out`` streams a file over DASHBOARD_STREAM_BYTES: same printed report, same tables."""
    from dashboard.cli.main import main

    src = _export(tmp_path / "labs.csv", rows=8_000)
    monkeypatch.setenv("DASHBOARD_STREAM_BYTES", str(10**12))
    assert main(["import", str(src), "--out", str(tmp_path / "a")]) == 0
    in_memory = capsys.readouterr().out
    monkeypatch.setenv("DASHBOARD_STREAM_BYTES", "1")
    monkeypatch.setattr("dashboard.ingest.chunked.BLOCK_BYTES", 1 << 15)
    assert main(["import", str(src), "--out", str(tmp_path / "b")]) == 0
    assert capsys.readouterr().out.replace(str(tmp_path / "b"), "OUT") == in_memory.replace(str(tmp_path / "a"), "OUT")
    a, b = _tables(tmp_path / "a"), _tables(tmp_path / "b")
    assert all(_values(a[t]) == _values(b[t]) for t in a)
    assert pq.ParquetFile(tmp_path / "b" / "labs.parquet").metadata.num_row_groups > 1
    assert sorted(p.name for p in (tmp_path / "b").iterdir()) == ["doses.parquet", "labs.parquet", "patients.parquet"]


def test_a_users_own_extract_with_mimic_like_ids_is_streamed(tmp_path):
    """A table with ``row_id`` and ``subject_id`` that the column mapping reads is the
    user's own extract, not a MIMIC table (the MIMIC reader leaves it to the mapping):
    it is streamed, as it was before the readers were chosen by header shape.  A Synthea
    observations table goes to its own reader."""
    rows = "".join(f"{i},P{i % 7},2024-01-{i % 28 + 1:02d},WBC,{3 + i % 5},10^9/L\n" for i in range(400))
    src = tmp_path / "extract.csv"
    src.write_text("row_id,subject_id,collected_at,analyte,value,unit\n" + rows)
    streamed = import_to_parquet(src, tmp_path / "out", ImportOptions(today=TODAY), block_bytes=4096)
    f = streamed.report.files[0]
    assert (f.rows_read, f.rows_accepted + f.duplicates, f.rows_rejected) == (400, 400, 0)
    synthea = tmp_path / "observations.csv"
    synthea.write_text(
        "DATE,PATIENT,ENCOUNTER,CODE,DESCRIPTION,VALUE,UNITS,TYPE\n"
        + "".join(f"2024-01-0{i % 9 + 1},p{i},e{i},6690-2,Leukocytes,{5 + i % 3},10*3/uL,numeric\n" for i in range(400))
    )
    with pytest.raises(NotStreamable, match="a known export's own reader"):
        import_to_parquet(synthea, tmp_path / "out2", ImportOptions(today=TODAY), block_bytes=4096)


def test_a_corrected_result_is_left_to_the_in_memory_import(tmp_path):
    """A correction far down the file may replace a result of a block already written
    (H132): the streamed import refuses the file before writing, and the in-memory import
    rejects the result it corrects, naming the correction."""
    rows = "".join(
        f"P{i % 50},2024-01-{i % 28 + 1:02d} 08:{i % 60:02d},WBC,{5 + i % 3}.1,10^9/L,F\n" for i in range(400)
    )
    late = "P0,2024-01-01 08:00,WBC,2.0,10^9/L,C\n"  # corrects the first row's 5.1
    src = tmp_path / "corrected.csv"
    src.write_text("patient_id,collected_at,analyte,value,unit,status\n" + rows + late)
    with pytest.raises(NotStreamable, match="corrected"):
        import_to_parquet(src, tmp_path / "out", ImportOptions(today=TODAY), block_bytes=4096)
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())
    f = import_paths([src], ImportOptions(today=TODAY)).report.files[0]
    assert [(p.row, "corrected result 2.0" in p.message) for p in f.problems] == [(2, True)]


def test_a_correction_without_a_number_is_left_to_the_in_memory_import(tmp_path):
    """A correction that is itself rejected (no number) still voids the result of its draw
    (H132, audit 5 S5), which may sit in a block already written: not streamed."""
    rows = "".join(
        f"P{i % 50},2024-01-{i % 28 + 1:02d} 08:{i % 60:02d},WBC,{5 + i % 3}.1,10^9/L,F\n" for i in range(400)
    )
    late = "P0,2024-01-01 08:00,WBC,Haemolysed - please disregard,,C\n"
    src = tmp_path / "voided.csv"
    src.write_text("patient_id,collected_at,analyte,value,unit,status\n" + rows + late)
    with pytest.raises(NotStreamable, match="corrected"):
        import_to_parquet(src, tmp_path / "out", ImportOptions(today=TODAY), block_bytes=4096)
    f = import_paths([src], ImportOptions(today=TODAY)).report.files[0]
    assert [(p.row, "corrected by the lab" in p.message) for p in f.problems] == [(2, True), (402, False)]


def test_a_range_given_per_sex_is_left_to_the_in_memory_import(tmp_path):
    """A range per sex is resolved against the patients after every file (H130, audit 5
    C2): a block cannot resolve it alone, so the streamed import refuses the file before
    writing and the in-memory import says how it read the ranges."""
    rows = "".join(
        f"P{i % 50},2024-01-{i % 28 + 1:02d} 08:{i % 60:02d},ALT,{20 + i % 9},U/L,10-50 (M) 10-35 (F)\n"
        for i in range(400)
    )
    src = tmp_path / "by_sex.csv"
    src.write_text("patient_id,collected_at,analyte,value,unit,reference range\n" + rows)
    with pytest.raises(NotStreamable, match="per sex"):
        import_to_parquet(src, tmp_path / "out", ImportOptions(today=TODAY), block_bytes=4096)
    f = import_paths([src], ImportOptions(today=TODAY)).report.files[0]
    assert any("given per sex" in w.message for w in f.warnings)
