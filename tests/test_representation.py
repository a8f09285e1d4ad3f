import random

import pytest
import torch

from bert_playground import PlaygroundError
from bert_playground.inputs.representation import embedding_parts, represent
from bert_playground.inputs.text import clean_text


def _random_sentence(tok, rng, n):
    vocab = [w for w in tok.get_vocab() if w.isalpha() and not w.startswith("##")]
    return " ".join(rng.choice(vocab) for _ in range(n))


def test_embedding_sum_and_layernorm_match_the_model(tiny):
    rng = random.Random(7)
    a, b = _random_sentence(tiny.tokenizer, rng, 9), _random_sentence(tiny.tokenizer, rng, 6)
    rep = represent(tiny, a, b)
    parts = embedding_parts(tiny, rep.encoding)
    emb = tiny.model.bert.embeddings
    ids = torch.tensor([rep.encoding.input_ids])
    seg = torch.tensor([rep.encoding.token_type_ids])
    with torch.no_grad():
        reference = emb(input_ids=ids, token_type_ids=seg)[0]  # the model's own embedding module
        raw = emb.word_embeddings(ids) + emb.token_type_embeddings(seg) + emb.position_embeddings(torch.arange(ids.shape[1]))[None]
    assert torch.allclose(parts.normed, reference, atol=1e-6)
    assert torch.allclose(parts.sum, raw[0], atol=1e-6)
    assert torch.allclose(parts.token + parts.segment + parts.position, parts.sum, atol=1e-6)
    # and it is what the first layer receives in a plain transformers forward pass
    with torch.no_grad():
        hs = tiny.model(input_ids=ids, token_type_ids=seg, output_hidden_states=True).hidden_states[0][0]
    assert torch.allclose(parts.normed, hs, atol=1e-6)


def test_rows_segments_positions(tiny):
    rep = represent(tiny, "Hello there", "unaffable friend")
    rows = rep.rows()
    tokens = [r["token"] for r in rows]
    assert tokens == ["[CLS]", "hello", "there", "[SEP]", "una", "##ffa", "##ble", "friend", "[SEP]"]
    assert [r["segment"] for r in rows] == [0, 0, 0, 0, 1, 1, 1, 1, 1]
    assert [r["position"] for r in rows] == list(range(9))
    assert rows[1]["token_id"] == tiny.tokenizer.convert_tokens_to_ids("hello")
    assert rep.encoding.sentence_b_start == 4


def test_long_text_is_truncated_with_notice(tiny):
    rep = represent(tiny, "word " * 10_000)
    assert len(rep.encoding) == 512 and rep.encoding.truncated and rep.encoding.full_length > 10_000
    (notice,) = rep.notices
    assert notice.level == "warning" and f"{rep.encoding.full_length} tokens" in notice and "at most 512" in notice
    assert represent(tiny, "word").notices == ()


@pytest.mark.parametrize("bad", ["", "   ", "\x00\x01\t\n", None])
def test_empty_inputs_raise_clear_errors(tiny, bad):
    with pytest.raises(PlaygroundError, match="empty"):
        represent(tiny, bad)


@pytest.mark.parametrize("text", ["emoji 🤖🎉 ok", "中文句子", "مرحبا بالعالم", "<script>alert(1)</script>", "e\u0301te\u0301"])
def test_unusual_text_works(tiny, text):
    rep = represent(tiny, text)
    assert rep.rows()[0]["token"] == "[CLS]" and rep.rows()[-1]["token"] == "[SEP]"


def test_clean_text_drops_control_characters():
    assert clean_text("a\x00b\x07c") == "a b c"
