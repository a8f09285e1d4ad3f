"""The other families' tokenizers step by step, at the level the `tokenizers` library exposes: its own normalizer
and pre-tokenizer (`normalize_str`, `pre_tokenize_str`), then the subword model written out here:

- byte-level BPE (RoBERTa, ModernBERT; Sennrich et al. 2016): each word starts as its characters (bytes, shown as
  the printable characters GPT-2's byte map gives them), and the merge of lowest rank among adjacent pairs is applied,
  again and again, until no learned merge is left;
- Unigram (ALBERT's SentencePiece; Kudo 2018): the segmentation of each word into vocabulary pieces with the highest
  total log-probability (Viterbi), and that score.
"""
from __future__ import annotations

import functools
import json
import math
from dataclasses import dataclass

from ..core.errors import PlaygroundError


@dataclass(frozen=True)
class BpeWord:
    word: str  # as the pre-tokenizer gives it (byte-level: 'Ġ' for a leading space)
    merges: tuple[tuple[str, str, int], ...]  # (left, right, rank) in the order applied
    pieces: tuple[str, ...]


@dataclass(frozen=True)
class UnigramWord:
    word: str
    pieces: tuple[str, ...]  # as the library shows them: an unknown stretch is its own text (its id is <unk>'s)
    score: float  # the sum of the pieces' log-probabilities
    unknown: tuple[bool, ...] = ()  # per piece: no vocabulary entry covers it


@functools.lru_cache(maxsize=8)
def _model(tokenizer) -> tuple[object, dict]:
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is None:
        raise PlaygroundError("This checkpoint's tokenizer is not a fast tokenizer: its steps are not exposed.")
    return backend, json.loads(backend.to_str())["model"]


def _words(tokenizer, backend, text: str) -> list[tuple[str, bool]]:
    """(word, is a typed special token): added tokens split off first, then the library's normalizer and
    pre-tokenizer on the rest."""
    from .wordpiece import split_added

    out = []
    for segment, special in split_added(tokenizer, text):
        if special:
            out.append((segment, True))
            continue
        normalized = backend.normalizer.normalize_str(segment) if backend.normalizer is not None else segment
        words = [normalized] if backend.pre_tokenizer is None else \
            [w for w, _ in backend.pre_tokenizer.pre_tokenize_str(normalized)]
        out += [(w, False) for w in words]
    return out


def bpe_steps(tokenizer, text: str) -> list[BpeWord]:
    """Every word's merges in the order they apply (lowest rank first), and its pieces."""
    backend, model = _model(tokenizer)
    if model.get("type") != "BPE":
        raise PlaygroundError("BPE step by step needs a BPE tokenizer (RoBERTa, ModernBERT).")
    vocab = model["vocab"]
    ranks = {tuple(m.split(" ", 1) if isinstance(m, str) else m): i for i, m in enumerate(model["merges"])}
    out = []
    for word, special in _words(tokenizer, backend, text):
        if special or (model.get("ignore_merges") and word in vocab):
            out.append(BpeWord(word, (), (word,)))
            continue
        symbols, done = list(word), []
        while len(symbols) > 1:
            pairs = [(ranks.get((a, b), math.inf), i) for i, (a, b) in enumerate(zip(symbols, symbols[1:]))]
            rank, i = min(pairs)  # the lowest rank (the leftmost on a tie)
            if rank == math.inf:
                break
            left, right = symbols[i], symbols[i + 1]
            merged, j = [], 0
            while j < len(symbols):  # every occurrence of the pair, left to right
                if j < len(symbols) - 1 and symbols[j] == left and symbols[j + 1] == right:
                    merged.append(left + right)
                    j += 2
                else:
                    merged.append(symbols[j])
                    j += 1
            symbols = merged
            done.append((left, right, int(rank)))
        out.append(BpeWord(word, tuple(done), tuple(symbols)))
    return out


def unigram_steps(tokenizer, text: str) -> list[UnigramWord]:
    """Every word's most probable segmentation into vocabulary pieces (Viterbi) and its score."""
    backend, model = _model(tokenizer)
    if model.get("type") != "Unigram":
        raise PlaygroundError("Unigram step by step needs a SentencePiece/Unigram tokenizer (ALBERT).")
    scores = {piece: score for piece, score in model["vocab"]}
    unk_score = min(scores.values()) - 10.0  # the library's penalty for a character no piece covers
    longest = max(len(p) for p in scores)
    out = []
    for word, special in _words(tokenizer, backend, text):
        if special:
            out.append(UnigramWord(word, (word,), 0.0, (False,)))
            continue
        n = len(word)
        best = [(-math.inf, -1, "")] * (n + 1)  # best[i]: (score, start of the last piece, that piece)
        best[0] = (0.0, -1, "")
        for end in range(1, n + 1):
            for start in range(max(0, end - longest), end):
                piece = word[start:end]
                s = scores.get(piece)
                if s is None and end - start == 1:
                    s = unk_score  # a single unknown character: [UNK] at a penalty
                if s is not None and best[start][0] + s > best[end][0]:
                    best[end] = (best[start][0] + s, start, piece)
        spans, i = [], n
        while i > 0:
            _, start, _ = best[i]
            spans.append((start, i))
            i = start
        spans = _fuse_unknowns(spans[::-1], word, scores)
        out.append(UnigramWord(word, tuple(word[a:b] for a, b in spans), float(best[n][0]),
                               tuple(word[a:b] not in scores for a, b in spans)))
    return out


def _fuse_unknowns(spans: list[tuple[int, int]], word: str, scores: dict) -> list[tuple[int, int]]:
    """Consecutive characters no piece covers become one unknown stretch, as the library's `fuse_unk` does."""
    out = []
    for a, b in spans:
        if word[a:b] not in scores and out and word[out[-1][0]:out[-1][1]] not in scores:
            out[-1] = (out[-1][0], b)
        else:
            out.append((a, b))
    return out
