"""Vocabularies and what they cost: train one live with the Hugging Face `tokenizers` library (WordPiece, BPE or
Unigram) on the labs' shipped corpus, and measure any tokenizer on held-out text: tokens per word (fertility), the
[UNK] rate, the share of words kept whole, how many words fit in 512 tokens, and the embedding parameters the
vocabulary costs (vocabulary x hidden size)."""
from __future__ import annotations

import os
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

from ..core.errors import PlaygroundError
from ..core.paths import LAB_CORPUS, LAB_HELD_OUT

ALGORITHMS = ("wordpiece", "bpe", "unigram")
SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
SIZES = (1_000, 30_000)  # the vocabulary sizes a user may train
HELD_OUT_DOCS = 30  # the corpus's last articles: never trained on, measured on
HIDDEN = 768  # BERT-base's hidden size: the embedding cost of a trained vocabulary when no model is loaded


@dataclass(frozen=True)
class VocabStats:
    size: int
    fertility: float  # tokens per word of held-out text
    unk_rate: float  # share of the tokens that are [UNK]
    whole_word_share: float  # share of the words that are one token
    words_in_512: int  # words of such text that fit in BERT's 512 positions ([CLS] and [SEP] aside)
    embedding_parameters: int  # size x hidden
    embedding_share: float | None  # of the whole model's parameters (None: no model to compare with)

    def to_dict(self) -> dict:
        return asdict(self)


def lab_text(path: Path = LAB_CORPUS) -> tuple[list[str], list[str]]:
    """(training paragraphs, held-out paragraphs) of a WikiExtractor corpus: the last HELD_OUT_DOCS articles held out.
    A corpus that is not UTF-8 text is refused (nothing is trained on replaced characters)."""
    from .. import datasets
    from .corpus import read_wikiextractor

    if Path(path) == LAB_CORPUS:  # the shipped corpus comes with its held-out articles in a file of their own
        def paragraphs(p):
            return [" ".join(d.sentences) for d in read_wikiextractor(str(p), min_sentences=1)]
        return paragraphs(LAB_CORPUS), paragraphs(LAB_HELD_OUT)
    raw, name = datasets.read_bytes(path)
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise PlaygroundError(f"'{name}' is not UTF-8 text (byte 0x{raw[exc.start]:02x} at position {exc.start}).") from None

    docs = read_wikiextractor(str(path), min_sentences=1)
    if len(docs) <= HELD_OUT_DOCS + 1:
        raise PlaygroundError(f"The corpus has {len(docs)} articles; at least {HELD_OUT_DOCS + 2} are needed (the last "
                              f"{HELD_OUT_DOCS} are held out).")
    def text(ds):
        return [" ".join(d.sentences) for d in ds]
    return text(docs[:-HELD_OUT_DOCS]), text(docs[-HELD_OUT_DOCS:])


def check_size(size) -> int:
    if isinstance(size, bool) or not isinstance(size, int) or not SIZES[0] <= size <= SIZES[1]:
        raise PlaygroundError(f"The vocabulary size must be a whole number from {SIZES[0]:,} to {SIZES[1]:,}, "
                              f"not {str(size)[:20]}.")
    return size


def untrained(algorithm: str, size: int, lowercase: bool):
    """(a `tokenizers.Tokenizer` with BERT's normalizer and pre-tokenizer, its trainer)."""
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, trainers

    if algorithm not in ALGORITHMS:
        raise PlaygroundError(f"The algorithm must be one of {', '.join(ALGORITHMS)}, not '{str(algorithm)[:20]}'.")
    check_size(size)
    alphabet = size // 4  # characters kept as entries: the rarest of a large alphabet become [UNK], so the size holds
    model, trainer = {
        "wordpiece": (models.WordPiece(unk_token="[UNK]"), trainers.WordPieceTrainer(
            vocab_size=size, special_tokens=SPECIALS, limit_alphabet=alphabet, show_progress=False)),
        "bpe": (models.BPE(unk_token="[UNK]"), trainers.BpeTrainer(
            vocab_size=size, special_tokens=SPECIALS, limit_alphabet=alphabet, show_progress=False)),
        "unigram": (models.Unigram(), trainers.UnigramTrainer(vocab_size=size, special_tokens=SPECIALS, unk_token="[UNK]",
                                                              show_progress=False)),
    }[algorithm]
    tok = Tokenizer(model)
    tok.normalizer = normalizers.BertNormalizer(lowercase=lowercase, strip_accents=lowercase)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    return tok, trainer


@dataclass(frozen=True)
class Trained:
    tokenizer: object  # tokenizers.Tokenizer
    algorithm: str
    lowercase: bool
    seconds: float

    @property
    def size(self) -> int:
        return self.tokenizer.get_vocab_size()

    def tokenize(self, texts: list[str]) -> list[list[str]]:
        return [e.tokens for e in self.tokenizer.encode_batch(texts, add_special_tokens=False)]

    def save(self, folder: str | Path) -> Path:
        """tokenizer.json in `folder`, written whole or not at all."""
        folder = Path(folder)
        if folder.exists() and not folder.is_dir():
            raise PlaygroundError(f"'{folder}' is a file: give a folder for the vocabulary.")
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=folder, suffix=".tmp")
        os.close(fd)
        self.tokenizer.save(tmp)
        os.replace(tmp, folder / "tokenizer.json")
        return folder / "tokenizer.json"


def train(lines: list[str], algorithm: str = "wordpiece", size: int = 8_000, lowercase: bool = True) -> Trained:
    """A vocabulary trained on `lines` (the `tokenizers` library's own trainer, in Rust)."""
    tok, trainer = untrained(algorithm, size, lowercase)
    words = sum(len(line.split()) for line in lines)
    if words < size:
        raise PlaygroundError(f"The corpus has {words:,} words: too small for a vocabulary of {size:,} entries "
                              "(give at least as many words as entries).")
    t0 = time.perf_counter()
    tok.train_from_iterator(lines, trainer=trainer, length=len(lines))
    return Trained(tok, algorithm, lowercase, time.perf_counter() - t0)


def stats(tokenize: Callable[[list[str]], list[list[str]]], size: int, held_out: list[str], unk: str = "[UNK]",
          hidden: int = HIDDEN, parameters: int | None = None) -> VocabStats:
    """A tokenizer's figures on held-out text; words are the text's whitespace-separated words."""
    words = [w for line in held_out for w in line.split()]
    if not words:
        raise PlaygroundError("There is no held-out text to measure the vocabulary on.")
    per_word = tokenize(words)  # each word alone: (tokens of the word)
    tokens = [t for pieces in per_word for t in pieces]
    fertility = len(tokens) / len(words)
    emb = size * hidden
    return VocabStats(size, fertility, sum(t == unk for t in tokens) / max(1, len(tokens)),
                      sum(len(p) == 1 for p in per_word) / len(words), int(510 / fertility) if fertility else 0, emb,
                      emb / parameters if parameters else None)


def checkpoint_stats(bundle, held_out: list[str]) -> VocabStats:
    """The loaded checkpoint's tokenizer on the same held-out text, its embedding cost against the whole model."""
    tok = bundle.tokenizer
    return stats(lambda ws: [tok.tokenize(w) for w in ws], len(tok), held_out, tok.unk_token or "[UNK]",
                 bundle.info.hidden_size, bundle.info.parameters or None)


def trained_stats(trained: Trained, held_out: list[str], hidden: int = HIDDEN, parameters: int | None = None) -> VocabStats:
    return stats(trained.tokenize, trained.size, held_out, "[UNK]", hidden, parameters)
