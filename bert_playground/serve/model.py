"""The one checkpoint a server answers with: loaded once at start under the app server's path rules, held for the
CLI's `run_*` functions (`cli.common.held`), and what it can answer (its Inference API task and its commands).

A server bound to loopback trusts its user like the CLI does. Bound to any other address it is shared, exactly
like the app server: `--model` and every model a request names go through `checkpoints.folders.resolve` with
`shared=True` (local folders only below $BERT_PLAYGROUND_CHECKPOINT_ROOT) and the classroom list
$BERT_PLAYGROUND_ALLOWED_MODELS. A request may name only the checkpoint the server holds, in any spelling.
"""
from __future__ import annotations

import ipaddress
import time
from dataclasses import dataclass
from pathlib import Path

from ..checkpoints.folders import allowed_models, cache_key, default_name, read_config, resolve
from ..core.errors import PlaygroundError
from .commands import PRETRAINED
from .limits import RequestError

COMMANDS = {"bundle": PRETRAINED, "classifier": ("classify",), "tagger": ("predict",), "reader": ("predict",)}
TASK = {"bundle": "fill-mask", "classifier": "text-classification", "tagger": "token-classification",
        "reader": "question-answering"}
HELD_AS = {"bundle": "bundle", "classifier": "classifier", "tagger": "predictor", "reader": "predictor"}
ARCHITECTURES = (("ForSequenceClassification", "classifier"), ("ForTokenClassification", "tagger"),
                 ("ForQuestionAnswering", "reader"))


def is_loopback(host: str) -> bool:
    """Whether only this machine can reach `host` (a host name other than localhost counts as shared)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def kind_of(folder: Path | None, name: str) -> str:
    """'bundle' (a pre-trained checkpoint: every page's command), or a fine-tuned 'classifier', 'tagger' or
    'reader' (a folder written by `finetune --save`), from config.json's architectures; no weight is read."""
    from ..interpret.bow import CONFIG_FILE as BOW_FILE

    if folder is None:
        return "bundle"
    if (folder / BOW_FILE).is_file():
        return "classifier"
    if not (folder / "config.json").is_file():
        return "bundle"  # models.load words the refusal
    architectures = read_config(folder, name).get("architectures") or [""]
    arch = str(architectures[0]) if isinstance(architectures, list) else ""
    return next((kind for suffix, kind in ARCHITECTURES if arch.endswith(suffix)), "bundle")


@dataclass(frozen=True)
class Served:
    name: str  # what --model said
    kind: str  # bundle | classifier | tagger | reader
    arg: str  # the model name the CLI's run_* functions are given (the name it is held under)
    key: str  # folders.cache_key under this server's rules: one key per checkpoint, whatever its spelling
    shared: bool
    allowed: list[str] | None
    model: object  # Bundle, Classifier, Tagger or Reader: read-only
    seconds: float  # loading time

    @property
    def task(self) -> str | None:
        """Its Hugging Face Inference API task, if it has one."""
        if self.kind == "bundle" and not self.model.info.has_mlm:
            return None
        return TASK[self.kind]

    @property
    def commands(self) -> tuple[str, ...]:
        return COMMANDS[self.kind]

    def check_name(self, name) -> None:
        """Refuse a request's model name unless it means the served checkpoint (under the server's rules)."""
        if name is None:
            return
        if not isinstance(name, str):
            raise RequestError(422, "'model' must be a string.")
        try:
            same = cache_key(name, self.allowed, self.shared) == self.key
        except PlaygroundError as exc:  # the app server's own refusal (root, classroom list, bad name)
            raise RequestError(422, str(exc)) from None
        if not same:
            raise RequestError(422, f"This server answers with '{self.name}' only; start another `serve --model "
                                    "...` for another checkpoint.")

    def health(self) -> dict:
        return {"status": "ok", "model": self.name, "kind": self.kind, "task": self.task,
                "commands": list(self.commands), "shared": self.shared, "load_seconds": round(self.seconds, 2)}


def load_served(name: str | None, shared: bool, device: str | None = None) -> Served:
    """Load the checkpoint once (errors: CheckpointError / PlaygroundError, as the CLI reports them) and hold it
    for the CLI functions; call inside `cli.common.holding_models()`."""
    from ..cli.common import held

    start = time.perf_counter()
    allowed = allowed_models()
    name = (name or default_name()).strip()
    key = cache_key(name, allowed, shared)
    _, _, folder = resolve(name, allowed, shared)
    kind = kind_of(folder, name)
    if kind == "bundle":
        from ..checkpoints.models import load

        arg, loader = name, lambda: load(name, device, allowed, shared)
    else:
        arg, loader = str(folder), _finetuned_loader(kind, str(folder), device)
    model = held(HELD_AS[kind], arg, loader)
    if kind == "bundle":
        held("tokenizer", arg, lambda: model.tokenizer)  # `mask` reads only the tokenizer
    return Served(name, kind, arg, key, shared, allowed, model, time.perf_counter() - start)


def _finetuned_loader(kind: str, folder: str, device: str | None):
    if kind == "classifier":
        from ..finetune.classifier import load_classifier

        return lambda: load_classifier(folder, device)
    from ..finetune.predictors import load_predictor

    return lambda: load_predictor(folder, device)
