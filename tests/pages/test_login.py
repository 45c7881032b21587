"""Optional login (Streamlit OIDC, secrets [auth]): without it the app is open as before;
with it a logged-out user gets the login page only, whatever page is asked for."""

from __future__ import annotations

import re

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
    """st.login needs Authlib: streamlit[auth] in the ranges (requirements.in), and Authlib
    pinned with its hashes in the lock (issue 16: it was unpinned)."""
    import authlib  # noqa: F401

    assert "streamlit[auth]" in (ROOT / "requirements.in").read_text()
    lock = (ROOT / "requirements.txt").read_text()
    assert re.search(r"^authlib==[\d.]+ \\\n    --hash=sha256:[0-9a-f]{64}", lock, re.M | re.I)


def test_a_named_provider_is_used_when_there_is_no_default():
    from dashboard.ui import login_provider

    assert login_provider(AUTH) is None
    named = {"redirect_uri": AUTH["redirect_uri"], "cookie_secret": "x", "microsoft": {"client_id": "a"}}
    assert login_provider(named) == "microsoft"


def test_unreadable_secrets_refuse_every_page(tmp_path, monkeypatch):
    from dashboard.ui import auth

    monkeypatch.setattr(auth, "auth_section", lambda: auth.BROKEN)
    at = app()
    at.run()
    assert not at.exception
    assert any("cannot be read" in e.value for e in at.error)
    assert not at.button and not at.file_uploader


# --------------------------------------------------------------------------- fail closed (issue 16)


@pytest.mark.parametrize(
    ("auth", "why"),
    [
        ({}, "present but empty"),
        ({"redirect_uri": AUTH["redirect_uri"]}, "no cookie_secret"),
        ({k: v for k, v in AUTH.items() if k != "client_secret"}, "has no client_secret"),
        ({"redirect_uri": AUTH["redirect_uri"], "cookie_secret": "x"}, "names no identity provider"),
        ({**AUTH, "client_id": "  "}, "has no client_id"),
    ],
)
@pytest.mark.parametrize("page", [None, "pages/panel.py"])
def test_an_unusable_auth_section_refuses_every_page(auth, why, page):
    """[auth] present but empty (keys commented out) or incomplete used to open the app to
    every visitor; now every page is refused with a message for the administrator."""
    at = app(auth, {"is_logged_in": False})
    at.run()
    if page:
        with pytest.raises(ValueError, match="Known pages"):
            at.switch_page(page)
    assert not at.exception
    errors = " ".join(e.value for e in at.error).replace("\\", "")  # the markdown source, unescaped
    assert "cannot be read or used" in errors and why in errors
    assert not at.button and not at.file_uploader and not at.dataframe and not at.selectbox


def test_a_usable_auth_section_still_offers_the_login_button():
    at = app(AUTH, {"is_logged_in": False})
    at.run()
    assert [b.label for b in at.button] == ["Log in"] and not at.error


def test_a_dangling_secrets_link_or_an_unreadable_file_fails_closed(tmp_path):
    from dashboard.auth_config import secrets_files_problem

    link = tmp_path / "secrets.toml"
    link.symlink_to(tmp_path / "gone.toml")
    assert "points to nothing" in secrets_files_problem([link])
    folder = tmp_path / "conf"
    folder.symlink_to(tmp_path / "missing-dir")
    assert "points to nothing" in secrets_files_problem([folder / "secrets.toml"])
    real = tmp_path / "real.toml"
    real.write_text("[auth]\n")
    assert secrets_files_problem([real, tmp_path / "absent.toml"]) == ""  # an absent file is no file
    import os

    if os.geteuid() != 0:  # root reads any file
        real.chmod(0)
        assert "cannot be read" in secrets_files_problem([real])


def test_the_login_prompt_names_a_broken_secrets_file(monkeypatch):
    from dashboard import auth_config

    monkeypatch.setattr(
        auth_config, "secrets_files_problem", lambda paths: "/x/secrets.toml is a symbolic link that points to nothing"
    )
    at = app()
    at.run()
    assert not at.exception
    assert any("points to nothing" in e.value for e in at.error)
    assert not at.button and not at.file_uploader
