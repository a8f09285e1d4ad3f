"""A trained text classifier (fine-tuned BERT or the bag-of-words baseline): predict, score, load.

`Classifier.predict` is all the page and the CLI need; `classification_metrics` scores predictions
(accuracy, macro-F1, confusion matrix); the encoding helpers batch examples of similar length.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import transformers
from transformers import AutoTokenizer

from ..checkpoints.families import FAMILIES
from ..core.errors import PlaygroundError
from ..core.paths import files_in
from ..core.training import autocast
from ..inputs.text import clean_text, encode_batch
from ..interpret.bow import CONFIG_FILE as BOW_FILE
from ..interpret.bow import BowClassifier

METRICS_FILE = "metrics.json"


@dataclass(frozen=True)
class Metrics:
    accuracy: float
    macro_f1: float
    loss: float
    confusion: tuple[tuple[int, ...], ...]  # [true][predicted]
    f1: tuple[float, ...]  # per class
    n: int

    @property
    def score(self) -> float:  # what early stopping and the experiment sheet compare
        return self.accuracy

    def row(self) -> dict:
        return {"eval_accuracy": self.accuracy, "eval_macro_f1": self.macro_f1}

    def summary(self) -> dict:
        return {"accuracy": self.accuracy, "macro_f1": self.macro_f1, "eval_loss": self.loss,
                "confusion": [list(r) for r in self.confusion], "f1_per_class": list(self.f1)}


@dataclass(frozen=True)
class ClassPrediction:
    """The predicted class of one text, its probability and every class's probability."""
    label: str
    score: float
    probabilities: dict[str, float]

    def to_dict(self) -> dict:
        """One prediction as the CLI's `classify --json` writes it (less the text)."""
        return {"label": self.label, "score": round(self.score, 6),
                "probabilities": {k: round(v, 6) for k, v in self.probabilities.items()}}


@dataclass(frozen=True)
class Classifier:
    """A trained classifier, in memory or loaded from a folder; `predict` is all a user needs."""

    kind: str  # 'bert' | 'baseline'
    model: torch.nn.Module
    tokenizer: object | None
    label_names: tuple[str, ...]
    device: torch.device
    max_length: int = 128
    pair: bool = False

    def settings(self) -> dict:
        """What a run's summary says of the trained classifier."""
        return {"labels": list(self.label_names), "pair": self.pair, "max_length": self.max_length}

    def probabilities(self, texts: list[str], pairs: list[str] | None = None) -> np.ndarray:
        """(N, C) class probabilities."""
        if self.pair and pairs is None:
            raise PlaygroundError("This classifier was trained on sentence pairs: give a second sentence for each text.")
        texts = [clean_text(t, "The text") for t in texts]
        pairs = [clean_text(p, "The second sentence") for p in pairs] if self.pair else None
        if not texts:
            return np.zeros((0, len(self.label_names)), dtype=np.float32)
        was = self.model.training
        self.model.eval()
        if self.kind == "baseline":
            logits = bow_logits(self.model, self.model.encode(texts, pairs), self.device)
        else:
            enc = encode(self.tokenizer, texts, pairs, self.max_length)
            logits = bert_logits(self.model, enc, self.device)
        self.model.train(was)
        return torch.softmax(logits.float(), -1).numpy()

    def predict(self, texts: list[str], pairs: list[str] | None = None) -> list[ClassPrediction]:
        probs = self.probabilities(texts, pairs)  # (N, C)
        return [ClassPrediction(self.label_names[int(p.argmax())], float(p.max()),
                           {n: float(v) for n, v in zip(self.label_names, p)}) for p in probs]


# ---- metrics --------------------------------------------------------------------------------

def classification_metrics(y_true, y_pred, n_labels: int, loss: float = float("nan")) -> Metrics:
    y_true, y_pred = np.asarray(y_true, dtype=np.int64), np.asarray(y_pred, dtype=np.int64)
    cm = np.zeros((n_labels, n_labels), dtype=np.int64)
    np.add.at(cm, (y_true, y_pred), 1)
    tp = np.diag(cm).astype(float)
    precision = np.divide(tp, cm.sum(0), out=np.zeros(n_labels), where=cm.sum(0) > 0)
    recall = np.divide(tp, cm.sum(1), out=np.zeros(n_labels), where=cm.sum(1) > 0)
    f1 = np.divide(2 * precision * recall, precision + recall, out=np.zeros(n_labels), where=precision + recall > 0)
    present = cm.sum(1) > 0  # macro-F1 over the classes that occur in the evaluation data
    return Metrics(accuracy=float(tp.sum() / max(len(y_true), 1)),
                   macro_f1=float(f1[present].mean()) if present.any() else 0.0, loss=float(loss),
                   confusion=tuple(tuple(int(v) for v in row) for row in cm), f1=tuple(float(v) for v in f1),
                   n=int(len(y_true)))


# ---- encoding and forward passes ------------------------------------------------------------

def encode(tokenizer, texts, pairs, max_length: int) -> dict[str, torch.Tensor]:
    """All examples at once, padded to the longest: (N, T) tensors on the CPU (only the inputs the tokenizer's
    model takes: DistilBERT and ModernBERT have no token_type_ids)."""
    enc = encode_batch(tokenizer, texts, pairs, max_length)
    takes = set(getattr(tokenizer, "model_input_names", None) or enc) | {"input_ids", "attention_mask"}
    return {k: v for k, v in enc.items() if k in takes}


def batch(enc: dict, idx: torch.Tensor, device) -> dict[str, torch.Tensor]:
    """Rows `idx`, trimmed to their longest example, on the device."""
    rows = {k: v[idx] for k, v in enc.items()}
    t = int(rows["attention_mask"].sum(1).max())
    return {k: v[:, :t].to(device, non_blocking=True) for k, v in rows.items()}


def by_length(enc: dict, batch_size: int):
    order = torch.argsort(enc["attention_mask"].sum(1), descending=True)
    for i in range(0, len(order), batch_size):
        yield order[i:i + batch_size]


def pool(hidden: torch.Tensor, mask: torch.Tensor, how: str = "cls") -> torch.Tensor:
    """(B, T, D) token vectors -> (B, D): the [CLS] vector (BERT's recipe) or the mean over the real tokens
    (how sentence encoders such as MiniLM were trained)."""
    if how == "cls":
        return hidden[:, 0]
    m = mask.to(hidden.dtype)[..., None]  # (B, T, 1)
    return (hidden * m).sum(1) / m.sum(1).clamp(min=1.0)


def sequence_logits(model, inputs: dict) -> torch.Tensor:
    """(B, C) logits of a sequence classifier; `config.pooling == 'mean'` feeds the mean token vector (instead of
    [CLS]) to the same pooler dense + tanh and classifier."""
    if getattr(model.config, "pooling", "cls") == "cls":
        return model(**inputs).logits
    base = model.base_model
    if getattr(base, "pooler", None) is None or not hasattr(model, "classifier"):
        raise PlaygroundError("Mean pooling needs a BERT-style classifier (a pooler and a linear classifier).")
    h = pool(base(**inputs).last_hidden_state, inputs["attention_mask"], "mean")  # (B, D)
    pooled = base.pooler.activation(base.pooler.dense(h))
    return model.classifier(model.dropout(pooled))


@torch.no_grad()
def bert_logits(model, enc: dict, device, batch_size: int = 128) -> torch.Tensor:
    """(N, C) float logits on the CPU, in batches of similar length."""
    n = len(enc["input_ids"])
    out = torch.zeros((n, model.config.num_labels))
    for idx in by_length(enc, batch_size):
        with autocast(device):
            out[idx] = sequence_logits(model, batch(enc, idx, device)).float().cpu()
    return out


@torch.no_grad()
def bow_logits(model, encoded, device, batch_size: int = 1024) -> torch.Tensor:
    parts = [model(**BowClassifier.collate(encoded[i:i + batch_size], device)).float().cpu()
             for i in range(0, len(encoded), batch_size)]
    return torch.cat(parts) if parts else torch.zeros((0, model.bias.numel()))


# ---- saving and loading ---------------------------------------------------------------------

def save_classifier(clf: Classifier, folder: Path) -> None:
    """BERT: a normal Hugging Face checkpoint folder (safetensors, tokenizer, label names in config.json);
    the baseline: its weights (safetensors) and vocabulary (baseline.json)."""
    folder.mkdir(parents=True, exist_ok=True)
    if clf.kind == "baseline":
        clf.model.save(folder, clf.label_names)
    else:
        clf.model.save_pretrained(str(folder), safe_serialization=True)
        clf.tokenizer.save_pretrained(str(folder))


CLASSIFIER_CLASSES = tuple(f.sequence_classification for f in FAMILIES.values())


def load_classifier(folder: str | Path, device: str | torch.device | None = None) -> Classifier:
    """A classifier saved by `save` (or any BERT-family ...ForSequenceClassification folder with safetensors)."""
    folder = Path(folder).expanduser()
    if not folder.is_dir():
        raise PlaygroundError(f"'{folder}' is not a folder: give the folder written by `finetune --save`.")
    meta = json.loads((folder / METRICS_FILE).read_text()) if (folder / METRICS_FILE).is_file() else {}
    device = torch.device(device or "cpu")
    pair, max_length = bool(meta.get("pair", False)), int(meta.get("max_length", 128))
    if (folder / BOW_FILE).is_file():
        model, names = BowClassifier.load(folder)
        return Classifier("baseline", model.to(device), None, tuple(names), device, max_length, pair)
    cfg_file = folder / "config.json"
    if not cfg_file.is_file() or not files_in(folder, ".safetensors"):
        raise PlaygroundError(f"'{folder}' is not a fine-tuned checkpoint: it needs config.json and *.safetensors.")
    arch = json.loads(cfg_file.read_text()).get("architectures") or []
    known = [a for a in arch if a in CLASSIFIER_CLASSES]
    if not known:
        raise PlaygroundError(f"'{folder}' holds a {', '.join(arch) or 'model'} checkpoint, not a fine-tuned "
                              f"classifier ({', '.join(CLASSIFIER_CLASSES)}).")
    try:
        model = getattr(transformers, known[0]).from_pretrained(
            str(folder), use_safetensors=True, local_files_only=True, dtype=torch.float32, attn_implementation="sdpa")
        tokenizer = AutoTokenizer.from_pretrained(str(folder), local_files_only=True)
    except Exception as exc:
        raise PlaygroundError(f"'{folder}' could not be loaded: {type(exc).__name__}: {str(exc).splitlines()[0][:160]}") from None
    names = tuple(model.config.id2label[i] for i in range(model.config.num_labels))
    return Classifier("bert", model.to(device).eval(), tokenizer, names, device, max_length, pair)
