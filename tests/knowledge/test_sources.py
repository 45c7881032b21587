"""Every fact has a source that resolves, every source opens the document, and no source
is an AI-written summary or the project's own notes (issue 17, item 6)."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from urllib.parse import urlparse

import pytest

from dashboard import knowledge
from dashboard.rules import dose_checks, engine
from dashboard.rules.data import schedule_file

DATA = Path(knowledge.__file__).parent / "data"
#: AI-written answer sites: never a source.
AI_SUMMARY_DOMAINS = ("droracle.ai", "openevidence.com", "chatgpt.com", "perplexity.ai", "consensus.app")
#: Words that mark the project's own notes or issues as a "source".
OWN_NOTES = re.compile(r"research notes|research_notes|shared/research|clinical\.md|\bissue \d+|project rule", re.I)


def _refs_lists(node, where=""):
    """Every ``refs = [...]`` list in a parsed knowledge file, with where it is."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "refs" and isinstance(value, list):
                yield where, value
            else:
                yield from _refs_lists(value, f"{where}.{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _refs_lists(value, f"{where}[{i}]")


def _knowledge_files() -> list[Path]:
    return sorted(p for p in DATA.rglob("*.toml") if p.name not in ("references.toml", "scales.toml"))


@pytest.mark.parametrize("path", _knowledge_files(), ids=lambda p: p.name)
def test_every_fact_has_a_source_id_that_resolves(path):
    known = knowledge.references()
    lists = list(_refs_lists(tomllib.loads(path.read_text(encoding="utf-8"))))
    assert lists, f"{path.name} cites nothing"
    for where, ids in lists:
        assert ids, f"{path.name}{where}: empty refs"
        missing = [i for i in ids if i not in known]
        assert not missing, f"{path.name}{where}: unknown source ids {missing}"


def test_every_source_opens_the_document():
    for ref in knowledge.references().values():
        url = urlparse(ref.url)
        assert url.scheme == "https" or url.scheme == "http", f"{ref.id}: {ref.url!r} is not a web address"
        assert url.path.strip("/") or url.query, f"{ref.id}: {ref.url} is a site root, not the document"


def test_no_source_is_an_ai_summary_or_our_own_notes():
    for ref in knowledge.references().values():
        text = " ".join((ref.url, ref.citation))
        assert not any(d in text for d in AI_SUMMARY_DOMAINS), f"{ref.id}: AI-written summary"
        assert not OWN_NOTES.search(text), f"{ref.id}: cites the project's notes or an issue"


def test_a_fact_is_never_more_certain_than_what_was_read():
    """A fact whose sources were all left unread cannot be 'confirmed' or 'secondary'."""
    refs = knowledge.references()
    for entry in knowledge.drugs().values():
        for key, fact in entry.facts.items():
            if all(refs[r].access == "not retrieved" for r in fact.refs):
                assert fact.status == "unconfirmed", (entry.id, key)


def test_rule_dose_check_and_schedule_sources_are_published():
    """The guideline rules (bsr.*), the dose checks and the schedules cite published sources."""
    texts = []
    for profile in engine.builtin_profiles().values():
        texts += [(r.id, r.source + " " + r.citation) for r in profile.rules if r.id.startswith("bsr.")]
    texts += [(c["id"], c["source"] + " " + c["citation"]) for c in dose_checks.checks()]
    for name, spec in schedule_file()["schedules"].items():
        if spec.get("source"):
            texts.append((name, spec["source"] + " " + spec.get("citation", "")))
    for rid, text in texts:
        assert text.strip(), rid
        assert not OWN_NOTES.search(text), f"{rid}: {text}"
        assert not any(d in text for d in AI_SUMMARY_DOMAINS), rid


def test_bsr_2025_rules_and_schedule_cite_the_bsr2025_reference():
    """Issue 17: the BSR 2025 profile's rules and schedule name the knowledge reference of
    the guideline (the BSR announcement), which resolves and says what was read."""
    ref = knowledge.references()["bsr2025"]
    assert ref.url.startswith("https://www.rheumatology.org.uk/news/details/Updated-csDMARDs-guideline-2025")
    profile = engine.builtin_profiles()["BSR 2025"]
    bsr_rules = [r for r in profile.rules if r.id.startswith("bsr.")]
    assert bsr_rules and all("[bsr2025" in r.source for r in bsr_rules)
    assert "[bsr2025]" in schedule_file()["schedules"]["bsr2025_standard"]["source"]


#: Our own working documents: the research notes, the issues and the audit of the project.
OWN_DOCUMENTS = re.compile(
    r"research notes?|research_notes|shared/research|clinical\.md|\bissues? #?\d+|\baudit \d+|project rule", re.I
)


def test_no_data_file_cites_our_own_notes_issues_or_audits():
    """Every data file (facts, rules, schedules, vocabularies), comments included, names the
    published source of a fact, or calls it a local rule; never our notes, an issue or an audit."""
    root = Path(knowledge.__file__).parent.parent
    files = sorted(root.rglob("*.toml"))
    assert len(files) > 20
    for path in files:
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            assert not OWN_DOCUMENTS.search(line), f"{path.relative_to(root)}:{n}: {line.strip()[:120]}"


#: Where regulators publish product labels: the FDA's DailyMed, the UK's emc, the EMA.
LABEL_HOSTS = ("dailymed.nlm.nih.gov", "www.medicines.org.uk", "www.ema.europa.eu")


def test_a_label_reference_opens_the_regulators_page_even_when_read_in_a_copy():
    """A product label is cited at the regulator's own page; a copy the section was read
    in (drugs.com, imedi ...) is named in the note, and the access stays 'secondary'."""
    refs = knowledge.references()
    for ref in refs.values():
        if ref.kind == "label":
            assert urlparse(ref.url).netloc in LABEL_HOSTS, (ref.id, ref.url)
    for rid, copy in (
        ("fda_uloric", "drugs.com/labeling-changes"),
        ("fda_lupkynis", "drugs.com/dosage/lupkynis"),
        ("gazyva_smpc", "drugs.com/pregnancy/obinutuzumab"),
        ("hcq_uk_smpc", "imedi.co.uk"),
    ):
        assert refs[rid].access == "secondary" and copy in refs[rid].note, rid
