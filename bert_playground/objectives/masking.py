"""BERT's masked-LM corruption: choose 15% of tokens; of those, 80% -> [MASK], 10% -> random, 10% kept.

One batched tensor implementation, used both by the Masked-LM page and by pre-training.
Everything is decided with a seeded `torch.Generator`, so a (seed, epoch) pair always gives
the same corruption; static masking reuses the epoch-0 draw, dynamic masking draws anew.
"""
from __future__ import annotations

import dataclasses
import functools
import math
import numbers
from dataclasses import dataclass

import torch

from ..core.errors import PlaygroundError
from ..core.notices import Notice, warning
from ..inputs.text import token_ids as text_ids
from ..inputs.text import typed_specials, typed_specials_notice

NOT_CHOSEN, MASK, RANDOM, KEEP = 0, 1, 2, 3
ACTION_NAMES = {NOT_CHOSEN: None, MASK: "mask", RANDOM: "random", KEEP: "keep"}
IGNORE = -100  # label value the cross-entropy loss ignores


@dataclass(frozen=True)
class MaskingConfig:
    rate: float = 0.15  # share of (non-special) tokens chosen for prediction
    mask_share: float = 0.8  # of the chosen: replaced by [MASK]
    random_share: float = 0.1  # of the chosen: replaced by a random token; the rest is kept
    whole_word: bool = False  # choose all pieces of a word together

    def __post_init__(self):
        for name in ("rate", "mask_share", "random_share"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, numbers.Real) or not 0.0 <= v <= 1.0:
                raise PlaygroundError(f"Masking {name} must be between 0 and 1, got {v!r}.")
            object.__setattr__(self, name, float(v))  # numpy scalars welcome; stored as plain floats
        if self.mask_share + self.random_share > 1.0 + 1e-9:
            raise PlaygroundError("mask_share + random_share cannot exceed 1.")


@dataclass(frozen=True)
class MaskedBatch:
    input_ids: torch.Tensor  # (B, T) corrupted input
    labels: torch.Tensor  # (B, T) original id where chosen, IGNORE elsewhere
    actions: torch.Tensor  # (B, T) int8: NOT_CHOSEN / MASK / RANDOM / KEEP


def epoch_seed(seed: int, epoch: int, dynamic: bool) -> int:
    """Static masking: one draw for all epochs. Dynamic (RoBERTa-style): a new draw per epoch."""
    return (check_seed(seed) + (1_000_003 * int(epoch) if dynamic else 0)) % (MAX_SEED + 1)


MAX_SEED = 2**63 - 1  # torch generators take 64-bit seeds; the epoch offset must fit too


def check_seed(seed) -> int:
    """A seed is a whole number from 0 to 2**63 - 1; anything else is a PlaygroundError, never an overflow."""
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or not 0 <= int(seed) <= MAX_SEED:
        raise PlaygroundError(f"The seed must be a whole number from 0 to {MAX_SEED}, not {str(seed)[:30]}.")
    return int(seed)


def make_generator(seed: int, device: torch.device | str = "cpu") -> torch.Generator:
    g = torch.Generator(device=device)
    g.manual_seed(check_seed(seed) % 2**64)
    return g


def word_start_index(continuation: torch.Tensor) -> torch.Tensor:
    """(B, T) bool 'this piece continues a word' -> (B, T) index of the first piece of its word."""
    T = continuation.shape[-1]
    idx = torch.arange(T, device=continuation.device).expand_as(continuation)
    starts = torch.where(continuation, torch.zeros_like(idx), idx)
    return torch.cummax(starts, dim=-1).values


def mask_tokens(
    input_ids: torch.Tensor,  # (B, T) long
    special: torch.Tensor,  # (B, T) bool: [CLS], [SEP], padding... never chosen
    *,
    mask_token_id: int,
    vocab_size: int,
    config: MaskingConfig = MaskingConfig(),
    generator: torch.Generator | None = None,
    continuation: torch.Tensor | None = None,  # (B, T) bool, needed for whole-word masking
) -> MaskedBatch:
    if input_ids.dim() != 2 or special.shape != input_ids.shape:
        raise PlaygroundError("mask_tokens expects (batch, length) input_ids and a special mask of the same shape.")
    dev = input_ids.device
    u_choose = torch.rand(input_ids.shape, generator=generator, device=dev)  # (B, T)
    u_action = torch.rand(input_ids.shape, generator=generator, device=dev)  # (B, T)
    random_ids = torch.randint(0, vocab_size, input_ids.shape, generator=generator, device=dev)
    if config.whole_word:
        if continuation is None:
            raise PlaygroundError("Whole-word masking needs to know which pieces continue a word.")
        u_choose = u_choose.gather(1, word_start_index(continuation & ~special))
    chosen = (u_choose < config.rate) & ~special
    is_mask = chosen & (u_action < config.mask_share)
    is_random = chosen & ~is_mask & (u_action < config.mask_share + config.random_share)
    is_keep = chosen & ~is_mask & ~is_random
    corrupted = torch.where(is_mask, torch.full_like(input_ids, mask_token_id), input_ids)
    corrupted = torch.where(is_random, random_ids, corrupted)
    labels = torch.where(chosen, input_ids, torch.full_like(input_ids, IGNORE))
    actions = (is_mask * MASK + is_random * RANDOM + is_keep * KEEP).to(torch.int8)
    return MaskedBatch(corrupted, labels, actions)


# ---- tokenizer-aware helpers (the page, the CLI and pre-training share them) -------------------

def special_ids(tokenizer) -> list[int]:
    return sorted(set(int(i) for i in tokenizer.all_special_ids))


@functools.lru_cache(maxsize=8)
def _continuation_table(tokenizer) -> torch.Tensor:
    from ..checkpoints.families import word_start_marker

    vocab = tokenizer.get_vocab()
    table = torch.zeros(max(max(vocab.values()) + 1, len(tokenizer)), dtype=torch.bool)
    mode, marker = word_start_marker(tokenizer)
    if mode == "continues":  # WordPiece: '##ing' continues a word
        table[[i for tok, i in vocab.items() if tok.startswith(marker)]] = True
    else:  # byte-level BPE / SentencePiece: a piece without 'Ġ' / '▁' continues a word (special tokens aside)
        specials = set(tokenizer.all_special_ids)
        table[[i for tok, i in vocab.items() if not tok.startswith(marker) and i not in specials]] = True
    return table


def continuation_table(tokenizer) -> torch.Tensor:
    """(V,) bool: True for pieces that continue a word ('##ing'; BPE/SentencePiece: no 'Ġ'/'▁' mark).
    Built once per tokenizer (30 ms)."""
    return _continuation_table(tokenizer).clone()


@dataclass(frozen=True)
class MaskedText:
    tokens: list[str]  # original pieces with [CLS]/[SEP]
    input_tokens: list[str]  # corrupted pieces
    input_ids: list[int]
    labels: list[int]  # IGNORE where not chosen
    actions: list[str | None]
    typed_specials: tuple[str, ...] = ()  # special tokens other than the mask typed in the text (read as the real ones)

    @property
    def notices(self) -> tuple[Notice, ...]:
        """How the text was read, for the user (the page and the CLI show them, as for the other pages)."""
        typed = typed_specials_notice(self.typed_specials)
        return (warning(typed),) if typed else ()

    def to_dict(self) -> dict:
        """The CLI's `mask --json`: one row per token (original, input, label, action)."""
        return {"tokens": self.rows()}

    def rows(self) -> list[dict]:
        return [
            {"position": i, "original": o, "input": c,
             "label": o if lab != IGNORE else None, "action": a}
            for i, (o, c, lab, a) in enumerate(zip(self.tokens, self.input_tokens, self.labels, self.actions))
        ]


def tokenize_for_masking(tokenizer, text: str) -> list[int]:
    """[CLS] text [SEP] as ids, with no length limit (masking itself has none)."""
    return text_ids(tokenizer, [text], specials=True)[0]


def corrupt_ids(tokenizer, ids: list[int], config: MaskingConfig, seed: int, epoch: int = 0,
                dynamic: bool = True) -> MaskedText:
    """Corrupt one sequence of ids with a seeded draw."""
    x = torch.tensor([ids], dtype=torch.long)  # (1, T)
    special = torch.isin(x, torch.tensor(special_ids(tokenizer)))
    cont = _continuation_table(tokenizer)[x] if config.whole_word else None  # (1, T)
    out = mask_tokens(
        x, special, mask_token_id=tokenizer.mask_token_id, vocab_size=len(tokenizer), config=config,
        generator=make_generator(epoch_seed(seed, epoch, dynamic)), continuation=cont,
    )
    corrupted = out.input_ids[0].tolist()
    return MaskedText(
        tokens=tokenizer.convert_ids_to_tokens(ids),
        input_tokens=tokenizer.convert_ids_to_tokens(corrupted),
        input_ids=corrupted,
        labels=out.labels[0].tolist(),
        actions=[ACTION_NAMES[int(a)] for a in out.actions[0]],
    )


def mask_text(tokenizer, text: str, config: MaskingConfig = MaskingConfig(), seed: int = 0,
              epoch: int = 0, dynamic: bool = True) -> MaskedText:
    from ..inputs.text import clean_text

    text = clean_text(text)
    masked = corrupt_ids(tokenizer, tokenize_for_masking(tokenizer, text), config, seed, epoch, dynamic)
    return dataclasses.replace(masked, typed_specials=typed_specials(tokenizer, text))


# ---- sampling statistics: many draws of the same corruption, in one batched call --------------

@dataclass(frozen=True)
class MaskingStats:
    """Counts over `draws` corruptions of one text, with the binomial model they should follow."""

    draws: int
    eligible: int  # tokens that may be chosen, per draw (not [CLS]/[SEP]/other special tokens)
    chosen: int  # over all draws
    masked: int
    randomised: int
    kept: int
    chosen_per_draw: tuple[int, ...]  # (draws,)
    chosen_sd: float  # standard deviation of the chosen share (whole words move together)
    config: MaskingConfig

    def rows(self, sigmas: float = 3.0) -> list[dict]:
        """Observed vs expected share, with the `sigmas`-sigma binomial band."""
        c = self.config
        keep_share = max(0.0, round(1.0 - c.mask_share - c.random_share, 12))
        n_tok = self.draws * self.eligible
        items = [("chosen (of all tokens)", self.chosen, n_tok, c.rate, self.chosen_sd),
                 ("[MASK] (of chosen)", self.masked, self.chosen, c.mask_share, None),
                 ("random (of chosen)", self.randomised, self.chosen, c.random_share, None),
                 ("kept (of chosen)", self.kept, self.chosen, keep_share, None)]
        out = []
        for name, count, n, p, sd in items:
            if sd is None:
                sd = math.sqrt(p * (1 - p) / n) if n else float("nan")
            observed = count / n if n else float("nan")
            low, high = p - sigmas * sd, p + sigmas * sd
            out.append({"quantity": name, "count": count, "out_of": n, "observed": observed, "expected": p,
                        "low": low, "high": high, "inside": bool(n) and low - 1e-12 <= observed <= high + 1e-12})
        return out


def word_lengths(continuation: torch.Tensor, special: torch.Tensor) -> torch.Tensor:
    """(T,) continuation / special flags of one sequence -> (W,) pieces per word (eligible pieces only)."""
    start = word_start_index((continuation & ~special)[None])[0]  # (T,)
    lengths = torch.bincount(start[~special], minlength=len(start))  # (T,)
    return lengths[lengths > 0]


def sample_statistics(tokenizer, text: str, config: MaskingConfig = MaskingConfig(), draws: int = 1000,
                      seed: int = 0, max_cells: int = 4_000_000) -> MaskingStats:
    """Corrupt `text` `draws` times (batched: one (draws, T) call per chunk) and count what happened."""
    from ..inputs.text import clean_text

    if not isinstance(draws, int) or draws < 1:
        raise PlaygroundError(f"The number of draws must be a positive integer, got {draws!r}.")
    ids = torch.tensor([tokenize_for_masking(tokenizer, clean_text(text))])  # (1, T)
    special = torch.isin(ids, torch.tensor(special_ids(tokenizer)))  # (1, T)
    cont = _continuation_table(tokenizer)[ids]  # (1, T)
    lengths = word_lengths(cont[0], special[0]) if config.whole_word else torch.ones(int((~special).sum()))
    eligible = int((~special).sum())
    p = config.rate
    chosen_sd = math.sqrt(p * (1 - p) * float((lengths.double() ** 2).sum()) / draws) / eligible if eligible else float("nan")
    g = make_generator(seed)
    T = ids.shape[1]
    step = max(1, max_cells // T)
    per_draw, counts = [], torch.zeros(4, dtype=torch.long)
    for start in range(0, draws, step):
        b = min(step, draws - start)
        out = mask_tokens(ids.expand(b, T), special.expand(b, T), mask_token_id=tokenizer.mask_token_id,
                          vocab_size=len(tokenizer), config=config, generator=g,
                          continuation=cont.expand(b, T) if config.whole_word else None)
        per_draw.append((out.actions != NOT_CHOSEN).sum(1))  # (b,)
        counts += torch.bincount(out.actions.flatten().long(), minlength=4)  # (4,)
    per = torch.cat(per_draw)
    return MaskingStats(
        draws=draws, eligible=eligible, chosen=int(per.sum()), masked=int(counts[MASK]),
        randomised=int(counts[RANDOM]), kept=int(counts[KEEP]), chosen_per_draw=tuple(per.tolist()),
        chosen_sd=chosen_sd, config=config,
    )
