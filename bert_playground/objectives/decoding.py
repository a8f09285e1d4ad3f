"""Beyond one mask at a time: whole-word masks, joint decoding of several masks, candidate words scored by
pseudo-log-likelihood, and the same mask read with only its left or only its right context.

`mlm.fill` scores each mask on its own (one forward pass, every other mask still hidden). Here:
- joint decoding fills the masks one by one, each new forward pass seeing the ones already filled
  (most-confident-first: the mask whose best guess is most probable; or left to right);
- a candidate word of n WordPiece pieces is scored by its pseudo-log-likelihood (Salazar et al. 2020):
  put its pieces in place of the mask, then sum log p(piece_i) with piece i masked and the others shown;
- left/right context: the predictions at the mask with the tokens on its right removed, or those on its left.
All forward passes go through `mlm.mlm_logits_at`.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import torch

from ..core.errors import PlaygroundError
from ..inputs.text import clean_text, max_length
from .mlm import _CORE, _WORD, MASK_SPELLING, Prediction, _check_top_k, _fill_text, fill, mlm_logits_at

ORDERS = ("confidence", "left-to-right")
MAX_CANDIDATES = 20
MAX_PIECES = 16


# ---- whole-word masking ----------------------------------------------------------------------

@dataclass(frozen=True)
class WholeWord:
    text: str  # the text with the word replaced by one mask per piece
    word: str  # the word (without surrounding punctuation)
    pieces: tuple[str, ...]  # its WordPiece pieces, the answer


def mask_whole_word(tokenizer, text: str, index: int) -> WholeWord:
    """Replace whitespace-word `index` by as many masks as it has WordPiece pieces (punctuation kept)."""
    text = clean_text(text, "The text")
    spans = list(_WORD.finditer(text))
    if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < len(spans):
        raise PlaygroundError(f"There is no word number {index + 1 if isinstance(index, int) else index} in the text.")
    m = spans[index]
    if MASK_SPELLING.search(m.group(0)):
        raise PlaygroundError(f"Word {index + 1} is already a mask: pick another word.")
    lead, core, trail = _CORE.match(m.group(0)).groups()
    if not any(c.isalnum() for c in core):
        raise PlaygroundError(f"Word {index + 1} ('{m.group(0)}') is only punctuation: pick a word.")
    pieces = tuple(tokenizer.tokenize(core))
    if not pieces:
        raise PlaygroundError(f"Word {index + 1} has no tokens this tokenizer keeps: pick another word.")
    new = lead + " ".join([tokenizer.mask_token] * len(pieces)) + trail
    return WholeWord(text[:m.start()] + new + text[m.end():], core, pieces)


# ---- joint decoding ------------------------------------------------------------------------------

@dataclass(frozen=True)
class JointFill:
    order: tuple[int, ...]  # mask positions in the order they were filled
    positions: tuple[int, ...]  # mask positions, left to right
    tokens: tuple[str, ...]  # token chosen at each mask, left to right
    probabilities: tuple[float, ...]  # its probability when it was chosen, left to right
    independent: tuple[str, ...]  # each mask's own argmax (mlm.fill), left to right
    filled: str  # the text with the chosen tokens
    strategy: str  # 'confidence' | 'left-to-right'

    @property
    def differs(self) -> tuple[bool, ...]:
        return tuple(a != b for a, b in zip(self.tokens, self.independent))

    def to_dict(self) -> dict:
        return {"order": list(self.order), "tokens": list(self.tokens), "filled": self.filled}

    def table(self, answer: tuple[str, ...] | None = None) -> dict[str, list]:
        """The page's table, column by column: each mask's own guess beside the joint one, the step that filled it
        and its probability then, and (given) the original piece."""
        cols = {"Position": list(self.positions), "Each mask on its own": list(self.independent),
                "Jointly": list(self.tokens), "Filled as step": [self.order.index(p) + 1 for p in self.positions],
                "p when filled": list(self.probabilities), "Differs": list(self.differs)}
        if answer is not None:
            cols["Original piece"] = list(answer)
        return cols


def _ids(bundle, res) -> list[int]:
    return bundle.tokenizer.convert_tokens_to_ids(list(res.tokens))


def joint_fill(bundle, text: str, strategy: str = "confidence") -> JointFill:
    """Fill every mask of `text` one at a time, each pass seeing the tokens already chosen."""
    if strategy not in ORDERS:
        raise PlaygroundError(f"Unknown decoding order '{strategy}': use one of {', '.join(ORDERS)}.")
    res = fill(bundle, text, 1)  # validates the text; each mask's independent argmax
    ids = _ids(bundle, res)
    positions = [m.position for m in res.masks]
    chosen: dict[int, tuple[int, float]] = {}
    order = []
    while len(chosen) < len(positions):
        left = [p for p in positions if p not in chosen]
        probs = mlm_logits_at(bundle, ids, left).float().softmax(-1)  # (M, V)
        best_p, best_i = probs.max(-1)  # (M,)
        j = int(best_p.argmax()) if strategy == "confidence" else 0
        pos = left[j]
        chosen[pos] = (int(best_i[j]), float(best_p[j]))
        ids[pos] = chosen[pos][0]
        order.append(pos)
    toks = tuple(bundle.tokenizer.convert_ids_to_tokens([chosen[p][0] for p in positions]))
    return JointFill(tuple(order), tuple(positions), toks, tuple(chosen[p][1] for p in positions),
                     tuple(m.predictions[0].token for m in res.masks), _fill_text(res.text, res.mask_token, list(toks)),
                     strategy)


# ---- candidates scored by pseudo-log-likelihood ------------------------------------------------------

@dataclass(frozen=True)
class Candidate:
    word: str
    pieces: tuple[str, ...]
    piece_log_probs: tuple[float, ...]  # log p(piece_i | the text, the other pieces shown)
    pll: float  # their sum

    @property
    def per_piece(self) -> float:
        return self.pll / len(self.pieces)

    def row(self) -> dict:
        """The page's table row: the word, its pieces, each piece's log-probability and the PLL."""
        return {"Word": self.word, "Pieces": " ".join(self.pieces),
                "log p per piece": ", ".join(f"{v:.2f}" for v in self.piece_log_probs), "PLL": self.pll}

    def to_dict(self) -> dict:
        return {"word": self.word, "pieces": list(self.pieces), "pll": self.pll}


def parse_candidates(raw: str | list[str]) -> list[str]:
    """'paris, lyon' or ['paris', 'lyon'] -> ['paris', 'lyon'] (cleaned, duplicates dropped)."""
    items = raw.split(",") if isinstance(raw, str) else list(raw)
    out = []
    for w in items:
        w = re.sub(r"\s+", " ", str(w)).strip()
        if w and w not in out:
            out.append(w)
    if not out:
        raise PlaygroundError("No candidate words: type one or more, separated by commas (e.g. paris, lyon).")
    if len(out) > MAX_CANDIDATES:
        raise PlaygroundError(f"{len(out)} candidates is too many: score at most {MAX_CANDIDATES} at a time.")
    return out


def score_candidates(bundle, text: str, words: str | list[str]) -> list[Candidate]:
    """Each candidate in place of the first mask, scored by PLL over its pieces (best first)."""
    words = parse_candidates(words)
    res = fill(bundle, text, 1)
    tok = bundle.tokenizer
    ids = _ids(bundle, res)
    pos = res.masks[0].position
    out = []
    for w in words:
        pieces = tok.tokenize(w)
        if not pieces:
            raise PlaygroundError(f"The candidate '{w}' has no tokens this tokenizer keeps.")
        if len(pieces) > MAX_PIECES:
            raise PlaygroundError(f"The candidate '{w[:40]}' has {len(pieces)} pieces; at most {MAX_PIECES}.")
        piece_ids = tok.convert_tokens_to_ids(pieces)
        seq = ids[:pos] + piece_ids + ids[pos + 1:]
        if len(seq) > max_length(bundle):
            raise PlaygroundError(
                f"The text already fills almost all of the {max_length(bundle)} tokens the model reads: the candidate "
                f"'{w[:40]}' ({len(pieces)} pieces) does not fit at the first {tok.mask_token}. Shorten the text.")
        logps = []
        for i, pid in enumerate(piece_ids):
            masked = list(seq)
            masked[pos + i] = tok.mask_token_id
            logp = mlm_logits_at(bundle, masked, [pos + i]).float().log_softmax(-1)[0, pid]
            logps.append(float(logp))
        out.append(Candidate(w, tuple(pieces), tuple(logps), float(sum(logps))))
    return sorted(out, key=lambda c: -c.pll)


# ---- left vs right context ------------------------------------------------------------------------

@dataclass(frozen=True)
class Sides:
    position: int  # the mask, in `tokens`
    tokens: tuple[str, ...]  # the whole input
    both: tuple[Prediction, ...]
    left: tuple[Prediction, ...]  # right side removed: [CLS] left [MASK] [SEP]
    right: tuple[Prediction, ...]  # left side removed: [CLS] [MASK] right [SEP]
    left_tokens: tuple[str, ...]
    right_tokens: tuple[str, ...]

    def to_dict(self) -> dict:
        f = lambda ps: [{"token": p.token, "probability": p.probability} for p in ps]  # noqa: E731
        return {"both": f(self.both), "left": f(self.left), "right": f(self.right)}


def _top(bundle, ids: list[int], pos: int, k: int) -> tuple[Prediction, ...]:
    probs = mlm_logits_at(bundle, ids, [pos]).float().softmax(-1)[0]  # (V,)
    top = probs.topk(k)
    idx = top.indices.tolist()
    return tuple(Prediction(t, i, p) for t, i, p in zip(bundle.tokenizer.convert_ids_to_tokens(idx), idx,
                                                          top.values.tolist()))


def sides(bundle, text: str, top_k: int = 5) -> Sides:
    """Top-k at the first mask with the whole context, with only the left context, with only the right.

    The other side is removed (not masked): a row of masks would tell the model how many tokens are missing
    and it would read them as more words to guess. [CLS] and the final [SEP] stay; other masks stay masks."""
    k = _check_top_k(top_k, bundle.info.vocab_size)
    res = fill(bundle, text, k)
    ids = _ids(bundle, res)
    pos = res.masks[0].position
    cls, sep = ids[:1], ids[-1:]
    left_ids = ids[:pos + 1] + sep  # [CLS] ... [MASK] [SEP]
    right_ids = cls + ids[pos:]  # [CLS] [MASK] ... [SEP]
    tok = bundle.tokenizer
    return Sides(pos, tuple(res.tokens), res.masks[0].predictions, _top(bundle, left_ids, pos, k),
                 _top(bundle, right_ids, 1, k), tuple(tok.convert_ids_to_tokens(left_ids)),
                 tuple(tok.convert_ids_to_tokens(right_ids)))
