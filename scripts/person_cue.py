"""How much the pair head leans on the person of B: the diagnosis behind `pretrain --person-matched-prob`.

    python scripts/person_cue.py CKPT [CKPT ...] [--corpus ../shared/data/wikipedia/enwiki-part11.txt.xz] [--json]

(a) For each checkpoint, the matched everyday pairs (assets/eval/everyday_matched.tsv) whose B is in the first
    person, scored as the NSP page scores them, as written and with B rewritten in the third person (`third_person`:
    I -> she, my -> her, we -> they...): how many of each label are called IsNext either way. A head that reads
    "A and B both say I" as IsNext calls fewer NotNext pairs IsNext once B says she.
(b) With --corpus, that Wikipedia part's first --docs articles, tokenized with the first checkpoint's tokenizer and
    paired by the pre-training pair builder: the share of first-person sentences and, after a first-person A, how
    often B starts in the first person in IsNext and in NotNext pairs, with BERT's NotNext draw and with every
    NotNext pair person-matched.
"""
from __future__ import annotations

import argparse
import json
import random
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # eval_checkpoint.py beside this file
from eval_checkpoint import FIRST_PERSON, MATCHED_FILE, read_pairs  # noqa: E402

from bert_playground import load  # noqa: E402
from bert_playground.core import device  # noqa: E402
from bert_playground.inputs.corpus import read_wikiextractor  # noqa: E402
from bert_playground.objectives import nsp, pairs  # noqa: E402
from bert_playground.pretraining.data import first_person_ids, tokenize_documents  # noqa: E402

THIRD = {"i": "she", "me": "her", "my": "her", "mine": "hers", "myself": "herself", "we": "they", "us": "them",
         "our": "their", "ours": "theirs", "ourselves": "themselves"}
AGREEMENT = [(r"\bI am\b", "she is"), (r"\bI'm\b", "she's"), (r"\bI have\b", "she has"), (r"\bI've\b", "she's"),
             (r"\bI was\b", "she was"), (r"\bI do\b", "she does")]  # the verbs that change with the person


def third_person(text: str) -> str:
    """`text` with its first-person words (eval_checkpoint's FIRST_PERSON, so not "US") in the third person; the
    first letter keeps its case (the checkpoints are uncased: the rest does not matter to them)."""
    out = text
    for pattern, repl in AGREEMENT:
        out = re.sub(pattern, repl, out)
    out = FIRST_PERSON.sub(lambda m: THIRD[m.group(0).lower()], out)
    return out[:1].upper() + out[1:] if text[:1].isupper() else out


def said_is_next(bundle, rows: list[tuple[str, str, bool]]) -> int:
    return sum(nsp.score_text(bundle, a, b).is_next_probability > 0.5 for a, b, _ in rows)


def counterfactual(bundle, rows: list[tuple[str, str, bool]]) -> dict:
    """Per label, of the pairs whose B is first person: how many are called IsNext as written and in the third
    person."""
    out = {}
    for label, is_next in (("is_next", True), ("not_next", False)):
        chosen = [r for r in rows if r[2] == is_next and FIRST_PERSON.search(r[1])]
        rewritten = [(a, third_person(b), t) for a, b, t in chosen]
        out[label] = {"n": len(chosen), "said_is_next": said_is_next(bundle, chosen),
                      "said_is_next_third_person": said_is_next(bundle, rewritten)}
    return out


def corpus_cue(path: str, tokenizer, docs: int = 600, seq_len: int = 128, sentence_pair_prob: float = 0.4,
               seed: int = 0) -> dict:
    """The person cue in a Wikipedia part as the pair builder pairs it, without and with person-matched NotNext."""
    ids = tokenize_documents(tokenizer, read_wikiextractor(path)[:docs])
    fp = first_person_ids(tokenizer)
    sentences = [s for d in ids for s in d]
    report = {"docs": len(ids), "sentences": len(sentences),
              "first_person_share": sum(pairs.first_person(s, fp) for s in sentences) / len(sentences)}
    for name, prob in (("bert", 0.0), ("person_matched", 1.0)):
        ps = pairs.make_pairs(ids, random.Random(seed), seq_len - 3, short_seq_prob=0.1,
                              sentence_pair_prob=sentence_pair_prob, person_matched_prob=prob, first_person_tokens=fp)
        after = [p for p in ps if pairs.first_person(p.a, fp)]

        def b_share(chosen):
            return sum(pairs.first_person(ids[p.b_doc][p.b_span[0]], fp) for p in chosen) / max(1, len(chosen))
        report[name] = {"pairs": len(ps), "after_first_person_a": len(after),
                        "b_first_person_is_next": b_share([p for p in after if p.is_next]),
                        "b_first_person_not_next": b_share([p for p in after if not p.is_next])}
    return report


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("checkpoints", nargs="+")
    ap.add_argument("--corpus", help="a Wikipedia part (wikiextractor format) to measure the cue in")
    ap.add_argument("--docs", type=int, default=600)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    dev, rows = device.choose_device(None), read_pairs(MATCHED_FILE)
    report, tokenizer = {"checkpoints": {}}, None
    for path in args.checkpoints:
        bundle = load(path, dev)
        tokenizer = tokenizer or bundle.tokenizer
        report["checkpoints"][path] = counterfactual(bundle, rows)
    if args.corpus:
        report["corpus"] = {"path": args.corpus, **corpus_cue(args.corpus, tokenizer, args.docs)}
    if args.json:
        print(json.dumps(report, indent=1))
        return
    for path, c in report["checkpoints"].items():
        print(path + ": called IsNext, B as written -> B in the third person")
        for label in ("not_next", "is_next"):
            r = c[label]
            print(f"  {label:9} pairs with a first-person B: {r['said_is_next']} -> {r['said_is_next_third_person']}"
                  f" of {r['n']}")
    if "corpus" in report:
        c = report["corpus"]
        print(f"{c['path']}: {c['docs']} articles, {c['sentences']} sentences, "
              f"{c['first_person_share']:.3f} first person; after a first-person A, B first person in")
        for name in ("bert", "person_matched"):
            r = c[name]
            print(f"  {name:15} IsNext {r['b_first_person_is_next']:.3f}  NotNext {r['b_first_person_not_next']:.3f}"
                  f"  ({r['after_first_person_a']} of {r['pairs']} pairs)")


if __name__ == "__main__":
    main()
