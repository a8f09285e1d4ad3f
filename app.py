"""BERT Playground: run with `streamlit run app.py`. This file sets the server's allocator policy, then runs
Streamlit's own navigation over the page registry (`playground_ui/registry.py`): Home first (`home` below), then
the pages in pages/.

The home page never waits for torch, transformers or the model: it shows what config.json says
(`checkpoint.quick_info`); once drawn, it starts loading the model in the background (`ui.load_behind`) for the
first model page, which waits for it under a spinner if it is not there yet."""
import streamlit as st

from bert_playground.core import memory
from bert_playground.core.paths import EMBEDDED_DIR
from bert_playground.pretraining.training_log import LOG_FILE, read_training_log
from playground_ui import export, registry, ui
from bert_playground.figures.pretraining import training_curves


def intro_ui():
    st.title("BERT Playground")
    st.markdown(
        "Look inside **BERT** while it runs. Every number on these pages is read from a real model: "
        "its embedding layer, its attention probabilities, its masked-LM and next-sentence heads. "
        "Unlike other BERT viewers, the playground also shows BERT's **pre-training recipe** — 80/10/10 masking, "
        "next-sentence pairs, the summed input embeddings — and lets you fine-tune it live."
    )


def pages_ui():
    st.subheader("What each page teaches")
    for page in registry.PAGES[1:]:
        if (registry.ROOT / page.file).is_file():
            ui.page_link(page.key, f"{page.title}: {page.teaches}")


def in_use_ui(info):
    st.subheader("In use now")
    c1, c2 = st.columns(2)
    with c1:
        if info is not None:
            i = info
            st.metric("Checkpoint", i.name)
            st.caption(f"{i.layers} layers × {i.heads} heads, hidden size {i.hidden_size}, vocabulary {i.vocab_size:,}, "
                       f"max length {i.max_length}. Heads: MLM {'yes' if i.has_mlm else 'no'}, NSP {'yes' if i.has_nsp else 'no'}"
                       + (f", SOP {'yes' if i.has_sop else 'no'}" if i.family.pair_task == "sop" else "")
                       + (f", RTD {'yes' if i.has_rtd else 'no'}" if i.family.model_type == "electra" else "")
                       + f". Family: {i.family.name} (see The BERT family page).")
            if i.missing_heads:
                st.warning(f"This checkpoint has no {' or '.join(i.missing_heads)} head; pages that need it say so.")
        elif ui.loading(st.session_state.get("checkpoint") or ""):
            st.metric("Checkpoint", st.session_state["checkpoint"])
            st.caption("Loading in the background: the model pages show its details.")
        else:
            st.metric("Checkpoint", "none loaded")
    with c2:
        st.metric("Device", ui.device_label(st.session_state.get("checkpoint") or ""))


def embedded_ui():
    st.subheader("About the embedded checkpoint")
    st.markdown(
        "The default checkpoint, `embedded`, ships in `assets/model/`: a **compact BERT** (the 6-layer, 384-wide "
        "MiniLM-L6 encoder with BERT's MLM and NSP heads) that this project pre-trained further with the same "
        "masking and pair-building code the pages explain. It is much smaller than BERT-base (22M vs 110M "
        "parameters), so its guesses are rougher. When the network allows, pick *Hugging Face Hub id* in the "
        "sidebar and type `bert-base-uncased` to explore the original."
    )


def pretraining_ui():
    st.subheader("How this model was pre-trained")
    st.markdown(
        "The embedded checkpoint was made by `python -m bert_playground pretrain` with the very code the pages explain:\n"
        "1. Wikipedia articles are split into sentences and WordPiece ids, once (`corpus.py`, `pretrain.tokenize_documents`).\n"
        "2. Every epoch, `pairs.make_pairs` builds new sentence pairs: half IsNext, half NotNext from another article "
        "(the **Next sentence prediction** page draws its pairs with the same function), packed as `[CLS] A [SEP] B [SEP]`.\n"
        "3. Every batch is corrupted by `masking.mask_tokens` — 15% of tokens chosen, 80% `[MASK]`, 10% random, 10% kept, "
        "a fresh draw every epoch (the **Masked LM** page runs the same function on your text).\n"
        "4. `BertForPreTraining` learns to predict the chosen tokens (MLM loss) and whether B follows A (NSP loss), with "
        "warm-up then decay and gradient clipping; held-out accuracy is measured on articles it never trains on."
    )
    log = read_training_log(EMBEDDED_DIR)
    if log:
        export.chart(training_curves(log), key="pretrain_curves", what="pretraining")
    else:
        st.info(f"No training log found next to the embedded checkpoint (assets/model/{LOG_FILE}).")
    card = EMBEDDED_DIR / "README.md"
    if card.is_file():
        with st.expander("Model card: provenance, licences, the exact command and the measured figures"):
            st.markdown(card.read_text())


def home():
    """The home page: a short story of views."""
    info = ui.setup(wait=False)  # config.json's figures at once; the model loads behind
    intro_ui()
    pages_ui()
    in_use_ui(info)
    embedded_ui()
    pretraining_ui()
    ui.load_behind()  # the model loads behind the drawn page, into the cache the model pages read


memory.tune_allocator()  # the server's allocator policy, set at start-up, before any page imports torch
ui.navigation(home).run()
