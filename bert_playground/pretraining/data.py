"""Pre-training data: WikiExtractor documents -> WordPiece ids (once, batched) -> NSP pairs per epoch
(`pairs.make_pairs`, new pairs each epoch) packed into fixed-length tensors, optionally batched by length; the
held-out pairs every evaluation scores."""
from __future__ import annotations

import random
from dataclasses import dataclass

import torch

from ..core.errors import PlaygroundError
from ..inputs import text
from ..inputs.corpus import Document, read_wikiextractor
from ..objectives import pairs
from . import distributed
from .config import PretrainConfig


def tokenize_documents(tokenizer, docs: list[Document]) -> list[list[list[int]]]:
    """All sentences of all documents in one batched fast-tokenizer call."""
    flat = [s for d in docs for s in d.sentences]
    ids = text.token_ids(tokenizer, flat)
    out, k = [], 0
    for d in docs:
        sents = [s for s in ids[k:k + len(d.sentences)] if s]
        k += len(d.sentences)
        if sents:
            out.append(sents)
    return out


@dataclass(frozen=True)
class PackedPairs:
    input_ids: torch.Tensor  # (N, T) padded with [PAD]
    token_type_ids: torch.Tensor  # (N, T)
    attention_mask: torch.Tensor  # (N, T)
    next_label: torch.Tensor  # (N,) 0 = IsNext, 1 = NotNext (BERT's convention)


def pack_pairs(pair_list: list[pairs.Pair], tokenizer, seq_len: int) -> PackedPairs:
    packed = [pairs.pack(p.a, p.b, tokenizer.cls_token_id, tokenizer.sep_token_id) for p in pair_list]
    b = text.pad_batch([x for x, _ in packed], [s for _, s in packed], tokenizer.pad_token_id, length=seq_len)
    label = torch.tensor([0 if p.is_next else 1 for p in pair_list], dtype=torch.long)  # (N,)
    return PackedPairs(b["input_ids"], b["token_type_ids"], b["attention_mask"], label)


def epoch_pairs(docs, tokenizer, seq_len: int, seed: int, epoch: int, short_seq_prob: float = 0.0,
                sentence_pair_prob: float = 0.0, pair_task: str = "nsp", near_negative_prob: float = 0.0,
                person_matched_prob: float = 0.0) -> PackedPairs:
    """A fresh set of NSP pairs for one epoch (BERT's recipe gives 10% of pairs a shorter random length;
    `sentence_pair_prob` adds one-sentence pairs like those typed on the NSP page)."""
    ps = epoch_pair_list(docs, seq_len, seed, epoch, short_seq_prob, sentence_pair_prob, pair_task, near_negative_prob,
                         person_matched_prob, first_person_ids(tokenizer) if person_matched_prob else ())
    return pack_pairs(ps, tokenizer, seq_len)


def first_person_ids(tokenizer) -> frozenset:
    """The vocabulary ids of `pairs.FIRST_PERSON` (I, me, my, we, us, our...), those the vocabulary has."""
    ids = tokenizer.convert_tokens_to_ids(list(pairs.FIRST_PERSON))
    return frozenset(i for i in ids if i is not None and i != tokenizer.unk_token_id)


def epoch_pair_list(docs, seq_len: int, seed: int, epoch: int, short_seq_prob: float = 0.0,
                    sentence_pair_prob: float = 0.0, pair_task: str = "nsp",
                    near_negative_prob: float = 0.0, person_matched_prob: float = 0.0,
                    first_person_tokens=()) -> list[pairs.Pair]:
    """The shuffled pairs `epoch_pairs` packs (their document indices are positions in `docs`). The pair task
    decides the second segment: 'nsp' the next text or another document's (50/50); 'sop' always the next text, then
    A and B swapped half the time (ALBERT; `pairs.order_pair`); 'none' always the next text (no label is learned)."""
    rng = random.Random(seed * 7919 + epoch)
    ps = pairs.make_pairs(docs, rng, max_tokens=seq_len - 3, short_seq_prob=short_seq_prob,
                          sentence_pair_prob=sentence_pair_prob, is_next_prob=0.5 if pair_task == "nsp" else 1.0,
                          near_negative_prob=near_negative_prob, person_matched_prob=person_matched_prob,
                          first_person_tokens=first_person_tokens)
    if pair_task == "sop":
        ps = [pairs.order_pair(p, swapped=rng.random() < 0.5) for p in ps]
    rng.shuffle(ps)
    return ps


def length_grouped_batches(lengths: torch.Tensor, batch_size: int, seed: int, window: int = 64) -> list[torch.Tensor]:
    """Row indices of each batch, rows of similar length together (the idea of Hugging Face's
    `LengthGroupedSampler`): the pairs are already shuffled; each run of `window` batches is sorted by length and
    cut into batches, and all batches are shuffled. A batch of short one-sentence pairs is then trimmed to its own
    longest row instead of being padded to `seq_len`. Drops the last incomplete batch, as the plain order does."""
    n = len(lengths) // batch_size * batch_size
    out = []
    for start in range(0, n, window * batch_size):
        idx = torch.arange(start, min(start + window * batch_size, n))
        idx = idx[torch.argsort(lengths[idx], stable=True)]
        out.extend(idx.split(batch_size))
    order = torch.randperm(len(out), generator=torch.Generator().manual_seed(seed))
    return [out[i] for i in order.tolist()]


def load_corpus(cfg: PretrainConfig, tokenizer, world: distributed.World | None = None):
    """(training documents, held-out documents) as token ids; the training ones are this rank's shard."""
    docs = read_wikiextractor(cfg.corpus)
    if cfg.max_docs:
        docs = docs[: cfg.max_docs + (0 if cfg.eval_corpus else cfg.eval_docs)]
    if cfg.eval_corpus:
        train_docs, eval_docs = docs, read_wikiextractor(cfg.eval_corpus)[: cfg.eval_docs]
    else:
        if len(docs) <= cfg.eval_docs + 1:
            raise PlaygroundError(f"The corpus has {len(docs)} documents; need more than {cfg.eval_docs + 1} to hold some out.")
        train_docs, eval_docs = docs[: -cfg.eval_docs], docs[-cfg.eval_docs:]
    if world is not None and world.distributed:
        train_docs = distributed.shard(train_docs, world)
        if len(train_docs) < 2:
            raise PlaygroundError(f"Rank {world.rank} got {len(train_docs)} training document(s): "
                                  f"give at least 2 per rank ({2 * world.size} in all).")
    return tokenize_documents(tokenizer, train_docs), tokenize_documents(tokenizer, eval_docs)


def unigram_token(train_ids, tokenizer) -> int:
    """The training text's most frequent token (special tokens aside): the guess of a model that learned only
    token frequencies, the baseline a pre-trained model must beat first."""
    from collections import Counter

    special = set(tokenizer.all_special_ids)
    counts = Counter(t for doc in train_ids for sentence in doc for t in sentence if t not in special)
    return counts.most_common(1)[0][0]


def held_out_pairs(eval_ids, tokenizer, cfg: PretrainConfig) -> PackedPairs:
    """The held-out pairs every evaluation of a run scores: BERT's packed pairs (no one-sentence pairs), drawn once
    with a fixed seed, the first `cfg.eval_pairs` of them (so two runs on the same held-out text share them)."""
    packed = epoch_pairs(eval_ids, tokenizer, cfg.seq_len, seed=999, epoch=0, pair_task=cfg.pair_task)
    return PackedPairs(*(t[: cfg.eval_pairs] for t in (packed.input_ids, packed.token_type_ids, packed.attention_mask,
                                                       packed.next_label)))
