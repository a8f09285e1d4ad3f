"""Checkpoints side by side: one cloze sentence through several checkpoints, and an experiment sheet (a list of
cloze sentences with their answers) scored top-1 / top-5 per checkpoint, exportable as CSV.

Each checkpoint reads the sentence with its own mask token ('[MASK]' and '<mask>' are both read as it) through
`mlm.fill`; a guess counts as right when its text (the tokenizer's own spelling without its '##' / 'Ġ' / '▁'
marks) equals the answer, ignoring case.
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass

from ..core import csv_cells
from ..core.errors import PlaygroundError
from ..core.paths import CLOZE_SHEET
from ..objectives.mlm import FillResult, fill

MAX_SHEET_CHARS = 200_000  # a sheet's text: far more than MAX_ITEMS sentences need
MAX_ITEMS = 200  # sentences per sheet (each is one forward pass per checkpoint)


@dataclass(frozen=True)
class ClozeItem:
    sentence: str  # with one [MASK] (or <mask>)
    answer: str  # the expected word ('' when unknown: only the guesses are shown)


def side_by_side(bundles, text: str, top_k: int = 5) -> list[FillResult]:
    """The same text filled by each checkpoint (each with its own mask token)."""
    return [fill(b, text, top_k) for b in bundles]


def word(tokenizer, piece: str) -> str:
    """A predicted piece as plain text: 'Ġparis' / '▁paris' / '##is' -> 'paris' / 'is'."""
    text = tokenizer.convert_tokens_to_string([piece]).strip()
    return text[2:] if text.startswith("##") else text


def read_sheet(raw: bytes | str | None = None) -> list[ClozeItem]:
    """A sheet from CSV text with a 'sentence' column (and optionally 'answer'), or plain text: one sentence a line,
    an answer after a tab. None: the shipped sheet."""
    if raw is None:
        raw = CLOZE_SHEET.read_text(encoding="utf-8")
    if isinstance(raw, bytes):
        try:
            raw = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise PlaygroundError("The sheet is not UTF-8 text: save it as CSV (UTF-8) or plain text.") from None
    if len(raw) > MAX_SHEET_CHARS:
        raise PlaygroundError(f"The sheet has {len(raw):,} characters; at most {MAX_SHEET_CHARS:,} (about "
                              f"{MAX_ITEMS} sentences).")
    lines = [ln for ln in raw.splitlines() if ln.strip()]
    if not lines:
        raise PlaygroundError("The sheet is empty: one cloze sentence per line (with [MASK]), or a CSV with a "
                              "'sentence' column.")
    try:
        header = [h.strip().lower() for h in next(csv.reader([lines[0]]))]
        rows = list(csv.DictReader(io.StringIO("\n".join(lines)), fieldnames=header))[1:] if "sentence" in header else None
    except csv.Error:
        raise PlaygroundError("The sheet is not valid CSV: one cloze sentence per line, or a CSV with a 'sentence' "
                              "column.") from None
    if rows is not None:
        items = [ClozeItem(str(r.get("sentence") or "").strip(), str(r.get("answer") or "").strip()) for r in rows]
    else:
        items = [ClozeItem(*(ln.split("\t", 1) + [""])[:2]) for ln in lines]
        items = [ClozeItem(i.sentence.strip(), i.answer.strip()) for i in items]
    items = [i for i in items if i.sentence]
    if not items:
        raise PlaygroundError("The sheet has no sentences.")
    if len(items) > MAX_ITEMS:
        raise PlaygroundError(f"The sheet has {len(items)} sentences; at most {MAX_ITEMS} are scored at once.")
    return items


@dataclass(frozen=True)
class SheetResult:
    models: tuple[str, ...]
    rows: tuple[dict, ...]  # per sentence: sentence, answer, and per model '<m> top-1', '<m> top-5', '<m> ok@1', '<m> ok@5'

    def summary(self) -> list[dict]:
        """Per checkpoint: top-1 and top-5 accuracy over the sentences that have an answer and were scored."""
        out = []
        for m in self.models:
            scored = [r for r in self.rows if r["answer"] and r.get(f"{m} ok@1") is not None]
            n = len(scored)
            out.append({"checkpoint": m, "scored": n,
                        "top-1 accuracy": sum(r[f"{m} ok@1"] for r in scored) / n if n else None,
                        "top-5 accuracy": sum(r[f"{m} ok@5"] for r in scored) / n if n else None})
        return out

    def to_csv(self) -> str:
        return csv_cells.write(list(self.rows), list(self.rows[0]) if self.rows else ["sentence", "answer"])


def run_sheet(bundles, items: list[ClozeItem], k: int = 5) -> SheetResult:
    """Every sentence through every checkpoint: its top-1 and top-k guesses at the (first) mask, right or wrong."""
    if not bundles:
        raise PlaygroundError("Pick at least one checkpoint for the sheet.")
    names = tuple(b.info.name for b in bundles)
    if len(set(names)) != len(names):
        raise PlaygroundError("The same checkpoint is listed twice.")
    rows = []
    for item in items:
        row = {"sentence": item.sentence, "answer": item.answer}
        for b in bundles:
            try:
                guesses = [word(b.tokenizer, p.token) for p in fill(b, item.sentence, k).masks[0].predictions]
            except PlaygroundError as exc:  # e.g. no mask in that sentence: shown in the row, the sheet goes on
                row.update({f"{b.info.name} top-1": f"({exc})", f"{b.info.name} top-5": "",
                            f"{b.info.name} ok@1": None, f"{b.info.name} ok@5": None})
                continue
            answer = item.answer.casefold()
            row.update({f"{b.info.name} top-1": guesses[0], f"{b.info.name} top-5": " | ".join(guesses),
                        f"{b.info.name} ok@1": bool(answer) and guesses[0].casefold() == answer,
                        f"{b.info.name} ok@5": bool(answer) and answer in [g.casefold() for g in guesses]})
        rows.append(row)
    return SheetResult(names, tuple(rows))
