"""Flag wording and sources (probe38 fixes, H570-H576): every published source a flag
names opens through a reference id; a limit its guideline is not written for gives no
instruction; a limit one source writes for one drug judges only that drug's results.

Expected values come from the sources quoted: SPS mercaptopurine monitoring ("Neutrophils
less than 2 x 109/L", read first-hand in a stored copy), the BSR 2017 limits as SPS's
sulfasalazine page restates them (WCC < 3.5, creatinine more than 30% above baseline).
"""

from __future__ import annotations

import datetime as dt
import re

from dashboard import knowledge
from dashboard.dataset import Dataset
from dashboard.rules import engine, views
from dashboard.rules.review import review_dataset
from tests.support import csv_import, csv_review, timeline_dict

AS_OF = dt.date(2026, 11, 20)
REF_ID = re.compile(r"\[(\w+)\]")


def _flags(labs: str, doses: str, profile: str = "BSR 2025"):
    _, rv = csv_review(labs, doses, as_of=AS_OF, profile=engine.builtin_profiles()[profile])
    return rv.flags_df()


def test_every_published_rule_source_names_a_reference_with_an_https_address():
    """Every rule of every built-in profile but the project's own (local.*, trend.*) names
    at least one reference id; each id is a reference whose URL is https."""
    refs = knowledge.references()
    for profile in engine.builtin_profiles().values():
        for rule in profile.rules:
            if rule.id.startswith(("local.", "trend.")):
                continue
            ids = REF_ID.findall(rule.source)
            assert ids, (profile.name, rule.id, rule.source)
            assert all(i in refs and refs[i].url.startswith("https://") for i in ids), (profile.name, rule.id)


def test_the_rules_page_lists_each_cited_reference_with_its_address():
    """The default profile's references: the NCI's CTCAE document (cancer.gov), BSR 2017,
    the SPS page its limits were read on, the BSR 2025 announcement."""
    frame = views.references_frame(engine.builtin_profiles()["BSR 2025"]).set_index("Reference")
    for ref in ("nci_ctcae5", "bsr2017", "sps_ssz", "bsr2025", "sps_mp"):
        assert frame.loc[ref, "URL"].startswith("https://"), ref
    assert "cancer.gov" in frame.loc["nci_ctcae5", "URL"]


def test_the_bsr_2017_profile_shows_its_own_schedules():
    """Under BSR 2017 the sulfasalazine row keeps its 2017 schedule (no routine tests after
    12 months); under BSR 2025 the risk-adapted one, with the project's note."""
    old = views.schedules_frame(engine.builtin_profiles()["BSR 2017 / NICE"]).set_index("Drug")
    new = views.schedules_frame(engine.builtin_profiles()["BSR 2025"]).set_index("Drug")
    assert "12 months" in old.loc["Sulfasalazine", "What"]
    assert new.loc["Sulfasalazine", "Schedule"].startswith("BSR 2025")
    assert "project choice" in new.loc["Sulfasalazine", "Source"]


def test_a_creatinine_rise_on_rituximab_alone_gives_no_withhold():
    """Rituximab 1000 mg on 1 Sep, creatinine 70 in January then 100 on 1 Nov (43% above):
    the BSR limit is shown at caution without its 'withhold'."""
    labs = "P1,2026-01-10,creatinine,70,umol/L\nP1,2026-11-01,creatinine,100,umol/L\n"
    f = _flags(labs, "P1,rituximab,1000,mg,once,iv,2026-09-01,2026-09-01\n").set_index("rule")
    row = f.loc["bsr.creatinine_rise"]
    assert row["severity"] == "caution"
    assert "withhold" not in row["message"] and "gives no action for the drugs in force" in row["message"]


def test_mercaptopurine_limit_only_while_mercaptopurine_is_taken():
    """Neutrophils 1.8 (SPS mercaptopurine: < 2): flagged on mercaptopurine; not for a
    patient on methotrexate, nor once mercaptopurine stopped (ended 1 Aug, draw 1 Nov)."""
    labs = "".join(f"{p},2026-11-01,neutrophils,1.8,10^9/L\n" for p in ("P1", "P2", "P3"))
    doses = (
        "P1,mercaptopurine,75,mg,daily,oral,2026-02-01,\n"
        "P2,methotrexate,15,mg,weekly,oral,2026-02-01,\n"
        "P3,mercaptopurine,75,mg,daily,oral,2026-02-01,2026-08-01\n"
    )
    f = _flags(labs, doses)
    hit = f[f["rule"] == "sps.mercaptopurine_neutrophils_low"]
    assert hit["patient_id"].tolist() == ["P1"]
    assert hit["severity"].tolist() == ["action"] and "[sps_mp]" in hit["source"].iloc[0]
    # the BSR 2017 profile reproduces old audits: no new rule there
    assert not (_flags(labs, doses, "BSR 2017 / NICE")["rule"] == "sps.mercaptopurine_neutrophils_low").any()


def test_the_timeline_draws_a_drug_s_own_limit_only_for_a_patient_on_it():
    """The 2.0 neutrophil line (SPS mercaptopurine) beside the 1.6 one for P1 on
    mercaptopurine; only the 1.6 one for P2 on methotrexate."""
    r = csv_import(
        "P1,2026-11-01,neutrophils,1.8,10^9/L\nP2,2026-11-01,neutrophils,1.8,10^9/L\n",
        "P1,mercaptopurine,75,mg,daily,oral,2026-02-01,\nP2,methotrexate,15,mg,weekly,oral,2026-02-01,\n",
        as_of=AS_OF,
    )
    ds = Dataset.from_import(r, "t")
    rv = review_dataset(ds, None, AS_OF)
    for pid, lines in (("P1", {"< 2", "< 1.6"}), ("P2", {"< 1.6"})):
        d = timeline_dict(ds, rv, AS_OF, patient_id=pid, analytes=("neutrophils",))
        texts = [str(a.get("text", "")).replace("&lt;", "<") for a in d["layout"]["annotations"]]
        assert {t.split("<br>")[0] for t in texts if t.startswith("< ")} == lines, (pid, texts)


def test_an_edited_limit_loses_the_guideline_s_short_label():
    """A user profile's neutrophil limit 2.0 is the user's: its timeline label is not
    'BSR 2017 limit (2025 not confirmed)'."""
    base = engine.builtin_profiles()["BSR 2025"]
    assert base.rule("bsr.neutrophils_low").short_source == "BSR 2017 limit (2025 not confirmed)"
    mine = engine.make_user_profile("Local", base, {"bsr.neutrophils_low": {"threshold": 2.0}})
    assert mine.rule("bsr.neutrophils_low").short_source == ""
    assert mine.rule("bsr.wbc_low").short_source == "BSR 2017 limit (2025 not confirmed)"
