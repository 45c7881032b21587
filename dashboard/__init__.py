"""Immunosuppressant lab monitoring dashboard: the functional core.

Nothing in this package imports streamlit except :mod:`dashboard.ui`.
"""

__version__ = "0.1.0"
