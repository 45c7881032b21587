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


def test_a_large_panel_finds_a_patient_by_id(app_page, tmp_path):
    """Over PICKER_LIMIT patients the picker lists the most urgent and a search box finds any other."""
    from dashboard.views import PICKER_LIMIT

    n = PICKER_LIMIT + 40
    rows = ["patient_id,collected_at,analyte,value,unit"]
    for i in range(1, n + 1):
        rows.append(f"MRN{i:05d},2026-10-01,WBC,{6 + i % 3},10^9/L")
        rows.append(f"MRN{i:05d},2026-10-01,Neutrophils,{0.4 if i == 7 else 3.5},10^9/L")
    (tmp_path / "big_panel.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    page = app_page
    page.locator("[data-testid='stFileUploaderDropzoneInput']").set_input_files(str(tmp_path / "big_panel.csv"))
    wait_for_app(page, 60_000)
    page.get_by_role("link", name="Patient").click()
    wait_for_app(page, 60_000)
    picker = page.locator("[data-testid='stSelectbox']").first
    for _ in range(60):  # the picker's value is an attribute, not text: read it until the rerun settles
        if "MRN00007" in picker.inner_html():
            break
        page.wait_for_timeout(500)
    assert "MRN00007" in picker.inner_html()  # opens on the most urgent (grade-4 neutropenia)
    expect(page.get_by_text(f"Listing {PICKER_LIMIT} of {n} patients")).to_be_visible()

    find = page.get_by_label("Find a patient")
    find.fill(f"mrn{n:05d}")  # the last one, not among those listed; any case
    find.press("Enter")
    wait_for_app(page)
    expect(page.get_by_text(f"1 of {n} patients match")).to_be_visible()
    assert f"MRN{n:05d}" in page.locator("[data-testid='stSelectbox']").first.inner_html()
    traces = _traces(page)
    assert traces and any(t["n"] for t in traces)
    screenshot(page, "patient_large_panel_search")
    assert page.locator("[data-testid='stException']").count() == 0


def test_the_after_as_of_sentence_keeps_us_units_on_the_patient_page(app_page, tmp_path):
    """H160 (probe 9): US units chosen in the sidebar on the Panel page stay chosen on the
    Patient page, and the sentence about the result after the as-of date says it in them:
    neutrophils 0.4 x10^9/L are 0.4 K/uL (1 x10^9/L = 1 K/uL), CTCAE grade 4 (< 0.5)."""
    import datetime as dt

    as_of = dt.date.today() - dt.timedelta(days=40)
    before, after = as_of - dt.timedelta(days=20), as_of + dt.timedelta(days=20)
    (tmp_path / "later.csv").write_text(
        "patient_id,collected_at,analyte,value,unit\n"
        f"P1,{before},Neutrophils,3.5,10^9/L\n"
        f"P1,{after},Neutrophils,0.4,10^9/L\n",
        encoding="utf-8",
    )
    page = app_page
    page.locator("[data-testid='stFileUploaderDropzoneInput']").set_input_files(str(tmp_path / "later.csv"))
    wait_for_app(page, 60_000)
    page.get_by_role("link", name="Panel").click()
    wait_for_app(page)
    sidebar = page.locator("[data-testid='stSidebar']")
    for part, value in (("year", f"{as_of.year}"), ("month", f"{as_of.month:02d}"), ("day", f"{as_of.day:02d}")):
        sidebar.get_by_role("spinbutton", name=f"{part}, As of").click()
        page.keyboard.type(value)
    page.keyboard.press("Escape")
    wait_for_app(page)
    sidebar.get_by_text("US (g/dL, K/µL)").click()
    wait_for_app(page)
    expect(page.get_by_text("Most severe: P1, Neutrophils 0.4 K/µL")).to_be_visible()
    page.get_by_role("link", name="Patient").click()
    wait_for_app(page)
    expect(page.get_by_role("heading", name="Patient", exact=True)).to_be_visible()
    expect(page.get_by_text("Most severe: P1, Neutrophils 0.4 K/µL")).to_be_visible()
    assert page.get_by_text("Neutrophils 0.4 ×10⁹/L").count() == 0
    screenshot(page, "patient_after_as_of_us_units")
    assert page.locator("[data-testid='stException']").count() == 0
