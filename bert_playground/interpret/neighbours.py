"""Nearest uses in a corpus (exBERT-style, without preprocessing): which word occurrences of a corpus have
the most similar contextual vector, at one layer, to a chosen occurrence.

The corpus is run through the model once per (checkpoint, corpus, layer, pooling): every word occurrence
(pieces pooled as in `contextual`, mean or first piece) and every [CLS]/[SEP] becomes one unit-length
float16 row of an index. A query is one matrix product with that index (cosine similarity), stop-words,
punctuation and special tokens masked out on request, then an exact top-k.
"""
from __future__ import annotations

import hashlib
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

import numpy as np
import torch

from ..core.errors import PlaygroundError
from ..core.paths import CONTEXT_CORPUS, NSP_DEMO_CORPUS
from ..inputs.corpus import parse_pasted, split_sentences
from ..inputs.text import encode
from . import contextual as C

MAX_CORPUS_CHARS = 2_000_000  # about 15,000 Wikipedia sentences; the shipped corpus is 0.4 MB
MAX_CORPUS_SENTENCES = 20_000
MAX_K = 100
SHIPPED_NAME = "Shipped: NSP demo corpus + 3,000 Wikipedia sentences"
_CHUNK = 16_384  # rows of the index turned to float32 at a time during a search
# English stop-words (function words); punctuation-only tokens are treated as stop-words too.
STOP_WORDS = frozenset("""
a about above after again against all am an and any are as at be because been before being below between both
but by can could did do does doing down during each few for from further had has have having he her here hers
herself him himself his how i if in into is it its itself just me more most my myself no nor not now of off on
once only or other our ours ourselves out over own same she should so some such than that the their theirs them
themselves then there these they this those through to too under until up very was we were what when where which
while who whom why will with would you your yours yourself yourselves s t d ll m re ve also may might must shall
""".split())


@dataclass(frozen=True)
class Corpus:
    name: str
    sentences: tuple[str, ...]

    def __len__(self) -> int:
        return len(self.sentences)

    @property
    def digest(self) -> str:
        """A hash of the sentences: the cache key of the corpus's index."""
        return hashlib.sha256("\n".join(self.sentences).encode("utf-8")).hexdigest()[:16]


@dataclass(frozen=True)
class CorpusIndex:
    model: str
    corpus: Corpus
    layer: int  # hidden state indexed: 0 = embedding output, L = last encoder layer
    pooling: str  # 'mean' | 'first' (how a word's pieces became one vector)
    vectors: torch.Tensor  # (M, D) float16, unit length
    sentence: np.ndarray  # (M,) int32: the sentence of each row
    word: np.ndarray  # (M,) int32: word index in its sentence (-1 for [CLS]/[SEP])
    text: tuple[str, ...]  # (M,) the word as the tokenizer sees it (pieces joined), or '[CLS]'/'[SEP]'
    special: np.ndarray  # (M,) bool: [CLS] / [SEP]
    stop: np.ndarray  # (M,) bool: stop-word or punctuation
    seconds: float  # time it took to build

    def __len__(self) -> int:
        return self.vectors.shape[0]

    @property
    def nbytes(self) -> int:
        return self.vectors.numel() * self.vectors.element_size()


@dataclass(frozen=True)
class Neighbour:
    sentence_index: int
    sentence: str
    token: str
    similarity: float
    before: str  # the sentence split around the matched word, for highlighting ('' + sentence + '' if not found)
    match: str
    after: str

    def to_dict(self) -> dict:
        return {"sentence": self.sentence, "token": self.token, "similarity": round(self.similarity, 6)}


# ---- corpora ------------------------------------------------------------------------------------

def parse_corpus(text: str, name: str = "Pasted text") -> Corpus:
    """Each non-empty line is split into sentences (a line with one sentence stays one); lines are never joined."""
    if not isinstance(text, str) or not text.strip():
        raise PlaygroundError(f"{name} is empty: paste some sentences (one or more per line).")
    if len(text) > MAX_CORPUS_CHARS:
        raise PlaygroundError(f"{name} is {len(text) / 1e6:.1f} million characters; the limit is "
                              f"{MAX_CORPUS_CHARS / 1e6:.0f} million (about 15,000 sentences). Use a smaller sample.")
    sentences = [s for line in text.splitlines() if line.strip() for s in split_sentences(" ".join(line.split()))]
    if not sentences:
        raise PlaygroundError(f"{name} has no sentences.")
    if len(sentences) > MAX_CORPUS_SENTENCES:
        raise PlaygroundError(f"{name} has {len(sentences):,} sentences; the limit is {MAX_CORPUS_SENTENCES:,}.")
    return Corpus(name, tuple(sentences))


def read_corpus_file(path: str | Path) -> Corpus:
    path = Path(path)
    if not path.is_file():
        raise PlaygroundError(f"'{path}' does not exist or is not a file.")
    if path.stat().st_size > 4 * MAX_CORPUS_CHARS:
        raise PlaygroundError(f"'{path.name}' is {path.stat().st_size / 2**20:.1f} MB; the limit is about "
                              f"{MAX_CORPUS_CHARS / 1e6:.0f} million characters.")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise PlaygroundError(f"'{path}' is not UTF-8 text.") from None
    return parse_corpus(text, f"'{path.name}'")


def shipped_corpus() -> Corpus:
    """The NSP page's demo corpus (split into sentences) followed by the Wikipedia sample (one per line)."""
    demo = [s for d in parse_pasted(NSP_DEMO_CORPUS.read_text(encoding="utf-8")) for s in d.sentences]
    wiki = [ln.strip() for ln in CONTEXT_CORPUS.read_text(encoding="utf-8").splitlines() if ln.strip()]
    return Corpus(SHIPPED_NAME, tuple(demo + wiki))


# ---- the index ----------------------------------------------------------------------------------

def _is_stop(text: str) -> bool:
    return text.lower() in STOP_WORDS or not any(ch.isalnum() for ch in text)


def check_layer(bundle, layer: int | None) -> int:
    n = bundle.info.layers
    if layer is None:
        return n
    if not isinstance(layer, int) or not 0 <= layer <= n:
        raise PlaygroundError(f"Layer must be between 0 (the embedding output) and {n} (the last layer); got {layer}.")
    return layer


Progress = C.Progress


def index_steps(bundle, corpus: Corpus, layer: int | None = None, pooling: str = "mean", batch_size: int = 32,
                stop=None) -> Iterator[Progress | CorpusIndex]:
    """Run the corpus through the model (sentences sorted by length, batched) and keep one layer's vectors:
    yields Progress after every batch, then the CorpusIndex. `stop` (a threading.Event) ends it early."""
    if not len(corpus):
        raise PlaygroundError("The corpus is empty: it needs at least one sentence.")
    if pooling not in C.POOLINGS:
        raise PlaygroundError(f"Pooling must be one of {', '.join(C.POOLINGS)}.")
    layer = check_layer(bundle, layer)
    start = time.perf_counter()
    encodings = [encode(bundle, s) for s in corpus.sentences]
    order = sorted(range(len(encodings)), key=lambda i: len(encodings[i]))
    rows, sent, word, text, special = [], [], [], [], []
    for b in range(0, len(order), batch_size):
        if stop is not None and stop.is_set():
            raise PlaygroundError("Indexing was stopped.")
        idx = order[b:b + batch_size]
        states = C.hidden_states(bundle, [encodings[i] for i in idx])[layer]  # (B, T, D)
        for j, i in enumerate(idx):
            e = encodings[i]
            spans: dict[int, list[int]] = {}
            for pos, w in enumerate(e.word_ids):
                if w is None:  # [CLS] / [SEP]: rows of their own, excludable
                    rows.append(states[j, pos])
                    sent.append(i)
                    word.append(-1)
                    text.append(e.tokens[pos])
                    special.append(True)
                else:
                    spans.setdefault(w, []).append(pos)
            for w, positions in spans.items():
                rows.append(C.pool(states[j][None], positions, pooling)[0])
                sent.append(i)
                word.append(w)
                special.append(False)
                text.append("".join(e.tokens[p][2:] if e.tokens[p].startswith("##") else e.tokens[p] for p in positions))
        yield Progress(min(b + batch_size, len(order)), len(order))
    vec = torch.stack(rows)  # (M, D) float32
    vec = (vec / vec.norm(dim=1, keepdim=True).clamp_min(1e-12)).to(torch.float16)
    yield CorpusIndex(model=bundle.info.name, corpus=corpus, layer=layer, pooling=pooling, vectors=vec,
                      sentence=np.array(sent, dtype=np.int32), word=np.array(word, dtype=np.int32),
                      text=tuple(text), special=np.array(special), stop=np.array([_is_stop(t) for t in text]),
                      seconds=time.perf_counter() - start)


def build_index(bundle, corpus: Corpus, layer: int | None = None, pooling: str = "mean", batch_size: int = 32,
                on_progress: Callable[[int, int], None] | None = None) -> CorpusIndex:
    """`index_steps` run to the end: the index of `corpus` at `layer`."""
    for step in index_steps(bundle, corpus, layer, pooling, batch_size):
        if isinstance(step, CorpusIndex):
            return step
        if on_progress is not None:
            on_progress(step.done, step.total)
    raise AssertionError("index_steps ended without an index")


# ---- queries ------------------------------------------------------------------------------------

def query_vector(bundle, word: str, sentence: str, layer: int | None = None, pooling: str = "mean",
                 occurrence: int = 0) -> np.ndarray:
    """The vector (D,) of `word` in `sentence` at `layer` (its `occurrence`-th use there), read from the model."""
    layer = check_layer(bundle, layer)
    target = C.word_pieces(bundle.tokenizer, word)
    enc = encode(bundle, sentence)
    occ = C.find_occurrences(enc, target)
    if not occ:
        raise PlaygroundError(f"'{word.strip()}' does not occur as a whole word in the query sentence.")
    if not 0 <= occurrence < len(occ):
        raise PlaygroundError(f"The query sentence uses '{word.strip()}' {len(occ)} time(s); "
                              f"occurrence {occurrence + 1} does not exist.")
    states = C.hidden_states(bundle, [enc])[:, 0]  # (L+1, T, D)
    return C.pool(states, occ[occurrence].positions, pooling)[layer].numpy()


def similarities(index: CorpusIndex, vector: np.ndarray) -> torch.Tensor:
    """Cosine similarity (M,) of every index row with `vector`: one matrix product (float32, in chunks)."""
    q = torch.as_tensor(np.asarray(vector, dtype=np.float32)).reshape(-1)
    if q.shape[0] != index.vectors.shape[1]:
        raise PlaygroundError(f"The query vector has {q.shape[0]} dimensions; the index has {index.vectors.shape[1]} "
                              "(was it built with another checkpoint?).")
    q = q / q.norm().clamp_min(1e-12)
    return torch.cat([index.vectors[s:s + _CHUNK].float() @ q for s in range(0, len(index), _CHUNK)])  # (M,)


def _highlight(sentence: str, token: str, nth: int) -> tuple[str, str, str]:
    """Split the sentence around the nth whole-word match of `token` (case-insensitive); unsplit if not found."""
    if not token or token.startswith("["):
        return sentence, "", ""
    hits = list(re.finditer(rf"(?<!\w){re.escape(token)}(?!\w)", sentence, flags=re.IGNORECASE))
    if nth >= len(hits):
        return sentence, "", ""
    m = hits[nth]
    return sentence[:m.start()], sentence[m.start():m.end()], sentence[m.end():]


def search(index: CorpusIndex, vector: np.ndarray, k: int = 10, exclude_stop: bool = True,
           exclude_special: bool = True) -> list[Neighbour]:
    """The exact k most similar index rows to `vector`, most similar first."""
    if not isinstance(k, int) or not 1 <= k <= MAX_K:
        raise PlaygroundError(f"k (how many neighbours) must be between 1 and {MAX_K}.")
    sims = similarities(index, vector)
    keep = np.ones(len(index), dtype=bool)
    if exclude_stop:
        keep &= ~index.stop
    if exclude_special:
        keep &= ~index.special
    sims = sims.masked_fill(torch.from_numpy(~keep), float("-inf"))
    top = torch.topk(sims, min(k, int(keep.sum()))) if keep.any() else None
    out = []
    for score, row in zip(*(top if top is not None else ((), ()))):
        row = int(row)
        s, text = int(index.sentence[row]), index.text[row]
        same = [r for r in np.flatnonzero(index.sentence == s) if index.text[r].lower() == text.lower()
                and 0 <= index.word[r] < index.word[row]]
        before, match, after = _highlight(index.corpus.sentences[s], text, len(same))
        out.append(Neighbour(s, index.corpus.sentences[s], text, float(score), before, match, after))
    return out


def nearest(bundle, word: str, sentence: str, corpus: Corpus, layer: int | None = None, k: int = 10,
            pooling: str = "mean", exclude_stop: bool = True, exclude_special: bool = True,
            occurrence: int = 0) -> tuple[CorpusIndex, list[Neighbour]]:
    """Index the corpus at `layer` and return its k nearest uses of `word` as used in `sentence`."""
    if not isinstance(k, int) or not 1 <= k <= MAX_K:
        raise PlaygroundError(f"k (how many neighbours) must be between 1 and {MAX_K}.")
    vector = query_vector(bundle, word, sentence, layer, pooling, occurrence)
    index = build_index(bundle, corpus, layer, pooling)
    return index, search(index, vector, k, exclude_stop, exclude_special)
