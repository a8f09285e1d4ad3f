"""BERT Playground home page. Run with `streamlit run app.py`; the other pages live in pages/."""
import streamlit as st

import ui
from bert_playground import models

bundle = ui.setup("Home", ":material/home:")

st.title("BERT Playground")
st.markdown(
    "Look inside **BERT** while it runs. Every number on these pages is read from a real model: "
    "its embedding layer, its attention probabilities, its masked-LM and next-sentence heads. "
    "Unlike other BERT viewers, the playground also shows BERT's **pre-training recipe** — 80/10/10 masking, "
    "next-sentence pairs, the summed input embeddings — and lets you fine-tune it live."
)

st.subheader("What each page teaches")
for path, label, what in ui.PAGES:
    if (ui.ROOT / path).is_file():
        st.page_link(path, label=f"{label}: {what}")

st.subheader("In use now")
c1, c2 = st.columns(2)
with c1:
    if bundle is not None:
        i = bundle.info
        st.metric("Checkpoint", i.name)
        st.caption(f"{i.layers} layers × {i.heads} heads, hidden size {i.hidden_size}, vocabulary {i.vocab_size:,}, "
                   f"max length {i.max_length}. Heads: MLM {'yes' if i.has_mlm else 'no'}, NSP {'yes' if i.has_nsp else 'no'}.")
        if i.missing_heads:
            st.warning(f"This checkpoint has no {' or '.join(i.missing_heads)} head; pages that need it say so.")
    else:
        st.metric("Checkpoint", "none loaded")
with c2:
    st.metric("Device", ui.describe(ui.device_name()))

st.subheader("About the embedded checkpoint")
st.markdown(
    "The default checkpoint, `embedded`, ships in `assets/model/`: a **compact BERT** (the 6-layer, 384-wide "
    "MiniLM-L6 encoder with BERT's MLM and NSP heads) that this project pre-trained further with the same "
    "masking and pair-building code the pages explain. It is much smaller than BERT-base (22M vs 110M "
    "parameters), so its guesses are rougher. When the network allows, pick *Hugging Face Hub id* in the "
    "sidebar and type `bert-base-uncased` to explore the original."
)
card = models.EMBEDDED_DIR / "README.md"
if card.is_file():
    with st.expander("Model card"):
        st.markdown(card.read_text())
