"""Router: page setup, shared state and navigation.  Run with ``streamlit run streamlit_app.py``."""

import logging
import time
from pathlib import Path

import streamlit as st

from dashboard import log_config, ui

PAGES = Path(__file__).resolve().parent / "pages"
log = logging.getLogger("dashboard.app")

# The tab icon is a file shipped with the app: a ":material/..." page icon makes the
# browser fetch it from Google's font servers (nothing may leave the machine).
ICON = Path(__file__).resolve().parent / "dashboard" / "assets" / "favicon.png"
st.set_page_config(page_title="Immunosuppressant lab monitor", page_icon=str(ICON), layout="wide")
log_config.configure()
ui.init_state()
if ui.login_configured():
    ui.close_metrics()  # the metrics endpoint has no login check of its own

if ui.needs_login():
    # login is configured (secrets [auth]) and this session is not logged in: the only
    # page is the login page, whatever URL was asked for
    st.navigation(
        [st.Page(PAGES / "login.py", title="Log in", icon=":material/login:", url_path="login", default=True)],
        position="hidden",
    ).run()
    st.stop()

ui.restore_from_url()  # a reloaded tab that showed the workspace panel shows it again

navigation = st.navigation(
    [
        st.Page(PAGES / "home.py", title="Home", icon=":material/home:", url_path="home", default=True),
        st.Page(PAGES / "panel.py", title="Panel", icon=":material/groups:", url_path="panel"),
        st.Page(PAGES / "patient.py", title="Patient", icon=":material/monitoring:", url_path="patient"),
        st.Page(PAGES / "compare.py", title="Compare", icon=":material/compare_arrows:", url_path="compare"),
        st.Page(PAGES / "dosing.py", title="Dosing", icon=":material/calculate:", url_path="dosing"),
        st.Page(PAGES / "rules.py", title="Rules", icon=":material/rule:", url_path="rules"),
        st.Page(PAGES / "workspace.py", title="Workspace", icon=":material/database:", url_path="workspace"),
    ],
    position="top",
)
ui.sidebar_controls()
start = time.perf_counter()
try:
    navigation.run()
finally:  # a page that stops or reruns is timed too
    log.info("page %s ran in %.0f ms", navigation.url_path or "home", 1000 * (time.perf_counter() - start))
