"""The Home page in a real browser: upload a messy export and read the import report."""

from playwright.sync_api import expect

from tests.browser.conftest import screenshot, wait_for_app

MESSY = (
    "MRN;Collection Date;Component;Result;Units;Reference Range;Flag\r\n"
    "0012;15.03.2024 08:30;Leukozyten;3,2;G/l;4,0-11,0;L\r\n"
    "0012;15.03.2024 08:30;Hämoglobin;12,1;g/dl;12,0-16,0;\r\n"
    "0012;15.03.2024 08:30;Thrombozyten;<10;G/l;150-400;LL\r\n"
    "0012;16.03.2024;GPT;H 450;U/l;0-40;\r\n"
    "0012;17.03.2024;Kreatinin;ausstehend;mg/dl;;\r\n"
    "0012;31.02.2024;Leukozyten;4,0;G/l;;\r\n"
    "0012;18.03.2024;Leukozyten;3,2;/uL;;\r\n"
).encode("cp1252")


def test_upload_shows_the_import_report(app_page):
    page = app_page
    expect(page.get_by_role("button", name="Load sample panel")).to_be_visible()
    page.locator("[data-testid='stFileUploaderDropzoneInput']").set_input_files(
        files=[{"name": "lab_export.csv", "mimeType": "text/csv", "buffer": MESSY}]
    )
    wait_for_app(page)
    expect(page.get_by_text("Import report")).to_be_visible()
    expect(page.get_by_text("lab_export.csv: 4 accepted, 3 rejected, 0 duplicates")).to_be_visible()
    expect(page.get_by_text("Encoding: Windows-1252")).to_be_visible()
    screenshot(page, "home_upload_report")
    # the rejected rows are listed with their reasons
    expect(page.get_by_text("impossible date", exact=False).first).to_be_attached()
    expect(page.get_by_text("Check the data")).to_be_visible()
    assert page.locator("[data-testid='stException']").count() == 0
