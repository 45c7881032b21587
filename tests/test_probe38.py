"""Probe 38: every flag names its rule, threshold and a published source; the wording and
severity follow that source; BSR 2025 is the current UK csDMARD guideline and BSR 2017
only a profile kept for old audits.

Sources read for the expected values (the words quoted in each test's docstring):

* SPS mycophenolate mofetil monitoring, sps.nhs.uk/monitorings/mycophenolate-mofetil-monitoring
  (a stored copy): "Consider stopping treatment and contacting a specialist [if] any of the
  following develop: WCC less than 3.5 x 109/L, Neutrophils less than 1.6 x 109/L,
  Unexplained eosinophilia greater than 0.5x 10 9/L, Platelets less than 140 x 109/l,
  Unexplained fall in serum albumin less than 30g/L, MCV greater than 105f/L then check B12,
  folate, thyroid-stimulating hormone levels. If abnormal treat; if normal discuss with
  specialist team; AST or ALT increase to greater than 100units/L; Creatinine increase
  greater than 30% above baseline over 12 months; Calculated GFR less than
  60ml/min/1.73m2 (repeat in 1 week, if still more than 30% from baseline, withhold and
  discuss with specialist team)";
* NHS Dumfries & Galloway sulfasalazine protocol (the BSR 2017 table as a board restates
  it): "WBC <3.5 - withhold and discuss with Rheumatology ... Unexplained eosinophilia >0.5";
* CTCAE v5.0 (NCI, 27 Nov 2017) as transcribed by the project (ctcae.toml) and by
  CRAN clinPK (neutropenia grades < 2000 / 1500 / 1000 / 500 per microlitre);
* SPS mercaptopurine monitoring, sps.nhs.uk/monitorings/mercaptopurine-monitoring, as
  read in /work/coord/facts5.md (table row): "Consider stopping and contacting a
  specialist if neutrophils < 2" (this probe could not reopen the page);
* the BSR 2025 guideline itself could NOT be read: only the BSR announcement
  (rheumatology.org.uk/news/details/Updated-csDMARDs-guideline-2025-expands-to-all-ages),
  rheuma.com.au/?p=27642 ("The guideline also makes recommendations on the actions for
  abnormal blood monitoring results", the table not reproduced) and rheumnow.com's list of
  the drugs it covers (no mercaptopurine, no cyclophosphamide, no biologic).

Findings are strict xfails, each failing at the assert marked "F<n>".
"""

from __future__ import annotations

import datetime as dt
import re

from streamlit.testing.v1 import AppTest

from dashboard import knowledge
from dashboard.dataset import Dataset
from dashboard.rules import engine
from dashboard.rules.review import review_dataset
from tests.support import ROOT, csv_import, csv_review, timeline_dict

AS_OF = dt.date(2026, 11, 20)
DRAW = "2026-11-01"
REF_ID = re.compile(r"\[(\w+)\]")


def _flags(labs: str, doses: str, profile: str = "BSR 2025"):
    _, rv = csv_review(labs, doses, as_of=AS_OF, profile=engine.builtin_profiles()[profile])
    f = rv.flags_df()
    return f[f["collected_at"].astype(str).str.startswith(DRAW)]


# =========================================================================== checked and fine


def test_bsr_limits_equal_the_sps_restatement_of_bsr_2017():
    """SPS mycophenolate page (quoted in the module docstring): WCC < 3.5, neutrophils < 1.6,
    eosinophils > 0.5, platelets < 140, albumin < 30, MCV > 105, ALT/AST > 100, creatinine
    more than 30% above baseline over 12 months, GFR < 60; all strict."""
    expected = {
        "bsr.wbc_low": ("<", 3.5),
        "bsr.neutrophils_low": ("<", 1.6),
        "bsr.eosinophils_high": (">", 0.5),
        "bsr.platelets_low": ("<", 140.0),
        "bsr.albumin_low": ("<", 30.0),
        "bsr.mcv_high": (">", 105.0),
        "bsr.alt_high": (">", 100.0),
        "bsr.ast_high": (">", 100.0),
        "bsr.creatinine_rise": ("rise_pct", 30.0),
        "bsr.egfr_low": ("<", 60.0),
    }
    for name in ("BSR 2025", "BSR 2017 / NICE"):
        profile = engine.builtin_profiles()[name]
        for rid, (comparison, threshold) in expected.items():
            rule = profile.rule(rid)
            assert (rule.comparison, rule.threshold, rule.inclusive) == (comparison, threshold, False), (name, rid)


def test_each_limit_fires_just_past_it_with_the_source_action():
    """On methotrexate (a BSR drug), 3.4 / 1.5 / 139 / 0.6 / 106 / 101 / 101 / 29 / 59 and a
    creatinine 92 on a pre-treatment 70 (31.4% > 30%) each fire; "withhold" where SPS/BSR
    2017 says withhold/stop, "check B12, folate and TSH" for the MCV, "repeat in 1 week"
    for the renal pair; under BSR 2025 the flag says the limit is 2017's."""
    labs = (
        "P1,2026-01-10,creatinine,70,umol/L\n"
        f"P1,{DRAW},wbc,3.4,10^9/L\nP1,{DRAW},neutrophils,1.5,10^9/L\nP1,{DRAW},platelets,139,10^9/L\n"
        f"P1,{DRAW},eosinophils,0.6,10^9/L\nP1,{DRAW},mcv,106,fL\nP1,{DRAW},alt,101,U/L\n"
        f"P1,{DRAW},ast,101,U/L\nP1,{DRAW},albumin,29,g/L\nP1,{DRAW},egfr,59,mL/min/1.73m2\n"
        f"P1,{DRAW},creatinine,92,umol/L\n"
    )
    f = _flags(labs, "P1,methotrexate,15,mg,weekly,oral,2026-02-01,\n").set_index("rule")
    for rid in ("bsr.wbc_low", "bsr.neutrophils_low", "bsr.platelets_low", "bsr.alt_high", "bsr.ast_high"):
        assert "withhold and discuss" in f.loc[rid, "message"], rid
        assert "2017 limit is applied" in f.loc[rid, "source"], rid
    assert "check B12, folate and TSH" in f.loc["bsr.mcv_high", "message"]
    assert "withhold" not in f.loc["bsr.mcv_high", "message"]
    for rid in ("bsr.egfr_low", "bsr.creatinine_rise"):
        assert ": repeat in 1 week; if " in f.loc[rid, "message"], rid


def test_ctcae_neutrophil_boundaries():
    """CTCAE v5.0 'Neutrophil count decreased': G1 <LLN-1.5, G2 <1.5-1.0, G3 <1.0-0.5,
    G4 <0.5 (x10^9/L): 1.5 is grade 1, 1.49 grade 2, 0.99 grade 3, 0.49 grade 4."""
    labs = "".join(
        f"P1,2026-11-0{i + 1},neutrophils,{v},10^9/L\n" for i, v in enumerate(("1.5", "1.49", "0.99", "0.49"))
    )
    _, rv = csv_review(labs, "", as_of=AS_OF)
    f = rv.flags_df()
    grades = f[f["rule"] == "ctcae.neutrophils"].sort_values("collected_at")["ctcae_grade"].tolist()
    assert grades == [1, 2, 3, 4]


# =========================================================================== findings


def test_f1_timeline_limit_label_does_not_credit_bsr_2025_with_the_2017_limit():
    """Default profile (BSR 2025), methotrexate, neutrophils 1.5: the dashed limit line at 1.6
    is BSR 2017's (the flag's own source says so); its label in the chart's margin must not
    read as if BSR 2025 set it."""
    r = csv_import(
        f"P1,2026-01-10,neutrophils,4.0,10^9/L\nP1,{DRAW},neutrophils,1.5,10^9/L\n",
        "P1,methotrexate,15,mg,weekly,oral,2026-02-01,\n",
        as_of=AS_OF,
    )
    ds = Dataset.from_import(r, "t")
    d = timeline_dict(ds, review_dataset(ds, None, AS_OF), AS_OF, analytes=("neutrophils",))
    labels = [a["text"] for a in d["layout"]["annotations"] if str(a.get("text", "")).startswith("&lt; 1.6")]
    labels += [a["text"] for a in d["layout"]["annotations"] if str(a.get("text", "")).startswith("< 1.6")]
    assert labels, "no limit label for the 1.6 line"
    assert all("2017" in t or "not confirmed" in t for t in labels), labels  # F1


def _rules_page() -> AppTest:
    at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=120)
    at.run()
    at.switch_page("pages/rules.py").run()
    assert not at.exception
    return at


def test_f2_rules_page_schedule_tab_shows_the_schedule_the_review_uses():
    """The review under BSR 2025 puts methotrexate and sulfasalazine on bsr2025_standard
    (schedule.toml [profiles."BSR 2025".drugs]); the Rules page, whose profile is BSR 2025,
    must not show them on 'BSR 2017 csDMARD schedule' / 'after 12 months no routine blood tests'."""
    _, rv = csv_review(
        "P1,2026-10-01,wbc,6.0,10^9/L\n", "P1,sulfasalazine,2000,mg,daily,oral,2024-02-01,\n", as_of=AS_OF
    )
    assert rv.schedule_df()["schedule"].tolist() == ["bsr2025_standard"]
    at = _rules_page()
    assert at.selectbox[0].value == "BSR 2025"
    table = next(df.value for df in at.dataframe if "Schedule" in df.value.columns)
    rows = table.set_index("Drug")
    assert "2017" not in rows.loc["Methotrexate", "Schedule"]  # F2
    assert "no routine blood tests" not in rows.loc["Sulfasalazine", "What"]


def test_f3_bsr_2025_flags_cite_a_reference_that_holds_their_limit():
    """Each bsr.* flag under BSR 2025 names, besides [bsr2025], a reference of references.toml
    whose URL opens a page with the limit applied (e.g. an SPS monitoring page: sps_ssz's
    note lists all ten limits); [bsr2025]'s note: 'facts beyond the announcement's words are
    not attributed to it'."""
    refs = knowledge.references()
    assert "not attributed to it" in refs["bsr2025"].note
    profile = engine.builtin_profiles()["BSR 2025"]
    for rule in profile.rules:
        if not rule.id.startswith("bsr."):
            continue
        ids = [i for i in REF_ID.findall(rule.source) if i in refs and i != "bsr2025"]
        assert ids, (rule.id, rule.source)  # F3
        assert any(f"{rule.threshold:g}" in refs[i].note for i in ids), (rule.id, ids)


def test_f4_ctcae_and_bsr_2017_flags_name_a_reference_with_a_url():
    """A CTCAE grade-3 neutrophil flag and the BSR 2017 profile's WBC flag each name a
    reference id that resolves to an https address; CTCAE's is NCI's own (cancer.gov)."""
    refs = knowledge.references()
    labs = f"P1,{DRAW},wbc,3.4,10^9/L\nP1,{DRAW},neutrophils,0.9,10^9/L\n"
    doses = "P1,methotrexate,15,mg,weekly,oral,2026-02-01,\n"
    f = _flags(labs, doses, "BSR 2017 / NICE").set_index("rule")
    ctcae_ids = [i for i in REF_ID.findall(f.loc["ctcae.neutrophils", "source"]) if i in refs]
    assert any("cancer.gov" in refs[i].url for i in ctcae_ids), f.loc["ctcae.neutrophils", "source"]  # F4
    bsr_ids = [i for i in REF_ID.findall(f.loc["bsr.wbc_low", "source"]) if i in refs]
    assert bsr_ids and all(refs[i].url.startswith("https://") for i in bsr_ids)


def test_f5_no_withhold_where_the_guideline_does_not_cover_the_drug():
    """Cyclophosphamide 500 mg IV on 20 Oct, WBC 3.4 on 1 Nov: BSR 2017 and 2025 (their
    drug lists) do not cover cyclophosphamide, so no source says 'withhold' here; the flag
    may show the limit as a guide (caution), not the guideline's instruction."""
    labs = f"P1,2026-01-10,wbc,6.0,10^9/L\nP1,{DRAW},wbc,3.4,10^9/L\n"
    for doses in (
        "P1,cyclophosphamide,500,mg,once,iv,2026-10-20,2026-10-20\n",
        "P1,rituximab,1000,mg,once,iv,2026-09-01,2026-09-01\n",
    ):
        for profile in ("BSR 2025", "BSR 2017 / NICE"):
            row = _flags(labs, doses, profile).set_index("rule").loc["bsr.wbc_low"]
            assert row["severity"] == "caution"
            assert "none of the drugs in force" in row["message"]
            assert "withhold" not in row["message"], (doses, profile, row["message"])  # F5


def test_f6_mercaptopurine_neutrophils_below_2_are_flagged():
    """Mercaptopurine 75 mg daily since February, neutrophils 1.8 (WBC 5.0): SPS
    mercaptopurine monitoring, the source rules.toml [guideline_drugs] cites for keeping
    mercaptopurine with the BSR limits, asks to consider stopping below 2; today only the
    CTCAE grade 1 (info) appears."""
    labs = f"P1,{DRAW},wbc,5.0,10^9/L\nP1,{DRAW},neutrophils,1.8,10^9/L\n"
    f = _flags(labs, "P1,mercaptopurine,75,mg,daily,oral,2026-02-01,\n")
    neut = f[f["analyte"] == "neutrophils"]
    assert (neut["kind"] == "guideline").any(), neut[["rule", "severity", "message"]].to_dict("records")  # F6
