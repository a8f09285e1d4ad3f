"""The Streamlit app's own helpers (sidebar, cache, widgets) and Plotly charts; all model work is in `bert_playground`."""
from bert_playground.core import memory as _memory

_memory.tune_allocator()  # a long-running server: large freed blocks go back to the OS (no setting needed)
