"""The trained token tagger and span reader: predict on a user's text, save, load (the sequence classifier is
`classifier.Classifier`)."""
from __future__ import annotations

import inspect
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from transformers import AutoModelForQuestionAnswering, AutoModelForTokenClassification, AutoTokenizer

from ..core.errors import PlaygroundError
from ..core.training import autocast
from ..inputs.text import clean_text
from .metrics import entities
from .spans import IGNORE, Span, Window, decode, first_piece_labels, windows, word_scores

METRICS_FILE = "metrics.json"


# ---- token tagging ---------------------------------------------------------------------------------


def encode_words(tokenizer, sentences, tags=None, max_length: int = 128) -> dict:
    """Word-split sentences -> (N, T) input_ids / token_type_ids / attention_mask (+ labels on first pieces),
    and each row's word_ids (which word each piece belongs to)."""
    enc = tokenizer([list(s) for s in sentences], is_split_into_words=True, truncation=True, max_length=max_length)
    ids = enc["input_ids"]
    t = max((len(x) for x in ids), default=0)
    word_ids = [enc.word_ids(i) for i in range(len(ids))]
    pad = tokenizer.pad_token_id or 0
    out = {"input_ids": torch.tensor([x + [pad] * (t - len(x)) for x in ids], dtype=torch.long).view(len(ids), t),
           "token_type_ids": torch.zeros((len(ids), t), dtype=torch.long),
           "attention_mask": torch.tensor([[1] * len(x) + [0] * (t - len(x)) for x in ids], dtype=torch.long).view(len(ids), t)}
    if tags is not None:
        labels = [first_piece_labels(w, list(y)) + [IGNORE] * (t - len(w)) for w, y in zip(word_ids, tags)]
        out["labels"] = torch.tensor(labels, dtype=torch.long).view(len(ids), t)
    return {"tensors": out, "word_ids": word_ids}


def accepted(model: torch.nn.Module, tensors: dict) -> dict:
    """The tensors `model` takes (DistilBERT and ModernBERT take no token_type_ids)."""
    names = inspect.signature(model.forward).parameters
    return {k: v for k, v in tensors.items() if k in names}


@torch.no_grad()
def token_logits(model, tensors: dict, device, batch_size: int = 64) -> list[np.ndarray]:
    """Each row's (T_i, C) float logits (padding removed)."""
    n = len(tensors["input_ids"])
    lengths = tensors["attention_mask"].sum(1)
    out: list = [None] * n
    order = torch.argsort(lengths, descending=True)
    for i in range(0, n, batch_size):
        idx = order[i:i + batch_size]
        t = int(lengths[idx].max())
        b = {k: v[idx, :t].to(device) for k, v in tensors.items() if k != "labels"}
        with autocast(device):
            logits = model(**accepted(model, b)).logits.float().cpu().numpy()  # (B, T, C)
        for k, j in enumerate(idx.tolist()):
            out[j] = logits[k, :int(lengths[j])]
    return out


def _softmax(x: np.ndarray) -> np.ndarray:
    z = np.exp(x - x.max(-1, keepdims=True))
    return z / z.sum(-1, keepdims=True)


@dataclass(frozen=True)
class Entity:
    text: str
    label: str  # entity type, e.g. 'person'
    start: int  # first character in the text
    end: int  # one past the last character
    probability: float  # mean over its words of the probability of the predicted tag


@dataclass(frozen=True)
class TagPrediction:
    tokens: tuple[str, ...]  # the words (BERT's pre-tokenisation: whitespace and punctuation)
    labels: tuple[str, ...]  # one BIO tag per word (read at its first WordPiece)
    probabilities: np.ndarray  # (n_words, C) every tag's probability
    label_names: tuple[str, ...]
    entities: tuple[Entity, ...]
    offsets: tuple[tuple[int, int], ...]  # each word's character span

    def to_dict(self) -> dict:
        return {"tokens": list(self.tokens), "labels": list(self.labels),
                "entities": [{"text": e.text, "label": e.label, "start": e.start, "end": e.end,
                              "probability": round(e.probability, 6)} for e in self.entities]}


@dataclass(frozen=True)
class Tagger:
    """A token-classification model: a BIO tag per word, read at the word's first WordPiece."""

    model: torch.nn.Module
    tokenizer: object
    label_names: tuple[str, ...]
    device: torch.device
    max_length: int = 128

    def settings(self) -> dict:
        return {"labels": list(self.label_names), "max_length": self.max_length}
    kind: str = "tag"

    def word_probabilities(self, sentences: list[list[str]]) -> list[np.ndarray]:
        """(n_words, C) probabilities per sentence; words beyond the window get probability 1 for 'O'."""
        was = self.model.training
        self.model.eval()
        enc = encode_words(self.tokenizer, sentences, None, self.max_length)
        logits = token_logits(self.model, enc["tensors"], self.device)
        self.model.train(was)
        out = []
        for words, w_ids, lg in zip(sentences, enc["word_ids"], logits):
            p = word_scores(w_ids, _softmax(lg), len(words))
            cut = np.isnan(p[:, 0])
            p[cut] = 0.0
            p[cut, self.label_names.index("O") if "O" in self.label_names else 0] = 1.0
            out.append(p)
        return out

    def predict(self, text: str) -> TagPrediction:
        text = clean_text(text, "The sentence")
        words = self.tokenizer.backend_tokenizer.pre_tokenizer.pre_tokenize_str(text)
        if not words:
            raise PlaygroundError("The sentence has no words to tag.")
        tokens, offsets = tuple(w for w, _ in words), tuple(tuple(o) for _, o in words)
        p = self.word_probabilities([list(tokens)])[0]  # (n_words, C)
        labels = tuple(self.label_names[int(i)] for i in p.argmax(-1))
        ents = tuple(Entity(text[offsets[s][0]:offsets[e - 1][1]], kind, offsets[s][0], offsets[e - 1][1],
                            float(p[s:e].max(-1).mean())) for kind, s, e in entities(list(labels)))
        return TagPrediction(tokens, labels, p, self.label_names, ents, offsets)


# ---- extractive QA ---------------------------------------------------------------------------------


@torch.no_grad()
def span_logits(model, wins: list[Window], device, pad_id: int = 0, batch_size: int = 64) -> list[tuple[np.ndarray, np.ndarray]]:
    """(start, end) float logits of each window."""
    out = []
    for i in range(0, len(wins), batch_size):
        part = wins[i:i + batch_size]
        t = max(len(w.input_ids) for w in part)
        b = {"input_ids": torch.tensor([w.input_ids + [pad_id] * (t - len(w.input_ids)) for w in part]),
             "token_type_ids": torch.tensor([w.token_type_ids + [0] * (t - len(w.token_type_ids)) for w in part]),
             "attention_mask": torch.tensor([[1] * len(w.input_ids) + [0] * (t - len(w.input_ids)) for w in part])}
        with autocast(device):
            res = model(**accepted(model, {k: v.to(device) for k, v in b.items()}))
        s, e = res.start_logits.float().cpu().numpy(), res.end_logits.float().cpu().numpy()  # (B, T)
        out += [(s[k, :len(w.input_ids)], e[k, :len(w.input_ids)]) for k, w in enumerate(part)]
    return out


@dataclass(frozen=True)
class QAPrediction:
    span: Span
    tokens: tuple[str, ...]  # the chosen window's tokens
    start_probabilities: np.ndarray  # (T,) softmax of the start logits over the window's passage tokens (0 elsewhere)
    end_probabilities: np.ndarray  # (T,)
    n_windows: int

    def to_dict(self) -> dict:
        s = self.span
        return {"answer": s.text, "start": s.start, "end": s.end, "probability": round(s.probability, 6), "window": s.window}


def _masked_softmax(x: np.ndarray, mask: np.ndarray) -> np.ndarray:
    out = np.zeros_like(x, dtype=np.float64)
    z = np.exp(x[mask] - x[mask].max())
    out[mask] = z / z.sum()
    return out


@dataclass(frozen=True)
class Reader:
    """A question-answering model: start and end logits over the passage tokens; the best valid span wins."""

    model: torch.nn.Module
    tokenizer: object
    device: torch.device
    max_length: int = 256
    stride: int = 128
    max_answer: int = 30

    def settings(self) -> dict:
        return {"stride": self.stride, "max_answer": self.max_answer, "max_length": self.max_length}
    kind: str = "qa"

    def answers(self, questions: list[str], contexts: list[str]) -> list[tuple[Span, list, list]]:
        """Each question's best span over its windows, with the windows and their logits."""
        was = self.model.training
        self.model.eval()
        wins = windows(self.tokenizer, questions, contexts, self.max_length, self.stride)
        logits = span_logits(self.model, wins, self.device, self.tokenizer.pad_token_id or 0)
        self.model.train(was)
        groups: list[list[int]] = [[] for _ in questions]
        for k, w in enumerate(wins):
            groups[w.example].append(k)
        out = []
        for i, ks in enumerate(groups):
            ws, lg = [wins[k] for k in ks], [logits[k] for k in ks]
            out.append((decode(contexts[i], ws, [s for s, _ in lg], [e for _, e in lg], self.max_answer), ws, lg))
        return out

    def predict(self, question: str, context: str) -> QAPrediction:
        question, context = clean_text(question, "The question"), clean_text(context, "The passage")
        if len(context.split()) > 5_000:
            raise PlaygroundError(f"The passage has {len(context.split()):,} words; the limit is 5,000.")
        span, ws, lg = self.answers([question], [context])[0]
        w, (s, e) = ws[span.window], lg[span.window]
        mask = np.asarray(w.in_passage, dtype=bool)
        toks = tuple(self.tokenizer.convert_ids_to_tokens(w.input_ids))
        return QAPrediction(span, toks, _masked_softmax(s, mask), _masked_softmax(e, mask), len(ws))


# ---- saving and loading ----------------------------------------------------------------------------


def save_model(predictor, folder: str | Path, info: dict) -> Path:
    """A normal Hugging Face folder (safetensors, tokenizer, tag names in config.json) plus metrics.json."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    predictor.model.save_pretrained(str(folder), safe_serialization=True)
    predictor.tokenizer.save_pretrained(str(folder))
    (folder / METRICS_FILE).write_text(json.dumps(info, indent=1, ensure_ascii=False))
    return folder


def load_predictor(folder: str | Path, device: str | torch.device | None = None):
    """A Tagger or a Reader from a folder written by `finetune --task tag|qa --save`."""
    folder = Path(folder).expanduser()
    if not folder.is_dir() or not (folder / "config.json").is_file():
        raise PlaygroundError(f"'{folder}' is not a model folder: give the folder written by `finetune --save`.")
    if not list(folder.glob("*.safetensors")):
        raise PlaygroundError(f"'{folder}' has no .safetensors weights (only safetensors are loaded).")
    try:
        arch = (json.loads((folder / "config.json").read_text()).get("architectures") or [""])[0]
    except (ValueError, UnicodeDecodeError):
        raise PlaygroundError(f"'{folder}/config.json' is not valid JSON.") from None
    meta = json.loads((folder / METRICS_FILE).read_text()) if (folder / METRICS_FILE).is_file() else {}
    device = torch.device(device or "cpu")
    tok = AutoTokenizer.from_pretrained(str(folder), local_files_only=True)
    if arch.endswith("ForTokenClassification"):
        model = AutoModelForTokenClassification.from_pretrained(str(folder), local_files_only=True, use_safetensors=True)
        names = tuple(model.config.id2label[i] for i in range(model.config.num_labels))
        return Tagger(model.to(device).eval(), tok, names, device, meta.get("max_length", 128))
    if arch.endswith("ForQuestionAnswering"):
        model = AutoModelForQuestionAnswering.from_pretrained(str(folder), local_files_only=True, use_safetensors=True)
        return Reader(model.to(device).eval(), tok, device, meta.get("max_length", 256), meta.get("stride", 128),
                      meta.get("max_answer", 30))
    raise PlaygroundError(f"'{folder}' holds a {arch or 'model of unknown kind'}, not a tagger or a QA model "
                          "(classifiers: use `classify`).")
