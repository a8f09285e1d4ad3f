"""Interventions, checked against a hand-written forward pass, finite differences and their own definitions."""
import json
import math
import threading

import pytest
import torch

from bert_playground import PlaygroundError, cli
from bert_playground.inputs.text import encode
from bert_playground.interpret import hooks, importance, interventions
from bert_playground.objectives.mlm import fill

TEXT = "The capital of France is [MASK]."


def manual_mlm_probs(bundle, text: str, off: dict[int, list[int]]) -> torch.Tensor:
    """BERT written out by hand from the model's own weights (post-LN, GELU), with the heads in `off` zeroed in
    the context vector before the attention output projection: (V,) probabilities at the first mask."""
    m, cfg = bundle.model, bundle.model.config
    enc = encode(bundle, text)
    ids, types = torch.tensor([enc.input_ids]), torch.tensor([enc.token_type_ids])
    emb = m.bert.embeddings
    h = emb.word_embeddings(ids) + emb.position_embeddings(torch.arange(ids.shape[1]))[None] + emb.token_type_embeddings(types)
    h = emb.LayerNorm(h)  # (1, T, D)
    n, d = cfg.num_attention_heads, cfg.hidden_size // cfg.num_attention_heads
    for i, layer in enumerate(m.bert.encoder.layer):
        sa = layer.attention.self
        q, k, v = (f(h).view(1, -1, n, d).transpose(1, 2) for f in (sa.query, sa.key, sa.value))  # (1, H, T, d)
        att = (q @ k.transpose(-1, -2) / math.sqrt(d)).softmax(-1)  # (1, H, T, T)
        ctx = (att @ v).transpose(1, 2)  # (1, T, H, d)
        ctx = ctx.clone()
        ctx[:, :, off.get(i, [])] = 0.0
        a = layer.attention.output.LayerNorm(layer.attention.output.dense(ctx.reshape(1, -1, n * d)) + h)
        f = layer.output.dense(torch.nn.functional.gelu(layer.intermediate.dense(a)))
        h = layer.output.LayerNorm(f + a)
    pos = enc.input_ids.index(bundle.tokenizer.mask_token_id)
    logits = m.cls.predictions.decoder(m.cls.predictions.transform(h[0, pos]))
    return logits.softmax(-1)


@torch.inference_mode()
def test_zero_ablation_equals_a_hand_written_forward_pass(tiny):
    res = interventions.ablate(tiny, TEXT, heads="0.1,1.3")
    mine = {p.token: p.probability for p in res.after.masks[0].predictions}
    ref = manual_mlm_probs(tiny, TEXT, {0: [1], 1: [3]})
    for token, p in mine.items():
        assert p == pytest.approx(float(ref[tiny.tokenizer.convert_tokens_to_ids(token)]), abs=1e-5)
    base = manual_mlm_probs(tiny, TEXT, {})
    first = res.before.masks[0].predictions[0]
    assert first.probability == pytest.approx(float(base[tiny.tokenizer.convert_tokens_to_ids(first.token)]), abs=1e-5)


def test_hooks_leave_nothing_and_never_touch_another_threads_forward_pass(tiny):
    """While one call switches every head off, a forward pass in another thread gets the model's own answer; after
    the call no hook is left on the shared model."""
    base = fill(tiny, TEXT, 3).to_dict()
    hooks_before = sum(len(m._forward_hooks) + len(m._forward_pre_hooks) for m in tiny.model.modules())  # the library's own
    inside, done = threading.Event(), threading.Event()
    seen = {}

    def other():
        inside.wait(10)
        seen["out"] = fill(tiny, TEXT, 3).to_dict()
        done.set()

    t = threading.Thread(target=other)
    t.start()
    every = {i: list(range(tiny.info.heads)) for i in range(tiny.info.layers)}
    with hooks.intervening(tiny, hooks.Edits(heads_off=every)):
        changed = fill(tiny, TEXT, 3).to_dict()
        inside.set()
        done.wait(10)
    t.join()
    assert seen["out"] == base and changed != base
    assert sum(len(m._forward_hooks) + len(m._forward_pre_hooks) for m in tiny.model.modules()) == hooks_before


def test_mean_ablation_uses_each_heads_mean_context(tiny):
    means = interventions.mean_context(tiny)
    assert means.shape == (tiny.info.layers, tiny.info.heads, tiny.info.hidden_size // tiny.info.heads)
    zero = interventions.ablate(tiny, TEXT, heads="0.0", mode="zero").after.to_dict()
    mean = interventions.ablate(tiny, TEXT, heads="0.0", mode="mean").after.to_dict()
    assert zero != mean


@torch.inference_mode()
def test_patching_definitions(tiny):
    """Patching every position of the embedding output restores the clean run exactly; patching nothing leaves the
    corrupted one; the last layer's state at the mask decides the answer alone."""
    clean, corrupted = "The capital of France is [MASK].", "The capital of Italy is [MASK]."
    res = interventions.patch(tiny, clean, corrupted)
    t = len(res.tokens)
    assert res.grid.shape == (tiny.info.layers + 1, t) and res.blocks["attention"].shape == (tiny.info.layers, t)
    a, b = encode(tiny, clean), encode(tiny, corrupted)
    pos = b.input_ids.index(tiny.tokenizer.mask_token_id)
    answer = tiny.tokenizer.convert_tokens_to_ids(res.answer)
    rec = hooks.Edits(record={"embeddings"})
    with hooks.intervening(tiny, rec):
        interventions._answer_probability(tiny, a.tensors(), pos, answer)
    every = hooks.Edits(patches={("embeddings", 0): (torch.zeros(t, dtype=torch.long), torch.arange(t),
                                                     rec.recorded[("embeddings", 0)][0])})
    with hooks.intervening(tiny, every):
        restored = float(interventions._answer_probability(tiny, b.tensors(), pos, answer)[0])
    assert restored == pytest.approx(res.clean_probability, abs=1e-6)
    with hooks.intervening(tiny, hooks.Edits()):
        assert float(interventions._answer_probability(tiny, b.tensors(), pos, answer)[0]) == pytest.approx(
            res.corrupted_probability, abs=1e-6)
    assert res.grid[-1, pos] == pytest.approx(res.clean_probability, abs=1e-5)


def test_patching_refuses_inputs_of_different_lengths(tiny):
    with pytest.raises(PlaygroundError, match="same number of tokens"):
        interventions.patch(tiny, "The capital of France is [MASK].", "The big capital city of Italy is [MASK].")
    with pytest.raises(PlaygroundError, match="same position"):
        interventions.patch(tiny, "The capital of France is [MASK].", "The capital of Italy is here.")


def test_importance_matches_finite_differences(tiny):
    """dL/dxi from autograd against (L(1 + e) - L(1 - e)) / 2e for a few heads, on one masked batch."""
    batches = importance.masked_batches(tiny, ["The cat sat on the mat today.", "Paris is a large city in France.",
                                               "She opened the window and the cold air came in."], seed=1)[:1]
    batch, labels = batches[0]
    n_layers, n_heads = tiny.info.layers, tiny.info.heads

    def loss(gates):
        with torch.inference_mode(), hooks.intervening(tiny, hooks.Edits(gates=gates)):
            return float(importance._loss_and_hits(tiny, batch, labels)[0])

    gates = torch.ones(n_layers, n_heads, requires_grad=True)
    with torch.enable_grad(), hooks.intervening(tiny, hooks.Edits(gates=gates)):
        (grad,) = torch.autograd.grad(importance._loss_and_hits(tiny, batch, labels)[0], gates)
    eps = 0.05  # float32 losses: a step large enough to rise above their rounding, small enough to stay linear
    strongest = torch.topk(grad.abs().flatten(), 3).indices.tolist()
    for layer, head in (divmod(i, n_heads) for i in strongest):
        up, down = torch.ones(n_layers, n_heads), torch.ones(n_layers, n_heads)
        up[layer, head] += eps
        down[layer, head] -= eps
        assert float(grad[layer, head]) == pytest.approx((loss(up) - loss(down)) / (2 * eps), rel=0.05, abs=2e-5)
    assert all(p.grad is None for p in tiny.model.parameters())  # the shared model's weights got no gradient


def test_importance_and_the_pruning_curve(tiny):
    events = list(importance.importance(tiny, importance.reference_sentences()[:20], steps=2))
    res = events[-1]
    assert isinstance(res, importance.Importance) and res.scores.shape == (tiny.info.layers, tiny.info.heads)
    assert (res.scores >= 0).all() and res.ranked()[0] == tuple(int(v) for v in divmod(int(res.scores.argmax()), tiny.info.heads))
    orders = {(r["order"], r.get("seed")) for r in res.pruning}
    assert orders == {("importance", None), ("random", 0), ("random", 1), ("random", 2)}
    none_off = [r["mlm_accuracy"] for r in res.pruning if r["pruned"] == 0]
    assert len(set(none_off)) == 1  # with no head off every order scores the same masks the same


def test_pruning_switches_off_the_least_important_heads_first(tiny, monkeypatch):
    """Michel et al.'s order: the heads off at each point of the 'importance' curve are the k least important."""
    seen = []
    real = importance.mlm_accuracy
    monkeypatch.setattr(importance, "mlm_accuracy", lambda b, batches, off=(): seen.append(list(off)) or real(b, batches, off))
    res = list(importance.importance(tiny, importance.reference_sentences()[:10], steps=3))[-1]
    ranked = res.ranked()
    counts = sorted({r["pruned"] for r in res.pruning})
    assert [set(off) for off in seen[:len(counts)]] == [set(ranked[::-1][:k]) for k in counts]
    assert ranked[0] not in seen[len(counts) - 1]  # the most important head is the one left on


def test_logit_lens_ends_with_the_models_own_answer(tiny):
    lens = interventions.logit_lens(tiny, TEXT, 3)
    last = lens.masks[0]["layers"][-1]
    assert len(lens.masks[0]["layers"]) == tiny.info.layers + 1
    assert last["answer_rank"] == 1 and last["top"][0][0] == fill(tiny, TEXT, 1).masks[0].predictions[0].token
    assert last["top"][0][1] == pytest.approx(fill(tiny, TEXT, 1).masks[0].predictions[0].probability, abs=1e-5)


def test_albert_is_refused_with_the_reason(family_bundles):
    with pytest.raises(PlaygroundError, match="one set of layer weights"):
        interventions.ablate(family_bundles["albert"], "The capital of France is [MASK].", heads="0.0")


@pytest.mark.parametrize("argv, message", [
    (["ablate", TEXT, "--heads", "9.9"], "does not exist"),
    (["ablate", TEXT, "--heads", ",".join(f"0.{i}" for i in range(500))], "at most"),
    (["ablate", "No mask here.", "--heads", "0.0"], "Put a [MASK]"),
    (["patch", TEXT, "A much longer text about Italy is [MASK]."], "same number of tokens"),
    (["lens", "No mask here."], "at least one [MASK]"),
])
def test_cli_bad_input_is_one_line_and_exit_2(tiny_dir, capsys, argv, message):
    assert cli.main([*argv, "--model", str(tiny_dir), "--json"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and message in err and "\n" not in err


def test_cli_json(tiny_dir, capsys):
    assert cli.main(["ablate", TEXT, "--heads", "0.1", "--model", str(tiny_dir), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["heads"] == [[0, 1]] and out["before"]["masks"] and out["after"]["masks"]
    assert cli.main(["lens", TEXT, "--model", str(tiny_dir), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["masks"][0]["layers"][-1]["answer_rank"] == 1


def test_lens_without_an_mlm_head_is_refused(encoder_only_dir, capsys):
    assert cli.main(["lens", TEXT, "--model", str(encoder_only_dir)]) == 2
    assert "no masked-LM head" in capsys.readouterr().err
