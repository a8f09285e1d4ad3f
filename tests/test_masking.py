"""BERT's 80/10/10 masking: statistics against the binomial model, special tokens, whole words, epochs."""
import math
import random

import numpy as np
import pytest
import torch

from bert_playground import PlaygroundError
from bert_playground.objectives.masking import (
    IGNORE,
    KEEP,
    MASK,
    NOT_CHOSEN,
    RANDOM,
    MaskingConfig,
    continuation_table,
    corrupt_ids,
    epoch_seed,
    make_generator,
    mask_text,
    mask_tokens,
    sample_statistics,
    special_ids,
    tokenize_for_masking,
)

SIGMAS = 3.0


def _band(p, n, sigmas=SIGMAS):
    sd = math.sqrt(p * (1 - p) / n)
    return p - sigmas * sd, p + sigmas * sd


def _long_text(tok, n_words, seed=0, split_words=0.3):
    """Random vocabulary words; a share of them glued in pairs so WordPiece splits them into several pieces."""
    rng = random.Random(seed)
    vocab = sorted(w for w in tok.get_vocab() if w.isalpha() and w.isascii() and not w.startswith("##") and len(w) > 2)
    out = []
    for _ in range(n_words):
        w = rng.choice(vocab)
        out.append(w + rng.choice(vocab) if rng.random() < split_words else w)
    return " ".join(out)


@pytest.fixture(scope="module")
def long_ids(tokenizer):
    ids = tokenize_for_masking(tokenizer, _long_text(tokenizer, 14_000))
    assert len(ids) >= 20_000
    return ids


def _counts(masked):
    a = [x for x in masked.actions]
    eligible = sum(t not in ("[CLS]", "[SEP]") for t in masked.tokens)
    return eligible, sum(x is not None for x in a), a.count("mask"), a.count("random"), a.count("keep")


def test_chosen_share_and_80_10_10_inside_binomial_bands(tokenizer, long_ids):
    masked = corrupt_ids(tokenizer, long_ids, MaskingConfig(), seed=1234)
    eligible, chosen, n_mask, n_random, n_keep = _counts(masked)
    assert eligible >= 20_000
    lo, hi = _band(0.15, eligible)
    assert lo <= chosen / eligible <= hi, (chosen / eligible, lo, hi)
    for count, p in ((n_mask, 0.8), (n_random, 0.1), (n_keep, 0.1)):
        lo, hi = _band(p, chosen)
        assert lo <= count / chosen <= hi, (count / chosen, p, lo, hi)
    assert n_mask + n_random + n_keep == chosen


def test_batched_mask_tokens_statistics_and_what_each_action_does(tokenizer):
    g = make_generator(7)
    B, T, V = 64, 400, len(tokenizer)
    x = torch.randint(1000, V, (B, T), generator=g)  # (B, T) ordinary tokens
    special = torch.zeros(B, T, dtype=torch.bool)
    special[:, 0] = special[:, -1] = True
    out = mask_tokens(x, special, mask_token_id=tokenizer.mask_token_id, vocab_size=V, generator=g)
    assert out.input_ids.shape == out.labels.shape == out.actions.shape == (B, T) and out.actions.dtype == torch.int8
    chosen = out.actions != NOT_CHOSEN
    n = int((~special).sum())
    lo, hi = _band(0.15, n)
    assert lo <= chosen.sum().item() / n <= hi
    assert torch.equal(out.labels[chosen], x[chosen]) and (out.labels[~chosen] == IGNORE).all()
    assert (out.input_ids[out.actions == MASK] == tokenizer.mask_token_id).all()
    assert torch.equal(out.input_ids[out.actions == KEEP], x[out.actions == KEEP])
    assert torch.equal(out.input_ids[~chosen], x[~chosen])
    rnd = out.actions == RANDOM
    assert (out.input_ids[rnd] != x[rnd]).float().mean() > 0.99  # a random token (equal only by chance, 1/V)


def test_special_tokens_and_padding_are_never_chosen(tokenizer):
    texts = ["a short one", "a somewhat longer sentence with more words in it", "[MASK] and [UNK] here"]
    enc = tokenizer(texts, padding=True, return_tensors="pt")
    ids = enc["input_ids"]  # (3, T), padded
    special = torch.isin(ids, torch.tensor(special_ids(tokenizer)))
    assert special[enc["attention_mask"] == 0].all()
    for seed in range(20):
        out = mask_tokens(ids, special, mask_token_id=tokenizer.mask_token_id, vocab_size=len(tokenizer),
                          config=MaskingConfig(rate=1.0), generator=make_generator(seed))
        assert (out.actions[special] == NOT_CHOSEN).all()
        assert (out.actions[~special] != NOT_CHOSEN).all()  # rate 1: everything else is chosen
        assert torch.equal(out.input_ids[special], ids[special])


def test_special_tokens_never_chosen_in_text(tokenizer):
    for seed in range(10):
        m = mask_text(tokenizer, "Hello [SEP] there [CLS] friend [PAD]", MaskingConfig(rate=1.0), seed=seed)
        for tok, a in zip(m.tokens, m.actions):
            assert (a is None) == (tok in ("[CLS]", "[SEP]", "[PAD]")), (tok, a)


def _words(tokens):
    """Group piece indices into words: a '##' piece joins the word before it (special tokens stand alone)."""
    groups = []
    for i, t in enumerate(tokens):
        if t.startswith("##") and groups:
            groups[-1].append(i)
        else:
            groups.append([i])
    return groups


def test_whole_word_masking_never_splits_a_word(tokenizer):
    text = _long_text(tokenizer, 3000, seed=3, split_words=0.6)
    multi = 0
    for seed in range(5):
        m = mask_text(tokenizer, text, MaskingConfig(rate=0.3, whole_word=True), seed=seed)
        for g in _words(m.tokens):
            chosen = {m.actions[i] is not None for i in g}
            assert len(chosen) == 1, [m.tokens[i] for i in g]
            multi += len(g) > 1 and m.actions[g[0]] is not None
    assert multi > 100  # many multi-piece words were chosen, as wholes


def test_wordpiece_masking_does_split_words(tokenizer):
    text = _long_text(tokenizer, 3000, seed=3, split_words=0.6)
    m = mask_text(tokenizer, text, MaskingConfig(rate=0.3), seed=0)
    assert any(len({m.actions[i] is not None for i in g}) == 2 for g in _words(m.tokens))


def test_whole_word_chosen_share_inside_word_level_band(tokenizer, long_ids):
    cont = continuation_table(tokenizer)[torch.tensor(long_ids)]
    masked = corrupt_ids(tokenizer, long_ids, MaskingConfig(whole_word=True), seed=99)
    groups = _words(masked.tokens)[1:-1]
    chosen_words = sum(masked.actions[g[0]] is not None for g in groups)
    lo, hi = _band(0.15, len(groups))
    assert lo <= chosen_words / len(groups) <= hi
    assert cont.sum() > 1000  # the text really has multi-piece words


def test_static_masking_repeats_positions_dynamic_does_not(tokenizer):
    text = _long_text(tokenizer, 200, seed=5)
    cfg = MaskingConfig()
    static = [mask_text(tokenizer, text, cfg, seed=11, epoch=e, dynamic=False) for e in range(4)]
    dynamic = [mask_text(tokenizer, text, cfg, seed=11, epoch=e, dynamic=True) for e in range(4)]
    pos = lambda m: {i for i, a in enumerate(m.actions) if a is not None}  # noqa: E731
    assert all(pos(m) == pos(static[0]) and m.input_ids == static[0].input_ids for m in static)
    assert len({frozenset(pos(m)) for m in dynamic}) == 4
    assert pos(dynamic[0]) == pos(static[0])  # epoch 0 is the same draw
    assert epoch_seed(11, 3, False) == 11 and epoch_seed(11, 3, True) != 11


def test_same_seed_same_draw_other_seed_other_draw(tokenizer):
    text = _long_text(tokenizer, 300, seed=8)
    a, b = mask_text(tokenizer, text, seed=5), mask_text(tokenizer, text, seed=5)
    assert a == b
    assert mask_text(tokenizer, text, seed=6).actions != a.actions


def test_rate_zero_and_one(tokenizer):
    text = _long_text(tokenizer, 300, seed=9)
    zero = mask_text(tokenizer, text, MaskingConfig(rate=0.0))
    assert all(a is None for a in zero.actions) and all(lab == IGNORE for lab in zero.labels)
    assert zero.input_tokens == zero.tokens
    one = mask_text(tokenizer, text, MaskingConfig(rate=1.0), seed=3)
    inner = one.actions[1:-1]
    assert all(a is not None for a in inner) and one.actions[0] is None and one.actions[-1] is None
    n = len(inner)
    lo, hi = _band(0.8, n)
    assert lo <= inner.count("mask") / n <= hi


def test_masking_has_no_length_limit(tokenizer):
    m = mask_text(tokenizer, "word " * 5000)
    assert len(m.tokens) == 5002 and m.tokens[-1] == "[SEP]"


def test_rows_match_the_issue_format(tokenizer):
    rows = mask_text(tokenizer, "Hello there friend", MaskingConfig(rate=1.0), seed=0).rows()
    assert [set(r) for r in rows] == [{"position", "original", "input", "label", "action"}] * len(rows)
    assert rows[0] == {"position": 0, "original": "[CLS]", "input": "[CLS]", "label": None, "action": None}
    assert rows[1]["label"] == "hello" and rows[1]["action"] in ("mask", "random", "keep")


@pytest.mark.parametrize("bad", [-0.1, 1.5, float("nan"), "0.2", None, True])
def test_bad_rates_are_refused(bad):
    with pytest.raises(PlaygroundError, match="between 0 and 1"):
        MaskingConfig(rate=bad)


def test_numpy_rate_is_accepted():
    assert MaskingConfig(rate=np.float32(0.25)).rate == pytest.approx(0.25)
    with pytest.raises(PlaygroundError):
        MaskingConfig(mask_share=0.8, random_share=0.3)


def test_empty_text_is_refused(tokenizer):
    with pytest.raises(PlaygroundError, match="empty"):
        mask_text(tokenizer, "   ")


@pytest.mark.parametrize("whole_word", [False, True])
def test_sample_statistics_inside_bands(tokenizer, whole_word):
    text = "The quick brown fox jumps over the unbelievably lazy dog, unaffable and unflappable."
    stats = sample_statistics(tokenizer, text, MaskingConfig(whole_word=whole_word), draws=1000, seed=0)
    assert stats.draws == len(stats.chosen_per_draw) == 1000
    assert stats.chosen == sum(stats.chosen_per_draw) == stats.masked + stats.randomised + stats.kept
    rows = stats.rows()
    assert [r["expected"] for r in rows] == pytest.approx([0.15, 0.8, 0.1, 0.1])
    assert all(r["inside"] for r in rows), rows
    assert stats.eligible == len(tokenize_for_masking(tokenizer, text)) - 2


def test_sample_statistics_batches_equal_one_big_batch(tokenizer):
    text = "a sentence with several words to corrupt many times over"
    big = sample_statistics(tokenizer, text, draws=300, seed=4)
    chunked = sample_statistics(tokenizer, text, draws=300, seed=4, max_cells=50)  # many small batches
    assert big.draws == chunked.draws and big.chosen > 0
    assert abs(big.chosen - chunked.chosen) < 6 * math.sqrt(big.chosen)  # same distribution


def test_sample_statistics_rate_zero_and_one(tokenizer):
    zero = sample_statistics(tokenizer, "some words here", MaskingConfig(rate=0.0), draws=50)
    assert zero.chosen == 0 and zero.rows()[0]["inside"] and math.isnan(zero.rows()[1]["observed"])
    one = sample_statistics(tokenizer, "some words here", MaskingConfig(rate=1.0), draws=50)
    assert one.chosen == 50 * one.eligible and one.rows()[0]["observed"] == 1.0
    with pytest.raises(PlaygroundError):
        sample_statistics(tokenizer, "x", draws=0)
