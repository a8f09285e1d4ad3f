"""The shipped checkpoint tells the senses of 'bank' apart in its upper layers (issue 15's check)."""
import os

import numpy as np
import pytest

from bert_playground import load
from bert_playground.interpret import contextual as C


@pytest.fixture(scope="module")
def embedded():
    assert os.environ.get("HF_HUB_OFFLINE") == "1"
    return load("embedded", "cpu")


def test_bank_same_sense_beats_cross_sense_in_the_upper_layers(embedded):
    pairs = C.examples()["bank"]
    res = C.analyse(embedded, "bank", [s for _, s in pairs], [g for g, _ in pairs])
    within, across = res.sense_curves()
    gap = within - across
    # layer 0: every 'bank' is the same token vector (only positions differ): no sense information yet
    assert abs(gap[0]) < 0.03
    # upper half (layers 4-6 of 6): same-sense uses are clearly more alike (measured gap about +0.11 to +0.13)
    assert (gap[4:] > 0.05).all(), gap.round(3)
    assert "separates the senses" in C.separation_summary(res)


def test_shipped_examples_all_analyse(embedded):
    for word, pairs in C.examples().items():
        res = C.analyse(embedded, word, [s for _, s in pairs], [g for g, _ in pairs])
        assert len(res.occurrences) == len(pairs), word  # every shipped sentence uses its word
        assert np.isfinite(res.similarity).all()
