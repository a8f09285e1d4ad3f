"""Replaced-token detection, checkpoints side by side, the experiment sheet and the family overview."""
from __future__ import annotations

import csv
import io

import pytest
import torch

from bert_playground import PlaygroundError
from bert_playground.checkpoints import compare, families
from bert_playground.objectives import rtd
from bert_playground.objectives.masking import MaskingConfig

from conftest import FAMILY_KINDS


def test_rtd_probabilities_are_the_discriminators(family_bundles):
    b = family_bundles["electra-discriminator"]
    det = rtd.detect(b, "The cat sat on the mat with the dog.", MaskingConfig(rate=0.5), seed=3)
    ids = torch.tensor([b.tokenizer.convert_tokens_to_ids(list(det.input_tokens))])
    with torch.no_grad():
        ref = b.model(input_ids=ids).logits[0].sigmoid().tolist()
    assert det.p_replaced == pytest.approx(ref, abs=1e-5)
    assert det.source == "random" and any(det.replaced) and det.notices
    truth = [a != o for a, o in zip(det.input_tokens, det.tokens)]
    assert list(det.replaced) == truth and b.tokenizer.mask_token not in det.input_tokens
    assert 0 <= det.accuracy <= 1 and all(not r["original"] in ("[CLS]", "[SEP]") for r in det.rows())


def test_rtd_with_its_generator(family_bundles):
    disc, gen = family_bundles["electra-discriminator"], family_bundles["electra-generator"]
    a = rtd.detect(disc, "The cat sat on the mat with the dog.", MaskingConfig(rate=0.6), seed=1, generator=gen)
    b = rtd.detect(disc, "The cat sat on the mat with the dog.", MaskingConfig(rate=0.6), seed=1, generator=gen)
    assert a == b and a.source == "generator" and "generator" in a.notices[0]


@pytest.mark.parametrize("kind", ["bert", "roberta", "electra-generator"])
def test_rtd_refused_without_the_head(family_bundles, kind):
    with pytest.raises(PlaygroundError, match="no replaced-token-detection head"):
        rtd.detect(family_bundles[kind], "The cat sat.")
    with pytest.raises(PlaygroundError, match="different vocabulary|no masked-LM"):
        rtd.detect(family_bundles["electra-discriminator"], "The cat sat.", generator=family_bundles["roberta"])


def test_side_by_side_each_with_its_mask(family_bundles):
    bs = [family_bundles["bert"], family_bundles["roberta"]]
    res = compare.side_by_side(bs, "The cat sat on the [MASK].", 3)
    assert [r.mask_token for r in res] == ["[MASK]", "<mask>"] and all(len(r.masks) == 1 for r in res)


def test_sheet_shipped_upload_and_csv(family_bundles):
    items = compare.read_sheet()
    assert len(items) >= 10 and all("[MASK]" in i.sentence and i.answer for i in items)
    out = io.StringIO()  # the sheet as a spreadsheet saves it
    csv.writer(out, lineterminator="\n").writerows([["sentence", "answer"], *[[i.sentence, i.answer] for i in items]])
    assert compare.read_sheet(out.getvalue()) == items
    bs = [family_bundles[k] for k in ("bert", "roberta", "albert", "modernbert")]
    res = compare.run_sheet(bs, items[:3] + [compare.ClozeItem("No blank here.", "x")], k=5)
    assert len(res.rows) == 4
    for m in res.models:
        row = res.rows[0]
        top5 = row[f"{m} top-5"].split(" | ")
        assert len(top5) == 5 and top5[0] == row[f"{m} top-1"]
        assert row[f"{m} ok@5"] == (row["answer"].casefold() in [g.casefold() for g in top5])
        assert "no" in res.rows[3][f"{m} top-1"].lower() and res.rows[3][f"{m} ok@1"] is None
    summary = res.summary()
    assert [s["checkpoint"] for s in summary] == list(res.models) and all(s["scored"] == 3 for s in summary)
    csv_text = res.to_csv()
    assert csv_text.splitlines()[0].startswith("sentence,answer,") and len(csv_text.splitlines()) == 5
    plain = compare.read_sheet(b"Paris is the [MASK] of France.\tcapital\nA [MASK] barked.\n")
    assert plain == [compare.ClozeItem("Paris is the [MASK] of France.", "capital"), compare.ClozeItem("A [MASK] barked.", "")]
    for bad, msg in ((b"", "empty"), (b"\xff\xfe\x00", "UTF-8"), ("sentence,answer\n", "no sentences")):
        with pytest.raises(PlaygroundError, match=msg):
            compare.read_sheet(bad)


@pytest.mark.parametrize("kind", FAMILY_KINDS)
def test_overview_from_config_and_weights(family_bundles, kind):
    b = family_bundles[kind]
    row = families.overview(b)
    assert row["parameters"] == sum(p.numel() for p in b.model.parameters()) and row["layers"] == 2
    assert row["tokenizer"] == {"roberta": "byte-level BPE", "modernbert": "byte-level BPE",
                                "albert": "SentencePiece (Unigram)"}.get(kind, "WordPiece")
    assert row["positions"].startswith("rotary" if kind == "modernbert" else "learned")
    assert row["heads present"] == ", ".join(b.info.heads_present)
    assert {r["family"] for r in families.recipe_table()} == {"BERT", "RoBERTa", "DistilBERT", "ALBERT", "ELECTRA",
                                                               "ModernBERT"}


def test_sentence_order_pairs_come_from_the_pair_builder(family_bundles):
    """SOP pairs: consecutive text of one document, swapped half the time (3-sigma band), scored by the SOP head."""
    from bert_playground.objectives import nsp

    b = family_bundles["albert"]
    docs = nsp.read_corpus(b.tokenizer, nsp.demo_documents()).token_docs
    pairs = nsp.draw_order_pairs(docs, 200, 0, 60)
    assert all(p.a_doc == p.b_doc for p in pairs)
    assert all((p.a_span[1] == p.b_span[0]) if p.is_next else (p.b_span[1] == p.a_span[0]) for p in pairs)
    share = sum(p.is_next for p in pairs) / len(pairs)
    assert abs(share - 0.5) <= 3 * (0.25 / len(pairs)) ** 0.5
    res = nsp.score_batch(b, pairs[:20])
    assert len(res) == 20 and sum(map(sum, res.confusion)) == 20
    with pytest.raises(PlaygroundError, match="trained without a sentence-pair task"):
        nsp.score_batch(family_bundles["roberta"], pairs[:2])
