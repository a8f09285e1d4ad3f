"""Contextual embeddings: one word in several sentences, its vector at every layer, compared.

BERT gives a word a different vector in every context (Devlin et al. 2019; Ethayarajh 2019 measured how
contextual each layer is). Here every vector is read from the model's hidden states
(`output_hidden_states`): hidden state 0 is the embedding output (token + segment + position embeddings,
LayerNorm), where two uses of one word differ only by their position (single sentences all have segment A);
hidden state l is the output of encoder layer l. A word split into WordPiece pieces is one occurrence: its
pieces' vectors are averaged ("mean", the default) or its first piece is taken ("first").
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field

import numpy as np
import torch

from ..checkpoints.models import forward
from ..core.errors import PlaygroundError
from ..core.notices import Notice, warning
from ..core.paths import CONTEXT_EXAMPLES
from ..inputs.text import Encoding, clean_text, encode, pad_batch

MIN_SENTENCES = 2
MAX_SENTENCES = 100  # one similarity matrix per layer is N x N; more is unreadable and slow
MAX_WORD_CHARS = 50
MAX_CHARS = 100_000  # all sentences together (a 10 MB paste is refused at once, not tokenized)
POOLINGS = ("mean", "first")
POOLING_LABELS = {"mean": "all its WordPiece pieces averaged", "first": "its first WordPiece piece"}
PROJECTIONS = ("layer", "all")
PROJECTION_LABELS = {"layer": "PCA fitted on each layer separately",
                     "all": "one PCA fitted on all layers together"}
SENSE_SEPARATOR = " | "  # "river | I sat on the bank." in a pasted line: a sense label, then the sentence


@dataclass(frozen=True)
class Progress:
    """How far a long computation (a corpus index, a probe) has got."""

    done: int
    total: int


@dataclass(frozen=True)
class Occurrence:
    sentence: int  # index of the sentence
    pieces: tuple[str, ...]  # the word's WordPiece tokens, e.g. ('una', '##ff', '##able')
    positions: tuple[int, ...]  # their indices in the encoded sentence ([CLS] is 0)
    word_index: int  # which word of the sentence (0-based, as the tokenizer splits words)


@dataclass(frozen=True)
class ContextResult:
    word: str
    pooling: str  # 'mean' | 'first'
    sentences: tuple[str, ...]
    senses: tuple[str, ...] | None  # one label per sentence, or None when not grouped
    occurrences: tuple[Occurrence, ...]  # in sentence order
    vectors: np.ndarray  # (L+1, N, D) float32: hidden state l of each occurrence (pooled pieces)
    similarity: np.ndarray  # (L+1, N, N) cosine similarity between occurrences
    notices: tuple[Notice, ...] = field(default=())  # e.g. sentences without the word, left out

    @property
    def layers(self) -> int:
        """Number of hidden states: the embedding output plus one per encoder layer."""
        return self.vectors.shape[0]

    def labels(self) -> list[str]:
        """One short label per occurrence: 'S1 river' (sentence number and sense), '#2' for a repeat."""
        out, seen = [], {}
        for o in self.occurrences:
            seen[o.sentence] = seen.get(o.sentence, 0) + 1
            tag = f"S{o.sentence + 1}" + (f"#{seen[o.sentence]}" if seen[o.sentence] > 1 else "")
            out.append(f"{tag} {self.senses[o.sentence]}" if self.senses else tag)
        return out

    def occurrence_senses(self) -> list[str] | None:
        return [self.senses[o.sentence] for o in self.occurrences] if self.senses else None

    def sense_curves(self) -> tuple[np.ndarray, np.ndarray] | None:
        """(within, across): mean cosine similarity of pairs of occurrences with the same sense and with
        different senses, per layer (L+1,). None unless there are two senses and a same-sense pair."""
        senses = self.occurrence_senses()
        if senses is None:
            return None
        s = np.array(senses, dtype=object)
        same = s[:, None] == s[None, :]
        upper = np.triu(np.ones_like(same, dtype=bool), k=1)  # each unordered pair once, no self-pairs
        within, across = same & upper, ~same & upper
        if not within.any() or not across.any():
            return None
        return self.similarity[:, within].mean(axis=1), self.similarity[:, across].mean(axis=1)

    def projection(self, fit: str = "layer") -> tuple[np.ndarray, np.ndarray]:
        """PCA to 2-D of every layer's occurrence vectors: (points (L+1, N, 2), explained variance ratio (L+1, 2))."""
        return pca_2d(self.vectors, fit)

    def to_dict(self, fit: str = "layer") -> dict:
        points, _ = self.projection(fit)
        return {
            "word": self.word,
            "occurrences": [{"sentence": o.sentence, "pieces": list(o.pieces), "positions": list(o.positions)}
                            for o in self.occurrences],
            "layers": [{"layer": layer, "similarity": np.round(self.similarity[layer].astype(np.float64), 6).tolist()}
                       for layer in range(self.layers)],
            "projection": [{"layer": layer, "points": np.round(points[layer].astype(np.float64), 6).tolist()}
                           for layer in range(self.layers)],
        }


# ---- input ----------------------------------------------------------------------------------------

def examples() -> dict[str, list[tuple[str, str]]]:
    """The shipped examples: word -> [(sense, sentence), ...], grouped by sense."""
    raw = json.loads(CONTEXT_EXAMPLES.read_text(encoding="utf-8"))["examples"]
    return {w: [(g["sense"], s) for g in groups for s in g["sentences"]] for w, groups in raw.items()}


def parse_lines(text: str) -> tuple[list[str], list[str] | None]:
    """One sentence per line, optionally 'sense | sentence'. Returns (sentences, senses or None);
    lines without a sense label are grouped as '(no sense)' when other lines have one."""
    check_size(text or "")
    sentences, senses = [], []
    for line in (text or "").splitlines():
        if not line.strip():
            continue
        sense, sep, sentence = line.partition(SENSE_SEPARATOR.strip())
        if sep and sense.strip() and sentence.strip():
            sentences.append(sentence.strip())
            senses.append(sense.strip())
        else:
            sentences.append(line.strip())
            senses.append("")
    if not any(senses):
        return sentences, None
    return sentences, [s or "(no sense)" for s in senses]


def word_pieces(tokenizer, word: str) -> list[int]:
    """The WordPiece ids of one word; refuses empty input and more than one word."""
    word = clean_text(word, "The word")
    if len(word) > MAX_WORD_CHARS:
        raise PlaygroundError(f"The word is {len(word)} characters long; type one word (at most {MAX_WORD_CHARS}).")
    enc = tokenizer(word, add_special_tokens=False)
    ids, words = enc["input_ids"], enc.word_ids()
    if not ids:
        raise PlaygroundError(f"'{word}' has no WordPiece tokens in this model's vocabulary: type a word.")
    if len(set(words)) > 1:
        raise PlaygroundError(f"'{word}' is more than one word for this tokenizer (it splits at spaces and "
                              "punctuation): type a single word.")
    return list(ids)


def find_occurrences(encoding: Encoding, target: list[int], sentence: int = 0) -> list[Occurrence]:
    """Every whole word of `encoding` whose pieces are exactly `target` (so 'bank' does not match 'banks')."""
    spans: dict[int, list[int]] = {}
    for pos, w in enumerate(encoding.word_ids):
        if w is not None:
            spans.setdefault(w, []).append(pos)
    out = []
    for w, positions in spans.items():
        if [encoding.input_ids[p] for p in positions] == target:
            out.append(Occurrence(sentence, tuple(encoding.tokens[p] for p in positions), tuple(positions), w))
    return out


def check_size(text: str, what: str = "The sentences") -> None:
    if len(text) > MAX_CHARS:
        raise PlaygroundError(f"{what} are {len(text):,} characters long; the limit is {MAX_CHARS:,} "
                              f"(up to {MAX_SENTENCES} sentences). Paste a few sentences that use the word.")


def check_sentences(sentences, senses=None) -> tuple[list[str], list[str] | None]:
    if isinstance(sentences, str):
        sentences = [sentences]
    check_size("".join(s for s in (sentences or []) if isinstance(s, str)))
    sentences = [s for s in (sentences or []) if isinstance(s, str) and s.strip()]
    if len(sentences) < MIN_SENTENCES:
        raise PlaygroundError(f"Give at least {MIN_SENTENCES} sentences that use the word (one per line): "
                              f"comparing needs two contexts; got {len(sentences)}.")
    if len(sentences) > MAX_SENTENCES:
        raise PlaygroundError(f"{len(sentences)} sentences is too many to compare; the limit is {MAX_SENTENCES}. "
                              "For many uses of a word, search a corpus (nearest uses) instead.")
    if senses is not None:
        if len(senses) != len(sentences):
            raise PlaygroundError(f"Give one sense label per sentence ({len(senses)} labels for {len(sentences)} "
                                  "sentences).")
        senses = [str(s).strip() or "(no sense)" for s in senses]
    return [clean_text(s, f"Sentence {i + 1}") for i, s in enumerate(sentences)], senses


# ---- the model ----------------------------------------------------------------------------------

def hidden_states(bundle, encodings: list[Encoding]) -> torch.Tensor:
    """Every hidden state of a padded batch, read from the model: (L+1, B, T, D) float32 on the CPU."""
    batch = pad_batch([e.input_ids for e in encodings], [e.token_type_ids for e in encodings],
                      bundle.tokenizer.pad_token_id or 0)
    out = forward(bundle, batch, hidden_states=True, mlm=False)
    return torch.stack(out.hidden_states).float().cpu()  # (L+1, B, T, D)


def pool(states: torch.Tensor, positions, pooling: str) -> torch.Tensor:
    """One occurrence's vector at every layer from its pieces: states (L+1, T, D) -> (L+1, D)."""
    if pooling == "first":
        return states[:, positions[0]]
    return states[:, list(positions)].mean(dim=1)


def cosine_matrix(vectors: np.ndarray) -> np.ndarray:
    """(..., N, D) -> (..., N, N) cosine similarities."""
    unit = vectors / np.maximum(np.linalg.norm(vectors, axis=-1, keepdims=True), 1e-12)
    return unit @ np.swapaxes(unit, -1, -2)


def analyse(bundle, word: str, sentences, senses=None, pooling: str = "mean", batch_size: int = 32) -> ContextResult:
    """Find `word` in each sentence, run the model once per sentence (batched), and compare its vectors."""
    if pooling not in POOLINGS:
        raise PlaygroundError(f"Pooling must be one of {', '.join(POOLINGS)}.")
    target = word_pieces(bundle.tokenizer, word)
    word = clean_text(word, "The word")
    sentences, senses = check_sentences(sentences, senses)
    encodings = [encode(bundle, s) for s in sentences]
    occ = [o for i, e in enumerate(encodings) for o in find_occurrences(e, target, i)]
    notices = []
    missing = [i + 1 for i in range(len(sentences)) if not any(o.sentence == i for o in occ)]
    if not occ:
        raise PlaygroundError(f"'{word}' does not occur as a whole word in any of the sentences "
                              f"(pieces {' '.join(bundle.tokenizer.convert_ids_to_tokens(target))}). "
                              "Check the spelling; 'banks' is a different word from 'bank'.")
    if len(occ) < 2:
        raise PlaygroundError(f"'{word}' occurs only once (sentence {occ[0].sentence + 1}); "
                              "comparing needs at least two occurrences.")
    if missing:
        cut = [i for i in missing if encodings[i - 1].truncated]
        notices.append(warning(f"'{word}' is not in sentence(s) {', '.join(map(str, missing))}"
                     + (f" (sentence(s) {', '.join(map(str, cut))} were cut to the model's maximum length)" if cut else "")
                     + "; they are left out."))
    vectors = []
    for start in range(0, len(encodings), batch_size):
        states = hidden_states(bundle, encodings[start:start + batch_size])  # (L+1, B, T, D)
        for o in occ:
            if start <= o.sentence < start + batch_size:
                vectors.append(pool(states[:, o.sentence - start], o.positions, pooling))
    vec = torch.stack(vectors, dim=1).numpy()  # (L+1, N, D)
    return ContextResult(word=word, pooling=pooling, sentences=tuple(sentences),
                         senses=tuple(senses) if senses else None, occurrences=tuple(occ), vectors=vec,
                         similarity=cosine_matrix(vec.astype(np.float64)).astype(np.float32), notices=tuple(notices))


# ---- 2-D projection ------------------------------------------------------------------------------

def _pca_basis(x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(mean (D,), top-2 principal directions (2, D), explained variance ratio (2,)) of rows x (M, D)."""
    mean = x.mean(axis=0)
    _, s, vt = np.linalg.svd(x - mean, full_matrices=False)
    var = s ** 2
    basis = np.zeros((2, x.shape[1]))
    ratio = np.zeros(2)
    k = min(2, vt.shape[0])
    basis[:k] = vt[:k]
    if var.sum() > 0:
        ratio[:k] = var[:k] / var.sum()
    return mean, basis, ratio


def pca_2d(vectors: np.ndarray, fit: str = "layer") -> tuple[np.ndarray, np.ndarray]:
    """Project (L+1, N, D) to (L+1, N, 2). fit='layer': one PCA per layer, its axes' signs chosen so that the
    points move as little as possible from the layer below; fit='all': one PCA on every layer's vectors."""
    if fit not in PROJECTIONS:
        raise PlaygroundError(f"The projection is fitted per 'layer' or on 'all' layers, not '{fit}'.")
    x = vectors.astype(np.float64)
    n_layers = x.shape[0]
    points = np.zeros(x.shape[:2] + (2,))
    ratios = np.zeros((n_layers, 2))
    if fit == "all":
        mean, basis, ratio = _pca_basis(x.reshape(-1, x.shape[-1]))
        for layer in range(n_layers):
            points[layer] = (x[layer] - mean) @ basis.T
            ratios[layer] = ratio
        return points, ratios
    for layer in range(n_layers):
        mean, basis, ratios[layer] = _pca_basis(x[layer])
        p = (x[layer] - mean) @ basis.T  # (N, 2)
        for axis in range(2):
            ref = points[layer - 1, :, axis] if layer else None
            flip = (ref @ p[:, axis] < 0) if ref is not None and np.any(ref) else (p[np.argmax(np.abs(p[:, axis])), axis] < 0)
            if flip:
                p[:, axis] = -p[:, axis]
        points[layer] = p
    return points, ratios


def separation_summary(result: ContextResult) -> str | None:
    """One honest sentence on whether the senses separate, from the within/across curves."""
    curves = result.sense_curves()
    if curves is None:
        return None
    within, across = curves
    gap = within - across
    top = result.layers - 1
    best = int(np.argmax(gap))
    if gap[top] > 0.02:
        verdict = (f"In the last layer ({top}), uses with the same sense are more alike (mean cosine "
                   f"{within[top]:.3f}) than uses with different senses ({across[top]:.3f}): this model separates "
                   "the senses of these sentences.")
    else:
        verdict = (f"In the last layer ({top}), same-sense uses (mean cosine {within[top]:.3f}) are not clearly more "
                   f"alike than different-sense uses ({across[top]:.3f}): this model blurs the senses of these "
                   "sentences (a small or weakly trained model often does).")
    return verdict + f" The gap is largest at layer {best} ({gap[best]:+.3f}); at layer 0 it is {gap[0]:+.3f}."
