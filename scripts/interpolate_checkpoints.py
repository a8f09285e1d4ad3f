"""Interpolate a continued run's weights with the checkpoint it started from (WiSE-FT; one checkpoint).

    python scripts/interpolate_checkpoints.py assets/model runs/cpu10_avg --alpha 0.5 --out runs/wise

writes (1 - alpha) * START + alpha * END, element-wise in float32, saved as float16
(`bert_playground.pretraining.averaging.write_interpolation`; Wortsman et al. 2022, "Robust fine-tuning of zero-shot
models"). END is a run's `--out` folder, or what `average_checkpoints.py` wrote from one; START is a checkpoint of the
same model that END was trained from, directly or through other runs. Choose alpha before evaluating: an alpha
picked on an evaluation set is tuned to it.

`--out` is shippable as a chunk (`ship_checkpoint.py --chunk`): the weights, `averaged.json` (both inputs, their
coefficients and digests), END's training_log.csv and trainer_state.json, and END's pretrain_result.json without the
held-out figures and with `interpolated: {start, start_weights_sha256, alpha}`. ship_checkpoint takes the held-out
figures from the evaluation of these weights (`eval_checkpoint.py --json`, held-out corpus included).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # average_checkpoints.py beside this file
from average_checkpoints import derived_result  # noqa: E402

from bert_playground.core.errors import PlaygroundError  # noqa: E402
from bert_playground.pretraining.averaging import weights_sha256, write_interpolation  # noqa: E402


def interpolate_run(start: Path, end: Path, alpha: float, out: Path) -> dict:
    """Write the interpolation of `start` and `end` into `out`; returns its averaged.json record."""
    if not (end / "pretrain_result.json").is_file():
        raise PlaygroundError(f"{end} has no pretrain_result.json: interpolate towards a run that has ended.")
    if not (start / "model.safetensors").is_file():
        raise PlaygroundError(f"{start} has no model.safetensors: not a checkpoint.")
    record = write_interpolation(start, end, alpha, out)
    derived_result(end, out, "interpolated", {"start": str(start), "start_weights_sha256": weights_sha256(start),
                                              "alpha": float(alpha)})
    return record


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("start", help="the checkpoint END was trained from")
    ap.add_argument("end", help="a run's --out folder (or its averaged weights): weights trained further from START")
    ap.add_argument("--alpha", type=float, required=True, help="0 is START, 1 is END")
    ap.add_argument("--out", required=True, help="where to write the interpolated checkpoint")
    args = ap.parse_args(argv)
    try:
        interpolate_run(Path(args.start), Path(args.end), args.alpha, Path(args.out))
    except PlaygroundError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(f"wrote {1 - args.alpha:g} * {args.start} + {args.alpha:g} * {args.end} into {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
