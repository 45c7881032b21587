"""A page that fails with patient data in its exception (for the error-details test).

Run by tests/browser/test_security.py with the project's .streamlit/config.toml: the
browser must see that something went wrong, never the message, the data or a traceback.
"""

import streamlit as st

st.title("Crash test")
st.button("Fail", key="fail")
if st.session_state.get("fail"):
    patient = {"patient_id": "MRN-0012-SECRET", "name": "Jane Doe-Secret", "wbc": 1.2}
    raise ValueError(f"could not grade {patient}")
