"""With login configured (a secrets file with [auth]), a logged-out browser gets the login
prompt at every address, and no page or link to patient data.  The "Log in" button is
not clicked: that would contact the identity provider (AppTest covers the button)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import screenshot, start_app, stop_app, wait_for_app

SECRETS = """[auth]
redirect_uri = "http://127.0.0.1:8501/oauth2callback"
cookie_secret = "a-test-cookie-secret-never-used-in-production"
client_id = "dashboard"
client_secret = "not-a-real-secret"
server_metadata_url = "http://127.0.0.1:9/.well-known/openid-configuration"
"""


@pytest.fixture(scope="module")
def login_app(tmp_path_factory):
    secrets = tmp_path_factory.mktemp("login") / "secrets.toml"
    secrets.write_text(SECRETS)
    proc, url = start_app({"STREAMLIT_SECRETS_FILES": str(secrets)})
    try:
        yield url
    finally:
        stop_app(proc)


@pytest.mark.parametrize("path", ["/", "/home", "/panel", "/patient", "/workspace", "/dosing"])
def test_a_logged_out_browser_sees_only_the_login_prompt(chromium, login_app, path):
    context = chromium.new_context(viewport={"width": 1200, "height": 800})
    page = context.new_page()
    page.set_default_timeout(30_000)
    try:
        page.goto(login_app + path)
        wait_for_app(page)
        expect(page.get_by_role("button", name="Log in")).to_be_visible()
        for name in ("Load sample panel", "Panel", "Patient", "Workspace"):
            expect(page.get_by_role("button", name=name, exact=True)).to_have_count(0)
            expect(page.get_by_role("link", name=name, exact=True)).to_have_count(0)
        assert page.locator("[data-testid='stFileUploader']").count() == 0
        assert page.locator("[data-testid='stException']").count() == 0
        if path == "/panel":
            screenshot(page, "login_prompt")
    finally:
        context.close()


def _metrics(url: str) -> str:
    import urllib.request

    with urllib.request.urlopen(f"{url}/_stcore/metrics", timeout=10) as r:
        return r.read().decode()


def test_metrics_are_not_served_to_a_logged_out_visitor_when_login_is_on(chromium, login_app):
    """Streamlit serves /_stcore/metrics with no login check; with login on it is empty."""
    context = chromium.new_context()
    page = context.new_page()
    try:
        page.goto(login_app + "/")  # a visit runs the app (and its caches) at least once
        wait_for_app(page)
        body = _metrics(login_app)
        assert "cache" not in body and "session" not in body, body[:500]
    finally:
        context.close()


@pytest.mark.parametrize("broken", ["empty [auth]", "keys commented out", "dangling link"])
def test_an_unusable_login_configuration_refuses_every_page_in_the_browser(chromium, tmp_path, broken):
    """The attacks: [auth] present but empty, its keys commented out, secrets.toml a
    dangling symbolic link.  Each opened the app to every visitor; now every address shows
    the administrator's message and nothing else."""
    secrets = tmp_path / "secrets.toml"
    if broken == "empty [auth]":
        secrets.write_text("[auth]\n")
    elif broken == "keys commented out":
        secrets.write_text("\n".join("# " + line if "=" in line else line for line in SECRETS.splitlines()))
    else:
        secrets.symlink_to(tmp_path / "moved-away.toml")
    proc, url = start_app({"STREAMLIT_SECRETS_FILES": str(secrets)})
    context = chromium.new_context(viewport={"width": 1200, "height": 800})
    page = context.new_page()
    page.set_default_timeout(30_000)
    try:
        for path in ("/", "/panel", "/patient"):
            page.goto(url + path)
            wait_for_app(page)
            expect(page.get_by_text("cannot be read or used")).to_be_visible()
            expect(page.get_by_role("button", name="Load sample panel")).to_have_count(0)
            expect(page.get_by_role("button", name="Log in")).to_have_count(0)
            assert page.locator("[data-testid='stFileUploader']").count() == 0
        if broken == "dangling link":
            screenshot(page, "login_fails_closed")
        assert "cache" not in _metrics(url)
    finally:
        context.close()
        stop_app(proc)
