"""Checkpoint averaging: one model whose weights are a mean of several checkpoints of one model.

Vaswani et al. 2017 (sec. 6.1): "For the base models, we used a single model obtained by averaging the last 5
checkpoints, which were written at 10-minute intervals." Late in a run, with the learning rate low, successive saves
sit around one basin and each step moves the weights by noise as much as by progress; their mean keeps the
progress and cancels much of the noise, so what a run ships depends less on where its last step happened to fall.

Wortsman et al. 2022 (WiSE-FT, "Robust fine-tuning of zero-shot models"): a model trained further on one distribution
gains on it and loses on others; the weights on the straight line between the start and the trained weights,
theta = (1 - alpha) * theta_start + alpha * theta_end, keep much of the gain and much of what the start did elsewhere.
`write_interpolation` is that mean of two checkpoints, weighted (1 - alpha, alpha).

The checkpoints are read from folders written by `save_checkpoint` (safetensors plus `trainer_state.json`); the mean
is taken in float32 and written like any other checkpoint, with `averaged.json` saying which weights went into it.
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


def average_weights(folders: list[Path], coefficients: list[float] | None = None) -> dict[str, torch.Tensor]:
    """The element-wise mean, in float32, of the weights in `folders` (float tensors), weighted by `coefficients`
    (one per folder, none negative, summing to 1; uniform when None); other tensors (integer buffers) must be equal
    in all and are kept. Every folder must hold the same names with the same shapes."""
    if not folders:
        raise PlaygroundError("Nothing to average: no checkpoint folders given.")
    coefficients = check_coefficients(coefficients, len(folders))
    first = load_file(str(Path(folders[0]) / WEIGHTS))
    total = {k: v.float() * coefficients[0] if v.is_floating_point() else v for k, v in first.items()}
    for folder, c in zip(folders[1:], coefficients[1:]):
        sd = load_file(str(Path(folder) / WEIGHTS))
        if sd.keys() != total.keys():
            raise PlaygroundError(f"{folder} holds other tensors than {folders[0]}: not checkpoints of one model.")
        for k, v in sd.items():
            if v.shape != total[k].shape:
                raise PlaygroundError(f"{k} is {tuple(v.shape)} in {folder} but {tuple(total[k].shape)} in {folders[0]}.")
            if total[k].is_floating_point():
                total[k] += v.float() * c
            elif not torch.equal(v, total[k]):
                raise PlaygroundError(f"{k} (not a weight) differs between {folders[0]} and {folder}.")
    return total


def check_coefficients(coefficients: list[float] | None, n: int) -> list[float]:
    """`coefficients` as a list of n weights of a mean (uniform when None); refused unless each is in [0, 1] and
    they sum to 1."""
    if coefficients is None:
        return [1.0 / n] * n
    coefficients = [float(c) for c in coefficients]
    if len(coefficients) != n:
        raise PlaygroundError(f"{len(coefficients)} coefficients for {n} checkpoints: give one per checkpoint.")
    if any(not 0.0 <= c <= 1.0 for c in coefficients) or abs(sum(coefficients) - 1.0) > 1e-6:
        raise PlaygroundError(f"The coefficients of a mean are each between 0 and 1 and sum to 1, not {coefficients}.")
    return coefficients


def write_average(folders: list[Path], out: Path, dtype: torch.dtype = torch.float16,
                  coefficients: list[float] | None = None, what: str = "") -> dict:
    """The mean of `folders` (weighted by `coefficients`, uniform when None) saved in `out` as a checkpoint (config
    and tokenizer from the last folder), with `averaged.json`: each checkpoint's folder, coefficient, step, tokens
    seen, elapsed seconds and weights digest."""
    folders = [Path(f) for f in folders]
    kind = "uniform mean" if coefficients is None else "weighted mean"
    coefficients = check_coefficients(coefficients, len(folders))
    sd = average_weights(folders, coefficients)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    save_file({k: v.to(dtype) if v.is_floating_point() else v for k, v in sd.items()}, str(out / WEIGHTS),
              metadata={"format": "pt"})
    for name in BESIDE:
        if (folders[-1] / name).is_file():
            shutil.copy2(folders[-1] / name, out / name)
    record = {"method": what + f"{kind} of the weights (float32), saved as " + str(dtype).replace("torch.", ""),
              "saves": [{"folder": str(f), "coefficient": c,
                         **{k: save_state(f).get(k) for k in ("step", "tokens_seen", "elapsed")},
                         "weights_sha256": weights_sha256(f)}
                        for f, c in zip(folders, coefficients)]}
    (out / RECORD).write_text(json.dumps(record, indent=1) + "\n")
    return record


def write_interpolation(start: Path, end: Path, alpha: float, out: Path, dtype: torch.dtype = torch.float16) -> dict:
    """WiSE-FT's weight-space interpolation of one model's `start` and `end` checkpoints (`end` trained further
    from `start`): (1 - alpha) * start + alpha * end, written as `write_average` writes a mean. alpha = 1 is `end`,
    0 is `start`."""
    if not 0.0 <= float(alpha) <= 1.0:
        raise PlaygroundError(f"alpha is where to stand between the start (0) and the end (1), not {alpha}.")
    return write_average([start, end], out, dtype, coefficients=[1.0 - float(alpha), float(alpha)],
                         what=f"interpolation (1 - alpha) * start + alpha * end, alpha = {float(alpha)}; ")


def weights_sha256(folder: Path) -> str:
    """The SHA-256 of a checkpoint folder's model.safetensors: which weights, exactly (eval and ship records)."""
    return hashlib.sha256((Path(folder) / WEIGHTS).read_bytes()).hexdigest()
