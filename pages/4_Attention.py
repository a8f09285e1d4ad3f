"""Attention: every layer and head, the model view, what the heads attend to, rollout, bidirectional vs causal."""
import streamlit as st

from playground_ui import ui
from bert_playground import attention as att
from playground_ui.charts import attention as charts

VIEWS = ["Heatmap", "Model view", "Head statistics", "Rollout", "Bidirectional vs causal"]
BLOCK_NAMES = {"all": "Whole input", "A->A": "A → A", "A->B": "A → B", "B->A": "B → A", "B->B": "B → B"}
LONG = 64  # above this many tokens a token-range selector appears
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

bundle = ui.setup("Attention", ":material/visibility:")
st.title("Attention")
st.markdown(
    "In each layer, each **head** lets every token (a row) gather information from all tokens (the columns) with "
    "weights from a softmax: every row sums to 1. The maps below are read from the model's own forward pass, "
    "computed **once per input**; moving a slider only redraws."
)
c1, c2 = st.columns(2)
text_a = c1.text_area("Sentence A", "The animal didn't cross the street because it was too tired.", key="att_a",
                      height=90)
text_b = c2.text_area("Sentence B (optional)", "It lay down and slept.", key="att_b", height=90)
bundle = ui.need_model(bundle)


@st.cache_data(max_entries=6, show_spinner="Running the model once for this input…")
def maps_for(checkpoint: str, device: str, a: str, b: str | None, causal: bool = False) -> att.AttentionMaps:
    return att.compute(ui.cached_bundle(checkpoint, device), a, b, causal)


@st.cache_data(max_entries=6, show_spinner=False)
def summaries_for(checkpoint: str, device: str, a: str, b: str | None):
    maps = maps_for(checkpoint, device, a, b)
    return att.head_stats(maps), att.rollout(maps.attentions)


def fit(key: str, top, default=None):
    """Keep a widget's remembered value inside its new range (another input or model may be smaller)."""
    value = st.session_state.get(key, default)
    if isinstance(value, tuple):
        value = (min(value[0], top - 1), min(value[1], top))
    elif value is not None:
        value = min(value, top)
    if value is not None:
        st.session_state[key] = value


def pick(label: str, n: int, key: str, last: bool = False, disabled: bool = False) -> int:
    """A 1-based slider (a caption when there is only one choice), returned 0-based."""
    if n == 1:
        st.caption(f"{label}: 1 (the model has only one)")
        return 0
    fit(key, n, n if last else 1)
    return st.slider(label, 1, n, key=key, disabled=disabled) - 1


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
    st.plotly_chart(charts.heatmap(v.matrix, tokens, v.rows, v.cols, title), key=key)


@st.fragment
def explore(maps: att.AttentionMaps, source: tuple):
    """Everything drawn from the maps; widgets in here rerun only this part."""
    with ui.user_errors():
        view = st.radio("View", VIEWS, horizontal=True, key="att_view")
        span = None
        if maps.length > LONG:
            fit("att_span", maps.length, (0, min(maps.length, 128)))
            span = st.slider("Tokens shown (positions from, to)", 0, maps.length, key="att_span",
                             help="Long inputs: pick a window so the labels stay readable.")
        if view == "Heatmap":
            layer, head, what = layer_head(maps)
            block = "all"
            if maps.sentence_b_start is not None:
                block = st.segmented_control("Block (from → to)", list(BLOCK_NAMES), format_func=BLOCK_NAMES.get,
                                             key="att_block", default="all", required=True)
            big_map(att.view(maps, layer, head, block, span), maps.tokens, f"Attention, {what}", "att_heatmap")
            st.caption("Row = the token that attends (query); column = the token it reads from (key). "
                       "Hover over a cell for the weight.")
        elif view == "Model view":
            st.caption("Every head of every layer (rows = layers, columns = heads), each on its own scale (white = 0, "
                       "darkest = that head's largest weight). "
                       "Pick one below to open it large; the framed thumbnail is the one open.")
            c = st.columns(2)
            gl = c[0].selectbox("Open layer", range(maps.layers), format_func=lambda i: f"Layer {i + 1}",
                                key="att_grid_layer")
            gh = c[1].selectbox("Open head", range(maps.heads), format_func=lambda i: f"Head {i + 1}",
                                key="att_grid_head")
            pooled, _ = att.thumbnails(maps, span, bins=32)  # (L, H, <=32, <=32)
            st.plotly_chart(charts.model_view(pooled, (gl, gh)), key="att_grid")
            big_map(att.view(maps, gl, gh, "all", span), maps.tokens, f"Layer {gl + 1}, head {gh + 1}",
                    "att_grid_large")
        elif view == "Head statistics":
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
                cols[k % 2].plotly_chart(charts.stat_grid(values, title, top, fmt), key=f"att_stat_{k}")
        elif view == "Rollout":
            _, roll = summaries_for(*source)  # (L, T, T)
            st.caption("Attention rollout (Abnar & Zuidema, 2020): average the heads, add the residual connection "
                       "(identity), renormalise, and multiply the layers together. Row i estimates how much of "
                       "token i's representation after that layer comes from each input token.")
            layer = pick("Rollout up to layer", maps.layers, "att_roll_layer", last=True)
            big_map(att.crop(roll[layer], span=span), maps.tokens, f"Rollout through layer {layer + 1}", "att_rollout")
            if maps.cls_index is not None:
                st.plotly_chart(charts.bars(roll[layer][maps.cls_index], maps.tokens, range(maps.length),
                                            "What [CLS] is made of, by input token"), key="att_rollout_cls")
        else:
            causal = maps_for(*source, causal=True)
            layer, head, what = layer_head(maps)
            bi, ca = att.view(maps, layer, head, "all", span), att.view(causal, layer, head, "all", span)
            st.plotly_chart(charts.side_by_side(bi.matrix, ca.matrix, maps.tokens, bi.rows,
                                                (f"Bidirectional (BERT), {what}", "Causal mask (left-to-right)")),
                            key="att_causal")
            st.caption("One colour scale, capped at the bidirectional map's largest weight. In the causal map the "
                       "first token can only attend to itself, so its row is always 1.")
            m = st.columns(2)
            m[0].metric("Attention on tokens to the right, bidirectional",
                        f"{att.right_context_share(maps.attentions):.0%}")
            m[1].metric("… with the causal mask", f"{att.right_context_share(causal.attentions):.0%}")
            st.markdown(CAUSAL_WHY)


with ui.user_errors():
    source = (ui.checkpoint_name(), ui.device_name(), text_a, text_b if text_b != "" else None)
    maps = maps_for(*source)
    for note in maps.notes:
        (st.warning if "cut" in note else st.info)(note)
    st.caption(f"{maps.length} tokens · {maps.layers} layers × {maps.heads} heads"
               + (f" · sentence B starts at position {maps.sentence_b_start}" if maps.sentence_b_start else ""))
    explore(maps, source)
