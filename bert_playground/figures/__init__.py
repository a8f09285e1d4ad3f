"""Plotly figure builders, one module per page. Pure functions: data in, figure out (Plotly, numpy and pandas only:
no streamlit, no model), so that the pages and a notebook draw the same figures (`fig.show()` inline in Jupyter)."""
