"""Issue 6 in a real browser: sample panel -> Panel -> the TPMT patient's timeline."""

from playwright.sync_api import expect

from tests.browser.conftest import screenshot, wait_for_app

TPMT_PATIENT = "SLE-017"


def _traces(page):
    return page.evaluate(
        """() => { const el = document.querySelector('[data-testid=stPlotlyChart] .js-plotly-plot');
                   return el ? el.data.map(t => ({name: t.name || '', yaxis: t.yaxis || 'y', n: (t.x || []).length})) : null; }"""
    )


def test_sample_panel_to_the_tpmt_patient(app_page):
    page = app_page
    page.get_by_role("button", name="Load sample panel").click()
    wait_for_app(page)
    page.get_by_role("link", name="Panel").click()
    wait_for_app(page)
    expect(page.get_by_role("heading", name="Panel")).to_be_visible()
    expect(page.get_by_text("Overdue for bloods")).to_be_visible()
    screenshot(page, "panel_sample")
    assert page.locator("[data-testid='stException']").count() == 0

    # narrow the panel to the TPMT patient and open the timeline by selecting the row
    page.get_by_label("Search patient id").fill(TPMT_PATIENT)
    page.get_by_label("Search patient id").press("Enter")
    wait_for_app(page)
    expect(page.get_by_text("1 of 36 patients shown")).to_be_visible()
    grid = page.locator("[data-testid='stDataFrame']").first
    box = grid.bounding_box()
    page.mouse.click(box["x"] + 12, box["y"] + 35 + 17)  # the row-selector cell of the first row
    wait_for_app(page)
    page.wait_for_url("**/patient", timeout=30_000)
    wait_for_app(page)
    expect(page.get_by_role("heading", name="Patient", exact=True)).to_be_visible()
    expect(page.locator("[data-testid='stPlotlyChart']")).to_be_visible()
    traces = _traces(page)
    assert traces, "the timeline figure is drawn"
    # neutrophils are the second results panel (y3): grade 3 or 4 points are there
    severe = [t for t in traces if t["name"].startswith(("grade 3", "grade 4")) and t["yaxis"] == "y3"]
    assert severe and sum(t["n"] for t in severe) >= 1, traces
    screenshot(page, "patient_tpmt_timeline")
    picker = page.locator("[data-testid='stSelectbox']").first
    assert TPMT_PATIENT in picker.inner_html()
    assert page.locator("[data-testid='stException']").count() == 0
