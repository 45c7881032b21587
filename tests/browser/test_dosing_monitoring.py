"""Audit 18 (F3) in a real browser: the Dosing page's blood tests follow the titration plan."""

from playwright.sync_api import expect

from tests.browser.conftest import screenshot
from tests.browser.test_dosing_audit17 import _choose, _number, _open_dosing


def test_the_blood_tests_of_the_azathioprine_titration(app_page):
    """70 kg, TPMT and NUDT15 normal: 50 -> 150 mg in steps at weeks 6, 10, 14 and 18; the
    plan's tests are dated by the review's schedule (fortnightly again after every step)."""
    page = app_page
    _open_dosing(page)
    _number(page, "Weight (kg)", "70")
    _choose(page, "TPMT", "normal")
    _choose(page, "NUDT15", "normal")
    expect(page.locator("[data-testid='stMetric']").first).to_contain_text("150 mg/day")
    heading = page.get_by_role("heading", name="Blood tests of this plan")
    expect(heading).to_be_visible()
    expect(page.get_by_text("every dose increase starts the fortnightly tests again").first).to_be_visible()
    heading.scroll_into_view_if_needed()
    screenshot(page, "dosing_blood_tests_of_the_titration")
    assert page.locator("[data-testid='stException']").count() == 0
