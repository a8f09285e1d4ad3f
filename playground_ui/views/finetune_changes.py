"""The fine-tuning page's "what fine-tuning changed": one head's attention, the held-out [CLS] vectors and the
checkpoint's own MLM guesses, before and after an epoch (bert_playground.finetune.changes computes them)."""
from __future__ import annotations

import pandas as pd
import streamlit as st

from bert_playground.figures import heads as hcharts
from bert_playground.finetune import TASKS, changes
from playground_ui import export, ui
from playground_ui.widgets import pick

def attention_change_ui(result, k: int) -> None:
    text = st.text_input("Input", "The movie was not good at all.", key="ft_chg_text")
    with ui.user_errors():
        ch = changes.attention_change(result, 0, k, text)
        n_layers, n_heads = ch.before.shape[:2]
        c1, c2 = st.columns(2)
        with c1:
            layer = pick("Layer", n_layers, "ft_chg_layer", last=True)
        with c2:
            head = pick("Head", n_heads, "ft_chg_head")
        export.chart(hcharts.attention_change(ch.before[layer, head], ch.after[layer, head], ch.tokens,
                                                 ("before", f"after epoch {changes.epochs(result)[k]:g}",
                                                  "after − before")), key="ft_chg_att")
        st.caption(f"Largest change of any attention weight in this head: {ch.largest_change(layer, head):.3f}.")


def cls_change_ui(result, k: int, test) -> None:
    if TASKS[result.config.task].kind != "table" or test is None or not hasattr(test, "labels"):
        st.caption("The [CLS] projection is drawn for sequence tasks with their held-out data on this page.")
        return
    with ui.user_errors(), st.spinner("Projecting the held-out [CLS] vectors…"):
        names = [test.label_names[y] for y in test.labels][:changes.MAX_POINTS]
        c1, c2 = st.columns(2)
        for col, j, title in ((c1, 0, "before"), (c2, k, f"after epoch {changes.epochs(result)[k]:g}")):
            pts = changes.project_2d(changes.cls_vectors(result, j, test.texts, test.text_pairs))
            export.chart(hcharts.cls_scatter(pts, names, f"[CLS] of held-out examples, {title} (PCA)"),
                         key=f"ft_chg_cls_{j}", where=col)


def cloze_change_ui(result, k: int, bundle) -> None:
    if bundle is None or not bundle.info.has_mlm:
        st.caption("This checkpoint has no masked-LM head: no cloze guesses to compare.")
        return
    sentence = st.text_input("Cloze sentence", changes.CLOZE, key="ft_chg_cloze")
    with ui.user_errors():
        rows = [changes.cloze(result, j, bundle, sentence) for j in (0, k)]
        export.table(pd.DataFrame({"before": [f"{t} {p:.2f}" for t, p in zip(rows[0].tokens, rows[0].probabilities)],
                                   "after": [f"{t} {p:.2f}" for t, p in zip(rows[1].tokens, rows[1].probabilities)]}),
                     key="ft_chg_cloze_table", what="cloze before and after", hide_index=True)
        st.caption("The checkpoint's own MLM head, unchanged, reading the fine-tuned encoder: as the encoder "
                   "specialises, its guesses drift (catastrophic forgetting). With fewer layers kept than the "
                   "checkpoint has, the head reads the last kept layer, so even 'before' differs from the Masked-LM "
                   "page.")


def changes_ui(bundle, data) -> None:
    result = st.session_state.get("ft_result")
    if result is None or not result.snapshots or len(result.snapshots) < 2:
        return
    st.subheader("What fine-tuning changed")
    marks = changes.epochs(result)
    k = st.select_slider("After epoch", list(range(1, len(marks))), value=len(marks) - 1,
                         format_func=lambda i: f"{marks[i]:g}", key="ft_chg_epoch")
    tabs = st.tabs(["Attention", "[CLS] vectors", "MLM guesses"])
    with tabs[0]:
        attention_change_ui(result, k)
    with tabs[1]:
        cls_change_ui(result, k, data[1] if data is not None else None)
    with tabs[2]:
        cloze_change_ui(result, k, bundle)
