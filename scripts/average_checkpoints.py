"""Average a pre-training run's final weights with its saves from the last minutes of the run (one checkpoint).

    python scripts/average_checkpoints.py runs/cpu10 --saves runs/cpu10_saves --last-seconds 2400 --out runs/cpu10_avg

`--saves` is a folder of copies of the run's periodic saves (one sub-folder each, as `pretrain` writes them into its
`--out` every `save_every_seconds`; a save overwrites the last, so copy each as it is written). The saves whose
elapsed time is within `--last-seconds` of the run's end are averaged with the final weights, uniformly, in float32
(`bert_playground.pretraining.averaging`; Vaswani et al. 2017, sec. 6.1).

`--out` is shippable as a chunk (`ship_checkpoint.py --chunk`): the averaged weights, `averaged.json` (what went in),
and the run's training_log.csv and trainer_state.json. Its pretrain_result.json is the run's without the held-out
figures, which were measured on the final weights, not these: ship_checkpoint takes them from the evaluation of the
averaged weights (`eval_checkpoint.py --json`, held-out corpus included).
"""
from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

from bert_playground.core.errors import PlaygroundError
from bert_playground.pretraining.averaging import saves_in_window, write_average

RUN_FILES = ("training_log.csv", "trainer_state.json")
HELD_OUT_KEYS = ("eval_mlm_accuracy", "eval_nsp_accuracy", "eval_mlm_loss", "eval_nsp_loss")


def average_run(run: Path, saves: Path, last_seconds: float, out: Path) -> dict:
    """Write the averaged checkpoint of `run` into `out`; returns its averaged.json record."""
    if not (run / "pretrain_result.json").is_file():
        raise PlaygroundError(f"{run} has no pretrain_result.json: average a run that has ended.")
    folders = saves_in_window([f for f in sorted(saves.iterdir()) if f.is_dir()] if saves.is_dir() else [],
                              run, last_seconds)
    record = write_average(folders, out)
    derived_result(run, out, "averaged", {"last_seconds": last_seconds, "steps": [s["step"] for s in record["saves"]]})
    return record


def derived_result(run: Path, out: Path, how: str, what: dict) -> None:
    """Beside weights made from `run`'s (averaged or interpolated, in `out`): the run's training_log.csv and
    trainer_state.json, and its pretrain_result.json without the held-out figures (measured on other weights) and
    with `how`: `what` (a result that was derived already keeps that record too)."""
    for name in RUN_FILES:
        shutil.copy2(run / name, out / name)
    result = json.loads((run / "pretrain_result.json").read_text())
    result = {k: v for k, v in result.items() if k not in HELD_OUT_KEYS}
    result[how] = what
    (out / "pretrain_result.json").write_text(json.dumps(result, indent=1) + "\n")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("run", help="the run's --out folder (its final weights and pretrain_result.json)")
    ap.add_argument("--saves", required=True, help="a folder of copies of the run's periodic saves")
    ap.add_argument("--last-seconds", type=float, required=True, help="average the saves of the run's last S seconds")
    ap.add_argument("--out", required=True, help="where to write the averaged checkpoint")
    args = ap.parse_args(argv)
    try:
        record = average_run(Path(args.run), Path(args.saves), args.last_seconds, Path(args.out))
    except PlaygroundError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    steps = ", ".join(str(s["step"]) for s in record["saves"])
    print(f"averaged {len(record['saves'])} weights (steps {steps}) into {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
