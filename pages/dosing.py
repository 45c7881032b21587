"""Dosing: thiopurines (azathioprine, mercaptopurine; TPMT/NUDT15, allopurinol) with a
titration plan, thiopurine metabolites, mycophenolate, methotrexate and hydroxychloroquine
helpers, prefilled from the selected patient.  Every limit comes from
``knowledge/data/dosing.toml``, the file the dose-check rules read too; the sections are
drawn by ``dashboard/ui/dosing_view.py``."""

import streamlit as st

from dashboard import dosing, ui
from dashboard.ui import dosing_view as view

ui.page_guard()

st.title("Dosing assistant")
ui.disclaimer()

day = ui.as_of()
ds = ui.get_dataset()
ctx = view.patient_prefill(ds, day)
k = ctx.patient_id if ctx else "manual"
weight_default = dosing.within(ctx.weight_kg if ctx else None, *view.WEIGHT_RANGE)
# a censored eGFR ("<30") is never prefilled as its bound (dosing21)
egfr_default = dosing.within(dosing.egfr_prefill(ctx.egfr) if ctx else None, 0.0, 200.0)

thio, metabolites, mmf, mtx, hcq, cyc = st.tabs(view.TABS)
with thio:
    egfr = view.thiopurines_tab(ctx, k, weight_default, egfr_default, day)  # the other tabs use this eGFR
with metabolites:
    view.metabolites_tab()
with mmf:
    view.mycophenolate_tab(ctx, k, egfr)
with mtx:
    view.methotrexate_tab(ctx, k, egfr)
with hcq:
    view.hydroxychloroquine_tab(ctx, k, weight_default, egfr)
with cyc:
    view.cyclophosphamide_tab(ds, ctx, day)

view.interactions(ctx)
