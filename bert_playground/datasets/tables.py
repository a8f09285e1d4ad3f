"""Labelled text in tables: CSV/TSV files, the shipped intents and entailment pairs.

A file becomes a `Table` (header + rows of strings), then, once the user has picked the text
column(s) and the label column, `LabelledData` (texts, optional second texts, integer labels and
the label names). Everything a user can get wrong is refused with one clear `PlaygroundError`.
"""
from __future__ import annotations

import csv
import io
import random
import re
from dataclasses import dataclass
from pathlib import Path

from ..core.errors import PlaygroundError, shown
from ..core.paths import FINETUNE_DIR, TASKS_DIR
from .files import MAX_ROWS, Rows, check_size, decode_text, read_bytes

MAX_CLASSES = 100
SHIPPED_NAME = "Customer-support intents (shipped)"
PAIRS_NAME = "Entailment pairs (shipped, written for the playground)"
TEXT_NAMES = ("text", "sentence", "sentence1", "text_a", "premise", "question", "utterance")
PAIR_NAMES = ("text_pair", "sentence2", "text_b", "hypothesis")
LABEL_NAMES = ("label", "labels", "intent", "category", "class", "sentiment", "target")


@dataclass(frozen=True)
class Table:
    name: str
    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]

    def column(self, name: str) -> list[str]:
        if name not in self.columns:
            raise PlaygroundError(f"'{self.name}' has no column {shown(name)}; its columns are: "
                                  f"{', '.join(shown(c, 30) for c in self.columns[:10])}.")
        i = self.columns.index(name)
        return [r[i] for r in self.rows]


@dataclass(frozen=True)
class LabelledData(Rows):
    name: str
    texts: tuple[str, ...]
    text_pairs: tuple[str, ...] | None  # second sentence of each example, or None for single texts
    labels: tuple[int, ...]  # index into label_names
    label_names: tuple[str, ...]

    def __len__(self) -> int:
        return len(self.texts)

    def preview(self, n: int = 20) -> dict[str, list[str]]:
        """The first n examples as columns (text, second sentence if any, label name) for a table."""
        cols = {"text": list(self.texts[:n])}
        if self.text_pairs is not None:
            cols["second"] = list(self.text_pairs[:n])
        cols["label"] = [self.label_names[y] for y in self.labels[:n]]
        return cols

    def counts(self) -> dict[str, int]:
        out = dict.fromkeys(self.label_names, 0)
        for y in self.labels:
            out[self.label_names[y]] += 1
        return out

    def subset(self, idx: list[int], name: str | None = None) -> "LabelledData":
        return LabelledData(name or self.name, tuple(self.texts[i] for i in idx),
                            tuple(self.text_pairs[i] for i in idx) if self.text_pairs is not None else None,
                            tuple(self.labels[i] for i in idx), self.label_names)


def _delimiter(first_line: str, filename: str) -> str:
    if filename.lower().endswith((".tsv", ".tab")):
        return "\t"
    if filename.lower().endswith(".csv"):
        return ","
    return "\t" if first_line.count("\t") > first_line.count(",") else ","


def read_table(raw: bytes, filename: str = "data.csv") -> Table:
    """Parse CSV (comma) or TSV (tab, no quoting) bytes with a header row."""
    text = decode_text(raw, filename, "CSV or TSV")
    lines = text.splitlines()
    if not lines or not lines[0].strip():
        raise PlaygroundError(f"'{filename}' is empty: it needs a header row and at least one data row.")
    delim = _delimiter(lines[0], filename)
    quoting = csv.QUOTE_NONE if delim == "\t" else csv.QUOTE_MINIMAL
    try:
        parsed = [r for r in csv.reader(io.StringIO(text), delimiter=delim, quoting=quoting) if any(c.strip() for c in r)]
    except csv.Error as exc:
        raise PlaygroundError(f"'{filename}' is not valid CSV/TSV ({exc}).") from None
    header = tuple(c.strip() or f"column {i + 1}" for i, c in enumerate(parsed[0]))
    if len(set(header)) != len(header):
        raise PlaygroundError(f"'{filename}' has repeated column names: {', '.join(shown(h, 30) for h in header[:10])}.")
    body = parsed[1:]
    if not body:
        raise PlaygroundError(f"'{filename}' has a header but no data rows.")
    if len(body) > MAX_ROWS:
        raise PlaygroundError(f"'{filename}' has {len(body):,} rows; the limit is {MAX_ROWS:,}.")
    width = len(header)
    bad = [i + 2 for i, r in enumerate(body) if len(r) != width]
    if bad:
        raise PlaygroundError(f"'{filename}' has rows with a different number of columns than the header "
                              f"({width}): line(s) {', '.join(map(str, bad[:5]))}. Check the delimiter and quoting.")
    return Table(filename, header, tuple(tuple(c.strip() for c in r) for r in body))


def read_file(path: str | Path) -> Table:
    return read_table(*read_bytes(path))


def classify_inputs(texts: list[str], input_path: str | None, pair: bool,
                    columns: dict | None = None) -> tuple[list[str], list[str] | None]:
    """Texts (and second sentences for a pair classifier) to classify: typed ones ('A<TAB>B' for pairs) plus a
    CSV/TSV (its `columns`, as saved by fine-tuning, else guessed) or a .txt file with one text per line."""
    columns = columns or {}
    lines = list(texts)
    if input_path and input_path.lower().endswith((".csv", ".tsv")):
        table = read_file(input_path)
        text = columns.get("text") if columns.get("text") in table.columns else guess_columns(table)[0]
        if not pair:
            return table.column(text), None
        second = columns.get("text_pair") if columns.get("text_pair") in table.columns else guess_columns(table)[1]
        if second is None:
            raise PlaygroundError(f"This is a sentence-pair classifier: '{input_path}' needs a second-sentence column.")
        return table.column(text), table.column(second)
    if input_path:
        f = Path(input_path)
        if not f.is_file():
            raise PlaygroundError(f"'{input_path}' does not exist or is not a file.")
        check_size(f.stat().st_size, f"'{f.name}'")
        try:
            lines += [ln for ln in f.read_text(encoding="utf-8").splitlines() if ln.strip()]
        except UnicodeDecodeError:
            raise PlaygroundError(f"'{input_path}' is not UTF-8 text.") from None
    if not lines:
        raise PlaygroundError("Give at least one TEXT or --input FILE.")
    if not pair:
        return lines, None
    if any("\t" not in ln for ln in lines):
        raise PlaygroundError("This is a sentence-pair classifier: give each input as 'sentence A<TAB>sentence B'.")
    a, b = zip(*(ln.split("\t", 1) for ln in lines))
    return list(a), list(b)


def guess_columns(table: Table) -> tuple[str, str | None, str]:
    """(text column, second-text column or None, label column) from usual names, else by position."""
    lower = {c.lower(): c for c in table.columns}
    label = next((lower[n] for n in LABEL_NAMES if n in lower), table.columns[-1])
    rest = [c for c in table.columns if c != label]
    text = next((lower[n] for n in TEXT_NAMES if n in lower and lower[n] != label), rest[0] if rest else label)
    pair = next((lower[n] for n in PAIR_NAMES if n in lower and lower[n] not in (label, text)), None)
    return text, pair, label


MISSING_LABELS = ("nan",)  # spellings of a missing value (any case) that spreadsheets and pandas write


def _canonical(label: str) -> str:
    """'1', '1.0' and ' 1 ' are the same label; 'NaN'/'nan' is a missing value (''); other text is kept as written."""
    if label.strip().lower() in MISSING_LABELS:
        return ""
    if not _INTEGER.fullmatch(label.strip()) and not _DECIMAL.fullmatch(label.strip()):
        return label
    f = float(label)
    return str(int(f)) if f.is_integer() else label


_INTEGER = re.compile(r"[+-]?[0-9]+")  # ASCII digits only: '²' and '٣' are text, not numbers
_DECIMAL = re.compile(r"[+-]?[0-9]+\.[0-9]*")


def _label_order(values: set[str]) -> tuple[str, ...]:
    """Integer labels in numeric order, anything else in text order."""
    if all(_INTEGER.fullmatch(v) for v in values):
        return tuple(sorted(values, key=int))
    return tuple(sorted(values))


def to_labelled(table: Table, text_col: str, label_col: str, pair_col: str | None = None,
                label_names: tuple[str, ...] | None = None) -> LabelledData:
    """Pick the columns and turn labels (strings or integers) into ids; `label_names` fixes the ids of an eval split."""
    if text_col == label_col or pair_col in (text_col, label_col):
        raise PlaygroundError("The text column(s) and the label column must be different columns.")
    texts, labels = table.column(text_col), [_canonical(v) for v in table.column(label_col)]
    seconds = table.column(pair_col) if pair_col else None
    for what, values in (("no label", labels), (f"an empty '{text_col}'", texts), (f"an empty '{pair_col}'", seconds or [])):
        empty = [i + 2 for i, v in enumerate(values) if not v.strip()]
        if empty:
            why = " ('NaN' and empty labels are missing values)" if values is labels else ""
            raise PlaygroundError(f"'{table.name}': {len(empty)} row(s) have {what} (line(s) "
                                  f"{', '.join(map(str, empty[:5]))}{', …' if len(empty) > 5 else ''}){why}. "
                                  "Fix or remove them.")
    seen = set(labels)
    if label_names is None:
        if len(seen) < 2:
            raise PlaygroundError(f"'{table.name}' has only one class ({shown(labels[0])}) in {shown(label_col)}: "
                                  "a classifier needs at least two.")
        if len(seen) > MAX_CLASSES:
            raise PlaygroundError(f"{shown(label_col)} has {len(seen)} different values (limit {MAX_CLASSES}): "
                                  "is it really the label column?")
        label_names = _label_order(seen)
    unknown = sorted(seen - set(label_names))
    if unknown:
        raise PlaygroundError(f"'{table.name}' has labels the training data does not have: "
                              f"{', '.join(shown(u, 20) for u in unknown[:5])}.")
    ids = {n: i for i, n in enumerate(label_names)}
    return LabelledData(table.name, tuple(texts), tuple(seconds) if seconds is not None else None,
                        tuple(ids[v] for v in labels), tuple(label_names))


def split_holdout(data: LabelledData, fraction: float = 0.2, seed: int = 0) -> tuple[LabelledData, LabelledData]:
    """Stratified (train, held-out) split for an upload without its own eval file."""
    if len(data) < 10:
        raise PlaygroundError(f"'{data.name}' has {len(data)} rows; at least 10 are needed to hold some out for evaluation.")
    rng = random.Random(seed)
    train, held = [], []
    for y in range(len(data.label_names)):
        idx = [i for i, v in enumerate(data.labels) if v == y]
        rng.shuffle(idx)
        k = max(1, round(len(idx) * fraction)) if len(idx) > 1 else 0  # every class with 2+ rows is held out once
        held += idx[:k]
        train += idx[k:]
    if not held:
        raise PlaygroundError(f"'{data.name}' has a single row per class, so nothing can be held out for evaluation: "
                              "add rows or upload a held-out file.")
    return data.subset(sorted(train), f"{data.name} (train)"), data.subset(sorted(held), f"{data.name} (held out)")


def train_and_holdout(table: Table, text_col: str, label_col: str, pair_col: str | None = None,
                      eval_table: Table | None = None) -> tuple[LabelledData, LabelledData]:
    """(train, held-out) from the chosen columns: the eval table when there is one, else a stratified 20% split."""
    train = to_labelled(table, text_col, label_col, pair_col)
    if eval_table is None:
        return split_holdout(train)
    return train, to_labelled(eval_table, text_col, label_col, pair_col, label_names=train.label_names)


def shipped() -> tuple[LabelledData, LabelledData]:
    """The hand-written customer-support intents: (train, test)."""
    train, test = train_and_holdout(read_file(FINETUNE_DIR / "train.csv"), "text", "label",
                                    eval_table=read_file(FINETUNE_DIR / "test.csv"))
    return (LabelledData(SHIPPED_NAME, train.texts, None, train.labels, train.label_names),
            LabelledData(SHIPPED_NAME + " test", test.texts, None, test.labels, test.label_names))


def shipped_pairs() -> tuple[LabelledData, LabelledData]:
    """The hand-written RTE-style entailment pairs: (train, test), no premise in both."""
    train, test = train_and_holdout(read_file(TASKS_DIR / "entailment_train.tsv"), "sentence1", "label", "sentence2",
                                    eval_table=read_file(TASKS_DIR / "entailment_test.tsv"))
    return (LabelledData(PAIRS_NAME, train.texts, train.text_pairs, train.labels, train.label_names),
            LabelledData(PAIRS_NAME + " test", test.texts, test.text_pairs, test.labels, test.label_names))
