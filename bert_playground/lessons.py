"""Exercise sets for lesson mode (predict, then reveal): the file format, its validation, and the model's answer.

A set is a YAML or JSON file:

    title: Masked LM warm-up
    exercises:
      - page: masked-lm                 # masked-lm | nsp | attention | fine-tuning
        inputs: {fill: "Paris is the [MASK] of France."}   # the page's link parameters (playground_ui.state)
        question: Which word does the model put at [MASK]?
        answers: [capital]              # accepted answers (case-insensitive)
        model_wrong: false              # optional: true when the exercise is about a mistake the model makes
        note: optional text shown after the reveal
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import jsonschema
import yaml

from .errors import PlaygroundError
from .paths import LESSONS_DIR

PAGES = ("masked-lm", "nsp", "attention", "fine-tuning")  # pages with lesson mode
MAX_BYTES = 200_000  # an uploaded set larger than this is refused
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
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        raise PlaygroundError(f"{name} is not valid YAML or JSON{where}.") from None
    error = jsonschema.exceptions.best_match(jsonschema.Draft202012Validator(SCHEMA).iter_errors(data))
    if error is not None:
        where = "/".join(str(p) for p in error.absolute_path) or "the top level"
        raise PlaygroundError(f"{name}: at {where}: {error.message}")
    return LessonSet(data["title"], tuple(
        Exercise(e["page"], {k: str(v) if not isinstance(v, bool) else ("1" if v else "0") for k, v in e["inputs"].items()},
                 e["question"], tuple(str(a) for a in e["answers"]), bool(e.get("model_wrong", False)), e.get("note", ""))
        for e in data["exercises"]), data.get("description", ""))


def shipped() -> dict[str, Path]:
    """The shipped sets: name -> file."""
    return {p.stem: p for p in sorted(LESSONS_DIR.glob("*.y*ml")) + sorted(LESSONS_DIR.glob("*.json"))}


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


def mlm_answer(bundle, text: str) -> str:
    """The model's best guess at the first mask."""
    from .mlm import fill
    return fill(bundle, text, 1).masks[0].predictions[0].token


def nsp_answer(bundle, text_a: str, text_b: str) -> str:
    from .nsp import encode_pair, score_packed
    return score_packed(bundle, encode_pair(bundle, text_a, text_b)).prediction


def attention_answer(bundle, text_a: str, text_b: str | None, layer: int, head: int, position: int) -> str:
    from .attention import compute
    maps = compute(bundle, text_a, text_b or None)
    return maps.tokens[most_attended(maps, layer, head, position)]
