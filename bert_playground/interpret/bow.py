"""The non-BERT baseline: bag-of-words (unigrams + bigrams) logistic regression, in torch.

Features are binary word and word-pair indicators, L2-normalised per example; the model is one
`EmbeddingBag` (a sparse linear layer) plus a bias, trained with the same loop as BERT.
"""
from __future__ import annotations

import json
import math
import re
from collections import Counter
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
CONFIG_FILE = "baseline.json"


def words(text: str, prefix: str = "") -> list[str]:
    toks = WORD.findall(text.lower())
    return [prefix + t for t in toks] + [f"{prefix}{a} {b}" for a, b in zip(toks, toks[1:])]


def features(text: str, pair: str | None = None) -> set[str]:
    return set(words(text)) | (set(words(pair, "b:")) if pair is not None else set())


def build_vocab(texts, pairs=None, max_features: int = 50_000) -> dict[str, int]:
    counts = Counter()
    for i, t in enumerate(texts):
        counts.update(features(t, pairs[i] if pairs is not None else None))
    return {w: i for i, (w, _) in enumerate(counts.most_common(max_features))}


class BowClassifier(torch.nn.Module):
    def __init__(self, vocab: dict[str, int], num_labels: int):
        super().__init__()
        self.vocab = vocab
        self.weight = torch.nn.EmbeddingBag(max(len(vocab), 1), num_labels, mode="sum")  # (V, C)
        self.bias = torch.nn.Parameter(torch.zeros(num_labels))
        torch.nn.init.zeros_(self.weight.weight)

    def encode(self, texts, pairs=None) -> list[tuple[list[int], float]]:
        """Per example: the vocabulary ids present and the L2 weight 1/sqrt(n)."""
        out = []
        for i, t in enumerate(texts):
            ids = sorted(self.vocab[w] for w in features(t, pairs[i] if pairs is not None else None) if w in self.vocab)
            out.append((ids, 1.0 / math.sqrt(len(ids)) if ids else 0.0))
        return out

    @staticmethod
    def collate(encoded: list[tuple[list[int], float]], device) -> dict[str, torch.Tensor]:
        ids = [i for e, _ in encoded for i in e]
        offsets = [0]
        for e, _ in encoded[:-1]:
            offsets.append(offsets[-1] + len(e))
        weights = [w for e, w in encoded for _ in e]
        return {"ids": torch.tensor(ids, dtype=torch.long, device=device),
                "offsets": torch.tensor(offsets, dtype=torch.long, device=device),
                "weights": torch.tensor(weights, dtype=torch.float32, device=device)}

    def forward(self, ids, offsets, weights) -> torch.Tensor:
        return self.weight(ids, offsets, per_sample_weights=weights) + self.bias  # (B, C)

    def save(self, folder: Path, label_names) -> None:
        save_file({"weight": self.weight.weight.detach().cpu().contiguous(), "bias": self.bias.detach().cpu()},
                  str(folder / "model.safetensors"))
        words_by_id = sorted(self.vocab, key=self.vocab.get)
        (folder / CONFIG_FILE).write_text(json.dumps({"kind": "bag-of-words logistic regression",
                                                      "label_names": list(label_names), "vocab": words_by_id}))

    @classmethod
    def load(cls, folder: Path) -> tuple["BowClassifier", list[str]]:
        cfg = json.loads((folder / CONFIG_FILE).read_text())
        model = cls({w: i for i, w in enumerate(cfg["vocab"])}, len(cfg["label_names"]))
        sd = load_file(str(folder / "model.safetensors"))
        model.weight.weight.data.copy_(sd["weight"])
        model.bias.data.copy_(sd["bias"])
        return model.eval(), cfg["label_names"]
