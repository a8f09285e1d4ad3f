"""A checkpoint's training_log.csv (written by pre-training), read without importing torch."""
from __future__ import annotations

import csv
from pathlib import Path

LOG_FILE = "training_log.csv"


def read_training_log(folder: str | Path) -> list[dict]:
    """The rows of a checkpoint's training_log.csv (numbers as floats, blanks as ''), or [] if none."""
    log = Path(folder) / LOG_FILE
    if not log.is_file():
        return []
    with open(log) as fh:
        return [{k: float(v) if v not in ("", None) else "" for k, v in r.items()} for r in csv.DictReader(fh)]
