"""Cleaning user text and encoding it into BERT's input: [CLS] A [SEP] (B [SEP])."""
from __future__ import annotations

import copy
import re
import threading
import unicodedata
import weakref
from dataclasses import dataclass

import torch

from .errors import PlaygroundError

# Control characters (Cc) other than tab/newline, and the Unicode "format" characters that
# have no visible form (Cf, e.g. zero-width joiners stay: they matter for emoji) are dropped.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def clean_text(text, what: str = "The text") -> str:
    """Strip control characters and surrounding space; refuse empty input with a clear message."""
    if text is None:
        raise PlaygroundError(f"{what} is empty: type a sentence.")
    if not isinstance(text, str):
        raise PlaygroundError(f"{what} must be a string, not {type(text).__name__}.")
    text = unicodedata.normalize("NFC", _CONTROL.sub(" ", text)).strip()
    if not text:
        raise PlaygroundError(f"{what} is empty (or only spaces and control characters): type a sentence.")
    return text


@dataclass(frozen=True)
class Encoding:
    input_ids: list[int]
    token_type_ids: list[int]
    tokens: list[str]
    word_ids: list[int | None]  # index of the word each piece belongs to; None for [CLS]/[SEP]
    sentence_b_start: int | None  # index of B's first token, None for a single text
    truncated: bool  # True when the text was cut to the model's maximum length
    full_length: int  # length before truncation

    def __len__(self) -> int:
        return len(self.input_ids)

    def tensors(self) -> dict[str, torch.Tensor]:
        ids = torch.tensor([self.input_ids])
        return {
            "input_ids": ids,
            "token_type_ids": torch.tensor([self.token_type_ids]),
            "attention_mask": torch.ones_like(ids),
        }


def max_length(bundle) -> int:
    tok_max = getattr(bundle.tokenizer, "model_max_length", 10**9) or 10**9
    return int(min(tok_max, bundle.info.max_length))


# A fast tokenizer keeps truncation as state in its Rust object: setting it on the tokenizer every session
# shares while another thread encodes with it gives that thread a wrong (untruncated) result. So the shared
# tokenizer is only ever called without truncation, and truncating calls use a private copy, one at a time.
_COPIES: dict[int, tuple[weakref.ref, object, threading.Lock]] = {}
_COPIES_LOCK = threading.Lock()


def _truncating_copy(tokenizer):
    with _COPIES_LOCK:
        entry = _COPIES.get(id(tokenizer))
        if entry is None or entry[0]() is not tokenizer:
            for k in [k for k, e in _COPIES.items() if e[0]() is None]:  # tokenizers of unloaded checkpoints
                del _COPIES[k]
            entry = (weakref.ref(tokenizer), copy.deepcopy(tokenizer), threading.Lock())
            _COPIES[id(tokenizer)] = entry
    return entry[1], entry[2]


def encode_ids(tokenizer, text_a: str, text_b: str | None = None, limit: int = 512,
               seq_ids: list[int] | None = None) -> Encoding:
    """Tokenize one text or a pair, truncating the longer side first to `limit` tokens (thread-safe)."""
    full = tokenizer(text_a, text_b, add_special_tokens=True, truncation=False, verbose=False)
    enc = full
    if len(full["input_ids"]) > limit:
        private, lock = _truncating_copy(tokenizer)
        with lock:
            enc = private(text_a, text_b, add_special_tokens=True, truncation="longest_first", max_length=limit)
    ids = enc["input_ids"]
    types = enc.get("token_type_ids") or [0] * len(ids)
    b_start = types.index(1) if text_b is not None and 1 in types else None
    word_ids = enc.word_ids() if hasattr(enc, "word_ids") else [None] * len(ids)
    return Encoding(
        input_ids=list(ids), token_type_ids=list(types),
        tokens=tokenizer.convert_ids_to_tokens(ids), word_ids=list(word_ids),
        sentence_b_start=b_start, truncated=len(full["input_ids"]) > len(ids),
        full_length=len(full["input_ids"]),
    )


def encode(bundle, text_a: str, text_b: str | None = None) -> Encoding:
    """Clean and encode user text for `bundle`'s model (truncated to its maximum length)."""
    a = clean_text(text_a, "Sentence A")
    b = clean_text(text_b, "Sentence B") if text_b is not None else None
    return encode_ids(bundle.tokenizer, a, b, max_length(bundle))
