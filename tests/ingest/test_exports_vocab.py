"""``vocab/exports.toml``: the column maps of the known export tables (read by interop)."""

from __future__ import annotations

import inspect

from dashboard.ingest import interop, smart, synthea
from dashboard.ingest.mapping import field_aliases
from dashboard.ingest.report import FileReport
from dashboard.ingest.tabular import RawTable


def test_every_table_is_read_by_a_reader_and_names_known_fields() -> None:
    tables = interop.export_tables()
    source = inspect.getsource(smart) + inspect.getsource(synthea)
    for key, table in tables.items():
        assert f'"{key}"' in source, f"{key}: no reader reads this table"
        assert table.kind in {"labs", "doses", "patients"}, key
        assert table.format, key
        assert all(header.strip() for header in table.fields.values()), key
    # the field names are the canonical ones (the column-alias vocabulary knows them),
    # except the two only a reader of its own fills: a drug code and a SMART Sig
    known = set(field_aliases()) | {"drug_code", "sig"}
    assert {f for t in tables.values() for f in t.fields} <= known
    assert len({t.format for t in tables.values()}) == len(tables)


def test_claim_records_format_kind_and_columns_and_returns_a_copy() -> None:
    header = ["START", "STOP", "PATIENT", "ENCOUNTER", "CODE", "DESCRIPTION", "SYSTEM"]
    raw = RawTable.of_cells("conditions.csv", header, [[""] for _ in header], [2], [])
    rep = FileReport(path="conditions.csv")
    fields = interop.claim_table(rep, raw, "synthea_conditions")
    assert fields == {"patient_id": "PATIENT", "code": "CODE", "diagnosis": "DESCRIPTION", "end": "STOP"}
    assert (rep.format, rep.kind) == ("Synthea conditions", "patients")
    assert rep.mapping == {"patient_id": "PATIENT", "code": "CODE", "diagnosis": "DESCRIPTION", "end": "STOP"}
    assert rep.unmapped_columns == ["START", "ENCOUNTER", "SYSTEM"]
    fields["end"] = "changed"
    assert interop.export_tables()["synthea_conditions"].fields["end"] == "STOP"
