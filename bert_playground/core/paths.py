"""Where the shipped files live: one place for every path into the repository's `assets/`."""
from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]  # the repository (the package runs from it: `pip install -e .`)
ASSETS = ROOT / "assets"
EMBEDDED_DIR = ASSETS / "model"  # the embedded checkpoint, its model card and training log
NSP_DEMO_CORPUS = ASSETS / "nsp_demo_corpus.txt"  # the NSP page's shipped corpus
FINETUNE_DIR = ASSETS / "finetune"  # the fine-tuning page's shipped dataset (train.csv, test.csv)
CONTEXT_DIR = ASSETS / "contextual"  # the Contextual-embeddings page: shipped examples and corpus
CONTEXT_EXAMPLES = CONTEXT_DIR / "examples.json"  # one word, several sentences grouped by sense
CONTEXT_CORPUS = CONTEXT_DIR / "wikipedia_sentences.txt"  # Wikipedia sample, one sentence per line (CC BY-SA)
LAB_DIR = ASSETS / "lab"
LAB_CORPUS = LAB_DIR / "wikipedia_lab.txt.xz"  # the pre-training and tokenizer labs' corpus (CC BY-SA), WikiExtractor
LAB_HELD_OUT = LAB_DIR / "wikipedia_lab_heldout.txt.xz"  # its held-out articles: never trained on by a lab run
LAB_CORPUS_ATTRIBUTION = LAB_DIR / "ATTRIBUTION.md"  # its licence and articles (scripts/build_lab_corpus.py)
CONTEXT_CORPUS_ATTRIBUTION = CONTEXT_DIR / "ATTRIBUTION.md"  # licence and source articles of that sample
TASKS_DIR = ASSETS / "tasks"  # demo sets of the token, span and pair tasks (WNUT-17, SQuAD samples, entailment pairs)
LESSONS_DIR = ASSETS / "lessons"  # shipped exercise sets (predict, then reveal): one YAML or JSON file a set
CLOZE_SHEET = ASSETS / "cloze_sheet.csv"  # the Masked LM page's shipped experiment sheet (sentence, answer)


def files_in(folder: Path, suffix: str) -> list[Path]:
    """The files of `folder` whose name ends with `suffix`, sorted. The folder's path is data, never a glob
    pattern: a folder named 'bert[v2]' or 'NLP course [2025]' is read as written."""
    try:
        return sorted(p for p in Path(folder).iterdir() if p.name.endswith(suffix) and p.is_file())
    except OSError:  # missing, not a folder, unreadable
        return []


def expand_pattern(pattern: str) -> list[str]:
    """Files matching a user's glob, where only what follows the longest existing folder is a pattern
    ('NLP course [2025]/data/wiki_*.xz' matches inside that folder); an existing file is taken as written."""
    import glob

    path = Path(pattern).expanduser()
    if path.is_file():
        return [str(path)]
    base = path
    while not base.is_dir() and base != base.parent:
        base = base.parent
    if not base.is_dir():
        return sorted(glob.glob(str(path)))
    rest = path.relative_to(base) if path != base else Path()
    return sorted(glob.glob(glob.escape(str(base)) + ("/" + str(rest) if str(rest) != "." else "")))
