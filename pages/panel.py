"""Panel page (being built: see the issue list)."""

import streamlit as st

from dashboard import ui

ui.page_guard()

st.title("Panel")
ui.disclaimer()
ds = ui.require_dataset("the panel page")
st.info("This page is under construction.")
