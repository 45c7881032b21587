"""Issue 7 in a real browser: the Compare page and the Dosing assistant."""

import re

from playwright.sync_api import expect

from tests.browser.conftest import screenshot, wait_for_app


def _no_exception(page) -> None:
    assert page.locator("[data-testid='stException']").count() == 0


def _open(page, link: str) -> None:
    page.get_by_role("link", name=link).click()
    wait_for_app(page)


def _choose(page, label: str, option: str) -> None:
    """Pick ``option`` in the Streamlit selectbox labelled ``label``."""
    box = page.locator("[data-testid='stSelectbox']").filter(has_text=label).first
    box.click()
    page.get_by_role("option", name=option, exact=True).click()
    wait_for_app(page)


def test_compare_lupus_nephritis_trio_side_by_side(app_page):
    page = app_page
    _open(page, "Compare")
    expect(page.get_by_role("heading", name="Compare treatments")).to_be_visible()
    # the side-by-side table: one column per chosen drug (azathioprine, mycophenolate, Euro-Lupus CYC)
    table = page.locator("[data-testid='stTable']").first
    expect(table.locator("thead th").last).to_have_text("Differs")
    headers = [h.strip() for h in table.locator("thead th").all_inner_texts()]
    drugs = [h for h in headers if h and h not in ("Group", "Attribute", "Differs")]
    assert drugs == ["Azathioprine", "Mycophenolate (MMF / MPA)", "Cyclophosphamide IV, Euro-Lupus"]
    expect(table).to_contain_text("Pregnancy")
    # both charts are drawn (one per tab)
    expect(page.locator("[data-testid='stPlotlyChart']").first).to_be_visible()
    assert page.locator("[data-testid='stPlotlyChart'] .js-plotly-plot").count() == 2
    caption = page.get_by_text(re.compile(r"^\d+ of \d+ entries"))
    before = int(caption.inner_text().split()[0])
    screenshot(page, "compare")
    page.get_by_text("Pregnancy-compatible", exact=True).click()
    wait_for_app(page)
    after = int(page.get_by_text(re.compile(r"^\d+ of \d+ entries")).inner_text().split()[0])
    assert 0 < after < before
    _no_exception(page)


def test_dosing_70_kg_tpmt_intermediate_on_allopurinol(app_page):
    page = app_page
    _open(page, "Dosing")
    expect(page.get_by_role("heading", name="Dosing assistant")).to_be_visible()
    weight = page.get_by_label("Weight (kg)").first
    weight.fill("70")
    weight.press("Enter")
    wait_for_app(page)
    _choose(page, "TPMT", "intermediate")
    page.get_by_text("On allopurinol", exact=True).click()
    wait_for_app(page)
    metric = page.locator("[data-testid='stMetric']").first
    expect(metric).to_contain_text("Suggested dose")
    expect(metric).to_contain_text("25 mg/day")
    expect(page.get_by_text(re.compile(r"^HIGH: Allopurinol")).first).to_be_visible()
    screenshot(page, "dosing_tpmt_allopurinol")
    _no_exception(page)


def test_dosing_prefills_from_the_selected_patient(app_page):
    page = app_page
    page.get_by_role("button", name="Load sample panel").click()
    wait_for_app(page)
    _open(page, "Dosing")
    # the page's patient picker, by its label (not the first select box found: during the
    # page change the previous page's elements can still be in the document, hidden)
    box = page.locator("[data-testid='stSelectbox']").filter(has_text="Patient").first
    box.wait_for(state="visible")
    box.click()
    page.keyboard.type("SLE-017")
    page.get_by_role("option").filter(has_text="SLE-017").first.wait_for(state="visible")
    page.keyboard.press("Enter")
    wait_for_app(page)
    expect(page.get_by_text(re.compile(r"Prefilled for the selected patient .*TPMT intermediate"))).to_be_visible()
    expect(page.get_by_role("combobox", name="TPMT")).to_have_value("intermediate")
    expect(page.get_by_label("Weight (kg)").first).not_to_have_value("")
    screenshot(page, "dosing_prefilled")
    _no_exception(page)
