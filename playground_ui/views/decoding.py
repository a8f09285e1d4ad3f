"""The Masked LM page's fill tab, beyond one mask at a time: joint decoding, whole-word masks, your own candidates
scored by pseudo-log-likelihood, and left vs right context. Thin views over bert_playground.objectives.decoding."""
from __future__ import annotations

import pandas as pd
import streamlit as st

from bert_playground.figures import explain as xcharts
from bert_playground.objectives import decoding
from bert_playground.objectives.mlm import words
from playground_ui import export, ui

SIDES_WHY = (
    "**Why both sides matter.** A left-to-right language model predicts a word from the words before it only; "
    "BERT's masked-LM objective lets every layer read both sides at once. The three lists above are the same "
    "model at the same mask with the whole sentence, with everything after the mask removed, and with "
    "everything before it removed (removed, not masked: a row of masks would tell the model how many words are "
    "missing). Where the left-only guesses are vague and the whole-context ones are right, the words after the "
    "mask did the work."
)


@st.cache_data(max_entries=32, show_spinner=False)
def joint_in(checkpoint: str, device: str, text: str, order: str):
    return decoding.joint_fill(ui.cached_bundle(checkpoint, device), text, order)


@st.cache_data(max_entries=32, show_spinner=False)
def candidates_in(checkpoint: str, device: str, text: str, words: str):
    return decoding.score_candidates(ui.cached_bundle(checkpoint, device), text, words)


@st.cache_data(max_entries=32, show_spinner=False)
def sides_in(checkpoint: str, device: str, text: str, k: int):
    return decoding.sides(ui.cached_bundle(checkpoint, device), text, k)


@st.cache_resource(max_entries=32, show_spinner=False)
def sides_figure(checkpoint: str, device: str, text: str, k: int):
    """The left-vs-right figure, built once per text and k (shared, read-only): a new seed above does not redraw it."""
    s = sides_in(checkpoint, device, text, k)
    return xcharts.sides([(p.token, p.probability) for p in s.both], [(p.token, p.probability) for p in s.left],
                         [(p.token, p.probability) for p in s.right])


def joint_ui(ckpt: str, dev: str, mask_tok: str):
    st.subheader("Several masks, decoded jointly")
    st.caption("Above, each mask is guessed on its own, with every other mask still hidden. Joint decoding fills "
               "them one at a time and runs the model again, so later guesses see the earlier ones: "
               "most-confident-first fills the mask whose best guess is surest; left-to-right fills them in order.")
    text = st.text_area("Text with several masks", f"He moved to New {mask_tok} {mask_tok} last year.",
                        key="mlm_x_joint_text", persist_state="page", height=80)
    order = st.radio("Order", decoding.ORDERS, horizontal=True, key="mlm_x_order", persist_state="page",
                     format_func=lambda o: {"confidence": "Most confident first", "left-to-right": "Left to right"}[o])
    with ui.user_errors():
        j = joint_in(ckpt, dev, text, order)
        st.code(j.filled, language=None, wrap_lines=True)
        export.table(pd.DataFrame(j.table()), key="mlm_x_joint_table", what="joint fill", hide_index=True,
                     column_config={"p when filled": st.column_config.NumberColumn(format="%.3f")})
        n = sum(j.differs)
        st.caption(f"{n} of {len(j.tokens)} masks differ from their independent guess." if n else
                   "Here the joint guesses are the same as the independent ones.")


def whole_word_ui(bundle, ckpt: str, dev: str):
    st.subheader("Mask a whole word")
    st.caption("A word the vocabulary does not hold is split into WordPiece pieces ('unaffable' → una ##ffa ##ble). "
               "Whole-word masking hides all of its pieces, one mask each; joint decoding then fills them in.")
    text = st.text_input("Sentence", "He was unaffable, and nobody liked him.", key="mlm_x_ww_text", persist_state="page")
    word_list = words(text)
    if not word_list:
        with ui.user_errors():
            decoding.mask_whole_word(bundle.tokenizer, text, 0)  # the package's message for an empty text
        return
    i = st.selectbox("Word to mask", range(len(word_list)), key="mlm_x_ww_word", persist_state="page",
                     format_func=lambda n: f"{n + 1}: {word_list[n]}", index=min(2, len(word_list) - 1))
    with ui.user_errors():
        w = decoding.mask_whole_word(bundle.tokenizer, text, min(i, len(word_list) - 1))
        st.markdown(f"`{ui.md_escape(w.word)}` has {len(w.pieces)} piece(s): "
                    + " ".join(f"`{ui.md_escape(p)}`" for p in w.pieces))
        st.code(w.text, language=None, wrap_lines=True)
        j = joint_in(ckpt, dev, w.text, "confidence")
        export.table(pd.DataFrame(j.table(w.pieces)), key="mlm_x_ww_table", what="whole-word fill", hide_index=True,
                     column_config={"p when filled": st.column_config.NumberColumn(format="%.3f")})


def candidates_ui(ckpt: str, dev: str, text: str):
    st.subheader("Score your own candidates")
    st.caption("Each word is put in place of the first mask of the text above, split into its pieces, and scored "
               "by pseudo-log-likelihood: the sum over its pieces of log p(piece), each piece masked in turn with "
               "the others shown. Higher (closer to 0) = more likely to the model; a one-piece word's PLL is just "
               "its log-probability at the mask.")
    raw = st.text_input("Candidate words, comma-separated", "Oxford, Cambridge, university, unaffable",
                        key="mlm_x_cands", persist_state="page")
    with ui.user_errors():
        cands = candidates_in(ckpt, dev, text, raw)
        export.chart(xcharts.candidates([c.word for c in cands], [c.pll for c in cands],
                                        [list(c.pieces) for c in cands]), key="mlm_x_cand_chart", what="candidates")
        export.table(pd.DataFrame([c.row() for c in cands]), key="mlm_x_cand_table", what="candidates",
                     hide_index=True)


def sides_ui(ckpt: str, dev: str, text: str, k: int):
    st.subheader("Left context vs right context")
    with ui.user_errors():
        s = sides_in(ckpt, dev, text, k)
        export.chart(sides_figure(ckpt, dev, text, k), key="mlm_x_sides", what="left vs right")
        st.caption("Left only: " + ui.md_escape(" ".join(s.left_tokens)) + "  ·  Right only: "
                   + ui.md_escape(" ".join(s.right_tokens)))
        st.markdown(SIDES_WHY)


def decoding_ui(bundle, ckpt: str, dev: str):
    """Joint decoding, whole-word masks, candidates and left vs right context, on the fill text above."""
    if not bundle.info.has_mlm:
        return
    joint_ui(ckpt, dev, bundle.tokenizer.mask_token)
    whole_word_ui(bundle, ckpt, dev)
    text, k = st.session_state.get("fill_text", ""), int(st.session_state.get("fill_k", 5))
    candidates_ui(ckpt, dev, text)
    sides_ui(ckpt, dev, text, k)
