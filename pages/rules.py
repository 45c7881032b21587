"""Rules page (being built: see the issue list)."""

import streamlit as st

from dashboard import ui

ui.page_guard()

st.title("Rules")
ui.disclaimer()
st.info("This page is under construction.")
