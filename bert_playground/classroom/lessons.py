"""Exercise sets for lesson mode (predict, then reveal): the file format, its validation, and the model's answer.

A set is a YAML or JSON file:

    title: Masked LM warm-up
    exercises:
      - page: masked-lm                 # tokenizer-lab | masked-lm | nsp | attention | interventions | fine-tuning
        inputs: {fill: "Paris is the [MASK] of France."}   # the page's link parameters (playground_ui.state)
        question: Which word does the model put at [MASK]?
        answers: [capital]              # accepted answers (case-insensitive)
        model_wrong: false              # optional: true when the exercise is about a mistake the model makes
        note: optional text shown after the reveal

A teacher's set also travels inside a link (`encode_link` / `decode_link`): its JSON, zlib-compressed and
base64url-encoded, so the link works offline and nothing is stored on the server.
"""
from __future__ import annotations

import base64
import binascii
import json
import os
import re
import zlib
from dataclasses import dataclass
from pathlib import Path

import jsonschema

from ..core.errors import PlaygroundError
from ..core.parsing import capped, load_yaml
from ..core.paths import LESSONS_DIR

PAGES = ("tokenizer-lab", "masked-lm", "nsp", "attention", "interventions", "fine-tuning")  # pages with lesson mode
ABLATION_CHOICES = ("stays", "changes")  # the answers of an ablation exercise
MAX_BYTES = 200_000  # an uploaded set larger than this is refused
LINK_VERSION = "1."  # the first characters of a set carried in a link (the format's version)
MAX_LINK_CHARS = 6_000  # a set in a link: at most this many characters (long addresses break in browsers and proxies)
FOLDER_ENV = "BERT_PLAYGROUND_LESSONS"  # a server folder of more sets, offered by name beside the shipped ones
_LINK_CHARS = re.compile(r"[A-Za-z0-9_-]*")  # base64url without padding
SCHEMA = {
    "type": "object",
    "required": ["title", "exercises"],
    "additionalProperties": False,
    "properties": {
        "title": {"type": "string", "minLength": 1, "maxLength": 200},
        "description": {"type": "string", "maxLength": 2000},
        "exercises": {"type": "array", "minItems": 1, "maxItems": 200, "items": {
            "type": "object",
            "required": ["page", "inputs", "question", "answers"],
            "additionalProperties": False,
            "properties": {
                "page": {"enum": list(PAGES)},
                "inputs": {"type": "object", "maxProperties": 30,
                           "additionalProperties": {"type": ["string", "number", "boolean"]}},
                "question": {"type": "string", "minLength": 1, "maxLength": 1000},
                "answers": {"type": "array", "minItems": 1, "maxItems": 50,
                            "items": {"type": ["string", "number"], "minLength": 1}},
                "model_wrong": {"type": "boolean"},
                "note": {"type": "string", "maxLength": 2000},
            },
        }},
    },
}


@dataclass(frozen=True)
class Exercise:
    page: str  # one of PAGES
    inputs: dict  # URL parameter -> value (strings), as a lesson link would carry them
    question: str
    answers: tuple[str, ...]  # accepted answers
    model_wrong: bool = False  # the exercise is about something the model gets wrong
    note: str = ""

    def accepts(self, guess: str) -> bool:
        return normalise(guess) in {normalise(a) for a in self.answers}


@dataclass(frozen=True)
class LessonSet:
    title: str
    exercises: tuple[Exercise, ...]
    description: str = ""

    def to_dict(self) -> dict:
        """The set as the file format's data (what `parse` reads back into an equal set)."""
        def one(e: Exercise) -> dict:
            d = {"page": e.page, "inputs": dict(e.inputs), "question": e.question, "answers": list(e.answers)}
            return d | ({"model_wrong": True} if e.model_wrong else {}) | ({"note": e.note} if e.note else {})
        head = {"title": self.title} | ({"description": self.description} if self.description else {})
        return head | {"exercises": [one(e) for e in self.exercises]}


def normalise(answer) -> str:
    """Answers compare case- and space-insensitively; a WordPiece '##' prefix does not count."""
    text = " ".join(str(answer).split()).lower()
    return text[2:] if text.startswith("##") else text


def parse(text: str | bytes, name: str = "the exercise set") -> LessonSet:
    """Read and validate a set; PlaygroundError says what is wrong and where."""
    if isinstance(text, bytes):
        if len(text) > MAX_BYTES:
            raise PlaygroundError(f"{name} is larger than {MAX_BYTES // 1000} kB.")
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError:
            raise PlaygroundError(f"{name} is not UTF-8 text.") from None
    if len(text) > MAX_BYTES:
        raise PlaygroundError(f"{name} is larger than {MAX_BYTES // 1000} kB.")
    data = load_yaml(text, name)  # aliases and nesting limited while parsing: no bomb gets built
    error = jsonschema.exceptions.best_match(jsonschema.Draft202012Validator(SCHEMA).iter_errors(data))
    if error is not None:
        where = capped("/".join(str(p) for p in error.absolute_path), 80) or "the top level"
        raise PlaygroundError(f"{name}: at {where}: {capped(error.message)}")
    return LessonSet(data["title"], tuple(
        Exercise(e["page"], {k: str(v) if not isinstance(v, bool) else ("1" if v else "0") for k, v in e["inputs"].items()},
                 e["question"], tuple(str(a) for a in e["answers"]), bool(e.get("model_wrong", False)), e.get("note", ""))
        for e in data["exercises"]), data.get("description", ""))


def encode_link(lset: LessonSet) -> str:
    """The set as one URL-safe word: version, then base64url (no padding) of its zlib-compressed compact JSON."""
    raw = json.dumps(lset.to_dict(), ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    code = LINK_VERSION + base64.urlsafe_b64encode(zlib.compress(raw, 9)).decode("ascii").rstrip("=")
    if len(code) > MAX_LINK_CHARS:
        raise PlaygroundError(f"This set is too big to travel in a link ({len(code):,} characters compressed; a link "
                              f"carries at most {MAX_LINK_CHARS:,}): share the file instead, or split the set.")
    return code


def decode_link(code: str, name: str = "The exercise set in the link") -> LessonSet:
    """A set from `encode_link`'s word, validated like an upload; PlaygroundError says why a link cannot open."""
    code = str(code).strip()
    if len(code) > MAX_LINK_CHARS:
        raise PlaygroundError(f"{name} is too big ({len(code):,} characters; a link carries at most "
                              f"{MAX_LINK_CHARS:,}).")
    body = code[len(LINK_VERSION):]
    if not code.startswith(LINK_VERSION) or not body or not _LINK_CHARS.fullmatch(body):
        raise PlaygroundError(f"{name} is not a shared exercise set (the link may be damaged or cut short).")
    try:
        packed = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
        inflate = zlib.decompressobj()
        raw = inflate.decompress(packed, MAX_BYTES + 1)  # never more than an upload may hold (no zip bomb)
    except (binascii.Error, ValueError, zlib.error):
        raise PlaygroundError(f"{name} is damaged (it does not decode): copy the whole link again.") from None
    if len(raw) > MAX_BYTES or inflate.unconsumed_tail:
        raise PlaygroundError(f"{name} is larger than {MAX_BYTES // 1000} kB once unpacked.")
    if not inflate.eof:
        raise PlaygroundError(f"{name} is cut short: copy the whole link again.")
    return parse(raw, name)


def _sets_in(folder: Path) -> dict[str, Path]:
    return {p.stem: p for p in sorted(folder.glob("*.y*ml")) + sorted(folder.glob("*.json")) if p.is_file()}


def shipped() -> dict[str, Path]:
    """The sets offered by name: name -> file. The shipped ones, then those in $BERT_PLAYGROUND_LESSONS (a
    teacher's folder on the server; a name already shipped keeps the shipped set)."""
    sets = _sets_in(LESSONS_DIR)
    folder = os.environ.get(FOLDER_ENV, "").strip()
    if folder and Path(folder).expanduser().is_dir():
        for name, path in _sets_in(Path(folder).expanduser()).items():
            sets.setdefault(name, path)
    return sets


def load(name: str) -> LessonSet:
    files = shipped()
    if name not in files:
        raise PlaygroundError(f"There is no shipped exercise set '{name}'; there are: {', '.join(files)}.")
    return parse(files[name].read_bytes(), files[name].name)


# ---- the model's answer to an exercise (what the reveal shows) ---------------------------------

def most_attended(maps, layer: int, head: int | None, position: int) -> int:
    """The position that `position` attends to most in one head (None: the mean over heads)."""
    rows = maps.attentions[layer]  # (H, T, T)
    row = rows.mean(axis=0)[position] if head is None else rows[head][position]  # (T,)
    return int(row.argmax())


def tokenizer_answer(steps) -> str:
    """The answer to a tokenizer exercise: how many pieces the text becomes (a `wordpiece.Steps`)."""
    return str(len(steps.tokens))


def mlm_answer(result) -> str:
    """The model's answer to a masked-LM exercise: its best guess at the first mask (a `mlm.FillResult`)."""
    return result.masks[0].predictions[0].token


def nsp_answer(score) -> str:
    """The model's answer to an NSP exercise: the NSP head's decision, 'IsNext' or 'NotNext' (an `nsp.NspScore`)."""
    return score.prediction


def attention_answer(maps, layer: int, head: int | None, position: int) -> str:
    """The model's answer to an attention exercise: the token `position` attends to most in that head."""
    return maps.tokens[most_attended(maps, layer, head, position)]


def ablation_answer(result) -> str:
    """The model's answer to an ablation exercise (an `interventions.Ablation`): 'changes' when switching the heads
    off changes the top guess at the first mask (or the NSP decision), else 'stays'."""
    def top(r):
        return r.masks[0].predictions[0].token if hasattr(r, "masks") else r.prediction
    return ABLATION_CHOICES[top(result.before) != top(result.after)]


def lens_answer(lens) -> str:
    """The model's answer to a logit-lens exercise (an `interventions.Lens`): the first layer (0: the embeddings)
    from which the final answer at the first mask is the top reading of every layer up to the last."""
    ranks = [row["answer_rank"] for row in lens.masks[0]["layers"]]  # (L + 1,)
    first = len(ranks) - 1
    while first > 0 and ranks[first - 1] == 1:
        first -= 1
    return str(first)

