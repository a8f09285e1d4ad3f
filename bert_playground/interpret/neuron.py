"""The neuron view (bertviz's, for any BERT checkpoint): how one head turns one query token into a row of
attention, computed from the model's own weights and hidden states.

For layer l, head h and query token i, with x_t the hidden state entering layer l (`hidden_states[l]`):
  q = W_q x_i + b_q and k_t = W_k x_t + b_k, cut to head h's d = D / H dimensions (Vaswani et al. 2017, 3.2.2);
  products_t = q * k_t (elementwise), so score_t = sum(products_t) / sqrt(d) = q . k_t / sqrt(d);
  probabilities = softmax(scores), which must be the model's own attention row (checked to 1e-5).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from ..checkpoints.models import forward
from ..core.errors import PlaygroundError
from ..inputs.text import encode


@dataclass(frozen=True, eq=False)
class NeuronView:
    model: str
    tokens: tuple[str, ...]
    layer: int  # 0-based
    head: int  # 0-based
    query_index: int  # position of the query token in `tokens`
    query: np.ndarray  # (d,) the query vector of token `query_index`
    keys: np.ndarray  # (T, d) the key vector of every token
    products: np.ndarray  # (T, d) query * key, elementwise
    scores: np.ndarray  # (T,) q . k / sqrt(d)
    probabilities: np.ndarray  # (T,) softmax of the scores
    model_attention: np.ndarray  # (T,) the same row as the model returns it (output_attentions)

    @property
    def max_difference(self) -> float:
        """Largest gap between our softmax and the model's attention: a check, ~1e-7 in float32."""
        return float(np.abs(self.probabilities - self.model_attention).max())

    def to_dict(self) -> dict:
        f = lambda a: np.asarray(a, dtype=np.float64).round(7).tolist()  # noqa: E731  float32 carries ~7 digits
        return {"tokens": list(self.tokens), "query": f(self.query), "keys": f(self.keys),
                "products": f(self.products), "scores": f(self.scores), "probabilities": f(self.probabilities)}


def _check(name: str, value, top: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise PlaygroundError(f"The {name} must be a whole number, got {value!r}.")
    if not 0 <= value < top:
        raise PlaygroundError(f"There is no {name} {value} (0-based): this input/model has {top} ({name} 0 to {top - 1}).")
    return value


def neuron_view(bundle, text_a: str, layer: int, head: int, query: int, text_b: str | None = None) -> NeuronView:
    """Query, keys, products, scores and softmax of one head for one query token (all 0-based)."""
    info = bundle.info
    _check("layer", layer, info.layers)
    _check("head", head, info.heads)
    enc = encode(bundle, text_a, text_b)
    _check("query", query, len(enc))
    out = forward(bundle, enc.tensors(), attentions=True, hidden_states=True, mlm=False)
    self_att = bundle.encoder.encoder.layer[layer].attention.self
    d = self_att.attention_head_size
    cut = slice(head * d, (head + 1) * d)
    with torch.inference_mode():
        x = out.hidden_states[layer][0]  # (T, D) the input of layer `layer`
        q = torch.nn.functional.linear(x[query], self_att.query.weight[cut], self_att.query.bias[cut])  # (d,)
        k = torch.nn.functional.linear(x, self_att.key.weight[cut], self_att.key.bias[cut])  # (T, d)
        products = q[None, :] * k  # (T, d)
        scores = products.sum(-1) / math.sqrt(d)  # (T,)
        probs = scores.softmax(-1)  # (T,)
    row = out.attentions[layer][0, head, query]  # (T,)
    a = lambda t: t.float().cpu().numpy()  # noqa: E731
    return NeuronView(bundle.info.name, tuple(enc.tokens), layer, head, query, a(q), a(k), a(products), a(scores),
                      a(probs), a(row))
