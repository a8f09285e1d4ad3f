"""Attention: every layer and head, the model view, what the heads attend to, rollout, bidirectional vs causal."""
import streamlit as st

from bert_playground.classroom import lessons
from bert_playground.classroom.lessons import most_attended
from bert_playground.interpret import attention as att
from bert_playground.figures import describe
from playground_ui import export, lesson, state, ui
from bert_playground.figures import attention as charts
from playground_ui.widgets import fit, notices, pick, sentence_pair

BLOCK_NAMES = {"all": "Whole input", "A->A": "A → A", "A->B": "A → B", "B->A": "B → A", "B->B": "B → B"}
LONG = 64  # above this many tokens a token-range selector appears
SPEC = state.spec("attention",
                  state.Param("a", "att_a", "The animal didn't cross the street because it was too tired."),
                  state.Param("b", "att_b", "It lay down and slept."),
                  state.Param("view", "att_view", "Heatmap", choices=("Heatmap", "Model view", "Head statistics",
                                                                      "Rollout", "Bidirectional vs causal")),
                  state.Param("layer", "att_layer", 1, int, 1, 128),
                  state.Param("head", "att_head", 1, int, 1, 128),
                  state.Param("mean", "att_mean", False, bool),
                  state.Param("block", "att_block", "all", choices=tuple(BLOCK_NAMES)),
                  state.Param("grid_layer", "att_grid_layer", 0, int, 0, 127),
                  state.Param("grid_head", "att_grid_head", 0, int, 0, 127),
                  state.Param("roll_layer", "att_roll_layer", None, int, 1, 128),
                  state.Param("from", "att_from", 1, int, 0, 511))
CAUSAL_WHY = (
    "**Why BERT masks the input, not the attention.** BERT learns by predicting words hidden behind `[MASK]` in "
    "its *input*, and every token attends to every other one, left and right (left map). Without masking the "
    "input, that task would be trivial: the word to predict would be in the input, and through the layers each "
    "position can reach its own token (on the diagonal, or back through its neighbours), so the model could just "
    "copy it. A **causal mask** (right map: all weights above the diagonal are 0) is what left-to-right language "
    "models such as GPT use instead: each token sees only the tokens before it, so predicting the next one stays a "
    "real task, but no token can use its right context. BERT keeps both directions and hides the answer in the "
    "input instead (masked LM).\n\n"
    "The right map is this same BERT run with a causal mask. It was not trained that way, so it shows what its "
    "weights do when the right context is taken away, not what a trained left-to-right model would learn."
)


def intro_ui():
    st.title("Attention")
    st.markdown(
        "In each layer, each **head** lets every token (a row) gather information from all tokens (the columns) with "
        "weights from a softmax: every row sums to 1. The maps below are read from the model's own forward pass, "
        "computed **once per input**; moving a slider only redraws."
    )


@st.cache_data(max_entries=6, show_spinner="Running the model once for this input…")
def maps_for(checkpoint: str, device: str, a: str, b: str | None, causal: bool = False) -> att.AttentionMaps:
    return att.compute(ui.cached_bundle(checkpoint, device), a, b, causal)


@st.cache_data(max_entries=6, show_spinner=False)
def summaries_for(checkpoint: str, device: str, a: str, b: str | None):
    maps = maps_for(checkpoint, device, a, b)
    return att.head_stats(maps), att.rollout(maps.attentions)


def layer_head(maps: att.AttentionMaps) -> tuple[int, int | None, str]:
    c = st.columns([3, 3, 2])
    mean = c[2].toggle("Mean over heads", key="att_mean")
    with c[0]:
        layer = pick("Layer", maps.layers, "att_layer")
    with c[1]:
        head = pick("Head", maps.heads, "att_head", disabled=mean)
    what = f"layer {layer + 1}, " + ("mean over heads" if mean else f"head {head + 1}")
    return layer, None if mean else head, what


def big_map(v: att.View, tokens, title: str, key: str):
    export.chart(charts.heatmap(v.matrix, tokens, v.rows, v.cols, title), key=key,
                 summary=describe.attention(v.matrix, tokens, v.rows, v.cols, title))


def span_ui(maps: att.AttentionMaps) -> tuple[int, int] | None:
    """Long inputs: a window of positions so the labels stay readable."""
    if maps.length <= LONG:
        return None
    fit("att_span", maps.length, (0, min(maps.length, 128)))
    return st.slider("Tokens shown (positions from, to)", 0, maps.length, key="att_span",
                     help="Long inputs: pick a window so the labels stay readable.")


def heatmap_ui(maps: att.AttentionMaps, source: tuple, span):
    layer, head, what = layer_head(maps)
    block = "all"
    if maps.sentence_b_start is not None:
        block = st.segmented_control("Block (from → to)", list(BLOCK_NAMES), format_func=BLOCK_NAMES.get,
                                     key="att_block", required=True) or "all"  # None for a moment under load
    big_map(att.view(maps, layer, head, block, span), maps.tokens, f"Attention, {what}", "att_heatmap")
    st.caption("Row = the token that attends (query); column = the token it reads from (key). "
               "Hover over a cell for the weight.")
    if head is not None:  # what happens without it: the Interventions page, this head already picked
        ui.page_link("interventions", f"Switch this head off (layer {layer + 1}, head {head + 1}) →",
                     {"tab": "Switch heads off", "heads": f"{layer}.{head}"})


def model_view_ui(maps: att.AttentionMaps, source: tuple, span):
    st.caption("Every head of every layer (rows = layers, columns = heads), each on its own scale (dark purple = 0, "
               "yellow = that head's largest weight). "
               "Pick one below to open it large; the framed thumbnail is the one open.")
    c = st.columns(2)
    fit("att_grid_layer", maps.layers - 1, 0)
    fit("att_grid_head", maps.heads - 1, 0)
    gl = c[0].selectbox("Open layer", range(maps.layers), format_func=lambda i: f"Layer {i + 1}", key="att_grid_layer")
    gh = c[1].selectbox("Open head", range(maps.heads), format_func=lambda i: f"Head {i + 1}", key="att_grid_head")
    pooled, _ = att.thumbnails(maps, span, bins=32)  # (L, H, <=32, <=32)
    export.chart(charts.model_view(pooled, (gl, gh)), key="att_grid", what="model-view")
    big_map(att.view(maps, gl, gh, "all", span), maps.tokens, f"Layer {gl + 1}, head {gh + 1}", "att_grid_large")


def head_stats_ui(maps: att.AttentionMaps, source: tuple, span):
    stats, _ = summaries_for(*source)
    st.caption("For each head, where an average token's attention goes. Look for heads that park their "
               "attention on [SEP] or [CLS] (a 'no-op'), and positional heads that read the previous or "
               "next token. Low entropy = sharp, focused head; high = spread out.")
    grids = [(stats.to_cls, "To [CLS]", 1.0, ".2f"), (stats.to_sep, "To [SEP]", 1.0, ".2f"),
             (stats.to_self, "To itself", 1.0, ".2f"), (stats.to_prev, "To the previous token", 1.0, ".2f"),
             (stats.to_next, "To the next token", 1.0, ".2f"),
             (stats.entropy, f"Entropy, bits (uniform = {stats.max_entropy:.1f})", stats.max_entropy, ".1f")]
    cols = st.columns(2)
    for k, (values, title, top, fmt) in enumerate(grids):
        export.chart(charts.stat_grid(values, title, top, fmt), key=f"att_stat_{k}", where=cols[k % 2])


def rollout_ui(maps: att.AttentionMaps, source: tuple, span):
    _, roll = summaries_for(*source)  # (L, T, T)
    st.caption("Attention rollout (Abnar & Zuidema, 2020): average the heads, add the residual connection "
               "(identity), renormalise, and multiply the layers together. Row i estimates how much of "
               "token i's representation after that layer comes from each input token.")
    layer = pick("Rollout up to layer", maps.layers, "att_roll_layer", last=True)
    big_map(att.crop(roll[layer], span=span), maps.tokens, f"Rollout through layer {layer + 1}", "att_rollout")
    if maps.cls_index is not None:
        export.chart(charts.bars(roll[layer][maps.cls_index], maps.tokens, range(maps.length),
                                 "What [CLS] is made of, by input token"), key="att_rollout_cls")


def causal_ui(maps: att.AttentionMaps, source: tuple, span):
    causal = maps_for(*source, causal=True)
    layer, head, what = layer_head(maps)
    bi, ca = att.view(maps, layer, head, "all", span), att.view(causal, layer, head, "all", span)
    export.chart(charts.side_by_side(bi.matrix, ca.matrix, maps.tokens, bi.rows,
                                     (f"Bidirectional (BERT), {what}", "Causal mask (left-to-right)")), key="att_causal")
    st.caption("One colour scale, capped at the bidirectional map's largest weight. In the causal map the "
               "first token can only attend to itself, so its row is always 1.")
    m = st.columns(2)
    m[0].metric("Attention on tokens to the right, bidirectional", f"{att.right_context_share(maps.attentions):.0%}")
    m[1].metric("… with the causal mask", f"{att.right_context_share(causal.attentions):.0%}")
    st.markdown(CAUSAL_WHY)


def lesson_ui(maps: att.AttentionMaps, source: tuple):
    """Lesson mode: guess where the chosen head looks from a chosen token, then see its map."""
    layer, head, what = layer_head(maps)
    fit("att_from", maps.length - 1, 1)
    i = st.selectbox("From token", range(maps.length), key="att_from", format_func=lambda k: f"{k}: {maps.tokens[k]}")
    names = [f"{k}: {t}" for k, t in enumerate(maps.tokens)]
    guess = lesson.guess_ui("attention", f"In {what}, which token does '{maps.tokens[i]}' (position {i}) attend to most?",
                            (source, layer, head, i), names, toggle=False)
    if guess.hidden:
        return
    top = most_attended(maps, layer, head, i)
    shown = lesson.Guess(guess.on, guess.text.split(": ", 1)[-1], guess.exercise, guess.key)
    lesson.reveal_ui(shown, lessons.attention_answer(maps, layer, head, i))
    st.caption(f"Row {i} ('{maps.tokens[i]}') of the map below: its largest weight is on position {top}.")
    big_map(att.view(maps, layer, head), maps.tokens, f"Attention, {what}", "att_lesson_map")


VIEWS = {"Heatmap": heatmap_ui, "Model view": model_view_ui, "Head statistics": head_stats_ui,
         "Rollout": rollout_ui, "Bidirectional vs causal": causal_ui}


@st.fragment
def explore_ui(maps: att.AttentionMaps, source: tuple):
    """Everything drawn from the maps; widgets in here rerun only this part."""
    with ui.user_errors():
        if lesson.toggle_ui():
            lesson_ui(maps, source)
        else:
            view = st.radio("View", list(VIEWS), horizontal=True, key="att_view")
            VIEWS[view](maps, source, span_ui(maps))
    state.save(SPEC)  # a rerun of this fragment alone: keep its inputs and the link up to date


def maps_ui(text_a: str, text_b: str):
    with ui.user_errors():
        source = (ui.checkpoint_name(), ui.device_name(), text_a, text_b if text_b != "" else None)
        maps = maps_for(*source)
        notices(maps.notices)
        st.caption(f"{maps.length} tokens · {maps.layers} layers × {maps.heads} heads"
                   + (f" · sentence B starts at position {maps.sentence_b_start}" if maps.sentence_b_start else ""))
        explore_ui(maps, source)


bundle = ui.setup(SPEC)
intro_ui()
text_a, text_b = sentence_pair("att_a", "att_b", "", "")
ui.need_model(bundle)
maps_ui(text_a, text_b)
