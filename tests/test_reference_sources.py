"""The reference ids a source cites ("CTCAE v5.0 [nci_ctcae5]") resolve in every output a
clinician takes away: the PDF's "Sources" section, the workbooks' "Sources" sheet, the CLI
review's ``references`` and its text's "Sources" block (H610-H614).

The expected citations and URLs are those references.toml writes, copied here by hand."""

from __future__ import annotations

import datetime as dt
import io
import json
import re
import tomllib

import openpyxl
import pytest

from dashboard import compare, dosing, knowledge
from dashboard import summary_export as sx
from dashboard.reviews import empty_log
from dashboard.rules import engine, views
from dashboard.rules.output import review_json, review_text, write_review_ndjson
from tests.rules.builders import dose, frame, lab, patient, run
from tests.support import ROOT

NCI_URL = "https://ctep.cancer.gov/protocoldevelopment/electronic_applications/docs/CTCAE_v5_Quick_Reference_8.5x11.pdf"
NCI_CITATION = (
    "National Cancer Institute, Cancer Therapy Evaluation Program. Common Terminology Criteria for Adverse "
    "Events (CTCAE), Version 5.0. U.S. Department of Health and Human Services, National Institutes of Health; "
    "published 27 November 2017."
)
BSR2025_URL = (
    "https://www.rheumatology.org.uk/news/details/Updated-csDMARDs-guideline-2025-expands-to-all-ages?articleId=1005"
)
BSR2017_URL = "https://academic.oup.com/rheumatology/article/56/6/865/3053478"
SPS_SSZ_URL = "https://www.sps.nhs.uk/monitorings/sulfasalazine-monitoring/"

#: The ids of references.toml, read here without the dashboard's loader.
REFERENCE_IDS = set(
    tomllib.loads((ROOT / "dashboard/knowledge/data/references.toml").read_text(encoding="utf-8"))["refs"]
)


def one_ctcae_flag():
    """Neutrophils 0.8 x10^9/L, no drug, profile "CTCAE only": CTCAE v5.0 grade 3 (< 1.0 - 0.5),
    the review's one flag; no drug, so no schedule row and no dose check."""
    return run([lab("P1", "2024-05-01", "neutrophils", 0.8)], profile="CTCAE only")


def ctcae_flag_and_overdue_azathioprine():
    """As :func:`one_ctcae_flag` on azathioprine 100 mg daily since 2024-01-01 (70 kg, TPMT
    normal: 1.4 mg/kg/day, no dose check): the BSR 2025 schedule (the profile's) wants an FBC
    every 2 weeks from the start and none was done, so on 2024-12-31 the azathioprine row is
    overdue, citing [bsr2025]."""
    labs = [lab("P1", "2024-05-01", "neutrophils", 0.8)]
    doses = [dose("P1", "azathioprine", "2024-01-01", amount=100)]
    pts = [patient("P1", weight=70, tpmt="normal")]
    return labs, doses, pts


# --------------------------------------------------------------------------- the one helper


def test_cited_ids_are_the_references_a_text_names_in_order_of_first_citation():
    """H614: only references.toml's ids count; a severity tag or a profile's name in brackets
    is not a citation; each id once, where it is first named."""
    texts = [
        "BSR 2025 csDMARD guideline [bsr2025] (2025 limit not confirmed; the BSR 2017 limit is applied: "
        "BSR 2017 [bsr2017] as restated by SPS [sps_ssz])",
        "[caution] CTCAE v5.0 [nci_ctcae5]",
        None,
        float("nan"),
        "User profile 'Clinic [local]' (threshold 3.5 -> 3 10^9/L), edited from BSR 2017 [bsr2017]",
    ]
    assert knowledge.cited_ids(texts) == ["bsr2025", "bsr2017", "sps_ssz", "nci_ctcae5"]
    assert knowledge.cited_ids(["Primary Care Notebook (no id)", ""]) == []


def test_the_three_reference_tables_are_one_builder_and_keep_their_columns():
    """H613: Compare, Dosing and the Rules page build "id -> citation, link" with one helper
    (knowledge.reference_rows); each keeps its own column names and words."""
    cmp = compare.references_frame({"nci_ctcae5": 1})
    assert list(cmp.columns) == ["No.", "Reference", "What was read", "Link", "Id"]
    assert cmp.iloc[0].tolist() == [1, NCI_CITATION, "secondary", NCI_URL, "nci_ctcae5"]
    dos = dosing.references_frame(("nci_ctcae5",))
    assert list(dos.columns) == ["Id", "Citation", "Read", "Link"]
    assert dos.iloc[0].tolist() == ["nci_ctcae5", NCI_CITATION, "secondary", NCI_URL]
    rules = views.references_frame(engine.builtin_profiles()["CTCAE only"]).set_index("Reference")
    assert list(rules.columns) == ["Citation", "URL", "Read"]
    assert rules.loc["nci_ctcae5"].tolist() == [NCI_CITATION, NCI_URL, "secondary"]
    assert compare.references_frame({}).empty and dosing.references_frame(()).empty


# --------------------------------------------------------------------------- CLI review


def test_the_json_review_of_one_ctcae_flag_lists_exactly_its_reference():
    """H611: a top-level ``references`` with exactly nci_ctcae5, its citation and URL; the
    existing fields unchanged (the flag's source keeps its id)."""
    rv = one_ctcae_flag()
    doc = json.loads(review_json(rv, {"labs": 1}))
    assert doc["references"] == {"nci_ctcae5": {"citation": NCI_CITATION, "url": NCI_URL}}
    assert list(doc) == ["import", "review", "references", "patients"]
    (flag,) = doc["patients"][0]["flags"]
    assert flag["rule"] == "ctcae.neutrophils" and flag["source"] == "CTCAE v5.0 [nci_ctcae5]"


def test_the_compact_review_header_lists_the_references_once():
    """H611: the compact review's first line carries the same ``references``; the patient
    lines do not repeat them."""
    buf = io.BytesIO()
    write_review_ndjson(one_ctcae_flag(), None, buf)
    head, *patients = (json.loads(line) for line in buf.getvalue().decode().splitlines())
    assert head["references"] == {"nci_ctcae5": {"citation": NCI_CITATION, "url": NCI_URL}}
    assert list(head) == ["import", "review", "fields", "references"]
    assert all("references" not in p for p in patients)


def test_the_json_review_lists_the_references_of_the_schedule_and_of_a_bsr_flag():
    """H611: a BSR flag names BSR 2025, BSR 2017 and SPS; the schedule BSR 2025; CTCAE its own:
    four references, each with its URL."""
    labs, doses, pts = ctcae_flag_and_overdue_azathioprine()
    rv = run(labs, doses, pts)  # BSR 2025: neutrophils 0.8 < 1.6 is also a BSR flag
    refs = json.loads(review_json(rv))["references"]
    assert set(refs) == {"nci_ctcae5", "bsr2025", "bsr2017", "sps_ssz"}
    assert {k: v["url"] for k, v in refs.items()} == {
        "nci_ctcae5": NCI_URL,
        "bsr2025": BSR2025_URL,
        "bsr2017": BSR2017_URL,
        "sps_ssz": SPS_SSZ_URL,
    }


def test_a_review_citing_no_reference_has_an_empty_references_object():
    rv = run([lab("P1", "2024-05-01", "wbc", 6.0)], profile="CTCAE only")
    assert json.loads(review_json(rv))["references"] == {}
    assert "Sources" not in review_text(rv)


def test_the_text_review_ends_with_the_sources_it_prints_in_order_of_first_citation():
    """H612: the flag line (CTCAE, nci_ctcae5) is printed before the overdue schedule line
    (bsr2025): the "Sources" block lists them in that order, each with citation and URL."""
    labs, doses, pts = ctcae_flag_and_overdue_azathioprine()
    text = review_text(run(labs, doses, pts, profile="CTCAE only"))
    body, sources = text.split("\nSources (the reference ids in square brackets above):\n")
    assert body.index("[nci_ctcae5]") < body.index("[bsr2025]")
    assert sources.splitlines() == [
        f"   [nci_ctcae5] {NCI_CITATION}",
        f"      {NCI_URL}",
        "   [bsr2025] British Society for Rheumatology. Updated csDMARDs guideline 2025 expands to all ages. "
        "BSR news, 17 November 2025: the publisher's announcement of the BSR guideline for the prescription "
        "and monitoring of conventional synthetic DMARDs (Rheumatology, 2025; guideline working group chair "
        "L. Mercer; endorsed by the Royal Pharmaceutical Society).",
        f"      {BSR2025_URL}",
    ]


def test_the_text_review_of_the_sample_panel_resolves_every_id_it_prints_in_print_order():
    """H612: every references.toml id printed in brackets above the block is listed, in the
    order of its first appearance, and nothing else."""
    from pathlib import Path

    from dashboard.ingest import ImportOptions, Source, import_sources
    from dashboard.rules.review import review

    files = [Source(p.name, p.read_bytes()) for p in sorted(Path(ROOT / "sample_data").glob("*.csv"))]
    result = import_sources(files, ImportOptions(today=dt.date(2026, 3, 1)))
    rv = review(result.labs, result.doses, result.patients, None, None, dt.date(2026, 3, 1))
    body, sources = review_text(rv).split("\nSources (the reference ids in square brackets above):\n")
    printed = list(dict.fromkeys(i for i in re.findall(r"\[(\w+)\]", body) if i in REFERENCE_IDS))
    listed = re.findall(r"^   \[(\w+)\] ", sources, flags=re.M)
    assert printed and listed == printed


# --------------------------------------------------------------------------- exports


def _pdf_text(data: bytes) -> str:
    from pypdf import PdfReader

    return " ".join(" ".join(p.extract_text() for p in PdfReader(io.BytesIO(data)).pages).split())


def _summary(labs, doses, pts, profile: str):
    return sx.patient_summary(
        frame("labs", labs),
        frame("doses", doses),
        frame("patients", pts),
        frame("baselines", []),
        empty_log(),
        "P1",
        dt.date(2024, 12, 31),
        profile=profile,
        figure=False,
    )


def test_the_pdf_ends_with_the_one_reference_its_one_ctcae_flag_cites():
    """H610: the last section lists exactly nci_ctcae5 with its citation and URL as text."""
    text = _pdf_text(
        sx.patient_summary_pdf(_summary([lab("P1", "2024-05-01", "neutrophils", 0.8)], [], [], "CTCAE only"))
    )
    after = text.split("Review history (latest first)")[1]
    sources = after.split(" Sources ", 1)[1]
    assert f"[nci_ctcae5] {NCI_CITATION} {NCI_URL}" in sources
    assert sources.count("[") == 1  # one reference listed


def test_the_pdf_sources_follow_the_order_the_pdf_prints_them():
    """H610: the PDF prints the schedule (bsr2025) above the flags (nci_ctcae5): its Sources
    list bsr2025 first, each with its URL."""
    labs, doses, pts = ctcae_flag_and_overdue_azathioprine()
    text = _pdf_text(sx.patient_summary_pdf(_summary(labs, doses, pts, "CTCAE only")))
    sources = text.split("Review history (latest first)")[1].split(" Sources ", 1)[1]
    assert re.findall(r"\[(\w+)\]", sources) == ["bsr2025", "nci_ctcae5"]
    assert f"{BSR2025_URL} [nci_ctcae5]" in sources and sources.endswith(NCI_URL)


def test_a_pdf_citing_no_reference_says_so():
    text = _pdf_text(sx.patient_summary_pdf(_summary([lab("P1", "2024-05-01", "wbc", 6.0)], [], [], "CTCAE only")))
    assert text.endswith("Sources No source on this summary cites a reference id: each is named in full above.")


def _sheet(data: bytes, name: str) -> list[tuple]:
    book = openpyxl.load_workbook(io.BytesIO(data))
    return list(book[name].iter_rows(values_only=True))


def test_the_flagged_results_workbook_has_a_sources_sheet_of_its_ids():
    """H610: the open flags of one CTCAE flag: a "Sources" sheet with exactly nci_ctcae5."""
    from dashboard.reviews import with_review_status

    rv = one_ctcae_flag()
    flags = with_review_status(rv.open_flags_df(), empty_log(), rule_col="rule")
    data = sx.flagged_xlsx(flags, None, rv.dose_checks_df())
    assert _sheet(data, "Sources") == [("Id", "Citation", "URL"), ("nci_ctcae5", NCI_CITATION, NCI_URL)]
    assert _sheet(data, "Open flags")[1][11] == "CTCAE v5.0 [nci_ctcae5]"  # the cell as it was


def test_the_panel_workbook_has_a_sources_sheet_of_the_ids_its_panel_cites():
    """H610: the ids the panel's cells cite (an open dose check's "[source]"), never a dose
    row's file name; the panel CSV keeps the cell as written (one table)."""
    import pandas as pd

    panel = pd.DataFrame(
        {
            "Patient": ["P1"],
            "Open dose checks": ["dose.x (caution): finding [BSR 2017 [bsr2017] as restated by SPS [sps_ssz]]"],
        }
    )
    doses = frame("doses", [dose("P1", "azathioprine", "2024-01-01", amount=100) | {"source_file": "[bsr2025].csv"}])
    data = sx.panel_xlsx(panel, frame("labs", []), doses, empty_log())
    rows = _sheet(data, "Sources")
    assert [r[0] for r in rows] == ["Id", "bsr2017", "sps_ssz"]
    assert rows[1][2] == BSR2017_URL and rows[2][2] == SPS_SSZ_URL
    assert "[bsr2017]" in sx.panel_csv(panel).decode("utf-8-sig")


@pytest.mark.parametrize("doc", ["README.md", "docs/workspace.md"])
def test_the_docs_say_where_a_csv_cells_reference_ids_resolve(doc):
    """H614: a CSV holds one table: its "Source" cells keep "[id]", and the docs say the ids
    are references.toml's, resolved by the PDF, the workbooks and the CLI review."""
    text = " ".join((ROOT / doc).read_text(encoding="utf-8").split())
    assert "dashboard/knowledge/data/references.toml" in text
    assert '"Sources" sheet' in text and "`references`" in text


# --------------------------------------------------------------------------- dose checks, trends, schedule (H640)

IMURAN_CITATION = (
    "IMURAN (azathioprine) tablets, US prescribing information. Sebela Pharmaceuticals. DailyMed set id "
    "606101a0-6244-7eff-e053-2a91aa0acadd (openFDA record of 2026, accessed November 2026)."
)
IMURAN_URL = "https://dailymed.nlm.nih.gov/dailymed/lookup.cfm?setid=606101a0-6244-7eff-e053-2a91aa0acadd"
MEDSAFE_MTX_TMP_URL = (
    "https://www.medsafe.govt.nz/profs/PUArticles/March2022/"
    "Bone-marrow-suppression-methotrexate-and-trimethoprim-or-co-trimoxazole.html"
)


def test_a_dose_check_finding_lists_its_reference_in_the_json_review():
    """H640.  Azathioprine 200 mg daily for 70 kg = 2.86 mg/kg/day: above the Imuran label's
    2.5 mg/kg/day for rheumatoid arthritis and below 3, so the one dose check is
    dose.aza_above_2_5, whose source is the Imuran US label; the JSON review's
    ``references`` resolves its id with the citation and URL references.toml writes."""
    rv = run(
        [lab("P1", "2024-05-01", "neutrophils", 3.0)],
        [dose("P1", "azathioprine", "2024-01-01", amount=200)],
        [patient("P1", weight=70, tpmt="normal", nudt15="normal")],
        profile="CTCAE only",
    )
    doc = json.loads(review_json(rv))
    (check,) = doc["patients"][0]["dose_checks"]
    assert check["rule"] == "dose.aza_above_2_5"
    assert check["source"] == "Imuran (azathioprine) US prescribing information [fda_imuran]"
    assert doc["references"]["fda_imuran"] == {"citation": IMURAN_CITATION, "url": IMURAN_URL}


def test_an_interaction_finding_names_the_interaction_s_references_after_its_words():
    """H640.  Methotrexate 15 mg weekly with trimethoprim 200 mg twice daily from 1 Jun 2024,
    still in force: the interaction's words (interactions.toml) with its one reference,
    Medsafe Prescriber Update 43(1) [medsafe_mtx_tmp], resolved in the JSON review."""
    rv = run(
        [lab("P1", "2024-05-01", "neutrophils", 3.0)],
        [
            dose("P1", "methotrexate", "2024-01-01", amount=15, frequency="weekly"),
            dose("P1", "trimethoprim", "2024-06-01", amount=200, frequency="BID"),
        ],
        profile="CTCAE only",
    )
    doc = json.loads(review_json(rv))
    (check,) = [c for c in doc["patients"][0]["dose_checks"] if c["rule"] == "dose.mtx_trimethoprim"]
    assert check["source"] == "Medsafe Prescriber Update 43(1), March 2022 [medsafe_mtx_tmp]"
    assert doc["references"]["medsafe_mtx_tmp"]["url"] == MEDSAFE_MTX_TMP_URL


def test_source_with_ids_appends_each_id_once_in_its_own_brackets():
    assert knowledge.source_with_ids("Neoral SmPC", ["neoral_smpc", "fda_neoral"]) == (
        "Neoral SmPC [neoral_smpc] [fda_neoral]"
    )
    assert knowledge.source_with_ids("SPS [sps_lef]", ["sps_lef", "sps_lef"]) == "SPS [sps_lef]"
    assert knowledge.source_with_ids("A project statement", []) == "A project statement"


#: Sources that name no reference of references.toml, each with why (H640).
UNCITED_DOSE_CHECKS = {"dose.no_amount_check"}  # a project statement, not a source


def test_every_dose_check_names_a_reference_of_references_toml():
    """Each dose check (its limits filled in, interactions and cumulative thresholds included)
    cites at least one id, and every id it cites is one of references.toml."""
    from dashboard.rules import dose_checks

    for check in dose_checks.checks():
        ids = re.findall(r"\[(\w+)\]", check["source"])
        assert set(ids) <= REFERENCE_IDS, (check["id"], ids)
        if check["id"] not in UNCITED_DOSE_CHECKS:
            assert ids, check["id"]


def test_the_trend_rule_and_the_schedules_name_their_references():
    """The words stay; the ids the entries' own citations name are appended (H640)."""
    rules = {r.id: r for r in engine.get_profile("BSR 2017 / NICE").rules}
    assert rules["trend.consecutive_falls"].source.startswith("Primary Care Notebook")
    assert rules["trend.consecutive_falls"].source.endswith("be aware of trends [bsr2017] [sps_monitoring]")
    schedule = tomllib.loads((ROOT / "dashboard/rules/data/schedule.toml").read_text(encoding="utf-8"))
    assert schedule["schedules"]["bp_leflunomide"]["source"] == "SPS leflunomide monitoring [sps_lef]"
    assert schedule["schedules"]["standard"]["source"] == "BSR 2017 / NICE CKS [bsr2017] [nhs_lanarkshire] [sps_mmf]"
    # the words stay; the EULAR references added since (H663) are named after them
    assert schedule["schedules"]["none_steroid"]["source"] == (
        "EULAR 2013 glucocorticoid recommendations (Duru et al., Ann Rheum Dis 2013;72:1905) [eular2013_gc] [eular2007_gc]"
    )


def test_the_knowledge_check_names_an_unknown_id_in_a_dose_check_source():
    """A typo in a dose check's id is caught like one in a flag's (H572, H640): checked here
    with one real id taken out of the known references."""
    known = {k: v for k, v in knowledge.references().items() if k != "fda_arava"}
    problems = knowledge._Problems()
    knowledge._check_rule_sources(problems, known, set())
    assert any("dose_checks.toml" in p and "'fda_arava'" in p for p in problems.items)
