"""Issue 18 in a real browser at 1400 px: the Monday-morning review.

Load the sample panel; acknowledge the most urgent patient's open flags from the Patient
page in one form (which keeps the panel in the workspace in the same click); go to the
Panel, toggle, navigate, reload the browser: the patient stays reviewed and is hidden
when asked; a new result reopens the patient. Along the way: the one as-of date shown on
every page, and the Panel's deciding columns visible without horizontal scrolling.

SLE-018 (the sample's most urgent patient on its extract date, 16 Nov 2026) has three open
flags: neutrophils 1.18 (BSR limit < 1.6, CTCAE grade 2) and WBC 3.8 (CTCAE grade 1). Five sample
patients have open flags on that date (SLE-004, -017, -018, -019, -025): "Not reviewed" 5, then 4.
"""

from __future__ import annotations

from playwright.sync_api import expect

from tests.browser.conftest import screenshot, start_app, stop_app, wait_for_app

PID = "SLE-018"
EXTRACT = "2026-11-16"  # the sample's extract date, the value of the sidebar's date box
DECIDING = ["Patient", "Urgency", "Why", "WBC", "Neut", "Lymph", "Hb", "Plt", "Overdue", "To review"]
PAGES = ["Home", "Panel", "Patient", "Compare", "Dosing", "Rules", "Workspace"]


def grid(page) -> dict:
    """The Panel table as the browser shows it: the visible headers, the visible rows (by
    the accessible grid the data grid draws next to its canvas) and whether it scrolls sideways."""
    return page.evaluate(
        """() => { const g = document.querySelector('[data-testid=stDataFrame]');
          const heads = [...g.querySelectorAll('[role=columnheader]')].map(e => e.textContent.trim());
          const rows = [...g.querySelectorAll('[role=row]')].map(r => [...r.querySelectorAll('[role=gridcell]')]
              .map(c => c.textContent.trim())).filter(r => r.length);
          const s = g.querySelector('.dvn-scroller');
          return {heads, rows, scroll: s ? s.scrollWidth - s.clientWidth : -1}; }"""
    )


def row_of(page, pid: str) -> dict | None:
    g = grid(page)
    for r in g["rows"]:
        if r and r[0].endswith(f"· {pid}"):
            return dict(zip(g["heads"], r, strict=False))
    return None


def nav(page, name: str) -> None:
    page.get_by_test_id("stTopNav").get_by_role("link", name=name, exact=True).click()
    wait_for_app(page)


def sidebar_date(page) -> str:
    return page.locator("[data-testid='stSidebar'] [data-testid='stDateInput'] input").first.input_value()


def metric(page, label: str) -> str:
    box = page.locator("[data-testid='stMetric']").filter(has_text=label)
    return box.locator("[data-testid='stMetricValue']").inner_text().strip()


def shown(page) -> str:
    return page.get_by_text("patients shown").first.inner_text()


def test_the_monday_review_round_trip(chromium, tmp_path):
    env = {"DASHBOARD_WORKSPACE": str(tmp_path / "ws")}
    proc, url = start_app(env)
    try:
        context = chromium.new_context(viewport={"width": 1400, "height": 1000})
        page = context.new_page()
        page.set_default_timeout(60_000)
        page.goto(url)
        wait_for_app(page)
        page.get_by_role("button", name="Load sample panel").click()
        wait_for_app(page)

        # ---- one as-of date, the same on every page
        for name in PAGES:
            nav(page, name)
            assert sidebar_date(page) == EXTRACT, name
            assert page.locator("[data-testid='stException']").count() == 0, name

        # ---- the Panel fits 1400 px: the deciding columns without horizontal scrolling
        nav(page, "Panel")
        page.wait_for_timeout(1000)
        g = grid(page)
        assert g["heads"] == DECIDING and g["scroll"] <= 1, g
        top = row_of(page, PID)
        assert top is not None and top["Urgency"] == "action" and top["To review"] == "3"
        assert top["Neut"] == "1.18 G2" and top["Why"].startswith("Neut 1.18 < 1.6")
        assert all("None" not in c and "nan" not in c for r in g["rows"] for c in r)
        assert metric(page, "Not reviewed") == "5"
        screenshot(page, "issue18_panel_1400")

        # ---- the review, where the clinician looks: the Patient page, one form
        nav(page, "Patient")
        expect(page.get_by_text(f"DAVIES, Sarah · born 25-Dec-1991 (34 y) · female · MRN {PID}")).to_be_visible()
        expect(page.get_by_role("combobox", name="Patient")).to_have_value(f"DAVIES, Sarah · 25-Dec-1991 · MRN {PID}")
        form = page.locator("[data-testid='stForm']").first
        expect(form.get_by_text("Neutrophils 1.18 ×10⁹/L < 1.6: withhold and discuss")).to_be_visible()
        action = form.locator("[data-testid='stSelectbox']").first
        action.scroll_into_view_if_needed()
        action.click()
        page.keyboard.type("repeat test")
        page.keyboard.press("Enter")
        form.get_by_label("Note").fill("repeat FBC in 2 weeks")
        form.get_by_label("Your name (asked once per session, recorded with the review)").fill("Dr Ada")
        expect(form.get_by_text("Reviews are kept in the workspace on this machine")).to_be_visible()
        screenshot(page, "issue18_patient_1400")
        form.get_by_role("button", name="Save the panel to the workspace and record the review").click()
        wait_for_app(page)
        expect(page.get_by_text(f"Review recorded: 3 flags of {PID} (repeat test).")).to_be_visible()
        assert sidebar_date(page) == EXTRACT  # saving kept the one date

        # ---- acknowledged -> rerun -> navigate -> reload: still acknowledged
        nav(page, "Panel")
        assert metric(page, "Not reviewed") == "4"
        page.get_by_text("Unreviewed first", exact=True).click()  # a rerun
        wait_for_app(page)
        page.get_by_text("Unreviewed first", exact=True).click()
        wait_for_app(page)
        assert metric(page, "Not reviewed") == "4"
        nav(page, "Patient")
        nav(page, "Panel")
        assert metric(page, "Not reviewed") == "4"
        page.reload()  # a new browser session: the URL brings the workspace panel back
        wait_for_app(page, 60_000)
        expect(page.get_by_text("Loaded: Workspace")).to_be_visible()
        assert metric(page, "Not reviewed") == "4"
        assert sidebar_date(page) == EXTRACT

        # ---- hide acknowledged hides it
        page.get_by_label("Search patient id or name").fill(PID)
        page.get_by_label("Search patient id or name").press("Enter")
        wait_for_app(page)
        expect(page.get_by_text("1 of 36 patients shown")).to_be_visible()
        page.wait_for_timeout(500)
        assert (row_of(page, PID) or {}).get("To review") == "0"
        page.get_by_text("Hide acknowledged", exact=True).click()
        wait_for_app(page)
        expect(page.get_by_text("0 of 36 patients shown")).to_be_visible()
        nav(page, "Patient")
        nav(page, "Panel")  # the filters survive the visit to the patient
        expect(page.get_by_text("0 of 36 patients shown")).to_be_visible()

        # ---- a new result after the review reopens the patient
        from dashboard.ingest import Source
        from dashboard.store import Workspace

        repeat = b"patient_id,collected_at,analyte,value,unit\nSLE-018,2026-11-12 08:30,Neutrophils,1.1,10^9/L\n"
        Workspace(tmp_path / "ws").import_sources([Source("repeat_fbc.csv", repeat)], by="lab feed")
        nav(page, "Workspace")
        page.get_by_role("button", name="Reload the workspace panel").click()
        wait_for_app(page)
        nav(page, "Panel")
        expect(page.get_by_text("1 of 36 patients shown")).to_be_visible()  # hidden no more
        assert metric(page, "Not reviewed") == "5"
        screenshot(page, "issue18_panel_reopened")
        assert page.locator("[data-testid='stException']").count() == 0
        context.close()
    finally:
        stop_app(proc)
