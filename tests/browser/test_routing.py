"""A bookmarked page URL on a fresh server still goes through the router."""

from playwright.sync_api import expect

from tests.browser.conftest import screenshot, start_app, stop_app, wait_for_app


def test_direct_url_on_a_fresh_server_goes_through_the_router(chromium):
    proc, url = start_app()  # its own server: the first request must be the page URL
    try:
        context = chromium.new_context(viewport={"width": 1400, "height": 900})
        page = context.new_page()
        page.goto(f"{url}/compare")
        wait_for_app(page)
        page.wait_for_timeout(500)
        wait_for_app(page)
        # the router's sidebar controls and top navigation are there ...
        expect(page.get_by_text("As of", exact=True)).to_be_visible()
        expect(page.get_by_role("link", name="Home")).to_be_visible()
        # ... the legacy pages/ navigation is not, and the Compare page is shown
        assert page.get_by_text("streamlit app", exact=True).count() == 0
        expect(page.get_by_role("heading", name="Compare treatments")).to_be_visible()
        screenshot(page, "direct_url_compare")
        context.close()
    finally:
        stop_app(proc)
