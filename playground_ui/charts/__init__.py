"""Plotly figure builders, one module per page. Pure functions: data in, figure out (no streamlit, no model)."""
