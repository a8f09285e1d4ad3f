"""Build the shipped corpus of the pre-training and tokenizer labs from the shared Wikipedia sample.

    python scripts/build_lab_corpus.py [--source ../shared/data/wikipedia/enwiki-part12.txt.xz] [--words 800000]

Writes assets/lab/wikipedia_lab.txt.xz: whole articles in WikiExtractor format (the format `pretrain --corpus` reads),
in the order of the source, until about --words words; the last --held-out of them go to wikipedia_lab_heldout.txt.xz
instead (the labs measure on them and never train on them); and ATTRIBUTION.md beside them (the licence and every
article's title). Part 12 by default: the embedded checkpoint's pre-training
chunks use parts 0 and 5 onwards from the first, and part 4 is the held-out part.
"""
from __future__ import annotations

import argparse
import lzma
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # a script run from a checkout, before or without `pip install -e .`

from bert_playground.core.paths import LAB_CORPUS, LAB_CORPUS_ATTRIBUTION, LAB_HELD_OUT  # noqa: E402

DEFAULT_SOURCE = ROOT.parent / "shared" / "data" / "wikipedia" / "enwiki-part12.txt.xz"
TITLE = re.compile(r'title="([^"]*)"')


def articles(path: Path):
    """Each article's raw lines (from `<doc ...>` to `</doc>`) and its title."""
    lines, title = [], ""
    with lzma.open(path, "rt", encoding="utf-8") as f:
        for line in f:
            if line.startswith("<doc"):
                lines, title = [line], (TITLE.search(line).group(1) if TITLE.search(line) else "")
            elif line.startswith("</doc>"):
                lines.append(line)
                yield title, lines
                lines = []
            elif lines:
                lines.append(line)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--source", default=str(DEFAULT_SOURCE))
    ap.add_argument("--words", type=int, default=800_000, help="about this many words of article text")
    ap.add_argument("--min-words", type=int, default=150, help="skip articles shorter than this (stubs, lists)")
    ap.add_argument("--held-out", type=int, default=30, help="the last articles, written to the held-out file")
    args = ap.parse_args(argv)
    kept, titles, words = [], [], 0
    for title, lines in articles(Path(args.source)):
        n = sum(len(ln.split()) for ln in lines[1:-1])
        if n < args.min_words:
            continue
        kept.append(lines)
        titles.append(title)
        words += n
        if words >= args.words:
            break
    LAB_CORPUS.parent.mkdir(parents=True, exist_ok=True)
    for path, part in ((LAB_CORPUS, kept[:-args.held_out]), (LAB_HELD_OUT, kept[-args.held_out:])):
        with lzma.open(path, "wt", encoding="utf-8", preset=9) as f:
            f.writelines(line for lines in part for line in lines)
    LAB_CORPUS_ATTRIBUTION.write_text(
        "# The labs' Wikipedia corpus\n\n"
        f"`{LAB_CORPUS.name}` and `{LAB_HELD_OUT.name}` (its last {args.held_out}, held out): {len(titles)} English "
        f"Wikipedia articles, about {words:,} words, in WikiExtractor format (each article between `<doc ...>` and "
        "`</doc>`, the title line, then one paragraph per line).\n\n"
        "Source: the English Wikipedia (2015 dump) as sampled in GitHub jason-feng/wikiVisual (text/AA-AD, commit "
        f"1c0fac92), `{Path(args.source).name}` of the project's shared data, built by `scripts/build_lab_corpus.py`.\n\n"
        "Licence: CC BY-SA 3.0 / GFDL (Wikipedia text). Attribute Wikipedia when you share this file or a model or "
        "vocabulary trained on it.\n\n## Articles\n\n" + "\n".join(f"- {t}" for t in titles) + "\n")
    print(f"{len(titles)} articles, {words:,} words -> {LAB_CORPUS} ({LAB_CORPUS.stat().st_size / 1e6:.1f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
