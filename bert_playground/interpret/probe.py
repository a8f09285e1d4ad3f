"""Which layer knows what: linear probes on frozen BERT features, layer by layer (feature-based BERT).

BERT's paper (section 5.3) also used it without fine-tuning: features from its layers fed to a small
classifier. Here one forward pass per example gives every hidden state (0 = embedding output, L = last
layer), pooled two ways: the [CLS] vector, and the mean of the text's word pieces ([CLS], [SEP] and padding
left out). On each (layer, pooling) a multinomial logistic regression with an L2 penalty is fitted on the
training split (features standardised on it; L-BFGS to convergence, so the fit is the unique optimum) and
scored on the held-out split. The baseline is the same probe on bag-of-words features (`bow.features`:
word unigrams + bigrams that occur in at least two training texts), with no BERT at all.
"""
from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field
from typing import Callable, Iterator

import numpy as np
import torch

from ..core.errors import PlaygroundError
from ..core.notices import Notice
from ..datasets import LabelledData
from ..inputs.text import clean_text, encode_ids
from ..inputs.text import max_length as model_max_length
from . import bow
from .contextual import Progress, hidden_states

L2 = 1e-2  # penalty (lambda / 2) * ||W||^2 added to the mean cross-entropy; sklearn's C = 1 / (L2 * n_train)
MAX_TRAIN = 2000  # examples: larger uploads are subsampled (seeded), the probe is for insight, not for a leaderboard
MAX_EVAL = 1000
MAX_LENGTH = 128  # tokens per example


@dataclass(frozen=True)
class Features:
    cls: np.ndarray  # (L+1, N, D) the [CLS] vector at every hidden state
    mean: np.ndarray  # (L+1, N, D) the mean of the text's pieces at every hidden state


@dataclass(frozen=True)
class LayerScore:
    layer: int  # 0 = embedding output
    cls: float  # held-out accuracy of the probe on [CLS]
    mean: float  # ... on mean pooling

    @property
    def best(self) -> float:
        """The better of the two poolings' accuracies."""
        return max(self.cls, self.mean)


@dataclass(frozen=True)
class ProbeResult:
    model: str
    data: str
    layers: tuple[LayerScore, ...]
    baseline: float  # held-out accuracy of the same probe on bag-of-words features
    n_train: int
    n_eval: int
    n_classes: int
    majority: float  # accuracy of always answering the most frequent held-out class (the floor)
    notices: tuple[Notice, ...] = field(default=())  # e.g. a large upload subsampled

    @property
    def best_layer(self) -> LayerScore:
        """The layer whose features the probe reads best (either pooling); the lowest such layer on a tie."""
        return max(self.layers, key=lambda s: (s.best, -s.layer))

    def to_dict(self) -> dict:
        return {"layers": [{"layer": s.layer, "cls": round(s.cls, 6), "mean": round(s.mean, 6)} for s in self.layers],
                "baseline": round(self.baseline, 6)}


# ---- features ------------------------------------------------------------------------------------

def features(bundle, texts, pairs=None, max_length: int = MAX_LENGTH, batch_size: int = 32,
             on_progress: Callable[[int, int], None] | None = None) -> Features:
    """[CLS] and mean-pooled vectors of every hidden state, one forward pass per example (batched)."""
    limit = min(max_length, model_max_length(bundle))
    encs = [encode_ids(bundle.tokenizer, clean_text(t, "A text"), clean_text(pairs[i], "A second text")
                       if pairs is not None else None, limit) for i, t in enumerate(texts)]
    order = sorted(range(len(encs)), key=lambda i: len(encs[i]))
    n_states, dim = bundle.info.layers + 1, bundle.info.hidden_size
    cls = np.zeros((n_states, len(encs), dim), dtype=np.float32)
    mean = np.zeros_like(cls)
    for b in range(0, len(order), batch_size):
        idx = order[b:b + batch_size]
        batch = [encs[i] for i in idx]
        states = hidden_states(bundle, batch)  # (L+1, B, T, D)
        words = torch.zeros(states.shape[1], states.shape[2])  # (B, T) 1 on the text's pieces
        for j, e in enumerate(batch):
            words[j, [p for p, w in enumerate(e.word_ids) if w is not None]] = 1
        cls[:, idx] = states[:, :, 0].numpy()
        mean[:, idx] = ((states * words[None, :, :, None]).sum(2) / words.sum(1).clamp_min(1)[None, :, None]).numpy()
        if on_progress is not None:
            on_progress(min(b + batch_size, len(order)), len(order))
    return Features(cls, mean)


def bow_matrix(train_texts, eval_texts, train_pairs=None, eval_pairs=None, min_count: int = 2,
               max_features: int = 20_000) -> tuple[np.ndarray, np.ndarray]:
    """Binary bag-of-words (unigram + bigram, `bow.features`) matrices, L2-normalised rows as in `bow.py`."""
    feats = [bow.features(t, train_pairs[i] if train_pairs is not None else None) for i, t in enumerate(train_texts)]
    counts = Counter(f for fs in feats for f in fs)
    vocab = {f: i for i, (f, c) in enumerate(counts.most_common(max_features)) if c >= min_count}

    def matrix(sets):
        x = np.zeros((len(sets), max(len(vocab), 1)), dtype=np.float32)
        for r, fs in enumerate(sets):
            cols = [vocab[f] for f in fs if f in vocab]
            if cols:
                x[r, cols] = 1.0 / np.sqrt(len(cols))
        return x

    eval_feats = [bow.features(t, eval_pairs[i] if eval_pairs is not None else None) for i, t in enumerate(eval_texts)]
    return matrix(feats), matrix(eval_feats)


# ---- the probe -----------------------------------------------------------------------------------

def standardize(train: np.ndarray, test: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Zero mean, unit variance per column, from the training rows only (constant columns become 0)."""
    mu, sd = train.mean(0), train.std(0)
    sd = np.where(sd > 1e-8, sd, np.inf)
    return (train - mu) / sd, (test - mu) / sd


def fit_logistic(x: np.ndarray, y: np.ndarray, n_classes: int, l2: float = L2,
                 max_iter: int = 500) -> tuple[np.ndarray, np.ndarray]:
    """Multinomial logistic regression: argmin mean CE + l2/2 ||W||^2 (bias not penalised), by L-BFGS
    in float64. Returns (W (D, C), b (C,))."""
    X = torch.as_tensor(x, dtype=torch.float64)  # (N, D)
    Y = torch.as_tensor(np.asarray(y), dtype=torch.long)  # (N,)
    W = torch.zeros(X.shape[1], n_classes, dtype=torch.float64, requires_grad=True)
    b = torch.zeros(n_classes, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.LBFGS([W, b], lr=1, max_iter=max_iter, tolerance_grad=1e-9, tolerance_change=1e-12,
                            history_size=20, line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(X @ W + b, Y) + 0.5 * l2 * (W * W).sum()
        loss.backward()
        return loss

    with torch.enable_grad():
        opt.step(closure)
    return W.detach().numpy(), b.detach().numpy()


def accuracy(w: np.ndarray, b: np.ndarray, x: np.ndarray, y) -> float:
    return float(np.mean(np.argmax(x @ w + b, axis=1) == np.asarray(y)))


def probe_accuracy(train_x, train_y, eval_x, eval_y, n_classes: int, l2: float = L2) -> float:
    """Standardise, fit on train, score on eval."""
    tr, ev = standardize(np.asarray(train_x, dtype=np.float64), np.asarray(eval_x, dtype=np.float64))
    w, b = fit_logistic(tr, train_y, n_classes, l2)
    return accuracy(w, b, ev, eval_y)


def _cap(data: LabelledData, n: int, seed: int, notices: list, what: str) -> LabelledData:
    if len(data) <= n:
        return data
    notices.append(Notice(f"The {what} split has {len(data):,} examples; the probe uses a random {n:,} of them."))
    return data.subset(sorted(random.Random(seed).sample(range(len(data)), n)))


def run(bundle, train: LabelledData, test: LabelledData, l2: float = L2, max_length: int = MAX_LENGTH,
        seed: int = 0, on_progress: Callable[[int, int], None] | None = None) -> ProbeResult:
    """`steps` run to the end."""
    for step in steps(bundle, train, test, l2, max_length, seed):
        if isinstance(step, ProbeResult):
            return step
        if on_progress is not None:
            on_progress(step.done, step.total)
    raise AssertionError("steps ended without a result")


def steps(bundle, train: LabelledData, test: LabelledData, l2: float = L2, max_length: int = MAX_LENGTH,
          seed: int = 0, stop=None) -> Iterator[Progress | ProbeResult]:
    """Held-out accuracy of a linear probe on every layer's [CLS] and mean-pooled features, and the baseline:
    yields Progress (examples through the model, then probes fitted), then the ProbeResult."""
    if len(train) < 2 or len(test) < 1:
        raise PlaygroundError("The probe needs at least 2 training and 1 held-out example.")
    if len(set(train.labels)) < 2:
        raise PlaygroundError("The training split has only one class: a probe needs at least two.")
    notices: list[Notice] = []
    train, test = _cap(train, MAX_TRAIN, seed, notices, "training"), _cap(test, MAX_EVAL, seed, notices, "held-out")
    n_classes = len(train.label_names)
    n_states = bundle.info.layers + 1
    total = len(train) + len(test) + n_states + 1  # examples through the model, then one step per layer + baseline
    feats = []
    for split, offset in ((train, 0), (test, len(train))):
        for b in range(0, len(split), 32):
            if stop is not None and stop.is_set():
                raise PlaygroundError("The probe was stopped.")
            feats.append(features(bundle, split.texts[b:b + 32], split.text_pairs[b:b + 32] if split.text_pairs else None,
                                  max_length))
            yield Progress(offset + min(b + 32, len(split)), total)
    k = -(-len(train) // 32)  # batches of the training split
    f_train = Features(*(np.concatenate([getattr(f, a) for f in feats[:k]], axis=1) for a in ("cls", "mean")))
    f_test = Features(*(np.concatenate([getattr(f, a) for f in feats[k:]], axis=1) for a in ("cls", "mean")))
    y_tr, y_te = np.array(train.labels), np.array(test.labels)
    scores = []
    for layer in range(n_states):
        if stop is not None and stop.is_set():
            raise PlaygroundError("The probe was stopped.")
        scores.append(LayerScore(layer, probe_accuracy(f_train.cls[layer], y_tr, f_test.cls[layer], y_te, n_classes, l2),
                                 probe_accuracy(f_train.mean[layer], y_tr, f_test.mean[layer], y_te, n_classes, l2)))
        yield Progress(len(train) + len(test) + layer + 1, total)
    scores = tuple(scores)
    b_train, b_test = bow_matrix(train.texts, test.texts, train.text_pairs, test.text_pairs)
    baseline = probe_accuracy(b_train, y_tr, b_test, y_te, n_classes, l2)
    majority = max(Counter(test.labels).values()) / len(test)
    yield Progress(total, total)
    yield ProbeResult(bundle.info.name, train.name, scores, baseline, len(train), len(test), n_classes, majority,
                      tuple(notices))
