"""Labelled text for fine-tuning: the shipped intents, CSV/TSV files and (when installed) the Hub.

A file becomes a `Table` (header + rows of strings), then, once the user has picked the text
column(s) and the label column, `LabelledData` (texts, optional second texts, integer labels and
the label names). Everything a user can get wrong is refused with one clear `PlaygroundError`.
"""
from __future__ import annotations

import csv
import importlib.util
import io
import json
import lzma
import random
import re
from dataclasses import dataclass
from pathlib import Path

from ..core.errors import PlaygroundError
from ..core.paths import FINETUNE_DIR, TASKS_DIR

MAX_MB = 10  # the same cap as .streamlit/config.toml's maxUploadSize
MAX_BYTES = MAX_MB * 1024 * 1024
MAX_ROWS = 200_000
MAX_CLASSES = 100
SHIPPED_NAME = "Customer-support intents (shipped)"
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
            raise PlaygroundError(f"'{self.name}' has no column '{name}'; its columns are: {', '.join(self.columns)}.")
        i = self.columns.index(name)
        return [r[i] for r in self.rows]


@dataclass(frozen=True)
class LabelledData:
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


# ---- reading files --------------------------------------------------------------------------

def check_size(nbytes: int, name: str = "The file") -> None:
    if nbytes > MAX_BYTES:
        raise PlaygroundError(f"{name} is {nbytes / 2**20:.1f} MB; the limit is {MAX_MB} MB ({nbytes:,} bytes, "
                              f"over {MAX_BYTES:,}). Use a smaller sample of the data.")


def _delimiter(first_line: str, filename: str) -> str:
    if filename.lower().endswith((".tsv", ".tab")):
        return "\t"
    if filename.lower().endswith(".csv"):
        return ","
    return "\t" if first_line.count("\t") > first_line.count(",") else ","


def read_table(raw: bytes, filename: str = "data.csv") -> Table:
    """Parse CSV (comma) or TSV (tab, no quoting) bytes with a header row."""
    check_size(len(raw), f"'{filename}'")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise PlaygroundError(f"'{filename}' is not UTF-8 text (byte 0x{raw[exc.start]:02x} at position {exc.start}); "
                              "save it as UTF-8 CSV or TSV.") from None
    if "\x00" in text:
        raise PlaygroundError(f"'{filename}' looks binary (it contains NUL bytes); upload a CSV or TSV text file.")
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
        raise PlaygroundError(f"'{filename}' has repeated column names: {', '.join(header)}.")
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
    path = Path(path)
    if not path.is_file():
        raise PlaygroundError(f"'{path}' does not exist or is not a file.")
    check_size(path.stat().st_size, f"'{path.name}'")
    return read_table(path.read_bytes(), path.name)


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


# ---- labels ---------------------------------------------------------------------------------

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
            raise PlaygroundError(f"'{table.name}' has only one class ('{labels[0]}') in '{label_col}': "
                                  "a classifier needs at least two.")
        if len(seen) > MAX_CLASSES:
            raise PlaygroundError(f"'{label_col}' has {len(seen)} different values (limit {MAX_CLASSES}): "
                                  "is it really the label column?")
        label_names = _label_order(seen)
    unknown = sorted(seen - set(label_names))
    if unknown:
        raise PlaygroundError(f"'{table.name}' has labels the training data does not have: {', '.join(unknown[:5])}.")
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


# ---- Hugging Face datasets (optional) -------------------------------------------------------

HUB_HINT = ("Public datasets from the Hugging Face Hub need the `datasets` package and network access: "
            "`.venv/bin/pip install datasets`, then restart the app. Until then use the shipped data or upload a CSV/TSV.")


def hub_available() -> bool:
    return importlib.util.find_spec("datasets") is not None


def load_hub(name: str, config: str | None = None, split: str = "train", max_rows: int = 20_000) -> Table:
    """Up to `max_rows` rows of a Hub dataset split as a Table (class-label ids become their names)."""
    if not hub_available():
        raise PlaygroundError(HUB_HINT)
    import datasets as hf_datasets

    name = (name or "").strip()
    if not name:
        raise PlaygroundError("Type a Hugging Face dataset id, for example 'glue' with configuration 'sst2'.")
    try:
        ds = hf_datasets.load_dataset(name, config or None, split=split)
    except Exception as exc:  # offline, unknown id, bad split: all mean 'cannot get it'
        raise PlaygroundError(f"Could not load '{name}' ({split}) from the Hub: {type(exc).__name__}: "
                              f"{str(exc).splitlines()[0][:160] if str(exc) else ''}") from None
    if len(ds) > max_rows:
        ds = ds.select(range(max_rows))
    n, cols = len(ds), list(ds.column_names)
    names = {c: getattr(ds.features.get(c), "names", None) for c in cols} if getattr(ds, "features", None) else {}
    data = {c: list(ds[c]) for c in cols}

    def cell(c, v):
        return names[c][v] if names.get(c) and isinstance(v, int) and 0 <= v < len(names[c]) else ("" if v is None else str(v))

    rows = tuple(tuple(cell(c, data[c][i]) for c in cols) for i in range(n))
    if not rows:
        raise PlaygroundError(f"'{name}' ({split}) has no rows.")
    return Table(f"{name}/{config or ''}:{split}", tuple(cols), rows)


# ---- token tagging: CoNLL files (one 'word<TAB>tag' per line, a blank line between sentences) ---------

TAG_RE = re.compile(r"^(O|[BI]-\S+)$")
MAX_SENTENCE_WORDS = 400


@dataclass(frozen=True)
class TaggedData:
    """Sentences as words, a BIO tag id per word, and the tag names (O first, then B-/I- per entity type)."""

    name: str
    words: tuple[tuple[str, ...], ...]
    tags: tuple[tuple[int, ...], ...]  # index into label_names
    label_names: tuple[str, ...]

    def __len__(self) -> int:
        return len(self.words)

    def tag_names(self, i: int) -> list[str]:
        return [self.label_names[t] for t in self.tags[i]]

    @property
    def entity_types(self) -> tuple[str, ...]:
        return tuple(sorted({n[2:] for n in self.label_names if n != "O"}))

    def counts(self) -> dict[str, int]:
        """Entities (B- tags and I- tags that open a chunk) per type."""
        from ..finetune.metrics import entities

        out = dict.fromkeys(self.entity_types, 0)
        for i in range(len(self)):
            for kind, _, _ in entities(self.tag_names(i)):
                out[kind] = out.get(kind, 0) + 1
        return out

    def preview(self, n: int = 20) -> dict[str, list[str]]:
        return {"sentence": [" ".join(w) for w in self.words[:n]],
                "tags": [" ".join(t for t in self.tag_names(i)) for i in range(min(n, len(self)))]}

    def subset(self, idx: list[int], name: str | None = None) -> "TaggedData":
        return TaggedData(name or self.name, tuple(self.words[i] for i in idx), tuple(self.tags[i] for i in idx),
                          self.label_names)


def _tag_order(tags: set[str]) -> tuple[str, ...]:
    kinds = sorted({t[2:] for t in tags if t != "O"})
    return ("O", *(f"{p}-{k}" for k in kinds for p in "BI"))


def read_conll(raw: bytes, filename: str = "data.conll", label_names: tuple[str, ...] | None = None) -> TaggedData:
    """Sentences from CoNLL-style text: the word in the first column, its BIO tag in the last, a blank line
    between sentences ('-DOCSTART-' lines skipped). `label_names` fixes the tag ids of an evaluation file."""
    check_size(len(raw), f"'{filename}'")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise PlaygroundError(f"'{filename}' is not UTF-8 text (byte 0x{raw[exc.start]:02x} at position {exc.start}).") from None
    if "\x00" in text:
        raise PlaygroundError(f"'{filename}' looks binary (it contains NUL bytes); upload a CoNLL text file.")
    sentences, current, width = [], [], None
    ragged, bad_tags = [], []
    for n, line in enumerate(text.splitlines(), 1):
        cols = line.split("\t") if "\t" in line else line.split()
        cols = [c.strip() for c in cols]
        if not line.strip():
            if current:
                sentences.append(current)
            current = []
            continue
        if cols[0].startswith("-DOCSTART-"):
            continue
        width = width or len(cols)
        if len(cols) < 2 or len(cols) != width or not all(cols):
            ragged.append(n)
            continue
        if not TAG_RE.match(cols[-1]):
            bad_tags.append((n, cols[-1]))
            continue
        current.append((n, cols[0], cols[-1]))
    if current:
        sentences.append(current)
    if ragged:
        raise PlaygroundError(f"'{filename}' has lines with a different number of columns than its first line "
                              f"({width}; a word and its tag, separated by a tab): line(s) "
                              f"{', '.join(map(str, ragged[:5]))}{', …' if len(ragged) > 5 else ''}.")
    if bad_tags:
        shown = ", ".join(f"'{t}' (line {n})" for n, t in bad_tags[:5])
        raise PlaygroundError(f"'{filename}' has tags that are not BIO tags (O, B-type, I-type): {shown}.")
    if not sentences:
        raise PlaygroundError(f"'{filename}' has no sentences: each line should be 'word<TAB>tag', "
                              "with a blank line between sentences.")
    if len(sentences) > MAX_ROWS:
        raise PlaygroundError(f"'{filename}' has {len(sentences):,} sentences; the limit is {MAX_ROWS:,}.")
    long = [s[0][0] for s in sentences if len(s) > MAX_SENTENCE_WORDS]
    if long:
        raise PlaygroundError(f"'{filename}' has a sentence of more than {MAX_SENTENCE_WORDS} words (starting at line "
                              f"{long[0]}): is a blank line between sentences missing?")
    seen = {t for s in sentences for _, _, t in s}
    if label_names is None:
        label_names = _tag_order(seen)
        if len(label_names) < 3:
            raise PlaygroundError(f"'{filename}' has no entities (every tag is O): a tagger has nothing to learn.")
    unknown = sorted(seen - set(label_names))
    if unknown:
        raise PlaygroundError(f"'{filename}' has tags the training data does not have: {', '.join(unknown[:5])}.")
    ids = {t: i for i, t in enumerate(label_names)}
    return TaggedData(filename, tuple(tuple(w for _, w, _ in s) for s in sentences),
                      tuple(tuple(ids[t] for _, _, t in s) for s in sentences), tuple(label_names))


def read_conll_file(path: str | Path, label_names: tuple[str, ...] | None = None) -> TaggedData:
    path = Path(path)
    if not path.is_file():
        raise PlaygroundError(f"'{path}' does not exist or is not a file.")
    check_size(path.stat().st_size, f"'{path.name}'")
    return read_conll(path.read_bytes(), path.name, label_names)


def split_tagged(data: TaggedData, fraction: float = 0.2, seed: int = 0) -> tuple[TaggedData, TaggedData]:
    """(train, held-out) sentences for an upload without its own evaluation file."""
    if len(data) < 10:
        raise PlaygroundError(f"'{data.name}' has {len(data)} sentences; at least 10 are needed to hold some out.")
    idx = list(range(len(data)))
    random.Random(seed).shuffle(idx)
    k = max(1, round(len(idx) * fraction))
    return data.subset(sorted(idx[k:]), f"{data.name} (train)"), data.subset(sorted(idx[:k]), f"{data.name} (held out)")


# ---- extractive QA: SQuAD v1.1 JSON ---------------------------------------------------------------------

MAX_PASSAGE_WORDS = 5_000


@dataclass(frozen=True)
class QAExample:
    id: str
    title: str  # the article (splits are made by article, so no passage is in both)
    question: str
    context: str
    answers: tuple[str, ...]  # reference answers (the first one trains)
    starts: tuple[int, ...]  # character offset of each answer in the context


@dataclass(frozen=True)
class QAData:
    name: str
    examples: tuple[QAExample, ...]

    def __len__(self) -> int:
        return len(self.examples)

    @property
    def titles(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(e.title for e in self.examples))

    def articles(self, titles, name: str | None = None) -> "QAData":
        keep = set(titles)
        return QAData(name or self.name, tuple(e for e in self.examples if e.title in keep))

    def head(self, n: int) -> "QAData":
        return QAData(self.name, self.examples[:n])

    def preview(self, n: int = 20) -> dict[str, list[str]]:
        ex = self.examples[:n]
        return {"article": [e.title for e in ex], "question": [e.question for e in ex],
                "answer": [e.answers[0] for e in ex]}


def _need(obj, key: str, kind, where: str, filename: str):
    if not isinstance(obj, dict) or key not in obj:
        raise PlaygroundError(f"'{filename}': {where} has no '{key}' field (SQuAD format: data -> paragraphs -> "
                              "context and qas -> question, id, answers -> text, answer_start).")
    value = obj[key]
    if not isinstance(value, kind) or isinstance(value, bool):
        raise PlaygroundError(f"'{filename}': {where}'s '{key}' should be {getattr(kind, '__name__', 'a number')}.")
    return value


def read_squad(raw: bytes, filename: str = "data.json") -> QAData:
    """Questions, passages and answers from SQuAD v1.1-format JSON, each answer checked against its passage."""
    check_size(len(raw), f"'{filename}'")
    try:
        doc = json.loads(raw.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise PlaygroundError(f"'{filename}' is not UTF-8 text.") from None
    except json.JSONDecodeError as exc:
        raise PlaygroundError(f"'{filename}' is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg}).") from None
    articles = _need(doc, "data", list, "the file", filename)
    out = []
    for a, art in enumerate(articles):
        title = str(art.get("title", f"article {a + 1}")) if isinstance(art, dict) else ""
        for p, par in enumerate(_need(art, "paragraphs", list, f"article {a + 1}", filename)):
            where = f"article '{title}', paragraph {p + 1}"
            context = _need(par, "context", str, where, filename)
            if len(context.split()) > MAX_PASSAGE_WORDS:
                raise PlaygroundError(f"'{filename}': {where} has a passage of {len(context.split()):,} words; the limit "
                                      f"is {MAX_PASSAGE_WORDS:,} (SQuAD passages are paragraphs of about 120).")
            for q, qa in enumerate(_need(par, "qas", list, where, filename)):
                qwhere = f"{where}, question {q + 1}"
                question = _need(qa, "question", str, qwhere, filename).strip()
                if not question:
                    raise PlaygroundError(f"'{filename}': {qwhere} is empty.")
                answers = _need(qa, "answers", list, qwhere, filename)
                if not answers:
                    raise PlaygroundError(f"'{filename}': {qwhere} has no answers (SQuAD v1.1 questions all have one).")
                texts, starts = [], []
                for ans in answers:
                    text = _need(ans, "text", str, qwhere + "'s answer", filename)
                    start = _need(ans, "answer_start", int, qwhere + "'s answer", filename)
                    if not text.strip() or start < 0 or context[start:start + len(text)] != text:
                        raise PlaygroundError(f"'{filename}': {qwhere}: the answer '{text[:60]}' is not in the passage at "
                                              f"character {start} (answers must be copied from their passage).")
                    texts.append(text)
                    starts.append(start)
                out.append(QAExample(str(qa.get("id", f"{a}-{p}-{q}")), title, question, context, tuple(texts), tuple(starts)))
    if not out:
        raise PlaygroundError(f"'{filename}' has no questions.")
    if len(out) > MAX_ROWS:
        raise PlaygroundError(f"'{filename}' has {len(out):,} questions; the limit is {MAX_ROWS:,}.")
    return QAData(filename, tuple(out))


def read_squad_file(path: str | Path) -> QAData:
    path = Path(path)
    if not path.is_file():
        raise PlaygroundError(f"'{path}' does not exist or is not a file.")
    raw = lzma.decompress(path.read_bytes()) if path.suffix == ".xz" else path.read_bytes()
    return read_squad(raw, path.name)


def split_articles(data: QAData, held_out: float = 0.2) -> tuple[QAData, QAData]:
    """(train, held-out) by article: the last share of the articles is held out, so no passage is in both."""
    titles = data.titles
    if len(titles) < 2:
        raise PlaygroundError(f"'{data.name}' has one article; a split by article needs at least two "
                              "(or give a separate evaluation file).")
    k = min(len(titles) - 1, max(1, round(len(titles) * held_out)))
    return (data.articles(titles[:-k], f"{data.name} (train articles)"),
            data.articles(titles[-k:], f"{data.name} (held-out articles)"))


# ---- the shipped demo sets (assets/tasks/, made by scripts/make_task_demos.py) --------------------------

NER_NAME = "WNUT-17 emerging entities (shipped sample)"
QA_NAME = "SQuAD v1.1 (shipped sample)"
PAIRS_NAME = "Entailment pairs (shipped, written for the playground)"


def shipped_ner() -> tuple[TaggedData, TaggedData]:
    train = read_conll_file(TASKS_DIR / "wnut17_train.conll")
    test = read_conll_file(TASKS_DIR / "wnut17_test.conll", train.label_names)
    return (TaggedData(NER_NAME, train.words, train.tags, train.label_names),
            TaggedData(NER_NAME + " test", test.words, test.tags, test.label_names))


def shipped_pairs() -> tuple[LabelledData, LabelledData]:
    """The hand-written RTE-style entailment pairs: (train, test), no premise in both."""
    train, test = train_and_holdout(read_file(TASKS_DIR / "entailment_train.tsv"), "sentence1", "label", "sentence2",
                                    eval_table=read_file(TASKS_DIR / "entailment_test.tsv"))
    return (LabelledData(PAIRS_NAME, train.texts, train.text_pairs, train.labels, train.label_names),
            LabelledData(PAIRS_NAME + " test", test.texts, test.text_pairs, test.labels, test.label_names))


def shipped_qa() -> tuple[QAData, QAData]:
    train, test = read_squad_file(TASKS_DIR / "squad_train.json"), read_squad_file(TASKS_DIR / "squad_test.json")
    return QAData(QA_NAME, train.examples), QAData(QA_NAME + " test", test.examples)

