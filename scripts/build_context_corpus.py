"""Prepare the shipped corpus of the Contextual-embeddings page from the shared Wikipedia sample.

    python scripts/build_context_corpus.py [--source ../shared/data/wikipedia/enwiki-part5.txt.xz] [--n 3000]

Writes assets/contextual/wikipedia_sentences.txt (one sentence per line) and ATTRIBUTION.md beside it
(the licence and the title of every article a sentence comes from). The sample mixes sentences that
contain the shipped example words (bank, bat, play, light, ...; up to --per-word each, so that their
nearest uses have something to find) with random sentences from the same articles. Part 5 is used by
default because the embedded checkpoint was trained on part 0 and evaluated on part 4.
"""
from __future__ import annotations

import argparse
import json
import random
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # a script run from a checkout, before or without `pip install -e .`

from bert_playground.core.paths import CONTEXT_CORPUS, CONTEXT_CORPUS_ATTRIBUTION, CONTEXT_EXAMPLES  # noqa: E402
from bert_playground.inputs.corpus import read_wikiextractor  # noqa: E402

DEFAULT_SOURCE = ROOT.parent / "shared" / "data" / "wikipedia" / "enwiki-part5.txt.xz"
GOOD = re.compile(r"^[A-Z0-9\"'(][\w\s,;:'\"()%&$.\-–—/]+[.!?]$")


def usable(sentence: str) -> bool:
    """Plain prose: 8 to 40 words, starts like a sentence, ends with . ! or ?, no markup left over."""
    n = len(sentence.split())
    return 8 <= n <= 40 and bool(GOOD.match(sentence)) and "  " not in sentence


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--source", default=str(DEFAULT_SOURCE), help="WikiExtractor file(s), comma-separated globs")
    ap.add_argument("--n", type=int, default=3000, help="sentences in all")
    ap.add_argument("--per-word", type=int, default=120, help="at most this many sentences per example word")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)

    docs = read_wikiextractor(args.source, min_sentences=2)
    pool = [(d.title, s) for d in docs for s in d.sentences if usable(s)]
    rng = random.Random(args.seed)
    rng.shuffle(pool)
    words = list(json.loads(CONTEXT_EXAMPLES.read_text())["examples"])
    chosen, seen = [], set()
    for w in words:
        pattern = re.compile(rf"\b{re.escape(w)}\b", re.IGNORECASE)
        hits = [p for p in pool if pattern.search(p[1]) and p[1] not in seen][: args.per_word]
        chosen += hits
        seen.update(s for _, s in hits)
    rest = [p for p in pool if p[1] not in seen]
    chosen += rest[: max(0, args.n - len(chosen))]
    chosen = chosen[: args.n]
    rng.shuffle(chosen)

    CONTEXT_CORPUS.parent.mkdir(parents=True, exist_ok=True)
    CONTEXT_CORPUS.write_text("".join(s + "\n" for _, s in chosen), encoding="utf-8")
    titles = sorted({t for t, _ in chosen})
    CONTEXT_CORPUS_ATTRIBUTION.write_text(
        "# Attribution: the Contextual-embeddings corpus\n\n"
        f"`{CONTEXT_CORPUS.name}` holds {len(chosen):,} sentences from {len(titles):,} articles of the English "
        "Wikipedia (2015 dump, WikiExtractor format, the sample in `shared/data/wikipedia/`, "
        f"file `{Path(args.source).name}`), selected and split into sentences by `scripts/build_context_corpus.py` "
        f"(seed {args.seed}; sentences containing the example words {', '.join(words)}, up to {args.per_word} "
        "each, plus random sentences). The sentences are unchanged otherwise.\n\n"
        "Wikipedia text is licensed under the Creative Commons Attribution-ShareAlike 3.0 Unported licence "
        "(https://creativecommons.org/licenses/by-sa/3.0/) and the GFDL; this file is shared under CC BY-SA 3.0. "
        "The authors are the contributors of each article, listed in its history on https://en.wikipedia.org "
        "(e.g. https://en.wikipedia.org/w/index.php?title=Bank&action=history).\n\n"
        "## Articles\n\n" + "".join(f"- {t}\n" for t in titles),
        encoding="utf-8")
    size = CONTEXT_CORPUS.stat().st_size
    print(json.dumps({"sentences": len(chosen), "articles": len(titles), "bytes": size,
                      "file": str(CONTEXT_CORPUS.relative_to(ROOT))}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
