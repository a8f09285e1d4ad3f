"""Token tagging data: CoNLL files (one 'word<TAB>tag' per line, a blank line between sentences), BIO tags."""
from __future__ import annotations

import random
import re
from dataclasses import dataclass
from pathlib import Path

from ..core.errors import PlaygroundError, shown
from ..core.paths import TASKS_DIR
from .files import MAX_ROWS, Rows, decode_text, read_bytes

NER_NAME = "WNUT-17 emerging entities (shipped sample)"
TAG_RE = re.compile(r"^(O|[BI]-\S+)$")
MAX_SENTENCE_WORDS = 400


@dataclass(frozen=True)
class TaggedData(Rows):
    """Sentences as words, a BIO tag id per word, and the tag names (O first, then B-/I- per entity type)."""

    name: str
    words: tuple[tuple[str, ...], ...]
    tags: tuple[tuple[int, ...], ...]  # index into label_names
    label_names: tuple[str, ...]

    def __len__(self) -> int:
        return len(self.words)

    def tag_names(self, i: int) -> list[str]:
        return [self.label_names[t] for t in self.tags[i]]

    @property
    def entity_types(self) -> tuple[str, ...]:
        return tuple(sorted({n[2:] for n in self.label_names if n != "O"}))

    def counts(self) -> dict[str, int]:
        """Entities (B- tags and I- tags that open a chunk) per type."""
        from ..finetune.metrics import entities

        out = dict.fromkeys(self.entity_types, 0)
        for i in range(len(self)):
            for kind, _, _ in entities(self.tag_names(i)):
                out[kind] = out.get(kind, 0) + 1
        return out

    def preview(self, n: int = 20) -> dict[str, list[str]]:
        return {"sentence": [" ".join(w) for w in self.words[:n]],
                "tags": [" ".join(t for t in self.tag_names(i)) for i in range(min(n, len(self)))]}

    def subset(self, idx: list[int], name: str | None = None) -> "TaggedData":
        return TaggedData(name or self.name, tuple(self.words[i] for i in idx), tuple(self.tags[i] for i in idx),
                          self.label_names)


def _tag_order(tags: set[str]) -> tuple[str, ...]:
    kinds = sorted({t[2:] for t in tags if t != "O"})
    return ("O", *(f"{p}-{k}" for k in kinds for p in "BI"))


def read_conll(raw: bytes, filename: str = "data.conll", label_names: tuple[str, ...] | None = None) -> TaggedData:
    """Sentences from CoNLL-style text: the word in the first column, its BIO tag in the last, a blank line
    between sentences ('-DOCSTART-' lines skipped). `label_names` fixes the tag ids of an evaluation file."""
    text = decode_text(raw, filename, "CoNLL")
    sentences, current, width = [], [], None
    ragged, bad_tags = [], []
    for n, line in enumerate(text.splitlines(), 1):
        cols = line.split("\t") if "\t" in line else line.split()
        cols = [c.strip() for c in cols]
        if not line.strip():
            if current:
                sentences.append(current)
            current = []
            continue
        if cols[0].startswith("-DOCSTART-"):
            continue
        width = width or len(cols)
        if len(cols) < 2 or len(cols) != width or not all(cols):
            ragged.append(n)
            continue
        if not TAG_RE.match(cols[-1]):
            bad_tags.append((n, cols[-1]))
            continue
        current.append((n, cols[0], cols[-1]))
    if current:
        sentences.append(current)
    if ragged:
        raise PlaygroundError(f"'{filename}' has lines with a different number of columns than its first line "
                              f"({width}; a word and its tag, separated by a tab): line(s) "
                              f"{', '.join(map(str, ragged[:5]))}{', …' if len(ragged) > 5 else ''}.")
    if bad_tags:
        listed = ", ".join(f"{shown(t, 20)} (line {n})" for n, t in bad_tags[:5])
        raise PlaygroundError(f"'{filename}' has tags that are not BIO tags (O, B-type, I-type): {listed}.")
    if not sentences:
        raise PlaygroundError(f"'{filename}' has no sentences: each line should be 'word<TAB>tag', "
                              "with a blank line between sentences.")
    if len(sentences) > MAX_ROWS:
        raise PlaygroundError(f"'{filename}' has {len(sentences):,} sentences; the limit is {MAX_ROWS:,}.")
    long = [s[0][0] for s in sentences if len(s) > MAX_SENTENCE_WORDS]
    if long:
        raise PlaygroundError(f"'{filename}' has a sentence of more than {MAX_SENTENCE_WORDS} words (starting at line "
                              f"{long[0]}): is a blank line between sentences missing?")
    seen = {t for s in sentences for _, _, t in s}
    if label_names is None:
        label_names = _tag_order(seen)
        if len(label_names) < 3:
            raise PlaygroundError(f"'{filename}' has no entities (every tag is O): a tagger has nothing to learn.")
    unknown = sorted(seen - set(label_names))
    if unknown:
        raise PlaygroundError(f"'{filename}' has tags the training data does not have: "
                              f"{', '.join(shown(t, 20) for t in unknown[:5])}.")
    ids = {t: i for i, t in enumerate(label_names)}
    return TaggedData(filename, tuple(tuple(w for _, w, _ in s) for s in sentences),
                      tuple(tuple(ids[t] for _, _, t in s) for s in sentences), tuple(label_names))


def read_conll_file(path: str | Path, label_names: tuple[str, ...] | None = None) -> TaggedData:
    return read_conll(*read_bytes(path), label_names)


def split_tagged(data: TaggedData, fraction: float = 0.2, seed: int = 0) -> tuple[TaggedData, TaggedData]:
    """(train, held-out) sentences for an upload without its own evaluation file."""
    if len(data) < 10:
        raise PlaygroundError(f"'{data.name}' has {len(data)} sentences; at least 10 are needed to hold some out.")
    idx = list(range(len(data)))
    random.Random(seed).shuffle(idx)
    k = max(1, round(len(idx) * fraction))
    return data.subset(sorted(idx[k:]), f"{data.name} (train)"), data.subset(sorted(idx[:k]), f"{data.name} (held out)")


def shipped_ner() -> tuple[TaggedData, TaggedData]:
    train = read_conll_file(TASKS_DIR / "wnut17_train.conll")
    test = read_conll_file(TASKS_DIR / "wnut17_test.conll", train.label_names)
    return (TaggedData(NER_NAME, train.words, train.tags, train.label_names),
            TaggedData(NER_NAME + " test", test.words, test.tags, test.label_names))
