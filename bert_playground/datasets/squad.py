"""Extractive question answering data: SQuAD v1.1 JSON (data -> paragraphs -> context and qas), split by article."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..core.errors import PlaygroundError
from ..core.parsing import load_json
from ..core.paths import TASKS_DIR
from .files import MAX_ROWS, Rows, decode_text, read_bytes

QA_NAME = "SQuAD v1.1 (shipped sample)"
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
class QAData(Rows):
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

    def subset(self, idx: list[int], name: str | None = None) -> "QAData":
        return QAData(name or self.name, tuple(self.examples[i] for i in idx))

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
    doc = load_json(decode_text(raw, filename, "SQuAD JSON"), f"'{filename}'")  # nesting limited before parsing
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
    return read_squad(*read_bytes(path))


def split_articles(data: QAData, held_out: float = 0.2) -> tuple[QAData, QAData]:
    """(train, held-out) by article: the last share of the articles is held out, so no passage is in both."""
    titles = data.titles
    if len(titles) < 2:
        raise PlaygroundError(f"'{data.name}' has one article; a split by article needs at least two "
                              "(or give a separate evaluation file).")
    k = min(len(titles) - 1, max(1, round(len(titles) * held_out)))
    return (data.articles(titles[:-k], f"{data.name} (train articles)"),
            data.articles(titles[-k:], f"{data.name} (held-out articles)"))


def shipped_qa() -> tuple[QAData, QAData]:
    train, test = read_squad_file(TASKS_DIR / "squad_train.json"), read_squad_file(TASKS_DIR / "squad_test.json")
    return QAData(QA_NAME, train.examples), QAData(QA_NAME + " test", test.examples)
