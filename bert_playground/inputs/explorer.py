"""The loaded checkpoint's vocabulary, explored: what kinds of entries it holds, each entry's id, how often it occurs
in the labs' shipped corpus and its input-embedding norm, the entries nearest to one by input embedding, and how
the vocabulary splits text of other languages and scripts."""
from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

import torch

from ..checkpoints.families import word_start_marker
from ..checkpoints.models import derived
from ..core.errors import PlaygroundError

MAX_QUERY = 100
LANGUAGES = {  # one everyday sentence each (written for the playground), and what it shows
    "English": "The children were playing in the garden after school.",
    "German (compounds)": "Die Donaudampfschifffahrtsgesellschaft baute ein neues Schiff.",
    "French (accents)": "L'élève a préféré étudier à la bibliothèque près de l'église.",
    "Spanish": "Mañana vamos a la playa con nuestros amigos españoles.",
    "Chinese": "我们明天一起去北京看长城。",
    "Hindi": "मैं कल अपने दोस्तों के साथ बाज़ार गया था।",
    "Arabic": "ذهبت إلى السوق مع أصدقائي أمس.",
    "Code": "def area(r): return 3.14159 * r ** 2  # circle",
    "Emoji": "Great match today 😀⚽🎉 see you soon 👋",
}


@dataclass(frozen=True)
class Entry:
    token: str
    id: int
    kind: str  # 'special' | 'unused' | 'continuation' | 'character' | 'word'
    frequency: int  # occurrences in the labs' shipped corpus
    norm: float  # the input embedding's L2 norm

    def to_dict(self) -> dict:
        return {"token": self.token, "id": self.id, "kind": self.kind, "frequency": self.frequency,
                "norm": round(self.norm, 6)}


def kind_of(token: str, specials: set[str], marker: tuple[str, str] = ("continues", "##")) -> str:
    """'special', 'unused' (BERT's [unused*] slots), 'continuation' (a piece inside a word: '##ing' in WordPiece,
    a piece without 'Ġ'/'▁' in byte-level BPE and SentencePiece), 'character' (one character) or 'word'."""
    if token in specials:
        return "special"
    if re.fullmatch(r"\[unused\d+\]|<unused\d+>", token):
        return "unused"
    how, mark = marker
    inside = token.startswith(mark) if how == "continues" else not token.startswith(mark)
    core = token[len(mark):] if token.startswith(mark) else token
    if inside and len(core) > 1:
        return "continuation"
    return "character" if len(core) == 1 else "word"


def composition(bundle) -> dict[str, int]:
    """How many entries of each kind the vocabulary has."""
    specials, marker = set(bundle.tokenizer.all_special_tokens), word_start_marker(bundle.tokenizer)
    return dict(Counter(kind_of(t, specials, marker) for t in bundle.tokenizer.get_vocab()))


def frequencies(bundle) -> Counter:
    """Token counts over the labs' shipped corpus (computed once per loaded model)."""
    def build(model):
        from .vocab import lab_text

        train, held = lab_text()
        enc = bundle.tokenizer(train + held, add_special_tokens=False, verbose=False)["input_ids"]
        return Counter(i for ids in enc for i in ids)
    return derived(bundle.model, "corpus token counts", build)


def _embeddings(bundle) -> torch.Tensor:
    return bundle.encoder.get_input_embeddings().weight.detach()  # (V, E)


def entry(bundle, token: str, counts: Counter | None = None) -> Entry:
    vocab = bundle.tokenizer.get_vocab()
    if token not in vocab:
        raise PlaygroundError(f"'{token[:40]}' is not an entry of this vocabulary.")
    i = vocab[token]
    counts = counts if counts is not None else frequencies(bundle)
    kind = kind_of(token, set(bundle.tokenizer.all_special_tokens), word_start_marker(bundle.tokenizer))
    return Entry(token, i, kind, counts.get(i, 0),
                 float(_embeddings(bundle)[i].float().norm()))


def search(bundle, query: str, limit: int = 50) -> list[Entry]:
    """Entries that contain `query` (case as typed), most frequent in the corpus first."""
    query = str(query).strip()
    if not query or len(query) > MAX_QUERY:
        raise PlaygroundError(f"Type 1 to {MAX_QUERY} characters to look for in the vocabulary.")
    counts = frequencies(bundle)
    found = [t for t in bundle.tokenizer.get_vocab() if query in t]
    return sorted((entry(bundle, t, counts) for t in found), key=lambda e: (-e.frequency, e.id))[:limit]


@torch.inference_mode()
def nearest(bundle, token: str, k: int = 10) -> list[tuple[str, float]]:
    """The k entries whose input embeddings are most similar (cosine) to `token`'s."""
    i = entry(bundle, token, Counter()).id
    emb = torch.nn.functional.normalize(_embeddings(bundle).float(), dim=-1)  # (V, E)
    sims = emb @ emb[i]  # (V,)
    sims[i] = -2.0
    top = sims.topk(k)
    names = bundle.tokenizer.convert_ids_to_tokens(top.indices.tolist())
    return [(n, round(float(s), 6)) for n, s in zip(names, top.values)]


def languages(bundle) -> list[dict]:
    """Per sample sentence: its pieces, tokens per word and [UNK] rate under the loaded vocabulary."""
    tok, out = bundle.tokenizer, []
    for name, text in LANGUAGES.items():
        pieces = tok.tokenize(text)
        words = max(1, len(text.split()))
        out.append({"language": name, "text": text, "pieces": pieces, "fertility": len(pieces) / words,
                    "unk_rate": sum(p == tok.unk_token for p in pieces) / max(1, len(pieces))})
    return out
