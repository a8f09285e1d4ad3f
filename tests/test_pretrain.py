"""Pre-training: corpus reading, a tiny real run, and the shared masking/pair code path."""
import json
import lzma
import math
import random

import pytest
import torch

from bert_playground import PlaygroundError, load
from bert_playground.core import training
from bert_playground.inputs import corpus
from bert_playground.objectives import masking, pairs
from bert_playground.pretraining import pretrain

TOPICS = [
    ["The cat sat on the mat.", "It was warm in the sun.", "Then the cat slept for an hour.", "Later it ate some fish."],
    ["Paris is the capital of France.", "It lies on the river Seine.", "Millions of tourists visit it.", "The city has many museums."],
    ["Water boils at one hundred degrees.", "Ice melts at zero degrees.", "Steam is water as a gas.", "Clouds are made of droplets."],
    ["The team won the match.", "The fans sang all night.", "The coach praised the players.", "The next game is on Sunday."],
]


def write_corpus(path, n_docs=40, compress=True):
    lines = []
    for i in range(n_docs):
        sents = TOPICS[i % len(TOPICS)]
        lines += [f'<doc id="{i}" url="http://x?curid={i}" title="Doc {i}">', f"Doc {i}", "",
                  " ".join(sents[:2]), "History.", " ".join(sents[2:]), "</doc>"]
    text = "\n".join(lines) + "\n"
    if compress:
        with lzma.open(path, "wt", encoding="utf-8") as f:
            f.write(text)
    else:
        path.write_text(text)
    return path


def test_wikiextractor_reader_handles_xz_title_and_headings(tmp_path):
    xz = write_corpus(tmp_path / "wiki_00.xz", n_docs=3)
    plain = write_corpus(tmp_path / "wiki_01", n_docs=2, compress=False)
    docs = corpus.read_wikiextractor(str(xz))
    assert [d.title for d in docs] == ["Doc 0", "Doc 1", "Doc 2"]
    assert docs[0].sentences == TOPICS[0]  # title line and the heading "History." are dropped
    assert len(corpus.read_wikiextractor(f"{xz},{plain}")) == 5


def test_sentence_splitter_keeps_abbreviations():
    s = "Dr. Smith met J. R. R. Tolkien in the U.S. in 1950. They talked! Did it rain? Yes."
    assert corpus.split_sentences(s) == ["Dr. Smith met J. R. R. Tolkien in the U.S. in 1950.", "They talked!", "Did it rain?", "Yes."]


def test_missing_corpus_is_a_clear_error(tmp_path):
    with pytest.raises(PlaygroundError, match="No corpus file"):
        corpus.read_wikiextractor(str(tmp_path / "nothing*.xz"))


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    """A real (tiny) pre-training run, with the shared masking and pair functions spied on."""
    tmp = tmp_path_factory.mktemp("pretrain")
    write_corpus(tmp / "wiki.xz", n_docs=60)
    calls = {"mask_tokens": 0, "make_pairs": 0}
    real_mask, real_pairs = masking.mask_tokens, pairs.make_pairs

    def spy_mask(*a, **k):
        calls["mask_tokens"] += 1
        return real_mask(*a, **k)

    def spy_pairs(*a, **k):
        calls["make_pairs"] += 1
        return real_pairs(*a, **k)

    mp = pytest.MonkeyPatch()
    mp.setattr(masking, "mask_tokens", spy_mask)
    mp.setattr(pairs, "make_pairs", spy_pairs)
    cfg = pretrain.PretrainConfig(corpus=str(tmp / "wiki.xz"), out=str(tmp / "out"), init="scratch", preset="tiny",
                                  eval_docs=10, eval_pairs=64, seq_len=48, batch_size=8, lr=2e-3, warmup_steps=5,
                                  max_steps=80, log_every=10, eval_every=40, device="cpu", save_dtype="float16")
    torch.manual_seed(0)
    result = pretrain.pretrain(cfg)
    mp.undo()
    return tmp / "out", result, calls


def test_tiny_run_lowers_the_loss(tiny_run):
    out, result, _ = tiny_run
    rows = [r for r in json.loads(json.dumps(pretrain.load_state(out).history)) if r.get("mlm_loss") not in ("", None)]
    assert rows[-1]["mlm_loss"] < rows[0]["mlm_loss"] - 0.5
    assert result["steps"] == 80 and result["tokens_seen"] > 0
    # training throughput leaves the held-out evaluations (at steps 40 and 80, and the final one) out
    assert 0 < result["train_seconds"] <= result["run_seconds"]
    assert result["train_tokens_per_s"] > result["tokens_per_s"] > 0
    # held-out: the masked-token guesses beat a uniform guess over the vocabulary by far, in loss and accuracy
    vocab = load(str(out), "cpu").info.vocab_size
    assert result["eval_mlm_loss"] < math.log(vocab) - 2 and result["eval_mlm_accuracy"] > 50 / vocab
    # the accuracies are counts over the held-out draw, not free-floating numbers
    n = result["eval_eval_pairs"]
    assert result["eval_eval_masked"] > 0 and n > 0
    assert result["eval_nsp_accuracy"] * n == pytest.approx(round(result["eval_nsp_accuracy"] * n))


def test_checkpoint_reads_back_with_both_heads(tiny_run):
    out, _, _ = tiny_run
    assert (out / "model.safetensors").is_file() and (out / "training_log.csv").is_file()
    b = load(str(out), "cpu")
    assert b.info.has_mlm and b.info.has_nsp and b.info.dtype_on_disk in ("f16", "float16")
    assert all(p.dtype == torch.float32 for p in b.model.parameters())
    # the MLM decoder is tied to the word embeddings
    assert torch.equal(b.model.cls.predictions.decoder.weight, b.model.bert.embeddings.word_embeddings.weight)


def test_pretraining_uses_the_shared_masking_and_pair_code(tiny_run):
    _, result, calls = tiny_run
    assert calls["mask_tokens"] >= result["steps"]  # every training batch is corrupted by masking.mask_tokens
    assert calls["make_pairs"] >= 2  # training epochs and the held-out set come from pairs.make_pairs


def test_resume_continues_from_the_checkpoint(tiny_run, tmp_path):
    out, result, _ = tiny_run
    import shutil

    dst = tmp_path / "resumed"
    shutil.copytree(out, dst)
    cfg = pretrain.PretrainConfig(corpus=str(out.parent / "wiki.xz"), out=str(dst), init="scratch", preset="tiny",
                                  eval_docs=10, eval_pairs=32, seq_len=48, batch_size=8, lr=1e-3, warmup_steps=2,
                                  max_steps=5, log_every=5, eval_every=1000, device="cpu", precision="bf16")
    r2 = pretrain.pretrain(cfg, resume=True)  # also runs the bf16 autocast path on the CPU
    assert r2["steps"] == result["steps"] + 5 and r2["precision"] == "bf16"
    assert r2["tokens_seen"] > result["tokens_seen"]
    assert 0.0 <= r2["eval_mlm_accuracy"] <= 1.0


@pytest.mark.parametrize("device,precision,expected", [
    ("cpu", "auto", torch.float32), ("cpu", "fp32", torch.float32), ("cpu", "bf16", torch.bfloat16)])
def test_precision_picks_the_matmul_dtype(device, precision, expected):
    layer = torch.nn.Linear(4, 4)
    with training.autocast(torch.device(device), precision):
        y = layer(torch.ones(2, 4))
    assert y.dtype == expected and layer.weight.dtype == torch.float32  # weights stay float32


def test_unknown_precision_is_a_clear_error(tmp_path):
    with pytest.raises(PlaygroundError, match="precision must be one of auto, bf16, fp32"):
        pretrain.PretrainConfig(corpus=str(tmp_path / "none.xz"), out=str(tmp_path / "o"), precision="fp8", device="cpu")


@pytest.mark.parametrize("change,message", [
    ({"batch_size": 0}, "batch-size must be >= 1"), ({"seq_len": 7}, "seq-len between 8 and 512"),
    ({"seq_len": 513}, "seq-len between 8 and 512"), ({"lr": 0.0}, "--lr > 0"), ({"lr": float("nan")}, "--lr > 0"),
    ({"save_dtype": "int8"}, "save dtype must be one of float16, float32")])
def test_config_refuses_bad_settings(tmp_path, change, message):
    with pytest.raises(PlaygroundError, match=message):
        pretrain.PretrainConfig(corpus="c", out=str(tmp_path / "o"), **change)
    assert pretrain.PRECISIONS == ("auto", "bf16", "fp32") and pretrain.SAVE_DTYPES == ("float16", "float32")


def test_schedule_warms_up_then_decays_to_a_tenth():
    cfg = pretrain.PretrainConfig(corpus="c", out="o", lr=1.0, warmup_steps=10, max_steps=100)
    f = [pretrain.lr_factor(s, 0.0, cfg) for s in range(120)]
    assert f[0] == pytest.approx(0.1) and f[9] == pytest.approx(1.0) and f[10] == pytest.approx(0.91)
    assert all(a >= b for a, b in zip(f[10:], f[11:])) and f[100] == f[119] == pytest.approx(0.1)


def test_packed_pairs_have_bert_layout(tokenizer):
    docs = [[[1000 + i, 1001 + i] for i in range(5)], [[2000 + i] for i in range(4)]]
    packed = pretrain.pack_pairs(pairs.make_pairs(docs, random.Random(0), max_tokens=13), tokenizer, 16)
    for ids, seg, att in zip(packed.input_ids, packed.token_type_ids, packed.attention_mask):
        n = int(att.sum())
        assert ids[0] == tokenizer.cls_token_id and ids[n - 1] == tokenizer.sep_token_id
        first_sep = ids.tolist().index(tokenizer.sep_token_id)
        assert seg[: first_sep + 1].eq(0).all() and seg[first_sep + 1:n].eq(1).all()


def test_tiny_run_with_sentence_pairs_works_end_to_end(tmp_path):
    """The everyday-pairs setting: the run uses one-sentence pairs, trains, and saves a checkpoint that loads."""
    write_corpus(tmp_path / "wiki.xz", n_docs=40)
    seen = []
    real = pairs.make_pairs

    def spy(*a, **k):
        out = real(*a, **k)
        seen.extend(p.length for p in out)
        return out

    mp = pytest.MonkeyPatch()
    mp.setattr(pairs, "make_pairs", spy)
    cfg = pretrain.PretrainConfig(corpus=str(tmp_path / "wiki.xz"), out=str(tmp_path / "out"), init="scratch",
                                  preset="tiny", eval_docs=8, eval_pairs=32, seq_len=48, batch_size=8, lr=2e-3,
                                  warmup_steps=2, max_steps=12, log_every=4, eval_every=6, device="cpu",
                                  sentence_pair_prob=0.5)
    try:
        result = pretrain.pretrain(cfg)
    finally:
        mp.undo()
    assert result["steps"] == 12
    assert 0.3 * len(seen) < seen.count("sentence") < 0.7 * len(seen)
    bundle = load(str(tmp_path / "out"), "cpu")
    assert bundle.info.has_mlm and bundle.info.has_nsp


def test_sentence_pair_share_outside_0_1_is_refused(tmp_path):
    with pytest.raises(PlaygroundError, match="between 0 and 1"):
        pretrain.PretrainConfig(corpus="x", out=str(tmp_path), sentence_pair_prob=2.0)


def test_near_negative_share_reaches_the_epoch_pairs_and_the_recipe(tmp_path):
    """`near_negative_prob` goes from the config to the one pair builder: at 1.0 every NotNext pair of a corpus of
    long documents takes B from A's own document; it is a recipe knob; only the NSP task has NotNext pairs."""
    rng = random.Random(0)
    docs = [[[rng.randrange(1000, 2000) for _ in range(8)] for _ in range(15)] for _ in range(30)]
    ps = pretrain.epoch_pair_list(docs, 48, seed=0, epoch=0, near_negative_prob=1.0)
    not_next = [p for p in ps if not p.is_next]
    assert len(not_next) > 20 and all(p.b_doc == p.a_doc for p in not_next)
    assert all(p.b_doc != p.a_doc for p in pretrain.epoch_pair_list(docs, 48, seed=0, epoch=0) if not p.is_next)
    cfg = pretrain.PretrainConfig(corpus="x", out=str(tmp_path), near_negative_prob=0.3)
    assert cfg.recipe()["near_negative_prob"] == 0.3
    assert pretrain.PretrainConfig(corpus="x", out=str(tmp_path)).recipe()["near_negative_prob"] == 0.0
    with pytest.raises(PlaygroundError, match="only with the NSP pair task"):
        pretrain.PretrainConfig(corpus="x", out=str(tmp_path), near_negative_prob=0.3, pair_task="sop")
    with pytest.raises(PlaygroundError, match="between 0 and 1"):
        pretrain.PretrainConfig(corpus="x", out=str(tmp_path), near_negative_prob=-0.1)


def test_person_matched_share_reaches_the_epoch_pairs_and_the_recipe(tokenizer, tmp_path):
    """`person_matched_prob` goes from the config to the one pair builder with the vocabulary's ids for I, we, my...:
    at 1.0 every NotNext B starts in the person of A's real continuation; a recipe knob, NSP only."""
    from bert_playground.pretraining.data import first_person_ids

    ids = first_person_ids(tokenizer)
    assert ids == frozenset(tokenizer.convert_tokens_to_ids(list(pairs.FIRST_PERSON))) and len(ids) == 10
    texts = [[f"{who} walked to the {place} on day {k}." for k in range(6)]
             for who in ("we", "the man") for place in ("river", "market", "school", "station", "park", "harbour")]
    docs = [[tokenizer.convert_tokens_to_ids(tokenizer.tokenize(s)) for s in t] for t in texts]
    ps = pretrain.epoch_pair_list(docs, 48, seed=0, epoch=0, sentence_pair_prob=1.0, person_matched_prob=1.0,
                                  first_person_tokens=ids)
    not_next = [p for p in ps if not p.is_next]
    assert len(not_next) > 5 and all(p.person_matched for p in not_next)
    assert all(pairs.first_person(p.b, ids) == pairs.first_person(docs[p.a_doc][p.a_span[1]], ids) for p in not_next)
    packed = pretrain.epoch_pairs(docs, tokenizer, 48, 0, 0, sentence_pair_prob=1.0, person_matched_prob=1.0)
    assert packed.next_label.tolist() == [0 if p.is_next else 1 for p in ps]  # the same pairs, ids from the tokenizer
    cfg = pretrain.PretrainConfig(corpus="x", out=str(tmp_path), person_matched_prob=0.5)
    assert cfg.recipe()["person_matched_prob"] == 0.5
    with pytest.raises(PlaygroundError, match="only with the NSP pair task"):
        pretrain.PretrainConfig(corpus="x", out=str(tmp_path), person_matched_prob=0.5, pair_task="none")
    with pytest.raises(PlaygroundError, match="between 0 and 1"):
        pretrain.PretrainConfig(corpus="x", out=str(tmp_path), person_matched_prob=1.5)


def test_length_grouped_batches_cover_each_row_once_and_group_lengths():
    """Every row lands in exactly one batch, batches are full, and grouping makes batches much narrower than
    the plain order (the point of `group_by_length`): checked against the plain consecutive batches."""
    g = torch.Generator().manual_seed(0)
    lengths = torch.where(torch.rand(1000, generator=g) < 0.25, torch.randint(10, 40, (1000,), generator=g),
                          torch.randint(100, 129, (1000,), generator=g))
    batches = pretrain.length_grouped_batches(lengths, batch_size=16, seed=3, window=8)
    rows = torch.cat(batches)
    assert all(len(b) == 16 for b in batches) and len(batches) == 1000 // 16
    assert sorted(rows.tolist()) == list(range(1000 // 16 * 16))
    grouped = sum(int(lengths[b].max()) for b in batches)
    plain = sum(int(lengths[i:i + 16].max()) for i in range(0, 1000 // 16 * 16, 16))
    assert grouped < 0.9 * plain
    assert [b.tolist() for b in pretrain.length_grouped_batches(lengths, 16, seed=3, window=8)] == \
        [b.tolist() for b in batches]  # seeded


def test_tiny_run_grouped_by_length_trims_padding_and_counts_the_same_tokens(tmp_path):
    """With `group_by_length` each step sees its batch trimmed to its longest row; the run trains, counts every
    real token once per step (as the plain order does), and saves a checkpoint that loads."""
    write_corpus(tmp_path / "wiki.xz", n_docs=40)
    widths = []
    real = pretrain.corrupt

    def spy(batch, *a, **k):
        widths.append(batch["input_ids"].shape[1])
        return real(batch, *a, **k)

    mp = pytest.MonkeyPatch()
    mp.setattr(pretrain, "corrupt", spy)
    kw = dict(corpus=str(tmp_path / "wiki.xz"), init="scratch", preset="tiny", eval_docs=8, eval_pairs=32,
              seq_len=64, batch_size=4, lr=2e-3, warmup_steps=2, max_steps=10, log_every=5, eval_every=10,
              device="cpu", sentence_pair_prob=0.5)
    try:
        result = pretrain.pretrain(pretrain.PretrainConfig(out=str(tmp_path / "g"), group_by_length=True, **kw))
    finally:
        mp.undo()
    train_widths = widths[:10]  # then the held-out evaluations, at full width
    assert result["steps"] == 10
    assert min(train_widths) < 64 and max(train_widths) <= 64
    assert all(w % 16 == 0 for w in train_widths)  # a few shapes, rounded up to 16 (oneDNN builds one kernel per shape)
    assert math.isfinite(result["eval_mlm_loss"])
    assert load(str(tmp_path / "g"), "cpu").info.has_nsp


# ---- the recipe knobs (the Pre-training lab) --------------------------------------------------------------

def _lab_run(tmp_path, **kw):
    write_corpus(tmp_path / "wiki.xz", n_docs=40)
    base = dict(corpus=str(tmp_path / "wiki.xz"), out=str(tmp_path / "out"), init="scratch", preset="tiny", eval_docs=8,
                eval_pairs=32, seq_len=48, batch_size=8, lr=2e-3, warmup_steps=2, max_steps=8, log_every=4,
                eval_every=8, device="cpu")
    return pretrain.pretrain(pretrain.PretrainConfig(**{**base, **kw}))


def test_recipe_result_has_every_knob_the_baseline_and_snapshots(tmp_path):
    res = _lab_run(tmp_path, snapshot_every=4, probes=("The cat sat on the [MASK].",))
    assert res["recipe"]["mask_split"] == [0.8, 0.1, 0.1] and res["recipe"]["pair_task"] == "nsp"
    assert 0.0 <= res["unigram_baseline_accuracy"] <= 1.0
    assert [s["step"] for s in res["snapshots"]] == [0, 4, 8]
    assert all(len(s["probes"][0]["top"]) == 3 for s in res["snapshots"])


def test_static_masking_repeats_its_copies_and_dynamic_does_not(tokenizer):
    """Static with N copies: epoch e draws what epoch e mod N drew (pairs and masks); dynamic: new draws."""
    docs = [[tokenizer.convert_tokens_to_ids(tokenizer.tokenize(s)) for s in t] for t in TOPICS * 5]
    cfg = pretrain.PretrainConfig(corpus="c", out="o", static_masking=2)
    copy = [e % cfg.static_masking for e in range(4)]
    packed = [pretrain.epoch_pairs(docs, tokenizer, 48, 0, c) for c in copy]
    assert torch.equal(packed[0].input_ids, packed[2].input_ids) and not torch.equal(packed[0].input_ids, packed[1].input_ids)
    seeds = [masking.epoch_seed(0, c, dynamic=True) for c in copy]
    assert seeds[0] == seeds[2] != seeds[1]


def test_sop_pairs_are_consecutive_and_swapped_half_the_time(tokenizer):
    docs = [[[i * 100 + j] * 3 for j in range(8)] for i in range(60)]  # 60 documents of 8 'sentences'
    ps = pretrain.epoch_pair_list(docs, 48, seed=0, epoch=0, pair_task="sop")
    n = len(ps)
    swapped = sum(not p.is_next for p in ps)
    assert abs(swapped - n / 2) <= 3 * (n * 0.25) ** 0.5  # 3-sigma binomial band
    assert all(p.a_doc == p.b_doc for p in ps)  # both segments from the same document, in or out of order
    assert all(p.is_next == (p.a_span[1] <= p.b_span[0]) for p in ps)


def test_mask_split_and_rate_follow_their_definitions(tokenizer):
    """A 40% rate with an always-[MASK] split: chosen share and actions within 3-sigma binomial bands."""
    cfg = pretrain.PretrainConfig(corpus="c", out="o", mask_rate=0.4, mask_split=(1.0, 0.0, 0.0))
    ids = torch.randint(2000, 20000, (64, 64))
    batch = {"input_ids": ids, "attention_mask": torch.ones_like(ids), "token_type_ids": torch.zeros_like(ids)}
    special = torch.tensor(masking.special_ids(tokenizer))
    mb = pretrain.corrupt(batch, tokenizer, special, masking.make_generator(0), cfg.masking())
    n, chosen = ids.numel(), (mb.labels != masking.IGNORE)
    assert abs(int(chosen.sum()) - 0.4 * n) <= 3 * (n * 0.4 * 0.6) ** 0.5
    assert (mb.input_ids[chosen] == tokenizer.mask_token_id).all()


def test_pair_task_none_learns_no_pair_label_and_bad_values_are_refused(tmp_path):
    res = _lab_run(tmp_path, pair_task="none")
    assert res["eval_nsp_accuracy"] is None and res["recipe"]["pair_task"] == "none"
    for kw, message in ((dict(mask_split=(0.5, 0.1, 0.1)), "summing to 100"), (dict(pair_task="xyz"), "pair task"),
                        (dict(static_masking=-1), "static masking"), (dict(mask_rate=1.5), "between 0 and 1")):
        with pytest.raises(PlaygroundError, match=message):
            pretrain.PretrainConfig(corpus="c", out="o", **kw)
