"""Optional login (Streamlit OIDC, secrets [auth]): without it the app is open as before;
with it a logged-out user gets the login page only, whatever page is asked for."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from tests.support import ROOT

APP = str(ROOT / "streamlit_app.py")
AUTH = {
    "redirect_uri": "http://localhost:8501/oauth2callback",
    "cookie_secret": "a-long-random-string-for-the-test",
    "client_id": "dashboard",
    "client_secret": "not-a-real-secret",
    "server_metadata_url": "https://login.example.invalid/.well-known/openid-configuration",
}
PATIENT_PAGES = ["pages/home.py", "pages/panel.py", "pages/patient.py", "pages/workspace.py", "pages/dosing.py"]


def app(auth: dict | None = None, user: dict | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    if auth is not None:
        at.secrets["auth"] = auth
    if user is not None:
        at.user = user
    return at


def _loaded(at: AppTest) -> AppTest:
    at.run()
    at.button(key="load_sample").click()
    at.run()
    assert not at.exception
    return at


def test_without_login_configured_the_app_is_open():
    at = app()
    at.run()
    assert not at.exception
    assert at.button(key="load_sample")
    assert not [b for b in at.button if b.label in ("Log in", "Log out")]


def test_a_logged_out_user_is_offered_only_the_login_page():
    at = app(AUTH, {"is_logged_in": False})
    at.run()
    assert not at.exception
    assert [b.label for b in at.button] == ["Log in"]
    assert not at.dataframe and not at.file_uploader and not at.selectbox
    with pytest.raises(ValueError, match=r"Known pages: .*login\.py"):
        at.switch_page("pages/panel.py")  # the patient pages are not even registered


@pytest.mark.parametrize("page", PATIENT_PAGES)
def test_every_patient_page_refuses_a_logged_out_user(page):
    """However the page is reached (a bookmark, a page run without the router, a session
    whose login expired), it shows the login prompt and nothing else."""
    at = app(AUTH, {"is_logged_in": True, "email": "dr@example.org"})
    _loaded(at)
    pid = at.session_state["dataset"].patient_ids[0]
    at.switch_page(page).run()
    assert not at.exception
    at.user = {"is_logged_in": False}
    at.run()
    assert not at.exception
    assert [b.label for b in at.button] == ["Log in"]
    assert not at.dataframe and not at.file_uploader and not at.selectbox and not at.metric
    shown = " ".join(e.value for e in [*at.markdown, *at.caption, *at.title, *at.info, *at.warning, *at.error])
    assert pid not in shown and "Loaded:" not in shown


def test_a_logged_in_user_sees_the_app_and_who_is_logged_in():
    at = app(AUTH, {"is_logged_in": True, "email": "dr.rheum@example.org", "name": "Dr Rheum"})
    at.run()
    assert not at.exception
    assert any("Logged in as dr.rheum" in c.value for c in at.caption)
    assert at.button(key="logout") and at.button(key="load_sample")
    at.button(key="load_sample").click()
    at.run()
    at.switch_page("pages/panel.py").run()
    assert not at.exception and at.dataframe


def test_log_in_and_log_out_buttons_work(monkeypatch):
    import streamlit

    calls = []
    monkeypatch.setattr(streamlit, "login", lambda provider=None: calls.append(provider))
    at = app(AUTH, {"is_logged_in": False})
    at.run()
    at.button(key="login").click()
    at.run()
    assert not at.exception and calls == [None]  # the default [auth] provider
    at = app(AUTH, {"is_logged_in": True, "email": "dr@example.org"})
    at.run()
    at.button(key="logout").click()
    at.run()
    assert not at.exception
    assert [b.label for b in at.button] == ["Log in"]  # logged out: back to the login prompt


def test_login_works_when_configured():
    """st.login needs Authlib (streamlit[auth] in requirements.txt)."""
    import authlib  # noqa: F401

    requirements = (ROOT / "requirements.txt").read_text()
    assert "streamlit[auth]" in requirements


def test_a_named_provider_is_used_when_there_is_no_default():
    from dashboard.ui import login_provider

    assert login_provider(AUTH) is None
    named = {"redirect_uri": AUTH["redirect_uri"], "cookie_secret": "x", "microsoft": {"client_id": "a"}}
    assert login_provider(named) == "microsoft"


def test_unreadable_secrets_refuse_every_page(tmp_path, monkeypatch):
    from dashboard import ui

    monkeypatch.setattr(ui, "auth_section", lambda: ui.BROKEN)
    at = app()
    at.run()
    assert not at.exception
    assert any("cannot be read" in e.value for e in at.error)
    assert not at.button and not at.file_uploader
