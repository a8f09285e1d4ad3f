"""Copy a pre-training run into assets/model/ and write its model card (`model_card.py`) from the measured figures.

    python scripts/ship_checkpoint.py runs/interim --command "python -m bert_playground pretrain ..." [--interim]

A continuation chunk (a run started with `pretrain --init assets/model`, evaluated against it first):

    python scripts/eval_checkpoint.py runs/cpu1 --baseline assets/model --json > runs/cpu1/eval.json
    python scripts/ship_checkpoint.py runs/cpu1 --chunk --eval-json runs/cpu1/eval.json --command "..." [--recipe "..."]

`--chunk` copies the weights as a plain ship does, APPENDS the run's training_log.csv rows to assets/model's (step,
tokens_seen and elapsed_s offset by the previous chunks' totals, a `chunk` column added), records the chunk in
assets/model/chunks.json (the first entry is the checkpoint that was there, from its pretrain_result.json and card)
and rewrites the card with a table of all chunks and the evaluation figures. It refuses an eval JSON made for other
weights, and a chunk the evaluation did not find better (unless `--force`).

A run that continued from a chunk that was never shipped (it failed the rule, but the next run started from its
weights) names that run with `--via runs/cpu2 --via-eval runs/cpu2_eval.json --via-command "..." --via-recipe "..."`:
the history gets it as a chunk of its own, marked not shipped, with its log rows, before the chunk being shipped.
A chain of such runs repeats the four options once per run, oldest first (`--via runs/cpu2 ... --via runs/cpu3 ...`).
"""
from __future__ import annotations

import argparse
import csv
import json
import re
import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # model_card.py beside this file, however it was loaded
from model_card import CARD_FILE, CHUNKS, LOG, chunk_card, plain_card  # noqa: E402

from bert_playground.pretraining.averaging import weights_sha256  # noqa: E402  (the digest eval_checkpoint records)

ROOT = Path(__file__).resolve().parent.parent
DEST = ROOT / "assets" / "model"
FILES = ["config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json",
         "vocab.txt", "training_log.csv", "pretrain_result.json", "trainer_state.json", "averaged.json"]
def strip_tied(path: Path) -> None:
    """Store the MLM decoder only once: it is tied to the word embeddings and re-tied on load."""
    from safetensors.torch import load_file, save_file

    sd = load_file(str(path))
    dec, emb = sd.get("cls.predictions.decoder.weight"), sd.get("bert.embeddings.word_embeddings.weight")
    if dec is not None and emb is not None and dec.shape == emb.shape and (dec == emb).all():
        del sd["cls.predictions.decoder.weight"]
        save_file(sd, str(path), metadata={"format": "pt"})


def copy_run(src: Path, dest: Path, skip: tuple[str, ...] = ()) -> None:
    """The run's files into `dest` (weights with the tied decoder stripped)."""
    dest.mkdir(parents=True, exist_ok=True)
    for name in FILES:
        if name not in skip and (src / name).is_file():
            shutil.copy2(src / name, dest / name)
        elif name not in skip and name == "averaged.json":
            (dest / name).unlink(missing_ok=True)  # the record of weights averaged before: not these
    strip_tied(dest / "model.safetensors")


def ship(src: Path, dest: Path, command: str, recipe: str = "", interim: bool = False) -> None:
    """A plain ship: the run replaces what is in `dest`, log and card included."""
    result = json.loads((src / "pretrain_result.json").read_text())
    copy_run(src, dest)
    (dest / CARD_FILE).write_text(plain_card(result, src, command, recipe, interim))


# ---- continuation chunks: the log ------------------------------------------------------------------------------

OFFSET_COLUMNS = {"step": "steps", "tokens_seen": "tokens", "elapsed_s": "seconds"}  # log column -> chunk total


def read_csv(path: Path) -> tuple[list[str], list[dict]]:
    """Header and rows of a CSV file, values as the text written."""
    with open(path, newline="") as f:
        reader = csv.DictReader(f)
        return list(reader.fieldnames or []), list(reader)


def shift_row(row: dict, offsets: dict) -> dict:
    """A log row of a run started from 0, moved to the cumulative scale (blank cells stay blank)."""
    out = dict(row)
    for col, off in offsets.items():
        if out.get(col) not in ("", None):
            value = float(out[col]) + off
            out[col] = str(round(value, 1)) if col == "elapsed_s" else str(int(round(value)))
    return out


def append_log(dest_log: Path, run_log: Path, offsets: dict, chunk: int) -> None:
    """The run's log rows appended to `dest_log`, shifted by `offsets`, all rows tagged with their chunk
    (rows from before chunks were recorded belong to chunk 1); one header, the union of both headers."""
    old_fields, old_rows = read_csv(dest_log) if dest_log.is_file() else ([], [])
    new_fields, new_rows = read_csv(run_log)
    rows = [{**r, "chunk": r.get("chunk") or "1"} for r in old_rows]
    rows += [{**shift_row(r, offsets), "chunk": str(chunk)} for r in new_rows]
    fields = list(dict.fromkeys(old_fields + new_fields + ["chunk"]))
    with open(dest_log, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=fields, restval="")
        w.writeheader()
        w.writerows(rows)


# ---- continuation chunks: the history --------------------------------------------------------------------------

def card_section(card: str, pattern: str) -> str:
    """One part of an existing card (the first group of `pattern`), '' when it is not there."""
    m = re.search(pattern, card, re.DOTALL)
    return m.group(1).strip() if m else ""


def eval_figures(cp: dict | None) -> dict:
    """The everyday-pairs and cloze figures of one checkpoint of an eval JSON (None when not evaluated)."""
    if not cp:
        return {"everyday_accuracy": None, "everyday_matched_accuracy": None, "cloze_top1": None, "cloze_top5": None,
                "cloze_n": None}
    return {"everyday_accuracy": cp["everyday"]["accuracy"],
            "everyday_matched_accuracy": (cp.get("everyday_matched") or {}).get("accuracy"),
            "cloze_top1": cp["cloze"]["top1"], "cloze_top5": cp["cloze"]["top5"], "cloze_n": cp["cloze"]["n"]}


def run_result(run: Path, evaluated: dict | None) -> dict:
    """The run's pretrain_result.json. Averaged or interpolated weights (`average_checkpoints.py`,
    `interpolate_checkpoints.py`) have no held-out figures of their own run: they are taken from the evaluation of
    those weights, which must have measured them."""
    result = json.loads((run / "pretrain_result.json").read_text())
    if "averaged" not in result and "interpolated" not in result:
        return result
    held = (evaluated or {}).get("held_out")
    if not held:
        raise SystemExit(f"{run} holds averaged or interpolated weights: ship them with an evaluation of those "
                         "weights that measured the held-out set (eval_checkpoint.py --json with its held-out corpus).")
    return {**result, **{f"eval_{k}": held[k] for k in ("mlm_accuracy", "nsp_accuracy", "mlm_loss", "nsp_loss",
                                                         "eval_pairs", "eval_masked")}}


def chunk_entry(number: int, result: dict, command: str, recipe: str, evaluated: dict | None,
                previous: dict | None, trainer_state: dict | None = None) -> dict:
    """One chunk of chunks.json: how it ran, what it measured, and the totals up to it."""
    config = (trainer_state or {}).get("config", {})
    entry = {"chunk": number, "command": command, "recipe": recipe, "init": config.get("init"),
             "corpus": config.get("corpus"), "device": result["device"], "precision": result.get("precision"),
             "seconds": result["total_seconds"], "steps": result["steps"], "tokens": result["tokens_seen"],
             "tokens_per_s": result.get("train_tokens_per_s", result["tokens_per_s"]),
             **{f"held_out_{k}": result[f"eval_{k}"] for k in ("mlm_accuracy", "nsp_accuracy", "mlm_loss", "nsp_loss")},
             **eval_figures(evaluated)}
    entry.update({k: result[k] for k in ("averaged", "interpolated") if result.get(k)})
    for total, key in (("cumulative_tokens", "tokens"), ("cumulative_steps", "steps"), ("cumulative_seconds", "seconds")):
        entry[total] = (previous[total] if previous else 0) + entry[key]
    return entry


def first_chunk(dest: Path, evaluated: dict | None) -> dict:
    """Chunk 1: the checkpoint shipped before chunks were recorded, from its pretrain_result.json and card."""
    card = (dest / CARD_FILE).read_text() if (dest / CARD_FILE).is_file() else ""
    state = dest / "trainer_state.json"
    return chunk_entry(1, json.loads((dest / "pretrain_result.json").read_text()),
                       card_section(card, r"\*\*Exact command\.\*\*\s*```bash\n(.*?)```"),
                       card_section(card, r"\*\*How it was trained\.\*\*(.*?)\n\n"), evaluated, None,
                       json.loads(state.read_text()) if state.is_file() else None)


def read_chunks(dest: Path, evaluated_baseline: dict | None) -> list[dict]:
    """chunks.json, or a history of one chunk (what `dest` holds now) when there is none yet."""
    f = dest / CHUNKS
    return json.loads(f.read_text()) if f.is_file() else [first_chunk(dest, evaluated_baseline)]


def check_eval(report: dict, src: Path, dest: Path, force: bool) -> None:
    """The eval JSON must be about these weights, against the shipped ones, and find them better."""
    cps = report.get("checkpoints", {})
    if cps.get("new", {}).get("weights_sha256") != weights_sha256(src):
        raise SystemExit(f"The eval JSON evaluated other weights than {src}/model.safetensors: evaluate this run.")
    problems = []
    if "baseline" not in cps:
        problems.append("it has no baseline (run eval_checkpoint.py with --baseline assets/model)")
    elif (dest / "model.safetensors").is_file() and cps["baseline"]["weights_sha256"] != weights_sha256(dest):
        problems.append(f"its baseline is not the checkpoint in {dest}")
    elif not report.get("comparison", {}).get("better"):
        problems.append("it did not find the new weights better (" + report.get("comparison", {}).get("rule", "") + ")")
    if problems and not force:
        raise SystemExit("Not shipped: " + "; ".join(problems) + ". --force ships all the same.")


def append_chunk(chunks: list[dict], dest: Path, run: Path, command: str, recipe: str, evaluated: dict | None,
                 shipped: bool = True) -> list[dict]:
    """The history with `run` as its next chunk: its log rows appended to dest's (on the cumulative scale)."""
    result = run_result(run, evaluated)
    state = run / "trainer_state.json"
    entry = chunk_entry(len(chunks) + 1, result, command, recipe, evaluated, chunks[-1],
                        json.loads(state.read_text()) if state.is_file() else None)
    if not shipped:
        entry["shipped"] = False
    offsets = {col: chunks[-1][f"cumulative_{total}"] for col, total in OFFSET_COLUMNS.items()}
    append_log(dest / LOG, run / LOG, offsets, entry["chunk"])
    return chunks + [entry]


def fill_shipped(chunks: list[dict], baseline: dict | None, dest: Path) -> list[dict]:
    """The history with its last chunk's figures that were not measured then (a set added later) taken from the
    evaluation of its own weights as the baseline (checked by digest); nothing measured then is replaced."""
    if not baseline or not (dest / "model.safetensors").is_file() or baseline["weights_sha256"] != weights_sha256(dest):
        return chunks
    measured = eval_figures(baseline)
    last = {**chunks[-1], **{k: v for k, v in measured.items() if chunks[-1].get(k) is None}}
    return chunks[:-1] + [last]


def ship_chunk(src: Path, dest: Path, command: str, recipe: str = "", report: dict | None = None,
               force: bool = False, via: list[dict] = ()) -> list[dict]:
    """Ship a continuation run as the next chunk; returns the chunk history written. `via` are the runs, oldest
    first, that `src` continued from but that were never shipped themselves (their evaluations failed the rule):
    {"run", "command", "recipe", "report"} each. Their weights are in the new ones, so they enter the history first,
    as chunks marked not shipped."""
    if report is not None:
        check_eval(report, src, dest, force)
    cps = (report or {}).get("checkpoints", {})
    chunks = fill_shipped(read_chunks(dest, cps.get("baseline")), cps.get("baseline"), dest)
    for v in via:
        chunks = append_chunk(chunks, dest, Path(v["run"]), v["command"], v.get("recipe", ""),
                              (v.get("report") or {}).get("checkpoints", {}).get("new"), shipped=False)
    chunks = append_chunk(chunks, dest, src, command, recipe, cps.get("new"))
    copy_run(src, dest, skip=(LOG,))
    (dest / CHUNKS).write_text(json.dumps(chunks, indent=1) + "\n")
    (dest / CARD_FILE).write_text(chunk_card(chunks, report, run_result(src, cps.get("new")), src))
    return chunks


def via_runs(ap: argparse.ArgumentParser, args) -> list[dict]:
    """The --via runs with their figures, command and recipe: each option given once per --via, in the same order
    (--via-eval and --via-recipe may be left out altogether)."""
    n = len(args.via)
    for what, given, optional in (("--via-eval", args.via_eval, True), ("--via-command", args.via_command, False),
                                  ("--via-recipe", args.via_recipe, True)):
        if len(given) != n and not (optional and not given):
            ap.error(f"give {what} once for each --via ({n}), in the same order, not {len(given)} times")
    evals = args.via_eval or [None] * n
    recipes = args.via_recipe or [""] * n
    return [{"run": run, "command": command, "recipe": recipe,
             "report": json.loads(Path(ev).read_text()) if ev else None}
            for run, ev, command, recipe in zip(args.via, evals, args.via_command, recipes)]


def main(argv: list[str] | None = None):
    ap = argparse.ArgumentParser()
    ap.add_argument("run")
    ap.add_argument("--command", required=True)
    ap.add_argument("--recipe", default="")
    ap.add_argument("--interim", action="store_true")
    ap.add_argument("--chunk", action="store_true", help="a continuation chunk: append to the shipped log and history")
    ap.add_argument("--eval-json", help="eval_checkpoint.py --json output for this run against the shipped weights")
    ap.add_argument("--force", action="store_true", help="--chunk: ship even if the evaluation did not find it better")
    ap.add_argument("--via", action="append", default=[],
                    help="--chunk: a run this one continued from that was never shipped (a chunk of its own); repeat "
                         "for a chain, oldest first")
    ap.add_argument("--via-eval", action="append", default=[],
                    help="eval_checkpoint.py --json of each --via run (its figures in the history)")
    ap.add_argument("--via-command", action="append", default=[], help="each --via run's exact command")
    ap.add_argument("--via-recipe", action="append", default=[], help="how each --via run was trained")
    ap.add_argument("--dest", default=str(DEST), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.chunk and not (args.eval_json or args.force):
        ap.error("--chunk needs --eval-json (eval_checkpoint.py --json of this run with --baseline the shipped one)")
    src, dest = Path(args.run), Path(args.dest)
    if args.chunk:
        report = json.loads(Path(args.eval_json).read_text()) if args.eval_json else None
        chunks = ship_chunk(src, dest, args.command, args.recipe, report, args.force, via_runs(ap, args))
        print(f"shipped {src} -> {dest} as chunk {len(chunks)} ({chunks[-1]['cumulative_tokens']:,} tokens in all)")
    else:
        ship(src, dest, args.command, args.recipe, args.interim)
        print(f"shipped {src} -> {dest}")


if __name__ == "__main__":
    main()
