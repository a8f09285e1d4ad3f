"""Reading documents: WikiExtractor dumps (plain or .xz) and pasted text, split into sentences."""
from __future__ import annotations

import lzma
import os
import re
from pathlib import Path
from dataclasses import dataclass
from typing import Iterable, Iterator

from ..core.errors import PlaygroundError
from ..core.paths import expand_pattern

_ABBREV = {
    "mr", "mrs", "ms", "dr", "prof", "sr", "jr", "st", "mt", "vs", "etc", "e.g", "i.e", "no", "vol",
    "fig", "inc", "ltd", "co", "corp", "gen", "col", "lt", "sgt", "rev", "jan", "feb", "mar", "apr",
    "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec", "ca", "approx", "u.s", "u.k",
}
_BOUNDARY = re.compile(r"(?<=[.!?])[\"')\]]*\s+(?=[\"'(\[]?[A-Z0-9])")


@dataclass(frozen=True)
class Document:
    title: str
    sentences: list[str]


def split_sentences(paragraph: str) -> list[str]:
    """Rule-based splitter: ., ! or ? followed by space and a capital or digit, except after a
    common abbreviation or a single initial ('J. R. R. Tolkien')."""
    out, start = [], 0
    for m in _BOUNDARY.finditer(paragraph):
        head = paragraph[start:m.start()].rstrip()
        last = head.rsplit(" ", 1)[-1].rstrip(".!?\"')]").lower()
        if last in _ABBREV or (len(last) == 1 and last.isalpha()):
            continue
        out.append(paragraph[start:m.start()].strip())
        start = m.end()
    tail = paragraph[start:].strip()
    if tail:
        out.append(tail)
    return [s for s in out if s]


def _is_heading(line: str) -> bool:
    return line.endswith(".") and len(line.split()) <= 6 and not _BOUNDARY.search(line)


def parse_wikiextractor(lines: Iterable[str], min_sentences: int = 1) -> Iterator[Document]:
    """`<doc id=.. title=..>`, the title line, then one paragraph per line, then `</doc>`."""
    title, sentences, in_doc, first = "", [], False, False
    title_re = re.compile(r'title="([^"]*)"')
    for raw in lines:
        line = raw.strip()
        if line.startswith("<doc"):
            m = title_re.search(line)
            title, sentences, in_doc, first = (m.group(1) if m else ""), [], True, True
        elif line.startswith("</doc>"):
            if in_doc and len(sentences) >= min_sentences:
                yield Document(title, sentences)
            in_doc = False
        elif in_doc and line:
            if first and line == title:
                first = False
                continue
            first = False
            if _is_heading(line):
                continue
            sentences.extend(split_sentences(line))


def _open_text(path: str):
    if path.endswith(".xz"):
        return lzma.open(path, "rt", encoding="utf-8", errors="replace")
    return open(path, encoding="utf-8", errors="replace")


def corpus_files(pattern: str) -> list[str]:
    """The files a corpus pattern names (comma-separated globs), each a readable file, or a clear refusal."""
    if "\x00" in pattern:
        raise PlaygroundError("The corpus pattern contains a NUL character: name the files with plain text.")
    try:
        files = sorted(p for part in pattern.split(",") for p in expand_pattern(part.strip()))
    except (OSError, ValueError):
        files = []
    shown = pattern if len(pattern) <= 200 else pattern[:199] + "…"
    if not files:
        raise PlaygroundError(f"No corpus file matches '{shown}'.")
    folders = [f for f in files if Path(f).is_dir()]
    if folders:
        raise PlaygroundError(f"'{folders[0]}' is a folder: the corpus names WikiExtractor files (e.g. "
                              "'wiki/AA/wiki_*' or 'enwiki-part*.txt.xz').")
    unreadable = [f for f in files if not os.access(f, os.R_OK)]
    if unreadable:
        raise PlaygroundError(f"'{unreadable[0]}' cannot be read.")
    return files


def read_wikiextractor(pattern: str, min_sentences: int = 2) -> list[Document]:
    docs = []
    for path in corpus_files(pattern):
        with _open_text(path) as f:
            docs.extend(parse_wikiextractor(f, min_sentences))
    return docs


def parse_pasted(text: str) -> list[Document]:
    """Documents separated by blank lines; sentences split inside each."""
    docs = []
    for i, block in enumerate(re.split(r"\n\s*\n", text.strip())):
        sents = split_sentences(" ".join(block.split()))
        if sents:
            docs.append(Document(f"Document {i + 1}", sents))
    return docs
