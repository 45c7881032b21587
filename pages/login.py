"""Log in: the only page a logged-out user sees when login is configured (secrets [auth])."""

import streamlit as st

from dashboard import ui

ui.page_guard()  # a logged-out user gets the login prompt here (and the run stops)
st.switch_page("pages/home.py")  # logged in, or no login configured: nothing to do here
