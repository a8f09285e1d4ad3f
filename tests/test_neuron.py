"""The neuron view: query, keys, products and scores from the model's weights reproduce its attention."""
import math

import numpy as np
import pytest
import torch

from bert_playground import PlaygroundError
from bert_playground.checkpoints.models import forward
from bert_playground.inputs.text import encode
from bert_playground.interpret.neuron import neuron_view

TEXT = "the quick brown fox jumps over the lazy dog ."


@pytest.mark.parametrize("layer, head, query", [(0, 0, 0), (0, 3, 4), (1, 1, 11), (1, 2, 6)])
def test_softmax_is_the_models_attention(tiny, layer, head, query):
    v = neuron_view(tiny, TEXT, layer, head, query)
    enc = encode(tiny, TEXT)
    att = forward(tiny, enc.tensors(), attentions=True).attentions[layer][0, head, query].numpy()
    assert v.probabilities == pytest.approx(att, abs=1e-5)
    assert v.max_difference < 1e-5 and v.model_attention == pytest.approx(att, abs=0)
    d = tiny.info.hidden_size // tiny.info.heads
    assert v.query.shape == (d,) and v.keys.shape == v.products.shape == (len(enc), d)
    assert v.products == pytest.approx(v.query[None] * v.keys, rel=1e-6)
    assert v.scores == pytest.approx(v.products.sum(-1) / math.sqrt(d), abs=1e-6)
    assert v.tokens == tuple(enc.tokens) and v.tokens[0] == "[CLS]"


def test_query_and_keys_from_the_weights(tiny):
    """Recompute q and k by hand from hidden_states[l] and the layer's query/key weights."""
    enc = encode(tiny, TEXT)
    hs = forward(tiny, enc.tensors(), hidden_states=True).hidden_states[1][0]  # (T, D) input of layer 1
    sa = tiny.model.bert.encoder.layer[1].attention.self
    q_all = hs @ sa.query.weight.T + sa.query.bias  # (T, D)
    k_all = hs @ sa.key.weight.T + sa.key.bias
    v = neuron_view(tiny, TEXT, 1, 2, 3)
    d = v.query.shape[0]
    assert v.query == pytest.approx(q_all[3, 2 * d:3 * d].numpy(), abs=1e-6)
    assert v.keys == pytest.approx(k_all[:, 2 * d:3 * d].numpy(), abs=1e-6)


def test_pair_and_json(tiny):
    v = neuron_view(tiny, "the cat sat .", 0, 1, 2, "it slept .")
    assert v.tokens.count("[SEP]") == 2 and v.max_difference < 1e-5
    j = v.to_dict()
    assert list(j) == ["tokens", "query", "keys", "products", "scores", "probabilities"]
    assert abs(sum(j["probabilities"]) - 1) < 1e-5 and len(j["keys"]) == len(j["tokens"])


@pytest.mark.parametrize("layer, head, query, match", [
    (2, 0, 0, "no layer 2"), (-1, 0, 0, "no layer -1"), (0, 4, 0, "no head 4"), (0, 0, 12, "no query 12"),
    (0.5, 0, 0, "whole number"), (0, True, 0, "whole number"),
])
def test_bad_indices(tiny, layer, head, query, match):
    with pytest.raises(PlaygroundError, match=match):
        neuron_view(tiny, TEXT, layer, head, query)
