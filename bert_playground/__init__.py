"""BERT Playground: look inside BERT while it runs. The package does all model work; it never imports streamlit.

`load`, `Bundle` and `CheckpointInfo` are imported on first use (PEP 562), so that a module that needs no model
(`paths`, `memory`, `checkpoint_info`...) can be imported without torch and transformers: the app's home page
draws before they are loaded.
"""
from .core.errors import CheckpointError, PlaygroundError

__all__ = ["load", "Bundle", "CheckpointInfo", "PlaygroundError", "CheckpointError"]
__version__ = "0.3.0"  # the one place of the version: pyproject.toml reads it (tool.setuptools.dynamic)


def __getattr__(name: str):
    if name in ("load", "Bundle", "CheckpointInfo"):
        from .checkpoints import models

        return getattr(models, name)
    raise AttributeError(f"module 'bert_playground' has no attribute {name!r}")
