"""Attention maps: read from the model's own forward pass, and the helpers built on them."""
import json
import pickle

import numpy as np
import pytest
import torch
from test_cli import cli

from bert_playground import PlaygroundError
from bert_playground.checkpoints.models import forward
from bert_playground.interpret import attention as att

A, B = "The cat sat on the mat.", "It was happy there."


@pytest.fixture(scope="module")
def pair(tiny):
    return att.compute(tiny, A, B)


@pytest.fixture(scope="module")
def causal(tiny):
    return att.compute(tiny, A, B, causal=True)


def test_shape_tokens_and_rows_sum_to_one(tiny, pair):
    single = att.compute(tiny, A)
    for maps in (single, pair):
        t = len(maps.tokens)
        assert maps.attentions.shape == (2, 4, t, t) and maps.attentions.dtype == np.float32
        np.testing.assert_allclose(maps.attentions.sum(-1), 1.0, atol=1e-5)
        assert (maps.attentions >= 0).all()
    assert single.sentence_b_start is None and pair.sentence_b_start == 9
    assert pair.tokens[0] == "[CLS]" and pair.tokens[8] == "[SEP]" and pair.tokens[9] == "it"
    assert pair.cls_index == 0 and pair.sep_indices == (8, len(pair.tokens) - 1)
    assert not pair.causal and not pair.truncated and pair.notices == ()
    assert (pair.layers, pair.heads, pair.length) == (2, 4, len(pair.tokens))


def test_equals_a_plain_transformers_forward_pass(tiny_dir, pair):
    from transformers import AutoTokenizer, BertForPreTraining

    tok = AutoTokenizer.from_pretrained(str(tiny_dir))
    model = BertForPreTraining.from_pretrained(str(tiny_dir), attn_implementation="eager").eval()
    enc = tok(A, B, return_tensors="pt")
    with torch.no_grad():
        out = model(**enc, output_attentions=True)
    ref = torch.stack(out.attentions)[:, 0].numpy()  # (L, H, T, T)
    assert tok.convert_ids_to_tokens(enc["input_ids"][0]) == list(pair.tokens)
    np.testing.assert_allclose(pair.attentions, ref, atol=1e-6, rtol=0)


def test_result_pickles_for_the_cache(pair):
    back = pickle.loads(pickle.dumps(pair))
    assert back.tokens == pair.tokens and np.array_equal(back.attentions, pair.attentions)
    with pytest.raises(Exception):
        pair.tokens = ()  # frozen


def mean_over_heads(a: np.ndarray) -> np.ndarray:
    """(L, H, T, T) -> (L, T, T)."""
    return a.mean(axis=1)


def assemble(parts: dict) -> np.ndarray:
    """The inverse of `att.blocks`."""
    top = np.concatenate([parts["A->A"], parts["A->B"]], axis=-1)  # (..., Ta, T)
    bottom = np.concatenate([parts["B->A"], parts["B->B"]], axis=-1)  # (..., Tb, T)
    return np.concatenate([top, bottom], axis=-2)  # (..., T, T)


def test_mean_over_heads_and_view(pair):
    mean = mean_over_heads(pair.attentions)
    assert mean.shape == (2, pair.length, pair.length)
    np.testing.assert_allclose(mean.sum(-1), 1.0, atol=1e-5)
    v = att.view(pair, 1, None)
    np.testing.assert_allclose(v.matrix, mean[1], atol=1e-7)
    v = att.view(pair, 0, 3)
    assert np.array_equal(v.matrix, pair.attentions[0, 3]) and list(v.rows) == list(range(pair.length))
    v = att.view(pair, 1, 2, "A->B")
    assert np.array_equal(v.matrix, pair.attentions[1, 2, :9, 9:])
    assert list(v.rows) == list(range(9)) and list(v.cols) == list(range(9, pair.length))
    v = att.view(pair, 0, 0, "B->A", span=(3, 11))
    assert np.array_equal(v.matrix, pair.attentions[0, 0, 9:11, 3:9])
    for bad in [dict(layer=2), dict(layer=-1), dict(layer=0, head=4), dict(layer=0, block="A->C"),
                dict(layer=0, block="A->B", span=(0, 5))]:
        with pytest.raises(PlaygroundError):
            att.view(pair, **bad)


def test_blocks_reassemble(tiny, pair):
    parts = att.blocks(pair.attentions, pair.sentence_b_start)
    assert set(parts) == set(att.BLOCKS)
    ta, tb = 9, pair.length - 9
    assert parts["A->A"].shape == (2, 4, ta, ta) and parts["A->B"].shape == (2, 4, ta, tb)
    assert parts["B->A"].shape == (2, 4, tb, ta) and parts["B->B"].shape == (2, 4, tb, tb)
    assert np.array_equal(assemble(parts), pair.attentions)
    one = att.blocks(pair.attentions[0, 0], pair.sentence_b_start)
    np.testing.assert_allclose(one["A->A"].sum(-1) + one["A->B"].sum(-1), 1.0, atol=1e-5)
    with pytest.raises(PlaygroundError, match="pair"):
        att.blocks(att.compute(tiny, A).attentions, None)


def test_rollout(pair):
    roll = att.rollout(pair.attentions)
    t = pair.length
    assert roll.shape == (2, t, t)
    np.testing.assert_allclose(roll.sum(-1), 1.0, atol=1e-5)
    a = pair.attentions.astype(np.float64).mean(1) + np.eye(t)  # add the residual, renormalise
    a /= a.sum(-1, keepdims=True)
    np.testing.assert_allclose(roll[0], a[0], atol=1e-6)
    np.testing.assert_allclose(roll[1], a[1] @ a[0], atol=1e-6)


def test_causal_maps_are_lower_triangular_and_causal(tiny, pair, causal):
    t = causal.length
    assert causal.causal and causal.tokens == pair.tokens
    assert np.all(np.triu(causal.attentions, k=1) == 0)  # exactly 0 above the diagonal
    np.testing.assert_allclose(causal.attentions.sum(-1), 1.0, atol=1e-5)
    np.testing.assert_allclose(causal.attentions[:, :, 0, 0], 1.0, atol=1e-6)
    assert np.abs(causal.attentions - pair.attentions).max() > 1e-3
    # truly left-to-right: the first k tokens' maps do not change when the tokens after them are removed
    enc, _ = att.read_input(tiny, A, B)
    k = 6
    batch = {"input_ids": torch.tensor([enc.input_ids[:k]]), "token_type_ids": torch.tensor([enc.token_type_ids[:k]]),
             "attention_mask": att.causal_mask(k)}
    prefix = torch.stack(forward(tiny, batch, attentions=True).attentions)[:, 0].numpy()
    np.testing.assert_allclose(causal.attentions[:, :, :k, :k], prefix, atol=1e-6)
    assert att.right_context_share(causal.attentions) == 0.0
    assert 0.1 < att.right_context_share(pair.attentions) < 0.9
    assert t > k


def test_causal_mask():
    m = att.causal_mask(4)
    assert m.shape == (1, 1, 4, 4)
    assert (m[0, 0].tril() == 0).all() and (m[0, 0].triu(1) == torch.finfo(torch.float32).min).sum() == 6


def _synthetic(att_matrix, tokens=("[CLS]", "a", "b", "[SEP]")):
    t = len(tokens)
    maps = np.broadcast_to(att_matrix, (2, 3, t, t)).astype(np.float32)
    return att.AttentionMaps(model="x", tokens=tokens, sentence_b_start=None, attentions=maps, truncated=False,
                             full_length=t, causal=False, cls_index=0, sep_indices=(3,))


def test_head_stats_on_known_maps():
    s = att.head_stats(_synthetic(np.eye(4)))
    assert s.to_self.shape == (2, 3)
    np.testing.assert_allclose(s.to_self, 1.0)
    np.testing.assert_allclose(s.to_cls, 0.25)  # only [CLS]'s own row puts its weight on [CLS]
    np.testing.assert_allclose(s.entropy, 0.0, atol=1e-6)
    np.testing.assert_allclose(s.to_prev, 0.0)
    s = att.head_stats(_synthetic(np.full((4, 4), 0.25)))
    np.testing.assert_allclose(s.entropy, 2.0, atol=1e-6)
    assert s.max_entropy == pytest.approx(2.0)
    np.testing.assert_allclose(s.to_cls, 0.25, atol=1e-7)
    np.testing.assert_allclose(s.to_sep, 0.25, atol=1e-7)
    np.testing.assert_allclose(s.to_next, 0.25 * 3 / 4, atol=1e-7)
    s = att.head_stats(_synthetic(np.eye(4, k=-1) + np.eye(4)[[0]] * [[1], [0], [0], [0]]))  # previous token
    np.testing.assert_allclose(s.to_prev, 0.75)


def test_head_stats_ranges(pair, causal):
    for maps in (pair, causal):
        s = att.head_stats(maps)
        for values in (s.to_cls, s.to_sep, s.to_self, s.to_prev, s.to_next):
            assert values.shape == (2, 4) and (values >= 0).all() and (values <= 1 + 1e-6).all()
        assert (s.entropy >= 0).all() and (s.entropy <= s.max_entropy + 1e-5).all()
    np.testing.assert_allclose(att.head_stats(pair).to_cls, pair.attentions[..., 0].mean(-1), atol=1e-6)


def test_pool_and_thumbnails_keep_rows_stochastic(pair):
    pooled, edges = att.pool(pair.attentions, 4)
    assert pooled.shape == (2, 4, 4, 4) and edges[0] == 0 and edges[-1] == pair.length
    np.testing.assert_allclose(pooled.sum(-1), 1.0, atol=1e-5)
    full, edges = att.thumbnails(pair, bins=64)
    assert np.allclose(full, pair.attentions) and len(edges) == pair.length + 1
    part, edges = att.thumbnails(pair, span=(2, 12), bins=5)
    assert part.shape == (2, 4, 5, 5) and edges[0] == 2 and edges[-1] == 12
    with pytest.raises(PlaygroundError):
        att.thumbnails(pair, span=(5, 5))


def test_bad_input(tiny):
    with pytest.raises(PlaygroundError, match="empty"):
        att.compute(tiny, "  \t ")
    empty_b = att.compute(tiny, A, "   ")
    assert empty_b.sentence_b_start is None and any("Sentence B is empty" in n for n in empty_b.notices)
    assert empty_b.tokens == att.compute(tiny, A).tokens
    one = att.compute(tiny, "hello")
    assert one.tokens == ("[CLS]", "hello", "[SEP]") and any("single token" in n for n in one.notices)
    np.testing.assert_allclose(one.attentions.sum(-1), 1.0, atol=1e-5)
    long = att.compute(tiny, "word " * 600)
    assert long.length == 512 and long.truncated and long.full_length == 602
    assert any("602 tokens" in n for n in long.notices)
    np.testing.assert_allclose(long.attentions.sum(-1), 1.0, atol=1e-5)


# ---- CLI ------------------------------------------------------------------------------------

def test_cli_attention_json(tiny_dir, pair):
    r = cli("attention", A, B, "--model", str(tiny_dir), "--json")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert set(out) == {"model", "tokens", "sentence_b_start", "attentions"}
    assert out["model"] == str(tiny_dir) and out["tokens"] == list(pair.tokens) and out["sentence_b_start"] == 9
    maps = np.array(out["attentions"])
    assert maps.shape == pair.attentions.shape
    np.testing.assert_allclose(maps, pair.attentions, atol=1e-7)
    np.testing.assert_allclose(maps.sum(-1), 1.0, atol=1e-5)


def test_cli_attention_single_text_and_text_output(tiny_dir):
    r = cli("attention", "Hello there", env_model=tiny_dir)
    assert r.returncode == 0, r.stderr
    assert "[CLS] hello there [SEP]" in r.stdout and "2 layers x 4 heads" in r.stdout
    r = cli("attention", "Hello there", "  ", "--json", env_model=tiny_dir)
    out = json.loads(r.stdout)
    assert out["sentence_b_start"] is None and np.array(out["attentions"]).shape == (2, 4, 4, 4)


@pytest.mark.parametrize("args, message", [
    (["attention", "   "], "empty"),
    (["attention", "hi", "--model", "/no/such/folder"], "does not exist"),
    (["attention"], "error:"),
])
def test_cli_attention_errors(tiny_dir, args, message):
    r = cli(*args, env_model=tiny_dir)
    assert r.returncode != 0 and message in r.stderr
    assert "Traceback" not in r.stderr and len(r.stderr.strip().splitlines()) == 1
