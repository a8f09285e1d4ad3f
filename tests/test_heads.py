"""Token tagging and extractive QA heads, random-init mode, pooling and epoch snapshots (issue 14)."""
from __future__ import annotations

import itertools
import json
import subprocess
import sys

import numpy as np
import pytest
import torch

from bert_playground import datasets
from bert_playground import finetune as F
from bert_playground.core.errors import PlaygroundError
from bert_playground.finetune.metrics import entities, exact_match, normalize_answer, token_f1
from bert_playground.finetune.spans import IGNORE, answer_positions, best_span, decode, first_piece_labels, windows

from conftest import ROOT

CONLL = b"Paris\tB-location\nis\tO\nnice\tO\n\nBill\tB-person\nGates\tI-person\nsmiles\tO\n"


# ---- labels on first pieces ----------------------------------------------------------------------

def test_labels_sit_on_the_first_piece_of_each_word(tokenizer):
    words = ["Tokenization", "of", "unbelievably", "long", "words"]
    enc = tokenizer(words, is_split_into_words=True)
    labels = first_piece_labels(enc.word_ids(), [1, 2, 3, 4, 5])
    pieces = tokenizer.convert_ids_to_tokens(enc["input_ids"])
    assert len(pieces) > len(words) + 2  # some words are split into several pieces
    got = [(p, y) for p, y in zip(pieces, labels) if y != IGNORE]
    assert [y for _, y in got] == [1, 2, 3, 4, 5]
    assert all(not p.startswith("##") for p, _ in got)  # a first piece never continues a word
    for p, y in zip(pieces, labels):
        if p.startswith("##") or p in ("[CLS]", "[SEP]"):
            assert y == IGNORE


def test_encode_words_aligns_labels_and_tagger_reads_first_pieces(tiny):
    from bert_playground.finetune.predictors import encode_words

    enc = encode_words(tiny.tokenizer, [["unbelievably", "Paris"]], [[3, 1]], 16)
    t = enc["tensors"]
    assert t["labels"][0].tolist()[:len(enc["word_ids"][0])] == first_piece_labels(enc["word_ids"][0], [3, 1])
    assert (t["labels"][0][t["attention_mask"][0] == 0] == IGNORE).all()


# ---- best span, brute force ---------------------------------------------------------------------

def _brute(start, end, allowed, cap):
    best = None
    for s, e in itertools.product(range(len(start)), repeat=2):
        if allowed[s] and allowed[e] and s <= e < s + cap:
            v = start[s] + end[e]
            if best is None or v > best[2]:
                best = (s, e, v)
    return best


def test_best_span_matches_brute_force():
    rng = np.random.default_rng(0)
    for trial in range(300):
        t = int(rng.integers(1, 25))
        start, end = rng.normal(size=t), rng.normal(size=t)
        allowed = rng.random(t) < 0.7
        cap = int(rng.integers(1, 8))
        got, want = best_span(start, end, allowed, cap), _brute(start, end, allowed, cap)
        if want is None:
            assert got is None
            continue
        s, e, v = got
        assert allowed[s] and allowed[e] and s <= e < s + cap
        assert v == pytest.approx(want[2]) and v == pytest.approx(start[s] + end[e])


def test_decode_across_overlapping_windows_matches_brute_force(tokenizer):
    rng = np.random.default_rng(1)
    context = " ".join(f"word{i % 17} alpha{i}" for i in range(120))
    wins = windows(tokenizer, ["which word?"], [context], max_length=48, stride=16)
    assert len(wins) > 3
    for k in range(len(wins) - 1):  # consecutive windows share passage characters
        a = [o for o, ok in zip(wins[k].offsets, wins[k].in_passage) if ok]
        b = [o for o, ok in zip(wins[k + 1].offsets, wins[k + 1].in_passage) if ok]
        assert b[0][0] < a[-1][1]
    for trial in range(40):
        starts = [rng.normal(size=len(w.input_ids)) for w in wins]
        ends = [rng.normal(size=len(w.input_ids)) for w in wins]
        span = decode(context, wins, starts, ends, max_answer=5)
        best = max((_brute(s, e, np.array(w.in_passage), 5) + (k,) for k, (w, s, e) in enumerate(zip(wins, starts, ends))),
                   key=lambda x: x[2])
        assert span.score == pytest.approx(best[2])
        w = wins[span.window]
        assert span.text == context[w.offsets[span.tokens[0]][0]:w.offsets[span.tokens[1]][1]]
        assert 0 < span.probability <= 1


def test_answer_positions_map_back_to_the_answer(tokenizer):
    context = "The Normans were in Normandy. " * 10 + "Rollo was their leader in the 10th century."
    start = context.index("Rollo")
    wins = windows(tokenizer, ["Who led them?"], [context], max_length=40, stride=12)
    found = 0
    for w in wins:
        s, e = answer_positions(w, start, start + len("Rollo"))
        if (s, e) != (0, 0):
            found += 1
            assert context[w.offsets[s][0]:w.offsets[e][1]] == "Rollo"
    assert found >= 1


# ---- metrics by hand --------------------------------------------------------------------------

def test_squad_normalisation_em_and_f1_by_hand():
    assert normalize_answer("The  Quick, brown FOX!") == "quick brown fox"
    assert exact_match("the Denver Broncos", "Denver Broncos.") == 1.0
    assert exact_match("Broncos", "Denver Broncos") == 0.0
    # pred tokens [denver, broncos, won], gold [denver, broncos]: P = 2/3, R = 1, F1 = 0.8
    assert token_f1("Denver Broncos won", "the Denver Broncos") == pytest.approx(0.8)
    assert token_f1("a", "the") == 0.0  # both normalise to nothing: no common token
    m = F.qa_metrics(["Denver Broncos", "Carolina"], [["Denver Broncos", "Broncos"], ["Carolina Panthers"]])
    assert m.exact_match == pytest.approx(0.5) and m.f1 == pytest.approx((1 + 2 / 3) / 2)


def test_entity_spans_and_f1_by_hand():
    assert entities(["B-per", "I-per", "O", "B-loc", "I-loc", "I-per"]) == [("per", 0, 2), ("loc", 3, 5), ("per", 5, 6)]
    assert entities(["I-org", "I-org", "O"]) == [("org", 0, 2)]  # conlleval: I- after O opens a chunk
    true = [["B-per", "I-per", "O", "B-loc"], ["O", "B-org"]]
    pred = [["B-per", "O", "O", "B-loc"], ["O", "B-org"]]  # 'per' boundary wrong: 2 of 3 right
    m = F.entity_metrics(true, pred)
    assert (m.precision, m.recall, m.f1) == pytest.approx((2 / 3, 2 / 3, 2 / 3))
    assert m.per_type["per"] == (0.0, 0.0, 0.0, 1) and m.per_type["loc"][:3] == (1.0, 1.0, 1.0)
    m = F.entity_metrics([["B-x", "O"]], [["O", "O"]])
    assert (m.precision, m.recall, m.f1) == (0.0, 0.0, 0.0)


# ---- data readers and bad input -----------------------------------------------------------------

def test_read_conll_and_tags():
    d = datasets.read_conll(CONLL, "x.conll")
    assert d.words == (("Paris", "is", "nice"), ("Bill", "Gates", "smiles"))
    assert d.label_names == ("O", "B-location", "I-location", "B-person", "I-person")
    assert d.tag_names(1) == ["B-person", "I-person", "O"] and d.counts() == {"location": 1, "person": 1}


@pytest.mark.parametrize("raw, message", [
    (b"Paris\tB-location\nis\tO\textra\n", "different number of columns.*line\\(s\\) 2"),
    (b"Paris\tLOCATION\n", "not BIO tags.*'LOCATION' \\(line 1\\)"),
    (b"a\tO\nb\tO\n", "no entities"),
    (b"", "no sentences"),
    (b"\xff\xfe", "not UTF-8"),
])
def test_bad_conll_files(raw, message):
    with pytest.raises(PlaygroundError, match=message):
        datasets.read_conll(raw, "bad.conll")


def test_conll_eval_file_with_unknown_tags():
    train = datasets.read_conll(CONLL, "train.conll")
    with pytest.raises(PlaygroundError, match="tags the training data does not have: 'B-product'"):
        datasets.read_conll(b"iPhone\tB-product\n", "dev.conll", train.label_names)


def _squad(context="Rollo led the Normans.", text="Rollo", start=0, **qa):
    q = {"id": "1", "question": "Who led them?", "answers": [{"text": text, "answer_start": start}], **qa}
    return json.dumps({"data": [{"title": "Normans", "paragraphs": [{"context": context, "qas": [q]}]}]}).encode()


def test_read_squad():
    d = datasets.read_squad(_squad(), "s.json")
    assert len(d) == 1 and d.examples[0].answers == ("Rollo",) and d.titles == ("Normans",)


@pytest.mark.parametrize("raw, message", [
    (_squad(text="Rollo", start=5), "not in the passage at character 5"),
    (_squad(text="Vikings", start=0), "'Vikings' is not in the passage"),
    (_squad(text="Rollo", start=400), "not in the passage"),
    (json.dumps({"version": "1.1"}).encode(), "has no 'data' field"),
    (json.dumps({"data": [{"title": "t", "paragraphs": [{"qas": []}]}]}).encode(), "has no 'context' field"),
    (_squad(answers=[]), "has no answers"),
    (json.dumps({"data": [{"title": "t", "paragraphs": [{"context": "c", "qas": [{"question": "q", "answers": [
        {"text": "c"}]}]}]}]}).encode(), "has no 'answer_start' field"),
    (_squad(context="word " * 20_000), "passage of 20,000 words; the limit is 5,000"),
    (b"{not json", "not valid JSON"),
])
def test_bad_squad_files(raw, message):
    with pytest.raises(PlaygroundError, match=message):
        datasets.read_squad(raw, "bad.json")


def test_shipped_demo_sets_and_article_split():
    ner_train, ner_test = datasets.shipped_ner()
    assert len(ner_train) == 400 and len(ner_test) == 100 and ner_train.label_names == ner_test.label_names
    assert not set(ner_train.words) & set(ner_test.words)
    qa_train, qa_test = datasets.shipped_qa()
    assert not set(qa_train.titles) & set(qa_test.titles) and len(qa_train) > 400
    train, held = datasets.split_articles(qa_train)
    assert set(train.titles).isdisjoint(held.titles) and len(train) + len(held) == len(qa_train)
    pairs_train, pairs_test = datasets.shipped_pairs()  # hand-written RTE-style pairs, split by premise
    assert (len(pairs_train), len(pairs_test)) == (122, 30)
    assert pairs_train.label_names == pairs_test.label_names == ("entailment", "not_entailment")
    for data in (pairs_train, pairs_test):
        assert len(data.text_pairs) == len(data) and all(a.strip() and b.strip() for a, b in zip(data.texts, data.text_pairs))
        assert sorted(data.counts().values()) == [len(data) // 2] * 2  # balanced
    assert not set(pairs_train.texts) & set(pairs_test.texts)  # no premise in both


# ---- training the heads on the tiny checkpoint ----------------------------------------------------

def fast(**kw):
    return F.FinetuneConfig(**{"epochs": 2, "batch_size": 16, "lr": 1e-3, "device": "cpu", "max_length": 64, **kw})


def test_tagger_trains_predicts_saves_and_reloads(tiny, tmp_path):
    train, test = datasets.shipped_ner()
    res = F.run(tiny, train.subset(list(range(80))), test.subset(list(range(30))), fast(task="tag"))
    losses = [h["loss"] for h in res.history if "loss" in h]
    assert losses[-1] < losses[0]
    assert 0 <= res.metrics.f1 <= 1 and {"entity_f1", "precision", "recall"} <= set(res.summary())
    pred = res.classifier.predict("Bill Gates flew to Paris yesterday")
    out = pred.to_dict()
    assert set(out) == {"tokens", "labels", "entities"} and len(out["tokens"]) == len(out["labels"]) == 6
    assert np.allclose(pred.probabilities.sum(-1), 1, atol=1e-5)
    for e in out["entities"]:
        assert "Bill Gates flew to Paris yesterday"[e["start"]:e["end"]] == e["text"] and 0 < e["probability"] <= 1
    again = F.load_predictor(F.save(res, tmp_path / "tagger"))
    assert isinstance(again, F.Tagger) and again.predict("Bill Gates flew to Paris yesterday").labels == pred.labels


def test_reader_trains_predicts_saves_and_reloads(tiny, tmp_path):
    train, test = datasets.shipped_qa()
    res = F.run(tiny, train.head(48), test.head(12), fast(task="qa", max_length=96, stride=32))
    assert 0 <= res.metrics.exact_match <= res.metrics.f1 <= 1 and res.n_train >= 48  # rows are windows
    passage = "The Normans gave their name to Normandy. " * 30
    pred = res.classifier.predict("What did they name?", passage)
    assert pred.n_windows > 1 and set(pred.to_dict()) == {"answer", "start", "end", "probability", "window"}
    assert passage[pred.span.start:pred.span.end] == pred.span.text
    assert pred.start_probabilities.sum() == pytest.approx(1) and pred.end_probabilities.sum() == pytest.approx(1)
    again = F.load_predictor(F.save(res, tmp_path / "reader"))
    assert isinstance(again, F.Reader) and again.predict("What did they name?", passage).span == pred.span


def test_random_mode_has_fresh_weights_of_the_same_shapes(tiny):
    from bert_playground.finetune.sequence import RandomTask
    from bert_playground.finetune.tagging import TagTask

    train, test = datasets.shipped()
    cfg = fast(mode="random", layers=2)
    head = RandomTask(tiny, train, test, cfg, torch.device("cpu"))
    ref = tiny.encoder.state_dict()
    mine = head.model.bert.state_dict()
    for k, v in ref.items():
        assert mine[k].shape == v.shape
    matrices = [k for k, v in ref.items() if v.dim() >= 2]  # every randomly initialised weight matrix is new
    assert matrices and all(not torch.equal(mine[k], ref[k]) for k in matrices)
    ner = datasets.shipped_ner()
    tag = TagTask(tiny, *ner, fast(task="tag", mode="random"), torch.device("cpu"))
    assert not torch.equal(tag.model.bert.embeddings.word_embeddings.weight, ref["embeddings.word_embeddings.weight"])
    full = TagTask(tiny, *ner, fast(task="tag", mode="full"), torch.device("cpu"))
    assert torch.equal(full.model.bert.embeddings.word_embeddings.weight, ref["embeddings.word_embeddings.weight"])
    frozen = TagTask(tiny, *ner, fast(task="tag", mode="frozen"), torch.device("cpu"))
    assert {id(p) for p in frozen.params} == {id(p) for p in frozen.model.classifier.parameters()}


@pytest.mark.parametrize("task", ["tag", "qa"])
def test_frozen_token_and_span_heads_train_on_encoder_outputs_computed_once(tiny, task, monkeypatch):
    """Frozen tag/QA: the encoder's outputs are computed once (eval mode) and the head reads them; the logits equal
    the whole model's forward pass; the encoder never changes; rows over the memory cap fall back to a forward."""
    from bert_playground.finetune import heads as H

    if task == "tag":
        train, test = (d.subset(list(range(24))) for d in datasets.shipped_ner())
        cfg = fast(task="tag", mode="frozen")
    else:
        train, test = (d.head(12) for d in datasets.shipped_qa())
        cfg = fast(task="qa", mode="frozen", max_length=96, stride=32)
    t = H.TASK_HEADS[task]["frozen"](tiny, train, test, cfg, torch.device("cpu"))
    progress = list(t.prepare(None))
    assert progress and progress[-1].done == progress[-1].total == len(t.train_enc["input_ids"]) + len(test if task == "tag" else t.eval_wins)
    assert t.states[0].shape == (*t.train_enc["input_ids"].shape, tiny.encoder.config.hidden_size)
    t.model.eval()
    idx = torch.arange(5)
    b = {k: v for k, v in H.batch(t.train_enc, idx, "cpu").items() if k != "labels"}
    with torch.no_grad():
        out = t.model(**b)
        mine = t._head(t.states[0][idx, :b["input_ids"].shape[1]])
    want = out.logits if task == "tag" else (out.start_logits, out.end_logits)
    for m, w in zip((mine,) if task == "tag" else mine, (want,) if task == "tag" else want):
        assert torch.allclose(m, w, atol=1e-5)
    stored = t._eval_logits()
    t.states = None  # the forward pass per evaluation gives the same held-out logits
    for a, b_ in zip(stored, t._eval_logits()):
        assert np.allclose(np.asarray(a), np.asarray(b_), atol=1e-5)
    before = {k: v.clone() for k, v in t.model.base_model.state_dict().items()}
    res = F.run(tiny, train, test, cfg)
    assert res.summary()["steps"] > 0
    monkeypatch.setattr(H, "FROZEN_STATES_MB", 0)  # over the cap: no stored outputs, still trains
    t2 = H.TASK_HEADS[task]["frozen"](tiny, train, test, cfg, torch.device("cpu"))
    assert list(t2.prepare(None)) == [] and t2.states is None
    assert torch.isfinite(t2.loss(idx))
    trained = res.classifier.model.base_model.state_dict()  # the frozen run's encoder is still the checkpoint's
    assert all(torch.equal(v, trained[k]) for k, v in before.items())


def test_snapshots_are_the_model_at_each_epoch(tiny, data_intents, monkeypatch):
    from bert_playground.finetune.sequence import FullTask

    seen = {}
    evaluate = FullTask.evaluate

    def record(self):
        seen[len(seen)] = {k: v.detach().clone() for k, v in self.model.state_dict().items()}
        return evaluate(self)

    monkeypatch.setattr(FullTask, "evaluate", record)
    train, test = data_intents
    steps_per_epoch = -(-len(train) // 16)
    res = F.run(tiny, train, test, fast(epochs=3, snapshots=3, eval_every=steps_per_epoch))
    assert [e for e, _ in res.snapshots] == [0, 1, 2, 3]
    start = res.snapshots[0][1]
    for k, v in tiny.encoder.state_dict().items():
        if k.startswith("encoder.layer.") and int(k.split(".")[2]) >= 2 or k.startswith("pooler."):
            continue
        assert torch.equal(start["bert." + k], v), k
    for epoch in (1, 2, 3):  # evaluation k ran at the end of epoch k, just before the snapshot
        for k, v in seen[epoch - 1].items():
            assert torch.equal(res.snapshots[epoch][1][k], v), (epoch, k)
    assert not torch.equal(res.snapshots[1][1]["bert.encoder.layer.0.attention.self.query.weight"],
                           res.snapshots[3][1]["bert.encoder.layer.0.attention.self.query.weight"])
    bounded = F.run(tiny, train, test, fast(epochs=3, snapshots=1))
    assert [e for e, _ in bounded.snapshots] == [0, 3]


@pytest.fixture(scope="module")
def data_intents():
    train, test = datasets.shipped()
    return train.subset(list(range(0, len(train), 4))), test


def test_mean_pooling_trains_saves_and_reloads(tiny, data_intents, tmp_path):
    res = F.run(tiny, *data_intents, fast(pooling="mean", epochs=1))
    assert res.classifier.model.config.pooling == "mean"
    texts = list(data_intents[1].texts[:8])
    again = F.load_classifier(F.save(res, tmp_path / "mean"))
    assert np.allclose(again.probabilities(texts), res.classifier.probabilities(texts), atol=1e-5)
    frozen = F.run(tiny, *data_intents, fast(pooling="mean", mode="frozen", epochs=1))
    again = F.load_classifier(F.save(frozen, tmp_path / "mean-frozen"))
    assert np.allclose(again.probabilities(texts), frozen.classifier.probabilities(texts), atol=1e-5)


@pytest.mark.parametrize("kw, message", [
    (dict(task="tag", mode="baseline"), "mode must be one of full, frozen, random for the 'tag' task"),
    (dict(task="nope"), "task must be one of"),
    (dict(pooling="max"), "pooling must be one of cls, mean"),
    (dict(task="qa", stride=100, max_length=128), "stride .* at most half"),
])
def test_bad_task_settings(kw, message):
    with pytest.raises(PlaygroundError, match=message):
        F.validate(F.FinetuneConfig(**kw))


def test_task_and_data_must_match(tiny):
    with pytest.raises(PlaygroundError, match="'tag' task trains on sentences"):
        F.train(tiny, *datasets.shipped(), fast(task="tag"))
    with pytest.raises(PlaygroundError, match="sentence-pair task needs a second-sentence column"):
        F.train(tiny, *datasets.shipped(), fast(task="pairs"))


# ---- CLI --------------------------------------------------------------------------------------

def cli(*args):
    r = subprocess.run([sys.executable, "-m", "bert_playground", *args], capture_output=True, text=True, timeout=600,
                       cwd=ROOT)
    return r.returncode, r.stdout, r.stderr


def test_cli_tag_and_qa_finetune_and_predict(tiny_dir, tmp_path):
    tasks = ROOT / "assets" / "tasks"
    rc, out, err = cli("finetune", "--task", "tag", "--train", str(tasks / "wnut17_train.conll"), "--eval",
                       str(tasks / "wnut17_test.conll"), "--max-train", "40", "--epochs", "1", "--max-length", "48",
                       "--model", str(tiny_dir), "--save", str(tmp_path / "tag"), "--max-seconds", "60", "--json")
    assert rc == 0, err
    res = json.loads(out)
    assert res["task"] == "tag" and all(0 <= res[k] <= 1 for k in ("entity_f1", "precision", "recall"))
    rc, out, err = cli("predict", "--model", str(tmp_path / "tag"), "Bill Gates in Paris", "--json")
    assert rc == 0, err
    got = json.loads(out)
    assert set(got) == {"tokens", "labels", "entities"}
    assert all(set(e) == {"text", "label", "start", "end", "probability"} for e in got["entities"])
    rc, out, err = cli("finetune", "--task", "qa", "--train", str(tasks / "squad_train.json"), "--max-train", "30",
                       "--epochs", "1", "--max-length", "96", "--stride", "32", "--mode", "frozen",
                       "--model", str(tiny_dir), "--save", str(tmp_path / "qa"), "--json")
    assert rc == 0, err
    res = json.loads(out)
    assert res["task"] == "qa" and 0 <= res["exact_match"] <= res["f1"] <= 1 and res["mode"] == "frozen"
    rc, out, err = cli("predict", "--model", str(tmp_path / "qa"), "--question", "Who?", "--context",
                       "Rollo led the Normans.", "--json")
    assert rc == 0, err
    assert set(json.loads(out)) == {"answer", "start", "end", "probability", "window"}
    rc, out, err = cli("predict", "--model", str(tmp_path / "qa"), "text only")
    assert rc == 2 and "give --question and --context" in err and "Traceback" not in err


def test_cli_task_errors(tiny_dir, tmp_path):
    bad = tmp_path / "bad.conll"
    bad.write_text("Paris\tB-location\nis\tO\textra\n")
    rc, _, err = cli("finetune", "--task", "tag", "--train", str(bad), "--model", str(tiny_dir))
    assert rc == 2 and "different number of columns" in err and "Traceback" not in err
    bad = tmp_path / "bad.json"
    bad.write_bytes(_squad(text="Vikings"))
    rc, _, err = cli("finetune", "--task", "qa", "--train", str(bad), "--model", str(tiny_dir))
    assert rc == 2 and "not in the passage" in err
    rc, _, err = cli("finetune", "--task", "tag", "--mode", "baseline", "--train", str(bad), "--model", str(tiny_dir))
    assert rc == 2 and "mode must be one of full, frozen, random" in err
    rc, _, err = cli("predict", "--model", str(tiny_dir), "x")
    assert rc == 2 and "not a tagger or a QA model" in err


# ---- what fine-tuning changed -------------------------------------------------------------------

def test_changes_views_read_the_snapshots(tiny, data_intents):
    from transformers import BertModel

    from bert_playground.finetune import changes

    res = F.run(tiny, *data_intents, fast(epochs=2, snapshots=2, layers=2))
    ch = changes.attention_change(res, 0, 2, "the card is lost")
    assert ch.before.shape == ch.after.shape and ch.before.shape[:2] == (2, 4)
    assert np.allclose(ch.before.sum(-1), 1, atol=1e-5) and np.abs(ch.difference).max() > 0
    assert ch.largest_change(0, 1) == pytest.approx(np.abs(ch.after[0, 1] - ch.before[0, 1]).max())
    ref = BertModel.from_pretrained(str(tiny.info.path), attn_implementation="eager").eval()  # snapshot 0 = checkpoint
    with torch.no_grad():
        want = torch.stack(ref(**tiny.tokenizer("the card is lost", return_tensors="pt"), output_attentions=True).attentions)
    assert np.allclose(ch.before, want[:, 0].numpy(), atol=1e-5)
    vecs = changes.cls_vectors(res, 2, data_intents[1].texts)
    pts = changes.project_2d(vecs)
    assert pts.shape == (len(data_intents[1]), 2)
    assert np.allclose(pts.mean(0), 0, atol=1e-4)
    before, after = changes.cloze(res, 0, tiny), changes.cloze(res, 2, tiny)
    assert len(before.tokens) == 5 and before.probabilities == sorted(before.probabilities, reverse=True)
    assert before.probabilities != after.probabilities
    with pytest.raises(PlaygroundError, match="kept no snapshots"):
        changes.model_at(F.run(tiny, *data_intents, fast(epochs=1)), 0)


def test_experiment_sheet_records_once_and_exports_csv(tiny, data_intents):
    from bert_playground.finetune.sheet import Sheet

    sheet, job = Sheet(), object()
    res = F.run(tiny, *data_intents, fast(epochs=1, mode="random"))
    assert sheet.record(job, res, "tiny") and not sheet.record(job, res, "tiny")
    r = sheet.records[0]
    assert (r.run, r.task, r.mode, r.metric, r.checkpoint) == (1, "classify", "random", "accuracy", "tiny")
    assert r.score == res.metrics.accuracy and r.curve and r.curve[-1][1] == res.metrics.accuracy
    csv_text = sheet.to_csv().splitlines()
    assert csv_text[0].startswith("run,task,data,checkpoint,mode,pooling,layers,epochs,seconds,metric,score")
    assert len(csv_text) == 2
