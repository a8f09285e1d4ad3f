"""The Streamlit app's own helpers (sidebar, cache, widgets) and Plotly charts; all model work is in `bert_playground`."""
