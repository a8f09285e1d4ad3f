"""Plotly figure builders, one module per page. Pure functions: data in, figure out (Plotly, numpy and pandas only:
no streamlit, no model), so that the pages and a notebook draw the same figures (`fig.show()` inline in Jupyter).

The functions below take a result of `bert_playground.api` and call the same builders the pages call (their names
differ from the modules': `figures.nsp` is the NSP page's module, `figures.nsp_gauge(score)` a figure); each module is
imported when first used (the app's home page starts without pandas).
"""
from __future__ import annotations


def input_diagram(rep):
    """The packed input of `api.represent`: tokens and their segments, as the Input representation page draws it."""
    from .representation import input_diagram as diagram

    return diagram(rep.encoding.tokens[:32], rep.encoding.token_type_ids[:32])


def fill_bars(result, mask: int = 0):
    """The guesses at one mask of `api.fill`, as bars (the Masked LM page's chart)."""
    from .mlm import prediction_bars

    m = result.masks[mask]
    return prediction_bars([p.token for p in m.predictions], [p.probability for p in m.predictions],
                           f"Mask {mask + 1} (position {m.position})")


def nsp_gauge(score):
    """The pair head's probability of `api.nsp`, as the NSP page's gauge."""
    from .nsp import probability_gauge

    return probability_gauge(score.is_next_probability, "P(in order)" if score.task == "sop" else "P(IsNext)")


def attention_map(maps, layer: int = 0, head: int | None = 0):
    """One head's map (head None: the mean over heads) of `api.attention`, as the Attention page's heatmap."""
    from ..interpret.attention import view
    from .attention import heatmap

    v = view(maps, layer, head)
    what = "mean over heads" if head is None else f"head {head + 1}"
    return heatmap(v.matrix, maps.tokens, v.rows, v.cols, f"Attention, layer {layer + 1}, {what}")


def attention_heads(maps):
    """Every head of every layer at once (the Attention page's model view; bertviz's head view as thumbnails)."""
    from ..interpret.attention import thumbnails
    from .attention import model_view

    pooled, _ = thumbnails(maps, (0, maps.length), bins=32)  # (L, H, <=32, <=32)
    return model_view(pooled)


def context_similarity(result, layer: int = -1):
    """The similarity of one word's uses at one layer of `api.context` (the Contextual embeddings page)."""
    from .contextual import similarity_heatmap

    layer = layer % len(result.similarity)
    return similarity_heatmap(result.similarity[layer], result.labels(), layer)


def explanation(e):
    """The four rankings of `api.explain` side by side (the Explanations page's token chart)."""
    from .explain import token_scores

    return token_scores(e.target.tokens, e.scores, e.target.position)


def deletion(e):
    """The deletion test of `api.explain`: each ranking's curve against random orderings."""
    from .explain import deletion_curves

    d = e.deletion
    return deletion_curves(d.k, d.curves, e.target.probability, d.random_mean, d.random_low, d.random_high)
