"""Attribution for one prediction: IG's completeness and convergence, gradient x input by hand, LIG agreement,
attention and rollout against the model's maps, the deletion test, and bad input."""
import copy

import numpy as np
import pytest
import torch

from bert_playground import PlaygroundError, load
from bert_playground.checkpoints.models import forward
from bert_playground.finetune.classifier import Classifier
from bert_playground.interpret import attribution as A
from bert_playground.objectives.mlm import fill
from bert_playground.objectives.nsp import score_text

from conftest import vocab_file

TEXT = "the cat sat on the [MASK] and looked at the dog ."
PAIR = ("the cat sat on the mat .", "it looked at the dog .")


@pytest.fixture(scope="module")
def sharp(tmp_path_factory):
    """A tiny random BERT with large initial weights: its functions bend enough for IG's steps to matter."""
    from transformers import AutoTokenizer, BertConfig, BertForPreTraining

    folder = tmp_path_factory.mktemp("ckpt") / "sharp"
    torch.manual_seed(0)
    tok = AutoTokenizer.from_pretrained(str(vocab_file().parent), local_files_only=True)
    cfg = BertConfig(vocab_size=len(tok), hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                     intermediate_size=128, initializer_range=0.2)
    BertForPreTraining(cfg).eval().save_pretrained(str(folder))
    tok.save_pretrained(str(folder))
    return load(str(folder), "cpu")


def _full_prob(bundle, ids, target):
    """f by the plain model: BertForPreTraining's own heads on the whole input."""
    ids = torch.tensor([ids])
    batch = {"input_ids": ids, "token_type_ids": torch.tensor([target.token_type_ids]), "attention_mask": torch.ones_like(ids)}
    out = forward(bundle, batch)
    if target.kind == "mask":
        return float(out.mlm_logits[0, target.position].softmax(-1)[target.index])
    return float(out.nsp_logits[0].softmax(-1)[target.index])


def test_targets_match_fill_and_nsp(tiny):
    t = A.mask_target(tiny, TEXT)
    top = fill(tiny, TEXT, 1).masks[0]
    assert (t.position, t.prediction) == (top.position, top.predictions[0].token)
    assert t.probability == pytest.approx(top.predictions[0].probability, abs=1e-6)
    assert [t.tokens[i] for i in t.fixed] == ["[CLS]", "[MASK]", "[SEP]"]
    n = A.nsp_target(tiny, *PAIR)
    s = score_text(tiny, *PAIR)
    assert n.prediction == s.prediction and n.probability == pytest.approx(max(s.is_next_probability,
                                                                               1 - s.is_next_probability), abs=1e-6)
    assert n.position == 0 and set(n.fixed) == {0, n.token_type_ids.index(1) - 1, len(n) - 1}


@pytest.mark.parametrize("kind", ["mask", "nsp"])
@pytest.mark.parametrize("baseline", A.BASELINES)
def test_ig_completeness_within_delta(sharp, kind, baseline):
    t = A.mask_target(sharp, TEXT) if kind == "mask" else A.nsp_target(sharp, *PAIR)
    ig = A.integrated_gradients(t, baseline, 16)
    fx = _full_prob(sharp, t.input_ids, t)
    assert fx == pytest.approx(t.probability, abs=1e-6)
    if baseline in ("mask", "pad"):  # the baseline is an input: check f(baseline) on it
        tid = t.mask_id if baseline == "mask" else t.pad_id
        ids = [tid if i in t.candidates else v for i, v in enumerate(t.input_ids)]
        assert _full_prob(sharp, ids, t) == pytest.approx(ig.baseline_probability, abs=1e-6)
    total = float(ig.scores.sum())
    assert abs(total - (fx - ig.baseline_probability)) <= abs(ig.delta) + 1e-6
    assert all(ig.scores[i] == 0 for i in t.fixed)  # kept in the baseline: no path, no attribution


def test_ig_delta_shrinks_with_steps(sharp):
    t = A.nsp_target(sharp, *PAIR)
    d = {s: abs(A.integrated_gradients(t, "mask", s).delta) for s in (1, 4, 64)}
    assert d[1] > d[4] > d[64]
    assert d[1] > 1e-4 and d[64] < 1e-5


def test_grad_x_input_is_the_autograd_result(sharp):
    t = A.mask_target(sharp, TEXT)
    model = sharp.model
    emb = model.bert.embeddings.word_embeddings(torch.tensor([t.input_ids])).detach().requires_grad_(True)
    logits = model(inputs_embeds=emb, token_type_ids=torch.tensor([t.token_type_ids])).prediction_logits
    p = logits[0, t.position].softmax(-1)[t.index]
    (grad,) = torch.autograd.grad(p, emb)
    expected = (grad * emb).sum(-1)[0].detach().numpy()
    assert A.grad_x_input(t) == pytest.approx(expected, abs=1e-7)
    assert np.abs(expected).max() > 1e-6  # not a trivially zero comparison


def test_ig_equals_captum_layer_integrated_gradients(sharp):
    """Our IG over the token embeddings is LayerIntegratedGradients on the word-embedding layer (on a copy)."""
    from captum.attr import LayerIntegratedGradients

    t = A.mask_target(sharp, TEXT)
    model = copy.deepcopy(sharp.model)
    types = torch.tensor([t.token_type_ids])

    def f(ids):
        out = model(input_ids=ids, token_type_ids=types.expand(ids.shape[0], -1)).prediction_logits
        return out[:, t.position].softmax(-1)[:, t.index]

    base = torch.tensor([[t.pad_id if i in t.candidates else v for i, v in enumerate(t.input_ids)]])
    lig = LayerIntegratedGradients(f, model.bert.embeddings.word_embeddings)
    attr = lig.attribute(torch.tensor([t.input_ids]), baselines=base, n_steps=16).sum(-1)[0].detach().numpy()
    assert A.integrated_gradients(t, "pad", 16).scores == pytest.approx(attr, abs=1e-6)


def test_attention_and_rollout_scores(tiny):
    t = A.mask_target(tiny, TEXT)
    enc = {"input_ids": torch.tensor([t.input_ids]), "token_type_ids": torch.tensor([t.token_type_ids]),
           "attention_mask": torch.ones(1, len(t), dtype=torch.long)}
    maps = torch.stack([a[0] for a in forward(tiny, enc, attentions=True).attentions]).numpy()  # (L, H, T, T)
    att = A.attentions(t)
    assert att == pytest.approx(maps, abs=1e-7)
    assert A.attention_scores(att, t.position) == pytest.approx(maps[-1, :, t.position].mean(0), abs=1e-7)
    assert A.attention_scores(att, t.position, 0, 2) == pytest.approx(maps[0, 2, t.position], abs=1e-7)
    # rollout by the reference formula: A~ = (mean over heads + I), rows normalised; R = A~_L ... A~_1
    r = np.eye(len(t))
    for layer in maps.astype(np.float64):
        a = layer.mean(0) + np.eye(len(t))
        r = (a / a.sum(-1, keepdims=True)) @ r
    assert A.rollout_scores(att, t.position) == pytest.approx(r[t.position], abs=1e-6)
    with pytest.raises(PlaygroundError, match="Layer 9"):
        A.attention_scores(att, 0, 8)
    with pytest.raises(PlaygroundError, match="Head 5"):
        A.attention_scores(att, 0, 0, 4)


def test_deletion_curves_are_the_model_on_masked_inputs(sharp):
    t = A.mask_target(sharp, TEXT)
    e = A.explain(t, steps=8, k_max=4, orderings=5)
    d = e.deletion
    assert d.k == [1, 2, 3, 4] and set(d.curves) == set(A.DELETION_METHODS) and d.orderings == 5
    for m in A.DELETION_METHODS:
        order = A.ranking(e.scores[m], t.candidates)
        assert t.position not in order[:4] and 0 not in order
        for k in (1, 4):
            ids = list(t.input_ids)
            for i in order[:k]:
                ids[i] = t.mask_id
            assert d.curves[m][k - 1] == pytest.approx(_full_prob(sharp, ids, t), abs=1e-6)
        assert d.areas[m] == pytest.approx(np.trapezoid([t.probability] + d.curves[m]) / 4, abs=1e-9)
    assert all(lo <= mu + 1e-9 and mu <= hi + 1e-9 for lo, mu, hi in zip(d.random_low, d.random_mean, d.random_high))
    j = e.to_dict()
    assert list(j) == ["target", "prediction", "probability", "tokens", "scores", "ig_delta", "deletion"]
    assert list(j["scores"]) == ["attention", "rollout", "grad_x_input", "integrated_gradients"]
    assert list(j["deletion"]) == ["k", "attention", "rollout", "integrated_gradients", "random"]
    assert all(len(v) == len(t) for v in j["scores"].values())


def test_random_orderings_are_seeded(tiny):
    t = A.mask_target(tiny, TEXT)
    a = A.deletion_test(t, {}, 3, 4, seed=1)
    b = A.deletion_test(t, {}, 3, 4, seed=1)
    assert a.random_mean == b.random_mean and a.curves == {}


def test_label_target_of_a_finetuned_classifier(tiny):
    from bert_playground.finetune import build_classifier

    model = build_classifier(tiny, ["neg", "pos"], device="cpu").eval()
    clf = Classifier("bert", model, tiny.tokenizer, ("neg", "pos"), torch.device("cpu"))
    t = A.label_target(clf, "a truly wonderful film")
    probs = clf.probabilities(["a truly wonderful film"])[0]
    assert t.prediction == ("neg", "pos")[int(probs.argmax())]
    assert t.probability == pytest.approx(float(probs.max()), abs=1e-5)
    e = A.explain(t, steps=4, k_max=2, orderings=2)
    assert e.scores["attention"].shape == (len(t),) and abs(e.scores["attention"].sum() - 1) < 1e-5
    assert model.config._attn_implementation == "sdpa"  # the classifier itself was not changed
    baseline = Classifier("baseline", model, None, ("neg", "pos"), torch.device("cpu"))
    with pytest.raises(PlaygroundError, match="bag-of-words"):
        A.label_target(baseline, "text")


def test_bad_input(tiny):
    with pytest.raises(PlaygroundError, match=r"no \[MASK\]"):
        A.mask_target(tiny, "no mask here")
    with pytest.raises(PlaygroundError, match="Every token"):
        A.mask_target(tiny, "[MASK] [MASK] [MASK]")
    with pytest.raises(PlaygroundError, match="mask number 3"):
        A.mask_target(tiny, TEXT, mask=2)
    t = A.mask_target(tiny, TEXT)
    for steps in (0, A.MAX_STEPS + 1, 2.5, "8", True):
        with pytest.raises(PlaygroundError, match="IG steps"):
            A.integrated_gradients(t, steps=steps)
    with pytest.raises(PlaygroundError, match="Unknown baseline"):
        A.explain(t, baseline="noise")
    with pytest.raises(PlaygroundError, match="K must be"):
        A.deletion_test(t, {}, 0)


def test_200_steps_run_with_progress(tiny):
    t = A.mask_target(tiny, TEXT)
    seen = []
    ig = A.integrated_gradients(t, steps=200, on_progress=seen.append)
    assert len(seen) >= 3 and seen == sorted(seen) and seen[-1] == 1.0
    assert abs(ig.delta) < 1e-5


def test_a_512_token_input_is_bounded(tiny):
    long = " ".join(["word"] * 600) + " [MASK] ."
    with pytest.raises(PlaygroundError, match=r"no \[MASK\] anywhere in the first 512"):
        A.mask_target(tiny, long)
    t = A.mask_target(tiny, "[MASK] " + " ".join(["word"] * 600))
    assert len(t) == 512 and t.notices and t.notices[0].level == "warning"
    with pytest.raises(PlaygroundError, match=f"at most {A.MAX_WORK // 512} steps"):
        A.integrated_gradients(t, steps=200)
    ig = A.integrated_gradients(t, steps=2)  # within the budget: it runs
    assert ig.scores.shape == (512,)


def test_a_large_delta_is_flagged(sharp):
    t = A.nsp_target(sharp, *PAIR)
    rough = A.explain(t, "pad", 1, k_max=2, orderings=2)
    assert abs(rough.ig.delta) > max(A.DELTA_WARN * abs(rough.change), 1e-3)
    assert rough.delta_large and rough.notices[-1].level == "warning" and "raise the steps" in rough.notices[-1]
    fine = A.explain(t, "pad", 64, k_max=2, orderings=2, ig=None)
    assert not fine.delta_large and fine.notices == ()
    with pytest.raises(PlaygroundError, match="other settings"):
        A.explain(t, "mask", 64, ig=fine.ig)
