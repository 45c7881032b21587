"""Login (optional, from the ``[auth]`` section of the secrets) and who is entering data.

Login fails closed: a secrets file that is present but unreadable, or an ``[auth]``
section that is not a complete configuration, refuses every page with a message for
the administrator (:data:`BROKEN`).
"""

from __future__ import annotations

import logging
from typing import Any

import streamlit as st
from streamlit import runtime
from streamlit.errors import StreamlitSecretNotFoundError

from dashboard import auth_config
from dashboard.markup import md_escape
from dashboard.ui.state import REVIEWER

log = logging.getLogger(__name__)

#: Returned by :func:`auth_section` when login is set up but cannot be used.
BROKEN = "broken"

DISCLAIMER = (
    "Decision support only. This tool highlights results against published thresholds; it does not "
    "diagnose or prescribe. Check every flag against the raw result, the patient and your local "
    "protocol. Local protocols override the defaults shown here."
)


def auth_section() -> dict[str, Any] | str | None:
    """The ``[auth]`` section of the secrets: None when login is not configured (no
    ``[auth]``), :data:`BROKEN` when it is present but unusable, or the secrets cannot be
    trusted (unreadable, a dangling link): then every page is refused (fail closed)."""
    return _auth_state()[0]


def auth_failure() -> str:
    """Why login is :data:`BROKEN`, for the administrator ("" otherwise)."""
    return _auth_state()[1]


def _auth_state() -> tuple[dict[str, Any] | str | None, str]:
    why = auth_config.secrets_files_problem(st.get_option("secrets.files") or [])
    if why:
        return BROKEN, why
    try:
        section = st.secrets.get("auth")
    except StreamlitSecretNotFoundError as exc:
        if getattr(exc, "error_id", "") == "no-secrets-found":
            return None, ""  # no secrets at all: login is not configured
        return BROKEN, "the secrets file cannot be parsed"
    except Exception:
        return BROKEN, "the secrets cannot be read"
    if section is None:
        return None, ""
    section = section.to_dict() if hasattr(section, "to_dict") else section
    why = auth_config.auth_problem(section)
    return (BROKEN, why) if why else (dict(section), "")


def login_configured() -> bool:
    return auth_section() is not None


def logged_in() -> bool:
    return bool(st.user.get("is_logged_in"))


def needs_login() -> bool:
    """True when login is configured and this session has not logged in: the router then
    offers only the login page, never a page with patient data."""
    return login_configured() and not logged_in()


def close_metrics() -> None:
    """With login on, ``/_stcore/metrics`` serves no figures (to anyone).

    Streamlit serves that endpoint without any login check (its documentation calls it
    unauthenticated), and it shows every session's cache activity; there is no setting
    to turn it off.  The server's stats manager is told to report nothing.
    """
    if not runtime.exists():
        return
    stats = runtime.get_instance().stats_mgr
    stats.get_stats = lambda family_names=None: {}  # type: ignore[method-assign]
    stats.registered_families = lambda: []  # type: ignore[method-assign]


def login_provider(section: object) -> str | None:
    """The provider to log in with: the default ``[auth]`` one, else the first named one."""
    if not isinstance(section, dict) or "client_id" in section:
        return None
    named = [k for k, v in section.items() if isinstance(v, dict)]
    return named[0] if named else None


def log_in() -> None:
    """Callback of the "Log in" button."""
    provider = login_provider(auth_section())
    if provider:
        st.login(provider)
    else:
        st.login()


def login_prompt() -> None:
    """What a logged-out user sees: why, and the "Log in" button (no patient data)."""
    st.title("Immunosuppressant lab monitor")
    st.write(
        "This dashboard holds patient data. Log in with your organisation's account to load, review or export a panel."
    )
    if auth_section() == BROKEN:
        log.warning("login is configured but unusable: every page is refused")
        st.error(
            "Login is set up on this server but its settings (.streamlit/secrets.toml) cannot be read or used: "
            f"{md_escape(auth_failure())}. Ask the administrator to check them; no patient page is available "
            "until then.",
            icon=":material/lock:",
        )
    else:
        st.button("Log in", type="primary", icon=":material/login:", key="login", on_click=log_in)
    st.caption(DISCLAIMER)


def login_name() -> str:
    """The logged-in user's e-mail (or name), "" without login."""
    if getattr(st.user, "is_logged_in", False):
        return str(st.user.get("email") or st.user.get("name") or "")
    return ""


def reviewer() -> str:
    """Who is entering: the login's e-mail when login is configured, else the name given
    once this session (on the Patient or the Workspace page)."""
    return login_name() or str(st.session_state.get(REVIEWER, "") or "").strip()
