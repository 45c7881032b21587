"""Compare tables: side by side with sources, differences, filters, overview, steroid equivalence."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

from dashboard import compare, knowledge

TRIO = ["azathioprine", "mycophenolate mofetil", "cyclophosphamide (Euro-Lupus)"]


def test_side_by_side_shape_and_sources():
    sbs = compare.side_by_side(TRIO)
    labels = [knowledge.drugs()[i].label for i in TRIO]
    assert list(sbs.table.columns) == ["Group", "Attribute", *labels, "Differs"]
    assert len(sbs.table) == len(knowledge.scales().attributes)
    # Every cell carries footnote numbers, and every number is in the references table.
    numbers = set(sbs.references["No."])
    for label in labels:
        for cell in sbs.table[label]:
            cited = re.search(r"\[([\d, ]+)\]", cell)
            assert cited, cell
            assert {int(n) for n in cited.group(1).split(",")} <= numbers
    assert sorted(numbers) == list(range(1, len(numbers) + 1))
    assert set(sbs.references["Id"]) <= set(knowledge.references())
    assert len(sbs.details) == len(sbs.table) * 3
    assert set(sbs.details["Evidence"]) <= set(knowledge.STATUSES)


def test_side_by_side_marks_differences_and_evidence():
    sbs = compare.side_by_side(TRIO)
    rows = sbs.table.set_index("Attribute")
    assert rows.loc["Pregnancy", "Differs"] == compare.DIFFERS
    assert rows.loc["Nephrotoxicity", "Differs"] == ""  # all three graded 0
    assert "nephrotoxicity" not in sbs.differing and "pregnancy" in sbs.differing
    assert rows.loc["Pregnancy", "Azathioprine"].startswith("Compatible with limits [")
    assert rows.loc["Pregnancy", "Mycophenolate (MMF / MPA)"].startswith("Contraindicated [")
    # unconfirmed cells carry the ‡ mark, secondary-source cells the † mark
    assert rows.loc["Role: ACR 2024 lupus nephritis", "Azathioprine"].endswith("‡")
    assert rows.loc["Dose in mg/kg (where used)", "Azathioprine"].endswith("†")


def test_notes_can_be_shown_in_the_cells():
    plain = compare.side_by_side(TRIO).table.set_index("Attribute")
    noted = compare.side_by_side(TRIO, with_notes=True).table.set_index("Attribute")
    mmf = "Mycophenolate (MMF / MPA)"
    assert "6 weeks" not in plain.loc["Pregnancy", mmf]
    assert noted.loc["Pregnancy", mmf].startswith(plain.loc["Pregnancy", mmf] + " — ")
    assert "at least 6 weeks before conception" in noted.loc["Pregnancy", mmf]


def test_single_drug_has_no_differences():
    sbs = compare.side_by_side(["azathioprine"])
    assert set(sbs.table["Differs"]) == {""} and sbs.differing == ()
    with pytest.raises(ValueError):
        compare.side_by_side([])


def test_highlight_differences_shades_only_differing_rows():
    sbs = compare.side_by_side(TRIO)
    html = compare.highlight_differences(sbs.table).to_html()
    shaded_cells = html.count("rgba(230, 159, 0, 0.22)")
    # pandas writes one CSS rule per styled cell (possibly grouping identical ones); at least
    # one per differing row and none when nothing differs.
    assert shaded_cells >= 1
    assert (
        "rgba(230, 159, 0, 0.22)"
        not in compare.highlight_differences(compare.side_by_side(["azathioprine"]).table).to_html()
    )


@pytest.mark.parametrize(
    ("attr_type", "value", "text"),
    [
        ("routes", ["oral", "sc"], "Oral, Subcutaneous"),
        ("number_range", [], "not weight-based"),
        ("number_range", [5.0], "up to 5 mg/kg"),
        ("number_range", [1.0, 2.5], "1-2.5 mg/kg"),
        ("number_range", [10.0, 10.0], "10 mg/kg"),
        ("grade", 3, "3 (high)"),
        ("tier", 2, "2 - First-line immunosuppressant"),
        ("compatibility", "compatible with limits", "Compatible with limits"),
        ("roles", ["induction", "maintenance"], "induction; maintenance"),
    ],
)
def test_value_text(attr_type, value, text):
    attr = next(a for a in knowledge.scales().attributes if a.type == attr_type)
    assert compare.value_text(attr, value) == text


def _ids(entries):
    return {e.id for e in entries}


def test_filters():
    pregnancy = _ids(compare.filter_entries(pregnancy_compatible=True))
    assert {"azathioprine", "hydroxychloroquine", "tacrolimus", "ciclosporin", "prednisone"} <= pregnancy
    assert not pregnancy & {"mycophenolate mofetil", "methotrexate", "leflunomide", "cyclophosphamide (NIH)"}
    renal = _ids(compare.filter_entries(renal=True))
    assert {
        "mycophenolate mofetil",
        "cyclophosphamide (Euro-Lupus)",
        "cyclophosphamide (NIH)",
        "belimumab",
        "voclosporin",
        "tacrolimus",
        "hydroxychloroquine",
    } <= renal
    assert not renal & {"methotrexate", "anifrolumab", "leflunomide"}
    oral = _ids(compare.filter_entries(oral_only=True))
    assert "azathioprine" in oral and not oral & {"methotrexate", "prednisone", "belimumab", "rituximab"}
    assert _ids(compare.filter_entries(pregnancy_compatible=True, renal=True, oral_only=True)) == {
        "azathioprine",
        "hydroxychloroquine",
        "tacrolimus",
        "ciclosporin",
    }
    assert len(compare.filter_entries()) == len(knowledge.drugs())


def test_overview():
    entries = compare.filter_entries(renal=True)
    frame = compare.overview(entries)
    assert len(frame) == len(entries)
    assert frame["Side-effect burden (0-30)"].tolist() == [e.burden for e in entries]  # ten grades since issue 17
    # the tier, then the mark of its evidence status (every tier is unconfirmed: probe35 F10)
    assert [v.split()[0] for v in frame["Potency tier"]] == [str(e.potency) for e in entries]
    assert frame["Sources"].str.len().min() > 0


def test_default_selection():
    assert compare.default_selection([]) == TRIO
    assert compare.default_selection(["azathioprine", "allopurinol"]) == TRIO  # only one known drug
    assert compare.default_selection(["azathioprine", "mycophenolic acid", "prednisone"]) == [
        "azathioprine",
        "mycophenolate mofetil",
        "prednisone",
    ]
    assert compare.default_selection(["cyclophosphamide"]) == [
        "cyclophosphamide (Euro-Lupus)",
        "cyclophosphamide (NIH)",
    ]
    many = ["hydroxychloroquine", "prednisone", "azathioprine", "belimumab", "tacrolimus"]
    assert len(compare.default_selection(many)) == compare.MAX_SELECTION


def test_chart_inputs():
    points = compare.burden_points()
    assert len(points) == len(knowledge.drugs())
    aza = points.set_index("id").loc["azathioprine"]
    assert aza["tier"] == 2 and aza["burden"] == knowledge.drugs()["azathioprine"].burden and aza["short"] == "AZA"
    grades, sources = compare.side_effect_matrix(TRIO)
    assert grades.shape == (3, 10) and sources.shape == (3, 10)  # fertility and teratogenicity apart (issue 17)
    assert grades.loc["Azathioprine", "Cytopenia"] == 3
    assert sources.loc["Azathioprine", "Cytopenia"].startswith("confirmed · ")


def test_scale_frames():
    ladder = compare.ladder_frame()
    members = [d for cell in ladder["Drugs"] for d in cell.split("; ") if d]
    assert sorted(members) == sorted(e.label for e in knowledge.drugs().values())
    assert compare.grade_frame()["Grade"].tolist() == [0, 1, 2, 3]
    assert compare.status_frame()["Mark"].tolist() == ["(none)", "†", "‡"]


@pytest.mark.parametrize(
    ("dose", "source", "target", "expected"),
    [
        (40, "prednisone", "methylprednisolone", 32.0),
        (5, "prednisolone", "hydrocortisone", 20.0),
        (4, "dexamethasone", "prednisone", 26.67),
        (100, "hydrocortisone", "prednisolone", 25.0),
    ],
)
def test_convert_steroid(dose, source, target, expected):
    assert compare.convert_steroid(dose, source, target) == pytest.approx(expected, abs=0.01)


def test_steroid_frame():
    frame = compare.steroid_frame(20, "prednisone")
    column = "Equivalent of 20 mg prednisone (mg)"
    assert dict(zip(frame["Glucocorticoid"], frame[column], strict=True)) == {
        "Prednisone": 20.0,
        "Prednisolone": 20.0,
        "Methylprednisolone": 16.0,
        "Dexamethasone": 3.0,
        "Hydrocortisone": 80.0,
    }
    assert column not in compare.steroid_frame().columns
    with pytest.raises(ValueError):
        compare.convert_steroid(-1, "prednisone", "prednisolone")


# --------------------------------------------------------------------------- issue 17


def test_the_key_pregnancy_instruction_of_the_chosen_drugs_needs_no_toggle():
    rows = compare.pregnancy_instructions(TRIO)
    labels = [r["Drug"] for r in rows]
    # azathioprine is compatible; mycophenolate and cyclophosphamide must be stopped / avoided
    assert labels == ["Mycophenolate (MMF / MPA)", "Cyclophosphamide IV, Euro-Lupus"]
    assert "at least 6 weeks before conception" in rows[0]["Instruction"]
    table = compare.side_by_side(TRIO).table.set_index("Attribute")  # without notes
    assert "at least 6 weeks" in table.loc["Pregnancy: the key instruction", "Mycophenolate (MMF / MPA)"]
    assert "Fertility (gonadal toxicity)" in table.index and "Teratogenicity (harm to an unborn child)" in table.index


def test_key_points_of_the_chosen_drugs():
    frame = compare.key_points_frame(TRIO)
    ids = frame["Id"].tolist()
    assert ids.index("aza_prodrug") < ids.index("aza_vs_cyc")
    assert {"aza_gi", "aza_warning_signs", "bsr2025_severe_infection"} <= set(ids)
    assert set(frame.columns) >= {"About", "Topic", "Point", "Evidence", "Sources"}


def test_the_ordering_evidence_table():
    frame = compare.ladder_evidence_frame()
    assert len(frame) == len(knowledge.scales().ladder_evidence)
    assert frame.loc[frame["Evidence"].str.startswith("MAINTAIN"), "Status"].item() == "confirmed"
    overview = compare.overview(compare.filter_entries())
    assert "Pregnancy: the key instruction" in overview.columns


# --------------------------------------------------------------------------- one fact, one place (probe 12 F9, H261)

_DOSING_TOML = Path(knowledge.__file__).parent / "data" / "dosing.toml"
_DRUG_FILES = Path(knowledge.__file__).parent / "data" / "drugs"


def _dosing() -> dict:
    with open(_DOSING_TOML, "rb") as f:
        return tomllib.load(f)


def _shown(entry_id: str, attribute: str) -> str:
    """The Compare page's text for one drug and attribute, note included."""
    entry = knowledge.drugs()[entry_id]
    details = compare.side_by_side([entry_id], with_notes=True).details
    row = details[(details["Drug"] == entry.label) & (details["Attribute"] == attribute)].iloc[0]
    return f"{row['Value']} {row['Note']}"


def test_the_hcq_dose_cell_shows_the_400_mg_ceiling_beside_5_mg_per_kg():
    """H250 leftover: EULAR 2023 / AAO 2016 at most 5 mg/kg/day of real weight; UK SmPC
    4.2 'either 200mg or 400mg per day'.  The cell reads both from dosing.toml."""
    sbs = compare.side_by_side(["hydroxychloroquine"])
    cell = sbs.table.set_index("Attribute").loc["Dose in mg/kg (where used)", "Hydroxychloroquine"]
    assert cell.startswith("up to 5 mg/kg, at most 400 mg/day [")
    hcq = _dosing()["hydroxychloroquine"]
    assert f"up to {hcq['max_mg_per_kg_day']:g} mg/kg, at most {hcq['label']['max_mg_per_day']:g} mg/day" in cell
    assert cell.endswith("†")  # the 400 mg/day was read only in copies of the SmPC


#: (entry, attribute, the words written by hand from the source, the same words built from dosing.toml)
DOSE_WORDS = [
    # 3E (Visser 2009) / SPS: 7.5-25 mg once weekly, folic acid at least 5 mg weekly
    (
        "methotrexate",
        "Usual adult dose",
        "7.5-25 mg ONCE WEEKLY",
        lambda d: f"{d['methotrexate']['weekly_mg'][0]:g}-{d['methotrexate']['weekly_mg'][1]:g} mg ONCE WEEKLY",
    ),
    (
        "methotrexate",
        "Usual adult dose",
        "folic acid at least 5 mg once weekly",
        lambda d: f"folic acid at least {d['methotrexate']['folic_acid_mg_per_week']:g} mg once weekly",
    ),
    # 2-3 g/day MMF in two doses = 1-1.5 g twice daily; x 0.72 -> 720-1080 mg MPA twice daily
    (
        "mycophenolate mofetil",
        "Usual adult dose",
        "MMF 1-1.5 g twice daily (MPA 720-1080 mg twice daily)",
        lambda d: "MMF {:g}-{:g} g twice daily (MPA {:g}-{:g} mg twice daily)".format(
            *(x / 2000 for x in d["mycophenolate"]["phases"]["induction"]["mmf_mg_per_day"]),
            *(
                round(x / 2 * d["mycophenolate"]["mmf_to_mpa"], 6)
                for x in d["mycophenolate"]["phases"]["induction"]["mmf_mg_per_day"]
            ),
        ),
    ),
    (
        "mycophenolate mofetil",
        "Usual adult dose",
        "maintenance MMF 750-1000 mg twice daily",
        lambda d: "maintenance MMF {:g}-{:g} mg twice daily".format(
            *(x / 2 for x in d["mycophenolate"]["phases"]["maintenance"]["mmf_mg_per_day"])
        ),
    ),
    # CellCept label (via Medscape): GFR < 25, not above 1 g twice daily
    (
        "mycophenolate mofetil",
        "Usual adult dose",
        "(GFR < 25): at most 1 g MMF twice daily",
        lambda d: (
            f"(GFR < {d['mycophenolate']['renal']['egfr_below']:g}): at most "
            f"{d['mycophenolate']['renal']['max_mmf_mg_per_day'] / 2000:g} g MMF twice daily"
        ),
    ),
    # Imuran US label (RA): start 1 mg/kg/day, +0.5 mg/kg/day every 4 weeks, at most 2.5;
    # CPIC: intermediate 30-80%; Medsafe: allopurinol a quarter (25%), US label up to a third
    (
        "azathioprine",
        "Usual adult dose",
        "add 0.5 mg/kg/day every 4 weeks as needed, to at most 2.5 mg/kg/day",
        lambda d: (
            f"add {d['azathioprine']['titration']['step_mg_per_kg']:g} mg/kg/day every "
            f"{d['azathioprine']['titration']['step_every_weeks']:g} weeks as needed, to at most "
            f"{d['azathioprine']['usual_max_mg_per_kg']:g} mg/kg/day"
        ),
    ),
    (
        "azathioprine",
        "Usual adult dose",
        "intermediate metabolisers 30-80% of the normal dose",
        lambda d: "intermediate metabolisers {:.0f}-{:.0f}% of the normal dose".format(
            *(100 * x for x in d["azathioprine"]["phenotypes"]["intermediate"]["factor"])
        ),
    ),
    (
        "azathioprine",
        "Usual adult dose",
        "with allopurinol 25% of the dose (Medsafe; the US label allows up to 33%",
        lambda d: "with allopurinol {:.0f}% of the dose (Medsafe; the US label allows up to {:.0f}%".format(
            *(100 * x for x in d["azathioprine"]["allopurinol"]["factor"])
        ),
    ),
    # CPIC: mercaptopurine 1.5 mg/kg/day; the assistant's cautious start 0.75
    (
        "mercaptopurine",
        "Usual adult dose",
        "e.g. 1.5 mg/kg/day",
        lambda d: f"e.g. {d['mercaptopurine']['standard_mg_per_kg']:g} mg/kg/day",
    ),
    (
        "mercaptopurine",
        "Usual adult dose",
        "starts at 0.75 mg/kg/day",
        lambda d: f"starts at {d['mercaptopurine']['titration']['start_mg_per_kg']:g} mg/kg/day",
    ),
    # US Neoral label (RA): 2.5 mg/kg/day, maximum 4 mg/kg/day
    (
        "ciclosporin",
        "Usual adult dose",
        "2.5 mg/kg/day in two doses",
        lambda d: f"{d['ciclosporin']['start_mg_per_kg_day']:g} mg/kg/day in two doses",
    ),
    (
        "ciclosporin",
        "Usual adult dose",
        "maximum of 4 mg/kg/day",
        lambda d: f"maximum of {d['ciclosporin']['max_mg_per_kg_day']:g} mg/kg/day",
    ),
    # EULAR 2023: 5 mg/kg real weight; 200 mg tablets, SmPC 200 or 400 mg a day
    (
        "hydroxychloroquine",
        "Usual adult dose",
        "Up to 5 mg/kg real body weight per day (200 mg tablets; e.g. 200-400 mg/day",
        lambda d: (
            f"Up to {d['hydroxychloroquine']['max_mg_per_kg_day']:g} mg/kg real body weight per day "
            f"({d['hydroxychloroquine']['tablet_mg']:g} mg tablets; e.g. {d['hydroxychloroquine']['tablet_mg']:g}-"
            f"{d['hydroxychloroquine']['label']['max_mg_per_day']:g} mg/day"
        ),
    ),
]


@pytest.mark.parametrize(("entry_id", "attribute", "by_hand", "from_data"), DOSE_WORDS, ids=lambda x: str(x)[:40])
def test_compare_shows_the_dosing_toml_number_not_a_typed_copy(entry_id, attribute, by_hand, from_data):
    """F9: the dose numbers in Compare's words are dosing.toml's (one fact, one place).
    The text shown is the text written by hand from the source, it is the text built from
    dosing.toml's numbers, and the drug file holds no typed copy of it (a placeholder)."""
    shown = _shown(entry_id, attribute)
    assert by_hand in shown
    assert from_data(_dosing()) == by_hand
    raw = tomllib.loads((_DRUG_FILES / knowledge.drugs()[entry_id].source_file).read_text(encoding="utf-8"))
    assert not any(by_hand in str(fact.get(k, "")) for fact in raw["facts"].values() for k in ("value", "note"))


def test_voclosporin_pregnancy_plan_does_not_repeat_the_mycophenolate_interval():
    """F9: the mycophenolate stop-before-conception interval lives in the mycophenolate fact only."""
    weeks = re.search(r"\d+ weeks", knowledge.drugs()["mycophenolate mofetil"].fact("pregnancy_plan").value)
    assert weeks
    assert weeks.group(0) not in knowledge.drugs()["voclosporin"].fact("pregnancy_plan").value


def test_a_placeholder_naming_no_dosing_number_fails_loudly():
    assert knowledge.dosing_text("{methotrexate.weekly_mg[1]} mg") == "25 mg"
    with pytest.raises(KeyError):
        knowledge.dosing_text("{methotrexate.no_such_key} mg")
    with pytest.raises((KeyError, ValueError)):
        knowledge.dosing_text("{methotrexate.weekly_mg[1]+5} mg")
