"""Task heads: what trains, how a batch becomes a loss, and how the held-out data is scored.

Each mode is one class registered in `HEADS`; the loop (`loop.py`) only calls the `Head` protocol, so a new
task (token tagging, span QA, a randomly initialised encoder) is a new class here, not a branch in the loop.
"""
from __future__ import annotations

import copy
import re
from typing import Iterator, Protocol

import torch
import torch.nn.functional as F
from transformers import AutoTokenizer, BertForSequenceClassification

from ..bow import BowClassifier, build_vocab
from ..classifier import (Classifier, Metrics, batch, bert_logits, bow_logits, by_length, classification_metrics,
                          encode)
from ..errors import PlaygroundError
from ..training import autocast
from .config import FinetuneConfig
from .events import Prepare


class Head(Protocol):
    """What the loop needs from a task head."""

    model: torch.nn.Module
    params: list[torch.nn.Parameter]  # the parameters that train
    clip: float | None  # gradient-norm clipping (None: none)

    def prepare(self, stop) -> Iterator[Prepare]: ...  # work before the first step (frozen: [CLS] features)
    def loss(self, idx: torch.Tensor, y: torch.Tensor) -> torch.Tensor: ...  # mean loss of training rows `idx`
    def evaluate(self, y: torch.Tensor, n_labels: int) -> Metrics: ...  # scores on the held-out data
    def classifier(self, label_names, pair: bool) -> Classifier: ...  # the trained model, ready to predict


HEADS: dict[str, type] = {}  # mode -> Head class


def register(mode: str):
    def add(cls):
        HEADS[mode] = cls
        return cls
    return add


# ---- building the classifier ----------------------------------------------------------------

def encoder_state(bundle, layers: int | None) -> dict[str, torch.Tensor]:
    """The checkpoint's encoder weights, without the layers beyond the first `layers`."""
    keep = {}
    for name, t in bundle.encoder.state_dict().items():
        m = re.match(r"encoder\.layer\.(\d+)\.", name)
        if m and layers is not None and int(m.group(1)) >= layers:
            continue
        keep[name] = t
    return keep


def build_classifier(bundle, label_names, layers: int | None = None, device=None) -> BertForSequenceClassification:
    """A new BertForSequenceClassification whose encoder is a copy of the first `layers` layers of the bundle's."""
    config = copy.deepcopy(bundle.encoder.config)
    config.num_hidden_layers = layers or config.num_hidden_layers
    config.num_labels = len(label_names)
    config.id2label = {i: n for i, n in enumerate(label_names)}
    config.label2id = {n: i for i, n in enumerate(label_names)}
    config.problem_type = "single_label_classification"
    config.architectures = ["BertForSequenceClassification"]
    config.output_attentions = config.output_hidden_states = False
    model = BertForSequenceClassification._from_config(config, attn_implementation="sdpa", dtype=torch.float32)
    missing, unexpected = model.bert.load_state_dict(encoder_state(bundle, layers), strict=False)  # copies the values
    if unexpected or any(not k.startswith("pooler.") for k in missing):
        raise PlaygroundError(f"The checkpoint's encoder does not fit a BERT classifier (missing {missing[:3]}, "
                              f"unexpected {unexpected[:3]}).")
    return model.to(device or bundle.device).train()


def _tokenizer_copy(bundle):
    """Training uses its own tokenizer (it is saved with the model), never the shared one."""
    try:
        return copy.deepcopy(bundle.tokenizer)
    except Exception:
        return AutoTokenizer.from_pretrained(bundle.info.path, local_files_only=True)


def _metrics(logits: torch.Tensor, y: torch.Tensor, n_labels: int) -> Metrics:
    """Accuracy, macro-F1 and the confusion matrix of (N, C) logits against labels (N,)."""
    loss = F.cross_entropy(logits, y).item()
    return classification_metrics(y.numpy(), logits.argmax(-1).numpy(), n_labels, loss)


# ---- sequence classification: the three modes -----------------------------------------------

@register("full")
class FullTask:
    """Every weight of the encoder copy and the new head trains ([CLS] -> pooler -> linear, as in BERT 4.1)."""

    clip = 1.0

    def __init__(self, bundle, train, eval_data, cfg: FinetuneConfig, device):
        self.device, self.cfg = device, cfg
        self.tokenizer = _tokenizer_copy(bundle)
        self.model = build_classifier(bundle, train.label_names, cfg.layers, device)
        self.train_enc = encode(self.tokenizer, train.texts, train.text_pairs, cfg.max_length)
        self.eval_enc = encode(self.tokenizer, eval_data.texts, eval_data.text_pairs, cfg.max_length)
        self.params = [p for p in self.model.parameters() if p.requires_grad]

    def prepare(self, stop) -> Iterator[Prepare]:
        return iter(())

    def loss(self, idx: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        with autocast(self.device):
            logits = self.model(**batch(self.train_enc, idx, self.device)).logits  # (B, C)
        return F.cross_entropy(logits.float(), y)

    def eval_logits(self) -> torch.Tensor:
        self.model.eval()
        out = bert_logits(self.model, self.eval_enc, self.device)  # (N, C)
        self.model.train()
        return out

    def evaluate(self, y: torch.Tensor, n_labels: int) -> Metrics:
        return _metrics(self.eval_logits(), y, n_labels)

    def classifier(self, label_names, pair: bool) -> Classifier:
        return Classifier("bert", self.model.eval(), self.tokenizer, tuple(label_names), self.device, self.cfg.max_length, pair)


@register("frozen")
class FrozenTask(FullTask):
    """The encoder never trains: its last-layer [CLS] vectors are computed once; the head trains on them."""

    def __init__(self, bundle, train, eval_data, cfg, device):
        super().__init__(bundle, train, eval_data, cfg, device)
        for p in self.model.bert.parameters():
            p.requires_grad_(False)
        head = list(self.model.bert.pooler.parameters()) + list(self.model.classifier.parameters())
        for p in head:
            p.requires_grad_(True)
        self.params = head
        self.train_cls = self.eval_cls = None

    @torch.no_grad()
    def _cls(self, enc: dict, stop, done: int, total: int, out: list) -> Iterator[Prepare]:
        n = len(enc["input_ids"])
        feats = torch.zeros((n, self.model.config.hidden_size), device=self.device)  # (N, D)
        self.model.bert.eval()
        for idx in by_length(enc, 128):
            if stop is not None and stop.is_set():
                break
            with autocast(self.device):
                h = self.model.bert(**batch(enc, idx, self.device)).last_hidden_state[:, 0]  # (B, D)
            feats[idx.to(self.device)] = h.float()
            done += len(idx)
            yield Prepare(done, total)
        out.append(feats)

    def prepare(self, stop) -> Iterator[Prepare]:
        total = len(self.train_enc["input_ids"]) + len(self.eval_enc["input_ids"])
        got: list = []
        yield from self._cls(self.train_enc, stop, 0, total, got)
        yield from self._cls(self.eval_enc, stop, len(self.train_enc["input_ids"]), total, got)
        self.train_cls, self.eval_cls = got

    def _head(self, h: torch.Tensor) -> torch.Tensor:
        pooled = self.model.bert.pooler(h[:, None, :])  # dense + tanh on [CLS]: (B, D)
        return self.model.classifier(self.model.dropout(pooled))  # (B, C)

    def loss(self, idx, y):
        return F.cross_entropy(self._head(self.train_cls[idx.to(self.device)]), y)

    @torch.no_grad()
    def eval_logits(self):
        self.model.eval()
        out = self._head(self.eval_cls).float().cpu()  # (N, C)
        self.model.train()
        return out


@register("baseline")
class BaselineTask:
    """No BERT: bag-of-words logistic regression (`bow.py`), for comparison."""

    clip = None

    def __init__(self, bundle, train, eval_data, cfg, device):
        self.device, self.cfg = device, cfg
        self.model = BowClassifier(build_vocab(train.texts, train.text_pairs), len(train.label_names)).to(device)
        self.train_bow = self.model.encode(train.texts, train.text_pairs)
        self.eval_bow = self.model.encode(eval_data.texts, eval_data.text_pairs)
        self.params = list(self.model.parameters())

    def prepare(self, stop):
        return iter(())

    def loss(self, idx, y):
        logits = self.model(**BowClassifier.collate([self.train_bow[i] for i in idx.tolist()], self.device))  # (B, C)
        return F.cross_entropy(logits, y)

    def evaluate(self, y, n_labels):
        return _metrics(bow_logits(self.model, self.eval_bow, self.device), y, n_labels)

    def classifier(self, label_names, pair):
        return Classifier("baseline", self.model.eval(), None, tuple(label_names), self.device, self.cfg.max_length, pair)
