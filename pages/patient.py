"""Patient page (being built: see the issue list)."""

import streamlit as st

from dashboard import ui

ui.page_guard()

st.title("Patient")
ui.disclaimer()
ds = ui.require_dataset("the patient page")
st.info("This page is under construction.")
