"""The Workspace page in a real browser: save a panel, enter a dose reduction, record a
review, restart the app, find all three, and download the patient summary PDF."""

from __future__ import annotations

import io

from playwright.sync_api import expect

from tests.browser.conftest import screenshot, start_app, stop_app, wait_for_app

LABS = (
    b"MRN,Collection Date,Component,Result,Units,Flag\n"
    b"001,2024-01-10,WBC,6.1,K/uL,\n001,2024-03-15,WBC,3.2,K/uL,L\n001,2024-04-15,WBC,2.9,K/uL,L\n"
    b"002,2024-03-16,PLT,90,K/uL,L\n"
)
DOSES = b"patient,drug,dose,unit,frequency,start,end\n001,Imuran,150,mg,daily,2024-01-01,\n"


def open_page(chromium, url: str):
    context = chromium.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(30_000)
    page.goto(url)
    wait_for_app(page)
    return context, page


def test_a_review_and_a_dose_change_survive_a_restart(chromium, tmp_path):
    env = {"DASHBOARD_WORKSPACE": str(tmp_path / "ws")}
    proc, url = start_app(env)
    try:
        context, page = open_page(chromium, url)
        page.locator("[data-testid='stFileUploaderDropzoneInput']").set_input_files(
            files=[
                {"name": "labs.csv", "mimeType": "text/csv", "buffer": LABS},
                {"name": "doses.csv", "mimeType": "text/csv", "buffer": DOSES},
            ]
        )
        wait_for_app(page)
        page.get_by_test_id("stTopNav").get_by_role("link", name="Workspace").click()
        wait_for_app(page)
        page.get_by_role("button", name="Save this panel to the workspace").click()
        wait_for_app(page)
        expect(page.get_by_text("Workspace import #1: added 4 results")).to_be_visible()
        page.get_by_label("Your name (recorded with what you enter)").fill("Dr Ada")
        page.keyboard.press("Enter")
        wait_for_app(page)
        change = page.locator("[data-testid='stForm']").nth(1)
        for part, value in (("year", "2024"), ("month", "04"), ("day", "20")):
            change.get_by_role("spinbutton", name=f"{part}, On").click()
            page.keyboard.type(value)
        change.get_by_label("New dose (for a change)").fill("100")
        change.get_by_role("button", name="Save change").click()
        wait_for_app(page)
        expect(page.get_by_text("Dose change on 2024-04-20 saved.")).to_be_visible()
        review = page.locator("[data-testid='stForm']").nth(2)
        review.locator("[data-testid='stSelectbox']").nth(1).click()
        page.keyboard.type("reduce")
        page.keyboard.press("Enter")
        review.get_by_label("Note").fill("reviewed — AZA reduced to 100 mg")
        review.get_by_role("button", name="Record review").click()
        wait_for_app(page)
        expect(page.get_by_text("Review recorded.")).to_be_visible()
        context.close()
    finally:
        stop_app(proc)

    proc, url = start_app(env)  # a restart: only the workspace remembers
    try:
        context, page = open_page(chromium, url)
        page.get_by_test_id("stTopNav").get_by_role("link", name="Workspace").click()
        wait_for_app(page)
        page.get_by_role("button", name="Open workspace panel").click()
        wait_for_app(page)
        expect(page.get_by_text("Loaded: Workspace")).to_be_visible()
        screenshot(page, "workspace_after_restart")
        expect(page.get_by_text("Imported and entered doses together")).to_be_visible()
        expect(page.locator("[data-testid='stDataFrame']").first).to_be_visible()
        page.get_by_role("tab", name="Export").click()
        with page.expect_download() as download:
            page.get_by_role("button", name="Patient summary (PDF)").click()
        pdf = download.value.path().read_bytes()
        assert pdf.startswith(b"%PDF")
        from pypdf import PdfReader

        # the summary may run onto a second page now that the timeline picture is drawn
        text = "\n".join(pg.extract_text() for pg in PdfReader(io.BytesIO(pdf)).pages)
        assert "entered by Dr Ada" in text and "AZA reduced to 100 mg" in text and "doses.csv row 2" in text
        assert page.locator("[data-testid='stException']").count() == 0
        context.close()
    finally:
        stop_app(proc)
