"""WordPieces and words, passages and windows: what the token and span heads read and how their logits are decoded.

Token tagging (BERT paper, 5.3): a word's label sits on its first WordPiece; the other pieces (and the special
tokens) get IGNORE, so the loss skips them. Extractive QA (4.2): a passage longer than the window is cut into
overlapping windows (`stride` tokens of overlap); a span is scored start logit + end logit; the answer is the best
valid span (end >= start, at most `max_answer` tokens, inside the passage) over every window.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..core.errors import PlaygroundError

IGNORE = -100  # label of the pieces the loss skips (torch's cross_entropy ignore_index)


def first_piece_labels(word_ids: list[int | None], word_labels: list[int]) -> list[int]:
    """One label per WordPiece: the word's label on its first piece, IGNORE on later pieces and special tokens."""
    out, prev = [], None
    for w in word_ids:
        out.append(IGNORE if w is None or w == prev else word_labels[w])
        prev = w
    return out


def word_scores(word_ids: list[int | None], piece_values: np.ndarray, n_words: int) -> np.ndarray:
    """(n_words, ...) values read at each word's first piece; words cut off by the window get NaN."""
    out = np.full((n_words, *piece_values.shape[1:]), np.nan, dtype=np.float64)
    prev = None
    for i, w in enumerate(word_ids):
        if w is not None and w != prev:
            out[w] = piece_values[i]
        prev = w
    return out


# ---- extractive QA ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Window:
    """One window of question + passage: [CLS] question [SEP] passage piece [SEP]."""

    example: int  # index of the question it belongs to
    input_ids: list[int]
    token_type_ids: list[int]
    offsets: list[tuple[int, int]]  # character span of each token in the passage ((0, 0) outside it)
    in_passage: list[bool]  # the tokens that may start or end an answer


def windows(tokenizer, questions: list[str], contexts: list[str], max_length: int = 384, stride: int = 128) -> list[Window]:
    """Every question's windows over its passage, overlapping by `stride` tokens (the document stride)."""
    if not questions:
        return []
    longest = max(len(tokenizer(q, add_special_tokens=False)["input_ids"]) for q in questions)
    if longest > max_length // 2:
        raise PlaygroundError(f"A question has {longest} tokens; with {max_length} tokens per window it may have at "
                              f"most {max_length // 2}. Shorten the question or raise the maximum length.")
    if stride >= max_length - longest - 3:
        stride = max(0, (max_length - longest - 3) // 2)  # the overlap must leave room to move forward
    enc = tokenizer(questions, contexts, truncation="only_second", max_length=max_length, stride=stride,
                    return_overflowing_tokens=True, return_offsets_mapping=True, return_token_type_ids=True)
    out = []
    for i, ids in enumerate(enc["input_ids"]):
        seq = enc.sequence_ids(i)
        inside = [s == 1 for s in seq]
        offsets = [tuple(o) if ok else (0, 0) for o, ok in zip(enc["offset_mapping"][i], inside)]
        out.append(Window(enc["overflow_to_sample_mapping"][i], ids, enc["token_type_ids"][i], offsets, inside))
    return out


def answer_positions(w: Window, start_char: int, end_char: int) -> tuple[int, int]:
    """Token positions of the answer's first and last piece in this window, or (0, 0) ([CLS]) when the window
    does not hold the whole answer (as in BERT's SQuAD recipe)."""
    idx = [i for i, ok in enumerate(w.in_passage) if ok]
    if not idx or w.offsets[idx[0]][0] > start_char or w.offsets[idx[-1]][1] < end_char:
        return 0, 0
    s = next(i for i in idx if w.offsets[i][1] > start_char)
    e = next(i for i in reversed(idx) if w.offsets[i][0] < end_char)
    return s, max(s, e)


def best_span(start: np.ndarray, end: np.ndarray, allowed: np.ndarray, max_answer: int) -> tuple[int, int, float] | None:
    """(s, e, start[s] + end[e]) maximal over allowed s <= e < s + max_answer; None when no span is allowed."""
    t = len(start)
    i, j = np.indices((t, t))
    ok = (j >= i) & (j - i < max_answer) & allowed[:, None] & allowed[None, :]
    if not ok.any():
        return None
    scores = np.where(ok, start[:, None] + end[None, :], -np.inf)  # (T, T)
    k = int(np.argmax(scores))
    s, e = divmod(k, t)
    return s, e, float(scores[s, e])


def _softmax(x: np.ndarray) -> np.ndarray:
    z = np.exp(x - x.max())
    return z / z.sum()


@dataclass(frozen=True)
class Span:
    """The chosen answer: its text and character span in the passage, the window it came from, its score."""

    text: str
    start: int  # first character in the passage
    end: int  # one past the last character
    probability: float  # P(start) * P(end), each a softmax over its window's passage tokens
    window: int  # which of the question's windows (0-based)
    score: float  # start logit + end logit
    tokens: tuple[int, int]  # first and last token in that window


def decode(context: str, wins: list[Window], starts: list[np.ndarray], ends: list[np.ndarray],
           max_answer: int = 30) -> Span:
    """The best valid span over all of one question's windows (start + end logits, as in the BERT paper)."""
    best = None
    for k, (w, s_log, e_log) in enumerate(zip(wins, starts, ends)):
        allowed = np.asarray(w.in_passage[:len(s_log)], dtype=bool)
        found = best_span(np.asarray(s_log, np.float64), np.asarray(e_log, np.float64), allowed, max_answer)
        if found is not None and (best is None or found[2] > best[0][2]):
            best = (found, k)
    if best is None:
        return Span("", 0, 0, 0.0, 0, float("-inf"), (0, 0))
    (s, e, score), k = best
    w = wins[k]
    allowed = np.asarray(w.in_passage[:len(starts[k])], dtype=bool)
    p_s = _softmax(np.asarray(starts[k], np.float64)[allowed])
    p_e = _softmax(np.asarray(ends[k], np.float64)[allowed])
    pos = np.flatnonzero(allowed)
    prob = float(p_s[np.searchsorted(pos, s)] * p_e[np.searchsorted(pos, e)])
    a, b = w.offsets[s][0], w.offsets[e][1]
    return Span(context[a:b], a, b, prob, k, score, (s, e))
