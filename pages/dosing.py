"""Dosing page (being built: see the issue list)."""

import streamlit as st

from dashboard import ui

st.title("Dosing")
ui.disclaimer()
ds = ui.require_dataset("the dosing page")
st.info("This page is under construction.")
