"""Compare page (being built: see the issue list)."""

import streamlit as st

from dashboard import ui

st.title("Compare")
ui.disclaimer()
ds = ui.require_dataset("the compare page")
st.info("This page is under construction.")
