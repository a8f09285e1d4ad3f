"""Write the token-tagging and QA demo sets in assets/tasks/ from ../shared/data/ (run once; the output is committed).

  wnut17_train.conll  400 sentences of WNUT-17's training split (the first 400 with an entity and 80 without,
                      in file order, minus the test ones); wnut17_test.conll: 100 other training sentences.
  squad_train.json    every question of 4 SQuAD v1.1 dev articles; squad_test.json: 1 other article.
Usage: python scripts/make_task_demos.py [SHARED_DATA_DIR]
"""
from __future__ import annotations

import json
import lzma
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "assets" / "tasks"
SQUAD_TRAIN = ["Normans", "Sky_(United_Kingdom)", "1973_oil_crisis", "Packet_switching"]
SQUAD_TEST = ["Black_Death"]


def sentences(path: Path) -> list[list[str]]:
    out, cur = [], []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            cur.append(line)
        elif cur:
            out.append(cur)
            cur = []
    return out + ([cur] if cur else [])


def write_conll(path: Path, sents: list[list[str]]) -> None:
    path.write_text("\n\n".join("\n".join(s) for s in sents) + "\n", encoding="utf-8")


def main(shared: Path) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    sents = sentences(shared / "ner" / "wnut17" / "wnut17train.conll")
    with_entity = [s for s in sents if any(not ln.endswith("\tO") for ln in s)]
    without = [s for s in sents if all(ln.endswith("\tO") for ln in s)]
    test = with_entity[-80:] + without[-20:]  # from the end of the file, so never in the training sample
    train = with_entity[:320] + without[:80]
    write_conll(OUT / "wnut17_train.conll", train)
    write_conll(OUT / "wnut17_test.conll", test)
    data = json.loads(lzma.decompress((shared / "squad" / "squad-v1.1-dev-articles-00-39.json.xz").read_bytes()))
    by_title = {a["title"]: a for a in data["data"]}
    for name, titles in (("squad_train.json", SQUAD_TRAIN), ("squad_test.json", SQUAD_TEST)):
        doc = {"version": "1.1", "data": [by_title[t] for t in titles]}
        (OUT / name).write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    print(f"wrote {len(train)} + {len(test)} WNUT-17 sentences and "
          f"{sum(len(p['qas']) for t in SQUAD_TRAIN for p in by_title[t]['paragraphs'])} + "
          f"{sum(len(p['qas']) for t in SQUAD_TEST for p in by_title[t]['paragraphs'])} SQuAD questions to {OUT}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT.parent / "shared" / "data")
