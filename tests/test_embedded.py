"""The shipped checkpoint (assets/model) loads offline with both heads and answers easy cloze sentences."""
import os

import pytest
import torch

from bert_playground import load
from bert_playground.checkpoints import models
from bert_playground.inputs.text import encode

MONTHS = {"january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
          "november", "december"}
CLOZE = [  # more cloze sentences on the same checkpoint are in test_mlm.py (through mlm.fill)
    ("He was elected president of the United [MASK].", {"states"}),
    ("She was born in [MASK] 1990.", MONTHS),
    ("Berlin is the capital of [MASK].", {"germany"}),
    ("The capital of France is [MASK].", {"paris"}),  # issue 5's everyday check
    ("London is the capital of [MASK].", {"england", "britain"}),
]


@pytest.fixture(scope="module")
def embedded():
    assert os.environ.get("HF_HUB_OFFLINE") == "1"
    return load("embedded", "cpu")


def test_embedded_has_both_heads_offline(embedded):
    info = embedded.info
    assert info.source == "embedded" and info.has_mlm and info.has_nsp
    assert (info.layers, info.heads, info.hidden_size, info.vocab_size) == (6, 12, 384, 30522)
    assert (models.EMBEDDED_DIR / "README.md").is_file() and (models.EMBEDDED_DIR / "training_log.csv").is_file()


def _top5(bundle, text):
    enc = encode(bundle, text)
    logits = models.forward(bundle, enc.tensors()).mlm_logits[0]  # (T, V)
    pos = enc.input_ids.index(bundle.tokenizer.mask_token_id)
    return bundle.tokenizer.convert_ids_to_tokens(torch.topk(logits[pos], 5).indices.tolist())


@pytest.mark.parametrize("text, answers", CLOZE)
def test_cloze_answer_in_top5(embedded, text, answers):
    assert answers & set(_top5(embedded, text))


def test_nsp_prefers_the_real_continuation(embedded):
    def p_next(a, b):
        enc = encode(embedded, a, b)
        return torch.softmax(models.forward(embedded, enc.tensors()).nsp_logits[0], -1)[0].item()

    a = "The river flooded the village after a week of heavy rain."
    assert p_next(a, "Many families had to leave their homes.") > p_next(a, "The quarterback threw three touchdown passes.")
