"""Two clinicians at once: two browser contexts (two Streamlit sessions) on one server
upload different panels at the same time and never see each other's patients, and
session-only data never reaches the workspace."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import screenshot, start_app, stop_app, wait_for_app

HEAD = "patient_id,collected_at,test,value,unit\n"


def panel(prefix: str, n: int) -> bytes:
    rows = [f"{prefix}-{i:03d},2024-03-{1 + i % 27:02d} 08:30,WBC,{2.0 + i / 10:.1f},10^9/L\n" for i in range(n)]
    return (HEAD + "".join(rows)).encode()


ALPHA = {f"ALPHA-{i:03d}" for i in range(3)}
BRAVO = {f"BRAVO-{i:03d}" for i in range(5)}


@pytest.fixture(scope="module")
def shared_app(tmp_path_factory):
    ws = tmp_path_factory.mktemp("isolation") / "workspace"
    proc, url = start_app({"DASHBOARD_WORKSPACE": str(ws)})
    try:
        yield url, ws
    finally:
        stop_app(proc)


def _open(chromium, url):
    context = chromium.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(30_000)
    page.goto(url)
    return context, page


def _patients_offered(page) -> set[str]:
    """The patient ids the Patient page's picker offers (issue 18: its labels end "· MRN <id>")."""
    page.get_by_role("combobox", name="Patient").click()
    options = page.get_by_role("option").all_inner_texts()
    page.keyboard.press("Escape")
    return {o.split(" · ")[-1].strip().removeprefix("MRN ") for o in options}


def test_two_sessions_never_see_each_others_patients(chromium, shared_app):
    url, ws = shared_app
    (ctx_a, a), (ctx_b, b) = _open(chromium, url), _open(chromium, url)
    try:
        wait_for_app(a)
        wait_for_app(b)
        # both uploads are sent before either import finishes: the server runs them together
        a.locator("[data-testid='stFileUploaderDropzoneInput']").set_input_files(
            files=[{"name": "alpha.csv", "mimeType": "text/csv", "buffer": panel("ALPHA", 3)}]
        )
        b.locator("[data-testid='stFileUploaderDropzoneInput']").set_input_files(
            files=[{"name": "bravo.csv", "mimeType": "text/csv", "buffer": panel("BRAVO", 5)}]
        )
        wait_for_app(a)
        wait_for_app(b)
        expect(a.get_by_text("alpha.csv: 3 accepted", exact=False)).to_be_visible()
        expect(b.get_by_text("bravo.csv: 5 accepted", exact=False)).to_be_visible()
        expect(a.get_by_text("bravo.csv")).to_have_count(0)
        expect(b.get_by_text("alpha.csv")).to_have_count(0)

        # switch pages at the same time
        for page in (a, b):
            page.get_by_role("link", name="Panel", exact=True).first.click()
        wait_for_app(a)
        wait_for_app(b)
        expect(a.get_by_text("3 of 3 patients shown")).to_be_visible()
        expect(b.get_by_text("5 of 5 patients shown")).to_be_visible()

        for page in (a, b):
            page.get_by_role("link", name="Patient", exact=True).first.click()
        wait_for_app(a)
        wait_for_app(b)
        assert _patients_offered(a) == ALPHA
        assert _patients_offered(b) == BRAVO
        expect(a.locator("[data-testid='stSidebar']")).to_contain_text("alpha.csv · 3 patients")
        expect(b.locator("[data-testid='stSidebar']")).to_contain_text("bravo.csv · 5 patients")
        screenshot(a, "isolation_session_a")
        screenshot(b, "isolation_session_b")

        # a third session opened now starts empty: nothing is shared through the server
        ctx_c, c = _open(chromium, url)
        try:
            wait_for_app(c)
            expect(c.get_by_text("Load the sample panel or upload files to begin.")).to_be_visible()
            c.get_by_role("link", name="Workspace", exact=True).first.click()
            wait_for_app(c)
            expect(c.locator("[data-testid='stMetric']").filter(has_text="Patients")).to_contain_text("0")
        finally:
            ctx_c.close()
        # session-only panels were never written: the workspace folder was not even created
        assert not ws.exists()
        for page in (a, b):
            assert page.locator("[data-testid='stException']").count() == 0
    finally:
        ctx_a.close()
        ctx_b.close()
