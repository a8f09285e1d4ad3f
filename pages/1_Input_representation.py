"""Input representation: what enters BERT's first layer, token by token."""
import pandas as pd
import streamlit as st

from bert_playground.checkpoints.families import word_start_marker
from bert_playground.inputs.representation import embedding_parts, family_notices, represent
from bert_playground.figures import describe
from playground_ui import export, state, ui
from bert_playground.figures import representation as charts
from playground_ui.widgets import fit, notices, sentence_pair

SPEC = state.spec("input-representation",
                  state.Param("a", "rep_a", "The playground shows how BERT reads unaffable sentences."),
                  state.Param("b", "rep_b", "It splits rare words into pieces."),
                  state.Param("token", "rep_token", 1, int, 0, 511))


def intro_ui():
    st.title("Input representation")
    st.markdown(
        "BERT does not read words. The text is split into **WordPiece** tokens (rare words become pieces; a piece that "
        "continues a word starts with `##`), wrapped in `[CLS]` … `[SEP]` (and a second `[SEP]` after sentence B). "
        "Each token's input vector is the **sum of three learned embeddings** — which token, which segment (A or B), "
        "which position — followed by LayerNorm."
    )


def tokens_ui(bundle, rep):
    """The WordPiece tokens with their ids, segments and positions: a diagram and a table."""
    enc = rep.encoding
    notices(rep.notices)
    table = pd.DataFrame(rep.rows()).rename(columns=str.title).rename(columns={"Token_Id": "Token ID"})
    mode, mark = word_start_marker(bundle.tokenizer)
    starts = (lambda t: not t.startswith(mark)) if mode == "continues" else (lambda t: t.startswith(mark))
    first = {enc.word_ids.index(w) for w in set(enc.word_ids) if w is not None}  # a text's first piece has no mark
    table["Piece"] = ["special" if w is None else ("starts a word" if starts(t) or i in first else "continues a word")
                      for i, (t, w) in enumerate(zip(enc.tokens, enc.word_ids))]
    st.subheader(f"{len(enc)} tokens")
    export.chart(charts.input_diagram(enc.tokens[:32], enc.token_type_ids[:32]), key="diagram", what="tokens",
                 summary="The packed input: " + describe.segments(enc.tokens, enc.token_type_ids))
    if len(enc) > 32:
        st.caption("The diagram shows the first 32 tokens; the table below has them all.")
    export.table(table, "rep_table", what="tokens", hide_index=True, height=min(38 + 35 * len(table), 420))
    ui.page_link("tokenizer-lab", "How the text was split, step by step, and what another vocabulary would cost →",
                 {"text": st.session_state.get("rep_a", "")})


def vector_ui(bundle, rep):
    """One token's input vector: its three embeddings, their sum and the LayerNorm output."""
    enc = rep.encoding
    st.subheader("Inside one token's input vector")
    fit("rep_token", len(enc) - 1, 1)
    i = st.selectbox("Token to inspect", range(len(enc)), key="rep_token",
                     format_func=lambda k: f"{k}: {enc.tokens[k]} (segment {'AB'[enc.token_type_ids[k]]}, position {k})")
    parts = embedding_parts(bundle, enc)
    vectors = parts.vectors(i)
    export.chart(charts.vectors_heatmap(vectors, enc.tokens[i]), key="vec_heatmap")
    export.chart(charts.vectors_lines(vectors), key="vec_lines")
    norms = pd.DataFrame({"Vector": charts.PART_LABELS, "L2 norm": parts.norms(i)})
    export.table(norms, "rep_norms", what="norms", hide_index=True)
    if parts.projected is not None:
        st.caption(f"Then projected from {parts.normed.shape[1]} to {parts.projected.shape[1]} dimensions "
                   f"(L2 norm {parts.projected_norm(i):.3f}): that is what layer 1 receives.")
    st.markdown(
        "- **Token embedding**: one row of the word-embedding matrix per WordPiece id (the MLM head reuses this matrix "
        "to score its guesses).\n"
        "- **Segment embedding**: E_A for `[CLS]`, sentence A and its `[SEP]`; E_B for sentence B. It is how the NSP head "
        "knows where B starts.\n"
        "- **Position embedding**: learned, one per position up to the maximum length; without it self-attention "
        "would see a bag of tokens.\n"
        "- **Sum → LayerNorm**: the three are added, then normalised (zero mean, unit variance, learned scale and shift). "
        "That normalised vector is what the first Transformer layer receives."
    )


def representation_ui(bundle, text_a: str, text_b: str):
    with ui.user_errors():
        rep = represent(bundle, text_a, text_b if text_b.strip() else None)
        notices(family_notices(bundle))
        tokens_ui(bundle, rep)
        vector_ui(bundle, rep)


bundle = ui.setup(SPEC)
intro_ui()
text_a, text_b = sentence_pair("rep_a", "rep_b", "", "")
representation_ui(ui.need_model(bundle), text_a, text_b)
