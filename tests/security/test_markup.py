"""Data is shown as text: markdown escaping, no raw HTML anywhere, settings that leak nothing."""

from __future__ import annotations

import ast
import re
import tomllib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from streamlit.testing.v1 import AppTest

from dashboard.markup import WORD_JOINER, md_escape
from tests.security.hostile import FORMULA_ID, MD_IMAGE_ID, MD_LINK_ID, XSS_ID, labs_csv, patients_csv
from tests.support import ROOT

APP = str(ROOT / "streamlit_app.py")
SOURCES = sorted([*(ROOT / "dashboard").rglob("*.py"), *(ROOT / "pages").glob("*.py"), ROOT / "streamlit_app.py"])
ALWAYS = r"""\`*_{}[]()!|<>~$&@"""


def unescape(md: str) -> str:
    """What CommonMark displays for backslash escapes of ASCII punctuation."""
    return re.sub(r"\\([!-/:-@\[-`{-~])", r"\1", md).replace(WORD_JOINER, "")


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\n\u2028\u2029\u2060")))
def test_escaped_markdown_displays_exactly_the_text(text):
    md = md_escape(text)
    assert unescape(md) == text
    # no markdown-significant character is left bare
    bare = re.sub(r"\\.", "", md)
    assert not any(ch in bare for ch in ALWAYS), md
    assert not re.search(r":\S", bare) and not re.search(r"(?i)www\.", bare)
    shown = md.replace("\\", "")  # what GFM's autolink finder (and the shortcode finder) sees after parsing
    assert not re.search(r":(?:material/)?[\w+\-]+:", shown), md  # no :smile:, :+1: or :material/...: survives
    assert not re.search(r"(?i)(https?|ftp|mailto)://|www\.|\w@", shown)
    assert not re.match(r"\s*([-+=#]|\d+[.)])", md)


def test_hostile_strings_lose_their_syntax():
    assert md_escape(MD_IMAGE_ID) == "\\!\\[x\\]\\(http\\:\u2060//evil.invalid/pixel.png\\)"
    assert md_escape("see www.evil.invalid") == "see www\u2060.evil.invalid"
    assert md_escape("dr@x.org") == "dr\u2060\\@x.org"
    assert md_escape("- 1. = +") == r"\- 1. = +"
    assert md_escape("12. Januar") == r"12\. Januar"
    assert md_escape("# big") == r"\# big" and md_escape("import #3") == "import #3"
    assert (
        md_escape("dates such as 01/02/2024: day-first or month-first")
        == "dates such as 01/02/2024: day-first or month-first"
    )
    assert md_escape(MD_LINK_ID).startswith(r"\[click\]\(javascript\:")
    assert md_escape(XSS_ID) == r"\<img src=x onerror=alert\(1\)\>"
    assert md_escape(":red[alarm] $x$") == r"\:red\[alarm\] \$x\$"
    assert md_escape("line 1\nline 2") == "line 1 line 2"  # one line: no headings or lists from data
    assert md_escape(None) == ""


@pytest.mark.parametrize("code", [":smile:", ":+1:", ":100:", ":material/warning:", "id :material/lock: id"])
def test_shortcodes_in_data_stay_text(code):
    md = md_escape(code)
    assert unescape(md) == code
    assert ":\u2060" in md  # the colon is kept, a word joiner after it breaks the shortcode


def test_colons_that_open_no_shortcode_are_left_alone():
    assert WORD_JOINER not in md_escape("RA:001") + md_escape("ratio 2:1") + md_escape(":red[alarm]")


def _calls(tree: ast.AST):
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            yield node


def test_no_raw_html_is_ever_enabled():
    """No ``unsafe_allow_html=True``, ``st.html`` or components HTML in the app's code."""
    offenders = []
    for path in SOURCES:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for call in _calls(tree):
            name = ast.unparse(call.func)
            if name.endswith(("st.html", "components.html", "components.iframe", "v1.html")):
                offenders.append(f"{path.name}: {name}")
            for kw in call.keywords:
                if kw.arg == "unsafe_allow_html" and not (
                    isinstance(kw.value, ast.Constant) and kw.value.value is False
                ):
                    offenders.append(f"{path.name}:{call.lineno} unsafe_allow_html")
    assert not offenders


def test_the_server_settings_leak_nothing():
    cfg = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert cfg["browser"]["gatherUsageStats"] is False
    assert cfg["server"]["enableXsrfProtection"] is True
    assert cfg["server"]["address"] == "127.0.0.1"  # not reachable from the network unless asked
    assert cfg["server"]["enableCORS"] is True
    assert cfg["client"]["showErrorDetails"] == "none"
    assert cfg["client"]["toolbarMode"] == "viewer"
    assert 0 < cfg["server"]["maxUploadSize"] <= 1000
    assert cfg["server"]["fileWatcherType"] == "none"
    assert (
        not (ROOT / ".streamlit" / "secrets.toml").exists()
        or ".streamlit/secrets.toml" in (ROOT / ".gitignore").read_text()
    )


def _texts(at: AppTest) -> list[str]:
    """Every markdown-rendered string of the page (alerts, captions, markdown, labels)."""
    out = []
    for kind in ("markdown", "caption", "error", "warning", "info", "success"):
        out += [e.value for e in getattr(at, kind)]
    out += [e.label for e in at.expander]
    out += [e.label for e in at.selectbox]
    return out


def test_pages_escape_hostile_data_in_markdown():
    """Upload the hostile files and open Home, Panel, Patient and the Workspace export."""
    at = AppTest.from_file(APP, default_timeout=90)
    at.run()
    at.file_uploader(key="upload_files").set_value(
        [(XSS_ID + ".csv", labs_csv(), "text/csv"), ("patients.csv", patients_csv(), "text/csv")]
    )
    at.run()
    assert not at.exception
    pages = [None, "pages/panel.py", "pages/patient.py"]
    seen = []
    for page in pages:
        if page:
            at.switch_page(page).run()
            assert not at.exception, page
        seen += _texts(at)
    for pid in (XSS_ID, FORMULA_ID, MD_LINK_ID, MD_IMAGE_ID):
        at.session_state["selected_patient"] = pid
        at.switch_page("pages/patient.py").run()
        assert not at.exception
        seen += _texts(at)
    joined = "\n".join(seen)
    # the file name (with markup) reached the report and the sidebar: only escaped
    assert md_escape(XSS_ID) in joined
    for raw in (XSS_ID, MD_IMAGE_ID, MD_LINK_ID, "<script>", ":red[alarm]"):
        assert raw not in joined, raw


def test_the_pdf_picture_is_drawn_offline():
    """Kaleido would fetch MathJax from a CDN and its Chromium would resolve host names."""
    import os

    from dashboard.summary_export import OFFLINE_KALEIDO

    assert OFFLINE_KALEIDO["mathjax"] is False
    wrapper = ROOT / OFFLINE_KALEIDO["path"]
    assert wrapper.exists() and os.access(wrapper, os.X_OK)
    text = wrapper.read_text()
    assert "--host-resolver-rules=MAP * ~NOTFOUND" in text and "--disable-background-networking" in text
