"""The one encoding path (text.py) and the shared training core (training.py), against independent references."""
import threading

import pytest
import torch

from bert_playground import PlaygroundError
from bert_playground import finetune as F
from bert_playground.core import training
from bert_playground.inputs import text
from bert_playground.pretraining import pretrain
from playground_ui.views import finetune as view

TEXTS = ["hello world", "a much longer sentence " * 20, "x", "Unbelievable tokenization!"]
SECOND = ["second", "b " * 50, "a longer second sentence " * 10, "yes"]


@pytest.mark.parametrize("pairs", [None, SECOND])
@pytest.mark.parametrize("limit", [8, 16, 64, 512])
def test_encode_batch_matches_the_tokenizers_own_truncation_and_padding(tokenizer, pairs, limit):
    ref = tokenizer(TEXTS, pairs, truncation=True, max_length=limit, padding=True, return_tensors="pt")
    got = text.encode_batch(tokenizer, TEXTS, pairs, limit)
    for k in ("input_ids", "token_type_ids", "attention_mask"):
        assert torch.equal(got[k], ref[k]), k


def test_encode_batch_never_sets_truncation_on_the_shared_tokenizer(tokenizer):
    text.encode_batch(tokenizer, TEXTS, None, 8)
    assert tokenizer._tokenizer.truncation is None  # the shared one stays untouched (a private copy truncates)


def test_single_text_truncation_rules_agree(tokenizer):
    long = "word " * 40
    enc = text.encode_ids(tokenizer, long, None, 16)
    cut, truncated = text.truncate_ids(text.token_ids(tokenizer, [long], specials=True)[0], 16, tokenizer.sep_token_id)
    assert enc.input_ids == cut and enc.truncated and truncated and len(cut) == 16 and cut[-1] == tokenizer.sep_token_id


def test_pad_batch_layout():
    b = text.pad_batch([[5, 6, 7], [8]], [[0, 1, 1], [0]], pad_id=9, length=4)
    assert b["input_ids"].tolist() == [[5, 6, 7, 9], [8, 9, 9, 9]]
    assert b["token_type_ids"].tolist() == [[0, 1, 1, 0], [0, 0, 0, 0]]
    assert b["attention_mask"].tolist() == [[1, 1, 1, 0], [1, 0, 0, 0]]


@pytest.mark.parametrize("bad", ["\u200b", " \u200b\u200d\ufeff ", "\u200e"])
def test_zero_width_only_text_counts_as_empty(bad):
    with pytest.raises(PlaygroundError, match="is empty"):
        text.clean_text(bad)
    assert text.clean_text("a\u200db") == "a\u200db"  # joiners inside text stay (emoji sequences need them)


def test_one_bf16_rule():
    cpu, cuda = torch.device("cpu"), torch.device("cuda")
    assert not training.uses_bf16(cpu) and training.uses_bf16(cuda) and training.uses_bf16(cpu, "bf16")
    assert not training.uses_bf16(cuda, "fp32")


def test_param_groups_decay_matrices_only():
    model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.LayerNorm(4))
    model[1].weight.requires_grad_(False)
    groups = training.param_groups(model.parameters(), 0.01)
    assert [g["weight_decay"] for g in groups] == [0.01, 0.0]
    assert groups[0]["params"] == [model[0].weight] and groups[1]["params"] == [model[0].bias, model[1].bias]


def test_running_mean_reads_the_mean_and_resets():
    m = training.RunningMean(2, torch.device("cpu"))
    for a, b in [(1.0, 4.0), (3.0, 8.0)]:
        m.add(torch.tensor(a), torch.tensor(b))
    assert m.read() == [2.0, 6.0] and m.read() == [0.0, 0.0]


def test_every_mode_has_a_head():
    assert set(F.MODES) == set(F.HEADS) and set(view.MODE_LABELS) == set(F.MODES)


def test_snapshot_leaves_the_run_state_alone(tmp_path, monkeypatch):
    saved = []
    monkeypatch.setattr(pretrain, "save_checkpoint", lambda m, t, out, snap, cfg: saved.append(snap))
    state = pretrain.TrainState(step=7, epoch=1, tokens_seen=100, elapsed=5.0, history=[{"step": 5}])
    from bert_playground.pretraining.distributed import World

    run = pretrain._Run(pretrain.PretrainConfig(corpus="c", out=str(tmp_path)), torch.device("cpu"), tmp_path, None,
                        None, state, [], None, None, [], None, 7, World(0, 1, 0, torch.device("cpu")), None,
                        tokens=torch.tensor(20))
    snap = pretrain._snapshot(run, 2, 3.0, final={"mlm_accuracy": 0.5, "nsp_accuracy": 0.75})
    assert (state.step, state.epoch, state.tokens_seen, state.elapsed, state.history) == (7, 1, 100, 5.0, [{"step": 5}])
    assert (snap.epoch, snap.tokens_seen, snap.elapsed) == (2, 120, 8.0) and saved == [snap]
    assert snap.history[-1]["eval_nsp_accuracy"] == 0.75 and len(snap.history) == 2
