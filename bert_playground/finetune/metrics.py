"""Held-out scores of the token and span tasks: entity-level P/R/F1 over BIO tags (seqeval / conlleval rules)
and SQuAD v1.1's exact match and token F1 (its official script's normalisation)."""
from __future__ import annotations

import re
import string
from collections import Counter
from dataclasses import dataclass, field

# ---- token tagging: entities from BIO tags -------------------------------------------------------


def _split(tag: str) -> tuple[str, str]:
    """'B-person' -> ('B', 'person'); 'O' -> ('O', '')."""
    if tag == "O" or "-" not in tag:
        return "O", ""
    prefix, kind = tag.split("-", 1)
    return prefix, kind


def entities(tags: list[str]) -> list[tuple[str, int, int]]:
    """Entity spans (type, first word, last word + 1) of a BIO sequence, as conlleval/seqeval read them:
    a chunk starts at B-X, or at I-X after O or after another type; it ends before O, B-* or another type."""
    out, start, kind = [], None, ""
    for i, tag in enumerate(list(tags) + ["O"]):
        prefix, k = _split(tag)
        ends = start is not None and (prefix in ("O", "B") or k != kind)
        if ends:
            out.append((kind, start, i))
            start = None
        if prefix == "B" or (prefix == "I" and start is None):
            start, kind = i, k
    return out


@dataclass(frozen=True)
class TagMetrics:
    """Entity-level precision, recall and F1 (micro over entities), with each type's (P, R, F1, support)."""

    precision: float
    recall: float
    f1: float
    loss: float
    per_type: dict[str, tuple[float, float, float, int]] = field(default_factory=dict)
    n: int = 0  # sentences
    n_true: int = 0  # gold entities
    n_pred: int = 0  # predicted entities

    @property
    def score(self) -> float:  # what early stopping and the experiment sheet compare
        return self.f1

    def row(self) -> dict:
        return {"eval_entity_f1": self.f1, "eval_precision": self.precision, "eval_recall": self.recall}

    def summary(self) -> dict:
        return {"entity_f1": self.f1, "precision": self.precision, "recall": self.recall, "eval_loss": self.loss,
                "entities_true": self.n_true, "entities_predicted": self.n_pred,
                "per_type": {k: {"precision": p, "recall": r, "f1": f, "support": s}
                             for k, (p, r, f, s) in self.per_type.items()}}


def _prf(tp: int, n_pred: int, n_true: int) -> tuple[float, float, float]:
    p = tp / n_pred if n_pred else 0.0
    r = tp / n_true if n_true else 0.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def entity_metrics(true_tags: list[list[str]], pred_tags: list[list[str]], loss: float = float("nan")) -> TagMetrics:
    """Exact-span matches of predicted and gold entities (type and boundaries both right) over all sentences."""
    if len(true_tags) != len(pred_tags):
        raise ValueError("true and predicted tag sequences differ in number")
    gold, pred = set(), set()
    for i, (t, p) in enumerate(zip(true_tags, pred_tags)):
        if len(t) != len(p):
            raise ValueError(f"sentence {i}: {len(t)} gold tags but {len(p)} predicted")
        gold |= {(i, *e) for e in entities(t)}
        pred |= {(i, *e) for e in entities(p)}
    tp = gold & pred
    per_type = {}
    for kind in sorted({e[1] for e in gold | pred}):
        g, q, both = (sum(e[1] == kind for e in s) for s in (gold, pred, tp))
        per_type[kind] = (*_prf(both, q, g), g)
    return TagMetrics(*_prf(len(tp), len(pred), len(gold)), loss, per_type, len(true_tags), len(gold), len(pred))


# ---- extractive QA: SQuAD v1.1's official EM and F1 --------------------------------------------

_PUNCT = set(string.punctuation)


def normalize_answer(s: str) -> str:
    """SQuAD's normalisation: lower case, remove punctuation, remove articles (a, an, the), fix whitespace."""
    s = "".join(ch for ch in s.lower() if ch not in _PUNCT)
    s = re.sub(r"\b(a|an|the)\b", " ", s)
    return " ".join(s.split())


def exact_match(prediction: str, truth: str) -> float:
    return float(normalize_answer(prediction) == normalize_answer(truth))


def token_f1(prediction: str, truth: str) -> float:
    """Harmonic mean of precision and recall of the normalised tokens in common (bag of tokens)."""
    pred, gold = normalize_answer(prediction).split(), normalize_answer(truth).split()
    same = sum((Counter(pred) & Counter(gold)).values())
    if same == 0:
        return 0.0
    p, r = same / len(pred), same / len(gold)
    return 2 * p * r / (p + r)


def best_over_answers(metric, prediction: str, truths: list[str]) -> float:
    """SQuAD scores a prediction against its best-matching reference answer."""
    return max(metric(prediction, t) for t in truths)


@dataclass(frozen=True)
class QAMetrics:
    """Mean exact match and token F1 over the held-out questions (0-1)."""

    exact_match: float
    f1: float
    loss: float
    n: int = 0

    @property
    def score(self) -> float:
        return self.f1

    def row(self) -> dict:
        return {"eval_exact_match": self.exact_match, "eval_f1": self.f1}

    def summary(self) -> dict:
        return {"exact_match": self.exact_match, "f1": self.f1, "eval_loss": self.loss}


def qa_metrics(predictions: list[str], truths: list[list[str]], loss: float = float("nan")) -> QAMetrics:
    n = len(predictions)
    em = sum(best_over_answers(exact_match, p, t) for p, t in zip(predictions, truths))
    f1 = sum(best_over_answers(token_f1, p, t) for p, t in zip(predictions, truths))
    return QAMetrics(em / max(n, 1), f1 / max(n, 1), loss, n)
