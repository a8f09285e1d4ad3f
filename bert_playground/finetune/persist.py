"""Saving a fine-tuned classifier: a normal Hugging Face folder plus metrics.json (loading: `classifier.py`)."""
from __future__ import annotations

import json
from pathlib import Path

from .classifier import METRICS_FILE, save_classifier
from .events import FinetuneResult
from .predictors import save_model
from .tasks import TASKS


def save(result: FinetuneResult, folder: str | Path, extra: dict | None = None) -> Path:
    """A normal Hugging Face checkpoint folder (safetensors + tokenizer + label names in config.json)
    plus metrics.json; the baseline saves its weights and vocabulary instead."""
    folder = Path(folder)
    info = {**result.summary(), "history": list(result.history), **(extra or {})}
    if TASKS[result.task].kind != "table":  # a tagger or a reader: the same Hugging Face folder plus metrics.json
        return save_model(result.classifier, folder, info)
    save_classifier(result.classifier, folder)
    (folder / METRICS_FILE).write_text(json.dumps(info, indent=1, ensure_ascii=False))
    return folder
