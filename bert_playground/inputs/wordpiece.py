"""WordPiece step by step, written from the algorithm's definition (Schuster & Nakajima 2012; BERT's tokenizer, as
the Hugging Face `tokenizers` library runs it), so that every step can be shown and checked against the checkpoint's
own tokenizer:

1. the basic tokenizer: clean the text (drop NUL, U+FFFD and control characters, turn every whitespace into a
   space), put spaces around CJK ideographs (each is a word), lower-case and strip accents (uncased vocabularies),
   then split on whitespace and on every punctuation character;
2. for each word, greedy longest-match-first: the longest prefix in the vocabulary is the first piece, then the
   longest '##'-prefixed continuation, and so on; a word that cannot be covered, or longer than
   `max_input_chars_per_word` characters, becomes [UNK] whole.
"""
from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass

from ..core.errors import PlaygroundError

MAX_TEXT = 20_000  # characters explained step by step
# Rust's char::is_whitespace (the Unicode White_Space property), which the pre-tokenizer splits on
WHITE_SPACE = set("\t\n\x0b\x0c\r \x85\xa0\u1680\u2028\u2029\u202f\u205f\u3000") | {chr(c) for c in range(0x2000, 0x200B)}
CJK = ((0x4E00, 0x9FFF), (0x3400, 0x4DBF), (0x20000, 0x2A6DF), (0x2A700, 0x2B73F), (0x2B740, 0x2B81F),
       (0x2B820, 0x2CEAF), (0xF900, 0xFAFF), (0x2F800, 0x2FA1F))


@dataclass(frozen=True)
class Rules:
    """How a BERT tokenizer reads text (its normalizer's settings and its WordPiece model's)."""
    lowercase: bool
    strip_accents: bool
    chinese_chars: bool = True
    clean_text: bool = True
    prefix: str = "##"
    max_chars: int = 100
    unk: str = "[UNK]"


@dataclass(frozen=True)
class Word:
    word: str
    pieces: tuple[str, ...]
    tried: tuple[tuple[str, bool], ...]  # every candidate looked up, in order, and whether it is in the vocabulary
    unknown: bool  # the whole word became [UNK]
    too_long: bool = False  # longer than max_chars: [UNK] without a search

    def to_dict(self) -> dict:
        return {"word": self.word, "pieces": list(self.pieces), "tried": [list(t) for t in self.tried]}


@dataclass(frozen=True)
class Steps:
    """The basic tokenizer's stages (name, text or words) and the WordPiece search of every word."""
    stages: tuple[tuple[str, object], ...]
    words: tuple[Word, ...]
    tokens: tuple[str, ...]
    ids: tuple[int, ...]

    def to_dict(self) -> dict:
        """The CLI's `tokenize --steps --json`."""
        return {"words": [w.to_dict() for w in self.words], "tokens": list(self.tokens), "ids": list(self.ids)}


def _is_control(c: str) -> bool:
    return c not in "\t\n\r" and unicodedata.category(c) in ("Cc", "Cf", "Cn", "Co")


def _is_whitespace(c: str) -> bool:
    return c in " \t\n\r" or unicodedata.category(c) == "Zs"


def _is_punctuation(c: str) -> bool:
    return (c.isascii() and not c.isalnum() and c.isprintable() and c != " ") or unicodedata.category(c).startswith("P")


def _is_cjk(c: str) -> bool:
    return any(lo <= ord(c) <= hi for lo, hi in CJK)


def clean(text: str) -> str:
    return "".join(" " if _is_whitespace(c) else c for c in text if not (c in "\x00\ufffd" or _is_control(c)))


def space_cjk(text: str) -> str:
    return "".join(f" {c} " if _is_cjk(c) else c for c in text)


def strip_accents(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFD", text) if unicodedata.category(c) != "Mn")


def split_words(text: str) -> list[str]:
    """On whitespace, and every punctuation character on its own."""
    words, current = [], []
    for c in text:
        if c in WHITE_SPACE:
            words += ["".join(current)] if current else []
            current = []
        elif _is_punctuation(c):
            words += (["".join(current)] if current else []) + [c]
            current = []
        else:
            current.append(c)
    return words + (["".join(current)] if current else [])


def basic(text: str, rules: Rules) -> list[tuple[str, object]]:
    """The basic tokenizer's stages, each (name, the text or the words after it)."""
    stages = []
    if rules.clean_text:
        text = clean(text)
        stages.append(("cleaned (control characters dropped, whitespace made spaces)", text))
    if rules.chinese_chars:
        text = space_cjk(text)
        stages.append(("CJK ideographs set apart", text))
    if rules.strip_accents:
        text = strip_accents(text)
        stages.append(("accents stripped (NFD, combining marks removed)", text))
    if rules.lowercase:
        text = text.lower()
        stages.append(("lower-cased", text))
    stages.append(("split on whitespace and punctuation", split_words(text)))
    return stages


def wordpiece(word: str, vocab, rules: Rules) -> Word:
    """Greedy longest-match-first over `vocab` (a set or dict of pieces), every lookup recorded."""
    if len(word) > rules.max_chars:
        return Word(word, (rules.unk,), (), True, True)
    pieces, tried, start = [], [], 0
    while start < len(word):
        end, found = len(word), None
        while end > start:
            piece = word[start:end] if start == 0 else rules.prefix + word[start:end]
            hit = piece in vocab
            tried.append((piece, hit))
            if hit:
                found = piece
                break
            end -= 1
        if found is None:
            return Word(word, (rules.unk,), tuple(tried), True)
        pieces.append(found)
        start = end
    return Word(word, tuple(pieces), tuple(tried), False)


@functools.lru_cache(maxsize=8)
def rules_and_vocab(tokenizer) -> tuple[Rules, dict]:
    """`rules_of` and the vocabulary, read once per tokenizer (both need the whole tokenizer serialised)."""
    return rules_of(tokenizer), tokenizer.get_vocab()


def rules_of(tokenizer) -> Rules:
    """A checkpoint tokenizer's rules, read from its `tokenizers` pipeline (fast tokenizers)."""
    import json

    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is None or type(backend.model).__name__ != "WordPiece":
        raise PlaygroundError("WordPiece step by step needs a WordPiece tokenizer (BERT, DistilBERT, ELECTRA); this "
                              "checkpoint's tokenizer is not one.")
    spec = json.loads(backend.to_str())
    norm = spec.get("normalizer") or {}
    norm = next((n for n in norm.get("normalizers", [norm]) if n.get("type") == "BertNormalizer"), {})
    lower = bool(norm.get("lowercase", False))
    accents = norm.get("strip_accents")
    model = spec["model"]
    return Rules(lowercase=lower, strip_accents=lower if accents is None else bool(accents),
                 chinese_chars=bool(norm.get("handle_chinese_chars", True)), clean_text=bool(norm.get("clean_text", True)),
                 prefix=model.get("continuing_subword_prefix", "##"), max_chars=int(model.get("max_input_chars_per_word", 100)),
                 unk=model.get("unk_token", "[UNK]"))


def split_added(tokenizer, text: str) -> list[tuple[str, bool]]:
    """The text around the tokenizer's added tokens ([CLS], [MASK]... typed in the text): (segment, is an added
    token), as the library splits them off before normalizing (with their lstrip/rstrip rules)."""
    backend = getattr(tokenizer, "backend_tokenizer", None)
    added = [t for t in (backend.get_added_tokens_decoder().values() if backend is not None else []) if t.content]
    if not added:
        return [(text, False)]
    pattern = re.compile("|".join(re.escape(t.content) for t in sorted(added, key=lambda t: -len(t.content))))
    by_content = {t.content: t for t in added}
    out, last = [], 0
    for m in pattern.finditer(text):
        before = text[last:m.start()]
        if by_content[m.group()].lstrip:
            before = before.rstrip()
        out.append((before, False))
        out.append((m.group(), True))
        last = m.end()
        if by_content[m.group()].rstrip:
            last += len(text[last:]) - len(text[last:].lstrip())
    out.append((text[last:], False))
    return [(s, special) for s, special in out if special or s]


def steps(tokenizer, text: str) -> Steps:
    """`text` through the basic tokenizer and WordPiece, step by step, with the checkpoint tokenizer's rules and
    vocabulary (no [CLS]/[SEP]: those are added when a model input is packed). Special tokens typed in the text are
    kept whole, as the tokenizer keeps them."""
    text = str(text)
    if not text.strip():
        raise PlaygroundError("The text is empty: type a sentence to split.")
    if len(text) > MAX_TEXT:
        raise PlaygroundError(f"The text has {len(text):,} characters; at most {MAX_TEXT:,} are explained step by step.")
    rules, vocab = rules_and_vocab(tokenizer)
    parts = [(segment, None if special else basic(segment, rules)) for segment, special in split_added(tokenizer, text)]
    names = [name for name, _ in basic("x", rules)]
    stages = []  # each stage over the whole text; a typed special token passes every stage untouched
    for k, name in enumerate(names[:-1]):
        stages.append((name, " ".join(seg if st is None else st[k][1] for seg, st in parts)))
    stages.append((names[-1], [w for seg, st in parts for w in ([seg] if st is None else st[-1][1])]))
    words = [Word(seg, (seg,), ((seg, True),), False) if st is None else wordpiece(w, vocab, rules)
             for seg, st in parts for w in ([seg] if st is None else st[-1][1])]
    tokens = tuple(p for w in words for p in w.pieces)
    return Steps(tuple(stages), tuple(words), tokens, tuple(vocab[t] for t in tokens))
