"""Figures: pure functions returning ``plotly.graph_objects.Figure`` (no streamlit here)."""
