"""Whole-word masks, joint decoding, pseudo-log-likelihood of candidates, left vs right context."""
import pytest
import torch

from bert_playground import PlaygroundError
from bert_playground.checkpoints.models import forward
from bert_playground.objectives import decoding as D
from bert_playground.objectives.mlm import fill

TWO = "the cat sat on the [MASK] and looked at the [MASK] ."


def _logp(bundle, ids, pos):
    x = torch.tensor([ids])
    out = forward(bundle, {"input_ids": x, "token_type_ids": torch.zeros_like(x), "attention_mask": torch.ones_like(x)})
    return out.mlm_logits[0, pos].log_softmax(-1)


@pytest.mark.parametrize("strategy", D.ORDERS)
def test_joint_with_one_mask_is_the_independent_argmax(tiny, strategy):
    text = "the cat sat on the [MASK] ."
    j = D.joint_fill(tiny, text, strategy)
    res = fill(tiny, text, 1)
    assert j.tokens == (res.masks[0].predictions[0].token,) and j.order == (res.masks[0].position,)
    assert j.probabilities[0] == pytest.approx(res.masks[0].predictions[0].probability, abs=1e-6)
    assert j.filled == res.filled and j.differs == (False,)


def test_left_to_right_conditions_on_what_it_filled(tiny):
    j = D.joint_fill(tiny, TWO, "left-to-right")
    first, second = j.positions
    assert j.order == (first, second)
    ind = fill(tiny, TWO, 1)
    assert j.tokens[0] == ind.masks[0].predictions[0].token
    # the second mask, with the first one filled in by hand
    ids = tiny.tokenizer.convert_tokens_to_ids(list(ind.tokens))
    ids[first] = tiny.tokenizer.convert_tokens_to_ids(j.tokens[0])
    logp = _logp(tiny, ids, second)
    assert j.tokens[1] == tiny.tokenizer.convert_ids_to_tokens(int(logp.argmax()))
    assert j.probabilities[1] == pytest.approx(float(logp.exp().max()), abs=1e-6)
    assert j.independent == tuple(m.predictions[0].token for m in ind.masks)


def test_most_confident_first_picks_the_surest_mask(tiny):
    j = D.joint_fill(tiny, TWO, "confidence")
    ind = fill(tiny, TWO, 1)
    best = max(ind.masks, key=lambda m: m.predictions[0].probability)
    assert j.order[0] == best.position
    assert j.tokens[j.positions.index(best.position)] == best.predictions[0].token
    assert list(D.JointFill.to_dict(j)) == ["order", "tokens", "filled"]
    with pytest.raises(PlaygroundError, match="Unknown decoding order"):
        D.joint_fill(tiny, TWO, "random")


def test_pll_of_a_one_piece_candidate_is_the_log_probability_at_the_mask(tiny):
    text = "the cat sat on the [MASK] ."
    res = fill(tiny, text, 1)
    ids = tiny.tokenizer.convert_tokens_to_ids(list(res.tokens))
    logp = _logp(tiny, ids, res.masks[0].position)
    (c,) = D.score_candidates(tiny, text, "mat")
    assert c.pieces == ("mat",)
    assert c.pll == pytest.approx(float(logp[tiny.tokenizer.convert_tokens_to_ids("mat")]), abs=1e-5)


def test_pll_of_a_several_piece_candidate(tiny):
    text = "he was [MASK] ."
    cands = D.score_candidates(tiny, text, ["unaffable", "happy"])
    assert [c.pll for c in cands] == sorted([c.pll for c in cands], reverse=True)
    c = next(c for c in cands if c.word == "unaffable")
    assert len(c.pieces) > 1 and c.pieces == tuple(tiny.tokenizer.tokenize("unaffable"))
    res = fill(tiny, text, 1)
    ids = tiny.tokenizer.convert_tokens_to_ids(list(res.tokens))
    pos = res.masks[0].position
    pids = tiny.tokenizer.convert_tokens_to_ids(list(c.pieces))
    seq = ids[:pos] + pids + ids[pos + 1:]
    total = 0.0
    for i, pid in enumerate(pids):
        masked = list(seq)
        masked[pos + i] = tiny.tokenizer.mask_token_id
        total += float(_logp(tiny, masked, pos + i)[pid])
    assert c.pll == pytest.approx(total, abs=1e-4)
    assert c.to_dict() == {"word": "unaffable", "pieces": list(c.pieces), "pll": c.pll}


def test_candidates_bad_input(tiny):
    with pytest.raises(PlaygroundError, match="No candidate words"):
        D.score_candidates(tiny, "he was [MASK] .", " , ,")
    with pytest.raises(PlaygroundError, match="too many"):
        D.score_candidates(tiny, "he was [MASK] .", [f"w{i}" for i in range(D.MAX_CANDIDATES + 1)])
    with pytest.raises(PlaygroundError, match=r"no \[MASK\]"):
        D.score_candidates(tiny, "he was happy .", "sad")
    assert D.parse_candidates("paris,  lyon ,paris") == ["paris", "lyon"]


def test_whole_word_masks_every_piece(tiny):
    w = D.mask_whole_word(tiny.tokenizer, "He was unaffable, they said.", 2)
    assert w.word == "unaffable" and w.pieces == tuple(tiny.tokenizer.tokenize("unaffable"))
    assert w.text == "He was " + " ".join(["[MASK]"] * len(w.pieces)) + ", they said."
    assert fill(tiny, w.text, 1).tokens.count("[MASK]") == len(w.pieces)
    with pytest.raises(PlaygroundError, match="only punctuation"):
        D.mask_whole_word(tiny.tokenizer, "Hello , world", 1)
    with pytest.raises(PlaygroundError, match="no word number 9"):
        D.mask_whole_word(tiny.tokenizer, "Hello world", 8)
    with pytest.raises(PlaygroundError, match="already a mask"):
        D.mask_whole_word(tiny.tokenizer, "Hello [MASK] world", 1)


def test_sides_are_fill_on_each_side(tiny):
    text = "the cat sat on the [MASK] near the door ."
    s = D.sides(tiny, text, 4)
    both = fill(tiny, text, 4).masks[0].predictions
    left = fill(tiny, "the cat sat on the [MASK]", 4).masks[0].predictions
    right = fill(tiny, "[MASK] near the door .", 4).masks[0].predictions
    for got, exp in ((s.both, both), (s.left, left), (s.right, right)):
        assert [p.token for p in got] == [p.token for p in exp]
        assert [p.probability for p in got] == pytest.approx([p.probability for p in exp], abs=1e-6)
    assert s.left_tokens[-2:] == ("[MASK]", "[SEP]") and s.right_tokens[:2] == ("[CLS]", "[MASK]")
    j = s.to_dict()
    assert list(j) == ["both", "left", "right"] and list(j["left"][0]) == ["token", "probability"]
    with pytest.raises(PlaygroundError, match=r"no \[MASK\]"):
        D.sides(tiny, "no mask", 3)
    with pytest.raises(PlaygroundError, match="top-k"):
        D.sides(tiny, text, 0)
