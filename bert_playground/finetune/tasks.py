"""One description per fine-tuning task: what it reads, how it holds data out, its demo sets, the names of its
scores and the view that shows its result. The page, the CLI and the loop read these; none of them branches on a
task's name for these facts."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from .. import datasets

MODES = ("full", "frozen", "random", "baseline")  # every mode; a task lists those it has
SPAN_MODES = ("full", "frozen", "random")  # token and span heads have no bag-of-words baseline
HUB_SOURCE = "Hugging Face dataset"


@dataclass(frozen=True)
class Task:
    name: str  # FinetuneConfig.task
    label: str  # what the page calls it
    kind: str  # the files it reads: 'table' (CSV/TSV), 'conll' or 'squad'
    modes: tuple[str, ...]  # the head modes it has (`heads.TASK_HEADS[name]`)
    score_names: tuple[str, str]  # the score early stopping compares, then the second curve
    history_key: str  # the score's name in a run's history rows (`metrics.row()`)
    sheet_metric: str  # the score's name in the experiment sheet
    view: str  # the page's result view: 'classify' | 'tag' | 'qa'
    unit: str  # what one example is: 'examples' | 'sentences' | 'questions'
    shipped: Callable[[], tuple]  # the demo (train, test) sets
    shipped_source: str  # the page's name for them
    upload_name: str  # the format of an upload, as the page names it
    upload_types: tuple[str, ...]  # file types the page's uploader takes
    upload_hint: str  # what the page's uploader asks for
    held_out_note: str  # what is held out when no held-out file is given
    page_settings: dict = field(default_factory=dict)  # config fields the page sets for this task (sequence length)
    no_scores: dict = field(default_factory=dict)  # a run's score fields before any evaluation (the JSON keeps them)

    @property
    def sources(self) -> tuple[str, ...]:
        """Where the page can take its data from: the demo set, an upload, and for tables the Hugging Face Hub."""
        return (self.shipped_source, f"Upload {self.upload_name}") + ((HUB_SOURCE,) if self.kind == "table" else ())

    def read(self, raw: bytes, filename: str, label_names: tuple[str, ...] | None = None):
        """A file's bytes as this task's data: a `Table` (then columns are picked), `TaggedData` or `QAData`."""
        if self.kind == "conll":
            return datasets.read_conll(raw, filename, label_names)
        if self.kind == "squad":
            return datasets.read_squad(raw, filename)
        return datasets.read_table(raw, filename)

    def read_file(self, path, label_names: tuple[str, ...] | None = None):
        return self.read(*datasets.read_bytes(path), label_names)

    def split(self, train):
        """(train, held-out) when no held-out file is given (tables are split when their columns are picked)."""
        if self.kind == "conll":
            return datasets.split_tagged(train)
        if self.kind == "squad":
            return datasets.split_articles(train)
        return datasets.split_holdout(train)

    def with_held_out(self, train, held_out_raw: tuple[bytes, str] | None):
        """(train, held-out) of a span task: the held-out file read with the training tags, else `split`."""
        if held_out_raw is None:
            return self.split(train)
        return train, self.read(*held_out_raw, getattr(train, "label_names", None))


_TABLE = dict(kind="table", modes=MODES, score_names=("accuracy", "macro-F1"), history_key="eval_accuracy",
              sheet_metric="accuracy", view="classify", unit="examples",
              upload_name="CSV/TSV", upload_types=("csv", "tsv", "txt"), upload_hint="CSV or TSV with a header row",
              held_out_note="20% of the training file is held out", page_settings={"max_length": 128},
              no_scores={"accuracy": None, "macro_f1": None, "eval_loss": None, "confusion": [], "f1_per_class": []})

TASKS: dict[str, Task] = {t.name: t for t in (
    Task(name="classify", label="Classify texts", shipped=datasets.shipped,
         shipped_source="Shipped: customer-support intents", **_TABLE),
    Task(name="pairs", label="Sentence pairs (entailment)", shipped=datasets.shipped_pairs,
         shipped_source="Shipped: entailment pairs", **_TABLE),
    Task(name="tag", label="Tag words (NER)", kind="conll", modes=SPAN_MODES, score_names=("entity F1", "precision"),
         history_key="eval_entity_f1", sheet_metric="entity F1", view="tag", unit="sentences", shipped=datasets.shipped_ner, shipped_source="Shipped: WNUT-17 sample",
         upload_name="CoNLL", upload_types=("conll", "txt", "tsv"),
         upload_hint="CoNLL: 'word<TAB>BIO tag' per line, blank line between sentences",
         held_out_note="part of the training file is held out", page_settings={"max_length": 64},
         no_scores={"entity_f1": None, "precision": None, "recall": None, "eval_loss": None}),
    Task(name="qa", label="Answer questions (extractive QA)", kind="squad", modes=SPAN_MODES,
         score_names=("F1", "exact match"), history_key="eval_f1", sheet_metric="F1 (SQuAD)", view="qa", unit="questions", shipped=datasets.shipped_qa,
         shipped_source="Shipped: SQuAD sample", upload_name="SQuAD JSON", upload_types=("json",), upload_hint="SQuAD v1.1 JSON",
         held_out_note="part of the training file is held out", page_settings={"max_length": 192, "stride": 64},
         no_scores={"exact_match": None, "f1": None, "eval_loss": None}),
)}
