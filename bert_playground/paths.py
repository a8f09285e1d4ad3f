"""Where the shipped files live: one place for every path into the repository's `assets/`."""
from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent  # the repository (the package runs from it: `pip install -e .`)
ASSETS = ROOT / "assets"
EMBEDDED_DIR = ASSETS / "model"  # the embedded checkpoint, its model card and training log
NSP_DEMO_CORPUS = ASSETS / "nsp_demo_corpus.txt"  # the NSP page's shipped corpus
FINETUNE_DIR = ASSETS / "finetune"  # the fine-tuning page's shipped dataset (train.csv, test.csv)
LESSONS_DIR = ASSETS / "lessons"  # shipped exercise sets (predict, then reveal): one YAML or JSON file a set
