"""A family's head parts, applied by name: `run(model, steps, x)` passes x through each step in turn, where a step is
an attribute path of the model (a module: 'cls.predictions.transform', 'dropout') or one of a few functions that
heads apply inline. The paths are written once, in `families.py`; nothing here knows a family."""
from __future__ import annotations

import torch
import torch.nn.functional as F

FUNCTIONS = {
    "gelu": F.gelu,  # RoBERTa's LM head applies the exact GELU between its dense layer and its LayerNorm
    "tanh": torch.tanh,
    "relu": torch.relu,  # DistilBERT's classifier: pre_classifier -> ReLU -> dropout -> classifier
    "cls_row": lambda h: h[:, None, :],  # (B, D) -> (B, 1, D): for heads that read features[:, 0] themselves
}


def submodule(model: torch.nn.Module, path: str | None):
    """model.a.b for path 'a.b' (None when the path or a part of it is absent)."""
    for part in (path or "").split(".") if path else ():
        model = getattr(model, part, None)
        if model is None:
            return None
    return model if path else None


def step(model: torch.nn.Module, name: str):
    """The callable a step names: a function of FUNCTIONS or the model's submodule at that path."""
    fn = FUNCTIONS.get(name) or submodule(model, name)
    if fn is None:
        raise LookupError(f"{type(model).__name__} has no part '{name}'")
    return fn


def run(model: torch.nn.Module, steps: tuple[str, ...], x: torch.Tensor) -> torch.Tensor:
    """x through each named step of `model`, in order (the head's own forward, written as its parts)."""
    for name in steps:
        x = step(model, name)(x)
    return x
