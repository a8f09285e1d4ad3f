"""`pretrain`: pre-training on MLM + NSP (one process or under torchrun)."""
from __future__ import annotations

import dataclasses

from ..core.errors import PlaygroundError
from .common import config_defaults, json_arg

# ---- pretrain -----------------------------------------------------------------------------


def add_pretrain(sub):
    from ..pretraining.pretrain import PAIR_TASKS, PRECISIONS, SAVE_DTYPES, PretrainConfig

    d = config_defaults(PretrainConfig)
    p = sub.add_parser("pretrain", help="pre-train BertForPreTraining on MLM + NSP from WikiExtractor text")
    p.add_argument("--corpus", required=True, help="glob(s), comma-separated, of WikiExtractor files (.xz allowed)")
    p.add_argument("--out", required=True, help="output checkpoint folder (resumed from if it holds one and --resume)")
    p.add_argument("--init", default=d["init"], help="minilm | scratch | PATH of a checkpoint folder")
    p.add_argument("--config", dest="preset", metavar="CONFIG", default=d["preset"],
                   help="for --init scratch: tiny | mini | minilm | a config.json path")
    p.add_argument("--eval-corpus", default=d["eval_corpus"],
                   help="held-out glob; default: the corpus's last --eval-docs documents")
    p.add_argument("--eval-docs", type=int, default=d["eval_docs"])
    p.add_argument("--eval-pairs", type=int, default=d["eval_pairs"])
    p.add_argument("--max-seconds", type=float, default=d["max_seconds"])
    p.add_argument("--max-steps", type=int, default=d["max_steps"])
    p.add_argument("--max-docs", type=int, default=d["max_docs"], help="use only the first N training documents")
    p.add_argument("--batch-size", type=int, default=d["batch_size"])
    p.add_argument("--seq-len", type=int, default=d["seq_len"])
    p.add_argument("--lr", type=float, default=d["lr"])
    p.add_argument("--warmup-steps", type=int, default=d["warmup_steps"])
    p.add_argument("--train-layers", type=int, default=d["train_layers"],
                   help="train only the top K encoder layers + heads")
    p.add_argument("--eval-every", type=int, default=d["eval_every"])
    p.add_argument("--log-every", type=int, default=d["log_every"])
    p.add_argument("--short-seq-prob", type=float, default=d["short_seq_prob"],
                   help="share of pairs given a shorter random length")
    p.add_argument("--sentence-pair-prob", type=float, default=d["sentence_pair_prob"],
                   help="share of pairs made of one sentence A and one sentence B (short everyday pairs)")
    p.add_argument("--near-negative-prob", type=float, default=d["near_negative_prob"],
                   help="share of NotNext pairs whose B comes from A's own document, several sentences away (not "
                        "BERT's recipe; 0 keeps it)")
    p.add_argument("--person-matched-prob", type=float, default=d["person_matched_prob"],
                   help="share of the other NotNext pairs whose B (from another document) is in the first person "
                        "exactly when A's real continuation is (not BERT's recipe; 0 keeps it)")
    p.add_argument("--pair-keep", type=float, default=d["pair_keep"],
                   help="weight of KL(start || now) on the NSP head, against the --init checkpoint's own answers on "
                        "each batch: learning without forgetting (not BERT's recipe; 0 keeps it)")
    p.add_argument("--group-by-length", action="store_true",
                   help="batch pairs of similar length and trim their padding (faster with short pairs)")
    p.add_argument("--mask-split", dest="mask_split_percent", default=",".join(f"{100 * x:g}" for x in d["mask_split"]),
                   help="of the chosen tokens, percent [MASK], random, kept (default 80,10,10)")
    p.add_argument("--static-masking", type=int, default=d["static_masking"],
                   help="0: dynamic masking (new masks every epoch); N: BERT's original, pairs and masks made once in "
                        "N copies")
    p.add_argument("--whole-word", action="store_true", help="choose all pieces of a word together")
    p.add_argument("--pair-task", choices=PAIR_TASKS, default=d["pair_task"],
                   help="nsp (BERT), sop (ALBERT's sentence order, on the same pair head) or none (RoBERTa)")
    p.add_argument("--probe", dest="probe_texts", action="append", default=None, metavar="TEXT",
                   help="a text with [MASK] whose top-3 guesses each snapshot records (repeatable)")
    p.add_argument("--snapshot-every", type=int, default=d["snapshot_every"], help="steps between snapshots")
    p.add_argument("--seed", type=int, default=d["seed"])
    p.add_argument("--save-dtype", choices=SAVE_DTYPES, default=d["save_dtype"])
    p.add_argument("--device", default=d["device"], help="auto | cpu | cuda")
    p.add_argument("--precision", choices=PRECISIONS, default=d["precision"],
                   help="auto: bf16 autocast on CUDA, float32 on CPU; bf16 also speeds up CPUs with AVX512-BF16/AMX")
    p.add_argument("--resume", action="store_true", help="continue from the checkpoint in --out")
    json_arg(p)


def run_pretrain(args):
    from ..pretraining.pretrain import PretrainConfig, pretrain

    names = {f.name for f in dataclasses.fields(PretrainConfig)}
    values = {k: v for k, v in vars(args).items() if k in names}  # every option is a config field
    try:
        values["mask_split"] = tuple(float(x) / 100 for x in str(args.mask_split_percent).split(","))
    except ValueError:
        raise PlaygroundError(f"--mask-split takes three percentages, e.g. 80,10,10, not "
                              f"'{str(args.mask_split_percent)[:30]}'.") from None
    values["probes"] = tuple(args.probe_texts or ())
    cfg = PretrainConfig(**values)
    return pretrain(cfg, resume=args.resume)
