"""Masked-LM predictions: fill in typed [MASK] tokens, and score a corrupted input as pre-training does.

Both paths are one forward pass through `models.forward` (the MLM head gives (1, T, V) logits);
probabilities are a softmax over the whole vocabulary at the positions that matter.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import torch

from ..checkpoints.families import word_start_marker
from ..checkpoints import parts
from ..checkpoints.models import derived, forward
from ..core.errors import PlaygroundError
from ..core.notices import Notice, warning
from ..inputs.text import (
    clean_text,
    max_length,
    pad_batch,
    token_ids,
    truncate_ids,
    typed_specials,
    typed_specials_notice,
)
from .masking import IGNORE, MaskedText, special_ids

# '[mask]', '<mask>', '[ MASK ]', '<MASK]'...: spellings a user may type for the mask token
MASK_SPELLING = re.compile(r"[\[<]\s*mask\s*[\]>]", re.IGNORECASE)
EXAMPLE = "The capital of France is [MASK]."


@dataclass(frozen=True)
class Prediction:
    token: str
    token_id: int
    probability: float


@dataclass(frozen=True)
class MaskFill:
    position: int  # index of the mask in `tokens`
    predictions: tuple[Prediction, ...]  # most probable first

    def to_dict(self) -> dict:
        return {"position": self.position,
                "predictions": [{"token": p.token, "token_id": p.token_id, "probability": p.probability}
                                for p in self.predictions]}


@dataclass(frozen=True)
class FillResult:
    model: str
    text: str  # the text the model read, mask spellings normalised to `mask_token`
    tokens: tuple[str, ...]  # model input, [CLS] ... [SEP]
    masks: tuple[MaskFill, ...]
    filled: str  # `text` with each mask replaced by the best guess
    mask_token: str
    normalised: tuple[str, ...]  # spellings the user wrote that were read as `mask_token`, e.g. ('[mask]',)
    truncated: bool  # the text was cut to the model's maximum length
    full_length: int  # tokens before the cut
    masks_dropped: int  # masks after the cut, not predicted
    context_tokens: int  # tokens that are neither special nor masks
    typed_specials: tuple[str, ...] = ()  # special tokens other than the mask typed in the text (read as the real ones)
    window_start: int = 0  # the read window starts at this token of the text (0: its beginning)

    def to_dict(self) -> dict:
        return {"model": self.model, "tokens": list(self.tokens), "masks": [m.to_dict() for m in self.masks]}

    @property
    def notices(self) -> tuple[Notice, ...]:
        """How the text was read and what weakens the guesses, for the user (page and CLI show them)."""
        out = []
        if typed := typed_specials_notice(self.typed_specials):
            out.append(warning(typed))
        if self.normalised:
            out.append(Notice(f"Read {', '.join(repr(s) for s in self.normalised)} as {self.mask_token}, "
                              "this tokenizer's mask token."))
        if self.truncated and self.window_start:
            out.append(warning(f"The text has {self.full_length} tokens, more than the model's {len(self.tokens)}: it "
                               f"reads a window around the masks, tokens {self.window_start + 1}–"
                               f"{self.window_start + len(self.tokens) - 2} of the text"
                               + (f"; {self.masks_dropped} mask(s) outside it are not predicted." if self.masks_dropped else ".")))
        elif self.truncated:
            out.append(warning(f"The text has {self.full_length} tokens; the model reads the first {len(self.tokens)}"
                               + (f", so {self.masks_dropped} mask(s) after the cut are not predicted."
                                  if self.masks_dropped else ".")))
        if self.context_tokens == 0:
            out.append(warning("The text is only masks: with no context the guesses are just the tokens the model "
                               "finds likely anywhere."))
        elif len(self.masks) > self.context_tokens:
            out.append(warning(f"More masks ({len(self.masks)}) than real tokens ({self.context_tokens}): "
                               "little context, weak guesses."))
        return tuple(out)


def require_mlm(bundle) -> None:
    if not bundle.info.has_mlm:
        raise PlaygroundError(
            f"The checkpoint '{bundle.info.name}' has no masked-LM head, so it cannot guess masked tokens"
            + (" (an ELECTRA discriminator detects replaced tokens instead; its generator fills masks)"
               if bundle.info.has_rtd else "") + ". Pick a checkpoint with one, e.g. 'embedded' or bert-base-uncased."
        )


def normalise_masks(text: str, mask_token: str) -> tuple[str, tuple[str, ...]]:
    """Read '[mask]', '<mask>', '[ MASK ]'... as the tokenizer's mask token; return the spellings replaced."""
    seen = []
    for m in MASK_SPELLING.finditer(text):
        if m.group(0) != mask_token and m.group(0) not in seen:
            seen.append(m.group(0))
    return MASK_SPELLING.sub(lambda m: mask_token, text), tuple(seen)


_WORD = re.compile(r"\S+")
_CORE = re.compile(r"^(\W*)(.+?)(\W*)$", re.DOTALL)


def words(text: str) -> list[str]:
    """The whitespace-separated words of a text, in order (what the 'insert a mask' picker offers)."""
    return _WORD.findall(text or "")


def mask_word(text: str, index: int, mask_token: str = "[MASK]") -> str:
    """Replace word `index` of `text` by the mask token, keeping its surrounding punctuation ('France.' -> '[MASK].')."""
    spans = list(_WORD.finditer(text or ""))
    if not 0 <= index < len(spans):
        raise PlaygroundError(f"There is no word number {index + 1} in the text.")
    m = spans[index]
    word = m.group(0)
    if MASK_SPELLING.search(word):  # already a mask: just spell it the tokenizer's way
        new = MASK_SPELLING.sub(lambda _: mask_token, word)
    elif not any(c.isalnum() for c in word):  # punctuation only: replace all of it
        new = mask_token
    else:
        lead, _, trail = _CORE.match(word).groups()
        new = lead + mask_token + trail
    return text[: m.start()] + new + text[m.end():]


def _check_top_k(top_k, vocab: int) -> int:
    if isinstance(top_k, bool) or not isinstance(top_k, int) or top_k < 1:
        raise PlaygroundError(f"top-k must be a positive whole number, got {top_k!r}.")
    return min(top_k, vocab)


def _fill_text(text: str, mask_token: str, guesses: list[str], tokenizer=None) -> str:
    """Put the guesses into the text, in order. A piece that continues a word ('##ing' in WordPiece; a byte-level
    BPE or SentencePiece piece without its word-start mark 'Ġ'/'▁') is glued to the word before it."""
    mode, marker = word_start_marker(tokenizer) if tokenizer is not None else ("continues", "##")
    parts = text.split(mask_token)
    out = parts[0]
    for i, part in enumerate(parts[1:]):
        g = guesses[i] if i < len(guesses) and guesses[i] is not None else mask_token
        if mode == "continues" or g == mask_token:
            glue, word = g.startswith("##") and g != mask_token, g[2:] if g.startswith("##") else g
        else:
            glue, word = not g.startswith(marker), tokenizer.convert_tokens_to_string([g]).strip()
        out = (out.rstrip(" ") + word) if glue else out + word
        out += part
    return out


def _batch(ids: list[int], device) -> dict[str, torch.Tensor]:
    return {k: v.to(device) for k, v in pad_batch([ids]).items()}  # (1, T)


@torch.inference_mode()
def mlm_logits_at(bundle, ids: list[int], positions: list[int]) -> torch.Tensor:
    """(M, V) MLM-head logits at `positions` only: the encoder once, then the head on those M vectors
    (the head's (T, V) output over every position costs more than the encoder and ~60 MB at 512 tokens)."""
    split = _split_head(bundle)
    if split is None:  # a head in several parts (DistilBERT, ELECTRA's generator, ModernBERT): the full forward pass
        return forward(bundle, _batch(ids, bundle.device)).mlm_logits[0, positions]
    before, projection = split
    out = forward(bundle, _batch(ids, bundle.device), hidden_states=True, mlm=False)
    return vocab_logits(before(out.hidden_states[-1][0, positions]), projection)  # (M, D) -> (M, V)


def _split_head(bundle):
    """The MLM head as (everything before its vocabulary projection, that projection), or None, from the parts
    its family names (`Family.mlm_transform`, `Family.mlm_decoder`): the model's own modules, shared, never
    changed. Built once per loaded model."""
    fam = bundle.family
    if not fam.mlm_transform or not fam.mlm_decoder:
        return None

    def build(model):
        try:
            steps = [parts.step(model, name) for name in fam.mlm_transform]
            projection = parts.step(model, fam.mlm_decoder)
        except LookupError:  # a class without this head (an encoder-only checkpoint)
            return None
        if not isinstance(projection, torch.nn.Linear) or projection.out_features != bundle.info.vocab_size:
            return None
        return _Before(steps), projection

    return derived(bundle.model, "mlm head split", build)


class _Before:
    """The MLM head's steps before its vocabulary projection, as one callable: (M, D) -> (M, D')."""

    def __init__(self, steps):
        self.steps = steps

    def __call__(self, h: torch.Tensor) -> torch.Tensor:
        for fn in self.steps:
            h = fn(h)
        return h

    def parameters(self):
        for fn in self.steps:
            yield from (fn.parameters() if isinstance(fn, torch.nn.Module) else ())


def vocab_logits(h: torch.Tensor, projection: torch.nn.Linear) -> torch.Tensor:
    """(M, D) -> (M, V): h W^T + b, the vocabulary projection. For a few rows on the CPU it is computed as
    (W h^T)^T, the same products: MKL reads the (V, D) matrix 2-5x faster that way than through its
    matrix-vector path (one row) or its small-M path (2-8 rows), and that read is most of a fill-mask query."""
    m = h.shape[0]
    if h.device.type != "cpu" or h.dtype != torch.float32 or not 0 < m < 16:
        return projection(h)
    x = torch.cat([h, h]) if m == 1 else h.contiguous()  # (M', D), M' >= 2: the fast GEMM path
    w, b = projection.weight, projection.bias
    out = torch.mm(w, x.T) if b is None else torch.addmm(b[:, None], w, x.T)  # (V, M')
    return out.T[:m].contiguous()  # (M, V)


def fill(bundle, text: str, top_k: int = 5) -> FillResult:
    """Top-k tokens and their probabilities at every mask in `text` (one forward pass)."""
    require_mlm(bundle)
    tok = bundle.tokenizer
    k = _check_top_k(top_k, bundle.info.vocab_size)
    text, spellings = normalise_masks(clean_text(text, "The text"), tok.mask_token)
    typed = text.count(tok.mask_token)
    if typed == 0:
        raise PlaygroundError(f"There is no {tok.mask_token} in the text: write {tok.mask_token} where the model "
                              f"should guess a word, e.g. '{EXAMPLE.replace('[MASK]', tok.mask_token)}'.")
    full = token_ids(tok, [text], specials=True)[0]
    start = mask_window(full, max_length(bundle), tok.mask_token_id)
    if start:  # [CLS] + a window of the text around the masks + [SEP]
        ids, truncated = [full[0]] + full[1 + start: start + max_length(bundle) - 1] + [full[-1]], True
    else:
        ids, truncated = truncate_ids(full, max_length(bundle), tok.sep_token_id)
    positions = [i for i, t in enumerate(ids) if t == tok.mask_token_id]
    first = sum(t == tok.mask_token_id for t in full[1: 1 + start])  # masks before the window
    logits = mlm_logits_at(bundle, ids, positions)  # (M, V)
    probs = logits.float().softmax(dim=-1)  # (M, V)
    top = probs.topk(k, dim=-1)  # (M, k)
    top_p, top_i = top.values.cpu().tolist(), top.indices.cpu().tolist()
    masks = tuple(
        MaskFill(pos, tuple(Prediction(t, i, p) for t, i, p in zip(tok.convert_ids_to_tokens(ii), ii, pp)))
        for pos, ii, pp in zip(positions, top_i, top_p)
    )
    specials = set(special_ids(tok))
    return FillResult(
        model=bundle.info.name, text=text, tokens=tuple(tok.convert_ids_to_tokens(ids)), masks=masks,
        filled=_fill_text(text, tok.mask_token, [None] * first + [m.predictions[0].token for m in masks], tok),
        mask_token=tok.mask_token, normalised=spellings, truncated=truncated, full_length=len(full),
        masks_dropped=max(0, typed - len(positions)), context_tokens=sum(i not in specials for i in ids),
        typed_specials=typed_specials(tok, text), window_start=start,
    )


def mask_window(full: list[int], limit: int, mask_id: int) -> int:
    """Where the window of a too-long [CLS] text [SEP] starts (0: the beginning), chosen to hold the most masks,
    centred on them; the beginning whenever it holds as many."""
    n = limit - 2  # text tokens that fit between [CLS] and [SEP]
    body = full[1:-1]
    if len(body) <= n:
        return 0
    where = [i for i, t in enumerate(body) if t == mask_id]
    count = lambda s: sum(s <= p < s + n for p in where)  # noqa: E731
    best = max(where, key=count, default=0)
    if not where or count(0) >= count(best):
        return 0
    inside = [p for p in where if best <= p < best + n]
    centre = (inside[0] + inside[-1]) // 2
    return max(0, min(centre - n // 2, len(body) - n, inside[0]))


# ---- a corrupted input (masking.mask_text): what pre-training's loss sees -------------------

@dataclass(frozen=True)
class ChosenPrediction:
    position: int
    action: str  # 'mask' | 'random' | 'keep'
    original: str  # the label
    input: str  # what the model read there
    predicted: str  # the model's best guess
    probability: float  # of the best guess
    label_probability: float  # of the original token
    loss: float  # -log p(original): this position's term of the MLM loss

    @property
    def correct(self) -> bool:
        return self.predicted == self.original


@dataclass(frozen=True)
class CorruptionScore:
    model: str
    rows: tuple[ChosenPrediction, ...]  # every chosen position the model read
    loss: float | None  # MLM loss: mean over the chosen positions only; None when none was chosen
    truncated: bool  # the corrupted text was cut to the model's maximum length
    length: int  # tokens the model read

    @property
    def accuracy(self) -> float | None:
        return sum(r.correct for r in self.rows) / len(self.rows) if self.rows else None

    def loss_by_action(self) -> dict[str, float]:
        out = {}
        for a in ("mask", "random", "keep"):
            losses = [r.loss for r in self.rows if r.action == a]
            if losses:
                out[a] = sum(losses) / len(losses)
        return out


def score_corruption(bundle, masked: MaskedText) -> CorruptionScore:
    """The model's guess and loss at every chosen position of a corrupted input (one forward pass)."""
    require_mlm(bundle)
    tok = bundle.tokenizer
    ids, truncated = truncate_ids(list(masked.input_ids), max_length(bundle), tok.sep_token_id)
    labels = list(masked.labels[: len(ids)])
    if truncated:
        labels[-1] = IGNORE  # the [SEP] put at the cut
    positions = [i for i, lab in enumerate(labels) if lab != IGNORE]
    if not positions:
        return CorruptionScore(bundle.info.name, (), None, truncated, len(ids))
    logits = mlm_logits_at(bundle, ids, positions)  # (C, V)
    logp = logits.float().log_softmax(dim=-1)  # (C, V)
    target = torch.tensor([labels[i] for i in positions], device=logp.device)  # (C,)
    loss = -logp.gather(1, target[:, None])[:, 0]  # (C,)
    best_logp, best = logp.max(dim=-1)  # (C,), (C,)
    guesses = tok.convert_ids_to_tokens(best.cpu().tolist())
    rows = tuple(
        ChosenPrediction(position=i, action=masked.actions[i], original=masked.tokens[i], input=masked.input_tokens[i],
                         predicted=g, probability=bp, label_probability=lp, loss=li)
        for i, g, bp, lp, li in zip(positions, guesses, best_logp.exp().cpu().tolist(), (-loss).exp().cpu().tolist(),
                                    loss.cpu().tolist())
    )
    return CorruptionScore(bundle.info.name, rows, float(loss.mean()), truncated, len(ids))


def load_tokenizer(name: str | None = None):
    """The tokenizer of a checkpoint (default: the embedded one), without loading its weights."""
    from transformers import AutoTokenizer

    from ..checkpoints.models import TOKENIZER_FILES, _hub_folder, has_tokenizer, resolve
    from ..core.errors import CheckpointError

    name, source, folder = resolve(name)
    folder = folder if folder is not None else _hub_folder(name)
    if not folder.is_dir():
        raise CheckpointError(f"Checkpoint folder '{name}' does not exist.")
    if not has_tokenizer(folder):
        raise CheckpointError(f"'{name}' has no tokenizer ({', '.join(TOKENIZER_FILES)}).")
    try:
        return AutoTokenizer.from_pretrained(str(folder), local_files_only=True)
    except Exception as exc:
        raise CheckpointError(f"The tokenizer of '{name}' could not be loaded: {type(exc).__name__}.") from None
