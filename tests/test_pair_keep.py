"""`pretrain --pair-keep`: the NSP head pulled towards the starting checkpoint's answers (learning without forgetting).

Checked against a plain transformers forward pass and a hand-written KL, and by what a run does to the head."""
import math

import pytest
import torch
from transformers import BertForPreTraining

from bert_playground import PlaygroundError
from bert_playground.cli import build_parser
from bert_playground.objectives import masking
from bert_playground.pretraining import pretrain
from bert_playground.pretraining.model import PretrainLoss, losses, pair_keep_loss
from test_pretrain import write_corpus


def _batch(tokenizer, n=6, width=24, seed=0):
    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(2000, 8000, (n, width), generator=g)
    ids[:, 0], ids[:, width // 2], ids[:, -1] = tokenizer.cls_token_id, tokenizer.sep_token_id, tokenizer.sep_token_id
    types = torch.zeros_like(ids)
    types[:, width // 2 + 1:] = 1
    return {"input_ids": ids, "token_type_ids": types, "attention_mask": torch.ones_like(ids)}


def _model(tiny_dir) -> BertForPreTraining:
    return BertForPreTraining.from_pretrained(str(tiny_dir), attn_implementation="eager").eval()


def test_keep_loss_is_the_kl_from_the_start_to_now():
    now, start = torch.tensor([[0.3, -1.2], [2.0, 0.5]]), torch.tensor([[1.0, 0.0], [-0.5, 0.5]])
    p, q = start.softmax(-1), now.softmax(-1)
    by_hand = sum(float((p[i] * (p[i] / q[i]).log()).sum()) for i in range(2)) / 2
    assert float(pair_keep_loss(now, start)) == pytest.approx(by_hand, rel=1e-6)
    assert float(pair_keep_loss(start, start)) == pytest.approx(0.0, abs=1e-7) and by_hand > 0.05


def test_losses_score_the_keep_term_on_the_pair_heads_of_a_plain_forward(tiny_dir, tokenizer):
    model, start = _model(tiny_dir), _model(tiny_dir)
    with torch.no_grad():
        start.cls.seq_relationship.bias += torch.tensor([1.5, -1.5])  # a start that answers otherwise
    batch, labels = _batch(tokenizer), torch.full((6, 24), masking.IGNORE)
    labels[:, 3] = 2023
    next_label = torch.tensor([0, 1, 0, 1, 0, 1])
    *_, keep = losses(model, batch, labels, next_label, start)
    with torch.no_grad():
        plain_now, plain_start = model(**batch).seq_relationship_logits, start(**batch).seq_relationship_logits
    assert float(keep.detach()) == pytest.approx(float(pair_keep_loss(plain_now, plain_start)), rel=1e-5) and float(keep.detach()) > 0.01
    *_, same = losses(model, batch, labels, next_label, _model(tiny_dir))
    assert float(same.detach()) == pytest.approx(0.0, abs=1e-6)
    assert float(losses(model, batch, labels, next_label)[-1].detach()) == 0.0  # no teacher: nothing to keep
    keep.backward()
    assert model.cls.seq_relationship.weight.grad.abs().sum() > 0
    assert all(p.grad is None for p in start.parameters())  # the start is read, never trained


def test_the_start_is_not_a_parameter_of_the_loss_module(tiny_dir):
    model, start = _model(tiny_dir), _model(tiny_dir)
    assert len(list(PretrainLoss(model, start).parameters())) == len(list(model.parameters()))


def _continue(start_dir, tmp_path, name, keep):
    cfg = pretrain.PretrainConfig(corpus=str(tmp_path / "wiki.xz"), out=str(tmp_path / name), init=str(start_dir),
                                  eval_docs=8, eval_pairs=32, seq_len=48, batch_size=8, lr=3e-3, warmup_steps=2,
                                  max_steps=30, log_every=10, eval_every=30, device="cpu", save_dtype="float32",
                                  pair_keep=keep, sentence_pair_prob=0.5)
    torch.manual_seed(0)
    result = pretrain.pretrain(cfg)
    return BertForPreTraining.from_pretrained(str(tmp_path / name)).eval(), result


def test_a_run_with_pair_keep_stays_near_the_starting_head_and_still_learns_mlm(tiny_dir, tokenizer, tmp_path):
    """The same 30 steps from the same start, whose pair head leans to IsNext: without keep, the 50/50 labels pull
    the head away from the start's answers; with a large keep weight it stays many times closer, while MLM trains."""
    write_corpus(tmp_path / "wiki.xz", n_docs=40)
    start = _model(tiny_dir)
    with torch.no_grad():
        start.cls.seq_relationship.bias += torch.tensor([2.0, -2.0])
    start.save_pretrained(str(tmp_path / "start"), safe_serialization=True)
    tokenizer.save_pretrained(str(tmp_path / "start"))
    saved = {k: v.clone() for k, v in start.state_dict().items()}
    free, r_free = _continue(tmp_path / "start", tmp_path, "free", 0.0)
    kept, r_kept = _continue(tmp_path / "start", tmp_path, "kept", 50.0)
    batch = _batch(tokenizer, n=32, width=40, seed=1)
    with torch.no_grad():
        s = start(**batch).seq_relationship_logits
        drift = {k: float(pair_keep_loss(m(**batch).seq_relationship_logits, s)) for k, m in (("free", free), ("kept", kept))}
    assert drift["free"] > 0.05 and drift["kept"] < drift["free"] / 5, drift
    assert r_kept["recipe"]["pair_keep"] == 50.0 and r_free["recipe"]["pair_keep"] == 0.0
    assert math.isfinite(r_kept["eval_mlm_loss"]) and r_kept["eval_mlm_loss"] < math.log(len(tokenizer))
    # the start checkpoint on disk is untouched: the runs trained copies
    reread = BertForPreTraining.from_pretrained(str(tmp_path / "start")).state_dict()
    assert all(torch.equal(reread[k], v) for k, v in saved.items())


@pytest.mark.parametrize("change,message", [
    (dict(pair_keep=-1.0), "pair_keep must be a weight >= 0"), (dict(pair_keep=float("nan")), "pair_keep must be"),
    (dict(pair_keep=1.0, init="minilm"), "needs the NSP pair task and --init a checkpoint folder"),
    (dict(pair_keep=1.0, init="scratch"), "--init a checkpoint folder"),
    (dict(pair_keep=1.0, init="runs/x", pair_task="sop"), "needs the NSP pair task")])
def test_bad_keep_settings_are_clear_errors(change, message):
    with pytest.raises(PlaygroundError, match=message):
        pretrain.PretrainConfig(corpus="c", out="o", **change)


def test_the_cli_option_reaches_the_config_and_the_recipe():
    args = build_parser().parse_args(["pretrain", "--corpus", "c", "--out", "o", "--init", "runs/x", "--pair-keep", "2"])
    assert args.pair_keep == 2.0
    assert pretrain.PretrainConfig(corpus="c", out="o", init="runs/x", pair_keep=2.0).recipe()["pair_keep"] == 2.0
    assert pretrain.PretrainConfig(corpus="c", out="o").pair_keep == 0.0  # off by default: BERT's recipe
