"""Checkpoint averaging: one model whose weights are the mean of several saves of the same run.

Vaswani et al. 2017 (sec. 6.1): "For the base models, we used a single model obtained by averaging the last 5
checkpoints, which were written at 10-minute intervals." Late in a run, with the learning rate low, successive saves
sit around one basin and each step moves the weights by noise as much as by progress; their mean keeps the
progress and cancels much of the noise, so what a run ships depends less on where its last step happened to fall.

The saves are read from folders written by `save_checkpoint` (safetensors plus `trainer_state.json`); the mean is
taken in float32 and written like any other checkpoint, with `averaged.json` saying which weights went into it.
"""
from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from ..core.errors import PlaygroundError

WEIGHTS, STATE, RECORD = "model.safetensors", "trainer_state.json", "averaged.json"
BESIDE = ("config.json", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.txt")


def save_state(folder: Path) -> dict:
    """A save's trainer_state.json (step, tokens_seen, elapsed seconds since the run started)."""
    f = Path(folder) / STATE
    if not f.is_file():
        raise PlaygroundError(f"{folder} has no {STATE}: not a save written by pre-training.")
    return json.loads(f.read_text())


def saves_in_window(folders: list[Path], end: Path, last_seconds: float) -> list[Path]:
    """The saves among `folders` written in the run's last `last_seconds` (by their elapsed time against the end's),
    oldest first, followed by `end`, the run's final weights; a save of the same step as the end is left out."""
    final = save_state(end)
    states = {Path(f): save_state(f) for f in folders}  # read once each
    picked = [f for f, st in states.items() if st["elapsed"] >= final["elapsed"] - last_seconds
              and st["step"] < final["step"]]
    return sorted(picked, key=lambda f: states[f]["step"]) + [Path(end)]


def average_weights(folders: list[Path]) -> dict[str, torch.Tensor]:
    """The element-wise mean, in float32, of the weights in `folders` (float tensors); other tensors (integer
    buffers) must be equal in all and are kept. Every folder must hold the same names with the same shapes."""
    if not folders:
        raise PlaygroundError("Nothing to average: no checkpoint folders given.")
    first = load_file(str(Path(folders[0]) / WEIGHTS))
    total = {k: v.float() if v.is_floating_point() else v for k, v in first.items()}
    for folder in folders[1:]:
        sd = load_file(str(Path(folder) / WEIGHTS))
        if sd.keys() != total.keys():
            raise PlaygroundError(f"{folder} holds other tensors than {folders[0]}: not saves of one model.")
        for k, v in sd.items():
            if v.shape != total[k].shape:
                raise PlaygroundError(f"{k} is {tuple(v.shape)} in {folder} but {tuple(total[k].shape)} in {folders[0]}.")
            if total[k].is_floating_point():
                total[k] += v.float()
            elif not torch.equal(v, total[k]):
                raise PlaygroundError(f"{k} (not a weight) differs between {folders[0]} and {folder}.")
    return {k: v / len(folders) if v.is_floating_point() else v for k, v in total.items()}


def write_average(folders: list[Path], out: Path, dtype: torch.dtype = torch.float16) -> dict:
    """The mean of `folders` saved in `out` as a checkpoint (config and tokenizer from the last folder), with
    `averaged.json`: each averaged save's folder, step, tokens seen, elapsed seconds and weights digest."""
    folders = [Path(f) for f in folders]
    sd = average_weights(folders)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    save_file({k: v.to(dtype) if v.is_floating_point() else v for k, v in sd.items()}, str(out / WEIGHTS),
              metadata={"format": "pt"})
    for name in BESIDE:
        if (folders[-1] / name).is_file():
            shutil.copy2(folders[-1] / name, out / name)
    record = {"method": "uniform mean of the weights (float32), saved as " + str(dtype).replace("torch.", ""),
              "saves": [{"folder": str(f), **{k: save_state(f).get(k) for k in ("step", "tokens_seen", "elapsed")},
                         "weights_sha256": hashlib.sha256((f / WEIGHTS).read_bytes()).hexdigest()} for f in folders]}
    (out / RECORD).write_text(json.dumps(record, indent=1) + "\n")
    return record
