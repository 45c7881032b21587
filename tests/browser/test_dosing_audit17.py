"""Audit 17 in a real browser: TPMT unknown is never a full dose; allopurinol added to a
thiopurine never raises it."""

import re

from playwright.sync_api import expect

from tests.browser.conftest import screenshot, wait_for_app


def _open_dosing(page) -> None:
    page.get_by_role("link", name="Dosing").click()
    wait_for_app(page)
    expect(page.get_by_role("heading", name="Dosing assistant")).to_be_visible()


def _choose(page, label: str, option: str) -> None:
    box = page.locator("[data-testid='stSelectbox']").filter(has_text=label).first
    box.click()
    page.get_by_role("option", name=option, exact=True).click()
    wait_for_app(page)


def _number(page, label: str, value: str) -> None:
    field = page.get_by_role("spinbutton", name=label)
    field.fill(value)
    field.press("Enter")
    wait_for_app(page)


def test_tpmt_unknown_nudt15_normal_70_kg_gets_the_cautious_start(app_page):
    """70 kg, TPMT unknown, NUDT15 normal: label start 1 mg/kg/day = 70 mg -> 50 mg/day."""
    page = app_page
    _open_dosing(page)
    _number(page, "Weight (kg)", "70")
    _choose(page, "NUDT15", "normal")
    metric = page.locator("[data-testid='stMetric']").first
    expect(metric).to_contain_text("Cautious start")
    expect(metric).to_contain_text("50 mg/day")
    expect(page.get_by_text(re.compile(r"Test TPMT first")).first).to_be_visible()
    screenshot(page, "dosing_tpmt_unknown_nudt15_normal")
    assert page.locator("[data-testid='stException']").count() == 0


def test_allopurinol_added_to_azathioprine_100_mg(app_page):
    """70 kg, TPMT and NUDT15 normal, on 100 mg when allopurinol is added: a quarter to a
    third of 100 mg = 25-33.3 mg (below the standard-based 35-46.7 mg), capped at a quarter
    (Medsafe; above it the rules give a caution) -> 25 mg/day."""
    page = app_page
    _open_dosing(page)
    _number(page, "Weight (kg)", "70")
    _choose(page, "TPMT", "normal")
    _choose(page, "NUDT15", "normal")
    page.locator("[data-testid='stCheckbox']").filter(has_text="On allopurinol").locator("label").click()
    wait_for_app(page)
    expect(page.get_by_role("spinbutton", name="Dose before allopurinol (mg/day)")).to_be_visible()
    _number(page, "Dose before allopurinol (mg/day)", "100")
    metric = page.locator("[data-testid='stMetric']").first
    expect(metric).to_contain_text("25 mg/day")
    expect(page.get_by_text(re.compile(r"Calculated dose 25 mg/day")).first).to_be_visible()
    screenshot(page, "dosing_allopurinol_added_to_100_mg")
    assert page.locator("[data-testid='stException']").count() == 0
