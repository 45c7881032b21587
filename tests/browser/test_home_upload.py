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


def test_a_mixed_upload_of_good_and_hostile_files_imports_the_good_ones(app_page):
    """Issue 16: every hostile file ends as its own rejection in the report, the good files
    of the same upload are imported, the page never shows an exception, and ids or sheet
    names with shortcodes show as text.  Two files share a name (labs.csv)."""
    from tests.bad_inputs.make_corpus import GOOD, large_cases
    from tests.bad_inputs.test_corpus import HERE

    page = app_page
    big = large_cases()
    files = [
        {"name": "labs.csv", "mimeType": "text/csv", "buffer": GOOD.encode()},
        {"name": "labs.csv", "mimeType": "text/csv", "buffer": GOOD.replace("P1", "P2").encode()},
    ]
    for name in (
        "header_value_value_value2.csv",
        "fhir_resource_type_not_a_string.json",
        "xlsx_far_corner_cell.xlsx",
        "xlsx_shortcodes_in_sheet_name.xlsx",
        "bidi_and_invisible_ids.csv",
        "shortcodes_in_ids.csv",
        "doses_ambiguous_amounts.csv",
    ):
        files.append(
            {"name": name, "mimeType": "application/octet-stream", "buffer": (HERE / "files" / name).read_bytes()}
        )
    for name in ("json_nested_100000_deep.json", "xlsx_39_sheets_under_part_limit.xlsx", "fhir_40000_contained.json"):
        files.append({"name": name, "mimeType": "application/octet-stream", "buffer": big[name]})
    page.locator("[data-testid='stFileUploaderDropzoneInput']").set_input_files(files=files)
    wait_for_app(page, timeout=240_000)
    expect(page.get_by_text("Import report")).to_be_visible()
    assert page.locator("[data-testid='stException']").count() == 0
    expect(page.get_by_text("labs.csv: 3 accepted, 0 rejected, 0 duplicates")).to_have_count(2)
    expect(page.get_by_text("fhir_40000_contained.json: 1 accepted", exact=False)).to_be_visible()
    expect(page.get_by_text("json_nested_100000_deep.json: 0 accepted", exact=False)).to_be_visible()
    # shortcodes are text: no emoji and no extra material icon from the data
    body = page.inner_text("[data-testid='stMain']")
    assert "\U0001f604" not in body and ":\u2060smile:" in body.replace("\\", "")
    screenshot(page, "home_mixed_hostile_upload")
