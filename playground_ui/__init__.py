"""The Streamlit app's own helpers (sidebar, cache, widgets) and Plotly charts; all model work is in `bert_playground`.

Nothing happens on import: the server's allocator policy is set by app.py at start-up (`memory.tune_allocator`)."""
