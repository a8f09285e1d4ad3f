"""Sequence classification (a text, or a pair `[CLS] A [SEP] B [SEP]`): the four modes, one head class each.

  full      every weight of a copy of the checkpoint's encoder and a new head trains ([CLS] -> pooler -> linear);
  frozen    the encoder is frozen, its [CLS] vectors are computed once, and only the head trains on them;
  random    as full, but the encoder starts from fresh random weights: what pre-training buys;
  baseline  no BERT at all: bag-of-words logistic regression (`bow.py`), for comparison.
"""
from __future__ import annotations

from typing import Iterator

import torch
import torch.nn.functional as F

from ..checkpoints import parts
from ..core.errors import PlaygroundError
from ..core.training import autocast
from ..interpret.bow import BowClassifier, build_vocab
from .classifier import (Classifier, Metrics, batch, bert_logits, bow_logits, by_length, classification_metrics, encode,
                         pool, sequence_logits)
from .config import FinetuneConfig
from .events import Prepare
from .heads import build_classifier, register, reinitialise, tokenizer_copy


def _metrics(logits: torch.Tensor, y: torch.Tensor, n_labels: int) -> Metrics:
    """Accuracy, macro-F1 and the confusion matrix of (N, C) logits against labels (N,)."""
    loss = F.cross_entropy(logits, y).item()
    return classification_metrics(y.numpy(), logits.argmax(-1).numpy(), n_labels, loss)


def _labels(task, train, eval_data) -> None:
    """A sequence task's targets: (N,) and (M,) label ids, the label names, single texts or pairs."""
    task.y_train = torch.tensor(train.labels, dtype=torch.long)
    task.y_eval = torch.tensor(eval_data.labels, dtype=torch.long)
    task.label_names, task.pair, task.n_train = tuple(train.label_names), train.text_pairs is not None, len(train)


@register("full")
class FullTask:
    """Every weight of the encoder copy and the new head trains ([CLS] -> pooler -> linear, as in BERT 4.1)."""

    clip = 1.0

    def __init__(self, bundle, train, eval_data, cfg: FinetuneConfig, device):
        self.device, self.cfg = device, cfg
        self.tokenizer = tokenizer_copy(bundle)
        self.model = build_classifier(bundle, train.label_names, cfg.layers, device)
        self.model.config.pooling = cfg.pooling  # saved in config.json: the classifier reads the same vector
        self.train_enc = encode(self.tokenizer, train.texts, train.text_pairs, cfg.max_length)
        self.eval_enc = encode(self.tokenizer, eval_data.texts, eval_data.text_pairs, cfg.max_length)
        self.params = [p for p in self.model.parameters() if p.requires_grad]
        _labels(self, train, eval_data)

    def prepare(self, stop) -> Iterator[Prepare]:
        return iter(())

    def loss(self, idx: torch.Tensor) -> torch.Tensor:
        with autocast(self.device):
            logits = sequence_logits(self.model, batch(self.train_enc, idx, self.device))  # (B, C)
        return F.cross_entropy(logits.float(), self.y_train[idx].to(self.device))

    def eval_logits(self) -> torch.Tensor:
        self.model.eval()
        out = bert_logits(self.model, self.eval_enc, self.device)  # (N, C)
        self.model.train()
        return out

    def evaluate(self) -> Metrics:
        return _metrics(self.eval_logits(), self.y_eval, len(self.label_names))

    def classifier(self, label_names, pair: bool) -> Classifier:
        return Classifier("bert", self.model.eval(), self.tokenizer, tuple(label_names), self.device, self.cfg.max_length, pair)

    def predictor(self) -> Classifier:
        return self.classifier(self.label_names, self.pair)


@register("random")
class RandomTask(FullTask):
    """Full fine-tuning of the same architecture from fresh random weights: no pre-training at all."""

    def __init__(self, bundle, train, eval_data, cfg, device):
        super().__init__(bundle, train, eval_data, cfg, device)
        reinitialise(self.model)


@register("frozen")
class FrozenTask(FullTask):
    """The encoder never trains: its last-layer [CLS] vectors are computed once; the head trains on them."""

    def __init__(self, bundle, train, eval_data, cfg, device):
        super().__init__(bundle, train, eval_data, cfg, device)
        self.family = bundle.family
        if getattr(self.model.config, "classifier_pooling", "cls") != "cls":
            raise PlaygroundError("Frozen mode reads the [CLS] vector; this ModernBERT classifier pools by mean: "
                                  "use full fine-tuning.")
        self.base = getattr(self.model, self.family.base)
        for p in self.base.parameters():
            p.requires_grad_(False)
        pooler = [m for m in (getattr(self.base, "pooler", None),) if isinstance(m, torch.nn.Module)]
        head = [p for n, p in self.model.named_parameters() if not n.startswith(self.family.base + ".")]
        head += [p for m in pooler for p in m.parameters()]  # BERT/ALBERT's pooler lives inside the encoder
        for p in head:
            p.requires_grad_(True)
        self.params = head
        self.train_cls = self.eval_cls = None

    @torch.no_grad()
    def _cls(self, enc: dict, stop, done: int, total: int, out: list) -> Iterator[Prepare]:
        n = len(enc["input_ids"])
        feats = torch.zeros((n, self.model.config.hidden_size), device=self.device)  # (N, D)
        self.base.eval()
        keep = ("input_ids", "attention_mask") + (("token_type_ids",) if self.family.segments else ())
        for idx in by_length(enc, 128):
            if stop is not None and stop.is_set():
                break
            rows = {k: v for k, v in batch(enc, idx, self.device).items() if k in keep}
            with autocast(self.device):
                h = pool(self.base(**rows).last_hidden_state, rows["attention_mask"], self.cfg.pooling)  # (B, D)
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
        """The family's classification head on the [CLS] vectors (B, D) -> (B, C), as its forward applies it
        (`Family.cls_head`: BERT's pooler then the classifier, RoBERTa's classifier on features[:, 0], ...)."""
        return parts.run(self.model, self.family.cls_head, h)

    def loss(self, idx):
        return F.cross_entropy(self._head(self.train_cls[idx.to(self.device)]), self.y_train[idx].to(self.device))

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
        _labels(self, train, eval_data)

    def prepare(self, stop):
        return iter(())

    def loss(self, idx):
        logits = self.model(**BowClassifier.collate([self.train_bow[i] for i in idx.tolist()], self.device))  # (B, C)
        return F.cross_entropy(logits, self.y_train[idx].to(self.device))

    def evaluate(self):
        return _metrics(bow_logits(self.model, self.eval_bow, self.device), self.y_eval, len(self.label_names))

    def classifier(self, label_names, pair):
        return Classifier("baseline", self.model.eval(), None, tuple(label_names), self.device, self.cfg.max_length, pair)

    def predictor(self) -> Classifier:
        return self.classifier(self.label_names, self.pair)
