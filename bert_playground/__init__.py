"""BERT Playground: look inside BERT while it runs. The package does all model work; it never imports streamlit.

Its subpackages follow BERT's own story: `inputs` (text in), `checkpoints` (models in), `objectives` (masking,
the masked LM, sentence pairs), `pretraining`, `interpret` (reading the model), `finetune` and `datasets`;
`classroom` and `core` serve the others, and `cli` is `python -m bert_playground`.

The public API is `api` (load, represent, mask, fill, nsp, attention, explain, finetune, ...), the pages' figures
are `figures`. `load`, `Bundle`, `CheckpointInfo` and the API are imported on
first use (PEP 562), so that a module that needs no model
(`core.paths`, `core.memory`, `checkpoints.folders`...) can be imported without torch and transformers: the app's
home page draws before they are loaded. The flat module names of earlier versions (`from bert_playground import
mlm`, `import bert_playground.pretrain`) still import the module at its new place (`MOVED`).
"""
import importlib
import importlib.abc
import importlib.util
import sys

from .core.errors import CheckpointError, PlaygroundError

__all__ = ["load", "Bundle", "CheckpointInfo", "PlaygroundError", "CheckpointError", "api", "figures"]
__version__ = "0.3.0"  # the one place of the version: pyproject.toml reads it (tool.setuptools.dynamic)

MOVED = {  # earlier flat module -> its place now
    "errors": "core.errors", "notices": "core.notices", "paths": "core.paths", "device": "core.device",
    "memory": "core.memory", "jobs": "core.jobs", "training": "core.training",
    "checkpoint": "checkpoints.folders", "models": "checkpoints.models", "families": "checkpoints.families",
    "compare": "checkpoints.compare", "text": "inputs.text", "representation": "inputs.representation",
    "corpus": "inputs.corpus", "masking": "objectives.masking", "mlm": "objectives.mlm",
    "decoding": "objectives.decoding", "pairs": "objectives.pairs", "nsp": "objectives.nsp", "rtd": "objectives.rtd",
    "pretrain": "pretraining.pretrain", "distributed": "pretraining.distributed",
    "training_log": "pretraining.training_log", "attention": "interpret.attention",
    "attribution": "interpret.attribution", "neuron": "interpret.neuron", "contextual": "interpret.contextual",
    "neighbours": "interpret.neighbours", "probe": "interpret.probe", "bow": "interpret.bow",
    "classifier": "finetune.classifier", "lessons": "classroom.lessons",
}


def __getattr__(name: str):
    if name in ("load", "Bundle", "CheckpointInfo"):
        from .checkpoints import models

        return getattr(models, name)
    if name in MOVED:
        return importlib.import_module(f"{__name__}.{MOVED[name]}")
    if name in ("api", "figures"):
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module 'bert_playground' has no attribute {name!r}")


class _MovedModules(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """`import bert_playground.<earlier flat name>` gives the module at its new place (the same module object)."""

    def find_spec(self, fullname, path=None, target=None):
        prefix, _, rest = fullname.partition(".")
        if prefix == __name__ and rest in MOVED:
            return importlib.util.spec_from_loader(fullname, self)
        return None

    def create_module(self, spec):
        return importlib.import_module(f"{__name__}.{MOVED[spec.name.partition('.')[2]]}")

    def exec_module(self, module):
        pass


if not any(isinstance(f, _MovedModules) for f in sys.meta_path):
    sys.meta_path.insert(0, _MovedModules())  # first: an older copy of the package on the path must not answer
