"""Cleaning user text and encoding it into BERT's input: [CLS] A [SEP] (B [SEP]).

The one place that tokenizes, truncates and pads, for a text, a pair and a batch:
  token_ids / tokens   WordPiece ids / pieces with no length limit (pre-training, masking, NSP corpora);
  encode_ids / encode  one text or a pair, truncated to a limit (the pages, attention, NSP scoring);
  encode_batch         many texts or pairs, truncated, padded into (N, T) tensors (fine-tuning, classifying);
  truncate_ids         the same truncation rule for ids already encoded ([CLS] text [SEP]);
  pad_batch            the one batch builder: rows of ids (+ segments) -> padded tensors and attention mask.
Truncation rule: the longer side loses tokens first, from its end; [CLS] and every [SEP] stay.
Thread-safety rule: the tokenizer shared by all sessions is only ever called without truncation (a fast tokenizer
keeps truncation as state); truncating calls use a private copy, one at a time (`_truncating_copy`).
"""
from __future__ import annotations

import copy
import re
import threading
import unicodedata
import weakref
from dataclasses import dataclass

import torch

from ..core.errors import PlaygroundError

# Control characters (Cc) other than tab/newline become spaces. Format characters (Cf: zero-width space and
# joiners, the byte-order mark, direction marks) are kept, since joiners matter inside emoji, but text made
# only of them and spaces counts as empty: the model would read nothing.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def _visible(text: str) -> bool:
    return any(not ch.isspace() and unicodedata.category(ch) != "Cf" for ch in text)


def clean_text(text, what: str = "The text") -> str:
    """Strip control characters and surrounding space; refuse empty input with a clear message."""
    if text is None:
        raise PlaygroundError(f"{what} is empty: type a sentence.")
    if not isinstance(text, str):
        raise PlaygroundError(f"{what} must be a string, not {type(text).__name__}.")
    text = unicodedata.normalize("NFC", _CONTROL.sub(" ", text)).strip()
    if not _visible(text):
        raise PlaygroundError(f"{what} is empty (or only spaces and control characters): type a sentence.")
    return text


def typed_specials(tokenizer, *texts) -> tuple[str, ...]:
    """Special tokens other than the mask (e.g. [SEP], [CLS]) typed literally in the texts. The tokenizer reads them
    as the real special tokens (as BERT's does); the pages and the CLI say so with `typed_specials_notice`."""
    found = [t for t in getattr(tokenizer, "all_special_tokens", []) if t != getattr(tokenizer, "mask_token", None)
             and any(isinstance(s, str) and t in s for s in texts)]
    return tuple(dict.fromkeys(found))


def typed_specials_notice(found) -> str | None:
    if not found:
        return None
    return (f"{', '.join(found)} in your text is read as the model's own special token, not as words "
            "(BERT's tokenizer does the same): the model sees an extra segment boundary or marker there.")


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
        """A batch of one: (1, T) tensors."""
        return pad_batch([self.input_ids], [self.token_type_ids])


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
    b_start = _b_start(enc, types) if text_b is not None else None
    word_ids = enc.word_ids() if hasattr(enc, "word_ids") else [None] * len(ids)
    return Encoding(
        input_ids=list(ids), token_type_ids=list(types),
        tokens=tokenizer.convert_ids_to_tokens(ids), word_ids=list(word_ids),
        sentence_b_start=b_start, truncated=len(full["input_ids"]) > len(ids),
        full_length=len(full["input_ids"]),
    )


def _b_start(enc, types: list[int]) -> int | None:
    """Index of sentence B's first token: from the tokenizer's sequence ids (RoBERTa-style tokenizers give no
    segments: `<s> A </s></s> B </s>`), else from the segments."""
    seq = enc.sequence_ids() if hasattr(enc, "sequence_ids") else None
    if seq is not None and 1 in seq:
        return seq.index(1)
    return types.index(1) if 1 in types else None


def encode(bundle, text_a: str, text_b: str | None = None) -> Encoding:
    """Clean and encode user text for `bundle`'s model (truncated to its maximum length)."""
    a = clean_text(text_a, "Sentence A")
    b = clean_text(text_b, "Sentence B") if text_b is not None else None
    return encode_ids(bundle.tokenizer, a, b, max_length(bundle))


# ---- no length limit ----------------------------------------------------------------------

def token_ids(tokenizer, texts: list[str], specials: bool = False) -> list[list[int]]:
    """WordPiece ids of each text, untruncated, in one batched call; `specials`: as [CLS] text [SEP]."""
    if not texts:
        return []
    return tokenizer(list(texts), add_special_tokens=specials, truncation=False, verbose=False)["input_ids"]


def tokens(tokenizer, text: str) -> list[str]:
    """WordPiece strings of one text, no [CLS]/[SEP], no length limit."""
    return tokenizer.tokenize(text)


def truncate_ids(ids: list[int], limit: int, sep_id: int) -> tuple[list[int], bool]:
    """Cut [CLS] text [SEP] to `limit` tokens, keeping the final [SEP] (the truncation rule for encoded ids)."""
    if len(ids) <= limit:
        return ids, False
    return ids[: limit - 1] + [sep_id], True


# ---- batches ------------------------------------------------------------------------------

def pad_batch(ids: list[list[int]], segments: list[list[int]] | None = None, pad_id: int = 0,
              length: int | None = None) -> dict[str, torch.Tensor]:
    """Rows of ids (and their segments; default all 0) -> (N, T) input_ids, token_type_ids and attention_mask,
    padded on the right to the longest row (or to `length`)."""
    t = length if length is not None else max((len(x) for x in ids), default=0)
    segments = segments if segments is not None else [[0] * len(x) for x in ids]
    return {
        "input_ids": torch.tensor([list(x) + [pad_id] * (t - len(x)) for x in ids], dtype=torch.long).view(len(ids), t),
        "token_type_ids": torch.tensor([list(s) + [0] * (t - len(s)) for s in segments], dtype=torch.long).view(len(ids), t),
        "attention_mask": torch.tensor([[1] * len(x) + [0] * (t - len(x)) for x in ids], dtype=torch.long).view(len(ids), t),
    }


def encode_batch(tokenizer, texts, pairs=None, limit: int = 512) -> dict[str, torch.Tensor]:
    """Texts (or pairs), each truncated to `limit` tokens by the truncation rule, padded: (N, T) tensors."""
    texts = list(texts)
    pairs = list(pairs) if pairs is not None else None
    enc = tokenizer(texts, pairs, add_special_tokens=True, truncation=False, verbose=False) if texts else {"input_ids": []}
    ids = [list(x) for x in enc["input_ids"]]
    segs = [list(x) for x in enc.get("token_type_ids") or [[0] * len(x) for x in ids]]
    long = [i for i, x in enumerate(ids) if len(x) > limit]
    if long:
        private, lock = _truncating_copy(tokenizer)
        with lock:
            cut = private([texts[i] for i in long], [pairs[i] for i in long] if pairs is not None else None,
                          add_special_tokens=True, truncation="longest_first", max_length=limit, verbose=False)
        for k, i in enumerate(long):
            ids[i] = list(cut["input_ids"][k])
            segs[i] = list(cut["token_type_ids"][k]) if cut.get("token_type_ids") else [0] * len(ids[i])
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    return pad_batch(ids, segs, pad)
