"""Every page goes through the router (``streamlit_app.py``): the guard each page calls
first, the one workaround for Streamlit's legacy ``pages/`` mode, and the URL that
brings a reloaded tab back to the workspace panel."""

from __future__ import annotations

import streamlit as st
from streamlit.runtime.pages_manager import PagesManager

from dashboard.ui import actions
from dashboard.ui.auth import login_prompt, needs_login
from dashboard.ui.state import ROUTED, URL_PANEL, WORKSPACE, get_dataset, in_workspace

_URL_CHECKED = "_url_checked"


def leave_legacy_pages_mode() -> None:
    """Switch off Streamlit's legacy ``pages/`` mode and run the script again.

    The project keeps its page scripts in ``pages/`` (the requested layout) and routes
    them with ``st.navigation``.  Streamlit 1.67 has no supported setting for this
    combination: ``PagesManager.__init__`` sets the class flag ``uses_pages_directory``
    from the mere existence of a ``pages/`` folder beside the main script, and while it
    is set the script runner runs the legacy navigation (``_mpa_v1``) instead of the
    router.  Only a call of ``st.navigation`` clears it, so on a fresh server the first
    request for a page URL (a bookmark to /compare) runs ``pages/compare.py`` directly:
    no shared state, no sidebar, no login check.  The maintainers call the flag "a relic
    of v1 of Multipage apps" and reported odd behaviour with a ``pages/`` folder plus
    ``st.navigation`` (streamlit/streamlit PR #10276); renaming the folder is their
    advice, which this project may not take.

    Clearing the flag is what ``st.navigation`` itself does; the rerun then goes through
    the router to the same page.  Guarded by ``tests/browser/test_routing.py``.
    """
    PagesManager.uses_pages_directory = False
    st.rerun()


def page_guard() -> None:
    """Send a page that was started without the router back through it (every page calls
    this first), and refuse the page to a logged-out user when login is configured,
    whichever way the page was reached (the router offers them only the login page)."""
    if needs_login():
        login_prompt()
        st.stop()
    if not st.session_state.get(ROUTED):
        leave_legacy_pages_mode()


def restore_from_url() -> None:
    """A reloaded browser tab (a new session) that showed the workspace panel shows it again.

    The router calls this on every run: a fresh session whose URL says
    ``?panel=workspace`` opens the workspace panel; afterwards the URL follows the mode,
    so a reload (or a bookmark) of any page comes back to the same panel, reviews and all.
    """
    fresh = not st.session_state.get(_URL_CHECKED)
    st.session_state[_URL_CHECKED] = True
    if fresh and st.query_params.get(URL_PANEL) == WORKSPACE and get_dataset() is None:
        actions.open_workspace_panel()
    if in_workspace():
        if st.query_params.get(URL_PANEL) != WORKSPACE:
            st.query_params[URL_PANEL] = WORKSPACE
    elif URL_PANEL in st.query_params:
        del st.query_params[URL_PANEL]
