"""Fine-tuning: the loop, the three modes, saving/loading, stop/time limits, bad data and the CLI."""
import io
import json
import random
import threading
import time

import numpy as np
import pytest
import torch
from test_cli import cli

from bert_playground import PlaygroundError, datasets, load
from bert_playground import finetune as F
from bert_playground.core.jobs import Job
from playground_ui.views import finetune as view

from apphelp import ROOT

POS = ["great", "wonderful", "lovely", "excellent", "happy", "superb"]
NEG = ["awful", "terrible", "boring", "horrible", "sad", "dreadful"]
FILL = ["the", "film", "was", "really", "quite", "story", "day", "food"]


def toy(n=48, seed=0, name="toy", pairs=False) -> datasets.LabelledData:
    """A linearly separable set: the label is which word list the sentence (or its second part) uses."""
    rng = random.Random(seed)
    texts, seconds, labels = [], [], []
    for i in range(n):
        y = i % 2
        words = rng.sample(FILL, 3) + [rng.choice(NEG if y else POS)]
        rng.shuffle(words)
        if pairs:
            texts.append(" ".join(rng.sample(FILL, 4)))
            seconds.append(" ".join(words))
        else:
            texts.append(" ".join(words))
        labels.append(y)
    return datasets.LabelledData(name, tuple(texts), tuple(seconds) if pairs else None, tuple(labels), ("pos", "neg"))


def csv_bytes(rows, header=("text", "label")) -> bytes:
    out = io.StringIO()
    import csv

    w = csv.writer(out)
    w.writerow(header)
    w.writerows(rows)
    return out.getvalue().encode()


def fast(**kw):
    base = dict(mode="full", epochs=8, batch_size=8, lr=5e-3, max_length=16, log_every=1, warmup=0.0)
    return F.FinetuneConfig(**{**base, **kw})


@pytest.fixture(scope="module")
def data():
    return toy(48, 0), toy(24, 1, "toy eval")


# ---- training -------------------------------------------------------------------------------

def test_full_fine_tuning_loss_decreases_and_learns(tiny, data):
    losses = []
    res = F.run(tiny, *data, fast(), on_event=lambda e: losses.append(e.loss) if isinstance(e, F.Step) else None)
    assert len(losses) == res.steps == 8 * 6
    assert np.mean(losses[-6:]) < 0.5 * np.mean(losses[:6])
    assert res.metrics.accuracy >= 0.9 and res.stopped is None
    assert res.layers == 2 and res.device.startswith("CPU")
    assert sum(sum(r) for r in res.metrics.confusion) == 24


def test_cached_bundle_is_never_modified(tiny, data):
    before = {k: v.clone() for k, v in tiny.model.state_dict().items()}
    res = F.run(tiny, *data, fast(epochs=2))
    after = tiny.model.state_dict()
    assert before.keys() == after.keys()
    assert all(torch.equal(before[k], after[k]) for k in before)
    assert not tiny.model.training and not any(p.requires_grad for p in tiny.model.parameters())
    ours = {p.data_ptr() for p in res.classifier.model.parameters()}
    assert not ours & {p.data_ptr() for p in tiny.model.parameters()}
    assert res.classifier.tokenizer is not tiny.tokenizer


def test_frozen_mode_leaves_encoder_bit_identical(tiny, data):
    res = F.run(tiny, *data, fast(mode="frozen", epochs=4, lr=1e-2))
    model = res.classifier.model
    ref = tiny.encoder.state_dict()
    for k, v in model.bert.state_dict().items():
        if not k.startswith("pooler."):
            assert torch.equal(v, ref[k]), k
    assert not torch.equal(model.bert.pooler.dense.weight, ref["pooler.dense.weight"])  # the head did train
    assert res.examples_per_s > 0 and res.metrics.n == 24


def test_frozen_features_match_the_saved_model(tiny, data, tmp_path):
    res = F.run(tiny, *data, fast(mode="frozen", epochs=3, lr=1e-2))
    direct = res.classifier.probabilities(list(data[1].texts))
    again = F.load_classifier(F.save(res, tmp_path / "frozen")).probabilities(list(data[1].texts))
    assert np.allclose(direct, again, atol=1e-5)


def test_tiny_option_keeps_first_layers(tiny):
    model = F.build_classifier(tiny, ("a", "b"), layers=1, device="cpu")
    assert model.config.num_hidden_layers == 1 and len(model.bert.encoder.layer) == 1
    assert torch.equal(model.bert.encoder.layer[0].attention.self.query.weight,
                       tiny.encoder.encoder.layer[0].attention.self.query.weight)
    assert model.config.id2label == {0: "a", 1: "b"}
    res = F.run(tiny, toy(16), toy(8, 1), fast(layers=1, epochs=1))
    assert res.layers == 1 and len(res.classifier.model.bert.encoder.layer) == 1


def test_baseline_learns_and_saves(tiny, data, tmp_path):
    res = F.run(None, *data, fast(mode="baseline", epochs=10, lr=0.1))
    assert res.metrics.accuracy >= 0.8 and res.layers is None
    folder = F.save(res, tmp_path / "bow")
    clf = F.load_classifier(folder)
    texts = ["wonderful and superb", "boring and dreadful"]
    assert [p.label for p in clf.predict(texts)] == ["pos", "neg"]
    assert np.allclose(clf.probabilities(texts), res.classifier.probabilities(texts), atol=1e-6)
    assert json.loads((folder / "metrics.json").read_text())["mode"] == "baseline"


def test_sentence_pairs(tiny):
    train, held = toy(48, 0, pairs=True), toy(24, 1, pairs=True)
    res = F.run(tiny, train, held, fast(epochs=6))
    assert res.classifier.pair
    preds = res.classifier.predict(["the film was quite"], ["a really superb day"])
    assert set(preds[0].probabilities) == {"pos", "neg"}
    with pytest.raises(PlaygroundError, match="pairs"):
        res.classifier.predict(["only one sentence"])
    with pytest.raises(PlaygroundError, match="pairs in both"):
        F.run(tiny, train, toy(8), fast())
    assert F.run(None, train, held, fast(mode="baseline", epochs=10, lr=0.1)).metrics.accuracy >= 0.75


def test_saved_folder_reloads_with_same_predictions(tiny, data, tmp_path):
    res = F.run(tiny, *data, fast(epochs=3))
    folder = F.save(res, tmp_path / "ft", extra={"columns": {"text": "text"}})
    assert (folder / "model.safetensors").is_file() and (folder / "tokenizer_config.json").is_file()
    cfg = json.loads((folder / "config.json").read_text())
    assert cfg["id2label"] == {"0": "pos", "1": "neg"} and cfg["architectures"] == ["BertForSequenceClassification"]
    meta = json.loads((folder / "metrics.json").read_text())
    assert meta["accuracy"] == res.metrics.accuracy and meta["columns"] == {"text": "text"} and meta["history"]
    clf = F.load_classifier(folder)
    texts = list(data[1].texts)
    assert [p.label for p in clf.predict(texts)] == [p.label for p in res.classifier.predict(texts)]
    assert np.allclose(clf.probabilities(texts), res.classifier.probabilities(texts), atol=1e-5)
    assert load(str(folder), "cpu").info.layers == 2  # the other pages can inspect the fine-tuned encoder


def test_load_classifier_refuses_other_folders(tiny_dir, tmp_path):
    with pytest.raises(PlaygroundError, match="not a fine-tuned classifier"):
        F.load_classifier(tiny_dir)
    with pytest.raises(PlaygroundError, match="not a folder"):
        F.load_classifier(tmp_path / "nothing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(PlaygroundError, match="config.json"):
        F.load_classifier(tmp_path / "empty")


# ---- stop, time limit, early stopping, background job ---------------------------------------

def _count_evaluations(monkeypatch, task="classify", mode="full") -> list:
    """Record every call of the head's held-out evaluation (the loop's only way to evaluate)."""
    from bert_playground.finetune.heads import head_class

    cls, calls = head_class(task, mode), []
    real = cls.evaluate

    def counted(self):
        calls.append(1)
        return real(self)

    monkeypatch.setattr(cls, "evaluate", counted)
    return calls


def test_stop_flag_ends_the_run_with_a_result(tiny, data, monkeypatch):
    """A stop ends the run at once with the last evaluation's scores, marked as such: no final evaluation."""
    calls = _count_evaluations(monkeypatch)
    stop = threading.Event()
    events = []
    for ev in F.train(tiny, *data, fast(epochs=50, eval_every=2), stop):
        events.append(ev)
        if isinstance(ev, F.Step) and ev.step == 3:
            stop.set()
    res = events[-1].result
    assert res.stopped == "stopped" and res.steps == 3
    evals = [e for e in events if isinstance(e, F.Evaluation)]
    assert [e.step for e in evals] == [2] and len(calls) == 1  # none after the stop
    assert not any(isinstance(e, F.Phase) and "final evaluation" in e.text for e in events)
    assert res.metrics is evals[-1].metrics
    assert any("scores are from the last evaluation, at step 2" in n for n in res.notices), res.notices


def test_a_stop_before_any_evaluation_reports_no_scores(tiny, data, monkeypatch):
    calls = _count_evaluations(monkeypatch)
    stop = threading.Event()
    events = []
    for ev in F.train(tiny, *data, fast(epochs=50), stop):  # first evaluation at step 38
        events.append(ev)
        if isinstance(ev, F.Step) and ev.step == 3:
            stop.set()
    res = events[-1].result
    assert calls == [] and not any(isinstance(e, F.Evaluation) for e in events)
    assert res.stopped == "stopped" and res.steps == 3 and res.metrics is None
    assert any("before the first evaluation" in n and n.level == "warning" for n in res.notices), res.notices
    assert res.summary()["accuracy"] is None and res.classifier.predict(["a great film"])[0].label in ("pos", "neg")
    from bert_playground.finetune.sheet import Sheet

    sheet = Sheet()
    assert sheet.record(object(), res, "tiny") and sheet.records[0].stopped == "stopped"
    assert sheet.records[0].score != sheet.records[0].score  # nan: no score, never a made-up one


def test_the_time_limit_keeps_its_final_evaluation(tiny, data, monkeypatch):
    calls = _count_evaluations(monkeypatch)
    events = []
    res = F.run(tiny, *data, fast(epochs=50, max_seconds=1.0), on_event=events.append)
    assert res.stopped == "time limit" and res.metrics is not None
    last = [e for e in events if isinstance(e, F.Evaluation)][-1]
    assert last.step == res.steps and len(calls) >= 1


def test_time_limit(tiny, data):
    res = F.run(tiny, *data, fast(epochs=50, max_seconds=1.0))
    assert res.stopped == "time limit" and 0 < res.steps < 50 * 6


def test_early_stopping(tiny, data):
    res = F.run(tiny, *data, fast(epochs=50, lr=1e-6, eval_every=1, patience=2))
    assert res.stopped == "early stopping" and res.steps < 20


def test_job_runs_in_background_and_stops(tiny, data):
    job = Job(lambda stop: F.train(tiny, *data, fast(epochs=50, eval_every=1), stop), "t").start()
    deadline = time.time() + 60
    while not any(isinstance(e, F.Step) for e in job.events()) and time.time() < deadline:
        time.sleep(0.05)
    assert not job.done, job.error
    job.stop()
    assert job.wait(60)
    cur = view.curves(job.events())
    assert job.error is None and cur.result.stopped == "stopped" and cur.fraction == 1.0
    assert cur.steps and len(cur.losses) == len(cur.steps) and cur.eval_steps


def test_job_reports_errors():
    def boom(stop):
        yield 1
        raise PlaygroundError("bad thing")

    job = Job(boom).start()
    job.wait(10)
    assert job.events() == [1] and job.error == "bad thing" and job.done
    job = Job(lambda stop: (1 / x for x in [1, 0])).start()
    job.wait(10)
    assert job.error.startswith("The run failed: ZeroDivisionError")


def test_cuda_out_of_memory_becomes_a_clear_message(tiny, data, monkeypatch):
    def oom(self, idx):  # the Head protocol: loss(idx); the head holds its own targets
        raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")

    monkeypatch.setattr(F.HEADS["full"], "loss", oom)
    with pytest.raises(PlaygroundError, match="ran out of memory with batch size 8.*smaller batch size"):
        F.run(tiny, *data, fast())


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_cuda_training_with_bf16_autocast(tiny_dir, data, tmp_path):
    bundle = load(str(tiny_dir), "cuda")
    res = F.run(bundle, *data, fast(epochs=6))
    assert res.device.startswith("GPU") and res.metrics.accuracy >= 0.9
    assert next(res.classifier.model.parameters()).is_cuda
    folder = F.save(res, tmp_path / "gpu")
    assert [p.label for p in F.load_classifier(folder, "cpu").predict(list(data[1].texts))] == \
           [p.label for p in res.classifier.predict(list(data[1].texts))]
    res = F.run(bundle, *data, fast(mode="frozen", epochs=2))
    assert res.device.startswith("GPU")


# ---- hyper-parameters -----------------------------------------------------------------------

@pytest.mark.parametrize("change, message", [
    (dict(mode="half"), "mode must be one of"),
    (dict(epochs=0), "epochs must be a whole number between 1 and 50"),
    (dict(epochs=1e9), "epochs"),
    (dict(epochs=2.5), "whole number"),
    (dict(batch_size=-4), "batch size"),
    (dict(batch_size=100_000), "batch size"),
    (dict(lr=0.0), "lr must be a number"),
    (dict(lr=float("nan")), "lr"),
    (dict(lr=50.0), "lr"),
    (dict(max_length=2), "max length"),
    (dict(max_length=4096), "max length"),
    (dict(max_seconds=-1.0), "time limit"),
    (dict(eval_every=0), "eval every"),
    (dict(patience=0), "patience"),
    (dict(warmup=0.9), "warmup"),
    (dict(layers=0), "between 1 and 2"),
    (dict(layers=7), "this checkpoint has 2"),
    (dict(epochs="3"), "epochs"),
])
def test_absurd_hyper_parameters_are_refused(tiny, data, change, message):
    with pytest.raises(PlaygroundError, match=message):
        F.train(tiny, *data, fast(**change))


def test_bert_modes_need_a_checkpoint(data):
    with pytest.raises(PlaygroundError, match="load one first"):
        F.train(None, *data, fast())


def test_learning_rate_schedule():
    cfg = F.FinetuneConfig(lr=1.0, warmup=0.1)
    lrs = [F.lr_at(s, 100, cfg) for s in range(100)]
    assert lrs[0] == pytest.approx(0.1) and lrs[9] == pytest.approx(1.0)
    assert all(a >= b for a, b in zip(lrs[10:], lrs[11:])) and lrs[-1] == pytest.approx(1 / 90)


def test_metrics_by_hand():
    m = F.classification_metrics([0, 0, 1, 1, 2], [0, 1, 1, 1, 0], 3)
    assert m.accuracy == pytest.approx(0.6)
    assert m.confusion == ((1, 1, 0), (0, 2, 0), (1, 0, 0))
    # f1: class 0: p=1/2 r=1/2 -> .5; class 1: p=2/3 r=1 -> .8; class 2: 0
    assert m.f1 == pytest.approx((0.5, 0.8, 0.0)) and m.macro_f1 == pytest.approx(1.3 / 3)


# ---- data -----------------------------------------------------------------------------------

def test_shipped_dataset_is_balanced_and_held_out():
    train, test = datasets.shipped()
    assert len(train) == 320 and len(test) == 80
    assert set(train.counts().values()) == {64} and set(test.counts().values()) == {16}
    assert train.label_names == ("card_lost", "delivery", "opening_hours", "password_reset", "refund")
    assert not {t.lower() for t in train.texts} & {t.lower() for t in test.texts}


def test_read_table_csv_tsv_and_guess():
    t = datasets.read_table(csv_bytes([("a, quoted, text", "x"), ("b", "y")]), "d.csv")
    assert t.columns == ("text", "label") and t.rows[0] == ("a, quoted, text", "x")
    t = datasets.read_table(b'sentence1\tsentence2\tlabel\nA "quoted" one\tB\tentailment\n', "rte.tsv")
    assert t.rows[0][0] == 'A "quoted" one'
    assert datasets.guess_columns(t) == ("sentence1", "sentence2", "label")
    t = datasets.read_table("\ufeffreview;x,stars\nfine;1,5\n".encode(), "upload.txt")
    assert t.columns == ("review;x", "stars")


@pytest.mark.parametrize("raw, name, message", [
    (b"", "e.csv", "empty"),
    (b"text,label\n", "h.csv", "no data rows"),
    (b"text,label\n\xff\xfe bad,1\n", "b.csv", "not UTF-8"),
    (b"text,label\nA,1,extra\n", "r.csv", "different number of columns"),
    (b"text,text\nA,1\n", "d.csv", "repeated column names"),
    (b"text,label\x00\n", "z.csv", "binary"),
])
def test_bad_files(raw, name, message):
    with pytest.raises(PlaygroundError, match=message):
        datasets.read_table(raw, name)


def test_size_cap(tmp_path):
    with pytest.raises(PlaygroundError, match="limit is 10 MB"):
        datasets.read_table(b"text,label\n" + b"x,1\n" * (3 * 1024 * 1024), "big.csv")
    big = tmp_path / "big.csv"
    with open(big, "wb") as f:
        f.truncate(100 * 1024 * 1024)  # 100 MB, sparse: refused before reading
    with pytest.raises(PlaygroundError, match="100.0 MB; the limit is 10 MB"):
        datasets.read_file(big)


def test_labels_problems():
    one = datasets.read_table(csv_bytes([("a", "x"), ("b", "x")]), "one.csv")
    with pytest.raises(PlaygroundError, match="only one class"):
        datasets.to_labelled(one, "text", "label")
    missing = datasets.read_table(csv_bytes([("a", "x"), ("b", ""), ("c", "y")]), "m.csv")
    with pytest.raises(PlaygroundError, match=r"1 row\(s\) have no label \(line\(s\) 3\)"):
        datasets.to_labelled(missing, "text", "label")
    empty_text = datasets.read_table(csv_bytes([("", "x"), ("b", "y")]), "t.csv")
    with pytest.raises(PlaygroundError, match="empty 'text'"):
        datasets.to_labelled(empty_text, "text", "label")
    with pytest.raises(PlaygroundError, match="has no column 'body'"):
        datasets.to_labelled(one, "body", "label")
    with pytest.raises(PlaygroundError, match="must be different"):
        datasets.to_labelled(one, "text", "text")


def test_string_and_integer_labels():
    ints = datasets.to_labelled(datasets.read_table(csv_bytes([("a", "10"), ("b", "2"), ("c", "2.0")]), "i.csv"), "text", "label")
    assert ints.label_names == ("2", "10") and ints.labels == (1, 0, 0)  # numeric order; 2.0 is 2
    strs = datasets.to_labelled(datasets.read_table(csv_bytes([("a", "pos"), ("b", "neg")]), "s.csv"), "text", "label")
    assert strs.label_names == ("neg", "pos")
    held = datasets.read_table(csv_bytes([("a", "pos"), ("b", "meh")]), "h.csv")
    with pytest.raises(PlaygroundError, match="labels the training data does not have: 'meh'"):
        datasets.to_labelled(held, "text", "label", label_names=strs.label_names)
    with pytest.raises(PlaygroundError, match="do not match"):
        F.validate(F.FinetuneConfig(mode="baseline"), None, strs, ints)


def test_no_rows_and_split():
    empty = datasets.LabelledData("e", (), None, (), ("a", "b"))
    with pytest.raises(PlaygroundError, match="no rows"):
        F.validate(F.FinetuneConfig(mode="baseline"), None, empty, empty)
    train, held = datasets.split_holdout(toy(50))
    assert len(train) == 40 and len(held) == 10 and held.counts() == {"pos": 5, "neg": 5}
    with pytest.raises(PlaygroundError, match="at least 10"):
        datasets.split_holdout(toy(6))


def test_train_and_holdout_uses_the_eval_table_or_splits():
    rows = [(f"text {i}", "pos" if i % 2 else "neg") for i in range(20)]
    table = datasets.read_table(csv_bytes(rows), "t.csv")
    train, held = datasets.train_and_holdout(table, "text", "label")  # no eval table: a stratified 20% split
    assert (len(train), len(held)) == (16, 4) and held.counts() == {"neg": 2, "pos": 2}
    ev = datasets.read_table(csv_bytes([("other", "pos"), ("more", "neg"), ("last", "pos")]), "e.csv")
    train, held = datasets.train_and_holdout(table, "text", "label", eval_table=ev)
    assert len(train) == 20 and held.texts == ("other", "more", "last") and held.label_names == train.label_names
    with pytest.raises(PlaygroundError, match="labels the training data does not have: 'meh'"):
        datasets.train_and_holdout(table, "text", "label", eval_table=datasets.read_table(csv_bytes([("x", "meh")]), "m.csv"))


def test_hub_datasets_optional(monkeypatch):
    import importlib.machinery
    import sys
    import types

    monkeypatch.setattr(datasets.hub, "hub_available", lambda: False)
    with pytest.raises(PlaygroundError, match="pip install datasets"):
        datasets.load_hub("glue", "sst2")
    monkeypatch.undo()

    class FakeSplit:
        column_names = ["sentence", "label"]
        features = {"sentence": object(), "label": types.SimpleNamespace(names=["negative", "positive"])}

        def __init__(self, n=3):
            self.n = n

        def __len__(self):
            return self.n

        def select(self, rows):
            return FakeSplit(len(rows))

        def __getitem__(self, col):
            return {"sentence": ["a", "b", "c"], "label": [0, 1, 1]}[col][:self.n]

    fake = types.ModuleType("datasets")
    fake.__spec__ = importlib.machinery.ModuleSpec("datasets", None)
    fake.load_dataset = lambda name, config, split: FakeSplit()
    monkeypatch.setitem(sys.modules, "datasets", fake)
    assert datasets.hub_available()
    t = datasets.load_hub("glue", "sst2", "train", max_rows=2)
    assert t.columns == ("sentence", "label") and t.rows == (("a", "negative"), ("b", "positive"))
    fake.load_dataset = lambda *a, **k: (_ for _ in ()).throw(ConnectionError("offline"))
    with pytest.raises(PlaygroundError, match="Could not load 'glue'"):
        datasets.load_hub("glue", "sst2")


# ---- real checkpoint ------------------------------------------------------------------------

@pytest.mark.skipif(not (ROOT / "assets" / "model" / "config.json").is_file(), reason="embedded checkpoint not built yet")
def test_embedded_checkpoint_learns_the_shipped_intents():
    bundle = load("embedded", "cpu")
    train, test = datasets.shipped()
    res = F.run(bundle, train, test, F.FinetuneConfig(mode="frozen", epochs=3))  # the page's frozen defaults
    assert res.metrics.accuracy >= 0.8


# ---- CLI ------------------------------------------------------------------------------------

def _write(path, rows, header=("text", "label")):
    path.write_bytes(csv_bytes(rows, header))
    return path


def test_cli_finetune_and_classify(tiny_dir, tmp_path):
    tr, te = toy(32), toy(16, 1)
    train = _write(tmp_path / "train.csv", [(t, tr.label_names[y]) for t, y in zip(tr.texts, tr.labels)])
    held = _write(tmp_path / "eval.csv", [(t, te.label_names[y]) for t, y in zip(te.texts, te.labels)])
    out = tmp_path / "model"
    r = cli("finetune", "--train", str(train), "--eval", str(held), "--model", str(tiny_dir), "--layers", "1",
            "--epochs", "4", "--lr", "2e-3", "--batch-size", "8", "--save", str(out), "--json")
    assert r.returncode == 0, r.stderr
    res = json.loads(r.stdout)
    assert res["mode"] == "full" and res["layers"] == 1 and res["n_train"] == 32 and res["n_eval"] == 16
    assert 0 <= res["accuracy"] <= 1 and res["saved"] == str(out) and res["labels"] == ["neg", "pos"]
    progress = [json.loads(x) for x in r.stderr.splitlines() if x.startswith("{")]
    assert {p["event"] for p in progress} >= {"start", "step", "eval"}
    r = cli("classify", "--model", str(out), "a superb lovely film", "an awful boring day", "--json")
    assert r.returncode == 0, r.stderr
    preds = json.loads(r.stdout)["predictions"]
    assert [p["text"] for p in preds] == ["a superb lovely film", "an awful boring day"]
    assert all(set(p["probabilities"]) == {"neg", "pos"} and 0 <= p["score"] <= 1 for p in preds)
    r = cli("classify", "--model", str(out), "--input", str(held), "--json")
    assert r.returncode == 0 and len(json.loads(r.stdout)["predictions"]) == 16
    lines = tmp_path / "in.txt"
    lines.write_text("one\n\ntwo\n")
    r = cli("classify", "--model", str(out), "--input", str(lines))
    assert r.returncode == 0 and len(r.stdout.strip().splitlines()) == 2


def test_cli_baseline_without_eval_file(tmp_path):
    tr = toy(40)
    train = _write(tmp_path / "t.csv", [(t, y) for t, y in zip(tr.texts, tr.labels)], ("review", "stars"))
    r = cli("finetune", "--train", str(train), "--mode", "baseline", "--epochs", "5", "--json")
    assert r.returncode == 0, r.stderr
    res = json.loads(r.stdout)
    assert res["n_train"] == 32 and res["n_eval"] == 8 and res["layers"] is None and res["labels"] == ["0", "1"]
    assert res["columns"] == {"text": "review", "text_pair": None, "label": "stars"}


@pytest.mark.parametrize("rows, args, message", [
    ([("a", "x"), ("b", "x")], [], "only one class"),
    ([("a", "x"), ("b", "")], [], "have no label"),
    ([("a", "x"), ("b", "y")], ["--epochs", "0"], "epochs must be"),
    ([("a", "x"), ("b", "y")], ["--label-col", "nope"], "no column 'nope'"),
])
def test_cli_finetune_errors(tiny_dir, tmp_path, rows, args, message):
    f = _write(tmp_path / "bad.csv", rows)
    r = cli("finetune", "--train", str(f), "--eval", str(f), "--model", str(tiny_dir), *args, "--json")
    assert r.returncode == 2 and message in r.stderr
    assert "Traceback" not in r.stderr and len(r.stderr.strip().splitlines()) == 1


def test_cli_classify_errors(tiny_dir, tmp_path):
    r = cli("classify", "--model", str(tiny_dir), "hello", "--json")
    assert r.returncode == 2 and "not a fine-tuned classifier" in r.stderr
    r = cli("finetune", "--train", str(tmp_path / "missing.csv"), "--json")
    assert r.returncode == 2 and "does not exist" in r.stderr


def test_progress_status_line_follows_the_events():
    assert view.curves([]).status == "starting…" and view.curves([]).fraction == 0.0
    assert view.curves([F.Prepare(3, 10)]).status == "computing [CLS] features: 3/10"
    cur = view.curves([F.Prepare(10, 10), F.Step(5, 20, 0.25, 0.6931, 2e-5, 123.4, 1.5, "CPU (1 thread)")])
    assert cur.status == "step 5/20 · epoch 0.25 · loss 0.6931 · lr 2e-05 · 123 examples/s · 1.5 s · CPU (1 thread)"
    assert cur.fraction == 0.25


def test_stop_during_an_evaluation_ends_the_run_within_a_batch(tiny):
    """A Stop pressed (or a page gone) while the held-out set is scored ends the run at once, with no evaluation
    finished after it: the queue's next run starts seconds later, not after the whole evaluation."""
    import threading

    train, test = datasets.shipped()
    stop, events = threading.Event(), []
    for ev in F.train(tiny, train, test, fast(epochs=1, eval_rows=None), stop):
        events.append(ev)
        if isinstance(ev, F.Phase) and ev.text.startswith("evaluating"):
            stop.set()
    result = events[-1].result
    assert result.stopped == "stopped" and not any(isinstance(e, F.Evaluation) for e in events)
